//! Icinga 2 notifications without a script: the API's event stream becomes spool records, the
//! same ones `hagios notify` writes for Nagios, so threads and parent edits work alike.
//!
//! After every (re)connect the current problems are reconciled, so nothing that happened while
//! the stream was down is lost: a problem nobody announced yet becomes a PROBLEM, an announced
//! problem that is gone becomes a RECOVERY. "Announced" means seen by this feed since it started,
//! or an open incident in the store (which survives restarts), so nothing is announced twice.
//!
//! Hard state changes reach chat whether or not Icinga notifies about them (notifications off, no
//! notification rule), once each: Icinga's `StateChange` and `Notification` events about one
//! change carry the same check result, and the second report finds its state already shown.
//! In downtime or acknowledged, a change is news only for an incident already open in chat.

use crate::store::StoreHandle;
use hagios_domain::{Notification, NotificationType, ObjectRef, Snapshot, State};
use hagios_monitor::icinga::events::{EventStream, StateChange, StreamItem};
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
                StreamItem::StateChange(change) => {
                    memory.admit_change(*change, &self.store).await.into_iter().collect()
                }
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

/// What this feed has announced: per object the state chat shows, and recent other notifications.
#[derive(Default)]
struct Announced {
    states: HashMap<ObjectRef, Shown>,
    recent: VecDeque<(ObjectRef, NotificationType, i64)>,
}

/// The state chat shows for an object (a problem: its incident is open) and when the check that
/// reported it ended (after a reconciliation: when the state began).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shown {
    state: State,
    checked_at: f64,
}

impl Announced {
    /// The notification unless it was seen already (Icinga sends one Notification event per
    /// notification object, and an object may have several).
    fn admit(&mut self, notification: Notification) -> Option<Notification> {
        let key = (notification.object.clone(), notification.kind, notification.time);
        if self.recent.contains(&key) {
            return None;
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(key);
        Some(notification)
    }

    /// The PROBLEM or RECOVERY to announce for `change`, if it is news. What chat shows comes from
    /// this feed's memory, else from an open incident in the store (hagios restarted).
    async fn admit_change(&mut self, change: StateChange, store: &StoreHandle) -> Option<Notification> {
        let shown = match self.states.get(&change.notification.object) {
            Some(shown) => Some(*shown),
            None => match store.open_incident(&change.notification).await {
                Ok(open) => open.map(|incident| Shown { state: incident.card.state, checked_at: f64::MIN }),
                Err(err) => {
                    tracing::warn!(error = %err, object = %change.notification.object, "cannot check for an open incident");
                    None
                }
            },
        };
        self.judge(change, shown)
    }

    /// News are: a problem state chat does not show yet (when quiet, only into an open
    /// incident), and a recovery of a problem chat shows. A report older than the check behind
    /// what chat shows is late and changes nothing.
    fn judge(&mut self, change: StateChange, shown: Option<Shown>) -> Option<Notification> {
        let StateChange { notification, checked_at, quiet } = change;
        let state = notification.state;
        if shown.is_some_and(|shown| checked_at < shown.checked_at) {
            return None;
        }
        let open = shown.is_some_and(|shown| shown.state.is_problem());
        let news =
            shown.map(|shown| shown.state) != Some(state) && if state.is_problem() { open || !quiet } else { open };
        if news || !state.is_problem() || shown.is_some_and(|shown| shown.state == state) {
            self.states.insert(notification.object.clone(), Shown { state, checked_at });
        }
        news.then_some(notification)
    }
}

/// The PROBLEMs and RECOVERYs that bring chat in line with `snapshot`.
async fn reconcile(site: &str, snapshot: &Snapshot, memory: &mut Announced, store: &StoreHandle) -> Vec<Notification> {
    let mut found = Vec::new();
    // (object, state, checked, silenced, output, time); silenced objects (downtime, acknowledged)
    // get no PROBLEM from reconciliation, as from the event stream.
    let hosts = snapshot.status.hosts.values().map(|view| {
        let silenced = view.in_downtime || view.acknowledged;
        let object = ObjectRef::host(&view.name);
        (object, view.state, view.has_been_checked, silenced, view.output.clone(), view.last_state_change)
    });
    let services = snapshot.status.services.values().map(|view| {
        let silenced = view.in_downtime || view.acknowledged;
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
            Some(announced) => Some(announced.state),
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
        // Reports of checks before the state began are older than what the snapshot shows.
        memory.states.insert(object, Shown { state, checked_at: time as f64 });
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

    fn change(state: State, checked_at: f64, quiet: bool) -> StateChange {
        let kind = if state.is_problem() { NotificationType::Problem } else { NotificationType::Recovery };
        StateChange { notification: notification(kind, state, checked_at as i64), checked_at, quiet }
    }

    #[test]
    fn repeated_notifications_are_dropped() {
        let mut memory = Announced::default();
        assert!(memory.admit(notification(NotificationType::Custom, State::Ok, 4)).is_some());
        assert!(memory.admit(notification(NotificationType::Custom, State::Ok, 4)).is_none());
    }

    #[test]
    fn each_change_is_announced_once_in_order_and_quiet_ones_only_into_an_open_incident() {
        use State::{Critical, Ok, Warning};
        // Why, the reports as (state, check time, quiet), the states announced; nothing in the store.
        type Case = (&'static str, &'static [(State, f64, bool)], &'static [State]);
        #[rustfmt::skip]
        let cases: [Case; 3] = [
            ("StateChange and Notification report the same checks",
             &[(Critical, 1.0, false), (Critical, 1.0, false), (Warning, 2.0, false), (Warning, 2.0, false), (Ok, 3.0, false), (Ok, 3.0, false)],
             &[Critical, Warning, Ok]),
            ("a report arriving after a newer change",
             &[(Critical, 1.0, false), (Ok, 2.0, false), (Critical, 1.0, false)],
             &[Critical, Ok]),
            ("quiet (downtime, acknowledged) and never-announced recoveries",
             &[(Critical, 1.0, true), (Ok, 2.0, false), (Critical, 3.0, false), (Warning, 4.0, true), (Ok, 5.0, true)],
             &[Critical, Warning, Ok]),
        ];
        for (why, reports, expected) in cases {
            let mut memory = Announced::default();
            let announced: Vec<State> = reports
                .iter()
                .filter_map(|&(state, checked_at, quiet)| {
                    let shown = memory.states.get(&ObjectRef::service("web01", "HTTP")).copied();
                    memory.judge(change(state, checked_at, quiet), shown).map(|n| n.state)
                })
                .collect();
            assert_eq!(announced, expected, "{why}");
        }
    }

    #[test]
    fn an_incident_open_in_the_store_counts_as_shown() {
        let mut memory = Announced::default();
        let open = Some(Shown { state: State::Critical, checked_at: f64::MIN });
        assert!(memory.judge(change(State::Critical, 9.0, false), open).is_none(), "already in chat");
        let open = Some(Shown { state: State::Critical, checked_at: f64::MIN });
        assert_eq!(memory.judge(change(State::Ok, 10.0, true), open).map(|n| n.state), Some(State::Ok));
    }
}
