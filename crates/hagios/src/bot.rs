//! `hagios bot`: runs where chat is reachable. Accepts agents over mutual TLS, delivers their
//! notifications exactly like `hagios run`, and routes chat commands to the site that owns the
//! object.

use crate::backend::Backend;
use crate::config::Config;
use crate::run;
use anyhow::Context;
use hagios_link::bot::BotLink;
use hagios_link::sites::{Sites, SitesMonitor};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub fn main(config_path: &Path) -> ExitCode {
    run::main_with("bot", config_path, serve)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bot = config.bot.clone().context("no [bot] section: add one with listen = \"0.0.0.0:7443\"")?;
    let tls = config.tls.clone().context("no [tls] section: add ca, cert and key made by `hagios certs`")?;
    let spool = run::open_spool(&config)?;
    let sites = Arc::new(Sites::default());
    let link = BotLink {
        tls: hagios_link::tls::server_config(&tls.files())?,
        spool: Arc::clone(&spool),
        sites: Arc::clone(&sites),
        heartbeat: bot.heartbeat,
    };
    let listener = TcpListener::bind(&bot.listen)
        .await
        .with_context(|| format!("cannot listen on {} ([bot] listen)", bot.listen))?;
    tracing::info!(listen = %bot.listen, "accepting agents");
    let (stop, shutdown) = watch::channel(false);
    let accepting = tokio::spawn(link.serve(listener, shutdown));
    let monitor = Arc::new(SitesMonitor { sites, timeout: bot.command_timeout });
    let served = run::serve_chat(config, spool, Backend::without_feed(monitor, "Nagios")).await;
    stop.send_replace(true);
    accepting.await.context("listener task")?;
    served
}
