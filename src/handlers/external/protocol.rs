//! The wire protocol between Sync Center and an external handler: JSON-RPC 2.0, one message
//! per line (newline-delimited JSON), with the parameter and result types of every method.
//! Pure: bytes in, messages out, no I/O. `docs/handler-protocol.md` is the specification.

use crate::core::activity::Activity;
use crate::core::callback::Reply;
use crate::core::conflicts::{ConflictReport, Resolution};
use crate::core::dialog::Form;
use crate::core::figures::Figures;
use crate::core::model::{ItemId, ItemInfo, LogId, LogLevel, RunReason};
use crate::core::preview::{ItemAnswer, ItemPlan};
use crate::core::progress::WorkReport;
use crate::core::status::ItemStatus;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use std::io::Write;

/// The protocol version this center speaks; a handler answering another one is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message a handler may send unless its manifest says otherwise.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;

/// How much of a bad message an error shows.
const EXCERPT_BYTES: usize = 80;

/// Method names, host → handler and handler → host.
pub mod method {
    pub const INITIALIZE: &str = "initialize";
    pub const INFO: &str = "info";
    pub const ENUMERATE: &str = "enumerate";
    pub const PROPERTIES: &str = "properties";
    pub const PREPARE: &str = "prepare";
    pub const SYNCHRONIZE: &str = "synchronize";
    pub const SHOW_ERROR: &str = "show_error";
    pub const PREVIEW: &str = "preview";
    pub const SHUTDOWN: &str = "shutdown";
    pub const SKIP_ITEM: &str = "skip_item";
    pub const STOP_ITEM: &str = "stop_item";
    pub const STOP_ALL: &str = "stop_all";

    pub const PROGRESS: &str = "progress";
    pub const REPORT_WORK: &str = "report_work";
    pub const CHECK: &str = "check";
    pub const LOG: &str = "log";
    pub const DELETE_LOG: &str = "delete_log";
    pub const REQUEST_UI: &str = "request_ui";
    pub const SHOW_FORM: &str = "show_form";
    pub const RELEASE_UI: &str = "release_ui";
    pub const ESTABLISH_CONNECTION: &str = "establish_connection";
    pub const REPLACE_CONFLICTS: &str = "replace_conflicts";
    pub const CHOSEN_RESOLUTIONS: &str = "chosen_resolutions";
    pub const ACTIVITY: &str = "activity";
    pub const ITEMS_CHANGED: &str = "items_changed";
}

/// JSON-RPC error codes used by both sides.
pub mod code {
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    /// The handler failed the call; the message is for the user.
    pub const HANDLER_FAILED: i64 = -32000;
    /// A callback was used outside a call that can take it (e.g. `log` during `enumerate`).
    pub const NO_RUN: i64 = -32001;
}

/// A request id: JSON-RPC allows numbers and strings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(i64),
    Text(String),
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// One decoded message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Request {
        id: RequestId,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    Response {
        /// `None` when the other side could not tell which request failed.
        id: Option<RequestId>,
        outcome: Result<Value, RpcError>,
    },
}

/// Why bytes did not make a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("something that is not a protocol message: {excerpt}")]
    NotJson { excerpt: String },
    #[error("a JSON message that is not JSON-RPC 2.0 ({problem}): {excerpt}")]
    NotJsonRpc {
        problem: &'static str,
        excerpt: String,
    },
    #[error("a message larger than {limit} bytes")]
    TooLarge { limit: usize },
}

/// The first bytes of a bad message, printable.
pub fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Distinguishes a member that is `null` from one that is missing.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    jsonrpc: Option<String>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

/// Decodes one line (without its newline) into a message.
pub fn decode_message(line: &[u8]) -> Result<Message, DecodeError> {
    let not_rpc = |problem| DecodeError::NotJsonRpc {
        problem,
        excerpt: excerpt(line),
    };
    let envelope: Envelope = serde_json::from_slice(line).map_err(|_| DecodeError::NotJson {
        excerpt: excerpt(line),
    })?;
    if envelope.jsonrpc.as_deref() != Some("2.0") {
        return Err(not_rpc("\"jsonrpc\" must be \"2.0\""));
    }
    let id = match envelope.id {
        None | Some(Value::Null) => None,
        Some(id) => Some(
            RequestId::deserialize(id)
                .map_err(|_| not_rpc("\"id\" must be a number or a string"))?,
        ),
    };
    let params = envelope.params.unwrap_or(Value::Null);
    match (envelope.method, envelope.result, envelope.error) {
        (Some(method), None, None) => Ok(match id {
            Some(id) => Message::Request { id, method, params },
            None => Message::Notification { method, params },
        }),
        (None, Some(result), None) => match id {
            Some(id) => Ok(Message::Response {
                id: Some(id),
                outcome: Ok(result),
            }),
            None => Err(not_rpc("a result needs the \"id\" of its request")),
        },
        (None, None, Some(error)) => {
            let error = RpcError::deserialize(error)
                .map_err(|_| not_rpc("\"error\" needs a numeric \"code\" and a \"message\""))?;
            Ok(Message::Response {
                id,
                outcome: Err(error),
            })
        }
        _ => Err(not_rpc(
            "a message has either a \"method\", a \"result\" or an \"error\"",
        )),
    }
}

/// Splits a byte stream into lines and decodes each, keeping what is left of an unfinished
/// line for the next call. A line longer than the limit is reported once, as soon as it is
/// seen to be too long, and then skipped to its end. Feeding the same bytes in any split
/// yields the same messages.
pub struct FrameDecoder {
    partial: Vec<u8>,
    limit: usize,
    /// Inside a line already reported as too large.
    skipping: bool,
}

impl FrameDecoder {
    pub fn new(limit: usize) -> Self {
        Self {
            partial: Vec::new(),
            limit,
            skipping: false,
        }
    }

    /// Decodes every message completed by `bytes`, in order.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut impl FnMut(Result<Message, DecodeError>)) {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            let line = &bytes[..end];
            bytes = &bytes[end + 1..];
            if self.skipping {
                self.skipping = false;
                continue;
            }
            if self.partial.len() + line.len() > self.limit {
                self.partial.clear();
                out(Err(DecodeError::TooLarge { limit: self.limit }));
            } else if self.partial.is_empty() {
                decode_line(line, out);
            } else {
                self.partial.extend_from_slice(line);
                decode_line(&self.partial, out);
                self.partial.clear();
            }
        }
        if self.skipping {
            return;
        }
        if self.partial.len() + bytes.len() > self.limit {
            self.partial.clear();
            self.skipping = true;
            out(Err(DecodeError::TooLarge { limit: self.limit }));
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// The end of the stream: a last line without its newline still counts.
    pub fn finish(&mut self, out: &mut impl FnMut(Result<Message, DecodeError>)) {
        if !self.skipping && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            decode_line(&line, out);
        }
        self.skipping = false;
    }
}

fn decode_line(line: &[u8], out: &mut impl FnMut(Result<Message, DecodeError>)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    out(decode_message(line));
}

#[derive(Serialize)]
struct OutRequest<'a, P> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    params: P,
}

#[derive(Serialize)]
struct OutNotification<'a, P> {
    jsonrpc: &'static str,
    method: &'a str,
    params: P,
}

#[derive(Serialize)]
struct OutResult<'a, R> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    result: R,
}

#[derive(Serialize)]
struct OutError<'a> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    error: &'a RpcError,
}

fn write_line(out: &mut impl Write, message: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, message)?;
    out.write_all(b"\n")
}

/// Writes a request line.
pub fn write_request(
    out: &mut impl Write,
    id: u64,
    method: &str,
    params: &impl Serialize,
) -> std::io::Result<()> {
    write_line(
        out,
        &OutRequest {
            jsonrpc: "2.0",
            id,
            method,
            params,
        },
    )
}

/// Writes a notification line.
pub fn write_notification(
    out: &mut impl Write,
    method: &str,
    params: &impl Serialize,
) -> std::io::Result<()> {
    write_line(
        out,
        &OutNotification {
            jsonrpc: "2.0",
            method,
            params,
        },
    )
}

/// Writes a response line: a result or an error.
pub fn write_response<T: Serialize>(
    out: &mut impl Write,
    id: &RequestId,
    outcome: Result<&T, &RpcError>,
) -> std::io::Result<()> {
    match outcome {
        Ok(result) => write_line(
            out,
            &OutResult {
                jsonrpc: "2.0",
                id,
                result,
            },
        ),
        Err(error) => write_line(
            out,
            &OutError {
                jsonrpc: "2.0",
                id,
                error,
            },
        ),
    }
}

// ---- Parameters and results, host → handler ----

/// Parameters of methods that take none: `{}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoParams {}

/// What the host offers (sent with `initialize`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCapabilities {
    /// `progress` and `report_work` may be sent as notifications (no reply, no round trip).
    pub progress_notifications: bool,
    /// The host can tell skips and stops with `skip_item` / `stop_item` / `stop_all`.
    pub cancel_notifications: bool,
    /// The largest message the host accepts from the handler.
    pub max_message_bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitializeParams {
    pub protocol_version: u32,
    pub reason: RunReason,
    pub may_bother_user: bool,
    pub capabilities: HostCapabilities,
}

/// What the handler wants (answered to `initialize`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerCapabilities {
    /// The handler reads `skip_item` / `stop_item` / `stop_all` while it works; without it
    /// the host sends none and skips and stops arrive only in replies.
    #[serde(default)]
    pub cancel_notifications: bool,
    /// The handler answers `preview`: what a sync would do, changing nothing.
    #[serde(default)]
    pub preview: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitializeResult {
    pub protocol_version: u32,
    /// False is S_FALSE: the handler sits this run out.
    #[serde(default = "yes")]
    pub participate: bool,
    #[serde(default)]
    pub capabilities: HandlerCapabilities,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumerateResult {
    pub items: Vec<ItemInfo>,
    #[serde(default)]
    pub some_missing: bool,
}

/// `properties`: of one item, or of the handler when `item` is null.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertiesParams {
    pub item: Option<ItemId>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertiesResult {
    /// Items were added, removed or renamed: the host enumerates again.
    #[serde(default)]
    pub items_changed: bool,
    /// The item the properties were about was deleted: the host enumerates again and
    /// forgets what it kept for it (its schedules).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub item_deleted: bool,
}

/// `prepare` and `synchronize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemsParams {
    pub items: Vec<ItemId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowErrorParams {
    pub log_id: LogId,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowErrorResult {
    /// Items to prepare and synchronize again (S_SYNCMGR_RETRYSYNC); empty when done.
    #[serde(default)]
    pub retry: Vec<ItemId>,
}

/// `preview`: what a sync of each item would do; `items: null` when the handler cannot say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewResult {
    #[serde(default)]
    pub items: Option<Vec<PlannedItem>>,
}

/// One item of a `preview` answer: its planned changes and notes, or why it cannot be
/// planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedItem {
    pub item: ItemId,
    #[serde(default)]
    pub changes: Vec<Activity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PlannedItem {
    pub fn from_answer((item, planned): ItemAnswer) -> Self {
        match planned {
            Ok(plan) => Self {
                item,
                changes: plan.changes.entries,
                notes: plan.notes,
                error: None,
            },
            Err(error) => Self {
                item,
                changes: Vec::new(),
                notes: Vec::new(),
                error: Some(error),
            },
        }
    }

    /// The answer for the contract; changes past the activity log's bound are counted.
    pub fn into_answer(self) -> ItemAnswer {
        if let Some(error) = self.error {
            return (self.item, Err(error));
        }
        let mut plan = ItemPlan {
            notes: self.notes,
            ..ItemPlan::default()
        };
        for change in self.changes {
            plan.changes.record(change);
        }
        (self.item, Ok(plan))
    }
}

/// `skip_item`, `stop_item`, `check`, `chosen_resolutions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemParams {
    pub item: ItemId,
}

// ---- Parameters and results, handler → host ----
//
// Every parameter struct a handler sends refuses fields it does not have
// (`deny_unknown_fields`): a misspelled field is named in the error instead of silently
// meaning its default.

/// Borrowed when sent, owned when received: progress is the hot path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressParams<'a> {
    pub item: Cow<'a, ItemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// The stage, files and bytes, the entry at hand (`Figures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<Cow<'a, Figures>>,
}

/// The user's answer carried by `progress`, `report_work` and `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyWord {
    Continue,
    SkipItem,
    CancelItem,
    CancelAll,
}

impl From<Reply> for ReplyWord {
    fn from(reply: Reply) -> Self {
        match reply {
            Reply::Continue => ReplyWord::Continue,
            Reply::SkipItem => ReplyWord::SkipItem,
            Reply::CancelItem => ReplyWord::CancelItem,
            Reply::CancelAll => ReplyWord::CancelAll,
        }
    }
}

impl From<ReplyWord> for Reply {
    fn from(word: ReplyWord) -> Self {
        match word {
            ReplyWord::Continue => Reply::Continue,
            ReplyWord::SkipItem => Reply::SkipItem,
            ReplyWord::CancelItem => Reply::CancelItem,
            ReplyWord::CancelAll => Reply::CancelAll,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyResult {
    pub reply: ReplyWord,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportWorkParams<'a> {
    pub item: Cow<'a, ItemId>,
    pub report: WorkReport,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    pub level: LogLevel,
    pub text: String,
    #[serde(default)]
    pub item: Option<ItemId>,
    #[serde(default)]
    pub actionable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogResult {
    pub log_id: LogId,
}

/// `delete_log`: one line (`log_id`), or every line the handler logged in this run
/// (`"all": true`). Deleting is never the default: a misspelled field is refused instead
/// of meaning "all".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteLogParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<LogId>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
}

impl DeleteLogParams {
    pub fn one(id: LogId) -> Self {
        Self {
            log_id: Some(id),
            all: false,
        }
    }

    pub fn all() -> Self {
        Self {
            log_id: None,
            all: true,
        }
    }

    /// What to delete: `Some(id)`, or `None` for every line of the run.
    pub fn target(&self) -> Result<Option<LogId>, &'static str> {
        match (self.log_id, self.all) {
            (Some(id), false) => Ok(Some(id)),
            (None, true) => Ok(None),
            (Some(_), true) => Err("give either `log_id` or `\"all\": true`, not both"),
            (None, false) => Err(
                "name the line to delete with `log_id`, or delete every line of this run with `\"all\": true`",
            ),
        }
    }
}

/// `request_ui` and `show_form` name the item the dialog is about, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestUiParams {
    #[serde(default)]
    pub item: Option<ItemId>,
}

/// Why dialogs were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiRefusal {
    /// The run may not bother the user (scheduled, idle, `--no-prompt`).
    NotAllowed,
    /// The run was stopped while waiting for the UI slot.
    Canceled,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestUiResult {
    pub granted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<UiRefusal>,
    /// The refusal in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowFormParams {
    #[serde(default)]
    pub item: Option<ItemId>,
    pub form: Form,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstablishConnectionParams {
    /// "host:port", or null for the system's own network.
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishConnectionResult {
    pub connected: bool,
    /// The run was stopped while waiting.
    #[serde(default)]
    pub canceled: bool,
    /// Why the target could not be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Entries the handler changed in an item, for the run's activity log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityParams {
    pub item: ItemId,
    pub entries: Vec<Activity>,
}

/// Replaces what the center keeps, so unknown fields are refused rather than ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceConflictsParams {
    pub item: ItemId,
    pub conflicts: Vec<ConflictReport>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenResolution {
    pub conflict: ConflictReport,
    pub resolution: Resolution,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenResolutionsResult {
    pub resolutions: Vec<ChosenResolution>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode_all(chunks: &[&[u8]], limit: usize) -> Vec<Result<Message, DecodeError>> {
        let mut decoder = FrameDecoder::new(limit);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut |m| out.push(m));
        }
        decoder.finish(&mut |m| out.push(m));
        out
    }

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let stream = concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"check","params":{"item":"a"}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"progress","params":{"item":"a","value":1,"max":2}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","id":"x","result":null}"#,
            "\r\n",
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#,
            "\n\n"
        );
        let messages: Vec<Message> = decode_all(&[stream.as_bytes()], 1024)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            messages,
            vec![
                Message::Request {
                    id: RequestId::Number(1),
                    method: "check".into(),
                    params: json!({"item": "a"}),
                },
                Message::Notification {
                    method: "progress".into(),
                    params: json!({"item": "a", "value": 1, "max": 2}),
                },
                Message::Response {
                    id: Some(RequestId::Text("x".into())),
                    outcome: Ok(Value::Null),
                },
                Message::Response {
                    id: None,
                    outcome: Err(RpcError::new(-32700, "bad")),
                },
            ]
        );
    }

    #[test]
    fn a_properties_answer_may_say_the_item_was_deleted() {
        // (the handler's answer, items changed, item deleted)
        let cases = [
            ("{}", false, false),
            (r#"{"items_changed":true}"#, true, false),
            (r#"{"items_changed":true,"item_deleted":true}"#, true, true),
        ];
        for (json, items_changed, item_deleted) in cases {
            let read: PropertiesResult = serde_json::from_str(json).unwrap();
            assert_eq!(
                read,
                PropertiesResult {
                    items_changed,
                    item_deleted
                },
                "{json}"
            );
        }
        // Handlers written before `item_deleted` see the answer they always saw.
        let unchanged = serde_json::to_string(&PropertiesResult::default()).unwrap();
        assert_eq!(unchanged, r#"{"items_changed":false}"#);
    }

    #[test]
    fn garbage_is_reported_with_its_first_bytes() {
        let out = decode_all(&[b"Traceback (most recent call last):\n"], 1024);
        assert_eq!(
            out,
            vec![Err(DecodeError::NotJson {
                excerpt: "Traceback (most recent call last):".into()
            })]
        );
        let long = "x".repeat(200);
        let Err(DecodeError::NotJson { excerpt }) = decode_message(long.as_bytes()) else {
            panic!("not reported");
        };
        assert_eq!(excerpt.len(), 80);
    }

    #[test]
    fn json_that_is_not_json_rpc_is_refused() {
        for (line, problem) in [
            (r#"{"id":1,"method":"x"}"#, "\"jsonrpc\" must be \"2.0\""),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
                "\"id\" must be",
            ),
            (r#"{"jsonrpc":"2.0","result":3}"#, "a result needs"),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#,
                "\"error\" needs",
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, "either a"),
            (r#"[1,2]"#, ""),
        ] {
            let error = decode_message(line.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(problem), "{line}: {error}");
        }
    }

    #[test]
    fn a_message_split_anywhere_decodes_the_same() {
        let stream = concat!(
            r#"{"jsonrpc":"2.0","method":"log","params":{"level":"info","text":"héllo"}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","id":7,"result":{"reply":"continue"}}"#,
            "\n"
        )
        .as_bytes();
        let whole = decode_all(&[stream], 1024);
        assert_eq!(whole.len(), 2);
        for cut in 0..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(decode_all(&[a, b], 1024), whole, "cut at {cut}");
        }
    }

    #[test]
    fn an_oversized_line_is_reported_once_and_skipped() {
        let big = format!("{}\n", "y".repeat(100));
        let ok = "{\"jsonrpc\":\"2.0\",\"method\":\"m\"}\n";
        let stream = format!("{big}{ok}");
        let whole = decode_all(&[stream.as_bytes()], 40);
        assert_eq!(whole[0], Err(DecodeError::TooLarge { limit: 40 }));
        assert!(matches!(whole[1], Ok(Message::Notification { .. })));
        assert_eq!(whole.len(), 2);
        let bytes = stream.as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(7).collect();
        assert_eq!(decode_all(&chunks, 40), whole);
    }

    #[test]
    fn a_last_line_without_newline_still_counts() {
        let out = decode_all(&[br#"{"jsonrpc":"2.0","method":"m"}"#], 100);
        assert!(matches!(out[..], [Ok(Message::Notification { .. })]));
    }

    #[test]
    fn written_messages_decode_back() {
        let mut bytes = Vec::new();
        write_request(
            &mut bytes,
            3,
            method::SYNCHRONIZE,
            &ItemsParams {
                items: vec![ItemId::new("a")],
            },
        )
        .unwrap();
        write_notification(&mut bytes, method::STOP_ALL, &json!({})).unwrap();
        write_response(
            &mut bytes,
            &RequestId::Number(9),
            Ok(&ReplyResult {
                reply: ReplyWord::SkipItem,
            }),
        )
        .unwrap();
        write_response::<()>(
            &mut bytes,
            &RequestId::Text("q".into()),
            Err(&RpcError::new(code::METHOD_NOT_FOUND, "no")),
        )
        .unwrap();
        let out: Vec<Message> = decode_all(&[&bytes], 1024)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(out.len(), 4);
        assert_eq!(
            out[2],
            Message::Response {
                id: Some(RequestId::Number(9)),
                outcome: Ok(json!({"reply": "skip_item"})),
            }
        );
    }

    #[test]
    fn parameter_types_read_the_documented_json() {
        let progress: ProgressParams<'static> = serde_json::from_value(
            json!({"item": "repo", "text": "Fetching", "status": "updating", "value": 2, "max": 5}),
        )
        .unwrap();
        assert_eq!(progress.status, Some(ItemStatus::Updating));
        let init: InitializeResult =
            serde_json::from_value(json!({"protocol_version": 1})).unwrap();
        assert!(init.participate);
        assert!(!init.capabilities.cancel_notifications);
        let work: ReportWorkParams<'static> = serde_json::from_value(
            json!({"item": "a", "report": {"kind": "change_applied", "work": 10}}),
        )
        .unwrap();
        assert_eq!(work.report, WorkReport::ChangeApplied { work: Some(10) });
    }

    #[test]
    fn every_parameter_a_handler_sends_refuses_a_field_it_does_not_have_by_name() {
        fn refusal<T: serde::de::DeserializeOwned>(params: Value) -> String {
            serde_json::from_value::<T>(params)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "accepted".into())
        }
        for (method, refused) in [
            (
                "progress",
                refusal::<ProgressParams<'static>>(json!({"item": "a", "value": 1, "percent": 5})),
            ),
            (
                "report_work",
                refusal::<ReportWorkParams<'static>>(
                    json!({"item": "a", "report": {"kind": "batch_applied"}, "percent": 5}),
                ),
            ),
            (
                "check",
                refusal::<ItemParams>(json!({"item": "a", "percent": 5})),
            ),
            (
                "log",
                refusal::<LogParams>(json!({"level": "info", "text": "t", "percent": 5})),
            ),
            (
                "delete_log",
                refusal::<DeleteLogParams>(json!({"all": true, "percent": 5})),
            ),
            (
                "request_ui",
                refusal::<RequestUiParams>(json!({"item": "a", "percent": 5})),
            ),
            (
                "show_form",
                refusal::<ShowFormParams>(json!({"form": {"title": "Log on"}, "percent": 5})),
            ),
            (
                "establish_connection",
                refusal::<EstablishConnectionParams>(json!({"target": null, "percent": 5})),
            ),
            (
                "replace_conflicts",
                refusal::<ReplaceConflictsParams>(
                    json!({"item": "a", "conflicts": [], "percent": 5}),
                ),
            ),
        ] {
            assert!(
                refused.contains("unknown field `percent`"),
                "{method}: {refused}"
            );
        }
        // A misspelled required field is named as what it is, not as a missing one.
        let misspelled = refusal::<ReplaceConflictsParams>(json!({"item": "a", "conflict": []}));
        assert!(
            misspelled.starts_with("unknown field `conflict`, expected `item` or `conflicts`"),
            "{misspelled}"
        );
    }

    #[test]
    fn deleting_every_line_must_be_said_and_typos_are_refused() {
        let target = |json: Value| {
            serde_json::from_value::<DeleteLogParams>(json)
                .map_err(|e| e.to_string())
                .and_then(|p| p.target().map_err(str::to_string))
        };
        assert_eq!(target(json!({"log_id": 5})), Ok(Some(LogId(5))));
        assert_eq!(target(json!({"all": true})), Ok(None));
        for refused in [
            json!({}),
            json!({"log_id": null}),
            json!({"all": false}),
            json!({"log_id": 5, "all": true}),
        ] {
            assert!(target(refused.clone()).is_err(), "{refused}");
        }
        let typo = target(json!({"id": 5})).unwrap_err();
        assert!(typo.contains("unknown field `id`"), "{typo}");
        assert_eq!(
            serde_json::to_value(DeleteLogParams::all()).unwrap(),
            json!({"all": true})
        );
        assert_eq!(
            serde_json::to_value(DeleteLogParams::one(LogId(7))).unwrap(),
            json!({"log_id": 7})
        );
    }
}
