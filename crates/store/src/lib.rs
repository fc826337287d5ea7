//! The bot's state in one SQLite file: which notifications were delivered (the dedupe key of the
//! pipeline), incidents and the chat messages that carry them, and the audit log of commands.
//!
//! [`Store`] is synchronous; async code uses [`StoreHandle`], which runs each call on a blocking
//! thread. Cards (what chat messages show) are domain values; the store keeps them as JSON. A
//! delivery and the incident change it caused are committed in one transaction
//! ([`Store::commit_notification`]), so a crash never leaves one without the other.
//!
//! One process may post to several chat platforms. Deliveries, incidents, alert groups and
//! delivery attempts belong to one platform each: a [`Store`] sees those of its platform
//! ([`Store::for_platform`]), so every platform has its own message per incident. Snoozes and
//! the audit log are shared.
//!
//! Nothing is kept forever but open incidents and groups, and the audit log unless told:
//! [`Store::prune`] deletes what is older than the configured retention (`retention.rs`).

mod attempt;
mod audit;
mod error;
mod group;
mod handle;
mod incident;
mod reminder;
mod retention;
mod schema;
mod snooze;
#[cfg(test)]
mod testing;

pub use audit::AuditRecord;
pub use error::StoreError;
pub use group::{AlertGroup, GroupBatch, GroupChange, GroupId, MemberDelivery, NewGroup};
pub use handle::StoreHandle;
pub use incident::{Delivery, Incident, IncidentChange, IncidentId};
pub use reminder::DueReminder;
pub use retention::{PruneReport, Retention, MIN_KEEP_SECONDS};

use rusqlite::{Connection, Transaction};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a write waits for another process (an `hagios audit` reader, a backup) to let go.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Store {
    connection: Arc<Mutex<Connection>>,
    /// The chat platform whose deliveries, incidents and groups this handle sees.
    platform: Arc<str>,
}

impl Store {
    /// Opens (creating when missing) the database file at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let open_error = |cause| StoreError::Open { path: path.to_path_buf(), cause };
        let connection = Connection::open(path).map_err(open_error)?;
        // WAL lets readers run beside the writer. Where the filesystem cannot do WAL, SQLite keeps
        // its rollback journal: slower, not wrong. FULL sync makes every commit survive power
        // loss, which the dedupe of deliveries relies on.
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(open_error)?;
        connection.pragma_update(None, "synchronous", "FULL").map_err(open_error)?;
        Self::prepare(connection)
    }

    /// A private database that lives as long as the store; for tests and throwaway runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut connection: Connection) -> Result<Store, StoreError> {
        connection.busy_timeout(BUSY_TIMEOUT)?;
        connection.pragma_update(None, "foreign_keys", true)?;
        schema::migrate(&mut connection)?;
        Ok(Store { connection: Arc::new(Mutex::new(connection)), platform: Arc::from("") })
    }

    /// The same database, seeing the deliveries, incidents and groups of `platform` ("slack",
    /// "matrix", "terminal"); a store opened fresh sees those of no platform in particular.
    pub fn for_platform(&self, platform: &str) -> Store {
        Store { connection: Arc::clone(&self.connection), platform: Arc::from(platform) }
    }

    /// The platform this handle sees.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock cannot leave a half-done write behind: an
        // unfinished transaction rolls back when dropped. So the connection is still good.
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` in one transaction: all of it is committed, or none of it.
    fn in_transaction<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        let value = work(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }
}
