//! `yiwang bench search`: our index against SQLite FTS5 and PostgreSQL FTS.

use super::*;

/// The demo queries (citizens' words) the search benchmark runs.
pub(super) const QUERIES: &str = include_str!("../../demo/search-queries.json");

/// A generated corpus: the demo catalogue's items implemented again by generated county
/// departments across the country (what a national index holds), `n` documents.
pub(super) fn search_corpus(n: usize) -> Result<Vec<yiwang_store::catalog::Service>> {
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

pub(super) fn stats(name: &str, lat: &mut [f64], wall: f64) -> f64 {
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
