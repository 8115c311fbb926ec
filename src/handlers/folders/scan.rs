//! What is scanned: the join of the archive with both scanned trees, comparisons kept
//! within what both file systems hold, and the hashes reconcile needs.

use super::archive::{Entries, Landing, Synced};
use super::names::{PathList, RelPath, cmp_paths};
use super::reconcile::{RowRef, Rows, Side};
use super::replica::{Entry, Keeps, Kind, Mtime, Replica, Tree};
use std::collections::HashSet;

/// Marks a list that has no entry for a path.
const NONE: u32 = u32::MAX;

/// The archive and both trees joined by path, without moving them: each row is the index
/// of its path in each list, 12 bytes however many entries there are.
pub struct Joined {
    pub archive: Entries,
    pub left: Tree,
    pub right: Tree,
    rows: Vec<[u32; 3]>,
}

fn at<T>(list: &PathList<T>, index: u32) -> Option<(&RelPath, &T)> {
    if index == NONE {
        None
    } else {
        list.get(index as usize)
    }
}

impl Joined {
    fn entry_mut(&mut self, i: usize, side: Side) -> Option<&mut Entry> {
        let index = self.rows[i][1 + side.index()];
        let tree = match side {
            Side::Left => &mut self.left,
            Side::Right => &mut self.right,
        };
        (index != NONE).then(|| tree.value_mut(index as usize))
    }
}

impl Rows for Joined {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn row(&self, i: usize) -> RowRef<'_> {
        let [a, l, r] = self.rows[i];
        let archive = at(&self.archive, a);
        let left = at(&self.left, l);
        let right = at(&self.right, r);
        let path = archive
            .map(|(p, _)| p)
            .or(left.map(|(p, _)| p))
            .or(right.map(|(p, _)| p))
            .expect("a row has an entry somewhere");
        RowRef {
            path,
            archive: archive.map(|(_, s)| s),
            left: left.map(|(_, e)| e),
            right: right.map(|(_, e)| e),
        }
    }
}

/// Joins the archive and both trees by path. A side's file that looks as archived (size and
/// mtime) takes the archive's hash, so unchanged files are never read.
pub fn join(archive: Entries, mut left: Tree, mut right: Tree) -> Joined {
    let mut rows = Vec::with_capacity(archive.len().max(left.len()).max(right.len()));
    let (mut a, mut l, mut r) = (0, 0, 0);
    loop {
        let heads = [
            archive.get(a).map(|(p, _)| p),
            left.get(l).map(|(p, _)| p),
            right.get(r).map(|(p, _)| p),
        ];
        let Some(smallest) = heads.into_iter().flatten().min_by(|x, y| cmp_paths(x, y)) else {
            break;
        };
        let [in_archive, in_left, in_right] = heads.map(|head| head == Some(smallest));
        let mut row = [NONE; 3];
        for (slot, (present, cursor)) in
            row.iter_mut()
                .zip([(in_archive, &mut a), (in_left, &mut l), (in_right, &mut r)])
        {
            if present {
                *slot = *cursor as u32;
                *cursor += 1;
            }
        }
        if in_archive {
            let (_, synced) = archive.get(row[0] as usize).expect("a row's archive entry");
            if in_left {
                adopt_hash(synced, left.value_mut(row[1] as usize), Side::Left);
            }
            if in_right {
                adopt_hash(synced, right.value_mut(row[2] as usize), Side::Right);
            }
        }
        rows.push(row);
    }
    Joined {
        archive,
        left,
        right,
        rows,
    }
}

fn adopt_hash(synced: &Synced, entry: &mut Entry, side: Side) {
    if entry.kind == Kind::File
        && synced.kind == Kind::File
        && entry.size == synced.size
        && entry.mtime == synced.mtime[side.index()]
    {
        entry.hash = Some(synced.hash);
    }
}

/// The archive with the journal's copies that landed: a record whose target side holds
/// exactly what was copied there (kind, size and mtime; a link's target) is what both
/// sides agreed on, even though the run that copied it was killed before it saved.
///
/// The mtime is compared within the target's step (2 s on FAT: what it stored of the mtime
/// it was given).
pub fn adopt_landings(
    archive: Entries,
    landings: Vec<Landing>,
    trees: [&Tree; 2],
    keeps: [Keeps; 2],
) -> Entries {
    let landed = |l: &Landing| {
        trees[l.target].find(&l.path).is_some_and(|now| {
            now.kind == l.synced.kind
                && match now.kind {
                    Kind::Dir => true,
                    Kind::File => {
                        now.size == l.synced.size
                            && within_step(
                                now.mtime,
                                l.synced.mtime[l.target],
                                keeps[l.target].mtime_step_ns,
                            )
                    }
                    Kind::Symlink => now.target == l.synced.target,
                }
        })
    };
    let mut adopted: Vec<Landing> = landings.into_iter().filter(landed).collect();
    if adopted.is_empty() {
        return archive;
    }
    // The newest record of a path wins (the sort is stable, records are oldest first).
    adopted.sort_by(|a, b| cmp_paths(&a.path, &b.path));
    adopted.reverse();
    adopted.dedup_by(|later, earlier| later.path == earlier.path);
    adopted.reverse();
    let mut merged = Entries::new();
    let mut landings = adopted.into_iter().peekable();
    for (path, synced) in archive.iter() {
        while let Some(landing) = landings.next_if(|l| cmp_paths(&l.path, path).is_lt()) {
            merged.push(&landing.path, landing.synced);
        }
        match landings.next_if(|l| *l.path == *path) {
            Some(landing) => merged.push(path, landing.synced),
            None => merged.push(path, synced.clone()),
        }
    }
    for landing in landings {
        merged.push(&landing.path, landing.synced);
    }
    merged
}

/// Whether `stored` is what a file system storing mtimes in steps of `step_ns` keeps of
/// `given`.
fn within_step(stored: Mtime, given: Mtime, step_ns: u64) -> bool {
    let ns = |m: Mtime| i128::from(m.secs) * 1_000_000_000 + i128::from(m.nanos);
    (ns(stored) - ns(given)).unsigned_abs() < u128::from(step_ns.max(1))
}

/// Keeps comparisons within what a side's file system holds: where it keeps no execute
/// bit (FAT, exFAT report every file as executable), a file's bit is taken from the
/// archive, else from the other side, else off.
pub fn fit_to_keeps(joined: &mut Joined, keeps: [Keeps; 2]) {
    for side in [Side::Left, Side::Right] {
        if keeps[side.index()].exec_bit {
            continue;
        }
        let other_keeps = keeps[side.other().index()].exec_bit;
        for i in 0..joined.len() {
            let row = joined.row(i);
            if row.entry(side).is_none_or(|e| e.kind != Kind::File) {
                continue;
            }
            let exec = match (row.archive, row.entry(side.other())) {
                (Some(a), _) if a.kind == Kind::File => a.exec,
                (_, Some(o)) if o.kind == Kind::File && other_keeps => o.exec,
                _ => false,
            };
            if let Some(entry) = joined.entry_mut(i, side) {
                entry.exec = exec;
            }
        }
    }
}

/// Sizes of archived files that are gone from each side (left, right): a new file of such
/// a size may be one of them moved.
pub fn gone_sizes(rows: &impl Rows) -> [HashSet<u64>; 2] {
    [Side::Left, Side::Right].map(|side| {
        (0..rows.len())
            .map(|i| rows.row(i))
            .filter(|row| row.entry(side).is_none())
            .filter_map(|row| row.archive.filter(|a| a.kind == Kind::File).map(|a| a.size))
            .collect()
    })
}

/// Which files reconcile must hash: a file of the same size as the archived one or as the
/// other side's (only then can contents be the same), or a new file of the size of one
/// gone from its side (only then can it be a move); others differ anyway.
pub fn needs_hash(row: RowRef, side: Side, gone: &HashSet<u64>) -> bool {
    let (mine, other) = (row.entry(side), row.entry(side.other()));
    let Some(mine) = mine.filter(|e| e.kind == Kind::File && e.hash.is_none()) else {
        return false;
    };
    let same_size = |size: u64, kind: Kind| kind == Kind::File && size == mine.size;
    row.archive.is_some_and(|a| same_size(a.size, a.kind))
        || other.is_some_and(|o| same_size(o.size, o.kind))
        || (row.archive.is_none() && gone.contains(&mine.size))
}

/// Hashes what [`needs_hash`] asks for, both sides at once. A file that cannot be read
/// keeps no hash (it then counts as changed, which is the safe reading).
pub fn fill_hashes(joined: &mut Joined, left: &dyn Replica, right: &dyn Replica) {
    let gone = gone_sizes(&*joined);
    let wanted: [Vec<usize>; 2] = [Side::Left, Side::Right].map(|side| {
        (0..joined.len())
            .filter(|&i| needs_hash(joined.row(i), side, &gone[side.index()]))
            .collect()
    });
    let hashes: [Vec<Option<[u8; 32]>>; 2] = std::thread::scope(|scope| {
        let rows = &*joined;
        let jobs = [(left, &wanted[0]), (right, &wanted[1])].map(|(replica, wanted)| {
            scope.spawn(move || {
                wanted
                    .iter()
                    .map(|&i| replica.hash(rows.row(i).path).ok())
                    .collect()
            })
        });
        jobs.map(|job| job.join().expect("hashing thread"))
    });
    for (side, (wanted, hashes)) in [Side::Left, Side::Right]
        .into_iter()
        .zip(wanted.iter().zip(hashes))
    {
        for (&i, hash) in wanted.iter().zip(hashes) {
            if let Some(entry) = joined.entry_mut(i, side) {
                entry.hash = hash;
            }
        }
    }
}
