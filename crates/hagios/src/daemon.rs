//! Starting a daemon (`run`, `agent`, `bot`): logging, the configuration, the async runtime,
//! and SIGINT / SIGTERM as the signal to stop.

use anyhow::Context;
use hagios_core::config::Config;
use hagios_core::StartError;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::ExitCode;

/// What a daemon waits on to stop.
pub type Stop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Loads the configuration and runs `serve` on a fresh runtime until a signal.
pub fn main<F>(command: &str, config_path: &Path, serve: impl FnOnce(Config, Stop) -> F) -> ExitCode
where
    F: Future<Output = Result<(), StartError>>,
{
    init_logging();
    let result = Config::load(config_path).map_err(anyhow::Error::from).and_then(|config| {
        for note in &config.notes {
            tracing::warn!(%note, "the configuration works, but should change");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        runtime.block_on(async {
            let stop = stop_signal()?;
            Ok(serve(config, stop).await?)
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hagios {command}: {e:#}");
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

/// Completes at the first SIGINT or SIGTERM; the handlers are in place when this returns.
fn stop_signal() -> anyhow::Result<Stop> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    Ok(Box::pin(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    }))
}
