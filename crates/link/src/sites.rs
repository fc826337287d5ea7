//! The bot's view of its agents: which sites are connected, and a [`Monitor`] that spans them —
//! queries merge every site's state, commands go to the one site that owns the object.

use crate::protocol::{Frame, Refusal};
use async_trait::async_trait;
use hagios_domain::{Action, Outcome, Snapshot, Status};
use hagios_monitor::{Monitor, MonitorError, Steps};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Frames waiting for an answer, by request id.
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Frame>>>>;

/// One connected agent: where to send frames and who waits for answers.
#[derive(Clone)]
struct Connection {
    number: u64,
    outbox: mpsc::Sender<Frame>,
    pending: Pending,
}

/// The connected sites. Shared by the listener (which registers connections) and the monitor.
#[derive(Default)]
pub struct Sites {
    connections: Mutex<BTreeMap<String, Connection>>,
    next_number: AtomicU64,
}

/// Handed to a connection's reader: delivers answers, and unregisters the site when dropped.
pub struct Registration {
    sites: Arc<Sites>,
    site: String,
    number: u64,
    pending: Pending,
}

impl Registration {
    /// Hands an answer frame to whoever asked; `false` when nobody asked under that id (a
    /// timed-out request, or a confused agent).
    pub fn answer(&self, id: u64, frame: Frame) -> bool {
        let waiter = self.pending.lock().expect("pending lock").remove(&id);
        waiter.is_some_and(|waiter| waiter.send(frame).is_ok())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut connections = self.sites.connections.lock().expect("sites lock");
        // A newer connection of the same site may have replaced this one already.
        if connections.get(&self.site).is_some_and(|connection| connection.number == self.number) {
            connections.remove(&self.site);
            metrics::gauge!(crate::AGENTS_CONNECTED).set(connections.len() as f64);
        }
        // Dropping the waiters tells them the connection is gone.
        self.pending.lock().expect("pending lock").clear();
    }
}

impl Sites {
    /// Registers a freshly accepted agent; a newer connection of a site replaces an older one.
    pub fn register(self: &Arc<Self>, site: &str, outbox: mpsc::Sender<Frame>) -> Registration {
        let number = self.next_number.fetch_add(1, Ordering::Relaxed);
        let pending = Pending::default();
        let connection = Connection { number, outbox, pending: Arc::clone(&pending) };
        let mut connections = self.connections.lock().expect("sites lock");
        connections.insert(site.to_owned(), connection);
        metrics::gauge!(crate::AGENTS_CONNECTED).set(connections.len() as f64);
        drop(connections);
        Registration { sites: Arc::clone(self), site: site.to_owned(), number, pending }
    }

    /// The names of the connected sites, sorted.
    pub fn connected(&self) -> Vec<String> {
        self.connections.lock().expect("sites lock").keys().cloned().collect()
    }

    fn connection(&self, site: &str) -> Option<Connection> {
        self.connections.lock().expect("sites lock").get(site).cloned()
    }

    /// Sends a request built from a fresh id and waits for its answer.
    async fn request(
        &self,
        site: &str,
        timeout: Duration,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<Frame, MonitorError> {
        let lost = |detail: &str| MonitorError::Remote {
            site: site.to_owned(),
            message: format!("the agent {detail}; it reconnects on its own, try again shortly"),
            retryable: true,
        };
        let connection = self.connection(site).ok_or_else(|| lost("is not connected"))?;
        let id = self.next_number.fetch_add(1, Ordering::Relaxed);
        let (answer_tx, answer) = oneshot::channel();
        connection.pending.lock().expect("pending lock").insert(id, answer_tx);
        if connection.outbox.send(frame(id)).await.is_err() {
            return Err(lost("disconnected"));
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(frame)) => Ok(frame),
            Ok(Err(_)) => Err(lost("disconnected before answering")),
            Err(_) => {
                connection.pending.lock().expect("pending lock").remove(&id);
                Err(lost(&format!("did not answer within {timeout:?}")))
            }
        }
    }
}

/// The bot's [`Monitor`]: every connected site at once.
pub struct SitesMonitor {
    pub sites: Arc<Sites>,
    /// How long to wait for an agent's answer; longer than the agents' confirmation timeout.
    pub timeout: Duration,
}

impl SitesMonitor {
    async fn site_state(&self, site: &str) -> Result<Snapshot, MonitorError> {
        match self.sites.request(site, self.timeout, |id| Frame::StateRequest { id }).await? {
            Frame::State { result: Ok(state), .. } => Ok(Snapshot::from(state)),
            Frame::State { result: Err(refusal), .. } => Err(remote(site, refusal)),
            other => Err(unexpected(site, &other)),
        }
    }

    /// Each connected site's state; sites that cannot answer right now are left out (and
    /// logged), unless none can.
    async fn states(&self) -> Result<Vec<(String, Snapshot)>, MonitorError> {
        let connected = self.sites.connected();
        if connected.is_empty() {
            return Err(no_agents());
        }
        let mut asks = tokio::task::JoinSet::new();
        for site in connected {
            let monitor = SitesMonitor { sites: Arc::clone(&self.sites), timeout: self.timeout };
            asks.spawn(async move {
                let state = monitor.site_state(&site).await;
                (site, state)
            });
        }
        let (mut states, mut last_error) = (Vec::new(), None);
        while let Some(joined) = asks.join_next().await {
            match joined {
                Ok((site, Ok(state))) => states.push((site, state)),
                Ok((site, Err(e))) => {
                    tracing::warn!(site, error = %e, "a site's state is unavailable");
                    last_error = Some(e);
                }
                Err(e) => tracing::error!(error = %e, "a state request task failed"),
            }
        }
        match (states.is_empty(), last_error) {
            (true, Some(e)) => Err(e),
            _ => {
                states.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(states)
            }
        }
    }

    /// The one site that owns what `action` is about.
    async fn owner(&self, action: &Action) -> Result<String, MonitorError> {
        let states = self.states().await?;
        let (owners, what): (Vec<&str>, String) = match (action.object(), action) {
            (Some(object), _) => (
                states
                    .iter()
                    .filter(|(_, state)| state.has_host(&object.host))
                    .map(|(site, _)| site.as_str())
                    .collect(),
                format!("host `{}`", object.host),
            ),
            (None, Action::DeleteDowntime { id }) => (
                states
                    .iter()
                    .filter(|(_, state)| state.status.downtimes.iter().any(|downtime| downtime.id == *id))
                    .map(|(site, _)| site.as_str())
                    .collect(),
                format!("downtime #{id}"),
            ),
            (None, _) => (Vec::new(), "the object".to_owned()),
        };
        match owners.as_slice() {
            [site] => Ok((*site).to_owned()),
            [] => Err(MonitorError::Refused(format!(
                "no connected site has {what} (connected: {})",
                self.sites.connected().join(", ")
            ))),
            several => Err(MonitorError::Refused(format!(
                "{what} exists on several sites ({}); hagios cannot tell which one is meant — give the hosts unique names",
                several.join(", ")
            ))),
        }
    }
}

#[async_trait]
impl Monitor for SitesMonitor {
    fn site(&self) -> &str {
        "all sites"
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        Ok(Arc::new(merge(self.states().await?)))
    }

    /// Only the agent's final word travels back (its steps stay on the agent's side).
    async fn execute_with(&self, action: &Action, author: &str, _steps: Steps<'_>) -> Result<Outcome, MonitorError> {
        let site = self.owner(action).await?;
        tracing::info!(site, ?action, author, "forwarding a command to its site");
        let command = |id| Frame::Command { id, action: action.clone(), author: author.to_owned() };
        match self.sites.request(&site, self.timeout, command).await? {
            Frame::CommandResult { result: Ok(outcome), .. } => Ok(outcome),
            Frame::CommandResult { result: Err(refusal), .. } => Err(remote(&site, refusal)),
            other => Err(unexpected(&site, &other)),
        }
    }
}

/// One snapshot holding every site's objects. Host names are expected to be unique across
/// sites; where they are not, the first site (by name) shows in queries and commands refuse.
fn merge(states: Vec<(String, Snapshot)>) -> Snapshot {
    let mut status = Status::default();
    let mut inventory = hagios_domain::Inventory::default();
    for (_, state) in states {
        status.created = status.created.max(state.status.created);
        for (name, view) in state.status.hosts {
            status.hosts.entry(name).or_insert(view);
        }
        for (key, view) in state.status.services {
            status.services.entry(key).or_insert(view);
        }
        status.downtimes.extend(state.status.downtimes);
        status.comments.extend(state.status.comments);
        let site_inventory = Arc::unwrap_or_clone(state.inventory);
        for (name, host) in site_inventory.hosts {
            inventory.hosts.entry(name).or_insert(host);
        }
        for (name, services) in site_inventory.services {
            inventory.services.entry(name).or_insert(services);
        }
        for (group, members) in site_inventory.hostgroups {
            inventory.hostgroups.entry(group).or_default().extend(members);
        }
    }
    Snapshot { status, inventory: Arc::new(inventory) }
}

fn remote(site: &str, refusal: Refusal) -> MonitorError {
    MonitorError::Remote { site: site.to_owned(), message: refusal.message, retryable: refusal.retryable }
}

fn unexpected(site: &str, frame: &Frame) -> MonitorError {
    MonitorError::Remote {
        site: site.to_owned(),
        message: format!("the agent answered with an unexpected {}", frame.kind()),
        retryable: false,
    }
}

fn no_agents() -> MonitorError {
    MonitorError::NotRunning { system: "the agent", detail: "no monitoring site is connected to this bot".to_owned() }
}
