//! Nagios Core 4 backend: commands through the external command FIFO, state from status.dat
//! and objects.cache, confirmation from every source of evidence at once (`confirm.rs`: the
//! monitor's own notifications, Nagios' log, status.dat read back), timed by how often Nagios
//! writes status.dat (`main_config.rs`, or learned by `state.rs`); hosts from chat through the
//! managed configuration folder (`managed.rs`).

pub mod command;
mod config;
mod confirm;
mod fifo;
mod log;
mod main_config;
pub mod managed;
mod state;

use crate::cadence::{self, Cadence, CadenceSource, LogWatch};
use crate::evidence::EvidenceHub;
use crate::readback::{wait_past_second, Expectation};
use crate::validate::{ensure_exists, ensure_host_fields, stored_author};
use crate::{Monitor, MonitorError, Steps};
use async_trait::async_trait;
use command::{AckOptions, DowntimeRequest, ExternalCommand, Note};
pub use config::{default_site, NagiosConfig};
use hagios_domain::{Action, DowntimeTarget, Outcome, Snapshot, Step};
use main_config::{MainConfig, DEFAULT_STATUS_UPDATE_INTERVAL};
use managed::HostChange;
use state::StateCache;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A Nagios Core 4 instance on this machine.
pub struct NagiosMonitor {
    config: NagiosConfig,
    site: String,
    state: Arc<StateCache>,
    /// nagios.cfg, when it is this instance's (its status_file is the section's).
    main: Option<MainConfig>,
    evidence: EvidenceHub,
}

impl NagiosMonitor {
    /// The monitor of the section's Nagios; reads its main configuration (a missing or foreign
    /// one only means the status.dat cadence is learned instead).
    pub fn new(config: NagiosConfig) -> Self {
        let state = Arc::new(StateCache::new(config.status_file.clone(), config.object_cache_file.clone()));
        let main = MainConfig::read(&config.main_config).filter(|main| {
            let ours = main.describes(&config.status_file);
            if !ours {
                tracing::warn!(
                    main_config = %config.main_config.display(),
                    status_file = %config.status_file.display(),
                    "main_config names another status_file, so it describes another Nagios; its \
                     status_update_interval and log_file are not used"
                );
            }
            ours
        });
        let monitor = Self { site: config.site(), config, state, main, evidence: EvidenceHub::new() };
        tracing::info!(site = %monitor.site, timing = %monitor.cadence(), "commands are confirmed from Nagios' own evidence");
        monitor
    }

    /// How this instance times the final word on a command, and which log it watches.
    pub fn cadence(&self) -> Cadence {
        let (state_every, source) = self.state_every();
        let log = match self.log_file() {
            None => LogWatch::None,
            Some(path) => match std::fs::File::open(&path) {
                Ok(_) => LogWatch::Watching(path),
                Err(err) => LogWatch::Unreadable(path, err.to_string()),
            },
        };
        Cadence {
            state: "status.dat",
            state_every: Some(state_every),
            source,
            answer_within: self.answer_within(),
            answer_within_configured: self.config.confirm_timeout.is_some(),
            log,
        }
    }

    /// How often Nagios writes status.dat: nagios.cfg says, else its rewrites show, else
    /// Nagios' default is assumed.
    fn state_every(&self) -> (Duration, CadenceSource) {
        if let Some(main) = &self.main {
            return (main.status_update_interval, CadenceSource::MainConfig(self.config.main_config.clone()));
        }
        match self.state.learned_interval() {
            Some(learned) => (learned, CadenceSource::Learned),
            None => (DEFAULT_STATUS_UPDATE_INTERVAL, CadenceSource::Assumed),
        }
    }

    /// The deadline for a command's final word: `confirm_timeout`, else from the cadence.
    fn answer_within(&self) -> Duration {
        self.config.confirm_timeout.unwrap_or_else(|| cadence::answer_within(self.state_every().0))
    }

    /// The log followed for evidence: the section's log_file, else nagios.cfg's.
    fn log_file(&self) -> Option<PathBuf> {
        self.config.log_file.clone().or_else(|| self.main.as_ref()?.log_file.clone())
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

    async fn execute_with(&self, action: &Action, author: &str, steps: Steps<'_>) -> Result<Outcome, MonitorError> {
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
        let listening = confirm::Listening::start(self.log_file(), &self.evidence).await;
        if let Expectation::CheckedAfter { last_check, .. } = &expectation {
            wait_past_second(*last_check).await;
        }
        for line in &lines {
            fifo::send(&self.config.command_file, line.clone()).await?;
        }
        let sent = confirm::Sent {
            commands: lines.iter().map(|line| as_logged(line)).collect(),
            at: hagios_domain::unix_now(),
        };
        let (state_every, _) = self.state_every();
        let answer_within = self.answer_within();
        tracing::info!(site = %self.site, action = ?action, author, ?answer_within, "sent to Nagios, confirming");
        steps(Step::Sent { state_every: Some(state_every), answer_within });
        let wait = confirm::Wait {
            state: &self.state,
            expectation: &expectation,
            sent,
            answer_within: &|| self.answer_within(),
            steps,
        };
        Ok(confirm::wait(listening, wait).await)
    }

    fn cadence(&self) -> Option<Cadence> {
        Some(NagiosMonitor::cadence(self))
    }

    fn evidence(&self) -> Option<EvidenceHub> {
        Some(self.evidence.clone())
    }
}

/// A rendered line as Nagios' log repeats it after `EXTERNAL COMMAND: `: without the `[time] `
/// prefix, and trimmed at the end as Nagios trims what it reads.
fn as_logged(line: &str) -> String {
    line.split_once("] ").map_or(line, |(_, command)| command).trim_end().to_owned()
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
