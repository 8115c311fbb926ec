//! One sync of one pair: scan both sides, reconcile, apply, save the archive. Knows nothing
//! of sessions or dialogs; it talks to its caller through [`Observer`].

use super::FolderError;
use super::archive::{self, Journal, Landing, Loaded, Synced};
use super::config::{self, PairConfig};
use super::filter::Filter;
use super::fit::hold_back;
use super::names::{self, RelPath, conflict_copy, is_inside};
use super::reconcile::{Action, Keep, RowRef, Rows, Side, plan};
use super::replica::{
    BUFFER_SIZE, Entry, FolderRemoval, Keeps, Kind, Mtime, Replica, Retention, RootId, StagedFile,
    Tree, Unsynced,
};
use super::scan::{Joined, adopt_landings, fill_hashes, fit_to_keeps, join};
use crate::core::conflicts::{ConflictReport, ConflictSide, Resolution};
use crossbeam_channel::{Receiver, Sender};
use std::collections::{HashMap, HashSet};
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
/// Both roots are checked to still be what the run opened after this many changes.
const ROOT_CHECK_EVERY: usize = 32;

/// What a run tells its caller and asks of it. Returning `false` stops the run cleanly.
pub trait Observer {
    fn scanning(&mut self, folders: u64) -> bool;
    fn batch_started(&mut self, batch_work: u64, remaining_work: u64) -> bool;
    fn applied(&mut self, work: u64) -> bool;
    fn conflict_found(&mut self) -> bool;
    fn batch_applied(&mut self);
    /// May the run delete this many files? `false` stops it before anything changes.
    fn confirm_deletions(&mut self, deletions: &MassDelete) -> bool;
    /// A root is not the folder synced last time: may the run compare both sides as they
    /// are (as a first sync, which deletes nothing)? `false` stops it before anything
    /// changes.
    fn confirm_root_change(&mut self, change: &RootChange) -> bool;
}

/// A root that is not the folder it was at the last sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootChange {
    pub side: &'static str,
    pub location: String,
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
    /// Entries this run left out, each with the reason ("not synced (special file)").
    pub unsynced: Vec<String>,
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

    fn root_path(&self, side: Side) -> &PathBuf {
        match side {
            Side::Left => &self.config.left,
            Side::Right => &self.config.right,
        }
    }
}

/// Synchronizes the pair once, first applying the resolutions the user chose.
pub fn run(
    pair: &Pair,
    resolutions: &[(ConflictReport, Resolution)],
    observer: &mut dyn Observer,
) -> Result<Outcome, FolderError> {
    let mut roots = Vec::new();
    for side in [Side::Left, Side::Right] {
        match pair.side(side).open_root() {
            Ok(id) => roots.push(id),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Err(FolderError::MissingRoot {
                    side: side_name(side),
                    path: pair.root_path(side).clone(),
                });
            }
            // A remote that cannot be reached, a logon that expired: said as it is.
            Err(e) => return Err(FolderError::io(pair.root_path(side), e)),
        }
    }
    let roots: [RootId; 2] = roots.try_into().expect("two roots");
    config::check_roots(pair.config)?;
    let filter = Filter::new(&pair.config.left, &pair.config.excludes)?;
    let mut outcome = Outcome::default();
    let mut same_roots = true;
    let archived = match archive::load(&pair.archive_file, &pair.config.left, &pair.config.right)? {
        Loaded::Found {
            entries,
            roots: recorded,
        } => {
            let changed = [Side::Left, Side::Right].into_iter().find(|s| {
                recorded[s.index()]
                    .as_ref()
                    .is_some_and(|r| *r != roots[s.index()])
            });
            match changed {
                None => entries,
                Some(side) => {
                    let change = RootChange {
                        side: side_name(side),
                        location: pair.side(side).location(),
                    };
                    same_roots = false;
                    if !observer.confirm_root_change(&change) {
                        return Err(FolderError::RootChanged {
                            side: change.side,
                            path: pair.root_path(side).clone(),
                        });
                    }
                    outcome.notice = Some(format!(
                        "The {} folder {} is not the folder synced last time; as you confirmed, both sides were compared as they are (nothing was deleted; differing files are conflicts).",
                        change.side, change.location
                    ));
                    archive::Entries::new()
                }
            }
        }
        Loaded::FirstSync { notice } => {
            outcome.notice = notice;
            archive::Entries::new()
        }
    };
    let keeps = [Side::Left, Side::Right].map(|s| pair.side(s).keeps().unwrap_or(Keeps::ALL));
    let stamp = chrono::Local::now();
    let keeps_chosen = prepare_resolutions(
        pair,
        resolutions,
        &stamp.format("%Y-%m-%d %H%M%S").to_string(),
        &mut outcome,
    );

    let Some([left_scan, right_scan]) = scan_both(pair, &filter, observer)? else {
        outcome.stopped = true;
        return Ok(outcome);
    };
    let mut special: HashSet<Box<RelPath>> = HashSet::new();
    for (side, scan) in [(Side::Left, &left_scan), (Side::Right, &right_scan)] {
        for (path, why) in &scan.unsynced {
            let text = names::to_text(path);
            let location = pair.side(side).location();
            outcome.unsynced.push(match why {
                Unsynced::SpecialFile => {
                    special.insert(path.clone());
                    format!("{text} in {location}: not synced (special file)")
                }
                Unsynced::MovedAside(to) => format!(
                    "{text} in {location} was in the place of Sync Center's versions folder; it was renamed to \"{}\", which is synced",
                    names::to_text(to)
                ),
            });
        }
    }
    // Copies a killed run made but did not record yet (never from other roots).
    let landings = if same_roots {
        archive::load_journal(&pair.archive_file)
    } else {
        Vec::new()
    };
    let landings = verify_landings(pair, landings, [&left_scan.tree, &right_scan.tree], keeps);
    let journaled = !landings.is_empty();
    let archived = adopt_landings(
        archived,
        landings,
        [&left_scan.tree, &right_scan.tree],
        keeps,
    );
    let mut rows = join(archived, left_scan.tree, right_scan.tree);
    fit_to_keeps(&mut rows, keeps);
    fill_hashes(&mut rows, pair.left, pair.right);
    let mut actions = plan(&rows, pair.config.mode, &keeps_chosen);
    leave_special_files(&rows, &mut actions, &special);
    for held in hold_back(&rows, &mut actions, keeps) {
        outcome.unsynced.push(format!(
            "{}: not synced to {}: {}",
            names::to_text(rows.row(held.row).path),
            pair.side(held.side).location(),
            held.reason
        ));
    }

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
        actions: &actions,
        filter: &filter,
        roots: &roots,
        unsaved: Vec::new(),
        stamp: stamp.format(super::versions::STAMP).to_string(),
        outcome,
        failed_deletes: Vec::new(),
        last_save: Instant::now(),
        buffer: vec![0; BUFFER_SIZE],
        root_changed: None,
        journal: Journal::new(&pair.archive_file),
    };
    // Flushing and saving happen on their own thread, so copying goes on meanwhile.
    let (saves, snapshots) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| {
        let saver = scope.spawn(|| save_snapshots(pair, &rows, &roots, snapshots));
        let applied = apply.run(conflict_count, journaled, observer, &saves);
        drop(saves);
        let saved = saver.join().expect("archive saver");
        applied.and(saved)
    })?;
    // Everything the journal announced is in the saved archive now.
    archive::clear_journal(&pair.archive_file)?;
    if let Some(side) = apply.root_changed {
        return Err(FolderError::RootChangedDuringSync {
            side: side_name(side),
            path: pair.root_path(side).clone(),
        });
    }
    let mut outcome = apply.outcome;
    if !outcome.stopped {
        prune(pair, &mut outcome);
    }
    Ok(outcome)
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Left => "left",
        Side::Right => "right",
    }
}

/// FIFOs, sockets and devices are never synced: nothing is done at their paths (a file of
/// that name on the other side is not copied over them) or inside them.
fn leave_special_files(rows: &Joined, actions: &mut [Action], special: &HashSet<Box<RelPath>>) {
    if special.is_empty() {
        return;
    }
    let mut held: Option<usize> = None;
    for (i, action) in actions.iter_mut().enumerate() {
        let path = rows.row(i).path;
        if held.is_some_and(|h| is_inside(path, rows.row(h).path)) || special.contains(path) {
            held = held
                .filter(|&h| is_inside(path, rows.row(h).path))
                .or(Some(i));
            *action = Action::Nothing;
        }
    }
}

/// Removes versions beyond the pair's policy on both sides, at the end of a run.
fn prune(pair: &Pair, outcome: &mut Outcome) {
    let retention = Retention {
        max_age_days: pair.config.versions_days,
        max_share_percent: pair.config.versions_disk_percent,
    };
    let now = chrono::Local::now().timestamp();
    for side in [Side::Left, Side::Right] {
        if let Err(e) = pair.side(side).prune_versions(&retention, now) {
            outcome.unsynced.push(format!(
                "Old versions in {} could not be removed: {e}",
                pair.side(side).location()
            ));
        }
    }
}

/// Turns chosen resolutions into keeps; keep-both first renames the right's version to a
/// conflict copy, which the scan then finds as a new file to copy to the left. A choice
/// whose losing side changed since the user made it is not applied: the conflict shows
/// again with the new version.
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
                        let renamed = free_conflict_name(pair, &path, stamp)
                            .and_then(|copy| pair.right.rename(&path, &copy));
                        if let Err(e) = renamed {
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
        let (loser, shown) = match side {
            Side::Left => (pair.right, &report.right),
            Side::Right => (pair.left, &report.left),
        };
        let now = loser.stat(&path).ok().flatten();
        if !still_as_shown(now.as_ref(), shown) {
            continue;
        }
        keeps.push(Keep {
            path: path.into(),
            side,
        });
    }
    keeps
}

/// Whether an entry is what a conflict showed for its side.
fn still_as_shown(now: Option<&Entry>, shown: &ConflictSide) -> bool {
    match now {
        None => !shown.exists,
        Some(entry) => {
            shown.exists
                && shown.is_dir == (entry.kind == Kind::Dir)
                && shown.size == (entry.kind == Kind::File).then_some(entry.size)
                && shown.modified == (entry.kind != Kind::Dir).then(|| time_of(entry.mtime))
        }
    }
}

/// A conflict copy name that neither side uses yet ("NAME (conflict STAMP 2).EXT" when the
/// plain one is taken).
fn free_conflict_name(pair: &Pair, path: &RelPath, stamp: &str) -> io::Result<Vec<u8>> {
    for n in 1..=100 {
        let copy = match n {
            1 => conflict_copy(path, stamp),
            n => conflict_copy(path, &format!("{stamp} {n}")),
        };
        let mut taken = false;
        for side in [pair.left, pair.right] {
            taken |= side.stat(&copy)?.is_some();
        }
        if !taken {
            return Ok(copy);
        }
    }
    Err(io::Error::other("every conflict copy name is taken"))
}

/// Scans both sides at once, reporting folders counted; `None` when the observer stopped it.
fn scan_both(
    pair: &Pair,
    filter: &Filter,
    observer: &mut dyn Observer,
) -> Result<Option<[super::replica::Scan; 2]>, FolderError> {
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

/// A modification time as conflicts show it: to the millisecond, as the conflict store
/// keeps it (so a report and its stored copy compare equal).
fn time_of(mtime: Mtime) -> SystemTime {
    let mtime = Mtime::new(mtime.secs, mtime.nanos / 1_000_000 * 1_000_000);
    let secs = if mtime.secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(mtime.secs as u64))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(mtime.secs.unsigned_abs()))
    };
    secs.and_then(|t| t.checked_add(Duration::from_nanos(u64::from(mtime.nanos))))
        .unwrap_or(UNIX_EPOCH)
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
            .map(|e| time_of(e.mtime)),
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
fn synced(entry: &Entry, hash: Option<[u8; 32]>, mtimes: [Mtime; 2]) -> Synced {
    Synced {
        kind: entry.kind,
        exec: entry.exec,
        size: entry.size,
        mtime: mtimes,
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
    roots: &[RootId; 2],
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
            [&roots[0], &roots[1]],
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
    /// The target changed since the last sync although its size and mtime did not: a
    /// conflict, shown now and seen again by the next run.
    UnseenChange,
}

struct Apply<'p, 'a, 'j> {
    pair: &'p Pair<'a>,
    rows: &'j Joined,
    actions: &'j [Action],
    filter: &'j Filter,
    /// The roots as opened at the start of the run.
    roots: &'j [RootId; 2],
    /// Archive changes not handed to the saver yet.
    unsaved: ArchiveChanges,
    /// The versions folder of this run.
    stamp: String,
    outcome: Outcome,
    failed_deletes: Vec<Box<RelPath>>,
    last_save: Instant,
    /// The one copy buffer of the run.
    buffer: Vec<u8>,
    /// The side whose root stopped being the one opened (the run stopped).
    root_changed: Option<Side>,
    /// Each copy is announced here right before it lands.
    journal: Journal,
}

/// Whether the action replaces a folder on its target with a file or link: done after the
/// folder's contents were deleted, so the folder is removed only when nothing new is in it.
fn replaces_folder(row: RowRef, action: Action) -> bool {
    let (from, to) = match action {
        Action::CopyToRight => (Side::Left, Side::Right),
        Action::CopyToLeft => (Side::Right, Side::Left),
        _ => return false,
    };
    row.entry(to).is_some_and(|e| e.kind == Kind::Dir)
        && row.entry(from).is_some_and(|e| e.kind != Kind::Dir)
}

impl Apply<'_, '_, '_> {
    fn run(
        &mut self,
        conflicts: u64,
        journaled: bool,
        observer: &mut dyn Observer,
        saves: &Sender<ArchiveChanges>,
    ) -> Result<(), FolderError> {
        let actions = self.actions;
        // Archive-only decisions need no I/O; journaled copies adopted must be saved.
        let mut archive_changed = journaled;
        for (i, action) in actions.iter().enumerate() {
            let row = self.rows.row(i);
            let now = match action {
                Action::Record => match (row.left, row.right) {
                    (Some(l), Some(r)) => Some(synced(l, None, [l.mtime, r.mtime])),
                    _ => None,
                },
                Action::Forget => None,
                _ => continue,
            };
            self.unsaved.push((i, now));
            archive_changed = true;
        }
        // Creations and moves parent first, then deletions (and folders replaced by a
        // file or link) contents first.
        let creates = |i: usize, a: &Action| match a {
            Action::CopyToLeft | Action::CopyToRight => !replaces_folder(self.rows.row(i), *a),
            Action::MoveOnLeft { .. } | Action::MoveOnRight { .. } => true,
            _ => false,
        };
        let removes = |i: usize, a: &Action| match a {
            Action::DeleteLeft | Action::DeleteRight => true,
            _ => replaces_folder(self.rows.row(i), *a),
        };
        let mut work: Vec<(usize, Action)> = actions
            .iter()
            .enumerate()
            .filter(|(i, a)| creates(*i, a))
            .map(|(i, a)| (i, *a))
            .collect();
        work.extend(
            actions
                .iter()
                .enumerate()
                .rev()
                .filter(|(i, a)| removes(*i, a))
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
        let mut since_root_check = 0;
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
                if since_root_check == 0 && !self.roots_unchanged() {
                    go_on = false;
                }
                since_root_check = (since_root_check + 1) % ROOT_CHECK_EVERY;
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

    /// Whether both locations still lead to the roots opened at the start; notes the side
    /// that does not.
    fn roots_unchanged(&mut self) -> bool {
        for side in [Side::Left, Side::Right] {
            let now = self.pair.side(side).current_root().ok();
            if now.as_ref() != Some(&self.roots[side.index()]) {
                self.root_changed = Some(side);
                return false;
            }
        }
        true
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
            Action::MoveOnRight { from } => (self.relocate(i, from as usize, Side::Right), "move"),
            Action::MoveOnLeft { from } => (self.relocate(i, from as usize, Side::Left), "move"),
            Action::DeleteLeft => (self.delete(i, Side::Left), "delete"),
            _ => (self.delete(i, Side::Right), "delete"),
        };
        let row = self.rows.row(i);
        let path = names::to_text(row.path);
        let removing = matches!(action, Action::DeleteLeft | Action::DeleteRight)
            || replaces_folder(row, action);
        match result {
            Ok(Applied::Done) => self.outcome.changes += 1,
            Ok(Applied::Changed) => {
                self.outcome.changed_during_sync.push(path);
                if removing {
                    self.failed_deletes.push(row.path.into());
                }
            }
            Ok(Applied::UnseenChange) => {
                let report = conflict_report(self.pair, row);
                self.outcome.conflicts.get_or_insert_default().push(report);
            }
            Err(e) => {
                self.outcome
                    .failures
                    .push(format!("Could not {verb} {path}: {e}"));
                if removing {
                    self.failed_deletes.push(row.path.into());
                }
            }
        }
    }

    /// Whether the target file, as archived by size and mtime (its contents never read),
    /// still has the archived contents. When it does not, the archive forgets that side's
    /// mtime so the next run reads it and sees the change.
    fn unseen_change(&mut self, i: usize, side: Side) -> io::Result<bool> {
        let row = self.rows.row(i);
        let (Some(archived), Some(now)) = (row.archive, row.entry(side)) else {
            return Ok(false);
        };
        let looked_unchanged = archived.kind == Kind::File
            && now.kind == Kind::File
            && now.mtime == archived.mtime[side.index()]
            && now.hash == Some(archived.hash);
        if !looked_unchanged || self.pair.side(side).hash(row.path)? == archived.hash {
            return Ok(false);
        }
        let mut forgotten = archived.clone();
        forgotten.mtime[side.index()] = Mtime::new(i64::MIN, 0);
        self.unsaved.push((i, Some(forgotten)));
        Ok(true)
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
                let mut reader = source.open(path)?;
                if !reader.entry().looks_like(scanned) {
                    return Ok(Applied::Changed);
                }
                let mut staged = target.stage(path)?;
                let (copied, digest) = copy_hashing(&mut reader, &mut *staged, &mut self.buffer)?;
                if copied != scanned.size
                    || !as_scanned(reader.at_path_now()?.as_ref(), Some(scanned))
                {
                    return Ok(Applied::Changed);
                }
                hash = Some(digest);
                Some(staged)
            }
            _ => None,
        };
        // Right before replacing: the target must still be what the scan saw, and a file
        // that only looked unchanged (size and mtime) must still hold what was synced.
        let now = match &staged {
            Some(staged) => staged.at_path_now()?,
            None => target.stat(path)?,
        };
        if !as_scanned(now.as_ref(), expected) {
            return Ok(Applied::Changed);
        }
        if self.unseen_change(i, to)? {
            return Ok(Applied::UnseenChange);
        }
        let intended = synced(scanned, hash, [scanned.mtime; 2]);
        self.journal.append(path, &intended, to.index())?;
        match now.as_ref().map(|e| e.kind) {
            Some(Kind::Dir) if scanned.kind != Kind::Dir => {
                let removed = self.remove_folder(to, path)?;
                if !removed {
                    return Ok(Applied::Changed);
                }
            }
            Some(Kind::File | Kind::Symlink) if scanned.kind == Kind::Dir => {
                target.retire(path, &self.stamp)?
            }
            Some(Kind::File | Kind::Symlink) => target.keep_version(path, &self.stamp)?,
            _ => {}
        }
        let stored_mtime = match scanned.kind {
            Kind::File => {
                let stored = staged
                    .expect("a staged file")
                    .commit(scanned.mtime, scanned.exec)?;
                stored.mtime
            }
            Kind::Dir => {
                target.make_dir(path)?;
                scanned.mtime
            }
            Kind::Symlink => {
                target.make_symlink(
                    path,
                    scanned.target.as_deref().unwrap_or_default(),
                    scanned.mtime,
                )?;
                scanned.mtime
            }
        };
        let mut mtimes = [scanned.mtime; 2];
        mtimes[to.index()] = stored_mtime;
        self.unsaved.push((i, Some(synced(scanned, hash, mtimes))));
        Ok(Applied::Done)
    }

    /// Moves the file of row `from` to row `i`'s path on `side`, as the other side did.
    fn relocate(&mut self, i: usize, from: usize, side: Side) -> io::Result<Applied> {
        let replica = self.pair.side(side);
        let (row, old) = (self.rows.row(i), self.rows.row(from));
        let moved = old.entry(side).expect("a move has a file to move");
        let new = row.entry(side.other()).expect("a move has a new path");
        if !as_scanned(replica.stat(old.path)?.as_ref(), Some(moved))
            || replica.stat(row.path)?.is_some()
        {
            return Ok(Applied::Changed);
        }
        replica.rename(old.path, row.path)?;
        let mut mtimes = [new.mtime; 2];
        mtimes[side.index()] = moved.mtime;
        self.unsaved.push((from, None));
        self.unsaved.push((i, Some(synced(new, None, mtimes))));
        Ok(Applied::Done)
    }

    /// Removes a folder whose contents were deleted; `false` (the folder stays) when
    /// something inside was left alone (changed or failed) or was saved into it since the
    /// scan.
    fn remove_folder(&self, side: Side, path: &RelPath) -> io::Result<bool> {
        if self.failed_deletes.iter().any(|f| is_inside(f, path)) {
            return Ok(false);
        }
        let removal = self
            .pair
            .side(side)
            .remove_folder(path, self.filter, &self.stamp)?;
        Ok(removal == FolderRemoval::Removed)
    }

    fn delete(&mut self, i: usize, side: Side) -> io::Result<Applied> {
        let replica = self.pair.side(side);
        let row = self.rows.row(i);
        let expected = row.entry(side);
        let path = row.path;
        // Never through a link: a folder on the way that became a link makes it absent.
        let now = replica.stat(path)?;
        // Already gone (a folder replaced above it was kept as a version whole): done.
        if now.is_some() && !as_scanned(now.as_ref(), expected) {
            return Ok(Applied::Changed);
        }
        match now.map(|e| e.kind) {
            None => {}
            Some(Kind::Dir) => {
                let removed = self.remove_folder(side, path)?;
                if !removed {
                    return Ok(Applied::Changed);
                }
            }
            Some(_) => replica.retire(path, &self.stamp)?,
        }
        self.unsaved.push((i, None));
        Ok(Applied::Done)
    }
}

/// Copies everything from `reader` to `writer`, hashing on the way (one read per file) and
/// leaving holes where the source has only zeros, so sparse files stay sparse.
/// On a target that keeps no mtimes (a WebDAV server stamping files with the time they were
/// written) a file of the journal's size is no proof the copy landed: its contents are
/// hashed and compared with what was copied. A landing that holds it counts with the mtime
/// the target gave it; one that does not is dropped (a killed run's copy of the same size
/// as the old file once reverted a later local edit).
fn verify_landings(
    pair: &Pair,
    landings: Vec<Landing>,
    trees: [&Tree; 2],
    keeps: [Keeps; 2],
) -> Vec<Landing> {
    landings
        .into_iter()
        .filter_map(|mut landing| {
            if landing.synced.kind != Kind::File
                || keeps[landing.target].mtime_step_ns < Keeps::NO_MTIMES
            {
                return Some(landing);
            }
            let now = trees[landing.target].find(&landing.path)?;
            let side = [Side::Left, Side::Right][landing.target];
            let holds = now.kind == Kind::File
                && now.size == landing.synced.size
                && pair.side(side).hash(&landing.path).ok() == Some(landing.synced.hash);
            holds.then(|| {
                landing.synced.mtime[landing.target] = now.mtime;
                landing
            })
        })
        .collect()
}

fn copy_hashing(
    reader: &mut dyn Read,
    writer: &mut dyn StagedFile,
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
        let chunk = &buffer[..n];
        hasher.update(chunk);
        if chunk.iter().all(|&b| b == 0) {
            writer.skip_zeros(n as u64)?;
        } else {
            writer.write_all(chunk)?;
        }
        total += n as u64;
    }
    Ok((total, *hasher.finalize().as_bytes()))
}
