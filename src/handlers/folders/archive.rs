//! The archive: the state of every path at the last sync of a pair, as both sides agreed on
//! it. A compact binary file in the center's data folder, written atomically and only with
//! what was applied, so a crash at any moment leaves an archive the next run can trust.

use super::FolderError;
use super::names::RelPath;
use super::replica::{Hash, Kind};
use crate::core::store::write_atomically;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MAGIC: &[u8; 8] = b"SCFARCH1";
const CHECKSUM_LEN: usize = 32;

/// A path as it was when both sides last agreed on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    pub kind: Kind,
    pub exec: bool,
    pub size: u64,
    /// The mtime each side had (left, right): each side is compared with its own clock.
    pub mtime_ns: [i64; 2],
    /// Files only.
    pub hash: Hash,
    /// Symlinks only.
    pub target: Option<Box<[u8]>>,
}

/// Entries in [`super::names::cmp_paths`] order.
pub type Entries = Vec<(Box<RelPath>, Synced)>;

/// Where the archive of a pair lives.
pub fn archive_file(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("folders").join(format!("{name}.archive"))
}

/// What loading found.
pub enum Loaded {
    /// The archive of these roots (empty at the first sync).
    Found(Entries),
    /// No usable archive; `notice` says why when the user should know.
    FirstSync { notice: Option<String> },
}

/// Loads the archive for these roots. A damaged file is moved aside as
/// `NAME.damaged-TIMESTAMP` and the run continues as a first sync.
pub fn load(file: &Path, left: &Path, right: &Path) -> Result<Loaded, FolderError> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Loaded::FirstSync { notice: None });
        }
        Err(e) => return Err(FolderError::io(file, e)),
    };
    match decode(&bytes) {
        Some((_, roots, entries))
            if roots == [left.as_os_str(), right.as_os_str()].map(|r| r.as_bytes()) =>
        {
            Ok(Loaded::Found(entries))
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
    if &header[..8] != MAGIC {
        return None;
    }
    let ms = i64::from_le_bytes(header[8..16].try_into().ok()?);
    Some(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// Encodes an archive for these roots, to be written by [`write`].
pub fn encode<'a>(
    left: &Path,
    right: &Path,
    entries: impl Iterator<Item = (&'a RelPath, &'a Synced)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 16);
    out.extend_from_slice(MAGIC);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    out.extend_from_slice(&now.to_le_bytes());
    put_bytes(&mut out, left.as_os_str().as_bytes());
    put_bytes(&mut out, right.as_os_str().as_bytes());
    for (path, synced) in entries {
        put_bytes(&mut out, path);
        out.push(match synced.kind {
            Kind::File => 0,
            Kind::Dir => 1,
            Kind::Symlink => 2,
        });
        out.push(u8::from(synced.exec));
        out.extend_from_slice(&synced.size.to_le_bytes());
        out.extend_from_slice(&synced.mtime_ns[0].to_le_bytes());
        out.extend_from_slice(&synced.mtime_ns[1].to_le_bytes());
        match synced.kind {
            Kind::File => out.extend_from_slice(&synced.hash),
            Kind::Symlink => put_bytes(&mut out, synced.target.as_deref().unwrap_or_default()),
            Kind::Dir => {}
        }
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

/// Writes an encoded archive atomically (fsynced).
pub fn write(file: &Path, encoded: &[u8]) -> Result<(), FolderError> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| FolderError::io(dir, e))?;
    }
    write_atomically(file, encoded).map_err(|e| FolderError::io(file, e))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        self.take(len)
    }
}

type Decoded<'a> = (i64, [&'a [u8]; 2], Entries);

fn decode(bytes: &[u8]) -> Option<Decoded<'_>> {
    let body_len = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != checksum {
        return None;
    }
    let mut reader = Reader { bytes: body };
    if reader.take(8)? != MAGIC {
        return None;
    }
    let saved_at = reader.i64()?;
    let roots = [reader.bytes()?, reader.bytes()?];
    let mut entries = Entries::new();
    while !reader.bytes.is_empty() {
        let path: Box<RelPath> = reader.bytes()?.into();
        let kind = match reader.u8()? {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            _ => return None,
        };
        let exec = reader.u8()? != 0;
        let size = reader.u64()?;
        let mtime_ns = [reader.i64()?, reader.i64()?];
        let mut hash = [0; 32];
        let mut target = None;
        match kind {
            Kind::File => hash.copy_from_slice(reader.take(32)?),
            Kind::Symlink => target = Some(reader.bytes()?.into()),
            Kind::Dir => {}
        }
        entries.push((
            path,
            Synced {
                kind,
                exec,
                size,
                mtime_ns,
                hash,
                target,
            },
        ));
    }
    Some((saved_at, roots, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entries {
        vec![
            (
                b"d".to_vec().into(),
                Synced {
                    kind: Kind::Dir,
                    exec: false,
                    size: 0,
                    mtime_ns: [0, 0],
                    hash: [0; 32],
                    target: None,
                },
            ),
            (
                b"d/f\xff".to_vec().into(),
                Synced {
                    kind: Kind::File,
                    exec: true,
                    size: 12,
                    mtime_ns: [5, -7],
                    hash: [9; 32],
                    target: None,
                },
            ),
            (
                b"l".to_vec().into(),
                Synced {
                    kind: Kind::Symlink,
                    exec: false,
                    size: 0,
                    mtime_ns: [1, 2],
                    hash: [0; 32],
                    target: Some(b"../x".to_vec().into()),
                },
            ),
        ]
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
        write(&file, &encode(l, r, entries.iter().map(|(p, s)| (&**p, s)))).unwrap();
        assert!(last_synced(&file).is_some());
        match load(&file, l, r).unwrap() {
            Loaded::Found(found) => assert_eq!(found, entries),
            Loaded::FirstSync { .. } => panic!("archive not found"),
        }
        assert!(matches!(
            load(&file, Path::new("/other"), r).unwrap(),
            Loaded::FirstSync { notice: Some(_) }
        ));
    }

    #[test]
    fn a_damaged_archive_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let file = archive_file(dir.path(), "p");
        let (l, r) = (Path::new("/l"), Path::new("/r"));
        let entries = sample();
        write(&file, &encode(l, r, entries.iter().map(|(p, s)| (&**p, s)))).unwrap();
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
