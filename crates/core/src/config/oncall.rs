//! `[[oncall]]` schedules and `[[escalation]]` policies (docs/oncall.md). A schedule stacks
//! layers, lowest first: rotations of people (by their `[[user]] person`, or a `chat_id` that
//! stands for a person of its own) with a first handoff and a turn length, or an iCalendar feed
//! (a URL or a file); each layer may be restricted to a weekly window. A policy lists the steps
//! paging takes for an incident nobody acknowledges. A route names both (`oncall`, `escalation`).

use super::route::targets_of;
use super::UserConfig;
use crate::matching::rota::{self, Coverage};
use crate::matching::rotation::{Restricted, Rotation};
use crate::matching::window::{week_days, DailySpan, Weekly};
use hagios_chat::Platform;
use hagios_domain::config_text::{duration, time_zone};
use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One `[[oncall]]` schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ScheduleSection")]
pub struct Schedule {
    pub name: String,
    /// The zone rotations hand off and restrictions open in, and handovers are written in.
    pub timezone: TimeZone,
    /// Where handover summaries and feed notices go on each platform (`channel`, `matrix_room`).
    pub targets: BTreeMap<Platform, String>,
    /// Lowest first: the highest layer with someone on call decides.
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub source: LayerSource,
    /// The weekly window the layer covers; always when `None`.
    pub window: Option<Weekly>,
}

#[derive(Debug, Clone)]
pub enum LayerSource {
    Rotation(Rotation),
    /// Shifts from an iCalendar feed: each event names its person in its summary.
    Calendar(CalendarFeed),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeed {
    pub source: FeedSource,
    /// How often the feed is read again.
    pub refresh: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    Url(String),
    File(PathBuf),
}

impl std::fmt::Display for FeedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedSource::Url(url) => f.write_str(url),
            FeedSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The section as written.
#[derive(Deserialize)]
struct ScheduleSection {
    name: String,
    /// An IANA name (`Europe/Berlin`); the host's local time zone when left out.
    #[serde(default = "TimeZone::system", deserialize_with = "time_zone")]
    timezone: TimeZone,
    #[serde(default, rename = "layer")]
    layers: Vec<LayerSection>,
    #[serde(flatten)]
    targets: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerSection {
    name: Option<String>,
    #[serde(default)]
    people: Vec<String>,
    /// The first handoff, `2024-01-01 09:00` on the schedule's wall clock.
    start: Option<String>,
    #[serde(default, deserialize_with = "duration::optional")]
    length: Option<Duration>,
    /// An `https://` URL or a file's path.
    calendar: Option<String>,
    #[serde(default, deserialize_with = "duration::optional")]
    refresh: Option<Duration>,
    #[serde(default, deserialize_with = "week_days")]
    days: Vec<Weekday>,
    #[serde(default)]
    times: Vec<String>,
}

/// How often a calendar feed is read again unless the layer says.
const DEFAULT_REFRESH: Duration = Duration::from_secs(15 * 60);
/// Feeds are not read more often than this: a calendar server is not a monitoring target.
const SHORTEST_REFRESH: Duration = Duration::from_secs(60);

impl TryFrom<ScheduleSection> for Schedule {
    type Error = String;

    fn try_from(section: ScheduleSection) -> Result<Self, String> {
        let name = section.name;
        let targets = targets_of("[[oncall]]", section.targets, "the schedule's own keys are name, timezone, layer")?;
        let layers = section
            .layers
            .into_iter()
            .enumerate()
            .map(|(index, layer)| layer_of(&name, index, layer, &section.timezone))
            .collect::<Result<Vec<_>, _>>()?;
        if layers.is_empty() {
            return Err(format!(
                "[[oncall]] `{name}` has no [[oncall.layer]]: add a rotation (people, start, length) or a calendar"
            ));
        }
        Ok(Schedule { name, timezone: section.timezone, targets, layers })
    }
}

fn layer_of(schedule: &str, index: usize, section: LayerSection, timezone: &TimeZone) -> Result<Layer, String> {
    let name = section.name.unwrap_or_else(|| format!("layer {}", index + 1));
    let what = format!("[[oncall]] `{schedule}` layer `{name}`");
    let source = match (section.calendar, section.people.is_empty()) {
        (Some(_), false) => {
            return Err(format!("{what} has both people and a calendar: make them two layers"));
        }
        (Some(calendar), true) => {
            if section.start.is_some() || section.length.is_some() {
                return Err(format!("{what}: a calendar layer takes its shifts from the feed, not start or length"));
            }
            let refresh = section.refresh.unwrap_or(DEFAULT_REFRESH);
            if refresh < SHORTEST_REFRESH {
                return Err(format!("{what} refresh is below 1m: use at least \"1m\" (default \"15m\")"));
            }
            let source = if calendar.starts_with("https://") || calendar.starts_with("http://") {
                FeedSource::Url(calendar)
            } else {
                FeedSource::File(PathBuf::from(calendar))
            };
            LayerSource::Calendar(CalendarFeed { source, refresh })
        }
        (None, true) => {
            return Err(format!("{what} names no people and no calendar: add people = [\"…\"] or calendar = \"…\""));
        }
        (None, false) => {
            let start = section
                .start
                .ok_or_else(|| format!("{what} has no start: the first handoff, like start = \"2024-01-01 09:00\""))?;
            let start: DateTime = start.parse().map_err(|e| {
                format!("{what} start `{start}` is not a date and time like \"2024-01-01 09:00\" ({e})")
            })?;
            let length = section.length.ok_or_else(|| {
                format!("{what} has no length: how long each turn is, like \"1w\", \"1d\" or \"12h\"")
            })?;
            if length < Duration::from_secs(60) {
                return Err(format!(
                    "{what} length is below 1m: turns are at least a minute, usually \"1d\" or \"1w\""
                ));
            }
            let length = SignedDuration::try_from(length).map_err(|_| format!("{what} length is too long"))?;
            let rotation = Rotation { people: section.people, start, length, timezone: timezone.clone() };
            LayerSource::Rotation(rotation)
        }
    };
    let spans = section
        .times
        .iter()
        .map(|text| {
            DailySpan::parse(text).ok_or_else(|| {
                format!(
                    "{what}: `{text}` is not a span like \"09:00-17:00\" (start and end differ; \"00:00-24:00\" is \
                     all day)"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let window = match (section.days.is_empty(), spans.is_empty()) {
        (true, true) => None,
        (_, true) => Some(Weekly { days: section.days, spans: vec![DailySpan::ALL_DAY], timezone: timezone.clone() }),
        _ => Some(Weekly { days: section.days, spans, timezone: timezone.clone() }),
    };
    Ok(Layer { name, source, window })
}

impl Layer {
    /// The layer's rotation, restricted to its window; `None` for a calendar layer.
    pub fn rotation(&self) -> Option<Restricted<'_, &Rotation>> {
        match &self.source {
            LayerSource::Rotation(rotation) => Some(Restricted { inner: rotation, window: self.window.as_ref() }),
            LayerSource::Calendar(_) => None,
        }
    }
}

impl Schedule {
    /// Everything wrong with the schedule among these users, each with what to do.
    pub fn problems(&self, users: &[UserConfig]) -> Vec<String> {
        let mut problems = Vec::new();
        for layer in &self.layers {
            let LayerSource::Rotation(rotation) = &layer.source else { continue };
            for person in &rotation.people {
                if !is_known_person(person, users) {
                    problems.push(format!(
                        "[[oncall]] `{}` layer `{}` names `{person}`, whom no [[user]] has as person or chat_id: \
                         add person = \"{person}\" to their [[user]] entries",
                        self.name, layer.name
                    ));
                }
            }
        }
        problems
    }

    /// When nobody is on call in the weeks after `now`, as `config check` notes it; calendar
    /// layers are left out, their shifts are known only once read.
    pub fn gaps_note(&self, now: i64) -> Option<String> {
        let rotations: Vec<Restricted<'_, &Rotation>> = self.layers.iter().filter_map(Layer::rotation).collect();
        if rotations.len() < self.layers.len() {
            return None;
        }
        let layers: Vec<&dyn Coverage> = rotations.iter().map(|layer| layer as &dyn Coverage).collect();
        let gaps = rota::gaps(&layers, now, now + GAP_HORIZON_SECONDS);
        let (start, end) = *gaps.first()?;
        let wall = |time: i64| match Timestamp::from_second(time) {
            Ok(moment) => moment.to_zoned_datetime(self.timezone.clone()).strftime("%a %Y-%m-%d %H:%M").to_string(),
            Err(_) => time.to_string(),
        };
        let more = match gaps.len() {
            1 => String::new(),
            count => format!(" and {} more times in the next four weeks", count - 1),
        };
        Some(format!(
            "[[oncall]] `{}` has nobody on call from {} to {}{more} (time zone {}): pages then reach nobody; add a \
             layer or widen a restriction",
            self.name,
            wall(start),
            wall(end),
            self.timezone.iana_name().unwrap_or("local")
        ))
    }

    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|layer| layer.name == name)
    }
}

/// How far ahead `config check` looks for gaps.
const GAP_HORIZON_SECONDS: i64 = 28 * 86_400;

/// Whether `person` names someone the `[[user]]` entries know: a `person`, or a `chat_id` that
/// stands for a person of its own.
pub fn is_known_person(person: &str, users: &[UserConfig]) -> bool {
    users.iter().any(|user| user.person.as_deref().unwrap_or(&user.chat_id) == person)
}

/// One `[[escalation]]` policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "EscalationSection")]
pub struct Escalation {
    pub name: String,
    /// In order of `after`.
    pub steps: Vec<Step>,
    /// How many times the steps start again, from the first, when the last one is not
    /// acknowledged either (`repeat`).
    pub repeat: u32,
    /// How long after the last step a new round begins (`repeat_after`).
    pub repeat_after: Duration,
}

/// One step of a policy as it comes in the paging of a thread, its rounds one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due<'p> {
    pub step: &'p Step,
    /// When it is due, from the moment paging began.
    pub after: Duration,
    /// Its place in its round, and the round's, both counted from 0.
    pub number: usize,
    pub round: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How long after the incident was posted the step pages, unless acknowledged before.
    pub after: Duration,
    pub notify: Notify,
}

/// Whom a step pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify {
    /// The person on call in the route's schedule.
    OnCall,
    /// The person on call in this layer of the route's schedule (a secondary, say).
    Layer(String),
    /// The person on call in another schedule.
    Schedule(String),
    /// A person by their `[[user]] person`.
    Person(String),
    /// Everyone in the channel (`@here` on Slack, `@room` on Matrix).
    Channel,
}

impl std::fmt::Display for Notify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notify::OnCall => f.write_str("oncall"),
            Notify::Layer(name) => write!(f, "layer:{name}"),
            Notify::Schedule(name) => write!(f, "schedule:{name}"),
            Notify::Person(name) => write!(f, "person:{name}"),
            Notify::Channel => f.write_str("channel"),
        }
    }
}

impl Escalation {
    /// What a route with a schedule and no policy does: page the person on call, at once.
    pub fn default_policy() -> Escalation {
        Escalation {
            name: DEFAULT_POLICY.to_owned(),
            steps: vec![Step { after: Duration::ZERO, notify: Notify::OnCall }],
            repeat: 0,
            repeat_after: DEFAULT_REPEAT_AFTER,
        }
    }

    /// How many steps paging goes through when nobody acknowledges, every round together.
    pub fn step_count(&self) -> usize {
        self.steps.len() * (self.repeat as usize + 1)
    }

    /// Step number `index` (from 0) of paging, counted over every round: round `r` begins
    /// `repeat_after` after the last step of round `r - 1`.
    pub fn due(&self, index: usize) -> Option<Due<'_>> {
        if index >= self.step_count() {
            return None;
        }
        let (round, number) = (index / self.steps.len(), index % self.steps.len());
        let last = self.steps.last().map_or(Duration::ZERO, |step| step.after);
        let rounds_before = (last + self.repeat_after) * u32::try_from(round).unwrap_or(u32::MAX);
        let step = &self.steps[number];
        Some(Due { step, after: rounds_before + step.after, number, round })
    }

    /// What `config check` says about the policy's steps among these schedules and users.
    pub fn problems(&self, schedules: &[Schedule], users: &[UserConfig]) -> Vec<String> {
        let mut problems = Vec::new();
        for step in &self.steps {
            match &step.notify {
                Notify::Schedule(name) if !schedules.iter().any(|schedule| &schedule.name == name) => problems.push(
                    format!("[[escalation]] `{}` pages schedule `{name}`, which no [[oncall]] defines", self.name),
                ),
                Notify::Person(name) if !is_known_person(name, users) => problems.push(format!(
                    "[[escalation]] `{}` pages `{name}`, whom no [[user]] has as person or chat_id",
                    self.name
                )),
                _ => {}
            }
        }
        problems
    }
}

/// The name of the policy of routes that name a schedule and no policy.
pub const DEFAULT_POLICY: &str = "default";
/// How long after the last step a repeated policy starts again, unless it says (as Opsgenie).
const DEFAULT_REPEAT_AFTER: Duration = Duration::from_secs(600);
/// More rounds than this page people for hours: a policy that needs it wants other steps.
const MAX_REPEAT: u32 = 10;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationSection {
    name: String,
    #[serde(rename = "step")]
    steps: Vec<StepSection>,
    #[serde(default)]
    repeat: u32,
    #[serde(default, deserialize_with = "duration::optional")]
    repeat_after: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSection {
    #[serde(default, deserialize_with = "duration::optional")]
    after: Option<Duration>,
    notify: String,
}

impl TryFrom<EscalationSection> for Escalation {
    type Error = String;

    fn try_from(section: EscalationSection) -> Result<Self, String> {
        let name = section.name;
        if name == DEFAULT_POLICY {
            return Err(format!(
                "[[escalation]] `{DEFAULT_POLICY}` is the name of the built-in policy: choose another"
            ));
        }
        let mut steps = Vec::new();
        for step in section.steps {
            let notify = parse_notify(&step.notify).ok_or_else(|| {
                format!(
                    "[[escalation]] `{name}` step notify = \"{}\" is not one of \"oncall\", \"layer:NAME\", \
                     \"schedule:NAME\", \"person:NAME\", \"channel\"",
                    step.notify
                )
            })?;
            let after = step.after.unwrap_or(Duration::ZERO);
            if steps.last().is_some_and(|last: &Step| last.after > after) {
                return Err(format!("[[escalation]] `{name}` steps must be in order of `after`"));
            }
            steps.push(Step { after, notify });
        }
        if steps.is_empty() {
            return Err(format!("[[escalation]] `{name}` has no [[escalation.step]]"));
        }
        if section.repeat > MAX_REPEAT {
            return Err(format!(
                "[[escalation]] `{name}` repeat = {} is more than {MAX_REPEAT}: page someone else in a later step",
                section.repeat
            ));
        }
        let repeat_after = match (section.repeat, section.repeat_after) {
            (0, Some(_)) => {
                return Err(format!("[[escalation]] `{name}` has repeat_after without repeat: add repeat = N"))
            }
            (_, Some(after)) if after < Duration::from_secs(60) => {
                return Err(format!("[[escalation]] `{name}` repeat_after must be at least \"1m\""))
            }
            (_, after) => after.unwrap_or(DEFAULT_REPEAT_AFTER),
        };
        Ok(Escalation { name, steps, repeat: section.repeat, repeat_after })
    }
}

fn parse_notify(text: &str) -> Option<Notify> {
    let text = text.trim();
    match text.split_once(':') {
        None if text == "oncall" => Some(Notify::OnCall),
        None if text == "channel" => Some(Notify::Channel),
        Some((kind, name)) if !name.trim().is_empty() => {
            let name = name.trim().to_owned();
            match kind {
                "layer" => Some(Notify::Layer(name)),
                "schedule" => Some(Notify::Schedule(name)),
                "person" => Some(Notify::Person(name)),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(text: &str) -> Result<Schedule, String> {
        toml::from_str::<Schedule>(text).map_err(|e| e.to_string())
    }

    fn user(chat_id: &str, person: Option<&str>) -> UserConfig {
        UserConfig { chat_id: chat_id.into(), roles: Vec::new(), person: person.map(str::to_owned) }
    }

    const WEEKLY: &str = "name = \"db\"\ntimezone = \"Europe/Berlin\"\nchannel = \"C0DB\"\n\
        [[layer]]\nname = \"primary\"\npeople = [\"alice\", \"bob\"]\nstart = \"2024-01-01 09:00\"\nlength = \"1w\"\n";

    #[test]
    fn a_schedule_reads_its_layers_targets_and_restrictions() {
        let text = format!(
            "{WEEKLY}[[layer]]\nname = \"office\"\npeople = [\"carol\"]\nstart = \"2024-01-01 09:00\"\nlength = \"1d\"\n\
             days = [\"mon\", \"tue\"]\ntimes = [\"09:00-17:00\"]\n[[layer]]\ncalendar = \"https://cal.example.org/x.ics\"\n"
        );
        let db = schedule(&text).unwrap();
        assert_eq!(db.targets.get(&Platform::Slack).map(String::as_str), Some("C0DB"));
        let names: Vec<&str> = db.layers.iter().map(|layer| layer.name.as_str()).collect();
        assert_eq!(names, ["primary", "office", "layer 3"]);
        assert!(db.layers[0].window.is_none() && db.layers[1].window.is_some());
        let LayerSource::Calendar(feed) = &db.layers[2].source else { panic!("a calendar layer") };
        assert_eq!(feed.source, FeedSource::Url("https://cal.example.org/x.ics".into()));
        assert_eq!(feed.refresh, DEFAULT_REFRESH);
        let users = [user("U1", Some("alice")), user("U2", Some("bob"))];
        assert_eq!(
            db.problems(&users),
            ["[[oncall]] `db` layer `office` names `carol`, whom no [[user]] has as person or chat_id: add person = \
              \"carol\" to their [[user]] entries"]
        );
        assert!(db.problems(&[user("U1", Some("alice")), user("U2", Some("bob")), user("carol", None)]).is_empty());
    }

    #[test]
    fn bad_layers_are_refused_with_the_fix() {
        let error = |layer: &str| schedule(&format!("name = \"x\"\n[[layer]]\n{layer}")).unwrap_err();
        assert!(error("people = [\"a\"]\nlength = \"1w\"\n").contains("has no start"));
        assert!(error("people = [\"a\"]\nstart = \"2024-01-01 09:00\"\n").contains("has no length"));
        assert!(error("people = [\"a\"]\nstart = \"monday\"\nlength = \"1w\"\n").contains("not a date and time"));
        assert!(error("people = [\"a\"]\ncalendar = \"x.ics\"\n").contains("both people and a calendar"));
        assert!(error("calendar = \"x.ics\"\nrefresh = \"5s\"\n").contains("refresh is below 1m"));
        assert!(error("name = \"n\"\n").contains("names no people and no calendar"));
        assert!(error("people = [\"a\"]\nstart = \"2024-01-01 09:00\"\nlength = \"1w\"\ntimes = [\"9-5\"]\n")
            .contains("not a span"));
        assert!(schedule("name = \"x\"\n").unwrap_err().contains("has no [[oncall.layer]]"));
        assert!(schedule("name = \"x\"\nchanel = \"C\"\n[[layer]]\ncalendar = \"x.ics\"\n")
            .unwrap_err()
            .contains("unknown [[oncall]] key `chanel`"));
    }

    #[test]
    fn gaps_are_noted_with_the_first_one_in_the_schedules_zone() {
        let db =
            schedule(&WEEKLY.replace(
                "length = \"1w\"\n",
                "length = \"1w\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n",
            ))
            .unwrap();
        // Thursday 2024-05-02 12:00 in Berlin.
        let now = 1_714_644_000;
        let note = db.gaps_note(now).expect("weekends are gaps");
        assert!(
            note.starts_with(
                "[[oncall]] `db` has nobody on call from Sat 2024-05-04 00:00 to Mon 2024-05-06 00:00 and 3 more times"
            ),
            "{note}"
        );
        assert!(note.contains("Europe/Berlin"), "{note}");
        assert_eq!(schedule(WEEKLY).unwrap().gaps_note(now), None, "a plain rotation covers every hour");
    }

    #[test]
    fn a_repeated_policy_starts_again_after_its_last_step_as_often_as_it_says() {
        let once: Escalation = toml::from_str("name = \"p\"\n[[step]]\nnotify = \"oncall\"\n").unwrap();
        assert_eq!((once.step_count(), once.due(1)), (1, None), "without repeat, the last step is the last");
        let policy: Escalation = toml::from_str(
            "name = \"p\"\nrepeat = 2\nrepeat_after = \"10m\"\n[[step]]\nnotify = \"oncall\"\n[[step]]\nafter = \"5m\"\n\
             notify = \"channel\"\n",
        )
        .unwrap();
        assert_eq!(policy.step_count(), 6);
        let due: Vec<(u64, usize, usize, String)> = (0..7)
            .filter_map(|index| policy.due(index))
            .map(|due| (due.after.as_secs() / 60, due.number, due.round, due.step.notify.to_string()))
            .collect();
        assert_eq!(
            due,
            [
                (0, 0, 0, "oncall".into()),
                (5, 1, 0, "channel".into()),
                (15, 0, 1, "oncall".into()),
                (20, 1, 1, "channel".into()),
                (30, 0, 2, "oncall".into()),
                (35, 1, 2, "channel".into()),
            ]
        );
        let default: Escalation = toml::from_str("name = \"p\"\nrepeat = 1\n[[step]]\nnotify = \"oncall\"\n").unwrap();
        assert_eq!(default.due(1).map(|due| due.after.as_secs()), Some(600), "10m after the last step, as Opsgenie");
    }

    #[test]
    fn policies_read_their_steps_in_order() {
        let policy: Escalation = toml::from_str(
            "name = \"db\"\n[[step]]\nnotify = \"oncall\"\n[[step]]\nafter = \"5m\"\nnotify = \"layer:secondary\"\n\
             [[step]]\nafter = \"15m\"\nnotify = \"channel\"\n",
        )
        .unwrap();
        let steps: Vec<(u64, String)> =
            policy.steps.iter().map(|step| (step.after.as_secs(), step.notify.to_string())).collect();
        assert_eq!(steps, [(0, "oncall".into()), (300, "layer:secondary".into()), (900, "channel".into())]);
        let error = |text: &str| toml::from_str::<Escalation>(text).unwrap_err().to_string();
        assert!(error("name = \"p\"\n[[step]]\nnotify = \"boss\"\n").contains("is not one of"));
        assert!(error("name = \"p\"\n[[step]]\nafter = \"5m\"\nnotify = \"oncall\"\n[[step]]\nnotify = \"channel\"\n")
            .contains("in order of `after`"));
        assert!(error("name = \"default\"\n[[step]]\nnotify = \"oncall\"\n").contains("built-in policy"));
        assert!(error("name = \"p\"\nrepeat = 11\n[[step]]\nnotify = \"oncall\"\n").contains("more than 10"));
        assert!(
            error("name = \"p\"\nrepeat_after = \"5m\"\n[[step]]\nnotify = \"oncall\"\n").contains("without repeat")
        );
        assert!(error("name = \"p\"\nrepeat = 1\nrepeat_after = \"5s\"\n[[step]]\nnotify = \"oncall\"\n")
            .contains("at least \"1m\""));
        let users = [user("U1", Some("alice"))];
        let missing: Escalation =
            toml::from_str("name = \"p\"\n[[step]]\nnotify = \"schedule:nope\"\n[[step]]\nnotify = \"person:zed\"\n")
                .unwrap();
        let problems = missing.problems(&[], &users).join("\n");
        assert!(problems.contains("schedule `nope`") && problems.contains("pages `zed`"), "{problems}");
    }
}
