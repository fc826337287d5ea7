//! What a monitoring backend knows at one moment: objects, their states, downtimes and comments.
//! Commands are validated against it and queries are answered from it.

use crate::object::{ObjectRef, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostView {
    pub name: String,
    pub state: State,
    pub output: String,
    pub long_output: String,
    /// False until the first check result arrived (state is then PENDING).
    pub has_been_checked: bool,
    pub acknowledged: bool,
    /// `scheduled_downtime_depth > 0`.
    pub in_downtime: bool,
    pub notifications_enabled: bool,
    pub last_check: i64,
    pub last_state_change: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceView {
    pub host: String,
    pub description: String,
    pub state: State,
    pub output: String,
    pub long_output: String,
    pub has_been_checked: bool,
    pub acknowledged: bool,
    pub in_downtime: bool,
    pub notifications_enabled: bool,
    pub last_check: i64,
    pub last_state_change: i64,
}

/// A scheduled downtime (`hostdowntime` / `servicedowntime` in status.dat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downtime {
    pub id: u64,
    pub object: ObjectRef,
    pub entry_time: i64,
    pub start: i64,
    pub end: i64,
    pub fixed: bool,
    /// Length in seconds of a flexible downtime once it starts.
    pub duration: i64,
    pub author: String,
    pub comment: String,
    /// The backend's own name for it where it has one (Icinga: `host!service!uuid`), so chat can name
    /// a downtime the way Icinga Web does; Nagios downtimes have only the id.
    #[serde(default)]
    pub name: Option<String>,
}

/// A comment (`hostcomment` / `servicecomment` in status.dat); acknowledgements leave one too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub object: ObjectRef,
    pub entry_time: i64,
    pub author: String,
    pub text: String,
    pub persistent: bool,
    /// What left it: a person, or Nagios itself for an acknowledgement, downtime or flapping.
    #[serde(default)]
    pub kind: CommentKind,
}

/// Nagios' `entry_type` of a comment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentKind {
    /// Added by a person (`ADD_*_COMMENT`, the CGI's "add comment").
    #[default]
    User,
    /// Nagios' note of a scheduled downtime.
    Downtime,
    /// Nagios' note that the object is flapping.
    Flapping,
    /// The comment an acknowledgement leaves, with the acknowledging author.
    Acknowledgement,
}

impl CommentKind {
    /// `entry_type` as status.dat writes it (1 user, 2 downtime, 3 flapping, 4 acknowledgement).
    pub fn from_nagios(entry_type: u8) -> Self {
        match entry_type {
            2 => CommentKind::Downtime,
            3 => CommentKind::Flapping,
            4 => CommentKind::Acknowledgement,
            _ => CommentKind::User,
        }
    }
}

/// Per-host facts that only the object configuration knows (objects.cache on Nagios).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostObject {
    pub alias: String,
    pub address: String,
    pub parents: Vec<String>,
    pub hostgroups: Vec<String>,
    /// Who Nagios notifies about the host, templates applied (objects.cache); empty where the
    /// backend has no such notion (Icinga 2 keeps it in notification objects).
    #[serde(default)]
    pub contacts: Vec<String>,
    #[serde(default)]
    pub contact_groups: Vec<String>,
}

/// The object configuration: hosts, services and host groups as the monitoring system loaded them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub hosts: BTreeMap<String, HostObject>,
    /// host → its service descriptions.
    pub services: BTreeMap<String, Vec<String>>,
    /// host group → member hosts.
    pub hostgroups: BTreeMap<String, Vec<String>>,
}

/// Current state of every object (status.dat on Nagios).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// When the monitoring system wrote this state (status.dat `created`).
    pub created: i64,
    pub hosts: BTreeMap<String, HostView>,
    /// Keyed by (host, service description).
    pub services: BTreeMap<(String, String), ServiceView>,
    pub downtimes: Vec<Downtime>,
    pub comments: Vec<Comment>,
}

/// The status fields of a host or a service alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectStatus<'a> {
    pub state: State,
    pub output: &'a str,
    pub acknowledged: bool,
    pub in_downtime: bool,
    pub notifications_enabled: bool,
    pub last_check: i64,
}

impl Status {
    /// The status of `object`, host or service, when it is listed.
    pub fn object(&self, object: &ObjectRef) -> Option<ObjectStatus<'_>> {
        match &object.service {
            Some(service) => self.services.get(&(object.host.clone(), service.clone())).map(|view| ObjectStatus {
                state: view.state,
                output: &view.output,
                acknowledged: view.acknowledged,
                in_downtime: view.in_downtime,
                notifications_enabled: view.notifications_enabled,
                last_check: view.last_check,
            }),
            None => self.hosts.get(&object.host).map(|view| ObjectStatus {
                state: view.state,
                output: &view.output,
                acknowledged: view.acknowledged,
                in_downtime: view.in_downtime,
                notifications_enabled: view.notifications_enabled,
                last_check: view.last_check,
            }),
        }
    }
}

/// State plus configuration: what commands are checked against and queries answered from.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub status: Status,
    pub inventory: Arc<Inventory>,
}

impl Snapshot {
    pub fn has_host(&self, host: &str) -> bool {
        self.status.hosts.contains_key(host) || self.inventory.hosts.contains_key(host)
    }

    pub fn has_service(&self, host: &str, service: &str) -> bool {
        self.status.services.contains_key(&(host.to_owned(), service.to_owned()))
            || self.inventory.services.get(host).is_some_and(|list| list.iter().any(|s| s == service))
    }

    /// True when the host exists and, for a service reference, the service exists on it.
    pub fn contains(&self, object: &ObjectRef) -> bool {
        match &object.service {
            Some(service) => self.has_service(&object.host, service),
            None => self.has_host(&object.host),
        }
    }

    /// Every host name known, for "did you mean" suggestions.
    pub fn host_names(&self) -> impl Iterator<Item = &str> {
        self.status.hosts.keys().map(String::as_str)
    }

    /// The service descriptions of one host, in order.
    pub fn services_of<'a>(&'a self, host: &'a str) -> impl Iterator<Item = &'a ServiceView> + 'a {
        self.status
            .services
            .range((host.to_owned(), String::new())..)
            .take_while(move |((h, _), _)| h == host)
            .map(|(_, view)| view)
    }

    pub fn host(&self, host: &str) -> Option<&HostView> {
        self.status.hosts.get(host)
    }

    pub fn service(&self, host: &str, service: &str) -> Option<&ServiceView> {
        self.status.services.get(&(host.to_owned(), service.to_owned()))
    }

    pub fn hostgroups_of(&self, host: &str) -> &[String] {
        self.inventory.hosts.get(host).map(|h| h.hostgroups.as_slice()).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(host: &str, description: &str) -> ServiceView {
        ServiceView {
            host: host.into(),
            description: description.into(),
            state: State::Ok,
            output: String::new(),
            long_output: String::new(),
            has_been_checked: true,
            acknowledged: false,
            in_downtime: false,
            notifications_enabled: true,
            last_check: 0,
            last_state_change: 0,
        }
    }

    #[test]
    fn services_of_returns_only_that_host() {
        let mut snapshot = Snapshot::default();
        for (h, s) in [("a", "x"), ("ab", "y"), ("b", "z"), ("a", "w")] {
            snapshot.status.services.insert((h.into(), s.into()), service(h, s));
        }
        let names: Vec<_> = snapshot.services_of("a").map(|v| v.description.as_str()).collect();
        assert_eq!(names, ["w", "x"]);
        assert!(snapshot.has_service("ab", "y"));
        assert!(!snapshot.has_service("a", "y"));
    }
}
