//! The catalogue end to end, on SQLite and PostgreSQL: real `yiwang serve --demo`
//! processes and the CLI. Search and guides from the published catalogue; the version
//! workflow over the API with four eyes; the search index following a publication through
//! the outbox; bad input refused with the field named and nothing written; import and
//! export (JSON, xlsx, CSV) including a malformed spreadsheet; `catalog search`, `export`,
//! `import` and `reindex` on the command line.

mod common;

use common::{Server, TOKEN, cli, client, ledger_head};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use yiwang_store::testing::TestDb;

/// 食品经营许可 of 海口市市场监督管理局 in the demo catalogue.
const FOOD_LICENCE: &str = "11460100000000113L3460100001000";

async fn get(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn first_rule(v: &Value) -> (String, String) {
    let e = &v["errors"][0];
    (
        e["field"].as_str().unwrap_or("").to_string(),
        e["rule"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_guides_workflow_and_import_over_http() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let c = client();

        // Citizens' words find the right items; the guide comes from the same catalogue.
        let (st, r) = get(&c, &format!("{u}/api/v1/services?q=生孩子要办什么&limit=5")).await;
        assert_eq!(st, 200);
        let names: Vec<&str> = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"出生登记") && names.contains(&"出生医学证明签发"),
            "{names:?}"
        );
        let (st, g) = get(&c, &format!("{u}/api/v1/services/{FOOD_LICENCE}")).await;
        assert_eq!(st, 200);
        assert_eq!(g["elements"]["name"], "食品经营许可");
        assert_eq!(g["department"]["name"], "海口市市场监督管理局");
        let questions = g["elements"]["questions"].as_array().unwrap().clone();
        assert!(!questions.is_empty() && questions.len() <= 3);
        // Answering every question leaves nothing depending on an unanswered one.
        let answers: Vec<String> = questions
            .iter()
            .map(|q| {
                format!(
                    "{}={}",
                    q["key"].as_str().unwrap(),
                    q["choices"][0]["key"].as_str().unwrap()
                )
            })
            .collect();
        let (st, m) = get(
            &c,
            &format!("{u}/api/v1/services/{FOOD_LICENCE}/materials?{}", answers.join("&")),
        )
        .await;
        assert_eq!(st, 200);
        assert!(m["depends"].as_array().unwrap().is_empty() && !m["needed"].as_array().unwrap().is_empty());

        // Bad input names the field.
        for (url, status, field) in [
            (format!("{u}/api/v1/services?limit=0"), 400, "limit"),
            (format!("{u}/api/v1/services?audience=aliens"), 400, "audience"),
            (format!("{u}/api/v1/services?region=4601"), 400, "region"),
            (format!("{u}/api/v1/services?colour=red"), 400, "colour"),
            (format!("{u}/api/v1/catalog/lists/everything"), 404, "kind"),
            (format!("{u}/api/v1/catalog/lists/tongban?scope=galaxy"), 400, "scope"),
            (
                format!("{u}/api/v1/services/{FOOD_LICENCE}/materials?agent=perhaps&colour=red"),
                422,
                "answers.colour",
            ),
        ] {
            let (st, v) = get(&c, &url).await;
            assert_eq!(st, status, "{url}: {v}");
            let fields: Vec<&str> = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&field), "{url}: {v}");
        }
        assert_eq!(
            get(&c, &format!("{u}/api/v1/services/114601000000001130000000000000"))
                .await
                .0,
            404
        );
        let csv = c
            .get(format!("{u}/api/v1/catalog/lists/licensing?format=csv"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            csv.trim_start_matches('\u{feff}').starts_with("实施编码,事项名称"),
            "{csv}"
        );
        assert!(csv.contains("食品经营许可"));

        // The workflow over the API: the admin token edits, a second actor (an API token
        // the admin issues) reviews: four eyes between two actors.
        let admin = |rb: reqwest::RequestBuilder| rb.bearer_auth(TOKEN);
        let (_, entries) = {
            let r = admin(c.get(format!("{u}/api/v1/catalog/entries?q=食品经营许可")))
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        };
        let entry = entries
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["code"] == FOOD_LICENCE)
            .unwrap()
            .clone();
        let id = entry["id"].as_str().unwrap().to_string();
        let v: Value = admin(c.get(format!("{u}/api/v1/catalog/entries/{id}/versions/1")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut elements = v["elements"].clone();
        // A locked element changed below the basic entry: refused, nothing written.
        let before = ledger_head(&c, &u).await;
        let mut renamed = elements.clone();
        renamed["name"] = json!("开饭店许可");
        let r = admin(c.put(format!("{u}/api/v1/catalog/entries/{id}/draft")))
            .json(&json!({ "elements": renamed }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            first_rule(&r.json().await.unwrap()),
            ("name".into(), "catalog.locked_element".into())
        );
        // Promised above statutory: refused, nothing written.
        let mut slow = elements.clone();
        slow["promised_limit"] = json!({ "value": 30, "unit": "working_days" });
        let r = admin(c.put(format!("{u}/api/v1/catalog/entries/{id}/draft")))
            .json(&json!({ "elements": slow }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            first_rule(&r.json().await.unwrap()),
            ("promised_limit".into(), "catalog.promised_exceeds_statutory".into())
        );
        assert_eq!(ledger_head(&c, &u).await, before, "refused edits wrote nothing");
        elements["promised_limit"] = json!({ "value": 6, "unit": "working_days" });
        elements["aliases"]
            .as_array_mut()
            .unwrap()
            .push(json!("开饭店办证测试"));
        let r = admin(c.put(format!("{u}/api/v1/catalog/entries/{id}/draft")))
            .json(&json!({ "elements": elements, "base_version": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = admin(c.post(format!("{u}/api/v1/catalog/entries/{id}/submit")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = admin(c.post(format!("{u}/api/v1/catalog/entries/{id}/publish")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 409);
        assert_eq!(first_rule(&r.json().await.unwrap()).1, "catalog.four_eyes");
        let reviewer: Value = admin(c.post(format!("{u}/api/v1/tokens")))
            .json(
                &json!({ "name": "catalogue review desk", "permissions": ["catalog_review"], "region_code": "460000" }),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let reviewer = reviewer["token"].as_str().unwrap().to_string();
        let (st, d) = {
            let r = c
                .get(format!("{u}/api/v1/catalog/entries/{id}/diff?from=1&to=2"))
                .bearer_auth(&reviewer)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        };
        assert_eq!(st, 200);
        let paths: Vec<&str> = d
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["path"].as_str().unwrap())
            .collect();
        assert!(paths.contains(&"promised_limit.value"), "{paths:?}");
        let published_at = Instant::now();
        let r = c
            .post(format!("{u}/api/v1/catalog/entries/{id}/publish"))
            .bearer_auth(&reviewer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // The guide shows version 2 at once; the index follows through the outbox.
        let (_, g) = get(&c, &format!("{u}/api/v1/services/{FOOD_LICENCE}")).await;
        assert_eq!(
            (g["version"].as_i64(), g["elements"]["promised_limit"]["value"].as_i64()),
            (Some(2), Some(6))
        );
        let found = loop {
            let (_, r) = get(&c, &format!("{u}/api/v1/services?q=开饭店办证测试&limit=3")).await;
            if r["hits"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["code"] == FOOD_LICENCE))
            {
                break published_at.elapsed();
            }
            assert!(
                published_at.elapsed() < Duration::from_secs(30),
                "the index never followed the publication"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        eprintln!(
            "{}: search found the publication after {} ms",
            db.engine.name(),
            found.as_millis()
        );

        // Import: a bad document is refused as a whole with every problem placed.
        let before = ledger_head(&c, &u).await;
        let bad = json!({
            "format": "yiwang-catalog", "version": 1,
            "items": [
                { "basic_code": "460100001000", "department_name": "海口市市场监督管理局",
                  "elements": { "promised_limit": { "value": 99, "unit": "working_days" } } },
                { "basic_code": "460100001000", "department_name": "不存在的局" },
                { "basic_code": "469999999000", "department_name": "三亚市市场监督管理局" }
            ]
        });
        let r = admin(c.post(format!("{u}/api/v1/catalog/import")))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let rep: Value = r.json().await.unwrap();
        let paths: Vec<&str> = rep["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "items[0].elements.promised_limit",
                "items[1].department_name",
                "items[2].basic_code"
            ],
            "{rep}"
        );
        assert_eq!(ledger_head(&c, &u).await, before, "nothing imported");
        // Export → import (dry run) finds everything unchanged, for each format.
        for format in ["json", "xlsx", "csv"] {
            let bytes = admin(c.get(format!("{u}/api/v1/catalog/export?format={format}")))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let r = admin(c.post(format!("{u}/api/v1/catalog/import?dry_run=true&format={format}")))
                .header("content-type", "application/octet-stream")
                .body(bytes)
                .send()
                .await
                .unwrap();
            let rep: Value = r.json().await.unwrap();
            assert_eq!(rep["ok"], true, "{format}: {rep}");
            assert_eq!(
                (rep["created"].as_i64(), rep["changed"].as_i64()),
                (Some(0), Some(0)),
                "{format}: {rep}"
            );
            assert!(rep["unchanged"].as_i64().unwrap() >= 125, "{format}: {rep}");
        }
        assert_eq!(ledger_head(&c, &u).await, before, "dry runs wrote nothing");
        drop(srv);
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_on_the_command_line() {
    for db in TestDb::both().await {
        let (code, out, err) = cli(&db, &["demo"]);
        assert_eq!(code, 0, "{out}{err}");
        // Search builds the index on first use, then answers like the portal.
        let (code, out, err) = cli(&db, &["catalog", "search", "开饭店需要哪些证", "--limit", "3"]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(!lines.is_empty() && lines.len() <= 3, "{out}");
        for l in &lines {
            let (code, name) = l.split_once('\t').expect("code TAB name");
            assert_eq!(code.len(), 31, "{l}");
            assert!(!name.is_empty());
        }
        assert!(lines.iter().any(|l| l.ends_with("\t食品经营许可")), "{out}");
        let (code, out, err) = cli(&db, &["reindex"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("search index rebuilt: 73 published items"), "{out}");
        // Export and re-import: nothing changes.
        let xlsx = db.dir.join("catalog.xlsx");
        let (code, out, err) = cli(&db, &["catalog", "export", xlsx.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("52 basic entries and 73 items"), "{out}");
        let (code, out, err) = cli(&db, &["catalog", "import", xlsx.to_str().unwrap(), "--submit"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("0 created, 0 changed, 125 unchanged"), "{out}");
        // A malformed CSV sheet: refused with sheet, row and column, exit 1.
        let bad = db.dir.join("bad.csv");
        std::fs::write(
            &bad,
            "编号,类别,基本编码,事项名称,事项类型,承诺办结时限\nx1,实施清单,460100001000,,,五天\n",
        )
        .unwrap();
        let (code, _, err) = cli(&db, &["catalog", "import", bad.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("工作表「事项」第 2 行「承诺办结时限」列"), "{err}");
        let (code, out, _) = cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 0, "{out}");
        db.cleanup().await;
    }
}
