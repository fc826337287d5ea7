//! How messages look in Matrix: an `m.room.message` with an HTML `formatted_body` and a plain
//! `body` fallback. Everything from outside (plugin output, names, people's words) is
//! HTML-escaped and shown as code, every message carries an empty `m.mentions`, so nothing in it
//! can ping a person or `@room`, and every event stays well below Matrix's 64 KiB limit: text
//! longer than one message goes on in thread replies after it (an edit, which cannot add
//! replies, is cut with a note).

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
/// The notes after a text that goes on in the thread, and after one an edit had to cut.
const CONTINUED: &str = "\n… continued in the thread";
const SHORTENED: &str = "\n… (shortened: the thread or Nagios has the full text)";

/// Reactions people can put on an alert, and the chat command each stands for.
pub const REACTIONS: [(&str, &str); 2] = [("✅", "ack"), ("🔁", "recheck")];

/// The chat command a reaction stands for; emoji variation selectors are ignored.
pub fn reaction_command(key: &str) -> Option<&'static str> {
    let key = key.trim_end_matches('\u{FE0F}');
    REACTIONS.iter().find(|(emoji, _)| *emoji == key).map(|(_, command)| *command)
}

/// A message to post: its content, and the text that did not fit as the contents of thread
/// replies to post after it, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub content: Value,
    pub continuation: Vec<Value>,
}

/// What becomes of text longer than one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rest {
    /// It goes on in thread replies after the message.
    InThread,
    /// It is left out with a note: an edit cannot add replies.
    Dropped,
}

/// How a text is shown: plugin output as code, replies and group lists as lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    Code,
    Lines,
}

/// Long text: the part shown in the message, the note after it, and the rest in pieces.
struct Split {
    shown: String,
    note: &'static str,
    rest: Vec<String>,
}

impl Split {
    fn new(text: &str, rest: Rest) -> Self {
        let mut pieces = pieces(text, TEXT_LIMIT).into_iter();
        let shown = pieces.next().unwrap_or_default();
        let more: Vec<String> = pieces.collect();
        match (more.is_empty(), rest) {
            (true, _) => Split { shown, note: "", rest: more },
            (false, Rest::InThread) => Split { shown, note: CONTINUED, rest: more },
            (false, Rest::Dropped) => Split { shown, note: SHORTENED, rest: Vec::new() },
        }
    }

    /// The shown part with its note, as plain text and as HTML.
    fn body_and_html(&self, look: Look) -> (String, String) {
        let body = format!("{}{}", self.shown, self.note);
        let html = match look {
            Look::Code => format!("<pre><code>{}</code></pre>{}", escape(&self.shown), escape(self.note)),
            Look::Lines => lines_html(&body),
        };
        (body, html)
    }

    /// The rest as thread replies: notices, which bots do not answer and reactions do not count on.
    fn continuation(&self, look: Look) -> Vec<Value> {
        self.rest
            .iter()
            .map(|piece| {
                let html = match look {
                    Look::Code => format!("<pre><code>{}</code></pre>", escape(piece)),
                    Look::Lines => lines_html(piece),
                };
                event("m.notice", piece, &html)
            })
            .collect()
    }
}

/// A message as it is posted, with what goes on in its thread.
pub fn message(message: &Outbound) -> Rendered {
    render(message, Rest::InThread)
}

fn render(message: &Outbound, rest: Rest) -> Rendered {
    match message {
        Outbound::Alert(card) => {
            let output = Split::new(&full_output(card), rest);
            let content = event("m.text", &alert_text(card, &output), &alert_html(card, &output));
            Rendered { content, continuation: output.continuation(Look::Code) }
        }
        Outbound::Update { kind, state, object, text } => {
            let split = Split::new(text, rest);
            let mut body = format!("{} {kind} {object} is {state}", emoji(*state));
            let mut html = format!(
                "{} <b>{kind}</b> <code>{}</code> is <b>{state}</b>",
                emoji(*state),
                escape(&object.to_string())
            );
            if !split.shown.is_empty() {
                let (text, text_html) = split.body_and_html(Look::Code);
                body = format!("{body}\n{text}");
                html.push_str(&text_html);
            }
            Rendered { content: event("m.text", &body, &html), continuation: split.continuation(Look::Code) }
        }
        // Replies are notices: bots do not answer notices, so two bots cannot talk in circles.
        Outbound::Text(text) => lines("m.notice", text, rest),
        // Clients' default push rules keep quiet about notices; a reminder is meant to be heard.
        Outbound::Reminder(text) => lines("m.text", text, rest),
        // A group's message is an alert people react to (✅ acknowledges every open member).
        Outbound::Group(card) => lines("m.text", &crate::group::text(card), rest),
        Outbound::Page { mentions, everyone, text } => page(mentions, *everyone, text),
    }
}

/// A page: each person with a Matrix id as a pill, listed in `m.mentions` (what makes clients
/// notify them), `@room` for everyone; the others named in plain text.
fn page(mentions: &[crate::Mention], everyone: bool, text: &str) -> Rendered {
    let text: String = text.chars().take(TEXT_LIMIT).collect();
    let mut body = Vec::new();
    let mut html = Vec::new();
    let mut user_ids = Vec::new();
    if everyone {
        body.push("@room".to_owned());
        html.push("@room".to_owned());
    }
    for mention in mentions {
        match &mention.user_id {
            Some(id) if super::is_user_id(id) => {
                body.push(id.clone());
                html.push(format!("<a href=\"https://matrix.to/#/{}\">{}</a>", escape(id), escape(id)));
                user_ids.push(id.clone());
            }
            _ => {
                body.push(mention.name.clone());
                html.push(escape(&mention.name));
            }
        }
    }
    let body = format!("{} {text}", body.join(" "));
    let html = format!("{} {}", html.join(" "), lines_html(&text));
    let mut content = event("m.text", &body, &html);
    content["m.mentions"] = json!({ "user_ids": user_ids });
    if everyone {
        content["m.mentions"]["room"] = Value::Bool(true);
    }
    Rendered { content, continuation: Vec::new() }
}

/// A file in the media repository at `uri`, as a message: an image shows inline, anything else
/// is offered for download.
pub fn file(uri: &str, file: &crate::Attachment) -> Value {
    let msgtype = if file.mime.starts_with("image/") { "m.image" } else { "m.file" };
    json!({
        "msgtype": msgtype,
        "body": file.name,
        "filename": file.name,
        "url": uri,
        "info": { "mimetype": file.mime, "size": file.bytes.len() },
        "m.mentions": {},
    })
}

/// Lines of plain text as `msgtype`.
fn lines(msgtype: &str, text: &str, rest: Rest) -> Rendered {
    let split = Split::new(text, rest);
    let (body, html) = split.body_and_html(Look::Lines);
    Rendered { content: event(msgtype, &body, &html), continuation: split.continuation(Look::Lines) }
}

fn lines_html(text: &str) -> String {
    escape(text).replace('\n', "<br>")
}

/// The content of an `m.room.message`: `msgtype`, `body`, `format`, `formatted_body`, `m.mentions`.
fn event(msgtype: &str, body: &str, html: &str) -> Value {
    json!({
        "msgtype": msgtype,
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": {},
    })
}

/// The content of an edit of `event_id` to show `message` (`m.replace` with `m.new_content`;
/// the outer body, for clients without edits, is the first line only, so that the event does
/// not carry the text twice). What does not fit is left out with a note.
pub fn edit(event_id: &str, message: &Outbound) -> Value {
    let new_content = render(message, Rest::Dropped).content;
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

fn alert_text(card: &AlertCard, output: &Split) -> String {
    let mut lines = vec![format!("{} {} {} is {}", emoji(card.state), card.kind, card.object, card.state)];
    if !output.shown.is_empty() {
        lines.push(output.body_and_html(Look::Code).0);
    }
    lines.extend(history(card).iter().map(|line| format!("• {line}")));
    lines.push(footer(card));
    lines.join("\n")
}

fn alert_html(card: &AlertCard, output: &Split) -> String {
    let mut html = format!(
        "{} <b>{}</b> <code>{}</code> is <b>{}</b>",
        emoji(card.state),
        card.kind,
        escape(&card.object.to_string()),
        card.state
    );
    if !output.shown.is_empty() {
        html.push_str(&output.body_and_html(Look::Code).1);
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

fn emoji(state: State) -> &'static str {
    match state {
        State::Ok | State::Up => "🟢",
        State::Warning => "🟡",
        State::Critical | State::Down => "🔴",
        State::Unknown | State::Unreachable => "🟣",
        State::Pending => "⚪",
    }
}

/// Splits text into pieces of at most `limit` characters, between lines where a line fits (the
/// line break there is dropped) and inside a line only when it alone is longer.
fn pieces(text: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece: Option<(String, usize)> = None;
    for line in text.split('\n') {
        let width = line.chars().count();
        if let Some((text, length)) = &mut piece {
            if *length + 1 + width <= limit {
                text.push('\n');
                text.push_str(line);
                *length += 1 + width;
                continue;
            }
            pieces.push(std::mem::take(text));
        }
        let (mut text, mut length) = (String::new(), 0);
        for c in line.chars() {
            if length == limit {
                pieces.push(std::mem::take(&mut text));
                length = 0;
            }
            text.push(c);
            length += 1;
        }
        piece = Some((text, length));
    }
    pieces.extend(piece.map(|(text, _)| text));
    pieces
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
    fn a_page_pills_and_lists_the_people_it_mentions_and_nothing_else_can() {
        let mentions = vec![
            crate::Mention { name: "olive".into(), user_id: Some("@oncall:example.org".into()) },
            crate::Mention { name: "bob <b>".into(), user_id: None },
        ];
        let rendered = message(&Outbound::Page { mentions, everyone: false, text: "web01 <i>down</i> @room".into() });
        let content = &rendered.content;
        assert_eq!(content["m.mentions"], json!({ "user_ids": ["@oncall:example.org"] }));
        assert_eq!(content["body"], "@oncall:example.org bob <b> web01 <i>down</i> @room");
        assert_eq!(
            content["formatted_body"],
            "<a href=\"https://matrix.to/#/@oncall:example.org\">@oncall:example.org</a> bob &lt;b&gt; web01 \
             &lt;i&gt;down&lt;/i&gt; @room"
        );
        let everyone = message(&Outbound::Page { mentions: Vec::new(), everyone: true, text: "nobody acked".into() });
        assert_eq!(everyone.content["m.mentions"], json!({ "user_ids": [], "room": true }));
        assert!(everyone.content["body"].as_str().unwrap().starts_with("@room "));
        for other in [Outbound::Text("@room <a href=x>".into()), Outbound::Reminder("@room".into())] {
            assert_eq!(message(&other).content["m.mentions"], json!({}), "only pages mention");
        }
    }

    #[test]
    fn a_reminder_notifies_where_command_replies_are_notices() {
        assert_eq!(message(&Outbound::Reminder("Reminder: db01!disk".into())).content["msgtype"], "m.text");
        assert_eq!(message(&Outbound::Text("confirmed".into())).content["msgtype"], "m.notice");
    }

    #[test]
    fn alert_has_html_and_a_plain_fallback_and_mentions_nobody() {
        let content = message(&Outbound::Alert(card("CRITICAL - refused"))).content;
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
        message(&Outbound::Alert(card)).content["body"].as_str().unwrap().to_owned()
    }

    #[test]
    fn hostile_text_cannot_open_tags_ping_or_break_out() {
        let evil = "<script>alert(1)</script> & <a href=\"https://matrix.to/#/@room\">x</a> @room '";
        let content = message(&Outbound::Alert(card(evil))).content;
        let html = content["formatted_body"].as_str().unwrap();
        assert!(!html.contains("<script") && !html.contains("<a "), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;a href=&quot;https"), "{html}");
        assert!(html.contains("&#39;"), "{html}");
        assert_eq!(content["m.mentions"], json!({}), "@room in the text mentions nobody");
        let reply = message(&Outbound::Text("a < b\nc & d".into())).content;
        assert_eq!(reply["formatted_body"], "a &lt; b<br>c &amp; d");
        assert_eq!((reply["body"].as_str(), reply["msgtype"].as_str()), (Some("a < b\nc & d"), Some("m.notice")));
    }

    #[test]
    fn long_text_is_cut_below_the_event_limit_even_in_an_edit() {
        let edit = edit("$root", &Outbound::Alert(card(&"<".repeat(100_000))));
        assert!(edit.to_string().len() < 65_536 - 1024, "{} bytes", edit.to_string().len());
        assert!(edit["m.new_content"]["body"].as_str().unwrap().contains("shortened: the thread or Nagios"));
    }

    #[test]
    fn long_text_goes_on_in_the_thread_in_order_between_lines() {
        let members: Vec<String> =
            (0..500).map(|n| format!("• db{n:03}!MySQL CRITICAL - connection refused")).collect();
        let group = message(&Outbound::Reminder(members.join("\n")));
        let first = group.content["body"].as_str().unwrap();
        assert!(first.ends_with(CONTINUED), "{first}");
        assert_eq!(group.content["msgtype"], "m.text", "a reminder stays a message that notifies");
        let group_card = message(&Outbound::Group(hagios_domain::GroupCard::empty("local", 0)));
        assert_eq!(group_card.content["msgtype"], "m.text", "a group message is an alert to react on");
        let mut arrived: Vec<&str> = first.strip_suffix(CONTINUED).unwrap().split('\n').collect();
        for part in &group.continuation {
            let body = part["body"].as_str().unwrap();
            assert!(body.chars().count() <= TEXT_LIMIT, "{} characters", body.chars().count());
            assert_eq!(part["msgtype"], "m.notice");
            assert_eq!(part["m.mentions"], json!({}));
            assert_eq!(part["formatted_body"], lines_html(body));
            arrived.extend(body.split('\n'));
        }
        assert!(group.continuation.len() >= 5, "{} replies", group.continuation.len());
        assert_eq!(arrived, members, "every line whole, once, in order");

        let output = message(&Outbound::Alert(card(&"<".repeat(10_000))));
        assert!(output.content["body"].as_str().unwrap().contains(CONTINUED), "{}", output.content["body"]);
        let rest: String = output.continuation.iter().map(|part| part["body"].as_str().unwrap()).collect();
        assert_eq!(rest.len(), 10_000 - TEXT_LIMIT, "plugin output without lines is cut inside the line");
        assert!(output
            .continuation
            .iter()
            .all(|part| part["formatted_body"].as_str().unwrap().starts_with("<pre><code>&lt;")));
        assert!(message(&Outbound::Text("short".into())).continuation.is_empty());
        let edited = edit("$root", &Outbound::Reminder(members.join("\n")));
        assert!(edited["m.new_content"]["body"].as_str().unwrap().ends_with(SHORTENED), "an edit cannot add replies");
    }

    #[test]
    fn edits_replace_and_thread_replies_relate_to_their_root() {
        let edit = edit("$root", &Outbound::Text("now".into()));
        assert_eq!(edit["m.relates_to"], json!({ "rel_type": "m.replace", "event_id": "$root" }));
        assert_eq!((edit["body"].as_str(), edit["m.new_content"]["body"].as_str()), (Some("* now"), Some("now")));
        let mut reply = message(&Outbound::Text("hi".into())).content;
        in_thread(&mut reply, "$root");
        assert_eq!(reply["m.relates_to"]["rel_type"], "m.thread");
        assert_eq!(reply["m.relates_to"]["m.in_reply_to"]["event_id"], "$root");
    }

    proptest::proptest! {
        /// Whatever plugin output or reply text holds, the HTML has no tag but hagios' own and
        /// an edit of the alert, as each continuation, stays below Matrix's 64 KiB event limit.
        #[test]
        fn arbitrary_text_never_makes_tags_or_oversized_events(
            text in "\\PC{0,300}|(<|>|&|\"|'|<script>|</pre>|@room|\\n|\u{1}|\u{202e}|\u{1F534}){0,40}",
            repeat in 1usize..300,
        ) {
            let text = text.repeat(repeat);
            let hostile = AlertCard { history: vec![text.clone(); 20], ..card(&text) };
            for message in [Outbound::Alert(hostile), Outbound::Text(text.clone())] {
                let edit = edit("$root", &message);
                let mut events = super::message(&message).continuation;
                events.push(edit["m.new_content"].clone());
                proptest::prop_assert!(edit.to_string().len() < 65_536 - 1024);
                for event in events {
                    proptest::prop_assert!(event.to_string().len() < 65_536 - 1024);
                    let mut html = event["formatted_body"].as_str().unwrap().to_owned();
                    for tag in ["b", "code", "pre", "ul", "li", "p", "i"] {
                        html = html.replace(&format!("<{tag}>"), "").replace(&format!("</{tag}>"), "");
                    }
                    html = html.replace("<br>", "");
                    proptest::prop_assert!(!html.contains('<') && !html.contains('>'), "{}", html);
                }
            }
        }
    }

    proptest::proptest! {
        /// Pieces stay within the limit and lose nothing but the line breaks they were split at;
        /// a piece ends inside a line only when the line alone is longer than the limit.
        #[test]
        fn pieces_split_between_lines_and_lose_nothing(text in "(a{0,12}\n){0,30}a{0,40}", limit in 1usize..20) {
            let pieces = pieces(&text, limit);
            proptest::prop_assert!(pieces.iter().all(|piece| piece.chars().count() <= limit));
            proptest::prop_assert_eq!(pieces.concat().replace('\n', ""), text.replace('\n', ""));
            if text.split('\n').all(|line| line.chars().count() <= limit) {
                proptest::prop_assert_eq!(pieces.join("\n"), text);
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
