//! Which notifications a set of host, service and host group globs selects; routes and
//! quiet-hours windows select objects the same way.

use hagios_domain::{glob_match, Notification};

/// Host, service and host group globs; an empty list matches everything.
#[derive(Debug, Clone, Copy)]
pub struct ObjectPatterns<'a> {
    pub hosts: &'a [String],
    pub services: &'a [String],
    pub hostgroups: &'a [String],
}

impl ObjectPatterns<'_> {
    /// Whether the notification's object matches every list.
    pub fn match_notification(&self, notification: &Notification) -> bool {
        let any = |patterns: &[String], value: &str| patterns.iter().any(|p| glob_match(p, value));
        let service = notification.object.service.as_deref().unwrap_or("");
        (self.hosts.is_empty() || any(self.hosts, &notification.object.host))
            && (self.services.is_empty() || any(self.services, service))
            && (self.hostgroups.is_empty() || notification.hostgroups.iter().any(|group| any(self.hostgroups, group)))
    }
}
