//! Monitoring backends behind one `Monitor` trait (Nagios, Icinga 2). Each backend is a folder
//! with the same file names (`mod.rs`, `command.rs`, `state.rs`, `confirm.rs`); callers see only
//! typed actions, snapshots, the steps of a command as they happen and its final outcome.

pub mod cadence;
pub mod evidence;
pub mod icinga;
pub mod nagios;
mod readback;
mod single_flight;
mod validate;

use async_trait::async_trait;
pub use cadence::Cadence;
pub use evidence::EvidenceHub;
use hagios_domain::{Action, Outcome, SiteSnapshots, Snapshot, Step, System};
pub use single_flight::SingleFlight;
use std::sync::Arc;

/// Where a backend reports the [`Step`]s of a command as they happen. It is called from the
/// command's own task and must not block: forward into a channel, or record.
pub type Steps<'a> = &'a (dyn Fn(Step) + Send + Sync);

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

/// A copy for everyone waiting on the same failed read ([`SingleFlight`]); an I/O error keeps
/// its kind and message.
impl Clone for MonitorError {
    fn clone(&self) -> Self {
        match self {
            MonitorError::NotRunning { system, detail } => MonitorError::NotRunning { system, detail: detail.clone() },
            MonitorError::UnknownObject { kind, name, suggestion } => {
                MonitorError::UnknownObject { kind, name: name.clone(), suggestion: suggestion.clone() }
            }
            MonitorError::Refused(reason) => MonitorError::Refused(reason.clone()),
            MonitorError::RolledBack(reason) => MonitorError::RolledBack(reason.clone()),
            MonitorError::Unsupported(what) => MonitorError::Unsupported(what),
            MonitorError::State(reason) => MonitorError::State(reason.clone()),
            MonitorError::Remote { site, message, retryable } => {
                MonitorError::Remote { site: site.clone(), message: message.clone(), retryable: *retryable }
            }
            MonitorError::Io { context, cause } => MonitorError::Io {
                context: context.clone(),
                cause: std::io::Error::new(cause.kind(), cause.to_string()),
            },
        }
    }
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

    /// Validates the action against the current objects and sends it; then reports to `steps`
    /// what happens — [`Step::Sent`] once the command is handed over, [`Step::Received`] when
    /// the monitoring system shows it has it — and returns the final word: confirmed by the
    /// monitoring system's own evidence, not applied (and why), or, when the deadline passed
    /// without either, unconfirmed with what is known. An `Err` means nothing was sent.
    async fn execute_with(&self, action: &Action, author: &str, steps: Steps<'_>) -> Result<Outcome, MonitorError>;

    /// [`Self::execute_with`] for a caller that wants only the final word.
    async fn execute(&self, action: &Action, author: &str) -> Result<Outcome, MonitorError> {
        self.execute_with(action, author, &|_| {}).await
    }

    /// How this backend times the final word (`config check` and `status` show it); `None`
    /// where it does not read back a state file on a cadence.
    fn cadence(&self) -> Option<Cadence> {
        None
    }

    /// The hub on which this backend's waiting commands take the monitoring system's own
    /// notifications as evidence; whoever receives notifications for this site publishes
    /// each into it. `None` where notifications prove nothing a command waits for.
    fn evidence(&self) -> Option<EvidenceHub> {
        None
    }

    /// The monitoring system at `site` — at every site this backend spans, for `None`, when they
    /// all run the same — where the backend knows it from its sites: a bot's agents each say
    /// which they run. `None` where chat names the one configured backend.
    fn system(&self, _site: Option<&str>) -> Option<System> {
        None
    }

    /// Each site's own objects and state, and the sites that did not answer. A backend that is
    /// one site answers with its snapshot under its own name.
    async fn site_snapshots(&self) -> Result<Arc<SiteSnapshots>, MonitorError> {
        Ok(Arc::new(SiteSnapshots::one(self.site(), self.snapshot().await?)))
    }

    /// [`Monitor::execute_with`] at site `site` only: a command checked against one site's
    /// objects must never land at another that has an object of the same name.
    async fn execute_at_with(
        &self,
        site: &str,
        action: &Action,
        author: &str,
        steps: Steps<'_>,
    ) -> Result<Outcome, MonitorError> {
        if site != self.site() {
            return Err(MonitorError::Refused(format!("this hagios serves site `{}` only, not `{site}`", self.site())));
        }
        self.execute_with(action, author, steps).await
    }

    /// [`Self::execute_at_with`] for a caller that wants only the final word.
    async fn execute_at(&self, site: &str, action: &Action, author: &str) -> Result<Outcome, MonitorError> {
        self.execute_at_with(site, action, author, &|_| {}).await
    }
}
