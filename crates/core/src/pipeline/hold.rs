//! Hold stage: keeps notifications covered by a `[[quiet_hours]]` window or a chat `snooze` in the
//! spool (durable, like everything not yet delivered) until the hold ends, then lets them through
//! if they still matter. Whether a notification is held depends on its own time, not on when it
//! is looked at, so the decision is the same after a restart.
//!
//! At the end of a hold, for an object with no open incident: a held RECOVERY is dropped (its
//! problem was held too, or was never announced), and so is everything held before a RECOVERY
//! still waiting in the spool — a problem that came and went inside the hold is never posted.
//! Everything else (problems still open, anything for an incident already in chat) is delivered
//! in its original order, exactly once, through the normal stages.

use crate::config::{QuietHours, RouteConfig};
use hagios_domain::{Notification, Snooze};
use hagios_spool::{RecordId, Spool};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::OnceLock;

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
    /// Its hold ended: delivered, unless it recovered while held.
    Released,
}

/// One pass over the spool: the clock reading, the snoozes, and the records in line.
pub struct HoldPass<'a> {
    holds: &'a Holds,
    now: i64,
    snoozes: Vec<Snooze>,
    pending: &'a [RecordId],
    /// What waits in `pending` per object; read from the spool once, the first time a released
    /// hold or an early recovery needs it.
    lookahead: OnceLock<Lookahead>,
}

/// Per object: the position in `pending` of its last record that closes an incident, and the
/// positions and times of its records that open one.
#[derive(Default)]
struct Lookahead {
    last_close: HashMap<ObjectKey, usize>,
    opens: HashMap<ObjectKey, Vec<(usize, i64)>>,
}

type ObjectKey = (String, hagios_domain::ObjectRef);

impl<'a> HoldPass<'a> {
    pub fn new(holds: &'a Holds, snoozes: Vec<Snooze>, pending: &'a [RecordId]) -> Self {
        HoldPass { now: (holds.clock)(), holds, snoozes, pending, lookahead: OnceLock::new() }
    }

    /// When the hold covering `notification` (which took `route`) ends and what it is, if one
    /// covers it; the latest end when several do.
    fn held_until(&self, notification: &Notification, route: Option<&RouteConfig>) -> Option<(i64, String)> {
        let time = notification.time;
        let windows =
            self.holds.quiet_hours.iter().filter(|quiet| quiet.matches(notification, route)).filter_map(|quiet| {
                quiet.end_of_window_at(time).map(|end| (end, format!("quiet hours `{}`", quiet.name)))
            });
        let snoozes = self
            .snoozes
            .iter()
            .filter(|snooze| snooze.covers(&notification.object, time))
            .map(|snooze| (snooze.until, format!("snooze of {} by {}", snooze.object, snooze.author)));
        windows.chain(snoozes).max_by_key(|(end, _)| *end)
    }

    /// Whether `notification` (which took `route`) is held now, was held and is due, or was
    /// never held. Needs no store lookup: held records cost one spool read per pass.
    pub fn gate(&self, notification: &Notification, route: Option<&RouteConfig>) -> Gate {
        match self.held_until(notification, route) {
            None => Gate::Deliver,
            Some((until, hold)) if until > self.now => {
                tracing::debug!(notification = %notification.id, object = %notification.object, until, %hold, "held");
                Gate::Hold
            }
            Some((_, hold)) => {
                tracing::info!(notification = %notification.id, object = %notification.object, %hold, "hold ended");
                Gate::Released
            }
        }
    }

    /// For a released notification whose object has no incident open in chat: whether the
    /// object recovered while held (it is a RECOVERY, or a RECOVERY of the same object waits
    /// after it, at a position past `index`), so that it no longer matters.
    pub fn recovered_while_held(&self, index: usize, notification: &Notification, spool: &Spool) -> bool {
        let recovered = notification.kind.closes_incident()
            || self.lookahead(spool).last_close.get(&key(notification)).is_some_and(|&last| last > index);
        if recovered {
            tracing::info!(notification = %notification.id, object = %notification.object, kind = %notification.kind,
                "dropped after its hold: it recovered while held");
        }
        recovered
    }

    /// For a notification that closes an incident nobody has seen yet: whether a notification
    /// opening it, from the same second or earlier, waits after it at a position past `index`.
    /// Nagios runs notification commands side by side, so a RECOVERY can reach the spool just
    /// before the PROBLEM it ends; it then waits for that PROBLEM instead of being shown first.
    pub fn problem_follows(&self, index: usize, notification: &Notification, spool: &Spool) -> bool {
        self.lookahead(spool)
            .opens
            .get(&key(notification))
            .is_some_and(|opens| opens.iter().any(|&(position, time)| position > index && time <= notification.time))
    }

    fn lookahead(&self, spool: &Spool) -> &Lookahead {
        self.lookahead.get_or_init(|| {
            let mut lookahead = Lookahead::default();
            for (index, id) in self.pending.iter().enumerate() {
                // An unreadable record is quarantined when its turn comes; it opens or closes nothing.
                if let Ok(notification) = spool.read(id) {
                    if notification.kind.closes_incident() {
                        lookahead.last_close.insert(key(&notification), index);
                    } else if notification.kind.opens_incident() {
                        lookahead.opens.entry(key(&notification)).or_default().push((index, notification.time));
                    }
                }
            }
            lookahead
        })
    }
}

fn key(notification: &Notification) -> ObjectKey {
    (notification.site.clone(), notification.object.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::slack_tests::notification_for;
    use hagios_domain::{NotificationType, ObjectRef, State};

    /// 2023-11-14 22:13:20 UTC, a Tuesday.
    const T: i64 = 1_700_000_000;

    fn notification(kind: NotificationType, host: &str, time: i64) -> Notification {
        let state = if kind == NotificationType::Recovery { State::Ok } else { State::Critical };
        Notification { time, ..notification_for(host, kind, state) }
    }

    fn holds_at(now: i64, mutes: &str) -> Holds {
        let mutes = if mutes.is_empty() {
            Vec::new()
        } else {
            vec![toml::from_str::<QuietHours>(mutes).expect("valid window")]
        };
        Holds { quiet_hours: mutes, clock: Arc::new(move || now) }
    }

    fn spooled(spool: &Spool, notifications: &[Notification]) -> Vec<RecordId> {
        notifications.iter().map(|n| spool.write(n.clone()).expect("spooled")).collect()
    }

    #[test]
    fn a_mute_window_holds_until_its_end_then_releases() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        // 22:00-23:00 UTC; T is 22:13:20.
        let window = "name = \"n\"\ntimes = [\"22:00-23:00\"]\ntimezone = \"UTC\"\n";
        let problem = notification(NotificationType::Problem, "web01", T);
        let pending = spooled(&spool, std::slice::from_ref(&problem));
        let (inside, after) = (holds_at(T + 60, window), holds_at(T + 2800, window));
        assert_eq!(HoldPass::new(&inside, Vec::new(), &pending).gate(&problem, None), Gate::Hold);
        assert_eq!(HoldPass::new(&after, Vec::new(), &pending).gate(&problem, None), Gate::Released);
        assert!(!HoldPass::new(&after, Vec::new(), &pending).recovered_while_held(0, &problem, &spool));
        let earlier = notification(NotificationType::Problem, "web01", T - 1000);
        assert_eq!(HoldPass::new(&inside, Vec::new(), &pending).gate(&earlier, None), Gate::Deliver);
    }

    #[test]
    fn a_pair_that_recovered_while_held_is_dropped_an_open_problem_is_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let snooze = Snooze { object: ObjectRef::host("web01"), since: T, until: T + 600, author: "alice".into() };
        let flap = [
            notification(NotificationType::Problem, "web01", T + 10),
            notification(NotificationType::Acknowledgement, "web01", T + 20),
            notification(NotificationType::Recovery, "web01", T + 30),
            notification(NotificationType::Problem, "web01", T + 40),
        ];
        let pending = spooled(&spool, &flap);
        let holds = holds_at(T + 300, "");
        let pass = HoldPass::new(&holds, vec![snooze.clone()], &pending);
        assert!(flap.iter().all(|n| pass.gate(n, None) == Gate::Hold));

        let holds = holds_at(T + 600, "");
        let pass = HoldPass::new(&holds, vec![snooze.clone()], &pending);
        assert!(flap.iter().all(|n| pass.gate(n, None) == Gate::Released));
        let recovered: Vec<bool> = (0..4).map(|i| pass.recovered_while_held(i, &flap[i], &spool)).collect();
        assert_eq!(recovered, [true, true, true, false], "only the problem still open is posted");

        let other = notification(NotificationType::Problem, "web02", T + 10);
        assert_eq!(pass.gate(&other, None), Gate::Deliver, "not snoozed");
    }
}
