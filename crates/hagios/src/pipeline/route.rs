//! Routing stage: picks the channel for a notification from `[[route]]` rules, first match wins.

use crate::config::RouteConfig;
use hagios_commands::glob_match;
use hagios_domain::Notification;

/// The channel for `notification`, or `None` for the chat platform's default channel.
pub fn channel_for<'a>(routes: &'a [RouteConfig], notification: &Notification) -> Option<&'a str> {
    route_for(routes, notification).map(|route| route.channel.as_str())
}

/// The first route `notification` matches, if any.
pub fn route_for<'a>(routes: &'a [RouteConfig], notification: &Notification) -> Option<&'a RouteConfig> {
    routes.iter().find(|route| matches(route, notification))
}

/// A route matches when every list it sets matches; an empty list matches everything.
fn matches(route: &RouteConfig, notification: &Notification) -> bool {
    let any = |patterns: &[String], value: &str| patterns.iter().any(|p| glob_match(p, value));
    let service = notification.object.service.as_deref().unwrap_or("");
    (route.hosts.is_empty() || any(&route.hosts, &notification.object.host))
        && (route.services.is_empty() || any(&route.services, service))
        && (route.hostgroups.is_empty() || notification.hostgroups.iter().any(|group| any(&route.hostgroups, group)))
        && (route.states.is_empty() || route.states.contains(&notification.state))
        && (route.types.is_empty() || route.types.contains(&notification.kind))
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
            states: Vec::new(),
            types: Vec::new(),
            channel: channel.into(),
            grouping: false,
            group_by: Vec::new(),
            group_wait: std::time::Duration::ZERO,
            group_interval: std::time::Duration::from_secs(1),
        }
    }

    fn notification(host: &str, groups: &[&str]) -> Notification {
        notification_of(host, groups, NotificationType::Problem, State::Critical)
    }

    fn notification_of(host: &str, groups: &[&str], kind: NotificationType, state: State) -> Notification {
        Notification {
            id: "1".into(),
            site: "local".into(),
            kind,
            object: ObjectRef::service(host, "HTTP"),
            state,
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

    #[test]
    fn states_and_types_narrow_a_route() {
        let pager = RouteConfig {
            states: vec![State::Critical, State::Down],
            types: vec![NotificationType::Problem],
            ..route(&[], &[], "C_PAGER")
        };
        let flapping = RouteConfig { types: vec![NotificationType::FlappingStart], ..route(&[], &[], "C_NOISE") };
        let routes = [pager, flapping];
        let of = |kind, state| channel_for(&routes, &notification_of("web01", &[], kind, state));
        assert_eq!(of(NotificationType::Problem, State::Critical), Some("C_PAGER"));
        assert_eq!(of(NotificationType::Problem, State::Warning), None);
        assert_eq!(of(NotificationType::Recovery, State::Ok), None);
        assert_eq!(of(NotificationType::FlappingStart, State::Critical), Some("C_NOISE"));
    }
}
