//! One pass over the spool: the clock reading, the snoozes, and the records in line with what
//! waits later in the line for each object (read from the spool once, the first time a stage
//! asks), so that a stage can tell a problem that came and went from one still open.

use super::hold::Clock;
use hagios_domain::{Notification, ObjectRef, Snooze};
use hagios_spool::{RecordId, Spool};
use std::collections::HashMap;
use std::sync::OnceLock;

pub struct Pass<'a> {
    /// Seconds since the epoch when the pass began.
    pub now: i64,
    pub snoozes: Vec<Snooze>,
    spool: &'a Spool,
    pending: &'a [RecordId],
    lookahead: OnceLock<Lookahead>,
}

/// Per object: the position in `pending` of its last record that closes an incident, and the
/// positions and times of its records that open one.
#[derive(Default)]
struct Lookahead {
    last_close: HashMap<ObjectKey, usize>,
    opens: HashMap<ObjectKey, Vec<(usize, i64)>>,
}

type ObjectKey = (String, ObjectRef);

impl<'a> Pass<'a> {
    pub fn new(clock: &Clock, snoozes: Vec<Snooze>, spool: &'a Spool, pending: &'a [RecordId]) -> Self {
        Pass { now: clock(), snoozes, spool, pending, lookahead: OnceLock::new() }
    }

    /// Whether a record closing an incident of `notification`'s object waits after `position`.
    pub fn closed_later(&self, position: usize, notification: &Notification) -> bool {
        self.lookahead().last_close.get(&key(notification)).is_some_and(|&last| last > position)
    }

    /// Whether a record opening an incident of `notification`'s object, from the same second
    /// or earlier, waits after `position`.
    pub fn opened_later(&self, position: usize, notification: &Notification) -> bool {
        self.lookahead()
            .opens
            .get(&key(notification))
            .is_some_and(|opens| opens.iter().any(|&(at, time)| at > position && time <= notification.time))
    }

    fn lookahead(&self) -> &Lookahead {
        self.lookahead.get_or_init(|| {
            let mut lookahead = Lookahead::default();
            for (position, id) in self.pending.iter().enumerate() {
                // An unreadable record is quarantined when its turn comes; it opens or closes nothing.
                if let Ok(notification) = self.spool.read(id) {
                    if notification.kind.closes_incident() {
                        lookahead.last_close.insert(key(&notification), position);
                    } else if notification.kind.opens_incident() {
                        lookahead.opens.entry(key(&notification)).or_default().push((position, notification.time));
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
