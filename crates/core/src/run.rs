//! `hagios run`: the bot and the monitoring side in one process — spool delivery, the chat
//! adapters and the command conversations — until told to stop. [`serve_chat`] is the bot's
//! half, which `hagios bot` runs too: it delivers and converses only while this process leads
//! (always, on SQLite; on PostgreSQL while it holds the lease, `leader/`).

use crate::backend::Backend;
use crate::config::Config;
use crate::conversation::{Chats, Conversation};
use crate::leader::inbox::{Forwarder, Mirror};
use crate::leader::{Leadership, Term};
use crate::observe::health::Health;
use crate::observe::{self, probe};
use crate::oncall::{OnCallDesk, Rota};
use crate::pipeline::{return_leftovers, FanOut, Groups, Holds, Pipeline, Unrecorded};
use crate::sources::nagios_status::StatusMirror;
use crate::StartError;
use hagios_chat::measured::Measured;
use hagios_chat::platform::{Place, Resume};
use hagios_chat::{ChatAdapter, ChatError, ChatEvent};
use hagios_commands::{Policy, Router, Settings};
use hagios_domain::Permit;
use hagios_monitor::Monitor;
use hagios_spool::Spool;
use hagios_store::sql::Dialect;
use hagios_store::StoreHandle;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The leader's spool for its term, inside the spool directory, when bots share PostgreSQL.
const LEADER_SPOOL: &str = "leader";
/// How long the tasks of an ending term get to finish what they are doing before they are cut
/// off (a store that does not answer, say); they cannot post any more by then.
const TERM_END_GRACE: Duration = Duration::from_secs(10);

/// Runs everything in one process until `stop` completes.
pub async fn serve(config: Config, stop: impl Future<Output = ()>) -> Result<(), StartError> {
    let backend = Backend::from_config(&config)?;
    let spool = open_spool(&config)?;
    if config.nagios.is_some() {
        tokio::spawn(StatusMirror { monitor: backend.monitor.clone(), spool: spool.clone() }.run());
    }
    let store = StoreHandle::from_config(&config.store).await?;
    let leadership = Leadership::new(store.clone(), &config.store);
    serve_chat(config, leadership, spool, backend, stop).await
}

pub(crate) fn open_spool(config: &Config) -> Result<Arc<Spool>, StartError> {
    let spool = Spool::open(&config.spool.dir)
        .map_err(StartError::spool(format!("open the spool {}", config.spool.dir.display())))?;
    Ok(Arc::new(spool))
}

/// The bot's half: delivery from `spool` to chat, and chat commands to the backend, until `stop`.
/// With several chat platforms each gets its own pipeline (fed by the fan-out stage), listener
/// and conversation; the router, and with it the waiting `yes` questions, is shared. All of it
/// runs in terms of leadership; between terms (another bot leads) the bot only keeps what its
/// sources spool in the shared store.
pub(crate) async fn serve_chat(
    config: Config,
    leadership: Leadership,
    spool: Arc<Spool>,
    mut backend: Backend,
    stop: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let store = leadership.store().clone();
    let chats = chat_adapters(&config, &store, leadership.permit()).await?;
    let health = Health::default();
    let platforms: Vec<&'static str> = chats.iter().map(|chat| chat.platform().name()).collect();
    let (shutdown_tx, shutdown) = watch::channel(false);
    let mut background = observe_process(&config, &health, &backend.monitor, shutdown.clone()).await?;
    // Every platform gets the same notifications, so any one of them tells what was shown.
    background.extend(backend.spawn_feed(spool.clone(), store.for_platform(platforms[0]), shutdown.clone()));
    let shared = store.dialect() == Dialect::Postgres;
    let delivery_spool = if shared {
        let forwarder = Forwarder { spool: spool.clone(), store: store.clone() };
        background.push(tokio::spawn(forwarder.run(config.delivery.poll_interval, shutdown.clone())));
        let dir = spool.dir().join(LEADER_SPOOL);
        Arc::new(Spool::open(&dir).map_err(StartError::spool(format!("open the leader's spool {}", dir.display())))?)
    } else {
        spool
    };
    let rota = Arc::new(Rota::new(&config));
    background.push(tokio::spawn(crate::oncall::feed::run(rota.clone(), config.store.path.clone(), shutdown.clone())));
    // Escalation pages the first platform's threads; timelines and reports read every platform's.
    let desk = OnCallDesk {
        rota: rota.clone(),
        store: store.for_platform(platforms[0]),
        platforms: platforms.iter().map(|name| (*name).to_owned()).collect(),
        routes: config.routes.iter().cloned().chain([config.fallback_route()]).collect(),
        timezone: config.commands.timezone.clone(),
    };
    tracing::info!(site = %backend.site, backend = backend.name, chat = %platforms.join("+"), "hagios running");
    let terms = Terms {
        router: Arc::new(router(&config, &backend, &store).with_desk(Arc::new(desk))),
        rota,
        config,
        store,
        spool: delivery_spool,
        monitor: backend.monitor.clone(),
        chats,
        health,
        shared,
    };

    tokio::pin!(stop);
    loop {
        let term = tokio::select! {
            term = leadership.next_term() => term,
            () = &mut stop => break,
        };
        // Another bot may have taken overrides in its terms: each term starts from the store's.
        terms.rota.set_overrides(&terms.store.overrides(hagios_domain::unix_now()).await?);
        let running = terms.start(&term)?;
        let stopping = tokio::select! {
            _ = leadership.hold(&term) => false,
            () = &mut stop => true,
        };
        running.end().await?;
        if stopping {
            leadership.release(&term).await;
            break;
        }
    }
    tracing::info!("shutting down");
    shutdown_tx.send_replace(true);
    for task in background {
        task.await.map_err(StartError::task("metrics, health and notification sources"))?;
    }
    Ok(())
}

/// What each term of leadership runs with.
struct Terms {
    config: Config,
    store: StoreHandle,
    /// Where the term's pipelines (or the fan-out) deliver from.
    spool: Arc<Spool>,
    monitor: Arc<dyn Monitor>,
    chats: Vec<Arc<dyn ChatAdapter>>,
    router: Arc<Router>,
    /// Who is on call, for paging, handovers and the desk's answers.
    rota: Arc<Rota>,
    health: Health,
    /// Whether bots share the store (PostgreSQL): the term's spool is then a copy of the inbox.
    shared: bool,
}

/// The tasks of a term that runs.
struct Running {
    end: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    listeners: Vec<JoinHandle<()>>,
}

impl Terms {
    fn start(&self, term: &Term) -> Result<Running, StartError> {
        let config = &self.config;
        let (end, ending) = watch::channel(false);
        let store = self.store.fenced(term.fence.clone());
        let mut tasks = Vec::new();
        let retention = crate::retention::retention(&config.store);
        tasks.push(tokio::spawn(crate::retention::run(store.clone(), retention, ending.clone())));
        let platforms: Vec<&str> = self.chats.iter().map(|chat| chat.platform().name()).collect();
        let (spools, fan_out) = if let [_] = platforms[..] {
            return_leftovers(&self.spool, &[])
                .map_err(StartError::spool("take back the notifications of the platforms' spools"))?;
            (vec![self.spool.clone()], None)
        } else {
            let (fan_out, spools) = FanOut::open(self.spool.clone(), &platforms)
                .map_err(StartError::spool("open the spools of the chat platforms"))?;
            (spools, Some(fan_out))
        };
        if self.shared {
            let every: Vec<&Spool> =
                std::iter::once(self.spool.as_ref()).chain(spools.iter().map(Arc::as_ref)).collect();
            Mirror::clear(&every).map_err(StartError::spool("empty the leader's spool for the new term"))?;
            let platforms = if fan_out.is_some() { spools.clone() } else { Vec::new() };
            let mirror = Mirror { store: store.clone(), epoch: term.epoch, spool: self.spool.clone(), platforms };
            tasks.push(tokio::spawn(mirror.run(config.delivery.poll_interval, ending.clone())));
        }
        if let Some(fan_out) = fan_out {
            tasks.push(tokio::spawn(fan_out.run(config.delivery.poll_interval, ending.clone())));
        }
        let mut listeners = Vec::new();
        let every_chat = Chats::new(&self.chats);
        let listed_users = Arc::new(config.users.iter().map(|user| user.chat_id.clone()).collect());
        for (chat, spool) in self.chats.iter().cloned().zip(spools) {
            let store = store.for_platform(chat.platform().name());
            let unrecorded = Unrecorded::default();
            let pipeline = Pipeline {
                spool,
                store: store.clone(),
                chat: chat.clone(),
                routes: config.routes.clone(),
                default_route: config.fallback_route(),
                settings: config.delivery.clone(),
                holds: Holds::new(config.quiet_hours.clone()),
                groups: Groups::with_topology(self.monitor.clone()),
                intake: Default::default(),
                evidence: self.monitor.evidence(),
                health: self.health.clone(),
                oncall: self.rota.clone(),
                handovers: Default::default(),
                unrecorded: unrecorded.clone(),
            };
            tasks.push(tokio::spawn(pipeline.run(ending.clone())));
            let (events_tx, events) = mpsc::channel(64);
            listeners.push(tokio::spawn(listen(chat.clone(), events_tx)));
            let conversation = Conversation {
                chat,
                router: self.router.clone(),
                monitor: self.monitor.clone(),
                store,
                chats: every_chat.clone(),
                listed_users: Arc::clone(&listed_users),
                epoch: term.epoch,
                unrecorded,
            };
            tasks.push(tokio::spawn(conversation.serve(events, ending.clone())));
        }
        Ok(Running { end, tasks, listeners })
    }
}

impl Running {
    /// Ends the term's tasks: they finish what they are doing (commands already sent get their
    /// answer), the conversations end and with them the chat listeners (Slack's Socket Mode
    /// connections close). What does not end within [`TERM_END_GRACE`] is cut off.
    async fn end(self) -> Result<(), StartError> {
        self.end.send_replace(true);
        let deadline = tokio::time::Instant::now() + TERM_END_GRACE;
        for mut task in self.tasks.into_iter().chain(self.listeners) {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) if e.is_cancelled() => {}
                Ok(Err(e)) => return Err(StartError::task("delivery or command task")(e)),
                Err(_) => {
                    tracing::warn!("a task of the ending term did not finish in time; cut off");
                    task.abort();
                }
            }
        }
        Ok(())
    }
}

fn router(config: &Config, backend: &Backend, store: &StoreHandle) -> Router {
    let mut settings = Settings {
        backend_name: backend.name.to_owned(),
        timezone: config.commands.timezone.clone(),
        second_person_confirms: config.commands.second_person_confirms,
        rate_limit: config.commands.rate_limit,
        rate_limit_without_role: config.commands.rate_limit_without_role,
        ..Settings::default()
    };
    if let Some(template) = &config.commands.default_host_template {
        settings.default_host_template = template.clone();
    }
    Router::with_settings(policy(config), settings)
        .with_snooze_book(Arc::new(crate::snoozes::StoredSnoozes(store.clone())))
}

/// `/metrics` and `/healthz` when `[metrics]` is configured, and the monitoring probe that tells
/// health whether `monitor` answers; the tasks end when `shutdown` turns true.
pub(crate) async fn observe_process(
    config: &Config,
    health: &Health,
    monitor: &Arc<dyn hagios_monitor::Monitor>,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, StartError> {
    let Some(metrics) = &config.metrics else { return Ok(Vec::new()) };
    let server = observe::serve(metrics, health.clone(), shutdown.clone()).await?;
    Ok(vec![server, probe::monitoring(monitor.clone(), health.clone(), shutdown)])
}

/// Feeds `chat`'s events to its conversation until the conversation ends. A platform that is
/// down now may be back later; a refusal (bad token) is final.
async fn listen(chat: Arc<dyn ChatAdapter>, events: mpsc::Sender<ChatEvent>) {
    loop {
        match chat.listen(events.clone()).await {
            Ok(()) => break,
            Err(_) if events.is_closed() => break,
            Err(e) if e.retryable() => {
                tracing::warn!(platform = %chat.platform(), error = %e, "chat listener lost its connection; reconnecting in 5s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    () = events.closed() => break,
                }
            }
            Err(e) => {
                tracing::error!(platform = %chat.platform(), error = %e, "chat listener stopped");
                break;
            }
        }
    }
}

/// An adapter for every chat platform the configuration talks on; each posts only while
/// `permit` is granted.
async fn chat_adapters(
    config: &Config,
    store: &StoreHandle,
    permit: Permit,
) -> Result<Vec<Arc<dyn ChatAdapter>>, StartError> {
    let mut chats: Vec<Arc<dyn ChatAdapter>> = Vec::new();
    for section in &config.platforms {
        let platform = section.platform();
        let place = Place {
            resume: Arc::new(KeptPosition {
                store: store.clone(),
                platform: platform.name(),
                earlier_release_file: config.store.path.with_extension(format!("{}-sync", platform.name())),
            }),
            first_message_number: store.for_platform(platform.name()).next_message_number().await?,
            permit: permit.clone(),
        };
        chats.push(Arc::new(Measured(section.section().connect(&place).await?)));
    }
    Ok(chats)
}

/// Where a platform's listening resumes: the position its conversation kept last in the store,
/// which every bot sharing it reads (a new leader resumes where the old one left off).
struct KeptPosition {
    store: StoreHandle,
    platform: &'static str,
    /// Where releases before the store kept positions kept one (`state.db` → `state.matrix-sync`):
    /// read while the store has none, so the first start after an upgrade still carries out what
    /// was typed while hagios was stopped for it.
    earlier_release_file: PathBuf,
}

#[async_trait::async_trait]
impl Resume for KeptPosition {
    async fn position(&self) -> Result<Option<String>, ChatError> {
        let kept = self.store.chat_position(self.platform).await.map_err(|e| {
            ChatError::Unavailable(format!(
                "cannot read where {} events resume in the state database: {e}",
                self.platform
            ))
        })?;
        Ok(kept.or_else(|| position_in(&self.earlier_release_file)))
    }
}

/// The position a file of an earlier release holds, if it is there and not empty.
fn position_in(file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let position = text.trim();
    if position.is_empty() {
        return None;
    }
    tracing::info!(file = %file.display(), "resuming chat events where the earlier release's position file left off");
    Some(position.to_owned())
}

fn policy(config: &Config) -> Policy {
    Policy::new(
        config.roles.iter().map(|r| hagios_commands::Role {
            name: r.name.clone(),
            commands: r.commands.clone(),
            objects: r.objects.clone(),
        }),
        config.users.iter().map(|u| hagios_commands::User {
            chat_id: u.chat_id.clone(),
            roles: u.roles.clone(),
            person: u.person.clone(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_start_after_an_upgrade_resumes_from_the_earlier_release_s_file_until_the_store_keeps_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreHandle::open(&dir.path().join("state.db")).unwrap();
        let file = dir.path().join("state.matrix-sync");
        let kept = KeptPosition { store: store.clone(), platform: "matrix", earlier_release_file: file.clone() };
        assert_eq!(kept.position().await.unwrap(), None, "no file, nothing kept: from now");

        std::fs::write(&file, "  \n").unwrap();
        assert_eq!(kept.position().await.unwrap(), None, "an empty file is no position");

        std::fs::write(&file, "s72594_4483_1934\n").unwrap();
        assert_eq!(kept.position().await.unwrap().as_deref(), Some("s72594_4483_1934"));

        store.keep_chat_position("matrix", "s72600_4490_1940").await.unwrap();
        assert_eq!(kept.position().await.unwrap().as_deref(), Some("s72600_4490_1940"), "the store's position wins");
    }
}
