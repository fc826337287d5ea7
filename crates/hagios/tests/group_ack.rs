//! Acting on an alert group against a real Nagios and the fake Slack: three services of web01
//! fail, hagios posts one group message, and `ack` typed in its thread acknowledges all three in
//! Nagios — one audit record, one summarising reply, and Nagios' ACKNOWLEDGEMENT notifications
//! follow in the group's thread. The group message's Ack button does the same for db01's group.
//! An `ack` typed the moment a new group appears, before its members are recorded, does the same.

use hagios_fakeslack::{FakeSlack, Message};
use std::time::Duration;
mod common;

const PATIENCE: Duration = Duration::from_secs(40);
const ONCALL: &str = "U0ONCALL";
const SERVICES: [&str; 3] = ["Disk", "HTTP", "HTTP Load"];
const DB_SERVICES: [&str; 2] = ["Load", "MySQL"];

#[test]
fn ack_in_a_group_thread_acknowledges_every_open_member_in_one_audited_action() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0WEB", "web")]));
    let route =
        "[[route]]\nhosts = [\"web01\", \"db01\"]\nchannel = \"C0WEB\"\ngroup_wait = \"3s\"\ngroup_interval = \"1s\"\n";
    let chat = format!("{}\n{route}", common::slack_chat(&slack.api_url()));
    let Some(site) = common::start_site(&chat, ONCALL) else { return };
    slack.add_user(ONCALL, "Olive Oncall");
    let _bot = common::Daemon::start_with_env("run", &site.config, &common::SLACK_TOKENS);
    runtime.block_on(slack.wait_connected(PATIENCE));
    for service in SERVICES {
        site.nagios.submit_service_result("web01", service, 2, &format!("CRITICAL - {service} down"));
    }
    for service in DB_SERVICES {
        site.nagios.submit_service_result("db01", service, 2, &format!("CRITICAL - {service} down"));
    }
    let group_message = |fake: &FakeSlack| {
        fake.bot_messages().into_iter().find(|m| !m.is_reply() && m.text.starts_with("3 services on web01 CRITICAL"))
    };
    runtime.block_on(slack.wait_until("one group message for web01", PATIENCE, |fake| group_message(fake).is_some()));
    let group = group_message(&slack).expect("found");
    assert!(group.blocks.as_ref().is_some_and(|blocks| blocks.to_string().contains("hagios_ack")), "an Ack button");
    hagios_testkit::wait_until(PATIENCE, || (common::spooled(&site.spool) == 0).then_some(())).expect("committed");

    slack.mention(ONCALL, "C0WEB", Some(&group.ts), "ack on it");
    let reply = |fake: &FakeSlack| {
        fake.bot_messages()
            .into_iter()
            .find(|m| m.thread_ts.as_deref() == Some(&group.ts) && m.shown_text().starts_with("ack for"))
    };
    runtime.block_on(slack.wait_until("the group ack's reply", PATIENCE, |fake| reply(fake).is_some()));
    let summary = reply(&slack).expect("found").shown_text();
    assert!(summary.starts_with("ack for the 3 open members of this group: 3 confirmed"), "{summary}");
    for service in SERVICES {
        assert!(summary.contains(&format!("• web01!{service}: ")), "{summary}");
    }
    site.nagios
        .wait_for_state(PATIENCE, |status| {
            SERVICES.iter().all(|service| {
                status.services.get(&("web01".into(), (*service).into())).is_some_and(|view| view.acknowledged)
            })
        })
        .expect("Nagios shows all three acknowledged");

    let store = hagios_store::Store::open(site.dir.path().join("state.db")).expect("store");
    let acks: Vec<_> = store
        .recent_audit(20)
        .expect("audit")
        .into_iter()
        .filter(|record| record.command.as_deref() == Some("ack"))
        .collect();
    assert_eq!(acks.len(), 1, "one audited action: {acks:#?}");
    assert_eq!((acks[0].result.as_str(), acks[0].allowed), ("group: 3 confirmed", true));

    // Nagios' confirmations arrive as usual, in the group's thread.
    let confirmations = |fake: &FakeSlack| {
        let thread: String = fake
            .bot_messages()
            .iter()
            .filter(|m| m.thread_ts.as_deref() == Some(&group.ts))
            .map(Message::shown_text)
            .collect();
        thread.matches("ACKNOWLEDGEMENT").count()
    };
    runtime.block_on(slack.wait_until("three ACKNOWLEDGEMENT lines", PATIENCE, |fake| confirmations(fake) >= 3));

    // The Ack button on db01's group message acknowledges both of its members.
    let db_group = |fake: &FakeSlack| {
        fake.bot_messages().into_iter().find(|m| !m.is_reply() && m.text.starts_with("2 services on db01 CRITICAL"))
    };
    runtime.block_on(slack.wait_until("db01's group message", PATIENCE, |fake| db_group(fake).is_some()));
    let db_group = db_group(&slack).expect("found");
    slack.press_button(ONCALL, "C0WEB", &db_group.ts, "hagios_ack");
    let pressed = |fake: &FakeSlack| {
        fake.bot_messages().into_iter().any(|m| {
            m.thread_ts.as_deref() == Some(&db_group.ts)
                && m.shown_text().starts_with("ack for the 2 open members of this group: 2 confirmed")
        })
    };
    runtime.block_on(slack.wait_until("the button's summary", PATIENCE, pressed));
    site.nagios
        .wait_for_state(PATIENCE, |status| {
            DB_SERVICES.iter().all(|service| {
                status.services.get(&("db01".into(), (*service).into())).is_some_and(|view| view.acknowledged)
            })
        })
        .expect("Nagios shows db01's members acknowledged");
}

/// On stock settings (a default channel, no routes: the default route groups), the person on call
/// types `ack` the moment a new group's message appears — before hagios has listed the members in
/// its thread (it paces its posts, one a second per channel) and recorded them. The command waits
/// for that record and acknowledges both members instead of asking for a host.
#[test]
fn ack_typed_the_moment_a_new_group_appears_acknowledges_its_members() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts")]));
    // An empty section is the defaults, as if it were left out (the fixture's configuration
    // otherwise turns grouping off on the default route).
    let chat = format!("{}\n[default_route]\n", common::slack_chat(&slack.api_url()));
    let Some(site) = common::start_site(&chat, ONCALL) else { return };
    slack.add_user(ONCALL, "Olive Oncall");
    let _bot = common::Daemon::start_with_env("run", &site.config, &common::SLACK_TOKENS);
    runtime.block_on(slack.wait_connected(PATIENCE));
    let services = ["Disk", "HTTP"];
    for service in services {
        site.nagios.submit_service_result("web01", service, 2, &format!("CRITICAL - {service} down"));
    }
    let group_message = |fake: &FakeSlack| {
        fake.bot_messages().into_iter().find(|m| !m.is_reply() && m.text.starts_with("2 services on web01 CRITICAL"))
    };
    // group_wait is 10 s by default.
    runtime
        .block_on(slack.wait_until("one group message for web01", 2 * PATIENCE, |fake| group_message(fake).is_some()));
    let group = group_message(&slack).expect("found");
    let in_thread = |fake: &FakeSlack| -> Vec<String> {
        fake.bot_messages()
            .into_iter()
            .filter(|m| m.thread_ts.as_deref() == Some(&group.ts) && m.ts != group.ts)
            .map(|m| m.shown_text())
            .collect()
    };
    let members_listed_before = !in_thread(&slack).is_empty();
    slack.mention(ONCALL, "C0ALERTS", Some(&group.ts), "ack");
    assert!(!members_listed_before, "typed before the members were listed: {:?}", in_thread(&slack));

    let answer = |fake: &FakeSlack| {
        in_thread(fake).into_iter().find(|text| text.starts_with("ack for") || text.contains("name a host"))
    };
    runtime.block_on(slack.wait_until("the answer to ack", PATIENCE, |fake| answer(fake).is_some()));
    let answer = answer(&slack).expect("found");
    assert!(answer.starts_with("ack for the 2 open members of this group: 2 confirmed"), "{answer}");
    site.nagios
        .wait_for_state(PATIENCE, |status| {
            services.iter().all(|service| {
                status.services.get(&("web01".into(), (*service).into())).is_some_and(|view| view.acknowledged)
            })
        })
        .expect("Nagios shows both acknowledged");
}
