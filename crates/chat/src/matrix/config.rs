//! The `[matrix]` section: the homeserver, the bot's user, and the homeservers whose people it
//! answers; its access token or password stays in the environment, never in the file.

use super::{MatrixChat, MatrixLogin};
use crate::platform::{ConnectError, Place, Section};
use crate::ChatAdapter;
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// The client-server API base, `https://matrix.example.org`.
    pub homeserver: String,
    /// The bot's full user id, `@hagios:example.org`.
    pub user: String,
    /// The environment variable holding the bot's access token.
    #[serde(default = "default_token_env")]
    pub access_token_env: String,
    /// The environment variable holding the bot's password, used when there is no token.
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// The room (id `!…:server` or alias `#…:server`) for notifications no `[[route]]` matches.
    pub default_room: String,
    /// The homeservers whose users may invite the bot and use its commands (`"*"`: every
    /// server of the federation); `None`, the default, is the bot's own server. Users of other
    /// servers are answered only when a `[[user]]` entry names them.
    #[serde(default)]
    pub allowed_servers: Option<Vec<String>>,
}

impl MatrixConfig {
    /// The login from the environment: the access token, else the password.
    pub fn login(&self) -> Result<MatrixLogin, ConnectError> {
        let secret = |variable: &str| std::env::var(variable).ok().filter(|value| !value.is_empty());
        match (secret(&self.access_token_env), secret(&self.password_env)) {
            (Some(token), _) => Ok(MatrixLogin::AccessToken(token)),
            (None, Some(password)) => Ok(MatrixLogin::Password(password)),
            (None, None) => Err(ConnectError::Secret {
                variable: self.access_token_env.clone(),
                what: format!("the Matrix bot's access token (or {} to its password)", self.password_env),
            }),
        }
    }

    /// The homeservers whose people the bot admits: `allowed_servers`, else its own server.
    pub(super) fn allowed(&self) -> Vec<&str> {
        match &self.allowed_servers {
            Some(allowed) => allowed.iter().map(String::as_str).collect(),
            None => server_of(&self.user).into_iter().collect(),
        }
    }

    /// Whether `user_id` lives on a homeserver whose people the bot admits.
    pub(super) fn admits(&self, user_id: &str) -> bool {
        let allowed = self.allowed();
        allowed.contains(&"*") || server_of(user_id).is_some_and(|server| allowed.contains(&server))
    }
}

/// The server name of a user id `@localpart:server` (with its port, when it has one).
fn server_of(user_id: &str) -> Option<&str> {
    let (_, server) = user_id.strip_prefix('@')?.split_once(':')?;
    (!server.is_empty()).then_some(server)
}

#[async_trait]
impl Section for MatrixConfig {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(self.homeserver.starts_with("https://") || self.homeserver.starts_with("http://")) {
            problems.push(format!("[matrix] homeserver `{}` must be like https://matrix.example.org", self.homeserver));
        }
        if !(self.user.starts_with('@') && self.user.contains(':')) {
            problems.push(format!("[matrix] user `{}` must be a full user id like @hagios:example.org", self.user));
        }
        if !is_room(&self.default_room) {
            problems.push(format!(
                "[matrix] default_room `{}` must be a room id (!…) or alias (#…:server)",
                self.default_room
            ));
        }
        for server in self.allowed_servers.iter().flatten() {
            if server != "*" && !is_server_name(server) {
                problems.push(format!(
                    "[matrix] allowed_servers entry `{server}` must be a server name like example.org (the part of a user id after the colon), or \"*\" for every server"
                ));
            }
        }
        problems
    }

    fn default_target(&self) -> &str {
        &self.default_room
    }

    fn target_problem(&self, room: &str) -> Option<String> {
        (!is_room(room)).then(|| format!("matrix_room `{room}` must be a room id (!…) or alias (#…:server)"))
    }

    /// Logs in with the access token, else the password; listening resumes from the place's
    /// position.
    async fn connect(&self, place: &Place) -> Result<Arc<dyn ChatAdapter>, ConnectError> {
        let refused = |what: &str| {
            let what = what.to_owned();
            move |cause| ConnectError::Refused { what, cause }
        };
        let chat = MatrixChat::new(self, self.login()?, place.resume.clone())
            .map_err(refused("cannot set up Matrix"))?
            .permitted_by(place.permit.clone());
        match chat.bot_user().await {
            Ok(user) => tracing::info!(bot_user = user, "connected to Matrix"),
            Err(e) if e.retryable() => {
                tracing::warn!(error = %e, "the Matrix homeserver is not reachable yet; delivery will retry")
            }
            Err(e) => return Err(refused("the Matrix homeserver refused the bot's login")(e)),
        }
        Ok(Arc::new(chat))
    }
}

/// A room id (`!…`; since room version 12 without `:server`) or an alias (`#…:server`).
fn is_room(room: &str) -> bool {
    room.len() > 1 && (room.starts_with('!') || (room.starts_with('#') && room.contains(':')))
}

/// A homeserver's name: a host name or IP literal with an optional port, as in user ids.
fn is_server_name(server: &str) -> bool {
    !server.is_empty()
        && server.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

fn default_token_env() -> String {
    "MATRIX_ACCESS_TOKEN".to_owned()
}

fn default_password_env() -> String {
    "MATRIX_PASSWORD".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        let matrix: MatrixConfig = toml::from_str(
            "homeserver = \"https://m.example.org\"\nuser = \"@hagios:example.org\"\ndefault_room = \"#alerts:example.org\"\n",
        )
        .unwrap();
        assert!(matrix.problems().is_empty(), "{:?}", matrix.problems());
        assert_eq!(
            (matrix.access_token_env.as_str(), matrix.password_env.as_str()),
            ("MATRIX_ACCESS_TOKEN", "MATRIX_PASSWORD")
        );
        assert_eq!(matrix.target_problem("!db:example.org"), None);
        assert!(matrix.target_problem("db").is_some());
        let bad: MatrixConfig = toml::from_str(
            "homeserver = \"m.example.org\"\nuser = \"hagios\"\ndefault_room = \"alerts\"\nallowed_servers = [\"@eve:evil.example\", \"\"]\n",
        )
        .unwrap();
        let problems = bad.problems().join("\n");
        for expected in [
            "like https://matrix",
            "full user id",
            "default_room `alerts`",
            "allowed_servers entry `@eve:evil.example` must be a server name",
            "allowed_servers entry `` must be",
        ] {
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
    }

    #[test]
    fn by_default_only_the_bots_own_server_is_admitted() {
        let section = |extra: &str| -> MatrixConfig {
            toml::from_str(&format!(
                "homeserver = \"https://m.example.org\"\nuser = \"@hagios:example.org\"\ndefault_room = \"#a:example.org\"\n{extra}"
            ))
            .unwrap()
        };
        let own = section("");
        assert!(own.admits("@olive:example.org"));
        for stranger in ["@eve:evil.example", "@eve:example.org.evil.example", "@eve:example.org:8448", "eve", "@eve:"] {
            assert!(!own.admits(stranger), "{stranger}");
        }
        let partners = section("allowed_servers = [\"example.org\", \"partner.example:8448\"]");
        assert!(partners.problems().is_empty(), "{:?}", partners.problems());
        assert!(partners.admits("@olive:example.org") && partners.admits("@pat:partner.example:8448"));
        assert!(!partners.admits("@pat:partner.example"), "a port is part of the server name");
        assert!(section("allowed_servers = [\"*\"]").admits("@anyone:anywhere.example"));
        let nobody = section("allowed_servers = []");
        assert!(!nobody.admits("@olive:example.org") && nobody.problems().is_empty());
    }
}
