//! Typed actions on the monitoring system. Chat commands become these; backends render them.
//! No raw command line ever travels between parts of hagios.

use crate::object::ObjectRef;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What a downtime covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DowntimeTarget {
    Host(String),
    Service {
        host: String,
        service: String,
    },
    /// The host and every service on it.
    HostAndServices(String),
}

impl DowntimeTarget {
    pub fn host(&self) -> &str {
        match self {
            DowntimeTarget::Host(host) | DowntimeTarget::HostAndServices(host) => host,
            DowntimeTarget::Service { host, .. } => host,
        }
    }

    /// The object whose state shows the downtime once it is in effect.
    pub fn object(&self) -> ObjectRef {
        match self {
            DowntimeTarget::Host(host) | DowntimeTarget::HostAndServices(host) => ObjectRef::host(host.clone()),
            DowntimeTarget::Service { host, service } => ObjectRef::service(host.clone(), service.clone()),
        }
    }
}

/// When a downtime runs. A fixed downtime covers exactly `start..end`; a flexible one starts
/// when a problem starts inside `start..end` and then lasts `duration` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DowntimeSpan {
    pub start: i64,
    pub end: i64,
    pub fixed: bool,
    pub duration: i64,
}

/// One action on the monitoring system, already parsed and typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Acknowledge {
        target: ObjectRef,
        comment: String,
        sticky: bool,
        notify: bool,
        persistent: bool,
        /// Seconds since the epoch when the acknowledgement lapses (backends that support it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expire: Option<i64>,
    },
    RemoveAcknowledgement {
        target: ObjectRef,
    },
    ScheduleDowntime {
        target: DowntimeTarget,
        span: DowntimeSpan,
        comment: String,
    },
    /// Cancels a downtime by the id the monitoring system gave it.
    DeleteDowntime {
        id: u64,
    },
    /// A forced check now, whatever the check period or the next scheduled check.
    Recheck {
        target: ObjectRef,
    },
    EnableNotifications {
        target: ObjectRef,
    },
    DisableNotifications {
        target: ObjectRef,
    },
    AddComment {
        target: ObjectRef,
        comment: String,
        persistent: bool,
    },
    /// Creates a host from a host template (backends that create objects at runtime).
    AddHost {
        name: String,
        address: String,
        template: String,
    },
    /// Deletes a host with everything that depends on it (services, downtimes, comments).
    RemoveHost {
        name: String,
    },
}

impl Action {
    /// The existing object this action is about, when it names one (a downtime cancel names an
    /// id, a host to add does not exist yet).
    pub fn object(&self) -> Option<ObjectRef> {
        match self {
            Action::Acknowledge { target, .. }
            | Action::RemoveAcknowledgement { target }
            | Action::Recheck { target }
            | Action::EnableNotifications { target }
            | Action::DisableNotifications { target }
            | Action::AddComment { target, .. } => Some(target.clone()),
            Action::ScheduleDowntime { target, .. } => Some(target.object()),
            Action::RemoveHost { name } => Some(ObjectRef::host(name.clone())),
            Action::DeleteDowntime { .. } | Action::AddHost { .. } => None,
        }
    }
}

/// The final word on an action that was sent: what the monitoring system's own evidence says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// The monitoring system shows the effect; the detail says what and how it was seen.
    Confirmed(String),
    /// The monitoring system read the command and shows that it did not take effect (an
    /// acknowledgement of an object without a problem, a refused downtime, a stop meanwhile);
    /// the detail is the reason.
    NotApplied(String),
    /// No verdict by the deadline: the command was handed over, and the detail says what is
    /// known (a forced check still running, say).
    Unconfirmed(String),
}

impl Outcome {
    pub fn is_confirmed(&self) -> bool {
        matches!(self, Outcome::Confirmed(_))
    }

    pub fn detail(&self) -> &str {
        match self {
            Outcome::Confirmed(detail) | Outcome::NotApplied(detail) | Outcome::Unconfirmed(detail) => detail,
        }
    }
}

/// A step on the way to an action's [`Outcome`], reported as it happens so that a reply can
/// show it before the final word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Handed over to the monitoring system. `state_every` is how often it writes the state
    /// hagios reads back, when that is a cadence (Nagios' status.dat); the final word comes
    /// within `answer_within`.
    Sent { state_every: Option<Duration>, answer_within: Duration },
    /// The monitoring system has the command (Nagios' log shows it read it; Icinga's API
    /// accepted it) — not yet evidence of its effect.
    Received { how: String },
}
