//! Two processes, one home: this test process keeps a store open the way the window does
//! while the real `synccenter` binary, in other processes, checks items, resolves conflicts
//! and records runs. Nobody's change is undone by another process's save.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use synccenter::core::conflicts::{ConflictReport, ConflictSide, Resolution};
use synccenter::core::model::{ItemKey, SessionId};
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, ItemResult, SessionRecord, Store};

fn synccenter(home: &Path, args: &[&str]) -> std::process::Output {
    synccenter_exits(home, args, 0)
}

/// Runs the binary and checks its exit code.
fn synccenter_exits(home: &Path, args: &[&str], code: i32) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(home)
        .arg("--demo")
        .args(args)
        .env("SYNCCENTER_DEMO_STEP_MS", "1")
        .env_remove("SYNCCENTER_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(
        output.status.code(),
        Some(code),
        "synccenter {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn demo(item: &str) -> ItemKey {
    ItemKey::new("demo", item)
}

fn conflict(id: &str) -> ConflictReport {
    let side = |label: &str| ConflictSide {
        label: label.into(),
        location: format!("/{label}"),
        exists: true,
        is_dir: false,
        size: Some(3),
        modified: None,
    };
    ConflictReport {
        id: id.into(),
        path: id.into(),
        left: side("left"),
        right: side("right"),
    }
}

fn run_of(item: &ItemKey, id: u64) -> SessionRecord {
    let now = SystemTime::now();
    SessionRecord {
        id: SessionId(id),
        reason: "manual".into(),
        started: now,
        finished: now,
        items: vec![ItemResult {
            key: item.clone(),
            name: item.item.to_string(),
            handler_name: "Demo".into(),
            status: ItemStatus::Succeeded,
            text: "Synced by the window".into(),
            ended: Some(now),
            could_not_ask: false,
        }],
        log: Vec::new(),
    }
}

/// What is on disk now, as a fresh process sees it.
fn on_disk(home: &Path) -> Store {
    Store::open(Home::under(home)).0
}

#[test]
fn changes_made_in_a_terminal_survive_the_windows_next_save() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // The window's process: its store is open the whole time.
    let (window, notices) = Store::open(Home::under(home));
    assert!(notices.is_empty(), "{notices:?}");
    window.set_checked(&demo("photos"), false);
    window.replace_conflicts(
        &demo("mail"),
        "Mail",
        vec![conflict("a.txt"), conflict("b.txt")],
    );
    window.flush().unwrap();

    // Meanwhile, in a terminal.
    synccenter(home, &["check", "--off", "contacts"]);
    synccenter(
        home,
        &["conflicts", "resolve", "mail", "a.txt", "--keep", "left"],
    );
    // Calendar succeeds with an error logged: exit code 1.
    synccenter_exits(home, &["sync", "calendar", "--no-prompt"], 1);

    // The window saves again, each file, from its older copy plus its own new changes.
    window.set_checked(&demo("mail"), false);
    window.resolve_conflict(&demo("mail"), "b.txt", Resolution::KeepBoth);
    window.record_session(run_of(&demo("photos"), 1));
    window.flush().unwrap();

    for store in [&window, &on_disk(home)] {
        assert!(
            !store.is_checked(&demo("contacts"), true),
            "the terminal's check"
        );
        assert!(!store.is_checked(&demo("photos"), true));
        assert!(!store.is_checked(&demo("mail"), true));
        let resolutions: Vec<(String, Option<Resolution>)> = store
            .conflicts()
            .into_iter()
            .map(|c| (c.report.id, c.resolution))
            .collect();
        assert_eq!(
            resolutions,
            [
                ("a.txt".to_string(), Some(Resolution::KeepLeft)),
                ("b.txt".to_string(), Some(Resolution::KeepBoth)),
            ],
            "the terminal's resolution and the window's"
        );
        let calendar = store
            .item_record(&demo("calendar"))
            .expect("the terminal's run");
        assert_eq!(calendar.last_status, Some(ItemStatus::Succeeded));
        assert!(calendar.last_synced.is_some());
        assert_eq!(
            store.item_record(&demo("photos")).unwrap().last_text,
            "Synced by the window"
        );
    }
}

#[test]
fn the_window_takes_in_what_a_terminal_saved_without_saving_itself() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (window, _) = Store::open(Home::under(home));
    synccenter(home, &["check", "--off", "photos"]);
    synccenter(home, &["sync", "contacts", "--no-prompt"]);
    // The writer looks every few seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    while window.is_checked(&demo("photos"), true)
        || !window
            .history()
            .iter()
            .any(|run| run.items.iter().any(|i| i.key == demo("contacts")))
    {
        assert!(
            Instant::now() < deadline,
            "the window never saw the terminal's changes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn commands_running_at_once_lose_none_of_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_path_buf();
    let items = ["contacts", "calendar", "photos", "mail"];
    for round in 0..3 {
        let checked = round % 2 == 1;
        let children: Vec<_> = items
            .iter()
            .map(|item| {
                let mut command = Command::new(env!("CARGO_BIN_EXE_synccenter"));
                command.arg("--home").arg(&home).arg("--demo").arg("check");
                if !checked {
                    command.arg("--off");
                }
                command
                    .arg(item)
                    .env_remove("SYNCCENTER_HOME")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success());
        }
        let store = on_disk(&home);
        for item in items {
            assert_eq!(
                store.is_checked(&demo(item), !checked),
                checked,
                "round {round}: {item}"
            );
        }
    }
}
