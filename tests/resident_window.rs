//! The instance's window under a real X server (Xvfb): `Activate` from another program opens
//! it, closing it leaves a background instance running, and `Activate` makes a new one.
//! Without background mode, closing the window ends Sync Center.

mod resident_support;

use resident_support::{Bus, Display, Home, Instance, wait_for};
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
    // A second Activate raises the open window instead of opening another.
    bus.call("org.freedesktop.Application.Activate", &["{}"])
        .expect("Activate");
    std::thread::sleep(Duration::from_secs(1));
    let windows = display.windows(TITLE);
    assert_eq!(windows.len(), 1, "{windows:?}");

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
