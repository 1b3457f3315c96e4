//! `yiwang bench cases`: case submissions and lifecycles over HTTP against the writer's ceiling.

use super::*;

/// What `yiwang bench cases` runs.
pub struct CaseOptions {
    pub submissions: usize,
    pub lifecycles: usize,
    pub callers: usize,
    pub ceiling_batch: usize,
    /// Cases added by the bulk path after the first measurements, before the submissions
    /// are measured again (0: not at all).
    pub preload: usize,
}

pub(super) async fn ok_json(r: reqwest::Response, what: &str) -> Result<serde_json::Value> {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "{what}: HTTP {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

/// What the case benchmarks work with on a demo province: the 海口 food business item, a
/// window submission of it for the demo enterprise, and the demo agent's session.
pub(super) struct DemoCase {
    pub(super) code: String,
    /// `POST /api/v1/window/cases` body.
    pub(super) body: Arc<serde_json::Value>,
    /// The demo agent's session cookie (`yiwang_session=…`) and its CSRF token.
    pub(super) cookie: String,
    pub(super) csrf: String,
    /// The demo enterprise's id (the agent acts for it).
    pub(super) legal: String,
}

/// Finds the demo item, logs the demo agent in and builds a complete application.
pub(super) async fn demo_case(c: &reqwest::Client, url: &str, token: &str) -> Result<DemoCase> {
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
    let csrf = ok_json(login, "demo login").await?["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mandates = ok_json(
        c.get(format!("{url}/api/v1/me/mandates"))
            .header("cookie", &cookie)
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
    Ok(DemoCase {
        code,
        body,
        cookie,
        csrf,
        legal,
    })
}

/// One whole case: submitted at the window under `key`, accepted, reviewed, granted (the
/// licence signed), delivered and concluded. Returns the case and licence ids.
pub(super) async fn lifecycle(
    c: &reqwest::Client,
    url: &str,
    token: &str,
    body: &serde_json::Value,
    key: &str,
) -> Result<(String, String)> {
    let v = ok_json(
        c.post(format!("{url}/api/v1/window/cases"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await?,
        "submission",
    )
    .await?;
    let id = v["id"].as_str().unwrap_or_default().to_string();
    let mut licence = String::new();
    for a in [
        serde_json::json!({"action": "accept"}),
        serde_json::json!({"action": "complete", "opinion": "同意"}),
        serde_json::json!({"action": "decide", "approve": true, "reason": ""}),
        serde_json::json!({"action": "deliver", "method": "electronic"}),
    ] {
        let v = ok_json(
            c.post(format!("{url}/api/v1/cases/{id}/actions"))
                .bearer_auth(token)
                .json(&a)
                .send()
                .await?,
            "case action",
        )
        .await?;
        if a["action"] == "decide" {
            licence = v["licence_id"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("no licence signed: {v}"))?
                .to_string();
        }
    }
    Ok((id, licence))
}

/// `total` window submissions of `body` from `callers` concurrent clients, each under its
/// own Idempotency-Key starting with `key`: the sorted latencies (ms) and the wall time (s).
pub(super) async fn submit_many(
    c: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Arc<serde_json::Value>,
    callers: usize,
    total: usize,
    key: &str,
) -> Result<(Vec<f64>, f64)> {
    let (c, url, token, body, key) = (
        c.clone(),
        url.to_string(),
        token.to_string(),
        body.clone(),
        key.to_string(),
    );
    load(callers, total, move |k, i| {
        let (c, url, token, body, key) = (c.clone(), url.clone(), token.clone(), body.clone(), key.clone());
        async move {
            ok_json(
                c.post(format!("{url}/api/v1/window/cases"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("{key}-{k}-{i}"))
                    .json(&*body)
                    .send()
                    .await?,
                "submission",
            )
            .await?;
            Ok(())
        }
    })
    .await
}

/// Durable case submissions/s through the HTTP API, full lifecycles/s (submit → accept →
/// review → approve with the licence signed → deliver), both with p50/p99, and in the same
/// run the bare write ceiling of the foundation benchmark on `ceiling_store`. Against a
/// server of the demo province: `url` and its admin `token`.
pub async fn cases(url: &str, token: &str, ceiling_store: &Store, o: &CaseOptions) -> Result<f64> {
    let c = reqwest::Client::builder().pool_max_idle_per_host(o.callers).build()?;
    let DemoCase { body, .. } = demo_case(&c, url, token).await?;
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

    // Statements per submission, counted on a separate load (counting costs time): every
    // statement the writer executes (its batch statements shared out) and every read the
    // request tasks make.
    if super::statements::installed() {
        let n = o.submissions.clamp(100, 1000);
        super::statements::start();
        submit_many(&c, url, token, &body, o.callers, n, &format!("bench-{run_id}-count")).await?;
        let (writer, reads) = super::statements::stop();
        println!(
            "statements:  {:.1} per submission ({:.1} in the writer, batch statements shared out; {:.1} reads on the request task), over {n} submissions",
            (writer + reads) as f64 / n as f64,
            writer as f64 / n as f64,
            reads as f64 / n as f64
        );
    } else {
        println!("statements:  not counted (the server runs in another process)");
    }

    // The ceiling is measured three times (before, between and after the loads) and the
    // median taken: on this shared disk one short burst can be off several-fold.
    let ceiling_n = o.submissions.max(1000);
    let mut ceilings = vec![ceiling(ceiling_store, ceiling_n, o.ceiling_batch).await?];

    // 1. Submissions.
    let submissions = |key: String| {
        let (c, body) = (&c, &body);
        async move { submit_many(c, url, token, body, o.callers, o.submissions, &key).await }
    };
    let (lat, secs) = submissions(format!("bench-{run_id}")).await?;
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
        let (c, url, token, run_id, body) = (
            c.clone(),
            url.to_string(),
            token.to_string(),
            run_id.clone(),
            body.clone(),
        );
        move |k, i| {
            let (c, url, token, body, run_id) = (c.clone(), url.clone(), token.clone(), body.clone(), run_id.clone());
            async move {
                lifecycle(&c, &url, &token, &body, &format!("bench-{run_id}-life-{k}-{i}")).await?;
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
    // 4. The same rows one submission writes, by a tight batched loop (same run).
    let template = format!("bench-{run_id}-0-0");
    let same = same_rows_ceiling(ceiling_store, &template, ceiling_n, o.ceiling_batch).await?;
    println!(
        "same rows:   the rows one submission writes (event, stream head, case, sealed application, timeline entry, signed receipt, notification, idempotency record), copied from a real submission by a tight batched loop ({} per transaction, same durability) = {same:.0} submissions/s",
        o.ceiling_batch
    );
    println!("same-rows ratio {:.3}", submit_rate / same);
    // 5. The submissions again, with `preload` more cases stored.
    if o.preload > 0 {
        let stored = super::preload::preload_and_report(ceiling_store, &template, o.preload).await?;
        let (lat, secs) = submissions(format!("bench-{run_id}-full")).await?;
        let full_rate = lat.len() as f64 / secs;
        println!(
            "submissions at {stored} stored cases: {full_rate:.0}/s (p50 {:.1} ms, p99 {:.1} ms)",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
        println!("full/empty ratio {:.3}", full_rate / submit_rate);
    }
    let ratio = submit_rate / ceiling;
    println!("ratio {ratio:.3}");
    Ok(ratio)
}

/// Inserts `n` copies of the rows the submission made under Idempotency-Key `template`
/// wrote, `batch` per transaction, each copy under new keys (`INSERT … SELECT` from the
/// real rows, the event hashed like the writer hashes it); returns copies/s. The copies
/// are removed afterwards.
async fn same_rows_ceiling(store: &Store, template: &str, n: usize, batch: usize) -> Result<f64> {
    let mut conn = store.read.acquire().await?;
    let (template, case_id) = super::preload::template_case(&mut conn, template).await?;
    let template = template.as_str();
    let (kind, body, actor) = super::preload::first_event(&mut conn, &case_id).await?;
    // The receipt and the notification, by their ids (the copies below read by key only).
    let notice: String = sqlx::query_scalar("SELECT id FROM case_notices WHERE case_id = $1")
        .bind(&case_id)
        .fetch_one(&mut *conn)
        .await?;
    let notification: String = sqlx::query_scalar("SELECT id FROM notifications WHERE recipient = $1 AND case_id = $2")
        .bind(
            sqlx::query_scalar::<_, String>("SELECT applicant FROM cases WHERE id = $1")
                .bind(&case_id)
                .fetch_one(&mut *conn)
                .await?,
        )
        .bind(&case_id)
        .fetch_one(&mut *conn)
        .await?;
    let start_seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    let seq_base = start_seq + 3_000_000_000;
    let tag = format!("bench-same-{}", hex::encode(rand::random::<[u8; 4]>()));
    let copy_case = super::preload::copy_case_sql(&[("id", "$1")], "$2");
    let started = Instant::now();
    let mut i = 0;
    while i < n {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let mut in_tx = 0;
        for _ in 0..batch.min(n - i) {
            let id = format!("{tag}-{i}");
            let ev = EventRecord {
                seq: seq_base + i as i64,
                stream_id: format!("case:{id}"),
                version: 1,
                kind: kind.clone(),
                body: body.clone(),
                actor: actor.clone(),
                at_ms: yiwang_store::now_ms(),
            };
            let hash = yiwang_crypto::sm3(&ev.chain_input(&GENESIS));
            yiwang_store::ledger::insert_event(&mut tx, &ev, &GENESIS, &hash).await?;
            sqlx::query("INSERT INTO streams (stream_id, version, hash) VALUES ($1, $2, $3) ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, hash = excluded.hash")
                .bind(&ev.stream_id)
                .bind(ev.version)
                .bind(hex::encode(hash))
                .execute(&mut *tx)
                .await?;
            for (sql, from) in [
                (copy_case.as_str(), &case_id),
                (
                    "INSERT INTO case_applications (case_id, application_enc, application_sm3)
                 SELECT $1, application_enc, application_sm3 FROM case_applications WHERE case_id = $2",
                    &case_id,
                ),
                (
                    "INSERT INTO case_timeline (case_id, n, event, body, party, actor, at)
                 SELECT $1, n, event, body, party, actor, at FROM case_timeline WHERE case_id = $2 AND n = 1",
                    &case_id,
                ),
                (
                    "INSERT INTO case_notices (id, case_id, kind, body, seal_id, key_id, signature, created_at)
                 SELECT $1, $1, kind, body, seal_id, key_id, signature, created_at FROM case_notices WHERE id = $2",
                    &notice,
                ),
                (
                    "INSERT INTO notifications (id, recipient, case_id, text_zh, text_en, created_at)
                 SELECT $1, recipient, $1, text_zh, text_en, created_at FROM notifications WHERE id = $2",
                    &notification,
                ),
            ] {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&id)
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO idempotency (key, fingerprint, response, created_at)
                 SELECT $1, fingerprint, response, created_at FROM idempotency WHERE key = $2",
            )
            .bind(&id)
            .bind(template)
            .execute(&mut *tx)
            .await?;
            i += 1;
            in_tx += 1;
        }
        // The writer upserts the day's receipts once per batch.
        super::preload::add_receipts(&mut tx, &case_id, in_tx).await?;
        tx.commit().await?;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    super::preload::add_receipts(&mut conn, &case_id, -(n as i64)).await?;
    let like = format!("{tag}-%");
    sqlx::query("DELETE FROM events WHERE seq >= $1")
        .bind(seq_base)
        .execute(&mut *conn)
        .await?;
    for sql in [
        "DELETE FROM streams WHERE stream_id LIKE 'case:' || $1",
        "DELETE FROM cases WHERE id LIKE $1",
        "DELETE FROM case_applications WHERE case_id LIKE $1",
        "DELETE FROM case_timeline WHERE case_id LIKE $1",
        "DELETE FROM case_notices WHERE id LIKE $1",
        "DELETE FROM notifications WHERE id LIKE $1",
        "DELETE FROM idempotency WHERE key LIKE $1",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&like)
            .execute(&mut *conn)
            .await?;
    }
    Ok(rate)
}
