//! Payloads of Socket Mode envelopes in the shapes Slack's docs show: `event_callback` for
//! `app_mention` (a person's, an edited one, another app's bot's, an integration's) and
//! `message.im` (a new message, `message_changed`), slash command fields, `block_actions`
//! interactions.

use crate::{APP_ID, BOT_USER, TEAM_ID};
use serde_json::{json, Value};

fn event_callback(event: Value, envelope_id: &str) -> Value {
    json!({
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": format!("Ev{envelope_id}"),
        "event_time": 1_700_000_000,
        "authorizations": [{
            "enterprise_id": null,
            "team_id": TEAM_ID,
            "user_id": BOT_USER,
            "is_bot": true,
            "is_enterprise_install": false
        }],
        "is_ext_shared_channel": false,
        "event_context": format!("4-fake-{envelope_id}"),
    })
}

pub fn app_mention(
    user: &str,
    channel: &str,
    ts: &str,
    thread_ts: Option<&str>,
    text: &str,
    envelope_id: &str,
) -> Value {
    let mut event = json!({
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "team": TEAM_ID,
        "channel": channel,
        "event_ts": ts,
        "client_msg_id": format!("msg-{envelope_id}"),
    });
    if let Some(thread_ts) = thread_ts {
        event["thread_ts"] = thread_ts.into();
    }
    event_callback(event, envelope_id)
}

/// Another app's bot mentions the bot: its bot user as `user`, with `bot_id`, `app_id` and
/// `bot_profile`; apps post without a `client_msg_id`.
pub fn bot_mention(mention: Value, bot_id: &str, app_id: &str) -> Value {
    let mut mention = mention;
    let event = &mut mention["event"];
    let user = event["user"].clone();
    event.as_object_mut().expect("event").remove("client_msg_id");
    event["bot_id"] = bot_id.into();
    event["app_id"] = app_id.into();
    event["bot_profile"] =
        json!({ "id": bot_id, "app_id": app_id, "name": user, "deleted": false, "team_id": TEAM_ID });
    mention
}

/// An integration's mention: a `bot_message` of `bot_id` under `username`, with no `user`.
pub fn integration_mention(
    bot_id: &str,
    username: &str,
    channel: &str,
    ts: &str,
    text: &str,
    envelope_id: &str,
) -> Value {
    let event = json!({
        "type": "app_mention",
        "subtype": "bot_message",
        "bot_id": bot_id,
        "username": username,
        "icons": {},
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    });
    event_callback(event, envelope_id)
}

/// A mention edited by its author: the `app_mention` again, with the message as it is now
/// (same `ts`, new text, `edited`) and the edit's own `event_ts`.
pub fn edited_mention(channel: &str, event_ts: &str, message: &Value, envelope_id: &str) -> Value {
    let mut event = message.clone();
    event["type"] = "app_mention".into();
    event["channel"] = channel.into();
    event["event_ts"] = event_ts.into();
    event_callback(event, envelope_id)
}

/// A direct message edited by its author: `message_changed`, hidden, with the message as it is
/// now and as it was.
pub fn message_changed(channel: &str, event_ts: &str, message: &Value, previous: &Value, envelope_id: &str) -> Value {
    let event = json!({
        "type": "message",
        "subtype": "message_changed",
        "hidden": true,
        "message": message,
        "previous_message": previous,
        "channel": channel,
        "channel_type": "im",
        "ts": event_ts,
        "event_ts": event_ts,
    });
    event_callback(event, envelope_id)
}

pub fn direct_message(user: &str, channel: &str, ts: &str, text: &str, envelope_id: &str) -> Value {
    let event = json!({
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im",
        "team": TEAM_ID,
        "client_msg_id": format!("msg-{envelope_id}"),
    });
    event_callback(event, envelope_id)
}

/// Slash command payloads carry the form fields of the HTTP variant, all strings.
pub fn slash_command(user: &str, channel: &str, text: &str, response_url: &str, envelope_id: &str) -> Value {
    json!({
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": channel,
        "user_id": user,
        "user_name": user,
        "command": "/hagios",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": format!("trigger-{envelope_id}"),
    })
}

/// The block id and the button element with `action_id` in a message's blocks.
pub fn find_button(blocks: Option<&Value>, action_id: &str) -> Option<(String, Value)> {
    blocks?.as_array()?.iter().filter(|block| block["type"] == "actions").find_map(|block| {
        let button = block["elements"].as_array()?.iter().find(|element| element["action_id"] == action_id)?;
        Some((block["block_id"].as_str().unwrap_or_default().to_owned(), button.clone()))
    })
}

pub fn block_actions(
    user: &str,
    channel: &str,
    message: &Value,
    block_id: &str,
    button: &Value,
    response_url: &str,
    envelope_id: &str,
) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user, "username": user, "name": user, "team_id": TEAM_ID },
        "api_app_id": APP_ID,
        "token": "fake-verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": false
        },
        "trigger_id": format!("trigger-{envelope_id}"),
        "team": { "id": TEAM_ID, "domain": "fake" },
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": { "id": channel, "name": channel },
        "message": message,
        "state": { "values": {} },
        "response_url": response_url,
        "actions": [{
            "action_id": button["action_id"],
            "block_id": block_id,
            "text": button["text"],
            "value": button["value"],
            "type": "button",
            "action_ts": "1700000000.000001"
        }]
    })
}
