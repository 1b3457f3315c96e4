//! Connections and migrations for both engines.

use crate::{Result, StoreError};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Result<Engine> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Engine::Postgres)
        } else {
            Err(StoreError::Internal(format!(
                "unsupported database URL (use sqlite:// or postgres://): {url}"
            )))
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Process-wide SQLite settings, made once before SQLite is first used. Memory statistics
/// off (SQLITE_CONFIG_MEMSTATUS, sqlite.org/c3ref/c_config_covering_index_scan.html): with
/// them on, every allocation and free SQLite makes takes one process-wide mutex to count
/// it, and sqlx copies every column of every row it reads (`sqlite3_value_dup`, freed on
/// another thread), so readers on all cores queue on that mutex (in a profile of inbox reads,
/// a quarter of the time went to waking and waiting on it). Nothing here reads the statistics.
pub fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config may only be called while SQLite is not initialised and no
        // other thread uses it; this runs before the first connection this process opens
        // (every pool and connection goes through `ensure_database` or `pool_logging`), and
        // where SQLite was initialised already it changes nothing and returns
        // SQLITE_MISUSE.
        let rc =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(
                rc,
                "SQLite was initialised before its memory statistics could be turned off"
            );
        }
    });
}

/// Creates the SQLite file if missing (PostgreSQL databases are created by their admin).
pub async fn ensure_database(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    configure_sqlite();
    if Engine::from_url(url)? == Engine::Sqlite {
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        let mut conn = sqlx::ConnectOptions::connect(&opts).await?;
        // WAL lets readers work while the writer commits; it persists in the file.
        conn.execute("PRAGMA journal_mode=WAL").await?;
        sqlx::Connection::close(conn).await?;
    }
    Ok(())
}

/// A pool on either engine. SQLite connections get their per-connection settings here,
/// because through `Any` pragmas come only from the URL: synchronous=FULL makes every
/// acknowledged commit durable (DESIGN principle 7), busy_timeout lets a second process
/// (a CLI next to a server) wait instead of failing.
pub async fn pool(url: &str, size: u32) -> Result<AnyPool> {
    pool_logging(url, size, log::LevelFilter::Debug).await
}

/// The writer's pool logs its statements one level below the readers' (TRACE, target
/// `sqlx::query`), so that a statement counter (`yiwang bench cases`) tells them apart.
pub async fn writer_pool(url: &str) -> Result<AnyPool> {
    pool_logging(url, 1, log::LevelFilter::Trace).await
}

async fn pool_logging(url: &str, size: u32, statements: log::LevelFilter) -> Result<AnyPool> {
    sqlx::any::install_default_drivers();
    configure_sqlite();
    let engine = Engine::from_url(url)?;
    let options = sqlx::any::AnyConnectOptions::from_str(url)?.log_statements(statements);
    let pool = AnyPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    conn.execute("PRAGMA synchronous=FULL").await?;
                    conn.execute("PRAGMA busy_timeout=10000").await?;
                    conn.execute("PRAGMA foreign_keys=ON").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Brings the schema up to date (`yiwang migrate`, and at every start).
pub async fn migrate(pool: &AnyPool, engine: Engine) -> Result<()> {
    match engine {
        Engine::Sqlite => SQLITE.run(pool).await?,
        Engine::Postgres => POSTGRES.run(pool).await?,
    }
    Ok(())
}

/// The bound-parameter marks of a statement whose text is built for a number of values (an
/// `IN` list, multi-row `VALUES`), numbered in the order they are bound: `$1, $2, …` on
/// PostgreSQL; anonymous `?` on SQLite, which looks a named or numbered mark up by a walk
/// through the statement's list of names, when parsing and again when binding (a few
/// hundred of them cost more than the rows). A statement takes all its marks from one
/// `Marks`: sqlx numbers SQLite's anonymous marks by their position, so they do not mix
/// with `$n`.
pub(crate) struct Marks {
    anonymous: bool,
    bound: usize,
}

impl Marks {
    pub(crate) fn of(engine: Engine) -> Marks {
        Marks {
            anonymous: engine == Engine::Sqlite,
            bound: 0,
        }
    }

    pub(crate) fn of_conn(conn: &sqlx::AnyConnection) -> Marks {
        Marks {
            anonymous: conn.backend_name().eq_ignore_ascii_case("sqlite"),
            bound: 0,
        }
    }

    /// Appends the next mark to `sql`.
    pub(crate) fn push(&mut self, sql: &mut String) {
        self.bound += 1;
        if self.anonymous {
            sql.push('?');
        } else {
            sql.push('$');
            sql.push_str(&self.bound.to_string());
        }
    }

    /// The next mark.
    pub(crate) fn one(&mut self) -> String {
        let mut s = String::with_capacity(4);
        self.push(&mut s);
        s
    }

    /// Appends `n` marks separated by commas (an `IN` list, or one row of `VALUES`).
    pub(crate) fn push_list(&mut self, sql: &mut String, n: usize) {
        for i in 0..n {
            if i > 0 {
                sql.push_str(", ");
            }
            self.push(sql);
        }
    }

    /// `n` marks separated by commas.
    pub(crate) fn list(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n * 5);
        self.push_list(&mut s, n);
        s
    }

    /// Appends `rows` parenthesised rows of `cols` marks each: `(?, ?), (?, ?)`.
    pub(crate) fn push_rows(&mut self, sql: &mut String, rows: usize, cols: usize) {
        for i in 0..rows {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            self.push_list(sql, cols);
            sql.push(')');
        }
    }
}

/// A statement returning the rows of `select` (whose columns are `cols`) as one row of one
/// JSON text: an array of rows in `order`, each an array of its columns (`[]` for none;
/// read with `rows::read_json`). A page of many rows then crosses from the database to
/// the request as one value: SQLite's connection runs on its own thread and hands over
/// every row separately, a thread wake-up each (issue 16, reads).
pub(crate) fn json_rows(engine: Engine, cols: &str, select: &str, order: &str) -> String {
    let (agg, row) = match engine {
        Engine::Sqlite => ("json_group_array", "json_array"),
        Engine::Postgres => ("json_agg", "json_build_array"),
    };
    format!("SELECT COALESCE(CAST({agg}({row}({cols}) ORDER BY {order}) AS TEXT), '[]') FROM ({select}) AS j")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_numbered_in_binding_order() {
        let mut m = Marks::of(Engine::Postgres);
        let mut sql = format!("a = {} AND b IN (", m.one());
        m.push_list(&mut sql, 2);
        sql.push_str(") VALUES ");
        m.push_rows(&mut sql, 2, 2);
        assert_eq!(sql, "a = $1 AND b IN ($2, $3) VALUES ($4, $5), ($6, $7)");
        let mut m = Marks::of(Engine::Sqlite);
        assert_eq!(format!("{} {}", m.one(), m.list(3)), "? ?, ?, ?");
    }
}
