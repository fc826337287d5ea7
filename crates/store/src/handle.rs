//! The store as async code uses it: every call runs on a blocking thread, so a slow disk never
//! stalls the runtime. Cloning is cheap; clones share one database.

use crate::sql::Dialect;
use crate::{
    ActivePage, AlertGroup, AuditRecord, CommandId, CommandInFlight, Delivery, DueReminder, Fence, GroupBatch, GroupId,
    Incident, IncidentChange, IncidentId, Override, Page, PageId, PageIntent, PageStep, PagedStep, PlatformStory,
    PruneReport, Retention, Store, StoreConfig, StoreError, UnpagedThread,
};
use hagios_domain::{MessageRef, Notification, ObjectRef, SiteObject, Snooze};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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

    /// The store `config` describes (see [`Store::from_config`]); connecting to PostgreSQL runs
    /// on a blocking thread like every other call.
    pub async fn from_config(config: &StoreConfig) -> Result<Self, StoreError> {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Store::from_config(&config))
            .await
            .expect("store task panicked")
            .map(StoreHandle::from)
    }

    /// The same store, writing as the leader of the term `fence` names (see [`Store::fenced`]).
    pub fn fenced(&self, fence: Fence) -> Self {
        self.store.fenced(fence).into()
    }

    pub fn dialect(&self) -> Dialect {
        self.store.dialect()
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

/// On call: overrides, paging, and posts made once (handovers, feed notices).
impl StoreHandle {
    pub async fn add_override(&self, entry: Override) -> Result<(), StoreError> {
        self.call(move |store| store.add_override(&entry)).await
    }

    /// The overrides that end after `after`, oldest first.
    pub async fn overrides(&self, after: i64) -> Result<Vec<Override>, StoreError> {
        self.call(move |store| store.overrides(after)).await
    }

    pub async fn posted_once(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let key = key.to_owned();
        self.call(move |store| store.posted_once(&key)).await
    }

    pub async fn record_posted_once(&self, key: &str, at: i64) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.call(move |store| store.record_posted_once(&key, at)).await
    }

    pub async fn intend_page(&self, intent: PageIntent) -> Result<(), StoreError> {
        self.call(move |store| store.intend_page(&intent, hagios_domain::unix_now())).await
    }

    pub async fn start_pages(&self, now: i64) -> Result<usize, StoreError> {
        self.call(move |store| store.start_pages(now)).await
    }

    pub async fn active_pages(&self) -> Result<Vec<ActivePage>, StoreError> {
        self.call(|store| store.active_pages()).await
    }

    pub async fn record_page_step(&self, page: Page, step: PageStep, attempt_key: &str) -> Result<(), StoreError> {
        let key = attempt_key.to_owned();
        self.call(move |store| store.record_page_step(&page, &step, &key)).await
    }

    pub async fn stop_page(&self, page: PageId, at: i64, why: &str) -> Result<(), StoreError> {
        let why = why.to_owned();
        self.call(move |store| store.stop_page(page, at, &why)).await
    }

    pub async fn pause_page(&self, page: Page, since: Option<i64>, now: i64) -> Result<(), StoreError> {
        self.call(move |store| store.pause_page(&page, since, now)).await
    }

    pub async fn pages_of_object(&self, object: &ObjectRef) -> Result<Vec<Page>, StoreError> {
        let object = object.clone();
        self.call(move |store| store.pages_of_object(&object)).await
    }

    pub async fn force_page_steps(&self, page: PageId, upto: u32, note: &str) -> Result<(), StoreError> {
        let note = note.to_owned();
        self.call(move |store| store.force_page_steps(page, upto, &note)).await
    }

    pub async fn unpaged_threads_of_object(&self, object: &ObjectRef) -> Result<Vec<UnpagedThread>, StoreError> {
        let object = object.clone();
        self.call(move |store| store.unpaged_threads_of_object(&object)).await
    }

    pub async fn start_page_now(
        &self,
        thread: MessageRef,
        schedule: &str,
        policy: &str,
        now: i64,
        note: &str,
    ) -> Result<(), StoreError> {
        let (schedule, policy, note) = (schedule.to_owned(), policy.to_owned(), note.to_owned());
        self.call(move |store| store.start_page_now(&thread, &schedule, &policy, now, &note)).await
    }
}

/// What happened, read back: timelines, reports and handovers.
impl StoreHandle {
    pub async fn incident_everywhere(
        &self,
        site: &str,
        object: &ObjectRef,
        opened_at: Option<i64>,
    ) -> Result<Vec<PlatformStory>, StoreError> {
        let (site, object) = (site.to_owned(), object.clone());
        self.call(move |store| store.incident_everywhere(&site, &object, opened_at)).await
    }

    pub async fn incident_sites(&self, object: &ObjectRef) -> Result<Vec<String>, StoreError> {
        let object = object.clone();
        self.call(move |store| store.incident_sites(&object)).await
    }

    pub async fn stories_everywhere_since(&self, since: i64) -> Result<Vec<PlatformStory>, StoreError> {
        self.call(move |store| store.stories_everywhere_since(since)).await
    }

    pub async fn schedule_stories_everywhere_since(
        &self,
        schedule: &str,
        since: i64,
    ) -> Result<Vec<PlatformStory>, StoreError> {
        let schedule = schedule.to_owned();
        self.call(move |store| store.schedule_stories_everywhere_since(&schedule, since)).await
    }

    pub async fn audit_between(&self, from: i64, to: i64) -> Result<Vec<AuditRecord>, StoreError> {
        self.call(move |store| store.audit_between(from, to)).await
    }

    pub async fn page_of_thread(&self, thread: &MessageRef) -> Result<Option<Page>, StoreError> {
        let thread = thread.clone();
        self.call(move |store| store.page_of_thread(&thread.channel, &thread.id)).await
    }

    pub async fn page_steps(&self, page: PageId) -> Result<Vec<PageStep>, StoreError> {
        self.call(move |store| store.page_steps(page)).await
    }

    pub async fn paged_steps_everywhere_since(&self, since: i64) -> Result<Vec<PagedStep>, StoreError> {
        self.call(move |store| store.paged_steps_everywhere_since(since)).await
    }
}

/// Leadership among the bots sharing the database (`lease.rs`).
impl StoreHandle {
    pub async fn acquire_lease(&self, lease: &str, holder: &str, ttl: Duration) -> Result<Option<i64>, StoreError> {
        let (lease, holder) = (lease.to_owned(), holder.to_owned());
        self.call(move |store| store.acquire_lease(&lease, &holder, ttl)).await
    }

    pub async fn seize_lease(&self, lease: &str, holder: &str, ttl: Duration) -> Result<i64, StoreError> {
        let (lease, holder) = (lease.to_owned(), holder.to_owned());
        self.call(move |store| store.seize_lease(&lease, &holder, ttl)).await
    }

    pub async fn renew_lease(&self, lease: &str, holder: &str, epoch: i64, ttl: Duration) -> Result<bool, StoreError> {
        let (lease, holder) = (lease.to_owned(), holder.to_owned());
        self.call(move |store| store.renew_lease(&lease, &holder, epoch, ttl)).await
    }

    pub async fn release_lease(&self, lease: &str, holder: &str, epoch: i64) -> Result<(), StoreError> {
        let (lease, holder) = (lease.to_owned(), holder.to_owned());
        self.call(move |store| store.release_lease(&lease, &holder, epoch)).await
    }
}

/// The inbox of what agents and local sources handed over (`inbox.rs`).
impl StoreHandle {
    /// Keeps `notification` in the inbox under `record_id`; returns its size in bytes.
    pub async fn put_in_inbox(&self, record_id: &str, notification: Notification) -> Result<u64, StoreError> {
        let record_id = record_id.to_owned();
        self.call(move |store| store.put_in_inbox(&record_id, &notification, hagios_domain::unix_now())).await
    }

    pub async fn take_from_inbox(&self, epoch: i64, limit: u32) -> Result<Vec<(String, Notification)>, StoreError> {
        self.call(move |store| store.take_from_inbox(epoch, limit)).await
    }

    pub async fn drop_from_inbox(&self, record_ids: Vec<String>) -> Result<(), StoreError> {
        self.call(move |store| store.drop_from_inbox(&record_ids)).await
    }

    /// The store itself, for a caller on a blocking thread already.
    pub fn blocking(&self) -> &Store {
        &self.store
    }

    pub async fn inbox_len(&self) -> Result<u64, StoreError> {
        self.call(|store| store.inbox_len()).await
    }
}

/// Commands from chat while they are carried out (`orphans.rs`).
impl StoreHandle {
    pub async fn command_arrived(&self, command: CommandInFlight) -> Result<CommandId, StoreError> {
        self.call(move |store| store.command_arrived(&command)).await
    }

    /// See [`Store::command_taken`].
    pub async fn command_taken(
        &self,
        command: CommandInFlight,
        event_id: &str,
    ) -> Result<Option<CommandId>, StoreError> {
        let event_id = event_id.to_owned();
        self.call(move |store| store.command_taken(&command, &event_id)).await
    }

    pub async fn chat_position(&self, platform: &str) -> Result<Option<String>, StoreError> {
        let platform = platform.to_owned();
        self.call(move |store| store.chat_position(&platform)).await
    }

    pub async fn keep_chat_position(&self, platform: &str, position: &str) -> Result<(), StoreError> {
        let (platform, position) = (platform.to_owned(), position.to_owned());
        self.call(move |store| store.keep_chat_position(&platform, &position)).await
    }

    pub async fn command_answered(&self, id: CommandId) -> Result<(), StoreError> {
        self.call(move |store| store.command_answered(id)).await
    }

    pub async fn orphaned_commands(
        &self,
        platform: &str,
        epoch: i64,
    ) -> Result<Vec<(CommandId, CommandInFlight)>, StoreError> {
        let platform = platform.to_owned();
        self.call(move |store| store.orphaned_commands(&platform, epoch)).await
    }
}
