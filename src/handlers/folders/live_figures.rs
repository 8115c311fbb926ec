//! An item's figures while it syncs: what the sync loop counted (changes applied, their
//! bytes) plus the bytes of transfers still under way, so the bytes and the speed shown move
//! during a long upload instead of waiting for the file to land (the item's bar is Sync
//! Framework's work, counted by applied change). Pure: no I/O, shared behind one lock.
//!
//! Nothing is counted twice and the figures never go back: a transfer's bytes are shown
//! while it runs; when it ends, those of files that will be applied wait in `landed` until
//! the sync loop applies changes, whose bytes replace them (each applied change takes its
//! bytes out of `landed`, up to all of it). A transfer tried again is shown by its furthest
//! try. Figures are sent under the lock, so one sent by a transfer's thread is never
//! overtaken by an older one from another thread.

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
    /// Transfers under way: bytes so far, by what they move.
    moving: HashMap<String, u64>,
    /// Bytes of ended transfers whose changes the sync loop has not counted yet.
    landed: u64,
}

impl LiveFigures {
    pub fn new(figures: Figures) -> LiveFigures {
        LiveFigures {
            state: Mutex::new(State {
                counted: figures,
                moving: HashMap::new(),
                landed: 0,
            }),
        }
    }

    /// Starts over from `figures` (a new stage): nothing is moving yet.
    pub fn reset(&self, figures: Figures) {
        *self.state.lock() = State {
            counted: figures,
            moving: HashMap::new(),
            landed: 0,
        };
    }

    /// Changes what the sync loop counted, other than bytes.
    pub fn update(&self, change: impl FnOnce(&mut Figures)) {
        change(&mut self.state.lock().counted);
    }

    /// A change applied by the sync loop, with its bytes.
    pub fn applied(&self, bytes: u64, change: impl FnOnce(&mut Figures)) {
        let mut state = self.state.lock();
        state.counted.bytes_done += bytes;
        state.landed -= state.landed.min(bytes);
        change(&mut state.counted);
    }

    /// A transfer of `what` has moved `done` bytes so far (on this try).
    pub fn moving(&self, what: &str, done: u64) {
        let mut state = self.state.lock();
        let furthest = state.moving.entry(what.to_string()).or_insert(0);
        *furthest = (*furthest).max(done);
    }

    /// The transfer of `what` ended (landed, failed or stopped); at most `landing` of its
    /// bytes belong to changes the sync loop will apply (a copy job's files that are not
    /// placed are tried again later, or not at all).
    pub fn ended(&self, what: &str, landing: u64) {
        let mut state = self.state.lock();
        if let Some(bytes) = state.moving.remove(what) {
            state.landed += bytes.min(landing);
        }
    }

    /// Sends the figures as they stand (counted bytes plus those moved, at most the total),
    /// `adjust`ed, through `send`, holding the lock.
    pub fn report<R>(
        &self,
        adjust: impl FnOnce(&mut Figures),
        send: impl FnOnce(&Figures) -> R,
    ) -> R {
        let state = self.state.lock();
        let mut figures = state.shown();
        adjust(&mut figures);
        send(&figures)
    }
}

impl State {
    fn shown(&self) -> Figures {
        let moved = self.landed + self.moving.values().sum::<u64>();
        let mut figures = self.counted.clone();
        figures.bytes_done += moved;
        if let Some(total) = figures.bytes_total {
            figures.bytes_done = figures.bytes_done.min(total.max(self.counted.bytes_done));
        }
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
        live.moving("big", 300);
        assert_eq!(shown(&live), 300);
        live.moving("big", 900);
        assert_eq!(shown(&live), 900);
        live.ended("big", u64::MAX);
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
        live.moving("big", 600);
        live.moving("big", 50);
        assert_eq!(shown(&live), 600);
        live.moving("big", 700);
        assert_eq!(shown(&live), 700);
    }

    #[test]
    fn changes_applied_in_another_order_than_their_transfers_ended_never_go_back() {
        // Two transfers end; the change of the second is applied first, then the first's.
        let live = applying(1000);
        live.moving("a", 400);
        live.moving("b", 500);
        live.ended("a", u64::MAX);
        live.ended("b", u64::MAX);
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
        live.moving("3 new files", 250);
        live.ended("3 new files", 300);
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
        live.moving("3 new files", 300);
        live.applied(100, |_| {});
        assert_eq!(shown(&live), 300);
        live.ended("3 new files", 200);
        assert_eq!(shown(&live), 300);
        live.applied(100, |_| {});
        live.applied(100, |_| {});
        assert_eq!(shown(&live), 300);
        // Nothing is left over for later changes to hide behind.
        let live = applying(1_000);
        live.moving("3 new files", 300);
        live.ended("3 new files", 200);
        for _ in 0..3 {
            live.applied(100, |_| {});
        }
        assert_eq!(shown(&live), 300);
    }

    #[test]
    fn the_bytes_shown_never_pass_the_total() {
        let live = applying(100);
        live.moving("x", 80);
        live.moving("y", 80);
        assert_eq!(shown(&live), 100);
    }

    #[test]
    fn a_new_stage_forgets_what_moved() {
        let live = applying(100);
        live.moving("x", 80);
        live.reset(Figures::at(Stage::ChangeApplication));
        assert_eq!(shown(&live), 0);
        live.ended("x", u64::MAX);
        assert_eq!(shown(&live), 0);
    }
}
