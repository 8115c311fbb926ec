//! What an item is doing, in figures: the stage, files and bytes done out of all of them, the
//! entry at hand. A handler sends them with its progress; both front ends put them in words
//! ("Copying 1,234 of 20,108 files · 312.0 MB of 1.4 GB · 45.0 MB/s · report.pdf") and the
//! overall bar weighs items by them (bytes, plus a cost per file). Pure.

use crate::core::activity::{Change, Direction};
use crate::core::progress::Stage;
use crate::core::words::{grouped, plural, rate, size};
use serde::{Deserialize, Serialize};

/// What one file costs beyond its bytes, in bytes: creating, renaming and flushing an entry
/// take about as long as writing 64 KiB, so 20,000 small files weigh more than one file of
/// their total size.
pub const FILE_COST: u64 = 64 * 1024;

/// An item's figures as its handler last reported them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub stage: Stage,
    /// Files (entries) looked at while detecting changes, or changed while applying them.
    #[serde(default)]
    pub files_done: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_total: Option<u64>,
    #[serde(default)]
    pub bytes_done: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
    /// The entry at hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// What is being done to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Which way it goes: a handler says so when changes go both ways in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

impl Figures {
    /// Figures at a stage, nothing counted yet.
    pub fn at(stage: Stage) -> Self {
        Self {
            stage,
            files_done: 0,
            files_total: None,
            bytes_done: 0,
            bytes_total: None,
            current: None,
            change: None,
            direction: None,
        }
    }

    /// The item's work in bytes (its bytes plus [`FILE_COST`] a file), once its totals are
    /// known: its weight in the overall bar.
    pub fn weight(&self) -> Option<f64> {
        if self.files_total.is_none() && self.bytes_total.is_none() {
            return None;
        }
        let files = self.files_total.unwrap_or(0).saturating_mul(FILE_COST);
        let bytes = self.bytes_total.unwrap_or(0);
        Some(files.saturating_add(bytes).max(1) as f64)
    }

    /// How far the item is by its figures while it applies changes: files and bytes done,
    /// weighed as in [`Figures::weight`].
    fn fraction_applied(&self) -> Option<f64> {
        if self.stage != Stage::ChangeApplication {
            return None;
        }
        let weight = self.weight()?;
        let done = self
            .files_done
            .saturating_mul(FILE_COST)
            .saturating_add(self.bytes_done);
        Some((done as f64 / weight).min(1.0))
    }

    /// The item's bar: Sync Framework's work `measure` (completed, total), or further along
    /// in the same units when these figures say so. Work is counted by applied change, and
    /// a long file's bytes come in between: its figures move while the work waits for the
    /// file to land. Never behind the work, so never back; no bar where the work has none.
    pub fn further(&self, measure: Option<(u64, u64)>) -> Option<(u64, u64)> {
        let (completed, total) = measure?;
        let by_figures = self.fraction_applied().unwrap_or(0.0);
        let figured = (by_figures * total as f64).round() as u64;
        Some((completed.max(figured.min(total)), total))
    }

    /// The figures in words, with the transfer speed when it is known.
    pub fn describe(&self, speed: Option<f64>) -> String {
        let mut parts = Vec::new();
        match self.stage {
            Stage::ChangeDetection if self.files_done > 0 => parts.push(format!(
                "Looking for changes · {} checked",
                plural(self.files_done, "file", "files")
            )),
            Stage::ChangeDetection => parts.push("Looking for changes…".to_string()),
            Stage::ChangeEnumeration if self.files_done > 0 => parts.push(format!(
                "Comparing {}",
                plural(self.files_done, "file", "files")
            )),
            Stage::ChangeEnumeration => parts.push("Comparing…".to_string()),
            Stage::ChangeApplication => {
                let verb = self.change.map_or("Synchronizing", Change::doing_word);
                parts.push(match self.files_total {
                    Some(total) => format!(
                        "{verb} {} of {}",
                        grouped(self.files_done),
                        plural(total, "file", "files")
                    ),
                    None => format!("{verb} · {} done", plural(self.files_done, "file", "files")),
                });
                if let Some(total) = self.bytes_total.filter(|t| *t > 0) {
                    parts.push(format!("{} of {}", size(self.bytes_done), size(total)));
                }
                if let Some(speed) = speed.filter(|s| *s >= 1.0) {
                    parts.push(rate(speed));
                }
                if let Some(current) = &self.current {
                    let name = current.rsplit('/').next().unwrap_or(current);
                    parts.push(match self.direction {
                        Some(direction) => format!("{} {name}", direction.arrow()),
                        None => name.to_string(),
                    });
                }
            }
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applying(files: (u64, u64), bytes: (u64, u64)) -> Figures {
        Figures {
            files_done: files.0,
            files_total: Some(files.1),
            bytes_done: bytes.0,
            bytes_total: Some(bytes.1),
            current: Some("Reports/2026/report.pdf".into()),
            change: Some(Change::Copied),
            ..Figures::at(Stage::ChangeApplication)
        }
    }

    #[test]
    fn figures_read_as_the_stage_and_its_counts() {
        let checked = Figures {
            files_done: 12_345,
            ..Figures::at(Stage::ChangeDetection)
        };
        let both_ways = Figures {
            direction: Some(Direction::ToLeft),
            ..applying((1_234, 20_108), (312_000_000, 1_400_000_000))
        };
        let deleting = Figures {
            change: Some(Change::Deleted),
            current: None,
            bytes_total: Some(0),
            ..applying((3, 40), (0, 0))
        };
        let untotalled = Figures {
            files_done: 7,
            ..Figures::at(Stage::ChangeApplication)
        };
        // (figures, speed, words)
        let table = [
            (
                Figures::at(Stage::ChangeDetection),
                None,
                "Looking for changes…",
            ),
            (
                checked.clone(),
                None,
                "Looking for changes · 12,345 files checked",
            ),
            (
                Figures {
                    stage: Stage::ChangeEnumeration,
                    ..checked
                },
                None,
                "Comparing 12,345 files",
            ),
            (
                applying((1_234, 20_108), (312_000_000, 1_400_000_000)),
                Some(45_000_000.0),
                "Copying 1,234 of 20,108 files · 312.0 MB of 1.4 GB · 45.0 MB/s · report.pdf",
            ),
            (
                both_ways,
                None,
                "Copying 1,234 of 20,108 files · 312.0 MB of 1.4 GB · ⬅ report.pdf",
            ),
            (deleting, Some(0.2), "Deleting 3 of 40 files"),
            (untotalled, None, "Synchronizing · 7 files done"),
            (
                applying((0, 1), (0, 10)),
                None,
                "Copying 0 of 1 file · 0 bytes of 10 bytes · report.pdf",
            ),
        ];
        for (figures, speed, words) in table {
            assert_eq!(figures.describe(speed), words, "{figures:?}");
        }
    }

    #[test]
    fn an_item_weighs_its_bytes_and_its_files() {
        assert_eq!(Figures::at(Stage::ChangeDetection).weight(), None);
        let pair = applying((0, 20_000), (0, 80_000_000));
        assert_eq!(
            pair.weight(),
            Some((20_000 * FILE_COST + 80_000_000) as f64)
        );
        // Nothing to do still weighs something, so the item is counted.
        assert_eq!(applying((0, 0), (0, 0)).weight(), Some(1.0));
    }

    #[test]
    fn the_bar_goes_as_far_as_the_work_or_the_figures_say() {
        let weight = 2 * FILE_COST + 1_000_000;
        let half_of_a_long_file = applying((0, 2), (500_000, 1_000_000));
        let detecting = Figures {
            files_done: 5_000,
            ..Figures::at(Stage::ChangeDetection)
        };
        let untotalled = Figures {
            files_done: 1,
            ..Figures::at(Stage::ChangeApplication)
        };
        // (figures, work measure, bar)
        let table = [
            // The work waits for the file to land; the figures have half its bytes.
            (
                &half_of_a_long_file,
                Some((0, weight)),
                Some((500_000, weight)),
            ),
            // In the work's own units, whatever they are.
            (&half_of_a_long_file, Some((0, 1_000)), Some((442, 1_000))),
            // The work is further: it stands.
            (&half_of_a_long_file, Some((900, 1_000)), Some((900, 1_000))),
            // No work measure (a marquee): the figures do not make one.
            (&half_of_a_long_file, None, None),
            // Figures of another stage, or without totals, say nothing of how far.
            (&detecting, Some((10, 100)), Some((10, 100))),
            (&untotalled, Some((10, 100)), Some((10, 100))),
            // Never past the end.
            (
                &applying((3, 2), (2_000_000, 1_000_000)),
                Some((0, 100)),
                Some((100, 100)),
            ),
        ];
        for (figures, measure, bar) in table {
            assert_eq!(figures.further(measure), bar, "{figures:?} {measure:?}");
        }
    }
}
