//! The Icinga 2 API permissions hagios needs — exactly what contrib/icinga2/hagios-permissions.conf
//! grants — and for each a harmless request whose answer tells whether the API user holds it.

use super::client::IcingaClient;
use crate::MonitorError;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Every permission hagios uses, in the order of the contrib file.
pub const REQUIRED: [&str; 25] = [
    "objects/query/Host",
    "objects/query/Service",
    "objects/query/HostGroup",
    "objects/query/Downtime",
    "objects/query/Comment",
    "actions/acknowledge-problem",
    "actions/remove-acknowledgement",
    "actions/schedule-downtime",
    "actions/remove-downtime",
    "actions/reschedule-check",
    "actions/add-comment",
    "objects/modify/Host",
    "objects/modify/Service",
    "objects/create/Host",
    "objects/delete/Host",
    "objects/delete/Service",
    "events/Notification",
    "events/AcknowledgementSet",
    "events/AcknowledgementCleared",
    "events/DowntimeStarted",
    "events/DowntimeRemoved",
    "events/StateChange",
    "events/CommentAdded",
    "events/CommentRemoved",
    "events/DowntimeAdded",
];

/// The name the probe's refused creation would have had, had the permission and an unknown
/// template both been there.
const PROBE_OBJECT: &str = "hagios-permission-probe";

/// Whether the API user holds `permission`, found by a request that selects or creates nothing:
/// a filter that matches no object, or a host built from a template that does not exist. Icinga
/// hides from a user what it may not touch, so a missing permission answers 404 where a held one
/// answers 200 (or 500 for nothing done).
pub async fn holds(client: &IcingaClient, permission: &str) -> Result<bool, MonitorError> {
    let nothing = json!({ "filter": "false" });
    let (method, segments, body, query): (Method, Vec<String>, serde_json::Value, Vec<(&str, &str)>) = match permission
        .split('/')
        .collect::<Vec<_>>()[..]
    {
        ["objects", "query", kind] => (Method::GET, vec!["objects".into(), plural(kind)], nothing, vec![]),
        ["objects", "modify", kind] => {
            (Method::POST, vec!["objects".into(), plural(kind)], json!({ "filter": "false", "attrs": {} }), vec![])
        }
        ["objects", "delete", kind] => {
            (Method::DELETE, vec!["objects".into(), plural(kind)], json!({}), vec![("filter", "false")])
        }
        ["objects", "create", kind] => (
            Method::PUT,
            vec!["objects".into(), plural(kind), PROBE_OBJECT.into()],
            json!({ "templates": [format!("{PROBE_OBJECT}-no-such-template")], "attrs": {} }),
            vec![],
        ),
        ["actions", action] => {
            (Method::POST, vec!["actions".into(), action.into()], json!({ "type": "Host", "filter": "false" }), vec![])
        }
        ["events", kind] => {
            (Method::POST, vec!["events".into()], json!({}), vec![("queue", PROBE_OBJECT), ("types", kind)])
        }
        _ => return Err(MonitorError::Refused(format!("hagios has no probe for the permission {permission}"))),
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let status = client.status_of(method, &segments, &query, &body).await?;
    match status {
        StatusCode::UNAUTHORIZED => Err(MonitorError::Refused(
            "Icinga 2 rejected hagios' login (401): check [icinga] user and the password in password_env (or the \
             client certificate)"
                .to_owned(),
        )),
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN => Ok(false),
        _ => Ok(true),
    }
}

/// The URL name of an object type: `Host` → `hosts`, `HostGroup` → `hostgroups`.
fn plural(kind: &str) -> String {
    format!("{}s", kind.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contrib_permissions_are_the_ones_hagios_probes() {
        let contrib = include_str!("../../../../contrib/icinga2/hagios-permissions.conf");
        let listed: Vec<&str> =
            contrib.lines().map(str::trim).filter_map(|line| line.strip_prefix('"')?.strip_suffix("\",")).collect();
        assert_eq!(listed, REQUIRED);
    }

    #[test]
    fn object_types_are_named_as_the_url_names_them() {
        assert_eq!(plural("HostGroup"), "hostgroups");
        assert_eq!(plural("Downtime"), "downtimes");
    }
}
