//! The database schema and its migrations, numbered alike on both engines. SQLite counts the
//! migrations applied in `PRAGMA user_version`, PostgreSQL in the table `hagios_schema`; each
//! migration runs in one transaction with the bump of that count (PostgreSQL's DDL is
//! transactional, and an advisory lock keeps two bots starting at once from both migrating).
//!
//! PostgreSQL arrived with version 6: its migrations 1 to 5 are empty and its 6 creates what
//! SQLite's 1 to 6 built. Every later migration is written for both engines.

use crate::sql::{args, Dialect, Sql};
use crate::{Store, StoreError};

/// One step of the schema, as each engine writes it.
struct Migration {
    sqlite: &'static str,
    postgres: &'static str,
}

/// A migration from before PostgreSQL was supported: its baseline (migration 6) holds it.
const BEFORE_POSTGRES: &str = "";

/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[Migration] = &[
    // 1: deliveries, incidents with their history, audit log.
    Migration {
        sqlite: "
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
        postgres: BEFORE_POSTGRES,
    },
    // 2: delivery attempts begun and not yet committed, to look a message up after a crash
    // instead of posting it twice.
    Migration {
        sqlite: "
    CREATE TABLE delivery_attempts (
        notification_id TEXT PRIMARY KEY,
        started_at      INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
        postgres: BEFORE_POSTGRES,
    },
    // 3: snoozes typed in chat (`snooze HOST [SERVICE] DURATION`); service '' for a host.
    Migration {
        sqlite: "
    CREATE TABLE snoozes (
        host    TEXT NOT NULL,
        service TEXT NOT NULL,
        since   INTEGER NOT NULL,
        until   INTEGER NOT NULL,
        author  TEXT NOT NULL,
        PRIMARY KEY (host, service)
    ) WITHOUT ROWID;
    ",
        postgres: BEFORE_POSTGRES,
    },
    // 4: alert groups (one chat message for a burst), their member incidents, and the member
    // list of a group delivery begun and not yet committed.
    Migration {
        sqlite: "
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
        postgres: BEFORE_POSTGRES,
    },
    // 5: reminders for open, unacknowledged incidents (`repeat_interval`): how many were posted
    // and when the last one was, so a restart neither repeats nor skips one.
    Migration {
        sqlite: "
    ALTER TABLE incidents ADD COLUMN reminders INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN reminded_at INTEGER;
    ",
        postgres: BEFORE_POSTGRES,
    },
    // 6: one process may post to several chat platforms: deliveries, incidents, alert groups and
    // attempts belong to a platform. Rows written before are given the platform their channel
    // shows (Matrix room ids start with `!`, the terminal's channel is `terminal`, the rest are
    // Slack's); attempts carry no channel and go with the platform delivered to last.
    Migration {
        sqlite: "
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
        postgres: POSTGRES_BASELINE,
    },
    // 7: several bots on one database. What agents handed to any bot waits in `inbox` until the
    // leader delivers it (`taken`: the term that put it in its delivery spool); `leases` says
    // which bot leads and in which term (the epoch); commands from chat being carried out are
    // noted in `commands_in_flight`, so that the next leader answers those a crash left.
    Migration {
        sqlite: "
    CREATE TABLE inbox (
        record_id    TEXT PRIMARY KEY,
        notification TEXT NOT NULL,
        received_at  INTEGER NOT NULL,
        taken        INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX inbox_by_taken ON inbox (taken);

    CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        epoch      INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE commands_in_flight (
        id          INTEGER PRIMARY KEY,
        platform    TEXT NOT NULL,
        channel     TEXT NOT NULL,
        thread      TEXT,
        user_id     TEXT NOT NULL,
        user_name   TEXT NOT NULL,
        typed       TEXT NOT NULL,
        epoch       INTEGER NOT NULL,
        received_at INTEGER NOT NULL
    );
    ",
        postgres: "
    CREATE TABLE inbox (
        record_id    TEXT PRIMARY KEY,
        notification TEXT NOT NULL,
        received_at  BIGINT NOT NULL,
        taken        BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX inbox_by_taken ON inbox (taken);

    CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        epoch      BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );

    CREATE TABLE commands_in_flight (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform    TEXT NOT NULL,
        channel     TEXT NOT NULL,
        thread      TEXT,
        user_id     TEXT NOT NULL,
        user_name   TEXT NOT NULL,
        typed       TEXT NOT NULL,
        epoch       BIGINT NOT NULL,
        received_at BIGINT NOT NULL
    );
    ",
    },
    // 8: on call. Overrides typed in chat (`oncall take`, `oncall give`); paging: a page is
    // intended when a notification that opens an incident takes a route with a schedule, starts
    // once that incident is in chat, and pages its steps in the thread (the incident's, or its
    // group's) until acknowledged; posts made once per platform (handovers, feed notices); and
    // when each history line of an incident happened, and what it was.
    Migration {
        sqlite: "
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
        postgres: "
    CREATE TABLE oncall_overrides (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        schedule    TEXT NOT NULL,
        person      TEXT NOT NULL,
        starts_at   BIGINT NOT NULL,
        ends_at     BIGINT NOT NULL,
        replaces    TEXT,
        author      TEXT NOT NULL,
        created_at  BIGINT NOT NULL
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
        created_at      BIGINT NOT NULL,
        PRIMARY KEY (platform, notification_id)
    );

    CREATE TABLE pages (
        id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        platform     TEXT NOT NULL,
        channel      TEXT NOT NULL,
        message_id   TEXT NOT NULL,
        schedule     TEXT NOT NULL,
        policy       TEXT NOT NULL,
        started_at   BIGINT NOT NULL,
        steps        BIGINT NOT NULL DEFAULT 0,
        forced       BIGINT NOT NULL DEFAULT 0,
        forced_note  TEXT,
        paused_since BIGINT,
        paused_for   BIGINT NOT NULL DEFAULT 0,
        stopped_at   BIGINT,
        stopped_why  TEXT
    );
    CREATE UNIQUE INDEX pages_per_thread ON pages (platform, channel, message_id);

    CREATE TABLE page_steps (
        page_id    BIGINT NOT NULL REFERENCES pages (id),
        started_at BIGINT NOT NULL,
        step       BIGINT NOT NULL,
        at         BIGINT NOT NULL,
        people     TEXT NOT NULL,
        text       TEXT NOT NULL,
        PRIMARY KEY (page_id, started_at, step)
    );

    CREATE TABLE posted_once (
        platform TEXT NOT NULL,
        post_key TEXT NOT NULL,
        at       BIGINT NOT NULL,
        PRIMARY KEY (platform, post_key)
    );

    ALTER TABLE incident_history ADD COLUMN at BIGINT;
    ALTER TABLE incident_history ADD COLUMN kind TEXT;
    ",
    },
    // 9: where a chat platform that reads a stream of events (Matrix's `/sync`) resumes, kept
    // where every bot finds it, and the events taken from that stream, so that one read again
    // after a failover is not carried out a second time.
    Migration {
        sqlite: "
    CREATE TABLE chat_positions (
        platform TEXT PRIMARY KEY,
        position TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE chat_events_taken (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        taken_at INTEGER NOT NULL,
        PRIMARY KEY (platform, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX chat_events_taken_by_time ON chat_events_taken (taken_at);
    ",
        postgres: "
    CREATE TABLE chat_positions (
        platform TEXT PRIMARY KEY,
        position TEXT NOT NULL
    );

    CREATE TABLE chat_events_taken (
        platform TEXT NOT NULL,
        event_id TEXT NOT NULL,
        taken_at BIGINT NOT NULL,
        PRIMARY KEY (platform, event_id)
    );
    CREATE INDEX chat_events_taken_by_time ON chat_events_taken (taken_at);
    ",
    },
    // 10: the route an incident came by, recorded when it opens, for `report`; incidents
    // opened before have none.
    Migration {
        sqlite: "ALTER TABLE incidents ADD COLUMN route TEXT;",
        postgres: "ALTER TABLE incidents ADD COLUMN route TEXT;",
    },
];

/// PostgreSQL's first schema: the tables and indexes SQLite's migrations 1 to 6 built, with
/// BIGINT for every integer and identity columns for the ids. `incident_history` gets a column
/// called `rowid`, so that the same statements order a history on both engines.
const POSTGRES_BASELINE: &str = "
    CREATE TABLE deliveries (
        platform        TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        channel         TEXT NOT NULL,
        message_id      TEXT NOT NULL,
        delivered_at    BIGINT NOT NULL,
        PRIMARY KEY (platform, notification_id)
    );
    CREATE INDEX deliveries_by_channel ON deliveries (channel);

    CREATE TABLE incidents (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        site        TEXT NOT NULL,
        host        TEXT NOT NULL,
        service     TEXT NOT NULL,
        channel     TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        state       TEXT NOT NULL,
        card        TEXT NOT NULL,
        opened_at   BIGINT NOT NULL,
        closed_at   BIGINT,
        reminders   BIGINT NOT NULL DEFAULT 0,
        reminded_at BIGINT,
        platform    TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX incidents_open_per_object
        ON incidents (platform, site, host, service) WHERE closed_at IS NULL;
    CREATE INDEX incidents_by_message ON incidents (channel, message_id);

    CREATE TABLE incident_history (
        rowid       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        incident_id BIGINT NOT NULL REFERENCES incidents (id),
        line        TEXT NOT NULL
    );
    CREATE INDEX incident_history_by_incident ON incident_history (incident_id);

    CREATE TABLE audit (
        id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        time      BIGINT NOT NULL,
        platform  TEXT NOT NULL,
        user_id   TEXT NOT NULL,
        user_name TEXT NOT NULL,
        raw_text  TEXT NOT NULL,
        command   TEXT,
        parsed    TEXT,
        allowed   BIGINT NOT NULL,
        result    TEXT NOT NULL
    );

    CREATE TABLE delivery_attempts (
        platform        TEXT NOT NULL,
        notification_id TEXT NOT NULL,
        started_at      BIGINT NOT NULL,
        PRIMARY KEY (platform, notification_id)
    );

    CREATE TABLE snoozes (
        host    TEXT NOT NULL,
        service TEXT NOT NULL,
        since   BIGINT NOT NULL,
        until   BIGINT NOT NULL,
        author  TEXT NOT NULL,
        PRIMARY KEY (host, service)
    );

    CREATE TABLE alert_groups (
        id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        channel     TEXT NOT NULL,
        group_key   TEXT NOT NULL,
        message_id  TEXT NOT NULL,
        card        TEXT NOT NULL,
        opened_at   BIGINT NOT NULL,
        closed_at   BIGINT,
        platform    TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX alert_groups_open_per_key
        ON alert_groups (platform, channel, group_key) WHERE closed_at IS NULL;
    CREATE INDEX alert_groups_by_message ON alert_groups (channel, message_id);

    CREATE TABLE alert_group_members (
        group_id    BIGINT NOT NULL REFERENCES alert_groups (id),
        incident_id BIGINT NOT NULL UNIQUE REFERENCES incidents (id)
    );
    CREATE INDEX alert_group_members_by_group ON alert_group_members (group_id);

    CREATE TABLE group_attempts (
        platform    TEXT NOT NULL,
        attempt_key TEXT NOT NULL,
        members     TEXT NOT NULL,
        started_at  BIGINT NOT NULL,
        PRIMARY KEY (platform, attempt_key)
    );
";

/// Serializes migrations of bots starting at once: the key of `pg_advisory_xact_lock`.
const MIGRATION_LOCK: i64 = 0x6861_6769_6f73; // "hagios"

impl Store {
    /// Brings the database up to the newest schema; refuses one written by a newer hagios.
    pub(crate) fn migrate(&self) -> Result<(), StoreError> {
        let supported = MIGRATIONS.len() as i64;
        for (version, migration) in (1..).zip(MIGRATIONS) {
            let applied = self.in_unfenced_transaction(|sql| {
                if sql.dialect() == Dialect::Postgres {
                    sql.execute("SELECT pg_advisory_xact_lock($1)", args![MIGRATION_LOCK])?;
                    sql.execute_batch("CREATE TABLE IF NOT EXISTS hagios_schema (version BIGINT NOT NULL)")?;
                }
                let found = version_of(sql)?;
                if found > supported {
                    return Err(StoreError::UnknownSchema { found, supported });
                }
                if found >= version {
                    return Ok(false);
                }
                let step = match sql.dialect() {
                    Dialect::Sqlite => migration.sqlite,
                    Dialect::Postgres => migration.postgres,
                };
                if !step.is_empty() {
                    sql.execute_batch(step)?;
                }
                set_version(sql, version)?;
                Ok(true)
            })?;
            if applied {
                tracing::info!(version, dialect = %self.dialect(), "migrated the state database");
            }
        }
        Ok(())
    }
}

/// The schema a database has, against the one this hagios writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaVersion {
    /// Migrations applied; 0 for an empty database.
    pub found: i64,
    /// Migrations this hagios knows.
    pub supported: i64,
}

impl Store {
    /// Which migrations the database has had, without applying any.
    pub fn schema_version(&self) -> Result<SchemaVersion, StoreError> {
        self.with_sql(|sql| {
            if sql.dialect() == Dialect::Postgres {
                let tables = sql.query_one(
                    "SELECT COUNT(*) FROM information_schema.tables
                     WHERE table_schema = current_schema() AND table_name = 'hagios_schema'",
                    args![],
                )?;
                if tables.int(0)? == 0 {
                    return Ok(SchemaVersion { found: 0, supported: MIGRATIONS.len() as i64 });
                }
            }
            Ok(SchemaVersion { found: version_of(sql)?, supported: MIGRATIONS.len() as i64 })
        })
    }
}

/// How many migrations the database has had.
pub(crate) fn version_of(sql: &mut dyn Sql) -> Result<i64, StoreError> {
    let row = match sql.dialect() {
        Dialect::Sqlite => sql.query_one("PRAGMA user_version", args![])?,
        Dialect::Postgres => match sql.query_opt("SELECT version FROM hagios_schema", args![])? {
            Some(row) => row,
            None => return Ok(0),
        },
    };
    Ok(row.int(0)?)
}

fn set_version(sql: &mut dyn Sql, version: i64) -> Result<(), StoreError> {
    match sql.dialect() {
        // PRAGMA takes no parameters; the version is a number the code chose.
        Dialect::Sqlite => sql.execute_batch(&format!("PRAGMA user_version = {version}"))?,
        Dialect::Postgres => {
            if sql.execute("UPDATE hagios_schema SET version = $1", args![version])? == 0 {
                sql.execute("INSERT INTO hagios_schema (version) VALUES ($1)", args![version])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hagios_domain::ObjectRef;
    use rusqlite::Connection;

    /// A database as hagios before migration 6 left it, with one delivery and open incident on
    /// Slack and one each on Matrix and the terminal.
    fn database_of_version_5(path: &std::path::Path) {
        let connection = Connection::open(path).unwrap();
        for migration in &MIGRATIONS[..5] {
            connection.execute_batch(migration.sqlite).unwrap();
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
        let told = store.stories_everywhere_since(0).unwrap();
        assert_eq!(told.len(), 3);
        assert!(told.iter().all(|told| told.route.is_none()), "opened before hagios recorded routes");
    }
}
