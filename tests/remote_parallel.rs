//! Files go to and from a remote several at a time: the real binary syncs many files with a
//! folder on `rclone serve webdav` on loopback while the test watches the temp files of the
//! transfers in flight (an upload lands under a temp name on the server, a download under
//! one in the local folder). rclone's bandwidth limit (`RCLONE_BWLIMIT`, which the center's
//! rcd inherits) keeps each transfer in flight long enough to be seen; no timing is
//! asserted, only that more than one transfer was under way at once and every file landed.

mod folders_common;
mod remote_common;

use folders_common::{tree, write};
use remote_common::*;
use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const FILES: usize = 16;
const SIZE: usize = 200_000;

fn contents(tag: &str, i: usize) -> String {
    let mut text = format!("{tag} {i}:");
    while text.len() < SIZE {
        text.push_str(&format!(" {tag}{i}"));
    }
    text
}

/// The temp files of transfers in flight under `root` now.
fn temps_in(root: &Path) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                if name != ".synccenter" {
                    dirs.push(entry.path());
                }
            } else if name.starts_with(".synccenter-tmp-") {
                found.insert(name);
            }
        }
    }
    found
}

/// Syncs with a bandwidth limit, watching `watched` for temp files; returns the most seen
/// at once.
fn sync_watching(c: &RemoteCli, watched: &Path) -> usize {
    let child = c
        .command()
        .args(["sync", "p", "--no-prompt"])
        .env("RCLONE_BWLIMIT", "1M")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut most = 0;
            while !done.load(Ordering::Relaxed) {
                most = most.max(temps_in(watched).len());
                std::thread::sleep(Duration::from_millis(10));
            }
            most
        });
        let out = child.wait_with_output().unwrap();
        done.store(true, Ordering::Relaxed);
        assert!(out.status.success(), "{}", text(&out));
        watcher.join().unwrap()
    })
}

#[test]
fn uploads_and_downloads_overlap() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    for i in 0..FILES {
        write(&c.l(&format!("up/d{}/f{i}.txt", i % 2)), &contents("up", i));
    }
    let uploads = sync_watching(&c, &c.right);
    assert!(
        uploads > 1,
        "the uploads ran one at a time (at most {uploads} in flight)"
    );

    for i in 0..FILES {
        c.dav().put(
            &format!("down/d{}/f{i}.txt", i % 2),
            contents("down", i).as_bytes(),
            None,
        );
    }
    let downloads = sync_watching(&c, &c.left);
    assert!(
        downloads > 1,
        "the downloads ran one at a time (at most {downloads} in flight)"
    );

    for (dir, tag) in [("up", "up"), ("down", "down")] {
        for i in 0..FILES {
            let rel = format!("{dir}/d{}/f{i}.txt", i % 2);
            for side in [c.l(&rel), c.r(&rel)] {
                assert_eq!(
                    std::fs::read_to_string(&side).ok().as_deref(),
                    Some(contents(tag, i).as_str()),
                    "{}",
                    side.display()
                );
            }
        }
    }
    let temps: Vec<_> = [tree(&c.left), tree(&c.right)]
        .iter()
        .flat_map(|t| t.keys().cloned().collect::<Vec<_>>())
        .filter(|p| String::from_utf8_lossy(p).contains(".synccenter-tmp-"))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");
    eprintln!("at most {uploads} uploads and {downloads} downloads in flight");
}
