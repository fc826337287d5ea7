//! How messages look on a terminal: one header line with the message id, the text indented
//! below it, control characters from plugin output made harmless.

use crate::{AlertCard, Outbound};

/// A newly posted message, as a top-level message or inside the thread of `thread`.
pub fn posted(id: &str, thread: Option<&str>, message: &Outbound) -> String {
    let header = match thread {
        Some(parent) => format!("[#{id} in thread #{parent}]"),
        None => format!("[#{id}]"),
    };
    format!("{header} {}", body(message))
}

/// A message edited in place; terminals cannot redraw, so the new content is printed again.
pub fn edited(id: &str, message: &Outbound) -> String {
    format!("[#{id} edited] {}", body(message))
}

fn body(message: &Outbound) -> String {
    match message {
        Outbound::Alert(card) => alert(card),
        Outbound::Update { kind, state, object, text } => {
            indent(&format!("{kind} {object} is {state}{}", optional_line(text)))
        }
        Outbound::Text(text) | Outbound::Reminder(text) => indent(&sanitize(text)),
        Outbound::Page { mentions, everyone, text } => {
            let mut calls: Vec<String> = mentions.iter().map(|mention| format!("@{}", mention.name)).collect();
            if *everyone {
                calls.insert(0, "@here".to_owned());
            }
            indent(&sanitize(&format!("{} {text}", calls.join(" "))))
        }
        Outbound::Group(card) => {
            let hint = if card.any_open() {
                "\nreply in this thread with `#<id> ack [comment]` to acknowledge every open member"
            } else {
                ""
            };
            indent(&format!("{}{hint}", sanitize(&crate::group::text(card))))
        }
    }
}

fn alert(card: &AlertCard) -> String {
    let status = if card.open { "open" } else { "closed" };
    let mut text = format!(
        "{} {} is {} ({}, site {}, {status})",
        card.kind,
        card.object,
        card.state,
        timestamp(card.time),
        card.site
    );
    text.push_str(&optional_line(&card.output));
    if !card.long_output.is_empty() {
        text.push_str(&optional_line(&card.long_output));
    }
    for entry in &card.history {
        text.push_str(&optional_line(&format!("• {entry}")));
    }
    if card.open {
        text.push_str("\nreply in this thread with `#<id> ack [comment]`, `#<id> recheck`, `#<id> downtime 1h`");
    }
    indent(&text)
}

fn timestamp(epoch: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch.max(0).unsigned_abs());
    humantime::format_rfc3339_seconds(time).to_string()
}

fn optional_line(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("\n{}", sanitize(text))
    }
}

/// Escape sequences in plugin output could repaint or hijack the operator's terminal.
fn sanitize(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{FFFD}' } else { c }).collect()
}

/// Continuation lines are indented so that each message stays one visual block.
fn indent(text: &str) -> String {
    text.replace('\n', "\n    ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    #[test]
    fn alert_card_shows_object_state_output_and_history() {
        let card = AlertCard {
            site: "local".into(),
            object: ObjectRef::service("web01", "HTTP"),
            state: State::Critical,
            kind: NotificationType::Problem,
            output: "CRITICAL - refused".into(),
            long_output: String::new(),
            history: vec!["acknowledged by alice".into()],
            open: true,
            time: 1_700_000_000,
        };
        let text = posted("3", None, &Outbound::Alert(card));
        assert!(
            text.starts_with("[#3] PROBLEM web01!HTTP is CRITICAL (2023-11-14T22:13:20Z, site local, open)"),
            "{text}"
        );
        assert!(text.contains("\n    CRITICAL - refused\n    • acknowledged by alice"), "{text}");
    }

    #[test]
    fn escape_sequences_are_neutralised() {
        let text = posted("1", None, &Outbound::Text("a\u{1b}[2Jb\r\nc".into()));
        assert_eq!(text, "[#1] a\u{FFFD}[2Jb\u{FFFD}\n    c");
    }
}
