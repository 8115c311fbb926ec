//! One sync of one pair: scan both sides, reconcile, apply, save the archive. Knows nothing
//! of sessions or dialogs; it talks to its caller through [`Observer`].

use super::FolderError;
use super::archive::{
    self, Archived, Batch, Journal, Landing, Loaded, LogWriter, States, Synced, SyncedRef,
};
use super::config::{self, PairConfig};
use super::filter::Filter;
use super::fit::hold_back;
use super::intake;
use super::names::{self, NO_INDEX, RelPath, cmp_paths, conflict_copy, is_inside};
use super::reconcile::{Action, Keep, RowRef, Rows, Side, plan};
use super::replica::{
    BUFFER_SIZE, Entry, EntryRef, FolderRemoval, Hash, Intake, Keeps, Kind, Mtime, Replica,
    Retention, RootId, StagedFile, Tree, Unsynced,
};
use super::scan::{Joined, fill_hashes, fit_to_keeps, join};
use crate::core::activity::{Activity, Change, Direction};
use crate::core::conflicts::{ConflictReport, ConflictSide, Resolution};
use crate::core::figures::FILE_COST;
use crate::core::preview::ItemPlan;
use crate::core::words::grouped;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The work a change costs beyond its bytes (creating, renaming, flushing an entry), so the
/// bar moves for many small files as it does for a few big ones: the same cost the overall
/// bar weighs a file by.
pub const PER_FILE_WORK: u64 = FILE_COST;
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
/// A change refused with "permission denied" (a logon that expired, or just a file the user
/// may not read) has the roots checked at most this often: a thousand unreadable files must
/// not cost a thousand listings of a remote.
const DENIAL_CHECK_EVERY: Duration = Duration::from_secs(1);

/// What a run tells its caller and asks of it. Returning `false` stops the run cleanly.
pub trait Observer {
    /// `checked` entries listed on both sides so far.
    fn scanning(&mut self, checked: u64) -> bool;
    /// What applying will do: `changes` entries to change (conflicts included), `bytes`
    /// to copy, and whether changes go both ways.
    fn planned(&mut self, changes: u64, bytes: u64, both_ways: bool);
    fn batch_started(&mut self, batch_work: u64, remaining_work: u64) -> bool;
    /// One change was tried at the cost of `work` (its bytes plus [`PER_FILE_WORK`]);
    /// `done` says what it did, or that it failed (`None`: left for the next run).
    fn applied(&mut self, work: u64, done: Option<Activity>) -> bool;
    fn conflict_found(&mut self) -> bool;
    fn batch_applied(&mut self);
    /// Whether the user asked the run to stop (Skip, Stop): a change that failed then was
    /// cut short by it, not a failure.
    fn stopping(&mut self) -> bool {
        false
    }
    /// May the run delete this many files, or should it bring them back instead?
    fn confirm_deletions(&mut self, deletions: &MassDelete) -> DeletionAnswer;
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
    /// How many of them Restore can bring back: those synced before, now gone from the
    /// other side. The rest (mirror mode) were never there.
    pub restorable: usize,
    /// The side the files would be deleted on, and its folder.
    pub side: Side,
    pub location: String,
    /// The other side's folder, where they are gone (or never were, in mirror mode).
    pub other_location: String,
}

/// The user's answer to a run that would delete many files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionAnswer {
    Delete,
    /// Copy them to the side where they are gone instead: undoes a deletion by mistake,
    /// which "don't delete" alone would ask about at every run.
    Restore,
    /// Stop before anything changes.
    Keep,
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

/// Both sides scanned and what to do with each path, before anything is applied.
struct Planned {
    rows: Joined,
    actions: Vec<Action>,
    roots: [RootId; 2],
    filter: Filter,
    stamp: chrono::DateTime<chrono::Local>,
    journaled: bool,
    /// The archive as loaded: its base and log are extended by the run.
    archived: Option<Archived>,
    /// What each side's storage keeps (names, case, times).
    keeps: [Keeps; 2],
}

/// Synchronizes the pair once, first applying the resolutions the user chose.
pub fn run(
    pair: &Pair,
    resolutions: &[(ConflictReport, Resolution)],
    observer: &mut dyn Observer,
) -> Result<Outcome, FolderError> {
    let mut outcome = Outcome::default();
    let Some(planned) = scan_and_plan(pair, resolutions, false, observer, &mut outcome)? else {
        outcome.stopped = true;
        return Ok(outcome);
    };
    let Planned {
        rows,
        mut actions,
        roots,
        filter,
        stamp,
        journaled,
        archived,
        keeps,
    } = planned;
    // The copies adopted from the journal were written by a killed run and may still be
    // only in memory, and this run may have no batch of its own to flush: they are made
    // durable before the archive can record them.
    if journaled {
        flush_both(pair)?;
    }
    // Each side is asked about on its own: deletions on one side, answered, leave the
    // other side's to be asked about.
    for side in [Side::Left, Side::Right] {
        let Some(deletions) = mass_delete(pair, &rows, &actions, side) else {
            continue;
        };
        match observer.confirm_deletions(&deletions) {
            DeletionAnswer::Delete => {}
            DeletionAnswer::Restore => {
                restore_instead(&rows, &mut actions, side);
                // The copies instead are held to what the target keeps, as planned ones are.
                hold_back_what_cannot_be_kept(pair, &rows, &mut actions, keeps, &mut outcome);
            }
            DeletionAnswer::Keep => {
                outcome.refused = Some(deletions);
                return Ok(outcome);
            }
        }
    }
    let conflicts: Vec<ConflictReport> = (0..rows.len())
        .filter(|&i| actions[i] == Action::Conflict)
        .map(|i| conflict_report(pair, &rows, i))
        .collect();
    let conflict_count = conflicts.len() as u64;
    outcome.conflicts = Some(conflicts);

    let changer = Changer {
        pair,
        rows: &rows,
        filter: &filter,
        stamp: stamp.format(super::versions::STAMP).to_string(),
        journal: Mutex::new(Journal::new(&pair.archive_file)),
        failed_deletes: Mutex::new(Vec::new()),
    };
    let mut apply = Apply {
        changer: &changer,
        rows: &rows,
        actions: &actions,
        roots: &roots,
        results: Vec::new(),
        states: States::new(),
        batch: Batch::default(),
        path: Vec::new(),
        outcome,
        last_save: Instant::now(),
        buffer: vec![0; BUFFER_SIZE],
        root_changed: None,
        denial_checked: None,
    };
    let ids = [&roots[0], &roots[1]];
    let log = LogWriter::new(
        &pair.archive_file,
        &pair.config.left,
        &pair.config.right,
        ids,
        archived
            .as_ref()
            .map_or(archive::NO_BASE, Archived::base_checksum),
        archived.as_ref().map_or(0, Archived::log_len),
    );
    // Flushing and logging happen on their own thread, so copying goes on meanwhile.
    let (saves, batches) = crossbeam_channel::unbounded();
    let logged = std::thread::scope(|scope| {
        let saver = scope.spawn(|| save_batches(pair, log, batches));
        let applied = apply.run(conflict_count, observer, &saves);
        drop(saves);
        let saved = saver.join().expect("archive saver");
        applied.and(saved)
    })?;
    // The log holds every change, durably. The base is rewritten with them when it must
    // be (a first sync, other roots, copies adopted from the journal, an archive without
    // root identities) or when the log has grown to a fair share of it.
    let recorded = [Side::Left, Side::Right].map(|s| {
        archived
            .as_ref()
            .and_then(|a| a.roots[s.index()].as_ref())
            .is_some_and(|r| *r == roots[s.index()])
    });
    let compact = match &archived {
        _ if logged == 0 && !journaled => false,
        Some(found) => journaled || recorded != [true; 2] || found.wants_compaction(logged),
        None => true,
    };
    if compact {
        write_base(pair, &rows, ids, &mut apply.results, &apply.states)?;
        archive::remove_log(&pair.archive_file)?;
    }
    // Everything the journal announced is in the log or the base now.
    archive::clear_journal(&pair.archive_file)?;
    match apply.root_changed {
        Some((side, None)) => {
            return Err(FolderError::RootChangedDuringSync {
                side: side_name(side),
                path: pair.root_path(side).clone(),
            });
        }
        Some((side, Some(error))) => {
            return Err(FolderError::LostDuringSync {
                side: side_name(side),
                path: pair.root_path(side).clone(),
                reason: error.to_string(),
            });
        }
        None => {}
    }
    let mut outcome = apply.outcome;
    if !outcome.stopped {
        prune(pair, &mut outcome);
    }
    Ok(outcome)
}

/// What [`run`] would do now, changing nothing: each change in the order it would be made,
/// then the conflicts; the notes say what would be left out or asked first.
pub fn preview(
    pair: &Pair,
    resolutions: &[(ConflictReport, Resolution)],
    observer: &mut dyn Observer,
) -> Result<ItemPlan, FolderError> {
    let mut outcome = Outcome::default();
    let Some(Planned { rows, actions, .. }) =
        scan_and_plan(pair, resolutions, true, observer, &mut outcome)?
    else {
        return Err(FolderError::PreviewStopped);
    };
    let mut plan = ItemPlan::default();
    for (i, action) in changes_in_order(&rows, &actions) {
        plan.changes.record(change_entry(&rows, i, action));
    }
    for i in (0..rows.len()).filter(|&i| actions[i] == Action::Conflict) {
        plan.changes.record(Activity::new(
            names::to_text(&rows.path(i)),
            Direction::Both,
            Change::Conflict,
        ));
    }
    for deletions in [Side::Left, Side::Right]
        .into_iter()
        .filter_map(|side| mass_delete(pair, &rows, &actions, side))
    {
        plan.notes.push(format!(
            "It would delete {} of the {} files in {}, so it asks first.",
            grouped(deletions.count as u64),
            grouped(deletions.total as u64),
            deletions.location
        ));
    }
    plan.notes.extend(outcome.notice);
    plan.notes.extend(outcome.unsynced);
    Ok(plan)
}

/// Scans both sides and plans each path's change (the resolutions chosen first); `None`
/// when the observer stopped the scan. Changes nothing but the renames of "keep both"
/// resolutions, which a preview only notes.
fn scan_and_plan(
    pair: &Pair,
    resolutions: &[(ConflictReport, Resolution)],
    previewing: bool,
    observer: &mut dyn Observer,
    outcome: &mut Outcome,
) -> Result<Option<Planned>, FolderError> {
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
    let mut same_roots = true;
    let archived = match archive::load(&pair.archive_file, &pair.config.left, &pair.config.right)? {
        Loaded::Found(found) => {
            let changed = [Side::Left, Side::Right].into_iter().find(|s| {
                found.roots[s.index()]
                    .as_ref()
                    .is_some_and(|r| *r != roots[s.index()])
            });
            match changed {
                None => Some(found),
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
                    None
                }
            }
        }
        Loaded::FirstSync { notice } => {
            outcome.notice = notice;
            None
        }
    };
    let keeps = [Side::Left, Side::Right].map(|s| pair.side(s).keeps().unwrap_or(Keeps::ALL));
    let stamp = chrono::Local::now();
    let keeps_chosen = prepare_resolutions(
        pair,
        resolutions,
        &stamp.format("%Y-%m-%d %H%M%S").to_string(),
        previewing,
        outcome,
    );

    let Some([left_scan, right_scan]) = scan_both(pair, &filter, observer)? else {
        return Ok(None);
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
                    "{text} in {location} was in the place of Sync Center's versions folder; it {} \"{}\", which is synced",
                    if previewing { "is renamed to" } else { "was renamed to" },
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
    let entries = archived.as_ref().map(Archived::entries).transpose()?;
    let mut rows = join(entries, &landings, left_scan.tree, right_scan.tree, keeps)?;
    let journaled = !landings.is_empty();
    drop(landings);
    fit_to_keeps(&mut rows, keeps);
    fill_hashes(&mut rows, pair.left, pair.right);
    let mut actions = plan(&rows, pair.config.mode, &keeps_chosen);
    leave_special_files(&rows, &mut actions, &special);
    hold_back_what_cannot_be_kept(pair, &rows, &mut actions, keeps, outcome);

    Ok(Some(Planned {
        rows,
        actions,
        roots,
        filter,
        stamp,
        journaled,
        archived,
        keeps,
    }))
}

/// Holds back the actions a side's storage cannot carry out, each listed as not synced.
fn hold_back_what_cannot_be_kept(
    pair: &Pair,
    rows: &Joined,
    actions: &mut [Action],
    keeps: [Keeps; 2],
    outcome: &mut Outcome,
) {
    for held in hold_back(rows, actions, keeps) {
        outcome.unsynced.push(format!(
            "{}: not synced to {}: {}",
            names::to_text(&rows.path(held.row)),
            pair.side(held.side).location(),
            held.reason
        ));
    }
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
    let mut path = Vec::new();
    for (i, action) in actions.iter_mut().enumerate() {
        held = held.filter(|&h| rows.is_inside(i, h));
        rows.path_into(i, &mut path);
        if held.is_some() || special.contains(path.as_slice()) {
            held = held.or(Some(i));
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
    previewing: bool,
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
                    (Some(_), Some(_)) if previewing => {
                        outcome.unsynced.push(format!(
                            "{}: both versions kept, the right one renamed first",
                            names::to_text(&path)
                        ));
                        continue;
                    }
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

/// Scans both sides at once, reporting entries counted; `None` when the observer stopped it.
fn scan_both(
    pair: &Pair,
    filter: &Filter,
    observer: &mut dyn Observer,
) -> Result<Option<[super::replica::Scan; 2]>, FolderError> {
    let checked = [AtomicU64::new(0), AtomicU64::new(0)];
    let stop = AtomicBool::new(false);
    let (done_tx, done) = crossbeam_channel::bounded::<()>(2);
    let scanned = std::thread::scope(|scope| {
        let jobs = [Side::Left, Side::Right].map(|side| {
            let (checked, stop, done_tx) = (&checked[side.index()], &stop, done_tx.clone());
            scope.spawn(move || {
                let tree = pair.side(side).scan(filter, checked, stop);
                let _ = done_tx.send(());
                tree
            })
        });
        let mut finished = 0;
        while finished < 2 {
            match done.recv_timeout(SCAN_REPORT_EVERY) {
                Ok(()) => finished += 1,
                Err(_) => {
                    let count = checked.iter().map(|f| f.load(Ordering::Relaxed)).sum();
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

/// The deletions on `side`, when they are many.
fn mass_delete(pair: &Pair, rows: &Joined, actions: &[Action], side: Side) -> Option<MassDelete> {
    let delete = match side {
        Side::Left => Action::DeleteLeft,
        Side::Right => Action::DeleteRight,
    };
    let is_file = |i: usize| rows.row(i).entry(side).is_some_and(|e| e.kind != Kind::Dir);
    let deleted: Vec<usize> = (0..rows.len())
        .filter(|&i| actions[i] == delete && is_file(i))
        .collect();
    if deleted.len() <= MASS_DELETE_MIN {
        return None;
    }
    let total = (0..rows.len()).filter(|&i| is_file(i)).count();
    (deleted.len() * 2 > total).then(|| MassDelete {
        count: deleted.len(),
        total,
        restorable: deleted.iter().filter(|&&i| was_synced(rows, i)).count(),
        side,
        location: pair.side(side).location(),
        other_location: pair.side(side.other()).location(),
    })
}

/// Whether row `i` was on both sides at the last sync: its deletion on one side follows
/// its loss on the other. (Without it, mirror mode deletes what was never in the source.)
fn was_synced(rows: &Joined, i: usize) -> bool {
    rows.row(i).archive.is_some()
}

/// Plans each deletion on `side` of an entry synced before as a copy from it instead, to
/// the side where the entry is gone: the copy's own checks (nothing there now) hold as for
/// any new entry. An entry never synced (mirror mode: never in the source) is left as it
/// is, as Restore brings back only what was lost.
fn restore_instead(rows: &Joined, actions: &mut [Action], side: Side) {
    let (delete, copy_back) = match side {
        Side::Left => (Action::DeleteLeft, Action::CopyToRight),
        Side::Right => (Action::DeleteRight, Action::CopyToLeft),
    };
    for (i, action) in actions.iter_mut().enumerate() {
        if *action == delete {
            *action = match was_synced(rows, i) {
                true => copy_back,
                false => Action::Nothing,
            };
        }
    }
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

fn conflict_report(pair: &Pair, rows: &Joined, i: usize) -> ConflictReport {
    let row = rows.row(i);
    let side = |label: &str, replica: &dyn Replica, entry: Option<EntryRef>| ConflictSide {
        label: label.into(),
        location: replica.location(),
        exists: entry.is_some(),
        is_dir: entry.is_some_and(|e| e.kind == Kind::Dir),
        size: entry.filter(|e| e.kind == Kind::File).map(|e| e.size),
        modified: entry
            .filter(|e| e.kind != Kind::Dir)
            .map(|e| time_of(e.mtime)),
    };
    let text = names::to_text(&rows.path(i));
    ConflictReport {
        id: text.clone(),
        path: text,
        left: side("Left", pair.left, row.left),
        right: side("Right", pair.right, row.right),
    }
}

/// The archive entry for `entry` once both sides hold it.
fn synced(entry: EntryRef, hash: Option<[u8; 32]>, mtimes: [Mtime; 2]) -> Synced {
    Synced {
        kind: entry.kind,
        exec: entry.exec,
        size: entry.size,
        mtime: mtimes,
        hash: hash.or(entry.hash.copied()).unwrap_or_default(),
        target: entry.target.map(Into::into),
    }
}

/// Makes each batch of changes durable as it arrives: flushes both sides (syncfs), then
/// appends the batch to the log, so the archive never records data that is not on disk.
/// A side the batch only read from is flushed too: a file saved there without fsync and
/// recorded as synced would, after a power cut, come back older than the archive says and
/// be taken for the user's change. (Skipping it saved 0.16 s of a 10,000-file first sync.)
/// Returns the bytes logged.
fn save_batches(
    pair: &Pair,
    mut log: LogWriter,
    batches: Receiver<Vec<u8>>,
) -> Result<u64, FolderError> {
    while let Ok(mut batch) = batches.recv() {
        while let Ok(newer) = batches.try_recv() {
            batch.extend_from_slice(&newer);
        }
        flush_both(pair)?;
        log.append(&batch)?;
    }
    Ok(log.written)
}

/// Makes everything on both sides durable (syncfs).
fn flush_both(pair: &Pair) -> Result<(), FolderError> {
    for side in [Side::Left, Side::Right] {
        let flushed = pair.side(side).flush();
        flushed.map_err(|e| FolderError::io(pair.root_path(side), e))?;
    }
    Ok(())
}

/// Writes a new base: every row's archived state, or the state the run left it in.
fn write_base(
    pair: &Pair,
    rows: &Joined,
    ids: [&RootId; 2],
    results: &mut [(u32, u32)],
    states: &States,
) -> Result<(), FolderError> {
    // Rows in order; the last change of a row wins (the sort is stable).
    results.sort_by_key(|r| r.0);
    let mut writer = archive::Writer::create(
        &pair.archive_file,
        &pair.config.left,
        &pair.config.right,
        ids,
    )?;
    let mut changes = results.iter().peekable();
    let mut path = Vec::new();
    for i in 0..rows.len() {
        let mut state = rows.row(i).archive;
        while let Some(&(_, number)) = changes.next_if(|c| c.0 as usize == i) {
            state = (number != NO_INDEX).then(|| states.get(number));
        }
        if let Some(state) = state {
            rows.path_into(i, &mut path);
            writer.put(&path, state)?;
        }
    }
    writer.commit().map(drop)
}

/// Whether what is there now is what the scan saw.
fn as_scanned(now: Option<&Entry>, scanned: Option<EntryRef>) -> bool {
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

/// Rows and their states after a change (`None`: no longer archived), in the order made.
type Records = Vec<(usize, Option<Synced>)>;

/// One change as tried on the replicas, not yet noted in the run's results.
struct Tried {
    i: usize,
    action: Action,
    /// Its work, for the observer.
    cost: u64,
    result: io::Result<Applied>,
    records: Records,
}

/// What makes the changes on the replicas. Shared by the threads that copy files side by
/// side (when a replica takes several transfers at once), so it only reads, or locks.
struct Changer<'p, 'a, 'j> {
    pair: &'p Pair<'a>,
    rows: &'j Joined,
    filter: &'j Filter,
    /// The versions folder of this run.
    stamp: String,
    /// Each copy is announced here right before it lands.
    journal: Mutex<Journal>,
    /// Deletions that failed or were left alone: the folders holding them stay.
    failed_deletes: Mutex<Vec<Box<RelPath>>>,
}

struct Apply<'c, 'p, 'a, 'j> {
    changer: &'c Changer<'p, 'a, 'j>,
    rows: &'j Joined,
    actions: &'j [Action],
    /// The roots as opened at the start of the run.
    roots: &'j [RootId; 2],
    /// Each change as (row, its state now in `states`, `NO_INDEX`: no longer archived), in
    /// the order applied: what a new base is written from.
    results: Vec<(u32, u32)>,
    states: States,
    /// The changes not handed to the saver yet.
    batch: Batch,
    /// A row's path, written out for the change at hand.
    path: Vec<u8>,
    outcome: Outcome,
    last_save: Instant,
    /// The copy buffer of changes made on the run's own thread.
    buffer: Vec<u8>,
    /// The side whose root stopped being the one opened (the run stopped), and the error
    /// when it could not be looked at (a server that went away).
    root_changed: Option<(Side, Option<io::Error>)>,
    /// When a change refused with "permission denied" last had the roots checked.
    denial_checked: Option<Instant>,
}

/// The changes to make, in the order they are made: creations and moves parent first, then
/// deletions (and folders replaced by a file or link) contents first.
fn changes_in_order(rows: &Joined, actions: &[Action]) -> Vec<(usize, Action)> {
    work_order(rows, actions).map(|i| (i, actions[i])).collect()
}

/// What a change does, for the run's activity log (once made) or its preview (before).
fn change_entry(rows: &Joined, i: usize, action: Action) -> Activity {
    let row = rows.row(i);
    let path = names::to_text(&rows.path(i));
    let toward = direction(action).expect("only changes are listed");
    match action {
        Action::CopyToRight | Action::CopyToLeft => {
            let (from, to) = match action {
                Action::CopyToRight => (Side::Left, Side::Right),
                _ => (Side::Right, Side::Left),
            };
            let change = if row.entry(to).is_some() {
                Change::Replaced
            } else {
                Change::Copied
            };
            let entry = Activity::new(path, toward, change);
            match row.entry(from).filter(|e| e.kind == Kind::File) {
                Some(file) => entry.size(file.size),
                None => entry,
            }
        }
        Action::MoveOnRight { from } | Action::MoveOnLeft { from } => {
            Activity::new(path, toward, Change::Renamed)
                .from(names::to_text(&rows.path(from as usize)))
        }
        _ => Activity::new(path, toward, Change::Deleted),
    }
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

/// The rows that change something on disk, in the order they are applied: creations and
/// moves parent first, then deletions (and folders replaced by a file or link) contents
/// first.
fn work_order<'r>(
    rows: &'r Joined,
    actions: &'r [Action],
) -> impl Iterator<Item = usize> + Clone + 'r {
    let creates = move |&i: &usize| match actions[i] {
        a @ (Action::CopyToLeft | Action::CopyToRight) => !replaces_folder(rows.row(i), a),
        Action::MoveOnLeft { .. } | Action::MoveOnRight { .. } => true,
        _ => false,
    };
    let removes = move |&i: &usize| match actions[i] {
        Action::DeleteLeft | Action::DeleteRight => true,
        a @ (Action::CopyToLeft | Action::CopyToRight) => replaces_folder(rows.row(i), a),
        _ => false,
    };
    (0..actions.len())
        .filter(creates)
        .chain((0..actions.len()).rev().filter(removes))
}

/// The work a change costs: its bytes and [`PER_FILE_WORK`].
fn cost(rows: &Joined, i: usize, action: Action) -> u64 {
    let row = rows.row(i);
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

impl Apply<'_, '_, '_, '_> {
    fn run(
        &mut self,
        conflicts: u64,
        observer: &mut dyn Observer,
        saves: &Sender<Vec<u8>>,
    ) -> Result<(), FolderError> {
        let (rows, actions) = (self.rows, self.actions);
        // Archive-only decisions need no I/O.
        for (i, action) in actions.iter().enumerate() {
            let now = match action {
                Action::Record => match rows.row(i) {
                    RowRef {
                        left: Some(l),
                        right: Some(r),
                        ..
                    } => Some(synced(l, None, [l.mtime, r.mtime])),
                    _ => None,
                },
                Action::Forget => None,
                _ => continue,
            };
            self.record(i, now.as_ref().map(Synced::view));
        }
        let order = work_order(rows, actions);
        let (count, total, toward) =
            order
                .clone()
                .fold((0, 0, [false; 2]), |(n, sum, mut toward), i| {
                    if let Some(d) = direction(actions[i]) {
                        toward[usize::from(d == Side::Right.direction())] = true;
                    }
                    (n + 1, sum + cost(rows, i, actions[i]), toward)
                });
        if count == 0 && conflicts == 0 {
            // Told all the same: an item whose work is unknown weighs as much as the average
            // item in the overall bar, so one with nothing to do would fill half of it.
            observer.planned(0, 0, false);
            if !self.batch.is_empty() {
                self.save(saves);
            }
            return Ok(());
        }
        let mut remaining: u64 = total + conflicts * PER_FILE_WORK;
        let changes = count + conflicts;
        observer.planned(
            changes,
            remaining - changes * PER_FILE_WORK,
            toward == [true; 2],
        );
        let changer = self.changer;
        let copiers = changer.transfers_at_once();
        // File copies go to `copiers` threads (none when a copy at a time is all the
        // replicas take); every other change waits until the copies in flight are done and
        // is made here, so folders are made before their files and emptied before removed.
        std::thread::scope(|scope| {
            let (to_copy, copies) = crossbeam_channel::bounded::<(usize, u64)>(0);
            let (copied, finished) = crossbeam_channel::unbounded::<std::thread::Result<Tried>>();
            if copiers > 1 {
                for _ in 0..copiers {
                    let (copies, copied) = (copies.clone(), copied.clone());
                    scope.spawn(move || {
                        let mut buffer = vec![0; BUFFER_SIZE];
                        while let Ok((i, cost)) = copies.recv() {
                            // A panic goes on on the run's thread.
                            let tried = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                changer.attempt(i, actions[i], cost, &mut buffer)
                            }));
                            if copied.send(tried).is_err() {
                                break;
                            }
                        }
                    });
                }
            }
            drop((copies, copied));
            let mut in_flight = 0;
            let mut order = order.peekable();
            let (batch_changes, batch_work_limit) = changer.batch_limits();
            let mut batch: Vec<(usize, u64)> = Vec::with_capacity(batch_changes);
            let mut first = true;
            let mut since_root_check = 0;
            while order.peek().is_some() || first {
                batch.clear();
                let mut batch_work = 0;
                while batch.len() < batch_changes && batch_work < batch_work_limit {
                    let Some(i) = order.next() else {
                        break;
                    };
                    let cost = cost(rows, i, actions[i]);
                    batch_work += cost;
                    batch.push((i, cost));
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
                let taken = match go_on {
                    true => self.take_in(&batch, observer, &mut go_on),
                    false => HashSet::new(),
                };
                for &(i, cost) in &batch {
                    if taken.contains(&i) {
                        continue;
                    }
                    while let Ok(tried) = finished.try_recv() {
                        in_flight -= 1;
                        go_on &= self.conclude(unwrap_copied(tried), observer);
                    }
                    if since_root_check == 0 && go_on && !self.roots_unchanged() {
                        go_on = false;
                    }
                    since_root_check = (since_root_check + 1) % ROOT_CHECK_EVERY;
                    let alongside = copiers > 1 && changer.runs_alongside(i, actions[i]);
                    let room = if alongside { copiers - 1 } else { 0 };
                    while go_on && in_flight > room {
                        let tried = unwrap_copied(finished.recv().expect("copiers answer"));
                        in_flight -= 1;
                        go_on &= self.conclude(tried, observer);
                    }
                    if !go_on {
                        break;
                    }
                    if alongside {
                        to_copy.send((i, cost)).expect("copiers wait for copies");
                        in_flight += 1;
                    } else {
                        let tried = changer.attempt(i, actions[i], cost, &mut self.buffer);
                        go_on = self.conclude(tried, observer);
                    }
                }
                // Copies in flight end (stopped ones as soon as rclone stops them) and are
                // noted before the batch is.
                while in_flight > 0 {
                    let tried = unwrap_copied(finished.recv().expect("copiers answer"));
                    in_flight -= 1;
                    go_on &= self.conclude(tried, observer);
                }
                observer.batch_applied();
                remaining -= batch_work;
                let last = order.peek().is_none();
                if !self.batch.is_empty()
                    && (last || !go_on || self.last_save.elapsed() >= SAVE_EVERY)
                {
                    self.save(saves);
                }
                if !go_on {
                    self.outcome.stopped = true;
                    return Ok(());
                }
            }
            if !self.batch.is_empty() {
                self.save(saves);
            }
            Ok(())
        })
    }

    /// Brings the batch's new files and folders into a side that takes them in at once
    /// ([`Replica::take_in`]), before the batch's other changes. While the side copies them,
    /// each file is read and hashed (it must still be as scanned) and announced in the
    /// journal: only what was announced is then placed under its name. Returns the rows it
    /// applied or left; clears `go_on` when the run is to stop.
    fn take_in(
        &mut self,
        batch: &[(usize, u64)],
        observer: &mut dyn Observer,
        go_on: &mut bool,
    ) -> HashSet<usize> {
        let mut taken = HashSet::new();
        let changer = self.changer;
        let rows: Vec<usize> = batch.iter().map(|&(i, _)| i).collect();
        let costs: HashMap<usize, u64> = batch.iter().copied().collect();
        let cost_of = |i: usize| costs.get(&i).copied().unwrap_or(0);
        for toward in [Side::Right, Side::Left] {
            let (source, target) = (changer.pair.side(toward.other()), changer.pair.side(toward));
            let Some(from) = source.local_folder() else {
                continue;
            };
            let selected = intake::select(self.rows, self.actions, &rows, toward, |path| {
                target.takes_in(path)
            });
            if selected.is_empty() {
                continue;
            }
            if !self.roots_unchanged() {
                *go_on = false;
                return taken;
            }
            let arrivals = selected
                .iter()
                .map(|&i| {
                    let scanned = self.rows.row(i).entry(toward.other()).expect("a copy");
                    (self.rows.path(i).into_boxed_slice(), scanned.to_owned())
                })
                .collect();
            let (clearance, clearances) = crossbeam_channel::bounded::<Vec<bool>>(1);
            let cleared = || clearances.recv().unwrap_or_default();
            let intake = Intake {
                from,
                arrivals,
                cleared: &cleared,
            };
            // Each selected row's hash once it is announced.
            let mut announced: Vec<Option<Hash>> = vec![None; selected.len()];
            let landed = std::thread::scope(|scope| {
                // Owned here, so a panic below drops it and the side stops waiting.
                let clearance = clearance;
                let taking = scope.spawn(|| target.take_in(&intake));
                for (k, &i) in selected.iter().enumerate() {
                    // A side done before asking refused, failed or was stopped: announcing
                    // more is of no use.
                    if !*go_on || taking.is_finished() {
                        break;
                    }
                    let result = match changer.announce(i, toward) {
                        Ok(Some(hash)) => {
                            announced[k] = Some(hash);
                            continue;
                        }
                        Ok(None) => Ok(Applied::Changed),
                        Err(e) => Err(e),
                    };
                    taken.insert(i);
                    let tried = Tried {
                        i,
                        action: self.actions[i],
                        cost: cost_of(i),
                        result,
                        records: Records::new(),
                    };
                    *go_on &= self.conclude(tried, observer);
                }
                let said: Vec<bool> = announced.iter().map(|h| h.is_some() && *go_on).collect();
                let paths = intake.arrivals.iter().map(|(path, _)| &**path);
                let cleared = intake::clear(paths, &said);
                // (A side that refused the intake or stopped no longer listens.)
                let _ = clearance.send(cleared.clone());
                match taking.join() {
                    Ok(landed) => landed.map(|landed| (landed, cleared)),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            });
            // Refused: the rows not concluded above are copied one by one.
            let Some((landed, cleared)) = landed else {
                if !*go_on {
                    return taken;
                }
                continue;
            };
            for (k, landed) in landed.into_iter().enumerate() {
                let i = selected[k];
                let stopped = landed
                    .as_ref()
                    .is_err_and(|e| e.kind() == io::ErrorKind::Interrupted);
                let Some(hash) = announced[k] else {
                    // Concluded above, or never announced: left to be copied one by one,
                    // unless the side was stopped.
                    if stopped && taken.insert(i) {
                        *go_on = false;
                    }
                    continue;
                };
                taken.insert(i);
                if stopped || (!cleared[k] && !*go_on) {
                    *go_on = false;
                    continue;
                }
                // (Not cleared while the run goes on: a folder above it was not announced.
                // It is left for the next run.)
                let landed = match cleared[k] {
                    true => landed,
                    false => Ok(None),
                };
                let tried = changer.arrived(i, toward, hash, landed, cost_of(i));
                *go_on &= self.conclude(tried, observer);
            }
            if !*go_on {
                return taken;
            }
        }
        taken
    }

    /// Whether both locations still lead to the roots opened at the start; notes the side
    /// that does not.
    fn roots_unchanged(&mut self) -> bool {
        for side in [Side::Left, Side::Right] {
            let lost = match self.changer.pair.side(side).current_root() {
                Ok(now) if now == self.roots[side.index()] => continue,
                Ok(_) => None,
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => Some(e),
            };
            self.root_changed = Some((side, lost));
            return false;
        }
        true
    }

    /// Hands the changes since the last save to the saver, which logs them once the data
    /// they describe is durable.
    fn save(&mut self, saves: &Sender<Vec<u8>>) {
        // A saver that stopped has an error to report when the run ends.
        let _ = saves.send(self.batch.take());
        self.last_save = Instant::now();
    }

    /// Notes row `i`'s state after a change (`None`: no longer archived).
    fn record(&mut self, i: usize, state: Option<SyncedRef>) {
        let number = state.map_or(NO_INDEX, |s| self.states.push(s));
        self.results.push((i as u32, number));
        self.rows.path_into(i, &mut self.path);
        self.batch.put(&self.path, state);
    }

    /// Notes what a change did and tells the observer (what it did, or that it failed;
    /// nothing when it was left for the next run or is a conflict reported with the
    /// others). Returns whether the run goes on.
    fn conclude(&mut self, tried: Tried, observer: &mut dyn Observer) -> bool {
        let Tried {
            i,
            action,
            cost,
            result,
            records,
        } = tried;
        for (row, state) in records {
            self.record(row, state.as_ref().map(Synced::view));
        }
        let verb = match action {
            Action::CopyToRight | Action::CopyToLeft => "copy",
            Action::MoveOnRight { .. } | Action::MoveOnLeft { .. } => "move",
            _ => "delete",
        };
        let row = self.rows.row(i);
        let removing = matches!(action, Action::DeleteLeft | Action::DeleteRight)
            || replaces_folder(row, action);
        // A side that cannot be reached (a server gone, a logon expired, a network mount
        // dropped) would fail every change after this one alike: the run stops, and the
        // error it ends with says so once.
        let may_be_lost = match result.as_ref().map_err(io::Error::kind) {
            Err(io::ErrorKind::NotConnected) => true,
            Err(io::ErrorKind::PermissionDenied) => {
                let due = (self.denial_checked).is_none_or(|at| at.elapsed() >= DENIAL_CHECK_EVERY);
                if due {
                    self.denial_checked = Some(Instant::now());
                }
                due || self.root_changed.is_some()
            }
            _ => false,
        };
        let lost = may_be_lost && (self.root_changed.is_some() || !self.roots_unchanged());
        let path = || self.rows.path(i);
        let toward = direction(action).expect("only changes are applied");
        let done = match result {
            Ok(Applied::Done) => {
                self.outcome.changes += 1;
                Some(change_entry(self.rows, i, action))
            }
            Ok(Applied::Changed) => {
                self.outcome
                    .changed_during_sync
                    .push(names::to_text(&path()));
                if removing {
                    self.changer.failed_deletes.lock().push(path().into());
                }
                None
            }
            Ok(Applied::UnseenChange) => {
                let report = conflict_report(self.changer.pair, self.rows, i);
                self.outcome.conflicts.get_or_insert_default().push(report);
                None
            }
            // Cut short by the user or by the side lost: left for the next run.
            Err(_) if lost || observer.stopping() => {
                if removing {
                    self.changer.failed_deletes.lock().push(path().into());
                }
                None
            }
            Err(e) => {
                let text = names::to_text(&path());
                self.outcome
                    .failures
                    .push(format!("Could not {verb} {text}: {e}"));
                if removing {
                    self.changer.failed_deletes.lock().push(path().into());
                }
                Some(Activity::new(text, toward, Change::Failed))
            }
        };
        observer.applied(cost, done) && !lost
    }
}

/// A copier's change, or its panic carried on.
fn unwrap_copied(copied: std::thread::Result<Tried>) -> Tried {
    copied.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

impl Changer<'_, '_, '_> {
    /// How many file copies may run at once: what the slower side takes (a remote several,
    /// a local disk one).
    fn transfers_at_once(&self) -> usize {
        self.pair
            .left
            .transfers_at_once()
            .max(self.pair.right.transfers_at_once())
            .max(1)
    }

    /// How many changes and how much work a batch holds: more when new files go to a side in
    /// one intake, whose cost is per job rather than per file.
    fn batch_limits(&self) -> (usize, u64) {
        let intake = |to: Side| match self.pair.side(to.other()).local_folder() {
            Some(_) => self.pair.side(to).intake_changes(),
            None => 0,
        };
        let changes = BATCH_CHANGES
            .max(intake(Side::Left))
            .max(intake(Side::Right));
        (changes, BATCH_WORK * (changes / BATCH_CHANGES) as u64)
    }

    /// Whether change `i` may run while other file copies are in flight: a file copied
    /// over nothing or over a file or link (never over a folder, which is emptied first).
    fn runs_alongside(&self, i: usize, action: Action) -> bool {
        let row = self.rows.row(i);
        let source = match action {
            Action::CopyToRight => row.left,
            Action::CopyToLeft => row.right,
            _ => return false,
        };
        source.is_some_and(|e| e.kind == Kind::File) && !replaces_folder(row, action)
    }

    /// Makes one change on the replicas.
    fn attempt(&self, i: usize, action: Action, cost: u64, buffer: &mut [u8]) -> Tried {
        let mut records = Records::new();
        let result = match action {
            Action::CopyToRight => self.copy(i, Side::Left, buffer, &mut records),
            Action::CopyToLeft => self.copy(i, Side::Right, buffer, &mut records),
            Action::MoveOnRight { from } => {
                self.relocate(i, from as usize, Side::Right, &mut records)
            }
            Action::MoveOnLeft { from } => {
                self.relocate(i, from as usize, Side::Left, &mut records)
            }
            Action::DeleteLeft => self.delete(i, Side::Left, &mut records),
            _ => self.delete(i, Side::Right, &mut records),
        };
        Tried {
            i,
            action,
            cost,
            result,
            records,
        }
    }

    /// Whether the target file, as archived by size and mtime (its contents never read),
    /// still has the archived contents. When it does not, the archive forgets that side's
    /// mtime so the next run reads it and sees the change.
    fn unseen_change(&self, i: usize, side: Side, records: &mut Records) -> io::Result<bool> {
        let row = self.rows.row(i);
        let (Some(archived), Some(now)) = (row.archive, row.entry(side)) else {
            return Ok(false);
        };
        let looked_unchanged = archived.kind == Kind::File
            && now.kind == Kind::File
            && now.mtime == archived.mtime[side.index()]
            && now.hash == Some(archived.hash);
        if !looked_unchanged || self.pair.side(side).hash(&self.rows.path(i))? == *archived.hash {
            return Ok(false);
        }
        let mut forgotten = archived.to_owned();
        forgotten.mtime[side.index()] = Mtime::new(i64::MIN, 0);
        records.push((i, Some(forgotten)));
        Ok(true)
    }

    fn copy(
        &self,
        i: usize,
        from: Side,
        buffer: &mut [u8],
        records: &mut Records,
    ) -> io::Result<Applied> {
        let to = from.other();
        let (source, target) = (self.pair.side(from), self.pair.side(to));
        let row = self.rows.row(i);
        let (scanned, expected) = (row.entry(from), row.entry(to));
        let scanned = scanned.expect("a copy has a source");
        let path = &self.rows.path(i);
        let mut hash = None;
        let staged = match scanned.kind {
            Kind::File => {
                let mut reader = source.open(path)?;
                if !reader.entry().looks_like(scanned) {
                    return Ok(Applied::Changed);
                }
                let mut staged = target.stage(path)?;
                let (copied, digest) = copy_hashing(&mut reader, &mut *staged, buffer)?;
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
        if self.unseen_change(i, to, records)? {
            return Ok(Applied::UnseenChange);
        }
        let intended = synced(scanned, hash, [scanned.mtime; 2]);
        self.journal
            .lock()
            .append(path, intended.view(), to.index())?;
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
                target.make_symlink(path, scanned.target.unwrap_or_default(), scanned.mtime)?;
                scanned.mtime
            }
        };
        let mut mtimes = [scanned.mtime; 2];
        mtimes[to.index()] = stored_mtime;
        records.push((i, Some(synced(scanned, hash, mtimes))));
        Ok(Applied::Done)
    }

    /// Readies row `i`'s copy toward `to` for an intake: a file is read and hashed (and must
    /// still be as scanned), then the copy is announced in the journal. Returns the file's
    /// hash (`[0; 32]` for a folder), `None` when the source changed since the scan.
    fn announce(&self, i: usize, to: Side) -> io::Result<Option<Hash>> {
        let row = self.rows.row(i);
        let scanned = row.entry(to.other()).expect("a copy has a source");
        let path = &self.rows.path(i);
        let mut hash = None;
        if scanned.kind == Kind::File {
            let mut reader = self.pair.side(to.other()).open(path)?;
            if !reader.entry().looks_like(scanned) {
                return Ok(None);
            }
            let mut hasher = blake3::Hasher::new();
            let read = io::copy(&mut reader, &mut hasher)?;
            if read != scanned.size || !as_scanned(reader.at_path_now()?.as_ref(), Some(scanned)) {
                return Ok(None);
            }
            hash = Some(*hasher.finalize().as_bytes());
        }
        let intended = synced(scanned, hash, [scanned.mtime; 2]);
        self.journal
            .lock()
            .append(path, intended.view(), to.index())?;
        Ok(Some(hash.unwrap_or_default()))
    }

    /// What row `i`'s arrival on `to` did (`landed`: [`Replica::take_in`]'s answer): a
    /// file whose source changed meanwhile is left for the next run, as is one whose path
    /// holds something else now.
    fn arrived(
        &self,
        i: usize,
        to: Side,
        hash: Hash,
        landed: io::Result<Option<Entry>>,
        cost: u64,
    ) -> Tried {
        let row = self.rows.row(i);
        let scanned = row.entry(to.other()).expect("a copy has a source");
        let mut records = Records::new();
        let source_now = match scanned.kind {
            Kind::File => self.pair.side(to.other()).stat(&self.rows.path(i)),
            _ => Ok(Some(scanned.to_owned())),
        };
        let result = match (landed, source_now) {
            (_, Err(e)) => Err(e),
            (_, Ok(now)) if !as_scanned(now.as_ref(), Some(scanned)) => Ok(Applied::Changed),
            (Ok(Some(entry)), _) => {
                let hash = (scanned.kind == Kind::File).then_some(hash);
                let mut mtimes = [scanned.mtime; 2];
                if scanned.kind == Kind::File {
                    mtimes[to.index()] = entry.mtime;
                }
                records.push((i, Some(synced(scanned, hash, mtimes))));
                Ok(Applied::Done)
            }
            (Ok(None), _) => Ok(Applied::Changed),
            (Err(e), _) => Err(e),
        };
        Tried {
            i,
            action: match to {
                Side::Right => Action::CopyToRight,
                Side::Left => Action::CopyToLeft,
            },
            cost,
            result,
            records,
        }
    }

    /// Moves the file of row `from` to row `i`'s path on `side`, as the other side did.
    fn relocate(
        &self,
        i: usize,
        from: usize,
        side: Side,
        records: &mut Records,
    ) -> io::Result<Applied> {
        let replica = self.pair.side(side);
        let (row, old) = (self.rows.row(i), self.rows.row(from));
        let moved = old.entry(side).expect("a move has a file to move");
        let new = row.entry(side.other()).expect("a move has a new path");
        let (old_path, new_path) = (self.rows.path(from), self.rows.path(i));
        if !as_scanned(replica.stat(&old_path)?.as_ref(), Some(moved))
            || replica.stat(&new_path)?.is_some()
        {
            return Ok(Applied::Changed);
        }
        replica.rename(&old_path, &new_path)?;
        let mut mtimes = [new.mtime; 2];
        mtimes[side.index()] = moved.mtime;
        records.push((from, None));
        records.push((i, Some(synced(new, None, mtimes))));
        Ok(Applied::Done)
    }

    /// Removes a folder whose contents were deleted; `false` (the folder stays) when
    /// something inside was left alone (changed or failed) or was saved into it since the
    /// scan.
    fn remove_folder(&self, side: Side, path: &RelPath) -> io::Result<bool> {
        if self
            .failed_deletes
            .lock()
            .iter()
            .any(|f| is_inside(f, path))
        {
            return Ok(false);
        }
        let removal = self
            .pair
            .side(side)
            .remove_folder(path, self.filter, &self.stamp)?;
        Ok(removal == FolderRemoval::Removed)
    }

    fn delete(&self, i: usize, side: Side, records: &mut Records) -> io::Result<Applied> {
        let replica = self.pair.side(side);
        let row = self.rows.row(i);
        let expected = row.entry(side);
        let path = &self.rows.path(i);
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
        records.push((i, None));
        Ok(Applied::Done)
    }
}

/// The way a change goes: toward the side it changes.
fn direction(action: Action) -> Option<Direction> {
    match action {
        Action::CopyToRight | Action::MoveOnRight { .. } | Action::DeleteRight => {
            Some(Direction::ToRight)
        }
        Action::CopyToLeft | Action::MoveOnLeft { .. } | Action::DeleteLeft => {
            Some(Direction::ToLeft)
        }
        Action::Nothing
        | Action::Record
        | Action::Forget
        | Action::Conflict
        | Action::MovedAway => None,
    }
}

impl Side {
    /// The direction of a change made on this side.
    fn direction(self) -> Direction {
        match self {
            Side::Left => Direction::ToLeft,
            Side::Right => Direction::ToRight,
        }
    }
}

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
    // Landings come in path order, as the trees: one walk of each tree finds them all.
    let mut walks = trees.map(|tree| tree.paths().walk());
    landings
        .into_iter()
        .filter_map(|mut landing| {
            if landing.synced.kind != Kind::File
                || keeps[landing.target].mtime_step_ns < Keeps::NO_MTIMES
            {
                return Some(landing);
            }
            let walk = &mut walks[landing.target];
            while walk
                .current()
                .is_some_and(|(_, path)| cmp_paths(path, &landing.path).is_lt())
            {
                walk.advance();
            }
            let index = walk
                .current()
                .filter(|(_, path)| *path == &*landing.path)
                .map(|(i, _)| i)?;
            let now = trees[landing.target].entry(index);
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

/// Copies everything from `reader` to `writer`, hashing on the way (one read per file) and
/// leaving holes where the source has only zeros, so sparse files stay sparse.
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
