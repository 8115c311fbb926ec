//! An external handler process reports its figures (stage, files, bytes) with `progress` and
//! what it changed with `activity`, over the real protocol: the center shows the one and
//! keeps the other with the run.

mod external_support;

use external_support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use synccenter::core::activity::{Activity, Change, Direction};
use synccenter::core::figures::Figures;
use synccenter::core::handler::HandlerProvider;
use synccenter::core::model::ItemKey;
use synccenter::core::preview::Planned;
use synccenter::core::progress::Stage;
use synccenter::core::status::ItemStatus;

/// How each handler script here begins: `send` writes one JSON-RPC message a line.
const SEND: &str = r#"#!/usr/bin/env python3
import json, sys

def send(message):
    message["jsonrpc"] = "2.0"
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
"#;

/// How each ends: every request is answered from the script's `answers` until `shutdown`.
const SERVE: &str = r#"
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    if message["method"] == "shutdown":
        send({"id": message["id"], "result": None})
        break
    send({"id": message["id"], "result": answers[message["method"]](message.get("params"))})
"#;

/// The handler `ext:<stem>` called `name`: the executable Python script
/// `<dir>/handlers/<stem>.py`, `body` (its methods and `answers`) between `SEND` and `SERVE`.
fn script_provider(dir: &Path, stem: &str, name: &str, body: &str) -> Arc<dyn HandlerProvider> {
    let script = dir.join("handlers").join(format!("{stem}.py"));
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, [SEND, body, SERVE].concat()).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    provider(
        dir,
        stem,
        &format!("name = {name:?}\nprogram = \"./{stem}.py\"\n"),
    )
}

/// A handler that reports figures and what it changed while it synchronizes.
const MOVER: &str = r#"
def synchronize(items):
    for item in items:
        send({"method": "progress", "params": {"item": item, "value": 1, "max": 2, "figures": {
            "stage": "change_application", "files_done": 1, "files_total": 3,
            "bytes_done": 10, "bytes_total": 30, "current": "Docs/a.txt", "change": "copied"}}})
        send({"method": "activity", "params": {"item": item, "entries": [
            {"path": "Docs/a.txt", "direction": "to_right", "change": "copied", "size": 10},
            {"path": "New.txt", "direction": "to_left", "change": "renamed", "from": "Old.txt"},
            {"path": "clash.txt", "direction": "both", "change": "conflict"}]}})
        send({"method": "activity", "params": {"item": item, "entries": [
            {"path": "b.bin", "direction": "to_right", "change": "replaced", "size": 20}]}})

answers = {
    "initialize": lambda p: {"protocol_version": 1, "capabilities": {}},
    "info": lambda p: {"name": "Mover", "icon": "folder"},
    "enumerate": lambda p: {"items": [{"id": "docs", "name": "Docs"}]},
    "prepare": lambda p: None,
    "synchronize": lambda p: synchronize(p["items"]),
}
"#;

#[test]
fn an_external_handler_reports_figures_and_what_it_changed() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let mover = script_provider(dir.path(), "mover", "Mover", MOVER);
    let center = center(dir, vec![mover], never_answer);
    let record = center.sync(&[("ext:mover", "docs")]);
    let result = &record.items[0];
    assert_eq!(
        result.status,
        ItemStatus::Succeeded,
        "{}",
        log_text(&record)
    );

    // The figures as the handler sent them, for the window to put in words.
    let figures = center
        .snapshot("ext:mover", "docs")
        .and_then(|s| s.figures)
        .expect("the figures reached the board");
    assert_eq!(
        figures,
        Figures {
            files_done: 1,
            files_total: Some(3),
            bytes_done: 10,
            bytes_total: Some(30),
            current: Some("Docs/a.txt".into()),
            change: Some(Change::Copied),
            ..Figures::at(Stage::ChangeApplication)
        }
    );
    assert_eq!(
        figures.describe(None),
        "Copying 1 of 3 files · 10 bytes of 30 bytes · a.txt"
    );

    // Counted in the record, listed beside it.
    let counts = &result.activity;
    assert_eq!(
        counts.summary(),
        "1 copied, 1 replaced, 1 renamed, 1 conflict · 30 bytes"
    );
    assert_eq!(counts.conflicts, ["clash.txt"]);
    assert_eq!(
        result.problems.conflicts, 1,
        "a conflict is not a plain success"
    );
    let listed = center.engine.store().activity(record.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, ItemKey::new("ext:mover", "docs"));
    assert_eq!(
        listed[0].entries,
        [
            Activity::new("Docs/a.txt", Direction::ToRight, Change::Copied).size(10),
            Activity::new("New.txt", Direction::ToLeft, Change::Renamed).from("Old.txt"),
            Activity::new("clash.txt", Direction::Both, Change::Conflict),
            Activity::new("b.bin", Direction::ToRight, Change::Replaced).size(20),
        ]
    );
    // Read back from disk by another process's store as well.
    center.engine.store().flush().unwrap();
    let home = synccenter::core::store::Home::under(&center.dir.path().join("home"));
    let (other, _) = synccenter::core::store::Store::open(home);
    assert_eq!(other.activity(record.id).unwrap(), listed);
}

/// A handler that says what a sync of "docs" would do, and that it cannot for "site".
const PLANNER: &str = r#"
def preview(items):
    answers = []
    for item in items:
        if item == "docs":
            answers.append({"item": item, "changes": [
                {"path": "Docs/a.txt", "direction": "to_right", "change": "copied", "size": 10},
                {"path": "Old.txt", "direction": "to_left", "change": "deleted"},
                {"path": "clash.txt", "direction": "both", "change": "conflict"}],
                "notes": ["big.iso is too large for the other side"]})
        else:
            answers.append({"item": item, "error": "The server did not answer."})
    return {"items": answers}

def synchronize(items):
    # A preview changes nothing: a file next to the script would say it synchronized.
    open(sys.argv[0] + ".synchronized", "w").close()

answers = {
    "initialize": lambda p: {"protocol_version": 1, "capabilities": {"preview": True}},
    "info": lambda p: {"name": "Planner", "icon": "folder"},
    "enumerate": lambda p: {"items": [{"id": "docs", "name": "Docs"}, {"id": "site", "name": "Site"}]},
    "prepare": lambda p: None,
    "synchronize": lambda p: synchronize(p["items"]),
    "preview": lambda p: preview(p["items"]),
}
"#;

#[test]
fn an_external_handler_says_what_a_sync_would_do_when_it_can() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let planner = script_provider(dir.path(), "planner", "Planner", PLANNER);
    // The mover says nothing of previews: it is never asked (its script would fail on
    // a method it does not know).
    let mover = script_provider(dir.path(), "mover", "Mover", MOVER);
    let synchronized = dir.path().join("handlers").join("planner.py.synchronized");
    let center = center(dir, vec![planner, mover], never_answer);
    let keys = vec![
        ItemKey::new("ext:planner", "docs"),
        ItemKey::new("ext:planner", "site"),
        ItemKey::new("ext:mover", "docs"),
    ];
    let previews = center
        .engine
        .preview(keys.clone(), false)
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the preview answered");
    assert_eq!(
        previews.iter().map(|p| p.key.clone()).collect::<Vec<_>>(),
        keys
    );
    let Planned::Plan(plan) = &previews[0].planned else {
        panic!("{:?}", previews[0]);
    };
    assert_eq!(
        plan.changes.entries,
        [
            Activity::new("Docs/a.txt", Direction::ToRight, Change::Copied).size(10),
            Activity::new("Old.txt", Direction::ToLeft, Change::Deleted),
            Activity::new("clash.txt", Direction::Both, Change::Conflict),
        ]
    );
    assert_eq!(
        plan.changes.counts.plan_summary(),
        "1 to copy, 1 to delete, 1 conflict · 10 bytes"
    );
    assert_eq!(plan.notes, ["big.iso is too large for the other side"]);
    assert_eq!(
        previews[1].planned,
        Planned::Failed("The server did not answer.".into())
    );
    assert_eq!(previews[2].planned, Planned::Unsupported);
    assert!(!synchronized.exists(), "a preview synchronized");
}
