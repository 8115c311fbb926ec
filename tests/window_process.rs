//! The window's process: the real `synccenter` binary opening its window on a virtual X
//! display (Xvfb), with the process set-up `main` gives both front ends. A handler that dies
//! with answers still unwritten must not take the window down, and a sync started in the
//! window records the healthy handler's success next to the dying one's failure.

mod external_support;
mod resident_support;

use external_support::*;
use resident_support::{Display, wait_for};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills and reaps the window when the test ends, whatever happened.
/// The window's process, and the file its stderr goes to (said when it ends early).
struct Window(Child, PathBuf);

impl Drop for Window {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real binary's window over `home` on `display`, marked with `MARK=<home>`.
fn open_window(home: &Path, display: &Display, dir: &Path) -> Window {
    let runtime = dir.join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    let said = dir.join("window-stderr.txt");
    Window(
        synccenter(home)
            .env("DISPLAY", &display.name)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env(MARK, home)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&said).unwrap())
            .spawn()
            .unwrap(),
        said,
    )
}

/// A home with a healthy handler and a faulty one: `misbehave.py MODE PIDFILE`.
fn home_with(dir: &Path, mode: &str, pidfile: &Path) -> PathBuf {
    let home = dir.join("home");
    let handlers = home.join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    std::fs::write(
        handlers.join("faulty.toml"),
        misbehave_manifest("Faulty", &[mode, &pidfile.to_string_lossy()], ""),
    )
    .unwrap();
    std::fs::write(
        handlers.join("healthy.toml"),
        rust_manifest("Healthy", &["--steps", "10", "--step-ms", "20"], ""),
    )
    .unwrap();
    home
}

/// Presses Enter (Sync now) in the window until `started`. Nobody gives the window the
/// keyboard without a window manager, so xdotool does, as `scripts/screenshots.sh` does. A
/// press while the window still lists its items finds nothing checked yet, so it is
/// repeated; a press during the run only says the items are busy.
fn sync_now_until(display: &Display, window: &mut Window, started: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started() {
        assert_running(window);
        assert!(
            Instant::now() < deadline,
            "the window never started the sync"
        );
        let _ = Command::new("xdotool")
            .env("DISPLAY", &display.name)
            .args([
                "search",
                "--name",
                "^Sync Center$",
                "windowfocus",
                "key",
                "Return",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("xdotool runs (scripts/test.sh installs it)");
        let pressed = Instant::now();
        while !started() && pressed.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
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

#[test]
fn the_window_outlives_a_handler_that_dies_with_answers_unwritten() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    // While the window lists its items, this handler sends 3000 requests and dies before
    // a single answer is written.
    let home = home_with(dir.path(), "burst_in_enumerate", &pidfile);
    let display = Display::start();
    let mut window = open_window(&home, &display, dir.path());
    let limit = Duration::from_secs(30);
    wait_for("the faulty handler to start", limit, || pidfile.exists());
    let handler: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_for("the faulty handler to die", limit, || {
        !process_exists(handler)
    });
    // Long enough for the center to have written its answers into the dead pipe.
    std::thread::sleep(Duration::from_secs(2));
    assert_still_open(&mut window);
    assert_home_intact(&home);
}

fn assert_running(window: &mut Window) {
    let ended = window.0.try_wait().unwrap();
    assert!(
        ended.is_none(),
        "the window must still be open: {ended:?}, it said: {}",
        std::fs::read_to_string(&window.1).unwrap_or_default()
    );
}

/// The window is open, and its process ignores SIGPIPE.
fn assert_still_open(window: &mut Window) {
    assert_running(window);
    assert_ne!(
        ignored_signals(window.0.id()) & (1 << (libc::SIGPIPE - 1)),
        0,
        "the window's process ignores SIGPIPE"
    );
}

#[test]
fn a_sync_in_the_window_records_the_healthy_item_next_to_a_handler_dying_mid_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    // In `synchronize` this handler writes its pid, sends 3000 requests and dies before a
    // single answer is written.
    let home = home_with(dir.path(), "burst_then_crash", &pidfile);
    let display = Display::start();
    let mut window = open_window(&home, &display, dir.path());
    sync_now_until(&display, &mut window, || pidfile.exists());
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        // The window records the run when it ends; the command line reads what it saved.
        if let Some(run) = last_run(&home) {
            break run;
        }
        assert_running(&mut window);
        assert!(Instant::now() < deadline, "the window recorded no run");
        std::thread::sleep(Duration::from_millis(250));
    };
    for item in ["alpha", "beta"] {
        assert_eq!(status_of(&run, "ext:healthy", item).0, "succeeded", "{run}");
    }
    for item in ["one", "two"] {
        let (status, text) = status_of(&run, "ext:faulty", item);
        assert_eq!(status, "failed", "{run}");
        assert!(
            text.contains("misbehave.py exited (code 1) before answering synchronize"),
            "{text}"
        );
    }
    assert_still_open(&mut window);
    // The run's handler processes are gone; only the window is left of what it started.
    let me = window.0.id();
    assert_no_marked_processes(&home.to_string_lossy(), Some(me));
}

/// The window set its home up and wrote nothing broken.
fn assert_home_intact(home: &Path) {
    assert!(home.join("config").is_dir() && home.join("data").is_dir());
}
