//! The inbox, where notifications wait that agents handed to any of the bots sharing the
//! database (or that a bot's own sources spooled): the leader takes them into its delivery
//! spool, and a record leaves the inbox in the transaction that commits its delivery — or when
//! the leader's pipeline dropped it. A record taken by a term that ended is taken again by the
//! next, so nothing a bot acknowledged to an agent is lost with that bot or with the leader.

use crate::sql::{args, Sql};
use crate::{Store, StoreError};
use hagios_domain::Notification;

impl Store {
    /// Keeps `notification` (record `record_id` of a spool) until the leader delivers it; a
    /// record handed over twice is kept once. Any bot may, leading or not.
    pub fn put_in_inbox(&self, record_id: &str, notification: &Notification, now: i64) -> Result<u64, StoreError> {
        let json = serde_json::to_string(notification).expect("a notification always serializes");
        let bytes = json.len() as u64;
        self.with_sql(|sql| {
            sql.execute(
                "INSERT INTO inbox (record_id, notification, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                args![record_id, json, now],
            )?;
            Ok(bytes)
        })
    }

    /// Up to `limit` records the term `epoch` has not taken yet, oldest first, now marked taken
    /// by it. A record whose notification cannot be read (written by a newer hagios) is left
    /// for an operator, marked taken, and logged.
    pub fn take_from_inbox(&self, epoch: i64, limit: u32) -> Result<Vec<(String, Notification)>, StoreError> {
        self.in_transaction(|sql| {
            let rows = sql.query(
                "SELECT record_id, notification FROM inbox WHERE taken < $1 ORDER BY record_id LIMIT $2",
                args![epoch, i64::from(limit)],
            )?;
            let mut taken = Vec::with_capacity(rows.len());
            for row in rows {
                let record_id = row.text(0)?;
                sql.execute("UPDATE inbox SET taken = $2 WHERE record_id = $1", args![&record_id, epoch])?;
                match serde_json::from_str(&row.text(1)?) {
                    Ok(notification) => taken.push((record_id, notification)),
                    Err(e) => tracing::error!(record = %record_id, error = %e, "cannot read a notification of the inbox; left there"),
                }
            }
            Ok(taken)
        })
    }

    /// Removes records the leader's pipeline is done with (dropped, or set aside as undeliverable).
    pub fn drop_from_inbox(&self, record_ids: &[String]) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            for record_id in record_ids {
                finish(sql, record_id)?;
            }
            Ok(())
        })
    }

    /// How many records wait in the inbox.
    /// Every record waiting in the inbox with the size of its notification, for the sites'
    /// quotas.
    pub fn inbox_waiting(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.with_sql(|sql| {
            let rows = sql.query("SELECT record_id, LENGTH(notification) FROM inbox", args![])?;
            let waiting = rows.iter().map(|row| Ok((row.text(0)?, u64::try_from(row.int(1)?).unwrap_or(0))));
            Ok(waiting.collect::<Result<_, crate::sql::DbError>>()?)
        })
    }

    pub fn inbox_len(&self) -> Result<u64, StoreError> {
        self.with_sql(|sql| {
            Ok(u64::try_from(sql.query_one("SELECT COUNT(*) FROM inbox", args![])?.int(0)?).unwrap_or(0))
        })
    }
}

/// Takes a record out of the inbox, as part of committing its delivery.
pub(crate) fn finish(sql: &mut dyn Sql, record_id: &str) -> Result<(), StoreError> {
    sql.execute("DELETE FROM inbox WHERE record_id = $1", args![record_id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::testing::engines;
    use crate::{Delivery, Fence, IncidentChange, Store, LEADER_LEASE};
    use hagios_domain::{Notification, NotificationType, ObjectRef, State};
    use std::time::Duration;

    fn notification(id: &str) -> Notification {
        Notification {
            id: id.into(),
            site: "east".into(),
            kind: NotificationType::Problem,
            object: ObjectRef::service("db01", "MySQL"),
            state: State::Critical,
            output: "CRITICAL".into(),
            long_output: String::new(),
            author: None,
            comment: None,
            time: 1,
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        }
    }

    #[test]
    fn each_term_takes_what_is_left_and_a_delivery_or_a_drop_ends_it() {
        for engine in engines() {
            let store = engine.open();
            for id in ["r1", "r2", "r3"] {
                store.put_in_inbox(id, &notification(id), 1).unwrap();
            }
            store.put_in_inbox("r1", &notification("r1"), 2).unwrap();
            let first = store.acquire_lease(LEADER_LEASE, "a", Duration::from_secs(10)).unwrap().unwrap();
            let term = store.fenced(Fence { lease: LEADER_LEASE.into(), epoch: first });
            let taken: Vec<String> = term.take_from_inbox(first, 2).unwrap().into_iter().map(|(id, _)| id).collect();
            assert_eq!(taken, ["r1", "r2"], "{engine}: oldest first, a record handed over twice is there once");
            assert_eq!(term.take_from_inbox(first, 10).unwrap().len(), 1, "{engine}: r3");
            assert!(term.take_from_inbox(first, 10).unwrap().is_empty(), "{engine}: all taken by this term");

            let delivery = Delivery { channel: "C".into(), message_id: "1".into(), at: 1 };
            term.commit_notification("r1", &delivery, &IncidentChange::None).unwrap();
            term.drop_from_inbox(&["r2".to_owned()]).unwrap();
            assert_eq!(store.inbox_len().unwrap(), 1, "{engine}");
            let waiting = store.inbox_waiting().unwrap();
            assert_eq!(waiting.len(), 1, "{engine}");
            assert_eq!(waiting[0].0, "r3", "{engine}");
            assert!(waiting[0].1 > 100, "{engine}: the notification's size, {waiting:?}");

            let next = store.seize_lease(LEADER_LEASE, "b", Duration::from_secs(10)).unwrap();
            let again = store.take_from_inbox(next, 10).unwrap();
            assert_eq!(again.len(), 1, "{engine}: the next term takes what the last left");
            assert_eq!((again[0].0.as_str(), again[0].1.site.as_str()), ("r3", "east"), "{engine}");
        }
    }

    /// The figure in docs/PERFORMANCE.md ("Two bots on PostgreSQL"): what the store costs per
    /// notification on each engine, durable (SQLite's WAL with `synchronous = FULL`; a
    /// PostgreSQL 15 cluster of its own with `fsync = on`, over TCP on loopback). Run with
    /// `cargo test -p hagios-store --release --lib -- --ignored --nocapture measure_the_store_cost_per_notification`.
    #[test]
    #[ignore = "a measurement"]
    fn measure_the_store_cost_per_notification() {
        use crate::testing::card;
        use hagios_testkit::{PostgresInstance, PostgresOptions};
        use std::time::Instant;
        const NOTIFICATIONS: usize = 2_000;
        let durable = PostgresOptions { settings: vec![("fsync".into(), "on".into())] };
        let postgres = PostgresInstance::start(durable).expect("PostgreSQL installed");
        let sqlite_dir = tempfile::tempdir().unwrap();
        let engines = [
            ("SQLite", Store::open(sqlite_dir.path().join("state.db")).unwrap()),
            ("PostgreSQL", Store::connect(&postgres.create_database(), Some(PostgresInstance::PASSWORD)).unwrap()),
        ];
        for (engine, store) in engines {
            let epoch = store.seize_lease(LEADER_LEASE, "bench", Duration::from_secs(10)).unwrap();
            let term = store.fenced(Fence { lease: LEADER_LEASE.into(), epoch });
            let ids: Vec<String> = (0..NOTIFICATIONS).map(|n| format!("{n:08}")).collect();
            // What the leader does per notification: an attempt, then the delivery with its
            // incident opened, in one transaction each (both fenced by the term).
            let started = Instant::now();
            for (n, id) in ids.iter().enumerate() {
                term.begin_attempt(id, 1).unwrap();
                let card = card(ObjectRef::service(format!("web{n}"), "HTTP"), State::Critical, None, 1);
                let delivery = Delivery { channel: "C".into(), message_id: id.clone(), at: 1 };
                term.commit_notification(id, &delivery, &IncidentChange::Open { card, opened_at: 1, route: None })
                    .unwrap();
            }
            let delivery = started.elapsed() / NOTIFICATIONS as u32;
            // What two bots add: the record into the inbox (by whichever bot the agent reached),
            // taken by the leader in batches, dropped in batches once delivered.
            let started = Instant::now();
            for id in &ids {
                store.put_in_inbox(&format!("i{id}"), &notification(id), 1).unwrap();
            }
            while !term.take_from_inbox(epoch, 256).unwrap().is_empty() {}
            let taken: Vec<String> = ids.iter().map(|id| format!("i{id}")).collect();
            for batch in taken.chunks(256) {
                term.drop_from_inbox(batch).unwrap();
            }
            let inbox = started.elapsed() / NOTIFICATIONS as u32;
            eprintln!("store cost per notification, {engine}: delivery {delivery:.2?}, inbox {inbox:.2?}");
        }
    }
}
