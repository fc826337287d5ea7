//! Test fixtures for the router and the commands: a small monitored estate built in code, a
//! `Monitor` double that records actions instead of sending them, and a chat session helper.

use crate::commands::{self, Input};
use crate::router::Settings;
use crate::{Dispatch, Policy, Request, Role, Router, SnoozeBook, SnoozeBookError, Thread, User};
use async_trait::async_trait;
use hagios_domain::{
    Action, Downtime, HostObject, HostView, Inventory, ObjectRef, Outcome, ServiceView, SiteObject, SiteSnapshots,
    Snapshot, Snooze, State, Status,
};
use hagios_monitor::{Monitor, MonitorError, Steps};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// 2024-05-01 14:00:00 UTC.
pub(crate) const NOW: i64 = 1_714_572_000;

pub(crate) static SETTINGS: LazyLock<Settings> =
    LazyLock::new(|| Settings { backend_name: "Nagios".to_owned(), ..Settings::default() });

fn host(name: &str, state: State, output: &str) -> HostView {
    HostView {
        name: name.into(),
        state,
        output: output.into(),
        long_output: String::new(),
        has_been_checked: true,
        acknowledged: false,
        in_downtime: false,
        notifications_enabled: true,
        last_check: NOW - 60,
        last_state_change: NOW - 3600,
    }
}

fn service(host: &str, description: &str, state: State, output: &str) -> ServiceView {
    ServiceView {
        host: host.into(),
        description: description.into(),
        state,
        output: output.into(),
        long_output: String::new(),
        has_been_checked: true,
        acknowledged: false,
        in_downtime: false,
        notifications_enabled: true,
        last_check: NOW - 120,
        last_state_change: NOW - 600,
    }
}

/// web01 (UP; HTTP CRITICAL, "HTTP Load" WARNING, SSH OK), web02 (UP; HTTP OK, muted),
/// db01 (DOWN, in downtime #7; MySQL CRITICAL, acknowledged, in downtime #8); db02 configured but
/// not checked yet (no state). Host groups: web-servers (web01, web02), db-servers (db01).
/// web01's configuration has an address, a parent, contacts and contact groups.
pub(crate) fn fixture() -> Snapshot {
    let mut status = Status { created: NOW - 5, ..Status::default() };
    status.hosts.insert("web01".into(), host("web01", State::Up, "PING OK - 0.2 ms"));
    status.hosts.insert("web02".into(), host("web02", State::Up, "PING OK - 0.3 ms"));
    let mut db01 = host("db01", State::Down, "CRITICAL - Host Unreachable (10.0.0.3)");
    db01.in_downtime = true;
    status.hosts.insert("db01".into(), db01);
    let mut services = vec![
        service("web01", "HTTP", State::Critical, "HTTP CRITICAL - 503 Service Unavailable\nbody: <html>"),
        service("web01", "HTTP Load", State::Warning, "WARNING - load 7.1"),
        service("web01", "SSH", State::Ok, "SSH OK - OpenSSH_9.2"),
        service("web02", "HTTP", State::Ok, "HTTP OK - 200"),
        service("db01", "MySQL", State::Critical, "CRITICAL - cannot connect"),
    ];
    services[3].notifications_enabled = false;
    services[4].acknowledged = true;
    services[4].in_downtime = true;
    for view in services {
        status.services.insert((view.host.clone(), view.description.clone()), view);
    }
    status.downtimes = vec![
        Downtime {
            name: Some("db01!MySQL!5d2e0c1a-9f3b-4e7a-8c61-2b7d4f0e9a13".into()),
            ..downtime(8, ObjectRef::service("db01", "MySQL"), "bob", "migration")
        },
        downtime(7, ObjectRef::host("db01"), "bob", "rack move"),
    ];
    let mut inventory = Inventory::default();
    for (name, groups) in [("web01", "web-servers"), ("web02", "web-servers"), ("db01", "db-servers")] {
        inventory.hosts.insert(name.into(), HostObject { hostgroups: vec![groups.into()], ..HostObject::default() });
        inventory.hostgroups.entry(groups.into()).or_default().push(name.into());
    }
    let web01 = inventory.hosts.get_mut("web01").expect("web01 was just added");
    web01.address = "10.0.0.1".into();
    web01.parents = vec!["core-switch".into()];
    web01.contacts = vec!["alice".into()];
    web01.contact_groups = vec!["admins".into(), "oncall".into()];
    inventory.hosts.insert("db02".into(), HostObject { address: "10.0.0.4".into(), ..HostObject::default() });
    for (host, service) in status.services.keys() {
        inventory.services.entry(host.clone()).or_default().push(service.clone());
    }
    Snapshot { status, inventory: Arc::new(inventory) }
}

fn downtime(id: u64, object: ObjectRef, author: &str, comment: &str) -> Downtime {
    Downtime {
        id,
        object,
        entry_time: NOW - 7200,
        start: NOW - 3600,
        end: NOW + 3600,
        fixed: true,
        duration: 7200,
        author: author.into(),
        comment: comment.into(),
        name: None,
    }
}

/// The fixture as the one site `local`.
pub(crate) fn local_site() -> SiteSnapshots {
    SiteSnapshots::one(SITE, Arc::new(fixture()))
}

/// When the incident of the thread a `Chat` is in opened.
pub(crate) const OPENED_AT: i64 = NOW - 600;

/// The site the fixture is.
pub(crate) const SITE: &str = "local";

/// An `Input` for parser-level tests, as if typed by alice with the `ack` command.
pub(crate) fn input_for<'a>(sites: &'a SiteSnapshots, incident: Option<&'a SiteObject>) -> Input<'a> {
    Input {
        command: commands::find("ack").unwrap_or(commands::ALL[0]),
        user: "alice",
        incident,
        incident_opened_at: incident.map(|_| OPENED_AT),
        group: &[],
        now: NOW,
        snapshot: sites.merged(),
        sites,
        settings: &SETTINGS,
        cadence: None,
    }
}

/// What the `RecordingMonitor` answers to actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    Confirm,
    NotApply,
    Unconfirm,
    NotRunning,
    StateUnreadable,
}

/// A `Monitor` serving the fixture and recording what it is asked to do and how often its state
/// is read.
pub(crate) struct RecordingMonitor {
    snapshot: Arc<Snapshot>,
    behaviour: Behaviour,
    executed: Mutex<Vec<(Action, String)>>,
    reads: AtomicUsize,
}

impl RecordingMonitor {
    pub(crate) fn new(behaviour: Behaviour) -> Self {
        RecordingMonitor {
            snapshot: Arc::new(fixture()),
            behaviour,
            executed: Mutex::new(Vec::new()),
            reads: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl Monitor for RecordingMonitor {
    fn site(&self) -> &str {
        SITE
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::StateUnreadable => Err(MonitorError::State("status.dat is missing".into())),
            _ => Ok(self.snapshot.clone()),
        }
    }

    async fn execute_with(&self, action: &Action, author: &str, _steps: Steps<'_>) -> Result<Outcome, MonitorError> {
        self.executed.lock().expect("no test panicked while holding the lock").push((action.clone(), author.into()));
        match self.behaviour {
            Behaviour::Confirm => Ok(Outcome::Confirmed("seen in status.dat".into())),
            Behaviour::NotApply => Ok(Outcome::NotApplied("web01!HTTP Load is OK — it has no problem".into())),
            Behaviour::Unconfirm => Ok(Outcome::Unconfirmed("no change after 5s".into())),
            Behaviour::NotRunning => {
                Err(MonitorError::NotRunning { system: "Nagios", detail: "command FIFO has no reader".into() })
            }
            Behaviour::StateUnreadable => Err(MonitorError::State("status.dat is missing".into())),
        }
    }
}

/// Alice and dave (U1, U4, role oncall: every action on everything), bob (U2, role web: ack and recheck on
/// `web*`), carol (U3, role dba: ack on `hostgroup:db-servers`), erin (U5, role web-downtime: downtime
/// on `web*`); alice is also `@alice:m.org` (on Matrix, the same person); anyone else has no role.
pub(crate) fn policy() -> Policy {
    let role = |name: &str, commands: &[&str], objects: &[&str]| Role {
        name: name.into(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        objects: objects.iter().map(|o| o.to_string()).collect(),
    };
    let user = |id: &str, role: &str| User { chat_id: id.into(), roles: vec![role.into()], person: None };
    let alice = |id: &str| User { chat_id: id.into(), roles: vec!["oncall".into()], person: Some("alice".into()) };
    Policy::new(
        [
            role(
                "oncall",
                &[
                    "ack", "unack", "downtime", "recheck", "mute", "unmute", "comment", "host", "snooze", "oncall",
                    "escalate", "timeline", "report",
                ],
                &["*"],
            ),
            role("web", &["ack", "recheck"], &["web*"]),
            role("dba", &["ack"], &["hostgroup:db-servers"]),
            role("web-downtime", &["downtime"], &["web*"]),
        ],
        [
            alice("U1"),
            user("U2", "web"),
            user("U3", "dba"),
            user("U4", "oncall"),
            user("U5", "web-downtime"),
            alice("@alice:m.org"),
        ],
    )
}

/// A person typing into chat against the fixture.
pub(crate) struct Chat {
    user_id: &'static str,
    user_name: &'static str,
    thread: Thread,
    behaviour: Behaviour,
}

/// What one `Chat::send` produced.
pub(crate) struct Sent {
    pub dispatch: Dispatch,
    pub executed: Vec<(Action, String)>,
    /// How many times the monitoring state was read for it.
    pub state_reads: usize,
}

impl Sent {
    pub(crate) fn reply(&self) -> &str {
        &self.dispatch.reply
    }

    pub(crate) fn audit(&self) -> &crate::AuditEntry {
        &self.dispatch.audit
    }

    /// The one action executed; fails the test with the reply otherwise.
    pub(crate) fn action(&self) -> &Action {
        match self.executed.as_slice() {
            [(action, _)] => action,
            _ => panic!("expected one action, got {:?}; reply: {}", self.executed, self.dispatch.reply),
        }
    }
}

impl Chat {
    pub(crate) fn alice() -> Self {
        Chat::as_user("U1", "alice")
    }

    pub(crate) fn as_user(user_id: &'static str, user_name: &'static str) -> Self {
        Chat { user_id, user_name, thread: Thread::None, behaviour: Behaviour::Confirm }
    }

    pub(crate) fn in_thread(mut self, incident: ObjectRef) -> Self {
        self.thread = Thread::Incident { at: SiteObject::new(SITE, incident), opened_at: OPENED_AT };
        self
    }

    /// In the thread of an alert group with these open members.
    pub(crate) fn in_group(mut self, members: Vec<ObjectRef>) -> Self {
        self.thread = Thread::Group(members.into_iter().map(|member| SiteObject::new(SITE, member)).collect());
        self
    }

    pub(crate) fn failing(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    pub(crate) fn send(&self, text: &str) -> Sent {
        self.send_to(&Router::with_settings(policy(), SETTINGS.clone()), text)
    }

    /// Two messages to the same router (the second may answer the first), one after the other.
    pub(crate) fn send_two(&self, first: &str, second: &str) -> (Sent, Sent) {
        let router = Router::with_settings(policy(), SETTINGS.clone());
        (self.send_to(&router, first), self.send_to(&router, second))
    }

    /// A router that keeps snoozes in `book`.
    pub(crate) fn router_with_book(&self, book: impl crate::SnoozeBook + 'static) -> Router {
        Router::with_settings(policy(), SETTINGS.clone()).with_snooze_book(Arc::new(book))
    }

    /// A router whose desk answers `desk: CANONICAL REQUEST` and records what it was asked.
    pub(crate) fn router_with_desk(&self) -> (Arc<RecordingDesk>, Router) {
        let desk = Arc::new(RecordingDesk::default());
        (desk.clone(), Router::with_settings(policy(), SETTINGS.clone()).with_desk(desk))
    }

    /// One message to `router`.
    pub(crate) fn send_to(&self, router: &Router, text: &str) -> Sent {
        let monitor = RecordingMonitor::new(self.behaviour);
        let request =
            Request { user_id: self.user_id, user_name: self.user_name, text, thread: self.thread.clone(), now: NOW };
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a test runtime starts");
        let dispatch = runtime.block_on(router.dispatch(&request, &monitor));
        let executed = monitor.executed.into_inner().expect("no test panicked while holding the lock");
        Sent { dispatch, executed, state_reads: monitor.reads.into_inner() }
    }
}

/// A desk that answers with the request's canonical form and keeps what it was asked.
#[derive(Default)]
pub(crate) struct RecordingDesk(Mutex<Vec<crate::DeskRequest>>);

impl RecordingDesk {
    pub(crate) fn asked(&self) -> Vec<crate::DeskRequest> {
        self.0.lock().expect("no test panicked while holding the lock").clone()
    }
}

#[async_trait]
impl crate::Desk for RecordingDesk {
    async fn answer(
        &self,
        request: &crate::DeskRequest,
        _asker: &crate::Asker<'_>,
    ) -> Result<crate::DeskAnswer, crate::DeskError> {
        self.0.lock().expect("no test panicked while holding the lock").push(request.clone());
        Ok(crate::DeskAnswer { text: format!("desk: {}", request.canonical()), attachment: None })
    }
}

/// The store's behaviour in memory: one snooze per object, a running one keeps its start.
#[derive(Default)]
pub(crate) struct MemoryBook(Mutex<Vec<Snooze>>);

#[async_trait]
impl SnoozeBook for MemoryBook {
    async fn put(&self, snooze: Snooze, now: i64) -> Result<Snooze, SnoozeBookError> {
        let mut kept = self.0.lock().unwrap();
        let since = kept.iter().find(|s| s.object == snooze.object && s.active(now)).map_or(snooze.since, |s| s.since);
        kept.retain(|s| s.object != snooze.object);
        let snooze = Snooze { since, ..snooze };
        kept.push(snooze.clone());
        Ok(snooze)
    }

    async fn end(&self, object: &ObjectRef, now: i64) -> Result<bool, SnoozeBookError> {
        let mut kept = self.0.lock().unwrap();
        let running = kept.iter_mut().find(|s| &s.object == object && s.active(now));
        Ok(running.map(|s| s.until = now).is_some())
    }

    async fn all(&self) -> Result<Vec<Snooze>, SnoozeBookError> {
        Ok(self.0.lock().unwrap().clone())
    }
}
