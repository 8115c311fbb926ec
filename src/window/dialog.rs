//! Handlers' dialogs: a queue of requests, the front one shown as a modal form. The window
//! keeps updating behind it; a request that is dropped answers "canceled" by itself.

use crate::core::dialog::{
    ButtonRole, DialogId, DialogRequest, Field, FieldKind, FieldValue, Form, FormReply, Values,
};
use crate::window::command::{Command, Commands};
use crate::window::icons;
use crossbeam_channel::{Receiver, Sender};
use egui::{Key, RichText, TextEdit, Ui};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

/// A folder the picker returned (`None`: canceled, or no picker on this desktop).
pub struct FolderPick {
    pub dialog: DialogId,
    pub field: String,
    pub path: Option<PathBuf>,
    /// The desktop has no folder picker at all.
    pub unavailable: bool,
}

/// Why a folder field's picker came back without a folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unpicked {
    Canceled,
    NoPicker,
}

/// The width of a text field, and of the help under a field.
const FIELD_WIDTH: f32 = 280.0;
/// A dialog's width when the window has room for it.
const DIALOG_WIDTH: f32 = 420.0;
/// Room a dialog keeps for its heading, buttons and margins around the scrolled fields.
const DIALOG_CHROME: f32 = 190.0;

struct OpenDialog {
    request: DialogRequest,
    values: Values,
    /// Why the last press of an accept button was refused, by field id.
    problems: BTreeMap<String, String>,
    /// The folder field whose picker came back without a folder, and why.
    unpicked: Option<(String, Unpicked)>,
    /// The field that takes the keyboard next frame.
    focus: Focus,
}

/// Which field takes the keyboard: when the dialog opens, the first field in error (a
/// handler that refused the last answer says which) or else the first empty text field;
/// after a refused press of OK, the first field in error.
#[derive(Clone, Debug, PartialEq)]
enum Focus {
    FirstEmpty,
    Field(String),
    Done,
}

impl Focus {
    fn on_open(form: &Form) -> Self {
        form.fields
            .iter()
            .find(|f| f.error.is_some())
            .map_or(Self::FirstEmpty, |f| Self::Field(f.id.clone()))
    }

    /// The first field of `form`, in its order, that `problems` is about.
    fn first_problem(form: &Form, problems: &BTreeMap<String, String>) -> Self {
        form.fields
            .iter()
            .find(|f| problems.contains_key(&f.id))
            .map_or(Self::Done, |f| Self::Field(f.id.clone()))
    }

    /// Whether this field should take the keyboard now; `empty` says whether it is an empty
    /// text field.
    fn wants(&self, field: &str, empty: bool) -> bool {
        match self {
            Self::FirstEmpty => empty,
            Self::Field(id) => id == field,
            Self::Done => false,
        }
    }
}

pub struct Dialogs {
    queue: VecDeque<OpenDialog>,
    picks: (Sender<FolderPick>, Receiver<FolderPick>),
}

impl Default for Dialogs {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            picks: crossbeam_channel::unbounded(),
        }
    }
}

impl Dialogs {
    pub fn push(&mut self, request: DialogRequest) {
        let values = request.form.initial_values();
        let focus = Focus::on_open(&request.form);
        self.queue.push_back(OpenDialog {
            request,
            values,
            problems: BTreeMap::new(),
            unpicked: None,
            focus,
        });
    }

    /// The core closed it (its session stopped): take it down unanswered.
    pub fn close(&mut self, id: DialogId) {
        self.queue.retain(|d| d.request.id != id);
    }

    pub fn answer(&mut self, id: DialogId, reply: FormReply) {
        if let Some(index) = self.queue.iter().position(|d| d.request.id == id)
            && let Some(open) = self.queue.remove(index)
        {
            open.request.answer(reply);
        }
    }

    pub fn is_open(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Where folder pickers send their answers.
    pub fn pick_sender(&self) -> Sender<FolderPick> {
        self.picks.0.clone()
    }

    /// Takes in what folder pickers answered since the last frame.
    pub fn take_picks(&mut self) {
        for pick in self.picks.1.try_iter() {
            let Some(open) = self.queue.iter_mut().find(|d| d.request.id == pick.dialog) else {
                continue;
            };
            match pick.path {
                Some(path) => {
                    let text = path.to_string_lossy().into_owned();
                    open.values.insert(pick.field, FieldValue::Text(text));
                    open.unpicked = None;
                }
                None if pick.unavailable => open.unpicked = Some((pick.field, Unpicked::NoPicker)),
                None => open.unpicked = Some((pick.field, Unpicked::Canceled)),
            }
        }
    }

    /// Shows the front dialog, if any; `running` offers to stop the runs going on.
    pub fn ui(&mut self, ctx: &egui::Context, running: bool, out: &mut Commands) {
        let Some(open) = self.queue.front_mut() else {
            return;
        };
        let id = open.request.id;
        let escape = ctx.input(|i| i.key_pressed(Key::Escape));
        let frame = egui::Frame::window(&ctx.global_style()).inner_margin(16.0);
        let modal = egui::Modal::new(egui::Id::unique(("sync-center-dialog", id.0))).frame(frame);
        // A dialog never grows past the window: narrower in a small window, and its fields
        // scroll when they are taller than the room left beside the heading and buttons.
        let screen = ctx.content_rect();
        let width = DIALOG_WIDTH.min(screen.width() - 64.0).max(200.0);
        let fields_height = (screen.height() - DIALOG_CHROME).max(80.0);
        let shown = modal.show(ctx, |ui| {
            ui.set_width(width);
            open.ui(ui, running, fields_height, out);
        });
        if closes_on_escape(&shown, escape) {
            out.push(Command::Answer(id, FormReply::Canceled));
        }
    }
}

/// Whether Esc closes this modal: it was pressed (`escape`, read before the modal was shown),
/// the modal is the top one, and no dropdown's list was open — Esc then closes only the list,
/// and what the user filled in stays.
pub(crate) fn closes_on_escape<T>(modal: &egui::ModalResponse<T>, escape: bool) -> bool {
    escape && modal.is_top_modal && !modal.any_popup_open
}

impl OpenDialog {
    fn ui(&mut self, ui: &mut Ui, running: bool, fields_height: f32, out: &mut Commands) {
        let request = &self.request;
        let form = &request.form;
        ui.add(egui::Label::new(RichText::new(&form.title).heading()).wrap());
        let about = match &request.item_name {
            Some(item) => format!("{} · {item}", request.handler_name),
            None => request.handler_name.clone(),
        };
        ui.label(RichText::new(about).weak());
        let mut submit_by_enter = false;
        egui::ScrollArea::vertical()
            .id_salt(("dialog-scroll", request.id.0))
            .max_height(fields_height)
            .show(ui, |ui| {
                if let Some(message) = &form.message {
                    ui.add_space(6.0);
                    ui.label(message);
                }
                ui.add_space(10.0);
                egui::Grid::new(("dialog-fields", request.id.0))
                    .num_columns(2)
                    .spacing([12.0, 6.0])
                    .show(ui, |ui| {
                        for field in &form.fields {
                            let problem = self.problems.get(&field.id).or(field.error.as_ref());
                            submit_by_enter |= field_row(
                                ui,
                                field,
                                &mut self.values,
                                request.id,
                                problem,
                                &mut self.focus,
                                out,
                            );
                            match &self.unpicked {
                                Some((id, why)) if *id == field.id => {
                                    let note = match why {
                                        Unpicked::Canceled => {
                                            "No folder was chosen. You can type the full path instead."
                                        }
                                        Unpicked::NoPicker => {
                                            "No folder picker is available on this desktop — type the path."
                                        }
                                    };
                                    note_under(ui, RichText::new(note).weak());
                                }
                                _ => {}
                            }
                        }
                    });
            });
        self.focus = Focus::Done;
        ui.add_space(12.0);
        let mut pressed = None;
        // The window behind is modal to this dialog; its run can be stopped here, from a row
        // of its own: beside three answers ("Delete 30 files", "Restore 30 files", "Don't
        // delete") it ran into the first of them.
        if running
            && ui
                .button(format!("{} Stop synchronizing", icons::STOP))
                .clicked()
        {
            out.push(Command::StopAll);
        }
        let row = egui::vec2(ui.available_width(), ui.spacing().interact_size.y);
        let right_to_left = egui::Layout::right_to_left(egui::Align::Center);
        ui.allocate_ui_with_layout(row, right_to_left, |ui| {
            // Right to left: the reject button ends up rightmost, as on most desktops.
            for button in form.buttons.iter().rev() {
                if ui.button(&button.label).clicked() {
                    pressed = Some(button);
                }
            }
        });
        if pressed.is_none() && submit_by_enter {
            pressed = form.buttons.iter().find(|b| b.role == ButtonRole::Accept);
        }
        let Some(button) = pressed else {
            return;
        };
        let reply = match button.role {
            ButtonRole::Reject => FormReply::Canceled,
            ButtonRole::Accept => {
                self.problems = form.validate(&self.values).into_iter().collect();
                if !self.problems.is_empty() {
                    self.focus = Focus::first_problem(form, &self.problems);
                    return;
                }
                FormReply::Submitted {
                    button: button.id.clone(),
                    values: self.values.clone(),
                }
            }
            ButtonRole::Other => FormReply::Submitted {
                button: button.id.clone(),
                values: self.values.clone(),
            },
        };
        out.push(Command::Answer(request.id, reply));
    }
}

/// One field: its label, its control, and under it the help and any problem. Returns true
/// when Enter was pressed in a text field.
fn field_row(
    ui: &mut Ui,
    field: &Field,
    values: &mut Values,
    dialog: DialogId,
    problem: Option<&String>,
    focus: &mut Focus,
    out: &mut Commands,
) -> bool {
    let label = match field.kind {
        FieldKind::Checkbox { .. } => ui.label(""),
        _ => ui.label(&field.label),
    };
    let mut entered = false;
    let value = values
        .entry(field.id.clone())
        .or_insert_with(|| field.initial_value().unwrap_or(FieldValue::Bool(false)));
    let takes_focus = |response: &egui::Response, focus: &mut Focus, empty: bool| {
        if focus.wants(&field.id, empty) {
            response.request_focus();
            response.scroll_to_me(None);
            *focus = Focus::Done;
        }
    };
    match (&field.kind, value) {
        (FieldKind::Checkbox { .. }, FieldValue::Bool(checked)) => {
            let response = ui.checkbox(checked, &field.label);
            takes_focus(&response, focus, false);
        }
        (FieldKind::Number { min, max, .. }, FieldValue::Number(number)) => {
            let range = min.unwrap_or(i64::MIN)..=max.unwrap_or(i64::MAX);
            let response = ui
                .add(egui::DragValue::new(number).range(range))
                .labelled_by(label.id);
            takes_focus(&response, focus, false);
        }
        (FieldKind::Choice { options, .. }, FieldValue::Text(chosen)) => {
            let response = egui::ComboBox::from_id_salt(("choice", dialog.0, &field.id))
                .selected_text(chosen.as_str())
                .show_ui(ui, |ui| {
                    for option in options {
                        ui.selectable_value(chosen, option.clone(), option);
                    }
                })
                .response
                .labelled_by(label.id);
            takes_focus(&response, focus, false);
        }
        (FieldKind::ReadOnly { text }, _) => {
            ui.label(text);
        }
        (kind, FieldValue::Text(text)) => {
            let folder = matches!(kind, FieldKind::FolderPath { .. });
            ui.horizontal(|ui| {
                let width = if folder {
                    FIELD_WIDTH - 80.0
                } else {
                    FIELD_WIDTH
                };
                let edit = TextEdit::singleline(text)
                    .password(matches!(kind, FieldKind::Password { .. }))
                    .desired_width(width);
                let response = ui.add(edit).labelled_by(label.id);
                takes_focus(&response, focus, text.is_empty());
                entered = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                if folder
                    && ui
                        .button("Browse…")
                        .on_hover_text("Choose the folder in a file dialog")
                        .clicked()
                {
                    out.push(Command::BrowseFolder {
                        dialog,
                        field: field.id.clone(),
                    });
                }
            });
        }
        // A value of the wrong type (never from initial_values): show nothing to edit.
        _ => {
            ui.label("");
        }
    }
    ui.end_row();
    for (text, is_problem) in [(field.help.as_ref(), false), (problem, true)] {
        if let Some(text) = text {
            let visuals = ui.visuals();
            let color = if is_problem {
                visuals.error_fg_color
            } else {
                visuals.weak_text_color()
            };
            note_under(ui, RichText::new(text).color(color));
        }
    }
    entered
}

/// A grid row of small text under a field (help, a problem, a note), wrapped to the
/// field's width so it never widens the dialog.
fn note_under(ui: &mut Ui, text: RichText) {
    ui.label("");
    ui.scope(|ui| {
        ui.set_max_width(FIELD_WIDTH);
        ui.add(egui::Label::new(text.small()).wrap());
    });
    ui.end_row();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::HandlerId;

    fn request(id: u64) -> (DialogRequest, Receiver<FormReply>) {
        let form = Form::new("Pick").field(Field::folder("dir", "Folder", ""));
        DialogRequest::new(DialogId(id), HandlerId::new("h"), "H".into(), None, form)
    }

    #[test]
    fn answers_reach_the_handler_and_the_next_dialog_follows() {
        let mut dialogs = Dialogs::default();
        let (first, first_reply) = request(1);
        let (second, second_reply) = request(2);
        dialogs.push(first);
        dialogs.push(second);
        dialogs.answer(DialogId(1), FormReply::Canceled);
        assert_eq!(first_reply.try_recv(), Ok(FormReply::Canceled));
        assert!(dialogs.is_open());
        assert!(
            second_reply.try_recv().is_err(),
            "the second one still waits"
        );
        // Closed by the core: dropped, which answers "canceled" by itself.
        dialogs.close(DialogId(2));
        assert!(!dialogs.is_open());
        assert_eq!(second_reply.try_recv(), Ok(FormReply::Canceled));
    }

    #[test]
    fn a_picked_folder_fills_the_field_and_no_pick_says_to_type_it() {
        let mut dialogs = Dialogs::default();
        let (open, _reply) = request(1);
        dialogs.push(open);
        let picks = dialogs.pick_sender();
        let pick = |path: Option<&str>| FolderPick {
            dialog: DialogId(1),
            field: "dir".into(),
            path: path.map(PathBuf::from),
            unavailable: false,
        };
        picks.send(pick(None)).unwrap();
        dialogs.take_picks();
        assert_eq!(
            dialogs.queue[0].unpicked,
            Some(("dir".to_string(), Unpicked::Canceled))
        );
        picks
            .send(FolderPick {
                unavailable: true,
                ..pick(None)
            })
            .unwrap();
        dialogs.take_picks();
        assert_eq!(
            dialogs.queue[0].unpicked,
            Some(("dir".to_string(), Unpicked::NoPicker))
        );
        picks.send(pick(Some("/home/ann/Docs"))).unwrap();
        dialogs.take_picks();
        let front = &dialogs.queue[0];
        assert_eq!(
            front.values["dir"],
            FieldValue::Text("/home/ann/Docs".into())
        );
        assert!(front.unpicked.is_none());
    }
}
