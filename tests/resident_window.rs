//! The instance's window under a real X server (Xvfb): `Activate` from another program opens
//! it, closing it leaves a background instance running, and `Activate` makes a new one.
//! Without background mode, closing the window ends Sync Center, and a run still going then
//! is recorded as it stands (`Engine::end`, "Stopped when Sync Center closed.").

mod resident_support;

use resident_support::{Bus, Display, Home, Instance, synccenter, text, wait_for};
use std::time::Duration;

const TITLE: &str = "Sync Center";

/// One window at a time: two software-rendered windows starting together on two busy cores
/// take long enough to make the waits long.
static ONE_WINDOW: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn activate_opens_the_window_and_a_closed_window_comes_back() {
    let _one = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let display = Display::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    home.write_settings(r#"{"keep_running":true}"#);
    let mut instance = Instance::start(
        home.path(),
        &bus,
        &["--background"],
        &[],
        &[("DISPLAY", display.name.as_str())],
    );
    assert!(
        display.windows(TITLE).is_empty(),
        "--background opened a window"
    );
    bus.call("org.freedesktop.Application.Activate", &["{}"])
        .expect("Activate");
    wait_for("the window", Duration::from_secs(120), || {
        !display.windows(TITLE).is_empty()
    });
    std::thread::sleep(Duration::from_secs(2));
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("activated.png");
    display.screenshot(&shot);
    // A second Activate raises the open window instead of opening another: there is never
    // more than one, however long one looks.
    bus.call("org.freedesktop.Application.Activate", &["{}"])
        .expect("Activate");
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

    bus.call("org.freedesktop.Application.Activate", &["{}"])
        .expect("Activate");
    wait_for("a new window", Duration::from_secs(120), || {
        !display.windows(TITLE).is_empty()
    });
    let (status, stderr) = instance.quit_saying(&bus);
    assert!(status.success(), "{stderr}");
    assert!(display.windows(TITLE).is_empty());
}

#[test]
fn without_background_mode_closing_the_window_ends_sync_center() {
    let _one = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let display = Display::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    let mut instance = Instance::start(
        home.path(),
        &bus,
        &[],
        &[],
        &[("DISPLAY", display.name.as_str())],
    );
    wait_for("the window", Duration::from_secs(120), || {
        !display.windows(TITLE).is_empty()
    });
    display.close_all(TITLE);
    let status = instance.wait_end(Duration::from_secs(60));
    assert!(status.success(), "{status}");
    assert!(!bus.has_instance());
}

#[test]
fn closing_the_window_during_a_run_records_the_run_as_it_stands() {
    let _one = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let display = Display::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    let mut instance = Instance::start(
        home.path(),
        &bus,
        &[],
        &[],
        &[("DISPLAY", display.name.as_str())],
    );
    wait_for("the window", Duration::from_secs(120), || {
        !display.windows(TITLE).is_empty()
    });
    // The handler hears the stop but stays in synchronize: closing cannot wait for it.
    home.hold("sync");
    bus.call(
        "io.github.synccenter.SyncCenter1.SyncItems",
        &["['alpha']", "{}"],
    )
    .expect("SyncItems");
    wait_for("the handler to be held", Duration::from_secs(60), || {
        !home.journal("sync-held").is_empty()
    });
    display.close_all(TITLE);
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
    let _one = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let display = Display::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    let mut instance = Instance::start(
        home.path(),
        &bus,
        &["--background"],
        &[],
        &[("DISPLAY", display.name.as_str())],
    );
    // `synccenter` as a launcher without D-Bus activation runs it: it asks the running
    // instance to show its window (Activate) and ends.
    let out = synccenter(home.path(), Some(&bus))
        .env("DISPLAY", &display.name)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    wait_for("the instance's window", Duration::from_secs(120), || {
        !display.windows(TITLE).is_empty()
    });
    assert!(
        instance.child.try_wait().unwrap().is_none(),
        "the instance ended"
    );
    let (status, stderr) = instance.quit_saying(&bus);
    assert!(status.success(), "{stderr}");
}

#[test]
fn a_background_instance_without_background_mode_ends_when_its_window_closes() {
    let _one = ONE_WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    let display = Display::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    // What D-Bus activation from the desktop's menu does: start `--background`, then
    // Activate. With background mode off, closing the window ends Sync Center.
    let mut instance = Instance::start(
        home.path(),
        &bus,
        &["--background"],
        &[],
        &[("DISPLAY", display.name.as_str())],
    );
    bus.call("org.freedesktop.Application.Activate", &["{}"])
        .expect("Activate");
    wait_for("the window", Duration::from_secs(120), || {
        !display.windows(TITLE).is_empty()
    });
    display.close_all(TITLE);
    let status = instance.wait_end(Duration::from_secs(60));
    assert!(status.success(), "{status}");
    assert!(!bus.has_instance());
}
