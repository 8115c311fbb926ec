//! The handler contract, driven through the real engine on real threads with scripted
//! handlers: lifecycle, participation, skip, stop, abandonment, panics, retry, dialogs
//! under EnableModeless rules, Sync Framework progress, the status rule, damaged state.

mod common;

use common::{Center, Script, status, sync_steps, text, wait};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use synccenter::core::callback::{Callback, LogLine, Progress, Reply};
use synccenter::core::dialog::{FieldValue, Form, FormReply, UiRefused};
use synccenter::core::engine::SessionRequest;
use synccenter::core::events::Event;
use synccenter::core::handler::HandlerError;
use synccenter::core::model::{ItemId, ItemKey, LogLevel, RunReason, ShowErrorOutcome};
use synccenter::core::progress::{BatchEstimate, Stage, WorkReport};
use synccenter::core::status::{ItemStatus, WaitReason};
use synccenter::core::store::{Home, Store};

const LONG: Duration = Duration::from_secs(10);

#[test]
fn the_lifecycle_runs_in_order_and_the_handler_is_released() {
    let script = Script::new("a", &["one", "two"]);
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    assert_eq!(
        script.journal(),
        [
            "create",
            "initialize Manual bother=false",
            "enumerate",
            "prepare one,two",
            "synchronize one,two",
            "release"
        ]
    );
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Succeeded);
    assert_eq!(status(&record, &script.key("two")), ItemStatus::Succeeded);
}

#[test]
fn several_handlers_run_at_once_on_their_own_threads() {
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let make = |id: &str| {
        let barrier = barrier.clone();
        Script::new(id, &["x"]).synchronize(move |items, cb| {
            // Both handlers must be inside synchronize at the same time to pass.
            barrier.wait();
            sync_steps(items, cb, 1, Duration::ZERO)
        })
    };
    let (a, b) = (make("a"), make("b"));
    let center = Center::new(&[&a, &b]);
    let record = center.run(vec![a.key("x"), b.key("x")], false);
    assert_eq!(status(&record, &a.key("x")), ItemStatus::Succeeded);
    assert_eq!(status(&record, &b.key("x")), ItemStatus::Succeeded);
}

#[test]
fn a_handler_not_taking_part_is_never_prepared_and_its_items_are_skipped() {
    let mut script = Script::new("a", &["one"]);
    script.participate = false;
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), true);
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Skipped);
    assert!(text(&record, &script.key("one")).contains("did not take part"));
    assert_eq!(
        script.journal(),
        ["create", "initialize Manual bother=true", "release"]
    );
}

#[test]
fn a_failed_prepare_releases_the_handler_without_synchronizing() {
    let script = Script::new("a", &["one"])
        .prepare(|_, _| Err(HandlerError::new("the server refused the logon")));
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Failed);
    assert!(text(&record, &script.key("one")).contains("the server refused the logon"));
    assert!(
        !script
            .journal()
            .iter()
            .any(|s| s.starts_with("synchronize"))
    );
    assert_eq!(script.journal().last().unwrap(), "release");
    assert!(record.log.iter().any(|l| l.level == LogLevel::Error));
}

#[test]
fn an_item_failed_during_prepare_is_left_out_of_synchronize() {
    let script = Script::new("a", &["one", "two"]).prepare(|_, cb| {
        cb.progress(
            &ItemId::new("one"),
            Progress::status(ItemStatus::Failed).with_text("Logon canceled"),
        );
        Ok(())
    });
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), true);
    assert!(script.journal().contains(&"synchronize two".to_string()));
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Failed);
    assert_eq!(text(&record, &script.key("one")), "Logon canceled");
    assert_eq!(status(&record, &script.key("two")), ItemStatus::Succeeded);
}

#[test]
fn a_skipped_item_is_skipped_and_the_others_go_on() {
    let script = Script::new("a", &["one", "two", "three"])
        .synchronize(|items, cb| sync_steps(items, cb, 40, Duration::from_millis(10)));
    let center = Center::new(&[&script]);
    let session = center.start(script.keys(), false);
    center.wait_for_status(&script.key("one"), |s| s == ItemStatus::Updating);
    session.skip(&script.key("two"));
    let record = wait(&session);
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Succeeded);
    assert_eq!(status(&record, &script.key("two")), ItemStatus::Skipped);
    assert_eq!(status(&record, &script.key("three")), ItemStatus::Succeeded);
}

#[test]
fn stopping_an_item_cancels_it_at_the_next_callback() {
    let script = Script::new("a", &["one", "two"])
        .synchronize(|items, cb| sync_steps(items, cb, 1000, Duration::from_millis(2)));
    let center = Center::new(&[&script]);
    let session = center.start(script.keys(), false);
    center.wait_for_status(&script.key("one"), |s| s == ItemStatus::Updating);
    session.stop_item(&script.key("one"));
    center.wait_for_status(&script.key("one"), |s| s == ItemStatus::Canceled);
    session.stop_item(&script.key("two"));
    let record = wait(&session);
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Canceled);
    assert_eq!(status(&record, &script.key("two")), ItemStatus::Canceled);
}

#[test]
fn stop_all_reaches_every_handler_and_cancels_their_items() {
    let slow = |id: &str| {
        Script::new(id, &["x", "y"])
            .synchronize(|items, cb| sync_steps(items, cb, 10_000, Duration::from_millis(1)))
    };
    let (a, b) = (slow("a"), slow("b"));
    let center = Center::new(&[&a, &b]);
    let session = center.start([a.keys(), b.keys()].concat(), false);
    center.wait_for_status(&a.key("x"), |s| s == ItemStatus::Updating);
    center.wait_for_status(&b.key("x"), |s| s == ItemStatus::Updating);
    let stopped = Instant::now();
    session.stop_all();
    let record = wait(&session);
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "a stop reaches handlers at their next callback"
    );
    for key in [a.keys(), b.keys()].concat() {
        assert_eq!(status(&record, &key), ItemStatus::Canceled, "{key}");
    }
}

#[test]
fn a_handler_that_ignores_stop_is_abandoned_and_the_session_goes_on() {
    let release = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let stuck = {
        let (release, started) = (release.clone(), started.clone());
        Script::new("stuck", &["x"]).synchronize(move |_, _| {
            started.store(true, Ordering::SeqCst);
            // Never looks at the callback again.
            while !release.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(())
        })
    };
    let healthy = Script::new("healthy", &["y"])
        .synchronize(|items, cb| sync_steps(items, cb, 30, Duration::from_millis(20)));
    let center = Center::with_stop_timeout(&[&stuck, &healthy], Duration::from_millis(300));
    let session = center.start(vec![stuck.key("x"), healthy.key("y")], false);
    center.wait_for_status(&healthy.key("y"), |s| s == ItemStatus::Updating);
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
    session.stop_item(&healthy.key("y"));
    session.stop_all();
    let record = session
        .wait(Duration::from_secs(5))
        .expect("the session ends without the stuck handler");
    assert_eq!(status(&record, &stuck.key("x")), ItemStatus::Failed);
    assert!(
        text(&record, &stuck.key("x")).contains("did not stop"),
        "{}",
        text(&record, &stuck.key("x"))
    );
    assert_eq!(status(&record, &healthy.key("y")), ItemStatus::Canceled);
    // What the abandoned handler reports later changes nothing.
    release.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(100));
    let live = center.engine.board().snapshot(&stuck.key("x")).unwrap();
    assert_eq!(live.status, ItemStatus::Failed);
}

#[test]
fn a_panicking_handler_fails_only_its_own_items_with_the_panic_text() {
    let crashing = Script::new("crash", &["x"])
        .synchronize(|_, _| panic!("index out of bounds in the mail parser"));
    let healthy = Script::new("fine", &["y"]);
    let center = Center::new(&[&crashing, &healthy]);
    let record = center.run(vec![crashing.key("x"), healthy.key("y")], false);
    assert_eq!(status(&record, &crashing.key("x")), ItemStatus::Failed);
    assert_eq!(status(&record, &healthy.key("y")), ItemStatus::Succeeded);
    assert!(
        record.log.iter().any(|l| l.level == LogLevel::Error
            && l.text.contains("index out of bounds in the mail parser")),
        "{:?}",
        record.log
    );
    // The engine still works afterwards.
    let again = center.run(vec![healthy.key("y")], false);
    assert_eq!(status(&again, &healthy.key("y")), ItemStatus::Succeeded);
}

#[test]
fn show_error_can_retry_the_items_the_handler_names() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let script = {
        let attempts = attempts.clone();
        Script::new("a", &["one", "two"])
            .synchronize(move |items, cb| {
                let first = attempts.fetch_add(1, Ordering::SeqCst) == 0;
                for item in items {
                    if first && item.as_str() == "two" {
                        cb.log(
                            LogLine::error("2 messages were not sent")
                                .item(item)
                                .actionable(),
                        );
                        cb.progress(
                            item,
                            Progress::status(ItemStatus::Failed)
                                .with_text("2 messages were not sent"),
                        );
                    }
                }
                Ok(())
            })
            .show_error(|_, _| Ok(ShowErrorOutcome::Retry(vec![ItemId::new("two")])))
    };
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    assert_eq!(status(&record, &script.key("two")), ItemStatus::Failed);
    let line = record
        .log
        .iter()
        .find(|l| l.actionable)
        .expect("an actionable line");
    let retry = center
        .engine
        .show_error(line.id)
        .expect("the line's handler is known");
    let retried = wait(&retry);
    assert_eq!(retried.items.len(), 1);
    assert_eq!(status(&retried, &script.key("two")), ItemStatus::Succeeded);
    let journal = script.journal();
    let tail: Vec<&str> = journal[journal.len() - 7..]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "create",
            "initialize Manual bother=true",
            "show_error",
            "enumerate",
            "prepare two",
            "synchronize two",
            "release"
        ]
    );
}

#[test]
fn a_no_prompt_run_refuses_permission_to_show_dialogs() {
    let refused = Arc::new(parking_lot::Mutex::new(None));
    let script = {
        let refused = refused.clone();
        Script::new("a", &["one"]).prepare(move |_, cb| {
            *refused.lock() = Some(cb.request_ui(None).map(|_| ()));
            Ok(())
        })
    };
    let center = Center::new(&[&script]);
    center.run(script.keys(), false);
    assert_eq!(*refused.lock(), Some(Err(UiRefused::NotAllowed)));
}

#[test]
fn scheduled_and_idle_runs_never_bother_the_user() {
    for reason in [RunReason::Scheduled, RunReason::Idle] {
        let refused = Arc::new(parking_lot::Mutex::new(None));
        let script = {
            let refused = refused.clone();
            Script::new("a", &["one"]).prepare(move |_, cb| {
                *refused.lock() = Some((
                    cb.context().may_bother_user,
                    cb.request_ui(None).map(|_| ()),
                ));
                Ok(())
            })
        };
        let center = Center::new(&[&script]);
        let session = center
            .engine
            .start(SessionRequest {
                reason: reason.clone(),
                may_bother_user: true,
                items: script.keys(),
            })
            .unwrap();
        wait(&session);
        assert_eq!(
            *refused.lock(),
            Some((false, Err(UiRefused::NotAllowed))),
            "{reason:?}"
        );
    }
}

/// A handler that asks for a password in prepare and fails the item on cancel.
fn logon_script(id: &str) -> Script {
    Script::new(id, &["mail"]).prepare(|items, cb| {
        let permit = match cb.request_ui(Some(&items[0])) {
            Ok(permit) => permit,
            // Stopped while waiting: returning is the acknowledgement.
            Err(UiRefused::Canceled) => return Ok(()),
            Err(refused) => return Err(HandlerError::new(refused.to_string())),
        };
        let reply = permit.show(Form::logon("Log on", "Password, please", "ann"));
        match reply.pressed("ok") {
            Some(values) if values.get("password") == Some(&FieldValue::Text("secret".into())) => {
                Ok(())
            }
            _ => {
                cb.progress(
                    &items[0],
                    Progress::status(ItemStatus::Failed).with_text("Logon canceled"),
                );
                Ok(())
            }
        }
    })
}

fn ok_with_password() -> FormReply {
    let mut values = synccenter::core::dialog::Values::new();
    values.insert("user".into(), FieldValue::Text("ann".into()));
    values.insert("password".into(), FieldValue::Text("secret".into()));
    FormReply::Submitted {
        button: "ok".into(),
        values,
    }
}

#[test]
fn two_handlers_asking_at_once_get_one_dialog_then_the_other() {
    let (a, b) = (logon_script("a"), logon_script("b"));
    let center = Center::new(&[&a, &b]);
    let session = center.start(vec![a.key("mail"), b.key("mail")], true);
    let first = center.next_dialog(LONG).expect("a first dialog");
    let (waiting, answered_first) = if first.handler.as_str() == "a" {
        (b.key("mail"), a.key("mail"))
    } else {
        (a.key("mail"), b.key("mail"))
    };
    // While the first one is open, no second dialog shows; the other item says why it waits.
    center.wait_for_status(&waiting, |s| s == ItemStatus::Waiting);
    let wait = center.engine.board().snapshot(&waiting).unwrap().wait;
    assert!(
        matches!(wait, Some(WaitReason::OtherDialog { .. })),
        "{wait:?}"
    );
    assert_eq!(
        center
            .engine
            .board()
            .snapshot(&answered_first)
            .unwrap()
            .wait,
        Some(WaitReason::YourAnswer)
    );
    assert!(
        center.next_dialog(Duration::from_millis(300)).is_none(),
        "only one dialog at a time"
    );
    first.answer(ok_with_password());
    let second = center
        .next_dialog(LONG)
        .expect("the second dialog after the first closed");
    assert_ne!(second.handler, center_handler(&answered_first));
    second.answer(FormReply::Canceled);
    let record = common::wait(&session);
    assert_eq!(status(&record, &answered_first), ItemStatus::Succeeded);
    assert_eq!(status(&record, &waiting), ItemStatus::Failed);
    assert_eq!(text(&record, &waiting), "Logon canceled");
}

fn center_handler(key: &ItemKey) -> synccenter::core::model::HandlerId {
    key.handler.clone()
}

#[test]
fn stopping_closes_the_open_dialog_and_ends_the_waiting_one() {
    let (a, b) = (logon_script("a"), logon_script("b"));
    let center = Center::new(&[&a, &b]);
    let session = center.start(vec![a.key("mail"), b.key("mail")], true);
    let open = center.next_dialog(LONG).expect("a dialog");
    let open_id = open.id;
    session.stop_all();
    // The core takes the open dialog down and the waiting one never shows.
    let deadline = Instant::now() + LONG;
    let mut closed = false;
    while Instant::now() < deadline && !closed {
        if let Ok(event) = center.events.recv_timeout(Duration::from_millis(50)) {
            match event {
                Event::DialogClosed(id) => closed = id == open_id,
                Event::Dialog(other) => panic!("a dialog of {} showed after Stop", other.handler),
                _ => {}
            }
        }
    }
    assert!(closed, "the open dialog was closed");
    let record = wait(&session);
    // The open dialog answered "canceled", so its handler failed its item as it does on
    // Cancel; the waiting handler never got to ask and its item was canceled.
    let open_key = ItemKey::new(open.handler.as_str(), "mail");
    for key in [a.key("mail"), b.key("mail")] {
        let s = status(&record, &key);
        if key == open_key {
            assert_eq!(
                (s, text(&record, &key).as_str()),
                (ItemStatus::Failed, "Logon canceled")
            );
        } else {
            assert_eq!(
                s,
                ItemStatus::Canceled,
                "{key}: {} {:?}",
                text(&record, &key),
                record.log
            );
        }
    }
    drop(open);
}

#[test]
fn sync_framework_estimates_reach_the_items_live_state() {
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let script = Script::new("a", &["photos"]).synchronize(|items, cb| {
        let item = &items[0];
        cb.report_work(
            item,
            WorkReport::Staged {
                stage: Stage::ChangeDetection,
                completed: 3,
                total: 0,
            },
        );
        cb.report_work(
            item,
            WorkReport::BatchStarted {
                estimate: Some(BatchEstimate {
                    batch_work: 100,
                    remaining_session_work: 300,
                }),
            },
        );
        cb.report_work(item, WorkReport::ChangeApplied { work: Some(40) });
        cb.report_work(item, WorkReport::ChangeApplied { work: Some(40) });
        std::thread::sleep(Duration::from_millis(200));
        cb.report_work(item, WorkReport::BatchApplied);
        // Custom change-application progress on top of estimates would double count.
        cb.report_work(
            item,
            WorkReport::Staged {
                stage: Stage::ChangeApplication,
                completed: 100,
                total: 100,
            },
        );
        std::thread::sleep(Duration::from_millis(200));
        Ok(())
    });
    let center = Center::new(&[&script]);
    let session = center.start(script.keys(), false);
    let key = script.key("photos");
    while !session.is_finished() {
        if let Some(snapshot) = center.engine.board().snapshot(&key)
            && let Some(measure) = snapshot.measure
        {
            let mut seen = seen.lock();
            if seen.last() != Some(&measure) {
                seen.push(measure);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let record = wait(&session);
    let seen = seen.lock().clone();
    assert!(seen.contains(&(80, 300)), "{seen:?}");
    assert_eq!(
        seen.last(),
        Some(&(100, 300)),
        "the refused report was not counted: {seen:?}"
    );
    assert!(
        record
            .log
            .iter()
            .any(|l| l.level == LogLevel::Warning && l.text.contains("count the same work twice")),
        "{:?}",
        record.log
    );
}

#[test]
fn a_final_status_can_only_turn_into_failed() {
    let script = Script::new("a", &["one", "two"]).synchronize(|items, cb| {
        cb.progress(&items[0], Progress::status(ItemStatus::Succeeded));
        // Not allowed after Succeeded: the item is marked failed.
        cb.progress(
            &items[0],
            Progress::steps(1, 2).with_status(ItemStatus::Updating),
        );
        cb.progress(&items[1], Progress::status(ItemStatus::Succeeded));
        // Allowed: Succeeded → Failed.
        cb.progress(
            &items[1],
            Progress::status(ItemStatus::Failed).with_text("verification failed"),
        );
        Ok(())
    });
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Failed);
    assert!(
        record
            .log
            .iter()
            .any(|l| l.text.contains("after it had already ended"))
    );
    assert_eq!(status(&record, &script.key("two")), ItemStatus::Failed);
    assert_eq!(text(&record, &script.key("two")), "verification failed");
}

#[test]
fn progress_on_an_item_not_in_the_run_is_ignored_with_a_warning() {
    let script = Script::new("a", &["one"]).synchronize(|_, cb| {
        let reply = cb.progress(&ItemId::new("ghost"), Progress::steps(1, 2));
        assert_eq!(reply, Reply::Continue);
        Ok(())
    });
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    assert_eq!(status(&record, &script.key("one")), ItemStatus::Succeeded);
    assert!(record.log.iter().any(|l| l.text.contains("ghost")));
}

#[test]
fn log_lines_can_be_retracted() {
    let script = Script::new("a", &["one"]).synchronize(|items, cb| {
        let keep = cb.log(LogLine::info("kept"));
        let gone = cb.log(LogLine::warning("retracted").item(&items[0]));
        cb.delete_log(Some(gone));
        assert_ne!(keep, gone);
        Ok(())
    });
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    let texts: Vec<_> = record.log.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["kept"]);
}

#[test]
fn missing_items_keep_their_stored_choices_and_gone_items_lose_them() {
    let mut script = Script::new("a", &["one"]);
    script.some_missing = true;
    let center = Center::new(&[&script]);
    let store = center.engine.store();
    store.set_checked(&script.key("offline"), false);
    center.engine.list_now();
    assert!(
        !store.is_checked(&script.key("offline"), true),
        "kept while some items are missing"
    );
    let complete = Script::new("a", &["one"]);
    center.engine.register(complete.provider());
    center.engine.list_now();
    assert!(
        store.is_checked(&script.key("offline"), true),
        "forgotten once the list is complete"
    );
}

#[test]
fn results_survive_a_restart() {
    let script = Script::new("a", &["one"]);
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    center.engine.store().flush().unwrap();
    let (reopened, notices) = Store::open(Home::under(center.dir.path()));
    assert!(notices.is_empty());
    let history = reopened.history();
    assert_eq!(history.last().map(|s| s.id), Some(record.id));
    let last = reopened.item_record(&script.key("one")).unwrap();
    assert_eq!(last.last_status, Some(ItemStatus::Succeeded));
    assert!(last.last_synced.is_some());
}

#[test]
fn a_damaged_state_file_is_moved_aside_reported_once_and_the_center_starts() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    home.create_dirs().unwrap();
    let choices = home.config_dir.join("choices.json");
    std::fs::write(&choices, b"{\"demo\": {\"mail\": tru").unwrap();
    let history = home.data_dir.join("history");
    std::fs::write(
        history.join("00000000000000000001.json"),
        b"not json at all",
    )
    .unwrap();
    let (store, notices) = Store::open(home.clone());
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(
        notices
            .iter()
            .any(|n| n.contains("item choices") && n.contains("moved"))
    );
    let aside: Vec<_> = std::fs::read_dir(&home.config_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("choices.json.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept, not overwritten");
    assert_eq!(
        std::fs::read(home.config_dir.join(&aside[0])).unwrap(),
        b"{\"demo\": {\"mail\": tru",
        "nothing of it is lost"
    );
    // The center works and saves fresh state.
    store.set_checked(&ItemKey::new("demo", "mail"), false);
    store.flush().unwrap();
    let (_, again) = Store::open(home);
    assert!(again.is_empty(), "told once: {again:?}");
}

#[test]
fn a_skip_waits_for_the_handler_to_reach_the_item_without_failing_it() {
    let script = Script::new("a", &["slow", "later"])
        .synchronize(|items, cb| sync_steps(items, cb, 30, Duration::from_millis(20)));
    // The first item alone takes longer than the stop timeout.
    let center = Center::with_stop_timeout(&[&script], Duration::from_millis(200));
    let session = center.start(script.keys(), false);
    center.wait_for_status(&script.key("slow"), |s| s == ItemStatus::Updating);
    session.skip(&script.key("later"));
    let record = wait(&session);
    assert_eq!(status(&record, &script.key("slow")), ItemStatus::Succeeded);
    assert_eq!(status(&record, &script.key("later")), ItemStatus::Skipped);
}

#[test]
fn opening_properties_does_not_disturb_a_running_item() {
    let script = Script::new("a", &["one"])
        .synchronize(|items, cb| sync_steps(items, cb, 40, Duration::from_millis(10)));
    let center = Center::new(&[&script]);
    let session = center.start(script.keys(), false);
    center.wait_for_status(&script.key("one"), |s| s == ItemStatus::Updating);
    session.stop_item(&script.key("one"));
    center.engine.show_properties(
        &script.key("one").handler,
        synccenter::core::model::PropertiesTarget::Item(ItemId::new("one")),
    );
    let record = wait(&session);
    assert_eq!(
        status(&record, &script.key("one")),
        ItemStatus::Canceled,
        "the stop was not wiped"
    );
}

/// Breaks out of an item at the first skip or stop without saying so, and goes on.
fn leave_on_request(items: &[ItemId], cb: &Callback, steps: u64) -> Result<(), HandlerError> {
    for item in items {
        for step in 0..=steps {
            let reply = cb.progress(item, Progress::steps(step, steps));
            if reply == Reply::CancelAll {
                return Ok(());
            }
            if reply.should_stop() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}

#[test]
fn a_handler_that_goes_on_with_another_item_has_honored_the_skip_or_stop() {
    // Each item takes a second, more than three times the stop timeout.
    let script =
        Script::new("a", &["x", "y", "z"]).synchronize(|items, cb| leave_on_request(items, cb, 50));
    let center = Center::with_stop_timeout(&[&script], Duration::from_millis(300));
    let session = center.start(script.keys(), false);
    center.wait_for_status(&script.key("x"), |s| s == ItemStatus::Updating);
    session.skip(&script.key("x"));
    center.wait_for_status(&script.key("y"), |s| s == ItemStatus::Updating);
    session.stop_item(&script.key("y"));
    let record = wait(&session);
    assert_eq!(
        (
            status(&record, &script.key("x")),
            text(&record, &script.key("x"))
        ),
        (ItemStatus::Skipped, "Skipped.".to_string()),
        "{:?}",
        record.log
    );
    assert_eq!(status(&record, &script.key("y")), ItemStatus::Canceled);
    assert_eq!(status(&record, &script.key("z")), ItemStatus::Succeeded);
    assert!(
        record.log.iter().all(|l| l.level != LogLevel::Error),
        "{:?}",
        record.log
    );
}

#[test]
fn a_handler_that_keeps_working_on_a_skipped_item_fails_it_after_the_stop_timeout() {
    // Hears the skip and goes on with the same item for a second regardless.
    let script = Script::new("a", &["x"]).synchronize(|items, cb| {
        for step in 0..=50 {
            cb.progress(&items[0], Progress::steps(step, 50));
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    });
    let center = Center::with_stop_timeout(&[&script], Duration::from_millis(300));
    let session = center.start(script.keys(), false);
    center.wait_for_status(&script.key("x"), |s| s == ItemStatus::Updating);
    session.skip(&script.key("x"));
    let record = wait(&session);
    assert_eq!(status(&record, &script.key("x")), ItemStatus::Failed);
    assert_eq!(
        text(&record, &script.key("x")),
        "Handler a did not stop this item within 0.3 s."
    );
}

#[test]
fn a_later_run_taking_over_a_finished_item_leaves_the_earlier_result_alone() {
    let runs = Arc::new(AtomicUsize::new(0));
    let script = {
        let runs = runs.clone();
        Script::new("a", &["quick", "slow"]).synchronize(move |items, cb| {
            let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
            for item in items {
                let steps = if item.as_str() == "slow" { 60 } else { 1 };
                sync_steps(
                    std::slice::from_ref(item),
                    cb,
                    steps,
                    Duration::from_millis(20),
                )?;
                let done = if first { "Done" } else { "Done again" };
                cb.progress(
                    item,
                    Progress::status(ItemStatus::Succeeded).with_text(done),
                );
            }
            // The earlier run finds a conflict in `quick` long after the later run took it
            // over and found none: it must not put its older finding back.
            let found = if first {
                vec![conflict("old.txt")]
            } else {
                Vec::new()
            };
            cb.replace_conflicts(&ItemId::new("quick"), found);
            Ok(())
        })
    };
    let center = Center::new(&[&script]);
    let earlier = center.start(script.keys(), false);
    center.wait_for_status(&script.key("quick"), |s| s == ItemStatus::Succeeded);
    // Sync now of `quick` while the first run is still on `slow`.
    let later = center.start(vec![script.key("quick")], false);
    let newer = wait(&later);
    let older = wait(&earlier);
    assert_eq!(
        (
            status(&older, &script.key("quick")),
            text(&older, &script.key("quick"))
        ),
        (ItemStatus::Succeeded, "Done".to_string())
    );
    assert_eq!(status(&older, &script.key("slow")), ItemStatus::Succeeded);
    assert_eq!(text(&newer, &script.key("quick")), "Done again");
    // The earlier run was recorded last; the item's record still follows the newest run.
    let record = center
        .engine
        .store()
        .item_record(&script.key("quick"))
        .unwrap();
    assert_eq!(record.last_text, "Done again");
    assert_eq!(record.last_session, Some(newer.id));
    assert!(center.engine.store().conflicts().is_empty());
}

#[test]
fn a_connection_can_be_established_outside_any_item() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let script = {
        let (seen_props, seen_details) = (seen.clone(), seen.clone());
        let (t1, t2) = (target.clone(), target.clone());
        Script::new("a", &["one"])
            .properties(move |_, cb| {
                // "Test connection" in a handler-level properties dialog: no item at all.
                seen_props.lock().push(cb.establish_connection(Some(&t1)));
                Ok(synccenter::core::model::PropertiesOutcome::Unchanged)
            })
            .show_error(move |_, cb| {
                // Details that fetch from the server, before any item is retried.
                seen_details.lock().push(cb.establish_connection(Some(&t2)));
                Ok(ShowErrorOutcome::Done)
            })
            .synchronize(|items, cb| {
                cb.log(
                    LogLine::error("details on the server")
                        .item(&items[0])
                        .actionable(),
                );
                Ok(())
            })
    };
    let center = Center::new(&[&script]);
    center.engine.show_properties(
        &script.key("one").handler,
        synccenter::core::model::PropertiesTarget::Handler,
    );
    center
        .next_event(LONG, |e| {
            matches!(e, Event::PropertiesClosed { .. }).then_some(())
        })
        .expect("the dialog closes");
    let record = center.run(script.keys(), false);
    let line = record.log.iter().find(|l| l.actionable).unwrap();
    wait(&center.engine.show_error(line.id).unwrap());
    assert_eq!(*seen.lock(), vec![Ok(()), Ok(())]);
}

/// A conflict report for tests.
fn conflict(id: &str) -> synccenter::core::conflicts::ConflictReport {
    let side = |label: &str| synccenter::core::conflicts::ConflictSide {
        label: label.into(),
        location: label.into(),
        exists: true,
        is_dir: false,
        size: Some(1),
        modified: None,
    };
    synccenter::core::conflicts::ConflictReport {
        id: id.into(),
        path: id.into(),
        left: side("Left"),
        right: side("Right"),
    }
}

#[test]
fn a_run_given_up_on_changes_nothing_in_the_store() {
    let release = Arc::new(AtomicBool::new(false));
    let (started, done) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let script = {
        let (release, started, done) = (release.clone(), started.clone(), done.clone());
        Script::new("stuck", &["x"]).synchronize(move |items, cb| {
            started.store(true, Ordering::SeqCst);
            while !release.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            // Long after Sync Center gave up on it.
            cb.delete_log(None);
            cb.replace_conflicts(&items[0], vec![conflict("late.txt")]);
            done.store(true, Ordering::SeqCst);
            Ok(())
        })
    };
    let center = Center::with_stop_timeout(&[&script], Duration::from_millis(300));
    let session = center.start(script.keys(), false);
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
    session.stop_all();
    let record = wait(&session);
    release.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + LONG;
    while !done.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the handler never got to its late calls"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let store = center.engine.store();
    let kept = store
        .history()
        .into_iter()
        .find(|s| s.id == record.id)
        .unwrap();
    assert!(
        kept.log
            .iter()
            .any(|l| l.text.contains("did not stop within 0.3 s")),
        "the explanation stays: {:?}",
        kept.log
    );
    assert!(store.conflicts().is_empty(), "{:?}", store.conflicts());
}

#[test]
fn a_handler_retracts_only_its_own_lines() {
    let shared: Arc<parking_lot::Mutex<Option<synccenter::core::model::LogId>>> =
        Arc::new(parking_lot::Mutex::new(None));
    let writer = {
        let shared = shared.clone();
        Script::new("a", &["one"]).synchronize(move |_, cb| {
            *shared.lock() = Some(cb.log(LogLine::warning("a's line")));
            Ok(())
        })
    };
    let retractor = {
        let shared = shared.clone();
        Script::new("b", &["two"]).synchronize(move |items, cb| {
            let theirs = shared.lock().expect("a ran first");
            // Another handler's line, by id: not this handler's to retract.
            cb.delete_log(Some(theirs));
            cb.log(LogLine::info("b's own line").item(&items[0]));
            // A Sync Center note about this handler ("not part of this run").
            cb.progress(&ItemId::new("ghost"), Progress::steps(1, 2));
            // Every line this handler logged in this run: its own, not the note.
            cb.delete_log(None);
            Ok(())
        })
    };
    let center = Center::new(&[&writer, &retractor]);
    let first = center.run(writer.keys(), false);
    let second = center.run(retractor.keys(), false);
    let texts = |record: &synccenter::core::store::SessionRecord| -> Vec<String> {
        record.log.iter().map(|l| l.text.clone()).collect()
    };
    assert!(
        texts(&second).iter().any(|t| t.contains("ghost")),
        "{:?}",
        texts(&second)
    );
    assert!(!texts(&second).iter().any(|t| t == "b's own line"));
    let history = center.engine.store().history();
    let kept = history.iter().find(|s| s.id == first.id).unwrap();
    assert_eq!(texts(kept), ["a's line"]);
    let kept = history.iter().find(|s| s.id == second.id).unwrap();
    assert!(texts(kept).iter().any(|t| t.contains("ghost")));
}

#[test]
fn what_a_handler_logs_in_its_properties_dialog_is_shown_as_a_notice() {
    let script = Script::new("a", &["one"]).properties(|_, cb| {
        cb.log(LogLine::error("could not save the list of repositories"));
        Ok(synccenter::core::model::PropertiesOutcome::Unchanged)
    });
    let center = Center::new(&[&script]);
    center.engine.show_properties(
        &script.key("one").handler,
        synccenter::core::model::PropertiesTarget::Handler,
    );
    let seen = parking_lot::Mutex::new(Vec::new());
    center.next_event(LONG, |event| match event {
        Event::PropertiesClosed { .. } => Some(()),
        other => {
            seen.lock().push(format!("{other:?}"));
            None
        }
    });
    let seen = seen.into_inner();
    assert!(
        seen.iter()
            .any(|e| e.starts_with("Notice(\"Handler a: could not save")),
        "{seen:?}"
    );
    assert!(
        !seen.iter().any(|e| e.starts_with("Log(")),
        "no run to log in: {seen:?}"
    );
}

#[test]
fn detection_figures_and_indeterminate_status_leave_no_figures_on_the_bar() {
    use synccenter::core::progress::ProgressView;
    let steps = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let go = Arc::new(AtomicUsize::new(0));
    let script = {
        let go = go.clone();
        Script::new("a", &["scan", "marquee"]).synchronize(move |items, cb| {
            let wait_for = |n: usize| {
                while go.load(Ordering::SeqCst) < n {
                    std::thread::sleep(Duration::from_millis(2));
                }
            };
            let (scan, marquee) = (&items[0], &items[1]);
            // Change detection almost done, then change application just begun.
            cb.report_work(
                scan,
                WorkReport::Staged {
                    stage: Stage::ChangeDetection,
                    completed: 9,
                    total: 10,
                },
            );
            wait_for(1);
            cb.report_work(
                scan,
                WorkReport::Staged {
                    stage: Stage::ChangeApplication,
                    completed: 10,
                    total: 90,
                },
            );
            wait_for(2);
            // Half done, then the handler says it no longer knows how much is left.
            cb.progress(marquee, Progress::steps(5, 10));
            wait_for(3);
            cb.progress(marquee, Progress::status(ItemStatus::Indeterminate));
            wait_for(4);
            Ok(())
        })
    };
    let center = Center::new(&[&script]);
    let session = center.start(script.keys(), false);
    let mut view = ProgressView::new();
    let look = |key: &ItemKey, expect: &dyn Fn(&synccenter::core::board::ItemSnapshot) -> bool| {
        let deadline = Instant::now() + LONG;
        loop {
            let snapshot = center.engine.board().snapshot(key).unwrap();
            if expect(&snapshot) {
                return snapshot;
            }
            assert!(Instant::now() < deadline, "{key}: {snapshot:?}");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    let scan = script.key("scan");
    let detecting = look(&scan, &|s| s.stage == Some(Stage::ChangeDetection));
    assert_eq!(
        detecting.measure, None,
        "detection is no measure of the item"
    );
    steps
        .lock()
        .push(view.update(0.0, detecting.measure, false).fraction);
    go.store(1, Ordering::SeqCst);
    let applying = look(&scan, &|s| s.stage == Some(Stage::ChangeApplication));
    assert_eq!(applying.measure, Some((10, 100)));
    steps
        .lock()
        .push(view.update(1.0, applying.measure, false).fraction);
    assert_eq!(*steps.lock(), [0.0, 0.1], "the bar is not pinned at 90 %");
    go.store(2, Ordering::SeqCst);
    let marquee = script.key("marquee");
    look(&marquee, &|s| s.measure == Some((5, 10)));
    go.store(3, Ordering::SeqCst);
    let unknown = look(&marquee, &|s| s.status == ItemStatus::Indeterminate);
    assert_eq!(unknown.measure, None, "old figures are gone");
    go.store(4, Ordering::SeqCst);
    wait(&session);
}

#[test]
fn a_handler_repeating_a_mistake_is_told_once_per_item_and_kind() {
    let script = Script::new("a", &["done", "own"]).synchronize(|items, cb| {
        let (done, own) = (&items[0], &items[1]);
        cb.progress(done, Progress::status(ItemStatus::Succeeded));
        for step in 0..3000 {
            // Not allowed after Succeeded, again and again.
            cb.progress(
                done,
                Progress::steps(step, 3000).with_status(ItemStatus::Updating),
            );
        }
        for _ in 0..100 {
            // Pending and Waiting are Sync Center's own statuses.
            cb.progress(own, Progress::status(ItemStatus::Waiting));
        }
        // Two different refusals of progress reports: each is told.
        cb.report_work(own, WorkReport::ChangeApplied { work: Some(1) });
        cb.report_work(
            own,
            WorkReport::BatchStarted {
                estimate: Some(BatchEstimate {
                    batch_work: 5,
                    remaining_session_work: 5,
                }),
            },
        );
        cb.report_work(
            own,
            WorkReport::Staged {
                stage: Stage::ChangeApplication,
                completed: 1,
                total: 1,
            },
        );
        cb.report_work(own, WorkReport::BatchApplied);
        Ok(())
    });
    let center = Center::new(&[&script]);
    let record = center.run(script.keys(), false);
    let count = |words: &str| record.log.iter().filter(|l| l.text.contains(words)).count();
    assert_eq!(count("after it had already ended"), 1, "{:?}", record.log);
    assert_eq!(count("a status only Sync Center sets"), 1);
    assert_eq!(count("outside a change batch"), 1);
    assert_eq!(count("count the same work twice"), 1);
    assert!(record.log.len() < 10, "{}", record.log.len());
    assert_eq!(status(&record, &script.key("done")), ItemStatus::Failed);
    assert_eq!(
        status(&record, &script.key("own")),
        ItemStatus::Succeeded,
        "never left waiting without a reason"
    );
}

#[test]
fn a_handler_not_taking_part_shows_no_properties() {
    let mut script = Script::new("a", &["one"]);
    script.participate = false;
    let center = Center::new(&[&script]);
    center.engine.show_properties(
        &script.key("one").handler,
        synccenter::core::model::PropertiesTarget::Handler,
    );
    let outcome = center
        .next_event(LONG, |e| match e {
            Event::PropertiesClosed { outcome, .. } => Some(outcome),
            _ => None,
        })
        .expect("the dialog ends");
    assert_eq!(
        outcome,
        Err("Handler a does not take part right now".to_string())
    );
    assert!(!script.journal().contains(&"show_properties".to_string()));
}

#[test]
fn two_threads_of_one_handler_asking_while_another_shows_a_dialog_share_the_slot() {
    let asking = Arc::new(AtomicBool::new(false));
    let other = logon_script("other");
    let both = {
        let asking = asking.clone();
        Script::new("both", &["one"]).synchronize(move |_, cb| {
            let held = std::sync::Barrier::new(2);
            std::thread::scope(|scope| {
                for delay in [0, 200] {
                    let (asking, held) = (asking.clone(), &held);
                    scope.spawn(move || {
                        while !asking.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        // The second thread asks while the first still waits in line.
                        std::thread::sleep(Duration::from_millis(delay));
                        let permit = cb.request_ui(None).expect("allowed");
                        // Each needs the other to hold its permit too: queuing one behind
                        // the other would wait forever.
                        held.wait();
                        drop(permit);
                    });
                }
            });
            Ok(())
        })
    };
    let center = Center::new(&[&other, &both]);
    let session = center.start(vec![other.key("mail"), both.key("one")], true);
    let dialog = center
        .next_dialog(LONG)
        .expect("the other handler's dialog");
    assert_eq!(dialog.handler.as_str(), "other");
    asking.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(500));
    dialog.answer(FormReply::Canceled);
    let record = session
        .wait(Duration::from_secs(10))
        .expect("the two threads did not wait for each other");
    assert_eq!(status(&record, &both.key("one")), ItemStatus::Succeeded);
}

#[test]
fn a_handler_whose_listing_hangs_costs_one_thread_and_is_told_after_the_timeout() {
    let release = Arc::new(AtomicBool::new(false));
    let hangs = {
        let release = release.clone();
        synccenter::core::handler::FnProvider::new("hangs", "Hangs", move || {
            Box::new(HangingList(release.clone())) as Box<dyn synccenter::core::handler::Handler>
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(Home::under(dir.path()));
    let config = synccenter::core::engine::EngineConfig {
        list_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let (engine, events) = synccenter::core::engine::Engine::new(
        synccenter::core::handler::Registry::new().with(hangs),
        store,
        config,
    );
    let threads = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|n| n.trim() == "list-hangs")
            })
            .count()
    };
    for _ in 0..10 {
        engine.refresh_handler(&synccenter::core::model::HandlerId::new("hangs"));
    }
    let listings = engine.list_now();
    assert_eq!(
        listings[0].error.as_deref(),
        Some("it did not list its items within 0.3 s")
    );
    assert_eq!(
        threads(),
        1,
        "one listing thread, however often it is asked"
    );
    let deadline = Instant::now() + LONG;
    let told = loop {
        match events.recv_timeout(Duration::from_millis(50)) {
            Ok(Event::HandlerUnavailable { error, .. }) => break error,
            _ => assert!(Instant::now() < deadline, "the window is never told"),
        }
    };
    assert!(told.contains("did not list its items"), "{told}");
    release.store(true, Ordering::SeqCst);
}

/// A handler whose enumerate hangs until released.
struct HangingList(Arc<AtomicBool>);

impl synccenter::core::handler::Handler for HangingList {
    fn initialize(
        &mut self,
        _: &synccenter::core::model::RunContext,
    ) -> synccenter::core::handler::HandlerResult<synccenter::core::model::Participation> {
        Ok(synccenter::core::model::Participation::TakesPart)
    }
    fn info(&self) -> synccenter::core::model::HandlerInfo {
        synccenter::core::model::HandlerInfo {
            name: "Hangs".into(),
            icon: Default::default(),
            has_properties: false,
        }
    }
    fn enumerate(
        &mut self,
    ) -> synccenter::core::handler::HandlerResult<synccenter::core::model::Enumeration> {
        while !self.0.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(synccenter::core::model::Enumeration {
            items: Vec::new(),
            some_missing: false,
        })
    }
    fn prepare(&mut self, _: &[ItemId], _: &Callback) -> Result<(), HandlerError> {
        Ok(())
    }
    fn synchronize(&mut self, _: &[ItemId], _: &Callback) -> Result<(), HandlerError> {
        Ok(())
    }
}

#[test]
fn new_ids_follow_the_recorded_ones_when_the_clock_stepped_back() {
    let script = Script::new("a", &["one"]);
    let center = Center::new(&[&script]);
    let first = center.run(script.keys(), false);
    center.engine.store().flush().unwrap();
    // As if the clock stood an hour ahead when that run was recorded.
    let ahead = synccenter::core::model::SessionId(first.id.0 + 3_600_000_000);
    let mut moved = first.clone();
    moved.id = ahead;
    let home = Home::under(center.dir.path());
    center.engine.store().record_session(moved);
    center.engine.store().flush().unwrap();
    let reopened = Center::reopen(&[&script], &home);
    let next = reopened.run(script.keys(), false);
    assert!(next.id > ahead, "{:?} after {:?}", next.id, ahead);
    assert!(next.log.iter().all(|l| l.id.0 > ahead.0));
}
