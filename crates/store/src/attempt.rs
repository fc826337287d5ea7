//! Delivery attempts: a notification is marked before its chat message is sent and unmarked in
//! the transaction that commits the delivery. A mark found on the next try means a message may
//! already be in chat (the process died between sending and committing, or the answer was lost),
//! so the pipeline looks it up by the notification id before sending again.

use crate::{Store, StoreError};
use rusqlite::{params, Connection};

impl Store {
    /// Marks the start of an attempt to deliver `notification_id`; returns whether an earlier
    /// attempt was left unfinished.
    pub fn begin_attempt(&self, notification_id: &str, now: i64) -> Result<bool, StoreError> {
        let connection = self.connection();
        let inserted = connection.execute(
            "INSERT OR IGNORE INTO delivery_attempts (platform, notification_id, started_at) VALUES (?1, ?2, ?3)",
            params![self.platform(), notification_id, now],
        )?;
        Ok(inserted == 0)
    }
}

/// Clears the mark as part of committing the delivery.
pub(crate) fn finish(connection: &Connection, platform: &str, notification_id: &str) -> Result<(), StoreError> {
    connection.execute(
        "DELETE FROM delivery_attempts WHERE platform = ?1 AND notification_id = ?2",
        params![platform, notification_id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Delivery, IncidentChange, Store};

    #[test]
    fn an_unfinished_attempt_is_remembered_until_the_delivery_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path).unwrap();
        assert!(!store.begin_attempt("n1", 1).unwrap(), "first attempt");
        drop(store);
        let store = Store::open(&path).unwrap();
        assert!(store.begin_attempt("n1", 2).unwrap(), "survives a restart");
        let delivery = Delivery { channel: "C".into(), message_id: "1.0".into(), at: 3 };
        store.commit_notification("n1", &delivery, &IncidentChange::None).unwrap();
        assert!(!store.begin_attempt("n1", 4).unwrap(), "committing cleared the mark");
    }
}
