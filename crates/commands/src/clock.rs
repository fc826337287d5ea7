//! Wall-clock arithmetic for `until HH:MM` and for showing times in replies, in the configured
//! time zone (an IANA zone follows daylight saving; a fixed offset does not).

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::time::Duration;

const DAY: i64 = 86_400;

/// The next moment after `now` at which wall-clock time in `zone` reads `hour:minute`: today
/// while it is still ahead, else tomorrow. A time a daylight saving change skips is taken as the
/// zone's rules say (the later one for a gap, the earlier one for a fold).
pub(crate) fn next_wall_clock(now: i64, zone: &TimeZone, hour: u32, minute: u32) -> i64 {
    let fallback = now.saturating_add(DAY);
    let (Ok(hour), Ok(minute)) = (i8::try_from(hour), i8::try_from(minute)) else { return fallback };
    let (Ok(at), Ok(moment)) = (Time::new(hour, minute, 0, 0), Timestamp::from_second(now)) else { return fallback };
    let today = moment.to_zoned_datetime(zone.clone()).date();
    [Some(today), today.tomorrow().ok(), today.tomorrow().and_then(|day| day.tomorrow()).ok()]
        .into_iter()
        .flatten()
        .filter_map(|day| day.to_datetime(at).to_zoned_datetime(zone.clone()).ok())
        .map(|zoned| zoned.timestamp().as_second())
        .find(|&candidate| candidate > now)
        .unwrap_or(fallback)
}

/// `18:00` or `9:30` → (hour, minute).
pub(crate) fn wall_clock(text: &str) -> Option<(u32, u32)> {
    let (hour, minute) = text.split_once(':')?;
    let digits = |part: &str, len: std::ops::RangeInclusive<usize>| {
        (len.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())).then(|| part.parse::<u32>().ok())?
    };
    let (hour, minute) = (digits(hour, 1..=2)?, digits(minute, 2..=2)?);
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// `2024-05-01 14:00` in `zone`.
pub fn format_local(epoch: i64, zone: &TimeZone) -> String {
    match Timestamp::from_second(epoch) {
        Ok(moment) => moment.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
        // Beyond the years jiff represents: said plainly rather than wrongly.
        Err(_) => format!("{epoch} s after 1970"),
    }
}

/// `2h 5m`: a length of time, to the minute once it is an hour or more.
pub fn format_length(seconds: i64) -> String {
    let seconds = u64::try_from(seconds).unwrap_or(0);
    let rounded = if seconds >= 3600 { seconds - seconds % 60 } else { seconds };
    humantime::format_duration(Duration::from_secs(rounded)).to_string()
}

/// `3m ago`, or `never` for the zero time Nagios writes before the first check.
pub(crate) fn format_ago(now: i64, then: i64) -> String {
    if then <= 0 {
        "never".to_owned()
    } else if then > now {
        format!("in {}", format_length(then - now))
    } else {
        format!("{} ago", format_length(now - then))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01 14:00:00 UTC.
    const NOW: i64 = 1_714_572_000;

    fn plus_two_hours() -> TimeZone {
        TimeZone::fixed(jiff::tz::offset(2))
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").expect("the system time zone database has Europe/Berlin")
    }

    #[test]
    fn formats_dates() {
        assert_eq!(format_local(0, &TimeZone::UTC), "1970-01-01 00:00");
        assert_eq!(format_local(NOW, &TimeZone::UTC), "2024-05-01 14:00");
        assert_eq!(format_local(NOW, &plus_two_hours()), "2024-05-01 16:00");
        assert_eq!(format_local(951_782_400, &TimeZone::UTC), "2000-02-29 00:00");
        assert!(!format_local(i64::MAX, &plus_two_hours()).is_empty());
        assert!(!format_local(i64::MIN, &berlin()).is_empty());
    }

    #[test]
    fn wall_clock_is_today_while_ahead_else_tomorrow() {
        let utc = TimeZone::UTC;
        assert_eq!(next_wall_clock(NOW, &utc, 18, 0), NOW + 4 * 3600);
        assert_eq!(next_wall_clock(NOW, &utc, 9, 30), NOW + 19 * 3600 + 1800);
        assert_eq!(next_wall_clock(NOW, &utc, 14, 0), NOW + DAY);
        // At UTC+02:00 it is 16:00 locally, so 18:00 local is two hours away.
        assert_eq!(next_wall_clock(NOW, &plus_two_hours(), 18, 0), NOW + 2 * 3600);
    }

    #[test]
    fn wall_clock_follows_daylight_saving_in_a_named_zone() {
        // Berlin on 2024-03-30 23:00 UTC (Sunday 00:00 CET); clocks go forward at 02:00 that night.
        let before_the_change = 1_711_839_600;
        let nine = next_wall_clock(before_the_change, &berlin(), 9, 0);
        assert_eq!(nine - before_the_change, 8 * 3600, "09:00 CEST is 07:00 UTC, eight hours later");
        assert_eq!(format_local(nine, &berlin()), "2024-03-31 09:00");
        // 02:30 does not exist that night: the later reading, 03:30 CEST.
        assert_eq!(format_local(next_wall_clock(before_the_change, &berlin(), 2, 30), &berlin()), "2024-03-31 03:30");
        assert_eq!(next_wall_clock(NOW, &berlin(), 25, 0), NOW + DAY, "no such time: a day, not a panic");
    }

    #[test]
    fn lengths_and_ages_read_naturally() {
        assert_eq!(format_length(2 * 3600 + 30 * 60 + 7), "2h 30m");
        assert_eq!(format_length(90), "1m 30s");
        assert_eq!(format_ago(NOW, NOW - 180), "3m ago");
        assert_eq!(format_ago(NOW, 0), "never");
        assert_eq!(format_ago(NOW, NOW + 60), "in 1m");
    }
}
