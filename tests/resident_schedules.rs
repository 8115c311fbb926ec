//! Schedules in a `--background` instance on a real session bus, through the real binary:
//! a short period fires while it runs, a due time missed while it was stopped is made up
//! exactly once, and a scheduled run never shows a dialog.

mod resident_support;

use resident_support::{Bus, Display, Home, Instance, synccenter, text, wait_for};
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn scheduled(home: &Home) -> Vec<Value> {
    home.history()
        .into_iter()
        .filter(|r| r["reason"] == "scheduled")
        .collect()
}

/// Settings with one schedule, `name`, of the journal's `item`, due `when` (its JSON).
fn one_schedule(home: &Home, name: &str, item: &str, when: &str) {
    home.write_settings(&format!(
        r#"{{"schedules":[{{"name":"{name}","items":[{{"handler":"ext:journal","item":"{item}"}}],
            "when":{when}}}]}}"#
    ));
}

/// The due times file as an earlier instance left it (or as it got damaged); its path.
fn write_due_times(home: &Home, contents: &str) -> PathBuf {
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let due = data.join("schedules-due.json");
    std::fs::write(&due, contents).unwrap();
    due
}

/// The due times file's entry for the schedule `name`, due `when`, next at `next_due_ms`.
fn due(name: &str, when: &str, next_due_ms: i64) -> String {
    format!(r#"{{"{name}":{{"when":{when},"next_due_ms":{next_due_ms}}}}}"#)
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

/// `schedule list` gives each schedule its own next run while an instance runs, as it does
/// without one: not the soonest run of its items, which another schedule may set.
#[test]
fn schedule_list_gives_each_schedule_its_own_next_run_while_an_instance_runs() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let in_six_hours = chrono::Local::now() + chrono::Duration::hours(6);
    let at = in_six_hours.format("%H:%M").to_string();
    for args in [
        &[
            "schedule",
            "add",
            "mornings",
            "alpha",
            "--daily",
            at.as_str(),
        ][..],
        &["schedule", "add", "hourly", "alpha", "--every", "1h"][..],
    ] {
        let out = synccenter(home.path(), None).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        // Nothing runs it yet: said how to.
        assert!(
            text(&out).contains("start `synccenter --background`"),
            "{}",
            text(&out)
        );
    }
    let next_of = |name: &str| -> String {
        let out = synccenter(home.path(), Some(&bus))
            .args(["schedule", "list", "--json"])
            .output()
            .unwrap();
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let found = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name);
        found.unwrap()["next_run"].as_str().unwrap().to_string()
    };
    let without_instance = next_of("mornings");
    assert!(without_instance.ends_with(&at), "{without_instance}");
    let instance = Instance::background(home.path(), &bus, &[]);
    wait_for(
        "the instance to plan the schedules",
        Duration::from_secs(30),
        || home.path().join("data/schedules-due.json").exists(),
    );
    assert_eq!(next_of("mornings"), without_instance);
    assert_ne!(next_of("hourly"), without_instance);
    // One added now runs from now on, and says so rather than how to start Sync Center.
    let out = synccenter(home.path(), Some(&bus))
        .args(["schedule", "add", "more", "alpha", "--every", "2h"])
        .output()
        .unwrap();
    assert!(
        text(&out).contains("Sync Center is running, so it runs from now on."),
        "{}",
        text(&out)
    );
    assert!(instance.quit(&bus).success());
}

#[test]
fn a_due_time_missed_while_stopped_is_made_up_exactly_once_at_start() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let hourly = r#"{"kind":"every","seconds":3600}"#;
    one_schedule(&home, "hourly", "beta", hourly);
    // The instance last ran three hours ago: three hourly slots were missed.
    let three_hours_ago = now_ms() - 3 * 3600 * 1000;
    write_due_times(&home, &due("hourly", hourly, three_hours_ago));
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
    let due_times: Value = serde_json::from_slice(
        &std::fs::read(home.path().join("data/schedules-due.json")).unwrap(),
    )
    .unwrap();
    let next = due_times["hourly"]["next_due_ms"].as_i64().unwrap();
    assert!(
        next > now_ms() + 3500 * 1000,
        "the next run is an hour from now: {due_times}"
    );
    assert!(instance.quit(&bus).success());
    // Started again before the hour is up: nothing is due, nothing runs.
    let again = Instance::background(home.path(), &bus, &[]);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(scheduled(&home).len(), 1);
    drop(again);
}

#[test]
fn a_scheduled_run_never_shows_a_dialog_and_the_item_that_needs_a_logon_waits() {
    let display = Display::start();
    let bus = Bus::start();
    let home = Home::new(0.0);
    let nightly = r#"{"kind":"daily","hour":3,"minute":0}"#;
    one_schedule(&home, "nightly", "logon", nightly);
    write_due_times(&home, &due("nightly", nightly, 0));
    let instance = Instance::on_display(home.path(), &bus, &["--background"], &display);
    wait_for("the scheduled run", Duration::from_secs(60), || {
        scheduled(&home).len() == 1
    });
    let run = &scheduled(&home)[0];
    // The item did not fail: it waits for the user, saying why, and the handler's words
    // are kept.
    let logon = &run["items"][0];
    assert_eq!(logon["status"], "waiting", "{run}");
    assert_eq!(logon["could_not_ask"], true, "{run}");
    assert!(
        logon["text"].as_str().unwrap().contains("Needs your logon"),
        "{run}"
    );
    // The handler was told it may not ask, and no window was opened for a dialog.
    let told: Vec<Value> = home.initialized("scheduled");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["may_bother_user"], false);
    std::thread::sleep(Duration::from_secs(3));
    assert!(display.windows("Sync Center").is_empty(), "a window opened");
    let results = synccenter(home.path(), None)
        .arg("results")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&results.stdout).contains("Waiting"),
        "{}",
        text(&results)
    );
    assert!(instance.quit(&bus).success());
}

#[test]
fn an_unusable_schedule_never_runs_and_says_why() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    let never = r#"{"kind":"every","seconds":0}"#;
    one_schedule(&home, "broken", "alpha", never);
    write_due_times(&home, &due("broken", never, 0));
    let mut instance = Instance::background(home.path(), &bus, &[]);
    wait_for("the notice", Duration::from_secs(60), || {
        instance.stderr().contains("not usable")
    });
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(scheduled(&home).len(), 0, "an unusable schedule ran");
    let (status, stderr) = instance.quit_saying(&bus);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("\"broken\""), "{stderr}");
    // The file is left as the user wrote it, to be fixed.
    let kept = std::fs::read_to_string(home.path().join("config/resident.json")).unwrap();
    assert!(kept.contains("\"broken\""), "{kept}");
}

#[test]
fn a_damaged_due_times_file_is_moved_aside_and_written_again() {
    let bus = Bus::start();
    let home = Home::new(0.0);
    one_schedule(&home, "often", "alpha", r#"{"kind":"every","seconds":2}"#);
    let due = write_due_times(&home, "{ damaged");
    let instance = Instance::background(home.path(), &bus, &[]);
    wait_for("a scheduled run", Duration::from_secs(60), || {
        !scheduled(&home).is_empty()
    });
    wait_for("the due times saved", Duration::from_secs(60), || {
        std::fs::read(&due)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| v["often"]["next_due_ms"].is_i64())
    });
    let aside: Vec<_> = std::fs::read_dir(home.path().join("data"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("schedules-due.json.damaged-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file was not kept aside");
    assert!(instance.quit(&bus).success());
}
