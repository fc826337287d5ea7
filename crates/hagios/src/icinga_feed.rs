//! Icinga 2 notifications without a script: the API's event stream becomes spool records, the
//! same ones `hagios notify` writes for Nagios, so threads and parent edits work alike.
//!
//! After every (re)connect the current problems are reconciled, so nothing that happened while
//! the stream was down is lost: a problem nobody announced yet becomes a PROBLEM, an announced
//! problem that is gone becomes a RECOVERY. "Announced" means seen by this feed since it started,
//! or an open incident in the store (which survives restarts), so nothing is announced twice.

use crate::store::StoreHandle;
use hagios_domain::{Notification, NotificationType, ObjectRef, Snapshot, State};
use hagios_monitor::icinga::events::{EventStream, StreamItem};
use hagios_spool::Spool;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// How many recent non-state notifications are remembered to drop repeats (Icinga sends one
/// Notification event per notification object, and an object may have several).
const RECENT: usize = 256;

pub struct IcingaFeed {
    pub stream: EventStream,
    pub spool: Arc<Spool>,
    pub store: StoreHandle,
}

impl IcingaFeed {
    /// Runs until `shutdown` turns true.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let (sink, mut items) = mpsc::channel(256);
        let site = self.stream.site.clone();
        let stream = tokio::spawn(self.stream.run(sink, shutdown));
        let mut memory = Announced::default();
        while let Some(item) = items.recv().await {
            let notifications = match item {
                StreamItem::Connected(snapshot) => reconcile(&site, &snapshot, &mut memory, &self.store).await,
                StreamItem::Notification(notification) => memory.admit(*notification).into_iter().collect(),
            };
            for notification in notifications {
                let spool = Arc::clone(&self.spool);
                let (kind, object) = (notification.kind, notification.object.clone());
                match tokio::task::spawn_blocking(move || spool.write(notification)).await {
                    Ok(Ok(id)) => tracing::info!(%id, %kind, %object, "Icinga 2 event spooled"),
                    Ok(Err(err)) => tracing::error!(error = %err, %kind, %object, "cannot spool an Icinga 2 event"),
                    Err(err) => tracing::error!(error = %err, "the spool writer task failed"),
                }
            }
        }
        let _ = stream.await;
    }
}

/// What this feed has announced: the last state per object, and recent other notifications.
#[derive(Default)]
struct Announced {
    states: HashMap<ObjectRef, State>,
    recent: VecDeque<(ObjectRef, NotificationType, i64)>,
}

impl Announced {
    /// The notification if it tells something new: a PROBLEM in a state not announced yet, a
    /// RECOVERY of an announced problem (or one we cannot know about), anything else once.
    fn admit(&mut self, notification: Notification) -> Option<Notification> {
        let object = notification.object.clone();
        match notification.kind {
            NotificationType::Problem | NotificationType::Recovery => {
                let previous = self.states.insert(object, notification.state);
                (previous != Some(notification.state)).then_some(notification)
            }
            kind => {
                let key = (object, kind, notification.time);
                if self.recent.contains(&key) {
                    return None;
                }
                if self.recent.len() == RECENT {
                    self.recent.pop_front();
                }
                self.recent.push_back(key);
                Some(notification)
            }
        }
    }
}

/// The PROBLEMs and RECOVERYs that bring chat in line with `snapshot`.
async fn reconcile(site: &str, snapshot: &Snapshot, memory: &mut Announced, store: &StoreHandle) -> Vec<Notification> {
    let mut found = Vec::new();
    // (object, state, checked, silenced, output, time); silenced objects Icinga would not notify
    // about (downtime, notifications off, acknowledged) get no PROBLEM from reconciliation either.
    let hosts = snapshot.status.hosts.values().map(|view| {
        let silenced = view.in_downtime || !view.notifications_enabled || view.acknowledged;
        let object = ObjectRef::host(&view.name);
        (object, view.state, view.has_been_checked, silenced, view.output.clone(), view.last_state_change)
    });
    let services = snapshot.status.services.values().map(|view| {
        let silenced = view.in_downtime || !view.notifications_enabled || view.acknowledged;
        let object = ObjectRef::service(&view.host, &view.description);
        (object, view.state, view.has_been_checked, silenced, view.output.clone(), view.last_state_change)
    });
    let mut seen = HashSet::new();
    for (object, state, checked, silenced, output, time) in hosts.chain(services) {
        seen.insert(object.clone());
        if !checked || (silenced && state.is_problem() && !memory.states.contains_key(&object)) {
            continue;
        }
        let kind = if state.is_problem() { NotificationType::Problem } else { NotificationType::Recovery };
        let notification = Notification {
            id: String::new(),
            site: site.to_owned(),
            kind,
            object: object.clone(),
            state,
            output,
            long_output: String::new(),
            author: None,
            comment: Some("reconciled after the Icinga 2 event stream (re)connected".to_owned()),
            time,
            hostgroups: snapshot.hostgroups_of(&object.host).to_vec(),
            contact: None,
            macros: Default::default(),
        };
        let known = match memory.states.get(&object) {
            Some(announced) => Some(*announced),
            None => match store.open_incident(&notification).await {
                // An open incident means its PROBLEM reached chat before (maybe before a restart).
                Ok(Some(_)) => Some(if state.is_problem() { state } else { State::Critical }),
                Ok(None) => None,
                Err(err) => {
                    tracing::warn!(error = %err, %object, "cannot check for an open incident; not reconciling it");
                    continue;
                }
            },
        };
        let announce = match (known, state.is_problem()) {
            (Some(announced), true) => announced != state,
            (None, true) => true,
            (Some(announced), false) => announced.is_problem(),
            (None, false) => false,
        };
        memory.states.insert(object, state);
        if announce {
            found.push(notification);
        }
    }
    // Objects deleted while the stream was down have nothing left to recover.
    memory.states.retain(|object, _| seen.contains(object));
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(kind: NotificationType, state: State, time: i64) -> Notification {
        Notification {
            id: String::new(),
            site: "s".into(),
            kind,
            object: ObjectRef::service("web01", "HTTP"),
            state,
            output: String::new(),
            long_output: String::new(),
            author: None,
            comment: None,
            time,
            hostgroups: Vec::new(),
            contact: None,
            macros: Default::default(),
        }
    }

    #[test]
    fn repeats_are_dropped_and_changes_pass() {
        let mut memory = Announced::default();
        assert!(memory.admit(notification(NotificationType::Problem, State::Critical, 1)).is_some());
        assert!(
            memory.admit(notification(NotificationType::Problem, State::Critical, 1)).is_none(),
            "same problem twice"
        );
        assert!(memory.admit(notification(NotificationType::Problem, State::Warning, 2)).is_some(), "state changed");
        assert!(memory.admit(notification(NotificationType::Recovery, State::Ok, 3)).is_some());
        assert!(memory.admit(notification(NotificationType::Recovery, State::Ok, 3)).is_none());
        assert!(memory.admit(notification(NotificationType::Custom, State::Ok, 4)).is_some());
        assert!(memory.admit(notification(NotificationType::Custom, State::Ok, 4)).is_none());
    }
}
