//! Store failures, split into "try again shortly" and "something is wrong with this request or
//! database".

use crate::sql::DbError;
use crate::IncidentId;
use hagios_domain::ObjectRef;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the state database {}: {cause} — check that its directory exists and that the user \
         running hagios may write there",
        path.display()
    )]
    Open { path: PathBuf, cause: DbError },
    #[error(
        "cannot connect to the state database {url}: {cause} — check [store] url, that the server is up and \
         reachable, and the password in the variable [store] password_env names"
    )]
    Connect {
        /// The configured URL without any password.
        url: String,
        cause: DbError,
    },
    #[error(
        "the state database has schema version {found}, but this hagios understands versions 0 to {supported}; \
         run the (newer) hagios that wrote it, or check that the store names hagios' state database"
    )]
    UnknownSchema { found: i64, supported: i64 },
    #[error("state database error: {0}")]
    Database(DbError),
    /// The notification was committed before, so this delivery was a duplicate.
    #[error("notification {0} was already delivered")]
    AlreadyDelivered(String),
    #[error("an incident for {object} on site {site} is already open")]
    IncidentAlreadyOpen { site: String, object: ObjectRef },
    #[error("incident {0} does not exist")]
    NoSuchIncident(IncidentId),
    #[error("alert group {0} does not exist")]
    NoSuchGroup(crate::GroupId),
    /// A write of a leadership term that has ended: another bot leads now.
    #[error(
        "this bot no longer leads (its term {epoch} ended; term {current} runs now): the write is left to the leader"
    )]
    NotLeader { epoch: i64, current: i64 },
    /// `hagios store copy` refuses to mix a database into one that holds rows already.
    #[error("{0}")]
    CopyRefused(String),
}

/// By hand rather than `#[from]`, which would also make the engine's error the `source()` its
/// message already quotes: a chain printed whole would say it twice.
impl From<DbError> for StoreError {
    fn from(cause: DbError) -> Self {
        StoreError::Database(cause)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(error.into())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        StoreError::Database(error.into())
    }
}

impl StoreError {
    /// True when the same call may succeed later: another process holds a lock, the disk is
    /// full for now, the database server is restarting or unreachable — or this bot lost the
    /// lead, and the work waits for the next term (here or on another bot).
    pub fn retryable(&self) -> bool {
        match self {
            StoreError::Database(e) | StoreError::Open { cause: e, .. } | StoreError::Connect { cause: e, .. } => {
                e.retryable()
            }
            StoreError::NotLeader { .. } => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> StoreError {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None).into()
    }

    #[test]
    fn locks_a_full_disk_and_a_lost_lead_are_worth_retrying() {
        assert!(sqlite(ffi::SQLITE_BUSY).retryable());
        assert!(sqlite(ffi::SQLITE_LOCKED).retryable());
        assert!(sqlite(ffi::SQLITE_FULL).retryable());
        assert!(!sqlite(ffi::SQLITE_CORRUPT).retryable());
        assert!(!StoreError::AlreadyDelivered("n1".into()).retryable());
        assert!(StoreError::NotLeader { epoch: 1, current: 2 }.retryable());
    }
}
