//! What the center remembers: which items are checked, when each item last synced, the
//! results of every run, and unresolved conflicts.
//!
//! Everything lives in memory behind a lock, so front ends read it without touching the
//! disk; a writer thread saves each file atomically after a change. A file that cannot be
//! read is moved aside with a timestamp and reported once, and the center starts without it.

use crate::core::conflicts::{ConflictRecord, ConflictReport, Resolution};
use crate::core::model::{
    HandlerId, ItemId, ItemKey, LogEntry, LogId, SessionId, opt_unix_millis, unix_millis,
};
use crate::core::status::ItemStatus;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

    fn choices_file(&self) -> PathBuf {
        self.config_dir.join("choices.json")
    }
    fn items_file(&self) -> PathBuf {
        self.data_dir.join("items.json")
    }
    fn conflicts_file(&self) -> PathBuf {
        self.data_dir.join("conflicts.json")
    }
    fn history_dir(&self) -> PathBuf {
        self.data_dir.join("history")
    }
    fn session_file(&self, id: SessionId) -> PathBuf {
        self.history_dir().join(format!("{:020}.json", id.0))
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
}

/// How one item ended in one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub key: ItemKey,
    pub name: String,
    pub handler_name: String,
    pub status: ItemStatus,
    pub text: String,
    /// The handler needed the user (a dialog) and this run could not ask: the item waits
    /// for an answer, which the tray and the window offer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub could_not_ask: bool,
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

type Choices = BTreeMap<HandlerId, BTreeMap<ItemId, bool>>;
type ItemRecords = BTreeMap<HandlerId, BTreeMap<ItemId, ItemRecord>>;

#[derive(Default)]
struct Data {
    choices: Choices,
    items: ItemRecords,
    history: Vec<SessionRecord>,
    conflicts: Vec<ConflictRecord>,
}

enum Job {
    Choices,
    Items,
    Conflicts,
    Session(SessionId),
    Prune(Vec<SessionId>),
    Flush(Sender<()>),
}

struct Inner {
    home: Home,
    data: Mutex<Data>,
    /// Files that exist but could not be read or moved aside: never overwritten.
    blocked: Vec<PathBuf>,
    writer: Sender<Job>,
    retention: Retention,
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
        let choices = load_json(&home.choices_file(), "your item choices", n, b);
        let items = load_json(&home.items_file(), "the last sync times", n, b);
        let conflicts = load_json(&home.conflicts_file(), "the list of conflicts", n, b);
        let mut history = load_history(&home.history_dir(), &mut notices);
        let pruned = prune(&mut history, retention, SystemTime::now());
        let (tx, rx) = crossbeam_channel::unbounded();
        let store = Store {
            inner: Arc::new(Inner {
                home,
                data: Mutex::new(Data {
                    choices,
                    items,
                    history,
                    conflicts,
                }),
                writer: tx,
                retention,
                blocked,
            }),
        };
        let writer = store.clone_weak_for_writer();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer.run(rx))
            .expect("spawn the store writer");
        if !pruned.is_empty() {
            store.send(Job::Prune(pruned));
        }
        (store, notices)
    }

    fn clone_weak_for_writer(&self) -> Writer {
        Writer {
            inner: Arc::downgrade(&self.inner),
        }
    }

    fn send(&self, job: Job) {
        let _ = self.inner.writer.send(job);
    }

    pub fn home(&self) -> &Home {
        &self.inner.home
    }

    /// Waits until every change so far is on disk.
    pub fn flush(&self) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.send(Job::Flush(tx));
        let _ = rx.recv_timeout(Duration::from_secs(10));
    }

    pub fn is_checked(&self, key: &ItemKey, default: bool) -> bool {
        let data = self.inner.data.lock();
        data.choices
            .get(&key.handler)
            .and_then(|items| items.get(&key.item))
            .copied()
            .unwrap_or(default)
    }

    pub fn set_checked(&self, key: &ItemKey, checked: bool) {
        self.inner
            .data
            .lock()
            .choices
            .entry(key.handler.clone())
            .or_default()
            .insert(key.item.clone(), checked);
        self.send(Job::Choices);
    }

    /// After an enumeration: forget the choices of items that are gone, unless the handler
    /// said some items were missing (S_SYNCMGR_MISSINGITEMS), which keeps them.
    pub fn forget_gone_items(&self, handler: &HandlerId, present: &[ItemId], some_missing: bool) {
        if some_missing {
            return;
        }
        let mut data = self.inner.data.lock();
        let Some(choices) = data.choices.get_mut(handler) else {
            return;
        };
        let before = choices.len();
        choices.retain(|id, _| present.contains(id));
        if choices.len() != before {
            drop(data);
            self.send(Job::Choices);
        }
    }

    pub fn item_record(&self, key: &ItemKey) -> Option<ItemRecord> {
        let data = self.inner.data.lock();
        data.items.get(&key.handler)?.get(&key.item).cloned()
    }

    /// Records a finished run: results history, last sync of each item that succeeded.
    pub fn record_session(&self, mut record: SessionRecord) {
        let max_lines = self.inner.retention.max_lines_per_session;
        if record.log.len() > max_lines {
            record.log.drain(..record.log.len() - max_lines);
        }
        let id = record.id;
        let pruned = {
            let mut data = self.inner.data.lock();
            for result in &record.items {
                let entry = data
                    .items
                    .entry(result.key.handler.clone())
                    .or_default()
                    .entry(result.key.item.clone())
                    .or_default();
                entry.last_status = Some(result.status);
                entry.last_text = result.text.clone();
                if result.status == ItemStatus::Succeeded {
                    entry.last_synced = Some(record.finished);
                }
            }
            data.history.retain(|s| s.id != id);
            data.history.push(record);
            data.history.sort_by_key(|s| s.id);
            prune(&mut data.history, self.inner.retention, SystemTime::now())
        };
        self.send(Job::Items);
        self.send(Job::Session(id));
        if !pruned.is_empty() {
            self.send(Job::Prune(pruned));
        }
    }

    /// The results history, oldest first.
    pub fn history(&self) -> Vec<SessionRecord> {
        self.inner.data.lock().history.clone()
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

    /// Retracts logged lines (DeleteLogError) from the history.
    pub fn delete_log_lines(&self, ids: &[LogId]) {
        let mut touched = Vec::new();
        {
            let mut data = self.inner.data.lock();
            for session in &mut data.history {
                let before = session.log.len();
                session.log.retain(|e| !ids.contains(&e.id));
                if session.log.len() != before {
                    touched.push(session.id);
                }
            }
        }
        for id in touched {
            self.send(Job::Session(id));
        }
    }

    pub fn conflicts(&self) -> Vec<ConflictRecord> {
        self.inner.data.lock().conflicts.clone()
    }

    /// Replaces the conflicts of one item with what its handler found in its latest run.
    /// A resolution the user chose for a conflict that is still there is kept.
    pub fn replace_conflicts(&self, item: &ItemKey, item_name: &str, reports: Vec<ConflictReport>) {
        {
            let mut data = self.inner.data.lock();
            let old: Vec<ConflictRecord> = data
                .conflicts
                .iter()
                .filter(|c| &c.item == item)
                .cloned()
                .collect();
            data.conflicts.retain(|c| &c.item != item);
            let now = SystemTime::now();
            for report in reports {
                let previous = old.iter().find(|c| c.report.id == report.id);
                let unchanged = previous.is_some_and(|p| p.report == report);
                data.conflicts.push(ConflictRecord {
                    item: item.clone(),
                    item_name: item_name.to_string(),
                    detected: previous.map_or(now, |p| p.detected),
                    resolution: if unchanged {
                        previous.and_then(|p| p.resolution)
                    } else {
                        None
                    },
                    report,
                });
            }
        }
        self.send(Job::Conflicts);
    }

    /// Records the user's choice for a conflict; the handler applies it at the next sync.
    /// Returns false when there is no such conflict.
    pub fn resolve_conflict(
        &self,
        item: &ItemKey,
        conflict_id: &str,
        resolution: Resolution,
    ) -> bool {
        let found = {
            let mut data = self.inner.data.lock();
            let found = data
                .conflicts
                .iter_mut()
                .find(|c| &c.item == item && c.report.id == conflict_id);
            found.map(|c| c.resolution = Some(resolution)).is_some()
        };
        if found {
            self.send(Job::Conflicts);
        }
        found
    }

    /// The resolutions the user chose for an item's conflicts, for its handler to apply.
    pub fn chosen_resolutions(&self, item: &ItemKey) -> Vec<(ConflictReport, Resolution)> {
        let data = self.inner.data.lock();
        data.conflicts
            .iter()
            .filter(|c| &c.item == item)
            .filter_map(|c| Some((c.report.clone(), c.resolution?)))
            .collect()
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
        // The oldest by when they finished, whatever their ids.
        history.sort_by_key(|s| s.finished);
        let excess = history.len() - retention.max_sessions;
        dropped.extend(history.drain(..excess).map(|s| s.id));
        history.sort_by_key(|s| s.id);
    }
    dropped
}

/// The writer thread: saves what changed, one file at a time, atomically.
struct Writer {
    inner: std::sync::Weak<Inner>,
}

impl Writer {
    fn run(self, jobs: Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            // Coalesce a burst of changes into one write per file.
            let mut batch = vec![first];
            batch.extend(jobs.try_iter());
            let Some(inner) = self.inner.upgrade() else {
                return;
            };
            let mut acks = Vec::new();
            let (mut choices, mut items, mut conflicts) = (false, false, false);
            let mut sessions = Vec::new();
            for job in batch {
                match job {
                    Job::Choices => choices = true,
                    Job::Items => items = true,
                    Job::Conflicts => conflicts = true,
                    Job::Session(id) => sessions.push(id),
                    Job::Prune(ids) => {
                        for id in ids {
                            let _ = std::fs::remove_file(inner.home.session_file(id));
                        }
                    }
                    Job::Flush(ack) => acks.push(ack),
                }
            }
            let home = &inner.home;
            let writable = |path: PathBuf| {
                let ok = !inner.blocked.contains(&path);
                if !ok {
                    tracing::warn!(
                        "not saving {}: it could not be read at start",
                        path.display()
                    );
                }
                ok
            };
            choices &= writable(home.choices_file());
            items &= writable(home.items_file());
            conflicts &= writable(home.conflicts_file());
            if choices {
                let json = to_json(&inner.data.lock().choices);
                report(write_atomically(&home.choices_file(), &json));
            }
            if items {
                let json = to_json(&inner.data.lock().items);
                report(write_atomically(&home.items_file(), &json));
            }
            if conflicts {
                let json = to_json(&inner.data.lock().conflicts);
                report(write_atomically(&home.conflicts_file(), &json));
            }
            sessions.sort();
            sessions.dedup();
            for id in sessions {
                let json = inner
                    .data
                    .lock()
                    .history
                    .iter()
                    .find(|s| s.id == id)
                    .map(to_json);
                if let Some(json) = json {
                    report(write_atomically(&home.session_file(id), &json));
                }
            }
            for ack in acks {
                let _ = ack.send(());
            }
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("state is always serializable")
}

fn report(result: std::io::Result<()>) {
    if let Err(e) = result {
        tracing::error!("could not save Sync Center's state: {e}");
    }
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
    use crate::core::model::LogLevel;

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
                could_not_ask: false,
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
    fn a_file_that_cannot_be_read_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        home.create_dirs().unwrap();
        // A folder where the file should be cannot be read as a file, nor parsed.
        std::fs::create_dir(home.choices_file()).unwrap();
        std::fs::write(home.choices_file().join("keep"), b"x").unwrap();
        let (store, notices) = Store::open(home.clone());
        assert_eq!(notices.len(), 1, "{notices:?}");
        store.set_checked(&ItemKey::new("h", "i"), false);
        store.flush();
        assert!(home.choices_file().join("keep").exists());
    }

    #[test]
    fn sessions_keep_only_their_newest_lines() {
        let dir = tempfile::tempdir().unwrap();
        let retention = Retention {
            max_lines_per_session: 2,
            ..Retention::default()
        };
        let (store, _) = Store::open_with(Home::under(dir.path()), retention);
        store.record_session(record(7, SystemTime::now()));
        let kept: Vec<_> = store.history()[0]
            .log
            .iter()
            .map(|e| e.text.clone())
            .collect();
        assert_eq!(kept, ["line 3", "line 4"]);
    }
}
