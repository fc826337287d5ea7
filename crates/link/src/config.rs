//! The link's sections: `[tls]` (this side's certificate and key, and the CA that signed the
//! peer), `[agent]` (the bot to dial and what this site allows) and `[bot]` (where agents
//! connect).

use crate::agent::{COMMAND_KINDS, DEFAULT_ALLOWED_KINDS};
use crate::quota::Quota;
use hagios_domain::config_text::duration;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The `[tls]` files, made by `hagios certs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `[agent]`: on the monitoring server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// `host:port` of the bot, or of each bot when several share one database; each bot's
    /// certificate must name its host.
    pub bot: Bots,
    /// The command kinds this site carries out when the bot asks; everything else is refused.
    #[serde(default = "default_allow")]
    pub allow: Vec<String>,
    /// How often to send a heartbeat; a bot silent for three of these is redialled.
    #[serde(default = "default_heartbeat", with = "duration")]
    pub heartbeat: Duration,
}

/// `bot = "host:port"`, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "OneOrMore")]
pub struct Bots(pub Vec<String>);

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMore {
    One(String),
    More(Vec<String>),
}

impl From<OneOrMore> for Bots {
    fn from(bots: OneOrMore) -> Self {
        match bots {
            OneOrMore::One(bot) => Bots(vec![bot]),
            OneOrMore::More(bots) => Bots(bots),
        }
    }
}

impl std::fmt::Display for Bots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

/// `[bot]`: where chat is reachable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// Address and port agents connect to.
    pub listen: String,
    #[serde(default = "default_heartbeat", with = "duration")]
    pub heartbeat: Duration,
    /// How long to wait for an agent's answer to a command; longer than its confirm_timeout.
    #[serde(default = "default_command_timeout", with = "duration")]
    pub command_timeout: Duration,
    /// How many notifications of one site may wait at the bot for chat; beyond it the site's
    /// agent is told to hold the rest (it keeps them) and chat gets one notice.
    #[serde(default = "default_quota_records")]
    pub quota_records: u64,
    /// How many MiB of one site's notifications may wait at the bot for chat.
    #[serde(default = "default_quota_mib")]
    pub quota_mib: u64,
}

impl AgentConfig {
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .allow
            .iter()
            .filter(|kind| !COMMAND_KINDS.contains(&kind.as_str()))
            .map(|kind| format!("[agent] allow lists unknown command `{kind}` (known: {})", COMMAND_KINDS.join(", ")))
            .collect();
        let bots = &self.bot.0;
        if bots.is_empty() {
            problems.push("[agent] bot is an empty list: name the bot to dial, \"bot.example.org:7443\"".to_owned());
        }
        for (index, bot) in bots.iter().enumerate() {
            if !bot.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()) {
                problems.push(format!("[agent] bot \"{bot}\" is not host:port, like \"bot.example.org:7443\""));
            } else if bots[..index].contains(bot) {
                problems.push(format!("[agent] bot lists \"{bot}\" twice"));
            }
        }
        problems
    }
}

impl BotConfig {
    pub fn problems(&self) -> Vec<String> {
        let listen = &self.listen;
        let mut problems = Vec::new();
        if listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!("[bot] listen = \"{listen}\" is not an address like \"0.0.0.0:7443\""));
        }
        for (key, value, default) in [
            ("quota_records", self.quota_records, default_quota_records()),
            ("quota_mib", self.quota_mib, default_quota_mib()),
        ] {
            if value == 0 {
                problems.push(format!(
                    "[bot] {key} = 0 lets no site deliver anything: use at least 1, or leave it out (default {default})"
                ));
            }
        }
        problems
    }

    /// How much of one site may wait at the bot.
    pub fn quota(&self) -> Quota {
        Quota::of(self.quota_records, self.quota_mib)
    }
}

/// The site an agent serves: the name its `[tls] cert` is issued for. `configured` (its
/// `[nagios] site`) may only repeat that name; the error says what to change.
pub fn agent_site(configured: Option<&str>, tls: &TlsConfig) -> Result<String, String> {
    let certified = crate::tls::own_site(tls).map_err(|e| e.to_string())?;
    match configured {
        Some(site) if site != certified => Err(format!(
            "[nagios] site = \"{site}\" but the agent certificate {} is issued for site `{certified}`, and the bot \
             accepts an agent only under its certificate's name: leave [nagios] site out (the agent then takes \
             `{certified}`), or issue a certificate for it with `hagios certs issue --role agent --name {site}`",
            tls.cert.display()
        )),
        _ => Ok(certified),
    }
}

fn default_allow() -> Vec<String> {
    DEFAULT_ALLOWED_KINDS.iter().map(|kind| (*kind).to_owned()).collect()
}

fn default_heartbeat() -> Duration {
    Duration::from_secs(10)
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(30)
}

/// Enough for a storm of 10,000 alerts at one site while chat is slow.
fn default_quota_records() -> u64 {
    20_000
}

fn default_quota_mib() -> u64 {
    256
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        let agent: AgentConfig = toml::from_str("bot = \"bot:7443\"\n").unwrap();
        assert_eq!(agent.bot, Bots(vec!["bot:7443".into()]));
        assert_eq!(agent.allow, DEFAULT_ALLOWED_KINDS);
        assert_eq!(agent.heartbeat, Duration::from_secs(10));
        let odd: AgentConfig = toml::from_str("bot = \"bot:7443\"\nallow = [\"ack\", \"reboot\"]\n").unwrap();
        assert!(odd.problems().join("\n").contains("unknown command `reboot`"));
        let bot: BotConfig = toml::from_str("listen = \"0.0.0.0:7443\"\n").unwrap();
        assert!(bot.problems().is_empty());
        assert_eq!(bot.command_timeout, Duration::from_secs(30));
        assert_eq!(bot.quota(), Quota::of(20_000, 256));
        let closed: BotConfig = toml::from_str("listen = \"0.0.0.0:7443\"\nquota_records = 0\n").unwrap();
        assert!(closed.problems()[0].contains("quota_records = 0 lets no site deliver"), "{:?}", closed.problems());
        let nowhere: BotConfig = toml::from_str("listen = \"everywhere\"\n").unwrap();
        assert!(nowhere.problems()[0].contains("not an address"));
    }

    #[test]
    fn an_agent_lists_one_bot_or_several() {
        let two: AgentConfig =
            toml::from_str("bot = [\"bot1.example.org:7443\", \"bot2.example.org:7443\"]\n").unwrap();
        assert_eq!(two.bot.0, ["bot1.example.org:7443", "bot2.example.org:7443"]);
        assert!(two.problems().is_empty(), "{:?}", two.problems());
        assert_eq!(two.bot.to_string(), "bot1.example.org:7443, bot2.example.org:7443");
        let odd: AgentConfig = toml::from_str("bot = [\"bot1:7443\", \"bot1:7443\", \"bot2\"]\n").unwrap();
        let problems = odd.problems().join("\n");
        assert!(
            problems.contains("\"bot1:7443\" twice") && problems.contains("\"bot2\" is not host:port"),
            "{problems}"
        );
        let none: AgentConfig = toml::from_str("bot = []\n").unwrap();
        assert!(none.problems()[0].contains("empty list"));
    }
}
