//! Schedules in a `--background` instance on a real session bus, through the real binary:
//! a short period fires while it runs, a due time missed while it was stopped is made up
//! exactly once, and a scheduled run never shows a dialog.

mod resident_support;

use resident_support::{Bus, Home, Instance, synccenter, text, wait_for};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn scheduled(home: &Home) -> Vec<Value> {
    home.history()
        .into_iter()
        .filter(|r| r["reason"] == "scheduled")
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn a_schedule_of_every_2_seconds_fires_while_the_instance_runs() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    // Made with the command line, as a user would.
    let out = synccenter(home.path(), None)
        .args(["schedule", "add", "often", "alpha", "--every", "2s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let listed = synccenter(home.path(), None)
        .args(["schedule", "list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("every 2 s"),
        "{}",
        text(&listed)
    );
    let instance = Instance::background(home.path(), &bus, &[]);
    wait_for("two scheduled runs", Duration::from_secs(60), || {
        scheduled(&home).len() >= 2
    });
    for run in scheduled(&home) {
        assert_eq!(run["items"][0]["key"]["item"], "alpha");
        assert_eq!(run["items"][0]["status"], "succeeded", "{run}");
    }
    let next = bus
        .call(
            "org.freedesktop.DBus.Properties.Get",
            &["io.github.synccenter.SyncCenter1", "NextRuns"],
        )
        .unwrap();
    assert!(next.contains("ext:journal/alpha"), "{next}");
    // Pausing stops the runs; resuming brings them back.
    bus.call("io.github.synccenter.SyncCenter1.PauseSchedules", &["0"])
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let paused_at = scheduled(&home).len();
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        scheduled(&home).len() <= paused_at + 1,
        "runs went on while paused"
    );
    bus.call("io.github.synccenter.SyncCenter1.ResumeSchedules", &[])
        .unwrap();
    let resumed_at = scheduled(&home).len();
    wait_for("a run after resuming", Duration::from_secs(60), || {
        scheduled(&home).len() > resumed_at
    });
    assert!(instance.quit(&bus).success());
}

#[test]
fn a_due_time_missed_while_stopped_is_made_up_exactly_once_at_start() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    home.write_settings(
        r#"{"schedules":[{"name":"hourly","items":[{"handler":"ext:journal","item":"beta"}],
            "when":{"kind":"every","seconds":3600}}]}"#,
    );
    // The instance last ran three hours ago: three hourly slots were missed.
    let three_hours_ago = now_ms() - 3 * 3600 * 1000;
    std::fs::create_dir_all(home.path().join("data")).unwrap();
    std::fs::write(
        home.path().join("data/schedules-due.json"),
        format!(
            r#"{{"hourly":{{"when":{{"kind":"every","seconds":3600}},"next_due_ms":{three_hours_ago}}}}}"#
        ),
    )
    .unwrap();
    let instance = Instance::background(home.path(), &bus, &[]);
    wait_for("the made-up run", Duration::from_secs(60), || {
        scheduled(&home).len() == 1
    });
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        scheduled(&home).len(),
        1,
        "missed slots were run one by one"
    );
    let due: Value = serde_json::from_slice(
        &std::fs::read(home.path().join("data/schedules-due.json")).unwrap(),
    )
    .unwrap();
    let next = due["hourly"]["next_due_ms"].as_i64().unwrap();
    assert!(
        next > now_ms() + 3500 * 1000,
        "the next run is an hour from now: {due}"
    );
    assert!(instance.quit(&bus).success());
    // Started again before the hour is up: nothing is due, nothing runs.
    let again = Instance::background(home.path(), &bus, &[]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(scheduled(&home).len(), 1);
    drop(again);
}

#[test]
fn a_scheduled_run_never_shows_a_dialog_and_the_item_says_why_it_did_not_sync() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    home.write_settings(
        r#"{"schedules":[{"name":"nightly","items":[{"handler":"ext:journal","item":"logon"}],
            "when":{"kind":"daily","hour":3,"minute":0}}]}"#,
    );
    std::fs::create_dir_all(home.path().join("data")).unwrap();
    std::fs::write(
        home.path().join("data/schedules-due.json"),
        r#"{"nightly":{"when":{"kind":"daily","hour":3,"minute":0},"next_due_ms":0}}"#,
    )
    .unwrap();
    let mut instance = Instance::background(home.path(), &bus, &[]);
    wait_for("the scheduled run", Duration::from_secs(60), || {
        scheduled(&home).len() == 1
    });
    let run = &scheduled(&home)[0];
    assert_eq!(run["items"][0]["status"], "failed", "{run}");
    let reason = run["items"][0]["text"].as_str().unwrap();
    assert!(reason.contains("Needs your logon"), "{run}");
    // The handler was told it may not ask, and no window was opened for a dialog.
    let told: Vec<Value> = home
        .journal("initialize")
        .into_iter()
        .filter(|e| e["reason"]["kind"] == "scheduled")
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["may_bother_user"], false);
    assert!(instance.child.try_wait().unwrap().is_none());
    let status = instance.quit(&bus);
    assert!(status.success());
}
