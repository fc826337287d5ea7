//! The store as the async parts of the binary use it: each call runs on a blocking thread, and
//! pipeline and chat types are translated to the store's own records here, in one place.

use crate::pipeline::{Delivered, IncidentChange, MemberChange, OpenIncident, Reminder};
use async_trait::async_trait;
use hagios_chat::{AlertCard, MessageRef};
use hagios_commands::{AuditEntry, SnoozeBook, SnoozeBookError};
use hagios_domain::{GroupCard, Notification, ObjectRef, Snooze};
use hagios_store::{
    AuditRecord, Delivery, GroupBatch, GroupId, IncidentId, IncidentUpdate, NewIncident, Store, StoreError,
};
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

    /// The same store, seeing the deliveries, incidents and groups of `platform`; snoozes and
    /// the audit log are shared by all platforms.
    pub fn for_platform(&self, platform: &str) -> Self {
        Self { store: Arc::new(self.store.for_platform(platform)) }
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
        self.open_incident_of(&notification.site, &notification.object).await
    }

    /// The open incident of `object` on `site`, with the card its parent shows.
    pub async fn open_incident_of(&self, site: &str, object: &ObjectRef) -> Result<Option<OpenIncident>, StoreError> {
        let (site, object) = (site.to_owned(), object.clone());
        let incident = self.call(move |store| store.open_incident_for(&site, &object)).await?;
        Ok(incident.map(open_incident_from))
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
        let change = incident_change(notification, delivered.incident);
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

    /// Deletes what `retention` no longer keeps, for every platform (crate::retention).
    pub async fn prune(&self, retention: hagios_store::Retention) -> Result<hagios_store::PruneReport, StoreError> {
        self.call(move |store| store.prune(&retention, hagios_domain::unix_now())).await
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

fn new_incident(notification: &Notification, parent: MessageRef, card: &AlertCard) -> NewIncident {
    NewIncident {
        site: notification.site.clone(),
        object: notification.object.clone(),
        channel: parent.channel,
        message_id: parent.id,
        state: card.state.to_string(),
        card: encode_card(card),
        opened_at: notification.time,
    }
}

/// Alert groups (the grouping stage's side of the store).
impl StoreHandle {
    /// The group an open incident belongs to, if it was opened in one.
    pub async fn group_of_incident(&self, incident: IncidentId) -> Result<Option<GroupId>, StoreError> {
        self.call(move |store| store.group_of_incident(incident)).await
    }

    /// The open group with `key` in `channel`, which later members join.
    pub async fn open_group(&self, channel: &str, key: &str) -> Result<Option<GroupId>, StoreError> {
        let (channel, key) = (channel.to_owned(), key.to_owned());
        Ok(self.call(move |store| store.open_group(&channel, &key)).await?.map(|group| group.id))
    }

    /// A group's message and what it shows now.
    pub async fn group(&self, id: GroupId) -> Result<Option<(MessageRef, GroupCard)>, StoreError> {
        let group = self.call(move |store| store.group(id)).await?;
        Ok(group.map(|group| {
            let card = serde_json::from_str(&group.card).unwrap_or_else(|e| {
                tracing::warn!(error = %e, group = %group.id, "cannot read the stored group card; starting a fresh one");
                GroupCard { site: String::new(), members: Vec::new(), time: group.opened_at }
            });
            (MessageRef { channel: group.channel, id: group.message_id }, card)
        }))
    }

    /// Fixes the members of a group delivery before anything is posted; see
    /// [`hagios_store::Store::begin_group_attempt`].
    pub async fn begin_group_attempt(
        &self,
        key: &str,
        members: Vec<String>,
    ) -> Result<(bool, Vec<String>), StoreError> {
        let key = key.to_owned();
        self.call(move |store| store.begin_group_attempt(&key, &members, hagios_domain::unix_now())).await
    }

    /// The open members of the group whose message is `thread`; `None` when it is no group's.
    pub async fn open_members_of_group(&self, thread: &MessageRef) -> Result<Option<Vec<ObjectRef>>, StoreError> {
        let thread = thread.clone();
        self.call(move |store| {
            let Some(group) = store.group_by_message(&thread.channel, &thread.id)? else { return Ok(None) };
            let members = store.open_group_members(group.id)?;
            Ok(Some(members.into_iter().map(|incident| incident.object).collect()))
        })
        .await
    }

    pub async fn commit_group(&self, batch: GroupBatch) -> Result<Option<GroupId>, StoreError> {
        self.call(move |store| store.commit_group_batch(&batch)).await
    }
}

/// Reminders for unacknowledged incidents (`repeat_interval`).
impl StoreHandle {
    /// Open incidents in `channel` whose last reminder (or opening) was at `due_at` or earlier:
    /// the incident, its card, the thread its reminders go to and how many it had.
    pub async fn due_reminders(&self, channel: &str, due_at: i64) -> Result<Vec<Reminder>, StoreError> {
        let channel = channel.to_owned();
        let due = self.call(move |store| store.due_reminders(&channel, due_at)).await?;
        Ok(due
            .into_iter()
            .map(|due| {
                let opened_at = due.incident.opened_at;
                let thread = match due.group_message {
                    Some((channel, id)) => MessageRef { channel, id },
                    None => MessageRef { channel: due.incident.channel.clone(), id: due.incident.message_id.clone() },
                };
                Reminder { incident: open_incident_from(due.incident), thread, sent: due.reminders, opened_at }
            })
            .collect())
    }

    pub async fn record_reminder(
        &self,
        incident: IncidentId,
        reminders: u32,
        at: i64,
        key: &str,
    ) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.call(move |store| store.record_reminder(incident, reminders, at, &key)).await
    }

    pub async fn postpone_reminder(&self, incident: IncidentId, at: i64) -> Result<(), StoreError> {
        self.call(move |store| store.postpone_reminder(incident, at)).await
    }
}

/// A grouped member's incident change as the store keeps it; `carrier` is the thread reply
/// listing the member, which an incident opened here points at.
pub fn member_change(
    notification: &Notification,
    carrier: &MessageRef,
    change: MemberChange,
) -> hagios_store::IncidentChange {
    let change = match change {
        MemberChange::Open(card) => IncidentChange::Open { parent: carrier.clone(), card },
        MemberChange::Update(id, card) => IncidentChange::Update { id, card },
        MemberChange::Close(id, card) => IncidentChange::Close { id, card },
    };
    incident_change(notification, change)
}

/// What `notification` did to its incident, as the store keeps it.
fn incident_change(notification: &Notification, change: IncidentChange) -> hagios_store::IncidentChange {
    match change {
        IncidentChange::None => hagios_store::IncidentChange::None,
        IncidentChange::Open { parent, card } => {
            hagios_store::IncidentChange::Open(new_incident(notification, parent, &card))
        }
        IncidentChange::Update { id, card } => hagios_store::IncidentChange::Update { id, update: update(&card) },
        IncidentChange::Close { id, card } => {
            hagios_store::IncidentChange::Close { id, update: update(&card), closed_at: notification.time }
        }
    }
}

/// A stored open incident as the pipeline works with it.
fn open_incident_from(incident: hagios_store::Incident) -> OpenIncident {
    OpenIncident {
        card: decode_card(&incident.card, &incident.site, &incident.object),
        id: incident.id,
        channel: incident.channel,
        message_id: incident.message_id,
    }
}

pub fn encode_group_card(card: &GroupCard) -> String {
    serde_json::to_string(card).expect("a group card always serializes")
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
