//! The terminal's progress: a bar per item and one over all of them, with plain lines when
//! stderr is not a terminal. Bar lines fit the terminal's width (no line wraps) and leave the
//! terminal when the run ends, however it ends: the final lines say how. A run of this process and a run handed to the running
//! instance draw the same bars and print the same result lines.

use crate::core::progress::{ItemShare, ProgressView, format_eta};
use crate::core::status::{ItemStatus, Tone, verdict};
use crate::core::store::ItemResult;
use crate::output::err;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::time::Instant;

/// One item's bar and what it showed last.
struct Line {
    name: String,
    bar: ProgressBar,
    view: ProgressView,
    share: ItemShare,
    last_status: ItemStatus,
}

/// What one item looks like now.
pub struct ItemState<'a> {
    pub status: ItemStatus,
    /// The handler's words about the item.
    pub text: &'a str,
    /// Why the item waits, when it does (shown instead of the text).
    pub wait: Option<String>,
    /// (completed, total) when the amount of work is known.
    pub measure: Option<(u64, u64)>,
}

/// The bars of one run, by item (`HANDLER/ID`).
pub struct Bars {
    multi: MultiProgress,
    overall_bar: ProgressBar,
    overall_view: ProgressView,
    lines: HashMap<String, Line>,
    started: Instant,
    /// Each item's final line goes to stdout at the end; said here as well only when stderr
    /// is not the same place (a terminal showing both, `2>&1`).
    say_endings: bool,
    widths: Widths,
}

impl Bars {
    pub fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let widths = Widths::for_columns(terminal_columns());
        let overall_bar = multi.add(ProgressBar::new(1000).with_style(overall_style(widths)));
        overall_bar.set_prefix(truncate("All items", widths.name));
        Bars {
            multi,
            overall_bar,
            overall_view: ProgressView::new(),
            lines: HashMap::new(),
            started: Instant::now(),
            say_endings: !same_file(libc::STDOUT_FILENO, libc::STDERR_FILENO),
            widths,
        }
    }

    /// Adds an item's bar, pending (once per item).
    pub fn add(&mut self, key: &str, name: &str) {
        if self.lines.contains_key(key) {
            return;
        }
        let bar = self
            .multi
            .add(ProgressBar::new(1000).with_style(item_style(self.widths)));
        bar.set_prefix(truncate(name, self.widths.name));
        bar.set_message("Pending");
        let mut view = ProgressView::new();
        let share = ItemShare::of(ItemStatus::Pending, view.update(0.0, None, false));
        self.lines.insert(
            key.to_string(),
            Line {
                name: name.to_string(),
                bar,
                view,
                share,
                last_status: ItemStatus::Pending,
            },
        );
    }

    /// Shows an item's state; the first time it ends, says how.
    pub fn show(&mut self, key: &str, state: ItemState<'_>) {
        let now = self.started.elapsed().as_secs_f64();
        let Some(line) = self.lines.get_mut(key) else {
            return;
        };
        let done = state.status.is_terminal();
        let shown = line.view.update(now, state.measure, done);
        line.share = ItemShare::of(state.status, shown);
        let message = match &state.wait {
            Some(reason) => reason.clone(),
            None if state.text.is_empty() => state.status.label().to_string(),
            None => state.text.to_string(),
        };
        if shown.determinate {
            line.bar.set_style(item_style(self.widths));
            line.bar.set_position((shown.fraction * 1000.0) as u64);
        } else {
            line.bar.set_style(spinner_style(self.widths));
            line.bar.tick();
        }
        line.bar.set_message(message);
        if self.say_endings && done && line.last_status != state.status {
            say(&self.multi, &ending(&line.name, state.status, state.text));
        }
        line.last_status = state.status;
    }

    /// Moves the overall bar after items changed.
    pub fn update_overall(&mut self) {
        let shares: Vec<ItemShare> = self.lines.values().map(|l| l.share).collect();
        if shares.is_empty() {
            return;
        }
        let now = self.started.elapsed().as_secs_f64();
        let shown = self.overall_view.update_overall(now, &shares);
        self.overall_bar
            .set_position((shown.fraction * 1000.0) as u64);
        self.overall_bar
            .set_message(shown.eta_seconds.map(format_eta).unwrap_or_default());
    }

    /// Hides the bars while `work` uses the terminal (a dialog's questions).
    pub fn suspend<R>(&self, work: impl FnOnce() -> R) -> R {
        self.multi.suspend(work)
    }

    /// Prints above the bars on a terminal, or as a plain line otherwise.
    pub fn say(&self, text: &str) {
        say(&self.multi, text);
    }

    /// Takes the bars off the terminal: the overall bar of a run that came to its end is
    /// drawn once full (its last move may still be on the way there), one that was stopped
    /// is not drawn again, as "100 %" would say it all got done. A bar left standing would
    /// say something else than the final lines ("37 %" after Ctrl+C).
    pub fn finish(self, stopped: bool) {
        if stopped {
            self.overall_bar.finish_and_clear();
        } else {
            self.overall_bar.finish();
        }
        for line in self.lines.values() {
            line.bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

fn say(multi: &MultiProgress, text: &str) {
    if multi.is_hidden() {
        err!("{text}");
    } else {
        let _ = multi.println(text);
    }
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

/// A finished item's line: a success that left conflicts or errors is marked "!" and says
/// so ("! Photos: Succeeded with 1 conflict — …"), as the window colours it.
pub fn ending_of(result: &ItemResult) -> String {
    let verdict = verdict(result.status, result.problems);
    if result.status != ItemStatus::Succeeded || verdict.tone != Tone::Attention {
        return ending(&result.name, result.status, &result.text);
    }
    let text = match result.text.is_empty() {
        true => String::new(),
        false => format!(" — {}", result.text),
    };
    format!("! {}: {}{text}", result.name, verdict.words)
}

pub fn mark(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Succeeded => "✓",
        ItemStatus::Failed => "✗",
        ItemStatus::Skipped | ItemStatus::Canceled => "–",
        _ => "·",
    }
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

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        format!("{text:max$}")
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

/// The width of the terminal the bars are drawn on: stderr's, else `COLUMNS`, else 80.
fn terminal_columns() -> usize {
    // SAFETY: TIOCGWINSZ only writes into the winsize given.
    let from_terminal = unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) == 0 && size.ws_col > 0)
            .then_some(usize::from(size.ws_col))
    };
    from_terminal
        .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
        .unwrap_or(80)
}

/// How a bar line shares the terminal's width: the name, the bar, then the words, which
/// indicatif cuts to what is left ("{wide_msg}"), so no line wraps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Widths {
    name: usize,
    bar: usize,
}

/// " [", "] ", "100%", " " and one column indicatif keeps free.
const BAR_LINE_FIXED: usize = 10;
/// Room the words keep at least.
const MIN_WORDS: usize = 12;

impl Widths {
    fn for_columns(columns: usize) -> Self {
        let name = (columns / 4).clamp(8, 28);
        // In a narrow terminal the bar gives way to the words.
        let room = columns.saturating_sub(name + BAR_LINE_FIXED + MIN_WORDS);
        let bar = (columns / 4).clamp(6, 24).min(room).max(4);
        Self { name, bar }
    }
}

fn item_style(widths: Widths) -> ProgressStyle {
    let template = format!(
        "{{prefix}} [{{bar:{}.cyan/blue}}] {{percent:>3}}% {{wide_msg}}",
        widths.bar
    );
    ProgressStyle::with_template(&template)
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ ")
}

fn spinner_style(widths: Widths) -> ProgressStyle {
    // The spinner where the bar starts, and the words where they start on a bar line.
    let gap = " ".repeat(widths.bar + 7);
    ProgressStyle::with_template(&format!("{{prefix}} {{spinner:.cyan}}{gap}{{wide_msg}}"))
        .expect("a valid template")
}

fn overall_style(widths: Widths) -> ProgressStyle {
    let template = format!(
        "{{prefix}} [{{bar:{}.green/white}}] {{percent:>3}}% {{wide_msg}}",
        widths.bar
    );
    ProgressStyle::with_template(&template)
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_lines_fit_the_terminal_and_leave_room_for_words() {
        // (columns, name, bar)
        let table = [
            (40, 10, 8),
            (60, 15, 15),
            (80, 20, 20),
            (100, 25, 24),
            (120, 28, 24),
            (200, 28, 24),
        ];
        for (columns, name, bar) in table {
            let widths = Widths::for_columns(columns);
            assert_eq!(widths, Widths { name, bar }, "{columns} columns");
            assert!(
                name + bar + BAR_LINE_FIXED + MIN_WORDS <= columns,
                "{columns}"
            );
        }
    }
}
