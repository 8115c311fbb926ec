//! The archive: the state of every path at the last sync of a pair, as both sides agreed on
//! it. A compact binary file in the center's data folder, written atomically and only with
//! what was applied, so a crash at any moment leaves an archive the next run can trust.

use super::FolderError;
use super::names::{PathList, RelPath};
use super::replica::{Hash, Kind, Mtime, RootId};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MAGIC: &[u8; 8] = b"SCFARCH2";
/// The first format: mtimes in i64 nanoseconds, no root identities (still read).
const MAGIC_V1: &[u8; 8] = b"SCFARCH1";
const CHECKSUM_LEN: usize = 32;

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

/// Entries in [`super::names::cmp_paths`] order.
pub type Entries = PathList<Synced>;

/// Where the archive of a pair lives.
pub fn archive_file(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("folders").join(format!("{name}.archive"))
}

/// What loading found.
pub enum Loaded {
    /// The archive of these roots, with the identities the roots had (left, right) when
    /// they were last synced (`None` in archives of the first format).
    Found {
        entries: Entries,
        roots: [Option<RootId>; 2],
    },
    /// No usable archive; `notice` says why when the user should know.
    FirstSync { notice: Option<String> },
}

/// Loads the archive for these roots. A damaged file is moved aside as
/// `NAME.damaged-TIMESTAMP` and the run continues as a first sync.
pub fn load(file: &Path, left: &Path, right: &Path) -> Result<Loaded, FolderError> {
    let opened = std::fs::File::open(file).and_then(|f| Ok((f.metadata()?.len(), f)));
    let (len, opened) = match opened {
        Ok(opened) => opened,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded::FirstSync { notice: None });
        }
        Err(e) => return Err(FolderError::io(file, e)),
    };
    match decode(opened, len) {
        Some((roots, ids, entries))
            if roots == [left.as_os_str(), right.as_os_str()].map(|r| r.as_bytes()) =>
        {
            Ok(Loaded::Found {
                entries,
                roots: ids,
            })
        }
        Some(_) => Ok(Loaded::FirstSync {
            notice: Some(format!(
                "{} was made for other folders; this sync compares both sides as they are.",
                file.display()
            )),
        }),
        None => {
            let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
            let aside = file.with_file_name(format!(
                "{}.damaged-{stamp}",
                file.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            ));
            std::fs::rename(file, &aside).map_err(|e| FolderError::io(file, e))?;
            Ok(Loaded::FirstSync {
                notice: Some(format!(
                    "The record of the last sync was damaged and was moved to {}; this sync compares both sides as they are (differing files become conflicts, nothing is overwritten).",
                    aside.display()
                )),
            })
        }
    }
}

/// When the pair was last synced, from the archive's header alone.
pub fn last_synced(file: &Path) -> Option<SystemTime> {
    use std::io::Read;
    let mut header = [0u8; 16];
    std::fs::File::open(file)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if &header[..8] != MAGIC && &header[..8] != MAGIC_V1 {
        return None;
    }
    let ms = i64::from_le_bytes(header[8..16].try_into().ok()?);
    Some(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// Writes the archive atomically (fsynced), encoding the entries as it goes so no copy of
/// the whole archive is ever held in memory.
pub fn save<'a>(
    file: &Path,
    left: &Path,
    right: &Path,
    ids: [&RootId; 2],
    entries: impl Iterator<Item = (&'a RelPath, &'a Synced)>,
) -> Result<(), FolderError> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| FolderError::io(dir, e))?;
    }
    let written = (|| {
        let mut atomic = atomic_write_file::AtomicWriteFile::open(file)?;
        let mut out = Checksummed {
            inner: std::io::BufWriter::with_capacity(1 << 16, &mut atomic),
            hasher: blake3::Hasher::new(),
        };
        encode(&mut out, left, right, ids, entries)?;
        let checksum = out.hasher.finalize();
        out.inner.write_all(checksum.as_bytes())?;
        out.inner.flush()?;
        drop(out);
        atomic.commit()
    })();
    written.map_err(|e| FolderError::io(file, e))
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

fn encode<'a>(
    out: &mut impl Write,
    left: &Path,
    right: &Path,
    ids: [&RootId; 2],
    entries: impl Iterator<Item = (&'a RelPath, &'a Synced)>,
) -> std::io::Result<()> {
    out.write_all(MAGIC)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    out.write_all(&now.to_le_bytes())?;
    put_bytes(out, left.as_os_str().as_bytes())?;
    put_bytes(out, right.as_os_str().as_bytes())?;
    for id in ids {
        put_bytes(out, id.0.as_bytes())?;
    }
    for (path, synced) in entries {
        put_entry(out, path, synced)?;
    }
    Ok(())
}

fn put_entry(out: &mut impl Write, path: &RelPath, synced: &Synced) -> std::io::Result<()> {
    put_bytes(out, path)?;
    let kind = match synced.kind {
        Kind::File => 0,
        Kind::Dir => 1,
        Kind::Symlink => 2,
    };
    out.write_all(&[kind, u8::from(synced.exec)])?;
    out.write_all(&synced.size.to_le_bytes())?;
    for mtime in synced.mtime {
        out.write_all(&mtime.secs.to_le_bytes())?;
        out.write_all(&mtime.nanos.to_le_bytes())?;
    }
    match synced.kind {
        Kind::File => out.write_all(&synced.hash),
        Kind::Symlink => put_bytes(out, synced.target.as_deref().unwrap_or_default()),
        Kind::Dir => Ok(()),
    }
}

fn put_bytes(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u32).to_le_bytes())?;
    out.write_all(bytes)
}

/// A reader that hashes everything read through it.
struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads an archive's body as a stream (hashed on the way), so loading never holds the
/// file and its decoded entries at once.
struct Reader<R> {
    inner: std::io::BufReader<Hashing<std::io::Take<R>>>,
    scratch: Vec<u8>,
    /// Body bytes left before the checksum.
    remaining: u64,
}

impl<R: Read> Reader<R> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if n as u64 > self.remaining {
            return None;
        }
        self.scratch.resize(n, 0);
        self.inner.read_exact(&mut self.scratch).ok()?;
        self.remaining -= n as u64;
        Some(&self.scratch)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        if N as u64 > self.remaining {
            return None;
        }
        let mut out = [0; N];
        self.inner.read_exact(&mut out).ok()?;
        self.remaining -= N as u64;
        Some(out)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.array::<1>()?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }
    fn mtime(&mut self, v1: bool) -> Option<Mtime> {
        if v1 {
            let ns = self.i64()?;
            Some(Mtime::new(
                ns.div_euclid(1_000_000_000),
                ns.rem_euclid(1_000_000_000) as u32,
            ))
        } else {
            let secs = self.i64()?;
            let nanos = self.u32()?;
            (nanos < 1_000_000_000).then_some(Mtime::new(secs, nanos))
        }
    }
    fn bytes(&mut self) -> Option<&[u8]> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        self.take(len)
    }
    /// One entry as [`put_entry`] wrote it; its path goes to `path`.
    fn entry(&mut self, v1: bool, path: &mut Vec<u8>) -> Option<Synced> {
        path.clear();
        path.extend_from_slice(self.bytes()?);
        let kind = match self.u8()? {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            _ => return None,
        };
        let exec = self.u8()? != 0;
        let size = self.u64()?;
        let mtime = [self.mtime(v1)?, self.mtime(v1)?];
        let mut hash = [0; 32];
        let mut target = None;
        match kind {
            Kind::File => hash = self.array()?,
            Kind::Symlink => target = Some(self.bytes()?.into()),
            Kind::Dir => {}
        }
        Some(Synced {
            kind,
            exec,
            size,
            mtime,
            hash,
            target,
        })
    }
}

fn reader<R: Read>(inner: R, len: u64) -> Reader<R> {
    Reader {
        inner: std::io::BufReader::with_capacity(
            1 << 16,
            Hashing {
                inner: inner.take(len),
                hasher: blake3::Hasher::new(),
            },
        ),
        scratch: Vec::new(),
        remaining: len,
    }
}

/// The journal of a pair: what a run is about to record, written right before each copy
/// lands. A run killed before it saved the archive leaves it; the next run trusts a record
/// whose target still holds exactly what was copied there, so a copy that landed is not
/// taken for the user's change (a false conflict, or a deletion undone).
pub fn journal_file(archive_file: &Path) -> PathBuf {
    let mut name = archive_file.as_os_str().to_os_string();
    name.push(".journal");
    PathBuf::from(name)
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
    out: Option<std::fs::File>,
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
        synced: &Synced,
        target: usize,
    ) -> std::io::Result<()> {
        if self.out.is_none() {
            if let Some(dir) = self.file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            self.out = Some(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(&self.file)?,
            );
        }
        self.buffer.clear();
        put_entry(&mut self.buffer, path, synced)?;
        self.buffer.push(target as u8);
        self.out.as_mut().expect("opened").write_all(&self.buffer)
    }
}

/// The records of a pair's journal, oldest first; a torn last record is left out.
pub fn load_journal(archive_file: &Path) -> Vec<Landing> {
    let Ok(bytes) = std::fs::read(journal_file(archive_file)) else {
        return Vec::new();
    };
    let len = bytes.len() as u64;
    let mut reader = reader(std::io::Cursor::new(bytes), len);
    let mut out = Vec::new();
    let mut path = Vec::new();
    while reader.remaining > 0 {
        let Some(synced) = reader.entry(false, &mut path) else {
            break;
        };
        let Some(target) = reader.u8().filter(|&t| t < 2) else {
            break;
        };
        out.push(Landing {
            path: path.as_slice().into(),
            synced,
            target: target.into(),
        });
    }
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

/// The roots, their identities and the entries of an archive.
type Decoded = ([Vec<u8>; 2], [Option<RootId>; 2], Entries);

/// The roots, their identities and the entries of an archive file of `len` bytes; `None`
/// when it is damaged.
fn decode(file: std::fs::File, len: u64) -> Option<Decoded> {
    let body_len = len.checked_sub(CHECKSUM_LEN as u64)?;
    let mut reader = reader(file, body_len);
    let v1 = match reader.take(8)? {
        magic if magic == MAGIC => false,
        magic if magic == MAGIC_V1 => true,
        _ => return None,
    };
    reader.i64()?;
    let roots = [reader.bytes()?.to_vec(), reader.bytes()?.to_vec()];
    let mut ids = [None, None];
    if !v1 {
        for id in &mut ids {
            let text = std::str::from_utf8(reader.bytes()?).ok()?;
            *id = (!text.is_empty()).then(|| RootId(text.to_string()));
        }
    }
    let mut entries = Entries::new();
    let mut path = Vec::new();
    while reader.remaining > 0 {
        let synced = reader.entry(v1, &mut path)?;
        entries.push(&path, synced);
    }
    let hashing = reader.inner.into_inner();
    let mut file = hashing.inner.into_inner();
    let mut checksum = [0; CHECKSUM_LEN];
    file.read_exact(&mut checksum).ok()?;
    if hashing.hasher.finalize().as_bytes() != &checksum {
        return None;
    }
    entries.shrink_to_fit();
    Some((roots, ids, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entries {
        let mut entries = Entries::new();
        let synced = |kind, exec, size, mtime: [i64; 2], hash, target: Option<&[u8]>| Synced {
            kind,
            exec,
            size,
            mtime: mtime.map(|s| Mtime::new(s, 7)),
            hash,
            target: target.map(Into::into),
        };
        entries.push(b"d", synced(Kind::Dir, false, 0, [0, 0], [0; 32], None));
        entries.push(
            b"d/f\xff",
            synced(Kind::File, true, 12, [15_000_000_000, -7], [9; 32], None),
        );
        entries.push(
            b"l",
            synced(Kind::Symlink, false, 0, [1, 2], [0; 32], Some(b"../x")),
        );
        entries
    }

    #[test]
    fn archives_round_trip_and_know_their_roots() {
        let dir = tempfile::tempdir().unwrap();
        let file = archive_file(dir.path(), "p");
        let (l, r) = (Path::new("/l"), Path::new("/r"));
        assert!(matches!(
            load(&file, l, r).unwrap(),
            Loaded::FirstSync { notice: None }
        ));
        let entries = sample();
        let ids = [RootId("fs 1 inode 2".into()), RootId("fs 3 inode 4".into())];
        save(&file, l, r, [&ids[0], &ids[1]], entries.iter()).unwrap();
        assert!(last_synced(&file).is_some());
        match load(&file, l, r).unwrap() {
            Loaded::Found {
                entries: found,
                roots,
            } => {
                assert_eq!(found, entries);
                assert_eq!(roots, ids.map(Some));
            }
            Loaded::FirstSync { .. } => panic!("archive not found"),
        }
        assert!(matches!(
            load(&file, Path::new("/other"), r).unwrap(),
            Loaded::FirstSync { notice: Some(_) }
        ));
    }

    #[test]
    fn journal_records_read_back_and_a_torn_one_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let file = archive_file(dir.path(), "p");
        assert!(load_journal(&file).is_empty());
        let mut journal = Journal::new(&file);
        for (path, synced) in sample().iter() {
            journal.append(path, synced, 1).unwrap();
        }
        drop(journal);
        let loaded = load_journal(&file);
        assert_eq!(loaded.len(), 3);
        assert_eq!(&*loaded[1].path, b"d/f\xff");
        assert_eq!(loaded[1].synced, sample().get(1).unwrap().1.clone());
        assert_eq!(loaded[1].target, 1);
        let journal = journal_file(&file);
        let bytes = std::fs::read(&journal).unwrap();
        std::fs::write(&journal, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(load_journal(&file).len(), 2);
        clear_journal(&file).unwrap();
        assert!(load_journal(&file).is_empty());
    }

    #[test]
    fn a_damaged_archive_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let file = archive_file(dir.path(), "p");
        let (l, r) = (Path::new("/l"), Path::new("/r"));
        let entries = sample();
        let id = RootId(String::new());
        save(&file, l, r, [&id, &id], entries.iter()).unwrap();
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[40] ^= 1;
        std::fs::write(&file, bytes).unwrap();
        let Loaded::FirstSync {
            notice: Some(notice),
        } = load(&file, l, r).unwrap()
        else {
            panic!("damage not noticed");
        };
        assert!(notice.contains("damaged"), "{notice}");
        assert!(!file.exists());
        let moved: Vec<_> = std::fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(moved[0].starts_with("p.archive.damaged-"), "{moved:?}");
    }
}
