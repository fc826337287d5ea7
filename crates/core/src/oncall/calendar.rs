//! On-call shifts from an iCalendar feed (RFC 5545), the common export of shared calendars and
//! of the pager services: each event is a shift of the person its summary names, from its start
//! to its end; recurring events (RRULE, RDATE, EXDATE) are expanded over the weeks around now,
//! and a moved occurrence (RECURRENCE-ID) replaces the one it moves. Times with a TZID are read
//! in that zone, floating times and whole days in the schedule's.

use super::{Span, Spans};
use icalendar::{Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, Event, EventLike};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use std::collections::HashSet;

/// Occurrences of one recurring event at most: a shift a day for more than the window below.
const MAX_OCCURRENCES: u16 = 500;

/// What a feed gave: the shifts of known people, and the summaries that named nobody known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Read {
    pub shifts: Spans,
    pub unknown: Vec<String>,
}

/// The shifts in `text` overlapping `from..until`, in the schedule's `zone`; `person` tells
/// who a summary names. An unreadable calendar is an error that says what is wrong.
pub fn read(
    text: &str,
    zone: &TimeZone,
    from: i64,
    until: i64,
    person: impl Fn(&str) -> Option<String>,
) -> Result<Read, String> {
    if !text.trim_start().starts_with("BEGIN:VCALENDAR") {
        return Err("not an iCalendar file (no BEGIN:VCALENDAR)".to_owned());
    }
    let calendar: Calendar = text.parse().map_err(|e: String| format!("not a readable iCalendar file: {e}"))?;
    let events: Vec<&Event> = calendar
        .components
        .iter()
        .filter_map(|component| match component {
            CalendarComponent::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    // Occurrences moved by another event with the same UID and a RECURRENCE-ID.
    let moved: HashSet<(String, i64)> = events
        .iter()
        .filter_map(|event| {
            let uid = event.get_uid()?.to_owned();
            Some((uid, instant(&event.get_recurrence_id()?, zone)?))
        })
        .collect();
    let mut read = Read::default();
    for event in events {
        let summary = event.get_summary().unwrap_or_default().trim().to_owned();
        let Some(start) = event.get_start() else { continue };
        let Some(first) = instant(&start, zone) else { continue };
        let length = match event.get_end().and_then(|end| instant(&end, zone)) {
            Some(end) if end > first => end - first,
            // A whole day without an end lasts the day; an instant is no shift.
            _ if matches!(start, DatePerhapsTime::Date(_)) => 86_400,
            _ => continue,
        };
        let starts = if event.property_value("RRULE").is_some() || event.property_value("RDATE").is_some() {
            occurrences(event, &start, zone, from - length, until)?
        } else {
            vec![first]
        };
        let uid = event.get_uid().unwrap_or_default();
        let is_master = event.get_recurrence_id().is_none();
        for occurrence in starts {
            if is_master && moved.contains(&(uid.to_owned(), occurrence)) {
                continue;
            }
            let (start, end) = (occurrence, occurrence + length);
            if end <= from || start >= until {
                continue;
            }
            match person(&summary) {
                Some(person) => read.shifts.0.push(Span { start, end, person }),
                None if !read.unknown.contains(&summary) => read.unknown.push(summary.clone()),
                None => {}
            }
        }
    }
    read.shifts.0.sort_by_key(|span| span.start);
    Ok(read)
}

/// The epoch second of a DTSTART-like value; floating times and dates in `zone`.
fn instant(value: &DatePerhapsTime, zone: &TimeZone) -> Option<i64> {
    let (civil, zone) = match value {
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(utc)) => return Some(utc.timestamp()),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
            // A Windows zone name (Outlook) is no IANA name: the schedule's zone is the best guess.
            (date_time.format("%Y-%m-%dT%H:%M:%S").to_string(), TimeZone::get(tzid).unwrap_or_else(|_| zone.clone()))
        }
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(naive)) => {
            (naive.format("%Y-%m-%dT%H:%M:%S").to_string(), zone.clone())
        }
        DatePerhapsTime::Date(date) => (date.format("%Y-%m-%dT00:00:00").to_string(), zone.clone()),
    };
    let civil: DateTime = civil.parse().ok()?;
    Some(zone.to_timestamp(civil).ok()?.as_second())
}

/// The starts of a recurring event's occurrences between `from` and `until`.
fn occurrences(
    event: &Event,
    start: &DatePerhapsTime,
    zone: &TimeZone,
    from: i64,
    until: i64,
) -> Result<Vec<i64>, String> {
    let set = event.get_recurrence().map_err(|e| format!("event `{}`: {e}", event.get_summary().unwrap_or("?")))?;
    let bound =
        |epoch: i64| chrono::DateTime::from_timestamp(epoch, 0).map(|utc| utc.with_timezone(&icalendar::Tz::UTC));
    let (Some(after), Some(before)) = (bound(from), bound(until)) else { return Ok(Vec::new()) };
    let dates = set.after(after).before(before).all(MAX_OCCURRENCES).dates;
    // The rules crate reads floating times and dates on this machine's clock; they follow the
    // schedule's wall clock instead.
    let floating = matches!(start, DatePerhapsTime::Date(_) | DatePerhapsTime::DateTime(CalendarDateTime::Floating(_)));
    Ok(dates
        .iter()
        .filter_map(|date| {
            if floating {
                let civil: DateTime = date.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string().parse().ok()?;
                Some(zone.to_timestamp(civil).ok()?.as_second())
            } else {
                Some(date.timestamp())
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    fn at(civil: &str) -> i64 {
        berlin().to_timestamp(civil.parse().unwrap()).unwrap().as_second()
    }

    fn known(summary: &str) -> Option<String> {
        let name = summary.trim_start_matches("On call: ").to_lowercase();
        ["alice", "bob"].contains(&name.as_str()).then_some(name)
    }

    const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:On call: Alice\r\n\
DTSTART;TZID=Europe/Berlin:20240325T090000\r\nDTEND;TZID=Europe/Berlin:20240325T170000\r\n\
RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\r\nEXDATE;TZID=Europe/Berlin:20240402T090000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:On call: Bob\r\n\
RECURRENCE-ID;TZID=Europe/Berlin:20240403T090000\r\n\
DTSTART;TZID=Europe/Berlin:20240403T100000\r\nDTEND;TZID=Europe/Berlin:20240403T180000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:night-1\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Bob\r\n\
DTSTART:20240330T210000Z\r\nDTEND:20240331T050000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:day-1\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Mallory\r\n\
DTSTART;VALUE=DATE:20240406\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn shifts_come_from_events_and_their_recurrences_across_a_daylight_saving_change() {
        let read = read(FEED, &berlin(), at("2024-03-28T00:00"), at("2024-04-08T00:00"), known).unwrap();
        let shifts: Vec<(i64, i64, &str)> = read.shifts.0.iter().map(|s| (s.start, s.end, s.person.as_str())).collect();
        assert_eq!(
            shifts,
            [
                (at("2024-03-28T09:00"), at("2024-03-28T17:00"), "alice"),
                (at("2024-03-29T09:00"), at("2024-03-29T17:00"), "alice"),
                (at("2024-03-30T22:00"), at("2024-03-31T07:00"), "bob"),
                (at("2024-04-01T09:00"), at("2024-04-01T17:00"), "alice"),
                (at("2024-04-03T10:00"), at("2024-04-03T18:00"), "bob"),
                (at("2024-04-04T09:00"), at("2024-04-04T17:00"), "alice"),
                (at("2024-04-05T09:00"), at("2024-04-05T17:00"), "alice"),
            ],
            "09:00 stays 09:00 after the change; the excluded day is left out and the moved one moved"
        );
        assert_eq!(read.unknown, ["Mallory"]);
    }

    #[test]
    fn what_is_not_a_calendar_is_refused_with_why() {
        let error = read("<html>502 Bad Gateway</html>", &berlin(), 0, 1, known).unwrap_err();
        assert!(error.contains("not an iCalendar file"), "{error}");
        assert!(read("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", &berlin(), 0, 1, known).is_err());
    }
}
