//! Which entries take part in a pair: everything but the center's own folder and what the
//! user excluded. Shared by the configuration (to check patterns), the replicas (scans) and
//! the apply phase (what may be left in a folder that is removed).

use super::FolderError;
use super::names::RelPath;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The center's own folder at the top of each root (versions). Only this exact entry is
/// the center's: any other name starting with `.synccenter` is the user's and is synced.
pub const CENTER_DIR: &[u8] = b".synccenter";

/// Which entries take part: everything but the center's folder and the excluded.
pub struct Filter {
    excludes: Gitignore,
}

impl Filter {
    /// Builds the filter from gitignore patterns (one per string).
    pub fn new(root: &Path, patterns: &[String]) -> Result<Filter, FolderError> {
        let mut builder = GitignoreBuilder::new(root);
        for pattern in patterns.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            builder
                .add_line(None, pattern)
                .map_err(|e| FolderError::BadExclude {
                    pattern: pattern.to_string(),
                    reason: e.to_string(),
                })?;
        }
        let excludes = builder.build().map_err(|e| FolderError::BadExclude {
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })?;
        Ok(Filter { excludes })
    }

    /// Whether the entry at `rel` is left out.
    pub fn skips(&self, rel: &RelPath, is_dir: bool) -> bool {
        rel == CENTER_DIR
            || (!self.excludes.is_empty()
                && self
                    .excludes
                    .matched(Path::new(OsStr::from_bytes(rel)), is_dir)
                    .is_ignore())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_center_folder_at_the_top_and_excluded_entries_are_left_out() {
        let filter = Filter::new(Path::new("/r"), &["*.tmp".into(), "build/".into()]).unwrap();
        assert!(filter.skips(b".synccenter", true));
        assert!(filter.skips(b"a.tmp", false));
        assert!(filter.skips(b"x/build", true));
        assert!(!filter.skips(b"x/build", false));
        for users in [
            &b".synccenterrc"[..],
            b"sub/.synccenter",
            b"sub/.synccenter-notes.txt",
            b".synccenter-tmp-important",
        ] {
            assert!(
                !filter.skips(users, false),
                "{}",
                String::from_utf8_lossy(users)
            );
        }
    }
}
