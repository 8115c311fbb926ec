//! `synccenter sync` while Sync Center runs: the run goes to the running instance of the
//! home, and the terminal follows it from the instance's signals — the same bars, result
//! lines and exit codes as a run of its own. Without an instance (or without a session
//! bus: ssh, CI) the terminal runs the engine itself under the home's engine lock; a second
//! terminal sync waits for the first, saying so, and a home held by an instance this
//! terminal cannot reach is refused.

use crate::cli::bars::{Bars, ItemState};
use crate::cli::interrupt::{self, Caught};
use crate::cli::sync::words_of_line;
use crate::cli::{SyncArgs, may_prompt, report_outcome, report_unlisted, say_unlisted};
use crate::core::store::{Home, SessionRecord};
use crate::exit_code;
use crate::output::err;
use crate::resident::client::{Instance, Items, News};
use crate::resident::lock::{self, Attempt, EngineLock, Holder};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a terminal sync looks for an instance that holds the home's lock but is not on
/// the bus yet (it is starting).
const INSTANCE_STARTING: Duration = Duration::from_secs(5);

/// Where a terminal sync runs.
pub enum Where {
    /// The running instance ran it (or nothing could run): the exit code.
    HandedOff(u8),
    /// In this process, holding the home's engine lock while it runs.
    Here(EngineLock),
}

/// Hands the sync to the running instance, or takes the home's engine lock to run it here.
pub fn decide(home: &Home, args: &SyncArgs) -> Where {
    if let Some(instance) = Instance::find(home) {
        return Where::HandedOff(hand_off(&instance, args));
    }
    let attempt = match lock::try_acquire(home, Holder::Terminal) {
        Ok(attempt) => attempt,
        Err(e) => {
            err!("synccenter: {e}");
            return Where::HandedOff(exit_code::NOTHING_RAN);
        }
    };
    let (owner, waiter) = match attempt {
        Attempt::Acquired(lock) => return Where::Here(lock),
        Attempt::Held { owner, waiter } => (owner, waiter),
    };
    if let Some(owner) = owner.filter(|o| o.holder == Holder::Instance) {
        // The instance may be starting: give it a moment to appear on the bus.
        let deadline = Instant::now() + INSTANCE_STARTING;
        while Instant::now() < deadline {
            if let Some(instance) = Instance::find(home) {
                return Where::HandedOff(hand_off(&instance, args));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        err!(
            "synccenter: Sync Center (process {}) is running on this home, but this terminal cannot reach it over the session bus. Sync from its window or run this command in its desktop session, or quit it first.",
            owner.pid
        );
        return Where::HandedOff(exit_code::NOTHING_RAN);
    }
    let who = owner.map_or_else(
        || "another `synccenter sync`".to_string(),
        |o| format!("another `synccenter sync` (process {})", o.pid),
    );
    err!(
        "synccenter: {who} is synchronizing this home; waiting for it to finish (Ctrl+C gives up)…"
    );
    match waiter.wait() {
        Ok(lock) => Where::Here(lock),
        Err(e) => {
            err!("synccenter: {e}");
            Where::HandedOff(exit_code::NOTHING_RAN)
        }
    }
}

/// Runs `sync` in the instance and follows it; returns the exit code.
fn hand_off(instance: &Instance, args: &SyncArgs) -> u8 {
    // Ctrl+C is caught from before the request: pressed while the instance lists the
    // items, it stops the run as soon as the run has a number.
    let caught = interrupt::catch();
    let news = match instance.listen() {
        Ok(news) => news,
        Err(e) => {
            err!("synccenter: cannot follow the running Sync Center: {e}");
            return exit_code::NOTHING_RAN;
        }
    };
    let items = if args.all {
        Items::All
    } else {
        Items::Named(&args.items)
    };
    let prompt = may_prompt(args);
    let run = match instance.sync(items, prompt) {
        Ok(run) => run,
        Err(reason) => {
            err!("synccenter: {reason}");
            return exit_code::NOTHING_RAN;
        }
    };
    say_unlisted(&run.unlisted);
    let dialogs = if prompt {
        " Its window shows any dialog a handler needs."
    } else {
        ""
    };
    err!("Synchronizing in the running Sync Center (Ctrl+C stops the run).{dialogs}");
    match follow(instance, run.session, &news, &caught) {
        Followed::Ended {
            record: Ok(record),
            open_conflicts,
        } => {
            let code = report_outcome(&record, open_conflicts);
            report_unlisted(run.unlisted.len(), code)
        }
        Followed::Ended { record: Err(e), .. } => {
            err!("synccenter: the run ended, but its record could not be read: {e}");
            exit_code::FAILED
        }
        Followed::Gone => {
            err!(
                "synccenter: Sync Center quit before the run ended; `synccenter results` shows what was done."
            );
            exit_code::FAILED
        }
        // Stopped by the user, and left to the instance to finish stopping.
        Followed::Left => exit_code::INCOMPLETE,
    }
}

/// How following a run ended.
enum Followed {
    /// The run ended: its record (or why it could not be read), and its open conflicts.
    Ended {
        record: Result<SessionRecord, String>,
        open_conflicts: usize,
    },
    /// The instance quit first.
    Gone,
    /// Ctrl+C twice: the terminal stopped following the run it asked to stop.
    Left,
}

/// Shows the run's progress from the instance's news until it ends.
fn follow(instance: &Instance, session: u64, news: &Receiver<News>, caught: &Caught) -> Followed {
    let mut bars = Bars::new();
    let mut stopping = false;
    let outcome = loop {
        if caught.count() >= 1 && !stopping {
            stopping = true;
            bars.say(
                "Stopping… (the handlers finish what they are doing; Ctrl+C again leaves Sync Center to it)",
            );
            if let Err(e) = instance.stop(session) {
                bars.say(&format!("The run could not be stopped: {e}"));
            }
        }
        if caught.count() >= 2 {
            bars.say(
                "Sync Center goes on stopping the run; `synccenter results` shows how it ended.",
            );
            break Followed::Left;
        }
        let next = match news.recv_timeout(Duration::from_millis(100)) {
            Ok(next) => next,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break Followed::Gone,
        };
        match next {
            News::Gone => break Followed::Gone,
            News::Progress {
                session: s,
                key,
                name,
                status,
                text,
                measure,
            } if s == session => {
                bars.add(&key, &name);
                bars.show(
                    &key,
                    ItemState {
                        status,
                        text: &text,
                        wait: None,
                        measure,
                    },
                );
                bars.update_overall();
            }
            News::Log {
                session: s,
                level,
                handler_name,
                text,
            } if s == session => bars.say(&words_of_line(&level, &handler_name, &text)),
            News::Finished {
                session: s,
                open_conflicts,
                record,
            } if s == session => {
                break Followed::Ended {
                    record,
                    open_conflicts,
                };
            }
            _ => {}
        }
    };
    bars.finish(stopping);
    outcome
}
