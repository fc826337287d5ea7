//! `comment`: leave a note on a host or service, visible in the monitoring system.

use super::{Command, Input, ParseError, Parsed};
use crate::args::{Shape, Words};
use hagios_domain::Action;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "comment",
    usage: "comment HOST [SERVICE] TEXT…",
    summary: "add a comment to a host or service",
    details: "The comment is persistent: it survives restarts of the monitoring system. In an alert's thread \
              HOST and SERVICE may be left out.\n\
              Examples:\n\
              • `comment web01 HTTP vendor ticket #4711`\n\
              • `comment db01 disk replaced, watch it`\n\
              • `comment vendor says tomorrow` (in an alert's thread)",
    permission: Some("comment"),
    needs_state: true,
    routes: &[r"^comment(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("rest").map_or("", |m| m.as_str()));
    let resolved = input.resolve(&words, Shape { all_services: false, trailing: true })?;
    let target = resolved.at();
    let comment = words
        .text_from(resolved.next)
        .ok_or_else(|| input.usage(format!("write the comment after {}", input.label(&target))))?;
    let action = Action::AddComment { target: target.object.clone(), comment, persistent: true };
    Ok(Parsed::Act(input.act(target, action, "comment on", "commented on")))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::{Action, ObjectRef};

    #[test]
    fn comments_keep_the_text() {
        let sent = Chat::alice().send("comment web01 HTTP vendor ticket #4711; \"urgent\"");
        let expected = Action::AddComment {
            target: ObjectRef::service("web01", "HTTP"),
            comment: "vendor ticket #4711; \"urgent\"".into(),
            persistent: true,
        };
        assert_eq!(sent.action(), &expected);
    }

    #[test]
    fn in_a_thread_the_text_is_enough() {
        let sent = Chat::alice().in_thread(ObjectRef::host("db01")).send("comment vendor says tomorrow");
        let expected = Action::AddComment {
            target: ObjectRef::host("db01"),
            comment: "vendor says tomorrow".into(),
            persistent: true,
        };
        assert_eq!(sent.action(), &expected);
    }

    #[test]
    fn text_is_required() {
        assert_eq!(
            Chat::alice().send("comment web01 HTTP").reply(),
            "write the comment after web01!HTTP; usage: `comment HOST [SERVICE] TEXT…` (`help comment` has examples)"
        );
    }
}
