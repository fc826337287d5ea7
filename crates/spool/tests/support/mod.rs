//! The notification the spool's test binaries write.

use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use std::collections::BTreeMap;

/// A CRITICAL of `host!HTTP` with a host group, a contact and a macro.
pub fn notification(host: &str) -> Notification {
    Notification {
        id: String::new(),
        site: "local".into(),
        kind: NotificationType::Problem,
        object: ObjectRef::service(host, "HTTP"),
        state: State::Critical,
        output: "CRITICAL - connection refused".into(),
        long_output: String::new(),
        author: None,
        comment: None,
        time: 1_795_551_281,
        hostgroups: vec!["web".into()],
        contact: Some("testcontact".into()),
        macros: BTreeMap::from([("HOSTADDRESS".into(), "127.0.0.1".into())]),
    }
}
