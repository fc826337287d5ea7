//! `hagios agent`: runs on the monitoring server. Dials the bot over mutual TLS, drains the
//! local spool up to it and carries out the bot's commands on the local Nagios.

use crate::config::Config;
use crate::observe::health::Health;
use crate::observe::{certificates, probe};
use crate::run::{observe_process, open_spool};
use crate::sources::nagios_status::StatusMirror;
use crate::StartError;
use hagios_domain::System;
use hagios_link::agent::AgentLink;
use hagios_link::certs::Role;
use hagios_link::config::agent_site;
use hagios_monitor::nagios::NagiosMonitor;
use hagios_monitor::Monitor;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::watch;

/// Serves the local Nagios to the bot until `stop` completes.
pub async fn serve(config: Config, stop: impl Future<Output = ()>) -> Result<(), StartError> {
    let mut nagios =
        config.nagios.clone().ok_or(StartError::Missing("no [nagios] section: the agent serves the local Nagios"))?;
    let agent = config
        .agent
        .clone()
        .ok_or(StartError::Missing("no [agent] section: add one with bot = \"bot.example.org:7443\""))?;
    let tls = config
        .tls
        .clone()
        .ok_or(StartError::Missing("no [tls] section: add ca, cert and key made by `hagios certs`"))?;
    // The bot knows the agent by its certificate's name: that is the site, unless set to the same.
    let site = agent_site(nagios.site.as_deref(), &tls).map_err(StartError::Site)?;
    nagios.site = Some(site.clone());
    let spool = open_spool(&config)?;
    let monitor = Arc::new(NagiosMonitor::new(nagios));
    // Changes made in the CGI reach the bot like notifications: through this spool.
    tokio::spawn(StatusMirror { monitor: monitor.clone(), spool: spool.clone() }.run());
    let link = AgentLink {
        tls: hagios_link::tls::client_config(&tls)?,
        bots: agent.bot.0.clone(),
        site: site.clone(),
        system: System::Nagios,
        allow: agent.allow.clone(),
        spool: spool.clone(),
        monitor: monitor.clone(),
        heartbeat: agent.heartbeat,
        poll_interval: config.delivery.poll_interval,
        max_backoff: config.delivery.max_backoff,
    };
    tracing::info!(site = %site, bot = %agent.bot, allow = ?agent.allow, "hagios agent running");
    let (halt, shutdown) = watch::channel(false);
    let health = Health::default();
    let monitor: Arc<dyn Monitor> = monitor;
    let mut observing = observe_process(&config, &health, &monitor, shutdown.clone()).await?;
    observing.push(certificates::watch(tls.clone(), Role::Agent, shutdown.clone()));
    if config.metrics.is_some() {
        // The agent's own delivery is its spool draining up to the bot.
        observing.push(probe::spool(spool, "link to the bot", health, shutdown.clone()));
    }
    let linking = tokio::spawn(link.run(shutdown));
    stop.await;
    tracing::info!("shutting down");
    halt.send_replace(true);
    linking.await.map_err(StartError::task("link"))?;
    for task in observing {
        task.await.map_err(StartError::task("metrics and health"))?;
    }
    Ok(())
}
