//! Snoozes typed in chat, kept across restarts. Ended snoozes stay for a week: the pipeline still
//! needs them to know that a notification sent during one was held and is due now.

use crate::{Store, StoreError};
use hagios_domain::{ObjectRef, Snooze};
use rusqlite::{params, OptionalExtension};

/// How long an ended snooze is kept for the pipeline's release decisions (retention keeps it
/// at least this long too).
pub(crate) const KEEP_ENDED_SECONDS: i64 = 7 * 86_400;

impl Store {
    /// Starts a snooze, or changes the end of the running one for the same object; a running
    /// snooze keeps its start so that what it already holds stays held.
    pub fn put_snooze(&self, snooze: &Snooze, now: i64) -> Result<Snooze, StoreError> {
        self.in_transaction(|transaction| {
            transaction.execute("DELETE FROM snoozes WHERE until < ?1", [now - KEEP_ENDED_SECONDS])?;
            let service = snooze.object.service.as_deref().unwrap_or("");
            let running: Option<i64> = transaction
                .query_row(
                    "SELECT since FROM snoozes WHERE host = ?1 AND service = ?2 AND until > ?3",
                    params![snooze.object.host, service, now],
                    |row| row.get(0),
                )
                .optional()?;
            let stored = Snooze { since: running.unwrap_or(snooze.since), ..snooze.clone() };
            transaction.execute(
                "INSERT INTO snoozes (host, service, since, until, author) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (host, service) DO UPDATE SET since = ?3, until = ?4, author = ?5",
                params![stored.object.host, service, stored.since, stored.until, stored.author],
            )?;
            Ok(stored)
        })
    }

    /// Ends the running snooze of `object` at `now`; false when none was running.
    pub fn end_snooze(&self, object: &ObjectRef, now: i64) -> Result<bool, StoreError> {
        let service = object.service.as_deref().unwrap_or("");
        let changed = self.connection().execute(
            "UPDATE snoozes SET until = ?3 WHERE host = ?1 AND service = ?2 AND until > ?3",
            params![object.host, service, now],
        )?;
        Ok(changed > 0)
    }

    /// Every snooze kept, running or recently ended, soonest end first.
    pub fn snoozes(&self) -> Result<Vec<Snooze>, StoreError> {
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached("SELECT host, service, since, until, author FROM snoozes ORDER BY until, host")?;
        let snoozes = statement
            .query_map([], |row| {
                let service: String = row.get(1)?;
                Ok(Snooze {
                    object: ObjectRef { host: row.get(0)?, service: (!service.is_empty()).then_some(service) },
                    since: row.get(2)?,
                    until: row.get(3)?,
                    author: row.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(snoozes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snooze(object: ObjectRef, since: i64, until: i64) -> Snooze {
        Snooze { object, since, until, author: "alice".into() }
    }

    #[test]
    fn snoozes_survive_a_restart_extend_in_place_and_end_early() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path).unwrap();
        store.put_snooze(&snooze(ObjectRef::service("web01", "HTTP"), 100, 200), 100).unwrap();
        store.put_snooze(&snooze(ObjectRef::host("db01"), 100, 300), 100).unwrap();
        drop(store);

        let store = Store::open(&path).unwrap();
        assert_eq!(store.snoozes().unwrap().len(), 2);
        let extended = store.put_snooze(&snooze(ObjectRef::service("web01", "HTTP"), 150, 500), 150).unwrap();
        assert_eq!((extended.since, extended.until), (100, 500), "a running snooze keeps its start");

        assert!(store.end_snooze(&ObjectRef::host("db01"), 160).unwrap());
        assert!(!store.end_snooze(&ObjectRef::host("db01"), 170).unwrap(), "already ended");
        let db = store.snoozes().unwrap().into_iter().find(|s| s.object.host == "db01").unwrap();
        assert_eq!((db.since, db.until), (100, 160), "kept after its end for held notifications");

        let again = store.put_snooze(&snooze(ObjectRef::host("db01"), 400, 600), 400).unwrap();
        assert_eq!(again.since, 400, "an ended snooze does not stretch back");
        let later = 1000 + KEEP_ENDED_SECONDS;
        store.put_snooze(&snooze(ObjectRef::host("app01"), later, later + 60), later).unwrap();
        let hosts: Vec<String> = store.snoozes().unwrap().into_iter().map(|s| s.object.host).collect();
        assert_eq!(hosts, ["app01"], "snoozes ended over a week ago are forgotten");
    }
}
