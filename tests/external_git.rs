//! The Python git example handler, driven by the engine against real repositories: a bare
//! "remote" and clones that are behind, ahead, diverged, or behind a password.

mod external_support;

use external_support::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use synccenter::core::dialog::{FieldValue, FormReply};
use synccenter::core::engine::SessionRequest;
use synccenter::core::model::{ItemKey, RunReason};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.org",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(repo: &Path, file: &str, text: &str) {
    std::fs::write(repo.join(file), text).unwrap();
    git(repo, &["add", file]);
    git(repo, &["commit", "-qm", &format!("{file}: {text}")]);
}

/// A bare remote with one commit on main, in `root`.
fn remote(root: &Path) -> PathBuf {
    let bare = root.join("remote.git");
    git(
        root,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let seed = root.join("seed");
    git(
        root,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            seed.to_str().unwrap(),
        ],
    );
    commit(&seed, "README", "hello");
    git(&seed, &["push", "-q", "origin", "HEAD:main"]);
    bare
}

fn clone(url: &str, to: &Path) {
    git(
        to.parent().unwrap(),
        &["clone", "-q", url, to.to_str().unwrap()],
    );
}

fn handler_manifest(config: &Path) -> String {
    format!(
        "name = \"Git\"\nprogram = {:?}\nargs = [\"--config\", {:?}]\nicon = \"git\"\n",
        example("git-sync-handler/git_sync_handler.py").to_string_lossy(),
        config.to_string_lossy()
    )
}

fn write_config(path: &Path, repos: &[&Path]) {
    let entries: Vec<serde_json::Value> = repos
        .iter()
        .map(|p| serde_json::json!({"path": p, "remote": "origin", "branch": "main"}))
        .collect();
    std::fs::write(
        path,
        serde_json::json!({"repositories": entries}).to_string(),
    )
    .unwrap();
}

#[test]
fn repositories_are_fetched_fast_forwarded_and_pushed() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    let bare = remote(&root);
    let url = bare.to_str().unwrap();
    let (behind, ahead, diverged, writer) = (
        root.join("behind"),
        root.join("ahead"),
        root.join("diverged"),
        root.join("writer"),
    );
    for clone_dir in [&behind, &diverged, &writer] {
        clone(url, clone_dir);
    }
    commit(&writer, "news", "from the writer");
    git(&writer, &["push", "-q", "origin", "HEAD:main"]);
    clone(url, &ahead);
    commit(&ahead, "local", "from ahead");
    commit(&diverged, "other", "diverging");
    let config = dir.path().join("repos.json");
    write_config(&config, &[&behind, &ahead, &diverged]);

    let git_handler = provider(dir.path(), "git-sync", &handler_manifest(&config));
    let healthy = provider(
        dir.path(),
        "healthy",
        &rust_manifest("Healthy", &["--steps", "3"], ""),
    );
    let center = center(dir, vec![git_handler, healthy], never_answer);
    let listing = center.engine.list_now();
    let names: Vec<&str> = listing[0].items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["behind", "ahead", "diverged"]);
    assert_eq!(listing[0].info.name, "Git repositories");

    let record = center.sync(&[
        ("ext:git-sync", "behind"),
        ("ext:git-sync", "ahead"),
        ("ext:git-sync", "diverged"),
        ("ext:healthy", "alpha"),
    ]);
    let log = log_text(&record);
    let (status, text) = outcome(&record, "ext:git-sync", "behind");
    assert_eq!(status, "Succeeded", "{log}");
    assert!(text.starts_with("Up to date at "), "{text}");
    assert_eq!(
        std::fs::read_to_string(behind.join("news")).unwrap(),
        "from the writer"
    );
    assert_eq!(
        outcome(&record, "ext:git-sync", "ahead").0,
        "Succeeded",
        "{log}"
    );
    assert!(git(&bare, &["log", "--format=%s", "main"]).contains("local: from ahead"));
    let (status, text) = outcome(&record, "ext:git-sync", "diverged");
    assert_eq!(status, "Failed");
    assert!(
        text.starts_with("cannot fast-forward main: it has diverged from origin"),
        "{text}"
    );
    assert!(
        log.contains("[error] diverged: cannot fast-forward main"),
        "{log}"
    );
    assert_eq!(outcome(&record, "ext:healthy", "alpha").0, "Succeeded");
    drop(center);
    assert_no_children();
}

#[test]
fn properties_edit_a_repository_and_add_one_through_forms() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    let bare = remote(&root);
    let first = root.join("first");
    clone(bare.to_str().unwrap(), &first);
    let config = dir.path().join("repos.json");
    write_config(&config, &[&first]);
    let added = root.join("second");
    let added_path = added.to_string_lossy().into_owned();
    let git_handler = provider(dir.path(), "git-sync", &handler_manifest(&config));
    let center = center(dir, vec![git_handler], move |request| {
        let mut values = request.form.initial_values();
        match request.form.title.as_str() {
            "Repository first" => {
                assert_eq!(values["remote"], FieldValue::Text("origin".into()));
                values.insert("remote".into(), FieldValue::Text("upstream".into()));
            }
            "Add a git repository" => {
                values.insert("path".into(), FieldValue::Text(added_path.clone()));
            }
            other => panic!("unexpected form {other}"),
        }
        FormReply::Submitted {
            button: "ok".into(),
            values,
        }
    });
    let handler = synccenter::core::model::HandlerId::new("ext:git-sync");
    let wait_for_config = |needle: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&config).unwrap();
            if text.contains(needle) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{needle} never saved: {text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    use synccenter::core::model::{ItemId, PropertiesTarget};
    center
        .engine
        .show_properties(&handler, PropertiesTarget::Item(ItemId::new("first")));
    wait_for_config("upstream");
    center
        .engine
        .show_properties(&handler, PropertiesTarget::Handler);
    wait_for_config(&added.to_string_lossy());
    let listing = center.engine.list_now();
    let ids: Vec<&str> = listing[0].items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["first", "second"]);
    drop(center);
    assert_no_children();
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `root` over HTTP with Basic auth; returns the server and its port.
fn http_server(root: &Path, user: &str, password: &str) -> (Server, u16) {
    let mut child = Command::new(fixture("git_http_server.py"))
        .args([root.to_str().unwrap(), user, password])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the git http server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server's port");
    (Server(child), port)
}

#[test]
fn a_remote_behind_a_password_gets_it_from_a_logon_form_and_it_is_not_kept() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    remote(&root);
    let (server, port) = http_server(&root, "ann", "s3cret-pass");
    let url = format!("http://127.0.0.1:{port}/remote.git");
    let local = root.join("local");
    {
        // Cloned with the credentials in the URL once, then the URL is made plain.
        let authed = format!("http://ann:s3cret-pass@127.0.0.1:{port}/remote.git");
        clone(&authed, &local);
        git(&local, &["remote", "set-url", "origin", &url]);
    }
    commit(&local, "todo", "write tests");
    let config = dir.path().join("repos.json");
    write_config(&config, &[&local]);

    let forms = Arc::new(AtomicUsize::new(0));
    let seen = forms.clone();
    let git_handler = provider(dir.path(), "git-sync", &handler_manifest(&config));
    let center = center(dir, vec![git_handler], move |request| {
        let attempt = seen.fetch_add(1, Ordering::SeqCst);
        assert!(
            request
                .form
                .title
                .starts_with("Log on to http://127.0.0.1:"),
            "{}",
            request.form.title
        );
        let mut values = request.form.initial_values();
        values.insert("user".into(), FieldValue::Text("ann".into()));
        let password = if attempt == 0 { "guess" } else { "s3cret-pass" };
        values.insert("password".into(), FieldValue::Text(password.into()));
        FormReply::Submitted {
            button: "ok".into(),
            values,
        }
    });

    // A run that may not ask fails the item, saying why.
    let quiet = center
        .engine
        .start(SessionRequest {
            reason: RunReason::Scheduled,
            may_bother_user: false,
            items: vec![ItemKey::new("ext:git-sync", "local")],
        })
        .unwrap()
        .wait(std::time::Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        outcome(&quiet, "ext:git-sync", "local"),
        (
            "Failed".into(),
            "Needs a user name and password, and this run may not ask for them.".into()
        )
    );
    assert_eq!(forms.load(Ordering::SeqCst), 0);

    let record = center.sync(&[("ext:git-sync", "local")]);
    assert_eq!(
        outcome(&record, "ext:git-sync", "local").0,
        "Succeeded",
        "{}",
        log_text(&record)
    );
    assert_eq!(
        forms.load(Ordering::SeqCst),
        2,
        "a refused password asks again"
    );
    let remote_log = git(&root.join("remote.git"), &["log", "--format=%s", "main"]);
    assert!(remote_log.contains("todo: write tests"), "{remote_log}");
    let home = center.dir.path().to_path_buf();
    drop(center);
    drop(server);
    assert_no_children();
    let mut stack = vec![home];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path()),
            );
        } else if let Ok(bytes) = std::fs::read(&path) {
            let found = bytes.windows(11).any(|w| w == b"s3cret-pass");
            let is_remote_object = path.components().any(|c| c.as_os_str() == "objects");
            assert!(
                !found || is_remote_object,
                "the password was written to {}",
                path.display()
            );
        }
    }
}
