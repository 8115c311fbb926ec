//! What the engine needs from one side of a pair. The local file system implements it
//! (`local`); a remote replica (WebDAV) can plug in without touching reconcile or apply.

use super::names::{PathList, RelPath};
use super::scan::Filter;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64};

/// A blake3 digest of a file's contents.
pub type Hash = [u8; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

/// One entry as a scan or a stat sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Files only: the owner's execute bit.
    pub exec: bool,
    /// Files only.
    pub size: u64,
    /// Nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Files only, when known: from the archive when size and mtime match, or hashed.
    pub hash: Option<Hash>,
    /// Symlinks only: the link's target as bytes, never followed.
    pub target: Option<Box<[u8]>>,
}

impl Entry {
    pub fn dir() -> Self {
        Entry {
            kind: Kind::Dir,
            exec: false,
            size: 0,
            mtime_ns: 0,
            hash: None,
            target: None,
        }
    }

    /// Whether the entry still looks as it did in the scan (kind, size, mtime; link target).
    pub fn looks_like(&self, scanned: &Entry) -> bool {
        self.kind == scanned.kind
            && match self.kind {
                Kind::Dir => true,
                Kind::File => self.size == scanned.size && self.mtime_ns == scanned.mtime_ns,
                Kind::Symlink => self.target == scanned.target,
            }
    }
}

/// A scanned tree: relative paths in [`super::names::cmp_paths`] order, folders before
/// their contents.
pub type Tree = PathList<Entry>;

/// A file being written next to its final place, renamed into place by `commit`.
pub trait StagedFile: Write {
    /// Sets the mtime and execute bit, then renames the file over `path` atomically.
    fn commit(self: Box<Self>, mtime_ns: i64, exec: bool) -> io::Result<()>;
}

/// One side of a folder pair.
pub trait Replica: Send + Sync {
    /// Where this side is, for messages ("/home/ann/Documents").
    fn location(&self) -> String;
    /// Fails when the root is missing or not a folder.
    fn check_root(&self) -> io::Result<()>;
    /// Lists everything not excluded, counting folders in `folders`; stops early when
    /// `stop` is set. Names starting with `.synccenter` are never listed.
    fn scan(&self, filter: &Filter, folders: &AtomicU64, stop: &AtomicBool) -> io::Result<Tree>;
    /// The entry at `path` now (no hash), `None` when nothing is there.
    fn stat(&self, path: &RelPath) -> io::Result<Option<Entry>>;
    fn hash(&self, path: &RelPath) -> io::Result<Hash>;
    /// Opens a file for reading, with what it looks like now (to notice changes while it
    /// is read).
    fn open(&self, path: &RelPath) -> io::Result<(Box<dyn Read + '_>, Entry)>;
    /// Starts writing a new version of the file at `path` (its folder must exist).
    fn stage(&self, path: &RelPath) -> io::Result<Box<dyn StagedFile + '_>>;
    /// Creates a folder; an existing folder is fine.
    fn make_dir(&self, path: &RelPath) -> io::Result<()>;
    /// Puts a symlink at `path`, replacing a file or link there atomically.
    fn make_symlink(&self, path: &RelPath, target: &[u8], mtime_ns: i64) -> io::Result<()>;
    /// Keeps a copy of what is at `path` as a version under `stamp`, leaving it in place
    /// (so it can be replaced atomically afterwards).
    fn keep_version(&self, path: &RelPath, stamp: &str) -> io::Result<()>;
    /// Moves what is at `path` (a whole folder too) into the versions under `stamp`.
    fn retire(&self, path: &RelPath, stamp: &str) -> io::Result<()>;
    /// Removes an empty folder; `Ok(false)` when it is not empty.
    fn remove_empty_dir(&self, path: &RelPath) -> io::Result<bool>;
    /// Renames within this side (for keep-both conflict copies).
    fn rename(&self, from: &RelPath, to: &RelPath) -> io::Result<()>;
    /// Makes everything written so far durable (once per batch, before the archive).
    fn flush(&self) -> io::Result<()>;
}
