//! Reminders for open incidents nobody acknowledged (`repeat_interval`): which incidents are
//! due, and the record of each reminder posted, so that a restart neither repeats nor skips one.

use crate::incident::{incident_from_row, Incident};
use crate::sql::{args, DbError};
use crate::{Store, StoreError};
use hagios_domain::MessageRef;

/// An open incident whose last reminder (or opening) is old enough for another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    pub incident: Incident,
    /// Reminders posted so far.
    pub reminders: u32,
    /// Where its reminders go: its own thread, or its group's when it was opened in a group.
    pub thread: MessageRef,
}

impl Store {
    /// Open incidents in `channel` last reminded of (or opened) at `due_at` or earlier, oldest
    /// first. Their history is not loaded; the card carries what the reminder needs.
    pub fn due_reminders(&self, channel: &str, due_at: i64) -> Result<Vec<DueReminder>, StoreError> {
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT i.id, i.site, i.host, i.service, i.channel, i.message_id, i.state, i.card, i.opened_at,
                        i.closed_at, i.reminders, g.channel, g.message_id
                 FROM incidents i
                 LEFT JOIN alert_group_members m ON m.incident_id = i.id
                 LEFT JOIN alert_groups g ON g.id = m.group_id
                 WHERE i.closed_at IS NULL AND i.platform = $1 AND i.channel = $2
                       AND COALESCE(i.reminded_at, i.opened_at) <= $3
                 ORDER BY i.id",
                args![self.platform(), channel, due_at],
            )?;
            let due = rows.iter().map(|row| {
                let incident = incident_from_row(row)?;
                let group = row.opt_text(11)?.zip(row.opt_text(12)?);
                let (channel, id) = group.unwrap_or_else(|| (incident.channel.clone(), incident.message_id.clone()));
                let reminders = u32::try_from(row.int(10)?).unwrap_or(u32::MAX);
                Ok::<_, DbError>(DueReminder { incident, reminders, thread: MessageRef { channel, id } })
            });
            Ok(due.collect::<Result<_, _>>()?)
        })
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
        self.in_transaction(|sql| {
            let changed = sql.execute(
                "UPDATE incidents SET reminders = $2, reminded_at = $3 WHERE id = $1",
                args![incident.0, reminders, at],
            )?;
            if changed == 0 {
                return Err(StoreError::NoSuchIncident(incident));
            }
            crate::attempt::finish(sql, self.platform(), attempt_key)
        })
    }

    /// Restarts the reminder clock of `incident` at `at` without posting (used when a reminder
    /// is not wanted now, e.g. the incident is acknowledged), so it is not looked at every pass.
    pub fn postpone_reminder(&self, incident: crate::IncidentId, at: i64) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute("UPDATE incidents SET reminded_at = $2 WHERE id = $1", args![incident.0, at])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{card, engines};
    use crate::{Delivery, IncidentChange};
    use hagios_domain::{MessageRef, ObjectRef, State};

    #[test]
    fn an_incident_is_due_again_one_interval_after_its_last_reminder_across_restarts() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            let incident = IncidentChange::Open {
                card: card(ObjectRef::service("db01", "disk"), State::Critical, None, 100),
                opened_at: 100,
                route: None,
            };
            let delivery = Delivery { channel: "C".into(), message_id: "1.0".into(), at: 100 };
            let id = store.commit_notification("n1", &delivery, &incident).unwrap().unwrap();
            assert!(store.due_reminders("C", 99).unwrap().is_empty(), "not before it opened");
            assert!(store.due_reminders("D", 200).unwrap().is_empty(), "other channel");
            let due = store.due_reminders("C", 100).unwrap();
            let own_thread = MessageRef { channel: "C".into(), id: "1.0".into() };
            assert_eq!(
                (due.len(), due[0].incident.id, due[0].reminders, due[0].thread.clone()),
                (1, id, 0, own_thread)
            );

            assert!(!store.begin_attempt("remind:1:1", 150).unwrap());
            store.record_reminder(id, 1, 150, "remind:1:1").unwrap();
            drop(store);
            let store = engine.open();
            assert!(!store.begin_attempt("remind:1:1", 151).unwrap(), "the attempt was finished");
            assert!(store.due_reminders("C", 149).unwrap().is_empty());
            assert_eq!(store.due_reminders("C", 150).unwrap()[0].reminders, 1);
            store.postpone_reminder(id, 300).unwrap();
            assert!(store.due_reminders("C", 299).unwrap().is_empty());
        }
    }
}
