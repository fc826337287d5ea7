//! `status`: an overview of the estate, a host with its services, or one service in detail.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use crate::clock::format_ago;
use crate::text::first_line;
use hagios_domain::{plural, HostView, ObjectRef, ServiceView, Snapshot, State};
use regex::Captures;
use std::collections::BTreeMap;

pub(crate) static COMMAND: Command = Command {
    name: "status",
    usage: "status [HOST [SERVICE]]",
    summary: "show state: all hosts and services, one host, or one service",
    details: "Without arguments: how many hosts and services are in each state, and how soon a command \
              gets its final word (how often Nagios writes its state). With HOST: the host, what \
              the configuration says about it (address, host groups, parents, contacts and contact groups, \
              templates applied) and one line per service. With HOST SERVICE: state, output, acknowledgement, downtime, notifications and \
              the last check.\n\
              Examples:\n\
              • `status`\n\
              • `status web01`\n\
              • `status web01 \"HTTP Load\"` or `status web01!HTTP`",
    permission: None,
    needs_state: true,
    routes: &[r"^status(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("rest").map_or("", |m| m.as_str()));
    if words.is_empty() {
        return Ok(Parsed::Answer { query: "status".into(), text: overview(input) });
    }
    let at = input.sole_object(&words)?;
    // The object's own site: another site's object of the same name is another object.
    let snapshot = input.snapshot_at(&at.site);
    let (object, label) = (&at.object, input.label(&at));
    let text = match &object.service {
        Some(service) => match snapshot.service(&object.host, service) {
            Some(view) => service_detail(view, input),
            None => format!("{label} has no state yet (PENDING)"),
        },
        None => match snapshot.host(&object.host) {
            Some(view) => host_with_services(view, snapshot, input),
            None => {
                let configured = host_configuration(snapshot, &object.host).map(|line| format!("\n{line}"));
                format!("{label} has no state yet (PENDING){}", configured.unwrap_or_default())
            }
        },
    };
    Ok(Parsed::Answer { query: format!("status {label}"), text })
}

/// The state to show: PENDING until the first check result arrived.
fn shown_state(state: State, has_been_checked: bool) -> State {
    if has_been_checked {
        state
    } else {
        State::Pending
    }
}

/// ` · acknowledged · in downtime · muted`, for whichever apply.
fn flags(acknowledged: bool, in_downtime: bool, notifications_enabled: bool) -> String {
    [(acknowledged, "acknowledged"), (in_downtime, "in downtime"), (!notifications_enabled, "muted")]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, flag)| format!(" · {flag}"))
        .collect()
}

fn overview(input: &Input<'_>) -> String {
    let status = &input.snapshot.status;
    let mut hosts: BTreeMap<State, usize> = BTreeMap::new();
    for view in status.hosts.values() {
        *hosts.entry(shown_state(view.state, view.has_been_checked)).or_default() += 1;
    }
    let mut services: BTreeMap<State, usize> = BTreeMap::new();
    for view in status.services.values() {
        *services.entry(shown_state(view.state, view.has_been_checked)).or_default() += 1;
    }
    let counts = |by_state: &BTreeMap<State, usize>| {
        if by_state.is_empty() {
            return "none".to_owned();
        }
        by_state.iter().map(|(state, count)| format!("{count} {state}")).collect::<Vec<_>>().join(", ")
    };
    let unhandled = status
        .hosts
        .values()
        .map(|h| (h.state, h.acknowledged || h.in_downtime))
        .chain(status.services.values().map(|s| (s.state, s.acknowledged || s.in_downtime)))
        .filter(|(state, handled)| state.is_problem() && !handled)
        .count();
    let timing = input.cadence.as_ref().map(|cadence| format!("\ncommands: {}", cadence.for_chat()));
    format!(
        "hosts: {} · services: {}\n{} neither acknowledged nor in downtime; `problems unhandled` lists them{}",
        counts(&hosts),
        counts(&services),
        plural(unhandled, "problem"),
        timing.unwrap_or_default()
    )
}

fn host_with_services(host: &HostView, snapshot: &Snapshot, input: &Input<'_>) -> String {
    // A host not checked yet (just added, say) has no output to show.
    let output = Some(first_line(&host.output, 200)).filter(|line| !line.is_empty());
    let mut lines = vec![format!(
        "{} is {}{} (checked {}){}",
        host.name,
        shown_state(host.state, host.has_been_checked),
        output.map(|line| format!(" — {line}")).unwrap_or_default(),
        format_ago(input.now, host.last_check),
        flags(host.acknowledged, host.in_downtime, host.notifications_enabled)
    )];
    lines.extend(host_configuration(snapshot, &host.name));
    let services: Vec<&ServiceView> = snapshot.services_of(&host.name).collect();
    let limit = input.settings.max_list_lines;
    lines.extend(services.iter().take(limit).map(|service| {
        format!(
            "  {}: {} — {}{}",
            service.description,
            shown_state(service.state, service.has_been_checked),
            first_line(&service.output, 100),
            flags(service.acknowledged, service.in_downtime, service.notifications_enabled)
        )
    }));
    if services.len() > limit {
        lines.push(format!("  … and {} more", services.len() - limit));
    }
    lines.join("\n")
}

/// What the object configuration says about a host (objects.cache on Nagios, so templates
/// are applied): `address: … · host groups: … · parents: … · contacts: … · contact groups: …`,
/// for whichever are set.
fn host_configuration(snapshot: &Snapshot, host: &str) -> Option<String> {
    let object = snapshot.inventory.hosts.get(host)?;
    let fields = [
        ("address", std::slice::from_ref(&object.address)),
        ("host groups", object.hostgroups.as_slice()),
        ("parents", object.parents.as_slice()),
        ("contacts", object.contacts.as_slice()),
        ("contact groups", object.contact_groups.as_slice()),
    ];
    let shown: Vec<String> = fields
        .iter()
        .filter(|(_, values)| values.iter().any(|value| !value.is_empty()))
        .map(|(label, values)| format!("{label}: {}", values.join(", ")))
        .collect();
    (!shown.is_empty()).then(|| shown.join(" · "))
}

fn service_detail(service: &ServiceView, input: &Input<'_>) -> String {
    let yes_no = |set: bool| if set { "yes" } else { "no" };
    let object = ObjectRef::service(service.host.clone(), service.description.clone());
    format!(
        "{object} is {} (since {}) — {}\nacknowledged: {} · in downtime: {} · notifications: {} · last check: {}",
        shown_state(service.state, service.has_been_checked),
        format_ago(input.now, service.last_state_change),
        first_line(&service.output, 300),
        yes_no(service.acknowledged),
        yes_no(service.in_downtime),
        if service.notifications_enabled { "on" } else { "off" },
        format_ago(input.now, service.last_check)
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::{fixture, input_for, Chat, SITE};
    use hagios_domain::{ObjectRef, SiteSnapshots};

    #[test]
    fn overview_counts_states_and_is_open_to_everyone() {
        let sent = Chat::as_user("U404", "stranger").send("status");
        assert_eq!(
            sent.reply(),
            "hosts: 2 UP, 1 DOWN · services: 2 OK, 1 WARNING, 2 CRITICAL\n\
             2 problems neither acknowledged nor in downtime; `problems unhandled` lists them"
        );
        assert!(sent.audit().allowed);
        assert_eq!(sent.audit().result, "answered");
    }

    #[test]
    fn one_unhandled_problem_is_one_problem() {
        let mut snapshot = fixture();
        let http = snapshot.status.services.get_mut(&("web01".to_owned(), "HTTP".to_owned())).expect("in the fixture");
        http.acknowledged = true;
        let sites = SiteSnapshots::one(SITE, std::sync::Arc::new(snapshot));
        let overview = super::overview(&input_for(&sites, None));
        assert!(
            overview.ends_with("\n1 problem neither acknowledged nor in downtime; `problems unhandled` lists them"),
            "{overview}"
        );
    }

    #[test]
    fn a_host_and_its_services() {
        assert_eq!(
            Chat::alice().send("status web01").reply(),
            "web01 is UP — PING OK - 0.2 ms (checked 1m ago)\n\
             address: 10.0.0.1 · host groups: web-servers · parents: core-switch · contacts: alice · contact \
             groups: admins, oncall\n  \
             HTTP: CRITICAL — HTTP CRITICAL - 503 Service Unavailable\n  \
             HTTP Load: WARNING — WARNING - load 7.1\n  \
             SSH: OK — SSH OK - OpenSSH_9.2"
        );
        assert!(Chat::alice().send("status db01").reply().starts_with("db01 is DOWN — CRITICAL - Host Unreachable (10.0.0.3) (checked 1m ago) · in downtime\nhost groups: db-servers\n  MySQL: CRITICAL — CRITICAL - cannot connect · acknowledged · in downtime"));
    }

    #[test]
    fn a_host_without_state_yet_shows_its_configuration() {
        assert_eq!(Chat::alice().send("status db02").reply(), "db02 has no state yet (PENDING)\naddress: 10.0.0.4");
    }

    #[test]
    fn one_service_in_detail() {
        assert_eq!(
            Chat::alice().send(r#"status web02 HTTP"#).reply(),
            "web02!HTTP is OK (since 10m ago) — HTTP OK - 200\n\
             acknowledged: no · in downtime: no · notifications: off · last check: 2m ago"
        );
        assert!(Chat::alice().send(r#"status web01!"HTTP Load""#).reply().starts_with("web01!HTTP Load is WARNING"));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(Chat::alice().send("status web1").reply(), "unknown host `web1` — did you mean `web01`?");
        assert_eq!(
            Chat::alice().send("status web01 SHH").reply(),
            "unknown service `SHH` on web01 — did you mean `SSH`?"
        );
        assert!(Chat::alice().send("status web01 SSH now").reply().starts_with("unexpected `now` after the target;"));
        assert_eq!(
            Chat::alice().send("status web01 \"SHH\"").reply(),
            "unknown service `SHH` on web01 — did you mean `SSH`?"
        );
        // Without arguments the overview is shown, thread or not.
        let thread = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP"));
        assert!(thread.send("status").reply().starts_with("hosts:"));
    }
}
