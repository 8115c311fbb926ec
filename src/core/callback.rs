//! The host's side of the contract (ISyncMgrSynchronizeCallback): what a handler may call
//! while it prepares, synchronizes or shows a dialog. Progress goes straight to the item's
//! slot on the board; every answer carries the user's skip and stop requests back.

use crate::core::activity::{Activity, ActivityLog};
use crate::core::board::{Live, RunSlot, UserRequest};
use crate::core::conflicts::{ConflictReport, Resolution};
use crate::core::dialog::{DialogRequest, Form, FormReply, UiRefused};
use crate::core::engine::Core;
use crate::core::events::Event;
use crate::core::figures::Figures;
use crate::core::model::{
    HandlerId, ItemId, ItemKey, LogEntry, LogId, LogLevel, RunContext, SessionId,
};
use crate::core::progress::{ProgressError, WorkReport};
use crate::core::status::{ItemStatus, WaitReason};
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The answer to every progress call (S_OK, S_SYNCMGR_CANCELITEM, S_SYNCMGR_CANCELALL, and
/// SetItemStatus(SKIPPED) delivered at the next call).
///
/// A handler honors `SkipItem` and `CancelItem` by reporting the item `Skipped` or
/// `Canceled`, or simply by going on with another item: its next call about another item
/// says it has left this one, and the item ends as the user asked. Going on working on the
/// item itself for longer than the stop timeout fails it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    Continue,
    /// The user skipped this item: leave it as it is and go on with the next.
    SkipItem,
    /// The user stopped this item: stop it as soon as possible and go on with the next.
    CancelItem,
    /// The user stopped everything: stop all items of this handler.
    CancelAll,
}

impl Reply {
    pub fn should_stop(self) -> bool {
        self != Reply::Continue
    }

    /// The final status that acknowledges this reply for the item it was about.
    pub fn final_status(self) -> Option<ItemStatus> {
        match self {
            Reply::Continue => None,
            Reply::SkipItem => Some(ItemStatus::Skipped),
            Reply::CancelItem | Reply::CancelAll => Some(ItemStatus::Canceled),
        }
    }
}

/// One progress report (SYNCMGRPROGRESSITEM): each part is optional, as the mask bits are.
/// `figures` (the stage, files and bytes, the entry at hand) go beyond SyncMgr: front ends
/// put them in words and weigh the item by them in the overall bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress<'a> {
    pub text: Option<&'a str>,
    pub status: Option<ItemStatus>,
    pub value: Option<u64>,
    pub max: Option<u64>,
    pub figures: Option<&'a Figures>,
}

impl<'a> Progress<'a> {
    pub fn status(status: ItemStatus) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }
    pub fn steps(value: u64, max: u64) -> Self {
        Self {
            value: Some(value),
            max: Some(max),
            ..Self::default()
        }
    }
    pub fn text(text: &'a str) -> Self {
        Self {
            text: Some(text),
            ..Self::default()
        }
    }
    pub fn with_text(mut self, text: &'a str) -> Self {
        self.text = Some(text);
        self
    }
    pub fn with_status(mut self, status: ItemStatus) -> Self {
        self.status = Some(status);
        self
    }
    pub fn figures(figures: &'a Figures) -> Self {
        Self {
            figures: Some(figures),
            ..Self::default()
        }
    }
}

/// A line for the results (LogError + SYNCMGRLOGERRORINFO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub level: LogLevel,
    pub text: String,
    pub item: Option<ItemId>,
    pub actionable: bool,
}

impl LogLine {
    pub fn new(level: LogLevel, text: impl Into<String>) -> Self {
        Self {
            level,
            text: text.into(),
            item: None,
            actionable: false,
        }
    }
    pub fn info(text: impl Into<String>) -> Self {
        Self::new(LogLevel::Info, text)
    }
    pub fn warning(text: impl Into<String>) -> Self {
        Self::new(LogLevel::Warning, text)
    }
    pub fn error(text: impl Into<String>) -> Self {
        Self::new(LogLevel::Error, text)
    }
    pub fn item(mut self, item: &ItemId) -> Self {
        self.item = Some(item.clone());
        self
    }
    /// The user can open details for this line (SYNCMGRERRORFLAG_ENABLEJUMPTEXT → ShowError).
    pub fn actionable(mut self) -> Self {
        self.actionable = true;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("cannot reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("the run was stopped while waiting for a connection to {target}")]
    Canceled { target: String },
}

/// Lines one handler may log in one run; past it, lines are counted, not kept.
pub const MAX_LOG_LINES_PER_RUN: usize = 2000;

/// Whether the handler hears the answer to a call: only an answer it hears tells it the
/// user's skip or stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// The handler gets the reply: a call in its own process, a protocol request.
    Answered,
    /// The reply goes nowhere: a protocol notification relayed by the external host.
    Unanswered,
}

pub(crate) struct RunItem {
    pub slot: RunSlot,
    pub name: String,
}

/// One handler's part in one session (or in one properties dialog): its items, its stop
/// flags, the lines it logged.
pub(crate) struct Run {
    pub core: Arc<Core>,
    pub session: SessionId,
    pub handler: HandlerId,
    pub handler_name: RwLock<String>,
    pub context: RunContext,
    pub items: RwLock<HashMap<ItemId, RunItem>>,
    /// Item order as requested, for results.
    pub order: RwLock<Vec<ItemId>>,
    pub stop_all: AtomicBool,
    pub stop_all_at: Mutex<Option<Instant>>,
    /// How long this handler may ignore a stop: the manifest's for a handler in a process
    /// of its own, else the engine's.
    pub stop_timeout: Duration,
    /// The handler runs in a process of its own, which is ended when it is abandoned.
    pub own_process: bool,
    /// Set when the host gave up on the handler: nothing it reports counts any more.
    pub abandoned: AtomicBool,
    /// Set when the handler's thread returned from its last call (its process is gone).
    pub returned: AtomicBool,
    /// Items whose skip or stop the handler was told after reaching them, and since when:
    /// the stop timeout runs for each.
    requested_at: Mutex<HashMap<ItemId, Instant>>,
    /// How many clocks run, read without the lock on every progress call.
    clocks: AtomicUsize,
    pub log: Mutex<Vec<LogEntry>>,
    pub suppressed_lines: Mutex<usize>,
    pub warned_unknown: Mutex<HashSet<ItemId>>,
    /// The handler's mistakes told once per item and kind, so a handler repeating one
    /// cannot flood the results.
    warned: Mutex<HashSet<(ItemId, Mistake)>>,
    /// Lines go to the user as notices instead of a run's results: a properties dialog is
    /// not a run.
    lines_as_notices: bool,
    /// The UI slot this run holds and how many permits share it, so nested requests reuse
    /// it and an abandoned run can be made to give it back.
    pub ui_ticket: Mutex<Option<(u64, usize)>>,
    /// Held while this run asks for the UI slot, so that two of its threads asking at once
    /// share one slot instead of the second queuing behind the first.
    ui_gate: Mutex<()>,
    /// What the handler changed per item.
    pub activity: Mutex<HashMap<ItemId, ActivityLog>>,
    /// How many conflicts the handler last reported per item.
    pub conflicts_found: Mutex<HashMap<ItemId, u32>>,
}

/// At most this many unknown item ids are warned about, one line each.
const MAX_UNKNOWN_WARNINGS: usize = 20;

impl Run {
    pub fn new(
        core: Arc<Core>,
        session: SessionId,
        handler: HandlerId,
        name: String,
        context: RunContext,
    ) -> Self {
        let own = core
            .registry
            .read()
            .get(&handler)
            .and_then(|provider| provider.stop_timeout());
        Self {
            stop_timeout: own.unwrap_or(core.config.stop_timeout),
            own_process: own.is_some(),
            core,
            session,
            handler,
            handler_name: RwLock::new(name),
            context,
            items: RwLock::new(HashMap::new()),
            order: RwLock::new(Vec::new()),
            stop_all: AtomicBool::new(false),
            stop_all_at: Mutex::new(None),
            abandoned: AtomicBool::new(false),
            returned: AtomicBool::new(false),
            requested_at: Mutex::new(HashMap::new()),
            clocks: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            suppressed_lines: Mutex::new(0),
            warned_unknown: Mutex::new(HashSet::new()),
            warned: Mutex::new(HashSet::new()),
            lines_as_notices: false,
            ui_ticket: Mutex::new(None),
            ui_gate: Mutex::new(()),
            activity: Mutex::new(HashMap::new()),
            conflicts_found: Mutex::new(HashMap::new()),
        }
    }

    /// A run for a properties dialog: what the handler logs there is shown to the user as
    /// a notice, since there is no run in the results to put it in.
    pub fn for_dialog(mut self) -> Self {
        self.lines_as_notices = true;
        self
    }

    pub fn name(&self) -> String {
        self.handler_name.read().clone()
    }

    /// Tells whether this mistake about `item` is new, so it is noted once.
    fn first_time(&self, item: &ItemId, mistake: Mistake) -> bool {
        self.warned.lock().insert((item.clone(), mistake))
    }

    pub fn key(&self, item: &ItemId) -> ItemKey {
        ItemKey {
            handler: self.handler.clone(),
            item: item.clone(),
        }
    }

    /// Puts an item into this run, taking its slot on the board over.
    pub fn add_item(&self, item: &ItemId, name: String) {
        let slot = self.core.board.begin_run(&self.key(item), self.session);
        self.insert_item(item, name, slot);
    }

    /// Puts an item into this run with a slot of its own, off the board (properties).
    pub fn add_detached_item(&self, item: &ItemId, name: String) {
        let slot = self.core.board.detached(&self.key(item), self.session);
        self.insert_item(item, name, slot);
    }

    fn insert_item(&self, item: &ItemId, name: String, slot: RunSlot) {
        self.items
            .write()
            .insert(item.clone(), RunItem { slot, name });
        let mut order = self.order.write();
        if !order.contains(item) {
            order.push(item.clone());
        }
    }

    pub fn slot(&self, item: &ItemId) -> Option<RunSlot> {
        self.items.read().get(item).map(|i| i.slot.clone())
    }

    pub fn item_name(&self, item: &ItemId) -> String {
        self.items
            .read()
            .get(item)
            .map_or_else(|| item.to_string(), |i| i.name.clone())
    }

    pub fn item_ids(&self) -> Vec<ItemId> {
        self.order.read().clone()
    }

    pub fn is_stopped(&self) -> bool {
        self.stop_all.load(Ordering::Acquire) || self.abandoned.load(Ordering::Acquire)
    }

    /// The answer to the handler's call about `item`, which it has now reached. The stop
    /// timeout of a skip or stop starts once the handler both was told and had reached
    /// the item: a request for an item the handler has not reached yet is not being
    /// ignored.
    pub fn reply_for(&self, item: &ItemId, slot: &RunSlot, heard: Heard) -> Reply {
        self.report(item, slot, heard, |_| ()).0
    }

    /// Applies what the handler reports about `item` and answers it, under one lock of the
    /// item's slot (progress is the hot path). `None` when a later run took the item over.
    fn report<R>(
        &self,
        item: &ItemId,
        slot: &RunSlot,
        heard: Heard,
        change: impl FnOnce(&mut Live) -> R,
    ) -> (Reply, Option<R>) {
        let stopped = self.is_stopped();
        let outcome = slot.update(|live| {
            let result = change(live);
            // The handler ended the item itself: no clock to run any more.
            let ended = live.clock_started && live.status.is_terminal();
            live.reached();
            let reply = request_reply(live.request);
            if reply != Reply::Continue && heard == Heard::Answered {
                live.request_delivered = true;
            }
            (result, reply, start_clock(live), ended)
        });
        match outcome {
            Some((result, reply, started, ended)) => {
                if started {
                    self.start_clock(item);
                }
                if ended {
                    self.stop_clock(item);
                }
                let reply = if stopped { Reply::CancelAll } else { reply };
                (reply, Some(result))
            }
            // A later run took the item over after it ended here: nothing more to do on it.
            None if stopped => (Reply::CancelAll, None),
            None => (Reply::SkipItem, None),
        }
    }

    /// The user's request for `item` as it stands, without the handler hearing of it: what
    /// a host relaying requests looks at before it tells the handler.
    pub fn request_now(&self, item: &ItemId) -> Reply {
        if self.is_stopped() {
            return Reply::CancelAll;
        }
        self.slot(item)
            .and_then(|slot| slot.read(|live| request_reply(live.request)))
            // Taken over by a later run: nothing for this one to hear.
            .unwrap_or(Reply::Continue)
    }

    /// The handler was told `reply` about `item` by other means (a notification).
    pub fn mark_told(&self, item: &ItemId, reply: Reply) {
        if !matches!(reply, Reply::SkipItem | Reply::CancelItem) {
            return;
        }
        let Some(slot) = self.slot(item) else {
            return;
        };
        let started = slot.update(|live| {
            if request_reply(live.request) != reply {
                return false;
            }
            live.request_delivered = true;
            start_clock(live)
        });
        if started == Some(true) {
            self.start_clock(item);
        }
    }

    /// The handler called about `item`: any other item whose skip or stop it was told after
    /// reaching it has been left, which honors the request.
    fn moved_on_to(&self, item: &ItemId) {
        if self.clocks.load(Ordering::Acquire) == 0 {
            return;
        }
        let left: Vec<ItemId> = self
            .requested_at
            .lock()
            .keys()
            .filter(|other| *other != item)
            .cloned()
            .collect();
        for other in left {
            self.stop_clock(&other);
            if let Some(slot) = self.slot(&other) {
                slot.update(honor_request);
            }
        }
    }

    fn start_clock(&self, item: &ItemId) {
        let mut clocks = self.requested_at.lock();
        clocks.insert(item.clone(), Instant::now());
        self.clocks.store(clocks.len(), Ordering::Release);
    }

    pub fn stop_clock(&self, item: &ItemId) {
        let mut clocks = self.requested_at.lock();
        clocks.remove(item);
        self.clocks.store(clocks.len(), Ordering::Release);
    }

    /// Items whose request the handler has ignored for `timeout`.
    pub fn overdue(&self, now: Instant, timeout: Duration) -> Vec<ItemId> {
        if self.clocks.load(Ordering::Acquire) == 0 {
            return Vec::new();
        }
        self.requested_at
            .lock()
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= timeout)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Records a line from the handler and sends it to the front ends.
    pub fn log(&self, line: LogLine) -> LogId {
        self.push_line(line, true)
    }

    /// Records a line Sync Center itself writes about the handler; never dropped by the cap.
    pub fn note(&self, line: LogLine) -> LogId {
        self.push_line(line, false)
    }

    fn push_line(&self, line: LogLine, capped: bool) -> LogId {
        if self.abandoned.load(Ordering::Acquire) {
            return LogId(0);
        }
        if self.lines_as_notices {
            self.core
                .bus
                .send(Event::Notice(format!("{}: {}", self.name(), line.text)));
            return self.core.next_log_id();
        }
        let mut log = self.log.lock();
        if capped && log.len() >= MAX_LOG_LINES_PER_RUN {
            *self.suppressed_lines.lock() += 1;
            return LogId(0);
        }
        let id = self.core.next_log_id();
        let entry = LogEntry {
            id,
            session: self.session,
            handler: self.handler.clone(),
            handler_name: self.name(),
            item: line.item,
            level: line.level,
            text: line.text,
            actionable: line.actionable,
            time: SystemTime::now(),
            by_center: !capped,
        };
        log.push(entry.clone());
        drop(log);
        self.core.bus.send(Event::Log(entry));
        id
    }

    /// Sets a final status on every item that has none yet, with a reason.
    pub fn finish_remaining(&self, status: ItemStatus, text: &str) {
        for item in self.item_ids() {
            if let Some(slot) = self.slot(&item) {
                slot.update(|live| {
                    if !live.status.is_terminal() {
                        let _ = live.set_status(status);
                        live.set_text(text);
                    }
                });
            }
        }
    }
}

/// What the host does for a handler: the callback's operations, implemented in-process by
/// the engine and, in a handler's own process, by the external-handler SDK over stdio.
pub trait Host: Send + Sync {
    fn context(&self) -> &RunContext;
    fn progress(&self, item: &ItemId, progress: Progress<'_>, heard: Heard) -> Reply;
    fn check(&self, item: &ItemId) -> Reply;
    fn report_work(&self, item: &ItemId, report: WorkReport, heard: Heard) -> Reply;
    /// The user's request for `item` as it stands, without the handler hearing of it.
    fn peek(&self, item: &ItemId) -> Reply;
    /// The handler was told `reply` about `item` by other means (a notification).
    fn told(&self, item: &ItemId, reply: Reply);
    /// Whether the center gave up on this handler for ignoring a stop.
    fn abandoned(&self) -> bool;
    fn log(&self, line: LogLine) -> LogId;
    fn delete_log(&self, id: Option<LogId>);
    /// EnableModeless(TRUE): waits for the UI slot.
    fn acquire_ui(&self, about: Option<&ItemId>) -> Result<(), UiRefused>;
    /// Shows a form while holding the UI slot.
    fn show_form(&self, about: Option<&ItemId>, form: Form) -> FormReply;
    /// EnableModeless(FALSE).
    fn release_ui(&self);
    fn establish_connection(&self, target: Option<&str>) -> Result<(), ConnectionError>;
    fn replace_conflicts(&self, item: &ItemId, conflicts: Vec<ConflictReport>);
    fn chosen_resolutions(&self, item: &ItemId) -> Vec<(ConflictReport, Resolution)>;
    /// One entry the handler changed.
    fn activity(&self, item: &ItemId, entry: Activity);
}

/// What a handler holds to talk to the host (ISyncMgrSynchronizeCallback). Cheap to clone.
#[derive(Clone)]
pub struct Callback {
    host: Arc<dyn Host>,
}

impl Callback {
    pub fn from_host(host: Arc<dyn Host>) -> Self {
        Self { host }
    }

    /// Why this run happens and whether dialogs are allowed.
    pub fn context(&self) -> &RunContext {
        self.host.context()
    }

    /// Reports progress for an item (Progress / ReportProgress) and returns the user's
    /// answer. A final status after a final status other than "failed" is refused under
    /// Vista's rule: the item is marked failed and the refusal logged.
    pub fn progress(&self, item: &ItemId, progress: Progress<'_>) -> Reply {
        self.host.progress(item, progress, Heard::Answered)
    }

    /// Asks whether to go on with an item (CanContinue). Call it before starting each item:
    /// this is where skips and stops arrive.
    pub fn check(&self, item: &ItemId) -> Reply {
        self.host.check(item)
    }

    /// Reports work in Sync Framework's terms (estimates, batches, staged progress). A
    /// report that would count the same work twice is refused and logged once as a warning.
    pub fn report_work(&self, item: &ItemId, report: WorkReport) -> Reply {
        self.host.report_work(item, report, Heard::Answered)
    }

    /// Logs a line for the results (LogError). Returns its id, for `delete_log` and for
    /// `Handler::show_error`.
    pub fn log(&self, line: LogLine) -> LogId {
        self.host.log(line)
    }

    /// Retracts one line, or with `None` every line this handler logged in this run
    /// (DeleteLogError with GUID_NULL).
    pub fn delete_log(&self, id: Option<LogId>) {
        self.host.delete_log(id)
    }

    /// Asks permission to show dialogs (EnableModeless(TRUE)). Waits while another handler's
    /// dialog is open; the permit gives the slot back when dropped (EnableModeless(FALSE)).
    /// Refused when the run may not bother the user, and ended when the run is stopped.
    pub fn request_ui(&self, about: Option<&ItemId>) -> Result<UiPermit<'_>, UiRefused> {
        self.host.acquire_ui(about)?;
        Ok(UiPermit {
            callback: self,
            about: about.cloned(),
        })
    }

    /// Asks the host for a connection (EstablishConnection). `None` is the system's own
    /// network, which needs no dialing here. `Some("host:port")` waits, showing why, until
    /// the host answers on that port, the run stops, or the connect timeout passes.
    pub fn establish_connection(&self, target: Option<&str>) -> Result<(), ConnectionError> {
        self.host.establish_connection(target)
    }

    /// Replaces the conflicts the center keeps for an item with the ones found now.
    pub fn replace_conflicts(&self, item: &ItemId, conflicts: Vec<ConflictReport>) {
        self.host.replace_conflicts(item, conflicts)
    }

    /// The resolutions the user chose for this item's conflicts, to apply now.
    pub fn chosen_resolutions(&self, item: &ItemId) -> Vec<(ConflictReport, Resolution)> {
        self.host.chosen_resolutions(item)
    }

    /// Reports one entry the handler changed in this item (copied, deleted, in conflict…):
    /// the run's results list them.
    pub fn activity(&self, item: &ItemId, entry: Activity) {
        self.host.activity(item, entry)
    }

    /// For a host that carries a handler's calls from elsewhere (the external host): calls
    /// whose answers the handler does not hear, and the user's requests looked at without
    /// telling the handler. Handlers themselves have no use for it.
    pub fn relay(&self) -> Relay<'_> {
        Relay { callback: self }
    }
}

/// See [`Callback::relay`]. A skip or stop counts as told to the handler only when it
/// hears it: in an answer, or when the relay says so with [`Relay::told`].
pub struct Relay<'a> {
    callback: &'a Callback,
}

impl Relay<'_> {
    /// A progress report sent as a notification: nobody hears the answer.
    pub fn progress(&self, item: &ItemId, progress: Progress<'_>) -> Reply {
        self.callback
            .host
            .progress(item, progress, Heard::Unanswered)
    }

    /// A work report sent as a notification: nobody hears the answer.
    pub fn report_work(&self, item: &ItemId, report: WorkReport) -> Reply {
        self.callback
            .host
            .report_work(item, report, Heard::Unanswered)
    }

    /// The user's request for `item` now; the handler hears nothing of it.
    pub fn peek(&self, item: &ItemId) -> Reply {
        self.callback.host.peek(item)
    }

    /// The handler was just told `reply` about `item` (a notification was sent).
    pub fn told(&self, item: &ItemId, reply: Reply) {
        self.callback.host.told(item, reply)
    }

    /// Whether the center gave up on the handler for ignoring a stop: its process must go.
    pub fn abandoned(&self) -> bool {
        self.callback.host.abandoned()
    }
}

/// Permission to show dialogs, held until dropped.
pub struct UiPermit<'a> {
    callback: &'a Callback,
    about: Option<ItemId>,
}

impl UiPermit<'_> {
    /// Shows a form and waits for the user's answer. The item waits "for your answer"
    /// meanwhile; a stop closes the dialog and answers `Canceled`.
    pub fn show(&self, form: Form) -> FormReply {
        self.callback.host.show_form(self.about.as_ref(), form)
    }
}

impl Drop for UiPermit<'_> {
    fn drop(&mut self) {
        self.callback.host.release_ui();
    }
}

impl Host for Run {
    fn context(&self) -> &RunContext {
        &self.context
    }

    fn progress(&self, item: &ItemId, progress: Progress<'_>, heard: Heard) -> Reply {
        let Some(slot) = self.known_slot(item) else {
            return self.run_reply();
        };
        if self.abandoned.load(Ordering::Acquire) {
            return Reply::CancelAll;
        }
        self.moved_on_to(item);
        // Pending and Waiting are the center's own: a handler saying so is ignored.
        let own = progress
            .status
            .filter(|s| matches!(s, ItemStatus::Pending | ItemStatus::Waiting));
        let wanted = progress.status.filter(|_| own.is_none());
        let (reply, violation) = self.report(item, &slot, heard, |live| {
            let mut violation = None;
            match wanted {
                Some(status) if status != live.status => {
                    violation = live.set_status(status).err();
                }
                Some(_) => {}
                None if (progress.value.is_some() || progress.figures.is_some())
                    && matches!(live.status, ItemStatus::Pending | ItemStatus::Waiting) =>
                {
                    let _ = live.set_status(ItemStatus::Updating);
                }
                None => {}
            }
            if let Some(figures) = progress.figures {
                live.figures = Some(figures.clone());
            }
            if live.status == ItemStatus::Indeterminate {
                // SYNCMGRSTATUS_UPDATING_INDETERMINATE: steps are ignored, and earlier
                // figures no longer say anything.
                live.measure = None;
            } else if let (Some(value), Some(max)) = (progress.value, progress.max) {
                live.measure = (max > 0).then_some((value, max));
            }
            if let Some(text) = progress.text {
                live.set_text(text);
            }
            violation
        });
        let violation = violation.flatten();
        if let Some(status) = own
            && self.first_time(item, Mistake::CentersStatus)
        {
            self.note(
                LogLine::warning(format!(
                    "{} reported \"{status}\" for {}, a status only Sync Center sets; it was ignored.",
                    self.name(),
                    self.item_name(item),
                ))
                .item(item),
            );
        }
        if let Some(v) = violation
            && self.first_time(item, Mistake::RuleViolation)
        {
            self.note(
                LogLine::error(format!(
                    "{} reported \"{}\" for {} after it had already ended as \"{}\"; Sync Center marked the item failed.",
                    self.name(),
                    v.wanted,
                    self.item_name(item),
                    v.was
                ))
                .item(item),
            );
        }
        reply
    }

    fn check(&self, item: &ItemId) -> Reply {
        match self.known_slot(item) {
            Some(slot) => {
                self.moved_on_to(item);
                self.reply_for(item, &slot, Heard::Answered)
            }
            None => self.run_reply(),
        }
    }

    fn report_work(&self, item: &ItemId, report: WorkReport, heard: Heard) -> Reply {
        let Some(slot) = self.known_slot(item) else {
            return self.run_reply();
        };
        if self.abandoned.load(Ordering::Acquire) {
            return Reply::CancelAll;
        }
        self.moved_on_to(item);
        let (reply, refused) = self.report(item, &slot, heard, |live| {
            if matches!(live.status, ItemStatus::Pending | ItemStatus::Waiting) {
                let _ = live.set_status(ItemStatus::Updating);
            }
            live.apply_work(report).err()
        });
        if let Some(error) = refused.flatten()
            && self.first_time(item, Mistake::Progress(error))
        {
            self.note(LogLine::warning(format!("{}: {error}", self.item_name(item))).item(item));
        }
        reply
    }

    fn peek(&self, item: &ItemId) -> Reply {
        self.request_now(item)
    }

    fn told(&self, item: &ItemId, reply: Reply) {
        self.mark_told(item, reply)
    }

    fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    fn log(&self, line: LogLine) -> LogId {
        Run::log(self, line)
    }

    /// Retracts the handler's own lines only: one by id (from this run, or kept from an
    /// earlier run of this handler), or all it logged in this run. Sync Center's notes
    /// about it stay, and a run given up on retracts nothing.
    fn delete_log(&self, id: Option<LogId>) {
        if self.abandoned.load(Ordering::Acquire) {
            return;
        }
        let mut deleted: Vec<LogId> = Vec::new();
        self.log.lock().retain(|e| {
            let goes = !e.by_center && id.is_none_or(|id| id == e.id);
            if goes {
                deleted.push(e.id);
            }
            !goes
        });
        if let Some(id) = id
            && deleted.is_empty()
        {
            deleted = self.core.store.delete_log_lines(&self.handler, id);
        }
        if !deleted.is_empty() {
            self.core.bus.send(Event::LogDeleted { ids: deleted });
        }
    }

    fn acquire_ui(&self, about: Option<&ItemId>) -> Result<(), UiRefused> {
        if !self.context.may_bother_user {
            // Remembered for the result: the item needs the user, who was not asked.
            for slot in self.affected_items(about) {
                slot.update(|live| live.could_not_ask = true);
            }
            return Err(UiRefused::NotAllowed);
        }
        // A handler that already holds the slot, or is getting it on another thread, shares
        // it instead of queuing behind itself.
        let _asking = self.ui_gate.lock();
        if let Some((_, permits)) = self.ui_ticket.lock().as_mut() {
            *permits += 1;
            return Ok(());
        }
        let items = self.affected_items(about);
        let canceled = || self.ui_canceled(about);
        let mut saved = Vec::new();
        let ticket = self
            .core
            .broker
            .acquire(&self.name(), &canceled, &mut |holder| {
                saved = set_waiting(
                    &items,
                    WaitReason::OtherDialog {
                        handler: holder.to_string(),
                    },
                );
            });
        restore_after_wait(&saved);
        *self.ui_ticket.lock() = Some((ticket?, 1));
        Ok(())
    }

    fn show_form(&self, about: Option<&ItemId>, form: Form) -> FormReply {
        if self.ui_canceled(about) {
            return FormReply::Canceled;
        }
        let items = self.affected_items(about);
        let saved = set_waiting(&items, WaitReason::YourAnswer);
        let id = self.core.broker.next_dialog_id();
        let named = about.map(|item| (item.clone(), self.item_name(item)));
        let (request, reply) =
            DialogRequest::new(id, self.handler.clone(), self.name(), named, form);
        self.core.bus.send(Event::Dialog(request));
        let answer = loop {
            match reply.recv_timeout(Duration::from_millis(50)) {
                Ok(answer) => break answer,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    break FormReply::Canceled;
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    if self.ui_canceled(about) {
                        self.core.bus.send(Event::DialogClosed(id));
                        break FormReply::Canceled;
                    }
                }
            }
        };
        restore_after_wait(&saved);
        answer
    }

    fn release_ui(&self) {
        let mut held = self.ui_ticket.lock();
        if let Some((ticket, permits)) = held.as_mut() {
            *permits -= 1;
            if *permits == 0 {
                self.core.broker.release(*ticket);
                *held = None;
            }
        }
    }

    fn establish_connection(&self, target: Option<&str>) -> Result<(), ConnectionError> {
        let Some(target) = target else {
            return Ok(());
        };
        let items = self.affected_items(None);
        let saved = set_waiting(
            &items,
            WaitReason::Connection {
                target: target.to_string(),
            },
        );
        let started = Instant::now();
        let deadline = started + self.core.config.connect_timeout;
        // Short attempts, so a stop or a skip of the items waiting here is heard quickly.
        let attempt = Duration::from_millis(500);
        let result = loop {
            // With no open item (a properties dialog, a details view) only a stop cancels.
            let all_items_left = !items.is_empty()
                && items
                    .iter()
                    .all(|slot| slot.read(|l| l.request.is_some()).unwrap_or(true));
            if self.is_stopped() || all_items_left {
                break Err(ConnectionError::Canceled {
                    target: target.to_string(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match try_connect(target, attempt.min(left)) {
                Ok(()) => break Ok(()),
                // The network is up and the host answered "no": waiting out the whole
                // timeout (meant for a network still coming up) would only keep the user
                // waiting. A server just starting gets a moment.
                Err(failed)
                    if Instant::now() >= deadline
                        || (failed.refused && started.elapsed() >= REFUSED_GRACE) =>
                {
                    break Err(ConnectionError::Unreachable {
                        target: target.to_string(),
                        reason: failed.reason,
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        };
        restore_after_wait(&saved);
        result
    }

    /// Only for an item this run still owns: a run given up on, or one a later run took
    /// the item over from, must not put its older findings over the newer run's.
    fn replace_conflicts(&self, item: &ItemId, conflicts: Vec<ConflictReport>) {
        if self.abandoned.load(Ordering::Acquire) {
            return;
        }
        let owned = self
            .known_slot(item)
            .is_some_and(|slot| slot.read(|_| ()).is_some());
        if !owned {
            return;
        }
        self.conflicts_found
            .lock()
            .insert(item.clone(), conflicts.len() as u32);
        self.core
            .store
            .replace_conflicts(&self.key(item), &self.item_name(item), conflicts);
        self.core.bus.send(Event::ConflictsChanged);
    }

    fn chosen_resolutions(&self, item: &ItemId) -> Vec<(ConflictReport, Resolution)> {
        self.core.store.chosen_resolutions(&self.key(item))
    }

    fn activity(&self, item: &ItemId, entry: Activity) {
        if self.abandoned.load(Ordering::Acquire) || self.known_slot(item).is_none() {
            return;
        }
        self.activity
            .lock()
            .entry(item.clone())
            .or_default()
            .record(entry);
    }
}

impl Run {
    fn known_slot(&self, item: &ItemId) -> Option<RunSlot> {
        let slot = self.slot(item);
        let first = slot.is_none() && {
            let mut warned = self.warned_unknown.lock();
            warned.len() < MAX_UNKNOWN_WARNINGS && warned.insert(item.clone())
        };
        if first {
            self.note(LogLine::warning(format!(
                "{} reported on \"{item}\", which is not part of this run; the report was ignored.",
                self.name()
            )));
        }
        slot
    }

    fn run_reply(&self) -> Reply {
        if self.is_stopped() {
            Reply::CancelAll
        } else {
            Reply::Continue
        }
    }

    fn affected_items(&self, about: Option<&ItemId>) -> Vec<RunSlot> {
        match about {
            Some(item) => self.slot(item).into_iter().collect(),
            None => self
                .items
                .read()
                .values()
                .map(|i| i.slot.clone())
                .filter(|s| s.read(|l| !l.status.is_terminal()).unwrap_or(false))
                .collect(),
        }
    }

    fn ui_canceled(&self, about: Option<&ItemId>) -> bool {
        self.is_stopped()
            || about.and_then(|item| self.slot(item)).is_some_and(|slot| {
                slot.read(|l| l.request.is_some() || l.status.is_terminal())
                    .unwrap_or(true)
            })
    }
}

/// A mistake of a handler that is noted once per item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mistake {
    /// A final status followed by another (Vista's rule).
    RuleViolation,
    /// Pending or Waiting, which only the center sets.
    CentersStatus,
    Progress(ProgressError),
}

/// What the handler is answered for an item with this request.
fn request_reply(request: Option<UserRequest>) -> Reply {
    match request {
        None => Reply::Continue,
        Some(UserRequest::Skip) => Reply::SkipItem,
        Some(UserRequest::Stop) => Reply::CancelItem,
    }
}

/// Starts the stop clock of an item's request once it was told and the item reached;
/// tells whether it started now.
fn start_clock(live: &mut Live) -> bool {
    let start =
        live.request_delivered && live.reached && !live.clock_started && !live.status.is_terminal();
    if start {
        live.clock_started = true;
    }
    start
}

/// Ends an open item as the user asked (the handler left it, or returned without it).
pub(crate) fn honor_request(live: &mut Live) {
    if live.status.is_terminal() {
        return;
    }
    let (status, text) = match live.request {
        Some(UserRequest::Skip) => (ItemStatus::Skipped, "Skipped."),
        Some(UserRequest::Stop) => (ItemStatus::Canceled, "Stopped."),
        None => return,
    };
    let _ = live.set_status(status);
    live.set_text(text);
}

/// Marks items waiting, returning what to restore afterwards.
pub(crate) fn set_waiting(items: &[RunSlot], reason: WaitReason) -> Vec<(RunSlot, ItemStatus)> {
    items
        .iter()
        .filter_map(|slot| {
            slot.update(|live| {
                if live.status.is_terminal() {
                    return None;
                }
                let before = live.status;
                let _ = live.set_status(ItemStatus::Waiting);
                live.wait = Some(reason.clone());
                Some((slot.clone(), before))
            })
            .flatten()
        })
        .collect()
}

pub(crate) fn restore_after_wait(saved: &[(RunSlot, ItemStatus)]) {
    for (slot, before) in saved {
        slot.update(|live| {
            if live.status == ItemStatus::Waiting {
                let _ = live.set_status(*before);
            }
        });
    }
}

/// How long `establish_connection` tries again a host that refuses the connection.
const REFUSED_GRACE: Duration = Duration::from_secs(2);

/// Why an attempt to connect failed.
#[derive(Debug, PartialEq)]
struct ConnectFailed {
    /// In the user's words.
    reason: String,
    /// Every address refused it (the host is there; nothing listens on the port).
    refused: bool,
}

/// One attempt to reach `target`, taking at most `budget` per address.
fn try_connect(target: &str, budget: Duration) -> Result<(), ConnectFailed> {
    let addrs = target.to_socket_addrs().map_err(|_| ConnectFailed {
        reason: "its name was not found (is the network up, and the name right?)".into(),
        refused: false,
    })?;
    let mut last = ConnectFailed {
        reason: "its name has no address".into(),
        refused: false,
    };
    let mut refused = true;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, budget.max(Duration::from_millis(10))) {
            Ok(_) => return Ok(()),
            Err(e) => {
                refused &= e.kind() == std::io::ErrorKind::ConnectionRefused;
                last = ConnectFailed {
                    reason: plain_connect_error(&e),
                    refused,
                };
            }
        }
    }
    Err(last)
}

/// Why a connection failed, as the user is told it.
fn plain_connect_error(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => {
            "it refused the connection (is the server running, and the port right?)".into()
        }
        ErrorKind::TimedOut => "it did not answer (is the network up?)".into(),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            "there is no route to it (is the network up?)".into()
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_connections_are_told_in_plain_words() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = listener.local_addr().unwrap().to_string();
        drop(listener);
        let refused = try_connect(&closed, Duration::from_secs(1)).unwrap_err();
        assert!(
            refused.reason.contains("refused the connection"),
            "{refused:?}"
        );
        assert!(refused.refused);
        let unknown = try_connect("no-such-host.invalid:80", Duration::from_secs(1));
        let unknown = unknown.unwrap_err();
        assert!(unknown.reason.contains("name was not found"), "{unknown:?}");
        assert!(!unknown.refused);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap().to_string();
        assert_eq!(try_connect(&open, Duration::from_secs(1)), Ok(()));
    }
}
