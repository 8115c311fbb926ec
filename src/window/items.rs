//! The main view: every handler with its items, a checkbox, status and last sync per item.
//! Only the rows in sight are laid out, so ten thousand items cost what thirty do.

use crate::core::model::{ItemKey, PropertiesTarget};
use crate::core::status::ItemStatus;
use crate::core::store::Store;
use crate::window::bar;
use crate::window::command::{Command, Commands};
use crate::window::format;
use crate::window::icons;
use crate::window::state::{HandlerEntry, Listing, Model};
use egui::{RichText, Sense, Ui};
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
    let now = SystemTime::now();
    let mut clicked = None;
    let mut toggled = None;
    TableBuilder::new(ui)
        .id_salt("items")
        .striped(true)
        .resizable(true)
        .sense(Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::initial(300.0).at_least(160.0).clip(true))
        .column(Column::initial(380.0).at_least(200.0).clip(true))
        .column(Column::remainder().at_least(100.0))
        .header(24.0, |mut header| {
            for title in ["Name", "Status", "Last synchronized"] {
                header.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, rows.len(), |mut row| match rows[row.index()] {
                Row::Handler(h) => {
                    let handler = &model.handlers[h];
                    if handler_row(&mut row, handler, out) {
                        toggled = Some(h);
                    }
                    row.response().context_menu(|ui| {
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
                    });
                }
                Row::Item(h, i) => {
                    let handler = &model.handlers[h];
                    let item = &handler.items[i];
                    let key = ItemKey {
                        handler: handler.id.clone(),
                        item: item.id.clone(),
                    };
                    row.set_selected(model.selected.as_ref() == Some(&key));
                    row.col(|ui| {
                        ui.add_space(18.0);
                        ui.label(icons::item(&item.icon));
                        let mut checked = store.is_checked(&key, item.checked_by_default);
                        let response = ui.checkbox(&mut checked, &item.name);
                        if response.changed() {
                            out.push(Command::SetChecked(key.clone(), checked));
                        }
                        // Tabbing to an item selects it, for Properties.
                        if response.gained_focus() {
                            clicked = Some(key.clone());
                        }
                        if let Some(&count) = conflicts.get(&key) {
                            conflict_badge(ui, count, out);
                        }
                    });
                    row.col(|ui| status_cell(ui, model, store, &key, &item.name, out));
                    row.col(|ui| {
                        let record = store.item_record(&key);
                        let last = record.and_then(|r| r.last_synced).or(item.last_synced);
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
                    let response = row.response();
                    response.context_menu(|ui| {
                        if ui
                            .button(format!("{} Sync this item", icons::SYNC))
                            .clicked()
                        {
                            out.push(Command::Sync(vec![key.clone()]));
                        }
                        if item.has_properties && ui.button("Properties…").clicked() {
                            out.push(Command::Properties(
                                key.handler.clone(),
                                PropertiesTarget::Item(key.item.clone()),
                            ));
                        }
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
    }
}

/// A handler's heading row. Returns true when its expander was clicked.
fn handler_row(
    row: &mut egui_extras::TableRow<'_, '_>,
    handler: &HandlerEntry,
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
    row.col(|ui| match &handler.listing {
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
            ui.add(
                egui::Label::new(RichText::new(&text).color(ui.visuals().error_fg_color))
                    .truncate(),
            )
            .on_hover_text(text);
        }
        Listing::Listed if handler.items.is_empty() => {
            ui.label(RichText::new("No items yet").weak());
            if handler.id.as_str() == FOLDERS {
                add_folder_pair(ui, handler, out);
            }
        }
        Listing::Listed => {}
    });
    row.col(|ui| {
        if handler.has_properties
            && ui
                .button(format!("{} Properties…", icons::PROPERTIES))
                .accessible_name(format!("Properties of {}", handler.name))
                .clicked()
        {
            out.push(Command::Properties(
                handler.id.clone(),
                PropertiesTarget::Handler,
            ));
        }
    });
    toggled
}

/// Status of one item: live while it runs, otherwise how its last run ended.
fn status_cell(
    ui: &mut Ui,
    model: &Model,
    store: &Store,
    key: &ItemKey,
    name: &str,
    out: &mut Commands,
) {
    let visuals = ui.visuals().clone();
    let Some(live) = model.live(key) else {
        match store
            .item_record(key)
            .and_then(|r| r.last_status.map(|s| (s, r.last_text)))
        {
            Some((status, text)) => outcome(ui, status, &text, &visuals),
            None => {
                ui.label(RichText::new("Not synchronized yet").weak());
            }
        }
        return;
    };
    let snapshot = &live.snapshot;
    let status = snapshot.status;
    if status.is_terminal() {
        outcome(ui, status, &snapshot.text, &visuals);
        return;
    }
    // Buttons first, from the right, so a long progress text never squeezes them.
    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
        // Only a run can be skipped or stopped (a properties dialog waits too).
        let in_a_run = snapshot
            .session
            .is_some_and(|session| model.running.contains_key(&session));
        if in_a_run && snapshot.request.is_none() {
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
                _ => (false, RichText::new(&snapshot.text)),
            };
            if shows_glyph {
                ui.label(icons::status_glyph(status, &visuals));
            } else {
                bar::show(ui, live.shown, 120.0, &format!("Progress of {name}"));
            }
            let text = words.text().to_string();
            ui.add(egui::Label::new(words).truncate())
                .on_hover_text(text);
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

/// How a run ended for an item: a coloured glyph, the status, and the handler's words.
fn outcome(ui: &mut Ui, status: ItemStatus, text: &str, visuals: &egui::Visuals) {
    ui.label(icons::status_glyph(status, visuals));
    let mut line = status.label().to_string();
    if !text.is_empty() {
        line = format!("{line}: {text}");
    }
    ui.add(
        egui::Label::new(RichText::new(&line).color(icons::status_color(status, visuals)))
            .truncate(),
    )
    .on_hover_text(line);
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
