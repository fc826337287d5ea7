//! `hagios run`: the bot and the monitoring side in one process — spool delivery, the chat
//! adapter and the command conversation — until SIGINT or SIGTERM.

use crate::backend::Backend;
use crate::config::Config;
use crate::conversation::Conversation;
use crate::pipeline::Pipeline;
use crate::store::StoreHandle;
use anyhow::Context;
use hagios_chat::terminal::TerminalChat;
use hagios_chat::ChatAdapter;
use hagios_commands::{Policy, Router, Settings};
use hagios_spool::Spool;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

pub fn main(config_path: &Path) -> ExitCode {
    init_logging();
    let result = Config::load(config_path).map_err(anyhow::Error::from).and_then(|config| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(serve(config))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hagios run: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr as key=value lines; stdout belongs to the terminal chat.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HAGIOS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(false).init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let mut backend = Backend::from_config(&config)?;
    let store = StoreHandle::open(&config.store.path)?;
    let spool = Arc::new(
        Spool::open(&config.spool.dir)
            .with_context(|| format!("cannot open the spool {}", config.spool.dir.display()))?,
    );
    let monitor = backend.monitor.clone();
    let first_terminal_id = store.next_message_number(hagios_chat::terminal::CHANNEL).await?;
    let chat: Arc<dyn ChatAdapter> = Arc::new(TerminalChat::stdio(config.terminal.user.clone(), first_terminal_id));
    let settings = Settings {
        backend_name: backend.name.to_owned(),
        utc_offset_seconds: config.commands.utc_offset_seconds,
        second_person_confirms: config.commands.second_person_confirms,
        ..Settings::default()
    };
    let router = Arc::new(Router::with_settings(policy(&config), settings));

    let (shutdown_tx, shutdown) = watch::channel(false);
    let feed = backend.spawn_feed(spool.clone(), store.clone(), shutdown.clone());
    let pipeline = Pipeline {
        spool,
        store: store.clone(),
        chat: chat.clone(),
        routes: config.routes.clone(),
        settings: config.delivery.clone(),
    };
    let delivery = tokio::spawn(pipeline.run(shutdown.clone()));

    let (events_tx, events) = mpsc::channel(64);
    let listener = {
        let chat = chat.clone();
        tokio::spawn(async move {
            if let Err(e) = chat.listen(events_tx).await {
                tracing::error!(error = %e, "chat listener stopped");
            }
        })
    };
    let conversation = Conversation { chat, router, monitor, store };
    let commands = tokio::spawn(conversation.serve(events, shutdown));
    tracing::info!(site = %backend.site, backend = backend.name, "hagios running");

    wait_for_signal().await?;
    tracing::info!("shutting down");
    shutdown_tx.send_replace(true);
    listener.abort();
    delivery.await.context("delivery task")?;
    commands.await.context("command task")?;
    if let Some(feed) = feed {
        feed.await.context("monitoring event feed")?;
    }
    Ok(())
}

fn policy(config: &Config) -> Policy {
    Policy::new(
        config.roles.iter().map(|r| hagios_commands::Role {
            name: r.name.clone(),
            commands: r.commands.clone(),
            objects: r.objects.clone(),
        }),
        config.users.iter().map(|u| hagios_commands::User { chat_id: u.chat_id.clone(), roles: u.roles.clone() }),
    )
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
