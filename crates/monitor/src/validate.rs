//! Checks that the objects an action names exist, with a "did you mean" for typos. Every
//! backend re-validates here even when the router already did: the agent never trusts the bot.

use crate::MonitorError;
use hagios_domain::suggest::closest;
use hagios_domain::{ObjectRef, Snapshot};

/// Ok when the host exists and, for a service reference, the service exists on that host.
pub(crate) fn ensure_exists(snapshot: &Snapshot, object: &ObjectRef) -> Result<(), MonitorError> {
    if !snapshot.has_host(&object.host) {
        let hosts = snapshot.host_names().chain(snapshot.inventory.hosts.keys().map(String::as_str));
        return Err(MonitorError::UnknownObject {
            kind: "host",
            name: object.host.clone(),
            suggestion: closest(&object.host, hosts).map(str::to_owned),
        });
    }
    match &object.service {
        Some(service) if !snapshot.has_service(&object.host, service) => {
            let configured = snapshot.inventory.services.get(&object.host).into_iter().flatten().map(String::as_str);
            let services = snapshot.services_of(&object.host).map(|view| view.description.as_str()).chain(configured);
            Err(MonitorError::UnknownObject {
                kind: "service",
                name: object.to_string(),
                suggestion: closest(service, services).map(|near| ObjectRef::service(&object.host, near).to_string()),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{HostObject, Inventory};
    use std::sync::Arc;

    fn snapshot() -> Snapshot {
        let mut inventory = Inventory::default();
        for host in ["web01", "db01"] {
            inventory.hosts.insert(host.into(), HostObject::default());
        }
        inventory.services.insert("web01".into(), vec!["HTTP".into(), "HTTP Load".into(), "Disk".into()]);
        Snapshot { inventory: Arc::new(inventory), ..Snapshot::default() }
    }

    #[test]
    fn existing_objects_pass() {
        assert!(ensure_exists(&snapshot(), &ObjectRef::service("web01", "HTTP Load")).is_ok());
        assert!(ensure_exists(&snapshot(), &ObjectRef::host("db01")).is_ok());
    }

    #[test]
    fn typos_get_a_case_insensitive_suggestion() {
        let err = ensure_exists(&snapshot(), &ObjectRef::host("WEB1")).expect_err("unknown host");
        assert_eq!(err.to_string(), "unknown host `WEB1` (did you mean `web01`?)");
        let err = ensure_exists(&snapshot(), &ObjectRef::service("web01", "http lod")).expect_err("unknown service");
        assert_eq!(err.to_string(), "unknown service `web01!http lod` (did you mean `web01!HTTP Load`?)");
    }

    #[test]
    fn far_off_names_get_no_suggestion() {
        let err = ensure_exists(&snapshot(), &ObjectRef::host("mailserver")).expect_err("unknown host");
        assert!(matches!(err, MonitorError::UnknownObject { suggestion: None, .. }));
        let err = ensure_exists(&snapshot(), &ObjectRef::service("db01", "HTTP")).expect_err("no services on db01");
        assert!(matches!(err, MonitorError::UnknownObject { kind: "service", suggestion: None, .. }));
    }
}
