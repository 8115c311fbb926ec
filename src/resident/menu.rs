//! The instance's part of the window (`window::Companion`): the Background menu (background
//! mode, the triggers, the schedules, pause, Quit), the schedule editor (Vista's schedule
//! wizard: a name, which items, when), "Answer what waits", and each item's next run.
//!
//! Nothing here waits: settings changes are saved and applied by the settings thread, the
//! pause and the tray return at once, and runs start on threads of their own.

use crate::core::choice::Target;
use crate::core::model::{ItemKey, RunReason};
use crate::resident::dispatch::Activity;
use crate::resident::schedule::{Draft, Repeat, save_draft};
use crate::resident::scheduler::Pause;
use crate::resident::settings::Settings;
use crate::resident::{CenterRef, RunRequest};
use crate::window::Companion;
use crate::window::dialog::closes_on_escape;
use egui::{RichText, Ui};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

pub struct WindowCompanion {
    center: CenterRef,
    activity: Arc<Mutex<Activity>>,
    /// The schedule being edited, while the editor is open.
    editor: Mutex<Option<Draft>>,
}

impl WindowCompanion {
    pub fn new(center: CenterRef, activity: Arc<Mutex<Activity>>) -> WindowCompanion {
        WindowCompanion {
            center,
            activity,
            editor: Mutex::new(None),
        }
    }

    fn start(&self, request: RunRequest) {
        let center = self.center.clone();
        std::thread::spawn(move || {
            if let Err(e) = center.start(request) {
                center.engine.notice(e);
            }
        });
    }
}

impl Companion for WindowCompanion {
    fn attach(&self, ctx: &egui::Context) {
        if !self.center.window_opened(ctx) {
            // Quit came while the window was being made.
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn closing(&self) {
        self.center.window_closing();
    }

    fn keeps_running(&self) -> bool {
        self.center.keeps_running()
    }

    fn next_runs(&self) -> BTreeMap<ItemKey, String> {
        self.center.next_runs()
    }

    fn menu_ui(&self, ui: &mut Ui) {
        let settings = self.center.settings();
        ui.menu_button("Background", |ui| self.background_menu(ui, &settings));
        let waiting = self.activity.lock().waiting_for_you.clone();
        if !waiting.is_empty() {
            let label = match waiting.len() {
                1 => "1 item waits for your answer — Answer…".to_string(),
                n => format!("{n} items wait for your answer — Answer…"),
            };
            if ui
                .button(label)
                .on_hover_text(
                    "A run that could not ask left them waiting; this syncs them now and asks",
                )
                .clicked()
            {
                self.start(RunRequest {
                    target: Target::Keys(waiting),
                    reason: RunReason::Manual,
                    prompt: true,
                });
            }
        }
        self.editor_ui(ui.ctx(), &settings);
    }
}

impl WindowCompanion {
    fn background_menu(&self, ui: &mut Ui, settings: &Settings) {
        let on_bus = self.center.on_bus();
        if !on_bus {
            ui.label(
                "Schedules run while this window is open. Running in the background, the \
                 tray and the triggers need the session bus (D-Bus), which is not reachable.",
            );
            ui.separator();
        }
        ui.add_enabled_ui(on_bus, |ui| self.triggers_ui(ui, settings));
        ui.separator();
        self.schedules_ui(ui, settings);
        ui.separator();
        match self.center.scheduler.pause_state() {
            Pause::Off => {
                if ui.button("Pause schedules for 1 hour").clicked() {
                    let until = SystemTime::now() + Duration::from_secs(3600);
                    self.center.pause(Pause::Until(until));
                }
                if ui.button("Pause schedules until resumed").clicked() {
                    self.center.pause(Pause::UntilResumed);
                }
            }
            _ => {
                if ui.button("Resume schedules").clicked() {
                    self.center.pause(Pause::Off);
                }
            }
        }
        ui.separator();
        if ui.button("Quit Sync Center").clicked() {
            self.center.quit();
        }
    }

    /// Background mode and the triggers.
    fn triggers_ui(&self, ui: &mut Ui, settings: &Settings) {
        let mut keep = settings.keeps_running();
        let needed = settings.works_in_background();
        let keep_box = ui.add_enabled(
            !needed,
            egui::Checkbox::new(&mut keep, "Keep running when the window is closed"),
        );
        let keep_box = if needed {
            keep_box.on_disabled_hover_text(
                "On while a schedule or a trigger is on: they run in the background",
            )
        } else {
            keep_box
        };
        if keep_box.changed() {
            self.center.change_settings(|s| s.keep_running = keep);
        }
        let mut logon = settings.start_at_logon;
        if ui
            .checkbox(&mut logon, "Start at logon (in the background)")
            .changed()
        {
            self.center.change_settings(|s| s.start_at_logon = logon);
        }
        let mut idle = settings.idle_after_seconds.is_some();
        ui.horizontal(|ui| {
            let mut minutes = settings.idle_after_seconds.unwrap_or(900).div_ceil(60);
            let toggled = ui.checkbox(&mut idle, "Sync when idle for").changed();
            let edited = ui
                .add(
                    egui::DragValue::new(&mut minutes)
                        .range(1..=720)
                        .suffix(" min"),
                )
                .changed();
            if toggled || (edited && idle) {
                self.center
                    .change_settings(|s| s.idle_after_seconds = idle.then_some(minutes * 60));
            }
        });
        ui.label(RichText::new(self.center.idle_detection()).weak());
        let mut on_change = settings.sync_on_change;
        if ui
            .checkbox(&mut on_change, "Sync folder pairs when their files change")
            .changed()
        {
            self.center
                .change_settings(|s| s.sync_on_change = on_change);
        }
        let mut on_network = settings.sync_on_network;
        if ui
            .checkbox(&mut on_network, "Sync when the network comes back")
            .on_hover_text("The checked items sync when NetworkManager reports a connection again")
            .changed()
        {
            self.center
                .change_settings(|s| s.sync_on_network = on_network);
        }
    }

    /// The schedules: on or off, edit, new.
    fn schedules_ui(&self, ui: &mut Ui, settings: &Settings) {
        ui.label(RichText::new("Schedules").strong());
        if settings.schedules.is_empty() {
            ui.label(RichText::new("No schedules yet.").weak());
        }
        for schedule in &settings.schedules {
            ui.horizontal(|ui| {
                let mut enabled = schedule.enabled;
                let label = format!(
                    "{}: {} ({})",
                    schedule.name,
                    schedule.when,
                    items_words(schedule.items.len())
                );
                if ui.checkbox(&mut enabled, label).changed() {
                    let name = schedule.name.clone();
                    self.center.change_settings(move |s| {
                        for schedule in s.schedules.iter_mut().filter(|x| x.name == name) {
                            schedule.enabled = enabled;
                        }
                    });
                }
                if let Err(fault) = schedule.when.validate() {
                    ui.label(
                        RichText::new(format!("not usable: {fault}"))
                            .color(ui.visuals().error_fg_color),
                    );
                }
                if ui.small_button("Edit…").clicked() {
                    *self.editor.lock() = Some(Draft::of(schedule));
                    ui.close();
                }
            });
        }
        if ui.button("New schedule…").clicked() {
            *self.editor.lock() = Some(Draft::default());
            ui.close();
        }
    }

    /// The schedule editor, a modal dialog over the window while it is open.
    fn editor_ui(&self, ctx: &egui::Context, settings: &Settings) {
        let mut editor = self.editor.lock();
        let Some(draft) = editor.as_mut() else {
            return;
        };
        let done = std::cell::Cell::new(false);
        let escape = ctx.input(|i| i.key_pressed(egui::Key::Escape));
        let frame = egui::Frame::window(&ctx.global_style()).inner_margin(16.0);
        let shown = egui::Modal::new(egui::Id::unique("schedule-editor"))
            .frame(frame)
            .show(ctx, |ui| {
                ui.set_width(460.0);
                ui.heading(if draft.editing.is_some() {
                    "Edit schedule"
                } else {
                    "New schedule"
                });
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    ui.label("Name");
                    ui.text_edit_singleline(&mut draft.name);
                });
                ui.add_space(8.0);
                ui.label(RichText::new("Sync these items").strong());
                self.items_ui(ui, draft);
                ui.add_space(8.0);
                ui.label(RichText::new("When").strong());
                when_ui(ui, draft);
                ui.add_space(8.0);
                ui.checkbox(&mut draft.enabled, "On");
                ui.add_space(8.0);
                let saved = save_draft(&settings.schedules, draft);
                if let Err(missing) = &saved {
                    ui.label(RichText::new(missing).color(ui.visuals().warn_fg_color));
                }
                ui.add_space(8.0);
                egui::Sides::new().show(
                    ui,
                    |ui| {
                        if let Some(name) = draft.editing.clone()
                            && ui.button("Remove schedule").clicked()
                        {
                            self.center
                                .change_settings(move |s| s.schedules.retain(|x| x.name != name));
                            done.set(true);
                        }
                    },
                    |ui| {
                        if ui.button("Cancel").clicked() {
                            done.set(true);
                        }
                        if ui
                            .add_enabled(saved.is_ok(), egui::Button::new("Save"))
                            .clicked()
                            && let Ok(schedules) = saved
                        {
                            self.center
                                .change_settings(move |s| s.schedules = schedules);
                            done.set(true);
                        }
                    },
                );
            });
        if done.get() || closes_on_escape(&shown, escape) {
            *editor = None;
        }
    }

    /// Checkboxes for every listed item, and for any item of the schedule that is not
    /// listed any more.
    fn items_ui(&self, ui: &mut Ui, draft: &mut Draft) {
        let mut items = self.center.listed_items();
        for key in &draft.items {
            if !items.iter().any(|(k, _)| k == key) {
                items.push((key.clone(), format!("{key} (not listed now)")));
            }
        }
        if items.is_empty() {
            ui.label(RichText::new("No items are listed yet.").weak());
            return;
        }
        egui::ScrollArea::vertical()
            .max_height(160.0)
            .show(ui, |ui| {
                for (key, name) in items {
                    let mut chosen = draft.items.contains(&key);
                    let label = format!("{name}  ·  {}", key.handler);
                    if ui.checkbox(&mut chosen, label).changed() {
                        if chosen {
                            draft.items.insert(key);
                        } else {
                            draft.items.remove(&key);
                        }
                    }
                }
            });
    }
}

/// How often: a period, daily at a time, or on weekdays at a time.
fn when_ui(ui: &mut Ui, draft: &mut Draft) {
    ui.horizontal(|ui| {
        let words = |repeat: Repeat| match repeat {
            Repeat::Seconds => "Every … seconds",
            Repeat::Minutes => "Every … minutes",
            Repeat::Hours => "Every … hours",
            Repeat::Daily => "Every day",
            Repeat::Weekly => "On weekdays",
        };
        egui::ComboBox::from_id_salt("schedule-repeat")
            .selected_text(words(draft.repeat))
            .show_ui(ui, |ui| {
                for repeat in [
                    Repeat::Minutes,
                    Repeat::Hours,
                    Repeat::Daily,
                    Repeat::Weekly,
                    Repeat::Seconds,
                ] {
                    ui.selectable_value(&mut draft.repeat, repeat, words(repeat));
                }
            });
        match draft.repeat {
            Repeat::Seconds | Repeat::Minutes | Repeat::Hours => {
                ui.label("every");
                // From 0: a 0 typed is refused in words below, not turned into 1 unseen.
                ui.add(egui::DragValue::new(&mut draft.every).range(0..=10_000));
                ui.label(match draft.repeat {
                    Repeat::Seconds => "s",
                    Repeat::Minutes => "min",
                    _ => "h",
                });
            }
            Repeat::Daily | Repeat::Weekly => time_ui(ui, draft),
        }
    });
    if draft.repeat == Repeat::Weekly {
        ui.horizontal(|ui| {
            for (day, name) in WEEKDAYS.iter().enumerate() {
                ui.checkbox(&mut draft.days[day], *name);
            }
        });
    }
}

fn time_ui(ui: &mut Ui, draft: &mut Draft) {
    ui.label("at");
    ui.add(
        egui::DragValue::new(&mut draft.hour)
            .range(0..=23)
            .custom_formatter(|n, _| format!("{n:02}")),
    );
    ui.label(":");
    ui.add(
        egui::DragValue::new(&mut draft.minute)
            .range(0..=59)
            .custom_formatter(|n, _| format!("{n:02}")),
    );
}

fn items_words(count: usize) -> String {
    match count {
        1 => "1 item".into(),
        n => format!("{n} items"),
    }
}
