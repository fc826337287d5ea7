//! The `[matrix]` section: the homeserver and the bot's user; its access token or password
//! stays in the environment, never in the file.

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
        problems
    }

    fn default_target(&self) -> &str {
        &self.default_room
    }

    fn target_problem(&self, room: &str) -> Option<String> {
        (!is_room(room)).then(|| format!("matrix_room `{room}` must be a room id (!…) or alias (#…:server)"))
    }

    /// Logs in with the access token, else the password; the sync position is kept in the
    /// place's state file.
    async fn connect(&self, place: &Place) -> Result<Arc<dyn ChatAdapter>, ConnectError> {
        let refused = |what: &str| {
            let what = what.to_owned();
            move |source| ConnectError::Refused { what, source }
        };
        let chat =
            MatrixChat::new(self, self.login()?, place.state_file.clone()).map_err(refused("cannot set up Matrix"))?;
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
        let bad: MatrixConfig =
            toml::from_str("homeserver = \"m.example.org\"\nuser = \"hagios\"\ndefault_room = \"alerts\"\n").unwrap();
        let problems = bad.problems().join("\n");
        for expected in ["like https://matrix", "full user id", "default_room `alerts`"] {
            assert!(problems.contains(expected), "{expected}: {problems}");
        }
    }
}
