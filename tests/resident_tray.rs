//! The tray icon with a real StatusNotifierWatcher and host from Debian's packages
//! (`status-notifier-watcher`, `gtk-sni-tray-standalone`) under Xvfb: the item registers,
//! its menu's "Sync all" starts a run, and without any host the instance works the same.

mod resident_support;

use resident_support::{Bus, Display, Home, Instance, background_instance, wait_for};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The registered items, as the watcher lists them (`:1.7/StatusNotifierItem`…).
fn registered(bus: &Bus) -> String {
    bus.call_at(
        "org.kde.StatusNotifierWatcher",
        "/StatusNotifierWatcher",
        "org.freedesktop.DBus.Properties.Get",
        &[
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        ],
    )
    .unwrap_or_default()
}

/// Waits until Sync Center's tray item registers; its bus name. ksni registers a
/// well-known name of its own: org.kde.StatusNotifierItem-PID-N.
fn tray_item(bus: &Bus) -> String {
    wait_for("the tray item to register", Duration::from_secs(60), || {
        registered(bus).contains("org.kde.StatusNotifierItem-")
    });
    registered(bus)
        .split('\'')
        .find(|s| s.starts_with("org.kde.StatusNotifierItem-"))
        .unwrap()
        .to_string()
}

/// The tray item's menu, as gdbus prints its dbusmenu layout.
fn menu_layout(bus: &Bus, item: &str) -> String {
    bus.call_at(
        item,
        "/MenuBar",
        "com.canonical.dbusmenu.GetLayout",
        &["0", "-1", "[]"],
    )
    .unwrap()
}

/// Clicks the menu entry labelled `label` in this layout of the item's menu.
fn click(bus: &Bus, item: &str, layout: &str, label: &str) {
    let id = menu_id(layout, label).to_string();
    bus.call_at(
        item,
        "/MenuBar",
        "com.canonical.dbusmenu.Event",
        &[&id, "clicked", "<int32 0>", "0"],
    )
    .unwrap();
}

/// The id of the menu entry labelled `label` in a dbusmenu layout printed by gdbus.
fn menu_id(layout: &str, label: &str) -> i32 {
    let at = layout
        .find(&format!("'label': <'{label}'>"))
        .unwrap_or_else(|| panic!("no \"{label}\" in {layout}"));
    let open = layout[..at]
        .rfind("<(")
        .expect("an entry opens before its label");
    layout[open + 2..]
        .split(',')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn the_tray_registers_with_a_real_host_and_its_sync_all_starts_a_run() {
    let display = Display::start();
    let bus = Bus::start();
    let env = |c: &mut Command| {
        c.env("DISPLAY", &display.name)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let mut watcher = Command::new("status-notifier-watcher");
    env(&mut watcher);
    let _watcher = Killed(
        watcher
            .spawn()
            .expect("status-notifier-watcher (haskell-status-notifier-item-utils) runs"),
    );
    wait_for("the watcher", Duration::from_secs(60), || {
        !registered(&bus).is_empty()
    });
    let mut host = Command::new("gtk-sni-tray-standalone");
    host.args(["--top", "--end", "--size", "40"]);
    env(&mut host);
    let _host = Killed(
        host.spawn()
            .expect("gtk-sni-tray-standalone (haskell-gtk-sni-tray-utils) runs"),
    );
    let home = Home::new(0.0);
    let instance = Instance::on_display(home.path(), &bus, &["--background"], &display);
    let name = tray_item(&bus);
    let shown = tooltip(&bus, &name);
    assert!(shown.contains("Up to date"), "{shown}");
    std::thread::sleep(Duration::from_secs(2));
    display.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tray.png"));

    let layout = menu_layout(&bus, &name);
    for label in ["Sync all", "Pause schedules", "Open Sync Center", "Quit"] {
        assert!(layout.contains(&format!("'{label}'")), "{label}: {layout}");
    }
    click(&bus, &name, &layout, "Sync all");
    wait_for("the run Sync all started", Duration::from_secs(60), || {
        home.history()
            .iter()
            .any(|r| r["reason"] == "manual" && r["items"].as_array().is_some_and(|i| i.len() == 3))
    });
    // Pausing from the menu shows in the tooltip (the host is told the item changed).
    click(&bus, &name, &layout, "Until resumed");
    wait_for("the tooltip to say so", Duration::from_secs(30), || {
        tooltip(&bus, &name).contains("Schedules paused until resumed")
    });
    let paused = bus
        .call(
            "org.freedesktop.DBus.Properties.Get",
            &["io.github.synccenter.SyncCenter1", "PausedUntil"],
        )
        .unwrap();
    assert!(paused.contains("-1"), "{paused}");
    assert!(instance.quit(&bus).success());
}

#[test]
fn without_a_tray_host_the_instance_works_the_same() {
    let (bus, home, instance) = background_instance();
    let out = resident_support::run_terminal_sync(home.path(), Some(&bus), &["alpha"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        resident_support::text(&out)
    );
    assert!(instance.quit(&bus).success());
}

/// The tray item's tooltip text, or "" while it cannot be read.
fn tooltip(bus: &Bus, name: &str) -> String {
    bus.call_at(
        name,
        "/StatusNotifierItem",
        "org.freedesktop.DBus.Properties.Get",
        &["org.kde.StatusNotifierItem", "ToolTip"],
    )
    .unwrap_or_default()
}

#[test]
fn the_tray_follows_the_pause_and_offers_to_answer_only_what_could_not_ask() {
    let bus = Bus::start();
    let mut watcher = Command::new("status-notifier-watcher");
    watcher
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _watcher = Killed(watcher.spawn().expect("status-notifier-watcher runs"));
    wait_for("the watcher", Duration::from_secs(60), || {
        !registered(&bus).is_empty()
    });
    let home = Home::with_items(0.0, "alpha,logon,full");
    let instance = Instance::background(home.path(), &bus, &[]);
    let name = tray_item(&bus);

    // A pause that ends by itself ends in the tray too.
    bus.call("io.github.synccenter.SyncCenter1.PauseSchedules", &["2"])
        .unwrap();
    wait_for("the tooltip to say paused", Duration::from_secs(30), || {
        tooltip(&bus, &name).contains("Schedules paused until")
    });
    wait_for(
        "the tooltip to forget the pause",
        Duration::from_secs(60),
        || {
            let text = tooltip(&bus, &name);
            text.contains("Up to date") && !text.contains("paused")
        },
    );

    // An item that failed for another reason (a full disk) is not offered as waiting.
    let run = |item: &str| {
        let before = home.history().len();
        bus.sync_items(&format!("['{item}']")).unwrap();
        wait_for("the run's record", Duration::from_secs(60), || {
            home.history().len() > before
        });
    };
    run("full");
    wait_for(
        "the failure in the tooltip",
        Duration::from_secs(30),
        || tooltip(&bus, &name).contains("1 item failed"),
    );
    assert!(!tooltip(&bus, &name).contains("your answer"));
    // A program's run without dialogs could not ask for the logon: that item waits for
    // the user, in the tooltip and the menu.
    run("logon");
    wait_for(
        "the waiting item in the tooltip",
        Duration::from_secs(30),
        || tooltip(&bus, &name).contains("1 item waits for your answer"),
    );
    let layout = menu_layout(&bus, &name);
    assert!(layout.contains("Answer what waits (1)"), "{layout}");
    assert!(instance.quit(&bus).success());
}
