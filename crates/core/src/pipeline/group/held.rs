//! The notifications held for grouping, in memory only: their records stay in the spool until
//! the group message reflecting them is committed, so a restart simply collects them again.

use super::topology::{is_down, Topology};
use hagios_domain::{Notification, ObjectRef, State};
use hagios_spool::RecordId;
use hagios_store::GroupId;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

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

/// The held notifications, by the batch that will deliver them.
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

    /// The newest held notification of `object` on `site`: what happened to it that its
    /// thread does not show yet.
    pub fn newest_held(&self, site: &str, object: &ObjectRef) -> Option<Notification> {
        let held = self.state();
        let batch = held.batches.get(held.objects.get(&(site.to_owned(), object.clone()))?)?;
        let newest = batch.members.iter().rev().find(|(_, n)| n.site == site && n.object == *object);
        newest.map(|(_, notification)| notification.clone())
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
