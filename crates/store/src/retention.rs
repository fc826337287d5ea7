//! Retention: deletes what the bot no longer needs, so the database stops growing with every
//! notification. Without it, deliveries, closed incidents with their history and cards, closed
//! alert groups, crash-left attempts, ended snoozes and the audit log would stay forever.
//!
//! What goes, for all chat platforms, once it is older than `keep`:
//! - deliveries (the pipeline's dedupe key), except the one of the message an open incident or
//!   open alert group hangs under;
//! - closed incidents, with their history lines and their alert-group membership, unless their
//!   group is still open;
//! - closed alert groups none of whose member incidents are left;
//! - delivery and group attempts (a delivery commits or is given up within minutes; only a
//!   record still retrying after `keep`, its platform down all that time while another
//!   delivered, would then be posted without the look-up that guards against a second post);
//! - snoozes that ended (never before the week the pipeline keeps them for its hold decisions);
//! - chat events taken (they guard against a Matrix event read again after a failover, seconds
//!   later), counted with the attempts.
//!
//! The audit log has its own setting and is kept forever unless one is given: audit logs are
//! often kept for compliance. Open incidents and open groups are never deleted, however old.
//!
//! Why deleting a delivery is safe for dedupe: a delivery row only matters when the same
//! notification id arrives again, and an id comes again in two ways only. A spool record is
//! removed right after its delivery commits, so a crash in between leaves it to be replayed on
//! the pipeline's next pass after a restart; and an agent resends only records the bot stored
//! but never acknowledged (`Stored` lost with the connection), on its next connection. Both
//! come back within minutes of the restart or reconnection, and a delivery is kept for `keep`
//! (the configuration refuses less than [`MIN_KEEP_SECONDS`]). Time here is the store's clock:
//! now, or the newest delivery when that is older. A bot stopped for longer than `keep` thus
//! forgets nothing on its restart that it would not have forgotten when it stopped, and the
//! record a crash left in the spool still finds its delivery. Only an agent disconnected for
//! longer than `keep` while its bot kept delivering could have a record posted twice.
//!
//! The work is done in transactions of at most [`BATCH`] rows looked at, each one consistent on
//! its own (an incident goes together with its history and membership): the store's one
//! connection and SQLite's write lock are never held for long, so a first prune of a year of
//! rows does not stall delivery. What another transaction changes in between is seen by the
//! next batch, which checks its conditions afresh.
//!
//! Deleted rows leave free pages inside the file, which later inserts reuse: the file stops
//! growing at about `keep`'s worth of rows but does not shrink. Shrinking would need
//! `auto_vacuum = INCREMENTAL`, which SQLite only accepts before the first table exists or
//! through a full `VACUUM` (a copy of the whole file under an exclusive lock) — neither is
//! worth it for a file whose free pages are filled again within `keep`. An operator who wants
//! the space back once, after the first prune, runs `VACUUM` with hagios stopped.

use crate::sql::{args, DbError, Dialect, Row, Sql};
use crate::{Store, StoreError};

/// The shortest `keep` the configuration accepts: long enough for every record that could
/// arrive again after a crash or a lost acknowledgement (see the module docs).
pub const MIN_KEEP_SECONDS: i64 = 86_400;

/// Rows looked at per transaction.
const BATCH: i64 = 2_000;

/// How long rows are kept, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// For everything but the audit log.
    pub keep: i64,
    /// For the audit log; `None` keeps it forever.
    pub keep_audit: Option<i64>,
}

/// What one prune deleted, and the free space left inside the file for later rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub deliveries: u64,
    pub incidents: u64,
    pub history_lines: u64,
    pub groups: u64,
    /// Delivery and group attempts.
    pub attempts: u64,
    pub snoozes: u64,
    pub audit: u64,
    /// Bytes of free pages in the file after the prune.
    pub free_bytes: u64,
}

impl PruneReport {
    /// Whether nothing was deleted.
    pub fn is_empty(&self) -> bool {
        [self.deliveries, self.incidents, self.history_lines, self.groups, self.attempts, self.snoozes, self.audit]
            .iter()
            .all(|count| *count == 0)
    }
}

impl Store {
    /// Deletes, for every platform, what `retention` no longer keeps at `now` (seconds since
    /// the epoch); see the module docs for what goes and what never does.
    pub fn prune(&self, retention: &Retention, now: i64) -> Result<PruneReport, StoreError> {
        let newest_delivery =
            self.with_sql(|sql| Ok(sql.query_one("SELECT MAX(delivered_at) FROM deliveries", args![])?.opt_int(0)?))?;
        let clock = newest_delivery.map_or(now, |newest| newest.min(now));
        let cut = clock.saturating_sub(retention.keep);
        let mut report = PruneReport::default();

        self.in_id_batches("incidents", |sql, first, last| {
            let (incidents, history_lines) = delete_closed_incidents(sql, first, last, cut)?;
            report.incidents += incidents;
            report.history_lines += history_lines;
            Ok(())
        })?;
        self.in_id_batches("alert_groups", |sql, first, last| {
            report.groups += sql.execute(
                "DELETE FROM alert_groups
                 WHERE id BETWEEN $1 AND $2 AND closed_at < $3
                       AND NOT EXISTS (SELECT 1 FROM alert_group_members m WHERE m.group_id = alert_groups.id)",
                args![first, last, cut],
            )?;
            Ok(())
        })?;
        report.deliveries = self.delete_deliveries(cut)?;
        self.in_transaction(|sql| {
            for table in ["delivery_attempts", "group_attempts"] {
                report.attempts += sql.execute(&format!("DELETE FROM {table} WHERE started_at < $1"), args![cut])?;
            }
            let snooze_cut = cut.min(clock.saturating_sub(crate::snooze::KEEP_ENDED_SECONDS));
            report.snoozes = sql.execute("DELETE FROM snoozes WHERE until < $1", args![snooze_cut])?;
            // Chat events taken only guard against reading one again after a failover, seconds later.
            report.attempts += sql.execute("DELETE FROM chat_events_taken WHERE taken_at < $1", args![cut])?;
            Ok(())
        })?;
        if let Some(keep_audit) = retention.keep_audit {
            let audit_cut = now.saturating_sub(keep_audit);
            self.in_id_batches("audit", |sql, first, last| {
                report.audit += sql.execute(
                    "DELETE FROM audit WHERE id BETWEEN $1 AND $2 AND time < $3",
                    args![first, last, audit_cut],
                )?;
                Ok(())
            })?;
        }
        report.free_bytes = self.free_bytes()?;
        Ok(report)
    }

    /// Calls `work` with consecutive id ranges of `table` of [`BATCH`] ids, each in its own
    /// transaction.
    fn in_id_batches(
        &self,
        table: &str,
        mut work: impl FnMut(&mut dyn Sql, i64, i64) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let range = self.with_sql(|sql| {
            let row = sql.query_one(&format!("SELECT MIN(id), MAX(id) FROM {table}"), args![])?;
            Ok((row.opt_int(0)?, row.opt_int(1)?))
        })?;
        let (Some(mut first), Some(highest)) = range else {
            return Ok(());
        };
        while first <= highest {
            let last = first.saturating_add(BATCH - 1);
            self.in_transaction(|sql| work(sql, first, last))?;
            first = last.saturating_add(1);
        }
        Ok(())
    }

    /// Deletes deliveries made before `cut`, walking the table in key order [`BATCH`] keys
    /// per transaction.
    fn delete_deliveries(&self, cut: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        let mut after = (String::new(), String::new());
        loop {
            let (count, next) = self.in_transaction(|sql| {
                let key = |row: Row| Ok::<_, DbError>((row.text(0)?, row.text(1)?));
                let batch_end = sql.query_opt(
                    "SELECT platform, notification_id FROM deliveries
                     WHERE (platform, notification_id) > ($1, $2)
                     ORDER BY platform, notification_id LIMIT 1 OFFSET $3",
                    args![&after.0, &after.1, BATCH - 1],
                )?;
                let (last, more) = match batch_end {
                    Some(row) => (key(row)?, true),
                    None => match sql.query_opt(
                        "SELECT platform, notification_id FROM deliveries
                         ORDER BY platform DESC, notification_id DESC LIMIT 1",
                        args![],
                    )? {
                        Some(row) => (key(row)?, false),
                        None => return Ok((0, None)),
                    },
                };
                // Both bounds, so that the engine walks this batch's keys only.
                let count = sql.execute(
                    "DELETE FROM deliveries
                     WHERE (platform, notification_id) > ($1, $2) AND (platform, notification_id) <= ($3, $4)
                           AND delivered_at < $5
                           AND NOT EXISTS (SELECT 1 FROM incidents i
                                           WHERE i.channel = deliveries.channel AND i.message_id = deliveries.message_id
                                                 AND i.platform = deliveries.platform AND i.closed_at IS NULL)
                           AND NOT EXISTS (SELECT 1 FROM alert_groups g
                                           WHERE g.channel = deliveries.channel AND g.message_id = deliveries.message_id
                                                 AND g.platform = deliveries.platform AND g.closed_at IS NULL)",
                    args![&after.0, &after.1, &last.0, &last.1, cut],
                )?;
                Ok((count, more.then_some(last)))
            })?;
            deleted += count;
            match next {
                Some(last) => after = last,
                None => return Ok(deleted),
            }
        }
    }

    /// Bytes of free pages inside an SQLite file; PostgreSQL's autovacuum reuses the space of
    /// deleted rows on its own, and the report says 0 there.
    fn free_bytes(&self) -> Result<u64, StoreError> {
        self.with_sql(|sql| {
            if sql.dialect() == Dialect::Postgres {
                return Ok(0);
            }
            let pages = sql.query_one("PRAGMA freelist_count", args![])?.int(0)?;
            let page_size = sql.query_one("PRAGMA page_size", args![])?.int(0)?;
            Ok(u64::try_from(pages.saturating_mul(page_size)).unwrap_or(0))
        })
    }
}

/// Deletes the incidents with ids `first..=last` closed before `cut` whose group is not open,
/// with their history lines and membership; returns how many incidents and lines went.
fn delete_closed_incidents(sql: &mut dyn Sql, first: i64, last: i64, cut: i64) -> Result<(u64, u64), StoreError> {
    let doomed = sql.query(
        "SELECT id FROM incidents
         WHERE id BETWEEN $1 AND $2 AND closed_at < $3
               AND NOT EXISTS (SELECT 1 FROM alert_group_members m JOIN alert_groups g ON g.id = m.group_id
                               WHERE m.incident_id = incidents.id AND g.closed_at IS NULL)",
        args![first, last, cut],
    )?;
    let mut history_lines = 0;
    for row in &doomed {
        let id = row.int(0)?;
        history_lines += sql.execute("DELETE FROM incident_history WHERE incident_id = $1", args![id])?;
        sql.execute("DELETE FROM alert_group_members WHERE incident_id = $1", args![id])?;
        sql.execute("DELETE FROM incidents WHERE id = $1", args![id])?;
    }
    Ok((doomed.len() as u64, history_lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::close_incident;
    use crate::testing::{ack_audit, card, engines};
    use crate::{Delivery, GroupBatch, GroupChange, IncidentChange, IncidentId, MemberDelivery, NewGroup};
    use hagios_domain::{GroupCard, ObjectRef, Snooze, State};

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_000 * DAY;
    const OLD: i64 = DAY;
    const KEEP_90_DAYS: Retention = Retention { keep: 90 * DAY, keep_audit: None };

    fn delivery(message_id: &str, at: i64) -> Delivery {
        Delivery { channel: "C".into(), message_id: message_id.into(), at }
    }

    fn problem(service: &str, at: i64) -> IncidentChange {
        IncidentChange::Open {
            card: card(ObjectRef::service("web01", service), State::Critical, None, at),
            opened_at: at,
            route: None,
        }
    }

    /// An incident opened by notification `{key}.1` and closed by `{key}.2`, both at `at`.
    fn closed_incident(store: &Store, key: &str, at: i64) -> IncidentId {
        let id = open_incident(store, key, at);
        let recovered = card(ObjectRef::service("web01", key), State::Ok, Some("recovered"), at);
        let close = IncidentChange::Close { id, card: recovered };
        store.commit_notification(&format!("{key}.2"), &delivery(&format!("{key}-reply"), at), &close).unwrap();
        id
    }

    fn open_incident(store: &Store, key: &str, at: i64) -> IncidentId {
        store.commit_notification(&format!("{key}.1"), &delivery(key, at), &problem(key, at)).unwrap().unwrap()
    }

    /// A group message `group` opened at `at` with one member incident per service.
    fn group_with_members(store: &Store, group: &str, services: &[&str], at: i64) -> crate::GroupId {
        let members = services
            .iter()
            .map(|service| MemberDelivery {
                notification_id: format!("{group}.{service}"),
                delivery: delivery(group, at),
                changes: vec![problem(service, at)],
            })
            .collect();
        let new_group = NewGroup {
            channel: "C".into(),
            key: group.into(),
            message_id: group.into(),
            card: GroupCard::empty("local", at),
            opened_at: at,
        };
        let batch = GroupBatch { attempt_key: group.into(), group: GroupChange::Open(new_group), members };
        store.commit_group_batch(&batch).unwrap().unwrap()
    }

    fn close_group(store: &Store, id: crate::GroupId, at: i64) {
        let close = GroupBatch {
            attempt_key: format!("close-{id}"),
            group: GroupChange::Update { id, card: GroupCard::empty("local", at), closed_at: Some(at) },
            members: Vec::new(),
        };
        store.commit_group_batch(&close).unwrap();
    }

    fn count(store: &Store, table: &str) -> i64 {
        store.with_sql(|sql| Ok(sql.query_one(&format!("SELECT COUNT(*) FROM {table}"), args![])?.int(0)?)).unwrap()
    }

    fn audit(store: &Store, time: i64) {
        store.audit(&ack_audit(time)).unwrap();
    }

    #[test]
    fn an_old_closed_incident_goes_with_its_history_deliveries_and_group() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open().for_platform("slack");
            let old = closed_incident(&store, "old", OLD);
            let group = group_with_members(&store, "g1", &["HTTP", "SSH"], OLD);
            for member in store.open_group_members(group).unwrap() {
                close_incident(&store, member.id, OLD);
            }
            close_group(&store, group, OLD);
            let recent = closed_incident(&store, "recent", NOW - DAY);

            let report = store.prune(&KEEP_90_DAYS, NOW).unwrap();
            assert_eq!(
                (report.incidents, report.history_lines, report.groups, report.deliveries),
                (3, 1, 1, 4),
                "{report:?}"
            );
            assert!(store.incident_by_message("C", "old").unwrap().is_none(), "{old} is gone");
            assert!(store.group(group).unwrap().is_none());
            assert_eq!(count(&store, "alert_group_members"), 0);
            assert!(store.delivered("old.1").unwrap().is_none(), "its deliveries are old too");
            let kept = store.incident_by_message("C", "recent").unwrap().expect("within keep");
            assert_eq!((kept.id, kept.history.len()), (recent, 1));
            assert!(store.delivered("recent.2").unwrap().is_some());
            assert!(store.prune(&KEEP_90_DAYS, NOW).unwrap().is_empty(), "a second prune finds nothing");
        }
    }

    #[test]
    fn open_incidents_and_groups_keep_what_they_point_at_however_old() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open().for_platform("matrix");
            store.record_delivery("today", &delivery("today", NOW)).unwrap();
            let open = open_incident(&store, "open", OLD);
            let group = group_with_members(&store, "g1", &["HTTP", "SSH"], OLD);
            let members = store.open_group_members(group).unwrap();
            close_incident(&store, members[0].id, OLD);

            let report = store.prune(&KEEP_90_DAYS, NOW).unwrap();
            assert!(report.is_empty(), "{report:?}");
            assert!(
                store.open_incident_for("local", &ObjectRef::service("web01", "open")).unwrap().is_some(),
                "{open}"
            );
            assert!(store.delivered("open.1").unwrap().is_some(), "the delivery of its parent message");
            assert!(store.delivered("g1.HTTP").unwrap().is_some(), "the deliveries of the open group's message");
            assert_eq!(
                store.group_of_incident(members[0].id).unwrap(),
                Some(group),
                "a closed member of an open group"
            );

            close_incident(&store, members[1].id, OLD);
            close_group(&store, group, OLD);
            let report = store.prune(&KEEP_90_DAYS, NOW).unwrap();
            assert_eq!((report.incidents, report.groups, report.deliveries), (2, 1, 2), "{report:?}");
            assert!(store.delivered("open.1").unwrap().is_some(), "still open");
        }
    }

    #[test]
    fn the_audit_log_is_kept_forever_unless_told() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            audit(&store, OLD);
            audit(&store, NOW - DAY);
            assert_eq!(store.prune(&KEEP_90_DAYS, NOW).unwrap().audit, 0);
            assert_eq!(store.recent_audit(10).unwrap().len(), 2);

            let one_year = Retention { keep_audit: Some(365 * DAY), ..KEEP_90_DAYS };
            assert_eq!(store.prune(&one_year, NOW).unwrap().audit, 1);
            assert_eq!(store.recent_audit(10).unwrap()[0].time, NOW - DAY);
        }
    }

    #[test]
    fn ended_snoozes_and_forgotten_attempts_go_running_ones_stay() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            let snooze = |host: &str, since: i64, until: i64| Snooze {
                object: ObjectRef::host(host),
                since,
                until,
                author: "alice".into(),
            };
            store.put_snooze(&snooze("ended-yesterday", NOW - 2 * DAY, NOW - DAY), NOW - 2 * DAY).unwrap();
            store.put_snooze(&snooze("running", OLD, NOW + DAY), OLD).unwrap();
            // Last: putting a snooze forgets those ended a week before it.
            store.put_snooze(&snooze("long-ended", OLD, OLD + DAY), OLD).unwrap();
            assert!(!store.begin_attempt("crashed", OLD).unwrap());
            assert!(!store.begin_attempt("in-progress", NOW).unwrap());
            store.begin_group_attempt("crashed-group", &["n1".into()], OLD).unwrap();

            let one_day = Retention { keep: DAY, keep_audit: None };
            let report = store.prune(&one_day, NOW).unwrap();
            assert_eq!((report.snoozes, report.attempts), (1, 2), "{report:?}");
            let hosts: Vec<String> = store.snoozes().unwrap().into_iter().map(|s| s.object.host).collect();
            assert_eq!(hosts, ["ended-yesterday", "running"], "the pipeline needs ended snoozes for a week");
            assert!(store.begin_attempt("in-progress", NOW).unwrap(), "still marked");
            assert!(!store.begin_attempt("crashed", NOW).unwrap(), "forgotten");
        }
    }

    #[test]
    fn a_bot_stopped_for_longer_than_keep_remembers_its_last_deliveries() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            store.record_delivery("before-the-stop", &delivery("1", OLD)).unwrap();
            store.record_delivery("a-day-earlier", &delivery("2", OLD - 2 * DAY)).unwrap();
            let one_day = Retention { keep: DAY, keep_audit: None };
            assert_eq!(store.prune(&one_day, NOW).unwrap().deliveries, 1);
            assert!(
                store.delivered("before-the-stop").unwrap().is_some(),
                "a spool record left by a crash still finds it"
            );
        }
    }

    #[test]
    fn deliveries_of_every_platform_go_across_many_batches() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            let rows = 2 * BATCH + 7;
            store
                .in_transaction(|sql| {
                    for n in 0..rows {
                        let platform = ["matrix", "slack", "terminal"][(n % 3) as usize];
                        let at = if n % 10 == 0 { NOW } else { OLD };
                        sql.execute(
                            "INSERT INTO deliveries (platform, notification_id, channel, message_id, delivered_at)
                             VALUES ($1, $2, 'C', $2, $3)",
                            args![platform, format!("n{n}"), at],
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
            let young = (0..rows).filter(|n| n % 10 == 0).count() as i64;
            assert_eq!(store.prune(&KEEP_90_DAYS, NOW).unwrap().deliveries, (rows - young) as u64);
            assert_eq!(count(&store, "deliveries"), young);
        }
    }

    /// The figure in docs/PERFORMANCE.md ("Retention"): a year's worth of rows in a file-backed
    /// database, then one prune. Run with
    /// `cargo test -p hagios-store --release --lib -- --ignored --nocapture measure_a_big_first_prune`.
    #[test]
    #[ignore = "a measurement: takes a minute to fill the database"]
    fn measure_a_big_first_prune() {
        const OLD_DELIVERIES: i64 = 1_000_000;
        const KEPT_DELIVERIES: i64 = 1_000_000;
        const CLOSED_INCIDENTS: i64 = 100_000;
        const MEMBERS_PER_GROUP: i64 = 10;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let store = Store::open(&path).unwrap();
        let card = format!(r#"{{"state":"OK","output":"{}"}}"#, "x".repeat(500));
        store
            .in_transaction(|sql| {
                let deliver = "INSERT INTO deliveries (platform, notification_id, channel, message_id, delivered_at)
                               VALUES ($1, $2, 'C0ALERTS', $3, $4)";
                for n in 0..OLD_DELIVERIES {
                    let platform = if n % 2 == 0 { "slack" } else { "matrix" };
                    let id = format!("{n:016x}-{}", n * 7919);
                    sql.execute(deliver, args![platform, id, format!("1700000000.{n:06}"), OLD])?;
                }
                for n in 0..KEPT_DELIVERIES {
                    sql.execute(deliver, args!["slack", format!("young-{n}"), format!("1800000000.{n:06}"), NOW])?;
                }
                for n in 0..CLOSED_INCIDENTS {
                    let id = sql
                        .query_one(
                            "INSERT INTO incidents (platform, site, host, service, channel, message_id, state, card, opened_at, closed_at)
                             VALUES ('slack', 'local', $1, 'HTTP', 'C0ALERTS', $2, 'OK', $3, $4, $4) RETURNING id",
                            args![format!("host{n}"), format!("1700000000.{n:06}"), &card, OLD],
                        )?
                        .int(0)?;
                    sql.execute(
                        "INSERT INTO incident_history (incident_id, line) VALUES ($1, 'acknowledged by alice: on it')",
                        args![id],
                    )?;
                    if n % MEMBERS_PER_GROUP == 0 {
                        sql.execute(
                            "INSERT INTO alert_groups (platform, channel, group_key, message_id, card, opened_at, closed_at)
                             VALUES ('slack', 'C0ALERTS', $1, $1, $2, $3, $3)",
                            args![format!("group{n}"), &card, OLD],
                        )?;
                    }
                    sql.execute(
                        "INSERT INTO alert_group_members (group_id, incident_id) VALUES ((SELECT MAX(id) FROM alert_groups), $1)",
                        args![id],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let size = |path: &std::path::Path| std::fs::metadata(path).map_or(0, |meta| meta.len());
        let before = size(&path);
        let started = std::time::Instant::now();
        let report = store.prune(&KEEP_90_DAYS, NOW).unwrap();
        let took = started.elapsed();
        println!(
            "pruned {} deliveries, {} incidents, {} groups in {:.2?}; file {} MB, {} MB of it free afterwards",
            report.deliveries,
            report.incidents,
            report.groups,
            took,
            before / 1_000_000,
            report.free_bytes / 1_000_000
        );
        assert_eq!((report.deliveries, report.incidents), (OLD_DELIVERIES as u64, CLOSED_INCIDENTS as u64));
        let started = std::time::Instant::now();
        assert!(store.prune(&KEEP_90_DAYS, NOW).unwrap().is_empty());
        println!("then a prune with nothing to delete among {KEPT_DELIVERIES} deliveries: {:.2?}", started.elapsed());
    }
}
