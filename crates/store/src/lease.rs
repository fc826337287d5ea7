//! Which bot leads: a lease row per name with its holder, an epoch that grows with every new
//! term (the fencing token) and an expiry by the database's clock. A standby takes an expired
//! lease (a new epoch); the leader renews its own before it expires. Every write a leader makes
//! through a [fenced](crate::Store::fenced) store checks, in its own transaction, that its epoch
//! is still the lease's — and PostgreSQL's `FOR SHARE` lock makes a takeover wait for such a
//! write to finish, so no write of an ended term commits after the next term began.
//!
//! The leader's own side of the bargain (stop posting before the lease can expire, by its own
//! clock) is in hagios-core's leadership module; the proof is in docs/ha.md.

use crate::sql::{args, Dialect, Sql};
use crate::{Store, StoreError};
use std::time::Duration;

/// The lease the bots of one database take turns holding.
pub const LEADER_LEASE: &str = "bot";

/// A leadership term: the lease and the epoch its writes must still see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub epoch: i64,
}

/// Who holds a lease now, and for how much longer by the database's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub holder: String,
    pub epoch: i64,
    /// Milliseconds until it expires; zero or less when it has.
    pub expires_in_ms: i64,
}

/// Milliseconds since the Unix epoch by the database's clock (PostgreSQL's wall clock now, not
/// the transaction's start).
fn now_ms(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        Dialect::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Fence {
    /// Refuses, with [`StoreError::NotLeader`], a write of a term that has ended; on PostgreSQL
    /// it also holds the lease row until the write commits.
    pub(crate) fn check(&self, sql: &mut dyn Sql) -> Result<(), StoreError> {
        let statement = match sql.dialect() {
            Dialect::Sqlite => "SELECT epoch FROM leases WHERE name = $1",
            Dialect::Postgres => "SELECT epoch FROM leases WHERE name = $1 FOR SHARE",
        };
        let current = sql.query_opt(statement, args![&self.lease])?.map(|row| row.int(0)).transpose()?.unwrap_or(0);
        if current == self.epoch {
            Ok(())
        } else {
            Err(StoreError::NotLeader { epoch: self.epoch, current })
        }
    }
}

impl Store {
    /// Takes `lease` for `holder` for `ttl` when nobody holds it or its holder let it expire,
    /// and returns the new term's epoch; `None` while another holds it.
    pub fn acquire_lease(&self, lease: &str, holder: &str, ttl: Duration) -> Result<Option<i64>, StoreError> {
        self.take_lease(lease, holder, ttl, true)
    }

    /// Takes `lease` whoever holds it: for a database only one process uses (SQLite's file), so
    /// that each start is a new term.
    pub fn seize_lease(&self, lease: &str, holder: &str, ttl: Duration) -> Result<i64, StoreError> {
        Ok(self.take_lease(lease, holder, ttl, false)?.expect("an unconditional take always succeeds"))
    }

    fn take_lease(
        &self,
        lease: &str,
        holder: &str,
        ttl: Duration,
        only_if_expired: bool,
    ) -> Result<Option<i64>, StoreError> {
        self.in_unfenced_transaction(|sql| {
            let now = now_ms(sql.dialect());
            if sql.dialect() == Dialect::Postgres {
                // A leader paused inside a fenced write holds the row; wait a little, then try
                // again on the next round rather than hang.
                sql.execute_batch("SET LOCAL lock_timeout = '1s'")?;
            }
            sql.execute(
                "INSERT INTO leases (name, holder, epoch, expires_at) VALUES ($1, '', 0, 0) ON CONFLICT DO NOTHING",
                args![lease],
            )?;
            let condition = if only_if_expired { format!(" AND expires_at <= {now}") } else { String::new() };
            let taken = sql.query_opt(
                &format!(
                    "UPDATE leases SET holder = $2, epoch = epoch + 1, expires_at = {now} + $3
                     WHERE name = $1{condition} RETURNING epoch"
                ),
                args![lease, holder, millis(ttl)],
            )?;
            Ok(taken.map(|row| row.int(0)).transpose()?)
        })
    }

    /// Extends the term `epoch` of `holder` by `ttl` from now; false when it is over (it expired,
    /// or another took the lease).
    pub fn renew_lease(&self, lease: &str, holder: &str, epoch: i64, ttl: Duration) -> Result<bool, StoreError> {
        self.with_sql(|sql| {
            let now = now_ms(sql.dialect());
            let renewed = sql.execute(
                &format!(
                    "UPDATE leases SET expires_at = {now} + $4
                     WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > {now}"
                ),
                args![lease, holder, epoch, millis(ttl)],
            )?;
            Ok(renewed == 1)
        })
    }

    /// Ends the term `epoch` of `holder` now (a clean stop), so that a standby takes over at once.
    pub fn release_lease(&self, lease: &str, holder: &str, epoch: i64) -> Result<(), StoreError> {
        self.with_sql(|sql| {
            sql.execute(
                "UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND epoch = $3",
                args![lease, holder, epoch],
            )?;
            Ok(())
        })
    }

    /// Who holds `lease`, if anyone ever did.
    pub fn lease(&self, lease: &str) -> Result<Option<LeaseHolder>, StoreError> {
        self.with_sql(|sql| {
            let now = now_ms(sql.dialect());
            let row = sql.query_opt(
                &format!("SELECT holder, epoch, expires_at - {now} FROM leases WHERE name = $1"),
                args![lease],
            )?;
            let holder = row.map(|row| {
                Ok::<_, crate::sql::DbError>(LeaseHolder {
                    holder: row.text(0)?,
                    epoch: row.int(1)?,
                    expires_in_ms: row.int(2)?,
                })
            });
            Ok(holder.transpose()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{card, engines};
    use crate::{Delivery, IncidentChange};
    use hagios_domain::{ObjectRef, State};

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn one_holder_at_a_time_and_each_term_a_new_epoch() {
        for engine in engines() {
            let store = engine.open();
            let first = store.acquire_lease(LEADER_LEASE, "bot-a", TTL).unwrap().expect("free at first");
            assert_eq!(store.acquire_lease(LEADER_LEASE, "bot-b", TTL).unwrap(), None, "{engine}: held by a");
            assert!(store.renew_lease(LEADER_LEASE, "bot-a", first, TTL).unwrap(), "{engine}");
            assert!(!store.renew_lease(LEADER_LEASE, "bot-b", first, TTL).unwrap(), "{engine}: not b's");
            let held = store.lease(LEADER_LEASE).unwrap().unwrap();
            assert_eq!((held.holder.as_str(), held.epoch), ("bot-a", first), "{engine}");
            assert!(held.expires_in_ms > 5_000, "{engine}: {held:?}");

            store.release_lease(LEADER_LEASE, "bot-a", first).unwrap();
            let second = store.acquire_lease(LEADER_LEASE, "bot-b", TTL).unwrap().expect("released");
            assert!(second > first, "{engine}");
            assert!(!store.renew_lease(LEADER_LEASE, "bot-a", first, TTL).unwrap(), "{engine}: a's term is over");
            assert_eq!(store.seize_lease(LEADER_LEASE, "bot-a", TTL).unwrap(), second + 1, "{engine}");
        }
    }

    #[test]
    fn an_expired_lease_goes_to_the_next_and_the_old_terms_writes_are_refused() {
        for engine in engines() {
            let store = engine.open();
            let short = Duration::from_millis(50);
            let old = store.acquire_lease(LEADER_LEASE, "bot-a", short).unwrap().unwrap();
            let old_term = store.fenced(Fence { lease: LEADER_LEASE.into(), epoch: old });
            assert!(!old_term.begin_attempt("n1", 1).unwrap(), "{engine}: the leader writes");
            std::thread::sleep(Duration::from_millis(120));
            assert!(!store.renew_lease(LEADER_LEASE, "bot-a", old, TTL).unwrap(), "{engine}: expired");
            let new = store.acquire_lease(LEADER_LEASE, "bot-b", TTL).unwrap().expect("expired, so free");

            let delivery = Delivery { channel: "C".into(), message_id: "1".into(), at: 1 };
            let open = IncidentChange::Open {
                card: card(ObjectRef::host("db01"), State::Down, None, 1),
                opened_at: 1,
                route: None,
            };
            let refused = old_term.commit_notification("n1", &delivery, &open).unwrap_err();
            assert!(
                matches!(refused, StoreError::NotLeader { epoch, current } if epoch == old && current == new),
                "{engine}: {refused:?}"
            );
            assert!(refused.retryable());
            assert!(store.delivered("n1").unwrap().is_none(), "{engine}: nothing of the old term committed");
            let new_term = store.fenced(Fence { lease: LEADER_LEASE.into(), epoch: new });
            assert!(new_term.begin_attempt("n1", 2).unwrap(), "{engine}: the old term's attempt is seen");
            new_term.commit_notification("n1", &delivery, &open).unwrap();
        }
    }
}
