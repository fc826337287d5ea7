//! `snooze`, `unsnooze`, `snoozes`: hold an object's chat notifications in hagios for a while,
//! end that early, list what is held. The monitoring system is not told (that is `mute`).

use super::{Command, Input, ParseError, Parsed};
use crate::args::{Shape, Words};
use crate::clock::{format_ago, format_length, format_local};
use crate::router::Settings;
use crate::text::shown;
use async_trait::async_trait;
use hagios_domain::{ObjectRef, Snooze};
use regex::Captures;

/// The longest snooze: longer silences belong in a downtime, which Nagios and its reports see.
const LONGEST_SECONDS: u64 = 7 * 86_400;

const PERMISSION: Option<&str> = Some("snooze");

pub(crate) static COMMAND: Command = Command {
    name: "snooze",
    usage: "snooze HOST [SERVICE] DURATION",
    summary: "hold chat notifications for a while, in hagios only (Nagios still notifies others)",
    details: "hagios keeps the notifications it receives for the object and posts them when the snooze ends, \
              if they still matter: a problem that recovered during the snooze is dropped with its recovery. \
              A host snooze covers its services too. Nagios is not told: e-mail and pager contacts are still \
              notified and nothing shows in Nagios — to turn Nagios' notifications off use `mute`, for planned \
              work use `downtime`. Snoozing again changes the end. At most 7d.\n\
              Examples:\n\
              • `snooze web01 HTTP 2h`\n\
              • `snooze db01 30m` (db01 and its services)\n\
              • `snooze 1h` (in an alert's thread)",
    permission: PERMISSION,
    needs_state: true,
    routes: &[r"^snooze(?:\s+(?P<rest>.*))?$"],
    parse: parse_snooze,
};

pub(crate) static UNSNOOZE: Command = Command {
    name: "unsnooze",
    usage: "unsnooze HOST [SERVICE]",
    summary: "end a snooze now: what it held is posted if it still matters",
    details: "Needs the same target the snooze was given.\n\
              Examples:\n\
              • `unsnooze web01 HTTP`\n\
              • `unsnooze` (in an alert's thread)",
    permission: PERMISSION,
    needs_state: true,
    routes: &[r"^unsnooze(?:\s+(?P<rest>.*))?$"],
    parse: parse_unsnooze,
};

pub(crate) static SNOOZES: Command = Command {
    name: "snoozes",
    usage: "snoozes",
    summary: "list running snoozes",
    details: "Shows who snoozed what and until when. `[[mute]]` windows from the configuration are not listed.\n\
              Example: `snoozes`",
    permission: None,
    needs_state: false,
    routes: &[r"^snoozes(?:\s+(?P<rest>.*))?$"],
    parse: parse_list,
};

/// What a snooze command asks of the snooze book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SnoozeRequest {
    Start { object: ObjectRef, until: i64 },
    End { object: ObjectRef },
    List,
}

impl SnoozeRequest {
    /// The object authorization is checked on; listing needs none.
    pub fn object(&self) -> Option<&ObjectRef> {
        match self {
            SnoozeRequest::Start { object, .. } | SnoozeRequest::End { object } => Some(object),
            SnoozeRequest::List => None,
        }
    }

    /// The canonical form for the audit log.
    pub fn canonical(&self) -> String {
        match self {
            SnoozeRequest::Start { object, until } => format!("snooze {object} until {until}"),
            SnoozeRequest::End { object } => format!("unsnooze {object}"),
            SnoozeRequest::List => "snoozes".to_owned(),
        }
    }
}

/// Why the snooze book could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SnoozeBookError(pub String);

/// Where snoozes are kept so that they survive restarts: the bot's store.
#[async_trait]
pub trait SnoozeBook: Send + Sync {
    /// Starts `snooze`, or moves the end of the running one of the same object; returns it as kept.
    async fn put(&self, snooze: Snooze, now: i64) -> Result<Snooze, SnoozeBookError>;
    /// Ends the running snooze of `object` at `now`; false when none was running.
    async fn end(&self, object: &ObjectRef, now: i64) -> Result<bool, SnoozeBookError>;
    /// Every snooze kept, ended ones included.
    async fn all(&self) -> Result<Vec<Snooze>, SnoozeBookError>;
}

fn rest<'c>(captures: &Captures<'c>) -> Words<'c> {
    Words::new(captures.name("rest").map_or("", |m| m.as_str()))
}

fn parse_snooze(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = rest(captures);
    let resolved = input.resolve(&words, Shape { all_services: false, trailing: true })?;
    let Some(word) = words.list.get(resolved.next) else {
        return Err(input.usage("say for how long, like `2h` or `30m`".to_owned()));
    };
    let seconds = match humantime::parse_duration(&word.text) {
        Ok(duration) if !word.quoted && word.text.starts_with(|c: char| c.is_ascii_digit()) => duration.as_secs(),
        _ => return Err(input.usage(format!("`{}` is not a duration like `2h` or `30m`", shown(&word.text)))),
    };
    if seconds == 0 || seconds > LONGEST_SECONDS {
        return Err(ParseError::Invalid(format!(
            "a snooze lasts from 1s to 7d, not `{}`; for longer planned work use `downtime`",
            shown(&word.text)
        )));
    }
    if let Some(extra) = words.list.get(resolved.next + 1) {
        return Err(input.usage(format!("unexpected `{}` after the duration", shown(&extra.text))));
    }
    let until = input.now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
    Ok(Parsed::Snooze(SnoozeRequest::Start { object: resolved.object(), until }))
}

fn parse_unsnooze(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let object = input.sole_object(&rest(captures))?;
    Ok(Parsed::Snooze(SnoozeRequest::End { object: object.object }))
}

fn parse_list(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    match rest(captures).list.first() {
        None => Ok(Parsed::Snooze(SnoozeRequest::List)),
        Some(extra) => Err(input.usage(format!("`snoozes` takes nothing, not `{}`", shown(&extra.text)))),
    }
}

/// Carries out an authorized request; the reply and the audit result. `system` is how the reply
/// names the monitoring system, which a snooze leaves alone.
pub(crate) async fn run(
    book: &dyn SnoozeBook,
    request: SnoozeRequest,
    author: &str,
    now: i64,
    settings: &Settings,
    system: &str,
) -> Result<String, SnoozeBookError> {
    let zone = &settings.timezone;
    match request {
        SnoozeRequest::Start { object, until } => {
            let kept = book.put(Snooze { object, since: now, until, author: author.to_owned() }, now).await?;
            let covers = if kept.object.is_service() { "" } else { " and its services" };
            Ok(format!(
                "snoozed {}{covers} until {} ({}): hagios holds their chat notifications until then and posts \
                 those that still matter; {} is not told and still notifies its other contacts (`mute` stops that)",
                kept.object,
                format_local(kept.until, zone),
                format_length(kept.until - now),
                system,
            ))
        }
        SnoozeRequest::End { object } => Ok(if book.end(&object, now).await? {
            format!("unsnoozed {object}: what the snooze held is posted now if it still matters")
        } else {
            format!("{object} is not snoozed; `snoozes` lists what is")
        }),
        SnoozeRequest::List => {
            let mut running: Vec<Snooze> = book.all().await?.into_iter().filter(|snooze| snooze.active(now)).collect();
            running.sort_by_key(|snooze| snooze.until);
            if running.is_empty() {
                return Ok("nothing is snoozed".to_owned());
            }
            let mut lines = vec![format!("{} snoozed:", running.len())];
            lines.extend(running.iter().take(settings.max_list_lines).map(|snooze| {
                format!(
                    "• {} until {} ({}) · by {} since {}",
                    snooze.object,
                    format_local(snooze.until, zone),
                    format_ago(now, snooze.until),
                    shown(&snooze.author),
                    format_local(snooze.since, zone),
                )
            }));
            if running.len() > settings.max_list_lines {
                lines.push(format!("… and {} more", running.len() - settings.max_list_lines));
            }
            Ok(lines.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Chat, MemoryBook, NOW};

    #[test]
    fn snooze_list_and_unsnooze_go_through_the_book_and_the_audit() {
        let chat = Chat::alice();
        let router = chat.router_with_book(MemoryBook::default());
        let sent = chat.send_to(&router, "snooze web01 HTTP 2h");
        assert_eq!(
            sent.reply(),
            "snoozed web01!HTTP until 2024-05-01 16:00 (2h): hagios holds their chat notifications until then and \
             posts those that still matter; Nagios is not told and still notifies its other contacts (`mute` stops that)"
        );
        assert!(sent.executed.is_empty(), "Nagios is not touched");
        assert_eq!(sent.audit().parsed.as_deref(), Some(format!("snooze web01!HTTP until {}", NOW + 7200).as_str()));
        assert!(sent.audit().allowed);
        assert!(sent.audit().result.starts_with("snoozed web01!HTTP until"));

        assert!(chat.send_to(&router, "snooze db01 30m").reply().starts_with("snoozed db01 and its services until"));
        let list = chat.send_to(&router, "snoozes");
        assert_eq!(
            list.reply(),
            "2 snoozed:\n• db01 until 2024-05-01 14:30 (in 30m) · by alice since 2024-05-01 14:00\n\
             • web01!HTTP until 2024-05-01 16:00 (in 2h) · by alice since 2024-05-01 14:00"
        );
        assert_eq!(
            chat.send_to(&router, "unsnooze db01").reply(),
            "unsnoozed db01: what the snooze held is posted now if it still matters"
        );
        assert_eq!(chat.send_to(&router, "unsnooze db01").reply(), "db01 is not snoozed; `snoozes` lists what is");
        assert!(chat.send_to(&router, "snoozes").reply().starts_with("1 snoozed:\n• web01!HTTP"));
        assert!(chat.send_to(&router, "snoozes web01").reply().starts_with("`snoozes` takes nothing, not `web01`"));
    }

    #[test]
    fn snooze_in_a_thread_takes_the_incident() {
        let chat = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP"));
        let router = chat.router_with_book(MemoryBook::default());
        assert!(chat.send_to(&router, "snooze 45m").reply().starts_with("snoozed web01!HTTP until 2024-05-01 14:45"));
    }

    #[test]
    fn bad_durations_and_targets_are_refused_with_the_fix() {
        let chat = Chat::alice();
        let router = chat.router_with_book(MemoryBook::default());
        let reply = |text: &str| chat.send_to(&router, text).reply().to_owned();
        assert_eq!(reply("snooze web01"), "say for how long, like `2h` or `30m`; usage: `snooze HOST [SERVICE] DURATION` (`help snooze` has examples)");
        assert!(reply("snooze web01 HTTP soon").starts_with("`soon` is not a duration"));
        assert!(reply("snooze web01 8d").starts_with("a snooze lasts from 1s to 7d, not `8d`"));
        assert!(reply("snooze web01 1h extra").starts_with("unexpected `extra` after the duration"));
        assert_eq!(reply("snooze web1 1h"), "unknown host `web1` — did you mean `web01`?");
    }

    #[test]
    fn snoozing_needs_the_snooze_permission_listing_does_not() {
        let bob = Chat::as_user("U2", "bob");
        let router = bob.router_with_book(MemoryBook::default());
        let sent = bob.send_to(&router, "snooze web01 HTTP 1h");
        assert!(
            sent.reply().starts_with("refused: bob may not `snooze` (no role grants snooze; yours: web)"),
            "{}",
            sent.reply()
        );
        assert!(!sent.audit().allowed);
        assert_eq!(bob.send_to(&router, "snoozes").reply(), "nothing is snoozed");
    }

    #[test]
    fn without_a_book_snoozing_says_why_not() {
        let sent = Chat::alice().send("snooze web01 1h");
        assert_eq!(sent.reply(), "could not snooze web01: this hagios keeps no snoozes (no store); ask an admin");
    }
}
