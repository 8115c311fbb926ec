//! One run of a pair at a time: an exclusive `flock` on the pair's lock file. The kernel
//! releases it when the process ends however it ends, so there is no stale lock to take
//! over and no window in which two runs can both believe they hold it. The file also holds
//! the runner's pid, only to name it in the message a second run gets.

use super::FolderError;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held while a pair synchronizes; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct PairLock {
    _file: File,
}

/// Where the lock of a pair lives.
pub fn lock_file(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("folders").join(format!("{name}.lock"))
}

impl PairLock {
    /// Takes the lock of pair `name`, or says which process holds it.
    pub fn acquire(data_dir: &Path, name: &str) -> Result<PairLock, FolderError> {
        let path = lock_file(data_dir, name);
        let dir = path.parent().unwrap_or(data_dir);
        std::fs::create_dir_all(dir).map_err(|e| FolderError::io(dir, e))?;
        let io = |e| FolderError::io(&path, e);
        // Never truncated on open: the holder's pid stays readable for the message.
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor `file` keeps open.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(error));
            }
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(FolderError::Busy {
                name: name.to_string(),
                pid: text.trim().parse().ok(),
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(PairLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_refused_until_the_first_one_ends() {
        let dir = tempfile::tempdir().unwrap();
        let lock = PairLock::acquire(dir.path(), "p").unwrap();
        let error = PairLock::acquire(dir.path(), "p").unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "another sync of p is running (pid {})",
                std::process::id()
            )),
            "{error}"
        );
        drop(lock);
        // A file left by a process that ended (any contents) is no lock.
        std::fs::write(lock_file(dir.path(), "p"), "").unwrap();
        let _lock = PairLock::acquire(dir.path(), "p").unwrap();
    }
}
