//! Commands on a bot over several sites where names collide: db01 and downtime #8 are at both
//! east and west (Nagios numbers downtimes from 1 at every site). A command acts only at the site
//! it was checked and authorized against, and refuses when that site is not clear.

use crate::router::Settings;
use crate::testing::{fixture, policy, MemoryBook, RecordingDesk, SETTINGS};
use crate::{Request, Router, Thread};
use async_trait::async_trait;
use hagios_domain::{Action, HostObject, ObjectRef, Outcome, SiteObject, SiteSnapshots, Snapshot, Step, System};
use hagios_monitor::{Monitor, MonitorError, Steps};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// east: the fixture plus app01 (db01 in host group db-servers); west: the fixture with db01 in no
/// host group. Both have db01!MySQL and downtimes #7 and #8. `silent` sites did not answer.
fn two_sites(silent: &[&str]) -> SiteSnapshots {
    let mut east = fixture();
    let mut inventory = (*east.inventory).clone();
    inventory.hosts.insert("app01".into(), HostObject::default());
    east.inventory = Arc::new(inventory);
    let mut west = fixture();
    let mut inventory = (*west.inventory).clone();
    inventory.hosts.get_mut("db01").expect("db01 in the fixture").hostgroups.clear();
    inventory.hostgroups.remove("db-servers");
    west.inventory = Arc::new(inventory);
    let silent = silent.iter().map(|site| ((*site).to_owned(), "its agent is not connected".to_owned())).collect();
    SiteSnapshots::spanning(vec![("east".into(), east), ("west".into(), west)], silent)
}

/// The bot's monitor over `two_sites`, recording where each action was sent; each site runs the
/// system its agent said.
struct Sites {
    state: Arc<SiteSnapshots>,
    sent: Mutex<Vec<(String, Action)>>,
    systems: Vec<(&'static str, System)>,
}

/// What the agents of east and west said they run, unless a test says otherwise.
const EAST_ICINGA_WEST_NAGIOS: [(&str, System); 2] = [("east", System::Icinga2), ("west", System::Nagios)];

impl Sites {
    fn new(silent: &[&str], systems: &[(&'static str, System)]) -> Self {
        Sites { state: Arc::new(two_sites(silent)), sent: Mutex::default(), systems: systems.to_vec() }
    }
}

#[async_trait]
impl Monitor for Sites {
    fn site(&self) -> &str {
        "all sites"
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, MonitorError> {
        Ok(Arc::clone(self.state.merged()))
    }

    async fn execute_with(&self, _: &Action, _: &str, _: Steps<'_>) -> Result<Outcome, MonitorError> {
        Err(MonitorError::Refused("the command names no site".into()))
    }

    fn system(&self, site: Option<&str>) -> Option<System> {
        let mut systems = self.systems.iter().filter(|(name, _)| site.is_none_or(|site| site == *name));
        let (_, first) = systems.next()?;
        systems.all(|(_, system)| system == first).then_some(*first)
    }

    async fn site_snapshots(&self) -> Result<Arc<SiteSnapshots>, MonitorError> {
        Ok(Arc::clone(&self.state))
    }

    async fn execute_at_with(
        &self,
        site: &str,
        action: &Action,
        _: &str,
        steps: Steps<'_>,
    ) -> Result<Outcome, MonitorError> {
        self.sent.lock().expect("not poisoned").push((site.to_owned(), action.clone()));
        steps(Step::Sent { state_every: None, answer_within: Duration::from_secs(25) });
        Ok(Outcome::Confirmed(format!("seen at {site}")))
    }
}

/// What `text` from `user_id` in `thread` became: the reply and where actions were sent.
fn send(silent: &[&str], user_id: &str, thread: Thread, text: &str) -> (String, Vec<(String, Action)>) {
    let monitor = Sites::new(silent, &EAST_ICINGA_WEST_NAGIOS);
    let router = Router::with_settings(policy(), SETTINGS.clone()).with_desk(Arc::new(RecordingDesk::default()));
    let (reply, _) = exchange(&router, &monitor, user_id, thread, text);
    (reply, monitor.sent.into_inner().expect("not poisoned"))
}

/// The reply to `text` from `user_id` in `thread`, and how it stood while it waited.
fn exchange(router: &Router, monitor: &Sites, user_id: &str, thread: Thread, text: &str) -> (String, Vec<String>) {
    let request = Request { user_id, user_name: "someone", text, thread, now: crate::testing::NOW };
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a test runtime starts");
    let progress = Mutex::new(Vec::new());
    let dispatch = runtime.block_on(router.dispatch_with(&request, monitor, &|reply| {
        progress.lock().expect("not poisoned").push(reply);
    }));
    (dispatch.reply, progress.into_inner().expect("not poisoned"))
}

fn sites_of(sent: &[(String, Action)]) -> Vec<&str> {
    sent.iter().map(|(site, _)| site.as_str()).collect()
}

fn mysql_at(site: &str) -> SiteObject {
    SiteObject::new(site, ObjectRef::service("db01", "MySQL"))
}

#[test]
fn a_host_at_two_sites_must_be_named_with_its_site() {
    let (reply, sent) = send(&[], "U1", Thread::None, "ack db01 MySQL on it");
    assert_eq!(reply, "`db01` is at 2 sites (east, west); name the one you mean: `east:db01` or `west:db01`");
    assert!(sent.is_empty());
    let (reply, sent) = send(&[], "U1", Thread::None, "ack west:db01 MySQL on it");
    assert_eq!(reply, "acknowledged west:db01!MySQL — confirmed by Nagios (seen at west)");
    assert_eq!(sites_of(&sent), ["west"]);
    let (_, sent) = send(&[], "U1", Thread::None, "recheck east:db01!MySQL");
    assert_eq!(sent, [("east".to_owned(), Action::Recheck { target: ObjectRef::service("db01", "MySQL") })]);
}

#[test]
fn a_command_in_an_alerts_thread_acts_at_the_alerts_site() {
    let (reply, sent) = send(&[], "U1", Thread::Incident { at: mysql_at("west"), opened_at: 0 }, "ack looking");
    assert_eq!(sites_of(&sent), ["west"], "{reply}");
    let (_, sent) = send(&[], "U1", Thread::Incident { at: mysql_at("east"), opened_at: 0 }, "downtime 1h");
    assert_eq!(sites_of(&sent), ["east"]);
}

#[test]
fn a_timeline_tells_the_threads_incident_at_its_site_or_the_newest_at_the_site_named() {
    let in_west = Thread::Incident { at: mysql_at("west"), opened_at: 1_000 };
    let (reply, _) = send(&[], "U1", in_west.clone(), "timeline");
    assert_eq!(reply, "desk: timeline west:db01!MySQL opened at 1000", "that thread's incident");
    let (reply, _) = send(&[], "U1", in_west, "timeline east:db01 MySQL");
    assert_eq!(reply, "desk: timeline east:db01!MySQL", "the newest at the site named");
    let (reply, _) = send(&[], "U1", Thread::None, "timeline db01 MySQL");
    assert!(reply.starts_with("`db01` is at 2 sites (east, west); name the one you mean"), "{reply}");
}

#[test]
fn authorization_is_checked_against_the_site_the_command_goes_to() {
    // carol may ack on hostgroup:db-servers: east's db01 is in it, west's is not.
    let (reply, sent) = send(&[], "U3", Thread::Incident { at: mysql_at("west"), opened_at: 0 }, "ack");
    assert!(reply.starts_with("refused: someone may not `ack` db01!MySQL (no role grants ack on it"), "{reply}");
    assert!(sent.is_empty());
    let (reply, sent) = send(&[], "U3", Thread::None, "ack west:db01 MySQL");
    assert!(reply.starts_with("refused:"), "{reply}");
    assert!(sent.is_empty());
    let (_, sent) = send(&[], "U3", Thread::Incident { at: mysql_at("east"), opened_at: 0 }, "ack");
    assert_eq!(sites_of(&sent), ["east"]);
}

#[test]
fn a_site_that_does_not_answer_fails_closed_and_says_how_to_name_the_site() {
    // app01 is at east only, as far as anyone can tell while west is silent.
    let two = two_sites(&[]);
    assert_eq!(two.sites_with_host("app01"), ["east"]);
    let (reply, sent) = send(&["north"], "U1", Thread::None, "ack app01 power");
    assert_eq!(
        reply,
        "site north did not answer, so hagios cannot tell whether `app01` is there too; name the site \
         (`east:app01`) or try again once it answers"
    );
    assert!(sent.is_empty());
    let (_, sent) = send(&["north"], "U1", Thread::None, "ack east:app01 power");
    assert_eq!(sites_of(&sent), ["east"]);
    // The alert's own site is silent: nothing goes anywhere.
    let at_north = SiteObject::new("north", ObjectRef::service("db01", "MySQL"));
    let (reply, sent) = send(&["north"], "U1", Thread::Incident { at: at_north, opened_at: 0 }, "ack");
    assert!(
        reply.starts_with(
            "this alert is at site `north`, which did not answer (its agent is not connected); nothing was sent"
        ),
        "{reply}"
    );
    assert!(sent.is_empty());
    let (reply, sent) = send(&["north"], "U1", Thread::None, "recheck north:db01");
    assert!(reply.starts_with("site `north` did not answer (its agent is not connected)"), "{reply}");
    assert!(sent.is_empty());
}

#[test]
fn colliding_downtime_ids_are_named_with_their_site() {
    let (reply, sent) = send(&[], "U1", Thread::None, "downtime cancel 8");
    assert_eq!(
        reply,
        "downtime #8 is at 2 sites (east, west); name the one you mean: `downtime cancel east:8` or \
         `downtime cancel west:8`"
    );
    assert!(sent.is_empty());
    let (reply, sent) = send(&[], "U1", Thread::None, "downtime cancel west:#8");
    assert_eq!(reply, "cancelled downtime #8 on west:db01!MySQL — confirmed by Nagios (seen at west)");
    assert_eq!(sent, [("west".to_owned(), Action::DeleteDowntime { id: 8 })]);
    let (reply, _) = send(&[], "U1", Thread::None, "downtimes db01");
    assert!(reply.contains("\neast:#8 db01!MySQL") || reply.starts_with("east:#8 db01!MySQL"), "{reply}");
    assert!(reply.contains("west:#8 db01!MySQL"), "{reply}");
    assert!(reply.ends_with("cancel one with `downtime cancel SITE:ID` or `downtime cancel NAME`"), "{reply}");
}

#[test]
fn a_group_ack_sends_each_member_to_its_own_site() {
    let members = vec![mysql_at("east"), mysql_at("west"), SiteObject::new("north", ObjectRef::host("db01"))];
    let (reply, sent) = send(&["north"], "U1", Thread::Group(members), "ack");
    assert_eq!(sites_of(&sent), ["east", "west"]);
    assert!(reply.starts_with("ack for the 3 open members of this group: "), "{reply}");
    assert!(reply.contains("• north:db01: could not acknowledge north:db01: site `north` did not answer"), "{reply}");
}

#[test]
fn status_shows_the_named_sites_object_and_host_changes_name_their_site() {
    let (reply, _) = send(&[], "U1", Thread::None, "status west:db01");
    assert!(reply.starts_with("db01 is DOWN"), "{reply}");
    assert!(!reply.contains("host groups"), "west's db01 is in no host group: {reply}");
    let (reply, _) = send(&[], "U1", Thread::None, "status east:db01");
    assert!(reply.contains("host groups: db-servers"), "{reply}");
    let (reply, sent) = send(&[], "U1", Thread::None, "host add web09 192.0.2.9");
    assert!(
        reply.starts_with("this bot serves several sites (east, west); name the one to add the host at"),
        "{reply}"
    );
    assert!(sent.is_empty());
    let (reply, _) = send(&[], "U1", Thread::None, "host add east:web09 192.0.2.9");
    assert!(reply.starts_with("this will add host east:web09 (192.0.2.9, template generic-host)"), "{reply}");
    let (reply, _) = send(&[], "U1", Thread::None, "host remove db01");
    assert!(reply.starts_with("`db01` is at 2 sites"), "{reply}");
}

#[test]
fn problems_show_each_sites_objects_and_say_which_site_did_not_answer() {
    let (reply, _) = send(&["north"], "U1", Thread::None, "problems db01");
    assert!(reply.contains("DOWN east:db01 — ") && reply.contains("DOWN west:db01 — "), "{reply}");
    assert!(reply.contains("CRITICAL east:db01!MySQL") && reply.contains("CRITICAL west:db01!MySQL"), "{reply}");
    assert!(reply.ends_with("\n(site north did not answer (its agent is not connected))"), "{reply}");
    // Host groups are each site's own: only east's db01 is in db-servers.
    let (reply, _) = send(&[], "U1", Thread::None, "problems hostgroup:db-servers");
    assert!(reply.contains("east:db01") && !reply.contains("west:"), "{reply}");
}

#[test]
fn each_reply_names_the_system_at_the_site_the_command_goes_to() {
    let router = Router::with_settings(policy(), Settings::default()).with_snooze_book(Arc::new(MemoryBook::default()));
    let mixed = Sites::new(&[], &EAST_ICINGA_WEST_NAGIOS);
    let said = |monitor: &Sites, text: &str| exchange(&router, monitor, "U1", Thread::None, text);
    let (reply, progress) = said(&mixed, "recheck east:db01");
    assert_eq!(progress, ["recheck east:db01 — sent to Icinga 2, waiting for it to confirm"]);
    assert_eq!(reply, "rechecked east:db01 — confirmed by Icinga 2 (seen at east)");
    let (reply, progress) = said(&mixed, "recheck west:db01");
    assert_eq!(progress, ["recheck west:db01 — sent to Nagios, waiting for it to confirm"]);
    assert_eq!(reply, "rechecked west:db01 — confirmed by Nagios (seen at west)");
    let (reply, _) = said(&mixed, "host remove east:app01");
    assert!(reply.contains(" in Icinga 2; nothing happens until you reply `yes`"), "{reply}");
    // A snooze holds an object's notifications from every site: it names their system only when
    // they all run the same one.
    let (reply, _) = said(&mixed, "snooze app01 1h");
    assert!(reply.contains("; the monitoring system is not told"), "{reply}");
    let all_nagios = Sites::new(&[], &[("east", System::Nagios), ("west", System::Nagios)]);
    let (reply, _) = said(&all_nagios, "snooze app01 1h");
    assert!(reply.contains("; Nagios is not told"), "{reply}");
}
