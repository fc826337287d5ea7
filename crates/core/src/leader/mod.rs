//! Leadership among the bots sharing one PostgreSQL store: one leads at a time — it alone posts
//! to chat, answers chat events and sends commands to agents — and takes turns through the
//! store's lease (hagios-store's `lease.rs`). A bot on SQLite is the only one and leads from the
//! start.
//!
//! A term begins when this bot takes the lease (a new epoch) and ends when it cannot renew it in
//! time, another took it, or the process stops. The leader renews every fifth of the lease and,
//! by its own monotonic clock, counts itself leader only until four fifths of the lease after
//! the moment it *sent* its last successful renewal: the database's expiry is at least a whole
//! lease after that moment, so this bot stops posting (its [`Permit`] is refused) at least a
//! fifth of the lease before another bot can take over — however long it was paused. Its store
//! writes carry the term's epoch and are refused once a new term began. The proof, and what it
//! assumes of clocks, is in docs/ha.md.

pub mod inbox;

use hagios_domain::Permit;
use hagios_store::sql::Dialect;
use hagios_store::{Fence, StoreConfig, StoreHandle, LEADER_LEASE};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Whether this process leads now (1) or stands by (0).
pub const LEADER: &str = "hagios_leader";

/// This process's side of the lease.
#[derive(Clone)]
pub struct Leadership {
    store: StoreHandle,
    /// Who this process is in the lease row: host, pid and a random part.
    holder: String,
    lease: Duration,
    /// Until when this process may act as leader: nanoseconds after [`base`], 0 when it may not.
    deadline: Arc<AtomicU64>,
}

/// One term of this process as leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub epoch: i64,
    /// The store as this term writes: refused once the term is over.
    pub fence: Fence,
}

/// How a term ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermEnd {
    /// The lease could not be renewed in time, or another bot holds it.
    Lost,
}

/// The origin of the deadlines: they are kept as nanoseconds after it, in one atomic.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn nanos_since_base(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(base()).as_nanos()).unwrap_or(u64::MAX)
}

impl Leadership {
    pub fn new(store: StoreHandle, config: &StoreConfig) -> Self {
        base();
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let holder = format!("{}:{}:{:08x}", host.trim(), std::process::id(), fastrand::u32(..));
        Leadership { store, holder, lease: config.lease, deadline: Arc::new(AtomicU64::new(0)) }
    }

    /// Whether this bot is one of several (a PostgreSQL store) and must win the lease to lead.
    fn shared(&self) -> bool {
        self.store.dialect() == Dialect::Postgres
    }

    /// Granted while this process leads and its lease cannot have run out.
    pub fn permit(&self) -> Permit {
        if !self.shared() {
            return Permit::always();
        }
        let deadline = Arc::clone(&self.deadline);
        Permit::new(move || nanos_since_base(Instant::now()) < deadline.load(Ordering::SeqCst))
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The store the bots share.
    pub fn store(&self) -> &StoreHandle {
        &self.store
    }

    /// How often a standby asks for the lease: ten times per lease.
    fn try_every(&self) -> Duration {
        self.lease / 10
    }

    /// Counts this process as leader until four fifths of the lease after `sent`, the moment
    /// the statement that took or renewed the lease was sent.
    fn lead_until(&self, sent: Instant) {
        let until = sent + self.lease * 4 / 5;
        self.deadline.store(nanos_since_base(until), Ordering::SeqCst);
        metrics::gauge!(LEADER).set(1.0);
    }

    fn stand_by(&self) {
        self.deadline.store(0, Ordering::SeqCst);
        metrics::gauge!(LEADER).set(0.0);
    }

    /// Waits until this process leads, and returns the term. A store it cannot reach is asked
    /// again, with the error logged.
    pub async fn next_term(&self) -> Term {
        if !self.shared() {
            loop {
                match self.store.seize_lease(LEADER_LEASE, &self.holder, self.lease).await {
                    Ok(epoch) => {
                        metrics::gauge!(LEADER).set(1.0);
                        return self.term(epoch);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start a term in the state database; trying again");
                        tokio::time::sleep(self.try_every()).await;
                    }
                }
            }
        }
        metrics::gauge!(LEADER).set(0.0);
        let mut told = false;
        loop {
            let sent = Instant::now();
            match self.store.acquire_lease(LEADER_LEASE, &self.holder, self.lease).await {
                Ok(Some(epoch)) => {
                    self.lead_until(sent);
                    tracing::info!(epoch, holder = %self.holder, "leading: this bot posts to chat now");
                    return self.term(epoch);
                }
                Ok(None) if !told => {
                    tracing::info!(holder = %self.holder, "standing by: another bot leads");
                    told = true;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot ask the state database for the lead; trying again"),
            }
            tokio::time::sleep(self.try_every()).await;
        }
    }

    fn term(&self, epoch: i64) -> Term {
        Term { epoch, fence: Fence { lease: LEADER_LEASE.to_owned(), epoch } }
    }

    /// Renews `term` until it is lost: returns once this process may no longer lead (its
    /// permit is refused by then). On SQLite a term is never lost.
    pub async fn hold(&self, term: &Term) -> TermEnd {
        if !self.shared() {
            return std::future::pending().await;
        }
        let mut every = tokio::time::interval(renew_every(self.lease));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            let leading_until = self.deadline.load(Ordering::SeqCst);
            let now = nanos_since_base(Instant::now());
            if now >= leading_until {
                self.stand_by();
                tracing::warn!(epoch = term.epoch, "lost the lead: the lease could not be renewed in time");
                return TermEnd::Lost;
            }
            // Renewing must not outlast the lead: a store that does not answer ends the term.
            let left = Duration::from_nanos(leading_until - now);
            let sent = Instant::now();
            let renewal = self.store.renew_lease(LEADER_LEASE, &self.holder, term.epoch, self.lease);
            match tokio::time::timeout(left, renewal).await {
                Ok(Ok(true)) => self.lead_until(sent),
                Ok(Ok(false)) => {
                    self.stand_by();
                    tracing::warn!(epoch = term.epoch, "lost the lead: another bot holds the lease");
                    return TermEnd::Lost;
                }
                Ok(Err(e)) => tracing::warn!(error = %e, epoch = term.epoch, "cannot renew the lease; trying again"),
                Err(_) => continue,
            }
            every.tick().await;
        }
    }

    /// Ends `term` at a clean stop, after this process stopped posting: a standby takes over
    /// at its next try instead of waiting out the lease.
    pub async fn release(&self, term: &Term) {
        self.stand_by();
        if let Err(e) = self.store.release_lease(LEADER_LEASE, &self.holder, term.epoch).await {
            tracing::warn!(error = %e, "cannot hand the lead over; the standby takes it when the lease runs out");
        }
    }
}

/// How often a leader renews a lease of length `lease`: five times per lease.
pub(crate) fn renew_every(lease: Duration) -> Duration {
    lease / 5
}
