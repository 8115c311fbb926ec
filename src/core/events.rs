//! What the core tells its front ends: discrete events on one channel, plus a waker so a
//! front end that sleeps (the window) is woken when there is news.
//!
//! Progress is not an event: it would flood the channel. It lives in the [`Board`]
//! (latest value per item), and only the wakeup travels.
//!
//! [`Board`]: crate::core::board::Board

use crate::core::dialog::{DialogId, DialogRequest};
use crate::core::model::{
    HandlerId, HandlerInfo, ItemInfo, ItemKey, LogEntry, LogId, PropertiesOutcome, SessionId,
};
use crate::core::store::SessionRecord;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::RwLock;
use std::sync::Arc;

#[derive(Debug)]
pub enum Event {
    /// A handler's items, listed at start, after properties changed them, or before a run.
    HandlerListed {
        handler: HandlerId,
        info: HandlerInfo,
        items: Vec<ItemInfo>,
    },
    /// A handler could not be asked for its items; the reason in plain words.
    HandlerUnavailable {
        handler: HandlerId,
        name: String,
        error: String,
    },
    SessionStarted {
        session: SessionId,
        items: Vec<ItemKey>,
    },
    /// Items joined a running session (a retry after ShowError).
    SessionItemsAdded {
        session: SessionId,
        items: Vec<ItemKey>,
    },
    Log(LogEntry),
    /// Lines a handler retracted (DeleteLogError).
    LogDeleted {
        ids: Vec<LogId>,
    },
    /// A dialog to show now. At most one is open at a time (the broker sees to it).
    Dialog(DialogRequest),
    /// The dialog was closed by the core (its session stopped): take it down.
    DialogClosed(DialogId),
    PropertiesClosed {
        handler: HandlerId,
        outcome: Result<PropertiesOutcome, String>,
    },
    ConflictsChanged,
    SessionFinished(SessionRecord),
    /// Runs another process on the same home recorded (a `synccenter sync` in a terminal).
    RunsRecorded(Vec<SessionRecord>),
    /// Something the user should read once, in plain words (a state file moved aside, a
    /// save that failed).
    Notice(String),
}

/// Wakes a front end; must be cheap and must not block.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// The sending half, shared by everything in the core.
#[derive(Clone)]
pub struct Bus {
    tx: Sender<Event>,
    waker: Arc<RwLock<Option<Waker>>>,
}

impl Bus {
    pub fn new() -> (Self, Receiver<Event>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let bus = Self {
            tx,
            waker: Arc::new(RwLock::new(None)),
        };
        (bus, rx)
    }

    pub fn set_waker(&self, waker: Waker) {
        *self.waker.write() = Some(waker);
    }

    pub fn send(&self, event: Event) {
        // Nobody listening is fine: a dropped dialog answers "canceled" by itself.
        let _ = self.tx.send(event);
        self.wake();
    }

    pub fn wake(&self) {
        if let Some(waker) = self.waker.read().as_ref() {
            waker();
        }
    }
}
