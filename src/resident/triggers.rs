//! Runs nobody clicked: at logon (the autostart entry), when the session is idle, when a
//! folder pair's files change (`watch.rs`), and when the network comes back (`network.rs`).
//! Like schedules, they never show dialogs, and a pause of the schedules pauses them too: a
//! logon, idle or network trigger that comes during a pause is dropped (a change waits for
//! the end of the pause).

use crate::core::choice::Target;
use crate::core::model::RunReason;
use crate::resident::autostart;
use crate::resident::idle::{IdleSource, IdleTrigger, poll_every};
use crate::resident::network;
use crate::resident::scheduler::Pause;
use crate::resident::watch::ChangeWatch;
use crate::resident::{Center, CenterRef, RunRequest};
use crossbeam_channel::{Receiver, Sender};
use std::time::Duration;

/// The wait before the logon run: the network and the keyring may not be up yet.
pub const LOGON_DELAY: Duration = Duration::from_secs(20);

enum Nudge {
    Reload,
    Stop,
}

pub struct Triggers {
    idle: Sender<Nudge>,
    network: Sender<Nudge>,
    watch: ChangeWatch,
}

impl Triggers {
    /// Starts the triggers; `at_logon` when the autostart entry started this instance.
    pub fn start(center: &CenterRef, at_logon: bool) -> Triggers {
        apply_autostart(center);
        let spawn = |name: &str, work: fn(CenterRef, Receiver<Nudge>)| {
            let (tx, rx) = crossbeam_channel::unbounded();
            let center = center.clone();
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || work(center, rx))
                .expect("spawn a trigger");
            tx
        };
        let idle = spawn("idle", idle_loop);
        let network = spawn("network-trigger", network_loop);
        if at_logon && center.settings().start_at_logon {
            let logon = center.clone();
            std::thread::Builder::new()
                .name("logon".into())
                .spawn(move || {
                    std::thread::sleep(logon_delay());
                    run(&logon, RunReason::Logon);
                })
                .expect("spawn the logon run");
        }
        Triggers {
            idle,
            network,
            watch: ChangeWatch::spawn(center.clone()),
        }
    }

    /// The settings changed.
    pub fn reload(&self, center: &Center) {
        apply_autostart(center);
        let _ = self.idle.send(Nudge::Reload);
        let _ = self.network.send(Nudge::Reload);
        self.watch.reload();
    }

    pub fn stop(&self) {
        let _ = self.idle.send(Nudge::Stop);
        let _ = self.network.send(Nudge::Stop);
        self.watch.stop();
    }
}

/// `SYNCCENTER_LOGON_DELAY_MS` (tests), or [`LOGON_DELAY`].
fn logon_delay() -> Duration {
    std::env::var("SYNCCENTER_LOGON_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(LOGON_DELAY, Duration::from_millis)
}

fn apply_autostart(center: &Center) {
    let home = &center.home;
    // A home chosen with --home is passed on; the default one needs no argument.
    let explicit = home
        .config_dir
        .parent()
        .filter(|dir| crate::core::store::Home::under(dir) == *home)
        .map(|_| home);
    if let Err(e) = autostart::apply(center.settings().start_at_logon, explicit) {
        center.engine.notice(e);
    }
}

/// Syncs the checked items for a trigger, unless schedules and triggers are paused.
fn run(center: &CenterRef, reason: RunReason) {
    if center.scheduler.pause_state() != Pause::Off {
        return;
    }
    let request = RunRequest {
        target: Target::Checked,
        reason,
        prompt: false,
    };
    if let Err(e) = center.start(request) {
        tracing::info!("a triggered run did not start: {e}");
    }
}

/// Waits for the next nudge, or `wait`; false when the trigger is to stop.
fn next_nudge(nudges: &Receiver<Nudge>, wait: Option<Duration>) -> bool {
    let nudge = match wait {
        Some(wait) => match nudges.recv_timeout(wait) {
            Ok(nudge) => nudge,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => return true,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return false,
        },
        None => match nudges.recv() {
            Ok(nudge) => nudge,
            Err(_) => return false,
        },
    };
    !matches!(nudge, Nudge::Stop)
}

/// Reads the idle time while "Sync when idle" is on. When no source works (an instance
/// started at logon before the desktop's idle monitor), it looks again at each reading:
/// the desktop may bring one up later.
fn idle_loop(center: CenterRef, nudges: Receiver<Nudge>) {
    let mut source = IdleSource::detect();
    center.set_idle_source(source.as_ref().map(IdleSource::name));
    let mut trigger = IdleTrigger::default();
    let mut told_unavailable = false;
    loop {
        let after = center
            .settings()
            .idle_after_seconds
            .map(Duration::from_secs);
        let wait = after.map(|after| {
            if source.is_none() {
                source = IdleSource::detect();
                center.set_idle_source(source.as_ref().map(IdleSource::name));
            }
            match &source {
                Some(found) => match found.idle() {
                    Ok(idle) if trigger.observe(idle, after) => run(&center, RunReason::Idle),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!("reading the idle time failed: {e}; looking again");
                        source = None;
                    }
                },
                None if !told_unavailable => {
                    told_unavailable = true;
                    center.engine.notice(
                        "\"Sync when idle\" cannot work yet: idle detection is unavailable on this desktop (no GNOME or KDE idle service, no X11 screensaver extension, no logind idle hint). Sync Center keeps looking.",
                    );
                }
                None => {}
            }
            poll_every(after)
        });
        if !next_nudge(&nudges, wait) {
            return;
        }
    }
}

/// Syncs the checked items when NetworkManager reports the network back, while "Sync when
/// the network comes back" is on. Listens from the first time it is on.
fn network_loop(center: CenterRef, nudges: Receiver<Nudge>) {
    let mut states: Option<Receiver<u32>> = None;
    let mut last: Option<u32> = None;
    loop {
        let on = center.settings().sync_on_network;
        if on && states.is_none() {
            match network::states() {
                Ok((rx, present)) => {
                    if !present {
                        center.engine.notice(
                            "\"Sync when the network comes back\" waits for NetworkManager, which is not running: it works once NetworkManager runs.",
                        );
                    }
                    states = Some(rx);
                }
                Err(e) => {
                    center.engine.notice(format!(
                        "\"Sync when the network comes back\" cannot work here: {e}; it needs NetworkManager."
                    ));
                    // Said once; the setting stays as the user chose it.
                    states = Some(crossbeam_channel::never());
                }
            }
        }
        let Some(changes) = &states else {
            if !next_nudge(&nudges, None) {
                return;
            }
            continue;
        };
        crossbeam_channel::select! {
            recv(changes) -> state => match state {
                Ok(state) => {
                    if center.settings().sync_on_network && network::comes_back(last, state) {
                        run(&center, RunReason::Network);
                    }
                    last = Some(state);
                }
                Err(_) => states = Some(crossbeam_channel::never()),
            },
            recv(nudges) -> nudge => match nudge {
                Ok(Nudge::Reload) => {}
                Ok(Nudge::Stop) | Err(_) => return,
            },
        }
    }
}
