//! `ack`: acknowledge a problem so that it stops notifying until it recovers.

use super::{Act, Command, Input, ParseError, Parsed};
use crate::args::{Shape, Words};
use hagios_domain::Action;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "ack",
    usage: "ack HOST [SERVICE] [COMMENT…]",
    summary: "acknowledge a problem: no more notifications until it recovers",
    details: "The acknowledgement is sticky (it lasts until the object recovers) and notifies the contacts. \
              Without a comment it says who acknowledged from chat. In an alert's thread HOST and SERVICE may \
              be left out: a first word that is not a host starts the comment.\n\
              Examples:\n\
              • `ack web01 HTTP deploying a fix`\n\
              • `ack web01 \"HTTP Load\" batch job, ends 15:00`\n\
              • `ack web01!SSH`\n\
              • `ack looking into it` (in an alert's thread)",
    permission: Some("ack"),
    needs_state: true,
    routes: &[r"^ack(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("rest").map_or("", |m| m.as_str()));
    let resolved = input.resolve(&words, Shape { all_services: false, trailing: true })?;
    let target = resolved.object();
    // No refusal when the state looks fine: status.dat lags the alert by up to Nagios'
    // status_update_interval, so "OK" here may be stale. Nagios ignores acknowledgements of objects
    // without a problem, and the confirmation says so then.
    let comment = words.text_from(resolved.next).unwrap_or_else(|| format!("acknowledged from chat by {}", input.user));
    let action = Action::Acknowledge {
        target: target.clone(),
        comment,
        sticky: true,
        notify: true,
        persistent: false,
        expire: None,
    };
    Ok(Parsed::Act(Act::on(target, action, "acknowledge", "acknowledged")))
}

#[cfg(test)]
mod tests {
    use crate::testing::Chat;
    use hagios_domain::{Action, ObjectRef};

    fn acknowledged(chat: &Chat, text: &str) -> (ObjectRef, String) {
        match chat.send(text).action() {
            Action::Acknowledge { target, comment, sticky: true, notify: true, persistent: false, expire: None } => {
                (target.clone(), comment.clone())
            }
            other => panic!("unexpected action {other:?}"),
        }
    }

    #[test]
    fn service_forms() {
        let chat = Chat::alice();
        let http = ObjectRef::service("web01", "HTTP");
        assert_eq!(acknowledged(&chat, "ack web01 HTTP deploying a fix"), (http.clone(), "deploying a fix".into()));
        assert_eq!(acknowledged(&chat, "ack web01!HTTP"), (http, "acknowledged from chat by alice".into()));
        let load = ObjectRef::service("web01", "HTTP Load");
        assert_eq!(acknowledged(&chat, r#"ack web01 "HTTP Load" batch job"#), (load.clone(), "batch job".into()));
        assert_eq!(acknowledged(&chat, "ack web01!“HTTP Load”"), (load, "acknowledged from chat by alice".into()));
    }

    #[test]
    fn a_word_that_is_no_service_starts_the_comment() {
        let (target, comment) = acknowledged(&Chat::alice(), "ack db01 MySQL is fine, host is not");
        assert_eq!((target, comment.as_str()), (ObjectRef::service("db01", "MySQL"), "is fine, host is not"));
        let (target, comment) = acknowledged(&Chat::alice(), "ack db01 power supply");
        assert_eq!((target, comment.as_str()), (ObjectRef::host("db01"), "power supply"));
    }

    #[test]
    fn in_a_thread_the_target_may_be_left_out() {
        let chat = Chat::alice().in_thread(ObjectRef::service("web01", "HTTP"));
        assert_eq!(
            acknowledged(&chat, "ack looking into it"),
            (ObjectRef::service("web01", "HTTP"), "looking into it".into())
        );
        assert_eq!(acknowledged(&chat, "ack").1, "acknowledged from chat by alice");
        // A known host still names the target, even inside another incident's thread.
        assert_eq!(acknowledged(&chat, "ack db01 restarting").0, ObjectRef::host("db01"));
    }

    #[test]
    fn objects_that_look_fine_are_still_sent_because_the_state_may_lag() {
        let (target, _) = acknowledged(&Chat::alice(), "ack web01 SSH");
        assert_eq!(target, ObjectRef::service("web01", "SSH"));
    }

    #[test]
    fn typos_get_suggestions() {
        assert_eq!(Chat::alice().send("ack web1 HTTP").reply(), "unknown host `web1` — did you mean `web01`?");
        assert_eq!(
            Chat::alice().send("ack").reply().split(';').next(),
            Some("name a host (or type the command in an alert's thread)")
        );
    }

    #[test]
    fn roles_decide_on_which_objects() {
        // bob's role grants ack on web* only.
        assert_eq!(Chat::as_user("U2", "bob").send("ack web01 HTTP").executed.len(), 1);
        let sent = Chat::as_user("U2", "bob").send("ack db01 MySQL");
        assert!(
            sent.reply().starts_with("refused: bob may not `ack` db01!MySQL (no role grants ack on it"),
            "{}",
            sent.reply()
        );
        // carol's role grants ack on hostgroup:db-servers.
        assert_eq!(Chat::as_user("U3", "carol").send("ack db01 MySQL").executed.len(), 1);
        assert!(Chat::as_user("U3", "carol").send("ack web01 HTTP").reply().starts_with("refused: carol"));
    }
}
