//! `synccenter sync` in this process: runs a session on the same engine as the window, with
//! live progress bars on a terminal (plain lines otherwise), dialogs answered on the
//! terminal, Ctrl+C to stop. A second Ctrl+C stops at once: the run is recorded as it
//! stands, what is still running as "Stopped when Sync Center closed". A third ends the
//! program.

use crate::cli::bars::{Bars, ItemState};
use crate::cli::interrupt;
use crate::cli::prompt::answer_on_terminal;
use crate::core::engine::{Engine, SessionRequest};
use crate::core::events::Event;
use crate::core::model::{ItemKey, LogEntry, RunReason};
use crate::core::store::SessionRecord;
use crossbeam_channel::Receiver;
use std::time::Duration;

/// Runs the items and returns the session's record, or why nothing could run.
pub fn run(
    engine: &Engine,
    events: &Receiver<Event>,
    items: Vec<ItemKey>,
    may_bother_user: bool,
) -> Result<SessionRecord, String> {
    let caught = interrupt::catch();
    let session = engine
        .start(SessionRequest {
            reason: RunReason::Manual,
            may_bother_user,
            items,
        })
        .map_err(|e| e.to_string())?;
    let mut bars = Bars::new();
    for key in session.items() {
        bars.add(&key.to_string(), &engine.item_name(&key));
    }
    let (mut stopping, mut closing) = (false, false);
    let record = loop {
        if caught.count() >= 1 && !stopping {
            stopping = true;
            bars.say(
                "Stopping… (the handlers finish what they are doing; Ctrl+C again stops at once)",
            );
            session.stop_all();
        }
        if caught.count() >= 2 && !closing {
            closing = true;
            bars.say("Stopping at once: what is still running is recorded as stopped.");
            if let Err(unsaved) = engine.close(Duration::ZERO) {
                bars.say(&unsaved.to_string());
            }
        }
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Dialog(request)) if may_bother_user => {
                // The item says it waits for the user before the bars make way for the
                // questions.
                show_changes(engine, &mut bars);
                let interrupted = || caught.count() > 0;
                bars.suspend(|| answer_on_terminal(request, &interrupted));
            }
            Ok(Event::Log(entry)) if entry.session == session.id() => bars.say(&log_line(&entry)),
            Ok(Event::Notice(text)) => bars.say(&text),
            Ok(Event::SessionFinished(record)) if record.id == session.id() => break record,
            Ok(_) | Err(_) => {}
        }
        show_changes(engine, &mut bars);
    };
    // Every item's final state, and the overall bar at its end, before the bars go.
    show_changes(engine, &mut bars);
    bars.finish(stopping);
    Ok(record)
}

fn show_changes(engine: &Engine, bars: &mut Bars) {
    for (key, snapshot) in engine.board().take_changed() {
        // While an item runs, what its handler does in figures ("Copying 1,234 of 20,108
        // files · …"), when it gives them.
        let doing = snapshot
            .figures
            .as_ref()
            .filter(|_| !snapshot.status.is_terminal())
            .map(|figures| figures.describe(None));
        bars.show(
            &key.to_string(),
            ItemState {
                status: snapshot.status,
                text: doing.as_deref().unwrap_or(&snapshot.text),
                wait: snapshot.wait.as_ref().map(ToString::to_string),
                measure: snapshot.measure,
            },
        );
    }
    bars.update_overall();
}

pub fn log_line(entry: &LogEntry) -> String {
    words_of_line(&entry.level.to_string(), &entry.handler_name, &entry.text)
}

/// A logged line as the terminal prints it: "warning: Folder pairs: …".
pub fn words_of_line(level: &str, handler_name: &str, text: &str) -> String {
    format!("{level}: {handler_name}: {text}")
}
