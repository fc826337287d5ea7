//! Routing stage: picks the channel for a notification from `[[route]]` rules, first match wins.

use crate::config::RouteConfig;
use hagios_commands::glob_match;
use hagios_domain::Notification;

/// The channel for `notification`, or `None` for the chat platform's default channel.
pub fn channel_for<'a>(routes: &'a [RouteConfig], notification: &Notification) -> Option<&'a str> {
    routes.iter().find(|route| matches(route, notification)).map(|route| route.channel.as_str())
}

/// A route matches when every list it sets matches; an empty list matches everything.
fn matches(route: &RouteConfig, notification: &Notification) -> bool {
    let any = |patterns: &[String], value: &str| patterns.iter().any(|p| glob_match(p, value));
    let service = notification.object.service.as_deref().unwrap_or("");
    (route.hosts.is_empty() || any(&route.hosts, &notification.object.host))
        && (route.services.is_empty() || any(&route.services, service))
        && (route.hostgroups.is_empty() || notification.hostgroups.iter().any(|group| any(&route.hostgroups, group)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    fn route(hosts: &[&str], hostgroups: &[&str], channel: &str) -> RouteConfig {
        RouteConfig {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            hostgroups: hostgroups.iter().map(|s| s.to_string()).collect(),
            services: Vec::new(),
            channel: channel.into(),
        }
    }

    fn notification(host: &str, groups: &[&str]) -> Notification {
        Notification {
            id: "1".into(),
            site: "local".into(),
            kind: NotificationType::Problem,
            object: ObjectRef::service(host, "HTTP"),
            state: State::Critical,
            output: String::new(),
            long_output: String::new(),
            author: None,
            comment: None,
            time: 0,
            hostgroups: groups.iter().map(|s| s.to_string()).collect(),
            contact: None,
            macros: Default::default(),
        }
    }

    #[test]
    fn first_matching_route_wins_and_unmatched_go_to_default() {
        let routes =
            [route(&[], &["db-servers"], "C_DB"), route(&["web*"], &[], "C_WEB"), route(&["*"], &["web"], "C_X")];
        assert_eq!(channel_for(&routes, &notification("db01", &["db-servers", "web"])), Some("C_DB"));
        assert_eq!(channel_for(&routes, &notification("web01", &["web"])), Some("C_WEB"));
        assert_eq!(channel_for(&routes, &notification("app01", &["web"])), Some("C_X"));
        assert_eq!(channel_for(&routes, &notification("app01", &[])), None);
    }
}
