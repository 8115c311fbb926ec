//! `synccenter sync`: runs a session on the same engine as the window, with live progress
//! bars on a terminal (plain lines otherwise), dialogs answered on the terminal, Ctrl+C to
//! stop.

use crate::cli::prompt::answer_on_terminal;
use crate::core::board::ItemSnapshot;
use crate::core::engine::{Engine, SessionRequest};
use crate::core::events::Event;
use crate::core::model::{ItemKey, LogEntry, LogLevel, RunReason};
use crate::core::progress::{ItemShare, ProgressView, format_eta, overall};
use crate::core::status::ItemStatus;
use crate::core::store::SessionRecord;
use crossbeam_channel::Receiver;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ctrl+C from now on asks to stop (a second one ends the program).
pub(crate) fn catch_interrupt() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
}

/// Whether Ctrl+C was pressed since the last look.
pub(crate) fn take_interrupt() -> bool {
    INTERRUPTED.swap(false, Ordering::SeqCst)
}

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // A second Ctrl+C ends the program at once.
    // SAFETY: signal() is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}

/// One item's bar and what it showed last.
struct ItemLine {
    name: String,
    bar: ProgressBar,
    view: ProgressView,
    share: ItemShare,
    last_status: ItemStatus,
}

/// Runs the items and returns the session's record, or why nothing could run.
pub fn run(
    engine: &Engine,
    events: &Receiver<Event>,
    items: Vec<ItemKey>,
    may_bother_user: bool,
) -> Result<SessionRecord, String> {
    let session = engine
        .start(SessionRequest {
            reason: RunReason::Manual,
            may_bother_user,
            items,
        })
        .map_err(|e| e.to_string())?;
    catch_interrupt();
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    let overall_bar = multi.add(ProgressBar::new(1000).with_style(overall_style()));
    overall_bar.set_prefix("All items");
    let mut lines: HashMap<ItemKey, ItemLine> = HashMap::new();
    for key in session.items() {
        let bar = multi.add(ProgressBar::new(1000).with_style(item_style()));
        let name = engine.item_name(&key);
        bar.set_prefix(truncate(&name, 28));
        bar.set_message("Pending");
        let share = ItemShare {
            fraction: 0.0,
            determinate: false,
            done: false,
        };
        let line = ItemLine {
            name,
            bar,
            view: ProgressView::new(),
            share,
            last_status: ItemStatus::Pending,
        };
        lines.insert(key, line);
    }
    let mut overall_view = ProgressView::new();
    let started = Instant::now();
    let mut stopping = false;
    let record = loop {
        if take_interrupt() && !stopping {
            stopping = true;
            say(
                &multi,
                "Stopping… (the handlers finish what they are doing)",
            );
            session.stop_all();
        }
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Dialog(request)) if may_bother_user => {
                let interrupted = || INTERRUPTED.load(Ordering::SeqCst);
                multi.suspend(|| answer_on_terminal(request, &interrupted));
            }
            Ok(Event::Log(entry)) if entry.session == session.id() => {
                say(&multi, &log_line(&entry))
            }
            Ok(Event::Notice(text)) => say(&multi, &text),
            Ok(Event::SessionFinished(record)) if record.id == session.id() => break record,
            Ok(_) | Err(_) => {}
        }
        let now = started.elapsed().as_secs_f64();
        for (key, snapshot) in engine.board().take_changed() {
            if let Some(line) = lines.get_mut(&key) {
                show_item(&multi, line, &snapshot, now);
            }
        }
        let shares: Vec<ItemShare> = lines.values().map(|l| l.share).collect();
        let shown = overall_view.update(now, overall(&shares), shares.iter().all(|s| s.done));
        overall_bar.set_position((shown.fraction * 1000.0) as u64);
        overall_bar.set_message(shown.eta_seconds.map(format_eta).unwrap_or_default());
    };
    // Show every item's final state before the bars go.
    for (key, snapshot) in engine.board().take_changed() {
        if let Some(line) = lines.get_mut(&key) {
            show_item(&multi, line, &snapshot, started.elapsed().as_secs_f64());
        }
    }
    overall_bar.finish_and_clear();
    for line in lines.values() {
        line.bar.finish_and_clear();
    }
    // SAFETY: restores the default disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    Ok(record)
}

fn show_item(multi: &MultiProgress, line: &mut ItemLine, snapshot: &ItemSnapshot, now: f64) {
    let done = snapshot.status.is_terminal();
    let shown = line.view.update(now, snapshot.measure, done);
    line.share = ItemShare {
        fraction: shown.fraction,
        determinate: shown.determinate,
        done,
    };
    let state = match &snapshot.wait {
        Some(reason) => reason.to_string(),
        None if snapshot.text.is_empty() => snapshot.status.label().to_string(),
        None => snapshot.text.clone(),
    };
    if shown.determinate {
        line.bar.set_style(item_style());
        line.bar.set_position((shown.fraction * 1000.0) as u64);
    } else {
        line.bar.set_style(spinner_style());
        line.bar.tick();
    }
    line.bar.set_message(state);
    if done && line.last_status != snapshot.status {
        let text = if snapshot.text.is_empty() {
            String::new()
        } else {
            format!(" — {}", snapshot.text)
        };
        say(
            multi,
            &format!(
                "{} {}: {}{text}",
                mark(snapshot.status),
                line.name,
                snapshot.status
            ),
        );
    }
    line.last_status = snapshot.status;
}

/// Prints above the bars on a terminal, or as a plain line otherwise.
pub(crate) fn say(multi: &MultiProgress, text: &str) {
    if multi.is_hidden() {
        eprintln!("{text}");
    } else {
        let _ = multi.println(text);
    }
}

pub fn mark(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Succeeded => "✓",
        ItemStatus::Failed => "✗",
        ItemStatus::Skipped | ItemStatus::Canceled => "–",
        _ => "·",
    }
}

pub fn log_line(entry: &LogEntry) -> String {
    let level = match entry.level {
        LogLevel::Info => "info",
        LogLevel::Warning => "warning",
        LogLevel::Error => "error",
    };
    format!("{level}: {}: {}", entry.handler_name, entry.text)
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        format!("{text:max$}")
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

pub(crate) fn item_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{bar:24.cyan/blue}] {percent:>3}% {wide_msg}")
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ ")
}

pub(crate) fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} {spinner:.cyan}                         {wide_msg}")
        .expect("a valid template")
}

pub(crate) fn overall_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:28} [{bar:24.green/white}] {percent:>3}% {wide_msg}")
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ ")
}
