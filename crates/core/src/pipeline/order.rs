//! Order stage, for notifications whose object has no incident open in chat: a notification
//! whose hold ended is dropped when its object recovered while it was held (it is a RECOVERY,
//! or a RECOVERY of the same object waits later in the spool) — a problem that came and went
//! inside a hold is never posted; and a notification that ends an incident nobody has seen yet
//! waits while the PROBLEM it ends is still behind it in the spool (Nagios runs notification
//! commands side by side, so a RECOVERY can reach the spool just before its PROBLEM).
//! Everything else goes on in its original order, exactly once.

use super::stage::{Decision, Record, Stage, Verdict};
use super::{Pass, Pipeline};
use async_trait::async_trait;
use hagios_domain::Notification;

pub struct Order;

#[async_trait]
impl Stage for Order {
    async fn run<'p>(&self, pipeline: &'p Pipeline, pass: &Pass<'_>, record: &mut Record<'p>) -> Decision {
        // With an incident in chat, everything belongs in its thread, in order.
        if record.open.is_some() {
            return Ok(Verdict::Continue);
        }
        Ok(match verdict(pass, record.position, &record.notification, record.released) {
            Verdict::Drop => Verdict::dropped(pipeline, "recovered_while_held"),
            other => other,
        })
    }
}

fn verdict(pass: &Pass<'_>, position: usize, notification: &Notification, released: bool) -> Verdict {
    let closes = notification.kind.closes_incident();
    if released && (closes || pass.closed_later(position, notification)) {
        tracing::info!(notification = %notification.id, object = %notification.object, kind = %notification.kind,
            "dropped after its hold: it recovered while held");
        return Verdict::Drop;
    }
    if closes && pass.opened_later(position, notification) {
        tracing::info!(notification = %notification.id, object = %notification.object, "waits for the problem it ends");
        return Verdict::Hold;
    }
    Verdict::Continue
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::hold::tests::{holds_at, notification, spooled, T};
    use hagios_domain::NotificationType::{Acknowledgement, Problem, Recovery};
    use hagios_spool::Spool;

    #[test]
    fn a_pair_that_recovered_while_held_is_dropped_an_open_problem_is_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let flap = [
            notification(Problem, "web01", T + 10),
            notification(Acknowledgement, "web01", T + 20),
            notification(Recovery, "web01", T + 30),
            notification(Problem, "web01", T + 40),
        ];
        let pending = spooled(&spool, &flap);
        let holds = holds_at(T + 600, "");
        let pass = Pass::new(&holds.clock, Vec::new(), &spool, &pending);
        let released: Vec<Verdict> = (0..4).map(|i| verdict(&pass, i, &flap[i], true)).collect();
        assert_eq!(
            released,
            [Verdict::Drop, Verdict::Drop, Verdict::Drop, Verdict::Continue],
            "only the problem still open is posted"
        );
        assert_eq!(verdict(&pass, 0, &flap[0], false), Verdict::Continue, "never held: shown as it came");
    }

    #[test]
    fn a_recovery_ahead_of_its_problem_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let crossed = [notification(Recovery, "web01", T), notification(Problem, "web01", T)];
        let pending = spooled(&spool, &crossed);
        let holds = holds_at(T, "");
        let pass = Pass::new(&holds.clock, Vec::new(), &spool, &pending);
        assert_eq!(verdict(&pass, 0, &crossed[0], false), Verdict::Hold);
        assert_eq!(verdict(&pass, 1, &crossed[1], false), Verdict::Continue);
        let later_problem = [notification(Recovery, "web02", T), notification(Problem, "web02", T + 5)];
        let pending = spooled(&spool, &later_problem);
        let pass = Pass::new(&holds.clock, Vec::new(), &spool, &pending);
        assert_eq!(verdict(&pass, 0, &later_problem[0], false), Verdict::Continue, "a later problem is a new one");
    }
}
