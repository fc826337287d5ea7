//! `yes`: go ahead with the newest request waiting for confirmation (`host add`, `host remove`).

use super::{Command, Input, ParseError, Parsed};
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "yes",
    usage: "yes",
    summary: "go ahead with the request waiting for confirmation",
    details: "`host add` and `host remove` change what is monitored and wait for an explicit yes (two minutes \
              at most). Whoever says yes needs the same permission as the request; when hagios is configured \
              for a second person, the requester's own yes does not count.",
    permission: Some("host"),
    needs_state: true,
    routes: &[r"^yes\s*$"],
    parse,
};

fn parse(_: &Captures<'_>, _: &Input<'_>) -> Result<Parsed, ParseError> {
    Ok(Parsed::Yes)
}

#[cfg(test)]
mod tests {
    use crate::testing::{policy, Chat, SETTINGS};
    use crate::{Router, Settings};

    #[test]
    fn only_the_requester_confirms_by_default() {
        let router = Router::with_settings(policy(), SETTINGS.clone());
        Chat::alice().send_to(&router, "host add web09 192.0.2.9");
        let dave = Chat::as_user("U4", "dave").send_to(&router, "yes");
        assert!(dave.executed.is_empty());
        assert!(dave.reply().starts_with("nothing is waiting for a `yes`"), "{}", dave.reply());
        assert_eq!(Chat::alice().send_to(&router, "yes").executed.len(), 1);
        assert!(Chat::alice().send_to(&router, "yes").executed.is_empty(), "a yes is used up");
    }

    #[test]
    fn a_second_authorized_person_confirms_when_configured() {
        let settings = Settings { second_person_confirms: true, ..SETTINGS.clone() };
        let router = Router::with_settings(policy(), settings);
        let asked = Chat::alice().send_to(&router, "host remove web02");
        assert!(asked.reply().contains("until another authorized person replies `yes`"), "{}", asked.reply());
        let own = Chat::alice().send_to(&router, "yes");
        assert_eq!(own.reply(), "nothing is waiting for a `yes` from someone else (requests wait 120 s)");
        let bob = Chat::as_user("U2", "bob").send_to(&router, "yes");
        assert!(bob.reply().starts_with("refused: bob may not `host`"), "{}", bob.reply());
        assert!(bob.executed.is_empty());

        Chat::alice().send_to(&router, "host remove web02");
        let dave = Chat::as_user("U4", "dave").send_to(&router, "yes");
        assert_eq!(dave.executed.len(), 1, "{}", dave.reply());
        assert_eq!(dave.audit().user_id, "U4");
        assert!(dave.audit().result.starts_with("confirmed"));
    }
}
