//! Weekly windows: week days and `HH:MM-HH:MM` spans of the day in a time zone (DST followed).
//! Asked when the occurrence covering a moment ends; nothing here knows what a window is for.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

/// A window that recurs every week.
#[derive(Debug, Clone)]
pub struct Weekly {
    /// The days a span may start on; every day when empty.
    pub days: Vec<Weekday>,
    /// `22:00-02:00`: a span that ends at or before its start runs past midnight into the next day.
    pub spans: Vec<DailySpan>,
    pub timezone: TimeZone,
}

/// A span of the day in minutes since midnight, `end` up to 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailySpan {
    start: u16,
    end: u16,
}

impl Weekly {
    /// The end of the window occurrence that contains `time`, if one does.
    pub fn end_of_window_at(&self, time: i64) -> Option<i64> {
        let today = Timestamp::from_second(time).ok()?.to_zoned_datetime(self.timezone.clone()).date();
        // A span that started yesterday may still be running past midnight.
        [today.yesterday().ok()?, today]
            .into_iter()
            .filter(|day| self.days.is_empty() || self.days.contains(&day.weekday()))
            .flat_map(|day| self.spans.iter().filter_map(move |span| self.occurrence(day, *span)))
            .filter(|(start, end)| (*start..*end).contains(&time))
            .map(|(_, end)| end)
            .max()
    }

    /// The first start or end of an occurrence after `time`, within the next eight days.
    pub fn next_edge_after(&self, time: i64) -> Option<i64> {
        let today = Timestamp::from_second(time).ok()?.to_zoned_datetime(self.timezone.clone()).date();
        let mut day = today.yesterday().ok()?;
        let mut next: Option<i64> = None;
        for _ in 0..10 {
            if self.days.is_empty() || self.days.contains(&day.weekday()) {
                for (start, end) in self.spans.iter().filter_map(|span| self.occurrence(day, *span)) {
                    for edge in [start, end].into_iter().filter(|edge| *edge > time) {
                        next = Some(next.map_or(edge, |next| next.min(edge)));
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        next
    }

    /// Start and end (epoch seconds) of `span` starting on `day`.
    fn occurrence(&self, day: Date, span: DailySpan) -> Option<(i64, i64)> {
        let end_day = if span.end <= span.start { day.tomorrow().ok()? } else { day };
        Some((self.instant(day, span.start)?, self.instant(end_day, span.end)?))
    }

    /// `minutes` after midnight of `day` in the window's time zone; a wall time skipped or
    /// repeated by a daylight saving change is taken as the zone's rules say (jiff's
    /// "compatible" choice: the later one for a gap, the earlier one for a fold).
    fn instant(&self, day: Date, minutes: u16) -> Option<i64> {
        let (day, minutes) = if minutes == 1440 { (day.tomorrow().ok()?, 0) } else { (day, minutes) };
        let hour = i8::try_from(minutes / 60).ok()?;
        let minute = i8::try_from(minutes % 60).ok()?;
        Some(day.at(hour, minute, 0, 0).to_zoned_datetime(self.timezone.clone()).ok()?.timestamp().as_second())
    }
}

/// `["mon", "Friday"]`: days by their English names (three letters are enough).
pub fn week_days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Weekday>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|name| {
            let day = match name.to_ascii_lowercase().get(..3) {
                Some("mon") => Weekday::Monday,
                Some("tue") => Weekday::Tuesday,
                Some("wed") => Weekday::Wednesday,
                Some("thu") => Weekday::Thursday,
                Some("fri") => Weekday::Friday,
                Some("sat") => Weekday::Saturday,
                Some("sun") => Weekday::Sunday,
                _ => return Err(serde::de::Error::custom(format!("`{name}` is not a day (mon, tue, … sun)"))),
            };
            Ok(day)
        })
        .collect()
}

/// `["22:00-02:00"]`: spans of the day, at least one.
pub fn daily_spans<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<DailySpan>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    if texts.is_empty() {
        return Err(serde::de::Error::custom("`times` is empty: give spans like \"22:00-02:00\""));
    }
    texts
        .iter()
        .map(|text| {
            DailySpan::parse(text).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a span like \"22:00-02:00\" (start and end differ; \"00:00-24:00\" is all day)"
                ))
            })
        })
        .collect()
}

impl DailySpan {
    /// `00:00-24:00`.
    pub const ALL_DAY: DailySpan = DailySpan { start: 0, end: 1440 };

    /// `22:00-02:00`; `None` unless it is a span like that (start and end differ).
    pub fn parse(text: &str) -> Option<DailySpan> {
        let (start, end) = text.split_once('-')?;
        let (start, end) = (minutes_of(start.trim())?, minutes_of(end.trim())?);
        (start < 1440 && start != end).then_some(DailySpan { start, end })
    }
}

/// `HH:MM` → minutes since midnight; `24:00` is the end of the day.
fn minutes_of(text: &str) -> Option<u16> {
    let (hour, minute) = text.split_once(':')?;
    if hour.is_empty() || hour.len() > 2 || minute.len() != 2 {
        return None;
    }
    let (hour, minute): (u16, u16) = (hour.parse().ok()?, minute.parse().ok()?);
    (minute < 60 && (hour < 24 || (hour, minute) == (24, 0))).then_some(hour * 60 + minute)
}
