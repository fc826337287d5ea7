//! A message is a command once, when a person sends it: `run::serve` against a real, private
//! Nagios and the fake Slack. A person schedules a downtime by a mention and adds a comment by
//! DM, then edits both (Slack sends the mention again with `edited`, the DM as
//! `message_changed`); another app's bot — holding a role, so that its command would act — and
//! an integration mention the bot with commands. None of that reaches the router or Nagios: one
//! downtime, one comment, no acknowledgement, and the audit log holds the person's commands only.

mod common;

use common::PATIENCE;
use hagios_fakeslack::{FakeSlack, BOT_USER};

const ONCALL: &str = "U0ONCALL";
/// Another app's bot user, and its bot id.
const RELAY: &str = "U0RELAY";
const RELAY_BOT: &str = "B0RELAY";

#[tokio::test(flavor = "multi_thread")]
async fn edits_and_bots_mentions_run_nothing_in_nagios() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(nagios) = common::nagios_with_a_problem() else { return };
    // The direct message channel too: hagios answers there.
    let slack = FakeSlack::start(&[("C0ALERTS", "alerts"), ("D0ONCALL", "oncall")]).await;
    slack.add_user(ONCALL, "Olive Oncall");
    slack.add_bot(RELAY, RELAY_BOT, "relay");
    let dir = tempfile::tempdir().expect("temp dir");
    let chat = common::slack_section(&slack, "EDITS");
    // The relay holds a role: what it asks would act if it were taken as a command.
    let config = common::configuration(dir.path(), &nagios, &chat, &["ack", "downtime", "comment"], &[ONCALL, RELAY]);
    let running = common::Running::start(config);
    slack.wait_connected(PATIENCE).await;

    let confirmed = |count: usize| {
        move |fake: &FakeSlack| {
            fake.bot_messages().iter().filter(|m| m.text.contains("confirmed by Nagios")).count() >= count
        }
    };
    slack.mention(ONCALL, "C0ALERTS", None, "downtime web01 2h planned work");
    slack.wait_until("the confirmed downtime", PATIENCE, confirmed(1)).await;
    slack.direct_message(ONCALL, "D0ONCALL", "comment web01 HTTP first note");
    slack.wait_until("the confirmed comment", PATIENCE, confirmed(2)).await;
    let mention =
        slack.messages().iter().find(|m| m.user == ONCALL && m.channel == "C0ALERTS").expect("mention").ts.clone();
    let dm = slack.messages().iter().find(|m| m.channel == "D0ONCALL").expect("dm").ts.clone();

    let hostile = [
        slack.edit_message("C0ALERTS", &mention, &format!("<@{BOT_USER}> downtime web01 3h planned work")),
        slack.edit_message("D0ONCALL", &dm, "comment web01 HTTP edited note"),
        Some(slack.bot_mention(RELAY, "C0ALERTS", None, "ack web01 HTTP relayed")),
        Some(slack.bot_mention(RELAY, "C0ALERTS", None, "downtime db01 2h relayed")),
        Some(slack.integration_mention("B0HOOK", "deploy-hook", "C0ALERTS", "downtime web01 4h hooked")),
        Some(slack.integration_mention("B0HOOK", "deploy-hook", "C0ALERTS", "comment web01 HTTP hooked")),
    ];
    for envelope in hostile.iter().map(|envelope| envelope.as_deref().expect("Slack sends an event")) {
        assert!(slack.wait_ack(envelope, PATIENCE).await.in_time);
    }
    // Events reach the conversation in the order Slack sent them: this one after all of those.
    slack.mention(ONCALL, "C0ALERTS", None, "status web01");
    slack
        .wait_until("the answer to the status", PATIENCE, |fake| {
            fake.bot_messages().iter().any(|m| m.text.contains("web01 is UP"))
        })
        .await;
    // Nagios runs external commands in the order they reach its pipe: once a check result sent
    // after everything above shows, any command hagios had written is in status.dat too.
    nagios.submit_service_result("web01", "Disk", 1, "DISK WARNING - barrier");
    let key = |service: &str| ("web01".to_owned(), service.to_owned());
    let status = nagios
        .wait_for_state(PATIENCE, |status| status.services[&key("Disk")].output.contains("barrier"))
        .expect("the barrier's check result");

    assert_eq!(status.downtimes.len(), 1, "{:#?}", status.downtimes);
    assert_eq!(status.downtimes[0].comment, "planned work");
    let notes: Vec<&str> = status.comments.iter().map(|comment| comment.text.as_str()).collect();
    assert_eq!(notes.iter().filter(|text| text.contains("note") || text.contains("hooked")).count(), 1, "{notes:?}");
    assert!(notes.contains(&"first note"), "{notes:?}");
    assert!(!status.services[&key("HTTP")].acknowledged, "the relay's ack did not run");
    let audit = hagios_store::Store::open(dir.path().join("state.db")).expect("store").recent_audit(50).expect("audit");
    let typed: Vec<(&str, &str)> = audit.iter().rev().map(|r| (r.user_id.as_str(), r.raw_text.as_str())).collect();
    assert_eq!(
        typed,
        [
            (ONCALL, "downtime web01 2h planned work"),
            (ONCALL, "comment web01 HTTP first note"),
            (ONCALL, "status web01")
        ]
    );
    let replies = slack.bot_messages().len();
    assert_eq!(replies, 3, "one reply per command, none to the edits or the bots");

    running.stop().await;
}
