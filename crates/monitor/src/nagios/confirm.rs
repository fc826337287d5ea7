//! Read-back confirmation: the command FIFO never answers, so after sending, status.dat is
//! polled until it shows the action's effect or the timeout passes.

use super::state::{object_status, StateCache};
use hagios_domain::{ObjectRef, Outcome, Snapshot};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// status.dat is rewritten once a second; polling faster only re-reads an unchanged stamp.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What status.dat shows once an action took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expectation {
    Acknowledged {
        object: ObjectRef,
        acknowledged: bool,
    },
    /// A downtime with these times and author that did not exist before sending.
    DowntimeScheduled {
        object: ObjectRef,
        start: i64,
        end: i64,
        author: String,
        known_ids: BTreeSet<u64>,
    },
    DowntimeGone {
        id: u64,
    },
    CheckedAfter {
        object: ObjectRef,
        last_check: i64,
    },
    Notifications {
        object: ObjectRef,
        enabled: bool,
    },
    /// A comment with this author and (cleaned) text that did not exist before sending.
    Comment {
        object: ObjectRef,
        author: String,
        text: String,
        known_ids: BTreeSet<u64>,
    },
}

impl Expectation {
    /// The confirmation text when `snapshot` shows the effect.
    /// A likely reason the effect did not show, when the state explains it.
    fn why_not(&self, snapshot: &Snapshot) -> Option<String> {
        match self {
            Expectation::Acknowledged { object, acknowledged: true } => {
                let status = object_status(snapshot, object)?;
                (!status.state.is_problem()).then(|| {
                    format!("; status.dat shows {object} {}, and Nagios ignores acknowledgements of objects without a problem", status.state)
                })
            }
            _ => None,
        }
    }

    pub(crate) fn confirmed_by(&self, snapshot: &Snapshot) -> Option<String> {
        match self {
            Expectation::Acknowledged { object, acknowledged } => {
                (object_status(snapshot, object)?.acknowledged == *acknowledged).then(|| match acknowledged {
                    true => format!("acknowledged {object}"),
                    false => format!("acknowledgement removed from {object}"),
                })
            }
            Expectation::DowntimeScheduled { object, start, end, author, known_ids } => snapshot
                .status
                .downtimes
                .iter()
                .find(|downtime| {
                    downtime.object == *object
                        && downtime.start == *start
                        && downtime.end == *end
                        && downtime.author == *author
                        && !known_ids.contains(&downtime.id)
                })
                .map(|downtime| format!("downtime #{} scheduled for {object}", downtime.id)),
            Expectation::DowntimeGone { id } => snapshot
                .status
                .downtimes
                .iter()
                .all(|downtime| downtime.id != *id)
                .then(|| format!("downtime #{id} cancelled")),
            Expectation::CheckedAfter { object, last_check } => {
                let status = object_status(snapshot, object)?;
                (status.last_check > *last_check)
                    .then(|| format!("rechecked {object}: {} {}", status.state, status.output))
            }
            Expectation::Notifications { object, enabled } => {
                (object_status(snapshot, object)?.notifications_enabled == *enabled).then(|| match enabled {
                    true => format!("notifications enabled for {object}"),
                    false => format!("notifications disabled for {object}"),
                })
            }
            Expectation::Comment { object, author, text, known_ids } => snapshot
                .status
                .comments
                .iter()
                .find(|comment| {
                    comment.object == *object
                        && comment.author == *author
                        && comment.text == *text
                        && !known_ids.contains(&comment.id)
                })
                .map(|comment| format!("comment #{} added to {object}", comment.id)),
        }
    }
}

/// Polls the state until `expectation` holds or `timeout` passes. Read errors while polling
/// (Nagios restarting, say) only delay the answer: the command was already handed over.
pub(crate) async fn wait(state: &Arc<StateCache>, expectation: &Expectation, timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    let mut last_seen = None;
    loop {
        let cache = Arc::clone(state);
        let loaded = tokio::task::spawn_blocking(move || cache.load()).await;
        if let Ok(Ok(snapshot)) = loaded {
            if let Some(detail) = expectation.confirmed_by(&snapshot) {
                return Outcome::Confirmed(detail);
            }
            last_seen = Some(snapshot);
        }
        if Instant::now() >= deadline {
            let hint = last_seen.and_then(|snapshot| expectation.why_not(&snapshot)).unwrap_or_default();
            return Outcome::Unconfirmed(format!("sent, not yet confirmed by Nagios after {timeout:?}{hint}"));
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}
