//! The local file system as a replica.
//!
//! Every operation starts from a descriptor of the root opened once per run and resolves
//! the folders of its path with `openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)`: a folder
//! replaced by a symlink makes the path absent instead of leading somewhere else, and a
//! drive unmounted lazily mid-run keeps receiving the run's writes (the descriptor still
//! holds it) while the location's identity tells the run to stop. The last component is
//! acted on with `*at` calls that do not follow it either.

use super::filter::{CENTER_DIR, Filter};
use super::names::{NAME_MAX, RelPath, split};
use super::replica::{
    BUFFER_SIZE, Entry, FolderRemoval, Hash, Keeps, Kind, Mtime, Pruned, Replica, Retention,
    RootId, Scan, SourceFile, StagedFile, Unsynced,
};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Temp files are named `.synccenter-tmp-<pid>-<16 hex digits of this run>-<n>`: a user
/// file does not have such a name by accident, and one that merely starts like it is the
/// user's and is synced.
pub const TEMP_PREFIX: &str = ".synccenter-tmp-";
/// Where versions of replaced and deleted entries go, under the center's folder.
const VERSIONS: &[u8] = b"versions";

/// A folder on this computer.
pub struct LocalReplica {
    root_path: PathBuf,
    root: OnceLock<OwnedFd>,
    /// A version was kept since the root was opened (only then can versions have grown).
    kept_versions: AtomicBool,
    /// The random part of this run's temp names.
    token: String,
    temp_counter: AtomicU64,
}

impl LocalReplica {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let mut random = [0u8; 8];
        // SAFETY: the buffer is valid for its length.
        let got = unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
        if got != random.len() as isize {
            // Unique enough for a temp name when the kernel has no entropy call.
            random = (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64))
            .to_le_bytes();
        }
        Self {
            root_path: root.into(),
            root: OnceLock::new(),
            kept_versions: AtomicBool::new(false),
            token: random.iter().map(|b| format!("{b:02x}")).collect(),
            temp_counter: AtomicU64::new(0),
        }
    }

    /// The root as opened for this run (opened now if `open_root` was not called).
    fn root(&self) -> io::Result<BorrowedFd<'_>> {
        if let Some(fd) = self.root.get() {
            return Ok(fd.as_fd());
        }
        let fd = open_path(&self.root_path)?;
        let _ = self.root.set(fd);
        Ok(self.root.get().expect("root just set").as_fd())
    }

    /// The folder holding `rel`, opened without following links, and the name in it;
    /// `None` when a folder on the way is missing or is not a folder (a link included).
    fn parent<'p>(&self, rel: &'p RelPath) -> io::Result<Option<(Dir, &'p [u8])>> {
        let (dir, name) = split(rel);
        match open_beneath(self.root()?, dir) {
            Ok(fd) => Ok(Some((fd, name))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Like `parent`, but a missing folder is an error that names the path.
    fn parent_needed<'p>(&self, rel: &'p RelPath) -> io::Result<(Dir, &'p [u8])> {
        self.parent(rel)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "a folder on its path is missing or was replaced by a link",
            )
        })
    }

    fn temp_name(&self) -> CString {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{TEMP_PREFIX}{}-{}-{n}", std::process::id(), self.token);
        CString::new(name).expect("no NUL in a temp name")
    }

    /// The folder of `rel`'s version under `stamp`, created as needed, with a free name in
    /// it. When a file sits where a folder is needed (an entry and its old parent kept in
    /// one run), the version goes to `stamp-1`, `stamp-2`, … instead.
    fn version_place(&self, rel: &RelPath, stamp: &str) -> io::Result<(Dir, CString)> {
        let versions = self.versions_dir(true)?.expect("created");
        self.kept_versions.store(true, Ordering::Relaxed);
        let (dir, name) = split(rel);
        let mut attempt = 0;
        let folder = loop {
            let stamp_dir = match attempt {
                0 => stamp.to_string(),
                n => format!("{stamp}-{n}"),
            };
            let mut path = stamp_dir.into_bytes();
            if !dir.is_empty() {
                path.push(b'/');
                path.extend_from_slice(dir);
            }
            match make_dirs(versions.as_fd(), &path) {
                Ok(fd) => break fd,
                Err(e) if attempt < 100 && e.raw_os_error() == Some(libc::ENOTDIR) => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let name = free_name(folder.as_fd(), name)?;
        Ok((folder, name))
    }

    /// `.synccenter/versions`, never through a link; created when `create`.
    fn versions_dir(&self, create: bool) -> io::Result<Option<Dir>> {
        let mut path = CENTER_DIR.to_vec();
        path.push(b'/');
        path.extend_from_slice(VERSIONS);
        if create {
            return make_dirs(self.root()?, &path).map(Some);
        }
        match open_beneath(self.root()?, &path) {
            Ok(fd) => Ok(Some(fd)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        dir_fd: BorrowedFd,
        dir: &mut Vec<u8>,
        listing: &mut Listing,
        filter: &Filter,
        scan: &mut Scan,
        checked: &AtomicU64,
        stop: &AtomicBool,
    ) -> io::Result<()> {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"));
        }
        // A folder that cannot be read fails the scan: skipping it would make its contents
        // look deleted, and the deletion would propagate.
        let shown = self.root_path.join(std::ffi::OsStr::from_bytes(dir));
        let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", shown.display()));
        let first = listing.read(dir_fd).map_err(named)?;
        if dir.is_empty() {
            self.move_aside_center_name(dir_fd, listing, first, scan)
                .map_err(named)?;
        }
        listing.sort_from(first);
        let mut counted = 0;
        for k in first..listing.len() {
            let name = listing.name(k);
            if let Some(pid) = temp_pid(name.to_bytes()) {
                if pid != std::process::id() && !is_alive(pid) {
                    // A leftover of a run that was killed: only its own temp names.
                    let _ = unlink_at(dir_fd, name.to_bytes(), false);
                }
                continue;
            }
            let base = dir.len();
            if base > 0 {
                dir.push(b'/');
            }
            dir.extend_from_slice(name.to_bytes());
            let stat = match stat_c_at(dir_fd, name) {
                Ok(stat) => stat,
                // Gone since it was listed: as if it had not been there.
                Err(e) if is_absent(&e) => {
                    dir.truncate(base);
                    continue;
                }
                Err(e) => return Err(named(e)),
            };
            let is_dir = file_type(&stat) == libc::S_IFDIR;
            if !filter.skips(dir, is_dir) {
                match entry_of(&stat, || read_link_at(dir_fd, name.to_bytes())).map_err(named)? {
                    Some(entry) => {
                        scan.tree.push(dir, entry);
                        counted += 1;
                        if is_dir {
                            let child = open_dir_at(dir_fd, name.to_bytes()).map_err(named)?;
                            checked.fetch_add(std::mem::take(&mut counted), Ordering::Relaxed);
                            self.walk(child.as_fd(), dir, listing, filter, scan, checked, stop)?;
                        }
                    }
                    None => scan
                        .unsynced
                        .push((dir.as_slice().into(), Unsynced::SpecialFile)),
                }
            }
            dir.truncate(base);
        }
        checked.fetch_add(counted, Ordering::Relaxed);
        listing.truncate(first);
        Ok(())
    }

    /// The center keeps versions in `.synccenter` at the top of the root. A file, link or
    /// special file of that name is the user's: it is renamed to a free name that is
    /// synced, so it is never in the way and never silently left out.
    fn move_aside_center_name(
        &self,
        root: BorrowedFd,
        listing: &mut Listing,
        first: usize,
        scan: &mut Scan,
    ) -> io::Result<()> {
        let Some(child) =
            (first..listing.len()).find(|&k| listing.name(k).to_bytes() == CENTER_DIR)
        else {
            return Ok(());
        };
        let what = match file_type(&stat_at(root, CENTER_DIR)?) {
            libc::S_IFDIR => return Ok(()),
            libc::S_IFREG => "file",
            libc::S_IFLNK => "link",
            _ => "special file",
        };
        let mut n = 1;
        loop {
            let mut name = format!(".synccenter ({what}").into_bytes();
            if n > 1 {
                name.extend_from_slice(format!(" {n}").as_bytes());
            }
            name.push(b')');
            match rename_at(root, CENTER_DIR, root, &name, true) {
                Ok(()) => {
                    scan.unsynced.push((
                        CENTER_DIR.into(),
                        Unsynced::MovedAside(name.as_slice().into()),
                    ));
                    listing.rename(child, &name);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    fn probe_keeps(&self) -> io::Result<Keeps> {
        let root = self.root()?;
        let mut keeps = Keeps::ALL;
        let temp = self.temp_name();
        let file = create_at(root, &temp)?;
        let probed = (|| {
            let fd = file.as_raw_fd();
            // SAFETY: fchmod and fstat only use the descriptor `file` keeps open.
            unsafe { libc::fchmod(fd, 0o600) };
            keeps.exec_bit = fstat(file.as_fd())?.st_mode & 0o100 == 0;
            unsafe { libc::fchmod(fd, 0o700) };
            keeps.exec_bit &= fstat(file.as_fd())?.st_mode & 0o100 != 0;
            set_times(file.as_fd(), None, Mtime::new(1_000_000_001, 123_456_789))?;
            let stored = stat_at(root, temp.as_bytes())?;
            keeps.mtime_step_ns = match (stored.st_mtime, stored.st_mtime_nsec as u64) {
                (1_000_000_001, 0) => 1_000_000_000,
                // 123_456_700 kept: 100 ns steps (NTFS); 120_000_000: 10 ms (exFAT).
                (1_000_000_001, mut ns) => {
                    let mut step = 1;
                    while ns % 10 == 0 {
                        ns /= 10;
                        step *= 10;
                    }
                    step
                }
                _ => 2_000_000_000,
            };
            let upper = temp.as_bytes().to_ascii_uppercase();
            keeps.case_sensitive = stat_at(root, &upper).is_err();
            let mut colon = temp.as_bytes().to_vec();
            colon.extend_from_slice(b":x");
            match create_at(root, &CString::new(colon.clone()).expect("no NUL")) {
                Ok(_) => {
                    let _ = unlink_at(root, &colon, false);
                }
                Err(_) => keeps.forbidden = b"\"*:<>?\\|",
            }
            let mut link = temp.as_bytes().to_vec();
            link.extend_from_slice(b"-link");
            keeps.symlinks = symlink_at(b"x", root, &link).is_ok();
            let _ = unlink_at(root, &link, false);
            Ok(keeps)
        })();
        drop(file);
        let _ = unlink_at(root, temp.as_bytes(), false);
        probed
    }

    /// Copies a file's bytes into a new file in `folder`, keeping holes.
    fn copy_into(&self, from: &File, folder: BorrowedFd, name: &CStr) -> io::Result<()> {
        let mut out = create_at(folder, name)?;
        let done = (|| {
            let mut reader = from;
            let mut buffer = vec![0; BUFFER_SIZE];
            let mut total = 0u64;
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if is_zero(&buffer[..n]) {
                    out.seek(SeekFrom::Current(n as i64))?;
                } else {
                    out.write_all(&buffer[..n])?;
                }
                total += n as u64;
            }
            out.set_len(total)?;
            let stat = fstat(from.as_fd())?;
            set_times(out.as_fd(), None, mtime_of(&stat))
        })();
        if done.is_err() {
            let _ = unlink_at(folder, name.to_bytes(), false);
        }
        done
    }
}

/// A folder descriptor.
type Dir = OwnedFd;

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a name"))
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: a descriptor the kernel just returned is owned by nobody else.
    check(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a root folder by path (a root that is itself a link is followed, once).
fn open_path(path: &std::path::Path) -> io::Result<OwnedFd> {
    let c = cstring(path.as_os_str().as_bytes())?;
    // SAFETY: a valid NUL-terminated path.
    owned(unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })
}

/// Opens the folder `rel` under `root` without following any link on the way.
fn open_beneath(root: BorrowedFd, rel: &[u8]) -> io::Result<OwnedFd> {
    if rel.is_empty() {
        return root.try_clone_to_owned();
    }
    static NO_OPENAT2: AtomicBool = AtomicBool::new(false);
    let c = cstring(rel)?;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        // SAFETY: open_how is plain integers; all zero is its empty value.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64;
        how.resolve =
            libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: valid pointers for the path and the open_how of the given size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        match owned(fd as libc::c_int) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                NO_OPENAT2.store(true, Ordering::Relaxed);
            }
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {}
            // A link on the way: the path does not lead where it did.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
            other => return other,
        }
    }
    // Without openat2: one component at a time, none followed.
    let mut fd = root.try_clone_to_owned()?;
    for part in rel.split(|&c| c == b'/') {
        if part == b".." {
            return Err(io::Error::from_raw_os_error(libc::EXDEV));
        }
        fd = open_dir_at(fd.as_fd(), part)?;
    }
    Ok(fd)
}

/// Opens the folder `name` in `dir`; a link there is not followed (ENOTDIR).
fn open_dir_at(dir: BorrowedFd, name: &[u8]) -> io::Result<OwnedFd> {
    let c = cstring(name)?;
    // SAFETY: a valid NUL-terminated name relative to an open folder.
    owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })
    .map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            io::Error::from_raw_os_error(libc::ENOTDIR)
        } else {
            e
        }
    })
}

/// Opens the folders of `rel` under `dir`, creating those that are missing.
fn make_dirs(dir: BorrowedFd, rel: &[u8]) -> io::Result<OwnedFd> {
    let mut fd = dir.try_clone_to_owned()?;
    for part in rel.split(|&c| c == b'/').filter(|p| !p.is_empty()) {
        fd = match open_dir_at(fd.as_fd(), part) {
            Ok(next) => next,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                match mkdir_at(fd.as_fd(), part) {
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                    _ => {}
                }
                open_dir_at(fd.as_fd(), part)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(fd)
}

fn mkdir_at(dir: BorrowedFd, name: &[u8]) -> io::Result<()> {
    let c = cstring(name)?;
    // SAFETY: a valid name relative to an open folder.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), 0o755) }).map(drop)
}

/// Opens a regular file for reading; anything else (a link, FIFO, device) is refused
/// without blocking.
fn open_file_at(dir: BorrowedFd, name: &[u8]) -> io::Result<(File, libc::stat)> {
    let c = cstring(name)?;
    // SAFETY: a valid name relative to an open folder.
    let fd = owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    })?;
    let stat = fstat(fd.as_fd())?;
    if file_type(&stat) != libc::S_IFREG {
        return Err(not_regular());
    }
    Ok((File::from(fd), stat))
}

fn not_regular() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "not a regular file (a FIFO, socket or device is never synced)",
    )
}

/// Creates a new file (never replacing anything, never through a link).
fn create_at(dir: BorrowedFd, name: &CStr) -> io::Result<File> {
    // SAFETY: a valid name relative to an open folder.
    owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    })
    .map(File::from)
}

fn stat_at(dir: BorrowedFd, name: &[u8]) -> io::Result<libc::stat> {
    stat_c_at(dir, &cstring(name)?)
}

fn stat_c_at(dir: BorrowedFd, c: &CStr) -> io::Result<libc::stat> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid name and output buffer; the kernel fills the buffer on success.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(unsafe { stat.assume_init() })
}

fn fstat(fd: BorrowedFd) -> io::Result<libc::stat> {
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid output buffer, filled on success.
    check(unsafe { libc::fstat(fd.as_raw_fd(), stat.as_mut_ptr()) })?;
    Ok(unsafe { stat.assume_init() })
}

fn statfs_of(fd: BorrowedFd) -> io::Result<libc::statfs> {
    let mut out = MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: a valid output buffer, filled on success.
    check(unsafe { libc::fstatfs(fd.as_raw_fd(), out.as_mut_ptr()) })?;
    Ok(unsafe { out.assume_init() })
}

fn read_link_at(dir: BorrowedFd, name: &[u8]) -> io::Result<Box<[u8]>> {
    let c = cstring(name)?;
    let mut buffer = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: a valid name and a buffer of the given length.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buffer.truncate(n as usize);
    Ok(buffer.into_boxed_slice())
}

fn symlink_at(target: &[u8], dir: BorrowedFd, name: &[u8]) -> io::Result<()> {
    let (t, c) = (cstring(target)?, cstring(name)?);
    // SAFETY: valid NUL-terminated strings.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) }).map(drop)
}

fn unlink_at(dir: BorrowedFd, name: &[u8], folder: bool) -> io::Result<()> {
    let c = cstring(name)?;
    let flags = if folder { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: a valid name relative to an open folder.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), flags) }).map(drop)
}

/// Renames `from` in `from_dir` to `to` in `to_dir`; with `no_replace`, never over an
/// existing entry.
fn rename_at(
    from_dir: BorrowedFd,
    from: &[u8],
    to_dir: BorrowedFd,
    to: &[u8],
    no_replace: bool,
) -> io::Result<()> {
    let (f, t) = (cstring(from)?, cstring(to)?);
    let flags = if no_replace {
        libc::RENAME_NOREPLACE
    } else {
        0
    };
    // SAFETY: valid names relative to open folders.
    let result = check(unsafe {
        libc::renameat2(
            from_dir.as_raw_fd(),
            f.as_ptr(),
            to_dir.as_raw_fd(),
            t.as_ptr(),
            flags,
        )
    });
    match result {
        // File systems without RENAME_NOREPLACE (FUSE, some network ones): check, then
        // rename (the small window is the same as any rename's).
        Err(e) if no_replace && e.raw_os_error() == Some(libc::EINVAL) => {
            if stat_at(to_dir, to).is_ok() {
                return Err(io::Error::from_raw_os_error(libc::EEXIST));
            }
            rename_at(from_dir, from, to_dir, to, false)
        }
        other => other.map(drop),
    }
}

fn set_times(fd: BorrowedFd, name: Option<&[u8]>, mtime: Mtime) -> io::Result<()> {
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: mtime.secs as libc::time_t,
            tv_nsec: mtime.nanos as libc::c_long,
        },
    ];
    // SAFETY: valid times array and names; futimens and utimensat only read them.
    check(match name {
        None => unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) },
        Some(name) => {
            let c = cstring(name)?;
            unsafe {
                libc::utimensat(
                    fd.as_raw_fd(),
                    c.as_ptr(),
                    times.as_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            }
        }
    })
    .map(drop)
}

/// The names of the folders a scan is in, each folder's after its parent's, in one buffer:
/// reading a folder allocates nothing per entry, and each name is ready (NUL-terminated)
/// for the `*at` calls.
#[derive(Default)]
struct Listing {
    /// The names, each followed by a NUL.
    bytes: Vec<u8>,
    /// Where each name starts in `bytes` and its length without the NUL.
    names: Vec<(usize, usize)>,
    /// What `getdents64` fills, kept for the next folder.
    dirents: Vec<u8>,
}

impl Listing {
    /// Adds the names in `dir` (not `.` and `..`) with one `getdents64` per buffer full;
    /// returns the number of the first.
    fn read(&mut self, dir: BorrowedFd) -> io::Result<usize> {
        let first = self.names.len();
        // Read from the start even if this descriptor was read before (the root).
        // SAFETY: lseek on an open descriptor.
        check(unsafe { libc::lseek(dir.as_raw_fd(), 0, libc::SEEK_SET) } as libc::c_int)?;
        let mut buffer = std::mem::take(&mut self.dirents);
        buffer.resize(32 * 1024, 0);
        let read = loop {
            // SAFETY: the kernel writes at most `buffer.len()` bytes of dirents.
            let got = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    dir.as_raw_fd(),
                    buffer.as_mut_ptr(),
                    buffer.len(),
                )
            };
            if got <= 0 {
                break if got == 0 {
                    Ok(first)
                } else {
                    Err(io::Error::last_os_error())
                };
            }
            let mut at = 0;
            while at < got as usize {
                // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8,
                // then the NUL-terminated name.
                let reclen = u16::from_ne_bytes([buffer[at + 16], buffer[at + 17]]) as usize;
                let record = &buffer[at + 19..at + reclen];
                let len = record.iter().position(|&c| c == 0).unwrap_or(record.len());
                let name = &record[..len];
                if name != b"." && name != b".." {
                    self.push(name);
                }
                at += reclen;
            }
        };
        self.dirents = buffer;
        if read.is_err() {
            self.truncate(first);
        }
        read
    }

    fn push(&mut self, name: &[u8]) {
        self.names.push((self.bytes.len(), name.len()));
        self.bytes.extend_from_slice(name);
        self.bytes.push(0);
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    fn name(&self, k: usize) -> &CStr {
        let (start, len) = self.names[k];
        CStr::from_bytes_with_nul(&self.bytes[start..=start + len]).expect("one NUL, at the end")
    }

    /// Gives name `k` a new name (the old bytes stay until the folder is done).
    fn rename(&mut self, k: usize, name: &[u8]) {
        self.push(name);
        self.names.swap_remove(k);
    }

    /// Sorts the names from `first` on.
    fn sort_from(&mut self, first: usize) {
        let bytes = &self.bytes;
        self.names[first..]
            .sort_unstable_by(|a, b| bytes[a.0..a.0 + a.1].cmp(&bytes[b.0..b.0 + b.1]));
    }

    /// Forgets the names from `first` on.
    fn truncate(&mut self, first: usize) {
        if let Some(start) = self.names[first..].iter().map(|n| n.0).min() {
            self.bytes.truncate(start);
        }
        self.names.truncate(first);
    }
}

/// The names in a folder (not `.` and `..`).
fn list_dir(dir: BorrowedFd) -> io::Result<Vec<Vec<u8>>> {
    let fd = dir.try_clone_to_owned()?;
    // Read from the start even if this descriptor was read before.
    // SAFETY: lseek on a descriptor we own.
    unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_SET) };
    // SAFETY: fdopendir takes over the descriptor; closedir below closes it.
    let stream = unsafe { libc::fdopendir(fd.as_raw_fd()) };
    if stream.is_null() {
        return Err(io::Error::last_os_error());
    }
    std::mem::forget(fd);
    let mut names = Vec::new();
    let result = loop {
        // SAFETY: errno is thread-local; readdir64 returns NULL at the end or on error.
        unsafe { *libc::__errno_location() = 0 };
        let entry = unsafe { libc::readdir64(stream) };
        if entry.is_null() {
            let errno = io::Error::last_os_error();
            break if errno.raw_os_error() == Some(0) {
                Ok(())
            } else {
                Err(errno)
            };
        }
        // SAFETY: d_name is NUL-terminated inside the entry readdir64 returned.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    };
    // SAFETY: the stream from fdopendir, closed once.
    unsafe { libc::closedir(stream) };
    result.map(|()| names)
}

fn file_type(stat: &libc::stat) -> libc::mode_t {
    stat.st_mode & libc::S_IFMT
}

fn mtime_of(stat: &libc::stat) -> Mtime {
    Mtime::new(
        stat.st_mtime,
        stat.st_mtime_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The entry for what `stat` describes; `None` for special files (FIFOs, sockets,
/// devices). `target` is read only for a symlink.
fn entry_of(
    stat: &libc::stat,
    target: impl FnOnce() -> io::Result<Box<[u8]>>,
) -> io::Result<Option<Entry>> {
    let mtime = mtime_of(stat);
    Ok(match file_type(stat) {
        libc::S_IFDIR => Some(Entry::dir()),
        libc::S_IFLNK => Some(Entry {
            kind: Kind::Symlink,
            exec: false,
            size: 0,
            mtime,
            hash: None,
            target: Some(target()?),
        }),
        libc::S_IFREG => Some(Entry {
            kind: Kind::File,
            exec: stat.st_mode & 0o100 != 0,
            size: stat.st_size as u64,
            mtime,
            hash: None,
            target: None,
        }),
        _ => None,
    })
}

fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

fn is_zero(bytes: &[u8]) -> bool {
    // SAFETY: any bytes are valid u128s; the unaligned ends are checked bytewise.
    let (head, middle, tail) = unsafe { bytes.align_to::<u128>() };
    head.iter().all(|&b| b == 0) && middle.iter().all(|&w| w == 0) && tail.iter().all(|&b| b == 0)
}

/// The pid in one of the center's exact temp names, `None` for any other name.
pub(super) fn temp_pid(name: &[u8]) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX.as_bytes())?;
    let mut parts = rest.split(|&c| c == b'-');
    let (pid, token, n) = (parts.next()?, parts.next()?, parts.next()?);
    let rest_ok = parts
        .next()
        .is_none_or(|suffix| suffix == b"link" && parts.next().is_none());
    let digits = |s: &[u8]| !s.is_empty() && s.len() <= 20 && s.iter().all(u8::is_ascii_digit);
    let hex = token.len() == 16
        && token
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    (rest_ok && digits(pid) && hex && digits(n))
        .then(|| std::str::from_utf8(pid).ok()?.parse().ok())
        .flatten()
}

/// Whether a process with this pid exists.
pub(super) fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// `name` if nothing in `dir` has it, else `name.1`, `name.2`, …, shortened to fit the
/// file system's limit on name length.
fn free_name(dir: BorrowedFd, name: &[u8]) -> io::Result<CString> {
    for n in 0..10_000u32 {
        let suffix = if n == 0 {
            Vec::new()
        } else {
            format!(".{n}").into_bytes()
        };
        let keep = name.len().min(NAME_MAX - suffix.len());
        let mut candidate = name[..keep].to_vec();
        candidate.extend_from_slice(&suffix);
        match stat_at(dir, &candidate) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return cstring(&candidate),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    Err(io::Error::other("no free name for a version"))
}

/// Removes `name` in `dir` and everything in it, never following a link.
fn remove_tree_at(dir: BorrowedFd, name: &[u8]) -> io::Result<()> {
    match unlink_at(dir, name, false) {
        Ok(()) => return Ok(()),
        Err(e)
            if e.raw_os_error() != Some(libc::EISDIR) && e.raw_os_error() != Some(libc::EPERM) =>
        {
            return Err(e);
        }
        Err(_) => {}
    }
    let child = open_dir_at(dir, name)?;
    for inner in list_dir(child.as_fd())? {
        remove_tree_at(child.as_fd(), &inner)?;
    }
    unlink_at(dir, name, true)
}

/// Bytes a tree takes on disk (holes are free), never following a link.
fn disk_usage_at(dir: BorrowedFd, name: &[u8]) -> io::Result<u64> {
    let stat = stat_at(dir, name)?;
    let mut total = stat.st_blocks as u64 * 512;
    if file_type(&stat) == libc::S_IFDIR {
        let child = open_dir_at(dir, name)?;
        for inner in list_dir(child.as_fd())? {
            total += disk_usage_at(child.as_fd(), &inner)?;
        }
    }
    Ok(total)
}

/// File systems that keep everything a Unix file system keeps (statfs magic numbers).
const FULL_FEATURED: &[i64] = &[
    0xEF53,      // ext2/3/4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0x0102_1994, // tmpfs
    0x2FC1_2FC1, // zfs
    0xF2F5_2010, // f2fs
    0x794C_7630, // overlayfs
    0x5265_4973, // reiserfs
    0x3153_464A, // jfs
    0xCA45_1A4E, // bcachefs
    0x8584_58F6, // ramfs
];

impl Replica for LocalReplica {
    fn location(&self) -> String {
        self.root_path.display().to_string()
    }

    fn local_folder(&self) -> Option<&Path> {
        Some(&self.root_path)
    }

    fn open_root(&self) -> io::Result<RootId> {
        let root = self.root()?;
        root_id(root)
    }

    fn current_root(&self) -> io::Result<RootId> {
        root_id(open_path(&self.root_path)?.as_fd())
    }

    fn keeps(&self) -> io::Result<Keeps> {
        let fs = statfs_of(self.root()?)?;
        if FULL_FEATURED.contains(&(fs.f_type as i64)) {
            return Ok(Keeps::ALL);
        }
        // Not known to be a Unix file system (FAT, exFAT, NTFS, SMB, FUSE): find out.
        self.probe_keeps().or(Ok(Keeps::ALL))
    }

    fn scan(&self, filter: &Filter, checked: &AtomicU64, stop: &AtomicBool) -> io::Result<Scan> {
        let mut scan = Scan::default();
        let root = self.root()?;
        let mut listing = Listing::default();
        self.walk(
            root,
            &mut Vec::new(),
            &mut listing,
            filter,
            &mut scan,
            checked,
            stop,
        )?;
        // Up to half the capacity is spare after growing; a large shrink is a cheap mremap.
        scan.tree.shrink_to_fit();
        Ok(scan)
    }

    fn stat(&self, path: &RelPath) -> io::Result<Option<Entry>> {
        let Some((dir, name)) = self.parent(path)? else {
            return Ok(None);
        };
        entry_at(dir.as_fd(), name)
    }

    fn hash(&self, path: &RelPath) -> io::Result<Hash> {
        let (dir, name) = self.parent_needed(path)?;
        let (file, _) = open_file_at(dir.as_fd(), name)?;
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(file)?;
        Ok(*hasher.finalize().as_bytes())
    }

    fn open(&self, path: &RelPath) -> io::Result<Box<dyn SourceFile + '_>> {
        let (dir, name) = self.parent_needed(path)?;
        let (file, stat) = open_file_at(dir.as_fd(), name)?;
        let entry = entry_of(&stat, || Ok(Box::default()))?.ok_or_else(not_regular)?;
        Ok(Box::new(LocalSource {
            file,
            entry,
            name: name.to_vec(),
            dir,
        }))
    }

    fn stage(&self, path: &RelPath) -> io::Result<Box<dyn StagedFile + '_>> {
        let (dir, name) = self.parent_needed(path)?;
        let temp = self.temp_name();
        let file = create_at(dir.as_fd(), &temp)?;
        Ok(Box::new(LocalStaged {
            file,
            name: cstring(name)?,
            dir,
            temp,
            hole_at_end: false,
            committed: false,
        }))
    }

    fn make_dir(&self, path: &RelPath) -> io::Result<()> {
        let (dir, name) = self.parent_needed(path)?;
        match mkdir_at(dir.as_fd(), name) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if file_type(&stat_at(dir.as_fd(), name)?) == libc::S_IFDIR {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            other => other,
        }
    }

    fn make_symlink(&self, path: &RelPath, target: &[u8], mtime: Mtime) -> io::Result<()> {
        let (dir, name) = self.parent_needed(path)?;
        let temp = self.temp_name();
        symlink_at(target, dir.as_fd(), temp.as_bytes())?;
        let done = set_times(dir.as_fd(), Some(temp.as_bytes()), mtime)
            .and_then(|()| rename_at(dir.as_fd(), temp.as_bytes(), dir.as_fd(), name, false));
        if done.is_err() {
            let _ = unlink_at(dir.as_fd(), temp.as_bytes(), false);
        }
        done
    }

    fn keep_version(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        let (dir, name) = self.parent_needed(path)?;
        let (folder, version) = self.version_place(path, stamp)?;
        let c = cstring(name)?;
        // SAFETY: valid names relative to open folders; flags 0 link a link itself.
        let linked = check(unsafe {
            libc::linkat(
                dir.as_raw_fd(),
                c.as_ptr(),
                folder.as_raw_fd(),
                version.as_ptr(),
                0,
            )
        });
        if linked.is_ok() {
            return Ok(());
        }
        // No hard links here (FAT, exFAT, some shares): a copy, holes kept.
        let stat = stat_at(dir.as_fd(), name)?;
        if file_type(&stat) == libc::S_IFLNK {
            let target = read_link_at(dir.as_fd(), name)?;
            return symlink_at(&target, folder.as_fd(), version.as_bytes());
        }
        let (file, _) = open_file_at(dir.as_fd(), name)?;
        self.copy_into(&file, folder.as_fd(), &version)
    }

    fn retire(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        let (dir, name) = self.parent_needed(path)?;
        let (folder, version) = self.version_place(path, stamp)?;
        rename_at(dir.as_fd(), name, folder.as_fd(), version.as_bytes(), true)
    }

    fn remove_folder(
        &self,
        path: &RelPath,
        filter: &Filter,
        stamp: &str,
    ) -> io::Result<FolderRemoval> {
        let Some((dir, name)) = self.parent(path)? else {
            return Ok(FolderRemoval::Removed);
        };
        match unlink_at(dir.as_fd(), name, true) {
            Ok(()) => return Ok(FolderRemoval::Removed),
            Err(e) if is_absent(&e) => return Ok(FolderRemoval::Removed),
            Err(e)
                if e.raw_os_error() == Some(libc::ENOTEMPTY)
                    || e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
        // Something is left: only what is never synced may go (into the versions).
        let folder = open_dir_at(dir.as_fd(), name)?;
        let mut never_synced = Vec::new();
        for inner in list_dir(folder.as_fd())? {
            let mut rel = path.to_vec();
            rel.push(b'/');
            rel.extend_from_slice(&inner);
            if temp_pid(&inner).is_some_and(|pid| pid == std::process::id() || !is_alive(pid)) {
                let _ = unlink_at(folder.as_fd(), &inner, false);
                continue;
            }
            let stat = match stat_at(folder.as_fd(), &inner) {
                Ok(stat) => stat,
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(e),
            };
            let kind = file_type(&stat);
            let special = !matches!(kind, libc::S_IFDIR | libc::S_IFREG | libc::S_IFLNK);
            if special || filter.skips(&rel, kind == libc::S_IFDIR) {
                never_synced.push(rel);
            } else {
                return Ok(FolderRemoval::HoldsNew);
            }
        }
        for rel in never_synced {
            self.retire(&rel, stamp)?;
        }
        match unlink_at(dir.as_fd(), name, true) {
            Ok(()) => Ok(FolderRemoval::Removed),
            Err(e) if is_absent(&e) => Ok(FolderRemoval::Removed),
            // Saved into the folder just now: it stays.
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(FolderRemoval::HoldsNew),
            Err(e) => Err(e),
        }
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> io::Result<()> {
        let (from_dir, from_name) = self.parent_needed(from)?;
        let (to_dir, to_name) = self.parent_needed(to)?;
        rename_at(from_dir.as_fd(), from_name, to_dir.as_fd(), to_name, true)
    }

    fn flush(&self) -> io::Result<()> {
        // SAFETY: syncfs only reads the descriptor, which the replica keeps open.
        check(unsafe { libc::syncfs(self.root()?.as_raw_fd()) }).map(drop)
    }

    fn prune_versions(&self, retention: &Retention, now_secs: i64) -> io::Result<Pruned> {
        let Some(versions) = self.versions_dir(false)? else {
            return Ok(Pruned::default());
        };
        let fs = statfs_of(versions.as_fd())?;
        let disk = fs.f_blocks as u64 * fs.f_frsize as u64;
        let cap = disk / 100 * u64::from(retention.max_share_percent);
        // Versions only grow when this run kept some: otherwise the last run's pruning
        // still holds, and only their age needs looking at (no walk through them all).
        let sizes_needed = self.kept_versions.swap(false, Ordering::Relaxed);
        let mut stamps: Vec<(i64, Vec<u8>, u64)> = Vec::new();
        for name in list_dir(versions.as_fd())? {
            let stat = stat_at(versions.as_fd(), &name)?;
            if file_type(&stat) != libc::S_IFDIR {
                continue;
            }
            let made = stamp_time(&name).unwrap_or(stat.st_mtime);
            let size = if sizes_needed {
                disk_usage_at(versions.as_fd(), &name)?
            } else {
                0
            };
            stamps.push((made, name, size));
        }
        stamps.sort();
        let oldest_kept = now_secs - i64::from(retention.max_age_days) * 86_400;
        let mut total: u64 = stamps.iter().map(|s| s.2).sum();
        let mut pruned = Pruned::default();
        for (made, name, size) in stamps {
            if made >= oldest_kept && total <= cap {
                break;
            }
            remove_tree_at(versions.as_fd(), &name)?;
            total -= size;
            pruned.stamps += 1;
            pruned.bytes += size;
        }
        Ok(pruned)
    }
}

/// When a versions folder named `YYYY-MM-DD_HHMMSS[-N]` (local time) was made.
pub(super) fn stamp_time(name: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(name.get(..17)?).ok()?;
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d_%H%M%S").ok()?;
    naive
        .and_local_timezone(chrono::Local)
        .earliest()
        .map(|t| t.timestamp())
}

/// The identity of the root `fd` is: the file system's id (stable when the same drive is
/// mounted again; its type where the kernel gives no id) and the folder's inode.
fn root_id(fd: BorrowedFd) -> io::Result<RootId> {
    let stat = fstat(fd)?;
    if file_type(&stat) != libc::S_IFDIR {
        return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a folder"));
    }
    let fs = statfs_of(fd)?;
    // SAFETY: fsid_t is two plain integers.
    let fsid: [i32; 2] = unsafe { std::mem::transmute(fs.f_fsid) };
    let volume = if fsid == [0, 0] {
        format!("type {:x}", fs.f_type)
    } else {
        format!("fs {:08x}{:08x}", fsid[0] as u32, fsid[1] as u32)
    };
    Ok(RootId(format!("{volume} inode {}", stat.st_ino)))
}

struct LocalSource {
    file: File,
    entry: Entry,
    /// Its folder, as opened, and its name there.
    dir: Dir,
    name: Vec<u8>,
}

/// The entry at `name` in `dir` now; `None` when nothing is there.
fn entry_at(dir: BorrowedFd, name: &[u8]) -> io::Result<Option<Entry>> {
    match stat_at(dir, name) {
        Ok(stat) => match entry_of(&stat, || read_link_at(dir, name))? {
            Some(entry) => Ok(Some(entry)),
            None => Err(not_regular()),
        },
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Read for LocalSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl SourceFile for LocalSource {
    fn entry(&self) -> &Entry {
        &self.entry
    }

    fn at_path_now(&self) -> io::Result<Option<Entry>> {
        entry_at(self.dir.as_fd(), &self.name)
    }
}

struct LocalStaged {
    file: File,
    dir: Dir,
    temp: CString,
    name: CString,
    /// The last bytes were a hole: the length must be set before the commit.
    hole_at_end: bool,
    committed: bool,
}

impl Write for LocalStaged {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hole_at_end = false;
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl StagedFile for LocalStaged {
    fn at_path_now(&self) -> io::Result<Option<Entry>> {
        entry_at(self.dir.as_fd(), self.name.as_bytes())
    }

    fn skip_zeros(&mut self, len: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Current(len as i64))?;
        self.hole_at_end = true;
        Ok(())
    }

    fn commit(mut self: Box<Self>, mtime: Mtime, exec: bool) -> io::Result<Entry> {
        if self.hole_at_end {
            let end = self.file.stream_position()?;
            self.file.set_len(end)?;
        }
        let mode = if exec { 0o755 } else { 0o644 };
        // SAFETY: fchmod on the descriptor the staged file keeps open.
        check(unsafe { libc::fchmod(self.file.as_raw_fd(), mode) })?;
        set_times(self.file.as_fd(), None, mtime)?;
        let stored = fstat(self.file.as_fd())?;
        rename_at(
            self.dir.as_fd(),
            self.temp.as_bytes(),
            self.dir.as_fd(),
            self.name.as_bytes(),
            false,
        )?;
        self.committed = true;
        entry_of(&stored, || Ok(Box::default()))?.ok_or_else(not_regular)
    }
}

impl Drop for LocalStaged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = unlink_at(self.dir.as_fd(), self.temp.as_bytes(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_temp_names_are_the_centers() {
        assert_eq!(
            temp_pid(b".synccenter-tmp-123-0123456789abcdef-7"),
            Some(123)
        );
        assert_eq!(
            temp_pid(b".synccenter-tmp-9-0123456789abcdef-0-link"),
            Some(9)
        );
        for stranger in [
            &b".synccenter-tmp-important"[..],
            b".synccenter-tmp-123-7",
            b".synccenter-tmp-123-0123456789ABCDEF-7",
            b".synccenter-tmp-123-0123456789abcdef-7.txt",
            b".synccenter-tmp--0123456789abcdef-7",
            b"x.synccenter-tmp-1-0123456789abcdef-7",
        ] {
            assert_eq!(
                temp_pid(stranger),
                None,
                "{}",
                String::from_utf8_lossy(stranger)
            );
        }
    }

    #[test]
    fn zero_blocks_are_recognized() {
        assert!(is_zero(&[0; 1000]));
        let mut bytes = vec![0; 1000];
        bytes[999] = 1;
        assert!(!is_zero(&bytes));
        bytes[999] = 0;
        bytes[3] = 1;
        assert!(!is_zero(&bytes));
    }

    #[test]
    fn version_names_fit_the_name_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fd = open_path(dir.path()).unwrap();
        let long = vec![b'x'; NAME_MAX];
        std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(&long)), "").unwrap();
        let free = free_name(fd.as_fd(), &long).unwrap();
        assert_eq!(free.as_bytes().len(), NAME_MAX);
        assert!(free.as_bytes().ends_with(b".1"));
    }
}
