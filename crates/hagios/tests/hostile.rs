//! Hostile text from chat, end to end through every entry point that carries it: the terminal,
//! Slack (mention, direct message, slash command, button), Matrix (message in a thread,
//! reaction) and the link from a bot to an agent, each against a real, private Nagios whose
//! notification command hands the author and comment to `sh`, quoted both ways as sites write
//! it. The attacks come from a person whose role allows every command — a stranger's are refused
//! before they are read (tests/run.rs, tests/matrix.rs) — and their display name is hostile too.
//! Afterwards: no injected command ran, every call of the notification command received exactly
//! its two words, all inert; Nagios stored only cleaned text, read no external command that
//! hagios did not render (no RESTART_PROGRAM, no SHUTDOWN_PROGRAM), and is still running; names
//! holding a separator matched nothing; the acknowledgements the attacks carried did happen (so
//! the text did reach Nagios); and the audit log holds every message, printable.

mod common;

use common::split::{Deployment, EVERYTHING};
use common::{Daemon, PATIENCE};
use hagios_fakeslack::FakeSlack;
use hagios_testkit::{wait_until, NagiosInstance, ShellCapture, SynapseInstance, SynapseOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Child;

/// The services the attacks acknowledge, CRITICAL before they start.
const ACKNOWLEDGED: [(&str, &str); 4] =
    [("web01", "HTTP"), ("web01", "Disk"), ("web01", "HTTP Load"), ("db01", "MySQL")];
/// The alert buttons and reactions act on.
const PRESSED: (&str, &str) = ("db01", "Load");
/// A display name made to break out of a double-quoted author, clear the operator's screen and
/// flip the text after it.
const HOSTILE_NAME: &str = "a\\ \u{1b}[2J\u{202e}eve";
/// What the shell acts on in a quoted or bare argument, and Nagios' field separator.
const SHELL_SYNTAX: &[char] = &[';', '\'', '"', '`', '$', '\\', '|', '&', '<', '>', '(', ')', '#'];

/// The attacks, one chat message each; `capture` names the files an injected command would make.
fn attacks(capture: &ShellCapture) -> Vec<String> {
    let marker = |n| capture.marker(n).display().to_string();
    vec![
        // A trailing backslash escapes the closing quote of a double-quoted macro.
        "ack web01 HTTP breaks quoting\\".into(),
        format!("ack web01 Disk {}", capture.injected(2)),
        format!("ack web01 \"HTTP Load\" x' ; id > {} ; '", marker(3)),
        format!("ack db01 MySQL \"$(id > {})\"", marker(4)),
        format!("downtime web01 2h `id > {}`", marker(5)),
        // A second external command after a newline, or after Nagios' separator.
        "comment web01 HTTP x\n[1700000000] RESTART_PROGRAM".into(),
        "comment web01 HTTP x;RESTART_PROGRAM\r\0 done".into(),
        "comment web01 HTTP \u{1b}[2J\u{202e}flipped $HOSTADDRESS$ $USER1$ &".into(),
        "ack web01;RESTART_PROGRAM HTTP".into(),
        "recheck web01!HTTP;SHUTDOWN_PROGRAM".into(),
    ]
}

/// A private Nagios for one entry point, whose notification command spools for hagios and then
/// passes the author and comment through the shell to `capture`.
struct Target {
    nagios: NagiosInstance,
    capture: ShellCapture,
    pid: i32,
}

impl Target {
    fn also_run(capture: &ShellCapture) -> String {
        capture.shell_line("$NOTIFICATIONAUTHOR$", "$NOTIFICATIONCOMMENT$")
    }

    fn new(nagios: NagiosInstance, capture: ShellCapture) -> Target {
        let pid = nagios.pid().expect("Nagios runs");
        Target { nagios, capture, pid }
    }

    /// The problems the attacks and the buttons act on.
    fn raise_problems(&self) {
        for (host, service) in ACKNOWLEDGED.iter().chain([&PRESSED]) {
            self.nagios.submit_service_result(host, service, 2, "CRITICAL - under attack");
        }
        self.nagios
            .wait_for_state(PATIENCE, |status| {
                ACKNOWLEDGED.iter().chain([&PRESSED]).all(|(host, service)| {
                    status
                        .services
                        .get(&(host.to_string(), service.to_string()))
                        .is_some_and(|view| view.state.is_problem())
                })
            })
            .expect("Nagios shows every problem");
    }

    /// After everything sent was answered (`audited` is its audit log): nothing acted.
    fn assert_nothing_acted(&self, audit: &str, messages: usize, who: &str) {
        let theirs = audit.lines().filter(|line| line.contains(who)).count();
        assert_eq!(theirs, messages, "every message audited once:\n{audit}");
        assert!(!audit.chars().any(|c| c.is_control() && c != '\n' || c == '\u{202e}'), "{audit:?}");

        // Nagios runs external commands in the order they reach its pipe: once a check result
        // sent after everything shows, what hagios wrote is in status.dat too.
        self.nagios.submit_service_result("web01", "Disk", 2, "DISK CRITICAL - barrier");
        let status = self
            .nagios
            .wait_for_state(PATIENCE, |status| {
                status.services[&("web01".into(), "Disk".into())].output.contains("barrier")
                    && ACKNOWLEDGED.iter().all(|(h, s)| status.services[&(h.to_string(), s.to_string())].acknowledged)
            })
            .unwrap_or_else(|| panic!("the attacks' acknowledgements reached Nagios; audit:\n{audit}"));
        assert_eq!(self.nagios.pid(), Some(self.pid), "Nagios still runs, never restarted");
        let log = self.nagios.log();
        for forbidden in ["EXTERNAL COMMAND: RESTART_PROGRAM", "EXTERNAL COMMAND: SHUTDOWN_PROGRAM", "Unrecognized"] {
            assert!(!log.contains(forbidden), "{forbidden} in Nagios' log:\n{log}");
        }
        for comment in &status.comments {
            assert!(inert(&comment.text) && inert(&comment.author), "{comment:#?}");
        }
        for downtime in &status.downtimes {
            assert!(inert(&downtime.comment) && inert(&downtime.author), "{downtime:#?}");
        }

        // Each notification ran the recorder twice (double, then single quotes).
        let notifications = || notifications_in(&self.nagios.log());
        let calls = wait_until(PATIENCE, || {
            let (calls, (all, acknowledgements)) = (self.capture.calls(), notifications());
            (acknowledgements >= ACKNOWLEDGED.len() && calls.len() == 2 * all).then_some(calls)
        })
        .unwrap_or_else(|| panic!("{} calls for {:?} notifications", self.capture.calls().len(), notifications()));
        for call in &calls {
            assert_eq!(call.len(), 2, "one word each for author and comment: {call:?}");
            assert!(call.iter().all(|word| inert(word)), "{call:?}");
        }
        assert!(calls.iter().any(|call| call[1].starts_with("breaks quoting")), "{calls:?}");
        assert_eq!(self.capture.markers_made(), Vec::<PathBuf>::new(), "injected commands ran");
    }
}

/// Holds no shell syntax, no control character: one inert word in any quoting.
fn inert(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() || SHELL_SYNTAX.contains(&c))
}

/// The notifications Nagios' log shows, and how many of them were acknowledgements.
fn notifications_in(log: &str) -> (usize, usize) {
    let sent: Vec<&str> = log.lines().filter(|line| line.contains(" NOTIFICATION: ")).collect();
    (sent.len(), sent.iter().filter(|line| line.contains(";ACKNOWLEDGEMENT")).count())
}

/// Waits until the audit log holds `count` lines of `who`, and returns it.
fn wait_audited(config: &Path, who: &str, count: usize) -> String {
    wait_until(PATIENCE * 2, || {
        let audit = common::audit(config);
        (audit.lines().filter(|line| line.contains(who)).count() >= count).then_some(audit)
    })
    .unwrap_or_else(|| panic!("{count} audit lines of {who}:\n{}", common::audit(config)))
}

#[test]
fn the_terminal_carries_every_attack_and_none_acts() {
    let capture = ShellCapture::new();
    let chat = "[terminal]\nuser = \"oncall\"\n";
    let Some(site) = common::start_site_also_running(chat, "oncall", &Target::also_run(&capture)) else { return };
    let target = Target::new(site.nagios, capture);
    let mut run = Daemon::start("run", &site.config);
    target.raise_problems();
    let mut lines = 0;
    for attack in attacks(&target.capture) {
        // A newline ends a terminal line: the rest arrives as a message of its own.
        lines += attack.lines().count();
        run.type_line(&attack);
    }
    let audit = wait_audited(&site.config, " terminal oncall(", lines);
    target.assert_nothing_acted(&audit, lines, " terminal oncall(");
}

#[test]
fn the_link_carries_every_attack_to_the_agent_and_none_acts() {
    let deployment = Deployment::new();
    let config = deployment.bot_config();
    let mut bot = Daemon::start("bot", &config);
    let capture = ShellCapture::new();
    let Some(east) = deployment.site_also_running("east", EVERYTHING, &Target::also_run(&capture)) else { return };
    let target = Target::new(east.nagios, capture);
    target.raise_problems();
    bot.wait_for_message("PROBLEM web01!HTTP is CRITICAL");
    let mut lines = 0;
    for attack in attacks(&target.capture) {
        lines += attack.lines().count();
        bot.type_line(&attack);
    }
    let audit = wait_audited(&config, " terminal oncall(", lines);
    target.assert_nothing_acted(&audit, lines, " terminal oncall(");
}

const ONCALL: &str = "U0ONCALL";
const STRANGER: &str = "U0STRANGER";

/// `hagios run` with the fake Slack, whose person holding the role has a hostile display name.
struct SlackSite {
    target: Target,
    slack: FakeSlack,
    runtime: tokio::runtime::Runtime,
    config: PathBuf,
    _run: KilledOnDrop,
    _dir: tempfile::TempDir,
}

impl SlackSite {
    fn start() -> Option<SlackSite> {
        let runtime = tokio::runtime::Runtime::new().expect("runtime for the fake Slack");
        let slack = runtime.block_on(FakeSlack::start(&[("C0ALERTS", "alerts"), ("D0ONCALL", "oncall")]));
        slack.add_user(ONCALL, HOSTILE_NAME);
        slack.add_user(STRANGER, "Mallory");
        let capture = ShellCapture::new();
        let chat = common::slack_chat(&slack.api_url());
        let site = common::start_site_also_running(&chat, ONCALL, &Target::also_run(&capture))?;
        let run = KilledOnDrop(common::start_run(&site.config, &common::SLACK_TOKENS));
        runtime.block_on(slack.wait_connected(PATIENCE));
        let target = Target::new(site.nagios, capture);
        Some(SlackSite { target, slack, runtime, config: site.config, _run: run, _dir: site.dir })
    }

    /// Sends each attack with `send`, then checks that none acted.
    fn attack(&self, send: impl Fn(&FakeSlack, &str) -> String) {
        self.target.raise_problems();
        let attacks = attacks(&self.target.capture);
        for attack in &attacks {
            let envelope = send(&self.slack, attack);
            assert!(self.runtime.block_on(self.slack.wait_ack(&envelope, PATIENCE)).in_time);
        }
        let who = format!(" slack {ONCALL}(");
        let audit = wait_audited(&self.config, &who, attacks.len());
        self.target.assert_nothing_acted(&audit, attacks.len(), &who);
    }
}

struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn slack_mentions_and_buttons_carry_every_attack_and_none_acts() {
    let Some(site) = SlackSite::start() else { return };
    site.attack(|slack, text| slack.mention(ONCALL, "C0ALERTS", None, text));

    // The buttons carry no text, only who pressed them: the hostile name, and a stranger.
    let needle = format!("{}!{} is CRITICAL", PRESSED.0, PRESSED.1);
    site.runtime.block_on(site.slack.wait_until("the pressed alert", PATIENCE, |fake| {
        fake.bot_messages().iter().any(|m| !m.is_reply() && m.text.contains(&needle))
    }));
    let alert = site.slack.bot_messages().into_iter().find(|m| !m.is_reply() && m.text.contains(&needle)).unwrap();
    site.slack.press_button(STRANGER, "C0ALERTS", &alert.ts, "hagios_ack");
    site.slack.press_button(ONCALL, "C0ALERTS", &alert.ts, "hagios_ack");
    let refused = wait_audited(&site.config, &format!(" slack {STRANGER}("), 1);
    assert!(refused.contains(&format!(" slack {STRANGER}(Mallory) refused ack")), "{refused}");
    let key = (PRESSED.0.to_owned(), PRESSED.1.to_owned());
    let status = site.target.nagios.wait_for_state(PATIENCE, |status| status.services[&key].acknowledged);
    let ack = status
        .expect("the button acknowledged")
        .comments
        .into_iter()
        .find(|c| c.object.service.as_deref() == Some(PRESSED.1));
    let ack = ack.expect("the button's acknowledgement comment");
    assert_eq!(ack.author, ONCALL, "the author is who pressed, by an id no one chooses");
    let (who, messages) = (format!(" slack {ONCALL}("), attacks(&site.target.capture).len() + 1);
    site.target.assert_nothing_acted(&wait_audited(&site.config, &who, messages), messages, &who);
}

#[test]
fn slack_direct_messages_carry_every_attack_and_none_acts() {
    let Some(site) = SlackSite::start() else { return };
    site.attack(|slack, text| slack.direct_message(ONCALL, "D0ONCALL", text));
}

#[test]
fn slack_slash_commands_carry_every_attack_and_none_acts() {
    let Some(site) = SlackSite::start() else { return };
    site.attack(|slack, text| slack.slash_command(ONCALL, "C0ALERTS", text));
}

#[test]
fn matrix_messages_and_reactions_carry_every_attack_and_none_acts() {
    let Some(synapse) = SynapseInstance::start(SynapseOptions::default()) else { return };
    let bot = synapse.register("hagios", "bot-password");
    let oncall = synapse.register("oncall", "oncall-password");
    let stranger = synapse.register("mallory", "mallory-password");
    let name = format!("/profile/{}/displayname", hagios_testkit::url_encode(&oncall.user_id));
    oncall.call("PUT", &name, Some(json!({ "displayname": HOSTILE_NAME })));
    let room = oncall.create_room(&[&bot.user_id, &stranger.user_id], json!({ "name": "alerts" }));
    stranger.join(&room);
    let chat = format!(
        "[matrix]\nhomeserver = \"{}\"\nuser = \"{}\"\ndefault_room = \"{room}\"\naccess_token_env = \"HOSTILE_MATRIX_TOKEN\"\n",
        synapse.url(),
        bot.user_id
    );
    let capture = ShellCapture::new();
    let Some(site) = common::start_site_also_running(&chat, &oncall.user_id, &Target::also_run(&capture)) else {
        return;
    };
    let _run = KilledOnDrop(common::start_run(&site.config, &[("HOSTILE_MATRIX_TOKEN", bot.token.as_str())]));
    let target = Target::new(site.nagios, capture);
    target.raise_problems();
    let alert = |needle: &str| {
        let needle = needle.to_owned();
        wait_until(PATIENCE, || {
            oncall.messages(&room).into_iter().find_map(|m| {
                let body = m["content"]["body"].as_str().unwrap_or_default();
                (m["sender"] == bot.user_id.as_str() && body.contains(&needle))
                    .then(|| m["event_id"].as_str().unwrap_or_default().to_owned())
            })
        })
        .unwrap_or_else(|| panic!("no alert {needle}"))
    };
    let thread = alert("PROBLEM web01!HTTP is CRITICAL");
    let attacks = attacks(&target.capture);
    for attack in &attacks {
        oncall.send_text(&room, Some(&thread), &format!("hagios: {attack}"));
    }
    let pressed = alert(&format!("{}!{} is CRITICAL", PRESSED.0, PRESSED.1));
    stranger.react(&room, &pressed, "✅");
    oncall.react(&room, &pressed, "✅");
    let who = format!(" matrix {}(", oncall.user_id);
    let audit = wait_audited(&site.config, &who, attacks.len() + 1);
    assert!(audit.contains(&format!(" matrix {}(", stranger.user_id)), "{audit}");
    target.assert_nothing_acted(&audit, attacks.len() + 1, &who);
}
