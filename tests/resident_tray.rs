//! The tray icon with a real StatusNotifierWatcher and host from Debian's packages
//! (`status-notifier-watcher`, `gtk-sni-tray-standalone`) under Xvfb: the item registers,
//! its menu's "Sync all" starts a run, and without any host the instance works the same.

mod resident_support;

use resident_support::{Bus, Display, Home, Instance, wait_for};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gdbus(bus: &Bus, dest: &str, path: &str, method: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("gdbus")
        .args([
            "call",
            "--address",
            &bus.address,
            "--dest",
            dest,
            "--object-path",
            path,
        ])
        .args(["--method", method, "--"])
        .args(args)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The registered items, as the watcher lists them (`:1.7/StatusNotifierItem`…).
fn registered(bus: &Bus) -> String {
    gdbus(
        bus,
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
    let instance = Instance::start(
        home.path(),
        &bus,
        &["--background"],
        &[],
        &[("DISPLAY", display.name.as_str())],
    );
    wait_for("the tray item to register", Duration::from_secs(60), || {
        registered(&bus).contains("org.kde.StatusNotifierItem-")
    });
    // ksni registers a well-known name of its own: org.kde.StatusNotifierItem-PID-N.
    let listed = registered(&bus);
    let name = listed
        .split('\'')
        .find(|s| s.starts_with("org.kde.StatusNotifierItem-"))
        .unwrap()
        .to_string();
    let tooltip = gdbus(
        &bus,
        &name,
        "/StatusNotifierItem",
        "org.freedesktop.DBus.Properties.Get",
        &["org.kde.StatusNotifierItem", "ToolTip"],
    )
    .unwrap();
    assert!(tooltip.contains("Up to date"), "{tooltip}");
    std::thread::sleep(Duration::from_secs(2));
    display.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tray.png"));

    let layout = gdbus(
        &bus,
        &name,
        "/MenuBar",
        "com.canonical.dbusmenu.GetLayout",
        &["0", "-1", "[]"],
    )
    .unwrap();
    for label in ["Sync all", "Pause schedules", "Open Sync Center", "Quit"] {
        assert!(layout.contains(&format!("'{label}'")), "{label}: {layout}");
    }
    let sync_all = menu_id(&layout, "Sync all");
    gdbus(
        &bus,
        &name,
        "/MenuBar",
        "com.canonical.dbusmenu.Event",
        &[&sync_all.to_string(), "clicked", "<int32 0>", "0"],
    )
    .unwrap();
    wait_for("the run Sync all started", Duration::from_secs(60), || {
        home.history()
            .iter()
            .any(|r| r["reason"] == "manual" && r["items"].as_array().is_some_and(|i| i.len() == 3))
    });
    // Pausing from the menu shows in the tooltip (the host is told the item changed).
    let pause = menu_id(&layout, "Until resumed");
    gdbus(
        &bus,
        &name,
        "/MenuBar",
        "com.canonical.dbusmenu.Event",
        &[&pause.to_string(), "clicked", "<int32 0>", "0"],
    )
    .unwrap();
    wait_for("the tooltip to say so", Duration::from_secs(30), || {
        gdbus(
            &bus,
            &name,
            "/StatusNotifierItem",
            "org.freedesktop.DBus.Properties.Get",
            &["org.kde.StatusNotifierItem", "ToolTip"],
        )
        .is_ok_and(|t| t.contains("Schedules paused until resumed"))
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
    let bus = Bus::start();
    let home = Home::new(0.0);
    let instance = Instance::background(home.path(), &bus, &[]);
    let out = resident_support::synccenter(home.path(), Some(&bus))
        .args(["sync", "alpha"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
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
    gdbus(
        bus,
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
    wait_for("the tray item to register", Duration::from_secs(60), || {
        registered(&bus).contains("org.kde.StatusNotifierItem-")
    });
    let listed = registered(&bus);
    let name = listed
        .split('\'')
        .find(|s| s.starts_with("org.kde.StatusNotifierItem-"))
        .unwrap()
        .to_string();

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
        bus.call(
            "io.github.synccenter.SyncCenter1.SyncItems",
            &[&format!("['{item}']"), "{}"],
        )
        .unwrap();
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
    let layout = gdbus(
        &bus,
        &name,
        "/MenuBar",
        "com.canonical.dbusmenu.GetLayout",
        &["0", "-1", "[]"],
    )
    .unwrap();
    assert!(layout.contains("Answer what waits (1)"), "{layout}");
    assert!(instance.quit(&bus).success());
}
