//! The store as async code uses it: every call runs on a blocking thread, so a slow disk never
//! stalls the runtime. Cloning is cheap; clones share one database.

use crate::{
    AlertGroup, AuditRecord, Delivery, DueReminder, GroupBatch, GroupId, Incident, IncidentChange, IncidentId,
    PruneReport, Retention, Store, StoreError,
};
use hagios_domain::{MessageRef, ObjectRef, SiteObject, Snooze};
use std::path::Path;
use std::sync::Arc;

#[derive(Clone)]
pub struct StoreHandle {
    store: Arc<Store>,
}

impl From<Store> for StoreHandle {
    fn from(store: Store) -> Self {
        StoreHandle { store: Arc::new(store) }
    }
}

impl StoreHandle {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Store::open(path).map(StoreHandle::from)
    }

    /// The same store, seeing the deliveries, incidents and groups of `platform`; snoozes and
    /// the audit log are shared by all platforms.
    pub fn for_platform(&self, platform: &str) -> Self {
        self.store.for_platform(platform).into()
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

    /// The open incident of `object` on `site`, with the card its parent shows.
    pub async fn open_incident(&self, site: &str, object: &ObjectRef) -> Result<Option<Incident>, StoreError> {
        let (site, object) = (site.to_owned(), object.clone());
        self.call(move |store| store.open_incident_for(&site, &object)).await
    }

    /// Records that `notification_id` was delivered in `message` and the incident change it
    /// caused, in one transaction. A notification committed before (two deliverers raced)
    /// counts as done: the dedupe did its job.
    pub async fn commit(
        &self,
        notification_id: &str,
        message: MessageRef,
        change: IncidentChange,
    ) -> Result<(), StoreError> {
        let notification_id = notification_id.to_owned();
        let delivery = Delivery { channel: message.channel, message_id: message.id, at: hagios_domain::unix_now() };
        match self.call(move |store| store.commit_notification(&notification_id, &delivery, &change)).await {
            Ok(_) | Err(StoreError::AlreadyDelivered(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The incident whose parent message is `thread`, for commands typed there.
    pub async fn incident_by_message(&self, thread: &MessageRef) -> Result<Option<Incident>, StoreError> {
        let thread = thread.clone();
        self.call(move |store| store.incident_by_message(&thread.channel, &thread.id)).await
    }

    pub async fn audit(&self, record: AuditRecord) -> Result<(), StoreError> {
        self.call(move |store| store.audit(&record)).await
    }

    pub async fn next_message_number(&self) -> Result<u64, StoreError> {
        self.call(|store| store.next_message_number()).await
    }

    /// Every snooze kept, running or recently ended: what the hold stage decides with.
    pub async fn snoozes(&self) -> Result<Vec<Snooze>, StoreError> {
        self.call(|store| store.snoozes()).await
    }

    pub async fn put_snooze(&self, snooze: Snooze, now: i64) -> Result<Snooze, StoreError> {
        self.call(move |store| store.put_snooze(&snooze, now)).await
    }

    pub async fn end_snooze(&self, object: &ObjectRef, now: i64) -> Result<bool, StoreError> {
        let object = object.clone();
        self.call(move |store| store.end_snooze(&object, now)).await
    }

    /// Deletes what `retention` no longer keeps, for every platform.
    pub async fn prune(&self, retention: Retention) -> Result<PruneReport, StoreError> {
        self.call(move |store| store.prune(&retention, hagios_domain::unix_now())).await
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

    /// A group, with its message and what it shows now.
    pub async fn group(&self, id: GroupId) -> Result<Option<AlertGroup>, StoreError> {
        self.call(move |store| store.group(id)).await
    }

    /// Fixes the members of a group delivery before anything is posted; see
    /// [`Store::begin_group_attempt`].
    pub async fn begin_group_attempt(
        &self,
        key: &str,
        members: Vec<String>,
    ) -> Result<(bool, Vec<String>), StoreError> {
        let key = key.to_owned();
        self.call(move |store| store.begin_group_attempt(&key, &members, hagios_domain::unix_now())).await
    }

    /// The open members of the group whose message is `thread`; `None` when it is no group's.
    /// The open members of the alert group whose message is `thread`, each at its site.
    pub async fn open_members_of_group(&self, thread: &MessageRef) -> Result<Option<Vec<SiteObject>>, StoreError> {
        let thread = thread.clone();
        self.call(move |store| {
            let Some(group) = store.group_by_message(&thread.channel, &thread.id)? else { return Ok(None) };
            let members = store.open_group_members(group.id)?;
            Ok(Some(members.into_iter().map(|incident| SiteObject::new(incident.site, incident.object)).collect()))
        })
        .await
    }

    pub async fn commit_group(&self, batch: GroupBatch) -> Result<Option<GroupId>, StoreError> {
        self.call(move |store| store.commit_group_batch(&batch)).await
    }
}

/// Reminders for unacknowledged incidents (`repeat_interval`).
impl StoreHandle {
    /// Open incidents in `channel` whose last reminder (or opening) was at `due_at` or earlier.
    pub async fn due_reminders(&self, channel: &str, due_at: i64) -> Result<Vec<DueReminder>, StoreError> {
        let channel = channel.to_owned();
        self.call(move |store| store.due_reminders(&channel, due_at)).await
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
