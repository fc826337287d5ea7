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
    // 6: one process may post to several chat platforms: deliveries, incidents, alert groups and
    // attempts belong to a platform. Rows written before are given the platform their channel
    // shows (Matrix room ids start with `!`, the terminal's channel is `terminal`, the rest are
    // Slack's); attempts carry no channel and go with the platform delivered to last.
    "
    CREATE TABLE deliveries_by_platform (
        platform        TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        channel         TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        delivered_at    INTEGER NOT NULL,
        PRIMARY KEY (platform, notification_id)
    ) WITHOUT ROWID;
    INSERT INTO deliveries_by_platform
        SELECT CASE WHEN channel = 'terminal' THEN 'terminal' WHEN channel LIKE '!%' THEN 'matrix' ELSE 'slack' END,
               notification_id, channel, message_id, delivered_at
        FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_by_platform RENAME TO deliveries;
    CREATE INDEX deliveries_by_channel ON deliveries (channel);

    CREATE TABLE attempts_by_platform (
        platform        TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        started_at      INTEGER NOT NULL,
        PRIMARY KEY (platform, notification_id)
    ) WITHOUT ROWID;
    INSERT INTO attempts_by_platform
        SELECT COALESCE((SELECT platform FROM deliveries ORDER BY delivered_at DESC LIMIT 1), 'slack'),
               notification_id, started_at
        FROM delivery_attempts;
    DROP TABLE delivery_attempts;
    ALTER TABLE attempts_by_platform RENAME TO delivery_attempts;

    CREATE TABLE group_attempts_by_platform (
        platform    TEXT NOT NULL,
        attempt_key TEXT NOT NULL,
        members     TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        PRIMARY KEY (platform, attempt_key)
    ) WITHOUT ROWID;
    INSERT INTO group_attempts_by_platform
        SELECT COALESCE((SELECT platform FROM deliveries ORDER BY delivered_at DESC LIMIT 1), 'slack'),
               attempt_key, members, started_at
        FROM group_attempts;
    DROP TABLE group_attempts;
    ALTER TABLE group_attempts_by_platform RENAME TO group_attempts;

    ALTER TABLE incidents ADD COLUMN platform TEXT NOT NULL DEFAULT '';
    UPDATE incidents SET platform =
        CASE WHEN channel = 'terminal' THEN 'terminal' WHEN channel LIKE '!%' THEN 'matrix' ELSE 'slack' END;
    DROP INDEX incidents_open_per_object;
    CREATE UNIQUE INDEX incidents_open_per_object
        ON incidents (platform, site, host, service) WHERE closed_at IS NULL;

    ALTER TABLE alert_groups ADD COLUMN platform TEXT NOT NULL DEFAULT '';
    UPDATE alert_groups SET platform =
        CASE WHEN channel = 'terminal' THEN 'terminal' WHEN channel LIKE '!%' THEN 'matrix' ELSE 'slack' END;
    DROP INDEX alert_groups_open_per_key;
    CREATE UNIQUE INDEX alert_groups_open_per_key
        ON alert_groups (platform, channel, group_key) WHERE closed_at IS NULL;
    ",
    // 7: on call. Overrides typed in chat (`oncall take`, `oncall give`); paging: a page is
    // intended when a notification that opens an incident takes a route with a schedule, starts
    // once that incident is in chat, and pages its steps in the thread (the incident's, or its
    // group's) until acknowledged; posts made once per platform (handovers, feed notices); and
    // when each history line of an incident happened, and what it was.
    "
    CREATE TABLE oncall_overrides (
        id          INTEGER PRIMARY KEY,
        schedule    TEXT NOT NULL,
        person      TEXT NOT NULL,
        starts_at   INTEGER NOT NULL,
        ends_at     INTEGER NOT NULL,
        replaces    TEXT,
        author      TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE INDEX oncall_overrides_by_end ON oncall_overrides (ends_at);

    CREATE TABLE page_intents (
        platform        TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        site            TEXT NOT NULL,
        host            TEXT NOT NULL,
        service         TEXT NOT NULL,
        schedule        TEXT NOT NULL,
        policy          TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        PRIMARY KEY (platform, notification_id)
    ) WITHOUT ROWID;

    CREATE TABLE pages (
        id           INTEGER PRIMARY KEY,
        platform     TEXT NOT NULL,
        channel      TEXT NOT NULL,
        message_id   TEXT NOT NULL,
        schedule     TEXT NOT NULL,
        policy       TEXT NOT NULL,
        started_at   INTEGER NOT NULL,
        steps        INTEGER NOT NULL DEFAULT 0,
        forced       INTEGER NOT NULL DEFAULT 0,
        forced_note  TEXT,
        paused_since INTEGER,
        paused_for   INTEGER NOT NULL DEFAULT 0,
        stopped_at   INTEGER,
        stopped_why  TEXT
    );
    CREATE UNIQUE INDEX pages_per_thread ON pages (platform, channel, message_id);

    CREATE TABLE page_steps (
        page_id    INTEGER NOT NULL REFERENCES pages (id),
        started_at INTEGER NOT NULL,
        step       INTEGER NOT NULL,
        at         INTEGER NOT NULL,
        people     TEXT NOT NULL,
        text       TEXT NOT NULL,
        PRIMARY KEY (page_id, started_at, step)
    ) WITHOUT ROWID;

    CREATE TABLE posted_once (
        platform TEXT NOT NULL,
        post_key TEXT NOT NULL,
        at       INTEGER NOT NULL,
        PRIMARY KEY (platform, post_key)
    ) WITHOUT ROWID;

    ALTER TABLE incident_history ADD COLUMN at INTEGER;
    ALTER TABLE incident_history ADD COLUMN kind TEXT;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use hagios_domain::ObjectRef;

    /// A database as hagios before migration 6 left it, with one delivery and open incident on
    /// Slack and one each on Matrix and the terminal.
    fn database_of_version_5(path: &std::path::Path) {
        let connection = Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..5] {
            connection.execute_batch(sql).unwrap();
        }
        connection.pragma_update(None, "user_version", 5).unwrap();
        for (id, channel, host) in
            [("n1", "C0ALERTS", "web01"), ("n2", "!room:example.org", "db01"), ("n3", "terminal", "app01")]
        {
            connection
                .execute(
                    "INSERT INTO deliveries (notification_id, channel, message_id, delivered_at) VALUES (?1, ?2, '1', 1)",
                    [id, channel],
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO incidents (site, host, service, channel, message_id, state, card, opened_at)
                     VALUES ('local', ?1, '', ?2, '1', 'DOWN', '{}', 1)",
                    [host, channel],
                )
                .unwrap();
        }
        connection.execute("INSERT INTO delivery_attempts (notification_id, started_at) VALUES ('n9', 2)", []).unwrap();
    }

    #[test]
    fn rows_written_before_platforms_belong_to_the_platform_their_channel_shows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        database_of_version_5(&path);
        let store = Store::open(&path).unwrap();
        for (platform, id, host) in [("slack", "n1", "web01"), ("matrix", "n2", "db01"), ("terminal", "n3", "app01")] {
            let scoped = store.for_platform(platform);
            assert!(scoped.delivered(id).unwrap().is_some(), "{id} on {platform}");
            assert!(
                scoped.open_incident_for("local", &ObjectRef::host(host)).unwrap().is_some(),
                "{host} on {platform}"
            );
            let elsewhere = store.for_platform(if platform == "slack" { "matrix" } else { "slack" });
            assert!(elsewhere.delivered(id).unwrap().is_none(), "{id} not elsewhere");
        }
        // The unfinished attempt goes with the platform delivered to last (all at the same second
        // here, so any of them); it is found on exactly one.
        let found = ["slack", "matrix", "terminal"]
            .iter()
            .filter(|platform| store.for_platform(platform).begin_attempt("n9", 3).unwrap())
            .count();
        assert_eq!(found, 1);
    }
}
