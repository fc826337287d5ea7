//! `downtimes`: list scheduled downtimes with the ids (and Icinga names) `downtime cancel` takes.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use crate::clock::{format_length, format_local};
use crate::text::{first_line, shown};
use hagios_domain::glob_match;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "downtimes",
    usage: "downtimes [HOST-GLOB]",
    summary: "list scheduled downtimes and their ids",
    details: "Lists every downtime, or those of hosts matching a glob, in order of start.\n\
              Examples:\n\
              • `downtimes`\n\
              • `downtimes web*`",
    permission: None,
    needs_state: true,
    routes: &[r"^downtimes(?:\s+(?P<filter>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("filter").map_or("", |m| m.as_str()));
    let glob = match words.list.as_slice() {
        [] => "*",
        [glob] if glob.text.contains(['*', '?']) || input.snapshot.has_host(&glob.text) => &glob.text,
        [host] => return Err(input.unknown_host(&host.text)),
        [_, extra, ..] => return Err(input.usage(format!("unexpected `{}`", shown(&extra.text)))),
    };
    // With several sites each id shows with its site (`east:#12`): Nagios numbers from 1 everywhere.
    let mut downtimes = input.sites.downtimes(|downtime| glob_match(glob, &downtime.object.host));
    downtimes.sort_by_key(|(site, downtime)| (downtime.start, downtime.id, *site));
    let zone = &input.settings.timezone;
    let mut lines: Vec<String> = downtimes
        .iter()
        .take(input.settings.max_list_lines)
        .map(|(site, downtime)| {
            let kind = if downtime.fixed {
                "fixed".to_owned()
            } else {
                format!("flexible {}", format_length(downtime.duration))
            };
            // Icinga's name (`host!service!uuid`) already starts with the object, so it replaces it.
            let named = downtime.name.as_ref().map_or_else(|| downtime.object.to_string(), Clone::clone);
            format!(
                "{} {named} · {} → {} · {kind} · {}: {}",
                input.with_site(site, format!("#{}", downtime.id)),
                format_local(downtime.start, zone),
                format_local(downtime.end, zone),
                downtime.author,
                first_line(&downtime.comment, 100)
            )
        })
        .collect();
    let query = format!("downtimes {glob}");
    if lines.is_empty() {
        let text = if glob == "*" { "no downtimes scheduled".to_owned() } else { format!("no downtimes on {glob}") };
        return Ok(Parsed::Answer { query, text });
    }
    let more = downtimes.len().saturating_sub(lines.len());
    if more > 0 {
        lines.push(format!("… and {more} more; narrow it with `downtimes HOST-GLOB`"));
    }
    let id = if input.sites.spans_sites() { "SITE:ID" } else { "ID" };
    let by = if downtimes.iter().any(|(_, downtime)| downtime.name.is_some()) {
        format!("{id}` or `downtime cancel NAME")
    } else {
        id.to_owned()
    };
    lines.push(format!("cancel one with `downtime cancel {by}`"));
    Ok(Parsed::Answer { query, text: lines.join("\n") })
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;

    #[test]
    fn lists_downtimes_in_order_of_start_then_id() {
        let sent = Chat::as_user("U9", "anyone").send("downtimes");
        assert_eq!(
            sent.reply(),
            "#7 db01 · 2024-05-01 13:00 → 2024-05-01 15:00 · fixed · bob: rack move\n\
             #8 db01!MySQL!5d2e0c1a-9f3b-4e7a-8c61-2b7d4f0e9a13 · 2024-05-01 13:00 → 2024-05-01 15:00 · fixed · \
             bob: migration\n\
             cancel one with `downtime cancel ID` or `downtime cancel NAME`"
        );
        assert!(sent.audit().allowed);
        assert_eq!(sent.audit().parsed.as_deref(), Some("downtimes *"));
    }

    #[test]
    fn filters_by_host() {
        assert_eq!(Chat::alice().send("downtimes web*").reply(), "no downtimes on web*");
        assert!(Chat::alice().send("downtimes db01").reply().starts_with("#7 db01"));
        assert_eq!(Chat::alice().send("downtimes db1").reply(), "unknown host `db1` — did you mean `db01`?");
    }
}
