//! The split deployment for tests: a CA and certificates from `hagios certs`, one `hagios bot`
//! configuration, and sites — a private Nagios each, whose notify_command spools into the spool
//! of that site's `hagios agent`.

use super::{notify_then, write_config, Daemon, HAGIOS};
use hagios_testkit::{NagiosInstance, NagiosOptions};
use std::path::PathBuf;
use std::process::Command;

fn hagios(args: &[&str]) -> String {
    let output = Command::new(HAGIOS).args(args).output().expect("run hagios");
    assert!(output.status.success(), "hagios {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// A CA, the bots' certificate for `localhost`, and a port for each bot.
pub struct Deployment {
    dir: tempfile::TempDir,
    ports: Vec<u16>,
}

impl Deployment {
    pub fn new() -> Deployment {
        Deployment::with_bots(1)
    }

    /// A deployment of `count` bots sharing one store; every agent dials them all.
    pub fn with_bots(count: usize) -> Deployment {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = dir.path().join("pki");
        let pki = pki.to_str().expect("utf-8 path");
        assert!(hagios(&["certs", "init", "--dir", pki]).contains("ca.key"));
        hagios(&["certs", "issue", "--dir", pki, "--role", "bot", "--name", "localhost"]);
        let ports = (0..count).map(|_| hagios_testkit::free_port()).collect();
        Deployment { dir, ports }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tls(&self, name: &str) -> String {
        let pki = self.path("pki");
        format!(
            "[tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            pki.join("ca.crt").display(),
            pki.join(format!("{name}.crt")).display(),
            pki.join(format!("{name}.key")).display()
        )
    }

    /// The bot's configuration with the terminal chat: terminal user `oncall` may do everything.
    pub fn bot_config(&self) -> PathBuf {
        self.bot_config_with("[terminal]\nuser = \"oncall\"\n")
    }

    /// The bot's configuration (`bot/hagios.toml`) with `chat`, the chat platform's sections and
    /// routes; user `oncall` may do everything.
    pub fn bot_config_with(&self, chat: &str) -> PathBuf {
        self.bot_config_of(0, "", chat)
    }

    /// [`Deployment::bot_config_with`] with more `[bot]` keys.
    pub fn bot_config_keys(&self, bot_keys: &str, chat: &str) -> PathBuf {
        self.bot_config_of(0, bot_keys, chat)
    }

    /// Bot `index`'s configuration (in `bot/`, `bot1/`, …) with `bot_keys` in `[bot]`, like
    /// [`Deployment::bot_config_with`].
    pub fn bot_config_of(&self, index: usize, bot_keys: &str, chat: &str) -> PathBuf {
        let dir = self.path(&Self::bot_dir(index));
        std::fs::create_dir_all(&dir).expect("create the bot's folder");
        let listener = format!(
            "[bot]\nlisten = \"127.0.0.1:{port}\"\nheartbeat = \"1s\"\n{bot_keys}{tls}",
            port = self.ports[index],
            tls = self.tls("localhost"),
        );
        write_config(&dir, &listener, chat, "oncall")
    }

    fn bot_dir(index: usize) -> String {
        if index == 0 {
            "bot".to_owned()
        } else {
            format!("bot{index}")
        }
    }

    /// The bot's own spool, where stored notifications wait for chat.
    pub fn bot_spool(&self) -> PathBuf {
        self.path("bot").join("spool")
    }

    /// A Nagios for `site` (with `extra_objects`), its agent's configuration and the agent.
    pub fn site(&self, site: &str, extra_objects: &str, allow: &str) -> Option<Site> {
        let options = NagiosOptions { extra_objects: extra_objects.to_owned(), ..Default::default() };
        self.site_with(site, options, allow, "", lab_keys)
    }

    /// [`Deployment::site`] whose notification command runs the shell line `also` after
    /// `hagios notify`.
    pub fn site_also_running(&self, site: &str, allow: &str, also: &str) -> Option<Site> {
        let options = NagiosOptions::default();
        self.site_with(site, options, allow, also, lab_keys)
    }

    /// A Nagios for `site` writing status.dat every 10 s as Debian ships it, served by an agent
    /// whose `[nagios]` section is what an operator writes for it (its nagios.cfg named, nothing
    /// overridden).
    pub fn stock_site(&self, site: &str, allow: &str) -> Option<Site> {
        self.site_writing_every(site, allow, 10)
    }

    /// [`Deployment::stock_site`] with Nagios writing status.dat every `seconds` s.
    pub fn site_writing_every(&self, site: &str, allow: &str, seconds: u32) -> Option<Site> {
        let options = NagiosOptions { status_update_interval: Some(seconds), ..Default::default() };
        self.site_with(site, options, allow, "", |nagios| {
            format!(
                "main_config = \"{}\"\ncommand_file = \"{}\"\nstatus_file = \"{}\"\nobject_cache_file = \"{}\"\n",
                nagios.config_file().display(),
                nagios.command_file().display(),
                nagios.status_file().display(),
                nagios.object_cache_file().display(),
            )
        })
    }

    /// A Nagios for `site` started with `options`, its notification command spooling into the
    /// agent's spool and then running the shell line `also`; the agent's configuration with the
    /// `[nagios]` keys `nagios_keys` gives; and the agent.
    fn site_with(
        &self,
        site: &str,
        options: NagiosOptions,
        allow: &str,
        also: &str,
        nagios_keys: impl FnOnce(&NagiosInstance) -> String,
    ) -> Option<Site> {
        self.issue_agent(site);
        let spool = self.path(&format!("{site}-spool"));
        let notify_command = notify_then(&format!("{HAGIOS} notify --spool {} --site {site}", spool.display()), also);
        let nagios = NagiosInstance::start(NagiosOptions { notify_command: Some(notify_command), ..options })?;
        let config = self.agent_config(site, &nagios_keys(&nagios), allow);
        let agent = Some(Daemon::start("agent", &config));
        Some(Site { nagios, spool, config, agent })
    }

    /// An agent certificate for `site` from `hagios certs`.
    pub fn issue_agent(&self, site: &str) {
        let pki = self.path("pki");
        hagios(&["certs", "issue", "--dir", pki.to_str().expect("utf-8"), "--role", "agent", "--name", site]);
    }

    /// `site`'s agent configuration with `nagios_keys` in `[nagios]`; like an operator's, it names
    /// no `[nagios] site` (the agent takes its certificate's name) unless `nagios_keys` does.
    pub fn agent_config(&self, site: &str, nagios_keys: &str, allow: &str) -> PathBuf {
        let config = self.path(&format!("{site}.toml"));
        let text = format!(
            r#"
[spool]
dir = "{spool}"
[nagios]
{nagios_keys}
[delivery]
poll_interval = "100ms"
max_backoff = "1s"
[agent]
bot = [{bots}]
heartbeat = "1s"
allow = {allow}
{tls}"#,
            spool = self.path(&format!("{site}-spool")).display(),
            bots = self.ports.iter().map(|port| format!("\"localhost:{port}\"")).collect::<Vec<_>>().join(", "),
            tls = self.tls(site),
        );
        std::fs::write(&config, text).expect("write agent config");
        config
    }
}

pub struct Site {
    pub nagios: NagiosInstance,
    /// The agent's spool, where the site's `hagios notify` writes.
    pub spool: PathBuf,
    config: PathBuf,
    agent: Option<Daemon>,
}

impl Site {
    pub fn spooled(&self) -> usize {
        super::spooled(&self.spool)
    }

    /// kill -9 the agent: the site stops answering the bot.
    pub fn stop_agent(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.kill();
        }
    }

    /// kill -9 the agent (no chance to finish anything) and start it again.
    pub fn crash_and_restart_agent(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.kill();
        }
        self.agent = Some(Daemon::start("agent", &self.config));
    }
}

/// The agent's `[nagios]` keys for a lab instance: its files, and 15 s for a command's final word.
fn lab_keys(nagios: &NagiosInstance) -> String {
    format!(
        "command_file = \"{}\"\nstatus_file = \"{}\"\nobject_cache_file = \"{}\"\nconfirm_timeout = \"15s\"\n",
        nagios.command_file().display(),
        nagios.status_file().display(),
        nagios.object_cache_file().display(),
    )
}

/// Every command an agent may allow from chat.
pub const EVERYTHING: &str = r#"["ack", "unack", "downtime", "recheck", "mute", "unmute", "comment"]"#;
