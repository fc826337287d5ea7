//! The `[terminal]` section: chat on stdin and stdout, where hagios talks when no other platform
//! is configured.

use super::TerminalChat;
use crate::platform::{ConnectError, Place, Section};
use crate::ChatAdapter;
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalConfig {
    /// The chat user id that terminal input is attributed to; grant it roles with `[[user]]`.
    #[serde(default = "default_user")]
    pub user: String,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig { user: default_user() }
    }
}

#[async_trait]
impl Section for TerminalConfig {
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }

    fn default_target(&self) -> &str {
        super::CHANNEL
    }

    async fn connect(&self, place: &Place) -> Result<Arc<dyn ChatAdapter>, ConnectError> {
        Ok(Arc::new(TerminalChat::stdio(self.user.clone(), place.first_message_number)))
    }
}

fn default_user() -> String {
    "local".to_owned()
}
