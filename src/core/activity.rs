//! What a run changed, item by item: each file (or message, or event) with the way it went
//! and what was done to it, the first [`MAX_LISTED`] of them listed and all of them counted.
//! Handlers report it through the callback whatever they synchronize; the center keeps it
//! with the run's record. Pure.

use crate::core::model::ItemKey;
use crate::core::words::{grouped, plural, size};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Entries listed per item and run; past it, entries are only counted.
pub const MAX_LISTED: usize = 10_000;
/// Paths of conflicts and of failures kept with the counts (each), so a run's summary can
/// name them without its full list.
pub const PROBLEM_PATHS: usize = 20;

/// Which way a change went between the item's two sides (left: this computer, right: the
/// other replica, as the handler names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToRight,
    ToLeft,
    /// Both sides are involved: a conflict.
    Both,
}

impl Direction {
    /// An arrow every front end can draw (egui's default proportional font has the emoji
    /// arrows, not the plain ones).
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::ToRight => "➡",
            Direction::ToLeft => "⬅",
            Direction::Both => "↔",
        }
    }
}

/// What was done to one entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// New on the target side.
    Copied,
    /// An older version on the target side was replaced.
    Replaced,
    Deleted,
    /// Moved or renamed (`from` says where it was).
    Renamed,
    /// Both sides changed it: left alone for the user to decide.
    Conflict,
    /// The change could not be made.
    Failed,
}

impl Change {
    pub const ALL: [Change; 6] = [
        Change::Copied,
        Change::Replaced,
        Change::Deleted,
        Change::Renamed,
        Change::Conflict,
        Change::Failed,
    ];

    /// "copied", as done.
    pub fn done_word(self) -> &'static str {
        match self {
            Change::Copied => "copied",
            Change::Replaced => "replaced",
            Change::Deleted => "deleted",
            Change::Renamed => "renamed",
            Change::Conflict => "conflict",
            Change::Failed => "failed",
        }
    }

    /// "Copying", while it happens.
    pub fn doing_word(self) -> &'static str {
        match self {
            Change::Copied | Change::Replaced => "Copying",
            Change::Deleted => "Deleting",
            Change::Renamed => "Moving",
            Change::Conflict | Change::Failed => "Checking",
        }
    }

    /// "copy", as planned (a preview).
    pub fn plan_word(self) -> &'static str {
        match self {
            Change::Copied => "copy",
            Change::Replaced => "replace",
            Change::Deleted => "delete",
            Change::Renamed => "move",
            Change::Conflict => "conflict",
            Change::Failed => "fail",
        }
    }

    /// The bytes written for it count as bytes transferred.
    fn transfers(self) -> bool {
        matches!(self, Change::Copied | Change::Replaced)
    }
}

/// One entry a run changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub path: String,
    pub direction: Direction,
    pub change: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Where a renamed entry was before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Activity {
    pub fn new(path: impl Into<String>, direction: Direction, change: Change) -> Self {
        Self {
            path: path.into(),
            direction,
            change,
            size: None,
            from: None,
        }
    }

    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Whether `words` (lowercase) appear in its path or where it came from.
    pub fn mentions(&self, words: &str) -> bool {
        self.path.to_lowercase().contains(words)
            || self
                .from
                .as_ref()
                .is_some_and(|f| f.to_lowercase().contains(words))
    }
}

/// How many entries of each kind, and the bytes copied: all of an item's activity in one
/// run, also what the list does not hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityCounts {
    #[serde(default)]
    pub changes: BTreeMap<Change, u64>,
    /// Bytes of the entries copied or replaced.
    #[serde(default)]
    pub bytes: u64,
    /// Entries counted but not listed (past [`MAX_LISTED`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unlisted: u64,
    /// The first paths left in conflict, so a summary names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    /// The first paths whose change failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ActivityCounts {
    pub fn is_empty(&self) -> bool {
        self.changes.values().all(|n| *n == 0)
    }

    pub fn count(&self, change: Change) -> u64 {
        self.changes.get(&change).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.changes.values().sum()
    }

    /// The files left in conflict: "a.txt, b.txt and 3 more".
    pub fn conflict_names(&self) -> String {
        let mut names = self.conflicts.join(", ");
        let more = self
            .count(Change::Conflict)
            .saturating_sub(self.conflicts.len() as u64);
        if more > 0 {
            let _ = write!(names, " and {} more", grouped(more));
        }
        names
    }

    fn add(&mut self, entry: &Activity) {
        *self.changes.entry(entry.change).or_default() += 1;
        if entry.change.transfers() {
            self.bytes = self.bytes.saturating_add(entry.size.unwrap_or(0));
        }
        let named = match entry.change {
            Change::Conflict => Some(&mut self.conflicts),
            Change::Failed => Some(&mut self.failed),
            _ => None,
        };
        if let Some(named) = named.filter(|named| named.len() < PROBLEM_PATHS) {
            named.push(entry.path.clone());
        }
    }

    /// "20,000 copied, 3 deleted, 1 conflict · 82.1 MB". Empty when nothing happened.
    pub fn summary(&self) -> String {
        self.summary_in(|c| format!(" {}", c.done_word()))
    }

    /// "20,000 to copy, 3 to delete, 1 conflict · 82.1 MB", for changes planned.
    pub fn plan_summary(&self) -> String {
        self.summary_in(|c| format!(" to {}", c.plan_word()))
    }

    fn summary_in(&self, word: impl Fn(Change) -> String) -> String {
        let parts: Vec<String> = Change::ALL
            .iter()
            .filter(|c| self.count(**c) > 0)
            .map(|c| {
                let n = self.count(*c);
                match c {
                    Change::Conflict => plural(n, "conflict", "conflicts"),
                    _ => format!("{}{}", grouped(n), word(*c)),
                }
            })
            .collect();
        let mut text = parts.join(", ");
        if self.bytes > 0 {
            let _ = write!(text, " · {}", size(self.bytes));
        }
        text
    }
}

/// One item's activity in one run: the counts of everything, the list of the first
/// [`MAX_LISTED`] entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLog {
    pub counts: ActivityCounts,
    pub entries: Vec<Activity>,
}

impl ActivityLog {
    pub fn record(&mut self, entry: Activity) {
        self.counts.add(&entry);
        if self.entries.len() < MAX_LISTED {
            self.entries.push(entry);
        } else {
            self.counts.unlisted += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// One item's listed entries in one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemActivity {
    pub key: ItemKey,
    pub entries: Vec<Activity>,
}

/// The listed entries of every item of one run, kept beside the run's record (its counts
/// are in the record itself) and read only when someone looks at them.
pub type RunActivity = Vec<ItemActivity>;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, change: Change, size: u64) -> Activity {
        Activity::new(path, Direction::ToRight, change).size(size)
    }

    #[test]
    fn a_log_lists_the_first_entries_and_counts_all() {
        let mut log = ActivityLog::default();
        for n in 0..MAX_LISTED + 5 {
            log.record(entry(&format!("f{n}"), Change::Copied, 10));
        }
        log.record(entry("clash.txt", Change::Conflict, 99));
        log.record(entry("locked.txt", Change::Failed, 99));
        assert_eq!(log.entries.len(), MAX_LISTED);
        assert_eq!(log.counts.unlisted, 7);
        assert_eq!(log.counts.count(Change::Copied), MAX_LISTED as u64 + 5);
        assert_eq!(log.counts.total(), MAX_LISTED as u64 + 7);
        // Only copies count as bytes moved; problems are named even when not listed.
        assert_eq!(log.counts.bytes, (MAX_LISTED as u64 + 5) * 10);
        assert_eq!(log.counts.conflicts, ["clash.txt"]);
        assert_eq!(log.counts.failed, ["locked.txt"]);
    }

    #[test]
    fn summaries_say_what_was_done() {
        let mut counts = ActivityCounts::default();
        assert_eq!(counts.summary(), "");
        for (path, change, size) in [
            ("a", Change::Copied, 1_500_000),
            ("b", Change::Copied, 500_000),
            ("c", Change::Replaced, 1_000_000),
            ("d", Change::Deleted, 40),
            ("e", Change::Renamed, 0),
            ("f", Change::Conflict, 0),
            ("g", Change::Failed, 5),
        ] {
            counts.add(&entry(path, change, size));
        }
        assert_eq!(
            counts.summary(),
            "2 copied, 1 replaced, 1 deleted, 1 renamed, 1 conflict, 1 failed · 3.0 MB"
        );
        assert_eq!(
            counts.plan_summary(),
            "2 to copy, 1 to replace, 1 to delete, 1 to move, 1 conflict, 1 to fail · 3.0 MB"
        );
        assert_eq!(
            (counts.conflicts.as_slice(), counts.failed.as_slice()),
            (&["f".to_string()][..], &["g".to_string()][..])
        );
        for n in 0..PROBLEM_PATHS + 2 {
            counts.add(&entry(&format!("c{n}"), Change::Conflict, 0));
        }
        assert_eq!(counts.conflicts.len(), PROBLEM_PATHS);
        assert!(counts.conflict_names().starts_with("f, c0, c1"));
        assert!(
            counts.conflict_names().ends_with("c18 and 3 more"),
            "{}",
            counts.conflict_names()
        );
    }

    #[test]
    fn entries_keep_their_json_names() {
        let renamed = Activity::new("new.txt", Direction::ToLeft, Change::Renamed).from("old.txt");
        let json = serde_json::to_string(&renamed).unwrap();
        assert_eq!(
            json,
            r#"{"path":"new.txt","direction":"to_left","change":"renamed","from":"old.txt"}"#
        );
        assert_eq!(serde_json::from_str::<Activity>(&json).unwrap(), renamed);
        let mut log = ActivityLog::default();
        log.record(entry("a", Change::Copied, 3));
        let json = serde_json::to_value(&log.counts).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"changes": {"copied": 1}, "bytes": 3})
        );
    }

    #[test]
    fn a_search_looks_at_both_names_of_a_move() {
        let moved = Activity::new("Docs/New.txt", Direction::ToRight, Change::Renamed)
            .from("Old/Report.txt");
        assert!(moved.mentions("new"));
        assert!(moved.mentions("report"));
        assert!(!moved.mentions("photo"));
    }
}
