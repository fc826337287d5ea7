//! Turns Slack's Socket Mode payloads into chat events: mentions and direct messages (threads
//! kept, the bot's own mention stripped, Slack's `&<>` entities decoded), `/hagios` commands, and
//! presses of the buttons hagios put on its alerts. Anything else is ignored — and so is what
//! only looks like a new command: an edited mention (Slack sends the `app_mention` again, with
//! `edited`), an edited or deleted direct message (a `message` with a subtype), and what bots
//! post (`bot_id`, `subtype: bot_message`). A message is a command once, when a person sends it.
//! Slack's model of `app_mention` here keeps no `bot_id`, so a bot's mention is recognised by
//! its author's account (`users.info` `is_bot`, asked in `mod.rs`).

use super::render::{button_command, question_command};
use crate::{ChatEvent, ChatUser, MessageRef};
use slack_morphism::prelude::*;

fn user(id: &SlackUserId) -> ChatUser {
    ChatUser { id: id.0.clone(), name: id.0.clone(), foreign: false }
}

fn thread(channel: &SlackChannelId, thread_ts: Option<&SlackTs>) -> Option<MessageRef> {
    thread_ts.map(|ts| MessageRef { channel: channel.0.clone(), id: ts.0.clone() })
}

/// A command from an `app_mention` or a direct message; `None` for other events, for the bot's
/// own messages, for edits, deletions and other message subtypes, and for bots' messages. (An
/// integration's `bot_message` mention has no `user` and does not even read as an `app_mention`.)
pub fn from_push(event: &SlackEventCallbackBody, bot_user: &str) -> Option<ChatEvent> {
    match event {
        SlackEventCallbackBody::AppMention(mention) if mention.edited.is_some() || mention.user.0 == bot_user => None,
        SlackEventCallbackBody::AppMention(mention) => Some(ChatEvent::Command {
            user: user(&mention.user),
            channel: mention.channel.0.clone(),
            thread: thread(&mention.channel, mention.origin.thread_ts.as_ref()),
            text: command_text(mention.content.text.as_deref()?, bot_user),
            event_id: None,
        }),
        SlackEventCallbackBody::Message(message) => {
            let is_im = message.origin.channel_type.as_ref().is_some_and(|t| t.0 == "im");
            let sender = message.sender.user.as_ref()?;
            if !is_im || message.subtype.is_some() || message.sender.bot_id.is_some() || sender.0 == bot_user {
                return None;
            }
            let channel = message.origin.channel.as_ref()?;
            Some(ChatEvent::Command {
                user: user(sender),
                channel: channel.0.clone(),
                thread: thread(channel, message.origin.thread_ts.as_ref()),
                text: command_text(message.content.as_ref()?.text.as_deref()?, bot_user),
                event_id: None,
            })
        }
        _ => None,
    }
}

/// `/hagios TEXT` typed in a channel or DM.
pub fn from_slash_command(command: &SlackCommandEvent) -> ChatEvent {
    ChatEvent::Command {
        user: user(&command.user_id),
        channel: command.channel_id.0.clone(),
        thread: None,
        text: decode(command.text.as_deref().unwrap_or_default()).trim().to_owned(),
        event_id: None,
    }
}

/// A press of one of hagios' buttons; the command comes from hagios' own tables, never from the
/// payload, so a forged `value` cannot run anything else (a question's value is only checked as
/// the number of the request it answers). The answer goes to the pressed message's thread.
pub fn from_interaction(interaction: &SlackInteractionEvent) -> Option<ChatEvent> {
    let SlackInteractionEvent::BlockActions(actions) = interaction else { return None };
    let SlackInteractionActionContainer::Message(container) = &actions.container else { return None };
    let channel = container.channel_id.as_ref()?;
    let pressed = actions.actions.as_ref()?.first()?;
    let command = match button_command(&pressed.action_id.0) {
        Some(command) => command.to_owned(),
        None => question_command(&pressed.action_id.0, pressed.value.as_deref()?)?,
    };
    let thread = actions.message.as_ref().and_then(|message| message.origin.thread_ts.as_ref());
    Some(ChatEvent::Button {
        user: user(&actions.user.as_ref()?.id),
        message: MessageRef { channel: channel.0.clone(), id: thread.unwrap_or(&container.message_ts).0.clone() },
        command,
        event_id: None,
    })
}

/// The text without the leading `<@BOT>` mention and with Slack's entities decoded.
fn command_text(text: &str, bot_user: &str) -> String {
    let mention = format!("<@{bot_user}>");
    let text = text.trim_start();
    decode(text.strip_prefix(&mention).unwrap_or(text)).trim().to_owned()
}

/// Slack sends `&`, `<`, `>` typed by people as entities.
fn decode(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn push(event: serde_json::Value) -> Option<ChatEvent> {
        from_push(&serde_json::from_value(event).unwrap(), "U0BOT")
    }

    #[test]
    fn mentions_in_threads_become_thread_commands() {
        let event = push(serde_json::json!({
            "type": "app_mention", "user": "U1", "channel": "C1", "ts": "2.0", "thread_ts": "1.0",
            "text": "<@U0BOT>  ack looking &lt;3 &amp; more"
        }));
        assert_eq!(
            event,
            Some(ChatEvent::Command {
                user: ChatUser { id: "U1".into(), name: "U1".into(), foreign: false },
                channel: "C1".into(),
                thread: Some(MessageRef { channel: "C1".into(), id: "1.0".into() }),
                text: "ack looking <3 & more".into(),
                event_id: None,
            })
        );
    }

    #[test]
    fn an_edited_mention_or_the_bots_own_is_not_a_command_again() {
        let mention = |extra: serde_json::Value| {
            let mut event = serde_json::json!({
                "type": "app_mention", "user": "U1", "channel": "C1", "ts": "2.0", "text": "<@U0BOT> downtime web01 2h"
            });
            event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            push(event)
        };
        assert!(mention(serde_json::json!({})).is_some());
        assert_eq!(mention(serde_json::json!({ "edited": { "user": "U1", "ts": "3.0" } })), None);
        assert_eq!(mention(serde_json::json!({ "user": "U0BOT" })), None);
        // An integration's post has no user: it does not read as a mention at all.
        let integration = serde_json::json!({
            "type": "app_mention", "subtype": "bot_message", "bot_id": "B9", "username": "relay",
            "channel": "C1", "ts": "2.0", "text": "<@U0BOT> downtime web01 2h"
        });
        assert_eq!(push(integration), None);
    }

    #[test]
    fn only_peoples_direct_messages_count() {
        let dm = |extra: serde_json::Value| {
            let mut event = serde_json::json!({
                "type": "message", "user": "U1", "channel": "D1", "ts": "2.0", "text": "status", "channel_type": "im"
            });
            event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            push(event)
        };
        assert!(matches!(dm(serde_json::json!({})), Some(ChatEvent::Command { ref text, .. }) if text == "status"));
        assert_eq!(dm(serde_json::json!({ "channel_type": "channel" })), None);
        assert_eq!(dm(serde_json::json!({ "user": "U0BOT" })), None);
        assert_eq!(dm(serde_json::json!({ "bot_id": "B1" })), None);
        assert_eq!(dm(serde_json::json!({ "subtype": "message_changed" })), None);
        assert_eq!(dm(serde_json::json!({ "subtype": "bot_message", "bot_id": "B1" })), None);
    }

    #[test]
    fn buttons_map_through_hagios_table_only() {
        let press = |action_id: &str| {
            let interaction: SlackInteractionEvent = serde_json::from_value(serde_json::json!({
                "type": "block_actions",
                "user": { "id": "U1" }, "team": { "id": "T1" }, "api_app_id": "A1", "trigger_id": "t",
                "container": { "type": "message", "message_ts": "1.0", "channel_id": "C1" },
                "actions": [{ "type": "button", "action_id": action_id, "value": "RESTART_PROGRAM" }]
            }))
            .unwrap();
            from_interaction(&interaction)
        };
        assert_eq!(
            press("hagios_ack"),
            Some(ChatEvent::Button {
                user: ChatUser { id: "U1".into(), name: "U1".into(), foreign: false },
                message: MessageRef { channel: "C1".into(), id: "1.0".into() },
                command: "ack".into(),
                event_id: None,
            })
        );
        assert_eq!(press("other_app_button"), None);
    }

    #[test]
    fn a_question_button_in_a_thread_answers_its_request_in_that_thread() {
        let interaction: SlackInteractionEvent = serde_json::from_value(serde_json::json!({
            "type": "block_actions",
            "user": { "id": "U2" }, "team": { "id": "T1" }, "api_app_id": "A1", "trigger_id": "t",
            "container": { "type": "message", "message_ts": "5.0", "channel_id": "C1" },
            "message": { "type": "message", "ts": "5.0", "thread_ts": "1.0", "text": "this will …" },
            "actions": [{ "type": "button", "action_id": "hagios_cancel", "value": "7" }]
        }))
        .unwrap();
        assert_eq!(
            from_interaction(&interaction),
            Some(ChatEvent::Button {
                user: ChatUser { id: "U2".into(), name: "U2".into(), foreign: false },
                message: MessageRef { channel: "C1".into(), id: "1.0".into() },
                command: "cancel 7".into(),
                event_id: None,
            })
        );
    }

    proptest! {
        /// Whatever text a person types or Slack sends in an event, decoding answers without
        /// panicking and the command text has no surrounding whitespace.
        #[test]
        fn arbitrary_event_text_never_panics(
            text in "\\PC{0,200}|(<@U0BOT>|&lt;|&gt;|&amp;|&|<|>| |\\n|\\u{2028}|\\u{202e}){0,20}",
            kind in prop::sample::select(vec!["app_mention", "message"]),
            thread in proptest::option::of("[0-9.]{0,12}"),
        ) {
            let event = push(serde_json::json!({
                "type": kind, "user": "U1", "channel": "D1", "ts": "2.0", "thread_ts": thread,
                "text": text, "channel_type": "im"
            }));
            if let Some(ChatEvent::Command { text, .. }) = event {
                prop_assert_eq!(text.trim(), text.as_str());
            }
        }

        /// Arbitrary bytes offered as an event callback body are refused by the typed decoder or
        /// decode to something from_push handles; they never panic.
        #[test]
        fn arbitrary_payloads_never_panic(payload in "\\PC{0,300}|\\{\"type\":\"(app_mention|message)\",[ -~]{0,200}") {
            if let Ok(event) = serde_json::from_str::<SlackEventCallbackBody>(&payload) {
                from_push(&event, "U0BOT");
            }
        }
    }
}
