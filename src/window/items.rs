//! The main view: every handler with its items, a checkbox, status and last sync per item.
//! Only the rows in sight are laid out, so ten thousand items cost what thirty do.

use crate::core::model::{Icon, ItemKey, LogLevel, PropertiesTarget};
use crate::core::status::{ItemStatus, Problems, Tone, verdict};
use crate::core::store::Store;
use crate::window::bar;
use crate::window::command::{Command, Commands};
use crate::window::format;
use crate::window::icons;
use crate::window::state::{HandlerEntry, Listing, Model};
use egui::{Key, Modifiers, RichText, Sense, Ui};
use egui_extras::{Column, TableBuilder};
use std::collections::HashMap;
use std::time::SystemTime;

const ROW_HEIGHT: f32 = 28.0;

/// What one table row shows.
#[derive(Clone, Copy)]
enum Row {
    Handler(usize),
    Item(usize, usize),
}

/// The handler that adds folder pairs; offered on first start.
const FOLDERS: &str = "folders";

/// How the columns share the width: at large sizes the status takes what is left; in a
/// small window "Last synchronized" gives way and per-item buttons move into the row's menu.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Columns {
    name: f32,
    /// The "Last synchronized" column, when there is room for it.
    last: Option<f32>,
    /// Stop, Skip and Properties live in the row's "☰" menu instead of the row.
    compact: bool,
}

/// Below this width the list is compact.
const COMPACT_BELOW: f32 = 720.0;
const NAME_WIDTH: f32 = 300.0;
const LAST_WIDTH: f32 = 170.0;
const MIN_NAME_WIDTH: f32 = 170.0;
const MIN_STATUS_WIDTH: f32 = 220.0;

impl Columns {
    fn for_width(width: f32) -> Self {
        if width < COMPACT_BELOW {
            let name = (width * 0.42).max(MIN_NAME_WIDTH);
            return Self {
                name: name.min((width - MIN_STATUS_WIDTH).max(MIN_NAME_WIDTH)),
                last: None,
                compact: true,
            };
        }
        // The name and the time get their fixed share until the status would be squeezed.
        let fixed = NAME_WIDTH + LAST_WIDTH;
        let scale = ((width - MIN_STATUS_WIDTH * 1.5) / fixed).min(1.0);
        Self {
            name: (NAME_WIDTH * scale).max(MIN_NAME_WIDTH),
            last: Some((LAST_WIDTH * scale).max(120.0)),
            compact: false,
        }
    }
}

/// The item list: one Tab stop; arrows move the selection, Space checks or unchecks the
/// selected item, Enter is Sync now (see the app).
pub fn list_id() -> egui::Id {
    egui::Id::unique("synccenter.item-list")
}

/// `conflicts` counts the unresolved conflicts of each item that has some.
pub fn ui(
    ui: &mut Ui,
    model: &mut Model,
    store: &Store,
    conflicts: &HashMap<ItemKey, usize>,
    next_runs: &std::collections::BTreeMap<ItemKey, String>,
    out: &mut Commands,
) {
    if !model.has_items() && !model.still_listing() {
        first_start(ui, model, out);
        return;
    }
    let rows: Vec<Row> = model
        .handlers
        .iter()
        .enumerate()
        .flat_map(|(h, handler)| {
            let items = if handler.expanded {
                handler.items.len()
            } else {
                0
            };
            std::iter::once(Row::Handler(h)).chain((0..items).map(move |i| Row::Item(h, i)))
        })
        .collect();
    // The whole list is one focusable widget under the rows; the rows themselves take
    // clicks but never the keyboard.
    let list = ui.interact(
        ui.available_rect_before_wrap(),
        list_id(),
        Sense::focusable_noninteractive(),
    );
    list.widget_info(|| egui::WidgetInfo::labeled(egui::Role::List, true, "Items"));
    let focused = list.has_focus();
    let scroll_to = if focused {
        keyboard(ui, &rows, model, store, out)
    } else {
        None
    };
    let columns = Columns::for_width(ui.available_width());
    let now = SystemTime::now();
    let mut clicked = None;
    let mut toggled = None;
    let mut table = TableBuilder::new(ui)
        .id_salt(("items", columns.compact))
        .striped(true)
        .sense(Sense::CLICK)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(columns.name).clip(true))
        .column(
            Column::remainder()
                .at_least(MIN_STATUS_WIDTH * 0.5)
                .clip(true),
        );
    if let Some(last) = columns.last {
        table = table.column(Column::exact(last).clip(true));
    }
    if let Some(row) = scroll_to {
        table = table.scroll_to_row(row, None);
    }
    let titles: &[&str] = if columns.last.is_some() {
        &["Name", "Status", "Last synchronized"]
    } else {
        &["Name", "Status"]
    };
    table
        .header(24.0, |mut header| {
            for title in titles {
                header.col(|ui| {
                    ui.strong(*title);
                });
            }
        })
        .body(|mut body| {
            // The focus ring goes over the selected row, inside the list's scrolled view.
            let ring = body.ui_mut().painter().clone();
            body.rows(ROW_HEIGHT, rows.len(), |mut row| match rows[row.index()] {
                Row::Handler(h) => {
                    let handler = &model.handlers[h];
                    if handler_row(&mut row, handler, columns, out) {
                        toggled = Some(h);
                    }
                    row.response()
                        .context_menu(|ui| handler_menu(ui, handler, out));
                }
                Row::Item(h, i) => {
                    let handler = &model.handlers[h];
                    let item = &handler.items[i];
                    let key = ItemKey {
                        handler: handler.id.clone(),
                        item: item.id.clone(),
                    };
                    let selected = model.selected.as_ref() == Some(&key);
                    row.set_selected(selected);
                    let last = store
                        .item_record(&key)
                        .and_then(|r| r.last_synced)
                        .or(item.last_synced);
                    let mut last_words = match last {
                        Some(time) => format!("Last synchronized {}", format::ago(time, now)),
                        None => "Never synchronized".to_string(),
                    };
                    if let Some(next) = next_runs.get(&key) {
                        last_words.push_str(&format!("\nNext scheduled run: {next}"));
                    }
                    row.col(|ui| {
                        // The conflict badge first, from the right, so a long name never
                        // pushes it out of sight.
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if let Some(&count) = conflicts.get(&key) {
                                conflict_badge(ui, count, out);
                            }
                            ui.with_layout(
                                egui::Layout::left_to_right(egui::Align::Center),
                                |ui| {
                                    ui.add_space(18.0);
                                    ui.label(icons::item(&item.icon));
                                    let checked = store.is_checked(&key, item.checked_by_default);
                                    if check_box(ui, checked, &format!("Synchronize {}", item.name))
                                        .clicked()
                                    {
                                        out.push(Command::SetChecked(key.clone(), !checked));
                                    }
                                    let name = ui
                                        .add(
                                            egui::Label::new(&item.name)
                                                .selectable(false)
                                                .truncate()
                                                .show_tooltip_when_elided(false),
                                        )
                                        .on_hover_text(format!("{}\n{last_words}", item.name));
                                    ui.ctx().accesskit_node_builder(name.id, |node| {
                                        node.set_selected(selected);
                                    });
                                    if let Some(detail) = &item.detail {
                                        ui.add(
                                            egui::Label::new(RichText::new(detail).weak())
                                                .selectable(false)
                                                .truncate(),
                                        );
                                    }
                                },
                            );
                        });
                    });
                    row.col(|ui| {
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if columns.compact {
                                ui.menu_button(icons::MORE, |ui| {
                                    item_menu(ui, model, &key, item, &last_words, true, out);
                                })
                                .response
                                .on_hover_text("More for this item")
                                .accessible_name(format!("More for {}", item.name));
                            }
                            ui.with_layout(
                                egui::Layout::left_to_right(egui::Align::Center),
                                |ui| {
                                    status_cell(ui, model, store, &key, &item.name, columns, out);
                                },
                            );
                        });
                    });
                    if columns.last.is_some() {
                        row.col(|ui| {
                            match last {
                                Some(time) => {
                                    ui.label(format::ago(time, now))
                                        .on_hover_text(format::exact(time));
                                }
                                None => {
                                    ui.label(RichText::new("Never").weak());
                                }
                            }
                            if let Some(next) = next_runs.get(&key) {
                                ui.label(RichText::new(format!("· next: {next}")).weak())
                                    .on_hover_text("The next scheduled run");
                            }
                        });
                    }
                    let response = row.response();
                    if selected && focused {
                        let stroke = egui::Stroke::new(
                            2.0,
                            ring.ctx().global_style().visuals.selection.stroke.color,
                        );
                        let rect = response.rect.intersect(ring.clip_rect());
                        ring.rect_stroke(rect, 2.0, stroke, egui::StrokeKind::Inside);
                    }
                    response.context_menu(|ui| {
                        item_menu(ui, model, &key, item, &last_words, false, out);
                    });
                    if response.double_clicked() && item.has_properties {
                        out.push(Command::Properties(
                            key.handler.clone(),
                            PropertiesTarget::Item(key.item.clone()),
                        ));
                    }
                    if response.clicked() || response.secondary_clicked() {
                        clicked = Some(key);
                    }
                }
            });
        });
    if let Some(h) = toggled {
        model.handlers[h].expanded ^= true;
    }
    if clicked.is_some() {
        model.selected = clicked;
        // A click in the list gives it the keyboard, so the arrows go on from there.
        ui.memory_mut(|m| m.request_focus(list_id()));
    }
}

/// Arrows, Home and End move the selection; Space checks or unchecks the selected item.
/// Returns the row to scroll into view.
fn keyboard(
    ui: &Ui,
    rows: &[Row],
    model: &mut Model,
    store: &Store,
    out: &mut Commands,
) -> Option<usize> {
    ui.memory_mut(|m| {
        m.set_focus_lock_filter(
            list_id(),
            egui::EventFilter {
                vertical_arrows: true,
                ..Default::default()
            },
        );
    });
    let keys: Vec<(usize, ItemKey)> = rows
        .iter()
        .enumerate()
        .filter_map(|(index, row)| match *row {
            Row::Item(h, i) => {
                let handler = &model.handlers[h];
                Some((
                    index,
                    ItemKey::new(handler.id.as_str(), handler.items[i].id.as_str()),
                ))
            }
            Row::Handler(_) => None,
        })
        .collect();
    if keys.is_empty() {
        return None;
    }
    let current = keys
        .iter()
        .position(|(_, key)| model.selected.as_ref() == Some(key));
    let pressed = |key| ui.input_mut(|i| i.consume_key(Modifiers::NONE, key));
    let last = keys.len() - 1;
    let target = if pressed(Key::ArrowDown) {
        Some(current.map_or(0, |c| (c + 1).min(last)))
    } else if pressed(Key::ArrowUp) {
        Some(current.map_or(0, |c| c.saturating_sub(1)))
    } else if pressed(Key::Home) {
        Some(0)
    } else if pressed(Key::End) {
        Some(last)
    } else {
        // Focus arriving with nothing selected selects the first item.
        current.is_none().then_some(0)
    };
    let chosen = target.or(current)?;
    let (row, key) = &keys[chosen];
    if pressed(Key::Space)
        && let Some(item) = model.item(key)
    {
        let checked = store.is_checked(key, item.checked_by_default);
        out.push(Command::SetChecked(key.clone(), !checked));
    }
    if target.is_some() {
        model.selected = Some(key.clone());
        return Some(*row);
    }
    None
}

/// A checkbox that takes clicks but not the keyboard: the list it is in is the Tab stop.
fn check_box(ui: &mut Ui, checked: bool, name: &str) -> egui::Response {
    let spacing = ui.spacing();
    let (size, inner) = (spacing.icon_width, spacing.icon_width_inner);
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(size, spacing.interact_size.y), Sense::CLICK);
    response.widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, true, checked, name));
    if ui.is_rect_visible(rect) {
        let visuals = ui.style().interact(&response);
        let big = egui::Rect::from_center_size(rect.center(), egui::Vec2::splat(size));
        let small = egui::Rect::from_center_size(rect.center(), egui::Vec2::splat(inner));
        ui.painter().rect(
            big.expand(visuals.expansion),
            visuals.corner_radius,
            visuals.bg_fill,
            visuals.bg_stroke,
            egui::StrokeKind::Inside,
        );
        if checked {
            ui.painter().add(egui::Shape::line(
                vec![
                    egui::pos2(small.left(), small.center().y),
                    egui::pos2(small.center().x, small.bottom()),
                    egui::pos2(small.right(), small.top()),
                ],
                visuals.fg_stroke,
            ));
        }
    }
    response
}

/// What a handler's row offers: its right-click menu, and in a small window its "☰" menu.
fn handler_menu(ui: &mut Ui, handler: &HandlerEntry, out: &mut Commands) {
    let label = format!("{} Sync all items of {}", icons::SYNC, handler.name);
    if ui
        .add_enabled(!handler.items.is_empty(), egui::Button::new(label))
        .clicked()
    {
        let keys = handler.items.iter().map(|item| ItemKey {
            handler: handler.id.clone(),
            item: item.id.clone(),
        });
        out.push(Command::Sync(keys.collect()));
    }
    handler_properties_button(ui, handler, out);
}

/// The handler's properties, as a button: "Add folder pair…" for folder pairs, whose
/// properties add one (a button named for what it does, and always in sight, not only
/// while there are no pairs).
fn handler_properties_button(ui: &mut Ui, handler: &HandlerEntry, out: &mut Commands) {
    if !handler.has_properties {
        return;
    }
    let (label, name) = if handler.id.as_str() == FOLDERS {
        (
            "Add folder pair…".to_string(),
            "Add folder pair".to_string(),
        )
    } else {
        (
            format!("{} Properties…", icons::PROPERTIES),
            format!("Properties of {}", handler.name),
        )
    };
    if ui.button(label).accessible_name(name).clicked() {
        out.push(Command::Properties(
            handler.id.clone(),
            PropertiesTarget::Handler,
        ));
    }
}

/// What an item's row offers: its right-click menu, and in a small window its "☰" menu,
/// which also holds the buttons the row has no room for (`with_run_buttons`).
fn item_menu(
    ui: &mut Ui,
    model: &Model,
    key: &ItemKey,
    item: &crate::core::model::ItemInfo,
    last_words: &str,
    with_run_buttons: bool,
    out: &mut Commands,
) {
    if ui
        .button(format!("{} Sync this item", icons::SYNC))
        .clicked()
    {
        out.push(Command::Sync(vec![key.clone()]));
    }
    if with_run_buttons && runs(model, key) {
        if ui
            .button(format!("{} Stop", icons::STOP))
            .accessible_name(format!("Stop {}", item.name))
            .clicked()
        {
            out.push(Command::StopItem(key.clone()));
        }
        if ui
            .button("Skip")
            .accessible_name(format!("Skip {}", item.name))
            .clicked()
        {
            out.push(Command::Skip(key.clone()));
        }
    }
    if item.has_properties && ui.button("Properties…").clicked() {
        out.push(Command::Properties(
            key.handler.clone(),
            PropertiesTarget::Item(key.item.clone()),
        ));
    }
    // Folder pairs keep versions of what a sync replaced or deleted.
    if key.handler.as_str() == FOLDERS
        && !item.folders.is_empty()
        && ui.button("Versions…").clicked()
    {
        out.push(Command::ShowVersions(key.clone()));
    }
    for folder in &item.folders {
        if ui
            .button(format!(
                "{} Open {}",
                icons::item(&Icon::Folder),
                folder.display()
            ))
            .clicked()
        {
            out.push(Command::OpenFolder(folder.clone()));
        }
    }
    ui.separator();
    ui.label(RichText::new(last_words).weak());
}

/// Whether the item is in a run that can still be skipped or stopped (a properties dialog
/// waits too, but is no run).
fn runs(model: &Model, key: &ItemKey) -> bool {
    model.live(key).is_some_and(|live| {
        let snapshot = &live.snapshot;
        !snapshot.status.is_terminal()
            && snapshot.request.is_none()
            && snapshot
                .session
                .is_some_and(|session| model.running.contains_key(&session))
    })
}

/// A handler's heading row. Returns true when its expander was clicked.
fn handler_row(
    row: &mut egui_extras::TableRow<'_, '_>,
    handler: &HandlerEntry,
    columns: Columns,
    out: &mut Commands,
) -> bool {
    let mut toggled = false;
    row.col(|ui| {
        let (glyph, action) = if handler.expanded {
            (icons::EXPANDED, "Collapse")
        } else {
            (icons::COLLAPSED, "Expand")
        };
        toggled = ui
            .add(egui::Button::new(glyph).frame(false))
            .accessible_name(format!("{action} {}", handler.name))
            .clicked();
        ui.label(RichText::new(icons::item(&handler.icon)).size(16.0));
        ui.label(RichText::new(&handler.name).strong());
        if !handler.items.is_empty() {
            let count = handler.items.len();
            let noun = if count == 1 { "item" } else { "items" };
            ui.label(RichText::new(format!("{count} {noun}")).weak());
        }
    });
    row.col(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if columns.compact {
                ui.menu_button(icons::MORE, |ui| handler_menu(ui, handler, out))
                    .response
                    .on_hover_text("More for this handler")
                    .accessible_name(format!("More for {}", handler.name));
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                listing_cell(ui, handler, out);
            });
        });
    });
    if columns.last.is_some() {
        row.col(|ui| handler_properties_button(ui, handler, out));
    }
    toggled
}

/// Where a handler's listing stands, in its row's status column.
fn listing_cell(ui: &mut Ui, handler: &HandlerEntry, out: &mut Commands) {
    match &handler.listing {
        Listing::Looking => {
            ui.spinner();
            ui.label(RichText::new("Looking for items…").weak());
        }
        Listing::Unavailable(error) => {
            if ui
                .small_button("Try again")
                .accessible_name(format!("List the items of {} again", handler.name))
                .clicked()
            {
                out.push(Command::Relist(handler.id.clone()));
            }
            let text = format!("Could not list its items: {error}");
            // Cut short in a narrow column; the whole text shows on hover.
            ui.add(
                egui::Label::new(RichText::new(&text).color(ui.visuals().error_fg_color))
                    .truncate(),
            );
        }
        Listing::Listed if handler.items.is_empty() => {
            ui.label(RichText::new("No items yet").weak());
        }
        Listing::Listed => {}
    }
}

/// Status of one item: live while it runs, otherwise how its last run ended.
fn status_cell(
    ui: &mut Ui,
    model: &Model,
    store: &Store,
    key: &ItemKey,
    name: &str,
    columns: Columns,
    out: &mut Commands,
) {
    let visuals = ui.visuals().clone();
    let Some(live) = model.live(key) else {
        let record = store.item_record(key);
        let synced_before = record.as_ref().is_some_and(|r| r.last_synced.is_some());
        match record.and_then(|r| r.last_status.map(|s| (s, r.last_text, r.last_problems))) {
            Some((status, text, problems)) => outcome(ui, status, &text, problems, &visuals),
            // How the last run ended was forgotten when the item's settings changed.
            None if synced_before => {
                ui.label(RichText::new("Settings changed since the last sync").weak());
            }
            None => {
                ui.label(RichText::new("Not synchronized yet").weak());
            }
        }
        return;
    };
    let snapshot = &live.snapshot;
    let status = snapshot.status;
    if status.is_terminal() {
        // What the run left (errors logged, conflicts) is in its record once it is kept.
        let problems = store
            .item_record(key)
            .filter(|r| r.last_session.is_some() && r.last_session == snapshot.session)
            .map(|r| r.last_problems)
            .unwrap_or_default();
        outcome(ui, status, &snapshot.text, problems, &visuals);
        return;
    }
    // Buttons first, from the right, so a long progress text never squeezes them.
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        // In a small window these are in the row's menu.
        if !columns.compact && runs(model, key) {
            if ui
                .small_button(format!("{} Stop", icons::STOP))
                .accessible_name(format!("Stop {name}"))
                .clicked()
            {
                out.push(Command::StopItem(key.clone()));
            }
            if ui
                .small_button("Skip")
                .accessible_name(format!("Skip {name}"))
                .clicked()
            {
                out.push(Command::Skip(key.clone()));
            }
        }
        ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
            let (shows_glyph, words) = match status {
                ItemStatus::Waiting => (
                    true,
                    RichText::new(
                        snapshot
                            .wait
                            .as_ref()
                            .map_or_else(|| status.label().to_string(), ToString::to_string),
                    )
                    .color(icons::status_color(status, &visuals)),
                ),
                ItemStatus::Pending if snapshot.text.is_empty() => {
                    (true, RichText::new(status.label()).weak())
                }
                ItemStatus::Pending => (true, RichText::new(&snapshot.text).weak()),
                _ => (false, RichText::new(live.doing())),
            };
            if shows_glyph {
                ui.label(icons::status_glyph(status, &visuals));
            } else {
                bar::show(ui, live.shown, 120.0, &format!("Progress of {name}"));
            }
            ui.add(egui::Label::new(words).truncate());
        });
    });
}

/// Unresolved conflicts of an item, never easy to miss; a click opens the Conflicts tab.
fn conflict_badge(ui: &mut Ui, count: usize, out: &mut Commands) {
    let noun = if count == 1 { "conflict" } else { "conflicts" };
    let text = RichText::new(format!("{} {count} {noun}", icons::CONFLICT))
        .color(ui.visuals().warn_fg_color);
    if ui
        .small_button(text)
        .on_hover_text("Choose which version to keep")
        .clicked()
    {
        out.push(Command::ShowConflicts);
    }
}

/// How a run ended for an item: a coloured glyph, the status with what the run left
/// (errors, conflicts), and the handler's words.
fn outcome(
    ui: &mut Ui,
    status: ItemStatus,
    text: &str,
    problems: Problems,
    visuals: &egui::Visuals,
) {
    let verdict = verdict(status, problems);
    let color = icons::tone_color(verdict.tone, status, visuals);
    let glyph = match verdict.tone {
        Tone::Attention => icons::level(LogLevel::Warning),
        _ => icons::status(status),
    };
    ui.label(RichText::new(glyph).color(color));
    let mut line = verdict.words;
    if !text.is_empty() {
        line = format!("{line}: {text}");
    }
    ui.add(egui::Label::new(RichText::new(&line).color(color)).truncate());
}

/// The folders handler's properties add a pair; its listing then brings the new item.
fn add_folder_pair(ui: &mut Ui, folders: &HandlerEntry, out: &mut Commands) {
    if ui.button("Add folder pair…").clicked() {
        out.push(Command::Properties(
            folders.id.clone(),
            PropertiesTarget::Handler,
        ));
    }
}

/// No items anywhere: say what a handler is and offer the way to add the first items.
fn first_start(ui: &mut Ui, model: &Model, out: &mut Commands) {
    ui.add_space(40.0);
    ui.vertical_centered(|ui| {
        ui.label(RichText::new(icons::SYNC).size(40.0));
        ui.add_space(8.0);
        ui.heading("Nothing to synchronize yet");
        ui.add_space(6.0);
        // A readable line length, centered.
        let width = ui.available_width().min(480.0);
        ui.add_sized(
            [width, 0.0],
            egui::Label::new(
                "Sync Center keeps things in step through handlers: each handler knows one \
                 kind of item, such as a pair of folders or a mail account, and lists its \
                 items here.",
            ),
        );
        ui.add_space(12.0);
        ui.spacing_mut().button_padding = egui::vec2(14.0, 7.0);
        let folders = model.handlers.iter().find(|h| h.id.as_str() == FOLDERS);
        match folders {
            Some(handler) => add_folder_pair(ui, handler, out),
            None => {
                ui.label(RichText::new("No handler that can add items is installed.").weak());
            }
        }
        for handler in &model.handlers {
            if let Listing::Unavailable(error) = &handler.listing {
                ui.add_space(6.0);
                ui.label(
                    RichText::new(format!(
                        "{} could not list its items: {error}",
                        handler.name
                    ))
                    .color(ui.visuals().error_fg_color),
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_give_way_in_small_windows_and_the_status_takes_large_ones() {
        // (width, name, last synchronized, compact)
        let table = [
            (400.0, 170.0, None, true),
            (624.0, 262.08, None, true),
            (719.0, 301.98, None, true),
            (720.0, 248.94, Some(141.06), false),
            (800.0, 300.0, Some(170.0), false),
            (1000.0, 300.0, Some(170.0), false),
            (1600.0, 300.0, Some(170.0), false),
            (3000.0, 300.0, Some(170.0), false),
        ];
        for (width, name, last, compact) in table {
            let columns = Columns::for_width(width);
            assert!(
                (columns.name - name).abs() < 0.01,
                "{width}: name {}",
                columns.name
            );
            match (columns.last, last) {
                (Some(got), Some(want)) => assert!((got - want).abs() < 0.01, "{width}: {got}"),
                (got, want) => assert_eq!(got, want, "{width}"),
            }
            assert_eq!(columns.compact, compact, "{width}");
            // Whatever the width, the status keeps room for a bar and some words.
            let status = width - columns.name - columns.last.unwrap_or(0.0);
            assert!(status >= MIN_STATUS_WIDTH, "{width}: {status}");
        }
    }
}
