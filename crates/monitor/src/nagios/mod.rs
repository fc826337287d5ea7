//! Nagios Core 4 backend: commands through the external command FIFO, state from status.dat
//! and objects.cache, confirmation by reading status.dat back; hosts from chat through the
//! managed configuration folder (`managed.rs`).

pub mod command;
mod config;
mod confirm;
mod fifo;
pub mod managed;
mod state;

use crate::readback::{wait_past_second, Expectation};
use crate::validate::{ensure_exists, ensure_host_fields, stored_author};
use crate::{Monitor, MonitorError};
use async_trait::async_trait;
use command::{AckOptions, DowntimeRequest, ExternalCommand, Note};
pub use config::{default_confirm_timeout, default_site, NagiosConfig};
use hagios_domain::{Action, DowntimeTarget, Outcome, Snapshot};
use managed::HostChange;
use state::StateCache;
use std::sync::Arc;

/// A Nagios Core 4 instance on this machine.
pub struct NagiosMonitor {
    config: NagiosConfig,
    site: String,
    state: Arc<StateCache>,
}

impl NagiosMonitor {
    pub fn new(config: NagiosConfig) -> Self {
        let state = Arc::new(StateCache::new(config.status_file.clone(), config.object_cache_file.clone()));
        Self { site: config.site(), config, state }
    }

    fn host_change(&self) -> Result<HostChange<'_>, MonitorError> {
        let dir = self.config.managed_dir.as_deref().ok_or_else(|| {
            MonitorError::Refused(
                "hosts from chat need [nagios] managed_dir, a folder nagios.cfg includes with cfg_dir \
                 (see docs/nagios-hosts.md)"
                    .into(),
            )
        })?;
        Ok(HostChange { config: &self.config, dir, state: &self.state })
    }
}

#[async_trait]
impl Monitor for NagiosMonitor {
    fn site(&self) -> &str {
        &self.site
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        StateCache::load_async(Arc::clone(&self.state)).await
    }

    async fn execute(&self, action: &Action, author: &str) -> Result<Outcome, MonitorError> {
        ensure_host_fields(action)?;
        let snapshot = self.snapshot().await?;
        if let Some(object) = action.object() {
            ensure_exists(&snapshot, &object)?;
        }
        match action {
            Action::AddHost { name, address, template } => {
                return self.host_change()?.add(name, address, template).await
            }
            Action::RemoveHost { name } => return self.host_change()?.remove(name).await,
            _ => {}
        }
        let author = stored_author(author)?;
        let commands = plan(action, &author, &snapshot)?;
        let expectation = Expectation::of(action, &author, &snapshot)?;
        let now = hagios_domain::unix_now();
        let lines = commands
            .iter()
            .map(|command| command::render(command, now))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| MonitorError::Refused(err.to_string()))?;
        if let Expectation::CheckedAfter { last_check, .. } = &expectation {
            wait_past_second(*last_check).await;
        }
        for line in lines {
            fifo::send(&self.config.command_file, line).await?;
        }
        tracing::info!(site = %self.site, action = ?action, author, "sent to Nagios, confirming");
        Ok(confirm::wait(&self.state, &expectation, self.config.confirm_timeout).await)
    }
}

/// The commands that carry out `action` on behalf of `author` (as stored).
fn plan(action: &Action, author: &str, snapshot: &Snapshot) -> Result<Vec<ExternalCommand>, MonitorError> {
    let author = author.to_owned();
    Ok(match action {
        // Configuration changes, not external commands: `managed.rs` carries them out.
        Action::AddHost { .. } | Action::RemoveHost { .. } => {
            return Err(MonitorError::Unsupported("adding or removing hosts by external command"))
        }
        Action::Acknowledge { target, comment, sticky, notify, persistent, expire } => {
            if expire.is_some() {
                return Err(MonitorError::Unsupported("an acknowledgement expiry"));
            }
            let ack = AckOptions {
                sticky: *sticky,
                notify: *notify,
                persistent: *persistent,
                author,
                comment: comment.clone(),
            };
            let command = match target.service.clone() {
                Some(service) => ExternalCommand::AcknowledgeSvcProblem { host: target.host.clone(), service, ack },
                None => ExternalCommand::AcknowledgeHostProblem { host: target.host.clone(), ack },
            };
            vec![command]
        }
        Action::RemoveAcknowledgement { target } => {
            let command = match target.service.clone() {
                Some(service) => ExternalCommand::RemoveSvcAcknowledgement { host: target.host.clone(), service },
                None => ExternalCommand::RemoveHostAcknowledgement { host: target.host.clone() },
            };
            vec![command]
        }
        Action::ScheduleDowntime { target, span, comment } => {
            let downtime = DowntimeRequest { span: *span, author, comment: comment.clone() };
            match target {
                DowntimeTarget::Host(host) => {
                    vec![ExternalCommand::ScheduleHostDowntime { host: host.clone(), downtime }]
                }
                DowntimeTarget::Service { host, service } => {
                    vec![ExternalCommand::ScheduleSvcDowntime {
                        host: host.clone(),
                        service: service.clone(),
                        downtime,
                    }]
                }
                DowntimeTarget::HostAndServices(host) => vec![
                    ExternalCommand::ScheduleHostDowntime { host: host.clone(), downtime: downtime.clone() },
                    ExternalCommand::ScheduleHostSvcDowntime { host: host.clone(), downtime },
                ],
            }
        }
        Action::DeleteDowntime { id } => {
            let downtime = snapshot.status.downtimes.iter().find(|downtime| downtime.id == *id).ok_or_else(|| {
                MonitorError::UnknownObject { kind: "downtime", name: format!("#{id}"), suggestion: None }
            })?;
            let command = match downtime.object.service {
                Some(_) => ExternalCommand::DelSvcDowntime { id: *id },
                None => ExternalCommand::DelHostDowntime { id: *id },
            };
            vec![command]
        }
        Action::Recheck { target } => {
            let command = match target.service.clone() {
                Some(service) => ExternalCommand::ScheduleForcedSvcCheck { host: target.host.clone(), service },
                None => ExternalCommand::ScheduleForcedHostCheck { host: target.host.clone() },
            };
            vec![command]
        }
        Action::EnableNotifications { target } | Action::DisableNotifications { target } => {
            let enabled = matches!(action, Action::EnableNotifications { .. });
            let host = target.host.clone();
            let command = match (target.service.clone(), enabled) {
                (Some(service), true) => ExternalCommand::EnableSvcNotifications { host, service },
                (Some(service), false) => ExternalCommand::DisableSvcNotifications { host, service },
                (None, true) => ExternalCommand::EnableHostNotifications { host },
                (None, false) => ExternalCommand::DisableHostNotifications { host },
            };
            vec![command]
        }
        Action::AddComment { target, comment, persistent } => {
            let note = Note { persistent: *persistent, author, comment: comment.clone() };
            let command = match target.service.clone() {
                Some(service) => ExternalCommand::AddSvcComment { host: target.host.clone(), service, note },
                None => ExternalCommand::AddHostComment { host: target.host.clone(), note },
            };
            vec![command]
        }
    })
}
