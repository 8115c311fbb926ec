//! Nothing a run did is lost when the window closes, and saves that fail reach the user:
//! the real window (its `on_exit`, its notices) over a real engine and store.

mod window_common;

use eframe::App;
use egui_kittest::kittest::Queryable;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use synccenter::core::callback::{Callback, Progress};
use synccenter::core::engine::{Engine, EngineConfig};
use synccenter::core::handler::{FnProvider, Handler, HandlerResult, Registry};
use synccenter::core::model::{
    Enumeration, HandlerInfo, ItemId, ItemInfo, ItemKey, Participation, RunContext,
};
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, Store};
use window_common::*;

/// Syncs "quick" at once; on "stubborn" it works on, deaf to Stop, until `release`.
struct Stubborn {
    release: Arc<AtomicBool>,
}

impl Handler for Stubborn {
    fn initialize(&mut self, _: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }
    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: "Stubborn".into(),
            icon: Default::default(),
            has_properties: false,
        }
    }
    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        Ok(Enumeration {
            items: vec![
                ItemInfo::new("quick", "Quick"),
                ItemInfo::new("stubborn", "Stubborn item"),
            ],
            some_missing: false,
        })
    }
    fn prepare(&mut self, _: &[ItemId], _: &Callback) -> HandlerResult<()> {
        Ok(())
    }
    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        for item in items {
            if item.as_str() == "quick" {
                callback.progress(
                    item,
                    Progress::status(ItemStatus::Succeeded).with_text("Done"),
                );
                continue;
            }
            callback.progress(item, Progress::steps(1, 10).with_text("Copying a big file"));
            while !self.release.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}

fn stubborn_engine(
    home: &std::path::Path,
    release: &Arc<AtomicBool>,
) -> (
    Engine,
    crossbeam_channel::Receiver<synccenter::core::events::Event>,
) {
    let release = release.clone();
    let provider = FnProvider::new("stubborn", "Stubborn", move || {
        Box::new(Stubborn {
            release: release.clone(),
        }) as Box<dyn Handler>
    });
    let (store, _) = Store::open(Home::under(home));
    // The handler may take 10 s to stop, longer than the window waits when it closes.
    Engine::new(
        Registry::new().with(provider),
        store,
        EngineConfig::default(),
    )
}

#[test]
fn closing_the_window_during_a_run_records_what_it_did() {
    let home = home();
    let release = Arc::new(AtomicBool::new(false));
    let (engine, events) = stubborn_engine(home.path(), &release);
    let mut app = window(engine.clone(), events);
    wait_listed(&mut app, "Stubborn item");
    app.get_by_label_contains("Sync now").click();
    wait_for(&mut app, "the big file to be copied", |_| {
        engine
            .board()
            .snapshot(&ItemKey::new("stubborn", "stubborn"))
            .is_some_and(|s| s.text == "Copying a big file")
    });
    // The user closes the window.
    app.state_mut().on_exit(None);
    let (store, _) = Store::open(Home::under(home.path()));
    let history = store.history();
    release.store(true, Ordering::SeqCst);
    let run = history.last().expect("the run is recorded");
    let result = |item: &str| {
        let found = run
            .items
            .iter()
            .find(|i| i.key == ItemKey::new("stubborn", item))
            .unwrap();
        (found.status, found.text.clone())
    };
    assert_eq!(result("quick"), (ItemStatus::Succeeded, "Done".into()));
    assert_eq!(
        result("stubborn"),
        (
            ItemStatus::Canceled,
            "Stopped when Sync Center closed.".into()
        )
    );
    assert!(
        store
            .item_record(&ItemKey::new("stubborn", "quick"))
            .is_some_and(|r| r.last_synced.is_some()),
        "the success counts as the item's last sync"
    );
}

#[test]
fn a_save_that_fails_is_shown_in_the_window() {
    let home = home();
    let (engine, events) = engine(
        home.path(),
        &[Script::new("files", "Files", &[("alpha", "Alpha")])],
    );
    let mut app = window(engine, events);
    wait_listed(&mut app, "Alpha");
    // The settings folder is gone, a file in its place: nothing can be saved there.
    let config = home.path().join("config");
    std::fs::remove_dir_all(&config).unwrap();
    std::fs::write(&config, "not a folder").unwrap();
    app.get_by_label("Synchronize Alpha").click();
    wait_for_text(&mut app, "could not save your item choices");
}
