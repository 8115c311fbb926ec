//! The scheduler thread: sleeps until the next due time (at most a minute, so a suspend or a
//! clock change is noticed within a minute of the wall clock), runs what is due through
//! `schedule::plan`, and remembers the due times on disk.

use crate::core::model::ItemKey;
use crate::core::store::Home;
use crate::resident::schedule::{self, Schedule};
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
        notices.extend(loaded.problem.clone());
        let (nudge, nudged) = crossbeam_channel::unbounded();
        Scheduler {
            home: home.clone(),
            state: Arc::new(Mutex::new(State {
                schedules: settings.schedules.clone(),
                due: loaded.value,
                due_writable: loaded.problem.is_none(),
                pause: Pause::Off,
            })),
            nudge,
            nudged,
        }
    }

    /// Runs the scheduler on its own thread until `stop`.
    pub fn spawn(&self, runner: Runner) {
        let scheduler = self.clone();
        std::thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || scheduler.run(runner))
            .expect("spawn the scheduler");
    }

    pub fn stop(&self) {
        let _ = self.nudge.send(Nudge::Quit);
    }

    pub fn reload(&self, settings: &Settings) {
        self.state.lock().schedules = settings.schedules.clone();
        let _ = self.nudge.send(Nudge::Look);
    }

    pub fn pause(&self, pause: Pause) {
        self.state.lock().pause = pause;
        let _ = self.nudge.send(Nudge::Look);
    }

    pub fn pause_state(&self) -> Pause {
        self.state.lock().pause
    }

    /// Each scheduled item's next run, in words ("14:05", "Mon 09:30", "paused").
    pub fn next_runs(&self) -> BTreeMap<ItemKey, String> {
        let state = self.state.lock();
        let now = Local::now();
        let mut soonest: BTreeMap<ItemKey, i64> = BTreeMap::new();
        for schedule in state.schedules.iter().filter(|s| s.enabled) {
            let Some(due) = state.due.get(&schedule.name) else {
                continue;
            };
            for key in &schedule.items {
                let entry = soonest.entry(key.clone()).or_insert(i64::MAX);
                *entry = (*entry).min(due.next_due_ms);
            }
        }
        soonest
            .into_iter()
            .map(|(key, ms)| {
                let words = match state.pause {
                    Pause::UntilResumed => "paused".to_string(),
                    _ => when_words(ms, &now),
                };
                (key, words)
            })
            .collect()
    }

    fn run(&self, runner: Runner) {
        loop {
            let (due_now, sleep) = self.look(&Local::now());
            for schedule in due_now {
                if let Err(reason) = runner(&schedule) {
                    tracing::warn!(
                        "the schedule \"{}\" could not start: {reason}",
                        schedule.name
                    );
                }
            }
            match self.nudged.recv_timeout(sleep) {
                Ok(Nudge::Quit) => return,
                Ok(Nudge::Look) | Err(_) => {}
            }
        }
    }

    /// Decides what is due now; returns it and how long to sleep.
    fn look(&self, now: &DateTime<Local>) -> (Vec<Schedule>, Duration) {
        let mut state = self.state.lock();
        let now_ms = now.timestamp_millis();
        if let Pause::Until(until) = state.pause
            && SystemTime::now() >= until
        {
            state.pause = Pause::Off;
        }
        let paused = state.pause != Pause::Off;
        let mut due_now = Vec::new();
        let mut due = DueTimes::new();
        for schedule in state.schedules.iter().filter(|s| s.enabled) {
            let plan = schedule::plan(&schedule.when, state.due.get(&schedule.name), now, paused);
            if plan.run_now {
                due_now.push(schedule.clone());
            }
            due.insert(schedule.name.clone(), plan.due);
        }
        let soonest = due.values().map(|d| d.next_due_ms).min();
        if due != state.due {
            state.due = due;
            if state.due_writable
                && let Err(e) = settings::save_due(&self.home, &state.due)
            {
                tracing::error!("could not save the schedules' due times: {e}");
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
        (due_now, sleep.max(Duration::from_millis(10)))
    }
}

/// "in 5 s" within a minute, "14:05" today, "Mon 09:30" within a week, else the date.
fn when_words(ms: i64, now: &DateTime<Local>) -> String {
    let Some(at) = DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&Local)) else {
        return String::new();
    };
    let left = (ms - now.timestamp_millis()) / 1000;
    if left < 60 {
        return format!("in {} s", left.max(0));
    }
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M").to_string()
    } else if left < 7 * 86_400 {
        at.format("%a %H:%M").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M").to_string()
    }
}
