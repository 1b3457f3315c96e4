//! The one write path (DESIGN "The write path"). Callers submit commands; a writer task
//! takes every command waiting at that moment (the ones that arrived while the previous
//! batch committed) and commits them in ONE transaction, each in its own savepoint, so one
//! bad command never fails its neighbours and each caller is told its own result.
//!
//! Ordering guarantee, both engines: a batch first takes the write lock on the
//! `ledger_head` row and allocates global sequence numbers from it, holding the lock until
//! commit. Commits therefore happen in sequence order and the sequence has no gaps, so a
//! subscriber reading `seq > cursor` can never skip an event that commits late (the
//! PostgreSQL out-of-order-commit problem cannot arise). Several processes may write to one
//! PostgreSQL database at once; their batches queue on that row lock.

use crate::db::Marks;
use crate::keys::LedgerKey;
use crate::{
    Engine, Result, StoreError, accounts, audit, auth, calendar, cases, catalog, datause, files, ledger, licences,
    mandates, now_ms, orgs, regions, seals,
};
use serde_json::Value;
use sqlx::{AnyConnection, AnyPool, Row};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};
use yiwang_core::catalog::CatalogPolicy;
use yiwang_core::ledger::Hash;

/// Who acts, and the request's idempotency key if it has one.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The acting party as recorded in the ledger.
    pub actor: String,
    pub idempotency: Option<Idempotency>,
}

impl Meta {
    pub fn actor(actor: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            idempotency: None,
        }
    }
    pub fn with_idempotency(mut self, key: impl Into<String>, fingerprint: impl Into<String>) -> Self {
        self.idempotency = Some(Idempotency {
            key: key.into(),
            fingerprint: fingerprint.into(),
        });
        self
    }
}

/// An Idempotency-Key with the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// Every change the platform can make. Each capability executes its own variants.
#[derive(Debug, Clone)]
pub enum Command {
    Regions(regions::Cmd),
    Orgs(orgs::Cmd),
    Calendar(calendar::Cmd),
    Audit(yiwang_core::audit::AuditRecord),
    Accounts(accounts::Cmd),
    Auth(auth::Cmd),
    Mandates(mandates::Cmd),
    Catalog(Box<catalog::Cmd>),
    Bundles(Box<crate::bundles::Cmd>),
    Files(files::Cmd),
    Seals(seals::Cmd),
    Licences(Box<licences::Cmd>),
    Cases(Box<cases::Cmd>),
    Ratings(Box<crate::ratings::Cmd>),
    Hotline(Box<crate::hotline::Cmd>),
    Federation(Box<crate::federation::Cmd>),
    DataUse(datause::Cmd),
    Sharing(crate::sharing::Cmd),
    Policies(Box<crate::policies::Cmd>),
    Sms(crate::sms::Cmd),
    /// Reserve a block of running numbers (bookkeeping: no ledger event).
    Numbers(crate::numbers::Reserve),
    /// Sign a checkpoint over the ledger's tail now.
    Checkpoint,
    /// Store a subscriber's cursor (delivery bookkeeping: no ledger event). Going through
    /// the writer keeps SQLite at one writing connection.
    SaveCursor {
        subscriber: String,
        cursor: i64,
    },
}

/// The result of a command: its response body, and whether it is a replay of an earlier
/// request with the same Idempotency-Key.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub value: Value,
    pub replayed: bool,
}

/// State shared by the commands of one batch.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) next_seq: i64,
    /// Stream heads (version, hash) read or written in this batch; written back once at
    /// the end of the batch for the streams in `dirty`.
    pub(crate) heads: HashMap<String, (i64, Hash)>,
    pub(crate) dirty: HashSet<String>,
    pub(crate) calendar_changed: bool,
    /// Seals found active (or not) in this batch (`cases::store_prepared_notice`).
    pub(crate) seals_active: HashMap<String, bool>,
    /// An event of the batch changes reference data (`refdata::touches`).
    pub(crate) refdata_changed: bool,
    /// Applications received in this batch per (day, item code), with the item's name:
    /// added to `item_receipts` once at the end of the batch.
    pub(crate) receipts: HashMap<(String, String), (String, i64)>,
    /// The savepoint of the last command that wrote and succeeded, not yet released
    /// (`WriteCtx::begin_write` releases it with the next one's opening; commit, at the end).
    pub(crate) savepoint_held: bool,
    /// Rows inserted at the end of the batch (`deferred`).
    pub(crate) deferred: crate::deferred::Deferred,
    /// The stored answers (fingerprint, response) to the idempotency keys of the batch's
    /// commands, read in one statement once the batch holds the ledger lock.
    pub(crate) stored: HashMap<String, (String, String)>,
    /// Streams the batch's commands will open that were found not to exist (read in one
    /// statement at its start): their first events can wait for the end of the batch.
    pub(crate) absent: HashSet<String>,
}

/// A stream's head before a command appended to it: (stream, head, was it dirty).
pub(crate) type Undo = (String, Option<(i64, Hash)>, bool);

/// What a command sees while it runs inside the batch transaction.
///
/// Invariant every command keeps: it appends its first event (`append`) before it writes
/// anything else, because the command's savepoint is opened at that first append. A
/// command refused before appending has written nothing, so it needs no savepoint.
pub struct WriteCtx<'c> {
    pub conn: &'c mut AnyConnection,
    pub engine: Engine,
    pub actor: String,
    pub now_ms: i64,
    pub(crate) batch: &'c mut Batch,
    pub(crate) key: &'c LedgerKey,
    pub(crate) savepoint: bool,
    /// The command writes nothing through SQL until it says so (`begin_write`): its
    /// appends do not open the savepoint (`write_later`).
    pub(crate) later: bool,
    /// Stream heads as they were before this command touched them (for undo).
    pub(crate) undo: Vec<Undo>,
    /// Receipts this command counted (for undo).
    pub(crate) counted: Vec<(String, String)>,
    /// The batch's deferred rows before this command (for undo).
    pub(crate) deferred_mark: crate::deferred::Mark,
    pub(crate) seq_before: i64,
    /// The province's catalogue settings (locked elements, star rules).
    pub catalog: &'c CatalogPolicy,
    /// Seal keys and personal-data keys.
    pub keys: &'c crate::keys::Keyring,
}

impl WriteCtx<'_> {
    /// Appends one event to a stream (see `ledger::append`); returns its sequence number.
    pub async fn append(
        &mut self,
        stream: &str,
        expect: ledger::Expect,
        kind: &str,
        body: &impl serde::Serialize,
    ) -> Result<i64> {
        ledger::append(self, stream, expect, kind, body).await
    }

    /// Opens this command's savepoint before its first write (idempotent). `append` calls
    /// it; so must any command that writes without appending first.
    ///
    /// The savepoint of the previous command that succeeded is released here, in the same
    /// round trip (not when that command ended): one statement fewer per command. The
    /// batch's commit releases the last one.
    pub async fn begin_write(&mut self) -> Result<()> {
        self.later = false;
        if !self.savepoint {
            let sql = if self.batch.savepoint_held {
                "RELEASE SAVEPOINT cmd; SAVEPOINT cmd"
            } else {
                "SAVEPOINT cmd"
            };
            sqlx::raw_sql(sql).execute(&mut *self.conn).await?;
            self.batch.savepoint_held = false;
            self.savepoint = true;
        }
        Ok(())
    }

    /// Declares that every row this command adds until it calls `begin_write` waits for the
    /// end of the batch (`deferred`): its appends then open no savepoint, and a command
    /// that writes nothing through SQL costs the writer no statement. What it adds to the
    /// batch is taken back by `undo` if it fails.
    pub(crate) fn write_later(&mut self) {
        self.later = true;
    }

    /// Marks the calendar as changed (its cache revision is bumped at commit).
    pub(crate) fn calendar_changed(&mut self) {
        self.batch.calendar_changed = true;
    }

    /// Counts an application received for an item on a day (热门服务, statistics).
    pub(crate) fn count_receipt(&mut self, day: chrono::NaiveDate, item_code: &str, item_name: &str) {
        let key = (day.to_string(), item_code.to_string());
        let entry = self
            .batch
            .receipts
            .entry(key.clone())
            .or_insert_with(|| (item_name.to_string(), 0));
        entry.0 = item_name.to_string();
        entry.1 += 1;
        self.counted.push(key);
    }

    /// Undoes this command's effect on the batch state after its savepoint rolled back.
    fn undo(&mut self) {
        self.batch.deferred.truncate(self.deferred_mark);
        for key in self.counted.drain(..) {
            if let Some(e) = self.batch.receipts.get_mut(&key) {
                e.1 -= 1;
                if e.1 == 0 {
                    self.batch.receipts.remove(&key);
                }
            }
        }
        for (stream, head, was_dirty) in self.undo.drain(..).rev() {
            match head {
                Some(h) => self.batch.heads.insert(stream.clone(), h),
                None => self.batch.heads.remove(&stream),
            };
            if !was_dirty {
                self.batch.dirty.remove(&stream);
            }
        }
        self.batch.next_seq = self.seq_before;
    }
}

struct Job {
    meta: Meta,
    cmd: Command,
    reply: oneshot::Sender<Result<Written>>,
}

/// Handle to the writer task.
pub struct Writer {
    tx: tokio::sync::Mutex<Option<mpsc::Sender<Job>>>,
    head: watch::Receiver<i64>,
    done: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        pool: AnyPool,
        engine: Engine,
        key: Arc<LedgerKey>,
        checkpoint_interval: i64,
        max_batch: usize,
        catalog: Arc<CatalogPolicy>,
        keys: Arc<crate::keys::Keyring>,
        refdata: Arc<crate::refdata::RefCache>,
    ) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(max_batch * 8);
        let (head_tx, head) = watch::channel(0);
        let settings = Settings {
            interval: checkpoint_interval.max(1),
            max_batch: max_batch.max(1),
            catalog,
            keys,
            refdata,
        };
        let task = tokio::spawn(run(pool, engine, key, settings, rx, head_tx));
        Writer {
            tx: tokio::sync::Mutex::new(Some(tx)),
            head,
            done: tokio::sync::Mutex::new(Some(task)),
        }
    }

    pub async fn submit(&self, meta: Meta, cmd: Command) -> Result<Written> {
        let (reply, rx) = oneshot::channel();
        let sender = self.tx.lock().await.clone().ok_or(StoreError::WriterGone)?;
        sender
            .send(Job { meta, cmd, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Watches the newest sequence number this process committed (wakes subscribers).
    pub fn head(&self) -> watch::Receiver<i64> {
        self.head.clone()
    }

    /// Stops taking commands, commits what was submitted, and waits for the task.
    pub async fn shutdown(&self) {
        self.tx.lock().await.take();
        if let Some(t) = self.done.lock().await.take() {
            let _ = t.await;
        }
    }
}

/// What the writer task is configured with.
struct Settings {
    /// Events between two signed checkpoints.
    interval: i64,
    max_batch: usize,
    catalog: Arc<CatalogPolicy>,
    keys: Arc<crate::keys::Keyring>,
    refdata: Arc<crate::refdata::RefCache>,
}

async fn run(
    pool: AnyPool,
    engine: Engine,
    key: Arc<LedgerKey>,
    settings: Settings,
    mut rx: mpsc::Receiver<Job>,
    head: watch::Sender<i64>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < settings.max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let n = jobs.len();
        let (outcomes, seq) = match commit_batch(&pool, engine, &key, &settings, &jobs).await {
            Ok((outcomes, seq, refdata_changed)) => {
                // Cleared before any caller is answered, so nobody reads the old data after
                // seeing the change succeed.
                if refdata_changed {
                    settings.refdata.clear();
                }
                (outcomes, Some(seq))
            }
            Err(e) => {
                tracing::error!(error = %e, commands = n, "batch commit failed; every command in it is reported failed");
                let msg = e.to_string();
                (
                    jobs.iter()
                        .map(|_| Err(StoreError::Internal(format!("commit failed: {msg}"))))
                        .collect(),
                    None,
                )
            }
        };
        metrics::histogram!("yiwang_writer_batch_size").record(n as f64);
        metrics::histogram!("yiwang_writer_commit_seconds").record(started.elapsed().as_secs_f64());
        if let Some(seq) = seq {
            head.send_replace(seq);
        }
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            let _ = job.reply.send(outcome);
        }
    }
}

async fn commit_batch(
    pool: &AnyPool,
    engine: Engine,
    key: &LedgerKey,
    settings: &Settings,
    jobs: &[Job],
) -> Result<(Vec<Result<Written>>, i64, bool)> {
    let (interval, catalog, keys) = (settings.interval, &*settings.catalog, &*settings.keys);
    let mut tx = pool.begin().await?;
    let conn: &mut AnyConnection = &mut tx;
    let now = now_ms();
    let res = async {
        // Take the ledger head's row lock first (both engines): see the module comment.
        sqlx::query("UPDATE ledger_head SET touched_at = $1 WHERE id = 1")
            .bind(now)
            .execute(&mut *conn)
            .await?;
        let row = sqlx::query("SELECT seq FROM ledger_head WHERE id = 1")
            .fetch_one(&mut *conn)
            .await?;
        let mut batch = Batch {
            next_seq: row.try_get::<i64, _>("seq")? + 1,
            stored: stored_answers(&mut *conn, jobs).await?,
            absent: absent_streams(&mut *conn, jobs).await?,
            ..Default::default()
        };
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            let deferred_mark = batch.deferred.mark();
            let mut ctx = WriteCtx {
                conn: &mut *conn,
                engine,
                actor: job.meta.actor.clone(),
                now_ms: now,
                seq_before: batch.next_seq,
                batch: &mut batch,
                key,
                savepoint: false,
                later: false,
                undo: vec![],
                counted: vec![],
                deferred_mark,
                catalog,
                keys,
            };
            let r = execute_idempotent(&mut ctx, &job.meta, &job.cmd).await;
            match r {
                Ok(w) => {
                    if ctx.savepoint {
                        ctx.batch.savepoint_held = true;
                    }
                    outcomes.push(Ok(w));
                }
                Err(e) => {
                    // Undo just this command. If even that fails the connection is broken
                    // and the `?` gives up the whole batch (nothing of it is committed).
                    if ctx.savepoint {
                        sqlx::raw_sql("ROLLBACK TO SAVEPOINT cmd; RELEASE SAVEPOINT cmd")
                            .execute(&mut *ctx.conn)
                            .await?;
                    }
                    ctx.undo();
                    outcomes.push(Err(e));
                }
            }
        }
        let next_seq = batch.next_seq;
        batch.deferred.flush(&mut *conn).await?;
        ledger::write_stream_heads(&mut *conn, &batch).await?;
        crate::cases::add_receipts(&mut *conn, &batch.receipts).await?;
        let calendar_changed = batch.calendar_changed;
        let last = next_seq - 1;
        ledger::checkpoint_if_due(&mut *conn, key, interval, last, now).await?;
        sqlx::query("UPDATE ledger_head SET seq = $1 WHERE id = 1")
            .bind(last)
            .execute(&mut *conn)
            .await?;
        if calendar_changed {
            sqlx::query("UPDATE calendar_meta SET rev = rev + 1 WHERE id = 1")
                .execute(&mut *conn)
                .await?;
        }
        Ok::<_, StoreError>((outcomes, last, batch.refdata_changed))
    }
    .await;
    let v = res?; // on error `tx` is dropped, which rolls the batch back
    tx.commit().await?;
    Ok(v)
}

/// The stored answer to a request whose Idempotency-Key was already used (the same
/// request: its answer, replayed; another request: refused), read through `conn`.
async fn stored_answer(conn: &mut AnyConnection, idem: &Idempotency) -> Result<Option<Written>> {
    let row = sqlx::query("SELECT fingerprint, response FROM idempotency WHERE key = $1")
        .bind(&idem.key)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let fp: String = row.try_get("fingerprint")?;
    let resp: String = row.try_get("response")?;
    replay(idem, &fp, &resp).map(Some)
}

/// The answers stored for the idempotency keys of `jobs` (a few hundred keys a statement).
/// Read under the ledger lock, so no other process commits one of them until the batch
/// ends; one committed earlier in this batch is in its deferred rows.
async fn stored_answers(conn: &mut AnyConnection, jobs: &[Job]) -> Result<HashMap<String, (String, String)>> {
    let keys: Vec<&str> = jobs
        .iter()
        .filter_map(|j| j.meta.idempotency.as_ref().map(|i| i.key.as_str()))
        .collect();
    let mut out = HashMap::new();
    for chunk in keys.chunks(500) {
        let sql = format!(
            "SELECT key, fingerprint, response FROM idempotency WHERE key IN ({})",
            Marks::of_conn(conn).list(chunk.len())
        );
        // Not kept prepared: each batch size is another text.
        let mut q = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql)).persistent(false);
        for k in chunk {
            q = q.bind(*k);
        }
        for (key, fp, resp) in q.fetch_all(&mut *conn).await? {
            out.insert(key, (fp, resp));
        }
    }
    Ok(out)
}

/// Of the streams the commands of `jobs` will open, those that do not exist (a few hundred
/// a statement).
async fn absent_streams(conn: &mut AnyConnection, jobs: &[Job]) -> Result<HashSet<String>> {
    let mut absent: HashSet<String> = jobs.iter().flat_map(|j| j.cmd.new_streams()).collect();
    let wanted: Vec<String> = absent.iter().cloned().collect();
    for chunk in wanted.chunks(500) {
        let sql = format!(
            "SELECT stream_id FROM streams WHERE stream_id IN ({})",
            Marks::of_conn(conn).list(chunk.len())
        );
        // Not kept prepared: each batch size is another text.
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).persistent(false);
        for s in chunk {
            q = q.bind(s.as_str());
        }
        for found in q.fetch_all(&mut *conn).await? {
            absent.remove(&found);
        }
    }
    Ok(absent)
}

/// A stored answer: the same request's response replayed, another request refused.
fn replay(idem: &Idempotency, fingerprint: &str, response: &str) -> Result<Written> {
    if fingerprint != idem.fingerprint {
        return Err(StoreError::IdempotencyMismatch);
    }
    let value = serde_json::from_str(response).map_err(|e| StoreError::Internal(format!("stored response: {e}")))?;
    Ok(Written { value, replayed: true })
}

/// A retried request answered before its command is prepared (so a retry does not take a
/// case number or sign a receipt only to be replayed): the stored answer if the key is
/// already committed. The writer checks again inside the batch, which decides.
pub async fn answered(store: &crate::Store, meta: &Meta) -> Result<Option<Written>> {
    let Some(idem) = &meta.idempotency else { return Ok(None) };
    let mut conn = store.read.acquire().await?;
    stored_answer(&mut conn, idem).await
}

/// The answer stored for a key before this batch, or earlier in it (its record is
/// inserted at the end of the batch).
fn answered_in_batch(batch: &Batch, idem: &Idempotency) -> Result<Option<Written>> {
    use crate::deferred::{Arg, Table};
    if let Some((fp, resp)) = batch.stored.get(&idem.key) {
        return replay(idem, fp, resp).map(Some);
    }
    let Some(row) = batch
        .deferred
        .rows(Table::Idempotency)
        .iter()
        .find(|r| matches!(&r[0], Arg::Text(k) if *k == idem.key))
    else {
        return Ok(None);
    };
    let (Arg::Text(fp), Arg::Text(resp)) = (&row[1], &row[2]) else {
        return Err(StoreError::Internal("an idempotency record of another shape".into()));
    };
    replay(idem, fp, resp).map(Some)
}

async fn execute_idempotent(ctx: &mut WriteCtx<'_>, meta: &Meta, cmd: &Command) -> Result<Written> {
    if let Some(idem) = &meta.idempotency
        && let Some(w) = answered_in_batch(ctx.batch, idem)?
    {
        return Ok(w);
    }
    let value = execute(ctx, cmd).await?;
    if let Some(idem) = &meta.idempotency {
        // A deferred row needs no savepoint: a failure takes it back with `undo`.
        use crate::deferred::{Arg, Table};
        ctx.batch.deferred.push(
            Table::Idempotency,
            vec![
                Arg::Text(idem.key.clone()),
                Arg::Text(idem.fingerprint.clone()),
                Arg::Text(value.to_string()),
                Arg::Int(ctx.now_ms),
            ],
        );
    }
    Ok(Written { value, replayed: false })
}

impl Command {
    /// The streams this command opens (`Expect::New`) whose names are known before it runs.
    fn new_streams(&self) -> Vec<String> {
        match self {
            Command::Cases(c) => c.new_streams(),
            Command::Bundles(c) => c.new_streams(),
            _ => vec![],
        }
    }
}

async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Command) -> Result<Value> {
    match cmd {
        Command::Regions(c) => regions::execute(ctx, c).await,
        Command::Orgs(c) => orgs::execute(ctx, c).await,
        Command::Calendar(c) => calendar::execute(ctx, c).await,
        Command::Audit(r) => audit::execute(ctx, r).await,
        Command::Accounts(c) => accounts::execute(ctx, c).await,
        Command::Auth(c) => auth::execute(ctx, c).await,
        Command::Mandates(c) => mandates::execute(ctx, c).await,
        Command::Catalog(c) => catalog::execute(ctx, c).await,
        Command::Bundles(c) => crate::bundles::execute(ctx, c).await,
        Command::Files(c) => files::execute(ctx, c).await,
        Command::Seals(c) => {
            ctx.batch.seals_active.clear();
            seals::execute(ctx, c).await
        }
        Command::Licences(c) => licences::execute(ctx, c).await,
        Command::Cases(c) => cases::execute(ctx, c).await,
        Command::Ratings(c) => crate::ratings::execute(ctx, c).await,
        Command::Hotline(c) => crate::hotline::execute(ctx, c).await,
        Command::Federation(c) => crate::federation::execute(ctx, c).await,
        Command::DataUse(c) => datause::execute(ctx, c).await,
        Command::Sharing(c) => crate::sharing::execute(ctx, c).await,
        Command::Policies(c) => crate::policies::execute(ctx, c).await,
        Command::Sms(c) => crate::sms::execute(ctx, c).await,
        Command::Numbers(r) => crate::numbers::execute(ctx, r).await,
        Command::Checkpoint => ledger::checkpoint_now(ctx).await,
        Command::SaveCursor { subscriber, cursor } => crate::outbox::save_cursor(ctx, subscriber, *cursor).await,
    }
}
