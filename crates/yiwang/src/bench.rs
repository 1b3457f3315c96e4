//! `yiwang bench writer`: durable commands/s through the group-committing writer with many
//! concurrent callers, and in the same run the bare ceiling: the same rows (event, stream
//! head, audit projection) inserted by a tight batched loop in transactions of the same
//! durability. Prints both and their ratio (machines here are shared and noisy, so only
//! the ratio is meaningful).

use anyhow::Result;
use sqlx::Row;
use std::sync::Arc;
use std::time::Instant;
use yiwang_core::audit::AuditRecord;
use yiwang_core::ledger::{EventRecord, GENESIS};
use yiwang_store::{Command, Meta, Store};

pub struct Options {
    pub callers: usize,
    pub commands: usize,
    pub ceiling_batch: usize,
}

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        category: "bench".into(),
        action: "bench.write".into(),
        subject: format!("subject-{i}"),
        detail: serde_json::json!({ "i": i, "note": "基准测试" }),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs both measurements on `store` and prints the report; returns the ratio.
pub async fn writer(store: Arc<Store>, o: &Options) -> Result<f64> {
    // Warm up (connections, statement caches, page cache).
    for i in 0..200 {
        store.write(Meta::actor("bench"), Command::Audit(record(i))).await?;
    }
    let per_caller = o.commands.div_ceil(o.callers);
    let started = Instant::now();
    let mut tasks = vec![];
    for c in 0..o.callers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_caller);
            for i in 0..per_caller {
                let t = Instant::now();
                store
                    .write(Meta::actor("bench"), Command::Audit(record(c * per_caller + i)))
                    .await?;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = vec![];
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    let n = lat.len();
    lat.sort_by(|a, b| a.total_cmp(b));
    let writer_rate = n as f64 / secs;
    println!(
        "writer:  {n} durable commands from {} concurrent callers in {secs:.2} s = {writer_rate:.0} commands/s (latency p50 {:.1} ms, p99 {:.1} ms)",
        o.callers,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );

    let ceiling_rate = ceiling(&store, n, o.ceiling_batch).await?;
    println!(
        "ceiling: {n} identical rows by a tight batched-insert loop ({} per transaction, same durability) = {ceiling_rate:.0} rows/s",
        o.ceiling_batch
    );
    let ratio = writer_rate / ceiling_rate;
    println!("engine {} · writer/ceiling", store.engine.name());
    println!("ratio {ratio:.3}");
    Ok(ratio)
}

/// The same rows the writer produces for an audit command (event with its SM3 chain hash,
/// stream head upsert, audit_log row), inserted directly in large transactions.
async fn ceiling(store: &Store, n: usize, batch: usize) -> Result<f64> {
    let mut conn = store.read.acquire().await?;
    let start_seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM events")
        .fetch_one(&mut *conn)
        .await?
        .try_get("m")?;
    let seq_base = start_seq + 1_000_000_000;
    let stream = "audit:bench-ceiling";
    let mut prev = GENESIS;
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for _ in 0..batch.min(n - i) {
            let r = record(i);
            let body = serde_json::to_string(&r)?;
            let ev = EventRecord {
                seq: seq_base + i as i64,
                stream_id: stream.into(),
                version: i as i64 + 1,
                kind: "audit.recorded".into(),
                body,
                actor: "bench".into(),
                at_ms: yiwang_store::now_ms(),
            };
            let hash = yiwang_crypto::sm3(&ev.chain_input(&prev));
            sqlx::query("INSERT INTO events (seq, stream_id, version, kind, body, actor, at_ms, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(ev.seq)
                .bind(&ev.stream_id)
                .bind(ev.version)
                .bind(&ev.kind)
                .bind(&ev.body)
                .bind(&ev.actor)
                .bind(ev.at_ms)
                .bind(hex::encode(prev))
                .bind(hex::encode(hash))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO streams (stream_id, version, hash) VALUES ($1, $2, $3) ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash")
                .bind(stream)
                .bind(ev.version)
                .bind(hex::encode(hash))
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO audit_log (seq, category, action, subject, actor, detail, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(ev.seq)
                .bind(&r.category)
                .bind(&r.action)
                .bind(&r.subject)
                .bind("bench")
                .bind(r.detail.to_string())
                .bind(ev.at_ms)
                .execute(&mut *tx)
                .await?;
            prev = hash;
            i += 1;
        }
        tx.commit().await?;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    // The ceiling rows are not part of the ledger: remove them so the database verifies.
    sqlx::query("DELETE FROM events WHERE seq >= $1")
        .bind(seq_base)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM audit_log WHERE seq >= $1")
        .bind(seq_base)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM streams WHERE stream_id = $1")
        .bind(stream)
        .execute(&mut *conn)
        .await?;
    Ok(rate)
}
