//! Checks the fake against Slack's documented protocol as slack-morphism models it: Web API
//! answers and errors parse into its types, envelopes parse into its Socket Mode events (edits
//! and other bots' posts included), acks are recorded, 429 carries `Retry-After`.

use futures_util::{SinkExt, StreamExt};
use hagios_fakeslack::{Failure, FakeSlack, APP_TOKEN, BOT_TOKEN, BOT_USER};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;

const WAIT: Duration = Duration::from_secs(10);

type Client = SlackClient<SlackClientHyperConnector<hyper_rustls::HttpsConnector<HttpConnector>>>;
use hyper_util::client::legacy::connect::HttpConnector;

fn client(fake: &FakeSlack) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .expect("roots")
        .https_or_http()
        .enable_http1()
        .build();
    SlackClient::new(SlackClientHyperConnector::with_connector(connector).with_slack_api_url(&fake.api_url()))
}

fn token(value: &str) -> SlackApiToken {
    SlackApiToken::new(SlackApiTokenValue(value.into()))
}

fn api_code(error: SlackClientError) -> String {
    match error {
        SlackClientError::ApiError(e) => e.code,
        other => panic!("expected an ok:false answer, got {other:?}"),
    }
}

#[tokio::test]
async fn web_api_answers_and_errors_follow_slack() {
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let client = client(&fake);
    let bot = token(BOT_TOKEN);
    let session = client.open_session(&bot);

    let me = session.auth_test().await.expect("auth.test");
    assert_eq!(me.user_id.0, BOT_USER);
    let wrong = token("xoxb-wrong");
    assert_eq!(api_code(client.open_session(&wrong).auth_test().await.unwrap_err()), "invalid_auth");
    let app = token(APP_TOKEN);
    assert_eq!(api_code(client.open_session(&app).auth_test().await.unwrap_err()), "not_allowed_token_type");

    let post = |channel: &str, thread: Option<&str>| {
        let mut request = SlackApiChatPostMessageRequest::new(
            channel.into(),
            SlackMessageContent::new().with_text("hello".into()).with_metadata(SlackMessageMetadata {
                event_type: "hagios_notification".into(),
                event_payload: Some([("id".to_owned(), "n-1".to_owned())].into()),
            }),
        );
        request.thread_ts = thread.map(|t| t.into());
        request
    };
    assert_eq!(api_code(session.chat_post_message(&post("C0NOPE", None)).await.unwrap_err()), "channel_not_found");
    assert_eq!(
        api_code(session.chat_post_message(&post("C0ALERTS", Some("1.2"))).await.unwrap_err()),
        "thread_not_found"
    );
    let parent = session.chat_post_message(&post("#alerts", None)).await.expect("post by name");
    assert_eq!(parent.channel.0, "C0ALERTS");
    let reply = session.chat_post_message(&post("C0ALERTS", Some(&parent.ts.0))).await.expect("reply");

    let update = SlackApiChatUpdateRequest::new(
        "C0ALERTS".into(),
        SlackMessageContent::new().with_text("edited".into()),
        parent.ts.clone(),
    );
    session.chat_update(&update).await.expect("chat.update");
    let missing = SlackApiChatUpdateRequest::new(
        "C0ALERTS".into(),
        SlackMessageContent::new().with_text("x".into()),
        "9.9".into(),
    );
    assert_eq!(api_code(session.chat_update(&missing).await.unwrap_err()), "message_not_found");

    let history = session
        .conversations_history(
            &SlackApiConversationsHistoryRequest::new().with_channel("C0ALERTS".into()).with_include_all_metadata(true),
        )
        .await
        .expect("history");
    assert_eq!(history.messages.len(), 1, "replies stay in their thread");
    let top = &history.messages[0];
    assert_eq!(top.content.text.as_deref(), Some("edited"));
    assert_eq!(top.content.metadata.as_ref().map(|m| m.event_type.as_str()), Some("hagios_notification"));
    let thread = session
        .conversations_replies(&SlackApiConversationsRepliesRequest::new("C0ALERTS".into(), parent.ts.clone()))
        .await
        .expect("replies");
    let ts: Vec<_> = thread.messages.iter().map(|m| m.origin.ts.0.clone()).collect();
    assert_eq!(ts, [parent.ts.0.clone(), reply.ts.0.clone()]);
    assert!(thread.messages[1].content.metadata.is_none(), "metadata only with include_all_metadata");
    assert_eq!(fake.bot_messages()[0].edits, 1);
}

#[tokio::test]
async fn a_channel_the_bot_is_not_in_looks_like_slack() {
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0QUIET", "quiet")]).await;
    fake.remove_bot_from("C0QUIET");
    let client = client(&fake);
    let bot = token(BOT_TOKEN);
    let session = client.open_session(&bot);
    let info = |channel: &str| SlackApiConversationsInfoRequest::new(channel.into());
    let inside = session.conversations_info(&info("C0ALERTS")).await.expect("conversations.info");
    assert_eq!((inside.channel.name.as_deref(), inside.channel.flags.is_member), (Some("alerts"), Some(true)));
    let outside = session.conversations_info(&info("C0QUIET")).await.expect("conversations.info");
    assert_eq!(outside.channel.flags.is_member, Some(false));
    assert_eq!(api_code(session.conversations_info(&info("#alerts")).await.unwrap_err()), "channel_not_found");
    let post = SlackApiChatPostMessageRequest::new("C0QUIET".into(), SlackMessageContent::new().with_text("hi".into()));
    assert_eq!(api_code(session.chat_post_message(&post).await.unwrap_err()), "not_in_channel");
    let list = session.conversations_list(&SlackApiConversationsListRequest::new()).await.expect("list");
    let members: Vec<_> = list.channels.iter().map(|c| (c.id.0.as_str(), c.flags.is_member)).collect();
    assert_eq!(members, [("C0ALERTS", Some(true)), ("C0QUIET", Some(false))]);
}

#[tokio::test]
async fn rate_limits_and_outages_look_like_slack() {
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let client = client(&fake);
    let bot = token(BOT_TOKEN);
    let session = client.open_session(&bot);
    let request =
        SlackApiChatPostMessageRequest::new("C0ALERTS".into(), SlackMessageContent::new().with_text("hi".into()));

    fake.fail_next("chat.postMessage", 1, Failure::RateLimited { retry_after_secs: 7 });
    match session.chat_post_message(&request).await.unwrap_err() {
        SlackClientError::RateLimitError(e) => assert_eq!(e.retry_after, Some(Duration::from_secs(7))),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    fake.fail_next("*", 1, Failure::Status(503));
    match session.chat_post_message(&request).await.unwrap_err() {
        SlackClientError::HttpError(e) => assert_eq!(e.status_code.as_u16(), 503),
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    session.chat_post_message(&request).await.expect("served again");
    assert_eq!((fake.rate_limited(), fake.calls("chat.postMessage"), fake.bot_messages().len()), (1, 3, 1));
}

#[tokio::test]
async fn socket_mode_envelopes_parse_as_slack_events_and_acks_are_recorded() {
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let client = client(&fake);
    let url = socket_mode_url(&client).await;
    assert!(url.starts_with("ws://"), "{url}");

    let refused = tokio_tungstenite::connect_async(url.replace("ticket-1", "ticket-forged")).await;
    assert!(refused.is_err(), "a ticket that was not issued is refused");

    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("connect");
    let mut next_frame = async || next_frame(&mut socket).await;
    let hello = next_frame().await;
    assert_eq!((hello["type"].as_str(), hello["num_connections"].as_u64()), (Some("hello"), Some(1)), "{hello}");
    assert_eq!(hello["connection_info"]["app_id"], hagios_fakeslack::APP_ID);
    fake.wait_connected(WAIT).await;

    let parent = {
        let bot = token(BOT_TOKEN);
        let session = client.open_session(&bot);
        let blocks = serde_json::json!([{ "type": "actions", "block_id": "incident", "elements": [
            { "type": "button", "action_id": "ack", "value": "ack", "text": { "type": "plain_text", "text": "Ack" } }
        ]}]);
        let content = SlackMessageContent::new()
            .with_text("alert".into())
            .with_blocks(serde_json::from_value(blocks).expect("blocks"));
        session.chat_post_message(&SlackApiChatPostMessageRequest::new("C0ALERTS".into(), content)).await.expect("post")
    };

    let mention = fake.mention("U0ALICE", "C0ALERTS", Some(&parent.ts.0), "ack looking");
    let envelope = next_frame().await;
    assert_eq!(envelope["accepts_response_payload"], false);
    let event: SlackPushEventCallback =
        serde_json::from_value(payload(&envelope, "events_api", &mention)).expect("event_callback");
    let SlackEventCallbackBody::AppMention(body) = event.event else { panic!("app_mention") };
    assert_eq!(body.origin.thread_ts.map(|t| t.0), Some(parent.ts.0.clone()));
    assert_eq!(body.content.text.as_deref(), Some("<@U0BOT> ack looking"));

    let dm = fake.direct_message("U0ALICE", "D0ALICE", "status");
    let event: SlackPushEventCallback =
        serde_json::from_value(payload(&next_frame().await, "events_api", &dm)).expect("event_callback");
    let SlackEventCallbackBody::Message(message) = event.event else { panic!("message") };
    assert_eq!(message.origin.channel_type.map(|t| t.0), Some("im".to_owned()));

    let slash = fake.slash_command("U0ALICE", "C0ALERTS", "problems");
    let envelope = next_frame().await;
    assert_eq!(envelope["accepts_response_payload"], true);
    let command: SlackCommandEvent =
        serde_json::from_value(payload(&envelope, "slash_commands", &slash)).expect("command");
    assert_eq!((command.command.0.as_str(), command.text.as_deref()), ("/hagios", Some("problems")));

    let press = fake.press_button("U0ALICE", "C0ALERTS", &parent.ts.0, "ack");
    let interaction: SlackInteractionEvent =
        serde_json::from_value(payload(&next_frame().await, "interactive", &press)).expect("interaction");
    let SlackInteractionEvent::BlockActions(actions) = interaction else { panic!("block_actions") };
    assert_eq!(
        actions.container,
        SlackInteractionActionContainer::Message(SlackInteractionActionMessageContainer {
            message_ts: parent.ts.clone(),
            channel_id: Some("C0ALERTS".into()),
            is_ephemeral: Some(false),
            is_app_unfurl: None,
        })
    );
    assert_eq!(actions.actions.expect("actions")[0].action_id.0, "ack");

    for id in [&mention, &dm, &slash, &press] {
        socket.send(Frame::text(serde_json::json!({ "envelope_id": id }).to_string())).await.expect("ack");
    }
    for id in [&mention, &dm, &slash, &press] {
        assert!(fake.wait_ack(id, WAIT).await.in_time);
    }
}

#[tokio::test]
async fn edits_and_other_bots_posts_look_like_slack() {
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let client = client(&fake);
    let (mut socket, _) = tokio_tungstenite::connect_async(socket_mode_url(&client).await).await.expect("connect");
    next_frame(&mut socket).await;
    fake.wait_connected(WAIT).await;
    fake.add_user("U0ALICE", "Alice");
    fake.add_bot("U0RELAY", "B0RELAY", "relay");
    let mut next_event = async |id: &str| -> (serde_json::Value, SlackPushEventCallback) {
        let raw = payload(&next_frame(&mut socket).await, "events_api", id);
        (raw["event"].clone(), serde_json::from_value(raw).expect("event_callback"))
    };

    // An edited mention comes again as an app_mention: the same ts, the new text, `edited`.
    let id = fake.mention("U0ALICE", "C0ALERTS", None, "downtime web01 2h");
    let (_, first) = next_event(&id).await;
    let SlackEventCallbackBody::AppMention(first) = first.event else { panic!("app_mention") };
    let edit = fake.edit_message("C0ALERTS", &first.origin.ts.0, "<@U0BOT> downtime web01 3h").expect("sent");
    let (_, edited) = next_event(&edit).await;
    let SlackEventCallbackBody::AppMention(edited) = edited.event else { panic!("app_mention") };
    assert_eq!((&edited.origin.ts, &edited.user.0), (&first.origin.ts, &"U0ALICE".to_owned()));
    assert_eq!(edited.content.text.as_deref(), Some("<@U0BOT> downtime web01 3h"));
    assert_eq!(edited.edited.map(|edited| edited.user), Some("U0ALICE".into()));
    assert_eq!(fake.edit_message("C0ALERTS", &first.origin.ts.0, "never mind"), None, "no longer a mention");

    // An edited direct message is a hidden message_changed with the message now and before.
    let id = fake.direct_message("U0ALICE", "D0ALICE", "comment web01 first");
    let (_, dm) = next_event(&id).await;
    let SlackEventCallbackBody::Message(dm) = dm.event else { panic!("message") };
    let edit = fake.edit_message("D0ALICE", &dm.origin.ts.0, "comment web01 second").expect("sent");
    let (_, changed) = next_event(&edit).await;
    let SlackEventCallbackBody::Message(changed) = changed.event else { panic!("message") };
    assert_eq!((changed.subtype, changed.hidden), (Some(SlackMessageEventType::MessageChanged), Some(true)));
    let now = changed.message.expect("message");
    assert_eq!((now.ts, now.content.and_then(|c| c.text)), (dm.origin.ts, Some("comment web01 second".into())));
    assert_eq!(now.edited.map(|edited| edited.user), Some("U0ALICE".into()));
    let before = changed.previous_message.expect("previous_message").content.and_then(|c| c.text);
    assert_eq!(before.as_deref(), Some("comment web01 first"));

    // Another app's bot mentions the bot: an app_mention whose `user` is a bot user. The model
    // keeps no `bot_id`; users.info tells the account is a bot's.
    let id = fake.bot_mention("U0RELAY", "C0ALERTS", None, "ack web01 HTTP");
    let (raw, event) = next_event(&id).await;
    assert_eq!((raw["bot_id"].as_str(), raw["bot_profile"]["app_id"].as_str()), (Some("B0RELAY"), Some("A0RELAY")));
    assert!(raw.get("client_msg_id").is_none(), "apps post without a client message id");
    let SlackEventCallbackBody::AppMention(mention) = event.event else { panic!("app_mention") };
    assert_eq!(mention.user.0, "U0RELAY");
    let bot = token(BOT_TOKEN);
    let session = client.open_session(&bot);
    let users_info = |id: &str| SlackApiUsersInfoRequest::new(SlackUserId(id.to_owned()));
    let relay = session.users_info(&users_info("U0RELAY")).await.expect("users.info").user;
    assert_eq!((relay.flags.is_bot, relay.real_name.as_deref()), (Some(true), Some("relay")));
    let alice = session.users_info(&users_info("U0ALICE")).await.expect("users.info").user;
    assert_eq!(alice.flags.is_bot, Some(false));
    let hagios = session.users_info(&users_info(BOT_USER)).await.expect("users.info").user;
    assert_eq!(hagios.flags.is_bot, Some(true), "the fake knows its own bot user");

    // An integration's post has a bot_id and no user: no app_mention in slack-morphism's model.
    let id = fake.integration_mention("B0HOOK", "deploy-hook", "C0ALERTS", "downtime web01 2h");
    let (raw, event) = next_event(&id).await;
    assert_eq!(
        (raw["subtype"].as_str(), raw["bot_id"].as_str(), raw.get("user")),
        (Some("bot_message"), Some("B0HOOK"), None)
    );
    assert!(matches!(event.event, SlackEventCallbackBody::Unknown(_)), "{:?}", event.event);

    // History shows each post with its author as Slack does.
    let history = session
        .conversations_history(&SlackApiConversationsHistoryRequest::new().with_channel("C0ALERTS".into()))
        .await
        .expect("history");
    let senders: Vec<_> = history
        .messages
        .iter()
        .map(|m| (m.sender.user.as_ref().map(|u| u.0.as_str()), m.sender.bot_id.as_ref().map(|b| b.0.as_str())))
        .collect();
    assert_eq!(senders, [(None, Some("B0HOOK")), (Some("U0RELAY"), Some("B0RELAY")), (Some("U0ALICE"), None)]);
}

/// The Socket Mode URL `apps.connections.open` hands out for the app token.
async fn socket_mode_url(client: &Client) -> String {
    let app = token(APP_TOKEN);
    let open = client
        .open_session(&app)
        .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
        .await
        .expect("apps.connections.open");
    open.url.0.to_string()
}

async fn next_frame(
    socket: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) -> serde_json::Value {
    loop {
        if let Frame::Text(text) = socket.next().await.expect("frame").expect("frame ok") {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

/// The payload of `envelope`, checked to be of `kind` and to be envelope `id`.
fn payload(envelope: &serde_json::Value, kind: &str, id: &str) -> serde_json::Value {
    assert_eq!((envelope["type"].as_str(), envelope["envelope_id"].as_str()), (Some(kind), Some(id)), "{envelope}");
    envelope["payload"].clone()
}
