//! The PostgreSQL driver: [`Sql`] over the synchronous `postgres` client (the store's calls run
//! on blocking threads already), each connection with its prepared statements, and a small pool
//! so that a bot's pipelines, conversations and agent links query side by side.
//!
//! A connection that broke (the server restarted, the network went away) is dropped instead of
//! going back to the pool; one that sat idle for a while is checked before it is handed out, so
//! that the first call after a restart finds a fresh connection instead of failing.

use super::{DbError, Dialect, Row, Sql, Value};
use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};
use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Connections one store keeps open at most.
const MAX_CONNECTIONS: usize = 8;
/// An idle connection older than this is checked with an empty query before it is used again.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// How long a check of an idle connection may take before the connection counts as broken.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// How long connecting may take: longer and the server counts as unreachable for now.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The server ends a session whose transaction stays open and idle this long: the locks of a
/// leader that was paused mid-transaction (SIGSTOP, a frozen VM) must not keep the next leader
/// from taking over. hagios' own transactions never wait between statements.
pub const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(3);

/// One connection with the statements prepared on it.
pub struct Connection {
    client: Client,
    statements: HashMap<String, Statement>,
    idle_since: Instant,
}

/// Connections to one database, opened on demand up to [`MAX_CONNECTIONS`].
pub struct Pool {
    config: Config,
    state: Mutex<PoolState>,
    returned: Condvar,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<Connection>,
    /// Connections handed out or idle.
    open: usize,
}

impl Pool {
    /// A pool for `config`; connects once now, so that a wrong address or password shows at start.
    pub fn connect(mut config: Config) -> Result<Pool, DbError> {
        let idle = format!("-c idle_in_transaction_session_timeout={}", IDLE_IN_TRANSACTION.as_millis());
        let options = match config.get_options() {
            Some(given) => format!("{given} {idle}"),
            None => idle,
        };
        config.connect_timeout(CONNECT_TIMEOUT).keepalives(true).application_name("hagios").options(&options);
        let pool = Pool { config, state: Mutex::default(), returned: Condvar::new() };
        drop(pool.get()?);
        Ok(pool)
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A connection of the pool; waits while all of them are in use.
    pub fn get(&self) -> Result<Pooled<'_>, DbError> {
        let mut state = self.state();
        loop {
            if let Some(mut connection) = state.idle.pop() {
                drop(state);
                if connection.idle_since.elapsed() < CHECK_AFTER_IDLE
                    || connection.client.is_valid(CHECK_TIMEOUT).is_ok()
                {
                    return Ok(Pooled { pool: self, connection: Some(connection) });
                }
                state = self.state();
                state.open -= 1;
                continue;
            }
            if state.open < MAX_CONNECTIONS {
                state.open += 1;
                drop(state);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        connection: Some(Connection { client, statements: HashMap::new(), idle_since: Instant::now() }),
                    }),
                    Err(e) => {
                        self.state().open -= 1;
                        self.returned.notify_one();
                        Err(e.into())
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

impl Drop for Pool {
    /// A client says goodbye to the server on a runtime of its own, which cannot start on a
    /// thread that drives tokio — where a bot's last store handle goes at shutdown: the idle
    /// connections are closed on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.state().idle);
        if !idle.is_empty() {
            let closed = std::thread::spawn(move || drop(idle)).join();
            if closed.is_err() {
                tracing::warn!("closing the PostgreSQL connections failed");
            }
        }
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it broke.
pub struct Pooled<'p> {
    pool: &'p Pool,
    connection: Option<Connection>,
}

impl Pooled<'_> {
    fn connection(&mut self) -> &mut Connection {
        self.connection.as_mut().expect("a pooled connection until dropped")
    }

    /// Starts a transaction on this connection.
    pub fn transaction(&mut self) -> Result<PgTransaction<'_>, DbError> {
        let Connection { client, statements, .. } = self.connection();
        Ok(PgTransaction { transaction: client.transaction()?, statements })
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(mut connection) = self.connection.take() else { return };
        let mut state = self.pool.state();
        if connection.client.is_closed() {
            state.open -= 1;
        } else {
            connection.idle_since = Instant::now();
            state.idle.push(connection);
        }
        drop(state);
        self.pool.returned.notify_one();
    }
}

/// A transaction: committed by [`PgTransaction::commit`], rolled back when dropped without.
pub struct PgTransaction<'c> {
    transaction: postgres::Transaction<'c>,
    statements: &'c mut HashMap<String, Statement>,
}

impl PgTransaction<'_> {
    pub fn commit(self) -> Result<(), DbError> {
        Ok(self.transaction.commit()?)
    }
}

/// What runs statements: a client or a transaction on it.
trait Runner {
    fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error>;
    fn execute(&mut self, statement: &Statement, params: &[&(dyn ToSql + Sync)]) -> Result<u64, postgres::Error>;
    fn query(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error>;
}

macro_rules! runner {
    ($type:ty) => {
        impl Runner for $type {
            fn prepare(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
                <$type>::prepare(self, sql)
            }
            fn execute(
                &mut self,
                statement: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<u64, postgres::Error> {
                <$type>::execute(self, statement, params)
            }
            fn query(
                &mut self,
                statement: &Statement,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Vec<postgres::Row>, postgres::Error> {
                <$type>::query(self, statement, params)
            }
        }
    };
}
runner!(Client);
runner!(postgres::Transaction<'_>);

/// The statement for `sql`, prepared once per connection.
fn statement(
    runner: &mut dyn Runner,
    statements: &mut HashMap<String, Statement>,
    sql: &str,
) -> Result<Statement, DbError> {
    if let Some(statement) = statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = runner.prepare(sql)?;
    statements.insert(sql.to_owned(), statement.clone());
    Ok(statement)
}

fn execute(
    runner: &mut dyn Runner,
    statements: &mut HashMap<String, Statement>,
    sql: &str,
    params: &[Value],
) -> Result<u64, DbError> {
    let statement = statement(runner, statements, sql)?;
    let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|value| value as &(dyn ToSql + Sync)).collect();
    Ok(runner.execute(&statement, &params)?)
}

fn query(
    runner: &mut dyn Runner,
    statements: &mut HashMap<String, Statement>,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, DbError> {
    let statement = statement(runner, statements, sql)?;
    let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|value| value as &(dyn ToSql + Sync)).collect();
    runner.query(&statement, &params)?.iter().map(row).collect()
}

impl Sql for Pooled<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let Connection { client, statements, .. } = self.connection();
        execute(client, statements, sql, params)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.connection().client.batch_execute(sql)?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let Connection { client, statements, .. } = self.connection();
        query(client, statements, sql, params)
    }
}

impl Sql for PgTransaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        execute(&mut self.transaction, self.statements, sql, params)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.transaction.batch_execute(sql)?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        query(&mut self.transaction, self.statements, sql, params)
    }
}

/// A row's columns as [`Value`]s: the store's columns are BIGINT or TEXT (and what aggregates
/// of them answer).
fn row(row: &postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(index)?.into()
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(index)?.map(i64::from).into()
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(index)?.map(i64::from).into()
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(index)?.into()
        } else if [Type::TEXT, Type::VARCHAR, Type::NAME, Type::BPCHAR].contains(ty) {
            row.try_get::<_, Option<String>>(index)?.into()
        } else {
            return Err(DbError::Column { index, expected: "BIGINT or TEXT" });
        };
        values.push(value);
    }
    Ok(Row(values))
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            // The schema's integers are BIGINT; an expression may make the server expect less.
            Value::Int(value) if *ty == Type::INT4 => i32::try_from(*value)?.to_sql(ty, out),
            Value::Int(value) if *ty == Type::INT2 => i16::try_from(*value)?.to_sql(ty, out),
            Value::Int(value) if *ty == Type::BOOL => (*value != 0).to_sql(ty, out),
            Value::Int(value) => value.to_sql(ty, out),
            Value::Text(value) => value.as_str().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT8, Type::INT4, Type::INT2, Type::BOOL].contains(ty) || <&str as ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

/// The message of a PostgreSQL error with its cause: the client's own display stops at "error
/// connecting to server", the reason (refused, timed out, a password) is in its source.
pub(super) fn describe(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

pub(super) fn is_unique_violation(error: &postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// Worth trying again: the connection is gone or could not be made (a restart, an outage), the
/// server is starting or stopping, or a concurrent transaction got in the way.
pub(super) fn retryable(error: &postgres::Error) -> bool {
    const TRANSIENT: [SqlState; 9] = [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::DISK_FULL,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::QUERY_CANCELED,
    ];
    match error.code() {
        Some(code) => TRANSIENT.contains(code) || code.code().starts_with("08"),
        None => error.is_closed() || error.source().is_some_and(|source| source.is::<std::io::Error>()),
    }
}
