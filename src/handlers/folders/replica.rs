//! What the engine needs from one side of a pair. The local file system implements it
//! (`local`); a remote replica (rclone, WebDAV) can plug in without touching reconcile or
//! apply. Everything here is said in terms any storage has: a root with an identity, paths
//! relative to it, what the storage keeps of a file, and versions kept under a stamp.

use super::filter::Filter;
use super::names::{PathTree, RelPath};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};

/// Bytes read or written at a time.
pub const BUFFER_SIZE: usize = 256 * 1024;

/// A blake3 digest of a file's contents.
pub type Hash = [u8; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
}

impl Kind {
    /// The kind and an execute bit in one byte (how compact lists store them).
    pub fn pack(self, exec: bool) -> u8 {
        let kind = match self {
            Kind::File => 0,
            Kind::Dir => 1,
            Kind::Symlink => 2,
        };
        kind | u8::from(exec) << 2
    }

    /// What [`Kind::pack`] packed.
    pub fn unpack(byte: u8) -> (Kind, bool) {
        let kind = match byte & 3 {
            0 => Kind::File,
            1 => Kind::Dir,
            _ => Kind::Symlink,
        };
        (kind, byte & 4 != 0)
    }
}

/// A modification time: seconds since the Unix epoch and nanoseconds, so every time a file
/// system can hold (years before 1677 and after 2262 too) is kept exactly. Packed to 12
/// bytes: an entry is then no larger than with nanoseconds in one `i64` (memory per path).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed(4))]
pub struct Mtime {
    pub secs: i64,
    pub nanos: u32,
}

impl Mtime {
    pub fn new(secs: i64, nanos: u32) -> Mtime {
        Mtime { secs, nanos }
    }
}

/// One entry as a scan or a stat sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Files only: the owner's execute bit.
    pub exec: bool,
    /// Files only.
    pub size: u64,
    pub mtime: Mtime,
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
            mtime: Mtime::default(),
            hash: None,
            target: None,
        }
    }

    /// Whether the entry still looks as it did in the scan (kind, size, mtime; link target).
    pub fn looks_like(&self, scanned: EntryRef) -> bool {
        self.kind == scanned.kind
            && match self.kind {
                Kind::Dir => true,
                Kind::File => self.size == scanned.size && self.mtime == scanned.mtime,
                Kind::Symlink => self.target.as_deref() == scanned.target,
            }
    }

    pub fn view(&self) -> EntryRef<'_> {
        EntryRef {
            kind: self.kind,
            exec: self.exec,
            size: self.size,
            mtime: self.mtime,
            hash: self.hash.as_ref(),
            target: self.target.as_deref(),
        }
    }
}

/// An entry as a list keeps it, borrowed: what reconcile and apply read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    pub kind: Kind,
    pub exec: bool,
    pub size: u64,
    pub mtime: Mtime,
    pub hash: Option<&'a Hash>,
    pub target: Option<&'a [u8]>,
}

impl EntryRef<'_> {
    pub fn to_owned(self) -> Entry {
        Entry {
            kind: self.kind,
            exec: self.exec,
            size: self.size,
            mtime: self.mtime,
            hash: self.hash.copied(),
            target: self.target.map(Into::into),
        }
    }
}

/// What a tree keeps of an entry besides its path: 24 bytes.
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
pub struct Stat {
    kind_exec: u8,
    size: u64,
    mtime: Mtime,
}

const _: () = assert!(std::mem::size_of::<(u32, u32, Stat)>() == 32);

/// A scanned tree: relative paths in [`super::names::cmp_paths`] order, folders before
/// their contents. 32 bytes and the name per entry (no hashes: a scan reads no contents);
/// the few link targets are kept apart.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    paths: PathTree<Stat>,
    /// Link targets by entry index, in index order.
    targets: Vec<(u32, Box<[u8]>)>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry after all the others (paths come in order, folders before their
    /// contents). Its hash is not kept.
    pub fn push(&mut self, path: &RelPath, entry: Entry) {
        if let Some(target) = entry.target {
            self.targets.push((self.paths.len() as u32, target));
        }
        self.paths.push(
            path,
            Stat {
                kind_exec: entry.kind.pack(entry.exec),
                size: entry.size,
                mtime: entry.mtime,
            },
        );
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The paths (names, folders, whole paths).
    pub fn paths(&self) -> &PathTree<Stat> {
        &self.paths
    }

    /// Entry `i`, without a hash.
    pub fn entry(&self, i: usize) -> EntryRef<'_> {
        let stat = *self.paths.value(i);
        let (kind, exec) = Kind::unpack(stat.kind_exec);
        let target = match kind {
            Kind::Symlink => self
                .targets
                .binary_search_by_key(&(i as u32), |t| t.0)
                .ok()
                .map(|k| &*self.targets[k].1),
            _ => None,
        };
        EntryRef {
            kind,
            exec,
            size: stat.size,
            mtime: stat.mtime,
            hash: None,
            target,
        }
    }

    /// Sets the execute bit of entry `i` (as compared, where a file system keeps none).
    pub fn set_exec(&mut self, i: usize, exec: bool) {
        let stat = self.paths.value_mut(i);
        let (kind, _) = Kind::unpack(stat.kind_exec);
        stat.kind_exec = kind.pack(exec);
    }

    /// Gives back the spare capacity of the buffers.
    pub fn shrink_to_fit(&mut self) {
        self.paths.shrink_to_fit();
        self.targets.shrink_to_fit();
    }
}

/// Why a scan left an entry out although no exclude pattern names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unsynced {
    /// A FIFO, socket or device node: never opened, never synced.
    SpecialFile,
    /// An entry named like the center's own folder that is not a folder: it was renamed to
    /// this name (which is synced) so versions can be kept.
    MovedAside(Box<RelPath>),
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    pub tree: Tree,
    /// Entries left out, each with the reason the user is told.
    pub unsynced: Vec<(Box<RelPath>, Unsynced)>,
}

/// What identifies a root: two roots with the same identity are the same folder on the
/// same storage (a drive mounted again keeps it; an empty mount point or a link pointing
/// elsewhere does not). Opaque text, kept in the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootId(pub String);

/// What a replica's storage keeps of what is written to it. Comparisons stay within what
/// both sides keep: an execute bit the storage cannot hold is no change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keeps {
    pub exec_bit: bool,
    pub symlinks: bool,
    /// `README` and `readme` are two entries.
    pub case_sensitive: bool,
    /// The bytes names may not contain (beyond `/` and NUL), e.g. `:` on FAT and exFAT.
    pub forbidden: &'static [u8],
    /// The step modification times are stored in (1 ns; 10 ms or 2 s on FAT/exFAT; on a
    /// remote that keeps no mtimes, [`Keeps::NO_MTIMES`]: its mtimes only say when it was
    /// written).
    pub mtime_step_ns: u64,
    /// Names must be UTF-8 (remotes: rclone speaks in strings).
    pub utf8_names: bool,
}

impl Keeps {
    /// A Unix file system: everything.
    pub const ALL: Keeps = Keeps {
        exec_bit: true,
        symlinks: true,
        case_sensitive: true,
        forbidden: b"",
        mtime_step_ns: 1,
        utf8_names: false,
    };

    /// The step of a storage that keeps no mtimes of its own (rclone's "not supported"
    /// precision, 100 years).
    pub const NO_MTIMES: u64 = 3_153_600_000_000_000_000;

    /// Why `name` cannot be created here, if it cannot.
    pub fn refuses_name(&self, name: &[u8]) -> Option<String> {
        if self.utf8_names && std::str::from_utf8(name).is_err() {
            return Some("it cannot hold names that are not UTF-8".into());
        }
        let bad = name
            .iter()
            .find(|c| self.forbidden.contains(c) || (!self.forbidden.is_empty() && **c < 0x20))?;
        Some(if bad.is_ascii_graphic() {
            format!("its file system cannot hold names with '{}'", *bad as char)
        } else {
            format!("its file system cannot hold names with the byte 0x{bad:02X}")
        })
    }
}

/// How long versions are kept: everything younger than `max_age_days`, and at most
/// `max_share_percent` of the storage's size, whichever is reached first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub max_age_days: u32,
    pub max_share_percent: u8,
}

/// What pruning removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub stamps: usize,
    pub bytes: u64,
}

/// A file opened for reading.
pub trait SourceFile: Read {
    /// What the file looked like when it was opened.
    fn entry(&self) -> &Entry;
    /// What is at its path now (to notice a change while it was read).
    fn at_path_now(&self) -> io::Result<Option<Entry>>;
}

/// A file being written next to its final place, renamed into place by `commit`.
pub trait StagedFile: Write {
    /// What is at the path the file will replace, now.
    fn at_path_now(&self) -> io::Result<Option<Entry>>;
    /// Writes `len` zero bytes, leaving a hole where the storage can.
    fn skip_zeros(&mut self, len: u64) -> io::Result<()>;
    /// Sets the mtime and execute bit, then renames the file over `path` atomically.
    /// Returns the entry as stored (its mtime in the storage's own step).
    fn commit(self: Box<Self>, mtime: Mtime, exec: bool) -> io::Result<Entry>;
}

/// What happened to a folder the run removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderRemoval {
    /// It was empty, or held only entries that are never synced (kept as versions).
    Removed,
    /// It holds something the run did not plan for (a file saved meanwhile): left alone.
    HoldsNew,
}

/// New files and folders brought into a side in one go (see [`Replica::take_in`]).
pub struct Intake<'a> {
    /// The local folder they come from: the other side's root.
    pub from: &'a Path,
    /// Each path with its entry as scanned there (a file or a folder), in path order.
    /// Nothing was at any of these paths on this side at the scan, and each one's folder is
    /// there or among them.
    pub arrivals: Vec<(Box<RelPath>, Entry)>,
    /// Which arrivals may show under their names, one answer per arrival (a missing one is
    /// "no"): asked once they are copied and before any is placed, it waits for the run to
    /// have announced them in its journal, which it does while they are copied.
    pub cleared: &'a (dyn Fn() -> Vec<bool> + Sync),
}

/// One side of a folder pair. Paths are relative to the root opened by `open_root`, and
/// no operation follows a symlink in any folder of the path it works on: a path whose
/// folder was replaced by a link is absent.
pub trait Replica: Send + Sync {
    /// Where this side is, for messages ("/home/ann/Documents").
    fn location(&self) -> String;
    /// Opens the root for this run (everything later works in the root as opened here)
    /// and says what it is. Fails when the root is missing or not a folder.
    fn open_root(&self) -> io::Result<RootId>;
    /// What the location leads to now; differs from `open_root`'s answer when a drive was
    /// unmounted or a link re-pointed since.
    fn current_root(&self) -> io::Result<RootId>;
    /// What this side's storage keeps.
    fn keeps(&self) -> io::Result<Keeps>;
    /// Lists everything the filter does not leave out, counting the entries listed in
    /// `checked`; stops early when `stop` is set.
    fn scan(&self, filter: &Filter, checked: &AtomicU64, stop: &AtomicBool) -> io::Result<Scan>;
    /// The entry at `path` now (no hash), `None` when nothing is there.
    fn stat(&self, path: &RelPath) -> io::Result<Option<Entry>>;
    /// Hashes a regular file (never opens anything else).
    fn hash(&self, path: &RelPath) -> io::Result<Hash>;
    /// Opens a regular file for reading (never anything else).
    fn open(&self, path: &RelPath) -> io::Result<Box<dyn SourceFile + '_>>;
    /// Starts writing a new version of the file at `path` (its folder must exist).
    fn stage(&self, path: &RelPath) -> io::Result<Box<dyn StagedFile + '_>>;
    /// Creates a folder; an existing folder is fine.
    fn make_dir(&self, path: &RelPath) -> io::Result<()>;
    /// Puts a symlink at `path`, replacing a file or link there atomically.
    fn make_symlink(&self, path: &RelPath, target: &[u8], mtime: Mtime) -> io::Result<()>;
    /// Keeps a copy of what is at `path` as a version under `stamp`, leaving it in place
    /// (so it can be replaced atomically afterwards).
    fn keep_version(&self, path: &RelPath, stamp: &str) -> io::Result<()>;
    /// Moves the file or link at `path` into the versions under `stamp`.
    fn retire(&self, path: &RelPath, stamp: &str) -> io::Result<()>;
    /// Removes a folder whose synced contents are gone: entries the filter leaves out and
    /// special files are kept as versions under `stamp`; anything else keeps the folder.
    fn remove_folder(
        &self,
        path: &RelPath,
        filter: &Filter,
        stamp: &str,
    ) -> io::Result<FolderRemoval>;
    /// Renames within this side, never replacing anything (conflict copies, moves).
    fn rename(&self, from: &RelPath, to: &RelPath) -> io::Result<()>;
    /// Makes everything on this side durable, whoever wrote it (once per batch, before the
    /// archive): what the archive records of a side is on its disk, a file that was only
    /// read from it included.
    fn flush(&self) -> io::Result<()>;
    /// How many files may be copied to or from this side at once. A local disk takes one
    /// at a time; a remote answers each call after a round trip, so several overlap.
    fn transfers_at_once(&self) -> usize {
        1
    }
    /// Removes the oldest versions beyond `retention` (`now_secs`: the time now).
    fn prune_versions(&self, retention: &Retention, now_secs: i64) -> io::Result<Pruned>;
    /// The local folder this side is, for a side that reads it directly in
    /// [`Replica::take_in`].
    fn local_folder(&self) -> Option<&Path> {
        None
    }
    /// How many changes a batch may hold when this side takes new files in at once
    /// ([`Replica::take_in`]), 0 when it takes none: each intake costs a few calls of its
    /// own, so fewer, larger ones are faster.
    fn intake_changes(&self) -> usize {
        0
    }
    /// Whether `path` may arrive through [`Replica::take_in`].
    fn takes_in(&self, _path: &RelPath) -> bool {
        false
    }
    /// Brings new files and folders in from a local folder at once, for a side where one
    /// transfer of many files costs far less than one per file (a remote answers each call
    /// after a round trip). Nothing is replaced, and nothing shows under its name before it
    /// is whole, nor before [`Intake::cleared`] cleared it. Answers for each arrival, in
    /// order: the entry it landed as, `None` when it was not cleared or something else is at
    /// its path now (left for the next run), or why it failed; an
    /// arrival failing as `Interrupted` was not tried (Skip, Stop). `None` for the whole
    /// intake: these are to be copied one by one.
    fn take_in(&self, _intake: &Intake) -> Option<Vec<io::Result<Option<Entry>>>> {
        None
    }
}
