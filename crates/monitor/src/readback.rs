//! Confirmation by reading state back, shared by the backends: what a snapshot shows once an
//! action took effect (worded the same for every backend), and the polling loop around it.

use crate::MonitorError;
use hagios_domain::free_text::clean_text;
use hagios_domain::{Action, Notification, NotificationType, ObjectRef, Snapshot};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// What the monitoring state shows once an action took effect.
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
    /// The host exists (after adding it) or is gone (after removing it).
    Host {
        name: String,
        exists: bool,
    },
    DowntimeGone {
        id: u64,
        object: ObjectRef,
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
    /// What `snapshot`'s successor shows once `action` took effect. `author` is the author as
    /// stored (`validate::stored_author`); every backend stores the comment cleaned
    /// (`hagios_domain::free_text`), so the expectation holds the cleaned text.
    pub(crate) fn of(action: &Action, author: &str, snapshot: &Snapshot) -> Result<Self, MonitorError> {
        Ok(match action {
            Action::Acknowledge { target, .. } => {
                Expectation::Acknowledged { object: target.clone(), acknowledged: true }
            }
            Action::RemoveAcknowledgement { target } => {
                Expectation::Acknowledged { object: target.clone(), acknowledged: false }
            }
            Action::ScheduleDowntime { target, span, .. } => Expectation::DowntimeScheduled {
                object: target.object(),
                start: span.start,
                end: span.end,
                author: author.to_owned(),
                known_ids: snapshot.status.downtimes.iter().map(|downtime| downtime.id).collect(),
            },
            Action::DeleteDowntime { id } => {
                let downtime =
                    snapshot.status.downtimes.iter().find(|downtime| downtime.id == *id).ok_or_else(|| {
                        MonitorError::UnknownObject { kind: "downtime", name: format!("#{id}"), suggestion: None }
                    })?;
                Expectation::DowntimeGone { id: *id, object: downtime.object.clone() }
            }
            Action::Recheck { target } => Expectation::CheckedAfter {
                object: target.clone(),
                last_check: snapshot.status.object(target).map_or(0, |status| status.last_check),
            },
            Action::EnableNotifications { target } | Action::DisableNotifications { target } => {
                let enabled = matches!(action, Action::EnableNotifications { .. });
                Expectation::Notifications { object: target.clone(), enabled }
            }
            Action::AddHost { name, .. } => Expectation::Host { name: name.clone(), exists: true },
            Action::RemoveHost { name } => Expectation::Host { name: name.clone(), exists: false },
            Action::AddComment { target, comment, .. } => Expectation::Comment {
                object: target.clone(),
                author: author.to_owned(),
                text: clean_text(comment),
                known_ids: snapshot.status.comments.iter().map(|comment| comment.id).collect(),
            },
        })
    }

    /// The confirmation text when `snapshot` shows the effect.
    pub(crate) fn confirmed_by(&self, snapshot: &Snapshot) -> Option<String> {
        let shown = match self {
            Expectation::Acknowledged { object, acknowledged } => {
                snapshot.status.object(object)?.acknowledged == *acknowledged
            }
            Expectation::DowntimeScheduled { object, start, end, author, known_ids } => {
                return snapshot
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
                    .map(|downtime| format!("downtime #{} scheduled for {object}", downtime.id))
            }
            Expectation::Host { name, exists } => {
                // The state and the object configuration must agree (status.dat and objects.cache
                // on Nagios, which rewrites them one after the other on a reload).
                let shown = (snapshot.status.hosts.contains_key(name), snapshot.inventory.hosts.contains_key(name));
                shown == (*exists, *exists)
            }
            Expectation::DowntimeGone { id, .. } => snapshot.status.downtimes.iter().all(|downtime| downtime.id != *id),
            Expectation::CheckedAfter { object, last_check } => {
                let status = snapshot.status.object(object)?;
                return (status.last_check > *last_check)
                    .then(|| format!("rechecked {object}: {} {}", status.state, status.output));
            }
            Expectation::Notifications { object, enabled } => {
                snapshot.status.object(object)?.notifications_enabled == *enabled
            }
            Expectation::Comment { object, author, text, known_ids } => {
                return snapshot
                    .status
                    .comments
                    .iter()
                    .find(|comment| {
                        comment.object == *object
                            && comment.author == *author
                            && comment.text == *text
                            && !known_ids.contains(&comment.id)
                    })
                    .map(|comment| format!("comment #{} added to {object}", comment.id))
            }
        };
        shown.then(|| self.effect())
    }
}

impl Expectation {
    /// The effect, worded for evidence other than the state itself (which names no downtime id).
    pub(crate) fn effect(&self) -> String {
        match self {
            Expectation::Acknowledged { object, acknowledged: true } => format!("acknowledged {object}"),
            Expectation::Acknowledged { object, acknowledged: false } => {
                format!("acknowledgement removed from {object}")
            }
            Expectation::DowntimeScheduled { object, .. } => format!("downtime scheduled for {object} and started"),
            Expectation::DowntimeGone { id, .. } => format!("downtime #{id} cancelled"),
            Expectation::Host { name, exists: true } => format!("host {name} added"),
            Expectation::Host { name, exists: false } => format!("host {name} removed"),
            Expectation::CheckedAfter { object, .. } => format!("rechecked {object}"),
            Expectation::Notifications { object, enabled: true } => format!("notifications enabled for {object}"),
            Expectation::Notifications { object, enabled: false } => format!("notifications disabled for {object}"),
            Expectation::Comment { object, .. } => format!("comment added to {object}"),
        }
    }

    /// Whether `notification`, raised at or after `sent_at` (seconds since the epoch), is the
    /// monitoring system's own word that the effect happened:
    ///
    /// | waiting for            | notification                           |
    /// |------------------------|----------------------------------------|
    /// | an acknowledgement     | ACKNOWLEDGEMENT of the object          |
    /// | a downtime             | DOWNTIMESTART of the object, by the same author |
    /// | a cancelled downtime   | DOWNTIMECANCELLED of its object        |
    ///
    /// Nothing else is announced by a notification: removed acknowledgements, rechecks,
    /// comments and notification switches wait for the state. A downtime that starts later, or
    /// on an object already in downtime, sends no DOWNTIMESTART now and is confirmed by the state.
    pub(crate) fn shown_by_notification(&self, notification: &Notification, sent_at: i64) -> bool {
        if notification.time < sent_at {
            return false;
        }
        let kind = notification.kind;
        match self {
            Expectation::Acknowledged { object, acknowledged: true } => {
                kind == NotificationType::Acknowledgement && notification.object == *object
            }
            Expectation::DowntimeScheduled { object, author, .. } => {
                kind == NotificationType::DowntimeStart
                    && notification.object == *object
                    && notification.author.as_ref().is_none_or(|by| by == author)
            }
            Expectation::DowntimeGone { object, .. } => {
                kind == NotificationType::DowntimeCancelled && notification.object == *object
            }
            _ => false,
        }
    }
}

/// Polls `load` until `expectation` holds (`Ok(confirmation text)`) or `timeout` passes
/// (`Err(the last snapshot read, if any)`). Read errors while polling (the monitoring system
/// restarting, say) only delay the answer: the command was already handed over.
pub(crate) async fn poll<F, Fut>(
    mut load: F,
    expectation: &Expectation,
    timeout: Duration,
    interval: Duration,
) -> Result<String, Option<Arc<Snapshot>>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Arc<Snapshot>, MonitorError>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_seen = None;
    loop {
        if let Ok(snapshot) = load().await {
            if let Some(detail) = expectation.confirmed_by(&snapshot) {
                return Ok(detail);
            }
            last_seen = Some(snapshot);
        }
        if Instant::now() >= deadline {
            return Err(last_seen);
        }
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Snapshots keep `last_check` in whole seconds: a check forced within the same second as the
/// previous one would be indistinguishable from it, so wait for the next second first.
pub(crate) async fn wait_past_second(last_check: i64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let Ok(seconds) = i64::try_from(now.as_secs()) else { return };
    if last_check >= seconds {
        // A last_check further ahead means a skewed clock; one second is all that is worth waiting.
        tokio::time::sleep(Duration::from_secs(1) - Duration::from_nanos(u64::from(now.subsec_nanos()))).await;
    }
}
