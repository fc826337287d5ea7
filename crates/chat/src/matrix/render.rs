//! How messages look in Matrix: an `m.room.message` with an HTML `formatted_body` and a plain
//! `body` fallback. Everything from outside (plugin output, names, people's words) is
//! HTML-escaped and shown as code, texts are cut well below Matrix's 64 KiB event limit, and
//! every message carries an empty `m.mentions`, so nothing in it can ping a person or `@room`.

use crate::{AlertCard, Outbound};
use hagios_domain::State;
use serde_json::{json, Value};
use std::time::{Duration, UNIX_EPOCH};

/// Characters of plugin output or reply text shown in one message, and of each history line.
/// A character takes at most 12 bytes in the event (6 in the JSON-escaped `body`, 6 escaped in
/// `formatted_body`), so (3000 + 10 × 150) × 12 stays below Matrix's 64 KiB event limit; an edit
/// carries the content once, with only the heading as its fallback.
const TEXT_LIMIT: usize = 3000;
const HISTORY_LINE_LIMIT: usize = 150;
/// Lines of "who did what" shown on the alert; older ones stay in the thread.
const HISTORY_SHOWN: usize = 10;

/// Reactions people can put on an alert, and the chat command each stands for.
pub const REACTIONS: [(&str, &str); 2] = [("✅", "ack"), ("🔁", "recheck")];

/// The chat command a reaction stands for; emoji variation selectors are ignored.
pub fn reaction_command(key: &str) -> Option<&'static str> {
    let key = key.trim_end_matches('\u{FE0F}');
    REACTIONS.iter().find(|(emoji, _)| *emoji == key).map(|(_, command)| *command)
}

/// A message as its content: `msgtype`, `body`, `format`, `formatted_body`, `m.mentions`.
pub fn content(message: &Outbound) -> Value {
    let (msgtype, body, html) = match message {
        Outbound::Alert(card) => ("m.text", alert_text(card), alert_html(card)),
        Outbound::Update { kind, state, object, text } => {
            let (shown, cut) = cut(text);
            let heading = format!("{} {kind} {object} is {state}", emoji(*state));
            let html_heading = format!(
                "{} <b>{kind}</b> <code>{}</code> is <b>{state}</b>",
                emoji(*state),
                escape(&object.to_string())
            );
            let body = if shown.is_empty() { heading } else { format!("{heading}\n{shown}{cut}") };
            let html = if shown.is_empty() { html_heading } else { format!("{html_heading}{}", pre(&shown, cut)) };
            ("m.text", body, html)
        }
        // Replies are notices: bots do not answer notices, so two bots cannot talk in circles.
        Outbound::Text(text) => plain("m.notice", text),
        // A group's message is an alert people react to (✅ acknowledges every open member).
        Outbound::Group { text, .. } => plain("m.text", text),
    };
    json!({
        "msgtype": msgtype,
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": {},
    })
}

/// Plain text as `msgtype`, cut to the size limit, with its HTML twin.
fn plain<'a>(msgtype: &'a str, text: &str) -> (&'a str, String, String) {
    let (shown, cut) = cut(text);
    (msgtype, format!("{shown}{cut}"), format!("{}{cut}", escape(&shown).replace('\n', "<br>")))
}

/// The content of an edit of `event_id` to show `message` (`m.replace` with `m.new_content`;
/// the outer body, for clients without edits, is the first line only, so that the event does
/// not carry the text twice).
pub fn edit(event_id: &str, message: &Outbound) -> Value {
    let new_content = content(message);
    let mut outer = new_content.clone();
    for field in ["body", "formatted_body"] {
        let first_line = new_content[field].as_str().unwrap_or_default().lines().next().unwrap_or_default();
        let first_line = first_line.split("<pre>").next().unwrap_or_default();
        outer[field] = Value::String(format!("* {first_line}"));
    }
    outer["m.new_content"] = new_content;
    outer["m.relates_to"] = json!({ "rel_type": "m.replace", "event_id": event_id });
    outer
}

/// Puts `content` into the thread under `root` (with the reply fallback for older clients).
pub fn in_thread(content: &mut Value, root: &str) {
    content["m.relates_to"] = json!({
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": true,
        "m.in_reply_to": { "event_id": root },
    });
}

fn alert_text(card: &AlertCard) -> String {
    let (output, cut) = cut(&full_output(card));
    let mut lines = vec![format!("{} {} {} is {}", emoji(card.state), card.kind, card.object, card.state)];
    if !output.is_empty() {
        lines.push(format!("{output}{cut}"));
    }
    lines.extend(history(card).iter().map(|line| format!("• {line}")));
    lines.push(footer(card));
    lines.join("\n")
}

fn alert_html(card: &AlertCard) -> String {
    let (output, cut) = cut(&full_output(card));
    let mut html = format!(
        "{} <b>{}</b> <code>{}</code> is <b>{}</b>",
        emoji(card.state),
        card.kind,
        escape(&card.object.to_string()),
        card.state
    );
    if !output.is_empty() {
        html.push_str(&pre(&output, cut));
    }
    let history = history(card);
    if !history.is_empty() {
        let items: String = history.iter().map(|line| format!("<li>{}</li>", escape(line))).collect();
        html.push_str(&format!("<ul>{items}</ul>"));
    }
    html.push_str(&format!("<p><i>{}</i></p>", escape(&footer(card))));
    html
}

fn full_output(card: &AlertCard) -> String {
    if card.long_output.is_empty() {
        card.output.clone()
    } else {
        format!("{}\n{}", card.output, card.long_output)
    }
}

fn history(card: &AlertCard) -> Vec<String> {
    let shown = &card.history[card.history.len().saturating_sub(HISTORY_SHOWN)..];
    shown.iter().map(|line| line.chars().take(HISTORY_LINE_LIMIT).collect()).collect()
}

/// Site, time, status and, while open, how to act on it.
fn footer(card: &AlertCard) -> String {
    let time = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(card.time.max(0) as u64));
    let status = if card.open {
        "open · reply in this thread mentioning hagios (e.g. “ack looking”) or react ✅ to acknowledge, 🔁 to recheck"
    } else {
        "closed"
    };
    format!("site {} · {time} · {status}", card.site)
}

fn pre(text: &str, cut: &str) -> String {
    format!("<pre><code>{}</code></pre>{}", escape(text), escape(cut))
}

fn emoji(state: State) -> &'static str {
    match state {
        State::Ok | State::Up => "🟢",
        State::Warning => "🟡",
        State::Critical | State::Down => "🔴",
        State::Unknown | State::Unreachable => "🟣",
        State::Pending => "⚪",
    }
}

/// The first `TEXT_LIMIT` characters, and a note when there were more.
fn cut(text: &str) -> (String, &'static str) {
    let shown: String = text.chars().take(TEXT_LIMIT).collect();
    let note = if shown.len() < text.len() { "\n… (shortened: the full text is in Nagios)" } else { "" };
    (shown, note)
}

/// HTML-escapes text so that it can neither open tags nor end attributes.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::card;

    #[test]
    fn alert_has_html_and_a_plain_fallback_and_mentions_nobody() {
        let content = content(&Outbound::Alert(card("CRITICAL - refused")));
        let html = content["formatted_body"].as_str().unwrap();
        let body = content["body"].as_str().unwrap();
        assert!(html.starts_with("🔴 <b>PROBLEM</b> <code>web01!HTTP</code> is <b>CRITICAL</b>"), "{html}");
        assert!(html.contains("<pre><code>CRITICAL - refused</code></pre>"), "{html}");
        assert!(html.contains("<li>acknowledged (CRITICAL) by alice: on it</li>"), "{html}");
        assert!(body.starts_with("🔴 PROBLEM web01!HTTP is CRITICAL\nCRITICAL - refused\n• acknowledged"), "{body}");
        assert!(body.contains("2023-11-14T22:13:20Z") && body.contains("react ✅"), "{body}");
        assert_eq!(
            (content["msgtype"].as_str(), content["format"].as_str()),
            (Some("m.text"), Some("org.matrix.custom.html"))
        );
        assert_eq!(content["m.mentions"], json!({}));

        let closed = content_of(AlertCard { open: false, state: State::Ok, ..card("OK") });
        assert!(closed.starts_with("🟢") && closed.contains("closed") && !closed.contains("react"), "{closed}");
    }

    fn content_of(card: AlertCard) -> String {
        content(&Outbound::Alert(card))["body"].as_str().unwrap().to_owned()
    }

    #[test]
    fn hostile_text_cannot_open_tags_ping_or_break_out() {
        let evil = "<script>alert(1)</script> & <a href=\"https://matrix.to/#/@room\">x</a> @room '";
        let content = content(&Outbound::Alert(card(evil)));
        let html = content["formatted_body"].as_str().unwrap();
        assert!(!html.contains("<script") && !html.contains("<a "), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;a href=&quot;https"), "{html}");
        assert!(html.contains("&#39;"), "{html}");
        assert_eq!(content["m.mentions"], json!({}), "@room in the text mentions nobody");
        let reply = super::content(&Outbound::Text("a < b\nc & d".into()));
        assert_eq!(reply["formatted_body"], "a &lt; b<br>c &amp; d");
        assert_eq!((reply["body"].as_str(), reply["msgtype"].as_str()), (Some("a < b\nc & d"), Some("m.notice")));
    }

    #[test]
    fn long_text_is_cut_below_the_event_limit_even_in_an_edit() {
        let edit = edit("$root", &Outbound::Alert(card(&"<".repeat(100_000))));
        assert!(edit.to_string().len() < 65_536 - 1024, "{} bytes", edit.to_string().len());
        assert!(edit["m.new_content"]["body"].as_str().unwrap().contains("shortened"));
    }

    #[test]
    fn edits_replace_and_thread_replies_relate_to_their_root() {
        let edit = edit("$root", &Outbound::Text("now".into()));
        assert_eq!(edit["m.relates_to"], json!({ "rel_type": "m.replace", "event_id": "$root" }));
        assert_eq!((edit["body"].as_str(), edit["m.new_content"]["body"].as_str()), (Some("* now"), Some("now")));
        let mut reply = content(&Outbound::Text("hi".into()));
        in_thread(&mut reply, "$root");
        assert_eq!(reply["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(reply["m.relates_to"]["m.in_reply_to"]["event_id"], "$root");
    }

    proptest::proptest! {
        /// Whatever plugin output or reply text holds, the HTML has no tag but hagios' own and
        /// an edit of the alert stays below Matrix's 64 KiB event limit.
        #[test]
        fn arbitrary_text_never_makes_tags_or_oversized_events(
            text in "\\PC{0,300}|(<|>|&|\"|'|<script>|</pre>|@room|\\n|\u{1}|\u{202e}|\u{1F534}){0,40}",
            repeat in 1usize..300,
        ) {
            let text = text.repeat(repeat);
            let hostile = AlertCard { history: vec![text.clone(); 20], ..card(&text) };
            for message in [Outbound::Alert(hostile), Outbound::Text(text.clone())] {
                let edit = edit("$root", &message);
                proptest::prop_assert!(edit.to_string().len() < 65_536 - 1024);
                let mut html = edit["m.new_content"]["formatted_body"].as_str().unwrap().to_owned();
                for tag in ["b", "code", "pre", "ul", "li", "p", "i"] {
                    html = html.replace(&format!("<{tag}>"), "").replace(&format!("</{tag}>"), "");
                }
                html = html.replace("<br>", "");
                proptest::prop_assert!(!html.contains('<') && !html.contains('>'), "{}", html);
            }
        }
    }

    #[test]
    fn reactions_map_through_hagios_table_only() {
        assert_eq!(reaction_command("✅"), Some("ack"));
        assert_eq!(reaction_command("🔁\u{FE0F}"), Some("recheck"));
        assert_eq!(reaction_command("👍"), None);
    }
}
