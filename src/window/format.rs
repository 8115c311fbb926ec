//! Times and sizes in words people read at a glance.

use chrono::{DateTime, Local};
use std::time::{Duration, SystemTime};

/// "just now", "2 minutes ago", "yesterday", or the date for anything older than a week.
pub fn ago(then: SystemTime, now: SystemTime) -> String {
    let elapsed = now.duration_since(then).unwrap_or(Duration::ZERO).as_secs();
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match elapsed {
        0..60 => "just now".to_string(),
        60..3600 => plural(elapsed / 60, "minute"),
        3600..86_400 => plural(elapsed / 3600, "hour"),
        86_400..172_800 => "yesterday".to_string(),
        172_800..604_800 => plural(elapsed / 86_400, "day"),
        _ => DateTime::<Local>::from(then)
            .format("%-d %b %Y")
            .to_string(),
    }
}

/// The exact local time, for tooltips.
pub fn exact(time: SystemTime) -> String {
    DateTime::<Local>::from(time)
        .format("%A %-d %B %Y, %H:%M:%S")
        .to_string()
}

/// A short local time for headings: "14:05" today, "3 Mar 14:05" otherwise.
pub fn when(time: SystemTime, now: SystemTime) -> String {
    let (time, now) = (DateTime::<Local>::from(time), DateTime::<Local>::from(now));
    if time.date_naive() == now.date_naive() {
        time.format("Today %H:%M").to_string()
    } else {
        time.format("%-d %b %Y %H:%M").to_string()
    }
}

/// "1.4 MB", "512 bytes": the core's words, as the terminal says them.
pub use crate::core::words::size;

/// "in 12 s", "in 3 min 4 s", "in 2 h 5 min": how long something took.
pub fn took(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("in {seconds} s"),
        60..=3599 => format!("in {} min {} s", seconds / 60, seconds % 60),
        _ => format!("in {} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        let now = SystemTime::now();
        let before = |secs| now - Duration::from_secs(secs);
        assert_eq!(ago(before(5), now), "just now");
        assert_eq!(ago(now + Duration::from_secs(5), now), "just now");
        assert_eq!(ago(before(60), now), "1 minute ago");
        assert_eq!(ago(before(150), now), "2 minutes ago");
        assert_eq!(ago(before(7200), now), "2 hours ago");
        assert_eq!(ago(before(90_000), now), "yesterday");
        assert_eq!(ago(before(3 * 86_400), now), "3 days ago");
        assert!(
            ago(before(30 * 86_400), now)
                .chars()
                .any(|c| c.is_ascii_digit())
        );
    }

    #[test]
    fn durations_read_in_the_largest_units() {
        for (seconds, words) in [
            (0, "in 0 s"),
            (59, "in 59 s"),
            (60, "in 1 min 0 s"),
            (184, "in 3 min 4 s"),
            (3_599, "in 59 min 59 s"),
            (3_600, "in 1 h 0 min"),
            (7_500, "in 2 h 5 min"),
        ] {
            assert_eq!(took(seconds), words);
        }
    }
}
