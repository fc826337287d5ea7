//! Slack outages against `hagios run` with a real, private Nagios: the fake Slack answers every
//! Web API call with 429, then with 500, then hangs up Socket Mode and refuses it, each for a
//! while, as alerts keep coming. Afterwards every alert is in Slack exactly once and the bot hears
//! chat again.
//!
//! CI runs each outage for 3 s; `bench/slack-outage.sh` runs them for 2 minutes through the knobs
//! `HAGIOS_OUTAGE_SECS` and `HAGIOS_OUTAGE_ALERTS` (alerts per outage; see docs/RELIABILITY.md).

mod common;

use common::{knob, Daemon, SLACK_TOKENS};
use hagios_fakeslack::{Failure, FakeSlack};
use hagios_testkit::wait_until;
use std::time::{Duration, Instant};

const ONCALL: &str = "U0ONCALL";
/// slack-morphism retries a refused Socket Mode connection after 30 s (its
/// `reconnect_timeout_in_seconds`), so the bot may stay deaf that much longer than the outage.
const SOCKET_MODE_RETRY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum Outage {
    RateLimited,
    ServerError,
    SocketModeGone,
}

impl Outage {
    fn begin(self, slack: &FakeSlack, duration: Duration) {
        match self {
            Outage::RateLimited => slack.fail_for("*", duration, Failure::RateLimited { retry_after_secs: 1 }),
            Outage::ServerError => slack.fail_for("*", duration, Failure::Status(500)),
            Outage::SocketModeGone => slack.drop_socket_mode_for(duration),
        }
    }
}

#[test]
fn alerts_raised_during_429_500_and_socket_mode_outages_arrive_once_each_afterwards() {
    let length = Duration::from_secs(knob("HAGIOS_OUTAGE_SECS", 3));
    let per_outage = knob("HAGIOS_OUTAGE_ALERTS", 5) as usize;
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts")]));
    let chat = common::slack_chat(&slack.api_url());
    let Some(site) = common::start_site(&chat, ONCALL) else { return };
    let _bot = Daemon::start_with_env("run", &site.config, &SLACK_TOKENS);
    runtime.block_on(slack.wait_connected(common::PATIENCE));
    let patience = common::PATIENCE + length;

    let mut services = Vec::new();
    for outage in [Outage::RateLimited, Outage::ServerError, Outage::SocketModeGone] {
        let calls_before = slack.calls("chat.postMessage");
        let started = Instant::now();
        outage.begin(&slack, length);
        for number in 0..per_outage {
            let service = format!("{outage:?} {number:03}");
            let output = common::notify_problem(&site.spool, "test", &service);
            assert!(output.status.success(), "hagios notify: {}", String::from_utf8_lossy(&output.stderr));
            services.push(service);
        }
        std::thread::sleep(length.saturating_sub(started.elapsed()));
        let expected = services.len();
        runtime.block_on(slack.wait_until(&format!("the alerts after {outage:?}"), patience, |fake| {
            fake.bot_messages().len() >= expected
        }));
        wait_until(patience, || (common::spooled(&site.spool) == 0).then_some(())).expect("the spool drains");
        eprintln!(
            "outage {outage:?} for {length:?}: {per_outage} alerts delivered with {} chat.postMessage calls",
            slack.calls("chat.postMessage") - calls_before
        );
        if !matches!(outage, Outage::SocketModeGone) {
            assert!(slack.calls("chat.postMessage") > calls_before + per_outage, "no post was refused");
        }
    }
    common::assert_one_alert_each(&slack.bot_messages(), &services);
    assert!(slack.rate_limited() > 0, "the 429 outage was noticed");

    // Socket Mode is back: the bot reconnects on its own and hears a person again.
    runtime.block_on(slack.wait_connected(patience + SOCKET_MODE_RETRY));
    let envelope = slack.mention(ONCALL, "C0ALERTS", None, "help");
    runtime.block_on(slack.wait_ack(&envelope, patience));
}
