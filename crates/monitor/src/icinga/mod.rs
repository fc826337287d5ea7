//! Icinga 2 backend over the REST API only (the command pipe is deprecated in 2.16 and removed
//! in 2.18): actions and attribute changes as typed API requests, state from the objects API,
//! confirmation from the API's answer plus the object state read back.

pub mod client;
mod command;
mod confirm;
pub mod events;
mod state;

use crate::readback::{wait_past_second, Expectation};
use crate::validate::ensure_exists;
use crate::{Monitor, MonitorError};
use async_trait::async_trait;
use client::{ClientConfig, IcingaClient};
use command::ApiRequest;
use hagios_domain::{Action, Outcome, Snapshot};
use std::sync::Arc;
use std::time::Duration;

/// How long [`IcingaMonitor::execute`] waits for the object state to show an action's effect.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);

/// One Icinga 2 instance reached through its API.
#[derive(Debug, Clone)]
pub struct IcingaConfig {
    pub site: String,
    pub client: ClientConfig,
    pub confirm_timeout: Duration,
}

/// An Icinga 2 instance behind its REST API.
pub struct IcingaMonitor {
    site: String,
    client: IcingaClient,
    confirm_timeout: Duration,
}

impl IcingaMonitor {
    /// Sets up the API client (reads the CA and client certificate files); does not connect yet.
    pub fn new(config: IcingaConfig) -> Result<Self, MonitorError> {
        Ok(Self {
            site: config.site,
            client: IcingaClient::new(&config.client)?,
            confirm_timeout: config.confirm_timeout,
        })
    }

    pub fn client(&self) -> &IcingaClient {
        &self.client
    }
}

#[async_trait]
impl Monitor for IcingaMonitor {
    fn site(&self) -> &str {
        &self.site
    }

    /// Read fresh from the API on every call: it is cheap, and a cache would only add staleness.
    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        state::load(&self.client).await
    }

    async fn execute(&self, action: &Action, author: &str) -> Result<Outcome, MonitorError> {
        let snapshot = self.snapshot().await?;
        if let Some(object) = action.object() {
            ensure_exists(&snapshot, &object)?;
        }
        let text = match action {
            Action::AddComment { comment, .. } => comment.as_str(),
            _ => "",
        };
        if let Action::AddHost { name, .. } = action {
            if snapshot.has_host(name) {
                return Err(MonitorError::Refused(format!("host `{name}` already exists; `status {name}` shows it")));
            }
        }
        let expectation = Expectation::of(action, author, text, &snapshot)?;
        if let Expectation::CheckedAfter { last_check, .. } = &expectation {
            wait_past_second(*last_check).await;
        }
        for request in command::requests(action, author) {
            let results = match &request {
                ApiRequest::Action { name, body } => self.client.action(name, body).await?,
                ApiRequest::Modify { kind, body } => self.client.modify(kind, body).await?,
                ApiRequest::Create { kind, name, body } => self.client.create(kind, name, body).await?,
                ApiRequest::Delete { kind, name } => self.client.delete(kind, name).await?,
            };
            confirm::accepted(&results)?;
        }
        tracing::info!(site = %self.site, action = ?action, author, "accepted by Icinga 2, confirming");
        Ok(confirm::wait(self, &expectation, self.confirm_timeout).await)
    }
}
