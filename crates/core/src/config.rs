//! The TOML configuration file (`--config` or `HAGIOS_CONFIG`): types, loading and the checks
//! behind `hagios config check`. Every key is documented in docs/configuration.md.

use hagios_domain::{NotificationType, State};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub spool: SpoolConfig,
    pub nagios: Option<NagiosConfig>,
    pub icinga: Option<IcingaConfig>,
    #[serde(default)]
    pub terminal: TerminalConfig,
    /// Slack instead of the terminal when present.
    pub slack: Option<SlackConfig>,
    /// Matrix instead of the terminal when present; with `[slack]` too, every notification
    /// goes to both.
    pub matrix: Option<MatrixConfig>,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub commands: CommandsConfig,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    /// Recurring windows during which matching notifications are held (docs/mute.md).
    #[serde(default, rename = "mute")]
    pub mutes: Vec<crate::mute::MuteConfig>,
    #[serde(default, rename = "role")]
    pub roles: Vec<RoleConfig>,
    #[serde(default, rename = "user")]
    pub users: Vec<UserConfig>,
    /// Split deployment: this side's certificate and key, and the CA that signed the peer.
    pub tls: Option<TlsConfig>,
    /// Split deployment, monitoring server: the bot to dial and what this site allows.
    pub agent: Option<AgentConfig>,
    /// Split deployment, chat side: where agents connect.
    pub bot: Option<BotConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsConfig {
    pub fn files(&self) -> hagios_link::tls::TlsFiles {
        hagios_link::tls::TlsFiles { ca: self.ca.clone(), cert: self.cert.clone(), key: self.key.clone() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// `host:port` of the bot; the bot's certificate must name that host.
    pub bot: String,
    /// The command kinds this site carries out when the bot asks; everything else is refused.
    #[serde(default = "default_allow")]
    pub allow: Vec<String>,
    /// How often to send a heartbeat; a bot silent for three of these is redialled.
    #[serde(default = "default_heartbeat", with = "humantime_serde_compat")]
    pub heartbeat: Duration,
}

fn default_allow() -> Vec<String> {
    hagios_link::agent::DEFAULT_ALLOWED_KINDS.iter().map(|kind| (*kind).to_owned()).collect()
}

fn default_heartbeat() -> Duration {
    Duration::from_secs(10)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// Address and port agents connect to.
    pub listen: String,
    #[serde(default = "default_heartbeat", with = "humantime_serde_compat")]
    pub heartbeat: Duration,
    /// How long to wait for an agent's answer to a command; longer than its confirm_timeout.
    #[serde(default = "default_command_timeout", with = "humantime_serde_compat")]
    pub command_timeout: Duration,
}

fn default_command_timeout() -> Duration {
    Duration::from_secs(30)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// How long deliveries, closed incidents and groups, attempts and ended snoozes are kept
    /// (what goes and what never does: crates/store/src/retention.rs).
    #[serde(default = "default_keep", with = "humantime_serde_compat")]
    pub keep: Duration,
    /// How long the audit log is kept; forever when left out.
    #[serde(default, deserialize_with = "humantime_serde_compat::optional")]
    pub keep_audit: Option<Duration>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { path: default_store_path(), keep: default_keep(), keep_audit: None }
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("/var/lib/hagios/state.db")
}

fn default_keep() -> Duration {
    Duration::from_secs(90 * 86_400)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    pub dir: PathBuf,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self { dir: PathBuf::from("/var/spool/hagios") }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NagiosConfig {
    /// The site name shown in chat and stored with incidents.
    #[serde(default = "default_site")]
    pub site: String,
    pub command_file: PathBuf,
    pub status_file: PathBuf,
    pub object_cache_file: PathBuf,
    /// How long to watch status.dat for the effect of a command before answering "not yet confirmed".
    #[serde(default = "default_confirm_timeout", with = "humantime_serde_compat")]
    pub confirm_timeout: Duration,
    /// The folder `host add` writes into (included by `cfg_dir` in nagios.cfg); without it hosts
    /// cannot be added or removed from chat.
    pub managed_dir: Option<PathBuf>,
    /// nagios.cfg, checked as a whole before every reload.
    #[serde(default = "default_nagios_main_config")]
    pub main_config: PathBuf,
    /// Run as `nagios_binary -v main_config` before every reload.
    #[serde(default = "default_nagios_binary")]
    pub nagios_binary: PathBuf,
    /// Program and arguments that reload Nagios, e.g. `["systemctl", "reload", "nagios4"]`;
    /// left out, hagios sends RESTART_PROGRAM through command_file.
    pub reload_command: Option<Vec<String>>,
    /// How long to wait for objects.cache and status.dat to show a host change after a reload.
    #[serde(default = "default_reload_timeout", with = "humantime_serde_compat")]
    pub reload_timeout: Duration,
}

fn default_nagios_main_config() -> PathBuf {
    PathBuf::from(hagios_monitor::nagios::managed::DEFAULT_MAIN_CONFIG)
}

fn default_nagios_binary() -> PathBuf {
    PathBuf::from(hagios_monitor::nagios::managed::DEFAULT_NAGIOS_BINARY)
}

fn default_reload_timeout() -> Duration {
    Duration::from_secs(30)
}

/// An Icinga 2 site reached through its REST API (instead of [nagios]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcingaConfig {
    #[serde(default = "default_site")]
    pub site: String,
    /// `https://icinga.example.com:5665`
    pub url: String,
    /// API user for password login; leave out with client_cert/client_key.
    pub user: Option<String>,
    /// The environment variable holding the API user's password.
    #[serde(default = "default_icinga_password_env")]
    pub password_env: String,
    /// The CA that signed the API certificate; the system roots when left out.
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Name of the event-stream queue; distinct per hagios process talking to one Icinga.
    #[serde(default = "default_icinga_queue")]
    pub event_queue: String,
    #[serde(default = "default_confirm_timeout", with = "humantime_serde_compat")]
    pub confirm_timeout: Duration,
}

fn default_icinga_password_env() -> String {
    "HAGIOS_ICINGA_PASSWORD".to_owned()
}

fn default_icinga_queue() -> String {
    "hagios".to_owned()
}

impl IcingaConfig {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            problems.push(format!("[icinga] url `{}` must be like https://icinga.example.com:5665", self.url));
        }
        match (&self.user, &self.client_cert, &self.client_key) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            (None, None, None) => problems.push(
                "[icinga] needs a login: user (password in password_env) or client_cert and client_key".to_owned(),
            ),
            (_, Some(_), None) | (_, None, Some(_)) => {
                problems.push("[icinga] client_cert and client_key go together: set both".to_owned())
            }
            (Some(_), Some(_), Some(_)) => {
                problems.push("[icinga] set either user or client_cert/client_key, not both".to_owned())
            }
        }
        problems
    }
}

fn default_site() -> String {
    "local".to_owned()
}

fn default_confirm_timeout() -> Duration {
    Duration::from_secs(5)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalConfig {
    /// The chat user id that terminal input is attributed to; grant it roles with `[[user]]`.
    #[serde(default = "default_terminal_user")]
    pub user: String,
}

fn default_terminal_user() -> String {
    "local".to_owned()
}

impl Default for TerminalConfig {
    fn default() -> Self {
        Self { user: default_terminal_user() }
    }
}

/// Slack over Socket Mode; the tokens themselves stay in the environment, never in this file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The environment variable holding the bot token (`xoxb-…`).
    #[serde(default = "default_bot_token_env")]
    pub bot_token_env: String,
    /// The environment variable holding the app-level token (`xapp-…`, scope `connections:write`).
    #[serde(default = "default_app_token_env")]
    pub app_token_env: String,
    /// The Web API base; only tests point it elsewhere.
    #[serde(default = "default_slack_api_url")]
    pub api_url: String,
    /// The channel (id or name) for notifications no `[[route]]` matches.
    pub default_channel: String,
    /// Socket Mode connections kept open.
    #[serde(default = "default_socket_connections")]
    pub socket_connections: u32,
}

fn default_bot_token_env() -> String {
    "SLACK_BOT_TOKEN".to_owned()
}

fn default_app_token_env() -> String {
    "SLACK_APP_TOKEN".to_owned()
}

fn default_slack_api_url() -> String {
    "https://slack.com/api".to_owned()
}

fn default_socket_connections() -> u32 {
    2
}

/// Matrix through the client-server API; the access token or password stays in the environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// The client-server API base, `https://matrix.example.org`.
    pub homeserver: String,
    /// The bot's full user id, `@hagios:example.org`.
    pub user: String,
    /// The environment variable holding the bot's access token.
    #[serde(default = "default_matrix_token_env")]
    pub access_token_env: String,
    /// The environment variable holding the bot's password, used when there is no token.
    #[serde(default = "default_matrix_password_env")]
    pub password_env: String,
    /// The room (id `!…:server` or alias `#…:server`) for notifications no `[[route]]` matches.
    pub default_room: String,
}

fn default_matrix_token_env() -> String {
    "MATRIX_ACCESS_TOKEN".to_owned()
}

fn default_matrix_password_env() -> String {
    "MATRIX_PASSWORD".to_owned()
}

impl MatrixConfig {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.homeserver.starts_with("https://") || self.homeserver.starts_with("http://")) {
            problems.push(format!("[matrix] homeserver `{}` must be like https://matrix.example.org", self.homeserver));
        }
        if !(self.user.starts_with('@') && self.user.contains(':')) {
            problems.push(format!("[matrix] user `{}` must be a full user id like @hagios:example.org", self.user));
        }
        if !is_matrix_room(&self.default_room) {
            problems.push(format!(
                "[matrix] default_room `{}` must be a room id (!…) or alias (#…:server)",
                self.default_room
            ));
        }
        problems
    }
}

/// A room id (`!…`; since room version 12 without `:server`) or an alias (`#…:server`).
/// Whether a Slack target is a name (`#ops`, `ops`) rather than an id (`C0123ABCD`).
fn is_slack_name(channel: &str) -> bool {
    channel.starts_with('#') || channel.chars().any(|c| c.is_lowercase())
}

fn is_matrix_room(room: &str) -> bool {
    room.len() > 1 && (room.starts_with('!') || (room.starts_with('#') && room.contains(':')))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// How often the spool is scanned for new notifications.
    #[serde(default = "default_poll_interval", with = "humantime_serde_compat")]
    pub poll_interval: Duration,
    /// The longest wait between two tries of a failing chat call.
    #[serde(default = "default_max_backoff", with = "humantime_serde_compat")]
    pub max_backoff: Duration,
}

fn default_poll_interval() -> Duration {
    Duration::from_millis(200)
}

fn default_max_backoff() -> Duration {
    Duration::from_secs(60)
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self { poll_interval: default_poll_interval(), max_backoff: default_max_backoff() }
    }
}

/// How chat commands read times.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandsConfig {
    /// Local time minus UTC as `+HH:MM` / `-HH:MM`, for `downtime … until 18:00`; fixed, so
    /// daylight saving changes need a config change.
    #[serde(default, rename = "utc_offset", with = "utc_offset")]
    pub utc_offset_seconds: i64,
    /// `host add` / `host remove` wait for a `yes` from a second authorized person instead of
    /// the requester.
    #[serde(default)]
    pub second_person_confirms: bool,
    /// The template `host add` uses when none is named (`generic-host` when left out).
    pub default_host_template: Option<String>,
}

/// `+02:00`, `-05:30`, `Z` → seconds east of UTC.
mod utc_offset {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a UTC offset like \"+02:00\"")))
    }

    pub(super) fn parse(text: &str) -> Option<i64> {
        if text == "Z" {
            return Some(0);
        }
        let (sign, rest) = match text.split_at_checked(1)? {
            ("+", rest) => (1, rest),
            ("-", rest) => (-1, rest),
            _ => return None,
        };
        let (hours, minutes) = rest.split_once(':')?;
        let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
        (hours.to_string().len() <= 2 && (0..=14).contains(&hours) && (0..60).contains(&minutes))
            .then_some(sign * (hours * 3600 + minutes * 60))
    }
}

/// Sends matching notifications to `channel` (Slack) or `matrix_room` (Matrix), whichever the
/// running platform uses; the first matching route with a target there wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub hostgroups: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
    /// States (`CRITICAL`, `DOWN`, …) the notification must be in.
    #[serde(default, deserialize_with = "names::states")]
    pub states: Vec<State>,
    /// Notification types (`PROBLEM`, `ACKNOWLEDGEMENT`, `FLAPPINGSTART`, …) it must be of.
    #[serde(default, deserialize_with = "names::types")]
    pub types: Vec<NotificationType>,
    #[serde(default)]
    pub channel: String,
    /// A Matrix room id or alias.
    #[serde(default)]
    pub matrix_room: String,
    /// Bursts on this route become one message per group (docs/storms.md); `false` posts each
    /// notification on its own, at once.
    #[serde(default = "default_grouping")]
    pub grouping: bool,
    /// What the members of a group share: `site`, `host`, `service`.
    #[serde(default = "default_group_by")]
    pub group_by: Vec<GroupLabel>,
    /// How long a new group collects members before its message is posted.
    #[serde(default = "default_group_wait", with = "humantime_serde_compat")]
    pub group_wait: Duration,
    /// The shortest time between two updates of a group's message.
    #[serde(default = "default_group_interval", with = "humantime_serde_compat")]
    pub group_interval: Duration,
    /// How often an open, unacknowledged incident in this route's channel is brought up again
    /// in its thread; zero (the default) sends no reminders.
    #[serde(default, with = "humantime_serde_compat")]
    pub repeat_interval: Duration,
}

/// A property members of one alert group share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupLabel {
    Site,
    Host,
    Service,
}

fn default_grouping() -> bool {
    true
}

fn default_group_by() -> Vec<GroupLabel> {
    vec![GroupLabel::Site, GroupLabel::Host]
}

fn default_group_wait() -> Duration {
    Duration::from_secs(10)
}

/// Reminders more often than this would be noise, not reminders.
const MIN_REPEAT_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) fn default_group_interval() -> Duration {
    Duration::from_secs(30)
}

/// Lists of state and notification type names, read case-insensitively as Nagios writes them.
mod names {
    use hagios_domain::{NotificationType, State};
    use serde::{Deserialize, Deserializer};

    fn list<'de, D: Deserializer<'de>, T>(
        deserializer: D,
        parse: fn(&str) -> Option<T>,
        what: &str,
        known: &str,
    ) -> Result<Vec<T>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|name| {
                parse(name)
                    .ok_or_else(|| serde::de::Error::custom(format!("`{name}` is not a {what} (known: {known})")))
            })
            .collect()
    }

    pub fn states<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<State>, D::Error> {
        list(deserializer, State::parse, "state", "OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN, UNREACHABLE")
    }

    pub fn types<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<NotificationType>, D::Error> {
        let known: Vec<&str> = NotificationType::ALL.iter().map(|kind| kind.as_nagios()).collect();
        list(deserializer, NotificationType::parse, "notification type", &known.join(", "))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    pub name: String,
    pub commands: Vec<String>,
    pub objects: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub chat_id: String,
    pub roles: Vec<String>,
    /// The same name on every `[[user]]` of one person with ids on several platforms.
    #[serde(default)]
    pub person: Option<String>,
}

impl SlackConfig {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.default_channel.trim().is_empty() {
            problems.push("[slack] default_channel is empty: name the channel for alerts no route matches".to_owned());
        }
        if !(self.api_url.starts_with("https://") || self.api_url.starts_with("http://")) {
            problems.push(format!("[slack] api_url `{}` is not an http(s) URL", self.api_url));
        }
        if !(1..=10).contains(&self.socket_connections) {
            problems.push("[slack] socket_connections must be between 1 and 10".to_owned());
        }
        for (key, name) in [("bot_token_env", &self.bot_token_env), ("app_token_env", &self.app_token_env)] {
            if name.trim().is_empty() {
                problems.push(format!("[slack] {key} is empty: name the environment variable holding the token"));
            }
        }
        problems
    }
}

/// Durations written the way people write them: "5s", "200ms", "1m".
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a duration like \"5s\" or \"200ms\": {e}")))
    }

    /// The same for a key that may be left out (with `#[serde(default)]`).
    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

/// Why the configuration cannot be used; the message names the file and what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {}", .problems.join("; "))]
    Invalid { path: PathBuf, problems: Vec<String> },
}

impl Config {
    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let config: Config =
            toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid { path: path.into(), problems })
        }
    }

    /// Everything wrong with an otherwise well-formed configuration, each with what to do.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match (&self.nagios, &self.icinga) {
            (None, None) if self.bot.is_none() => problems.push(
                "no monitoring backend: add a [nagios] or [icinga] section (a bot serving agents has [bot] instead)"
                    .to_owned(),
            ),
            (Some(_), Some(_)) => {
                problems.push("one backend per process: keep [nagios] or [icinga], not both".to_owned())
            }
            (None, Some(icinga)) => problems.extend(icinga.problems()),
            _ => {}
        }
        problems.extend(self.split_problems());
        let known_commands = hagios_commands::command_names();
        for role in &self.roles {
            for command in &role.commands {
                if !known_commands.contains(&command.as_str()) {
                    problems.push(format!(
                        "role `{}` grants unknown command `{command}` (known: {})",
                        role.name,
                        known_commands.join(", ")
                    ));
                }
            }
            if role.objects.is_empty() {
                problems.push(format!("role `{}` grants no objects: add objects = [\"*\"] or patterns", role.name));
            }
        }
        for user in &self.users {
            for role in &user.roles {
                if !self.roles.iter().any(|r| &r.name == role) {
                    problems
                        .push(format!("user `{}` has undefined role `{role}`: define it with [[role]]", user.chat_id));
                }
            }
        }
        if let Some(slack) = &self.slack {
            problems.extend(slack.problems());
            problems.extend(self.routes.iter().enumerate().filter(|(_, route)| is_slack_name(&route.channel)).map(
                |(index, route)| {
                    format!(
                        "route #{} channel `{}` is a channel name: give the channel's id (C…, shown at the bottom of the \
                         channel's details in Slack), by which hagios finds its alert groups and reminders",
                        index + 1,
                        route.channel
                    )
                },
            ));
        }
        problems.extend(self.matrix_problems());
        for (index, route) in self.routes.iter().enumerate() {
            if route.channel.trim().is_empty() && route.matrix_room.trim().is_empty() {
                problems
                    .push(format!("route #{} names no target: set channel (Slack) or matrix_room (Matrix)", index + 1));
            }
            if route.grouping && route.group_interval.is_zero() {
                problems.push(format!("route #{} has group_interval 0: use at least \"1s\"", index + 1));
            }
            if !route.repeat_interval.is_zero() && route.repeat_interval < MIN_REPEAT_INTERVAL {
                problems.push(format!(
                    "route #{} has repeat_interval below 1m: use at least \"1m\", or leave it out for no reminders",
                    index + 1
                ));
            }
        }
        problems.extend(crate::mute::problems(self));
        problems.extend(crate::retention::problems(&self.store));
        problems
    }
}

impl Config {
    /// What `[matrix]` and the routes' `matrix_room`s get wrong.
    fn matrix_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(matrix) = &self.matrix {
            problems.extend(matrix.problems());
        }
        for (index, route) in self.routes.iter().enumerate() {
            if !route.matrix_room.is_empty() && !is_matrix_room(&route.matrix_room) {
                problems.push(format!(
                    "route #{} matrix_room `{}` must be a room id (!…) or alias (#…:server)",
                    index + 1,
                    route.matrix_room
                ));
            }
        }
        problems
    }

    /// What the `[agent]`, `[bot]` and `[tls]` sections lack.
    fn split_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if (self.agent.is_some() || self.bot.is_some()) && self.tls.is_none() {
            problems.push(
                "[agent] and [bot] need a [tls] section with ca, cert and key (made by `hagios certs`)".to_owned(),
            );
        }
        if let Some(agent) = &self.agent {
            let kinds = hagios_link::agent::COMMAND_KINDS;
            for kind in agent.allow.iter().filter(|kind| !kinds.contains(&kind.as_str())) {
                problems.push(format!("[agent] allow lists unknown command `{kind}` (known: {})", kinds.join(", ")));
            }
        }
        if let Some(bot) = &self.bot {
            if bot.listen.parse::<std::net::SocketAddr>().is_err() {
                problems.push(format!("[bot] listen = \"{}\" is not an address like \"0.0.0.0:7443\"", bot.listen));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn utc_offsets_read_as_seconds_east() {
        assert_eq!(utc_offset::parse("+02:00"), Some(7200));
        assert_eq!(utc_offset::parse("-05:30"), Some(-19800));
        assert_eq!(utc_offset::parse("Z"), Some(0));
        for bad in ["02:00", "+2", "+24:00", "+01:60", "", "+"] {
            assert_eq!(utc_offset::parse(bad), None, "{bad}");
        }
        let config = parse("[commands]\nutc_offset = \"+01:00\"\n");
        assert_eq!(config.commands.utc_offset_seconds, 3600);
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse(
            r#"
            [nagios]
            command_file = "/n/nagios.cmd"
            status_file = "/n/status.dat"
            object_cache_file = "/n/objects.cache"
            "#,
        );
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let nagios = config.nagios.unwrap();
        assert_eq!((nagios.site.as_str(), nagios.confirm_timeout), ("local", Duration::from_secs(5)));
        assert_eq!(config.terminal.user, "local");
        assert_eq!(config.spool.dir, PathBuf::from("/var/spool/hagios"));
    }

    #[test]
    fn nagios_host_changes_are_off_until_managed_dir_is_set() {
        let base = "[nagios]\ncommand_file = \"a\"\nstatus_file = \"b\"\nobject_cache_file = \"c\"\n";
        let nagios = parse(base).nagios.unwrap();
        assert_eq!(nagios.managed_dir, None);
        assert_eq!(nagios.main_config, PathBuf::from("/etc/nagios4/nagios.cfg"));
        assert_eq!(nagios.nagios_binary, PathBuf::from("/usr/sbin/nagios4"));
        assert_eq!((nagios.reload_command, nagios.reload_timeout), (None, Duration::from_secs(30)));
        let managed = format!(
            "{base}managed_dir = \"/etc/nagios4/hagios\"\nreload_command = [\"systemctl\", \"reload\", \"nagios4\"]\n\
             reload_timeout = \"1m\"\n"
        );
        let nagios = parse(&managed).nagios.unwrap();
        assert_eq!(nagios.managed_dir, Some(PathBuf::from("/etc/nagios4/hagios")));
        assert_eq!(
            nagios.reload_command.as_deref(),
            Some(&["systemctl".to_owned(), "reload".into(), "nagios4".into()][..])
        );
        assert_eq!(nagios.reload_timeout, Duration::from_secs(60));
        let commands = parse("[commands]\ndefault_host_template = \"linux-server\"\n").commands;
        assert_eq!(commands.default_host_template.as_deref(), Some("linux-server"));
    }

    #[test]
    fn problems_name_what_to_fix() {
        let config = parse(
            r#"
            [[role]]
            name = "oncall"
            commands = ["ack", "reboot"]
            objects = []
            [[user]]
            chat_id = "U1"
            roles = ["oncall", "admin"]
            "#,
        );
        let problems = config.problems().join("\n");
        assert!(problems.contains("add a [nagios] or [icinga] section"), "{problems}");
        assert!(problems.contains("unknown command `reboot`"), "{problems}");
        assert!(problems.contains("grants no objects"), "{problems}");
        assert!(problems.contains("undefined role `admin`"), "{problems}");
    }

    #[test]
    fn split_sections_are_checked() {
        let bot = parse("[bot]\nlisten = \"0.0.0.0:7443\"\n[tls]\nca = \"c\"\ncert = \"b.crt\"\nkey = \"b.key\"\n");
        assert!(bot.problems().is_empty(), "a bot needs no [nagios]: {:?}", bot.problems());
        let agent = parse(
            "[nagios]\ncommand_file=\"a\"\nstatus_file=\"b\"\nobject_cache_file=\"c\"\n[agent]\nbot = \"bot:7443\"\nallow = [\"ack\", \"reboot\"]\n",
        );
        let problems = agent.problems().join("\n");
        assert!(problems.contains("need a [tls] section"), "{problems}");
        assert!(problems.contains("unknown command `reboot`"), "{problems}");
        let defaults = parse("[agent]\nbot = \"bot:7443\"\n").agent.unwrap();
        assert_eq!(defaults.allow, hagios_link::agent::DEFAULT_ALLOWED_KINDS);
        assert_eq!(defaults.heartbeat, Duration::from_secs(10));
    }

    #[test]
    fn route_states_and_types_read_nagios_words() {
        let config = parse("[[route]]\nstates = [\"critical\", \"DOWN\"]\ntypes = [\"PROBLEM\", \"flapping_start\"]\nchannel = \"C\"\n");
        assert_eq!(config.routes[0].states, [State::Critical, State::Down]);
        assert_eq!(config.routes[0].types, [NotificationType::Problem, NotificationType::FlappingStart]);
        let error = toml::from_str::<Config>("[[route]]\nstates = [\"ON_FIRE\"]\nchannel = \"C\"\n").unwrap_err();
        assert!(error.to_string().contains("`ON_FIRE` is not a state (known: OK, WARNING"), "{error}");
    }

    #[test]
    fn routes_group_by_site_and_host_after_10s_unless_told_otherwise() {
        let config = parse("[[route]]\nchannel = \"C\"\n[[route]]\nchannel = \"D\"\ngroup_by = [\"site\"]\ngroup_wait = \"2s\"\ngroup_interval = \"0s\"\n[[route]]\nchannel = \"E\"\ngrouping = false\n");
        let [default, short, off] = &config.routes[..] else { panic!("three routes") };
        assert_eq!(
            (default.grouping, default.group_wait, default.group_interval),
            (true, Duration::from_secs(10), Duration::from_secs(30))
        );
        assert_eq!(default.group_by, [GroupLabel::Site, GroupLabel::Host]);
        assert_eq!(
            (short.group_by.as_slice(), short.group_wait),
            ([GroupLabel::Site].as_slice(), Duration::from_secs(2))
        );
        assert!(!off.grouping);
        assert!(config.problems().join("\n").contains("route #2 has group_interval 0"));
        assert!(config.routes.iter().all(|route| route.repeat_interval.is_zero()), "no reminders by default");
        let reminding = parse("[[route]]\nchannel = \"C\"\nrepeat_interval = \"4h\"\n[[route]]\nchannel = \"D\"\nrepeat_interval = \"30s\"\n");
        assert_eq!(reminding.routes[0].repeat_interval, Duration::from_secs(4 * 3600));
        assert!(reminding.problems().join("\n").contains("route #2 has repeat_interval below 1m"));
        assert!(toml::from_str::<Config>("[[route]]\nchannel = \"C\"\ngroup_by = [\"rack\"]\n").is_err());
    }

    #[test]
    fn slack_section_gets_defaults_and_checks() {
        let config = parse("[slack]\ndefault_channel = \"C0ALERTS\"\n");
        let slack = config.slack.as_ref().unwrap();
        assert_eq!(
            (
                slack.bot_token_env.as_str(),
                slack.app_token_env.as_str(),
                slack.api_url.as_str(),
                slack.socket_connections
            ),
            ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "https://slack.com/api", 2)
        );
        let bad = parse(
            "[slack]\ndefault_channel = \"\"\napi_url = \"slack.com\"\nsocket_connections = 0\n\
             [[route]]\nchannel = \"#ops\"\n[[route]]\nchannel = \"C0OPS\"\n",
        );
        let problems = bad.problems().join("\n");
        for expected in
            ["default_channel is empty", "not an http(s) URL", "between 1 and 10", "route #1 channel `#ops`"]
        {
            assert!(problems.contains(expected), "{problems}");
        }
        assert!(!problems.contains("route #2"), "{problems}");
    }

    #[test]
    fn matrix_section_gets_defaults_and_checks_and_goes_with_slack() {
        let config = parse(
            "[nagios]\ncommand_file=\"a\"\nstatus_file=\"b\"\nobject_cache_file=\"c\"\n[slack]\ndefault_channel = \"C0ALERTS\"\n[matrix]\nhomeserver = \"https://m.example.org\"\nuser = \"@hagios:example.org\"\ndefault_room = \"#alerts:example.org\"\n[[route]]\nhosts = [\"db*\"]\nmatrix_room = \"!db:example.org\"\n",
        );
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let matrix = config.matrix.unwrap();
        assert_eq!(
            (matrix.access_token_env.as_str(), matrix.password_env.as_str()),
            ("MATRIX_ACCESS_TOKEN", "MATRIX_PASSWORD")
        );
        let bad = parse("[matrix]\nhomeserver = \"m.example.org\"\nuser = \"hagios\"\ndefault_room = \"alerts\"\n[[route]]\nmatrix_room = \"db\"\n[[route]]\nhosts = [\"x\"]\n");
        let problems = bad.problems().join("\n");
        for expected in [
            "like https://matrix",
            "full user id",
            "default_room `alerts`",
            "route #1 matrix_room",
            "route #2 names no target",
        ] {
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
    }

    #[test]
    fn icinga_section_gets_defaults_and_its_login_is_checked() {
        let config = parse("[icinga]\nurl = \"https://icinga:5665\"\nuser = \"hagios\"\nca_file = \"/ca.crt\"\n");
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let icinga = config.icinga.unwrap();
        assert_eq!((icinga.password_env.as_str(), icinga.event_queue.as_str()), ("HAGIOS_ICINGA_PASSWORD", "hagios"));
        for (login, problem) in [
            ("", "needs a login"),
            ("client_cert = \"/c.pem\"", "go together"),
            ("user = \"u\"\nclient_cert = \"/c\"\nclient_key = \"/k\"", "not both"),
        ] {
            let problems = parse(&format!("[icinga]\nurl = \"https://i:5665\"\n{login}\n")).problems().join("\n");
            assert!(problems.contains(problem), "{login}: {problems}");
        }
        let both = parse("[icinga]\nurl = \"https://i\"\nuser = \"u\"\n[nagios]\ncommand_file = \"a\"\nstatus_file = \"b\"\nobject_cache_file = \"c\"\n");
        assert!(both.problems().join("\n").contains("not both"));
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_refused() {
        assert!(toml::from_str::<Config>("[store]\npaht = \"x\"").unwrap_err().to_string().contains("paht"));
        let bad = "[nagios]\ncommand_file=\"a\"\nstatus_file=\"b\"\nobject_cache_file=\"c\"\nconfirm_timeout=\"soon\"";
        assert!(toml::from_str::<Config>(bad).unwrap_err().to_string().contains("not a duration"));
    }
}
