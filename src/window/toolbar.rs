//! The toolbar (Sync now, Sync all, Preview, Stop, Properties, then what a companion adds such as
//! the Background menu), the tabs, and the overall progress.

use crate::core::model::{ItemKey, PropertiesTarget};
use crate::core::progress::format_eta;
use crate::core::store::Store;
use crate::window::bar;
use crate::window::command::{Command, Commands};
use crate::window::icons;
use crate::window::state::Model;
use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    #[default]
    Items,
    Results,
    Conflicts,
}

/// The counts the tabs carry: unresolved conflicts, and errors the Results tab has not shown.
#[derive(Clone, Copy, Debug, Default)]
pub struct Badges {
    pub conflicts: usize,
    pub unseen_errors: usize,
}

/// The checked items, for Sync now (and for Enter).
pub fn checked_items(model: &Model, store: &Store) -> Vec<ItemKey> {
    model
        .items()
        .filter(|(key, item)| store.is_checked(key, item.checked_by_default))
        .map(|(key, _)| key)
        .collect()
}

pub fn ui(
    ui: &mut Ui,
    model: &Model,
    store: &Store,
    tab: &mut Tab,
    badges: Badges,
    out: &mut Commands,
    more: impl FnOnce(&mut Ui),
) {
    // Wrapped, so that at a narrow width the last buttons move to a second row, not out of sight.
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().button_padding = egui::vec2(10.0, 5.0);
        let any = model.has_items();
        if ui
            .add_enabled(any, egui::Button::new(format!("{} Sync now", icons::SYNC)))
            .on_hover_text("Synchronize the checked items (Enter)")
            .clicked()
        {
            out.push(Command::Sync(checked_items(model, store)));
        }
        if ui
            .add_enabled(any, egui::Button::new("Sync all"))
            .on_hover_text("Synchronize every item, checked or not")
            .clicked()
        {
            out.push(Command::Sync(model.items().map(|(key, _)| key).collect()));
        }
        if ui
            .add_enabled(any, egui::Button::new("Preview"))
            .on_hover_text("What Sync now would do to the checked items, changing nothing")
            .clicked()
        {
            out.push(Command::Preview(checked_items(model, store)));
        }
        if ui
            .add_enabled(
                model.is_running(),
                egui::Button::new(format!("{} Stop", icons::STOP)),
            )
            .on_hover_text("Stop every running synchronization")
            .clicked()
        {
            out.push(Command::StopAll);
        }
        let selected = model
            .selected
            .as_ref()
            .filter(|key| model.item(key).is_some_and(|item| item.has_properties));
        if ui
            .add_enabled(
                selected.is_some(),
                egui::Button::new(format!("{} Properties", icons::PROPERTIES)),
            )
            .on_hover_text("Settings of the selected item")
            .clicked()
            && let Some(key) = selected
        {
            out.push(Command::Properties(
                key.handler.clone(),
                PropertiesTarget::Item(key.item.clone()),
            ));
        }
        more(ui);
    });
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.selectable_value(tab, Tab::Items, "Items");
        let Badges {
            conflicts,
            unseen_errors,
        } = badges;
        let results = if unseen_errors > 0 {
            let noun = if unseen_errors == 1 {
                "error"
            } else {
                "errors"
            };
            RichText::new(format!("Results ({unseen_errors} new {noun})"))
                .color(ui.visuals().error_fg_color)
        } else {
            RichText::new("Results")
        };
        ui.selectable_value(tab, Tab::Results, results);
        let label = if conflicts > 0 {
            RichText::new(format!("{} Conflicts ({conflicts})", icons::CONFLICT))
                .color(ui.visuals().warn_fg_color)
        } else {
            RichText::new("Conflicts")
        };
        ui.selectable_value(tab, Tab::Conflicts, label);
    });
}

/// The bar over everything running, with what is left and, when honest, how long. While
/// one item is left running, the words are its own in full (its files, bytes, speed and
/// current file), which its row's status column has to cut short.
pub fn overall_progress(ui: &mut Ui, model: &Model) {
    let Some(overall) = model.overall else {
        return;
    };
    let shown = overall.shown;
    let words = match model.sole_runner() {
        Some((key, doing)) => format!("{}: {doing}", model.item_name(&key)),
        None => format!(
            "Synchronizing: {} of {} items done",
            overall.done, overall.total
        ),
    };
    // The bar keeps a quarter of the width and the time left stands beside it; the words
    // take the rest, cut short (in full on hover) rather than pushing either out of the
    // window or taking the time left with them.
    let line = egui::vec2(ui.available_width(), ui.spacing().interact_size.y);
    let right_to_left = egui::Layout::right_to_left(egui::Align::Center);
    ui.allocate_ui_with_layout(line, right_to_left, |ui| {
        let width = (ui.available_width() / 4.0).max(120.0);
        bar::show(ui, shown, width, "Overall progress");
        if let Some(eta) = shown.eta_seconds {
            ui.label(format_eta(eta));
        }
        ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
            ui.add(egui::Label::new(&words).truncate());
        });
    });
}
