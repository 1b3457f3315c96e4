//! Benchmarks. `yiwang bench federation` (in `federation`): envelopes between two nodes.
//! `yiwang bench reads` (in `reads`): the read paths against `/healthz`.
//! `yiwang bench tickets` (in `tickets`): 12345 intake with repeats against stored tickets.
//! `yiwang bench policies` (in `policies`): 免申即享 rules over generated profiles against
//! bare CEL programs.
//! `yiwang bench search`: our index against SQLite FTS5 and PostgreSQL FTS
//! on the same corpus and query terms (below). `yiwang bench writer`: durable commands/s through the group-committing writer with many
//! concurrent callers, and in the same run the bare ceiling: the same rows (event, stream
//! head, audit projection) inserted by a tight batched loop in transactions of the same
//! durability. Prints both and their ratio (machines here are shared and noisy, so only
//! the ratio is meaningful).

use anyhow::{Context, Result};
use sqlx::Row;
use std::sync::Arc;
use std::time::Instant;
use yiwang_core::audit::AuditRecord;
use yiwang_core::ledger::{EventRecord, GENESIS};
use yiwang_store::{Command, Meta, Store};

mod cases;
mod federation;
mod licences;
mod policies;
mod preload;
mod reads;
mod search;
pub mod statements;
mod tickets;
pub use cases::*;
pub use federation::*;
pub use licences::*;
pub use policies::*;
pub use reads::*;
pub use search::*;
pub use tickets::*;

pub struct Options {
    pub callers: usize,
    pub commands: usize,
    pub ceiling_batch: usize,
}

pub(super) fn record(i: usize) -> AuditRecord {
    AuditRecord {
        category: "bench".into(),
        action: "bench.write".into(),
        subject: format!("subject-{i}"),
        detail: serde_json::json!({ "i": i, "note": "基准测试" }),
    }
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
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
pub(super) async fn ceiling(store: &Store, n: usize, batch: usize) -> Result<f64> {
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
            yiwang_store::ledger::insert_event(&mut tx, &ev, &prev, &hash).await?;
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

/// A valid credit code for the n-th benchmark department.
pub(super) fn bench_uscc(n: usize) -> String {
    let body = format!("11460000{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).expect("digits"))
}

pub(super) fn department(n: usize) -> serde_json::Value {
    serde_json::json!({ "name": format!("基准测试部门{n}"), "uscc": bench_uscc(n), "region_code": "460000", "nature": "statutory_authority" })
}

/// The rows one department creation writes (event, stream head, projection), inserted
/// directly in large transactions.
pub(super) async fn ceiling_departments(store: &Store, n: usize, batch: usize) -> Result<f64> {
    let mut conn = store.read.acquire().await?;
    let start_seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS m FROM events")
        .fetch_one(&mut *conn)
        .await?
        .try_get("m")?;
    let seq_base = start_seq + 2_000_000_000;
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for _ in 0..batch.min(n - i) {
            let id = yiwang_store::new_id();
            let mut d = department(900_000_000 + i);
            d["id"] = serde_json::Value::String(id.clone());
            let ev = EventRecord {
                seq: seq_base + i as i64,
                stream_id: format!("department:{id}"),
                version: 1,
                kind: "department.created".into(),
                body: d.to_string(),
                actor: "bench".into(),
                at_ms: yiwang_store::now_ms(),
            };
            let hash = yiwang_crypto::sm3(&ev.chain_input(&GENESIS));
            yiwang_store::ledger::insert_event(&mut tx, &ev, &GENESIS, &hash).await?;
            sqlx::query("INSERT INTO streams (stream_id, version, hash) VALUES ($1, $2, $3)")
                .bind(&ev.stream_id)
                .bind(1i64)
                .bind(hex::encode(hash))
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO departments (id, name, uscc, region_code, nature, parent_id, phone, address, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, $6, $6)",
            )
            .bind(&id)
            .bind(d["name"].as_str())
            .bind(d["uscc"].as_str())
            .bind("460000")
            .bind("statutory_authority")
            .bind(ev.at_ms)
            .execute(&mut *tx)
            .await?;
            i += 1;
        }
        tx.commit().await?;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    sqlx::query("DELETE FROM events WHERE seq >= $1")
        .bind(seq_base)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM streams WHERE stream_id IN (SELECT 'department:' || id FROM departments WHERE name LIKE '基准测试部门9%')")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM departments WHERE name LIKE '基准测试部门9%'")
        .execute(&mut *conn)
        .await?;
    Ok(rate)
}

/// The whole write path over HTTP: a real server on 127.0.0.1 (started in this process),
/// concurrent clients creating departments with `POST /api/v1/departments` (admin token,
/// Idempotency-Key), against the ceiling for the same rows. Consumes the store: the server
/// closes it when it stops. Returns the ratio.
/// The province 460000 exists (a bench's server serves it).
pub(crate) async fn ensure_province(store: &Store) -> Result<()> {
    if yiwang_store::regions::get(&store.read, "460000").await?.is_none() {
        let r = yiwang_core::regions::NewRegion {
            code: "460000".into(),
            name: "海南省".into(),
            name_en: None,
            parent_code: None,
        };
        store
            .write(
                Meta::actor("bench"),
                Command::Regions(yiwang_store::regions::Cmd::Create(r)),
            )
            .await?;
    }
    Ok(())
}

pub async fn http(store: Arc<Store>, o: &Options) -> Result<f64> {
    ensure_province(&store).await?;
    let n = o.commands;
    let ceiling = ceiling_departments(&store, n, o.ceiling_batch).await?;

    let token = hex::encode(rand::random::<[u8; 16]>());
    let listener = yiwang_server::bind("127.0.0.1:0".parse()?)?;
    let url = format!("http://{}", listener.local_addr()?);
    let state = yiwang_server::AppState::new(
        store,
        Some(token.clone()),
        "460000".into(),
        yiwang_server::metrics_handle(),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(yiwang_server::serve(state, listener, async {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::builder().pool_max_idle_per_host(o.callers).build()?;
    let per_caller = n.div_ceil(o.callers);
    let started = Instant::now();
    let mut tasks = vec![];
    for c in 0..o.callers {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_caller);
            for i in 0..per_caller {
                let k = c * per_caller + i;
                let t = Instant::now();
                let r = client
                    .post(format!("{url}/api/v1/departments"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("bench-{k}"))
                    .json(&department(k))
                    .send()
                    .await?;
                anyhow::ensure!(
                    r.status() == 201,
                    "HTTP {}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
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
    let _ = stop_tx.send(());
    server.await??;
    lat.sort_by(|a, b| a.total_cmp(b));
    let rate = lat.len() as f64 / secs;
    println!(
        "http:    {} durable POST /api/v1/departments from {} concurrent HTTP clients in {secs:.2} s = {rate:.0} creates/s (latency p50 {:.1} ms, p99 {:.1} ms)",
        lat.len(),
        o.callers,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    println!(
        "ceiling: {n} identical department rows (event, stream head, projection) by a tight batched-insert loop = {ceiling:.0} rows/s"
    );
    let ratio = rate / ceiling;
    println!("http ratio {ratio:.3}");
    Ok(ratio)
}

/// Runs `total` calls of `f(caller, i)` from `callers` concurrent tasks; returns the sorted
/// latencies (ms) and the wall time (s).
pub(super) async fn load<F, Fut>(callers: usize, total: usize, f: F) -> Result<(Vec<f64>, f64)>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let per = total.div_ceil(callers);
    let started = Instant::now();
    let mut tasks = vec![];
    for k in 0..callers {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let t = Instant::now();
                f(k, i).await?;
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
    lat.sort_by(|a, b| a.total_cmp(b));
    Ok((lat, secs))
}
