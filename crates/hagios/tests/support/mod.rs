//! What the end-to-end tests of `hagios run` share: the bot process with its terminal chat on
//! piped stdin/stdout, and readers of what it printed.
// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use hagios_testkit::wait_until;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Generous bound for anything that crosses the monitoring system (Nagios' status.dat is
/// rewritten every second; Icinga delivers some events 4–5 s late).
pub const PATIENCE: Duration = Duration::from_secs(20);
pub const HAGIOS: &str = env!("CARGO_BIN_EXE_hagios");

/// Writes `hagios.toml` into `dir`: store and spool inside `dir` (the spool at `dir/spool`), the
/// `backend` section as given, terminal input attributed to `terminal_user`, fast spool polling,
/// and the user `oncall` allowed every action command on every object.
pub fn write_config(dir: &Path, backend: &str, terminal_user: &str) -> PathBuf {
    let config = dir.join("hagios.toml");
    let text = format!(
        r#"
[store]
path = "{store}"

[spool]
dir = "{spool}"
{backend}
[terminal]
user = "{terminal_user}"

[delivery]
poll_interval = "100ms"

[[role]]
name = "responder"
commands = ["ack", "unack", "downtime", "recheck", "mute", "unmute", "comment", "host"]
objects = ["*"]

[[user]]
chat_id = "oncall"
roles = ["responder"]
"#,
        store = dir.join("state.db").display(),
        spool = dir.join("spool").display(),
    );
    std::fs::write(&config, text).expect("write hagios.toml");
    config
}

/// A running `hagios run` whose terminal chat we type into and read.
pub struct Bot {
    child: Child,
    stdin: ChildStdin,
    screen: Arc<Mutex<String>>,
}

impl Bot {
    pub fn start(config: &Path) -> Bot {
        Bot::start_with_env(config, &[])
    }

    /// Like [`Bot::start`], with extra environment variables (secrets named by the config).
    pub fn start_with_env(config: &Path, env: &[(&str, &str)]) -> Bot {
        let mut child = Command::new(HAGIOS)
            .args(["run", "--config"])
            .arg(config)
            .envs(env.iter().copied())
            .env("HAGIOS_LOG", "hagios=debug,info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start hagios run");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let screen = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("screen lock").push_str(&(line + "\n"));
            }
        });
        Bot { child, stdin, screen }
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
        wait_until(PATIENCE, || self.screen().contains(needle).then_some(()))
            .unwrap_or_else(|| panic!("{needle:?} not shown within {PATIENCE:?}; screen:\n{}", self.screen()));
    }

    /// The crash case: no chance to clean up.
    pub fn kill(mut self) -> String {
        self.child.kill().expect("kill -9 hagios run");
        self.child.wait().expect("reap hagios run");
        self.screen()
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `[#12] …` or `[#12 in thread #3] …` → `12`.
pub fn message_id(header: &str) -> String {
    header.trim_start_matches("[#").chars().take_while(char::is_ascii_digit).collect()
}

pub fn count_alerts(screen: &str, needle: &str) -> usize {
    screen.lines().filter(|line| line.starts_with("[#") && !line.contains("edited") && line.contains(needle)).count()
}
