//! What happened, read back: an incident's story (its notifications with their times, the
//! commands typed about it, its paging) for `timeline`, and the incidents and pages of a period
//! for `report` and the handover summaries.

use crate::incident::{incident_from_row, INCIDENT_COLUMNS};
use crate::page::{page_from_row, page_step_from_row, PAGE_COLUMNS};
use crate::sql::{args, DbError, Sql, Value};
use crate::{AuditRecord, Incident, Page, PageStep, Store, StoreError};
#[cfg(test)]
use hagios_domain::AlertCard;
use hagios_domain::ObjectRef;

/// One history line of an incident: the notification's type and time (unknown for lines kept
/// before hagios recorded them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub at: Option<i64>,
    /// `PROBLEM`, `ACKNOWLEDGEMENT`, `RECOVERY`, … as Nagios names notification types.
    pub kind: Option<String>,
    pub line: String,
}

/// An incident with the times and types of its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentStory {
    pub incident: Incident,
    pub lines: Vec<HistoryLine>,
}

impl IncidentStory {
    /// When it was first acknowledged.
    pub fn acknowledged_at(&self) -> Option<i64> {
        self.lines.iter().find(|line| line.kind.as_deref() == Some("ACKNOWLEDGEMENT")).and_then(|line| line.at)
    }

    /// How many flapping starts it saw.
    pub fn flaps(&self) -> usize {
        self.lines.iter().filter(|line| line.kind.as_deref() == Some("FLAPPINGSTART")).count()
    }
}

/// One paged step, with its page (the schedule, when paging started and stopped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagedStep {
    /// The platform it was paged on.
    pub platform: String,
    pub page: Page,
    pub step: PageStep,
    /// The incident the page was for: its thread's, or the first of its group's; `None` once
    /// pruned.
    pub incident: Option<IncidentKey>,
}

/// One incident wherever it was posted: every platform is sent the same notifications, so its
/// site, object and opening time name it on each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncidentKey {
    pub site: String,
    pub object: ObjectRef,
    pub opened_at: i64,
}

impl Incident {
    pub fn key(&self) -> IncidentKey {
        IncidentKey { site: self.site.clone(), object: self.object.clone(), opened_at: self.opened_at }
    }
}

impl Store {
    /// One incident of `object` at `site` — the one opened at `opened_at`, or the newest when
    /// `None` — on every platform it was posted to, by platform name, each with its history.
    /// Every platform is sent the same notifications, so the site, the object and the opening
    /// time name one incident wherever it was posted.
    pub fn incident_everywhere(
        &self,
        site: &str,
        object: &ObjectRef,
        opened_at: Option<i64>,
    ) -> Result<Vec<PlatformStory>, StoreError> {
        let service = object.service.as_deref().unwrap_or_default();
        self.with_sql(|sql| {
            let opened_at = match opened_at {
                Some(at) => at,
                None => {
                    let newest = sql.query_opt(
                        "SELECT MAX(opened_at) FROM incidents WHERE site = $1 AND host = $2 AND service = $3",
                        args![site, &object.host, service],
                    )?;
                    match newest.map(|row| row.opt_int(0)).transpose()?.flatten() {
                        Some(at) => at,
                        None => return Ok(Vec::new()),
                    }
                }
            };
            let statement = format!(
                "SELECT {INCIDENT_COLUMNS}, platform, route FROM incidents
                 WHERE site = $1 AND host = $2 AND service = $3 AND opened_at = $4 ORDER BY platform, id"
            );
            platform_stories(sql, &statement, args![site, &object.host, service, opened_at])
        })
    }

    /// The sites that have had incidents of `object`, by name: where `hagios timeline` looks
    /// when no site is named.
    pub fn incident_sites(&self, object: &ObjectRef) -> Result<Vec<String>, StoreError> {
        let service = object.service.as_deref().unwrap_or_default();
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT DISTINCT site FROM incidents WHERE host = $1 AND service = $2 ORDER BY site",
                args![&object.host, service],
            )?;
            Ok(rows.iter().map(|row| row.text(0)).collect::<Result<_, _>>()?)
        })
    }

    /// Every platform's incidents that were open at some time after `since` (opened after it,
    /// or still open then), oldest first, with their history.
    pub fn stories_everywhere_since(&self, since: i64) -> Result<Vec<PlatformStory>, StoreError> {
        let statement = format!(
            "SELECT {INCIDENT_COLUMNS}, platform, route FROM incidents
             WHERE closed_at IS NULL OR closed_at >= $1 ORDER BY opened_at, platform, id"
        );
        self.with_sql(|sql| platform_stories(sql, &statement, args![since]))
    }

    /// Every platform's incidents open at some time after `since` that are one incident (site,
    /// object, opening time) with one whose thread (its own, or its group's) was paged for
    /// `schedule` on its platform, oldest first, with their history: an incident paged on one
    /// platform is read as every platform told it, so what one of them heard (an
    /// acknowledgement, a recovery) is seen from all.
    pub fn schedule_stories_everywhere_since(
        &self,
        schedule: &str,
        since: i64,
    ) -> Result<Vec<PlatformStory>, StoreError> {
        let columns: Vec<String> = INCIDENT_COLUMNS.split(", ").map(|column| format!("i.{column}")).collect();
        let statement = format!(
            "SELECT {}, i.platform, i.route FROM incidents i
             JOIN (SELECT DISTINCT j.site, j.host, j.service, j.opened_at FROM incidents j
                 LEFT JOIN alert_group_members m ON m.incident_id = j.id
                 LEFT JOIN alert_groups g ON g.id = m.group_id
                 JOIN pages p ON p.platform = j.platform AND p.schedule = $1
                     AND p.channel = COALESCE(g.channel, j.channel)
                     AND p.message_id = COALESCE(g.message_id, j.message_id)
                 WHERE j.closed_at IS NULL OR j.closed_at >= $2) paged
             ON paged.site = i.site AND paged.host = i.host AND paged.service = i.service
                 AND paged.opened_at = i.opened_at
             WHERE i.closed_at IS NULL OR i.closed_at >= $2
             ORDER BY i.opened_at, i.platform, i.id",
            columns.join(", ")
        );
        self.with_sql(|sql| platform_stories(sql, &statement, args![schedule, since]))
    }

    /// The audit records from `from` to `to` (inclusive), oldest first.
    pub fn audit_between(&self, from: i64, to: i64) -> Result<Vec<AuditRecord>, StoreError> {
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT time, platform, user_id, user_name, raw_text, command, parsed, allowed, result
                 FROM audit WHERE time BETWEEN $1 AND $2 ORDER BY id",
                args![from, to],
            )?;
            Ok(rows.iter().map(crate::audit::record_from_row).collect::<Result<_, _>>()?)
        })
    }

    /// The page of the thread under `message_id` in `channel` on this platform, if it was paged.
    pub fn page_of_thread(&self, channel: &str, message_id: &str) -> Result<Option<Page>, StoreError> {
        let statement =
            format!("SELECT {PAGE_COLUMNS} FROM pages WHERE platform = $1 AND channel = $2 AND message_id = $3");
        self.with_sql(|sql| {
            let row = sql.query_opt(&statement, args![self.platform(), channel, message_id])?;
            Ok(row.as_ref().map(page_from_row).transpose()?)
        })
    }

    /// The steps paged on every platform at `since` or later, oldest first, each with the
    /// incident it was paged for.
    pub fn paged_steps_everywhere_since(&self, since: i64) -> Result<Vec<PagedStep>, StoreError> {
        let columns: Vec<String> = PAGE_COLUMNS.split(", ").map(|column| format!("p.{column}")).collect();
        let statement = format!(
            "SELECT {}, s.step, s.at, s.people, s.text, p.platform FROM page_steps s JOIN pages p ON p.id = s.page_id
             WHERE s.at >= $1 ORDER BY s.at, p.platform, s.step",
            columns.join(", ")
        );
        let first_incident = "SELECT site, host, service, opened_at FROM incidents i
             WHERE i.platform = $1 AND ((i.channel = $2 AND i.message_id = $3) OR i.id IN
                 (SELECT m.incident_id FROM alert_group_members m JOIN alert_groups g ON g.id = m.group_id
                  WHERE g.platform = $1 AND g.channel = $2 AND g.message_id = $3))
             ORDER BY i.opened_at, i.id LIMIT 1";
        self.with_sql(|sql| {
            let rows = sql.query(&statement, args![since])?;
            let mut steps = Vec::with_capacity(rows.len());
            for row in &rows {
                let (page, platform) = (page_from_row(row)?, row.text(17)?);
                let thread = (&platform, &page.thread.channel, &page.thread.id);
                let incident = sql.query_opt(first_incident, args![thread.0, thread.1, thread.2])?;
                let incident = incident
                    .map(|row| {
                        let service = row.text(2)?;
                        let object =
                            ObjectRef { host: row.text(1)?, service: (!service.is_empty()).then_some(service) };
                        Ok::<_, DbError>(IncidentKey { site: row.text(0)?, object, opened_at: row.int(3)? })
                    })
                    .transpose()?;
                steps.push(PagedStep { platform, page, step: page_step_from_row(row, 13)?, incident });
            }
            Ok(steps)
        })
    }
}

/// An incident as one platform tells it: the platform's name and the incident's story there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformStory {
    pub platform: String,
    pub story: IncidentStory,
    /// The label of the route it came by on that platform, as recorded when it opened; `None`
    /// for an incident opened before hagios recorded routes.
    pub route: Option<String>,
}

/// The incidents `statement` (selecting [`INCIDENT_COLUMNS`], then the platform and the route)
/// finds, each with its platform, history and route.
fn platform_stories(sql: &mut dyn Sql, statement: &str, params: &[Value]) -> Result<Vec<PlatformStory>, StoreError> {
    let rows = sql.query(statement, params)?;
    rows.iter()
        .map(|row| {
            let (platform, route) = (row.text(10)?, row.opt_text(11)?);
            Ok(PlatformStory { platform, story: story_of(sql, incident_from_row(row)?)?, route })
        })
        .collect()
}

fn story_of(sql: &mut dyn Sql, mut incident: Incident) -> Result<IncidentStory, StoreError> {
    let rows = sql.query(
        "SELECT at, kind, line FROM incident_history WHERE incident_id = $1 ORDER BY rowid",
        args![incident.id.0],
    )?;
    let lines = rows
        .iter()
        .map(|row| Ok::<_, DbError>(HistoryLine { at: row.opt_int(0)?, kind: row.opt_text(1)?, line: row.text(2)? }))
        .collect::<Result<Vec<_>, _>>()?;
    incident.history = lines.iter().map(|line| line.line.clone()).collect();
    Ok(IncidentStory { incident, lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{card, engines};
    use crate::{Delivery, IncidentChange, PageIntent};
    use hagios_domain::{NotificationType, State};

    fn delivery(message_id: &str, at: i64) -> Delivery {
        Delivery { channel: "C1".into(), message_id: message_id.into(), at }
    }

    #[test]
    fn an_incident_story_keeps_when_each_line_happened_and_what_it_was() {
        for engine in engines() {
            eprintln!("on {engine}");
            a_story_on(&engine.open().for_platform("slack"));
        }
    }

    fn a_story_on(store: &Store) {
        let object = ObjectRef { host: "web01".into(), service: Some("HTTP".into()) };
        let problem = card(object.clone(), State::Critical, Some("CRITICAL"), 1_000);
        let open = IncidentChange::Open { card: problem, opened_at: 1_000, route: Some("web".into()) };
        let id = store.commit_notification("n1", &delivery("m1", 1_000), &open).unwrap().unwrap();
        let ack = AlertCard {
            kind: NotificationType::Acknowledgement,
            ..card(object.clone(), State::Critical, Some("acknowledged by alice"), 1_300)
        };
        store.commit_notification("n2", &delivery("m2", 1_300), &IncidentChange::Update { id, card: ack }).unwrap();
        let recovery =
            AlertCard { kind: NotificationType::Recovery, ..card(object.clone(), State::Ok, Some("OK"), 2_000) };
        store.commit_notification("n3", &delivery("m3", 2_000), &IncidentChange::Close { id, card: recovery }).unwrap();

        let [told] = &store.incident_everywhere("local", &object, None).unwrap()[..] else { panic!("one story") };
        let story = &told.story;
        assert_eq!((told.platform.as_str(), story.incident.closed_at), ("slack", Some(2_000)));
        assert_eq!(told.route.as_deref(), Some("web"), "the route it came by");
        let kinds: Vec<_> = story.lines.iter().map(|line| (line.at, line.kind.as_deref())).collect();
        assert_eq!(kinds, [(Some(1_300), Some("ACKNOWLEDGEMENT")), (Some(2_000), Some("RECOVERY"))]);
        assert_eq!(story.acknowledged_at(), Some(1_300));
        assert_eq!(store.stories_everywhere_since(1_500).unwrap().len(), 1, "open after the start counts");
        assert!(store.stories_everywhere_since(2_001).unwrap().is_empty());
        assert!(store.incident_everywhere("east", &object, None).unwrap().is_empty(), "per site");
        assert_eq!(store.incident_sites(&object).unwrap(), ["local"]);
        assert!(store.incident_everywhere("local", &object, Some(999)).unwrap().is_empty(), "that incident only");

        // Posted on Matrix too: one incident, told by both platforms; the newer incident of the
        // object is another one.
        let matrix = store.for_platform("matrix");
        let open = IncidentChange::Open {
            card: card(object.clone(), State::Critical, Some("CRITICAL"), 1_000),
            opened_at: 1_000,
            route: None,
        };
        matrix.commit_notification("n1", &delivery("$e1", 1_000), &open).unwrap().unwrap();
        let again = IncidentChange::Open {
            card: card(object.clone(), State::Critical, Some("CRITICAL"), 3_000),
            opened_at: 3_000,
            route: None,
        };
        store.commit_notification("n4", &delivery("m4", 3_000), &again).unwrap().unwrap();
        let platforms = |opened_at| -> Vec<String> {
            let told = store.incident_everywhere("local", &object, opened_at).unwrap();
            told.into_iter().map(|told| told.platform).collect()
        };
        assert_eq!(platforms(Some(1_000)), ["matrix", "slack"]);

        // Its page on Matrix, read back with the incident it was for.
        let intent = PageIntent {
            notification_id: "n1".into(),
            site: "local".into(),
            object: object.clone(),
            schedule: "web".into(),
            policy: "web".into(),
        };
        matrix.intend_page(&intent, 1_000).unwrap();
        matrix.start_pages(1_000).unwrap();
        let page = matrix.active_pages().unwrap().remove(0).page;
        let step = PageStep { step: 0, at: 1_010, people: vec!["alice".into()], text: "paging alice".into() };
        matrix.record_page_step(&page, &step, "n1").unwrap();
        let [paged] = &store.paged_steps_everywhere_since(1_000).unwrap()[..] else { panic!("one step") };
        assert_eq!((paged.platform.as_str(), &paged.step), ("matrix", &step));
        let key = IncidentKey { site: "local".into(), object: object.clone(), opened_at: 1_000 };
        assert_eq!(paged.incident, Some(key));
        assert!(store.paged_steps_everywhere_since(1_011).unwrap().is_empty());
        // Paged for `web` on Matrix only: read as both platforms told it, the newer incident of
        // the object (never paged) left out.
        let paged_for = |schedule, since| -> Vec<(String, i64)> {
            let told = store.schedule_stories_everywhere_since(schedule, since).unwrap();
            told.into_iter().map(|told| (told.platform, told.story.incident.opened_at)).collect()
        };
        assert_eq!(paged_for("web", 0), [("matrix".to_owned(), 1_000), ("slack".to_owned(), 1_000)]);
        assert_eq!(paged_for("web", 2_001), [("matrix".to_owned(), 1_000)], "Slack's copy closed before");
        assert!(paged_for("db", 0).is_empty());
        assert_eq!(platforms(None), ["slack"], "the newest incident");
        assert_eq!(store.for_platform("terminal").stories_everywhere_since(0).unwrap().len(), 3, "every platform's");
    }
}
