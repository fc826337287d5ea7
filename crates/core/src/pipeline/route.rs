//! Routing stage: picks the route and channel for a notification: the first `[[route]]` that
//! matches it and has a target on this pipeline's platform, else the default route (the
//! platform's default channel, grouped as `[default_route]` says).

use super::stage::{Decision, Record, Stage, Verdict};
use super::{Pass, Pipeline};
use crate::config::RouteConfig;
use async_trait::async_trait;
use hagios_chat::Platform;
use hagios_domain::Notification;

pub struct Route;

#[async_trait]
impl Stage for Route {
    async fn run<'p>(&self, pipeline: &'p Pipeline, _pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        let platform = pipeline.chat.platform();
        let fallback = &pipeline.default_route;
        record.route = route_for(&pipeline.routes, platform, &record.notification)
            .or_else(|| Some((fallback, fallback.target(platform)?)));
        Ok(Verdict::Continue)
    }
}

/// The first route with a target on `platform` that `notification` matches, and that target;
/// `None` sends to the platform's default channel.
pub fn route_for<'a>(
    routes: &'a [RouteConfig],
    platform: Platform,
    notification: &Notification,
) -> Option<(&'a RouteConfig, &'a str)> {
    routes
        .iter()
        .filter_map(|route| Some((route, route.target(platform)?)))
        .find(|(route, _)| route.matches(notification))
}

impl Pipeline {
    /// The label of the route `notification` takes on this platform, as this stage picks it
    /// (the default route's when no `[[route]]` does): an incident it opens keeps it, so that
    /// `report` counts the incident where it went.
    pub(super) fn route_label(&self, notification: &Notification) -> String {
        self.label_of(route_for(&self.routes, self.chat.platform(), notification).map(|(route, _)| route))
    }

    /// The label of `route`, the one the routing stage picked; the default route's for none.
    pub(super) fn label_of(&self, route: Option<&RouteConfig>) -> String {
        route.map_or_else(|| self.default_route.label(), RouteConfig::label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    fn channel_for<'a>(routes: &'a [RouteConfig], platform: Platform, notification: &Notification) -> Option<&'a str> {
        route_for(routes, platform, notification).map(|(_, target)| target)
    }

    fn route(hosts: &[&str], hostgroups: &[&str], channel: &str) -> RouteConfig {
        RouteConfig {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            hostgroups: hostgroups.iter().map(|s| s.to_string()).collect(),
            ..RouteConfig::to([(Platform::Slack, channel.to_owned())])
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
        let slack = Platform::Slack;
        assert_eq!(channel_for(&routes, slack, &notification("db01", &["db-servers", "web"])), Some("C_DB"));
        assert_eq!(channel_for(&routes, slack, &notification("web01", &["web"])), Some("C_WEB"));
        assert_eq!(channel_for(&routes, slack, &notification("app01", &["web"])), Some("C_X"));
        assert_eq!(channel_for(&routes, slack, &notification("app01", &[])), None);
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
        let of = |kind, state| channel_for(&routes, Platform::Slack, &notification_of("web01", &[], kind, state));
        assert_eq!(of(NotificationType::Problem, State::Critical), Some("C_PAGER"));
        assert_eq!(of(NotificationType::Problem, State::Warning), None);
        assert_eq!(of(NotificationType::Recovery, State::Ok), None);
        assert_eq!(of(NotificationType::FlappingStart, State::Critical), Some("C_NOISE"));
    }

    #[test]
    fn each_platform_takes_the_first_matching_route_with_a_target_there() {
        let slack_only = route(&["db*"], &[], "C_DB");
        let mut both = route(&["*"], &[], "C_ALL");
        both.targets.insert(Platform::Matrix, "#web:m.org".into());
        let routes = [slack_only, both];
        assert_eq!(channel_for(&routes, Platform::Slack, &notification("db01", &[])), Some("C_DB"));
        assert_eq!(channel_for(&routes, Platform::Matrix, &notification("db01", &[])), Some("#web:m.org"));
        let mut matrix_only = routes[1].clone();
        matrix_only.targets.remove(&Platform::Slack);
        assert_eq!(channel_for(&[matrix_only], Platform::Slack, &notification("db01", &[])), None);
    }
}
