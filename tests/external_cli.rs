//! External handlers through the real `synccenter` binary: discovery in `--home`, listing,
//! a sync with `--no-prompt`, and the results.

mod external_support;

use external_support::*;
use std::path::Path;
use std::process::Command;

fn synccenter(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("SYNCCENTER_DEMO")
        .output()
        .expect("run synccenter");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.org"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn the_command_line_lists_and_syncs_an_external_handler() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (bare, seed, clone) = (
        dir.path().join("remote.git"),
        dir.path().join("seed"),
        dir.path().join("clone"),
    );
    git(
        dir.path(),
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            seed.to_str().unwrap(),
        ],
    );
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    std::fs::write(seed.join("hello"), "world").unwrap();
    git(&seed, &["add", "hello"]);
    git(&seed, &["commit", "-qm", "hello"]);
    git(&seed, &["push", "-q", "origin", "HEAD:main"]);
    let config = dir.path().join("repos.json");
    std::fs::write(
        &config,
        format!(
            "{{\"repositories\":[{{\"path\":{:?},\"branch\":\"main\"}}]}}",
            clone
        ),
    )
    .unwrap();

    let home = dir.path().join("home");
    let handlers = home.join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    std::fs::write(
        handlers.join("git-sync.toml"),
        format!(
            "name = \"Git\"\nprogram = {:?}\nargs = [\"--config\", {:?}]\n",
            example("git-sync-handler/git_sync_handler.py").to_string_lossy(),
            config.to_string_lossy()
        ),
    )
    .unwrap();
    std::fs::write(handlers.join("broken.toml"), "name = \"Broken\"\n").unwrap();

    let (ok, out, err) = synccenter(&home, &["handlers", "--json"]);
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    let git_row = rows
        .iter()
        .find(|r| r["id"] == "ext:git-sync")
        .expect("the git handler");
    assert_eq!(git_row["state"], "ok");
    let problem = rows
        .iter()
        .find(|r| r["state"] == "problem")
        .expect("the broken manifest");
    assert!(
        problem["reason"]
            .as_str()
            .unwrap()
            .contains("missing field `program`"),
        "{problem}"
    );

    let (ok, out, err) = synccenter(&home, &["items", "--json"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"clone\""), "{out}");

    let (ok, out, err) = synccenter(&home, &["sync", "ext:git-sync/clone", "--no-prompt"]);
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        std::fs::read_to_string(clone.join("hello")).unwrap(),
        "world"
    );

    let (ok, out, err) = synccenter(&home, &["results", "--json"]);
    assert!(ok, "{err}");
    assert!(out.contains("Up to date at "), "{out}");
    assert_no_children();
}

#[test]
fn a_handler_dies_with_the_center() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let handlers = home.join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    let pidfile = dir.path().join("pids");
    std::fs::write(
        handlers.join("hang.toml"),
        format!(
            "name = \"Hang\"\nprogram = {:?}\nargs = [\"hang\", {:?}]\n",
            fixture("misbehave.py").to_string_lossy(),
            pidfile.to_string_lossy()
        ),
    )
    .unwrap();
    let mut center = Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(&home)
        .args(["sync", "ext:hang/one", "--no-prompt"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pidfile.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the handler never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pids: Vec<u32> = std::fs::read_to_string(&pidfile)
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let (handler, grandchild) = (pids[0], pids[1]);
    assert!(process_exists(handler));
    center.kill().unwrap();
    center.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while process_exists(handler) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The handler's own children are its business; this one is cleaned up by the test.
    unsafe { libc::kill(grandchild as i32, libc::SIGKILL) };
    assert!(
        !process_exists(handler),
        "handler {handler} outlived the center"
    );
}

#[test]
fn handlers_lists_a_missing_program_and_a_broken_manifest_as_problems_named_by_file() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let handlers = home.join("config").join("handlers");
    std::fs::create_dir_all(&handlers).unwrap();
    std::fs::write(
        handlers.join("gone.toml"),
        "name = \"Gone\"\nprogram = \"/nonexistent/handler\"\n",
    )
    .unwrap();
    std::fs::write(
        handlers.join("nowhere.toml"),
        "name = \"Nowhere\"\nprogram = \"no-such-program-in-path\"\n",
    )
    .unwrap();
    std::fs::write(handlers.join("notes.txt.toml"), "name = \"Broken\"\n").unwrap();
    std::fs::write(
        handlers.join("fine.toml"),
        format!("name = \"Fine\"\nprogram = {:?}\n", fixture("paced.py")),
    )
    .unwrap();
    let (ok, out, err) = synccenter(&home, &["handlers", "--json"]);
    assert!(ok, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no row {id}: {rows}"))
            .clone()
    };
    assert_eq!(row("ext:fine")["state"], "ok");
    for (id, words) in [
        ("ext:gone", "its program /nonexistent/handler was not found"),
        (
            "ext:nowhere",
            "its program no-such-program-in-path was not found",
        ),
    ] {
        assert_eq!(row(id)["state"], "problem", "{id}");
        assert_eq!(row(id)["reason"], words, "{id}");
    }
    let broken = row("notes.txt.toml");
    assert_eq!(broken["state"], "problem");
    assert!(
        broken["reason"]
            .as_str()
            .unwrap()
            .contains("missing field `program`")
    );
    let (_, table, _) = synccenter(&home, &["handlers"]);
    assert!(
        table.contains("cannot start: its program /nonexistent/handler was not found"),
        "{table}"
    );
}
