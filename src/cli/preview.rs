//! `synccenter sync --dry-run`: what a sync of the chosen items would do, each planned change
//! with its direction, and the counts; nothing changes.

use crate::cli::interrupt;
use crate::cli::prompt::answer_on_terminal;
use crate::core::engine::Engine;
use crate::core::events::Event;
use crate::core::model::ItemKey;
use crate::core::preview::{ItemPreview, Planned, planned_line};
use crate::core::words::grouped;
use crate::exit_code::{FAILED, INCOMPLETE, OK};
use crate::output::out;
use crossbeam_channel::Receiver;

/// Prints the previews of `keys`, answering on the terminal what a handler asks to look
/// (a logon) when `may_bother_user`; the exit code: 2 if one could not be planned, 1 if a
/// handler cannot say what it would do, else 0.
pub fn preview(
    engine: &Engine,
    events: &Receiver<Event>,
    keys: Vec<ItemKey>,
    json: bool,
    may_bother_user: bool,
) -> Result<u8, String> {
    let caught = interrupt::catch();
    let answered = engine.preview(keys, may_bother_user);
    let previews = loop {
        crossbeam_channel::select! {
            recv(answered) -> previews => {
                break previews.map_err(|_| "the preview ended without an answer".to_string())?;
            }
            recv(events) -> event => match event {
                Ok(Event::Dialog(request)) => {
                    answer_on_terminal(request, &|| caught.count() > 0);
                }
                Ok(_) => {}
                // No more events: only the answer is left to wait for.
                Err(_) => {
                    break answered
                        .recv()
                        .map_err(|_| "the preview ended without an answer".to_string())?;
                }
            },
        }
    };
    if json {
        out!(
            "{}",
            serde_json::to_string_pretty(&previews).map_err(|e| e.to_string())?
        );
    } else {
        for preview in &previews {
            print_preview(preview);
        }
        out!("Nothing was changed: this was a preview.");
    }
    let any = |f: fn(&Planned) -> bool| previews.iter().any(|p| f(&p.planned));
    Ok(if any(|p| matches!(p, Planned::Failed(_))) {
        FAILED
    } else if any(|p| matches!(p, Planned::Unsupported)) {
        INCOMPLETE
    } else {
        OK
    })
}

fn print_preview(preview: &ItemPreview) {
    let name = &preview.name;
    let plan = match &preview.planned {
        Planned::Plan(plan) => plan,
        Planned::Unsupported => {
            out!("{name}: its handler cannot say ahead what a sync would do.");
            return;
        }
        Planned::Failed(reason) => {
            out!("{name}: could not plan: {reason}");
            return;
        }
    };
    let counts = &plan.changes.counts;
    if counts.is_empty() {
        out!("{name}: nothing to do.");
    } else {
        out!("{name}: {}", counts.plan_summary());
    }
    for entry in &plan.changes.entries {
        out!("  {}", planned_line(entry));
    }
    if counts.unlisted > 0 {
        out!("  … and {} more", grouped(counts.unlisted));
    }
    for note in &plan.notes {
        out!("  Note: {note}");
    }
}
