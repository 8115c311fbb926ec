//! The window: handlers and their items with Sync now, live progress, results, conflicts
//! and handlers' dialogs, over the core's engine. Nothing here blocks the UI thread: the
//! engine works on its own threads and the window only reads what changed each frame.

mod bar;
mod command;
mod conflicts;
pub(crate) mod dialog;
mod diff;
mod format;
mod icons;
mod items;
pub(crate) mod notify;
mod open;
mod preview;
mod results;
mod state;
mod toolbar;
mod versions;

use crate::core::engine::{Engine, SessionRequest, StartError};
use crate::core::events::{Event, Wake};
use crate::core::model::{ItemKey, PropertiesOutcome, PropertiesTarget, RunReason};
use crate::core::status::ItemStatus;
use crate::core::store::SessionRecord;
use command::{Command, Commands};
use conflicts::Conflicts;
use crossbeam_channel::Receiver;
use dialog::{Dialogs, FolderPick};
use egui::{Key, Modifiers, RichText, Ui};
use results::Results;
use state::Model;
use std::sync::Arc;
use std::time::Duration;
use toolbar::Tab;

const TAB_KEY: &str = "synccenter.tab";
const TITLE: &str = "Sync Center";
/// Room kept for a notice's Dismiss button.
const DISMISS_WIDTH: f32 = 80.0;
/// How often the window repaints while something runs (progress bars, ETA), and the
/// soonest it repaints for progress news: at most ten frames a second, whatever the rate of
/// progress calls, so drawing never takes the CPU the sync needs.
const RUNNING_REPAINT: Duration = Duration::from_millis(100);
/// How often an idle window repaints, so "2 minutes ago" stays true.
const IDLE_REPAINT: Duration = Duration::from_secs(60);
/// How long closing a window of its own waits for stopped runs to end before recording
/// them as they stand.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// What the running instance adds to its window: staying in the background when the
/// window closes, each item's next scheduled run, and its own menu (background settings,
/// schedules, Quit). The instance owns the engine: it stops and records the runs when it
/// ends, not the window.
pub trait Companion: Send + Sync {
    /// The window opened on this context (to raise it and to close it from outside).
    fn attach(&self, ctx: &egui::Context);
    /// The window is closing (a wish to show it now needs a new window).
    fn closing(&self);
    /// Whether runs go on after the window closes (the instance stays in the background).
    fn keeps_running(&self) -> bool;
    /// Each scheduled item's next run, in words.
    fn next_runs(&self) -> std::collections::BTreeMap<ItemKey, String>;
    /// The instance's menu, at the end of the toolbar.
    fn menu_ui(&self, ui: &mut Ui);
}

pub struct SyncCenterApp {
    engine: Engine,
    companion: Option<Arc<dyn Companion>>,
    /// Kept to wake the window from worker threads.
    ctx: egui::Context,
    events: Receiver<Event>,
    model: Model,
    results: Results,
    conflicts: Conflicts,
    dialogs: Dialogs,
    /// The preview window, while open.
    preview: Option<preview::Preview>,
    versions: versions::Versions,
    notices: Vec<String>,
    tab: Tab,
    title: String,
    /// Unresolved conflicts at the last notification, so each new one is told once.
    told_conflicts: usize,
}

impl SyncCenterApp {
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        engine: Engine,
        events: Receiver<Event>,
        notices: Vec<String>,
    ) -> Self {
        let tab = cc
            .storage
            .and_then(|storage| eframe::get_value(storage, TAB_KEY))
            .unwrap_or_default();
        let mut app = Self::with_context(&cc.egui_ctx, engine, events, notices);
        app.tab = tab;
        app
    }

    /// The app over any egui context: eframe's, a test's, or a benchmark's.
    pub fn with_context(
        ctx: &egui::Context,
        engine: Engine,
        events: Receiver<Event>,
        notices: Vec<String>,
    ) -> Self {
        let waker = ctx.clone();
        engine.set_waker(Arc::new(move |urgency| match urgency {
            Wake::Now => waker.request_repaint(),
            Wake::Soon => waker.request_repaint_after(RUNNING_REPAINT),
        }));
        let store = engine.store();
        let conflicts = Conflicts::new(store.conflicts());
        let app = Self {
            model: Model::new(&engine.registry()),
            results: Results::new(store.history(), store.clone()),
            told_conflicts: conflicts.unresolved(),
            conflicts,
            dialogs: Dialogs::default(),
            preview: None,
            versions: versions::Versions::new(ctx),
            notices,
            tab: Tab::default(),
            title: String::new(),
            events,
            engine,
            companion: None,
            ctx: ctx.clone(),
        };
        app.engine.refresh();
        app
    }

    /// Makes the window part of a running instance.
    pub fn with_companion(mut self, companion: Arc<dyn Companion>) -> Self {
        companion.attach(&self.ctx);
        self.companion = Some(companion);
        self
    }

    /// One frame of the whole window. `frame` parents the folder picker when there is one.
    pub fn show(&mut self, ui: &mut Ui, frame: Option<&eframe::Frame>) {
        let ctx = ui.ctx().clone();
        if let Some(companion) = &self.companion
            && ctx.input(|i| i.viewport().close_requested())
        {
            companion.closing();
        }
        let now = ctx.input(|i| i.time);
        self.take_news(now);
        let mut out = Commands::new();
        // Enter is Sync now, from the item list too, unless a dialog or another focused
        // control (Stop, say) wants it.
        let enter_is_free = !self.dialogs.is_open()
            && !self.versions.is_open()
            && ctx.memory(|m| m.focused().is_none_or(|id| id == items::list_id()));
        if enter_is_free && ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Enter)) {
            let checked = toolbar::checked_items(&self.model, self.engine.store());
            out.push(Command::Sync(checked));
        }
        egui::Panel::top("toolbar").show(ui, |ui| {
            ui.add_space(6.0);
            self.notices_ui(ui, &mut out);
            toolbar::ui(
                ui,
                &self.model,
                self.engine.store(),
                &mut self.tab,
                toolbar::Badges {
                    conflicts: self.conflicts.unresolved(),
                    unseen_errors: self.results.unseen_errors(),
                },
                &mut out,
                |ui| {
                    if let Some(companion) = &self.companion {
                        companion.menu_ui(ui);
                    }
                },
            );
            ui.add_space(2.0);
        });
        if self.model.overall.is_some() {
            egui::Panel::bottom("overall").show(ui, |ui| {
                ui.add_space(4.0);
                toolbar::overall_progress(ui, &self.model);
                ui.add_space(4.0);
            });
        }
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Items => {
                let conflicts = self.conflicts.per_item();
                let next_runs = self
                    .companion
                    .as_ref()
                    .map(|c| c.next_runs())
                    .unwrap_or_default();
                items::ui(
                    ui,
                    &mut self.model,
                    self.engine.store(),
                    &conflicts,
                    &next_runs,
                    &mut out,
                );
            }
            Tab::Results => self.results.ui(ui, &self.model, &mut out),
            Tab::Conflicts => self.conflicts.ui(ui, &mut out),
        });
        self.versions.ui(&ctx, &mut out);
        self.dialogs.ui(&ctx, self.model.is_running(), &mut out);
        if let Some(preview) = &mut self.preview
            && !preview.ui(&ctx, &self.engine, &mut out)
        {
            self.preview = None;
        }
        for command in out {
            self.execute(command, frame);
        }
        self.update_title(&ctx);
        ctx.request_repaint_after(if self.model.is_running() {
            RUNNING_REPAINT
        } else {
            IDLE_REPAINT
        });
    }

    /// Drains the engine's events and the board's latest values.
    fn take_news(&mut self, now: f64) {
        while let Ok(event) = self.events.try_recv() {
            self.on_event(event);
        }
        let changed = self.engine.board().take_changed();
        self.model.apply_board(changed, now);
        self.model.advance(now);
        self.dialogs.take_picks();
        let restored = self.versions.take_news();
        self.notices.extend(restored);
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::HandlerListed {
                handler,
                info,
                items,
            } => self.model.handler_listed(&handler, info, items),
            Event::HandlerUnavailable {
                handler,
                name,
                error,
            } => self.model.handler_unavailable(&handler, &name, error),
            Event::SessionStarted { session, items }
            | Event::SessionItemsAdded { session, items } => {
                self.results.items_added(session, &items);
                self.model.session_started(session, items);
            }
            Event::Log(line) => self.results.log(line),
            Event::LogDeleted { ids } => self.results.log_deleted(&ids),
            Event::Dialog(request) => {
                // A handler waits on the user: make sure they hear of it.
                let about = request
                    .item_name
                    .as_deref()
                    .unwrap_or(&request.handler_name);
                if self.notify(
                    format!("{} needs your answer", request.handler_name),
                    format!("{}: {}", about, request.form.title),
                ) {
                    self.ctx
                        .send_viewport_cmd(egui::ViewportCommand::RequestUserAttention(
                            egui::UserAttentionType::Informational,
                        ));
                }
                self.dialogs.push(request);
            }
            Event::DialogClosed(id) => self.dialogs.close(id),
            Event::PropertiesClosed {
                handler,
                target,
                outcome,
            } => {
                if let (
                    Ok(PropertiesOutcome::ItemsChanged | PropertiesOutcome::ItemDeleted),
                    PropertiesTarget::Item(item),
                ) = (&outcome, target)
                {
                    self.model.forget_outcome(&ItemKey {
                        handler: handler.clone(),
                        item,
                    });
                }
                if let Err(error) = outcome {
                    let name = self.model.handler_name(&handler);
                    self.notices.push(format!(
                        "The settings of {name} could not be shown: {error}"
                    ));
                }
            }
            Event::ConflictsChanged => {
                self.conflicts.reload(self.engine.store().conflicts());
                let unresolved = self.conflicts.unresolved();
                if unresolved > self.told_conflicts {
                    self.notify(
                        "Sync conflicts need your decision".into(),
                        conflict_words(unresolved),
                    );
                }
                self.told_conflicts = unresolved;
            }
            Event::SessionFinished(record) => {
                self.model.session_finished(record.id);
                self.tell_outcome(&record);
                self.results.finished(record);
            }
            Event::Notice(text) => self.notices.push(text),
            Event::RunsRecorded(runs) => {
                for record in runs {
                    self.results.finished(record);
                }
            }
            Event::ItemsRecorded => {}
        }
    }

    /// A desktop notification when a run ended with failures or left conflicts.
    fn tell_outcome(&self, record: &SessionRecord) {
        let failed = record.count(ItemStatus::Failed);
        let conflicts = self.conflicts.unresolved();
        if failed == 0 && conflicts == 0 {
            return;
        }
        let mut body = Vec::new();
        if failed > 0 {
            let names: Vec<&str> = record
                .items
                .iter()
                .filter(|i| i.status == ItemStatus::Failed)
                .map(|i| i.name.as_str())
                .collect();
            body.push(format!("Not synchronized: {}.", names.join(", ")));
        }
        if conflicts > 0 {
            body.push(conflict_words(conflicts));
        }
        body.push("Open Sync Center to see what happened.".into());
        self.notify("Synchronization had problems".into(), body.join(" "));
    }

    /// A desktop notification, unless the user is looking at the window already (a window
    /// that does not know whether it has the keyboard, as in tests, does not notify).
    /// Returns whether it was sent.
    fn notify(&self, summary: String, body: String) -> bool {
        let away = self.ctx.input(|i| i.viewport().focused) == Some(false);
        if away {
            notify::desktop(summary, body);
        }
        away
    }

    fn notices_ui(&mut self, ui: &mut Ui, out: &mut Commands) {
        for (index, notice) in self.notices.iter().enumerate() {
            egui::Frame::new()
                .fill(ui.visuals().faint_bg_color)
                .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
                .corner_radius(4.0)
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(icons::NOTICE).color(ui.visuals().hyperlink_color));
                        // Long notices (a path, an error) wrap and leave room for Dismiss.
                        let width = (ui.available_width() - DISMISS_WIDTH).max(DISMISS_WIDTH);
                        ui.allocate_ui(egui::vec2(width, 0.0), |ui| {
                            ui.add(egui::Label::new(notice).wrap());
                        });
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if ui.small_button("Dismiss").clicked() {
                                out.push(Command::DismissNotice(index));
                            }
                        });
                    });
                });
            ui.add_space(4.0);
        }
    }

    fn execute(&mut self, command: Command, frame: Option<&eframe::Frame>) {
        let engine = &self.engine;
        match command {
            Command::SetChecked(key, checked) => engine.store().set_checked(&key, checked),
            Command::Sync(items) => self.sync(items),
            Command::Preview(items) => {
                self.preview = Some(preview::Preview::ask(&self.engine, items));
            }
            Command::StopAll => engine.stop_everything(),
            Command::Skip(key) => {
                if let Some(session) = self.session_of(&key) {
                    session.skip(&key);
                }
            }
            Command::StopItem(key) => {
                if let Some(session) = self.session_of(&key) {
                    session.stop_item(&key);
                }
            }
            Command::Properties(handler, target) => engine.show_properties(&handler, target),
            Command::Relist(handler) => {
                self.model.relisting(&handler);
                engine.refresh_handler(&handler);
            }
            Command::ShowError(id) => {
                if engine.show_error(id).is_none() {
                    self.notices.push(
                        "The details of that message are no longer available: its handler \
                         is gone or the message was deleted."
                            .into(),
                    );
                }
            }
            Command::Resolve {
                conflicts,
                resolution,
            } => {
                let mut items: Vec<ItemKey> = Vec::new();
                for (item, id) in &conflicts {
                    if engine.store().resolve_conflict(item, id, resolution)
                        && !items.contains(item)
                    {
                        items.push(item.clone());
                    }
                }
                self.conflicts.reload(engine.store().conflicts());
                self.told_conflicts = self.conflicts.unresolved();
                // Apply the choice now rather than at some later sync.
                self.sync(items);
            }
            Command::Answer(id, reply) => self.dialogs.answer(id, reply),
            Command::BrowseFolder { dialog, field } => {
                pick_folder(frame, self.dialogs.pick_sender(), dialog, field, &self.ctx);
            }
            Command::ShowConflicts => self.tab = Tab::Conflicts,
            Command::CompareConflict(id, files) => self.conflicts.compare(id, files, &self.ctx),
            Command::ShowVersions(key) => {
                if let Some(item) = self.model.item(&key) {
                    self.versions.show(item.name.clone(), item.folders.clone());
                }
            }
            Command::RestoreVersion(folder, version) => self.versions.restore(folder, version),
            Command::OpenFolder(folder) => {
                if let Err(problem) = open::in_file_manager(&folder) {
                    self.notices.push(problem);
                }
            }
            Command::DismissNotice(index) => {
                if index < self.notices.len() {
                    self.notices.remove(index);
                }
            }
        }
    }

    fn sync(&mut self, items: Vec<ItemKey>) {
        let request = SessionRequest {
            reason: RunReason::Manual,
            may_bother_user: true,
            items,
        };
        match self.engine.start(request) {
            Ok(_) => {}
            Err(StartError::NothingChosen) => self
                .notices
                .push("Nothing is checked. Check the items to synchronize, then Sync now.".into()),
            Err(StartError::AllBusy) => self
                .notices
                .push("Those items are already synchronizing; see their progress below.".into()),
        }
    }

    fn session_of(&self, key: &ItemKey) -> Option<crate::core::engine::SessionHandle> {
        let session = self.model.latest(key)?.snapshot.session?;
        self.engine.session(session)
    }

    /// The title says how many conflicts wait, so they are seen even from the task bar.
    fn update_title(&mut self, ctx: &egui::Context) {
        let unresolved = self.conflicts.unresolved();
        let title = if unresolved == 0 {
            TITLE.to_string()
        } else {
            let noun = if unresolved == 1 {
                "conflict"
            } else {
                "conflicts"
            };
            format!("{TITLE} — {unresolved} {noun}")
        };
        if title != self.title {
            if self.title.is_empty() {
                // A window just opened takes the keyboard, also on desktops without a
                // window manager to hand it over.
                ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }
}

fn conflict_words(count: usize) -> String {
    if count == 1 {
        "1 conflict needs your decision.".into()
    } else {
        format!("{count} conflicts need your decision.")
    }
}

/// Opens the desktop's folder picker without blocking: the dialog is built here (it needs the
/// window as parent), awaited on a worker thread, and its answer comes back on a channel.
fn pick_folder(
    frame: Option<&eframe::Frame>,
    picks: crossbeam_channel::Sender<FolderPick>,
    dialog: crate::core::dialog::DialogId,
    field: String,
    ctx: &egui::Context,
) {
    let mut picker = rfd::AsyncFileDialog::new().set_title("Choose a folder");
    if let Some(frame) = frame {
        picker = picker.set_parent(frame);
    }
    let future = picker.pick_folder();
    let wake = ctx.clone();
    let _ = std::thread::Builder::new()
        .name("folder-picker".into())
        .spawn(move || {
            // Without one the user is told so, rather than left with a picker that never
            // shows.
            let unavailable = !open::folder_picker_available();
            let path = if unavailable {
                None
            } else {
                pollster::block_on(future).map(|handle| handle.path().to_path_buf())
            };
            let _ = picks.send(FolderPick {
                dialog,
                field,
                path,
                unavailable,
            });
            wake.request_repaint();
        });
}

impl eframe::App for SyncCenterApp {
    fn ui(&mut self, ui: &mut Ui, frame: &mut eframe::Frame) {
        self.show(ui, Some(frame));
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, TAB_KEY, &self.tab);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // In the running instance, the instance decides what closing means: going on in
        // the background, or ending (it stops and records the runs then, on its main
        // thread).
        if let Some(companion) = &self.companion {
            companion.closing();
            return;
        }
        // On its own, the window's engine ends with it. Runs still going after the grace
        // are recorded as they stand; nothing is lost.
        if let Err(unsaved) = self.engine.close(EXIT_GRACE) {
            // The window is gone: the terminal it was started from is all that is left.
            tracing::error!("{unsaved}");
            crate::output::err!("synccenter: {unsaved}");
        }
    }
}

/// Opens the window of the running instance; returns when it is closed. Called again after
/// it returns, it opens a new window.
pub fn run(
    engine: Engine,
    events: Receiver<Event>,
    notices: Vec<String>,
    companion: Arc<dyn Companion>,
) -> eframe::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(TITLE)
        .with_app_id(crate::desktop::APP_ID)
        .with_inner_size([920.0, 600.0])
        .with_min_inner_size([560.0, 360.0]);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!(
        "../../assets/icons/hicolor/256x256/apps/io.github.synccenter.SyncCenter.png"
    )) {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        TITLE,
        options,
        Box::new(move |cc| {
            let app = SyncCenterApp::new(cc, engine, events, notices).with_companion(companion);
            Ok(Box::new(app))
        }),
    )
}
