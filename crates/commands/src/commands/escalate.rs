//! `escalate [COMMENT]`: in an alert's thread (or an alert group's), pages the next step of the
//! escalation policy now instead of after its delay — for when the person on call needs help.

use super::{Command, Input, ParseError, Parsed};
use crate::desk::DeskRequest;
use crate::text::free_text;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "escalate",
    usage: "escalate [COMMENT…]",
    summary: "in an alert's thread: page the next escalation step now",
    details: "Pages whom the route's `[[escalation]]` policy would page next, at once, with your comment; the \
              steps after it keep their times. Paging that stopped (the alert was acknowledged) goes on.\n\
              Examples:\n\
              • `escalate` (in an alert's thread)\n\
              • `escalate the database is not coming back, need the DBA`",
    permission: Some("escalate"),
    needs_state: true,
    routes: &[r"^escalate(?:\s+(?P<comment>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let objects = match (input.incident, input.group) {
        (Some(incident), _) => vec![incident.object.clone()],
        (None, []) => return Err(input.usage("type it in the thread of the alert to escalate".to_owned())),
        (None, members) => members.iter().map(|member| member.object.clone()).collect(),
    };
    let comment = free_text(captures.name("comment").map_or("", |m| m.as_str()));
    Ok(Parsed::Desk(DeskRequest::Escalate { objects, comment }))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::ObjectRef;

    #[test]
    fn escalate_pages_the_threads_incident_and_needs_the_escalate_permission_on_it() {
        let chat = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP"));
        let (desk, router) = chat.router_with_desk();
        let sent = chat.send_to(&router, "escalate need\nhelp");
        assert_eq!(sent.reply(), "desk: escalate web01!HTTP: need help");
        assert!(sent.audit().allowed);
        let group = Chat::alice().in_group(vec![ObjectRef::host("db01"), ObjectRef::service("db01", "MySQL")]);
        assert_eq!(group.send_to(&router, "escalate").reply(), "desk: escalate db01, db01!MySQL: ");
        assert!(Chat::alice().send_to(&router, "escalate").reply().starts_with("type it in the thread"));
        let bob = Chat::as_user("U2", "bob").in_thread(ObjectRef::service("web01", "HTTP"));
        let refused = bob.send_to(&router, "escalate");
        assert!(
            refused.reply().starts_with("refused: bob may not `escalate` (no role grants escalate"),
            "{}",
            refused.reply()
        );
        assert_eq!(desk.asked().len(), 2);
    }
}
