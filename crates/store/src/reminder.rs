//! Reminders for open incidents nobody acknowledged (`repeat_interval`): which incidents are
//! due, and the record of each reminder posted, so that a restart neither repeats nor skips one.

use crate::incident::{incident_from_row, Incident};
use crate::{Store, StoreError};
use rusqlite::params;

/// An open incident whose last reminder (or opening) is old enough for another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    pub incident: Incident,
    /// Reminders posted so far.
    pub reminders: u32,
    /// The channel and id of its group's message when the incident was opened in a group: its
    /// reminders go into the group's thread.
    pub group_message: Option<(String, String)>,
}

impl Store {
    /// Open incidents in `channel` last reminded of (or opened) at `due_at` or earlier, oldest
    /// first. Their history is not loaded; the card carries what the reminder needs.
    pub fn due_reminders(&self, channel: &str, due_at: i64) -> Result<Vec<DueReminder>, StoreError> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT i.id, i.site, i.host, i.service, i.channel, i.message_id, i.state, i.card, i.opened_at,
                    i.closed_at, i.reminders, g.channel, g.message_id
             FROM incidents i
             LEFT JOIN alert_group_members m ON m.incident_id = i.id
             LEFT JOIN alert_groups g ON g.id = m.group_id
             WHERE i.closed_at IS NULL AND i.platform = ?1 AND i.channel = ?2
                   AND COALESCE(i.reminded_at, i.opened_at) <= ?3
             ORDER BY i.id",
        )?;
        let due = statement.query_map(params![self.platform(), channel, due_at], |row| {
            let group_channel: Option<String> = row.get(11)?;
            let group_message: Option<String> = row.get(12)?;
            Ok(DueReminder {
                incident: incident_from_row(row)?,
                reminders: row.get(10)?,
                group_message: group_channel.zip(group_message),
            })
        })?;
        Ok(due.collect::<Result<_, _>>()?)
    }

    /// Records reminder number `reminders` of `incident`, posted at `at`, and clears the
    /// delivery attempt `attempt_key` it was posted under, in one transaction.
    pub fn record_reminder(
        &self,
        incident: crate::IncidentId,
        reminders: u32,
        at: i64,
        attempt_key: &str,
    ) -> Result<(), StoreError> {
        self.in_transaction(|transaction| {
            let changed = transaction.execute(
                "UPDATE incidents SET reminders = ?2, reminded_at = ?3 WHERE id = ?1",
                params![incident.0, reminders, at],
            )?;
            if changed == 0 {
                return Err(StoreError::NoSuchIncident(incident));
            }
            crate::attempt::finish(transaction, self.platform(), attempt_key)
        })
    }

    /// Restarts the reminder clock of `incident` at `at` without posting (used when a reminder
    /// is not wanted now, e.g. the incident is acknowledged), so it is not looked at every pass.
    pub fn postpone_reminder(&self, incident: crate::IncidentId, at: i64) -> Result<(), StoreError> {
        self.in_transaction(|transaction| {
            transaction.execute("UPDATE incidents SET reminded_at = ?2 WHERE id = ?1", params![incident.0, at])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Delivery, IncidentChange, NewIncident, Store};
    use hagios_domain::ObjectRef;

    #[test]
    fn an_incident_is_due_again_one_interval_after_its_last_reminder_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path).unwrap();
        let incident = NewIncident {
            site: "local".into(),
            object: ObjectRef::service("db01", "disk"),
            channel: "C".into(),
            message_id: "1.0".into(),
            state: "CRITICAL".into(),
            card: "{}".into(),
            opened_at: 100,
        };
        let delivery = Delivery { channel: "C".into(), message_id: "1.0".into(), at: 100 };
        let id = store.commit_notification("n1", &delivery, &IncidentChange::Open(incident)).unwrap().unwrap();
        assert!(store.due_reminders("C", 99).unwrap().is_empty(), "not before it opened");
        assert!(store.due_reminders("D", 200).unwrap().is_empty(), "other channel");
        let due = store.due_reminders("C", 100).unwrap();
        assert_eq!((due.len(), due[0].incident.id, due[0].reminders, due[0].group_message.clone()), (1, id, 0, None));

        assert!(!store.begin_attempt("remind:1:1", 150).unwrap());
        store.record_reminder(id, 1, 150, "remind:1:1").unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert!(!store.begin_attempt("remind:1:1", 151).unwrap(), "the attempt was finished");
        assert!(store.due_reminders("C", 149).unwrap().is_empty());
        assert_eq!(store.due_reminders("C", 150).unwrap()[0].reminders, 1);
        store.postpone_reminder(id, 300).unwrap();
        assert!(store.due_reminders("C", 299).unwrap().is_empty());
    }
}
