//! A scripted test handler and a center around it, for the contract tests.
#![allow(dead_code)]

use crossbeam_channel::Receiver;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synccenter::core::callback::{Callback, Progress, Reply};
use synccenter::core::dialog::DialogRequest;
use synccenter::core::engine::{Engine, EngineConfig, SessionHandle, SessionRequest};
use synccenter::core::events::Event;
use synccenter::core::handler::{FnProvider, Handler, HandlerProvider, HandlerResult, Registry};
use synccenter::core::model::{
    Enumeration, HandlerInfo, Icon, ItemId, ItemInfo, ItemKey, LogId, Participation,
    PropertiesOutcome, PropertiesTarget, RunContext, RunReason, ShowErrorOutcome,
};
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, SessionRecord, Store};

/// What the handler was asked, in order.
pub type Journal = Arc<Mutex<Vec<String>>>;

type Step = Arc<dyn Fn(&[ItemId], &Callback) -> HandlerResult<()> + Send + Sync>;
type ShowError = Arc<dyn Fn(LogId, &Callback) -> HandlerResult<ShowErrorOutcome> + Send + Sync>;
type Properties =
    Arc<dyn Fn(&PropertiesTarget, &Callback) -> HandlerResult<PropertiesOutcome> + Send + Sync>;

/// A handler whose every step is a closure.
#[derive(Clone)]
pub struct Script {
    pub id: String,
    pub items: Vec<String>,
    pub participate: bool,
    pub some_missing: bool,
    pub prepare: Step,
    pub synchronize: Step,
    pub show_error: ShowError,
    pub properties: Properties,
    pub journal: Journal,
}

impl Script {
    /// A handler with these items that syncs each in `steps` steps of `delay`.
    pub fn new(id: &str, items: &[&str]) -> Self {
        Self {
            id: id.into(),
            items: items.iter().map(|s| s.to_string()).collect(),
            participate: true,
            some_missing: false,
            prepare: Arc::new(|_, _| Ok(())),
            synchronize: Arc::new(|items, cb| sync_steps(items, cb, 5, Duration::from_millis(5))),
            show_error: Arc::new(|_, _| Ok(ShowErrorOutcome::Done)),
            properties: Arc::new(|_, _| Ok(PropertiesOutcome::Unchanged)),
            journal: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn prepare(
        mut self,
        f: impl Fn(&[ItemId], &Callback) -> HandlerResult<()> + Send + Sync + 'static,
    ) -> Self {
        self.prepare = Arc::new(f);
        self
    }

    pub fn synchronize(
        mut self,
        f: impl Fn(&[ItemId], &Callback) -> HandlerResult<()> + Send + Sync + 'static,
    ) -> Self {
        self.synchronize = Arc::new(f);
        self
    }

    pub fn show_error(
        mut self,
        f: impl Fn(LogId, &Callback) -> HandlerResult<ShowErrorOutcome> + Send + Sync + 'static,
    ) -> Self {
        self.show_error = Arc::new(f);
        self
    }

    pub fn properties(
        mut self,
        f: impl Fn(&PropertiesTarget, &Callback) -> HandlerResult<PropertiesOutcome>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.properties = Arc::new(f);
        self
    }

    pub fn provider(&self) -> Arc<dyn HandlerProvider> {
        let script = self.clone();
        let name = format!("Handler {}", self.id);
        FnProvider::new(self.id.clone(), name, move || {
            script.journal.lock().push("create".into());
            Box::new(Scripted(script.clone())) as Box<dyn Handler>
        })
    }

    pub fn journal(&self) -> Vec<String> {
        self.journal.lock().clone()
    }

    pub fn key(&self, item: &str) -> ItemKey {
        ItemKey::new(self.id.as_str(), item)
    }

    pub fn keys(&self) -> Vec<ItemKey> {
        self.items.iter().map(|i| self.key(i)).collect()
    }
}

/// Syncs each item in steps, asking before each item and at every step.
pub fn sync_steps(
    items: &[ItemId],
    cb: &Callback,
    steps: u64,
    delay: Duration,
) -> HandlerResult<()> {
    for item in items {
        if let Some(status) = cb.check(item).final_status() {
            cb.progress(item, Progress::status(status));
            continue;
        }
        for step in 0..=steps {
            let reply = cb.progress(item, Progress::steps(step, steps).with_text("Working…"));
            if let Some(status) = reply.final_status() {
                cb.progress(item, Progress::status(status));
                if reply == Reply::CancelAll {
                    return Ok(());
                }
                break;
            }
            std::thread::sleep(delay);
        }
    }
    Ok(())
}

struct Scripted(Script);

impl Scripted {
    fn note(&self, what: String) {
        self.0.journal.lock().push(what);
    }
}

impl Handler for Scripted {
    fn initialize(&mut self, run: &RunContext) -> HandlerResult<Participation> {
        self.note(format!(
            "initialize {:?} bother={}",
            run.reason, run.may_bother_user
        ));
        Ok(if self.0.participate {
            Participation::TakesPart
        } else {
            Participation::NotTakingPart
        })
    }

    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: format!("Handler {}", self.0.id),
            icon: Icon::Generic,
            has_properties: false,
        }
    }

    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        self.note("enumerate".into());
        Ok(Enumeration {
            items: self
                .0
                .items
                .iter()
                .map(|i| ItemInfo::new(i.as_str(), format!("Item {i}")))
                .collect(),
            some_missing: self.0.some_missing,
        })
    }

    fn prepare(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        self.note(format!("prepare {}", ids(items)));
        (self.0.prepare)(items, callback)
    }

    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        self.note(format!("synchronize {}", ids(items)));
        (self.0.synchronize)(items, callback)
    }

    fn show_error(&mut self, error: LogId, callback: &Callback) -> HandlerResult<ShowErrorOutcome> {
        self.note("show_error".into());
        (self.0.show_error)(error, callback)
    }

    fn show_properties(
        &mut self,
        target: &PropertiesTarget,
        callback: &Callback,
    ) -> HandlerResult<PropertiesOutcome> {
        self.note("show_properties".into());
        (self.0.properties)(target, callback)
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.note("release".into());
    }
}

fn ids(items: &[ItemId]) -> String {
    items
        .iter()
        .map(|i| i.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A center over scripted handlers in a temporary home.
pub struct Center {
    pub engine: Engine,
    pub events: Receiver<Event>,
    pub dir: tempfile::TempDir,
}

impl Center {
    pub fn new(scripts: &[&Script]) -> Self {
        Self::with_stop_timeout(scripts, Duration::from_secs(10))
    }

    /// A second center (a restart) over the home of an earlier one.
    pub fn reopen(scripts: &[&Script], home: &Home) -> Self {
        let mut registry = Registry::new();
        for script in scripts {
            registry.add(script.provider());
        }
        let (store, _) = Store::open(home.clone());
        let (engine, events) = Engine::new(registry, store, EngineConfig::default());
        Self {
            engine,
            events,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn with_stop_timeout(scripts: &[&Script], stop_timeout: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut registry = Registry::new();
        for script in scripts {
            registry.add(script.provider());
        }
        let (store, notices) = Store::open(Home::under(dir.path()));
        assert!(notices.is_empty(), "{notices:?}");
        let config = EngineConfig {
            stop_timeout,
            ..EngineConfig::default()
        };
        let (engine, events) = Engine::new(registry, store, config);
        Self {
            engine,
            events,
            dir,
        }
    }

    pub fn start(&self, items: Vec<ItemKey>, may_bother_user: bool) -> SessionHandle {
        self.engine
            .start(SessionRequest {
                reason: RunReason::Manual,
                may_bother_user,
                items,
            })
            .unwrap()
    }

    /// Runs to the end, dropping any dialog (which answers "canceled").
    pub fn run(&self, items: Vec<ItemKey>, may_bother_user: bool) -> SessionRecord {
        let session = self.start(items, may_bother_user);
        wait(&session)
    }

    /// The next dialog the core sends, within `timeout`.
    pub fn next_dialog(&self, timeout: Duration) -> Option<DialogRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.events.recv_timeout(left) {
                Ok(Event::Dialog(request)) => return Some(request),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// The next event that `pick` takes, within `timeout`.
    pub fn next_event<T>(&self, timeout: Duration, pick: impl Fn(Event) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if let Some(found) = pick(event) {
                        return Some(found);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Waits until an item's live status satisfies `pred`.
    pub fn wait_for_status(&self, key: &ItemKey, pred: impl Fn(ItemStatus) -> bool) -> ItemStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(snapshot) = self.engine.board().snapshot(key)
                && pred(snapshot.status)
            {
                return snapshot.status;
            }
            assert!(
                Instant::now() < deadline,
                "{key} never reached the expected status"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

pub fn wait(session: &SessionHandle) -> SessionRecord {
    session
        .wait(Duration::from_secs(30))
        .expect("the session ends")
}

/// The status of an item in a finished session.
pub fn status(record: &SessionRecord, key: &ItemKey) -> ItemStatus {
    record
        .items
        .iter()
        .find(|i| &i.key == key)
        .unwrap_or_else(|| panic!("{key} not in the record"))
        .status
}

pub fn text(record: &SessionRecord, key: &ItemKey) -> String {
    record
        .items
        .iter()
        .find(|i| &i.key == key)
        .unwrap()
        .text
        .clone()
}
