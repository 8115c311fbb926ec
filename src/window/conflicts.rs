//! The Conflicts tab: what could not be merged, both versions side by side, and the choice
//! of which to keep. A choice takes effect at once: the affected items synchronize again.

use crate::core::conflicts::{ConflictRecord, ConflictSide, Resolution};
use crate::core::model::ItemKey;
use crate::window::command::{Command, Commands};
use crate::window::diff::{self, DiffLine};
use crate::window::format;
use crate::window::icons;
use crossbeam_channel::{Receiver, Sender};
use egui::{RichText, Ui};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Two versions compared line by line, or why they could not be.
type Compared = Result<Vec<DiffLine>, String>;
/// A comparison read on a worker thread, by the id of its conflict.
type Comparison = (String, Compared);

pub struct Conflicts {
    list: Vec<ConflictRecord>,
    selected: usize,
    apply_to_all: bool,
    /// The comparison of the two versions of a conflict (its id), once read.
    compared: Option<Comparison>,
    comparisons: (Sender<Comparison>, Receiver<Comparison>),
}

/// Files larger than this are not compared.
const MAX_COMPARED: u64 = 256 * 1024;

impl Conflicts {
    pub fn new(list: Vec<ConflictRecord>) -> Self {
        Self {
            list,
            selected: 0,
            apply_to_all: false,
            compared: None,
            comparisons: crossbeam_channel::unbounded(),
        }
    }

    /// Reads both versions on a worker thread and compares them line by line.
    pub fn compare(&mut self, id: String, files: [PathBuf; 2], ctx: &egui::Context) {
        self.compared = None;
        let (done, wake) = (self.comparisons.0.clone(), ctx.clone());
        let _ = std::thread::Builder::new()
            .name("compare".into())
            .spawn(move || {
                let read = |file: &PathBuf| -> Result<String, String> {
                    let size = std::fs::metadata(file)
                        .map_err(|e| format!("{}: {e}", file.display()))?
                        .len();
                    if size > MAX_COMPARED {
                        return Err(format!(
                            "{} is too large to compare here ({}); open both versions instead.",
                            file.display(),
                            format::size(size)
                        ));
                    }
                    let bytes =
                        std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
                    String::from_utf8(bytes).map_err(|_| {
                        format!(
                            "{} is not text; open both versions instead.",
                            file.display()
                        )
                    })
                };
                let result = read(&files[0]).and_then(|first| {
                    let second = read(&files[1])?;
                    diff::lines(&first, &second).ok_or_else(|| {
                        "The files have too many lines to compare here; open both versions instead."
                            .to_string()
                    })
                });
                let _ = done.send((id, result));
                wake.request_repaint();
            });
    }

    fn take_comparisons(&mut self) {
        while let Ok(compared) = self.comparisons.1.try_recv() {
            self.compared = Some(compared);
        }
    }

    pub fn reload(&mut self, list: Vec<ConflictRecord>) {
        self.list = list;
        self.selected = self.selected.min(self.list.len().saturating_sub(1));
    }

    /// Conflicts still waiting for the user's choice.
    pub fn unresolved(&self) -> usize {
        self.list.iter().filter(|c| c.resolution.is_none()).count()
    }

    /// Unresolved conflicts per item, for the badges in the items list.
    pub fn per_item(&self) -> HashMap<ItemKey, usize> {
        let mut counts = HashMap::new();
        for conflict in self.list.iter().filter(|c| c.resolution.is_none()) {
            *counts.entry(conflict.item.clone()).or_insert(0) += 1;
        }
        counts
    }

    pub fn ui(&mut self, ui: &mut Ui, out: &mut Commands) {
        self.take_comparisons();
        if self.list.is_empty() {
            ui.add_space(20.0);
            ui.label("No conflicts. When both sides of an item change the same file, it shows up here for you to decide.");
            return;
        }
        // In a small window the list gives way to the details, which scroll.
        let list_width = (ui.available_width() * 0.35).min(280.0);
        egui::Panel::left("conflict-list")
            .resizable(true)
            .default_size(list_width)
            .max_size(ui.available_width() * 0.5)
            .show(ui, |ui| self.list_ui(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::both()
                .id_salt("conflict-details")
                .auto_shrink(false)
                .show(ui, |ui| self.details_ui(ui, out));
        });
    }

    fn list_ui(&mut self, ui: &mut Ui) {
        egui::ScrollArea::vertical().show(ui, |ui| {
            for (index, conflict) in self.list.iter().enumerate() {
                let glyph = if conflict.resolution.is_some() {
                    "✔"
                } else {
                    icons::CONFLICT
                };
                let text = format!("{glyph} {} — {}", conflict.report.path, conflict.item_name);
                if ui.selectable_label(self.selected == index, text).clicked() {
                    self.selected = index;
                }
            }
        });
    }

    fn details_ui(&mut self, ui: &mut Ui, out: &mut Commands) {
        let Some(conflict) = self.list.get(self.selected) else {
            return;
        };
        let report = &conflict.report;
        ui.heading(&report.path);
        ui.label(
            RichText::new(format!(
                "In {}, found {}",
                conflict.item_name,
                format::ago(conflict.detected, SystemTime::now())
            ))
            .weak(),
        );
        ui.add_space(8.0);
        ui.label("Both versions changed since the last synchronization. Choose which one to keep.");
        ui.add_space(8.0);
        let comparison = report.compare();
        let mut chosen = None;
        egui::Grid::new("conflict-sides")
            .num_columns(3)
            .spacing([24.0, 6.0])
            .striped(true)
            .show(ui, |ui| {
                ui.label("");
                ui.strong(&report.left.label);
                ui.strong(&report.right.label);
                ui.end_row();
                side_row(ui, "Location", &report.left, &report.right, |s| {
                    s.location.clone()
                });
                side_row(ui, "State", &report.left, &report.right, |s| {
                    match (s.exists, s.is_dir) {
                        (false, _) => "Deleted".to_string(),
                        (true, true) => "Folder".to_string(),
                        (true, false) => "File".to_string(),
                    }
                });
                badge_row(
                    ui,
                    "Size",
                    comparison.larger,
                    "larger",
                    [&report.left, &report.right].map(|s| s.size.map_or("—".into(), format::size)),
                );
                badge_row(
                    ui,
                    "Modified",
                    comparison.newer,
                    "newer",
                    [&report.left, &report.right]
                        .map(|s| s.modified.map_or("—".into(), format::exact)),
                );
                ui.label("");
                for (side, resolution) in [
                    (&report.left, Resolution::KeepLeft),
                    (&report.right, Resolution::KeepRight),
                ] {
                    // Under its column, so which version it keeps is plain to see.
                    if ui
                        .button("Keep this version")
                        .accessible_name(format!("Keep {}", side.label))
                        .clicked()
                    {
                        chosen = Some(resolution);
                    }
                }
                ui.end_row();
            });
        ui.add_space(12.0);
        if let Some(resolution) = conflict.resolution {
            ui.label(
                RichText::new(format!(
                    "You chose to {}. It is applied when {} synchronizes.",
                    describe(resolution, conflict),
                    conflict.item_name
                ))
                .color(ui.visuals().hyperlink_color),
            );
            ui.add_space(6.0);
        }
        if ui
            .button("Keep both versions")
            .on_hover_text("Keeps the other version next to it under a new name")
            .clicked()
        {
            chosen = Some(Resolution::KeepBoth);
        }
        versions_ui(ui, conflict, self.compared.as_ref(), out);
        let unresolved = self.unresolved();
        if unresolved > 1 {
            ui.checkbox(
                &mut self.apply_to_all,
                format!("Apply to all {unresolved} unresolved conflicts"),
            );
        }
        let Some(resolution) = chosen else {
            return;
        };
        let conflicts = if self.apply_to_all {
            self.list
                .iter()
                .filter(|c| c.resolution.is_none() || std::ptr::eq(*c, conflict))
                .map(|c| (c.item.clone(), c.report.id.clone()))
                .collect()
        } else {
            vec![(conflict.item.clone(), report.id.clone())]
        };
        out.push(Command::Resolve {
            conflicts,
            resolution,
        });
    }
}

fn describe(resolution: Resolution, conflict: &ConflictRecord) -> String {
    match resolution {
        Resolution::KeepLeft => format!("keep {}", conflict.report.left.label),
        Resolution::KeepRight => format!("keep {}", conflict.report.right.label),
        Resolution::KeepBoth => "keep both".to_string(),
    }
}

fn side_row(
    ui: &mut Ui,
    what: &str,
    left: &ConflictSide,
    right: &ConflictSide,
    show: impl Fn(&ConflictSide) -> String,
) {
    ui.label(RichText::new(what).weak());
    ui.label(show(left));
    ui.label(show(right));
    ui.end_row();
}

/// A row where one side may win: "larger", "newer".
fn badge_row(ui: &mut Ui, what: &str, order: Option<Ordering>, badge: &str, values: [String; 2]) {
    ui.label(RichText::new(what).weak());
    let winners = [Some(Ordering::Greater), Some(Ordering::Less)];
    for (value, winner) in values.into_iter().zip(winners) {
        ui.horizontal(|ui| {
            ui.label(value);
            if order == winner {
                ui.label(
                    RichText::new(badge)
                        .strong()
                        .color(ui.visuals().hyperlink_color),
                );
            }
        });
    }
    ui.end_row();
}

/// Where a side's version is on this computer: a side whose location is a local folder.
/// Paths with escaped bytes (not UTF-8) are not opened from here.
fn local_file(side: &ConflictSide, path: &str) -> Option<PathBuf> {
    let folder = Path::new(&side.location);
    (side.exists && !side.is_dir && folder.is_absolute() && !path.contains('\\'))
        .then(|| folder.join(path))
}

/// "Open" each version, "Compare" them, and the comparison once it is read.
fn versions_ui(
    ui: &mut Ui,
    conflict: &ConflictRecord,
    compared: Option<&(String, Compared)>,
    out: &mut Commands,
) {
    let report = &conflict.report;
    let files = [&report.left, &report.right].map(|side| local_file(side, &report.path));
    if files.iter().all(Option::is_none) {
        return;
    }
    ui.add_space(8.0);
    ui.horizontal_wrapped(|ui| {
        for (side, file) in [&report.left, &report.right].into_iter().zip(&files) {
            if let Some(file) = file
                && ui
                    .button(format!("Open {}", side.label))
                    .on_hover_text(file.display().to_string())
                    .accessible_name(format!("Open the {} version", side.label))
                    .clicked()
            {
                out.push(Command::OpenFolder(file.clone()));
            }
        }
        if let [Some(left), Some(right)] = &files
            && ui
                .button("Compare")
                .on_hover_text("Show the lines that differ (small text files)")
                .clicked()
        {
            out.push(Command::CompareConflict(
                report.id.clone(),
                [left.clone(), right.clone()],
            ));
        }
    });
    let Some((_, result)) = compared.filter(|(id, _)| *id == report.id) else {
        return;
    };
    ui.add_space(6.0);
    match result {
        Err(why) => {
            ui.label(RichText::new(why).weak());
        }
        Ok(lines) if lines.iter().all(|l| matches!(l, DiffLine::Both(_))) => {
            ui.label("Both versions hold the same text.");
        }
        Ok(lines) => {
            let visuals = ui.visuals().clone();
            egui::Frame::new()
                .fill(visuals.extreme_bg_color)
                .inner_margin(6.0)
                .show(ui, |ui| {
                    for line in lines {
                        let (mark, text, color) = match line {
                            DiffLine::Both(t) => ("  ", t, visuals.weak_text_color()),
                            DiffLine::First(t) => ("− ", t, visuals.error_fg_color),
                            DiffLine::Second(t) => (
                                "+ ",
                                t,
                                icons::status_color(
                                    crate::core::status::ItemStatus::Succeeded,
                                    &visuals,
                                ),
                            ),
                        };
                        ui.label(
                            RichText::new(format!("{mark}{text}"))
                                .monospace()
                                .color(color),
                        );
                    }
                });
            ui.label(
                RichText::new(format!(
                    "− only in {}   + only in {}",
                    report.left.label, report.right.label
                ))
                .weak()
                .small(),
            );
        }
    }
}
