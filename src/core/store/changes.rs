//! The changes one process makes to the state files that every process on a home shares
//! (choices, last results, conflicts). Each change is applied to this process's copy at
//! once, and replayed onto what is on disk just before the file is saved, so a process
//! never puts back its stale copy of what another process changed: the merge is per key.
//! Pure: no I/O, no clock.

use crate::core::conflicts::{ConflictRecord, ConflictReport, Resolution};
use crate::core::model::{HandlerId, ItemId, ItemKey, SessionId};
use crate::core::status::ItemStatus;
use crate::core::store::{ItemRecord, ItemResult};
use std::collections::BTreeMap;
use std::time::SystemTime;

pub(super) type Choices = BTreeMap<HandlerId, BTreeMap<ItemId, bool>>;
pub(super) type ItemRecords = BTreeMap<HandlerId, BTreeMap<ItemId, ItemRecord>>;

/// The state files two processes on one home share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum SharedFile {
    Choices,
    Items,
    Conflicts,
}

/// What the shared files hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Shared {
    pub choices: Choices,
    pub items: ItemRecords,
    pub conflicts: Vec<ConflictRecord>,
}

/// One change a process made, kept until its file is saved.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Change {
    /// The user checked or unchecked an item.
    Checked { item: ItemKey, checked: bool },
    /// A handler listed all its items: choices of the others are forgotten.
    Forgot {
        handler: HandlerId,
        present: Vec<ItemId>,
    },
    /// A run ended; how each of its items ended.
    Ran {
        session: SessionId,
        finished: SystemTime,
        results: Vec<ItemResult>,
    },
    /// A handler reported an item's conflicts as they are now.
    Found {
        item: ItemKey,
        name: String,
        reports: Vec<ConflictReport>,
        at: SystemTime,
    },
    /// The user resolved a conflict.
    Resolved {
        item: ItemKey,
        conflict: String,
        resolution: Resolution,
    },
}

impl Change {
    pub fn file(&self) -> SharedFile {
        match self {
            Change::Checked { .. } | Change::Forgot { .. } => SharedFile::Choices,
            Change::Ran { .. } => SharedFile::Items,
            Change::Found { .. } | Change::Resolved { .. } => SharedFile::Conflicts,
        }
    }

    /// Applies the change; tells whether it changed anything.
    pub fn apply(&self, shared: &mut Shared) -> bool {
        match self {
            Change::Checked { item, checked } => {
                let old = shared
                    .choices
                    .entry(item.handler.clone())
                    .or_default()
                    .insert(item.item.clone(), *checked);
                old != Some(*checked)
            }
            Change::Forgot { handler, present } => {
                let Some(choices) = shared.choices.get_mut(handler) else {
                    return false;
                };
                let before = choices.len();
                choices.retain(|id, _| present.contains(id));
                choices.len() != before
            }
            Change::Ran {
                session,
                finished,
                results,
            } => {
                let mut changed = false;
                for result in results {
                    let record = shared
                        .items
                        .entry(result.key.handler.clone())
                        .or_default()
                        .entry(result.key.item.clone())
                        .or_default();
                    let before = record.clone();
                    take_result(record, *session, *finished, result);
                    changed |= *record != before;
                }
                changed
            }
            Change::Found {
                item,
                name,
                reports,
                at,
            } => {
                let before = shared.conflicts.clone();
                replace_conflicts(&mut shared.conflicts, item, name, reports, *at);
                shared.conflicts != before
            }
            Change::Resolved {
                item,
                conflict,
                resolution,
            } => shared
                .conflicts
                .iter_mut()
                .find(|c| &c.item == item && c.report.id == *conflict)
                .is_some_and(|c| c.resolution.replace(*resolution) != Some(*resolution)),
        }
    }
}

/// Takes in how an item ended in a run: the status of the newest run that had it, and the
/// time of its latest success, whichever order the runs are recorded in.
fn take_result(
    record: &mut ItemRecord,
    session: SessionId,
    finished: SystemTime,
    result: &ItemResult,
) {
    if record.last_session.is_none_or(|last| last <= session) {
        record.last_status = Some(result.status);
        record.last_text = result.text.clone();
        record.last_session = Some(session);
    }
    if result.status == ItemStatus::Succeeded {
        let at = result.ended.unwrap_or(finished);
        record.last_synced = Some(record.last_synced.map_or(at, |last| last.max(at)));
    }
}

/// Replaces the conflicts of one item with the ones found now. A conflict found again
/// unchanged keeps when it was first seen and the resolution chosen for it (in whichever
/// process); a changed one needs a new decision.
fn replace_conflicts(
    conflicts: &mut Vec<ConflictRecord>,
    item: &ItemKey,
    name: &str,
    reports: &[ConflictReport],
    at: SystemTime,
) {
    let old: Vec<ConflictRecord> = conflicts
        .iter()
        .filter(|c| &c.item == item)
        .cloned()
        .collect();
    conflicts.retain(|c| &c.item != item);
    for report in reports {
        let previous = old.iter().find(|c| c.report.id == report.id);
        let unchanged = previous.is_some_and(|p| &p.report == report);
        conflicts.push(ConflictRecord {
            item: item.clone(),
            item_name: name.to_string(),
            detected: previous.map_or(at, |p| p.detected),
            resolution: previous.filter(|_| unchanged).and_then(|p| p.resolution),
            report: report.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::conflicts::ConflictSide;
    use std::time::{Duration, UNIX_EPOCH};

    fn key(item: &str) -> ItemKey {
        ItemKey::new("h", item)
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn report(id: &str, size: u64) -> ConflictReport {
        let side = |label: &str| ConflictSide {
            label: label.into(),
            location: label.into(),
            exists: true,
            is_dir: false,
            size: Some(size),
            modified: None,
        };
        ConflictReport {
            id: id.into(),
            path: id.into(),
            left: side("Left"),
            right: side("Right"),
        }
    }

    fn ran(session: u64, item: &str, status: ItemStatus, ended: Option<u64>) -> Change {
        Change::Ran {
            session: SessionId(session),
            finished: at(session * 10),
            results: vec![ItemResult {
                key: key(item),
                name: item.into(),
                handler_name: "H".into(),
                status,
                text: format!("{status:?} in {session}"),
                ended: ended.map(at),
                could_not_ask: false,
            }],
        }
    }

    fn found(item: &str, reports: Vec<ConflictReport>, seconds: u64) -> Change {
        Change::Found {
            item: key(item),
            name: item.into(),
            reports,
            at: at(seconds),
        }
    }

    fn resolved(item: &str, id: &str, resolution: Resolution) -> Change {
        Change::Resolved {
            item: key(item),
            conflict: id.into(),
            resolution,
        }
    }

    fn applied(changes: &[Change]) -> Shared {
        let mut shared = Shared::default();
        for change in changes {
            change.apply(&mut shared);
        }
        shared
    }

    /// What one process saved, with the other's changes replayed on top.
    fn merged(theirs: &[Change], ours: &[Change]) -> Shared {
        let mut shared = applied(theirs);
        for change in ours {
            change.apply(&mut shared);
        }
        shared
    }

    #[test]
    fn each_change_belongs_to_one_file() {
        let table = [
            (
                Change::Checked {
                    item: key("a"),
                    checked: true,
                },
                SharedFile::Choices,
            ),
            (
                Change::Forgot {
                    handler: HandlerId::new("h"),
                    present: vec![],
                },
                SharedFile::Choices,
            ),
            (ran(1, "a", ItemStatus::Succeeded, None), SharedFile::Items),
            (found("a", vec![], 1), SharedFile::Conflicts),
            (
                resolved("a", "x", Resolution::KeepLeft),
                SharedFile::Conflicts,
            ),
        ];
        for (change, file) in table {
            assert_eq!(change.file(), file, "{change:?}");
        }
    }

    #[test]
    fn choices_merge_per_item_and_the_latest_change_wins() {
        let check = |item: &str, checked| Change::Checked {
            item: key(item),
            checked,
        };
        // (another process's changes, this process's changes, expected choices)
        type Case<'a> = (&'a [Change], &'a [Change], &'a [(&'a str, bool)]);
        let table: &[Case] = &[
            (
                &[check("a", false)],
                &[check("b", false)],
                &[("a", false), ("b", false)],
            ),
            (&[check("a", false)], &[check("a", true)], &[("a", true)]),
            (&[], &[check("a", false), check("a", true)], &[("a", true)]),
            (
                &[check("a", false), check("gone", false)],
                &[Change::Forgot {
                    handler: HandlerId::new("h"),
                    present: vec![ItemId::new("a")],
                }],
                &[("a", false)],
            ),
        ];
        for (theirs, ours, expected) in table {
            let shared = merged(theirs, ours);
            let got: Vec<(&str, bool)> = shared
                .choices
                .get(&HandlerId::new("h"))
                .map(|items| items.iter().map(|(id, c)| (id.as_str(), *c)).collect())
                .unwrap_or_default();
            assert_eq!(&got, expected, "{theirs:?} then {ours:?}");
        }
    }

    #[test]
    fn an_items_status_follows_the_newest_run_whatever_the_order_of_recording() {
        use ItemStatus::*;
        // (runs in the order they are recorded, expected status, text, last synced)
        let table: &[(&[Change], ItemStatus, &str, Option<u64>)] = &[
            (
                &[ran(1, "a", Succeeded, Some(5))],
                Succeeded,
                "Succeeded in 1",
                Some(5),
            ),
            // The newer run (2) recorded first, the earlier (1) last: 2's status stays,
            // and 1's success still counts as the latest sync.
            (
                &[ran(2, "a", Failed, None), ran(1, "a", Succeeded, Some(15))],
                Failed,
                "Failed in 2",
                Some(15),
            ),
            (
                &[ran(1, "a", Succeeded, Some(15)), ran(2, "a", Failed, None)],
                Failed,
                "Failed in 2",
                Some(15),
            ),
            // No end time known: the run's end counts.
            (
                &[ran(3, "a", Succeeded, None)],
                Succeeded,
                "Succeeded in 3",
                Some(30),
            ),
            (
                &[
                    ran(3, "a", Succeeded, Some(29)),
                    ran(4, "a", Succeeded, Some(35)),
                ],
                Succeeded,
                "Succeeded in 4",
                Some(35),
            ),
        ];
        for (runs, status, text, synced) in table {
            let shared = applied(runs);
            let record = &shared.items[&HandlerId::new("h")][&ItemId::new("a")];
            assert_eq!(record.last_status, Some(*status), "{runs:?}");
            assert_eq!(record.last_text, *text, "{runs:?}");
            assert_eq!(record.last_synced, synced.map(at), "{runs:?}");
        }
    }

    #[test]
    fn conflicts_merge_per_item_and_keep_the_decisions_of_either_process() {
        let resolution = |shared: &Shared, item: &str, id: &str| {
            shared
                .conflicts
                .iter()
                .find(|c| c.item == key(item) && c.report.id == id)
                .map(|c| c.resolution)
        };
        // Another process resolved a conflict; ours found the same one again, unchanged.
        let shared = merged(
            &[
                found("a", vec![report("x", 1)], 1),
                resolved("a", "x", Resolution::KeepLeft),
            ],
            &[found("a", vec![report("x", 1)], 9)],
        );
        assert_eq!(
            resolution(&shared, "a", "x"),
            Some(Some(Resolution::KeepLeft))
        );
        assert_eq!(shared.conflicts[0].detected, at(1), "first seen stays");
        // Found again but changed: the old decision no longer applies.
        let shared = merged(
            &[
                found("a", vec![report("x", 1)], 1),
                resolved("a", "x", Resolution::KeepLeft),
            ],
            &[found("a", vec![report("x", 2)], 9)],
        );
        assert_eq!(resolution(&shared, "a", "x"), Some(None));
        // Another process's conflicts of another item are left alone.
        let shared = merged(
            &[found("b", vec![report("y", 1)], 1)],
            &[
                found("a", vec![report("x", 1)], 2),
                resolved("a", "x", Resolution::KeepBoth),
            ],
        );
        assert_eq!(resolution(&shared, "b", "y"), Some(None));
        assert_eq!(
            resolution(&shared, "a", "x"),
            Some(Some(Resolution::KeepBoth))
        );
        // Resolving a conflict another process found gone changes nothing.
        let mut gone = applied(&[found("a", vec![], 1)]);
        assert!(!resolved("a", "x", Resolution::KeepLeft).apply(&mut gone));
        assert!(gone.conflicts.is_empty());
        // An empty report clears the item.
        let shared = merged(
            &[found("a", vec![report("x", 1)], 1)],
            &[found("a", vec![], 2)],
        );
        assert!(shared.conflicts.is_empty());
    }

    #[test]
    fn a_change_says_whether_it_changed_anything() {
        let mut shared = Shared::default();
        let check = Change::Checked {
            item: key("a"),
            checked: false,
        };
        assert!(check.apply(&mut shared));
        assert!(!check.apply(&mut shared));
        let forget = Change::Forgot {
            handler: HandlerId::new("h"),
            present: vec![ItemId::new("a")],
        };
        assert!(!forget.apply(&mut shared));
        let run = ran(1, "a", ItemStatus::Succeeded, Some(1));
        assert!(run.apply(&mut shared));
        assert!(!run.apply(&mut shared));
    }
}
