//! Crash safety: a sync of a few thousand files is SIGKILLed at many points; the next run
//! must finish the job with nothing lost and both sides identical.
//!
//! The killed process is the real binary: `synccenter --home H sync p --no-prompt`.

mod folders_common;

use folders_common::{read, tree, versions, write};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use synccenter::core::store::Home;
use synccenter::handlers::folders::{self, config::Mode, config::PairConfig};

const FILES: usize = 3000;
const KILLS: usize = 12;

fn spawn_child(home: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(home)
        .args(["sync", "p", "--no-prompt"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn sync_to_the_end(home: &Path) -> Duration {
    let start = Instant::now();
    let status = spawn_child(home).wait().unwrap();
    assert!(status.success(), "the run after the crashes failed");
    start.elapsed()
}

struct Setup {
    _dir: tempfile::TempDir,
    home: PathBuf,
    left: PathBuf,
    right: PathBuf,
}

fn setup() -> Setup {
    // A SIGKILL keeps the page cache, so memory-backed folders test the same thing, faster.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let home = dir.path().join("home");
    let (left, right) = (dir.path().join("left"), dir.path().join("right"));
    std::fs::create_dir_all(&left).unwrap();
    std::fs::create_dir_all(&right).unwrap();
    folders::config::add(
        &Home::under(&home),
        PairConfig::new("p", left.clone(), right.clone(), Mode::TwoWay),
    )
    .unwrap();
    Setup {
        _dir: dir,
        home,
        left,
        right,
    }
}

/// Contents of a few thousand files, some large, in nested folders.
fn contents(tag: &str, i: usize) -> String {
    let size = if i.is_multiple_of(100) {
        400_000
    } else {
        10 + (i * 37) % 3000
    };
    let mut text = format!("{tag}-{i}:");
    while text.len() < size {
        text.push_str(&format!("{i} {tag} "));
    }
    text
}

fn rel(i: usize) -> String {
    format!("d{}/e{}/f{i}.txt", i % 10, i % 7)
}

/// Kills runs of the pair at points spread over the first half of a full run (each run
/// resumes what the killed ones left), then lets one run finish.
fn crash_repeatedly(setup: &Setup, full_run: Duration) -> usize {
    let mut killed = 0;
    for k in 0..KILLS {
        let delay = full_run.mul_f64((k as f64 + 0.5) / KILLS as f64 / 2.0);
        let mut child = spawn_child(&setup.home);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    sync_to_the_end(&setup.home);
    killed
}

fn assert_converged(setup: &Setup) {
    let (left, right) = (tree(&setup.left), tree(&setup.right));
    assert_eq!(left.len(), right.len());
    assert!(left == right, "the sides differ after the final run");
    for root in [&setup.left, &setup.right] {
        let mut leftovers = Vec::new();
        find_temp_files(root, &mut leftovers);
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }
}

fn find_temp_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(".synccenter-tmp-")
        {
            out.push(entry.path());
        } else if entry.file_type().unwrap().is_dir() {
            find_temp_files(&entry.path(), out);
        }
    }
}

/// Measures a full run on a throwaway copy of the same shape.
fn full_run_time(fill: impl Fn(&Setup)) -> Duration {
    let probe = setup();
    fill(&probe);
    sync_to_the_end(&probe.home)
}

#[test]
fn a_first_sync_killed_at_many_points_finishes_with_nothing_lost() {
    let fill = |s: &Setup| {
        for i in 0..FILES {
            write(&s.left.join(rel(i)), &contents("orig", i));
        }
    };
    let full_run = full_run_time(fill);
    let setup = setup();
    fill(&setup);
    let killed = crash_repeatedly(&setup, full_run);
    assert!(
        killed >= KILLS / 4,
        "only {killed} runs were killed mid-way"
    );
    assert_converged(&setup);
    for i in (0..FILES).step_by(7) {
        assert_eq!(read(&setup.right.join(rel(i))), contents("orig", i));
    }
}

#[test]
fn changes_on_both_sides_killed_at_many_points_finish_with_nothing_lost() {
    let fill = |s: &Setup| {
        for i in 0..FILES {
            write(&s.left.join(rel(i)), &contents("orig", i));
        }
        sync_to_the_end(&s.home);
        // Left edits a third, right deletes a tenth and adds its own files.
        for i in (0..FILES).step_by(3) {
            write(&s.left.join(rel(i)), &contents("edit", i));
        }
        for i in (1..FILES).step_by(10) {
            std::fs::remove_file(s.right.join(rel(i))).unwrap();
        }
        for i in FILES..FILES + 500 {
            write(&s.right.join(rel(i)), &contents("new", i));
        }
    };
    let full_run = full_run_time(fill);
    let setup = setup();
    fill(&setup);
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    for i in 0..FILES + 500 {
        let want = if i >= FILES {
            Some(contents("new", i))
        } else if i % 3 == 0 {
            Some(contents("edit", i))
        } else if i % 10 == 1 {
            None
        } else {
            Some(contents("orig", i))
        };
        expected.insert(rel(i), want);
    }
    crash_repeatedly(&setup, full_run);
    assert_converged(&setup);
    for (path, want) in &expected {
        for root in [&setup.left, &setup.right] {
            let there = std::fs::read_to_string(root.join(path)).ok();
            // i % 3 == 0 and i % 10 == 1 overlap: a modification beats a deletion.
            assert_eq!(&there, want, "{path} in {}", root.display());
        }
    }
    // Every replaced original is kept as a version on the right.
    let kept = versions(&setup.right);
    let kept: std::collections::HashSet<&String> = kept.iter().collect();
    for i in (0..FILES).step_by(3).filter(|i| i % 10 != 1) {
        assert!(
            kept.contains(&contents("orig", i)),
            "the original of {} was lost",
            rel(i)
        );
    }
}
