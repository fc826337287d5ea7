//! `unmute`: turn notifications back on for a host or a service.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use hagios_domain::Action;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "unmute",
    usage: "unmute HOST [SERVICE]",
    summary: "turn notifications back on",
    details: "In an alert's thread HOST and SERVICE may be left out.\n\
              Examples:\n\
              • `unmute web02 HTTP`\n\
              • `unmute web01`",
    permission: Some("unmute"),
    needs_state: true,
    routes: &[r"^unmute(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let target = input.sole_object(&Words::new(captures.name("rest").map_or("", |m| m.as_str())))?;
    let action = Action::EnableNotifications { target: target.object.clone() };
    Ok(Parsed::Act(input.act(target, action, "unmute", "unmuted")))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::{Action, ObjectRef};

    #[test]
    fn unmutes() {
        let sent = Chat::alice().send("unmute web02!HTTP");
        assert_eq!(sent.action(), &Action::EnableNotifications { target: ObjectRef::service("web02", "HTTP") });
        assert_eq!(sent.reply(), "unmuted web02!HTTP — confirmed by Nagios (seen in status.dat)");
    }

    #[test]
    fn unknown_services_get_suggestions() {
        assert_eq!(
            Chat::alice().send("unmute web02 \"HTTPS\"").reply(),
            "unknown service `HTTPS` on web02 — did you mean `HTTP`?"
        );
    }
}
