//! Crash isolation through the real `synccenter` binary, where signal dispositions are the
//! program's own (libtest ignores SIGPIPE, the binary must too): a handler that dies with
//! answers unwritten, floods requests without reading, leaves a grandchild holding its
//! pipes, or fails in any of the ways of `external_faults.rs` fails only its own items; a
//! healthy handler beside it succeeds and is recorded.

mod external_support;

use external_support::*;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// A home with the healthy handler; returns the home and its handlers folder.
fn home_with_healthy(dir: &Path) -> (PathBuf, PathBuf) {
    let home = dir.join("home");
    let handlers = home.join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    std::fs::write(
        handlers.join("healthy.toml"),
        rust_manifest("Healthy", &["--steps", "10", "--step-ms", "20"], ""),
    )
    .unwrap();
    (home, handlers)
}

/// Adds `<stem>.toml`, a faulty handler: `misbehave.py MODE [PIDFILE]`.
fn add_faulty(handlers: &Path, stem: &str, mode: &str, pidfile: Option<&Path>, extra: &str) {
    let pidfile = pidfile.map(|p| p.to_string_lossy().into_owned());
    let mut args = vec![mode];
    args.extend(pidfile.as_deref());
    std::fs::write(
        handlers.join(format!("{stem}.toml")),
        misbehave_manifest("Faulty", &args, extra),
    )
    .unwrap();
}

/// A home with the faulty handler (`misbehave.py MODE [PIDFILE]`) and a healthy one.
fn home_with(dir: &Path, mode: &str, pidfile: Option<&Path>, extra: &str) -> PathBuf {
    let (home, handlers) = home_with_healthy(dir);
    add_faulty(&handlers, "faulty", mode, pidfile, extra);
    home
}

/// Runs `sync --all --no-prompt`, killing the center if it has not ended by `deadline`.
fn sync_all(home: &Path, deadline: Duration) -> Output {
    let child = synccenter(home)
        .args(["sync", "--all", "--no-prompt"])
        .env(MARK, home)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            if !process_exists(pid) {
                return false;
            }
        }
        // SAFETY: signals our own child.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        true
    });
    let output = child.wait_with_output().unwrap();
    let killed = watchdog.join().unwrap();
    assert!(
        !killed,
        "the center did not end within {deadline:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The center ends by itself with "an item failed" (2, as README's exit codes say), never
/// by a signal, and records the healthy handler's success; returns the recorded run.
fn assert_healthy_recorded(home: &Path, output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "the center must end by itself ({:?}); stdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    assert!(stdout.contains("Counter alpha: Succeeded"), "{stdout}");
    let run = last_run(home).expect("the run is recorded");
    for item in ["alpha", "beta"] {
        assert_eq!(status_of(&run, "ext:healthy", item).0, "succeeded", "{run}");
    }
    run
}

/// Both items of a faulty handler failed; the reason its first item gives.
fn failed_reason(run: &serde_json::Value, handler: &str) -> String {
    let (status, text) = status_of(run, handler, "one");
    assert_eq!(status, "failed", "{run}");
    assert_eq!(status_of(run, handler, "two").0, "failed", "{run}");
    text
}

/// The faulty handler failed next to the healthy one's success; its reason.
fn assert_isolated(home: &Path, output: &Output) -> String {
    failed_reason(&assert_healthy_recorded(home, output), "ext:faulty")
}

/// The helper left the process group on purpose, so it is this test's to end, whatever
/// happened.
struct KillHelper(PathBuf);

impl Drop for KillHelper {
    fn drop(&mut self) {
        let pids = std::fs::read_to_string(&self.0).unwrap_or_default();
        if let Some(helper) = pids
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<i32>().ok())
        {
            // SAFETY: signals the process this test's handler started.
            unsafe { libc::kill(helper, libc::SIGKILL) };
        }
    }
}

#[test]
fn a_handler_dying_with_answers_unwritten_never_ends_the_center() {
    let _serial = serial();
    for (mode, words) in [
        (
            "burst_then_crash",
            "exited (code 1) before answering synchronize",
        ),
        (
            "close_stdin",
            "exited (code 3) before answering synchronize",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let home = home_with(dir.path(), mode, None, "");
        let output = sync_all(&home, Duration::from_secs(60));
        let text = assert_isolated(&home, &output);
        assert!(text.contains(words), "{mode}: {text}");
    }
}

#[test]
fn a_handler_flooding_requests_without_reading_is_ended_and_the_rest_goes_on() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let home = home_with(dir.path(), "flood", Some(&pidfile), "");
    let output = sync_all(&home, Duration::from_secs(60));
    let text = assert_isolated(&home, &output);
    assert!(
        text.contains("misbehave.py sent requests faster than it read the answers"),
        "{text}"
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!process_exists(pid), "the flooding handler {pid} was ended");
}

#[test]
fn a_grandchild_holding_the_pipes_open_does_not_hold_the_run_up() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    // The silence timeout is the default 300 s: the run must end long before it.
    let home = home_with(dir.path(), "orphan_pipes", Some(&pidfile), "");
    let _helper = KillHelper(pidfile.clone());
    let output = sync_all(&home, Duration::from_secs(60));
    let text = assert_isolated(&home, &output);
    assert!(
        text.contains("misbehave.py exited (code 4) before answering synchronize")
            && text.contains("the helper lives on"),
        "{text}"
    );
}

/// The fault modes of `external_faults.rs` (which runs them inside the test process) that
/// strike in `synchronize`, with the words each faulty handler's items fail with.
const FAULTS: [(&str, &str); 7] = [
    (
        "crash",
        "misbehave.py exited (code 1) before answering synchronize; its last stderr line was: RuntimeError: the handler crashed on purpose",
    ),
    (
        "sigkill",
        "misbehave.py was killed by signal 9 before answering synchronize",
    ),
    (
        "hang",
        "misbehave.py sent nothing for 1 s while working on synchronize; Sync Center ended it.",
    ),
    (
        "garbage",
        "misbehave.py sent something that is not a protocol message: this is not json, it is a debug print",
    ),
    (
        "oversized",
        "misbehave.py sent a message larger than 1048576 bytes",
    ),
    (
        "early_exit",
        "misbehave.py exited (code 3) before answering synchronize; its last stderr line was: cannot open the database /nonexistent/db",
    ),
    (
        "refuse",
        "Misbehaving refuse: the server is down for maintenance",
    ),
];

#[test]
fn handlers_failing_in_every_way_at_once_fail_only_their_own_items() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (home, handlers) = home_with_healthy(dir.path());
    for (mode, _) in FAULTS {
        // Only the hang needs a short timeout; the others must be told by what they did.
        let timeouts = if mode == "hang" {
            "[timeouts]\nsilence = 1\n"
        } else {
            ""
        };
        add_faulty(&handlers, mode, mode, None, timeouts);
    }
    // Refused at `initialize`, so it has no items to sync: the center says so.
    add_faulty(&handlers, "version2", "version2", None, "");
    let output = sync_all(&home, Duration::from_secs(120));
    let run = assert_healthy_recorded(&home, &output);
    for (mode, words) in FAULTS {
        let reason = failed_reason(&run, &format!("ext:{mode}"));
        assert!(reason.contains(words), "{mode}: {reason}");
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "Faulty could not list its items: misbehave.py speaks protocol version 2, and this Sync Center speaks version 1."
        ),
        "{stderr}"
    );
    // The hanging handler's own child included: nothing the center started outlives it.
    assert_no_marked_processes(&home.to_string_lossy(), None);
}
