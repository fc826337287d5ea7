//! Icinga 2's state as a [`Snapshot`], read fresh from the objects API: hosts, services,
//! downtimes and comments in four concurrent queries (a few milliseconds on a small site).

use super::client::IcingaClient;
use crate::MonitorError;
use hagios_domain::{
    Comment, CommentKind, Downtime, HostObject, HostView, Inventory, ObjectRef, ServiceView, Snapshot, State, Status,
};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

const CHECKABLE_ATTRS: [&str; 7] = [
    "state",
    "last_check_result",
    "acknowledgement",
    "downtime_depth",
    "enable_notifications",
    "last_check",
    "last_state_change",
];

#[derive(Deserialize)]
struct Object<T> {
    name: String,
    attrs: T,
}

#[derive(Deserialize)]
struct CheckResult {
    #[serde(default)]
    output: String,
}

/// What hosts and services share.
#[derive(Deserialize)]
struct Checkable {
    #[serde(default)]
    host_name: String,
    #[serde(default)]
    state: f64,
    last_check_result: Option<CheckResult>,
    #[serde(default)]
    acknowledgement: f64,
    #[serde(default)]
    downtime_depth: f64,
    #[serde(default)]
    enable_notifications: bool,
    #[serde(default)]
    last_check: f64,
    #[serde(default)]
    last_state_change: f64,
    #[serde(default)]
    last_reachable: Option<bool>,
    #[serde(default)]
    address: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    groups: Vec<String>,
}

impl Checkable {
    /// Icinga keeps the plugin output's first line and the rest together.
    fn output(&self) -> (String, String) {
        let text = self.last_check_result.as_ref().map_or("", |result| result.output.as_str());
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        (first.to_owned(), rest.to_owned())
    }

    fn host_state(&self) -> State {
        match (self.last_check_result.is_some(), self.state as u8, self.last_reachable) {
            (false, ..) => State::Pending,
            (true, 0, _) => State::Up,
            (true, _, Some(false)) => State::Unreachable,
            (true, _, _) => State::Down,
        }
    }

    fn service_state(&self) -> State {
        if self.last_check_result.is_none() {
            return State::Pending;
        }
        State::from_service_code(self.state as u8)
    }
}

#[derive(Deserialize)]
struct DowntimeAttrs {
    host_name: String,
    #[serde(default)]
    service_name: String,
    legacy_id: f64,
    entry_time: f64,
    start_time: f64,
    end_time: f64,
    fixed: bool,
    duration: f64,
    author: String,
    comment: String,
}

#[derive(Deserialize)]
struct CommentAttrs {
    host_name: String,
    #[serde(default)]
    service_name: String,
    legacy_id: f64,
    entry_time: f64,
    author: String,
    text: String,
    #[serde(default)]
    persistent: bool,
    /// 1 user, 2 downtime, 3 flapping, 4 acknowledgement, as Nagios numbers them.
    #[serde(default)]
    entry_type: f64,
}

/// The object a downtime, comment or event belongs to (Icinga leaves the service empty for hosts).
pub(crate) fn owner(host: String, service: String) -> ObjectRef {
    if service.is_empty() {
        ObjectRef::host(host)
    } else {
        ObjectRef::service(host, service)
    }
}

#[derive(Deserialize)]
struct HardState {
    #[serde(default)]
    host_name: String,
    #[serde(default)]
    last_hard_state: f64,
}

/// The current snapshot, except that objects in a soft state (Icinga still retrying) show their
/// last hard state: the state chat follows, for reconciling after the event stream (re)opens.
pub(crate) async fn load_hard(client: &IcingaClient) -> Result<Arc<Snapshot>, MonitorError> {
    let snapshot = load(client).await?;
    let (host_query, service_query) = (
        json!({"attrs": ["last_hard_state"], "filter": "host.state_type == 0"}),
        json!({"attrs": ["host_name", "last_hard_state"], "filter": "service.state_type == 0"}),
    );
    let (hosts, services) = tokio::try_join!(
        client.query::<Object<HardState>>("hosts", &host_query),
        client.query::<Object<HardState>>("services", &service_query),
    )?;
    if hosts.is_empty() && services.is_empty() {
        return Ok(snapshot);
    }
    let mut snapshot = Arc::unwrap_or_clone(snapshot);
    for Object { name, attrs } in hosts {
        if let Some(view) = snapshot.status.hosts.get_mut(&name) {
            // A host's own state: 0 UP, 1 DOWN.
            view.state = if attrs.last_hard_state == 0.0 { State::Up } else { State::Down };
        }
    }
    for Object { name, attrs } in services {
        let description = name.strip_prefix(&format!("{}!", attrs.host_name)).unwrap_or(&name).to_owned();
        if let Some(view) = snapshot.status.services.get_mut(&(attrs.host_name, description)) {
            view.state = State::from_service_code(attrs.last_hard_state as u8);
        }
    }
    Ok(Arc::new(snapshot))
}

/// Reads the current snapshot from the API.
pub(crate) async fn load(client: &IcingaClient) -> Result<Arc<Snapshot>, MonitorError> {
    let mut host_attrs: Vec<&str> = CHECKABLE_ATTRS.to_vec();
    host_attrs.extend(["last_reachable", "address", "display_name", "groups"]);
    let mut service_attrs: Vec<&str> = CHECKABLE_ATTRS.to_vec();
    service_attrs.push("host_name");
    let (host_query, service_query, everything) =
        (json!({"attrs": host_attrs}), json!({"attrs": service_attrs}), json!({}));
    let (hosts, services, downtimes, comments) = tokio::try_join!(
        client.query::<Object<Checkable>>("hosts", &host_query),
        client.query::<Object<Checkable>>("services", &service_query),
        client.query::<Object<DowntimeAttrs>>("downtimes", &everything),
        client.query::<Object<CommentAttrs>>("comments", &everything),
    )?;
    let mut status = Status { created: hagios_domain::unix_now(), ..Status::default() };
    let mut inventory = Inventory::default();
    for Object { name, attrs } in hosts {
        let (output, long_output) = attrs.output();
        for group in &attrs.groups {
            inventory.hostgroups.entry(group.clone()).or_default().push(name.clone());
        }
        status.hosts.insert(
            name.clone(),
            HostView {
                name: name.clone(),
                state: attrs.host_state(),
                output,
                long_output,
                has_been_checked: attrs.last_check_result.is_some(),
                acknowledged: attrs.acknowledgement > 0.0,
                in_downtime: attrs.downtime_depth > 0.0,
                notifications_enabled: attrs.enable_notifications,
                last_check: attrs.last_check as i64,
                last_state_change: attrs.last_state_change as i64,
            },
        );
        let host = HostObject {
            alias: attrs.display_name,
            address: attrs.address,
            hostgroups: attrs.groups,
            ..HostObject::default()
        };
        inventory.hosts.insert(name, host);
    }
    for Object { name, attrs } in services {
        // The object name is `host!service`; the service part may itself contain `!`.
        let description = name.strip_prefix(&format!("{}!", attrs.host_name)).unwrap_or(&name).to_owned();
        let (output, long_output) = attrs.output();
        inventory.services.entry(attrs.host_name.clone()).or_default().push(description.clone());
        status.services.insert(
            (attrs.host_name.clone(), description.clone()),
            ServiceView {
                host: attrs.host_name.clone(),
                description,
                state: attrs.service_state(),
                output,
                long_output,
                has_been_checked: attrs.last_check_result.is_some(),
                acknowledged: attrs.acknowledgement > 0.0,
                in_downtime: attrs.downtime_depth > 0.0,
                notifications_enabled: attrs.enable_notifications,
                last_check: attrs.last_check as i64,
                last_state_change: attrs.last_state_change as i64,
            },
        );
    }
    status.downtimes = downtimes
        .into_iter()
        .map(|Object { name, attrs }| Downtime {
            id: attrs.legacy_id as u64,
            object: owner(attrs.host_name, attrs.service_name),
            entry_time: attrs.entry_time as i64,
            start: attrs.start_time as i64,
            end: attrs.end_time as i64,
            fixed: attrs.fixed,
            duration: attrs.duration as i64,
            author: attrs.author,
            comment: attrs.comment,
            name: Some(name),
        })
        .collect();
    status.downtimes.sort_by_key(|downtime| downtime.id);
    status.comments = comments
        .into_iter()
        .map(|Object { attrs, .. }| Comment {
            id: attrs.legacy_id as u64,
            object: owner(attrs.host_name, attrs.service_name),
            entry_time: attrs.entry_time as i64,
            author: attrs.author,
            text: attrs.text,
            persistent: attrs.persistent,
            kind: CommentKind::from_nagios(attrs.entry_type as u8),
        })
        .collect();
    status.comments.sort_by_key(|comment| comment.id);
    for services in inventory.services.values_mut() {
        services.sort();
    }
    Ok(Arc::new(Snapshot { status, inventory: Arc::new(inventory) }))
}
