//! Monitoring backends behind one `Monitor` trait (Nagios, Icinga 2). Each backend is a folder
//! with the same file names (`mod.rs`, `command.rs`, `state.rs`, `confirm.rs`); callers see only
//! typed actions, snapshots and confirmed outcomes.

pub mod icinga;
pub mod nagios;
mod readback;
mod validate;

use async_trait::async_trait;
use hagios_domain::{Action, Outcome, Snapshot};
use std::sync::Arc;

/// Why a backend could not do what was asked. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("{system} is not running ({detail}); start it, then try again")]
    NotRunning { system: &'static str, detail: String },
    #[error("unknown {kind} `{name}`{}", suggestion_suffix(.suggestion))]
    UnknownObject { kind: &'static str, name: String, suggestion: Option<String> },
    #[error("refused: {0}")]
    Refused(String),
    /// A change was made, not confirmed, and taken back; the message says where things stand.
    #[error("{0}")]
    RolledBack(String),
    #[error("{0} is not supported by this backend")]
    Unsupported(&'static str),
    #[error("cannot read monitoring state: {0}")]
    State(String),
    /// A site behind an agent answered with an error (split deployment).
    #[error("site `{site}`: {message}")]
    Remote { site: String, message: String, retryable: bool },
    #[error("{context}: {cause}")]
    Io { context: String, cause: std::io::Error },
}

fn suggestion_suffix(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
}

impl MonitorError {
    /// Worth trying again later without changing the request.
    pub fn retryable(&self) -> bool {
        match self {
            MonitorError::Remote { retryable, .. } => *retryable,
            other => {
                matches!(other, MonitorError::NotRunning { .. } | MonitorError::State(_) | MonitorError::Io { .. })
            }
        }
    }
}

/// A monitoring system hagios can read and act on.
#[async_trait]
pub trait Monitor: Send + Sync {
    /// The site name this backend serves (shown in chat, keys incidents).
    fn site(&self) -> &str;

    /// Current objects and state; cached by the backend and refreshed when the source changes.
    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError>;

    /// Validates the action against the current objects, sends it, and waits for the
    /// monitoring system's own state to show the effect (or for the confirmation timeout).
    async fn execute(&self, action: &Action, author: &str) -> Result<Outcome, MonitorError>;
}
