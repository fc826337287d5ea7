//! Icinga 2 backend over the REST API only (the command pipe is deprecated in 2.16 and removed
//! in 2.18): actions and attribute changes as typed API requests, state from the objects API,
//! confirmation from the API's answer plus the object state read back.

pub mod client;
mod command;
mod config;
mod confirm;
pub mod events;
pub mod permissions;
mod state;

use crate::readback::{wait_past_second, Expectation};
use crate::validate::ensure_exists;
use crate::{Monitor, MonitorError, Steps};
use async_trait::async_trait;
use client::{Credentials, IcingaClient};
use command::ApiRequest;
pub use config::{IcingaConfig, Login};
use events::{EventStream, Reconnect};
use hagios_domain::{Action, Outcome, Snapshot, Step};
use std::sync::Arc;

/// An Icinga 2 instance behind its REST API.
pub struct IcingaMonitor {
    config: IcingaConfig,
    client: IcingaClient,
}

impl IcingaMonitor {
    /// Sets up the API client (reads the CA and client certificate files); does not connect yet.
    pub fn new(config: IcingaConfig, credentials: Credentials) -> Result<Self, MonitorError> {
        let client = IcingaClient::new(&config, credentials)?;
        Ok(Self { config, client })
    }

    /// The monitor the section describes, its password read from the environment.
    pub fn from_config(config: &IcingaConfig) -> Result<Self, MonitorError> {
        IcingaMonitor::new(config.clone(), config.credentials()?)
    }

    pub fn client(&self) -> &IcingaClient {
        &self.client
    }

    /// The API's event stream on this section's queue.
    pub fn event_stream(&self) -> EventStream {
        EventStream {
            client: self.client.clone(),
            site: self.config.site.clone(),
            queue: self.config.event_queue.clone(),
            reconnect: Reconnect::default(),
        }
    }
}

#[async_trait]
impl Monitor for IcingaMonitor {
    fn site(&self) -> &str {
        &self.config.site
    }

    /// Read fresh from the API on every call: it is cheap, and a cache would only add staleness.
    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        state::load(&self.client).await
    }

    /// Icinga answers each request at once: its acceptance is the [`Step::Received`], and the
    /// object state read back (usually at the first look) is the final word.
    async fn execute_with(&self, action: &Action, author: &str, steps: Steps<'_>) -> Result<Outcome, MonitorError> {
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
        tracing::info!(site = %self.config.site, action = ?action, author, "accepted by Icinga 2, confirming");
        steps(Step::Sent { state_every: None, answer_within: self.config.confirm_timeout });
        steps(Step::Received { how: "Icinga 2's API accepted it".into() });
        Ok(confirm::wait(self, &expectation, self.config.confirm_timeout).await)
    }
}
