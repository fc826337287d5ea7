//! `hagios bot`: runs where chat is reachable. Accepts agents over mutual TLS, delivers their
//! notifications exactly like `hagios run`, and routes chat commands to the site that owns the
//! object. Several bots on one PostgreSQL store all accept agents; the one that leads delivers
//! and answers chat (`leader/`).

use crate::backend::Backend;
use crate::config::Config;
use crate::leader::inbox::StoreInbox;
use crate::leader::Leadership;
use crate::observe::certificates;
use crate::pipeline::waiting_spools;
use crate::run::{open_spool, serve_chat};
use crate::StartError;
use hagios_link::bot::{BotLink, Inbox};
use hagios_link::certs::Role;
use hagios_link::quota::Quotas;
use hagios_link::sites::{Sites, SitesMonitor};
use hagios_store::sql::Dialect;
use hagios_store::StoreHandle;
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
    let store = StoreHandle::from_config(&config.store).await?;
    // Bots sharing PostgreSQL keep what agents hand them in its inbox, so that the leader
    // delivers it whichever bot took it and nothing is lost with a bot; each site's quota
    // counts what of it waits there too.
    let platforms: Vec<&str> = config.platforms.iter().map(|section| section.platform().name()).collect();
    let waiting =
        waiting_spools(&spool, &platforms).map_err(StartError::spool("open the spools of the chat platforms"))?;
    let quotas = Quotas::new(bot.quota(), waiting);
    let (inbox, quotas): (Arc<dyn Inbox>, Quotas) = match store.dialect() {
        Dialect::Postgres => {
            let inbox = Arc::new(StoreInbox(store.clone()));
            (inbox.clone(), quotas.counting(inbox))
        }
        Dialect::Sqlite => (spool.clone(), quotas),
    };
    let leadership = Leadership::new(store, &config.store);
    let sites = Arc::new(Sites::default());
    let link = BotLink {
        tls: hagios_link::tls::server_config(&tls)?,
        inbox,
        sites: Arc::clone(&sites),
        quotas: Arc::new(quotas),
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
    let monitor = Arc::new(SitesMonitor::new(sites, bot.command_timeout, leadership.permit()));
    // Each site's replies name the system its agent runs (`SitesMonitor` answers which); this
    // name is for a reply about every site when they do not all run the same.
    let backend = Backend::without_feed(monitor, "the monitoring system");
    let served = serve_chat(config, leadership, spool, backend, stop).await;
    halt.send_replace(true);
    accepting.await.map_err(StartError::task("agent listener"))?;
    watching.await.map_err(StartError::task("certificate watch"))?;
    served
}
