//! Hold stage: keeps notifications covered by a `[[quiet_hours]]` window or a chat `snooze` in the
//! spool (durable, like everything not yet delivered) until the hold ends, then lets them on,
//! marked released. Whether a notification is held depends on its own time, not on when it is
//! looked at, so the decision is the same after a restart. What a released notification still
//! matters for is the order stage's question (`order.rs`).

use super::stage::{Decision, Record, Stage, Verdict};
use super::{Pass, Pipeline};
use crate::config::{QuietHours, RouteConfig};
use async_trait::async_trait;
use hagios_domain::Notification;
use std::sync::Arc;

/// Seconds since the epoch; injected so that tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The configured quiet-hours windows and the clock holds are measured with.
#[derive(Clone)]
pub struct Holds {
    pub quiet_hours: Vec<QuietHours>,
    pub clock: Clock,
}

impl Holds {
    pub fn new(quiet_hours: Vec<QuietHours>) -> Self {
        Holds { quiet_hours, clock: Arc::new(hagios_domain::unix_now) }
    }
}

/// Where one notification stands against the holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// No hold covers it.
    Deliver,
    /// Stays in the spool; looked at again on the next pass.
    Hold,
    /// Its hold ended.
    Released,
}

pub struct Hold;

#[async_trait]
impl Stage for Hold {
    async fn run<'p>(&self, pipeline: &'p Pipeline, pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        let route = record.route.map(|(route, _)| route);
        Ok(match gate(&pipeline.holds, pass, &record.notification, route) {
            Gate::Deliver => Verdict::Continue,
            Gate::Hold => Verdict::Hold,
            Gate::Released => {
                record.released = true;
                Verdict::Continue
            }
        })
    }
}

/// Whether `notification` (which took `route`) is held now, was held and is due, or was never
/// held. Needs no store lookup: held records cost one spool read per pass.
pub fn gate(holds: &Holds, pass: &Pass<'_>, notification: &Notification, route: Option<&RouteConfig>) -> Gate {
    match held_until(holds, pass, notification, route) {
        None => Gate::Deliver,
        Some((until, hold)) if until > pass.now => {
            tracing::debug!(notification = %notification.id, object = %notification.object, until, %hold, "held");
            Gate::Hold
        }
        Some((_, hold)) => {
            tracing::info!(notification = %notification.id, object = %notification.object, %hold, "hold ended");
            Gate::Released
        }
    }
}

/// When the hold covering `notification` ends and what it is, if one covers it; the latest end
/// when several do.
fn held_until(
    holds: &Holds,
    pass: &Pass<'_>,
    notification: &Notification,
    route: Option<&RouteConfig>,
) -> Option<(i64, String)> {
    let time = notification.time;
    let windows = holds
        .quiet_hours
        .iter()
        .filter(|quiet| quiet.matches(notification, route))
        .filter_map(|quiet| quiet.end_of_window_at(time).map(|end| (end, format!("quiet hours `{}`", quiet.name))));
    let snoozes = pass
        .snoozes
        .iter()
        .filter(|snooze| snooze.covers(&notification.object, time))
        .map(|snooze| (snooze.until, format!("snooze of {} by {}", snooze.object, snooze.author)));
    windows.chain(snoozes).max_by_key(|(end, _)| *end)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::pipeline::slack_tests::notification_for;
    use hagios_domain::{NotificationType, ObjectRef, Snooze, State};
    use hagios_spool::{RecordId, Spool};

    /// 2023-11-14 22:13:20 UTC, a Tuesday.
    pub const T: i64 = 1_700_000_000;

    pub fn notification(kind: NotificationType, host: &str, time: i64) -> Notification {
        let state = if kind == NotificationType::Recovery { State::Ok } else { State::Critical };
        Notification { time, ..notification_for(host, kind, state) }
    }

    pub fn holds_at(now: i64, window: &str) -> Holds {
        let quiet_hours = if window.is_empty() {
            Vec::new()
        } else {
            vec![toml::from_str::<QuietHours>(window).expect("valid window")]
        };
        Holds { quiet_hours, clock: Arc::new(move || now) }
    }

    pub fn spooled(spool: &Spool, notifications: &[Notification]) -> Vec<RecordId> {
        notifications.iter().map(|n| spool.write(n.clone()).expect("spooled")).collect()
    }

    #[test]
    fn a_quiet_hours_window_holds_until_its_end_then_releases() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        // 22:00-23:00 UTC; T is 22:13:20.
        let window = "name = \"n\"\ntimes = [\"22:00-23:00\"]\ntimezone = \"UTC\"\n";
        let problem = notification(NotificationType::Problem, "web01", T);
        let pending = spooled(&spool, std::slice::from_ref(&problem));
        let (inside, after) = (holds_at(T + 60, window), holds_at(T + 2800, window));
        let gate_at = |holds: &Holds, notification: &Notification| {
            gate(holds, &Pass::new(&holds.clock, Vec::new(), &spool, &pending), notification, None)
        };
        assert_eq!(gate_at(&inside, &problem), Gate::Hold);
        assert_eq!(gate_at(&after, &problem), Gate::Released);
        let earlier = notification(NotificationType::Problem, "web01", T - 1000);
        assert_eq!(gate_at(&inside, &earlier), Gate::Deliver);
    }

    #[test]
    fn a_snooze_holds_its_object_only_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let snooze = Snooze { object: ObjectRef::host("web01"), since: T, until: T + 600, author: "alice".into() };
        let problem = notification(NotificationType::Problem, "web01", T + 10);
        let pending = spooled(&spool, std::slice::from_ref(&problem));
        let gate_at = |now: i64, notification: &Notification| {
            let holds = holds_at(now, "");
            gate(&holds, &Pass::new(&holds.clock, vec![snooze.clone()], &spool, &pending), notification, None)
        };
        assert_eq!(gate_at(T + 300, &problem), Gate::Hold);
        assert_eq!(gate_at(T + 600, &problem), Gate::Released);
        let other = notification(NotificationType::Problem, "web02", T + 10);
        assert_eq!(gate_at(T + 300, &other), Gate::Deliver, "not snoozed");
    }
}
