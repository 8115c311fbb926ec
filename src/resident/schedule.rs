//! Schedules (Vista's schedule wizard) and their arithmetic, pure: no clock, no disk.
//!
//! Due times are wall-clock and persisted, so a run missed while the machine slept or Sync
//! Center was not running is made up once when it comes back (systemd's `Persistent=`),
//! never once per missed slot.

use crate::core::model::ItemKey;
use chrono::{DateTime, Datelike, Duration as Span, Local, NaiveTime, TimeZone, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// When a schedule fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum When {
    /// Every N seconds (minutes and hours are written as seconds).
    Every { seconds: u64 },
    /// Every day at a local time.
    Daily { hour: u32, minute: u32 },
    /// On these weekdays (0 = Monday … 6 = Sunday) at a local time.
    Weekly {
        days: Vec<u8>,
        hour: u32,
        minute: u32,
    },
}

impl When {
    /// Checks the values a person or a file may get wrong; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        let time_ok = |hour: u32, minute: u32| {
            if hour > 23 || minute > 59 {
                Err(format!("{hour:02}:{minute:02} is not a time of day"))
            } else {
                Ok(())
            }
        };
        match self {
            When::Every { seconds } if *seconds == 0 => {
                Err("every: 0 seconds is not a period".into())
            }
            When::Every { .. } => Ok(()),
            When::Daily { hour, minute } => time_ok(*hour, *minute),
            When::Weekly { days, hour, minute } => {
                if days.is_empty() {
                    return Err("weekly: no weekday chosen".into());
                }
                if let Some(day) = days.iter().find(|d| **d > 6) {
                    return Err(format!(
                        "weekly: {day} is not a weekday (0 = Monday … 6 = Sunday)"
                    ));
                }
                time_ok(*hour, *minute)
            }
        }
    }

    /// The first time this schedule fires strictly after `after`. A period of 0 (a file
    /// edited by hand) counts as 1 s: never a busy loop.
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> DateTime<Tz> {
        match self {
            When::Every { seconds } => after.clone() + Span::seconds((*seconds).max(1) as i64),
            When::Daily { hour, minute } => next_at(after, *hour, *minute, |_| true),
            When::Weekly { days, hour, minute } => next_at(after, *hour, *minute, |day| {
                days.contains(&(day.num_days_from_monday() as u8))
            }),
        }
    }
}

/// The first local `hour:minute` after `after` on a day that `on_day` accepts (within 8
/// days; a week always has one when the day set is not empty).
fn next_at<Tz: TimeZone>(
    after: &DateTime<Tz>,
    hour: u32,
    minute: u32,
    on_day: impl Fn(Weekday) -> bool,
) -> DateTime<Tz> {
    let tz = after.timezone();
    let time = NaiveTime::from_hms_opt(hour.min(23), minute.min(59), 0).expect("a valid time");
    let start = after.date_naive();
    for offset in 0..=8 {
        let day = start + Span::days(offset);
        if !on_day(day.weekday()) {
            continue;
        }
        let local = day.and_time(time);
        // A time that does not exist that day (a DST gap) fires an hour later.
        let at = tz
            .from_local_datetime(&local)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(local + Span::hours(1))).earliest());
        if let Some(at) = at
            && at > *after
        {
            return at;
        }
    }
    // Unreachable with a valid weekday set; a day later is a safe answer.
    after.clone() + Span::days(1)
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Every { seconds } => write!(f, "every {}", period_words(*seconds)),
            When::Daily { hour, minute } => write!(f, "daily at {hour:02}:{minute:02}"),
            When::Weekly { days, hour, minute } => {
                const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
                let mut sorted = days.clone();
                sorted.sort();
                sorted.dedup();
                let names: Vec<&str> = sorted
                    .iter()
                    .filter_map(|d| NAMES.get(*d as usize).copied())
                    .collect();
                write!(f, "{} at {hour:02}:{minute:02}", names.join(", "))
            }
        }
    }
}

/// "2 s", "15 min", "2 h", "1 h 30 min".
pub fn period_words(seconds: u64) -> String {
    match seconds {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 3600 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Parses "30s", "15m", "2h", "90" (seconds) for the command line.
pub fn parse_period(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("\"{text}\" is not a period: write 30s, 15m or 2h"))?;
    let factor = match unit.trim() {
        "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("\"{other}\" is not a unit: use s, m, h or d")),
    };
    match value.checked_mul(factor) {
        Some(0) | None => Err(format!("\"{text}\" is not a usable period")),
        Some(seconds) => Ok(seconds),
    }
}

/// One schedule: which items, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Its name, unique among schedules; the user picks it.
    pub name: String,
    pub items: Vec<ItemKey>,
    pub when: When,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// What is remembered of a schedule between runs of Sync Center (wall-clock times in
/// milliseconds since the Unix epoch, so that a suspend does not shift them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    /// The `when` these times were computed for: a changed schedule starts afresh.
    pub when: When,
    pub next_due_ms: i64,
    #[serde(default)]
    pub last_run_ms: Option<i64>,
}

/// What to do about one schedule now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Start a run now (exactly once, however many slots were missed).
    pub run_now: bool,
    /// The due time to remember.
    pub due: Due,
}

/// Decides whether a schedule runs now, given what was remembered. Pure.
///
/// * never seen (or its `when` changed): not now; due at the next slot after `now`;
/// * due time passed (while running, asleep or not running): run once now, and the next
///   due time is the next slot after `now` — missed slots are not run one by one;
/// * due later: wait, unless the remembered time is later than the schedule could ever put
///   it from now (the clock was set back), which is pulled in to the next slot.
/// * paused: nothing runs; a due time that passes during the pause runs once after it.
pub fn plan<Tz: TimeZone>(
    when: &When,
    remembered: Option<&Due>,
    now: &DateTime<Tz>,
    paused: bool,
) -> Plan {
    let next = when.next_after(now).timestamp_millis();
    let fresh = |next_due_ms| Due {
        when: when.clone(),
        next_due_ms,
        last_run_ms: remembered.and_then(|d| d.last_run_ms),
    };
    let Some(due) = remembered.filter(|d| d.when == *when) else {
        return Plan {
            run_now: false,
            due: fresh(next),
        };
    };
    let now_ms = now.timestamp_millis();
    if due.next_due_ms <= now_ms {
        if paused {
            return Plan {
                run_now: false,
                due: due.clone(),
            };
        }
        return Plan {
            run_now: true,
            due: Due {
                when: when.clone(),
                next_due_ms: next,
                last_run_ms: Some(now_ms),
            },
        };
    }
    Plan {
        run_now: false,
        due: fresh(due.next_due_ms.min(next)),
    }
}

/// When a due time comes, in words: "in 5 s" within a minute, "14:05" today, "Mon 09:30"
/// within a week, else the date.
pub fn when_words(ms: i64, now: &DateTime<Local>) -> String {
    let Some(at) = DateTime::from_timestamp_millis(ms).map(|t| t.with_timezone(&Local)) else {
        return String::new();
    };
    let left = (ms - now.timestamp_millis()) / 1000;
    if left < 60 {
        return format!("in {} s", left.max(0));
    }
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M").to_string()
    } else if left < 7 * 86_400 {
        at.format("%a %H:%M").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// How often, in the schedule editor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    Seconds,
    Minutes,
    Hours,
    Daily,
    Weekly,
}

/// A schedule as the window's editor holds it while the user fills it in (Vista's schedule
/// wizard: a name, which items, and when).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The schedule this edits, by name (`None`: a new one).
    pub editing: Option<String>,
    pub name: String,
    pub items: BTreeSet<ItemKey>,
    pub repeat: Repeat,
    /// The number of seconds, minutes or hours for `Seconds`, `Minutes`, `Hours`.
    pub every: u64,
    pub hour: u32,
    pub minute: u32,
    /// Monday first.
    pub days: [bool; 7],
    pub enabled: bool,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            editing: None,
            name: String::new(),
            items: BTreeSet::new(),
            repeat: Repeat::Hours,
            every: 1,
            hour: 9,
            minute: 0,
            days: [true, true, true, true, true, false, false],
            enabled: true,
        }
    }
}

impl Draft {
    /// An existing schedule, to edit.
    pub fn of(schedule: &Schedule) -> Draft {
        let mut draft = Draft {
            editing: Some(schedule.name.clone()),
            name: schedule.name.clone(),
            items: schedule.items.iter().cloned().collect(),
            enabled: schedule.enabled,
            ..Draft::default()
        };
        match &schedule.when {
            When::Every { seconds } if seconds % 3600 == 0 && *seconds > 0 => {
                draft.repeat = Repeat::Hours;
                draft.every = seconds / 3600;
            }
            When::Every { seconds } if seconds % 60 == 0 && *seconds > 0 => {
                draft.repeat = Repeat::Minutes;
                draft.every = seconds / 60;
            }
            When::Every { seconds } => {
                draft.repeat = Repeat::Seconds;
                draft.every = *seconds;
            }
            When::Daily { hour, minute } => {
                draft.repeat = Repeat::Daily;
                (draft.hour, draft.minute) = (*hour, *minute);
            }
            When::Weekly { days, hour, minute } => {
                draft.repeat = Repeat::Weekly;
                (draft.hour, draft.minute) = (*hour, *minute);
                draft.days = [false; 7];
                for day in days.iter().filter(|d| **d < 7) {
                    draft.days[*day as usize] = true;
                }
            }
        }
        draft
    }

    /// The `when` the draft says.
    pub fn when(&self) -> When {
        match self.repeat {
            Repeat::Seconds => When::Every {
                seconds: self.every,
            },
            Repeat::Minutes => When::Every {
                seconds: self.every.saturating_mul(60),
            },
            Repeat::Hours => When::Every {
                seconds: self.every.saturating_mul(3600),
            },
            Repeat::Daily => When::Daily {
                hour: self.hour,
                minute: self.minute,
            },
            Repeat::Weekly => When::Weekly {
                days: (0..7u8).filter(|d| self.days[*d as usize]).collect(),
                hour: self.hour,
                minute: self.minute,
            },
        }
    }

    /// The schedule, or what is missing in words; `others` are the schedules there are.
    pub fn to_schedule(&self, others: &[Schedule]) -> Result<Schedule, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("Give the schedule a name.".into());
        }
        let taken = others
            .iter()
            .any(|s| s.name == name && self.editing.as_deref() != Some(name));
        if taken {
            return Err(format!("There is a schedule named \"{name}\" already."));
        }
        if self.items.is_empty() {
            return Err("Choose at least one item to sync.".into());
        }
        let unit = match self.repeat {
            Repeat::Seconds => Some("seconds"),
            Repeat::Minutes => Some("minutes"),
            Repeat::Hours => Some("hours"),
            Repeat::Daily | Repeat::Weekly => None,
        };
        if let Some(unit) = unit
            && self.every == 0
        {
            return Err(format!(
                "When: every 0 {unit} never comes round; choose 1 or more."
            ));
        }
        let when = self.when();
        when.validate().map_err(|e| format!("When: {e}."))?;
        Ok(Schedule {
            name: name.to_string(),
            items: self.items.iter().cloned().collect(),
            when,
            enabled: self.enabled,
        })
    }
}

/// The schedules after saving a draft: the edited one replaced in place, a new one added.
pub fn save_draft(schedules: &[Schedule], draft: &Draft) -> Result<Vec<Schedule>, String> {
    let schedule = draft.to_schedule(schedules)?;
    let mut saved = schedules.to_vec();
    match draft
        .editing
        .as_ref()
        .and_then(|name| saved.iter().position(|s| &s.name == name))
    {
        Some(at) => saved[at] = schedule,
        None => saved.push(schedule),
    }
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn ms(text: &str) -> i64 {
        at(text).timestamp_millis()
    }

    #[test]
    fn next_slots() {
        let weekdays = When::Weekly {
            days: vec![0, 2, 4],
            hour: 9,
            minute: 30,
        };
        // (when, after, expected) — 2026-11-30 is a Monday.
        let cases = [
            (
                When::Every { seconds: 2 },
                "2026-11-30T10:00:00+01:00",
                "2026-11-30T10:00:02+01:00",
            ),
            (
                When::Every { seconds: 3600 },
                "2026-11-30T23:30:00+01:00",
                "2026-12-01T00:30:00+01:00",
            ),
            (
                When::Daily { hour: 9, minute: 0 },
                "2026-11-30T08:59:59+01:00",
                "2026-11-30T09:00:00+01:00",
            ),
            (
                When::Daily { hour: 9, minute: 0 },
                "2026-11-30T09:00:00+01:00",
                "2026-12-01T09:00:00+01:00",
            ),
            (
                When::Daily { hour: 0, minute: 0 },
                "2026-12-31T23:00:00+01:00",
                "2027-01-01T00:00:00+01:00",
            ),
            (
                weekdays.clone(),
                "2026-11-30T09:00:00+01:00",
                "2026-11-30T09:30:00+01:00",
            ),
            (
                weekdays.clone(),
                "2026-11-30T09:30:00+01:00",
                "2026-12-02T09:30:00+01:00",
            ),
            (
                weekdays.clone(),
                "2026-12-04T10:00:00+01:00",
                "2026-12-07T09:30:00+01:00",
            ),
            (
                When::Weekly {
                    days: vec![6],
                    hour: 23,
                    minute: 59,
                },
                "2026-12-06T23:59:00+01:00",
                "2026-12-13T23:59:00+01:00",
            ),
        ];
        for (when, after, expected) in cases {
            assert_eq!(
                when.next_after(&at(after)),
                at(expected),
                "{when} after {after}"
            );
        }
    }

    #[test]
    fn runs_are_made_up_once_never_per_missed_slot() {
        let every_hour = When::Every { seconds: 3600 };
        let remembered = |next: &str| Due {
            when: every_hour.clone(),
            next_due_ms: ms(next),
            last_run_ms: None,
        };
        let now = at("2026-11-30T12:00:00+00:00");
        // (remembered next due, paused, run now?, next due afterwards)
        let cases = [
            // Never seen: the first slot is one period away.
            (None, false, false, "2026-11-30T13:00:00+00:00"),
            // Due in the future: wait for it.
            (
                Some("2026-11-30T12:30:00+00:00"),
                false,
                false,
                "2026-11-30T12:30:00+00:00",
            ),
            // Due exactly now: run.
            (
                Some("2026-11-30T12:00:00+00:00"),
                false,
                true,
                "2026-11-30T13:00:00+00:00",
            ),
            // Missed 72 slots while away: one run, and the next is a period from now.
            (
                Some("2026-11-27T12:00:00+00:00"),
                false,
                true,
                "2026-11-30T13:00:00+00:00",
            ),
            // Paused: nothing runs, the missed due time is kept for after the pause.
            (
                Some("2026-11-27T12:00:00+00:00"),
                true,
                false,
                "2026-11-27T12:00:00+00:00",
            ),
            // The clock went back a day: a due time beyond any slot from now is pulled in.
            (
                Some("2026-12-01T11:00:00+00:00"),
                false,
                false,
                "2026-11-30T13:00:00+00:00",
            ),
        ];
        for (next, paused, run_now, expected) in cases {
            let due = next.map(remembered);
            let plan = plan(&every_hour, due.as_ref(), &now, paused);
            assert_eq!(plan.run_now, run_now, "{next:?} paused={paused}");
            assert_eq!(
                plan.due.next_due_ms,
                ms(expected),
                "{next:?} paused={paused}"
            );
            if run_now {
                assert_eq!(plan.due.last_run_ms, Some(now.timestamp_millis()));
            }
            // Applying the plan again at the same instant never runs a second time.
            let again = super::plan(&every_hour, Some(&plan.due), &now, paused);
            assert!(!again.run_now, "{next:?}: ran twice");
        }
    }

    #[test]
    fn a_changed_schedule_starts_afresh() {
        let now = Utc::now();
        let old = Due {
            when: When::Every { seconds: 60 },
            next_due_ms: 0,
            last_run_ms: Some(0),
        };
        let plan = plan(&When::Every { seconds: 5 }, Some(&old), &now, false);
        assert!(!plan.run_now);
        assert_eq!(
            plan.due.next_due_ms,
            (now + Span::seconds(5)).timestamp_millis()
        );
        assert_eq!(plan.due.last_run_ms, Some(0));
    }

    #[test]
    fn bad_schedules_name_their_fault() {
        let cases = [
            (When::Every { seconds: 0 }, Some("0 seconds")),
            (
                When::Daily {
                    hour: 24,
                    minute: 0,
                },
                Some("24:00"),
            ),
            (
                When::Weekly {
                    days: vec![],
                    hour: 1,
                    minute: 0,
                },
                Some("no weekday"),
            ),
            (
                When::Weekly {
                    days: vec![7],
                    hour: 1,
                    minute: 0,
                },
                Some("7 is not a weekday"),
            ),
            (
                When::Weekly {
                    days: vec![1],
                    hour: 1,
                    minute: 0,
                },
                None,
            ),
            (When::Every { seconds: 1 }, None),
        ];
        for (when, fault) in cases {
            match (when.validate(), fault) {
                (Ok(()), None) => {}
                (Err(e), Some(part)) => assert!(e.contains(part), "{e}"),
                (got, want) => panic!("{when:?}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn periods_read_and_written() {
        let cases = [
            ("2s", Ok(2)),
            ("2", Ok(2)),
            ("15m", Ok(900)),
            ("2h", Ok(7200)),
            ("1d", Ok(86_400)),
            ("0s", Err(())),
            ("x", Err(())),
            ("5y", Err(())),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_period(text).map_err(|_| ()), expected, "{text}");
        }
        assert_eq!(period_words(2), "2 s");
        assert_eq!(period_words(900), "15 min");
        assert_eq!(period_words(7200), "2 h");
        assert_eq!(period_words(5400), "1 h 30 min");
        assert_eq!(
            When::Daily { hour: 7, minute: 5 }.to_string(),
            "daily at 07:05"
        );
    }

    #[test]
    fn a_draft_becomes_a_schedule_or_says_what_is_missing() {
        let docs = ItemKey::new("folders", "docs");
        let existing = vec![Schedule {
            name: "hourly".into(),
            items: vec![docs.clone()],
            when: When::Every { seconds: 3600 },
            enabled: true,
        }];
        let good = Draft {
            name: " nightly ".into(),
            items: [docs.clone()].into_iter().collect(),
            repeat: Repeat::Daily,
            hour: 3,
            minute: 30,
            ..Draft::default()
        };
        let weekdays = |days: [bool; 7]| Draft {
            repeat: Repeat::Weekly,
            days,
            ..good.clone()
        };
        // (draft, the schedule's when, or the start of the complaint)
        let cases: Vec<(Draft, Result<When, &str>)> = vec![
            (
                good.clone(),
                Ok(When::Daily {
                    hour: 3,
                    minute: 30,
                }),
            ),
            (
                Draft {
                    repeat: Repeat::Minutes,
                    every: 15,
                    ..good.clone()
                },
                Ok(When::Every { seconds: 900 }),
            ),
            (
                Draft {
                    repeat: Repeat::Hours,
                    every: 2,
                    ..good.clone()
                },
                Ok(When::Every { seconds: 7200 }),
            ),
            (
                weekdays([true, false, true, false, false, false, true]),
                Ok(When::Weekly {
                    days: vec![0, 2, 6],
                    hour: 3,
                    minute: 30,
                }),
            ),
            (weekdays([false; 7]), Err("When: weekly: no weekday")),
            (
                Draft {
                    repeat: Repeat::Minutes,
                    every: 0,
                    ..good.clone()
                },
                Err("When: every 0 minutes never comes round"),
            ),
            (
                Draft {
                    repeat: Repeat::Hours,
                    every: 0,
                    ..good.clone()
                },
                Err("When: every 0 hours never comes round"),
            ),
            (
                Draft {
                    repeat: Repeat::Seconds,
                    every: 0,
                    ..good.clone()
                },
                Err("When: every 0 seconds never comes round"),
            ),
            (
                Draft {
                    hour: 24,
                    ..good.clone()
                },
                Err("When: 24:30 is not a time"),
            ),
            (
                Draft {
                    name: "  ".into(),
                    ..good.clone()
                },
                Err("Give the schedule a name"),
            ),
            (
                Draft {
                    name: "hourly".into(),
                    ..good.clone()
                },
                Err("There is a schedule named \"hourly\""),
            ),
            (
                Draft {
                    items: BTreeSet::new(),
                    ..good.clone()
                },
                Err("Choose at least one item"),
            ),
        ];
        for (draft, expected) in cases {
            match (draft.to_schedule(&existing), expected) {
                (Ok(schedule), Ok(when)) => {
                    assert_eq!(schedule.when, when, "{draft:?}");
                    assert_eq!(schedule.name, "nightly");
                    assert_eq!(schedule.items, vec![docs.clone()]);
                }
                (Err(said), Err(start)) => assert!(said.starts_with(start), "{said}"),
                (got, want) => panic!("{draft:?}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn an_edited_schedule_is_replaced_in_place_and_reads_back_the_same() {
        let item = ItemKey::new("folders", "docs");
        let schedules: Vec<Schedule> = [
            When::Every { seconds: 2 },
            When::Every { seconds: 900 },
            When::Every { seconds: 7200 },
            When::Daily { hour: 7, minute: 5 },
            When::Weekly {
                days: vec![1, 5],
                hour: 19,
                minute: 30,
            },
        ]
        .into_iter()
        .enumerate()
        .map(|(n, when)| Schedule {
            name: format!("s{n}"),
            items: vec![item.clone()],
            when,
            enabled: n % 2 == 0,
        })
        .collect();
        for schedule in &schedules {
            let draft = Draft::of(schedule);
            assert_eq!(draft.to_schedule(&schedules).as_ref(), Ok(schedule));
            // Renaming keeps its place; its old name is free again.
            let renamed = Draft {
                name: "renamed".into(),
                ..draft.clone()
            };
            let saved = save_draft(&schedules, &renamed).unwrap();
            let at = schedules.iter().position(|s| s == schedule).unwrap();
            assert_eq!(saved.len(), schedules.len());
            assert_eq!(saved[at].name, "renamed");
        }
        let new = Draft {
            name: "new".into(),
            items: [item.clone()].into_iter().collect(),
            ..Draft::default()
        };
        let saved = save_draft(&schedules, &new).unwrap();
        assert_eq!(saved.len(), schedules.len() + 1);
        assert_eq!(saved.last().unwrap().when, When::Every { seconds: 3600 });
    }

    #[test]
    fn due_times_in_words() {
        let now = Local.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
        let at = |h: u32, m: u32, day: u32| {
            Local
                .with_ymd_and_hms(2026, 11, day, h, m, 0)
                .unwrap()
                .timestamp_millis()
        };
        let cases = [
            (now.timestamp_millis() + 5_000, "in 5 s"),
            (now.timestamp_millis() - 5_000, "in 0 s"),
            (at(14, 5, 30), "14:05"),
            (at(9, 30, 30) + 2 * 86_400_000, "Wed 09:30"),
        ];
        for (ms, words) in cases {
            assert_eq!(when_words(ms, &now), words);
        }
        assert!(when_words(at(9, 0, 30) + 30 * 86_400_000, &now).starts_with("2026-12-30"));
    }
}
