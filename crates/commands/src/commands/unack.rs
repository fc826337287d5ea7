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
    if input.state_of(&target).is_some_and(|(_, acknowledged)| !acknowledged) {
        return Err(ParseError::Invalid(format!("{} is not acknowledged; nothing to remove", input.label(&target))));
    }
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
    fn refuses_what_is_not_acknowledged_or_extra_words() {
        assert_eq!(Chat::alice().send("unack web01 HTTP").reply(), "web01!HTTP is not acknowledged; nothing to remove");
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
