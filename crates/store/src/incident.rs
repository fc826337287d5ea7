//! Deliveries and incidents: which notification went to which chat message, and the incident
//! (site + host + service) whose parent message later notifications thread under and edit.

use crate::{Store, StoreError};
use hagios_domain::ObjectRef;
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

/// An incident about to be opened: its parent message has just been posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    pub site: String,
    pub object: ObjectRef,
    pub channel: String,
    pub message_id: String,
    pub state: String,
    /// What the parent message shows, encoded by the caller (the pipeline keeps its alert card
    /// here as JSON); the store keeps it verbatim and never looks inside.
    pub card: String,
    pub opened_at: i64,
}

/// A later notification's effect on an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentUpdate {
    pub state: String,
    pub card: String,
    /// One line for the incident's "who did what" history, if the change deserves one.
    pub history_line: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: IncidentId,
    pub site: String,
    pub object: ObjectRef,
    /// The channel and id of the parent message.
    pub channel: String,
    pub message_id: String,
    pub state: String,
    pub card: String,
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

/// What one notification did to its incident, committed together with its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentChange {
    /// No incident involved (a RECOVERY nobody saw the PROBLEM of, say).
    None,
    Open(NewIncident),
    Update {
        id: IncidentId,
        update: IncidentUpdate,
    },
    /// The last update, then the incident closes; the next PROBLEM opens a new one.
    Close {
        id: IncidentId,
        update: IncidentUpdate,
        closed_at: i64,
    },
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
            apply(transaction, platform, change)
        })
    }

    /// Opens an incident on its own (without a delivery).
    pub fn open_incident(&self, incident: &NewIncident) -> Result<IncidentId, StoreError> {
        self.in_transaction(|transaction| insert_incident(transaction, self.platform(), incident))
    }

    pub fn update_incident(&self, id: IncidentId, update: &IncidentUpdate) -> Result<(), StoreError> {
        self.in_transaction(|transaction| update_incident(transaction, id, update))
    }

    pub fn close_incident(&self, id: IncidentId, closed_at: i64) -> Result<(), StoreError> {
        self.in_transaction(|transaction| close_incident(transaction, id, closed_at))
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

    /// One more than the highest numeric message id delivered to `channel` (1 when none): lets
    /// a chat that numbers its own messages (the terminal) carry on after a restart without
    /// reusing the id of a message an incident still points at.
    pub fn next_message_number(&self, channel: &str) -> Result<u64, StoreError> {
        let connection = self.connection();
        let highest: Option<i64> = connection.query_row(
            "SELECT MAX(CAST(message_id AS INTEGER)) FROM deliveries WHERE platform = ?1 AND channel = ?2",
            params![self.platform(), channel],
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

/// Applies `change`; an incident it opens belongs to `platform`.
pub(crate) fn apply(
    connection: &Connection,
    platform: &str,
    change: &IncidentChange,
) -> Result<Option<IncidentId>, StoreError> {
    match change {
        IncidentChange::None => Ok(None),
        IncidentChange::Open(incident) => insert_incident(connection, platform, incident).map(Some),
        IncidentChange::Update { id, update } => update_incident(connection, *id, update).map(|()| Some(*id)),
        IncidentChange::Close { id, update, closed_at } => {
            update_incident(connection, *id, update)?;
            close_incident(connection, *id, *closed_at)?;
            Ok(Some(*id))
        }
    }
}

fn insert_incident(connection: &Connection, platform: &str, incident: &NewIncident) -> Result<IncidentId, StoreError> {
    connection
        .execute(
            "INSERT INTO incidents (platform, site, host, service, channel, message_id, state, card, opened_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                platform,
                incident.site,
                incident.object.host,
                incident.object.service.as_deref().unwrap_or_default(),
                incident.channel,
                incident.message_id,
                incident.state,
                incident.card,
                incident.opened_at,
            ],
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => {
                StoreError::IncidentAlreadyOpen { site: incident.site.clone(), object: incident.object.clone() }
            }
            _ => e.into(),
        })?;
    Ok(IncidentId(connection.last_insert_rowid()))
}

fn update_incident(connection: &Connection, id: IncidentId, update: &IncidentUpdate) -> Result<(), StoreError> {
    let changed = connection.execute(
        "UPDATE incidents SET state = ?2, card = ?3 WHERE id = ?1",
        params![id.0, update.state, update.card],
    )?;
    if changed == 0 {
        return Err(StoreError::NoSuchIncident(id));
    }
    if let Some(line) = &update.history_line {
        connection.execute("INSERT INTO incident_history (incident_id, line) VALUES (?1, ?2)", params![id.0, line])?;
    }
    Ok(())
}

fn close_incident(connection: &Connection, id: IncidentId, closed_at: i64) -> Result<(), StoreError> {
    let changed = connection.execute("UPDATE incidents SET closed_at = ?2 WHERE id = ?1", params![id.0, closed_at])?;
    if changed == 0 {
        return Err(StoreError::NoSuchIncident(id));
    }
    Ok(())
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
    Ok(Incident {
        id: IncidentId(row.get(0)?),
        site: row.get(1)?,
        object: ObjectRef { host: row.get(2)?, service: (!service.is_empty()).then_some(service) },
        channel: row.get(4)?,
        message_id: row.get(5)?,
        state: row.get(6)?,
        card: row.get(7)?,
        history: Vec::new(),
        opened_at: row.get(8)?,
        closed_at: row.get(9)?,
    })
}
