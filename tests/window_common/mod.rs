//! A scripted handler and a harness around the real window, for the window's tests.

#![allow(dead_code)] // Each test binary uses its own part of this.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use synccenter::core::callback::{Callback, LogLine, Progress};
use synccenter::core::conflicts::{ConflictReport, ConflictSide};
use synccenter::core::dialog::{Button, ButtonRole, Field, Form};
use synccenter::core::engine::{Engine, EngineConfig};
use synccenter::core::events::Event;
use synccenter::core::handler::{FnProvider, Handler, HandlerError, HandlerResult, Registry};
use synccenter::core::model::{
    Enumeration, HandlerInfo, Icon, ItemId, ItemInfo, LogId, Participation, PropertiesOutcome,
    PropertiesTarget, RunContext, ShowErrorOutcome,
};
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, Store};
use synccenter::handlers::folders;
use synccenter::window::SyncCenterApp;

/// What a scripted handler does.
#[derive(Clone)]
pub struct Script {
    pub id: &'static str,
    pub name: &'static str,
    /// (id, name) of each item.
    pub items: Vec<(&'static str, &'static str)>,
    /// The item whose sync needs a logon first, and the password it accepts.
    pub logon: Option<(&'static str, &'static str)>,
    /// Progress steps per item and the pause between them.
    pub steps: u64,
    pub step: Duration,
    /// The item that reports a conflict until the user resolved it.
    pub conflict: Option<&'static str>,
    /// Lines logged at the end of each item.
    pub log: Vec<LogLine>,
    /// Listing fails with this error, as many times as `list_failures` says.
    pub list_error: Option<&'static str>,
    pub list_failures: Arc<AtomicUsize>,
    /// The handler and its items have a properties dialog (a form that changes nothing).
    pub properties: bool,
    /// The item that fails after its steps, and what it says.
    pub failure: Option<(&'static str, &'static str)>,
}

impl Script {
    pub fn new(
        id: &'static str,
        name: &'static str,
        items: &[(&'static str, &'static str)],
    ) -> Self {
        Self {
            id,
            name,
            items: items.to_vec(),
            logon: None,
            steps: 5,
            step: Duration::from_millis(10),
            conflict: None,
            log: Vec::new(),
            list_error: None,
            list_failures: Arc::new(AtomicUsize::new(usize::MAX)),
            properties: false,
            failure: None,
        }
    }

    /// The handler and its items with a properties dialog: the form "<name> settings".
    pub fn with_properties(mut self) -> Self {
        self.properties = true;
        self
    }
}

struct Scripted(Script);

impl Handler for Scripted {
    fn initialize(&mut self, _run: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }

    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: self.0.name.into(),
            icon: Icon::Folder,
            has_properties: self.0.properties,
        }
    }

    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        let fails = self
            .0
            .list_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if let Some(error) = self.0.list_error.filter(|_| fails) {
            return Err(HandlerError::new(error));
        }
        let items = self
            .0
            .items
            .iter()
            .map(|(id, name)| ItemInfo {
                has_properties: self.0.properties,
                ..ItemInfo::new(*id, *name)
            })
            .collect();
        Ok(Enumeration {
            items,
            some_missing: false,
        })
    }

    fn show_properties(
        &mut self,
        _target: &PropertiesTarget,
        callback: &Callback,
    ) -> HandlerResult<PropertiesOutcome> {
        if let Ok(permit) = callback.request_ui(None) {
            let form = Form::new(format!("{} settings", self.0.name))
                .field(Field::folder("left", "Left folder", "").required())
                .field(Field::number("keep", "Keep days", 7, Some(1), Some(30)));
            permit.show(form);
        }
        Ok(PropertiesOutcome::Unchanged)
    }

    /// Details of an actionable line: Retry runs the first item again.
    fn show_error(
        &mut self,
        _error: LogId,
        callback: &Callback,
    ) -> HandlerResult<ShowErrorOutcome> {
        let Ok(permit) = callback.request_ui(None) else {
            return Ok(ShowErrorOutcome::Done);
        };
        let form = Form::new("Locked files")
            .message("Two files were locked by another program.")
            .buttons(vec![
                Button::new("retry", "Retry", ButtonRole::Accept),
                Button::new("close", "Close", ButtonRole::Reject),
            ]);
        Ok(match permit.show(form).pressed("retry") {
            Some(_) => ShowErrorOutcome::Retry(vec![ItemId::new(self.0.items[0].0)]),
            None => ShowErrorOutcome::Done,
        })
    }

    fn prepare(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        let Some((item, password)) = self.0.logon else {
            return Ok(());
        };
        let item = ItemId::new(item);
        if !items.contains(&item) {
            return Ok(());
        }
        let Ok(permit) = callback.request_ui(Some(&item)) else {
            callback.progress(
                &item,
                Progress::status(ItemStatus::Failed).with_text("Logon canceled"),
            );
            return Ok(());
        };
        let mut form = Form::logon(
            format!("Log on to {}", self.0.name),
            "Enter your password.",
            "ann",
        );
        loop {
            let reply = permit.show(form.clone());
            let Some(values) = reply.pressed("ok") else {
                callback.progress(
                    &item,
                    Progress::status(ItemStatus::Failed).with_text("Logon canceled"),
                );
                return Ok(());
            };
            if values.get("password").and_then(|v| v.as_text()) == Some(password) {
                return Ok(());
            }
            form.fields[1] = Field::password("password", "Password")
                .required()
                .error("That password is not right.");
        }
    }

    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        for item in items {
            let reply = callback.check(item);
            if let Some(status) = reply.final_status() {
                callback.progress(item, Progress::status(status));
                continue;
            }
            let mut stopped = false;
            for value in 0..=self.0.steps {
                let text = format!("Copying {value} of {}", self.0.steps);
                let reply =
                    callback.progress(item, Progress::steps(value, self.0.steps).with_text(&text));
                if let Some(status) = reply.final_status() {
                    callback.progress(item, Progress::status(status));
                    stopped = true;
                    break;
                }
                std::thread::sleep(self.0.step);
            }
            if stopped {
                continue;
            }
            if let Some((_, text)) = self.0.failure.filter(|(id, _)| *id == item.as_str()) {
                callback.progress(item, Progress::status(ItemStatus::Failed).with_text(text));
                continue;
            }
            if self.0.conflict == Some(item.as_str()) {
                let resolved = !callback.chosen_resolutions(item).is_empty();
                let reports = if resolved {
                    Vec::new()
                } else {
                    vec![conflict()]
                };
                callback.replace_conflicts(item, reports);
            }
            for line in &self.0.log {
                callback.log(line.clone().item(item));
            }
        }
        Ok(())
    }
}

fn conflict() -> ConflictReport {
    let side = |label: &str, size, secs| ConflictSide {
        label: label.into(),
        location: format!("/home/ann/{label}"),
        exists: true,
        is_dir: false,
        size: Some(size),
        modified: Some(std::time::UNIX_EPOCH + Duration::from_secs(secs)),
    };
    ConflictReport {
        id: "report.txt".into(),
        path: "report.txt".into(),
        left: side("Left", 1200, 1_700_000_000),
        right: side("Right", 900, 1_700_000_500),
    }
}

/// An engine over these scripted handlers, keeping its state under `home`.
pub fn engine(home: &Path, scripts: &[Script]) -> (Engine, crossbeam_channel::Receiver<Event>) {
    let mut registry = Registry::new();
    for script in scripts {
        let script = script.clone();
        let (id, name) = (script.id, script.name);
        registry.add(FnProvider::new(id, name, move || {
            Box::new(Scripted(script.clone())) as Box<dyn Handler>
        }));
    }
    let (store, _) = Store::open(Home::under(home));
    let config = EngineConfig {
        stop_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    Engine::new(registry, store, config)
}

pub type App = Harness<'static, SyncCenterApp>;

/// The real window over this engine, in a test harness.
pub fn window(engine: Engine, events: crossbeam_channel::Receiver<Event>) -> App {
    window_with_notices(engine, events, Vec::new())
}

/// The window with notices from startup (damaged state files moved aside).
pub fn window_with_notices(
    engine: Engine,
    events: crossbeam_channel::Receiver<Event>,
    notices: Vec<String>,
) -> App {
    Harness::builder()
        .with_size([1000.0, 700.0])
        .build_eframe(move |cc| SyncCenterApp::new(cc, engine, events, notices))
}

/// The real window over these scripted handlers (the engine's state under `home`), once
/// it lists `item`.
pub fn window_listing(home: &Path, scripts: &[Script], item: &str) -> (Engine, App) {
    let (engine, events) = engine(home, scripts);
    let mut app = window(engine.clone(), events);
    wait_listed(&mut app, item);
    (engine, app)
}

/// The window over the real folder pairs handler, its center under `home/center`.
pub fn folders_window(home: &Path) -> (Engine, Home, App) {
    let center = Home::under(&home.join("center"));
    let (store, _) = Store::open(center.clone());
    let registry = Registry::new().with(folders::provider(&center));
    let config = EngineConfig {
        stop_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let (engine, events) = Engine::new(registry, store, config);
    let app = window(engine.clone(), events);
    (engine, center, app)
}

/// Adds a two-way folder pair to the center under `home/center`, before a window opens.
pub fn add_two_way_pair(home: &Path, name: &str, left: &Path, right: &Path) {
    let center = Home::under(&home.join("center"));
    let pair = folders::config::PairConfig::new(
        name,
        left.to_path_buf(),
        right.to_path_buf(),
        folders::config::Mode::TwoWay,
    );
    folders::config::add(&center, pair).unwrap();
}

/// The real window at a given size.
pub fn window_sized(
    engine: Engine,
    events: crossbeam_channel::Receiver<Event>,
    size: [f32; 2],
) -> App {
    Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| SyncCenterApp::new(cc, engine, events, Vec::new()))
}

/// Runs frames until `done` holds; the engine works on real threads meanwhile.
#[track_caller]
pub fn wait_for(app: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        app.run_steps(1);
        if done(app) {
            // Let areas that grew settle before the test clicks in them.
            app.run_steps(2);
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Waits until a node whose label contains `text` is shown.
#[track_caller]
pub fn wait_for_text(app: &mut App, text: &str) {
    wait_for(app, text, |app| {
        app.query_all_by_label_contains(text).next().is_some()
    });
}

/// Waits until the handlers listed their items.
#[track_caller]
pub fn wait_listed(app: &mut App, item: &str) {
    wait_for(app, "the items to be listed", |app| {
        app.query_by_label(item).is_some()
    });
}

/// Opens a scripted handler's properties from its row and waits for its form.
#[track_caller]
pub fn open_handler_properties(app: &mut App, handler: &str) {
    app.get_by_label(&format!("Properties of {handler}"))
        .click();
    wait_for_text(app, &format!("{handler} settings"));
}

/// Types into a text field of the open dialog.
pub fn type_into(app: &mut App, field: &str, text: &str) {
    app.get_by_label(field).click();
    app.run_steps(1);
    app.get_by_label(field).type_text(text);
    app.run_steps(1);
}

/// Right-clicks at `pos`, as a mouse does: hover, press, release.
pub fn right_click_at(app: &mut App, pos: egui::Pos2) {
    app.hover_at(pos);
    for pressed in [true, false] {
        app.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Secondary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
}

/// Right-clicks a row beside a label, where no widget takes the click.
pub fn right_click_beside(app: &mut App, label: &str) {
    let name = app.get_by_label(label).rect();
    right_click_at(app, egui::pos2(name.right() + 200.0, name.center().y));
}

/// Waits until the engine has no run going.
#[track_caller]
pub fn wait_run_ended(app: &mut App, engine: &Engine) {
    wait_for(app, "the run to end", |_| engine.sessions().is_empty());
}

/// Clicks Sync now and waits until the run ended and is in the history.
#[track_caller]
pub fn sync_now_and_wait(app: &mut App, engine: &Engine) {
    let runs = engine.store().history().len();
    app.get_by_label_contains("Sync now").click();
    wait_for(app, "the run to end", |_| {
        engine.sessions().is_empty() && engine.store().history().len() > runs
    });
}

pub fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}
