//! Persistence for yiwang: one portable schema on SQLite and PostgreSQL through sqlx's
//! `AnyPool`, the SM3 hash-chained ledger, the group-committing writer that every change
//! goes through, projections (read tables) updated in the same transaction, and the
//! outbox that subscribers consume by cursor.
//!
//! Module names follow the capabilities of `yiwang-core` (`regions`, `orgs`, `calendar`,
//! `audit`, `ledger`) plus the machinery (`db`, `keys`, `writer`, `outbox`).

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bundles;
pub mod calendar;
pub mod cases;
pub mod catalog;
pub mod datause;
pub mod db;
mod deferred;
pub mod federation;
pub mod files;
pub mod fuzzing;
pub mod hotline;
pub mod keys;
pub mod ledger;
pub mod licences;
pub mod mandates;
pub mod numbers;
pub mod orgs;
pub mod outbox;
pub mod policies;
pub mod ratings;
pub mod refdata;
pub mod regions;
pub mod rows;
pub mod seals;
pub mod sharing;
pub mod sms;
pub mod testing;
mod versioned;
pub mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use yiwang_core::DomainError;

pub use db::Engine;
pub use writer::{Command, Meta, Written};

/// Everything that can go wrong in the store, as callers need to tell it apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The domain refused the command: nothing changed.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The Idempotency-Key was used before with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    /// Another writer changed the stream first (optimistic concurrency).
    #[error("concurrent change to {0}; retry")]
    Concurrency(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the writer has stopped")]
    WriterGone,
    /// Too many attempts: retry after this many seconds.
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    /// An outside service this needs (e.g. `sms`) is not configured or did not answer.
    #[error("{0} is unavailable")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// Blobs and key files live here.
    pub data_dir: PathBuf,
    /// The master key that protects private keys at rest (SM4-GCM).
    pub master_key: yiwang_crypto::Sm4Key,
    /// Events between two signed checkpoints.
    pub checkpoint_interval: i64,
    /// Most commands committed in one transaction.
    pub max_batch: usize,
    /// Connections of the read pool.
    pub read_pool_size: u32,
    /// Lockout and session timeouts.
    pub policy: yiwang_core::auth::Policy,
    /// Locked elements, star rules, questionnaire size (configurable per province).
    pub catalog: yiwang_core::catalog::CatalogPolicy,
    /// Traffic-light threshold and correction window (configurable per province).
    pub cases: yiwang_core::cases::CasePolicy,
    /// 好差评 settings [M]: 一事多评, the default rating's delay, the call-back limit.
    pub ratings: yiwang_core::ratings::RatingPolicy,
    /// 12345 settings [M]: handling limits per category, urgent hours, the dispute limit.
    pub hotline: yiwang_core::hotline::HotlinePolicy,
    /// Where uploaded files go: `s3://bucket/prefix`, `file:///dir`; default
    /// `<data_dir>/blobs` (see `files::open_store`).
    pub files_url: Option<String>,
    /// Where SMS codes go (none: registration, SMS login and recovery are unavailable).
    pub sms: Option<sms::Gateway>,
    /// Limits of SMS codes.
    pub sms_policy: yiwang_core::sms::CodePolicy,
    /// 跨域通办 settings [M]: node id and name, clock skew, back-off, envelope size.
    pub federation: yiwang_core::federation::FederationPolicy,
}

impl StoreConfig {
    pub fn new(
        database_url: impl Into<String>,
        data_dir: impl Into<PathBuf>,
        master_key: yiwang_crypto::Sm4Key,
    ) -> Self {
        Self {
            database_url: database_url.into(),
            data_dir: data_dir.into(),
            master_key,
            checkpoint_interval: 1000,
            max_batch: 512,
            read_pool_size: 8,
            policy: Default::default(),
            catalog: Default::default(),
            cases: Default::default(),
            ratings: Default::default(),
            hotline: Default::default(),
            files_url: None,
            sms: None,
            sms_policy: Default::default(),
            federation: Default::default(),
        }
    }
}

/// The open store: a read pool, the writer, the node's ledger key and the calendar cache.
pub struct Store {
    pub engine: Engine,
    pub read: sqlx::AnyPool,
    pub writer: writer::Writer,
    pub(crate) calendars: calendar::Cache,
    /// Blocks of running numbers this process holds (`numbers`).
    pub(crate) numbers: numbers::Blocks,
    /// Reference data in memory (`refdata`).
    pub refdata: Arc<refdata::RefCache>,
    /// Keys for personal data at rest (field encryption and blind indexes).
    pub pii: Arc<keys::PiiKeys>,
    /// Seal keys for the writer (licences are signed inside the transaction that stores
    /// them).
    pub keyring: Arc<keys::Keyring>,
    /// The platform's seal-maker key (certifies seals; signs trust lists and licence
    /// presentations).
    pub seal_maker: Arc<keys::LedgerKey>,
    /// Login, lockout and session rules.
    pub policy: yiwang_core::auth::Policy,
    /// Login failures of known browsers (device cookies), apart from the account's own
    /// lockout of unknown clients (`auth::login`).
    pub(crate) device_failures: std::sync::Mutex<std::collections::HashMap<String, yiwang_core::auth::Failures>>,
    /// Where files live (content-addressed).
    pub files: std::sync::Arc<dyn object_store::ObjectStore>,
    pub config: StoreConfig,
    /// This node as partners know it (跨域通办), once `serve` has it: service functions that
    /// ask a partner something now (a licence's status) sign as this node.
    pub node: std::sync::OnceLock<federation::Local>,
    /// The node's current envelope key id and when it was read (`federation::current_key_id`).
    pub(crate) node_key: std::sync::Mutex<Option<(String, std::time::Instant)>>,
    /// Refused envelopes kept in full this minute (跨域通办: a flood is answered, not stored).
    pub(crate) refusal_budget: std::sync::Mutex<yiwang_core::federation::RefusalBudget>,
}

impl Store {
    /// Opens (creating and migrating if needed) the database, loads or creates the node
    /// key, starts the writer and seeds the official calendar.
    pub async fn open(config: StoreConfig) -> Result<Arc<Store>> {
        let engine = Engine::from_url(&config.database_url)?;
        db::ensure_database(&config.database_url).await?;
        let write_pool = db::writer_pool(&config.database_url).await?;
        db::migrate(&write_pool, engine).await?;
        let read = db::pool(&config.database_url, config.read_pool_size).await?;
        let ledger_key = Arc::new(keys::load_or_create_ledger_key(&read, &config.master_key).await?);
        let pii = Arc::new(keys::load_or_create_pii_keys(&read, &config.master_key).await?);
        let seal_maker = Arc::new(keys::load_or_create_seal_maker(&read, &config.master_key).await?);
        // The node's envelope key (跨域通办), made on first start like the others.
        keys::load_or_create_node_key(&read, &config.master_key).await?;
        let keyring = Arc::new(keys::Keyring::new(pii.clone(), config.master_key.clone()));
        let refdata: Arc<refdata::RefCache> = Default::default();
        let writer = writer::Writer::start(
            write_pool,
            engine,
            ledger_key,
            config.checkpoint_interval,
            config.max_batch,
            Arc::new(config.catalog.clone()),
            keyring.clone(),
            refdata.clone(),
        );
        let files = files::open_store(&config.data_dir, config.files_url.as_deref())?;
        let store = Arc::new(Store {
            engine,
            read,
            writer,
            files,
            calendars: Default::default(),
            numbers: Default::default(),
            refdata,
            pii,
            keyring,
            seal_maker,
            policy: config.policy,
            device_failures: Default::default(),
            config,
            node: Default::default(),
            node_key: Default::default(),
            refusal_budget: Default::default(),
        });
        refdata::follow(Arc::downgrade(&store), store.head().await?);
        calendar::seed_official(&store).await?;
        accounts::seed_roles(&store).await?;
        accounts::index_legal_persons(&store).await?;
        catalog::seed_dictionary(&store).await?;
        Ok(store)
    }

    /// Submits a command through the group-committing writer.
    pub async fn write(&self, meta: Meta, cmd: Command) -> Result<Written> {
        self.writer.submit(meta, cmd).await
    }

    /// The newest committed global sequence number.
    pub async fn head(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT seq FROM ledger_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?)
    }

    /// Stops the writer after the commands already submitted, and closes the pools.
    pub async fn close(&self) {
        self.writer.shutdown().await;
        self.read.close().await;
    }
}

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// China Standard Time (UTC+8), the zone of every date in the platform (effective dates,
/// validity periods, the working-day calendar).
const CST_MS: i64 = 8 * 3_600_000;

/// 00:00 China time of a date, as epoch milliseconds.
pub fn day_start_ms(d: chrono::NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis() - CST_MS
}

/// The China date of an instant.
pub fn date_of(ms: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms + CST_MS)
        .expect("valid time")
        .date_naive()
}

/// Today in China.
pub fn today() -> chrono::NaiveDate {
    date_of(now_ms())
}

/// An internal error (a stored value that does not decode, a broken invariant) with its
/// message.
pub(crate) fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

/// A new time-ordered identifier (UUID v7, text).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
