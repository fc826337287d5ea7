//! Intake, where the stages begin: a spool record becomes a notification; one that can never be
//! read is quarantined with the reason. Also counts each record once, the first pass it is in,
//! and offers it then to the commands waiting for the monitor's word (`EvidenceHub`).

use super::stage::Verdict;
use super::DeliveryError;
use crate::observe::names;
use hagios_domain::Notification;
use hagios_monitor::EvidenceHub;
use hagios_spool::{RecordId, Spool};
use std::collections::HashSet;
use std::sync::Mutex;

/// The records of the last pass, so that a record waiting over many passes counts once.
#[derive(Default)]
pub struct Intake {
    seen: Mutex<HashSet<RecordId>>,
}

impl Intake {
    /// Counts the records of `pending` not in the last pass as spooled on `platform`, and
    /// returns them.
    pub fn count(&self, platform: &'static str, pending: &[RecordId]) -> Vec<RecordId> {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let new: Vec<RecordId> = pending.iter().filter(|id| !seen.contains(*id)).cloned().collect();
        metrics::counter!(names::SPOOLED, "platform" => platform).increment(new.len() as u64);
        *seen = pending.iter().cloned().collect();
        new
    }
}

/// Offers the notifications of the records `new` in this pass to the commands waiting on
/// `evidence` — at once, whatever the stages later decide (a group wait, quiet hours, a chat
/// outage hold up delivery, not the monitor's word). Read only while a command waits; a record
/// that cannot be read is left to [`read`].
pub fn offer_as_evidence(spool: &Spool, new: &[RecordId], evidence: &EvidenceHub) {
    if !evidence.awaited() {
        return;
    }
    for id in new {
        if let Ok(notification) = spool.read(id) {
            evidence.publish(&notification);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::{NotificationType, State};

    #[tokio::test]
    async fn new_records_are_offered_as_evidence_only_while_a_command_waits() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let ack = |host: &str| {
            super::super::group_tests::notification(host, "HTTP", NotificationType::Acknowledgement, State::Critical)
        };
        let intake = Intake::default();
        let evidence = EvidenceHub::new();

        spool.write(ack("web01")).unwrap();
        let new = intake.count("terminal", &spool.pending().unwrap());
        offer_as_evidence(&spool, &new, &evidence);

        let mut waiting = evidence.subscribe();
        spool.write(ack("web02")).unwrap();
        let new = intake.count("terminal", &spool.pending().unwrap());
        assert_eq!(new.len(), 1, "web01's record was new in the pass before");
        offer_as_evidence(&spool, &new, &evidence);
        let offered = waiting.next().await.expect("offered");
        assert_eq!(offered.object.host, "web02", "nobody waited when web01 came in");

        let new = intake.count("terminal", &spool.pending().unwrap());
        assert!(new.is_empty(), "a record held over passes is offered once");
    }
}
