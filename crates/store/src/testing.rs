//! For the store's unit tests: cards, and the engines every test runs on — SQLite, and
//! PostgreSQL from the shared test cluster when it is installed (required under
//! `HAGIOS_REQUIRE_REAL=1`).

use crate::{AuditRecord, Store};
use hagios_domain::{AlertCard, NotificationType, ObjectRef, State};
use hagios_testkit::PostgresInstance;
use std::fmt;

/// The card of `object` at site `local` in `state` at `time`, with `line` as its history.
pub(crate) fn card(object: ObjectRef, state: State, line: Option<&str>, time: i64) -> AlertCard {
    AlertCard {
        site: "local".into(),
        object,
        state,
        kind: NotificationType::Problem,
        output: String::new(),
        long_output: String::new(),
        history: line.map(str::to_owned).into_iter().collect(),
        open: !matches!(state, State::Ok | State::Up),
        time,
    }
}

/// alice's confirmed `ack web01` on Slack at `time`, as the audit log keeps it.
pub(crate) fn ack_audit(time: i64) -> AuditRecord {
    AuditRecord {
        time,
        platform: "slack".into(),
        user_id: "U1".into(),
        user_name: "alice".into(),
        raw_text: "ack web01".into(),
        command: Some("ack".into()),
        parsed: None,
        allowed: true,
        result: "confirmed".into(),
    }
}

/// A fresh database of one engine, which a test may open as often as it likes (a reopened
/// store is a restarted hagios).
pub(crate) enum Engine {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

/// A fresh database on each engine there is.
pub(crate) fn engines() -> Vec<Engine> {
    let mut engines = vec![Engine::Sqlite(tempfile::tempdir().expect("temp dir"))];
    engines.extend(PostgresInstance::shared().map(|cluster| Engine::Postgres(cluster.create_database())));
    engines
}

impl Engine {
    pub(crate) fn open(&self) -> Store {
        match self {
            Engine::Sqlite(dir) => Store::open(dir.path().join("state.db")).expect("open SQLite"),
            Engine::Postgres(url) => Store::connect(url, Some(PostgresInstance::PASSWORD)).expect("connect PostgreSQL"),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Sqlite(_) => "SQLite",
            Engine::Postgres(_) => "PostgreSQL",
        })
    }
}
