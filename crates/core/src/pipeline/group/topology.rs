//! Topology folding inside the grouping stage: a new problem of a service whose host is DOWN or
//! UNREACHABLE, or of a host whose parent is, joins the group of the topmost host that is down
//! instead of a group of its own, and the group message shows it folded behind that host. When
//! that host recovers, members still open are unfolded and named again. Host states come from
//! the notifications the pipeline holds or has delivered; parents from the monitor's snapshot
//! (Nagios `parents`, objects.cache). Without a snapshot only services fold under their host.

use super::super::DeliveryError;
use super::fold::Step;
use hagios_domain::message::MAX_PARENT_DEPTH;
use hagios_domain::{GroupCard, Notification, ObjectRef, Snapshot, State};
use hagios_monitor::Monitor;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a snapshot answers parent questions: parents change only when Nagios reloads.
const SNAPSHOT_REUSE: Duration = Duration::from_secs(30);

/// The monitor's object configuration as the grouping stage sees it, fetched at most once per
/// [`SNAPSHOT_REUSE`] so a storm does not ask every site for its state per notification.
pub struct Topology {
    monitor: Arc<dyn Monitor>,
    cached: tokio::sync::Mutex<Option<(Instant, Arc<Snapshot>)>>,
}

impl Topology {
    pub fn new(monitor: Arc<dyn Monitor>) -> Self {
        Topology { monitor, cached: tokio::sync::Mutex::new(None) }
    }

    /// The snapshot to read parents from; an unreachable monitor means no parents (plain
    /// grouping), retried after [`SNAPSHOT_REUSE`].
    pub async fn snapshot(&self) -> Arc<Snapshot> {
        let mut cached = self.cached.lock().await;
        if let Some((fetched, snapshot)) = cached.as_ref() {
            if fetched.elapsed() < SNAPSHOT_REUSE {
                return snapshot.clone();
            }
        }
        let snapshot = match self.monitor.snapshot().await {
            Ok(snapshot) => snapshot,
            Err(e) => {
                tracing::warn!(error = %e, "no topology for folding alerts; grouping without it");
                cached.as_ref().map(|(_, snapshot)| snapshot.clone()).unwrap_or_default()
            }
        };
        *cached = Some((Instant::now(), snapshot.clone()));
        snapshot
    }
}

pub fn parents_in<'a>(snapshot: Option<&'a Snapshot>, host: &str) -> &'a [String] {
    snapshot.and_then(|snapshot| snapshot.inventory.hosts.get(host)).map_or(&[], |object| object.parents.as_slice())
}

pub fn is_down(state: State) -> bool {
    matches!(state, State::Down | State::Unreachable)
}

impl super::Pipeline {
    /// The host a new problem folds under, when its host (for a service) or a parent (for a
    /// host) is down: the topmost down host of the chain. `None` groups it as usual.
    pub(super) async fn fold_target(&self, notification: &Notification) -> Result<Option<String>, DeliveryError> {
        let site = &notification.site;
        let mut host = notification.object.host.clone();
        if notification.object.is_service() && !self.host_down(site, &host).await? {
            return Ok(None);
        }
        // Only now, as most problems of a storm are services of hosts that are up.
        let snapshot = self.topology_snapshot().await;
        let mut folded = notification.object.is_service();
        for _ in 0..MAX_PARENT_DEPTH {
            let mut down_parent = None;
            for parent in parents_in(snapshot.as_deref(), &host) {
                if self.host_down(site, parent).await? {
                    down_parent = Some(parent.clone());
                    break;
                }
            }
            let Some(parent) = down_parent else { break };
            host = parent;
            folded = true;
        }
        Ok(folded.then_some(host))
    }

    /// Whether the pipeline's latest word on `host` is DOWN or UNREACHABLE: a held host
    /// notification not delivered yet, else the host's open incident.
    async fn host_down(&self, site: &str, host: &str) -> Result<bool, DeliveryError> {
        if let Some(state) = self.groups.held_host_state(site, host) {
            return Ok(is_down(state));
        }
        let incident = self.store.open_incident(site, &ObjectRef::host(host)).await?;
        Ok(incident.is_some_and(|incident| incident.card.open && is_down(incident.card.state)))
    }

    /// The snapshot for [`refold`], when the pipeline knows the topology.
    pub(super) async fn topology_snapshot(&self) -> Option<Arc<Snapshot>> {
        match self.groups.topology() {
            Some(topology) => Some(topology.snapshot().await),
            None => None,
        }
    }
}

/// Marks which open members of `card` are folded behind a down member (a service behind its
/// host, a host behind a parent) and returns a thread line for every open member that was
/// folded before and is not any more: its host recovered, so it is shown on its own again.
pub fn refold(card: &mut GroupCard, snapshot: Option<&Snapshot>) -> Vec<Step> {
    let down: HashSet<String> = card
        .members
        .iter()
        .filter(|member| member.open && !member.object.is_service() && is_down(member.state))
        .map(|member| member.object.host.clone())
        .collect();
    let mut lines = Vec::new();
    for member in &mut card.members {
        let before = member.folded_under.take();
        if member.open {
            let behind = if member.object.is_service() {
                down.contains(&member.object.host).then(|| member.object.host.clone())
            } else {
                parents_in(snapshot, &member.object.host).iter().find(|parent| down.contains(*parent)).cloned()
            };
            // A fold holds while its host is down, even should the topology be unknown now.
            member.folded_under = behind.or_else(|| before.clone().filter(|host| down.contains(host)));
        }
        if let (Some(host), None, true) = (before, &member.folded_under, member.open) {
            lines.push(Step {
                line: Some(format!(
                    "• {} still {}, no longer folded: {host} is not down any more",
                    member.object, member.state
                )),
            });
        }
    }
    lines
}
