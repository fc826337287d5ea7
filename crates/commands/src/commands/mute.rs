//! `mute`: turn notifications off for a host or a service.

use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use hagios_domain::Action;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "mute",
    usage: "mute HOST [SERVICE]",
    summary: "turn notifications off (until `unmute`)",
    details: "Muting a host silences the host's own notifications; its services keep their own setting. \
              In an alert's thread HOST and SERVICE may be left out. For a planned silence with an end, \
              prefer `downtime`; to quiet only the chat for a while and leave Nagios alone, `snooze`.\n\
              Examples:\n\
              • `mute web01 \"HTTP Load\"`\n\
              • `mute web01`",
    permission: Some("mute"),
    needs_state: true,
    routes: &[r"^mute(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let target = input.sole_object(&Words::new(captures.name("rest").map_or("", |m| m.as_str())))?;
    let action = Action::DisableNotifications { target: target.object.clone() };
    let mut act = input.act(target, action, "mute", "muted");
    if !act.object.is_service() {
        act.done.push_str(" (the host's own notifications; its services keep theirs)");
    }
    Ok(Parsed::Act(act))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::{Action, ObjectRef};

    #[test]
    fn mutes_services_and_hosts() {
        let sent = Chat::alice().send(r#"mute web01 "HTTP Load""#);
        assert_eq!(sent.action(), &Action::DisableNotifications { target: ObjectRef::service("web01", "HTTP Load") });
        assert_eq!(sent.reply(), "muted web01!HTTP Load — confirmed by Nagios (seen in status.dat)");
        let sent = Chat::alice().send("mute web01");
        assert_eq!(sent.action(), &Action::DisableNotifications { target: ObjectRef::host("web01") });
        assert!(sent.reply().starts_with("muted web01 (the host's own notifications; its services keep theirs)"));
    }
}
