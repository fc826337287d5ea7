//! `recheck`: run a host or service check now, whatever its schedule.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use hagios_domain::Action;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "recheck",
    usage: "recheck HOST [SERVICE]",
    summary: "check now instead of waiting for the next scheduled check",
    details: "A forced check: it runs even outside the check period. In an alert's thread HOST and SERVICE may \
              be left out.\n\
              Examples:\n\
              • `recheck web01 HTTP`\n\
              • `recheck web01` (the host check)\n\
              • `recheck` (in an alert's thread)",
    permission: Some("recheck"),
    needs_state: true,
    routes: &[r"^recheck(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let target = input.sole_object(&Words::new(captures.name("rest").map_or("", |m| m.as_str())))?;
    let action = Action::Recheck { target: target.object.clone() };
    Ok(Parsed::Act(input.act(target, action, "recheck", "rechecked")))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::{Action, ObjectRef};

    #[test]
    fn rechecks_hosts_and_services() {
        let recheck = |text: &str| Chat::alice().send(text).action().clone();
        assert_eq!(recheck("recheck web01"), Action::Recheck { target: ObjectRef::host("web01") });
        assert_eq!(recheck("RECHECK web01 SSH"), Action::Recheck { target: ObjectRef::service("web01", "SSH") });
        let thread = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP Load"));
        assert_eq!(
            thread.send("recheck").action(),
            &Action::Recheck { target: ObjectRef::service("web01", "HTTP Load") }
        );
    }

    #[test]
    fn needs_a_target_outside_threads() {
        assert_eq!(
            Chat::alice().send("recheck").reply(),
            "name a host (or type the command in an alert's thread); usage: `recheck HOST [SERVICE]` (`help recheck` \
             has examples)"
        );
    }

    #[test]
    fn roles_decide() {
        assert_eq!(Chat::as_user("U2", "bob").send("recheck web02 HTTP").executed.len(), 1);
        let sent = Chat::as_user("U3", "carol").send("recheck db01");
        assert!(sent.reply().starts_with("refused: carol may not `recheck` (no role grants recheck; yours: dba)"));
    }
}
