//! The SQLite driver: [`Sql`] over a rusqlite connection (or a transaction on it). SQLite takes
//! `$1` as a parameter's name, not its position, so parameters are bound by those names.

use super::{DbError, Dialect, Row, Sql, Value};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, Statement};

/// A connection, or a transaction (which derefs to its connection).
pub struct SqliteSql<'c>(pub &'c Connection);

/// Parameter names `$1` … `$16`: no statement of the store has more.
const NAMES: [&str; 16] =
    ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$16"];

impl SqliteSql<'_> {
    fn prepared(&self, sql: &str, params: &[Value]) -> Result<rusqlite::CachedStatement<'_>, DbError> {
        let mut statement = self.0.prepare_cached(sql)?;
        bind(&mut statement, params)?;
        Ok(statement)
    }
}

fn bind(statement: &mut Statement<'_>, params: &[Value]) -> Result<(), DbError> {
    assert!(params.len() <= NAMES.len(), "more parameters than the store ever binds");
    for (name, value) in NAMES.iter().zip(params) {
        let Some(index) = statement.parameter_index(name)? else { continue };
        match value {
            Value::Null => statement.raw_bind_parameter(index, rusqlite::types::Null)?,
            Value::Int(value) => statement.raw_bind_parameter(index, value)?,
            Value::Text(value) => statement.raw_bind_parameter(index, value.as_str())?,
        }
    }
    Ok(())
}

impl Sql for SqliteSql<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut statement = self.prepared(sql, params)?;
        Ok(statement.raw_execute()? as u64)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut statement = self.prepared(sql, params)?;
        let columns = statement.column_count();
        let mut rows = statement.raw_query();
        let mut answer = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..columns).map(|index| value(row.get_ref(index)?, index)).collect::<Result<_, DbError>>()?;
            answer.push(Row(values));
        }
        Ok(answer)
    }
}

fn value(column: ValueRef<'_>, index: usize) -> Result<Value, DbError> {
    match column {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(value) => Ok(Value::Int(value)),
        ValueRef::Text(text) => Ok(Value::Text(String::from_utf8_lossy(text).into_owned())),
        ValueRef::Real(_) | ValueRef::Blob(_) => Err(DbError::Column { index, expected: "an integer or text" }),
    }
}

/// Prepared statements kept per connection: more than the store has, so none is prepared twice.
pub const STATEMENT_CACHE: usize = 64;

pub(super) fn is_constraint_violation(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

pub(super) fn retryable(error: &rusqlite::Error) -> bool {
    matches!(error.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull))
}
