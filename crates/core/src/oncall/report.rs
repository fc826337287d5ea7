//! `report [PERIOD]`: the numbers people look at — how fast incidents were acknowledged and
//! recovered per channel and per schedule, the noisiest services (notifications, flapping),
//! pages per person and at night — as a short message with a chart of incidents opened and
//! pages per day (per hour for two days or less).

use super::chart::{self, Series};
use super::desk::stored;
use super::Rota;
use hagios_commands::{format_length, format_local, DeskAnswer, DeskError};
use hagios_domain::Attachment;
use hagios_store::{IncidentStory, PagedStep, StoreHandle};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use plotters::style::RGBColor;
use std::collections::BTreeMap;

/// Services listed as the noisiest.
const NOISIEST: usize = 5;
/// Night, on the schedule's wall clock: from 22:00 to 07:00.
const NIGHT_FROM_HOUR: i8 = 22;
const NIGHT_UNTIL_HOUR: i8 = 7;
const OPENED_COLOR: RGBColor = RGBColor(31, 119, 180);
const PAGES_COLOR: RGBColor = RGBColor(255, 127, 14);

pub(super) async fn answer(
    store: &StoreHandle,
    rota: &Rota,
    zone: &TimeZone,
    since: i64,
    now: i64,
) -> Result<DeskAnswer, DeskError> {
    let stories: Vec<IncidentStory> = store
        .incident_stories_since(since)
        .await
        .map_err(stored)?
        .into_iter()
        .filter(|story| story.incident.opened_at >= since)
        .collect();
    let steps = store.paged_steps_since(since).await.map_err(stored)?;
    let report = Report::of(&stories, &steps, rota, since, now);
    let png = report.chart().map_err(|e| DeskError(format!("{e}; the numbers are above")))?;
    let text = report.text(zone);
    Ok(DeskAnswer {
        text,
        attachment: Some(Attachment { name: "report.png".into(), mime: "image/png".into(), bytes: png }),
    })
}

/// The numbers of one period.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub since: i64,
    pub until: i64,
    pub incidents: usize,
    pub still_open: usize,
    /// Channel → (incidents, seconds to acknowledge each acknowledged one, to recover each
    /// recovered one).
    pub channels: BTreeMap<String, Times>,
    /// Schedule → pages and how fast they were acknowledged.
    pub schedules: BTreeMap<String, Times>,
    /// Schedule → pages that went past their first step.
    pub escalated: BTreeMap<String, usize>,
    /// (object, notifications, flapping starts), noisiest first.
    pub noisiest: Vec<(String, usize, usize)>,
    /// Person → (steps that paged them, of those at night).
    pub paged: BTreeMap<String, (usize, usize)>,
    /// Per bucket: incidents opened, pages started.
    pub opened_per_bucket: Vec<u32>,
    pub pages_per_bucket: Vec<u32>,
    pub bucket_seconds: i64,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Times {
    pub count: usize,
    pub to_acknowledge: Vec<i64>,
    pub to_recover: Vec<i64>,
}

impl Report {
    pub fn of(stories: &[IncidentStory], steps: &[PagedStep], rota: &Rota, since: i64, until: i64) -> Report {
        let bucket_seconds = if until - since <= 2 * 86_400 { 3_600 } else { 86_400 };
        let buckets = usize::try_from((until - since + bucket_seconds - 1) / bucket_seconds).unwrap_or(0).max(1);
        let bucket_of = |at: i64| usize::try_from((at - since) / bucket_seconds).unwrap_or(0).min(buckets - 1);
        let mut report = Report {
            since,
            until,
            incidents: stories.len(),
            bucket_seconds,
            opened_per_bucket: vec![0; buckets],
            pages_per_bucket: vec![0; buckets],
            ..Report::default()
        };
        let mut noise: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for story in stories {
            let incident = &story.incident;
            report.still_open += usize::from(incident.is_open());
            report.opened_per_bucket[bucket_of(incident.opened_at)] += 1;
            let times = report.channels.entry(incident.channel.clone()).or_default();
            times.count += 1;
            times.to_acknowledge.extend(story.acknowledged_at().map(|at| at - incident.opened_at));
            times.to_recover.extend(incident.closed_at.map(|at| at - incident.opened_at));
            let noisy = noise.entry(incident.object.to_string()).or_default();
            noisy.0 += 1 + story.lines.len();
            noisy.1 += story.flaps();
        }
        let mut noisiest: Vec<(String, usize, usize)> =
            noise.into_iter().map(|(object, (notifications, flaps))| (object, notifications, flaps)).collect();
        noisiest.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then_with(|| a.0.cmp(&b.0)));
        noisiest.truncate(NOISIEST);
        report.noisiest = noisiest;
        for paged in steps {
            let (page, step) = (&paged.page, &paged.step);
            if step.step == 0 {
                report.pages_per_bucket[bucket_of(step.at)] += 1;
                let times = report.schedules.entry(page.schedule.clone()).or_default();
                times.count += 1;
                let acknowledged = page.stopped_why.as_deref().is_some_and(|why| why.starts_with("acknowledged"));
                if let (true, Some(stopped)) = (acknowledged, page.stopped_at) {
                    times.to_acknowledge.push(stopped - page.started_at);
                }
            } else if step.step == 1 {
                *report.escalated.entry(page.schedule.clone()).or_default() += 1;
            }
            let zone = rota.schedule(&page.schedule).map(|schedule| &schedule.timezone);
            for person in &step.people {
                let counts = report.paged.entry(person.clone()).or_default();
                counts.0 += 1;
                counts.1 += usize::from(zone.is_some_and(|zone| at_night(step.at, zone)));
            }
        }
        report
    }

    /// The short message.
    pub fn text(&self, zone: &TimeZone) -> String {
        let mut lines = vec![format!(
            "report {} – {} ({}): {} incidents, {} still open",
            format_local(self.since, zone),
            format_local(self.until, zone),
            zone.iana_name().unwrap_or("UTC"),
            self.incidents,
            self.still_open
        )];
        if !self.channels.is_empty() {
            let channels: Vec<String> =
                self.channels.iter().map(|(channel, times)| format!("{channel} {}", times.describe())).collect();
            lines.push(format!("per channel: {}", channels.join("; ")));
        }
        if !self.schedules.is_empty() {
            let schedules: Vec<String> = self
                .schedules
                .iter()
                .map(|(schedule, times)| {
                    let escalated = self.escalated.get(schedule).copied().unwrap_or(0);
                    format!("{schedule} {}, {escalated} escalated", times.describe_pages())
                })
                .collect();
            lines.push(format!("per schedule: {}", schedules.join("; ")));
        }
        if !self.noisiest.is_empty() {
            let noisiest: Vec<String> = self
                .noisiest
                .iter()
                .map(|(object, notifications, flaps)| match flaps {
                    0 => format!("{object} {notifications}"),
                    flaps => format!("{object} {notifications} ({flaps} flapping)"),
                })
                .collect();
            lines.push(format!("noisiest (notifications): {}", noisiest.join(", ")));
        }
        if !self.paged.is_empty() {
            let paged: Vec<String> =
                self.paged.iter().map(|(person, (all, night))| format!("{person} {all} ({night} at night)")).collect();
            lines.push(format!("pages per person: {}", paged.join(", ")));
        }
        let bucket = if self.bucket_seconds == 3_600 { "hour" } else { "day" };
        lines.push(format!("chart: incidents opened (blue) and pages (orange) per {bucket}, oldest left"));
        lines.join("\n")
    }

    pub fn chart(&self) -> Result<Vec<u8>, chart::ChartError> {
        chart::bars(&[
            Series { counts: &self.opened_per_bucket, color: OPENED_COLOR },
            Series { counts: &self.pages_per_bucket, color: PAGES_COLOR },
        ])
    }
}

impl Times {
    /// `8 incidents, acknowledged in 5m, recovered in 1h (medians)`.
    fn describe(&self) -> String {
        let mut text = format!("{} incidents", self.count);
        if let Some(median) = median(&self.to_acknowledge) {
            text.push_str(&format!(", acknowledged in {}", format_length(median)));
        }
        if let Some(median) = median(&self.to_recover) {
            text.push_str(&format!(", recovered in {}", format_length(median)));
        }
        text
    }

    fn describe_pages(&self) -> String {
        match median(&self.to_acknowledge) {
            Some(median) => format!("{} pages, acknowledged in {} (median)", self.count, format_length(median)),
            None => format!("{} pages, none acknowledged", self.count),
        }
    }
}

fn median(values: &[i64]) -> Option<i64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied()
}

fn at_night(at: i64, zone: &TimeZone) -> bool {
    let Ok(moment) = Timestamp::from_second(at) else { return false };
    let hour = moment.to_zoned_datetime(zone.clone()).hour();
    !(NIGHT_UNTIL_HOUR..NIGHT_FROM_HOUR).contains(&hour)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use hagios_domain::{AlertCard, MessageRef, NotificationType, ObjectRef, State};
    use hagios_store::{HistoryLine, Incident, IncidentId, Page, PageId, PageStep};

    const DAY: i64 = 86_400;
    /// 2024-05-06 00:00 UTC, a Monday.
    const MONDAY: i64 = 1_714_953_600;

    fn story(id: i64, host: &str, opened_at: i64, lines: &[(i64, &str)], closed_at: Option<i64>) -> IncidentStory {
        let object = ObjectRef { host: host.into(), service: None };
        let card = AlertCard {
            site: "local".into(),
            object: object.clone(),
            state: State::Down,
            kind: NotificationType::Problem,
            output: String::new(),
            long_output: String::new(),
            history: Vec::new(),
            open: closed_at.is_none(),
            time: opened_at,
        };
        let incident = Incident {
            id: IncidentId(id),
            site: "local".into(),
            object,
            channel: "#ops".into(),
            message_id: id.to_string(),
            card,
            history: Vec::new(),
            opened_at,
            closed_at,
        };
        let lines = lines
            .iter()
            .map(|(at, kind)| HistoryLine { at: Some(*at), kind: Some((*kind).into()), line: String::new() })
            .collect();
        IncidentStory { incident, lines }
    }

    fn step(page: i64, number: u32, at: i64, person: &str, stopped: Option<(i64, &str)>) -> PagedStep {
        PagedStep {
            page: Page {
                id: PageId(page),
                thread: MessageRef { channel: "#ops".into(), id: page.to_string() },
                schedule: "db".into(),
                policy: "default".into(),
                started_at: at - i64::from(number) * 300,
                steps: number + 1,
                forced: 0,
                forced_note: None,
                paused_since: None,
                paused_for: 0,
                stopped_at: stopped.map(|(at, _)| at),
                stopped_why: stopped.map(|(_, why)| why.to_owned()),
            },
            step: PageStep { step: number, at, people: vec![person.into()], text: String::new() },
        }
    }

    #[test]
    fn a_week_in_numbers() {
        let config: Config = toml::from_str(
            "[[oncall]]\nname = \"db\"\ntimezone = \"UTC\"\n[[oncall.layer]]\npeople = [\"alice\"]\n\
             start = \"2024-01-01 09:00\"\nlength = \"1w\"\n",
        )
        .unwrap();
        let rota = Rota::new(&config);
        let stories = [
            story(
                1,
                "db01",
                MONDAY + 3_600,
                &[(MONDAY + 3_900, "ACKNOWLEDGEMENT"), (MONDAY + 7_200, "RECOVERY")],
                Some(MONDAY + 7_200),
            ),
            story(2, "web01", MONDAY + 2 * DAY, &[(MONDAY + 2 * DAY + 60, "FLAPPINGSTART")], None),
        ];
        let steps = [
            step(1, 0, MONDAY + 3_600, "alice", Some((MONDAY + 3_900, "acknowledged by alice"))),
            step(2, 0, MONDAY + 2 * DAY + 12 * 3_600, "alice", None),
            step(2, 1, MONDAY + 2 * DAY + 12 * 3_600 + 300, "bob", None),
        ];
        let report = Report::of(&stories, &steps, &rota, MONDAY, MONDAY + 7 * DAY);
        assert_eq!((report.incidents, report.still_open), (2, 1));
        assert_eq!(report.opened_per_bucket, [1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(report.pages_per_bucket, [1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(report.noisiest[0], ("db01".to_owned(), 3, 0));
        assert_eq!(report.paged["alice"], (2, 1), "01:00 UTC is night");
        assert_eq!(report.paged["bob"], (1, 0));
        let text = report.text(&TimeZone::UTC);
        assert!(text.contains("per channel: #ops 2 incidents, acknowledged in 5m, recovered in 1h"), "{text}");
        assert!(text.contains("per schedule: db 2 pages, acknowledged in 5m (median), 1 escalated"), "{text}");
        assert!(text.contains("noisiest (notifications): db01 3, web01 2 (1 flapping)"), "{text}");
        assert!(text.contains("per day"), "{text}");
        assert!(report.chart().unwrap().starts_with(b"\x89PNG"));
    }
}
