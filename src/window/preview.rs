//! The preview (FreeFileSync's Compare): what Sync now would do to the checked items, each
//! planned change with its arrow, and the counts, before anything changes. "Sync" plans
//! again first: when the plan is still the one shown, the sync starts; when a side changed
//! since, the new plan is shown instead, to be looked at before syncing.

use crate::core::activity::Activity;
use crate::core::engine::Engine;
use crate::core::model::ItemKey;
use crate::core::preview::{ItemPreview, Planned, planned_target};
use crate::core::words::grouped;
use crate::window::command::{Command, Commands};
use crossbeam_channel::Receiver;
use egui::RichText;
use std::time::Duration;

/// How often the window looks for the handlers' answer while it plans.
const POLL: Duration = Duration::from_millis(100);

/// What the preview is doing.
enum Stage {
    /// Planning, for a first look.
    Planning(Receiver<Vec<ItemPreview>>),
    Shown,
    /// Planning again before syncing what is shown.
    Checking(Receiver<Vec<ItemPreview>>),
}

/// The preview window, open while `Some`.
pub struct Preview {
    keys: Vec<ItemKey>,
    stage: Stage,
    shown: Vec<ItemPreview>,
    /// `shown` in lines, made once per answer.
    lines: Vec<Line>,
    /// Set when the plan changed between looking and syncing.
    replanned: bool,
    /// The sync of the plan started: the window closes.
    synced: bool,
}

enum Line {
    Item(String),
    Change(Activity),
    Problem(String),
    Plain(String),
}

impl Preview {
    /// Asks the handlers what syncing `keys` would do; the window opens at once.
    pub fn ask(engine: &Engine, keys: Vec<ItemKey>) -> Self {
        Self {
            stage: Stage::Planning(engine.preview(keys.clone(), true)),
            keys,
            shown: Vec::new(),
            lines: Vec::new(),
            replanned: false,
            synced: false,
        }
    }

    /// Shows the window; `false` once it is closed.
    pub fn ui(&mut self, ctx: &egui::Context, engine: &Engine, out: &mut Commands) -> bool {
        self.take_answer(out);
        let mut open = true;
        let mut close = false;
        egui::Window::new("Preview")
            .collapsible(false)
            .resizable(true)
            .default_width(560.0)
            .default_pos(egui::pos2(24.0, 96.0))
            .max_height(ctx.content_rect().height() - 40.0)
            .open(&mut open)
            .show(ctx, |ui| {
                match &self.stage {
                    Stage::Planning(_) => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Looking for changes… nothing is changed.");
                        });
                    }
                    Stage::Checking(_) => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Checking that nothing changed since…");
                        });
                    }
                    Stage::Shown => {}
                }
                if self.replanned {
                    ui.label(
                        RichText::new(
                            "Files changed since the preview: this is the new plan. Look at it, then Sync.",
                        )
                        .color(ui.visuals().warn_fg_color),
                    );
                }
                if matches!(self.stage, Stage::Shown | Stage::Checking(_)) {
                    self.plans_ui(ui);
                }
                ui.separator();
                ui.horizontal(|ui| {
                    let can_sync = matches!(self.stage, Stage::Shown)
                        && self
                            .shown
                            .iter()
                            .any(|p| matches!(p.planned, Planned::Plan(_)));
                    if ui
                        .add_enabled(can_sync, egui::Button::new("Sync"))
                        .on_hover_text("Apply this plan (planned again first: if files changed since, the new plan is shown)")
                        .clicked()
                    {
                        self.stage = Stage::Checking(engine.preview(self.keys.clone(), true));
                    }
                    if ui.button("Close").clicked() {
                        close = true;
                    }
                });
            });
        if !matches!(self.stage, Stage::Shown) {
            ctx.request_repaint_after(POLL);
        }
        open && !close && !self.synced
    }

    /// Takes the handlers' answer when it came: shows a first plan; after Sync, starts the
    /// sync when the plan is unchanged, else shows the new one.
    fn take_answer(&mut self, out: &mut Commands) {
        let (Stage::Planning(answer) | Stage::Checking(answer)) = &self.stage else {
            return;
        };
        let Ok(previews) = answer.try_recv() else {
            return;
        };
        if matches!(self.stage, Stage::Checking(_)) {
            if previews == self.shown {
                out.push(Command::Sync(self.keys.clone()));
                self.synced = true;
                return;
            }
            self.replanned = true;
        }
        self.lines = lines(&previews);
        self.shown = previews;
        self.stage = Stage::Shown;
    }

    fn plans_ui(&self, ui: &mut egui::Ui) {
        // Every line as tall as a change's row, so only the visible ones are laid out.
        let row_height = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
        egui::ScrollArea::vertical()
            .max_height((ui.available_height() - 40.0).max(120.0))
            .auto_shrink([false, true])
            .show_rows(ui, row_height, self.lines.len(), |ui, rows| {
                for line in &self.lines[rows] {
                    let text = match line {
                        Line::Item(text) => RichText::new(text).strong(),
                        Line::Change(entry) => {
                            change_row(ui, entry);
                            continue;
                        }
                        Line::Problem(text) => {
                            RichText::new(text).color(ui.visuals().error_fg_color)
                        }
                        Line::Plain(text) => RichText::new(text),
                    };
                    ui.add(egui::Label::new(text).truncate());
                }
            });
    }
}

/// "  ➡  copy     Docs/a.txt (5 bytes)": the arrow big enough to tell its way, the action
/// in a column of its own.
fn change_row(ui: &mut egui::Ui, entry: &Activity) {
    ui.horizontal(|ui| {
        ui.add_space(12.0);
        ui.add_sized(
            [22.0, ui.spacing().interact_size.y],
            egui::Label::new(RichText::new(entry.direction.arrow()).size(16.0)),
        );
        ui.add_sized(
            [64.0, ui.spacing().interact_size.y],
            egui::Label::new(entry.change.plan_word()),
        );
        ui.add(egui::Label::new(planned_target(entry)).truncate());
    });
}

/// Each item's plan in lines: its counts, each change, what is not listed, its notes.
fn lines(previews: &[ItemPreview]) -> Vec<Line> {
    let mut lines = Vec::new();
    for preview in previews {
        let name = &preview.name;
        match &preview.planned {
            Planned::Unsupported => lines.push(Line::Plain(format!(
                "{name}: its handler cannot say ahead what a sync would do."
            ))),
            Planned::Failed(reason) => {
                lines.push(Line::Problem(format!("{name}: could not plan: {reason}")));
            }
            Planned::Plan(plan) => {
                let counts = &plan.changes.counts;
                lines.push(Line::Item(if counts.is_empty() {
                    format!("{name}: nothing to do")
                } else {
                    format!("{name}: {}", counts.plan_summary())
                }));
                lines.extend(
                    plan.changes
                        .entries
                        .iter()
                        .map(|entry| Line::Change(entry.clone())),
                );
                if counts.unlisted > 0 {
                    lines.push(Line::Plain(format!(
                        "  … and {} more",
                        grouped(counts.unlisted)
                    )));
                }
                lines.extend(
                    plan.notes
                        .iter()
                        .map(|note| Line::Plain(format!("  Note: {note}"))),
                );
            }
        }
    }
    lines
}
