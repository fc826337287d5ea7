//! The TOML configuration file (`--config` or `HAGIOS_CONFIG`) as plain data, and the checks
//! behind `hagios config check`. Each integration owns its section's type and checks
//! (`[nagios]`, `[icinga]` in hagios-monitor; the chat platforms' in hagios-chat; `[tls]`,
//! `[agent]`, `[bot]` in hagios-link; `[store]` in hagios-store); this module puts them together and checks what spans
//! sections. Every key is documented in docs/configuration.md.

mod commands;
mod oncall;
mod quiet;
mod route;

pub use commands::CommandsConfig;
pub use oncall::{
    is_known_person, CalendarFeed, Due, Escalation, FeedSource, Layer, LayerSource, Notify, Schedule, Step,
    DEFAULT_POLICY,
};
pub use quiet::{QuietHours, DEFAULT_CHANNEL};
use route::DefaultRouteSection;
pub use route::{default_group_interval, GroupLabel, Grouping, GroupingKeys, RouteConfig, DEFAULT_ROUTE_LABEL};

use crate::observe::MetricsConfig;
use hagios_chat::{Platform, PlatformConfig};
use hagios_domain::config_text::duration;
use hagios_domain::suggest::closest;
use hagios_link::config::{agent_site, AgentConfig, BotConfig, TlsConfig};
use hagios_monitor::icinga::IcingaConfig;
use hagios_monitor::nagios::NagiosConfig;
pub use hagios_store::StoreConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ConfigFile")]
pub struct Config {
    pub store: StoreConfig,
    pub spool: SpoolConfig,
    pub nagios: Option<NagiosConfig>,
    pub icinga: Option<IcingaConfig>,
    /// The chat platforms to talk on, in the registry's order: those configured, or the
    /// terminal when none is.
    pub platforms: Vec<PlatformConfig>,
    pub delivery: DeliveryConfig,
    pub commands: CommandsConfig,
    pub routes: Vec<RouteConfig>,
    /// How notifications no route matches are grouped (`[default_route]`, Alertmanager's root
    /// route); every `[[route]]` inherits the keys it does not set.
    pub default_route: Grouping,
    /// The schedule paged for what no route matches (`[default_route] oncall`); not inherited
    /// by `[[route]]`s, which page only when they say so.
    pub default_oncall: Option<String>,
    /// The policy that paging follows (`[default_route] escalation`).
    pub default_escalation: Option<String>,
    /// Recurring windows during which matching notifications are held (docs/quiet-hours.md).
    pub quiet_hours: Vec<QuietHours>,
    /// Who is on call (`[[oncall]]`, docs/oncall.md).
    pub schedules: Vec<Schedule>,
    /// How paging goes on when nobody acknowledges (`[[escalation]]`).
    pub escalations: Vec<Escalation>,
    pub roles: Vec<RoleConfig>,
    pub users: Vec<UserConfig>,
    /// Split deployment: this side's certificate and key, and the CA that signed the peer.
    pub tls: Option<TlsConfig>,
    /// Split deployment, monitoring server: the bot to dial and what this site allows.
    pub agent: Option<AgentConfig>,
    /// Split deployment, chat side: where agents connect.
    pub bot: Option<BotConfig>,
    /// Where `/metrics` and `/healthz` are served; not at all when left out.
    pub metrics: Option<MetricsConfig>,
    /// What works but should change (a section's former name, say): `config check` shows it.
    pub notes: Vec<String>,
}

/// The file as written: the sections hagios itself reads, and the rest, which must be chat
/// platforms' sections.
#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    store: StoreConfig,
    #[serde(default)]
    spool: SpoolConfig,
    nagios: Option<NagiosConfig>,
    icinga: Option<IcingaConfig>,
    #[serde(default)]
    delivery: DeliveryConfig,
    #[serde(default)]
    commands: CommandsConfig,
    #[serde(default, rename = "route")]
    routes: Vec<RouteConfig>,
    #[serde(default)]
    default_route: DefaultRouteSection,
    #[serde(default)]
    quiet_hours: Vec<QuietHours>,
    /// `[[quiet_hours]]` under its former name.
    #[serde(default, rename = "mute")]
    mutes: Vec<QuietHours>,
    #[serde(default, rename = "oncall")]
    schedules: Vec<Schedule>,
    #[serde(default, rename = "escalation")]
    escalations: Vec<Escalation>,
    #[serde(default, rename = "role")]
    roles: Vec<RoleConfig>,
    #[serde(default, rename = "user")]
    users: Vec<UserConfig>,
    tls: Option<TlsConfig>,
    agent: Option<AgentConfig>,
    bot: Option<BotConfig>,
    metrics: Option<MetricsConfig>,
    #[serde(flatten)]
    sections: BTreeMap<String, toml::Value>,
}

impl TryFrom<ConfigFile> for Config {
    type Error = String;

    fn try_from(file: ConfigFile) -> Result<Self, String> {
        let mut notes = Vec::new();
        let mut configured = Vec::new();
        for (name, section) in file.sections {
            let Some(platform) = Platform::named(&name) else {
                return Err(unknown_section(&name));
            };
            configured.push(PlatformConfig::parse(platform, section)?);
        }
        configured.sort_by_key(PlatformConfig::platform);
        let fallback = configured.iter().position(|section| section.platform() == Platform::FALLBACK);
        let platforms = match (configured.len(), fallback) {
            (0, _) => vec![PlatformConfig::default_of(Platform::FALLBACK)?],
            (1, _) | (_, None) => configured,
            (_, Some(index)) => {
                notes.push(format!(
                    "[{0}] has no effect beside another chat platform: hagios talks on the {0} only when no other \
                     is configured",
                    Platform::FALLBACK
                ));
                configured.remove(index);
                configured
            }
        };
        if !file.mutes.is_empty() {
            notes.push(
                "[[mute]] is now called [[quiet_hours]]: rename the sections (the old name still works). The `mute` \
                 command turns Nagios' notifications off; these windows only hold chat notifications in hagios"
                    .to_owned(),
            );
        }
        let now = hagios_domain::unix_now();
        notes.extend(file.schedules.iter().filter_map(|schedule| schedule.gaps_note(now)));
        let default_route = file.default_route.grouping.over(&Grouping::default());
        let mut routes = file.routes;
        for route in &mut routes {
            route.inherit(&default_route);
        }
        Ok(Config {
            store: file.store,
            spool: file.spool,
            nagios: file.nagios,
            icinga: file.icinga,
            platforms,
            delivery: file.delivery,
            commands: file.commands,
            routes,
            default_route,
            default_oncall: file.default_route.oncall,
            default_escalation: file.default_route.escalation,
            quiet_hours: file.quiet_hours.into_iter().chain(file.mutes).collect(),
            schedules: file.schedules,
            escalations: file.escalations,
            roles: file.roles,
            users: file.users,
            tls: file.tls,
            agent: file.agent,
            bot: file.bot,
            metrics: file.metrics,
            notes,
        })
    }
}

/// Timings of `grouping` (of the route called `route`) that cannot work.
fn grouping_problems(route: &str, grouping: &Grouping) -> Vec<String> {
    let mut problems = Vec::new();
    if grouping.enabled && grouping.group_interval.is_zero() {
        problems.push(format!("{route} has group_interval 0: use at least \"1s\""));
    }
    if !grouping.repeat_interval.is_zero() && grouping.repeat_interval < route::MIN_REPEAT_INTERVAL {
        problems.push(format!(
            "{route} has repeat_interval below 1m: use at least \"1m\", or leave it out for no reminders"
        ));
    }
    problems
}

/// "unknown section `slak` — did you mean `slack`?"
fn unknown_section(name: &str) -> String {
    let mut known = vec![
        "store",
        "spool",
        "nagios",
        "icinga",
        "delivery",
        "commands",
        "route",
        "default_route",
        "quiet_hours",
        "oncall",
        "escalation",
        "role",
        "user",
        "tls",
        "agent",
        "bot",
        "metrics",
    ];
    known.extend(Platform::ALL.iter().map(|platform| platform.name()));
    match closest(name, known.iter().copied()) {
        Some(near) => format!("unknown section `{name}` — did you mean `{near}`?"),
        None => format!("unknown section `{name}` (known: {})", known.join(", ")),
    }
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
pub struct DeliveryConfig {
    /// How often the spool is scanned for new notifications.
    #[serde(default = "default_poll_interval", with = "duration")]
    pub poll_interval: Duration,
    /// The longest wait between two tries of a failing chat call.
    #[serde(default = "default_max_backoff", with = "duration")]
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

/// Why the configuration cannot be used; the message names the file and what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {}", .problems.join("; "))]
    Invalid { path: PathBuf, problems: Vec<String> },
}

impl Config {
    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read { path: path.into(), cause })?;
        let config: Config =
            toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.to_string() })?;
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid { path: path.into(), problems })
        }
    }

    /// Whether `platform` is one hagios talks on.
    pub fn talks_on(&self, platform: Platform) -> bool {
        self.platforms.iter().any(|section| section.platform() == platform)
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
        problems.extend(self.authorization_problems());
        for section in &self.platforms {
            problems.extend(section.section().problems());
        }
        problems.extend(self.route_problems());
        if self.agent.is_some() && !self.quiet_hours.is_empty() {
            problems.push(
                "[[quiet_hours]] has no effect in an agent's configuration: notifications are held by the bot; move \
                 it there"
                    .to_owned(),
            );
        }
        for quiet in &self.quiet_hours {
            problems.extend(quiet.problems(&self.routes));
        }
        problems.extend(self.oncall_problems());
        problems.extend(self.store.problems());
        problems.extend(self.metrics.iter().flat_map(MetricsConfig::problems));
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
        problems.extend(self.agent.iter().flat_map(AgentConfig::problems));
        problems.extend(self.bot.iter().flat_map(BotConfig::problems));
        if let (Some(_), Some(tls)) = (&self.agent, &self.tls) {
            let configured = self.nagios.as_ref().and_then(|nagios| nagios.site.as_deref());
            problems.extend(agent_site(configured, tls).err());
        }
        problems
    }

    /// Roles that grant nothing real and users with roles nobody defined.
    fn authorization_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
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
        problems
    }

    /// Routes without a target, with a target their platform cannot use, or with timings that
    /// cannot work.
    fn route_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (index, route) in self.routes.iter().enumerate() {
            let number = index + 1;
            if route.targets.is_empty() {
                problems.push(format!("route #{number} names no target: set {}", route::target_keys()));
            }
            for section in &self.platforms {
                let target = route.target(section.platform());
                if let Some(problem) = target.and_then(|target| section.section().target_problem(target)) {
                    problems.push(format!("route #{number} {problem}"));
                }
            }
            problems.extend(grouping_problems(&format!("route #{number}"), &route.grouping));
            let named_before =
                |name: &String| self.routes[..index].iter().any(|other| other.name.as_ref() == Some(name));
            if let Some(name) = route.name.as_ref().filter(|name| named_before(name)) {
                problems
                    .push(format!("route #{number} name = \"{name}\" is another route's: reports would add them up"));
            }
        }
        problems.extend(grouping_problems("[default_route]", &self.default_route));
        problems
    }

    /// Schedules and policies that cannot work: unknown people, names used twice or never
    /// defined, targets their platform cannot use.
    fn oncall_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.agent.is_some() && !(self.schedules.is_empty() && self.escalations.is_empty()) {
            problems.push(
                "[[oncall]] and [[escalation]] have no effect in an agent's configuration: the bot pages; move them \
                 there"
                    .to_owned(),
            );
        }
        let mut seen = Vec::new();
        for schedule in &self.schedules {
            if seen.contains(&&schedule.name) {
                problems
                    .push(format!("[[oncall]] `{}` is defined twice: give each schedule its own name", schedule.name));
            }
            seen.push(&schedule.name);
            problems.extend(schedule.problems(&self.users));
            for section in &self.platforms {
                let target = schedule.targets.get(&section.platform());
                if let Some(problem) = target.and_then(|target| section.section().target_problem(target)) {
                    problems.push(format!("[[oncall]] `{}` {problem}", schedule.name));
                }
            }
        }
        let mut seen = Vec::new();
        for policy in &self.escalations {
            if seen.contains(&&policy.name) {
                problems
                    .push(format!("[[escalation]] `{}` is defined twice: give each policy its own name", policy.name));
            }
            seen.push(&policy.name);
            problems.extend(policy.problems(&self.schedules, &self.users));
        }
        for (index, route) in self.routes.iter().enumerate() {
            problems.extend(self.route_paging_problems(&format!("route #{}", index + 1), route));
        }
        problems.extend(self.route_paging_problems("[default_route]", &self.fallback_route()));
        problems
    }

    /// What is wrong with the schedule and policy `route` (called `number`) names.
    fn route_paging_problems(&self, number: &str, route: &RouteConfig) -> Vec<String> {
        let mut problems = Vec::new();
        let schedule = match &route.oncall {
            Some(name) => match self.schedule(name) {
                Some(schedule) => Some(schedule),
                None => {
                    let known: Vec<&str> = self.schedules.iter().map(|s| s.name.as_str()).collect();
                    problems.push(format!(
                        "{number} oncall = \"{name}\" names no [[oncall]] schedule (defined: {})",
                        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                    ));
                    None
                }
            },
            None if route.escalation.is_some() => {
                problems
                    .push(format!("{number} names an escalation policy but no schedule: add oncall = \"SCHEDULE\""));
                None
            }
            None => None,
        };
        let Some(policy) = route.escalation.as_deref() else { return problems };
        let Some(policy) = self.escalations.iter().find(|p| p.name == policy) else {
            problems.push(format!("{number} escalation = \"{policy}\" names no [[escalation]] policy"));
            return problems;
        };
        for step in &policy.steps {
            if let (Notify::Layer(layer), Some(schedule)) = (&step.notify, schedule) {
                if schedule.layer(layer).is_none() {
                    problems.push(format!(
                        "[[escalation]] `{}` pages layer `{layer}`, which schedule `{}` ({number}) does not have",
                        policy.name, schedule.name
                    ));
                }
            }
        }
        problems
    }

    /// The schedule called `name`.
    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|schedule| schedule.name == name)
    }

    /// The policy a route names, or the default one (page the person on call, at once).
    pub fn escalation_of(&self, route: &RouteConfig) -> Escalation {
        route
            .escalation
            .as_deref()
            .and_then(|name| self.escalations.iter().find(|policy| policy.name == name))
            .cloned()
            .unwrap_or_else(Escalation::default_policy)
    }

    /// The route notifications no `[[route]]` matches take: to each platform's default channel.
    pub fn fallback_route(&self) -> RouteConfig {
        let targets = self.platforms.iter().map(|section| (section.platform(), section.section().default_target()));
        RouteConfig {
            oncall: self.default_oncall.clone(),
            escalation: self.default_escalation.clone(),
            ..RouteConfig::fallback(
                self.default_route.clone(),
                targets.map(|(platform, target)| (platform, target.to_owned())),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, ObjectRef, State};

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    const NAGIOS: &str = "[nagios]\ncommand_file = \"/n/nagios.cmd\"\nstatus_file = \"/n/status.dat\"\nobject_cache_file = \"/n/objects.cache\"\n";

    #[test]
    fn a_minimal_config_talks_on_the_terminal_with_defaults() {
        let config = parse(NAGIOS);
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let nagios = config.nagios.as_ref().unwrap();
        assert_eq!((nagios.site(), nagios.confirm_timeout), ("local".to_owned(), None));
        let [PlatformConfig::Terminal(terminal)] = &config.platforms[..] else { panic!("{:?}", config.platforms) };
        assert_eq!(terminal.user, "local");
        assert_eq!(config.spool.dir, PathBuf::from("/var/spool/hagios"));
        assert!(config.notes.is_empty());
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
        let agent = parse(&format!("{NAGIOS}[agent]\nbot = \"bot:7443\"\nallow = [\"ack\", \"reboot\"]\n"));
        let problems = agent.problems().join("\n");
        assert!(problems.contains("need a [tls] section"), "{problems}");
        assert!(problems.contains("unknown command `reboot`"), "{problems}");
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
        let grouping = &default.grouping;
        assert_eq!(
            (grouping.enabled, grouping.group_wait, grouping.group_interval),
            (true, Duration::from_secs(10), Duration::from_secs(30))
        );
        assert_eq!(grouping.group_by, [GroupLabel::Site, GroupLabel::Host]);
        assert_eq!(
            (short.grouping.group_by.as_slice(), short.grouping.group_wait),
            ([GroupLabel::Site].as_slice(), Duration::from_secs(2))
        );
        assert!(!off.grouping.enabled);
        assert!(config.problems().join("\n").contains("route #2 has group_interval 0"));
        assert!(config.routes.iter().all(|route| route.grouping.repeat_interval.is_zero()), "no reminders by default");
        let reminding = parse("[[route]]\nchannel = \"C\"\nrepeat_interval = \"4h\"\n[[route]]\nchannel = \"D\"\nrepeat_interval = \"30s\"\n");
        assert_eq!(reminding.routes[0].grouping.repeat_interval, Duration::from_secs(4 * 3600));
        assert!(reminding.problems().join("\n").contains("route #2 has repeat_interval below 1m"));
        assert!(toml::from_str::<Config>("[[route]]\nchannel = \"C\"\ngroup_by = [\"rack\"]\n").is_err());
    }

    #[test]
    fn routes_map_each_platform_to_its_target_under_the_old_keys() {
        let config = parse("[[route]]\nhosts = [\"db*\"]\nchannel = \"C0DB\"\nmatrix_room = \"!db:m.org\"\n[[route]]\nmatrix_room = \"#web:m.org\"\n");
        let [both, matrix_only] = &config.routes[..] else { panic!("two routes") };
        assert_eq!(both.target(Platform::Slack), Some("C0DB"));
        assert_eq!(both.target(Platform::Matrix), Some("!db:m.org"));
        assert_eq!(both.target(Platform::Terminal), Some("C0DB"), "the terminal follows `channel`");
        assert_eq!((matrix_only.target(Platform::Slack), matrix_only.target(Platform::Terminal)), (None, None));
        let object = ObjectRef::host("db01");
        assert!(both.may_have_taken(Platform::Matrix, "!db:m.org", &object), "a report counts db01 there by it");
        assert!(!both.may_have_taken(Platform::Slack, "!db:m.org", &object), "not its target on Slack");
        assert!(!both.may_have_taken(Platform::Slack, "C0DB", &ObjectRef::host("web01")), "not its host");
        assert_eq!((both.label(), matrix_only.label()), ("hosts=db*".to_owned(), "everything".to_owned()));
        let named = parse("[[route]]\nname = \"db\"\nhosts = [\"db*\"]\nstates = [\"CRITICAL\"]\nchannel = \"C\"\n[[route]]\nname = \"db\"\nchannel = \"D\"\n");
        assert_eq!(named.routes[0].label(), "db");
        assert_eq!(RouteConfig { name: None, ..named.routes[0].clone() }.label(), "hosts=db* states=CRITICAL");
        assert!(named
            .problems()
            .iter()
            .any(|p| p == "route #2 name = \"db\" is another route's: reports would add them up"));
        let typo = toml::from_str::<Config>("[[route]]\nchanel = \"C\"\n").unwrap_err().to_string();
        assert!(typo.contains("unknown route key `chanel`") && typo.contains("matrix_room (matrix)"), "{typo}");
    }

    #[test]
    fn each_platform_checks_its_section_and_its_route_targets() {
        let config = parse(&format!(
            "{NAGIOS}[slack]\ndefault_channel = \"C0ALERTS\"\n[matrix]\nhomeserver = \"https://m.example.org\"\nuser = \"@hagios:example.org\"\ndefault_room = \"#alerts:example.org\"\n[[route]]\nhosts = [\"db*\"]\nmatrix_room = \"!db:example.org\"\n"
        ));
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let names: Vec<Platform> = config.platforms.iter().map(PlatformConfig::platform).collect();
        assert_eq!(names, [Platform::Slack, Platform::Matrix]);
        assert!(config.talks_on(Platform::Matrix) && !config.talks_on(Platform::Terminal));

        let bad = parse("[slack]\ndefault_channel = \"\"\napi_url = \"slack.com\"\n[matrix]\nhomeserver = \"m.example.org\"\nuser = \"hagios\"\ndefault_room = \"alerts\"\n[[route]]\nchannel = \"#ops\"\nmatrix_room = \"db\"\n[[route]]\nhosts = [\"x\"]\n[[route]]\nchannel = \"C0OPS\"\n");
        let problems = bad.problems().join("\n");
        for expected in [
            "default_channel is empty",
            "not an http(s) URL",
            "like https://matrix",
            "full user id",
            "default_room `alerts`",
            "route #1 channel `#ops` is a channel name",
            "route #1 matrix_room `db`",
            "route #2 names no target: set channel (terminal, slack) or matrix_room (matrix)",
        ] {
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
        assert!(!problems.contains("route #3"), "{problems}");
    }

    #[test]
    fn the_terminal_section_only_counts_alone() {
        let alone = parse("[terminal]\nuser = \"olive\"\n");
        let [PlatformConfig::Terminal(terminal)] = &alone.platforms[..] else { panic!("{:?}", alone.platforms) };
        assert_eq!(terminal.user, "olive");
        let beside = parse("[terminal]\nuser = \"olive\"\n[slack]\ndefault_channel = \"C0ALERTS\"\n");
        assert!(matches!(&beside.platforms[..], [PlatformConfig::Slack(_)]));
        assert!(
            beside.notes[0].contains("[terminal] has no effect beside another chat platform"),
            "{:?}",
            beside.notes
        );
    }

    #[test]
    fn unknown_sections_keys_and_bad_durations_are_refused() {
        assert!(toml::from_str::<Config>("[store]\npaht = \"x\"").unwrap_err().to_string().contains("paht"));
        let section = toml::from_str::<Config>("[slak]\ndefault_channel = \"C\"").unwrap_err().to_string();
        assert!(section.contains("unknown section `slak` — did you mean `slack`?"), "{section}");
        let inside = toml::from_str::<Config>("[slack]\ndefault_chanel = \"C\"").unwrap_err().to_string();
        assert!(inside.contains("[slack]") && inside.contains("default_chanel"), "{inside}");
        let bad = format!("{NAGIOS}confirm_timeout=\"soon\"");
        assert!(toml::from_str::<Config>(&bad).unwrap_err().to_string().contains("not a duration"));
    }

    #[test]
    fn mute_windows_are_quiet_hours_under_their_former_name() {
        let config = parse(&format!(
            "{NAGIOS}[[quiet_hours]]\nname = \"new\"\ntimes = [\"22:00-02:00\"]\n[[mute]]\nname = \"old\"\ntimes = [\"01:00-02:00\"]\n"
        ));
        let names: Vec<&str> = config.quiet_hours.iter().map(|quiet| quiet.name.as_str()).collect();
        assert_eq!(names, ["new", "old"]);
        assert!(config.notes.iter().any(|note| note.contains("[[mute]] is now called [[quiet_hours]]")));
        assert!(config.problems().is_empty(), "{:?}", config.problems());
    }

    #[test]
    fn a_window_naming_a_matrix_room_is_valid_and_holds_that_routes_notifications_everywhere() {
        let config = parse(&format!(
            "{NAGIOS}[[route]]\nhosts = [\"db*\"]\nchannel = \"C0DB\"\nmatrix_room = \"!db:m.org\"\n\
             [[quiet_hours]]\nname = \"by-room\"\ntimes = [\"00:00-24:00\"]\nchannels = [\"!db:m.org\"]\n\
             [[quiet_hours]]\nname = \"by-channel\"\ntimes = [\"00:00-24:00\"]\nchannels = [\"C0DB\"]\n"
        ));
        assert!(config.problems().is_empty(), "a window may name a Matrix room: {:?}", config.problems());
        let route = &config.routes[0];
        let db = hagios_domain::Notification {
            id: "n".into(),
            site: "local".into(),
            kind: NotificationType::Problem,
            object: hagios_domain::ObjectRef::host("db01"),
            state: State::Down,
            output: String::new(),
            long_output: String::new(),
            author: None,
            comment: None,
            time: 0,
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        };
        for quiet in &config.quiet_hours {
            assert!(quiet.matches(&db, Some(route)), "{} holds the route on every platform", quiet.name);
            assert!(!quiet.matches(&db, None), "{} does not hold unrouted notifications", quiet.name);
        }
    }

    #[test]
    fn routes_page_the_schedules_they_name_and_config_check_says_what_is_missing() {
        let people =
            "[[user]]\nchat_id = \"U1\"\nroles = []\nperson = \"alice\"\n[[user]]\nchat_id = \"bob\"\nroles = []\n";
        let db = "[[oncall]]\nname = \"db\"\ntimezone = \"UTC\"\n[[oncall.layer]]\nname = \"primary\"\npeople = [\"alice\", \"bob\"]\nstart = \"2024-01-01 09:00\"\nlength = \"1w\"\n";
        let policy = "[[escalation]]\nname = \"db\"\n[[escalation.step]]\nnotify = \"oncall\"\n[[escalation.step]]\nafter = \"5m\"\nnotify = \"layer:secondary\"\n";
        let good = parse(&format!(
            "{NAGIOS}{people}{db}[[escalation]]\nname = \"p\"\n[[escalation.step]]\nnotify = \"oncall\"\n[[route]]\nchannel = \"C\"\noncall = \"db\"\nescalation = \"p\"\n[[route]]\nchannel = \"D\"\noncall = \"db\"\n"
        ));
        assert!(good.problems().is_empty(), "{:?}", good.problems());
        assert_eq!(good.routes[0].oncall.as_deref(), Some("db"));
        assert_eq!([good.routes[0].label(), good.fallback_route().label()], ["everything", DEFAULT_ROUTE_LABEL]);
        assert_eq!(good.escalation_of(&good.routes[0]).name, "p");
        assert_eq!(good.escalation_of(&good.routes[1]).name, DEFAULT_POLICY, "page the person on call, at once");
        assert!(good.notes.is_empty(), "no gaps: {:?}", good.notes);

        let bad = parse(&format!(
            "{NAGIOS}{people}{db}{db}{policy}[[route]]\nchannel = \"C\"\noncall = \"dba\"\n[[route]]\nchannel = \"D\"\nescalation = \"db\"\n[[route]]\nchannel = \"E\"\noncall = \"db\"\nescalation = \"db\"\n[[route]]\nchannel = \"F\"\noncall = \"db\"\nescalation = \"nope\"\n"
        ));
        let problems = bad.problems().join("\n");
        for expected in [
            "[[oncall]] `db` is defined twice",
            "route #1 oncall = \"dba\" names no [[oncall]] schedule (defined: db, db)",
            "route #2 names an escalation policy but no schedule",
            "[[escalation]] `db` pages layer `secondary`, which schedule `db` (route #3) does not have",
            "route #4 escalation = \"nope\" names no [[escalation]] policy",
        ] {
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
        let unknown = parse(&format!("{NAGIOS}{db}"));
        assert!(unknown.problems().join("\n").contains("names `alice`, whom no [[user]] has"));
    }

    #[test]
    fn what_no_route_takes_is_grouped_and_routes_inherit_the_default_routes_keys() {
        let stock = parse(NAGIOS);
        assert_eq!(stock.default_route, Grouping::default(), "grouped like a route, with the route defaults");
        assert!(stock.default_route.enabled && stock.default_route.group_wait == Duration::from_secs(10));
        let fallback = stock.fallback_route();
        assert!(
            fallback.fallback && fallback.hosts.is_empty() && fallback.states.is_empty() && fallback.types.is_empty()
        );
        assert_eq!(fallback.target(Platform::Terminal), Some("terminal"), "the platform's default channel");

        let tuned = parse(
            "[default_route]\ngroup_by = [\"site\"]\ngroup_wait = \"30s\"\n[[route]]\nchannel = \"C\"\n[[route]]\nchannel = \"D\"\ngroup_wait = \"5s\"\ngrouping = false\n",
        );
        let [inherits, overrides] = &tuned.routes[..] else { panic!("two routes") };
        assert_eq!(
            (inherits.grouping.group_by.as_slice(), inherits.grouping.group_wait),
            ([GroupLabel::Site].as_slice(), Duration::from_secs(30))
        );
        assert_eq!((overrides.grouping.group_wait, overrides.grouping.enabled), (Duration::from_secs(5), false));
        assert_eq!(
            overrides.grouping.group_by,
            [GroupLabel::Site],
            "the keys it does not set come from [default_route]"
        );
        let unrouted_apart = parse("[default_route]\ngrouping = false\n[[route]]\nchannel = \"C\"\n");
        assert!(!unrouted_apart.default_route.enabled);
        assert!(unrouted_apart.routes[0].grouping.enabled, "a route groups unless it says otherwise");

        let slack = parse("[slack]\ndefault_channel = \"C0ALERTS\"\n[default_route]\ngroup_interval = \"0s\"\nrepeat_interval = \"10s\"\n");
        assert_eq!(slack.fallback_route().target(Platform::Slack), Some("C0ALERTS"));
        let problems = slack.problems().join("\n");
        assert!(problems.contains("[default_route] has group_interval 0"), "{problems}");
        assert!(problems.contains("[default_route] has repeat_interval below 1m"), "{problems}");
        assert!(toml::from_str::<Config>("[default_route]\nchannel = \"C\"\n")
            .unwrap_err()
            .to_string()
            .contains("unknown [default_route] key `channel`"));
    }

    #[test]
    fn the_default_route_pages_the_schedule_it_names_and_routes_do_not_inherit_it() {
        let people = "[[user]]\nchat_id = \"U0ALICE\"\nroles = []\nperson = \"alice\"\n";
        let web = "[[oncall]]\nname = \"web\"\ntimezone = \"UTC\"\n[[oncall.layer]]\nname = \"primary\"\npeople = [\"alice\"]\nstart = \"2024-01-01 09:00\"\nlength = \"1w\"\n";
        let policy = "[[escalation]]\nname = \"web\"\n[[escalation.step]]\nnotify = \"oncall\"\n";
        let config = parse(&format!(
            "{NAGIOS}{people}{web}{policy}[default_route]\ngroup_wait = \"5s\"\noncall = \"web\"\nescalation = \"web\"\n[[route]]\nchannel = \"C\"\n"
        ));
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        let fallback = config.fallback_route();
        assert_eq!((fallback.oncall.as_deref(), fallback.escalation.as_deref()), (Some("web"), Some("web")));
        assert_eq!(fallback.grouping.group_wait, Duration::from_secs(5));
        assert_eq!(config.routes[0].oncall, None, "a route pages only when it says so");

        let wrong = parse(&format!("{NAGIOS}{people}{web}[default_route]\noncall = \"db\"\nescalation = \"db\"\n"));
        let problems = wrong.problems().join("\n");
        assert!(
            problems.contains("[default_route] oncall = \"db\" names no [[oncall]] schedule (defined: web)"),
            "{problems}"
        );
        assert!(problems.contains("[default_route] escalation = \"db\" names no [[escalation]] policy"), "{problems}");
    }
}
