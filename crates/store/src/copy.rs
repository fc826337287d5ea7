//! `hagios store copy`: every row of one store into another, empty one — SQLite into PostgreSQL
//! when a single bot becomes two, or back. Ids are kept, so open incidents keep their chat
//! messages (their threads go on being edited), groups their members and histories their
//! order; deliveries and attempts come along, and so do on-call overrides, pages with their
//! steps and posts made once, so nothing is posted or paged again, and where each chat
//! platform's event stream resumes (Matrix's `/sync` position). What only a running
//! bot needs (the inbox, the lease, commands in flight) is not copied. The copy reads one
//! snapshot of the source and writes in one transaction: all of it or nothing.

use crate::sql::{args, Dialect, Sql, Value};
use crate::{Store, StoreError};

/// A table to copy: its columns, and the key that orders it (pages are read after the last key).
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    key: &'static [&'static str],
    /// The identity column PostgreSQL numbers on its own, set after the copy to go on from the
    /// highest id copied.
    identity: Option<&'static str>,
}

/// In an order that satisfies the foreign keys.
const TABLES: [Table; 15] = [
    Table {
        name: "incidents",
        columns: &[
            "id",
            "platform",
            "site",
            "host",
            "service",
            "channel",
            "message_id",
            "state",
            "card",
            "opened_at",
            "closed_at",
            "reminders",
            "reminded_at",
            "route",
        ],
        key: &["id"],
        identity: Some("id"),
    },
    Table {
        name: "incident_history",
        columns: &["rowid", "incident_id", "line", "at", "kind"],
        key: &["rowid"],
        identity: Some("rowid"),
    },
    Table {
        name: "alert_groups",
        columns: &["id", "platform", "channel", "group_key", "message_id", "card", "opened_at", "closed_at"],
        key: &["id"],
        identity: Some("id"),
    },
    Table { name: "alert_group_members", columns: &["group_id", "incident_id"], key: &["incident_id"], identity: None },
    Table {
        name: "deliveries",
        columns: &["platform", "notification_id", "channel", "message_id", "delivered_at"],
        key: &["platform", "notification_id"],
        identity: None,
    },
    Table {
        name: "delivery_attempts",
        columns: &["platform", "notification_id", "started_at"],
        key: &["platform", "notification_id"],
        identity: None,
    },
    Table {
        name: "group_attempts",
        columns: &["platform", "attempt_key", "members", "started_at"],
        key: &["platform", "attempt_key"],
        identity: None,
    },
    Table {
        name: "snoozes",
        columns: &["host", "service", "since", "until", "author"],
        key: &["host", "service"],
        identity: None,
    },
    Table {
        name: "oncall_overrides",
        columns: &["id", "schedule", "person", "starts_at", "ends_at", "replaces", "author", "created_at"],
        key: &["id"],
        identity: Some("id"),
    },
    Table {
        name: "page_intents",
        columns: &["platform", "notification_id", "site", "host", "service", "schedule", "policy", "created_at"],
        key: &["platform", "notification_id"],
        identity: None,
    },
    Table {
        name: "pages",
        columns: &[
            "id",
            "platform",
            "channel",
            "message_id",
            "schedule",
            "policy",
            "started_at",
            "steps",
            "forced",
            "forced_note",
            "paused_since",
            "paused_for",
            "stopped_at",
            "stopped_why",
        ],
        key: &["id"],
        identity: Some("id"),
    },
    Table {
        name: "page_steps",
        columns: &["page_id", "started_at", "step", "at", "people", "text"],
        key: &["page_id", "started_at", "step"],
        identity: None,
    },
    Table {
        name: "posted_once",
        columns: &["platform", "post_key", "at"],
        key: &["platform", "post_key"],
        identity: None,
    },
    Table { name: "chat_positions", columns: &["platform", "position"], key: &["platform"], identity: None },
    Table {
        name: "audit",
        columns: &[
            "id",
            "time",
            "platform",
            "user_id",
            "user_name",
            "raw_text",
            "command",
            "parsed",
            "allowed",
            "result",
        ],
        key: &["id"],
        identity: Some("id"),
    },
];

/// Rows read per page.
const PAGE: i64 = 1_000;

/// How many rows of each table were copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

impl CopyReport {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables.iter().find(|(name, _)| *name == table).map_or(0, |(_, rows)| *rows)
    }
}

impl Store {
    /// Copies every row of this store into `target`, which must hold no incidents, deliveries
    /// or audit records yet.
    pub fn copy_into(&self, target: &Store) -> Result<CopyReport, StoreError> {
        self.in_unfenced_transaction(|from| {
            target.in_unfenced_transaction(|to| {
                refuse_a_used_target(to)?;
                let mut report = CopyReport::default();
                for table in &TABLES {
                    report.tables.push((table.name, copy_table(from, to, table)?));
                    if let (Dialect::Postgres, Some(column)) = (to.dialect(), table.identity) {
                        let name = table.name;
                        to.query_one(
                            &format!(
                                "SELECT setval(pg_get_serial_sequence('{name}', '{column}'),
                                               GREATEST(COALESCE(MAX({column}), 0), 1), COALESCE(MAX({column}), 0) > 0)
                                 FROM {name}"
                            ),
                            args![],
                        )?;
                    }
                }
                Ok(report)
            })
        })
    }
}

fn refuse_a_used_target(to: &mut dyn Sql) -> Result<(), StoreError> {
    for table in ["incidents", "deliveries", "audit"] {
        let rows = to.query_one(&format!("SELECT COUNT(*) FROM {table}"), args![])?.int(0)?;
        if rows > 0 {
            return Err(StoreError::CopyRefused(format!(
                "the target already holds {rows} rows in `{table}`: copy into a new, empty database (hagios creates \
                 its tables there), so that no incident or delivery is mixed with another store's"
            )));
        }
    }
    Ok(())
}

fn copy_table(from: &mut dyn Sql, to: &mut dyn Sql, table: &Table) -> Result<u64, StoreError> {
    let columns = table.columns.join(", ");
    let key = table.key.join(", ");
    let after: Vec<String> = (1..=table.key.len()).map(|n| format!("${n}")).collect();
    let first_page = format!("SELECT {columns} FROM {} ORDER BY {key} LIMIT {PAGE}", table.name);
    let next_page = format!(
        "SELECT {columns} FROM {} WHERE ({key}) > ({}) ORDER BY {key} LIMIT {PAGE}",
        table.name,
        after.join(", ")
    );
    let placeholders: Vec<String> = (1..=table.columns.len()).map(|n| format!("${n}")).collect();
    let insert = format!("INSERT INTO {} ({columns}) VALUES ({})", table.name, placeholders.join(", "));
    let key_positions: Vec<usize> = table
        .key
        .iter()
        .map(|key| table.columns.iter().position(|column| column == key).expect("the key is among the columns"))
        .collect();

    let mut copied = 0;
    let mut last: Option<Vec<Value>> = None;
    loop {
        let rows = match &last {
            None => from.query(&first_page, args![])?,
            Some(key) => from.query(&next_page, key)?,
        };
        for row in &rows {
            to.execute(&insert, &row.0)?;
        }
        copied += rows.len() as u64;
        match rows.last() {
            Some(row) if rows.len() as i64 == PAGE => {
                last = Some(key_positions.iter().map(|&position| row.0[position].clone()).collect());
            }
            _ => return Ok(copied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ack_audit, card, engines};
    use crate::{
        Delivery, GroupBatch, GroupChange, IncidentChange, MemberDelivery, NewGroup, Override, PageIntent, PageStep,
    };
    use hagios_domain::{GroupCard, ObjectRef, Snooze, State};

    fn delivery(message_id: &str) -> Delivery {
        Delivery { channel: "C".into(), message_id: message_id.into(), at: 100 }
    }

    /// A store with an open incident with history and its route, a closed one, an open group of two, a snooze,
    /// an unfinished attempt, an audit record, an override, a page of the open incident with one
    /// step, and a handover posted once.
    fn fill(store: &Store) -> crate::IncidentId {
        let slack = store.for_platform("slack");
        let open = IncidentChange::Open {
            card: card(ObjectRef::host("web01"), State::Down, None, 100),
            opened_at: 100,
            route: Some("web".into()),
        };
        let id = slack.commit_notification("n1", &delivery("1.0"), &open).unwrap().unwrap();
        let ack =
            IncidentChange::Update { id, card: card(ObjectRef::host("web01"), State::Down, Some("ack by alice"), 110) };
        slack.commit_notification("n2", &delivery("1.1"), &ack).unwrap();
        let old = IncidentChange::Open {
            card: card(ObjectRef::host("db01"), State::Down, None, 50),
            opened_at: 50,
            route: None,
        };
        let old_id = slack.commit_notification("n0", &delivery("0.1"), &old).unwrap().unwrap();
        let recovered =
            IncidentChange::Close { id: old_id, card: card(ObjectRef::host("db01"), State::Up, Some("up"), 60) };
        slack.commit_notification("n0r", &delivery("0.2"), &recovered).unwrap();
        let members = ["HTTP", "SSH"].map(|service| MemberDelivery {
            notification_id: format!("g.{service}"),
            delivery: delivery("2.0"),
            changes: vec![IncidentChange::Open {
                card: card(ObjectRef::service("app01", service), State::Critical, None, 120),
                opened_at: 120,
                route: None,
            }],
        });
        let group = NewGroup {
            channel: "C".into(),
            key: "app01".into(),
            message_id: "2.0".into(),
            card: GroupCard::empty("local", 120),
            opened_at: 120,
        };
        slack
            .commit_group_batch(&GroupBatch {
                attempt_key: "g".into(),
                group: GroupChange::Open(group),
                members: members.into(),
            })
            .unwrap();
        store
            .put_snooze(
                &Snooze { object: ObjectRef::host("app01"), since: 100, until: 9_999, author: "bob".into() },
                100,
            )
            .unwrap();
        slack.begin_attempt("n9", 130).unwrap();
        store.audit(&ack_audit(5)).unwrap();
        let take = Override {
            schedule: "db".into(),
            person: "alice".into(),
            starts_at: 100,
            ends_at: 9_999,
            replaces: None,
            author: "alice".into(),
            created_at: 100,
        };
        store.add_override(&take).unwrap();
        let intent = PageIntent {
            notification_id: "n1".into(),
            site: "local".into(),
            object: ObjectRef::host("web01"),
            schedule: "db".into(),
            policy: "default".into(),
        };
        slack.intend_page(&intent, 100).unwrap();
        slack.start_pages(100).unwrap();
        let page = slack.page_of_thread("C", "1.0").unwrap().expect("the page");
        let step = PageStep { step: 0, at: 101, people: vec!["alice".into()], text: "paging alice".into() };
        slack.record_page_step(&page, &step, "page").unwrap();
        slack.record_posted_once("handover:db:100", 100).unwrap();
        store.keep_chat_position("matrix", "s42_7").unwrap();
        id
    }

    #[test]
    fn everything_moves_with_its_ids_and_open_threads_go_on_in_the_copy() {
        for target_engine in engines() {
            let source_engine = &engines()[0];
            let source = source_engine.open();
            let open = fill(&source);
            let target = target_engine.open();
            let report = source.copy_into(&target).unwrap();
            assert_eq!(
                (report.rows("incidents"), report.rows("incident_history"), report.rows("deliveries")),
                (4, 2, 6),
                "{target_engine}: {report:?}"
            );

            let slack = target.for_platform("slack");
            let incident = slack.open_incident_for("local", &ObjectRef::host("web01")).unwrap().expect("open");
            assert_eq!(
                (incident.id, incident.message_id.as_str()),
                (open, "1.0"),
                "{target_engine}: same id, same message"
            );
            assert_eq!(incident.history, ["ack by alice"]);
            assert!(slack.delivered("n2").unwrap().is_some(), "{target_engine}: no second post of n2");
            assert!(slack.begin_attempt("n9", 200).unwrap(), "{target_engine}: the unfinished attempt is known");
            let group = slack.group_by_message("C", "2.0").unwrap().expect("the group");
            assert_eq!(slack.open_group_members(group.id).unwrap().len(), 2, "{target_engine}");
            assert_eq!(target.snoozes().unwrap().len(), 1);
            assert_eq!(target.recent_audit(5).unwrap()[0].user_name, "alice");
            assert_eq!(target.overrides(200).unwrap().len(), 1, "{target_engine}: the override");
            let page = slack.page_of_thread("C", "1.0").unwrap().expect("the page");
            assert_eq!(slack.page_steps(page.id).unwrap().len(), 1, "{target_engine}: the paged step");
            assert_eq!(slack.posted_once("handover:db:100").unwrap(), Some(100), "{target_engine}: no second handover");
            assert_eq!(
                target.chat_position("matrix").unwrap().as_deref(),
                Some("s42_7"),
                "{target_engine}: where /sync resumes"
            );
            let told = slack.incident_everywhere("local", &ObjectRef::host("web01"), None).unwrap();
            assert_eq!(told[0].story.lines[0].at, Some(110), "{target_engine}: history times");
            assert_eq!(told[0].route.as_deref(), Some("web"), "{target_engine}: the route it came by");

            // New rows go on after the copied ids.
            let next = IncidentChange::Open {
                card: card(ObjectRef::host("mail01"), State::Down, None, 300),
                opened_at: 300,
                route: None,
            };
            let new_id = slack.commit_notification("n10", &delivery("3.0"), &next).unwrap().unwrap();
            assert!(new_id > open, "{target_engine}");
            target.audit(&target.recent_audit(1).unwrap()[0]).unwrap();

            let refused = source.copy_into(&target).unwrap_err();
            assert!(refused.to_string().contains("already holds"), "{target_engine}: {refused}");
        }
    }
}
