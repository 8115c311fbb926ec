//! The instance's window under a real X server (Xvfb): `Activate` from another program opens
//! it, closing it leaves a background instance running, and `Activate` makes a new one.
//! Without background mode, closing the window ends Sync Center, and a run still going then
//! is recorded as it stands (`Engine::end`, "Stopped when Sync Center closed."). A pair
//! removed in its Properties leaves its schedules.

mod resident_support;

use resident_support::{Bus, Display, Home, Instance, synccenter, text};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

const TITLE: &str = "Sync Center";

/// One window at a time: two software-rendered windows starting together on two busy cores
/// take long enough to make the waits long.
static ONE_WINDOW: Mutex<()> = Mutex::new(());

/// What each test here runs on: an X server, a session bus and a home with the journal
/// handler, while no other test of this file has a window.
struct Desktop {
    // Dropped in this order: the home, the bus, the X server, then the next test may go.
    home: Home,
    bus: Bus,
    display: Display,
    _one: MutexGuard<'static, ()>,
}

impl Desktop {
    fn new() -> Desktop {
        let one = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
        let display = Display::start();
        let bus = Bus::start();
        Desktop {
            home: Home::new(0.0),
            bus,
            display,
            _one: one,
        }
    }

    /// The instance started `synccenter FLAGS…` on this desktop.
    fn start(&self, flags: &[&str]) -> Instance {
        Instance::on_display(self.home.path(), &self.bus, flags, &self.display)
    }

    /// Waits until Sync Center's window is on the screen; a wait that fails says whether
    /// `instance` still runs and what it wrote (a window once never came, unexplained).
    fn wait_for_window(&self, instance: &mut Instance, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.display.windows(TITLE).is_empty() {
            let ended = instance.child.try_wait().unwrap();
            assert!(
                ended.is_none() && Instant::now() < deadline,
                "no {what} (the instance {}): {}",
                ended.map_or("still runs".to_string(), |status| format!(
                    "ended: {status}"
                )),
                instance.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Closes the window and waits for the instance to end by itself, successfully.
    fn close_window_and_see_it_end(&self, instance: &mut Instance) {
        self.display.close_all(TITLE);
        let status = instance.wait_end(Duration::from_secs(60));
        assert!(status.success(), "{status}");
        assert!(!self.bus.has_instance());
    }
}

#[test]
fn activate_opens_the_window_and_a_closed_window_comes_back() {
    let desktop = Desktop::new();
    let Desktop { bus, display, .. } = &desktop;
    desktop.home.write_settings(r#"{"keep_running":true}"#);
    let mut instance = desktop.start(&["--background"]);
    assert!(
        display.windows(TITLE).is_empty(),
        "--background opened a window"
    );
    bus.activate();
    desktop.wait_for_window(&mut instance, "the window");
    std::thread::sleep(Duration::from_secs(2));
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("activated.png");
    display.screenshot(&shot);
    // A second Activate raises the open window instead of opening another: there is never
    // more than one, however long one looks.
    bus.activate();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < until {
        let windows = display.windows(TITLE);
        assert_eq!(windows.len(), 1, "{windows:?}");
        std::thread::sleep(Duration::from_millis(250));
    }

    display.close_all(TITLE);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        instance.child.try_wait().unwrap().is_none(),
        "closing the window ended it"
    );

    bus.activate();
    desktop.wait_for_window(&mut instance, "a new window");
    let (status, stderr) = instance.quit_saying(bus);
    assert!(status.success(), "{stderr}");
    assert!(display.windows(TITLE).is_empty());
}

#[test]
fn without_background_mode_closing_the_window_ends_sync_center() {
    let desktop = Desktop::new();
    let mut instance = desktop.start(&[]);
    desktop.wait_for_window(&mut instance, "the window");
    desktop.close_window_and_see_it_end(&mut instance);
}

#[test]
fn closing_the_window_during_a_run_records_the_run_as_it_stands() {
    let desktop = Desktop::new();
    let home = &desktop.home;
    let mut instance = desktop.start(&[]);
    desktop.wait_for_window(&mut instance, "the window");
    // The handler hears the stop but stays in synchronize: closing cannot wait for it.
    home.hold("sync");
    desktop.bus.sync_items("['alpha']").expect("SyncItems");
    home.wait_held("sync");
    desktop.display.close_all(TITLE);
    let status = instance.wait_end(Duration::from_secs(60));
    home.release("sync");
    assert!(status.success(), "{status}");
    let history = home.history();
    assert_eq!(history.len(), 1, "{history:?}");
    let alpha = &history[0]["items"][0];
    assert_eq!(alpha["status"], "canceled", "{history:?}");
    assert_eq!(
        alpha["text"], "Stopped when Sync Center closed.",
        "{history:?}"
    );
}

#[test]
fn a_plain_second_start_raises_the_running_instances_window() {
    let desktop = Desktop::new();
    let mut instance = desktop.start(&["--background"]);
    // `synccenter` as a launcher without D-Bus activation runs it: it asks the running
    // instance to show its window (Activate) and ends.
    let out = synccenter(desktop.home.path(), Some(&desktop.bus))
        .env("DISPLAY", &desktop.display.name)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    desktop.wait_for_window(&mut instance, "the instance's window");
    assert!(
        instance.child.try_wait().unwrap().is_none(),
        "the instance ended"
    );
    let (status, stderr) = instance.quit_saying(&desktop.bus);
    assert!(status.success(), "{stderr}");
}

#[test]
fn a_background_instance_without_background_mode_ends_when_its_window_closes() {
    let desktop = Desktop::new();
    // What D-Bus activation from the desktop's menu does: start `--background`, then
    // Activate. With background mode off, closing the window ends Sync Center.
    let mut instance = desktop.start(&["--background"]);
    desktop.bus.activate();
    desktop.wait_for_window(&mut instance, "the window");
    desktop.close_window_and_see_it_end(&mut instance);
}

#[test]
fn a_pair_removed_in_its_properties_leaves_its_schedules() {
    let desktop = Desktop::new();
    let home = desktop.home.path();
    let (left, right) = (home.join("left"), home.join("right"));
    let commands: [&[&str]; 3] = [
        &["folder", "add", "p", "--create"],
        &[
            "schedule", "add", "nightly", "p", "alpha", "--daily", "02:00",
        ],
        &["schedule", "add", "only-p", "p", "--every", "1h"],
    ];
    for args in commands {
        let mut command = synccenter(home, None);
        command.args(args);
        if args[0] == "folder" {
            command.arg(&left).arg(&right);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    let mut instance = desktop.start(&[]);
    desktop.wait_for_window(&mut instance, "the window");
    std::thread::sleep(Duration::from_secs(3));
    // The layout of a 920×600 window at the screen's corner (docs/screenshots): the pair's
    // name in the first row, then the toolbar's Properties, the form's "Remove this pair…"
    // and the question's Remove.
    for (x, y) in [(71, 148), (368, 20), (531, 493), (575, 373)] {
        desktop.display.click(x, y);
        std::thread::sleep(Duration::from_secs(2));
    }
    let listed = || {
        let out = synccenter(home, None)
            .args(["schedule", "list", "--json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let mut schedules = serde_json::Value::Null;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        schedules = listed();
        if schedules.as_array().is_some_and(|s| s.len() == 1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pair-removed.png");
    desktop.display.screenshot(&shot);
    let pairs = synccenter(home, None)
        .args(["folder", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&pairs.stdout).unwrap(),
        serde_json::json!([]),
        "the pair was not removed (screen: {})",
        shot.display()
    );
    let schedules = schedules.as_array().cloned().unwrap_or_default();
    assert_eq!(
        schedules.len(),
        1,
        "{schedules:?} (screen: {})",
        shot.display()
    );
    assert_eq!(schedules[0]["name"], "nightly");
    let items = schedules[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["item"], "alpha");
    let (status, stderr) = instance.quit_saying(&desktop.bus);
    assert!(status.success(), "{stderr}");
}
