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

/// "1.4 MB", "512 bytes".
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return if bytes == 1 {
            "1 byte".to_string()
        } else {
            format!("{bytes} bytes")
        };
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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
    fn sizes_use_decimal_units() {
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(512), "512 bytes");
        assert_eq!(size(1_400_000), "1.4 MB");
        assert_eq!(size(2_000_000_000), "2.0 GB");
    }
}
