//! The pair dialog ("Add folder pair…", a pair's Properties), as core forms: adding asks for
//! the pair and what the second side is (a local folder, Nextcloud, WebDAV, SFTP, or a
//! remote from rclone's configuration), then for that side, with Test connection; editing
//! shows the pair with its second side as text, Test connection for a remote, and "Remove
//! this pair…", which asks first. `~` is the home folder; local folders that do not exist
//! yet are made once the user says so.

use super::config::{self, Mode, PairConfig};
use super::location::{Location, ServerKind};
use super::passwords;
use super::remotes;
use super::remotes::{Remotes, TestFailed};
use super::{FolderError, remove_pair};
use crate::core::callback::{Callback, UiPermit};
use crate::core::dialog::{Button, ButtonRole, Field, FieldKind, Form, FormReply, Values};
use crate::core::model::PropertiesOutcome;
use crate::core::store::Home;
use std::path::PathBuf;

/// What the second side can be, as the dialog offers it.
const KINDS: [&str; 5] = [
    "Local folder",
    "Nextcloud",
    "WebDAV",
    "SFTP",
    "A remote from rclone's configuration",
];
const LOCAL: usize = 0;
const NEXTCLOUD: usize = 1;
const WEBDAV: usize = 2;
const SFTP: usize = 3;
const RCLONE: usize = 4;

fn text_of(values: &Values, id: &str) -> String {
    values
        .get(id)
        .and_then(|v| v.as_text())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn bool_of(values: &Values, id: &str) -> bool {
    values.get(id).and_then(|v| v.as_bool()) == Some(true)
}

/// Exclude patterns typed one per line or separated by commas.
fn split_patterns(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// A pair from the form's values, with `right` as given.
fn pair_from(values: &Values, right: String) -> Result<PairConfig, FolderError> {
    // A field the reply leaves out keeps the default.
    let number = |id: &'static str, default: u32| match values.get(id) {
        None => Ok(default),
        Some(_) => text_of(values, id)
            .parse::<u32>()
            .map_err(|_| FolderError::NotANumber {
                field: id,
                text: text_of(values, id),
            }),
    };
    Ok(PairConfig {
        name: text_of(values, "name"),
        left: config::expand_home(&text_of(values, "left")),
        // Only a local folder starts with `~`: no remote is written so.
        right: config::expand_home(&right),
        mode: text_of(values, "mode").parse()?,
        excludes: split_patterns(&text_of(values, "excludes")),
        versions_days: number("versions_days", config::DEFAULT_VERSIONS_DAYS)?,
        versions_disk_percent: u8::try_from(number(
            "versions_disk_percent",
            config::DEFAULT_VERSIONS_DISK_PERCENT.into(),
        )?)
        .unwrap_or(u8::MAX),
    })
}

/// The fields every pair has, filled from `values` (or the defaults).
fn general_fields(values: &Values) -> Vec<Field> {
    let or = |id: &str, default: String| {
        values
            .get(id)
            .and_then(|v| v.as_text())
            .map_or(default, String::from)
    };
    let modes = Mode::ALL.map(Mode::word);
    let mode: Mode = text_of(values, "mode").parse().unwrap_or(Mode::TwoWay);
    let selected = Mode::ALL.iter().position(|m| *m == mode).unwrap_or(0);
    vec![
        Field::choice("mode", "Mode", &modes, selected)
            .help("two-way: changes go both ways; mirror: the right becomes a copy of the left; contribute: left to right, never deleting on the right"),
        Field::text("excludes", "Leave out", &or("excludes", String::new()))
            .help("Patterns as in .gitignore, one per line or separated by commas"),
        Field::text(
            "versions_days",
            "Keep versions (days)",
            &or("versions_days", config::DEFAULT_VERSIONS_DAYS.to_string()),
        )
        .required()
        .help("Replaced and deleted files older than this are removed at the end of a sync"),
        Field::text(
            "versions_disk_percent",
            "Versions may use (% of the disk)",
            &or(
                "versions_disk_percent",
                config::DEFAULT_VERSIONS_DISK_PERCENT.to_string(),
            ),
        )
        .required()
        .help("The oldest versions are removed first when they take more than this"),
    ]
}

fn values_of(pair: &PairConfig) -> Values {
    let text = |s: String| crate::core::dialog::FieldValue::Text(s);
    Values::from([
        ("name".into(), text(pair.name.clone())),
        ("left".into(), text(pair.left.display().to_string())),
        ("right".into(), text(pair.right.display().to_string())),
        ("mode".into(), text(pair.mode.word().into())),
        ("excludes".into(), text(pair.excludes.join("\n"))),
        ("versions_days".into(), text(pair.versions_days.to_string())),
        (
            "versions_disk_percent".into(),
            text(pair.versions_disk_percent.to_string()),
        ),
    ])
}

/// Step one: the pair, and what its second side is.
fn first_form(values: &Values) -> Form {
    let kind = KINDS
        .iter()
        .position(|k| *k == text_of(values, "kind"))
        .unwrap_or(LOCAL);
    let mut form = Form::new("Add folder pair")
        .message("Sync Center keeps the two sides the same. Replaced and deleted files are kept in .synccenter/versions inside each side.")
        .field(Field::text("name", "Name", &text_of(values, "name")).required())
        .field(Field::folder("left", "Left folder", &text_of(values, "left")).required())
        .field(
            Field::choice("kind", "Sync with", &KINDS, kind)
                .help("Another folder on this computer, a server, or any storage rclone reaches (Google Drive, OneDrive, Dropbox, S3…)"),
        );
    for field in general_fields(values) {
        form = form.field(field);
    }
    form.buttons(vec![
        Button::new("ok", "Next", ButtonRole::Accept),
        Button::new("cancel", "Cancel", ButtonRole::Reject),
    ])
}

/// Step two: where the second side is.
fn second_form(kind: usize, values: &Values, remotes: &[String], keyring: bool) -> Form {
    let v = |id: &str| text_of(values, id);
    let mut form = Form::new(format!("Add folder pair: {}", KINDS[kind]));
    let server_fields = |form: Form, server_help: &str| {
        form.field(
            Field::text("server", "Server", &v("server"))
                .required()
                .help(server_help),
        )
        .field(Field::text("user", "User name", &v("user")).required())
    };
    form = match kind {
        LOCAL => form.field(Field::folder("right", "Right folder", &v("right")).required()),
        NEXTCLOUD => server_fields(form, "cloud.example.org, or cloud.example.org:8443")
            .field(
                Field::text("folder", "Folder on the server", &v("folder"))
                    .help("Documents/Sync; made at the first sync when it is missing"),
            ),
        WEBDAV => form
            .field(
                Field::text("address", "Address", &v("address"))
                    .required()
                    .help("https://dav.example.org/files/Sync (http:// only on a network you trust)"),
            )
            .field(Field::text("user", "User name", &v("user")).required()),
        SFTP => server_fields(form, "nas.local, or nas.local:2222").field(
            Field::text("folder", "Folder on the server", &v("folder"))
                .help("/srv/data from the server's root, or Documents in your home folder. The server's key must be in ~/.ssh/known_hosts (connect once with ssh)."),
        ),
        _ if remotes.is_empty() => form.field(Field::read_only(
            "remote",
            "Remote",
            "rclone's configuration has no remotes. Run `rclone config` in a terminal to add one (Google Drive, OneDrive, Dropbox, S3…), then come back.",
        )),
        _ => {
            let names: Vec<&str> = remotes.iter().map(String::as_str).collect();
            let selected = names.iter().position(|n| *n == v("remote")).unwrap_or(0);
            form.field(Field::choice("remote", "Remote", &names, selected))
                .field(
                    Field::text("folder", "Folder on the remote", &v("folder"))
                        .help("Documents/Sync; made at the first sync when it is missing"),
                )
        }
    };
    if matches!(kind, NEXTCLOUD | WEBDAV | SFTP) {
        let password = Field {
            kind: FieldKind::Password {
                value: v("password"),
            },
            ..Field::password("password", "Password")
        };
        form = if keyring {
            form.field(password).field(Field::checkbox(
                "remember",
                "Remember my password",
                values.get("remember").is_none() || bool_of(values, "remember"),
            ))
        } else {
            form.field(password.help(NO_KEYRING))
        };
    }
    let mut buttons = vec![Button::new("ok", "OK", ButtonRole::Accept)];
    if kind != LOCAL {
        buttons.push(Button::new("test", "Test connection", ButtonRole::Other));
    }
    buttons.push(Button::new("back", "Back", ButtonRole::Other));
    buttons.push(Button::new("cancel", "Cancel", ButtonRole::Reject));
    form.buttons(buttons)
}

/// `ann@host` with the user name made safe for an address.
fn user_at(user: &str, host: &str) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const USERINFO: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'@')
        .add(b':')
        .add(b'/')
        .add(b'%')
        .add(b'?')
        .add(b'#');
    format!("{}@{host}", utf8_percent_encode(user, USERINFO))
}

/// The right side as `folders.toml` keeps it, from step two's values.
fn right_of(kind: usize, values: &Values) -> String {
    let v = |id: &str| text_of(values, id);
    let folder = v("folder");
    let folder = folder.trim_matches('/');
    match kind {
        LOCAL => v("right"),
        NEXTCLOUD => format!(
            "{}://{}/{folder}",
            ServerKind::Nextcloud.scheme(),
            user_at(&v("user"), &v("server"))
        ),
        WEBDAV => {
            let address = v("address");
            let (scheme, rest) = match address.split_once("://") {
                Some(("http", rest)) => (ServerKind::WebDav.scheme(), rest),
                Some((_, rest)) => (ServerKind::WebDavs.scheme(), rest),
                None => (ServerKind::WebDavs.scheme(), address.as_str()),
            };
            format!("{scheme}://{}", user_at(&v("user"), rest))
        }
        SFTP => {
            let folder = v("folder");
            let path = match folder.strip_prefix('/') {
                Some(absolute) => format!("/{absolute}"),
                None if folder.is_empty() => String::new(),
                None => format!("/~/{folder}"),
            };
            format!(
                "{}://{}{path}",
                ServerKind::Sftp.scheme(),
                user_at(&v("user"), &v("server"))
            )
        }
        _ => format!("{}:{folder}", v("remote")),
    }
}

/// Shows a validation error under the field it is about (else as the form's message).
fn with_error(mut form: Form, error: &FolderError) -> Form {
    let field = match error {
        FolderError::EmptyName | FolderError::SlashInName(_) | FolderError::DuplicateName(_) => {
            "name"
        }
        FolderError::NotAbsolute { side, .. } => side,
        FolderError::SameFolder(_) | FolderError::Nested { .. } | FolderError::Location(_) => {
            "right"
        }
        FolderError::UnknownMode(_) => "mode",
        FolderError::BadExclude { .. } => "excludes",
        FolderError::NotANumber { field, .. } => field,
        FolderError::BadShare(_) => "versions_disk_percent",
        _ => "",
    };
    // On step two a remote's address is typed in other fields.
    let shown = ["right", "address", "server"]
        .into_iter()
        .find(|id| field == "right" && form.fields.iter().any(|f| f.id == *id))
        .unwrap_or(field);
    match form.fields.iter_mut().find(|f| f.id == shown) {
        Some(f) => f.error = Some(error.to_string()),
        None => form.message = Some(error.to_string()),
    }
    form
}

/// The password typed into a form, if any.
fn typed_password(values: &Values) -> Option<String> {
    Some(text_of(values, "password")).filter(|p| !p.is_empty())
}

/// Under the password when no keyring answers (there is nothing to offer to remember it in).
const NO_KEYRING: &str = "No keyring (GNOME Keyring, KWallet) answers in this session: Sync Center keeps the password until it closes, and asks for it again after that.";

/// Saves a new pair's password when asked to remember it; without a keyring, keeps it as a
/// logon without a keyring is kept, so the first sync does not ask again. What went wrong,
/// if anything.
fn remember(pair: &PairConfig, values: &Values, keyring: bool) -> Option<String> {
    let password = typed_password(values)?;
    let Ok(Location::Server(server)) = pair.right_location() else {
        return None;
    };
    let account = server.keyring_account();
    let keep_in_memory = || passwords::accepted_without_keyring_now(&account, &password);
    if !keyring {
        keep_in_memory();
        return None;
    }
    if !bool_of(values, "remember") {
        return None;
    }
    passwords::store(&account, &password).err().map(|_| {
        // The keyring stopped answering since the form was shown.
        keep_in_memory();
        format!("The password could not be saved in the keyring. {NO_KEYRING}")
    })
}

/// Whether an error is about a field of step one.
fn on_first_step(error: &FolderError) -> bool {
    matches!(
        error,
        FolderError::EmptyName
            | FolderError::SlashInName(_)
            | FolderError::DuplicateName(_)
            | FolderError::NotANumber { .. }
            | FolderError::BadShare(_)
            | FolderError::BadExclude { .. }
            | FolderError::UnknownMode(_)
            | FolderError::NotAbsolute { side: "left", .. }
    )
}

/// "Add folder pair…": the pair, then its second side. True when a pair was added.
pub fn add_pair(
    home: &Home,
    remotes: &mut Remotes,
    permit: &UiPermit<'_>,
    callback: &Callback,
) -> bool {
    let mut values = Values::new();
    let mut first_error: Option<FolderError> = None;
    loop {
        let mut first = first_form(&values);
        if let Some(e) = first_error.take() {
            first = with_error(first, &e);
        }
        let reply = permit.show(first);
        let Some(answer) = reply.pressed("ok") else {
            return false;
        };
        values.extend(answer.clone());
        let kind = KINDS
            .iter()
            .position(|k| *k == text_of(&values, "kind"))
            .unwrap_or(LOCAL);
        let listed = if kind == RCLONE {
            remotes::configured_remotes(home)
        } else {
            Ok(Vec::new())
        };
        let names = listed.clone().unwrap_or_default();
        let keyring = matches!(kind, NEXTCLOUD | WEBDAV | SFTP) && passwords::keyring_answers();
        let mut form = second_form(kind, &values, &names, keyring);
        if let Err(e) = &listed {
            form.message = Some(e.clone());
        }
        loop {
            let reply = permit.show(form.clone());
            let FormReply::Submitted {
                button,
                values: answer,
            } = &reply
            else {
                return false;
            };
            values.extend(answer.clone());
            let pair = pair_from(&values, right_of(kind, &values));
            match button.as_str() {
                "back" => break,
                "test" => {
                    form = second_form(kind, &values, &names, keyring);
                    let tested = match &pair {
                        Ok(pair) => {
                            remotes.test(pair, typed_password(&values).as_deref(), callback)
                        }
                        Err(e) => Err(TestFailed::Other(e.to_string())),
                    };
                    match tested {
                        Ok(said) | Err(TestFailed::Other(said)) => form.message = Some(said),
                        Err(TestFailed::Password(said)) => {
                            if let Some(field) = form.fields.iter_mut().find(|f| f.id == "password")
                            {
                                field.error = Some(said);
                            }
                        }
                    }
                    continue;
                }
                "ok" => {}
                _ => return false,
            }
            if let Ok(pair) = &pair {
                match create_missing(pair, |missing| permit.show(create_form(missing))) {
                    Ok(true) => {}
                    Ok(false) => {
                        form = second_form(kind, &values, &names, keyring);
                        continue;
                    }
                    Err(e) => {
                        form = with_error(second_form(kind, &values, &names, keyring), &e);
                        continue;
                    }
                }
            }
            match pair.and_then(|pair| config::add(home, pair.clone()).map(|()| pair)) {
                Ok(pair) => {
                    if let Some(problem) = remember(&pair, &values, keyring) {
                        let note = Form::new("Password not saved")
                            .message(problem)
                            .buttons(vec![Button::new("ok", "OK", ButtonRole::Accept)]);
                        permit.show(note);
                    }
                    return true;
                }
                Err(e) if on_first_step(&e) => {
                    first_error = Some(e);
                    break;
                }
                Err(e) => form = with_error(second_form(kind, &values, &names, keyring), &e),
            }
        }
    }
}

/// A pair's Properties: edit, test, forget the password, or remove.
pub fn edit_pair(
    home: &Home,
    remotes: &mut Remotes,
    permit: &UiPermit<'_>,
    callback: &Callback,
    existing: &PairConfig,
) -> PropertiesOutcome {
    let mut values = values_of(existing);
    let mut message = None;
    loop {
        let form = edit_form(&values, message.take());
        let reply = permit.show(form.clone());
        let FormReply::Submitted {
            button,
            values: answer,
        } = &reply
        else {
            return PropertiesOutcome::Unchanged;
        };
        values.extend(answer.clone());
        let pair = pair_from(&values, text_of(&values, "right"));
        match button.as_str() {
            "test" => {
                message = Some(match &pair {
                    Ok(pair) => match remotes.test(pair, None, callback) {
                        Ok(said) | Err(TestFailed::Password(said) | TestFailed::Other(said)) => {
                            said
                        }
                    },
                    Err(e) => e.to_string(),
                });
                continue;
            }
            "remove" => {
                if permit
                    .show(remove_form(existing))
                    .pressed("remove")
                    .is_none()
                {
                    continue;
                }
                return match remove_pair(home, &existing.name) {
                    Ok(()) => PropertiesOutcome::ItemDeleted,
                    Err(e) => {
                        message = Some(e.to_string());
                        continue;
                    }
                };
            }
            "ok" => {}
            _ => return PropertiesOutcome::Unchanged,
        }
        if bool_of(&values, "forget_password")
            && let Ok(Location::Server(server)) = existing.right_location()
            && let Err(e) = passwords::forget(&server.keyring_account())
        {
            message = Some(format!("The saved password could not be removed: {e}"));
            continue;
        }
        if let Ok(pair) = &pair {
            match create_missing(pair, |missing| permit.show(create_form(missing))) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    message = Some(e.to_string());
                    continue;
                }
            }
        }
        // OK with nothing changed changes nothing: how the last run ended still stands.
        if pair.as_ref().is_ok_and(|pair| pair == existing) {
            return PropertiesOutcome::Unchanged;
        }
        let saved = pair.and_then(|pair| config::replace(home, &existing.name, pair));
        match saved {
            Ok(()) => return PropertiesOutcome::ItemsChanged,
            Err(e) => {
                let shown = with_error(edit_form(&values, None), &e);
                message = shown
                    .fields
                    .iter()
                    .find_map(|f| f.error.clone())
                    .or(shown.message);
            }
        }
    }
}

fn edit_form(values: &Values, message: Option<String>) -> Form {
    let right = text_of(values, "right");
    let location = Location::parse(&right).ok();
    let remote = location.as_ref().is_some_and(Location::is_remote);
    let mut form = Form::new("Folder pair")
        .message(message.unwrap_or_else(|| {
            "Sync Center keeps the two sides the same. Replaced and deleted files are kept in .synccenter/versions inside each side.".into()
        }))
        .field(Field::text("name", "Name", &text_of(values, "name")).required())
        .field(Field::folder("left", "Left folder", &text_of(values, "left")).required());
    form = if remote {
        form.field(
            Field::text("right", "Right side", &right)
                .required()
                .help("A remote: nextcloud://USER@HOST/FOLDER, webdav[s]://USER@HOST/PATH, sftp://USER@HOST/PATH, or REMOTE:FOLDER from rclone's configuration"),
        )
    } else {
        form.field(Field::folder("right", "Right folder", &right).required())
    };
    for field in general_fields(values) {
        form = form.field(field);
    }
    if let Some(Location::Server(server)) = &location {
        form = form.field(Field::checkbox(
            "forget_password",
            &format!("Forget the saved password of {}", server.account()),
            false,
        ));
    }
    let mut buttons = vec![Button::new(
        "remove",
        "Remove this pair…",
        ButtonRole::Other,
    )];
    if remote {
        buttons.push(Button::new("test", "Test connection", ButtonRole::Other));
    }
    buttons.push(Button::new("ok", "OK", ButtonRole::Accept));
    buttons.push(Button::new("cancel", "Cancel", ButtonRole::Reject));
    form.buttons(buttons)
}

/// Asks before a pair is removed, and says what happens to the files: nothing.
fn remove_form(pair: &PairConfig) -> Form {
    Form::new(format!("Remove the folder pair {}?", pair.name))
        .message(format!(
            "Sync Center stops keeping these two sides the same. The files stay where they \
             are, on both sides:\n{}\n{}",
            pair.left.display(),
            pair.right.display()
        ))
        .buttons(vec![
            Button::new("remove", "Remove", ButtonRole::Accept),
            Button::new("cancel", "Cancel", ButtonRole::Reject),
        ])
}

/// Offers to make folders of the pair that do not exist yet.
fn create_form(missing: &[PathBuf]) -> Form {
    let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
    let (title, what) = if missing.len() == 1 {
        ("Create the folder?", "This folder does not exist yet")
    } else {
        ("Create the folders?", "These folders do not exist yet")
    };
    Form::new(title)
        .message(format!("{what}:\n{}", list.join("\n")))
        .buttons(vec![
            Button::new("create", "Create", ButtonRole::Accept),
            Button::new("back", "Back", ButtonRole::Reject),
        ])
}

/// Makes the pair's local folders that do not exist (a remote side is made by the first
/// sync), if `ask` says yes to them. Returns whether the form may go on (false: the user
/// would rather change the paths).
fn create_missing(
    pair: &PairConfig,
    ask: impl FnOnce(&[PathBuf]) -> FormReply,
) -> Result<bool, FolderError> {
    // A path that is no full path is refused by the checks that follow, before anything
    // is made.
    let missing = pair.missing_folders();
    if missing.is_empty() || !pair.local_folders().iter().all(|path| path.is_absolute()) {
        return Ok(true);
    }
    if ask(&missing).pressed("create").is_none() {
        return Ok(false);
    }
    for path in &missing {
        std::fs::create_dir_all(path).map_err(|e| FolderError::io(path.clone(), e))?;
    }
    Ok(true)
}
