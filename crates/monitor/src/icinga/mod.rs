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
use crate::validate::{ensure_exists, ensure_host_fields, stored_author};
use crate::{Monitor, MonitorError, SingleFlight, Steps};
use async_trait::async_trait;
use client::{Credentials, IcingaClient};
use command::ApiRequest;
pub use config::{IcingaConfig, Login};
use events::{EventStream, Reconnect};
use hagios_domain::{Action, Outcome, Snapshot, Step};
use std::sync::Arc;
use std::time::Duration;

/// How long one read of the objects API answers `snapshot()`: long enough that a burst of chat
/// commands costs one read of every object, short enough that nobody reads an old state.
pub const STATE_SHARED_FOR: Duration = Duration::from_secs(1);

/// An Icinga 2 instance behind its REST API.
pub struct IcingaMonitor {
    config: IcingaConfig,
    client: IcingaClient,
    /// Every read of the state (four object queries) goes through here.
    state: SingleFlight<Snapshot>,
}

impl IcingaMonitor {
    /// Sets up the API client (reads the CA and client certificate files); does not connect yet.
    pub fn new(config: IcingaConfig, credentials: Credentials) -> Result<Self, MonitorError> {
        let client = IcingaClient::new(&config, credentials)?;
        Ok(Self { config, client, state: SingleFlight::default() })
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

    /// Read from the API at most [`STATE_SHARED_FOR`] ago; callers asking at the same time share
    /// one read.
    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        self.read_state(STATE_SHARED_FOR).await
    }

    /// Icinga answers each request at once: its acceptance is the [`Step::Received`], and the
    /// object state read back (usually at the first look) is the final word.
    async fn execute_with(&self, action: &Action, author: &str, steps: Steps<'_>) -> Result<Outcome, MonitorError> {
        ensure_host_fields(action)?;
        // What the action is checked and later confirmed against is read now (or by a read under
        // way), never an older cached one: a change made in between must not pass for ours.
        let snapshot = self.read_state(Duration::ZERO).await?;
        if let Some(object) = action.object() {
            ensure_exists(&snapshot, &object)?;
        }
        if let Action::AddHost { name, .. } = action {
            if snapshot.has_host(name) {
                return Err(MonitorError::Refused(format!("host `{name}` already exists; `status {name}` shows it")));
            }
        }
        let author = stored_author(author)?;
        let expectation = Expectation::of(action, &author, &snapshot)?;
        if let Expectation::CheckedAfter { last_check, .. } = &expectation {
            wait_past_second(*last_check).await;
        }
        for request in command::requests(action, &author) {
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

impl IcingaMonitor {
    /// The state read at most `max_age` ago, or by the read under way, or read now.
    async fn read_state(&self, max_age: Duration) -> Result<Arc<Snapshot>, MonitorError> {
        let client = self.client.clone();
        self.state.get(max_age, || async move { state::load(&client).await }).await
    }

    /// How many times the state was read from the API.
    pub fn state_reads(&self) -> u64 {
        self.state.fetches()
    }
}
