//! `downtime cancel`: cancel a scheduled downtime by the id (or Icinga name) `downtimes` shows.

use super::{Command, Input, ParseError, Parsed};
use crate::text::shown;
use hagios_domain::{Action, Downtime, SiteObject};
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "downtime cancel",
    usage: "downtime cancel ID|NAME",
    summary: "cancel a scheduled downtime",
    details: "ID is the number `downtimes` shows (with or without `#`); on Icinga the downtime's name \
              (`host!service!uuid`, as `downtimes` and Icinga Web show it) works too. Cancelling needs the same \
              permission as scheduling: a role granting `downtime` on the downtime's host or service.\n\
              Examples:\n\
              • `downtime cancel 17`\n\
              • `downtime cancel #17`\n\
              • `downtime cancel web01!HTTP!5d2e0c1a-9f3b-4e7a-8c61-2b7d4f0e9a13`",
    permission: Some("downtime"),
    needs_state: true,
    routes: &[r"^downtime\s+cancel(?:\s+(?P<id>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let text = captures.name("id").map_or("", |m| m.as_str()).trim();
    if text.is_empty() {
        return Err(input.usage("which downtime? `downtimes` lists them with their ids".into()));
    }
    // Nagios numbers downtimes from 1 at every site: `east:12` names one where several have #12.
    let (named_site, wanted) = input.site_prefix(text);
    if let Some(site) = named_site {
        input.answering_site(site, wanted)?;
    }
    // A name is only ever compared with the names the monitor listed; what reaches the monitor is the
    // id of that listed downtime, so chat text never ends up inside an API filter.
    let number = wanted.strip_prefix('#').unwrap_or(wanted).parse::<u64>();
    let (found, what) = match number {
        Ok(id) => (input.sites.downtimes(|downtime| downtime.id == id), format!("downtime #{id}")),
        Err(_) => (
            input.sites.downtimes(|downtime| downtime.name.as_deref() == Some(wanted)),
            format!("the downtime named `{}`", shown(wanted)),
        ),
    };
    let found: Vec<(&str, &Downtime)> =
        found.into_iter().filter(|(site, _)| named_site.is_none_or(|named| named == *site)).collect();
    if found.is_empty() {
        let at = named_site.map(|site| format!(" at site `{site}`")).unwrap_or_default();
        return Err(match number {
            Ok(id) => {
                ParseError::Invalid(format!("there is no downtime #{id}{at}; `downtimes` lists the scheduled ones"))
            }
            Err(_) if wanted.contains('!') => ParseError::Invalid(format!(
                "there is no downtime named `{}`{at}; `downtimes` lists the scheduled ones",
                shown(wanted)
            )),
            Err(_) => input.usage(format!("`{}` is not a downtime id or name", shown(wanted))),
        });
    }
    let sites: Vec<&str> = found.iter().map(|(site, _)| *site).collect();
    let (site, _) = match named_site {
        Some(site) => (site, input.snapshot_at(site)),
        None => input.only_site(&sites, &what, |site| format!("`downtime cancel {site}:{}`", shown(wanted)))?,
    };
    let Some((_, downtime)) = found.iter().find(|(at, _)| *at == site) else {
        return Err(ParseError::Invalid(format!("there is no {what} at site `{site}`")));
    };
    let id = downtime.id;
    let at = SiteObject::new(site, downtime.object.clone());
    let label = input.label(&at);
    Ok(Parsed::Act(input.worded_act(
        at,
        Action::DeleteDowntime { id },
        format!("cancel downtime #{id} on {label}"),
        format!("cancelled downtime #{id} on {label}"),
    )))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::Action;

    #[test]
    fn cancels_by_id() {
        let sent = Chat::alice().send("downtime cancel #8");
        assert_eq!(sent.action(), &Action::DeleteDowntime { id: 8 });
        assert_eq!(sent.reply(), "cancelled downtime #8 on db01!MySQL — confirmed by Nagios (seen in status.dat)");
        assert_eq!(sent.audit().command.as_deref(), Some("downtime cancel"));
        assert_eq!(Chat::alice().send("Downtime cancel 7").action(), &Action::DeleteDowntime { id: 7 });
    }

    #[test]
    fn cancels_by_icinga_name_as_the_id_of_the_listed_downtime() {
        let sent = Chat::alice().send("downtime cancel db01!MySQL!5d2e0c1a-9f3b-4e7a-8c61-2b7d4f0e9a13");
        assert_eq!(sent.action(), &Action::DeleteDowntime { id: 8 });
        assert!(sent.reply().starts_with("cancelled downtime #8 on db01!MySQL"), "{}", sent.reply());
        let unknown = Chat::alice().send("downtime cancel db01!MySQL!0000");
        assert_eq!(
            unknown.reply(),
            "there is no downtime named `db01!MySQL!0000`; `downtimes` lists the scheduled ones"
        );
        assert!(unknown.executed.is_empty());
        assert!(Chat::alice().send("downtime cancel db01").reply().starts_with("`db01` is not a downtime id or name"));
    }

    #[test]
    fn unknown_or_malformed_ids() {
        assert_eq!(
            Chat::alice().send("downtime cancel 99").reply(),
            "there is no downtime #99; `downtimes` lists the scheduled ones"
        );
        assert!(Chat::alice()
            .send("downtime cancel 7;8")
            .reply()
            .starts_with("`7;8` is not a downtime id or name; usage: `downtime cancel ID|NAME`"));
        assert!(Chat::alice().send("downtime cancel").reply().starts_with("which downtime?"));
        assert!(Chat::alice().send("downtime cancel -1").reply().starts_with("`-1` is not a downtime id"));
    }

    #[test]
    fn needs_downtime_permission_on_the_downtimes_object() {
        // erin may schedule and cancel downtimes on web* only; #8 is on db01.
        let sent = Chat::as_user("U5", "erin").send("downtime cancel 8");
        assert!(sent.reply().starts_with("refused: erin may not `downtime` db01!MySQL"), "{}", sent.reply());
        assert!(sent.executed.is_empty());
    }
}
