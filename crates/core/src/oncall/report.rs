//! `report [PERIOD]`: the numbers people look at — how fast incidents were acknowledged and
//! recovered per route and per schedule, the noisiest services (notifications, flapping),
//! pages per person and at night — as a short message with a chart of incidents opened and
//! pages per day (per hour for two days or less).

use super::chart::{self, Series};
use super::desk::stored;
use super::Rota;
use crate::config::{RouteConfig, DEFAULT_ROUTE_LABEL};
use hagios_chat::Platform;
use hagios_commands::{format_length, format_local, DeskAnswer, DeskError};
use hagios_domain::{plural, Attachment};
use hagios_store::{IncidentKey, IncidentStory, PagedStep, PlatformStory, StoreHandle};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use plotters::style::RGBColor;
use std::collections::{BTreeMap, BTreeSet};

/// Services listed as the noisiest.
const NOISIEST: usize = 5;
/// Night, on the schedule's wall clock: from 22:00 to 07:00.
const NIGHT_FROM_HOUR: i8 = 22;
const NIGHT_UNTIL_HOUR: i8 = 7;
const OPENED_COLOR: RGBColor = RGBColor(31, 119, 180);
const PAGES_COLOR: RGBColor = RGBColor(255, 127, 14);

/// Where a report's numbers come from: the store (every platform's records in it), the
/// platforms configured in order, the routes incidents are counted by, the schedules, and the
/// zone the message's times are written in.
pub struct Counter<'a> {
    pub store: &'a StoreHandle,
    pub platforms: &'a [String],
    pub routes: &'a [RouteConfig],
    pub rota: &'a Rota,
    pub zone: &'a TimeZone,
}

impl Counter<'_> {
    /// The report of `since` to `now`: the message and its chart.
    pub async fn answer(&self, since: i64, now: i64) -> Result<DeskAnswer, DeskError> {
        let told: Vec<PlatformStory> = self
            .store
            .stories_everywhere_since(since)
            .await
            .map_err(stored)?
            .into_iter()
            .filter(|told| told.story.incident.opened_at >= since)
            .collect();
        let steps = self.store.paged_steps_everywhere_since(since).await.map_err(stored)?;
        let history = History { told: &told, steps: &steps, platforms: self.platforms, routes: self.routes };
        let report = Report::of(&history, self.rota, since, now);
        let png = report.chart().map_err(|e| DeskError(format!("{e}; the numbers are above")))?;
        Ok(DeskAnswer {
            text: report.text(self.zone),
            attachment: Some(Attachment { name: "report.png".into(), mime: "image/png".into(), bytes: png }),
        })
    }
}

/// What a report is made of: the incidents of the period as each platform told them, the steps
/// paged on each platform, the platforms' order and the routes.
pub struct History<'a> {
    pub told: &'a [PlatformStory],
    pub steps: &'a [PagedStep],
    /// In the configured order: an incident posted on several platforms is counted once, as
    /// the first of them told it.
    pub platforms: &'a [String],
    pub routes: &'a [RouteConfig],
}

/// A page wherever it was paged: the incident it was for, or (that incident pruned) the
/// platform and the page.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PageKey {
    Incident(IncidentKey),
    Page(String, i64),
}

/// The numbers of one period.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub since: i64,
    pub until: i64,
    pub incidents: usize,
    pub still_open: usize,
    /// Route (its name, or what it matches) → incidents, how fast each was acknowledged and
    /// recovered.
    pub routes: BTreeMap<String, Times>,
    /// Schedule → incidents paged for it, how fast each was acknowledged and recovered.
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

impl Times {
    fn add(&mut self, acknowledged_after: Option<i64>, recovered_after: Option<i64>) {
        self.count += 1;
        self.to_acknowledge.extend(acknowledged_after);
        self.to_recover.extend(recovered_after);
    }
}

impl Report {
    pub fn of(history: &History<'_>, rota: &Rota, since: i64, until: i64) -> Report {
        let bucket_seconds = if until - since <= 2 * 86_400 { 3_600 } else { 86_400 };
        let buckets = usize::try_from((until - since + bucket_seconds - 1) / bucket_seconds).unwrap_or(0).max(1);
        let bucket_of = |at: i64| usize::try_from((at - since) / bucket_seconds).unwrap_or(0).min(buckets - 1);
        let mut report = Report {
            since,
            until,
            bucket_seconds,
            opened_per_bucket: vec![0; buckets],
            pages_per_bucket: vec![0; buckets],
            ..Report::default()
        };
        // Each incident once, as the first configured platform told it.
        let rank = |platform: &str| history.platforms.iter().position(|known| known == platform);
        let mut told: Vec<&PlatformStory> = history.told.iter().collect();
        told.sort_by_key(|told| rank(&told.platform));
        let mut incidents: BTreeMap<IncidentKey, &PlatformStory> = BTreeMap::new();
        for one in told {
            incidents.entry(one.story.incident.key()).or_insert(one);
        }
        let sites: BTreeSet<&str> = incidents.keys().map(|key| key.site.as_str()).collect();
        let mut noise: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for one in incidents.values() {
            let (story, incident) = (&one.story, &one.story.incident);
            report.incidents += 1;
            report.still_open += usize::from(incident.is_open());
            report.opened_per_bucket[bucket_of(incident.opened_at)] += 1;
            let (acknowledged, recovered) = times_of(story);
            report.routes.entry(route_of(history.routes, one)).or_default().add(acknowledged, recovered);
            let object = match sites.len() {
                1 => incident.object.to_string(),
                _ => format!("{}:{}", incident.site, incident.object),
            };
            let noisy = noise.entry(object).or_default();
            noisy.0 += 1 + story.lines.len();
            noisy.1 += story.flaps();
        }
        let mut noisiest: Vec<(String, usize, usize)> =
            noise.into_iter().map(|(object, (notifications, flaps))| (object, notifications, flaps)).collect();
        noisiest.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then_with(|| a.0.cmp(&b.0)));
        noisiest.truncate(NOISIEST);
        report.noisiest = noisiest;

        // A step paged on several platforms for one incident paged its people once.
        let mut seen: BTreeSet<(PageKey, String, u32)> = BTreeSet::new();
        for paged in history.steps {
            let (page, step) = (&paged.page, &paged.step);
            let key = match &paged.incident {
                Some(incident) => PageKey::Incident(incident.clone()),
                None => PageKey::Page(paged.platform.clone(), page.id.0),
            };
            if !seen.insert((key, page.schedule.clone(), step.step)) {
                continue;
            }
            if step.step == 0 {
                report.pages_per_bucket[bucket_of(step.at)] += 1;
                // The incident's own times, as per route; a page whose incident is gone tells
                // only when it stopped, and why.
                let (acknowledged, recovered) = match paged.incident.as_ref().and_then(|key| incidents.get(key)) {
                    Some(one) => times_of(&one.story),
                    None => {
                        let stopped = |why: &str| {
                            let at =
                                page.stopped_why.as_deref().filter(|said| said.starts_with(why)).and(page.stopped_at);
                            at.map(|at| at - page.started_at)
                        };
                        (stopped("acknowledged"), stopped("recovered"))
                    }
                };
                report.schedules.entry(page.schedule.clone()).or_default().add(acknowledged, recovered);
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
            "report {} – {} ({}): {}, {} still open",
            format_local(self.since, zone),
            format_local(self.until, zone),
            zone.iana_name().unwrap_or("UTC"),
            plural(self.incidents, "incident"),
            self.still_open
        )];
        if !self.routes.is_empty() {
            let routes: Vec<String> = self
                .routes
                .iter()
                .map(|(route, times)| format!("{route}: {}", times.describe(plural(times.count, "incident"))))
                .collect();
            lines.push(format!("per route (medians): {}", routes.join("; ")));
        }
        if !self.schedules.is_empty() {
            let schedules: Vec<String> = self
                .schedules
                .iter()
                .map(|(schedule, times)| {
                    let escalated = self.escalated.get(schedule).copied().unwrap_or(0);
                    format!("{schedule}: {}, {escalated} escalated", times.describe(format!("{} paged", times.count)))
                })
                .collect();
            lines.push(format!("per schedule (medians): {}", schedules.join("; ")));
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
    /// `8 incidents, acknowledged in 5m, recovered in 1h` (medians) after `counted`, the count
    /// as the line words it.
    fn describe(&self, counted: String) -> String {
        let mut text = counted;
        match median(&self.to_acknowledge) {
            Some(median) => text.push_str(&format!(", acknowledged in {}", format_length(median))),
            None => text.push_str(", none acknowledged"),
        }
        if let Some(median) = median(&self.to_recover) {
            text.push_str(&format!(", recovered in {}", format_length(median)));
        }
        text
    }
}

/// How long after it opened an incident was acknowledged, and recovered.
fn times_of(story: &IncidentStory) -> (Option<i64>, Option<i64>) {
    let opened = story.incident.opened_at;
    (story.acknowledged_at().map(|at| at - opened), story.incident.closed_at.map(|at| at - opened))
}

/// The route an incident came by, as recorded when it opened. An incident opened before hagios
/// recorded routes counts for the first route that sends to its channel on its platform and
/// matches its object's hosts and services, the default route when none does.
fn route_of(routes: &[RouteConfig], told: &PlatformStory) -> String {
    if let Some(route) = &told.route {
        return route.clone();
    }
    let incident = &told.story.incident;
    let Some(platform) = Platform::named(&told.platform) else { return DEFAULT_ROUTE_LABEL.to_owned() };
    routes
        .iter()
        .find(|route| route.may_have_taken(platform, &incident.channel, &incident.object))
        .map_or_else(|| DEFAULT_ROUTE_LABEL.to_owned(), RouteConfig::label)
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
    use crate::oncall::testing::Posting;
    use hagios_domain::NotificationType::{Acknowledgement, FlappingStart, Recovery};
    use hagios_domain::ObjectRef;
    use hagios_store::Store;

    const DAY: i64 = 86_400;
    const HOUR: i64 = 3_600;
    /// 2024-05-06 00:00 UTC, a Monday.
    const MONDAY: i64 = 1_714_953_600;

    const CONFIG: &str = r#"
        [[route]]
        name = "web"
        hosts = ["web*"]
        channel = "C_WEB"
        matrix_room = "!web:x"
        oncall = "web"

        [[route]]
        hosts = ["db*"]
        channel = "C_DB"

        [[oncall]]
        name = "web"
        timezone = "UTC"
        [[oncall.layer]]
        people = ["alice"]
        start = "2024-01-01 09:00"
        length = "1w"
    "#;

    /// A week on Slack and Matrix: web01!HTTP posted on both and paged on both at night,
    /// acknowledged after 5 minutes; db01 flapping and still open (no schedule); web02 paged at
    /// noon, escalated to bob, acknowledged after 15 minutes; mail01 to the default channel.
    fn a_known_week(store: &Store) {
        let slack = Posting::new(store, "slack", "C_WEB");
        let matrix = Posting::new(store, "matrix", "!web:x");
        let web01 = ObjectRef::service("web01", "HTTP");
        let opened = MONDAY + HOUR;
        for (posting, paged_at) in [(&slack, opened + 10), (&matrix, opened + 11)] {
            let id = posting.open(&web01, opened);
            posting.page(&web01, opened, &[("alice", paged_at)], Some((opened + 300, "acknowledged by alice")));
            posting.follow(id, &web01, &[(Acknowledgement, opened + 300), (Recovery, opened + HOUR)]);
        }
        let db = Posting::new(store, "slack", "C_DB");
        let db01 = ObjectRef::host("db01");
        let id = db.open(&db01, MONDAY + 2 * DAY + 12 * HOUR);
        db.follow(id, &db01, &[(FlappingStart, MONDAY + 2 * DAY + 12 * HOUR + 60)]);
        let web02 = ObjectRef::host("web02");
        let opened = MONDAY + 3 * DAY + 12 * HOUR;
        let id = slack.open(&web02, opened);
        slack.page(
            &web02,
            opened,
            &[("alice", opened + 10), ("bob", opened + 310)],
            Some((opened + 900, "acknowledged by bob")),
        );
        slack.follow(id, &web02, &[(Acknowledgement, opened + 900), (Recovery, opened + 2 * HOUR)]);
        let other = Posting::new(store, "slack", "C_DEFAULT");
        let mail01 = ObjectRef::host("mail01");
        let id = other.open(&mail01, MONDAY + 4 * DAY);
        other.follow(id, &mail01, &[(Recovery, MONDAY + 4 * DAY + 600)]);
    }

    #[tokio::test]
    async fn a_known_week_on_two_platforms_in_numbers_per_route_schedule_service_and_person() {
        let config: Config = toml::from_str(CONFIG).unwrap();
        let store = Store::open_in_memory().unwrap();
        a_known_week(&store);
        let handle = StoreHandle::from(store.for_platform("slack"));
        let platforms = ["slack".to_owned(), "matrix".to_owned()];
        let rota = Rota::new(&config);
        let counter = Counter {
            store: &handle,
            platforms: &platforms,
            routes: &config.routes,
            rota: &rota,
            zone: &TimeZone::UTC,
        };

        let told = handle.stories_everywhere_since(MONDAY).await.unwrap();
        let steps = handle.paged_steps_everywhere_since(MONDAY).await.unwrap();
        assert_eq!((told.len(), steps.len()), (5, 4), "web01!HTTP is told, and paged, on both platforms");
        let history = History { told: &told, steps: &steps, platforms: &platforms, routes: &config.routes };
        let report = Report::of(&history, &rota, MONDAY, MONDAY + 7 * DAY);
        assert_eq!((report.incidents, report.still_open), (4, 1), "an incident posted twice counts once");
        assert_eq!(report.opened_per_bucket, [1, 0, 1, 1, 1, 0, 0]);
        assert_eq!(report.pages_per_bucket, [1, 0, 0, 1, 0, 0, 0], "a page on two platforms counts once");
        assert_eq!(report.routes["web"].to_acknowledge, [300, 900]);
        assert_eq!(report.schedules["web"].to_recover, [HOUR, 2 * HOUR]);
        assert_eq!(report.paged["alice"], (2, 1), "01:10 UTC is night");
        assert_eq!(report.paged["bob"], (1, 0));

        let answer = counter.answer(MONDAY, MONDAY + 7 * DAY).await.unwrap();
        let lines: Vec<&str> = answer.text.lines().collect();
        assert_eq!(
            lines,
            [
                "report 2024-05-06 00:00 – 2024-05-13 00:00 (UTC): 4 incidents, 1 still open",
                "per route (medians): default route: 1 incident, none acknowledged, recovered in 10m; \
                 hosts=db*: 1 incident, none acknowledged; web: 2 incidents, acknowledged in 15m, recovered in 2h",
                "per schedule (medians): web: 2 paged, acknowledged in 15m, recovered in 2h, 1 escalated",
                "noisiest (notifications): db01 2 (1 flapping), web01!HTTP 3, web02 3, mail01 2",
                "pages per person: alice 2 (1 at night), bob 1 (0 at night)",
                "chart: incidents opened (blue) and pages (orange) per day, oldest left",
            ]
        );
        let chart = answer.attachment.unwrap();
        assert_eq!((chart.name.as_str(), chart.mime.as_str()), ("report.png", "image/png"));
        assert!(chart.bytes.starts_with(b"\x89PNG"));
    }

    #[test]
    fn an_incident_counts_for_the_route_it_came_by_and_one_from_before_for_the_route_that_may_have_taken_it() {
        // The first route takes web hosts by host group, which an incident does not keep.
        let config: Config = toml::from_str(
            "[[route]]\nname = \"web-servers\"\nhostgroups = [\"web-servers\"]\nchannel = \"C_WEB\"\n\
             [[route]]\nname = \"web\"\nhosts = [\"web*\"]\nchannel = \"C_WEB\"\n",
        )
        .unwrap();
        let store = Store::open_in_memory().unwrap();
        let posting = Posting::new(&store, "slack", "C_WEB");
        let at = MONDAY + HOUR;
        posting.clone_by_route("web").open(&ObjectRef::host("web01"), at);
        posting.clone_by_route("web-servers").open(&ObjectRef::host("web02"), at);
        // Opened before hagios recorded routes.
        posting.open(&ObjectRef::host("web03"), at);
        let told = store.stories_everywhere_since(MONDAY).unwrap();
        let platforms = ["slack".to_owned()];
        let history = History { told: &told, steps: &[], platforms: &platforms, routes: &config.routes };
        let report = Report::of(&history, &Rota::new(&config), MONDAY, MONDAY + DAY);
        let counts: Vec<(&str, usize)> =
            report.routes.iter().map(|(route, times)| (route.as_str(), times.count)).collect();
        assert_eq!(counts, [("web", 1), ("web-servers", 2)], "web03 by its hosts and services alone");
    }

    #[tokio::test]
    async fn an_alert_groups_page_on_two_platforms_counts_once() {
        let config: Config = toml::from_str(CONFIG).unwrap();
        let store = Store::open_in_memory().unwrap();
        let (web03, web04) = (ObjectRef::host("web03"), ObjectRef::host("web04"));
        let at = MONDAY + 12 * HOUR;
        for posting in [Posting::new(&store, "slack", "C_WEB"), Posting::new(&store, "matrix", "!web:x")] {
            posting.open_group(&[web03.clone(), web04.clone()], at);
            posting.page(&web03, at, &[("alice", at + 10)], Some((at + 120, "acknowledged by alice")));
        }
        let handle = StoreHandle::from(store);
        let (told, steps) = (
            handle.stories_everywhere_since(MONDAY).await.unwrap(),
            handle.paged_steps_everywhere_since(MONDAY).await.unwrap(),
        );
        assert_eq!((told.len(), steps.len()), (4, 2));
        assert!(steps.iter().all(|step| step.incident.as_ref().is_some_and(|key| key.object == web03)), "{steps:#?}");
        let platforms = ["slack".to_owned(), "matrix".to_owned()];
        let history = History { told: &told, steps: &steps, platforms: &platforms, routes: &config.routes };
        let report = Report::of(&history, &Rota::new(&config), MONDAY, MONDAY + DAY);
        assert_eq!((report.incidents, report.routes["web"].count), (2, 2));
        assert_eq!(report.schedules["web"].count, 1, "one page, on two platforms");
        assert_eq!(report.paged["alice"], (1, 0));
        assert_eq!(report.pages_per_bucket.iter().sum::<u32>(), 1);
    }
}
