//! Crash safety of remote pairs: the real binary (`synccenter sync p --no-prompt`, its right
//! side a folder on `rclone serve webdav` on loopback) is SIGKILLed at many points while it
//! syncs. After every kill: its `rclone rcd` is gone too (nothing goes on uploading behind
//! a dead center), and no file on either side holds contents it never had (an upload in
//! flight is only ever under a temp name, or in a temp folder in the center's folder). Runs allowed to finish converge with every
//! change made, nothing lost, no conflict made of a killed run's copies, and no temp file
//! left on either side.
//!
//! Files go up 4 at a time, so a kill often cuts several uploads at once: the test counts the
//! temp files a kill left on the server, and insists some kill cut more than one.
//!
//! The left edits even-numbered files and the remote (through the server, as another
//! computer would) odd-numbered ones, so no change is a conflict and every file has one
//! expected final state.

mod folders_common;
mod remote_common;

use folders_common::{Rng, tree, write};
use remote_common::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Files in the first sync, and kills of it.
const FIRST_FILES: usize = 240;
const FIRST_KILLS: usize = 12;
/// Trials of changes on both sides, each with one kill (every 10th runs to the end).
const TRIALS: usize = 40;
/// Files in play in the trials.
const FILES: usize = 300;

/// Contents of a file, some large (an upload then takes a while).
fn contents(tag: &str, i: usize) -> String {
    let size = if i.is_multiple_of(25) {
        600_000
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
    format!("d{}/e{}/f{i}.txt", i % 5, i % 3)
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: the comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            found.push(child);
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

/// Starts a sync and SIGKILLs it after `delay`; whether it was still running then. Its
/// rclone must end with it.
fn kill_after(c: &RemoteCli, delay: Duration) -> bool {
    let started = Instant::now();
    kill_when(c, || started.elapsed() >= delay)
}

/// Kills a run once `ready` says so (or it ended by itself); whether it was still running.
fn kill_when(c: &RemoteCli, mut ready: impl FnMut() -> bool) -> bool {
    let mut child = c
        .command()
        .args(["sync", "p", "--no-prompt"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !ready() && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let rclones = children_of(child.id());
    let running = child.try_wait().unwrap().is_none();
    if running {
        child.kill().unwrap();
    }
    child.wait().unwrap();
    for pid in rclones {
        wait_until("the killed center's rclone to end", || !alive(pid));
    }
    running
}

fn finish(c: &RemoteCli) -> Duration {
    let started = Instant::now();
    let (code, printed) = c.sync();
    assert_eq!(
        code, 0,
        "a run allowed to finish failed, or found conflicts: {printed}"
    );
    started.elapsed()
}

/// A temp file, or a file in a temp folder (new files go up together into one in
/// `.synccenter`, then are moved into place).
fn is_temp(path: &[u8]) -> bool {
    String::from_utf8_lossy(path)
        .split('/')
        .any(|name| name.starts_with(".synccenter-tmp-"))
}

/// Uploads a killed run left on the server (under temp names, removed by the next run).
fn temps_on_server(c: &RemoteCli) -> usize {
    let mut found = 0;
    let mut dirs = vec![c.right.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push(entry.path());
            } else if is_temp(entry.path().as_os_str().as_bytes()) {
                found += 1;
            }
        }
    }
    found
}

/// Every regular file on either side holds contents it was given at some point.
fn assert_nothing_torn(c: &RemoteCli, history: &HashMap<String, HashSet<String>>, when: &str) {
    for root in [&c.left, &c.right] {
        for (path, what) in tree(root) {
            let Some(text) = what.strip_prefix("file:") else {
                continue;
            };
            // A killed run's temp file: never under a final name, removed by the next run.
            if is_temp(&path) {
                continue;
            }
            let path = String::from_utf8(path).unwrap();
            assert!(
                history.get(&path).is_some_and(|h| h.contains(text)),
                "{when}: {path} in {} holds contents it never had",
                root.display()
            );
        }
    }
}

/// Both sides hold exactly the expected files (path → contents; `None`: deleted), and no
/// temp file is left.
fn assert_converged(c: &RemoteCli, expected: &BTreeMap<String, Option<String>>) {
    let (left, right) = (tree(&c.left), tree(&c.right));
    for side in [&left, &right] {
        let temps: Vec<_> = side.keys().filter(|p| is_temp(p)).collect();
        assert!(temps.is_empty(), "temp files left: {temps:?}");
    }
    assert_eq!(
        temps_on_server(c),
        0,
        "temp files left in the remote's .synccenter"
    );
    assert!(left == right, "the sides differ after a finished run");
    for (path, want) in expected {
        let there = std::fs::read_to_string(c.l(path)).ok();
        assert_eq!(&there, want, "{path}");
    }
}

#[test]
fn remote_syncs_killed_at_many_points_lose_nothing_and_the_next_sync_converges() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    let mut history: HashMap<String, HashSet<String>> = HashMap::new();
    let mut expected: BTreeMap<String, Option<String>> = BTreeMap::new();
    for i in 0..FIRST_FILES {
        let text = contents("orig", i);
        write(&c.l(&rel(i)), &text);
        history.entry(rel(i)).or_default().insert(text.clone());
        expected.insert(rel(i), Some(text));
    }
    // How long a whole first sync takes, on a copy of the pair.
    let probe = RemoteCli::webdav("two-way", &rclone_current());
    for i in 0..FIRST_FILES {
        write(&probe.l(&rel(i)), &contents("orig", i));
    }
    let full_run = finish(&probe);
    drop(probe);

    let mut rng = Rng(11);
    let mut killed = 0;
    let mut cut_at_once = 0;
    for k in 0..FIRST_KILLS {
        // Spread over what is left of the work: each run resumes what the killed ones left.
        let left = 1.0 - k as f64 / FIRST_KILLS as f64;
        let delay = full_run.mul_f64(left * rng.below(1000) as f64 / 1000.0);
        killed += usize::from(kill_after(&c, delay));
        cut_at_once = cut_at_once.max(temps_on_server(&c));
        assert_nothing_torn(&c, &history, &format!("first sync, kill {k}"));
    }
    let mut typical = finish(&c);
    assert_converged(&c, &expected);

    // The remote's own mtimes are when a file was written, to the second: each edit made
    // through the server gets one of its own, as edits made seconds apart would.
    let mut mtime = 1_600_000_000;
    for trial in 0..TRIALS {
        for _ in 0..16 {
            let i = rng.below(FILES);
            let side = i % 2;
            let text = (rng.below(6) != 0).then(|| contents(&format!("t{trial}s{side}"), i));
            match (&text, side) {
                (Some(text), 0) => write(&c.l(&rel(i)), text),
                (Some(text), _) => {
                    mtime += 1;
                    c.dav().put(&rel(i), text.as_bytes(), Some(mtime));
                }
                (None, 0) => {
                    let _ = std::fs::remove_file(c.l(&rel(i)));
                }
                (None, _) => {
                    if c.r(&rel(i)).exists() {
                        c.dav().delete(&rel(i));
                    }
                }
            }
            if let Some(text) = &text {
                history.entry(rel(i)).or_default().insert(text.clone());
            }
            expected.insert(rel(i), text);
        }
        if trial % 10 == 9 {
            typical = finish(&c);
            assert_converged(&c, &expected);
            continue;
        }
        let delay = typical.mul_f64(rng.below(1000) as f64 / 1000.0);
        killed += usize::from(kill_after(&c, delay));
        cut_at_once = cut_at_once.max(temps_on_server(&c));
        assert_nothing_torn(&c, &history, &format!("trial {trial}"));
    }
    finish(&c);
    assert_converged(&c, &expected);

    // Whatever the timing above caught: a kill while several uploads are in flight, as soon
    // as two temp files are on the server.
    for i in 0..8 {
        let path = format!("big/b{i}.bin");
        let text = format!("{i} {}", "big ".repeat(4_000_000));
        write(&c.l(&path), &text);
        history
            .entry(path.clone())
            .or_default()
            .insert(text.clone());
        expected.insert(path, Some(text));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    killed += usize::from(kill_when(&c, || {
        temps_on_server(&c) >= 2 || Instant::now() > deadline
    }));
    cut_at_once = cut_at_once.max(temps_on_server(&c));
    assert_nothing_torn(&c, &history, "a kill with several uploads in flight");
    finish(&c);
    assert_converged(&c, &expected);
    let kill_points = FIRST_KILLS + TRIALS - TRIALS / 10;
    assert!(
        killed >= kill_points / 3,
        "only {killed} of {kill_points} runs were killed mid-way"
    );
    assert!(
        cut_at_once > 1,
        "no kill cut more than one upload (at most {cut_at_once} temp files left by a kill)"
    );
    eprintln!(
        "{killed} of {kill_points} remote runs killed mid-way (first sync {full_run:.1?}), up to {cut_at_once} uploads cut by one kill"
    );
}
