//! The session engine: drives each handler through initialize → enumerate → prepare →
//! synchronize on its own worker thread, several handlers at once, and watches them: a stop
//! that is not honored in time abandons the handler, a panic fails only its own items.

use crate::core::activity::{ItemActivity, RunActivity};
use crate::core::board::{Board, UserRequest};
use crate::core::callback::{
    Callback, Host, LogLine, Run, honor_request, restore_after_wait, set_waiting,
};
use crate::core::dialog::DialogBroker;
use crate::core::events::{Bus, Event, Wake, Waker};
use crate::core::handler::{
    CallFailure, Handler, HandlerError, HandlerProvider, Registry, call_guarded,
};
use crate::core::model::LogLevel;
use crate::core::model::{
    Enumeration, HandlerId, HandlerInfo, ItemId, ItemInfo, ItemKey, LogId, Participation,
    PropertiesOutcome, PropertiesTarget, RunContext, RunReason, SessionId, ShowErrorOutcome,
};
use crate::core::preview::{ItemPreview, Planned};
use crate::core::status::{ItemStatus, Problems, WaitReason, unasked_outcome};
use crate::core::store::{ItemResult, SaveError, SessionRecord, Store, StoreNews};
use crossbeam_channel::Receiver;
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How Sync Center ends when its window closes: "Stopped when Sync Center closed." is the
/// result of an item still running then.
const CLOSED: &str = "Sync Center closed";

/// Timeouts of the engine; tests make them short.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    /// How long a handler may ignore a stop before it is abandoned.
    pub stop_timeout: Duration,
    /// How long `establish_connection` keeps trying.
    pub connect_timeout: Duration,
    /// How long listing items may take per handler.
    pub list_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            stop_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(30),
            list_timeout: Duration::from_secs(20),
        }
    }
}

/// What the engine's threads share.
pub(crate) struct Core {
    pub bus: Bus,
    pub board: Board,
    pub broker: DialogBroker,
    pub store: Store,
    pub registry: RwLock<Registry>,
    pub config: EngineConfig,
    ids: AtomicU64,
    sessions: Mutex<HashMap<SessionId, Arc<SessionShared>>>,
    names: RwLock<HashMap<ItemKey, String>>,
    /// Held while a start or a retry takes items over.
    starting: Mutex<()>,
    /// Listings in flight, by handler, with whoever waits for their answer.
    listings: Mutex<HashMap<HandlerId, Vec<ListingWaiter>>>,
    /// Runs given up on whose handler has not returned yet: their items stay busy until it
    /// has (for a handler in its own process, until the process is gone).
    lingering: Mutex<Vec<Arc<Run>>>,
    /// Handlers without concurrent sessions that some session runs now, and a condition to
    /// wait for their turn.
    handler_turns: Mutex<HashSet<HandlerId>>,
    turn_ended: Condvar,
}

impl Core {
    /// Ids unique across runs of the program: the clock in microseconds, or one more than
    /// the last id when the clock has not moved on.
    fn next_id(&self) -> u64 {
        let now = now_micros();
        let previous = self
            .ids
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(now);
        now.max(previous + 1)
    }

    pub fn next_log_id(&self) -> LogId {
        LogId(self.next_id())
    }

    /// Items that some run is synchronizing now, or that a handler given up on may still
    /// be working on.
    fn busy_items(&self) -> Vec<ItemKey> {
        let sessions: Vec<Arc<SessionShared>> = self.sessions.lock().values().cloned().collect();
        let mut busy: Vec<ItemKey> = sessions
            .iter()
            .flat_map(|s| s.runs.lock().clone())
            .flat_map(|run| {
                run.item_ids()
                    .into_iter()
                    .filter(|id| {
                        run.slot(id)
                            .is_some_and(|s| s.read(|l| !l.status.is_terminal()).unwrap_or(false))
                    })
                    .map(|id| run.key(&id))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut lingering = self.lingering.lock();
        lingering.retain(|run| !run.returned.load(Ordering::Acquire));
        for run in lingering.iter() {
            busy.extend(run.item_ids().iter().map(|id| run.key(id)));
        }
        busy
    }
}

/// One handler's result of listing its items.
#[derive(Clone, Debug)]
pub struct Listing {
    pub handler: HandlerId,
    pub info: HandlerInfo,
    pub items: Vec<ItemInfo>,
    pub error: Option<String>,
}

/// Takes a listing when it is done.
type ListingWaiter = Box<dyn FnOnce(Listing) + Send>;

/// What to run.
#[derive(Clone, Debug)]
pub struct SessionRequest {
    pub reason: RunReason,
    pub may_bother_user: bool,
    pub items: Vec<ItemKey>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartError {
    #[error("nothing to synchronize: no items were chosen")]
    NothingChosen,
    #[error(
        "every chosen item is already synchronizing (or its handler has not yet ended an earlier run of it)"
    )]
    AllBusy,
}

pub(crate) struct SessionShared {
    id: SessionId,
    reason: RunReason,
    started: SystemTime,
    runs: Mutex<Vec<Arc<Run>>>,
    record: Mutex<Option<SessionRecord>>,
    finished: Condvar,
}

/// The center's engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    core: Arc<Core>,
}

impl Engine {
    /// Makes an engine over these handlers and this store. The receiver gets every event.
    pub fn new(
        registry: Registry,
        store: Store,
        config: EngineConfig,
    ) -> (Engine, Receiver<Event>) {
        let (bus, events) = Bus::new();
        let news = bus.clone();
        store.set_news(Arc::new(move |said| {
            news.send(match said {
                StoreNews::SaveFailed(text) => Event::Notice(text),
                StoreNews::ConflictsChanged => Event::ConflictsChanged,
                StoreNews::ItemsChanged => Event::ItemsRecorded,
                StoreNews::RunsRecorded(runs) => Event::RunsRecorded(runs),
            })
        }));
        let highest_id = store.highest_id();
        let core = Arc::new(Core {
            board: Board::new(bus.clone()),
            bus,
            broker: DialogBroker::new(),
            store,
            registry: RwLock::new(registry),
            config,
            // After the runs already recorded, even if the clock stepped back since.
            ids: AtomicU64::new(highest_id),
            sessions: Mutex::new(HashMap::new()),
            names: RwLock::new(HashMap::new()),
            starting: Mutex::new(()),
            listings: Mutex::new(HashMap::new()),
            lingering: Mutex::new(Vec::new()),
            handler_turns: Mutex::new(HashSet::new()),
            turn_ended: Condvar::new(),
        });
        (Engine { core }, events)
    }

    pub fn set_waker(&self, waker: Waker) {
        self.core.bus.set_waker(waker);
    }

    pub fn board(&self) -> &Board {
        &self.core.board
    }

    pub fn store(&self) -> &Store {
        &self.core.store
    }

    pub fn registry(&self) -> Registry {
        self.core.registry.read().clone()
    }

    /// Adds or replaces a handler (a manifest appeared, a test registers one).
    pub fn register(&self, provider: Arc<dyn HandlerProvider>) {
        self.core.registry.write().add(provider);
    }

    /// Tells the front ends something in plain words.
    pub fn notice(&self, text: impl Into<String>) {
        self.core.bus.send(Event::Notice(text.into()));
    }

    /// Asks every handler for its items in the background; answers arrive as events.
    pub fn refresh(&self) {
        for provider in self.registry().providers() {
            self.refresh_handler(&provider.id());
        }
    }

    /// Asks one handler for its items in the background; the answer arrives as an event,
    /// or, if it does not come within the list timeout, the reason it did not.
    pub fn refresh_handler(&self, handler: &HandlerId) {
        let Some(provider) = self.core.registry.read().get(handler) else {
            return;
        };
        let core = self.core.clone();
        let publish = Box::new(move |listing| publish_listing(&core, listing));
        if !list_once(&self.core, provider.clone(), publish) {
            // A listing of this handler is in flight already: its answer is published.
            return;
        }
        // Until it answers, the window says why it waits no longer than the list timeout.
        let (core, handler) = (self.core.clone(), handler.clone());
        spawn_named(format!("list-timer-{handler}"), move || {
            std::thread::sleep(core.config.list_timeout);
            if core.listings.lock().contains_key(&handler) {
                publish_listing(&core, too_slow(&core, provider.as_ref()));
            }
        });
    }

    /// Lists every handler's items and waits for the answers (the command line's way).
    /// A handler that does not answer in time is reported, not waited for.
    pub fn list_now(&self) -> Vec<Listing> {
        let providers = self.registry().providers().to_vec();
        let (tx, rx) = crossbeam_channel::unbounded();
        for (index, provider) in providers.iter().cloned().enumerate() {
            let tx = tx.clone();
            let answer = Box::new(move |listing| {
                let _ = tx.send((index, listing));
            });
            list_once(&self.core, provider, answer);
        }
        drop(tx);
        let deadline = Instant::now() + self.core.config.list_timeout;
        let mut answers: Vec<Option<Listing>> = vec![None; providers.len()];
        while answers.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((index, listing)) => answers[index] = Some(listing),
                Err(_) => break,
            }
        }
        answers
            .into_iter()
            .zip(providers)
            .map(|(answer, provider)| {
                answer.unwrap_or_else(|| too_slow(&self.core, provider.as_ref()))
            })
            .inspect(|listing| remember_names(&self.core, listing))
            .collect()
    }

    /// Starts a run of these items. Items already synchronizing in another run are left to
    /// that run.
    pub fn start(&self, request: SessionRequest) -> Result<SessionHandle, StartError> {
        if request.items.is_empty() {
            return Err(StartError::NothingChosen);
        }
        // Taking items over is one step, so two starts never both take the same item.
        let _taking = self.core.starting.lock();
        let busy = self.busy_items();
        let mut items: Vec<ItemKey> = Vec::new();
        for key in request.items {
            if !busy.contains(&key) && !items.contains(&key) {
                items.push(key);
            }
        }
        if items.is_empty() {
            return Err(StartError::AllBusy);
        }
        let session = self.new_session(request.reason.clone());
        let context = RunContext {
            may_bother_user: request.may_bother_user && request.reason.allows_prompts(),
            reason: request.reason,
        };
        let mut groups: Vec<(HandlerId, Vec<ItemId>)> = Vec::new();
        for key in &items {
            match groups.iter_mut().find(|(h, _)| *h == key.handler) {
                Some((_, ids)) => ids.push(key.item.clone()),
                None => groups.push((key.handler.clone(), vec![key.item.clone()])),
            }
        }
        let mut work = Vec::new();
        for (handler, ids) in groups {
            let provider = self.core.registry.read().get(&handler);
            let name = provider
                .as_ref()
                .map_or_else(|| handler.to_string(), |p| p.display_name());
            let run = Arc::new(Run::new(
                self.core.clone(),
                session.id,
                handler.clone(),
                name,
                context.clone(),
            ));
            for id in &ids {
                run.add_item(id, self.item_name(&run.key(id)));
            }
            session.runs.lock().push(run.clone());
            work.push((run, provider, Lifecycle::Sync(ids)));
        }
        self.core.bus.send(Event::SessionStarted {
            session: session.id,
            items,
        });
        Ok(self.launch(session, work))
    }

    /// Opens a handler's details for a logged line (ShowError). If the handler asks to retry
    /// items, they run again (prepare + synchronize) in the returned session.
    pub fn show_error(&self, log: LogId) -> Option<SessionHandle> {
        let entry = self
            .core
            .store
            .log_entry(log)
            .or_else(|| self.running_log_entry(log))?;
        let provider = self.core.registry.read().get(&entry.handler)?;
        let session = self.new_session(RunReason::Manual);
        let context = RunContext {
            reason: RunReason::Manual,
            may_bother_user: true,
        };
        let run = Arc::new(Run::new(
            self.core.clone(),
            session.id,
            entry.handler.clone(),
            entry.handler_name.clone(),
            context,
        ));
        session.runs.lock().push(run.clone());
        Some(self.launch(
            session,
            vec![(run, Some(provider), Lifecycle::ShowError(log))],
        ))
    }

    /// Opens the properties dialog of a handler or one of its items, in the background.
    /// The answer arrives as `Event::PropertiesClosed`; a change re-lists the handler.
    pub fn show_properties(&self, handler: &HandlerId, target: PropertiesTarget) {
        let Some(provider) = self.core.registry.read().get(handler) else {
            return;
        };
        let core = self.core.clone();
        let engine = self.clone();
        let handler = handler.clone();
        let id = SessionId(self.core.next_id());
        spawn_named(format!("properties-{handler}"), move || {
            let context = RunContext {
                reason: RunReason::Settings,
                may_bother_user: true,
            };
            let run = Arc::new(
                Run::new(
                    core.clone(),
                    id,
                    handler.clone(),
                    provider.display_name(),
                    context.clone(),
                )
                .for_dialog(),
            );
            if let PropertiesTarget::Item(item) = &target {
                // Off the board: the item may be running in a session right now.
                run.add_detached_item(item, engine.item_name(&run.key(item)));
            }
            let callback = Callback::from_host(run);
            let outcome = call_guarded(|| {
                let mut instance = provider.create()?;
                if instance.initialize(&context)? == Participation::NotTakingPart {
                    return Err(HandlerError::new(format!(
                        "{} does not take part right now",
                        provider.display_name()
                    )));
                }
                instance.show_properties(&target, &callback)
            })
            .map_err(|failure| failure.to_string());
            if matches!(
                outcome,
                Ok(PropertiesOutcome::ItemsChanged | PropertiesOutcome::ItemDeleted)
            ) {
                // The item's settings changed: how its last run ended no longer says how
                // it stands (a corrected pair loses its stale error).
                if let PropertiesTarget::Item(item) = &target {
                    core.store.clear_outcome(&run_key(&handler, item));
                }
                engine.refresh_handler(&handler);
            }
            core.bus.send(Event::PropertiesClosed {
                handler,
                target,
                outcome,
            });
        });
    }

    /// A running session by id.
    pub fn session(&self, id: SessionId) -> Option<SessionHandle> {
        let shared = self.core.sessions.lock().get(&id).cloned()?;
        Some(SessionHandle {
            shared,
            core: self.core.clone(),
        })
    }

    /// Every running session.
    pub fn sessions(&self) -> Vec<SessionHandle> {
        self.core
            .sessions
            .lock()
            .values()
            .map(|shared| SessionHandle {
                shared: shared.clone(),
                core: self.core.clone(),
            })
            .collect()
    }

    /// Stops every running session (Ctrl+C, Stop).
    pub fn stop_everything(&self) {
        for session in self.sessions() {
            session.stop_all();
        }
    }

    /// Closing Sync Center: [`Engine::end`] because "Sync Center closed".
    pub fn close(&self, grace: Duration) -> Result<(), SaveError> {
        self.end(grace, CLOSED)
    }

    /// Ending Sync Center: stops every run and gives them `grace` to end. A run still
    /// going then is recorded as it stands: what finished keeps its result, the rest ends
    /// "Stopped when {event}." (`event`: "Sync Center closed", "Sync Center quit"), and
    /// nothing its handlers report later counts. Then waits for everything to be saved, and
    /// says what could not be.
    pub fn end(&self, grace: Duration, event: &str) -> Result<(), SaveError> {
        let sessions = self.sessions();
        self.stop_everything();
        let deadline = Instant::now() + grace;
        for session in &sessions {
            session.wait(deadline.saturating_duration_since(Instant::now()));
        }
        for session in sessions.iter().filter(|s| !s.is_finished()) {
            for run in session.shared.runs.lock().iter() {
                if run.returned.load(Ordering::Acquire) || run.abandoned.load(Ordering::Acquire) {
                    continue;
                }
                run.note(LogLine::warning(format!(
                    "{} was still working when {event}.",
                    run.name()
                )));
                run.finish_remaining(ItemStatus::Canceled, &format!("Stopped when {event}."));
                self.core.lingering.lock().push(run.clone());
                run.abandoned.store(true, Ordering::Release);
            }
            finish_session(&self.core, &session.shared, record_of(&session.shared));
        }
        self.core.store.flush()
    }

    /// What a sync of `keys` would do, asked of their handlers on a thread of its own;
    /// nothing changes. The answer holds one preview per key, in their order. With
    /// `may_bother_user`, a handler may ask what it needs to look (a logon) as in a sync:
    /// the caller then answers the dialogs the events bring meanwhile.
    pub fn preview(&self, keys: Vec<ItemKey>, may_bother_user: bool) -> Receiver<Vec<ItemPreview>> {
        let (answer, answered) = crossbeam_channel::bounded(1);
        let engine = self.clone();
        spawn_named("preview".into(), move || {
            let _ = answer.send(engine.preview_now(&keys, may_bother_user));
        });
        answered
    }

    fn preview_now(&self, keys: &[ItemKey], may_bother_user: bool) -> Vec<ItemPreview> {
        let context = RunContext {
            reason: RunReason::Manual,
            may_bother_user,
        };
        let mut answers: HashMap<&ItemKey, Planned> = HashMap::new();
        let mut handlers: Vec<&HandlerId> = Vec::new();
        for key in keys {
            if !handlers.contains(&&key.handler) {
                handlers.push(&key.handler);
            }
        }
        for handler in handlers {
            let asked: Vec<&ItemKey> = keys.iter().filter(|k| &k.handler == handler).collect();
            let items: Vec<ItemId> = asked.iter().map(|k| k.item.clone()).collect();
            let provider = self.core.registry.read().get(handler);
            let answer = match provider {
                None => Err(format!("its handler {handler} is not installed")),
                Some(provider) => call_guarded(|| {
                    let run = Arc::new(
                        Run::new(
                            self.core.clone(),
                            SessionId(self.core.next_id()),
                            handler.clone(),
                            provider.display_name(),
                            context.clone(),
                        )
                        .for_dialog(),
                    );
                    for key in &asked {
                        run.add_detached_item(&key.item, self.item_name(key));
                    }
                    let callback = Callback::from_host(run);
                    let mut instance = provider.create()?;
                    if instance.initialize(&context)? == Participation::NotTakingPart {
                        return Err(HandlerError::new(format!(
                            "{} does not take part right now",
                            provider.display_name()
                        )));
                    }
                    instance.preview(&items, &callback)
                })
                .map_err(|failure| failure.to_string()),
            };
            match answer {
                Ok(Some(plans)) => {
                    for (item, plan) in plans {
                        if let Some(key) = asked.iter().find(|k| k.item == item) {
                            answers.insert(key, plan.map_or_else(Planned::Failed, Planned::Plan));
                        }
                    }
                }
                Ok(None) => answers.extend(asked.iter().map(|k| (*k, Planned::Unsupported))),
                Err(text) => {
                    answers.extend(asked.iter().map(|k| (*k, Planned::Failed(text.clone()))));
                }
            }
        }
        keys.iter()
            .map(|key| ItemPreview {
                key: key.clone(),
                name: self.item_name(key),
                planned: answers
                    .remove(key)
                    .unwrap_or_else(|| Planned::Failed("its handler said nothing of it".into())),
            })
            .collect()
    }

    /// The name of an item as last listed, or its id.
    pub fn item_name(&self, key: &ItemKey) -> String {
        self.core
            .names
            .read()
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.item.to_string())
    }

    fn busy_items(&self) -> Vec<ItemKey> {
        self.core.busy_items()
    }

    fn running_log_entry(&self, log: LogId) -> Option<crate::core::model::LogEntry> {
        self.sessions()
            .iter()
            .flat_map(|s| s.shared.runs.lock().clone())
            .find_map(|run| run.log.lock().iter().find(|e| e.id == log).cloned())
    }

    fn new_session(&self, reason: RunReason) -> Arc<SessionShared> {
        let shared = Arc::new(SessionShared {
            id: SessionId(self.core.next_id()),
            reason,
            started: SystemTime::now(),
            runs: Mutex::new(Vec::new()),
            record: Mutex::new(None),
            finished: Condvar::new(),
        });
        self.core.sessions.lock().insert(shared.id, shared.clone());
        shared
    }

    fn launch(&self, session: Arc<SessionShared>, work: Vec<HandlerWork>) -> SessionHandle {
        let handle = SessionHandle {
            shared: session.clone(),
            core: self.core.clone(),
        };
        let core = self.core.clone();
        spawn_named(format!("session-{}", session.id.0), move || {
            supervise(&core, &session, work);
        });
        handle
    }
}

/// A running (or finished) session: the user's controls over it.
#[derive(Clone)]
pub struct SessionHandle {
    shared: Arc<SessionShared>,
    core: Arc<Core>,
}

impl SessionHandle {
    pub fn id(&self) -> SessionId {
        self.shared.id
    }

    /// Why this session runs (its SYNCMGRFLAG event).
    pub fn reason(&self) -> &RunReason {
        &self.shared.reason
    }

    /// Skips an item (SetItemStatus(SKIPPED)): its handler hears it at its next call for the
    /// item and leaves the item as it is.
    pub fn skip(&self, key: &ItemKey) {
        self.request(key, UserRequest::Skip);
    }

    /// Stops an item: its handler hears it at its next call (S_SYNCMGR_CANCELITEM).
    pub fn stop_item(&self, key: &ItemKey) {
        self.request(key, UserRequest::Stop);
    }

    /// Stops everything in this session (S_SYNCMGR_CANCELALL); open dialogs close.
    pub fn stop_all(&self) {
        let now = Instant::now();
        for run in self.shared.runs.lock().iter() {
            if !run.stop_all.swap(true, Ordering::AcqRel) {
                *run.stop_all_at.lock() = Some(now);
                for id in run.item_ids() {
                    if let Some(slot) = run.slot(&id) {
                        slot.update(|live| {
                            if !live.status.is_terminal() {
                                live.request = Some(UserRequest::Stop);
                                live.set_text("Stopping…");
                            }
                        });
                    }
                }
            }
        }
        self.core.bus.wake(Wake::Now);
    }

    pub fn is_finished(&self) -> bool {
        self.shared.record.lock().is_some()
    }

    /// Waits for the session to end; `None` if it did not end in time.
    pub fn wait(&self, timeout: Duration) -> Option<SessionRecord> {
        let deadline = Instant::now() + timeout;
        let mut record = self.shared.record.lock();
        while record.is_none() {
            if self
                .shared
                .finished
                .wait_until(&mut record, deadline)
                .timed_out()
            {
                break;
            }
        }
        record.clone()
    }

    /// The items of this session, in order.
    pub fn items(&self) -> Vec<ItemKey> {
        self.shared
            .runs
            .lock()
            .iter()
            .flat_map(|run| {
                run.item_ids()
                    .into_iter()
                    .map(|id| run.key(&id))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn request(&self, key: &ItemKey, request: UserRequest) {
        let runs = self.shared.runs.lock().clone();
        let Some(run) = runs.iter().find(|r| r.handler == key.handler) else {
            return;
        };
        let Some(slot) = run.slot(&key.item) else {
            return;
        };
        // The stop timeout starts when the request reaches the handler (`Run::reply_for`):
        // an item the handler has not reached yet is not being ignored.
        slot.update(|live| {
            if live.status.is_terminal() || live.request.is_some() {
                return;
            }
            live.request = Some(request);
            live.set_text(match request {
                UserRequest::Skip => "Skipping…",
                UserRequest::Stop => "Stopping…",
            });
        });
    }
}

/// A handler's part in a session: its run, its provider (if installed), what to do.
type HandlerWork = (Arc<Run>, Option<Arc<dyn HandlerProvider>>, Lifecycle);

enum Lifecycle {
    Sync(Vec<ItemId>),
    ShowError(LogId),
}

fn run_key(handler: &HandlerId, item: &ItemId) -> ItemKey {
    ItemKey {
        handler: handler.clone(),
        item: item.clone(),
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn spawn_named(name: String, work: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name)
        .spawn(work)
        .expect("spawn a worker thread");
}

fn unavailable(provider: &dyn HandlerProvider, error: String) -> Listing {
    Listing {
        handler: provider.id(),
        info: HandlerInfo {
            name: provider.display_name(),
            icon: Default::default(),
            has_properties: false,
        },
        items: Vec::new(),
        error: Some(error),
    }
}

/// Starts listing a handler's items, unless a listing of it is in flight already, which
/// `answer` then joins: a handler whose listing hangs costs one thread, however often it
/// is asked. Tells whether a new listing started.
fn list_once(core: &Arc<Core>, provider: Arc<dyn HandlerProvider>, answer: ListingWaiter) -> bool {
    let id = provider.id();
    let mut listings = core.listings.lock();
    if let Some(waiting) = listings.get_mut(&id) {
        waiting.push(answer);
        return false;
    }
    listings.insert(id.clone(), vec![answer]);
    drop(listings);
    let core = core.clone();
    spawn_named(format!("list-{id}"), move || {
        let listing = list_handler(&core, provider.as_ref());
        let waiting = core.listings.lock().remove(&id).unwrap_or_default();
        for answer in waiting {
            answer(listing.clone());
        }
    });
    true
}

/// What is said of a handler that did not list its items in time.
fn too_slow(core: &Core, provider: &dyn HandlerProvider) -> Listing {
    let timeout = core.config.list_timeout.as_secs_f32();
    unavailable(
        provider,
        format!("it did not list its items within {timeout} s"),
    )
}

fn list_handler(core: &Core, provider: &dyn HandlerProvider) -> Listing {
    let context = RunContext {
        reason: RunReason::Settings,
        may_bother_user: false,
    };
    let listed = call_guarded(|| {
        let mut instance = provider.create()?;
        instance.initialize(&context)?;
        let info = instance.info();
        let Enumeration {
            items,
            some_missing,
        } = instance.enumerate()?;
        Ok((info, items, some_missing))
    });
    match listed {
        Ok((info, items, some_missing)) => {
            let present: Vec<ItemId> = items.iter().map(|i| i.id.clone()).collect();
            core.store
                .forget_gone_items(&provider.id(), &present, some_missing);
            Listing {
                handler: provider.id(),
                info,
                items,
                error: None,
            }
        }
        Err(failure) => unavailable(provider, failure.to_string()),
    }
}

fn remember_names(core: &Core, listing: &Listing) {
    let mut names = core.names.write();
    for item in &listing.items {
        let key = ItemKey {
            handler: listing.handler.clone(),
            item: item.id.clone(),
        };
        names.insert(key, item.name.clone());
    }
}

fn publish_listing(core: &Core, listing: Listing) {
    remember_names(core, &listing);
    core.bus.send(match listing.error {
        None => Event::HandlerListed {
            handler: listing.handler,
            info: listing.info,
            items: listing.items,
        },
        Some(error) => Event::HandlerUnavailable {
            handler: listing.handler,
            name: listing.info.name,
            error,
        },
    });
}

/// Runs every handler of a session on its own thread and watches them until each one is
/// done or abandoned; then records the session.
fn supervise(core: &Arc<Core>, session: &Arc<SessionShared>, work: Vec<HandlerWork>) {
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<()>();
    let mut running: Vec<Arc<Run>> = Vec::new();
    for (run, provider, lifecycle) in work {
        let Some(provider) = provider else {
            let text = format!("The handler \"{}\" is not installed.", run.handler);
            run.note(LogLine::error(text.clone()));
            run.finish_remaining(ItemStatus::Failed, &text);
            continue;
        };
        running.push(run.clone());
        let done_tx = done_tx.clone();
        spawn_named(format!("handler-{}", run.handler), move || {
            drive(&run, provider.as_ref(), lifecycle);
            run.returned.store(true, Ordering::Release);
            let _ = done_tx.send(());
        });
    }
    drop(done_tx);
    while !running.is_empty() {
        let _ = done_rx.recv_timeout(Duration::from_millis(50));
        // A handler that returned is done, even if its deadline passed meanwhile: it is
        // never abandoned after the fact.
        running.retain(|run| !run.returned.load(Ordering::Acquire));
        let now = Instant::now();
        running.retain(|run| {
            let stopped_at = *run.stop_all_at.lock();
            if stopped_at.is_some_and(|at| now.duration_since(at) >= run.stop_timeout) {
                abandon(core, run);
                return false;
            }
            fail_unstopped_items(run, now);
            true
        });
    }
    finish_session(core, session, record_of(session));
}

/// Records a session once (at its end, or earlier when Sync Center closes or quits), and
/// tells whoever waits for it.
fn finish_session(
    core: &Core,
    session: &SessionShared,
    (record, activity): (SessionRecord, RunActivity),
) {
    let mut kept = session.record.lock();
    if kept.is_some() {
        return;
    }
    // A details view that retried nothing and said nothing: no run to remember.
    if !record.items.is_empty() || !record.log.is_empty() {
        core.store.record_session(record.clone(), activity);
    }
    core.sessions.lock().remove(&session.id);
    *kept = Some(record.clone());
    drop(kept);
    session.finished.notify_all();
    core.bus.send(Event::SessionFinished(record));
}

/// Gives up on a handler that ignored a stop: its items fail, its UI slot is taken back, and
/// whatever it reports from now on is ignored. A handler in its own process sees it and
/// its process is ended; a thread in the center's process is left to end on its own.
/// Either way its items stay busy until it has returned.
fn abandon(core: &Core, run: &Arc<Run>) {
    let what = if run.own_process {
        "Sync Center ended it"
    } else {
        "Sync Center stopped waiting for it"
    };
    let text = format!(
        "{} did not stop within {} s after Stop; {what}.",
        run.name(),
        run.stop_timeout.as_secs_f32()
    );
    run.note(LogLine::error(text.clone()));
    core.lingering.lock().push(run.clone());
    run.abandoned.store(true, Ordering::Release);
    run.finish_remaining(ItemStatus::Failed, &text);
    if let Some((ticket, _)) = run.ui_ticket.lock().take() {
        core.broker.release(ticket);
    }
}

/// An item whose stop or skip the handler ignored for the whole timeout fails on its own.
fn fail_unstopped_items(run: &Run, now: Instant) {
    let timeout = run.stop_timeout;
    let overdue = run.overdue(now, timeout);
    for item in overdue {
        run.stop_clock(&item);
        let Some(slot) = run.slot(&item) else {
            continue;
        };
        let text = format!(
            "{} did not stop this item within {} s.",
            run.name(),
            timeout.as_secs_f32()
        );
        let failed = slot.update(|live| {
            if live.status.is_terminal() {
                return false;
            }
            let _ = live.set_status(ItemStatus::Failed);
            live.set_text(&text);
            true
        });
        if failed == Some(true) {
            run.note(LogLine::error(text).item(&item));
        }
    }
}

/// A session's record, and the entries its handlers listed as changed.
fn record_of(session: &SessionShared) -> (SessionRecord, RunActivity) {
    let runs = session.runs.lock().clone();
    let mut items = Vec::new();
    let mut log = Vec::new();
    let mut listed = RunActivity::new();
    for run in &runs {
        let suppressed = *run.suppressed_lines.lock();
        if suppressed > 0
            && let Some(last) = run.log.lock().last_mut()
        {
            last.text
                .push_str(&format!(" ({suppressed} more lines were not kept)"));
        }
        let lines = run.log.lock().clone();
        let mut activity = std::mem::take(&mut *run.activity.lock());
        let conflicts = run.conflicts_found.lock().clone();
        for id in run.item_ids() {
            let Some(slot) = run.slot(&id) else { continue };
            let Some(ended) = slot.ended() else { continue };
            let changes = activity.remove(&id).unwrap_or_default();
            let count = |level| {
                lines
                    .iter()
                    .filter(|l| l.level == level && l.item.as_ref() == Some(&id))
                    .count() as u32
            };
            let problems = Problems {
                errors: count(LogLevel::Error),
                warnings: count(LogLevel::Warning),
                conflicts: conflicts.get(&id).copied().unwrap_or_else(|| {
                    changes
                        .counts
                        .count(crate::core::activity::Change::Conflict) as u32
                }),
            };
            if !changes.entries.is_empty() {
                listed.push(ItemActivity {
                    key: run.key(&id),
                    entries: changes.entries,
                });
            }
            items.push(ItemResult {
                key: run.key(&id),
                name: run.item_name(&id),
                handler_name: run.name(),
                status: ended.status,
                text: ended.text,
                started: ended.started,
                ended: ended.at,
                activity: changes.counts,
                problems,
                could_not_ask: ended.could_not_ask,
            });
        }
        log.extend(lines);
    }
    log.sort_by_key(|e| e.id);
    let record = SessionRecord {
        id: session.id,
        reason: reason_word(&session.reason).to_string(),
        started: session.started,
        finished: SystemTime::now(),
        items,
        log,
    };
    (record, listed)
}

pub fn reason_word(reason: &RunReason) -> &'static str {
    match reason {
        RunReason::Manual => "manual",
        RunReason::Scheduled => "scheduled",
        RunReason::Idle => "idle",
        RunReason::Invoke { .. } => "invoked",
        RunReason::Logon => "logon",
        RunReason::Changed => "change",
        RunReason::Network => "network",
        RunReason::Settings => "settings",
    }
}

/// A handler's turn, for handlers that do not run in two sessions at once; the next
/// session's run of it goes on when this ends.
struct Turn<'a> {
    core: &'a Core,
    handler: HandlerId,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.core.handler_turns.lock().remove(&self.handler);
        self.core.turn_ended.notify_all();
    }
}

/// Waits, with the items saying why, until no other session runs this handler. `None`
/// when the run was stopped meanwhile.
fn take_turn<'a>(run: &'a Run, provider: &dyn HandlerProvider) -> Option<Option<Turn<'a>>> {
    if provider.concurrent_sessions() {
        return Some(None);
    }
    let core = &run.core;
    let mut turns = core.handler_turns.lock();
    let mut saved = Vec::new();
    while turns.contains(&run.handler) {
        if saved.is_empty() {
            let slots: Vec<_> = run.item_ids().iter().filter_map(|i| run.slot(i)).collect();
            saved = set_waiting(&slots, WaitReason::Handler);
        }
        if run.is_stopped() {
            drop(turns);
            restore_after_wait(&saved);
            return None;
        }
        core.turn_ended
            .wait_for(&mut turns, Duration::from_millis(50));
    }
    turns.insert(run.handler.clone());
    drop(turns);
    restore_after_wait(&saved);
    Some(Some(Turn {
        core,
        handler: run.handler.clone(),
    }))
}

/// One handler's whole lifecycle in a session, on its worker thread.
fn drive(run: &Arc<Run>, provider: &dyn HandlerProvider, lifecycle: Lifecycle) {
    let Some(_turn) = take_turn(run, provider) else {
        run.finish_remaining(ItemStatus::Canceled, "Stopped.");
        return;
    };
    let callback = Callback::from_host(run.clone());
    let result = call_guarded(|| -> Result<(), HandlerError> {
        let mut handler = provider.create()?;
        let outcome = lifecycle_steps(run, handler.as_mut(), &callback, lifecycle);
        drop(handler);
        outcome
    });
    if run.abandoned.load(Ordering::Acquire) {
        return;
    }
    // A handler that returned while holding the UI slot gives it back now.
    run.release_ui();
    if let Err(failure) = result {
        let text = match &failure {
            CallFailure::Error(e) => format!("{}: {e}", run.name()),
            CallFailure::Panic(p) => format!("{} crashed: {p}", run.name()),
        };
        run.note(LogLine::error(text.clone()));
        run.finish_remaining(ItemStatus::Failed, &text);
    }
    leave_unasked_waiting(run);
}

/// Items whose handler could not ask the user in a run nobody asked for end waiting for
/// the user rather than failed (`status::unasked_outcome`). The center decides this, not
/// the handler, so Vista's rule for handlers' reports does not apply.
fn leave_unasked_waiting(run: &Run) {
    let someone_asked = run.context.reason.allows_prompts();
    for item in run.item_ids() {
        if let Some(slot) = run.slot(&item) {
            slot.update(|live| {
                if live.could_not_ask {
                    let (status, wait) = unasked_outcome(live.status, someone_asked);
                    if status != live.status {
                        live.status = status;
                        live.wait = wait;
                    }
                }
            });
        }
    }
}

/// The strict order: initialize → (show error) → info → enumerate → prepare → synchronize.
/// Returns an error for a failure that fails every remaining item.
fn lifecycle_steps(
    run: &Arc<Run>,
    handler: &mut dyn Handler,
    callback: &Callback,
    lifecycle: Lifecycle,
) -> Result<(), HandlerError> {
    if handler.initialize(&run.context)? == Participation::NotTakingPart {
        let text = format!("{} did not take part in this run.", run.name());
        run.finish_remaining(ItemStatus::Skipped, &text);
        return Ok(());
    }
    let items = match lifecycle {
        Lifecycle::Sync(items) => items,
        Lifecycle::ShowError(log) => match handler.show_error(log, callback)? {
            ShowErrorOutcome::Done => return Ok(()),
            ShowErrorOutcome::Retry(items) => {
                let _taking = run.core.starting.lock();
                let busy = run.core.busy_items();
                let (running, items): (Vec<ItemId>, Vec<ItemId>) = items
                    .into_iter()
                    .partition(|item| busy.contains(&run.key(item)));
                for item in running {
                    run.note(LogLine::info(format!(
                        "{item} is synchronizing already, so it was not retried."
                    )));
                }
                for item in &items {
                    let key = run.key(item);
                    let name = run
                        .core
                        .names
                        .read()
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| item.to_string());
                    run.add_item(item, name);
                }
                run.core.bus.send(Event::SessionItemsAdded {
                    session: run.session,
                    items: items.iter().map(|i| run.key(i)).collect(),
                });
                items
            }
        },
    };
    *run.handler_name.write() = handler.info().name;
    let listed = handler.enumerate()?;
    let listing = Listing {
        handler: run.handler.clone(),
        info: handler.info(),
        items: listed.items.clone(),
        error: None,
    };
    publish_listing(&run.core, listing);
    for item in &items {
        if !listed.items.iter().any(|i| &i.id == item) {
            let text = format!("{} no longer lists this item.", run.name());
            fail_item(run, item, &text);
        }
    }
    if run.is_stopped() {
        run.finish_remaining(ItemStatus::Canceled, "Stopped.");
        return Ok(());
    }
    let ready = open_items(run, &items);
    if ready.is_empty() {
        return Ok(());
    }
    if let Err(e) = handler.prepare(&ready, callback) {
        let text = format!("{} could not get ready: {e}", run.name());
        run.note(LogLine::error(text.clone()));
        run.finish_remaining(ItemStatus::Failed, &text);
        return Ok(());
    }
    if run.is_stopped() {
        run.finish_remaining(ItemStatus::Canceled, "Stopped.");
        return Ok(());
    }
    let ready = open_items(run, &items);
    if ready.is_empty() {
        return Ok(());
    }
    handler.synchronize(&ready, callback)?;
    settle(run, &ready);
    Ok(())
}

/// Items without a final status, after acting on requests the handler never saw.
fn open_items(run: &Run, items: &[ItemId]) -> Vec<ItemId> {
    items
        .iter()
        .filter(|item| {
            run.slot(item).is_some_and(|slot| {
                slot.update(|live| {
                    honor_request(live);
                    !live.status.is_terminal()
                })
                .unwrap_or(false)
            })
        })
        .cloned()
        .collect()
}

/// After `synchronize` returned Ok: items the handler left open end as the user asked, or
/// as succeeded.
fn settle(run: &Run, items: &[ItemId]) {
    let stopped = run.is_stopped();
    for item in items {
        if let Some(slot) = run.slot(item) {
            slot.update(|live| {
                honor_request(live);
                if live.status.is_terminal() {
                    return;
                }
                let (status, text) = if stopped {
                    (ItemStatus::Canceled, "Stopped.")
                } else {
                    (ItemStatus::Succeeded, "")
                };
                // Ending drops the running text; only "Stopped." is said.
                let _ = live.set_status(status);
                live.set_text(text);
            });
        }
    }
}

fn fail_item(run: &Run, item: &ItemId, text: &str) {
    if let Some(slot) = run.slot(item) {
        slot.update(|live| {
            let _ = live.set_status(ItemStatus::Failed);
            live.set_text(text);
        });
    }
    run.note(LogLine::error(text.to_string()).item(item));
}
