//! The store's one way to speak SQL, whatever the engine: the store's logic is written once
//! against [`Sql`] (execute and query with `$1`-style parameters and a tiny [`Value`] type), and
//! each engine has a driver — SQLite (`sqlite.rs`, rusqlite) and PostgreSQL (`postgres.rs`, the
//! synchronous `postgres` client with a small pool). The SQL the store writes is the common
//! ground of both: `$N` parameters, `ON CONFLICT … DO NOTHING`, `RETURNING`, row values, partial
//! indexes; where they differ (the schema's types, a cast, a pragma) the code asks [`Sql::dialect`].

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::fmt;

/// Which engine a connection talks to, for the few statements written twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A parameter or a column value: every column of the store is an integer or text (booleans are
/// 0 and 1, cards JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Value::Int(value.into())
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Int(value.into())
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::Text(value.clone())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(value)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value> + Clone> From<&Option<T>> for Value {
    fn from(value: &Option<T>) -> Self {
        value.clone().into()
    }
}

/// The parameters of one statement, in `$1, $2, …` order.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::sql::Value::from($value)),*][..]
    };
}
pub(crate) use args;

/// One row of a query's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub(crate) Vec<Value>);

impl Row {
    fn value(&self, index: usize) -> Result<&Value, DbError> {
        self.0.get(index).ok_or(DbError::Column { index, expected: "a column" })
    }

    pub fn int(&self, index: usize) -> Result<i64, DbError> {
        self.opt_int(index)?.ok_or(DbError::Column { index, expected: "an integer, not NULL" })
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, DbError> {
        match self.value(index)? {
            Value::Int(value) => Ok(Some(*value)),
            Value::Null => Ok(None),
            Value::Text(_) => Err(DbError::Column { index, expected: "an integer" }),
        }
    }

    pub fn text(&self, index: usize) -> Result<String, DbError> {
        self.opt_text(index)?.ok_or(DbError::Column { index, expected: "text, not NULL" })
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>, DbError> {
        match self.value(index)? {
            Value::Text(value) => Ok(Some(value.clone())),
            Value::Null => Ok(None),
            Value::Int(_) => Err(DbError::Column { index, expected: "text" }),
        }
    }

    pub fn boolean(&self, index: usize) -> Result<bool, DbError> {
        Ok(self.int(index)? != 0)
    }
}

/// A connection or transaction of either engine.
pub trait Sql {
    fn dialect(&self) -> Dialect;

    /// Runs one statement; returns how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError>;

    /// Runs several statements separated by `;`, without parameters (a migration).
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError>;

    /// Runs one statement and returns every row it answered with.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;

    /// The first row of the answer, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row of an answer that always has one (an aggregate, `RETURNING`).
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?.ok_or(DbError::NoRow)
    }
}

/// What an engine said went wrong.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("column {index} does not hold {expected}")]
    Column { index: usize, expected: &'static str },
    #[error("the statement answered no row")]
    NoRow,
}

impl DbError {
    /// A row with the same key exists already (a primary key or unique index).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(e) => sqlite::is_constraint_violation(e),
            DbError::Postgres(e) => postgres::is_unique_violation(e),
            _ => false,
        }
    }

    /// The same work may succeed later: a lock, a full disk, a lost or refused connection, a
    /// database restarting, a conflict with a concurrent transaction.
    pub fn retryable(&self) -> bool {
        match self {
            DbError::Sqlite(e) => sqlite::retryable(e),
            DbError::Postgres(e) => postgres::retryable(e),
            _ => false,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        })
    }
}
