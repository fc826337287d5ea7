//! Alert groups: one chat message stands for a burst of incidents (a host's services during an
//! outage, say). A group is committed together with the deliveries of all notifications it
//! carried, and the member list of a group delivery is fixed before anything is posted, so a
//! retry after a crash posts exactly what the first try would have.

use crate::incident::{apply, encode, find_incident, insert_delivery, INCIDENT_COLUMNS};
use crate::sql::{args, DbError, Row, Sql, Value};
use crate::{Delivery, Incident, IncidentChange, Store, StoreError};
use hagios_domain::GroupCard;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub i64);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    pub id: GroupId,
    pub channel: String,
    /// What the members have in common (route and `group_by` values), chosen by the caller.
    pub key: String,
    /// The group's message in `channel`.
    pub message_id: String,
    /// What the group message shows now.
    pub card: GroupCard,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
}

/// A group whose message has just been posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    pub channel: String,
    pub key: String,
    pub message_id: String,
    pub card: GroupCard,
    pub opened_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// Nothing was posted (every member recovered before it was announced).
    None,
    Open(NewGroup),
    /// The group message was edited; `closed_at` when no member is open any more.
    Update {
        id: GroupId,
        card: GroupCard,
        closed_at: Option<i64>,
    },
}

/// One notification a group delivery carried, where it appears, and what it did to its incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDelivery {
    pub notification_id: String,
    pub delivery: Delivery,
    /// Applied in order; incidents opened here join the group.
    pub changes: Vec<IncidentChange>,
}

/// Everything one group delivery did, committed in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBatch {
    /// The key [`Store::begin_group_attempt`] was called with.
    pub attempt_key: String,
    pub group: GroupChange,
    pub members: Vec<MemberDelivery>,
}

const GROUP_COLUMNS: &str = "id, channel, group_key, message_id, card, opened_at, closed_at";

impl Store {
    /// Marks the start of a group delivery keyed `key` with these member notification ids and
    /// returns whether an earlier try was left unfinished, and the members to deliver: those
    /// of the earlier try when there was one, so that a retry carries the same notifications.
    pub fn begin_group_attempt(
        &self,
        key: &str,
        members: &[String],
        now: i64,
    ) -> Result<(bool, Vec<String>), StoreError> {
        self.in_transaction(|sql| {
            let earlier = sql.query_opt(
                "SELECT members FROM group_attempts WHERE platform = $1 AND attempt_key = $2",
                args![self.platform(), key],
            )?;
            if let Some(earlier) = earlier {
                return Ok((true, earlier.text(0)?.lines().map(str::to_owned).collect()));
            }
            sql.execute(
                "INSERT INTO group_attempts (platform, attempt_key, members, started_at) VALUES ($1, $2, $3, $4)",
                args![self.platform(), key, members.join("\n"), now],
            )?;
            Ok((false, members.to_vec()))
        })
    }

    /// Commits a group delivery: the group, every member's delivery and incident changes, and
    /// the end of the attempt — all or nothing. Returns the group's id when there is a group.
    pub fn commit_group_batch(&self, batch: &GroupBatch) -> Result<Option<GroupId>, StoreError> {
        let platform = self.platform();
        self.in_transaction(|sql| {
            let group = match &batch.group {
                GroupChange::None => None,
                GroupChange::Open(group) => Some(insert_group(sql, platform, group)?),
                GroupChange::Update { id, card, closed_at } => {
                    let changed = sql.execute(
                        "UPDATE alert_groups SET card = $2, closed_at = $3 WHERE id = $1",
                        args![id.0, encode(card), *closed_at],
                    )?;
                    if changed == 0 {
                        return Err(StoreError::NoSuchGroup(*id));
                    }
                    Some(*id)
                }
            };
            for member in &batch.members {
                insert_delivery(sql, platform, &member.notification_id, &member.delivery)?;
                crate::inbox::finish(sql, &member.notification_id)?;
                for change in &member.changes {
                    let incident = apply(sql, platform, &member.delivery, change)?;
                    if let (Some(group), IncidentChange::Open { .. }, Some(incident)) = (group, change, incident) {
                        sql.execute(
                            "INSERT INTO alert_group_members (group_id, incident_id) VALUES ($1, $2)",
                            args![group.0, incident.0],
                        )?;
                    }
                }
            }
            sql.execute(
                "DELETE FROM group_attempts WHERE platform = $1 AND attempt_key = $2",
                args![platform, &batch.attempt_key],
            )?;
            Ok(group)
        })
    }

    /// The open group for `key` in `channel`: later members join it instead of opening another.
    pub fn open_group(&self, channel: &str, key: &str) -> Result<Option<AlertGroup>, StoreError> {
        let statement = format!(
            "SELECT {GROUP_COLUMNS} FROM alert_groups
             WHERE platform = $1 AND channel = $2 AND group_key = $3 AND closed_at IS NULL"
        );
        self.find_group(&statement, args![self.platform(), channel, key])
    }

    pub fn group(&self, id: GroupId) -> Result<Option<AlertGroup>, StoreError> {
        self.find_group(&format!("SELECT {GROUP_COLUMNS} FROM alert_groups WHERE id = $1"), args![id.0])
    }

    /// The group whose message is `message_id` in `channel` (the newest, should ids repeat).
    pub fn group_by_message(&self, channel: &str, message_id: &str) -> Result<Option<AlertGroup>, StoreError> {
        let statement = format!(
            "SELECT {GROUP_COLUMNS} FROM alert_groups
             WHERE platform = $1 AND channel = $2 AND message_id = $3 ORDER BY id DESC LIMIT 1"
        );
        self.find_group(&statement, args![self.platform(), channel, message_id])
    }

    fn find_group(&self, statement: &str, params: &[Value]) -> Result<Option<AlertGroup>, StoreError> {
        self.with_sql(|sql| Ok(sql.query_opt(statement, params)?.map(|row| group_from_row(&row)).transpose()?))
    }

    /// The group an incident joined when it opened, if any.
    pub fn group_of_incident(&self, incident: crate::IncidentId) -> Result<Option<GroupId>, StoreError> {
        self.with_sql(|sql| {
            let row =
                sql.query_opt("SELECT group_id FROM alert_group_members WHERE incident_id = $1", args![incident.0])?;
            Ok(row.map(|row| row.int(0).map(GroupId)).transpose()?)
        })
    }

    /// The group's member incidents that are still open, oldest first.
    pub fn open_group_members(&self, id: GroupId) -> Result<Vec<Incident>, StoreError> {
        self.with_sql(|sql| {
            let ids = sql.query(
                "SELECT i.id FROM alert_group_members m JOIN incidents i ON i.id = m.incident_id
                 WHERE m.group_id = $1 AND i.closed_at IS NULL ORDER BY i.id",
                args![id.0],
            )?;
            let statement = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
            let mut members = Vec::with_capacity(ids.len());
            for id in ids {
                members.extend(find_incident(sql, &statement, args![id.int(0)?])?);
            }
            Ok(members)
        })
    }
}

fn insert_group(sql: &mut dyn Sql, platform: &str, group: &NewGroup) -> Result<GroupId, StoreError> {
    let inserted = sql.query_one(
        "INSERT INTO alert_groups (platform, channel, group_key, message_id, card, opened_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        args![platform, &group.channel, &group.key, &group.message_id, encode(&group.card), group.opened_at],
    )?;
    Ok(GroupId(inserted.int(0)?))
}

fn group_from_row(row: &Row) -> Result<AlertGroup, DbError> {
    let id = GroupId(row.int(0)?);
    let opened_at = row.int(5)?;
    let card = serde_json::from_str(&row.text(4)?).unwrap_or_else(|e| {
        tracing::warn!(error = %e, group = %id, "cannot read the stored group card; starting a fresh one");
        GroupCard::empty("", opened_at)
    });
    Ok(AlertGroup {
        id,
        channel: row.text(1)?,
        key: row.text(2)?,
        message_id: row.text(3)?,
        card,
        opened_at,
        closed_at: row.opt_int(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{card, engines};
    use hagios_domain::{ObjectRef, State};

    fn member(id: &str, service: &str) -> MemberDelivery {
        MemberDelivery {
            notification_id: id.into(),
            delivery: Delivery { channel: "C".into(), message_id: "2".into(), at: 1 },
            changes: vec![IncidentChange::Open {
                card: card(ObjectRef::service("db01", service), State::Critical, None, 1),
                opened_at: 1,
                route: None,
            }],
        }
    }

    #[test]
    fn a_group_attempt_keeps_its_members_until_the_batch_commits() {
        for engine in engines() {
            eprintln!("on {engine}");
            let store = engine.open();
            let first = ["n1".to_owned(), "n2".to_owned()];
            assert_eq!(store.begin_group_attempt("n1", &first, 1).unwrap(), (false, first.to_vec()));
            drop(store);
            let store = engine.open();
            let more = ["n1".to_owned(), "n2".to_owned(), "n3".to_owned()];
            assert_eq!(
                store.begin_group_attempt("n1", &more, 2).unwrap(),
                (true, first.to_vec()),
                "the first try's members"
            );

            let new_group = NewGroup {
                channel: "C".into(),
                key: "db01".into(),
                message_id: "1".into(),
                card: GroupCard::empty("local", 1),
                opened_at: 1,
            };
            let batch = GroupBatch {
                attempt_key: "n1".into(),
                group: GroupChange::Open(new_group),
                members: vec![member("n1", "HTTP"), member("n2", "SSH")],
            };
            let group = store.commit_group_batch(&batch).unwrap().expect("a group");
            assert_eq!(store.open_group("C", "db01").unwrap().map(|g| g.id), Some(group));
            assert_eq!(store.group_by_message("C", "1").unwrap().map(|g| g.id), Some(group));
            let members = store.open_group_members(group).unwrap();
            assert_eq!(members.len(), 2);
            assert_eq!(store.group_of_incident(members[0].id).unwrap(), Some(group));
            assert!(store.delivered("n2").unwrap().is_some());
            assert!(!store.begin_group_attempt("n1", &more, 3).unwrap().0, "the commit ended the attempt");

            let again =
                GroupBatch { attempt_key: "n9".into(), group: GroupChange::None, members: vec![member("n2", "DISK")] };
            assert!(matches!(store.commit_group_batch(&again), Err(StoreError::AlreadyDelivered(_))));
            assert!(
                store.open_incident_for("local", &ObjectRef::service("db01", "DISK")).unwrap().is_none(),
                "all or nothing"
            );

            let close = GroupBatch {
                attempt_key: "n4".into(),
                group: GroupChange::Update { id: group, card: GroupCard::empty("local", 5), closed_at: Some(5) },
                members: Vec::new(),
            };
            store.commit_group_batch(&close).unwrap();
            assert!(store.open_group("C", "db01").unwrap().is_none());
            assert_eq!(store.group(group).unwrap().and_then(|g| g.closed_at), Some(5));
        }
    }
}
