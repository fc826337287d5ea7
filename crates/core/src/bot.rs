//! `hagios bot`: runs where chat is reachable. Accepts agents over mutual TLS, delivers their
//! notifications exactly like `hagios run`, and routes chat commands to the site that owns the
//! object.

use crate::backend::Backend;
use crate::config::Config;
use crate::observe::certificates;
use crate::pipeline::waiting_spools;
use crate::run::{open_spool, serve_chat};
use crate::StartError;
use hagios_link::bot::BotLink;
use hagios_link::certs::Role;
use hagios_link::quota::Quotas;
use hagios_link::sites::{Sites, SitesMonitor};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves agents and chat until `stop` completes.
pub async fn serve(config: Config, stop: impl Future<Output = ()>) -> Result<(), StartError> {
    let bot =
        config.bot.clone().ok_or(StartError::Missing("no [bot] section: add one with listen = \"0.0.0.0:7443\""))?;
    let tls = config
        .tls
        .clone()
        .ok_or(StartError::Missing("no [tls] section: add ca, cert and key made by `hagios certs`"))?;
    let spool = open_spool(&config)?;
    let sites = Arc::new(Sites::default());
    let platforms: Vec<&str> = config.platforms.iter().map(|section| section.platform().name()).collect();
    let waiting =
        waiting_spools(&spool, &platforms).map_err(StartError::spool("open the spools of the chat platforms"))?;
    let link = BotLink {
        tls: hagios_link::tls::server_config(&tls)?,
        spool: Arc::clone(&spool),
        sites: Arc::clone(&sites),
        quotas: Arc::new(Quotas::new(bot.quota(), waiting)),
        heartbeat: bot.heartbeat,
    };
    let listener = TcpListener::bind(&bot.listen).await.map_err(|cause| StartError::Listen {
        address: bot.listen.clone(),
        key: "[bot] listen",
        cause,
    })?;
    tracing::info!(listen = %bot.listen, "accepting agents");
    let (halt, shutdown) = watch::channel(false);
    if config.metrics.is_some() {
        // Installed now, so that the expiry gauges set at start are not lost.
        crate::observe::recorder();
    }
    let watching = certificates::watch(tls, Role::Bot, shutdown.clone());
    let accepting = tokio::spawn(link.serve(listener, shutdown));
    let monitor = Arc::new(SitesMonitor::new(sites, bot.command_timeout));
    let served = serve_chat(config, spool, Backend::without_feed(monitor, "Nagios"), stop).await;
    halt.send_replace(true);
    accepting.await.map_err(StartError::task("agent listener"))?;
    watching.await.map_err(StartError::task("certificate watch"))?;
    served
}
