//! Triggers in a `--background` instance on a real session bus, through the real binary:
//! file changes in a folder pair (inotify, and the periodic fallback when inotify runs out
//! of watches), idle time from a real X server (Xvfb, moved with xdotool), and logon.

mod remote_common;
mod resident_support;

use resident_support::{Bus, Display, Home, Instance, synccenter, synccenter_at, text, wait_for};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use synccenter::resident::idle::IdleSource;

/// Tells the instance to read its settings again.
fn reload_settings(bus: &Bus) {
    bus.call("io.github.synccenter.SyncCenter1.ReloadSettings", &[])
        .unwrap();
}

fn runs(home: &Home, reason: &str) -> usize {
    home.history()
        .iter()
        .filter(|r| r["reason"] == reason)
        .count()
}

/// A folder pair "docs" between two fresh folders of the home.
fn add_pair(home: &Home) -> (PathBuf, PathBuf) {
    let (left, right) = (home.path().join("left"), home.path().join("right"));
    for dir in [&left, &right] {
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    }
    let out = synccenter(home.path(), None)
        .args(["folder", "add", "docs"])
        .arg(&left)
        .arg(&right)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (left, right)
}

/// A home with the folder pair "docs" (see `add_pair`), set to sync 1 s after its files
/// change and to rescan every `rescan_seconds`.
fn home_with_watched_pair(rescan_seconds: u32) -> (Home, (PathBuf, PathBuf)) {
    let home = Home::new(0.0);
    let sides = add_pair(&home);
    home.write_settings(&format!(
        r#"{{"sync_on_change":true,"change_quiet_seconds":1,"rescan_seconds":{rescan_seconds}}}"#
    ));
    (home, sides)
}

/// A background instance on a bus of its own watching the pair of `home_with_watched_pair`
/// (rescans hourly), once its first run is done.
fn watching_instance() -> (Bus, Home, (PathBuf, PathBuf), Instance) {
    let bus = Bus::start();
    let (home, sides) = home_with_watched_pair(3600);
    let instance = Instance::background(home.path(), &bus, &[]);
    wait_first_change_run(&home);
    (bus, home, sides, instance)
}

/// Watching starts with one sync of every pair (changes made while nobody watched).
fn wait_first_change_run(home: &Home) {
    wait_for("the first run", Duration::from_secs(60), || {
        runs(home, "change") >= 1
    });
}

#[test]
fn a_change_in_a_watched_folder_pair_is_synced_within_5_seconds() {
    let (bus, _home, (left, right), instance) = watching_instance();
    std::thread::sleep(Duration::from_millis(500));
    let written = Instant::now();
    std::fs::write(left.join("sub/deeper/note.txt"), b"written while watched").unwrap();
    wait_for(
        "the change on the other side",
        Duration::from_secs(30),
        || right.join("sub/deeper/note.txt").exists(),
    );
    let took = written.elapsed();
    assert!(took <= Duration::from_secs(5), "synced after {took:?}");
    assert_eq!(
        std::fs::read(right.join("sub/deeper/note.txt")).unwrap(),
        b"written while watched"
    );
    assert!(instance.quit(&bus).success());
}

#[test]
fn a_change_on_the_local_side_of_a_remote_pair_is_synced_within_5_seconds() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let rclone = remote_common::rclone_current();
    let served = home.path().join("served");
    std::fs::create_dir_all(served.join("data")).unwrap();
    let server = remote_common::Server::webdav(&served);
    let conf = home.path().join("rclone.conf");
    let section = server.conf_section("remote", &rclone, &home.path().join("known_hosts"));
    std::fs::write(&conf, section).unwrap();
    std::fs::write(
        home.path().join("config/folders.toml"),
        format!("rclone = \"{}\"\n", rclone.display()),
    )
    .unwrap();
    let left = home.path().join("left");
    std::fs::create_dir_all(&left).unwrap();
    let out = synccenter(home.path(), None)
        .env("RCLONE_CONFIG", &conf)
        .args(["folder", "add", "docs"])
        .arg(&left)
        .arg("remote:data")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    home.write_settings(
        r#"{"sync_on_change":true,"change_quiet_seconds":1,"rescan_seconds":3600}"#,
    );
    let conf_text = conf.display().to_string();
    let instance = Instance::start(
        home.path(),
        &bus,
        &["--background"],
        &[],
        &[("RCLONE_CONFIG", conf_text.as_str())],
    );
    wait_first_change_run(&home);
    std::thread::sleep(Duration::from_millis(500));
    let written = Instant::now();
    std::fs::write(left.join("note.txt"), b"written while watched").unwrap();
    wait_for("the change on the server", Duration::from_secs(30), || {
        served.join("data/note.txt").exists()
    });
    let took = written.elapsed();
    assert!(took <= Duration::from_secs(5), "synced after {took:?}");
    assert!(instance.quit(&bus).success());
}

#[test]
fn a_changed_pair_syncs_once_and_its_own_writes_do_not_trigger_it_again() {
    let (bus, home, (left, right), instance) = watching_instance();
    let settled = |what: &str| {
        // Nothing more for 8 s (several quiet periods): whatever was coming has come.
        let mut last = (runs(&home, "change"), Instant::now());
        wait_for(what, Duration::from_secs(120), || {
            let now = runs(&home, "change");
            if now != last.0 {
                last = (now, Instant::now());
            }
            last.1.elapsed() > Duration::from_secs(8)
        });
        last.0
    };
    let before = settled("the first runs to settle");
    std::fs::write(left.join("sub/note.txt"), b"one change").unwrap();
    wait_for(
        "the change on the other side",
        Duration::from_secs(60),
        || right.join("sub/note.txt").exists(),
    );
    // The sync wrote into the right folder, which is watched too: that is not a change.
    assert_eq!(
        settled("the runs to settle"),
        before + 1,
        "{:?}",
        home.history()
    );
    // Reading the settings again changes nothing: no pair syncs for it.
    reload_settings(&bus);
    assert_eq!(settled("the runs to settle"), before + 1);
    assert!(instance.quit(&bus).success());
}

#[test]
fn running_out_of_inotify_watches_says_so_with_the_fix_and_falls_back_to_rescans() {
    let bus = Bus::start();
    let (home, (left, right)) = home_with_watched_pair(2);
    // A user namespace of its own with a limit of 3 watches: the pair needs more (its config
    // folder, and three folders on each side). Nothing else on the machine is affected.
    let program = env!("CARGO_BIN_EXE_synccenter");
    let child = Command::new("unshare")
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg(r#"echo 3 > /proc/sys/user/max_inotify_watches && exec "$0" --background --home "$1""#)
        .arg(program)
        .arg(home.path())
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) runs");
    let instance = Instance::of(child);
    wait_for("the instance", Duration::from_secs(60), || {
        bus.has_instance()
    });
    wait_first_change_run(&home);
    // The periodic rescan still syncs the pair.
    std::fs::write(left.join("after.txt"), b"seen by the rescan").unwrap();
    wait_for(
        "the rescan to sync the change",
        Duration::from_secs(60),
        || right.join("after.txt").exists(),
    );
    let (status, stderr) = instance.quit_saying(&bus);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("limit of inotify watches"), "{stderr}");
    assert!(
        stderr.contains("fs.inotify.max_user_watches=524288"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("limit of inotify watches").count(),
        1,
        "{stderr}"
    );
}

fn xdotool(display: &Display, args: &[&str]) {
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", &display.name)
        .status()
        .expect("xdotool runs");
    assert!(status.success());
}

#[test]
fn the_x11_screensaver_source_sees_idle_time_and_input_resets_it() {
    let display = Display::start();
    // A fresh server on a loaded machine may refuse a connection for a moment (the
    // instance's idle trigger looks again too).
    let mut source = None;
    wait_for("a connection to Xvfb", Duration::from_secs(60), || {
        source = IdleSource::x11_on(Some(&display.name));
        source.is_some()
    });
    let source = source.expect("connected");
    xdotool(&display, &["mousemove", "10", "10"]);
    std::thread::sleep(Duration::from_millis(1500));
    let idle = source.idle().unwrap();
    assert!(idle >= Duration::from_millis(1000), "{idle:?}");
    xdotool(&display, &["mousemove", "200", "200"]);
    let idle = source.idle().unwrap();
    assert!(idle < Duration::from_millis(1000), "{idle:?}");
}

#[test]
fn an_idle_session_syncs_the_checked_items_once_per_idle_period() {
    let display = Display::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    home.write_settings(r#"{"idle_after_seconds":2}"#);
    let _instance = Instance::on_display(home.path(), &bus, &["--background"], &display);
    wait_for("an idle run", Duration::from_secs(60), || {
        runs(&home, "idle") == 1
    });
    // While the user is active nothing more runs.
    let active_until = Instant::now() + Duration::from_secs(5);
    let mut x = 0;
    while Instant::now() < active_until {
        x = (x + 37) % 500;
        xdotool(&display, &["mousemove", &x.to_string(), "100"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(runs(&home, "idle"), 1);
    // Away again: one more run.
    wait_for("a second idle run", Duration::from_secs(60), || {
        runs(&home, "idle") == 2
    });
    let record = &home.history()[0];
    assert_eq!(record["reason"], "idle");
}

#[test]
fn start_at_logon_writes_the_autostart_entry_and_the_logon_run_syncs() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let config = tempfile::tempdir().unwrap();
    home.write_settings(r#"{"start_at_logon":true}"#);
    let entry = config
        .path()
        .join("autostart/io.github.synccenter.SyncCenter.desktop");
    let instance = Instance::start(
        home.path(),
        &bus,
        &["--background", "--logon"],
        &[],
        &[
            ("XDG_CONFIG_HOME", config.path().to_str().unwrap()),
            ("SYNCCENTER_LOGON_DELAY_MS", "0"),
        ],
    );
    wait_for("the autostart entry", Duration::from_secs(30), || {
        entry.exists()
    });
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(text.contains("--background --logon --home"), "{text}");
    assert!(text.contains(&home.path().display().to_string()), "{text}");
    wait_for("the logon run", Duration::from_secs(60), || {
        runs(&home, "logon") == 1
    });
    // Turning the setting off removes the entry.
    home.write_settings(r#"{"start_at_logon":false}"#);
    reload_settings(&bus);
    wait_for("the entry to go", Duration::from_secs(30), || {
        !entry.exists()
    });
    assert!(instance.quit(&bus).success());
    assert!(Path::new(&home.path()).exists());
}

/// An upgrade replaces the program's file while the instance runs; the entry it writes then
/// still starts the file at that path (its running program reads as "PATH (deleted)", and an
/// entry naming that started nothing at the next logon).
#[test]
fn the_autostart_entry_names_the_program_path_after_an_upgrade_replaced_it() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let config = tempfile::tempdir().unwrap();
    let program = config.path().join("bin/synccenter");
    std::fs::create_dir_all(program.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_synccenter"), &program).unwrap();
    home.write_settings(r#"{"start_at_logon":true}"#);
    let entry = config
        .path()
        .join("autostart/io.github.synccenter.SyncCenter.desktop");
    let mut instance = Instance::of(
        synccenter_at(&program, home.path(), Some(&bus))
            .arg("--background")
            .env("XDG_CONFIG_HOME", config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for("the autostart entry", Duration::from_secs(60), || {
        entry.exists()
    });
    // The upgrade: a new file put in the old one's place, as package managers do.
    let new = program.with_extension("new");
    std::fs::copy(env!("CARGO_BIN_EXE_synccenter"), &new).unwrap();
    std::fs::rename(&new, &program).unwrap();
    // The entry written again by the running instance (turned off, then on).
    home.write_settings(r#"{"start_at_logon":false}"#);
    reload_settings(&bus);
    wait_for("the entry to go", Duration::from_secs(30), || {
        !entry.exists()
    });
    home.write_settings(r#"{"start_at_logon":true}"#);
    reload_settings(&bus);
    wait_for("the entry again", Duration::from_secs(30), || {
        entry.exists()
    });
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.contains(&format!("Exec={} --background", program.display()))
            && !text.contains("(deleted)"),
        "{text}\n{}",
        instance.stderr()
    );
    assert!(instance.quit(&bus).success());
}

#[test]
fn an_autostart_entry_written_for_another_home_is_left_alone() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    // The user's own Sync Center (the default home) starts at logon.
    let entry = home
        .xdg_config()
        .join("autostart/io.github.synccenter.SyncCenter.desktop");
    std::fs::create_dir_all(entry.parent().unwrap()).unwrap();
    let theirs = "[Desktop Entry]\nType=Application\nName=Sync Center\nExec=/usr/bin/synccenter --background --logon\n";
    std::fs::write(&entry, theirs).unwrap();
    // An instance of another home, with "Start at logon" off, starts and reloads.
    let instance = Instance::background(home.path(), &bus, &[]);
    reload_settings(&bus);
    assert_eq!(std::fs::read_to_string(&entry).unwrap(), theirs);
    // Turned on here, it does not take the entry over either, and says why.
    home.write_settings(r#"{"start_at_logon":true}"#);
    reload_settings(&bus);
    assert_eq!(std::fs::read_to_string(&entry).unwrap(), theirs);
    let (status, stderr) = instance.quit_saying(&bus);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("another Sync Center"), "{stderr}");
}

/// A display number nobody uses yet (far above the ones Xvfb -displayfd picks).
fn free_display() -> u32 {
    (300..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .expect("a free display number")
}

#[test]
fn idle_detection_that_appears_after_the_start_is_found() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    home.write_settings(r#"{"idle_after_seconds":2}"#);
    // Started before the desktop's idle source is up (an autostarted instance at logon).
    let number = free_display();
    let display_name = format!(":{number}");
    let mut instance = Instance::start(
        home.path(),
        &bus,
        &["--background"],
        &[],
        &[("DISPLAY", display_name.as_str())],
    );
    wait_for("the instance to say so", Duration::from_secs(60), || {
        instance.stderr().contains("idle detection is unavailable")
    });
    let mut server = Command::new("Xvfb")
        .arg(&display_name)
        .args(["-noreset", "-screen", "0", "640x480x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb runs");
    wait_for("an idle run", Duration::from_secs(90), || {
        runs(&home, "idle") >= 1
    });
    let _ = server.kill();
    let _ = server.wait();
    drop(instance);
}

/// A real NetworkManager on a bus of its own (standing in for the system bus), managing a
/// veth pair in a network namespace of its own: the machine's network is never touched.
struct NetworkManager {
    process: std::process::Child,
    bus: Bus,
    _dir: tempfile::TempDir,
}

impl NetworkManager {
    fn start() -> NetworkManager {
        let bus = Bus::start();
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::create_dir_all(dir.path().join("connections")).unwrap();
        std::fs::write(
            dir.path().join("nm.conf"),
            format!(
                "[main]\nplugins=keyfile\nno-auto-default=*\ndns=none\nrc-manager=unmanaged\n\n[keyfile]\npath={}\n\n[connectivity]\nenabled=false\n",
                path("connections")
            ),
        )
        .unwrap();
        // A wired connection with a gateway: "connected (global)" once it is up.
        let keyfile = dir.path().join("connections/lan.nmconnection");
        std::fs::write(
            &keyfile,
            "[connection]\nid=lan\ntype=ethernet\ninterface-name=veth0\n\n[ipv4]\nmethod=manual\naddress1=10.99.0.1/24,10.99.0.254\n\n[ipv6]\nmethod=disabled\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&keyfile, std::fs::Permissions::from_mode(0o600)).unwrap();
        // Its own /run, and a read-only sysfs of its namespace: without udev (a container)
        // NetworkManager then takes the devices as they are.
        let script = format!(
            "mount -t tmpfs tmpfs /run && mount -t sysfs -o ro sysfs /sys && mkdir -p /run/NetworkManager && ip link set lo up && ip link add veth0 type veth peer name veth1 && ip link set veth1 up && exec NetworkManager --no-daemon --config={} --config-dir={} --system-config-dir={} --intern-config={} --state-file={} --pid-file={}",
            path("nm.conf"),
            path("none"),
            path("none"),
            path("intern.conf"),
            path("nm.state"),
            path("nm.pid")
        );
        let process = Command::new("unshare")
            .args([
                "--user",
                "--map-root-user",
                "--net",
                "--mount",
                "--fork",
                "--kill-child",
            ])
            .args(["sh", "-c", &script])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare (util-linux) runs NetworkManager (network-manager, iproute2)");
        let nm = NetworkManager {
            process,
            bus,
            _dir: dir,
        };
        wait_for("NetworkManager to connect", Duration::from_secs(60), || {
            nm.state() == Some(70)
        });
        nm
    }

    /// NetworkManager's `State` (70: connected, global; 10: asleep).
    fn state(&self) -> Option<u32> {
        let out = Command::new("gdbus")
            .args(["call", "--address", &self.bus.address])
            .args(["--dest", "org.freedesktop.NetworkManager"])
            .args(["--object-path", "/org/freedesktop/NetworkManager"])
            .args(["--method", "org.freedesktop.DBus.Properties.Get"])
            .args(["org.freedesktop.NetworkManager", "State"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split("uint32 ")
            .nth(1)?
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()
    }

    /// `nmcli networking on|off`: the network goes away, or comes back.
    fn networking(&self, on: bool) {
        let status = Command::new("nmcli")
            .args(["networking", if on { "on" } else { "off" }])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus.address)
            .stdout(Stdio::null())
            .status()
            .expect("nmcli runs");
        assert!(status.success());
    }
}

impl Drop for NetworkManager {
    fn drop(&mut self) {
        // unshare --kill-child ends NetworkManager with it.
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn the_network_coming_back_syncs_the_checked_items_once() {
    let nm = NetworkManager::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    home.write_settings(r#"{"sync_on_network":true}"#);
    let instance = Instance::start(
        home.path(),
        &bus,
        &["--background"],
        &[],
        &[("DBUS_SYSTEM_BUS_ADDRESS", nm.bus.address.as_str())],
    );
    wait_for("the first listing", Duration::from_secs(60), || {
        !home.journal("initialize").is_empty()
    });
    // Connected all along: nothing to make up.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(runs(&home, "network"), 0);
    nm.networking(false);
    wait_for("the network to go", Duration::from_secs(60), || {
        nm.state() == Some(10)
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        runs(&home, "network"),
        0,
        "a run when the network went away"
    );
    nm.networking(true);
    wait_for(
        "a run when the network came back",
        Duration::from_secs(60),
        || runs(&home, "network") >= 1,
    );
    // Connecting passes through several states; the checked items synced once.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs(&home, "network"), 1);
    let told: Vec<_> = home.initialized("network");
    assert_eq!(told[0]["may_bother_user"], false, "{told:?}");
    assert!(instance.quit(&bus).success());
}

/// CPU nanoseconds and voluntary wake-ups of each thread of a process, by thread name.
fn threads(pid: u32) -> Vec<(String, u64, u64)> {
    let mut all = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let path = task.path();
        let read = |file: &str| std::fs::read_to_string(path.join(file)).unwrap_or_default();
        let ns = read("schedstat")
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let wakes = read("status")
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        all.push((read("comm").trim().to_string(), ns, wakes));
    }
    all
}

#[test]
fn an_idle_instance_with_20_watched_items_and_two_schedules_costs_almost_nothing() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    for n in 0..20 {
        let (left, right) = (
            home.path().join(format!("l{n}")),
            home.path().join(format!("r{n}")),
        );
        std::fs::create_dir_all(left.join("a/b")).unwrap();
        std::fs::create_dir_all(&right).unwrap();
        std::fs::write(left.join("a/b/f.txt"), b"x").unwrap();
        let out = synccenter(home.path(), None)
            .args(["folder", "add", &format!("pair{n}")])
            .arg(&left)
            .arg(&right)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    for args in [
        ["schedule", "add", "hourly", "pair1", "--every", "1h"],
        ["schedule", "add", "nightly", "pair2", "--daily", "03:00"],
    ] {
        let out = synccenter(home.path(), None).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let path = home.path().join("config/resident.json");
    let mut settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    settings["sync_on_change"] = true.into();
    home.write_settings(&settings.to_string());
    let instance = Instance::background(home.path(), &bus, &[]);
    // Let the first sync of every pair (and the check of its own writes) settle.
    let mut last = (0, Instant::now());
    wait_for("the first runs to settle", Duration::from_secs(120), || {
        let runs = home.history().len();
        if runs != last.0 {
            last = (runs, Instant::now());
        }
        runs > 0 && last.1.elapsed() > Duration::from_secs(3)
    });
    let pid = instance.child.id();
    let before = threads(pid);
    std::thread::sleep(Duration::from_secs(10));
    let after = threads(pid);
    let cpu: u64 = after.iter().map(|t| t.1).sum::<u64>() - before.iter().map(|t| t.1).sum::<u64>();
    // 0.5 % of one core over 10 s is 50 ms.
    assert!(cpu < 50_000_000, "{cpu} ns of CPU in 10 s");
    // The threads that watch the trees, dispatch, and wait for settings, tray updates and
    // triggers did not wake at all: nothing polls the folders between changes. The scheduler looks at the wall clock once a minute (to
    // notice a suspend), so it may wake once in these 10 s.
    for (name, wakes) in [
        ("file-changes", 0),
        ("notify-rs inoti", 0),
        ("dispatch", 0),
        ("settings", 0),
        ("tray-updates", 0),
        ("network-trigger", 0),
        ("idle", 0),
        ("scheduler", 1),
    ] {
        let woke = |list: &[(String, u64, u64)]| {
            list.iter()
                .filter(|t| t.0 == name)
                .map(|t| t.2)
                .sum::<u64>()
        };
        assert!(
            woke(&after) - woke(&before) <= wakes,
            "the {name} thread woke up {} times while idle",
            woke(&after) - woke(&before)
        );
    }
    assert!(instance.quit(&bus).success());
}
