//! Crash safety: the real binary (`synccenter --home H sync p --no-prompt`) is SIGKILLed at
//! hundreds of points while it syncs; after every kill no file holds contents it never had,
//! and runs allowed to finish converge with every change made, nothing lost and no temp file
//! left.
//!
//! The left edits even-numbered files and the right odd-numbered ones (so no change is a
//! conflict and every file has one expected final state); each trial changes files on both
//! sides, deletes some and adds some, then kills a run at a random moment of its work.

mod folders_common;

use folders_common::{Rng, tree, write};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use synccenter::core::store::Home;
use synccenter::handlers::folders::{self, config::Mode, config::PairConfig};

/// Files in the first sync, and kills of it.
const FIRST_FILES: usize = 2000;
const FIRST_KILLS: usize = 40;
/// Trials of changes on both sides, each with one kill.
const TRIALS: usize = 170;
/// Files in play in the trials; each trial changes a few dozen.
const FILES: usize = 600;

fn spawn_child(home: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(home)
        .args(["sync", "p", "--no-prompt"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn cli(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn sync_to_the_end(home: &Path) -> Duration {
    let start = Instant::now();
    let out = cli(home, &["sync", "p", "--no-prompt"]);
    assert!(
        out.status.success(),
        "a run allowed to finish failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

/// Lets a run finish; a conflict (there should be none: each side edits its own files) is
/// resolved for the side that owns the file, counted, and the next run must converge.
fn finish_resolving(home: &Path) -> (Duration, usize) {
    let start = Instant::now();
    let out = cli(home, &["sync", "p", "--no-prompt"]);
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) => return (start.elapsed(), 0),
        Some(1) => {}
        _ => panic!("a run allowed to finish failed: {printed}"),
    }
    let listed = cli(home, &["conflicts", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    for row in rows {
        let path = row["path"].as_str().unwrap();
        let n: usize = path
            .rsplit('/')
            .next()
            .and_then(|f| f.strip_prefix('f')?.strip_suffix(".txt")?.parse().ok())
            .unwrap();
        let keep = if n.is_multiple_of(2) { "left" } else { "right" };
        let resolved = cli(home, &["conflicts", "resolve", "p", path, "--keep", keep]);
        assert!(resolved.status.success());
    }
    sync_to_the_end(home);
    (start.elapsed(), rows.len())
}

struct Setup {
    _dir: tempfile::TempDir,
    home: PathBuf,
    roots: [PathBuf; 2],
}

fn setup() -> Setup {
    // A SIGKILL keeps the page cache, so memory-backed folders test the same thing, faster.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let home = dir.path().join("home");
    let roots = [dir.path().join("left"), dir.path().join("right")];
    for root in &roots {
        std::fs::create_dir_all(root).unwrap();
    }
    folders::config::add(
        &Home::under(&home),
        PairConfig::new("p", roots[0].clone(), roots[1].clone(), Mode::TwoWay),
    )
    .unwrap();
    Setup {
        _dir: dir,
        home,
        roots,
    }
}

/// Contents of a file, some large.
fn contents(tag: &str, i: usize) -> String {
    let size = if i.is_multiple_of(50) {
        300_000
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

/// Kills a run after `delay`; whether it was still running then.
fn kill_after(home: &Path, delay: Duration) -> bool {
    let mut child = spawn_child(home);
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    if running {
        child.kill().unwrap();
    }
    child.wait().unwrap();
    running
}

/// Every regular file on either side holds contents it was given at some point.
fn assert_nothing_torn(setup: &Setup, history: &HashMap<String, HashSet<String>>, when: &str) {
    for root in &setup.roots {
        for (path, what) in tree(root) {
            let Some(text) = what.strip_prefix("file:") else {
                continue;
            };
            let path = String::from_utf8(path).unwrap();
            // A killed run's temp file: never under a final name, removed by the next run.
            if path
                .rsplit('/')
                .next()
                .unwrap()
                .starts_with(".synccenter-tmp-")
            {
                continue;
            }
            assert!(
                history.get(&path).is_some_and(|h| h.contains(text)),
                "{when}: {path} in {} holds contents it never had",
                root.display()
            );
        }
    }
}

fn assert_no_temp_files(setup: &Setup) {
    for root in &setup.roots {
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
        } else if entry.file_type().unwrap().is_dir() && entry.file_name() != ".synccenter" {
            find_temp_files(&entry.path(), out);
        }
    }
}

/// Both sides hold exactly the expected files (path → contents; `None`: deleted).
fn assert_converged(setup: &Setup, expected: &BTreeMap<String, Option<String>>) {
    assert_no_temp_files(setup);
    let (left, right) = (tree(&setup.roots[0]), tree(&setup.roots[1]));
    assert!(left == right, "the sides differ after a finished run");
    for (path, want) in expected {
        let there = std::fs::read_to_string(setup.roots[0].join(path)).ok();
        assert_eq!(&there, want, "{path}");
    }
}

#[test]
fn a_first_sync_killed_at_many_points_finishes_with_nothing_lost() {
    let fill = |s: &Setup| {
        for i in 0..FIRST_FILES {
            write(&s.roots[0].join(rel(i)), &contents("orig", i));
        }
    };
    let probe = setup();
    fill(&probe);
    let full_run = sync_to_the_end(&probe.home);
    let setup = setup();
    fill(&setup);
    let history: HashMap<String, HashSet<String>> = (0..FIRST_FILES)
        .map(|i| (rel(i), HashSet::from([contents("orig", i)])))
        .collect();
    let mut rng = Rng(7);
    let mut killed = 0;
    for k in 0..FIRST_KILLS {
        // Spread over what is left of the work: each run resumes what the killed ones left.
        let left = 1.0 - k as f64 / FIRST_KILLS as f64;
        let delay = full_run.mul_f64(left * rng.below(1000) as f64 / 1000.0);
        killed += usize::from(kill_after(&setup.home, delay));
        assert_nothing_torn(&setup, &history, &format!("kill {k}"));
    }
    assert!(
        killed >= FIRST_KILLS / 4,
        "only {killed} runs were killed mid-way"
    );
    sync_to_the_end(&setup.home);
    let expected = (0..FIRST_FILES)
        .map(|i| (rel(i), Some(contents("orig", i))))
        .collect();
    assert_converged(&setup, &expected);
    eprintln!("first sync: {killed} of {FIRST_KILLS} runs killed mid-way");
}

#[test]
fn changes_on_both_sides_killed_at_many_points_finish_with_nothing_lost() {
    let setup = setup();
    let mut history: HashMap<String, HashSet<String>> = HashMap::new();
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    for i in 0..FILES {
        let text = contents("orig", i);
        write(&setup.roots[0].join(rel(i)), &text);
        history.entry(rel(i)).or_default().insert(text.clone());
        expected.insert(rel(i), Some(text));
    }
    sync_to_the_end(&setup.home);
    let mut rng = Rng(42);
    let mut killed = 0;
    let mut typical = Duration::from_millis(300);
    let mut conflicts = 0;
    for trial in 0..TRIALS {
        // The left changes even files, the right odd ones: edits, deletions, new files.
        for _ in 0..30 {
            let i = rng.below(FILES + 200);
            let side = i % 2;
            let path = setup.roots[side].join(rel(i));
            let text = if rng.below(6) == 0 {
                None
            } else {
                Some(contents(&format!("t{trial}s{side}"), i))
            };
            match &text {
                Some(text) => {
                    write(&path, text);
                    history.entry(rel(i)).or_default().insert(text.clone());
                }
                None => {
                    let _ = std::fs::remove_file(&path);
                }
            }
            expected.insert(rel(i), text);
        }
        if trial % 20 == 19 {
            // Now and then a run finishes: everything made so far is on both sides.
            let (took, resolved) = finish_resolving(&setup.home);
            typical = took;
            conflicts += resolved;
            assert_converged(&setup, &expected);
            continue;
        }
        let delay = typical.mul_f64(rng.below(1000) as f64 / 1000.0);
        killed += usize::from(kill_after(&setup.home, delay));
        assert_nothing_torn(&setup, &history, &format!("trial {trial}"));
    }
    conflicts += finish_resolving(&setup.home).1;
    assert_converged(&setup, &expected);
    assert_eq!(
        conflicts, 0,
        "copies of killed runs were taken for the user's changes"
    );
    let kill_points = TRIALS - TRIALS / 20;
    assert!(
        killed >= kill_points / 3,
        "only {killed} of {kill_points} runs were killed mid-way"
    );
    eprintln!(
        "changes: {killed} of {kill_points} runs killed mid-way; {conflicts} conflicts resolved"
    );
}
