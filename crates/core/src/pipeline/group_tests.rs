//! The grouping stage on a paused clock: when a group's message goes out, what it and its
//! thread say, how later members update it, and that a crash in the middle of a group delivery
//! neither loses nor repeats anything.

use super::*;
use crate::config::{DeliveryConfig, GroupLabel, RouteConfig};
use async_trait::async_trait;
use group::Groups;
use hagios_chat::{ChatEvent, MessageRef, Outbound, Platform};
use hagios_domain::{Notification, NotificationType, ObjectRef, State};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub(super) struct Posted {
    pub(super) id: String,
    pub(super) thread: Option<String>,
    pub(super) text: String,
    pub(super) key: String,
}

/// A chat that remembers what was posted and edited; it can "die" after a number of posts:
/// the post goes through, the answer is lost. Like Matrix, it knows channels by an alias
/// (`#name`) and an id (`!name`): messages carry the id.
#[derive(Default)]
pub(super) struct Recorder {
    posts: Mutex<Vec<Posted>>,
    edits: Mutex<Vec<(String, String)>>,
    pub(super) posts_before_dying: Mutex<Option<usize>>,
    /// How long chat takes to answer a post that is already shown.
    pub(super) answer_after: Mutex<Duration>,
    next_id: AtomicUsize,
}

impl Recorder {
    pub(super) fn posts(&self) -> Vec<Posted> {
        self.posts.lock().unwrap().clone()
    }

    pub(super) fn die_after(&self, posts: usize) {
        *self.posts_before_dying.lock().unwrap() = Some(posts);
    }
}

/// The id of a channel named by alias or id.
fn channel_id(target: Option<&str>) -> String {
    let target = target.unwrap_or("C0ALERTS");
    target.strip_prefix('#').map_or_else(|| target.to_owned(), |alias| format!("!{alias}"))
}

fn text_of(message: &Outbound) -> String {
    match message {
        Outbound::Alert(card) => format!("{} {} is {}", card.kind, card.object, card.state),
        Outbound::Update { text, .. } | Outbound::Text(text) | Outbound::Reminder(text) => text.clone(),
        Outbound::Group(card) => hagios_chat::group::text(card),
        Outbound::Page { mentions, everyone, text } => {
            let calls: Vec<String> =
                mentions.iter().map(|m| format!("@{}", m.user_id.as_deref().unwrap_or(&m.name))).collect();
            format!("{}{} {text}", if *everyone { "@here " } else { "" }, calls.join(" "))
        }
    }
}

#[async_trait]
impl ChatAdapter for Recorder {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    async fn post(&self, _: Option<&str>, _: Option<&MessageRef>, _: &Outbound) -> Result<MessageRef, ChatError> {
        unreachable!("the pipeline posts keyed messages")
    }

    async fn post_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        message: &Outbound,
        key: &str,
    ) -> Result<MessageRef, ChatError> {
        let id = (self.next_id.fetch_add(1, Ordering::SeqCst) + 1).to_string();
        let thread = thread.map(|parent| parent.id.clone());
        self.posts.lock().unwrap().push(Posted { id: id.clone(), thread, text: text_of(message), key: key.into() });
        let answer_after = *self.answer_after.lock().unwrap();
        tokio::time::sleep(answer_after).await;
        let mut dying = self.posts_before_dying.lock().unwrap();
        match dying.as_mut() {
            Some(0) => return Err(ChatError::Unavailable("killed between posting and committing".into())),
            Some(left) => *left -= 1,
            None => {}
        }
        Ok(MessageRef { channel: channel_id(channel), id })
    }

    async fn find_keyed(
        &self,
        channel: Option<&str>,
        thread: Option<&MessageRef>,
        key: &str,
    ) -> Result<Option<MessageRef>, ChatError> {
        let thread = thread.map(|parent| parent.id.clone());
        let found = self.posts().into_iter().find(|posted| posted.key == key && posted.thread == thread);
        Ok(found.map(|posted| MessageRef { channel: channel_id(channel), id: posted.id }))
    }

    async fn channel_id(&self, target: &str) -> Result<String, ChatError> {
        Ok(channel_id(Some(target)))
    }

    async fn update(&self, message: &MessageRef, content: &Outbound) -> Result<(), ChatError> {
        self.edits.lock().unwrap().push((message.id.clone(), text_of(content)));
        Ok(())
    }

    async fn listen(&self, _: mpsc::Sender<ChatEvent>) -> Result<(), ChatError> {
        Ok(())
    }
}

pub(super) fn route(grouping: bool) -> RouteConfig {
    let mut route = RouteConfig::to([(Platform::Slack, "C0ALERTS".to_owned())]);
    route.grouping.enabled = grouping;
    route
}

/// The default route to the default channel, each notification on its own at once.
pub(super) fn ungrouped_default_route() -> RouteConfig {
    let grouping = crate::config::Grouping { enabled: false, ..Default::default() };
    RouteConfig::fallback(grouping, [(Platform::Slack, "C0ALERTS".to_owned())])
}

pub(super) fn pipeline(dir: &std::path::Path, chat: Arc<Recorder>, grouping: bool) -> Pipeline {
    Pipeline {
        spool: Arc::new(Spool::open(dir.join("spool")).expect("spool")),
        store: StoreHandle::open(&dir.join("state.db")).expect("store"),
        chat,
        routes: vec![route(grouping)],
        default_route: ungrouped_default_route(),
        settings: DeliveryConfig::default(),
        holds: Holds::new(Vec::new()),
        groups: Default::default(),
        intake: Default::default(),
        evidence: None,
        health: Default::default(),
        oncall: Default::default(),
        handovers: Default::default(),
        unrecorded: Default::default(),
    }
}

/// A pipeline whose route posts every notification at once, and its chat.
fn ungrouped(dir: &std::path::Path) -> (Arc<Recorder>, Pipeline) {
    let chat = Arc::new(Recorder::default());
    (chat.clone(), pipeline(dir, chat, false))
}

pub(super) fn notification(host: &str, service: &str, kind: NotificationType, state: State) -> Notification {
    Notification {
        id: String::new(),
        site: "local".into(),
        kind,
        object: ObjectRef::service(host, service),
        state,
        output: format!("{state} - {service} on {host}"),
        long_output: String::new(),
        author: None,
        comment: None,
        time: 1_700_000_000,
        hostgroups: Vec::new(),
        contact: None,
        macros: Default::default(),
    }
}

fn spool_burst(spool: &Spool, host: &str, services: usize) {
    for n in 0..services {
        spool.write(notification(host, &format!("svc{n:02}"), NotificationType::Problem, State::Critical)).unwrap();
    }
}

fn all_text(chat: &Recorder) -> String {
    chat.posts().iter().map(|posted| posted.text.clone()).collect::<Vec<_>>().join("\n")
}

#[tokio::test(start_paused = true)]
async fn a_burst_becomes_one_message_per_group_after_group_wait_and_quick_recoveries_stay_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = pipeline(dir.path(), chat.clone(), true);
    spool_burst(&pipeline.spool, "db01", 37);
    pipeline.spool.write(notification("db01", "flappy", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.spool.write(notification("web01", "HTTP", NotificationType::Problem, State::Warning)).unwrap();
    pipeline.spool.write(notification("db01", "flappy", NotificationType::Recovery, State::Ok)).unwrap();

    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_millis(9_900)).await;
    pipeline.drain().await.unwrap();
    assert!(chat.posts().is_empty(), "nothing before group_wait");
    assert_eq!(pipeline.spool.pending().unwrap().len(), 40, "held records stay in the spool");

    tokio::time::advance(Duration::from_millis(100)).await;
    pipeline.drain().await.unwrap();
    let posts = chat.posts();
    let parents: Vec<&Posted> = posts.iter().filter(|posted| posted.thread.is_none()).collect();
    assert_eq!(parents.len(), 2, "one message per host: {posts:#?}");
    assert!(parents[0].text.starts_with("37 services on db01 CRITICAL\n"), "{}", parents[0].text);
    assert!(parents[1].text.starts_with("1 service on web01 WARNING\n"), "a single alert arrives within group_wait");
    let db01_thread: Vec<&Posted> = posts.iter().filter(|p| p.thread.as_ref() == Some(&parents[0].id)).collect();
    assert_eq!(db01_thread.len(), 1, "the members are listed in one reply");
    assert_eq!(db01_thread[0].text.lines().count(), 37);
    assert!(!all_text(&chat).contains("flappy"), "opened and recovered inside group_wait: not announced");
    assert!(pipeline.spool.pending().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn later_members_update_the_group_message_at_most_once_per_group_interval() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = pipeline(dir.path(), chat.clone(), true);
    spool_burst(&pipeline.spool, "db01", 3);
    tokio::time::advance(Duration::from_secs(10)).await;
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    pipeline.drain().await.unwrap();
    assert_eq!(chat.posts().len(), 2, "parent and member list");
    let parent = chat.posts()[0].id.clone();

    pipeline.spool.write(notification("db01", "svc03", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.spool.write(notification("db01", "svc00", NotificationType::Recovery, State::Ok)).unwrap();
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(29)).await;
    pipeline.drain().await.unwrap();
    assert_eq!(chat.posts().len(), 2, "held until group_interval after the last update");

    tokio::time::advance(Duration::from_secs(1)).await;
    pipeline.drain().await.unwrap();
    let posts = chat.posts();
    assert_eq!(posts.len(), 3, "one more reply for both: {posts:#?}");
    assert_eq!(posts[2].thread.as_ref(), Some(&parent));
    assert!(posts[2].text.contains("db01!svc03 PROBLEM CRITICAL") && posts[2].text.contains("db01!svc00 RECOVERY OK"));
    let edits = chat.edits.lock().unwrap().clone();
    assert_eq!(edits.len(), 1);
    assert!(edits[0].0 == parent && edits[0].1.starts_with("3 services on db01 CRITICAL\n"), "{edits:?}");

    // Everything recovers: the group closes, the next problem opens a new one.
    for service in ["svc01", "svc02", "svc03"] {
        pipeline.spool.write(notification("db01", service, NotificationType::Recovery, State::Ok)).unwrap();
    }
    tokio::time::advance(Duration::from_secs(30)).await;
    pipeline.drain().await.unwrap();
    assert!(chat.edits.lock().unwrap().last().unwrap().1.starts_with("all clear: 4 alerts recovered"));
    spool_burst(&pipeline.spool, "db01", 1);
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    pipeline.drain().await.unwrap();
    let parents = chat.posts().into_iter().filter(|posted| posted.thread.is_none()).count();
    assert_eq!(parents, 2, "a new group after the old one closed");
}

#[tokio::test(start_paused = true)]
async fn a_route_naming_its_room_by_alias_keeps_one_group_and_reminds_in_its_thread() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let mut pipeline = pipeline(dir.path(), chat.clone(), true);
    pipeline.routes[0].targets.insert(Platform::Slack, "#alerts:example.org".into());
    pipeline.routes[0].grouping.repeat_interval = Duration::from_secs(3600);
    spool_burst(&pipeline.spool, "db01", 2);
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    pipeline.drain().await.unwrap();
    let parent = chat.posts()[0].id.clone();

    pipeline.spool.write(notification("db01", "svc02", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(30)).await;
    pipeline.drain().await.unwrap();
    let posts = chat.posts();
    assert_eq!(posts.iter().filter(|posted| posted.thread.is_none()).count(), 1, "one group: {posts:#?}");
    assert_eq!(posts.last().unwrap().thread.as_ref(), Some(&parent), "the later member joined it");
    assert!(pipeline.spool.pending().unwrap().is_empty());

    tokio::time::advance(Duration::from_secs(3600)).await;
    pipeline.drain().await.unwrap();
    let reminders: Vec<Posted> =
        chat.posts().into_iter().filter(|posted| posted.text.starts_with("Reminder:")).collect();
    assert_eq!(reminders.len(), 3, "one per open member: {reminders:#?}");
    assert!(reminders.iter().all(|reminder| reminder.thread.as_ref() == Some(&parent)));
}

#[tokio::test(start_paused = true)]
async fn a_route_without_grouping_posts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = ungrouped(dir.path());
    spool_burst(&pipeline.spool, "db01", 2);
    pipeline.drain().await.unwrap();
    assert_eq!(all_text(&chat), "PROBLEM db01!svc00 is CRITICAL\nPROBLEM db01!svc01 is CRITICAL");
}

#[tokio::test(start_paused = true)]
async fn a_recovery_spooled_just_before_its_problem_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = ungrouped(dir.path());
    // Nagios ran both notification commands side by side; the RECOVERY's reached the spool first.
    pipeline.spool.write(notification("web01", "HTTP", NotificationType::Recovery, State::Ok)).unwrap();
    pipeline.spool.write(notification("web01", "HTTP", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    pipeline.drain().await.unwrap();
    let posts = chat.posts();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!((posts[0].text.as_str(), posts[0].thread.as_deref()), ("PROBLEM web01!HTTP is CRITICAL", None));
    assert_eq!(posts[1].thread.as_deref(), Some(posts[0].id.as_str()), "the recovery is in the problem's thread");
    assert!(pipeline.spool.pending().unwrap().is_empty());
}

/// A pipeline whose delivery of a new group of `services` problems of db01 dies after `posts`
/// posts: the last post goes through, its answer is lost.
async fn dying_group_delivery(dir: &std::path::Path, chat: &Arc<Recorder>, services: usize, posts: usize) -> Pipeline {
    let pipeline = pipeline(dir, chat.clone(), true);
    spool_burst(&pipeline.spool, "db01", services);
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    chat.die_after(posts);
    assert!(pipeline.drain().await.is_err(), "the delivery died");
    pipeline
}

#[tokio::test(start_paused = true)]
async fn a_crash_inside_a_group_delivery_neither_loses_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    // The process dies after the group message and the first of two member replies went out.
    let first = dying_group_delivery(dir.path(), &chat, 450, 1).await;
    assert_eq!(first.spool.pending().unwrap().len(), 450, "nothing left the spool");

    // Meanwhile another alert arrives; the restarted process finishes the first try as it was.
    first.spool.write(notification("db01", "late", NotificationType::Problem, State::Critical)).unwrap();
    *chat.posts_before_dying.lock().unwrap() = None;
    let restarted = pipeline(dir.path(), chat.clone(), true);
    restarted.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    restarted.drain().await.unwrap();
    restarted.drain().await.unwrap();
    assert!(restarted.spool.pending().unwrap().is_empty());

    let posts = chat.posts();
    assert_eq!(posts.iter().filter(|posted| posted.thread.is_none()).count(), 1, "{posts:#?}");
    let text = all_text(&chat);
    for n in 0..450 {
        assert_eq!(text.matches(&format!("db01!svc{n:02} PROBLEM")).count(), 1, "svc{n:02} exactly once");
    }
    assert_eq!(text.matches("db01!late PROBLEM").count(), 1);
}

/// A new group's message is in chat before its members are recorded; the delivery here fails on
/// the member list (a 429, say) after posting it. A command typed in the thread waits until the
/// retry commits the group, then finds its members in the store.
#[tokio::test(start_paused = true)]
async fn a_command_in_a_new_group_thread_waits_until_a_retried_delivery_records_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = dying_group_delivery(dir.path(), &chat, 2, 1).await;
    let posts = chat.posts();
    let thread = MessageRef { channel: "C0ALERTS".into(), id: posts[0].id.clone() };
    assert!(posts[0].text.starts_with("2 services on db01 CRITICAL"), "{posts:#?}");
    assert_eq!(pipeline.store.open_members_of_group(&thread).await.unwrap(), None, "not recorded yet");

    let command = pipeline.unrecorded.command_in(&thread).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    *chat.posts_before_dying.lock().unwrap() = None;
    pipeline.drain().await.unwrap();
    assert_eq!(command.await.unwrap(), Duration::from_secs(2), "answered once the retry committed");
    let members = pipeline.store.open_members_of_group(&thread).await.unwrap().expect("the group is recorded");
    assert_eq!(members.len(), 2, "{members:?}");
    assert_eq!(chat.posts().iter().filter(|posted| posted.thread.is_none()).count(), 1, "posted once");
}

/// A person sees a new incident's message before chat's answer to the post reaches hagios and
/// types in its thread: the command waits until the incident is committed.
#[tokio::test(start_paused = true)]
async fn a_command_in_a_new_incident_thread_waits_until_its_delivery_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = ungrouped(dir.path());
    pipeline.spool.write(notification("web01", "HTTP", NotificationType::Problem, State::Critical)).unwrap();
    *chat.answer_after.lock().unwrap() = Duration::from_secs(2);
    let typed = async {
        while chat.posts().is_empty() {
            tokio::task::yield_now().await;
        }
        let thread = MessageRef { channel: "C0ALERTS".into(), id: chat.posts()[0].id.clone() };
        let recorded_then = pipeline.store.incident_by_message(&thread).await.unwrap();
        let command = pipeline.unrecorded.command_in(&thread).await;
        (thread, recorded_then, command.await.unwrap())
    };
    let (delivered, (thread, recorded_then, waited)) = tokio::join!(pipeline.drain(), typed);
    delivered.unwrap();
    assert_eq!(recorded_then, None, "typed before the commit");
    assert_eq!(waited, Duration::from_secs(2), "answered once the incident was committed");
    let incident = pipeline.store.incident_by_message(&thread).await.unwrap().expect("the incident is recorded");
    assert_eq!(incident.object, ObjectRef::service("web01", "HTTP"));
}

/// A monitor that only knows the topology core01 ← sw01 ← db01 (parents to the left).
struct Topology;

#[async_trait]
impl hagios_monitor::Monitor for Topology {
    fn site(&self) -> &str {
        "local"
    }

    async fn snapshot(&self) -> Result<Arc<hagios_domain::Snapshot>, hagios_monitor::MonitorError> {
        let mut inventory = hagios_domain::Inventory::default();
        for (host, parents) in [("core01", vec![]), ("sw01", vec!["core01"]), ("db01", vec!["sw01"])] {
            let parents = parents.into_iter().map(String::from).collect();
            inventory.hosts.insert(host.into(), hagios_domain::HostObject { parents, ..Default::default() });
        }
        Ok(Arc::new(hagios_domain::Snapshot { inventory: Arc::new(inventory), ..Default::default() }))
    }

    async fn execute_with(
        &self,
        _: &hagios_domain::Action,
        _: &str,
        _: hagios_monitor::Steps<'_>,
    ) -> Result<hagios_domain::Outcome, hagios_monitor::MonitorError> {
        unreachable!("the pipeline never acts on the monitor")
    }
}

fn folding_pipeline(dir: &std::path::Path, chat: Arc<Recorder>, group_by: Vec<GroupLabel>) -> Pipeline {
    let mut pipeline = pipeline(dir, chat, true);
    pipeline.routes[0].grouping.group_by = group_by;
    pipeline.groups = Groups::with_topology(Arc::new(Topology));
    pipeline
}

fn host_notification(host: &str, kind: NotificationType, state: State) -> Notification {
    Notification { object: ObjectRef::host(host), ..notification(host, "", kind, state) }
}

fn parents(chat: &Recorder) -> Vec<Posted> {
    chat.posts().into_iter().filter(|posted| posted.thread.is_none()).collect()
}

/// Lets `group_wait` pass and returns the one group message that went out.
async fn only_group_message_after_group_wait(pipeline: &Pipeline, chat: &Recorder) -> String {
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    pipeline.drain().await.unwrap();
    let parents = parents(chat);
    assert_eq!(parents.len(), 1, "{:#?}", chat.posts());
    parents[0].text.clone()
}

#[tokio::test(start_paused = true)]
async fn the_services_of_a_down_host_fold_into_the_host_message() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    // Grouped per service, each CRITICAL would be a message of its own; the host's DOWN folds
    // the ones before it and the ones after it.
    let pipeline =
        folding_pipeline(dir.path(), chat.clone(), vec![GroupLabel::Site, GroupLabel::Host, GroupLabel::Service]);
    spool_burst(&pipeline.spool, "db01", 10);
    pipeline.drain().await.unwrap();
    pipeline.spool.write(host_notification("db01", NotificationType::Problem, State::Down)).unwrap();
    pipeline.drain().await.unwrap();
    for n in 10..20 {
        let service = format!("svc{n:02}");
        pipeline.spool.write(notification("db01", &service, NotificationType::Problem, State::Critical)).unwrap();
    }
    let message = &only_group_message_after_group_wait(&pipeline, &chat).await;
    assert!(message.starts_with("db01 DOWN; folded behind it: 20 services\n"), "{message}");
    assert!(
        message.contains("• db01 DOWN (+20 alerts folded behind it)") && !message.contains("db01!svc"),
        "{message}"
    );
    let thread = all_text(&chat);
    for n in 0..20 {
        assert_eq!(thread.matches(&format!("db01!svc{n:02} PROBLEM CRITICAL")).count(), 1, "svc{n:02} in the thread");
    }
    assert!(pipeline.spool.pending().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_host_behind_a_down_parent_folds_under_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = folding_pipeline(dir.path(), chat.clone(), vec![GroupLabel::Site, GroupLabel::Host]);
    // sw01's UNREACHABLE arrives before its parent's DOWN, db01's (behind sw01) after it.
    let spool = &pipeline.spool;
    spool.write(host_notification("sw01", NotificationType::Problem, State::Unreachable)).unwrap();
    pipeline.drain().await.unwrap();
    spool.write(host_notification("core01", NotificationType::Problem, State::Down)).unwrap();
    pipeline.drain().await.unwrap();
    spool.write(host_notification("db01", NotificationType::Problem, State::Unreachable)).unwrap();
    spool.write(notification("db01", "MySQL", NotificationType::Problem, State::Critical)).unwrap();
    let message = &only_group_message_after_group_wait(&pipeline, &chat).await;
    assert!(message.starts_with("core01 DOWN; folded behind it: 2 hosts, 1 service\n"), "{message}");
    assert!(message.contains("• core01 DOWN (+3 alerts folded behind it)"), "{message}");
    let thread = all_text(&chat);
    assert!(thread.contains("• sw01 PROBLEM UNREACHABLE") && thread.contains("• db01 PROBLEM UNREACHABLE"), "{thread}");
}

#[tokio::test(start_paused = true)]
async fn a_service_still_critical_after_its_host_recovers_is_shown_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = folding_pipeline(dir.path(), chat.clone(), vec![GroupLabel::Site, GroupLabel::Host]);
    pipeline.spool.write(host_notification("db01", NotificationType::Problem, State::Down)).unwrap();
    spool_burst(&pipeline.spool, "db01", 3);
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    pipeline.drain().await.unwrap();
    assert!(parents(&chat)[0].text.starts_with("db01 DOWN; folded behind it: 3 services\n"));

    pipeline.spool.write(host_notification("db01", NotificationType::Recovery, State::Up)).unwrap();
    for service in ["svc00", "svc01"] {
        pipeline.spool.write(notification("db01", service, NotificationType::Recovery, State::Ok)).unwrap();
    }
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(30)).await;
    pipeline.drain().await.unwrap();

    let posts = chat.posts();
    let reply = &posts.last().unwrap().text;
    assert!(reply.contains("• db01 RECOVERY UP"), "{reply}");
    assert!(reply.contains("• db01!svc02 still CRITICAL, no longer folded: db01 is not down any more"), "{reply}");
    assert!(!reply.contains("svc00 still") && !reply.contains("svc01 still"), "recovered members stay quiet");
    let edit = chat.edits.lock().unwrap().last().unwrap().1.clone();
    assert!(edit.starts_with("1 service on db01 CRITICAL\n") && edit.contains("• db01!svc02 CRITICAL"), "{edit}");
}

#[tokio::test(start_paused = true)]
async fn a_crash_inside_a_folded_group_delivery_neither_loses_nor_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let per_service = vec![GroupLabel::Site, GroupLabel::Host, GroupLabel::Service];
    let first = folding_pipeline(dir.path(), chat.clone(), per_service.clone());
    // 200 services fail, then the host is found DOWN, then 250 more services.
    let service = |n: usize| format!("svc{n:03}");
    for n in 0..450 {
        if n == 200 {
            first.spool.write(host_notification("db01", NotificationType::Problem, State::Down)).unwrap();
        }
        first.spool.write(notification("db01", &service(n), NotificationType::Problem, State::Critical)).unwrap();
    }
    first.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    // Dies after the group message and the first of two member replies went out.
    chat.die_after(1);
    assert!(first.drain().await.is_err());
    assert_eq!(first.spool.pending().unwrap().len(), 451, "nothing left the spool");

    *chat.posts_before_dying.lock().unwrap() = None;
    let restarted = folding_pipeline(dir.path(), chat.clone(), per_service);
    restarted.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    restarted.drain().await.unwrap();
    assert!(restarted.spool.pending().unwrap().is_empty());

    let parents = parents(&chat);
    assert_eq!(parents.len(), 1, "{parents:#?}");
    assert!(parents[0].text.starts_with("db01 DOWN; folded behind it: 450 services\n"), "{}", parents[0].text);
    let text = all_text(&chat);
    assert_eq!(text.matches("• db01 PROBLEM DOWN").count(), 1);
    for n in 0..450 {
        assert_eq!(text.matches(&format!("db01!{} PROBLEM", service(n))).count(), 1, "{} exactly once", service(n));
    }
}

#[tokio::test(start_paused = true)]
async fn an_incident_keeps_the_route_it_came_by_delivered_alone_or_in_a_group() {
    for grouping in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut pipeline = pipeline(dir.path(), Arc::new(Recorder::default()), grouping);
        let by_hostgroup =
            RouteConfig { name: Some("db-servers".into()), hostgroups: vec!["db-servers".into()], ..route(grouping) };
        pipeline.routes.insert(0, by_hostgroup);
        let in_group = Notification {
            hostgroups: vec!["db-servers".into()],
            ..notification("db01", "disk", NotificationType::Problem, State::Critical)
        };
        pipeline.spool.write(in_group).unwrap();
        pipeline.spool.write(notification("db02", "disk", NotificationType::Problem, State::Critical)).unwrap();
        pipeline.drain().await.unwrap();
        tokio::time::advance(Duration::from_secs(10)).await;
        pipeline.drain().await.unwrap();
        let told = pipeline.store.stories_everywhere_since(0).await.unwrap();
        let routes: Vec<(String, Option<&str>)> =
            told.iter().map(|told| (told.story.incident.object.to_string(), told.route.as_deref())).collect();
        assert_eq!(
            routes,
            [("db01!disk".to_owned(), Some("db-servers")), ("db02!disk".to_owned(), Some("everything"))],
            "grouping = {grouping}"
        );
    }
}
