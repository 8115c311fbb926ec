//! One run of a pair at a time: a lock file holding the runner's pid. A lock whose process
//! is gone (kill(pid, 0) fails with ESRCH) is stale and taken over.

use super::FolderError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Held while a pair synchronizes; removes the lock file when dropped.
#[derive(Debug)]
pub struct PairLock {
    file: PathBuf,
}

/// Where the lock of a pair lives.
pub fn lock_file(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("folders").join(format!("{name}.lock"))
}

impl PairLock {
    /// Takes the lock of pair `name`, or says which process holds it.
    pub fn acquire(data_dir: &Path, name: &str) -> Result<PairLock, FolderError> {
        let file = lock_file(data_dir, name);
        let dir = file.parent().unwrap_or(data_dir);
        std::fs::create_dir_all(dir).map_err(|e| FolderError::io(dir, e))?;
        for _ in 0..3 {
            match std::fs::File::options()
                .write(true)
                .create_new(true)
                .open(&file)
            {
                Ok(mut f) => {
                    write!(f, "{}", std::process::id()).map_err(|e| FolderError::io(&file, e))?;
                    return Ok(PairLock { file });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&file)
                        .ok()
                        .and_then(|text| text.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if is_alive(pid) => {
                            return Err(FolderError::Busy {
                                name: name.to_string(),
                                pid,
                            });
                        }
                        // Stale, or written by a run killed before it wrote its pid.
                        _ => {
                            let _ = std::fs::remove_file(&file);
                        }
                    }
                }
                Err(e) => return Err(FolderError::io(&file, e)),
            }
        }
        Err(FolderError::io(
            &file,
            std::io::Error::other("the lock kept reappearing; another run is starting"),
        ))
    }
}

fn is_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl Drop for PairLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_refused_and_a_stale_lock_is_taken_over() {
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
        // A pid that cannot be running: above the kernel's pid_max.
        std::fs::write(lock_file(dir.path(), "p"), "2147483646").unwrap();
        let _lock = PairLock::acquire(dir.path(), "p").unwrap();
    }
}
