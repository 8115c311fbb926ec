//! The command line end to end: the real binary, the demo handler, a temporary home.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn synccenter(home: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_synccenter"));
    command
        .arg("--home")
        .arg(home)
        .arg("--demo")
        .args(args)
        .env("SYNCCENTER_DEMO_STEP_MS", "1")
        .env_remove("SYNCCENTER_HOME")
        .stdin(Stdio::null());
    command
}

fn run(home: &std::path::Path, args: &[&str]) -> Output {
    synccenter(home, args).output().expect("the binary runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn items_json_lists_the_demo_items_checked_and_never_synced() {
    let home = tempfile::tempdir().unwrap();
    let output = run(home.path(), &["items", "--json"]);
    assert_eq!(code(&output), 0);
    let items = json(&output);
    let ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["contacts", "calendar", "photos", "mail"]);
    for item in items.as_array().unwrap() {
        assert_eq!(item["handler"], "demo");
        assert_eq!(item["checked"], true);
        assert!(item["last_synced"].is_null());
    }
}

#[test]
fn sync_exit_codes_follow_the_outcome() {
    let home = tempfile::tempdir().unwrap();
    // Everything named succeeds: 0.
    let ok = run(
        home.path(),
        &["sync", "contacts", "demo/photos", "--no-prompt"],
    );
    assert_eq!(code(&ok), 0, "{}", String::from_utf8_lossy(&ok.stderr));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.contains("Contacts: Succeeded"), "{stdout}");
    // Calendar succeeds, but with an error logged ("2 events were not uploaded"): 1.
    let logged = run(home.path(), &["sync", "calendar", "--no-prompt"]);
    assert_eq!(
        code(&logged),
        1,
        "{}",
        String::from_utf8_lossy(&logged.stderr)
    );
    // Mail needs a password; a no-prompt run may not ask: it fails, 2.
    let failed = run(home.path(), &["sync", "--all", "--no-prompt"]);
    assert_eq!(code(&failed), 2);
    assert!(String::from_utf8_lossy(&failed.stdout).contains("Mail (ann@example.org): Failed"));
    // Unknown item, bad argument: nothing ran, 3, and the reason on stderr.
    let unknown = run(home.path(), &["sync", "nonesuch"]);
    assert_eq!(code(&unknown), 3);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no item \"nonesuch\""));
    assert_eq!(code(&run(home.path(), &["sync", "--frobnicate"])), 3);
}

#[test]
fn sync_without_items_runs_the_checked_ones() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(
        code(&run(
            home.path(),
            &["check", "--off", "mail", "calendar", "photos"]
        )),
        0
    );
    let output = run(home.path(), &["sync", "--no-prompt"]);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Contacts: Succeeded") && !stdout.contains("Mail"),
        "{stdout}"
    );
    assert_eq!(code(&run(home.path(), &["check", "--off", "contacts"])), 0);
    let nothing = run(home.path(), &["sync", "--no-prompt"]);
    assert_eq!(code(&nothing), 3, "no checked items: nothing could run");
}

#[test]
fn results_json_keeps_every_run_newest_first() {
    let home = tempfile::tempdir().unwrap();
    assert_eq!(
        code(&run(home.path(), &["sync", "contacts", "--no-prompt"])),
        0
    );
    // Calendar succeeds but logs an error: 1.
    assert_eq!(
        code(&run(home.path(), &["sync", "calendar", "--no-prompt"])),
        1
    );
    let output = run(home.path(), &["results", "--json"]);
    assert_eq!(code(&output), 0);
    let sessions = json(&output);
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(
        sessions[0]["items"][0]["key"]["item"], "calendar",
        "newest first"
    );
    assert_eq!(sessions[1]["items"][0]["status"], "succeeded");
    let log = sessions[0]["log"].as_array().unwrap();
    assert!(
        log.iter()
            .any(|l| l["level"] == "error" && l["actionable"] == true)
    );
    // The items remember when they last synced.
    let items = json(&run(home.path(), &["items", "--json"]));
    let contacts = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "contacts")
        .unwrap()
        .clone();
    assert!(contacts["last_synced"].as_str().unwrap().ends_with('Z'));
    assert_eq!(contacts["last_status"], "succeeded");
    // People read it in local time, as `results` shows times (here TZ is two hours east).
    let utc =
        chrono::DateTime::parse_from_rfc3339(contacts["last_synced"].as_str().unwrap()).unwrap();
    let here = (utc + chrono::Duration::hours(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let listed = synccenter(home.path(), &["items"])
        .env("TZ", "EET-2")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    let row = listed
        .lines()
        .find(|l| l.contains("contacts"))
        .unwrap_or_default();
    assert!(row.ends_with(&here), "{row} (expected {here})");
}

#[test]
fn ctrl_c_stops_the_run_and_exits_with_1() {
    let home = tempfile::tempdir().unwrap();
    let mut child = synccenter(home.path(), &["sync", "contacts", "photos", "--no-prompt"])
        .env("SYNCCENTER_DEMO_STEP_MS", "300")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Counted from when the center has set up its home, not from the spawn: a loaded
    // machine may take a while to start the process.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !home.path().join("config").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run is still going when Ctrl+C comes"
    );
    // SAFETY: signals our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        code(&output),
        1,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Canceled"));
}

#[test]
fn a_damaged_state_file_is_reported_on_stderr_and_the_command_still_runs() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("config")).unwrap();
    std::fs::write(home.path().join("config/choices.json"), "{oops").unwrap();
    let output = run(home.path(), &["items", "--json"]);
    assert_eq!(code(&output), 0);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("could not read your item choices") && stderr.contains("damaged"),
        "{stderr}"
    );
    assert_eq!(json(&output).as_array().unwrap().len(), 4);
}

#[test]
fn a_reader_that_goes_away_ends_the_listing_quietly() {
    let home = tempfile::tempdir().unwrap();
    for args in [&["items"][..], &["items", "--json"], &["handlers"]] {
        // `synccenter items | head -0`: the reader is gone before the first line is written.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = synccenter(home.path(), args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} ends by itself: {:?} {stderr}",
            output.status
        );
        assert!(stderr.is_empty(), "{args:?} ends quietly: {stderr}");
    }
}

#[test]
fn a_save_that_fails_is_said_and_fails_the_command() {
    let home = tempfile::tempdir().unwrap();
    // As on a full disk: no file of Sync Center's may grow past 0 bytes.
    let mut command = synccenter(home.path(), &["check", "--off", "contacts"]);
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{:?} {stderr}",
        output.status
    );
    assert!(
        stderr.contains("could not save your item choices"),
        "{stderr}"
    );
}

#[test]
fn a_second_ctrl_c_records_the_run_as_it_stands() {
    let home = tempfile::tempdir().unwrap();
    let handlers = home.path().join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    let pidfile = home.path().join("pids");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/external_fixtures/misbehave.py");
    // A handler that does not listen to Stop, with all the time in the world to stop.
    std::fs::write(
        handlers.join("deaf.toml"),
        format!(
            "name = \"Deaf\"\nprogram = {:?}\nargs = [\"ignore_stop\", {:?}]\n[timeouts]\nstop = 300\n",
            fixture.to_string_lossy(),
            pidfile.to_string_lossy()
        ),
    )
    .unwrap();
    let child = synccenter(
        home.path(),
        &["sync", "ext:deaf/one", "contacts", "--no-prompt"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !pidfile.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the handler never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: signals our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        code(&output),
        1,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let runs = json(&run(home.path(), &["results", "--json"]));
    let items = runs[0]["items"].as_array().unwrap();
    let deaf = items.iter().find(|i| i["key"]["item"] == "one").unwrap();
    assert_eq!(deaf["status"], "canceled");
    assert_eq!(deaf["text"], "Stopped when Sync Center closed.");
    let contacts = items
        .iter()
        .find(|i| i["key"]["item"] == "contacts")
        .unwrap();
    assert!(
        contacts["status"] == "succeeded" || contacts["status"] == "canceled",
        "{contacts}"
    );
}
