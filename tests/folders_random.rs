//! Randomized rounds of edits on both sides between syncs, driving the engine directly:
//! files written, touched, deleted, renamed; folders made, deleted, moved out of the root
//! and replaced by a symlink to where they went; links; edits and folder deletions made
//! *during* a run (at a random moment of its work); and now and then two runs of the pair
//! started at once. After every sync: no version written is lost (it is on a side, in a
//! `.synccenter/versions` folder, a conflict copy, or where the user moved it), nothing
//! outside the roots was touched, at most one run held the pair at a time, a run without
//! conflicts or edits during it converges (two-way and mirror: both trees identical), and
//! an immediate re-sync changes nothing.

mod folders_common;

use folders_common::{Quiet, Rng, tree, versions};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use synccenter::core::conflicts::{ConflictReport, Resolution};
use synccenter::handlers::folders::archive::archive_file;
use synccenter::handlers::folders::config::{Mode, PairConfig};
use synccenter::handlers::folders::filter::Filter;
use synccenter::handlers::folders::local::LocalReplica;
use synccenter::handlers::folders::lock::PairLock;
use synccenter::handlers::folders::names::RelPath;
use synccenter::handlers::folders::replica::{
    Entry, FolderRemoval, Hash, Keeps, Mtime, Pruned, Replica, Retention, RootId, Scan, SourceFile,
    StagedFile,
};
use synccenter::handlers::folders::sync::{self, Outcome, Pair};

const SEEDS: u64 = 50;
const ROUNDS: usize = 100;
const PATHS: [&str; 10] = [
    "x", "y.txt", "a", "a/x", "a/y.txt", "a/c", "a/c/x", "b", "b/x", "b/c",
];

/// What "the user" does on one side while a run is at work.
#[derive(Clone, Debug)]
enum MidRun {
    /// Saves a new file into a folder (only if that folder is still there, a real folder).
    Save {
        dir: String,
        name: String,
        text: String,
    },
    /// Deletes a folder or file and everything in it.
    Delete { rel: String },
}

/// The local replica, plus one edit made by "the user" at the `countdown`-th operation
/// the run does on this side after its scan.
struct Meddling {
    inner: LocalReplica,
    root: PathBuf,
    countdown: AtomicUsize,
    edit: Mutex<Option<MidRun>>,
    /// The edit, once made.
    done: Mutex<Option<MidRun>>,
}

impl Meddling {
    fn new(root: &Path) -> Meddling {
        Meddling {
            inner: LocalReplica::new(root),
            root: root.to_path_buf(),
            countdown: AtomicUsize::new(0),
            edit: Mutex::new(None),
            done: Mutex::new(None),
        }
    }

    fn schedule(&self, edit: MidRun, after: usize) {
        *self.edit.lock() = Some(edit);
        *self.done.lock() = None;
        self.countdown.store(after, Ordering::SeqCst);
    }

    /// Cancels an edit not made yet; the edit made, if any.
    fn finish(&self) -> Option<MidRun> {
        self.countdown.store(0, Ordering::SeqCst);
        *self.edit.lock() = None;
        self.done.lock().take()
    }

    fn tick(&self) {
        if self.countdown.load(Ordering::SeqCst) == 0
            || self.countdown.fetch_sub(1, Ordering::SeqCst) != 1
        {
            return;
        }
        let Some(edit) = self.edit.lock().take() else {
            return;
        };
        let made = match &edit {
            MidRun::Save { dir, name, text } => {
                let folder = self.root.join(dir);
                real_folder(&self.root, dir) && std::fs::write(folder.join(name), text).is_ok()
            }
            MidRun::Delete { rel } => {
                let path = self.root.join(rel);
                real_folder(&self.root, parent_of(rel))
                    && match std::fs::symlink_metadata(&path) {
                        Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path).is_ok(),
                        Ok(_) => std::fs::remove_file(&path).is_ok(),
                        Err(_) => false,
                    }
            }
        };
        if made {
            *self.done.lock() = Some(edit);
        }
    }
}

fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether `rel` and every folder above it are real folders (no link on the way).
fn real_folder(root: &Path, rel: &str) -> bool {
    let mut path = root.to_path_buf();
    rel.split('/').filter(|p| !p.is_empty()).all(|part| {
        path.push(part);
        std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
    })
}

impl Replica for Meddling {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn open_root(&self) -> io::Result<RootId> {
        self.inner.open_root()
    }
    fn current_root(&self) -> io::Result<RootId> {
        self.inner.current_root()
    }
    fn keeps(&self) -> io::Result<Keeps> {
        self.inner.keeps()
    }
    fn scan(&self, filter: &Filter, folders: &AtomicU64, stop: &AtomicBool) -> io::Result<Scan> {
        self.inner.scan(filter, folders, stop)
    }
    fn stat(&self, path: &RelPath) -> io::Result<Option<Entry>> {
        self.tick();
        self.inner.stat(path)
    }
    fn hash(&self, path: &RelPath) -> io::Result<Hash> {
        self.inner.hash(path)
    }
    fn open(&self, path: &RelPath) -> io::Result<Box<dyn SourceFile + '_>> {
        self.tick();
        self.inner.open(path)
    }
    fn stage(&self, path: &RelPath) -> io::Result<Box<dyn StagedFile + '_>> {
        self.tick();
        self.inner.stage(path)
    }
    fn make_dir(&self, path: &RelPath) -> io::Result<()> {
        self.tick();
        self.inner.make_dir(path)
    }
    fn make_symlink(&self, path: &RelPath, target: &[u8], mtime: Mtime) -> io::Result<()> {
        self.tick();
        self.inner.make_symlink(path, target, mtime)
    }
    fn keep_version(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        self.tick();
        self.inner.keep_version(path, stamp)
    }
    fn retire(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        self.tick();
        self.inner.retire(path, stamp)
    }
    fn remove_folder(
        &self,
        path: &RelPath,
        filter: &Filter,
        stamp: &str,
    ) -> io::Result<FolderRemoval> {
        self.tick();
        self.inner.remove_folder(path, filter, stamp)
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> io::Result<()> {
        self.tick();
        self.inner.rename(from, to)
    }
    fn flush(&self) -> io::Result<()> {
        self.inner.flush()
    }
    fn prune_versions(&self, retention: &Retention, now_secs: i64) -> io::Result<Pruned> {
        self.inner.prune_versions(retention, now_secs)
    }
}

const FOLDERS: [&str; 5] = ["", "a", "a/c", "b", "b/c"];

/// How often each kind of event happened, to be sure the rounds exercise them.
#[derive(Debug, Default)]
struct Seen {
    conflicts: usize,
    renames: usize,
    folders_swapped_for_links: usize,
    edits_during_runs: usize,
    concurrent_rounds: usize,
}

struct World {
    roots: [PathBuf; 2],
    seen: Seen,
    /// Where the user moves folders out of the roots (replacing them by links).
    outside: PathBuf,
    /// Contents written on a side since the last sync and still there: (side, path) → text.
    pending: BTreeMap<(usize, String), String>,
    counter: u64,
}

impl World {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A unique mtime per edit: a same-size edit within one clock tick is exactly what a
    /// size+mtime check cannot see (as in Unison), and not what this test is about.
    fn stamp(&mut self, path: &Path) {
        let secs = 1_000_000 + self.next() as i64;
        let time = filetime::FileTime::from_unix_time(secs, 0);
        filetime::set_symlink_file_times(path, time, time).unwrap();
    }

    fn forget(&mut self, side: usize, rel: &str) {
        let inside = format!("{rel}/");
        self.pending
            .retain(|(s, p), _| !(*s == side && (p == rel || p.starts_with(&inside))));
    }

    fn remove(&mut self, side: usize, rel: &str) {
        let path = self.roots[side].join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path).unwrap(),
            Ok(_) => std::fs::remove_file(&path).unwrap(),
            Err(_) => return,
        }
        self.forget(side, rel);
    }

    /// Makes room for a new entry at `rel`: ancestors must be folders, nothing at `rel`.
    fn clear_for(&mut self, side: usize, rel: &str) {
        let mut ancestor = String::new();
        for part in rel.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            if !ancestor.is_empty() {
                ancestor.push('/');
            }
            ancestor.push_str(part);
            let path = self.roots[side].join(&ancestor);
            if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
                self.remove(side, &ancestor);
            }
            if !path.exists() {
                std::fs::create_dir(&path).unwrap();
            }
        }
        self.remove(side, rel);
    }

    fn edit(&mut self, rng: &mut Rng, side: usize) {
        let rel = PATHS[rng.below(PATHS.len())];
        let path = self.roots[side].join(rel);
        let exists = std::fs::symlink_metadata(&path).is_ok();
        match rng.below(13) {
            0..=3 => {
                let is_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
                if !is_file || rng.chance(30) {
                    self.clear_for(side, rel);
                }
                let n = self.next();
                // Lengths vary, and sometimes repeat, so hashes matter too.
                let text = format!("{side}:{rel}:{n}{}", "+".repeat(rng.below(3)));
                std::fs::write(&path, &text).unwrap();
                self.stamp(&path);
                self.pending.insert((side, rel.to_string()), text);
            }
            4 | 5 if exists => self.remove(side, rel),
            6 if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) => {
                self.stamp(&path);
            }
            7 if !exists => {
                self.clear_for(side, rel);
                std::fs::create_dir(&path).unwrap();
            }
            8 if !exists => {
                self.clear_for(side, rel);
                let target = format!("target-{}", self.next());
                std::os::unix::fs::symlink(target, &path).unwrap();
                self.stamp(&path);
            }
            // A file renamed or moved (its contents unchanged).
            9 | 10 if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) => {
                let to = PATHS[rng.below(PATHS.len())];
                if to == rel || to.starts_with(&format!("{rel}/")) {
                    return;
                }
                let text = self.pending.remove(&(side, rel.to_string()));
                let moved = self.roots[side].join(".moving");
                std::fs::rename(&path, &moved).unwrap();
                self.clear_for(side, to);
                std::fs::rename(&moved, self.roots[side].join(to)).unwrap();
                if let Some(text) = text {
                    self.pending.insert((side, to.to_string()), text);
                }
                self.seen.renames += 1;
            }
            // A folder moved out of the root, a link to where it went left in its place.
            11 if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) => {
                let n = self.next();
                let away = self.outside.join(format!("moved-{n}"));
                std::fs::rename(&path, &away).unwrap();
                std::os::unix::fs::symlink(&away, &path).unwrap();
                self.seen.folders_swapped_for_links += 1;
            }
            _ => {}
        }
    }

    /// An edit to make on `side` while a run is at work.
    fn mid_run_edit(&mut self, rng: &mut Rng, side: usize) -> MidRun {
        if rng.chance(50) {
            let n = self.next();
            MidRun::Save {
                dir: FOLDERS[rng.below(FOLDERS.len())].to_string(),
                name: format!("saved-{n}"),
                text: format!("{side}:saved during a run:{n}"),
            }
        } else {
            MidRun::Delete {
                rel: PATHS[rng.below(PATHS.len())].to_string(),
            }
        }
    }

    /// Takes in what a run's meddling did on `side`. A file saved during a run stays where
    /// it was saved: the run never saw it, so it must not have moved it (into the versions
    /// with a folder it deleted, say).
    fn made_during_run(&mut self, side: usize, edit: MidRun) {
        self.seen.edits_during_runs += 1;
        match edit {
            MidRun::Save { dir, name, text } => {
                let rel = if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                };
                let there = std::fs::read_to_string(self.roots[side].join(&rel)).ok();
                assert_eq!(
                    there.as_ref(),
                    Some(&text),
                    "{rel}, saved on side {side} during a run, is not where it was saved"
                );
                self.pending.insert((side, rel), text);
            }
            MidRun::Delete { rel } => self.forget(side, &rel),
        }
    }

    /// Every text anywhere on either side, versions included, and where the user moved
    /// folders to.
    fn found(&self) -> HashSet<String> {
        let mut found = HashSet::new();
        found.extend(
            tree(&self.outside)
                .into_values()
                .filter_map(|d| d.strip_prefix("file:").map(String::from)),
        );
        for root in &self.roots {
            found.extend(
                tree(root)
                    .into_values()
                    .filter_map(|d| d.strip_prefix("file:").map(String::from)),
            );
            found.extend(versions(root));
        }
        found
    }
}

fn sync_once(pair: &Pair, resolutions: &[(ConflictReport, Resolution)]) -> Outcome {
    let outcome = sync::run(pair, resolutions, &mut Quiet).unwrap();
    assert!(
        outcome.failures.is_empty(),
        "{:?}\nleft {:?}\nright {:?}",
        outcome.failures,
        tree(&pair.config.left),
        tree(&pair.config.right)
    );
    assert!(outcome.changed_during_sync.is_empty());
    assert!(outcome.refused.is_none() && !outcome.stopped);
    outcome
}

/// Two runs of the pair started at once, each taking the pair's lock as the handler does;
/// at most one may hold it at a time. The outcome of a run that held it.
fn concurrent_runs(
    pair: &Pair,
    lock_dir: &Path,
    resolutions: &[(ConflictReport, Resolution)],
) -> Outcome {
    let holders = AtomicUsize::new(0);
    let outcomes: Vec<Option<Outcome>> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let _lock = PairLock::acquire(lock_dir, "random").ok()?;
                    assert_eq!(
                        holders.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two runs at once"
                    );
                    let outcome = sync::run(pair, resolutions, &mut Quiet).unwrap();
                    holders.fetch_sub(1, Ordering::SeqCst);
                    Some(outcome)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    outcomes
        .into_iter()
        .flatten()
        .next()
        .expect("one run held the lock")
}

fn run_seed(seed: u64) -> Seen {
    let mode = Mode::ALL[seed as usize % 3];
    // Memory-backed when possible: the flushes then cost nothing and rounds stay fast.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let roots = [dir.path().join("left"), dir.path().join("right")];
    let outside = dir.path().join("outside");
    for root in roots.iter().chain([&outside]) {
        std::fs::create_dir(root).unwrap();
    }
    let config = PairConfig::new("random", roots[0].clone(), roots[1].clone(), mode);
    let (left, right) = (Meddling::new(&roots[0]), Meddling::new(&roots[1]));
    let pair = Pair {
        config: &config,
        left: &left,
        right: &right,
        archive_file: archive_file(dir.path(), "random"),
    };
    let mut rng = Rng(seed);
    let mut world = World {
        roots,
        seen: Seen::default(),
        outside,
        pending: BTreeMap::new(),
        counter: 0,
    };
    let mut resolutions = Vec::new();
    for round in 0..ROUNDS {
        for _ in 0..rng.below(4) {
            world.edit(&mut rng, 0);
        }
        for _ in 0..rng.below(4) {
            world.edit(&mut rng, 1);
        }
        let outside_before = tree(&world.outside);
        let meddled = rng.chance(15);
        if meddled {
            let side = rng.below(2);
            let edit = world.mid_run_edit(&mut rng, side);
            [&left, &right][side].schedule(edit, 1 + rng.below(6));
        }
        let outcome = if meddled {
            // Edits during the run may make changes fail or wait for the next run.
            sync::run(&pair, &resolutions, &mut Quiet).unwrap()
        } else if rng.chance(5) {
            world.seen.concurrent_rounds += 1;
            concurrent_runs(&pair, dir.path(), &resolutions)
        } else {
            sync_once(&pair, &resolutions)
        };
        for (side, replica) in [&left, &right].into_iter().enumerate() {
            if let Some(edit) = replica.finish() {
                world.made_during_run(side, edit);
            }
        }
        assert_eq!(
            tree(&world.outside),
            outside_before,
            "seed {seed} round {round}: a sync changed a folder outside the roots"
        );
        let found = world.found();
        for ((side, path), text) in &world.pending {
            assert!(
                found.contains(text),
                "seed {seed} round {round} ({mode}): {text:?} written at {path} on side {side} was lost"
            );
        }
        world.pending.clear();
        let conflicts = outcome.conflicts.unwrap_or_default();
        world.seen.conflicts += conflicts.len();
        if conflicts.is_empty() && !meddled {
            if mode != Mode::Contribute {
                assert_eq!(
                    tree(&world.roots[0]),
                    tree(&world.roots[1]),
                    "seed {seed} round {round} ({mode}): no conflicts, yet the sides differ"
                );
            }
            let again = sync_once(&pair, &[]);
            assert_eq!(
                again.changes, 0,
                "seed {seed} round {round}: a re-sync changed things"
            );
        }
        resolutions = conflicts
            .into_iter()
            .filter_map(|c| {
                let choice = match rng.below(4) {
                    0 => Resolution::KeepLeft,
                    1 => Resolution::KeepRight,
                    2 => Resolution::KeepBoth,
                    _ => return None,
                };
                Some((c, choice))
            })
            .collect();
    }
    world.seen
}

#[test]
fn random_edits_never_lose_a_version_and_converge() {
    let mut total = Seen::default();
    for seed in 0..SEEDS {
        let seen = run_seed(seed);
        total.conflicts += seen.conflicts;
        total.renames += seen.renames;
        total.folders_swapped_for_links += seen.folders_swapped_for_links;
        total.edits_during_runs += seen.edits_during_runs;
        total.concurrent_rounds += seen.concurrent_rounds;
    }
    eprintln!("{} rounds: {total:?}", SEEDS as usize * ROUNDS);
    assert!(total.conflicts > 100, "{total:?}");
    assert!(total.renames > 100, "{total:?}");
    assert!(total.folders_swapped_for_links > 100, "{total:?}");
    assert!(total.edits_during_runs > 100, "{total:?}");
    assert!(total.concurrent_rounds > 100, "{total:?}");
}
