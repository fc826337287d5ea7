//! Shared by the binary's integration tests: a running `hagios` daemon (`run`, `bot`, `agent`)
//! whose terminal chat on stdin/stdout we type into and read, and a private Nagios whose
//! notifications go through `hagios notify` into a spool, with the configuration to serve it.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod split;
pub mod storm;

use hagios_testkit::{wait_until, NagiosInstance, NagiosOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Generous bound for anything that crosses the monitoring system (Nagios' status.dat is
/// rewritten every second; Icinga delivers some events 4–5 s late).
pub const PATIENCE: Duration = Duration::from_secs(20);
pub const HAGIOS: &str = env!("CARGO_BIN_EXE_hagios");

/// Chat configuration shared by the tests: the terminal user `oncall` may run every command;
/// anyone else is read-only. Append it to a configuration file.
pub fn oncall_chat() -> String {
    format!("\n[delivery]\npoll_interval = \"100ms\"\n{}", responder_chat("oncall"))
}

/// The `[[role]]` granting every acting command and the `[[user]]` holding it.
pub fn responder_chat(responder: &str) -> String {
    format!(
        r#"
[[role]]
name = "responder"
commands = ["ack", "unack", "downtime", "recheck", "mute", "unmute", "comment", "host", "snooze"]
objects = ["*"]

[[user]]
chat_id = "{responder}"
roles = ["responder"]
"#
    )
}

/// A running `hagios COMMAND --config FILE`; killed when dropped.
pub struct Daemon {
    child: Child,
    stdin: ChildStdin,
    screen: Arc<Mutex<String>>,
}

impl Daemon {
    pub fn start(command: &str, config: &Path) -> Daemon {
        Daemon::start_with_env(command, config, &[])
    }

    /// Like [`Daemon::start`], with extra environment variables (secrets the config names).
    pub fn start_with_env(command: &str, config: &Path, env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn(Command::new(HAGIOS), command, config, env)
    }

    /// Like [`Daemon::start`], as another user: `setpriv` with `credentials` (e.g.
    /// `--reuid=nobody`, `--groups=nagios,www-data`) runs hagios; needs root.
    pub fn start_as(credentials: &[&str], command: &str, config: &Path) -> Daemon {
        let mut setpriv = Command::new("setpriv");
        setpriv.args(credentials).arg(HAGIOS);
        Daemon::spawn(setpriv, command, config, &[])
    }

    /// `hagios_program COMMAND --config CONFIG` with `env`, its stdout read into the screen.
    fn spawn(mut hagios_program: Command, command: &str, config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut child = hagios_program
            .args([command, "--config"])
            .arg(config)
            .envs(env.iter().copied())
            .env("HAGIOS_LOG", "hagios=debug,hagios_link=debug,info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start hagios {command}: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let screen = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("screen lock").push_str(&(line + "\n"));
            }
        });
        Daemon { child, stdin, screen }
    }

    pub fn type_line(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("type into the terminal chat");
    }

    pub fn screen(&self) -> String {
        self.screen.lock().expect("screen lock").clone()
    }

    /// Waits for a message header line containing `needle`, and returns that message's id.
    pub fn wait_for_message(&self, needle: &str) -> String {
        wait_until(PATIENCE, || {
            self.screen().lines().find(|line| line.starts_with("[#") && line.contains(needle)).map(message_id)
        })
        .unwrap_or_else(|| panic!("no message containing {needle:?} within {PATIENCE:?}; screen:\n{}", self.screen()))
    }

    /// Waits until `needle` appears anywhere on the screen.
    pub fn wait_for_text(&self, needle: &str) {
        self.wait_for_text_within(PATIENCE, needle);
    }

    /// [`Self::wait_for_text`] for what may take longer than [`PATIENCE`].
    pub fn wait_for_text_within(&self, patience: Duration, needle: &str) {
        wait_until(patience, || self.screen().contains(needle).then_some(()))
            .unwrap_or_else(|| panic!("{needle:?} not shown within {patience:?}; screen:\n{}", self.screen()));
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`STOP`, `CONT`, `TERM`) to the daemon.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
        assert!(status.is_ok_and(|status| status.success()), "kill -{signal} {}", self.pid());
    }

    /// Whether the daemon is still running (a stopped one counts as running).
    pub fn running(&mut self) -> bool {
        self.child.try_wait().is_ok_and(|exited| exited.is_none())
    }

    /// The crash case: no chance to clean up. Returns what was on the screen.
    pub fn kill(mut self) -> String {
        self.child.kill().expect("kill -9 hagios");
        self.child.wait().expect("reap hagios");
        self.screen()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `[#12] …` or `[#12 in thread #3] …` → `12`.
pub fn message_id(header: &str) -> String {
    header.trim_start_matches("[#").chars().take_while(char::is_ascii_digit).collect()
}

/// Alert messages (not edits) whose header contains `needle`.
pub fn count_alerts(screen: &str, needle: &str) -> usize {
    screen.lines().filter(|line| line.starts_with("[#") && !line.contains("edited") && line.contains(needle)).count()
}

pub struct NagiosSite {
    pub nagios: NagiosInstance,
    pub config: PathBuf,
    pub spool: PathBuf,
    pub dir: tempfile::TempDir,
}

/// True when the test runs as root, as CI does; otherwise false after saying that the test is
/// skipped and why (`needs`), or a failure under `HAGIOS_REQUIRE_REAL=1`.
pub fn root_or_skip(needs: &str) -> bool {
    let output = Command::new("id").arg("-u").output().expect("run id -u");
    if String::from_utf8_lossy(&output.stdout).trim() == "0" {
        return true;
    }
    if std::env::var("HAGIOS_REQUIRE_REAL").is_ok_and(|value| value == "1") {
        panic!("HAGIOS_REQUIRE_REAL=1 but this test must run as root to {needs}");
    }
    eprintln!("skipping: {needs} needs root");
    false
}

/// contrib/nagios/hagios.cfg as an operator installs it: the binary and the spool put in.
pub fn contrib_snippet(spool: &Path) -> String {
    let snippet = include_str!("../../../../contrib/nagios/hagios.cfg");
    snippet
        .replace("/usr/bin/hagios-notify", &format!("{HAGIOS} notify"))
        .replace("/var/spool/hagios", &spool.display().to_string())
}

/// Starts Nagios and writes `hagios.toml` for it: `chat` holds the chat platform's sections
/// (and any routes), `responder` is the chat user id granted every acting command.
pub fn start_site(chat: &str, responder: &str) -> Option<NagiosSite> {
    start_site_with_objects(chat, responder, "")
}

/// [`start_site`] with `extra_objects` (Nagios object definitions) added to the fixture.
pub fn start_site_with_objects(chat: &str, responder: &str, extra_objects: &str) -> Option<NagiosSite> {
    start_site_notifying(
        chat,
        responder,
        NagiosOptions { extra_objects: extra_objects.into(), ..Default::default() },
        "",
    )
}

/// [`start_site`] whose notification command runs the shell line `also` after `hagios notify`.
pub fn start_site_also_running(chat: &str, responder: &str, also: &str) -> Option<NagiosSite> {
    start_site_notifying(chat, responder, NagiosOptions::default(), also)
}

/// [`start_site`] with a Nagios started with `options` (its notify command is `hagios notify`).
pub fn start_site_with(chat: &str, responder: &str, options: NagiosOptions) -> Option<NagiosSite> {
    start_site_notifying(chat, responder, options, "")
}

fn start_site_notifying(chat: &str, responder: &str, options: NagiosOptions, also: &str) -> Option<NagiosSite> {
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = dir.path().join("spool");
    let notify_command = notify_then(&format!("{HAGIOS} notify --spool {} --site test", spool.display()), also);
    let options = NagiosOptions { notify_command: Some(notify_command), ..options };
    let nagios = NagiosInstance::start(options)?;
    let config = write_config(dir.path(), &nagios_section(&nagios), chat, responder);
    Some(NagiosSite { nagios, config, spool, dir })
}

/// The notification command `notify`, followed by the shell line `also` when there is one (after
/// `&&`: in Nagios' object files `;` starts a comment).
pub fn notify_then(notify: &str, also: &str) -> String {
    match also {
        "" => notify.to_owned(),
        also => format!("{notify} && {also}"),
    }
}

/// [`start_site`] with the default route as a new user has it: no `[default_route]`, so what no
/// route takes is grouped.
pub fn start_stock_site(chat: &str, responder: &str) -> Option<NagiosSite> {
    let site = start_site(&format!("{chat}\n[default_route]\n"), responder)?;
    let text = std::fs::read_to_string(&site.config).expect("read hagios.toml");
    std::fs::write(&site.config, text.replace("[default_route]\n", "")).expect("write hagios.toml");
    Some(site)
}

/// The `[nagios]` section for `nagios`, site `test`; further `[nagios]` keys may follow it.
pub fn nagios_section(nagios: &NagiosInstance) -> String {
    nagios.hagios_section()
}

/// The default route for tests that follow single incidents: each notification no route takes
/// is posted on its own, at once (tests/storm.rs groups, on the stock default route too).
const SINGLE_ALERTS: &str = "[default_route]\ngrouping = false\n";

/// Writes `dir/hagios.toml`: store and spool (`dir/spool`) inside `dir`, the `backend` and `chat`
/// sections as given, fast spool polling, `responder` allowed every acting command, and unless
/// `chat` has a `[default_route]`, [`SINGLE_ALERTS`].
pub fn write_config(dir: &Path, backend: &str, chat: &str, responder: &str) -> PathBuf {
    let config = dir.join("hagios.toml");
    let default_route = if chat.contains("[default_route]") { "" } else { SINGLE_ALERTS };
    let text = format!(
        r#"
[store]
path = "{store}"

[spool]
dir = "{spool}"
{backend}
[delivery]
poll_interval = "100ms"
max_backoff = "2s"

{chat}
{default_route}
{roles}"#,
        roles = responder_chat(responder),
        store = dir.join("state.db").display(),
        spool = dir.join("spool").display(),
    );
    std::fs::write(&config, text).expect("write hagios.toml");
    config
}

/// Notifications waiting in the spool, and with several chat platforms in theirs.
pub fn spooled(spool: &Path) -> usize {
    let platforms = std::fs::read_dir(spool.join("platforms"))
        .map_or(0, |entries| entries.filter_map(Result::ok).map(|platform| spooled(&platform.path())).sum());
    platforms
        + std::fs::read_dir(spool.join("new")).map_or(0, |entries| {
            entries.filter_map(Result::ok).filter(|entry| entry.path().extension().is_some_and(|e| e == "json")).count()
        })
}

/// `hagios run --config FILE` with `env` (the chat platform's secrets), logging to stderr.
pub fn start_run(config: &Path, env: &[(&str, &str)]) -> Child {
    Command::new(HAGIOS)
        .args(["run", "--config"])
        .arg(config)
        .env("HAGIOS_LOG", "hagios=debug,info")
        .envs(env.iter().copied())
        .spawn()
        .expect("start hagios run")
}

/// kill -9 and start again: no chance to clean up or finish a delivery.
pub fn crash_and_restart(run: &mut Child, config: &Path, env: &[(&str, &str)]) {
    run.kill().expect("kill -9 hagios run");
    run.wait().expect("reap hagios run");
    *run = start_run(config, env);
}

/// How many notifications Nagios has sent so far (each runs `hagios notify` once).
pub fn notifications_sent(nagios: &NagiosInstance) -> usize {
    nagios.log().lines().filter(|line| line.contains(" NOTIFICATION: ")).count()
}

/// Waits until Nagios' status shows `host!service` acknowledged, and returns that status.
pub fn wait_for_service_ack(nagios: &NagiosInstance, host: &str, service: &str) -> hagios_domain::Status {
    let key = (host.to_owned(), service.to_owned());
    nagios
        .wait_for_state(PATIENCE * 2, |status| status.services.get(&key).is_some_and(|view| view.acknowledged))
        .unwrap_or_else(|| panic!("Nagios does not show {host}!{service} acknowledged"))
}

/// What `hagios audit` prints for the store of `config`.
pub fn audit(config: &Path) -> String {
    let output = Command::new(HAGIOS).args(["audit", "--config"]).arg(config).output().expect("hagios audit");
    assert!(output.status.success(), "hagios audit failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8 audit")
}

/// Waits until exactly `count` notifications wait in the spool.
pub fn wait_spooled(spool: &Path, count: usize) {
    wait_until(PATIENCE, || (spooled(spool) == count).then_some(()))
        .unwrap_or_else(|| panic!("expected {count} spooled, found {}", spooled(spool)));
}

/// Runs `hagios notify` as Nagios' notification command does, for a CRITICAL of `web01!service`
/// at `site`, spooled into `spool`.
pub fn notify_problem(spool: &Path, site: &str, service: &str) -> Output {
    Command::new(HAGIOS)
        .arg("notify")
        .arg("--spool")
        .arg(spool)
        .args(["--site", site, "--type", "PROBLEM", "--host", "web01", "--state", "CRITICAL"])
        .args(["--service", service, "--output", "CRITICAL - generated by the test"])
        .output()
        .expect("run hagios notify")
}

/// Environment variables for a test's knob (`HAGIOS_CHAOS_ALERTS=2000`), or `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map_or(default, |value| value.parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a whole number")))
}

/// The `[slack]` section for a bot talking to the fake Slack at `api_url`, alerts to `C0ALERTS`.
pub fn slack_chat(api_url: &str) -> String {
    format!("[slack]\napi_url = \"{api_url}\"\ndefault_channel = \"C0ALERTS\"\nsocket_connections = 1\n")
}

/// The tokens the fake Slack accepts, as the environment a bot reads them from.
pub const SLACK_TOKENS: [(&str, &str); 2] =
    [("SLACK_BOT_TOKEN", hagios_fakeslack::BOT_TOKEN), ("SLACK_APP_TOKEN", hagios_fakeslack::APP_TOKEN)];

/// Asserts that the bot's messages are exactly one alert per service in `services`: nothing lost,
/// nothing repeated, nothing else.
pub fn assert_one_alert_each(messages: &[hagios_fakeslack::Message], services: &[String]) {
    for service in services {
        let needle = format!("web01!{service} is CRITICAL");
        let posted = messages.iter().filter(|message| message.text.contains(&needle)).count();
        assert_eq!(posted, 1, "{needle} posted {posted} times");
    }
    assert_eq!(messages.len(), services.len(), "messages besides the alerts: {messages:#?}");
}

/// `GET path` on `address`: the status and the body.
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).expect("connect to /metrics");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").expect("request");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).expect("answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, body.to_owned())
}
