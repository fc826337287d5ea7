//! Reads `/sync` answers: people's text messages (with their thread, and whether they address
//! the bot by a mention), reactions that stand for a command, encrypted messages hagios cannot
//! read, invitations (who sent them, and whether the room is encrypted), and membership
//! changes. Everything else, the bot's own events and edits included, is ignored.

use super::render::reaction_command;
use serde_json::Value;

/// Who the bot is, to recognise mentions of it and skip its own events.
#[derive(Debug, Clone)]
pub struct Me {
    pub user_id: String,
    pub display_name: Option<String>,
}

/// Something a person did in a joined room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A text message; `addressed` when it mentions the bot (then `text` lacks the mention).
    Text { room: String, sender: String, thread: Option<String>, text: String, addressed: bool },
    /// A reaction from hagios' table on the event `target`.
    Reaction { room: String, sender: String, target: String, command: &'static str },
    /// An end-to-end encrypted message, which hagios cannot read.
    Encrypted { room: String },
}

/// An invitation to a room; encrypted rooms, and invitations from homeservers the bot does not
/// admit, are declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub room: String,
    pub encrypted: bool,
    /// Who invited the bot: the sender of its `invite` membership event; `None` when the
    /// homeserver did not include that event.
    pub inviter: Option<String>,
}

fn rooms<'a>(sync: &'a Value, section: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    sync["rooms"][section].as_object().into_iter().flatten()
}

fn events<'a>(room: &'a Value, list: &str) -> impl Iterator<Item = &'a Value> {
    room[list]["events"].as_array().into_iter().flatten()
}

pub fn invites(sync: &Value, me: &Me) -> Vec<Invite> {
    rooms(sync, "invite")
        .map(|(room, invite)| Invite {
            room: room.clone(),
            encrypted: events(invite, "invite_state").any(|event| event["type"] == "m.room.encryption"),
            inviter: events(invite, "invite_state")
                .find(|event| {
                    event["type"] == "m.room.member"
                        && event["state_key"] == me.user_id.as_str()
                        && event["content"]["membership"] == "invite"
                })
                .and_then(|event| event["sender"].as_str())
                .map(str::to_owned),
        })
        .collect()
}

/// Rooms whose members changed, so whether they are direct chats must be asked again.
pub fn membership_changed(sync: &Value) -> Vec<String> {
    rooms(sync, "join")
        .filter(|(_, room)| {
            events(room, "timeline").chain(events(room, "state")).any(|event| event["type"] == "m.room.member")
        })
        .map(|(room, _)| room.clone())
        .collect()
}

/// What people did, each with its event id (`None` where the homeserver sent none).
pub fn heard(sync: &Value, me: &Me) -> Vec<(Option<String>, Heard)> {
    rooms(sync, "join")
        .flat_map(|(room, joined)| {
            events(joined, "timeline").filter_map(move |event| {
                let heard = one(room, event, me)?;
                Some((event["event_id"].as_str().map(str::to_owned), heard))
            })
        })
        .collect()
}

fn one(room: &str, event: &Value, me: &Me) -> Option<Heard> {
    let sender = event["sender"].as_str()?;
    if sender == me.user_id || event["unsigned"].get("redacted_because").is_some() {
        return None;
    }
    let content = &event["content"];
    let relation = &content["m.relates_to"];
    match event["type"].as_str()? {
        "m.room.message" => {
            // Edits, notices (other bots) and anything but text are not commands.
            if content["msgtype"] != "m.text" || relation["rel_type"] == "m.replace" {
                return None;
            }
            let thread = (relation["rel_type"] == "m.thread").then(|| relation["event_id"].as_str()).flatten();
            let body = content["body"].as_str()?;
            let (addressed, text) = command_text(body, content, me);
            Some(Heard::Text {
                room: room.to_owned(),
                sender: sender.to_owned(),
                thread: thread.map(str::to_owned),
                text,
                addressed,
            })
        }
        "m.reaction" if relation["rel_type"] == "m.annotation" => Some(Heard::Reaction {
            room: room.to_owned(),
            sender: sender.to_owned(),
            target: relation["event_id"].as_str()?.to_owned(),
            command: reaction_command(relation["key"].as_str()?)?,
        }),
        "m.room.encrypted" => Some(Heard::Encrypted { room: room.to_owned() }),
        _ => None,
    }
}

/// Whether the message addresses the bot — `m.mentions`, a pill linking to it, or a body
/// starting with its user id or display name — and the text without that leading mention.
fn command_text(body: &str, content: &Value, me: &Me) -> (bool, String) {
    let body = body.trim();
    let names = [Some(me.user_id.as_str()), me.display_name.as_deref()];
    let leading = names.into_iter().flatten().filter(|name| !name.is_empty()).find_map(|name| {
        let rest = body.get(name.len()..)?;
        let starts = body[..name.len()].eq_ignore_ascii_case(name);
        let ends = rest.is_empty() || rest.starts_with([':', ',', ' ', '\n']);
        (starts && ends).then_some(rest)
    });
    let mentioned = content["m.mentions"]["user_ids"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(me.user_id.as_str())))
        || content["formatted_body"].as_str().is_some_and(|html| html.contains(&format!("matrix.to/#/{}", me.user_id)));
    match leading {
        Some(rest) => (true, rest.trim_start_matches([':', ',']).trim().to_owned()),
        None => (mentioned, body.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn me() -> Me {
        Me { user_id: "@hagios:example.org".into(), display_name: Some("Hagios Bot".into()) }
    }

    /// What was heard, without the event ids.
    fn heard(sync: &Value, me: &Me) -> Vec<Heard> {
        super::heard(sync, me).into_iter().map(|(_, heard)| heard).collect()
    }

    fn sync(room_events: Value) -> Value {
        json!({ "next_batch": "s2", "rooms": { "join": { "!r:x": { "timeline": { "events": room_events } } } } })
    }

    fn message(sender: &str, content: Value) -> Value {
        json!({ "type": "m.room.message", "sender": sender, "event_id": "$e", "content": content })
    }

    #[test]
    fn mentions_in_threads_become_addressed_thread_commands() {
        let event = message(
            "@alice:x",
            json!({ "msgtype": "m.text", "body": "Hagios Bot: ack looking <3 & more",
                    "m.relates_to": { "rel_type": "m.thread", "event_id": "$root" } }),
        );
        assert_eq!(
            heard(&sync(json!([event])), &me()),
            [Heard::Text {
                room: "!r:x".into(),
                sender: "@alice:x".into(),
                thread: Some("$root".into()),
                text: "ack looking <3 & more".into(),
                addressed: true,
            }]
        );
    }

    #[test]
    fn addressing_is_by_user_id_display_name_pill_or_m_mentions() {
        let text = |content: Value| match heard(&sync(json!([message("@alice:x", content)])), &me()).pop() {
            Some(Heard::Text { addressed, text, .. }) => Some((addressed, text)),
            _ => None,
        };
        let plain = |body: &str| text(json!({ "msgtype": "m.text", "body": body }));
        assert_eq!(plain("@hagios:example.org status"), Some((true, "status".into())));
        assert_eq!(plain("hagios bot, help"), Some((true, "help".into())));
        assert_eq!(plain("status"), Some((false, "status".into())), "a DM decides later");
        assert_eq!(plain("Hagios Botany is fun"), Some((false, "Hagios Botany is fun".into())));
        let mentioned =
            json!({ "msgtype": "m.text", "body": "ack", "m.mentions": { "user_ids": ["@hagios:example.org"] } });
        assert_eq!(text(mentioned), Some((true, "ack".into())));
        let pill = json!({ "msgtype": "m.text", "body": "HB: ack",
                           "formatted_body": "<a href=\"https://matrix.to/#/@hagios:example.org\">HB</a>: ack" });
        assert_eq!(text(pill), Some((true, "HB: ack".into())));
    }

    #[test]
    fn own_events_edits_notices_and_other_reactions_are_ignored() {
        let events = json!([
            message("@hagios:example.org", json!({ "msgtype": "m.text", "body": "@hagios:example.org ack" })),
            message("@alice:x", json!({ "msgtype": "m.notice", "body": "@hagios:example.org ack" })),
            message("@alice:x", json!({ "msgtype": "m.text", "body": "@hagios:example.org ack",
                                         "m.relates_to": { "rel_type": "m.replace", "event_id": "$e0" } })),
            { "type": "m.reaction", "sender": "@alice:x", "content": { "m.relates_to": { "rel_type": "m.annotation", "event_id": "$a", "key": "👍" } } },
            { "type": "m.reaction", "sender": "@alice:x", "content": { "m.relates_to": { "rel_type": "m.annotation", "event_id": "$a", "key": "✅" } } },
            { "type": "m.room.encrypted", "sender": "@alice:x", "content": { "algorithm": "m.megolm.v1.aes-sha2" } },
        ]);
        assert_eq!(
            heard(&sync(events), &me()),
            [
                Heard::Reaction { room: "!r:x".into(), sender: "@alice:x".into(), target: "$a".into(), command: "ack" },
                Heard::Encrypted { room: "!r:x".into() },
            ]
        );
    }

    #[test]
    fn invites_say_who_sent_them_whether_the_room_is_encrypted_and_member_changes_are_noticed() {
        let invited = |sender: &str, state_key: &str| {
            json!({ "type": "m.room.member", "sender": sender, "state_key": state_key, "content": { "membership": "invite" } })
        };
        let sync = json!({ "rooms": {
            "invite": {
                "!plain:x": { "invite_state": { "events": [
                    { "type": "m.room.name", "content": { "name": "ops" } },
                    invited("@mallory:x", "@someone:x"),
                    invited("@alice:x", "@hagios:example.org"),
                ] } },
                "!secret:x": { "invite_state": { "events": [{ "type": "m.room.encryption", "content": {} }] } },
            },
            "join": { "!r:x": { "timeline": { "events": [{ "type": "m.room.member", "sender": "@bob:x", "content": { "membership": "join" } }] } } },
        } });
        let mut invites = invites(&sync, &me());
        invites.sort_by(|a, b| a.room.cmp(&b.room));
        assert_eq!(
            invites,
            [
                Invite { room: "!plain:x".into(), encrypted: false, inviter: Some("@alice:x".into()) },
                Invite { room: "!secret:x".into(), encrypted: true, inviter: None }
            ]
        );
        assert_eq!(membership_changed(&sync), ["!r:x"]);
    }

    proptest! {
        /// Whatever people type or a homeserver sends, reading it answers without panicking and
        /// command texts have no surrounding whitespace.
        #[test]
        fn arbitrary_messages_never_panic(
            body in "\\PC{0,200}|(@hagios:example.org|Hagios Bot|:|,| |\\n|é|\\u{202e}){0,20}",
            mentions in proptest::option::of(proptest::collection::vec("\\PC{0,30}", 0..3)),
        ) {
            let content = json!({ "msgtype": "m.text", "body": body, "m.mentions": { "user_ids": mentions } });
            for heard in heard(&sync(json!([message("@alice:x", content)])), &me()) {
                if let Heard::Text { text, .. } = heard {
                    prop_assert_eq!(text.trim(), text.as_str());
                }
            }
        }

        /// Arbitrary JSON in place of a sync answer is read as far as it goes; it never panics.
        #[test]
        fn arbitrary_sync_answers_never_panic(payload in "\\PC{0,300}|\\{\"rooms\":\\{\"(join|invite)\":[ -~]{0,200}") {
            if let Ok(sync) = serde_json::from_str::<Value>(&payload) {
                heard(&sync, &me());
                invites(&sync, &me());
                membership_changed(&sync);
            }
        }
    }
}
