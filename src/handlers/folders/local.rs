//! The local file system as a replica.

use super::names::{RelPath, under};
use super::replica::{Entry, Hash, Kind, Replica, StagedFile, Tree};
use super::scan::Filter;
use filetime::FileTime;
use std::ffi::{CString, OsStr};
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes read or written at a time.
pub const BUFFER_SIZE: usize = 256 * 1024;
/// Temp files start with this, so scans skip them and the next run removes leftovers.
pub const TEMP_PREFIX: &str = ".synccenter-tmp-";
/// Where versions of replaced and deleted entries go, under the root.
pub const VERSIONS_DIR: &str = ".synccenter/versions";

/// A folder on this computer.
pub struct LocalReplica {
    root: PathBuf,
    temp_counter: AtomicU64,
}

impl LocalReplica {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            temp_counter: AtomicU64::new(0),
        }
    }

    fn path(&self, rel: &RelPath) -> PathBuf {
        under(&self.root, rel)
    }

    fn temp_path(&self, rel: &RelPath) -> PathBuf {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{TEMP_PREFIX}{}-{n}", std::process::id());
        let mut path = self.path(rel);
        path.set_file_name(name);
        path
    }

    /// A free place for `rel` under the versions of `stamp`. When a file already sits where
    /// a folder is needed (an entry and its old parent kept in one run), the versions go to
    /// `stamp-1`, `stamp-2`, … instead.
    fn version_path(&self, rel: &RelPath, stamp: &str) -> io::Result<PathBuf> {
        let versions = self.root.join(VERSIONS_DIR);
        let mut attempt = 0;
        let base = loop {
            let dir = match attempt {
                0 => versions.join(stamp),
                n => versions.join(format!("{stamp}-{n}")),
            };
            let base = under(&dir, rel);
            match base.parent().map(fs::create_dir_all) {
                Some(Err(e)) if attempt < 100 => {
                    tracing::debug!("{}: {e}; trying the next versions folder", dir.display());
                    attempt += 1;
                }
                Some(Err(e)) => return Err(e),
                _ => break base,
            }
        };
        let mut candidate = base.clone();
        let mut n = 1;
        while fs::symlink_metadata(&candidate).is_ok() {
            let mut name = base.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".{n}"));
            candidate.set_file_name(name);
            n += 1;
        }
        Ok(candidate)
    }

    fn walk(
        &self,
        dir: &mut Vec<u8>,
        filter: &Filter,
        tree: &mut Tree,
        folders: &AtomicU64,
        stop: &AtomicBool,
    ) -> io::Result<()> {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        folders.fetch_add(1, Ordering::Relaxed);
        let full = self.path(dir);
        let mut children: Vec<(Vec<u8>, fs::DirEntry)> = Vec::new();
        // A folder that cannot be read fails the scan: skipping it would make its contents
        // look deleted, and the deletion would propagate.
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", full.display()));
        for child in fs::read_dir(&full).map_err(named)? {
            let child = child.map_err(named)?;
            let name = child.file_name().as_bytes().to_vec();
            if name.starts_with(TEMP_PREFIX.as_bytes()) {
                // A leftover of a run that was killed; this run holds the pair's lock.
                let _ = fs::remove_file(child.path());
                continue;
            }
            children.push((name, child));
        }
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, child) in children {
            let base = dir.len();
            if base > 0 {
                dir.push(b'/');
            }
            dir.extend_from_slice(&name);
            let metadata = child.metadata().map_err(named)?;
            let is_dir = metadata.is_dir();
            if !filter.skips(dir, &name, is_dir) {
                let entry = entry_of(&metadata, || child.path())?;
                tree.push(dir, entry);
                if is_dir {
                    self.walk(dir, filter, tree, folders, stop)?;
                }
            }
            dir.truncate(base);
        }
        Ok(())
    }
}

/// The entry for what `metadata` describes; `path` is read only for a symlink's target.
fn entry_of(metadata: &Metadata, path: impl FnOnce() -> PathBuf) -> io::Result<Entry> {
    let file_type = metadata.file_type();
    let mtime_ns = metadata.mtime() * 1_000_000_000 + metadata.mtime_nsec();
    Ok(if file_type.is_dir() {
        Entry::dir()
    } else if file_type.is_symlink() {
        let target = fs::read_link(path())?;
        Entry {
            kind: Kind::Symlink,
            exec: false,
            size: 0,
            mtime_ns,
            hash: None,
            target: Some(target.as_os_str().as_bytes().into()),
        }
    } else {
        Entry {
            kind: Kind::File,
            exec: metadata.mode() & 0o100 != 0,
            size: metadata.len(),
            mtime_ns,
            hash: None,
            target: None,
        }
    })
}

fn file_time(ns: i64) -> FileTime {
    FileTime::from_unix_time(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

impl Replica for LocalReplica {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn check_root(&self) -> io::Result<()> {
        let metadata = fs::metadata(&self.root)?;
        if metadata.is_dir() {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"))
        }
    }

    fn scan(&self, filter: &Filter, folders: &AtomicU64, stop: &AtomicBool) -> io::Result<Tree> {
        let mut tree = Tree::new();
        self.walk(&mut Vec::new(), filter, &mut tree, folders, stop)?;
        // Up to half the capacity is spare after growing; a large shrink is a cheap mremap.
        tree.shrink_to_fit();
        Ok(tree)
    }

    fn stat(&self, path: &RelPath) -> io::Result<Option<Entry>> {
        let full = self.path(path);
        match fs::symlink_metadata(&full) {
            Ok(metadata) => entry_of(&metadata, || full.clone()).map(Some),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn hash(&self, path: &RelPath) -> io::Result<Hash> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(File::open(self.path(path))?)?;
        Ok(*hasher.finalize().as_bytes())
    }

    fn open(&self, path: &RelPath) -> io::Result<(Box<dyn Read + '_>, Entry)> {
        let file = File::open(self.path(path))?;
        let metadata = file.metadata()?;
        let entry = entry_of(&metadata, PathBuf::new)?;
        Ok((Box::new(file), entry))
    }

    fn stage(&self, path: &RelPath) -> io::Result<Box<dyn StagedFile + '_>> {
        let temp = self.temp_path(path);
        let file = File::options().write(true).create_new(true).open(&temp)?;
        Ok(Box::new(LocalStaged {
            file,
            temp,
            target: self.path(path),
            committed: false,
        }))
    }

    fn make_dir(&self, path: &RelPath) -> io::Result<()> {
        let full = self.path(path);
        match fs::create_dir(&full) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && full.is_dir() => Ok(()),
            other => other,
        }
    }

    fn make_symlink(&self, path: &RelPath, target: &[u8], mtime_ns: i64) -> io::Result<()> {
        let temp = self.temp_path(path);
        std::os::unix::fs::symlink(OsStr::from_bytes(target), &temp)?;
        let time = file_time(mtime_ns);
        let done = filetime::set_symlink_file_times(&temp, time, time)
            .and_then(|()| fs::rename(&temp, self.path(path)));
        if done.is_err() {
            let _ = fs::remove_file(&temp);
        }
        done
    }

    fn keep_version(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        let from = self.path(path);
        let to = self.version_path(path, stamp)?;
        fs::hard_link(&from, &to).or_else(|_| fs::copy(&from, &to).map(drop))
    }

    fn retire(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        let to = self.version_path(path, stamp)?;
        fs::rename(self.path(path), to)
    }

    fn remove_empty_dir(&self, path: &RelPath) -> io::Result<bool> {
        match fs::remove_dir(self.path(path)) {
            Ok(()) => Ok(true),
            Err(e) if is_absent(&e) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> io::Result<()> {
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
        let (from, to) = (c(&self.path(from))?, c(&self.path(to))?);
        // SAFETY: both are valid NUL-terminated paths.
        let result = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn flush(&self) -> io::Result<()> {
        let root = File::open(&self.root)?;
        // SAFETY: syncfs only reads the descriptor, which `root` keeps open.
        if unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&root)) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

struct LocalStaged {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Write for LocalStaged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl StagedFile for LocalStaged {
    fn commit(mut self: Box<Self>, mtime_ns: i64, exec: bool) -> io::Result<()> {
        let mode = if exec { 0o755 } else { 0o644 };
        self.file
            .set_permissions(fs::Permissions::from_mode(mode))?;
        filetime::set_file_handle_times(&self.file, None, Some(file_time(mtime_ns)))?;
        fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for LocalStaged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
