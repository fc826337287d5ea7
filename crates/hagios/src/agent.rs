//! `hagios agent`: runs on the monitoring server. Dials the bot over mutual TLS, drains the
//! local spool up to it and carries out the bot's commands on the local Nagios.

use crate::backend;
use crate::config::Config;
use crate::mirror::StatusMirror;
use crate::run;
use anyhow::Context;
use hagios_link::agent::AgentLink;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::watch;

pub fn main(config_path: &Path) -> ExitCode {
    run::main_with("agent", config_path, serve)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let nagios = config.nagios.clone().context("no [nagios] section: the agent serves the local Nagios")?;
    let agent = config.agent.clone().context("no [agent] section: add one with bot = \"bot.example.org:7443\"")?;
    let tls = config.tls.clone().context("no [tls] section: add ca, cert and key made by `hagios certs`")?;
    let spool = run::open_spool(&config)?;
    let monitor = Arc::new(backend::nagios_monitor(&nagios));
    // Changes made in the CGI reach the bot like notifications: through this spool.
    tokio::spawn(StatusMirror { monitor: monitor.clone(), spool: spool.clone() }.run());
    let link = AgentLink {
        tls: hagios_link::tls::client_config(&tls.files())?,
        bot: agent.bot.clone(),
        site: nagios.site.clone(),
        allow: agent.allow.clone(),
        spool: spool.clone(),
        monitor: monitor.clone(),
        heartbeat: agent.heartbeat,
        poll_interval: config.delivery.poll_interval,
        max_backoff: config.delivery.max_backoff,
    };
    tracing::info!(site = %nagios.site, bot = %agent.bot, allow = ?agent.allow, "hagios agent running");
    let (stop, shutdown) = watch::channel(false);
    let linking = tokio::spawn(link.run(shutdown));
    run::wait_for_signal().await?;
    tracing::info!("shutting down");
    stop.send_replace(true);
    linking.await.context("link task")
}
