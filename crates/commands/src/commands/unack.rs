//! `unack`: remove an acknowledgement, so that the problem notifies again.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use hagios_domain::Action;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "unack",
    usage: "unack HOST [SERVICE]",
    summary: "remove an acknowledgement: the problem notifies again",
    details: "In an alert's thread HOST and SERVICE may be left out.\n\
              Examples:\n\
              • `unack web01 HTTP`\n\
              • `unack web01!\"HTTP Load\"`\n\
              • `unack` (in an alert's thread)",
    permission: Some("unack"),
    needs_state: true,
    routes: &[r"^unack(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let target = input.sole_object(&Words::new(captures.name("rest").map_or("", |m| m.as_str())))?;
    // No refusal when the state shows no acknowledgement: status.dat lags Nagios by up to its
    // status_update_interval, and the ack confirmed a moment ago from Nagios' log may not be in it
    // yet. The confirmation tells what Nagios' state shows after the removal.
    let action = Action::RemoveAcknowledgement { target: target.object.clone() };
    Ok(Parsed::Act(input.act(target, action, "remove the acknowledgement of", "removed the acknowledgement of")))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::{Action, ObjectRef};

    #[test]
    fn removes_an_acknowledgement() {
        let sent = Chat::alice().send("unack db01 MySQL");
        assert_eq!(sent.action(), &Action::RemoveAcknowledgement { target: ObjectRef::service("db01", "MySQL") });
        assert_eq!(
            sent.reply(),
            "removed the acknowledgement of db01!MySQL — confirmed by Nagios (seen in status.dat)"
        );
    }

    #[test]
    fn in_a_thread_without_arguments() {
        let sent = Chat::alice().in_thread(ObjectRef::service("db01", "MySQL")).send("unack");
        assert_eq!(sent.action(), &Action::RemoveAcknowledgement { target: ObjectRef::service("db01", "MySQL") });
    }

    #[test]
    fn sends_what_the_state_shows_unacknowledged_and_refuses_extra_words() {
        // status.dat may not show an acknowledgement made a moment ago.
        let sent = Chat::alice().send("unack web01 HTTP");
        assert_eq!(sent.action(), &Action::RemoveAcknowledgement { target: ObjectRef::service("web01", "HTTP") });
        let reply = Chat::alice().send("unack db01 MySQL now please").dispatch.reply;
        assert_eq!(
            reply,
            "unexpected `now` after the target; usage: `unack HOST [SERVICE]` (`help unack` has examples)"
        );
        // In a thread, words after `unack` must still name a host.
        let sent = Chat::alice().in_thread(ObjectRef::service("db01", "MySQL")).send("unack db1");
        assert_eq!(sent.reply(), "unknown host `db1` — did you mean `db01`?");
    }
}
