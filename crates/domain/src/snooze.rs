//! A snooze: hagios holds an object's notifications for a while without telling the monitoring
//! system anything (unlike `mute`, which turns Nagios' notifications off).

use crate::object::ObjectRef;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snooze {
    /// A host snooze holds the host's own notifications and those of all its services.
    pub object: ObjectRef,
    /// When it began (seconds since the epoch); extending a running snooze keeps this.
    pub since: i64,
    /// When it ends; `unsnooze` moves this to the moment it was typed.
    pub until: i64,
    /// Who asked for it, as chat named them.
    pub author: String,
}

impl Snooze {
    /// Whether a notification about `object` sent at `time` falls under this snooze. Its last
    /// second counts: times are whole seconds, and an `unsnooze` typed in the same second as a
    /// notification must still treat it as held (and so apply the recovered-while-held rule).
    pub fn covers(&self, object: &ObjectRef, time: i64) -> bool {
        let object_matches =
            self.object.host == object.host && (self.object.service.is_none() || self.object.service == object.service);
        object_matches && (self.since..=self.until).contains(&time)
    }

    pub fn active(&self, now: i64) -> bool {
        self.until > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_snooze_covers_its_services_a_service_snooze_only_itself() {
        let host = Snooze { object: ObjectRef::host("web01"), since: 100, until: 200, author: "alice".into() };
        assert!(host.covers(&ObjectRef::host("web01"), 100));
        assert!(host.covers(&ObjectRef::service("web01", "HTTP"), 199));
        assert!(host.covers(&ObjectRef::service("web01", "HTTP"), 200), "its last second counts");
        assert!(!host.covers(&ObjectRef::service("web01", "HTTP"), 201));
        assert!(!host.covers(&ObjectRef::host("web02"), 150));
        let service = Snooze { object: ObjectRef::service("web01", "HTTP"), ..host };
        assert!(service.covers(&ObjectRef::service("web01", "HTTP"), 150));
        assert!(!service.covers(&ObjectRef::service("web01", "SSH"), 150));
        assert!(!service.covers(&ObjectRef::host("web01"), 150));
        assert!(service.active(199) && !service.active(200));
    }
}
