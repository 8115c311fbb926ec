//! Ctrl+C during a sync asks to stop the run; a second one ends the program at once.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ctrl+C from now on asks to stop, until the guard is dropped (the default comes back).
pub fn catch() -> Caught {
    INTERRUPTED.store(false, Ordering::SeqCst);
    // SAFETY: the handler only stores to an atomic and calls signal(), which is
    // async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as *const () as libc::sighandler_t,
        );
    }
    Caught
}

/// While it lives, Ctrl+C is caught.
pub struct Caught;

impl Caught {
    /// Whether Ctrl+C was pressed since the last look.
    pub fn take(&self) -> bool {
        INTERRUPTED.swap(false, Ordering::SeqCst)
    }

    /// Whether Ctrl+C was pressed, without forgetting it.
    pub fn pressed(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
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
    INTERRUPTED.store(true, Ordering::SeqCst);
    // A second Ctrl+C ends the program at once.
    // SAFETY: signal() is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
}
