//! Intake, where the stages begin: a spool record becomes a notification; one that can never be
//! read is quarantined with the reason. Also counts each record once, the first pass it is in.

use super::stage::Verdict;
use super::DeliveryError;
use crate::observe::names;
use hagios_domain::Notification;
use hagios_spool::{RecordId, Spool};
use std::collections::HashSet;
use std::sync::Mutex;

/// The records of the last pass, so that a record waiting over many passes counts once.
#[derive(Default)]
pub struct Intake {
    seen: Mutex<HashSet<RecordId>>,
}

impl Intake {
    /// Counts the records of `pending` not in the last pass as spooled on `platform`.
    pub fn count(&self, platform: &'static str, pending: &[RecordId]) {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let new = pending.iter().filter(|id| !seen.contains(*id)).count();
        metrics::counter!(names::SPOOLED, "platform" => platform).increment(new as u64);
        *seen = pending.iter().cloned().collect();
    }
}

/// The notification in record `id`, or the verdict for a record that can never be read.
pub fn read(spool: &Spool, id: &RecordId) -> Result<Result<Notification, Verdict>, DeliveryError> {
    match spool.read(id) {
        Ok(notification) => Ok(Ok(notification)),
        Err(e) if !e.retryable() => Ok(Err(Verdict::Quarantine(format!("unreadable spool record: {e}")))),
        Err(e) => Err(e.into()),
    }
}
