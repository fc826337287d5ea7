//! hagios-core driven in-process, without the `hagios` binary: `run::serve` against a real, private
//! Nagios and the fake Slack, configured as a new user would (a default channel, no routes). A
//! notification put into the spool (as hagios-notify does) reaches Slack, grouped on the default
//! route; a mention in its thread acknowledges it in Nagios, confirmed from status.dat;
//! completing the stop future ends the process cleanly.

mod common;

use common::PATIENCE;
use hagios_fakeslack::FakeSlack;
use hagios_spool::Spool;

const ONCALL: &str = "U0ONCALL";

#[tokio::test(flavor = "multi_thread")]
async fn run_serves_a_real_nagios_and_slack_in_process_until_told_to_stop() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(nagios) = common::nagios_with_a_problem() else { return };
    let key = ("web01".to_owned(), "HTTP".to_owned());

    let slack = FakeSlack::start(&[("C0ALERTS", "alerts")]).await;
    slack.add_user(ONCALL, "Olive Oncall");
    let dir = tempfile::tempdir().expect("temp dir");
    let chat = common::slack_section(&slack, "IN_PROCESS");
    let running = common::Running::start(common::configuration(dir.path(), &nagios, &chat, &["ack"], &[ONCALL]));
    slack.wait_connected(PATIENCE).await;

    let problem = common::web01_http_problem();
    Spool::open(dir.path().join("spool")).expect("spool").write(problem).expect("spooled as hagios-notify does");
    slack
        .wait_until("the alert", PATIENCE, |fake| fake.bot_messages().iter().any(|m| m.text.contains("web01!HTTP")))
        .await;
    let alert = slack.bot_messages().into_iter().find(|m| !m.is_reply()).expect("the alert's parent message");

    slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), "ack on it");
    slack
        .wait_until("the confirmed acknowledgement", PATIENCE, |fake| {
            fake.bot_messages().iter().any(|m| m.is_reply() && m.shown_text().contains("confirmed by Nagios"))
        })
        .await;
    let status = nagios.wait_for_state(PATIENCE, |status| status.services[&key].acknowledged);
    assert!(status.is_some(), "Nagios shows the acknowledgement");

    running.stop().await;
}
