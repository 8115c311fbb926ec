//! What a sync would do, said before anything changes (FreeFileSync's Compare): handlers
//! that can tell plan each item, front ends list the planned changes. Pure.

use crate::core::activity::{Activity, ActivityLog, Change};
use crate::core::model::{ItemId, ItemKey};
use crate::core::words::size;
use serde::Serialize;

/// What synchronizing one item would do now, as a handler plans it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ItemPlan {
    /// The planned changes, listed and counted as a run's activity log lists what it did.
    pub changes: ActivityLog,
    /// What the sync would leave out or ask about first, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A handler's answer for one item it was asked to preview.
pub type ItemAnswer = (ItemId, Result<ItemPlan, String>);

/// How the preview of one item came out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Planned {
    Plan(ItemPlan),
    /// Its handler cannot say what a sync would do.
    Unsupported,
    /// Planning failed, in words (a missing folder).
    Failed(String),
}

/// One item's preview, for the front ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemPreview {
    pub key: ItemKey,
    pub name: String,
    pub planned: Planned,
}

/// One planned change in words, for the terminal: "➡ copy     Docs/a.txt (5 bytes)".
pub fn planned_line(entry: &Activity) -> String {
    format!(
        "{} {:<8} {}",
        entry.direction.arrow(),
        entry.change.plan_word(),
        planned_target(entry)
    )
}

/// What a planned change is done to: "Docs/a.txt (5 bytes)", "new.txt (from old.txt)".
pub fn planned_target(entry: &Activity) -> String {
    let mut target = entry.path.clone();
    if let Some(from) = &entry.from {
        target.push_str(&format!(" (from {from})"));
    }
    if let (Some(bytes), Change::Copied | Change::Replaced) = (entry.size, entry.change) {
        target.push_str(&format!(" ({})", size(bytes)));
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::activity::Direction;

    #[test]
    fn planned_changes_read_with_their_arrow_action_and_size() {
        for (entry, line) in [
            (
                Activity::new("a.txt", Direction::ToRight, Change::Copied).size(5),
                "➡ copy     a.txt (5 bytes)",
            ),
            (
                Activity::new("b.txt", Direction::ToLeft, Change::Replaced).size(2048),
                "⬅ replace  b.txt (2.0 KB)",
            ),
            (
                Activity::new("c.txt", Direction::ToRight, Change::Deleted).size(9),
                "➡ delete   c.txt",
            ),
            (
                Activity::new("new.txt", Direction::ToLeft, Change::Renamed).from("old.txt"),
                "⬅ move     new.txt (from old.txt)",
            ),
            (
                Activity::new("d.txt", Direction::Both, Change::Conflict),
                "↔ conflict d.txt",
            ),
        ] {
            assert_eq!(planned_line(&entry), line);
        }
    }
}
