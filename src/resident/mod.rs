//! The resident Sync Center: one running instance per user that owns the engine of its
//! home, takes work from other programs over the session bus, runs schedules and triggers,
//! and shows a tray icon. The window is one of its views, opened and closed at will.
//!
//! ```text
//!  other programs ── D-Bus (dbus.rs) ──┐        ┌── window (re-created on demand)
//!  terminal `sync` ── client.rs ───────┤        │
//!  scheduler.rs, triggers ─────────────┼─► Center::start ─► Engine (core)
//!  tray.rs (menu) ─────────────────────┘        │
//!         ▲                                     ▼
//!         └──── dispatch.rs: the engine's events → window, D-Bus signals, tray, notices
//! ```

pub mod autostart;
pub mod client;
pub mod commands;
pub mod dbus;
pub(crate) mod dispatch;
pub mod idle;
pub mod instance;
pub mod lock;
pub mod schedule;
pub mod scheduler;
pub mod settings;
pub mod tray;
pub mod triggers;
pub mod watch;

use crate::core::engine::{Engine, SessionRequest, StartError};
use crate::core::model::{HandlerId, ItemKey, RunReason, SessionId};
use crate::core::store::Home;
use crate::resident::scheduler::Scheduler;
use crate::resident::settings::Settings;
use crossbeam_channel::Sender;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the main thread is asked to do (it owns the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wish {
    ShowWindow,
    Quit,
}

/// Which items a run is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Items by id or HANDLER/ID, as the command line names them.
    Named(Vec<String>),
    /// Every item of one handler (UpdateItems with a handler's CLSID).
    Handler(String),
    /// Every item of every handler (UpdateAll).
    All,
    /// The items the user checked.
    Checked,
    /// Items already resolved (a schedule's).
    Keys(Vec<ItemKey>),
}

/// A run as the outside asks for it.
#[derive(Clone, Debug)]
pub struct RunRequest {
    pub target: Target,
    pub reason: RunReason,
    /// Whether handlers may show dialogs (they show in the window, which opens for them).
    pub prompt: bool,
}

/// The latest listing of every handler's items, from the engine's events.
#[derive(Default)]
pub struct Catalog {
    pub items: BTreeMap<HandlerId, Vec<(ItemKey, bool)>>,
}

impl Catalog {
    fn keys(&self) -> impl Iterator<Item = &ItemKey> {
        self.items.values().flatten().map(|(key, _)| key)
    }
}

/// The instance's shared state, reachable from every thread of the resident.
pub struct Center {
    pub engine: Engine,
    pub home: Home,
    settings: RwLock<Settings>,
    /// False when `resident.json` could not be read: it is then never overwritten.
    settings_writable: bool,
    wishes: Sender<Wish>,
    pub(crate) catalog: RwLock<Catalog>,
    pub(crate) scheduler: Scheduler,
    /// Set while the window is open, to raise it and to wake it.
    window: Mutex<Option<egui::Context>>,
    pub(crate) triggers: std::sync::OnceLock<triggers::Triggers>,
    pub(crate) tray: tray::TrayHandle,
    /// The idle source found: `None` before looking, `Some(None)` when none works.
    idle_source: RwLock<Option<Option<&'static str>>>,
}

impl Center {
    pub fn settings(&self) -> Settings {
        self.settings.read().clone()
    }

    /// Changes the settings, saves them, and lets the parts that depend on them know.
    pub fn change_settings(&self, change: impl FnOnce(&mut Settings)) -> Result<(), String> {
        let updated = {
            let mut settings = self.settings.write();
            change(&mut settings);
            if settings.works_in_background() && !settings.keep_running {
                // Something now runs without the user: closing the window must not end it.
                settings.keep_running = true;
            }
            settings.clone()
        };
        self.scheduler.reload(&updated);
        if let Some(triggers) = self.triggers.get() {
            triggers.reload(self);
        }
        if !self.settings_writable {
            return Err(format!(
                "The settings were changed for this session only: {} could not be read, so it is not overwritten.",
                settings::settings_file(&self.home).display()
            ));
        }
        settings::save_settings(&self.home, &updated).map_err(|e| {
            format!(
                "The settings could not be saved to {}: {e}",
                settings::settings_file(&self.home).display()
            )
        })
    }

    /// Reads the settings file again (a command changed it); a problem is told as a notice.
    pub fn reload_settings(&self) {
        let loaded = settings::load_settings(&self.home);
        if let Some(problem) = loaded.problem {
            self.engine.notice(problem);
            return;
        }
        *self.settings.write() = loaded.value.clone();
        self.scheduler.reload(&loaded.value);
        if let Some(triggers) = self.triggers.get() {
            triggers.reload(self);
        }
    }

    /// Pauses or resumes schedules and triggers, and shows it in the tray.
    pub fn pause(&self, pause: scheduler::Pause) {
        self.scheduler.pause(pause);
        self.tray.show_pause(self);
    }

    pub(crate) fn set_idle_source(&self, source: Option<&'static str>) {
        *self.idle_source.write() = Some(source);
    }

    /// How idle time is detected here, in words, for the window.
    pub fn idle_detection(&self) -> String {
        match *self.idle_source.read() {
            None => "Idle detection: looking…".into(),
            Some(Some(source)) => format!("Idle detection: {source}"),
            Some(None) => "Idle detection unavailable on this desktop".into(),
        }
    }

    pub fn wish(&self, wish: Wish) {
        let _ = self.wishes.send(wish);
        if let Some(ctx) = self.window.lock().as_ref() {
            match wish {
                Wish::ShowWindow => {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
                    ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
                }
                Wish::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            }
            ctx.request_repaint();
        }
    }

    pub(crate) fn window_opened(&self, ctx: &egui::Context) {
        *self.window.lock() = Some(ctx.clone());
    }

    pub(crate) fn window_closed(&self) {
        *self.window.lock() = None;
    }

    pub fn window_is_open(&self) -> bool {
        self.window.lock().is_some()
    }

    /// Starts a run; the answer is the session's id or why nothing runs, in plain words.
    pub fn start(&self, request: RunRequest) -> Result<SessionId, String> {
        let items = self.resolve(&request.target)?;
        let session = self
            .engine
            .start(SessionRequest {
                reason: request.reason,
                may_bother_user: request.prompt,
                items,
            })
            .map_err(|e| match e {
                StartError::NothingChosen => "there are no items to sync".to_string(),
                StartError::AllBusy => e.to_string(),
            })?;
        Ok(session.id())
    }

    /// Turns a target into item keys, listing the handlers again if a name is unknown.
    fn resolve(&self, target: &Target) -> Result<Vec<ItemKey>, String> {
        if let Target::Keys(keys) = target {
            return Ok(keys.clone());
        }
        let known = match target {
            Target::Named(names) => names.iter().all(|n| self.find(n).len() == 1),
            Target::Handler(h) => self.catalog.read().items.contains_key(&HandlerId::new(h)),
            _ => !self.catalog.read().items.is_empty(),
        };
        if !known {
            self.relist();
        }
        let catalog = self.catalog.read();
        let keys: Vec<ItemKey> = match target {
            Target::All => catalog.keys().cloned().collect(),
            Target::Checked => catalog
                .items
                .values()
                .flatten()
                .filter(|(key, default)| self.engine.store().is_checked(key, *default))
                .map(|(key, _)| key.clone())
                .collect(),
            Target::Handler(handler) => catalog
                .items
                .get(&HandlerId::new(handler))
                .ok_or_else(|| format!("there is no handler \"{handler}\""))?
                .iter()
                .map(|(key, _)| key.clone())
                .collect(),
            Target::Named(names) => {
                drop(catalog);
                return names.iter().map(|name| self.find_one(name)).collect();
            }
            Target::Keys(_) => unreachable!("handled above"),
        };
        if keys.is_empty() {
            return Err(match target {
                Target::Checked => "no items are checked; name the items to sync, use --all, or check some with `synccenter check ITEM`".into(),
                _ => "there are no items to sync; `synccenter items` lists the items".into(),
            });
        }
        Ok(keys)
    }

    fn find(&self, name: &str) -> Vec<ItemKey> {
        self.catalog
            .read()
            .keys()
            .filter(|k| k.item.as_str() == name || k.to_string() == name)
            .cloned()
            .collect()
    }

    fn find_one(&self, name: &str) -> Result<ItemKey, String> {
        let found = self.find(name);
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(format!(
                "there is no item \"{name}\"; `synccenter items` lists the items"
            )),
            many => Err(format!(
                "\"{name}\" names several items ({}); write HANDLER/ID",
                many.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    /// Lists every handler now and keeps the answer (blocks: never on the UI thread).
    pub fn relist(&self) {
        let listings = self.engine.list_now();
        let mut catalog = self.catalog.write();
        for listing in listings {
            if listing.error.is_some() {
                continue;
            }
            let items = listing
                .items
                .iter()
                .map(|i| {
                    let key = ItemKey {
                        handler: listing.handler.clone(),
                        item: i.id.clone(),
                    };
                    (key, i.checked_by_default)
                })
                .collect();
            catalog.items.insert(listing.handler, items);
        }
    }

    /// Every item's next scheduled run, in words, for the items list and the tray.
    pub fn next_runs(&self) -> BTreeMap<ItemKey, String> {
        self.scheduler.next_runs()
    }
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
pub type CenterRef = Arc<Center>;
