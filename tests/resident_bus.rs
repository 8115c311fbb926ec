//! The running instance on a real session bus, driven through the real binary: a terminal
//! `sync` hands its run over (and gets the same exit codes), another program's cookie reaches
//! the handler, and without a bus two terminal syncs never work on one home at once.

mod resident_support;

use resident_support::{
    Bus, Home, Instance, background_instance, interrupt, run_terminal_sync, start_terminal_sync,
    synccenter, text, wait_for,
};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn a_background_instance_takes_a_terminal_sync_and_the_terminal_starts_no_engine() {
    let (bus, home, instance) = background_instance();
    let instance_pid = instance.child.id();

    let out = run_terminal_sync(home.path(), Some(&bus), &["alpha"]);
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
    let manual: Vec<_> = home.initialized("manual");
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
    let (bus, home, instance) = background_instance();
    let code = |args: &[&str]| {
        let out = run_terminal_sync(home.path(), Some(&bus), args);
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

/// A terminal's `sync alpha` handed to the instance, Ctrl+C pressed once while the handler
/// is held in synchronize (it hears the stop but stays until released), and the stop heard.
fn terminal_sync_interrupted_while_held(home: &Home, bus: &Bus) -> std::process::Child {
    home.hold("sync");
    let client = start_terminal_sync(home.path(), bus, "alpha");
    home.wait_held("sync");
    interrupt(&client);
    wait_for(
        "the stop to reach the handler",
        Duration::from_secs(60),
        || !home.journal("stop-heard").is_empty(),
    );
    client
}

#[test]
fn ctrl_c_in_the_terminal_stops_the_instance_run_and_exits_1() {
    let (bus, home, _instance) = background_instance();
    let client = terminal_sync_interrupted_while_held(&home, &bus);
    home.release("sync");
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Canceled"),
        "{}",
        text(&out)
    );
}

#[test]
fn ctrl_c_twice_leaves_the_stopping_run_to_the_instance_and_exits_1() {
    let (bus, home, instance) = background_instance();
    let client = terminal_sync_interrupted_while_held(&home, &bus);
    interrupt(&client);
    // The terminal leaves while the handler is still held: the run is the instance's now.
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("synccenter results"), "{}", text(&out));
    assert!(
        home.history().is_empty(),
        "the run ended before the release"
    );
    home.release("sync");
    home.wait_recorded();
    let history = home.history();
    assert_eq!(history[0]["items"][0]["status"], "canceled", "{history:?}");
    assert!(instance.quit(&bus).success());
}

#[test]
fn ctrl_c_before_the_instance_answers_still_stops_the_run() {
    let (bus, home, instance) = background_instance();
    // The instance lists the handlers for the request; the handler holds its listing, so
    // the terminal is still waiting for SyncItems' answer when Ctrl+C comes.
    wait_for("the first listing", Duration::from_secs(60), || {
        !home.initialized("settings").is_empty()
    });
    std::thread::sleep(Duration::from_millis(500));
    home.hold("enumerate");
    let held_before = home.journal("enumerate-held").len();
    let client = start_terminal_sync(home.path(), &bus, "alpha");
    wait_for("the listing to be held", Duration::from_secs(60), || {
        home.journal("enumerate-held").len() > held_before
    });
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&client);
    home.release("enumerate");
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // The run the instance started was stopped, not left going on its own.
    home.wait_recorded();
    let history = home.history();
    assert_eq!(history[0]["items"][0]["status"], "canceled", "{history:?}");
    drop(instance);
}

#[test]
fn another_programs_cookie_reaches_the_handlers_initialize() {
    let (bus, home, _instance) = background_instance();
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
        !home.initialized("invoke").is_empty()
    });
    let invoked: Vec<_> = home.initialized("invoke");
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
fn a_second_background_start_leaves_the_running_instance_alone() {
    let (bus, home, mut instance) = background_instance();
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

/// Two starts (a launcher clicked twice) that waited for a terminal sync: the first to get
/// the home becomes the instance and the other hands over to it, rather than waiting until
/// it quits and then starting again.
#[test]
fn starts_that_waited_for_a_terminal_sync_leave_one_instance() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    home.hold("sync");
    let mut terminal = Instance::of(start_terminal_sync(home.path(), &bus, "alpha"));
    home.wait_held("sync");
    let start = || Instance::spawn(home.path(), &bus, &["--background"], &[]);
    let mut starts = [start(), start()];
    for waiting in &mut starts {
        wait_for("a start to wait", Duration::from_secs(60), || {
            waiting
                .stderr()
                .contains("a terminal sync is working on this home")
        });
    }
    home.release("sync");
    assert_eq!(terminal.wait_end(Duration::from_secs(120)).code(), Some(0));
    wait_for("one start to hand over", Duration::from_secs(30), || {
        starts
            .iter_mut()
            .any(|s| s.child.try_wait().unwrap().is_some())
    });
    let [mut a, b] = starts;
    let (mut ended, mut running) = match a.child.try_wait().unwrap() {
        Some(_) => (a, b),
        None => (b, a),
    };
    let status = ended.wait_end(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", ended.stderr());
    assert!(
        ended.stderr().contains("already running"),
        "{}",
        ended.stderr()
    );
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "{}",
        running.stderr()
    );
    assert!(bus.has_instance());
    assert!(running.quit(&bus).success());
}

#[test]
fn without_a_bus_two_terminal_syncs_take_turns_and_both_are_recorded() {
    let home = Home::new(0.0);
    // The first sync's handler stays in synchronize until the second one is waiting.
    home.hold("sync");
    let start = || {
        Instance::of(
            synccenter(home.path(), None)
                .args(["sync", "alpha"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    };
    let mut first = start();
    wait_for("the first sync to be held", Duration::from_secs(60), || {
        !home.journal("sync-held").is_empty()
    });
    let mut second = start();
    wait_for("the second sync to wait", Duration::from_secs(60), || {
        second.stderr().contains("waiting for it to finish")
    });
    assert_eq!(
        home.journal("sync-start").len(),
        1,
        "the second one started"
    );
    home.release("sync");
    let (first, second) = (
        first.wait_end(Duration::from_secs(120)),
        second.wait_end(Duration::from_secs(120)),
    );
    assert_eq!(first.code(), Some(0));
    assert_eq!(second.code(), Some(0));
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
fn quit_records_a_run_whose_handler_ignores_the_stop_and_takes_no_more_work() {
    let (bus, home, mut instance) = background_instance();
    // The handler never returns from synchronize (it ignores the stop): Quit must not wait
    // for it past its grace, and must still record the run.
    home.hold("sync");
    bus.sync_items("['alpha']").expect("SyncItems");
    home.wait_held("sync");
    bus.call(
        "org.freedesktop.Application.ActivateAction",
        &["quit", "[]", "{}"],
    )
    .expect("ActivateAction quit");
    // Work sent after Quit was answered is refused, and never reaches a handler.
    let late = bus.sync_items("['beta']");
    assert!(late.is_err(), "a run started during Quit: {late:?}");
    let status = instance.wait_end(Duration::from_secs(60));
    let stderr = instance.stderr();
    assert!(status.success(), "{status}: {stderr}");
    let history = home.history();
    assert_eq!(history.len(), 1, "{history:?}\n{stderr}");
    assert_eq!(history[0]["reason"], "invoked");
    let alpha = &history[0]["items"][0];
    assert_eq!(alpha["status"], "canceled", "{history:?}");
    assert_eq!(
        alpha["text"], "Stopped when Sync Center quit.",
        "{history:?}"
    );
    let started: Vec<_> = home
        .journal("sync-start")
        .into_iter()
        .filter(|e| e["items"][0] == "beta")
        .collect();
    assert!(started.is_empty(), "{started:?}");
}

#[test]
fn a_handed_off_sync_lists_the_items_again_as_a_local_one_does() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    // A handler that cannot list its items (it refuses to start), beside the journal.
    let refuse = "import sys, json; m = json.loads(sys.stdin.readline()); print(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'error': {'code': -32000, 'message': 'no account is set up'}}), flush=True); sys.stdin.read()";
    std::fs::write(
        home.path().join("config/handlers/broken.toml"),
        format!("name = \"Broken\"\nprogram = \"python3\"\nargs = [\"-c\", {refuse:?}]\n"),
    )
    .unwrap();
    let folder = |name: &str| {
        let (left, right) = (
            home.path().join(format!("{name}-l")),
            home.path().join(format!("{name}-r")),
        );
        std::fs::create_dir_all(&left).unwrap();
        std::fs::create_dir_all(&right).unwrap();
        std::fs::write(left.join("file.txt"), name).unwrap();
        let out = synccenter(home.path(), None)
            .args(["folder", "add", name])
            .arg(&left)
            .arg(&right)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        right
    };
    let first = folder("first");
    let check = |args: &[&str]| {
        let out = synccenter(home.path(), None)
            .arg("check")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    };
    check(&["alpha", "first"]);
    check(&["--off", "beta", "logon"]);
    let instance = Instance::background(home.path(), &bus, &[]);
    wait_for("the first listing", Duration::from_secs(60), || {
        !home.journal("initialize").is_empty()
    });
    // A pair added while the instance runs is synced by the next hand-off.
    let second = folder("second");
    check(&["second"]);
    let out = run_terminal_sync(home.path(), Some(&bus), &[]);
    // Every checked item synced, but a handler could not list its items: 2, as locally.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("✓ first: Succeeded"), "{said}");
    assert!(said.contains("✓ second: Succeeded"), "{said}");
    assert!(said.contains("could not list"), "{said}");
    assert!(first.join("file.txt").exists() && second.join("file.txt").exists());
    // The local run says the same, with the same code.
    drop(instance);
    let local = run_terminal_sync(home.path(), None, &[]);
    assert_eq!(local.status.code(), Some(2), "{}", text(&local));
    assert!(text(&local).contains("could not list"), "{}", text(&local));
}

#[test]
fn a_home_named_two_ways_is_one_home() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let parent = home.path().parent().unwrap();
    let name = home.path().file_name().unwrap();
    // The instance is started with a relative --home, the terminal names it absolutely.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .current_dir(parent)
        .arg("--home")
        .arg(name)
        .arg("--background")
        .env_remove("SYNCCENTER_HOME")
        .env("XDG_CONFIG_HOME", home.xdg_config())
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let instance = Instance::of(child);
    wait_for("the instance", Duration::from_secs(60), || {
        bus.has_instance()
    });
    let out = run_terminal_sync(home.path(), Some(&bus), &["alpha"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = home.journal("sync-start");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["parent"], instance.child.id(), "{runs:?}");
    let told = bus
        .call(
            "org.freedesktop.DBus.Properties.Get",
            &["io.github.synccenter.SyncCenter1", "Home"],
        )
        .unwrap();
    assert!(
        told.contains(&home.path().canonicalize().unwrap().display().to_string()),
        "{told}"
    );
}

#[test]
fn the_desktop_actions_sync_all_runs_in_the_instance_and_may_ask() {
    let (bus, home, instance) = background_instance();
    // What a launcher without D-Bus activation runs for the action (the desktop file's Exec).
    let out = synccenter(home.path(), Some(&bus))
        .args(["--action", "sync-all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    wait_for("the run", Duration::from_secs(60), || {
        !home.initialized("manual").is_empty()
    });
    let manual: Vec<_> = home.initialized("manual");
    // As ActivateAction("sync-all"): dialogs allowed (they show in the window).
    assert_eq!(manual[0]["may_bother_user"], true, "{manual:?}");
    assert_eq!(manual[0]["parent"], instance.child.id(), "{manual:?}");
}
