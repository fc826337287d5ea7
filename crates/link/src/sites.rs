//! The bot's view of its agents: which sites are connected (and which were since the bot
//! started), and a [`Monitor`] that spans them — queries see every site's state, a command goes
//! to the one site it was checked and authorized against.

use crate::protocol::{Frame, Refusal, MAX_STEPS_PER_COMMAND};
use async_trait::async_trait;
use hagios_domain::{Action, Outcome, Permit, SiteSnapshots, Snapshot, Step, System};
use hagios_monitor::{Monitor, MonitorError, SingleFlight, Steps};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Who waits for the answer to one request; a command's waiter takes its steps too.
struct Waiter {
    answer: oneshot::Sender<Frame>,
    steps: Option<StepsIn>,
}

/// Where a command's steps go, and how many more it takes.
struct StepsIn {
    to: mpsc::Sender<Step>,
    left: usize,
}

/// Requests waiting for an answer, by request id.
type Pending = Arc<Mutex<HashMap<u64, Waiter>>>;

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
    /// Every site that connected since the bot started, with the monitoring system its agent
    /// said it runs (`None` from an agent that did not say): one that is gone now is a site that
    /// does not answer, not a site that does not exist, and replies still name its system.
    known: Mutex<BTreeMap<String, Option<System>>>,
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
        waiter.is_some_and(|waiter| waiter.answer.send(frame).is_ok())
    }

    /// Hands a step to command `id` waiting for this connection's site; `false` when no command
    /// sent to this site waits under that id (one the bot never sent, sent to another site, or
    /// answered already), or it had all the [`MAX_STEPS_PER_COMMAND`] steps it takes.
    pub fn step(&self, id: u64, step: Step) -> bool {
        let mut pending = self.pending.lock().expect("pending lock");
        let Some(steps) = pending.get_mut(&id).and_then(|waiter| waiter.steps.as_mut()) else { return false };
        if steps.left == 0 {
            return false;
        }
        steps.left -= 1;
        steps.to.try_send(step).is_ok()
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
    /// Registers a freshly accepted agent of a site running `system`; a newer connection of a
    /// site replaces an older one.
    pub fn register(self: &Arc<Self>, site: &str, system: Option<System>, outbox: mpsc::Sender<Frame>) -> Registration {
        let number = self.next_number.fetch_add(1, Ordering::Relaxed);
        let pending = Pending::default();
        let connection = Connection { number, outbox, pending: Arc::clone(&pending) };
        self.known.lock().expect("known sites lock").insert(site.to_owned(), system);
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

    /// Every site that connected since the bot started, sorted.
    pub fn known(&self) -> Vec<String> {
        self.known.lock().expect("known sites lock").keys().cloned().collect()
    }

    /// The monitoring system at `site`, as its agent said when it last connected; for `None`,
    /// the one every site that connected runs, when they all said the same.
    pub fn system(&self, site: Option<&str>) -> Option<System> {
        let known = self.known.lock().expect("known sites lock");
        match site {
            Some(site) => known.get(site).copied().flatten(),
            None => {
                let mut systems = known.values().copied();
                let first = systems.next().flatten()?;
                systems.all(|system| system == Some(first)).then_some(first)
            }
        }
    }

    fn connection(&self, site: &str) -> Option<Connection> {
        self.connections.lock().expect("sites lock").get(site).cloned()
    }

    /// Sends a request built from a fresh id; a command's request (`steps`) takes its steps too.
    async fn ask(&self, site: &str, frame: impl FnOnce(u64) -> Frame, steps: bool) -> Result<Asked, MonitorError> {
        let connection = self.connection(site).ok_or_else(|| lost(site, "is not connected"))?;
        let id = self.next_number.fetch_add(1, Ordering::Relaxed);
        let (answer_tx, answer) = oneshot::channel();
        let (steps_tx, steps) = match steps {
            true => {
                let (to, steps) = mpsc::channel(MAX_STEPS_PER_COMMAND);
                (Some(StepsIn { to, left: MAX_STEPS_PER_COMMAND }), Some(steps))
            }
            false => (None, None),
        };
        let waiter = Waiter { answer: answer_tx, steps: steps_tx };
        connection.pending.lock().expect("pending lock").insert(id, waiter);
        let asked = Asked { id, pending: connection.pending, answer, steps };
        match connection.outbox.send(frame(id)).await {
            Ok(()) => Ok(asked),
            Err(_) => Err(lost(site, "disconnected")),
        }
    }

    /// Sends a request built from a fresh id and waits for its answer.
    async fn request(
        &self,
        site: &str,
        timeout: Duration,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<Frame, MonitorError> {
        match self.ask(site, frame, false).await?.wait(timeout, |_| {}).await {
            Ok(frame) => Ok(frame),
            Err(Unanswered::Gone) => Err(lost(site, "disconnected before answering")),
            Err(Unanswered::TimedOut) => Err(lost(site, &format!("did not answer within {timeout:?}"))),
        }
    }
}

/// The agent of `site` cannot answer (`detail`); it comes back by itself.
fn lost(site: &str, detail: &str) -> MonitorError {
    MonitorError::Remote {
        site: site.to_owned(),
        message: format!("the agent {detail}; it reconnects on its own, try again shortly"),
        retryable: true,
    }
}

/// A request sent to an agent: its answer, and a command's steps, arrive here. Dropping it stops
/// waiting (a request timed out or abandoned): a late answer finds nobody.
struct Asked {
    id: u64,
    pending: Pending,
    answer: oneshot::Receiver<Frame>,
    steps: Option<mpsc::Receiver<Step>>,
}

/// Why a request ended without its answer.
enum Unanswered {
    /// The connection ended first: the agent stopped, restarted or lost the link.
    Gone,
    TimedOut,
}

impl Asked {
    /// Waits up to `timeout` for the answer, handing each step to `step` as it comes.
    async fn wait(mut self, timeout: Duration, mut step: impl FnMut(Step)) -> Result<Frame, Unanswered> {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                // The agent sends a command's steps before its result: show them in that order.
                biased;
                Some(next) = next_step(&mut self.steps) => step(next),
                answer = &mut self.answer => return answer.map_err(|_| Unanswered::Gone),
                () = &mut deadline => return Err(Unanswered::TimedOut),
            }
        }
    }
}

impl Drop for Asked {
    fn drop(&mut self) {
        self.pending.lock().expect("pending lock").remove(&self.id);
    }
}

/// The next step of a command's request; a request that takes no steps never has one.
async fn next_step(steps: &mut Option<mpsc::Receiver<Step>>) -> Option<Step> {
    match steps {
        Some(steps) => steps.recv().await,
        None => std::future::pending().await,
    }
}

/// What the bot heard of a command its agent did not answer: whether the command was sent to
/// the monitoring system, within what time the site gives its final word, and how it stood last.
#[derive(Default)]
struct Heard {
    sent: bool,
    answer_within: Option<Duration>,
    received: Option<String>,
}

impl Heard {
    fn note(&mut self, step: &Step) {
        match step {
            Step::Sent { answer_within, .. } => (self.sent, self.answer_within) = (true, Some(*answer_within)),
            Step::Received { how } => (self.sent, self.received) = (true, Some(how.clone())),
        }
    }

    /// Why the bot gave up after `timeout`, and, when the site takes at least that long for its
    /// final word, what to change.
    fn timed_out(&self, timeout: Duration) -> String {
        let why = format!("gave no final word within {} s ([bot] command_timeout)", timeout.as_secs());
        match self.answer_within {
            Some(within) if within >= timeout => {
                format!("{why}; the site gives it within {} s: raise command_timeout above that", within.as_secs())
            }
            _ => why,
        }
    }

    /// The answer to a command whose agent `why` (went away, fell silent): unconfirmed with what
    /// is known once the agent said it sent the command; else an error that cannot say whether
    /// it was sent.
    fn outcome(self, site: &str, why: &str) -> Result<Outcome, MonitorError> {
        match (self.sent, self.received) {
            (true, Some(how)) => Ok(Outcome::Unconfirmed(format!("{how}; then the agent at site `{site}` {why}"))),
            (true, None) => Ok(Outcome::Unconfirmed(format!("the agent at site `{site}` {why}"))),
            (false, _) => Err(MonitorError::Remote {
                site: site.to_owned(),
                message: format!(
                    "the agent {why}, and had not said whether it sent the command; `status` shows the object as it \
                     stands"
                ),
                retryable: false,
            }),
        }
    }
}

/// How long one round of state requests to every site answers queries: a burst of chat
/// commands costs one request per site, not one per command and site.
pub const STATE_SHARED_FOR: Duration = Duration::from_secs(1);

/// The bot's [`Monitor`]: every site at once. Queries see every site's state; a command goes to
/// the one site it names ([`Monitor::execute_at`]), never to whichever site has an object of
/// that name.
pub struct SitesMonitor {
    sites: Arc<Sites>,
    /// How long to wait for an agent's answer; longer than the agents' confirmation timeout.
    timeout: Duration,
    state: SingleFlight<SiteSnapshots>,
    /// Whether this bot may send commands now (only the leader of several may); asked right
    /// before a command goes out.
    permit: Permit,
}

impl SitesMonitor {
    pub fn new(sites: Arc<Sites>, timeout: Duration, permit: Permit) -> Self {
        SitesMonitor { sites, timeout, state: SingleFlight::default(), permit }
    }

    /// How many rounds of state requests went out to the sites.
    pub fn state_reads(&self) -> u64 {
        self.state.fetches()
    }
}

async fn site_state(sites: &Sites, site: &str, timeout: Duration) -> Result<Snapshot, MonitorError> {
    match sites.request(site, timeout, |id| Frame::StateRequest { id }).await? {
        Frame::State { result: Ok(state), .. } => Ok(Snapshot::from(state)),
        Frame::State { result: Err(refusal), .. } => Err(remote(site, refusal)),
        other => Err(unexpected(site, &other)),
    }
}

/// Every known site's state; the sites that cannot answer now are listed as silent (and
/// logged). An error only when no site answers.
async fn states(sites: Arc<Sites>, timeout: Duration) -> Result<Arc<SiteSnapshots>, MonitorError> {
    let connected = sites.connected();
    let mut silent: Vec<(String, String)> = sites
        .known()
        .into_iter()
        .filter(|site| !connected.contains(site))
        .map(|site| (site, "its agent is not connected".to_owned()))
        .collect();
    if connected.is_empty() {
        return Err(no_agents(&silent));
    }
    let mut asks = tokio::task::JoinSet::new();
    for site in connected {
        let sites = Arc::clone(&sites);
        asks.spawn(async move {
            let state = site_state(&sites, &site, timeout).await;
            (site, state)
        });
    }
    let (mut answered, mut last_error) = (Vec::new(), None);
    while let Some(joined) = asks.join_next().await {
        match joined {
            Ok((site, Ok(state))) => answered.push((site, state)),
            Ok((site, Err(e))) => {
                tracing::warn!(site, error = %e, "a site's state is unavailable");
                silent.push((site, e.to_string()));
                last_error = Some(e);
            }
            Err(e) => tracing::error!(error = %e, "a state request task failed"),
        }
    }
    match (answered.is_empty(), last_error) {
        (true, Some(e)) => Err(e),
        (true, None) => Err(no_agents(&silent)),
        _ => Ok(Arc::new(SiteSnapshots::spanning(answered, silent))),
    }
}

#[async_trait]
impl Monitor for SitesMonitor {
    fn site(&self) -> &str {
        "all sites"
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        Ok(Arc::clone(self.site_snapshots().await?.merged()))
    }

    /// A command that does not name its site is refused: an object's name does not say where it is.
    async fn execute_with(&self, _: &Action, _: &str, _: Steps<'_>) -> Result<Outcome, MonitorError> {
        Err(MonitorError::Refused(format!(
            "the command names no site, and this bot serves several (connected: {}); name the site",
            self.sites.connected().join(", ")
        )))
    }

    /// What each site's agent said it runs.
    fn system(&self, site: Option<&str>) -> Option<System> {
        self.sites.system(site)
    }

    /// Read at most [`STATE_SHARED_FOR`] ago, every site asked at once; callers asking at the same
    /// time share one round of requests.
    async fn site_snapshots(&self) -> Result<Arc<SiteSnapshots>, MonitorError> {
        let (sites, timeout) = (Arc::clone(&self.sites), self.timeout);
        self.state.get(STATE_SHARED_FOR, || states(sites, timeout)).await
    }

    /// Sends the command to site `site` alone, which checks it against its own objects again. A
    /// site that is not connected is an error, never a reason to try another. The agent's steps
    /// go to `steps` as they arrive; when it goes away or falls silent after it sent the command,
    /// the answer is unconfirmed with what it said so far.
    async fn execute_at_with(
        &self,
        site: &str,
        action: &Action,
        author: &str,
        steps: Steps<'_>,
    ) -> Result<Outcome, MonitorError> {
        // The command was checked against state read a while ago: the lead may have gone meanwhile.
        if !self.permit.granted() {
            return Err(MonitorError::Remote {
                site: site.to_owned(),
                message: "this bot stopped leading before it sent the command, which was not sent; try again"
                    .to_owned(),
                retryable: true,
            });
        }
        tracing::info!(site, ?action, author, "forwarding a command to its site");
        let command =
            |id| Frame::Command { id, site: site.to_owned(), action: action.clone(), author: author.to_owned() };
        let asked = self.sites.ask(site, command, true).await;
        let mut heard = Heard::default();
        let answer = match asked {
            Ok(asked) => {
                let shown = |step: Step| {
                    if let Step::Sent { answer_within, .. } = &step {
                        if *answer_within >= self.timeout {
                            tracing::warn!(
                                site,
                                answer_within_secs = answer_within.as_secs(),
                                command_timeout_secs = self.timeout.as_secs(),
                                "the site gives a command's final word later than [bot] command_timeout allows; raise \
                                 it above the site's figure, or replies end unconfirmed"
                            );
                        }
                    }
                    heard.note(&step);
                    steps(step);
                };
                Ok(asked.wait(self.timeout, shown).await)
            }
            Err(e) => Err(e),
        };
        // Whatever came of it, the next query must see the site's state after it.
        self.state.invalidate();
        match answer? {
            Ok(Frame::CommandResult { result: Ok(outcome), .. }) => Ok(outcome),
            Ok(Frame::CommandResult { result: Err(refusal), .. }) => Err(remote(site, refusal)),
            Ok(other) => Err(unexpected(site, &other)),
            Err(Unanswered::Gone) => {
                heard.outcome(site, "went away before the final word (it stopped, restarted or lost the link)")
            }
            Err(Unanswered::TimedOut) => {
                let why = heard.timed_out(self.timeout);
                heard.outcome(site, &why)
            }
        }
    }
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

fn no_agents(silent: &[(String, String)]) -> MonitorError {
    let detail = match silent {
        [] => "no monitoring site is connected to this bot".to_owned(),
        known => {
            let names: Vec<&str> = known.iter().map(|(site, _)| site.as_str()).collect();
            format!("no monitoring site answers this bot (known: {})", names.join(", "))
        }
    };
    MonitorError::NotRunning { system: "the agent", detail }
}
