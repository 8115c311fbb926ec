//! A pair's kept versions (`<root>/.synccenter/versions/<when>/<path>`): what one side holds,
//! and restoring one. A restore goes through the same replica as a sync (every path beneath
//! the root's descriptor, links never followed, a temp file renamed into place) and keeps the
//! file it replaces as a version first, so nothing is lost.

use super::FolderError;
use super::filter::CENTER_DIR;
use super::local::LocalReplica;
use super::replica::{Kind, Replica};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The versions folder under the center's folder at the top of a root.
const VERSIONS: &str = "versions";

/// One kept version of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Where the file was, relative to the root.
    pub path: Vec<u8>,
    /// When it was kept: the name of its versions folder ("2026-11-30_141503").
    pub kept: String,
    pub size: u64,
}

impl Version {
    /// The path as text (bytes that are not UTF-8 shown as �).
    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }

    /// Where the version itself is, relative to the root.
    fn stored(&self) -> Vec<u8> {
        let mut stored = CENTER_DIR.to_vec();
        stored.extend_from_slice(format!("/{VERSIONS}/{}/", self.kept).as_bytes());
        stored.extend_from_slice(&self.path);
        stored
    }
}

/// Every file version kept in `root`, newest first, then by path. Links are listed as
/// nothing: only files are restored.
pub fn list(root: &Path) -> Result<Vec<Version>, FolderError> {
    let versions = root.join(".synccenter").join(VERSIONS);
    let mut found = Vec::new();
    let stamps = match std::fs::read_dir(&versions) {
        Ok(stamps) => stamps,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(FolderError::io(versions, e)),
    };
    for stamp in stamps {
        let stamp = stamp.map_err(|e| FolderError::io(&versions, e))?;
        let kind = stamp
            .file_type()
            .map_err(|e| FolderError::io(stamp.path(), e))?;
        if !kind.is_dir() {
            continue;
        }
        let kept = stamp.file_name().to_string_lossy().into_owned();
        walk(&stamp.path(), &mut Vec::new(), &kept, &mut found)?;
    }
    found.sort_by(|a, b| b.kept.cmp(&a.kept).then_with(|| a.path.cmp(&b.path)));
    Ok(found)
}

fn walk(
    dir: &Path,
    rel: &mut Vec<u8>,
    kept: &str,
    found: &mut Vec<Version>,
) -> Result<(), FolderError> {
    for entry in std::fs::read_dir(dir).map_err(|e| FolderError::io(dir, e))? {
        let entry = entry.map_err(|e| FolderError::io(dir, e))?;
        // The entry's own type: a link is never followed.
        let kind = entry
            .file_type()
            .map_err(|e| FolderError::io(entry.path(), e))?;
        let len = rel.len();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(entry.file_name().as_bytes());
        if kind.is_dir() {
            walk(&entry.path(), rel, kept, found)?;
        } else if kind.is_file() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            found.push(Version {
                path: rel.clone(),
                kept: kept.to_string(),
                size,
            });
        }
        rel.truncate(len);
    }
    Ok(())
}

/// What a restore did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// The file that was at the path, kept as a version under this name first.
    pub kept_current_as: Option<String>,
}

/// Puts `version` back at its path in `root`. The file there now, if any, is kept as a
/// version first (under `now`, a versions folder name); a folder or link there is left alone
/// and nothing is restored.
pub fn restore(root: &Path, version: &Version, now: &str) -> Result<Restored, FolderError> {
    let at = |e: io::Error| FolderError::io(root.join(version.display()), e);
    let replica = LocalReplica::new(root);
    replica.open_root().map_err(|e| FolderError::io(root, e))?;
    let mut source = replica.open(&version.stored()).map_err(|e| {
        FolderError::io(
            root.join(String::from_utf8_lossy(&version.stored()).as_ref()),
            e,
        )
    })?;
    let entry = source.entry().clone();
    let current = replica.stat(&version.path).map_err(at)?;
    let kept_current_as = match &current {
        None => None,
        Some(now_there) if now_there.kind == Kind::File => {
            replica.keep_version(&version.path, now).map_err(at)?;
            Some(now.to_string())
        }
        Some(_) => {
            return Err(at(io::Error::other(
                "a folder or link is there now; nothing was restored",
            )));
        }
    };
    // Folders on the way that are gone now come back.
    for (i, byte) in version.path.iter().enumerate() {
        let parent = &version.path[..i];
        if *byte == b'/' && replica.stat(parent).map_err(at)?.is_none() {
            replica.make_dir(parent).map_err(at)?;
        }
    }
    let mut staged = replica.stage(&version.path).map_err(at)?;
    io::copy(&mut source, &mut staged).map_err(at)?;
    // A file saved there while this copy was made is not overwritten.
    let there_now = staged.at_path_now().map_err(at)?;
    let unchanged = match (&current, &there_now) {
        (None, None) => true,
        (Some(before), Some(now_there)) => before.looks_like(now_there.view()),
        _ => false,
    };
    if !unchanged {
        return Err(at(io::Error::other(
            "it changed while the version was copied; nothing was restored",
        )));
    }
    staged.commit(entry.mtime, entry.exec).map_err(at)?;
    replica.flush().map_err(at)?;
    Ok(Restored { kept_current_as })
}

/// How a versions folder is named: when its versions were kept.
pub const STAMP: &str = "%Y-%m-%d_%H%M%S";

/// The name of a versions folder made now.
pub fn stamp_now() -> String {
    chrono::Local::now().format(STAMP).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(root: &Path, kept: &str, path: &str, text: &str) {
        let file = root.join(".synccenter/versions").join(kept).join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    #[test]
    fn versions_are_listed_newest_first_and_links_are_left_out() {
        let root = tempfile::tempdir().unwrap();
        keep(root.path(), "2026-11-01_100000", "a/report.txt", "old");
        keep(root.path(), "2026-11-02_100000", "notes.txt", "newer");
        std::os::unix::fs::symlink(
            "/etc/passwd",
            root.path()
                .join(".synccenter/versions/2026-11-02_100000/link"),
        )
        .unwrap();
        let found = list(root.path()).unwrap();
        let shown: Vec<(String, String, u64)> = found
            .iter()
            .map(|v| (v.kept.clone(), v.display(), v.size))
            .collect();
        assert_eq!(
            shown,
            [
                ("2026-11-02_100000".into(), "notes.txt".into(), 5),
                ("2026-11-01_100000".into(), "a/report.txt".into(), 3),
            ]
        );
        assert!(list(&root.path().join("none")).unwrap().is_empty());
    }

    #[test]
    fn a_restore_brings_back_missing_folders_and_refuses_a_folder_in_the_way() {
        let root = tempfile::tempdir().unwrap();
        keep(root.path(), "2026-11-01_100000", "a/b/report.txt", "old");
        let version = list(root.path()).unwrap().remove(0);
        let restored = restore(root.path(), &version, "2026-11-03_100000").unwrap();
        assert_eq!(restored.kept_current_as, None, "nothing was there");
        assert_eq!(
            std::fs::read_to_string(root.path().join("a/b/report.txt")).unwrap(),
            "old"
        );
        // A folder where the file was: left alone, nothing restored.
        std::fs::remove_file(root.path().join("a/b/report.txt")).unwrap();
        std::fs::create_dir(root.path().join("a/b/report.txt")).unwrap();
        let refused = restore(root.path(), &version, "2026-11-03_100001").unwrap_err();
        assert!(
            refused.to_string().contains("nothing was restored"),
            "{refused}"
        );
        assert!(root.path().join("a/b/report.txt").is_dir());
    }
}
