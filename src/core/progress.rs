//! Progress accounting as in Sync Framework's "Reporting Synchronization Progress", and what
//! the user sees of it. Pure: no clocks, no I/O; time comes in as seconds.
//!
//! [`WorkAccounting`] turns what a handler reports (work estimates per change, per batch and
//! for the rest of the session, or custom staged progress) into progress events with a
//! completed and a total figure, one accounting per item. [`ProgressView`] turns the raw
//! figures into a bar that never runs backwards, never passes 100 %, reaches 100 % only when
//! the item is done, and carries a smoothed ETA. [`overall`] aggregates items into one bar.

use crate::core::status::ItemStatus;
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
/// are 0, as Sync Framework passes them: the event itself is the news. Figures of stages
/// other than change application (detection, enumeration) are passed on as they are, but
/// they are not the item's progress: a bar shows only change application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressEvent {
    pub stage: Stage,
    pub completed: u64,
    pub total: u64,
}

impl ProgressEvent {
    /// Completed and total of the change application work, when known: what an item's bar
    /// shows. Other stages say nothing about how much of the item is done.
    pub fn measure(&self) -> Option<(u64, u64)> {
        (self.stage == Stage::ChangeApplication && self.total > 0)
            .then_some((self.completed, self.total))
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

    /// Applies one report. Returns the progress event Sync Framework would raise for it
    /// (one per change or conflict, one per applied batch, and each custom report; none
    /// when a batch starts), or an error for a report that would double count (its figures
    /// are then ignored; a batch it starts still opens, so its changes are counted).
    pub fn apply(&mut self, report: WorkReport) -> Result<Option<ProgressEvent>, ProgressError> {
        match report {
            WorkReport::BatchStarted { estimate } => self.start_batch(estimate).map(|()| None),
            WorkReport::ChangeApplied { work } | WorkReport::ConflictApplied { work } => {
                self.apply_change(work).map(Some)
            }
            WorkReport::BatchApplied => self.finish_batch().map(Some),
            WorkReport::Staged {
                stage,
                completed,
                total,
            } => self.staged(stage, completed, total).map(Some),
        }
    }

    /// The change application figures as they stand now.
    pub fn current(&self) -> ProgressEvent {
        self.event()
    }

    fn start_batch(&mut self, estimate: Option<BatchEstimate>) -> Result<(), ProgressError> {
        // A remaining session estimate of 0 is no estimate at all: Sync Framework then
        // reports each change with 0 for completed and total work (the default mode).
        let estimate = estimate.filter(|e| e.remaining_session_work > 0);
        match estimate {
            Some(_) if self.mode == Mode::Staged => {
                // The estimate is refused, but the batch is one: its changes still count.
                self.batch = Some(Batch {
                    start_completed: self.completed,
                    work: 0,
                });
                Err(ProgressError::EstimatesWhileStaged)
            }
            Some(estimate) => {
                self.mode = Mode::Estimated;
                self.batch = Some(Batch {
                    start_completed: self.completed,
                    work: estimate.batch_work,
                });
                self.total = self
                    .completed
                    .saturating_add(estimate.remaining_session_work);
                Ok(())
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
                Ok(())
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

/// Rate of a value over time (a bar's fraction, bytes copied): progress and elapsed time are
/// each summed with an exponential decay, and the rate is their ratio. Irregular sampling and
/// short bursts move it only by their share of the last few seconds.
#[derive(Clone, Debug, Default)]
struct RateSmoother {
    first_at: Option<f64>,
    last: Option<(f64, f64)>,
    progress: f64,
    elapsed: f64,
}

impl RateSmoother {
    fn sample(&mut self, now: f64, value: f64) {
        let Some((then, before)) = self.last else {
            // The first sample only sets the origin (Unison skips it too).
            self.first_at = Some(now);
            self.last = Some((now, value));
            return;
        };
        let dt = now - then;
        if dt <= 0.0 {
            if value > before {
                self.progress += value - before;
                self.last = Some((then, value));
            }
            return;
        }
        let decay = (-dt / ETA_SMOOTHING_SECONDS).exp();
        self.progress = self.progress * decay + (value - before).max(0.0);
        self.elapsed = self.elapsed * decay + dt;
        self.last = Some((now, value));
    }

    /// The value per second, once samples span the warm-up.
    fn rate(&self, now: f64) -> Option<f64> {
        let warm = now - self.first_at? >= ETA_WARMUP_SECONDS;
        let rate = self.progress / self.elapsed;
        (warm && self.elapsed > 0.0 && rate > 1e-9).then_some(rate)
    }

    fn eta(&self, now: f64, fraction: f32) -> Option<f64> {
        self.rate(now)
            .map(|rate| f64::from(1.0 - fraction).max(0.0) / rate)
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// A transfer speed from a running count (bytes copied so far), smoothed like the ETA; none
/// before a few samples span the warm-up.
#[derive(Clone, Debug, Default)]
pub struct Speed {
    rate: RateSmoother,
}

impl Speed {
    /// `now` in seconds on any monotonic clock. A count that went back (a new run) starts
    /// over.
    pub fn update(&mut self, now: f64, count: u64) -> Option<f64> {
        let count = count as f64;
        if self.rate.last.is_some_and(|(_, before)| count < before) {
            self.rate.reset();
        }
        self.rate.sample(now, count);
        self.rate.rate(now)
    }
}

/// Turns raw snapshots of one item (or of the whole run) into what its bar shows.
#[derive(Clone, Debug, Default)]
pub struct ProgressView {
    shown: f32,
    rate: RateSmoother,
    /// For the overall bar: how many items had told their weight at the last update.
    weighed: usize,
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
                self.rate.sample(now, f64::from(self.shown));
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
    /// How much of the item is done: all of it once it ended, else what its own bar shows
    /// (nothing before it starts).
    pub fraction: f32,
    /// The fraction is exact: the item ended, has not started yet, or knows its total.
    pub exact: bool,
    pub done: bool,
    /// The item's part of the whole: its work in bytes (files and bytes from its figures,
    /// `Figures::weight`) once it told them. An item that has not (other units: messages,
    /// steps; or not started yet) weighs what the average item that has weighs, or 1 when
    /// none has, so a run of such items counts them by number.
    pub weight: Option<f64>,
}

impl ItemShare {
    /// An item's share from its status and what its own bar shows.
    pub fn of(status: ItemStatus, shown: Shown) -> ItemShare {
        let done = status.is_terminal();
        let not_started = matches!(status, ItemStatus::Pending | ItemStatus::Waiting);
        ItemShare {
            fraction: if done { 1.0 } else { shown.fraction },
            exact: done || shown.determinate || (not_started && shown.fraction == 0.0),
            done,
            weight: None,
        }
    }

    /// The same share, weighing `weight` (bytes of work) when it is known.
    pub fn weighing(self, weight: Option<f64>) -> ItemShare {
        ItemShare { weight, ..self }
    }
}

/// The overall bar's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overall {
    pub completed: u64,
    pub total: u64,
    /// Every unfinished item knows its total: the figures, and an ETA from them, are
    /// honest. Otherwise a running item counts only for what its bar last showed.
    pub exact: bool,
}

/// The overall bar across items and handlers: each item counts by its weight, in full once
/// it ended, by what its own bar shows while it runs, as nothing done before it starts. So
/// the bar moves while the first of several items runs and reaches its end with the last,
/// and a 3-file pair counts for little beside a 20,000-file one. Nothing at all known yet
/// (the running items draw marquees, none has ended) is `None`. The figures are exact only
/// when every unfinished item's fraction is, and either every unfinished item told its
/// weight or none did (then they count by number).
pub fn overall(items: &[ItemShare]) -> Option<Overall> {
    const SCALE: f64 = 10_000.0;
    let known: Vec<f64> = items
        .iter()
        .filter_map(|i| i.weight)
        .map(|w| w.max(0.0))
        .collect();
    let average = if known.is_empty() {
        1.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    let weight_of = |i: &ItemShare| i.weight.map_or(average, |w| w.max(0.0));
    let weight: f64 = items.iter().map(weight_of).sum();
    if weight <= 0.0 {
        return None;
    }
    let done: f64 = items
        .iter()
        .map(|i| weight_of(i) * f64::from(i.fraction.clamp(0.0, 1.0)))
        .sum();
    let unfinished = || items.iter().filter(|i| !i.done);
    let weights_known = unfinished().all(|i| i.weight.is_some())
        || (known.is_empty() && unfinished().all(|i| i.weight.is_none()));
    let exact = items.iter().all(|i| i.exact) && weights_known;
    let completed = (done / weight * SCALE).round() as u64;
    (exact || completed > 0).then_some(Overall {
        completed,
        total: SCALE as u64,
        exact,
    })
}

impl ProgressView {
    /// The overall bar over these items: 100 % once all ended, an ETA only while every
    /// figure is exact.
    /// The bar never goes back, except when an item tells its weight: the figure weighed
    /// by guesses (the average item) gives way to the one weighed by what it said, once.
    pub fn update_overall(&mut self, now: f64, items: &[ItemShare]) -> Shown {
        let weighed = items.iter().filter(|i| i.weight.is_some()).count();
        if weighed != self.weighed {
            self.restart();
            self.weighed = weighed;
        }
        let figures = overall(items);
        let all_done = !items.is_empty() && items.iter().all(|i| i.done);
        let mut shown = self.update(now, figures.map(|f| (f.completed, f.total)), all_done);
        if !figures.is_some_and(|f| f.exact) {
            shown.eta_seconds = None;
        }
        shown
    }
}

/// "about 3 min", "45 s": coarser as it grows, as Unison rounds its ETAs.
pub fn format_eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    // Rounded first, then told in the unit the rounded figure belongs to: 58 s is "about
    // 1 min", 59 min 40 s "about 1 h".
    match s {
        0..=9 => "a few seconds left".to_string(),
        10..=55 => format!("{} s left", s.div_ceil(5) * 5),
        56..=3569 => {
            let minutes = ((s + 30) / 60).max(1);
            format!("about {minutes} min left")
        }
        // Past a day the minutes say nothing, and past four days the figure says only that
        // the work hardly moves (a stalled transfer gave "about 272849 h 40 min").
        86_400..=345_599 => format!("about {} h left", (s + 1800) / 3600),
        345_600.. => "more than 4 days left".to_string(),
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

    /// Applies a report that must be accepted; the figures as they stand afterwards.
    fn step(acc: &mut WorkAccounting, report: WorkReport) -> (u64, u64) {
        acc.apply(report).expect("accepted");
        figures(acc.current())
    }

    fn change(work: u64) -> WorkReport {
        WorkReport::ChangeApplied { work: Some(work) }
    }

    fn staged(stage: Stage, completed: u64, total: u64) -> WorkReport {
        WorkReport::Staged {
            stage,
            completed,
            total,
        }
    }

    // Rule 1 — "Reporting Each Change": without estimates, one event per applied change and
    // one per applied batch, with 0 for completed and total; none when a batch starts.
    #[test]
    fn without_estimates_each_change_and_each_batch_raise_one_event() {
        for no_estimate in [
            WorkReport::BatchStarted { estimate: None },
            // A remaining session estimate of 0 is the default mode too.
            estimate(0, 0),
            estimate(40, 0),
        ] {
            let mut acc = WorkAccounting::new();
            let mut events = Vec::new();
            for report in [
                no_estimate,
                WorkReport::ChangeApplied { work: None },
                change(5),
                WorkReport::ConflictApplied { work: None },
                WorkReport::BatchApplied,
                no_estimate,
                WorkReport::ChangeApplied { work: None },
                WorkReport::BatchApplied,
            ] {
                events.extend(acc.apply(report).unwrap());
            }
            assert_eq!(events.len(), 6, "{no_estimate:?}: 4 changes, 2 batches");
            assert_eq!(acc.changes_applied(), 4);
            for event in &events {
                assert_eq!(figures(*event), (0, 0), "{no_estimate:?}");
                assert_eq!(event.measure(), None);
            }
            // And the item stays free to report custom progress afterwards.
            assert_eq!(
                step(&mut acc, staged(Stage::ChangeApplication, 1, 1)),
                (1, 2),
                "{no_estimate:?}"
            );
        }
    }

    // Rule 2 — "Reporting Estimated Work": completed work adds up as each change, conflict
    // and batch is applied; the total is completed plus the remaining session estimate.
    #[test]
    fn estimates_add_up_per_change_conflict_and_batch() {
        let mut acc = WorkAccounting::new();
        assert_eq!(
            acc.apply(estimate(100, 250)),
            Ok(None),
            "no event at batch start"
        );
        assert_eq!(figures(acc.current()), (0, 250));
        assert_eq!(step(&mut acc, change(30)), (30, 250));
        assert_eq!(
            step(&mut acc, WorkReport::ConflictApplied { work: Some(20) }),
            (50, 250)
        );
        // The batch estimate (100) covers its changes (50): the batch adds the 50 not yet
        // counted, never 100 on top.
        assert_eq!(step(&mut acc, WorkReport::BatchApplied), (100, 250));
        // The next batch brings a fresh remaining estimate: total = completed + remaining.
        assert_eq!(step(&mut acc, estimate(150, 150)), (100, 250));
        assert_eq!(step(&mut acc, change(150)), (250, 250));
        assert_eq!(step(&mut acc, WorkReport::BatchApplied), (250, 250));
    }

    #[test]
    fn a_session_estimate_that_was_too_small_grows_the_total_never_past_it() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(10, 10)).unwrap();
        let event = acc.apply(change(25)).unwrap().unwrap();
        assert_eq!(figures(event), (25, 25));
        assert!(event.completed <= event.total);
    }

    #[test]
    fn a_remaining_estimate_larger_than_before_moves_the_total_up() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(50, 100)).unwrap();
        acc.apply(WorkReport::BatchApplied).unwrap();
        assert_eq!(step(&mut acc, estimate(50, 200)), (50, 250));
    }

    // Rule 3 — "Reporting Custom Progress": at the change application stage completed work
    // accumulates and the given total is read as the remaining work.
    #[test]
    fn staged_progress_at_change_application_accumulates() {
        let mut acc = WorkAccounting::new();
        let stage = Stage::ChangeApplication;
        assert_eq!(step(&mut acc, staged(stage, 10, 90)), (10, 100));
        assert_eq!(step(&mut acc, staged(stage, 15, 60)), (25, 85));
        assert_eq!(step(&mut acc, staged(stage, 85, 0)), (110, 110));
    }

    // Rule 3, second half: any other stage passes through unchanged and does not touch the
    // accumulated figure; it is not the item's progress either, so its bar shows none.
    #[test]
    fn staged_progress_at_other_stages_passes_through() {
        let mut acc = WorkAccounting::new();
        for stage in [Stage::ChangeDetection, Stage::ChangeEnumeration] {
            let event = acc.apply(staged(stage, 9, 10)).unwrap().unwrap();
            assert_eq!(
                event,
                ProgressEvent {
                    stage,
                    completed: 9,
                    total: 10
                }
            );
            assert_eq!(event.measure(), None, "a detection stage never fills a bar");
        }
        let applied = acc
            .apply(staged(Stage::ChangeApplication, 1, 1))
            .unwrap()
            .unwrap();
        assert_eq!(figures(applied), (1, 2));
        assert_eq!(applied.measure(), Some((1, 2)));
        // Detection reported again later is still passed through, not accumulated.
        let detect = acc
            .apply(staged(Stage::ChangeDetection, 3, 0))
            .unwrap()
            .unwrap();
        assert_eq!(figures(detect), (3, 0));
        assert_eq!(figures(acc.current()), (1, 2));
    }

    // Rule 4 — the double counting warning: estimates and custom change application progress
    // for the same work can never both be counted.
    #[test]
    fn staged_change_application_progress_is_refused_once_estimates_are_in_use() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(100, 100)).unwrap();
        acc.apply(change(40)).unwrap();
        let refused = acc.apply(staged(Stage::ChangeApplication, 40, 60));
        assert_eq!(refused, Err(ProgressError::StagedWhileEstimating));
        let event = acc.apply(change(60)).unwrap().unwrap();
        assert_eq!(
            figures(event),
            (100, 100),
            "the refused report was not counted"
        );
    }

    #[test]
    fn estimates_are_refused_once_staged_change_application_is_in_use_and_changes_still_count() {
        let mut acc = WorkAccounting::new();
        acc.apply(staged(Stage::ChangeApplication, 5, 5)).unwrap();
        assert_eq!(
            acc.apply(estimate(5, 5)),
            Err(ProgressError::EstimatesWhileStaged)
        );
        // The batch the refused estimate came with still opens: its changes are counted,
        // without touching the figures.
        assert_eq!(step(&mut acc, change(3)), (5, 10));
        assert_eq!(step(&mut acc, WorkReport::BatchApplied), (5, 10));
        assert_eq!(acc.changes_applied(), 1);
        assert_eq!(
            step(&mut acc, staged(Stage::ChangeApplication, 5, 0)),
            (10, 10)
        );
    }

    #[test]
    fn huge_estimates_saturate_instead_of_overflowing() {
        let mut acc = WorkAccounting::new();
        acc.apply(estimate(u64::MAX, u64::MAX)).unwrap();
        assert_eq!(step(&mut acc, change(u64::MAX)), (u64::MAX, u64::MAX));
        assert_eq!(
            step(&mut acc, WorkReport::BatchApplied),
            (u64::MAX, u64::MAX)
        );
    }

    #[test]
    fn changes_outside_a_batch_are_refused() {
        let mut acc = WorkAccounting::new();
        assert_eq!(acc.apply(change(1)), Err(ProgressError::ChangeOutsideBatch));
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
            change(7),
            WorkReport::ChangeApplied { work: None },
            WorkReport::ConflictApplied { work: Some(40) },
            WorkReport::BatchApplied,
            staged(Stage::ChangeApplication, 4, 3),
            staged(Stage::ChangeDetection, 2, 8),
        ];
        let n = reports.len();
        for a in 0..n {
            for b in 0..n {
                for c in 0..n {
                    for d in 0..n {
                        let mut acc = WorkAccounting::new();
                        let mut last_completed = 0;
                        for &i in &[a, b, c, d] {
                            let _ = acc.apply(reports[i]);
                            let now = acc.current();
                            assert_eq!(now.stage, Stage::ChangeApplication);
                            if let Some((completed, total)) = now.measure() {
                                assert!(completed <= total, "{a}{b}{c}{d}");
                                assert!(completed >= last_completed, "{a}{b}{c}{d}");
                                last_completed = completed;
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

    fn shown(fraction: f32, determinate: bool) -> Shown {
        Shown {
            fraction,
            determinate,
            eta_seconds: None,
        }
    }

    #[test]
    fn an_items_share_follows_its_status_and_its_bar() {
        use ItemStatus::*;
        // (status, what its bar shows, fraction counted, exact)
        let table = [
            (Pending, shown(0.0, false), 0.0, true),
            (Waiting, shown(0.0, false), 0.0, true),
            // Waiting for a dialog halfway through a marquee item: not exact.
            (Waiting, shown(0.3, false), 0.3, false),
            (Updating, shown(0.5, true), 0.5, true),
            (Indeterminate, shown(0.0, false), 0.0, false),
            (Indeterminate, shown(0.4, false), 0.4, false),
            (Succeeded, shown(0.2, false), 1.0, true),
            (Failed, shown(0.7, true), 1.0, true),
            (Skipped, shown(0.0, false), 1.0, true),
            (Canceled, shown(0.0, false), 1.0, true),
        ];
        for (status, bar, fraction, exact) in table {
            let share = ItemShare::of(status, bar);
            assert_eq!(
                (share.fraction, share.exact, share.done, share.weight),
                (fraction, exact, status.is_terminal(), None),
                "{status:?} {bar:?}"
            );
        }
    }

    fn share(fraction: f32, exact: bool, done: bool) -> ItemShare {
        ItemShare {
            fraction: if done { 1.0 } else { fraction },
            exact,
            done,
            weight: None,
        }
    }

    #[test]
    fn the_overall_bar_counts_every_item_by_its_weight() {
        let waiting = share(0.0, true, false);
        let half = share(0.5, true, false);
        let done = share(1.0, true, true);
        let marquee = share(0.0, false, false);
        let marquee_after_some = share(0.4, false, false);
        let figures = |completed, exact| {
            Some(Overall {
                completed,
                total: 10_000,
                exact,
            })
        };
        // (items, expected)
        let table: &[(&[ItemShare], Option<Overall>)] = &[
            (&[], None),
            // The first of four items halfway: the bar has moved an eighth.
            (&[half, waiting, waiting, waiting], figures(1_250, true)),
            (&[done, half], figures(7_500, true)),
            (&[done, done], figures(10_000, true)),
            // One item, done: the whole bar.
            (&[done], figures(10_000, true)),
            // A running marquee item with nothing known at all: a marquee.
            (&[marquee, waiting], None),
            // Something is known: a bar, but no ETA from it.
            (&[done, marquee], figures(5_000, false)),
            (&[marquee_after_some, waiting], figures(2_000, false)),
        ];
        for (items, expected) in table {
            assert_eq!(overall(items), *expected, "{items:?}");
        }
        // Weights plug in item by item: a heavy item counts for more.
        let heavy = half.weighing(Some(3.0));
        let light = done.weighing(Some(1.0));
        assert_eq!(overall(&[heavy, light]), figures(6_250, true));
        // The case: a 3-file pair done, a 20,000-file pair at 19 %: 19 %, not 59 %.
        let small = done.weighing(Some(3.0 * 70_000.0));
        let big = share(0.19, true, false).weighing(Some(20_000.0 * 70_000.0));
        assert_eq!(overall(&[small, big]), figures(1_901, true));
        // An item that has not told its weight counts as the average one; the figures are
        // not exact while it is unfinished (no ETA from them).
        let untold = waiting;
        assert_eq!(
            overall(&[half.weighing(Some(2.0)), done.weighing(Some(4.0)), untold]),
            figures(5_556, false)
        );
        // Done items that told nothing leave the weighed ones exact.
        assert_eq!(
            overall(&[done, half.weighing(Some(8.0))]),
            figures(7_500, true)
        );
    }

    #[test]
    fn the_overall_view_moves_during_the_first_item_and_ends_at_full() {
        let mut view = ProgressView::new();
        let first = view.update_overall(0.0, &[share(0.5, true, false), share(0.0, true, false)]);
        assert!(first.determinate && first.fraction > 0.2, "{first:?}");
        // All work of the last item reported, not done yet: short of full.
        let almost = view.update_overall(1.0, &[share(1.0, true, true), share(1.0, true, false)]);
        assert_eq!(almost.fraction, UNFINISHED_CEILING);
        let end = view.update_overall(2.0, &[share(1.0, true, true), share(1.0, true, true)]);
        assert_eq!(end.fraction, 1.0);
        // A single item ends at 100 % too.
        let mut single = ProgressView::new();
        single.update_overall(0.0, &[share(0.3, true, false)]);
        assert_eq!(
            single
                .update_overall(1.0, &[share(1.0, true, true)])
                .fraction,
            1.0
        );
        // A small pair done, a big one not weighed yet: counted as alike, half done. Once the
        // big one tells its weight the bar shows what is really done, lower.
        let mut view = ProgressView::new();
        let small = share(1.0, true, true).weighing(Some(3.0));
        let guessed = view.update_overall(0.0, &[small, share(0.0, true, false)]);
        assert!((guessed.fraction - 0.5).abs() < 1e-6, "{guessed:?}");
        let big = share(0.2, true, false).weighing(Some(997.0));
        let weighed = view.update_overall(1.0, &[small, big]);
        assert!((weighed.fraction - 0.2024).abs() < 1e-4, "{weighed:?}");
        // From there it only moves forward again.
        let later =
            view.update_overall(2.0, &[small, share(0.1, true, false).weighing(Some(997.0))]);
        assert_eq!(later.fraction, weighed.fraction);
        // No ETA while a running item's total is unknown.
        let mut view = ProgressView::new();
        for t in 0..10 {
            let shown = view.update_overall(
                f64::from(t),
                &[share(1.0, true, true), share(0.1 * t as f32, false, false)],
            );
            assert_eq!(shown.eta_seconds, None);
        }
    }

    #[test]
    fn a_speed_is_smoothed_and_starts_over_with_a_new_count() {
        let mut speed = Speed::default();
        assert_eq!(speed.update(0.0, 0), None);
        // Before the warm-up: no speed yet.
        assert_eq!(speed.update(1.0, 10_000_000), None);
        let mut last = None;
        for t in 2..=10 {
            last = speed.update(f64::from(t), 10_000_000 * t as u64);
        }
        let steady = last.expect("a speed after the warm-up");
        assert!((steady - 10_000_000.0).abs() < 1.0, "{steady}");
        // A stall slows it down gradually, not to zero at once.
        let stalled = speed.update(11.0, 100_000_000).unwrap();
        assert!(stalled < steady && stalled > steady * 0.5, "{stalled}");
        // A count that went back is a new transfer: no speed until it warms up again.
        assert_eq!(speed.update(12.0, 5), None);
    }

    #[test]
    fn etas_are_rounded_more_coarsely_as_they_grow() {
        let table = [
            (3.0, "a few seconds left"),
            (9.4, "a few seconds left"),
            (42.0, "45 s left"),
            (55.0, "55 s left"),
            // Rounds to a minute: said in minutes, never "60 s".
            (57.0, "about 1 min left"),
            (59.6, "about 1 min left"),
            (89.0, "about 1 min left"),
            (125.0, "about 2 min left"),
            (3569.0, "about 59 min left"),
            // Rounds to an hour: said in hours, never "60 min".
            (3575.0, "about 1 h left"),
            (3599.0, "about 1 h left"),
            (3600.0 * 2.0 + 60.0 * 21.0, "about 2 h 20 min left"),
            (3600.0 * 3.0 + 60.0 * 58.0, "about 4 h left"),
            (3600.0 * 23.0 + 60.0 * 58.0, "about 24 h left"),
            (3600.0 * 30.0 + 60.0 * 29.0, "about 30 h left"),
            (3600.0 * 95.0 + 60.0 * 59.0, "about 96 h left"),
            (3600.0 * 96.0, "more than 4 days left"),
            (982_258_800.0, "more than 4 days left"),
        ];
        for (seconds, words) in table {
            assert_eq!(format_eta(seconds), words, "{seconds}");
        }
    }
}
