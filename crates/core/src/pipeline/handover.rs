//! Handovers and feed notices, after each pass, in each schedule's channel on this platform
//! (`[[oncall]] channel`, `matrix_room`): at each handoff (the person on call changes, by the
//! rotation, a calendar or an override) a summary of the shift that ends — the open incidents
//! and who holds them, what was new, acknowledged and recovered, and how long each took to
//! acknowledge, an incident told on several platforms counted once with what any of them heard;
//! and once per failure, that a calendar feed cannot be read. Each is a keyed post
//! recorded once per platform, so a restart neither repeats nor skips one.

use super::deliver::Attempt;
use super::escalate::acknowledged_by;
use super::thread::acknowledged;
use super::{DeliveryError, Pipeline};
use crate::config::Schedule;
use crate::oncall::Rota;
use hagios_chat::Outbound;
use hagios_commands::{format_length, format_local};
use hagios_store::{IncidentKey, IncidentStory, PlatformStory};
use std::collections::HashMap;
use std::sync::Mutex;

/// A handoff hagios did not see happen — it was not running then — is summed up when it starts
/// if it happened less than this ago, or if hagios watched the schedule before it (it was down
/// at the handoff); a schedule new to hagios gets no summary of an older one.
const FRESH_START_SECONDS: i64 = 3_600;
/// A summary posted more than this after its handoff says it is late, and when the handoff was.
const LATE_SECONDS: i64 = 300;
/// How far back a shift's start, or a missed handoff, is looked for; longer shifts are summed
/// up from here.
const LONGEST_SHIFT_SECONDS: i64 = 8 * 86_400;

/// Which handoffs this pipeline has looked at, per schedule: since when the store says hagios
/// watched it (on this platform) and up to when handoffs were summed up. In memory: a restart
/// looks back for a missed handoff once, then only at what is new since the last pass.
#[derive(Default)]
pub struct Watch(Mutex<HashMap<String, Watched>>);

#[derive(Clone, Copy)]
struct Watched {
    since: i64,
    /// Up to when handoffs were looked at; `None` before the first look.
    checked: Option<i64>,
}

impl Pipeline {
    pub(super) async fn hand_over(&self) -> Result<(), DeliveryError> {
        let now = (self.holds.clock)();
        let platform = self.chat.platform();
        for schedule in self.oncall.schedules() {
            let Some(channel) = schedule.targets.get(&platform) else { continue };
            let watched = self.watched(&schedule.name, now).await?;
            let from = watched.checked.unwrap_or(i64::MIN).max(now - LONGEST_SHIFT_SECONDS);
            if let Some(handoff) = last_change(&self.oncall, &schedule.name, from, now) {
                let key = format!("handover:{}:{handoff}", schedule.name);
                let seen = now - handoff <= FRESH_START_SECONDS || watched.since < handoff;
                if seen && self.store.posted_once(&key).await?.is_none() {
                    let mut text = self.summary(schedule, handoff).await?;
                    if now - handoff > LATE_SECONDS {
                        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
                        let late = format!(
                            " — posted late, {}: hagios was down or could not reach chat at the handoff",
                            format_local(now, &schedule.timezone)
                        );
                        text = format!("{first}{late}\n{rest}");
                    }
                    self.post_once(channel, &key, text, now).await?;
                }
            }
            self.handovers.checked(&schedule.name, now);
            for failure in self.oncall.feed_failures().into_iter().filter(|failure| failure.schedule == schedule.name) {
                let key = format!("feed:{}:{}:{}", schedule.name, failure.layer, failure.since);
                if self.store.posted_once(&key).await?.is_none() {
                    let text = format!(
                        "the calendar of layer {} of schedule {} cannot be read since {}: {}. Its last good shifts \
                         stay in force; `oncall {}` shows who is on call",
                        failure.layer,
                        schedule.name,
                        format_local(failure.since, &schedule.timezone),
                        failure.error,
                        schedule.name
                    );
                    self.post_once(channel, &key, text, now).await?;
                }
            }
        }
        Ok(())
    }

    /// What this pipeline knows of `schedule`'s handoffs. Its first look keeps in the store
    /// that hagios watches the schedule from `now` on, unless it did before.
    async fn watched(&self, schedule: &str, now: i64) -> Result<Watched, DeliveryError> {
        if let Some(watched) = self.handovers.of(schedule) {
            return Ok(watched);
        }
        let key = format!("handover-watch:{schedule}");
        let since = match self.store.posted_once(&key).await? {
            Some(since) => since,
            None => {
                self.store.record_posted_once(&key, now).await?;
                now
            }
        };
        Ok(self.handovers.start(schedule, since))
    }

    /// The summary of the shift of `schedule` that ended at `handoff`.
    async fn summary(&self, schedule: &Schedule, handoff: i64) -> Result<String, DeliveryError> {
        let rota = &self.oncall;
        let name = &schedule.name;
        let zone = &schedule.timezone;
        let person = |at: i64| rota.on_call(name, at).map_or_else(|| "nobody".to_owned(), |on_call| on_call.person);
        let (before, after) = (person(handoff - 1), person(handoff));
        let start = last_change(rota, name, handoff - LONGEST_SHIFT_SECONDS, handoff - 1)
            .unwrap_or(handoff - LONGEST_SHIFT_SECONDS);
        let told = self.store.schedule_stories_everywhere_since(name, start).await?;
        let stories = one_per_incident(told, self.chat.platform().name());
        let mut lines = vec![format!(
            "handover in {name}: {before} → {after} at {} {}",
            format_local(handoff, zone),
            zone.iana_name().unwrap_or("")
        )];
        lines.extend(shift_lines(&stories, &before, start, handoff, zone));
        Ok(lines.join("\n"))
    }

    /// Posts `text` in `channel` once on this platform under `key`. A channel chat refuses for
    /// good is logged and the post given up, so that it does not hold delivery back.
    async fn post_once(&self, channel: &str, key: &str, text: String, now: i64) -> Result<(), DeliveryError> {
        let retrying = self.store.begin_attempt(key).await?;
        let attempt = Attempt { key, retrying };
        match attempt.post(self.chat.as_ref(), Some(channel), None, &Outbound::Text(text)).await {
            Ok(_) => {}
            Err(e) if e.retryable() => return Err(e.into()),
            Err(e) => {
                tracing::warn!(channel, key, error = %e, "cannot post in a schedule's channel; giving this post up")
            }
        }
        self.store.record_posted_once(key, now).await?;
        Ok(())
    }
}

/// The last time in `(from, to]` the person on call in `schedule` changed.
fn last_change(rota: &Rota, schedule: &str, from: i64, to: i64) -> Option<i64> {
    let mut last = None;
    let mut at = from;
    while let Some((when, _)) = rota.next_handoff(schedule, at).filter(|(when, _)| *when <= to) {
        last = Some(when);
        at = when;
    }
    last
}

/// One story per incident, however many platforms told it, oldest first: the one that heard
/// the most — every platform is sent the same notifications, so it holds what the others heard,
/// such as an acknowledgement another platform has not delivered yet — and `platform`'s own on
/// a tie.
fn one_per_incident(told: Vec<PlatformStory>, platform: &str) -> Vec<IncidentStory> {
    let heard = |one: &PlatformStory| (one.story.lines.len(), one.platform == platform);
    let mut stories: Vec<PlatformStory> = Vec::new();
    let mut places: HashMap<IncidentKey, usize> = HashMap::new();
    for one in told {
        match places.get(&one.story.incident.key()) {
            Some(&place) if heard(&one) > heard(&stories[place]) => stories[place] = one,
            Some(_) => {}
            None => {
                places.insert(one.story.incident.key(), stories.len());
                stories.push(one);
            }
        }
    }
    stories.into_iter().map(|one| one.story).collect()
}

/// What the shift of `person` from `start` to `end` saw of `stories`.
fn shift_lines(
    stories: &[IncidentStory],
    person: &str,
    start: i64,
    end: i64,
    zone: &jiff::tz::TimeZone,
) -> Vec<String> {
    let during = |at: Option<i64>| at.is_some_and(|at| (start..end).contains(&at));
    let open: Vec<&IncidentStory> =
        stories.iter().filter(|story| story.incident.closed_at.is_none_or(|closed| closed >= end)).collect();
    let new = stories.iter().filter(|story| during(Some(story.incident.opened_at))).count();
    let acknowledged_count = stories.iter().filter(|story| during(story.acknowledged_at())).count();
    let recovered = stories.iter().filter(|story| during(story.incident.closed_at)).count();
    let mut lines = Vec::new();
    if open.is_empty() {
        lines.push("open now: nothing".to_owned());
    } else {
        let held: Vec<String> = open
            .iter()
            .map(|story| {
                let card = &story.incident.card;
                let holder = match acknowledged_by(&card.history) {
                    Some(by) if acknowledged(card) => format!("acknowledged by {by}"),
                    _ => "not acknowledged".to_owned(),
                };
                format!("{} {} ({holder})", card.object, card.state)
            })
            .collect();
        lines.push(format!("open now: {}", held.join(", ")));
    }
    lines.push(format!(
        "{person}'s shift since {}: {new} new, {acknowledged_count} acknowledged, {recovered} recovered, {} still open",
        format_local(start, zone),
        open.len()
    ));
    let to_acknowledge: Vec<String> = stories
        .iter()
        .filter_map(|story| {
            let at = story.acknowledged_at().filter(|at| during(Some(*at)))?;
            Some(format!("{} {}", story.incident.object, format_length(at - story.incident.opened_at)))
        })
        .collect();
    if !to_acknowledge.is_empty() {
        lines.push(format!("time to acknowledge: {}", to_acknowledge.join(", ")));
    }
    lines
}

impl Watch {
    fn of(&self, schedule: &str) -> Option<Watched> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(schedule).copied()
    }

    /// `schedule` is watched since `since`; nothing looked at yet.
    fn start(&self, schedule: &str, since: i64) -> Watched {
        let watched = Watched { since, checked: None };
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(schedule.to_owned(), watched);
        watched
    }

    /// Handoffs of `schedule` up to `now` are summed up.
    fn checked(&self, schedule: &str, now: i64) {
        let mut watched = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(watched) = watched.get_mut(schedule) {
            watched.checked = Some(now);
        }
    }
}
