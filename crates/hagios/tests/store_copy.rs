//! `hagios store copy` as an operator moves one bot's SQLite store into PostgreSQL: `hagios run`
//! against a real Nagios and the fake Slack opens a thread and acks it from chat, stops, the
//! store is copied into a private PostgreSQL 15 database, and the bot started on PostgreSQL goes
//! on editing the same thread when Nagios recovers — no second parent, the audit log kept. A
//! target that already holds a store, a missing source and a missing password are refused
//! with what to do.

mod common;

use common::{HAGIOS, PATIENCE, SLACK_TOKENS};
use hagios_fakeslack::{FakeSlack, Message};
use hagios_testkit::{wait_until, PostgresInstance, PostgresOptions};
use std::path::Path;
use std::process::{Child, Command, Output};

const ONCALL: &str = "U0ONCALL";
const PASSWORD: (&str, &str) = ("HAGIOS_STORE_PASSWORD", PostgresInstance::PASSWORD);

/// `hagios ARGS` with `env`.
fn hagios(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(HAGIOS).args(args).envs(env.iter().copied()).output().expect("run hagios")
}

fn text(output: &[u8]) -> String {
    String::from_utf8_lossy(output).into_owned()
}

/// SIGTERM, as systemd stops the bot before the move; it exits cleanly.
fn stop(mut run: Child) {
    let status = Command::new("kill").arg("-TERM").arg(run.id().to_string()).status().expect("kill -TERM");
    assert!(status.success());
    let exit = run.wait().expect("hagios run exits");
    assert!(exit.success(), "hagios run stopped with {exit}");
}

fn wait_for(runtime: &tokio::runtime::Runtime, slack: &FakeSlack, what: &str, done: impl Fn(&[Message]) -> bool) {
    runtime.block_on(slack.wait_until(what, PATIENCE * 2, |fake| done(&fake.bot_messages())));
}

fn parent_of(slack: &FakeSlack, needle: &str) -> Option<Message> {
    slack.bot_messages().into_iter().find(|message| !message.is_reply() && message.text.contains(needle))
}

fn blocks(message: &Message) -> String {
    message.blocks.as_ref().map_or_else(|| message.text.clone(), |blocks| blocks.to_string())
}

fn reply_in(slack: &FakeSlack, parent: &Message, needle: &str) -> bool {
    slack
        .bot_messages()
        .iter()
        .any(|m| m.is_reply() && m.thread_ts.as_deref() == Some(parent.ts.as_str()) && blocks(m).contains(needle))
}

fn with_url(config: &Path, url: &str) {
    let text = std::fs::read_to_string(config).expect("read hagios.toml");
    assert!(text.contains("[store]\n"), "{text}");
    std::fs::write(config, text.replacen("[store]\n", &format!("[store]\nurl = \"{url}\"\n"), 1))
        .expect("write hagios.toml");
}

#[test]
fn an_sqlite_store_copied_into_postgres_keeps_its_open_threads_edited() {
    let Some(postgres) = PostgresInstance::start(PostgresOptions::default()) else { return };
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
    let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts")]));
    slack.add_user(ONCALL, "Olive Oncall");
    let Some(site) = common::start_site(&common::slack_chat(&slack.api_url()), ONCALL) else { return };
    let run = common::start_run(&site.config, &SLACK_TOKENS);
    runtime.block_on(slack.wait_connected(PATIENCE));

    // On SQLite: an open incident, acked from its thread.
    site.nagios.submit_service_result("web01", "HTTP Load", 2, "CRITICAL - load 42");
    wait_for(&runtime, &slack, "the alert", |_| parent_of(&slack, "web01!HTTP Load is CRITICAL").is_some());
    let alert = parent_of(&slack, "web01!HTTP Load is CRITICAL").expect("the alert");
    slack.mention(ONCALL, "C0ALERTS", Some(&alert.ts), "ack moving the store");
    wait_for(&runtime, &slack, "the ACKNOWLEDGEMENT in the thread", |_| reply_in(&slack, &alert, "ACKNOWLEDGEMENT"));
    wait_until(PATIENCE, || (common::spooled(&site.spool) == 0).then_some(())).expect("everything delivered");
    stop(run);

    let sqlite = site.dir.path().join("state.db");
    let sqlite = sqlite.to_str().expect("utf-8 path");
    let url = postgres.create_database();

    let missing = hagios(&["store", "copy", "--from", "/nonexistent/state.db", "--to", &url], &[PASSWORD]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("does not exist"), "{}", text(&missing.stderr));
    let no_password = hagios(&["store", "copy", "--from", sqlite, "--to", &url], &[]);
    assert_eq!(no_password.status.code(), Some(1), "no password, no connection");
    assert!(text(&no_password.stderr).contains("HAGIOS_STORE_PASSWORD"), "{}", text(&no_password.stderr));

    let copied = hagios(&["store", "copy", "--from", sqlite, "--to", &url], &[PASSWORD]);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    let report = text(&copied.stdout);
    assert!(report.contains("incidents: 1 rows") && report.contains("audit: 1 rows"), "{report}");
    let again = hagios(&["store", "copy", "--from", sqlite, "--to", &url], &[PASSWORD]);
    assert_eq!(again.status.code(), Some(1), "a used target is refused");
    assert!(text(&again.stderr).contains("new, empty database"), "{}", text(&again.stderr));

    // On PostgreSQL: the recovery goes into the thread opened before the move.
    with_url(&site.config, &url);
    let mut env = SLACK_TOKENS.to_vec();
    env.push(PASSWORD);
    let run = common::start_run(&site.config, &env);
    let posted_before = slack.bot_messages().len();
    site.nagios.submit_service_result("web01", "HTTP Load", 0, "OK - load 0.1");
    wait_for(&runtime, &slack, "the RECOVERY in the old thread", |_| reply_in(&slack, &alert, "RECOVERY"));
    wait_for(&runtime, &slack, "the parent edited to OK", |messages| {
        messages.iter().any(|m| m.ts == alert.ts && blocks(m).contains(":large_green_circle:"))
    });
    let new_parents: Vec<Message> =
        slack.bot_messages().into_iter().skip(posted_before).filter(|m| !m.is_reply()).collect();
    assert!(new_parents.is_empty(), "no new thread after the move: {new_parents:#?}");

    let audit = hagios(&["audit", "--config", site.config.to_str().expect("utf-8 path")], &[PASSWORD]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));
    assert!(text(&audit.stdout).contains("moving the store"), "the audit log moved: {}", text(&audit.stdout));
    stop(run);
}
