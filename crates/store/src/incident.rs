//! Deliveries and incidents: which notification went to which chat message, and the incident
//! (site + host + service) whose parent message later notifications thread under and edit.

use crate::sql::{args, DbError, Dialect, Row, Sql, Value};
use crate::{Store, StoreError};
use hagios_domain::{AlertCard, NotificationType, ObjectRef, State};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IncidentId(pub i64);

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a notification was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub channel: String,
    pub message_id: String,
    /// Seconds since the epoch.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    pub site: String,
    pub object: ObjectRef,
    /// The channel and id of the parent message.
    pub channel: String,
    pub message_id: String,
    /// What the parent message shows now.
    pub card: AlertCard,
    /// Oldest first.
    pub history: Vec<String>,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// What one notification did to its incident, committed together with its delivery. An incident
/// opens on the message that delivered its first notification; the store keeps each card as it
/// is and its newest history line in the incident's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentChange {
    /// No incident involved (a RECOVERY nobody saw the PROBLEM of, say).
    None,
    Open {
        card: AlertCard,
        opened_at: i64,
        /// The label of the route its notification took (`report` counts it there); `None`
        /// where none is known.
        route: Option<String>,
    },
    Update {
        id: IncidentId,
        card: AlertCard,
    },
    /// The last update, then the incident closes (at the card's time); the next PROBLEM opens a
    /// new one.
    Close {
        id: IncidentId,
        card: AlertCard,
    },
}

impl IncidentChange {
    /// The card the incident shows after the change, if there is an incident.
    pub fn card(&self) -> Option<&AlertCard> {
        match self {
            IncidentChange::None => None,
            IncidentChange::Open { card, .. }
            | IncidentChange::Update { card, .. }
            | IncidentChange::Close { card, .. } => Some(card),
        }
    }
}

pub(crate) const INCIDENT_COLUMNS: &str =
    "id, site, host, service, channel, message_id, state, card, opened_at, closed_at";

impl Store {
    /// Where `notification_id` was delivered, if it was: the pipeline's dedupe check.
    pub fn delivered(&self, notification_id: &str) -> Result<Option<Delivery>, StoreError> {
        self.with_sql(|sql| {
            let row = sql.query_opt(
                "SELECT channel, message_id, delivered_at FROM deliveries WHERE platform = $1 AND notification_id = $2",
                args![self.platform(), notification_id],
            )?;
            let delivery = row.map(|row| {
                Ok::<_, DbError>(Delivery { channel: row.text(0)?, message_id: row.text(1)?, at: row.int(2)? })
            });
            Ok(delivery.transpose()?)
        })
    }

    /// Records a delivery that changed no incident.
    pub fn record_delivery(&self, notification_id: &str, delivery: &Delivery) -> Result<(), StoreError> {
        self.commit_notification(notification_id, delivery, &IncidentChange::None).map(|_| ())
    }

    /// Records that `notification_id` was delivered and applies the incident change it caused, in
    /// one transaction, which also ends its delivery attempt and takes it out of the inbox.
    /// Returns the incident the change touched.
    ///
    /// Fails with [`StoreError::AlreadyDelivered`] (and changes nothing) when the notification
    /// was committed before.
    pub fn commit_notification(
        &self,
        notification_id: &str,
        delivery: &Delivery,
        change: &IncidentChange,
    ) -> Result<Option<IncidentId>, StoreError> {
        let platform = self.platform();
        self.in_transaction(|sql| {
            insert_delivery(sql, platform, notification_id, delivery)?;
            crate::attempt::finish(sql, platform, notification_id)?;
            crate::inbox::finish(sql, notification_id)?;
            apply(sql, platform, delivery, change)
        })
    }

    /// The open incident of `object` on `site`, if there is one.
    pub fn open_incident_for(&self, site: &str, object: &ObjectRef) -> Result<Option<Incident>, StoreError> {
        let statement = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents
             WHERE platform = $1 AND site = $2 AND host = $3 AND service = $4 AND closed_at IS NULL"
        );
        let service = object.service.as_deref().unwrap_or_default();
        self.with_sql(|sql| find_incident(sql, &statement, args![self.platform(), site, &object.host, service]))
    }

    /// The incident whose parent message is `message_id` in `channel` (the newest, should a
    /// platform ever reuse ids): how a command typed in an alert's thread finds its target.
    pub fn incident_by_message(&self, channel: &str, message_id: &str) -> Result<Option<Incident>, StoreError> {
        let statement = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents
             WHERE platform = $1 AND channel = $2 AND message_id = $3 ORDER BY id DESC LIMIT 1"
        );
        self.with_sql(|sql| find_incident(sql, &statement, args![self.platform(), channel, message_id]))
    }

    /// One more than the highest numeric message id delivered on this platform (1 when none):
    /// lets a chat that numbers its own messages (the terminal) carry on after a restart without
    /// reusing the id of a message an incident still points at.
    pub fn next_message_number(&self) -> Result<u64, StoreError> {
        self.with_sql(|sql| {
            let statement = match sql.dialect() {
                Dialect::Sqlite => "SELECT MAX(CAST(message_id AS INTEGER)) FROM deliveries WHERE platform = $1",
                // PostgreSQL refuses to cast what is no number (Slack's `1700000000.000001`).
                Dialect::Postgres => {
                    "SELECT MAX(CASE WHEN message_id ~ '^[0-9]{1,18}$' THEN CAST(message_id AS BIGINT) END)
                     FROM deliveries WHERE platform = $1"
                }
            };
            let highest = sql.query_one(statement, args![self.platform()])?.opt_int(0)?;
            Ok(highest.and_then(|n| u64::try_from(n).ok()).unwrap_or(0).saturating_add(1))
        })
    }
}

/// Records where `notification_id` went on `platform`; refuses (with `AlreadyDelivered`) a
/// second time.
pub(crate) fn insert_delivery(
    sql: &mut dyn Sql,
    platform: &str,
    notification_id: &str,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    sql.execute(
        "INSERT INTO deliveries (platform, notification_id, channel, message_id, delivered_at)
         VALUES ($1, $2, $3, $4, $5)",
        args![platform, notification_id, &delivery.channel, &delivery.message_id, delivery.at],
    )
    .map_err(|e| match e.is_unique_violation() {
        true => StoreError::AlreadyDelivered(notification_id.to_owned()),
        false => e.into(),
    })?;
    Ok(())
}

/// Applies `change`, which came with `delivery`; an incident it opens belongs to `platform` and
/// hangs on the delivery's message.
pub(crate) fn apply(
    sql: &mut dyn Sql,
    platform: &str,
    delivery: &Delivery,
    change: &IncidentChange,
) -> Result<Option<IncidentId>, StoreError> {
    match change {
        IncidentChange::None => Ok(None),
        IncidentChange::Open { card, opened_at, route } => {
            insert_incident(sql, platform, delivery, card, *opened_at, route.as_deref()).map(Some)
        }
        IncidentChange::Update { id, card } => update_incident(sql, *id, card).map(|()| Some(*id)),
        IncidentChange::Close { id, card } => {
            update_incident(sql, *id, card)?;
            let changed = sql.execute("UPDATE incidents SET closed_at = $2 WHERE id = $1", args![id.0, card.time])?;
            if changed == 0 {
                return Err(StoreError::NoSuchIncident(*id));
            }
            Ok(Some(*id))
        }
    }
}

fn insert_incident(
    sql: &mut dyn Sql,
    platform: &str,
    parent: &Delivery,
    card: &AlertCard,
    opened_at: i64,
    route: Option<&str>,
) -> Result<IncidentId, StoreError> {
    let inserted = sql
        .query_one(
            "INSERT INTO incidents (platform, site, host, service, channel, message_id, state, card, opened_at, route)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            args![
                platform,
                &card.site,
                &card.object.host,
                card.object.service.as_deref().unwrap_or_default(),
                &parent.channel,
                &parent.message_id,
                card.state.to_string(),
                encode(card),
                opened_at,
                route,
            ],
        )
        .map_err(|e| match e.is_unique_violation() {
            true => StoreError::IncidentAlreadyOpen { site: card.site.clone(), object: card.object.clone() },
            false => e.into(),
        })?;
    Ok(IncidentId(inserted.int(0)?))
}

/// Shows `card` on the incident and keeps its newest history line.
fn update_incident(sql: &mut dyn Sql, id: IncidentId, card: &AlertCard) -> Result<(), StoreError> {
    let changed = sql.execute(
        "UPDATE incidents SET state = $2, card = $3 WHERE id = $1",
        args![id.0, card.state.to_string(), encode(card)],
    )?;
    if changed == 0 {
        return Err(StoreError::NoSuchIncident(id));
    }
    if let Some(line) = card.history.last() {
        sql.execute(
            "INSERT INTO incident_history (incident_id, line, at, kind) VALUES ($1, $2, $3, $4)",
            args![id.0, line, card.time, card.kind.as_nagios()],
        )?;
    }
    Ok(())
}

/// Closes an incident without a delivery or a history line, as if it had happened long ago.
#[cfg(test)]
pub(crate) fn close_incident(store: &Store, id: IncidentId, closed_at: i64) {
    store
        .with_sql(|sql| Ok(sql.execute("UPDATE incidents SET closed_at = $2 WHERE id = $1", args![id.0, closed_at])?))
        .expect("closed");
}

pub(crate) fn encode<T: serde::Serialize>(card: &T) -> String {
    serde_json::to_string(card).expect("a card always serializes")
}

/// The incident `statement` (selecting [`INCIDENT_COLUMNS`]) finds first, with its history.
pub(crate) fn find_incident(
    sql: &mut dyn Sql,
    statement: &str,
    params: &[Value],
) -> Result<Option<Incident>, StoreError> {
    let Some(row) = sql.query_opt(statement, params)? else {
        return Ok(None);
    };
    let mut incident = incident_from_row(&row)?;
    let lines =
        sql.query("SELECT line FROM incident_history WHERE incident_id = $1 ORDER BY rowid", args![incident.id.0])?;
    incident.history = lines.iter().map(|line| line.text(0)).collect::<Result<_, _>>()?;
    Ok(Some(incident))
}

pub(crate) fn incident_from_row(row: &Row) -> Result<Incident, DbError> {
    let service = row.text(3)?;
    let site = row.text(1)?;
    let object = ObjectRef { host: row.text(2)?, service: (!service.is_empty()).then_some(service) };
    let card = decode_card(&row.text(7)?, &site, &object);
    Ok(Incident {
        id: IncidentId(row.int(0)?),
        site,
        object,
        channel: row.text(4)?,
        message_id: row.text(5)?,
        card,
        history: Vec::new(),
        opened_at: row.int(8)?,
        closed_at: row.opt_int(9)?,
    })
}
/// A card that cannot be read back (written by a future version, say) is started afresh rather
/// than stopping delivery; the thread keeps the full history anyway.
fn decode_card(json: &str, site: &str, object: &ObjectRef) -> AlertCard {
    serde_json::from_str(json).unwrap_or_else(|e| {
        tracing::warn!(error = %e, %object, "cannot read the stored alert card; starting a fresh one");
        AlertCard {
            site: site.to_owned(),
            object: object.clone(),
            state: State::Unknown,
            kind: NotificationType::Problem,
            output: String::new(),
            long_output: String::new(),
            history: Vec::new(),
            open: true,
            time: 0,
        }
    })
}
