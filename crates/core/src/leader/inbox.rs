//! How notifications reach the leader when several bots share a PostgreSQL store: every bot
//! keeps what agents hand it in the store's inbox ([`StoreInbox`]), and moves there what its own
//! sources spool ([`Forwarder`]: `hagios notify`, the Icinga feed, the status mirror). The
//! leader copies the inbox into a spool of its own for its term ([`Mirror`]), which its
//! pipelines deliver from as a single bot delivers from its spool. A record leaves the inbox
//! in the transaction that commits its delivery, or once the pipeline dropped or quarantined
//! it; what a term left behind the next term takes again, on whichever bot leads.

use async_trait::async_trait;
use hagios_domain::Notification;
use hagios_link::bot::Inbox;
use hagios_link::quota::Waiting;
use hagios_spool::{RecordId, Spool, SpoolError};
use hagios_store::{StoreError, StoreHandle};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Records taken from the inbox per store transaction.
const TAKE: u32 = 256;

/// The store's inbox as the link's: a record is acknowledged to the agent once it is committed
/// in the database every bot shares.
pub struct StoreInbox(pub StoreHandle);

#[async_trait]
impl Inbox for StoreInbox {
    async fn keep(&self, record: RecordId, notification: Notification) -> Result<u64, String> {
        self.0.put_in_inbox(record.as_str(), notification).await.map_err(|e| e.to_string())
    }
}

/// What waits in the store's inbox, for the sites' quotas.
impl Waiting for StoreInbox {
    fn waiting(&self) -> Result<Vec<(String, u64)>, String> {
        self.0.blocking().inbox_waiting().map_err(|e| e.to_string())
    }
}

/// Why a pass of the forwarder or the mirror stopped.
#[derive(Debug, thiserror::Error)]
enum PassError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Moves what a bot's own sources spool into the inbox: put there, then removed from the spool.
pub struct Forwarder {
    pub spool: Arc<Spool>,
    pub store: StoreHandle,
}

impl Forwarder {
    /// Forwards every `poll_interval` until `shutdown` turns true.
    pub async fn run(self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            if let Err(e) = self.pass().await {
                tracing::warn!(error = %e, "cannot hand spooled notifications to the state database; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn pass(&self) -> Result<(), PassError> {
        let spool = Arc::clone(&self.spool);
        let pending = tokio::task::spawn_blocking(move || spool.pending()).await.expect("spool scan task")?;
        for id in pending {
            match self.spool.read(&id) {
                Ok(notification) => {
                    self.store.put_in_inbox(id.as_str(), notification).await?;
                }
                Err(e) if !e.retryable() => {
                    tracing::error!(record = %id, error = %e, "quarantining unreadable spool record");
                    self.spool.quarantine(&id, &e.to_string())?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            self.spool.remove(&id)?;
        }
        Ok(())
    }
}

/// The leader's copy of the inbox for one term.
pub struct Mirror {
    /// The term's store (fenced).
    pub store: StoreHandle,
    pub epoch: i64,
    /// The term's spool, which the pipeline (or the fan-out) reads.
    pub spool: Arc<Spool>,
    /// The platforms' spools behind the fan-out, when there are several platforms.
    pub platforms: Vec<Arc<Spool>>,
}

impl Mirror {
    /// Empties the term's spools: what an earlier term left there is in the inbox still, or was
    /// delivered or dropped by a leader since.
    pub fn clear(spools: &[&Spool]) -> Result<(), SpoolError> {
        for spool in spools {
            spool.remove_all(&spool.pending()?)?;
        }
        Ok(())
    }

    /// Copies the inbox into the term's spool and drops from the inbox what the pipelines are
    /// done with, every `poll_interval` until `shutdown` turns true.
    pub async fn run(self, poll_interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut mirrored = HashSet::new();
        while !*shutdown.borrow() {
            if let Err(e) = self.pass(&mut mirrored).await {
                tracing::warn!(error = %e, "cannot take notifications from the state database; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn pass(&self, mirrored: &mut HashSet<RecordId>) -> Result<(), PassError> {
        loop {
            let taken = self.store.take_from_inbox(self.epoch, TAKE).await?;
            if taken.is_empty() {
                break;
            }
            let records: Vec<(RecordId, Notification)> = taken
                .into_iter()
                .filter_map(|(id, notification)| match id.parse::<RecordId>() {
                    Ok(id) => Some((id, notification)),
                    Err(e) => {
                        tracing::error!(error = %e, "a record of the inbox has no spool record id; left there");
                        None
                    }
                })
                .collect();
            mirrored.extend(records.iter().map(|(id, _)| id.clone()));
            let spool = Arc::clone(&self.spool);
            tokio::task::spawn_blocking(move || spool.write_all_as(records)).await.expect("spool write task")?;
        }
        let done = self.done(mirrored).await?;
        if !done.is_empty() {
            let ids: Vec<String> = done.iter().map(|id| id.to_string()).collect();
            self.store.drop_from_inbox(ids).await?;
            for id in &done {
                mirrored.remove(id);
            }
        }
        Ok(())
    }

    /// The mirrored records no spool of the term holds any more: delivered, dropped or
    /// quarantined. The term's spool is listed before the platforms', so that a record the
    /// fan-out moves meanwhile is seen in one of them.
    async fn done(&self, mirrored: &HashSet<RecordId>) -> Result<Vec<RecordId>, PassError> {
        let spools: Vec<Arc<Spool>> = std::iter::once(&self.spool).chain(&self.platforms).cloned().collect();
        let pending = tokio::task::spawn_blocking(move || {
            let mut pending = HashSet::new();
            for spool in spools {
                pending.extend(spool.pending()?);
            }
            Ok::<_, SpoolError>(pending)
        })
        .await
        .expect("spool scan task")?;
        Ok(mirrored.difference(&pending).cloned().collect())
    }
}
