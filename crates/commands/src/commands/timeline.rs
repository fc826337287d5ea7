//! `timeline [HOST [SERVICE]]`: an incident's story as a Markdown file posted into the thread —
//! notifications and state changes, pages, who acknowledged when, commands and what the
//! monitoring system confirmed, actions taken in its own UI — a first draft of a postmortem.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use crate::desk::DeskRequest;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "timeline",
    usage: "timeline [HOST [SERVICE]]",
    summary: "the incident's story as a Markdown file: a postmortem draft",
    details: "In an alert's thread, that incident; else the newest incident of the object named (`SITE:HOST` \
              where several sites have the host). Built from \
              hagios' records: notifications, pages, acknowledgements, commands and their confirmations. \
              `hagios timeline` prints the same on the command line.\n\
              Examples:\n\
              • `timeline` (in an alert's thread)\n\
              • `timeline web01 HTTP`",
    permission: Some("timeline"),
    needs_state: true,
    routes: &[r"^timeline(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let rest = captures.name("rest").map_or("", |m| m.as_str());
    let at = input.sole_object(&Words::new(rest))?;
    // Bare `timeline` in an alert's thread tells that thread's incident, not the newest one.
    let opened_at = if rest.trim().is_empty() { input.incident_opened_at } else { None };
    Ok(Parsed::Desk(DeskRequest::Timeline { site: at.site, object: at.object, opened_at }))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::ObjectRef;

    #[test]
    fn timeline_takes_the_thread_or_an_object_and_needs_the_timeline_permission() {
        let chat = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP"));
        let (_, router) = chat.router_with_desk();
        let opened_at = crate::testing::OPENED_AT;
        assert_eq!(
            chat.send_to(&router, "timeline").reply(),
            format!("desk: timeline local:web01!HTTP opened at {opened_at}"),
            "the thread's own incident"
        );
        assert_eq!(chat.send_to(&router, "timeline web01 HTTP").reply(), "desk: timeline local:web01!HTTP");
        assert_eq!(Chat::alice().send_to(&router, "timeline db01 MySQL").reply(), "desk: timeline local:db01!MySQL");
        assert_eq!(
            Chat::alice().send_to(&router, "timeline web1").reply(),
            "unknown host `web1` — did you mean `web01`?"
        );
        let refused = Chat::as_user("U2", "bob").send_to(&router, "timeline web01");
        assert!(
            refused.reply().starts_with("refused: bob may not `timeline` (no role grants timeline"),
            "{}",
            refused.reply()
        );
    }
}
