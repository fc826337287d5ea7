//! Grouping stage: on a route with grouping, notifications are held (their spool records stay
//! in the spool) and delivered together — a new group after `group_wait` as one message with a
//! summary and its members listed in the thread, later members at most once per
//! `group_interval` as one thread reply plus an edit of the group message. By concern:
//! `held.rs` keeps the held batches, `fold.rs` works a batch out without I/O, `topology.rs`
//! folds problems behind a DOWN host into its group, `replies.rs` splits and posts the member
//! lines; this file is the stage and the flush of due batches,
//! with their chat and store I/O. The group card and its English are the domain's and the chat
//! platforms' (`GroupCard`, `hagios_chat::group`).

mod fold;
mod held;
mod replies;
mod topology;

use super::deliver::Attempt;
use super::stage::{Decision, Record, Stage, Verdict};
use super::{DeliveryError, Pass, Pipeline};
use crate::config::{GroupLabel, RouteConfig};
use async_trait::async_trait;
use fold::{fold, Folded};
use hagios_domain::{GroupCard, MessageRef, Notification, ObjectRef};
use hagios_spool::RecordId;
use hagios_store::{Delivery, GroupBatch, GroupChange, Incident, IncidentChange, MemberDelivery, NewGroup};
pub use held::{BatchKey, Groups};
use std::collections::HashMap;
use std::time::Duration;
use topology::{is_down, parents_in};

pub struct Group;

#[async_trait]
impl Stage for Group {
    async fn run<'p>(&self, pipeline: &'p Pipeline, _pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        let held =
            pipeline.hold_for_group(&record.id, &record.notification, record.route, record.open.as_ref()).await?;
        Ok(if held { Verdict::Hold } else { Verdict::Continue })
    }
}

/// The group key of `object` on `site` and `route`: the route (its position, or `default`) and
/// its `group_by` values.
pub fn group_key(route_name: &str, route: &RouteConfig, site: &str, object: &ObjectRef) -> String {
    let mut key = route_name.to_owned();
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

impl Pipeline {
    /// Holds a notification not delivered yet when it joins a group (a PROBLEM on a grouping
    /// route, or anything for an object a group carries).
    /// `route` is the notification's route with its target, `open` its incident in chat, both
    /// as the earlier stages found them.
    async fn hold_for_group(
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
        let route_name = match self.routes.iter().position(|candidate| std::ptr::eq(candidate, route)) {
            Some(index) => format!("route{index}"),
            None => "default".to_owned(),
        };
        let anchor = match self.fold_target(notification).await? {
            Some(host) => ObjectRef::host(host),
            None => notification.object.clone(),
        };
        let key = group_key(&route_name, route, &notification.site, &anchor);
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
        let unfolded = topology::refold(&mut folded.card, snapshot.as_deref());
        folded.steps.extend(unfolded);
        // A new group's thread is in chat before the store records its members; a command typed
        // there meanwhile waits for this commit (`unrecorded.rs`).
        let posting = existing.is_none().then(|| self.unrecorded.begin(&attempt_key));
        let posted = if folded.steps.iter().any(|step| step.line.is_some()) {
            let attempt = Attempt { key: &attempt_key, retrying };
            let chat = self.chat.as_ref();
            Some(replies::post(chat, &channel, existing.as_ref(), &folded, &attempt, posting.as_ref()).await?)
        } else {
            None
        };
        let batch = self.batch(key, &attempt_key, &channel, &notifications, folded, posted);
        let group = self.store.commit_group(batch).await?;
        if let Some(posting) = posting {
            posting.recorded();
        }
        super::deliver::count_delivered(self.chat.platform().name(), members.iter().map(|(record, _)| record));
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
        for (index, mut changes) in folded.changes {
            // An incident opened in a group keeps the route its first notification took.
            for change in &mut changes {
                if let IncidentChange::Open { route, .. } = change {
                    *route = Some(self.route_label(&notifications[index]));
                }
            }
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
