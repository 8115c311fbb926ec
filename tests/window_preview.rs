//! Preview in the window over the real folder pairs handler: the planned changes with their
//! arrows and counts before anything changes; Sync from the preview plans again and shows
//! the new plan when a side changed since, and applies the plan when nothing did.

mod window_common;

use egui_kittest::kittest::Queryable;
use window_common::*;

#[test]
fn preview_lists_the_plan_and_sync_applies_it_or_shows_a_new_one() {
    let home = home();
    let (left, right) = (home.path().join("left"), home.path().join("right"));
    std::fs::create_dir_all(&left).unwrap();
    std::fs::create_dir_all(&right).unwrap();
    std::fs::write(left.join("a.txt"), "hello").unwrap();
    std::fs::write(right.join("b.txt"), "from the right").unwrap();
    add_two_way_pair(home.path(), "Notes", &left, &right);
    let (engine, _center, mut app) = folders_window(home.path());
    wait_listed(&mut app, "Notes");

    app.get_by_label("Preview").click();
    wait_for_text(&mut app, "Notes: 2 to copy · 19 bytes");
    assert!(app.query_by_label("a.txt (5 bytes)").is_some());
    assert!(app.query_by_label("b.txt (14 bytes)").is_some());
    assert_eq!(arrows(&app), (1, 1));
    assert!(!right.join("a.txt").exists() && !left.join("b.txt").exists());
    app.run_steps(2);

    // A side changes after the preview: Sync shows the new plan and changes nothing yet.
    std::fs::write(left.join("c.txt"), "late").unwrap();
    app.get_by_label("Sync").click();
    wait_for_text(&mut app, "Files changed since the preview");
    wait_for_text(&mut app, "Notes: 3 to copy · 23 bytes");
    assert!(app.query_by_label("c.txt (4 bytes)").is_some());
    assert_eq!(arrows(&app), (2, 1));
    assert!(!right.join("a.txt").exists() && !left.join("b.txt").exists());
    app.run_steps(2);

    // Nothing changed since this plan: Sync applies it and the preview closes.
    app.get_by_label("Sync").click();
    wait_for_text(&mut app, "Succeeded");
    wait_run_ended(&mut app, &engine);
    assert!(app.query_by_label_contains("to copy").is_none());
    for (dir, file, text) in [
        (&right, "a.txt", "hello"),
        (&right, "c.txt", "late"),
        (&left, "b.txt", "from the right"),
    ] {
        assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), text);
    }
}

/// How many planned changes go to the right and to the left.
fn arrows(app: &App) -> (usize, usize) {
    (
        app.query_all_by_label("➡").count(),
        app.query_all_by_label("⬅").count(),
    )
}
