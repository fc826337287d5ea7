//! Store failures, split into "try again shortly" and "something is wrong with this request or file".

use crate::IncidentId;
use hagios_domain::ObjectRef;
use rusqlite::ErrorCode;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the state database {}: {cause} — check that its directory exists and that the user \
         running hagios may write there",
        path.display()
    )]
    Open { path: PathBuf, cause: rusqlite::Error },
    #[error(
        "the state database has schema version {found}, but this hagios understands versions 0 to {supported}; \
         run the (newer) hagios that wrote it, or check that the path names hagios' state database"
    )]
    UnknownSchema { found: i64, supported: i64 },
    #[error("state database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The notification was committed before, so this delivery was a duplicate.
    #[error("notification {0} was already delivered")]
    AlreadyDelivered(String),
    #[error("an incident for {object} on site {site} is already open")]
    IncidentAlreadyOpen { site: String, object: ObjectRef },
    #[error("incident {0} does not exist")]
    NoSuchIncident(IncidentId),
    #[error("alert group {0} does not exist")]
    NoSuchGroup(crate::GroupId),
}

/// By hand rather than `#[from]`, which would also make the SQLite error the `source()` its
/// message already quotes: a chain printed whole would say it twice.
impl From<rusqlite::Error> for StoreError {
    fn from(cause: rusqlite::Error) -> Self {
        StoreError::Sqlite(cause)
    }
}

impl StoreError {
    /// True when the same call may succeed later: another process holds a lock, or the disk is
    /// full for now.
    pub fn retryable(&self) -> bool {
        let sqlite = match self {
            StoreError::Sqlite(e) | StoreError::Open { cause: e, .. } => e,
            _ => return false,
        };
        matches!(
            sqlite.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None))
    }

    #[test]
    fn locks_and_a_full_disk_are_worth_retrying() {
        assert!(sqlite(ffi::SQLITE_BUSY).retryable());
        assert!(sqlite(ffi::SQLITE_LOCKED).retryable());
        assert!(sqlite(ffi::SQLITE_FULL).retryable());
        assert!(!sqlite(ffi::SQLITE_CORRUPT).retryable());
        assert!(!StoreError::AlreadyDelivered("n1".into()).retryable());
    }
}
