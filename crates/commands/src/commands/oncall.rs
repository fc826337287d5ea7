//! `oncall`, `oncall take`, `oncall give`: who is on call in a schedule (now, next, and when the
//! handoff is), and overrides of that from chat. Overrides are kept in hagios' store, take
//! effect at once and are audited; the schedules themselves are `[[oncall]]` in the
//! configuration (docs/oncall.md).

use super::{Command, Input, ParseError, Parsed};
use crate::args::{Word, Words};
use crate::clock::{next_wall_clock, wall_clock};
use crate::desk::DeskRequest;
use crate::text::shown;
use regex::Captures;

/// The longest override: longer changes belong in the schedule.
const LONGEST_SECONDS: i64 = 31 * 86_400;

const PERMISSION: Option<&str> = Some("oncall");

pub(crate) static COMMAND: Command = Command {
    name: "oncall",
    usage: "oncall [SCHEDULE]",
    summary: "who is on call now, who is next, and when the handoff is",
    details: "Without a schedule, every schedule. Overrides typed with `oncall take` and `oncall give` are shown.\n\
              Examples:\n\
              • `oncall`\n\
              • `oncall db-team`",
    permission: None,
    needs_state: false,
    routes: &[r"^oncall(?:\s+(?P<schedule>\S+))?\s*$"],
    parse: parse_who,
};

pub(crate) static TAKE: Command = Command {
    name: "oncall take",
    usage: "oncall take [SCHEDULE] [DURATION|until HH:MM]",
    summary: "go on call yourself, over the schedule, until the next handoff or for a while",
    details: "Takes effect at once, for paging too. Without a schedule: the only one there is. Without a \
              duration: until the schedule's next handoff. At most 31d.\n\
              Examples:\n\
              • `oncall take`\n\
              • `oncall take db-team 4h`\n\
              • `oncall take db-team until 18:00`",
    permission: PERMISSION,
    needs_state: false,
    routes: &[r"^oncall\s+take(?:\s+(?P<rest>.*))?$"],
    parse: parse_take,
};

pub(crate) static GIVE: Command = Command {
    name: "oncall give",
    usage: "oncall give SCHEDULE PERSON [DURATION|until HH:MM]",
    summary: "put someone else on call, over the schedule, until the next handoff or for a while",
    details: "PERSON is their `[[user]] person`, their chat id, or a mention of them. Takes effect at once, for \
              paging too. At most 31d.\n\
              Examples:\n\
              • `oncall give db-team @bob 8h`\n\
              • `oncall give db-team carol until 09:00`",
    permission: PERMISSION,
    needs_state: false,
    routes: &[r"^oncall\s+give(?:\s+(?P<rest>.*))?$"],
    parse: parse_give,
};

fn words<'c>(captures: &Captures<'c>, name: &str) -> Words<'c> {
    Words::new(captures.name(name).map_or("", |m| m.as_str()))
}

fn parse_who(captures: &Captures<'_>, _input: &Input<'_>) -> Result<Parsed, ParseError> {
    let schedule = captures.name("schedule").map(|m| m.as_str().to_owned());
    Ok(Parsed::Desk(DeskRequest::Who { schedule }))
}

fn parse_take(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = words(captures, "rest");
    let (schedule, next) = match words.list.first() {
        Some(first) if !starts_span(first) => (Some(first.text.clone()), 1),
        _ => (None, 0),
    };
    let (until, next) = until_at(&words, next, input)?;
    expect_end(&words, next, input)?;
    Ok(Parsed::Desk(DeskRequest::Take { schedule, until }))
}

fn parse_give(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = words(captures, "rest");
    let (Some(schedule), Some(to)) = (words.list.first(), words.list.get(1)) else {
        return Err(input.usage("name the schedule and the person, like `oncall give db-team @bob 8h`".to_owned()));
    };
    let (until, next) = until_at(&words, 2, input)?;
    expect_end(&words, next, input)?;
    Ok(Parsed::Desk(DeskRequest::Give { schedule: schedule.text.clone(), to: to.text.clone(), until }))
}

/// Whether `word` starts a DURATION or `until HH:MM`.
fn starts_span(word: &Word) -> bool {
    !word.quoted && (word.text.eq_ignore_ascii_case("until") || word.text.starts_with(|c: char| c.is_ascii_digit()))
}

/// `DURATION|until HH:MM` at word `index`, if there is one, as its end; and the index after it.
fn until_at(words: &Words<'_>, index: usize, input: &Input<'_>) -> Result<(Option<i64>, usize), ParseError> {
    let Some(word) = words.list.get(index) else { return Ok((None, index)) };
    if !word.quoted && word.text.eq_ignore_ascii_case("until") {
        let clock = words.list.get(index + 1).map_or("", |word| word.text.as_str());
        let (hour, minute) = wall_clock(clock)
            .ok_or_else(|| input.usage(format!("`until` needs a time like 18:00, not `{}`", shown(clock))))?;
        return Ok((Some(next_wall_clock(input.now, &input.settings.timezone, hour, minute)), index + 2));
    }
    let seconds = match humantime::parse_duration(&word.text) {
        Ok(duration) if starts_span(word) => i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        _ => return Err(input.usage(format!("`{}` is not a duration like `4h` or `until 18:00`", shown(&word.text)))),
    };
    if seconds == 0 || seconds > LONGEST_SECONDS {
        return Err(ParseError::Invalid(format!(
            "an override lasts from 1s to 31d, not `{}`; for longer, change the schedule",
            shown(&word.text)
        )));
    }
    Ok((Some(input.now.saturating_add(seconds)), index + 1))
}

fn expect_end(words: &Words<'_>, index: usize, input: &Input<'_>) -> Result<(), ParseError> {
    match words.list.get(index) {
        None => Ok(()),
        Some(extra) => Err(input.usage(format!("unexpected `{}`", shown(&extra.text)))),
    }
}

#[cfg(test)]
mod tests {
    use crate::desk::DeskRequest;
    use crate::testing::{Chat, NOW};

    #[test]
    fn who_take_and_give_are_parsed_and_need_the_oncall_permission_to_change_anything() {
        let chat = Chat::alice();
        let (desk, router) = chat.router_with_desk();
        assert_eq!(chat.send_to(&router, "oncall").reply(), "desk: oncall *");
        assert_eq!(chat.send_to(&router, "oncall db-team").reply(), "desk: oncall db-team");
        assert_eq!(chat.send_to(&router, "oncall take").reply(), "desk: oncall take * until the next handoff");
        assert_eq!(
            chat.send_to(&router, "oncall take db-team 4h").reply(),
            format!("desk: oncall take db-team until {}", NOW + 4 * 3600)
        );
        assert_eq!(
            chat.send_to(&router, "oncall take until 18:00").reply(),
            format!("desk: oncall take * until {}", NOW + 4 * 3600)
        );
        let give = chat.send_to(&router, "oncall give db-team <@U2> 8h");
        assert_eq!(give.reply(), format!("desk: oncall give db-team <@U2> until {}", NOW + 8 * 3600));
        assert!(give.audit().allowed);
        assert_eq!(
            desk.asked(),
            [
                DeskRequest::Who { schedule: None },
                DeskRequest::Who { schedule: Some("db-team".into()) },
                DeskRequest::Take { schedule: None, until: None },
                DeskRequest::Take { schedule: Some("db-team".into()), until: Some(NOW + 4 * 3600) },
                DeskRequest::Take { schedule: None, until: Some(NOW + 4 * 3600) },
                DeskRequest::Give { schedule: "db-team".into(), to: "<@U2>".into(), until: Some(NOW + 8 * 3600) },
            ]
        );

        let reply = |text: &str| chat.send_to(&router, text).reply().to_owned();
        assert!(reply("oncall take db-team soon").starts_with("`soon` is not a duration"));
        assert!(reply("oncall take 40d").starts_with("an override lasts from 1s to 31d"));
        assert!(reply("oncall give db-team").starts_with("name the schedule and the person"));
        assert!(reply("oncall take db-team 1h extra").starts_with("unexpected `extra`"));

        let bob = Chat::as_user("U2", "bob");
        let refused = bob.send_to(&router, "oncall take db-team");
        assert!(
            refused.reply().starts_with("refused: bob may not `oncall` (no role grants oncall; yours: web)"),
            "{}",
            refused.reply()
        );
        assert!(!refused.audit().allowed);
        assert_eq!(bob.send_to(&router, "oncall").reply(), "desk: oncall *", "everyone may look");
        let stranger = Chat::as_user("U9", "eve").send_to(&router, "oncall give db-team eve");
        assert!(stranger.reply().contains("chat id `U9` has no role"), "{}", stranger.reply());
        assert_eq!(desk.asked().len(), 7, "refusals never reach the desk");
    }
}
