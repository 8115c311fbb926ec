//! The logon of remote pairs end to end against a real Secret Service: GNOME Keyring on a
//! private D-Bus session bus started by the test, a real WebDAV and a real SFTP server on
//! loopback, and the center's engine with dialogs answered the way the other tests answer
//! them. The password is typed into the logon form once (a wrong one first: asked again
//! with the error under the field), found in the keyring by the next run, a locked keyring
//! asks instead of failing, a run that may not ask fails only that item with "needs your
//! logon" — and no file under the home (or rclone's configuration) holds the password.
//!
//! One test in its own binary: the bus address is the process's environment, set before
//! anything talks to the keyring.

mod remote_common;

use parking_lot::Mutex;
use remote_common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use synccenter::core::dialog::{FieldKind, FieldValue, Form, FormReply, Values};
use synccenter::core::engine::{Engine, EngineConfig, SessionRequest};
use synccenter::core::events::Event;
use synccenter::core::handler::Registry;
use synccenter::core::model::{ItemKey, PropertiesTarget, RunReason};
use synccenter::core::preview::Planned;
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, Store};
use synccenter::handlers::folders::{self, config::Mode, config::PairConfig};

/// The private session: its bus and the keyring daemon on it, stopped when dropped.
struct Session {
    bus: Child,
    env: Vec<(String, String)>,
}

impl Session {
    fn start(home: &Path, run: &Path) -> Session {
        std::fs::create_dir_all(home).unwrap();
        std::fs::create_dir_all(run).unwrap();
        std::fs::set_permissions(run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        // The bus's own environment is what a bus-activated daemon inherits.
        let env = vec![
            ("HOME".to_string(), home.display().to_string()),
            (
                "XDG_DATA_HOME".to_string(),
                home.join(".local/share").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".to_string(),
                home.join(".config").display().to_string(),
            ),
            ("XDG_RUNTIME_DIR".to_string(), run.display().to_string()),
        ];
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .envs(env.iter().cloned())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon runs (scripts/test.sh installs it)");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let mut env = env;
        env.push((
            "DBUS_SESSION_BUS_ADDRESS".to_string(),
            address.trim().to_string(),
        ));
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon runs (scripts/test.sh installs it)");
        keyring
            .stdin
            .take()
            .unwrap()
            .write_all(b"login keyring password")
            .unwrap();
        keyring.wait().unwrap();
        let session = Session { bus, env };
        wait_until("the keyring's login collection", || {
            session
                .gdbus(&[
                    "--dest",
                    "org.freedesktop.secrets",
                    "--object-path",
                    "/org/freedesktop/secrets/collection/login",
                    "--method",
                    "org.freedesktop.DBus.Properties.Get",
                    "org.freedesktop.Secret.Collection",
                    "Locked",
                ])
                .contains("false")
        });
        session
    }

    fn gdbus(&self, args: &[&str]) -> String {
        let out = Command::new("gdbus")
            .arg("call")
            .arg("--session")
            .args(args)
            .envs(self.env.iter().cloned())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn lock(&self) {
        self.gdbus(&[
            "--dest",
            "org.freedesktop.secrets",
            "--object-path",
            "/org/freedesktop/secrets",
            "--method",
            "org.freedesktop.Secret.Service.Lock",
            "['/org/freedesktop/secrets/collection/login']",
        ]);
        wait_until("the keyring to lock", || {
            self.gdbus(&[
                "--dest",
                "org.freedesktop.secrets",
                "--object-path",
                "/org/freedesktop/secrets/collection/login",
                "--method",
                "org.freedesktop.DBus.Properties.Get",
                "org.freedesktop.Secret.Collection",
                "Locked",
            ])
            .contains("true")
        });
    }

    /// What the keyring holds for an account, as `secret-tool` reads it.
    fn lookup(&self, account: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .args(["lookup", "service", "synccenter", "username", account])
            .envs(self.env.iter().cloned())
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The keyring daemon ends with its bus.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

type Responder = Box<dyn FnMut(&Form) -> FormReply + Send>;

struct Center {
    engine: Engine,
    responder: Arc<Mutex<Option<Responder>>>,
    forms: Arc<Mutex<Vec<Form>>>,
    /// How many Properties calls have returned.
    properties_closed: Arc<AtomicUsize>,
}

#[derive(Debug)]
struct Ran {
    status: ItemStatus,
    text: String,
}

impl Center {
    fn new(home: &Home) -> Center {
        let (engine, events) = Engine::new(
            Registry::new().with(folders::provider(home)),
            Store::open(home.clone()).0,
            EngineConfig::default(),
        );
        let responder: Arc<Mutex<Option<Responder>>> = Arc::new(Mutex::new(None));
        let forms = Arc::new(Mutex::new(Vec::new()));
        let (answer, shown) = (responder.clone(), forms.clone());
        let properties_closed = Arc::new(AtomicUsize::new(0));
        let closed = properties_closed.clone();
        std::thread::spawn(move || {
            for event in events {
                if let Event::PropertiesClosed { .. } = event {
                    closed.fetch_add(1, Ordering::SeqCst);
                }
                if let Event::Dialog(request) = event {
                    shown.lock().push(request.form.clone());
                    let reply = match answer.lock().as_mut() {
                        Some(answer) => answer(&request.form),
                        None => panic!("no dialog was expected: {:?}", request.form),
                    };
                    request.answer(reply);
                }
            }
        });
        Center {
            engine,
            responder,
            forms,
            properties_closed,
        }
    }

    fn answer(&self, answer: impl FnMut(&Form) -> FormReply + Send + 'static) {
        *self.responder.lock() = Some(Box::new(answer));
        self.forms.lock().clear();
    }

    fn no_dialogs(&self) {
        *self.responder.lock() = None;
        self.forms.lock().clear();
    }

    fn run(&self, items: &[&str], may_bother_user: bool) -> Vec<Ran> {
        let keys: Vec<ItemKey> = items
            .iter()
            .map(|i| ItemKey::new(folders::HANDLER_ID, *i))
            .collect();
        let handle = self
            .engine
            .start(SessionRequest {
                reason: RunReason::Manual,
                may_bother_user,
                items: keys.clone(),
            })
            .unwrap();
        let record = handle.wait(Duration::from_secs(180)).expect("sync ended");
        keys.iter()
            .map(|key| {
                let item = record.items.iter().find(|i| i.key == *key).unwrap();
                Ran {
                    status: item.status,
                    text: item.text.clone(),
                }
            })
            .collect()
    }
}

/// Answers the logon form with `password`, "Remember my password" as `remember`.
fn log_on(password: &str, remember: bool) -> FormReply {
    FormReply::Submitted {
        button: "ok".into(),
        values: [
            ("password".to_string(), FieldValue::Text(password.into())),
            ("remember".to_string(), FieldValue::Bool(remember)),
        ]
        .into_iter()
        .collect(),
    }
}

fn error_under_password(form: &Form) -> Option<String> {
    form.fields
        .iter()
        .find(|f| f.id == "password")
        .and_then(|f| f.error.clone())
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // (A file renamed or removed meanwhile, such as a state file's temp, is gone.)
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if meta.is_file()
            && std::fs::read(&path)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
        {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_password_typed_once_is_kept_in_the_keyring_and_a_locked_keyring_asks() {
    let dir = tempfile::tempdir().unwrap();
    let user_home = dir.path().join("home");
    let session = Session::start(&user_home, &dir.path().join("run"));
    // SAFETY: set before any thread of this test binary talks to D-Bus or reads the env.
    unsafe {
        for (key, value) in &session.env {
            std::env::set_var(key, value);
        }
        std::env::remove_var("RCLONE_CONFIG");
    }
    let rclone = rclone_current();
    let webdav = Server::webdav(&dir.path().join("dav"));
    std::fs::create_dir_all(dir.path().join("dav/data")).unwrap();
    let sftp = Server::sftp(&dir.path().join("sftp"));
    std::fs::create_dir_all(user_home.join(".ssh")).unwrap();
    std::fs::write(user_home.join(".ssh/known_hosts"), &sftp.known_hosts).unwrap();

    let home = Home::under(&user_home.join(".synccenter-home"));
    home.create_dirs().unwrap();
    std::fs::write(
        home.config_dir.join("folders.toml"),
        format!("rclone = \"{}\"\n", rclone.display()),
    )
    .unwrap();
    let [dav_left, sftp_left, plain_left, plain_right] =
        ["dav-left", "sftp-left", "plain-left", "plain-right"].map(|d| {
            let path = dir.path().join(d);
            std::fs::create_dir_all(&path).unwrap();
            path
        });
    std::fs::write(dav_left.join("notes.txt"), "over webdav").unwrap();
    std::fs::write(sftp_left.join("notes.txt"), "over sftp").unwrap();
    std::fs::write(plain_left.join("notes.txt"), "local").unwrap();
    let dav_url = format!("webdav://{}@127.0.0.1:{}/data", webdav.user, webdav.port);
    let sftp_url = format!("sftp://{}@127.0.0.1:{}/", sftp.user, sftp.port);
    for (name, left, right) in [
        ("dav", &dav_left, PathBuf::from(&dav_url)),
        ("sftp", &sftp_left, PathBuf::from(&sftp_url)),
        ("plain", &plain_left, plain_right.clone()),
    ] {
        folders::config::add(
            &home,
            PairConfig::new(name, left.clone(), right, Mode::TwoWay),
        )
        .unwrap();
    }
    let dav_account = format!("webdav://{}@127.0.0.1:{}", webdav.user, webdav.port);
    let center = Center::new(&home);

    // A run that may not ask: the remote pairs need a logon, the local pair goes on.
    center.no_dialogs();
    let ran = center.run(&["dav", "sftp", "plain"], false);
    for remote in &ran[..2] {
        assert_eq!(remote.status, ItemStatus::Failed, "{ran:?}");
        assert!(remote.text.contains("needs your logon"), "{ran:?}");
    }
    assert_eq!(ran[2].status, ItemStatus::Succeeded, "{ran:?}");
    assert!(!dir.path().join("dav/data/notes.txt").exists());

    // A logon the user cancels: the pair is canceled, not failed.
    center.answer(|_| FormReply::Canceled);
    let ran = center.run(&["dav"], true);
    assert_eq!(ran[0].status, ItemStatus::Canceled, "{ran:?}");
    assert!(ran[0].text.contains("You canceled the logon"), "{ran:?}");

    // A preview that may ask (the window's Preview, `sync --dry-run` in a terminal) asks
    // for the logon too, then says what the sync would do; nothing changes.
    let password = webdav.pass.clone();
    center.answer(move |_| log_on(&password, false));
    let previews = center
        .engine
        .preview(vec![ItemKey::new(folders::HANDLER_ID, "dav")], true)
        .recv_timeout(Duration::from_secs(120))
        .unwrap();
    match &previews[0].planned {
        Planned::Plan(plan) => {
            let paths: Vec<&str> = plan
                .changes
                .entries
                .iter()
                .map(|a| a.path.as_str())
                .collect();
            assert_eq!(paths, ["notes.txt"], "{plan:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(center.forms.lock().len(), 1);
    assert!(!dir.path().join("dav/data/notes.txt").exists());

    // In the window: a wrong password first, asked again with the error under the field.
    let right_password = webdav.pass.clone();
    let mut tries = 0;
    center.answer(move |form| {
        assert!(form.title.starts_with("Log on to 127.0.0.1"), "{form:?}");
        tries += 1;
        if tries == 1 {
            assert!(error_under_password(form).is_none());
            log_on("not the password", true)
        } else {
            let error = error_under_password(form).expect("the error under the field");
            assert!(error.contains("not accepted"), "{error}");
            log_on(&right_password, true)
        }
    });
    let ran = center.run(&["dav"], true);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert_eq!(center.forms.lock().len(), 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dav/data/notes.txt")).unwrap(),
        "over webdav"
    );
    assert_eq!(
        session.lookup(&dav_account).as_deref(),
        Some(webdav.pass.as_str()),
        "the password is in the keyring"
    );

    // The next run, not allowed to ask, finds it there.
    center.no_dialogs();
    std::fs::write(dav_left.join("more.txt"), "second run").unwrap();
    let ran = center.run(&["dav"], false);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert!(dir.path().join("dav/data/more.txt").exists());

    // SFTP the same way: typed once (not remembered this time: asked again next run).
    let sftp_password = sftp.pass.clone();
    center.answer(move |form| {
        assert!(
            form.fields
                .iter()
                .any(|f| matches!(&f.kind, FieldKind::ReadOnly { text } if text == "tester")),
            "{form:?}"
        );
        log_on(&sftp_password, false)
    });
    let ran = center.run(&["sftp"], true);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sftp/notes.txt")).unwrap(),
        "over sftp"
    );
    center.no_dialogs();
    let ran = center.run(&["sftp"], false);
    assert!(ran[0].text.contains("needs your logon"), "{ran:?}");

    // Both remote pairs in one run: rcd names the servers in the order their pairs come
    // (the SFTP server first this time), and each is still the folder synced last time.
    std::fs::write(dav_left.join("together.txt"), "dav").unwrap();
    std::fs::write(sftp_left.join("together.txt"), "sftp").unwrap();
    let sftp_password = sftp.pass.clone();
    center.answer(move |form| {
        assert!(form.title.starts_with("Log on to"), "{form:?}");
        log_on(&sftp_password, false)
    });
    let ran = center.run(&["sftp", "dav"], true);
    assert!(
        ran.iter().all(|r| r.status == ItemStatus::Succeeded),
        "{ran:?}"
    );
    assert_eq!(
        center.forms.lock().len(),
        1,
        "only SFTP's password is asked"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("dav/data/together.txt")).unwrap(),
        "dav"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sftp/together.txt")).unwrap(),
        "sftp"
    );

    // A locked keyring: a run that may not ask says so, and is not "logged out"...
    session.lock();
    let ran = center.run(&["dav"], false);
    assert_eq!(ran[0].status, ItemStatus::Failed, "{ran:?}");
    assert!(
        ran[0]
            .text
            .contains("needs your logon: the keyring is locked"),
        "{ran:?}"
    );
    // ...and a run that may ask, asks (the desktop's unlock prompt cannot show here).
    let password = webdav.pass.clone();
    center.answer(move |form| {
        assert!(
            form.message.as_deref().unwrap_or("").contains("locked"),
            "{form:?}"
        );
        log_on(&password, false)
    });
    let ran = center.run(&["dav"], true);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert_eq!(center.forms.lock().len(), 1);

    // "Add folder pair…" with Test connection: a refused password is said under the
    // password field; the right one connects. Nothing is added (canceled at the end).
    let tested_left = dir.path().join("tested-left");
    std::fs::create_dir_all(&tested_left).unwrap();
    let server_values = {
        let address = format!("http://127.0.0.1:{}/data", webdav.port);
        let (user, right_password) = (webdav.user.clone(), webdav.pass.clone());
        move |password: &str| -> Values {
            [
                ("address", FieldValue::Text(address.clone())),
                ("user", FieldValue::Text(user.clone())),
                (
                    "password",
                    FieldValue::Text(password.replace("RIGHT", &right_password)),
                ),
                ("remember", FieldValue::Bool(false)),
            ]
            .into_iter()
            .map(|(id, value)| (id.to_string(), value))
            .collect()
        }
    };
    let mut step = 0;
    center.answer(move |form| {
        step += 1;
        // What the window sends: every field's value, the typed ones changed.
        let submitted = |button: &str, typed: Values| {
            let mut values = form.initial_values();
            values.extend(typed);
            FormReply::Submitted {
                button: button.into(),
                values,
            }
        };
        match step {
            1 => submitted(
                "ok",
                [
                    ("name", FieldValue::Text("tested".into())),
                    ("left", FieldValue::Text(tested_left.display().to_string())),
                    ("kind", FieldValue::Text("WebDAV".into())),
                ]
                .into_iter()
                .map(|(id, value)| (id.to_string(), value))
                .collect(),
            ),
            2 => submitted("test", server_values("not the password")),
            3 => submitted("test", server_values("RIGHT")),
            _ => FormReply::Canceled,
        }
    });
    let handler = ItemKey::new(folders::HANDLER_ID, "dav").handler;
    center
        .engine
        .show_properties(&handler, PropertiesTarget::Handler);
    wait_until("the pair form is canceled", || {
        center.forms.lock().len() == 4
    });
    let forms = center.forms.lock().clone();
    let refused = error_under_password(&forms[2]).expect("the error under the field");
    assert!(
        refused.contains("did not accept this password"),
        "{refused}"
    );
    assert_eq!(forms[2].message, None, "{:?}", forms[2]);
    assert!(error_under_password(&forms[3]).is_none(), "{:?}", forms[3]);
    let connected = forms[3].message.clone().unwrap_or_default();
    assert!(connected.starts_with("Connected."), "{connected}");

    // No keyring (the session's bus gone): the form offers no "Remember my password", on
    // the first try and after a wrong password alike, and says why; the password typed is
    // kept in memory until the process ends, so the next run, which may not ask, goes on.
    // SAFETY: no other thread of this binary reads the environment now.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus") };
    let right_password = sftp.pass.clone();
    let mut tries = 0;
    center.answer(move |form| {
        assert!(form.fields.iter().all(|f| f.id != "remember"), "{form:?}");
        let message = form.message.clone().unwrap_or_default();
        assert!(message.contains("no keyring is available"), "{form:?}");
        tries += 1;
        log_on(if tries == 1 { "wrong" } else { &right_password }, false)
    });
    std::fs::write(sftp_left.join("no-keyring.txt"), "typed once").unwrap();
    let ran = center.run(&["sftp"], true);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert_eq!(center.forms.lock().len(), 2);
    center.no_dialogs();
    std::fs::write(sftp_left.join("no-keyring-again.txt"), "not asked").unwrap();
    let ran = center.run(&["sftp"], false);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert!(dir.path().join("sftp/no-keyring-again.txt").exists());
    // The password kept in memory stops working (changed on the server): asked again, still
    // with no "Remember", and the new one is what later runs use.
    let sftp_account = format!("sftp://{}@127.0.0.1:{}", sftp.user, sftp.port);
    folders::passwords::accepted_without_keyring_now(&sftp_account, "the old password");
    // While that form is open, the local pair queued behind it is removed (in the window,
    // say): it is not run after all, and nothing of it is written back.
    let right_password = sftp.pass.clone();
    let home_now = home.clone();
    center.answer(move |form| {
        assert!(form.fields.iter().all(|f| f.id != "remember"), "{form:?}");
        assert!(error_under_password(form).is_some(), "{form:?}");
        folders::remove_pair(&home_now, "plain").unwrap();
        log_on(&right_password, false)
    });
    let ran = center.run(&["sftp", "plain"], true);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert_eq!(center.forms.lock().len(), 1);
    assert_eq!(ran[1].status, ItemStatus::Failed, "{ran:?}");
    assert!(ran[1].text.contains("no folder pair named"), "{ran:?}");
    let record = folders::archive::archive_file(&home.data_dir, "plain");
    assert!(
        !record.exists(),
        "the removed pair's record was written back"
    );
    center.no_dialogs();
    let ran = center.run(&["sftp"], false);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");

    // "Add folder pair…" without a keyring: no "Remember my password" to tick, the field
    // says why, and the password is kept for this process, so the new pair's first sync
    // does not ask.
    let added_left = dir.path().join("added-left");
    std::fs::create_dir_all(&added_left).unwrap();
    std::fs::write(added_left.join("added.txt"), "added").unwrap();
    let (address, user, password) = (
        format!("http://127.0.0.1:{}/data/added", webdav.port),
        webdav.user.clone(),
        webdav.pass.clone(),
    );
    let mut step = 0;
    center.answer(move |form| {
        step += 1;
        let mut values = form.initial_values();
        let typed: Vec<(&str, FieldValue)> = match step {
            1 => vec![
                ("name", FieldValue::Text("added".into())),
                ("left", FieldValue::Text(added_left.display().to_string())),
                ("kind", FieldValue::Text("WebDAV".into())),
            ],
            2 => {
                assert!(form.fields.iter().all(|f| f.id != "remember"), "{form:?}");
                let help = form.fields.iter().find(|f| f.id == "password");
                assert!(
                    help.and_then(|f| f.help.as_deref())
                        .is_some_and(|h| h.contains("keeps the password until it closes")),
                    "{form:?}"
                );
                vec![
                    ("address", FieldValue::Text(address.clone())),
                    ("user", FieldValue::Text(user.clone())),
                    ("password", FieldValue::Text(password.clone())),
                ]
            }
            _ => panic!("nothing more is asked: {form:?}"),
        };
        values.extend(typed.into_iter().map(|(id, v)| (id.to_string(), v)));
        FormReply::Submitted {
            button: "ok".into(),
            values,
        }
    });
    let closed = center.properties_closed.load(Ordering::SeqCst);
    center
        .engine
        .show_properties(&handler, PropertiesTarget::Handler);
    wait_until("the pair to be added", || {
        center.properties_closed.load(Ordering::SeqCst) > closed
    });
    assert_eq!(center.forms.lock().len(), 2);
    center.no_dialogs();
    let ran = center.run(&["added"], false);
    assert_eq!(ran[0].status, ItemStatus::Succeeded, "{ran:?}");
    assert!(dir.path().join("dav/data/added/added.txt").exists());

    // No file under the home, rclone's configuration included, holds a password.
    for password in [&webdav.pass, &sftp.pass] {
        let holding = files_holding(&user_home, password.as_bytes());
        assert!(holding.is_empty(), "{holding:?} hold a password");
    }
    assert!(!user_home.join(".config/rclone/rclone.conf").exists());
}
