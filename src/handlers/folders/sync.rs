//! One sync of one pair: scan both sides, reconcile, apply, save the archive. Knows nothing
//! of sessions or dialogs; it talks to its caller through [`Observer`].

use super::FolderError;
use super::archive::{self, Loaded, Synced};
use super::config::PairConfig;
use super::names::{self, RelPath, conflict_copy, is_inside};
use super::reconcile::{Action, Keep, RowRef, Rows, Side, plan};
use super::replica::{Entry, Kind, Replica};
use super::scan::{Filter, Joined, fill_hashes, join};
use crate::core::conflicts::{ConflictReport, ConflictSide, Resolution};
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The work a change costs beyond its bytes (creating, renaming, flushing an entry), so the
/// bar moves for many small files as it does for a few big ones.
pub const PER_FILE_WORK: u64 = 64 * 1024;
/// A batch ends after this many changes or this much work.
const BATCH_CHANGES: usize = 2000;
const BATCH_WORK: u64 = 256 * 1024 * 1024;
/// The archive is saved after a batch when this long has passed since it was last saved.
const SAVE_EVERY: Duration = Duration::from_secs(2);
/// How often the scan's progress is reported.
const SCAN_REPORT_EVERY: Duration = Duration::from_millis(100);
/// A run that would delete more than this many files, and more than half of a side's
/// files, asks first.
pub const MASS_DELETE_MIN: usize = 20;

/// What a run tells its caller and asks of it. Returning `false` stops the run cleanly.
pub trait Observer {
    fn scanning(&mut self, folders: u64) -> bool;
    fn batch_started(&mut self, batch_work: u64, remaining_work: u64) -> bool;
    fn applied(&mut self, work: u64) -> bool;
    fn conflict_found(&mut self) -> bool;
    fn batch_applied(&mut self);
    /// May the run delete this many files? `false` stops it before anything changes.
    fn confirm_deletions(&mut self, deletions: &MassDelete) -> bool;
}

/// A run that would delete many of one side's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MassDelete {
    pub count: usize,
    pub total: usize,
    pub location: String,
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Entries copied or deleted.
    pub changes: usize,
    /// `None` when the run stopped before it knew them.
    pub conflicts: Option<Vec<ConflictReport>>,
    /// Changes that failed, in words.
    pub failures: Vec<String>,
    /// Entries that changed while the run looked at them, left for the next run.
    pub changed_during_sync: Vec<String>,
    pub stopped: bool,
    /// The run stopped before changing anything because the user did not confirm this.
    pub refused: Option<MassDelete>,
    /// Something the user should read once (a damaged archive moved aside).
    pub notice: Option<String>,
}

/// Both sides of one pair, and where its archive lives.
pub struct Pair<'a> {
    pub config: &'a PairConfig,
    pub left: &'a dyn Replica,
    pub right: &'a dyn Replica,
    pub archive_file: PathBuf,
}

impl Pair<'_> {
    fn side(&self, side: Side) -> &dyn Replica {
        match side {
            Side::Left => self.left,
            Side::Right => self.right,
        }
    }
}

/// Synchronizes the pair once, first applying the resolutions the user chose.
pub fn run(
    pair: &Pair,
    resolutions: &[(ConflictReport, Resolution)],
    observer: &mut dyn Observer,
) -> Result<Outcome, FolderError> {
    for (side, name, root) in [
        (pair.left, "left", &pair.config.left),
        (pair.right, "right", &pair.config.right),
    ] {
        if side.check_root().is_err() {
            return Err(FolderError::MissingRoot {
                side: name,
                path: root.clone(),
            });
        }
    }
    let filter = Filter::new(&pair.config.left, &pair.config.excludes)?;
    let mut outcome = Outcome::default();
    let archived = match archive::load(&pair.archive_file, &pair.config.left, &pair.config.right)? {
        Loaded::Found(entries) => entries,
        Loaded::FirstSync { notice } => {
            outcome.notice = notice;
            archive::Entries::new()
        }
    };
    let stamp = chrono::Local::now();
    let keeps = prepare_resolutions(
        pair,
        resolutions,
        &stamp.format("%Y-%m-%d %H%M%S").to_string(),
        &mut outcome,
    );

    let Some([left_tree, right_tree]) = scan_both(pair, &filter, observer)? else {
        outcome.stopped = true;
        return Ok(outcome);
    };
    let mut rows = join(archived, left_tree, right_tree);
    fill_hashes(&mut rows, pair.left, pair.right);
    let actions = plan(&rows, pair.config.mode, &keeps);

    if let Some(deletions) = mass_delete(pair, &rows, &actions)
        && !observer.confirm_deletions(&deletions)
    {
        outcome.refused = Some(deletions);
        return Ok(outcome);
    }
    let conflicts: Vec<ConflictReport> = (0..rows.len())
        .filter(|&i| actions[i] == Action::Conflict)
        .map(|i| conflict_report(pair, rows.row(i)))
        .collect();
    let conflict_count = conflicts.len() as u64;
    outcome.conflicts = Some(conflicts);

    let mut apply = Apply {
        pair,
        rows: &rows,
        unsaved: Vec::new(),
        stamp: stamp.format("%Y-%m-%d_%H%M%S").to_string(),
        outcome,
        failed_deletes: Vec::new(),
        last_save: Instant::now(),
        buffer: vec![0; super::local::BUFFER_SIZE],
    };
    // Flushing and saving happen on their own thread, so copying goes on meanwhile.
    let (saves, snapshots) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| {
        let saver = scope.spawn(|| save_snapshots(pair, &rows, snapshots));
        let applied = apply.run(&actions, conflict_count, observer, &saves);
        drop(saves);
        let saved = saver.join().expect("archive saver");
        applied.and(saved)
    })?;
    Ok(apply.outcome)
}

/// Turns chosen resolutions into keeps; keep-both first renames the right's version to a
/// conflict copy, which the scan then finds as a new file to copy to the left.
fn prepare_resolutions(
    pair: &Pair,
    resolutions: &[(ConflictReport, Resolution)],
    stamp: &str,
    outcome: &mut Outcome,
) -> Vec<Keep> {
    let mut keeps = Vec::new();
    for (report, resolution) in resolutions {
        let Some(path) = names::from_text(&report.id) else {
            continue;
        };
        let side = match resolution {
            Resolution::KeepLeft => Side::Left,
            Resolution::KeepRight => Side::Right,
            Resolution::KeepBoth => {
                let left = pair.left.stat(&path).ok().flatten();
                let right = pair.right.stat(&path).ok().flatten();
                match (left, right) {
                    (Some(_), Some(_)) => {
                        let copy = free_conflict_name(pair, &path, stamp);
                        if let Err(e) = pair.right.rename(&path, &copy) {
                            outcome.failures.push(format!(
                                "Could not keep both versions of {}: {e}",
                                names::to_text(&path)
                            ));
                        }
                        continue;
                    }
                    (None, _) => Side::Right,
                    (_, None) => Side::Left,
                }
            }
        };
        keeps.push(Keep {
            path: path.into(),
            side,
        });
    }
    keeps
}

/// A conflict copy name that neither side uses yet ("NAME (conflict STAMP 2).EXT" when the
/// plain one is taken).
fn free_conflict_name(pair: &Pair, path: &RelPath, stamp: &str) -> Vec<u8> {
    let taken = |name: &RelPath| {
        [pair.left, pair.right]
            .iter()
            .any(|side| !matches!(side.stat(name), Ok(None)))
    };
    let mut copy = conflict_copy(path, stamp);
    let mut n = 2;
    while taken(&copy) {
        copy = conflict_copy(path, &format!("{stamp} {n}"));
        n += 1;
    }
    copy
}

/// Scans both sides at once, reporting folders counted; `None` when the observer stopped it.
fn scan_both(
    pair: &Pair,
    filter: &Filter,
    observer: &mut dyn Observer,
) -> Result<Option<[super::replica::Tree; 2]>, FolderError> {
    let folders = [AtomicU64::new(0), AtomicU64::new(0)];
    let stop = AtomicBool::new(false);
    let (done_tx, done) = crossbeam_channel::bounded::<()>(2);
    let scanned = std::thread::scope(|scope| {
        let jobs = [Side::Left, Side::Right].map(|side| {
            let (folders, stop, done_tx) = (&folders[side.index()], &stop, done_tx.clone());
            scope.spawn(move || {
                let tree = pair.side(side).scan(filter, folders, stop);
                let _ = done_tx.send(());
                tree
            })
        });
        let mut finished = 0;
        while finished < 2 {
            match done.recv_timeout(SCAN_REPORT_EVERY) {
                Ok(()) => finished += 1,
                Err(_) => {
                    let count = folders.iter().map(|f| f.load(Ordering::Relaxed)).sum();
                    if !observer.scanning(count) {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        jobs.map(|j| j.join().expect("scanning thread"))
    });
    if stop.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let [left, right] = scanned;
    let left = left.map_err(|e| FolderError::io(&pair.config.left, e))?;
    let right = right.map_err(|e| FolderError::io(&pair.config.right, e))?;
    Ok(Some([left, right]))
}

fn mass_delete(pair: &Pair, rows: &Joined, actions: &[Action]) -> Option<MassDelete> {
    [Side::Left, Side::Right].into_iter().find_map(|side| {
        let delete = match side {
            Side::Left => Action::DeleteLeft,
            Side::Right => Action::DeleteRight,
        };
        let is_file = |i: usize| rows.row(i).entry(side).is_some_and(|e| e.kind != Kind::Dir);
        let total = (0..rows.len()).filter(|&i| is_file(i)).count();
        let count = (0..rows.len())
            .filter(|&i| actions[i] == delete && is_file(i))
            .count();
        (count > MASS_DELETE_MIN && count * 2 > total).then(|| MassDelete {
            count,
            total,
            location: pair.side(side).location(),
        })
    })
}

fn time_of(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn conflict_report(pair: &Pair, row: RowRef) -> ConflictReport {
    let side = |label: &str, replica: &dyn Replica, entry: Option<&Entry>| ConflictSide {
        label: label.into(),
        location: replica.location(),
        exists: entry.is_some(),
        is_dir: entry.is_some_and(|e| e.kind == Kind::Dir),
        size: entry.filter(|e| e.kind == Kind::File).map(|e| e.size),
        modified: entry
            .filter(|e| e.kind != Kind::Dir)
            .map(|e| time_of(e.mtime_ns)),
    };
    let text = names::to_text(row.path);
    ConflictReport {
        id: text.clone(),
        path: text,
        left: side("Left", pair.left, row.left),
        right: side("Right", pair.right, row.right),
    }
}

/// The archive entry for `entry` once both sides hold it.
fn synced(entry: &Entry, hash: Option<[u8; 32]>, mtimes: [i64; 2]) -> Synced {
    Synced {
        kind: entry.kind,
        exec: entry.exec,
        size: entry.size,
        mtime_ns: mtimes,
        hash: hash.or(entry.hash).unwrap_or_default(),
        target: entry.target.clone(),
    }
}

/// Archive entries a run changed, by row (`None`: no longer archived), in the order applied.
type ArchiveChanges = Vec<(usize, Option<Synced>)>;

/// Saves the archive as changes arrive (the rows' archive plus every change so far): flushes
/// both sides (syncfs), then writes, so the archive never records data that is not on disk.
/// Only this thread keeps the changes; the applying thread sends what is new since its last
/// save.
fn save_snapshots(
    pair: &Pair,
    rows: &Joined,
    batches: Receiver<ArchiveChanges>,
) -> Result<(), FolderError> {
    let mut changes: HashMap<usize, Option<Synced>> = HashMap::new();
    while let Ok(batch) = batches.recv() {
        changes.extend(batch);
        while let Ok(newer) = batches.try_recv() {
            changes.extend(newer);
        }
        for (replica, root) in [
            (pair.left, &pair.config.left),
            (pair.right, &pair.config.right),
        ] {
            replica.flush().map_err(|e| FolderError::io(root, e))?;
        }
        let entries = (0..rows.len()).filter_map(|i| {
            let row = rows.row(i);
            let now = match changes.get(&i) {
                Some(changed) => changed.as_ref(),
                None => row.archive,
            };
            now.map(|a| (row.path, a))
        });
        archive::save(
            &pair.archive_file,
            &pair.config.left,
            &pair.config.right,
            entries,
        )?;
    }
    Ok(())
}

/// Whether what is there now is what the scan saw.
fn as_scanned(now: Option<&Entry>, scanned: Option<&Entry>) -> bool {
    match (now, scanned) {
        (None, None) => true,
        (Some(now), Some(scanned)) => now.looks_like(scanned),
        _ => false,
    }
}

enum Applied {
    Done,
    /// The entry changed since the scan: left for the next run.
    Changed,
}

struct Apply<'p, 'a, 'j> {
    pair: &'p Pair<'a>,
    rows: &'j Joined,
    /// Archive changes not handed to the saver yet.
    unsaved: ArchiveChanges,
    /// The versions folder of this run.
    stamp: String,
    outcome: Outcome,
    failed_deletes: Vec<Box<RelPath>>,
    last_save: Instant,
    /// The one copy buffer of the run.
    buffer: Vec<u8>,
}

impl Apply<'_, '_, '_> {
    fn run(
        &mut self,
        actions: &[Action],
        conflicts: u64,
        observer: &mut dyn Observer,
        saves: &Sender<ArchiveChanges>,
    ) -> Result<(), FolderError> {
        // Archive-only decisions need no I/O.
        let mut archive_changed = false;
        for (i, action) in actions.iter().enumerate() {
            let row = self.rows.row(i);
            let now = match action {
                Action::Record => match (row.left, row.right) {
                    (Some(l), Some(r)) => Some(synced(l, None, [l.mtime_ns, r.mtime_ns])),
                    _ => None,
                },
                Action::Forget => None,
                _ => continue,
            };
            self.unsaved.push((i, now));
            archive_changed = true;
        }
        // Creations parent first, then deletions contents first.
        let mut work: Vec<(usize, Action)> = actions
            .iter()
            .enumerate()
            .filter(|(_, a)| matches!(a, Action::CopyToLeft | Action::CopyToRight))
            .map(|(i, a)| (i, *a))
            .collect();
        work.extend(
            actions
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, a)| matches!(a, Action::DeleteLeft | Action::DeleteRight))
                .map(|(i, a)| (i, *a)),
        );
        if work.is_empty() && conflicts == 0 {
            if archive_changed {
                self.save(saves);
            }
            return Ok(());
        }
        let costs: Vec<u64> = work.iter().map(|&(i, a)| self.cost(i, a)).collect();
        let mut remaining: u64 = costs.iter().sum::<u64>() + conflicts * PER_FILE_WORK;
        let mut start = 0;
        let mut first = true;
        while start < work.len() || first {
            let mut end = start;
            let mut batch_work = 0;
            while end < work.len() && end - start < BATCH_CHANGES && batch_work < BATCH_WORK {
                batch_work += costs[end];
                end += 1;
            }
            if first {
                batch_work += conflicts * PER_FILE_WORK;
            }
            let mut go_on = observer.batch_started(batch_work, remaining);
            if first {
                for _ in 0..conflicts {
                    go_on &= observer.conflict_found();
                }
                first = false;
            }
            for (&(i, action), &cost) in work[start..end].iter().zip(&costs[start..end]) {
                if !go_on {
                    break;
                }
                self.apply_one(i, action);
                archive_changed = true;
                go_on = observer.applied(cost);
            }
            observer.batch_applied();
            remaining -= batch_work;
            let last = end >= work.len();
            if archive_changed && (last || !go_on || self.last_save.elapsed() >= SAVE_EVERY) {
                self.save(saves);
                archive_changed = false;
            }
            if !go_on {
                self.outcome.stopped = true;
                return Ok(());
            }
            start = end;
        }
        if archive_changed {
            self.save(saves);
        }
        Ok(())
    }

    fn cost(&self, i: usize, action: Action) -> u64 {
        let row = self.rows.row(i);
        let source = match action {
            Action::CopyToRight => row.left,
            Action::CopyToLeft => row.right,
            _ => None,
        };
        PER_FILE_WORK
            + source
                .filter(|e| e.kind == Kind::File)
                .map_or(0, |e| e.size)
    }

    /// Hands the changes since the last save to the saver, which records them once the
    /// data they describe is durable.
    fn save(&mut self, saves: &Sender<ArchiveChanges>) {
        // A saver that stopped has an error to report when the run ends.
        let _ = saves.send(std::mem::take(&mut self.unsaved));
        self.last_save = Instant::now();
    }

    fn apply_one(&mut self, i: usize, action: Action) {
        let (result, verb) = match action {
            Action::CopyToRight => (self.copy(i, Side::Left), "copy"),
            Action::CopyToLeft => (self.copy(i, Side::Right), "copy"),
            Action::DeleteLeft => (self.delete(i, Side::Left), "delete"),
            _ => (self.delete(i, Side::Right), "delete"),
        };
        let path = names::to_text(self.rows.row(i).path);
        match result {
            Ok(Applied::Done) => self.outcome.changes += 1,
            Ok(Applied::Changed) => {
                self.outcome.changed_during_sync.push(path);
                if matches!(action, Action::DeleteLeft | Action::DeleteRight) {
                    self.failed_deletes.push(self.rows.row(i).path.into());
                }
            }
            Err(e) => {
                self.outcome
                    .failures
                    .push(format!("Could not {verb} {path}: {e}"));
                if matches!(action, Action::DeleteLeft | Action::DeleteRight) {
                    self.failed_deletes.push(self.rows.row(i).path.into());
                }
            }
        }
    }

    fn copy(&mut self, i: usize, from: Side) -> io::Result<Applied> {
        let to = from.other();
        let (source, target) = (self.pair.side(from), self.pair.side(to));
        let row = self.rows.row(i);
        let (scanned, expected) = (row.entry(from), row.entry(to));
        let scanned = scanned.expect("a copy has a source");
        let path = row.path;
        let mut hash = None;
        let staged = match scanned.kind {
            Kind::File => {
                let (mut reader, now) = source.open(path)?;
                if !now.looks_like(scanned) {
                    return Ok(Applied::Changed);
                }
                let mut staged = target.stage(path)?;
                let (copied, digest) = copy_hashing(&mut reader, &mut staged, &mut self.buffer)?;
                drop(reader);
                if copied != scanned.size || !as_scanned(source.stat(path)?.as_ref(), Some(scanned))
                {
                    return Ok(Applied::Changed);
                }
                hash = Some(digest);
                Some(staged)
            }
            _ => None,
        };
        // Right before replacing: the target must still be what the scan saw.
        let now = target.stat(path)?;
        if !as_scanned(now.as_ref(), expected) {
            return Ok(Applied::Changed);
        }
        match now.as_ref().map(|e| e.kind) {
            Some(Kind::Dir) if scanned.kind != Kind::Dir => target.retire(path, &self.stamp)?,
            Some(Kind::File | Kind::Symlink) if scanned.kind == Kind::Dir => {
                target.retire(path, &self.stamp)?
            }
            Some(Kind::File | Kind::Symlink) => target.keep_version(path, &self.stamp)?,
            _ => {}
        }
        match scanned.kind {
            Kind::File => staged
                .expect("a staged file")
                .commit(scanned.mtime_ns, scanned.exec)?,
            Kind::Dir => target.make_dir(path)?,
            Kind::Symlink => target.make_symlink(
                path,
                scanned.target.as_deref().unwrap_or_default(),
                scanned.mtime_ns,
            )?,
        }
        let entry = synced(scanned, hash, [scanned.mtime_ns; 2]);
        self.unsaved.push((i, Some(entry)));
        Ok(Applied::Done)
    }

    fn delete(&mut self, i: usize, side: Side) -> io::Result<Applied> {
        let replica = self.pair.side(side);
        let row = self.rows.row(i);
        let expected = row.entry(side);
        let path = row.path;
        let now = replica.stat(path)?;
        // Already gone (a folder replaced above it was kept as a version whole): done.
        if now.is_some() && !as_scanned(now.as_ref(), expected) {
            return Ok(Applied::Changed);
        }
        match now.map(|e| e.kind) {
            None => {}
            Some(Kind::Dir) => {
                // Something inside was left alone (changed or failed): keep the folder.
                if self.failed_deletes.iter().any(|f| is_inside(f, path)) {
                    return Ok(Applied::Changed);
                }
                if !replica.remove_empty_dir(path)? {
                    // Only excluded entries are left in it: keep them as a version.
                    replica.retire(path, &self.stamp)?;
                }
            }
            Some(_) => replica.retire(path, &self.stamp)?,
        }
        self.unsaved.push((i, None));
        Ok(Applied::Done)
    }
}

/// Copies everything from `reader` to `writer`, hashing on the way: one read per file.
fn copy_hashing(
    reader: &mut dyn Read,
    writer: &mut dyn io::Write,
    buffer: &mut [u8],
) -> io::Result<(u64, [u8; 32])> {
    let mut hasher = blake3::Hasher::new();
    let mut total = 0;
    loop {
        let n = match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        writer.write_all(&buffer[..n])?;
        total += n as u64;
    }
    Ok((total, *hasher.finalize().as_bytes()))
}
