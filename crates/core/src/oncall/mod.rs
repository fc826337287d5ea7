//! Who is on call, while hagios runs: the `[[oncall]]` schedules with the shifts their calendar
//! feeds gave last (`feed.rs`, `calendar.rs`) and the overrides typed in chat on top, the people
//! behind the chat ids (`people.rs`), and the desk that answers the on-call and incident
//! commands (`desk.rs`). One [`Rota`] is shared by every platform's pipeline (paging, handovers)
//! and the desk, so an override from chat takes effect at once everywhere.

pub mod calendar;
pub mod chart;
mod desk;
pub mod feed;
pub mod people;
pub mod report;
#[cfg(test)]
pub(crate) mod testing;
pub mod timeline;

use crate::config::{Config, Escalation, LayerSource, Schedule};
use crate::matching::rota::{self, Coverage};
use crate::matching::rotation::Restricted;
pub use desk::OnCallDesk;
use hagios_store::Override;
pub use people::People;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// How far ahead the next handoff is looked for.
pub const HANDOFF_HORIZON_SECONDS: i64 = 35 * 86_400;

/// Spans of time, each with its person; where spans overlap the later one in the list wins.
/// The shifts of a calendar feed (later starts win) and a schedule's overrides (later ones win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans(pub Vec<Span>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: i64,
    pub end: i64,
    pub person: String,
}

impl Coverage for Spans {
    fn on_call_at(&self, time: i64) -> Option<&str> {
        self.0.iter().rev().find(|span| (span.start..span.end).contains(&time)).map(|span| span.person.as_str())
    }

    fn next_change_after(&self, time: i64) -> Option<i64> {
        self.0.iter().flat_map(|span| [span.start, span.end]).filter(|edge| *edge > time).min()
    }
}

/// The person on call in a schedule, and where that comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub person: String,
    /// The layer's name, or [`OVERRIDE`].
    pub layer: String,
}

/// What an override is called where a layer's name would be.
pub const OVERRIDE: &str = "override";

/// A calendar feed that cannot be read now: since when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedFailure {
    pub schedule: String,
    pub layer: String,
    pub since: i64,
    pub error: String,
}

#[derive(Default)]
pub struct Rota {
    schedules: Vec<Schedule>,
    escalations: Vec<Escalation>,
    pub people: People,
    /// The shifts each calendar layer's feed gave last, by schedule and layer index.
    shifts: RwLock<HashMap<(usize, usize), Arc<Spans>>>,
    /// Overrides in force or to come, by schedule name.
    overrides: RwLock<HashMap<String, Arc<Spans>>>,
    failures: Mutex<Vec<FeedFailure>>,
}

impl Rota {
    pub fn new(config: &Config) -> Rota {
        Rota {
            schedules: config.schedules.clone(),
            escalations: config.escalations.clone(),
            people: People::new(&config.users),
            shifts: RwLock::default(),
            overrides: RwLock::default(),
            failures: Mutex::default(),
        }
    }

    pub fn schedules(&self) -> &[Schedule] {
        &self.schedules
    }

    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|schedule| schedule.name == name)
    }

    /// The policy called `name`, or the default one (the person on call, at once).
    pub fn policy(&self, name: &str) -> Escalation {
        self.escalations.iter().find(|policy| policy.name == name).cloned().unwrap_or_else(Escalation::default_policy)
    }

    /// The person on call in `schedule` at `at`: overrides first, then the highest layer with
    /// someone.
    pub fn on_call(&self, schedule: &str, at: i64) -> Option<OnCall> {
        self.with_layers(schedule, |layers, names| {
            rota::on_call(layers, at)
                .map(|(index, person)| OnCall { person: person.to_owned(), layer: names[index].clone() })
        })?
    }

    /// The person `layer` of `schedule` has on call at `at`, whatever the layers above say.
    pub fn on_layer(&self, schedule: &str, layer: &str, at: i64) -> Option<String> {
        self.with_layers(schedule, |layers, names| {
            let index = names.iter().position(|name| name == layer)?;
            layers[index].on_call_at(at).map(str::to_owned)
        })?
    }

    /// The next time the person on call in `schedule` changes after `at`, and who is on call
    /// then (nobody: a gap).
    pub fn next_handoff(&self, schedule: &str, at: i64) -> Option<(i64, Option<String>)> {
        self.with_layers(schedule, |layers, _| {
            rota::next_handoff(layers, at, at + HANDOFF_HORIZON_SECONDS)
                .map(|(when, person)| (when, person.map(str::to_owned)))
        })?
    }

    /// Calls `work` with the layers of `schedule`, lowest first (overrides on top), and their
    /// names; `None` for an unknown schedule.
    fn with_layers<T>(&self, schedule: &str, work: impl FnOnce(&[&dyn Coverage], &[String]) -> T) -> Option<T> {
        let (index, config) = self.schedules.iter().enumerate().find(|(_, candidate)| candidate.name == schedule)?;
        let shifts = self.shifts.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let empty = Spans::default();
        let calendars: Vec<Restricted<'_, &Spans>> = config
            .layers
            .iter()
            .enumerate()
            .filter(|(_, layer)| matches!(layer.source, LayerSource::Calendar(_)))
            .map(|(layer_index, layer)| Restricted {
                inner: shifts.get(&(index, layer_index)).map_or(&empty, |spans| spans.as_ref()),
                window: layer.window.as_ref(),
            })
            .collect();
        let rotations: Vec<_> = config.layers.iter().filter_map(|layer| layer.rotation()).collect();
        let (mut from_calendars, mut from_rotations) = (calendars.iter(), rotations.iter());
        let mut layers: Vec<&dyn Coverage> = Vec::with_capacity(config.layers.len() + 1);
        let mut names: Vec<String> = Vec::with_capacity(config.layers.len() + 1);
        for layer in &config.layers {
            let coverage: Option<&dyn Coverage> = match layer.source {
                LayerSource::Rotation(_) => from_rotations.next().map(|layer| layer as &dyn Coverage),
                LayerSource::Calendar(_) => from_calendars.next().map(|layer| layer as &dyn Coverage),
            };
            layers.extend(coverage);
            names.push(layer.name.clone());
        }
        let overrides = self.overrides.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(overrides) = overrides.get(schedule) {
            layers.push(overrides.as_ref());
            names.push(OVERRIDE.to_owned());
        }
        Some(work(&layers, &names))
    }

    /// Puts the overrides kept in the store in force (all of them, every schedule's).
    pub fn set_overrides(&self, overrides: &[Override]) {
        let mut by_schedule: HashMap<String, Spans> = HashMap::new();
        for entry in overrides {
            let span = Span { start: entry.starts_at, end: entry.ends_at, person: entry.person.clone() };
            by_schedule.entry(entry.schedule.clone()).or_default().0.push(span);
        }
        let by_schedule = by_schedule.into_iter().map(|(schedule, spans)| (schedule, Arc::new(spans))).collect();
        *self.overrides.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = by_schedule;
    }

    /// Puts the shifts of layer `layer` of schedule `schedule` (indexes) in force.
    pub fn set_shifts(&self, schedule: usize, layer: usize, spans: Spans) {
        let mut shifts = self.shifts.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        shifts.insert((schedule, layer), Arc::new(spans));
    }

    /// Records that a feed cannot be read (kept with the time it first failed), or, with
    /// `None`, that it can again.
    pub fn feed_failed(&self, schedule: &str, layer: &str, failure: Option<(i64, String)>) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = failures.iter().position(|f| f.schedule == schedule && f.layer == layer);
        match (failure, known) {
            (None, Some(index)) => {
                failures.remove(index);
            }
            (Some((_, error)), Some(index)) => failures[index].error = error,
            (Some((since, error)), None) => {
                failures.push(FeedFailure { schedule: schedule.to_owned(), layer: layer.to_owned(), since, error })
            }
            (None, None) => {}
        }
    }

    /// The feeds that cannot be read now.
    pub fn feed_failures(&self) -> Vec<FeedFailure> {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Lets spawned tasks (and the blocking file work they wait for) run on a paused clock.
    pub(crate) async fn settle() {
        for _ in 0..20 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn config(text: &str) -> Config {
        toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    const DB: &str = "[[user]]\nchat_id = \"U1\"\nroles = []\nperson = \"alice\"\n[[user]]\nchat_id = \"U2\"\nroles = []\nperson = \"bob\"\n\
        [[oncall]]\nname = \"db\"\ntimezone = \"Europe/Berlin\"\n\
        [[oncall.layer]]\nname = \"weekly\"\npeople = [\"alice\", \"bob\"]\nstart = \"2024-01-01 09:00\"\nlength = \"1w\"\n\
        [[oncall.layer]]\nname = \"nights\"\ncalendar = \"/nonexistent.ics\"\n";

    /// Epoch seconds of a wall-clock time in Berlin.
    fn berlin(civil: &str) -> i64 {
        jiff::tz::TimeZone::get("Europe/Berlin").unwrap().to_timestamp(civil.parse().unwrap()).unwrap().as_second()
    }

    #[test]
    fn overrides_beat_calendars_which_beat_the_rotation_below() {
        let rota = Rota::new(&config(DB));
        let monday = berlin("2024-05-06T12:00");
        assert_eq!(rota.on_call("db", monday), Some(OnCall { person: "alice".into(), layer: "weekly".into() }));
        assert_eq!(rota.on_call("nope", monday), None);
        let night = Span { start: berlin("2024-05-06T22:00"), end: berlin("2024-05-07T06:00"), person: "bob".into() };
        rota.set_shifts(0, 1, Spans(vec![night]));
        assert_eq!(rota.on_call("db", berlin("2024-05-06T23:00")).unwrap().layer, "nights");
        assert_eq!(rota.on_layer("db", "weekly", berlin("2024-05-06T23:00")).as_deref(), Some("alice"));
        assert_eq!(rota.next_handoff("db", monday), Some((berlin("2024-05-06T22:00"), Some("bob".into()))));

        let take = |person: &str, start: &str, end: &str, created_at: i64| Override {
            schedule: "db".into(),
            person: person.into(),
            starts_at: berlin(start),
            ends_at: berlin(end),
            replaces: None,
            author: person.into(),
            created_at,
        };
        rota.set_overrides(&[
            take("bob", "2024-05-06T12:00", "2024-05-06T14:00", 1),
            take("carol", "2024-05-06T13:00", "2024-05-06T13:30", 2),
        ]);
        assert_eq!(rota.on_call("db", monday), Some(OnCall { person: "bob".into(), layer: OVERRIDE.into() }));
        assert_eq!(rota.on_call("db", berlin("2024-05-06T13:10")).unwrap().person, "carol", "the later one wins");
        assert_eq!(rota.next_handoff("db", monday), Some((berlin("2024-05-06T13:00"), Some("carol".into()))));
        assert_eq!(rota.on_call("db", berlin("2024-05-06T14:00")).unwrap().person, "alice");
    }

    #[test]
    fn a_failing_feed_is_remembered_from_its_first_failure_until_it_reads_again() {
        let rota = Rota::new(&config(DB));
        rota.feed_failed("db", "nights", Some((100, "timed out".into())));
        rota.feed_failed("db", "nights", Some((160, "HTTP 500".into())));
        let failures = rota.feed_failures();
        assert_eq!((failures.len(), failures[0].since, failures[0].error.as_str()), (1, 100, "HTTP 500"));
        rota.feed_failed("db", "nights", None);
        assert!(rota.feed_failures().is_empty());
    }
}
