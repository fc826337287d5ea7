//! The database schema and its migrations. `PRAGMA user_version` counts the migrations applied;
//! each one runs in its own transaction together with the version bump.

use crate::StoreError;
use rusqlite::Connection;

/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: deliveries, incidents with their history, audit log.
    "
    CREATE TABLE deliveries (
        notification_id TEXT PRIMARY KEY,
        channel         TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        delivered_at    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_channel ON deliveries (channel);

    CREATE TABLE incidents (
        id          INTEGER PRIMARY KEY,
        site        TEXT NOT NULL,
        host        TEXT NOT NULL,
        service     TEXT NOT NULL,  -- '' for a host incident
        channel     TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        state       TEXT NOT NULL,
        card        TEXT NOT NULL,
        opened_at   INTEGER NOT NULL,
        closed_at   INTEGER
    );
    CREATE UNIQUE INDEX incidents_open_per_object ON incidents (site, host, service) WHERE closed_at IS NULL;
    CREATE INDEX incidents_by_message ON incidents (channel, message_id);

    CREATE TABLE incident_history (
        incident_id INTEGER NOT NULL REFERENCES incidents (id),
        line        TEXT NOT NULL
    );
    CREATE INDEX incident_history_by_incident ON incident_history (incident_id);

    CREATE TABLE audit (
        id        INTEGER PRIMARY KEY,
        time      INTEGER NOT NULL,
        platform  TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        user_name TEXT NOT NULL,
        raw_text  TEXT NOT NULL,
        command   TEXT,
        parsed    TEXT,
        allowed   INTEGER NOT NULL,
        result    TEXT NOT NULL
    );
    ",
    // 2: delivery attempts begun and not yet committed, to look a message up after a crash
    // instead of posting it twice.
    "
    CREATE TABLE delivery_attempts (
        notification_id TEXT PRIMARY KEY,
        started_at      INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
    // 3: snoozes typed in chat (`snooze HOST [SERVICE] DURATION`); service '' for a host.
    "
    CREATE TABLE snoozes (
        host    TEXT NOT NULL,
        service TEXT NOT NULL,
        since   INTEGER NOT NULL,
        until   INTEGER NOT NULL,
        author  TEXT NOT NULL,
        PRIMARY KEY (host, service)
    ) WITHOUT ROWID;
    ",
    // 4: alert groups (one chat message for a burst), their member incidents, and the member
    // list of a group delivery begun and not yet committed.
    "
    CREATE TABLE alert_groups (
        id          INTEGER PRIMARY KEY,
        channel     TEXT NOT NULL,
        group_key   TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        card        TEXT NOT NULL,
        opened_at   INTEGER NOT NULL,
        closed_at   INTEGER
    );
    CREATE UNIQUE INDEX alert_groups_open_per_key ON alert_groups (channel, group_key) WHERE closed_at IS NULL;
    CREATE INDEX alert_groups_by_message ON alert_groups (channel, message_id);

    CREATE TABLE alert_group_members (
        group_id    INTEGER NOT NULL REFERENCES alert_groups (id),
        incident_id INTEGER NOT NULL UNIQUE REFERENCES incidents (id)
    );
    CREATE INDEX alert_group_members_by_group ON alert_group_members (group_id);

    CREATE TABLE group_attempts (
        attempt_key TEXT PRIMARY KEY,
        members     TEXT NOT NULL,  -- notification ids, one per line
        started_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
    // 5: reminders for open, unacknowledged incidents (`repeat_interval`): how many were posted
    // and when the last one was, so a restart neither repeats nor skips one.
    "
    ALTER TABLE incidents ADD COLUMN reminders INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN reminded_at INTEGER;
    ",
];

/// Brings the database up to the newest schema; refuses one written by a newer hagios.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let supported = MIGRATIONS.len() as i64;
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let applied = usize::try_from(found)
        .ok()
        .filter(|applied| *applied <= MIGRATIONS.len())
        .ok_or(StoreError::UnknownSchema { found, supported })?;
    for (version, sql) in (1..).zip(MIGRATIONS).skip(applied) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", version)?;
        transaction.commit()?;
    }
    Ok(())
}
