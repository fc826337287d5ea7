//! Deliveries and incidents: which notification went to which chat message, and the incident
//! (site + host + service) whose parent message later notifications thread under and edit.

use crate::{Store, StoreError};
use hagios_domain::{AlertCard, NotificationType, ObjectRef, State};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row};
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
        let connection = self.connection();
        let delivery = connection
            .query_row(
                "SELECT channel, message_id, delivered_at FROM deliveries WHERE platform = ?1 AND notification_id = ?2",
                params![self.platform(), notification_id],
                |row| Ok(Delivery { channel: row.get(0)?, message_id: row.get(1)?, at: row.get(2)? }),
            )
            .optional()?;
        Ok(delivery)
    }

    /// Records a delivery that changed no incident.
    pub fn record_delivery(&self, notification_id: &str, delivery: &Delivery) -> Result<(), StoreError> {
        self.commit_notification(notification_id, delivery, &IncidentChange::None).map(|_| ())
    }

    /// Records that `notification_id` was delivered and applies the incident change it caused, in
    /// one transaction. Returns the incident the change touched.
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
        self.in_transaction(|transaction| {
            insert_delivery(transaction, platform, notification_id, delivery)?;
            crate::attempt::finish(transaction, platform, notification_id)?;
            apply(transaction, platform, delivery, change)
        })
    }

    /// The open incident of `object` on `site`, if there is one.
    pub fn open_incident_for(&self, site: &str, object: &ObjectRef) -> Result<Option<Incident>, StoreError> {
        let connection = self.connection();
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents
             WHERE platform = ?1 AND site = ?2 AND host = ?3 AND service = ?4 AND closed_at IS NULL"
        );
        let service = object.service.as_deref().unwrap_or_default();
        find_incident(&connection, &sql, params![self.platform(), site, object.host, service])
    }

    /// The incident whose parent message is `message_id` in `channel` (the newest, should a
    /// platform ever reuse ids): how a command typed in an alert's thread finds its target.
    pub fn incident_by_message(&self, channel: &str, message_id: &str) -> Result<Option<Incident>, StoreError> {
        let connection = self.connection();
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents
             WHERE platform = ?1 AND channel = ?2 AND message_id = ?3 ORDER BY id DESC LIMIT 1"
        );
        find_incident(&connection, &sql, params![self.platform(), channel, message_id])
    }

    /// One more than the highest numeric message id delivered on this platform (1 when none):
    /// lets a chat that numbers its own messages (the terminal) carry on after a restart without
    /// reusing the id of a message an incident still points at.
    pub fn next_message_number(&self) -> Result<u64, StoreError> {
        let connection = self.connection();
        let highest: Option<i64> = connection.query_row(
            "SELECT MAX(CAST(message_id AS INTEGER)) FROM deliveries WHERE platform = ?1",
            params![self.platform()],
            |row| row.get(0),
        )?;
        Ok(highest.and_then(|n| u64::try_from(n).ok()).unwrap_or(0).saturating_add(1))
    }
}

/// Records where `notification_id` went on `platform`; refuses (with `AlreadyDelivered`) a
/// second time.
pub(crate) fn insert_delivery(
    connection: &Connection,
    platform: &str,
    notification_id: &str,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    connection
        .execute(
            "INSERT INTO deliveries (platform, notification_id, channel, message_id, delivered_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![platform, notification_id, delivery.channel, delivery.message_id, delivery.at],
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => StoreError::AlreadyDelivered(notification_id.to_owned()),
            _ => e.into(),
        })?;
    Ok(())
}

/// Applies `change`, which came with `delivery`; an incident it opens belongs to `platform` and
/// hangs on the delivery's message.
pub(crate) fn apply(
    connection: &Connection,
    platform: &str,
    delivery: &Delivery,
    change: &IncidentChange,
) -> Result<Option<IncidentId>, StoreError> {
    match change {
        IncidentChange::None => Ok(None),
        IncidentChange::Open { card, opened_at } => {
            insert_incident(connection, platform, delivery, card, *opened_at).map(Some)
        }
        IncidentChange::Update { id, card } => update_incident(connection, *id, card).map(|()| Some(*id)),
        IncidentChange::Close { id, card } => {
            update_incident(connection, *id, card)?;
            let changed =
                connection.execute("UPDATE incidents SET closed_at = ?2 WHERE id = ?1", params![id.0, card.time])?;
            if changed == 0 {
                return Err(StoreError::NoSuchIncident(*id));
            }
            Ok(Some(*id))
        }
    }
}

fn insert_incident(
    connection: &Connection,
    platform: &str,
    parent: &Delivery,
    card: &AlertCard,
    opened_at: i64,
) -> Result<IncidentId, StoreError> {
    connection
        .execute(
            "INSERT INTO incidents (platform, site, host, service, channel, message_id, state, card, opened_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                platform,
                card.site,
                card.object.host,
                card.object.service.as_deref().unwrap_or_default(),
                parent.channel,
                parent.message_id,
                card.state.to_string(),
                encode(card),
                opened_at,
            ],
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => {
                StoreError::IncidentAlreadyOpen { site: card.site.clone(), object: card.object.clone() }
            }
            _ => e.into(),
        })?;
    Ok(IncidentId(connection.last_insert_rowid()))
}

/// Shows `card` on the incident and keeps its newest history line.
fn update_incident(connection: &Connection, id: IncidentId, card: &AlertCard) -> Result<(), StoreError> {
    let changed = connection.execute(
        "UPDATE incidents SET state = ?2, card = ?3 WHERE id = ?1",
        params![id.0, card.state.to_string(), encode(card)],
    )?;
    if changed == 0 {
        return Err(StoreError::NoSuchIncident(id));
    }
    if let Some(line) = card.history.last() {
        connection.execute(
            "INSERT INTO incident_history (incident_id, line, at, kind) VALUES (?1, ?2, ?3, ?4)",
            params![id.0, line, card.time, card.kind.as_nagios()],
        )?;
    }
    Ok(())
}

/// Closes an incident without a delivery or a history line, as if it had happened long ago.
#[cfg(test)]
pub(crate) fn close_incident(store: &Store, id: IncidentId, closed_at: i64) {
    store
        .connection()
        .execute("UPDATE incidents SET closed_at = ?2 WHERE id = ?1", params![id.0, closed_at])
        .expect("closed");
}

pub(crate) fn encode<T: serde::Serialize>(card: &T) -> String {
    serde_json::to_string(card).expect("a card always serializes")
}

pub(crate) fn find_incident(
    connection: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Option<Incident>, StoreError> {
    let Some(mut incident) = connection.query_row(sql, params, incident_from_row).optional()? else {
        return Ok(None);
    };
    let mut history =
        connection.prepare_cached("SELECT line FROM incident_history WHERE incident_id = ?1 ORDER BY rowid")?;
    incident.history = history.query_map([incident.id.0], |row| row.get(0))?.collect::<Result<_, _>>()?;
    Ok(Some(incident))
}

pub(crate) fn incident_from_row(row: &Row<'_>) -> rusqlite::Result<Incident> {
    let service: String = row.get(3)?;
    let site: String = row.get(1)?;
    let object = ObjectRef { host: row.get(2)?, service: (!service.is_empty()).then_some(service) };
    let card = decode_card(&row.get::<_, String>(7)?, &site, &object);
    Ok(Incident {
        id: IncidentId(row.get(0)?),
        site,
        object,
        channel: row.get(4)?,
        message_id: row.get(5)?,
        card,
        history: Vec::new(),
        opened_at: row.get(8)?,
        closed_at: row.get(9)?,
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
