//! Handovers on a paused clock: at the weekly handoff (Monday 09:00 UTC) the schedule's channel
//! gets one summary of the shift that ended, not repeated by a later pass or a restart; a handoff
//! missed while hagios was down is summed up once when it is back, marked late (not for a
//! schedule it never watched before); an override is a handoff too; a calendar feed that cannot
//! be read is told once; an incident told on two platforms is summed up once, with what either
//! of them heard.
use super::escalate_tests::{advance_and_drain, paging};
use super::group_tests::{notification, Recorder};
use hagios_domain::{NotificationType, State};
use std::sync::Arc;
use std::time::Duration;

/// Seconds from the test notifications' time (Tuesday 2023-11-14 22:13:20 UTC) to the next
/// handoff, Monday 2023-11-20 09:00 UTC.
const TO_HANDOFF: i64 = 470_800;

fn handovers(chat: &Recorder) -> Vec<String> {
    chat.posts().into_iter().filter(|posted| posted.key.starts_with("handover:")).map(|posted| posted.text).collect()
}

/// alice acknowledges db01!disk five minutes after its problem.
fn alices_acknowledgement() -> hagios_domain::Notification {
    hagios_domain::Notification {
        author: Some("alice".into()),
        time: 1_700_000_300,
        ..notification("db01", "disk", NotificationType::Acknowledgement, State::Critical)
    }
}

#[tokio::test(start_paused = true)]
async fn the_shift_that_ends_is_summed_up_once_at_the_handoff() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = paging(dir.path(), chat.clone(), false, TO_HANDOFF - 120);
    let problem = notification("db01", "disk", NotificationType::Problem, State::Critical);
    pipeline.spool.write(problem).unwrap();
    pipeline.drain().await.unwrap();
    assert!(handovers(&chat).is_empty(), "no handoff yet");

    tokio::time::advance(Duration::from_secs(180)).await;
    pipeline.drain().await.unwrap();
    let posted = handovers(&chat);
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert_eq!(
        posted[0],
        "handover in db: alice → bob at 2023-11-20 09:00 UTC\n\
         open now: db01!disk CRITICAL (not acknowledged)\n\
         alice's shift since 2023-11-13 09:00: 1 new, 0 acknowledged, 0 recovered, 1 still open"
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    pipeline.drain().await.unwrap();
    drop(pipeline);
    let restarted = paging(dir.path(), chat.clone(), false, TO_HANDOFF + 300);
    restarted.drain().await.unwrap();
    assert_eq!(handovers(&chat).len(), 1, "neither a later pass nor a restart repeats it");
}

#[tokio::test(start_paused = true)]
async fn a_calendar_that_cannot_be_read_is_told_once_per_failure() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = paging(dir.path(), chat.clone(), false, 0);
    let notices = |chat: &Recorder| chat.posts().into_iter().filter(|p| p.key.starts_with("feed:")).count();
    pipeline.oncall.feed_failed("db", "primary", Some((1_700_000_000, "HTTP 500".into())));
    pipeline.drain().await.unwrap();
    let posted = chat.posts();
    let notice = posted.iter().find(|posted| posted.key.starts_with("feed:")).unwrap();
    assert!(
        notice.text.starts_with(
            "the calendar of layer primary of schedule db cannot be read since 2023-11-14 22:13: HTTP 500. Its last \
             good shifts stay in force"
        ),
        "{}",
        notice.text
    );
    pipeline.oncall.feed_failed("db", "primary", Some((1_700_000_060, "timed out".into())));
    pipeline.drain().await.unwrap();
    assert_eq!(notices(&chat), 1, "the same failure goes on: told once");
    pipeline.oncall.feed_failed("db", "primary", None);
    pipeline.oncall.feed_failed("db", "primary", Some((1_700_000_600, "HTTP 404".into())));
    pipeline.drain().await.unwrap();
    assert_eq!(notices(&chat), 2, "a new failure after a good read is told again");
}

#[tokio::test(start_paused = true)]
async fn an_acknowledged_incident_is_held_by_whoever_acknowledged_it() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let pipeline = paging(dir.path(), chat.clone(), false, TO_HANDOFF - 120);
    pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    pipeline.drain().await.unwrap();
    pipeline.spool.write(alices_acknowledgement()).unwrap();
    pipeline.drain().await.unwrap();
    tokio::time::advance(Duration::from_secs(180)).await;
    pipeline.drain().await.unwrap();
    let posted = handovers(&chat);
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert!(posted[0].contains("open now: db01!disk CRITICAL (acknowledged by alice)"), "{}", posted[0]);
    assert!(posted[0].contains("1 new, 1 acknowledged, 0 recovered, 1 still open"), "{}", posted[0]);
    assert!(posted[0].ends_with("time to acknowledge: db01!disk 5m"), "{}", posted[0]);
}

#[tokio::test(start_paused = true)]
async fn an_incident_told_on_two_platforms_counts_once_and_an_acknowledgement_either_heard_holds_it() {
    let (dir, other) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let chat = Arc::new(Recorder::default());
    let slack = paging(dir.path(), chat.clone(), false, TO_HANDOFF - 120);
    let mut matrix = paging(other.path(), Arc::new(Recorder::default()), false, TO_HANDOFF - 120);
    matrix.store = slack.store.for_platform("matrix");
    for pipeline in [&slack, &matrix] {
        pipeline.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
        pipeline.drain().await.unwrap();
    }
    // Matrix has delivered alice's acknowledgement, Slack not yet; db02!disk was posted (and
    // paged) on Matrix only.
    matrix.spool.write(alices_acknowledgement()).unwrap();
    matrix.spool.write(notification("db02", "disk", NotificationType::Problem, State::Critical)).unwrap();
    matrix.drain().await.unwrap();

    tokio::time::advance(Duration::from_secs(180)).await;
    slack.drain().await.unwrap();
    assert_eq!(
        handovers(&chat),
        ["handover in db: alice → bob at 2023-11-20 09:00 UTC\n\
          open now: db01!disk CRITICAL (acknowledged by alice), db02!disk CRITICAL (not acknowledged)\n\
          alice's shift since 2023-11-13 09:00: 2 new, 1 acknowledged, 0 recovered, 2 still open\n\
          time to acknowledge: db01!disk 5m"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_handoff_missed_while_hagios_was_down_is_summed_up_once_when_it_is_back_marked_late() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let before = paging(dir.path(), chat.clone(), false, TO_HANDOFF - 120);
    before.spool.write(notification("db01", "disk", NotificationType::Problem, State::Critical)).unwrap();
    let ack = hagios_domain::Notification {
        author: Some("alice".into()),
        ..notification("db01", "disk", NotificationType::Acknowledgement, State::Critical)
    };
    before.spool.write(ack).unwrap();
    before.drain().await.unwrap();
    drop(before);

    // Down from two minutes before the handoff to two hours after it.
    let back = paging(dir.path(), chat.clone(), false, TO_HANDOFF + 2 * 3600);
    chat.die_after(0);
    assert!(back.drain().await.unwrap_err().retryable(), "posted, then the answer was lost (kill -9 there)");
    assert_eq!(handovers(&chat).len(), 1, "the summary was the post");
    *chat.posts_before_dying.lock().unwrap() = None;
    drop(back);
    let back = paging(dir.path(), chat.clone(), false, TO_HANDOFF + 2 * 3600 + 5);
    back.drain().await.unwrap();
    let posted = handovers(&chat);
    assert_eq!(posted.len(), 1, "once, neither skipped nor repeated: {posted:#?}");
    assert_eq!(
        posted[0],
        "handover in db: alice → bob at 2023-11-20 09:00 UTC — posted late, 2023-11-20 11:00: hagios was down or \
         could not reach chat at the handoff\n\
         open now: db01!disk CRITICAL (acknowledged by alice)\n\
         alice's shift since 2023-11-13 09:00: 1 new, 1 acknowledged, 0 recovered, 1 still open\n\
         time to acknowledge: db01!disk 0s"
    );
    advance_and_drain(&back, Duration::from_secs(600)).await;
    drop(back);
    let again = paging(dir.path(), chat.clone(), false, TO_HANDOFF + 3 * 3600);
    again.drain().await.unwrap();
    assert_eq!(handovers(&chat).len(), 1, "a later pass or restart does not repeat it");
}

#[tokio::test(start_paused = true)]
async fn a_schedule_new_to_hagios_gets_no_summary_of_an_old_handoff_and_a_recent_one_says_it_is_late() {
    let dir = tempfile::tempdir().unwrap();
    let chat = Arc::new(Recorder::default());
    let first = paging(dir.path(), chat.clone(), false, TO_HANDOFF + 2 * 3600);
    first.drain().await.unwrap();
    assert!(handovers(&chat).is_empty(), "hagios never watched db before that handoff");
    drop(first);

    let other = tempfile::tempdir().unwrap();
    let fresh = paging(other.path(), chat.clone(), false, TO_HANDOFF + 20 * 60);
    fresh.drain().await.unwrap();
    let posted = handovers(&chat);
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert!(
        posted[0].starts_with(
            "handover in db: alice → bob at 2023-11-20 09:00 UTC — posted late, 2023-11-20 09:20: hagios was down \
             or could not reach chat at the handoff\n"
        ),
        "{}",
        posted[0]
    );
}
