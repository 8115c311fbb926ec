//! What the window says while a sync runs and after it, and what drawing it costs: the stage
//! and figures a handler reports, the overall bar weighed by work, statuses that mean what
//! they say, and frames coalesced while progress streams. Handlers here play a script and
//! wait for the test where it wants to look.

mod window_common;

use crossbeam_channel::{Receiver, Sender};
use egui_kittest::kittest::{NodeT, Queryable};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use synccenter::core::activity::{Activity, Change, Direction};
use synccenter::core::callback::{Callback, LogLine, Progress};
use synccenter::core::engine::{Engine, EngineConfig};
use synccenter::core::figures::Figures;
use synccenter::core::handler::{FnProvider, Handler, HandlerResult, Registry};
use synccenter::core::model::{
    Enumeration, HandlerId, HandlerInfo, Icon, ItemId, ItemInfo, ItemKey, Participation,
    PropertiesOutcome, PropertiesTarget, RunContext,
};
use synccenter::core::progress::Stage;
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, Store};
use window_common::{App, home, wait_for, wait_for_text, wait_listed, wait_run_ended, window};

/// What a handler does for one item; `go` lets it on where the test wants to look.
type Play = Arc<dyn Fn(&ItemId, &Callback, &Receiver<()>) + Send + Sync>;

struct Played {
    items: Vec<(&'static str, &'static str)>,
    play: Play,
    go: Receiver<()>,
}

impl Handler for Played {
    fn initialize(&mut self, _run: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }

    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: "Transfers".into(),
            icon: Icon::Folder,
            has_properties: false,
        }
    }

    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        Ok(Enumeration {
            items: self
                .items
                .iter()
                .map(|(id, name)| ItemInfo::new(*id, *name))
                .collect(),
            some_missing: false,
        })
    }

    fn prepare(&mut self, _items: &[ItemId], _callback: &Callback) -> HandlerResult<()> {
        Ok(())
    }

    /// As if the user corrected the item's settings.
    fn show_properties(
        &mut self,
        _target: &PropertiesTarget,
        _callback: &Callback,
    ) -> HandlerResult<PropertiesOutcome> {
        Ok(PropertiesOutcome::ItemsChanged)
    }

    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        for item in items {
            (self.play)(item, callback, &self.go);
        }
        Ok(())
    }
}

/// The window over a handler playing `play` for these items, and the sender that lets it on.
fn center(
    home: &std::path::Path,
    items: &[(&'static str, &'static str)],
    play: impl Fn(&ItemId, &Callback, &Receiver<()>) + Send + Sync + 'static,
) -> (App, Engine, Sender<()>) {
    let (go_tx, go) = crossbeam_channel::unbounded();
    let play: Play = Arc::new(play);
    let items = items.to_vec();
    let mut registry = Registry::new();
    registry.add(FnProvider::new("transfers", "Transfers", move || {
        Box::new(Played {
            items: items.clone(),
            play: play.clone(),
            go: go.clone(),
        }) as Box<dyn Handler>
    }));
    let (store, _) = Store::open(Home::under(home));
    let (engine, events) = Engine::new(registry, store, EngineConfig::default());
    let app = window(engine.clone(), events);
    (app, engine, go_tx)
}

fn wait(go: &Receiver<()>) {
    let _ = go.recv_timeout(Duration::from_secs(20));
}

fn sync_now(app: &mut App) {
    app.get_by_label_contains("Sync now").click();
}

/// The labels shown now that contain `text`.
fn labels_with(app: &App, text: &str) -> Vec<String> {
    app.query_all_by_label_contains(text)
        .filter_map(|node| {
            let node = node.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .collect()
}

#[test]
fn a_pair_says_its_stage_and_figures() {
    let home = home();
    let (mut app, _engine, go) = center(home.path(), &[("photos", "Photos")], |item, cb, go| {
        let checked = Figures {
            files_done: 12_345,
            ..Figures::at(Stage::ChangeDetection)
        };
        cb.progress(item, Progress::figures(&checked));
        wait(go);
        let copying = Figures {
            files_done: 1_234,
            files_total: Some(20_108),
            bytes_done: 312_000_000,
            bytes_total: Some(1_400_000_000),
            current: Some("Reports/report.pdf".into()),
            change: Some(Change::Copied),
            direction: Some(Direction::ToLeft),
            ..Figures::at(Stage::ChangeApplication)
        };
        cb.progress(item, Progress::figures(&copying));
        wait(go);
    });
    wait_listed(&mut app, "Photos");
    sync_now(&mut app);
    wait_for_text(&mut app, "Looking for changes · 12,345 files checked");
    go.send(()).unwrap();
    wait_for_text(
        &mut app,
        "Copying 1,234 of 20,108 files · 312.0 MB of 1.4 GB · ⬅ report.pdf",
    );
    go.send(()).unwrap();
    wait_for_text(&mut app, "Succeeded");
    // The running words are gone with the run.
    assert!(labels_with(&app, "Copying").is_empty());
}

/// The overall bar's percentage, as a screen reader hears it.
fn overall_percent(app: &App) -> Option<f64> {
    app.query_by_label("Overall progress")?
        .accesskit_node()
        .numeric_value()
}

#[test]
fn the_overall_bar_weighs_items_by_their_work() {
    let home = home();
    let items = [("small", "Small"), ("big", "Big")];
    let (mut app, _engine, go) = center(home.path(), &items, |item, cb, go| {
        if item.as_str() == "small" {
            let done = Figures {
                files_done: 3,
                files_total: Some(3),
                bytes_done: 3_000,
                bytes_total: Some(3_000),
                ..Figures::at(Stage::ChangeApplication)
            };
            cb.progress(
                item,
                Progress {
                    figures: Some(&done),
                    status: Some(ItemStatus::Succeeded),
                    ..Progress::steps(3, 3)
                },
            );
            return;
        }
        let big = Figures {
            files_done: 3_800,
            files_total: Some(20_000),
            bytes_done: 15_200_000,
            bytes_total: Some(80_000_000),
            ..Figures::at(Stage::ChangeApplication)
        };
        cb.progress(
            item,
            Progress {
                figures: Some(&big),
                ..Progress::steps(19, 100)
            },
        );
        wait(go);
    });
    wait_listed(&mut app, "Big");
    sync_now(&mut app);
    wait_for(&mut app, "the big pair at 19 %", |app| {
        app.query_by_label("Progress of Big")
            .and_then(|bar| bar.accesskit_node().numeric_value())
            .is_some_and(|p| (p - 19.0).abs() < 0.5)
            // The one item left running: the bottom line gives its figures in full.
            && app
                .query_all_by_label_contains("Big: Synchronizing 3,800 of 20,000 files · 15.2 MB of 80.0 MB")
                .count()
                > 0
    });
    // One of two items done, but the small one weighs little: 19 %, not 59 %.
    let overall = overall_percent(&app).expect("the overall bar tells its percentage");
    assert!((18.5..20.0).contains(&overall), "{overall}");
    go.send(()).unwrap();
    wait_for_text(&mut app, "Succeeded");
}

#[test]
fn statuses_say_what_a_run_left_and_never_keep_running_words() {
    let home = home();
    let items = [
        ("clean", "Clean"),
        ("clashes", "Clashes"),
        ("chosen", "Chosen"),
    ];
    let (mut app, engine, _go) = center(home.path(), &items, |item, cb, _go| {
        cb.progress(
            item,
            Progress::steps(5, 20).with_text("Downloading 5 of 20…"),
        );
        match item.as_str() {
            "clashes" => {
                cb.log(LogLine::error("Could not copy locked.txt").item(item));
                cb.progress(item, Progress::status(ItemStatus::Succeeded));
            }
            // What the user chose is not a failure.
            "chosen" => {
                cb.progress(
                    item,
                    Progress::status(ItemStatus::Canceled).with_text("You chose not to sync"),
                );
            }
            // Ends by returning: succeeded, and its running text goes.
            _ => {}
        }
    });
    wait_listed(&mut app, "Chosen");
    sync_now(&mut app);
    wait_for(&mut app, "the run to be recorded", |_| {
        engine
            .store()
            .item_record(&ItemKey::new("transfers", "chosen"))
            .is_some()
    });
    wait_for_text(&mut app, "Succeeded with 1 error");
    wait_for_text(&mut app, "Canceled: You chose not to sync");
    assert!(
        labels_with(&app, "Failed").is_empty(),
        "{:?}",
        labels_with(&app, "Failed")
    );
    assert!(
        labels_with(&app, "Downloading").is_empty(),
        "{:?}",
        labels_with(&app, "Downloading")
    );
    assert_eq!(labels_with(&app, "Succeeded").len(), 2);
    // The same after a restart, from what was recorded.
    drop(app);
    engine.close(Duration::from_secs(2)).unwrap();
    let (mut app, _engine, _go) = center(home.path(), &items, |_, _, _| {});
    wait_listed(&mut app, "Chosen");
    wait_for_text(&mut app, "Succeeded with 1 error");
    assert!(labels_with(&app, "Failed").is_empty());
}

#[test]
fn streaming_progress_repaints_at_most_ten_times_a_second() {
    let home = home();
    let (mut app, _engine, go) = center(home.path(), &[("photos", "Photos")], |item, cb, go| {
        wait(go);
        for n in 0..5_000u64 {
            let figures = Figures {
                files_done: n,
                files_total: Some(5_000),
                change: Some(Change::Copied),
                ..Figures::at(Stage::ChangeApplication)
            };
            cb.progress(
                item,
                Progress {
                    figures: Some(&figures),
                    ..Progress::steps(n, 5_000)
                },
            );
        }
        wait(go);
    });
    wait_listed(&mut app, "Photos");
    sync_now(&mut app);
    wait_for_text(&mut app, "Synchronizing");
    // From here, every repaint asked for (by the engine's threads or the window itself).
    let asked: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let record = asked.clone();
    app.ctx
        .set_request_repaint_callback(move |info| record.lock().push(info.delay));
    app.run_steps(1);
    asked.lock().clear();
    go.send(()).unwrap();
    wait_for_text(&mut app, "Copying 4,999 of 5,000 files");
    let while_streaming = asked.lock().clone();
    assert!(!while_streaming.is_empty());
    assert!(
        while_streaming
            .iter()
            .all(|delay| *delay >= Duration::from_millis(90)),
        "progress asked for an immediate frame: {while_streaming:?}"
    );
    // The end of the run is shown at once; then the idle window wakes once a minute.
    go.send(()).unwrap();
    wait_for_text(&mut app, "Succeeded");
    // Once the run's end has been taken in (its record saved, its news read), a frame asks
    // for nothing sooner than the minute tick.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        asked.lock().clear();
        app.run_steps(1);
        if asked.lock().as_slice() == [Duration::from_secs(60)] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "an idle window asked for {:?}",
            asked.lock()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn results_list_what_each_item_changed_and_search_it() {
    let home = home();
    let items = [("photos", "Photos"), ("quiet", "Quiet")];
    let (mut app, engine, _go) = center(home.path(), &items, |item, cb, _go| {
        if item.as_str() != "photos" {
            return;
        }
        for n in 0..30 {
            cb.activity(
                item,
                Activity::new(
                    format!("photo-{n:02}.jpg"),
                    Direction::ToRight,
                    Change::Copied,
                )
                .size(1_000),
            );
        }
        cb.activity(
            item,
            Activity::new("old.txt", Direction::ToLeft, Change::Deleted),
        );
        cb.activity(
            item,
            Activity::new("clash.txt", Direction::Both, Change::Conflict),
        );
    });
    wait_listed(&mut app, "Quiet");
    sync_now(&mut app);
    wait_for(&mut app, "the run to be recorded", |_| {
        engine.sessions().is_empty() && !engine.store().history().is_empty()
    });
    app.get_by_label("Results").click();
    // Counts by action and bytes; the conflict named; a conflict is not a plain success.
    wait_for_text(&mut app, "30 copied, 1 deleted, 1 conflict · 30.0 KB");
    wait_for_text(&mut app, "In conflict: clash.txt");
    wait_for_text(&mut app, "Succeeded with 1 conflict");
    app.get_by_label_contains("Changed files of Photos").click();
    wait_for_text(&mut app, "➡ copied photo-00.jpg · 1.0 KB");
    let search = "Search the changed files of Photos";
    app.get_by_label(search).click();
    app.run_steps(1);
    app.get_by_label(search).type_text("photo-07");
    wait_for_text(&mut app, "➡ copied photo-07.jpg · 1.0 KB");
    assert_eq!(labels_with(&app, "➡ copied").len(), 1);
    app.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    app.run_steps(1);
    app.get_by_label(search).type_text("OLD");
    wait_for_text(&mut app, "⬅ deleted old.txt");
    assert!(labels_with(&app, "➡ copied").is_empty());
    // "Warnings and errors" hides the quiet success, not the item with a conflict.
    assert!(!labels_with(&app, "Quiet (Transfers)").is_empty());
    app.get_by_label("Warnings and errors").click();
    app.run_steps(2);
    assert!(labels_with(&app, "Quiet (Transfers)").is_empty());
    assert!(!labels_with(&app, "Photos (Transfers)").is_empty());

    // The Results search looks into the lists of changed files too: the run and the item
    // that changed photo-12.jpg show, with their list opened at it; the item's own search,
    // once emptied, gives way to it.
    app.get_by_label("Everything").click();
    app.get_by_label(search).click();
    app.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    app.key_press(egui::Key::Backspace);
    app.run_steps(1);
    app.get_by_label("Search results").click();
    app.run_steps(1);
    app.get_by_label("Search results").type_text("PHOTO-12");
    wait_for_text(&mut app, "Changed files of Photos (Transfers) · 1 matching");
    wait_for_text(&mut app, "➡ copied photo-12.jpg · 1.0 KB");
    assert_eq!(labels_with(&app, "➡ copied").len(), 1);
    assert!(labels_with(&app, "Quiet (Transfers)").is_empty());
    app.get_by_label("Search results")
        .type_text("-no-such-file");
    wait_for_text(&mut app, "Nothing in the results matches.");
}

#[test]
fn canceling_a_logon_is_the_users_choice_not_a_failure() {
    let home = home();
    let registry = Registry::new().with(synccenter::handlers::demo::provider(
        Duration::from_millis(1),
    ));
    let (store, _) = Store::open(Home::under(home.path()));
    let (engine, events) = Engine::new(registry, store, EngineConfig::default());
    let mut app = window(engine.clone(), events);
    wait_listed(&mut app, "Mail (ann@example.org)");
    sync_now(&mut app);
    wait_for_text(&mut app, "Log on to Mail");
    app.get_by_label("Cancel").click();
    wait_run_ended(&mut app, &engine);
    wait_for_text(&mut app, "Canceled: You canceled the logon");
    assert!(
        labels_with(&app, "Failed").is_empty(),
        "{:?}",
        labels_with(&app, "Failed")
    );
}

#[test]
fn a_corrected_item_loses_its_stale_error() {
    let home = home();
    let (mut app, engine, _go) = center(home.path(), &[("pair", "Pair")], |item, cb, _go| {
        cb.progress(
            item,
            Progress::status(ItemStatus::Failed).with_text("The left folder is missing"),
        );
    });
    wait_listed(&mut app, "Pair");
    sync_now(&mut app);
    wait_run_ended(&mut app, &engine);
    wait_for_text(&mut app, "Failed: The left folder is missing");
    engine.show_properties(
        &HandlerId::new("transfers"),
        PropertiesTarget::Item(ItemId::new("pair")),
    );
    wait_for_text(&mut app, "Not synchronized yet");
    assert!(labels_with(&app, "missing").is_empty());
    let record = engine
        .store()
        .item_record(&ItemKey::new("transfers", "pair"))
        .unwrap();
    assert_eq!((record.last_status, record.last_text.as_str()), (None, ""));
}
