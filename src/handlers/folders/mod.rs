//! Folder pairs: keeps two local folders in sync with Unison-class safety.
//!
//! The engine is shaped like Unison and Mutagen: each side is scanned (`scan`), every path is
//! reconciled against the archive of the last synced state by a pure function (`reconcile`),
//! and the resulting plan is applied (`apply`) with temp files, re-checks before replacing,
//! versions instead of deletions, and an archive updated only for what was applied.

pub mod archive;
pub mod config;
pub mod filter;
pub mod fit;
mod handler;
pub mod intake;
pub mod live_figures;
pub mod local;
pub mod location;
pub mod lock;
pub mod names;
mod pair_form;
pub mod passwords;
pub mod rclone;
pub mod rclone_names;
pub mod reconcile;
pub mod remote;
pub mod remotes;
pub mod replica;
pub mod scan;
pub mod sync;
pub mod versions;

pub use handler::provider;

use crate::core::store::Home;
use lock::PairLock;
use std::path::PathBuf;

/// The handler's id in the registry.
pub const HANDLER_ID: &str = "folders";

/// What can go wrong with folder pairs, in words that name the file, field or pair.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("cannot read {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged and was left as it is: {reason}")]
    DamagedConfig { path: PathBuf, reason: String },
    #[error("cannot save {path}: {source}")]
    WriteConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the pair name must not be empty")]
    EmptyName,
    #[error("the pair name \"{0}\" must not contain '/' or '..'")]
    SlashInName(String),
    #[error("versions may take at most 100% of the disk, not {0}%")]
    BadShare(u8),
    #[error("{field} must be a whole number, not \"{text}\"")]
    NotANumber { field: &'static str, text: String },
    #[error("a pair named \"{0}\" already exists")]
    DuplicateName(String),
    #[error("there is no folder pair named \"{0}\"")]
    UnknownPair(String),
    #[error("the {side} folder \"{path}\" must be an absolute path")]
    NotAbsolute { side: &'static str, path: PathBuf },
    #[error("{0}")]
    Location(#[from] location::LocationError),
    #[error("the left and right folders are the same folder ({0})")]
    SameFolder(PathBuf),
    #[error("the folder pair \"{other}\" already syncs {} and {}: change that pair instead (two pairs of the same folders would sync them twice, each at its own time)", .left.display(), .right.display())]
    SameFolders {
        other: String,
        left: PathBuf,
        right: PathBuf,
    },
    #[error("{inner} is inside {outer}; the two folders of a pair must not contain each other")]
    Nested { inner: PathBuf, outer: PathBuf },
    #[error("\"{0}\" is not a mode; use two-way, mirror or contribute")]
    UnknownMode(String),
    #[error("the exclude pattern \"{pattern}\" is not valid: {reason}")]
    BadExclude { pattern: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("The {side} folder {path} is missing (is the drive mounted?). Nothing was changed.")]
    MissingRoot { side: &'static str, path: PathBuf },
    #[error(
        "The {side} folder {path} is not the folder synced last time (a drive that is not mounted, or a link that points elsewhere?). Nothing was changed. Sync in the window to confirm it is the right folder."
    )]
    RootChanged { side: &'static str, path: PathBuf },
    #[error(
        "The {side} folder {path} changed during the sync (was the drive unmounted?). The sync stopped; what was done is kept, and the next sync finishes the job."
    )]
    RootChangedDuringSync { side: &'static str, path: PathBuf },
    #[error(
        "The {side} folder {path} could not be reached during the sync: {reason}. The sync stopped; what was done is kept, and the next sync finishes the job."
    )]
    LostDuringSync {
        side: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("The preview stopped before both folders were looked through. Nothing was changed.")]
    PreviewStopped,
    #[error("{location}: {reason}")]
    Remote { location: String, reason: String },
    #[error(
        "rclone's configuration has no remote named \"{remote}\" ({known}). Set it up in a terminal with `rclone config` (the file rclone reads is the one `rclone config file` names; RCLONE_CONFIG chooses another), then add the pair again.{}",
        sftp_hint(.remote, .folder)
    )]
    UnknownRemote {
        remote: String,
        folder: String,
        known: String,
    },
    #[error("another sync of {name} is running{}", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy { name: String, pid: Option<u32> },
    #[error("The folder pair {name} has a sync running or waiting its turn{}: stop it or let it finish, then remove it.", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    RemoveWhileSyncing { name: String, pid: Option<u32> },
}

/// For an unknown remote named like `USER@HOST`: the `USER@HOST:FOLDER` typed was most
/// likely meant as an SFTP server, the way scp and rsync write one.
fn sftp_hint(remote: &str, folder: &str) -> String {
    match remote.split_once('@') {
        Some((user, host)) if !user.is_empty() && !host.is_empty() => {
            format!(
                " For an SFTP server, write {}",
                location::scp_as_sftp(remote, folder)
            )
        }
        _ => String::new(),
    }
}

/// Removes a pair and forgets its record of the last sync: adding the same folders again
/// starts as a first sync (which deletes nothing but in mirror mode). The folders and files
/// stay as they are; so does the pair's lock file, as a run that opened it may be waiting
/// to take it. Refused while the pair synchronizes: that run would go on writing the
/// record removing forgets (a run starting later reads the pair again under the lock, and
/// finds it gone).
pub fn remove_pair(home: &Home, name: &str) -> Result<(), FolderError> {
    config::find(home, name)?;
    let _held = PairLock::acquire(&home.data_dir, name).map_err(|e| match e {
        FolderError::Busy { name, pid } => FolderError::RemoveWhileSyncing { name, pid },
        other => other,
    })?;
    // The record first: should that fail, the pair is still there to remove again, and a
    // pair added again under the name never finds a stale record.
    let archive = archive::archive_file(&home.data_dir, name);
    archive::remove(&archive)?;
    let staging = archive.with_extension("staging");
    match std::fs::remove_dir_all(&staging) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(FolderError::io(staging, e));
        }
        _ => {}
    }
    config::remove(home, name)
}

impl FolderError {
    /// Wraps an I/O error with the path it happened at.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FolderError::Io {
            path: path.into(),
            source,
        }
    }
}
