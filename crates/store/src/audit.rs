//! The audit log: every command from chat, allowed or refused, with what the backend answered.

use crate::{Store, StoreError};
use rusqlite::params;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Seconds since the epoch.
    pub time: i64,
    /// The chat platform the command came from (`slack`, `terminal`, …).
    pub platform: String,
    pub user_id: String,
    pub user_name: String,
    /// The text as typed.
    pub raw_text: String,
    /// The command's name, when the text matched one.
    pub command: Option<String>,
    /// The parsed command in canonical form, once parsing succeeded.
    pub parsed: Option<String>,
    pub allowed: bool,
    /// What happened: the backend's confirmation, the refusal, or the error.
    pub result: String,
}

impl Store {
    pub fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.connection().execute(
            "INSERT INTO audit (time, platform, user_id, user_name, raw_text, command, parsed, allowed, result)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                record.time,
                record.platform,
                record.user_id,
                record.user_name,
                record.raw_text,
                record.command,
                record.parsed,
                record.allowed,
                record.result,
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` records, newest first.
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT time, platform, user_id, user_name, raw_text, command, parsed, allowed, result
             FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let records = statement.query_map([limit], record_from_row)?.collect::<Result<_, _>>()?;
        Ok(records)
    }
}

pub(crate) fn record_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        time: row.get(0)?,
        platform: row.get(1)?,
        user_id: row.get(2)?,
        user_name: row.get(3)?,
        raw_text: row.get(4)?,
        command: row.get(5)?,
        parsed: row.get(6)?,
        allowed: row.get(7)?,
        result: row.get(8)?,
    })
}
