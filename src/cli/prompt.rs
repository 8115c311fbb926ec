//! Core forms answered on a terminal: one question per field, passwords without echo. A
//! form with questions is submitted with its answer to the last one (with one accept
//! button there is nothing more to ask); end of input (Ctrl+D) or Ctrl+C cancels.

use crate::core::dialog::{
    ButtonRole, DialogRequest, FieldKind, FieldValue, Form, FormReply, Values,
};
use crate::core::status::WaitReason;
use std::io::{BufRead, BufReader, Read, Write};

/// Asks the user on the terminal and answers the request. End of input cancels, and so does
/// `interrupted` turning true (Ctrl+C) while a question waits.
pub fn answer_on_terminal(request: DialogRequest, interrupted: &dyn Fn() -> bool) {
    let mut input = BufReader::new(InterruptibleStdin { interrupted });
    let reply = ask(&request, &mut input, &mut std::io::stderr());
    request.answer(reply);
}

/// Standard input that reads as ended once `interrupted` is true, so a question never
/// outlives a stop.
struct InterruptibleStdin<'a> {
    interrupted: &'a dyn Fn() -> bool,
}

impl Read for InterruptibleStdin<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if (self.interrupted)() {
                return Ok(0);
            }
            let mut fds = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; the timeout keeps `interrupted` looked at.
            let ready = unsafe { libc::poll(&mut fds, 1, 100) };
            if ready == 0 {
                continue;
            }
            let read = if ready > 0 {
                // SAFETY: reads at most buf.len() bytes into buf.
                unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) }
            } else {
                -1
            };
            if read >= 0 {
                return Ok(read as usize);
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

fn ask(request: &DialogRequest, input: &mut dyn BufRead, out: &mut dyn Write) -> FormReply {
    let form = &request.form;
    let about = request
        .item_name
        .as_deref()
        .unwrap_or(&request.handler_name);
    let _ = writeln!(out, "\n── {} ──", form.title);
    let _ = writeln!(out, "{about}: {}", WaitReason::YourAnswer);
    if let Some(message) = &form.message {
        let _ = writeln!(out, "{message}");
    }
    let mut values = form.initial_values();
    for field in &form.fields {
        if let Some(error) = &field.error {
            let _ = writeln!(out, "  ! {error}");
        }
        if let FieldKind::ReadOnly { text } = &field.kind {
            let _ = writeln!(out, "{}: {text}", field.label);
            continue;
        }
        loop {
            let Some(value) = ask_field(field, values.get(&field.id), input, out) else {
                let _ = writeln!(out, "(canceled)");
                return FormReply::Canceled;
            };
            match field.problem(Some(&value)) {
                Some(problem) => {
                    let _ = writeln!(out, "  ! {problem}");
                }
                None => {
                    values.insert(field.id.clone(), value);
                    break;
                }
            }
        }
    }
    let asked = form
        .fields
        .iter()
        .any(|f| !matches!(f.kind, FieldKind::ReadOnly { .. }));
    choose_button(form, values, asked, input, out)
}

fn ask_field(
    field: &crate::core::dialog::Field,
    current: Option<&FieldValue>,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Option<FieldValue> {
    let label = &field.label;
    match &field.kind {
        FieldKind::Text { .. } | FieldKind::FolderPath { .. } => {
            let current = current.and_then(FieldValue::as_text).unwrap_or("");
            let shown = if current.is_empty() {
                String::new()
            } else {
                format!(" [{current}]")
            };
            let line = read_line(&format!("{label}{shown}: "), input, out)?;
            Some(FieldValue::Text(if line.is_empty() {
                current.to_string()
            } else {
                line
            }))
        }
        FieldKind::Password { .. } => Some(FieldValue::Text(read_password(
            &format!("{label}: "),
            input,
            out,
        )?)),
        FieldKind::Checkbox { .. } => {
            let current = current.and_then(FieldValue::as_bool).unwrap_or(false);
            let hint = if current { "Y/n" } else { "y/N" };
            // Asked until the answer is one (a mistyped "yes" is no "no").
            loop {
                let line = read_line(&format!("{label} [{hint}]: "), input, out)?;
                match line.to_lowercase().as_str() {
                    "" => return Some(FieldValue::Bool(current)),
                    "y" | "yes" => return Some(FieldValue::Bool(true)),
                    "n" | "no" => return Some(FieldValue::Bool(false)),
                    _ => {}
                }
            }
        }
        FieldKind::Choice { options, selected } => {
            for (n, option) in options.iter().enumerate() {
                let _ = writeln!(out, "  {}) {option}", n + 1);
            }
            let line = read_line(&format!("{label} [{}]: ", selected + 1), input, out)?;
            let index = if line.is_empty() {
                *selected
            } else {
                line.parse::<usize>().ok()?.checked_sub(1)?
            };
            Some(FieldValue::Text(
                options.get(index).cloned().unwrap_or_default(),
            ))
        }
        FieldKind::Number { .. } => {
            let current = current.and_then(FieldValue::as_number).unwrap_or(0);
            let line = read_line(&format!("{label} [{current}]: "), input, out)?;
            if line.is_empty() {
                return Some(FieldValue::Number(current));
            }
            Some(
                line.parse()
                    .map_or(FieldValue::Text(line), FieldValue::Number),
            )
        }
        FieldKind::ReadOnly { .. } => None,
    }
}

/// With one button besides the reject one, the answers just given submit it (a form without
/// questions asks to confirm, and only a typed "y" does: these confirm deleting many files
/// or syncing a folder that is not the one synced last time); with more, the user picks
/// one by number.
fn choose_button(
    form: &Form,
    values: Values,
    asked: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> FormReply {
    let choices: Vec<_> = form
        .buttons
        .iter()
        .filter(|b| b.role != ButtonRole::Reject)
        .collect();
    let reject = form.reject_button().map_or("Cancel", |b| b.label.as_str());
    let button = match choices.as_slice() {
        [] => return FormReply::Canceled,
        [only] if asked => only.id.clone(),
        [only] => {
            let line = read_line(
                &format!("{}? [y/N, N = {reject}]: ", only.label),
                input,
                out,
            );
            match line.as_deref().map(str::to_lowercase).as_deref() {
                Some("y" | "yes") => only.id.clone(),
                _ => return FormReply::Canceled,
            }
        }
        many => {
            for (n, button) in many.iter().enumerate() {
                let _ = writeln!(out, "  {}) {}", n + 1, button.label);
            }
            let _ = writeln!(out, "  0) {reject}");
            let line = read_line("Choose: ", input, out);
            match line.and_then(|l| l.parse::<usize>().ok()) {
                Some(n) if (1..=many.len()).contains(&n) => many[n - 1].id.clone(),
                _ => return FormReply::Canceled,
            }
        }
    };
    FormReply::Submitted { button, values }
}

fn read_line(prompt: &str, input: &mut dyn BufRead, out: &mut dyn Write) -> Option<String> {
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
    }
}

/// Reads a line with echo turned off when input is a terminal.
fn read_password(prompt: &str, input: &mut dyn BufRead, out: &mut dyn Write) -> Option<String> {
    let _echo = EchoOff::new();
    let line = read_line(prompt, input, out);
    let _ = writeln!(out);
    line
}

/// Turns terminal echo off for as long as it lives.
struct EchoOff {
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> Self {
        // SAFETY: tcgetattr/tcsetattr only read and write the termios struct we pass.
        unsafe {
            let mut term: libc::termios = std::mem::zeroed();
            if libc::isatty(0) == 0 || libc::tcgetattr(0, &mut term) != 0 {
                return Self { saved: None };
            }
            let saved = term;
            term.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &term);
            Self { saved: Some(saved) }
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(saved) = self.saved {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &saved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dialog::{Button, DialogId, Field};
    use crate::core::model::{HandlerId, ItemId};

    fn run(form: Form, typed: &str) -> FormReply {
        run_showing(form, typed).0
    }

    fn run_showing(form: Form, typed: &str) -> (FormReply, String) {
        let (request, _reply) = DialogRequest::new(
            DialogId(1),
            HandlerId::new("h"),
            "H".into(),
            Some((ItemId::new("mail"), "Mail (ann@example.org)".into())),
            form,
        );
        let mut out = Vec::new();
        let reply = ask(&request, &mut typed.as_bytes(), &mut out);
        (reply, String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_logon_form_is_answered_field_by_field_and_the_last_answer_submits_it() {
        let (reply, shown) = run_showing(
            Form::logon("Log on", "Password please", "ann"),
            "\nsecret\n",
        );
        let values = reply
            .pressed("ok")
            .expect("submitted with the accept button");
        assert_eq!(values["user"], FieldValue::Text("ann".into()));
        assert_eq!(values["password"], FieldValue::Text("secret".into()));
        assert!(
            shown.contains("Mail (ann@example.org): Waiting for your answer"),
            "{shown}"
        );
        assert!(
            !shown.contains("[y/N"),
            "no question after the last field: {shown}"
        );
    }

    #[test]
    fn invalid_answers_are_asked_again() {
        let form = Form::new("Numbers").field(Field::number("n", "Count", 1, Some(1), Some(9)));
        let reply = run(form, "12\nabc\n7\n\n");
        assert_eq!(reply.pressed("ok").unwrap()["n"], FieldValue::Number(7));
    }

    #[test]
    fn end_of_input_or_no_cancels() {
        assert_eq!(
            run(Form::logon("Log on", "", "ann"), "\n"),
            FormReply::Canceled
        );
        // A form without questions asks to confirm: only "y" does; "n", Enter alone or
        // anything else cancels.
        let notice = Form::new("Replace the remote copy?").message("It changed meanwhile.");
        for typed in ["n\n", "\n", "sure\n", ""] {
            assert_eq!(run(notice.clone(), typed), FormReply::Canceled, "{typed:?}");
        }
        for typed in ["y\n", "Yes\n"] {
            assert!(
                run(notice.clone(), typed).pressed("ok").is_some(),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn a_checkbox_takes_yes_no_or_its_default_and_asks_again_otherwise() {
        let form = || Form::new("Log on").field(Field::checkbox("remember", "Remember", true));
        let answered = |typed: &str| run(form(), typed).pressed("ok").unwrap()["remember"].clone();
        assert_eq!(answered("\n"), FieldValue::Bool(true));
        assert_eq!(answered("n\n"), FieldValue::Bool(false));
        assert_eq!(answered("sure\nno\n"), FieldValue::Bool(false));
        assert_eq!(answered("nah\nYES\n"), FieldValue::Bool(true));
        assert_eq!(run(form(), "sure\n"), FormReply::Canceled, "input ended");
    }

    #[test]
    fn several_buttons_are_chosen_by_number() {
        let form = Form::new("Details").buttons(vec![
            Button::new("retry", "Retry", ButtonRole::Accept),
            Button::new("log", "Open log", ButtonRole::Other),
            Button::new("close", "Close", ButtonRole::Reject),
        ]);
        assert!(run(form.clone(), "2\n").pressed("log").is_some());
        assert_eq!(run(form, "0\n"), FormReply::Canceled);
    }
}
