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
use crate::core::model::{ItemKey, SessionId};
use crate::core::status::ItemStatus;
use crate::core::store::SessionRecord;
use crate::resident::dbus::emit;
use crate::resident::{CenterRef, Wish};
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
    /// Items that a run which could not ask left failing (a logon they need).
    pub needs_you: Vec<ItemKey>,
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
            Event::HandlerListed { handler, items, .. } => {
                let keys = items
                    .iter()
                    .map(|i| {
                        (
                            ItemKey {
                                handler: handler.clone(),
                                item: i.id.clone(),
                            },
                            i.checked_by_default,
                        )
                    })
                    .collect();
                self.center
                    .catalog
                    .write()
                    .items
                    .insert(handler.clone(), keys);
            }
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
            // Also where a background instance's output goes (the session's journal).
            Event::Notice(text) => eprintln!("synccenter: {text}"),
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
                self.center.wish(Wish::ShowWindow);
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
        let failed: Vec<&str> = record
            .items
            .iter()
            .filter(|i| i.status == ItemStatus::Failed)
            .map(|i| i.name.as_str())
            .collect();
        if record.reason == "scheduled" || record.reason == "idle" || record.reason == "change" {
            // Items of a run that could not ask are offered to answer from the tray.
            let mut needs: Vec<ItemKey> = record
                .items
                .iter()
                .filter(|i| i.status == ItemStatus::Failed)
                .map(|i| i.key.clone())
                .collect();
            needs.retain(|k| !self.activity.needs_you.contains(k));
            self.activity.needs_you.extend(needs);
        }
        let succeeded: Vec<&ItemKey> = record
            .items
            .iter()
            .filter(|i| i.status == ItemStatus::Succeeded)
            .map(|i| &i.key)
            .collect();
        self.activity.needs_you.retain(|k| !succeeded.contains(&k));
        self.activity.last_failed = failed.len();
        self.activity.open_conflicts = open_conflicts(&self.center, None);
        self.activity.running_items = self.running_items();
        (self.listener)(&self.activity);
        if (!failed.is_empty() || conflicts > 0) && !self.center.window_is_open() {
            self.notify(&failed, conflicts);
        }
    }

    /// One summary per run with problems, at most one a minute; the ones held back are
    /// counted into the next.
    fn notify(&mut self, failed: &[&str], conflicts: usize) {
        let Some(held_back) = self.throttle.allow(Instant::now()) else {
            return;
        };
        let mut body = Vec::new();
        if !failed.is_empty() {
            body.push(format!("Not synchronized: {}.", failed.join(", ")));
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
                    let status = status_word(snapshot.status);
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

const STATUS_WORDS: [(ItemStatus, &str); 8] = [
    (ItemStatus::Pending, "pending"),
    (ItemStatus::Waiting, "waiting"),
    (ItemStatus::Updating, "updating"),
    (ItemStatus::Indeterminate, "indeterminate"),
    (ItemStatus::Succeeded, "succeeded"),
    (ItemStatus::Failed, "failed"),
    (ItemStatus::Skipped, "skipped"),
    (ItemStatus::Canceled, "canceled"),
];

/// The word used for a status on the bus.
pub fn status_word(status: ItemStatus) -> &'static str {
    STATUS_WORDS
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("pending", |(_, word)| word)
}

/// The status a bus word stands for.
pub fn status_from_word(word: &str) -> Option<ItemStatus> {
    STATUS_WORDS
        .iter()
        .find(|(_, w)| *w == word)
        .map(|(s, _)| *s)
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
    fn every_status_has_a_word_that_reads_back() {
        for (status, word) in STATUS_WORDS {
            assert_eq!(status_word(status), word);
            assert_eq!(status_from_word(word), Some(status));
        }
        assert_eq!(status_from_word("bogus"), None);
    }
}
