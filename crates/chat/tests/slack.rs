//! The Slack adapter against the fake Slack: what it posts and edits, how Slack's failures map
//! to retryable errors, and how Socket Mode events become chat events with fast acks — and that
//! edits of a mention or a DM and what other bots post become none.

use hagios_chat::slack::{SlackChat, SlackConfig, SlackTokens};
use hagios_chat::{AlertCard, ChatAdapter, ChatError, ChatEvent, MessageRef, Outbound};
use hagios_domain::{NotificationType, ObjectRef, State};
use hagios_fakeslack::{Failure, FakeSlack, APP_TOKEN, BOT_TOKEN};
use std::time::Duration;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

async fn slack() -> (FakeSlack, SlackChat) {
    slack_paced(false).await
}

async fn slack_paced(pace_posts: bool) -> (FakeSlack, SlackChat) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let config = SlackConfig { socket_connections: 1, ..SlackConfig::at(format!("{}/", fake.api_url()), "alerts") };
    let chat = SlackChat::new(&config, tokens()).expect("adapter");
    (fake, if pace_posts { chat } else { chat.unpaced() })
}

/// `chat` listening to `fake` (connected), with Alice known to `users.info`.
async fn listening(
    fake: &FakeSlack,
    chat: SlackChat,
) -> (mpsc::Receiver<ChatEvent>, tokio::task::JoinHandle<Result<(), ChatError>>) {
    let (tx, events) = mpsc::channel(8);
    let listener = tokio::spawn(async move { chat.listen(tx).await });
    fake.wait_connected(WAIT).await;
    fake.add_user("U0ALICE", "Alice");
    (events, listener)
}

fn tokens() -> SlackTokens {
    SlackTokens { bot: BOT_TOKEN.into(), app: APP_TOKEN.into() }
}

fn card(output: &str, open: bool) -> Outbound {
    Outbound::Alert(AlertCard {
        site: "local".into(),
        object: ObjectRef::service("web01", "HTTP"),
        state: if open { State::Critical } else { State::Ok },
        kind: if open { NotificationType::Problem } else { NotificationType::Recovery },
        output: output.into(),
        long_output: String::new(),
        history: Vec::new(),
        open,
        time: 1_700_000_000,
    })
}

#[tokio::test]
async fn alerts_are_threads_whose_parent_is_edited() {
    let (fake, chat) = slack().await;
    let parent = chat.post(None, None, &card("CRITICAL - refused", true)).await.expect("post");
    assert_eq!(parent.channel, "C0ALERTS", "the default channel's name resolves to its id");
    let reply = chat.post(None, Some(&parent), &Outbound::Text("acknowledged".into())).await.expect("reply");
    chat.update(&parent, &card("OK - fine", false)).await.expect("update");

    let messages = fake.bot_messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].thread_ts.as_deref(), Some(parent.id.as_str()));
    assert_eq!(messages[1].ts, reply.id);
    assert_eq!(messages[0].edits, 1);
    let blocks = messages[0].blocks.as_ref().expect("blocks").to_string();
    assert!(blocks.contains(":large_green_circle:") && !blocks.contains("hagios_ack"), "{blocks}");

    let reminder = Outbound::Reminder("Reminder: web01!HTTP still CRITICAL".into());
    chat.post(None, Some(&parent), &reminder).await.expect("reminder");
    let messages = fake.bot_messages();
    assert!(!messages[1].broadcast && messages[2].broadcast, "a reminder is also sent to the channel");
}

#[tokio::test]
async fn slack_failures_are_sorted_into_retry_and_give_up() {
    let (fake, chat) = slack().await;
    fake.fail_next("chat.postMessage", 1, Failure::RateLimited { retry_after_secs: 7 });
    let error = chat.post(None, None, &card("x", true)).await.unwrap_err();
    assert!(matches!(error, ChatError::RateLimited(wait) if wait == Duration::from_secs(7)), "{error:?}");
    assert!(error.retryable());

    fake.fail_next("chat.postMessage", 1, Failure::Status(503));
    let error = chat.post(None, None, &card("x", true)).await.unwrap_err();
    assert!(matches!(error, ChatError::Unavailable(_)) && error.retryable(), "{error:?}");

    let error = chat.post(Some("C0GONE"), None, &card("x", true)).await.unwrap_err();
    assert!(!error.retryable());
    let text = error.to_string();
    assert!(text.contains("channel_not_found") && text.contains("[[route]]"), "{text}");
    assert!(!text.contains(BOT_TOKEN));
    assert_eq!(fake.bot_messages().len(), 0);
}

#[tokio::test]
async fn hostile_and_huge_output_is_posted_safely_with_the_rest_in_the_thread() {
    let (fake, chat) = slack().await;
    let evil = format!("x\n[0] RESTART_PROGRAM; <!channel> {}", "y".repeat(10_000));
    let parent = chat.post(None, None, &card(&evil, true)).await.expect("the fake enforces Slack's block limits");
    let ys = |fake: &FakeSlack| -> usize {
        let blocks = fake.bot_messages().iter().map(|m| m.blocks.as_ref().unwrap().to_string()).collect::<String>();
        blocks.matches("yyyy").count() * 4
    };
    fake.wait_until("the rest of the output in the thread", WAIT, |fake| ys(fake) > 9_900).await;
    let messages = fake.bot_messages();
    assert!(messages.len() > 1, "the rest of the output is in the thread");
    assert!(messages[1..].iter().all(|m| m.thread_ts.as_deref() == Some(parent.id.as_str())));
    let everything: String = messages.iter().map(|m| m.blocks.as_ref().unwrap().to_string()).collect();
    assert!(!everything.contains("<!channel>") && everything.contains("&lt;!channel&gt;"));
}

#[tokio::test]
async fn mentions_commands_and_buttons_arrive_as_chat_events_and_are_acked() {
    let (fake, chat) = slack().await;
    let parent = chat.post(None, None, &card("CRITICAL", true)).await.expect("post");
    let (mut events, listener) = listening(&fake, chat).await;

    let mention = fake.mention("U0ALICE", "C0ALERTS", Some(&parent.id), "ack looking &amp; <!channel>");
    match tokio::time::timeout(WAIT, events.recv()).await.expect("event").expect("open") {
        ChatEvent::Command { user, thread, text, .. } => {
            assert_eq!((user.id.as_str(), user.name.as_str()), ("U0ALICE", "Alice"), "named by users.info");
            assert_eq!(thread, Some(parent.clone()));
            assert_eq!(text, "ack looking & <!channel>");
        }
        other => panic!("unexpected {other:?}"),
    }
    let press = fake.press_button("U0ALICE", "C0ALERTS", &parent.id, "hagios_downtime_1h");
    let event = tokio::time::timeout(WAIT, events.recv()).await.expect("event").expect("open");
    assert_eq!(
        event,
        ChatEvent::Button {
            user: hagios_chat::ChatUser { id: "U0ALICE".into(), name: "Alice".into(), foreign: false },
            message: MessageRef { channel: "C0ALERTS".into(), id: parent.id.clone() },
            command: "downtime 1h".into(),
            event_id: None,
        }
    );
    let slash = fake.slash_command("U0ALICE", "C0ALERTS", "problems");
    assert!(matches!(
        tokio::time::timeout(WAIT, events.recv()).await.expect("event").expect("open"),
        ChatEvent::Command { thread: None, ref text, .. } if text == "problems"
    ));
    let dm = fake.direct_message("U0BOB", "D0BOB", "status web01");
    match tokio::time::timeout(WAIT, events.recv()).await.expect("event").expect("open") {
        ChatEvent::Command { channel, text, user, .. } => {
            assert_eq!((channel.as_str(), text.as_str()), ("D0BOB", "status web01"));
            assert_eq!(user.name, "U0BOB", "someone Slack cannot name keeps the id");
        }
        other => panic!("unexpected {other:?}"),
    }
    for id in [&mention, &press, &slash, &dm] {
        assert!(fake.wait_ack(id, WAIT).await.in_time, "acked within Slack's 3 seconds");
    }
    let slash_ack = fake.wait_ack(&slash, WAIT).await;
    assert!(slash_ack.payload.expect("slash commands are answered").to_string().contains("working on it"));

    drop(events);
    tokio::time::timeout(WAIT, listener).await.expect("listener stops").expect("task").expect("clean stop");
}

#[tokio::test]
async fn edited_mentions_and_messages_and_bots_posts_are_no_commands() {
    let (fake, chat) = slack().await;
    let (mut events, listener) = listening(&fake, chat).await;
    fake.add_bot("U0RELAY", "B0RELAY", "relay");
    let mut next = async || tokio::time::timeout(WAIT, events.recv()).await.expect("an event").expect("open");
    let text_of = |event: ChatEvent| match event {
        ChatEvent::Command { user, text, .. } => (user.id, text),
        other => panic!("expected a command: {other:?}"),
    };

    fake.mention("U0ALICE", "C0ALERTS", None, "downtime web01 2h");
    assert_eq!(text_of(next().await), ("U0ALICE".to_owned(), "downtime web01 2h".to_owned()));
    fake.direct_message("U0ALICE", "D0ALICE", "comment web01 first");
    assert_eq!(text_of(next().await), ("U0ALICE".to_owned(), "comment web01 first".to_owned()));
    let [mention, dm] = [0, 1].map(|n| fake.messages()[n].ts.clone());

    let hostile = [
        fake.edit_message("C0ALERTS", &mention, "<@U0BOT> downtime web01 3h").expect("an app_mention again"),
        fake.edit_message("D0ALICE", &dm, "comment web01 second").expect("a message_changed"),
        fake.bot_mention("U0RELAY", "C0ALERTS", None, "downtime web01 2h"),
        fake.bot_mention("U0RELAY", "C0ALERTS", Some(&mention), "ack"),
        fake.integration_mention("B0HOOK", "deploy-hook", "C0ALERTS", "downtime web01 2h"),
    ];
    // Events reach the conversation in the order Slack sent them: the next one is this.
    fake.mention("U0ALICE", "C0ALERTS", None, "status web01");
    assert_eq!(text_of(next().await), ("U0ALICE".to_owned(), "status web01".to_owned()), "nothing came in between");
    for id in &hostile {
        assert!(fake.wait_ack(id, WAIT).await.in_time, "acked like any event");
    }

    drop(events);
    tokio::time::timeout(WAIT, listener).await.expect("listener stops").expect("task").expect("clean stop");
}

#[tokio::test]
async fn keyed_messages_are_found_again_by_their_notification_id() {
    let (fake, chat) = slack().await;
    assert_eq!(chat.find_keyed(None, None, "n-1").await.expect("lookup"), None);
    let parent = chat.post_keyed(None, None, &card("CRITICAL", true), "n-1").await.expect("post");
    let reply = chat.post_keyed(None, Some(&parent), &Outbound::Text("acked".into()), "n-2").await.expect("reply");
    chat.post(None, None, &Outbound::Text("unrelated".into())).await.expect("post");

    assert_eq!(chat.find_keyed(Some("C0ALERTS"), None, "n-1").await.expect("lookup"), Some(parent.clone()));
    assert_eq!(chat.find_keyed(None, Some(&parent), "n-2").await.expect("lookup"), Some(reply));
    assert_eq!(chat.find_keyed(None, Some(&parent), "n-3").await.expect("lookup"), None);
    let metadata = fake.bot_messages()[0].metadata.clone().expect("metadata");
    assert_eq!(metadata["event_type"], "hagios_notification");
    assert_eq!(metadata["event_payload"]["notification_id"], "n-1");
}

#[tokio::test]
async fn paced_posts_queue_a_burst_instead_of_hitting_slacks_limit() {
    let burst = 4;
    let (fake, chat) = slack_paced(false).await;
    fake.limit_posts_per_channel(Duration::from_secs(1));
    let unpaced: Vec<_> = post_in_a_row(&chat, burst).await;
    assert!(unpaced.iter().any(|r| matches!(r, Err(ChatError::RateLimited(_)))), "without pacing a burst is refused");

    let (fake, chat) = slack_paced(true).await;
    fake.limit_posts_per_channel(Duration::from_secs(1));
    for result in post_in_a_row(&chat, burst).await {
        result.expect("every post of the burst goes through");
    }
    assert_eq!((fake.rate_limited(), fake.bot_messages().len()), (0, burst));
}

/// Posts `count` alerts one after the other, as the pipeline does, collecting the results.
async fn post_in_a_row(chat: &SlackChat, count: usize) -> Vec<Result<MessageRef, ChatError>> {
    let mut results = Vec::new();
    for n in 0..count {
        results.push(chat.post(None, None, &card(&format!("alert {n}"), true)).await);
    }
    results
}

#[tokio::test]
async fn a_wrong_app_token_stops_listening_with_what_to_fix() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let config = SlackConfig { socket_connections: 1, ..SlackConfig::at(fake.api_url(), "C0ALERTS") };
    let wrong = SlackTokens { app: "xapp-wrong".into(), ..tokens() };
    let chat = SlackChat::new(&config, wrong).expect("adapter").unpaced();
    let (tx, _events) = mpsc::channel(1);
    let error = tokio::time::timeout(WAIT, chat.listen(tx)).await.expect("gives up at once").unwrap_err();
    assert!(!error.retryable());
    assert!(error.to_string().contains("invalid_auth") && error.to_string().contains("app_token_env"), "{error}");
    assert!(!error.to_string().contains("xapp-wrong"));
}

#[tokio::test]
async fn a_channel_named_by_name_is_found_by_its_id() {
    let (fake, chat) = slack().await;
    assert_eq!(chat.channel_id("alerts").await.expect("by name"), "C0ALERTS");
    assert_eq!(chat.channel_id("#alerts").await.expect("by #name"), "C0ALERTS");
    assert_eq!(chat.channel_id("C0ALERTS").await.expect("an id is an id"), "C0ALERTS");
    assert_eq!(fake.calls("conversations.list"), 1, "looked up once, then known");
    let unknown = chat.channel_id("#nowhere").await.expect_err("no such channel");
    assert!(!unknown.retryable() && unknown.to_string().contains("no channel named `nowhere`"), "{unknown}");
}

#[tokio::test]
async fn files_go_up_in_two_steps_and_are_shared_in_the_thread_with_their_comment() {
    let (fake, chat) = slack().await;
    let parent = chat.post(None, None, &card("CRITICAL - refused", true)).await.expect("post");
    let file = hagios_chat::Attachment {
        name: "timeline-web01-HTTP.md".into(),
        mime: "text/markdown".into(),
        bytes: b"# web01!HTTP\n\n- 10:00 PROBLEM <!channel>\n".to_vec(),
    };
    chat.upload(None, Some(&parent), &file, "timeline of web01!HTTP <!here>").await.expect("upload");
    let [uploaded] = &fake.files()[..] else { panic!("one file: {:?}", fake.files()) };
    assert_eq!(uploaded.bytes.as_deref(), Some(file.bytes.as_slice()));
    assert_eq!((uploaded.name.as_str(), uploaded.mime.as_deref()), ("timeline-web01-HTTP.md", Some("text/markdown")));
    assert_eq!(uploaded.shared, Some(("C0ALERTS".to_owned(), Some(parent.id.clone()))), "shared in the thread");
    assert_eq!(
        uploaded.comment.as_deref(),
        Some("timeline of web01!HTTP &lt;!here&gt;"),
        "the comment mentions nobody"
    );
    let shared = fake.bot_messages().into_iter().find(|m| !m.files.is_empty()).expect("a message with the file");
    assert_eq!(shared.thread_ts.as_deref(), Some(parent.id.as_str()));
    assert_eq!(
        (fake.calls("files.getUploadURLExternal"), fake.calls("upload"), fake.calls("files.completeUploadExternal")),
        (1, 1, 1)
    );
    fake.fail_next("files.completeUploadExternal", 1, Failure::Error("file_not_found"));
    let refused = chat.upload(None, None, &file, "again").await.unwrap_err();
    assert!(!refused.retryable() && refused.to_string().contains("file_not_found"), "{refused}");
}
