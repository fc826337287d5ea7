//! Routing stage: picks the channel for a notification from `[[route]]` rules, first match with a
//! target on the running chat platform wins.

use crate::config::RouteConfig;
use hagios_domain::glob_match;
use hagios_domain::Notification;

/// The first route with a target on `platform` (the adapter's name) that `notification`
/// matches, and that target; `None` sends to the platform's default channel.
pub fn route_for<'a>(
    routes: &'a [RouteConfig],
    platform: &str,
    notification: &Notification,
) -> Option<(&'a RouteConfig, &'a str)> {
    routes
        .iter()
        .filter_map(|route| Some((route, target(route, platform)?)))
        .find(|(route, _)| matches(route, notification))
}

/// Where a route sends on `platform`: its `matrix_room` on Matrix, its `channel` elsewhere.
pub(super) fn target<'a>(route: &'a RouteConfig, platform: &str) -> Option<&'a str> {
    let target = if platform == "matrix" { &route.matrix_room } else { &route.channel };
    Some(target.as_str()).filter(|target| !target.is_empty())
}

/// A route matches when every list it sets matches; an empty list matches everything.
fn matches(route: &RouteConfig, notification: &Notification) -> bool {
    objects_match(&route.hosts, &route.services, &route.hostgroups, notification)
        && (route.states.is_empty() || route.states.contains(&notification.state))
        && (route.types.is_empty() || route.types.contains(&notification.kind))
}

/// Whether the notification's object matches host, service and host group globs; an empty
/// list matches everything. Routes and `[[mute]]` windows select objects the same way.
pub fn objects_match(
    hosts: &[String],
    services: &[String],
    hostgroups: &[String],
    notification: &Notification,
) -> bool {
    let any = |patterns: &[String], value: &str| patterns.iter().any(|p| glob_match(p, value));
    let service = notification.object.service.as_deref().unwrap_or("");
    (hosts.is_empty() || any(hosts, &notification.object.host))
        && (services.is_empty() || any(services, service))
        && (hostgroups.is_empty() || notification.hostgroups.iter().any(|group| any(hostgroups, group)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    fn channel_for<'a>(routes: &'a [RouteConfig], platform: &str, notification: &Notification) -> Option<&'a str> {
        route_for(routes, platform, notification).map(|(_, target)| target)
    }

    fn route(hosts: &[&str], hostgroups: &[&str], channel: &str) -> RouteConfig {
        RouteConfig {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            hostgroups: hostgroups.iter().map(|s| s.to_string()).collect(),
            services: Vec::new(),
            states: Vec::new(),
            types: Vec::new(),
            channel: channel.into(),
            matrix_room: String::new(),
            grouping: false,
            group_by: Vec::new(),
            group_wait: std::time::Duration::ZERO,
            group_interval: std::time::Duration::from_secs(1),
            repeat_interval: std::time::Duration::ZERO,
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
        assert_eq!(channel_for(&routes, "slack", &notification("db01", &["db-servers", "web"])), Some("C_DB"));
        assert_eq!(channel_for(&routes, "slack", &notification("web01", &["web"])), Some("C_WEB"));
        assert_eq!(channel_for(&routes, "slack", &notification("app01", &["web"])), Some("C_X"));
        assert_eq!(channel_for(&routes, "slack", &notification("app01", &[])), None);
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
        let of = |kind, state| channel_for(&routes, "slack", &notification_of("web01", &[], kind, state));
        assert_eq!(of(NotificationType::Problem, State::Critical), Some("C_PAGER"));
        assert_eq!(of(NotificationType::Problem, State::Warning), None);
        assert_eq!(of(NotificationType::Recovery, State::Ok), None);
        assert_eq!(of(NotificationType::FlappingStart, State::Critical), Some("C_NOISE"));
    }

    #[test]
    fn each_platform_takes_the_first_matching_route_with_a_target_there() {
        let slack_only = route(&["db*"], &[], "C_DB");
        let both = RouteConfig { matrix_room: "#web:m.org".into(), ..route(&["*"], &[], "C_ALL") };
        let routes = [slack_only, both];
        assert_eq!(channel_for(&routes, "slack", &notification("db01", &[])), Some("C_DB"));
        assert_eq!(channel_for(&routes, "matrix", &notification("db01", &[])), Some("#web:m.org"));
        let matrix_only = [RouteConfig { channel: String::new(), ..routes[1].clone() }];
        assert_eq!(channel_for(&matrix_only, "slack", &notification("db01", &[])), None);
    }
}
