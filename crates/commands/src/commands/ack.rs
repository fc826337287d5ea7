//! `ack`: acknowledge a problem so that it stops notifying until it recovers.

use super::{Act, Command, Input, ParseError, Parsed};
use crate::args::{Shape, Words};
use crate::clock::format_local;
use crate::text::shown;
use hagios_domain::{Action, SiteObject};
use regex::Captures;

/// The longest acknowledgement expiry accepted, a year.
const LONGEST_EXPIRY_SECONDS: i64 = 366 * 86_400;

pub(crate) static COMMAND: Command = Command {
    name: "ack",
    usage: "ack HOST [SERVICE] [COMMENT…]",
    summary: "acknowledge a problem: no more notifications until it recovers",
    details: "The acknowledgement is sticky (it lasts until the object recovers) and notifies the contacts. \
              Without a comment it says who acknowledged from chat. In an alert's thread HOST and SERVICE may \
              be left out: a first word that is not a host starts the comment. `for DURATION` (`for 4h`) makes \
              the acknowledgement lapse then even without a recovery (Icinga 2; Nagios has no expiry).\n\
              Examples:\n\
              • `ack web01 HTTP deploying a fix`\n\
              • `ack web01 \"HTTP Load\" batch job, ends 15:00`\n\
              • `ack web01!SSH`\n\
              • `ack db01 MySQL for 2h replica catching up`\n\
              • `ack looking into it` (in an alert's thread)\n\
              In an alert group's thread, `ack [COMMENT…]` acknowledges every open member of the group, \
              each as if typed in its own thread; the reply sums up how each went.",
    permission: Some("ack"),
    needs_state: true,
    routes: &[r"^ack(?:\s+(?P<rest>.*))?$"],
    parse,
};

fn parse(captures: &Captures<'_>, input: &Input<'_>) -> Result<Parsed, ParseError> {
    let words = Words::new(captures.name("rest").map_or("", |m| m.as_str()));
    // In a group's thread, "ack db01 MySQL …" (or "ack east:db01!MySQL") still names its own object.
    let names_a_host = words.list.first().is_some_and(|word| {
        let (site, name) = input.site_prefix(&word.text);
        site.is_some() || input.snapshot.has_host(name.split('!').next().unwrap_or(name))
    });
    if !input.group.is_empty() && !names_a_host {
        let acts = input.group.iter().map(|member| acknowledge(input.in_thread(member), &words, 0, input));
        return Ok(Parsed::Each(acts.collect::<Result<_, _>>()?));
    }
    let resolved = input.resolve(&words, Shape { all_services: false, trailing: true })?;
    Ok(Parsed::Act(acknowledge(resolved.at(), &words, resolved.next, input)?))
}

/// The acknowledgement of `target` with what follows word `next` (an expiry, a comment).
fn acknowledge(target: SiteObject, words: &Words<'_>, next: usize, input: &Input<'_>) -> Result<Act, ParseError> {
    // No refusal when the state looks fine: status.dat lags the alert by up to Nagios'
    // status_update_interval, so "OK" here may be stale. Nagios ignores acknowledgements of objects
    // without a problem, and the confirmation says so then.
    let (expire, next) = match expiry_at(words, next, input)? {
        Some(expire) => (Some(expire), next + 2),
        None => (None, next),
    };
    let comment = words.text_from(next).unwrap_or_else(|| format!("acknowledged from chat by {}", input.user));
    let action = Action::Acknowledge {
        target: target.object.clone(),
        comment,
        sticky: true,
        notify: true,
        persistent: false,
        expire,
    };
    let mut act = input.act(target, action, "acknowledge", "acknowledged");
    if let Some(expire) = expire {
        let until = format!(" until {}", format_local(expire, &input.settings.timezone));
        act.intent.push_str(&until);
        act.done.push_str(&until);
    }
    Ok(act)
}

/// `for DURATION` at word `index`: when the acknowledgement lapses. Anything else after `for`
/// is left to the comment ("ack web01 for the deploy").
fn expiry_at(words: &Words<'_>, index: usize, input: &Input<'_>) -> Result<Option<i64>, ParseError> {
    let (Some(keyword), Some(length)) = (words.list.get(index), words.list.get(index + 1)) else { return Ok(None) };
    if keyword.quoted
        || !keyword.text.eq_ignore_ascii_case("for")
        || !length.text.starts_with(|c: char| c.is_ascii_digit())
    {
        return Ok(None);
    }
    let Ok(duration) = humantime::parse_duration(&length.text) else { return Ok(None) };
    match i64::try_from(duration.as_secs()) {
        Ok(seconds) if (60..=LONGEST_EXPIRY_SECONDS).contains(&seconds) => Ok(Some(input.now + seconds)),
        _ => Err(input.usage(format!("`for {}`: an acknowledgement lasts between 1m and 366d", shown(&length.text)))),
    }
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
    fn for_duration_sets_an_expiry_and_other_words_after_for_are_comment() {
        let sent = Chat::alice().send("ack db01 MySQL for 2h replica catching up");
        match sent.action() {
            Action::Acknowledge { target, comment, expire, .. } => {
                assert_eq!(target, &ObjectRef::service("db01", "MySQL"));
                assert_eq!((comment.as_str(), *expire), ("replica catching up", Some(crate::testing::NOW + 7200)));
            }
            other => panic!("unexpected action {other:?}"),
        }
        assert!(sent.reply().starts_with("acknowledged db01!MySQL until "), "{}", sent.reply());
        let (_, comment) = acknowledged(&Chat::alice(), "ack web01 HTTP for the deploy");
        assert_eq!(comment, "for the deploy");
        assert!(Chat::alice().send("ack web01 HTTP for 5s").reply().contains("between 1m and 366d"));
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

    #[test]
    fn in_a_group_thread_ack_acknowledges_every_open_member_with_one_audit_record() {
        let members = vec![ObjectRef::service("web01", "HTTP"), ObjectRef::service("db01", "MySQL")];
        let sent = Chat::alice().in_group(members.clone()).send("ack on it");
        assert_eq!(sent.executed.len(), 2, "{}", sent.reply());
        assert!(sent
            .executed
            .iter()
            .all(|(action, _)| matches!(action, Action::Acknowledge { comment, .. } if comment == "on it")));
        assert!(sent.reply().starts_with("ack for the 2 open members of this group: 2 confirmed"), "{}", sent.reply());
        let one = Chat::alice().in_group(vec![ObjectRef::service("web01", "HTTP")]).send("ack");
        assert!(one.reply().starts_with("ack for the 1 open member of this group: 1 confirmed"), "{}", one.reply());
        assert!(sent.reply().contains("\n• db01!MySQL: acknowledged db01!MySQL"), "{}", sent.reply());
        let audit = sent.audit();
        assert_eq!(
            (audit.command.as_deref(), audit.result.as_str(), audit.allowed),
            (Some("ack"), "group: 2 confirmed", true)
        );
        assert!(audit.parsed.as_deref().unwrap_or_default().contains(r#""member":"web01!HTTP""#), "{audit:?}");

        // bob may ack web* only: one member goes through, the other is refused on its own.
        let bob = Chat::as_user("U2", "bob").in_group(members.clone()).send("ack");
        assert_eq!(bob.executed.len(), 1);
        assert!(
            bob.reply().contains("1 confirmed, 1 refused") || bob.reply().contains("1 refused, 1 confirmed"),
            "{}",
            bob.reply()
        );
        assert!(!bob.audit().allowed);

        // Naming an object of its own is the ordinary command, even in a group's thread.
        let own = Chat::alice().in_group(members.clone()).send("ack web02 HTTP checking");
        assert_eq!(own.executed.len(), 1);
        assert!(
            matches!(own.action(), Action::Acknowledge { target, .. } if *target == ObjectRef::service("web02", "HTTP"))
        );
    }

    /// 2,000 hosts of a storm, as the group's thread would list them.
    fn storm(hosts: &str) -> Vec<ObjectRef> {
        (0..2000).map(|n| ObjectRef::service(format!("{hosts}{n:04}"), "PING")).collect()
    }

    #[test]
    fn a_stranger_acking_a_storm_groups_thread_costs_no_state_read_and_acts_on_nothing() {
        let sent = Chat::as_user("U9", "mallory").in_group(storm("web")).send("ack");
        assert_eq!(sent.state_reads, 0, "refused before any state was read");
        assert!(sent.executed.is_empty());
        assert!(
            sent.reply().starts_with("refused: mallory may not `ack` (chat id `U9` has no role"),
            "{}",
            sent.reply()
        );
        let audit = sent.audit();
        assert_eq!((audit.command.as_deref(), audit.allowed, audit.parsed.as_deref()), (Some("ack"), false, None));
        // A role that grants no `ack` at all: the same.
        let sent = Chat::as_user("U5", "erin").in_group(storm("web")).send("ack");
        assert_eq!((sent.state_reads, sent.executed.len()), (0, 0), "{}", sent.reply());
    }

    #[test]
    fn a_role_that_covers_none_of_a_storms_members_costs_one_state_read_and_acts_on_nothing() {
        // bob may ack web* only; none of these hosts is.
        let sent = Chat::as_user("U2", "bob").in_group(storm("edge")).send("ack");
        assert_eq!(sent.state_reads, 1, "one snapshot serves every member");
        assert!(sent.executed.is_empty());
        assert!(
            sent.reply().starts_with("ack for the 2000 open members of this group: 2000 refused"),
            "{}",
            sent.reply()
        );
        assert!(!sent.audit().allowed);
    }
}
