//! Item status (SYNCMGRSTATUS / SYNCMGR_PROGRESS_STATUS) and Vista's rule that a finished
//! item may only turn into a failed one.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an item stands in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Selected for the run, not started (SYNCMGRSTATUS_PENDING).
    Pending,
    /// Blocked on something outside the handler; the reason is always known.
    Waiting,
    /// Working with a known amount of work (SYNCMGRSTATUS_UPDATING).
    Updating,
    /// Working, amount unknown: a marquee bar (SYNCMGRSTATUS_UPDATING_INDETERMINATE).
    Indeterminate,
    Succeeded,
    Failed,
    /// The user skipped it (SYNCMGRSTATUS_SKIPPED), or its handler did not take part.
    Skipped,
    /// The user stopped it (SYNCMGR_PS_CANCELED).
    Canceled,
}

impl ItemStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ItemStatus::Succeeded | ItemStatus::Failed | ItemStatus::Skipped | ItemStatus::Canceled
        )
    }

    /// Vista's ReportProgress rule: once an item has succeeded, failed, been skipped or
    /// canceled, only "failed" may follow. Anything else is refused (E_ACCESSDENIED).
    pub fn may_become(self, next: ItemStatus) -> bool {
        !self.is_terminal() || next == ItemStatus::Failed
    }

    /// The status in one word, as records and the bus spell it: its serde name.
    pub fn word(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(word)) => word,
            _ => unreachable!("a unit variant serializes to its name"),
        }
    }

    /// The status a word names (the inverse of [`ItemStatus::word`]).
    pub fn from_word(word: &str) -> Option<ItemStatus> {
        serde_json::from_value(serde_json::Value::from(word)).ok()
    }

    pub fn label(self) -> &'static str {
        match self {
            ItemStatus::Pending => "Pending",
            ItemStatus::Waiting => "Waiting",
            ItemStatus::Updating => "Synchronizing",
            ItemStatus::Indeterminate => "Synchronizing",
            ItemStatus::Succeeded => "Succeeded",
            ItemStatus::Failed => "Failed",
            ItemStatus::Skipped => "Skipped",
            ItemStatus::Canceled => "Canceled",
        }
    }
}

impl fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why an item waits. Shown next to it so that nothing is ever "queued" without a reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "for", rename_all = "snake_case")]
pub enum WaitReason {
    /// Another handler may show dialogs now; this one waits in line to ask.
    OtherDialog { handler: String },
    /// A dialog about this item is open and needs the user.
    YourAnswer,
    /// The handler asked for a connection that is not up yet.
    Connection { target: String },
    /// Its handler is busy with another session's run and does not take two at once.
    Handler,
    /// The handler needed to ask the user (a logon) in a run that may not show dialogs;
    /// the item is left for the user to answer (Sync now, or the tray's "Answer what waits").
    CouldNotAsk,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The other handler holds the dialogs; it may not be showing one this moment.
            WaitReason::OtherDialog { handler } => {
                write!(f, "Waiting for its turn to ask you (after {handler})")
            }
            WaitReason::YourAnswer => f.write_str("Waiting for your answer"),
            WaitReason::Connection { target } => write!(f, "Waiting for a connection to {target}"),
            WaitReason::Handler => f.write_str("Waiting for its handler to finish another run"),
            WaitReason::CouldNotAsk => f.write_str("Waits for your answer: the run could not ask"),
        }
    }
}

/// How an item ends when its handler was refused a dialog because the run may not bother
/// the user (`UiRefused::NotAllowed`, EnableModeless → S_FALSE), given its status at the end
/// and whether someone asked for the run. In a run nobody asked for (scheduled, idle, at
/// logon, on a change or the network) an item its handler failed did not really fail: it
/// waits for the user to answer. In a run someone asked for without dialogs
/// (`--no-prompt`, another program), the handler's word stands, as does any status other
/// than failed.
pub fn unasked_outcome(
    status: ItemStatus,
    someone_asked: bool,
) -> (ItemStatus, Option<WaitReason>) {
    match status {
        ItemStatus::Failed if !someone_asked => {
            (ItemStatus::Waiting, Some(WaitReason::CouldNotAsk))
        }
        other => (other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::ItemStatus::*;
    use super::*;

    const ALL: [ItemStatus; 8] = [
        Pending,
        Waiting,
        Updating,
        Indeterminate,
        Succeeded,
        Failed,
        Skipped,
        Canceled,
    ];

    #[test]
    fn finished_items_only_turn_into_failed_ones() {
        for from in ALL {
            for to in ALL {
                let allowed = from.may_become(to);
                let expected = !from.is_terminal() || to == Failed;
                assert_eq!(allowed, expected, "{from:?} -> {to:?}");
            }
        }
        assert!(Succeeded.may_become(Failed));
        assert!(!Succeeded.may_become(Updating));
        assert!(!Canceled.may_become(Succeeded));
        assert!(Pending.may_become(Succeeded));
    }

    #[test]
    fn an_item_that_could_not_ask_waits_only_when_nobody_asked_for_the_run() {
        for status in ALL {
            for someone_asked in [false, true] {
                let expected = if status == Failed && !someone_asked {
                    (Waiting, Some(WaitReason::CouldNotAsk))
                } else {
                    (status, None)
                };
                assert_eq!(
                    unasked_outcome(status, someone_asked),
                    expected,
                    "{status:?} someone_asked={someone_asked}"
                );
            }
        }
    }

    #[test]
    fn statuses_have_words_that_read_back() {
        for status in ALL {
            let word = status.word();
            assert_eq!(ItemStatus::from_word(&word), Some(status), "{word}");
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::from(word)
            );
        }
        assert_eq!(ItemStatus::from_word("bogus"), None);
    }
}
