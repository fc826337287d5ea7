//! The bot's state: which notifications were delivered (the dedupe key of the pipeline),
//! incidents and the chat messages that carry them, alert groups, snoozes, and the audit log of
//! commands — in one SQLite file by default, or in PostgreSQL when several bots share it
//! (docs/ha.md).
//!
//! The store's logic is written once, against a small SQL interface both engines implement
//! (`sql/`): the same statements, the same migrations numbering, the same transactions. A
//! delivery and the incident change it caused are committed in one transaction
//! ([`Store::commit_notification`]), so a crash never leaves one without the other.
//!
//! [`Store`] is synchronous; async code uses [`StoreHandle`], which runs each call on a blocking
//! thread. Cards (what chat messages show) are domain values; the store keeps them as JSON.
//!
//! One process may post to several chat platforms. Deliveries, incidents, alert groups and
//! delivery attempts belong to one platform each: a [`Store`] sees those of its platform
//! ([`Store::for_platform`]), so every platform has its own message per incident. Snoozes and
//! the audit log are shared.
//!
//! Several bots on one PostgreSQL database take turns leading (`lease.rs`): a store [fenced]
//! with the epoch of a term refuses its writes once another bot leads, in the same transaction
//! as the write.
//!
//! Nothing is kept forever but open incidents and groups, and the audit log unless told:
//! [`Store::prune`] deletes what is older than the configured retention (`retention.rs`).
//!
//! [fenced]: Store::fenced

mod attempt;
mod audit;
mod config;
mod copy;
mod error;
mod group;
mod handle;
mod inbox;
mod incident;
mod lease;
mod oncall;
mod orphans;
mod page;
mod reminder;
mod retention;
mod schema;
mod snooze;
pub mod sql;
mod story;
#[cfg(test)]
mod testing;

pub use audit::AuditRecord;
pub use config::{StoreConfig, DEFAULT_PASSWORD_ENV};
pub use copy::CopyReport;
pub use error::StoreError;
pub use group::{AlertGroup, GroupBatch, GroupChange, GroupId, MemberDelivery, NewGroup};
pub use handle::StoreHandle;
pub use incident::{Delivery, Incident, IncidentChange, IncidentId};
pub use lease::{Fence, LeaseHolder, LEADER_LEASE};
pub use oncall::Override;
pub use orphans::{CommandId, CommandInFlight};
pub use page::{ActivePage, Page, PageId, PageIntent, PageStep, UnpagedThread};
pub use reminder::DueReminder;
pub use retention::{PruneReport, Retention, MIN_KEEP_SECONDS};
pub use schema::SchemaVersion;
pub use story::{HistoryLine, IncidentKey, IncidentStory, PagedStep, PlatformStory};

use rusqlite::Connection;
use sql::postgres::Pool;
use sql::sqlite::SqliteSql;
use sql::{Dialect, Sql};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a write waits for another process (an `hagios audit` reader, a backup) to let go.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the rows live.
#[derive(Clone)]
enum Engine {
    /// One connection, shared: SQLite writes one at a time anyway.
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(Arc<Pool>),
}

#[derive(Clone)]
pub struct Store {
    engine: Engine,
    /// The chat platform whose deliveries, incidents and groups this handle sees.
    platform: Arc<str>,
    /// The leadership term whose writes this handle makes, when it makes them as a leader.
    fence: Option<Fence>,
}

impl Store {
    /// Opens (creating when missing) the SQLite file at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let open_error = |cause: rusqlite::Error| StoreError::Open { path: path.to_path_buf(), cause: cause.into() };
        let connection = Connection::open(path).map_err(open_error)?;
        // WAL lets readers run beside the writer. Where the filesystem cannot do WAL, SQLite keeps
        // its rollback journal: slower, not wrong. FULL sync makes every commit survive power
        // loss, which the dedupe of deliveries relies on.
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(open_error)?;
        connection.pragma_update(None, "synchronous", "FULL").map_err(open_error)?;
        Self::prepare(connection)
    }

    /// A private SQLite database that lives as long as the store; for tests and throwaway runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(connection: Connection) -> Result<Store, StoreError> {
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.pragma_update(None, "foreign_keys", true)?;
        connection.set_prepared_statement_cache_capacity(sql::sqlite::STATEMENT_CACHE);
        let store = Store::over(Engine::Sqlite(Arc::new(Mutex::new(connection))));
        store.migrate()?;
        Ok(store)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user@host:port/database`), with
    /// `password` when the server asks for one, and brings its schema up to date.
    pub fn connect(url: &str, password: Option<&str>) -> Result<Store, StoreError> {
        let store = Store::connect_as_is(url, password)?;
        store.migrate()?;
        Ok(store)
    }

    /// Connects like [`Store::connect`] but leaves the schema as it is: for looking, not
    /// writing (`hagios doctor`).
    pub fn connect_as_is(url: &str, password: Option<&str>) -> Result<Store, StoreError> {
        let connect_error = |cause| StoreError::Connect { url: config::redacted(url), cause };
        let mut settings: postgres::Config = url.parse().map_err(|e| connect_error(sql::DbError::Postgres(e)))?;
        if let Some(password) = password {
            settings.password(password);
        }
        let pool = Pool::connect(settings).map_err(connect_error)?;
        Ok(Store::over(Engine::Postgres(Arc::new(pool))))
    }

    /// The store `config` describes: PostgreSQL when it has a `url`, else the SQLite file.
    pub fn from_config(config: &StoreConfig) -> Result<Store, StoreError> {
        match &config.url {
            Some(url) => Store::connect(url, config.password().as_deref()),
            None => Store::open(&config.path),
        }
    }

    fn over(engine: Engine) -> Store {
        Store { engine, platform: Arc::from(""), fence: None }
    }

    /// The same database, seeing the deliveries, incidents and groups of `platform` ("slack",
    /// "matrix", "terminal"); a store opened fresh sees those of no platform in particular.
    pub fn for_platform(&self, platform: &str) -> Store {
        Store { platform: Arc::from(platform), ..self.clone() }
    }

    /// The same database, whose writes are a leader's in the term `fence` names: each is refused
    /// with [`StoreError::NotLeader`], in its own transaction, once another term began.
    pub fn fenced(&self, fence: Fence) -> Store {
        Store { fence: Some(fence), ..self.clone() }
    }

    /// The platform this handle sees.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// Which engine holds the rows.
    pub fn dialect(&self) -> Dialect {
        match self.engine {
            Engine::Sqlite(_) => Dialect::Sqlite,
            Engine::Postgres(_) => Dialect::Postgres,
        }
    }

    fn sqlite(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock cannot leave a half-done write behind: an
        // unfinished transaction rolls back when dropped. So the connection is still good.
        connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` on a connection, each statement on its own (reads, and single writes whose
    /// atomicity is the statement's).
    fn with_sql<T>(&self, work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>) -> Result<T, StoreError> {
        match &self.engine {
            Engine::Sqlite(connection) => work(&mut SqliteSql(&Self::sqlite(connection))),
            Engine::Postgres(pool) => work(&mut pool.get()?),
        }
    }

    /// Runs `work` in one transaction, all of it or none of it; as a leader's write when this
    /// handle is fenced.
    fn in_transaction<T>(&self, work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let fence = self.fence.clone();
        self.in_unfenced_transaction(|sql| {
            if let Some(fence) = &fence {
                fence.check(sql)?;
            }
            work(sql)
        })
    }

    /// Runs `work` in one transaction whoever leads: what any bot may write (what reached it from
    /// agents, the audit log).
    fn in_unfenced_transaction<T>(
        &self,
        work: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.engine {
            Engine::Sqlite(connection) => {
                let mut connection = Self::sqlite(connection);
                let transaction = connection.transaction()?;
                let value = work(&mut SqliteSql(&transaction))?;
                transaction.commit()?;
                Ok(value)
            }
            Engine::Postgres(pool) => {
                let mut connection = pool.get()?;
                let mut transaction = connection.transaction()?;
                let value = work(&mut transaction)?;
                transaction.commit()?;
                Ok(value)
            }
        }
    }
}
