//! What can go wrong with the spool, phrased for the operator who has to fix it.

use crate::record_id::RecordId;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error(
        "cannot {action} {}: permission denied — the user running hagios (for `hagios notify`, the Nagios user) \
         needs read, write and search permission on the spool directory and its tmp/, new/ and bad/ folders \
         (e.g. `chgrp -R nagios DIR && chmod -R g+rwX DIR`)",
        path.display()
    )]
    PermissionDenied { action: &'static str, path: PathBuf },
    #[error(
        "cannot {action} {}: no space left on the device — free space on that filesystem; \
         the notification was not spooled",
        path.display()
    )]
    DiskFull { action: &'static str, path: PathBuf },
    #[error("cannot {action} {}: {cause}", path.display())]
    Io { action: &'static str, path: PathBuf, cause: io::Error },
    /// The record is not a notification; it will never become one, so it belongs in `bad/`.
    #[error("spool record {id} is not a readable notification: {reason}")]
    Corrupt { id: RecordId, reason: String },
    /// The record is gone, most likely delivered and removed by another reader.
    #[error("spool record {0} no longer exists")]
    Missing(RecordId),
    #[error("cannot encode the notification as JSON: {0}")]
    Encode(String),
}

impl SpoolError {
    /// Sorts an I/O failure on `path` into the cases an operator fixes differently.
    pub(crate) fn io(action: &'static str, path: &Path, cause: io::Error) -> Self {
        let path = path.to_path_buf();
        match cause.kind() {
            io::ErrorKind::PermissionDenied => SpoolError::PermissionDenied { action, path },
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => SpoolError::DiskFull { action, path },
            _ => SpoolError::Io { action, path, cause },
        }
    }

    /// True when trying again later may succeed (the record stays where it is); false when the
    /// record itself is the problem and belongs in quarantine.
    pub fn retryable(&self) -> bool {
        match self {
            SpoolError::PermissionDenied { .. } | SpoolError::DiskFull { .. } | SpoolError::Io { .. } => true,
            SpoolError::Corrupt { .. } | SpoolError::Missing(_) | SpoolError::Encode(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_problems_name_the_path_and_the_fix() {
        let error = SpoolError::io(
            "write",
            Path::new("/var/spool/hagios/tmp/x.json"),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        let message = error.to_string();
        assert!(message.starts_with("cannot write /var/spool/hagios/tmp/x.json: permission denied"), "{message}");
        assert!(message.contains("Nagios user"), "{message}");
        assert!(error.retryable());
    }

    #[test]
    fn a_full_disk_says_so_and_can_be_retried() {
        let error =
            SpoolError::io("write", Path::new("/spool/tmp/x.json"), io::Error::from(io::ErrorKind::StorageFull));
        assert!(matches!(error, SpoolError::DiskFull { .. }));
        assert!(error.to_string().contains("no space left on the device"));
        assert!(error.retryable());
    }
}
