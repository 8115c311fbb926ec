//! The running instance on a real session bus, driven through the real binary: a terminal
//! `sync` hands its run over (and gets the same exit codes), another program's cookie reaches
//! the handler, and without a bus two terminal syncs never work on one home at once.

mod resident_support;

use resident_support::{Bus, Home, Instance, synccenter, text, wait_for};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn a_background_instance_takes_a_terminal_sync_and_the_terminal_starts_no_engine() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let instance = Instance::background(home.path(), &bus, &[]);
    let instance_pid = instance.child.id();

    let out = synccenter(home.path(), Some(&bus))
        .args(["sync", "alpha"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("✓ Alpha: Succeeded"),
        "{}",
        text(&out)
    );
    // The handler ran once, started by the instance, not by the terminal's process.
    let runs = home.journal("sync-start");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["parent"], instance_pid, "{runs:?}");
    let manual: Vec<_> = home
        .journal("initialize")
        .into_iter()
        .filter(|e| e["reason"]["kind"] == "manual")
        .collect();
    assert_eq!(manual.len(), 1, "{manual:?}");
    // The run is in the instance's history.
    wait_for("the run in the history", Duration::from_secs(30), || {
        home.history().iter().any(|r| {
            r["items"][0]["key"]["item"] == "alpha" && r["items"][0]["status"] == "succeeded"
        })
    });
    assert!(instance.quit(&bus).success());
}

#[test]
fn a_handed_off_sync_exits_with_the_same_codes() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let instance = Instance::background(home.path(), &bus, &[]);
    let code = |args: &[&str]| {
        let out = synccenter(home.path(), Some(&bus))
            .arg("sync")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    };
    // A run that may not ask fails the item that needs a logon, saying why: 2.
    let (status, out) = code(&["logon"]);
    assert_eq!(status, Some(2), "{out}");
    assert!(out.contains("Needs your logon"), "{out}");
    // Nothing could run: 3, with the reason.
    let (status, out) = code(&["no-such-item"]);
    assert_eq!(status, Some(3), "{out}");
    assert!(out.contains("there is no item \"no-such-item\""), "{out}");
    // Everything: alpha and beta succeed, logon fails.
    let (status, out) = code(&["--all"]);
    assert_eq!(status, Some(2), "{out}");
    assert!(out.contains("✓ Beta: Succeeded"), "{out}");
    drop(instance);
}

#[test]
fn ctrl_c_in_the_terminal_stops_the_instance_run_and_exits_1() {
    let bus = Bus::start();
    let home = Home::new(4.0);
    let _instance = Instance::background(home.path(), &bus, &[]);
    let client = synccenter(home.path(), Some(&bus))
        .args(["sync", "alpha"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the handler to start", Duration::from_secs(60), || {
        !home.journal("sync-start").is_empty()
    });
    // SAFETY: signals our own child.
    unsafe {
        libc::kill(client.id() as i32, libc::SIGINT);
    }
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Canceled"),
        "{}",
        text(&out)
    );
}

#[test]
fn another_programs_cookie_reaches_the_handlers_initialize() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let _instance = Instance::background(home.path(), &bus, &[]);
    let session = bus
        .call(
            "io.github.synccenter.SyncCenter1.SyncHandler",
            &[
                "ext:journal",
                "{'cookie': <[byte 0x63, 0x6f, 0x6f, 0x6b, 0x69, 0x65]>}",
            ],
        )
        .expect("SyncHandler");
    assert!(session.starts_with("(uint64 "), "{session}");
    wait_for("the invoked run", Duration::from_secs(60), || {
        home.journal("initialize")
            .iter()
            .any(|e| e["reason"]["kind"] == "invoke")
    });
    let invoked: Vec<_> = home
        .journal("initialize")
        .into_iter()
        .filter(|e| e["reason"]["kind"] == "invoke")
        .collect();
    assert_eq!(invoked.len(), 1, "{invoked:?}");
    assert_eq!(invoked[0]["reason"]["cookie"], serde_json::json!(b"cookie"));
    assert_eq!(invoked[0]["may_bother_user"], false);
    // A bad option is refused with its name, and nothing runs.
    let refused = bus
        .call(
            "io.github.synccenter.SyncCenter1.SyncAll",
            &["{'colour': <'blue'>}"],
        )
        .unwrap_err();
    assert!(refused.contains("colour"), "{refused}");
}

#[test]
fn a_second_start_raises_the_running_instance_instead_of_starting_another() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let mut instance = Instance::background(home.path(), &bus, &[]);
    let out = synccenter(home.path(), Some(&bus))
        .arg("--background")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
    assert!(
        instance.child.try_wait().unwrap().is_none(),
        "the first instance ended"
    );
}

#[test]
fn without_a_bus_two_terminal_syncs_take_turns_and_both_are_recorded() {
    let home = Home::new(2.0);
    let start = || {
        synccenter(home.path(), None)
            .args(["sync", "alpha"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = start();
    wait_for("the first sync to start", Duration::from_secs(60), || {
        !home.journal("sync-start").is_empty()
    });
    let second = start();
    let (first, second) = (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("waiting for it to finish"),
        "{}",
        text(&second)
    );
    let starts = home.journal("sync-start");
    let ends = home.journal("sync-end");
    assert_eq!((starts.len(), ends.len()), (2, 2), "{starts:?} {ends:?}");
    let span = |i: usize| {
        (
            starts[i]["time"].as_f64().unwrap(),
            ends[i]["time"].as_f64().unwrap(),
        )
    };
    let (a, b) = (span(0), span(1));
    assert!(a.1 <= b.0 || b.1 <= a.0, "the runs overlapped: {a:?} {b:?}");
    let history = home.history();
    assert_eq!(history.len(), 2, "{history:?}");
    let items = std::fs::read_to_string(home.path().join("data/items.json")).unwrap();
    assert!(items.contains("alpha"), "{items}");
}

#[test]
fn quit_stops_the_running_session_and_records_it() {
    let bus = Bus::start();
    let home = Home::new(2.0);
    let instance = Instance::background(home.path(), &bus, &[]);
    bus.call(
        "io.github.synccenter.SyncCenter1.SyncItems",
        &["['alpha']", "{}"],
    )
    .expect("SyncItems");
    wait_for("the handler to start", Duration::from_secs(60), || {
        !home.journal("sync-start").is_empty()
    });
    let (status, stderr) = instance.quit_saying(&bus);
    assert!(status.success(), "{stderr}");
    let history = home.history();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["reason"], "invoked");
    assert_eq!(history[0]["items"][0]["status"], "canceled", "{history:?}");
}
