//! Paging: the person on call is mentioned in the thread of a new incident (or of its alert
//! group), then the escalation policy's later steps, until someone acknowledges. A page is
//! intended when a notification that opens an incident takes a route with a schedule (before
//! it is delivered), and starts once that notification is in chat, in the thread its incident
//! went to. Each step is recorded with its delivery attempt in one transaction, so a restart
//! neither repeats nor skips one.

use crate::incident::{incident_from_row, INCIDENT_COLUMNS};
use crate::sql::{args, DbError, Row};
use crate::{Incident, Store, StoreError};
use hagios_domain::{MessageRef, ObjectRef};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageId(pub i64);

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Paging wanted for the incident a notification opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageIntent {
    pub notification_id: String,
    pub site: String,
    pub object: ObjectRef,
    pub schedule: String,
    pub policy: String,
}

/// The paging of one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub id: PageId,
    /// The parent message of the thread paged in: the incident's, or its group's.
    pub thread: MessageRef,
    pub schedule: String,
    pub policy: String,
    /// When paging began, right after the thread's first message reached chat; step delays
    /// count from here.
    pub started_at: i64,
    /// Steps paged so far.
    pub steps: u32,
    /// Steps `escalate` made due now, whatever their delay.
    pub forced: u32,
    /// Who escalated, and why, for the forced step's message.
    pub forced_note: Option<String>,
    /// Since when a snooze holds the steps back.
    pub paused_since: Option<i64>,
    /// How long snoozes held them back before; step delays grow by this.
    pub paused_for: i64,
    pub stopped_at: Option<i64>,
    /// Why paging stopped: "acknowledged by alice", "recovered", "in downtime".
    pub stopped_why: Option<String>,
}

/// A page that may have a step to post, with the incidents of its thread as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePage {
    pub page: Page,
    /// Open and closed; without history lines.
    pub incidents: Vec<Incident>,
}

/// The thread of an open incident that was never paged: on `platform`, the incident's own or its
/// group's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpagedThread {
    pub platform: String,
    pub thread: MessageRef,
}

/// One step as it was paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStep {
    pub step: u32,
    pub at: i64,
    /// The people mentioned (their `[[user]] person`); empty when the step paged the channel.
    pub people: Vec<String>,
    pub text: String,
}

pub(crate) const PAGE_COLUMNS: &str =
    "id, channel, message_id, schedule, policy, started_at, steps, forced, forced_note, \
                            paused_since, paused_for, stopped_at, stopped_why";

/// A count kept in an integer column.
fn count(row: &Row, index: usize) -> Result<u32, DbError> {
    Ok(u32::try_from(row.int(index)?).unwrap_or(u32::MAX))
}

pub(crate) fn page_from_row(row: &Row) -> Result<Page, DbError> {
    Ok(Page {
        id: PageId(row.int(0)?),
        thread: MessageRef { channel: row.text(1)?, id: row.text(2)? },
        schedule: row.text(3)?,
        policy: row.text(4)?,
        started_at: row.int(5)?,
        steps: count(row, 6)?,
        forced: count(row, 7)?,
        forced_note: row.opt_text(8)?,
        paused_since: row.opt_int(9)?,
        paused_for: row.int(10)?,
        stopped_at: row.opt_int(11)?,
        stopped_why: row.opt_text(12)?,
    })
}

fn pages_from_rows(rows: &[Row]) -> Result<Vec<Page>, DbError> {
    rows.iter().map(page_from_row).collect()
}

impl Store {
    /// Keeps that the incident `intent`'s notification opens is to be paged; the first intent
    /// of a notification counts.
    pub fn intend_page(&self, intent: &PageIntent, now: i64) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "INSERT INTO page_intents
                     (platform, notification_id, site, host, service, schedule, policy, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT DO NOTHING",
                args![
                    self.platform(),
                    &intent.notification_id,
                    &intent.site,
                    &intent.object.host,
                    intent.object.service.as_deref().unwrap_or_default(),
                    &intent.schedule,
                    &intent.policy,
                    now
                ],
            )?;
            Ok(())
        })
    }

    /// Starts the pages of the intents whose notifications are delivered: in the thread of
    /// their incident (or its group), from `now`. A thread paged before whose
    /// paging stopped is paged again from the start (a new problem joined an acknowledged
    /// group). Intents whose incident is not open (it recovered before it was posted) go.
    pub fn start_pages(&self, now: i64) -> Result<usize, StoreError> {
        self.in_transaction(|sql| {
            // One insert per thread, in delivery order: PostgreSQL refuses one statement that
            // meets the same conflicting row twice (two intents in one group's thread).
            let threads = sql.query(
                "SELECT COALESCE(g.channel, i.channel), COALESCE(g.message_id, i.message_id), p.schedule, p.policy
                 FROM page_intents p
                 JOIN deliveries d ON d.platform = p.platform AND d.notification_id = p.notification_id
                 JOIN incidents i ON i.platform = p.platform AND i.site = p.site AND i.host = p.host
                                     AND i.service = p.service AND i.closed_at IS NULL
                 LEFT JOIN alert_group_members m ON m.incident_id = i.id
                 LEFT JOIN alert_groups g ON g.id = m.group_id
                 WHERE p.platform = $1
                 ORDER BY d.delivered_at, p.notification_id",
                args![self.platform()],
            )?;
            let mut started = 0;
            for thread in &threads {
                started += sql.execute(
                    "INSERT INTO pages (platform, channel, message_id, schedule, policy, started_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (platform, channel, message_id) DO UPDATE SET
                         started_at = excluded.started_at, steps = 0, forced = 0, paused_since = NULL,
                         paused_for = 0, stopped_at = NULL, stopped_why = NULL
                     WHERE pages.stopped_at IS NOT NULL",
                    args![self.platform(), thread.text(0)?, thread.text(1)?, thread.text(2)?, thread.text(3)?, now],
                )?;
            }
            sql.execute(
                "DELETE FROM page_intents WHERE platform = $1 AND EXISTS
                     (SELECT 1 FROM deliveries d
                      WHERE d.platform = page_intents.platform AND d.notification_id = page_intents.notification_id)",
                args![self.platform()],
            )?;
            Ok(usize::try_from(started).unwrap_or(usize::MAX))
        })
    }

    /// This platform's pages that are not stopped, each with its thread's incidents.
    pub fn active_pages(&self) -> Result<Vec<ActivePage>, StoreError> {
        self.with_sql(|sql| {
            let rows = sql.query(
                &format!("SELECT {PAGE_COLUMNS} FROM pages WHERE platform = $1 AND stopped_at IS NULL ORDER BY id"),
                args![self.platform()],
            )?;
            let pages = pages_from_rows(&rows)?;
            let statement = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents i
                 WHERE i.platform = $1 AND ((i.channel = $2 AND i.message_id = $3) OR i.id IN
                     (SELECT m.incident_id FROM alert_group_members m JOIN alert_groups g ON g.id = m.group_id
                      WHERE g.platform = $1 AND g.channel = $2 AND g.message_id = $3))
                 ORDER BY i.id"
            );
            let mut active = Vec::with_capacity(pages.len());
            for page in pages {
                let rows = sql.query(&statement, args![self.platform(), &page.thread.channel, &page.thread.id])?;
                let incidents = rows.iter().map(incident_from_row).collect::<Result<_, _>>()?;
                active.push(ActivePage { page, incidents });
            }
            Ok(active)
        })
    }

    /// Records step number `step` (counted from 0) of `page`'s current round, paged at `at`,
    /// and clears the delivery attempt `attempt_key` it was posted under, in one transaction.
    pub fn record_page_step(&self, page: &Page, step: &PageStep, attempt_key: &str) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "INSERT INTO page_steps (page_id, started_at, step, at, people, text)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
                args![page.id.0, page.started_at, step.step, step.at, step.people.join("\n"), &step.text],
            )?;
            sql.execute(
                "UPDATE pages SET steps = CASE WHEN steps > $2 THEN steps ELSE $2 END
                 WHERE id = $1 AND started_at = $3",
                args![page.id.0, step.step + 1, page.started_at],
            )?;
            crate::attempt::finish(sql, self.platform(), attempt_key)
        })
    }

    /// Stops paging `page` at `at`, saying why.
    pub fn stop_page(&self, page: PageId, at: i64, why: &str) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "UPDATE pages SET stopped_at = $2, stopped_why = $3 WHERE id = $1 AND stopped_at IS NULL",
                args![page.0, at, why],
            )?;
            Ok(())
        })
    }

    /// Holds `page`'s steps back from `since` (a snooze began), or ends the hold, adding its
    /// length to the steps' delays (`since` is `None`).
    pub fn pause_page(&self, page: &Page, since: Option<i64>, now: i64) -> Result<(), StoreError> {
        let held = match (page.paused_since, since) {
            (Some(paused), None) => (now - paused).max(0),
            _ => 0,
        };
        self.in_transaction(|sql| {
            sql.execute(
                "UPDATE pages SET paused_since = $2, paused_for = paused_for + $3 WHERE id = $1",
                args![page.id.0, since, held],
            )?;
            Ok(())
        })
    }

    /// The pages, on every platform, of the threads the open incidents of `object` (on any
    /// site) are in.
    pub fn pages_of_object(&self, object: &ObjectRef) -> Result<Vec<Page>, StoreError> {
        let statement = format!(
            "SELECT DISTINCT {} FROM pages p
             JOIN incidents i ON i.platform = p.platform AND i.closed_at IS NULL AND i.host = $1 AND i.service = $2
             LEFT JOIN alert_group_members m ON m.incident_id = i.id
             LEFT JOIN alert_groups g ON g.id = m.group_id
             WHERE p.channel = COALESCE(g.channel, i.channel) AND p.message_id = COALESCE(g.message_id, i.message_id)
             ORDER BY p.id",
            PAGE_COLUMNS.split(", ").map(|column| format!("p.{column}")).collect::<Vec<_>>().join(", ")
        );
        let service = object.service.as_deref().unwrap_or_default();
        self.with_sql(|sql| Ok(pages_from_rows(&sql.query(&statement, args![&object.host, service])?)?))
    }

    /// The threads, on every platform, of the open incidents of `object` (on any site) that were
    /// never paged: their route named no schedule when they opened.
    pub fn unpaged_threads_of_object(&self, object: &ObjectRef) -> Result<Vec<UnpagedThread>, StoreError> {
        let service = object.service.as_deref().unwrap_or_default();
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT i.platform, COALESCE(g.channel, i.channel), COALESCE(g.message_id, i.message_id)
                 FROM incidents i
                 LEFT JOIN alert_group_members m ON m.incident_id = i.id
                 LEFT JOIN alert_groups g ON g.id = m.group_id
                 WHERE i.closed_at IS NULL AND i.host = $1 AND i.service = $2 AND NOT EXISTS
                     (SELECT 1 FROM pages p WHERE p.platform = i.platform
                          AND p.channel = COALESCE(g.channel, i.channel)
                          AND p.message_id = COALESCE(g.message_id, i.message_id))
                 ORDER BY i.id",
                args![&object.host, service],
            )?;
            let mut threads = Vec::with_capacity(rows.len());
            for row in &rows {
                let thread = MessageRef { channel: row.text(1)?, id: row.text(2)? };
                threads.push(UnpagedThread { platform: row.text(0)?, thread });
            }
            Ok(threads)
        })
    }

    /// Starts paging `thread` on this platform at `now` with its first step due at once, for
    /// `note` (who escalated, and why); a thread paged meanwhile keeps its page.
    pub fn start_page_now(
        &self,
        thread: &MessageRef,
        schedule: &str,
        policy: &str,
        now: i64,
        note: &str,
    ) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "INSERT INTO pages (platform, channel, message_id, schedule, policy, started_at, forced, forced_note)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, $7)
                 ON CONFLICT (platform, channel, message_id) DO NOTHING",
                args![self.platform(), &thread.channel, &thread.id, schedule, policy, now, note],
            )?;
            Ok(())
        })
    }

    /// Makes the steps of `page` up to number `upto` (exclusive) due now, with `note` (who
    /// asked, and why) for their message; a stopped page goes on paging.
    pub fn force_page_steps(&self, page: PageId, upto: u32, note: &str) -> Result<(), StoreError> {
        self.in_transaction(|sql| {
            sql.execute(
                "UPDATE pages SET forced = CASE WHEN forced > $2 THEN forced ELSE $2 END, forced_note = $3,
                                  stopped_at = NULL, stopped_why = NULL
                 WHERE id = $1",
                args![page.0, upto, note],
            )?;
            Ok(())
        })
    }

    /// A page by its id.
    pub fn page(&self, page: PageId) -> Result<Option<Page>, StoreError> {
        let statement = format!("SELECT {PAGE_COLUMNS} FROM pages WHERE id = $1");
        self.with_sql(|sql| Ok(sql.query_opt(&statement, args![page.0])?.as_ref().map(page_from_row).transpose()?))
    }

    /// The steps paged for `page`, in every round, oldest first.
    pub fn page_steps(&self, page: PageId) -> Result<Vec<PageStep>, StoreError> {
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT step, at, people, text FROM page_steps WHERE page_id = $1 ORDER BY at, step",
                args![page.0],
            )?;
            Ok(rows.iter().map(|row| page_step_from_row(row, 0)).collect::<Result<_, _>>()?)
        })
    }
}

/// A step from the columns `step, at, people, text`, the first of them at index `first`.
pub(crate) fn page_step_from_row(row: &Row, first: usize) -> Result<PageStep, DbError> {
    let people = row.text(first + 2)?;
    Ok(PageStep {
        step: count(row, first)?,
        at: row.int(first + 1)?,
        people: people.lines().map(str::to_owned).collect(),
        text: row.text(first + 3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{card, engines};
    use crate::{Delivery, IncidentChange};
    use hagios_domain::State;

    fn intent(notification: &str, host: &str) -> PageIntent {
        PageIntent {
            notification_id: notification.into(),
            site: "local".into(),
            object: ObjectRef::service(host, "disk"),
            schedule: "db".into(),
            policy: "default".into(),
        }
    }

    fn open(store: &Store, notification: &str, host: &str, at: i64) -> crate::IncidentId {
        let change = IncidentChange::Open {
            card: card(ObjectRef::service(host, "disk"), State::Critical, None, at),
            opened_at: at,
            route: None,
        };
        let delivery = Delivery { channel: "C".into(), message_id: format!("{at}.0"), at };
        store.commit_notification(notification, &delivery, &change).unwrap().unwrap()
    }

    #[test]
    fn a_page_starts_once_its_incident_is_in_chat_and_records_its_steps_across_restarts() {
        for engine in engines() {
            eprintln!("on {engine}");
            pages_across_restarts(|| engine.open());
        }
    }

    fn pages_across_restarts(open_store: impl Fn() -> Store) {
        let store = open_store().for_platform("slack");
        store.intend_page(&intent("n1", "db01"), 100).unwrap();
        store.intend_page(&intent("n1", "db01"), 101).unwrap();
        assert_eq!(store.start_pages(110).unwrap(), 0, "not delivered yet");
        let incident = open(&store, "n1", "db01", 110);
        assert_eq!(store.start_pages(110).unwrap(), 1);
        assert_eq!(store.start_pages(110).unwrap(), 0, "the intent is used up");
        assert!(store.for_platform("matrix").active_pages().unwrap().is_empty(), "per platform");
        let [active] = &store.active_pages().unwrap()[..] else { panic!("one page") };
        assert_eq!((active.page.started_at, active.page.steps), (110, 0));
        assert_eq!(active.page.thread, MessageRef { channel: "C".into(), id: "110.0".into() });
        assert_eq!(active.incidents.iter().map(|i| i.id).collect::<Vec<_>>(), [incident]);

        let step = PageStep { step: 0, at: 111, people: vec!["alice".into()], text: "paging alice".into() };
        assert!(!store.begin_attempt("page:1:110:0", 111).unwrap());
        store.record_page_step(&active.page, &step, "page:1:110:0").unwrap();
        drop(store);
        let store = open_store().for_platform("slack");
        let page = store.active_pages().unwrap().remove(0).page;
        assert_eq!(page.steps, 1);
        assert!(!store.begin_attempt("page:1:110:0", 112).unwrap(), "the attempt was finished");
        assert_eq!(store.page_steps(page.id).unwrap(), [step]);

        store.pause_page(&page, Some(200), 200).unwrap();
        let paused = store.page(page.id).unwrap().unwrap();
        store.pause_page(&paused, None, 260).unwrap();
        let resumed = store.page(page.id).unwrap().unwrap();
        assert_eq!((resumed.paused_since, resumed.paused_for), (None, 60));

        let everywhere = open_store();
        let found = everywhere.pages_of_object(&ObjectRef::service("db01", "disk")).unwrap();
        assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [page.id]);
        assert!(everywhere.pages_of_object(&ObjectRef::service("db02", "disk")).unwrap().is_empty());
        store.stop_page(page.id, 300, "acknowledged by alice").unwrap();
        assert!(store.active_pages().unwrap().is_empty());
        everywhere.force_page_steps(page.id, 2, "alice: need help").unwrap();
        let forced = store.active_pages().unwrap().remove(0).page;
        assert_eq!((forced.forced, forced.stopped_at), (2, None), "escalate goes on paging");
        assert_eq!(forced.forced_note.as_deref(), Some("alice: need help"));
    }

    #[test]
    fn an_intent_whose_incident_closed_before_it_was_paged_goes() {
        for engine in engines() {
            eprintln!("on {engine}");
            an_intent_goes_with_its_closed_incident(&engine.open().for_platform("slack"));
        }
    }

    fn an_intent_goes_with_its_closed_incident(store: &Store) {
        store.intend_page(&intent("n1", "db01"), 100).unwrap();
        let delivery = Delivery { channel: "C".into(), message_id: "1.0".into(), at: 100 };
        store.commit_notification("n1", &delivery, &IncidentChange::None).unwrap();
        assert_eq!(store.start_pages(110).unwrap(), 0);
        open(store, "n2", "db01", 120);
        assert_eq!(store.start_pages(110).unwrap(), 0, "the intent went with its delivery");
    }

    #[test]
    fn a_thread_never_paged_is_found_and_starts_paging_with_its_first_step_due() {
        for engine in engines() {
            eprintln!("on {engine}");
            a_thread_never_paged_starts(&engine.open());
        }
    }

    fn a_thread_never_paged_starts(everywhere: &Store) {
        let slack = everywhere.for_platform("slack");
        open(&slack, "n1", "db01", 100);
        open(&everywhere.for_platform("matrix"), "n1", "db01", 101);
        let object = ObjectRef::service("db01", "disk");
        let unpaged = everywhere.unpaged_threads_of_object(&object).unwrap();
        let found: Vec<(&str, &str)> = unpaged.iter().map(|u| (u.platform.as_str(), u.thread.id.as_str())).collect();
        assert_eq!(found, [("slack", "100.0"), ("matrix", "101.0")], "every platform's thread");
        slack.start_page_now(&unpaged[0].thread, "db", "default", 130, "alice (help)").unwrap();
        slack.start_page_now(&unpaged[0].thread, "db", "default", 140, "bob").unwrap();
        let [active] = &slack.active_pages().unwrap()[..] else { panic!("one page") };
        let page = &active.page;
        assert_eq!((page.started_at, page.steps, page.forced), (130, 0, 1), "its first step due now, once");
        assert_eq!(page.forced_note.as_deref(), Some("alice (help)"));
        let left = everywhere.unpaged_threads_of_object(&object).unwrap();
        assert_eq!(left.iter().map(|u| u.platform.as_str()).collect::<Vec<_>>(), ["matrix"]);
        assert!(everywhere.unpaged_threads_of_object(&ObjectRef::service("db02", "disk")).unwrap().is_empty());
    }
}
