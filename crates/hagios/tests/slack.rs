//! `hagios run` with `[slack]` pointed at the fake Slack, against a real, private Nagios: alerts
//! become threads, a mention or a button in the thread acts on Nagios (confirmed by Nagios' own
//! evidence, at the lab's cadence and at Debian's stock one), Nagios' follow-up notifications
//! reply in the thread and edit the parent, and a storm of 429s delays delivery without losing or
//! repeating anything.

use hagios_fakeslack::{Failure, FakeSlack, Message};
mod common;

use hagios_testkit::{wait_until, NagiosInstance, NagiosOptions};
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

/// Generous bound for anything that crosses Nagios (its status.dat is rewritten every second).
const PATIENCE: Duration = Duration::from_secs(30);
const ONCALL: &str = "U0ONCALL";

struct Site {
    nagios: NagiosInstance,
    slack: FakeSlack,
    runtime: tokio::runtime::Runtime,
    bot: Child,
    config: PathBuf,
    spool: PathBuf,
    _dir: tempfile::TempDir,
}

impl Site {
    fn start() -> Option<Site> {
        Site::start_with(NagiosOptions::default())
    }

    /// [`Site::start`] with a Nagios started with `options`.
    fn start_with(options: NagiosOptions) -> Option<Site> {
        let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
        let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0DB", "db")]));
        let chat = format!(
            r#"{slack}
[[route]]
hosts = ["db*"]
types = ["PROBLEM"]
channel = "C0DB"
# One message per alert here: these tests follow single incidents (tests/storm.rs groups).
grouping = false
"#,
            slack = common::slack_chat(&slack.api_url())
        );
        let site = common::start_site_with(&chat, ONCALL, options)?;
        slack.add_user(ONCALL, "Olive Oncall");
        let bot = start_bot(&site.config);
        runtime.block_on(slack.wait_connected(PATIENCE));
        Some(Site { nagios: site.nagios, slack, runtime, bot, config: site.config, spool: site.spool, _dir: site.dir })
    }

    /// Waits until the bot's messages satisfy `done`, and returns them.
    fn wait_for(&self, what: &str, done: impl Fn(&[Message]) -> bool) -> Vec<Message> {
        self.runtime.block_on(self.slack.wait_until(what, PATIENCE, |fake| done(&fake.bot_messages())));
        self.slack.bot_messages()
    }

    /// The parent message of the alert whose text contains `needle`, once its delivery is
    /// committed (a person cannot answer faster than that).
    fn wait_for_alert(&self, needle: &str) -> Message {
        let find = |messages: &[Message]| messages.iter().find(|m| !m.is_reply() && m.text.contains(needle)).cloned();
        let messages = self.wait_for(&format!("an alert with {needle:?}"), |messages| find(messages).is_some());
        wait_until(PATIENCE, || (self.spooled() == 0).then_some(())).expect("delivery committed");
        find(&messages).expect("found")
    }

    fn crash_and_restart_bot(&mut self) {
        common::crash_and_restart(&mut self.bot, &self.config, &common::SLACK_TOKENS);
    }

    fn notifications_sent(&self) -> usize {
        common::notifications_sent(&self.nagios)
    }

    /// Waits until Slack shows one message per notification Nagios sent and the spool is empty,
    /// then asserts there is not one more: nothing lost, nothing repeated.
    fn assert_each_notification_posted_once(&self) -> Vec<Message> {
        self.wait_for("a message per notification", |messages| messages.len() >= self.notifications_sent());
        wait_until(PATIENCE, || (self.spooled() == 0).then_some(())).expect("everything delivered");
        let messages = self.slack.bot_messages();
        assert_eq!(messages.len(), self.notifications_sent(), "{messages:#?}\n{}", self.nagios.log());
        messages
    }

    fn spooled(&self) -> usize {
        common::spooled(&self.spool)
    }

    fn wait_for_reply(&self, parent: &Message, needle: &str) -> Message {
        let find = |messages: &[Message]| {
            messages
                .iter()
                .find(|m| {
                    m.thread_ts.as_deref() == Some(parent.ts.as_str()) && m.is_reply() && text_of(m).contains(needle)
                })
                .cloned()
        };
        let messages = self.wait_for(&format!("a reply with {needle:?}"), |messages| find(messages).is_some());
        find(&messages).expect("found")
    }

    fn parent_now(&self, parent: &Message) -> Message {
        self.slack.bot_messages().into_iter().find(|m| m.ts == parent.ts).expect("parent still there")
    }

    fn wait_for_parent(&self, parent: &Message, what: &str, done: impl Fn(&Message) -> bool) -> Message {
        self.wait_for(what, |messages| messages.iter().any(|m| m.ts == parent.ts && done(m)));
        self.parent_now(parent)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.bot.kill();
        let _ = self.bot.wait();
    }
}

fn start_bot(config: &std::path::Path) -> Child {
    common::start_run(config, &common::SLACK_TOKENS)
}

/// Everything a message shows: its blocks' texts, or its text.
fn text_of(message: &Message) -> String {
    message.blocks.as_ref().map_or_else(|| message.text.clone(), |blocks| blocks.to_string())
}

#[test]
fn a_mention_in_the_alert_thread_acks_in_nagios_and_the_thread_tells_the_story() {
    let Some(site) = Site::start() else { return };
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - load 42 <!channel> & more");
    let alert = site.wait_for_alert("PROBLEM web01!HTTP Load is CRITICAL");
    assert_eq!(alert.channel, "C0ALERTS");
    let blocks = text_of(&alert);
    assert!(blocks.contains(":red_circle:") && blocks.contains("hagios_ack"), "{blocks}");
    assert!(blocks.contains("&lt;!channel&gt; &amp; more") && !blocks.contains("<!channel>"), "{blocks}");

    let envelope = site.slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), "ack looking into it");
    assert!(site.runtime.block_on(site.slack.wait_ack(&envelope, PATIENCE)).in_time);
    site.wait_for_reply(&alert, "confirmed by Nagios");
    let status = common::wait_for_service_ack(&site.nagios, "web01", "HTTP Load");
    // The author is the member id, not the display name anyone can set to anything.
    assert!(status.comments.iter().any(|c| c.text == "looking into it" && c.author == ONCALL));

    // Nagios' ACKNOWLEDGEMENT notification: a reply in the thread and an edit of the parent.
    site.wait_for_reply(&alert, "ACKNOWLEDGEMENT");
    let edited = site.wait_for_parent(&alert, "the parent edited for the ack", |m| text_of(m).contains("acknowledged"));
    assert!(edited.edits >= 1);

    site.nagios.submit_service_result("web01", "HTTP Load", 0, "OK - load 0.1");
    site.wait_for_reply(&alert, "RECOVERY");
    let closed =
        site.wait_for_parent(&alert, "the parent edited to OK", |m| text_of(m).contains(":large_green_circle:"));
    assert!(!text_of(&closed).contains("hagios_ack"), "no buttons on a closed incident");

    // After the recovery, a new problem opens a new thread.
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - again");
    let again = site.wait_for_alert("CRITICAL - again");
    assert_ne!(again.ts, alert.ts);
}

#[test]
fn at_debian_s_stock_cadence_a_mention_ends_confirmed_by_nagios_or_not_applied_with_the_reason() {
    let Some(site) = Site::start_with(NagiosOptions { status_update_interval: Some(10), ..Default::default() }) else {
        return;
    };
    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - connection refused");
    let alert = site.wait_for_alert("PROBLEM web01!HTTP is CRITICAL");
    site.slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), "ack looking into it");
    let reply = site.wait_for_reply(&alert, "acknowledged web01!HTTP — confirmed by Nagios (acknowledged web01!HTTP; ");
    // Answered at once ("sent to Nagios, waiting …"), and that reply edited to the final word.
    assert!(reply.edits >= 1, "{reply:#?}");

    // web01!Disk is OK: Nagios drops the ack, and says so in the status.dat it writes next.
    site.slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), "ack web01 Disk mine");
    site.wait_for_reply(&alert, "acknowledge web01!Disk — not applied: web01!Disk is OK — it has no problem");
    let said: Vec<String> = site.slack.bot_messages().iter().map(text_of).collect();
    assert!(!said.iter().any(|text| text.contains("not yet confirmed")), "{said:#?}");
}

#[test]
fn a_button_press_does_what_the_typed_command_does() {
    let Some(site) = Site::start() else { return };
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - too many connections");
    let alert = site.wait_for_alert("PROBLEM db01!MySQL is CRITICAL");
    assert_eq!(alert.channel, "C0DB", "routed by host and type");

    let envelope = site.slack.press_button(ONCALL, "C0DB", &alert.ts, "hagios_ack");
    assert!(site.runtime.block_on(site.slack.wait_ack(&envelope, PATIENCE)).in_time);
    site.wait_for_reply(&alert, "confirmed by Nagios");
    common::wait_for_service_ack(&site.nagios, "db01", "MySQL");
    // The ACKNOWLEDGEMENT notification follows the incident into its thread, not the route.
    let reply = site.wait_for_reply(&alert, "ACKNOWLEDGEMENT");
    assert_eq!(reply.channel, "C0DB");

    // Someone without a role is refused, and told which permission is missing.
    site.slack.press_button("U0STRANGER", "C0DB", &alert.ts, "hagios_downtime_1h");
    site.wait_for_reply(&alert, "may not `downtime`");
}

#[test]
fn a_storm_of_429s_delays_delivery_without_losing_or_repeating_anything() {
    let Some(site) = Site::start() else { return };
    site.slack.fail_next("chat.postMessage", 6, Failure::RateLimited { retry_after_secs: 1 });
    site.slack.fail_next("chat.postMessage", 2, Failure::Status(503));
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - storm 1");
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - storm 2");
    site.nagios.submit_host_result("web01", 1, "DOWN - storm 3");

    site.wait_for("three alerts", |messages| messages.iter().filter(|m| !m.is_reply()).count() >= 3);
    let messages = site.assert_each_notification_posted_once();
    assert!(site.slack.rate_limited() >= 6, "the storm happened");
    // Each alert's parent names its object once; a repeated post would be a second parent.
    let parents: Vec<&Message> = messages.iter().filter(|m| !m.is_reply()).collect();
    for object in ["`web01!HTTP Load`", "`db01!MySQL`", "`web01`"] {
        let count = parents.iter().filter(|m| text_of(m).contains(object)).count();
        assert_eq!(count, 1, "{object}: {parents:#?}");
    }
}

#[test]
fn killing_the_bot_mid_burst_loses_and_repeats_nothing() {
    let Some(mut site) = Site::start() else { return };
    // Slow Slack down so that the kill lands while deliveries are in flight.
    site.slack.fail_next("chat.postMessage", 2, Failure::Status(503));
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - burst 1");
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - burst 2");
    site.nagios.submit_service_result("web01", "HTTP Load", 1, "WARNING - burst 3");
    site.wait_for("the first delivery", |messages| !messages.is_empty());
    site.crash_and_restart_bot();
    site.nagios.submit_service_result("db01", "MySQL", 1, "WARNING - burst 4");

    site.wait_for("both incidents", |messages| messages.iter().filter(|m| !m.is_reply()).count() >= 2);
    let messages = site.assert_each_notification_posted_once();
    let parents: Vec<_> = messages.iter().filter(|m| !m.is_reply()).collect();
    assert_eq!(parents.len(), 2, "one parent per incident: {messages:#?}");
}

#[test]
fn hostile_text_in_a_mention_reaches_nagios_harmless() {
    let Some(site) = Site::start() else { return };
    let nagios_pid = site.nagios.pid().expect("Nagios running");
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - load 42");
    let alert = site.wait_for_alert("PROBLEM web01!HTTP Load is CRITICAL");
    let huge = format!("comment {}", "z".repeat(10_000));
    site.slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), &huge);
    site.wait_for_reply(&alert, "4096 at most");
    site.slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), "comment looking\n[0] RESTART_PROGRAM; <!channel>");
    let reply = site.wait_for_reply(&alert, "confirmed by Nagios");
    assert!(!text_of(&reply).contains("<!channel>"), "{reply:?}");
    let status = site
        .nagios
        .wait_for_state(PATIENCE, |status| status.comments.iter().any(|c| c.text.starts_with("looking")))
        .expect("the comment reached Nagios");
    let comment = status.comments.iter().find(|c| c.text.starts_with("looking")).expect("comment");
    assert!(!comment.text.contains('\n') && !comment.text.contains(';'), "{:?}", comment.text);
    // Shell syntax, a trailing backslash above all, arrives as look-alikes that a notification
    // command quoting `$NOTIFICATIONCOMMENT$` cannot act on; the author is the member id.
    site.slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), "comment it's \"$(id)\" | tee x # breaks quoting\\");
    let stored = site.nagios.wait_for_state(PATIENCE, |status| {
        status.comments.iter().any(|c| c.text == "it’s ”＄（id）” ｜ tee x ＃ breaks quoting＼" && c.author == ONCALL)
    });
    assert!(stored.is_some(), "Nagios shows the comment as look-alikes");
    // The same through a direct message and a slash command.
    site.slack.direct_message(ONCALL, "D0ONCALL", "comment web01 HTTP dm `id` & x\\");
    site.slack.slash_command(ONCALL, "C0ALERTS", "comment web01 Disk slash $HOME > x\\");
    let stored = site.nagios.wait_for_state(PATIENCE, |status| {
        let stored = |text: &str| status.comments.iter().any(|c| c.text == text && c.author == ONCALL);
        stored("dm ˋidˋ ＆ x＼") && stored("slash ＄HOME ＞ x＼")
    });
    assert!(stored.is_some(), "Nagios shows both comments as look-alikes");
    assert_eq!(site.nagios.pid(), Some(nagios_pid), "Nagios was not restarted");
}
