//! Intake, where the stages begin: a spool record becomes a notification; one that can never be
//! read is quarantined with the reason.

use super::stage::Verdict;
use super::DeliveryError;
use hagios_domain::Notification;
use hagios_spool::{RecordId, Spool};

/// The notification in record `id`, or the verdict for a record that can never be read.
pub fn read(spool: &Spool, id: &RecordId) -> Result<Result<Notification, Verdict>, DeliveryError> {
    match spool.read(id) {
        Ok(notification) => Ok(Ok(notification)),
        Err(e) if !e.retryable() => Ok(Err(Verdict::Quarantine(format!("unreadable spool record: {e}")))),
        Err(e) => Err(e.into()),
    }
}
