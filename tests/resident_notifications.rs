//! Desktop notifications reach a real notification daemon (dunst on a private session bus,
//! drawing on Xvfb): a run with problems while no window is open, and a start from a
//! launcher that has to wait for a terminal sync.

mod resident_support;

use resident_support::{
    Bus, Display, Home, Instance, Notifications, start_terminal_sync, wait_for,
};
use std::time::Duration;

/// Waits until a notification with this summary was shown; its application and body.
fn wait_for_notification(notifications: &Notifications, summary: &str) -> (String, String) {
    let mut found = None;
    wait_for(summary, Duration::from_secs(60), || {
        found = notifications
            .shown()
            .into_iter()
            .find(|(_, shown, _)| shown == summary)
            .map(|(app, _, body)| (app, body));
        found.is_some()
    });
    found.unwrap()
}

#[test]
fn a_run_with_problems_and_no_window_open_is_notified() {
    let bus = Bus::start();
    let display = Display::start();
    let notifications = Notifications::start(&bus, &display);
    let home = Home::with_items(0.0, "alpha,full");
    let instance = Instance::background(home.path(), &bus, &[]);
    bus.sync_items("['alpha', 'full']").unwrap();
    let (app, body) = wait_for_notification(&notifications, "Synchronization had problems");
    assert_eq!(app, "Sync Center");
    assert!(body.contains("Not synchronized: Full."), "{body}");
    assert!(!body.contains("Alpha"), "{body}");
    assert!(instance.quit(&bus).success());
}

#[test]
fn a_window_start_waiting_for_a_terminal_sync_says_so_and_opens_after_it() {
    let bus = Bus::start();
    let display = Display::start();
    let notifications = Notifications::start(&bus, &display);
    let home = Home::new(0.0);
    home.hold("sync");
    let mut terminal = Instance::of(start_terminal_sync(home.path(), &bus, "alpha"));
    home.wait_held("sync");
    let mut window = Instance::spawn(home.path(), &bus, &[], &[("DISPLAY", &display.name)]);
    let (app, body) = wait_for_notification(&notifications, "Sync Center is waiting");
    assert_eq!(app, "Sync Center");
    assert!(
        body.contains("A sync started in a terminal is running"),
        "{body}"
    );
    assert!(
        display.windows("Sync Center").is_empty(),
        "{}",
        window.stderr()
    );

    home.release("sync");
    assert_eq!(terminal.wait_end(Duration::from_secs(120)).code(), Some(0));
    wait_for("the window", Duration::from_secs(60), || {
        !display.windows("Sync Center").is_empty()
    });
    assert!(bus.has_instance(), "{}", window.stderr());
    assert!(window.quit(&bus).success());
}
