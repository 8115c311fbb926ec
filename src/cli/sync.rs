//! `synccenter sync`: runs a session on the same engine as the window, with live progress
//! bars on a terminal (plain lines otherwise), dialogs answered on the terminal, Ctrl+C to
//! stop. A second Ctrl+C stops at once: the run is recorded as it stands, what is still
//! running as "Stopped when Sync Center closed". A third ends the program.

use crate::cli::output::err;
use crate::cli::prompt::answer_on_terminal;
use crate::core::board::ItemSnapshot;
use crate::core::engine::{Engine, SessionRequest};
use crate::core::events::Event;
use crate::core::model::{ItemKey, LogEntry, LogLevel, RunReason};
use crate::core::progress::{ItemShare, ProgressView, format_eta};
use crate::core::status::ItemStatus;
use crate::core::store::SessionRecord;
use crossbeam_channel::Receiver;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How many times Ctrl+C was pressed during the run.
static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_interrupt(_: libc::c_int) {
    if INTERRUPTS.fetch_add(1, Ordering::SeqCst) >= 1 {
        // After the second, a third Ctrl+C ends the program at once.
        // SAFETY: signal() is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
}

fn interrupts() -> usize {
    INTERRUPTS.load(Ordering::SeqCst)
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
    // SAFETY: the handler only touches an atomic and calls signal(), which is
    // async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    let overall_bar = multi.add(ProgressBar::new(1000).with_style(overall_style()));
    overall_bar.set_prefix("All items");
    let mut lines: HashMap<ItemKey, ItemLine> = HashMap::new();
    for key in session.items() {
        let bar = multi.add(ProgressBar::new(1000).with_style(item_style()));
        let name = engine.item_name(&key);
        bar.set_prefix(truncate(&name, 28));
        bar.set_message("Pending");
        let mut view = ProgressView::new();
        let share = ItemShare::of(ItemStatus::Pending, view.update(0.0, None, false));
        let line = ItemLine {
            name,
            bar,
            view,
            share,
            last_status: ItemStatus::Pending,
        };
        lines.insert(key, line);
    }
    // The final line of each item goes to stdout at the end; said here as well only when
    // stderr is not the same place (a terminal showing both, `2>&1`).
    let say_endings = !same_file(libc::STDOUT_FILENO, libc::STDERR_FILENO);
    let mut overall_view = ProgressView::new();
    let started = Instant::now();
    let (mut stopping, mut closing) = (false, false);
    let refresh = |lines: &mut HashMap<ItemKey, ItemLine>, multi: &MultiProgress| {
        let now = started.elapsed().as_secs_f64();
        for (key, snapshot) in engine.board().take_changed() {
            if let Some(line) = lines.get_mut(&key) {
                show_item(multi, line, &snapshot, now, say_endings);
            }
        }
    };
    let record = loop {
        if interrupts() >= 1 && !stopping {
            stopping = true;
            say(
                &multi,
                "Stopping… (the handlers finish what they are doing; Ctrl+C again stops at once)",
            );
            session.stop_all();
        }
        if interrupts() >= 2 && !closing {
            closing = true;
            say(
                &multi,
                "Stopping at once: what is still running is recorded as stopped.",
            );
            if let Err(unsaved) = engine.close(Duration::ZERO) {
                say(&multi, &unsaved.to_string());
            }
        }
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Dialog(request)) if may_bother_user => {
                // The item says it waits for the user before the bars make way for the
                // questions.
                refresh(&mut lines, &multi);
                let interrupted = || interrupts() > 0;
                multi.suspend(|| answer_on_terminal(request, &interrupted));
            }
            Ok(Event::Log(entry)) if entry.session == session.id() => {
                say(&multi, &log_line(&entry))
            }
            Ok(Event::Notice(text)) => say(&multi, &text),
            Ok(Event::SessionFinished(record)) if record.id == session.id() => break record,
            Ok(_) | Err(_) => {}
        }
        refresh(&mut lines, &multi);
        show_overall(&overall_bar, &mut overall_view, &lines, started);
    };
    // Every item's final state, and the overall bar at its end, before the bars go.
    refresh(&mut lines, &multi);
    show_overall(&overall_bar, &mut overall_view, &lines, started);
    overall_bar.finish();
    for line in lines.values() {
        line.bar.finish_and_clear();
    }
    // SAFETY: restores the default disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    Ok(record)
}

fn show_overall(
    bar: &ProgressBar,
    view: &mut ProgressView,
    lines: &HashMap<ItemKey, ItemLine>,
    started: Instant,
) {
    let shares: Vec<ItemShare> = lines.values().map(|l| l.share).collect();
    let shown = view.update_overall(started.elapsed().as_secs_f64(), &shares);
    bar.set_position((shown.fraction * 1000.0) as u64);
    bar.set_message(shown.eta_seconds.map(format_eta).unwrap_or_default());
}

/// Whether two descriptors are the same file (one terminal, or stderr sent to stdout).
fn same_file(a: libc::c_int, b: libc::c_int) -> bool {
    // SAFETY: fstat only writes into the stat structs given.
    unsafe {
        let (mut sa, mut sb): (libc::stat, libc::stat) = (std::mem::zeroed(), std::mem::zeroed());
        libc::fstat(a, &mut sa) == 0
            && libc::fstat(b, &mut sb) == 0
            && sa.st_dev == sb.st_dev
            && sa.st_ino == sb.st_ino
    }
}

fn show_item(
    multi: &MultiProgress,
    line: &mut ItemLine,
    snapshot: &ItemSnapshot,
    now: f64,
    say_endings: bool,
) {
    let done = snapshot.status.is_terminal();
    let shown = line.view.update(now, snapshot.measure, done);
    line.share = ItemShare::of(snapshot.status, shown);
    let state = match (&snapshot.wait, &snapshot.figures) {
        (Some(reason), _) => reason.to_string(),
        // What the handler is doing in figures ("Copying 1,234 of 20,108 files · …").
        (None, Some(figures)) if !done => figures.describe(None),
        (None, _) if snapshot.text.is_empty() => snapshot.status.label().to_string(),
        (None, _) => snapshot.text.clone(),
    };
    if shown.determinate {
        line.bar.set_style(item_style());
        line.bar.set_position((shown.fraction * 1000.0) as u64);
    } else {
        line.bar.set_style(spinner_style());
        line.bar.tick();
    }
    line.bar.set_message(state);
    if say_endings && done && line.last_status != snapshot.status {
        say(multi, &ending(&line.name, snapshot.status, &snapshot.text));
    }
    line.last_status = snapshot.status;
}

/// "✓ Contacts: Succeeded — 12 changes", an item's final line.
pub fn ending(name: &str, status: ItemStatus, text: &str) -> String {
    let text = if text.is_empty() {
        String::new()
    } else {
        format!(" — {text}")
    };
    format!("{} {name}: {status}{text}", mark(status))
}

/// Prints above the bars on a terminal, or as a plain line otherwise.
fn say(multi: &MultiProgress, text: &str) {
    if multi.is_hidden() {
        err!("{text}");
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

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        format!("{text:max$}")
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

fn item_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} [{bar:24.cyan/blue}] {percent:>3}% {wide_msg}")
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ ")
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix} {spinner:.cyan}                         {wide_msg}")
        .expect("a valid template")
}

fn overall_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:28} [{bar:24.green/white}] {percent:>3}% {wide_msg}")
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ ")
}
