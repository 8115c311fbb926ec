//! Crash isolation through the real `synccenter` binary, where signal dispositions are the
//! program's own (libtest ignores SIGPIPE, the binary must too): a handler that dies with
//! answers unwritten, floods requests without reading, or leaves a grandchild holding its
//! pipes fails only its own items; a healthy handler beside it succeeds and is recorded.

mod external_support;

use external_support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A home with the faulty handler (`misbehave.py MODE [PIDFILE]`) and a healthy one.
fn home_with(dir: &Path, mode: &str, pidfile: Option<&Path>, extra: &str) -> PathBuf {
    let home = dir.join("home");
    let handlers = home.join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    let mut args = vec![mode.to_string()];
    args.extend(pidfile.map(|p| p.to_string_lossy().into_owned()));
    std::fs::write(
        handlers.join("faulty.toml"),
        format!(
            "name = \"Faulty\"\nprogram = {:?}\nargs = {args:?}\n{extra}",
            fixture("misbehave.py").to_string_lossy()
        ),
    )
    .unwrap();
    std::fs::write(
        handlers.join("healthy.toml"),
        rust_manifest("Healthy", &["--steps", "10", "--step-ms", "20"], ""),
    )
    .unwrap();
    home
}

fn synccenter(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_synccenter"));
    command
        .arg("--home")
        .arg(home)
        .env_remove("SYNCCENTER_DEMO")
        .env_remove("SYNCCENTER_HOME")
        .stdin(Stdio::null());
    command
}

/// Runs `sync --all --no-prompt`, killing the center if it has not ended by `deadline`.
fn sync_all(home: &Path, deadline: Duration) -> Output {
    let child = synccenter(home)
        .args(["sync", "--all", "--no-prompt"])
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

/// The last run as `results --json` reports it.
fn last_run(home: &Path) -> serde_json::Value {
    let output = synccenter(home)
        .args(["results", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let runs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    runs[0].clone()
}

fn status_of(run: &serde_json::Value, handler: &str, item: &str) -> (String, String) {
    let found = run["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"]["handler"] == handler && i["key"]["item"] == item)
        .unwrap_or_else(|| panic!("{handler}/{item} is not in the record: {run}"));
    (
        found["status"].as_str().unwrap().to_string(),
        found["text"].as_str().unwrap().to_string(),
    )
}

/// The center ends by itself with "an item failed" (2), never by a signal, and records
/// the healthy handler's success next to the faulty handler's failure.
fn assert_isolated(home: &Path, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "the center must end by itself ({:?}); stdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    assert!(stdout.contains("Counter alpha: Succeeded"), "{stdout}");
    let run = last_run(home);
    for item in ["alpha", "beta"] {
        assert_eq!(status_of(&run, "ext:healthy", item).0, "succeeded", "{run}");
    }
    let (status, text) = status_of(&run, "ext:faulty", "one");
    assert_eq!(status, "failed", "{run}");
    assert_eq!(status_of(&run, "ext:faulty", "two").0, "failed");
    text
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
