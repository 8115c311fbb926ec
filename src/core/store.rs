//! What the center remembers: which items are checked, when each item last synced, the
//! results of every run, and unresolved conflicts.
//!
//! Everything lives in memory behind a lock, so front ends read it without touching the
//! disk; a writer thread saves each file atomically after a change. A file that cannot be
//! read is moved aside with a timestamp and reported once, and the center starts without it.
//!
//! Several processes may use one home at once (the window and a `synccenter` command in a
//! terminal). Under an advisory lock (flock on `data/.lock`) the writer reads each shared
//! file again and replays this process's changes onto it (`changes`), so one process never
//! undoes what another saved; it also picks up the runs other processes recorded, and looks
//! for their changes every few seconds. A save that fails is retried and told once, in
//! plain words, to whoever listens (`Store::set_news`), and `flush` says what is unsaved.

mod changes;

use crate::core::activity::{ActivityCounts, RunActivity};
use crate::core::conflicts::{ConflictRecord, ConflictReport, Resolution};
use crate::core::model::{
    HandlerId, ItemId, ItemKey, LogEntry, LogId, LogLevel, SessionId, opt_unix_millis, unix_millis,
};
use crate::core::status::{ItemStatus, Problems};
use changes::{Change, Shared, SharedFile};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::{Mutex, RwLock};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the writer looks whether another process changed the shared files: a run a
/// terminal recorded shows in the window within this.
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// How long `flush` waits for the writer.
const FLUSH_PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot find a home folder for Sync Center's settings: set SYNCCENTER_HOME or pass --home"
    )]
    NoHome,
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where the center keeps its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    /// Settings: checked items, folder pairs, handler manifests.
    pub config_dir: PathBuf,
    /// Records: last syncs, results history, conflicts.
    pub data_dir: PathBuf,
}

impl Home {
    /// `--home DIR` or `SYNCCENTER_HOME` put everything under one folder; otherwise the XDG
    /// config and data folders. The folders are made, and named by their canonical paths,
    /// so one home has one name however it was written (`./h`, `/abs/h`, a link to it).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Home, StoreError> {
        let explicit = explicit.or_else(|| std::env::var_os("SYNCCENTER_HOME").map(PathBuf::from));
        let home = match explicit {
            Some(dir) => Home::under(&dir),
            None => {
                let dirs = directories::ProjectDirs::from("", "", "synccenter")
                    .ok_or(StoreError::NoHome)?;
                Home {
                    config_dir: dirs.config_dir().to_path_buf(),
                    data_dir: dirs.data_dir().to_path_buf(),
                }
            }
        };
        home.create_dirs()?;
        let canonical = |dir: &PathBuf| {
            dir.canonicalize().map_err(|source| StoreError::CreateDir {
                path: dir.clone(),
                source,
            })
        };
        Ok(Home {
            config_dir: canonical(&home.config_dir)?,
            data_dir: canonical(&home.data_dir)?,
        })
    }

    pub fn create_dirs(&self) -> Result<(), StoreError> {
        for dir in [&self.config_dir, &self.data_dir, &self.history_dir()] {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(())
    }

    pub fn under(dir: &Path) -> Home {
        Home {
            config_dir: dir.join("config"),
            data_dir: dir.join("data"),
        }
    }

    fn history_dir(&self) -> PathBuf {
        self.data_dir.join("history")
    }
    fn session_file(&self, id: SessionId) -> PathBuf {
        self.history_dir().join(format!("{:020}.json", id.0))
    }
    /// The entries a run's items changed, beside its record (in a folder of their own, so
    /// the history folder holds only records).
    fn activity_dir(&self) -> PathBuf {
        self.history_dir().join("activity")
    }
    fn activity_file(&self, id: SessionId) -> PathBuf {
        self.activity_dir().join(format!("{:020}.json", id.0))
    }
    /// Held (flock) while a process merges and saves the shared files.
    fn lock_file(&self) -> PathBuf {
        self.data_dir.join(".lock")
    }
}

/// What the center remembers of an item between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    #[serde(default, with = "opt_unix_millis")]
    pub last_synced: Option<SystemTime>,
    #[serde(default)]
    pub last_status: Option<ItemStatus>,
    #[serde(default)]
    pub last_text: String,
    /// The run the status and text come from: a run that a later one took the item over
    /// from never puts its older result back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_session: Option<SessionId>,
    /// What that run left: errors and warnings logged, conflicts found.
    #[serde(default, skip_serializing_if = "Problems::is_none")]
    pub last_problems: Problems,
}

/// How one item ended in one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub key: ItemKey,
    pub name: String,
    pub handler_name: String,
    pub status: ItemStatus,
    pub text: String,
    /// When its handler first reported about the item in this run.
    #[serde(
        default,
        with = "opt_unix_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub started: Option<SystemTime>,
    /// The handler needed the user (a dialog) and this run could not ask: the item waits
    /// for an answer, which the tray and the window offer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub could_not_ask: bool,
    /// When the item reached its final status in this run.
    #[serde(
        default,
        with = "opt_unix_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub ended: Option<SystemTime>,
    /// What it changed, counted (the entries are kept beside the record: `Store::activity`).
    #[serde(default, skip_serializing_if = "ActivityCounts::is_empty")]
    pub activity: ActivityCounts,
    /// What the run left: errors and warnings logged about it, conflicts found.
    #[serde(default, skip_serializing_if = "Problems::is_none")]
    pub problems: Problems,
}

/// One run, as kept in the results history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: SessionId,
    pub reason: String,
    #[serde(with = "unix_millis")]
    pub started: SystemTime,
    #[serde(with = "unix_millis")]
    pub finished: SystemTime,
    pub items: Vec<ItemResult>,
    pub log: Vec<LogEntry>,
}

impl SessionRecord {
    pub fn count(&self, status: ItemStatus) -> usize {
        self.items.iter().filter(|i| i.status == status).count()
    }
}

/// How much history is kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub max_sessions: usize,
    pub max_age: Duration,
    pub max_lines_per_session: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_sessions: 500,
            max_age: Duration::from_secs(90 * 24 * 3600),
            max_lines_per_session: 2000,
        }
    }
}

/// What the store tells the center while it runs.
#[derive(Debug)]
pub enum StoreNews {
    /// Something could not be saved, in plain words; told once until it is saved again.
    SaveFailed(String),
    /// Another process changed the conflicts.
    ConflictsChanged,
    /// Another process changed the items' last results.
    ItemsChanged,
    /// Runs another process recorded.
    RunsRecorded(Vec<SessionRecord>),
}

/// Where the store's news goes (the engine turns it into events).
pub type NewsSink = Arc<dyn Fn(StoreNews) + Send + Sync>;

/// What could not be saved, in plain words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join(" "))]
pub struct SaveError(pub Vec<String>);

struct Data {
    shared: Shared,
    history: Vec<SessionRecord>,
    /// This process's changes to the shared files that are not on disk yet, in order.
    pending: Vec<Change>,
    /// Runs of this process whose file is not written yet (new, or lines retracted).
    unsaved_sessions: BTreeSet<SessionId>,
    /// The listed activity of runs of this process not written yet.
    unsaved_activity: HashMap<SessionId, RunActivity>,
    /// Runs this process knows (kept or pruned): other files in the history folder are
    /// runs another process recorded.
    known_sessions: HashSet<SessionId>,
}

enum Job {
    /// Something changed: save it.
    Save,
    /// Delete these runs' files.
    Prune(Vec<SessionId>),
    Flush(Sender<Result<(), SaveError>>),
}

struct Inner {
    home: Home,
    data: Mutex<Data>,
    /// Files that exist but could not be read or moved aside: never overwritten.
    blocked: Vec<PathBuf>,
    writer: Sender<Job>,
    retention: Retention,
    news: RwLock<Option<NewsSink>>,
    /// What cannot be saved now, by file, in words; told once each.
    failing: Mutex<BTreeMap<PathBuf, String>>,
}

/// The center's memory. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Loads everything under `home`. Returns the notices to show the user once (files that
    /// were damaged and moved aside).
    pub fn open(home: Home) -> (Store, Vec<String>) {
        Self::open_with(home, Retention::default())
    }

    pub fn open_with(home: Home, retention: Retention) -> (Store, Vec<String>) {
        let mut notices = Vec::new();
        if let Err(e) = home.create_dirs() {
            notices.push(format!("Sync Center cannot save its state: {e}."));
        }
        let mut blocked = Vec::new();
        let (n, b) = (&mut notices, &mut blocked);
        let shared = Shared {
            choices: load_json(
                &SharedFile::Choices.path(&home),
                SharedFile::Choices.what(),
                n,
                b,
            ),
            items: load_json(
                &SharedFile::Items.path(&home),
                SharedFile::Items.what(),
                n,
                b,
            ),
            conflicts: load_json(
                &SharedFile::Conflicts.path(&home),
                SharedFile::Conflicts.what(),
                n,
                b,
            ),
        };
        let mut history = load_history(&home.history_dir(), &mut notices);
        let mut known_sessions: HashSet<SessionId> = history.iter().map(|s| s.id).collect();
        let pruned = prune(&mut history, retention, SystemTime::now());
        known_sessions.extend(pruned.iter().copied());
        let watch = Watch::now(&home);
        let (tx, rx) = crossbeam_channel::unbounded();
        let store = Store {
            inner: Arc::new(Inner {
                home,
                data: Mutex::new(Data {
                    shared,
                    history,
                    pending: Vec::new(),
                    unsaved_sessions: BTreeSet::new(),
                    unsaved_activity: HashMap::new(),
                    known_sessions,
                }),
                writer: tx,
                retention,
                blocked,
                news: RwLock::new(None),
                failing: Mutex::new(BTreeMap::new()),
            }),
        };
        let writer = Writer {
            inner: Arc::downgrade(&store.inner),
            watch,
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run(rx))
            .expect("spawn the store writer");
        if !pruned.is_empty() {
            store.send(Job::Prune(pruned));
        }
        (store, notices)
    }

    fn send(&self, job: Job) {
        let _ = self.inner.writer.send(job);
    }

    /// Applies a change here at once and queues it for the file on disk: always for what
    /// the user or a handler said (another process may have saved otherwise meanwhile, so
    /// "no change here" is no reason to leave it out), and only if it changed something
    /// for what the store works out itself (`Forgot`).
    fn change(&self, change: Change) {
        let mut data = self.inner.data.lock();
        let changed = change.apply(&mut data.shared);
        if changed || !matches!(change, Change::Forgot { .. }) {
            data.pending.push(change);
            drop(data);
            self.send(Job::Save);
        }
    }

    pub fn home(&self) -> &Home {
        &self.inner.home
    }

    /// Sends what the store has to say from now on (save failures, other processes'
    /// changes) to `news`.
    pub fn set_news(&self, news: NewsSink) {
        *self.inner.news.write() = Some(news);
    }

    /// Waits until every change so far is on disk; says what could not be saved.
    pub fn flush(&self) -> Result<(), SaveError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.send(Job::Flush(tx));
        rx.recv_timeout(FLUSH_PATIENCE).unwrap_or_else(|_| {
            Err(SaveError(vec![format!(
                "Sync Center's state was still being saved after {} s.",
                FLUSH_PATIENCE.as_secs()
            )]))
        })
    }

    pub fn is_checked(&self, key: &ItemKey, default: bool) -> bool {
        let data = self.inner.data.lock();
        data.shared
            .choices
            .get(&key.handler)
            .and_then(|items| items.get(&key.item))
            .copied()
            .unwrap_or(default)
    }

    pub fn set_checked(&self, key: &ItemKey, checked: bool) {
        self.change(Change::Checked {
            item: key.clone(),
            checked,
        });
    }

    /// After an enumeration: forget the choices of items that are gone, unless the handler
    /// said some items were missing (S_SYNCMGR_MISSINGITEMS), which keeps them.
    pub fn forget_gone_items(&self, handler: &HandlerId, present: &[ItemId], some_missing: bool) {
        if some_missing {
            return;
        }
        self.change(Change::Forgot {
            handler: handler.clone(),
            present: present.to_vec(),
        });
    }

    pub fn item_record(&self, key: &ItemKey) -> Option<ItemRecord> {
        let data = self.inner.data.lock();
        data.shared.items.get(&key.handler)?.get(&key.item).cloned()
    }

    /// The highest run or line id this home has seen, so new ids follow them even when the
    /// clock stepped back.
    pub fn highest_id(&self) -> u64 {
        let data = self.inner.data.lock();
        data.history
            .iter()
            .flat_map(|s| std::iter::once(s.id.0).chain(s.log.iter().map(|l| l.id.0)))
            .max()
            .unwrap_or(0)
    }

    /// Records a finished run: results history, last status and sync of each item, and
    /// the entries its items changed (kept on disk, read back by `activity`).
    pub fn record_session(&self, mut record: SessionRecord, activity: RunActivity) {
        trim_log(&mut record.log, self.inner.retention.max_lines_per_session);
        let id = record.id;
        let ran = Change::Ran {
            session: record.id,
            finished: record.finished,
            results: record.items.clone(),
        };
        let pruned = {
            let mut data = self.inner.data.lock();
            ran.apply(&mut data.shared);
            data.pending.push(ran);
            data.history.retain(|s| s.id != id);
            data.history.push(record);
            data.history.sort_by_key(|s| s.id);
            data.known_sessions.insert(id);
            data.unsaved_sessions.insert(id);
            if !activity.is_empty() {
                data.unsaved_activity.insert(id, activity);
            }
            prune(&mut data.history, self.inner.retention, SystemTime::now())
        };
        self.send(Job::Save);
        if !pruned.is_empty() {
            self.send(Job::Prune(pruned));
        }
    }

    /// The results history, oldest first.
    pub fn history(&self) -> Vec<SessionRecord> {
        self.inner.data.lock().history.clone()
    }

    /// The entries a run's items changed, as listed (the counts are in its record). Reads
    /// the disk: call it off the UI thread. A run that listed nothing has none.
    pub fn activity(&self, session: SessionId) -> Result<RunActivity, String> {
        if let Some(unsaved) = self.inner.data.lock().unsaved_activity.get(&session) {
            return Ok(unsaved.clone());
        }
        let path = self.inner.home.activity_file(session);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "The list of changed files in {} cannot be read: {e}",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RunActivity::new()),
            Err(e) => Err(format!(
                "The list of changed files in {} cannot be read: {e}",
                path.display()
            )),
        }
    }

    /// Forgets how an item's last run ended (its settings changed since, so that no longer
    /// says how it stands); when it last synced is kept.
    pub fn clear_outcome(&self, item: &ItemKey) {
        self.change(Change::Cleared { item: item.clone() });
    }

    pub fn log_entry(&self, id: LogId) -> Option<LogEntry> {
        let data = self.inner.data.lock();
        data.history
            .iter()
            .rev()
            .flat_map(|s| s.log.iter())
            .find(|e| e.id == id)
            .cloned()
    }

    /// Retracts a line `handler` logged (DeleteLogError) from the history; Sync Center's
    /// own notes and other handlers' lines stay. Returns the ids retracted.
    pub fn delete_log_lines(&self, handler: &HandlerId, id: LogId) -> Vec<LogId> {
        let mut data = self.inner.data.lock();
        let mut touched = None;
        // Newest first: the line is usually from a recent run.
        for session in data.history.iter_mut().rev() {
            let Some(at) = session.log.iter().position(|e| e.id == id) else {
                continue;
            };
            let line = &session.log[at];
            if &line.handler == handler && !line.by_center {
                session.log.remove(at);
                touched = Some(session.id);
            }
            break;
        }
        let Some(session) = touched else {
            return Vec::new();
        };
        data.unsaved_sessions.insert(session);
        drop(data);
        self.send(Job::Save);
        vec![id]
    }

    pub fn conflicts(&self) -> Vec<ConflictRecord> {
        self.inner.data.lock().shared.conflicts.clone()
    }

    /// Replaces the conflicts of one item with what its handler found in its latest run.
    /// A resolution the user chose for a conflict that is still there is kept.
    pub fn replace_conflicts(&self, item: &ItemKey, item_name: &str, reports: Vec<ConflictReport>) {
        self.change(Change::Found {
            item: item.clone(),
            name: item_name.to_string(),
            reports,
            at: SystemTime::now(),
        });
    }

    /// Records the user's choice for a conflict; the handler applies it at the next sync.
    /// Returns false when there is no such conflict.
    pub fn resolve_conflict(
        &self,
        item: &ItemKey,
        conflict_id: &str,
        resolution: Resolution,
    ) -> bool {
        let found = self
            .inner
            .data
            .lock()
            .shared
            .conflicts
            .iter()
            .any(|c| &c.item == item && c.report.id == conflict_id);
        if found {
            self.change(Change::Resolved {
                item: item.clone(),
                conflict: conflict_id.to_string(),
                resolution,
            });
        }
        found
    }

    /// The resolutions the user chose for an item's conflicts, for its handler to apply.
    pub fn chosen_resolutions(&self, item: &ItemKey) -> Vec<(ConflictReport, Resolution)> {
        let data = self.inner.data.lock();
        data.shared
            .conflicts
            .iter()
            .filter(|c| &c.item == item)
            .filter_map(|c| Some((c.report.clone(), c.resolution?)))
            .collect()
    }
}

impl SharedFile {
    const ALL: [SharedFile; 3] = [
        SharedFile::Choices,
        SharedFile::Items,
        SharedFile::Conflicts,
    ];

    fn path(self, home: &Home) -> PathBuf {
        match self {
            SharedFile::Choices => home.config_dir.join("choices.json"),
            SharedFile::Items => home.data_dir.join("items.json"),
            SharedFile::Conflicts => home.data_dir.join("conflicts.json"),
        }
    }

    /// The file's content in words, for messages.
    fn what(self) -> &'static str {
        match self {
            SharedFile::Choices => "your item choices",
            SharedFile::Items => "the last sync times",
            SharedFile::Conflicts => "the list of conflicts",
        }
    }

    /// Reads this file's part of `shared` from its JSON.
    fn parse(self, bytes: &[u8], shared: &mut Shared) -> serde_json::Result<()> {
        match self {
            SharedFile::Choices => shared.choices = serde_json::from_slice(bytes)?,
            SharedFile::Items => shared.items = serde_json::from_slice(bytes)?,
            SharedFile::Conflicts => shared.conflicts = serde_json::from_slice(bytes)?,
        }
        Ok(())
    }

    fn to_json(self, shared: &Shared) -> Vec<u8> {
        match self {
            SharedFile::Choices => to_json(&shared.choices),
            SharedFile::Items => to_json(&shared.items),
            SharedFile::Conflicts => to_json(&shared.conflicts),
        }
    }

    /// Makes `to`'s part the same as `from`'s; tells whether it differed.
    fn copy(self, from: &Shared, to: &mut Shared) -> bool {
        match self {
            SharedFile::Choices => replace_if_changed(&mut to.choices, &from.choices),
            SharedFile::Items => replace_if_changed(&mut to.items, &from.items),
            SharedFile::Conflicts => replace_if_changed(&mut to.conflicts, &from.conflicts),
        }
    }
}

fn replace_if_changed<T: Clone + PartialEq>(to: &mut T, from: &T) -> bool {
    let changed = to != from;
    if changed {
        to.clone_from(from);
    }
    changed
}

/// Keeps a run's newest lines within `max`, dropping the handlers' oldest lines before Sync
/// Center's own notes, and says on the first line kept how many went.
fn trim_log(log: &mut Vec<LogEntry>, max: usize) {
    if log.len() <= max || max == 0 {
        return;
    }
    let mut excess = log.len() - max;
    let dropped = excess;
    log.retain(|line| {
        let goes = excess > 0 && !line.by_center;
        excess -= usize::from(goes);
        !goes
    });
    if excess > 0 {
        log.drain(..excess);
    }
    if let Some(first) = log.first_mut() {
        first.text.push_str(&format!(
            " ({dropped} earlier lines of this run were not kept)"
        ));
    }
}

/// Loads a JSON file; a missing file is the default, a damaged one is moved aside (and may
/// be written again), one that cannot be read is named in `blocked` (never overwritten).
pub(crate) fn load_json<T: DeserializeOwned + Default>(
    path: &Path,
    what: &str,
    notices: &mut Vec<String>,
    blocked: &mut Vec<PathBuf>,
) -> T {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return T::default(),
        Err(e) => {
            notices.push(format!(
                "Sync Center could not read {what} from {}: {e}. It started without them and will not overwrite the file until it can be read.",
                path.display()
            ));
            blocked.push(path.to_path_buf());
            return T::default();
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            let (notice, moved) = move_aside(path, what, &e.to_string());
            notices.push(notice);
            if !moved {
                blocked.push(path.to_path_buf());
            }
            T::default()
        }
    }
}

fn load_history(dir: &Path, notices: &mut Vec<String>) -> Vec<SessionRecord> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut history = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<SessionRecord>(&bytes).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(record) => history.push(record),
            Err(e) => notices.push(move_aside(&path, "the results of one run", &e).0),
        }
    }
    history.sort_by_key(|s| s.id);
    history
}

/// Renames a damaged file to NAME.damaged-YYYYMMDD-HHMMSS and says so in plain words.
/// Tells whether it was moved.
fn move_aside(path: &Path, what: &str, error: &str) -> (String, bool) {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".damaged-{stamp}"));
    let aside = PathBuf::from(aside);
    match std::fs::rename(path, &aside) {
        Ok(()) => (
            format!(
                "Sync Center could not read {what} ({error}). The damaged file was moved to {} and Sync Center started without it.",
                aside.display()
            ),
            true,
        ),
        Err(e) => (
            format!(
                "Sync Center could not read {what} in {} ({error}) and could not move it aside ({e}); it will not overwrite the file.",
                path.display()
            ),
            false,
        ),
    }
}

/// Drops sessions past the retention; returns the ids dropped.
fn prune(
    history: &mut Vec<SessionRecord>,
    retention: Retention,
    now: SystemTime,
) -> Vec<SessionId> {
    let mut dropped = Vec::new();
    history.retain(|s| {
        let fresh = now
            .duration_since(s.finished)
            .map_or(true, |age| age <= retention.max_age);
        if !fresh {
            dropped.push(s.id);
        }
        fresh
    });
    if history.len() > retention.max_sessions {
        // Runs that changed nothing and said nothing of note go first, then the others, the
        // oldest first by when they finished (whatever their ids): a schedule every five
        // minutes pushed every run that did something out of the list within two days.
        history.sort_by_key(|s| (!is_quiet(s), s.finished));
        let excess = history.len() - retention.max_sessions;
        dropped.extend(history.drain(..excess).map(|s| s.id));
        history.sort_by_key(|s| s.id);
    }
    dropped
}

/// A run in which every item succeeded changing nothing, and nothing was said above info.
fn is_quiet(record: &SessionRecord) -> bool {
    record
        .items
        .iter()
        .all(|item| item.status == ItemStatus::Succeeded && item.activity.is_empty())
        && record.log.iter().all(|line| line.level < LogLevel::Warning)
}

/// When the shared files and the history folder last changed on disk, as this process
/// last saw them: a difference means another process wrote.
struct Watch {
    seen: HashMap<PathBuf, Option<SystemTime>>,
}

impl Watch {
    fn now(home: &Home) -> Watch {
        let mut watch = Watch {
            seen: HashMap::new(),
        };
        for path in Self::watched(home) {
            watch.saw(&path);
        }
        watch
    }

    fn watched(home: &Home) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = SharedFile::ALL.iter().map(|f| f.path(home)).collect();
        paths.push(home.history_dir());
        paths
    }

    fn modified(path: &Path) -> Option<SystemTime> {
        std::fs::metadata(path).and_then(|m| m.modified()).ok()
    }

    fn saw(&mut self, path: &Path) {
        self.seen.insert(path.to_path_buf(), Self::modified(path));
    }

    fn changed(&self, path: &Path) -> bool {
        self.seen.get(path).copied().flatten() != Self::modified(path)
    }
}

/// The writer thread: saves what changed, merging with what other processes saved.
struct Writer {
    inner: std::sync::Weak<Inner>,
    watch: Watch,
}

impl Writer {
    fn run(mut self, jobs: Receiver<Job>) {
        loop {
            let mut batch = match jobs.recv_timeout(LOOK_EVERY) {
                Ok(first) => vec![first],
                Err(RecvTimeoutError::Timeout) => Vec::new(),
                Err(RecvTimeoutError::Disconnected) => return,
            };
            // Coalesce a burst of changes into one write per file.
            batch.extend(jobs.try_iter());
            let Some(inner) = self.inner.upgrade() else {
                return;
            };
            let mut acks = Vec::new();
            let mut pruned = Vec::new();
            for job in batch {
                match job {
                    Job::Save => {}
                    Job::Prune(ids) => pruned.extend(ids),
                    Job::Flush(ack) => acks.push(ack),
                }
            }
            inner.save(&mut self.watch, pruned);
            let outcome = inner.unsaved();
            for ack in acks {
                let _ = ack.send(outcome.clone());
            }
        }
    }
}

impl Inner {
    /// One round of saving: under the lock shared with other processes, each shared file
    /// that this process changed, or another process wrote, is read, merged and saved; this
    /// process's runs are written, other processes' runs taken in, and the history pruned.
    fn save(&self, watch: &mut Watch, mut pruned: Vec<SessionId>) {
        let home = &self.home;
        let files: Vec<SharedFile> = {
            let data = self.data.lock();
            SharedFile::ALL
                .into_iter()
                .filter(|file| {
                    data.pending.iter().any(|c| c.file() == *file)
                        || watch.changed(&file.path(home))
                })
                .filter(|file| !self.blocked.contains(&file.path(home)))
                .collect()
        };
        let sessions: Vec<SessionId> = self.data.lock().unsaved_sessions.iter().copied().collect();
        let others_ran = watch.changed(&home.history_dir());
        if files.is_empty() && sessions.is_empty() && pruned.is_empty() && !others_ran {
            return;
        }
        let _lock = self.lock_home();
        for file in files {
            self.merge(file, watch);
        }
        for id in sessions {
            self.write_session(id);
        }
        if others_ran || !pruned.is_empty() {
            let found = self.take_in_other_runs();
            let mut data = self.data.lock();
            pruned.extend(prune(&mut data.history, self.retention, SystemTime::now()));
            data.known_sessions.extend(pruned.iter().copied());
            drop(data);
            for id in &pruned {
                let _ = std::fs::remove_file(home.session_file(*id));
                let _ = std::fs::remove_file(home.activity_file(*id));
            }
            if !found.is_empty() {
                self.tell(StoreNews::RunsRecorded(found));
            }
        }
        watch.saw(&home.history_dir());
    }

    /// The lock every process holds while it merges and saves; none if the lock file cannot
    /// be made (the saves that follow then fail and say why).
    fn lock_home(&self) -> Option<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.home.lock_file())
            .ok()?;
        file.lock().ok()?;
        Some(file)
    }

    /// Reads `file` as saved (by any process), replays this process's pending changes onto
    /// it, keeps the result as this process's copy and saves it if it changed.
    fn merge(&self, file: SharedFile, watch: &mut Watch) {
        let path = file.path(&self.home);
        let mut on_disk = Shared::default();
        // What the file holds now, when it is sound: a result the same is not written again
        // (a sync with nothing new for a file wrote and flushed it all the same).
        let mut saved = None;
        match std::fs::read(&path) {
            Ok(bytes) => {
                if let Err(e) = file.parse(&bytes, &mut on_disk) {
                    // Another program wrote something unreadable: keep it aside, as at start.
                    let (notice, moved) = move_aside(&path, file.what(), &e.to_string());
                    self.tell(StoreNews::SaveFailed(notice));
                    if !moved {
                        return;
                    }
                } else {
                    saved = Some(bytes);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                self.failed(&path, file.what(), &e);
                return;
            }
        }
        let (json, drained, others_changed) = {
            let mut data = self.data.lock();
            let drained: Vec<Change> = data.pending.extract_if(.., |c| c.file() == file).collect();
            for change in &drained {
                change.apply(&mut on_disk);
            }
            let others_changed = file.copy(&on_disk, &mut data.shared);
            let json = (!drained.is_empty()).then(|| file.to_json(&data.shared));
            (json, drained, others_changed)
        };
        if json.is_some() && json == saved {
            self.saved(&path);
        } else if let Some(json) = json {
            match write_atomically(&path, &json) {
                Ok(()) => self.saved(&path),
                Err(e) => {
                    // Kept for the next round, before anything changed since.
                    self.data.lock().pending.splice(0..0, drained);
                    self.failed(&path, file.what(), &e);
                }
            }
        }
        watch.saw(&path);
        match file {
            SharedFile::Conflicts if others_changed => self.tell(StoreNews::ConflictsChanged),
            SharedFile::Items if others_changed => self.tell(StoreNews::ItemsChanged),
            _ => {}
        }
    }

    fn write_session(&self, id: SessionId) {
        let (json, activity) = {
            let data = self.data.lock();
            let json = data.history.iter().find(|s| s.id == id).map(to_json);
            (json, data.unsaved_activity.get(&id).map(to_json))
        };
        let path = self.home.session_file(id);
        let Some(json) = json else {
            // Pruned meanwhile.
            let mut data = self.data.lock();
            data.unsaved_sessions.remove(&id);
            data.unsaved_activity.remove(&id);
            return;
        };
        // The entries first: a record on disk always finds its entries.
        if let Some(activity) = activity {
            let written = std::fs::create_dir_all(self.home.activity_dir())
                .and_then(|()| write_atomically(&self.home.activity_file(id), &activity));
            match written {
                Ok(()) => {
                    self.data.lock().unsaved_activity.remove(&id);
                }
                Err(e) => {
                    self.failed(&self.home.activity_dir(), "the list of changed files", &e);
                    return;
                }
            }
        }
        match write_atomically(&path, &json) {
            Ok(()) => {
                self.data.lock().unsaved_sessions.remove(&id);
                self.saved(&self.home.history_dir());
            }
            Err(e) => self.failed(&self.home.history_dir(), "the results of a run", &e),
        }
    }

    /// Loads the runs other processes recorded since this one last looked.
    fn take_in_other_runs(&self) -> Vec<SessionRecord> {
        let Ok(entries) = std::fs::read_dir(self.home.history_dir()) else {
            return Vec::new();
        };
        let known = self.data.lock().known_sessions.clone();
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let id = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
                .map(SessionId);
            if id.is_none_or(|id| known.contains(&id)) {
                continue;
            }
            // Unreadable now (being replaced, say): looked at again next time.
            if let Some(record) = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<SessionRecord>(&bytes).ok())
            {
                found.push(record);
            }
        }
        let mut data = self.data.lock();
        for record in &found {
            data.known_sessions.insert(record.id);
            data.history.push(record.clone());
        }
        data.history.sort_by_key(|s| s.id);
        found
    }

    fn tell(&self, news: StoreNews) {
        match self.news.read().as_ref() {
            Some(sink) => sink(news),
            None => {
                if let StoreNews::SaveFailed(text) = news {
                    tracing::error!("{text}");
                }
            }
        }
    }

    fn failed(&self, path: &Path, what: &str, error: &std::io::Error) {
        let text = format!(
            "Sync Center could not save {what} in {}: {error}. It keeps them while it runs and tries again; make room on the disk or make the folder writable.",
            path.display()
        );
        let new = self
            .failing
            .lock()
            .insert(path.to_path_buf(), text.clone())
            .is_none();
        if new {
            self.tell(StoreNews::SaveFailed(text));
        }
    }

    fn saved(&self, path: &Path) {
        self.failing.lock().remove(path);
    }

    /// What is not saved now.
    fn unsaved(&self) -> Result<(), SaveError> {
        let failing = self.failing.lock();
        if failing.is_empty() {
            Ok(())
        } else {
            Err(SaveError(failing.values().cloned().collect()))
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("state is always serializable")
}

/// Writes a file so that a crash leaves either the old or the new content (fsynced).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
    file.write_all(bytes)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, finished: SystemTime) -> SessionRecord {
        SessionRecord {
            id: SessionId(id),
            reason: "manual".into(),
            started: finished,
            finished,
            items: vec![ItemResult {
                key: ItemKey::new("h", "i"),
                name: "I".into(),
                handler_name: "H".into(),
                status: ItemStatus::Succeeded,
                text: String::new(),
                started: None,
                could_not_ask: false,
                ended: None,
                activity: ActivityCounts::default(),
                problems: Problems::default(),
            }],
            log: (0..5)
                .map(|n| LogEntry {
                    id: LogId(id * 100 + n),
                    session: SessionId(id),
                    handler: HandlerId::new("h"),
                    handler_name: "H".into(),
                    item: None,
                    level: LogLevel::Info,
                    text: format!("line {n}"),
                    actionable: false,
                    time: finished,
                    by_center: false,
                })
                .collect(),
        }
    }

    #[test]
    fn history_is_pruned_by_age_and_count() {
        let now = SystemTime::now();
        let old = now - Duration::from_secs(100 * 24 * 3600);
        let mut history = vec![
            record(1, old),
            record(2, now),
            record(3, now),
            record(4, now),
        ];
        let retention = Retention {
            max_sessions: 2,
            ..Retention::default()
        };
        let dropped = prune(&mut history, retention, now);
        assert_eq!(dropped, vec![SessionId(1), SessionId(2)]);
        assert_eq!(history.iter().map(|s| s.id.0).collect::<Vec<_>>(), [3, 4]);
    }

    #[test]
    fn runs_that_changed_nothing_are_pruned_before_runs_that_did_something() {
        let now = SystemTime::now();
        let at = |seconds_ago: u64| now - Duration::from_secs(seconds_ago);
        let changed = |mut run: SessionRecord| {
            run.items[0]
                .activity
                .changes
                .insert(crate::core::activity::Change::Copied, 3);
            run
        };
        let failed = |mut run: SessionRecord| {
            run.items[0].status = ItemStatus::Failed;
            run
        };
        let warned = |mut run: SessionRecord| {
            run.log[0].level = LogLevel::Warning;
            run
        };
        let mut history = vec![
            changed(record(1, at(60))),
            record(2, at(50)),
            failed(record(3, at(40))),
            record(4, at(30)),
            warned(record(5, at(20))),
            record(6, at(10)),
        ];
        let retention = Retention {
            max_sessions: 4,
            ..Retention::default()
        };
        let dropped = prune(&mut history, retention, now);
        assert_eq!(dropped, vec![SessionId(2), SessionId(4)]);
        assert_eq!(
            history.iter().map(|s| s.id.0).collect::<Vec<_>>(),
            [1, 3, 5, 6]
        );
        // Past the quiet ones, the oldest go.
        let retention = Retention {
            max_sessions: 2,
            ..Retention::default()
        };
        assert_eq!(
            prune(&mut history, retention, now),
            vec![SessionId(6), SessionId(1)]
        );
        assert_eq!(history.iter().map(|s| s.id.0).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn a_file_that_cannot_be_read_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        home.create_dirs().unwrap();
        // A folder where the file should be cannot be read as a file, nor parsed.
        std::fs::create_dir(SharedFile::Choices.path(&home)).unwrap();
        std::fs::write(SharedFile::Choices.path(&home).join("keep"), b"x").unwrap();
        let (store, notices) = Store::open(home.clone());
        assert_eq!(notices.len(), 1, "{notices:?}");
        store.set_checked(&ItemKey::new("h", "i"), false);
        let _ = store.flush();
        assert!(SharedFile::Choices.path(&home).join("keep").exists());
    }

    #[test]
    fn sessions_keep_only_their_newest_lines() {
        let dir = tempfile::tempdir().unwrap();
        let retention = Retention {
            max_lines_per_session: 2,
            ..Retention::default()
        };
        let (store, _) = Store::open_with(Home::under(dir.path()), retention);
        store.record_session(record(7, SystemTime::now()), RunActivity::new());
        let kept: Vec<_> = store.history()[0]
            .log
            .iter()
            .map(|e| e.text.clone())
            .collect();
        assert_eq!(
            kept,
            [
                "line 3 (3 earlier lines of this run were not kept)",
                "line 4"
            ]
        );
    }

    #[test]
    fn trimming_keeps_the_centers_notes_before_the_handlers_lines() {
        let mut run = record(1, SystemTime::now());
        run.log[1].by_center = true;
        run.log[2].by_center = true;
        // (cap, texts kept)
        let table: &[(usize, &[&str])] = &[
            (5, &["line 0", "line 1", "line 2", "line 3", "line 4"]),
            (
                4,
                &[
                    "line 1 (1 earlier lines of this run were not kept)",
                    "line 2",
                    "line 3",
                    "line 4",
                ],
            ),
            (
                3,
                &[
                    "line 1 (2 earlier lines of this run were not kept)",
                    "line 2",
                    "line 4",
                ],
            ),
            (
                2,
                &[
                    "line 1 (3 earlier lines of this run were not kept)",
                    "line 2",
                ],
            ),
            (1, &["line 2 (4 earlier lines of this run were not kept)"]),
        ];
        for (cap, expected) in table {
            let mut log = run.log.clone();
            trim_log(&mut log, *cap);
            let texts: Vec<&str> = log.iter().map(|l| l.text.as_str()).collect();
            assert_eq!(&texts, expected, "cap {cap}");
        }
    }

    #[test]
    fn a_choice_made_again_is_saved_over_another_stores_change() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        let (here, _) = Store::open(home.clone());
        let (there, _) = Store::open(home.clone());
        let key = ItemKey::new("h", "x");
        here.set_checked(&key, false);
        here.flush().unwrap();
        there.set_checked(&key, true);
        there.flush().unwrap();
        // `here` still believes "unchecked"; the user unchecks the item again.
        here.set_checked(&key, false);
        here.flush().unwrap();
        let (fresh, _) = Store::open(home);
        assert!(!fresh.is_checked(&key, true));
    }

    #[test]
    fn a_change_that_leaves_a_file_as_it_is_does_not_write_it_again() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        let (store, _) = Store::open(home.clone());
        let key = ItemKey::new("h", "x");
        store.replace_conflicts(&key, "X", Vec::new());
        store.flush().unwrap();
        let file = SharedFile::Conflicts.path(&home);
        let written = std::fs::metadata(&file).unwrap().ino();
        // A run that found no conflict again: the file is left as it is (an atomic write
        // would have put a new file in its place).
        store.replace_conflicts(&key, "X", Vec::new());
        store.flush().unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().ino(), written);
        // One that did change it is written.
        store.set_checked(&key, false);
        store.flush().unwrap();
        let (fresh, _) = Store::open(home);
        assert!(!fresh.is_checked(&key, true));
    }
}
