//! Fault isolation: a handler program that crashes, hangs, writes garbage, sends an
//! oversized message, exits early or ignores Stop fails only its own items, with an error
//! naming it; a healthy handler in the same session still succeeds; no process is left.

mod external_support;

use external_support::*;
use std::time::{Duration, Instant};
use synccenter::core::store::SessionRecord;

/// Runs `misbehave.py MODE` next to a healthy Rust handler in one session.
fn session_with(mode: &str, extra_args: &[&str], stop_after: Option<Duration>) -> SessionRecord {
    let dir = tempfile::tempdir().unwrap();
    // Stopped runs keep the healthy handler busy until the stop comes.
    let steps = if stop_after.is_some() { "1000" } else { "20" };
    let mut args = vec![mode];
    args.extend_from_slice(extra_args);
    let faulty = provider(
        dir.path(),
        "faulty",
        &misbehave_manifest(
            "Faulty",
            &args,
            "[timeouts]\nanswer = 5\nsilence = 1\nstop = 1\n",
        ),
    );
    let healthy = provider(
        dir.path(),
        "healthy",
        &rust_manifest("Healthy", &["--steps", steps, "--step-ms", "20"], ""),
    );
    let center = center(dir, vec![faulty, healthy], never_answer);
    let session = center.start(&[
        ("ext:faulty", "one"),
        ("ext:faulty", "two"),
        ("ext:healthy", "alpha"),
        ("ext:healthy", "beta"),
    ]);
    if let Some(after) = stop_after {
        center.wait_for("ext:faulty", "one", |s| s.text == "Not listening");
        std::thread::sleep(after);
        session.stop_all();
    }
    let record = session
        .wait(Duration::from_secs(30))
        .expect("the session ends");
    if stop_after.is_none() {
        for item in ["alpha", "beta"] {
            assert_eq!(
                outcome(&record, "ext:healthy", item).0,
                "Succeeded",
                "{}",
                log_text(&record)
            );
        }
    }
    for item in ["one", "two"] {
        assert_eq!(
            outcome(&record, "ext:faulty", item).0,
            "Failed",
            "{}",
            log_text(&record)
        );
    }
    drop(center);
    assert_no_children();
    record
}

fn faulty_error(record: &SessionRecord) -> String {
    let (_, text) = outcome(record, "ext:faulty", "one");
    assert!(
        record.log.iter().any(|e| e.text.contains(&text)),
        "the error is logged: {}",
        log_text(record)
    );
    text
}

#[test]
fn a_crashing_handler_fails_only_its_own_items_and_shows_its_last_words() {
    let _serial = serial();
    let text = faulty_error(&session_with("crash", &[], None));
    assert!(
        text.contains("misbehave.py exited (code 1) before answering synchronize"),
        "{text}"
    );
    assert!(
        text.contains("its last stderr line was: RuntimeError: the handler crashed on purpose"),
        "{text}"
    );
}

#[test]
fn a_handler_killed_by_a_signal_is_reported_as_such() {
    let _serial = serial();
    let text = faulty_error(&session_with("sigkill", &[], None));
    assert!(
        text.contains("misbehave.py was killed by signal 9 before answering synchronize"),
        "{text}"
    );
}

#[test]
fn a_hanging_handler_is_ended_with_its_grandchildren() {
    let _serial = serial();
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let path = pidfile.path().to_string_lossy().into_owned();
    let started = Instant::now();
    let text = faulty_error(&session_with("hang", &[&path], None));
    assert!(
        text.contains(
            "misbehave.py sent nothing for 1 s while working on synchronize; Sync Center ended it."
        ),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    let pids = std::fs::read_to_string(pidfile.path()).unwrap();
    let grandchild: u32 = pids.split_whitespace().nth(1).unwrap().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_exists(grandchild) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !process_exists(grandchild),
        "the handler's own child {grandchild} outlived it"
    );
}

#[test]
fn garbage_on_stdout_fails_the_call_with_its_first_bytes() {
    let _serial = serial();
    let text = faulty_error(&session_with("garbage", &[], None));
    assert!(
        text.contains("misbehave.py sent something that is not a protocol message: this is not json, it is a debug print"),
        "{text}"
    );
}

#[test]
fn an_oversized_message_ends_the_handler() {
    let _serial = serial();
    let text = faulty_error(&session_with("oversized", &[], None));
    assert!(
        text.contains("misbehave.py sent a message larger than 1048576 bytes"),
        "{text}"
    );
}

#[test]
fn a_handler_that_exits_early_is_reported_with_its_exit_code_and_stderr() {
    let _serial = serial();
    let text = faulty_error(&session_with("early_exit", &[], None));
    assert_eq!(
        text,
        "Misbehaving early_exit: misbehave.py exited (code 3) before answering synchronize; its last stderr line was: cannot open the database /nonexistent/db"
    );
}

#[test]
fn a_handler_ignoring_stop_is_killed_after_the_stop_timeout() {
    let _serial = serial();
    let started = Instant::now();
    let record = session_with("ignore_stop", &[], Some(Duration::from_millis(100)));
    let text = faulty_error(&record);
    // The manifest's stop timeout is the engine's for this handler (the center's is 2 s).
    assert_eq!(
        text,
        "Misbehaving ignore_stop did not stop within 1 s after Stop; Sync Center ended it."
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    for item in ["alpha", "beta"] {
        assert_eq!(
            outcome(&record, "ext:healthy", item).0,
            "Canceled",
            "{}",
            log_text(&record)
        );
    }
}

#[test]
fn a_panicking_rust_handler_fails_only_its_own_items() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let panicky = provider(
        dir.path(),
        "panicky",
        &rust_manifest("Panicky", &["--panic-on", "alpha"], ""),
    );
    let healthy = provider(
        dir.path(),
        "healthy",
        &rust_manifest("Healthy", &["--steps", "3"], ""),
    );
    let center = center(dir, vec![panicky, healthy], never_answer);
    let record = center.sync(&[("ext:panicky", "alpha"), ("ext:healthy", "alpha")]);
    let (status, text) = outcome(&record, "ext:panicky", "alpha");
    assert_eq!(status, "Failed");
    assert_eq!(
        text,
        "Counters: the handler crashed: counter alpha refuses to count"
    );
    assert_eq!(outcome(&record, "ext:healthy", "alpha").0, "Succeeded");
    drop(center);
    assert_no_children();
}

#[test]
fn a_missing_program_fails_its_items_with_the_manifest_named() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let missing = provider(
        dir.path(),
        "missing",
        "name = \"Missing\"\nprogram = \"/nonexistent/handler\"\n",
    );
    let center = center(dir, vec![missing], never_answer);
    let record = center.sync(&[("ext:missing", "x")]);
    let (status, text) = outcome(&record, "ext:missing", "x");
    assert_eq!(status, "Failed");
    assert!(
        text.contains("cannot start /nonexistent/handler (from "),
        "{text}"
    );
    assert!(text.contains("missing.toml"), "{text}");
}

#[test]
fn an_error_answer_fails_the_items_with_the_handlers_own_words() {
    let _serial = serial();
    let text = faulty_error(&session_with("refuse", &[], None));
    assert_eq!(
        text,
        "Misbehaving refuse: the server is down for maintenance"
    );
}

#[test]
fn a_field_the_protocol_does_not_have_is_refused_by_name() {
    let _serial = serial();
    let record = session_with("unknown_field", &[], None);
    // The `replace_conflicts` request got an error naming the misspelled field, which the
    // handler failed its items with.
    assert_eq!(
        faulty_error(&record),
        "Misbehaving unknown_field: bad parameters: unknown field `conflict`, expected `item` or `conflicts`"
    );
    // The `progress` notification has no answer to carry the error: it is logged, naming
    // the message and the field.
    let log = log_text(&record);
    assert!(
        log.contains("misbehave.py sent a `progress` notification that Sync Center could not use: bad parameters: unknown field `percent`"),
        "{log}"
    );
}

#[test]
fn a_handler_speaking_another_protocol_version_is_refused() {
    let _serial = serial();
    let text = faulty_error(&session_with("version2", &[], None));
    assert_eq!(
        text,
        "Faulty: misbehave.py speaks protocol version 2, and this Sync Center speaks version 1."
    );
}

#[test]
fn a_grandchild_holding_the_pipes_leaves_no_thread_behind() {
    let _serial = serial();
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let path = pidfile.path().to_string_lossy().into_owned();
    let text = faulty_error(&session_with("orphan_pipes", &[&path], None));
    let pids = std::fs::read_to_string(pidfile.path()).unwrap();
    let helper: i32 = pids.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        text.contains("misbehave.py exited (code 4) before answering synchronize"),
        "{text}"
    );
    // The program's reader, stderr and writer threads ("misbehave.py-read"…, cut at 15
    // bytes) end although the helper still holds the other ends of their pipes.
    let deadline = Instant::now() + Duration::from_secs(5);
    while threads_named("misbehave.py-") > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = threads_named("misbehave.py-");
    // SAFETY: the helper left the process group on purpose; the test ends it.
    unsafe { libc::kill(helper, libc::SIGKILL) };
    assert_eq!(left, 0, "threads of the ended program are left");
}
