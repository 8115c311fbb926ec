//! The window over the real folder pairs handler: add a pair from the first-start screen,
//! then synchronize it.

mod window_common;

use egui_kittest::kittest::Queryable;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synccenter::core::engine::{Engine, EngineConfig};
use synccenter::core::handler::Registry;
use synccenter::core::store::{Home, Store};
use synccenter::handlers::folders;
use window_common::*;

#[test]
fn a_folder_pair_added_from_the_first_start_screen_synchronizes() {
    let home = home();
    let left = home.path().join("left");
    let right = home.path().join("right");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::create_dir_all(&right).unwrap();
    std::fs::write(left.join("notes.txt"), "hello").unwrap();
    let center = Home::under(&home.path().join("center"));
    let (store, _) = Store::open(center.clone());
    let registry = Registry::new().with(folders::provider(&center));
    let config = EngineConfig {
        stop_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let (engine, events) = Engine::new(registry, store, config);
    let mut app = window(engine.clone(), events);
    wait_for_text(&mut app, "Nothing to synchronize yet");
    app.get_by_label("Add folder pair…").click();
    wait_for_text(&mut app, "Left folder");
    // The first empty field has the keyboard already.
    app.get_by_label("Name").type_text("Notes");
    for (field, path) in [("Left folder", &left), ("Right folder", &right)] {
        app.get_by_label(field).click();
        app.run_steps(1);
        app.get_by_label(field)
            .type_text(&path.display().to_string());
        app.run_steps(1);
    }
    app.get_by_label("OK").click();
    wait_listed(&mut app, "Notes");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Succeeded");
    wait_for(&mut app, "the run to end", |_| engine.sessions().is_empty());
    assert_eq!(
        std::fs::read_to_string(right.join("notes.txt")).unwrap(),
        "hello"
    );
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
    let (left, right) = (home.path().join("left"), home.path().join("right"));
    std::fs::create_dir_all(&left).unwrap();
    std::fs::create_dir_all(&right).unwrap();
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
    let center = Home::under(&center_dir);
    let (store, _) = Store::open(center.clone());
    let registry = Registry::new().with(folders::provider(&center));
    let (engine, events) = Engine::new(registry, store, EngineConfig::default());
    let mut app = window(engine, events);
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
