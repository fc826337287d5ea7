//! Checks that the objects an action names exist, with a "did you mean" for typos, that the
//! fields of a host to add or remove pass the domain's rule, and that the author can be stored.
//! Every backend re-validates here even when the router already did: the agent never trusts
//! the bot.

use crate::MonitorError;
use hagios_domain::free_text::clean_author;
use hagios_domain::suggest::closest;
use hagios_domain::{check_host_field, check_new_host, Action, HostField, ObjectRef, Snapshot};

/// The author as every backend stores it (`hagios_domain::free_text`), or the refusal.
pub(crate) fn stored_author(author: &str) -> Result<String, MonitorError> {
    clean_author(author).map_err(|err| MonitorError::Refused(err.to_string()))
}

/// Ok unless `action` adds or removes a host with a field the domain's rule refuses.
pub(crate) fn ensure_host_fields(action: &Action) -> Result<(), MonitorError> {
    let checked = match action {
        Action::AddHost { name, address, template } => check_new_host(name, address, template),
        Action::RemoveHost { name } => check_host_field(HostField::Name, name),
        _ => Ok(()),
    };
    checked.map_err(|err| MonitorError::Refused(err.to_string()))
}

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
    fn host_fields_that_could_break_a_file_a_shell_or_a_plugin_are_refused() {
        let add = |name: &str, address: &str, template: &str| Action::AddHost {
            name: name.into(),
            address: address.into(),
            template: template.into(),
        };
        assert!(ensure_host_fields(&add("web07", "2001:db8::7", "generic-host")).is_ok());
        for hostile in ["1.2.3.4$(id)", "a'b", "a\\b", "a|b", "a&b", "a<b", "a>b", "a`id`", "a b", "-x", "../x"] {
            for action in [add(hostile, "192.0.2.7", "generic-host"), add("web07", hostile, "generic-host")] {
                let err = ensure_host_fields(&action).expect_err(hostile);
                assert!(err.to_string().starts_with("refused: the "), "{hostile:?}: {err}");
            }
            let template = add("web07", "192.0.2.7", hostile);
            assert!(ensure_host_fields(&template).is_err() || hostile == "a b", "{hostile:?}");
            assert!(ensure_host_fields(&Action::RemoveHost { name: hostile.into() }).is_err(), "{hostile:?}");
        }
    }

    #[test]
    fn far_off_names_get_no_suggestion() {
        let err = ensure_exists(&snapshot(), &ObjectRef::host("mailserver")).expect_err("unknown host");
        assert!(matches!(err, MonitorError::UnknownObject { suggestion: None, .. }));
        let err = ensure_exists(&snapshot(), &ObjectRef::service("db01", "HTTP")).expect_err("no services on db01");
        assert!(matches!(err, MonitorError::UnknownObject { kind: "service", suggestion: None, .. }));
    }
}
