//! `downtime`: schedule a downtime for a host, a service, or a host and all its services.

use super::{Command, Input, ParseError, Parsed};
use crate::args::{Shape, Target, Word, Words};
use crate::clock::{format_length, format_local, next_wall_clock};
use crate::text::shown;
use hagios_domain::{Action, DowntimeSpan, DowntimeTarget, ObjectRef};
use regex::Captures;

/// Longer downtimes are almost always a typo (`20d` for `2d`); a year is plenty for real ones.
const LONGEST_SECONDS: u64 = 366 * 86_400;

pub(crate) static COMMAND: Command = Command {
    name: "downtime",
    usage: "downtime HOST [SERVICE|*] DURATION|until HH:MM [flexible] [COMMENT…]",
    summary: "schedule a downtime (no notifications while it runs)",
    details: "DURATION is like `2h`, `90m`, `1d` or `2h30m`; `until 18:00` ends at the next 18:00 local time \
              (today if still ahead, else tomorrow). `*` (or `HOST!*`) covers the host and all its services. \
              A downtime is fixed (starts now) unless `flexible` follows the duration: then it starts with the \
              first problem before the end and lasts the duration. In an alert's thread HOST and SERVICE may be \
              left out. `downtimes` lists downtimes, `downtime cancel ID` cancels one.\n\
              Examples:\n\
              • `downtime web01 2h kernel update`\n\
              • `downtime web01 \"HTTP Load\" until 18:00 batch import`\n\
              • `downtime web01 * 90m flexible reboot window`\n\
              • `downtime 1h` (in an alert's thread)",
    permission: Some("downtime"),
    needs_state: true,
    routes: &[r"^downtime(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("rest").map_or("", |m| m.as_str()));
    if input.incident.is_none() && words.list.first().is_some_and(starts_span) {
        return Err(input.usage("name a host before the duration (or type the command in an alert's thread)".into()));
    }
    let resolved = input.resolve(&words, Shape { all_services: true, trailing: true })?;
    let (span, next) = span_at(&words, resolved.next, input).map_err(|problem| match words.list.first() {
        Some(first) if resolved.from_thread => ParseError::Invalid(format!(
            "`{}` is neither a host nor a duration like `2h` or `until 18:00`{}",
            shown(&first.text),
            input.host_suggestion(&first.text).map(|host| format!(" — did you mean `{host}`?")).unwrap_or_default()
        )),
        _ => input.usage(problem),
    })?;
    let comment = words.text_from(next).unwrap_or_else(|| format!("downtime from chat by {}", input.user));
    let at = resolved.at();
    let (target, covered) = match resolved.target {
        Target::HostAndServices(host) => {
            let covered = format!("{host} and all its services");
            (DowntimeTarget::HostAndServices(host), covered)
        }
        Target::Object(ObjectRef { host, service: Some(service) }) => {
            let covered = format!("{host}!{service}");
            (DowntimeTarget::Service { host, service }, covered)
        }
        Target::Object(ObjectRef { host, service: None }) => (DowntimeTarget::Host(host.clone()), host),
    };
    let covered = input.with_site(&at.site, covered);
    let (end, length) = (format_local(span.end, &input.settings.timezone), format_length(span.duration));
    let done = if span.fixed {
        format!("scheduled downtime for {covered} from now until {end} ({length})")
    } else {
        format!("scheduled a flexible downtime for {covered}: {length} from its first problem before {end}")
    };
    let action = Action::ScheduleDowntime { target, span, comment };
    Ok(Parsed::Act(input.worded_act(at, action, format!("schedule downtime for {covered}"), done)))
}

/// Whether `word` starts a DURATION or `until HH:MM`.
fn starts_span(word: &Word) -> bool {
    !word.quoted && (word.text.eq_ignore_ascii_case("until") || duration_seconds(&word.text).is_some())
}

/// `DURATION|until HH:MM [flexible|fixed]` at word `index`, and the index after it. The error is the
/// problem, for a usage message.
fn span_at(words: &Words<'_>, index: usize, input: &Input<'_>) -> Result<(DowntimeSpan, usize), String> {
    let expected = "a duration like `2h`, `90m`, `2h30m` or `until 18:00`";
    let Some(word) = words.list.get(index) else {
        return Err(format!("say how long: {expected}"));
    };
    let (end, mut next) = if !word.quoted && word.text.eq_ignore_ascii_case("until") {
        let clock = words.list.get(index + 1).map(|w| w.text.as_str()).unwrap_or("");
        let (hour, minute) =
            wall_clock(clock).ok_or_else(|| format!("`until` needs a time like 18:00, not `{}`", shown(clock)))?;
        (next_wall_clock(input.now, &input.settings.timezone, hour, minute), index + 2)
    } else {
        let seconds = match duration_seconds(&word.text) {
            Some(seconds) if !word.quoted => seconds?,
            _ => return Err(format!("`{}` is not {expected}", shown(&word.text))),
        };
        (input.now.saturating_add(seconds), index + 1)
    };
    let modifier = words.list.get(next).filter(|w| !w.quoted).map(|w| w.text.to_ascii_lowercase());
    let fixed = match modifier.as_deref() {
        Some("flexible") => {
            next += 1;
            false
        }
        Some("fixed") => {
            next += 1;
            true
        }
        _ => true,
    };
    Ok((DowntimeSpan { start: input.now, end, fixed, duration: end - input.now }, next))
}

/// Seconds of a duration word: `None` when it is not one, an error when it is unusable.
fn duration_seconds(text: &str) -> Option<Result<i64, String>> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let duration = humantime::parse_duration(text).ok()?;
    Some(match duration.as_secs() {
        0 => Err(format!("`{}` is too short for a downtime", shown(text))),
        seconds if seconds > LONGEST_SECONDS => {
            Err(format!("`{}` is longer than a year; schedule at most `366d`", shown(text)))
        }
        seconds => i64::try_from(seconds).map_err(|_| format!("`{}` is too long", shown(text))),
    })
}

/// `18:00` or `9:30` → (hour, minute).
fn wall_clock(text: &str) -> Option<(u32, u32)> {
    let (hour, minute) = text.split_once(':')?;
    let digits = |part: &str, len: std::ops::RangeInclusive<usize>| {
        (len.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())).then(|| part.parse::<u32>().ok())?
    };
    let (hour, minute) = (digits(hour, 1..=2)?, digits(minute, 2..=2)?);
    (hour < 24 && minute < 60).then_some((hour, minute))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Chat, NOW};

    fn scheduled(chat: &Chat, text: &str) -> (DowntimeTarget, DowntimeSpan, String) {
        match chat.send(text).action() {
            Action::ScheduleDowntime { target, span, comment } => (target.clone(), *span, comment.clone()),
            other => panic!("unexpected action {other:?}"),
        }
    }

    fn fixed(seconds: i64) -> DowntimeSpan {
        DowntimeSpan { start: NOW, end: NOW + seconds, fixed: true, duration: seconds }
    }

    #[test]
    fn durations() {
        let chat = Chat::alice();
        let web01 = DowntimeTarget::Host("web01".into());
        assert_eq!(
            scheduled(&chat, "downtime web01 2h kernel update"),
            (web01.clone(), fixed(7200), "kernel update".into())
        );
        assert_eq!(scheduled(&chat, "downtime web01 90m").1, fixed(5400));
        assert_eq!(scheduled(&chat, "downtime web01 1d").1, fixed(86_400));
        assert_eq!(scheduled(&chat, "downtime web01 2h30m").1, fixed(9000));
        assert_eq!(scheduled(&chat, "downtime web01 2h").2, "downtime from chat by alice");
    }

    #[test]
    fn until_a_wall_clock_time() {
        // NOW is 14:00 UTC: 18:00 is four hours ahead, 09:30 is tomorrow.
        let chat = Chat::alice();
        assert_eq!(scheduled(&chat, "downtime web01 until 18:00").1, fixed(4 * 3600));
        assert_eq!(scheduled(&chat, "downtime web01 UNTIL 9:30 night batch").1, fixed(19 * 3600 + 1800));
        for bad in ["until 25:00", "until 18", "until 18:5", "until", "until noon"] {
            let reply = chat.send(&format!("downtime web01 {bad}")).dispatch.reply;
            assert!(reply.starts_with("`until` needs a time like 18:00"), "{bad}: {reply}");
        }
    }

    #[test]
    fn flexible_and_fixed() {
        let (_, span, comment) = scheduled(&Chat::alice(), "downtime web01 90m flexible reboot window");
        assert_eq!(span, DowntimeSpan { start: NOW, end: NOW + 5400, fixed: false, duration: 5400 });
        assert_eq!(comment, "reboot window");
        assert_eq!(scheduled(&Chat::alice(), "downtime web01 1h fixed").1, fixed(3600));
        let sent = Chat::alice().send("downtime web01 90m flexible");
        assert!(sent
            .reply()
            .starts_with("scheduled a flexible downtime for web01: 1h 30m from its first problem before"));
    }

    #[test]
    fn services_and_all_services() {
        let chat = Chat::alice();
        let load = DowntimeTarget::Service { host: "web01".into(), service: "HTTP Load".into() };
        assert_eq!(scheduled(&chat, r#"downtime web01 "HTTP Load" 2h"#).0, load);
        assert_eq!(
            scheduled(&chat, "downtime web01 HTTP 2h").0,
            DowntimeTarget::Service { host: "web01".into(), service: "HTTP".into() }
        );
        let all = DowntimeTarget::HostAndServices("web01".into());
        assert_eq!(scheduled(&chat, "downtime web01 * 2h").0, all);
        assert_eq!(scheduled(&chat, "downtime web01!* 2h").0, all);
        assert_eq!(
            chat.send("downtime web01 * 2h").reply(),
            "scheduled downtime for web01 and all its services from now until 2024-05-01 16:00 (2h) — confirmed by \
             Nagios (seen in status.dat)"
        );
    }

    #[test]
    fn in_a_thread() {
        let chat = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP"));
        let http = DowntimeTarget::Service { host: "web01".into(), service: "HTTP".into() };
        assert_eq!(scheduled(&chat, "downtime 2h deploying"), (http, fixed(7200), "deploying".into()));
        assert_eq!(scheduled(&chat, "downtime db01 1h").0, DowntimeTarget::Host("db01".into()));
        assert_eq!(
            chat.send("downtime web1 2h").reply(),
            "`web1` is neither a host nor a duration like `2h` or `until 18:00` — did you mean `web01`?"
        );
    }

    #[test]
    fn bad_durations_say_what_is_expected() {
        let chat = Chat::alice();
        let usage = "usage: `downtime HOST [SERVICE|*] DURATION|until HH:MM [flexible] [COMMENT…]`";
        let reply = chat.send("downtime web01 soon").dispatch.reply;
        assert!(reply.starts_with("`soon` is not a duration like `2h`, `90m`, `2h30m` or `until 18:00`; "), "{reply}");
        assert!(reply.contains(usage), "{reply}");
        assert!(chat.send("downtime web01").reply().starts_with("say how long:"));
        assert!(chat.send("downtime web01 400d").reply().starts_with("`400d` is longer than a year"));
        assert!(chat
            .send("downtime web01 99999999999999999999d")
            .reply()
            .starts_with("`99999999999999999999d` is not"));
        assert!(chat.send("downtime web01 0s").reply().starts_with("`0s` is too short"));
        assert!(chat.send("downtime 2h").reply().starts_with("name a host before the duration"));
        assert!(chat.send(r#"downtime web01 "2h""#).reply().starts_with("unknown service `2h` on web01"));
    }

    #[test]
    fn the_role_must_cover_the_host() {
        let sent = Chat::as_user("U2", "bob").send("downtime web01 * 2h");
        assert!(sent.reply().starts_with("refused: bob may not `downtime` (no role grants downtime; yours: web)"));
        assert!(sent.executed.is_empty());
        let sent = Chat::as_user("U5", "erin").send("downtime db01 2h");
        assert!(sent.reply().starts_with("refused: erin may not `downtime` db01 (no role grants downtime on it"));
        assert!(sent.executed.is_empty());
    }

    #[test]
    fn wall_clock_words() {
        assert_eq!(wall_clock("18:00"), Some((18, 0)));
        assert_eq!(wall_clock("9:05"), Some((9, 5)));
        for bad in ["24:00", "18:60", "1800", ":30", "18:", "+1:30", "18:00:00", "１８:00"] {
            assert_eq!(wall_clock(bad), None, "{bad}");
        }
    }
}
