//! The doctor's Icinga 2 checks: the files the `[icinga]` section names are readable by the user
//! hagios runs as, the API answers the login, and the API user holds each permission hagios uses.

use super::access::{Access, Account};
use super::{Finding, Level};
use hagios_monitor::icinga::permissions::{holds, REQUIRED};
use hagios_monitor::icinga::{IcingaConfig, IcingaMonitor};

/// Permissions an operator may leave out on purpose: without them `host add` and `host remove`
/// are refused, and nothing else changes.
const OPTIONAL: [&str; 3] = ["objects/create/Host", "objects/delete/Host", "objects/delete/Service"];

/// Everything the doctor checks on the Icinga side.
pub(super) async fn examine(icinga: &IcingaConfig, user: &Account) -> Vec<Finding> {
    let mut findings = files(icinga, user);
    if findings.iter().any(|finding| finding.level == Level::Fail) {
        return findings;
    }
    findings.extend(api(icinga).await);
    findings
}

/// Whether `user` may read the CA and client certificate files the section names.
pub(super) fn files(icinga: &IcingaConfig, user: &Account) -> Vec<Finding> {
    let files =
        [("ca_file", &icinga.ca_file), ("client_cert", &icinga.client_cert), ("client_key", &icinga.client_key)];
    files
        .into_iter()
        .filter_map(|(key, path)| Some((key, path.as_ref()?)))
        .map(|(key, path)| {
            let readable = user.may(Access::Read, path).map_err(|reason| {
                format!("{reason}; or keep a copy hagios may read, e.g. in /etc/hagios, and point [icinga] {key} at it")
            });
            Finding::of(format!("{} may read [icinga] {key} {}", user.name, path.display()), readable)
        })
        .collect()
}

/// The API answers hagios' login, and its user holds each permission hagios uses.
async fn api(icinga: &IcingaConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    let monitor = match icinga.credentials().and_then(|credentials| IcingaMonitor::new(icinga.clone(), credentials)) {
        Ok(monitor) => monitor,
        Err(e) => {
            findings.push(Finding::fail(format!("Icinga 2 API: {e}")));
            return findings;
        }
    };
    let mut missing = Vec::new();
    for permission in REQUIRED {
        match holds(monitor.client(), permission).await {
            Ok(true) => {}
            Ok(false) => missing.push(permission),
            Err(e) => {
                findings.push(Finding::fail(format!("Icinga 2 API at {}: {e}", icinga.url)));
                return findings;
            }
        }
    }
    findings.extend(permission_findings(&icinga.url, &missing));
    findings
}

/// One line for what the API user may do: OK, a FAIL naming what hagios cannot work without, a
/// WARN for the host add/remove permissions left out.
fn permission_findings(url: &str, missing: &[&str]) -> Vec<Finding> {
    if missing.is_empty() {
        return vec![Finding::ok(format!(
            "Icinga 2 API at {url}: the API user holds all {} permissions hagios uses",
            REQUIRED.len()
        ))];
    }
    let (optional, needed): (Vec<&str>, Vec<&str>) =
        missing.iter().partition(|permission| OPTIONAL.contains(permission));
    let mut findings = Vec::new();
    if !needed.is_empty() {
        findings.push(Finding::fail(format!(
            "the Icinga 2 API user lacks {}: give it permissions = HagiosApiPermissions \
             (contrib/icinga2/hagios-permissions.conf) and reload Icinga 2",
            needed.join(", ")
        )));
    }
    if !optional.is_empty() {
        findings.push(Finding::warn(format!(
            "the Icinga 2 API user lacks {}: host add and host remove will be refused (fine if meant)",
            optional.join(", ")
        )));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_add_and_remove_permissions_left_out_only_warn() {
        let levels = |missing: &[&str]| permission_findings("u", missing).iter().map(|f| f.level).collect::<Vec<_>>();
        assert_eq!(levels(&[]), [Level::Ok]);
        assert_eq!(levels(&["objects/create/Host"]), [Level::Warn]);
        assert_eq!(levels(&["events/StateChange", "objects/delete/Host"]), [Level::Fail, Level::Warn]);
    }
}
