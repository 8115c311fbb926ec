//! One engine per home. Whatever runs sessions on a home — the running instance, or a
//! terminal `synccenter sync` when there is no instance to hand off to — holds an advisory
//! `flock` on `DATA/engine.lock` while it does. The kernel drops the lock when the process
//! dies, so a crash never leaves a stale lock behind.

use crate::core::store::Home;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;

/// Who holds the lock, as written into the lock file by its holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// The running instance (window or background); it takes work over the session bus.
    Instance,
    /// A terminal `synccenter sync` running its own engine.
    Terminal,
}

impl Holder {
    fn word(self) -> &'static str {
        match self {
            Holder::Instance => "instance",
            Holder::Terminal => "terminal",
        }
    }

    fn parse(word: &str) -> Option<Holder> {
        match word {
            "instance" => Some(Holder::Instance),
            "terminal" => Some(Holder::Terminal),
            _ => None,
        }
    }
}

/// The lock file's content: who holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub holder: Holder,
}

impl Owner {
    fn parse(text: &str) -> Option<Owner> {
        let mut words = text.split_whitespace();
        let pid = words.next()?.parse().ok()?;
        let holder = Holder::parse(words.next()?)?;
        Some(Owner { pid, holder })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open the engine lock {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases the home.
#[derive(Debug)]
pub struct EngineLock {
    _file: File,
}

/// What `try_acquire` found.
pub enum Attempt {
    Acquired(EngineLock),
    /// Someone else holds it; `owner` is `None` while the holder has not written its name.
    Held {
        owner: Option<Owner>,
        waiter: Waiter,
    },
}

/// An open lock file that can wait for the lock.
pub struct Waiter {
    file: File,
    path: PathBuf,
    holder: Holder,
}

impl Waiter {
    /// Blocks until the holder lets go, then holds the lock.
    pub fn wait(self) -> Result<EngineLock, LockError> {
        self.file.lock().map_err(|source| LockError::Lock {
            path: self.path.clone(),
            source,
        })?;
        claim(self.file, self.holder, &self.path)
    }
}

pub fn lock_path(home: &Home) -> PathBuf {
    home.data_dir.join("engine.lock")
}

/// Takes the home's engine lock if it is free.
pub fn try_acquire(home: &Home, holder: Holder) -> Result<Attempt, LockError> {
    let path = lock_path(home);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|source| LockError::Open {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Attempt::Acquired(claim(file, holder, &path)?)),
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let owner = (&file)
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| Owner::parse(&text));
            Ok(Attempt::Held {
                owner,
                waiter: Waiter { file, path, holder },
            })
        }
        Err(TryLockError::Error(source)) => Err(LockError::Lock { path, source }),
    }
}

fn claim(mut file: File, holder: Holder, path: &std::path::Path) -> Result<EngineLock, LockError> {
    let write = |file: &mut File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{} {}", std::process::id(), holder.word())?;
        file.flush()
    };
    write(&mut file).map_err(|source| LockError::Lock {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(EngineLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_read_back_and_garbage_is_nobody() {
        let cases = [
            ("12 instance\n", Some((12, Holder::Instance))),
            ("7 terminal", Some((7, Holder::Terminal))),
            ("", None),
            ("x terminal", None),
            ("12 window", None),
        ];
        for (text, expected) in cases {
            let owner = Owner::parse(text).map(|o| (o.pid, o.holder));
            assert_eq!(owner, expected, "{text:?}");
        }
    }

    #[test]
    fn a_second_holder_finds_the_first_and_gets_the_lock_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        home.create_dirs().unwrap();
        let Attempt::Acquired(first) = try_acquire(&home, Holder::Terminal).unwrap() else {
            panic!("the lock is free");
        };
        let Attempt::Held { owner, waiter } = try_acquire(&home, Holder::Instance).unwrap() else {
            panic!("the lock is held");
        };
        assert_eq!(
            owner,
            Some(Owner {
                pid: std::process::id(),
                holder: Holder::Terminal
            })
        );
        drop(first);
        let _second = waiter.wait().unwrap();
        let text = std::fs::read_to_string(lock_path(&home)).unwrap();
        assert_eq!(
            Owner::parse(&text).map(|o| o.holder),
            Some(Holder::Instance)
        );
    }
}
