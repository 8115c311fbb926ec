//! Folder pairs whose right side is a remote, through the real `synccenter` binary
//! (`folder add p LEFT remote:data`, `sync p --no-prompt`) against real rclone servers on
//! loopback: the scenarios of the local pairs (new files both ways, modify, delete,
//! conflicts kept left, right or both, delete against modify, type changes, renames, odd
//! names, a large file, mass deletion, a missing or unreachable remote, mirror and
//! contribute), each over WebDAV and over SFTP (`webdav::NAME`, `sftp::NAME`), the center on
//! the current rclone, with a smoke subset on Debian 12's rclone 1.60 (the servers are 1.60's:
//! remote_common).

mod dry_run_common;
mod remote_common;

use dry_run_common::{Listed, assert_done_as_planned, listed, on_disk};
use remote_common::*;
use std::path::Path;

/// One `#[test]` per scenario per server, named `webdav::SCENARIO` and `sftp::SCENARIO`.
macro_rules! over_both_servers {
    ($($scenario:ident),* $(,)?) => {
        mod webdav {
            $(#[test]
            fn $scenario() {
                super::$scenario(super::Protocol::WebDav)
            })*
        }
        mod sftp {
            $(#[test]
            fn $scenario() {
                super::$scenario(super::Protocol::Sftp)
            })*
        }
    };
}

over_both_servers!(
    new_changed_and_deleted_files_go_both_ways,
    conflicts_are_kept_left_right_or_both,
    a_modification_beats_a_deletion_either_way,
    type_changes_and_renames_go_across,
    odd_names_sync_and_names_the_remote_cannot_hold_are_listed,
    a_large_file_goes_up_and_down_whole,
    mass_deletion_without_prompts_exits_2_and_changes_nothing,
    a_dry_run_lists_what_the_sync_then_does_and_changes_nothing,
    a_missing_or_unreachable_remote_deletes_nothing,
    mirror_makes_the_remote_a_copy_and_contribute_never_deletes_there,
    without_rclone_remote_pairs_fail_saying_how_to_install_and_local_pairs_run,
    folder_list_shows_remote_pairs_with_their_server,
);

/// A pair `p` in `mode` between a local folder and a new server of this kind, on the current
/// rclone.
fn pair(server: Protocol, mode: &str) -> RemoteCli {
    RemoteCli::new(mode, &rclone_current(), server)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn same(c: &RemoteCli) {
    assert_eq!(synced_tree(&c.left), synced_tree(&c.right));
}

/// New, changed and deleted files both ways, and nothing moves on a sync with no change.
fn both_ways(c: &RemoteCli) {
    write(&c.l("a.txt"), "from the left");
    write(&c.l("docs/deep/b.txt"), "deep on the left");
    c.write_remote("r.txt", "from the remote");
    c.write_remote("photos/p1.jpg", "jpeg bytes");
    let printed = c.synced();
    assert!(printed.contains("Synchronized 7 changes"), "{printed}");
    assert_eq!(read(&c.r("a.txt")), "from the left");
    assert_eq!(read(&c.r("docs/deep/b.txt")), "deep on the left");
    assert_eq!(read(&c.l("r.txt")), "from the remote");
    assert_eq!(read(&c.l("photos/p1.jpg")), "jpeg bytes");
    same(c);
    assert!(c.synced().contains("Up to date"));

    // (Another size: a WebDAV server without mtimes of its own stamps files to the second,
    // and a same-size change within the second of the last sync cannot be seen.)
    write(&c.l("a.txt"), "edited on the left, longer");
    c.write_remote("r.txt", "edited on the remote");
    c.synced();
    assert_eq!(read(&c.r("a.txt")), "edited on the left, longer");
    assert_eq!(read(&c.l("r.txt")), "edited on the remote");

    std::fs::remove_file(c.l("docs/deep/b.txt")).unwrap();
    c.delete_remote("photos/p1.jpg");
    c.synced();
    assert!(!c.r("docs/deep/b.txt").exists());
    assert!(!c.l("photos/p1.jpg").exists());
    same(c);
    assert!(c.synced().contains("Up to date"));
}

fn new_changed_and_deleted_files_go_both_ways(server: Protocol) {
    let c = pair(server, "two-way");
    both_ways(&c);
    // What was replaced or deleted on the remote is kept there.
    assert_eq!(
        c.remote_versions(),
        vec!["deep on the left", "from the left"]
    );
    // No temp file is left on either side.
    for tree in [super_tree(&c.left), super_tree(&c.right)] {
        assert!(
            tree.keys().all(|p| !p.contains(".synccenter-tmp-")),
            "{tree:?}"
        );
    }
}

#[test]
fn smoke_on_debian_rclone_1_60() {
    let c = RemoteCli::webdav("two-way", &rclone_old());
    both_ways(&c);
    let c = RemoteCli::sftp("two-way", &rclone_old());
    write(&c.l("a.txt"), "up");
    c.write_remote("b.txt", "down");
    c.synced();
    assert_eq!(read(&c.r("a.txt")), "up");
    assert_eq!(read(&c.l("b.txt")), "down");

    // The same folder from the server's root (`remote:/data`): changed files are read
    // through rcd's web server, which 1.60 answers with a redirect for `[fs]//path`.
    let staging = c.dir.path().join("home/data/folders/p.staging");
    assert!(staging.is_dir(), "a remote pair's staging folder");
    assert!(c.run(&["folder", "remove", "p"]).status.success());
    assert!(
        !staging.exists(),
        "removing the pair removes its staging folder"
    );
    let from_root = c.dir.path().join("from-root");
    std::fs::create_dir_all(&from_root).unwrap();
    let added = c.run(&[
        "folder",
        "add",
        "p",
        from_root.to_str().unwrap(),
        &format!("remote:/{FOLDER}"),
    ]);
    assert!(added.status.success(), "{}", text(&added));
    c.synced();
    assert_eq!(read(&from_root.join("a.txt")), "up");
    write(&from_root.join("a.txt"), "up again, longer");
    c.write_remote("b.txt", "down again, longer");
    c.synced();
    assert_eq!(read(&c.r("a.txt")), "up again, longer");
    assert_eq!(read(&from_root.join("b.txt")), "down again, longer");
}

fn conflicts_are_kept_left_right_or_both(server: Protocol) {
    let c = pair(server, "two-way");
    for name in ["l.txt", "r.txt", "b.txt"] {
        write(&c.l(name), "base");
    }
    c.synced();
    for name in ["l.txt", "r.txt", "b.txt"] {
        write(&c.l(name), "left edit");
        c.write_remote(name, "remote edit!");
    }
    let (code, printed) = c.sync();
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("3 conflicts need you"), "{printed}");
    for (name, keep) in [("l.txt", "left"), ("r.txt", "right"), ("b.txt", "both")] {
        let resolved = c.run(&["conflicts", "resolve", "p", name, "--keep", keep]);
        assert!(resolved.status.success(), "{}", text(&resolved));
    }
    c.synced();
    assert_eq!(read(&c.r("l.txt")), "left edit");
    assert_eq!(read(&c.l("r.txt")), "remote edit!");
    assert_eq!(read(&c.l("b.txt")), "left edit");
    let copies: Vec<String> = synced_tree(&c.left)
        .into_iter()
        .filter(|(p, _)| p.starts_with("b (conflict "))
        .map(|(_, d)| d)
        .collect();
    assert_eq!(copies, vec!["file:remote edit!"]);
    same(&c);
    // The losing versions are kept.
    assert!(c.remote_versions().contains(&"remote edit!".to_string()));
}

fn a_modification_beats_a_deletion_either_way(server: Protocol) {
    let c = pair(server, "two-way");
    write(&c.l("x.txt"), "base x");
    write(&c.l("y.txt"), "base y");
    c.synced();
    std::fs::remove_file(c.l("x.txt")).unwrap();
    c.write_remote("x.txt", "remote keeps x alive");
    write(&c.l("y.txt"), "left keeps y alive");
    c.delete_remote("y.txt");
    c.synced();
    assert_eq!(read(&c.l("x.txt")), "remote keeps x alive");
    assert_eq!(read(&c.r("y.txt")), "left keeps y alive");
    same(&c);
}

fn type_changes_and_renames_go_across(server: Protocol) {
    let c = pair(server, "two-way");
    write(&c.l("thing"), "a file first");
    write(&c.l("folder/inner.txt"), "inside");
    write(&c.l("moved.txt"), "moves around unchanged");
    c.write_remote("remote-moved.txt", "moved on the remote");
    c.synced();
    // The file becomes a folder on the left; a file is renamed on each side.
    std::fs::remove_file(c.l("thing")).unwrap();
    write(&c.l("thing/now-a-folder.txt"), "in the new folder");
    std::fs::rename(c.l("moved.txt"), c.l("folder/renamed.txt")).unwrap();
    c.rename_remote("remote-moved.txt", "renamed-remotely.txt");
    c.synced();
    assert_eq!(read(&c.r("thing/now-a-folder.txt")), "in the new folder");
    assert_eq!(read(&c.r("folder/renamed.txt")), "moves around unchanged");
    assert!(!c.r("moved.txt").exists());
    assert_eq!(read(&c.l("renamed-remotely.txt")), "moved on the remote");
    assert!(!c.l("remote-moved.txt").exists());
    same(&c);
    // And back: the folder becomes a file on the remote.
    c.delete_remote("folder");
    c.write_remote("folder", "a file now");
    c.synced();
    assert_eq!(read(&c.l("folder")), "a file now");
    same(&c);
    // The replaced folder's files are kept on the left.
    assert!(
        super_tree(&c.left.join(".synccenter/versions"))
            .values()
            .any(|d| d == "file:inside")
    );
}

/// Names in (name on the left, the name the server's disk holds): rclone's servers keep
/// every UTF-8 name as it is, over WebDAV and SFTP alike (measured: control characters,
/// leading and trailing spaces, 255-byte names, Windows' reserved names), but for rclone's
/// quote `‛`, which `rclone serve` stores doubled on its disk (its local backend's encoding;
/// it lists it back as one).
const ODD_NAMES: &[(&str, &str)] = &[
    ("with space.txt", "with space.txt"),
    ("ünïcödé 文字.txt", "ünïcödé 文字.txt"),
    ("percent%20sign.txt", "percent%20sign.txt"),
    ("hash#and?question.txt", "hash#and?question.txt"),
    (
        "quote\"s and 'apostrophes'.txt",
        "quote\"s and 'apostrophes'.txt",
    ),
    ("-leading-dash", "-leading-dash"),
    (
        "[brackets] {braces} (parens).txt",
        "[brackets] {braces} (parens).txt",
    ),
    ("semi;colon&amp=eq+plus.txt", "semi;colon&amp=eq+plus.txt"),
    ("trailing.dot.", "trailing.dot."),
    (".hidden", ".hidden"),
    ("back\\slash.txt", "back\\slash.txt"),
    ("colon:star*pipe|lt<gt>.txt", "colon:star*pipe|lt<gt>.txt"),
    (
        " leading and trailing spaces ",
        " leading and trailing spaces ",
    ),
    (
        "bell\x07 tab\t newline\n del\x7f.txt",
        "bell\x07 tab\t newline\n del\x7f.txt",
    ),
    ("symbols ␇ ␡ ␀ ＊ ／.txt", "symbols ␇ ␡ ␀ ＊ ／.txt"),
    ("rclone's quote ‛.txt", "rclone's quote ‛‛.txt"),
];

fn odd_names_sync_and_names_the_remote_cannot_hold_are_listed(server: Protocol) {
    use std::os::unix::ffi::OsStrExt;
    let mut c = pair(server, "two-way");
    let long = "l".repeat(251) + ".txt";
    let names: Vec<(&str, &str)> = ODD_NAMES
        .iter()
        .copied()
        .chain([(long.as_str(), long.as_str())])
        .collect();
    for (i, (name, _)) in names.iter().enumerate() {
        write(&c.l(&format!("odd/{name}")), &format!("odd {i}"));
    }
    c.write_remote("from remote ü#%.txt", "remote odd");
    let bad = c
        .left
        .join(std::ffi::OsStr::from_bytes(b"not-utf8-\xff.txt"));
    std::fs::write(&bad, "bytes").unwrap();
    let (code, printed) = c.sync();
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains(
            "not-utf8-\\xFF.txt: not synced to remote:data: it cannot hold names that are not UTF-8"
        ),
        "{printed}"
    );
    for (i, (name, served)) in names.iter().enumerate() {
        assert_eq!(
            read(&c.r(&format!("odd/{served}"))),
            format!("odd {i}"),
            "{name:?}"
        );
    }
    assert_eq!(read(&c.l("from remote ü#%.txt")), "remote odd");
    let left = synced_tree(&c.left);
    assert!(c.synced().contains("Up to date"));
    // A server that lists its disk afresh (its directory cache gone) lists the same names:
    // nothing is taken for deleted on the remote, nothing comes back under another name.
    c.server.stop();
    c.server.restart();
    let printed = c.synced();
    assert!(printed.contains("Up to date"), "{printed}");
    assert_eq!(synced_tree(&c.left), left);
}

fn a_large_file_goes_up_and_down_whole(server: Protocol) {
    let c = pair(server, "two-way");
    let big: Vec<u8> = (0..24 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(c.l("big.bin"), &big).unwrap();
    c.synced();
    assert!(std::fs::read(c.r("big.bin")).unwrap() == big);
    // Changed remotely (the same size, other bytes): comes back down whole.
    let mut other = big.clone();
    other[12_345_678] ^= 0xff;
    c.put_remote("big.bin", &other, Some(2_000_000_000));
    c.synced();
    assert!(std::fs::read(c.l("big.bin")).unwrap() == other);
}

fn mass_deletion_without_prompts_exits_2_and_changes_nothing(server: Protocol) {
    let c = pair(server, "two-way");
    for i in 0..30 {
        write(&c.l(&format!("f{i}")), "x");
    }
    c.synced();
    for i in 0..30 {
        std::fs::remove_file(c.l(&format!("f{i}"))).unwrap();
    }
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains("would delete 30 of 30 files in remote:data"),
        "{printed}"
    );
    assert_eq!(synced_tree(&c.right).len(), 30);
}

/// `sync p --dry-run` prints `lines` (among others), `--json` gives the plan, and neither
/// changes anything on either side, in the center's state or in the served folder; the
/// sync right after does exactly what was listed.
fn previewed_then_synced(c: &RemoteCli, lines: &[&str], code: i32) -> Listed {
    let before = on_disk(c.dir.path());
    let shown = c.run(&["sync", "p", "--dry-run"]);
    let printed = text(&shown);
    assert_eq!(shown.status.code(), Some(0), "{printed}");
    for line in lines {
        assert!(
            printed.lines().any(|l| l == *line),
            "{line:?} in\n{printed}"
        );
    }
    let json = c.run(&["sync", "p", "--dry-run", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let previews: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let plan = previews[0]["planned"]["plan"]["changes"].clone();
    let after = on_disk(c.dir.path());
    // rclone's SFTP backend notes the server's shell in the user's rclone config on its
    // first connection, as any rclone command does: rclone's own doing.
    let conf = c.dir.path().join("rclone.conf");
    let changed: Vec<_> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p) && **p != conf)
        .collect();
    assert!(
        changed.is_empty(),
        "a preview changed {changed:?}\n{printed}"
    );

    let (done, printed) = c.sync();
    assert_eq!(done, code, "{printed}");
    assert_done_as_planned(&c.run(&["results", "--json"]).stdout, &plan);
    listed(&plan["entries"])
}

fn a_dry_run_lists_what_the_sync_then_does_and_changes_nothing(server: Protocol) {
    let c = pair(server, "two-way");
    // The first sync's preview: the remote folder is not there yet (the sync makes it).
    std::fs::remove_dir(&c.right).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    write(&c.l("same.txt"), "same");
    write(&c.l("gone.txt"), "bye");
    write(&c.l("old.txt"), "moving along");
    write(&c.l("both.txt"), "base");
    write(&c.l("sub/edit.txt"), "v1");
    let first = previewed_then_synced(
        &c,
        &[
            "p (remote:): 6 to copy · 25 bytes",
            "  ➡ copy     sub/edit.txt (2 bytes)",
            "Nothing was changed: this was a preview.",
        ],
        0,
    );
    assert_eq!(first.len(), 6, "{first:?}");
    same(&c);
    // The remote has its marker now: previews of a pair synced before.
    write(&c.l("new.txt"), "new on the left");
    c.write_remote("sub/edit.txt", "v2 from the right");
    c.write_remote("from-remote.txt", "down");
    std::fs::remove_file(c.l("gone.txt")).unwrap();
    write(&c.l("both.txt"), "left edit");
    c.write_remote("both.txt", "right edit!");
    std::fs::rename(c.l("old.txt"), c.l("moved.txt")).unwrap();
    let second = previewed_then_synced(
        &c,
        &[
            "p (remote:): 2 to copy, 1 to replace, 1 to delete, 1 to move, 1 conflict · 36 bytes",
            "  ➡ copy     new.txt (15 bytes)",
            "  ⬅ copy     from-remote.txt (4 bytes)",
            "  ⬅ replace  sub/edit.txt (17 bytes)",
            "  ➡ delete   gone.txt",
            "  ➡ move     moved.txt (from old.txt)",
            "  ↔ conflict both.txt",
        ],
        1,
    );
    assert_eq!(second.len(), 6, "{second:?}");
    assert_eq!(read(&c.r("moved.txt")), "moving along");
    assert_eq!(read(&c.l("sub/edit.txt")), "v2 from the right");

    // A file of the user's in the place of the center's folder on the remote: the preview
    // lists it under the name the sync gives it, and leaves it where it is.
    let c = pair(server, "two-way");
    c.write_remote(".synccenter", "the user's own");
    previewed_then_synced(
        &c,
        &[
            "p (remote:): 1 to copy · 14 bytes",
            "  ⬅ copy     .synccenter (file) (14 bytes)",
            "  Note: .synccenter in remote:data was in the place of Sync Center's versions folder; it is renamed to \".synccenter (file)\", which is synced",
        ],
        0,
    );
    assert_eq!(read(&c.l(".synccenter (file)")), "the user's own");
    assert_eq!(read(&c.r(".synccenter (file)")), "the user's own");
}

fn a_missing_or_unreachable_remote_deletes_nothing(server: Protocol) {
    let mut c = pair(server, "mirror");
    write(&c.l("keep.txt"), "precious");
    c.synced();
    // The server is down: the item fails, plainly, and nothing changes on the left.
    c.server.stop();
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(printed.contains("cannot reach the server"), "{printed}");
    assert!(printed.contains("Nothing was changed"), "{printed}");
    assert_eq!(read(&c.l("keep.txt")), "precious");
    // Back up, but the remote folder is gone (deleted, or a wrong address): refused.
    c.server.restart();
    std::fs::remove_dir_all(&c.right).unwrap();
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(printed.contains("is missing on the remote"), "{printed}");
    assert_eq!(read(&c.l("keep.txt")), "precious");
    // Made again empty (another folder at the same place): not the folder synced last time.
    c.make_remote_folder();
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains("is not the folder synced last time"),
        "{printed}"
    );
    assert_eq!(read(&c.l("keep.txt")), "precious");
}

fn mirror_makes_the_remote_a_copy_and_contribute_never_deletes_there(server: Protocol) {
    let c = pair(server, "mirror");
    write(&c.l("a.txt"), "left a");
    c.synced();
    c.write_remote("a.txt", "changed on the remote");
    c.write_remote("extra.txt", "only on the remote");
    c.synced();
    assert_eq!(read(&c.r("a.txt")), "left a");
    assert!(!c.r("extra.txt").exists());
    assert!(!c.l("extra.txt").exists());
    let kept = c.remote_versions();
    assert!(
        kept.contains(&"changed on the remote".to_string()),
        "{kept:?}"
    );
    assert!(kept.contains(&"only on the remote".to_string()), "{kept:?}");

    let c = pair(server, "contribute");
    write(&c.l("a.txt"), "left a");
    c.write_remote("remote-only.txt", "stays");
    c.synced();
    std::fs::remove_file(c.l("a.txt")).unwrap();
    write(&c.l("b.txt"), "left b");
    c.synced();
    assert_eq!(read(&c.r("a.txt")), "left a");
    assert_eq!(read(&c.r("b.txt")), "left b");
    assert_eq!(read(&c.r("remote-only.txt")), "stays");
    assert!(!c.l("remote-only.txt").exists());
}

fn without_rclone_remote_pairs_fail_saying_how_to_install_and_local_pairs_run(server: Protocol) {
    let c = pair(server, "two-way");
    let local_right = c.dir.path().join("local-right");
    std::fs::create_dir_all(&local_right).unwrap();
    write(&c.l("a.txt"), "a");
    let added = c.run(&[
        "folder",
        "add",
        "local",
        c.left.to_str().unwrap(),
        local_right.to_str().unwrap(),
    ]);
    assert!(added.status.success(), "{}", text(&added));
    // rclone is set to a path that is not there any more.
    let settings = c.dir.path().join("home/config/folders.toml");
    let text_now = std::fs::read_to_string(&settings).unwrap();
    let gone = c.dir.path().join("no-rclone-here");
    std::fs::write(
        &settings,
        text_now.replace(
            &format!("rclone = \"{}\"", c.rclone.display()),
            &format!("rclone = \"{}\"", gone.display()),
        ),
    )
    .unwrap();
    let out = c.run(&["sync", "--all", "--no-prompt"]);
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(2), "{printed}");
    assert!(printed.contains("rclone is not installed"), "{printed}");
    assert!(printed.contains("sudo apt install rclone"), "{printed}");
    assert!(printed.contains("local: Succeeded"), "{printed}");
    assert_eq!(read(&local_right.join("a.txt")), "a");
    assert!(!c.r("a.txt").exists());
}

fn folder_list_shows_remote_pairs_with_their_server(server: Protocol) {
    let c = pair(server, "two-way");
    let out = c.run(&["folder", "list"]);
    let printed = text(&out);
    assert!(printed.contains("remote:data"), "{printed}");
    let out = c.run(&["folder", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["right"], "remote:data");
    assert_eq!(rows[0]["server"], "remote:");
    let out = c.run(&["items", "--json"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["name"], "p (remote:)");
}

/// The center obscures passwords for rclone's environment itself (starting `rclone obscure`
/// took 40 ms of every logon): both rclone versions read back what it wrote, whatever the
/// password holds.
#[test]
fn passwords_the_center_obscures_are_read_back_by_both_rclones() {
    use synccenter::handlers::folders::rclone::obscure;
    for rclone in [rclone_current(), rclone_old()] {
        for password in [
            "p",
            "exactly 16 bytes",
            "pässwörd with spaces, quotes ' \" and ; & $ signs",
            "a password longer than two blocks of AES, to count the counter up",
        ] {
            // Eight random IVs each: counters that start anywhere, values that start with `-`.
            for _ in 0..8 {
                let obscured = obscure(password);
                // `--`: an obscured value may start with `-` (URL-safe base64).
                let out = std::process::Command::new(&rclone)
                    .args(["reveal", "--", &obscured])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}: {}", rclone.display(), text(&out));
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout).trim_end_matches('\n'),
                    password,
                    "{} revealed {obscured}",
                    rclone.display()
                );
            }
        }
    }
}

/// An upload to SFTP lands by one rename, the center's temp name moved into place: the
/// current rclone would first upload to a `.partial` name of its own and rename that (a
/// second round trip per file), unless it writes in place. (Changed files: they go up
/// beside their places, in a folder watched from the start.)
#[test]
fn sftp_uploads_land_by_one_rename() {
    use notify::{RecursiveMode, Watcher};
    let c = pair(Protocol::Sftp, "two-way");
    for i in 0..5 {
        write(&c.l(&format!("docs/f{i}.txt")), &format!("file {i}"));
    }
    c.synced();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).unwrap();
    watcher.watch(&c.right, RecursiveMode::Recursive).unwrap();
    for i in 0..5 {
        write(
            &c.l(&format!("docs/f{i}.txt")),
            &format!("file {i}, changed"),
        );
    }
    c.synced();
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(watcher);
    let names: Vec<String> = rx
        .try_iter()
        .flat_map(|event| event.unwrap().paths)
        .filter(|path| path.parent() == Some(&c.r("docs")))
        .filter_map(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    assert!(
        names
            .iter()
            .any(|name| name.starts_with(".synccenter-tmp-")),
        "the watch saw no upload: {names:?}"
    );
    assert!(
        !names.iter().any(|name| name.ends_with(".partial")),
        "{names:?}"
    );
    assert_eq!(read(&c.r("docs/f3.txt")), "file 3, changed");
}

/// A pair `t` from a new local folder to `right` (a server address), in a home of its own
/// whose user home is `dir` (no keyring); runs the binary there.
fn server_pair(dir: &Path, right: &str) -> impl Fn(&[&str]) -> std::process::Output + use<> {
    let local = dir.join("local");
    std::fs::create_dir_all(&local).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(home.join("config")).unwrap();
    std::fs::write(
        home.join("config/folders.toml"),
        format!("rclone = \"{}\"\n", rclone_current().display()),
    )
    .unwrap();
    let user_home = dir.to_path_buf();
    let run = move |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_synccenter"))
            .arg("--home")
            .arg(&home)
            .args(args)
            .env("HOME", &user_home)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .output()
            .unwrap()
    };
    let added = run(&["folder", "add", "t", local.to_str().unwrap(), right]);
    assert!(added.status.success(), "{}", text(&added));
    run
}

/// A server that refuses the connection (nothing listens on its port) fails the item at
/// once, in plain words: it is not waited for as a network still coming up is (30 s).
#[test]
fn a_refused_connection_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let run = server_pair(dir.path(), &format!("webdav://me@127.0.0.1:{port}/b"));
    let started = std::time::Instant::now();
    let out = run(&["sync", "t", "--no-prompt"]);
    let took = started.elapsed();
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(2), "{printed}");
    assert!(printed.contains("it refused the connection"), "{printed}");
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

/// An SFTP server whose host key the user has not trusted yet is said so before any
/// password is asked for (which the server would never get), with the command to trust it.
#[test]
fn an_untrusted_sftp_host_is_said_before_a_logon_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::sftp(&dir.path().join("served"));
    let right = format!("sftp://tester@127.0.0.1:{}/", server.port);
    let run = server_pair(dir.path(), &right);
    let untrusted = |printed: &str| {
        printed.contains(&format!(
            "the SSH host key of [127.0.0.1]:{} is not in ~/.ssh/known_hosts yet",
            server.port
        )) && printed.contains(&format!("`ssh -p {} tester@127.0.0.1`", server.port))
            && !printed.contains("needs your logon")
    };
    // No known_hosts at all, then one without this server.
    for known in [
        None,
        Some("[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx0\n"),
    ] {
        if let Some(lines) = known {
            std::fs::create_dir_all(dir.path().join(".ssh")).unwrap();
            std::fs::write(dir.path().join(".ssh/known_hosts"), lines).unwrap();
        }
        let out = run(&["sync", "t", "--no-prompt"]);
        let printed = text(&out);
        assert_eq!(out.status.code(), Some(2), "{printed}");
        assert!(untrusted(&printed), "{printed}");
    }
    // Trusted: the logon is what is missing now.
    std::fs::write(dir.path().join(".ssh/known_hosts"), &server.known_hosts).unwrap();
    let printed = text(&run(&["sync", "t", "--no-prompt"]));
    assert!(printed.contains("needs your logon"), "{printed}");
}

/// A remote folder that is not there yet is made by the first sync, which says so: a
/// mistyped folder would otherwise get every file without a word.
#[test]
fn a_first_sync_into_a_folder_not_there_yet_says_it_makes_it() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    write(&c.l("a.txt"), "up");
    let printed = c.synced();
    assert!(!printed.contains("does not exist yet"), "{printed}");

    let other = c.dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    write(&other.join("b.txt"), "new");
    let added = c.run(&[
        "folder",
        "add",
        "q",
        other.to_str().unwrap(),
        "remote:Fresh/Sub",
    ]);
    assert!(added.status.success(), "{}", text(&added));
    let sync_q = || {
        let out = c.run(&["sync", "q", "--no-prompt"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        text(&out)
    };
    let printed = sync_q();
    assert!(
        printed.contains(
            "The right folder remote:Fresh/Sub does not exist yet: this first sync makes it."
        ),
        "{printed}"
    );
    let served = c.right.parent().unwrap();
    assert_eq!(read(&served.join("Fresh/Sub/b.txt")), "new");
    let printed = sync_q();
    assert!(!printed.contains("does not exist yet"), "{printed}");
}

/// `folder add` refuses a remote rclone's configuration does not have, naming the ones it
/// has; a pair whose remote is gone from it since (renamed in `rclone config`) fails saying
/// so in plain words.
#[test]
fn a_remote_rclone_does_not_have_is_refused_and_said_plainly() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    let out = c.run(&[
        "folder",
        "add",
        "q",
        c.left.to_str().unwrap(),
        "nosuch:path",
    ]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("rclone's configuration has no remote named \"nosuch\" (it has remote:)"),
        "{said}"
    );
    // Written the way scp and rsync write a server: said how to write it for SFTP, and a
    // password typed into it is neither stored nor shown back.
    let left = c.left.to_str().unwrap();
    let said = text(&c.run(&["folder", "add", "s", left, "bob@nas.local:/srv/x"]));
    assert!(
        said.contains("no remote named \"bob@nas.local\"")
            && said.contains("For an SFTP server, write sftp://bob@nas.local/srv/x"),
        "{said}"
    );
    let out = c.run(&["folder", "add", "s", left, "bob:hunter2@nas.local:Photos"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("without the password as sftp://bob@nas.local/~/Photos")
            && !said.contains("hunter2"),
        "{said}"
    );
    let listed = text(&c.run(&["folder", "list"]));
    assert!(
        !listed.contains("nosuch") && !listed.contains("nas.local"),
        "{listed}"
    );

    let conf = std::fs::read_to_string(&c.conf).unwrap();
    std::fs::write(&c.conf, conf.replace("[remote]", "[renamed]")).unwrap();
    let (code, printed) = c.sync();
    assert_eq!(code, 2, "{printed}");
    assert!(
        printed.contains("rclone's configuration has no remote named \"remote\""),
        "{printed}"
    );
    assert!(!printed.contains("didn't find section"), "{printed}");
}

/// rclone's own logging settings in the user's environment (a log file, debug, quiet) do not
/// reach the center's rcd: it still starts (the center learns where it listens from its
/// stderr) and says nothing of the credentials it was given.
#[test]
fn rclone_log_settings_in_the_environment_leave_remote_pairs_working() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    let log = c.dir.path().join("rclone.log");
    let settings: [&[(&str, &str)]; 3] = [
        &[
            ("RCLONE_LOG_FILE", log.to_str().unwrap()),
            ("RCLONE_LOG_LEVEL", "DEBUG"),
        ],
        &[("RCLONE_QUIET", "true")],
        &[
            ("RCLONE_LOG_LEVEL", "ERROR"),
            ("RCLONE_USE_JSON_LOG", "true"),
        ],
    ];
    for (n, set) in settings.into_iter().enumerate() {
        write(&c.l(&format!("file-{n}.txt")), "up");
        let out = c
            .command()
            .envs(set.iter().copied())
            .args(["sync", "p", "--no-prompt"])
            .output()
            .unwrap();
        let printed = text(&out);
        assert!(out.status.success(), "{set:?}: {printed}");
        assert!(
            !printed.contains("rc-pass") && !printed.contains("RCLONE_RC_PASS"),
            "{printed}"
        );
        assert_eq!(read(&c.r(&format!("file-{n}.txt"))), "up");
    }
    assert!(!log.exists(), "rcd wrote the user's rclone log");
}
