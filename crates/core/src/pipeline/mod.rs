//! The delivery pipeline, a chain of small stages like Alertmanager's notify pipeline:
//! fan-out (with several chat platforms: one spool and one pipeline each, fanout.rs) → intake
//! (spool record → notification, or quarantine) → route (which channel) → hold (`[[mute]]`
//! window or snooze: wait in the spool) → dedupe (already delivered?) → mirror (changes made
//! outside chat join a thread only, an acknowledgement once) → group (held for a group message,
//! see group.rs) → thread (new incident or thread reply + parent edit) → deliver (chat calls,
//! retried) → commit (store transaction) → acknowledge (remove the spool record); after each
//! pass, reminders for unacknowledged incidents (remind.rs).

mod backoff;
mod deliver;
mod fanout;
mod group;
#[cfg(test)]
mod group_tests;
mod hold;
mod mirror;
mod remind;
#[cfg(test)]
mod remind_tests;
mod route;
#[cfg(test)]
mod slack_tests;
mod thread;
mod topology;

use crate::config::{DeliveryConfig, RouteConfig};
use backoff::Backoff;
pub use fanout::{return_leftovers, FanOut};
pub use group::Groups;
use hagios_chat::{ChatAdapter, ChatError};
use hagios_spool::{RecordId, Spool, SpoolError};
use hagios_store::StoreError;
use hagios_store::StoreHandle;
pub use hold::Holds;
use hold::{Gate, HoldPass};
use std::sync::Arc;
use tokio::sync::watch;

/// Why one record could not be delivered now.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

impl DeliveryError {
    /// Whether the record should stay in the spool and be tried again later.
    pub fn retryable(&self) -> bool {
        match self {
            DeliveryError::Chat(e) => e.retryable(),
            DeliveryError::Store(e) => e.retryable(),
            DeliveryError::Spool(e) => e.retryable(),
        }
    }
}

pub struct Pipeline {
    pub spool: Arc<Spool>,
    pub store: StoreHandle,
    pub chat: Arc<dyn ChatAdapter>,
    pub routes: Vec<RouteConfig>,
    pub settings: DeliveryConfig,
    pub holds: Holds,
    /// Notifications held for their group's message.
    pub groups: group::Groups,
}

impl Pipeline {
    /// Drains the spool in arrival order until `shutdown` turns true. A record that fails with a
    /// retryable error stays first in line (order matters within an incident); one that can never
    /// be delivered is quarantined with its reason, never dropped.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(self.settings.max_backoff);
        while !*shutdown.borrow() {
            let wait = match self.drain().await {
                Ok(()) => {
                    backoff.reset();
                    self.settings.poll_interval
                }
                Err(e) => {
                    let wait = backoff.next_wait(match &e {
                        DeliveryError::Chat(chat) => chat.retry_after(),
                        _ => None,
                    });
                    tracing::warn!(error = %e, retry_in = ?wait, "delivery paused");
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Delivers every pending record; stops at the first retryable failure.
    async fn drain(&self) -> Result<(), DeliveryError> {
        let spool = self.spool.clone();
        let pending = tokio::task::spawn_blocking(move || spool.pending()).await.expect("spool scan task")?;
        let holds = HoldPass::new(&self.holds, self.store.snoozes().await?, &pending);
        for (index, id) in pending.iter().enumerate() {
            if self.groups.holds(id) {
                continue;
            }
            match self.deliver_record(id, &holds, index).await {
                Ok(()) => {}
                Err(e) if e.retryable() => return Err(e),
                Err(e) => {
                    tracing::error!(record = %id, error = %e, "quarantining undeliverable notification");
                    self.spool.quarantine(id, &e.to_string())?;
                }
            }
        }
        self.flush_groups().await?;
        self.remind().await
    }

    async fn deliver_record(&self, id: &RecordId, holds: &HoldPass<'_>, index: usize) -> Result<(), DeliveryError> {
        let notification = match self.spool.read(id) {
            Ok(notification) => notification,
            Err(e) if !e.retryable() => {
                tracing::error!(record = %id, error = %e, "quarantining unreadable spool record");
                self.spool.quarantine(id, &e.to_string())?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let route = route::route_for(&self.routes, self.chat.platform(), &notification);
        let channel = route.map(|(_, channel)| channel);
        let gate = holds.gate(&notification, route.map(|(route, _)| route));
        if gate == Gate::Hold {
            return Ok(());
        }
        if !self.store.delivered(&notification.id).await? {
            let open = self.store.open_incident(&notification.site, &notification.object).await?;
            // With an incident in chat, everything held belongs in its thread.
            if gate == Gate::Released && open.is_none() && holds.recovered_while_held(index, &notification, &self.spool)
            {
                return Ok(self.spool.remove(id)?);
            }
            if open.is_none()
                && notification.kind.closes_incident()
                && holds.problem_follows(index, &notification, &self.spool)
            {
                tracing::info!(notification = %notification.id, object = %notification.object, "waits for the problem it ends");
                return Ok(());
            }
            let Some(notification) = mirror::admit(&self.store, notification, open.as_ref()).await? else {
                return Ok(self.spool.remove(id)?);
            };
            if self.hold_for_group(id, &notification, route, open.as_ref()).await? {
                return Ok(());
            }
            let plan = thread::plan(&notification, open);
            // Marked before posting: after a crash between posting and committing, the next
            // try looks the message up by the notification id instead of posting it again.
            let retrying = self.store.begin_attempt(&notification.id).await?;
            let attempt = deliver::Attempt { key: &notification.id, retrying };
            let change = deliver::execute(self.chat.as_ref(), channel, plan, attempt).await?;
            self.store.commit(&notification.id, change.message, change.change).await?;
            tracing::info!(notification = %notification.id, object = %notification.object, kind = %notification.kind, "delivered");
        }
        self.spool.remove(id)?;
        Ok(())
    }
}
