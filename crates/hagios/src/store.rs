//! The store as the async parts of the binary use it: each call runs on a blocking thread, and
//! pipeline and chat types are translated to the store's own records here, in one place.

use crate::pipeline::{Delivered, IncidentChange, OpenIncident};
use async_trait::async_trait;
use hagios_chat::{AlertCard, MessageRef};
use hagios_commands::{AuditEntry, SnoozeBook, SnoozeBookError};
use hagios_domain::{Notification, ObjectRef, Snooze};
use hagios_store::{AuditRecord, Delivery, IncidentUpdate, NewIncident, Store, StoreError};
use std::path::Path;
use std::sync::Arc;

#[derive(Clone)]
pub struct StoreHandle {
    store: Arc<Store>,
}

impl StoreHandle {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self { store: Arc::new(Store::open(path)?) })
    }

    async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&store)).await.expect("store task panicked")
    }

    /// Whether `notification_id` has reached chat already (the pipeline's dedupe check).
    pub async fn delivered(&self, notification_id: &str) -> Result<bool, StoreError> {
        let id = notification_id.to_owned();
        self.call(move |store| store.delivered(&id).map(|delivery| delivery.is_some())).await
    }

    /// Marks the start of a delivery attempt; true when an earlier one never committed.
    pub async fn begin_attempt(&self, notification_id: &str) -> Result<bool, StoreError> {
        let id = notification_id.to_owned();
        self.call(move |store| store.begin_attempt(&id, hagios_domain::unix_now())).await
    }

    /// The open incident of the notification's object, with the card its parent shows.
    pub async fn open_incident(&self, notification: &Notification) -> Result<Option<OpenIncident>, StoreError> {
        let (site, object) = (notification.site.clone(), notification.object.clone());
        let incident = self.call(move |store| store.open_incident_for(&site, &object)).await?;
        Ok(incident.map(|incident| OpenIncident {
            card: decode_card(&incident.card, &notification.site, &notification.object),
            id: incident.id,
            channel: incident.channel,
            message_id: incident.message_id,
        }))
    }

    /// Records the delivery and its incident change in one transaction. A notification that was
    /// committed before (two deliverers raced) counts as done: the dedupe did its job.
    pub async fn commit(&self, notification: &Notification, delivered: Delivered) -> Result<(), StoreError> {
        let notification_id = notification.id.clone();
        let delivery = Delivery {
            channel: delivered.message.channel.clone(),
            message_id: delivered.message.id,
            at: hagios_domain::unix_now(),
        };
        let change = match delivered.incident {
            IncidentChange::None => hagios_store::IncidentChange::None,
            IncidentChange::Open { parent, card } => hagios_store::IncidentChange::Open(NewIncident {
                site: notification.site.clone(),
                object: notification.object.clone(),
                channel: parent.channel,
                message_id: parent.id,
                state: card.state.to_string(),
                card: encode_card(&card),
                opened_at: notification.time,
            }),
            IncidentChange::Update { id, card } => hagios_store::IncidentChange::Update { id, update: update(&card) },
            IncidentChange::Close { id, card } => {
                hagios_store::IncidentChange::Close { id, update: update(&card), closed_at: notification.time }
            }
        };
        match self.call(move |store| store.commit_notification(&notification_id, &delivery, &change)).await {
            Ok(_) | Err(StoreError::AlreadyDelivered(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The object of the incident whose parent message is `thread`, for commands typed there.
    pub async fn incident_object(&self, thread: &MessageRef) -> Result<Option<ObjectRef>, StoreError> {
        let thread = thread.clone();
        let incident = self.call(move |store| store.incident_by_message(&thread.channel, &thread.id)).await?;
        Ok(incident.map(|incident| incident.object))
    }

    pub async fn audit(&self, platform: &str, entry: &AuditEntry) -> Result<(), StoreError> {
        let record = AuditRecord {
            time: entry.time,
            platform: platform.to_owned(),
            user_id: entry.user_id.clone(),
            user_name: entry.user_name.clone(),
            raw_text: entry.raw_text.clone(),
            command: entry.command.clone(),
            parsed: entry.parsed.clone(),
            allowed: entry.allowed,
            result: entry.result.clone(),
        };
        self.call(move |store| store.audit(&record)).await
    }

    pub async fn next_message_number(&self, channel: &str) -> Result<u64, StoreError> {
        let channel = channel.to_owned();
        self.call(move |store| store.next_message_number(&channel)).await
    }

    /// Every snooze kept, running or recently ended: what the hold stage decides with.
    pub async fn snoozes(&self) -> Result<Vec<Snooze>, StoreError> {
        self.call(|store| store.snoozes()).await
    }
}

/// Snoozes typed in chat are kept in the store, so they and what they hold survive restarts.
#[async_trait]
impl SnoozeBook for StoreHandle {
    async fn put(&self, snooze: Snooze, now: i64) -> Result<Snooze, SnoozeBookError> {
        self.call(move |store| store.put_snooze(&snooze, now)).await.map_err(book_error)
    }

    async fn end(&self, object: &ObjectRef, now: i64) -> Result<bool, SnoozeBookError> {
        let object = object.clone();
        self.call(move |store| store.end_snooze(&object, now)).await.map_err(book_error)
    }

    async fn all(&self) -> Result<Vec<Snooze>, SnoozeBookError> {
        self.snoozes().await.map_err(book_error)
    }
}

fn book_error(e: StoreError) -> SnoozeBookError {
    SnoozeBookError(format!("the store refused: {e}"))
}

fn update(card: &AlertCard) -> IncidentUpdate {
    IncidentUpdate {
        state: card.state.to_string(),
        card: encode_card(card),
        history_line: card.history.last().cloned(),
    }
}

fn encode_card(card: &AlertCard) -> String {
    serde_json::to_string(card).expect("an alert card always serializes")
}

/// A card that cannot be read back (written by a future version, say) is rebuilt from the
/// notification rather than stopping delivery; the thread keeps the full history anyway.
fn decode_card(json: &str, site: &str, object: &ObjectRef) -> AlertCard {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::warn!(error = %e, %object, "cannot read the stored alert card; starting a fresh one");
        AlertCard {
            site: site.to_owned(),
            object: object.clone(),
            state: hagios_domain::State::Unknown,
            kind: hagios_domain::NotificationType::Problem,
            output: String::new(),
            long_output: String::new(),
            history: Vec::new(),
            open: true,
            time: 0,
        }
    })
}
