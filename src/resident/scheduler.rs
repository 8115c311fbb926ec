//! The scheduler thread: sleeps until the next due time (at most a minute, so a suspend or a
//! clock change is noticed within a minute of the wall clock), runs what is due through
//! `schedule::plan`, and remembers the due times on disk. Its state is locked only to read
//! or change it, never across the disk: the window reads the next runs and the pause every
//! frame.

use crate::core::model::ItemKey;
use crate::core::store::Home;
use crate::resident::schedule::{self, Schedule, when_words};
use crate::resident::settings::{self, DueTimes, Settings};
use chrono::{DateTime, Local};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The longest the scheduler sleeps without looking at the wall clock.
const LONGEST_SLEEP: Duration = Duration::from_secs(60);

/// Schedules paused by the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    Off,
    Until(SystemTime),
    UntilResumed,
}

struct State {
    /// The schedules that may run (switched on and usable).
    schedules: Vec<Schedule>,
    due: DueTimes,
    /// False when the due times file could not be read: it is then not overwritten.
    due_writable: bool,
    pause: Pause,
}

enum Nudge {
    Look,
    Quit,
}

/// Told when the pause ended by itself (a pause "for 1 hour" ran out).
pub type PauseEnded = Box<dyn Fn() + Send>;

/// The scheduler's handle (cheap to clone).
#[derive(Clone)]
pub struct Scheduler {
    home: Home,
    state: Arc<Mutex<State>>,
    nudge: Sender<Nudge>,
    nudged: Receiver<Nudge>,
}

/// Starts a scheduled run; returns why it could not start.
pub type Runner = Box<dyn Fn(&Schedule) -> Result<(), String> + Send>;

impl Scheduler {
    /// Loads the due times; `notices` gets a problem with the file in plain words.
    pub fn new(home: &Home, settings: &Settings, notices: &mut Vec<String>) -> Scheduler {
        let loaded = settings::load_due(home);
        notices.extend(loaded.notices);
        let (nudge, nudged) = crossbeam_channel::unbounded();
        Scheduler {
            home: home.clone(),
            state: Arc::new(Mutex::new(State {
                schedules: settings.runnable_schedules(),
                due: loaded.value,
                due_writable: loaded.writable,
                pause: Pause::Off,
            })),
            nudge,
            nudged,
        }
    }

    /// Runs the scheduler on its own thread until `stop`.
    pub fn spawn(&self, runner: Runner, pause_ended: PauseEnded) {
        let scheduler = self.clone();
        std::thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || scheduler.run(runner, pause_ended))
            .expect("spawn the scheduler");
    }

    pub fn stop(&self) {
        let _ = self.nudge.send(Nudge::Quit);
    }

    pub fn reload(&self, settings: &Settings) {
        self.state.lock().schedules = settings.runnable_schedules();
        let _ = self.nudge.send(Nudge::Look);
    }

    pub fn pause(&self, pause: Pause) {
        self.state.lock().pause = pause;
        let _ = self.nudge.send(Nudge::Look);
    }

    /// The pause now; a pause whose time is up is over even before the thread looks.
    pub fn pause_state(&self) -> Pause {
        match self.state.lock().pause {
            Pause::Until(until) if SystemTime::now() >= until => Pause::Off,
            pause => pause,
        }
    }

    /// Each scheduled item's next run, in words ("14:05", "Mon 09:30", "paused").
    pub fn next_runs(&self) -> BTreeMap<ItemKey, String> {
        let (soonest, paused) = {
            let state = self.state.lock();
            let mut soonest: BTreeMap<ItemKey, i64> = BTreeMap::new();
            for schedule in &state.schedules {
                let Some(due) = state.due.get(&schedule.name) else {
                    continue;
                };
                for key in &schedule.items {
                    let entry = soonest.entry(key.clone()).or_insert(i64::MAX);
                    *entry = (*entry).min(due.next_due_ms);
                }
            }
            (soonest, state.pause == Pause::UntilResumed)
        };
        let now = Local::now();
        soonest
            .into_iter()
            .map(|(key, ms)| {
                let words = if paused {
                    "paused".to_string()
                } else {
                    when_words(ms, &now)
                };
                (key, words)
            })
            .collect()
    }

    fn run(&self, runner: Runner, pause_ended: PauseEnded) {
        loop {
            let look = self.look(&Local::now());
            if look.pause_ended {
                pause_ended();
            }
            if let Some(due) = look.save
                && let Err(e) = settings::save_due(&self.home, &due)
            {
                tracing::error!("could not save the schedules' due times: {e}");
            }
            for schedule in look.due_now {
                if let Err(reason) = runner(&schedule) {
                    tracing::warn!(
                        "the schedule \"{}\" could not start: {reason}",
                        schedule.name
                    );
                }
            }
            match self.nudged.recv_timeout(look.sleep) {
                Ok(Nudge::Quit) => return,
                Ok(Nudge::Look) | Err(_) => {}
            }
        }
    }

    /// Decides what is due now, under the lock and without touching the disk.
    fn look(&self, now: &DateTime<Local>) -> Look {
        let mut state = self.state.lock();
        let now_ms = now.timestamp_millis();
        let mut pause_ended = false;
        if let Pause::Until(until) = state.pause
            && SystemTime::now() >= until
        {
            state.pause = Pause::Off;
            pause_ended = true;
        }
        let paused = state.pause != Pause::Off;
        let mut due_now = Vec::new();
        let mut due = DueTimes::new();
        for schedule in &state.schedules {
            let plan = schedule::plan(&schedule.when, state.due.get(&schedule.name), now, paused);
            if plan.run_now {
                due_now.push(schedule.clone());
            }
            due.insert(schedule.name.clone(), plan.due);
        }
        let soonest = due.values().map(|d| d.next_due_ms).min();
        let mut save = None;
        if due != state.due {
            state.due = due;
            if state.due_writable {
                save = Some(state.due.clone());
            }
        }
        let mut sleep = LONGEST_SLEEP;
        if let Some(next) = soonest {
            let wait = Duration::from_millis(next.saturating_sub(now_ms).max(0) as u64);
            sleep = sleep.min(wait);
        }
        if let Pause::Until(until) = state.pause {
            sleep = sleep.min(until.duration_since(SystemTime::now()).unwrap_or_default());
        }
        Look {
            due_now,
            save,
            sleep: sleep.max(Duration::from_millis(10)),
            pause_ended,
        }
    }
}

/// What one look found.
struct Look {
    due_now: Vec<Schedule>,
    /// Due times to write (after the lock is released).
    save: Option<DueTimes>,
    sleep: Duration,
    pause_ended: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resident::schedule::When;

    #[test]
    fn the_state_is_never_locked_across_the_disk() {
        // Everything a look writes comes out of it; the lock is free afterwards.
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        home.create_dirs().unwrap();
        let settings = Settings {
            schedules: vec![Schedule {
                name: "often".into(),
                items: vec![ItemKey::new("h", "i")],
                when: When::Every { seconds: 60 },
                enabled: true,
            }],
            ..Settings::default()
        };
        let scheduler = Scheduler::new(&home, &settings, &mut Vec::new());
        let look = scheduler.look(&Local::now());
        assert!(look.save.is_some(), "a first due time is remembered");
        assert!(scheduler.state.try_lock().is_some());
        assert_eq!(scheduler.next_runs().len(), 1);
        // A pause that is over is over at once, even before the thread looks.
        scheduler.pause(Pause::Until(SystemTime::now() - Duration::from_secs(1)));
        assert_eq!(scheduler.pause_state(), Pause::Off);
        let look = scheduler.look(&Local::now());
        assert!(look.pause_ended);
    }
}
