//! Conflicts as handlers report them and users resolve them (ISyncMgrConflict and its
//! resolution choices: keep one, keep both).

use crate::core::model::{ItemKey, opt_unix_millis, unix_millis};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::time::SystemTime;

/// One side's version of a conflicting entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictSide {
    /// "Left", "Right", "Local", "Server": whatever names the handler's sides.
    pub label: String,
    /// Where this side lives, for the details view (a folder, a server).
    pub location: String,
    /// False when this side deleted the entry.
    pub exists: bool,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default, with = "opt_unix_millis")]
    pub modified: Option<SystemTime>,
}

/// How the user resolved a conflict. Keep-both keeps the other version under a new name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    KeepLeft,
    KeepRight,
    KeepBoth,
}

impl Resolution {
    pub fn parse(word: &str) -> Option<Resolution> {
        match word {
            "left" => Some(Resolution::KeepLeft),
            "right" => Some(Resolution::KeepRight),
            "both" => Some(Resolution::KeepBoth),
            _ => None,
        }
    }
}

/// What a handler reports: an id it understands, a path to show, both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictReport {
    /// Unique within the item; the handler finds the entry again by it.
    pub id: String,
    /// Relative to the item's roots, for people.
    pub path: String,
    pub left: ConflictSide,
    pub right: ConflictSide,
}

/// A conflict as the center keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictRecord {
    pub item: ItemKey,
    pub item_name: String,
    #[serde(flatten)]
    pub report: ConflictReport,
    #[serde(with = "unix_millis")]
    pub detected: SystemTime,
    /// Chosen by the user, applied by the handler at the item's next sync.
    #[serde(default)]
    pub resolution: Option<Resolution>,
}

/// Which side is newer and which is larger, for the details view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comparison {
    pub newer: Option<Ordering>,
    pub larger: Option<Ordering>,
}

impl ConflictReport {
    /// `Greater` means the left side is newer (or larger).
    pub fn compare(&self) -> Comparison {
        Comparison {
            newer: compare(self.left.modified, self.right.modified),
            larger: compare(self.left.size, self.right.size),
        }
    }
}

fn compare<T: Ord>(left: Option<T>, right: Option<T>) -> Option<Ordering> {
    Some(left?.cmp(&right?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn side(label: &str, size: Option<u64>, secs: Option<u64>) -> ConflictSide {
        ConflictSide {
            label: label.into(),
            location: "/x".into(),
            exists: size.is_some(),
            is_dir: false,
            size,
            modified: secs.map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
        }
    }

    #[test]
    fn comparison_says_which_side_is_newer_and_larger() {
        let report = ConflictReport {
            id: "a".into(),
            path: "a.txt".into(),
            left: side("Left", Some(10), Some(200)),
            right: side("Right", Some(30), Some(100)),
        };
        let c = report.compare();
        assert_eq!(c.newer, Some(Ordering::Greater));
        assert_eq!(c.larger, Some(Ordering::Less));
        let deleted = ConflictReport {
            right: side("Right", None, None),
            ..report
        };
        assert_eq!(deleted.compare().larger, None);
    }

    #[test]
    fn resolutions_parse_from_the_command_line_words() {
        assert_eq!(Resolution::parse("left"), Some(Resolution::KeepLeft));
        assert_eq!(Resolution::parse("both"), Some(Resolution::KeepBoth));
        assert_eq!(Resolution::parse("neither"), None);
    }
}
