//! The window over the real folder pairs handler: add a pair from the first-start screen,
//! then synchronize it.

mod window_common;

use egui_kittest::kittest::Queryable;
use std::time::Duration;
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
    // Step one: the pair (the other side a local folder, the default); step two: where.
    for (field, path, button) in [
        ("Left folder", &left, "Next"),
        ("Right folder", &right, "OK"),
    ] {
        wait_for_text(&mut app, field);
        app.get_by_label(field).click();
        app.run_steps(1);
        app.get_by_label(field)
            .type_text(&path.display().to_string());
        app.run_steps(1);
        app.get_by_label(button).click();
    }
    wait_listed(&mut app, "Notes");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Succeeded");
    wait_for(&mut app, "the run to end", |_| engine.sessions().is_empty());
    assert_eq!(
        std::fs::read_to_string(right.join("notes.txt")).unwrap(),
        "hello"
    );
}
