//! Reminder stage (`repeat_interval` on a route): an incident still open and not acknowledged
//! is brought up again in its thread once per interval, until it is acknowledged or recovers
//! (none while the object is in a downtime) — also where that is still held for its group's
//! next update, as paging stops.
//! The store keeps how many reminders went out and when, so a restart neither repeats nor skips
//! one; each is a keyed post, so a crash between posting and recording does not double it.

use super::thread::needs_nobody;
use super::{DeliveryError, Pipeline};
use crate::pipeline::deliver::Attempt;
use hagios_chat::Outbound;
use hagios_store::DueReminder;
use std::time::Duration;

impl Pipeline {
    /// Posts the reminders that are due now, for every channel of a route with `repeat_interval`.
    pub(super) async fn remind(&self) -> Result<(), DeliveryError> {
        let now = (self.holds.clock)();
        let mut seen = Vec::new();
        for route in self.routes.iter().chain([&self.default_route]) {
            let Some(channel) = route.target(self.chat.platform()) else { continue };
            // The first route naming a channel sets its reminders, as it is the first to match.
            if route.grouping.repeat_interval.is_zero() || seen.contains(&channel) {
                continue;
            }
            seen.push(channel);
            // Incidents are stored under the channel their message landed in (a room id, where
            // the route may name an alias).
            let channel = match self.chat.channel_id(channel).await {
                Ok(channel) => channel,
                Err(e) if e.retryable() => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(channel, error = %e, "cannot find the channel of a route; no reminders there");
                    continue;
                }
            };
            let every = i64::try_from(route.grouping.repeat_interval.as_secs()).unwrap_or(i64::MAX);
            for due in self.store.due_reminders(&channel, now.saturating_sub(every)).await? {
                let incident = &due.incident;
                // As for paging: an acknowledgement, downtime or recovery held for the group's
                // next update happened, though the thread does not show it yet.
                let held = self.groups.newest_held(&incident.site, &incident.object);
                if needs_nobody(&incident.card, held.as_ref()) {
                    // Looked at again one interval later: a state change may have dropped the
                    // acknowledgement, or the downtime may have ended.
                    self.store.postpone_reminder(incident.id, now).await?;
                    continue;
                }
                match self.post_reminder(&due, now).await {
                    Ok(()) => {}
                    Err(e) if e.retryable() => return Err(e),
                    Err(e) => {
                        // A reminder chat refuses for good must not pause delivery; next interval.
                        tracing::warn!(incident = %incident.id, error = %e, "cannot post a reminder");
                        self.store.postpone_reminder(incident.id, now).await?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Pipeline {
    async fn post_reminder(&self, due: &DueReminder, now: i64) -> Result<(), DeliveryError> {
        let (incident, thread) = (&due.incident, &due.thread);
        let number = due.reminders + 1;
        let key = format!("remind:{}:{number}", incident.id);
        let open_for = Duration::from_secs(u64::try_from(now - incident.opened_at).unwrap_or(0));
        let text = format!(
            "Reminder: {} still {} after {}, not acknowledged — `ack` in this thread to stop reminders",
            incident.card.object,
            incident.card.state,
            rough(open_for)
        );
        let retrying = self.store.begin_attempt(&key).await?;
        let attempt = Attempt { key: &key, retrying };
        attempt.post(self.chat.as_ref(), Some(&thread.channel), Some(thread), &Outbound::Reminder(text)).await?;
        self.store.record_reminder(incident.id, number, now, &key).await?;
        tracing::info!(incident = %incident.id, object = %incident.card.object, number, "reminded");
        Ok(())
    }
}

/// "2h 10m", "3d 4h", "45m", "30s": what a person reads at a glance.
pub(super) fn rough(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) if minutes == 0 => format!("{}s", duration.as_secs()),
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::rough;
    use std::time::Duration;

    #[test]
    fn durations_read_at_a_glance() {
        let text: Vec<String> = [59, 45 * 60, 2 * 3600 + 10 * 60, 3 * 86400 + 4 * 3600 + 59]
            .into_iter()
            .map(|seconds| rough(Duration::from_secs(seconds)))
            .collect();
        assert_eq!(text, ["59s", "45m", "2h 10m", "3d 4h"]);
    }
}
