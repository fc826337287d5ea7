//! On call end to end: `hagios run` against a real, private Nagios, with the fake Slack and with
//! a real Synapse. A CRITICAL on a route with a schedule mentions the person on call in its
//! thread; nobody acknowledges, so the next step follows after its (short) delay — also across
//! a kill -9 between the steps, neither repeated nor skipped; an acknowledgement made in Nagios
//! itself (as the CGI makes it) is mirrored and stops the escalation; an override typed in chat
//! takes effect for the next incident at once; `timeline` and `report` come back as files, and
//! `hagios timeline` prints the same story. On Nagios as Debian ships it and a new user's
//! configuration (a default channel, no `[[route]]`): the default route pages and an ack from
//! chat stops escalation; `escalate` in a thread opened before paging was configured starts it.

mod common;

use hagios_fakeslack::{FakeSlack, Message};
use hagios_testkit::{wait_until, SynapseInstance, SynapseOptions};
use serde_json::Value;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);

/// `hagios run`, killed when the test ends, also when it fails.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The schedule `web` (alice, all week), its policy (alice at once, bob after 4s, the channel
/// after 8s), the route of `web*` to `alerts` paging it, and alice and bob with `pager` roles.
/// `ids` are (alice, bob, the schedule's channel, the alerts channel) on the platform.
fn oncall_config(alice: &str, bob: &str, oncall_channel: &str, alerts_key: &str, alerts: &str) -> String {
    let route = format!(
        "[[route]]\nhosts = [\"web*\"]\n{alerts_key} = \"{alerts}\"\ngrouping = false\noncall = \"web\"\nescalation = \"web\"\n"
    );
    let schedule_keys = format!("{alerts_key} = \"{oncall_channel}\"\n");
    let steps = "after = \"4s\"\nnotify = \"person:bob\"\n[[escalation.step]]\nafter = \"8s\"\nnotify = \"channel\"\n";
    format!("{route}{}", web_schedule(alice, bob, &schedule_keys, steps))
}

/// The schedule `web` (alice, all week) with `schedule_keys` (its channel), its policy `web`
/// (alice at once, then the `steps` after), and alice and bob with `pager` roles.
fn web_schedule(alice: &str, bob: &str, schedule_keys: &str, steps: &str) -> String {
    format!(
        r#"
[[oncall]]
name = "web"
timezone = "UTC"
{schedule_keys}
[[oncall.layer]]
name = "primary"
people = ["alice"]
start = "2024-01-01 00:00"
length = "1w"

[[escalation]]
name = "web"
[[escalation.step]]
notify = "oncall"
[[escalation.step]]
{steps}
[[role]]
name = "pager"
commands = ["oncall", "escalate", "timeline", "report", "ack"]
objects = ["*"]

[[user]]
chat_id = "{alice}"
roles = ["pager"]
person = "alice"

[[user]]
chat_id = "{bob}"
roles = ["pager"]
person = "bob"
"#
    )
}

/// `hagios ARGS`, run to its end.
fn hagios(args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::HAGIOS).args(args).output().expect("hagios runs")
}

fn replies_in<'m>(messages: &'m [Message], parent: &Message, needle: &str) -> Vec<&'m Message> {
    messages
        .iter()
        .filter(|m| m.is_reply() && m.thread_ts.as_deref() == Some(parent.ts.as_str()) && m.text.contains(needle))
        .collect()
}

#[test]
fn slack_pages_escalates_until_an_ack_in_nagios_and_an_override_takes_effect_at_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0ONCALL", "oncall")]));
    let chat = format!(
        "{}{}",
        common::slack_chat(&slack.api_url()),
        oncall_config("U0ALICE", "U0BOB", "C0ONCALL", "channel", "C0ALERTS")
    );
    let Some(site) = common::start_site(&chat, "U0ONCALL") else { return };
    slack.add_user("U0ALICE", "Alice");
    slack.add_user("U0BOB", "Bob");
    let mut bot = Running(common::start_run(&site.config, &common::SLACK_TOKENS));
    runtime.block_on(slack.wait_connected(PATIENCE));
    let wait_for = |what: &str, done: &dyn Fn(&[Message]) -> bool| {
        runtime.block_on(slack.wait_until(what, PATIENCE, |fake| done(&fake.bot_messages())));
        slack.bot_messages()
    };
    let alert_of = |messages: &[Message], needle: &str| {
        messages.iter().find(|m| !m.is_reply() && m.text.contains(needle)).cloned()
    };

    // CRITICAL: the alert, then alice (on call) mentioned in its thread.
    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - down");
    let messages = wait_for("the alert", &|m| alert_of(m, "PROBLEM web01!HTTP is CRITICAL").is_some());
    let alert = alert_of(&messages, "PROBLEM web01!HTTP is CRITICAL").expect("alert");
    wait_for("alice paged", &|m| !replies_in(m, &alert, "<@U0ALICE>").is_empty());
    let first_paged = std::time::Instant::now();

    // kill -9 before the next step is due; after the restart it comes once, step 1 is not repeated.
    common::crash_and_restart(&mut bot.0, &site.config, &common::SLACK_TOKENS);
    let at_the_kill = slack.bot_messages();
    assert!(replies_in(&at_the_kill, &alert, "<@U0BOB>").is_empty(), "killed between the steps: {at_the_kill:#?}");
    let messages = wait_for("bob paged after the delay", &|m| !replies_in(m, &alert, "<@U0BOB>").is_empty());
    assert_eq!(replies_in(&messages, &alert, "<@U0ALICE>").len(), 1, "{messages:#?}");
    assert!(replies_in(&messages, &alert, "<@U0BOB>")[0].text.contains("not acknowledged after"), "{messages:#?}");

    // Acknowledged in Nagios itself: mirrored into the thread, and paging stops.
    site.nagios.submit_raw("ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;0;1;cgi-user;on it via the CGI");
    wait_for("the ack mirrored", &|m| !replies_in(m, &alert, "acknowledged (CRITICAL) by cgi-user").is_empty());

    // bob takes over from chat; the next incident pages him at once.
    slack.mention("U0BOB", "C0ONCALL", None, "oncall take web 1h");
    wait_for("the override confirmed", &|m| m.iter().any(|m| m.text.contains("bob is on call in web until")));
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - load 42");
    let messages = wait_for("the second alert", &|m| alert_of(m, "PROBLEM web01!HTTP Load is CRITICAL").is_some());
    let second = alert_of(&messages, "PROBLEM web01!HTTP Load is CRITICAL").expect("second alert");
    let messages = wait_for("bob paged for the second", &|m| !replies_in(m, &second, "<@U0BOB>").is_empty());
    assert!(replies_in(&messages, &second, "<@U0ALICE>").is_empty(), "the override is in force: {messages:#?}");

    // The second incident's last step (the channel) is due after the first's would have been:
    // once it is there, the first thread has had its chance and did not get it.
    wait_until(PATIENCE, || (first_paged.elapsed() > Duration::from_secs(9)).then_some(())).expect("time passes");
    let messages = wait_for("the channel paged for the second", &|m| !replies_in(m, &second, "<!here>").is_empty());
    assert!(replies_in(&messages, &alert, "<!here>").is_empty(), "acknowledged: no further step: {messages:#?}");
    assert_eq!(replies_in(&messages, &alert, "<@U0BOB>").len(), 1, "{messages:#?}");

    // The story of the first incident, as a Markdown file in its thread.
    slack.mention("U0ALICE", "C0ALERTS", Some(&alert.ts), "timeline");
    runtime.block_on(slack.wait_until("the timeline uploaded", PATIENCE, |fake| {
        fake.files().iter().any(|file| file.name == "timeline-web01-HTTP.md" && file.shared.is_some())
    }));
    let files = slack.files();
    let timeline = files.iter().find(|file| file.name == "timeline-web01-HTTP.md").expect("timeline");
    assert_eq!(timeline.shared, Some(("C0ALERTS".to_owned(), Some(alert.ts.clone()))));
    let text = String::from_utf8(timeline.bytes.clone().expect("uploaded")).expect("utf-8");
    assert!(text.contains("paged alice (step 1)") && text.contains("paged bob (step 2)"), "{text}");
    assert!(text.contains("acknowledged (CRITICAL) by cgi-user: on it via the CGI"), "{text}");

    // The week's numbers, with a chart.
    slack.mention("U0ALICE", "C0ONCALL", None, "report 1d");
    runtime.block_on(slack.wait_until("the report uploaded", PATIENCE, |fake| {
        fake.files().iter().any(|file| file.name == "report.png" && file.shared.is_some())
    }));
    let files = slack.files();
    let report = files.iter().find(|file| file.name == "report.png").expect("report");
    assert!(report.bytes.as_deref().is_some_and(|bytes| bytes.starts_with(b"\x89PNG")));
    let comment = report.comment.clone().unwrap_or_default();
    assert!(comment.contains("2 incidents") && comment.contains("pages per person: alice 1"), "{comment}");

    // The same story from the command line.
    let printed = std::process::Command::new(common::HAGIOS)
        .args(["timeline", "--config"])
        .arg(&site.config)
        .arg("web01!HTTP")
        .output()
        .expect("hagios timeline");
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.starts_with("# web01!HTTP — timeline\n"), "{printed}");
    assert!(printed.contains("paged bob (step 2)") && printed.contains("by cgi-user: on it via the CGI"), "{printed}");

    // And from a copy of the store, as an operator reads it away from the bot: the timeline,
    // and the day's numbers with the chart written to a file.
    let dir = site.config.parent().expect("the site's directory");
    let copied = dir.join("copied.db");
    let copy = hagios(&[
        "store",
        "copy",
        "--from",
        &dir.join("state.db").display().to_string(),
        "--to",
        &copied.display().to_string(),
    ]);
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
    let config = std::fs::read_to_string(&site.config).expect("the configuration");
    let copy_config = dir.join("copied.toml");
    std::fs::write(
        &copy_config,
        config.replace(&dir.join("state.db").display().to_string(), &copied.display().to_string()),
    )
    .expect("the copy's configuration");
    let config = copy_config.display().to_string();
    let printed = hagios(&["timeline", "--config", &config, "test:web01!HTTP"]);
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    assert!(String::from_utf8_lossy(&printed.stdout).contains("paged bob (step 2)"));
    let chart = dir.join("report.png");
    let printed = hagios(&["report", "--config", &config, "1d", "--chart", &chart.display().to_string()]);
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(text.contains(": 2 incidents, 2 still open"), "{text}");
    assert!(text.contains("per route (medians): hosts=web*: 2 incidents, acknowledged in"), "{text}");
    assert!(text.contains("per schedule (medians): web: 2 paged") && text.contains("2 escalated"), "{text}");
    assert!(text.contains("noisiest (notifications): web01!HTTP "), "{text}");
    assert!(std::fs::read(&chart).expect("the chart").starts_with(b"\x89PNG"), "{text}");
    let refused = hagios(&["report", "--config", &config, "soon"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("`soon` is not a period like `7d` or `24h`"));
    let unknown = hagios(&["timeline", "--config", &config, "db01"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("hagios kept no incident of db01"));
}

/// The bot's messages in a Matrix room, oldest first.
fn matrix_messages(reader: &hagios_testkit::MatrixUser, bot: &str, room: &str) -> Vec<Value> {
    reader.messages(room).into_iter().filter(|m| m["sender"] == bot).collect()
}

fn body(message: &Value) -> &str {
    message["content"]["body"].as_str().unwrap_or_default()
}

/// The thread replies under `root` that satisfy `matches`.
fn in_thread<'m>(messages: &'m [Value], root: &Value, matches: impl Fn(&Value) -> bool) -> Vec<&'m Value> {
    messages
        .iter()
        .filter(|m| {
            let relation = &m["content"]["m.relates_to"];
            relation["rel_type"] == "m.thread" && relation["event_id"] == root["event_id"] && matches(m)
        })
        .collect()
}

fn mentions(message: &Value, user: &str) -> bool {
    message["content"]["m.mentions"]["user_ids"].as_array().is_some_and(|ids| ids.iter().any(|id| id == user))
}

#[test]
fn matrix_pages_with_pills_escalates_until_an_ack_in_nagios_and_an_override_takes_effect_at_once() {
    let Some(synapse) = SynapseInstance::start(SynapseOptions::default()) else { return };
    let bot = synapse.register("hagios", "hagios-bot-password");
    let alice = synapse.register("alice", "alice-password");
    let bob = synapse.register("bob", "bob-password");
    let members = [bot.user_id.as_str(), bob.user_id.as_str()];
    let alerts = alice.create_room(&members, serde_json::json!({ "name": "alerts" }));
    let oncall = alice.create_room(&members, serde_json::json!({ "name": "oncall" }));
    bob.join(&alerts);
    bob.join(&oncall);
    let chat = format!(
        "[matrix]\nhomeserver = \"{}\"\nuser = \"{}\"\ndefault_room = \"{alerts}\"\n{}",
        synapse.url(),
        bot.user_id,
        oncall_config(&alice.user_id, &bob.user_id, &oncall, "matrix_room", &alerts)
    );
    let Some(site) = common::start_site(&chat, "@nobody:hagios.test") else { return };
    let secrets = [("MATRIX_PASSWORD", "hagios-bot-password")];
    let mut hagios = Running(common::start_run(&site.config, &secrets));
    let wait_for = |room: &str, what: &str, done: &dyn Fn(&[Value]) -> bool| {
        wait_until(PATIENCE, || Some(matrix_messages(&alice, &bot.user_id, room)).filter(|m| done(m)))
            .unwrap_or_else(|| panic!("no {what}: {:#?}", matrix_messages(&alice, &bot.user_id, room)))
    };
    let root_of = |messages: &[Value], needle: &str| {
        messages.iter().find(|m| m["content"]["m.relates_to"].is_null() && body(m).contains(needle)).cloned()
    };

    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - down");
    let messages = wait_for(&alerts, "the alert", &|m| root_of(m, "PROBLEM web01!HTTP is CRITICAL").is_some());
    let alert = root_of(&messages, "PROBLEM web01!HTTP is CRITICAL").expect("alert");
    wait_for(&alerts, "alice paged", &|m| !in_thread(m, &alert, |m| mentions(m, &alice.user_id)).is_empty());
    let first_paged = std::time::Instant::now();

    common::crash_and_restart(&mut hagios.0, &site.config, &secrets);
    let messages = wait_for(&alerts, "bob paged", &|m| !in_thread(m, &alert, |m| mentions(m, &bob.user_id)).is_empty());
    assert_eq!(in_thread(&messages, &alert, |m| mentions(m, &alice.user_id)).len(), 1, "{messages:#?}");

    site.nagios.submit_raw("ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;0;1;cgi-user;on it via the CGI");
    wait_for(&alerts, "the ack mirrored", &|m| {
        !in_thread(m, &alert, |m| body(m).contains("acknowledged (CRITICAL) by cgi-user")).is_empty()
    });

    bob.send_text(&oncall, None, "hagios: oncall take web 1h");
    wait_for(&oncall, "the override confirmed", &|m| m.iter().any(|m| body(m).contains("bob is on call in web until")));
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - load 42");
    let messages =
        wait_for(&alerts, "the second alert", &|m| root_of(m, "PROBLEM web01!HTTP Load is CRITICAL").is_some());
    let second = root_of(&messages, "PROBLEM web01!HTTP Load is CRITICAL").expect("second alert");
    let messages =
        wait_for(&alerts, "bob paged for it", &|m| !in_thread(m, &second, |m| mentions(m, &bob.user_id)).is_empty());
    assert!(in_thread(&messages, &second, |m| mentions(m, &alice.user_id)).is_empty(), "{messages:#?}");

    wait_until(PATIENCE, || (first_paged.elapsed() > Duration::from_secs(9)).then_some(())).expect("time passes");
    let everyone = |m: &Value| m["content"]["m.mentions"]["room"] == true;
    let messages = wait_for(&alerts, "the room paged for the second", &|m| !in_thread(m, &second, everyone).is_empty());
    assert!(in_thread(&messages, &alert, everyone).is_empty(), "acknowledged: no further step: {messages:#?}");

    let root = alert["event_id"].as_str().expect("event id");
    alice.send_text(&alerts, Some(root), "hagios: timeline");
    let messages = wait_for(&alerts, "the timeline uploaded", &|m| {
        !in_thread(m, &alert, |m| m["content"]["msgtype"] == "m.file" && body(m) == "timeline-web01-HTTP.md").is_empty()
    });
    let file = in_thread(&messages, &alert, |m| m["content"]["msgtype"] == "m.file")[0];
    let url = file["content"]["url"].as_str().expect("an mxc URI");
    assert!(url.starts_with("mxc://"), "{file:#?}");
    // The Markdown is served by the media repository: who acknowledged, in Nagios itself.
    let story = String::from_utf8(alice.download(url)).expect("utf-8");
    assert!(story.starts_with("# web01!HTTP — timeline\n"), "{story}");
    assert!(story.contains("paged alice (step 1)") && story.contains("paged bob (step 2)"), "{story}");
    assert!(story.contains("acknowledged (CRITICAL) by cgi-user: on it via the CGI"), "{story}");

    // bob acknowledges the second from chat; its timeline tells who and what Nagios confirmed.
    let second_root = second["event_id"].as_str().expect("event id");
    bob.send_text(&alerts, Some(second_root), "hagios: ack looking");
    let edited = |m: &Value| m["content"]["m.new_content"]["body"].as_str().unwrap_or_default().to_owned();
    wait_for(&alerts, "the ack confirmed", &|m| m.iter().any(|m| edited(m).contains("confirmed by Nagios")));
    let audited = || {
        common::audit(&site.config).lines().any(|line| line.contains("ack looking") && line.contains("-> confirmed"))
    };
    wait_until(PATIENCE, || audited().then_some(())).expect("the ack audited");
    alice.send_text(&alerts, Some(second_root), "hagios: timeline");
    let named = |m: &Value| m["content"]["msgtype"] == "m.file" && body(m) == "timeline-web01-HTTP-Load.md";
    let messages = wait_for(&alerts, "the second timeline", &|m| !in_thread(m, &second, named).is_empty());
    let url = in_thread(&messages, &second, named)[0]["content"]["url"].as_str().expect("an mxc URI").to_owned();
    let story = String::from_utf8(alice.download(&url)).expect("utf-8");
    assert!(story.starts_with("# web01!HTTP Load — timeline\n"), "the thread's own incident: {story}");
    let acked = story.lines().find(|line| line.contains("ack looking`")).unwrap_or_else(|| panic!("the ack: {story}"));
    assert!(acked.contains("bob") && acked.contains("on matrix: `") && acked.contains("` → confirmed"), "{acked}");
    assert!(story.contains("paged bob (step 1)"), "{story}");

    // The numbers, as a message and a chart image in its thread, served by the media repository.
    alice.send_text(&oncall, None, "hagios: report 1d");
    let is_chart = |m: &Value| m["content"]["msgtype"] == "m.image" && body(m) == "report.png";
    let messages = wait_for(&oncall, "the report's chart", &|m| m.iter().any(is_chart));
    let report = messages.iter().find(|m| body(m).starts_with("report ")).expect("the report's message");
    let text = body(report);
    assert!(text.contains(": 2 incidents"), "{text}");
    assert!(text.contains("per route (medians): hosts=web*: 2 incidents, acknowledged in"), "{text}");
    assert!(text.contains("per schedule (medians): web: 2 paged"), "{text}");
    // alice at once for the first; bob after the delay for it, and twice for the second (on call
    // by then, and named by the policy's second step).
    assert!(text.contains("pages per person: alice 1 (") && text.contains(", bob 3 ("), "{text}");
    let chart = messages.iter().find(|m| is_chart(m)).expect("the chart");
    assert_eq!(chart["content"]["m.relates_to"]["event_id"], report["event_id"], "under its message");
    assert_eq!(chart["content"]["info"]["mimetype"], "image/png");
    let png = alice.download(chart["content"]["url"].as_str().expect("an mxc URI"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png)).read_info().expect("a PNG");
    let mut pixels = vec![0; decoder.output_buffer_size().expect("a size")];
    let frame = decoder.next_frame(&mut pixels).expect("a whole image");
    assert_eq!((frame.width, frame.height), (800, 300));
}

/// Slack and Matrix from one process, the route sending to both: one CRITICAL is posted and
/// paged on both, yet it is one incident — its timeline asked in the Matrix thread tells the
/// pages of both threads and its notifications once; the report asked on Slack counts it once.
#[test]
fn slack_and_matrix_tell_one_story_of_an_incident_posted_on_both_and_count_it_once() {
    let Some(synapse) = SynapseInstance::start(SynapseOptions::default()) else { return };
    let bot = synapse.register("hagios", "hagios-bot-password");
    let alice = synapse.register("alice", "alice-password");
    let alerts = alice.create_room(&[bot.user_id.as_str()], serde_json::json!({ "name": "alerts" }));
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0ONCALL", "oncall")]));
    let both = oncall_config("U0ALICE", "U0BOB", "C0ONCALL", "channel", "C0ALERTS")
        .replace("channel = \"C0ALERTS\"", &format!("channel = \"C0ALERTS\"\nmatrix_room = \"{alerts}\""));
    let chat = format!(
        "{}[matrix]\nhomeserver = \"{}\"\nuser = \"{}\"\ndefault_room = \"{alerts}\"\n{both}\n\
         [[user]]\nchat_id = \"{}\"\nroles = [\"pager\"]\nperson = \"alice\"\n",
        common::slack_chat(&slack.api_url()),
        synapse.url(),
        bot.user_id,
        alice.user_id
    );
    let Some(site) = common::start_site(&chat, "U0ONCALL") else { return };
    slack.add_user("U0ALICE", "Alice");
    let mut secrets = common::SLACK_TOKENS.to_vec();
    secrets.push(("MATRIX_PASSWORD", "hagios-bot-password"));
    let _bot = Running(common::start_run(&site.config, &secrets));
    runtime.block_on(slack.wait_connected(PATIENCE));

    site.nagios.submit_service_result("web01", "HTTP", 2, "CRITICAL - down");
    let wait_for_slack = |what: &str, done: &dyn Fn(&[Message]) -> bool| {
        runtime.block_on(slack.wait_until(what, PATIENCE, |fake| done(&fake.bot_messages())));
        slack.bot_messages()
    };
    let slack_alert =
        |m: &[Message]| m.iter().find(|m| !m.is_reply() && m.text.contains("web01!HTTP is CRITICAL")).cloned();
    let messages = wait_for_slack("the alert on Slack", &|m| slack_alert(m).is_some());
    let on_slack = slack_alert(&messages).expect("the Slack alert");
    wait_for_slack("alice paged on Slack", &|m| !replies_in(m, &on_slack, "<@U0ALICE>").is_empty());
    let wait_for_matrix = |what: &str, done: &dyn Fn(&[Value]) -> bool| {
        wait_until(PATIENCE, || Some(matrix_messages(&alice, &bot.user_id, &alerts)).filter(|m| done(m)))
            .unwrap_or_else(|| panic!("no {what}: {:#?}", matrix_messages(&alice, &bot.user_id, &alerts)))
    };
    let matrix_alert = |m: &[Value]| {
        m.iter().find(|m| m["content"]["m.relates_to"].is_null() && body(m).contains("web01!HTTP is CRITICAL")).cloned()
    };
    let messages = wait_for_matrix("the alert on Matrix", &|m| matrix_alert(m).is_some());
    let on_matrix = matrix_alert(&messages).expect("the Matrix alert");
    wait_for_matrix("alice paged on Matrix", &|m| {
        !in_thread(m, &on_matrix, |m| mentions(m, &alice.user_id)).is_empty()
    });

    // Acknowledged in Nagios: mirrored into both threads.
    site.nagios.submit_raw("ACKNOWLEDGE_SVC_PROBLEM;web01;HTTP;2;0;1;cgi-user;on it via the CGI");
    wait_for_slack("the ack on Slack", &|m| !replies_in(m, &on_slack, "by cgi-user").is_empty());
    wait_for_matrix("the ack on Matrix", &|m| {
        !in_thread(m, &on_matrix, |m| body(m).contains("by cgi-user")).is_empty()
    });

    // The timeline, asked on Matrix: one story with the pages of both threads.
    let root = on_matrix["event_id"].as_str().expect("event id");
    alice.send_text(&alerts, Some(root), "hagios: timeline");
    let named = |m: &Value| m["content"]["msgtype"] == "m.file" && body(m) == "timeline-web01-HTTP.md";
    let messages = wait_for_matrix("the timeline", &|m| !in_thread(m, &on_matrix, named).is_empty());
    let url = in_thread(&messages, &on_matrix, named)[0]["content"]["url"].as_str().expect("an mxc URI").to_owned();
    let story = String::from_utf8(alice.download(&url)).expect("utf-8");
    assert!(story.contains("paged alice on slack (step 1)"), "{story}");
    assert!(story.contains("paged alice on matrix (step 1)"), "{story}");
    assert_eq!(story.matches("| ACKNOWLEDGEMENT:").count(), 1, "the notification once: {story}");

    // The report, asked on Slack: the incident once, its page once.
    slack.mention("U0ALICE", "C0ONCALL", None, "report 1d");
    runtime.block_on(slack.wait_until("the report uploaded", PATIENCE, |fake| {
        fake.files().iter().any(|file| file.name == "report.png" && file.shared.is_some())
    }));
    let files = slack.files();
    let comment = files.iter().find(|file| file.name == "report.png").and_then(|file| file.comment.clone());
    let comment = comment.unwrap_or_default();
    assert!(comment.contains(": 1 incident, 1 still open"), "{comment}");
    assert!(comment.contains("per route (medians): hosts=web*: 1 incident, acknowledged in"), "{comment}");
    assert!(comment.contains("per schedule (medians): web: 1 paged"), "{comment}");
    assert!(comment.contains("pages per person: alice 1 ("), "{comment}");
}

/// Nagios as Debian ships it (status.dat every 10 s, environment macros off) with
/// contrib/nagios/hagios.cfg as documented, spooling into `dir/spool`, and `web01!Apt`
/// notifying the `hagios` contact.
fn stock_nagios(dir: &std::path::Path) -> Option<hagios_testkit::NagiosInstance> {
    let apt = "define service {\n    use hagios-service\n    host_name web01\n    service_description Apt\n    contacts hagios\n}\n";
    hagios_testkit::NagiosInstance::start(hagios_testkit::NagiosOptions {
        extra_objects: common::contrib_snippet(&dir.join("spool")) + apt,
        without_environment_macros: true,
        status_update_interval: Some(10),
        ..Default::default()
    })
}

/// The bot's Slack messages once they satisfy `done`, waiting up to a minute (status.dat comes
/// every 10 s at Debian's cadence).
fn bot_messages_when(
    runtime: &tokio::runtime::Runtime,
    slack: &FakeSlack,
    what: &str,
    done: &dyn Fn(&[Message]) -> bool,
) -> Vec<Message> {
    runtime.block_on(slack.wait_until(what, Duration::from_secs(60), |fake| done(&fake.bot_messages())));
    slack.bot_messages()
}

/// `web01!Apt` goes CRITICAL on the [`stock_nagios`] site: its alert in the default channel (a
/// group of one, as the stock default route groups), once its member line is in the thread and
/// commands there know the group.
fn stock_alert(
    runtime: &tokio::runtime::Runtime,
    slack: &FakeSlack,
    nagios: &hagios_testkit::NagiosInstance,
) -> Message {
    nagios.submit_service_result("web01", "Apt", 2, "CRITICAL - 3 security updates");
    let alert_of = |messages: &[Message]| {
        messages
            .iter()
            .find(|m| !m.is_reply() && m.channel == "C0ALERTS" && m.text.contains("on web01 CRITICAL"))
            .cloned()
    };
    let messages = bot_messages_when(runtime, slack, "the alert in the default channel", &|m| alert_of(m).is_some());
    let alert = alert_of(&messages).expect("alert");
    bot_messages_when(runtime, slack, "its member in the thread", &|m| {
        !replies_in(m, &alert, "web01!Apt PROBLEM").is_empty()
    });
    alert
}

/// A new user's on call on Nagios as Debian ships it (status.dat every 10 s, environment macros
/// off, contrib/nagios/hagios.cfg as documented): a default channel, no `[[route]]`, and the
/// default route paging the schedule. CRITICAL → alice (on call) mentioned in the alert's thread
/// → alice acks from chat, Nagios confirms it → the next step (bob) never comes.
#[test]
fn stock_nagios_without_routes_pages_from_the_default_route_until_an_ack_from_chat() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts")]));
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nagios) = stock_nagios(dir.path()) else { return };
    let chat = format!(
        "{}[default_route]\noncall = \"web\"\nescalation = \"web\"\n{}",
        common::slack_chat(&slack.api_url()),
        web_schedule("U0ALICE", "U0BOB", "", "after = \"30s\"\nnotify = \"person:bob\"\n")
    );
    let config = common::write_config(dir.path(), &common::nagios_section(&nagios), &chat, "U0NOBODY");
    let text = std::fs::read_to_string(&config).expect("hagios.toml");
    assert!(!text.contains("[[route]]") && !text.contains("grouping"), "stock routing: {text}");
    let checked = std::process::Command::new(common::HAGIOS)
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .expect("hagios config check");
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stdout));
    slack.add_user("U0ALICE", "Alice");
    slack.add_user("U0BOB", "Bob");
    let _bot = Running(common::start_run(&config, &common::SLACK_TOKENS));
    runtime.block_on(slack.wait_connected(PATIENCE));
    let wait_for = |what: &str, done: &dyn Fn(&[Message]) -> bool| bot_messages_when(&runtime, &slack, what, done);

    let alert = stock_alert(&runtime, &slack, &nagios);
    wait_for("alice paged", &|m| !replies_in(m, &alert, "<@U0ALICE>").is_empty());
    let paged = std::time::Instant::now();

    slack.mention("U0ALICE", "C0ALERTS", Some(&alert.ts), "ack on it");
    wait_for("the ack confirmed by Nagios", &|m| !replies_in(m, &alert, "1 confirmed").is_empty());
    common::wait_for_service_ack(&nagios, "web01", "Apt");
    // Step 2 was due 30 s after alice's page: past that (and a pass or two), bob was not paged.
    wait_until(Duration::from_secs(60), || (paged.elapsed() > Duration::from_secs(35)).then_some(())).expect("time");
    let messages = slack.bot_messages();
    assert!(replies_in(&messages, &alert, "<@U0BOB>").is_empty(), "acknowledged: no step 2: {messages:#?}");
    assert_eq!(replies_in(&messages, &alert, "<@U0ALICE>").len(), 1, "{messages:#?}");
}

/// On stock Nagios and routing: an incident opened while the default route paged nobody; then
/// the schedule is named and hagios restarted. `escalate` in that thread starts paging at the
/// policy's first step at once — and before, said what to configure.
#[test]
fn escalate_in_a_thread_opened_before_paging_was_configured_pages_the_first_step_at_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts")]));
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nagios) = stock_nagios(dir.path()) else { return };
    let people = web_schedule("U0ALICE", "U0BOB", "", "after = \"5m\"\nnotify = \"person:bob\"\n");
    // An empty [default_route] is the stock one (and keeps the tests' ungrouped default out).
    let unpaged = format!("{}[default_route]\n{people}", common::slack_chat(&slack.api_url()));
    let config = common::write_config(dir.path(), &common::nagios_section(&nagios), &unpaged, "U0NOBODY");
    slack.add_user("U0ALICE", "Alice");
    let mut bot = Running(common::start_run(&config, &common::SLACK_TOKENS));
    runtime.block_on(slack.wait_connected(PATIENCE));
    let wait_for = |what: &str, done: &dyn Fn(&[Message]) -> bool| bot_messages_when(&runtime, &slack, what, done);

    let alert = stock_alert(&runtime, &slack, &nagios);
    slack.mention("U0ALICE", "C0ALERTS", Some(&alert.ts), "escalate");
    let messages = wait_for("the refusal", &|m| !replies_in(m, &alert, "cannot be paged").is_empty());
    let refusal = &replies_in(&messages, &alert, "cannot be paged")[0].text;
    assert!(refusal.contains("its route names no schedule") && refusal.contains("[default_route]"), "{refusal}");

    let text = std::fs::read_to_string(&config).expect("hagios.toml");
    let paged = text.replacen("[default_route]\n", "[default_route]\noncall = \"web\"\nescalation = \"web\"\n", 1);
    std::fs::write(&config, paged).expect("hagios.toml");
    common::crash_and_restart(&mut bot.0, &config, &common::SLACK_TOKENS);
    runtime.block_on(slack.wait_connected(PATIENCE));
    slack.mention("U0ALICE", "C0ALERTS", Some(&alert.ts), "escalate need help");
    let messages = wait_for("alice paged", &|m| !replies_in(m, &alert, "<@U0ALICE>").is_empty());
    let page = &replies_in(&messages, &alert, "<@U0ALICE>")[0].text;
    assert!(
        page.starts_with("<@U0ALICE> escalated by Alice (need help) — web01!Apt is CRITICAL: paging alice, on call in web (step 1 of 2)"),
        "{page}"
    );
    assert!(!replies_in(&messages, &alert, "paging starts: step 1 of 2").is_empty(), "{messages:#?}");
}
