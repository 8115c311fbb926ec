//! What is scanned: the exclude filter, the join of the archive with both scanned trees, and
//! the hashes reconcile needs.

use super::FolderError;
use super::archive::{Entries, Synced};
use super::names::{RelPath, cmp_paths};
use super::reconcile::{Row, Side};
use super::replica::{Entry, Kind, Replica, Tree};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Names starting with this are the center's own (versions, temp files): never synced.
pub const RESERVED_PREFIX: &[u8] = b".synccenter";

/// Which entries take part: everything but the center's own and the excluded.
pub struct Filter {
    excludes: Gitignore,
}

impl Filter {
    /// Builds the filter from gitignore patterns (one per string).
    pub fn new(root: &Path, patterns: &[String]) -> Result<Filter, FolderError> {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in patterns.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            builder
                .add_line(None, pattern)
                .map_err(|e| FolderError::BadExclude {
                    pattern: pattern.to_string(),
                    reason: e.to_string(),
                })?;
        }
        let excludes = builder.build().map_err(|e| FolderError::BadExclude {
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })?;
        Ok(Filter { excludes })
    }

    /// Whether the entry named `name` at `rel` is left out.
    pub fn skips(&self, rel: &RelPath, name: &[u8], is_dir: bool) -> bool {
        name.starts_with(RESERVED_PREFIX)
            || (!self.excludes.is_empty()
                && self
                    .excludes
                    .matched(Path::new(OsStr::from_bytes(rel)), is_dir)
                    .is_ignore())
    }
}

/// Joins the archive and both trees into rows in path order. A side's file that looks as
/// archived (size and mtime) takes the archive's hash, so unchanged files are never read.
pub fn join(archive: Entries, left: Tree, right: Tree) -> Vec<Row> {
    let mut rows = Vec::with_capacity(left.len().max(right.len()));
    let mut archive = archive.into_iter().peekable();
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let heads = [
            archive.peek().map(|(p, _)| &**p),
            left.peek().map(|(p, _)| &**p),
            right.peek().map(|(p, _)| &**p),
        ];
        let Some(smallest) = heads.into_iter().flatten().min_by(|a, b| cmp_paths(a, b)) else {
            break;
        };
        let [in_archive, in_left, in_right] = heads.map(|head| head == Some(smallest));
        let mut path = None;
        let archived = in_archive.then(|| archive.next()).flatten().map(|(p, s)| {
            path = Some(p);
            s
        });
        let mut left = in_left.then(|| left.next()).flatten().map(|(p, e)| {
            path.get_or_insert(p);
            e
        });
        let mut right = in_right.then(|| right.next()).flatten().map(|(p, e)| {
            path.get_or_insert(p);
            e
        });
        let path = path.expect("the smallest path came from one of the lists");
        if let Some(synced) = &archived {
            adopt_hash(synced, left.as_mut(), Side::Left);
            adopt_hash(synced, right.as_mut(), Side::Right);
        }
        rows.push(Row {
            path,
            archive: archived,
            left,
            right,
        });
    }
    rows
}

fn adopt_hash(synced: &Synced, entry: Option<&mut Entry>, side: Side) {
    if let Some(entry) = entry
        && entry.kind == Kind::File
        && synced.kind == Kind::File
        && entry.size == synced.size
        && entry.mtime_ns == synced.mtime_ns[side.index()]
    {
        entry.hash = Some(synced.hash);
    }
}

/// Which files reconcile must hash: a file of the same size as the archived one or as the
/// other side's (only then can contents be the same); others differ anyway.
pub fn needs_hash(row: &Row, side: Side) -> bool {
    let (mine, other) = (row.entry(side), row.entry(side.other()));
    let Some(mine) = mine.filter(|e| e.kind == Kind::File && e.hash.is_none()) else {
        return false;
    };
    let same_size = |size: u64, kind: Kind| kind == Kind::File && size == mine.size;
    row.archive
        .as_ref()
        .is_some_and(|a| same_size(a.size, a.kind))
        || other.is_some_and(|o| same_size(o.size, o.kind))
}

/// Hashes what [`needs_hash`] asks for, both sides at once. A file that cannot be read
/// keeps no hash (it then counts as changed, which is the safe reading).
pub fn fill_hashes(rows: &mut [Row], left: &dyn Replica, right: &dyn Replica) {
    let wanted: [Vec<usize>; 2] = [Side::Left, Side::Right].map(|side| {
        (0..rows.len())
            .filter(|&i| needs_hash(&rows[i], side))
            .collect()
    });
    let hashes: [Vec<Option<[u8; 32]>>; 2] = std::thread::scope(|scope| {
        let rows = &*rows;
        let jobs = [(left, &wanted[0]), (right, &wanted[1])].map(|(replica, wanted)| {
            scope.spawn(move || {
                wanted
                    .iter()
                    .map(|&i| replica.hash(&rows[i].path).ok())
                    .collect()
            })
        });
        jobs.map(|job| job.join().expect("hashing thread"))
    });
    for (side, (wanted, hashes)) in wanted.iter().zip(hashes).enumerate() {
        for (&i, hash) in wanted.iter().zip(hashes) {
            let entry = if side == 0 {
                rows[i].left.as_mut()
            } else {
                rows[i].right.as_mut()
            };
            if let Some(entry) = entry {
                entry.hash = hash;
            }
        }
    }
}
