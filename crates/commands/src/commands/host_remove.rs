//! `host remove`: delete a host with its services from the monitoring system (Icinga 2, or Nagios
//! for hosts `host add` wrote), after an explicit `yes`.

use super::host_name::checked;
use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use hagios_domain::{plural, Action, HostField, ObjectRef, SiteObject};
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "host remove",
    usage: "host remove NAME",
    summary: "remove a host and its services (asks for a yes first)",
    details: "Deletes host NAME together with its services, downtimes and comments. Nothing happens until you \
              answer `yes` within two minutes (another authorized person instead, when hagios asks for a second \
              person). Only hosts added with `host add` can be removed; needs a role granting `host`.\n\
              Example:\n\
              • `host remove web03`",
    permission: Some("host"),
    needs_state: true,
    routes: &[r"^host\s+remove(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("rest").map_or("", |m| m.as_str()));
    let [name] = words.list.as_slice() else {
        return Err(input.usage("name exactly one host".into()));
    };
    let (site, name) = input.host_site(&name.text, true)?;
    let name = checked(input, HostField::Name, name)?;
    let snapshot = input.snapshot_at(&site);
    if !snapshot.has_host(&name) {
        return Err(ParseError::Invalid(format!("site `{site}` has no host `{name}`")));
    }
    let services = snapshot.services_of(&name).count();
    let shown_name = input.with_site(&site, name.clone());
    let at = SiteObject::new(site, ObjectRef::host(name.clone()));
    Ok(Parsed::AfterYes(input.worded_act(
        at,
        Action::RemoveHost { name },
        format!("remove host {shown_name} and its {}", plural(services, "service")),
        format!("removed host {shown_name}"),
    )))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::Action;

    #[test]
    fn removes_after_yes_and_says_what_goes_with_it() {
        let (first, second) = Chat::alice().send_two("host remove web01", "yes");
        assert!(first.reply().contains("remove host web01 and its 3 services"), "{}", first.reply());
        assert!(first.executed.is_empty());
        assert_eq!(second.action(), &Action::RemoveHost { name: "web01".into() });
    }

    #[test]
    fn unknown_hosts_get_a_suggestion() {
        let sent = Chat::alice().send("host remove web1");
        assert!(sent.reply().starts_with("unknown host `web1`"), "{}", sent.reply());
    }
}
