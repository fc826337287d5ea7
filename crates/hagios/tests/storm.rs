//! A small alert storm end to end: 500 notifications (10 hosts × 50 services) land in the spool
//! at once, `hagios run` delivers them to the fake Slack, which allows one post per second per
//! channel. Grouping turns them into one message per host with the members in its thread:
//! few messages, never a refused (too fast) post, every alert exactly once — on a route, and on
//! the default route a configuration without routes has.

use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use hagios_fakeslack::{FakeSlack, Message, APP_TOKEN, BOT_TOKEN};
use hagios_spool::Spool;
use std::time::Duration;
mod common;

const HOSTS: usize = 10;
const SERVICES: usize = 50;
/// Group wait, then 20 paced posts (a message and a member reply per host), with room to spare.
const PATIENCE: Duration = Duration::from_secs(90);

fn problem(host: &str, service: &str) -> Notification {
    Notification {
        id: String::new(),
        site: "test".into(),
        kind: NotificationType::Problem,
        object: ObjectRef::service(host, service),
        state: State::Critical,
        output: format!("CRITICAL - {service} on {host} unreachable"),
        long_output: String::new(),
        author: None,
        comment: None,
        time: hagios_domain::unix_now(),
        hostgroups: Vec::new(),
        contact: None,
        macros: Default::default(),
    }
}

#[test]
fn a_storm_of_500_alerts_becomes_one_message_per_host_within_slacks_rate_limit() {
    let route = "[[route]]\nhosts = [\"storm*\"]\nchannel = \"C0STORM\"\ngroup_wait = \"2s\"\n";
    storm(route, "C0STORM", common::start_site);
}

/// The configuration a new user writes: a default channel and no routes. What no route takes is
/// grouped like a route's, with the route defaults.
#[test]
fn a_storm_to_the_default_channel_without_routes_is_grouped_the_same_way() {
    storm("", "C0ALERTS", common::start_stock_site);
}

/// 500 alerts on `route` (a `[[route]]`, or nothing) reach `channel` as one message and one
/// member reply per host, at Slack's pace, each alert once.
fn storm(route: &str, channel: &str, start: fn(&str, &str) -> Option<common::NagiosSite>) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0STORM", "storm")]));
    slack.limit_posts_per_channel(Duration::from_secs(1));
    let chat = format!(
        "[slack]\napi_url = \"{api_url}\"\ndefault_channel = \"C0ALERTS\"\nsocket_connections = 1\n{route}",
        api_url = slack.api_url()
    );
    let Some(site) = start(&chat, "U0ONCALL") else { return };
    let spool = Spool::open(&site.spool).expect("spool");
    for host in 0..HOSTS {
        for service in 0..SERVICES {
            spool.write(problem(&format!("storm{host:02}"), &format!("svc{service:02}"))).expect("spooled");
        }
    }
    let _bot = common::Daemon::start_with_env(
        "run",
        &site.config,
        &[("SLACK_BOT_TOKEN", BOT_TOKEN), ("SLACK_APP_TOKEN", APP_TOKEN)],
    );
    let storm = |fake: &FakeSlack| -> Vec<Message> {
        fake.bot_messages().into_iter().filter(|message| message.channel == channel).collect()
    };
    runtime
        .block_on(slack.wait_until("a message and a reply per host", PATIENCE, |fake| storm(fake).len() >= 2 * HOSTS));
    hagios_testkit::wait_until(PATIENCE, || (common::spooled(&site.spool) == 0).then_some(()))
        .expect("every delivery committed");

    let messages = storm(&slack);
    let (parents, replies): (Vec<&Message>, Vec<&Message>) = messages.iter().partition(|message| !message.is_reply());
    assert_eq!((parents.len(), replies.len()), (HOSTS, HOSTS), "a message and one member reply per host");
    for host in 0..HOSTS {
        let summary = format!("50 services on storm{host:02} CRITICAL");
        assert_eq!(parents.iter().filter(|parent| parent.text.starts_with(&summary)).count(), 1, "{summary}");
    }
    let threads: String = replies.iter().map(|reply| reply.shown_text()).collect();
    for host in 0..HOSTS {
        for service in 0..SERVICES {
            let line = format!("storm{host:02}!svc{service:02} PROBLEM CRITICAL");
            assert_eq!(threads.matches(&line).count(), 1, "{line} exactly once");
        }
    }
    assert_eq!(slack.rate_limited(), 0, "never faster than one post per second per channel");
    assert_eq!(slack.calls("chat.postMessage"), 2 * HOSTS);
}
