//! What is scanned: the join of the archive with both scanned trees, comparisons kept
//! within what both file systems hold, and the hashes reconcile needs.

use super::FolderError;
use super::archive::{Entries, Landing, States, SyncedRef};
use super::names::{NO_INDEX, PathTree, RelPath, cmp_paths, is_inside};
use super::reconcile::{RowRef, Rows, Side};
use super::replica::{EntryRef, Hash, Keeps, Kind, Mtime, Replica, Tree};
use std::collections::HashSet;

/// The archive and both trees joined by path, without copying a path: each row is the index
/// of its path in each list (12 bytes), the archive keeps only states (its paths are the
/// trees'; the few paths only the archive has are kept apart).
pub struct Joined {
    pub left: Tree,
    pub right: Tree,
    archive: States,
    /// Paths of the rows only the archive has, with their row numbers.
    archive_only: PathTree<u32>,
    rows: Vec<[u32; 3]>,
    /// Hashes read by [`fill_hashes`], by row, for each side.
    hashes: [Vec<(u32, Hash)>; 2],
}

impl Joined {
    fn tree(&self, side: Side) -> &Tree {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    /// The side's entry of row `i` at index `index` of its tree, with its hash when known:
    /// the archive's when size and mtime are as archived, else one read by `fill_hashes`.
    fn entry<'s>(
        &'s self,
        i: usize,
        index: u32,
        side: Side,
        archive: Option<SyncedRef<'s>>,
    ) -> EntryRef<'s> {
        let mut entry = self.tree(side).entry(index as usize);
        if entry.kind != Kind::File {
            return entry;
        }
        entry.hash = match archive {
            Some(a)
                if a.kind == Kind::File
                    && a.size == entry.size
                    && a.mtime[side.index()] == entry.mtime =>
            {
                Some(a.hash)
            }
            _ => {
                let hashes = &self.hashes[side.index()];
                hashes
                    .binary_search_by_key(&(i as u32), |h| h.0)
                    .ok()
                    .map(|k| &hashes[k].1)
            }
        };
        entry
    }

    /// The archive's state of row `i`.
    pub fn archived(&self, i: usize) -> Option<SyncedRef<'_>> {
        let a = self.rows[i][0];
        (a != NO_INDEX).then(|| self.archive.get(a))
    }
}

impl Rows for Joined {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn row(&self, i: usize) -> RowRef<'_> {
        let [_, l, r] = self.rows[i];
        let archive = self.archived(i);
        RowRef {
            archive,
            left: (l != NO_INDEX).then(|| self.entry(i, l, Side::Left, archive)),
            right: (r != NO_INDEX).then(|| self.entry(i, r, Side::Right, archive)),
        }
    }

    fn path_into(&self, i: usize, out: &mut Vec<u8>) {
        match self.rows[i] {
            [_, l, _] if l != NO_INDEX => self.left.paths().path_into(l as usize, out),
            [_, _, r] if r != NO_INDEX => self.right.paths().path_into(r as usize, out),
            _ => {
                let k = self.archive_only_index(i);
                self.archive_only.path_into(k, out)
            }
        }
    }

    fn name(&self, i: usize) -> &RelPath {
        match self.rows[i] {
            [_, l, _] if l != NO_INDEX => self.left.paths().name(l as usize),
            [_, _, r] if r != NO_INDEX => self.right.paths().name(r as usize),
            _ => self.archive_only.name(self.archive_only_index(i)),
        }
    }

    fn is_inside(&self, i: usize, folder: usize) -> bool {
        let ([_, l, r], [_, fl, fr]) = (self.rows[i], self.rows[folder]);
        if l != NO_INDEX && fl != NO_INDEX {
            self.left.paths().is_inside(l as usize, fl as usize)
        } else if r != NO_INDEX && fr != NO_INDEX {
            self.right.paths().is_inside(r as usize, fr as usize)
        } else {
            is_inside(&self.path(i), &self.path(folder))
        }
    }
}

impl Joined {
    fn archive_only_index(&self, i: usize) -> usize {
        let (mut low, mut high) = (0, self.archive_only.len());
        while low < high {
            let middle = (low + high) / 2;
            match self.archive_only.value(middle).cmp(&(i as u32)) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return middle,
            }
        }
        unreachable!("row {i} has an entry somewhere")
    }
}

/// Joins the archive (read in order from `archive`), the journal's copies that landed and
/// both trees by path.
///
/// A journal record (a copy a killed run made but did not record) counts when its target
/// side holds exactly what was copied there (kind, size and mtime within the target's
/// step; a link's target): both sides agreed on it, even though the run was killed before
/// it saved. The newest such record of a path wins.
pub fn join(
    mut archive: Option<Entries<'_>>,
    landings: &[Landing],
    left: Tree,
    right: Tree,
    keeps: [Keeps; 2],
) -> Result<Joined, FolderError> {
    let mut joined = Joined {
        archive: States::new(),
        archive_only: PathTree::new(),
        rows: Vec::with_capacity(left.len().max(right.len())),
        hashes: [Vec::new(), Vec::new()],
        left: Tree::new(),
        right: Tree::new(),
    };
    let (mut l, mut r) = (left.paths().walk(), right.paths().walk());
    let mut landing = 0;
    loop {
        let heads = [
            archive.as_ref().and_then(|a| a.current()).map(|(p, _)| p),
            landings.get(landing).map(|g| &*g.path),
            l.current().map(|(_, p)| p),
            r.current().map(|(_, p)| p),
        ];
        let Some(smallest) = heads
            .into_iter()
            .flatten()
            .reduce(|x, y| if cmp_paths(y, x).is_lt() { y } else { x })
        else {
            break;
        };
        let [in_archive, in_journal, in_left, in_right] =
            heads.map(|head| head.is_some_and(|h| h == smallest));
        let row_number = u32::try_from(joined.rows.len()).expect("fewer than 4 billion rows");
        let index = |walk: Option<(usize, &RelPath)>, present: bool| match walk {
            Some((i, _)) if present => i as u32,
            _ => NO_INDEX,
        };
        let sides = [index(l.current(), in_left), index(r.current(), in_right)];
        let now = |target: usize| match sides[target] {
            NO_INDEX => None,
            i => Some([&left, &right][target].entry(i as usize)),
        };
        // The state to record: the newest journal record that landed, else the archive's.
        let mut journal_end = landing;
        while landings
            .get(journal_end)
            .is_some_and(|g| in_journal && *g.path == *smallest)
        {
            journal_end += 1;
        }
        let landed = landings[landing..journal_end]
            .iter()
            .rev()
            .find(|g| landed(g, now(g.target), keeps[g.target].mtime_step_ns));
        let state = match landed {
            Some(g) => Some(g.synced.view()),
            None if in_archive => archive.as_ref().and_then(|a| a.current()).map(|(_, s)| s),
            None => None,
        };
        let archived = match state {
            Some(state) => {
                if !in_left && !in_right {
                    joined.archive_only.push(smallest, row_number);
                }
                joined.archive.push(state)
            }
            None => NO_INDEX,
        };
        if archived != NO_INDEX || in_left || in_right {
            joined.rows.push([archived, sides[0], sides[1]]);
        }
        landing = journal_end;
        if in_archive && let Some(a) = archive.as_mut() {
            a.advance()?;
        }
        if in_left {
            l.advance();
        }
        if in_right {
            r.advance();
        }
    }
    joined.archive.shrink_to_fit();
    joined.rows.shrink_to_fit();
    joined.left = left;
    joined.right = right;
    Ok(joined)
}

/// Whether a journal record's copy is what its target holds now.
fn landed(landing: &Landing, now: Option<EntryRef>, step_ns: u64) -> bool {
    let synced = &landing.synced;
    now.is_some_and(|now| {
        now.kind == synced.kind
            && match now.kind {
                Kind::Dir => true,
                Kind::File => {
                    now.size == synced.size
                        && within_step(now.mtime, synced.mtime[landing.target], step_ns)
                }
                Kind::Symlink => now.target == synced.target.as_deref(),
            }
    })
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
            let index = joined.rows[i][1 + side.index()] as usize;
            match side {
                Side::Left => joined.left.set_exec(index, exec),
                Side::Right => joined.right.set_exec(index, exec),
            }
        }
    }
}

/// Sizes of archived files that are gone from each side (left, right): a new file of such
/// a size may be one of them moved.
pub fn gone_sizes(rows: &(impl Rows + ?Sized)) -> [HashSet<u64>; 2] {
    let mut gone = [HashSet::new(), HashSet::new()];
    for i in 0..rows.len() {
        let row = rows.row(i);
        let Some(archived) = row.archive.filter(|a| a.kind == Kind::File) else {
            continue;
        };
        for side in [Side::Left, Side::Right] {
            if row.entry(side).is_none() {
                gone[side.index()].insert(archived.size);
            }
        }
    }
    gone
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
    let mut wanted: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    for i in 0..joined.len() {
        let row = joined.row(i);
        for side in [Side::Left, Side::Right] {
            if needs_hash(row, side, &gone[side.index()]) {
                wanted[side.index()].push(i as u32);
            }
        }
    }
    let hashes: [Vec<(u32, Hash)>; 2] = std::thread::scope(|scope| {
        let rows = &*joined;
        let jobs = [(left, &wanted[0]), (right, &wanted[1])].map(|(replica, wanted)| {
            scope.spawn(move || {
                let mut path = Vec::new();
                wanted
                    .iter()
                    .filter_map(|&i| {
                        rows.path_into(i as usize, &mut path);
                        replica.hash(&path).ok().map(|hash| (i, hash))
                    })
                    .collect()
            })
        });
        jobs.map(|job| job.join().expect("hashing thread"))
    });
    joined.hashes = hashes;
}
