//! The engine's one event stream, shared out: to the window while one is open, as D-Bus
//! signals to other programs, to the tray, and as desktop notifications (one summary per
//! run with problems, rate-limited) while no window is open.
//!
//! Progress is not an event (it lives on the board): while runs are going, the dispatcher
//! reads their items' state every 200 ms and signals what changed. With nothing running it
//! sleeps on the channel and costs nothing.

use crate::core::dialog::DialogRequest;
use crate::core::engine::reason_word;
use crate::core::events::Event;
use crate::core::model::{ItemKey, PropertiesOutcome, PropertiesTarget, SessionId};
use crate::core::status::ItemStatus;
use crate::core::store::{ItemResult, SessionRecord};
use crate::output::err;
use crate::resident::CenterRef;
use crate::resident::dbus::emit;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often running items' progress is signalled.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// The least time between two desktop notifications.
const NOTIFY_EVERY: Duration = Duration::from_secs(60);

/// What the main thread and the dispatcher thread share.
#[derive(Default)]
struct Shared {
    /// The open window's event channel.
    window: Option<Sender<Event>>,
    /// Dialogs that arrived with no window open: the window opens for them.
    dialogs: Vec<DialogRequest>,
    /// Notices that arrived with no window open, shown when it opens.
    notices: Vec<String>,
    /// Running sessions and their items, to bring a new window up to date.
    running: HashMap<SessionId, Vec<ItemKey>>,
}

/// Called with what the tray shows after something changed.
pub type Listener = Box<dyn Fn(&Activity) + Send>;

/// A summary of what the instance is doing, for the tray.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub running_items: usize,
    /// The last finished run failed items.
    pub last_failed: usize,
    pub open_conflicts: usize,
    /// Items whose handler needed the user (a logon) in a run that could not ask, until
    /// they sync.
    pub waiting_for_you: Vec<ItemKey>,
}

#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Mutex<Shared>>,
}

impl Dispatcher {
    /// Starts the dispatcher thread over the engine's events.
    pub fn spawn(
        center: CenterRef,
        events: Receiver<Event>,
        bus: Option<zbus::blocking::Connection>,
        listener: Listener,
    ) -> Dispatcher {
        let dispatcher = Dispatcher {
            shared: Arc::new(Mutex::new(Shared::default())),
        };
        let shared = dispatcher.shared.clone();
        std::thread::Builder::new()
            .name("dispatch".into())
            .spawn(move || {
                let mut worker = Worker {
                    center,
                    shared,
                    bus,
                    listener,
                    shown: HashMap::new(),
                    activity: Activity::default(),
                    throttle: Throttle::default(),
                };
                worker.run(events);
            })
            .expect("spawn the dispatcher");
        dispatcher
    }

    /// A window opens: its event channel, already holding what it must know (runs going
    /// on, dialogs waiting), and the notices it should show.
    pub fn open_window(&self) -> (Receiver<Event>, Vec<String>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut shared = self.shared.lock();
        for (session, items) in &shared.running {
            let _ = tx.send(Event::SessionStarted {
                session: *session,
                items: items.clone(),
            });
        }
        for dialog in shared.dialogs.drain(..) {
            let _ = tx.send(Event::Dialog(dialog));
        }
        shared.window = Some(tx);
        (rx, std::mem::take(&mut shared.notices))
    }

    pub fn close_window(&self) {
        self.shared.lock().window = None;
    }
}

/// An item's status, text and work as last signalled.
type Shown = (ItemStatus, String, Option<(u64, u64)>);

struct Worker {
    center: CenterRef,
    shared: Arc<Mutex<Shared>>,
    bus: Option<zbus::blocking::Connection>,
    listener: Listener,
    /// What was last signalled per item.
    shown: HashMap<ItemKey, Shown>,
    activity: Activity,
    throttle: Throttle,
}

impl Worker {
    fn run(&mut self, events: Receiver<Event>) {
        let mut last_progress = Instant::now();
        loop {
            let running = !self.shared.lock().running.is_empty();
            let next = if running {
                events.recv_timeout(PROGRESS_EVERY.saturating_sub(last_progress.elapsed()))
            } else {
                events.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            match next {
                Ok(event) => self.on_event(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                self.signal_progress();
                last_progress = Instant::now();
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match &event {
            Event::SessionStarted { session, items }
            | Event::SessionItemsAdded { session, items } => {
                let reason = self
                    .center
                    .engine
                    .session(*session)
                    .map(|s| reason_word(s.reason()).to_string())
                    .unwrap_or_default();
                self.shared
                    .lock()
                    .running
                    .entry(*session)
                    .or_default()
                    .extend(items.iter().cloned());
                self.center.runs_started(items);
                if let Some(bus) = &self.bus {
                    let names: Vec<String> = items.iter().map(|k| k.to_string()).collect();
                    emit(bus, "SessionStarted", &(session.0, reason, names));
                }
                self.activity.running_items = self.running_items();
                (self.listener)(&self.activity);
            }
            Event::Log(entry) => {
                if let Some(bus) = &self.bus {
                    let level = entry.level.to_string();
                    emit(
                        bus,
                        "LogLine",
                        &(entry.session.0, level, &entry.handler_name, &entry.text),
                    );
                }
            }
            Event::SessionFinished(record) => self.finished(record),
            Event::PropertiesClosed {
                handler,
                target: PropertiesTarget::Item(item),
                outcome: Ok(PropertiesOutcome::ItemDeleted),
            } => self.center.forget_item(&ItemKey {
                handler: handler.clone(),
                item: item.clone(),
            }),
            // Also where a background instance's output goes (the session's journal).
            Event::Notice(text) => err!("synccenter: {text}"),
            Event::ConflictsChanged => {
                self.activity.open_conflicts = open_conflicts(&self.center, None);
                (self.listener)(&self.activity);
            }
            _ => {}
        }
        self.forward(event);
    }

    /// Hands the event to the window; a dialog with no window opens one.
    fn forward(&mut self, event: Event) {
        let mut shared = self.shared.lock();
        if let Some(window) = &shared.window {
            match window.send(event) {
                Ok(()) => return,
                Err(crossbeam_channel::SendError(event)) => {
                    shared.window = None;
                    drop(shared);
                    return self.forward(event);
                }
            }
        }
        match event {
            Event::Dialog(request) => {
                shared.dialogs.push(request);
                drop(shared);
                // A handler waits on the user: the window opens for it.
                let _ = self.center.show_window();
            }
            Event::DialogClosed(id) => shared.dialogs.retain(|d| d.id != id),
            Event::Notice(text) => shared.notices.push(text),
            _ => {}
        }
    }

    fn running_items(&self) -> usize {
        self.shared.lock().running.values().map(Vec::len).sum()
    }

    fn finished(&mut self, record: &SessionRecord) {
        self.signal_progress();
        self.shared.lock().running.remove(&record.id);
        self.center.runs_ended(record);
        let conflicts = open_conflicts(&self.center, Some(record));
        if let Some(bus) = &self.bus {
            let json = serde_json::to_string(record).expect("records serialize");
            emit(
                bus,
                "SessionFinished",
                &(record.id.0, conflicts as u32, json),
            );
        }
        for item in &record.items {
            self.shown.remove(&item.key);
        }
        let names = |keep: &dyn Fn(&ItemResult) -> bool| -> Vec<&str> {
            record
                .items
                .iter()
                .filter(|i| keep(i))
                .map(|i| i.name.as_str())
                .collect()
        };
        let failed = names(&|i| i.status == ItemStatus::Failed);
        let waiting = names(&|i| i.could_not_ask && i.status != ItemStatus::Succeeded);
        waiting_after(&mut self.activity.waiting_for_you, record);
        self.activity.last_failed = failed.len();
        self.activity.open_conflicts = open_conflicts(&self.center, None);
        self.activity.running_items = self.running_items();
        (self.listener)(&self.activity);
        let bad = !failed.is_empty() || !waiting.is_empty() || conflicts > 0;
        if bad && !self.center.window_is_open() {
            self.notify(&failed, &waiting, conflicts);
        }
    }

    /// One summary per run with problems, at most one a minute; the ones held back are
    /// counted into the next.
    fn notify(&mut self, failed: &[&str], waiting: &[&str], conflicts: usize) {
        let Some(held_back) = self.throttle.allow(Instant::now()) else {
            return;
        };
        let mut body = Vec::new();
        let not_waiting: Vec<&str> = failed
            .iter()
            .filter(|name| !waiting.contains(name))
            .copied()
            .collect();
        if !not_waiting.is_empty() {
            body.push(format!("Not synchronized: {}.", not_waiting.join(", ")));
        }
        if !waiting.is_empty() {
            body.push(format!("Waiting for your answer: {}.", waiting.join(", ")));
        }
        if conflicts > 0 {
            body.push(if conflicts == 1 {
                "1 conflict needs your decision.".to_string()
            } else {
                format!("{conflicts} conflicts need your decision.")
            });
        }
        if held_back > 0 {
            body.push(format!("{held_back} earlier run(s) had problems too."));
        }
        body.push("Open Sync Center to see what happened.".into());
        crate::window::notify::desktop("Synchronization had problems".into(), body.join(" "));
    }

    /// Signals every running item whose state changed since it was last signalled.
    fn signal_progress(&mut self) {
        let running: Vec<(SessionId, Vec<ItemKey>)> = self
            .shared
            .lock()
            .running
            .iter()
            .map(|(s, items)| (*s, items.clone()))
            .collect();
        for (session, items) in running {
            for key in items {
                let Some(snapshot) = self.center.engine.board().snapshot(&key) else {
                    continue;
                };
                if snapshot.session != Some(session) {
                    continue;
                }
                let text = match &snapshot.wait {
                    Some(reason) => reason.to_string(),
                    None => snapshot.text.clone(),
                };
                let now = (snapshot.status, text.clone(), snapshot.measure);
                if self.shown.get(&key) == Some(&now) {
                    continue;
                }
                self.shown.insert(key.clone(), now);
                if let Some(bus) = &self.bus {
                    let (completed, total) = snapshot.measure.unwrap_or((0, 0));
                    let name = self.center.engine.item_name(&key);
                    let status = snapshot.status.word();
                    emit(
                        bus,
                        "ItemProgress",
                        &(
                            session.0,
                            key.to_string(),
                            name,
                            status,
                            text,
                            completed,
                            total,
                        ),
                    );
                }
            }
        }
    }
}

/// At most one notification per [`NOTIFY_EVERY`], pure: the ones held back are counted.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Option<Instant>,
    held_back: usize,
}

impl Throttle {
    /// Whether a notification may go now; if so, how many were held back since the last.
    pub fn allow(&mut self, now: Instant) -> Option<usize> {
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < NOTIFY_EVERY)
        {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

/// The items waiting for the user after a run: the ones whose handler could not ask (and
/// that did not get done anyway) join; the ones that synced leave.
pub fn waiting_after(waiting: &mut Vec<ItemKey>, record: &SessionRecord) {
    for item in &record.items {
        let waits = item.could_not_ask && item.status != ItemStatus::Succeeded;
        let listed = waiting.contains(&item.key);
        if waits && !listed {
            waiting.push(item.key.clone());
        } else if item.status == ItemStatus::Succeeded && listed {
            waiting.retain(|k| *k != item.key);
        }
    }
}

/// Unresolved conflicts, of one run's items or of all.
fn open_conflicts(center: &CenterRef, record: Option<&SessionRecord>) -> usize {
    center
        .engine
        .store()
        .conflicts()
        .iter()
        .filter(|c| c.resolution.is_none())
        .filter(|c| record.is_none_or(|r| r.items.iter().any(|i| i.key == c.item)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_throttled_and_count_what_was_held_back() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        // (seconds after the first, allowed with this many held back?)
        let cases = [
            (0, Some(0)),
            (10, None),
            (59, None),
            (60, Some(2)),
            (61, None),
            (200, Some(1)),
            (400, Some(0)),
        ];
        let mut throttle = Throttle::default();
        for (at, expected) in cases {
            assert_eq!(throttle.allow(t0 + s(at)), expected, "at {at} s");
        }
    }

    #[test]
    fn items_wait_for_the_user_only_when_their_handler_could_not_ask() {
        use crate::core::store::ItemResult;
        let result = |item: &str, status, could_not_ask| ItemResult {
            key: ItemKey::new("h", item),
            name: item.into(),
            handler_name: "H".into(),
            status,
            text: String::new(),
            started: None,
            ended: None,
            activity: Default::default(),
            problems: Default::default(),
            could_not_ask,
        };
        let record = |items| SessionRecord {
            id: SessionId(1),
            reason: "invoked".into(),
            started: std::time::SystemTime::UNIX_EPOCH,
            finished: std::time::SystemTime::UNIX_EPOCH,
            items,
            log: Vec::new(),
        };
        let mut waiting = Vec::new();
        waiting_after(
            &mut waiting,
            &record(vec![
                result("logon", ItemStatus::Failed, true),
                result("scheduled", ItemStatus::Waiting, true),
                result("full-disk", ItemStatus::Failed, false),
                result("fine", ItemStatus::Succeeded, false),
                result("managed", ItemStatus::Succeeded, true),
            ]),
        );
        let keys = |names: &[&str]| -> Vec<ItemKey> {
            names.iter().map(|n| ItemKey::new("h", *n)).collect()
        };
        assert_eq!(waiting, keys(&["logon", "scheduled"]));
        // Failing again, or failing otherwise, keeps it once; syncing ends the wait.
        waiting_after(
            &mut waiting,
            &record(vec![
                result("logon", ItemStatus::Failed, true),
                result("scheduled", ItemStatus::Failed, false),
            ]),
        );
        assert_eq!(waiting, keys(&["logon", "scheduled"]));
        waiting_after(
            &mut waiting,
            &record(vec![result("logon", ItemStatus::Succeeded, false)]),
        );
        assert_eq!(waiting, keys(&["scheduled"]));
    }
}
