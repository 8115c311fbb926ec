//! The window driven like a user would: click, type, wait for the engine's threads.

mod window_common;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use std::time::Duration;
use synccenter::core::callback::LogLine;
use synccenter::core::model::ItemKey;
use synccenter::core::status::ItemStatus;
use window_common::*;

fn files() -> Script {
    Script::new("files", "Files", &[("alpha", "Alpha"), ("beta", "Beta")])
}

#[test]
fn a_ticked_item_syncs_with_progress_and_succeeds() {
    let home = home();
    let mut script = files();
    script.steps = 20;
    script.step = Duration::from_millis(25);
    let (engine, mut app) = window_listing(home.path(), &[script], "Beta");
    app.get_by_label("Synchronize Beta").click();
    app.run_steps(2);
    assert!(
        !engine
            .store()
            .is_checked(&ItemKey::new("files", "beta"), true)
    );
    app.get_by_label_contains("Sync now").click();
    wait_for(&mut app, "Alpha's bar to tell its percentage", |app| {
        app.query_by_label("Progress of Alpha")
            .is_some_and(|bar| bar.accesskit_node().numeric_value().is_some())
    });
    wait_for_text(&mut app, "Overall progress");
    wait_for_text(&mut app, "Succeeded");
    assert!(app.query_by_label("Progress of Beta").is_none());
    wait_for(&mut app, "the run to be recorded", |_| {
        engine
            .store()
            .item_record(&ItemKey::new("files", "alpha"))
            .is_some()
    });
    assert_eq!(
        engine
            .store()
            .item_record(&ItemKey::new("files", "beta"))
            .and_then(|r| r.last_status),
        None,
        "the unticked item did not run"
    );
}

#[test]
fn enter_is_sync_now() {
    let home = home();
    let (_engine, mut app) = window_listing(home.path(), &[files()], "Alpha");
    app.key_press(egui::Key::Enter);
    wait_for(&mut app, "both items to succeed", |app| {
        app.query_all_by_label_contains("Succeeded").count() == 2
    });
}

fn mail() -> Script {
    let mut script = Script::new("mail", "Mail", &[("inbox", "Inbox"), ("notes", "Notes")]);
    script.logon = Some(("inbox", "secret"));
    script
}

#[test]
fn a_logon_dialog_takes_the_password_and_the_sync_goes_on() {
    let home = home();
    let (_engine, mut app) = window_listing(home.path(), &[mail()], "Inbox");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Log on to Mail");
    wait_for_text(&mut app, "Waiting for your answer");
    // A wrong password keeps the dialog open with the handler's message under the field.
    type_into(&mut app, "Password", "wrong");
    app.get_by_label("Log on").click();
    wait_for_text(&mut app, "That password is not right.");
    type_into(&mut app, "Password", "secret");
    app.get_by_label("Log on").click();
    wait_for(&mut app, "both items to succeed", |app| {
        app.query_all_by_label_contains("Succeeded").count() == 2
    });
    assert!(app.query_by_label_contains("Log on to Mail").is_none());
}

#[test]
fn an_empty_password_is_refused_before_the_handler_sees_it() {
    let home = home();
    let (_engine, mut app) = window_listing(home.path(), &[mail()], "Inbox");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Log on to Mail");
    app.get_by_label("Log on").click();
    wait_for_text(&mut app, "Password is required.");
    app.key_press(egui::Key::Escape);
    wait_for_text(&mut app, "Logon canceled");
}

#[test]
fn canceling_the_logon_fails_only_that_item() {
    let home = home();
    let (engine, mut app) = window_listing(home.path(), &[mail()], "Inbox");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Log on to Mail");
    app.get_by_label("Cancel").click();
    wait_for_text(&mut app, "Failed: Logon canceled");
    wait_for(&mut app, "Notes to succeed", |app| {
        app.query_all_by_label_contains("Succeeded").count() == 1
    });
    wait_run_ended(&mut app, &engine);
    let notes = engine.store().item_record(&ItemKey::new("mail", "notes"));
    assert_eq!(
        notes.and_then(|r| r.last_status),
        Some(ItemStatus::Succeeded)
    );
}

#[test]
fn two_handlers_asking_at_once_show_one_dialog_then_the_other() {
    let home = home();
    let mut news = Script::new("news", "News", &[("feeds", "Feeds")]);
    news.logon = Some(("feeds", "secret"));
    let (_engine, mut app) = window_listing(home.path(), &[mail(), news], "Feeds");
    wait_listed(&mut app, "Inbox");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Log on to");
    app.run_steps(3);
    std::thread::sleep(Duration::from_millis(200));
    app.run_steps(3);
    assert_eq!(
        app.query_all_by_label("Log on").count(),
        1,
        "one dialog at a time"
    );
    let first = if app.query_by_label("Log on to Mail").is_some() {
        "Mail"
    } else {
        "News"
    };
    let second = if first == "Mail" { "News" } else { "Mail" };
    // The other handler's item says what it waits for.
    wait_for_text(
        &mut app,
        &format!("Waiting for its turn to ask you (after {first})"),
    );
    app.get_by_label("Cancel").click();
    wait_for_text(&mut app, &format!("Log on to {second}"));
    assert_eq!(app.query_all_by_label("Log on").count(), 1);
    app.get_by_label("Cancel").click();
    wait_for(&mut app, "both logons to be canceled", |app| {
        app.query_all_by_label_contains("Logon canceled").count() == 2
    });
}

#[test]
fn stopping_the_run_closes_its_open_dialog() {
    let home = home();
    let (engine, mut app) = window_listing(home.path(), &[mail()], "Inbox");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Log on to Mail");
    // The window behind is modal to the dialog, so the dialog offers the stop itself.
    app.get_by_label_contains("Stop synchronizing").click();
    wait_for(&mut app, "the dialog to close", |app| {
        app.query_by_label_contains("Log on to Mail").is_none()
    });
    wait_run_ended(&mut app, &engine);
}

#[test]
fn skip_leaves_a_running_item_as_it_is() {
    let home = home();
    let mut script = files();
    script.steps = 200;
    script.step = Duration::from_millis(20);
    let (engine, mut app) = window_listing(home.path(), &[script], "Alpha");
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Skip Alpha");
    app.get_by_label("Skip Alpha").click();
    wait_for_text(&mut app, "Skipped");
    app.get_by_label_contains("⏹ Stop").click();
    wait_run_ended(&mut app, &engine);
    let alpha = engine.store().item_record(&ItemKey::new("files", "alpha"));
    assert_eq!(alpha.and_then(|r| r.last_status), Some(ItemStatus::Skipped));
}

#[test]
fn results_appear_and_survive_a_restart() {
    let home = home();
    let mut script = files();
    script.log = vec![LogLine::warning(
        "Two files were locked and left for next time.",
    )];
    {
        let (engine, events) = engine(home.path(), &[script.clone()]);
        let mut app = window(engine.clone(), events);
        wait_listed(&mut app, "Alpha");
        app.get_by_label_contains("Sync now").click();
        wait_for(&mut app, "the run to end", |_| {
            engine.sessions().is_empty() && !engine.store().history().is_empty()
        });
        app.get_by_label("Results").click();
        wait_for_text(&mut app, "Two files were locked");
        app.get_by_label("Errors only").click();
        app.run_steps(2);
        assert!(
            app.query_by_label_contains("Two files were locked")
                .is_none()
        );
        // The run had no error: its heading goes too.
        assert!(app.query_by_label_contains("2 succeeded").is_none());
        wait_for_text(&mut app, "Nothing in the results matches.");
        engine.store().flush().unwrap();
    }
    let (engine, events) = engine(home.path(), &[script]);
    let mut app = window(engine, events);
    app.get_by_label("Results").click();
    wait_for_text(&mut app, "Two files were locked");
    wait_for_text(&mut app, "2 succeeded");
    // The history can be searched.
    app.get_by_label("Search results").click();
    app.run_steps(1);
    app.get_by_label("Search results")
        .type_text("no such words");
    wait_for_text(&mut app, "Nothing in the results matches.");
    assert!(
        app.query_by_label_contains("Two files were locked")
            .is_none()
    );
}

#[test]
fn an_actionable_result_opens_its_details_and_retries_as_a_new_run() {
    let home = home();
    let mut script = files();
    script.items.truncate(1);
    script.log = vec![LogLine::error("Two files were locked.").actionable()];
    let (engine, mut app) = window_listing(home.path(), &[script], "Alpha");
    app.get_by_label_contains("Sync now").click();
    wait_for(&mut app, "the run to end", |_| {
        engine.sessions().is_empty() && engine.store().history().len() == 1
    });
    // The tab says there is an error to read, until it is read.
    wait_for_text(&mut app, "Results (1 new error)");
    app.get_by_label("Results (1 new error)").click();
    wait_for_text(&mut app, "Details…");
    assert!(app.query_by_label("Results").is_some());
    app.get_by_label("Details…").click();
    wait_for_text(&mut app, "Locked files");
    app.get_by_label("Retry").click();
    wait_for(&mut app, "the retry to be recorded", |_| {
        engine.sessions().is_empty() && engine.store().history().len() == 2
    });
    wait_for(&mut app, "two runs in the results", |app| {
        app.query_all_by_label_contains("1 succeeded").count() == 2
    });
}

#[test]
fn a_conflict_is_resolved_from_the_conflicts_view_and_applied_at_once() {
    let home = home();
    let mut script = files();
    script.conflict = Some("alpha");
    let (engine, mut app) = window_listing(home.path(), &[script], "Alpha");
    app.get_by_label_contains("Sync now").click();
    // The window title counts it, so it shows in the task bar too.
    wait_for(&mut app, "the title to count the conflict", |app| {
        app.output().viewport_output.values().any(|viewport| {
            viewport.commands.iter().any(|command| {
                matches!(command, egui::ViewportCommand::Title(title)
                    if title == "Sync Center — 1 conflict")
            })
        })
    });
    wait_for_text(&mut app, "Conflicts (1)");
    // The item itself says it has a conflict, and leads to it.
    wait_for_text(&mut app, "1 conflict");
    app.get_by_label_contains("1 conflict").click();
    wait_for_text(&mut app, "report.txt — Alpha");
    assert!(app.query_by_label_contains("newer").is_some());
    assert!(app.query_by_label_contains("larger").is_some());
    wait_for(&mut app, "the first run to end", |_| {
        engine.sessions().is_empty()
    });
    app.get_by_label("Keep Right").click();
    wait_for(&mut app, "the conflict to be applied", |_| {
        engine.store().conflicts().is_empty()
    });
    wait_for_text(&mut app, "No conflicts");
    assert!(app.query_by_label_contains("Conflicts (").is_none());
}

#[test]
fn first_start_explains_handlers_and_offers_a_folder_pair() {
    let home = home();
    let folders = Script::new("folders", "Folders", &[]).with_properties();
    let (engine, events) = engine(home.path(), &[folders]);
    let mut app = window(engine, events);
    wait_for_text(&mut app, "Nothing to synchronize yet");
    app.get_by_label("Add folder pair…").click();
    wait_for_text(&mut app, "Folders settings");
    // The form checks the path before the handler sees it; the picker is offered too.
    type_into(&mut app, "Left folder", "relative/path");
    assert!(
        app.query_by_role_and_label(Role::Button, "Browse…")
            .is_some()
    );
    app.get_by_label("OK").click();
    wait_for_text(&mut app, "must be a full path");
    app.get_by_label("Cancel").click();
    wait_for(&mut app, "the dialog to close", |app| {
        app.query_by_label_contains("Folders settings").is_none()
    });
}

#[test]
fn a_handler_that_cannot_list_says_why() {
    let home = home();
    let mut broken = Script::new("remote", "Remote", &[("a", "A")]);
    broken.list_error = Some("the server at files.example.org did not answer");
    broken
        .list_failures
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let (engine, events) = engine(home.path(), &[files(), broken]);
    let mut app = window(engine, events);
    wait_for_text(
        &mut app,
        "Could not list its items: the server at files.example.org did not answer",
    );
    assert!(app.query_by_label("Alpha").is_some());
    // Trying again asks the handler again; this time it answers.
    app.get_by_label("List the items of Remote again").click();
    wait_listed(&mut app, "A");
    assert!(app.query_by_label_contains("did not answer").is_none());
}

#[test]
fn notices_show_in_a_banner_until_dismissed() {
    let home = home();
    let (engine, events) = engine(home.path(), &[files()]);
    let notice = "The results history was damaged; it was moved aside and a new one started.";
    let mut app = window_with_notices(engine, events, vec![notice.into()]);
    wait_listed(&mut app, "Alpha");
    wait_for_text(&mut app, "results history was damaged");
    // Sync now with nothing checked says what to do instead of doing nothing.
    app.get_by_label("Synchronize Alpha").click();
    app.get_by_label("Synchronize Beta").click();
    app.run_steps(2);
    app.get_by_label_contains("Sync now").click();
    wait_for_text(&mut app, "Nothing is checked");
    assert_eq!(app.query_all_by_label("Dismiss").count(), 2);
    app.get_all_by_label("Dismiss").next().unwrap().click();
    wait_for(&mut app, "the first notice to go", |app| {
        app.query_by_label_contains("results history was damaged")
            .is_none()
    });
    assert!(app.query_by_label_contains("Nothing is checked").is_some());
}

#[test]
fn a_right_click_on_an_item_syncs_just_that_item() {
    let home = home();
    let (engine, mut app) = window_listing(home.path(), &[files()], "Beta");
    right_click_beside(&mut app, "Beta");
    wait_for_text(&mut app, "Sync this item");
    app.get_by_label_contains("Sync this item").click();
    wait_for(&mut app, "Beta to succeed", |_| {
        engine.sessions().is_empty()
            && engine
                .store()
                .item_record(&ItemKey::new("files", "beta"))
                .is_some()
    });
    let alpha = engine.store().item_record(&ItemKey::new("files", "alpha"));
    assert!(alpha.is_none(), "only the clicked item ran");
}

#[test]
fn properties_open_for_the_selected_item_and_for_the_handler() {
    let home = home();
    let script = files().with_properties();
    let (_engine, mut app) = window_listing(home.path(), &[script], "Alpha");
    // A click on an item's name selects it (arrows in the list do too).
    app.get_by_label("Alpha").click();
    app.run_steps(2);
    app.get_by_label("⚙ Properties").click();
    wait_for_text(&mut app, "Files settings");
    app.key_press(egui::Key::Escape);
    wait_for(&mut app, "the dialog to close", |app| {
        app.query_by_label_contains("Files settings").is_none()
    });
    open_handler_properties(&mut app, "Files");
}

#[test]
fn a_big_run_lists_its_quiet_successes_briefly() {
    let home = home();
    let names: Vec<(&'static str, &'static str)> = (0..25)
        .map(|n| {
            let id: &'static str = format!("item-{n}").leak();
            let name: &'static str = format!("Item {n}").leak();
            (id, name)
        })
        .collect();
    let mut script = Script::new("many", "Many", &names);
    script.steps = 1;
    script.step = Duration::from_millis(1);
    let (engine, mut app) = window_listing(home.path(), &[script], "Item 0");
    app.get_by_label_contains("Sync now").click();
    wait_for(&mut app, "the run to be recorded", |_| {
        engine.sessions().is_empty() && !engine.store().history().is_empty()
    });
    app.get_by_label("Results").click();
    wait_for_text(&mut app, "…and 5 more items succeeded.");
    assert!(app.query_by_label("Item 24 (Many)").is_none());
}

#[test]
fn a_right_click_on_a_handler_syncs_all_its_items() {
    let home = home();
    let (_engine, mut app) = window_listing(home.path(), &[files()], "Beta");
    // Unticked items too: the handler's menu is about all of them.
    app.get_by_label("Synchronize Beta").click();
    app.run_steps(2);
    right_click_beside(&mut app, "Files");
    wait_for_text(&mut app, "Sync all items of Files");
    app.get_by_label_contains("Sync all items of Files").click();
    wait_for(&mut app, "both items to succeed", |app| {
        app.query_all_by_label_contains("Succeeded").count() == 2
    });
}
