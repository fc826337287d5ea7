//! Snoozes typed in chat are kept in the store, so they and what they hold survive restarts.

use async_trait::async_trait;
use hagios_commands::{SnoozeBook, SnoozeBookError};
use hagios_domain::{ObjectRef, Snooze};
use hagios_store::{StoreError, StoreHandle};

/// The store as the `snooze` commands' book.
pub struct StoredSnoozes(pub StoreHandle);

#[async_trait]
impl SnoozeBook for StoredSnoozes {
    async fn put(&self, snooze: Snooze, now: i64) -> Result<Snooze, SnoozeBookError> {
        self.0.put_snooze(snooze, now).await.map_err(book_error)
    }

    async fn end(&self, object: &ObjectRef, now: i64) -> Result<bool, SnoozeBookError> {
        self.0.end_snooze(object, now).await.map_err(book_error)
    }

    async fn all(&self) -> Result<Vec<Snooze>, SnoozeBookError> {
        self.0.snoozes().await.map_err(book_error)
    }
}

fn book_error(e: StoreError) -> SnoozeBookError {
    SnoozeBookError(format!("the store refused: {e}"))
}
