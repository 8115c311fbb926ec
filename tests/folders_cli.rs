//! Folder pairs through the real `synccenter` binary: setup, exit codes, conflicts and the
//! safety rails as a script or a scheduler sees them.

mod dry_run_common;
mod folders_common;

use dry_run_common::{assert_done_as_planned, listed, on_disk};
use folders_common::{read, tree, write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Cli {
    dir: tempfile::TempDir,
    left: PathBuf,
    right: PathBuf,
}

impl Cli {
    fn new(mode: &str) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let (left, right) = (dir.path().join("left"), dir.path().join("right"));
        std::fs::create_dir_all(&left).unwrap();
        std::fs::create_dir_all(&right).unwrap();
        let cli = Cli { dir, left, right };
        let added = cli.run(&[
            "folder",
            "add",
            "p",
            cli.left.to_str().unwrap(),
            cli.right.to_str().unwrap(),
            "--mode",
            mode,
        ]);
        assert!(added.status.success(), "{}", text(&added));
        cli
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_synccenter"))
            .arg("--home")
            .arg(self.dir.path().join("home"))
            .args(args)
            .output()
            .unwrap()
    }

    /// `sync p --no-prompt`: its exit code and what it printed.
    fn sync(&self) -> (i32, String) {
        let out = self.run(&["sync", "p", "--no-prompt"]);
        (out.status.code().unwrap(), text(&out))
    }

    fn l(&self, rel: &str) -> PathBuf {
        self.left.join(rel)
    }
    fn r(&self, rel: &str) -> PathBuf {
        self.right.join(rel)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_pair_syncs_and_conflicts_are_listed_and_resolved() {
    let c = Cli::new("two-way");
    write(&c.l("a.txt"), "base");
    write(&c.r("b.txt"), "from the right");
    assert_eq!(c.sync().0, 0);
    assert_eq!(read(&c.l("b.txt")), "from the right");
    assert_eq!(tree(&c.left), tree(&c.right));

    write(&c.l("a.txt"), "left edit");
    write(&c.r("a.txt"), "right edit!");
    let (code, printed) = c.sync();
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("1 conflict needs you"), "{printed}");
    // Not a plain success: marked and said as the window colours it.
    assert!(
        printed.contains("! p: Succeeded with 1 conflict — "),
        "{printed}"
    );
    let listed = c.run(&["conflicts", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert!(rows.to_string().contains("a.txt"), "{rows}");

    let resolved = c.run(&["conflicts", "resolve", "p", "a.txt", "--keep", "right"]);
    assert!(resolved.status.success(), "{}", text(&resolved));
    // Chosen, not yet applied: said so, not "No conflicts."
    let waiting = text(&c.run(&["conflicts"]));
    assert!(
        waiting.contains("No conflicts left to choose for. 1 resolution you chose takes effect at the next sync of p."),
        "{waiting}"
    );
    assert_eq!(c.sync().0, 0);
    assert_eq!(read(&c.l("a.txt")), "right edit!");
    assert_eq!(tree(&c.left), tree(&c.right));
    assert_eq!(text(&c.run(&["conflicts"])).trim(), "No conflicts.");
}

#[test]
fn a_missing_root_exits_2_and_deletes_nothing() {
    let c = Cli::new("mirror");
    write(&c.r("keep.txt"), "precious");
    std::fs::remove_dir(&c.left).unwrap();
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains(&format!(
            "The left folder {} is missing (is the drive mounted?). Nothing was changed.",
            c.left.display()
        )),
        "{printed}"
    );
    assert_eq!(read(&c.r("keep.txt")), "precious");
}

#[test]
fn mass_deletion_without_prompts_exits_2_and_changes_nothing() {
    let c = Cli::new("two-way");
    for i in 0..30 {
        write(&c.l(&format!("f{i}")), "x");
    }
    assert_eq!(c.sync().0, 0);
    for i in 0..30 {
        std::fs::remove_file(c.l(&format!("f{i}"))).unwrap();
    }
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains("would delete 30 of 30 files in"),
        "{printed}"
    );
    assert!(
        printed.contains("Sync Center stopped to be safe"),
        "{printed}"
    );
    assert_eq!(tree(&c.right).len(), 30);
}

#[test]
fn a_pair_locked_by_a_running_process_exits_2() {
    let c = Cli::new("two-way");
    write(&c.l("a.txt"), "a");
    // Another process holds the lock (util-linux `flock` keeps it until it is killed).
    let lock = c.dir.path().join("home/data/folders/p.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let mut holder = Command::new("flock")
        .arg("--close")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    std::fs::write(&lock, holder.id().to_string()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !is_locked(&lock) {
        assert!(
            std::time::Instant::now() < deadline,
            "flock never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains(&format!(
            "another sync of p is running (pid {})",
            holder.id()
        )),
        "{printed}"
    );
    assert!(!c.r("a.txt").exists());
    holder.kill().unwrap();
    holder.wait().unwrap();
    // The holder is gone, and with it the lock (its pid is still in the file).
    assert_eq!(c.sync().0, 0);
    assert!(Path::new(&c.r("a.txt")).exists());
}

/// Whether some process holds an flock on `file`.
fn is_locked(file: &Path) -> bool {
    !Command::new("flock")
        .args(["--nonblock", "--exclusive"])
        .arg(file)
        .arg("true")
        .status()
        .unwrap()
        .success()
}

/// Makes a folder refuse new entries, even for root (the immutable attribute); false when
/// this file system cannot.
fn make_immutable(dir: &Path, on: bool) -> bool {
    Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(dir)
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn some_files_failing_exits_2_and_the_rest_syncs() {
    let c = Cli::new("two-way");
    write(&c.l("ok.txt"), "fine");
    write(&c.l("locked/x.txt"), "cannot land");
    std::fs::create_dir_all(c.r("locked")).unwrap();
    if !make_immutable(&c.r("locked"), true) {
        eprintln!("skipped: chattr +i is not available here");
        return;
    }
    let (code, printed) = c.sync();
    make_immutable(&c.r("locked"), false);
    assert_eq!(code, 2, "{printed}");
    assert!(printed.contains("1 change could not be made"), "{printed}");
    assert_eq!(read(&c.r("ok.txt")), "fine");
    // Once the folder accepts files again, the next run finishes the job.
    assert_eq!(c.sync().0, 0);
    assert_eq!(read(&c.r("locked/x.txt")), "cannot land");
}

#[test]
fn results_json_lists_what_each_run_changed() {
    let cli = Cli::new("two-way");
    write(&cli.l("Docs/a.txt"), "alpha");
    write(&cli.r("b.txt"), "bravo!");
    assert_eq!(cli.sync().0, 0);
    let out = cli.run(&["results", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = &runs[0]["items"][0];
    assert_eq!(
        item["activity"]["changes"],
        serde_json::json!({"copied": 3}),
        "{item}"
    );
    assert_eq!(item["activity"]["bytes"], 11);
    let mut entries: Vec<(String, String, Option<u64>)> = item["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["change"], "copied");
            (
                e["path"].as_str().unwrap().to_string(),
                e["direction"].as_str().unwrap().to_string(),
                e["size"].as_u64(),
            )
        })
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            ("Docs".into(), "to_right".into(), None),
            ("Docs/a.txt".into(), "to_right".into(), Some(5)),
            ("b.txt".into(), "to_left".into(), Some(6)),
        ]
    );
    assert!(item["started"].as_u64().is_some() && item["ended"].as_u64().is_some());
}

#[test]
fn a_dry_run_lists_what_the_sync_then_does_and_changes_nothing() {
    let c = Cli::new("two-way");
    write(&c.l("same.txt"), "same");
    write(&c.l("gone.txt"), "bye");
    write(&c.l("old.txt"), "moving along");
    write(&c.l("both.txt"), "base");
    write(&c.r("edit.txt"), "v1");
    assert_eq!(c.sync().0, 0);

    write(&c.l("new.txt"), "new on the left");
    write(&c.r("edit.txt"), "v2 from the right");
    std::fs::remove_file(c.l("gone.txt")).unwrap();
    write(&c.l("both.txt"), "left edit");
    write(&c.r("both.txt"), "right edit!");
    std::fs::rename(c.l("old.txt"), c.l("moved.txt")).unwrap();

    let before = on_disk(c.dir.path());
    let shown = c.run(&["sync", "p", "--dry-run"]);
    let printed = text(&shown);
    assert_eq!(shown.status.code(), Some(0), "{printed}");
    for line in [
        "p: 1 to copy, 1 to replace, 1 to delete, 1 to move, 1 conflict · 32 bytes",
        "  ➡ copy     new.txt (15 bytes)",
        "  ⬅ replace  edit.txt (17 bytes)",
        "  ➡ delete   gone.txt",
        "  ➡ move     moved.txt (from old.txt)",
        "  ↔ conflict both.txt",
        "Nothing was changed: this was a preview.",
    ] {
        assert!(printed.lines().any(|l| l == line), "{line:?} in\n{printed}");
    }
    let json = c.run(&["sync", "p", "--dry-run", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let previews: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let plan = &previews[0]["planned"]["plan"]["changes"];
    assert_eq!(on_disk(c.dir.path()), before, "a preview changed something");

    let (code, printed) = c.sync();
    assert_eq!(code, 1, "{printed}");
    assert_done_as_planned(&c.run(&["results", "--json"]).stdout, plan);
    assert_eq!(listed(&plan["entries"]).len(), 5, "{plan}");
}

/// A server address `folder add` does not understand is refused with the reason, never
/// taken for a local folder of that name; a password typed into it is not shown back and
/// is written nowhere.
#[test]
fn an_address_not_understood_is_refused_and_its_password_kept_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let add = |right: &str| {
        Command::new(env!("CARGO_BIN_EXE_synccenter"))
            .arg("--home")
            .arg(dir.path().join("home"))
            .args(["folder", "add", "t", local.to_str().unwrap(), right])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for (right, why) in [
        (
            "http://me@127.0.0.1:8099/b",
            "is a web address: write a WebDAV server as webdav://",
        ),
        (
            "https://me:s3cr3t-word@cloud.example.org/b",
            "is a web address",
        ),
        ("webdav://127.0.0.1:8099/b", "needs a user name"),
        (
            "webdav://me:s3cr3t-word@127.0.0.1:8099/b",
            "had a password in it; leave it out",
        ),
        ("ftp://me@host/b", "neither an absolute folder nor a remote"),
        (
            "gdrive,shared_with_me:Docs",
            "neither an absolute folder nor a remote",
        ),
    ] {
        let out = add(right);
        let said = text(&out);
        // (3: nothing ran.)
        assert_eq!(out.status.code(), Some(3), "{right}: {said}");
        assert!(said.contains(why), "{right}: {said}");
        assert!(!said.contains("s3cr3t-word"), "{right}: {said}");
    }
    let listed = Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(dir.path().join("home"))
        .args(["folder", "list", "--json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
    // (Neither in a file nor in a folder's name.)
    for (path, what) in tree(dir.path()) {
        let path = String::from_utf8_lossy(&path);
        assert!(!path.contains("s3cr3t-word"), "{path}");
        assert!(!what.contains("s3cr3t-word"), "{path} holds the password");
    }
}

/// `folder add` refuses a folder that does not exist (a mistyped path would fail every
/// sync), names it, and makes it when asked to; `folder list` shows which way changes go.
#[test]
fn folder_add_refuses_a_missing_folder_unless_asked_to_make_it() {
    let dir = tempfile::tempdir().unwrap();
    let (missing, right) = (dir.path().join("nope/deeper"), dir.path().join("right"));
    std::fs::create_dir_all(&right).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_synccenter"))
            .arg("--home")
            .arg(dir.path().join("home"))
            .args(args)
            .output()
            .unwrap()
    };
    let (left, right) = (missing.to_str().unwrap(), right.to_str().unwrap());
    let out = run(&["folder", "add", "p", left, right, "--mode", "mirror"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains(&format!(
            "The folder {left} does not exist. Check the path, or add --create to make it."
        )),
        "{said}"
    );
    assert!(!missing.exists());
    assert!(text(&run(&["folder", "list"])).contains("No folder pairs"));

    let out = run(&[
        "folder", "add", "p", left, right, "--mode", "mirror", "--create",
    ]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(&format!("Made the folder {left}.")), "{said}");
    assert!(
        said.contains(&format!("{left} ➡ {right} (mirror)")),
        "{said}"
    );
    assert!(missing.is_dir());
    let listed = text(&run(&["folder", "list"]));
    assert!(listed.contains(&format!("{left} ➡ {right}")), "{listed}");
}
