//! The English of an alert group's message, which every platform's renderer shows: a summary
//! line, the site and counts, and the first open members.

use hagios_domain::{plural, GroupCard, Member, ObjectRef, State};
use std::collections::BTreeMap;

/// Open members listed on the group message itself; all of them are in the thread.
const MEMBERS_SHOWN: usize = 25;

/// "37 services on db01 CRITICAL", "db01 DOWN, 3 services on db01 CRITICAL", "db01 DOWN;
/// folded behind it: 20 services", …
pub fn summary(card: &GroupCard) -> String {
    let (open, folded): (Vec<&Member>, Vec<&Member>) =
        card.members.iter().filter(|member| member.open).partition(|member| member.folded_under.is_none());
    if open.is_empty() {
        return format!("all clear: {} recovered", plural(card.members.len(), "alert"));
    }
    let mut by_state: BTreeMap<(bool, u8, State), Vec<&ObjectRef>> = BTreeMap::new();
    for member in &open {
        by_state
            .entry((member.object.is_service(), severity(member.state), member.state))
            .or_default()
            .push(&member.object);
    }
    let parts: Vec<String> = by_state
        .into_iter()
        .map(|((is_service, _, state), objects)| {
            let mut hosts: Vec<&str> = objects.iter().map(|object| object.host.as_str()).collect();
            hosts.sort_unstable();
            hosts.dedup();
            match (is_service, objects.len(), hosts.as_slice()) {
                (false, 1, [host]) => format!("{host} {state}"),
                (false, count, _) => format!("{count} hosts {state}"),
                (true, count, [host]) => format!("{} on {host} {state}", plural(count, "service")),
                (true, count, hosts) => format!("{count} services on {} {state}", plural(hosts.len(), "host")),
            }
        })
        .collect();
    let mut summary = parts.join(", ");
    if !folded.is_empty() {
        let services = folded.iter().filter(|member| member.object.is_service()).count();
        let hosts = folded.len() - services;
        let counts: Vec<String> = [(hosts, "host"), (services, "service")]
            .into_iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, noun)| plural(count, noun))
            .collect();
        let behind = if open.len() == 1 { "it" } else { "them" };
        summary.push_str(&format!("; folded behind {behind}: {}", counts.join(", ")));
    }
    summary
}

/// The group message as text: summary, the open members (the first of them), where the rest are.
pub fn text(card: &GroupCard) -> String {
    let open: Vec<&Member> = card.members.iter().filter(|member| member.open).collect();
    let mut text = format!(
        "{}\nsite {} · {} in this group, {} open",
        summary(card),
        card.site,
        plural(card.members.len(), "alert"),
        open.len()
    );
    let shown: Vec<&Member> = open.iter().copied().filter(|member| member.folded_under.is_none()).collect();
    let behind = card.folded_behind();
    for member in shown.iter().take(MEMBERS_SHOWN) {
        text.push_str(&format!("\n• {} {}", member.object, member.state));
        match behind.get(member.object.host.as_str()) {
            Some(count) if !member.object.is_service() => {
                text.push_str(&format!(" (+{} folded behind it)", plural(*count, "alert")));
            }
            _ => {}
        }
    }
    if shown.len() > MEMBERS_SHOWN {
        text.push_str(&format!("\n… and {} more: every member is listed in the thread", shown.len() - MEMBERS_SHOWN));
    }
    text
}

fn severity(state: State) -> u8 {
    match state {
        State::Down | State::Critical => 0,
        State::Unreachable | State::Unknown => 1,
        State::Warning => 2,
        State::Pending | State::Up | State::Ok => 3,
    }
}
