//! Reminders (`repeat_interval`) on a paused clock: an unacknowledged problem is brought up once
//! per interval, an acknowledgement or a recovery stops that (one held for its group's next
//! update too), and neither a restart nor a crash between posting and recording repeats or skips
//! a reminder.

use super::group_tests::{notification, pipeline, route, Recorder};
use super::*;
use crate::config::{Grouping, RouteConfig};
use hagios_domain::{NotificationType, State};
use std::time::Duration;

/// The time of the test notifications; the pipeline's clock starts there and follows tokio's.
const T0: i64 = 1_700_000_000;
const HOUR: Duration = Duration::from_secs(3600);

fn reminding(dir: &std::path::Path, chat: Arc<Recorder>, grouping: bool) -> Pipeline {
    let start = tokio::time::Instant::now();
    let clock: hold::Clock = Arc::new(move || T0 + start.elapsed().as_secs() as i64);
    Pipeline {
        routes: vec![RouteConfig {
            grouping: Grouping { repeat_interval: HOUR, ..route(grouping).grouping },
            ..route(grouping)
        }],
        holds: Holds { quiet_hours: Vec::new(), clock },
        ..pipeline(dir, chat, grouping)
    }
}

fn reminders(chat: &Recorder) -> Vec<(Option<String>, String)> {
    chat.posts().into_iter().filter(|posted| posted.text.starts_with("Reminder")).map(|p| (p.thread, p.text)).collect()
}

/// A reminding pipeline on a route without grouping that has posted a CRITICAL problem.
async fn with_a_problem_posted(dir: &std::path::Path) -> (Arc<Recorder>, Pipeline) {
    let chat = Arc::new(Recorder::default());
    let pipeline = reminding(dir, chat.clone(), false);
    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    (chat, pipeline)
}

async fn advance_and_drain(pipeline: &Pipeline, by: Duration) {
    tokio::time::advance(by).await;
    pipeline.drain().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_unacknowledged_problem_is_reminded_of_each_interval_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = with_a_problem_posted(dir.path()).await;
    let parent = chat.posts()[0].id.clone();

    advance_and_drain(&pipeline, HOUR - Duration::from_secs(1)).await;
    assert!(reminders(&chat).is_empty(), "nothing before repeat_interval");
    advance_and_drain(&pipeline, Duration::from_secs(1)).await;
    advance_and_drain(&pipeline, HOUR + Duration::from_secs(600)).await;
    let posted = reminders(&chat);
    assert_eq!(posted.len(), 2, "{posted:#?}");
    assert_eq!(posted[0].0.as_deref(), Some(parent.as_str()), "in the incident's thread");
    assert!(posted[0].1.contains("db01!disk still CRITICAL after 1h 0m, not acknowledged"), "{}", posted[0].1);
    assert!(posted[1].1.contains("after 2h 10m"), "{}", posted[1].1);

    let ack = hagios_domain::Notification {
        author: Some("alice".into()),
        ..notification("db01", "disk", NotificationType::Acknowledgement, State::Critical)
    };
    pipeline.spool.write(ack).unwrap();
    pipeline.drain().await.unwrap();
    for _ in 0..3 {
        advance_and_drain(&pipeline, HOUR).await;
    }
    assert_eq!(reminders(&chat).len(), 2, "acknowledged: no more reminders");

    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Warning)).unwrap();
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, HOUR).await;
    assert_eq!(reminders(&chat).len(), 3, "a state change dropped the acknowledgement");
}

#[tokio::test(start_paused = true)]
async fn a_recovered_problem_is_not_reminded_of() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, pipeline) = with_a_problem_posted(dir.path()).await;
    advance_and_drain(&pipeline, HOUR / 2).await;
    pipeline.spool.write(notification("db01", "disk", NotificationType::Recovery, State::Ok)).unwrap();
    for _ in 0..3 {
        advance_and_drain(&pipeline, HOUR).await;
    }
    assert!(reminders(&chat).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_restart_or_a_crash_after_posting_neither_repeats_nor_skips_a_reminder() {
    let dir = tempfile::tempdir().unwrap();
    let (chat, first) = with_a_problem_posted(dir.path()).await;
    advance_and_drain(&first, HOUR).await;
    assert_eq!(reminders(&chat).len(), 1);

    // Restarted half an interval later, on a clock that carried on.
    tokio::time::advance(HOUR / 2).await;
    drop(first);
    let start = tokio::time::Instant::now();
    let clock: hold::Clock = Arc::new(move || T0 + 3 * 1800 + start.elapsed().as_secs() as i64);
    let second =
        Pipeline { holds: Holds { quiet_hours: Vec::new(), clock }, ..reminding(dir.path(), chat.clone(), false) };
    second.drain().await.unwrap();
    assert_eq!(reminders(&chat).len(), 1, "not repeated after the restart");

    chat.die_after(0);
    tokio::time::advance(HOUR / 2).await;
    assert!(second.drain().await.unwrap_err().retryable(), "posted, then the answer was lost");
    *chat.posts_before_dying.lock().unwrap() = None;
    second.drain().await.unwrap();
    advance_and_drain(&second, Duration::from_secs(60)).await;
    let posted = reminders(&chat);
    assert_eq!(posted.len(), 2, "the second reminder once: {posted:#?}");
}

#[tokio::test(start_paused = true)]
async fn grouped_problems_are_reminded_of_in_the_group_thread() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = reminding(dir.path(), chat.clone(), true);
    for service in ["disk", "load"] {
        pipeline.spool.write(notification("db01", service, NotificationType::Problem, State::Critical)).unwrap();
    }
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, Duration::from_secs(10)).await;
    let group = chat.posts()[0].id.clone();
    advance_and_drain(&pipeline, HOUR).await;
    let posted = reminders(&chat);
    assert_eq!(posted.len(), 2, "one per unacknowledged member: {posted:#?}");
    assert!(posted.iter().all(|(thread, _)| thread.as_deref() == Some(group.as_str())));
}

#[tokio::test(start_paused = true)]
async fn an_acknowledgement_held_for_the_groups_next_update_stops_a_reminder_due_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let mut pipeline = reminding(dir.path(), chat.clone(), true);
    pipeline.routes[0].grouping.group_interval = Duration::from_secs(600);
    let disk_reminders =
        |chat: &Recorder| reminders(chat).into_iter().filter(|(_, text)| text.contains("disk")).count();
    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    advance_and_drain(&pipeline, Duration::from_secs(10)).await;
    // db01!load joins the group 55 minutes in: its message is not updated again for 10 minutes.
    advance_and_drain(&pipeline, Duration::from_secs(55 * 60)).await;
    pipeline.spool.write(notification("db01", "load", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();

    let ack = hagios_domain::Notification {
        author: Some("alice".into()),
        ..notification("db01", "disk", NotificationType::Acknowledgement, State::Critical)
    };
    pipeline.spool.write(ack).unwrap();
    advance_and_drain(&pipeline, Duration::from_secs(60)).await;
    assert!(pipeline.groups.newest_held("local", &hagios_domain::ObjectRef::service("db01", "disk")).is_some());
    advance_and_drain(&pipeline, Duration::from_secs(5 * 60)).await;
    assert_eq!(disk_reminders(&chat), 0, "acknowledged, though the group's message does not show it yet");
    for _ in 0..3 {
        advance_and_drain(&pipeline, HOUR).await;
    }
    assert_eq!(disk_reminders(&chat), 0, "the acknowledgement in the thread keeps it so");
    assert!(reminders(&chat).iter().any(|(_, text)| text.contains("db01!load")), "db01!load is not acknowledged");
}
