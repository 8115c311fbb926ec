//! What the views ask for. Views push commands; the app carries them out in one place after
//! the frame is laid out, so no view touches the engine, the store or a thread itself.

use crate::core::conflicts::Resolution;
use crate::core::dialog::{DialogId, FormReply};
use crate::core::model::{HandlerId, ItemKey, LogId, PropertiesTarget};

#[derive(Debug)]
pub enum Command {
    SetChecked(ItemKey, bool),
    /// Start a run of these items (Sync now, Sync all, after resolving conflicts).
    Sync(Vec<ItemKey>),
    StopAll,
    Skip(ItemKey),
    StopItem(ItemKey),
    Properties(HandlerId, PropertiesTarget),
    /// Ask a handler for its items again (it could not list them).
    Relist(HandlerId),
    ShowError(LogId),
    Resolve {
        conflicts: Vec<(ItemKey, String)>,
        resolution: Resolution,
    },
    Answer(DialogId, FormReply),
    BrowseFolder {
        dialog: DialogId,
        field: String,
    },
    DismissNotice(usize),
    ShowConflicts,
    /// Show a folder (or a file) in the desktop's program for it.
    OpenFolder(std::path::PathBuf),
    /// Compare the two versions of a conflict (its id), local files both.
    CompareConflict(String, [std::path::PathBuf; 2]),
    /// Browse the versions a folder pair keeps.
    ShowVersions(ItemKey),
    /// Put a kept version back in its folder.
    RestoreVersion(
        std::path::PathBuf,
        crate::handlers::folders::versions::Version,
    ),
}

/// The commands of one frame.
pub type Commands = Vec<Command>;
