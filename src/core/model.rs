//! The nouns of the handler contract: handlers, items, run reasons, log lines.
//! (SYNCMGRHANDLERINFO, SYNCMGRITEM, SYNCMGRFLAG, SYNCMGRLOGERRORINFO.)

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::SystemTime;

/// Stable id of a handler ("folders", "demo", "ext:git-repos"). Plays the role of the CLSID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HandlerId(pub String);

/// Id of an item inside its handler. Like Vista's item ids, a string, not a GUID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(pub String);

/// An item anywhere in the center: the handler it belongs to and its id there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ItemKey {
    pub handler: HandlerId,
    pub item: ItemId,
}

impl HandlerId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ItemId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ItemKey {
    pub fn new(handler: impl Into<String>, item: impl Into<String>) -> Self {
        Self {
            handler: HandlerId(handler.into()),
            item: ItemId(item.into()),
        }
    }
}

impl fmt::Display for HandlerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.handler, self.item)
    }
}

/// Why a run happens (the event code of SYNCMGRFLAG).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunReason {
    /// The user asked (Sync now, `synccenter sync`). SYNCMGRFLAG_MANUAL.
    Manual,
    /// A schedule fired. SYNCMGRFLAG_SCHEDULED.
    Scheduled,
    /// The computer is idle. SYNCMGRFLAG_IDLE.
    Idle,
    /// Another program asked, passing a cookie back to the handler. SYNCMGRFLAG_INVOKE.
    Invoke { cookie: Vec<u8> },
    /// The user logged on. The XP Logon/Logoff tab.
    Logon,
    /// Files of the item changed (a watched folder pair). Like a schedule, nobody is there.
    Changed,
    /// The network came back (NetworkManager reports connectivity again). Nobody is there.
    Network,
    /// Only for configuration: listing items, properties. SYNCMGRFLAG_SETTINGS.
    Settings,
}

impl RunReason {
    /// Whether a run for this reason may show dialogs at all. Scheduled, idle, logon,
    /// change- and network-triggered runs start without anyone asking, so they never bother
    /// the user.
    pub fn allows_prompts(&self) -> bool {
        !matches!(
            self,
            RunReason::Scheduled
                | RunReason::Idle
                | RunReason::Logon
                | RunReason::Changed
                | RunReason::Network
        )
    }
}

/// What `Handler::initialize` is told (SYNCMGRFLAG event code + SYNCMGRFLAG_MAYBOTHERUSER).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunContext {
    pub reason: RunReason,
    pub may_bother_user: bool,
}

/// A handler's answer to `initialize` (S_OK / S_FALSE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Participation {
    TakesPart,
    NotTakingPart,
}

/// An icon by name, drawn by each front end in its own way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Icon {
    #[default]
    Generic,
    Folder,
    Mail,
    Calendar,
    Contacts,
    Photos,
    Device,
    Repository,
    Cloud,
    Program,
}

impl Icon {
    /// Parses the names used in handler manifests and the protocol; unknown names fall back.
    pub fn from_name(name: &str) -> Icon {
        match name {
            "folder" => Icon::Folder,
            "mail" => Icon::Mail,
            "calendar" => Icon::Calendar,
            "contacts" => Icon::Contacts,
            "photos" => Icon::Photos,
            "device" => Icon::Device,
            "repository" | "repo" | "git" => Icon::Repository,
            "cloud" => Icon::Cloud,
            "program" => Icon::Program,
            _ => Icon::Generic,
        }
    }
}

/// SYNCMGRHANDLERINFO: name, icon, whether the handler has a properties dialog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerInfo {
    pub name: String,
    #[serde(default)]
    pub icon: Icon,
    #[serde(default)]
    pub has_properties: bool,
}

/// SYNCMGRITEM: one thing a handler can synchronize.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInfo {
    pub id: ItemId,
    pub name: String,
    #[serde(default)]
    pub icon: Icon,
    /// SYNCMGRITEMSTATE_CHECKED: checked when the user has not chosen yet.
    #[serde(default = "yes")]
    pub checked_by_default: bool,
    /// ftLastUpdate with SYNCMGRITEM_LASTUPDATETIME, as the handler knows it.
    #[serde(default, with = "opt_unix_millis")]
    pub last_synced: Option<SystemTime>,
    #[serde(default)]
    pub has_properties: bool,
    /// SYNCMGRITEM_TEMPORARY: the stored choice for this item may be forgotten.
    #[serde(default)]
    pub temporary: bool,
    /// What tells the item apart beyond its name, shown beside it (a folder pair's two
    /// folders and its direction: "~/Documents ↔ /media/usb/Documents").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Folders on this computer that hold the item, which the window offers to open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folders: Vec<std::path::PathBuf>,
}

fn yes() -> bool {
    true
}

impl ItemInfo {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: ItemId(id.into()),
            name: name.into(),
            icon: Icon::Generic,
            checked_by_default: true,
            last_synced: None,
            has_properties: false,
            temporary: false,
            detail: None,
            folders: Vec::new(),
        }
    }
}

/// The result of enumerating (EnumSyncMgrItems). `some_missing` is S_SYNCMGR_MISSINGITEMS:
/// the stored choices of ids that were not returned are kept, not forgotten.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enumeration {
    pub items: Vec<ItemInfo>,
    pub some_missing: bool,
}

/// What `show_properties` is about (GUID_NULL means the handler itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertiesTarget {
    Handler,
    Item(ItemId),
}

/// How `show_properties` ended: nothing changed, or items were added, deleted or renamed
/// and the host must enumerate again (S_SYNCMGR_ENUMITEMS, our reading), or the item the
/// properties were about was deleted (S_SYNCMGR_ITEMDELETED): the host enumerates again
/// and forgets what it kept for that item, such as the schedules that synced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertiesOutcome {
    Unchanged,
    ItemsChanged,
    ItemDeleted,
}

/// How `show_error` ended (ShowErrorCompleted): done, or retry these items
/// (S_SYNCMGR_RETRYSYNC): the host runs prepare + synchronize again for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShowErrorOutcome {
    Done,
    Retry(Vec<ItemId>),
}

/// SYNCMGRLOGLEVEL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        })
    }
}

/// Id of a logged line (SYNCMGRERRORID), unique across sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogId(pub u64);

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Id of one run of the session engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub u64);

/// A logged line as the host keeps it (LogError + SYNCMGRLOGERRORINFO; Vista's ISyncMgrEvent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub id: LogId,
    pub session: SessionId,
    pub handler: HandlerId,
    pub handler_name: String,
    pub item: Option<ItemId>,
    pub level: LogLevel,
    pub text: String,
    /// SYNCMGRERRORFLAG_ENABLEJUMPTEXT: the handler can show details (ShowError).
    pub actionable: bool,
    #[serde(with = "unix_millis")]
    pub time: SystemTime,
    /// Sync Center wrote this line about the handler (a rule it broke, a stop it ignored);
    /// the handler cannot retract it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_center: bool,
}

/// Times as milliseconds since the Unix epoch, so state files stay readable.
pub mod unix_millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    pub fn to_millis(t: SystemTime) -> i64 {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        }
    }

    pub fn from_millis(ms: i64) -> SystemTime {
        if ms >= 0 {
            UNIX_EPOCH + Duration::from_millis(ms as u64)
        } else {
            UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
        }
    }

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(to_millis(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(from_millis(i64::deserialize(d)?))
    }
}

/// `Option<SystemTime>` as optional Unix milliseconds.
pub mod opt_unix_millis {
    use super::unix_millis::{from_millis, to_millis};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&to_millis(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        Ok(Option::<i64>::deserialize(d)?.map(from_millis))
    }
}
