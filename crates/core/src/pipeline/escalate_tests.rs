//! Paging on a paused clock: a new incident on a route with a schedule pages the person on call
//! in its thread, the policy's later steps follow after their delays until an acknowledgement
//! (or a recovery) stops them; a snooze pauses them; an override takes effect at once; a group
//! is paged once; and neither a restart nor a crash between posting and recording repeats or
//! skips a step.

use super::group_tests::{notification, pipeline, Recorder};
use super::*;
use crate::config::Config;
use crate::oncall::Rota;
use hagios_domain::{NotificationType, ObjectRef, Snooze, State};
use hagios_store::Override;
use std::time::Duration;

/// The time of the test notifications (a Tuesday, 2023-11-14 22:13 UTC); the pipeline's clock
/// starts there and follows tokio's.
const T0: i64 = 1_700_000_000;
const MINUTE: Duration = Duration::from_secs(60);

const CONFIG: &str = "\
[[user]]\nchat_id = \"U0ALICE\"\nroles = []\nperson = \"alice\"\n\
[[user]]\nchat_id = \"U0BOB\"\nroles = []\nperson = \"bob\"\n\
[[user]]\nchat_id = \"U0CAROL\"\nroles = []\nperson = \"carol\"\n\
[[oncall]]\nname = \"db\"\ntimezone = \"UTC\"\nchannel = \"C0ONCALL\"\n\
[[oncall.layer]]\nname = \"primary\"\npeople = [\"alice\", \"bob\"]\nstart = \"2023-11-13 09:00\"\nlength = \"1w\"\n\
[[escalation]]\nname = \"db\"\n\
[[escalation.step]]\nnotify = \"oncall\"\n\
[[escalation.step]]\nafter = \"5m\"\nnotify = \"person:bob\"\n\
[[escalation.step]]\nafter = \"15m\"\nnotify = \"channel\"\n\
[[escalation]]\nname = \"again\"\nrepeat = 1\n\
[[escalation.step]]\nnotify = \"oncall\"\n\
[[escalation.step]]\nafter = \"5m\"\nnotify = \"person:bob\"\n";

/// A pipeline whose one route (to C0ALERTS) pages schedule `db` with policy `db`, on a clock
/// that starts `offset` seconds after [`T0`].
pub(super) fn paging(dir: &std::path::Path, chat: Arc<Recorder>, grouping: bool, offset: i64) -> Pipeline {
    let keys = format!("escalation = \"db\"\ngrouping = {grouping}\ngroup_wait = \"10s\"\n");
    paging_with(dir, chat, &keys, offset)
}

/// [`paging`] with the route's policy and grouping keys as `keys` writes them.
fn paging_with(dir: &std::path::Path, chat: Arc<Recorder>, keys: &str, offset: i64) -> Pipeline {
    let route = format!("[[route]]\nchannel = \"C0ALERTS\"\noncall = \"db\"\n{keys}");
    let config: Config = toml::from_str(&format!("{CONFIG}{route}")).unwrap();
    let start = tokio::time::Instant::now();
    let clock: hold::Clock = Arc::new(move || T0 + offset + start.elapsed().as_secs() as i64);
    Pipeline {
        routes: config.routes.clone(),
        holds: Holds { quiet_hours: Vec::new(), clock },
        oncall: Arc::new(Rota::new(&config)),
        ..pipeline(dir, chat, config.routes[0].grouping.enabled)
    }
}

/// The pages posted so far: (thread, text).
fn pages(chat: &Recorder) -> Vec<(Option<String>, String)> {
    chat.posts().into_iter().filter(|posted| posted.key.starts_with("page:")).map(|p| (p.thread, p.text)).collect()
}

pub(super) async fn advance_and_drain(pipeline: &Pipeline, by: Duration) {
    tokio::time::advance(by).await;
    pipeline.drain().await.unwrap();
}

/// A paging pipeline that has posted a CRITICAL problem of db01!disk.
async fn with_a_problem_posted(dir: &std::path::Path) -> (Arc<Recorder>, Pipeline) {
    let chat = Arc::new(Recorder::default());
    let pipeline = paging(dir, chat.clone(), false, 0);
    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    (chat, pipeline)
}

#[tokio::test(start_paused = true)]
async fn the_person_on_call_is_paged_at_once_and_the_next_steps_follow_until_an_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = with_a_problem_posted(dir.path()).await;
    let parent = chat.posts()[0].id.clone();
    let posted = pages(&chat);
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(posted[0].0.as_deref(), Some(parent.as_str()), "in the incident's thread");
    assert!(
        posted[0].1.starts_with("@U0ALICE db01!disk is CRITICAL — paging alice, on call in db (step 1 of 3)"),
        "{}",
        posted[0].1
    );

    advance_and_drain(&pipeline, 5 * MINUTE - Duration::from_secs(1)).await;
    assert_eq!(pages(&chat).len(), 1, "nothing before the step's delay");
    advance_and_drain(&pipeline, Duration::from_secs(1)).await;
    let posted = pages(&chat);
    assert_eq!(posted.len(), 2);
    assert!(
        posted[1].1.starts_with("@U0BOB db01!disk is CRITICAL, not acknowledged after 5m — escalating to bob"),
        "{}",
        posted[1].1
    );

    let ack = hagios_domain::Notification {
        author: Some("bob".into()),
        ..notification("db01", "disk", NotificationType::Acknowledgement, State::Critical)
    };
    pipeline.spool.write(ack).unwrap();
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, 20 * MINUTE).await;
    assert_eq!(pages(&chat).len(), 2, "acknowledged: the channel is not paged");
}

#[tokio::test(start_paused = true)]
async fn a_restart_or_a_crash_after_posting_neither_repeats_nor_skips_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, first) = with_a_problem_posted(dir.path()).await;
    tokio::time::advance(3 * MINUTE).await;
    drop(first);
    let second = paging(dir.path(), chat.clone(), false, 3 * 60);
    second.drain().await.unwrap();
    assert_eq!(pages(&chat).len(), 1, "step 1 is not repeated after the restart");

    chat.die_after(0);
    tokio::time::advance(2 * MINUTE).await;
    assert!(second.drain().await.unwrap_err().retryable(), "posted, then the answer was lost");
    *chat.posts_before_dying.lock().unwrap() = None;
    second.drain().await.unwrap();
    advance_and_drain(&second, Duration::from_secs(30)).await;
    let posted = pages(&chat);
    assert_eq!(posted.len(), 2, "step 2 once: {posted:#?}");
    assert!(posted[1].1.contains("escalating to bob"));
}

#[tokio::test(start_paused = true)]
async fn a_recovery_stops_paging_and_a_snooze_pauses_it_for_as_long_as_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = with_a_problem_posted(dir.path()).await;
    let now = T0 + 60;
    tokio::time::advance(MINUTE).await;
    let snooze = Snooze { object: ObjectRef::host("db01"), since: now, until: now + 10 * 60, author: "alice".into() };
    pipeline.store.put_snooze(snooze, now).await.unwrap();
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, 9 * MINUTE).await;
    assert_eq!(pages(&chat).len(), 1, "the snooze holds step 2 back");
    advance_and_drain(&pipeline, MINUTE).await;
    advance_and_drain(&pipeline, 3 * MINUTE).await;
    assert_eq!(pages(&chat).len(), 1, "its delay grew by the ten minutes the snooze held");
    advance_and_drain(&pipeline, MINUTE).await;
    assert_eq!(pages(&chat).len(), 2, "5m of paging plus 10m of snooze: {:#?}", pages(&chat));

    pipeline.spool.write(notification("db01", "disk", NotificationType::Recovery, State::Ok)).unwrap();
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, 30 * MINUTE).await;
    assert_eq!(pages(&chat).len(), 2, "recovered: no more steps");
}

#[tokio::test(start_paused = true)]
async fn an_override_from_chat_is_paged_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = paging(dir.path(), chat.clone(), false, 0);
    let take = Override {
        schedule: "db".into(),
        person: "carol".into(),
        starts_at: T0 - 60,
        ends_at: T0 + 3600,
        replaces: None,
        author: "carol".into(),
        created_at: T0 - 60,
    };
    pipeline.oncall.set_overrides(&[take]);
    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    let posted = pages(&chat);
    assert!(posted[0].1.starts_with("@U0CAROL db01!disk is CRITICAL — paging carol, on call in db"), "{posted:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_new_group_is_paged_once_in_its_thread() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = paging(dir.path(), chat.clone(), true, 0);
    for service in ["disk", "load", "swap", "mysql"] {
        pipeline.spool.write(notification("db01", service, NotificationType::Problem, State::Critical)).unwrap();
    }
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, Duration::from_secs(10)).await;
    let group = chat.posts()[0].id.clone();
    let posted = pages(&chat);
    assert_eq!(posted.len(), 1, "one page for the group: {posted:#?}");
    assert_eq!(posted[0].0.as_deref(), Some(group.as_str()));
    assert!(
        posted[0].1.contains("4 problems: db01!disk CRITICAL, db01!load CRITICAL, db01!swap CRITICAL, …"),
        "{}",
        posted[0].1
    );
}

#[tokio::test(start_paused = true)]
async fn escalate_pages_the_next_step_now_even_after_an_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = with_a_problem_posted(dir.path()).await;
    let ack = hagios_domain::Notification {
        author: Some("alice".into()),
        ..notification("db01", "disk", NotificationType::Acknowledgement, State::Critical)
    };
    pipeline.spool.write(ack).unwrap();
    advance_and_drain(&pipeline, MINUTE).await;
    let paged = pipeline.store.pages_of_object(&ObjectRef::service("db01", "disk")).await.unwrap();
    assert_eq!(paged[0].stopped_why.as_deref(), Some("acknowledged by alice"));
    pipeline.store.force_page_steps(paged[0].id, 2, "alice: need the DBA").await.unwrap();
    pipeline.drain().await.unwrap();
    let posted = pages(&chat);
    assert_eq!(posted.len(), 2);
    assert!(
        posted[1]
            .1
            .starts_with("@U0BOB escalated by alice: need the DBA — db01!disk is CRITICAL: paging bob (step 2 of 3)"),
        "{}",
        posted[1].1
    );
    advance_and_drain(&pipeline, 20 * MINUTE).await;
    assert_eq!(pages(&chat).len(), 2, "still acknowledged: the forced step only");
}

#[tokio::test(start_paused = true)]
async fn escalate_in_a_thread_never_paged_starts_its_routes_policy_at_the_first_step_now() {
    use crate::oncall::OnCallDesk;
    use hagios_commands::{Asker, Desk, DeskRequest};
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    // The incident opened while its route named no schedule.
    let mut before = pipeline(dir.path(), chat.clone(), false);
    before.store = before.store.for_platform("slack");
    before.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    before.drain().await.unwrap();
    let desk_over = |pipeline: &Pipeline| OnCallDesk {
        rota: pipeline.oncall.clone(),
        store: pipeline.store.clone(),
        platforms: vec!["slack".into()],
        timezone: jiff::tz::TimeZone::UTC,
        routes: pipeline.routes.iter().cloned().chain([pipeline.default_route.clone()]).collect(),
    };
    let escalate = DeskRequest::Escalate { objects: vec![ObjectRef::service("db01", "disk")], comment: "help".into() };
    let alice = Asker { user_id: "U0ALICE", user_name: "alice", now: T0 + 60 };

    // Still no schedule on its route: said so, with what to configure.
    let mut unscheduled = paging(dir.path(), chat.clone(), false, 60);
    unscheduled.store = unscheduled.store.for_platform("slack");
    unscheduled.routes = before.routes.clone();
    let refused = desk_over(&unscheduled).answer(&escalate, &alice).await.unwrap_err().0;
    assert!(refused.starts_with("this thread cannot be paged: its route names no schedule. Add `oncall"), "{refused}");

    // The route names one now: `escalate` pages its first step at once, the next after its delay.
    tokio::time::advance(MINUTE).await;
    let mut after = paging(dir.path(), chat.clone(), false, 60);
    after.store = after.store.for_platform("slack");
    after.drain().await.unwrap();
    assert!(pages(&chat).is_empty(), "no page for an incident opened before");
    let answer = desk_over(&after).answer(&escalate, &alice).await.unwrap().text;
    assert_eq!(answer, "escalating: paging starts: step 1 of 3 (db, schedule db) is paged now");
    after.drain().await.unwrap();
    let posted = pages(&chat);
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(posted[0].0.as_deref(), Some(chat.posts()[0].id.as_str()), "in the incident's thread");
    assert!(
        posted[0].1.starts_with(
            "@U0ALICE escalated by alice (help) — db01!disk is CRITICAL: paging alice, on call in db (step 1 of 3)"
        ),
        "{}",
        posted[0].1
    );
    advance_and_drain(&after, 5 * MINUTE).await;
    let posted = pages(&chat);
    assert_eq!(posted.len(), 2, "{posted:#?}");
    assert!(posted[1].1.contains("escalating to bob"), "{}", posted[1].1);
    let again = desk_over(&after).answer(&escalate, &alice).await.unwrap().text;
    assert_eq!(again, "escalating: step 3 of 3 (db) is paged now", "a paged thread goes on as before");
    after.drain().await.unwrap();
    let done = desk_over(&after).answer(&escalate, &alice).await.unwrap_err().0;
    assert!(
        done.starts_with("nothing more to page: every step of policy `db` was paged (3 of 3). Mention whom you need"),
        "{done}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_acknowledgement_held_for_the_groups_next_update_stops_paging_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    // The group's message is updated at most every 10m: longer than step 2's delay.
    let keys = "escalation = \"db\"\ngroup_wait = \"10s\"\ngroup_interval = \"10m\"\n";
    let pipeline = paging_with(dir.path(), chat.clone(), keys, 0);
    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, Duration::from_secs(10)).await;
    assert_eq!(pages(&chat).len(), 1, "alice paged in the group's thread");

    let ack = hagios_domain::Notification {
        author: Some("alice".into()),
        ..notification("db01", "disk", NotificationType::Acknowledgement, State::Critical)
    };
    pipeline.spool.write(ack).unwrap();
    advance_and_drain(&pipeline, MINUTE).await;
    let page = &pipeline.store.pages_of_object(&ObjectRef::service("db01", "disk")).await.unwrap()[0];
    assert_eq!(page.stopped_why.as_deref(), Some("acknowledged by alice"), "before the group's message shows it");
    advance_and_drain(&pipeline, 5 * MINUTE).await;
    assert_eq!(pages(&chat).len(), 1, "bob is not paged: {:#?}", pages(&chat));
}

#[tokio::test(start_paused = true)]
async fn a_repeated_policy_starts_again_after_its_last_step_and_stops_after_its_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = paging_with(dir.path(), chat.clone(), "escalation = \"again\"\ngrouping = false\n", 0);
    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, 5 * MINUTE).await;
    advance_and_drain(&pipeline, 10 * MINUTE - Duration::from_secs(1)).await;
    assert_eq!(pages(&chat).len(), 2, "round 1; round 2 is due 10m after its last step");
    advance_and_drain(&pipeline, Duration::from_secs(1)).await;
    let posted = pages(&chat);
    assert_eq!(posted.len(), 3, "{posted:#?}");
    assert!(posted[0].1.contains("(step 1 of 2, round 1 of 2)"), "{}", posted[0].1);
    assert!(
        posted[2].1.starts_with(
            "@U0ALICE db01!disk is CRITICAL, not acknowledged after 15m — escalating to alice, on call in db (step 1 \
             of 2, round 2 of 2)"
        ),
        "{}",
        posted[2].1
    );
    advance_and_drain(&pipeline, 5 * MINUTE).await;
    assert!(pages(&chat)[3].1.contains("escalating to bob (step 2 of 2, round 2 of 2)"));
    advance_and_drain(&pipeline, 60 * MINUTE).await;
    assert_eq!(pages(&chat).len(), 4, "two rounds, then no more");
}
