//! Paging, after each pass: the incidents marked by the page stage are paged once they are in
//! chat — the person on call mentioned in the incident's thread (or its group's) — and then the
//! escalation policy's later steps after their delays, until the thread's problems are
//! acknowledged (from chat, a button, a reaction, or mirrored from the monitoring UI), recover,
//! or go into a downtime. A snooze of a paged object pauses the steps: their delays grow by the
//! time it held. `escalate` makes the next step due at once. Each step is a keyed post recorded
//! with its attempt, so a crash neither repeats nor skips one.

use super::deliver::Attempt;
use super::remind::rough;
use super::thread::{in_downtime, needs_nobody};
use super::{DeliveryError, Pipeline};
use crate::config::{Escalation, Notify};
use hagios_chat::{Mention, Outbound};
use hagios_domain::{Notification, NotificationType, Snooze};
use hagios_store::{ActivePage, Incident, Page, PageStep};
use std::time::Duration;

/// Problems a page message lists by name; more are counted.
const NAMED_PROBLEMS: usize = 3;

impl Pipeline {
    /// Starts the pages whose incidents reached chat and pages every step that is due.
    pub(super) async fn page(&self, snoozes: &[Snooze]) -> Result<(), DeliveryError> {
        if self.oncall.schedules().is_empty() {
            return Ok(());
        }
        let now = (self.holds.clock)();
        self.store.start_pages(now).await?;
        for active in self.store.active_pages().await? {
            let page = active.page.id;
            match self.page_thread(active, now, snoozes).await {
                Ok(()) => {}
                Err(e) if e.retryable() => return Err(e),
                // A step chat refuses for good must not pause delivery: it is logged and the
                // page stops, for the thread's people to take over.
                Err(e) => {
                    tracing::warn!(%page, error = %e, "cannot page; paging of this thread stops");
                    self.store.stop_page(page, now, &format!("chat refused the page: {e}")).await?;
                }
            }
        }
        Ok(())
    }

    async fn page_thread(&self, active: ActivePage, now: i64, snoozes: &[Snooze]) -> Result<(), DeliveryError> {
        let page = active.page;
        let open: Vec<&Incident> = active.incidents.iter().filter(|incident| incident.is_open()).collect();
        if open.is_empty() {
            self.store.stop_page(page.id, now, "recovered").await?;
            return Ok(());
        }
        let forced = page.forced > page.steps;
        if !forced {
            // A notification held for its group's next update is not in the thread yet, but it
            // happened: an acknowledgement held there stops paging now, not a group_interval later.
            let held: Vec<Option<Notification>> =
                open.iter().map(|incident| self.groups.newest_held(&incident.site, &incident.object)).collect();
            if let Some(why) = settled(&open, &held) {
                tracing::info!(page = %page.id, why, "paging stops");
                self.store.stop_page(page.id, now, &why).await?;
                return Ok(());
            }
            if open.iter().any(|incident| snoozes.iter().any(|s| s.active(now) && s.covers(&incident.object, now))) {
                if page.paused_since.is_none() {
                    self.store.pause_page(page, Some(now), now).await?;
                }
                return Ok(());
            }
        }
        let paused_for = match page.paused_since {
            Some(since) => {
                self.store.pause_page(page.clone(), None, now).await?;
                page.paused_for + (now - since).max(0)
            }
            None => page.paused_for,
        };
        let policy = self.oncall.policy(&page.policy);
        let index = page.steps as usize;
        let Some(step) = policy.due(index) else { return Ok(()) };
        let due = page.started_at + paused_for + i64::try_from(step.after.as_secs()).unwrap_or(i64::MAX);
        if forced || now >= due {
            self.post_step(&page, &policy, index, &open, now).await?;
        }
        Ok(())
    }

    async fn post_step(
        &self,
        page: &Page,
        policy: &Escalation,
        index: usize,
        open: &[&Incident],
        now: i64,
    ) -> Result<(), DeliveryError> {
        let Some(due) = policy.due(index) else { return Ok(()) };
        let notify = &due.step.notify;
        let platform = self.chat.platform();
        let (person, whom) = self.whom(&page.schedule, notify, now);
        let mentions: Vec<Mention> = person.iter().map(|person| self.oncall.people.mention(person, platform)).collect();
        let everyone = *notify == Notify::Channel;
        let problems = describe(open);
        let count = policy.steps.len();
        let step = match (count, policy.repeat) {
            (1, 0) => String::new(),
            (_, 0) => format!(" (step {} of {count})", due.number + 1),
            (_, repeat) => {
                format!(" (step {} of {count}, round {} of {})", due.number + 1, due.round + 1, repeat + 1)
            }
        };
        let text = match (&page.forced_note, page.forced > page.steps, index) {
            (Some(note), true, _) => format!("escalated by {note} — {problems}: paging {whom}{step}"),
            (_, _, 0) => format!(
                "{problems} — paging {whom}{step}. `ack` in this thread stops paging; `escalate` pages the next step now"
            ),
            _ => {
                let open_for = Duration::from_secs(u64::try_from(now - page.started_at).unwrap_or(0));
                format!("{problems}, not acknowledged after {} — escalating to {whom}{step}", rough(open_for))
            }
        };
        let key = format!("page:{}:{}:{index}", page.id, page.started_at);
        let retrying = self.store.begin_attempt(&key).await?;
        let attempt = Attempt { key: &key, retrying };
        let message = Outbound::Page { mentions, everyone, text: text.clone() };
        attempt.post(self.chat.as_ref(), Some(&page.thread.channel), Some(&page.thread), &message).await?;
        let people = person.into_iter().collect();
        let recorded = PageStep { step: u32::try_from(index).unwrap_or(u32::MAX), at: now, people, text };
        self.store.record_page_step(page.clone(), recorded, &key).await?;
        tracing::info!(page = %page.id, step = index + 1, %whom, "paged");
        Ok(())
    }

    /// The person a step pages (none for the channel, or when nobody is on call), and how the
    /// message names whom it pages.
    fn whom(&self, schedule: &str, notify: &Notify, now: i64) -> (Option<String>, String) {
        let rota = &self.oncall;
        let nobody = |what: String| (None, format!("nobody: {what} has nobody on call now"));
        match notify {
            Notify::OnCall => match rota.on_call(schedule, now) {
                Some(on_call) => (Some(on_call.person.clone()), format!("{}, on call in {schedule}", on_call.person)),
                None => nobody(format!("schedule {schedule}")),
            },
            Notify::Layer(layer) => match rota.on_layer(schedule, layer, now) {
                Some(person) => (Some(person.clone()), format!("{person}, {layer} of {schedule}")),
                None => nobody(format!("layer {layer} of {schedule}")),
            },
            Notify::Schedule(other) => match rota.on_call(other, now) {
                Some(on_call) => (Some(on_call.person.clone()), format!("{}, on call in {other}", on_call.person)),
                None => nobody(format!("schedule {other}")),
            },
            Notify::Person(person) => (Some(person.clone()), person.clone()),
            Notify::Channel => (None, "everyone in this channel".to_owned()),
        }
    }
}

/// Why paging of these open incidents is over, if it is: each is acknowledged, in a downtime or
/// recovered — as its thread shows, or as the newest notification `held` for its group says.
fn settled(open: &[&Incident], held: &[Option<Notification>]) -> Option<String> {
    let mut by: Vec<&str> = Vec::new();
    let (mut downtime, mut recovered) = (false, false);
    for (incident, held) in open.iter().zip(held) {
        let card = &incident.card;
        if !needs_nobody(card, held.as_ref()) {
            return None;
        }
        match held.as_ref().map(|notification| (notification.kind, notification)) {
            Some((NotificationType::Acknowledgement, notification)) => {
                by.push(notification.author.as_deref().unwrap_or("someone"));
            }
            Some((NotificationType::DowntimeStart, _)) => downtime = true,
            Some((NotificationType::Recovery, _)) => recovered = true,
            _ => {
                by.extend(acknowledged_by(&card.history));
                downtime |= in_downtime(card);
            }
        }
    }
    by.dedup();
    let mut why = Vec::new();
    if !by.is_empty() {
        why.push(format!("acknowledged by {}", by.join(", ")));
    }
    if recovered {
        why.push("recovered".to_owned());
    }
    if downtime {
        why.push("in downtime".to_owned());
    }
    Some(if why.is_empty() { "acknowledged".to_owned() } else { why.join(" or ") })
}

/// Who made the newest acknowledgement in a card's history (`acknowledged (CRITICAL) by alice:
/// looking` → `alice`).
pub(super) fn acknowledged_by(history: &[String]) -> Option<&str> {
    let line = history.iter().rev().find(|line| line.starts_with("acknowledged"))?;
    let by = line.split_once(" by ")?.1;
    Some(by.split(':').next().unwrap_or(by).trim())
}

/// `web01!HTTP is CRITICAL`, or `3 problems: db01!disk CRITICAL, db01!load CRITICAL, …`.
fn describe(open: &[&Incident]) -> String {
    match open {
        [one] => format!("{} is {}", one.card.object, one.card.state),
        many => {
            let named: Vec<String> = many
                .iter()
                .take(NAMED_PROBLEMS)
                .map(|incident| format!("{} {}", incident.card.object, incident.card.state))
                .collect();
            let more = if many.len() > NAMED_PROBLEMS { ", …" } else { "" };
            format!("{} problems: {}{more}", many.len(), named.join(", "))
        }
    }
}
