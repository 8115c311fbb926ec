//! The live state of every item: the latest status, text and progress figures, one slot per
//! item. Handlers write it at full speed; front ends read what changed since they last
//! looked. Memory is bounded by the number of items, whatever the rate of progress calls.

use crate::core::events::{Bus, Wake};
use crate::core::figures::Figures;
use crate::core::model::{ItemKey, SessionId};
use crate::core::progress::{ProgressError, Stage, WorkAccounting, WorkReport};
use crate::core::status::{ItemStatus, WaitReason};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

/// What the user asked for an item that the handler has not acted on yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserRequest {
    Skip,
    Stop,
}

/// A copy of one item's live state.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemSnapshot {
    pub session: Option<SessionId>,
    pub status: ItemStatus,
    pub wait: Option<WaitReason>,
    pub text: String,
    /// (completed, total) when the amount of work is known: Sync Framework's work, or
    /// further along when the handler's figures say so (`Figures::further`).
    pub measure: Option<(u64, u64)>,
    pub stage: Option<Stage>,
    pub changes_applied: u64,
    pub request: Option<UserRequest>,
    /// The stage, files and bytes as the handler last reported them.
    pub figures: Option<Figures>,
}

/// The mutable part of a slot.
#[derive(Debug)]
pub(crate) struct Live {
    pub session: Option<SessionId>,
    pub status: ItemStatus,
    pub wait: Option<WaitReason>,
    pub text: String,
    pub measure: Option<(u64, u64)>,
    pub stage: Option<Stage>,
    pub request: Option<UserRequest>,
    pub figures: Option<Figures>,
    pub accounting: WorkAccounting,
    /// The handler called about this item in this run (progress, work or check): it has
    /// reached it.
    pub reached: bool,
    /// The user's request was told to the handler (an answer it heard, or a notification).
    pub request_delivered: bool,
    /// The handler asked to show a dialog about this item and was refused: the run may not
    /// bother the user.
    pub could_not_ask: bool,
    /// The stop timeout runs for the request: it was told, and the handler had reached the
    /// item. A request for an item the handler has not reached waits without a clock.
    pub clock_started: bool,
    /// When the handler first reported about the item in this run.
    pub started_at: Option<SystemTime>,
    /// When the item reached its final status.
    pub ended_at: Option<SystemTime>,
    /// Where this run's final state goes if a later run takes the item over.
    handover: Option<Arc<OnceLock<Ended>>>,
}

/// How an item ended in a run, kept for that run when a later run took the item over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    pub status: ItemStatus,
    pub text: String,
    pub started: Option<SystemTime>,
    pub at: Option<SystemTime>,
    /// The handler was refused a dialog about the item (`Live::could_not_ask`).
    pub could_not_ask: bool,
}

/// A status change that Vista's rule refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleViolation {
    pub was: ItemStatus,
    pub wanted: ItemStatus,
}

impl Live {
    fn idle() -> Self {
        Self {
            session: None,
            status: ItemStatus::Pending,
            wait: None,
            text: String::new(),
            measure: None,
            stage: None,
            request: None,
            figures: None,
            accounting: WorkAccounting::new(),
            reached: false,
            request_delivered: false,
            could_not_ask: false,
            clock_started: false,
            started_at: None,
            ended_at: None,
            handover: None,
        }
    }

    fn ended(&self) -> Ended {
        Ended {
            status: self.status,
            text: self.text.clone(),
            started: self.started_at,
            at: self.ended_at,
            could_not_ask: self.could_not_ask,
        }
    }

    /// The handler reported about the item: it started, if it had not yet.
    pub fn reached(&mut self) {
        self.reached = true;
        self.started_at.get_or_insert_with(SystemTime::now);
    }

    /// Changes the status under Vista's rule. A refused change leaves the item failed. An
    /// item that ends drops its running text ("Downloading 5 of 20…", "Stopping…"): what it
    /// ends with is the text given with or after its final status.
    pub fn set_status(&mut self, status: ItemStatus) -> Result<(), RuleViolation> {
        if !self.status.may_become(status) {
            let violation = RuleViolation {
                was: self.status,
                wanted: status,
            };
            self.status = ItemStatus::Failed;
            return Err(violation);
        }
        if status != ItemStatus::Waiting {
            self.wait = None;
        }
        if status.is_terminal() && !self.status.is_terminal() {
            self.ended_at = Some(SystemTime::now());
            self.text.clear();
        }
        self.status = status;
        Ok(())
    }

    pub fn set_text(&mut self, text: &str) {
        if self.text != text {
            self.text.clear();
            self.text.push_str(text);
        }
    }

    pub fn apply_work(&mut self, report: WorkReport) -> Result<(), ProgressError> {
        let event = self
            .accounting
            .apply(report)?
            .unwrap_or_else(|| self.accounting.current());
        self.stage = Some(event.stage);
        // Detection and enumeration figures are not the item's progress: a marquee.
        self.measure = event.measure();
        Ok(())
    }

    fn snapshot(&self) -> ItemSnapshot {
        ItemSnapshot {
            session: self.session,
            status: self.status,
            wait: self.wait.clone(),
            text: self.text.clone(),
            measure: match &self.figures {
                Some(figures) => figures.further(self.measure),
                None => self.measure,
            },
            stage: self.stage,
            changes_applied: self.accounting.changes_applied(),
            request: self.request,
            figures: self.figures.clone(),
        }
    }
}

struct Shared {
    news: AtomicBool,
    bus: Bus,
}

/// One item's live state.
pub struct ItemSlot {
    pub key: ItemKey,
    live: Mutex<Live>,
    dirty: AtomicBool,
    shared: Arc<Shared>,
}

impl ItemSlot {
    /// Changes the live state and lets the front ends know, waking them at most once
    /// between two looks.
    fn update<R>(&self, change: impl FnOnce(&mut Live) -> R) -> R {
        let result = change(&mut self.live.lock());
        self.mark_changed();
        result
    }

    fn mark_changed(&self) {
        if !self.dirty.load(Ordering::Relaxed)
            && !self.dirty.swap(true, Ordering::AcqRel)
            && !self.shared.news.swap(true, Ordering::AcqRel)
        {
            self.shared.bus.wake(Wake::Soon);
        }
    }

    pub fn snapshot(&self) -> ItemSnapshot {
        self.live.lock().snapshot()
    }
}

/// An item's slot as one run sees it: changes and reads apply only while that run owns the
/// item, so a run the engine gave up on can never touch the state of a later run.
#[derive(Clone)]
pub(crate) struct RunSlot {
    slot: Arc<ItemSlot>,
    session: SessionId,
    /// How the item ended in this run, set when a later run takes it over.
    displaced: Arc<OnceLock<Ended>>,
}

impl RunSlot {
    /// Changes the item if this run still owns it.
    pub fn update<R>(&self, change: impl FnOnce(&mut Live) -> R) -> Option<R> {
        let result = {
            let mut live = self.slot.live.lock();
            if live.session != Some(self.session) {
                return None;
            }
            change(&mut live)
        };
        self.slot.mark_changed();
        Some(result)
    }

    /// Looks at the item if this run still owns it.
    pub fn read<R>(&self, look: impl FnOnce(&Live) -> R) -> Option<R> {
        let live = self.slot.live.lock();
        (live.session == Some(self.session)).then(|| look(&live))
    }

    /// How the item ended in this run: its state now while the run owns it, or the state it
    /// had when a later run took it over (which changes nothing of this run's result).
    pub fn ended(&self) -> Option<Ended> {
        self.read(Live::ended)
            .or_else(|| self.displaced.get().cloned())
    }
}

/// All item slots.
pub struct Board {
    slots: RwLock<HashMap<ItemKey, Arc<ItemSlot>>>,
    shared: Arc<Shared>,
}

impl Board {
    pub fn new(bus: Bus) -> Self {
        Self {
            slots: RwLock::new(HashMap::new()),
            shared: Arc::new(Shared {
                news: AtomicBool::new(false),
                bus,
            }),
        }
    }

    fn new_slot(&self, key: &ItemKey) -> Arc<ItemSlot> {
        Arc::new(ItemSlot {
            key: key.clone(),
            live: Mutex::new(Live::idle()),
            dirty: AtomicBool::new(false),
            shared: self.shared.clone(),
        })
    }

    /// The slot of an item, made on first use.
    fn slot(&self, key: &ItemKey) -> Arc<ItemSlot> {
        if let Some(slot) = self.slots.read().get(key) {
            return slot.clone();
        }
        let slot = self
            .slots
            .write()
            .entry(key.clone())
            .or_insert_with(|| self.new_slot(key))
            .clone();
        slot.mark_changed();
        slot
    }

    /// Hands an item to a new run of `session`, starting from a clean state. The run it
    /// belonged to before can no longer change it.
    pub(crate) fn begin_run(&self, key: &ItemKey, session: SessionId) -> RunSlot {
        let slot = self.slot(key);
        let displaced = Arc::new(OnceLock::new());
        slot.update(|live| {
            if let Some(previous) = live.handover.take() {
                let _ = previous.set(live.ended());
            }
            *live = Live::idle();
            live.session = Some(session);
            live.handover = Some(displaced.clone());
        });
        RunSlot {
            slot,
            session,
            displaced,
        }
    }

    /// A slot that is not on the board, for an item a dialog is about (properties) while
    /// the item itself may be running elsewhere.
    pub(crate) fn detached(&self, key: &ItemKey, session: SessionId) -> RunSlot {
        let slot = self.new_slot(key);
        slot.live.lock().session = Some(session);
        RunSlot {
            slot,
            session,
            displaced: Arc::new(OnceLock::new()),
        }
    }

    pub fn snapshot(&self, key: &ItemKey) -> Option<ItemSnapshot> {
        self.slots.read().get(key).map(|slot| slot.snapshot())
    }

    /// The items that changed since the last call, with their state now.
    pub fn take_changed(&self) -> Vec<(ItemKey, ItemSnapshot)> {
        self.shared.news.store(false, Ordering::Release);
        self.slots
            .read()
            .values()
            .filter(|slot| slot.dirty.swap(false, Ordering::AcqRel))
            .map(|slot| (slot.key.clone(), slot.snapshot()))
            .collect()
    }
}
