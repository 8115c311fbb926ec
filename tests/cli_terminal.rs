//! `synccenter sync` on a real terminal (a pseudo-terminal): what the bars show and what is
//! printed, as a user at a terminal sees it.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Runs the binary with a terminal as stdout and stderr; everything it showed there.
fn on_a_terminal(home: &std::path::Path, args: &[&str], step_ms: &str) -> String {
    let run = Terminal::start(home, args, step_ms, 120);
    let (shown, _) = run.finish();
    without_escapes(&shown)
}

/// The binary running on a pseudo-terminal of a given width.
struct Terminal {
    child: std::process::Child,
    shown: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Terminal {
    fn start(home: &std::path::Path, args: &[&str], step_ms: &str, columns: u16) -> Self {
        let (mut leader, mut follower) = (0, 0);
        let size = libc::winsize {
            ws_row: 40,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes the two descriptors; the size is read only.
        let opened = unsafe {
            libc::openpty(
                &mut leader,
                &mut follower,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(opened, 0, "openpty");
        // SAFETY: both descriptors were just opened and are owned here.
        let (mut leader, follower) = unsafe {
            (
                std::fs::File::from_raw_fd(leader),
                std::fs::File::from_raw_fd(follower),
            )
        };
        let child = Command::new(env!("CARGO_BIN_EXE_synccenter"))
            .arg("--home")
            .arg(home)
            .arg("--demo")
            .args(args)
            .env("SYNCCENTER_DEMO_STEP_MS", step_ms)
            .env("TERM", "xterm")
            .env_remove("SYNCCENTER_HOME")
            .env_remove("COLUMNS")
            .stdin(Stdio::null())
            .stdout(follower.try_clone().unwrap())
            .stderr(follower.try_clone().unwrap())
            .spawn()
            .unwrap();
        drop(follower);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let into = shown.clone();
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // The terminal reads as ended (EIO) once the program and its copies are gone.
            while let Ok(n) = leader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Self {
            child,
            shown,
            reader,
        }
    }

    /// Waits until the terminal shows `text` (escapes left out).
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !without_escapes(&String::from_utf8_lossy(&self.shown.lock().unwrap())).contains(text)
        {
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn interrupt(&self) {
        // SAFETY: kill only sends a signal to the child this test started.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
    }

    /// Everything shown, escapes and all, and the exit code.
    fn finish(mut self) -> (String, i32) {
        let status = self.child.wait().unwrap();
        self.reader.join().unwrap();
        let shown = String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned();
        (shown, status.code().unwrap_or(-1))
    }
}

/// What a terminal `columns` wide holds at the end, line by line, and every row it showed
/// on the way (each row as it was right before it was cleared, then the final ones). Like a
/// terminal, a character written past the last column goes to the next row.
fn screen(shown: &str, columns: usize) -> (Vec<String>, Vec<String>) {
    fn text(line: &[char]) -> String {
        line.iter().collect::<String>().trim_end().to_string()
    }
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let mut shown_rows = Vec::new();
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
            }
            '\u{1b}' => {
                if chars.peek() != Some(&'[') {
                    chars.next();
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut command = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        command = c;
                        break;
                    }
                    params.push(c);
                }
                let n = params.trim_start_matches('?').parse::<usize>().unwrap_or(0);
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
                match command {
                    'A' => row = row.saturating_sub(n.max(1)),
                    'B' => row += n.max(1),
                    'G' => col = n.saturating_sub(1),
                    'K' => {
                        shown_rows.push(text(&lines[row]));
                        let line = &mut lines[row];
                        match n {
                            2 => line.clear(),
                            1 => line.iter_mut().take(col + 1).for_each(|c| *c = ' '),
                            _ => line.truncate(col),
                        }
                    }
                    'J' if n == 0 => {
                        for line in &lines[row..] {
                            shown_rows.push(text(line));
                        }
                        lines[row].truncate(col);
                        lines.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                if col >= columns {
                    row += 1;
                    col = 0;
                }
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
        while lines.len() <= row {
            lines.push(Vec::new());
        }
    }
    let lines: Vec<String> = lines.iter().map(|line| text(line)).collect();
    shown_rows.extend(lines.iter().cloned());
    shown_rows.retain(|row| !row.is_empty());
    (lines, shown_rows)
}

/// Whether a row shows part of a bar line that did not fit: a percentage without its bar,
/// or a bar without its percentage.
fn is_cut_bar(row: &str) -> bool {
    let (open, close, percent) = (row.find(" ["), row.find(']'), row.find('%'));
    match (open, close, percent) {
        (None, None, None) => false,
        (Some(open), Some(close), Some(percent)) => !(open < close && close < percent),
        _ => true,
    }
}

/// A progress bar line: "Name [████    ]  45% …".
fn is_bar(line: &str) -> bool {
    line.contains('%') && line.contains(" [") && line.contains(']')
}

/// The text without terminal control sequences (colors, cursor moves).
fn without_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Every percentage the "All items" bar showed, in order.
fn overall_percentages(shown: &str) -> Vec<u32> {
    shown
        .match_indices("All items")
        .filter_map(|(at, _)| {
            let rest: String = shown[at..].chars().take(80).collect();
            let percent = rest.find('%')?;
            rest[..percent]
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn the_overall_bar_moves_during_the_first_item_and_ends_full() {
    let home = tempfile::tempdir().unwrap();
    let shown = on_a_terminal(
        home.path(),
        &["sync", "contacts", "photos", "--no-prompt"],
        "60",
    );
    let percents = overall_percentages(&shown);
    assert!(
        percents.iter().any(|p| (1..50).contains(p)),
        "the bar moved while the first of two items ran: {percents:?}"
    );
    assert_eq!(percents.last(), Some(&100), "{percents:?}");
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
}

#[test]
fn each_items_final_line_is_printed_once() {
    let home = tempfile::tempdir().unwrap();
    let shown = on_a_terminal(
        home.path(),
        &["sync", "contacts", "calendar", "--no-prompt"],
        "5",
    );
    for line in ["Contacts: Succeeded", "Calendar: Succeeded"] {
        assert_eq!(shown.matches(line).count(), 1, "{line}:\n{shown}");
    }
}

#[test]
fn bars_fit_80_and_60_column_terminals_and_leave_with_the_run() {
    for columns in [80u16, 60] {
        let home = tempfile::tempdir().unwrap();
        let run = Terminal::start(
            home.path(),
            &["sync", "--all", "--no-prompt"],
            "20",
            columns,
        );
        run.wait_for("All items");
        let (shown, code) = run.finish();
        assert_eq!(code, 2, "Mail cannot log on without prompts");
        let (lines, rows) = screen(&shown, usize::from(columns));
        let cut: Vec<&String> = rows.iter().filter(|row| is_cut_bar(row)).collect();
        assert!(
            cut.is_empty(),
            "bar lines wider than {columns} columns: {cut:#?}"
        );
        assert!(rows.iter().any(|row| row.starts_with("All items")));
        assert!(
            lines.iter().all(|line| !is_bar(line)),
            "no bar is left at the end, at {columns} columns:\n{}",
            lines.join("\n")
        );
        for ending in ["Contacts: Succeeded", "Mail (ann@example.org): Failed"] {
            assert_eq!(
                lines.iter().filter(|line| line.contains(ending)).count(),
                1,
                "{ending} once:\n{}",
                lines.join("\n")
            );
        }
    }
}

#[test]
fn ctrl_c_leaves_no_stale_bar_and_says_how_each_item_ended() {
    let home = tempfile::tempdir().unwrap();
    let run = Terminal::start(
        home.path(),
        &["sync", "contacts", "photos", "--no-prompt"],
        "150",
        80,
    );
    run.wait_for("All items");
    std::thread::sleep(Duration::from_millis(400));
    run.interrupt();
    let (shown, code) = run.finish();
    let (lines, _) = screen(&shown, 80);
    let screen = lines.join("\n");
    assert!(screen.contains("Stopping…"), "{screen}");
    assert!(
        lines.iter().all(|line| !is_bar(line)),
        "no bar is left standing after Ctrl+C:\n{screen}"
    );
    assert!(
        screen.contains("Contacts: Canceled") || screen.contains("Contacts: Succeeded"),
        "{screen}"
    );
    assert!(screen.contains("Photos:"), "{screen}");
    assert_eq!(code, 1, "a stopped run is incomplete:\n{screen}");
    let percents = overall_percentages(&shown);
    assert!(
        !percents.contains(&100),
        "a stopped run's bar never claims it all done: {percents:?}"
    );
}
