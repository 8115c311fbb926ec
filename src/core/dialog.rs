//! Dialogs as declarative forms, and the broker that lets one dialog show at a time
//! (EnableModeless). A form renders the same in the window, on a terminal and in tests.

use crate::core::model::{HandlerId, ItemId};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::Duration;

/// A dialog: a title, a message, fields and buttons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Form {
    pub title: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(default = "Button::ok_cancel")]
    pub buttons: Vec<Button>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub id: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: Option<String>,
    /// A validation message from the handler, shown under the field.
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        #[serde(default)]
        value: String,
    },
    /// Masked while typed; never logged or stored by the host.
    Password {
        #[serde(default)]
        value: String,
    },
    Checkbox {
        #[serde(default)]
        value: bool,
    },
    Choice {
        options: Vec<String>,
        #[serde(default)]
        selected: usize,
    },
    /// A folder; the window offers a picker, a terminal takes a typed path.
    FolderPath {
        #[serde(default)]
        value: String,
    },
    Number {
        #[serde(default)]
        value: i64,
        #[serde(default)]
        min: Option<i64>,
        #[serde(default)]
        max: Option<i64>,
    },
    ReadOnly {
        text: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub role: ButtonRole,
}

/// Accept buttons validate the form first; the reject button is what Esc presses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonRole {
    #[default]
    Accept,
    Reject,
    Other,
}

/// The value of one field in an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Bool(bool),
    Number(i64),
    Text(String),
}

impl FieldValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(text) => Some(text),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(value) => Some(*value),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<i64> {
        match self {
            FieldValue::Number(value) => Some(*value),
            _ => None,
        }
    }
}

pub type Values = BTreeMap<String, FieldValue>;

/// How a dialog ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FormReply {
    Submitted {
        button: String,
        values: Values,
    },
    /// Esc, the reject button, a closed window, a stopped session.
    Canceled,
}

impl FormReply {
    /// The submitted values when a button with this id was pressed.
    pub fn pressed(&self, button: &str) -> Option<&Values> {
        match self {
            FormReply::Submitted { button: b, values } if b == button => Some(values),
            _ => None,
        }
    }
}

impl Button {
    pub fn new(id: &str, label: &str, role: ButtonRole) -> Self {
        Self {
            id: id.into(),
            label: label.into(),
            role,
        }
    }
    pub fn ok_cancel() -> Vec<Button> {
        vec![
            Button::new("ok", "OK", ButtonRole::Accept),
            Button::new("cancel", "Cancel", ButtonRole::Reject),
        ]
    }
}

impl Field {
    pub fn new(id: &str, label: &str, kind: FieldKind) -> Self {
        Self {
            id: id.into(),
            label: label.into(),
            kind,
            required: false,
            help: None,
            error: None,
        }
    }
    pub fn text(id: &str, label: &str, value: &str) -> Self {
        Self::new(
            id,
            label,
            FieldKind::Text {
                value: value.into(),
            },
        )
    }
    pub fn password(id: &str, label: &str) -> Self {
        Self::new(
            id,
            label,
            FieldKind::Password {
                value: String::new(),
            },
        )
    }
    pub fn checkbox(id: &str, label: &str, value: bool) -> Self {
        Self::new(id, label, FieldKind::Checkbox { value })
    }
    pub fn choice(id: &str, label: &str, options: &[&str], selected: usize) -> Self {
        let options = options.iter().map(|o| o.to_string()).collect();
        Self::new(id, label, FieldKind::Choice { options, selected })
    }
    pub fn folder(id: &str, label: &str, value: &str) -> Self {
        Self::new(
            id,
            label,
            FieldKind::FolderPath {
                value: value.into(),
            },
        )
    }
    pub fn number(id: &str, label: &str, value: i64, min: Option<i64>, max: Option<i64>) -> Self {
        Self::new(id, label, FieldKind::Number { value, min, max })
    }
    pub fn read_only(id: &str, label: &str, text: &str) -> Self {
        Self::new(id, label, FieldKind::ReadOnly { text: text.into() })
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn help(mut self, help: &str) -> Self {
        self.help = Some(help.into());
        self
    }
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// The value this field starts with, or `None` for read-only text.
    pub fn initial_value(&self) -> Option<FieldValue> {
        Some(match &self.kind {
            FieldKind::Text { value }
            | FieldKind::Password { value }
            | FieldKind::FolderPath { value } => FieldValue::Text(value.clone()),
            FieldKind::Checkbox { value } => FieldValue::Bool(*value),
            FieldKind::Choice { options, selected } => {
                FieldValue::Text(options.get(*selected).cloned().unwrap_or_default())
            }
            FieldKind::Number { value, .. } => FieldValue::Number(*value),
            FieldKind::ReadOnly { .. } => return None,
        })
    }

    /// Why `value` is not acceptable for this field, in words for the user.
    pub fn problem(&self, value: Option<&FieldValue>) -> Option<String> {
        let text = value.and_then(FieldValue::as_text).unwrap_or("");
        match &self.kind {
            FieldKind::Text { .. } | FieldKind::Password { .. }
                if self.required && text.trim().is_empty() =>
            {
                Some(format!("{} is required.", self.label))
            }
            FieldKind::FolderPath { .. } => {
                if text.trim().is_empty() {
                    self.required
                        .then(|| format!("{} is required.", self.label))
                } else if !is_full_path(text.trim()) {
                    Some(format!(
                        "{} must be a full path, starting with / (or ~ for your home folder).",
                        self.label
                    ))
                } else {
                    None
                }
            }
            FieldKind::Number { min, max, .. } => match value.and_then(FieldValue::as_number) {
                None => Some(format!("{} must be a whole number.", self.label)),
                Some(n) if min.is_some_and(|min| n < min) => Some(format!(
                    "{} must be at least {}.",
                    self.label,
                    min.unwrap_or_default()
                )),
                Some(n) if max.is_some_and(|max| n > max) => Some(format!(
                    "{} must be at most {}.",
                    self.label,
                    max.unwrap_or_default()
                )),
                Some(_) => None,
            },
            FieldKind::Choice { options, .. } if !options.iter().any(|o| o == text) => {
                Some(format!("Choose one of the options for {}.", self.label))
            }
            _ => None,
        }
    }
}

impl Form {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            message: None,
            fields: Vec::new(),
            buttons: Button::ok_cancel(),
        }
    }
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }
    pub fn buttons(mut self, buttons: Vec<Button>) -> Self {
        self.buttons = buttons;
        self
    }

    /// A logon form: user name (pre-filled) and password.
    pub fn logon(title: impl Into<String>, message: impl Into<String>, user: &str) -> Self {
        Form::new(title)
            .message(message)
            .field(Field::text("user", "User name", user).required())
            .field(Field::password("password", "Password").required())
            .buttons(vec![
                Button::new("ok", "Log on", ButtonRole::Accept),
                Button::new("cancel", "Cancel", ButtonRole::Reject),
            ])
    }

    pub fn initial_values(&self) -> Values {
        self.fields
            .iter()
            .filter_map(|f| Some((f.id.clone(), f.initial_value()?)))
            .collect()
    }

    /// The problems that keep an accept button from submitting `values`, by field id.
    pub fn validate(&self, values: &Values) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter_map(|f| Some((f.id.clone(), f.problem(values.get(&f.id))?)))
            .collect()
    }

    /// The id of the button Esc presses, if the form has one.
    pub fn reject_button(&self) -> Option<&Button> {
        self.buttons.iter().find(|b| b.role == ButtonRole::Reject)
    }
}

/// Identifies one open dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(pub u64);

/// A dialog handed to a front end. Answer it with [`DialogRequest::answer`]; dropping it
/// unanswered answers "canceled", so a handler never waits on a dialog nobody shows.
#[derive(Debug)]
pub struct DialogRequest {
    pub id: DialogId,
    pub handler: HandlerId,
    pub handler_name: String,
    pub item: Option<ItemId>,
    pub item_name: Option<String>,
    pub form: Form,
    reply: Option<Sender<FormReply>>,
}

impl DialogRequest {
    pub(crate) fn new(
        id: DialogId,
        handler: HandlerId,
        handler_name: String,
        item: Option<(ItemId, String)>,
        form: Form,
    ) -> (Self, Receiver<FormReply>) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (item, item_name) = item.map_or((None, None), |(id, name)| (Some(id), Some(name)));
        let request = Self {
            id,
            handler,
            handler_name,
            item,
            item_name,
            form,
            reply: Some(tx),
        };
        (request, rx)
    }

    pub fn answer(mut self, reply: FormReply) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(reply);
        }
    }
}

impl Drop for DialogRequest {
    fn drop(&mut self) {
        if let Some(tx) = self.reply.take() {
            let _ = tx.send(FormReply::Canceled);
        }
    }
}

/// Why a handler may not show a dialog (EnableModeless(TRUE) answered S_FALSE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UiRefused {
    #[error("this run may not show dialogs (scheduled, idle, --no-prompt, or no terminal)")]
    NotAllowed,
    #[error("the run was stopped")]
    Canceled,
}

/// The single UI slot: who may show a dialog now, and who waits in which order.
#[derive(Default)]
pub struct DialogBroker {
    state: Mutex<BrokerState>,
    changed: Condvar,
}

#[derive(Default)]
struct BrokerState {
    holder: Option<u64>,
    holder_name: String,
    queue: VecDeque<u64>,
    next_ticket: u64,
    next_dialog: u64,
}

/// How often a waiting handler looks whether it was stopped.
const POLL: Duration = Duration::from_millis(50);

impl DialogBroker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for the UI slot in arrival order. `who` names the asking handler; `on_queued` is
    /// told once who holds the slot (so the item can say what it waits for); `canceled` is
    /// polled so a stop ends the wait.
    pub(crate) fn acquire(
        &self,
        who: &str,
        canceled: &dyn Fn() -> bool,
        on_queued: &mut dyn FnMut(&str),
    ) -> Result<u64, UiRefused> {
        let mut state = self.state.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push_back(ticket);
        let mut told = false;
        loop {
            // A stopped run never gets the slot, even when it is free.
            if canceled() {
                state.queue.retain(|t| *t != ticket);
                self.changed.notify_all();
                return Err(UiRefused::Canceled);
            }
            if state.holder.is_none() && state.queue.front() == Some(&ticket) {
                state.queue.pop_front();
                state.holder = Some(ticket);
                state.holder_name = who.to_string();
                return Ok(ticket);
            }
            if !told {
                told = true;
                let holder = state.holder_name.clone();
                drop(state);
                on_queued(&holder);
                state = self.state.lock();
                continue;
            }
            self.changed.wait_for(&mut state, POLL);
        }
    }

    pub(crate) fn next_dialog_id(&self) -> DialogId {
        let mut state = self.state.lock();
        state.next_dialog += 1;
        DialogId(state.next_dialog)
    }

    /// Whether some handler holds the slot now.
    pub fn busy(&self) -> bool {
        self.state.lock().holder.is_some()
    }

    /// Gives the slot back (EnableModeless(FALSE)); a ticket that no longer holds it is ignored.
    pub(crate) fn release(&self, ticket: u64) {
        let mut state = self.state.lock();
        if state.holder == Some(ticket) {
            state.holder = None;
        }
        self.changed.notify_all();
    }
}

/// A full path, or one from the home folder (`~` or `~/…`), which the handler expands.
fn is_full_path(text: &str) -> bool {
    text == "~" || text.starts_with("~/") || Path::new(text).is_absolute()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn forms_validate_required_numbers_paths_and_choices() {
        let form = Form::new("Properties")
            .field(Field::text("name", "Name", "").required())
            .field(Field::number("days", "Keep days", 5, Some(1), Some(30)))
            .field(Field::folder("left", "Left folder", "relative/path"))
            .field(Field::choice("mode", "Mode", &["two-way", "mirror"], 0))
            .field(Field::read_only("note", "Note", "hello"));
        let mut values = form.initial_values();
        assert!(!values.contains_key("note"));
        let problems: Vec<_> = form
            .validate(&values)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(problems, ["name", "left"]);
        values.insert("name".into(), FieldValue::Text("Docs".into()));
        values.insert("left".into(), FieldValue::Text("/home/me/Docs".into()));
        values.insert("days".into(), FieldValue::Number(31));
        let problems = form.validate(&values);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].1, "Keep days must be at most 30.");
        values.insert("days".into(), FieldValue::Number(30));
        values.insert("mode".into(), FieldValue::Text("sideways".into()));
        assert_eq!(form.validate(&values)[0].0, "mode");
        values.insert("mode".into(), FieldValue::Text("mirror".into()));
        assert!(form.validate(&values).is_empty());
    }

    #[test]
    fn forms_round_trip_through_json() {
        let form = Form::logon("Log on to Mail", "Your password expired.", "ann");
        let json = serde_json::to_string(&form).unwrap();
        assert_eq!(serde_json::from_str::<Form>(&json).unwrap(), form);
        let reply = FormReply::Submitted {
            button: "ok".into(),
            values: form.initial_values(),
        };
        let json = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<FormReply>(&json).unwrap(), reply);
    }

    #[test]
    fn a_dropped_request_answers_canceled() {
        let (request, reply) = DialogRequest::new(
            DialogId(1),
            HandlerId::new("h"),
            "H".into(),
            None,
            Form::new("x"),
        );
        drop(request);
        assert_eq!(reply.recv().unwrap(), FormReply::Canceled);
    }

    #[test]
    fn the_slot_goes_to_one_holder_at_a_time_in_arrival_order() {
        let broker = Arc::new(DialogBroker::new());
        let first = broker.acquire("t", &|| false, &mut |_| {}).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for n in 0..3 {
            let (broker, order) = (broker.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let slot = broker.acquire("t", &|| false, &mut |_| {}).unwrap();
                order.lock().push(n);
                std::thread::sleep(Duration::from_millis(20));
                broker.release(slot);
            }));
            // Let each one queue before the next.
            std::thread::sleep(Duration::from_millis(60));
        }
        assert!(
            order.lock().is_empty(),
            "nobody gets the slot while it is held"
        );
        broker.release(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock(), vec![0, 1, 2]);
        assert!(!broker.busy());
    }

    #[test]
    fn a_stop_ends_the_wait_for_the_slot() {
        let broker = Arc::new(DialogBroker::new());
        let held = broker.acquire("t", &|| false, &mut |_| {}).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (broker, stop) = (broker.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut queued = false;
                let result = broker
                    .acquire("t", &|| stop.load(Ordering::SeqCst), &mut |_| queued = true)
                    .map(|_| ());
                (result, queued)
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        stop.store(true, Ordering::SeqCst);
        assert_eq!(waiter.join().unwrap(), (Err(UiRefused::Canceled), true));
        broker.release(held);
        assert!(broker.acquire("t", &|| false, &mut |_| {}).is_ok());
    }
}
