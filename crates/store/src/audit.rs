//! The audit log: every command from chat, allowed or refused, with what the backend answered.

use crate::sql::args;
use crate::{Store, StoreError};

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
    /// Appends `record`; any bot may, leading or not (a refusal is audited too).
    pub fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.with_sql(|sql| {
            sql.execute(
                "INSERT INTO audit (time, platform, user_id, user_name, raw_text, command, parsed, allowed, result)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                args![
                    record.time,
                    &record.platform,
                    &record.user_id,
                    &record.user_name,
                    &record.raw_text,
                    &record.command,
                    &record.parsed,
                    record.allowed,
                    &record.result,
                ],
            )?;
            Ok(())
        })
    }

    /// The newest `limit` records, newest first.
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_sql(|sql| {
            let rows = sql.query(
                "SELECT time, platform, user_id, user_name, raw_text, command, parsed, allowed, result
                 FROM audit ORDER BY id DESC LIMIT $1",
                args![limit],
            )?;
            Ok(rows.iter().map(record_from_row).collect::<Result<_, _>>()?)
        })
    }
}

/// An audit record from the columns time, platform, user_id, user_name, raw_text, command,
/// parsed, allowed and result, in that order.
pub(crate) fn record_from_row(row: &crate::sql::Row) -> Result<AuditRecord, crate::sql::DbError> {
    Ok(AuditRecord {
        time: row.int(0)?,
        platform: row.text(1)?,
        user_id: row.text(2)?,
        user_name: row.text(3)?,
        raw_text: row.text(4)?,
        command: row.opt_text(5)?,
        parsed: row.opt_text(6)?,
        allowed: row.boolean(7)?,
        result: row.text(8)?,
    })
}
