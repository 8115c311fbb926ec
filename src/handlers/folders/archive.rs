//! The archive: the state of every path at the last sync of a pair, as both sides agreed on
//! it, in the center's data folder. Two files:
//!
//! * the **base** (`NAME.archive`): every path in order, written atomically (fsynced, then
//!   renamed into place), paths front-coded (each path is written as what it shares with the
//!   one before and the rest), ending with a blake3 checksum;
//! * the **log** (`NAME.archive.log`): the changes since the base, appended in batches while
//!   a run goes, each batch with its own checksum and made durable (fdatasync) after the data
//!   it describes was (syncfs on both roots). A batch costs what it records, not the size of
//!   the archive, so a million-file sync does not rewrite its archive every few seconds.
//!
//! The log names the base it follows (the base's checksum): a log left over from an older
//! base is never applied to a newer one. At the end of a run the base is rewritten with the
//! log folded in when the log has grown to a fair share of the base (amortized: each entry
//! is rewritten a bounded number of times). A crash at any moment leaves a base and a log
//! whose complete batches hold only what is on disk; a torn last batch is left out.
//!
//! Loading streams the base entry by entry, merged with the log (sorted in memory), so a
//! run holds the archive's states (68 bytes per path) but never its paths, which the scanned
//! trees already hold.

use super::FolderError;
use super::names::{RelPath, cmp_paths};
use super::replica::{Hash, Kind, Mtime, RootId};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The base format: front-coded paths.
const MAGIC: &[u8; 8] = b"SCFARCH3";
/// Full paths, 12-byte mtimes, root identities (still read).
const MAGIC_V2: &[u8; 8] = b"SCFARCH2";
/// The first format: mtimes in i64 nanoseconds, no root identities (still read).
const MAGIC_V1: &[u8; 8] = b"SCFARCH1";
const LOG_MAGIC: &[u8; 8] = b"SCFALOG1";
const CHECKSUM_LEN: usize = 32;
/// The checksum a log names when it follows no base (a first sync).
pub const NO_BASE: Hash = [0; 32];
/// Kind byte of a log record saying the path is no longer archived.
const GONE: u8 = 3;

/// A path as it was when both sides last agreed on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    pub kind: Kind,
    pub exec: bool,
    pub size: u64,
    /// The mtime each side had (left, right): each side is compared with its own clock.
    pub mtime: [Mtime; 2],
    /// Files only.
    pub hash: Hash,
    /// Symlinks only.
    pub target: Option<Box<[u8]>>,
}

impl Synced {
    pub fn view(&self) -> SyncedRef<'_> {
        SyncedRef {
            kind: self.kind,
            exec: self.exec,
            size: self.size,
            mtime: self.mtime,
            hash: &self.hash,
            target: self.target.as_deref(),
        }
    }
}

/// An archived state as a list keeps it, borrowed: what reconcile reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncedRef<'a> {
    pub kind: Kind,
    pub exec: bool,
    pub size: u64,
    pub mtime: [Mtime; 2],
    pub hash: &'a Hash,
    pub target: Option<&'a [u8]>,
}

impl SyncedRef<'_> {
    pub fn to_owned(self) -> Synced {
        Synced {
            kind: self.kind,
            exec: self.exec,
            size: self.size,
            mtime: self.mtime,
            hash: *self.hash,
            target: self.target.map(Into::into),
        }
    }
}

/// One archived state without its path: 68 bytes.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Stored {
    kind_exec: u8,
    size: u64,
    mtime: [Mtime; 2],
    hash: Hash,
}

const _: () = assert!(std::mem::size_of::<Stored>() == 68);

/// Archived states by number, compact (the few link targets are kept apart).
#[derive(Default)]
pub struct States {
    items: Vec<Stored>,
    targets: Vec<(u32, Box<[u8]>)>,
}

impl States {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps a state; returns its number.
    pub fn push(&mut self, synced: SyncedRef) -> u32 {
        let index = u32::try_from(self.items.len()).expect("fewer than 4 billion states");
        if let Some(target) = synced.target {
            self.targets.push((index, target.into()));
        }
        self.items.push(Stored {
            kind_exec: synced.kind.pack(synced.exec),
            size: synced.size,
            mtime: synced.mtime,
            hash: *synced.hash,
        });
        index
    }

    pub fn get(&self, index: u32) -> SyncedRef<'_> {
        let stored = &self.items[index as usize];
        let (kind, exec) = Kind::unpack(stored.kind_exec);
        let target = match kind {
            Kind::Symlink => self
                .targets
                .binary_search_by_key(&index, |t| t.0)
                .ok()
                .map(|k| &*self.targets[k].1),
            _ => None,
        };
        SyncedRef {
            kind,
            exec,
            size: stored.size,
            mtime: stored.mtime,
            hash: &stored.hash,
            target,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
        self.targets.shrink_to_fit();
    }
}

/// Where the archive of a pair lives.
pub fn archive_file(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("folders").join(format!("{name}.archive"))
}

/// The log of changes since the base.
pub fn log_file(archive_file: &Path) -> PathBuf {
    with_suffix(archive_file, ".log")
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// A log record: the path's state after a change, `None` when it is no longer archived.
type LogRecord = (Box<RelPath>, Option<Synced>);

/// What loading found.
pub enum Loaded {
    /// The archive of these roots.
    Found(Archived),
    /// No usable archive; `notice` says why when the user should know.
    FirstSync { notice: Option<String> },
}

/// The archive of a pair as found on disk: checked, ready to be read in order.
pub struct Archived {
    /// The identities the roots had (left, right) when they were last synced (`None` in
    /// archives of the first format).
    pub roots: [Option<RootId>; 2],
    /// The base, when there is one: its file, format, where its entries are.
    base: Option<Base>,
    /// The log's records in path order, the newest of each path.
    log: Vec<LogRecord>,
    log_bytes: u64,
}

struct Base {
    file: PathBuf,
    version: u8,
    body: std::ops::Range<u64>,
    checksum: Hash,
}

impl Archived {
    /// The bytes of the log that were read (a torn last batch is not counted).
    pub fn log_len(&self) -> u64 {
        self.log_bytes
    }

    /// The checksum of the base the log follows.
    pub fn base_checksum(&self) -> Hash {
        self.base.as_ref().map_or(NO_BASE, |b| b.checksum)
    }

    /// Whether the base should be rewritten with the log folded in: the log has grown to an
    /// eighth of the base (each entry is then rewritten a bounded number of times).
    pub fn wants_compaction(&self, written_to_log: u64) -> bool {
        let base = self.base.as_ref().map_or(0, |b| b.body.end - b.body.start);
        (self.log_bytes + written_to_log) * 8 > base
    }

    /// The entries in path order: the base's, with the log's changes.
    pub fn entries(&self) -> Result<Entries<'_>, FolderError> {
        let base = match &self.base {
            Some(base) => {
                let mut file =
                    File::open(&base.file).map_err(|e| FolderError::io(&base.file, e))?;
                file.seek(SeekFrom::Start(base.body.start))
                    .map_err(|e| FolderError::io(&base.file, e))?;
                let mut decoder = Decoder {
                    reader: reader(BufReader::with_capacity(1 << 16, file)),
                    remaining: base.body.end - base.body.start,
                    version: base.version,
                    path: Vec::new(),
                    synced: empty_synced(),
                    loaded: false,
                };
                decoder
                    .advance()
                    .map_err(|e| FolderError::io(&base.file, e))?;
                Some((decoder, base.file.as_path()))
            }
            None => None,
        };
        let mut entries = Entries {
            base,
            log: &self.log,
            at: 0,
            current: None,
        };
        entries.settle()?;
        Ok(entries)
    }
}

/// Which list the current entry comes from.
#[derive(Clone, Copy)]
enum From {
    Base,
    Log,
}

/// The archive's entries in path order, one at a time (see [`Archived::entries`]).
pub struct Entries<'a> {
    base: Option<(Decoder<BufReader<File>>, &'a Path)>,
    log: &'a [LogRecord],
    at: usize,
    current: Option<From>,
}

impl Entries<'_> {
    /// The current entry; `None` at the end.
    pub fn current(&self) -> Option<(&RelPath, SyncedRef<'_>)> {
        match self.current? {
            From::Base => {
                let (decoder, _) = self.base.as_ref()?;
                Some((&decoder.path, decoder.synced.view()))
            }
            From::Log => {
                let (path, synced) = &self.log[self.at];
                Some((path, synced.as_ref()?.view()))
            }
        }
    }

    pub fn advance(&mut self) -> Result<(), FolderError> {
        match self.current {
            Some(From::Base) => self.advance_base()?,
            Some(From::Log) => self.at += 1,
            None => return Ok(()),
        }
        self.settle()
    }

    fn advance_base(&mut self) -> Result<(), FolderError> {
        if let Some((decoder, file)) = &mut self.base {
            decoder.advance().map_err(|e| FolderError::io(*file, e))?;
        }
        Ok(())
    }

    /// Makes the smallest of the base's and the log's heads current; the log's record of a
    /// path replaces the base's, and a record saying "gone" hides it.
    fn settle(&mut self) -> Result<(), FolderError> {
        loop {
            let base = self
                .base
                .as_ref()
                .filter(|(d, _)| d.loaded)
                .map(|(d, _)| d.path.as_slice());
            let Some((path, synced)) = self.log.get(self.at) else {
                self.current = base.map(|_| From::Base);
                return Ok(());
            };
            match base.map(|b| cmp_paths(b, path)) {
                Some(std::cmp::Ordering::Less) => {
                    self.current = Some(From::Base);
                    return Ok(());
                }
                Some(std::cmp::Ordering::Equal) => self.advance_base()?,
                _ => {}
            }
            if synced.is_some() {
                self.current = Some(From::Log);
                return Ok(());
            }
            self.at += 1;
        }
    }
}

/// Loads the archive for these roots: checks the base whole (its checksum) and reads the
/// log. A damaged base is moved aside as `NAME.damaged-TIMESTAMP` and the run continues as
/// a first sync.
pub fn load(file: &Path, left: &Path, right: &Path) -> Result<Loaded, FolderError> {
    let roots = [left, right].map(|r| r.as_os_str().as_bytes().to_vec());
    let mut notice = None;
    let base = match check_base(file).map_err(|e| FolderError::io(file, e))? {
        BaseCheck::Missing => None,
        BaseCheck::Damaged => {
            let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
            let aside = with_suffix(file, &format!(".damaged-{stamp}"));
            std::fs::rename(file, &aside).map_err(|e| FolderError::io(file, e))?;
            return Ok(Loaded::FirstSync {
                notice: Some(format!(
                    "The record of the last sync was damaged and was moved to {}; this sync compares both sides as they are (differing files become conflicts, nothing is overwritten).",
                    aside.display()
                )),
            });
        }
        BaseCheck::Sound(header, base) if header.roots == roots => Some((header, base)),
        BaseCheck::Sound(..) => {
            notice = Some(format!(
                "{} was made for other folders; this sync compares both sides as they are.",
                file.display()
            ));
            None
        }
    };
    let checksum = base.as_ref().map_or(NO_BASE, |(_, b)| b.checksum);
    let log = if notice.is_none() {
        read_log(file, &roots, &checksum)
    } else {
        None
    };
    match (base, log) {
        (None, None) => Ok(Loaded::FirstSync { notice }),
        (base, log) => {
            let (log_ids, log, log_bytes) = log.unwrap_or_default();
            let roots = match &base {
                _ if log_bytes > 0 => log_ids,
                Some((header, _)) => header.ids.clone(),
                None => [None, None],
            };
            Ok(Loaded::Found(Archived {
                roots,
                base: base.map(|(_, b)| b),
                log,
                log_bytes,
            }))
        }
    }
}

/// When the pair was last synced: the base's header, or the log's last batch if newer.
pub fn last_synced(file: &Path) -> Option<SystemTime> {
    let mut header = [0u8; 16];
    let base = File::open(file)
        .and_then(|mut f| f.read_exact(&mut header))
        .ok()
        .filter(|()| [MAGIC, MAGIC_V2, MAGIC_V1].contains(&&header[..8].try_into().unwrap()))
        .map(|()| {
            let ms = i64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
            UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
        });
    let log = std::fs::metadata(log_file(file))
        .and_then(|m| m.modified())
        .ok();
    base.max(log)
}

/// Removes a pair's archive, log and journal.
pub fn remove(file: &Path) -> Result<(), FolderError> {
    for path in [log_file(file), journal_file(file), file.to_path_buf()] {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(FolderError::io(path, e));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The start of a base or log file: when, which roots, their identities.
struct Header {
    roots: [Vec<u8>; 2],
    ids: [Option<RootId>; 2],
}

enum BaseCheck {
    Missing,
    Damaged,
    Sound(Header, Base),
}

/// Reads a base's header and checks its checksum over the whole file.
fn check_base(file: &Path) -> std::io::Result<BaseCheck> {
    let mut opened = match File::open(file) {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BaseCheck::Missing),
        Err(e) => return Err(e),
    };
    let len = opened.metadata()?.len();
    let Some(body_len) = len.checked_sub(CHECKSUM_LEN as u64) else {
        return Ok(BaseCheck::Damaged);
    };
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0; 1 << 18];
    let mut left = body_len;
    while left > 0 {
        let n = (left as usize).min(buffer.len());
        opened.read_exact(&mut buffer[..n])?;
        hasher.update(&buffer[..n]);
        left -= n as u64;
    }
    let mut checksum = [0; CHECKSUM_LEN];
    opened.read_exact(&mut checksum)?;
    if hasher.finalize().as_bytes() != &checksum {
        return Ok(BaseCheck::Damaged);
    }
    opened.seek(SeekFrom::Start(0))?;
    let mut reader = reader(BufReader::new(opened.take(body_len)));
    let mut remaining = body_len;
    let Some((version, header)) = read_header(&mut reader, &mut remaining, false) else {
        return Ok(BaseCheck::Damaged);
    };
    let base = Base {
        file: file.to_path_buf(),
        version,
        body: body_len - remaining..body_len,
        checksum,
    };
    Ok(BaseCheck::Sound(header, base))
}

/// Reads a header; the format version (1, 2, 3) and what it says.
fn read_header<R: Read>(
    reader: &mut Reader<R>,
    remaining: &mut u64,
    log: bool,
) -> Option<(u8, Header)> {
    let mut magic = [0; 8];
    reader.exact(&mut magic, remaining)?;
    let version = match &magic {
        m if log && m == LOG_MAGIC => 3,
        m if !log && m == MAGIC => 3,
        m if !log && m == MAGIC_V2 => 2,
        m if !log && m == MAGIC_V1 => 1,
        _ => return None,
    };
    reader.u64(remaining)?;
    let roots = [
        reader.bytes(remaining)?.to_vec(),
        reader.bytes(remaining)?.to_vec(),
    ];
    let mut ids = [None, None];
    if version > 1 {
        for id in &mut ids {
            let text = std::str::from_utf8(reader.bytes(remaining)?).ok()?;
            *id = (!text.is_empty()).then(|| RootId(text.to_string()));
        }
    }
    Some((version, Header { roots, ids }))
}

fn put_header(out: &mut Vec<u8>, magic: &[u8; 8], left: &Path, right: &Path, ids: [&RootId; 2]) {
    out.extend_from_slice(magic);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    out.extend_from_slice(&now.to_le_bytes());
    put_bytes(out, left.as_os_str().as_bytes());
    put_bytes(out, right.as_os_str().as_bytes());
    for id in ids {
        put_bytes(out, id.0.as_bytes());
    }
}

/// The log's root identities, records (in path order, the newest of each path) and size,
/// when it follows the base with checksum `base` for these roots; `None` when there is no
/// such log.
fn read_log(
    archive_file: &Path,
    roots: &[Vec<u8>; 2],
    base: &Hash,
) -> Option<([Option<RootId>; 2], Vec<LogRecord>, u64)> {
    let bytes = std::fs::read(log_file(archive_file)).ok()?;
    let mut remaining = bytes.len() as u64;
    let mut header_reader = reader(bytes.as_slice());
    let (_, header) = read_header(&mut header_reader, &mut remaining, true)?;
    let mut follows = [0; CHECKSUM_LEN];
    header_reader.exact(&mut follows, &mut remaining)?;
    if header.roots != *roots || follows != *base {
        return None;
    }
    let mut records = Vec::new();
    let mut rest = &bytes[bytes.len() - remaining as usize..];
    // Batches: length, records, checksum of the records. A torn or damaged batch ends it.
    while let Some((len, after)) = rest.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let Some((body, after)) = after.split_at_checked(len) else {
            break;
        };
        let Some((checksum, after)) = after.split_first_chunk::<CHECKSUM_LEN>() else {
            break;
        };
        if blake3::hash(body).as_bytes() != checksum {
            break;
        }
        let mut left = body.len() as u64;
        let mut records_reader = reader(body);
        let mut path = Vec::new();
        while left > 0 {
            let Some(state) = records_reader.record(3, &mut path, &mut left, true) else {
                break;
            };
            records.push((path.as_slice().into(), state));
        }
        rest = after;
    }
    let used = (bytes.len() - rest.len()) as u64;
    // The newest record of a path wins (the sort is stable, records are oldest first).
    records.sort_by(|a: &LogRecord, b: &LogRecord| cmp_paths(&a.0, &b.0));
    records.reverse();
    records.dedup_by(|later, earlier| later.0 == earlier.0);
    records.reverse();
    Some((header.ids, records, used))
}

/// Writes a new base atomically (fsynced, then renamed into place), entries in path order,
/// encoded as they come so no copy of the archive is ever held in memory.
pub struct Writer {
    file: PathBuf,
    out: std::io::BufWriter<Checksummed<atomic_write_file::AtomicWriteFile>>,
    previous: Vec<u8>,
    scratch: Vec<u8>,
}

impl Writer {
    pub fn create(
        file: &Path,
        left: &Path,
        right: &Path,
        ids: [&RootId; 2],
    ) -> Result<Writer, FolderError> {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FolderError::io(dir, e))?;
        }
        let atomic =
            atomic_write_file::AtomicWriteFile::open(file).map_err(|e| FolderError::io(file, e))?;
        let mut writer = Writer {
            file: file.to_path_buf(),
            out: std::io::BufWriter::with_capacity(
                1 << 18,
                Checksummed {
                    inner: atomic,
                    hasher: blake3::Hasher::new(),
                },
            ),
            previous: Vec::new(),
            scratch: Vec::new(),
        };
        put_header(&mut writer.scratch, MAGIC, left, right, ids);
        writer
            .out
            .write_all(&writer.scratch)
            .map_err(|e| FolderError::io(file, e))?;
        Ok(writer)
    }

    /// Adds the next entry (paths in [`cmp_paths`] order).
    pub fn put(&mut self, path: &RelPath, synced: SyncedRef) -> Result<(), FolderError> {
        self.scratch.clear();
        put_record(&mut self.scratch, &self.previous, path, Some(synced));
        self.previous.clear();
        self.previous.extend_from_slice(path);
        self.out
            .write_all(&self.scratch)
            .map_err(|e| FolderError::io(&self.file, e))
    }

    /// Ends the file with its checksum and puts it in place.
    pub fn commit(self) -> Result<Hash, FolderError> {
        let file = self.file;
        let done = (|| {
            let mut checksummed = self.out.into_inner().map_err(|e| e.into_error())?;
            let checksum = *checksummed.hasher.finalize().as_bytes();
            checksummed.inner.write_all(&checksum)?;
            checksummed.inner.commit()?;
            Ok(checksum)
        })();
        done.map_err(|e| FolderError::io(file, e))
    }
}

/// A writer that hashes what passes through it.
struct Checksummed<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The records of one batch of changes, encoded as they are made.
#[derive(Default)]
pub struct Batch {
    bytes: Vec<u8>,
    previous: Vec<u8>,
}

impl Batch {
    /// Records the state of `path` after a change (`None`: no longer archived).
    pub fn put(&mut self, path: &RelPath, state: Option<SyncedRef>) {
        put_record(&mut self.bytes, &self.previous, path, state);
        self.previous.clear();
        self.previous.extend_from_slice(path);
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The records so far; the batch starts again empty.
    pub fn take(&mut self) -> Vec<u8> {
        self.previous.clear();
        std::mem::take(&mut self.bytes)
    }
}

/// Appends batches to a pair's log, each made durable before the next.
pub struct LogWriter {
    file: PathBuf,
    header: Vec<u8>,
    /// The bytes of the log on disk this run loaded, appended to; 0: a log there is a
    /// leftover and is replaced.
    keep: u64,
    out: Option<File>,
    /// Bytes appended by this run.
    pub written: u64,
}

impl LogWriter {
    /// A log following the base with checksum `base`. The first `keep` bytes of the log on
    /// disk were loaded for this run and are kept (anything after them, a torn batch, is
    /// cut off); with 0 the log is replaced at the first batch.
    pub fn new(
        archive_file: &Path,
        left: &Path,
        right: &Path,
        ids: [&RootId; 2],
        base: Hash,
        keep: u64,
    ) -> LogWriter {
        let mut header = Vec::new();
        put_header(&mut header, LOG_MAGIC, left, right, ids);
        header.extend_from_slice(&base);
        LogWriter {
            file: log_file(archive_file),
            header,
            keep,
            out: None,
            written: 0,
        }
    }

    /// Appends a batch and makes it durable (the data it describes must be already).
    pub fn append(&mut self, batch: &[u8]) -> Result<(), FolderError> {
        let done = (|| {
            if self.out.is_none() {
                self.out = Some(self.open()?);
            }
            let out = self.out.as_mut().expect("opened");
            let mut framed = Vec::with_capacity(batch.len() + 4 + CHECKSUM_LEN);
            framed.extend_from_slice(&(batch.len() as u32).to_le_bytes());
            framed.extend_from_slice(batch);
            framed.extend_from_slice(blake3::hash(batch).as_bytes());
            out.write_all(&framed)?;
            out.sync_data()?;
            self.written += framed.len() as u64;
            Ok(())
        })();
        done.map_err(|e: std::io::Error| FolderError::io(&self.file, e))
    }

    fn open(&self) -> std::io::Result<File> {
        if self.keep > 0 {
            let mut file = File::options().write(true).open(&self.file)?;
            file.set_len(self.keep)?;
            file.seek(SeekFrom::End(0))?;
            return Ok(file);
        }
        let dir = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut file = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.file)?;
        file.write_all(&self.header)?;
        file.sync_all()?;
        // The log's name must be durable too before anything relies on it.
        File::open(dir)?.sync_all()?;
        Ok(file)
    }
}

/// Forgets the log once a new base holds everything (the base names no log: a log naming
/// an older base is never applied, so removing it is tidiness, not safety).
pub fn remove_log(archive_file: &Path) -> Result<(), FolderError> {
    let file = log_file(archive_file);
    match std::fs::remove_file(&file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FolderError::io(file, e)),
        _ => Ok(()),
    }
}

/// Appends one record: the path front-coded against `previous` (what the two share, then
/// the rest), then the state (`None`: gone).
fn put_record(out: &mut Vec<u8>, previous: &[u8], path: &RelPath, state: Option<SyncedRef>) {
    let shared = previous
        .iter()
        .zip(path)
        .take_while(|(a, b)| a == b)
        .count();
    put_varint(out, shared as u64);
    put_varint(out, (path.len() - shared) as u64);
    out.extend_from_slice(&path[shared..]);
    match state {
        Some(synced) => put_state(out, synced),
        None => out.push(GONE),
    }
}

fn put_state(out: &mut Vec<u8>, synced: SyncedRef) {
    let kind = match synced.kind {
        Kind::File => 0,
        Kind::Dir => 1,
        Kind::Symlink => 2,
    };
    out.extend_from_slice(&[kind, u8::from(synced.exec)]);
    out.extend_from_slice(&synced.size.to_le_bytes());
    for mtime in synced.mtime {
        out.extend_from_slice(&mtime.secs.to_le_bytes());
        out.extend_from_slice(&mtime.nanos.to_le_bytes());
    }
    match synced.kind {
        Kind::File => out.extend_from_slice(synced.hash),
        Kind::Symlink => put_bytes(out, synced.target.unwrap_or_default()),
        Kind::Dir => {}
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn empty_synced() -> Synced {
    Synced {
        kind: Kind::Dir,
        exec: false,
        size: 0,
        mtime: [Mtime::default(); 2],
        hash: [0; 32],
        target: None,
    }
}

/// Reads the fields [`put_record`] and the older formats wrote; every read is bounded by
/// the bytes left (`remaining`), so a damaged length never reads past its file.
struct Reader<R> {
    inner: R,
    scratch: Vec<u8>,
}

fn reader<R: Read>(inner: R) -> Reader<R> {
    Reader {
        inner,
        scratch: Vec::new(),
    }
}

impl<R: Read> Reader<R> {
    fn exact(&mut self, out: &mut [u8], remaining: &mut u64) -> Option<()> {
        if out.len() as u64 > *remaining {
            return None;
        }
        self.inner.read_exact(out).ok()?;
        *remaining -= out.len() as u64;
        Some(())
    }
    fn take(&mut self, n: usize, remaining: &mut u64) -> Option<&[u8]> {
        if n as u64 > *remaining {
            return None;
        }
        self.scratch.resize(n, 0);
        self.inner.read_exact(&mut self.scratch).ok()?;
        *remaining -= n as u64;
        Some(&self.scratch)
    }
    fn array<const N: usize>(&mut self, remaining: &mut u64) -> Option<[u8; N]> {
        let mut out = [0; N];
        self.exact(&mut out, remaining)?;
        Some(out)
    }
    fn u8(&mut self, remaining: &mut u64) -> Option<u8> {
        Some(self.array::<1>(remaining)?[0])
    }
    fn u64(&mut self, remaining: &mut u64) -> Option<u64> {
        Some(u64::from_le_bytes(self.array(remaining)?))
    }
    fn varint(&mut self, remaining: &mut u64) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8(remaining)?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(n);
            }
        }
        None
    }
    fn mtime(&mut self, version: u8, remaining: &mut u64) -> Option<Mtime> {
        if version == 1 {
            let ns = i64::from_le_bytes(self.array(remaining)?);
            Some(Mtime::new(
                ns.div_euclid(1_000_000_000),
                ns.rem_euclid(1_000_000_000) as u32,
            ))
        } else {
            let secs = i64::from_le_bytes(self.array(remaining)?);
            let nanos = u32::from_le_bytes(self.array(remaining)?);
            (nanos < 1_000_000_000).then_some(Mtime::new(secs, nanos))
        }
    }
    fn bytes(&mut self, remaining: &mut u64) -> Option<&[u8]> {
        let len = u32::from_le_bytes(self.array(remaining)?) as usize;
        self.take(len, remaining)
    }
    /// One record: its path goes to `path` (front-coded against what it holds in version
    /// 3), its state is returned (`None` inside: gone, in logs only).
    fn record(
        &mut self,
        version: u8,
        path: &mut Vec<u8>,
        remaining: &mut u64,
        log: bool,
    ) -> Option<Option<Synced>> {
        if version == 3 {
            let shared = usize::try_from(self.varint(remaining)?).ok()?;
            let rest = usize::try_from(self.varint(remaining)?).ok()?;
            if shared > path.len() {
                return None;
            }
            path.truncate(shared);
            path.extend_from_slice(self.take(rest, remaining)?);
        } else {
            path.clear();
            path.extend_from_slice(self.bytes(remaining)?);
        }
        let kind = match self.u8(remaining)? {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            GONE if log => return Some(None),
            _ => return None,
        };
        let exec = self.u8(remaining)? != 0;
        let size = self.u64(remaining)?;
        let mtime = [
            self.mtime(version, remaining)?,
            self.mtime(version, remaining)?,
        ];
        let mut hash = [0; 32];
        let mut target = None;
        match kind {
            Kind::File => hash = self.array(remaining)?,
            Kind::Symlink => target = Some(self.bytes(remaining)?.into()),
            Kind::Dir => {}
        }
        Some(Some(Synced {
            kind,
            exec,
            size,
            mtime,
            hash,
            target,
        }))
    }
}

/// Reads a base's entries one at a time.
struct Decoder<R> {
    reader: Reader<R>,
    remaining: u64,
    version: u8,
    path: Vec<u8>,
    synced: Synced,
    /// Whether `path` and `synced` hold an entry (false at the end).
    loaded: bool,
}

impl<R: Read> Decoder<R> {
    fn advance(&mut self) -> std::io::Result<()> {
        self.loaded = false;
        if self.remaining == 0 {
            return Ok(());
        }
        let record = self
            .reader
            .record(self.version, &mut self.path, &mut self.remaining, false);
        match record {
            Some(Some(synced)) => {
                self.synced = synced;
                self.loaded = true;
                Ok(())
            }
            // The checksum was right when the run started: the file changed since.
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the record of the last sync changed while it was read",
            )),
        }
    }
}

/// The journal of a pair: what a run is about to record, written right before each copy
/// lands. A run killed before it saved leaves it; the next run trusts a record whose target
/// still holds exactly what was copied there, so a copy that landed is not taken for the
/// user's change (a false conflict, or a deletion undone).
pub fn journal_file(archive_file: &Path) -> PathBuf {
    with_suffix(archive_file, ".journal")
}

/// A copy about to land: `path` will be `synced` on both sides, `target` the side written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landing {
    pub path: Box<RelPath>,
    pub synced: Synced,
    pub target: usize,
}

/// Appends to a pair's journal, each record written out before the copy it announces.
pub struct Journal {
    file: PathBuf,
    out: Option<File>,
    buffer: Vec<u8>,
}

impl Journal {
    pub fn new(archive_file: &Path) -> Journal {
        Journal {
            file: journal_file(archive_file),
            out: None,
            buffer: Vec::new(),
        }
    }

    pub fn append(
        &mut self,
        path: &RelPath,
        synced: SyncedRef,
        target: usize,
    ) -> std::io::Result<()> {
        if self.out.is_none() {
            if let Some(dir) = self.file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            self.out = Some(File::options().create(true).append(true).open(&self.file)?);
        }
        self.buffer.clear();
        put_bytes(&mut self.buffer, path);
        put_state(&mut self.buffer, synced);
        self.buffer.push(target as u8);
        self.out.as_mut().expect("opened").write_all(&self.buffer)
    }
}

/// The records of a pair's journal in path order (oldest first for each path); a torn
/// last record is left out.
pub fn load_journal(archive_file: &Path) -> Vec<Landing> {
    let Ok(bytes) = std::fs::read(journal_file(archive_file)) else {
        return Vec::new();
    };
    let mut remaining = bytes.len() as u64;
    let mut reader = reader(bytes.as_slice());
    let mut out = Vec::new();
    let mut path = Vec::new();
    while remaining > 0 {
        let Some(Some(synced)) = reader.record(2, &mut path, &mut remaining, false) else {
            break;
        };
        let Some(target) = reader.u8(&mut remaining).filter(|&t| t < 2) else {
            break;
        };
        out.push(Landing {
            path: path.as_slice().into(),
            synced,
            target: target.into(),
        });
    }
    out.sort_by(|a, b| cmp_paths(&a.path, &b.path));
    out
}

/// Forgets the journal once the archive holds everything it announced.
pub fn clear_journal(archive_file: &Path) -> Result<(), FolderError> {
    let file = journal_file(archive_file);
    match std::fs::remove_file(&file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FolderError::io(file, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
