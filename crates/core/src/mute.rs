//! `[[mute]]` windows: recurring times (week days and `HH:MM-HH:MM` spans in a time zone) during
//! which hagios holds matching notifications. The pipeline's hold stage asks when the window
//! occurrence covering a notification's time ends; nothing here touches the monitoring system.

use crate::config::Config;
use crate::pipeline::objects_match;
use hagios_domain::Notification;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

/// What a notification routed to no `[[route]]` is called in a window's `channels`.
pub const DEFAULT_CHANNEL: &str = "default";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteConfig {
    /// Shown in logs when the window holds or releases something.
    pub name: String,
    /// The days a span may start on; every day when empty.
    #[serde(default, deserialize_with = "week_days")]
    pub days: Vec<Weekday>,
    /// `22:00-02:00`: a span that ends at or before its start runs past midnight into the next day.
    #[serde(deserialize_with = "daily_spans")]
    pub times: Vec<DailySpan>,
    /// An IANA name (`Europe/Berlin`); the host's local time zone when left out.
    #[serde(default = "TimeZone::system", deserialize_with = "time_zone")]
    pub timezone: TimeZone,
    /// The `channel` of the route a notification takes (`default` when no route takes it).
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub hostgroups: Vec<String>,
}

/// A span of the day in minutes since midnight, `end` up to 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailySpan {
    start: u16,
    end: u16,
}

impl MuteConfig {
    /// Whether the window applies to `notification`, routed to `channel` (`None`: no route).
    pub fn matches(&self, notification: &Notification, channel: Option<&str>) -> bool {
        let channel = channel.unwrap_or(DEFAULT_CHANNEL);
        (self.channels.is_empty() || self.channels.iter().any(|c| c == channel))
            && objects_match(&self.hosts, &self.services, &self.hostgroups, notification)
    }

    /// The end of the window occurrence that contains `time`, if one does.
    pub fn end_of_window_at(&self, time: i64) -> Option<i64> {
        let today = Timestamp::from_second(time).ok()?.to_zoned_datetime(self.timezone.clone()).date();
        // A span that started yesterday may still be running past midnight.
        [today.yesterday().ok()?, today]
            .into_iter()
            .filter(|day| self.days.is_empty() || self.days.contains(&day.weekday()))
            .flat_map(|day| self.times.iter().filter_map(move |span| self.occurrence(day, *span)))
            .filter(|(start, end)| (*start..*end).contains(&time))
            .map(|(_, end)| end)
            .max()
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

/// What `hagios config check` says about the `[[mute]]` windows of `config`.
pub fn problems(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    if config.agent.is_some() && !config.mutes.is_empty() {
        problems.push(
            "[[mute]] has no effect in an agent's configuration: notifications are held by the bot; move it there"
                .to_owned(),
        );
    }
    for mute in &config.mutes {
        for channel in &mute.channels {
            if channel != DEFAULT_CHANNEL && !config.routes.iter().any(|route| &route.channel == channel) {
                problems.push(format!(
                    "[[mute]] `{}` names channel `{channel}`, which no [[route]] uses (and `default` means no route), \
                     so it can never match",
                    mute.name
                ));
            }
        }
    }
    problems
}

fn week_days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Weekday>, D::Error> {
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

fn daily_spans<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<DailySpan>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    if texts.is_empty() {
        return Err(serde::de::Error::custom("`times` is empty: give spans like \"22:00-02:00\""));
    }
    texts
        .iter()
        .map(|text| {
            parse_span(text).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a span like \"22:00-02:00\" (start and end differ; \"00:00-24:00\" is all day)"
                ))
            })
        })
        .collect()
}

fn parse_span(text: &str) -> Option<DailySpan> {
    let (start, end) = text.split_once('-')?;
    let (start, end) = (minutes_of(start.trim())?, minutes_of(end.trim())?);
    (start < 1440 && start != end).then_some(DailySpan { start, end })
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

fn time_zone<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TimeZone, D::Error> {
    let name = String::deserialize(deserializer)?;
    TimeZone::get(&name).map_err(|e| {
        serde::de::Error::custom(format!(
            "time zone `{name}` is unknown ({e}); use an IANA name like \"Europe/Berlin\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    fn window(toml_text: &str) -> MuteConfig {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"))
    }

    /// Epoch seconds of a wall-clock time in `zone`.
    fn at(zone: &str, civil: &str) -> i64 {
        civil
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned_datetime(TimeZone::get(zone).unwrap())
            .unwrap()
            .timestamp()
            .as_second()
    }

    #[test]
    fn a_nightly_span_runs_past_midnight_and_belongs_to_its_start_day() {
        // 2024-05-03 is a Friday.
        let nightly = window(
            "name = \"batch\"\ndays = [\"mon\", \"Friday\"]\ntimes = [\"22:00-02:00\"]\ntimezone = \"Europe/Berlin\"\n",
        );
        let berlin = |civil| at("Europe/Berlin", civil);
        assert_eq!(nightly.end_of_window_at(berlin("2024-05-03T21:59:59")), None);
        assert_eq!(nightly.end_of_window_at(berlin("2024-05-03T22:00")), Some(berlin("2024-05-04T02:00")));
        assert_eq!(nightly.end_of_window_at(berlin("2024-05-04T01:59")), Some(berlin("2024-05-04T02:00")));
        assert_eq!(nightly.end_of_window_at(berlin("2024-05-04T02:00")), None);
        assert_eq!(nightly.end_of_window_at(berlin("2024-05-04T22:30")), None, "Saturday is not listed");
        assert_eq!(nightly.end_of_window_at(berlin("2024-05-07T01:00")), Some(berlin("2024-05-07T02:00")), "Monday's");
    }

    #[test]
    fn wall_clock_follows_daylight_saving_in_the_named_zone() {
        let evening = window("name = \"e\"\ntimes = [\"18:00-19:00\"]\ntimezone = \"Europe/Berlin\"\n");
        // 18:00 in Berlin is 16:00 UTC in summer and 17:00 UTC in winter.
        assert!(evening.end_of_window_at(at("UTC", "2024-07-01T16:30")).is_some());
        assert!(evening.end_of_window_at(at("UTC", "2024-01-15T16:30")).is_none());
        assert_eq!(evening.end_of_window_at(at("UTC", "2024-01-15T17:30")), Some(at("UTC", "2024-01-15T18:00")));
        let all_day = window("name = \"d\"\ntimes = [\"00:00-24:00\"]\ntimezone = \"UTC\"\ndays = [\"sun\"]\n");
        assert_eq!(all_day.end_of_window_at(at("UTC", "2024-05-05T12:00")), Some(at("UTC", "2024-05-06T00:00")));
    }

    #[test]
    fn bad_windows_are_refused_with_the_fix() {
        let error = |text: &str| toml::from_str::<MuteConfig>(text).unwrap_err().to_string();
        assert!(error("name = \"x\"\ntimes = [\"22:00\"]\n").contains("not a span like \"22:00-02:00\""));
        assert!(error("name = \"x\"\ntimes = [\"10:00-10:00\"]\n").contains("\"00:00-24:00\" is all day"));
        assert!(error("name = \"x\"\ntimes = [\"25:00-02:00\"]\n").contains("not a span"));
        assert!(error("name = \"x\"\ntimes = []\n").contains("`times` is empty"));
        assert!(error("name = \"x\"\ntimes = [\"1:00-2:00\"]\ndays = [\"someday\"]\n").contains("not a day"));
        assert!(error("name = \"x\"\ntimes = [\"1:00-2:00\"]\ntimezone = \"Mars/Olympus\"\n").contains("IANA name"));
    }

    #[test]
    fn config_check_names_windows_that_cannot_work() {
        let config: Config = toml::from_str(
            "[nagios]\ncommand_file = \"c\"\nstatus_file = \"s\"\nobject_cache_file = \"o\"\n\
             [[route]]\nchannel = \"C_OPS\"\n\
             [[mute]]\nname = \"ok\"\ntimes = [\"22:00-02:00\"]\nchannels = [\"C_OPS\", \"default\"]\n\
             [[mute]]\nname = \"typo\"\ntimes = [\"22:00-02:00\"]\nchannels = [\"C_OSP\"]\n",
        )
        .expect("config");
        assert_eq!(
            problems(&config),
            ["[[mute]] `typo` names channel `C_OSP`, which no [[route]] uses (and `default` means no route), so it \
              can never match"]
        );
    }

    #[test]
    fn matchers_narrow_a_window_like_a_route() {
        let notification = |host: &str, groups: &[&str]| Notification {
            id: String::new(),
            site: "local".into(),
            kind: NotificationType::Problem,
            object: ObjectRef::service(host, "Backup"),
            state: State::Critical,
            output: String::new(),
            long_output: String::new(),
            author: None,
            comment: None,
            time: 0,
            hostgroups: groups.iter().map(|g| g.to_string()).collect(),
            contact: None,
            macros: Default::default(),
        };
        let batch = window(
            "name = \"b\"\ntimes = [\"22:00-02:00\"]\nhosts = [\"batch*\"]\nservices = [\"Back*\"]\nchannels = [\"C_OPS\", \"default\"]\n",
        );
        assert!(batch.matches(&notification("batch01", &[]), Some("C_OPS")));
        assert!(batch.matches(&notification("batch01", &[]), None), "unrouted counts as `default`");
        assert!(!batch.matches(&notification("batch01", &[]), Some("C_DB")));
        assert!(!batch.matches(&notification("web01", &[]), Some("C_OPS")));
        let group = window("name = \"g\"\ntimes = [\"22:00-02:00\"]\nhostgroups = [\"db-*\"]\n");
        assert!(group.matches(&notification("x", &["db-servers"]), None));
        assert!(!group.matches(&notification("x", &["web"]), None));
    }
}
