//! Benchmarks. `yiwang bench search`: our index against SQLite FTS5 and PostgreSQL FTS
//! on the same corpus and query terms (below). `yiwang bench writer`: durable commands/s through the group-committing writer with many
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
fn bench_uscc(n: usize) -> String {
    let body = format!("11460000{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).expect("digits"))
}

fn department(n: usize) -> serde_json::Value {
    serde_json::json!({ "name": format!("基准测试部门{n}"), "uscc": bench_uscc(n), "region_code": "460000", "nature": "statutory_authority" })
}

/// The rows one department creation writes (event, stream head, projection), inserted
/// directly in large transactions.
async fn ceiling_departments(store: &Store, n: usize, batch: usize) -> Result<f64> {
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
pub async fn http(store: Arc<Store>, o: &Options) -> Result<f64> {
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

// ---------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------

/// The demo queries (citizens' words) the search benchmark runs.
const QUERIES: &str = include_str!("../demo/search-queries.json");

/// A generated corpus: the demo catalogue's items implemented again by generated county
/// departments across the country (what a national index holds), `n` documents.
fn search_corpus(n: usize) -> Result<Vec<yiwang_store::catalog::Service>> {
    use yiwang_core::catalog::{CatalogDoc, overlay};
    let doc: CatalogDoc = serde_json::from_str(crate::demo::CATALOG)?;
    let basics: std::collections::HashMap<&str, _> =
        doc.basic.iter().map(|b| (b.basic_code.as_str(), &b.elements)).collect();
    let items: Vec<(String, String, yiwang_core::catalog::Elements)> = doc
        .items
        .iter()
        .map(|it| {
            let e = overlay(basics[it.basic_code.as_str()], &it.elements, "elements")?;
            let dept = it.department_name.clone().unwrap_or_default();
            Ok((it.basic_code.clone(), dept, e))
        })
        .collect::<Result<_, yiwang_core::DomainError>>()?;
    const PLACES: &[&str] = &[
        "东城", "西城", "朝阳", "海淀", "和平", "河西", "长安", "桥西", "迎泽", "新城", "沈河", "南关", "道里", "黄浦",
        "玄武", "上城", "瑶海", "鼓楼", "东湖", "历下", "金水", "江岸", "芙蓉", "越秀", "青秀", "龙华", "渝中", "锦江",
        "南明", "五华", "城关", "新城", "雁塔", "城中", "兴庆", "天山",
    ];
    Ok((0..n)
        .map(|i| {
            let (basic, dept, e) = &items[i % items.len()];
            let place = PLACES[(i / items.len()) % PLACES.len()];
            let county = 100 + (i / items.len()) % 900;
            let province = 11 + (i / items.len()) % 50;
            let department = dept
                .replace("海口市", &format!("{place}区"))
                .replace("三亚市", &format!("{place}县"))
                .replace("海南省", &format!("{place}市"));
            yiwang_search::service_doc(
                &format!("e{i}"),
                &format!("c{i}"),
                basic,
                &department,
                &format!("{province:02}{county:04}"),
                e.clone(),
            )
        })
        .collect())
}

fn stats(name: &str, lat: &mut [f64], wall: f64) -> f64 {
    lat.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let qps = lat.len() as f64 / wall;
    println!(
        "{name:<26} {:>6} queries  {qps:>9.0} queries/s  p50 {:>7.3} ms  p99 {:>7.3} ms",
        lat.len(),
        percentile(lat, 0.50) * 1e3,
        percentile(lat, 0.99) * 1e3
    );
    qps
}

/// The search benchmark: our index (tantivy + jieba, the portal's own query builder)
/// against SQLite FTS5 and, given a server, PostgreSQL full-text search, on the same
/// corpus and the same query terms (segmented, stop words dropped, synonyms added by our
/// builder, so every engine answers the same question). One query at a time, as a user
/// waits for one; prints queries/s, p50, p99 and the ratios.
pub async fn search(n: usize, rounds: usize, pg_url: Option<&str>) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Q {
        query: String,
    }
    let queries: Vec<Q> = serde_json::from_str(QUERIES)?;
    let corpus = search_corpus(n.max(1))?;
    let ix = yiwang_search::SearchIndex::in_ram(yiwang_search::Synonyms::builtin(), Default::default())?;
    let t = Instant::now();
    for s in &corpus {
        ix.put(&s.entry_id, std::slice::from_ref(s))?;
    }
    ix.commit(1)?;
    println!(
        "corpus: {} items ({} demo items, generated departments); {} queries × {rounds} rounds; index built in {:.1} s",
        corpus.len(),
        corpus.len().min(73),
        queries.len(),
        t.elapsed().as_secs_f64()
    );
    let terms: Vec<Vec<String>> = queries
        .iter()
        .map(|q| ix.terms(&q.query).into_iter().map(|(t, _)| t).collect())
        .collect();
    // Warm up, then measure ours.
    for q in &queries {
        ix.search(&yiwang_search::SearchQuery {
            text: q.query.clone(),
            limit: 10,
            at_ms: 1,
            ..Default::default()
        })?;
    }
    let mut lat = vec![];
    let t = Instant::now();
    for _ in 0..rounds {
        for q in &queries {
            let s = Instant::now();
            ix.search(&yiwang_search::SearchQuery {
                text: q.query.clone(),
                limit: 10,
                at_ms: 1,
                ..Default::default()
            })?;
            lat.push(s.elapsed().as_secs_f64());
        }
    }
    let ours = stats("yiwang (tantivy + jieba)", &mut lat, t.elapsed().as_secs_f64());
    println!("  (ours also counts six facets, the total and highlights; the baselines return the top 10 only)");

    // The same documents, segmented by the same tokenizer, in each baseline.
    let rows: Vec<[String; 6]> = corpus
        .iter()
        .map(|s| {
            let e = &s.elements;
            let mut aliases = e.aliases.clone();
            aliases.extend(e.keywords.iter().cloned());
            let materials: Vec<&str> = e.materials.iter().map(|m| m.name.as_str()).collect();
            let mut body = vec![e.conditions.clone()];
            body.extend(e.themes.iter().cloned());
            body.extend(e.faq.iter().flat_map(|q| [q.q.clone(), q.a.clone()]));
            let seg = |t: &str| ix.tokens(t).join(" ");
            [
                s.code.clone(),
                seg(&e.name),
                seg(&aliases.join("，")),
                seg(&s.department_name),
                seg(&materials.join("，")),
                seg(&body.join("。")),
            ]
        })
        .collect();

    // SQLite FTS5 (bundled with sqlx), in memory, bm25 with the same field weights.
    let sqlite = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await?;
    sqlx::query("CREATE VIRTUAL TABLE docs USING fts5(code UNINDEXED, name, aliases, department, materials, body, tokenize = 'unicode61')")
        .execute(&sqlite)
        .await?;
    let mut tx = sqlite.begin().await?;
    for r in &rows {
        sqlx::query("INSERT INTO docs (code, name, aliases, department, materials, body) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&r[0])
            .bind(&r[1])
            .bind(&r[2])
            .bind(&r[3])
            .bind(&r[4])
            .bind(&r[5])
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let fts_query = |t: &[String]| -> String {
        t.iter()
            .map(|x| format!("\"{}\"", x.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let mut lat = vec![];
    let t = Instant::now();
    for _ in 0..rounds {
        for q in &terms {
            if q.is_empty() {
                continue;
            }
            let s = Instant::now();
            let _: Vec<String> = sqlx::query_scalar(
                "SELECT code FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, 5.0, 4.0, 1.2, 1.0, 0.6) LIMIT 10",
            )
            .bind(fts_query(q))
            .fetch_all(&sqlite)
            .await?;
            lat.push(s.elapsed().as_secs_f64());
        }
    }
    let fts5 = stats("SQLite FTS5 (bm25)", &mut lat, t.elapsed().as_secs_f64());
    sqlite.close().await;
    println!("ratio yiwang/sqlite-fts5 {:.2}", ours / fts5);

    match pg_url {
        None => println!(
            "PostgreSQL baseline skipped: give --pg-url or YIWANG_BENCH_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/test)"
        ),
        Some(url) => {
            let pg = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await?;
            let table = format!("yiwang_bench_docs_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE {table} (code TEXT, tsv tsvector)"
            )))
            .execute(&pg)
            .await?;
            let r = async {
                for chunk in rows.chunks(500) {
                    let mut tx = pg.begin().await?;
                    for r in chunk {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO {table} (code, tsv) VALUES ($1, setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'A') || setweight(to_tsvector('simple', $4), 'C') || setweight(to_tsvector('simple', $5), 'C') || setweight(to_tsvector('simple', $6), 'D'))"
                        )))
                        .bind(&r[0])
                        .bind(&r[1])
                        .bind(&r[2])
                        .bind(&r[3])
                        .bind(&r[4])
                        .bind(&r[5])
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                }
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE INDEX ON {table} USING gin (tsv)")))
                    .execute(&pg)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
                    .execute(&pg)
                    .await?;
                let tsquery = |t: &[String]| -> String {
                    t.iter()
                        .map(|x| {
                            let clean: String = x.chars().filter(|c| !"'\\:&|!()<>*".contains(*c)).collect();
                            format!("'{clean}'")
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                let mut lat = vec![];
                let t = Instant::now();
                for _ in 0..rounds {
                    for q in &terms {
                        if q.is_empty() {
                            continue;
                        }
                        let s = Instant::now();
                        let _: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                            "SELECT code FROM {table}, to_tsquery('simple', $1) q WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC LIMIT 10"
                        )))
                        .bind(tsquery(q))
                        .fetch_all(&pg)
                        .await?;
                        lat.push(s.elapsed().as_secs_f64());
                    }
                }
                Ok::<_, anyhow::Error>(stats("PostgreSQL FTS (ts_rank)", &mut lat, t.elapsed().as_secs_f64()))
            }
            .await;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
                .execute(&pg)
                .await?;
            pg.close().await;
            let pgq = r?;
            println!("ratio yiwang/postgres-fts {:.2}", ours / pgq);
        }
    }
    Ok(())
}

/// Runs `openssl speed` for SM2 and returns (sign/s, verify/s), when openssl is installed.
fn openssl_sm2_speed(seconds: u32) -> Option<(f64, f64)> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "sm2"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("SM2"))?;
    let nums: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    // "256 bits SM2 (CurveSM2)   0.0003s   0.0003s   3090.5   3334.0": the last two.
    (nums.len() >= 2).then(|| (nums[nums.len() - 2], nums[nums.len() - 1]))
}

/// SM2 operations per second of this build over `seconds`.
fn our_sm2_speed(seconds: f64) -> (f64, f64) {
    use yiwang_crypto::Signer;
    let key = yiwang_crypto::SoftKey::generate();
    let msg = [7u8; 512];
    let t = Instant::now();
    let mut n = 0;
    let mut sig = key.sign(&msg);
    while t.elapsed().as_secs_f64() < seconds {
        sig = key.sign(&msg);
        n += 1;
    }
    let sign = n as f64 / t.elapsed().as_secs_f64();
    let pk = key.public_key();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < seconds {
        yiwang_crypto::verify(&pk, &msg, &sig).expect("verifies");
        n += 1;
    }
    (sign, n as f64 / t.elapsed().as_secs_f64())
}

/// `yiwang bench licences`: licences issued (identifier, seal signature, QR signature,
/// sealed data, ledger event, one transaction each) and verified per second, one at a
/// time and with many callers sharing group commits; in the same run SM2 sign/verify of
/// this build and `openssl speed sm2`, with the ratios.
pub async fn licences(n: usize) -> Result<()> {
    use yiwang_core::seals::{Purpose, SealInput};
    use yiwang_store::licences::{self, IssueInput};
    let dir = std::env::temp_dir().join(format!("yiwang-bench-lic-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let cfg = yiwang_store::StoreConfig::new(
        format!("sqlite://{}", dir.join("bench.db").display()),
        &dir,
        yiwang_crypto::Sm4Key::generate(),
    );
    let store = Store::open(cfg).await?;
    let r = async {
        let m = || Meta::actor("bench");
        store
            .write(
                m(),
                Command::Regions(yiwang_store::regions::Cmd::Create(yiwang_core::regions::NewRegion {
                    code: "460000".into(),
                    name: "海南省".into(),
                    name_en: None,
                    parent_code: None,
                })),
            )
            .await?;
        let w = store
            .write(
                m(),
                Command::Orgs(yiwang_store::orgs::Cmd::CreateDepartment(serde_json::from_value(
                    department(1),
                )?)),
            )
            .await?;
        let dept = w.value["id"].as_str().unwrap_or_default().to_string();
        let uscc = bench_uscc(1);
        store
            .write(
                m(),
                Command::Seals(yiwang_store::seals::Cmd::Make(SealInput {
                    department_id: dept.clone(),
                    purpose: Purpose::Approval,
                    name: None,
                    valid_from: None,
                    valid_until: None,
                })),
            )
            .await?;
        let t: yiwang_core::licences::LicenceType = serde_json::from_value(serde_json::json!({
            "code": format!("{uscc}001"), "name": "食品经营许可证", "holder": "legal",
            "validity": {"kind": "years", "value": 5},
            "face": [{"element": "business_address", "required": true}, {"element": "business_scope"}]
        }))?;
        store
            .write(
                m(),
                Command::Licences(Box::new(licences::Cmd::DefineType {
                    department_id: dept.clone(),
                    t: t.clone(),
                })),
            )
            .await?;
        let input = |i: usize| IssueInput {
            type_code: t.code.clone(),
            department_id: dept.clone(),
            holder_name: format!("海口测试企业{i}有限公司"),
            holder_code: {
                let body = format!("91460100MA{i:07}");
                format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).expect("digits"))
            },
            face: [
                ("business_address".to_string(), format!("海口市龙华区滨海大道 {i} 号")),
                ("business_scope".to_string(), "热食类食品制售".to_string()),
            ]
            .into_iter()
            .collect(),
            valid_from: None,
            number: None,
            related_item: None,
            case_id: None,
        };
        // One at a time: each licence its own transaction.
        let half = n.div_ceil(2);
        let t0 = Instant::now();
        let mut ids = vec![];
        for i in 0..half {
            let w = store
                .write(m(), Command::Licences(Box::new(licences::Cmd::Issue(input(i)))))
                .await?;
            ids.push(w.value["id"].as_str().unwrap_or_default().to_string());
        }
        let serial = half as f64 / t0.elapsed().as_secs_f64();
        // Many callers: the writer commits them in groups.
        let t0 = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in half..n {
            let store = store.clone();
            let inp = input(i);
            tasks.spawn(async move {
                store
                    .write(
                        Meta::actor("bench"),
                        Command::Licences(Box::new(licences::Cmd::Issue(inp))),
                    )
                    .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            let w = r??;
            ids.push(w.value["id"].as_str().unwrap_or_default().to_string());
        }
        let concurrent = (n - half).max(1) as f64 / t0.elapsed().as_secs_f64();
        // Verification by identifier: decrypt, signature, seal certification, status.
        let t0 = Instant::now();
        for id in &ids {
            let (_, v) = licences::verify_id(&store, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("licence {id} missing"))?;
            anyhow::ensure!(v.valid, "licence {id} does not verify: {:?}", v.reason);
        }
        let verify_online = ids.len() as f64 / t0.elapsed().as_secs_f64();
        // Offline verification of QR payloads against the trust list (no database).
        let keys = yiwang_store::seals::trusted_keys(&store).await?;
        let mut payloads = vec![];
        for id in &ids {
            payloads.push(
                licences::summary(&store, id)
                    .await?
                    .map(|s| s.qr_payload)
                    .unwrap_or_default(),
            );
        }
        let today = yiwang_store::today();
        let ok = |pk: &[u8], m: &[u8], s: &[u8]| yiwang_crypto::verify(pk, m, s).is_ok();
        let t0 = Instant::now();
        for p in &payloads {
            let (_, v) =
                yiwang_core::licences::verify_qr(p, &|k| keys.iter().find(|x| x.key_id == k).cloned(), &ok, today);
            anyhow::ensure!(v.valid, "a QR payload does not verify: {:?}", v.reason);
        }
        let verify_qr = payloads.len() as f64 / t0.elapsed().as_secs_f64();
        let (our_sign, our_verify) = our_sm2_speed(1.0);
        println!(
            "licences: {n} issued ({half} one at a time, {} by concurrent callers), SQLite",
            n - half
        );
        println!("  issue + sign, one at a time      {serial:>9.0} licences/s");
        println!("  issue + sign, concurrent callers {concurrent:>9.0} licences/s");
        println!("  verify by identifier (online)    {verify_online:>9.0} verifications/s");
        println!("  verify QR payload (offline)      {verify_qr:>9.0} verifications/s");
        println!("  SM2 sign, this build             {our_sign:>9.0} /s");
        println!("  SM2 verify, this build           {our_verify:>9.0} /s");
        match openssl_sm2_speed(1) {
            Some((os_sign, os_verify)) => {
                println!("  SM2 sign, openssl speed          {os_sign:>9.0} /s");
                println!("  SM2 verify, openssl speed        {os_verify:>9.0} /s");
                println!("ratios against openssl (same run):");
                println!("  issuing (concurrent) / openssl sign   {:.3}", concurrent / os_sign);
                println!(
                    "  online verification / openssl verify  {:.3}",
                    verify_online / os_verify
                );
                println!(
                    "  offline QR verification / openssl verify {:.3}",
                    verify_qr / os_verify
                );
                println!("  our SM2 sign / openssl sign           {:.3}", our_sign / os_sign);
                println!("  our SM2 verify / openssl verify       {:.3}", our_verify / os_verify);
            }
            None => println!("openssl not found: install it for the baseline (ratios against this build's SM2 only)"),
        }
        println!("ratios against this build's SM2 (same run):");
        println!(
            "  issuing (concurrent) / SM2 sign       {:.3}  (each licence signs twice: data and QR)",
            concurrent / our_sign
        );
        println!(
            "  online verification / SM2 verify      {:.3}  (signature and seal certification)",
            verify_online / our_verify
        );
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    r
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

/// What `yiwang bench cases` runs.
pub struct CaseOptions {
    pub submissions: usize,
    pub lifecycles: usize,
    pub callers: usize,
    pub ceiling_batch: usize,
}

async fn ok_json(r: reqwest::Response, what: &str) -> Result<serde_json::Value> {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "{what}: HTTP {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

/// Durable case submissions/s through the HTTP API, full lifecycles/s (submit → accept →
/// review → approve with the licence signed → deliver), both with p50/p99, and in the same
/// run the bare write ceiling of the foundation benchmark on `ceiling_store`. Against a
/// server of the demo province: `url` and its admin `token`.
pub async fn cases(url: &str, token: &str, ceiling_store: &Store, o: &CaseOptions) -> Result<f64> {
    let c = reqwest::Client::builder().pool_max_idle_per_host(o.callers).build()?;
    // The 海口 food business item, its dictionary, and the demo enterprise as applicant.
    let hits = ok_json(
        c.get(format!("{url}/api/v1/services"))
            .query(&[("q", "食品经营许可"), ("region", "460100")])
            .send()
            .await?,
        "search",
    )
    .await?;
    let code = hits["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["name"] == "食品经营许可" && h["department"] == "海口市市场监督管理局")
        .and_then(|h| h["code"].as_str())
        .ok_or_else(|| anyhow::anyhow!("{url} has no demo 食品经营许可 item of 海口 (run it with serve --demo)"))?
        .to_string();
    let guide = ok_json(c.get(format!("{url}/api/v1/services/{code}")).send().await?, "guide").await?;
    let elements: yiwang_core::catalog::Elements = serde_json::from_value(guide["elements"].clone())?;
    let dict: Vec<yiwang_core::catalog::DataElement> = serde_json::from_value(
        ok_json(
            c.get(format!("{url}/api/v1/catalog/data-elements")).send().await?,
            "dictionary",
        )
        .await?,
    )?;
    let login = c
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({ "login": "13800138000", "password": crate::demo::DEMO_PASSWORD }))
        .send()
        .await?;
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("yiwang_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string();
    ok_json(login, "demo login").await?;
    let mandates = ok_json(
        c.get(format!("{url}/api/v1/me/mandates"))
            .header("cookie", cookie)
            .send()
            .await?,
        "mandates",
    )
    .await?;
    let legal = mandates["received"][0]["principal"]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the demo enterprise is missing"))?
        .to_string();
    // One scan, uploaded as a window would, named by every material.
    let scan = ok_json(
        c.post(format!("{url}/api/v1/files"))
            .query(&[("name", "bench-scan.pdf")])
            .bearer_auth(token)
            .body(b"%PDF-1.4\n% yiwang bench scan\ntrailer<<>>\n%%EOF\n".to_vec())
            .send()
            .await?,
        "upload",
    )
    .await?;
    let app = yiwang_core::cases::sample_application(
        &elements,
        &|k| dict.iter().find(|d| d.code == k).cloned(),
        scan["sm3"].as_str().unwrap_or_default(),
    );
    let body =
        Arc::new(serde_json::json!({ "item_code": code, "applicant": format!("legal:{legal}"), "application": app }));
    let run_id = hex::encode(rand::random::<[u8; 4]>());

    // Warm-up.
    for i in 0..o.callers.min(20) {
        ok_json(
            c.post(format!("{url}/api/v1/window/cases"))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("bench-{run_id}-warm-{i}"))
                .json(&*body)
                .send()
                .await?,
            "warm-up submission",
        )
        .await?;
    }

    // The ceiling is measured three times (before, between and after the loads) and the
    // median taken: on this shared disk one short burst can be off several-fold.
    let ceiling_n = o.submissions.max(1000);
    let mut ceilings = vec![ceiling(ceiling_store, ceiling_n, o.ceiling_batch).await?];

    // 1. Submissions.
    let submit_body = body.clone();
    let (lat, secs) = load(o.callers, o.submissions, {
        let (c, url, token, run_id) = (c.clone(), url.to_string(), token.to_string(), run_id.clone());
        move |k, i| {
            let (c, url, token, body, run_id) = (
                c.clone(),
                url.clone(),
                token.clone(),
                submit_body.clone(),
                run_id.clone(),
            );
            async move {
                ok_json(
                    c.post(format!("{url}/api/v1/window/cases"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("bench-{run_id}-{k}-{i}"))
                        .json(&*body)
                        .send()
                        .await?,
                    "submission",
                )
                .await?;
                Ok(())
            }
        }
    })
    .await?;
    let submit_rate = lat.len() as f64 / secs;
    println!(
        "submissions: {} durable POST /api/v1/window/cases (pre-check, case number, sealed receipt) from {} clients in {secs:.2} s = {submit_rate:.0}/s (p50 {:.1} ms, p99 {:.1} ms)",
        lat.len(),
        o.callers,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );

    ceilings.push(ceiling(ceiling_store, ceiling_n, o.ceiling_batch).await?);

    // 2. Whole lifecycles.
    let (lat, secs) = load(o.callers, o.lifecycles, {
        let (c, url, token, run_id) = (c.clone(), url.to_string(), token.to_string(), run_id.clone());
        move |k, i| {
            let (c, url, token, body, run_id) = (c.clone(), url.clone(), token.clone(), body.clone(), run_id.clone());
            async move {
                let v = ok_json(
                    c.post(format!("{url}/api/v1/window/cases"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("bench-{run_id}-life-{k}-{i}"))
                        .json(&*body)
                        .send()
                        .await?,
                    "submission",
                )
                .await?;
                let id = v["id"].as_str().unwrap_or_default().to_string();
                for a in [
                    serde_json::json!({"action": "accept"}),
                    serde_json::json!({"action": "complete", "opinion": "同意"}),
                    serde_json::json!({"action": "decide", "approve": true, "reason": ""}),
                    serde_json::json!({"action": "deliver", "method": "electronic"}),
                ] {
                    let v = ok_json(
                        c.post(format!("{url}/api/v1/cases/{id}/actions"))
                            .bearer_auth(&token)
                            .json(&a)
                            .send()
                            .await?,
                        "case action",
                    )
                    .await?;
                    if a["action"] == "decide" {
                        anyhow::ensure!(v["licence_id"].is_string(), "no licence signed: {v}");
                    }
                }
                Ok(())
            }
        }
    })
    .await?;
    let life_rate = lat.len() as f64 / secs;
    println!(
        "lifecycles:  {} cases submitted, accepted, reviewed, granted (licence signed), delivered and concluded by {} clients in {secs:.2} s = {life_rate:.1}/s (p50 {:.1} ms, p99 {:.1} ms per case)",
        lat.len(),
        o.callers,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );

    // 3. The foundation's bare write ceiling, same run.
    ceilings.push(ceiling(ceiling_store, ceiling_n, o.ceiling_batch).await?);
    let mut sorted = ceilings.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let ceiling = sorted[1];
    println!(
        "ceiling:     bare batched inserts of ledger rows (event, stream head, projection) = {ceiling:.0} rows/s (median of {:.0} before, {:.0} between, {:.0} after the loads)",
        ceilings[0], ceilings[1], ceilings[2]
    );
    let ratio = submit_rate / ceiling;
    println!("ratio {ratio:.3}");
    Ok(ratio)
}

/// Runs `total` calls of `f(caller, i)` from `callers` concurrent tasks; returns the sorted
/// latencies (ms) and the wall time (s).
async fn load<F, Fut>(callers: usize, total: usize, f: F) -> Result<(Vec<f64>, f64)>
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
