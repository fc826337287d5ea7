//! Rotations: people taking turns of a fixed length from a first handoff, counted in wall-clock
//! time of a zone, so a weekly handoff stays at Monday 09:00 across daylight saving changes.
//! Nothing here knows who the people are or what the turns are for.

use super::rota::Coverage;
use super::window::Weekly;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// People on call in turn: `people[0]` from `start`, the next one `length` later, and so on.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub people: Vec<String>,
    /// The first handoff, on the wall clock of `timezone`; its weekday and time are every
    /// handoff's for turns of whole days or weeks.
    pub start: DateTime,
    /// One turn, in wall-clock time: `12h` turns hand off at the same two times every day.
    pub length: SignedDuration,
    pub timezone: TimeZone,
}

impl Rotation {
    /// The number of the turn running at `time` (negative before `start`), and its start.
    fn turn_at(&self, time: i64) -> Option<(i64, i64)> {
        let length = self.length.as_secs();
        if length <= 0 || self.people.is_empty() {
            return None;
        }
        let wall = self.timezone.to_datetime(Timestamp::from_second(time).ok()?);
        let mut turn = wall.duration_since(self.start).as_secs().div_euclid(length);
        // A fold or gap of the clock can put `time` just before the start its wall clock reads.
        for _ in 0..2 {
            let start = self.turn_start(turn)?;
            if start > time {
                turn -= 1;
            } else if self.turn_start(turn + 1)? <= time {
                turn += 1;
            } else {
                return Some((turn, start));
            }
        }
        Some((turn, self.turn_start(turn)?))
    }

    /// When turn `turn` starts (epoch seconds).
    fn turn_start(&self, turn: i64) -> Option<i64> {
        let offset = SignedDuration::from_secs(turn.checked_mul(self.length.as_secs())?);
        let wall = self.start.checked_add(offset).ok()?;
        Some(self.timezone.to_timestamp(wall).ok()?.as_second())
    }

    /// Who has turn `turn`.
    fn person(&self, turn: i64) -> &str {
        let count = i64::try_from(self.people.len()).unwrap_or(i64::MAX);
        let index = usize::try_from(turn.rem_euclid(count)).unwrap_or(0);
        &self.people[index]
    }
}

impl Coverage for Rotation {
    fn on_call_at(&self, time: i64) -> Option<&str> {
        let (turn, _) = self.turn_at(time)?;
        (turn >= 0).then(|| self.person(turn))
    }

    fn next_change_after(&self, time: i64) -> Option<i64> {
        let (turn, _) = self.turn_at(time)?;
        self.turn_start(turn.max(-1) + 1)
    }
}

/// A layer's coverage limited to a weekly window (weekdays 09:00–17:00, say): outside it the
/// layer has nobody on call, and its rotation keeps turning meanwhile.
#[derive(Debug, Clone)]
pub struct Restricted<'w, C> {
    pub inner: C,
    pub window: Option<&'w Weekly>,
}

impl<C: Coverage> Coverage for Restricted<'_, C> {
    fn on_call_at(&self, time: i64) -> Option<&str> {
        match self.window {
            Some(window) if window.end_of_window_at(time).is_none() => None,
            _ => self.inner.on_call_at(time),
        }
    }

    fn next_change_after(&self, time: i64) -> Option<i64> {
        let inner = self.inner.next_change_after(time);
        let edge = self.window.and_then(|window| window.next_edge_after(time));
        [inner, edge].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).expect("the system time zone database has it")
    }

    /// Epoch seconds of a wall-clock time in `zone`.
    pub(crate) fn at(zone_name: &str, civil: &str) -> i64 {
        zone(zone_name).to_timestamp(civil.parse().unwrap()).unwrap().as_second()
    }

    fn weekly(start: &str, zone_name: &str) -> Rotation {
        Rotation {
            people: vec!["alice".into(), "bob".into(), "carol".into()],
            start: start.parse().unwrap(),
            length: SignedDuration::from_hours(7 * 24),
            timezone: zone(zone_name),
        }
    }

    #[test]
    fn people_take_weekly_turns_from_the_first_handoff() {
        // 2024-01-01 is a Monday.
        let rotation = weekly("2024-01-01T09:00", "UTC");
        let utc = |civil| at("UTC", civil);
        assert_eq!(rotation.on_call_at(utc("2023-12-31T12:00")), None, "nobody before the first handoff");
        assert_eq!(rotation.on_call_at(utc("2024-01-01T09:00")), Some("alice"));
        assert_eq!(rotation.on_call_at(utc("2024-01-08T08:59")), Some("alice"));
        assert_eq!(rotation.on_call_at(utc("2024-01-08T09:00")), Some("bob"));
        assert_eq!(rotation.on_call_at(utc("2024-01-15T09:00")), Some("carol"));
        assert_eq!(rotation.on_call_at(utc("2024-01-22T09:00")), Some("alice"), "round again");
        assert_eq!(rotation.next_change_after(utc("2024-01-03T00:00")), Some(utc("2024-01-08T09:00")));
        assert_eq!(rotation.next_change_after(utc("2023-06-01T00:00")), Some(utc("2024-01-01T09:00")));
    }

    #[test]
    fn handoffs_keep_their_wall_clock_time_across_daylight_saving_changes() {
        // Berlin moves its clocks forward on 2024-03-31 and back on 2024-10-27 (Sundays).
        let rotation = weekly("2024-03-25T09:00", "Europe/Berlin");
        let berlin = |civil| at("Europe/Berlin", civil);
        assert_eq!(rotation.next_change_after(berlin("2024-03-26T12:00")), Some(berlin("2024-04-01T09:00")));
        assert_eq!(rotation.on_call_at(berlin("2024-04-01T08:59")), Some("alice"));
        assert_eq!(rotation.on_call_at(berlin("2024-04-01T09:00")), Some("bob"), "a 167-hour week");
        let autumn = weekly("2024-10-21T09:00", "Europe/Berlin");
        assert_eq!(autumn.next_change_after(berlin("2024-10-22T00:00")), Some(berlin("2024-10-28T09:00")));
        assert_eq!(autumn.on_call_at(berlin("2024-10-28T08:59")), Some("alice"), "a 169-hour week");

        // A night turn starting inside the skipped hour starts when the clock jumps.
        let nights = Rotation {
            people: vec!["nina".into(), "otto".into()],
            start: "2024-03-29T02:30".parse().unwrap(),
            length: SignedDuration::from_hours(24),
            timezone: zone("Europe/Berlin"),
        };
        assert_eq!(nights.next_change_after(berlin("2024-03-30T12:00")), Some(at("UTC", "2024-03-31T01:30")));
        assert_eq!(nights.on_call_at(at("UTC", "2024-03-31T01:30")), Some("nina"), "third turn: nina again");
        assert_eq!(nights.on_call_at(berlin("2024-04-01T02:30")), Some("otto"));
    }

    #[test]
    fn twelve_hour_turns_hand_off_at_the_same_two_times_every_day() {
        let shifts = Rotation {
            people: vec!["day".into(), "night".into()],
            start: "2024-03-30T08:00".parse().unwrap(),
            length: SignedDuration::from_hours(12),
            timezone: zone("Europe/Berlin"),
        };
        let berlin = |civil| at("Europe/Berlin", civil);
        assert_eq!(shifts.on_call_at(berlin("2024-03-30T20:00")), Some("night"));
        // The night of the change is 11 hours long.
        assert_eq!(shifts.next_change_after(berlin("2024-03-30T21:00")), Some(berlin("2024-03-31T08:00")));
        assert_eq!(shifts.on_call_at(berlin("2024-03-31T08:00")), Some("day"));
        assert_eq!(shifts.on_call_at(berlin("2024-03-31T20:00")), Some("night"));
    }

    #[test]
    fn a_restricted_layer_covers_its_window_only_and_changes_at_its_edges() {
        use jiff::civil::Weekday::*;
        let window = Weekly {
            days: vec![Monday, Tuesday, Wednesday, Thursday, Friday],
            spans: vec![super::super::window::DailySpan::parse("09:00-17:00").unwrap()],
            timezone: zone("Europe/Berlin"),
        };
        let office = Restricted { inner: weekly("2024-01-01T09:00", "Europe/Berlin"), window: Some(&window) };
        let berlin = |civil| at("Europe/Berlin", civil);
        assert_eq!(office.on_call_at(berlin("2024-01-02T10:00")), Some("alice"));
        assert_eq!(office.on_call_at(berlin("2024-01-02T17:00")), None, "after hours");
        assert_eq!(office.on_call_at(berlin("2024-01-06T10:00")), None, "Saturday");
        assert_eq!(office.next_change_after(berlin("2024-01-02T10:00")), Some(berlin("2024-01-02T17:00")));
        assert_eq!(office.next_change_after(berlin("2024-01-05T17:00")), Some(berlin("2024-01-08T09:00")));
        assert_eq!(office.on_call_at(berlin("2024-01-08T09:00")), Some("bob"), "the rotation turned meanwhile");
    }
}
