//! `help`: the command list, or one command's long help; generated from the command files.

use super::{Command, Input, ParseError, Parsed, ALL};
use crate::text::{free_text, shown};
use hagios_domain::suggest::closest;
use regex::Captures;

pub(crate) static COMMAND: Command = Command {
    name: "help",
    usage: "help [COMMAND]",
    summary: "list the commands, or explain one with examples",
    details: "Examples:\n• `help`\n• `help downtime`\n• `help downtime cancel`",
    permission: None,
    needs_state: false,
    // An empty message (just a mention of the bot) gets the command list too.
    routes: &[r"^(?:help|\?)(?:\s+(?P<topic>.*))?$", r"^$"],
    parse,
};

fn parse(captures: &Captures<'_>, _input: &Input<'_>) -> Result<Parsed, ParseError> {
    let topic = free_text(captures.name("topic").map_or("", |m| m.as_str())).to_lowercase();
    if topic.is_empty() {
        return Ok(Parsed::Answer { query: "help".into(), text: overview() });
    }
    let query = format!("help {topic}");
    match super::find(&topic) {
        Some(command) => Ok(Parsed::Answer { query, text: long_help(command) }),
        None => {
            let suggestion = match closest(&topic, ALL.iter().map(|command| command.name)) {
                Some(name) => format!(" — did you mean `help {name}`?"),
                None => String::new(),
            };
            Err(ParseError::Invalid(format!("no command `{}`{suggestion} `help` lists them all", shown(&topic))))
        }
    }
}

fn overview() -> String {
    let mut lines =
        vec!["Commands (a service is `HOST SERVICE`, `HOST \"TWO WORDS\"` or `HOST!SERVICE`; in an alert's thread \
         the target may be left out):"
            .to_owned()];
    lines.extend(ALL.iter().map(|command| format!("• `{}` — {}", command.usage, command.summary)));
    lines.push("`help COMMAND` explains one, with examples.".to_owned());
    lines.join("\n")
}

fn long_help(command: &Command) -> String {
    let who = match command.permission {
        Some(permission) => format!("Needs a [[role]] that grants `{permission}` on the object."),
        None => "Everyone may use it.".to_owned(),
    };
    format!("`{}` — {}\n{}\n{who}", command.usage, command.summary, command.details)
}

#[cfg(test)]
mod tests {
    use crate::commands::ALL;
    use crate::testing::Chat;

    #[test]
    fn lists_every_command_once() {
        let reply = Chat::as_user("U404", "stranger").send("help").dispatch.reply;
        for command in ALL {
            assert_eq!(reply.matches(&format!("`{}`", command.usage)).count(), 1, "{}", command.name);
        }
        assert_eq!(reply.lines().count(), ALL.len() + 2);
    }

    #[test]
    fn explains_one_command_with_examples() {
        let reply = Chat::alice().send("help ack").dispatch.reply;
        assert!(reply.starts_with("`ack HOST [SERVICE] [COMMENT…]` — acknowledge a problem"), "{reply}");
        assert!(reply.contains("`ack web01 HTTP deploying a fix`"));
        assert!(reply.ends_with("Needs a [[role]] that grants `ack` on the object."));
        let reply = Chat::alice().send("help  Downtime   cancel").dispatch.reply;
        assert!(reply.starts_with("`downtime cancel ID|NAME`"), "{reply}");
        assert!(Chat::alice().send("? status").reply().ends_with("Everyone may use it."));
    }

    #[test]
    fn unknown_topics_get_suggestions() {
        assert_eq!(
            Chat::alice().send("help akc").reply(),
            "no command `akc` — did you mean `help ack`? `help` lists them all"
        );
    }
}
