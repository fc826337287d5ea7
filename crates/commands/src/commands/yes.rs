//! `yes`: go ahead with a request waiting for confirmation (`host add`, `host remove`).

use super::{Command, Input, ParseError, Parsed};
use regex::Captures;

/// The request number `yes N` / `cancel N` name, when given.
pub(crate) fn request_number(captures: &Captures<'_>, input: &Input<'_>) -> Result<Option<u32>, ParseError> {
    captures
        .name("number")
        .map(|number| {
            number.as_str().parse().map_err(|_| input.usage(format!("no request is numbered {}", number.as_str())))
        })
        .transpose()
}

pub(crate) static COMMAND: Command = Command {
    name: "yes",
    usage: "yes [REQUEST]",
    summary: "go ahead with the request waiting for confirmation",
    details: "`host add` and `host remove` change what is monitored and wait for an explicit yes (two minutes \
              at most). Whoever says yes needs the same permission as the request; when hagios is configured \
              for a second person, the requester's own yes does not count. `yes` answers the newest request you \
              may confirm, `yes 4` request 4; in Slack the Yes button on the request does the same.",
    permission: Some("host"),
    needs_state: true,
    routes: &[r"^yes(?:\s+(?P<number>\d{1,12}))?\s*$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    Ok(Parsed::Yes(request_number(captures, input)?))
}

#[cfg(test)]
mod tests {
    use crate::testing::{policy, Chat, SETTINGS};
    use crate::{Router, Settings};

    #[test]
    fn only_the_requester_confirms_by_default() {
        let router = Router::with_settings(policy(), SETTINGS.clone());
        let number = Chat::alice().send_to(&router, "host add web09 192.0.2.9").dispatch.awaiting_yes.expect("asked");
        let dave = Chat::as_user("U4", "dave").send_to(&router, "yes");
        assert!(dave.executed.is_empty());
        assert!(dave.reply().starts_with("nothing is waiting for a `yes`"), "{}", dave.reply());
        let by_number = Chat::as_user("U4", "dave").send_to(&router, &format!("yes {number}"));
        assert_eq!(by_number.reply(), format!("only the person who asked may confirm request {number}"));
        assert_eq!(Chat::alice().send_to(&router, "yes").executed.len(), 1);
        assert!(Chat::alice().send_to(&router, "yes").executed.is_empty(), "a yes is used up");
        let late = Chat::alice().send_to(&router, &format!("yes {number}"));
        assert!(late.reply().starts_with(&format!("request {number} is not waiting any more")), "{}", late.reply());
    }

    #[test]
    fn a_numbered_yes_confirms_that_request_and_no_other() {
        let router = Router::with_settings(policy(), SETTINGS.clone());
        let first = Chat::alice().send_to(&router, "host add web09 192.0.2.9");
        let second = Chat::alice().send_to(&router, "host remove web02");
        let number = first.dispatch.awaiting_yes.expect("asked");
        assert_eq!(second.dispatch.awaiting_yes, Some(number + 1));
        assert!(first.reply().ends_with(&format!("(request {number}; `cancel` drops it)")), "{}", first.reply());
        let yes = Chat::alice().send_to(&router, &format!("yes {number}"));
        assert!(matches!(yes.action(), hagios_domain::Action::AddHost { name, .. } if name == "web09"));
        assert_eq!(
            (yes.dispatch.awaiting_yes, yes.dispatch.answered.map(|answered| answered.number)),
            (None, Some(number))
        );
        let huge = Chat::alice().send_to(&router, "yes 999999999999");
        assert!(huge.reply().starts_with("no request is numbered 999999999999"), "{}", huge.reply());
    }

    #[test]
    fn a_second_authorized_person_confirms_when_configured() {
        let settings = Settings { second_person_confirms: true, ..SETTINGS.clone() };
        let router = Router::with_settings(policy(), settings);
        let asked = Chat::alice().send_to(&router, "host remove web02");
        assert!(asked.reply().contains("until another authorized person replies `yes`"), "{}", asked.reply());
        let own = Chat::alice().send_to(&router, "yes");
        assert_eq!(own.reply(), "nothing is waiting for a `yes` from someone else (requests wait 120 s)");
        // Alice on another platform is still alice.
        let own_elsewhere = Chat::as_user("@alice:m.org", "alice").send_to(&router, "yes");
        assert!(own_elsewhere.executed.is_empty(), "{}", own_elsewhere.reply());
        let bob = Chat::as_user("U2", "bob").send_to(&router, "yes");
        assert!(bob.reply().starts_with("refused: bob may not `host`"), "{}", bob.reply());
        assert!(bob.executed.is_empty());

        // The refused yes left the request waiting.
        let dave = Chat::as_user("U4", "dave").send_to(&router, "yes");
        assert_eq!(dave.executed.len(), 1, "{}", dave.reply());
        assert_eq!(dave.audit().user_id, "U4");
        assert!(dave.audit().result.starts_with("confirmed"));
    }
}
