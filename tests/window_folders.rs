//! The window over the real folder pairs handler: add a pair from the first-start screen,
//! then synchronize it.

mod window_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synccenter::core::engine::Engine;
use synccenter::handlers::folders;
use window_common::*;

/// The folders `left` and `right` under `home`, made empty.
fn left_and_right(home: &Path) -> (PathBuf, PathBuf) {
    let (left, right) = (home.join("left"), home.join("right"));
    for side in [&left, &right] {
        std::fs::create_dir_all(side).unwrap();
    }
    (left, right)
}

/// A two-way pair `name` whose left folder holds `file` with `text`, listed in the window
/// and synchronized once from it; its left and right folders.
fn pair_synced_once(
    home: &Path,
    name: &str,
    file: &str,
    text: &str,
) -> (PathBuf, PathBuf, Engine, App) {
    let (left, right) = left_and_right(home);
    std::fs::write(left.join(file), text).unwrap();
    add_two_way_pair(home, name, &left, &right);
    let (engine, _center, mut app) = folders_window(home);
    wait_listed(&mut app, name);
    sync_now_and_wait(&mut app, &engine);
    (left, right, engine, app)
}

fn read(file: &Path) -> String {
    std::fs::read_to_string(file).unwrap()
}

#[test]
fn a_folder_pair_added_from_the_first_start_screen_synchronizes() {
    let home = home();
    let (left, right) = left_and_right(home.path());
    std::fs::write(left.join("notes.txt"), "hello").unwrap();
    let (engine, _center, mut app) = folders_window(home.path());
    wait_for_text(&mut app, "Nothing to synchronize yet");
    app.get_by_label("Add folder pair…").click();
    wait_for_text(&mut app, "Left folder");
    // The first empty field has the keyboard already.
    app.get_by_label("Name").type_text("Notes");
    // Step one: the pair (the other side a local folder, the default); step two: where.
    for (field, path, button) in [
        ("Left folder", &left, "Next"),
        ("Right folder", &right, "OK"),
    ] {
        wait_for_text(&mut app, field);
        type_into(&mut app, field, &path.display().to_string());
        app.get_by_label(button).click();
    }
    wait_listed(&mut app, "Notes");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Succeeded");
    wait_run_ended(&mut app, &engine);
    assert_eq!(read(&right.join("notes.txt")), "hello");
    // Another pair is added from the Folder pairs row, named for what it does.
    app.get_by_label("Add folder pair").click();
    wait_for_text(&mut app, "Left folder");
}

#[test]
fn esc_in_an_open_dropdown_closes_only_the_dropdown() {
    let home = home();
    let (_engine, _center, mut app) = folders_window(home.path());
    wait_for_text(&mut app, "Nothing to synchronize yet");
    app.get_by_label("Add folder pair…").click();
    wait_for_text(&mut app, "Left folder");
    app.get_by_label("Name").type_text("Notes");
    app.get_by_label("Sync with").click();
    wait_for_text(&mut app, "Nextcloud");
    app.key_press(egui::Key::Escape);
    wait_for(&mut app, "the list to close", |app| {
        app.query_by_label("Nextcloud").is_none()
    });
    app.run_steps(3);
    assert_eq!(
        app.get_by_label("Name").value().as_deref(),
        Some("Notes"),
        "the form was closed with what was typed in it"
    );
    // With no list open, Esc cancels the form.
    app.key_press(egui::Key::Escape);
    wait_for(&mut app, "the form to close", |app| {
        app.query_by_label("Left folder").is_none()
    });
}

#[test]
fn a_new_pair_expands_tilde_offers_to_create_its_folder_and_shows_its_direction() {
    let home = home();
    // `~` is the real home folder: the new folder goes in a temporary folder there.
    let user_home = std::env::var_os("HOME").expect("HOME is set");
    let under_home = tempfile::Builder::new()
        .prefix(".synccenter-test-")
        .tempdir_in(&user_home)
        .expect("a temporary folder in the home folder");
    let rest = under_home
        .path()
        .strip_prefix(&user_home)
        .unwrap()
        .join("Notes");
    let typed_left = format!("~/{}", rest.display());
    let right = home.path().join("right");
    std::fs::create_dir_all(&right).unwrap();
    let (engine, center, mut app) = folders_window(home.path());
    wait_for_text(&mut app, "Nothing to synchronize yet");
    app.get_by_label("Add folder pair…").click();
    wait_for_text(&mut app, "Left folder");
    app.get_by_label("Name").type_text("Notes");
    // Step one: the pair, its left folder from the home folder; step two: the right.
    type_into(&mut app, "Left folder", &typed_left);
    app.get_by_label("Next").click();
    wait_for_text(&mut app, "Right folder");
    type_into(&mut app, "Right folder", &right.display().to_string());
    app.get_by_label("OK").click();
    let left = under_home.path().join("Notes");
    wait_for_text(&mut app, "This folder does not exist yet");
    assert!(
        app.query_by_label_contains(&left.display().to_string())
            .is_some()
    );
    // Back keeps what was typed; OK asks again, and Create makes the folder.
    app.get_by_label("Back").click();
    wait_for(&mut app, "the pair's form again", |app| {
        app.query_by_label("Right folder").is_some()
    });
    assert_eq!(
        app.get_by_label("Right folder").value().as_deref(),
        Some(right.display().to_string().as_str())
    );
    assert!(!left.exists());
    app.get_by_label("OK").click();
    wait_for_text(&mut app, "This folder does not exist yet");
    app.get_by_label("Create").click();
    wait_listed(&mut app, "Notes");
    assert!(left.is_dir());
    let pair = folders::config::find(&center, "Notes").unwrap();
    assert_eq!(pair.left, left, "~ was expanded");
    // The row shows both folders and the direction, the home folder as ~.
    wait_for_text(&mut app, &format!("{typed_left} ↔ {}", right.display()));
    drop(engine);
}

#[test]
fn removing_a_pair_asks_first_and_leaves_the_files_where_they_are() {
    let home = home();
    let (left, right) = left_and_right(home.path());
    for side in [&left, &right] {
        std::fs::write(side.join("notes.txt"), "kept").unwrap();
    }
    add_two_way_pair(home.path(), "Notes", &left, &right);
    let (_engine, center, mut app) = folders_window(home.path());
    wait_listed(&mut app, "Notes");
    // Both folders, and a way to open each, are in the row's menu.
    right_click_beside(&mut app, "Notes");
    for side in [&left, &right] {
        wait_for_text(&mut app, &format!("Open {}", side.display()));
    }
    app.get_by_label("Properties…").click();
    wait_for_text(&mut app, "Remove this pair…");
    app.get_by_label("Remove this pair…").click();
    wait_for_text(&mut app, "Remove the folder pair Notes?");
    assert!(
        app.query_by_label_contains("The files stay where they are")
            .is_some()
    );
    // Cancel goes back to the pair, which stays.
    app.get_by_label("Cancel").click();
    wait_for_text(&mut app, "Remove this pair…");
    app.get_by_label("Remove this pair…").click();
    wait_for_text(&mut app, "Remove the folder pair Notes?");
    app.get_by_role_and_label(Role::Button, "Remove").click();
    wait_for(&mut app, "the pair to go", |app| {
        app.query_by_label("Notes").is_none()
    });
    assert!(folders::config::find(&center, "Notes").is_err());
    for side in [&left, &right] {
        assert_eq!(read(&side.join("notes.txt")), "kept");
    }
}

#[test]
fn a_kept_version_is_restored_from_the_window_and_the_newer_file_is_kept() {
    let home = home();
    let (left, right, engine, mut app) =
        pair_synced_once(home.path(), "Notes", "notes.txt", "first");
    assert_eq!(read(&right.join("notes.txt")), "first");
    // The left changes; the sync replaces the right's file and keeps it as a version.
    std::fs::write(left.join("notes.txt"), "second, longer").unwrap();
    sync_now_and_wait(&mut app, &engine);
    assert_eq!(read(&right.join("notes.txt")), "second, longer");
    let kept = folders::versions::list(&right).unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    // Versions… in the row's menu lists it; Restore puts it back.
    right_click_beside(&mut app, "Notes");
    wait_for_text(&mut app, "Versions…");
    app.get_by_label("Versions…").click();
    wait_for_text(&mut app, "Versions of Notes");
    let restore = format!("Restore notes.txt of {}", kept[0].kept);
    wait_for_text(&mut app, &restore);
    app.get_by_label(&restore).click();
    wait_for_text(&mut app, "is back as it was");
    assert_eq!(read(&right.join("notes.txt")), "first");
    // Nothing lost: the newer file is a version now.
    let kept = folders::versions::list(&right).unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let newer = kept
        .iter()
        .map(|v| {
            read(
                &right
                    .join(".synccenter/versions")
                    .join(&v.kept)
                    .join(v.display()),
            )
        })
        .collect::<Vec<_>>();
    assert!(newer.contains(&"second, longer".to_string()), "{newer:?}");
    // The list is read again and shows both; then Close.
    wait_for(&mut app, "both versions listed", |app| {
        app.query_all_by_label_contains("Restore notes").count() == 2
    });
    app.get_by_label("Close").click();
    wait_for(&mut app, "the versions to close", |app| {
        app.query_by_label_contains("Versions of Notes").is_none()
    });
}

#[test]
fn a_text_conflict_opens_each_version_and_shows_the_lines_that_differ() {
    let home = home();
    let (left, right, engine, mut app) = pair_synced_once(
        home.path(),
        "Plans",
        "plan.txt",
        "monday\ntuesday\nwednesday\n",
    );
    // Both sides change the same line differently: a conflict.
    std::fs::write(left.join("plan.txt"), "monday\ntuesday: gym\nwednesday\n").unwrap();
    std::fs::write(
        right.join("plan.txt"),
        "monday\ntuesday: dentist, at 9\nwednesday\n",
    )
    .unwrap();
    sync_now_and_wait(&mut app, &engine);
    wait_for_text(&mut app, "Conflicts (1)");
    app.get_by_label_contains("Conflicts (1)").click();
    wait_for_text(&mut app, "Open the Left version");
    assert!(app.query_by_label("Open the Right version").is_some());
    app.get_by_label("Compare").click();
    wait_for_text(&mut app, "− tuesday: gym");
    wait_for_text(&mut app, "+ tuesday: dentist, at 9");
    assert!(app.query_by_label("  monday").is_some());
}

/// `synccenter --home <center> args…`, the real binary, as a terminal runs it.
fn terminal(center: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(center)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn runs_made_in_a_terminal_show_in_the_open_window() {
    let home = home();
    let (left, right) = left_and_right(home.path());
    std::fs::write(left.join("notes.txt"), "hello").unwrap();
    let center_dir = home.path().join("center");
    let added = terminal(
        &center_dir,
        &[
            "folder",
            "add",
            "Notes",
            left.to_str().unwrap(),
            right.to_str().unwrap(),
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let (_engine, _center, mut app) = folders_window(home.path());
    wait_listed(&mut app, "Notes");
    wait_for_text(&mut app, "Not synchronized yet");

    // The idle window draws nothing until told; from here, note every frame it asks for.
    let asked: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let record = asked.clone();
    app.ctx
        .set_request_repaint_callback(move |info| record.lock().push(info.delay));
    app.run_steps(2);
    asked.lock().clear();

    // A sync in a terminal wakes the window, and its row and Results follow.
    let synced = terminal(&center_dir, &["sync", "Notes", "--no-prompt"]);
    assert_eq!(synced.status.code(), Some(0), "{synced:?}");
    let ran = Instant::now();
    while !asked
        .lock()
        .iter()
        .any(|delay| *delay < Duration::from_secs(1))
    {
        assert!(
            ran.elapsed() < Duration::from_secs(20),
            "the window was never woken: {:?}",
            asked.lock()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "the window was woken {:?} after the terminal's run",
        ran.elapsed()
    );
    app.run_steps(1);
    wait_for_text(&mut app, "Succeeded: Synchronized 1 change");
    app.get_by_label("Results").click();
    wait_for_text(&mut app, "1 copied · 5 bytes");

    // A conflict found by a terminal's run shows too.
    std::fs::write(left.join("notes.txt"), "hello from the left").unwrap();
    std::fs::write(right.join("notes.txt"), "hello from the right").unwrap();
    let clashed = terminal(&center_dir, &["sync", "Notes", "--no-prompt"]);
    assert_eq!(clashed.status.code(), Some(1), "{clashed:?}");
    wait_for_text(&mut app, "In conflict: notes.txt");
    wait_for_text(&mut app, "Succeeded with 1 conflict");
}

#[test]
fn a_remote_pair_row_shows_its_server_and_offers_only_the_local_folder() {
    let home = home();
    let left = home.path().join("left");
    std::fs::create_dir_all(&left).unwrap();
    add_two_way_pair(
        home.path(),
        "Notes",
        &left,
        Path::new("gdrive:Backup/Notes"),
    );
    let (_engine, _center, mut app) = folders_window(home.path());
    wait_listed(&mut app, "Notes (gdrive:)");
    wait_for_text(
        &mut app,
        &format!("{} ↔ gdrive:Backup/Notes", left.display()),
    );
    let row = app.get_by_label("Notes (gdrive:)").rect();
    right_click_at(&mut app, row.center());
    wait_for_text(&mut app, &format!("Open {}", left.display()));
    assert!(
        app.query_by_label_contains("Open gdrive").is_none(),
        "a remote side is no folder to open here"
    );
}

/// Saving a pair's Properties keeps its place in the list, and its row says its settings
/// changed since the last sync (how that run ended was forgotten with the old settings),
/// not "Not synchronized yet" beside "Last synchronized just now".
#[test]
fn an_edited_pair_keeps_its_place_and_says_its_settings_changed() {
    let home = home();
    for name in ["Alpha", "Beta"] {
        let (left, right) = (
            home.path().join(name).join("l"),
            home.path().join(name).join("r"),
        );
        for side in [&left, &right] {
            std::fs::create_dir_all(side).unwrap();
        }
        std::fs::write(left.join("a.txt"), name).unwrap();
        add_two_way_pair(home.path(), name, &left, &right);
    }
    let (engine, center, mut app) = folders_window(home.path());
    wait_listed(&mut app, "Beta");
    sync_now_and_wait(&mut app, &engine);
    wait_for_text(&mut app, "Succeeded");
    right_click_beside(&mut app, "Alpha");
    wait_for_text(&mut app, "Properties…");
    app.get_by_label("Properties…").click();
    wait_for_text(&mut app, "Remove this pair…");
    // OK with nothing changed keeps how the last run ended.
    app.get_by_label("OK").click();
    wait_for(&mut app, "the dialog to close", |app| {
        app.query_by_label("Remove this pair…").is_none()
    });
    app.run_steps(3);
    assert_eq!(app.query_all_by_label_contains("Succeeded").count(), 2);
    // A change: the left folder's new name.
    right_click_beside(&mut app, "Alpha");
    wait_for_text(&mut app, "Properties…");
    app.get_by_label("Properties…").click();
    wait_for_text(&mut app, "Remove this pair…");
    let moved = home.path().join("Alpha/moved");
    std::fs::rename(home.path().join("Alpha/l"), &moved).unwrap();
    app.get_by_label("Left folder").click();
    app.run_steps(1);
    app.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    app.run_steps(1);
    app.get_by_label("Left folder")
        .type_text(&moved.display().to_string());
    app.run_steps(1);
    app.get_by_label("OK").click();
    wait_for_text(&mut app, "Settings changed since the last sync");
    assert!(
        app.query_by_label_contains("Not synchronized yet")
            .is_none()
    );
    let names: Vec<String> = folders::config::load(&center)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Alpha", "Beta"]);
    let top = |name: &str| app.get_by_label(name).rect().top();
    assert!(top("Alpha") < top("Beta"));
}
