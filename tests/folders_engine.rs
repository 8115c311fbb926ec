//! End-to-end scenarios of the folder pairs handler, driven through the core engine with
//! real files in temp folders.

mod folders_common;

use folders_common::*;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use synccenter::core::conflicts::Resolution;
use synccenter::core::dialog::{FieldValue, FormReply};
use synccenter::core::model::{ItemId, PropertiesTarget};
use synccenter::core::status::ItemStatus;
use synccenter::handlers::folders::config::{self, Mode};
use synccenter::handlers::folders::lock::PairLock;

#[test]
fn new_changed_and_deleted_entries_propagate_both_ways() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("docs/a.txt"), "a1");
    write(&c.r("music/b.txt"), "b1");
    std::fs::create_dir_all(c.l("empty/inner")).unwrap();
    write(&c.l("run.sh"), "#!/bin/sh");
    std::fs::set_permissions(c.l("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    set_mtime(&c.l("docs/a.txt"), 1_000_000);
    let ran = c.sync_ok();
    assert!(ran.text.starts_with("Synchronized"), "{ran:?}");
    assert_same(&c);
    assert!(c.r("empty/inner").is_dir());
    assert_eq!(mtime(&c.r("docs/a.txt")), 1_000_000);
    let mode = std::fs::metadata(c.r("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o100, 0o100, "exec bit kept");

    write(&c.r("docs/a.txt"), "a2 longer");
    std::fs::remove_file(c.l("music/b.txt")).unwrap();
    std::fs::remove_dir(c.r("empty/inner")).unwrap();
    write(&c.r("docs/new/n.txt"), "n");
    c.sync_ok();
    assert_same(&c);
    assert_eq!(read(&c.l("docs/a.txt")), "a2 longer");
    assert!(!c.r("music/b.txt").exists());
    assert!(!c.l("empty/inner").exists());
    assert_eq!(c.sync_ok().text, "Up to date");
}

#[test]
fn replaced_and_deleted_files_are_kept_as_versions() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("a.txt"), "old a");
    write(&c.l("d/b.txt"), "old b");
    c.sync_ok();
    write(&c.l("a.txt"), "new a!");
    std::fs::remove_file(c.l("d/b.txt")).unwrap();
    c.sync_ok();
    let mut kept = versions(&c.right);
    kept.sort();
    assert_eq!(kept, vec!["old a", "old b"]);
    assert_eq!(read(&c.r("a.txt")), "new a!");
    assert!(
        std::fs::read_dir(c.r(".synccenter/versions"))
            .unwrap()
            .count()
            == 1
    );
}

#[test]
fn a_touched_file_is_no_change() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("a.txt"), "same");
    set_mtime(&c.l("a.txt"), 1_000);
    c.sync_ok();
    set_mtime(&c.l("a.txt"), 2_000);
    assert_eq!(c.sync_ok().text, "Up to date");
    assert_eq!(mtime(&c.r("a.txt")), 1_000, "the right was not rewritten");
    assert!(versions(&c.right).is_empty());
    // The archive learned the new mtime: a change on the right now propagates.
    write(&c.r("a.txt"), "changed");
    c.sync_ok();
    assert_eq!(read(&c.l("a.txt")), "changed");
}

#[test]
fn identical_changes_on_both_sides_are_no_conflict() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("a.txt"), "one");
    c.sync_ok();
    write(&c.l("a.txt"), "two");
    write(&c.r("a.txt"), "two");
    write(&c.l("b.txt"), "both new");
    write(&c.r("b.txt"), "both new");
    assert_eq!(c.sync_ok().text, "Up to date");
    assert_same(&c);
}

#[test]
fn a_modification_beats_a_deletion() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("a.txt"), "one");
    c.sync_ok();
    std::fs::remove_file(c.l("a.txt")).unwrap();
    write(&c.r("a.txt"), "modified");
    c.sync_ok();
    assert_eq!(read(&c.l("a.txt")), "modified");
}

#[test]
fn a_new_file_in_a_folder_deleted_on_the_other_side_survives() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("d/old.txt"), "old");
    c.sync_ok();
    std::fs::remove_dir_all(c.r("d")).unwrap();
    write(&c.l("d/new.txt"), "new");
    c.sync_ok();
    assert_eq!(read(&c.r("d/new.txt")), "new");
    assert!(!c.l("d/old.txt").exists());
    assert_same(&c);
}

#[test]
fn file_folder_type_changes_propagate() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("x"), "a file");
    write(&c.l("y/inside.txt"), "in y");
    c.sync_ok();
    std::fs::remove_file(c.l("x")).unwrap();
    write(&c.l("x/now.txt"), "x is a folder");
    std::fs::remove_dir_all(c.r("y")).unwrap();
    write(&c.r("y"), "y is a file");
    c.sync_ok();
    assert_same(&c);
    assert_eq!(read(&c.r("x/now.txt")), "x is a folder");
    assert_eq!(read(&c.l("y")), "y is a file");
    let mut kept = versions(&c.right);
    kept.extend(versions(&c.left));
    kept.sort();
    assert_eq!(kept, vec!["a file", "in y"]);
}

#[test]
fn symlinks_are_copied_as_links_and_never_followed() {
    let c = Center::new(Mode::TwoWay);
    let outside = c.dir.path().join("outside");
    write(&outside.join("secret.txt"), "outside");
    std::os::unix::fs::symlink(&outside, c.l("to-outside")).unwrap();
    std::os::unix::fs::symlink("missing-target", c.l("dangling")).unwrap();
    c.sync_ok();
    assert_eq!(std::fs::read_link(c.r("to-outside")).unwrap(), outside);
    assert_eq!(
        std::fs::read_link(c.r("dangling")).unwrap(),
        std::path::Path::new("missing-target")
    );
    assert!(
        std::fs::symlink_metadata(c.r("to-outside"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_same(&c);
}

#[test]
fn names_that_are_not_utf8_work() {
    let c = Center::new(Mode::TwoWay);
    let name = OsStr::from_bytes(b"caf\xe9 \xff.txt");
    std::fs::write(c.left.join(name), "latin-1 name").unwrap();
    c.sync_ok();
    assert_eq!(read(&c.right.join(name)), "latin-1 name");
    std::fs::write(c.left.join(name), "left edit").unwrap();
    std::fs::write(c.right.join(name), "right edit").unwrap();
    c.sync();
    let conflicts = c.conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].report.path, "caf\\xE9 \\xFF.txt");
    c.resolve("caf\\xE9 \\xFF.txt", Resolution::KeepRight);
    c.sync_ok();
    assert_eq!(read(&c.left.join(name)), "right edit");
}

#[test]
fn different_changes_are_a_conflict_that_touches_neither_side() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("a.txt"), "base");
    write(&c.l("b.txt"), "base");
    c.sync_ok();
    write(&c.l("a.txt"), "left version");
    write(&c.r("a.txt"), "right version!");
    write(&c.l("b.txt"), "b changed");
    let ran = c.sync();
    assert_eq!(ran.status, ItemStatus::Succeeded);
    assert_eq!(ran.text, "Synchronized; 1 conflict needs you");
    assert_eq!(read(&c.l("a.txt")), "left version");
    assert_eq!(read(&c.r("a.txt")), "right version!");
    assert_eq!(read(&c.r("b.txt")), "b changed");
    let conflicts = c.conflicts();
    assert_eq!(conflicts.len(), 1);
    let report = &conflicts[0].report;
    assert_eq!(report.path, "a.txt");
    assert_eq!(
        (report.left.label.as_str(), report.right.label.as_str()),
        ("Left", "Right")
    );
    assert_eq!(report.left.location, c.left.display().to_string());
    assert_eq!((report.left.size, report.right.size), (Some(12), Some(14)));
    assert!(report.left.exists && !report.left.is_dir && report.left.modified.is_some());
    // Still there at the next sync, until resolved.
    c.sync();
    assert_eq!(c.conflicts().len(), 1);
}

#[test]
fn resolutions_keep_left_keep_right_and_keep_both() {
    let c = Center::new(Mode::TwoWay);
    for name in ["l.txt", "r.txt", "both.txt"] {
        write(&c.l(name), "base");
    }
    c.sync_ok();
    for name in ["l.txt", "r.txt", "both.txt"] {
        write(&c.l(name), &format!("left {name}"));
        write(&c.r(name), &format!("right {name}!"));
    }
    c.sync();
    assert_eq!(c.conflicts().len(), 3);
    c.resolve("l.txt", Resolution::KeepLeft);
    c.resolve("r.txt", Resolution::KeepRight);
    c.resolve("both.txt", Resolution::KeepBoth);
    c.sync_ok();
    assert_same(&c);
    assert_eq!(read(&c.r("l.txt")), "left l.txt");
    assert_eq!(read(&c.l("r.txt")), "right r.txt!");
    assert_eq!(read(&c.r("both.txt")), "left both.txt");
    let copies: Vec<(Vec<u8>, String)> = tree(&c.left)
        .into_iter()
        .filter(|(p, _)| p.starts_with(b"both (conflict "))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(copies[0].0.ends_with(b").txt"));
    assert_eq!(copies[0].1, "file:right both.txt!");
    // The losing versions are kept.
    assert!(versions(&c.right).contains(&"right l.txt!".to_string()));
    assert!(versions(&c.left).contains(&"left r.txt".to_string()));
}

#[test]
fn mirror_makes_the_right_an_exact_copy_keeping_what_it_replaces() {
    let c = Center::new(Mode::Mirror);
    write(&c.l("a.txt"), "left a");
    write(&c.r("extra.txt"), "right only");
    write(&c.r("a.txt"), "right a");
    c.sync_ok();
    assert_same(&c);
    let mut kept = versions(&c.right);
    kept.sort();
    assert_eq!(kept, vec!["right a", "right only"]);
    write(&c.r("a.txt"), "edited on the right");
    std::fs::remove_file(c.l("a.txt")).unwrap();
    write(&c.l("b.txt"), "b");
    c.sync_ok();
    assert_same(&c);
    assert!(!c.r("a.txt").exists());
}

#[test]
fn contribute_copies_to_the_right_and_never_deletes_there() {
    let c = Center::new(Mode::Contribute);
    write(&c.l("a.txt"), "a");
    write(&c.r("mine.txt"), "right's own");
    c.sync_ok();
    assert_eq!(read(&c.r("a.txt")), "a");
    assert!(!c.l("mine.txt").exists());
    std::fs::remove_file(c.l("a.txt")).unwrap();
    write(&c.l("b.txt"), "b");
    c.sync_ok();
    assert_eq!(read(&c.r("a.txt")), "a", "deletions stay on the left");
    assert_eq!(read(&c.r("b.txt")), "b");
    write(&c.r("b.txt"), "right edit");
    c.sync_ok();
    assert_eq!(
        read(&c.r("b.txt")),
        "right edit",
        "the right's own change is kept"
    );
}

#[test]
fn a_missing_root_fails_the_item_and_deletes_nothing() {
    let c = Center::new(Mode::Mirror);
    write(&c.l("a.txt"), "a");
    c.sync_ok();
    let moved = c.dir.path().join("unmounted");
    std::fs::rename(&c.left, &moved).unwrap();
    let ran = c.sync();
    assert_eq!(ran.status, ItemStatus::Failed);
    assert_eq!(
        ran.text,
        format!(
            "The left folder {} is missing (is the drive mounted?). Nothing was changed.",
            c.left.display()
        )
    );
    assert_eq!(read(&c.r("a.txt")), "a");
}

#[test]
fn another_folder_in_the_place_of_a_root_asks_and_dont_sync_cancels() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("a.txt"), "a");
    c.sync_ok();
    // Another folder where the right one was (an empty mount point, a folder made again).
    std::fs::rename(&c.right, c.dir.path().join("away")).unwrap();
    std::fs::create_dir(&c.right).unwrap();
    c.answer_dialogs(|_| FormReply::Canceled);
    let ran = c.sync_in_window();
    assert_eq!(ran.status, ItemStatus::Canceled, "{ran:?}");
    assert_eq!(
        ran.text,
        format!(
            "You chose not to sync: the right folder {} is not the folder synced last time. Nothing was changed.",
            c.right.display()
        )
    );
    assert_eq!(
        c.forms.lock().last().unwrap().title,
        "Is this the right folder?"
    );
    assert!(tree(&c.right).is_empty(), "nothing changed");
    // Without anyone to ask, it fails saying so.
    let ran = c.sync();
    assert_eq!(ran.status, ItemStatus::Failed, "{ran:?}");
}

/// The last dialog's buttons and message.
fn last_question(c: &Center) -> (Vec<String>, String) {
    let form = c.forms.lock().last().cloned().unwrap();
    let labels = form.buttons.iter().map(|b| b.label.clone()).collect();
    (labels, form.message.unwrap_or_default())
}

fn many_files(c: &Center, n: usize) {
    for i in 0..n {
        write(&c.l(&format!("f{i:03}.txt")), &format!("file {i}"));
    }
    c.sync_ok();
}

#[test]
fn mass_deletions_stop_a_run_without_prompts() {
    let c = Center::new(Mode::TwoWay);
    many_files(&c, 40);
    for i in 0..25 {
        std::fs::remove_file(c.l(&format!("f{i:03}.txt"))).unwrap();
    }
    let ran = c.sync();
    assert_eq!(ran.status, ItemStatus::Failed);
    assert_eq!(
        ran.text,
        format!(
            "This sync would delete 25 of 40 files in {}; Sync Center stopped to be safe, as it could not ask you. Sync it from the window, or with `synccenter sync p` in a terminal, to delete them or restore them.",
            c.right.display()
        )
    );
    assert_eq!(tree(&c.right).len(), 40, "nothing changed");
}

#[test]
fn mass_deletions_ask_in_the_window() {
    let c = Center::new(Mode::TwoWay);
    many_files(&c, 40);
    for i in 0..25 {
        std::fs::remove_file(c.l(&format!("f{i:03}.txt"))).unwrap();
    }
    c.answer_dialogs(|_| FormReply::Canceled);
    let ran = c.sync_in_window();
    // The user's choice is not a failure.
    assert_eq!(ran.status, ItemStatus::Canceled, "{ran:?}");
    assert_eq!(
        ran.text,
        format!(
            "You chose not to delete 25 files in {}; nothing was changed.",
            c.right.display()
        )
    );
    assert_eq!(tree(&c.right).len(), 40);
    let (labels, said) = last_question(&c);
    assert_eq!(
        labels,
        ["Delete 25 files", "Restore 25 files", "Don't delete"]
    );
    assert!(
        said.contains(&format!("as they are not in {}", c.left.display()))
            && said.contains("Restore to copy them to"),
        "{said}"
    );
    c.answer_dialogs(|_| FormReply::Submitted {
        button: "delete".into(),
        values: Default::default(),
    });
    assert_eq!(c.sync_in_window().status, ItemStatus::Succeeded);
    assert_eq!(tree(&c.right).len(), 15);
}

/// Mass deletions on both sides are each asked about: the answer for one side does not
/// let the other side's go ahead unasked.
#[test]
fn mass_deletions_on_both_sides_are_each_asked_about() {
    let c = Center::new(Mode::TwoWay);
    many_files(&c, 60);
    let before = tree(&c.right);
    for i in 0..25 {
        std::fs::remove_file(c.l(&format!("f{i:03}.txt"))).unwrap();
        std::fs::remove_file(c.r(&format!("f{:03}.txt", 59 - i))).unwrap();
    }
    c.answer_dialogs(|_| FormReply::Submitted {
        button: "restore".into(),
        values: Default::default(),
    });
    assert_eq!(c.sync_in_window().status, ItemStatus::Succeeded);
    let asked: Vec<String> = c.forms.lock().iter().map(|f| f.title.clone()).collect();
    assert_eq!(asked, ["Delete many files?", "Delete many files?"]);
    assert_eq!(tree(&c.left), before);
    assert_eq!(tree(&c.right), before);
}

/// "Restore" undoes a deletion by mistake: the files come back from the side that still
/// has them, and the next run has nothing to ask (Don't delete alone asks at every run).
#[test]
fn mass_deletions_can_be_restored_from_the_other_side() {
    let c = Center::new(Mode::TwoWay);
    many_files(&c, 40);
    let before = tree(&c.right);
    for i in 0..25 {
        std::fs::remove_file(c.l(&format!("f{i:03}.txt"))).unwrap();
    }
    write(&c.l("new.txt"), "made since");
    c.answer_dialogs(|_| FormReply::Submitted {
        button: "restore".into(),
        values: Default::default(),
    });
    let ran = c.sync_in_window();
    assert_eq!(ran.status, ItemStatus::Succeeded, "{ran:?}");
    assert_eq!(c.forms.lock().len(), 1);
    // Both sides hold every file, the restored ones as they were; the other change went
    // across as usual.
    let mut expected = before.clone();
    expected.insert(b"new.txt".to_vec(), "file:made since".into());
    assert_eq!(tree(&c.left), expected);
    assert_eq!(tree(&c.right), expected);
    c.answer_dialogs(|form| panic!("nothing more is asked: {form:?}"));
    assert_eq!(c.sync_in_window().status, ItemStatus::Succeeded);
}

/// In mirror mode the planned deletions also hold files that were never in the source (put
/// in the destination by someone else): Restore brings back only what the source lost, and
/// writes nothing else into the source; the others stay where they are.
#[test]
fn restoring_a_mirror_copies_into_the_source_only_what_it_lost() {
    let c = Center::new(Mode::Mirror);
    many_files(&c, 40);
    let before = tree(&c.left);
    for i in 0..20 {
        std::fs::remove_file(c.l(&format!("f{i:03}.txt"))).unwrap();
    }
    for i in 0..15 {
        write(&c.r(&format!("extra{i:02}.txt")), "never in the source");
    }
    let in_destination = tree(&c.right);
    c.answer_dialogs(|_| FormReply::Submitted {
        button: "restore".into(),
        values: Default::default(),
    });
    let ran = c.sync_in_window();
    assert_eq!(ran.status, ItemStatus::Succeeded, "{ran:?}");
    let (labels, said) = last_question(&c);
    assert_eq!(
        labels,
        ["Delete 35 files", "Restore 20 files", "Don't delete"]
    );
    assert!(
        said.contains(&format!(
            "Sync Center has no record of 15 of them in {}.",
            c.left.display()
        )) && said.contains("those 15 stay until the next sync, which deletes them"),
        "the message says why fewer are restored, and what becomes of the others: {said}"
    );
    assert_eq!(tree(&c.left), before, "only the lost files came back");
    assert_eq!(tree(&c.right), in_destination, "nothing was deleted");
    // As the dialog said: the next sync mirrors the source, the others kept as versions.
    c.answer_dialogs(|form| panic!("15 of 55 is not many: {form:?}"));
    assert_eq!(c.sync_in_window().status, ItemStatus::Succeeded);
    assert_eq!(tree(&c.right), before);
    assert_eq!(versions(&c.right).len(), 15);

    // A first mirror into a folder of other files has nothing to restore: no such choice.
    let c = Center::new(Mode::Mirror);
    write(&c.l("mine.txt"), "mine");
    for i in 0..30 {
        write(&c.r(&format!("other{i:02}.txt")), "someone else's");
    }
    c.answer_dialogs(|_| FormReply::Canceled);
    assert_eq!(c.sync_in_window().status, ItemStatus::Canceled);
    let (labels, said) = last_question(&c);
    assert_eq!(labels, ["Delete 30 files", "Don't delete"]);
    assert!(
        said.contains("Sync Center has no record of any of them in") && !said.contains("Restore"),
        "{said}"
    );
    assert_eq!(tree(&c.left).len(), 1);
}

#[test]
fn a_second_run_of_the_same_pair_is_refused() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("a.txt"), "a");
    let held = PairLock::acquire(&c.home.data_dir, PAIR).unwrap();
    let ran = c.sync();
    assert_eq!(ran.status, ItemStatus::Failed);
    assert_eq!(
        ran.text,
        format!("another sync of p is running (pid {})", std::process::id())
    );
    assert!(!c.r("a.txt").exists());
    drop(held);
    c.sync_ok();
}

#[test]
fn excluded_and_center_entries_are_not_synced_but_users_synccenter_names_are() {
    let c = Center::with_excludes(Mode::TwoWay, &["*.tmp", "build/"]);
    write(&c.l("keep.txt"), "k");
    write(&c.l("x.tmp"), "t");
    write(&c.l("build/out.o"), "o");
    write(&c.l("src/build.rs"), "not the build folder");
    write(&c.l(".synccenter-notes/n"), "the user's");
    write(&c.l("sub/.synccenter"), "the user's too");
    write(&c.l("x.tmp"), "t");
    c.sync_ok();
    assert_eq!(read(&c.r(".synccenter-notes/n")), "the user's");
    assert_eq!(read(&c.r("sub/.synccenter")), "the user's too");
    assert!(c.r("src/build.rs").exists());
    for left_out in ["x.tmp", "build", ".synccenter"] {
        assert!(!c.r(left_out).exists(), "{left_out}");
    }
}

#[test]
fn a_damaged_archive_is_moved_aside_and_nothing_is_overwritten() {
    let c = Center::new(Mode::TwoWay);
    write(&c.l("same.txt"), "same");
    write(&c.l("differs.txt"), "base");
    c.sync_ok();
    write(&c.l("differs.txt"), "left now");
    let archive = c.home.data_dir.join("folders/p.archive");
    std::fs::write(&archive, b"garbage").unwrap();
    let ran = c.sync();
    assert_eq!(ran.status, ItemStatus::Succeeded, "{ran:?}");
    assert!(ran.log.iter().any(|l| l.contains("damaged")), "{ran:?}");
    let aside: Vec<String> = std::fs::read_dir(archive.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("p.archive.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(c.conflicts().len(), 1);
    assert_eq!(read(&c.r("differs.txt")), "base");
    assert_eq!(read(&c.l("differs.txt")), "left now");
}

fn submit(values: &[(&str, FieldValue)]) -> FormReply {
    FormReply::Submitted {
        button: "ok".into(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn the_properties_form_adds_edits_and_removes_pairs() {
    let c = Center::new(Mode::TwoWay);
    let left = c.dir.path().join("l2").display().to_string();
    let right = c.dir.path().join("r2").display().to_string();
    let text = |s: &str| FieldValue::Text(s.to_string());
    let mut answers = vec![
        // Step one: the pair (a local folder on the other side, the default).
        submit(&[
            ("name", text("photos")),
            ("left", text(&left)),
            ("mode", text("mirror")),
            ("excludes", text("*.tmp, cache/\n*.bak")),
        ]),
        // Step two, first try: a relative right folder, shown again with the error under
        // the field (nothing is offered to be made for it).
        submit(&[("right", text("relative"))]),
        submit(&[("right", text(&right))]),
        // Neither folder exists yet: the handler offers to make them.
        FormReply::Submitted {
            button: "create".into(),
            values: BTreeMap::new(),
        },
    ]
    .into_iter();
    c.answer_dialogs(move |_| answers.next().unwrap_or(FormReply::Canceled));
    c.properties(PropertiesTarget::Handler);
    let forms = c.forms.lock().clone();
    assert_eq!(forms.len(), 4);
    assert_eq!(forms[0].title, "Add folder pair");
    assert_eq!(forms[3].title, "Create the folders?");
    let message = forms[3].message.as_deref().unwrap_or_default();
    assert!(
        message.contains(&left) && message.contains(&right),
        "{message}"
    );
    assert!(std::path::Path::new(&left).is_dir() && std::path::Path::new(&right).is_dir());
    assert!(!std::path::Path::new("relative").exists());
    let right_field = forms[2].fields.iter().find(|f| f.id == "right").unwrap();
    assert!(
        right_field.error.as_ref().unwrap().contains("absolute"),
        "{right_field:?}"
    );
    let photos = config::find(&c.home, "photos").unwrap();
    assert_eq!(photos.mode, Mode::Mirror);
    assert_eq!(photos.excludes, vec!["*.tmp", "cache/", "*.bak"]);

    // Editing: pre-filled; "Remove this pair…" asks first, saying the files stay.
    let mut asked = 0;
    c.answer_dialogs(move |form| {
        asked += 1;
        if asked == 1 {
            let name = form.fields.iter().find(|f| f.id == "name").unwrap();
            assert!(format!("{:?}", name.kind).contains("photos"));
        } else {
            assert_eq!(form.title, "Remove the folder pair photos?");
            let message = form.message.as_deref().unwrap_or_default();
            assert!(
                message.contains("The files stay where they are"),
                "{message}"
            );
        }
        FormReply::Submitted {
            button: "remove".into(),
            values: BTreeMap::new(),
        }
    });
    c.properties(PropertiesTarget::Item(ItemId::new("photos")));
    assert_eq!(
        c.forms.lock().len(),
        6,
        "the pair's form, then the question"
    );
    assert!(config::find(&c.home, "photos").is_err());
    assert_eq!(config::load(&c.home).unwrap().len(), 1);
}

#[test]
fn a_new_remote_pair_offers_to_create_only_its_local_folder() {
    let c = Center::new(Mode::TwoWay);
    let left = c.dir.path().join("notes");
    let text = |s: &str| FieldValue::Text(s.to_string());
    let mut answers = vec![
        submit(&[
            ("name", text("notes")),
            ("left", text(&left.display().to_string())),
            ("mode", text("two-way")),
            ("kind", text("Nextcloud")),
        ]),
        submit(&[
            ("server", text("cloud.example.org")),
            ("user", text("ann")),
            ("folder", text("Documents")),
            ("remember", FieldValue::Bool(false)),
        ]),
        FormReply::Submitted {
            button: "create".into(),
            values: BTreeMap::new(),
        },
    ]
    .into_iter();
    c.answer_dialogs(move |_| answers.next().unwrap_or(FormReply::Canceled));
    c.properties(PropertiesTarget::Handler);
    let forms = c.forms.lock().clone();
    assert_eq!(forms.len(), 3, "{forms:#?}");
    assert_eq!(forms[1].title, "Add folder pair: Nextcloud");
    assert_eq!(forms[2].title, "Create the folder?");
    let message = forms[2].message.as_deref().unwrap_or_default();
    assert!(message.contains(&left.display().to_string()), "{message}");
    assert!(!message.contains("cloud.example.org"), "{message}");
    assert!(left.is_dir());
    let notes = config::find(&c.home, "notes").unwrap();
    assert_eq!(
        notes.right.to_str(),
        Some("nextcloud://ann@cloud.example.org/Documents")
    );
    assert_eq!(notes.local_folders(), std::slice::from_ref(&left));
    assert_eq!(
        config::describe(&notes),
        format!("{} ↔ ann@cloud.example.org:Documents", left.display())
    );
}

fn start_many(c: &Center) -> synccenter::core::engine::SessionHandle {
    for i in 0..2000 {
        write(
            &c.l(&format!("d{}/f{i}", i % 20)),
            &format!("contents of {i}"),
        );
    }
    c.engine
        .start(synccenter::core::engine::SessionRequest {
            reason: synccenter::core::model::RunReason::Manual,
            may_bother_user: false,
            items: vec![key()],
        })
        .unwrap()
}

fn key() -> synccenter::core::model::ItemKey {
    synccenter::core::model::ItemKey::new(synccenter::handlers::folders::HANDLER_ID, PAIR)
}

#[test]
fn a_skipped_item_ends_skipped_and_the_next_sync_finishes() {
    let c = Center::new(Mode::TwoWay);
    let handle = start_many(&c);
    handle.skip(&key());
    let record = handle.wait(std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(record.items[0].status, ItemStatus::Skipped, "{record:?}");
    c.sync_ok();
    assert_same(&c);
}

#[test]
fn a_stopped_run_ends_canceled_and_the_next_sync_finishes() {
    let c = Center::new(Mode::TwoWay);
    let handle = start_many(&c);
    handle.stop_all();
    let record = handle.wait(std::time::Duration::from_secs(60)).unwrap();
    assert_eq!(record.items[0].status, ItemStatus::Canceled, "{record:?}");
    c.sync_ok();
    assert_same(&c);
}
