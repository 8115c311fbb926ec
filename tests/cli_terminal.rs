//! `synccenter sync` on a real terminal (a pseudo-terminal): what the bars show and what is
//! printed, as a user at a terminal sees it.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};

/// Runs the binary with a terminal as stdout and stderr; everything it showed there.
fn on_a_terminal(home: &std::path::Path, args: &[&str], step_ms: &str) -> String {
    let (mut leader, mut follower) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_synccenter"))
        .arg("--home")
        .arg(home)
        .arg("--demo")
        .args(args)
        .env("SYNCCENTER_DEMO_STEP_MS", step_ms)
        .env("TERM", "xterm")
        .env_remove("SYNCCENTER_HOME")
        .stdin(Stdio::null())
        .stdout(follower.try_clone().unwrap())
        .stderr(follower.try_clone().unwrap())
        .spawn()
        .unwrap();
    drop(follower);
    let reader = std::thread::spawn(move || {
        let mut shown = Vec::new();
        let mut buffer = [0u8; 4096];
        // The terminal reads as ended (EIO) once the program and its copies are gone.
        while let Ok(n) = leader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            shown.extend_from_slice(&buffer[..n]);
        }
        shown
    });
    assert!(child.wait().unwrap().success());
    without_escapes(&String::from_utf8_lossy(&reader.join().unwrap()))
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
