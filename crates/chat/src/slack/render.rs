//! How messages look in Slack: Block Kit with a state emoji, everything from outside (plugin
//! output, names, people's words) escaped for `&<>` so it can neither mention nor link, shown as
//! code so mrkdwn does not apply, and cut to Slack's block limits; what is cut goes to the thread.

use crate::{AlertCard, Outbound};
use hagios_domain::State;
use serde_json::{json, Value};

/// Slack's limit for a section's text; kept below with room for the code fences and the note.
const SECTION_TEXT: usize = 3000;
const SECTION_ROOM: usize = SECTION_TEXT - 100;
/// Slack's limit on blocks in one message.
const MAX_BLOCKS: usize = 50;
/// Lines of "who did what" shown on the card; older ones stay in the thread.
const HISTORY_SHOWN: usize = 10;
/// The fallback `text` (notifications, screen readers) is a summary.
const SUMMARY: usize = 300;

/// The buttons on an open incident: action id → the chat command it stands for.
pub const BUTTONS: [(&str, &str, &str); 3] = [
    ("hagios_ack", "Ack", "ack"),
    ("hagios_recheck", "Recheck", "recheck"),
    ("hagios_downtime_1h", "Downtime 1h", "downtime 1h"),
];

/// The buttons on a question waiting for a `yes`: action id → label, style, the chat command it
/// stands for (followed by the request's number, the button's value).
const QUESTION_BUTTONS: [(&str, &str, &str, &str); 2] =
    [("hagios_yes", "Yes", "primary", "yes"), ("hagios_cancel", "Cancel", "danger", "cancel")];

/// A message as `chat.postMessage` / `chat.update` take it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The fallback text Slack shows in notifications.
    pub text: String,
    pub blocks: Vec<Value>,
    /// Text that did not fit, for thread replies after the message itself.
    pub overflow: Vec<String>,
    /// A thread reply shown in the channel as well (`reply_broadcast`).
    pub broadcast: bool,
}

/// The chat command a button stands for, or `None` for an action hagios did not create.
pub fn button_command(action_id: &str) -> Option<&'static str> {
    BUTTONS.iter().find(|(id, _, _)| *id == action_id).map(|(_, _, command)| *command)
}

/// The chat command a question's button stands for: `yes 4` / `cancel 4`. Only hagios' own action
/// ids count, and the value must be a request number, so a forged payload names at most another
/// request — which the router authorizes like a typed `yes 4`.
pub fn question_command(action_id: &str, value: &str) -> Option<String> {
    let (_, _, _, command) = QUESTION_BUTTONS.iter().find(|(id, ..)| *id == action_id)?;
    let number = (1..=12).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
    number.then(|| format!("{command} {value}"))
}

/// A question with its Yes and Cancel buttons.
pub fn question(text: &str, request: u32) -> Rendered {
    let mut rendered = render(&Outbound::Text(text.to_owned()));
    let buttons: Vec<Value> = QUESTION_BUTTONS
        .iter()
        .map(|(action_id, label, style, _)| {
            json!({
                "type": "button", "action_id": action_id, "value": request.to_string(), "style": style,
                "text": { "type": "plain_text", "text": label }
            })
        })
        .collect();
    rendered.blocks.truncate(MAX_BLOCKS - 1);
    rendered.blocks.push(json!({ "type": "actions", "block_id": "hagios_question", "elements": buttons }));
    rendered
}

pub fn render(message: &Outbound) -> Rendered {
    match message {
        Outbound::Alert(card) => alert(card),
        Outbound::Update { kind, state, object, text } => {
            let heading = format!("{} *{kind}* {} is *{state}*", emoji(*state), code(&object.to_string()));
            let (body, overflow) = fit(text);
            let mut blocks = vec![section(&heading)];
            if !body.is_empty() {
                blocks.push(section(&code_block(&body, !overflow.is_empty())));
            }
            Rendered {
                text: summary(&format!("{kind} {object} is {state}: {text}")),
                blocks,
                overflow,
                broadcast: false,
            }
        }
        Outbound::Text(text) => plain(text, MAX_BLOCKS),
        Outbound::Reminder(text) => Rendered { broadcast: true, ..plain(text, MAX_BLOCKS) },
        Outbound::Page { mentions, everyone, text } => {
            let mut calls: Vec<String> = mentions
                .iter()
                .map(|mention| match &mention.user_id {
                    Some(id) if super::is_user_id(id) => format!("<@{id}>"),
                    _ => escape(&mention.name),
                })
                .collect();
            if *everyone {
                calls.insert(0, "<!here>".to_owned());
            }
            let (shown, overflow) = fit(text);
            let line = format!("{} {}", calls.join(" "), escape(&shown));
            Rendered { text: line.clone(), blocks: vec![section(&line)], overflow, broadcast: false }
        }
        Outbound::Group(card) => {
            let mut rendered = plain(&crate::group::text(card), MAX_BLOCKS - 1);
            if card.any_open() {
                rendered.blocks.push(actions(&BUTTONS[..1]));
            }
            rendered
        }
    }
}

/// Text in sections of at most `max_blocks`; the rest overflows to the thread.
fn plain(text: &str, max_blocks: usize) -> Rendered {
    let chunks = chunks(text, SECTION_ROOM);
    let shown = chunks.len().min(max_blocks);
    let blocks = chunks[..shown].iter().map(|chunk| section(&escape(chunk))).collect();
    Rendered { text: summary(text), blocks, overflow: chunks[shown..].to_vec(), broadcast: false }
}

/// A row of buttons, each standing for the chat command in its value.
fn actions(buttons: &[(&str, &str, &str)]) -> Value {
    let elements: Vec<Value> = buttons
        .iter()
        .map(|(action_id, label, command)| {
            json!({ "type": "button", "action_id": action_id, "value": command, "text": { "type": "plain_text", "text": label } })
        })
        .collect();
    json!({ "type": "actions", "block_id": "hagios_incident", "elements": elements })
}

fn alert(card: &AlertCard) -> Rendered {
    let status = if card.open { "open" } else { "closed" };
    let heading =
        format!("{} *{}* {} is *{}*", emoji(card.state), card.kind, code(&card.object.to_string()), card.state);
    let full_output = if card.long_output.is_empty() {
        card.output.clone()
    } else {
        format!("{}\n{}", card.output, card.long_output)
    };
    let (output, overflow) = fit(&full_output);
    let mut blocks = vec![section(&heading)];
    if !output.is_empty() {
        blocks.push(section(&code_block(&output, !overflow.is_empty())));
    }
    let shown = card.history.len().saturating_sub(HISTORY_SHOWN);
    if !card.history[shown..].is_empty() {
        let lines: Vec<String> = card.history[shown..].iter().map(|line| format!("• {}", escape(line))).collect();
        let (history, _) = fit(&lines.join("\n"));
        blocks.push(section(&history));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!("site {} · <!date^{}^{{date_short_pretty}} {{time}}|{}> · {status}", escape(&card.site), card.time, card.time) }]
    }));
    if card.open {
        blocks.push(actions(&BUTTONS));
    }
    let text = summary(&format!("{} {} is {}: {}", card.kind, card.object, card.state, card.output));
    Rendered { text, blocks, overflow, broadcast: false }
}

fn emoji(state: State) -> &'static str {
    match state {
        State::Ok | State::Up => ":large_green_circle:",
        State::Warning => ":large_yellow_circle:",
        State::Critical | State::Down => ":red_circle:",
        State::Unknown | State::Unreachable => ":large_purple_circle:",
        State::Pending => ":white_circle:",
    }
}

fn section(mrkdwn: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": mrkdwn } })
}

/// Slack reads `&`, `<` and `>` as the start of entities, mentions (`<!channel>`) and links.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Inline code: mrkdwn does not apply inside; backticks become a look-alike so they cannot end it.
fn code(text: &str) -> String {
    format!("`{}`", escape(&text.replace('`', "\u{02CB}")))
}

fn code_block(text: &str, cut: bool) -> String {
    let note = if cut { "\n_output shortened: the full text is in the thread_" } else { "" };
    format!("```{}```{note}", escape(&text.replace('`', "\u{02CB}")))
}

/// The part of `text` that fits one section (after escaping), and the rest in chunks.
fn fit(text: &str) -> (String, Vec<String>) {
    let mut chunks = chunks(text, SECTION_ROOM).into_iter();
    let first = chunks.next().unwrap_or_default();
    (first, chunks.collect())
}

/// Splits text into pieces whose escaped form stays within `limit` characters.
fn chunks(text: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut length = 0;
    for c in text.chars() {
        let width = match c {
            '&' => 5,
            '<' | '>' => 4,
            _ => 1,
        };
        if length + width > limit {
            pieces.push(std::mem::take(&mut piece));
            length = 0;
        }
        piece.push(c);
        length += width;
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

fn summary(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or_default();
    let mut summary: String = first_line.chars().take(SUMMARY).collect();
    if summary.len() < text.len() {
        summary.push('…');
    }
    escape(&summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::card;
    use hagios_domain::{GroupCard, ObjectRef};

    fn all_text(blocks: &[Value]) -> String {
        blocks.iter().map(|b| b["text"]["text"].as_str().unwrap_or_default()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn alert_shows_state_object_output_history_and_buttons() {
        let rendered = render(&Outbound::Alert(card("CRITICAL - refused")));
        let text = all_text(&rendered.blocks);
        assert!(text.contains(":red_circle: *PROBLEM* `web01!HTTP` is *CRITICAL*"), "{text}");
        assert!(text.contains("```CRITICAL - refused```"), "{text}");
        assert!(text.contains("• acknowledged (CRITICAL) by alice: on it"), "{text}");
        let actions = rendered.blocks.iter().find(|b| b["type"] == "actions").expect("buttons");
        let commands: Vec<_> = actions["elements"].as_array().unwrap().iter().map(|e| e["value"].clone()).collect();
        assert_eq!(commands, ["ack", "recheck", "downtime 1h"]);
        assert_eq!(button_command("hagios_downtime_1h"), Some("downtime 1h"));
        assert_eq!(button_command("something_else"), None);

        let closed = AlertCard { open: false, state: State::Ok, ..card("OK") };
        let rendered = render(&Outbound::Alert(closed));
        assert!(rendered.blocks.iter().all(|b| b["type"] != "actions"), "no buttons once recovered");
        assert!(all_text(&rendered.blocks).starts_with(":large_green_circle:"));
    }

    #[test]
    fn hostile_output_cannot_mention_link_or_format() {
        let evil = "x\n[0] RESTART_PROGRAM; <!channel> <https://evil|click> & `code` *bold*";
        let rendered = render(&Outbound::Alert(card(evil)));
        let text = all_text(&rendered.blocks);
        assert!(!text.contains("<!channel>") && !text.contains("<https"), "{text}");
        assert!(text.contains("&lt;!channel&gt; &lt;https://evil|click&gt; &amp; ˋcodeˋ *bold*```"), "{text}");
        assert!(!rendered.text.contains('<'), "{}", rendered.text);
    }

    #[test]
    fn long_output_is_cut_within_block_limits_and_the_rest_overflows_to_the_thread() {
        let long = "<".repeat(10_000);
        let rendered = render(&Outbound::Alert(card(&long)));
        for block in &rendered.blocks {
            let len = block["text"]["text"].as_str().map(|t| t.chars().count()).unwrap_or(0);
            assert!(len <= SECTION_TEXT, "section of {len} characters");
        }
        assert!(all_text(&rendered.blocks).contains("full text is in the thread"));
        let shown: usize = rendered.blocks[1]["text"]["text"].as_str().unwrap().matches("&lt;").count();
        let rest: usize = rendered.overflow.iter().map(|chunk| chunk.chars().count()).sum();
        assert_eq!(shown + rest, 10_000, "nothing is lost");
        assert!(rendered.text.chars().count() <= SUMMARY * 4 + 1);
    }

    #[test]
    fn questions_carry_yes_and_cancel_for_their_request_only() {
        let rendered = question("this will add host web05; reply `yes`", 4);
        let actions = rendered.blocks.last().expect("blocks");
        let buttons: Vec<_> = actions["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action_id"].as_str().unwrap(), e["value"].as_str().unwrap()))
            .collect();
        assert_eq!(buttons, [("hagios_yes", "4"), ("hagios_cancel", "4")]);
        assert_eq!(question_command("hagios_yes", "4").as_deref(), Some("yes 4"));
        assert_eq!(question_command("hagios_cancel", "4").as_deref(), Some("cancel 4"));
        for (action_id, value) in [("hagios_yes", "4; host remove web01"), ("hagios_yes", ""), ("hagios_ack", "4")] {
            assert_eq!(question_command(action_id, value), None, "{action_id} {value}");
        }
        assert_eq!(button_command("hagios_yes"), None, "a question's buttons never stand for a bare command");
    }

    #[test]
    fn an_open_group_has_one_ack_button_and_a_closed_one_none() {
        let mut card = GroupCard::empty("local", 0);
        for service in ["MySQL", "Disk", "Load"] {
            card.set(&ObjectRef::service("db01", service), State::Critical, true);
        }
        let open = render(&Outbound::Group(card.clone()));
        assert_eq!(open.text, "3 services on db01 CRITICAL…");
        let actions = open.blocks.iter().find(|b| b["type"] == "actions").expect("buttons");
        assert_eq!(actions["elements"][0]["value"], "ack");
        assert_eq!(actions["elements"].as_array().unwrap().len(), 1);
        for service in ["MySQL", "Disk", "Load"] {
            card.set(&ObjectRef::service("db01", service), State::Ok, false);
        }
        let closed = render(&Outbound::Group(card));
        assert!(closed.blocks.iter().all(|b| b["type"] != "actions"));
    }

    #[test]
    fn a_page_mentions_people_by_id_and_escapes_the_rest() {
        let mentions = vec![
            crate::Mention { name: "alice".into(), user_id: Some("U0ALICE".into()) },
            crate::Mention { name: "bob <!channel>".into(), user_id: None },
            crate::Mention { name: "eve".into(), user_id: Some("U1> <!channel".into()) },
        ];
        let page = Outbound::Page { mentions, everyone: false, text: "web01!HTTP <!here> is CRITICAL".into() };
        let rendered = render(&page);
        assert_eq!(
            rendered.text,
            "<@U0ALICE> bob &lt;!channel&gt; eve web01!HTTP &lt;!here&gt; is CRITICAL",
            "only ids that are ids mention; nothing else can"
        );
        assert_eq!(all_text(&rendered.blocks), rendered.text);
        let everyone = render(&Outbound::Page { mentions: Vec::new(), everyone: true, text: "nobody acked".into() });
        assert_eq!(everyone.text, "<!here> nobody acked");
    }

    #[test]
    fn long_replies_are_split_into_sections() {
        let rendered = render(&Outbound::Text("a".repeat(7000)));
        assert_eq!(rendered.blocks.len(), 3);
        assert!(rendered.overflow.is_empty());
    }
}
