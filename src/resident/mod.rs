//! The resident Sync Center: one running instance per user that owns the engine of its
//! home, takes work from other programs over the session bus, runs schedules and triggers,
//! and shows a tray icon. The window is one of its views, opened and closed at will.
//!
//! ```text
//!  other programs ── D-Bus (dbus.rs) ──┐        ┌── window (re-created on demand)
//!  scheduler.rs, triggers ─────────────┼─► Center::start ─► Engine (core)
//!  tray.rs (menu), menu.rs (window) ───┘        │
//!         ▲                                     ▼
//!         └──── dispatch.rs: the engine's events → window, D-Bus signals, tray, notices
//! ```
//!
//! What other processes use: `instance::start` (`main` starts the instance with it),
//! `client::Instance` (reaching a running instance: the terminal hands its sync over),
//! `lock` (one engine per home), and `settings` / `schedule` (the file `synccenter schedule`
//! edits).

mod autostart;
pub mod client;
mod dbus;
mod dispatch;
pub mod idle;
pub mod instance;
pub mod lock;
mod menu;
mod network;
pub mod schedule;
mod scheduler;
pub mod settings;
mod tray;
mod triggers;
mod watch;
mod windows;

use crate::core::choice::{self, Listed, Target};
use crate::core::engine::{Engine, SessionRequest, StartError};
use crate::core::model::{ItemKey, RunReason, SessionId};
use crate::core::store::{Home, SessionRecord};
use crate::resident::scheduler::{Pause, Scheduler};
use crate::resident::settings::Settings;
use crate::resident::windows::{Presence, Show};
use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// What the main thread is asked to do (it owns the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wish {
    ShowWindow,
    Quit,
}

/// A run as the outside asks for it.
#[derive(Clone, Debug)]
pub(crate) struct RunRequest {
    pub target: Target,
    pub reason: RunReason,
    /// Whether handlers may show dialogs (they show in the window, which opens for them).
    pub prompt: bool,
}

/// A run that started.
#[derive(Clone, Debug)]
pub(crate) struct Started {
    pub session: SessionId,
    /// Handlers that could not list their items, so a run of every (checked) item left
    /// theirs out: (handler's name, why).
    pub unlisted: Vec<(String, String)>,
}

/// The instance's shared state, reachable from every thread of the resident.
pub(crate) struct Center {
    pub engine: Engine,
    pub home: Home,
    settings: RwLock<Settings>,
    /// False when `resident.json` could not be read: it is then never overwritten.
    settings_writable: bool,
    /// Wakes the thread that saves and applies changed settings.
    settings_changed: OnceLock<Sender<()>>,
    /// Held while settings are applied (scheduler, triggers, autostart entry).
    applying: Mutex<()>,
    wishes: Sender<Wish>,
    /// The last listing of every handler's items.
    catalog: RwLock<Vec<Listed>>,
    pub scheduler: Scheduler,
    window: Mutex<Presence<egui::Context>>,
    /// Set by Quit; a start holds it for reading, so no run starts once Quit has begun.
    quitting: RwLock<bool>,
    pub triggers: OnceLock<triggers::Triggers>,
    pub tray: tray::TrayHandle,
    /// The idle source found: `None` before looking, `Some(None)` when none works.
    idle_source: RwLock<Option<Option<&'static str>>>,
    /// When each item's latest run started and ended (the change trigger tells its own
    /// writes by it).
    runs: Mutex<HashMap<ItemKey, watch::RunWindow>>,
    /// Whether a session bus serves the instance (background mode, tray and triggers need
    /// it).
    on_bus: AtomicBool,
}

impl Center {
    pub fn settings(&self) -> Settings {
        self.settings.read().clone()
    }

    /// Changes the settings now; saving them and applying them to the scheduler and the
    /// triggers happens on a thread of its own, so this returns at once (the window calls
    /// it). Problems are told as notices.
    pub fn change_settings(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut self.settings.write());
        match self.settings_changed.get() {
            Some(worker) => {
                let _ = worker.send(());
            }
            None => tracing::warn!("settings changed before the settings thread started"),
        }
    }

    /// Takes an item deleted in its Properties out of the schedules that synced it, as the
    /// terminal's `folder remove` does.
    pub fn forget_item(&self, key: &ItemKey) {
        let named = self
            .settings
            .read()
            .schedules
            .iter()
            .any(|s| s.items.contains(key));
        if named {
            self.change_settings(|settings| {
                for line in settings.forget_item(key) {
                    tracing::info!("{line}");
                }
            });
        }
    }

    /// The thread that saves and applies changed settings.
    fn spawn_settings_worker(center: &CenterRef) {
        let (tx, rx) = crossbeam_channel::unbounded::<()>();
        let _ = center.settings_changed.set(tx);
        let center = Arc::downgrade(center);
        std::thread::Builder::new()
            .name("settings".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    // Several quick changes are saved once.
                    while rx.try_recv().is_ok() {}
                    let Some(center) = center.upgrade() else {
                        return;
                    };
                    center.save_and_apply();
                }
            })
            .expect("spawn the settings thread");
    }

    fn save_and_apply(&self) {
        let _applying = self.applying.lock();
        let settings = self.settings();
        self.apply(&settings);
        let path = settings::settings_file(&self.home);
        if !self.settings_writable {
            self.engine.notice(format!(
                "The settings were changed for this session only: {} could not be read, so it is not overwritten.",
                path.display()
            ));
        } else if let Err(e) = settings::save_settings(&self.home, &settings) {
            self.engine.notice(format!(
                "The settings could not be saved to {}: {e}",
                path.display()
            ));
        }
    }

    fn apply(&self, settings: &Settings) {
        self.scheduler.reload(settings);
        if let Some(triggers) = self.triggers.get() {
            triggers.reload(self);
        }
    }

    /// Reads the settings file again (a command changed it) and applies it; problems are
    /// told as notices. Blocks on the disk: never on the UI thread.
    pub fn reload_settings(&self) {
        let _applying = self.applying.lock();
        let loaded = settings::load_settings(&self.home);
        for notice in loaded.notices {
            self.engine.notice(notice);
        }
        *self.settings.write() = loaded.value.clone();
        self.apply(&loaded.value);
    }

    /// Pauses or resumes schedules and triggers; the tray shows it. Returns at once.
    pub fn pause(&self, pause: Pause) {
        self.scheduler.pause(pause);
        self.tray.redraw();
    }

    pub fn set_idle_source(&self, source: Option<&'static str>) {
        *self.idle_source.write() = Some(source);
    }

    /// How idle time is detected here, in words, for the window.
    pub fn idle_detection(&self) -> String {
        idle_words(
            self.on_bus.load(Ordering::Acquire),
            *self.idle_source.read(),
        )
    }

    /// Shows the window: opens one, or raises the open one. Fails once Sync Center is
    /// ending.
    pub fn show_window(&self) -> Result<(), String> {
        let show = self.window.lock().want();
        match show {
            Show::Open => {
                let _ = self.wishes.send(Wish::ShowWindow);
            }
            Show::Raise(ctx) => {
                ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
                ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
                ctx.request_repaint();
            }
            Show::Coming => {}
            Show::Refused => return Err("Sync Center is quitting.".into()),
        }
        Ok(())
    }

    /// Quit (tray, menu, bus): no run starts any more, the window closes, and the main
    /// thread stops the runs, records them and ends.
    pub fn quit(&self) {
        *self.quitting.write() = true;
        if let Some(ctx) = self.window.lock().end() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            ctx.request_repaint();
        }
        let _ = self.wishes.send(Wish::Quit);
    }

    pub fn is_quitting(&self) -> bool {
        *self.quitting.read()
    }

    /// The window opened on this context; false when it is to close at once (Quit).
    pub fn window_opened(&self, ctx: &egui::Context) -> bool {
        self.window.lock().opened(ctx.clone())
    }

    /// The window started to close.
    pub fn window_closing(&self) {
        self.window.lock().closing();
    }

    pub fn window_is_open(&self) -> bool {
        self.window.lock().is_open()
    }

    /// Whether the instance is on the session bus (background mode, the tray and the
    /// triggers need it).
    pub fn on_bus(&self) -> bool {
        self.on_bus.load(Ordering::Acquire)
    }

    /// Whether closing the window leaves Sync Center running. Without a session bus there
    /// is no instance to keep (no background, tray or triggers).
    pub fn keeps_running(&self) -> bool {
        self.on_bus.load(Ordering::Acquire) && self.settings.read().keeps_running()
    }

    /// Starts a run; the answer is the session and the handlers left out, or why nothing
    /// runs, in plain words. Lists the handlers first (blocks: never on the UI thread), as
    /// a terminal sync of its own does, so what it finds is the same.
    pub fn start(&self, request: RunRequest) -> Result<Started, String> {
        const QUITTING: &str = "Sync Center is quitting, so the run did not start";
        if self.is_quitting() {
            return Err(QUITTING.into());
        }
        let listed = if request.target.needs_listing() {
            self.relist()
        } else {
            Vec::new()
        };
        let items = choice::choose(&request.target, &listed).map_err(|e| e.to_string())?;
        let unlisted = if request.target.covers_every_handler() {
            choice::unlisted(&listed)
        } else {
            Vec::new()
        };
        let quitting = self.quitting.read();
        if *quitting {
            return Err(QUITTING.into());
        }
        let session = self
            .engine
            .start(SessionRequest {
                reason: request.reason,
                may_bother_user: request.prompt,
                items,
            })
            .map_err(|e| match e {
                StartError::NothingChosen => choice::ChoiceError::NoItems.to_string(),
                StartError::AllBusy => e.to_string(),
            })?;
        Ok(Started {
            session: session.id(),
            unlisted,
        })
    }

    /// Finds one item by id or `HANDLER/ID` among the items last listed, listing again if
    /// it is not there (blocks).
    pub fn find_item(&self, name: &str) -> Result<ItemKey, String> {
        let names = [name.to_string()];
        if let Ok(mut found) = choice::resolve_names(&names, &self.catalog.read()) {
            return Ok(found.remove(0));
        }
        let listed = self.relist();
        choice::resolve_names(&names, &listed)
            .map(|mut found| found.remove(0))
            .map_err(|e| e.to_string())
    }

    /// Lists every handler now and keeps the answer (blocks: never on the UI thread).
    pub fn relist(&self) -> Vec<Listed> {
        let listed = choice::listed(&self.engine.list_now(), self.engine.store());
        *self.catalog.write() = listed.clone();
        listed
    }

    /// The items last listed, each with its name.
    pub fn listed_items(&self) -> Vec<(ItemKey, String)> {
        self.catalog
            .read()
            .iter()
            .flat_map(|l| l.items.iter())
            .map(|(key, _)| (key.clone(), self.engine.item_name(key)))
            .collect()
    }

    /// Every item's next scheduled run, in words, for the items list and the bus.
    pub fn next_runs(&self) -> BTreeMap<ItemKey, String> {
        self.scheduler.next_runs()
    }

    /// Runs of these items started (for the change trigger).
    pub fn runs_started(&self, items: &[ItemKey]) {
        let now = Instant::now();
        let mut runs = self.runs.lock();
        for key in items {
            runs.insert(key.clone(), (now, None));
        }
    }

    /// A run ended (for the change trigger).
    pub fn runs_ended(&self, record: &SessionRecord) {
        let now = Instant::now();
        let mut runs = self.runs.lock();
        for item in &record.items {
            if let Some((_, ended)) = runs.get_mut(&item.key) {
                *ended = Some(now);
            }
        }
    }

    /// When the latest run of this item started and, once it has, ended.
    pub fn run_window(&self, key: &ItemKey) -> Option<watch::RunWindow> {
        self.runs.lock().get(key).copied()
    }

    /// A desktop action (`org.freedesktop.Application.ActivateAction`, or the desktop
    /// file's Exec for launchers without D-Bus activation). Blocks (Sync all lists the
    /// handlers).
    pub fn activate_action(&self, action: &str) -> Result<(), ActionError> {
        match action {
            "sync-all" => self
                .start(RunRequest {
                    target: Target::All,
                    reason: RunReason::Manual,
                    prompt: true,
                })
                .map(|_| ())
                .map_err(ActionError::Failed),
            "pause-schedules" => {
                self.pause(Pause::UntilResumed);
                Ok(())
            }
            "resume-schedules" => {
                self.pause(Pause::Off);
                Ok(())
            }
            "quit" => {
                self.quit();
                Ok(())
            }
            other => Err(ActionError::Unknown(other.to_string())),
        }
    }
}

/// Why a desktop action did nothing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActionError {
    #[error("there is no action \"{0}\" (sync-all, pause-schedules, resume-schedules, quit)")]
    Unknown(String),
    #[error("{0}")]
    Failed(String),
}

/// The names of every icon the tray shows (they are installed with the package).
pub fn tray_icon_names() -> Vec<String> {
    use tray::Look;
    [
        Look::Idle,
        Look::Syncing,
        Look::Error,
        Look::Conflicts,
        Look::Paused,
    ]
    .into_iter()
    .map(Look::icon_name)
    .collect()
}

/// Shared handle.
pub(crate) type CenterRef = Arc<Center>;

/// How idle time is detected, in words: `source` is `None` until the idle trigger first
/// looked, then the source it found, if any. Without the session bus the triggers never
/// start, so it would never have looked.
fn idle_words(on_bus: bool, source: Option<Option<&str>>) -> String {
    match (on_bus, source) {
        (false, _) => {
            "Idle detection needs the session bus (D-Bus), which this session lacks".into()
        }
        (true, None) => "Idle detection: looking…".into(),
        (true, Some(Some(source))) => format!("Idle detection: {source}"),
        (true, Some(None)) => "Idle detection unavailable on this desktop".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::idle_words;

    #[test]
    fn idle_detection_is_told_as_it_is() {
        let cases = [
            (false, None, "needs the session bus"),
            (false, Some(Some("GNOME Mutter")), "needs the session bus"),
            (true, None, "looking…"),
            (
                true,
                Some(Some("GNOME Mutter")),
                "Idle detection: GNOME Mutter",
            ),
            (true, Some(None), "unavailable on this desktop"),
        ];
        for (on_bus, source, said) in cases {
            let words = idle_words(on_bus, source);
            assert!(words.contains(said), "{on_bus} {source:?}: {words}");
        }
    }
}
