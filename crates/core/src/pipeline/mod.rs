//! The delivery pipeline, like Alertmanager's notify pipeline a list of small stages, assembled
//! in [`STAGES`] and run in that order for each spool record, oldest first. Intake turns a
//! record into a notification (or quarantines it), then each stage answers continue, hold (stay
//! in the spool for a later pass), drop (leave the spool) or quarantine. After each pass the
//! groups whose time has come are delivered (`group/`), the people on call are paged and
//! escalated to (`escalate.rs`), handovers are posted (`handover.rs`) and reminders go out
//! (`remind.rs`).
//! With several chat platforms, a fan-out (`fanout.rs`) first gives each platform a spool and a
//! pipeline of its own.

mod backoff;
mod dedupe;
mod deliver;
mod escalate;
#[cfg(test)]
mod escalate_tests;
mod fanout;
mod group;
#[cfg(test)]
mod group_tests;
mod handover;
#[cfg(test)]
mod handover_tests;
mod hold;
mod intake;
mod mirror;
mod order;
mod page;
mod pass;
mod remind;
#[cfg(test)]
mod remind_tests;
mod route;
#[cfg(test)]
mod slack_tests;
mod stage;
mod thread;
mod unrecorded;

use crate::config::{DeliveryConfig, RouteConfig};
use crate::observe::{self, health::Health, names};
use crate::oncall::Rota;
use backoff::Backoff;
pub use fanout::{return_leftovers, waiting_spools, FanOut};
pub use group::Groups;
use hagios_chat::{ChatAdapter, ChatError};
use hagios_spool::{RecordId, Spool, SpoolError};
use hagios_store::StoreError;
use hagios_store::StoreHandle;
pub use hold::Holds;
use pass::Pass;
use stage::{Record, Stage, Verdict};
use std::sync::Arc;
use tokio::sync::watch;
pub use unrecorded::Unrecorded;

/// The stages, in the order every record meets them.
static STAGES: [&dyn Stage; 8] = [
    // Which channel: the first matching [[route]] with a target on this platform.
    &route::Route,
    // Quiet hours and snoozes keep it in the spool until they end.
    &hold::Hold,
    // Delivered already? Else the incident open for its object.
    &dedupe::Dedupe,
    // A problem that came and went while held is not shown; a RECOVERY waits for its PROBLEM.
    &order::Order,
    // Changes made outside chat only join a thread; an acknowledgement reaches it once.
    &mirror::Mirror,
    // A new incident on a route with a schedule: page the person on call once it is in chat.
    &page::Page,
    // Held for its group's message.
    &group::Group,
    // A new incident (parent message) or a thread reply plus an edit of the parent: the chat
    // calls, then the store commit; the record leaves the spool.
    &deliver::Deliver,
];

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
    /// Where what no route matches goes (`Config::fallback_route`).
    pub default_route: RouteConfig,
    pub settings: DeliveryConfig,
    pub holds: Holds,
    /// Notifications held for their group's message.
    pub groups: group::Groups,
    /// Counts what comes in.
    pub intake: intake::Intake,
    /// Where the commands waiting for the monitor's word take notifications as evidence
    /// (`Monitor::evidence`); `None` where the monitor waits on none (a bot's agents offer
    /// their own).
    pub evidence: Option<hagios_monitor::EvidenceHub>,
    /// Where delivery says whether it works.
    pub health: Health,
    /// Who is on call, for paging and handovers.
    pub oncall: Arc<Rota>,
    /// Which handoffs were summed up.
    pub handovers: handover::Watch,
    /// New groups' and incidents' messages posted and not committed yet, for the conversation to
    /// wait for.
    pub unrecorded: Unrecorded,
}

impl Pipeline {
    /// Drains the spool in arrival order until `shutdown` turns true. A record that fails with a
    /// retryable error stays first in line (order matters within an incident); one that can never
    /// be delivered is quarantined with its reason, never dropped.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(self.settings.max_backoff);
        while !*shutdown.borrow() {
            let part = format!("delivery to {}", self.chat.platform());
            let wait = match self.drain().await {
                Ok(()) => {
                    backoff.reset();
                    self.health.ok(&part);
                    self.settings.poll_interval
                }
                Err(e) => {
                    let wait = backoff.next_wait(match &e {
                        DeliveryError::Chat(chat) => chat.retry_after(),
                        _ => None,
                    });
                    tracing::warn!(error = %e, retry_in = ?wait, "delivery paused");
                    self.health.failing(&part, format!("paused: {e}"));
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
        let platform = self.chat.platform().name();
        let new = self.intake.count(platform, &pending);
        if let Some(evidence) = &self.evidence {
            intake::offer_as_evidence(&self.spool, &new, evidence);
        }
        observe::probe::record_gauges(platform, &pending);
        let pass = Pass::new(&self.holds.clock, self.store.snoozes().await?, &self.spool, &pending);
        let mut held = 0;
        for (position, id) in pending.iter().enumerate() {
            if self.groups.holds(id) {
                held += 1;
                continue;
            }
            let verdict = match self.deliver_record(id, &pass, position).await {
                Ok(verdict) => verdict,
                Err(e) if e.retryable() => return Err(e),
                Err(e) => Verdict::Quarantine(e.to_string()),
            };
            match verdict {
                Verdict::Continue | Verdict::Hold => held += 1,
                Verdict::Drop => self.spool.remove(id)?,
                Verdict::Quarantine(reason) => {
                    tracing::error!(record = %id, %reason, "quarantining undeliverable notification");
                    metrics::counter!(names::QUARANTINED, "platform" => platform).increment(1);
                    self.spool.quarantine(id, &reason)?;
                }
            }
        }
        metrics::gauge!(names::HELD, "platform" => platform).set(f64::from(held));
        self.flush_groups().await?;
        self.page(&pass.snoozes).await?;
        self.hand_over().await?;
        self.remind().await
    }

    /// Runs one record through intake and the stages until one of them decides.
    async fn deliver_record(&self, id: &RecordId, pass: &Pass<'_>, position: usize) -> Result<Verdict, DeliveryError> {
        let notification = match intake::read(&self.spool, id)? {
            Ok(notification) => notification,
            Err(verdict) => return Ok(verdict),
        };
        let mut record = Record::new(id.clone(), position, notification);
        for stage in STAGES {
            let verdict = stage.run(self, pass, &mut record).await?;
            if verdict != Verdict::Continue {
                tracing::debug!(record = %id, stage = stage.name(), ?verdict, "decided");
                return Ok(verdict);
            }
        }
        // The deliver stage always decides; were a stage added after it, the record would be
        // looked at again on the next pass rather than lost.
        Ok(Verdict::Hold)
    }
}
