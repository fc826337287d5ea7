//! A notification as the monitoring system sent it, the unit the delivery pipeline carries.

use crate::object::{ObjectRef, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The macro that marks a notification as a change mirrored from outside chat (the value names
/// the source): the pipeline only threads it into an open incident, never posts it on its own.
pub const MIRROR_MACRO: &str = "HAGIOS_MIRROR";

/// Nagios' `$NOTIFICATIONTYPE$` values (Icinga's map onto them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    Problem,
    Recovery,
    Acknowledgement,
    FlappingStart,
    FlappingStop,
    FlappingDisabled,
    DowntimeStart,
    DowntimeEnd,
    DowntimeCancelled,
    Custom,
    /// A comment someone added outside chat; hagios' own type (Nagios sends no notification for it).
    Comment,
    /// A downtime scheduled to start later; hagios' own type (Nagios notifies only when it starts).
    DowntimeScheduled,
}

impl NotificationType {
    pub const ALL: [NotificationType; 12] = [
        NotificationType::Problem,
        NotificationType::Recovery,
        NotificationType::Acknowledgement,
        NotificationType::FlappingStart,
        NotificationType::FlappingStop,
        NotificationType::FlappingDisabled,
        NotificationType::DowntimeStart,
        NotificationType::DowntimeEnd,
        NotificationType::DowntimeCancelled,
        NotificationType::Custom,
        NotificationType::Comment,
        NotificationType::DowntimeScheduled,
    ];

    /// Parses `$NOTIFICATIONTYPE$` as Nagios spells it (`PROBLEM`, `FLAPPINGSTART`, …).
    pub fn parse(word: &str) -> Option<Self> {
        let normalised: String = word.trim().chars().filter(|c| *c != '_').collect::<String>().to_ascii_uppercase();
        Self::ALL.into_iter().find(|kind| kind.as_nagios() == normalised)
    }

    /// The word Nagios uses in `$NOTIFICATIONTYPE$`.
    pub fn as_nagios(self) -> &'static str {
        match self {
            NotificationType::Problem => "PROBLEM",
            NotificationType::Recovery => "RECOVERY",
            NotificationType::Acknowledgement => "ACKNOWLEDGEMENT",
            NotificationType::FlappingStart => "FLAPPINGSTART",
            NotificationType::FlappingStop => "FLAPPINGSTOP",
            NotificationType::FlappingDisabled => "FLAPPINGDISABLED",
            NotificationType::DowntimeStart => "DOWNTIMESTART",
            NotificationType::DowntimeEnd => "DOWNTIMEEND",
            NotificationType::DowntimeCancelled => "DOWNTIMECANCELLED",
            NotificationType::Custom => "CUSTOM",
            NotificationType::Comment => "COMMENT",
            NotificationType::DowntimeScheduled => "DOWNTIMESCHEDULED",
        }
    }

    /// A PROBLEM opens an incident; everything else joins the open one.
    pub fn opens_incident(self) -> bool {
        self == NotificationType::Problem
    }

    /// RECOVERY closes the incident; the next PROBLEM opens a new one.
    pub fn closes_incident(self) -> bool {
        self == NotificationType::Recovery
    }
}

impl fmt::Display for NotificationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_nagios())
    }
}

/// One notification, durable from the moment `hagios notify` accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique and stable for the life of the notification: the idempotency key of delivery.
    pub id: String,
    /// The monitoring site that raised it (the agent's name; "local" for `hagios run`).
    pub site: String,
    pub kind: NotificationType,
    pub object: ObjectRef,
    pub state: State,
    #[serde(default)]
    pub output: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub long_output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Seconds since the epoch when the monitoring system raised it.
    pub time: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostgroups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Every other macro the monitoring system passed (`NAGIOS_*` without the prefix).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub macros: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_types_parse_as_nagios_prints_them() {
        for kind in NotificationType::ALL {
            assert_eq!(NotificationType::parse(kind.as_nagios()), Some(kind));
        }
        assert_eq!(NotificationType::parse("downtime_start"), Some(NotificationType::DowntimeStart));
        assert_eq!(NotificationType::parse("BOGUS"), None);
    }
}
