//! `problems`: hosts and services that are not OK, worst first, optionally filtered.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use crate::text::{first_line, shown};
use hagios_domain::glob_match;
use hagios_domain::suggest::closest;
use hagios_domain::{ObjectRef, Snapshot, State};
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "problems",
    usage: "problems [FILTER…]",
    summary: "list hosts and services that are not OK, worst first",
    details: "FILTER may be a state (`critical`, `warning`, `unknown`, `down`, `unreachable`), `unhandled` \
              (neither acknowledged nor in downtime), `acked`, `hostgroup:NAME` or a host glob. Filters of the \
              same kind widen the list (`critical warning`); different kinds narrow it \
              (`critical hostgroup:db-servers`).\n\
              Examples:\n\
              • `problems`\n\
              • `problems critical unhandled`\n\
              • `problems web*`\n\
              • `problems hostgroup:db-servers`",
    permission: None,
    needs_state: true,
    routes: &[r"^problems(?:\s+(?P<filter>.*))?$"],
    parse,
};

/// What the filter words asked for; an empty list matches everything.
#[derive(Debug, Default)]
struct Filter {
    states: Vec<State>,
    host_globs: Vec<String>,
    hostgroup_globs: Vec<String>,
    /// `Some(false)`: unhandled only; `Some(true)`: acknowledged only.
    acknowledged: Option<bool>,
}

/// One line of the answer.
struct Problem<'a> {
    /// The site's state the object is in: its host groups are that site's.
    site: &'a str,
    snapshot: &'a Snapshot,
    object: ObjectRef,
    state: State,
    output: &'a str,
    acknowledged: bool,
    in_downtime: bool,
}

impl Filter {
    fn parse(words: &Words<'_>, input: &Input<'_>) -> Result<Self, ParseError> {
        let mut filter = Filter::default();
        for word in &words.list {
            let text = word.text.as_str();
            match text.to_ascii_lowercase().as_str() {
                "unhandled" | "unacked" => filter.acknowledged = Some(false),
                "acked" | "acknowledged" => filter.acknowledged = Some(true),
                lowered => {
                    if let Some(group) = text.strip_prefix("hostgroup:") {
                        check_hostgroup(group, input)?;
                        filter.hostgroup_globs.push(group.to_owned());
                    } else if let Some(state) = State::parse(lowered) {
                        if !state.is_problem() {
                            return Err(input.usage(format!(
                                "`{}` is not a problem state; try critical, warning, unknown, down or unreachable",
                                shown(text)
                            )));
                        }
                        filter.states.push(state);
                    } else if is_glob(text) || input.snapshot.has_host(text) {
                        filter.host_globs.push(text.to_owned());
                    } else {
                        return Err(input.unknown_host(text));
                    }
                }
            }
        }
        Ok(filter)
    }

    fn matches(&self, problem: &Problem<'_>) -> bool {
        let host = problem.object.host.as_str();
        let handled = problem.acknowledged || problem.in_downtime;
        (self.states.is_empty() || self.states.contains(&problem.state))
            && (self.host_globs.is_empty() || self.host_globs.iter().any(|glob| glob_match(glob, host)))
            && (self.hostgroup_globs.is_empty()
                || problem
                    .snapshot
                    .hostgroups_of(host)
                    .iter()
                    .any(|g| self.hostgroup_globs.iter().any(|p| glob_match(p, g))))
            && match self.acknowledged {
                Some(true) => problem.acknowledged,
                Some(false) => !handled,
                None => true,
            }
    }
}

fn is_glob(text: &str) -> bool {
    text.contains(['*', '?'])
}

fn check_hostgroup(group: &str, input: &Input<'_>) -> Result<(), ParseError> {
    let groups = &input.snapshot.inventory.hostgroups;
    if is_glob(group) || groups.contains_key(group) {
        return Ok(());
    }
    let hint = match closest(group, groups.keys().map(String::as_str)) {
        Some(known) => format!(" — did you mean `hostgroup:{known}`?"),
        None => String::new(),
    };
    Err(ParseError::Invalid(format!("unknown host group `{}`{hint}", shown(group))))
}

/// Worst first: hosts that are down hide everything on them.
fn severity(state: State) -> u8 {
    match state {
        State::Down => 0,
        State::Unreachable => 1,
        State::Critical => 2,
        State::Unknown => 3,
        State::Warning => 4,
        State::Ok | State::Up | State::Pending => 5,
    }
}

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("filter").map_or("", |m| m.as_str()));
    let filter = Filter::parse(&words, input)?;
    // Each site's own objects: a host name at two sites is two hosts with two states.
    let mut problems: Vec<Problem<'_>> = Vec::new();
    for (site, snapshot) in input.sites.answering() {
        let status = &snapshot.status;
        let hosts = status.hosts.values().filter(|h| h.has_been_checked).map(|h| Problem {
            site,
            snapshot,
            object: ObjectRef::host(h.name.clone()),
            state: h.state,
            output: &h.output,
            acknowledged: h.acknowledged,
            in_downtime: h.in_downtime,
        });
        let services = status.services.values().filter(|s| s.has_been_checked).map(|s| Problem {
            site,
            snapshot,
            object: ObjectRef::service(s.host.clone(), s.description.clone()),
            state: s.state,
            output: &s.output,
            acknowledged: s.acknowledged,
            in_downtime: s.in_downtime,
        });
        problems.extend(hosts.chain(services).filter(|p| p.state.is_problem() && filter.matches(p)));
    }
    problems.sort_by(|a, b| {
        let key = |p: &Problem<'_>| (severity(p.state), p.acknowledged || p.in_downtime);
        key(a).cmp(&key(b)).then_with(|| (&a.object, a.site).cmp(&(&b.object, b.site)))
    });
    // Sites that did not answer are said, not silently left out.
    let silent: Vec<String> =
        input.sites.silent().iter().map(|(site, why)| format!("site {site} did not answer ({why})")).collect();
    let silent = if silent.is_empty() { String::new() } else { format!("\n({})", silent.join("; ")) };
    let filter_text = words.text_from(0).unwrap_or_default();
    let query = format!("problems {filter_text}").trim_end().to_owned();
    if problems.is_empty() {
        let text = if words.is_empty() {
            "no problems".to_owned()
        } else {
            format!("no problems match `{}`", shown(&filter_text))
        };
        return Ok(Parsed::Answer { query, text: text + &silent });
    }
    let limit = input.settings.max_list_lines;
    let mut lines: Vec<String> = problems
        .iter()
        .take(limit)
        .map(|p| {
            let object = input.with_site(p.site, p.object.to_string());
            let mut line = format!("{} {object} — {}", p.state, first_line(p.output, 100));
            if p.acknowledged {
                line.push_str(" · acknowledged");
            }
            if p.in_downtime {
                line.push_str(" · in downtime");
            }
            line
        })
        .collect();
    if problems.len() > limit {
        lines.push(format!("… and {} more; narrow it, e.g. `problems critical unhandled`", problems.len() - limit));
    }
    Ok(Parsed::Answer { query, text: lines.join("\n") + &silent })
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;

    #[test]
    fn worst_first_and_unhandled_before_handled() {
        let sent = Chat::as_user("U404", "stranger").send("problems");
        assert_eq!(
            sent.reply(),
            "DOWN db01 — CRITICAL - Host Unreachable (10.0.0.3) · in downtime\n\
             CRITICAL web01!HTTP — HTTP CRITICAL - 503 Service Unavailable\n\
             CRITICAL db01!MySQL — CRITICAL - cannot connect · acknowledged · in downtime\n\
             WARNING web01!HTTP Load — WARNING - load 7.1"
        );
        assert_eq!(sent.audit().parsed.as_deref(), Some("problems"));
    }

    #[test]
    fn filters() {
        let lines = |text: &str| Chat::alice().send(text).dispatch.reply.lines().count();
        assert_eq!(lines("problems critical"), 2);
        assert_eq!(lines("problems CRITICAL warning"), 3);
        assert_eq!(lines("problems unhandled"), 2);
        assert_eq!(lines("problems acked"), 1);
        assert_eq!(lines("problems web*"), 2);
        assert_eq!(lines("problems db01 critical"), 1);
        assert_eq!(lines("problems hostgroup:db-servers"), 2);
        assert_eq!(lines("problems hostgroup:*web*"), 2);
        assert_eq!(Chat::alice().send("problems web02").reply(), "no problems match `web02`");
    }

    #[test]
    fn bad_filters_are_explained() {
        assert!(Chat::alice().send("problems ok").reply().starts_with("`ok` is not a problem state"));
        assert_eq!(Chat::alice().send("problems web1").reply(), "unknown host `web1` — did you mean `web01`?");
        assert_eq!(
            Chat::alice().send("problems hostgroup:db-server").reply(),
            "unknown host group `db-server` — did you mean `hostgroup:db-servers`?"
        );
    }
}
