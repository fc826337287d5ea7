//! Topology folding against a real Nagios and the fake Slack: core01 dies and edge01 behind it
//! (Nagios `parents core01`) becomes UNREACHABLE; hagios posts one group message for core01 with
//! edge01 folded behind it, not a message per host.

use hagios_fakeslack::{FakeSlack, Message};
use std::time::Duration;
mod common;

const PATIENCE: Duration = Duration::from_secs(40);

const PARENT_AND_CHILD: &str = "
define host {
    use         hagios-host
    host_name   core01
    address     127.0.0.3
}
define host {
    use         hagios-host
    host_name   edge01
    address     127.0.0.4
    parents     core01
}
";

#[test]
fn a_host_behind_a_down_parent_folds_into_the_parents_group_message() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0NET", "network")]));
    let route = "[[route]]\nhosts = [\"core01\", \"edge01\"]\nchannel = \"C0NET\"\ngroup_wait = \"10s\"\n";
    let chat = format!("{}\n{route}", common::slack_chat(&slack.api_url()));
    let Some(site) = common::start_site_with_objects(&chat, "U0ONCALL", PARENT_AND_CHILD) else { return };
    let _bot = common::Daemon::start_with_env("run", &site.config, &common::SLACK_TOKENS);
    runtime.block_on(slack.wait_connected(PATIENCE));
    site.nagios.set_host_check_state("core01", 2, "CRITICAL - core01 lost power");
    site.nagios.set_host_check_state("edge01", 2, "CRITICAL - edge01 does not answer");
    let state = |status: &hagios_domain::Status, host: &str| status.hosts.get(host).map(|view| view.state);
    site.nagios.submit_raw(&format!("SCHEDULE_FORCED_HOST_CHECK;core01;{}", hagios_domain::unix_now()));
    site.nagios
        .wait_for_state(PATIENCE, |status| state(status, "core01") == Some(hagios_domain::State::Down))
        .expect("Nagios shows core01 DOWN");
    // With its parent known DOWN, Nagios calls edge01 UNREACHABLE.
    site.nagios.submit_raw(&format!("SCHEDULE_FORCED_HOST_CHECK;edge01;{}", hagios_domain::unix_now()));
    site.nagios
        .wait_for_state(PATIENCE, |status| state(status, "edge01") == Some(hagios_domain::State::Unreachable))
        .unwrap_or_else(|| panic!("Nagios shows edge01 UNREACHABLE:\n{}", site.nagios.log()));

    let group = |fake: &FakeSlack| fake.bot_messages().into_iter().find(|m| !m.is_reply() && m.text.contains("core01"));
    runtime.block_on(slack.wait_until("core01's group message", PATIENCE, |fake| group(fake).is_some()));
    hagios_testkit::wait_until(PATIENCE, || (common::spooled(&site.spool) == 0).then_some(())).expect("committed");
    let message = group(&slack).expect("found");
    let shown = message.shown_text();
    assert!(shown.starts_with("core01 DOWN; folded behind it: 1 host\n"), "{shown}");
    assert!(shown.contains("• core01 DOWN (+1 alert folded behind it)"), "{shown}");
    let parents: Vec<Message> = slack.bot_messages().into_iter().filter(|m| !m.is_reply()).collect();
    assert_eq!(parents.len(), 1, "edge01 is not announced on its own: {parents:#?}");
    let thread: String = slack
        .bot_messages()
        .iter()
        .filter(|m| m.thread_ts.as_deref() == Some(&message.ts))
        .map(Message::shown_text)
        .collect();
    assert!(thread.contains("edge01 PROBLEM UNREACHABLE"), "{thread}");
}
