//! The append-only ledger (DESIGN principle 2): every change is an event in a stream;
//! each stream is hash-chained with SM3 (`hash = SM3(prev_hash || canonical event)`);
//! every `checkpoint_interval` events a checkpoint signs (SM2, node key) the Merkle root
//! of their hashes, linked to the previous checkpoint. `verify` re-checks all of it.

use crate::deferred::{Arg, Table};
use crate::keys::LedgerKey;
use crate::rows::{JsonText, read};
use crate::writer::WriteCtx;
use crate::{Result, StoreError};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use yiwang_core::ledger::{Checkpoint, EventRecord, GENESIS, Hash, merkle_root};
use yiwang_crypto::sm3;

/// What the writer expects of a stream before appending (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The stream must not exist yet (creating something).
    New,
    /// The stream must exist (changing something).
    Exists,
    /// The stream must be exactly at this version.
    Version(i64),
    /// Anything (append-only streams such as audit).
    Any,
}

/// An event as read back, with its chain hashes.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    pub stream_id: String,
    pub version: i64,
    pub kind: String,
    #[sqlx(try_from = "JsonText")]
    pub body: serde_json::Value,
    pub actor: String,
    pub at_ms: i64,
    pub hash: String,
}

fn hex32(s: &str, what: &str) -> Result<Hash> {
    let v = hex::decode(s).map_err(|_| StoreError::Internal(format!("{what} is not hex")))?;
    v.try_into()
        .map_err(|_| StoreError::Internal(format!("{what} is not 32 bytes")))
}

pub(crate) async fn append(
    ctx: &mut WriteCtx<'_>,
    stream: &str,
    expect: Expect,
    kind: &str,
    body: &impl Serialize,
) -> Result<i64> {
    let cached = ctx.batch.heads.get(stream).copied();
    let (version, prev) = match cached {
        Some(h) => h,
        // A new stream needs no read: if it exists after all, the unique (stream_id,
        // version) index refuses the insert below.
        None if expect == Expect::New => (0, GENESIS),
        None => {
            let head = sqlx::query("SELECT version, hash FROM streams WHERE stream_id = $1")
                .bind(stream)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            match head {
                Some(r) => (
                    r.try_get::<i64, _>("version")?,
                    hex32(&r.try_get::<String, _>("hash")?, "stream hash")?,
                ),
                None => (0, GENESIS),
            }
        }
    };
    let ok = match expect {
        Expect::New => version == 0,
        Expect::Exists => version > 0,
        Expect::Version(v) => version == v,
        Expect::Any => true,
    };
    if !ok {
        return Err(StoreError::Concurrency(format!(
            "{stream} is at version {version}, expected {expect:?}"
        )));
    }
    let body = serde_json::to_string(body).map_err(|e| StoreError::Internal(format!("event body: {e}")))?;
    let ev = EventRecord {
        seq: ctx.batch.next_seq,
        stream_id: stream.to_string(),
        version: version + 1,
        kind: kind.to_string(),
        body,
        actor: ctx.actor.clone(),
        at_ms: ctx.now_ms,
    };
    let hash = sm3(&ev.chain_input(&prev));
    let deferred = cached.is_some() || expect != Expect::New || ctx.batch.absent.contains(stream);
    if !(deferred && ctx.later) {
        ctx.begin_write().await?;
    }
    if crate::refdata::touches(kind) {
        ctx.batch.refdata_changed = true;
    }
    // The row waits for the end of the batch unless only the unique index can tell that a
    // new stream exists already (its head neither in the batch, read above, nor known
    // absent): then it goes in now, so that a refusal is this command's alone.
    let row = event_row(&ev, &prev, &hash);
    if deferred {
        ctx.batch.deferred.push(Table::Events, row);
    } else {
        match crate::deferred::insert_now(&mut *ctx.conn, Table::Events, row).await {
            Err(StoreError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                return Err(StoreError::Concurrency(format!("{stream} already exists")));
            }
            r => r?,
        }
    }
    let was_dirty = ctx.batch.dirty.contains(stream);
    ctx.undo.push((stream.to_string(), cached, was_dirty));
    ctx.batch.heads.insert(stream.to_string(), (ev.version, hash));
    ctx.batch.dirty.insert(stream.to_string());
    ctx.batch.next_seq += 1;
    metrics::counter!("yiwang_events_appended_total").increment(1);
    Ok(ev.seq)
}

/// An event row with its chain hashes, as `deferred` inserts it (the only statement that
/// writes events).
fn event_row(ev: &EventRecord, prev: &Hash, hash: &Hash) -> Vec<Arg> {
    vec![
        Arg::Int(ev.seq),
        Arg::Text(ev.stream_id.clone()),
        Arg::Int(ev.version),
        Arg::Text(ev.kind.clone()),
        Arg::Text(ev.body.clone()),
        Arg::Text(ev.actor.clone()),
        Arg::Int(ev.at_ms),
        Arg::Text(hex::encode(prev)),
        Arg::Text(hex::encode(hash)),
    ]
}

/// Inserts one event row with its chain hashes now (the benches' bulk path).
pub async fn insert_event(conn: &mut AnyConnection, ev: &EventRecord, prev: &Hash, hash: &Hash) -> Result<()> {
    crate::deferred::insert_now(conn, Table::Events, event_row(ev, prev, hash)).await
}

/// Writes the head (version, hash) of every stream the batch appended to, once.
pub(crate) async fn write_stream_heads(conn: &mut AnyConnection, batch: &crate::writer::Batch) -> Result<()> {
    // Multi-row upserts, a few hundred heads per statement (3 parameters a row: well under
    // SQLite's 32,766 and PostgreSQL's 65,535 bind parameters).
    const ROWS: usize = 300;
    let dirty: Vec<&String> = batch.dirty.iter().collect();
    for chunk in dirty.chunks(ROWS) {
        let mut sql = String::from("INSERT INTO streams (stream_id, version, hash) VALUES ");
        crate::db::Marks::of_conn(conn).push_rows(&mut sql, chunk.len(), 3);
        sql.push_str(" ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash");
        // Not kept prepared: each batch size is another text, and they would push the hot
        // statements out of the connection's statement cache.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
        for stream in chunk {
            let (version, hash) = batch.heads[*stream];
            q = q.bind(*stream).bind(version).bind(hex::encode(hash));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Signs checkpoints for every full interval of events up to `last` (called inside the
/// batch transaction, so checkpoints commit with their events).
pub(crate) async fn checkpoint_if_due(
    conn: &mut AnyConnection,
    key: &LedgerKey,
    interval: i64,
    last: i64,
    now: i64,
) -> Result<()> {
    let row = sqlx::query("SELECT checkpoint_to, checkpoint_hash FROM ledger_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let mut to: i64 = row.try_get("checkpoint_to")?;
    let mut prev = hex32(&row.try_get::<String, _>("checkpoint_hash")?, "checkpoint hash")?;
    let start = to;
    while last - to >= interval {
        let from = to + 1;
        let end = to + interval;
        prev = write_checkpoint(conn, key, from, end, prev, now).await?;
        to = end;
    }
    if to != start {
        sqlx::query("UPDATE ledger_head SET checkpoint_to = $1, checkpoint_hash = $2 WHERE id = 1")
            .bind(to)
            .bind(hex::encode(prev))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Signs a checkpoint over whatever events follow the last one, up to and including the
/// commands before it in the same batch (`Command::Checkpoint`: at shutdown and by
/// `yiwang ledger checkpoint`, so the tail is covered too). Returns the new `to_seq`.
pub(crate) async fn checkpoint_now(ctx: &mut WriteCtx<'_>) -> Result<serde_json::Value> {
    let last = ctx.batch.next_seq - 1;
    let row = sqlx::query("SELECT checkpoint_to, checkpoint_hash FROM ledger_head WHERE id = 1")
        .fetch_one(&mut *ctx.conn)
        .await?;
    let to: i64 = row.try_get("checkpoint_to")?;
    if last == to {
        return Ok(serde_json::json!({ "checkpoint_to": to, "new": false }));
    }
    let prev = hex32(&row.try_get::<String, _>("checkpoint_hash")?, "checkpoint hash")?;
    // The batch's events so far go in first (the checkpoint reads their hashes), before
    // this command's savepoint: they are earlier commands', which succeeded.
    ctx.batch.deferred.flush_one(ctx.conn, Table::Events).await?;
    ctx.begin_write().await?;
    let h = write_checkpoint(ctx.conn, ctx.key, to + 1, last, prev, ctx.now_ms).await?;
    sqlx::query("UPDATE ledger_head SET checkpoint_to = $1, checkpoint_hash = $2 WHERE id = 1")
        .bind(last)
        .bind(hex::encode(h))
        .execute(&mut *ctx.conn)
        .await?;
    Ok(serde_json::json!({ "checkpoint_to": last, "new": true }))
}

async fn write_checkpoint(
    conn: &mut AnyConnection,
    key: &LedgerKey,
    from: i64,
    to: i64,
    prev: Hash,
    now: i64,
) -> Result<Hash> {
    let hashes: Vec<String> = sqlx::query_scalar("SELECT hash FROM events WHERE seq >= $1 AND seq <= $2 ORDER BY seq")
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
    if hashes.len() as i64 != to - from + 1 {
        return Err(StoreError::Internal(format!(
            "checkpoint {from}..={to}: events missing"
        )));
    }
    let leaves: Vec<Hash> = hashes.iter().map(|h| hex32(h, "event hash")).collect::<Result<_>>()?;
    let cp = Checkpoint {
        from_seq: from,
        to_seq: to,
        root: merkle_root(&leaves, &sm3),
        prev,
        at_ms: now,
    };
    let signed = cp.signed_bytes();
    let sig = key.signer.sign(&signed);
    sqlx::query("INSERT INTO checkpoints (to_seq, from_seq, root, prev, at_ms, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(to)
        .bind(from)
        .bind(hex::encode(cp.root))
        .bind(hex::encode(prev))
        .bind(now)
        .bind(&key.id)
        .bind(hex::encode(sig))
        .execute(&mut *conn)
        .await?;
    Ok(sm3(&signed))
}

/// The outcome of a full verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub events: i64,
    pub streams: usize,
    pub checkpoints: i64,
    /// The first problem found, naming the event (or checkpoint) where it is.
    pub problem: Option<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

#[derive(sqlx::FromRow)]
struct CpRow {
    #[sqlx(rename = "from_seq")]
    from: i64,
    #[sqlx(rename = "to_seq")]
    to: i64,
    root: String,
    prev: String,
    at_ms: i64,
    key_id: String,
    signature: String,
}

/// Re-checks every event's chain link and hash, the gap-free sequence, every stream head,
/// every checkpoint's Merkle root, link and signature, and the ledger head. Reads in pages,
/// so memory stays bounded by the number of streams and one checkpoint interval.
pub async fn verify(conn: &mut AnyConnection, trusted: &[(String, Vec<u8>)]) -> Result<Report> {
    let keys: HashMap<&str, &[u8]> = trusted.iter().map(|(id, k)| (id.as_str(), k.as_slice())).collect();
    let cps: Vec<CpRow> =
        sqlx::query("SELECT from_seq, to_seq, root, prev, at_ms, key_id, signature FROM checkpoints ORDER BY to_seq")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(read)
            .collect::<Result<_>>()?;
    let mut report = Report {
        events: 0,
        streams: 0,
        checkpoints: cps.len() as i64,
        problem: None,
    };
    let fail = |mut r: Report, p: String| {
        r.problem = Some(p);
        Ok(r)
    };

    let mut streams: HashMap<String, (i64, Hash)> = HashMap::new();
    let mut cp_iter = cps.iter().peekable();
    let mut cp_leaves: Vec<Hash> = vec![];
    let mut cp_prev = GENESIS;
    let mut expected_seq = 1i64;
    const PAGE: i64 = 5000;
    loop {
        let rows = sqlx::query(
            "SELECT seq, stream_id, version, kind, body, actor, at_ms, prev_hash, hash FROM events WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let n = rows.len();
        for r in rows {
            let ev = EventRecord {
                seq: r.try_get("seq")?,
                stream_id: r.try_get("stream_id")?,
                version: r.try_get("version")?,
                kind: r.try_get("kind")?,
                body: r.try_get("body")?,
                actor: r.try_get("actor")?,
                at_ms: r.try_get("at_ms")?,
            };
            let at = format!("event seq {} (stream {} version {})", ev.seq, ev.stream_id, ev.version);
            if ev.seq != expected_seq {
                return fail(
                    report,
                    format!(
                        "event seq {expected_seq} is missing (next stored is seq {}): deleted or renumbered",
                        ev.seq
                    ),
                );
            }
            let (last_version, last_hash) = streams.get(&ev.stream_id).copied().unwrap_or((0, GENESIS));
            if ev.version != last_version + 1 {
                return fail(
                    report,
                    format!("{at}: expected version {} of the stream", last_version + 1),
                );
            }
            let stored_prev: String = r.try_get("prev_hash")?;
            if stored_prev != hex::encode(last_hash) {
                return fail(
                    report,
                    format!("{at}: prev_hash does not match the stream's previous event"),
                );
            }
            let computed = sm3(&ev.chain_input(&last_hash));
            let stored: String = r.try_get("hash")?;
            if stored != hex::encode(computed) {
                return fail(report, format!("{at}: content does not match its hash (altered)"));
            }
            streams.insert(ev.stream_id.clone(), (ev.version, computed));
            cp_leaves.push(computed);
            if let Some(cp) = cp_iter.peek()
                && cp.to == ev.seq
            {
                let cp = cp_iter.next().expect("peeked");
                if let Some(p) = check_checkpoint(cp, &cp_leaves, &cp_prev, &keys) {
                    return fail(report, p);
                }
                cp_prev = sm3(&Checkpoint {
                    from_seq: cp.from,
                    to_seq: cp.to,
                    root: hex32(&cp.root, "root")?,
                    prev: hex32(&cp.prev, "prev")?,
                    at_ms: cp.at_ms,
                }
                .signed_bytes());
                cp_leaves.clear();
            }
            expected_seq += 1;
            report.events += 1;
        }
        if (n as i64) < PAGE {
            break;
        }
    }
    if let Some(cp) = cp_iter.next() {
        return fail(
            report,
            format!(
                "checkpoint {}..={} covers events that do not exist (deleted)",
                cp.from, cp.to
            ),
        );
    }
    let head = sqlx::query("SELECT seq, checkpoint_to, checkpoint_hash FROM ledger_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let head_seq: i64 = head.try_get("seq")?;
    if head_seq != expected_seq - 1 {
        return fail(
            report,
            format!(
                "ledger head says {head_seq} events but {} are stored: events after seq {} deleted",
                expected_seq - 1,
                expected_seq - 1
            ),
        );
    }
    let cp_to: i64 = head.try_get("checkpoint_to")?;
    if cp_to != cps.last().map(|c| c.to).unwrap_or(0)
        || head.try_get::<String, _>("checkpoint_hash")? != hex::encode(cp_prev)
    {
        return fail(report, "ledger head does not match the last checkpoint".into());
    }
    let stored_streams = sqlx::query("SELECT stream_id, version, hash FROM streams")
        .fetch_all(&mut *conn)
        .await?;
    if stored_streams.len() != streams.len() {
        return fail(
            report,
            format!(
                "{} stream heads stored but events form {} streams",
                stored_streams.len(),
                streams.len()
            ),
        );
    }
    for r in stored_streams {
        let id: String = r.try_get("stream_id")?;
        let v: i64 = r.try_get("version")?;
        let h: String = r.try_get("hash")?;
        match streams.get(&id) {
            Some((ev, eh)) if *ev == v && hex::encode(eh) == h => {}
            Some((ev, _)) => {
                return fail(
                    report,
                    format!(
                        "stream {id}: head says version {v}, events end at version {ev}: its last events were deleted or altered"
                    ),
                );
            }
            None => return fail(report, format!("stream {id} has a head but no events")),
        }
    }
    report.streams = streams.len();
    if let Some(p) = orphan_rows(conn).await? {
        return fail(report, p);
    }
    Ok(report)
}

/// The projections and the stream each row is written with. Every row of these tables is
/// made by a command that appends its stream's first event in the same transaction, so a
/// row whose stream has no event means events were cut from the tail (after the last
/// checkpoint) and the heads patched to hide it (issue 13, item 5).
const PROJECTIONS: &[(&str, &str, &str)] = &[
    ("regions", "code", "region:"),
    ("departments", "id", "department:"),
    ("halls", "id", "hall:"),
    ("persons", "id", "person:"),
    ("legal_persons", "id", "legal:"),
    ("mandates", "id", "mandate:"),
    ("files", "sm3", "file:"),
    ("seals", "id", "seal:"),
    ("licence_types", "code", "licence_type:"),
    ("licences", "id", "licence:"),
    ("cases", "id", "case:"),
    ("catalog_entries", "id", "catalog:"),
    ("bundles", "id", "bundle:"),
    ("bundle_cases", "id", "bundle_case:"),
];

/// The first projection with rows that no event made, as a problem.
async fn orphan_rows(conn: &mut AnyConnection) -> Result<Option<String>> {
    for (table, key, prefix) in PROJECTIONS {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} x WHERE NOT EXISTS \
             (SELECT 1 FROM events e WHERE e.stream_id = '{prefix}' || x.{key})"
        );
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            return Ok(Some(format!(
                "{n} row(s) of {table} have no event in the ledger: events were deleted after the last checkpoint"
            )));
        }
    }
    Ok(None)
}

fn check_checkpoint(cp: &CpRow, leaves: &[Hash], prev: &Hash, keys: &HashMap<&str, &[u8]>) -> Option<String> {
    let at = format!("checkpoint {}..={}", cp.from, cp.to);
    if cp.to - cp.from + 1 != leaves.len() as i64 {
        return Some(format!(
            "{at}: covers {} events but {} precede it since the last checkpoint",
            cp.to - cp.from + 1,
            leaves.len()
        ));
    }
    if cp.root != hex::encode(merkle_root(leaves, &sm3)) {
        return Some(format!(
            "{at}: Merkle root does not match the events (an event in seq {}..={} was altered)",
            cp.from, cp.to
        ));
    }
    if cp.prev != hex::encode(prev) {
        return Some(format!("{at}: does not link to the previous checkpoint"));
    }
    let Some(key) = keys.get(cp.key_id.as_str()) else {
        return Some(format!("{at}: signed by unknown or untrusted key {}", cp.key_id));
    };
    let (Ok(root), Ok(p), Ok(sig)) = (
        hex32(&cp.root, "root"),
        hex32(&cp.prev, "prev"),
        hex::decode(&cp.signature),
    ) else {
        return Some(format!("{at}: malformed"));
    };
    let signed = Checkpoint {
        from_seq: cp.from,
        to_seq: cp.to,
        root,
        prev: p,
        at_ms: cp.at_ms,
    }
    .signed_bytes();
    if yiwang_crypto::verify(key, &signed, &sig).is_err() {
        return Some(format!("{at}: signature is not valid"));
    }
    None
}

/// Verifies the whole ledger of an open store.
pub async fn verify_store(store: &crate::Store) -> Result<Report> {
    let trusted = crate::keys::trusted_ledger_keys(&store.read, &store.config.master_key).await?;
    let mut conn = store.read.acquire().await?;
    // One snapshot for every statement: a node that is writing meanwhile (its followers
    // find, deliver and record) would otherwise show a head past the events read.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if store.engine == crate::Engine::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let r = verify(&mut tx, &trusted).await;
    tx.rollback().await?;
    r
}

const EVENT_COLUMNS: &str = "seq, stream_id, version, kind, body, actor, at_ms, hash";

/// Events after `cursor`, in sequence order (subscribers and feeds).
pub async fn read_after(pool: &sqlx::AnyPool, cursor: i64, limit: i64) -> Result<Vec<StoredEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cursor)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(read).collect()
}

/// The events with these sequence numbers, in sequence order (filtered subscribers).
pub async fn read_seqs(pool: &sqlx::AnyPool, engine: crate::db::Engine, seqs: &[i64]) -> Result<Vec<StoredEvent>> {
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(500) {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq IN ({}) ORDER BY seq",
            crate::db::Marks::of(engine).list(chunk.len())
        );
        // Not kept prepared: each length is another text.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
        for seq in chunk {
            q = q.bind(*seq);
        }
        for row in q.fetch_all(pool).await? {
            out.push(read(row)?);
        }
    }
    Ok(out)
}

/// The events of one stream, oldest first (history views).
pub async fn stream(pool: &sqlx::AnyPool, stream_id: &str) -> Result<Vec<StoredEvent>> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stream_id)
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(read).collect()
}

/// The newest event and the last event covered by a signed checkpoint.
pub async fn status(pool: &sqlx::AnyPool) -> Result<(i64, i64)> {
    let r = sqlx::query("SELECT seq, checkpoint_to FROM ledger_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok((r.try_get("seq")?, r.try_get("checkpoint_to")?))
}
