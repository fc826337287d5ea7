//! Why a process could not start or stopped: each message names what to change.

use hagios_chat::platform::ConnectError;
use hagios_link::tls::TlsError;
use hagios_monitor::MonitorError;
use hagios_spool::SpoolError;
use hagios_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A section or key the process needs is missing; the message says what to add.
    #[error("{0}")]
    Missing(&'static str),
    #[error("cannot {what}: {cause}")]
    Spool { what: String, cause: SpoolError },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chat(#[from] ConnectError),
    #[error(transparent)]
    Monitor(#[from] MonitorError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The agent's site and its certificate disagree; the message says what to change.
    #[error("{0}")]
    Site(String),
    #[error("cannot listen on {address} ({key}): {cause}")]
    Listen {
        address: String,
        /// The key that names the address.
        key: &'static str,
        cause: std::io::Error,
    },
    #[error("the {task} stopped unexpectedly: {cause}")]
    Task { task: &'static str, cause: tokio::task::JoinError },
}

impl StartError {
    pub(crate) fn spool(what: impl Into<String>) -> impl FnOnce(SpoolError) -> StartError {
        let what = what.into();
        move |cause| StartError::Spool { what, cause }
    }

    pub(crate) fn task(task: &'static str) -> impl FnOnce(tokio::task::JoinError) -> StartError {
        move |cause| StartError::Task { task, cause }
    }
}
