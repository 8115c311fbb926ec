//! Skips, stops and takeovers with real handler programs: a request for an item the
//! program has not reached waits without a clock, a program that goes on with another item
//! has honored it, a later run taking a finished item over disturbs nothing of the earlier
//! run, and a program given up on is gone before its items run again.

mod external_support;

use external_support::*;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synccenter::core::engine::SessionRequest;
use synccenter::core::handler::HandlerProvider;
use synccenter::core::model::{ItemKey, LogLevel, RunReason};
use synccenter::core::status::ItemStatus;

/// `paced.py` with these arguments and extra manifest lines, as the handler `ext:paced`.
fn paced_provider(dir: &Path, args: &[&str], extra: &str) -> Arc<dyn HandlerProvider> {
    provider(dir, "paced", &paced_manifest(args, extra))
}

fn no_errors(record: &synccenter::core::store::SessionRecord) {
    let errors: Vec<_> = record
        .log
        .iter()
        .filter(|l| l.level == LogLevel::Error)
        .map(|l| l.text.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_skip_of_an_item_the_program_has_not_reached_waits_without_a_clock() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // The first item alone takes six times the stop timeout.
    let paced = paced_provider(dir.path(), &["a=3", "b=0.2"], "[timeouts]\nstop = 0.5\n");
    let center = center(dir, vec![paced], never_answer);
    let session = center.start(&[("ext:paced", "a"), ("ext:paced", "b")]);
    center.wait_for("ext:paced", "a", |s| s.status == ItemStatus::Updating);
    session.skip(&ItemKey::new("ext:paced", "b"));
    let record = session.wait(Duration::from_secs(30)).unwrap();
    assert_eq!(outcome(&record, "ext:paced", "a").0, "Succeeded");
    assert_eq!(
        outcome(&record, "ext:paced", "b").0,
        "Skipped",
        "{}",
        log_text(&record)
    );
    no_errors(&record);
    drop(center);
    assert_no_children();
}

#[test]
fn a_program_that_goes_on_with_the_next_item_has_honored_the_skip_or_stop() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // Hears skips and stops in the answers to its progress requests, and then simply goes
    // on with the next item, saying nothing of the one it left.
    let paced = paced_provider(
        dir.path(),
        &["--requests", "--no-ack", "a=3", "b=3", "c=3"],
        "[timeouts]\nstop = 0.5\n",
    );
    let center = center(dir, vec![paced], never_answer);
    let session = center.start(&[("ext:paced", "a"), ("ext:paced", "b"), ("ext:paced", "c")]);
    center.wait_for("ext:paced", "a", |s| s.status == ItemStatus::Updating);
    session.skip(&ItemKey::new("ext:paced", "a"));
    center.wait_for("ext:paced", "b", |s| s.status == ItemStatus::Updating);
    session.stop_item(&ItemKey::new("ext:paced", "b"));
    let record = session.wait(Duration::from_secs(30)).unwrap();
    assert_eq!(
        outcome(&record, "ext:paced", "a"),
        ("Skipped".into(), "Skipped.".into()),
        "{}",
        log_text(&record)
    );
    assert_eq!(
        outcome(&record, "ext:paced", "b"),
        ("Canceled".into(), "Stopped.".into())
    );
    assert_eq!(outcome(&record, "ext:paced", "c").0, "Succeeded");
    no_errors(&record);
    drop(center);
    assert_no_children();
}

#[test]
fn taking_over_a_finished_item_leaves_the_earlier_run_alone() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let paced = paced_provider(
        dir.path(),
        &["a=0.1", "b=2"],
        "concurrent_sessions = true\n[timeouts]\nstop = 0.5\n",
    );
    let center = center(dir, vec![paced], never_answer);
    let first = center.start(&[("ext:paced", "a"), ("ext:paced", "b")]);
    center.wait_for("ext:paced", "a", |s| s.status == ItemStatus::Succeeded);
    // Sync all while the run goes on: `a` is done, so the new run takes it over.
    let second = center.start(&[("ext:paced", "a")]);
    let newer = second.wait(Duration::from_secs(30)).unwrap();
    let earlier = first.wait(Duration::from_secs(30)).unwrap();
    assert_eq!(
        outcome(&earlier, "ext:paced", "a").0,
        "Succeeded",
        "the earlier run keeps its own result: {}",
        log_text(&earlier)
    );
    assert_eq!(
        outcome(&earlier, "ext:paced", "b").0,
        "Succeeded",
        "the earlier run's program was not stopped: {}",
        log_text(&earlier)
    );
    no_errors(&earlier);
    assert_eq!(outcome(&newer, "ext:paced", "a").0, "Succeeded");
    // items.json follows the newest run, even though the earlier one was recorded last.
    let a = center
        .engine
        .store()
        .item_record(&ItemKey::new("ext:paced", "a"))
        .unwrap();
    assert_eq!(a.last_session, Some(newer.id));
    assert_eq!(a.last_status, Some(ItemStatus::Succeeded));
    drop(center);
    assert_no_children();
}

#[test]
fn a_program_given_up_on_is_gone_before_its_items_run_again() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    // The manifest allows 3 s to stop; the center's own timeout is 1 s.
    let faulty = provider(
        dir.path(),
        "faulty",
        &misbehave_manifest(
            "Faulty",
            &["ignore_stop", &pidfile.to_string_lossy()],
            "[timeouts]\nstop = 3\n",
        ),
    );
    let center = center_with_stop(dir, vec![faulty], never_answer, Duration::from_secs(1));
    let items = || vec![ItemKey::new("ext:faulty", "one")];
    let session = center.start(&[("ext:faulty", "one")]);
    center.wait_for("ext:faulty", "one", |s| s.text == "Not listening");
    let pid: u32 = std::fs::read_to_string(&pidfile).unwrap().parse().unwrap();
    let stopped = Instant::now();
    session.stop_all();
    let record = session.wait(Duration::from_secs(30)).unwrap();
    assert!(
        stopped.elapsed() >= Duration::from_secs(3),
        "one stop timeout"
    );
    assert_eq!(
        outcome(&record, "ext:faulty", "one").1,
        "Misbehaving ignore_stop did not stop within 3 s after Stop; Sync Center ended it."
    );
    // Try to run the item again as soon as Sync Center lets us.
    let deadline = Instant::now() + Duration::from_secs(20);
    let again = loop {
        let started = center.engine.start(SessionRequest {
            reason: RunReason::Manual,
            may_bother_user: false,
            items: items(),
        });
        if let Ok(session) = started {
            assert!(
                !process_exists(pid),
                "the abandoned program {pid} still ran when its item started again"
            );
            break session;
        }
        assert!(Instant::now() < deadline, "the item never became free");
        std::thread::sleep(Duration::from_millis(2));
    };
    again.stop_all();
    again.wait(Duration::from_secs(30)).unwrap();
    drop(center);
    assert_no_children();
}

#[test]
fn a_program_gets_the_manifests_time_to_save_its_state_after_shutdown() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved");
    // It takes a second after `shutdown`; the default allows two.
    let slow = provider(
        dir.path(),
        "slow",
        &misbehave_manifest("Slow", &["slow_shutdown", &saved.to_string_lossy()], ""),
    );
    let center = center(dir, vec![slow], never_answer);
    let record = center.sync(&[("ext:slow", "one")]);
    assert_eq!(outcome(&record, "ext:slow", "one").0, "Succeeded");
    assert!(
        saved.exists(),
        "the program was killed while saving its state"
    );
    drop(center);
    assert_no_children();
}

#[test]
fn a_program_without_concurrent_sessions_runs_one_session_at_a_time() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // The manifest does not say `concurrent_sessions = true`.
    let paced = paced_provider(dir.path(), &["a=1.5", "b=0.2"], "");
    let center = center(dir, vec![paced], never_answer);
    let first = center.start(&[("ext:paced", "a")]);
    center.wait_for("ext:paced", "a", |s| s.status == ItemStatus::Updating);
    let second = center.start(&[("ext:paced", "b")]);
    center.wait_for("ext:paced", "b", |s| {
        s.wait == Some(synccenter::core::status::WaitReason::Handler)
    });
    assert_eq!(children().len(), 1, "one program at a time");
    assert_eq!(
        first
            .wait(Duration::from_secs(30))
            .map(|r| outcome(&r, "ext:paced", "a").0),
        Some("Succeeded".into())
    );
    let record = second.wait(Duration::from_secs(30)).unwrap();
    assert_eq!(outcome(&record, "ext:paced", "b").0, "Succeeded");
    drop(center);
    assert_no_children();
}
