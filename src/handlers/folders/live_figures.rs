//! An item's figures while it syncs: what the sync loop counted (changes applied, their
//! bytes) plus the bytes of transfers still under way and the files a job of many has moved
//! whole, so the files, bytes and speed shown move during a long upload instead of waiting
//! for the files to land. Pure: no I/O, shared behind one lock.
//!
//! Nothing is counted twice and the figures never go back: a transfer's bytes and files are
//! shown while it runs; when it ends, those of files that will be applied wait in `landed`
//! until the sync loop applies changes, which replace them (each applied change takes its
//! bytes, and one file, out of `landed`, up to all of it). A transfer tried again is shown
//! by its furthest try. Figures are sent under the lock, so one sent by a transfer's thread
//! is never overtaken by an older one from another thread.

use crate::core::figures::Figures;
use parking_lot::Mutex;
use std::collections::HashMap;

/// Figures counted by the sync loop and bytes moved by transfers, for one item.
pub struct LiveFigures {
    state: Mutex<State>,
}

struct State {
    /// What the sync loop counted.
    counted: Figures,
    /// Transfers under way: bytes and whole files so far, by what they move.
    moving: HashMap<String, Moved>,
    /// What ended transfers moved of changes the sync loop has not counted yet.
    landed: Moved,
    /// The files last shown. A change the sync loop counts while its file is still part of
    /// a job's count (one that changed meanwhile, applied as left for later) is counted
    /// twice until the job ends: what was shown then is held, not taken back.
    files_shown: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Moved {
    bytes: u64,
    files: u64,
}

impl LiveFigures {
    pub fn new(figures: Figures) -> LiveFigures {
        LiveFigures {
            state: Mutex::new(State {
                counted: figures,
                moving: HashMap::new(),
                landed: Moved::default(),
                files_shown: 0,
            }),
        }
    }

    /// Starts over from `figures` (a new stage): nothing is moving yet.
    pub fn reset(&self, figures: Figures) {
        *self.state.lock() = State {
            counted: figures,
            moving: HashMap::new(),
            landed: Moved::default(),
            files_shown: 0,
        };
    }

    /// Changes what the sync loop counted, other than bytes.
    pub fn update(&self, change: impl FnOnce(&mut Figures)) {
        change(&mut self.state.lock().counted);
    }

    /// A change applied by the sync loop, with its bytes (`change` counts it).
    pub fn applied(&self, bytes: u64, change: impl FnOnce(&mut Figures)) {
        let mut state = self.state.lock();
        state.counted.bytes_done += bytes;
        state.landed.bytes -= state.landed.bytes.min(bytes);
        state.landed.files = state.landed.files.saturating_sub(1);
        change(&mut state.counted);
    }

    /// A transfer of `what` has moved `done` bytes and `files` whole files so far (on
    /// this try).
    pub fn moving(&self, what: &str, done: u64, files: u64) {
        let mut state = self.state.lock();
        let furthest = state.moving.entry(what.to_string()).or_default();
        furthest.bytes = furthest.bytes.max(done);
        furthest.files = furthest.files.max(files);
    }

    /// The transfer of `what` ended (landed, failed or stopped); at most `landing` of its
    /// bytes and `landing_files` of its files belong to changes the sync loop will apply (a
    /// copy job's files that are not placed are tried again later, or not at all).
    pub fn ended(&self, what: &str, landing: u64, landing_files: u64) {
        let mut state = self.state.lock();
        if let Some(moved) = state.moving.remove(what) {
            state.landed.bytes += moved.bytes.min(landing);
            state.landed.files += moved.files.min(landing_files);
        }
    }

    /// Sends the figures as they stand (counted bytes plus those moved, at most the total),
    /// `adjust`ed, through `send`, holding the lock.
    pub fn report<R>(
        &self,
        adjust: impl FnOnce(&mut Figures),
        send: impl FnOnce(&Figures) -> R,
    ) -> R {
        let mut state = self.state.lock();
        let mut figures = state.shown();
        adjust(&mut figures);
        send(&figures)
    }
}

impl State {
    fn shown(&mut self) -> Figures {
        let moved = self.moving.values().fold(self.landed, |sum, m| Moved {
            bytes: sum.bytes + m.bytes,
            files: sum.files + m.files,
        });
        let mut figures = self.counted.clone();
        figures.bytes_done += moved.bytes;
        figures.files_done += moved.files;
        if let Some(total) = figures.bytes_total {
            figures.bytes_done = figures.bytes_done.min(total.max(self.counted.bytes_done));
        }
        if let Some(total) = figures.files_total {
            figures.files_done = figures.files_done.min(total.max(self.counted.files_done));
        }
        figures.files_done = figures.files_done.max(self.files_shown);
        self.files_shown = figures.files_done;
        figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::progress::Stage;

    fn applying(bytes_total: u64) -> LiveFigures {
        LiveFigures::new(Figures {
            files_total: Some(2),
            bytes_total: Some(bytes_total),
            ..Figures::at(Stage::ChangeApplication)
        })
    }

    fn shown(live: &LiveFigures) -> u64 {
        live.report(|_| {}, |figures| figures.bytes_done)
    }

    #[test]
    fn a_transfer_shows_its_bytes_while_it_runs_and_they_are_counted_once() {
        let live = applying(1000);
        live.moving("big", 300, 0);
        assert_eq!(shown(&live), 300);
        live.moving("big", 900, 0);
        assert_eq!(shown(&live), 900);
        live.ended("big", u64::MAX, u64::MAX);
        assert_eq!(shown(&live), 900);
        live.applied(900, |f| f.files_done += 1);
        assert_eq!(shown(&live), 900);
        assert_eq!(live.report(|_| {}, |f| f.files_done), 1);
        live.applied(100, |f| f.files_done += 1);
        assert_eq!(shown(&live), 1000);
    }

    #[test]
    fn a_try_again_from_the_start_does_not_take_the_bar_back() {
        let live = applying(1000);
        live.moving("big", 600, 0);
        live.moving("big", 50, 0);
        assert_eq!(shown(&live), 600);
        live.moving("big", 700, 0);
        assert_eq!(shown(&live), 700);
    }

    #[test]
    fn changes_applied_in_another_order_than_their_transfers_ended_never_go_back() {
        // Two transfers end; the change of the second is applied first, then the first's.
        let live = applying(1000);
        live.moving("a", 400, 0);
        live.moving("b", 500, 0);
        live.ended("a", u64::MAX, u64::MAX);
        live.ended("b", u64::MAX, u64::MAX);
        let mut last = shown(&live);
        assert_eq!(last, 900);
        for bytes in [500, 400, 100] {
            live.applied(bytes, |_| {});
            assert!(shown(&live) >= last);
            last = shown(&live);
        }
        assert_eq!(last, 1000);
    }

    #[test]
    fn one_transfer_of_many_files_is_taken_out_as_each_of_them_is_applied() {
        // An intake job moves three files at once; each is applied after it lands.
        let live = applying(300);
        live.moving("3 new files", 250, 0);
        live.ended("3 new files", 300, u64::MAX);
        for (bytes, expected) in [(100, 250), (100, 250), (100, 300)] {
            live.applied(bytes, |_| {});
            assert_eq!(shown(&live), expected);
        }
    }

    #[test]
    fn files_a_job_moved_but_that_are_not_placed_are_not_counted_twice() {
        // Three files of 100 went up; one changed meanwhile and is not placed: it is
        // applied (as left for later) at once, and the job keeps only the other two.
        let live = applying(300);
        live.moving("3 new files", 300, 0);
        live.applied(100, |_| {});
        assert_eq!(shown(&live), 300);
        live.ended("3 new files", 200, u64::MAX);
        assert_eq!(shown(&live), 300);
        live.applied(100, |_| {});
        live.applied(100, |_| {});
        assert_eq!(shown(&live), 300);
        // Nothing is left over for later changes to hide behind.
        let live = applying(1_000);
        live.moving("3 new files", 300, 0);
        live.ended("3 new files", 200, u64::MAX);
        for _ in 0..3 {
            live.applied(100, |_| {});
        }
        assert_eq!(shown(&live), 300);
    }

    fn files_shown(live: &LiveFigures) -> u64 {
        live.report(|_| {}, |figures| figures.files_done)
    }

    #[test]
    fn files_a_job_of_many_moved_whole_are_shown_before_they_land_and_counted_once() {
        let live = LiveFigures::new(Figures {
            files_total: Some(4),
            bytes_total: Some(400),
            ..Figures::at(Stage::ChangeApplication)
        });
        // A folder is made first (a change without a transfer).
        live.applied(0, |f| f.files_done += 1);
        assert_eq!(files_shown(&live), 1);
        live.moving("3 new files", 150, 1);
        assert_eq!(files_shown(&live), 2);
        live.moving("3 new files", 300, 3);
        assert_eq!(files_shown(&live), 4);
        // A try again from the start does not take them back.
        live.moving("3 new files", 20, 0);
        assert_eq!(files_shown(&live), 4);
        live.ended("3 new files", 300, 3);
        let mut last = files_shown(&live);
        for _ in 0..3 {
            live.applied(100, |f| f.files_done += 1);
            assert!(files_shown(&live) >= last);
            last = files_shown(&live);
        }
        assert_eq!((last, shown(&live)), (4, 300));
    }

    #[test]
    fn files_moved_but_not_placed_never_take_the_count_back() {
        let live = LiveFigures::new(Figures {
            files_total: Some(3),
            bytes_total: Some(300),
            ..Figures::at(Stage::ChangeApplication)
        });
        live.moving("3 new files", 300, 3);
        assert_eq!(files_shown(&live), 3);
        // One changed meanwhile: applied at once (left for later), while the job's count
        // still holds it; then only the other two land.
        live.applied(0, |f| f.files_done += 1);
        assert_eq!(files_shown(&live), 3, "never past the total");
        live.ended("3 new files", 200, 2);
        assert_eq!(files_shown(&live), 3, "never back");
        for _ in 0..2 {
            live.applied(100, |f| f.files_done += 1);
            assert_eq!(files_shown(&live), 3);
        }
        // A new stage starts from its own count.
        live.reset(Figures::at(Stage::ChangeApplication));
        assert_eq!(files_shown(&live), 0);
    }

    #[test]
    fn the_bytes_shown_never_pass_the_total() {
        let live = applying(100);
        live.moving("x", 80, 0);
        live.moving("y", 80, 0);
        assert_eq!(shown(&live), 100);
    }

    #[test]
    fn a_new_stage_forgets_what_moved() {
        let live = applying(100);
        live.moving("x", 80, 0);
        live.reset(Figures::at(Stage::ChangeApplication));
        assert_eq!(shown(&live), 0);
        live.ended("x", u64::MAX, u64::MAX);
        assert_eq!(shown(&live), 0);
    }
}
