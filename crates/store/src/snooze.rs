//! Snoozes typed in chat, kept across restarts. Ended snoozes stay for a week: the pipeline still
//! needs them to know that a notification sent during one was held and is due now.

use crate::sql::args;
use crate::{Store, StoreError};
use hagios_domain::{ObjectRef, Snooze};

/// How long an ended snooze is kept for the pipeline's release decisions (retention keeps it
/// at least this long too).
pub(crate) const KEEP_ENDED_SECONDS: i64 = 7 * 86_400;

impl Store {
    /// Starts a snooze, or changes the end of the running one for the same object; a running
    /// snooze keeps its start so that what it already holds stays held.
    pub fn put_snooze(&self, snooze: &Snooze, now: i64) -> Result<Snooze, StoreError> {
        self.in_transaction(|sql| {
            sql.execute("DELETE FROM snoozes WHERE until < $1", args![now - KEEP_ENDED_SECONDS])?;
            let service = snooze.object.service.as_deref().unwrap_or("");
            let running = sql.query_opt(
                "SELECT since FROM snoozes WHERE host = $1 AND service = $2 AND until > $3",
                args![&snooze.object.host, service, now],
            )?;
            let since = running.map(|row| row.int(0)).transpose()?;
            let stored = Snooze { since: since.unwrap_or(snooze.since), ..snooze.clone() };
            sql.execute(
                "INSERT INTO snoozes (host, service, since, until, author) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (host, service) DO UPDATE SET since = $3, until = $4, author = $5",
                args![&stored.object.host, service, stored.since, stored.until, &stored.author],
            )?;
            Ok(stored)
        })
    }

    /// Ends the running snooze of `object` at `now`; false when none was running.
    pub fn end_snooze(&self, object: &ObjectRef, now: i64) -> Result<bool, StoreError> {
        let service = object.service.as_deref().unwrap_or("");
        self.in_transaction(|sql| {
            let changed = sql.execute(
                "UPDATE snoozes SET until = $3 WHERE host = $1 AND service = $2 AND until > $3",
                args![&object.host, service, now],
            )?;
            Ok(changed > 0)
        })
    }

    /// Every snooze kept, running or recently ended, soonest end first.
    pub fn snoozes(&self) -> Result<Vec<Snooze>, StoreError> {
        self.with_sql(|sql| {
            let rows =
                sql.query("SELECT host, service, since, until, author FROM snoozes ORDER BY until, host", args![])?;
            let snoozes = rows.iter().map(|row| {
                let service = row.text(1)?;
                Ok::<_, crate::sql::DbError>(Snooze {
                    object: ObjectRef { host: row.text(0)?, service: (!service.is_empty()).then_some(service) },
                    since: row.int(2)?,
                    until: row.int(3)?,
                    author: row.text(4)?,
                })
            });
            Ok(snoozes.collect::<Result<_, _>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::engines;

    fn snooze(object: ObjectRef, since: i64, until: i64) -> Snooze {
        Snooze { object, since, until, author: "alice".into() }
    }

    #[test]
    fn snoozes_survive_a_restart_extend_in_place_and_end_early() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            store.put_snooze(&snooze(ObjectRef::service("web01", "HTTP"), 100, 200), 100).unwrap();
            store.put_snooze(&snooze(ObjectRef::host("db01"), 100, 300), 100).unwrap();
            drop(store);

            let store = engine.open();
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
}
