//! The agent's end of the link: dials the bot — every bot listed, when several share one
//! database — drains the local spool up to them (a record is deleted only after a bot's
//! `Stored`; one record is in flight on one connection at a time; after an `OverQuota` it is
//! kept and offered again after a pause), and carries out the bots' commands on the local
//! monitoring system after checking them itself, reporting each command's steps as they happen
//! and then its final word. Each connection reconnects on its own with exponential backoff and
//! jitter.

use crate::protocol::{
    cut, notification_frame, read_frame, step_frame, write_frame, write_frames, Frame, FrameError, Refusal, SiteState,
    MAX_FRAME_FROM_BOT_BYTES, MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use hagios_domain::{Action, Outcome, Step, System};
use hagios_monitor::{Monitor, Steps};
use hagios_spool::{RecordId, Spool, SpoolError};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsConnector;

/// The command kinds an agent may allow, named like the chat commands that produce them.
pub const COMMAND_KINDS: [&str; 8] = ["ack", "unack", "downtime", "recheck", "mute", "unmute", "comment", "host"];

/// What `[agent] allow` grants when left out: everything but changing the set of hosts, which a
/// site has to opt into.
pub const DEFAULT_ALLOWED_KINDS: [&str; 7] = ["ack", "unack", "downtime", "recheck", "mute", "unmute", "comment"];

/// The kind of an action, as `[agent] allow` lists it.
pub fn command_kind(action: &Action) -> &'static str {
    match action {
        Action::Acknowledge { .. } => "ack",
        Action::RemoveAcknowledgement { .. } => "unack",
        Action::ScheduleDowntime { .. } | Action::DeleteDowntime { .. } => "downtime",
        Action::Recheck { .. } => "recheck",
        Action::DisableNotifications { .. } => "mute",
        Action::EnableNotifications { .. } => "unmute",
        Action::AddComment { .. } => "comment",
        Action::AddHost { .. } | Action::RemoveHost { .. } => "host",
    }
}

/// Longest host name, service description or author the agent passes on.
const MAX_NAME_BYTES: usize = 255;
/// Longest comment the agent passes on.
const MAX_COMMENT_BYTES: usize = 1024;
/// Records sent and not yet acknowledged; keeps memory bounded when the bot is slow.
const MAX_IN_FLIGHT: usize = 64;
const FIRST_RETRY: Duration = Duration::from_millis(500);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How an agent runs.
#[derive(Clone)]
pub struct AgentLink {
    pub tls: Arc<ClientConfig>,
    /// `host:port` of each bot.
    pub bots: Vec<String>,
    /// The site this agent serves: the name its certificate is issued for
    /// ([`crate::config::agent_site`]).
    pub site: String,
    /// The monitoring system `monitor` drives, named to the bot for its chat replies.
    pub system: System,
    /// Command kinds this site accepts (see [`COMMAND_KINDS`]).
    pub allow: Vec<String>,
    pub spool: Arc<Spool>,
    pub monitor: Arc<dyn Monitor>,
    pub heartbeat: Duration,
    pub poll_interval: Duration,
    pub max_backoff: Duration,
}

/// Why a connection to the bot ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot reach the bot at {bot}: {cause}")]
    Connect { bot: String, cause: std::io::Error },
    #[error("TLS handshake with the bot failed: {0}; check [tls] ca/cert/key and that the bot's certificate names the host dialled")]
    Tls(std::io::Error),
    #[error("the bot refused this agent: {0}")]
    Refused(String),
    #[error("the bot broke the protocol: {0}")]
    Protocol(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("the bot was silent for {0:?}")]
    Silent(Duration),
    #[error(transparent)]
    Spool(#[from] hagios_spool::SpoolError),
}

/// The records sent on some connection and not yet acknowledged: each goes out on one
/// connection at a time, and comes free again when that connection ends.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<HashSet<RecordId>>>);

impl InFlight {
    fn records(&self) -> MutexGuard<'_, HashSet<RecordId>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The records one connection sent and not yet saw stored; handed back when it ends.
struct Sent<'a> {
    all: &'a InFlight,
    mine: HashSet<RecordId>,
}

impl Sent<'_> {
    fn len(&self) -> usize {
        self.mine.len()
    }

    /// Claims `id` for this connection; false when another connection has it.
    fn claim(&mut self, id: &RecordId) -> bool {
        let claimed = self.all.records().insert(id.clone());
        if claimed {
            self.mine.insert(id.clone());
        }
        claimed
    }

    /// `id` is done with on this connection (stored, refused or quarantined): any may take it.
    fn release(&mut self, id: &RecordId) {
        if self.mine.remove(id) {
            self.all.records().remove(id);
        }
    }
}

impl Drop for Sent<'_> {
    fn drop(&mut self) {
        let mut all = self.all.records();
        for id in &self.mine {
            all.remove(id);
        }
    }
}

impl AgentLink {
    /// Keeps a connection to every bot until `shutdown` turns true.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let in_flight = InFlight::default();
        let mut dials = tokio::task::JoinSet::new();
        for bot in &self.bots {
            dials.spawn(self.clone().dial(bot.clone(), in_flight.clone(), shutdown.clone()));
        }
        while dials.join_next().await.is_some() {}
    }

    /// Keeps a connection to `bot` until `shutdown` turns true.
    async fn dial(self, bot: String, in_flight: InFlight, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(self.max_backoff);
        while !*shutdown.borrow() {
            let welcomed = tokio::select! {
                result = self.session(&bot, &in_flight) => match result {
                    Ok(()) => {
                        tracing::info!(%bot, "the bot closed the connection");
                        true
                    }
                    Err((welcomed, e)) => {
                        tracing::warn!(%bot, error = %e, "link to the bot down");
                        welcomed
                    }
                },
                _ = shutdown.changed() => return,
            };
            if welcomed {
                backoff = Backoff::new(self.max_backoff);
            }
            let wait = backoff.next_wait();
            tracing::info!(%bot, retry_in = ?wait, "reconnecting to the bot");
            metrics::counter!(crate::LINK_RECONNECTS).increment(1);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// One connection; the error says whether the bot had welcomed us (then backoff restarts).
    async fn session(&self, bot: &str, in_flight: &InFlight) -> Result<(), (bool, LinkError)> {
        let stream = self.connect(bot).await.map_err(|e| (false, e))?;
        tracing::info!(%bot, site = %self.site, "connected to the bot");
        let (reader, writer) = tokio::io::split(stream);
        let (outbox, frames) = mpsc::channel(MAX_IN_FLIGHT * 2);
        let (incoming_tx, incoming) = mpsc::channel(16);
        let sent = Sent { all: in_flight, mine: HashSet::new() };
        tokio::select! {
            result = write_frames(writer, frames, self.heartbeat) => result.map_err(|e| (true, e.into())),
            result = forward_frames(reader, incoming_tx) => result.map_err(|e| (true, e.into())),
            result = self.exchange(incoming, outbox, sent) => result.map_err(|e| (true, e)),
        }
    }

    async fn connect(&self, bot: &str) -> Result<tokio_rustls::client::TlsStream<TcpStream>, LinkError> {
        let host = bot.rsplit_once(':').map_or(bot, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(host.to_owned())
            .map_err(|e| LinkError::Protocol(format!("`{host}` is not a host name: {e}")))?;
        let handshake = async {
            let tcp =
                TcpStream::connect(bot).await.map_err(|cause| LinkError::Connect { bot: bot.to_owned(), cause })?;
            let mut stream =
                TlsConnector::from(Arc::clone(&self.tls)).connect(server_name, tcp).await.map_err(LinkError::Tls)?;
            let hello = Frame::Hello { version: PROTOCOL_VERSION, site: self.site.clone(), system: Some(self.system) };
            write_frame(&mut stream, &hello).await?;
            match read_frame(&mut stream, MAX_FRAME_FROM_BOT_BYTES).await? {
                Some(Frame::Welcome { .. }) => Ok(stream),
                Some(Frame::Refused { reason }) => Err(LinkError::Refused(reason)),
                Some(other) => Err(LinkError::Protocol(format!("expected Welcome, got {}", other.kind()))),
                // TLS 1.3 reports a rejected client certificate only at the first read.
                None => Err(LinkError::Refused("the bot closed the connection during the handshake".into())),
            }
        };
        tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
            .await
            .map_err(|_| LinkError::Protocol(format!("no handshake within {HANDSHAKE_TIMEOUT:?}")))?
    }

    /// Sends spooled notifications and answers the bot until the connection ends.
    async fn exchange(
        &self,
        mut incoming: mpsc::Receiver<Frame>,
        outbox: mpsc::Sender<Frame>,
        in_flight: Sent<'_>,
    ) -> Result<(), LinkError> {
        let mut offers = Offers::new(in_flight, self.max_backoff);
        let silence = self.heartbeat * 3;
        let mut last_heard = tokio::time::Instant::now();
        let mut poll = tokio::time::interval(self.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                frame = incoming.recv() => {
                    let Some(frame) = frame else { return Ok(()) };
                    last_heard = tokio::time::Instant::now();
                    self.handle(frame, &mut offers, &outbox)?;
                }
                _ = poll.tick() => {
                    if last_heard.elapsed() > silence {
                        return Err(LinkError::Silent(silence));
                    }
                    self.send_pending(&mut offers, &outbox).await?;
                }
            }
        }
    }

    fn handle(&self, frame: Frame, offers: &mut Offers<'_>, outbox: &mpsc::Sender<Frame>) -> Result<(), LinkError> {
        match frame {
            Frame::Heartbeat => {}
            Frame::Stored { record } => {
                let id: RecordId = record.parse().map_err(|e| LinkError::Protocol(format!("{e}")))?;
                self.spool.remove(&id)?;
                offers.stored(&id);
                tracing::info!(record = %id, "delivered to the bot");
            }
            Frame::OverQuota { record } => {
                let id: RecordId = record.parse().map_err(|e| LinkError::Protocol(format!("{e}")))?;
                if let Some(wait) = offers.over_quota(&id) {
                    tracing::warn!(retry_in = ?wait, "the bot holds as much of this site as its quota allows; keeping the notifications here and offering them again later");
                }
            }
            Frame::Command { id, site, action, author } => {
                let (link, outbox) = (self.clone(), outbox.clone());
                tokio::spawn(async move {
                    // A step is news on the way: when the link is too busy to take it, the bot
                    // does without it. The final word below always waits for room.
                    let steps = |step: Step| {
                        let _ = outbox.try_send(step_frame(id, step));
                    };
                    let result = link.carry_out(&site, &action, &author, &steps).await;
                    // The connection may be gone; the bot then ends the reply with what it was told.
                    let _ = outbox.send(Frame::CommandResult { id, result }).await;
                });
            }
            Frame::StateRequest { id } => {
                let (monitor, outbox) = (Arc::clone(&self.monitor), outbox.clone());
                tokio::spawn(async move {
                    let result = state_answer(monitor.as_ref()).await;
                    let _ = outbox.send(Frame::State { id, result }).await;
                });
            }
            other => return Err(LinkError::Protocol(format!("a bot may not send {}", other.kind()))),
        }
        Ok(())
    }

    async fn send_pending(&self, offers: &mut Offers<'_>, outbox: &mpsc::Sender<Frame>) -> Result<(), LinkError> {
        if offers.in_flight.len() >= MAX_IN_FLIGHT || offers.paused() {
            return Ok(());
        }
        let spool = Arc::clone(&self.spool);
        let pending = tokio::task::spawn_blocking(move || spool.pending()).await.expect("spool scan task")?;
        let room = MAX_IN_FLIGHT - offers.in_flight.len();
        let evidence = self.monitor.evidence();
        let unsent: Vec<RecordId> = pending.into_iter().filter(|id| offers.in_flight.claim(id)).take(room).collect();
        for id in unsent {
            let notification = match self.spool.read(&id) {
                Ok(notification) => notification,
                // Stored through the link to another bot since the scan, and deleted.
                Err(SpoolError::Missing(_)) => {
                    offers.in_flight.release(&id);
                    continue;
                }
                Err(e) if !e.retryable() => {
                    tracing::error!(record = %id, error = %e, "quarantining unreadable spool record");
                    self.spool.quarantine(&id, &e.to_string())?;
                    offers.in_flight.release(&id);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            // A command waiting here for the monitor's word takes it as soon as it is read.
            if let Some(evidence) = &evidence {
                evidence.publish(&notification);
            }
            let frame = match notification_frame(id.as_str(), &self.site, notification) {
                Ok(frame) => frame,
                Err(e) => {
                    tracing::error!(record = %id, error = %e, "quarantining a notification that cannot cross the link");
                    self.spool.quarantine(&id, &e.to_string())?;
                    offers.in_flight.release(&id);
                    continue;
                }
            };
            if outbox.send(frame).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The agent never trusts the bot: its own allowlist, then its own checks, then the backend
    /// (which validates the objects against this site's state once more). Its steps go to `steps`
    /// as they happen.
    async fn carry_out(&self, site: &str, action: &Action, author: &str, steps: Steps<'_>) -> Result<Outcome, Refusal> {
        let kind = command_kind(action);
        let refuse = |message: String| {
            tracing::warn!(site = %self.site, kind, author, reason = %message, "refused a command from the bot");
            Refusal::new(message, false)
        };
        // A bot that names another site is confused: the command was authorized for that one.
        if site != self.site {
            let shown: String = site.chars().take(64).filter(|c| !c.is_control()).collect();
            return Err(refuse(format!("this agent serves site `{}`, not `{shown}`", self.site)));
        }
        if !self.allow.iter().any(|allowed| allowed == kind) {
            return Err(refuse(format!(
                "this site does not allow `{kind}` from chat (its [agent] allow list: {})",
                self.allow.join(", ")
            )));
        }
        check_sizes(action, author).map_err(refuse)?;
        match self.monitor.execute_with(action, author, steps).await {
            Ok(Outcome::Confirmed(detail)) => Ok(Outcome::Confirmed(short(detail))),
            Ok(Outcome::NotApplied(reason)) => Ok(Outcome::NotApplied(short(reason))),
            Ok(Outcome::Unconfirmed(detail)) => Ok(Outcome::Unconfirmed(short(detail))),
            Err(e) => {
                tracing::warn!(site = %self.site, kind, author, error = %e, "command failed");
                Err(Refusal::new(e.to_string(), e.retryable()))
            }
        }
    }
}

/// What the agent has offered the bot, and whether it must wait before offering more.
struct Offers<'a> {
    /// What this connection sent and has not heard back about.
    in_flight: Sent<'a>,
    /// While the bot's quota for this site is full, nothing is offered before this.
    paused_until: Option<tokio::time::Instant>,
    backoff: Backoff,
    max_backoff: Duration,
}

impl<'a> Offers<'a> {
    fn new(in_flight: Sent<'a>, max_backoff: Duration) -> Self {
        Offers { in_flight, paused_until: None, backoff: Backoff::new(max_backoff), max_backoff }
    }

    fn paused(&self) -> bool {
        self.paused_until.is_some_and(|until| tokio::time::Instant::now() < until)
    }

    fn stored(&mut self, id: &RecordId) {
        self.in_flight.release(id);
        if !self.paused() {
            self.backoff = Backoff::new(self.max_backoff);
        }
    }

    /// The bot refused `id` for the site's quota: it stays in the spool. Starts a pause (longer
    /// each time the quota is still full after one) unless one is running; returns its length.
    fn over_quota(&mut self, id: &RecordId) -> Option<Duration> {
        self.in_flight.release(id);
        if self.paused() {
            return None;
        }
        let wait = self.backoff.next_wait();
        self.paused_until = Some(tokio::time::Instant::now() + wait);
        Some(wait)
    }
}

/// Waits between dial attempts: doubling from [`FIRST_RETRY`] up to a cap, each drawn from the
/// upper half of the current step, so agents that lost the bot together do not return in lockstep.
struct Backoff {
    step: Duration,
    cap: Duration,
}

impl Backoff {
    fn new(cap: Duration) -> Self {
        Backoff { step: FIRST_RETRY.min(cap), cap }
    }

    fn next_wait(&mut self) -> Duration {
        let wait = self.step.mul_f64(0.5 + fastrand::f64() * 0.5);
        self.step = (self.step * 2).min(self.cap);
        wait
    }
}

/// Characters and lengths the agent accepts, whatever the bot already checked.
fn check_sizes(action: &Action, author: &str) -> Result<(), String> {
    let mut names: Vec<&str> = vec![author];
    let mut comment = "";
    match action {
        Action::Acknowledge { target, comment: text, .. } | Action::AddComment { target, comment: text, .. } => {
            names.push(&target.host);
            names.extend(target.service.as_deref());
            comment = text;
        }
        Action::ScheduleDowntime { target, comment: text, .. } => {
            names.push(target.host());
            if let hagios_domain::DowntimeTarget::Service { service, .. } = target {
                names.push(service);
            }
            comment = text;
        }
        Action::RemoveAcknowledgement { target }
        | Action::Recheck { target }
        | Action::EnableNotifications { target }
        | Action::DisableNotifications { target } => {
            names.push(&target.host);
            names.extend(target.service.as_deref());
        }
        Action::AddHost { name, address, template } => names.extend([name.as_str(), address, template]),
        Action::RemoveHost { name } => names.push(name),
        Action::DeleteDowntime { .. } => {}
    }
    if let Some(name) = names.iter().find(|name| name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control)) {
        let shown: String = name.chars().take(40).filter(|c| !c.is_control()).collect();
        return Err(format!("the name `{shown}` is too long or holds control characters"));
    }
    if comment.len() > MAX_COMMENT_BYTES {
        return Err(format!("the comment is {} bytes; this site accepts {MAX_COMMENT_BYTES} at most", comment.len()));
    }
    Ok(())
}

/// Reads frames off the connection into `incoming`; runs on its own because a half-read frame
/// must never be abandoned (reading is not cancel-safe).
async fn forward_frames<R: tokio::io::AsyncRead + Unpin>(
    mut reader: R,
    incoming: mpsc::Sender<Frame>,
) -> Result<(), FrameError> {
    while let Some(frame) = read_frame(&mut reader, MAX_FRAME_FROM_BOT_BYTES).await? {
        if incoming.send(frame).await.is_err() {
            break;
        }
    }
    Ok(())
}

/// What the agent answers to a state request, from its own monitor.
async fn state_answer(monitor: &dyn Monitor) -> Result<SiteState, Refusal> {
    monitor
        .snapshot()
        .await
        .map(|snapshot| SiteState::from(snapshot.as_ref()))
        .map_err(|e| Refusal::new(e.to_string(), e.retryable()))
}

/// An outcome's text within what the bot accepts.
fn short(mut detail: String) -> String {
    cut(&mut detail, MAX_MESSAGE_BYTES);
    detail
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::ObjectRef;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut backoff = Backoff::new(Duration::from_secs(4));
        for step_ms in [500u64, 1000, 2000, 4000, 4000, 4000] {
            let wait = backoff.next_wait();
            let step = Duration::from_millis(step_ms);
            assert!(wait >= step / 2 && wait <= step, "{wait:?} outside [{:?}, {step:?}]", step / 2);
        }
    }

    #[test]
    fn every_action_has_a_listed_kind() {
        let target = ObjectRef::host("web01");
        let actions = [
            Action::RemoveAcknowledgement { target: target.clone() },
            Action::Recheck { target: target.clone() },
            Action::EnableNotifications { target: target.clone() },
            Action::DisableNotifications { target: target.clone() },
            Action::AddComment { target, comment: String::new(), persistent: true },
            Action::DeleteDowntime { id: 1 },
        ];
        for action in &actions {
            assert!(COMMAND_KINDS.contains(&command_kind(action)), "{action:?}");
        }
    }

    #[test]
    fn oversized_and_control_character_input_is_refused() {
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        assert!(check_sizes(&Action::Recheck { target: ObjectRef::host(long) }, "alice").is_err());
        assert!(check_sizes(&Action::Recheck { target: ObjectRef::host("web\u{1b}01") }, "alice").is_err());
        let comment = Action::AddComment {
            target: ObjectRef::host("web01"),
            comment: "y".repeat(MAX_COMMENT_BYTES + 1),
            persistent: false,
        };
        assert!(check_sizes(&comment, "alice").unwrap_err().contains("1024 at most"));
        assert!(check_sizes(&Action::Recheck { target: ObjectRef::service("web01", "HTTP") }, "alice").is_ok());
    }
}
