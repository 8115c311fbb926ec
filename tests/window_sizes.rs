//! The window small and large: at 640×400 every control can be reached (columns give way,
//! per-item buttons move into the row's menu, tall dialogs scroll); at large sizes the
//! status column takes the width.

mod window_common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use std::time::Duration;
use synccenter::core::engine::{Engine, EngineConfig};
use synccenter::core::handler::Registry;
use synccenter::core::store::{Home, Store};
use synccenter::handlers::folders;
use window_common::*;

const SMALL: [f32; 2] = [640.0, 400.0];

fn files() -> Script {
    Script::new(
        "files",
        "Files",
        &[
            ("alpha", "Alpha"),
            (
                "beta",
                "Beta with a name long enough to be cut short in a small window",
            ),
        ],
    )
    .with_properties()
}

/// Asserts that the control is on screen, whole, after scrolling it into view.
#[track_caller]
fn reachable(app: &mut App, role: Role, label: &str) {
    app.get_by_role_and_label(role, label).scroll_to_me();
    app.run_steps(3);
    let rect = app.get_by_role_and_label(role, label).rect();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, SMALL.into());
    assert!(
        rect.width() > 0.0 && rect.height() > 0.0 && screen.contains_rect(rect),
        "{label} ({role:?}) is at {rect:?}, not whole in the {SMALL:?} window"
    );
}

#[test]
fn at_640_by_400_every_control_of_the_items_view_is_reachable() {
    let home = home();
    let mut script = files();
    script.steps = 400;
    script.step = Duration::from_millis(20);
    let (engine, events) = engine(home.path(), &[script]);
    let mut app = window_sized(engine.clone(), events, SMALL);
    wait_listed(&mut app, "Alpha");
    for (role, label) in [
        (Role::Button, "🔄 Sync now"),
        (Role::Button, "Sync all"),
        (Role::Button, "⏹ Stop"),
        (Role::Button, "⚙ Properties"),
        (Role::Button, "Items"),
        (Role::Button, "Results"),
        (Role::Button, "Conflicts"),
        (Role::Button, "Collapse Files"),
        (Role::Button, "More for Files"),
        (Role::CheckBox, "Synchronize Alpha"),
        (Role::Button, "More for Alpha"),
        (
            Role::CheckBox,
            "Synchronize Beta with a name long enough to be cut short in a small window",
        ),
        (
            Role::Button,
            "More for Beta with a name long enough to be cut short in a small window",
        ),
    ] {
        reachable(&mut app, role, label);
    }
    // "Last synchronized" gave way; the time is in the row's menu instead.
    assert!(app.query_by_label("Last synchronized").is_none());
    // The handler's Properties button moved into its row's menu.
    app.get_by_label("More for Files").click();
    wait_for_text(&mut app, "Properties of Files");
    app.key_press(egui::Key::Escape);
    app.run_steps(2);
    // While a run goes on, Stop and Skip of an item are in its row's menu.
    app.get_by_label("🔄 Sync now").click();
    wait_for(&mut app, "Alpha's bar", |app| {
        app.query_by_label("Progress of Alpha").is_some()
    });
    reachable(&mut app, Role::ProgressIndicator, "Progress of Alpha");
    app.get_by_label("More for Alpha").click();
    wait_for_text(&mut app, "Skip Alpha");
    reachable(&mut app, Role::Button, "Stop Alpha");
    reachable(&mut app, Role::Button, "Skip Alpha");
    app.get_by_label("Skip Alpha").click();
    wait_for_text(&mut app, "Skipped");
    app.get_by_label("⏹ Stop").click();
    wait_run_ended(&mut app, &engine);
    app.run_steps(3);
    app.get_by_label("More for Alpha").click();
    // A stopped run synchronized nothing, and the menu says so.
    wait_for_text(&mut app, "Never synchronized");
}

#[test]
fn a_long_status_is_cut_short_with_the_whole_text_on_hover() {
    let home = home();
    let mut remote = Script::new("remote", "Remote", &[("a", "A")]);
    remote.list_error =
        Some("the server at files.example.org did not answer after three tries over ten minutes");
    let (engine, events) = engine(home.path(), &[files(), remote]);
    let mut app = window_sized(engine, events, SMALL);
    let text = "Could not list its items: the server at files.example.org did not answer after three tries over ten minutes";
    wait_for_text(&mut app, "Could not list its items");
    let label = app.get_by_label(text);
    let rect = label.rect();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, SMALL.into());
    assert!(screen.contains_rect(rect), "cut short to fit: {rect:?}");
    label.hover();
    wait_for(&mut app, "the tooltip", |app| {
        app.query_by_role(Role::Tooltip).is_some()
    });
    // Once: the label and one tooltip.
    assert_eq!(app.query_all_by_label(text).count(), 2);
    reachable(&mut app, Role::Button, "List the items of Remote again");
}

#[test]
fn at_large_sizes_the_status_column_takes_the_width() {
    let home = home();
    let (engine, events) = engine(home.path(), &[files()]);
    let mut app = window_sized(engine, events, [1600.0, 900.0]);
    wait_listed(&mut app, "Alpha");
    let name = app.get_by_label("Name").rect().left();
    let status = app.get_by_label("Status").rect().left();
    let last = app.get_by_label("Last synchronized").rect().left();
    assert!(
        last - status > 2.0 * (status - name),
        "Name from {name}, Status from {status}, Last synchronized from {last}"
    );
    assert!(
        1600.0 - last < 250.0,
        "Last synchronized keeps a narrow column"
    );
    // Wide enough: the per-item buttons are in the rows, no "⋯" menus.
    assert!(app.query_by_label("More for Alpha").is_none());
    assert!(app.query_by_label("Properties of Files").is_some());
}

#[test]
fn at_640_by_400_a_tall_dialog_scrolls_and_its_buttons_stay_in_sight() {
    let home = home();
    let center = Home::under(&home.path().join("center"));
    let (store, _) = Store::open(center.clone());
    let registry = Registry::new().with(folders::provider(&center));
    let (engine, events) = Engine::new(registry, store, EngineConfig::default());
    let mut app = window_sized(engine, events, SMALL);
    wait_for_text(&mut app, "Nothing to synchronize yet");
    app.get_by_label("Add folder pair…").click();
    wait_for_text(&mut app, "Left folder");
    // The pair form's first step is the tall one (the second asks only where the other
    // side is); its button goes on to that step.
    for (role, label) in [
        (Role::Button, "Next"),
        (Role::Button, "Cancel"),
        (Role::TextInput, "Name"),
        (Role::TextInput, "Keep versions (days)"),
        (Role::TextInput, "Versions may use (% of the disk)"),
        (Role::Button, "Next"),
    ] {
        reachable(&mut app, role, label);
    }
}

#[test]
fn at_640_by_400_a_long_failure_in_the_results_wraps_to_the_window() {
    let home = home();
    let mut script = files();
    script.failure = Some((
        "alpha",
        "The server nas.local could not be reached during the sync (connection refused). The sync stopped; what was done is kept, and the next sync finishes the job.",
    ));
    let (engine, events) = engine(home.path(), &[script]);
    let mut app = window_sized(engine.clone(), events, SMALL);
    wait_listed(&mut app, "Alpha");
    app.get_by_label("🔄 Sync now").click();
    wait_for(&mut app, "the run to be recorded", |_| {
        engine.sessions().is_empty() && !engine.store().history().is_empty()
    });
    app.get_by_label("Results").click();
    wait_for_text(&mut app, "the next sync finishes the job");
    let rect = app
        .get_by_label_contains("the next sync finishes the job")
        .rect();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, SMALL.into());
    assert!(
        screen.contains_rect(rect),
        "the failure is wrapped to the window: {rect:?}"
    );
}

#[test]
fn at_640_by_400_results_and_conflicts_can_be_used() {
    let home = home();
    let mut script = files();
    script.conflict = Some("alpha");
    let (engine, events) = engine(home.path(), &[script]);
    let mut app = window_sized(engine.clone(), events, SMALL);
    wait_listed(&mut app, "Alpha");
    app.get_by_label("🔄 Sync now").click();
    wait_for(&mut app, "the run to be recorded", |_| {
        engine.sessions().is_empty() && !engine.store().history().is_empty()
    });
    app.get_by_label("Results").click();
    app.run_steps(3);
    for label in ["Everything", "Warnings and errors", "Errors only"] {
        reachable(&mut app, Role::Button, label);
    }
    reachable(&mut app, Role::TextInput, "Search results");
    wait_for_text(&mut app, "Conflicts (1)");
    app.get_by_label_contains("Conflicts (1)").click();
    wait_for_text(&mut app, "Keep both versions");
    for label in ["Keep Left", "Keep Right", "Keep both versions"] {
        reachable(&mut app, Role::Button, label);
    }
}
