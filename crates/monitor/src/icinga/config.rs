//! The `[icinga]` section: where an Icinga 2 API is, how to trust it and log in, and the one rule
//! for a login (a password user, or a client certificate and key, never both). The check of the
//! section and [`super::IcingaMonitor`] both go by it.

use super::client::Credentials;
use crate::nagios::default_site;
use crate::MonitorError;
use hagios_domain::config_text::duration;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An Icinga 2 site reached through its REST API.
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
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// The CA that signed the API certificate; the system roots when left out.
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// `http://` sends the API password in clear; it is refused unless this says yes.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Name of the event-stream queue; distinct per hagios process talking to one Icinga.
    #[serde(default = "default_queue")]
    pub event_queue: String,
    /// How long to read an accepted command's effect back before answering "not yet confirmed".
    #[serde(default = "default_confirm_timeout", with = "duration")]
    pub confirm_timeout: Duration,
}

/// How hagios logs in, as the section names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login<'a> {
    /// An `ApiUser` with a password, read from `password_env`.
    Password { user: &'a str },
    /// An `ApiUser` whose `client_cn` is this certificate's CN.
    Certificate { cert_file: &'a Path, key_file: &'a Path },
}

impl IcingaConfig {
    /// The API at `url` trusted through `ca_file`, with every other key at its default (and no
    /// login yet: set `user` or the client certificate).
    pub fn at(url: impl Into<String>, ca_file: Option<PathBuf>) -> IcingaConfig {
        IcingaConfig {
            site: default_site(),
            url: url.into(),
            user: None,
            password_env: default_password_env(),
            ca_file,
            client_cert: None,
            client_key: None,
            allow_insecure_http: false,
            event_queue: default_queue(),
            confirm_timeout: default_confirm_timeout(),
        }
    }

    /// The login the section names, or what is wrong with it.
    pub fn login(&self) -> Result<Login<'_>, String> {
        match (&self.user, &self.client_cert, &self.client_key) {
            (Some(user), None, None) => Ok(Login::Password { user }),
            (None, Some(cert_file), Some(key_file)) => Ok(Login::Certificate { cert_file, key_file }),
            (None, None, None) => {
                Err("[icinga] needs a login: user (password in password_env) or client_cert and client_key".to_owned())
            }
            (_, Some(_), None) | (_, None, Some(_)) => {
                Err("[icinga] client_cert and client_key go together: set both".to_owned())
            }
            (Some(_), Some(_), Some(_)) => {
                Err("[icinga] set either user or client_cert/client_key, not both".to_owned())
            }
        }
    }

    /// What `hagios config check` says about this section.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.url.starts_with("http://") && !self.allow_insecure_http {
            problems.push(format!(
                "[icinga] url `{}` is plain http: the API password and everything hagios reads would cross the \
                 network in clear; use https:// (Icinga's API speaks TLS on 5665), or set allow_insecure_http = true \
                 if this connection never leaves the machine",
                self.url
            ));
        } else if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            problems.push(format!("[icinga] url `{}` must be like https://icinga.example.com:5665", self.url));
        }
        problems.extend(self.login().err());
        problems
    }

    /// The login with its secret: the password from `password_env`, or the certificate files.
    pub fn credentials(&self) -> Result<Credentials, MonitorError> {
        match self.login().map_err(MonitorError::Refused)? {
            Login::Password { user } => {
                let password = std::env::var(&self.password_env).map_err(|_| {
                    MonitorError::Refused(format!(
                        "set the Icinga 2 API password in the environment variable {}",
                        self.password_env
                    ))
                })?;
                Ok(Credentials::Password { user: user.to_owned(), password })
            }
            Login::Certificate { cert_file, key_file } => Ok(Credentials::ClientCertificate {
                cert_file: cert_file.to_path_buf(),
                key_file: key_file.to_path_buf(),
            }),
        }
    }
}

fn default_password_env() -> String {
    "HAGIOS_ICINGA_PASSWORD".to_owned()
}

/// Icinga shows an accepted action in its objects at once; this only covers a slow API.
fn default_confirm_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_queue() -> String {
    "hagios".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> IcingaConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn defaults_and_the_one_login_rule() {
        let icinga = parse("url = \"https://icinga:5665\"\nuser = \"hagios\"\nca_file = \"/ca.crt\"\n");
        assert!(icinga.problems().is_empty(), "{:?}", icinga.problems());
        assert_eq!((icinga.password_env.as_str(), icinga.event_queue.as_str()), ("HAGIOS_ICINGA_PASSWORD", "hagios"));
        assert_eq!(icinga.login(), Ok(Login::Password { user: "hagios" }));
        for (login, problem) in [
            ("", "needs a login"),
            ("client_cert = \"/c.pem\"", "go together"),
            ("user = \"u\"\nclient_cert = \"/c\"\nclient_key = \"/k\"", "not both"),
        ] {
            let icinga = parse(&format!("url = \"https://i:5665\"\n{login}\n"));
            assert!(icinga.problems().join("\n").contains(problem), "{login}: {:?}", icinga.problems());
            assert!(icinga.credentials().unwrap_err().to_string().contains(problem), "the backend says the same");
        }
    }

    #[test]
    fn plain_http_is_refused_unless_explicitly_allowed() {
        let plain = parse("url = \"http://icinga:5665\"\nuser = \"hagios\"\n");
        assert!(plain.problems().join("\n").contains("plain http"), "{:?}", plain.problems());
        let allowed = parse("url = \"http://127.0.0.1:5665\"\nuser = \"hagios\"\nallow_insecure_http = true\n");
        assert!(allowed.problems().is_empty(), "{:?}", allowed.problems());
        let nonsense = parse("url = \"icinga:5665\"\nuser = \"hagios\"\n");
        assert!(nonsense.problems().join("\n").contains("must be like https://"));
    }
}
