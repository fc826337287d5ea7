//! `cancel`: drop a request waiting for confirmation (`host add`, `host remove`) instead of
//! saying `yes` to it.

use super::yes::request_number;
use super::{Command, Input, ParseError, Parsed};
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "cancel",
    usage: "cancel [REQUEST]",
    summary: "drop a request waiting for confirmation",
    details: "Drops request REQUEST (the number in its question), else your own newest waiting request, else the \
              newest one; nothing is changed. Anyone whose roles grant `host` on that host may cancel — the \
              requester, or a second person saying no. In Slack the Cancel button on the request does the same.\n\
              Examples:\n\
              • `cancel`\n\
              • `cancel 4`",
    permission: Some("host"),
    needs_state: true,
    routes: &[r"^cancel(?:\s+(?P<number>\d{1,12}))?\s*$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    Ok(Parsed::Cancel(request_number(captures, input)?))
}

#[cfg(test)]
mod tests {
    use crate::testing::{policy, Chat, SETTINGS};
    use crate::{Router, Settings};

    #[test]
    fn the_requester_or_another_authorized_person_cancels_and_nothing_runs() {
        let settings = Settings { second_person_confirms: true, ..SETTINGS.clone() };
        let router = Router::with_settings(policy(), settings);
        let number = Chat::alice().send_to(&router, "host add web09 192.0.2.9").dispatch.awaiting_yes.expect("asked");
        let stranger = Chat::as_user("U9", "mallory").send_to(&router, &format!("cancel {number}"));
        assert!(stranger.reply().starts_with("refused: mallory may not `host`"), "{}", stranger.reply());
        assert!(!stranger.audit().allowed);
        assert_eq!(stranger.dispatch.answered, None, "the question is still open");

        let own = Chat::alice().send_to(&router, "cancel");
        let cancelled = format!("cancelled request {number}");
        assert_eq!(own.reply(), format!("{cancelled}: nothing will add host web09 (192.0.2.9, template generic-host)"));
        assert_eq!((own.audit().command.as_deref(), own.audit().result.as_str()), (Some("cancel"), cancelled.as_str()));
        assert!(own.audit().allowed && own.audit().parsed.is_some());
        assert_eq!(own.dispatch.answered.map(|answered| answered.number), Some(number), "the question can close");
        let late = Chat::as_user("U4", "dave").send_to(&router, &format!("yes {number}"));
        assert!(late.reply().starts_with(&format!("request {number} is not waiting any more")), "{}", late.reply());
        assert!(late.executed.is_empty());
        assert_eq!(late.dispatch.answered, None);

        Chat::alice().send_to(&router, "host remove web02");
        let second_person = Chat::as_user("U4", "dave").send_to(&router, "cancel");
        let next = format!("cancelled request {}", number + 1);
        assert!(second_person.reply().starts_with(&next), "{}", second_person.reply());
        assert!(Chat::alice().send_to(&router, "cancel").reply().starts_with("nothing is waiting"));
    }
}
