//! The window by keyboard and mouse: the item list is one Tab stop with arrow keys, Space
//! checks, Enter syncs, a click on a name selects without checking, and a refused form puts
//! the keyboard in the field at fault.

mod window_common;

use egui::accesskit::{Role, Toggled};
use egui_kittest::kittest::{NodeT, Queryable};
use synccenter::core::model::ItemKey;
use window_common::*;

fn files() -> Script {
    Script::new(
        "files",
        "Files",
        &[("alpha", "Alpha"), ("beta", "Beta"), ("gamma", "Gamma")],
    )
}

/// The role and name of the node that has the keyboard.
fn focused(app: &App) -> Option<(Role, String)> {
    app.query_by(|node| node.is_focused()).map(|node| {
        let node = node.accesskit_node();
        (node.role(), node.label().unwrap_or_default())
    })
}

fn is_selected(app: &App, name: &str) -> bool {
    app.get_by_label(name).accesskit_node().is_selected() == Some(true)
}

/// Presses Tab until the item list has the keyboard; returns every stop passed on the way.
fn tab_to_the_list(app: &mut App) -> Vec<(Role, String)> {
    let mut passed = Vec::new();
    for _ in 0..20 {
        app.key_press(egui::Key::Tab);
        app.run_steps(2);
        match focused(app) {
            Some((Role::List, _)) => return passed,
            Some(stop) => passed.push(stop),
            None => {}
        }
    }
    panic!("Tab never reached the item list; it passed {passed:?}");
}

#[test]
fn the_item_list_is_one_tab_stop_moved_through_with_arrows() {
    let home = home();
    let (_engine, mut app) = window_listing(home.path(), &[files()], "Gamma");
    let before = tab_to_the_list(&mut app);
    assert!(
        before.iter().all(|(role, _)| *role != Role::CheckBox),
        "no item is a Tab stop of its own: {before:?}"
    );
    // The keyboard arriving selects the first item, and the arrows move from there.
    assert!(is_selected(&app, "Alpha"));
    for (key, expected) in [
        (egui::Key::ArrowDown, "Beta"),
        (egui::Key::ArrowDown, "Gamma"),
        (egui::Key::ArrowDown, "Gamma"),
        (egui::Key::Home, "Alpha"),
        (egui::Key::End, "Gamma"),
        (egui::Key::ArrowUp, "Beta"),
    ] {
        app.key_press(key);
        app.run_steps(2);
        assert!(is_selected(&app, expected), "{key:?} selects {expected}");
        assert_eq!(
            focused(&app).map(|(role, _)| role),
            Some(Role::List),
            "{key:?} keeps the keyboard in the list"
        );
    }
    assert!(!is_selected(&app, "Alpha"));
    // One more Tab leaves the list: the items are not stops after it either.
    app.key_press(egui::Key::Tab);
    app.run_steps(2);
    let after = focused(&app);
    assert!(
        after
            .as_ref()
            .is_none_or(|(role, _)| *role != Role::CheckBox && *role != Role::List),
        "Tab left the list, to {after:?}"
    );
}

#[test]
fn space_checks_the_selected_item_and_enter_syncs_the_checked_ones() {
    let home = home();
    let (engine, mut app) = window_listing(home.path(), &[files()], "Gamma");
    tab_to_the_list(&mut app);
    app.key_press(egui::Key::ArrowDown);
    app.run_steps(2);
    app.key_press(egui::Key::Space);
    app.run_steps(2);
    let beta = ItemKey::new("files", "beta");
    assert!(
        !engine.store().is_checked(&beta, true),
        "Space unchecked Beta"
    );
    assert_eq!(
        app.get_by_label("Synchronize Beta")
            .accesskit_node()
            .toggled(),
        Some(Toggled::False)
    );
    assert!(
        is_selected(&app, "Beta"),
        "Space does not move the selection"
    );
    // Enter in the list is Sync now: the checked items run, Beta does not.
    app.key_press(egui::Key::Enter);
    wait_for(&mut app, "Alpha and Gamma to succeed", |app| {
        app.query_all_by_label_contains("Succeeded").count() == 2
    });
    wait_run_ended(&mut app, &engine);
    assert!(
        engine.store().item_record(&beta).is_none(),
        "Beta did not run"
    );
    for item in ["alpha", "gamma"] {
        assert!(
            engine
                .store()
                .item_record(&ItemKey::new("files", item))
                .is_some()
        );
    }
}

#[test]
fn clicking_a_name_selects_the_row_without_unchecking_it() {
    let home = home();
    let (engine, mut app) = window_listing(home.path(), &[files()], "Beta");
    let beta = ItemKey::new("files", "beta");
    app.get_by_label("Beta").click();
    app.run_steps(2);
    assert!(is_selected(&app, "Beta"));
    assert!(engine.store().is_checked(&beta, true), "still checked");
    // The click gave the list the keyboard: the arrows go on from the clicked row.
    assert_eq!(focused(&app).map(|(role, _)| role), Some(Role::List));
    app.key_press(egui::Key::ArrowDown);
    app.run_steps(2);
    assert!(is_selected(&app, "Gamma"));
    // The box itself checks and unchecks.
    app.get_by_label("Synchronize Beta").click();
    app.run_steps(2);
    assert!(!engine.store().is_checked(&beta, true));
}

#[test]
fn a_refused_ok_puts_the_keyboard_in_the_field_at_fault() {
    let home = home();
    let script = files().with_properties();
    let (_engine, mut app) = window_listing(home.path(), &[script], "Alpha");
    open_handler_properties(&mut app, "Files");
    // Away from the empty required field, then OK.
    app.get_by_label("Keep days").click();
    app.run_steps(2);
    app.get_by_label("OK").click();
    wait_for_text(&mut app, "Left folder is required.");
    app.run_steps(2);
    assert_eq!(
        focused(&app),
        Some((Role::TextInput, "Left folder".to_string())),
        "the field in error has the keyboard"
    );
    // Typing goes straight into it.
    app.get_by_label("Left folder").type_text("/tmp");
    app.run_steps(2);
    assert_eq!(
        app.get_by_label("Left folder").value().as_deref(),
        Some("/tmp")
    );
}
