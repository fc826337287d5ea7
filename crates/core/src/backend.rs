//! The monitoring backend the configuration names: Nagios (`[nagios]`) or Icinga 2 (`[icinga]`),
//! and for Icinga the event feed that fills the spool (Nagios fills it through `hagios notify`).

use crate::config::Config;
use crate::sources::icinga_events::IcingaFeed;
use crate::StartError;
use hagios_domain::System;
use hagios_monitor::icinga::events::EventStream;
use hagios_monitor::icinga::IcingaMonitor;
use hagios_monitor::nagios::NagiosMonitor;
use hagios_monitor::Monitor;
use hagios_spool::Spool;
use hagios_store::StoreHandle;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct Backend {
    pub monitor: Arc<dyn Monitor>,
    pub site: String,
    /// How chat replies name the monitoring system.
    pub name: &'static str,
    icinga_stream: Option<EventStream>,
}

impl Backend {
    pub fn from_config(config: &Config) -> Result<Self, StartError> {
        if let Some(icinga) = &config.icinga {
            let monitor = IcingaMonitor::from_config(icinga)?;
            let stream = monitor.event_stream();
            let mut backend = Self::without_feed(Arc::new(monitor), System::Icinga2.name());
            backend.icinga_stream = Some(stream);
            return Ok(backend);
        }
        let nagios = config.nagios.as_ref().ok_or(StartError::Missing("no [nagios] or [icinga] section"))?;
        Ok(Self::without_feed(Arc::new(NagiosMonitor::new(nagios.clone())), System::Nagios.name()))
    }

    /// A backend whose notifications arrive by other ways (`hagios notify`, a bot's agents).
    pub fn without_feed(monitor: Arc<dyn Monitor>, name: &'static str) -> Self {
        Self { site: monitor.site().to_owned(), monitor, name, icinga_stream: None }
    }

    /// Starts the backend's own notification source into `spool`, when it has one (Icinga).
    pub fn spawn_feed(
        &mut self,
        spool: Arc<Spool>,
        store: StoreHandle,
        shutdown: watch::Receiver<bool>,
    ) -> Option<JoinHandle<()>> {
        let stream = self.icinga_stream.take()?;
        Some(tokio::spawn(IcingaFeed { stream, spool, store }.run(shutdown)))
    }
}
