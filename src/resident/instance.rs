//! The running instance's life: a second start only asks the running one to show its window
//! (or to do a desktop action); otherwise own the home's engine lock and the app id on the
//! session bus, start the dispatcher, the scheduler, the triggers and the tray, and open the
//! window whenever asked — re-creating the eframe window each time rather than hiding it,
//! which does nothing on Wayland. Quit stops the runs, records them, and ends.

use crate::core::choice::Target;
use crate::core::model::RunReason;
use crate::core::store::Home;
use crate::desktop::{APP_ID, OBJECT_PATH};
use crate::exit_code;
use crate::output::err;
use crate::resident::client::Instance;
use crate::resident::dbus::{Application, Control};
use crate::resident::dispatch::{Activity, Dispatcher};
use crate::resident::lock::{self, Attempt, EngineLock, Holder};
use crate::resident::menu::WindowCompanion;
use crate::resident::scheduler::Scheduler;
use crate::resident::settings;
use crate::resident::tray::TrayHandle;
use crate::resident::triggers::Triggers;
use crate::resident::windows::{Gone, Presence};
use crate::resident::{Center, CenterRef, RunRequest, Wish};
use crate::setup::{Setup, setup_in};
use crossbeam_channel::Receiver;
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long Quit waits for stopped runs to end before it records them as they stand.
const QUIT_GRACE: Duration = Duration::from_secs(5);
/// How long a new instance waits for the home's lock held by an instance that is ending.
const ENDING_INSTANCE: Duration = Duration::from_secs(15);
/// How long an instance that holds the home's lock may take to appear on the bus.
const STARTING_INSTANCE: Duration = Duration::from_secs(1);
/// How often a start waiting for the home's lock tries again.
const LOCK_POLL: Duration = Duration::from_millis(200);

/// How the instance was started.
#[derive(Clone, Debug, Default)]
pub struct Start {
    pub home: Option<PathBuf>,
    pub demo: bool,
    /// Without a window at first (the tray, schedules and triggers go on).
    pub background: bool,
    /// Started by the autostart entry at logon: sync the checked items.
    pub at_logon: bool,
    /// A desktop action to do (`sync-all`), as a launcher without D-Bus activation asks.
    pub action: Option<String>,
}

/// Starts Sync Center as the instance of its home, or hands the start over to the running
/// one. Returns the exit code.
pub fn start(start: Start) -> u8 {
    let home = match Home::resolve(start.home.clone()) {
        Ok(home) => home,
        Err(e) => {
            err!("synccenter: {e}");
            return exit_code::NOTHING_RAN;
        }
    };
    if let Some(instance) = Instance::find(&home) {
        return hand_over(&instance, &start);
    }
    let lock = match take_lock(&home, !start.background) {
        Ok(Taken::Lock(lock)) => lock,
        Ok(Taken::ByInstance(instance)) => return hand_over(&instance, &start),
        Err(code) => return code,
    };
    let demo = start.demo;
    run(setup_in(home, demo), start, lock)
}

/// What a second start asks of the running instance.
fn hand_over(instance: &Instance, start: &Start) -> u8 {
    let done = match &start.action {
        Some(action) => instance.activate_action(action),
        None if start.background => {
            err!("synccenter: Sync Center is already running.");
            return exit_code::OK;
        }
        None => instance.activate(),
    };
    match done {
        Ok(()) => exit_code::OK,
        Err(e) => {
            err!("synccenter: the running Sync Center did not do it: {e}");
            exit_code::NOTHING_RAN
        }
    }
}

/// Runs the instance until Quit, or until its window closes with nothing to keep it.
fn run(setup: Setup, start: Start, lock: EngineLock) -> u8 {
    let Setup {
        home,
        engine,
        events,
        mut notices,
        ..
    } = setup;
    let loaded = settings::load_settings(&home);
    notices.extend(loaded.notices);
    let scheduler = Scheduler::new(&home, &loaded.value, &mut notices);
    // Told once on the terminal or in the session's log (a background instance has no
    // window to show them yet), and again in the window when it opens.
    for notice in &notices {
        err!("synccenter: {notice}");
    }
    let (wishes, wished) = crossbeam_channel::unbounded();
    let center: CenterRef = Arc::new(Center {
        engine: engine.clone(),
        home: home.clone(),
        settings: RwLock::new(loaded.value),
        settings_writable: loaded.writable,
        settings_changed: OnceLock::new(),
        applying: Mutex::new(()),
        wishes,
        catalog: RwLock::new(Vec::new()),
        scheduler,
        window: Mutex::new(Presence::default()),
        quitting: RwLock::new(false),
        triggers: OnceLock::new(),
        tray: TrayHandle::default(),
        idle_source: RwLock::new(None),
        runs: Mutex::new(HashMap::new()),
        on_bus: AtomicBool::new(false),
    });
    let bus = match serve(&center) {
        Ok(bus) => Some(bus),
        Err(zbus::Error::NameTaken) => match Instance::find(&home) {
            // Another instance of this home won the race for the name: it does the work.
            Some(instance) => {
                drop(lock);
                return hand_over(&instance, &start);
            }
            None if start.background => {
                err!(
                    "synccenter: a Sync Center of another home owns {APP_ID} on this session bus; this home can only run with its window now."
                );
                return exit_code::NOTHING_RAN;
            }
            // The instance of another home has the name: this home gets a window of its own.
            None => None,
        },
        Err(e) if start.background => {
            err!(
                "synccenter: --background needs the session bus, which cannot be reached ({e}). Without it Sync Center can only run with its window."
            );
            return exit_code::NOTHING_RAN;
        }
        Err(e) => {
            tracing::info!("no session bus ({e}): the window runs on its own");
            None
        }
    };
    center.on_bus.store(bus.is_some(), Ordering::Release);
    Center::spawn_settings_worker(&center);
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
    let (runner, redraw) = (center.clone(), center.tray.clone());
    center.scheduler.spawn(
        Box::new(move |schedule| {
            runner
                .start(RunRequest {
                    target: Target::Keys(schedule.items.clone()),
                    reason: RunReason::Scheduled,
                    prompt: false,
                })
                .map(|_| ())
        }),
        Box::new(move || redraw.redraw()),
    );
    if bus.is_some() {
        let _ = center
            .triggers
            .set(Triggers::start(&center, start.at_logon));
    }
    let listing = center.clone();
    let action = start.action.clone();
    std::thread::Builder::new()
        .name("first-listing".into())
        .spawn(move || match action {
            // Sync all lists the handlers itself.
            Some(action) => {
                if let Err(e) = listing.activate_action(&action) {
                    listing
                        .engine
                        .notice(format!("The action {action} did nothing: {e}"));
                }
            }
            None => {
                listing.relist();
            }
        })
        .expect("spawn the first listing");
    if !start.background {
        let _ = center.show_window();
    }
    let companion = Arc::new(WindowCompanion::new(center.clone(), activity));
    let (code, ending) = main_loop(&center, &dispatcher, &wished, &companion, notices);
    quit(&center, bus.as_ref(), ending);
    drop(bus);
    drop(lock);
    code
}

/// How a start got on: holding the home's lock, or finding an instance that took it while
/// this start waited (another start that waited for the same terminal sync).
enum Taken {
    Lock(EngineLock),
    ByInstance(Instance),
}

/// Takes the home's engine lock: at once, after an ending instance lets go, or after a
/// terminal sync ends (said in a desktop notification when a window is wanted). The wait polls rather than blocks on the lock, so that when several
/// starts wait for one terminal sync, the first to get the lock becomes the instance and the
/// others hand over to it instead of waiting until it quits (then opening a window again).
fn take_lock(home: &Home, window_wanted: bool) -> Result<Taken, u8> {
    let mut instance_ending_since: Option<Instant> = None;
    let mut unknown_since: Option<Instant> = None;
    let mut told_terminal = false;
    let mut told_ending = false;
    loop {
        let attempt = lock::try_acquire(home, Holder::Instance).map_err(|e| {
            err!("synccenter: {e}");
            exit_code::NOTHING_RAN
        })?;
        let owner = match attempt {
            Attempt::Acquired(lock) => return Ok(Taken::Lock(lock)),
            Attempt::Held { owner, .. } => owner,
        };
        match owner {
            // Quitting (it left the bus first), starting (not on the bus yet), or running
            // in another session.
            Some(owner) if owner.holder == Holder::Instance => {
                unknown_since = None;
                if let Some(instance) = Instance::find(home) {
                    return Ok(Taken::ByInstance(instance));
                }
                let since = *instance_ending_since.get_or_insert_with(Instant::now);
                // Not said at once: an instance that is starting is on the bus a moment later.
                if !told_ending && since.elapsed() >= STARTING_INSTANCE {
                    told_ending = true;
                    err!(
                        "synccenter: Sync Center (process {}) still holds this home; waiting a moment for it to end…",
                        owner.pid
                    );
                }
                if since.elapsed() >= ENDING_INSTANCE {
                    err!(
                        "synccenter: Sync Center (process {}) is already running on this home (in another session, or where this one's session bus does not reach it); quit it first.",
                        owner.pid
                    );
                    return Err(exit_code::NOTHING_RAN);
                }
            }
            // A lock file without its holder is one being claimed this moment (another start
            // that waited too): a terminal sync only if that lasts.
            None if unknown_since.get_or_insert_with(Instant::now).elapsed()
                < STARTING_INSTANCE => {}
            _ => {
                instance_ending_since = None;
                if !told_terminal {
                    told_terminal = true;
                    err!(
                        "synccenter: a terminal sync is working on this home; starting when it ends…"
                    );
                    // Started from a launcher, nothing shows until the window opens.
                    if window_wanted {
                        crate::window::notify::desktop(
                            "Sync Center is waiting".into(),
                            "A sync started in a terminal is running. Sync Center opens its window when it ends.".into(),
                        );
                    }
                }
            }
        }
        std::thread::sleep(LOCK_POLL);
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

/// The main thread: opens a window whenever one is wished for, until Quit, or until a
/// window closes with nothing to keep the instance running. Returns the exit code and how
/// Sync Center ends, in words for the runs it stops.
fn main_loop(
    center: &CenterRef,
    dispatcher: &Dispatcher,
    wished: &Receiver<Wish>,
    companion: &Arc<WindowCompanion>,
    mut notices: Vec<String>,
) -> (u8, &'static str) {
    let mut code = exit_code::OK;
    while let Ok(Wish::ShowWindow) = wished.recv() {
        while !center.is_quitting() {
            let (events, waiting) = dispatcher.open_window();
            notices.extend(waiting);
            let opened = crate::window::run(
                center.engine.clone(),
                events,
                std::mem::take(&mut notices),
                companion.clone(),
            );
            dispatcher.close_window();
            center.engine.set_waker(Arc::new(|_| {}));
            let gone = {
                center.window_closing();
                center.window.lock().gone()
            };
            if let Err(e) = opened {
                err!(
                    "synccenter: cannot open the window: {e}. Is there a display (X11 or Wayland)? The commands work without one: synccenter --help."
                );
                code = exit_code::NOTHING_RAN;
                break;
            }
            if gone == Gone::Closed {
                break;
            }
        }
        if center.is_quitting() {
            break;
        }
        if !center.keeps_running() && center.window.lock().end_unless_wanted() {
            // Nothing keeps Sync Center: closing the window ends it.
            return (code, "Sync Center closed");
        }
    }
    (code, "Sync Center quit")
}

/// Stops every run (no new one starts), gives them a grace to end, records the ones still
/// going as they stand, and saves everything (`Engine::end`). The bus name goes first:
/// nobody hands work to an instance that is ending.
fn quit(center: &Center, bus: Option<&zbus::blocking::Connection>, ending: &str) {
    *center.quitting.write() = true;
    if let Some(bus) = bus
        && let Err(e) = bus.release_name(APP_ID)
    {
        tracing::warn!("could not give up {APP_ID}: {e}");
    }
    center.scheduler.stop();
    if let Some(triggers) = center.triggers.get() {
        triggers.stop();
    }
    center.tray.shutdown();
    if let Err(unsaved) = center.engine.end(QUIT_GRACE, ending) {
        // Nothing is left to show it but the terminal or the session's journal.
        tracing::error!("{unsaved}");
        err!("synccenter: {unsaved}");
    }
}
