//! `--preload N` of `bench cases` and `bench reads`: a store filled with N cases fast, so
//! that the benches run against a province's volume (the bulk path is for this only).
//!
//! Each preloaded case is a copy of one real window submission: its own case number from
//! the case-serial blocks, its application sealed again under that number (SM4, so the
//! case reads like any other), its `case.submitted` event in the ledger (chained from the
//! stream's genesis and numbered under the ledger head's lock, as the writer does, so the
//! ledger still verifies and the writer carries on after them), its stream head and its
//! timeline entry. The receipt, the notification and the idempotency record are not copied.

use super::*;
use yiwang_store::numbers::{self, Counter};

/// Copies per transaction (the ledger head's lock is held for one transaction).
const BATCH: usize = 2000;

/// The statement that inserts a copy of the case whose id is bound last, with `set`
/// (column, expression) in place of the copied values; the columns are the writer's own
/// (`cases::NEW_CASE_COLUMNS`).
pub(super) fn copy_case_sql(set: &[(&str, &str)], from: &str) -> String {
    let cols = yiwang_store::cases::NEW_CASE_COLUMNS;
    let values: Vec<&str> = cols
        .split(',')
        .map(str::trim)
        .map(|c| set.iter().find(|(name, _)| *name == c).map_or(c, |(_, v)| v))
        .collect();
    format!(
        "INSERT INTO cases ({cols}) SELECT {} FROM cases WHERE id = {from}",
        values.join(", ")
    )
}

/// The case the submission made under Idempotency-Key `template` created: the key as
/// stored (under its caller's name, `account:…:<key>`) and the case's id.
pub(super) async fn template_case(conn: &mut sqlx::AnyConnection, template: &str) -> Result<(String, String)> {
    let (key, response): (String, String) = sqlx::query_as("SELECT key, response FROM idempotency WHERE key LIKE $1")
        .bind(format!("%:{template}"))
        .fetch_optional(&mut *conn)
        .await?
        .with_context(|| {
            format!(
                "the submission made under Idempotency-Key {template} is not in this database: with --url, \
                 give the server's own --database-url (or --data-dir)"
            )
        })?;
    let id = serde_json::from_str::<serde_json::Value>(&response)?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(id.len() > 20, "the template submission has no case number");
    Ok((key, id))
}

/// A case's first event (`case.submitted`): kind, body and actor.
pub(super) async fn first_event(conn: &mut sqlx::AnyConnection, case_id: &str) -> Result<(String, String, String)> {
    Ok(
        sqlx::query_as("SELECT kind, body, actor FROM events WHERE stream_id = $1 AND version = 1")
            .bind(format!("case:{case_id}"))
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// [`preload`], then a line saying how fast and how many cases are now stored (returned).
pub(super) async fn preload_and_report(store: &Store, template: &str, n: usize) -> Result<i64> {
    let rate = preload(store, template, n).await?;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cases")
        .fetch_one(&store.read)
        .await?;
    println!(
        "preload:     {n} cases copied from a real submission by the bulk path = {rate:.0} cases/s ({stored} cases stored)"
    );
    Ok(stored)
}

/// Adds `n` copies of the case that the submission made under Idempotency-Key `template`
/// (the caller's key, as stored with its caller) created. Returns copies/s.
pub(super) async fn preload(store: &Store, template: &str, n: usize) -> Result<f64> {
    let mut conn = store.read.acquire().await?;
    let (_, from) = template_case(&mut conn, template).await?;
    let (kind, body, actor) = first_event(&mut conn, &from).await?;
    let enc: String = sqlx::query_scalar("SELECT application_enc FROM case_applications WHERE case_id = $1")
        .bind(&from)
        .fetch_one(&mut *conn)
        .await?;
    let plain = store.pii.open_bytes(&format!("cases.application:{from}"), &enc)?;
    // The case number's prefix: region and date of receipt (as the submission numbered it).
    let prefix = from[..20].to_string();
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let k = BATCH.min(n - done);
        // Numbers first (from the process's blocks, through the writer), then the rows.
        let mut ids = Vec::with_capacity(k);
        for _ in 0..k {
            let serial = numbers::next(store, Counter::CaseSerial { prefix: prefix.clone() }).await?;
            ids.push(format!("{prefix}{serial:06}"));
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        // The ledger head's row lock, as the writer takes it, then the next sequence numbers.
        sqlx::query("UPDATE ledger_head SET touched_at = $1 WHERE id = 1")
            .bind(yiwang_store::now_ms())
            .execute(&mut *tx)
            .await?;
        let head: i64 = sqlx::query_scalar("SELECT seq FROM ledger_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        for (j, id) in ids.iter().enumerate() {
            let ev = EventRecord {
                seq: head + 1 + j as i64,
                stream_id: format!("case:{id}"),
                version: 1,
                kind: kind.clone(),
                body: body.replace(&from, id),
                actor: actor.clone(),
                at_ms: yiwang_store::now_ms(),
            };
            let hash = yiwang_crypto::sm3(&ev.chain_input(&GENESIS));
            yiwang_store::ledger::insert_event(&mut tx, &ev, &GENESIS, &hash).await?;
            sqlx::query("INSERT INTO streams (stream_id, version, hash) VALUES ($1, 1, $2)")
                .bind(&ev.stream_id)
                .bind(hex::encode(hash))
                .execute(&mut *tx)
                .await?;
            let sealed = store.pii.seal_bytes(&format!("cases.application:{id}"), &plain);
            sqlx::query(sqlx::AssertSqlSafe(copy_case_sql(
                &[("id", "$1"), ("updated_at", "$2")],
                "$3",
            )))
            .bind(id)
            .bind(ev.at_ms)
            .bind(&from)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO case_applications (case_id, application_enc, application_sm3)
                 SELECT $1, $2, application_sm3 FROM case_applications WHERE case_id = $3",
            )
            .bind(id)
            .bind(&sealed)
            .bind(&from)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO case_timeline (case_id, n, event, body, party, actor, at)
                 SELECT $1, n, event, body, party, actor, at FROM case_timeline WHERE case_id = $2 AND n = 1",
            )
            .bind(id)
            .bind(&from)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE ledger_head SET seq = $1 WHERE id = 1")
            .bind(head + k as i64)
            .execute(&mut *tx)
            .await?;
        // Counted among the item's receipts of that day, as the writer counts a submission.
        add_receipts(&mut tx, &from, k as i64).await?;
        tx.commit().await?;
        done += k;
    }
    // The planner's statistics brought up to date, as after any bulk load (PostgreSQL's
    // autovacuum would only get to it later, and until then plans for the few cases it
    // last counted: an index walk becomes a sort of every case of the applicant).
    sqlx::query("ANALYZE").execute(&mut *conn).await?;
    // The copies signed over by one checkpoint, as after a bulk migration (`yiwang ledger
    // checkpoint`), so the next batch of the writer does not sign a thousand of them.
    store
        .write(
            yiwang_store::Meta::actor("system:bench"),
            yiwang_store::Command::Checkpoint,
        )
        .await?;
    // The load settled before anything is measured on it, as a node is long after a bulk
    // migration: SQLite's log copied into the database and the kernel's dirty pages written
    // (a million copies leave gigabytes of write-back that would share the disk with the
    // next measurement).
    if store.engine == yiwang_store::Engine::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await?;
    }
    // SAFETY: sync(2) takes no arguments and cannot fail.
    tokio::task::spawn_blocking(|| unsafe { libc::sync() }).await?;
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// Adds `k` to the receipts of the day and item of case `from` (`item_receipts`, the row
/// the writer's batch upserts for a submission); a negative `k` takes them away again.
pub(super) async fn add_receipts(conn: &mut sqlx::AnyConnection, from: &str, k: i64) -> Result<()> {
    sqlx::query(
        "UPDATE item_receipts SET received = received + $1
         WHERE day = (SELECT received_on FROM cases WHERE id = $2)
           AND item_code = (SELECT item_code FROM cases WHERE id = $2)",
    )
    .bind(k)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
