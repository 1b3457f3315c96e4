//! The HTTP API against a real server on both engines: bad input never gets a 5xx or a
//! partial write, every problem names its field, retries are idempotent, and the shell
//! (health, readiness, metrics, OpenAPI, security headers, pages) works.

mod common;
use common::{Server, TOKEN, client, ledger_head, uscc};
use serde_json::{Value, json};
use yiwang_store::testing::TestDb;

/// Sends a raw request; returns (status, content-type, body as JSON or Null).
async fn send(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<(&str, Vec<u8>)>,
    auth: bool,
) -> (u16, String, Value) {
    let mut rq = c.request(method, url);
    if auth {
        rq = rq.bearer_auth(TOKEN);
    }
    if let Some((ct, b)) = body {
        rq = rq.header("content-type", ct).body(b);
    }
    let r = rq.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    (status, ct, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// (method, path, content type and body, with admin token, expected status, expected field).
type Case = (
    &'static str,
    &'static str,
    Option<(&'static str, Vec<u8>)>,
    bool,
    u16,
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_the_field_named_and_nothing_written() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let c = client();
        let u = &srv.url;
        let before = ledger_head(&c, u).await;
        let j = "application/json";
        let cases: Vec<Case> = vec![
            (
                "POST",
                "/api/v1/regions",
                Some((j, r#"{"code": "4601"#.as_bytes().to_vec())),
                true,
                400,
                "(body)",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((
                    j,
                    r#"{"code":"460109","name":"x","parent_code":"460100","colour":"red"}"#
                        .as_bytes()
                        .to_vec(),
                )),
                true,
                400,
                "colour",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((j, r#"{"code":460109,"name":"x"}"#.as_bytes().to_vec())),
                true,
                400,
                "code",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((j, r#"{"name":"x"}"#.as_bytes().to_vec())),
                true,
                400,
                "code",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((
                    j,
                    r#"{"code":"46010","name":"x","parent_code":"460100"}"#.as_bytes().to_vec(),
                )),
                true,
                422,
                "code",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((
                    j,
                    r#"{"code":"350105","name":"x","parent_code":"460100"}"#.as_bytes().to_vec(),
                )),
                true,
                422,
                "parent_code",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((
                    j,
                    r#"{"code":"460105","name":"秀英区","parent_code":"460100"}"#.as_bytes().to_vec(),
                )),
                true,
                409,
                "code",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some(("text/plain", b"hello".to_vec())),
                true,
                415,
                "Content-Type",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((
                    j,
                    format!(r#"{{"code":"460109","name":"{}"}}"#, "长".repeat(600_000)).into_bytes(),
                )),
                true,
                413,
                "(body)",
            ),
            (
                "POST",
                "/api/v1/regions",
                Some((
                    j,
                    r#"{"code":"460109","name":"x","parent_code":"460100"}"#.as_bytes().to_vec(),
                )),
                false,
                401,
                "",
            ),
            (
                "POST",
                "/api/v1/departments",
                Some((
                    j,
                    r#"{"name":"x","uscc":"11450000007565194J","region_code":"460100","nature":"statutory_authority"}"#
                        .as_bytes()
                        .to_vec(),
                )),
                true,
                422,
                "uscc",
            ),
            (
                "POST",
                "/api/v1/departments",
                Some((
                    j,
                    r#"{"name":"x","uscc":"11450000007565194H","region_code":"460100","nature":"king"}"#
                        .as_bytes()
                        .to_vec(),
                )),
                true,
                400,
                "nature",
            ),
            (
                "POST",
                "/api/v1/departments",
                Some((
                    j,
                    r#"{"name":"x","uscc":"11450000007565194H","region_code":"469999","nature":"statutory_authority"}"#
                        .as_bytes()
                        .to_vec(),
                )),
                true,
                404,
                "region_code",
            ),
            (
                "POST",
                "/api/v1/halls/nope/windows",
                Some((
                    j,
                    r#"{"number":"A01","name":"x","kind":"comprehensive"}"#.as_bytes().to_vec(),
                )),
                true,
                404,
                "hall_id",
            ),
            (
                "PUT",
                "/api/v1/calendar/years/2027",
                Some((
                    j,
                    r#"{"days":[{"date":"2031-01-01","off_day":true,"name":"元旦"}]}"#
                        .as_bytes()
                        .to_vec(),
                )),
                true,
                422,
                "days[0].date",
            ),
            (
                "PUT",
                "/api/v1/calendar/years/2027",
                Some((
                    j,
                    r#"{"days":[{"date":"2027-13-01","off_day":true,"name":"元旦"}]}"#
                        .as_bytes()
                        .to_vec(),
                )),
                true,
                400,
                "days[0].date",
            ),
            (
                "GET",
                "/api/v1/calendar/add-days?date=2024-09-30&n=abc",
                None,
                false,
                400,
                "n",
            ),
            (
                "GET",
                "/api/v1/calendar/add-days?date=2024-13-30&n=1",
                None,
                false,
                422,
                "date",
            ),
            (
                "GET",
                "/api/v1/calendar/add-days?date=2024-09-30&n=99999",
                None,
                false,
                422,
                "n",
            ),
            (
                "GET",
                "/api/v1/calendar/add-days?date=2024-09-30&n=1&region=999999",
                None,
                false,
                404,
                "region",
            ),
            (
                "GET",
                "/api/v1/calendar/add-days?date=2024-09-30",
                None,
                false,
                400,
                "n",
            ),
            ("GET", "/api/v1/regions?parent=460000&x=1", None, false, 400, "x"),
            ("DELETE", "/api/v1/regions", None, true, 405, ""),
            ("GET", "/api/v1/no-such-thing", None, false, 404, ""),
        ];
        for (method, path, body, auth, status, field) in cases {
            let (got, ct, v) = send(&c, method.parse().unwrap(), format!("{u}{path}"), body, auth).await;
            assert_eq!(got, status, "{:?} {method} {path}: {v}", db.engine);
            assert!(
                ct.starts_with("application/problem+json"),
                "{method} {path}: content-type {ct}"
            );
            assert_eq!(v["status"], status, "{v}");
            if !field.is_empty() {
                let fields: Vec<&str> = v["errors"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{method} {path}: no errors in {v}"))
                    .iter()
                    .map(|e| e["field"].as_str().unwrap())
                    .collect();
                assert!(
                    fields.contains(&field),
                    "{method} {path}: expected field {field} in {v}"
                );
                for e in v["errors"].as_array().unwrap() {
                    assert!(
                        !e["message_zh"].as_str().unwrap().is_empty() && !e["message_en"].as_str().unwrap().is_empty(),
                        "{e}"
                    );
                }
            }
        }
        assert_eq!(ledger_head(&c, u).await, before, "a refused request wrote something");
        db_done(srv, db).await;
    }
}

async fn db_done(mut srv: Server, db: TestDb) {
    srv.stop();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_idempotent_and_the_shell_works() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let c = client();
        let u = &srv.url;
        // Create a department twice with the same key: one department, same answer.
        let body = json!({ "name": "海口市测试局", "uscc": uscc(424242), "region_code": "460100", "nature": "statutory_authority" });
        let post = || {
            c.post(format!("{u}/api/v1/departments"))
                .bearer_auth(TOKEN)
                .header("Idempotency-Key", "dept-424242")
                .json(&body)
                .send()
        };
        let a = post().await.unwrap();
        assert_eq!(a.status(), 201);
        let a: Value = a.json().await.unwrap();
        let b = post().await.unwrap();
        assert_eq!(b.status(), 201);
        assert_eq!(b.headers()["idempotent-replayed"], "true");
        assert_eq!(b.json::<Value>().await.unwrap(), a);
        let all: Vec<Value> = c
            .get(format!("{u}/api/v1/departments"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(all.iter().filter(|d| d["uscc"] == body["uscc"]).count(), 1);
        // The same key with another body is refused.
        let other = json!({ "name": "海口市另一局", "uscc": uscc(424243), "region_code": "460100", "nature": "statutory_authority" });
        let r = c
            .post(format!("{u}/api/v1/departments"))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", "dept-424242")
            .json(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        // A hall, a window, a local holiday and a calendar answer that uses it.
        let hall: Value = c
            .post(format!("{u}/api/v1/halls"))
            .bearer_auth(TOKEN)
            .json(&json!({ "name": "秀英区政务服务中心", "region_code": "460105", "address": "秀英区", "hours": "周一至周五" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let w = c
            .post(format!("{u}/api/v1/halls/{}/windows", hall["id"].as_str().unwrap()))
            .bearer_auth(TOKEN)
            .json(&json!({ "number": "A01", "name": "综合受理窗口", "kind": "comprehensive" }))
            .send()
            .await
            .unwrap();
        assert_eq!(w.status(), 201);
        let r = c
            .post(format!("{u}/api/v1/calendar/regions/460000/days"))
            .bearer_auth(TOKEN)
            .json(&json!({ "days": [{ "date": "2026-04-20", "off_day": true, "name": "三月三" }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let d: Value = c
            .get(format!(
                "{u}/api/v1/calendar/add-days?date=2026-04-17&n=1&region=460105"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["date"], "2026-04-21");
        let d: Value = c
            .get(format!("{u}/api/v1/calendar/days/2026-04-20"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(d["working_day"], true, "the national calendar has no 三月三");

        // Shell: health, readiness, metrics, OpenAPI 3.1, docs, headers, pages.
        assert_eq!(
            c.get(format!("{u}/healthz"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "ok"
        );
        let spec: Value = c
            .get(format!("{u}/api/v1/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            spec["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            spec["openapi"]
        );
        assert!(spec["paths"]["/api/v1/departments"]["post"].is_object());
        assert_eq!(c.get(format!("{u}/api/v1/docs/")).send().await.unwrap().status(), 200);
        // Metrics are for auditors' scrapers, not the public (issue 13, item 12).
        let anon = c
            .get(format!("{u}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!anon.contains("yiwang_http_requests_total"), "{anon}");
        let m = c
            .get(format!("{u}/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(m.contains("yiwang_http_requests_total"), "{m}");
        let home = c.get(format!("{u}/")).send().await.unwrap();
        for h in [
            "content-security-policy",
            "x-content-type-options",
            "x-frame-options",
            "x-request-id",
        ] {
            assert!(home.headers().contains_key(h), "missing {h}");
        }
        let html = home.text().await.unwrap();
        assert!(html.contains(r#"<html lang="zh-CN""#) && html.contains("海南省"));
        let en = c
            .get(format!("{u}/"))
            .header("cookie", "lang=en")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(en.contains(r#"<html lang="en""#) && en.contains("Hainan Province"));
        let frag = c
            .get(format!("{u}/fragments/workdays?date=2024-09-30&n=1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(frag.contains("2024-10-08"), "{frag}");
        let frag = c
            .get(format!("{u}/fragments/workdays?date=bad&n=1"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(frag.contains("YYYY-MM-DD"), "{frag}");
        let r = c.get(format!("{u}/no-such-page")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("页面不存在"));
        // Open redirects are refused.
        let nr = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = nr.get(format!("{u}/lang/en?next=//evil.example")).send().await.unwrap();
        assert_eq!(r.headers()["location"], "/");
        db_done(srv, db).await;
    }
}
