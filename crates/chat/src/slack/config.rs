//! The `[slack]` section: Socket Mode and the Web API; the tokens themselves stay in the
//! environment, never in the file.

use super::SlackChat;
use crate::platform::{ConnectError, Place, Section};
use crate::ChatAdapter;
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

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
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The channel (id or name) for notifications no `[[route]]` matches.
    pub default_channel: String,
    /// Socket Mode connections kept open.
    #[serde(default = "default_socket_connections")]
    pub socket_connections: u32,
}

/// The bot and app tokens; secrets, never printed.
#[derive(Clone)]
pub struct SlackTokens {
    /// The bot token (`xoxb-…`) for Web API calls.
    pub bot: String,
    /// The app-level token (`xapp-…`) that opens Socket Mode connections.
    pub app: String,
}

impl SlackConfig {
    /// The section for the Web API at `api_url` with every other key at its default.
    pub fn at(api_url: impl Into<String>, default_channel: impl Into<String>) -> SlackConfig {
        SlackConfig {
            bot_token_env: default_bot_token_env(),
            app_token_env: default_app_token_env(),
            api_url: api_url.into(),
            default_channel: default_channel.into(),
            socket_connections: default_socket_connections(),
        }
    }

    /// The tokens from the environment variables the section names.
    pub fn tokens(&self) -> Result<SlackTokens, ConnectError> {
        let token = |variable: &str, what: &str| {
            std::env::var(variable)
                .map_err(|_| ConnectError::Secret { variable: variable.to_owned(), what: format!("the Slack {what}") })
        };
        Ok(SlackTokens {
            bot: token(&self.bot_token_env, "bot token (xoxb-…)")?,
            app: token(&self.app_token_env, "app-level token (xapp-…)")?,
        })
    }
}

#[async_trait]
impl Section for SlackConfig {
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

    fn default_target(&self) -> &str {
        &self.default_channel
    }

    /// Groups and reminders find their messages by the channel id messages carry, so a route
    /// names a channel by id.
    fn target_problem(&self, channel: &str) -> Option<String> {
        let name = channel.starts_with('#') || channel.chars().any(|c| c.is_lowercase());
        name.then(|| {
            format!(
                "channel `{channel}` is a channel name: give the channel's id (C…, shown at the bottom of the \
                 channel's details in Slack), by which hagios finds its alert groups and reminders"
            )
        })
    }

    async fn connect(&self, _place: &Place) -> Result<Arc<dyn ChatAdapter>, ConnectError> {
        let refused = |what: &str| {
            let what = what.to_owned();
            move |cause| ConnectError::Refused { what, cause }
        };
        let chat = SlackChat::new(self, self.tokens()?).map_err(refused("cannot set up Slack"))?;
        match chat.bot_user().await {
            Ok(user) => tracing::info!(bot_user = user, "connected to Slack"),
            Err(e) if e.retryable() => tracing::warn!(error = %e, "Slack is not reachable yet; delivery will retry"),
            Err(e) => return Err(refused("Slack refused the bot token")(e)),
        }
        Ok(Arc::new(chat))
    }
}

fn default_bot_token_env() -> String {
    "SLACK_BOT_TOKEN".to_owned()
}

fn default_app_token_env() -> String {
    "SLACK_APP_TOKEN".to_owned()
}

fn default_api_url() -> String {
    "https://slack.com/api".to_owned()
}

fn default_socket_connections() -> u32 {
    2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks() {
        let slack: SlackConfig = toml::from_str("default_channel = \"C0ALERTS\"\n").unwrap();
        assert_eq!(
            (
                slack.bot_token_env.as_str(),
                slack.app_token_env.as_str(),
                slack.api_url.as_str(),
                slack.socket_connections
            ),
            ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "https://slack.com/api", 2)
        );
        assert!(slack.problems().is_empty());
        let bad: SlackConfig =
            toml::from_str("default_channel = \"\"\napi_url = \"slack.com\"\nsocket_connections = 0\n").unwrap();
        let problems = bad.problems().join("\n");
        for expected in ["default_channel is empty", "not an http(s) URL", "between 1 and 10"] {
            assert!(problems.contains(expected), "{problems}");
        }
        assert!(slack.target_problem("#ops").is_some_and(|problem| problem.contains("channel `#ops`")));
        assert_eq!(slack.target_problem("C0OPS"), None);
    }
}
