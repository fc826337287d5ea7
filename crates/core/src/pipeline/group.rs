//! Grouping stage: on a route with grouping, notifications are held (their spool records stay
//! in the spool) and delivered together — a new group after `group_wait` as one message with a
//! summary and its members listed in the thread, later members at most once per
//! `group_interval` as one thread reply plus an edit of the group message. Members that open
//! and recover before they were announced are never shown.

use super::deliver::Attempt;
use super::thread::{first_card, next_card};
use super::topology::{is_down, parents_in, Topology};
use super::DeliveryError;
use crate::config::{GroupLabel, RouteConfig};
use hagios_chat::{ChatAdapter, ChatError, Outbound};
use hagios_domain::{AlertCard, GroupCard, MessageRef, Notification, ObjectRef, State};
use hagios_spool::RecordId;
use hagios_store::{
    Delivery, GroupBatch, GroupChange, GroupId, Incident, IncidentChange, IncidentId, MemberDelivery, NewGroup,
};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Lines of one thread reply: large batches, well inside Slack's 50 sections of 3,000 characters.
const LINES_PER_REPLY: usize = 400;
const CHARACTERS_PER_REPLY: usize = 24_000;
/// Plugin output shown per member line; the member's own card is not posted in a group.
const OUTPUT_SHOWN: usize = 120;

/// Which held notifications are delivered together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BatchKey {
    /// Members of a group not announced yet: its channel and `group_by` key.
    New { channel: String, key: String },
    /// Later members of a group whose message is in chat.
    Open(GroupId),
}

struct Batch {
    members: Vec<(RecordId, Notification)>,
    due: Instant,
}

/// The notifications held for grouping, in memory only: their records stay in the spool until
/// the group message reflecting them is committed, so a restart simply collects them again.
#[derive(Default)]
pub struct Groups {
    state: Mutex<Held>,
    /// Parents of hosts for topology folding; without it only services fold under their host.
    topology: Option<Topology>,
}

#[derive(Default)]
struct Held {
    batches: HashMap<BatchKey, Batch>,
    records: HashSet<RecordId>,
    /// Where an object's notifications go while one of them is held: order within an object.
    objects: HashMap<(String, ObjectRef), BatchKey>,
    /// The latest held state of each host with a notification held, by site and host.
    host_states: HashMap<(String, String), State>,
    last_update: HashMap<GroupId, Instant>,
}

impl Groups {
    /// Groups that fold alerts along the topology `monitor` reports.
    pub fn with_topology(monitor: std::sync::Arc<dyn hagios_monitor::Monitor>) -> Self {
        Groups { state: Mutex::default(), topology: Some(Topology::new(monitor)) }
    }

    pub fn topology(&self) -> Option<&Topology> {
        self.topology.as_ref()
    }

    /// The state of the latest held notification of `host`, if one is held.
    pub fn held_host_state(&self, site: &str, host: &str) -> Option<State> {
        self.state().host_states.get(&(site.to_owned(), host.to_owned())).copied()
    }

    pub fn holds(&self, record: &RecordId) -> bool {
        self.state().records.contains(record)
    }

    /// The batch already holding a notification of the same object, which later ones must join.
    pub fn batch_of_object(&self, notification: &Notification) -> Option<BatchKey> {
        self.state().objects.get(&object_key(notification)).cloned()
    }

    /// Holds `notification` in `key`'s batch; a new batch is due after `wait`, or for an open
    /// group `interval` after its last update.
    pub fn hold(
        &self,
        key: BatchKey,
        record: RecordId,
        mut notification: Notification,
        wait: Duration,
        interval: Duration,
    ) {
        // A group shows no macros, and a storm holds thousands of notifications: ~200 Nagios
        // macros each would cost tens of kilobytes apiece. The spool record keeps them.
        notification.macros.clear();
        let mut held = self.state();
        let now = Instant::now();
        let due = match &key {
            BatchKey::New { .. } => now + wait,
            BatchKey::Open(group) => held.last_update.get(group).map_or(now, |last| (*last + interval).max(now)),
        };
        held.records.insert(record.clone());
        held.objects.insert(object_key(&notification), key.clone());
        if !notification.object.is_service() {
            held.host_states.insert((notification.site.clone(), notification.object.host.clone()), notification.state);
        }
        held.batches
            .entry(key)
            .or_insert_with(|| Batch { members: Vec::new(), due })
            .members
            .push((record, notification));
    }

    /// Moves into `into` every batch not announced yet on `channel` whose members all fold
    /// behind `host`, which just went down: its services, and child hosts held as down
    /// (`parents` of a host) with their services. `into` keeps its time, or the earlier one
    /// when it is not announced yet either.
    pub fn absorb(&self, into: &BatchKey, channel: &str, host: &str, parents: impl Fn(&str) -> Vec<String>) {
        let mut held = self.state();
        if !held.batches.contains_key(into) {
            return;
        }
        let candidates: Vec<BatchKey> = held
            .batches
            .iter()
            .filter(|(key, batch)| {
                let BatchKey::New { channel: batch_channel, .. } = key else { return false };
                if *key == into || batch_channel != channel {
                    return false;
                }
                let down_hosts: HashSet<&str> = batch
                    .members
                    .iter()
                    .filter(|(_, n)| !n.object.is_service() && is_down(n.state))
                    .map(|(_, n)| n.object.host.as_str())
                    .collect();
                batch.members.iter().all(|(_, n)| {
                    n.object.host == host
                        || (down_hosts.contains(n.object.host.as_str())
                            && parents(&n.object.host).iter().any(|parent| parent == host))
                })
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in candidates {
            let absorbed = held.batches.remove(&key).expect("listed");
            for (_, notification) in &absorbed.members {
                held.objects.insert(object_key(notification), into.clone());
            }
            let target = held.batches.get_mut(into).expect("checked above");
            if matches!(into, BatchKey::New { .. }) {
                target.due = target.due.min(absorbed.due);
            }
            target.members.extend(absorbed.members);
            target.members.sort_by(|a, b| a.0.cmp(&b.0));
        }
    }

    /// Takes the batches whose time has come, oldest first.
    pub fn take_due(&self) -> Vec<(BatchKey, Vec<(RecordId, Notification)>)> {
        let mut held = self.state();
        let now = Instant::now();
        let mut due: Vec<_> =
            held.batches.iter().filter(|(_, batch)| batch.due <= now).map(|(key, _)| key.clone()).collect();
        due.sort_by_key(|key| held.batches[key].members[0].0.clone());
        due.into_iter()
            .map(|key| {
                let batch = held.batches.remove(&key).expect("listed as due");
                (key, batch.members)
            })
            .collect()
    }

    /// Puts members back to be tried again on the next pass (a retryable failure, or not part
    /// of an earlier unfinished try).
    pub fn put_back(&self, key: BatchKey, members: Vec<(RecordId, Notification)>) {
        if members.is_empty() {
            return;
        }
        let mut held = self.state();
        for (_, notification) in &members {
            held.objects.insert(object_key(notification), key.clone());
        }
        let batch = held.batches.entry(key).or_insert_with(|| Batch { members: Vec::new(), due: Instant::now() });
        let later = std::mem::take(&mut batch.members);
        batch.members = members.into_iter().chain(later).collect();
    }

    /// Forgets members whose delivery is committed (or quarantined); `group` was updated now.
    pub fn release(&self, members: &[(RecordId, Notification)], group: Option<GroupId>) {
        let mut held = self.state();
        for (record, notification) in members {
            held.records.remove(record);
            let object = object_key(notification);
            let still_held = held.batches.values().flat_map(|b| &b.members).any(|(_, n)| object_key(n) == object);
            if !still_held {
                held.objects.remove(&object);
                held.host_states.remove(&(object.0, object.1.host));
            }
        }
        if let Some(group) = group {
            held.last_update.insert(group, Instant::now());
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Held> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn object_key(notification: &Notification) -> (String, ObjectRef) {
    (notification.site.clone(), notification.object.clone())
}

/// The group key of `object` on `site` and `route`: the route's position and its `group_by`
/// values.
pub fn group_key(route_index: usize, route: &RouteConfig, site: &str, object: &ObjectRef) -> String {
    let mut key = format!("route{route_index}");
    for label in &route.grouping.group_by {
        let value = match label {
            GroupLabel::Site => site,
            GroupLabel::Host => object.host.as_str(),
            GroupLabel::Service => object.service.as_deref().unwrap_or(""),
        };
        key.push_str(&format!("|{value}"));
    }
    key
}

/// One notification's part in a group delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its line in the thread; `None` when it is not announced.
    pub line: Option<String>,
}

/// A batch worked out before anything is posted: a line per announced notification, the
/// incident changes per object, and the group card afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub steps: Vec<Step>,
    /// Per object, in the order of first appearance: the index of the notification whose line
    /// carries it, and its changes.
    pub changes: Vec<(usize, Vec<IncidentChange>)>,
    pub card: GroupCard,
}

/// Where one object stands while a batch is folded.
enum Track {
    None,
    Existing {
        id: IncidentId,
        card: AlertCard,
        touched: bool,
    },
    /// Opened in this batch by the notification at `first`; not in chat yet.
    New {
        card: AlertCard,
        first: usize,
        since: Vec<usize>,
    },
}

/// Folds `members` (in arrival order) onto the group `card` and the incidents open for their
/// objects (`open`, by object).
pub fn fold(members: &[Notification], open: &HashMap<ObjectRef, Incident>, mut card: GroupCard) -> Folded {
    let mut steps: Vec<Step> = members.iter().map(|n| Step { line: Some(member_line(n)) }).collect();
    let mut order: Vec<ObjectRef> = Vec::new();
    let mut tracks: HashMap<ObjectRef, (Track, Vec<IncidentChange>, usize)> = HashMap::new();
    for (index, notification) in members.iter().enumerate() {
        let object = &notification.object;
        let (track, changes, _) = tracks.entry(object.clone()).or_insert_with(|| {
            order.push(object.clone());
            let track = match open.get(object) {
                Some(incident) => Track::Existing { id: incident.id, card: incident.card.clone(), touched: false },
                None => Track::None,
            };
            (track, Vec::new(), index)
        });
        let closes = notification.kind.closes_incident();
        *track = match std::mem::replace(track, Track::None) {
            Track::None if notification.kind.opens_incident() => {
                Track::New { card: first_card(notification), first: index, since: vec![index] }
            }
            Track::None => Track::None,
            Track::Existing { id, card: before, .. } => {
                let (after, _) = next_card(&before, notification);
                if closes {
                    changes.push(IncidentChange::Close { id, card: after });
                    Track::None
                } else {
                    Track::Existing { id, card: after, touched: true }
                }
            }
            Track::New { card: before, first, mut since } => {
                since.push(index);
                if closes {
                    // Opened and recovered before anyone was told: not announced at all.
                    for quiet in since {
                        steps[quiet].line = None;
                    }
                    Track::None
                } else {
                    Track::New { card: next_card(&before, notification).0, first, since }
                }
            }
        };
    }
    let mut result = Vec::new();
    for object in order {
        let (track, mut changes, first_seen) = tracks.remove(&object).expect("tracked");
        let carrier = match track {
            Track::None => first_seen,
            Track::Existing { id, card: incident, touched } => {
                if touched {
                    changes.push(IncidentChange::Update { id, card: incident });
                }
                first_seen
            }
            Track::New { card: incident, first, .. } => {
                changes.push(IncidentChange::Open { card: incident, opened_at: members[first].time });
                first
            }
        };
        for incident in changes.iter().filter_map(IncidentChange::card) {
            card.set(&object, incident.state, incident.open);
        }
        if let Some(last) = members.iter().rev().find(|n| n.object == object) {
            card.time = card.time.max(last.time);
        }
        result.push((carrier, changes));
    }
    Folded { steps, changes: result, card }
}

/// A member's line in the group's thread.
fn member_line(notification: &Notification) -> String {
    let mut line = format!("• {} {} {}", notification.object, notification.kind, notification.state);
    if let Some(author) = notification.author.as_deref().filter(|a| !a.is_empty()) {
        line.push_str(&format!(" by {author}"));
    }
    let output = notification.comment.as_deref().filter(|c| !c.is_empty()).unwrap_or(&notification.output);
    let output: String = output.lines().next().unwrap_or_default().chars().take(OUTPUT_SHOWN).collect();
    if !output.is_empty() {
        line.push_str(&format!(": {output}"));
    }
    line
}

/// Splits the announced lines into thread replies; returns each reply's text and the indexes
/// of the notifications it carries.
pub fn replies(steps: &[Step]) -> Vec<(String, Vec<usize>)> {
    let mut replies: Vec<(String, Vec<usize>)> = Vec::new();
    for (index, line) in steps.iter().enumerate().filter_map(|(i, step)| step.line.as_ref().map(|l| (i, l))) {
        let fits = replies.last().is_some_and(|(text, carried)| {
            carried.len() < LINES_PER_REPLY && text.len() + line.len() < CHARACTERS_PER_REPLY
        });
        if !fits {
            replies.push((String::new(), Vec::new()));
        }
        let (text, carried) = replies.last_mut().expect("pushed");
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
        carried.push(index);
    }
    replies
}

/// Posts (or, for an open group, edits) the group message and then the member replies; each
/// post is keyed so that a retry finds what an earlier try posted. Returns the group message
/// and, per notification, the message that carries its line.
pub async fn post(
    chat: &dyn ChatAdapter,
    channel: &str,
    existing: Option<&MessageRef>,
    folded: &Folded,
    attempt: &Attempt<'_>,
) -> Result<(MessageRef, Vec<Option<MessageRef>>), ChatError> {
    let message = Outbound::Group(folded.card.clone());
    let parent = match existing {
        Some(parent) => {
            // The edit goes first: repeating it after a failed try is harmless.
            chat.update(parent, &message).await?;
            parent.clone()
        }
        None => attempt.post(chat, Some(channel), None, &message).await?,
    };
    let mut carriers = vec![None; folded.steps.len()];
    for (number, (text, carried)) in replies(&folded.steps).into_iter().enumerate() {
        let key = format!("{}#{number}", attempt.key);
        let reply = Attempt { key: &key, retrying: attempt.retrying };
        let posted = reply.post(chat, Some(&parent.channel), Some(&parent), &Outbound::Text(text)).await?;
        for index in carried {
            carriers[index] = Some(posted.clone());
        }
    }
    Ok((parent, carriers))
}

impl super::Pipeline {
    /// The grouping stage for one notification not delivered yet: holds it when it joins a
    /// group (a PROBLEM on a grouping route, or anything for an object a group carries).
    /// `route` is the notification's route with its target, `open` its incident in chat, both
    /// as the earlier stages found them.
    pub(super) async fn hold_for_group(
        &self,
        record: &RecordId,
        notification: &Notification,
        route: Option<(&RouteConfig, &str)>,
        open: Option<&Incident>,
    ) -> Result<bool, DeliveryError> {
        let interval =
            route.map_or_else(crate::config::default_group_interval, |(route, _)| route.grouping.group_interval);
        if let Some(batch) = self.groups.batch_of_object(notification) {
            self.groups.hold(batch, record.clone(), notification.clone(), Duration::ZERO, interval);
            return Ok(true);
        }
        if let Some(incident) = open {
            let Some(group) = self.store.group_of_incident(incident.id).await? else { return Ok(false) };
            self.groups.hold(BatchKey::Open(group), record.clone(), notification.clone(), Duration::ZERO, interval);
            return Ok(true);
        }
        let Some((route, channel)) =
            route.filter(|(route, _)| route.grouping.enabled && notification.kind.opens_incident())
        else {
            return Ok(false);
        };
        let index = self.routes.iter().position(|candidate| std::ptr::eq(candidate, route)).expect("one of the routes");
        let anchor = match self.fold_target(notification).await? {
            Some(host) => ObjectRef::host(host),
            None => notification.object.clone(),
        };
        let key = group_key(index, route, &notification.site, &anchor);
        // Groups are stored under the channel their message landed in (a room id, where the
        // route may name an alias).
        let channel_id = self.chat.channel_id(channel).await?;
        let batch = match self.store.open_group(&channel_id, &key).await? {
            Some(group) => BatchKey::Open(group),
            None => BatchKey::New { channel: channel.to_owned(), key },
        };
        self.groups.hold(
            batch.clone(),
            record.clone(),
            notification.clone(),
            route.grouping.group_wait,
            route.grouping.group_interval,
        );
        if !notification.object.is_service() && is_down(notification.state) {
            let snapshot = self.topology_snapshot().await;
            let parents = |host: &str| parents_in(snapshot.as_deref(), host).to_vec();
            self.groups.absorb(&batch, channel, &notification.object.host, parents);
        }
        Ok(true)
    }

    /// Delivers every batch whose time has come. On a retryable failure the batches stay held
    /// and are tried again on the next pass; a batch that can never be delivered is quarantined.
    pub(super) async fn flush_groups(&self) -> Result<(), DeliveryError> {
        let mut due = self.groups.take_due().into_iter();
        while let Some((key, members)) = due.next() {
            match self.flush(&key, &members).await {
                Ok(()) => {}
                Err(e) if e.retryable() => {
                    self.groups.put_back(key, members);
                    for (key, members) in due {
                        self.groups.put_back(key, members);
                    }
                    return Err(e);
                }
                Err(e) => {
                    tracing::error!(error = %e, members = members.len(), "quarantining an undeliverable group");
                    for (record, _) in &members {
                        self.spool.quarantine(record, &e.to_string())?;
                    }
                    self.groups.release(&members, None);
                }
            }
        }
        Ok(())
    }

    async fn flush(&self, key: &BatchKey, held: &[(RecordId, Notification)]) -> Result<(), DeliveryError> {
        let attempt_key = format!("group-{}", held[0].1.id);
        let ids = held.iter().map(|(_, notification)| notification.id.clone()).collect();
        // A retry after a crash carries exactly the members of the first try; the others wait.
        let (retrying, chosen) = self.store.begin_group_attempt(&attempt_key, ids).await?;
        let (members, later): (Vec<_>, Vec<_>) =
            held.iter().cloned().partition(|(_, notification)| chosen.contains(&notification.id));
        let (channel, existing, card) = match key {
            BatchKey::New { channel, .. } => {
                let card = GroupCard { site: members[0].1.site.clone(), members: Vec::new(), time: 0 };
                (channel.clone(), None, card)
            }
            BatchKey::Open(group) => {
                let Some(group) = self.store.group(*group).await? else {
                    return Err(hagios_store::StoreError::NoSuchGroup(*group).into());
                };
                let message = MessageRef { channel: group.channel, id: group.message_id };
                (message.channel.clone(), Some(message), group.card)
            }
        };
        let mut open = HashMap::new();
        for (_, notification) in &members {
            if !open.contains_key(&notification.object) {
                if let Some(incident) = self.store.open_incident(&notification.site, &notification.object).await? {
                    open.insert(notification.object.clone(), incident);
                }
            }
        }
        let notifications: Vec<Notification> = members.iter().map(|(_, notification)| notification.clone()).collect();
        let mut folded = fold(&notifications, &open, card);
        let any_host_down = folded.card.members.iter().any(|m| m.open && !m.object.is_service() && is_down(m.state));
        let snapshot = if any_host_down { self.topology_snapshot().await } else { None };
        let unfolded = super::topology::refold(&mut folded.card, snapshot.as_deref());
        folded.steps.extend(unfolded);
        let posted = if folded.steps.iter().any(|step| step.line.is_some()) {
            let attempt = Attempt { key: &attempt_key, retrying };
            Some(post(self.chat.as_ref(), &channel, existing.as_ref(), &folded, &attempt).await?)
        } else {
            None
        };
        let batch = self.batch(key, &attempt_key, &channel, &notifications, folded, posted);
        let group = self.store.commit_group(batch).await?;
        let (spool, records) =
            (self.spool.clone(), members.iter().map(|(record, _)| record.clone()).collect::<Vec<_>>());
        tokio::task::spawn_blocking(move || spool.remove_all(&records)).await.expect("spool removal task")?;
        self.groups.release(&members, group);
        let later_count = later.len();
        // Members left out of a retried try join the group that try opened.
        let later_key = match (key, group) {
            (BatchKey::New { .. }, Some(group)) => BatchKey::Open(group),
            _ => key.clone(),
        };
        self.groups.put_back(later_key, later);
        tracing::info!(members = members.len(), waiting = later_count, %channel, "group delivered");
        Ok(())
    }

    /// The store's record of a group delivery: every notification's delivery, its object's
    /// incident changes (on the notification whose line carries the object) and the group.
    fn batch(
        &self,
        key: &BatchKey,
        attempt_key: &str,
        channel: &str,
        notifications: &[Notification],
        folded: Folded,
        posted: Option<(MessageRef, Vec<Option<MessageRef>>)>,
    ) -> GroupBatch {
        let now = hagios_domain::unix_now();
        let (parent, carriers) = match posted {
            Some((parent, carriers)) => (Some(parent), carriers),
            None => (None, vec![None; notifications.len()]),
        };
        // A notification that was not announced is delivered "into" the group message, or
        // nowhere when nothing was posted.
        let fallback = parent.clone().unwrap_or(MessageRef { channel: channel.to_owned(), id: String::new() });
        let carrier = |index: usize| carriers[index].clone().unwrap_or_else(|| fallback.clone());
        let mut members: Vec<MemberDelivery> = notifications
            .iter()
            .enumerate()
            .map(|(index, notification)| {
                let message = carrier(index);
                MemberDelivery {
                    notification_id: notification.id.clone(),
                    delivery: Delivery { channel: message.channel, message_id: message.id, at: now },
                    changes: Vec::new(),
                }
            })
            .collect();
        let any_open = folded.card.any_open();
        for (index, changes) in folded.changes {
            members[index].changes = changes;
        }
        let card = folded.card;
        let group = match (key, parent) {
            (_, None) => GroupChange::None,
            (BatchKey::New { key, .. }, Some(parent)) => GroupChange::Open(NewGroup {
                channel: parent.channel,
                key: key.clone(),
                message_id: parent.id,
                card,
                opened_at: notifications[0].time,
            }),
            (BatchKey::Open(id), Some(_)) => {
                GroupChange::Update { id: *id, card, closed_at: (!any_open).then_some(now) }
            }
        };
        GroupBatch { attempt_key: attempt_key.to_owned(), group, members }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::NotificationType;

    fn notification(id: &str, service: &str, kind: NotificationType, state: State) -> Notification {
        Notification {
            id: id.into(),
            site: "local".into(),
            kind,
            object: ObjectRef::service("db01", service),
            state,
            output: format!("{state} - {service}"),
            long_output: String::new(),
            author: None,
            comment: None,
            time: 100,
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        }
    }

    fn empty_card() -> GroupCard {
        GroupCard { site: "local".into(), members: Vec::new(), time: 0 }
    }

    #[test]
    fn a_burst_folds_into_one_summary_and_quick_recoveries_stay_quiet() {
        use NotificationType::{Problem, Recovery};
        let mut members: Vec<Notification> =
            (0..37).map(|n| notification(&format!("p{n}"), &format!("svc{n}"), Problem, State::Critical)).collect();
        members.push(notification("p37", "flappy", Problem, State::Critical));
        members.push(notification("r37", "flappy", Recovery, State::Ok));
        let folded = fold(&members, &HashMap::new(), empty_card());
        assert_eq!(hagios_chat::group::summary(&folded.card), "37 services on db01 CRITICAL");
        assert_eq!(folded.steps.iter().filter(|s| s.line.is_some()).count(), 37);
        assert!(folded.steps[37].line.is_none() && folded.steps[38].line.is_none(), "flappy is not announced");
        assert_eq!(folded.changes.len(), 38);
        assert!(folded.changes[37].1.is_empty(), "no incident for flappy");
        assert!(hagios_chat::group::text(&folded.card).contains("… and 12 more"));
    }

    #[test]
    fn later_members_update_and_close_existing_incidents() {
        use NotificationType::{Problem, Recovery};
        let first = fold(
            &[notification("p1", "HTTP", Problem, State::Critical), notification("p2", "SSH", Problem, State::Warning)],
            &HashMap::new(),
            empty_card(),
        );
        let IncidentChange::Open { card: http_card, opened_at: 100 } = first.changes[0].1[0].clone() else {
            panic!("opened")
        };
        let incident = Incident {
            id: IncidentId(7),
            site: "local".into(),
            object: http_card.object.clone(),
            channel: "C".into(),
            message_id: "1".into(),
            card: http_card,
            history: Vec::new(),
            opened_at: 100,
            closed_at: None,
        };
        let open = HashMap::from([(ObjectRef::service("db01", "HTTP"), incident)]);
        let later = fold(&[notification("r1", "HTTP", Recovery, State::Ok)], &open, first.card);
        assert!(matches!(&later.changes[0].1[..], [IncidentChange::Close { id: IncidentId(7), card }] if !card.open));
        assert_eq!(hagios_chat::group::summary(&later.card), "1 service on db01 WARNING");
        assert!(later.steps[0].line.as_deref().unwrap().contains("db01!HTTP RECOVERY OK"));
    }

    #[test]
    fn replies_are_batched_by_lines() {
        let steps: Vec<Step> = (0..900).map(|n| Step { line: Some(format!("line {n}")) }).collect();
        let replies = replies(&steps);
        assert_eq!(replies.iter().map(|(_, carried)| carried.len()).collect::<Vec<_>>(), [400, 400, 100]);
    }
}
