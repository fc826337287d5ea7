//! `[store]`: where the state lives — an SQLite file (`path`, the default) or a PostgreSQL
//! database (`url`, for several bots; its password from the environment) — how long rows are
//! kept, and how long a bot's lead lasts. Every key is in docs/configuration.md.

use crate::MIN_KEEP_SECONDS;
use hagios_domain::config_text::duration;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The variable holding the PostgreSQL password when `password_env` is left out.
pub const DEFAULT_PASSWORD_ENV: &str = "HAGIOS_STORE_PASSWORD";
/// The shortest `lease` accepted: the leader renews five times per lease, and PostgreSQL ends a
/// paused leader's open transaction after [`crate::sql::postgres::IDLE_IN_TRANSACTION`].
const MIN_LEASE: Duration = Duration::from_secs(6);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file; with `url`, only where files of a chat platform's own go (beside it).
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// `postgres://user@host:port/database`: the state in PostgreSQL instead of the file.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable that holds the PostgreSQL password (never the file).
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// How long deliveries, closed incidents and groups, attempts and ended snoozes are kept
    /// (what goes and what never does: retention.rs).
    #[serde(default = "default_keep", with = "duration")]
    pub keep: Duration,
    /// How long the audit log is kept; forever when left out.
    #[serde(default, deserialize_with = "duration::optional")]
    pub keep_audit: Option<Duration>,
    /// With PostgreSQL: how long a bot leads without renewing; the standby takes over about this
    /// long after the leader died.
    #[serde(default = "default_lease", with = "duration")]
    pub lease: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: default_path(),
            url: None,
            password_env: default_password_env(),
            keep: default_keep(),
            keep_audit: None,
            lease: default_lease(),
        }
    }
}

impl StoreConfig {
    /// The PostgreSQL password, from the variable `password_env` names; `None` when unset (a
    /// server that trusts the connection, or a password from `~/.pgpass` is not read: set it).
    pub fn password(&self) -> Option<String> {
        std::env::var(&self.password_env).ok().filter(|password| !password.is_empty())
    }

    /// `url` without any password, for messages.
    pub fn shown_url(&self) -> Option<String> {
        self.url.as_deref().map(redacted)
    }

    /// Everything wrong with the section, each with what to do.
    pub fn problems(&self) -> Vec<String> {
        let shortest = Duration::from_secs(MIN_KEEP_SECONDS.unsigned_abs());
        let mut problems = Vec::new();
        if self.keep < shortest {
            problems.push(format!(
                "[store] keep = \"{}\" is shorter than 1 day: a notification can arrive again after a crash or a \
                 lost acknowledgement, and only its kept delivery stops a second post; use at least \"1d\" (default \
                 \"90d\")",
                humantime::format_duration(self.keep)
            ));
        }
        if let Some(keep_audit) = self.keep_audit.filter(|keep_audit| *keep_audit < shortest) {
            problems.push(format!(
                "[store] keep_audit = \"{}\" is shorter than 1 day: use at least \"1d\", or leave it out to keep the \
                 audit log forever",
                humantime::format_duration(keep_audit)
            ));
        }
        if self.lease < MIN_LEASE {
            problems.push(format!(
                "[store] lease = \"{}\" is too short: use at least \"{}\" (default \"10s\")",
                humantime::format_duration(self.lease),
                humantime::format_duration(MIN_LEASE)
            ));
        }
        if let Some(url) = &self.url {
            problems.extend(url_problem(url, &self.password_env));
        }
        problems
    }
}

fn url_problem(url: &str, password_env: &str) -> Option<String> {
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Some(format!(
            "[store] url = \"{}\" is not a PostgreSQL URL: write postgres://user@host:5432/database (SQLite takes \
             path instead)",
            redacted(url)
        ));
    }
    match url.parse::<postgres::Config>() {
        Err(e) => Some(format!("[store] url = \"{}\" cannot be read: {e}", redacted(url))),
        Ok(config) if config.get_password().is_some() => Some(format!(
            "[store] url holds a password: remove it from the file and put it in the environment variable \
             {password_env} ([store] password_env)"
        )),
        Ok(_) => None,
    }
}

/// `url` without a password, for messages and logs.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = rest.split_once('/').map_or((rest, None), |(authority, tail)| (authority, Some(tail)));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => format!("{}@{host}", user.split_once(':').map_or(user, |(name, _)| name)),
        None => authority.to_owned(),
    };
    let tail = tail.map(|tail| format!("/{}", without_password_parameter(tail))).unwrap_or_default();
    format!("{scheme}://{authority}{tail}")
}

fn without_password_parameter(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else { return tail.to_owned() };
    let kept: Vec<&str> = query.split('&').filter(|pair| !pair.starts_with("password=")).collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

fn default_path() -> PathBuf {
    PathBuf::from("/var/lib/hagios/state.db")
}

fn default_password_env() -> String {
    DEFAULT_PASSWORD_ENV.to_owned()
}

fn default_keep() -> Duration {
    Duration::from_secs(90 * 86_400)
}

fn default_lease() -> Duration {
    Duration::from_secs(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(text: &str) -> StoreConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn sqlite_by_default_postgres_by_url_with_the_password_from_the_environment() {
        let default = store("");
        assert_eq!((default.url, default.password_env.as_str()), (None, "HAGIOS_STORE_PASSWORD"));
        assert_eq!(default.lease, Duration::from_secs(10));
        let postgres = store("url = \"postgres://hagios@db.example.org:5432/hagios\"\npassword_env = \"PG_PASS\"");
        assert!(postgres.problems().is_empty(), "{:?}", postgres.problems());
        assert_eq!(postgres.password_env, "PG_PASS");
    }

    #[test]
    fn a_password_in_the_url_a_foreign_url_and_a_short_lease_are_refused() {
        let secret = store("url = \"postgres://hagios:s3cret@db:5432/hagios\"").problems();
        assert_eq!(secret.len(), 1, "{secret:?}");
        assert!(secret[0].contains("HAGIOS_STORE_PASSWORD") && !secret[0].contains("s3cret"), "{secret:?}");
        let query = store("url = \"postgres://hagios@db/hagios?password=s3cret\"").problems();
        assert!(query[0].contains("password_env") && !query[0].contains("s3cret"), "{query:?}");
        let mysql = store("url = \"mysql://hagios:s3cret@db/hagios\"").problems();
        assert!(mysql[0].contains("not a PostgreSQL URL") && !mysql[0].contains("s3cret"), "{mysql:?}");
        let short = store("lease = \"2s\"").problems();
        assert!(short[0].contains("lease = \"2s\" is too short"), "{short:?}");
    }

    #[test]
    fn urls_are_shown_without_passwords() {
        assert_eq!(redacted("postgres://hagios:s3cret@db:5432/hagios"), "postgres://hagios@db:5432/hagios");
        assert_eq!(redacted("postgres://db/hagios?password=x&sslmode=require"), "postgres://db/hagios?sslmode=require");
        assert_eq!(redacted("postgres://hagios@db/hagios"), "postgres://hagios@db/hagios");
    }
}
