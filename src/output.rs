//! Printing that never panics, for the command line and the running instance. SIGPIPE is
//! ignored in this process (a handler program that dies must never take the center with
//! it), so a closed stdout shows up as a failed write: `synccenter items | head` then stops
//! printing and ends quietly with the command's own exit code, and stderr that is gone is
//! simply not written to.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout could not be written; nothing more is printed there.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// Set when the write failed for another reason than a closed pipe (a full disk, say).
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Prints a line on stdout, unless stdout is gone.
pub fn stdout_line(args: std::fmt::Arguments<'_>) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            STDOUT_FAILED.store(true, Ordering::Relaxed);
            stderr_line(format_args!(
                "synccenter: cannot write to standard output: {e}"
            ));
        }
    }
}

/// Prints a line on stderr; if stderr is gone there is nobody left to tell.
pub fn stderr_line(args: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Whether output was lost for another reason than the reader going away.
pub fn stdout_failed() -> bool {
    STDOUT_FAILED.load(Ordering::Relaxed)
}

/// `println!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::stdout_line(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::output::stderr_line(format_args!($($arg)*))
    };
}

pub(crate) use {err, out};
