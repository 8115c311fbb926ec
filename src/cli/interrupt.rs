//! Ctrl+C during a sync: the first asks to stop the run, the second stops at once, a third
//! ends the program (the default disposition comes back after the second).

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many times Ctrl+C was pressed since `catch`.
static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

/// Ctrl+C is counted from now on, until the guard is dropped (the default comes back).
pub fn catch() -> Caught {
    INTERRUPTS.store(0, Ordering::SeqCst);
    // SAFETY: the handler only touches an atomic and calls signal(), which is
    // async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    Caught
}

/// While it lives, Ctrl+C is counted.
pub struct Caught;

impl Caught {
    /// How many times Ctrl+C was pressed.
    pub fn count(&self) -> usize {
        INTERRUPTS.load(Ordering::SeqCst)
    }
}

impl Drop for Caught {
    fn drop(&mut self) {
        // SAFETY: restores the default disposition.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
}

extern "C" fn on_interrupt(_: libc::c_int) {
    if INTERRUPTS.fetch_add(1, Ordering::SeqCst) >= 1 {
        // After the second, a third Ctrl+C ends the program at once.
        // SAFETY: signal() is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
}
