//! Runs nobody clicked: at logon (the autostart entry), when the session is idle, and when a
//! folder pair's files change (`watch.rs`). Like schedules, they never show dialogs, and a
//! pause of the schedules pauses them too.

use crate::core::model::RunReason;
use crate::resident::autostart;
use crate::resident::idle::{IdleSource, IdleTrigger, poll_every};
use crate::resident::scheduler::Pause;
use crate::resident::watch::ChangeWatch;
use crate::resident::{CenterRef, RunRequest, Target};
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
    watch: ChangeWatch,
}

impl Triggers {
    /// Starts the triggers; `at_logon` when the autostart entry started this instance.
    pub fn start(center: &CenterRef, at_logon: bool) -> Triggers {
        apply_autostart(center);
        let (idle, nudges) = crossbeam_channel::unbounded();
        let idle_center = center.clone();
        std::thread::Builder::new()
            .name("idle".into())
            .spawn(move || idle_loop(idle_center, nudges))
            .expect("spawn the idle trigger");
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
            watch: ChangeWatch::spawn(center.clone()),
        }
    }

    /// The settings changed.
    pub fn reload(&self, center: &crate::resident::Center) {
        apply_autostart(center);
        let _ = self.idle.send(Nudge::Reload);
        self.watch.reload();
    }

    pub fn stop(&self) {
        let _ = self.idle.send(Nudge::Stop);
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

fn apply_autostart(center: &crate::resident::Center) {
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

fn idle_loop(center: CenterRef, nudges: Receiver<Nudge>) {
    let source = IdleSource::detect();
    center.set_idle_source(source.as_ref().map(IdleSource::name));
    let mut trigger = IdleTrigger::default();
    let mut told_unavailable = false;
    loop {
        let after = center
            .settings()
            .idle_after_seconds
            .map(Duration::from_secs);
        let wait = match (after, &source) {
            (Some(after), Some(source)) => {
                match source.idle() {
                    Ok(idle) if trigger.observe(idle, after) => run(&center, RunReason::Idle),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("reading the idle time failed: {e}"),
                }
                Some(poll_every(after))
            }
            (Some(_), None) => {
                if !told_unavailable {
                    told_unavailable = true;
                    center.engine.notice(
                        "\"Sync when idle\" cannot work here: idle detection is unavailable on this desktop (no GNOME or KDE idle service, no X11 screensaver extension, no logind idle hint).",
                    );
                }
                None
            }
            (None, _) => None,
        };
        let nudge = match wait {
            Some(wait) => match nudges.recv_timeout(wait) {
                Ok(nudge) => nudge,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            },
            None => match nudges.recv() {
                Ok(nudge) => nudge,
                Err(_) => return,
            },
        };
        if let Nudge::Stop = nudge {
            return;
        }
    }
}
