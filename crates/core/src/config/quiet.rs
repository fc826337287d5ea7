//! `[[quiet_hours]]`: recurring windows during which hagios holds matching notifications in the
//! spool (the pipeline's hold stage). Nothing here touches the monitoring system; that is what
//! the `mute` command does. `[[mute]]` is this section's former name, still read.

use super::route::RouteConfig;
use crate::matching::objects::ObjectPatterns;
use crate::matching::window::{daily_spans, week_days, DailySpan, Weekly};
use hagios_domain::config_text::time_zone;
use hagios_domain::Notification;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use serde::Deserialize;

/// What a notification routed to no `[[route]]` is called in a window's `channels`.
pub const DEFAULT_CHANNEL: &str = "default";

#[derive(Debug, Clone, Deserialize)]
#[serde(from = "QuietHoursSection")]
pub struct QuietHours {
    /// Shown in logs when the window holds or releases something.
    pub name: String,
    pub window: Weekly,
    /// Route targets (on any platform) whose notifications the window holds; `default` stands
    /// for notifications no route takes. Every channel when empty.
    pub channels: Vec<String>,
    pub hosts: Vec<String>,
    pub services: Vec<String>,
    pub hostgroups: Vec<String>,
}

/// The section as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuietHoursSection {
    name: String,
    #[serde(default, deserialize_with = "week_days")]
    days: Vec<Weekday>,
    #[serde(deserialize_with = "daily_spans")]
    times: Vec<DailySpan>,
    /// An IANA name (`Europe/Berlin`); the host's local time zone when left out.
    #[serde(default = "TimeZone::system", deserialize_with = "time_zone")]
    timezone: TimeZone,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    hostgroups: Vec<String>,
}

impl From<QuietHoursSection> for QuietHours {
    fn from(section: QuietHoursSection) -> Self {
        QuietHours {
            name: section.name,
            window: Weekly { days: section.days, spans: section.times, timezone: section.timezone },
            channels: section.channels,
            hosts: section.hosts,
            services: section.services,
            hostgroups: section.hostgroups,
        }
    }
}

impl QuietHours {
    /// Whether the window applies to `notification`, which took `route` (`None`, or the default
    /// route: no `[[route]]` matched). A channel names the route on every platform: the window
    /// holds the route's notifications on Slack and on Matrix alike, whichever of its targets
    /// the window names.
    pub fn matches(&self, notification: &Notification, route: Option<&RouteConfig>) -> bool {
        let named = |channel: &String| match route.filter(|route| !route.fallback) {
            Some(route) => route.targets.values().any(|target| target == channel),
            None => channel == DEFAULT_CHANNEL,
        };
        (self.channels.is_empty() || self.channels.iter().any(named)) && self.objects().match_notification(notification)
    }

    /// The end of the window occurrence that contains `time`, if one does.
    pub fn end_of_window_at(&self, time: i64) -> Option<i64> {
        self.window.end_of_window_at(time)
    }

    fn objects(&self) -> ObjectPatterns<'_> {
        ObjectPatterns { hosts: &self.hosts, services: &self.services, hostgroups: &self.hostgroups }
    }

    /// What `hagios config check` says about this window among `routes`.
    pub fn problems(&self, routes: &[RouteConfig]) -> Vec<String> {
        self.channels
            .iter()
            .filter(|channel| {
                *channel != DEFAULT_CHANNEL && !routes.iter().any(|route| route.targets.values().any(|t| t == *channel))
            })
            .map(|channel| {
                format!(
                    "[[quiet_hours]] `{}` names channel `{channel}`, which no [[route]] uses (and `default` means no \
                     route), so it can never match",
                    self.name
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    fn window(toml_text: &str) -> QuietHours {
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
        let error = |text: &str| toml::from_str::<QuietHours>(text).unwrap_err().to_string();
        assert!(error("name = \"x\"\ntimes = [\"22:00\"]\n").contains("not a span like \"22:00-02:00\""));
        assert!(error("name = \"x\"\ntimes = [\"10:00-10:00\"]\n").contains("\"00:00-24:00\" is all day"));
        assert!(error("name = \"x\"\ntimes = [\"25:00-02:00\"]\n").contains("not a span"));
        assert!(error("name = \"x\"\ntimes = []\n").contains("`times` is empty"));
        assert!(error("name = \"x\"\ntimes = [\"1:00-2:00\"]\ndays = [\"someday\"]\n").contains("not a day"));
        assert!(error("name = \"x\"\ntimes = [\"1:00-2:00\"]\ntimezone = \"Mars/Olympus\"\n").contains("IANA name"));
    }

    #[test]
    fn config_check_names_windows_that_cannot_work() {
        let routes = [RouteConfig::to([(hagios_chat::Platform::Slack, "C_OPS".to_owned())])];
        let ok = window("name = \"ok\"\ntimes = [\"22:00-02:00\"]\nchannels = [\"C_OPS\", \"default\"]\n");
        assert!(ok.problems(&routes).is_empty());
        let typo = window("name = \"typo\"\ntimes = [\"22:00-02:00\"]\nchannels = [\"C_OSP\"]\n");
        assert_eq!(
            typo.problems(&routes),
            ["[[quiet_hours]] `typo` names channel `C_OSP`, which no [[route]] uses (and `default` means no route), \
              so it can never match"]
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
        let route = |channel: &str| RouteConfig::to([(hagios_chat::Platform::Slack, channel.to_owned())]);
        let (ops, db) = (route("C_OPS"), route("C_DB"));
        assert!(batch.matches(&notification("batch01", &[]), Some(&ops)));
        assert!(batch.matches(&notification("batch01", &[]), None), "unrouted counts as `default`");
        assert!(!batch.matches(&notification("batch01", &[]), Some(&db)));
        assert!(!batch.matches(&notification("web01", &[]), Some(&ops)));
        let group = window("name = \"g\"\ntimes = [\"22:00-02:00\"]\nhostgroups = [\"db-*\"]\n");
        assert!(group.matches(&notification("x", &["db-servers"]), None));
        assert!(!group.matches(&notification("x", &["web"]), None));
    }
}
