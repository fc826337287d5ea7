//! `hagios run` with `[matrix]` against a real, private Synapse and a real, private Nagios:
//! alerts become Matrix threads, a second person's mention or ✅ reaction in the thread acks in
//! Nagios (confirmed from status.dat), Nagios' follow-ups reply in the thread and edit the root,
//! strangers are refused, hostile output is escaped, and a rate-limited burst survives a kill -9
//! of hagios without losing or repeating a message. With `[slack]` too (the fake Slack), one
//! process serves both: every alert once on each, commands from either, a Slack outage holding
//! up nothing on Matrix.

mod common;

use hagios_chat::matrix::KEYED_TXN_PREFIX;
use hagios_fakeslack::{Failure, FakeSlack, Message};
use hagios_testkit::{wait_until, MatrixUser, NagiosInstance, SynapseInstance, SynapseOptions, SERVER_NAME};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Generous bound for anything that crosses Nagios (its status.dat is rewritten every second).
const PATIENCE: Duration = Duration::from_secs(40);
const BOT_PASSWORD: &str = "hagios-bot-password";

struct Site {
    nagios: NagiosInstance,
    synapse: SynapseInstance,
    bot: MatrixUser,
    /// Created the rooms; holds no role in hagios.
    alice: MatrixUser,
    /// On call: may run every acting command.
    oncall: MatrixUser,
    /// The default room, and the room `#db:…` that db* problems are routed to.
    alerts: String,
    db: String,
    hagios: Child,
    /// The environment hagios gets its chat secrets from.
    secrets: Vec<(&'static str, &'static str)>,
    config: PathBuf,
    spool: PathBuf,
    _dir: tempfile::TempDir,
}

impl Site {
    fn start(options: SynapseOptions) -> Option<Site> {
        Site::start_with(options, None, None)
    }

    /// With `proxy`, hagios reaches the homeserver through it; with `slack`, it serves that
    /// (fake) Slack too, where [`SLACK_ONCALL`] holds the same role as Olive on Matrix.
    fn start_with(options: SynapseOptions, proxy: Option<&AnswerSwallower>, slack: Option<&FakeSlack>) -> Option<Site> {
        let synapse = SynapseInstance::start(options)?;
        let bot = synapse.register("hagios", BOT_PASSWORD);
        let alice = synapse.register("alice", "alice-password");
        let oncall = synapse.register("oncall", "oncall-password");
        oncall.call(
            "PUT",
            &format!("/profile/{}/displayname", url(&oncall.user_id)),
            Some(json!({ "displayname": "Olive Oncall" })),
        );
        let members = [bot.user_id.as_str(), oncall.user_id.as_str()];
        let alerts = alice.create_room(&members, json!({ "name": "alerts" }));
        let db = alice.create_room(&members, json!({ "name": "db", "room_alias_name": "db" }));
        oncall.join(&alerts);
        oncall.join(&db);
        let slack_section = slack.map_or_else(String::new, |slack| {
            format!(
                "{}\n[[user]]\nchat_id = \"{SLACK_ONCALL}\"\nroles = [\"responder\"]\n",
                common::slack_chat(&slack.api_url())
            )
        });
        let chat = format!(
            r##"{slack_section}
[matrix]
homeserver = "{homeserver}"
user = "{user}"
default_room = "{alerts}"

[[route]]
hosts = ["db*"]
types = ["PROBLEM"]
channel = "C0DB"
matrix_room = "#db:{SERVER_NAME}"
# One message per alert here: these tests follow single incidents (tests/storm.rs groups).
grouping = false
"##,
            homeserver = proxy.map_or_else(|| synapse.url(), |proxy| proxy.url(&synapse)),
            user = bot.user_id,
        );
        let site = common::start_site(&chat, &oncall.user_id)?;
        let mut secrets = SECRETS.to_vec();
        if slack.is_some() {
            secrets.extend(common::SLACK_TOKENS);
        }
        let hagios = common::start_run(&site.config, &secrets);
        Some(Site {
            nagios: site.nagios,
            synapse,
            bot,
            alice,
            oncall,
            alerts,
            db,
            hagios,
            secrets,
            config: site.config,
            spool: site.spool,
            _dir: site.dir,
        })
    }

    /// The bot's messages in `room`, oldest first, edits included.
    fn bot_messages(&self, room: &str) -> Vec<Value> {
        self.alice.messages(room).into_iter().filter(|m| m["sender"] == self.bot.user_id.as_str()).collect()
    }

    fn wait_for(&self, room: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        wait_until(PATIENCE, || Some(self.bot_messages(room)).filter(|messages| done(messages)))
            .unwrap_or_else(|| panic!("no {what} within {PATIENCE:?}; the bot said:\n{:#?}", self.bot_messages(room)))
    }

    /// The root message of the alert whose body contains `needle`, once its delivery is
    /// committed (a person cannot answer faster than that).
    fn wait_for_alert(&self, room: &str, needle: &str) -> Value {
        let find =
            |messages: &[Value]| messages.iter().find(|m| relation(m).is_null() && body(m).contains(needle)).cloned();
        let messages = self.wait_for(room, &format!("alert with {needle:?}"), |messages| find(messages).is_some());
        wait_until(PATIENCE, || (common::spooled(&self.spool) == 0).then_some(())).expect("delivery committed");
        find(&messages).expect("found")
    }

    /// Waits for a message related to `root` by `rel_type` (`m.thread` reply, `m.replace` edit)
    /// that satisfies `done`.
    fn wait_for_related(
        &self,
        room: &str,
        root: &Value,
        rel_type: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let find = |messages: &[Value]| {
            messages
                .iter()
                .find(|m| relation(m)["rel_type"] == rel_type && relation(m)["event_id"] == root["event_id"] && done(m))
                .cloned()
        };
        let messages = self.wait_for(room, what, |messages| find(messages).is_some());
        find(&messages).expect("found")
    }

    fn wait_for_reply(&self, room: &str, root: &Value, needle: &str) -> Value {
        self.wait_for_related(room, root, "m.thread", &format!("reply with {needle:?}"), |m| body(m).contains(needle))
    }

    /// Waits until a command's answer in `root`'s thread says `needle`: a command that waits for
    /// Nagios is answered at once, and that reply is edited to the final word.
    fn wait_for_answer(&self, room: &str, root: &Value, needle: &str) {
        let answered = |messages: &[Value]| {
            let replies: Vec<&Value> = messages
                .iter()
                .filter(|m| relation(m)["rel_type"] == "m.thread" && relation(m)["event_id"] == root["event_id"])
                .map(|m| &m["event_id"])
                .collect();
            messages.iter().any(|m| match relation(m)["rel_type"].as_str() {
                Some("m.thread") => replies.contains(&&m["event_id"]) && body(m).contains(needle),
                Some("m.replace") => {
                    replies.contains(&&relation(m)["event_id"])
                        && m["content"]["m.new_content"]["body"].as_str().unwrap_or_default().contains(needle)
                }
                _ => false,
            })
        };
        self.wait_for(room, &format!("an answer saying {needle:?}"), answered);
    }

    /// Waits for an edit of `root` whose new content satisfies `done`.
    fn wait_for_edit(&self, room: &str, root: &Value, what: &str, done: impl Fn(&str) -> bool) -> Value {
        self.wait_for_related(room, root, "m.replace", what, |m| {
            done(m["content"]["m.new_content"]["body"].as_str().unwrap_or_default())
        })
    }

    /// Logs in with the password again: a new login on the same device.
    fn crash_and_restart(&mut self) {
        common::crash_and_restart(&mut self.hagios, &self.config, &self.secrets);
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.hagios.kill();
        let _ = self.hagios.wait();
    }
}

/// hagios logs in with the password, so each start is a new login (on the same device).
const SECRETS: &[(&str, &str)] = &[("MATRIX_PASSWORD", BOT_PASSWORD)];

fn relation(message: &Value) -> &Value {
    &message["content"]["m.relates_to"]
}

fn body(message: &Value) -> &str {
    message["content"]["body"].as_str().unwrap_or_default()
}

fn url(segment: &str) -> String {
    hagios_testkit::url_encode(segment)
}

#[test]
fn a_mention_in_the_alert_thread_acks_in_nagios_and_the_thread_tells_the_story() {
    let Some(site) = Site::start(SynapseOptions::default()) else { return };
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - <script>alert(1)</script> & more");
    let alert = site.wait_for_alert(&site.alerts, "PROBLEM web01!HTTP Load is CRITICAL");
    let html = alert["content"]["formatted_body"].as_str().expect("HTML");
    assert!(html.starts_with("🔴 <b>PROBLEM</b>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more") && !html.contains("<script"), "{html}");
    assert!(body(&alert).contains("<script>alert(1)</script> & more"), "the plain fallback is the text itself");

    let root = alert["event_id"].as_str().expect("event id");
    // Shell syntax, a trailing backslash above all, is stored as look-alikes.
    site.oncall.send_text(&site.alerts, Some(root), "hagios: ack looking into it | id # \\");
    // Answered at once in the thread, and that reply edited (m.replace) to the final word.
    let waiting = site.wait_for_reply(&site.alerts, &alert, "sent to Nagios, waiting for it to confirm");
    site.wait_for_edit(&site.alerts, &waiting, "the answer edited to the final word", |text| {
        text.contains("confirmed by Nagios")
    });
    let status = common::wait_for_service_ack(&site.nagios, "web01", "HTTP Load");
    // The author is the Matrix id, not the display name anyone can set to anything.
    let comment = "looking into it ｜ id ＃ ＼";
    assert!(status.comments.iter().any(|c| c.text == comment && c.author == site.oncall.user_id), "{status:?}");

    // Nagios' ACKNOWLEDGEMENT notification: a reply in the thread and an edit of the root.
    site.wait_for_reply(&site.alerts, &alert, "ACKNOWLEDGEMENT");
    site.wait_for_edit(&site.alerts, &alert, "the root edited for the ack", |text| text.contains("acknowledged"));

    site.nagios.submit_service_result("web01", "HTTP Load", 0, "OK - load 0.1");
    site.wait_for_reply(&site.alerts, &alert, "RECOVERY");
    site.wait_for_edit(&site.alerts, &alert, "the root edited to OK", |text| {
        text.starts_with("🟢") && text.contains("closed")
    });
}

#[test]
fn a_reaction_acks_and_a_person_without_a_role_is_refused() {
    let Some(site) = Site::start(SynapseOptions::default()) else { return };
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - too many connections");
    let alert = site.wait_for_alert(&site.db, "PROBLEM db01!MySQL is CRITICAL");
    assert!(site.bot_messages(&site.alerts).is_empty(), "routed by host and type to #db");

    let root = alert["event_id"].as_str().expect("event id");
    site.oncall.react(&site.db, root, "✅");
    site.wait_for_answer(&site.db, &alert, "confirmed by Nagios");
    common::wait_for_service_ack(&site.nagios, "db01", "MySQL");
    // The ACKNOWLEDGEMENT notification follows the incident into its thread.
    site.wait_for_reply(&site.db, &alert, "ACKNOWLEDGEMENT");

    // Someone without a role is refused, and told which permission is missing; the audit log
    // has both.
    site.alice.react(&site.db, root, "🔁");
    site.wait_for_reply(&site.db, &alert, "may not `recheck`");
    site.alice.send_text(&site.db, Some(root), &format!("{}: ack me too", site.bot.user_id));
    site.wait_for_reply(&site.db, &alert, "may not `ack`");
    let audit =
        Command::new(common::HAGIOS).args(["audit", "--config"]).arg(&site.config).output().expect("hagios audit");
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(audit.contains(&site.alice.user_id) && audit.contains(&site.oncall.user_id), "{audit}");
}

#[test]
fn a_rate_limited_burst_survives_a_kill_without_losing_or_repeating_a_message() {
    // One message a second: every notification waits its turn behind M_LIMIT_EXCEEDED.
    let Some(mut site) = Site::start(SynapseOptions { message_rate: Some((1.0, 2)) }) else { return };
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - burst 1");
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - burst 2");
    site.nagios.submit_host_result("web01", 1, "DOWN - burst 3");
    site.nagios.submit_service_result("web01", "HTTP Load", 1, "WARNING - burst 4");
    site.wait_for(&site.alerts, "the first delivery", |messages| !messages.is_empty());
    site.crash_and_restart();
    site.nagios.submit_service_result("db01", "MySQL", 1, "WARNING - burst 5");

    let posts = |site: &Site| -> Vec<Value> {
        [&site.alerts, &site.db]
            .into_iter()
            .flat_map(|room| site.bot_messages(room))
            .filter(|m| relation(m)["rel_type"] != "m.replace")
            .collect()
    };
    wait_until(Duration::from_secs(90), || {
        (posts(&site).len() >= common::notifications_sent(&site.nagios) && common::spooled(&site.spool) == 0)
            .then_some(())
    })
    .unwrap_or_else(|| panic!("not everything delivered: {:#?}\n{}", posts(&site), site.nagios.log()));
    let posts = posts(&site);
    assert_eq!(
        posts.len(),
        common::notifications_sent(&site.nagios),
        "one message per notification: {posts:#?}\n{}",
        site.nagios.log()
    );
    let roots: Vec<&Value> = posts.iter().filter(|m| relation(m).is_null()).collect();
    for object in ["web01!HTTP Load is", "db01!MySQL is", "PROBLEM web01 is"] {
        assert_eq!(roots.iter().filter(|m| body(m).contains(object)).count(), 1, "{object}: {roots:#?}");
    }
    assert!(site.synapse.log().contains(" 429 "), "Synapse limited the bot (M_LIMIT_EXCEEDED)");
}

#[test]
fn a_restart_while_a_post_is_unanswered_does_not_post_it_twice() {
    let proxy = AnswerSwallower::start();
    let Some(mut site) = Site::start_with(SynapseOptions::default(), Some(&proxy), None) else { return };
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - answer lost");
    // The homeserver took the post, hagios never hears back: it is killed waiting.
    wait_until(PATIENCE, || proxy.swallowed.load(Ordering::SeqCst).then_some(())).expect("a keyed post went out");
    site.wait_for(&site.alerts, "the post on the homeserver", |messages| messages.len() == 1);
    site.crash_and_restart();
    site.nagios.submit_service_result("web01", "HTTP Load", 1, "WARNING - after the restart");
    site.wait_for_alert(&site.alerts, "CRITICAL - answer lost");
    let messages = site.wait_for(&site.alerts, "the WARNING in the thread", |messages| {
        messages.iter().any(|m| relation(m)["rel_type"] == "m.thread" && body(m).contains("WARNING"))
    });
    let roots: Vec<&Value> = messages.iter().filter(|m| relation(m).is_null()).collect();
    assert_eq!(roots.len(), 1, "the repeated post was recognised by its transaction id: {messages:#?}");
}

const SLACK_ONCALL: &str = "U0ONCALL";

/// The fake Slack beside Synapse, and the runtime it runs on.
struct SlackSide {
    slack: FakeSlack,
    runtime: tokio::runtime::Runtime,
}

impl SlackSide {
    fn start() -> SlackSide {
        let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
        let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("C0DB", "db")]));
        slack.add_user(SLACK_ONCALL, "Sam Slack");
        SlackSide { slack, runtime }
    }

    fn wait_for<T>(&self, what: &str, find: impl Fn(&[Message]) -> Option<T>) -> T {
        self.runtime.block_on(self.slack.wait_until(what, PATIENCE, |fake| find(&fake.bot_messages()).is_some()));
        find(&self.slack.bot_messages()).expect("found")
    }

    /// The bot's parent messages whose text contains `needle`.
    fn alerts(&self, needle: &str) -> Vec<Message> {
        self.slack.bot_messages().into_iter().filter(|m| !m.is_reply() && m.text.contains(needle)).collect()
    }

    fn wait_for_alert(&self, needle: &str) -> Message {
        self.wait_for(&format!("a Slack alert with {needle:?}"), |_| self.alerts(needle).into_iter().next())
    }

    /// The bot's replies under `parent` whose blocks or text contain `needle`.
    fn replies(&self, parent: &Message, needle: &str) -> Vec<Message> {
        self.slack
            .bot_messages()
            .into_iter()
            .filter(|m| m.is_reply() && m.thread_ts.as_deref() == Some(parent.ts.as_str()))
            .filter(|m| m.blocks.as_ref().map_or_else(|| m.text.clone(), Value::to_string).contains(needle))
            .collect()
    }

    fn wait_for_reply(&self, parent: &Message, needle: &str) -> Message {
        self.wait_for(&format!("a Slack reply with {needle:?}"), |_| self.replies(parent, needle).into_iter().next())
    }
}

#[test]
fn slack_and_matrix_from_one_process_each_show_every_alert_once_and_answer_commands() {
    let side = SlackSide::start();
    let Some(mut site) = Site::start_with(SynapseOptions::default(), None, Some(&side.slack)) else { return };
    side.runtime.block_on(side.slack.wait_connected(PATIENCE));

    // A problem reaches both platforms; the Ack button on Slack is confirmed there, and Nagios'
    // ACKNOWLEDGEMENT joins the incident's thread on both.
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - on both");
    let alert = site.wait_for_alert(&site.alerts, "PROBLEM web01!HTTP Load is CRITICAL");
    let slack_alert = side.wait_for_alert("PROBLEM web01!HTTP Load is CRITICAL");
    assert_eq!(slack_alert.channel, "C0ALERTS");
    side.slack.press_button(SLACK_ONCALL, "C0ALERTS", &slack_alert.ts, "hagios_ack");
    side.wait_for_reply(&slack_alert, "confirmed by Nagios");
    common::wait_for_service_ack(&site.nagios, "web01", "HTTP Load");
    side.wait_for_reply(&slack_alert, "ACKNOWLEDGEMENT");
    site.wait_for_reply(&site.alerts, &alert, "ACKNOWLEDGEMENT");
    site.wait_for_edit(&site.alerts, &alert, "the root edited for the ack", |text| text.contains("acknowledged"));
    assert!(
        !site.bot_messages(&site.alerts).iter().any(|m| body(m).contains("confirmed by Nagios")),
        "the answer goes where it was asked"
    );

    // While Slack is down, Matrix is served; a kill -9 in the middle repeats nothing there, and
    // Slack gets the alert once it is back.
    side.slack.fail_for("*", Duration::from_secs(600), Failure::Status(500));
    site.nagios.submit_service_result("db01", "MySQL", 2, "CRITICAL - during the Slack outage");
    let db_needle = "PROBLEM db01!MySQL is CRITICAL";
    let db_root =
        |messages: &[Value]| messages.iter().find(|m| relation(m).is_null() && body(m).contains(db_needle)).cloned();
    let db_alert = db_root(&site.wait_for(&site.db, "the alert on Matrix", |messages| db_root(messages).is_some()))
        .expect("found");
    let matrix_spool = site.spool.join("platforms/matrix");
    wait_until(PATIENCE, || (common::spooled(&matrix_spool) == 0).then_some(())).expect("committed for Matrix");
    assert!(side.alerts("db01!MySQL").is_empty(), "Slack is still down");
    assert_eq!(common::spooled(&site.spool), 1, "Slack's copy waits");
    site.crash_and_restart();
    side.slack.end_outages();
    let slack_db_alert = side.wait_for_alert("PROBLEM db01!MySQL is CRITICAL");
    assert_eq!(slack_db_alert.channel, "C0DB", "routed on each platform by the same [[route]]");

    // An ack typed on Matrix acks in Nagios; the ACKNOWLEDGEMENT reaches the Slack thread too.
    let root = db_alert["event_id"].as_str().expect("event id");
    site.oncall.send_text(&site.db, Some(root), "hagios: ack on it");
    site.wait_for_answer(&site.db, &db_alert, "confirmed by Nagios");
    common::wait_for_service_ack(&site.nagios, "db01", "MySQL");
    site.wait_for_reply(&site.db, &db_alert, "ACKNOWLEDGEMENT");
    side.wait_for_reply(&slack_db_alert, "ACKNOWLEDGEMENT");
    assert!(side.slack.bot_messages().iter().any(|m| m.ts == slack_db_alert.ts && m.edits > 0), "parent edited");

    wait_until(PATIENCE, || (common::spooled(&site.spool) == 0).then_some(())).expect("everything delivered");
    // Parents are edited (their text now says ACKNOWLEDGEMENT on Slack), so count by object.
    for needle in ["web01!HTTP Load is CRITICAL", "db01!MySQL is CRITICAL"] {
        assert_eq!(side.alerts(needle).len(), 1, "{needle} on Slack: {:#?}", side.slack.bot_messages());
        let on_matrix = [&site.alerts, &site.db]
            .into_iter()
            .flat_map(|room| site.bot_messages(room))
            .filter(|m| relation(m).is_null() && body(m).contains(needle))
            .count();
        assert_eq!(on_matrix, 1, "{needle} on Matrix");
    }
    for (parent, root) in [(&slack_alert, &alert), (&slack_db_alert, &db_alert)] {
        assert_eq!(side.replies(parent, "ACKNOWLEDGEMENT").len(), 1, "on Slack, once");
        let room = if root == &alert { &site.alerts } else { &site.db };
        let acks = site
            .bot_messages(room)
            .into_iter()
            .filter(|m| relation(m)["event_id"] == root["event_id"] && relation(m)["rel_type"] == "m.thread")
            .filter(|m| body(m).contains("ACKNOWLEDGEMENT"))
            .count();
        assert_eq!(acks, 1, "on Matrix, once");
    }
    let audit = common::audit(&site.config);
    assert!(audit.contains(SLACK_ONCALL) && audit.contains(&site.oncall.user_id), "{audit}");
}

/// A loopback TCP proxy to Synapse that forwards everything, except that it never passes on the
/// answer to the first post carrying a notification (its transaction id gives it away).
struct AnswerSwallower {
    listener: TcpListener,
    upstream: Arc<AtomicU16>,
    swallowed: Arc<AtomicBool>,
}

impl AnswerSwallower {
    fn start() -> AnswerSwallower {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        AnswerSwallower { listener, upstream: Arc::default(), swallowed: Arc::default() }
    }

    /// Starts forwarding to `synapse` and returns the URL to give hagios.
    fn url(&self, synapse: &SynapseInstance) -> String {
        let port = synapse.url().rsplit(':').next().and_then(|port| port.parse().ok()).expect("Synapse port");
        self.upstream.store(port, Ordering::SeqCst);
        let listener = self.listener.try_clone().expect("proxy listener");
        let (upstream, swallowed) = (self.upstream.clone(), self.swallowed.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let server = TcpStream::connect(("127.0.0.1", upstream.load(Ordering::SeqCst))).expect("reach Synapse");
                let mute = Arc::new(AtomicBool::new(false));
                let (mute_in, swallowed) = (mute.clone(), swallowed.clone());
                let (mut from_client, mut to_server) =
                    (client.try_clone().expect("client"), server.try_clone().expect("server"));
                std::thread::spawn(move || {
                    let needle = format!("/send/m.room.message/{KEYED_TXN_PREFIX}");
                    let mut buffer = [0; 65536];
                    while let Ok(read @ 1..) = from_client.read(&mut buffer) {
                        let chunk = String::from_utf8_lossy(&buffer[..read]);
                        if chunk.starts_with("PUT ")
                            && chunk.contains(&needle)
                            && !swallowed.swap(true, Ordering::SeqCst)
                        {
                            mute_in.store(true, Ordering::SeqCst);
                        }
                        if to_server.write_all(&buffer[..read]).is_err() {
                            break;
                        }
                    }
                });
                let (mut from_server, mut to_client) = (server, client);
                std::thread::spawn(move || {
                    let mut buffer = [0; 65536];
                    while let Ok(read @ 1..) = from_server.read(&mut buffer) {
                        if !mute.load(Ordering::SeqCst) && to_client.write_all(&buffer[..read]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        format!("http://{}", self.listener.local_addr().expect("proxy address"))
    }
}
