//! What a sync would do, said before anything changes (FreeFileSync's Compare): handlers
//! that can tell plan each item, front ends list the planned changes. Pure.

use crate::core::activity::ActivityLog;
use crate::core::model::{ItemId, ItemKey};
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
