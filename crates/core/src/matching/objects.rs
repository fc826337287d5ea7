//! Which notifications a set of host, service and host group globs selects; routes and
//! quiet-hours windows select objects the same way.

use hagios_domain::{glob_match, Notification, ObjectRef};

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
        self.match_object(&notification.object)
            && (self.hostgroups.is_empty()
                || notification.hostgroups.iter().any(|group| self.hostgroups.iter().any(|p| glob_match(p, group))))
    }

    /// Whether the host and service globs match `object`; host groups are not looked at.
    pub fn match_object(&self, object: &ObjectRef) -> bool {
        let any = |patterns: &[String], value: &str| patterns.iter().any(|p| glob_match(p, value));
        let service = object.service.as_deref().unwrap_or("");
        (self.hosts.is_empty() || any(self.hosts, &object.host))
            && (self.services.is_empty() || any(self.services, service))
    }
}
