//! Randomized rounds of edits on both sides between syncs, driving the engine directly.
//! After every sync: no version written since the last sync is lost (it is on a side, in a
//! `.synccenter/versions` folder, or a conflict copy), a run without conflicts converges
//! (two-way and mirror: both trees identical), and an immediate re-sync changes nothing.

mod folders_common;

use folders_common::{tree, versions};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use synccenter::core::conflicts::{ConflictReport, Resolution};
use synccenter::handlers::folders::archive::archive_file;
use synccenter::handlers::folders::config::{Mode, PairConfig};
use synccenter::handlers::folders::local::LocalReplica;
use synccenter::handlers::folders::sync::{self, MassDelete, Observer, Outcome, Pair, RootChange};

/// A small seeded generator (splitmix64): the rounds replay exactly from their seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const SEEDS: u64 = 50;
const ROUNDS: usize = 100;
const PATHS: [&str; 10] = [
    "x", "y.txt", "a", "a/x", "a/y.txt", "a/c", "a/c/x", "b", "b/x", "b/c",
];

struct Quiet;

impl Observer for Quiet {
    fn scanning(&mut self, _: u64) -> bool {
        true
    }
    fn batch_started(&mut self, _: u64, _: u64) -> bool {
        true
    }
    fn applied(&mut self, _: u64) -> bool {
        true
    }
    fn conflict_found(&mut self) -> bool {
        true
    }
    fn batch_applied(&mut self) {}
    fn confirm_deletions(&mut self, _: &MassDelete) -> bool {
        true
    }
    fn confirm_root_change(&mut self, _: &RootChange) -> bool {
        false
    }
}

struct World {
    roots: [PathBuf; 2],
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
        match rng.below(10) {
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
            _ => {}
        }
    }

    /// Every text anywhere on either side, versions included.
    fn found(&self) -> HashSet<String> {
        let mut found = HashSet::new();
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

fn run_seed(seed: u64) -> usize {
    let mode = Mode::ALL[seed as usize % 3];
    // Memory-backed when possible: the flushes then cost nothing and rounds stay fast.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let roots = [dir.path().join("left"), dir.path().join("right")];
    for root in &roots {
        std::fs::create_dir(root).unwrap();
    }
    let config = PairConfig::new("random", roots[0].clone(), roots[1].clone(), mode);
    let (left, right) = (LocalReplica::new(&roots[0]), LocalReplica::new(&roots[1]));
    let pair = Pair {
        config: &config,
        left: &left,
        right: &right,
        archive_file: archive_file(dir.path(), "random"),
    };
    let mut rng = Rng(seed);
    let mut world = World {
        roots,
        pending: BTreeMap::new(),
        counter: 0,
    };
    let mut resolutions = Vec::new();
    let mut conflicts_seen = 0;
    for round in 0..ROUNDS {
        for _ in 0..rng.below(4) {
            world.edit(&mut rng, 0);
        }
        for _ in 0..rng.below(4) {
            world.edit(&mut rng, 1);
        }
        let outcome = sync_once(&pair, &resolutions);
        let found = world.found();
        for ((side, path), text) in &world.pending {
            assert!(
                found.contains(text),
                "seed {seed} round {round} ({mode}): {text:?} written at {path} on side {side} was lost"
            );
        }
        world.pending.clear();
        let conflicts = outcome.conflicts.unwrap();
        conflicts_seen += conflicts.len();
        if conflicts.is_empty() {
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
    conflicts_seen
}

#[test]
fn random_edits_never_lose_a_version_and_converge() {
    let conflicts: usize = (0..SEEDS).map(run_seed).sum();
    assert!(conflicts > 0, "the rounds should provoke conflicts");
}
