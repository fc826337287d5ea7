//! `host add`: create a host in the monitoring system from a template (Icinga 2 through its API,
//! Nagios through the managed configuration folder), after an explicit `yes`.

use super::host_name::checked;
use super::{Command, Input, ParseError, Parsed};
use crate::args::Words;
use hagios_domain::{Action, HostField, ObjectRef, SiteObject};
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "host add",
    usage: "host add NAME ADDRESS [TEMPLATE]",
    summary: "add a host from a template (asks for a yes first)",
    details: "Creates host NAME with ADDRESS (an IP address or DNS name) from TEMPLATE, the configured \
              default (`generic-host` unless set otherwise) when left out. Nothing happens until you answer `yes` within two minutes (another authorized person \
              instead, when hagios asks for a second person). Needs a role granting `host`. On Nagios the whole \
              configuration is checked (hagios and `nagios -v`) before Nagios reloads; errors come back here and \
              nothing changes.\n\
              Examples:\n\
              • `host add web03 192.0.2.13`\n\
              • `host add db02 db02.example.com linux-server`",
    permission: Some("host"),
    needs_state: true,
    routes: &[r"^host\s+add(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("rest").map_or("", |m| m.as_str()));
    let [name, address, rest @ ..] = words.list.as_slice() else {
        return Err(input.usage("name the host and its address".into()));
    };
    let (site, name) = input.host_site(&name.text, false)?;
    let name = checked(input, HostField::Name, name)?;
    let shown_name = input.with_site(&site, name.clone());
    if input.snapshot_at(&site).has_host(&name) {
        return Err(ParseError::Invalid(format!("host `{shown_name}` already exists; `status {shown_name}` shows it")));
    }
    let address = checked(input, HostField::Address, &address.text)?;
    let template = match rest {
        [] => input.settings.default_host_template.clone(),
        [template] => checked(input, HostField::Template, &template.text)?,
        _ => return Err(input.usage("too many words: a template name with spaces goes in quotes".into())),
    };
    let intent = format!("add host {shown_name} ({address}, template {template})");
    let at = SiteObject::new(site, ObjectRef::host(name.clone()));
    let action = Action::AddHost { name, address, template };
    Ok(Parsed::AfterYes(input.worded_act(at, action, intent, format!("added host {shown_name}"))))
}

#[cfg(test)]
mod tests {
    use crate::testing::{policy, Chat, SETTINGS};
    use crate::{Router, Settings};
    use hagios_domain::Action;

    #[test]
    fn adds_after_yes_with_the_default_template() {
        let chat = Chat::alice();
        let (first, second) = chat.send_two("host add web03 192.0.2.13", "yes");
        assert!(first.executed.is_empty(), "nothing before yes");
        assert!(first.reply().contains("reply `yes` within 2 minutes"), "{}", first.reply());
        let number = first.dispatch.awaiting_yes.expect("a question");
        assert_eq!(first.audit().result, format!("awaiting yes (request {number})"));
        assert_eq!(
            second.action(),
            &Action::AddHost { name: "web03".into(), address: "192.0.2.13".into(), template: "generic-host".into() }
        );
        assert!(second.reply().starts_with("added host web03 — confirmed by Nagios"), "{}", second.reply());
        assert_eq!(second.audit().command.as_deref(), Some("yes"));
    }

    #[test]
    fn the_default_template_is_configurable() {
        let settings = Settings { default_host_template: "linux-server".into(), ..SETTINGS.clone() };
        let router = Router::with_settings(policy(), settings);
        Chat::alice().send_to(&router, "host add web03 192.0.2.13");
        let yes = Chat::alice().send_to(&router, "yes");
        assert_eq!(
            yes.action(),
            &Action::AddHost { name: "web03".into(), address: "192.0.2.13".into(), template: "linux-server".into() }
        );
    }

    #[test]
    fn bad_names_addresses_and_existing_hosts_are_refused_before_asking() {
        for (text, problem) in [
            ("host add web01 192.0.2.1", "host `web01` already exists"),
            ("host add we;b 192.0.2.1", "host name"),
            ("host add web09 \"1 2\"", "address"),
            ("host add web09", "name the host and its address"),
        ] {
            let sent = Chat::alice().send(text);
            assert!(sent.reply().contains(problem), "{text}: {}", sent.reply());
            assert!(sent.executed.is_empty());
        }
    }

    #[test]
    fn hostile_names_addresses_and_templates_never_reach_the_backend() {
        for hostile in ["1.2.3.4$(id)", "a'b", "a\\b", "a|b", "a&b", "a<b", "a>b", "a`id`", "-x", ".x"] {
            for (text, field) in [
                (format!("host add web09 {hostile}"), "address"),
                (format!("host add {hostile} 192.0.2.9"), "host name"),
                (format!("host add web09 192.0.2.9 {hostile}"), "template"),
            ] {
                let sent = Chat::alice().send(&text);
                assert!(sent.reply().contains(&format!("the {field} ")), "{text}: {}", sent.reply());
                assert!(sent.executed.is_empty() && sent.dispatch.awaiting_yes.is_none(), "{text}");
            }
        }
    }

    #[test]
    fn needs_the_host_permission() {
        let sent = Chat::as_user("U2", "bob").send("host add web09 192.0.2.9");
        assert!(sent.reply().contains("may not `host`"), "{}", sent.reply());
        assert!(!sent.audit().allowed);
    }
}
