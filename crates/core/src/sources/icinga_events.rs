//! Icinga 2 notifications without a script: the API's event stream becomes spool records, the
//! same ones `hagios notify` writes for Nagios, so threads and parent edits work alike.
//!
//! After every (re)connect the current problems are reconciled, so nothing that happened while
//! the stream was down is lost: a problem nobody announced yet becomes a PROBLEM, an announced
//! problem that is gone becomes a RECOVERY. "Announced" means seen by this feed since it started,
//! or an open incident in the store (which survives restarts), so nothing is announced twice.
//!
//! Hard state changes reach chat whether or not Icinga has a notification rule for them, once
//! each: Icinga's `StateChange` and `Notification` events about one change carry the same check
//! result, and the second report finds its state already shown. In downtime, acknowledged, or
//! with the object's notifications off (`mute`, as Nagios then notifies nobody), a change is news
//! only for an incident already open in chat.

use hagios_domain::{Notification, NotificationType, ObjectRef, Snapshot, State};
use hagios_monitor::icinga::client::IcingaClient;
use hagios_monitor::icinga::events::{notifications_enabled, EventStream, StateChange, StreamItem};
use hagios_spool::Spool;
use hagios_store::StoreHandle;
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
        let client = self.stream.client.clone();
        let stream = tokio::spawn(self.stream.run(sink, shutdown));
        let mut memory = Announced::default();
        while let Some(item) = items.recv().await {
            let notifications = match item {
                StreamItem::Connected(snapshot) => reconcile(&site, &snapshot, &mut memory, &self.store).await,
                StreamItem::Notification(notification) => memory.admit(*notification).into_iter().collect(),
                StreamItem::StateChange(change) => {
                    memory.admit_change(*change, &self.store, &client).await.into_iter().collect()
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
    /// this feed's memory, else from an open incident in the store (hagios restarted). Whether the
    /// object is muted is asked from Icinga only when the change would open an incident.
    async fn admit_change(
        &mut self,
        mut change: StateChange,
        store: &StoreHandle,
        client: &IcingaClient,
    ) -> Option<Notification> {
        let shown = match self.states.get(&change.notification.object) {
            Some(shown) => Some(*shown),
            None => match store.open_incident(&change.notification.site, &change.notification.object).await {
                Ok(open) => open.map(|incident| Shown { state: incident.card.state, checked_at: f64::MIN }),
                Err(err) => {
                    tracing::warn!(error = %err, object = %change.notification.object, "cannot check for an open incident");
                    None
                }
            },
        };
        if would_open_incident(&change, shown) && muted(client, &change.notification.object).await {
            tracing::info!(object = %change.notification.object, "notifications are off (muted): no new incident");
            change.quiet = true;
        }
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

/// Whether `change` would open a new incident: the one judgement that an object's notifications
/// being off changes (quiet changes still reach an open incident's thread).
fn would_open_incident(change: &StateChange, shown: Option<Shown>) -> bool {
    change.notification.state.is_problem()
        && !change.quiet
        && shown.is_none_or(|shown| !shown.state.is_problem() && change.checked_at >= shown.checked_at)
}

/// Whether `object`'s notifications are off, as Icinga says now. When Icinga cannot say, they
/// count as on: a problem is rather announced than lost.
async fn muted(client: &IcingaClient, object: &ObjectRef) -> bool {
    match notifications_enabled(client, object).await {
        Ok(enabled) => !enabled,
        Err(err) => {
            tracing::warn!(error = %err, %object, "cannot read whether notifications are off; announcing the problem");
            false
        }
    }
}

/// The PROBLEMs and RECOVERYs that bring chat in line with `snapshot`.
async fn reconcile(site: &str, snapshot: &Snapshot, memory: &mut Announced, store: &StoreHandle) -> Vec<Notification> {
    let mut found = Vec::new();
    // (object, state, checked, silenced, output, time); silenced objects (downtime, acknowledged,
    // notifications off) get no PROBLEM from reconciliation, as from the event stream.
    let hosts = snapshot.status.hosts.values().map(|view| {
        let silenced = view.in_downtime || view.acknowledged || !view.notifications_enabled;
        let object = ObjectRef::host(&view.name);
        (object, view.state, view.has_been_checked, silenced, view.output.clone(), view.last_state_change)
    });
    let services = snapshot.status.services.values().map(|view| {
        let silenced = view.in_downtime || view.acknowledged || !view.notifications_enabled;
        let object = ObjectRef::service(&view.host, &view.description);
        (object, view.state, view.has_been_checked, silenced, view.output.clone(), view.last_state_change)
    });
    let mut seen = HashSet::new();
    for (object, state, checked, silenced, output, time) in hosts.chain(services) {
        seen.insert(object.clone());
        if !checked {
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
            None => match store.open_incident(&notification.site, &notification.object).await {
                // An open incident means its PROBLEM reached chat before (maybe before a restart).
                Ok(Some(_)) => Some(if state.is_problem() { state } else { State::Critical }),
                Ok(None) => None,
                Err(err) => {
                    tracing::warn!(error = %err, %object, "cannot check for an open incident; not reconciling it");
                    continue;
                }
            },
        };
        // Silenced, a problem goes only into an incident open in chat; else chat keeps showing
        // what it showed (the memory holds every object, not only announced ones).
        if silenced && state.is_problem() && !known.is_some_and(|shown| shown.is_problem()) {
            continue;
        }
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
    use hagios_domain::{HostView, ServiceView};

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
    fn icinga_is_asked_whether_an_object_is_muted_only_when_its_change_would_open_an_incident() {
        let shown = |state, checked_at| Some(Shown { state, checked_at });
        let critical = change(State::Critical, 5.0, false);
        assert!(would_open_incident(&critical, None), "nothing shown yet");
        assert!(would_open_incident(&critical, shown(State::Ok, 4.0)), "recovered before");
        assert!(!would_open_incident(&critical, shown(State::Warning, 4.0)), "an open incident hears it anyway");
        assert!(!would_open_incident(&critical, shown(State::Ok, 6.0)), "late");
        assert!(!would_open_incident(&change(State::Critical, 5.0, true), None), "quiet already");
        assert!(!would_open_incident(&change(State::Ok, 5.0, false), shown(State::Critical, 4.0)), "a recovery");

        // Muted (the change made quiet): no incident; once an incident is open, muting it
        // still lets its changes and recovery into the thread.
        let mut memory = Announced::default();
        assert!(memory.judge(change(State::Critical, 5.0, true), None).is_none());
        let open = shown(State::Critical, 6.0);
        assert_eq!(memory.judge(change(State::Warning, 7.0, true), open).map(|n| n.state), Some(State::Warning));
        let open = memory.states.get(&ObjectRef::service("web01", "HTTP")).copied();
        assert_eq!(memory.judge(change(State::Ok, 8.0, true), open).map(|n| n.state), Some(State::Ok));
    }

    fn service_view(host: &str, description: &str, state: State, notifications_enabled: bool) -> ServiceView {
        ServiceView {
            host: host.into(),
            description: description.into(),
            state,
            output: String::new(),
            long_output: String::new(),
            has_been_checked: true,
            acknowledged: false,
            in_downtime: false,
            notifications_enabled,
            last_check: 100,
            last_state_change: 90,
        }
    }

    #[tokio::test]
    async fn reconciliation_opens_no_incident_for_a_muted_object_and_a_muted_host_leaves_its_services_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = StoreHandle::open(&dir.path().join("state.db")).expect("store");
        let mut snapshot = Snapshot::default();
        let host = HostView {
            name: "web01".into(),
            state: State::Down,
            output: String::new(),
            long_output: String::new(),
            has_been_checked: true,
            acknowledged: false,
            in_downtime: false,
            notifications_enabled: false,
            last_check: 100,
            last_state_change: 90,
        };
        snapshot.status.hosts.insert("web01".into(), host);
        for view in [
            service_view("web01", "HTTP", State::Critical, false),
            service_view("web01", "Disk", State::Critical, true),
            service_view("db01", "MySQL", State::Ok, false),
        ] {
            snapshot.status.services.insert((view.host.clone(), view.description.clone()), view);
        }
        let mut memory = Announced::default();
        let announced = Shown { state: State::Critical, checked_at: 50.0 };
        memory.states.insert(ObjectRef::service("db01", "MySQL"), announced);
        // As after an earlier reconciliation, which remembers every object.
        memory.states.insert(ObjectRef::service("web01", "HTTP"), Shown { state: State::Ok, checked_at: 50.0 });

        let found = reconcile("s", &snapshot, &mut memory, &store).await;
        let found: Vec<(String, NotificationType)> =
            found.iter().map(|notification| (notification.object.to_string(), notification.kind)).collect();
        assert_eq!(
            found,
            [
                ("db01!MySQL".to_owned(), NotificationType::Recovery),
                ("web01!Disk".to_owned(), NotificationType::Problem)
            ]
        );
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
