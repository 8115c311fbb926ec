//! The running instance's life: own the home's engine lock and the app id on the session
//! bus, start the dispatcher, the scheduler, the triggers and the tray, and open the window
//! whenever asked — re-creating the eframe window each time rather than hiding it, which
//! does nothing on Wayland. Quit stops the runs, waits for their records, and ends.

use crate::core::model::RunReason;
use crate::desktop::{APP_ID, OBJECT_PATH};
use crate::resident::dbus::{Application, Control};
use crate::resident::dispatch::{Activity, Dispatcher};
use crate::resident::lock::{self, Attempt, EngineLock, Holder};
use crate::resident::scheduler::{Pause, Scheduler};
use crate::resident::settings;
use crate::resident::tray::TrayHandle;
use crate::resident::triggers::Triggers;
use crate::resident::{Catalog, Center, CenterRef, RunRequest, Target, Wish};
use crate::setup::Setup;
use crate::window::Companion;
use crossbeam_channel::Receiver;
use egui::Ui;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How long Quit waits for stopped runs to end, so their results are kept.
const QUIT_GRACE: Duration = Duration::from_secs(5);

/// Runs Sync Center as the instance of its home: with a window unless `background`.
/// Returns the exit code.
pub fn run(setup: Setup, background: bool, at_logon: bool) -> u8 {
    let Setup {
        home,
        engine,
        events,
        mut notices,
        ..
    } = setup;
    let lock = match take_lock(&home) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    let loaded = settings::load_settings(&home);
    notices.extend(loaded.problem.clone());
    let scheduler = Scheduler::new(&home, &loaded.value, &mut notices);
    let (wishes, wished) = crossbeam_channel::unbounded();
    let center: CenterRef = Arc::new(Center {
        engine: engine.clone(),
        home: home.clone(),
        settings: RwLock::new(loaded.value),
        settings_writable: loaded.problem.is_none(),
        wishes,
        catalog: RwLock::new(Catalog::default()),
        scheduler,
        window: Mutex::new(None),
        triggers: std::sync::OnceLock::new(),
        tray: TrayHandle::default(),
        idle_source: RwLock::new(None),
    });
    let bus = match serve(&center) {
        Ok(bus) => Some(bus),
        Err(zbus::Error::NameTaken) => match crate::resident::client::Instance::find(&home) {
            // Another instance of this home won the race for the name: it shows its window.
            Some(instance) => {
                drop(lock);
                return activate_running(&instance, background);
            }
            None if background => {
                eprintln!(
                    "synccenter: a Sync Center of another home owns {APP_ID} on this session bus; this home can only run with its window now."
                );
                return crate::cli::EXIT_NOTHING_RAN;
            }
            // The instance of another home has the name: this home gets a window of its own.
            None => None,
        },
        Err(e) if background => {
            eprintln!(
                "synccenter: --background needs the session bus, which cannot be reached ({e}). Without it Sync Center can only run with its window."
            );
            return crate::cli::EXIT_NOTHING_RAN;
        }
        Err(e) => {
            tracing::info!("no session bus ({e}): the window runs on its own");
            None
        }
    };
    if bus.is_some() {
        center.tray.spawn(&center);
    }
    let activity = Arc::new(Mutex::new(Activity::default()));
    let (shown, tray) = (activity.clone(), center.tray.clone());
    let dispatcher = Dispatcher::spawn(
        center.clone(),
        events,
        bus.clone(),
        Box::new(move |now| {
            *shown.lock() = now.clone();
            tray.show_activity(now);
        }),
    );
    let runner_center = center.clone();
    center.scheduler.spawn(Box::new(move |schedule| {
        runner_center
            .start(RunRequest {
                target: Target::Keys(schedule.items.clone()),
                reason: RunReason::Scheduled,
                prompt: false,
            })
            .map(|_| ())
    }));
    if bus.is_some() {
        let _ = center.triggers.set(Triggers::start(&center, at_logon));
    }
    let listing = center.clone();
    std::thread::Builder::new()
        .name("first-listing".into())
        .spawn(move || listing.relist())
        .expect("spawn the first listing");
    if !background {
        center.wish(Wish::ShowWindow);
    }
    let companion = Arc::new(WindowCompanion {
        center: center.clone(),
        background,
        on_bus: bus.is_some(),
        activity,
    });
    let code = main_loop(
        &center,
        &dispatcher,
        &wished,
        companion,
        bus.is_some(),
        notices,
    );
    quit(&center);
    drop(bus);
    drop(lock);
    code
}

/// Takes the home's engine lock, waiting for a terminal sync to finish.
fn take_lock(home: &crate::core::store::Home) -> Result<EngineLock, u8> {
    let attempt = lock::try_acquire(home, Holder::Instance).map_err(|e| {
        eprintln!("synccenter: {e}");
        crate::cli::EXIT_NOTHING_RAN
    })?;
    match attempt {
        Attempt::Acquired(lock) => Ok(lock),
        Attempt::Held { owner, waiter } => {
            if owner.is_some_and(|o| o.holder == Holder::Instance) {
                // An instance of this home that the bus does not know (another session).
                eprintln!(
                    "synccenter: Sync Center (process {}) is already running on this home in another session; quit it first.",
                    owner.map_or(0, |o| o.pid)
                );
                return Err(crate::cli::EXIT_NOTHING_RAN);
            }
            eprintln!(
                "synccenter: a terminal sync is working on this home; starting when it ends…"
            );
            waiter.wait().map_err(|e| {
                eprintln!("synccenter: {e}");
                crate::cli::EXIT_NOTHING_RAN
            })
        }
    }
}

/// Owns the app id on the session bus and serves both interfaces.
fn serve(center: &CenterRef) -> zbus::Result<zbus::blocking::Connection> {
    zbus::blocking::connection::Builder::session()?
        .name(APP_ID)?
        .serve_at(
            OBJECT_PATH,
            Application {
                center: center.clone(),
            },
        )?
        .serve_at(
            OBJECT_PATH,
            Control {
                center: center.clone(),
            },
        )?
        .build()
}

fn activate_running(instance: &crate::resident::client::Instance, background: bool) -> u8 {
    if background {
        return crate::cli::EXIT_OK;
    }
    match instance.activate() {
        Ok(()) => crate::cli::EXIT_OK,
        Err(e) => {
            eprintln!("synccenter: the running Sync Center did not open its window: {e}");
            crate::cli::EXIT_NOTHING_RAN
        }
    }
}

/// The main thread: opens the window when asked, until Quit (or the window closes with
/// nothing to keep the instance running).
fn main_loop(
    center: &CenterRef,
    dispatcher: &Dispatcher,
    wished: &Receiver<Wish>,
    companion: Arc<WindowCompanion>,
    on_bus: bool,
    mut notices: Vec<String>,
) -> u8 {
    let mut code = crate::cli::EXIT_OK;
    while let Ok(wish) = wished.recv() {
        if wish == Wish::Quit {
            break;
        }
        let (events, waiting) = dispatcher.open_window();
        notices.extend(waiting);
        let opened = crate::window::run_with(
            center.engine.clone(),
            events,
            std::mem::take(&mut notices),
            Some(companion.clone() as Arc<dyn Companion>),
        );
        dispatcher.close_window();
        center.window_closed();
        center.engine.set_waker(Arc::new(|| {}));
        if let Err(e) = opened {
            eprintln!(
                "synccenter: cannot open the window: {e}. Is there a display (X11 or Wayland)? The commands work without one: synccenter --help."
            );
            code = crate::cli::EXIT_NOTHING_RAN;
        }
        // Wishes to show the window that came while it was open are answered already.
        while let Ok(wish) = wished.try_recv() {
            if wish == Wish::Quit {
                return code;
            }
        }
        if !(on_bus && companion.keeps_running()) {
            break;
        }
    }
    code
}

/// Stops every run, waits a moment for their records, and saves everything.
fn quit(center: &Center) {
    center.scheduler.stop();
    if let Some(triggers) = center.triggers.get() {
        triggers.stop();
    }
    center.tray.shutdown();
    let sessions = center.engine.sessions();
    center.engine.stop_everything();
    let deadline = Instant::now() + QUIT_GRACE;
    for session in sessions {
        session.wait(deadline.saturating_duration_since(Instant::now()));
    }
    center.engine.store().flush();
}

/// The instance's part of the window.
struct WindowCompanion {
    center: CenterRef,
    background: bool,
    /// Without a session bus there is no instance to keep: no background, tray or triggers.
    on_bus: bool,
    activity: Arc<Mutex<Activity>>,
}

impl Companion for WindowCompanion {
    fn attach(&self, ctx: &egui::Context) {
        self.center.window_opened(ctx);
    }

    fn keeps_running(&self) -> bool {
        self.on_bus && (self.background || self.center.settings().keep_running)
    }

    fn next_runs(&self) -> BTreeMap<crate::core::model::ItemKey, String> {
        self.center.next_runs()
    }

    fn menu_ui(&self, ui: &mut Ui) {
        let settings = self.center.settings();
        ui.menu_button("Background", |ui| {
            if !self.on_bus {
                ui.label(
                    "Schedules run while this window is open. Running in the background, the \
                     tray and the triggers need the session bus (D-Bus), which is not reachable.",
                );
                ui.separator();
            }
            ui.add_enabled_ui(self.on_bus, |ui| self.background_ui(ui, &settings));
            ui.separator();
            if settings.schedules.is_empty() {
                ui.label("No schedules. `synccenter schedule add` makes one.");
            }
            for schedule in &settings.schedules {
                let mut enabled = schedule.enabled;
                let label = format!(
                    "{}: {} ({} items)",
                    schedule.name,
                    schedule.when,
                    schedule.items.len()
                );
                if ui.checkbox(&mut enabled, label).changed() {
                    let name = schedule.name.clone();
                    self.change(move |s| {
                        for schedule in s.schedules.iter_mut().filter(|x| x.name == name) {
                            schedule.enabled = enabled;
                        }
                    });
                }
            }
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
                self.center.wish(Wish::Quit);
            }
        });
        let activity = self.activity.lock().clone();
        if !activity.needs_you.is_empty() {
            let count = activity.needs_you.len();
            if ui
                .button(format!("{count} item(s) need your logon — answer…"))
                .on_hover_text(
                    "A scheduled or triggered run could not ask; sync them now to answer",
                )
                .clicked()
            {
                let center = self.center.clone();
                let request = RunRequest {
                    target: Target::Keys(activity.needs_you.clone()),
                    reason: RunReason::Manual,
                    prompt: true,
                };
                std::thread::spawn(move || center.start(request));
            }
        }
    }
}

impl WindowCompanion {
    /// The switches of background mode and the triggers.
    fn background_ui(&self, ui: &mut Ui, settings: &settings::Settings) {
        let mut keep = settings.keep_running;
        if ui
            .checkbox(&mut keep, "Keep running when the window is closed")
            .changed()
        {
            self.change(|s| s.keep_running = keep);
        }
        let mut logon = settings.start_at_logon;
        if ui
            .checkbox(&mut logon, "Start at logon (in the background)")
            .changed()
        {
            self.change(|s| s.start_at_logon = logon);
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
                self.change(|s| s.idle_after_seconds = idle.then_some(minutes * 60));
            }
        });
        ui.label(egui::RichText::new(self.center.idle_detection()).weak());
        let mut on_change = settings.sync_on_change;
        if ui
            .checkbox(&mut on_change, "Sync folder pairs when their files change")
            .changed()
        {
            self.change(|s| s.sync_on_change = on_change);
        }
    }

    fn change(&self, change: impl FnOnce(&mut settings::Settings)) {
        if let Err(e) = self.center.change_settings(change) {
            self.center.engine.notice(e);
        }
    }
}
