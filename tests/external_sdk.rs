//! The Rust SDK across a real process boundary: `examples/rust_handler` driven by the engine.

mod external_support;

use external_support::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use synccenter::core::board::UserRequest;
use synccenter::core::dialog::{FieldValue, FormReply};
use synccenter::core::handler::HandlerProvider;
use synccenter::core::model::ItemKey;
use synccenter::core::status::ItemStatus;

/// The SDK example counting, with these arguments, as the handler `ext:counters`.
fn counters_provider(dir: &Path, args: &[&str]) -> Arc<dyn HandlerProvider> {
    provider(dir, "counters", &rust_manifest("Counters", args, ""))
}

/// The SDK example's demo handler (a logon for Mail, photos, a calendar with problems) at
/// full speed, as the handler `ext:demo`.
fn demo_provider(dir: &Path) -> Arc<dyn HandlerProvider> {
    provider(
        dir,
        "demo",
        &rust_manifest(
            "Demo",
            &["--demo"],
            "env = { SYNCCENTER_DEMO_STEP_MS = \"1\" }\n",
        ),
    )
}

#[test]
fn a_rust_handler_syncs_with_progress_arriving_on_the_board() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let counters = counters_provider(dir.path(), &["--steps", "40", "--step-ms", "5"]);
    let center = center(dir, vec![counters], never_answer);
    let session = center.start(&[("ext:counters", "alpha"), ("ext:counters", "beta")]);
    center.wait_for("ext:counters", "alpha", |s| {
        s.status == ItemStatus::Updating
            && s.measure
                .is_some_and(|(done, total)| done > 0 && total == 40)
    });
    let record = session.wait(std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(
        outcome(&record, "ext:counters", "alpha"),
        ("Succeeded".into(), "Counted to 40".into())
    );
    assert_eq!(outcome(&record, "ext:counters", "beta").0, "Succeeded");
    let log = log_text(&record);
    assert_eq!(log.matches("[info] Counted to 40.").count(), 2, "{log}");
    let snapshot = center.snapshot("ext:counters", "beta").unwrap();
    assert_eq!(snapshot.measure, Some((40, 40)));
    drop(center);
    assert_no_children();
}

#[test]
fn the_demo_handler_asks_for_its_password_in_a_logon_form_from_its_own_process() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_provider(dir.path());
    let forms = Arc::new(AtomicUsize::new(0));
    let seen = forms.clone();
    let center = center(dir, vec![demo], move |request| {
        let attempt = seen.fetch_add(1, Ordering::SeqCst);
        assert_eq!(request.form.title, "Log on to Mail");
        assert_eq!(request.item.as_ref().map(|i| i.as_str()), Some("mail"));
        let mut values = request.form.initial_values();
        let password = if attempt == 0 { "wrong" } else { "demo" };
        values.insert("password".into(), FieldValue::Text(password.into()));
        FormReply::Submitted {
            button: "ok".into(),
            values,
        }
    });
    let record = center.sync(&[
        ("ext:demo", "mail"),
        ("ext:demo", "calendar"),
        ("ext:demo", "photos"),
    ]);
    assert_eq!(
        forms.load(Ordering::SeqCst),
        2,
        "a wrong password asks again"
    );
    assert_eq!(outcome(&record, "ext:demo", "mail").0, "Succeeded");
    assert_eq!(
        outcome(&record, "ext:demo", "photos"),
        ("Succeeded".into(), "12 photos uploaded".into())
    );
    // What it uploaded, reported from its own process through the SDK.
    let photos = record
        .items
        .iter()
        .find(|i| i.key.item.as_str() == "photos")
        .unwrap();
    assert_eq!(photos.activity.summary(), "12 copied · 16.8 MB");
    let listed = center.engine.store().activity(record.id).unwrap();
    let entries = &listed
        .iter()
        .find(|i| i.key == photos.key)
        .expect("the photos are listed")
        .entries;
    assert_eq!(entries.len(), 12);
    assert_eq!(
        (entries[0].path.as_str(), entries[0].size),
        ("IMG_0001.jpg", Some(900_000))
    );
    let log = log_text(&record);
    assert!(
        log.contains("[warning] Calendar: 1 event has no time zone"),
        "{log}"
    );
    let actionable = record
        .log
        .iter()
        .find(|e| e.actionable)
        .expect("an actionable line");
    assert!(actionable.text.contains("2 events were not uploaded"));
    drop(center);
    assert_no_children();
}

#[test]
fn skip_and_stop_reach_a_handler_in_another_process() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let counters = counters_provider(
        dir.path(),
        &["--items", "a,b,c", "--steps", "100000", "--step-ms", "2"],
    );
    let center = center(dir, vec![counters], never_answer);
    let started = std::time::Instant::now();
    let session = center.start(&[
        ("ext:counters", "a"),
        ("ext:counters", "b"),
        ("ext:counters", "c"),
    ]);
    center.wait_for("ext:counters", "a", |s| s.status == ItemStatus::Updating);
    session.skip(&ItemKey::new("ext:counters", "a"));
    center.wait_for("ext:counters", "b", |s| s.status == ItemStatus::Updating);
    assert_eq!(
        center.snapshot("ext:counters", "a").unwrap().status,
        ItemStatus::Skipped
    );
    session.stop_all();
    let record = session.wait(std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(outcome(&record, "ext:counters", "a").0, "Skipped");
    assert_eq!(outcome(&record, "ext:counters", "b").0, "Canceled");
    assert_eq!(outcome(&record, "ext:counters", "c").0, "Canceled");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "stopped promptly"
    );
    assert!(
        !record.log.iter().any(|e| e.text.contains("did not stop")),
        "{}",
        log_text(&record)
    );
    let c = center.snapshot("ext:counters", "c").unwrap();
    assert_eq!(c.request, Some(UserRequest::Stop));
    drop(center);
    assert_no_children();
}

#[test]
fn details_of_an_actionable_line_come_from_the_handler_process_and_retry_items() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_provider(dir.path());
    let center = center(dir, vec![demo], |request| {
        assert_eq!(request.form.title, "Calendar: 2 events were not uploaded");
        FormReply::Submitted {
            button: "retry".into(),
            values: Default::default(),
        }
    });
    let first = center.sync(&[("ext:demo", "calendar")]);
    let line = first
        .log
        .iter()
        .find(|e| e.actionable)
        .expect("an actionable line");
    let retry = center
        .engine
        .show_error(line.id)
        .expect("the handler is known");
    let record = retry.wait(std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(
        outcome(&record, "ext:demo", "calendar"),
        ("Succeeded".into(), "Synchronized with 2 problems".into())
    );
    drop(center);
    assert_no_children();
}
