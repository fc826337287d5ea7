//! Delivery through Slack (the fake): exactly once across a crash between posting and committing,
//! and a burst for one channel paced so that Slack never has to refuse it.

use super::*;
use crate::config::DeliveryConfig;
use async_trait::async_trait;
use hagios_chat::slack::{SlackChat, SlackConfig, SlackTokens};
use hagios_chat::Platform;
use hagios_chat::{ChatEvent, MessageRef, Outbound};
use hagios_domain::{Notification, NotificationType, State};
use hagios_fakeslack::{FakeSlack, APP_TOKEN, BOT_TOKEN};
use tokio::sync::mpsc;

/// Slack as seen by a process that dies right after a post went through: the message is in
/// Slack, the answer never reaches the store.
struct DiesAfterPosting(SlackChat);

#[async_trait]
impl ChatAdapter for DiesAfterPosting {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn post(&self, _: Option<&str>, _: Option<&MessageRef>, _: &Outbound) -> Result<MessageRef, ChatError> {
        unreachable!("the pipeline posts keyed messages")
    }

    async fn post_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
        key: &str,
    ) -> Result<MessageRef, ChatError> {
        self.0.post_keyed(channel, thread, message, key).await?;
        Err(ChatError::Unavailable("killed between posting and committing".into()))
    }

    async fn update(&self, message: &MessageRef, content: &Outbound) -> Result<(), ChatError> {
        self.0.update(message, content).await
    }

    async fn listen(&self, _: mpsc::Sender<ChatEvent>) -> Result<(), ChatError> {
        Ok(())
    }
}

fn slack(fake: &FakeSlack) -> SlackChat {
    slack_paced(fake, false)
}

fn slack_paced(fake: &FakeSlack, pace_posts: bool) -> SlackChat {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = SlackConfig { socket_connections: 1, ..SlackConfig::at(fake.api_url(), "C0ALERTS") };
    let chat = SlackChat::new(&config, SlackTokens { bot: BOT_TOKEN.into(), app: APP_TOKEN.into() }).expect("adapter");
    if pace_posts {
        chat
    } else {
        chat.unpaced()
    }
}

/// A notification about `host!HTTP`.
pub(super) fn notification_for(host: &str, kind: NotificationType, state: State) -> Notification {
    super::group_tests::notification(host, "HTTP", kind, state)
}

fn notification(kind: NotificationType, state: State) -> Notification {
    notification_for("web01", kind, state)
}

/// A pipeline as a fresh process would build it: the store reopened from its file.
fn pipeline(dir: &std::path::Path, chat: Arc<dyn ChatAdapter>) -> Pipeline {
    Pipeline {
        spool: Arc::new(Spool::open(dir.join("spool")).expect("spool")),
        store: StoreHandle::open(&dir.join("state.db")).expect("store"),
        chat,
        routes: Vec::new(),
        default_route: super::group_tests::ungrouped_default_route(),
        settings: DeliveryConfig::default(),
        holds: Holds::new(Vec::new()),
        groups: Default::default(),
        intake: Default::default(),
        evidence: None,
        health: Default::default(),
        oncall: Default::default(),
        handovers: Default::default(),
        unrecorded: Default::default(),
    }
}

#[tokio::test]
async fn a_crash_between_post_and_commit_neither_loses_nor_duplicates() {
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path().join("spool")).expect("spool");

    for (kind, state) in
        [(NotificationType::Problem, State::Critical), (NotificationType::Acknowledgement, State::Critical)]
    {
        spool.write(notification(kind, state)).expect("spooled");
        let dying = pipeline(dir.path(), Arc::new(DiesAfterPosting(slack(&fake))));
        assert!(dying.drain().await.is_err(), "the first process dies before committing");
        assert_eq!(spool.pending().expect("pending").len(), 1, "the record stays in the spool");

        let restarted = pipeline(dir.path(), Arc::new(slack(&fake)));
        restarted.drain().await.expect("the restarted process finishes the delivery");
        assert!(spool.pending().expect("pending").is_empty());
    }

    let messages = fake.bot_messages();
    assert_eq!(messages.len(), 2, "one parent and one thread reply: {messages:#?}");
    assert!(messages[1].thread_ts.as_deref() == Some(messages[0].ts.as_str()));
    let store = StoreHandle::open(&dir.path().join("state.db")).expect("store");
    let problem = notification(NotificationType::Problem, State::Critical);
    let incident = store
        .open_incident(&problem.site, &problem.object)
        .await
        .expect("lookup")
        .expect("the incident was committed with the first post's message");
    assert_eq!(incident.message_id, messages[0].ts);
    assert_eq!(incident.card.history.len(), 1, "the ack was committed once");
}

#[tokio::test]
async fn a_burst_of_50_alerts_for_one_channel_is_delivered_whole_without_a_429() {
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    fake.limit_posts_per_channel(std::time::Duration::from_secs(1));
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    for n in 0..50 {
        spool
            .write(notification_for(&format!("host{n:02}"), NotificationType::Problem, State::Critical))
            .expect("spooled");
    }
    pipeline(dir.path(), Arc::new(slack_paced(&fake, true))).drain().await.expect("all delivered");

    let messages = fake.bot_messages();
    let mut hosts: Vec<_> =
        messages.iter().map(|m| m.text.split_whitespace().nth(1).unwrap_or_default().to_owned()).collect();
    hosts.sort();
    hosts.dedup();
    assert_eq!((messages.len(), hosts.len(), fake.rate_limited()), (50, 50, 0));
    assert!(spool.pending().expect("pending").is_empty());
}

#[tokio::test]
async fn a_mute_window_holds_in_the_spool_then_posts_exactly_once_when_it_ends() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let fake = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path().join("spool")).expect("spool");
    // notification() is sent at 22:13:20 UTC; the window is 22:00-23:00 UTC.
    let window = "name = \"nightly\"\ntimes = [\"22:00-23:00\"]\ntimezone = \"UTC\"\n";
    let now = Arc::new(AtomicI64::new(1_700_000_000 + 60));
    let muted = |dir: &std::path::Path| {
        let clock = Arc::clone(&now);
        Pipeline {
            holds: Holds {
                quiet_hours: vec![toml::from_str(window).expect("window")],
                clock: Arc::new(move || clock.load(Ordering::SeqCst)),
            },
            ..pipeline(dir, Arc::new(slack(&fake)))
        }
    };
    // db01's problem came before the window and is in chat; its recovery comes inside.
    let before = Notification {
        time: 1_700_000_000 - 3600,
        ..notification_for("db01", NotificationType::Problem, State::Critical)
    };
    spool.write(before).expect("spooled");
    muted(dir.path()).drain().await.expect("drained");
    assert_eq!(fake.bot_messages().len(), 1, "not held: sent before the window");
    spool.write(notification(NotificationType::Problem, State::Critical)).expect("spooled");
    spool.write(notification_for("db01", NotificationType::Recovery, State::Ok)).expect("spooled");
    muted(dir.path()).drain().await.expect("drained");
    muted(dir.path()).drain().await.expect("a restarted process holds them too");
    assert_eq!(fake.bot_messages().len(), 1, "held: {:#?}", fake.bot_messages());
    assert_eq!(spool.pending().expect("pending").len(), 2, "kept in the spool while held");

    now.store(1_700_000_000 + 2800, Ordering::SeqCst);
    let released = muted(dir.path());
    released.drain().await.expect("released");
    released.drain().await.expect("nothing left");
    let messages = fake.bot_messages();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[1].text.contains("PROBLEM web01!HTTP"), "{}", messages[1].text);
    assert_eq!(messages[2].thread_ts.as_deref(), Some(messages[0].ts.as_str()), "db01's recovery joins its thread");
    assert!(spool.pending().expect("pending").is_empty());
}
