//! The Matrix adapter against a real, private Synapse: what it posts, threads and edits is what
//! another user sees; a repeated keyed post (also from a restarted adapter) is one message; the
//! homeserver's rate limit comes back as a retryable error carrying its delay; text too long for
//! one message goes on, whole and once, in its thread, even under a rate limit; mentions, direct
//! messages and reactions come in as chat events (a room marked direct but of three needs a
//! mention); invitations to encrypted rooms are declined; people of homeservers outside
//! `allowed_servers` have their invitations declined and what they ask marked foreign.

use hagios_chat::matrix::{MatrixChat, MatrixConfig, MatrixLogin};
use hagios_chat::platform::FromNow;
use hagios_chat::{ChatAdapter, ChatError, ChatEvent, MessageRef, Outbound};
use hagios_testkit::{MatrixUser, SynapseInstance, SynapseOptions};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::mpsc;

const PATIENCE: Duration = Duration::from_secs(20);
/// The note on a message whose text goes on in its thread, and the most characters of text one
/// message shows.
const CONTINUED: &str = "\n… continued in the thread";
const TEXT_LIMIT: usize = 3000;

struct Homeserver {
    synapse: SynapseInstance,
    bot: MatrixUser,
    alice: MatrixUser,
    bob: MatrixUser,
    room: String,
}

impl Homeserver {
    fn start(options: SynapseOptions) -> Option<Homeserver> {
        let synapse = SynapseInstance::start(options)?;
        let bot = synapse.register("hagios", "bot-password");
        let alice = synapse.register("alice", "alice-password");
        // Three members: a room of two is a direct chat, where every message is a command.
        let bob = synapse.register("bob", "bob-password");
        let room = alice.create_room(&[&bot.user_id, &bob.user_id], json!({ "name": "alerts" }));
        bob.join(&room);
        Some(Homeserver { synapse, bot, alice, bob, room })
    }

    /// An adapter as `hagios run` makes it; `password` logs in instead of using the token.
    fn adapter(&self, password: bool) -> MatrixChat {
        self.adapter_admitting(password, None)
    }

    /// An adapter whose `[matrix] allowed_servers` is `allowed_servers`.
    fn adapter_admitting(&self, password: bool, allowed_servers: Option<&[&str]>) -> MatrixChat {
        let login = if password {
            MatrixLogin::Password("bot-password".into())
        } else {
            MatrixLogin::AccessToken(self.bot.token.clone())
        };
        let config = MatrixConfig {
            homeserver: self.synapse.url(),
            user: self.bot.user_id.clone(),
            access_token_env: "UNUSED_MATRIX_ACCESS_TOKEN".into(),
            password_env: "UNUSED_MATRIX_PASSWORD".into(),
            default_room: self.room.clone(),
            allowed_servers: allowed_servers.map(|servers| servers.iter().map(|server| server.to_string()).collect()),
        };
        MatrixChat::new(&config, login, std::sync::Arc::new(FromNow)).expect("adapter")
    }

    fn messages(&self) -> Vec<Value> {
        self.alice.messages(&self.room)
    }
}

fn text(message: &str) -> Outbound {
    Outbound::Text(message.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_threads_and_edits_show_for_people_and_keyed_posts_happen_once() {
    let Some(home) = Homeserver::start(SynapseOptions::default()) else { return };
    let chat = home.adapter(true);
    assert_eq!(chat.bot_user().await.expect("password login"), home.bot.user_id);

    let root = chat.post_keyed(None, None, &text("<script>alert(1)</script> & co"), "n-1").await.expect("post");
    assert_eq!(root.channel, home.room, "the invitation was accepted by posting");
    let again = chat.post_keyed(None, None, &text("<script>alert(1)</script> & co"), "n-1").await.expect("repeat");
    assert_eq!(again, root, "same transaction id, same event");
    // A restarted hagios logs in again on the same device and repeats the post: still one.
    let restarted = home.adapter(true);
    let after_restart = restarted.post_keyed(None, None, &text("<script>alert(1)</script> & co"), "n-1").await;
    assert_eq!(after_restart.expect("repeat after restart"), root);

    let reply = chat.post_keyed(None, Some(&root), &text("in the thread"), "n-2").await.expect("reply");
    chat.update(&root, &text("edited")).await.expect("edit");

    let messages = home.messages();
    assert_eq!(messages.len(), 3, "root, reply, edit: {messages:#?}");
    let shown = &messages[0]["content"];
    assert_eq!(shown["body"], "<script>alert(1)</script> & co");
    assert_eq!(shown["formatted_body"], "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co");
    assert_eq!(messages[1]["event_id"], reply.id.as_str());
    assert_eq!(messages[1]["content"]["m.relates_to"]["rel_type"], "m.thread");
    assert_eq!(messages[1]["content"]["m.relates_to"]["event_id"], root.id.as_str());
    assert_eq!(messages[2]["content"]["m.relates_to"], json!({ "rel_type": "m.replace", "event_id": root.id }));
    assert_eq!(messages[2]["content"]["m.new_content"]["body"], "edited");
    // What Synapse serves as the message now carries the edit.
    let now = home.alice.call("GET", &format!("/rooms/{}/event/{}", url(&home.room), url(&root.id)), None);
    assert_eq!(now["unsigned"]["m.relations"]["m.replace"]["event_id"], messages[2]["event_id"]);

    // Routes may name a room by alias; messages carry the room id, which the alias resolves to.
    let alias = format!("#alerts:{}", hagios_testkit::SERVER_NAME);
    home.alice.call("PUT", &format!("/directory/room/{}", url(&alias)), Some(json!({ "room_id": home.room })));
    assert_eq!(restarted.channel_id(&alias).await.expect("alias resolved"), home.room);
    assert_eq!(chat.channel_id(&home.room).await.expect("room id"), home.room);

    // The doctor's question: the bot is in its room, and cannot get into one nobody invited it to.
    assert_eq!(chat.is_member(&alias).await.expect("member"), Some(true));
    let private = home.alice.create_room(&[], json!({ "name": "private" }));
    let refused = chat.is_member(&private).await.expect_err("not invited").to_string();
    assert!(refused.contains("M_FORBIDDEN") && refused.contains("invite the bot user to the room"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_text_goes_on_in_its_thread_complete_in_order_and_once() {
    let Some(home) = Homeserver::start(SynapseOptions::default()) else { return };
    let chat = home.adapter(true);
    let members: Vec<String> = (0..500).map(|n| format!("• db{n:03}!MySQL is CRITICAL: connection refused")).collect();
    let group = Outbound::Reminder(members.join("\n"));
    let root = chat.post_keyed(None, None, &group, "n-group").await.expect("post");

    let messages = home.messages();
    assert_eq!(messages[0]["event_id"], root.id.as_str());
    let first = messages[0]["content"]["body"].as_str().expect("body");
    let mut arrived: Vec<&str> =
        first.strip_suffix(CONTINUED).expect("says the rest is in the thread").lines().collect();
    for reply in &messages[1..] {
        let relation = &reply["content"]["m.relates_to"];
        assert_eq!(
            (relation["rel_type"].as_str(), relation["event_id"].as_str()),
            (Some("m.thread"), Some(root.id.as_str()))
        );
        let body = reply["content"]["body"].as_str().expect("body");
        assert!(body.chars().count() <= TEXT_LIMIT, "a reply of {} characters", body.chars().count());
        arrived.extend(body.lines());
    }
    assert!(messages.len() > 5, "{} messages", messages.len());
    assert_eq!(arrived, members, "every member line arrived once, in order");

    // The same post again, also from a restarted hagios: the homeserver knows every part.
    assert_eq!(chat.post_keyed(None, None, &group, "n-group").await.expect("repeat"), root);
    assert_eq!(home.adapter(true).post_keyed(None, None, &group, "n-group").await.expect("after restart"), root);
    assert_eq!(home.messages().len(), messages.len(), "no part was posted twice");

    // A long reply in the thread goes on in the same thread, right after it.
    let reply = chat.post_keyed(None, Some(&root), &text(&members.join("\n")), "n-reply").await.expect("reply");
    let after = home.messages();
    assert_eq!(after[messages.len()]["event_id"], reply.id.as_str());
    assert!(after.len() > messages.len() + 1, "the reply went on in the thread");
    for event in &after[messages.len()..] {
        assert_eq!(event["content"]["m.relates_to"]["event_id"], root.id.as_str(), "under the thread's root");
    }

    // A first try that stopped after the message and its first reply, as in a crash: the same
    // two parts posted under a key. The retry of the whole text under it adds only the rest.
    let body = |message: &Value| message["content"]["body"].as_str().expect("body").to_owned();
    let parts: Vec<String> = messages[..2].iter().map(|message| body(message).replace(CONTINUED, "")).collect();
    let cut_short = Outbound::Reminder(parts.join("\n"));
    let before = after.len();
    let first_try = chat.post_keyed(None, None, &cut_short, "n-crashed").await.expect("first try");
    assert_eq!(home.messages().len(), before + 2, "the message and its first reply");
    assert_eq!(chat.post_keyed(None, None, &group, "n-crashed").await.expect("retry"), first_try);
    let completed: Vec<String> = home.messages()[before..].iter().map(body).collect();
    assert_eq!(completed, messages.iter().map(body).collect::<Vec<_>>(), "the missing replies, in order");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rate_limit_is_a_retryable_error_with_the_homeservers_delay() {
    let Some(home) = Homeserver::start(SynapseOptions { message_rate: Some((0.2, 2)) }) else { return };
    let chat = home.adapter(false);
    let mut limited = None;
    for n in 0..10 {
        match chat.post(None, None, &text(&format!("burst {n}"))).await {
            Ok(_) => {}
            Err(e) => {
                limited = Some(e);
                break;
            }
        }
    }
    let error = limited.expect("Synapse limited the burst");
    assert!(matches!(error, ChatError::RateLimited(_)) && error.retryable(), "{error}");
    let wait = error.retry_after().expect("the homeserver said how long");
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(10), "{wait:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rest_of_a_long_text_waits_out_the_rate_limit() {
    let Some(home) = Homeserver::start(SynapseOptions { message_rate: Some((2.0, 2)) }) else { return };
    let chat = home.adapter(false);
    let long = (0..300).map(|n| format!("line {n:03} of a long plugin output")).collect::<Vec<_>>().join("\n");
    let root = chat.post_keyed(None, None, &text(&long), "n-limited").await.expect("posted despite the limit");
    let messages = home.messages();
    assert!(messages.len() >= 4, "the burst of two was exceeded: {} messages", messages.len());
    let bodies: Vec<&str> = messages.iter().map(|message| message["content"]["body"].as_str().unwrap_or("")).collect();
    let whole = bodies.join("\n").replace(CONTINUED, "");
    assert_eq!(whole, long, "complete and in order");
    assert_eq!(messages[0]["event_id"], root.id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn mentions_direct_messages_and_reactions_become_events_and_encrypted_rooms_are_declined() {
    let Some(home) = Homeserver::start(SynapseOptions::default()) else { return };
    let chat = std::sync::Arc::new(home.adapter(false));
    let alert = chat.post(None, None, &text("an alert")).await.expect("post");
    // Said before hagios listened for the first time: not for it.
    home.alice.send_text(&home.room, None, &format!("{}: status from the past", home.bot.user_id));

    let (events_tx, mut events) = mpsc::channel(16);
    let listener = tokio::spawn({
        let chat = chat.clone();
        async move { chat.listen(events_tx).await }
    });
    // The first sync happened once an encrypted room's invitation is declined.
    let secret = home.alice.create_room(
        &[&home.bot.user_id],
        json!({ "initial_state": [{ "type": "m.room.encryption", "state_key": "", "content": { "algorithm": "m.megolm.v1.aes-sha2" } }] }),
    );
    let declined =
        wait_for_membership(&home, &secret, "leave").expect("the invitation to the encrypted room was declined");
    assert!(declined["reason"].as_str().unwrap_or_default().contains("does not support end-to-end encrypted rooms"));

    home.alice.send_text(&home.room, Some(&alert.id), "Hagios: ack looking");
    home.alice.send_text(&home.room, None, "just chatting");
    home.alice.react(&home.room, &alert.id, "✅");
    let dm = home.alice.create_room(&[&home.bot.user_id], json!({ "is_direct": true }));
    hagios_testkit::wait_until(PATIENCE, || {
        let members = home.alice.call("GET", &format!("/rooms/{}/joined_members", url(&dm)), None);
        (members["joined"].as_object().map_or(0, |joined| joined.len()) == 2).then_some(())
    })
    .expect("the bot joined the direct chat");
    home.alice.send_text(&dm, None, "status");

    let thread = MessageRef { channel: home.room.clone(), id: alert.id.clone() };
    match next(&mut events).await {
        ChatEvent::Command { user, channel, thread: Some(in_thread), text, event_id } => {
            assert!(event_id.is_some_and(|id| id.starts_with('$')), "each event comes with its id");
            assert_eq!((user.id.as_str(), user.name.as_str()), (home.alice.user_id.as_str(), "alice"));
            assert!(!user.foreign, "a person of the bot's own homeserver is a member by default");
            assert_eq!((channel, in_thread, text.as_str()), (home.room.clone(), thread.clone(), "ack looking"));
        }
        other => panic!("expected the mention first: {other:?}"),
    }
    match next(&mut events).await {
        ChatEvent::Button { user, message, command, .. } => {
            assert_eq!((user.id, message, command.as_str()), (home.alice.user_id.clone(), thread, "ack"));
        }
        other => panic!("expected the reaction: {other:?}"),
    }
    match next(&mut events).await {
        ChatEvent::Command { channel, thread: None, text, .. } => {
            assert_eq!((channel, text.as_str()), (dm.clone(), "status"))
        }
        other => panic!("expected the direct message: {other:?}"),
    }
    // Marked as direct or not, a room of three is a conversation: only a mention is a command.
    home.alice.call("POST", &format!("/rooms/{}/invite", url(&dm)), Some(json!({ "user_id": home.bob.user_id })));
    home.bob.join(&dm);
    home.alice.send_text(&dm, None, "ack that one, bob?");
    home.alice.send_text(&dm, None, "hagios: status");
    match next(&mut events).await {
        ChatEvent::Command { channel, text, .. } => assert_eq!((channel, text.as_str()), (dm, "status")),
        other => panic!("expected the mention in the room of three: {other:?}"),
    }
    // The position after the sync that brought it follows it, for the conversation to keep.
    let synced = tokio::time::timeout(PATIENCE, events.recv()).await;
    assert!(matches!(synced, Ok(Some(ChatEvent::Synced { .. }))), "{synced:?}");
    listener.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn people_of_homeservers_not_allowed_are_declined_and_marked_foreign() {
    let Some(home) = Homeserver::start(SynapseOptions::default()) else { return };
    // One Synapse has one server name: allowing only another server makes its people strangers.
    let guarded = std::sync::Arc::new(home.adapter_admitting(false, Some(&["elsewhere.example"])));
    // The configured room is joined by posting, whoever invited the bot to it.
    let alert = guarded.post(None, None, &text("an alert")).await.expect("post");
    let (events_tx, mut events) = mpsc::channel(16);
    let listener = tokio::spawn({
        let chat = guarded.clone();
        async move { chat.listen(events_tx).await }
    });

    let dm = home.alice.create_room(&[&home.bot.user_id], json!({ "is_direct": true }));
    let declined = wait_for_membership(&home, &dm, "leave").expect("the stranger's invitation was declined");
    let reason = declined["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("only from people on elsewhere.example")
            && reason.contains(&home.alice.user_id)
            && reason.contains("[matrix] allowed_servers"),
        "{reason}"
    );

    home.alice.send_text(&home.room, Some(&alert.id), "hagios: status web01");
    home.alice.react(&home.room, &alert.id, "✅");
    match next(&mut events).await {
        ChatEvent::Command { user, text, .. } => {
            assert!(user.foreign, "{user:?}");
            assert_eq!(
                (user.name.as_str(), text.as_str()),
                (home.alice.user_id.as_str(), "status web01"),
                "named by id"
            );
        }
        other => panic!("expected the stranger's mention: {other:?}"),
    }
    match next(&mut events).await {
        ChatEvent::Button { user, command, .. } => assert!(user.foreign && command == "ack", "{user:?} {command}"),
        other => panic!("expected the stranger's reaction: {other:?}"),
    }
    listener.abort();
    let _ = listener.await;
    // The second adapter starts afresh, with no kept position and on the password login's own
    // device (Synapse answers a repeated first sync of one device from its cache, with the old
    // position).

    // The default admits the bot's own homeserver: the same person is a member again.
    let open = std::sync::Arc::new(home.adapter(true));
    let (events_tx, mut events) = mpsc::channel(16);
    let listener = tokio::spawn({
        let chat = open.clone();
        async move { chat.listen(events_tx).await }
    });
    let dm = home.alice.create_room(&[&home.bot.user_id], json!({ "is_direct": true }));
    wait_for_membership(&home, &dm, "join").expect("the invitation from the bot's own server was accepted");
    home.alice.send_text(&dm, None, "status");
    match next(&mut events).await {
        ChatEvent::Command { user, channel, text, .. } => {
            assert!(!user.foreign, "{user:?}");
            assert_eq!((user.name.as_str(), channel, text.as_str()), ("alice", dm, "status"));
        }
        other => panic!("expected the member's direct message: {other:?}"),
    }
    listener.abort();
}

/// The bot's membership event in `room` once it is `membership`, as its inviter sees it.
fn wait_for_membership(home: &Homeserver, room: &str, membership: &str) -> Option<Value> {
    let path = format!("/rooms/{}/state/m.room.member/{}", url(room), url(&home.bot.user_id));
    hagios_testkit::wait_until(PATIENCE, || {
        let (status, member) = home.alice.try_call("GET", &path, None);
        (status == 200 && member["membership"] == membership).then_some(member)
    })
}

/// The next event from a person (positions to keep are passed over).
async fn next(events: &mut mpsc::Receiver<ChatEvent>) -> ChatEvent {
    loop {
        let event =
            tokio::time::timeout(PATIENCE, events.recv()).await.expect("an event in time").expect("listener running");
        if !matches!(event, ChatEvent::Synced { .. }) {
            return event;
        }
    }
}

fn url(segment: &str) -> String {
    hagios_testkit::url_encode(segment)
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_mention_for_real_and_files_reach_the_media_repository() {
    let Some(home) = Homeserver::start(SynapseOptions::default()) else { return };
    let chat = home.adapter(false);
    let root = chat.post(None, None, &text("web01!HTTP is CRITICAL")).await.expect("post");
    let mention = hagios_chat::Mention { name: "alice".into(), user_id: Some(home.alice.user_id.clone()) };
    let page = Outbound::Page { mentions: vec![mention], everyone: false, text: "you are on call".into() };
    chat.post(None, Some(&root), &page).await.expect("page");
    let file = hagios_chat::Attachment {
        name: "timeline.md".into(),
        mime: "text/markdown".into(),
        bytes: b"# web01!HTTP\n".to_vec(),
    };
    chat.upload(None, Some(&root), &file, "the timeline").await.expect("upload");
    let messages = home.alice.wait_for_messages(&home.room, "the page and the file", PATIENCE, |m| m.len() >= 4);
    let paged = messages.iter().find(|m| m["content"]["body"].as_str().unwrap_or_default().contains("on call"));
    let paged = paged.expect("the page");
    assert_eq!(paged["content"]["m.mentions"]["user_ids"], json!([home.alice.user_id]));
    assert_eq!(paged["content"]["m.relates_to"]["event_id"], root.id.as_str());
    let shared = messages.iter().find(|m| m["content"]["msgtype"] == "m.file").expect("the file's message");
    assert_eq!(shared["content"]["m.relates_to"]["event_id"], root.id.as_str(), "in the thread");
    let uri = shared["content"]["url"].as_str().expect("an mxc URI");
    let (server, media) = uri.strip_prefix("mxc://").and_then(|rest| rest.split_once('/')).expect("mxc://server/id");
    let download = format!("{}/_matrix/client/v1/media/download/{server}/{media}", home.synapse.url());
    let served = reqwest::Client::new().get(download).bearer_auth(&home.alice.token).send().await.expect("download");
    assert_eq!(served.bytes().await.expect("the file").as_ref(), file.bytes.as_slice(), "the homeserver serves it");
}
