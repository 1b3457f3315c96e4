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

/// Creates the SQLite file if missing (PostgreSQL databases are created by their admin).
pub async fn ensure_database(url: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
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
