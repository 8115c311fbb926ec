//! Progress accounting as in Sync Framework's "Reporting Synchronization Progress", and what
//! the user sees of it. Pure: no clocks, no I/O; time comes in as seconds.
//!
//! [`WorkAccounting`] turns what a handler reports (work estimates per change, per batch and
//! for the rest of the session, or custom staged progress) into progress events with a
//! completed and a total figure, one accounting per item. [`ProgressView`] turns the raw
//! figures into a bar that never runs backwards, never passes 100 %, reaches 100 % only when
//! the item is done, and carries a smoothed ETA. [`overall`] aggregates items into one bar.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// SessionProgressStage / SYNC_PROGRESS_STAGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    ChangeDetection,
    ChangeEnumeration,
    ChangeApplication,
}

/// Work estimates a source provider attaches to a change batch (SetWorkEstimateForBatch,
/// SetRemainingWorkEstimateForSession). `remaining_session_work` includes this batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEstimate {
    pub batch_work: u64,
    pub remaining_session_work: u64,
}

/// What a handler reports about its work, in Sync Framework's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkReport {
    /// A change batch starts; `None` when the source gives no estimates.
    BatchStarted { estimate: Option<BatchEstimate> },
    /// One change was applied, with its work estimate (dwWorkForChange) if any.
    ChangeApplied { work: Option<u64> },
    /// One conflict was applied or logged (AddLoggedConflict), with its work estimate.
    ConflictApplied { work: Option<u64> },
    /// The current batch is completely applied.
    BatchApplied,
    /// Custom progress (ISyncSessionState::OnProgress / OnProgressChanged). At the change
    /// application stage `completed` is work done since the last report and `total` the
    /// work remaining; at other stages both are passed through as they are.
    Staged {
        stage: Stage,
        completed: u64,
        total: u64,
    },
}

/// One progress notification (SyncStagedProgressEventArgs). With no estimates both figures
/// are 0, as Sync Framework passes them: the event itself is the news.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressEvent {
    pub stage: Stage,
    pub completed: u64,
    pub total: u64,
}

impl ProgressEvent {
    /// Completed and total when the event carries real figures.
    pub fn measure(&self) -> Option<(u64, u64)> {
        (self.total > 0).then_some((self.completed, self.total))
    }
}

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProgressError {
    #[error(
        "custom progress at the change application stage was ignored: this item already reports work estimates, and counting both would count the same work twice"
    )]
    StagedWhileEstimating,
    #[error(
        "work estimates were ignored: this item already reports custom progress at the change application stage, and counting both would count the same work twice"
    )]
    EstimatesWhileStaged,
    #[error("a change was reported outside a change batch")]
    ChangeOutsideBatch,
}

/// How an item reports its change application work. Set by the first report of either kind
/// and then fixed, which is what makes double counting impossible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Undecided,
    /// Batches without estimates: one event per change and per batch, figures 0.
    Counting,
    /// Batches with estimates: Sync Framework adds up the work.
    Estimated,
    /// Custom staged progress at the change application stage: the provider adds up.
    Staged,
}

#[derive(Clone, Copy, Debug, Default)]
struct Batch {
    start_completed: u64,
    work: u64,
}

/// Sync Framework's accounting for one item's session.
#[derive(Clone, Debug, Default)]
pub struct WorkAccounting {
    mode: Mode,
    completed: u64,
    total: u64,
    batch: Option<Batch>,
    changes_applied: u64,
}

impl WorkAccounting {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many changes and conflicts were applied, whatever the mode.
    pub fn changes_applied(&self) -> u64 {
        self.changes_applied
    }

    /// Applies one report. Returns the progress event Sync Framework would raise for it, or
    /// an error for a report that would double count (it is then ignored entirely).
    pub fn apply(&mut self, report: WorkReport) -> Result<ProgressEvent, ProgressError> {
        match report {
            WorkReport::BatchStarted { estimate } => self.start_batch(estimate),
            WorkReport::ChangeApplied { work } | WorkReport::ConflictApplied { work } => {
                self.apply_change(work)
            }
            WorkReport::BatchApplied => self.finish_batch(),
            WorkReport::Staged {
                stage,
                completed,
                total,
            } => self.staged(stage, completed, total),
        }
    }

    fn start_batch(
        &mut self,
        estimate: Option<BatchEstimate>,
    ) -> Result<ProgressEvent, ProgressError> {
        match estimate {
            Some(estimate) => {
                if self.mode == Mode::Staged {
                    return Err(ProgressError::EstimatesWhileStaged);
                }
                self.mode = Mode::Estimated;
                self.batch = Some(Batch {
                    start_completed: self.completed,
                    work: estimate.batch_work,
                });
                self.total = self
                    .completed
                    .saturating_add(estimate.remaining_session_work);
                Ok(self.event())
            }
            None => {
                if self.mode == Mode::Undecided {
                    self.mode = Mode::Counting;
                }
                // A batch without estimates in an estimating session adds no work.
                self.batch = Some(Batch {
                    start_completed: self.completed,
                    work: 0,
                });
                Ok(self.event())
            }
        }
    }

    fn apply_change(&mut self, work: Option<u64>) -> Result<ProgressEvent, ProgressError> {
        if self.batch.is_none() {
            return Err(ProgressError::ChangeOutsideBatch);
        }
        self.changes_applied += 1;
        if self.mode == Mode::Estimated {
            self.completed = self.completed.saturating_add(work.unwrap_or(0));
            self.total = self.total.max(self.completed);
        }
        Ok(self.event())
    }

    fn finish_batch(&mut self) -> Result<ProgressEvent, ProgressError> {
        let batch = self.batch.take().ok_or(ProgressError::ChangeOutsideBatch)?;
        if self.mode == Mode::Estimated {
            // The batch estimate covers all of its changes: catch up to it, never add it on
            // top of the changes already counted.
            self.completed = self
                .completed
                .max(batch.start_completed.saturating_add(batch.work));
            self.total = self.total.max(self.completed);
        }
        Ok(self.event())
    }

    fn staged(
        &mut self,
        stage: Stage,
        completed: u64,
        total: u64,
    ) -> Result<ProgressEvent, ProgressError> {
        if stage != Stage::ChangeApplication {
            return Ok(ProgressEvent {
                stage,
                completed,
                total,
            });
        }
        if self.mode == Mode::Estimated {
            return Err(ProgressError::StagedWhileEstimating);
        }
        self.mode = Mode::Staged;
        self.completed = self.completed.saturating_add(completed);
        self.total = self.completed.saturating_add(total);
        Ok(self.event())
    }

    fn event(&self) -> ProgressEvent {
        match self.mode {
            Mode::Estimated | Mode::Staged => ProgressEvent {
                stage: Stage::ChangeApplication,
                completed: self.completed,
                total: self.total,
            },
            Mode::Undecided | Mode::Counting => ProgressEvent {
                stage: Stage::ChangeApplication,
                completed: 0,
                total: 0,
            },
        }
    }
}

/// The most a bar shows before its item is done.
pub const UNFINISHED_CEILING: f32 = 0.99;

/// Seconds over which the rate is smoothed for the ETA.
pub const ETA_SMOOTHING_SECONDS: f64 = 5.0;

/// A rate needs this many seconds of samples before an ETA is shown.
pub const ETA_WARMUP_SECONDS: f64 = 1.5;

/// What a bar shows: the fraction and, when it is honest, the time left.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shown {
    pub fraction: f32,
    /// False while the total is unknown: draw a marquee, show no ETA.
    pub determinate: bool,
    pub eta_seconds: Option<f64>,
}

/// Rate of a fraction over time: progress and elapsed time are each summed with an
/// exponential decay, and the rate is their ratio. Irregular sampling and short bursts move it
/// only by their share of the last few seconds.
#[derive(Clone, Debug, Default)]
struct RateSmoother {
    first_at: Option<f64>,
    last: Option<(f64, f32)>,
    progress: f64,
    elapsed: f64,
}

impl RateSmoother {
    fn sample(&mut self, now: f64, fraction: f32) {
        let Some((then, before)) = self.last else {
            // The first sample only sets the origin (Unison skips it too).
            self.first_at = Some(now);
            self.last = Some((now, fraction));
            return;
        };
        let dt = now - then;
        if dt <= 0.0 {
            if fraction > before {
                self.progress += f64::from(fraction - before);
                self.last = Some((then, fraction));
            }
            return;
        }
        let decay = (-dt / ETA_SMOOTHING_SECONDS).exp();
        self.progress = self.progress * decay + f64::from(fraction - before).max(0.0);
        self.elapsed = self.elapsed * decay + dt;
        self.last = Some((now, fraction));
    }

    fn eta(&self, now: f64, fraction: f32) -> Option<f64> {
        let warm = now - self.first_at? >= ETA_WARMUP_SECONDS;
        let rate = self.progress / self.elapsed;
        (warm && self.elapsed > 0.0 && rate > 1e-9)
            .then(|| f64::from(1.0 - fraction).max(0.0) / rate)
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Turns raw snapshots of one item (or of the whole run) into what its bar shows.
#[derive(Clone, Debug, Default)]
pub struct ProgressView {
    shown: f32,
    rate: RateSmoother,
}

impl ProgressView {
    pub fn new() -> Self {
        Self::default()
    }

    /// `now` in seconds on any monotonic clock; `measure` is (completed, total) when known;
    /// `done` is true once the item reached a final status.
    pub fn update(&mut self, now: f64, measure: Option<(u64, u64)>, done: bool) -> Shown {
        if done {
            self.shown = 1.0;
            return Shown {
                fraction: 1.0,
                determinate: true,
                eta_seconds: None,
            };
        }
        match measure {
            Some((completed, total)) if total > 0 => {
                let raw = (completed as f64 / total as f64) as f32;
                self.shown = self.shown.max(raw.min(UNFINISHED_CEILING));
                self.rate.sample(now, self.shown);
                Shown {
                    fraction: self.shown,
                    determinate: true,
                    eta_seconds: self.rate.eta(now, self.shown),
                }
            }
            _ => {
                self.rate.reset();
                Shown {
                    fraction: self.shown,
                    determinate: false,
                    eta_seconds: None,
                }
            }
        }
    }

    /// Starts over, for a new run of the same item.
    pub fn restart(&mut self) {
        *self = Self::default();
    }
}

/// One item's part in the overall bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ItemShare {
    pub fraction: f32,
    pub determinate: bool,
    pub done: bool,
}

/// The overall bar across items and handlers: every item weighs the same (their units
/// differ: bytes, messages, steps), finished items count in full, and the total is known
/// only when every unfinished item knows its own.
pub fn overall(items: &[ItemShare]) -> Option<(u64, u64)> {
    if items.is_empty() {
        return None;
    }
    const SCALE: u64 = 10_000;
    let mut completed = 0u64;
    for item in items {
        if !item.done && !item.determinate {
            return None;
        }
        let fraction = if item.done { 1.0 } else { item.fraction };
        completed += (f64::from(fraction) * SCALE as f64).round() as u64;
    }
    Some((completed, SCALE * items.len() as u64))
}

/// "about 3 min", "45 s": coarser as it grows, as Unison rounds its ETAs.
pub fn format_eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=9 => "a few seconds left".to_string(),
        10..=59 => format!("{} s left", s.div_ceil(5) * 5),
        60..=3599 => {
            let minutes = (s + 30) / 60;
            format!("about {minutes} min left")
        }
        _ => {
            let hours = s / 3600;
            let minutes = (s % 3600 + 300) / 600 * 10;
            if minutes == 0 || minutes == 60 {
                format!("about {} h left", hours + u64::from(minutes == 60))
            } else {
                format!("about {hours} h {minutes} min left")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(batch_work: u64, remaining_session_work: u64) -> WorkReport {
        WorkReport::BatchStarted {
            estimate: Some(BatchEstimate {
                batch_work,
                remaining_session_work,
            }),
        }
    }

    fn figures(event: ProgressEvent) -> (u64, u64) {
        (event.completed, event.total)
    }

    // Rule 1 — "Reporting Each Change": without estimates, one event per applied change and
    // one per applied batch, with 0 for completed and total.
    #[test]
    fn without_estimates_each_change_and_each_batch_raise_one_event() {
        let mut acc = WorkAccounting::new();
        let mut events = Vec::new();
        events.push(
            acc.apply(WorkReport::BatchStarted { estimate: None })
                .unwrap(),
        );
        let mut per_change = 0;
        for _ in 0..3 {
            events.push(acc.apply(WorkReport::ChangeApplied { work: None }).unwrap());
            per_change += 1;
        }
        events.push(acc.apply(WorkReport::BatchApplied).unwrap());
        acc.apply(WorkReport::BatchStarted { estimate: None })
            .unwrap();
        acc.apply(WorkReport::ChangeApplied { work: None }).unwrap();
        per_change += 1;
        let last = acc.apply(WorkReport::BatchApplied).unwrap();
        assert_eq!(per_change, 4);
        assert_eq!(acc.changes_applied(), 4);
        for event in events.iter().chain([&last]) {
            assert_eq!(figures(*event), (0, 0));
            assert_eq!(event.measure(), None);
        }
    }

    // Rule 2 — "Reporting Estimated Work": completed work adds up as each change, conflict
    // and batch is applied; the total is completed plus the remaining session estimate.
    #[test]
    fn estimates_add_up_per_change_conflict_and_batch() {
        let mut acc = WorkAccounting::new();
        assert_eq!(figures(acc.apply(estimate(100, 250)).unwrap()), (0, 250));
        assert_eq!(
            figures(
                acc.apply(WorkReport::ChangeApplied { work: Some(30) })
                    .unwrap()
            ),
            (30, 250)
        );
        assert_eq!(
            figures(
                acc.apply(WorkReport::ConflictApplied { work: Some(20) })
                    .unwrap()
            ),
            (50, 250)
        );
        // The batch estimate (100) covers its changes (50): the batch adds the 50 not yet
        // counted, never 100 on top.
        assert_eq!(
            figures(acc.apply(WorkReport::BatchApplied).unwrap()),
            (100, 250)
        );
        // The next batch brings a fresh remaining estimate: total = completed + remaining.
        assert_eq!(figures(acc.apply(estimate(150, 150)).unwrap()), (100, 250));
        assert_eq!(
            figures(
                acc.apply(WorkReport::ChangeApplied { work: Some(150) })
                    .unwrap()
            ),
            (250, 250)
        );
        assert_eq!(
            figures(acc.apply(WorkReport::BatchApplied).unwrap()),
            (250, 250)
        );
    }

    #[test]
    fn a_session_estimate_that_was_too_small_grows_the_total_never_past_it() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(10, 10)).unwrap();
        let event = acc
            .apply(WorkReport::ChangeApplied { work: Some(25) })
            .unwrap();
        assert_eq!(figures(event), (25, 25));
        assert!(event.completed <= event.total);
    }

    #[test]
    fn a_remaining_estimate_larger_than_before_moves_the_total_up() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(50, 100)).unwrap();
        acc.apply(WorkReport::BatchApplied).unwrap();
        assert_eq!(figures(acc.apply(estimate(50, 200)).unwrap()), (50, 250));
    }

    // Rule 3 — "Reporting Custom Progress": at the change application stage completed work
    // accumulates and the given total is read as the remaining work.
    #[test]
    fn staged_progress_at_change_application_accumulates() {
        let mut acc = WorkAccounting::new();
        let stage = Stage::ChangeApplication;
        let e1 = acc
            .apply(WorkReport::Staged {
                stage,
                completed: 10,
                total: 90,
            })
            .unwrap();
        assert_eq!(figures(e1), (10, 100));
        let e2 = acc
            .apply(WorkReport::Staged {
                stage,
                completed: 15,
                total: 60,
            })
            .unwrap();
        assert_eq!(figures(e2), (25, 85));
        let e3 = acc
            .apply(WorkReport::Staged {
                stage,
                completed: 85,
                total: 0,
            })
            .unwrap();
        assert_eq!(figures(e3), (110, 110));
    }

    // Rule 3, second half: any other stage passes through unchanged and does not touch the
    // accumulated figure.
    #[test]
    fn staged_progress_at_other_stages_passes_through() {
        let mut acc = WorkAccounting::new();
        for stage in [Stage::ChangeDetection, Stage::ChangeEnumeration] {
            let event = acc
                .apply(WorkReport::Staged {
                    stage,
                    completed: 7,
                    total: 9,
                })
                .unwrap();
            assert_eq!(
                event,
                ProgressEvent {
                    stage,
                    completed: 7,
                    total: 9
                }
            );
        }
        let applied = acc
            .apply(WorkReport::Staged {
                stage: Stage::ChangeApplication,
                completed: 1,
                total: 1,
            })
            .unwrap();
        assert_eq!(figures(applied), (1, 2));
        // Detection reported again later is still passed through, not accumulated.
        let detect = acc
            .apply(WorkReport::Staged {
                stage: Stage::ChangeDetection,
                completed: 3,
                total: 0,
            })
            .unwrap();
        assert_eq!(figures(detect), (3, 0));
    }

    // Rule 4 — the double counting warning: estimates and custom change application progress
    // for the same work can never both be counted.
    #[test]
    fn staged_change_application_progress_is_refused_once_estimates_are_in_use() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(100, 100)).unwrap();
        acc.apply(WorkReport::ChangeApplied { work: Some(40) })
            .unwrap();
        let refused = acc.apply(WorkReport::Staged {
            stage: Stage::ChangeApplication,
            completed: 40,
            total: 60,
        });
        assert_eq!(refused, Err(ProgressError::StagedWhileEstimating));
        let event = acc
            .apply(WorkReport::ChangeApplied { work: Some(60) })
            .unwrap();
        assert_eq!(
            figures(event),
            (100, 100),
            "the refused report was not counted"
        );
    }

    #[test]
    fn estimates_are_refused_once_staged_change_application_is_in_use() {
        let mut acc = WorkAccounting::new();
        acc.apply(WorkReport::Staged {
            stage: Stage::ChangeApplication,
            completed: 5,
            total: 5,
        })
        .unwrap();
        assert_eq!(
            acc.apply(estimate(5, 5)),
            Err(ProgressError::EstimatesWhileStaged)
        );
        let event = acc
            .apply(WorkReport::Staged {
                stage: Stage::ChangeApplication,
                completed: 5,
                total: 0,
            })
            .unwrap();
        assert_eq!(figures(event), (10, 10));
    }

    #[test]
    fn huge_estimates_saturate_instead_of_overflowing() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(u64::MAX, u64::MAX)).unwrap();
        let event = acc
            .apply(WorkReport::ChangeApplied {
                work: Some(u64::MAX),
            })
            .unwrap();
        assert_eq!(figures(event), (u64::MAX, u64::MAX));
        let event = acc.apply(WorkReport::BatchApplied).unwrap();
        assert_eq!(figures(event), (u64::MAX, u64::MAX));
    }

    #[test]
    fn changes_outside_a_batch_are_refused() {
        let mut acc = WorkAccounting::new();
        assert_eq!(
            acc.apply(WorkReport::ChangeApplied { work: Some(1) }),
            Err(ProgressError::ChangeOutsideBatch)
        );
        assert_eq!(
            acc.apply(WorkReport::BatchApplied),
            Err(ProgressError::ChangeOutsideBatch)
        );
    }

    #[test]
    fn completed_never_exceeds_total_under_any_sequence() {
        // A small exhaustive walk over report sequences of length 4.
        let reports = [
            estimate(10, 30),
            estimate(0, 0),
            WorkReport::BatchStarted { estimate: None },
            WorkReport::ChangeApplied { work: Some(7) },
            WorkReport::ChangeApplied { work: None },
            WorkReport::ConflictApplied { work: Some(40) },
            WorkReport::BatchApplied,
            WorkReport::Staged {
                stage: Stage::ChangeApplication,
                completed: 4,
                total: 3,
            },
            WorkReport::Staged {
                stage: Stage::ChangeDetection,
                completed: 2,
                total: 8,
            },
        ];
        let n = reports.len();
        for a in 0..n {
            for b in 0..n {
                for c in 0..n {
                    for d in 0..n {
                        let mut acc = WorkAccounting::new();
                        let mut last_completed = 0;
                        for &i in &[a, b, c, d] {
                            if let Ok(event) = acc.apply(reports[i])
                                && event.stage == Stage::ChangeApplication
                                && event.total > 0
                            {
                                assert!(event.completed <= event.total, "{a}{b}{c}{d}");
                                assert!(event.completed >= last_completed, "{a}{b}{c}{d}");
                                last_completed = event.completed;
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_bar_never_runs_backwards_and_stops_short_of_full_until_done() {
        let mut view = ProgressView::new();
        assert_eq!(view.update(0.0, Some((50, 100)), false).fraction, 0.5);
        // The total grew: the raw fraction fell, the bar holds.
        assert_eq!(view.update(1.0, Some((50, 200)), false).fraction, 0.5);
        // All work reported but the item is not done: not 100 %.
        let almost = view.update(2.0, Some((200, 200)), false);
        assert_eq!(almost.fraction, UNFINISHED_CEILING);
        // More than the total: still not past it.
        assert_eq!(
            view.update(3.0, Some((500, 200)), false).fraction,
            UNFINISHED_CEILING
        );
        assert_eq!(view.update(4.0, Some((200, 200)), true).fraction, 1.0);
    }

    #[test]
    fn unknown_totals_give_a_marquee_and_no_eta() {
        let mut view = ProgressView::new();
        for t in 0..10 {
            let shown = view.update(f64::from(t), None, false);
            assert!(!shown.determinate);
            assert_eq!(shown.eta_seconds, None);
        }
        let shown = view.update(11.0, Some((0, 0)), false);
        assert!(!shown.determinate);
    }

    #[test]
    fn the_eta_waits_for_a_steady_rate_and_then_tracks_it() {
        let mut view = ProgressView::new();
        // 1 % per second.
        assert_eq!(view.update(0.0, Some((0, 100)), false).eta_seconds, None);
        assert_eq!(view.update(1.0, Some((1, 100)), false).eta_seconds, None);
        let mut last = None;
        for t in 2..=20 {
            last = view
                .update(f64::from(t), Some((t as u64, 100)), false)
                .eta_seconds;
        }
        let eta = last.expect("an ETA once the rate is steady");
        assert!((eta - 80.0).abs() < 1.0, "eta {eta}");
    }

    #[test]
    fn a_burst_moves_the_eta_only_a_little() {
        let mut view = ProgressView::new();
        for t in 0..=20 {
            view.update(f64::from(t) * 0.5, Some((t as u64, 200)), false);
        }
        let steady = view
            .update(10.5, Some((21, 200)), false)
            .eta_seconds
            .unwrap();
        // A second's worth of work (2 units) arrives within a tenth of a second.
        let after_burst = view
            .update(10.6, Some((23, 200)), false)
            .eta_seconds
            .unwrap();
        assert!(after_burst < steady);
        assert!(
            after_burst > steady * 0.75,
            "steady {steady}, after burst {after_burst}"
        );
    }

    #[test]
    fn the_overall_bar_weighs_items_equally_and_needs_every_total() {
        let half = ItemShare {
            fraction: 0.5,
            determinate: true,
            done: false,
        };
        let done = ItemShare {
            fraction: 0.2,
            determinate: false,
            done: true,
        };
        let unknown = ItemShare {
            fraction: 0.0,
            determinate: false,
            done: false,
        };
        assert_eq!(overall(&[half, done]), Some((15_000, 20_000)));
        assert_eq!(overall(&[half, unknown]), None);
        assert_eq!(overall(&[]), None);
    }

    #[test]
    fn etas_are_rounded_more_coarsely_as_they_grow() {
        assert_eq!(format_eta(3.0), "a few seconds left");
        assert_eq!(format_eta(42.0), "45 s left");
        assert_eq!(format_eta(125.0), "about 2 min left");
        assert_eq!(
            format_eta(3600.0 * 2.0 + 60.0 * 21.0),
            "about 2 h 20 min left"
        );
        assert_eq!(format_eta(3600.0 * 3.0 + 60.0 * 58.0), "about 4 h left");
    }
}
