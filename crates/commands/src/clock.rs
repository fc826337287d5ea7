//! Wall-clock arithmetic for `until HH:MM` and for showing times in replies.
//!
//! Local time is UTC plus a fixed offset from `Settings`: no time-zone database and no daylight
//! saving rules, so an `until 18:00` typed across a DST change is off by that hour. Callers who
//! need exact local time set the offset when the process starts.

use std::time::Duration;

const DAY: i64 = 86_400;

/// The next moment after `now` at which local wall-clock time reads `hour:minute`: today while it
/// is still ahead, else tomorrow.
pub(crate) fn next_wall_clock(now: i64, utc_offset: i64, hour: u32, minute: u32) -> i64 {
    let seconds_into_day = now.saturating_add(utc_offset).rem_euclid(DAY);
    let wanted = i64::from(hour) * 3600 + i64::from(minute) * 60;
    let ahead = (wanted - seconds_into_day).rem_euclid(DAY);
    now.saturating_add(if ahead == 0 { DAY } else { ahead })
}

/// `2024-05-01 14:00` in local time.
pub(crate) fn format_local(epoch: i64, utc_offset: i64) -> String {
    let local = epoch.saturating_add(utc_offset);
    let (year, month, day) = civil_from_days(local.div_euclid(DAY));
    let seconds_into_day = local.rem_euclid(DAY);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", seconds_into_day / 3600, seconds_into_day % 3600 / 60)
}

/// `2h 5m`: a length of time, to the minute once it is an hour or more.
pub(crate) fn format_length(seconds: i64) -> String {
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

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01 14:00:00 UTC.
    const NOW: i64 = 1_714_572_000;

    #[test]
    fn formats_dates() {
        assert_eq!(format_local(0, 0), "1970-01-01 00:00");
        assert_eq!(format_local(NOW, 0), "2024-05-01 14:00");
        assert_eq!(format_local(NOW, 2 * 3600), "2024-05-01 16:00");
        assert_eq!(format_local(951_782_400, 0), "2000-02-29 00:00");
        assert!(!format_local(i64::MAX, i64::MAX).is_empty());
        assert!(!format_local(i64::MIN, -1).is_empty());
    }

    #[test]
    fn wall_clock_is_today_while_ahead_else_tomorrow() {
        assert_eq!(next_wall_clock(NOW, 0, 18, 0), NOW + 4 * 3600);
        assert_eq!(next_wall_clock(NOW, 0, 9, 30), NOW + 19 * 3600 + 1800);
        assert_eq!(next_wall_clock(NOW, 0, 14, 0), NOW + DAY);
        // At UTC+02:00 it is 16:00 locally, so 18:00 local is two hours away.
        assert_eq!(next_wall_clock(NOW, 2 * 3600, 18, 0), NOW + 2 * 3600);
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
