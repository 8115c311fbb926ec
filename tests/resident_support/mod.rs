//! What the resident instance's tests share: a private session bus (a real `dbus-daemon`),
//! the real binary started as the instance or as a client on it, a handler that writes a
//! journal, and patient waiting (the machine is shared: deadlines are generous).
#![allow(dead_code)] // each test file uses its own part of this module

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const APP_ID: &str = "io.github.synccenter.SyncCenter";
pub const OBJECT_PATH: &str = "/io/github/synccenter/SyncCenter";
pub const CONTROL: &str = "io.github.synccenter.SyncCenter1";

/// A session bus of our own, ended when dropped.
pub struct Bus {
    daemon: Child,
    pub address: String,
}

impl Bus {
    pub fn start() -> Bus {
        let (daemon, address) = spawn_saying(
            Command::new("dbus-daemon").args(["--session", "--nofork", "--print-address=1"]),
            "dbus-daemon (package dbus) runs; scripts/test.sh installs it",
        );
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        Bus { daemon, address }
    }

    /// Whether the instance owns its name on this bus.
    pub fn has_instance(&self) -> bool {
        self.call_at(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &[APP_ID],
        )
        .is_ok_and(|reply| reply.contains("true"))
    }

    /// `gdbus call` on the instance; the reply as text, or the error.
    pub fn call(&self, method: &str, args: &[&str]) -> Result<String, String> {
        self.call_at(APP_ID, OBJECT_PATH, method, args)
    }

    /// `gdbus call` on any object of this bus; the reply as text, or the error.
    pub fn call_at(
        &self,
        dest: &str,
        path: &str,
        method: &str,
        args: &[&str],
    ) -> Result<String, String> {
        let out = Command::new("gdbus")
            .args(["call", "--address", &self.address, "--dest", dest])
            .args(["--object-path", path, "--method", method, "--"])
            .args(args)
            .output()
            .expect("gdbus (package libglib2.0-bin) runs");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Asks the instance to show its window, as a launcher does.
    pub fn activate(&self) {
        self.call("org.freedesktop.Application.Activate", &["{}"])
            .expect("Activate");
    }

    /// Asks the instance to sync these items (a GVariant list such as `['alpha']`).
    pub fn sync_items(&self, items: &str) -> Result<String, String> {
        self.call(&format!("{CONTROL}.SyncItems"), &[items, "{}"])
    }
}

/// Spawns a server that says one line on stdout when it is ready (its address or display
/// number); the server and that line, trimmed.
fn spawn_saying(command: &mut Command, runs: &str) -> (Child, String) {
    let mut server = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect(runs);
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (server, line.trim().to_string())
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A home with the journal handler installed; `seconds` is how long it synchronizes.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    /// The journal handler with its items alpha, beta and logon.
    pub fn new(seconds: f64) -> Home {
        Home::with_items(seconds, "alpha,beta,logon")
    }

    /// The journal handler with these items (comma-separated; "full" always fails).
    pub fn with_items(seconds: f64, items: &str) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let handlers = dir.path().join("config/handlers");
        std::fs::create_dir_all(&handlers).unwrap();
        let program =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/external_fixtures/journal.py");
        let journal = dir.path().join("journal.jsonl");
        std::fs::write(
            handlers.join("journal.toml"),
            format!(
                "name = \"Journal\"\nprogram = \"python3\"\nargs = [{:?}, {:?}, \"{seconds}\", {items:?}]\n",
                program.display().to_string(),
                journal.display().to_string()
            ),
        )
        .unwrap();
        Home { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Holds the handler at `step` ("sync" or "enumerate") until `release`.
    pub fn hold(&self, step: &str) {
        std::fs::write(self.gate(step), b"").unwrap();
    }

    pub fn release(&self, step: &str) {
        let _ = std::fs::remove_file(self.gate(step));
    }

    fn gate(&self, step: &str) -> PathBuf {
        self.path().join(format!("journal.jsonl.hold-{step}"))
    }

    /// Where the programs started on this home look for their XDG autostart entries: a
    /// folder of the home, never the developer's own `~/.config`.
    pub fn xdg_config(&self) -> PathBuf {
        self.path().join("xdg-config")
    }

    /// The journal's entries of one kind ("initialize", "sync-start", "sync-end").
    pub fn journal(&self, event: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(self.path().join("journal.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event"] == event)
            .collect()
    }

    /// The runs in the home's history, oldest first.
    pub fn history(&self) -> Vec<Value> {
        let dir = self.path().join("data/history");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
            .collect()
    }

    /// The journal's `initialize` calls for runs of this kind ("manual", "invoke"…).
    pub fn initialized(&self, kind: &str) -> Vec<Value> {
        self.journal("initialize")
            .into_iter()
            .filter(|e| e["reason"]["kind"] == kind)
            .collect()
    }

    /// Waits until the journal handler is held at `step` (see `hold`).
    pub fn wait_held(&self, step: &str) {
        let held = format!("{step}-held");
        wait_for(
            &format!("the handler to be held in {step}"),
            Duration::from_secs(60),
            || !self.journal(&held).is_empty(),
        );
    }

    /// Waits until the history holds a run.
    pub fn wait_recorded(&self) {
        wait_for("the run's record", Duration::from_secs(60), || {
            !self.history().is_empty()
        });
    }

    pub fn write_settings(&self, json: &str) {
        std::fs::write(self.path().join("config/resident.json"), json).unwrap();
    }
}

/// The real binary, with the home and the bus (or none).
pub fn synccenter(home: &Path, bus: Option<&Bus>) -> Command {
    synccenter_at(Path::new(env!("CARGO_BIN_EXE_synccenter")), home, bus)
}

/// The program at `program` (a copy of the real binary), as [`synccenter`] runs it.
pub fn synccenter_at(program: &Path, home: &Path, bus: Option<&Bus>) -> Command {
    let mut command = Command::new(program);
    command.arg("--home").arg(home);
    command
        .env_remove("SYNCCENTER_HOME")
        .env_remove("SYNCCENTER_DEMO")
        // Autostart entries go to the home, never to the developer's own ~/.config.
        .env("XDG_CONFIG_HOME", home.join("xdg-config"));
    match bus {
        Some(bus) => command.env("DBUS_SESSION_BUS_ADDRESS", &bus.address),
        // No bus at all: nothing to find at the default address either.
        None => command
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env("XDG_RUNTIME_DIR", "/nonexistent"),
    };
    command
}

/// A session bus, a home with the journal handler (items alpha, beta and logon, synced at
/// once), and `synccenter --background` running on them.
pub fn background_instance() -> (Bus, Home, Instance) {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let instance = Instance::background(home.path(), &bus, &[]);
    (bus, home, instance)
}

/// A running instance, killed when dropped if it did not end.
pub struct Instance {
    pub child: Child,
    /// What it wrote on stderr so far (read by a thread, so the pipe never fills up).
    said: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Instance {
    /// Starts `synccenter --background` on `home` and waits until it owns its name.
    pub fn background(home: &Path, bus: &Bus, extra: &[&str]) -> Instance {
        Instance::start(home, bus, &["--background"], extra, &[])
    }

    /// Starts `synccenter FLAGS…` showing its windows on `display`, and waits until it owns
    /// its name.
    pub fn on_display(home: &Path, bus: &Bus, flags: &[&str], display: &Display) -> Instance {
        Instance::start(home, bus, flags, &[], &[("DISPLAY", display.name.as_str())])
    }

    /// Starts `synccenter FLAGS… EXTRA…` with these environment variables and waits until it
    /// owns its name.
    pub fn start(
        home: &Path,
        bus: &Bus,
        flags: &[&str],
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Instance {
        let mut instance = Instance::spawn(home, bus, &[flags, extra].concat(), envs);
        wait_for(
            "the instance to own its name",
            Duration::from_secs(60),
            || {
                if let Ok(Some(status)) = instance.child.try_wait() {
                    panic!("the instance ended early: {status}: {}", instance.stderr());
                }
                bus.has_instance()
            },
        );
        instance
    }

    /// Starts `synccenter FLAGS…` with these environment variables, without waiting for
    /// anything (a start that may wait for the home).
    pub fn spawn(home: &Path, bus: &Bus, flags: &[&str], envs: &[(&str, &str)]) -> Instance {
        Instance::of(
            synccenter(home, Some(bus))
                .args(flags)
                .envs(envs.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    }

    /// Follows a started process: its stderr is collected as it comes.
    pub fn of(mut child: Child) -> Instance {
        let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let reader = child.stderr.take().map(|err| {
            let said = said.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { return };
                    let mut said = said.lock().unwrap();
                    said.push_str(&line);
                    said.push('\n');
                }
            })
        });
        Instance {
            child,
            said,
            reader,
        }
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&mut self) -> String {
        self.said.lock().unwrap().clone()
    }

    /// Asks it to quit (ActivateAction quit) and waits for it to end.
    pub fn quit(self, bus: &Bus) -> std::process::ExitStatus {
        self.quit_saying(bus).0
    }

    /// Quits it; its exit status and what it wrote on stderr.
    pub fn quit_saying(mut self, bus: &Bus) -> (std::process::ExitStatus, String) {
        bus.call(
            "org.freedesktop.Application.ActivateAction",
            &["quit", "[]", "{}"],
        )
        .expect("ActivateAction quit");
        let status = self.wait_end(Duration::from_secs(60));
        (status, self.stderr())
    }

    /// Waits for it to end by itself (and for the last of its stderr).
    pub fn wait_end(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(reader) = self.reader.take() {
                    // Children it started (handlers) may hold the pipe a moment longer.
                    let until = Instant::now() + Duration::from_secs(10);
                    while !reader.is_finished() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                return status;
            }
            assert!(Instant::now() < deadline, "the instance did not end");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `condition` holds, or fails naming what did not happen.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `synccenter sync ARGS…` from a terminal with nothing to type in (on this bus, or with
/// none), run to its end.
pub fn run_terminal_sync(home: &Path, bus: Option<&Bus>, args: &[&str]) -> Output {
    synccenter(home, bus)
        .arg("sync")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `synccenter sync ITEM` from a terminal on this bus, its output piped, still running.
pub fn start_terminal_sync(home: &Path, bus: &Bus, item: &str) -> Child {
    synccenter(home, Some(bus))
        .args(["sync", item])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Ctrl+C for a child of this test: SIGINT.
pub fn interrupt(child: &Child) {
    // SAFETY: signals our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A real notification daemon (dunst) on a bus, drawing on a display; ended when dropped.
pub struct Notifications {
    daemon: Child,
    bus_address: String,
}

impl Notifications {
    pub fn start(bus: &Bus, display: &Display) -> Notifications {
        let daemon = Command::new("dunst")
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("DISPLAY", &display.name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst (package dunst) runs; scripts/test.sh installs it");
        wait_for("dunst on the bus", Duration::from_secs(30), || {
            bus.call_at(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &["org.freedesktop.Notifications"],
            )
            .is_ok_and(|reply| reply.contains("true"))
        });
        Notifications {
            daemon,
            bus_address: bus.address.clone(),
        }
    }

    /// Every notification shown so far, as (application, summary, body), oldest first.
    /// Closes the ones on screen: dunst lists a notification once it has been closed.
    pub fn shown(&self) -> Vec<(String, String, String)> {
        let dunstctl = |args: &[&str]| {
            let out = Command::new("dunstctl")
                .args(args)
                .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
                .output()
                .expect("dunstctl (package dunst) runs");
            assert!(out.status.success(), "dunstctl {args:?}: {out:?}");
            out.stdout
        };
        dunstctl(&["close-all"]);
        let history: Value = serde_json::from_slice(&dunstctl(&["history"])).unwrap();
        let field = |shown: &Value, name: &str| shown[name]["data"].as_str().unwrap().to_string();
        let mut shown: Vec<_> = history["data"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (field(n, "appname"), field(n, "summary"), field(n, "body")))
            .collect();
        shown.reverse();
        shown
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A virtual X display (Xvfb), ended when dropped.
pub struct Display {
    server: Child,
    pub name: String,
}

impl Display {
    pub fn start() -> Display {
        // The server picks a free display number and says which. `-noreset`: by default an X
        // server resets when its last client leaves (the connection check below, each
        // xdotool), and a client connecting during the reset can fail. Suspected in three
        // full runs where a window starting then could not connect ("cannot open the
        // window"); not reproduced on demand.
        let (server, number) = spawn_saying(
            Command::new("Xvfb").args([
                "-noreset",
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ]),
            "Xvfb (package xvfb) runs; scripts/test.sh installs it",
        );
        assert!(!number.is_empty(), "Xvfb told no display number");
        let name = format!(":{number}");
        wait_for("the X server", Duration::from_secs(30), || {
            x11rb::connect(Some(&name)).is_ok()
        });
        Display { server, name }
    }

    /// The ids of the top-level windows whose title starts with `title`.
    pub fn windows(&self, title: &str) -> Vec<String> {
        let out = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", &format!("^{title}")])
            .env("DISPLAY", &self.name)
            .output()
            .expect("xdotool (package xdotool) runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Asks a window to close as a window manager would (WM_DELETE_WINDOW).
    pub fn close(&self, window: &str) {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt, EventMask};
        let (conn, _) = x11rb::connect(Some(&self.name)).unwrap();
        let atom = |name: &[u8]| conn.intern_atom(false, name).unwrap().reply().unwrap().atom;
        let (protocols, delete) = (atom(b"WM_PROTOCOLS"), atom(b"WM_DELETE_WINDOW"));
        let window: u32 = window.parse().unwrap();
        let event = ClientMessageEvent::new(32, window, protocols, [delete, 0, 0, 0, 0]);
        conn.send_event(false, window, EventMask::NO_EVENT, event)
            .unwrap();
        conn.flush().unwrap();
    }

    /// Closes every window with this title and waits until they are gone. Asks again every
    /// 5 s: a window still drawing its first frame on a busy machine may miss the first ask,
    /// as a person would click again. Returns how many asks it took.
    pub fn close_all(&self, title: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut asks = 0;
        loop {
            let windows = self.windows(title);
            if windows.is_empty() {
                return asks;
            }
            assert!(
                Instant::now() < deadline,
                "{title} did not close after {asks} asks"
            );
            for window in &windows {
                self.close(window);
            }
            asks += 1;
            let wait = Instant::now() + Duration::from_secs(5);
            while Instant::now() < wait && !self.windows(title).is_empty() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// A screenshot of the whole screen.
    /// Clicks the left button at this point of the screen, as a person would.
    pub fn click(&self, x: u32, y: u32) {
        let status = Command::new("xdotool")
            .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
            .env("DISPLAY", &self.name)
            .status()
            .expect("xdotool (package xdotool) runs");
        assert!(status.success());
    }

    pub fn screenshot(&self, path: &Path) {
        let status = Command::new("import")
            .args(["-window", "root"])
            .arg(path)
            .env("DISPLAY", &self.name)
            .status()
            .expect("import (package imagemagick) runs");
        assert!(status.success());
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}
