//! `hagios run`: the bot and the monitoring side in one process — spool delivery, the chat
//! adapters and the command conversations — until told to stop.

use crate::backend::Backend;
use crate::config::Config;
use crate::conversation::{Chats, Conversation};
use crate::observe::health::Health;
use crate::observe::{self, probe};
use crate::pipeline::{return_leftovers, FanOut, Groups, Holds, Pipeline};
use crate::sources::nagios_status::StatusMirror;
use crate::StartError;
use hagios_chat::measured::Measured;
use hagios_chat::platform::Place;
use hagios_chat::{ChatAdapter, ChatEvent};
use hagios_commands::{Policy, Router, Settings};
use hagios_spool::Spool;
use hagios_store::StoreHandle;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Runs everything in one process until `stop` completes.
pub async fn serve(config: Config, stop: impl Future<Output = ()>) -> Result<(), StartError> {
    let backend = Backend::from_config(&config)?;
    let spool = open_spool(&config)?;
    if config.nagios.is_some() {
        tokio::spawn(StatusMirror { monitor: backend.monitor.clone(), spool: spool.clone() }.run());
    }
    serve_chat(config, spool, backend, stop).await
}

pub(crate) fn open_spool(config: &Config) -> Result<Arc<Spool>, StartError> {
    let spool = Spool::open(&config.spool.dir)
        .map_err(StartError::spool(format!("open the spool {}", config.spool.dir.display())))?;
    Ok(Arc::new(spool))
}

/// The bot's half: delivery from `spool` to chat, and chat commands to the backend, until `stop`.
/// With several chat platforms each gets its own pipeline (fed by the fan-out stage), listener
/// and conversation; the router, and with it the waiting `yes` questions, is shared.
pub(crate) async fn serve_chat(
    config: Config,
    spool: Arc<Spool>,
    mut backend: Backend,
    stop: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let store = StoreHandle::open(&config.store.path)?;
    let chats = chat_adapters(&config, &store).await?;
    let health = Health::default();
    let platforms: Vec<&str> = chats.iter().map(|chat| chat.platform().name()).collect();
    let monitor = backend.monitor.clone();
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
    let router = Arc::new(
        Router::with_settings(policy(&config), settings)
            .with_snooze_book(Arc::new(crate::snoozes::StoredSnoozes(store.clone()))),
    );

    let (shutdown_tx, shutdown) = watch::channel(false);
    let observing = observe_process(&config, &health, &monitor, shutdown.clone()).await?;
    // Every platform gets the same notifications, so any one of them tells what was shown.
    let feed = backend.spawn_feed(spool.clone(), store.for_platform(platforms[0]), shutdown.clone());
    let mut tasks = Vec::new();
    let retention = crate::retention::retention(&config.store);
    tasks.push(tokio::spawn(crate::retention::run(store.clone(), retention, shutdown.clone())));
    let spools = if let [_] = platforms[..] {
        return_leftovers(&spool, &[])
            .map_err(StartError::spool("take back the notifications of the platforms' spools"))?;
        vec![spool]
    } else {
        let (fan_out, spools) =
            FanOut::open(spool, &platforms).map_err(StartError::spool("open the spools of the chat platforms"))?;
        tasks.push(tokio::spawn(fan_out.run(config.delivery.poll_interval, shutdown.clone())));
        spools
    };
    let mut listeners = Vec::new();
    let every_chat = Chats::new(&chats);
    let listed_users = Arc::new(config.users.iter().map(|user| user.chat_id.clone()).collect());
    for (chat, spool) in chats.into_iter().zip(spools) {
        let store = store.for_platform(chat.platform().name());
        let pipeline = Pipeline {
            spool,
            store: store.clone(),
            chat: chat.clone(),
            routes: config.routes.clone(),
            default_route: config.fallback_route(),
            settings: config.delivery.clone(),
            holds: Holds::new(config.quiet_hours.clone()),
            groups: Groups::with_topology(monitor.clone()),
            intake: Default::default(),
            evidence: monitor.evidence(),
            health: health.clone(),
        };
        tasks.push(tokio::spawn(pipeline.run(shutdown.clone())));
        let (events_tx, events) = mpsc::channel(64);
        listeners.push(tokio::spawn(listen(chat.clone(), events_tx)));
        let conversation = Conversation {
            chat,
            router: router.clone(),
            monitor: monitor.clone(),
            store,
            chats: every_chat.clone(),
            listed_users: Arc::clone(&listed_users),
        };
        tasks.push(tokio::spawn(conversation.serve(events, shutdown.clone())));
    }
    tracing::info!(site = %backend.site, backend = backend.name, chat = %platforms.join("+"), "hagios running");

    stop.await;
    tracing::info!("shutting down");
    shutdown_tx.send_replace(true);
    listeners.iter().for_each(|listener| listener.abort());
    for task in tasks {
        task.await.map_err(StartError::task("delivery or command task"))?;
    }
    if let Some(feed) = feed {
        feed.await.map_err(StartError::task("monitoring event feed"))?;
    }
    for task in observing {
        task.await.map_err(StartError::task("metrics and health"))?;
    }
    Ok(())
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

/// Feeds `chat`'s events to its conversation. A platform that is down now may be back later;
/// a refusal (bad token) is final.
async fn listen(chat: Arc<dyn ChatAdapter>, events: mpsc::Sender<ChatEvent>) {
    loop {
        match chat.listen(events.clone()).await {
            Ok(()) => break,
            Err(e) if e.retryable() => {
                tracing::warn!(platform = %chat.platform(), error = %e, "chat listener lost its connection; reconnecting in 5s");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
            Err(e) => {
                tracing::error!(platform = %chat.platform(), error = %e, "chat listener stopped");
                break;
            }
        }
    }
}

/// An adapter for every chat platform the configuration talks on.
async fn chat_adapters(config: &Config, store: &StoreHandle) -> Result<Vec<Arc<dyn ChatAdapter>>, StartError> {
    let mut chats: Vec<Arc<dyn ChatAdapter>> = Vec::new();
    for section in &config.platforms {
        let platform = section.platform();
        let place = Place {
            state_file: config.store.path.with_extension(format!("{platform}-sync")),
            first_message_number: store.for_platform(platform.name()).next_message_number().await?,
        };
        chats.push(Arc::new(Measured(section.section().connect(&place).await?)));
    }
    Ok(chats)
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
