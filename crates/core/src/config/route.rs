//! `[[route]]`: which notifications go where on each chat platform, and how they are grouped
//! and brought up again. A route names its target per platform with that platform's key
//! (`channel` on Slack, `matrix_room` on Matrix); on a platform it names no target for, the
//! route is skipped.

use crate::matching::objects::ObjectPatterns;
use hagios_chat::Platform;
use hagios_domain::config_text::duration;
use hagios_domain::{glob_match, Notification, NotificationType, ObjectRef, State};

/// What reports call the default route (what no `[[route]]` matches).
pub const DEFAULT_ROUTE_LABEL: &str = "default route";
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RouteSection")]
pub struct RouteConfig {
    /// What reports call the route; without one, what it matches.
    pub name: Option<String>,
    pub hosts: Vec<String>,
    pub hostgroups: Vec<String>,
    pub services: Vec<String>,
    /// States (`CRITICAL`, `DOWN`, …) the notification must be in.
    pub states: Vec<State>,
    /// Notification types (`PROBLEM`, `ACKNOWLEDGEMENT`, `FLAPPINGSTART`, …) it must be of.
    pub types: Vec<NotificationType>,
    /// Where the route sends on each platform it names a target for.
    pub targets: BTreeMap<Platform, String>,
    /// How it groups: its own keys over `[default_route]`'s.
    pub grouping: Grouping,
    /// The grouping keys the route sets itself.
    pub(crate) overrides: GroupingKeys,
    /// The default route, which takes what no `[[route]]` matches.
    pub fallback: bool,
    /// The `[[oncall]]` schedule whose person on call is paged for new incidents on this route.
    pub oncall: Option<String>,
    /// The `[[escalation]]` policy paging follows; without one, the person on call is paged
    /// once, at once.
    pub escalation: Option<String>,
}

/// How a route groups bursts and brings up open incidents again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// Bursts become one message per group (docs/storms.md); `false` posts each notification
    /// on its own, at once.
    pub enabled: bool,
    /// What the members of a group share: `site`, `host`, `service`.
    pub group_by: Vec<GroupLabel>,
    /// How long a new group collects members before its message is posted.
    pub group_wait: Duration,
    /// The shortest time between two updates of a group's message.
    pub group_interval: Duration,
    /// How often an open, unacknowledged incident in this route's channel is brought up again
    /// in its thread; zero (the default) sends no reminders.
    pub repeat_interval: Duration,
}

impl Default for Grouping {
    fn default() -> Self {
        Grouping {
            enabled: true,
            group_by: vec![GroupLabel::Site, GroupLabel::Host],
            group_wait: Duration::from_secs(10),
            group_interval: default_group_interval(),
            repeat_interval: Duration::ZERO,
        }
    }
}

/// Grouping keys as a section writes them; those left out are inherited, as in Alertmanager's
/// routing tree: a `[[route]]` inherits `[default_route]`'s timings and `group_by`, which
/// inherits the defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupingKeys {
    grouping: Option<bool>,
    group_by: Option<Vec<GroupLabel>>,
    #[serde(default, deserialize_with = "duration::optional")]
    group_wait: Option<Duration>,
    #[serde(default, deserialize_with = "duration::optional")]
    group_interval: Option<Duration>,
    #[serde(default, deserialize_with = "duration::optional")]
    repeat_interval: Option<Duration>,
}

impl GroupingKeys {
    /// The grouping these keys give on top of `base`.
    pub fn over(&self, base: &Grouping) -> Grouping {
        Grouping {
            enabled: self.grouping.unwrap_or(base.enabled),
            group_by: self.group_by.clone().unwrap_or_else(|| base.group_by.clone()),
            group_wait: self.group_wait.unwrap_or(base.group_wait),
            group_interval: self.group_interval.unwrap_or(base.group_interval),
            repeat_interval: self.repeat_interval.unwrap_or(base.repeat_interval),
        }
    }
}

/// A property members of one alert group share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupLabel {
    Site,
    Host,
    Service,
}

/// The section as written: the matchers and grouping keys, and each platform's target under
/// that platform's route key.
#[derive(Deserialize)]
struct RouteSection {
    name: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    hostgroups: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default, deserialize_with = "names::states")]
    states: Vec<State>,
    #[serde(default, deserialize_with = "names::types")]
    types: Vec<NotificationType>,
    oncall: Option<String>,
    escalation: Option<String>,
    #[serde(flatten)]
    grouping: GroupingKeys,
    #[serde(flatten)]
    targets: BTreeMap<String, toml::Value>,
}

impl TryFrom<RouteSection> for RouteConfig {
    type Error = String;

    fn try_from(section: RouteSection) -> Result<Self, String> {
        let targets = targets_of("route", section.targets, "matchers are hosts, hostgroups, services, states, types")?;
        Ok(RouteConfig {
            name: section.name,
            hosts: section.hosts,
            hostgroups: section.hostgroups,
            services: section.services,
            states: section.states,
            types: section.types,
            targets,
            grouping: section.grouping.over(&Grouping::default()),
            overrides: section.grouping,
            fallback: false,
            oncall: section.oncall,
            escalation: section.escalation,
        })
    }
}

/// `[default_route]` as written: a route's keys without matchers or a target (it takes what no
/// `[[route]]` matches, to each platform's default channel) — the grouping keys every
/// `[[route]]` inherits, and the schedule and policy that page for what it takes.
#[derive(Default, Deserialize)]
#[serde(try_from = "RouteSection")]
pub(super) struct DefaultRouteSection {
    pub oncall: Option<String>,
    pub escalation: Option<String>,
    pub grouping: GroupingKeys,
}

impl TryFrom<RouteSection> for DefaultRouteSection {
    type Error = String;

    fn try_from(section: RouteSection) -> Result<Self, String> {
        let matchers = [
            ("name", section.name.is_none()),
            ("hosts", section.hosts.is_empty()),
            ("hostgroups", section.hostgroups.is_empty()),
            ("services", section.services.is_empty()),
            ("states", section.states.is_empty()),
            ("types", section.types.is_empty()),
        ];
        let unknown = section.targets.keys().map(String::as_str);
        if let Some(key) = matchers.iter().filter(|(_, empty)| !empty).map(|(key, _)| *key).chain(unknown).next() {
            return Err(format!(
                "unknown [default_route] key `{key}`: it takes what no [[route]] matches, to each platform's default \
                 channel; its keys are grouping, group_by, group_wait, group_interval, repeat_interval, oncall, \
                 escalation"
            ));
        }
        Ok(DefaultRouteSection { oncall: section.oncall, escalation: section.escalation, grouping: section.grouping })
    }
}

impl RouteConfig {
    /// A route to `targets` that takes everything, with the default grouping.
    pub fn to(targets: impl IntoIterator<Item = (Platform, String)>) -> RouteConfig {
        RouteConfig {
            name: None,
            hosts: Vec::new(),
            hostgroups: Vec::new(),
            services: Vec::new(),
            states: Vec::new(),
            types: Vec::new(),
            targets: targets.into_iter().collect(),
            grouping: Grouping::default(),
            overrides: GroupingKeys::default(),
            fallback: false,
            oncall: None,
            escalation: None,
        }
    }

    /// The default route: what no `[[route]]` matches goes to each platform's default channel
    /// (`targets`), grouped as `grouping` says.
    pub fn fallback(grouping: Grouping, targets: impl IntoIterator<Item = (Platform, String)>) -> RouteConfig {
        RouteConfig { grouping, fallback: true, ..RouteConfig::to(targets) }
    }

    /// The route's grouping keys over `default_route`'s timings and `group_by`. Whether it
    /// groups at all is its own choice (grouping unless it says `grouping = false`): turning
    /// grouping off for unrouted notifications must not turn it off for every route.
    pub(super) fn inherit(&mut self, default_route: &Grouping) {
        self.grouping = self.overrides.over(&Grouping { enabled: true, ..default_route.clone() });
    }

    /// Where the route sends on `platform`, if it names a target there.
    pub fn target(&self, platform: Platform) -> Option<&str> {
        self.targets.get(&platform).map(String::as_str)
    }

    /// What a report calls the route: its `name`; else what it matches, as written
    /// (`hosts=web*,db* states=CRITICAL`); `default route` for the default route.
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        if self.fallback {
            return DEFAULT_ROUTE_LABEL.to_owned();
        }
        let listed =
            |key: &str, values: Vec<String>| (!values.is_empty()).then(|| format!("{key}={}", values.join(",")));
        let matchers: Vec<String> = [
            listed("hosts", self.hosts.clone()),
            listed("hostgroups", self.hostgroups.clone()),
            listed("services", self.services.clone()),
            listed("states", self.states.iter().map(ToString::to_string).collect()),
            listed("types", self.types.iter().map(ToString::to_string).collect()),
        ]
        .into_iter()
        .flatten()
        .collect();
        if matchers.is_empty() {
            "everything".to_owned()
        } else {
            matchers.join(" ")
        }
    }

    /// Whether the route may have taken an incident about `object` posted to `channel` on
    /// `platform`: it sends there and its hosts and services match. An incident keeps neither
    /// its host groups nor the type of its first notification, so those are not checked.
    pub fn may_have_taken(&self, platform: Platform, channel: &str, object: &ObjectRef) -> bool {
        let any =
            |patterns: &[String], value: &str| patterns.is_empty() || patterns.iter().any(|p| glob_match(p, value));
        self.target(platform) == Some(channel)
            && any(&self.hosts, &object.host)
            && any(&self.services, object.service.as_deref().unwrap_or(""))
    }

    /// Whether every list the route sets matches `notification`; an empty list matches everything.
    pub fn matches(&self, notification: &Notification) -> bool {
        let objects = ObjectPatterns { hosts: &self.hosts, services: &self.services, hostgroups: &self.hostgroups };
        objects.match_notification(notification)
            && (self.states.is_empty() || self.states.contains(&notification.state))
            && (self.types.is_empty() || self.types.contains(&notification.kind))
    }
}

/// Each platform's target in a section that names them with the platforms' route keys
/// (`channel`, `matrix_room`), from the section's keys besides its own (`what` names the
/// section, `others` its own keys, for the error).
pub(super) fn targets_of(
    what: &str,
    keys: BTreeMap<String, toml::Value>,
    others: &str,
) -> Result<BTreeMap<Platform, String>, String> {
    let mut targets = BTreeMap::new();
    for (key, value) in keys {
        let platforms: Vec<Platform> = Platform::by_route_key(&key).collect();
        if platforms.is_empty() {
            return Err(format!("unknown {what} key `{key}` (targets are named with {}; {others})", target_keys()));
        }
        let toml::Value::String(target) = value else {
            return Err(format!("{what} key `{key}` must be a string"));
        };
        if !target.is_empty() {
            targets.extend(platforms.into_iter().map(|platform| (platform, target.clone())));
        }
    }
    Ok(targets)
}

/// `channel (slack, terminal) or matrix_room (matrix)`: the keys routes name targets with.
pub fn target_keys() -> String {
    let mut keys: Vec<(&str, Vec<&str>)> = Vec::new();
    for platform in Platform::ALL {
        let Some(key) = platform.route_key() else { continue };
        match keys.iter_mut().find(|(seen, _)| *seen == key) {
            Some((_, names)) => names.push(platform.name()),
            None => keys.push((key, vec![platform.name()])),
        }
    }
    let keys: Vec<String> = keys.iter().map(|(key, names)| format!("{key} ({})", names.join(", "))).collect();
    keys.join(" or ")
}

/// The shortest time between two updates of a group's message, unless a route says otherwise.
pub fn default_group_interval() -> Duration {
    Duration::from_secs(30)
}

/// Reminders more often than this would be noise, not reminders.
pub const MIN_REPEAT_INTERVAL: Duration = Duration::from_secs(60);

/// Lists of state and notification type names, read case-insensitively as Nagios writes them.
mod names {
    use hagios_domain::{NotificationType, State};
    use serde::{Deserialize, Deserializer};

    fn list<'de, D: Deserializer<'de>, T>(
        deserializer: D,
        parse: fn(&str) -> Option<T>,
        what: &str,
        known: &str,
    ) -> Result<Vec<T>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|name| {
                parse(name)
                    .ok_or_else(|| serde::de::Error::custom(format!("`{name}` is not a {what} (known: {known})")))
            })
            .collect()
    }

    pub fn states<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<State>, D::Error> {
        list(deserializer, State::parse, "state", "OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN, UNREACHABLE")
    }

    pub fn types<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<NotificationType>, D::Error> {
        let known: Vec<&str> = NotificationType::ALL.iter().map(|kind| kind.as_nagios()).collect();
        list(deserializer, NotificationType::parse, "notification type", &known.join(", "))
    }
}
