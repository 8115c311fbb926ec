//! Files go to and from a remote several at a time: the real binary syncs many files with a
//! folder on `rclone serve webdav` on loopback while the test watches the transfers in
//! flight (new files go up together into a temp folder on the server, a changed file under a
//! temp name beside it, a download under one in the local folder). rclone's bandwidth limit
//! (`RCLONE_BWLIMIT`, which the center's rcd inherits) keeps each transfer in flight long
//! enough to be seen; no timing is asserted, only that more than one transfer was under way
//! at once and every file landed, and that Ctrl-C during an intake places nothing and leaves
//! no intake folder. A transfer into a folder the server holds locked for a moment (as while
//! another upload makes it) lands once it is free.

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

/// The transfers in flight under `root` now: temp files beside their places, and files
/// still growing in an intake folder (`.synccenter/.synccenter-tmp-…/`: new files go up
/// together into one, then are moved into place).
fn in_flight(root: &Path) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut dirs = vec![(root.to_path_buf(), false)];
    while let Some((dir, in_intake)) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let temp = name.starts_with(".synccenter-tmp-");
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dirs.push((entry.path(), in_intake || temp));
            } else if temp || in_intake && entry.metadata().is_ok_and(|m| (m.len() as usize) < SIZE)
            {
                found.insert(entry.path().display().to_string());
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
                most = most.max(in_flight(watched).len());
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

    // Changed files go up one by one, each under a temp name beside the file it replaces.
    for i in 0..FILES {
        write(
            &c.l(&format!("up/d{}/f{i}.txt", i % 2)),
            &contents("again", i),
        );
    }
    let replaced = sync_watching(&c, &c.right);
    assert!(
        replaced > 1,
        "the changed files went up one at a time (at most {replaced} in flight)"
    );

    for (dir, tag) in [("up", "again"), ("down", "down")] {
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
    eprintln!(
        "at most {uploads} new files, {replaced} changed files and {downloads} downloads in flight"
    );
}

/// Starts `sync p` with transfers slowed to `limit` per second and returns once a file is
/// on its way to the server (a temp file beside its place, or a new file in the intake
/// folder).
fn sync_until_a_transfer_is_under_way(c: &RemoteCli, limit: &str) -> std::process::Child {
    let child = c
        .command()
        .args(["sync", "p", "--no-prompt"])
        .env("RCLONE_BWLIMIT", limit)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the first file to be on its way", || {
        !in_flight(&c.right).is_empty()
    });
    child
}

/// Ctrl-C to a running `sync`: what it printed, once it said the item was canceled.
fn interrupt(child: std::process::Child) -> String {
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(printed.contains("Canceled"), "{printed}");
    printed
}

/// New files go up together into a temp folder and are then moved into place without
/// replacing anything: a file another computer puts at one of their places meanwhile (in a
/// new folder, which then cannot be moved in whole, and at the top) stays as it is, and the
/// next sync finds a conflict that loses neither version.
#[test]
fn files_put_in_place_during_an_intake_are_not_replaced() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    for i in 0..FILES {
        write(&c.l(&format!("new/f{i}.txt")), &contents("mine", i));
    }
    write(&c.l("top.txt"), "mine at the top");
    let child = sync_until_a_transfer_is_under_way(&c, "1M");
    c.dav().put("new/f15.txt", b"theirs", None);
    c.dav().put("top.txt", b"theirs at the top", None);
    let out = child.wait_with_output().unwrap();
    let printed = text(&out);
    let read = |path: &Path| std::fs::read_to_string(path).ok();
    for (rel, theirs) in [("new/f15.txt", "theirs"), ("top.txt", "theirs at the top")] {
        let kept = read(&c.r(rel)).as_deref() == Some(theirs);
        assert!(kept, "{rel} put there meanwhile was replaced: {printed}");
    }
    for i in 0..15 {
        let rel = format!("new/f{i}.txt");
        let arrived = read(&c.r(&rel)) == Some(contents("mine", i));
        assert!(arrived, "{rel} did not arrive: {printed}");
    }

    // Both sides made the file: a conflict, which keeps each side's version.
    let (_, printed) = c.sync();
    let texts: HashSet<String> = [tree(&c.left), tree(&c.right)]
        .into_iter()
        .flat_map(|side| side.into_values())
        .filter_map(|what| what.strip_prefix("file:").map(str::to_string))
        .collect();
    for text in [
        contents("mine", 15),
        "theirs".into(),
        "mine at the top".into(),
        "theirs at the top".into(),
    ] {
        assert!(texts.contains(&text), "{text:.20} is lost: {printed}");
    }
}

#[test]
fn ctrl_c_during_an_intake_places_nothing_and_the_next_sync_brings_everything() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    for i in 0..FILES {
        write(&c.l(&format!("new/f{i}.txt")), &contents("mine", i));
    }
    let child = sync_until_a_transfer_is_under_way(&c, "1M");
    interrupt(child);
    // Stopped while the files were copied: none was moved into place, and the intake
    // folder is gone.
    let placed: Vec<String> = tree(&c.right)
        .into_keys()
        .map(|path| String::from_utf8_lossy(&path).into_owned())
        .filter(|path| !path.starts_with(".synccenter"))
        .filter(|path| path.ends_with(".txt"))
        .collect();
    assert!(placed.is_empty(), "placed after Ctrl-C: {placed:?}");
    assert!(in_flight(&c.right).is_empty(), "the intake folder is left");

    let (code, printed) = c.sync();
    assert_eq!(code, 0, "{printed}");
    for i in 0..FILES {
        let rel = format!("new/f{i}.txt");
        let arrived = std::fs::read_to_string(c.r(&rel)).ok() == Some(contents("mine", i));
        assert!(arrived, "{rel} did not arrive: {printed}");
    }
}

/// Version `tag` of large file `i`: large enough to go up as a job of its own (which a stop
/// cuts short, and whose bytes a lost server stops moving).
fn big(tag: u8, i: usize) -> Vec<u8> {
    (0..5_000_000u32)
        .map(|k| (k % 251) as u8 ^ tag ^ i as u8)
        .collect()
}

/// Four large files synced, then changed (version 2) on the left.
fn large_files_synced_then_changed(c: &RemoteCli) {
    for i in 0..4 {
        std::fs::write(c.l(&format!("f{i}.bin")), big(1, i)).unwrap();
    }
    let (code, printed) = c.sync();
    assert_eq!(code, 0, "{printed}");
    for i in 0..4 {
        std::fs::write(c.l(&format!("f{i}.bin")), big(2, i)).unwrap();
    }
}

/// Ctrl-C while changed files go up: the uploads cut short are left for the next sync, not
/// reported as failures ("Could not copy f1.bin: stopped"), and the next sync brings them.
#[test]
fn ctrl_c_while_changed_files_go_up_reports_no_failures() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    large_files_synced_then_changed(&c);
    let printed = interrupt(sync_until_a_transfer_is_under_way(&c, "2M"));
    assert!(!printed.contains("Could not"), "{printed}");

    let (code, printed) = c.sync();
    assert_eq!(code, 0, "{printed}");
    for i in 0..4 {
        let arrived = std::fs::read(c.r(&format!("f{i}.bin"))).unwrap() == big(2, i);
        assert!(arrived, "f{i}.bin did not arrive: {printed}");
    }
}

/// A WebDAV server answers `423 Locked` while another upload in flight makes the same
/// folder (many at once on `rclone serve webdav`; Nextcloud while it makes one). A transfer
/// is tried again as `rclone copy` tries it (rclone's low-level retries, backing off), while
/// rcd's other calls give up after two tries so that a dead server fails fast: here the
/// test holds the folder locked for a second, and the job still lands its file instead of
/// failing (and being run again whole, both sides listed once more).
#[test]
fn a_transfer_into_a_folder_locked_for_a_moment_lands() {
    use serde_json::json;
    let rclone = rclone_current();
    let dir = tempfile::tempdir().unwrap();
    let (served, local) = (dir.path().join("served"), dir.path().join("local"));
    std::fs::create_dir_all(&served).unwrap();
    write(&local.join("a.txt"), "hello");
    let server = Server::webdav(&served);
    // (rclone's own pacer: 10 ms between calls, doubling after each failure.)
    let rcd = server.rcd(&rclone, vec![("VENDOR", "other".to_string())]);
    let dav = Dav::new(&server, "");
    dav.mkdirs("tree");
    let token = dav.lock("tree");
    let started = std::time::Instant::now();
    let (copied, took) = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_secs(1));
            dav.unlock("tree", &token);
        });
        let input = json!({
            "srcFs": local.display().to_string(),
            "dstFs": "remote:tree/new",
        });
        let copied = rcd.call_job("sync/copy", input, "locked", &|_| true, &|| Ok(()));
        (copied, started.elapsed())
    });
    assert!(copied.is_ok(), "after {took:?}: {copied:?}");
    let landed = std::fs::read_to_string(served.join("tree/new/a.txt")).unwrap();
    assert_eq!(landed, "hello");
}

/// Waits for a `sync` whose server just stopped: it must end within [`GONE_WITHIN`] and say
/// once that the server could not be reached. Returns what it printed.
fn ends_soon_without_the_server(mut child: std::process::Child) -> String {
    let stopped = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if stopped.elapsed() > GONE_WITHIN {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the sync went on for {GONE_WITHIN:?} after the server stopped: {}",
                text(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(2), "{printed}");
    assert!(
        printed.contains("could not be reached during the sync"),
        "{printed}"
    );
    // Said once for the run, not once for each file it did not get to.
    assert!(!printed.contains("Could not"), "{printed}");
    eprintln!("ended {:?} after the server stopped", stopped.elapsed());
    printed
}

/// How soon a sync ends once its server is gone. rclone alone tries each file again and
/// again behind a pacer that waits up to 2 s between calls: 40 files took more than ten
/// minutes.
const GONE_WITHIN: Duration = Duration::from_secs(45);

/// The server goes away in the middle of a sync (stopped, rebooted, the network gone): the
/// run ends soon with one plain message, keeps what it did, and the next sync, the server
/// back, brings the rest. Both ways files go up are cut: new files in one intake job, and
/// changed large files in a job each.
#[test]
fn a_server_gone_during_a_sync_ends_it_soon_and_the_next_sync_finishes() {
    let mut c = RemoteCli::webdav("two-way", &rclone_current());
    // rclone's pacer as users have it (the tests' remote turns it off): after each failed
    // call it waits twice as long before the next, up to 2 s.
    let section = c
        .server
        .conf_section("remote", &c.rclone, Path::new("/dev/null"));
    std::fs::write(&c.conf, section).unwrap();
    for i in 0..FILES {
        write(&c.l(&format!("new/f{i}.txt")), &contents("new", i));
    }
    let child = sync_until_a_transfer_is_under_way(&c, "1M");
    c.server.stop();
    ends_soon_without_the_server(child);
    c.server.restart();
    let (code, printed) = c.sync();
    assert_eq!(code, 0, "{printed}");
    for i in 0..FILES {
        let rel = format!("new/f{i}.txt");
        let arrived = std::fs::read_to_string(c.r(&rel)).ok() == Some(contents("new", i));
        assert!(arrived, "{rel} did not arrive: {printed}");
    }

    large_files_synced_then_changed(&c);
    let child = sync_until_a_transfer_is_under_way(&c, "2M");
    c.server.stop();
    ends_soon_without_the_server(child);
    c.server.restart();
    let (code, printed) = c.sync();
    assert_eq!(code, 0, "{printed}");
    for i in 0..4 {
        let arrived = std::fs::read(c.r(&format!("f{i}.bin"))).unwrap() == big(2, i);
        assert!(arrived, "f{i}.bin did not arrive: {printed}");
        assert_eq!(std::fs::read(c.l(&format!("f{i}.bin"))).unwrap(), big(2, i));
    }
}
