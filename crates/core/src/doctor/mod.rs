//! `hagios doctor`: what goes wrong on a first day, checked one line at a time — OK, WARN or
//! FAIL, each with the fix — for the user the service runs as: the Nagios side (the contact and
//! its commands, the macro form, the FIFO, status.dat, the spool Nagios writes into), the Icinga
//! API and each permission hagios needs, the state database (the SQLite file's folder, or the
//! PostgreSQL server, its schema and who leads), the chat platforms (tokens, the bot in every
//! channel) and the certificates of a split deployment.

pub mod access;
mod certs;
mod chat;
mod icinga;
mod nagios;
mod store;

use crate::config::Config;
use access::Account;
use std::fmt;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// What was checked, and for a problem what to do.
    pub text: String,
}

impl Finding {
    pub fn ok(text: impl Into<String>) -> Finding {
        Finding { level: Level::Ok, text: text.into() }
    }

    pub fn warn(text: impl Into<String>) -> Finding {
        Finding { level: Level::Warn, text: text.into() }
    }

    pub fn fail(text: impl Into<String>) -> Finding {
        Finding { level: Level::Fail, text: text.into() }
    }

    /// OK saying `what` when `result` is Ok, else FAIL with the reason.
    pub fn of(what: impl fmt::Display, result: Result<(), String>) -> Finding {
        match result {
            Ok(()) => Finding::ok(what.to_string()),
            Err(reason) => Finding::fail(reason),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Ok => "OK  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        write!(f, "{level} {}", self.text)
    }
}

/// Everything the doctor checks for `config`, as `user` would meet it.
pub async fn examine(config: &Config, user: &Account) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(nagios) = &config.nagios {
        findings.extend(nagios::examine(nagios, &config.spool.dir, user));
    }
    if let Some(icinga) = &config.icinga {
        findings.extend(icinga::examine(icinga, user).await);
    }
    findings.extend(stored(config, user));
    if config.agent.is_none() {
        findings.extend(store::examine(&config.store).await);
    }
    if let (Some(tls), Some(role)) = (&config.tls, link_role(config)) {
        let site = config.nagios.as_ref().and_then(|nagios| nagios.site.as_deref());
        findings.extend(certs::examine(tls, role, site, user));
    }
    if config.agent.is_none() {
        findings.extend(chat::examine(config).await);
    }
    findings
}

/// What `hagios config check` adds to its check of the file: whether `user` may read and write
/// every file hagios and the monitoring system share on this machine.
pub fn access(config: &Config, user: &Account) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(nagios) = &config.nagios {
        findings.extend(nagios::access(nagios, &config.spool.dir, user));
    }
    if let Some(icinga) = &config.icinga {
        findings.extend(icinga::files(icinga, user));
    }
    findings.extend(stored(config, user));
    if let (Some(tls), Some(_)) = (&config.tls, link_role(config)) {
        findings.extend(certs::readable(tls, user));
    }
    findings
}

/// How commands are timed and confirmed on the configured Nagios (`config check` prints it):
/// how often it writes status.dat and where that figure comes from, the deadline for a
/// command's final word, the log watched. `None` for Icinga 2, which answers each command.
pub fn command_timing(config: &Config) -> Option<String> {
    config.nagios.as_ref().map(|nagios| nagios::cadence(nagios).to_string())
}

/// Which end of the link this configuration is, if either.
fn link_role(config: &Config) -> Option<hagios_link::certs::Role> {
    use hagios_link::certs::Role;
    match (&config.agent, &config.bot) {
        (Some(_), _) => Some(Role::Agent),
        (None, Some(_)) => Some(Role::Bot),
        (None, None) => None,
    }
}

/// The user the service will run as: `name` when given; else, for root, the `hagios` system
/// user the packaged units run as, when there is one; else whoever runs this.
pub fn service_user(name: Option<&str>) -> Result<Account, String> {
    if let Some(name) = name {
        return Account::named(name).ok_or_else(|| format!("there is no local user `{name}` (in /etc/passwd)"));
    }
    let current = Account::current();
    Ok(match Account::named(SERVICE_USER) {
        Some(service) if current.is_root() => service,
        _ => current,
    })
}

/// The user the packaged systemd units run hagios as.
const SERVICE_USER: &str = "hagios";

/// The SQLite state database's folder: hagios writes the file and its journal there.
fn stored(config: &Config, user: &Account) -> Vec<Finding> {
    if config.agent.is_some() || config.store.url.is_some() {
        return Vec::new();
    }
    let folder = config.store.path.parent().unwrap_or(std::path::Path::new("/"));
    let writable = user.may(access::Access::Write, folder);
    vec![Finding::of(
        format!("{} may keep the state database in {}", user.name, folder.display()),
        writable.map_err(|reason| format!("the state database cannot be kept in {}: {reason}", folder.display())),
    )]
}
