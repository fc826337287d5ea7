//! The monitoring backend the configuration names: Nagios (`[nagios]`) or Icinga 2 (`[icinga]`),
//! and for Icinga the event feed that fills the spool (Nagios fills it through `hagios notify`).

use crate::config::{Config, IcingaConfig};
use crate::sources::icinga_events::IcingaFeed;
use crate::StartError;
use hagios_monitor::icinga::client::{ClientConfig, Credentials};
use hagios_monitor::icinga::events::{EventStream, Reconnect};
use hagios_monitor::icinga::{self, IcingaMonitor};
use hagios_monitor::nagios::managed::ManagedHosts;
use hagios_monitor::nagios::{NagiosConfig, NagiosMonitor};
use hagios_monitor::Monitor;
use hagios_spool::Spool;
use hagios_store::StoreHandle;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Longest wait for one Icinga API request.
const ICINGA_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

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
            return icinga_backend(icinga);
        }
        let nagios = config.nagios.as_ref().ok_or(StartError::Missing("no [nagios] or [icinga] section"))?;
        Ok(Self::without_feed(Arc::new(nagios_monitor(nagios)), "Nagios"))
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

/// The local Nagios that `[nagios]` describes.
pub fn nagios_monitor(nagios: &crate::config::NagiosConfig) -> NagiosMonitor {
    NagiosMonitor::new(NagiosConfig {
        site: nagios.site.clone(),
        command_file: nagios.command_file.clone(),
        status_file: nagios.status_file.clone(),
        object_cache_file: nagios.object_cache_file.clone(),
        confirm_timeout: nagios.confirm_timeout,
        managed_hosts: nagios.managed_dir.as_ref().map(|dir| ManagedHosts {
            dir: dir.clone(),
            main_config: nagios.main_config.clone(),
            nagios_binary: nagios.nagios_binary.clone(),
            reload_command: nagios.reload_command.clone(),
            reload_timeout: nagios.reload_timeout,
        }),
    })
}

fn icinga_backend(icinga: &IcingaConfig) -> Result<Backend, StartError> {
    let credentials = match (&icinga.user, &icinga.client_cert, &icinga.client_key) {
        (_, Some(cert_file), Some(key_file)) => {
            Credentials::ClientCertificate { cert_file: cert_file.clone(), key_file: key_file.clone() }
        }
        (Some(user), ..) => Credentials::Password {
            user: user.clone(),
            password: std::env::var(&icinga.password_env).map_err(|_| StartError::Secret {
                variable: icinga.password_env.clone(),
                what: "the Icinga 2 API password".to_owned(),
            })?,
        },
        _ => {
            return Err(StartError::Missing(
                "[icinga] needs user (password in password_env) or client_cert and client_key",
            ))
        }
    };
    let config = icinga::IcingaConfig {
        site: icinga.site.clone(),
        client: ClientConfig {
            url: icinga.url.clone(),
            credentials,
            ca_file: icinga.ca_file.clone(),
            timeout: ICINGA_REQUEST_TIMEOUT,
        },
        confirm_timeout: icinga.confirm_timeout,
    };
    let monitor = IcingaMonitor::new(config)?;
    let stream = EventStream {
        client: monitor.client().clone(),
        site: icinga.site.clone(),
        queue: icinga.event_queue.clone(),
        reconnect: Reconnect::default(),
    };
    Ok(Backend { monitor: Arc::new(monitor), site: icinga.site.clone(), name: "Icinga 2", icinga_stream: Some(stream) })
}
