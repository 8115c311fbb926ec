//! The window's process: the real `synccenter` binary opening its window on a virtual X
//! display (Xvfb), with the process set-up `main` gives both front ends. A handler that dies
//! with answers still unwritten must not take the window down.

mod external_support;

use external_support::*;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An X server of our own on a display it picks itself; killed when dropped.
struct Display {
    server: Child,
    name: String,
}

impl Display {
    fn start() -> Display {
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (scripts/test.sh installs it)");
        let mut number = String::new();
        let mut stdout = server.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            number.push(byte[0] as char);
        }
        assert!(!number.is_empty(), "Xvfb told no display number");
        Display {
            server,
            name: format!(":{}", number.trim()),
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Kills and reaps the window when the test ends, whatever happened.
struct Window(Child);

impl Drop for Window {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ignored_signals(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .expect("a SigIgn line");
    u64::from_str_radix(mask.trim(), 16).unwrap()
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_window_outlives_a_handler_that_dies_with_answers_unwritten() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let handlers = home.join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    let pidfile = dir.path().join("pids");
    // While the window lists its items, this handler sends 3000 requests and dies before
    // a single answer is written.
    std::fs::write(
        handlers.join("faulty.toml"),
        format!(
            "name = \"Faulty\"\nprogram = {:?}\nargs = [\"burst_in_enumerate\", {:?}]\n",
            fixture("misbehave.py").to_string_lossy(),
            pidfile.to_string_lossy()
        ),
    )
    .unwrap();
    std::fs::write(
        handlers.join("healthy.toml"),
        rust_manifest("Healthy", &[], ""),
    )
    .unwrap();
    let display = Display::start();
    let runtime = dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    let window = Window(
        Command::new(env!("CARGO_BIN_EXE_synccenter"))
            .arg("--home")
            .arg(&home)
            .env("DISPLAY", &display.name)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("SYNCCENTER_DEMO")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = window.0.id();
    wait_until("the faulty handler to start", || pidfile.exists());
    let handler: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_until("the faulty handler to die", || !process_exists(handler));
    // Long enough for the center to have written its answers into the dead pipe.
    std::thread::sleep(Duration::from_secs(2));
    let mut window = window;
    let ended = window.0.try_wait().unwrap();
    assert!(ended.is_none(), "the window must still be open: {ended:?}");
    assert_ne!(
        ignored_signals(pid) & (1 << (libc::SIGPIPE - 1)),
        0,
        "the window's process ignores SIGPIPE"
    );
    assert_home_intact(&home);
}

/// The window set its home up and wrote nothing broken.
fn assert_home_intact(home: &Path) {
    assert!(home.join("config").is_dir() && home.join("data").is_dir());
}
