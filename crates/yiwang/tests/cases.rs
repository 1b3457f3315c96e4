//! Cases over HTTP against a real `serve --demo`, on SQLite and PostgreSQL: an enterprise's
//! agent applies online (pre-check errors named by field, Idempotency-Key replay), a
//! window clerk asks once for a correction, the applicant corrects, the clerk accepts, the
//! market regulator reviews with a special procedure and grants, the licence is signed
//! into the wallet, the notices come as sealed PDFs; and the crash test: SIGKILL during a
//! submission load loses no acknowledged case and retries make no duplicates.

mod common;
use common::{Server, Session, TOKEN, cli, client, upload_scan};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Mutex;
use yiwang_store::testing::TestDb;

fn fields(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The 海口 food business licensing item of the demo catalogue.
async fn food_item(url: &str) -> String {
    let v: Value = client()
        .get(format!("{url}/api/v1/services?q=食品经营许可&region=460100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = v["hits"].as_array().expect("search results");
    items
        .iter()
        .find(|i| i["name"] == "食品经营许可" && i["department"] == "海口市市场监督管理局")
        .unwrap_or_else(|| panic!("no 海口 food item in {v}"))["code"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_applies_online_and_receives_its_licence() {
    for db in TestDb::both().await {
        let mut srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let code = food_item(&u).await;
        let agent = Session::login(&u, "13800138000", None).await;
        let m: Value = agent.get(format!("{u}/api/v1/me/mandates")).await.json().await.unwrap();
        let legal = m["received"][0]["principal"]["id"].as_str().unwrap().to_string();
        let r = agent
            .req(reqwest::Method::PUT, format!("{u}/api/v1/me/acting-for"))
            .json(&json!({ "principal": format!("legal:{legal}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let wallet: Value = agent.get(format!("{u}/api/v1/me/licences")).await.json().await.unwrap();
        let biz = wallet
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["type_name"] == "营业执照")
            .expect("the company's business licence")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let biz_file: Value = agent
            .get(format!("{u}/api/v1/me/licences/{biz}"))
            .await
            .json()
            .await
            .unwrap();
        let uscc = biz_file["file"]["data"]["holder_code"].as_str().unwrap().to_string();
        let up = agent
            .req(
                reqwest::Method::POST,
                format!("{u}/api/v1/me/files?name=%E7%94%B3%E8%AF%B7%E4%B9%A6.pdf"),
            )
            .header("content-type", "application/octet-stream")
            .body(b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(up.status(), 201);
        let sm3 = up.json::<Value>().await.unwrap()["sm3"].as_str().unwrap().to_string();
        let mut app = json!({
            "answers": {"proxy": "self", "zhuanjian": "no"},
            "form": {"enterprise_name": "海口椰风食品有限公司", "enterprise_uscc": "91460100MA5T0XXXIO",
                     "legal_representative": "王小明", "business_address": "海口市龙华区滨海大道 1 号",
                     "food_business_type": "餐饮服务经营者", "business_area": 80, "applicant_phone": "13800138000"},
            "materials": {"sqs": {"kind": "files", "files": [sm3]}, "yyzz": {"kind": "licence", "licence_id": biz},
                          "bjt": {"kind": "files", "files": [sm3]}, "zd": {"kind": "files", "files": [sm3]}}
        });
        // 智能预审: the bad credit code and the missing proof, each named by its field.
        let r = agent
            .post(
                format!("{u}/api/v1/cases"),
                &json!({ "item_code": code, "application": app }),
            )
            .await;
        assert_eq!(r.status(), 422);
        let f = fields(&r.json().await.unwrap());
        assert!(
            f.contains(&"form.enterprise_uscc".to_string()) && f.contains(&"materials.aqy".to_string()),
            "{f:?}"
        );
        app["form"]["enterprise_uscc"] = json!(uscc);
        app["materials"]["aqy"] = json!({"kind": "files", "files": [sm3]});
        let send = || {
            agent
                .req(reqwest::Method::POST, format!("{u}/api/v1/cases"))
                .header("Idempotency-Key", "apply-1")
                .json(&json!({ "item_code": code, "application": app }))
                .send()
        };
        let r1 = send().await.unwrap();
        assert_eq!(r1.status(), 201);
        let v1: Value = r1.json().await.unwrap();
        let r2 = send().await.unwrap();
        assert_eq!(r2.headers().get("idempotent-replayed").unwrap(), "true");
        assert_eq!(r2.json::<Value>().await.unwrap()["id"], v1["id"]);
        let id = v1["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("460100000000"), "{id}");

        // 免申即享: a business policy for holders of this item's result, published while the
        // case is open; the decision changes the enterprise's profile and finds it eligible.
        let officer = Session::login(&u, "hk.policy", Some(srv.demo_secret("hk.policy"))).await;
        let me: Value = officer.get(format!("{u}/api/v1/me")).await.json().await.unwrap();
        let today = chrono::Utc::now().date_naive();
        let (status, saved) = officer
            .post_json(
                &format!("{u}/api/v1/policies"),
                json!({
                    "code": "food-opening", "name": "餐饮开办补助", "name_en": "Grant for new food businesses",
                    "audience": "enterprise", "mode": "direct",
                    "rule": format!("'{code}' in results"), "amount": "100000",
                    "period_from": (today - chrono::Days::new(1)).to_string(),
                    "period_until": (today + chrono::Days::new(300)).to_string(),
                    "department_id": me["staff"]["department_id"], "legal_basis": "国发〔2024〕3号",
                    "purpose": "餐饮开办补助资格比对", "summary": "取得食品经营许可的企业。"
                }),
            )
            .await;
        assert_eq!(status, 200, "{saved}");
        let pid = saved["policy"]["id"].as_str().unwrap().to_string();
        for (who, path, body) in [
            (&officer, "dry-run", Value::Null),
            (&officer, "actions", json!({"action": "submit"})),
        ] {
            let r = who.post(format!("{u}/api/v1/policies/{pid}/{path}"), &body).await;
            assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
        }
        let reviewer = Session::login(&u, "hk.policy.review", Some(srv.demo_secret("hk.policy.review"))).await;
        let r = reviewer
            .post(
                format!("{u}/api/v1/policies/{pid}/actions"),
                &json!({"action": "publish"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // Found on publication: every enterprise evaluated, none yet granted this item.
        let mut found = Value::Null;
        for _ in 0..100 {
            found = officer
                .get(format!("{u}/api/v1/policies/{pid}/findings"))
                .await
                .json()
                .await
                .unwrap();
            if found["counts"]["ineligible"][0].as_i64().unwrap_or(0) > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(found["counts"]["eligible"].is_null(), "{found}");

        // The window asks once for a correction; the applicant sees it and corrects.
        let clerk = Session::login(&u, "hk.clerk", Some(srv.demo_secret("hk.clerk"))).await;
        let inbox: Value = clerk.get(format!("{u}/api/v1/inbox")).await.json().await.unwrap();
        assert!(
            inbox["cases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["case"]["id"] == id.as_str())
        );
        let r = clerk
            .post(
                format!("{u}/api/v1/cases/{id}/actions"),
                &json!({"action": "request_correction", "items": [{"target": "sqs", "problem": "申请书缺法定代表人签字"}]}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let mine: Value = agent
            .get(format!("{u}/api/v1/me/cases/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(mine["case"]["state"], "correcting");
        assert_eq!(mine["waiting_on"], "applicant");
        let r = agent.post(format!("{u}/api/v1/me/cases/{id}/application"), &app).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = clerk
            .post(format!("{u}/api/v1/cases/{id}/actions"), &json!({"action": "accept"}))
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

        // 受审分离: the window clerk cannot review; the regulator's back office does.
        let r = clerk
            .post(
                format!("{u}/api/v1/cases/{id}/actions"),
                &json!({"action": "complete", "opinion": "同意"}),
            )
            .await;
        assert_eq!(r.status(), 403);
        let rev = Session::login(&u, "hk.scjg.reviewer", Some(srv.demo_secret("hk.scjg.reviewer"))).await;
        for body in [
            json!({"action": "start_special", "kind": "site_survey", "reason": "现场核查"}),
            json!({"action": "end_special", "result": "现场核查合格"}),
            json!({"action": "complete", "opinion": "材料齐全，现场核查合格"}),
        ] {
            let r = rev.post(format!("{u}/api/v1/cases/{id}/actions"), &body).await;
            assert_eq!(r.status(), 200, "{body}: {}", r.text().await.unwrap());
        }
        let dec = Session::login(&u, "hk.scjg.approver", Some(srv.demo_secret("hk.scjg.approver"))).await;
        let r = dec
            .post(
                format!("{u}/api/v1/cases/{id}/actions"),
                &json!({"action": "decide", "approve": false, "reason": ""}),
            )
            .await;
        assert_eq!(r.status(), 422, "a refusal needs reasons");
        let r = dec
            .post(
                format!("{u}/api/v1/cases/{id}/actions"),
                &json!({"action": "decide", "approve": true, "reason": ""}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let lid = r.json::<Value>().await.unwrap()["licence_id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = clerk
            .post(
                format!("{u}/api/v1/cases/{id}/actions"),
                &json!({"action": "deliver", "method": "electronic"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

        // The decision was a change of the enterprise's profile: found eligible (the Finder
        // follows case.decided), and its agent sees why, from its granted cases.
        for _ in 0..100 {
            found = officer
                .get(format!("{u}/api/v1/policies/{pid}/findings"))
                .await
                .json()
                .await
                .unwrap();
            if found["counts"]["eligible"][0] == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(found["counts"]["eligible"], json!([1, 100000]), "{found}");
        let mine: Value = agent.get(format!("{u}/api/v1/me/policies")).await.json().await.unwrap();
        let p = mine
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["policy"]["id"] == pid.as_str())
            .expect("the policy, for the enterprise its agent acts for");
        assert_eq!(p["explanation"]["outcome"]["outcome"], "eligible", "{p}");
        assert_eq!(p["explanation"]["conditions"][0]["values"][0]["source"], "cases");

        // The applicant: concluded, the licence in the wallet, verifiable, sealed notices.
        let mine: Value = agent
            .get(format!("{u}/api/v1/me/cases/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(mine["case"]["state"], "concluded");
        assert!(mine["clocks"]["promised"].is_array(), "{}", mine["clocks"]);
        let kinds: Vec<&str> = mine["notices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["receipt", "correction", "acceptance", "special", "approval"]);
        for n in mine["notices"].as_array().unwrap() {
            assert!(n["signature"].is_string(), "sealed: {n}");
            let r = agent
                .get(format!(
                    "{u}/api/v1/me/cases/{id}/notices/{}/pdf",
                    n["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(r.status(), 200);
            assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
        }
        let wallet: Value = agent.get(format!("{u}/api/v1/me/licences")).await.json().await.unwrap();
        assert!(wallet.as_array().unwrap().iter().any(|l| l["id"] == lid.as_str()));
        let v: Value = client()
            .get(format!("{u}/api/v1/verify/{}", urlencode(&lid)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["valid"], true, "{v}");
        // 好差评: the applicant rates the concluded case once; another person cannot. A bad
        // rating is followed up by the department that handled it, and by no other.
        let rate = json!({"level": 2, "options": ["many_trips"], "dimensions": {"efficiency": 2}});
        let r = agent.post(format!("{u}/api/v1/me/cases/{id}/ratings"), &rate).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let task = r.json::<Value>().await.unwrap()["task_id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = agent.post(format!("{u}/api/v1/me/cases/{id}/ratings"), &rate).await;
        assert_eq!(r.status(), 409, "once per stage");
        let tasks: Value = dec.get(format!("{u}/api/v1/rating-tasks")).await.json().await.unwrap();
        assert!(
            tasks
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["task"]["id"] == task.as_str()),
            "{tasks}"
        );
        let foreign = Session::login(&u, "hk.yb.approver", Some(srv.demo_secret("hk.yb.approver"))).await;
        assert_eq!(
            foreign.get(format!("{u}/api/v1/rating-tasks/{task}")).await.status(),
            404
        );
        let step = json!({"action": "call_back", "reached": true, "note": "电话回访"});
        let r = foreign
            .post(format!("{u}/api/v1/rating-tasks/{task}/actions"), &step)
            .await;
        assert_eq!(r.status(), 404, "another department's officer cannot act");
        let r = dec.post(format!("{u}/api/v1/rating-tasks/{task}/actions"), &step).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // Called back in time: not on the overdue list (督办).
        let overdue: Value = dec
            .get(format!("{u}/api/v1/rating-tasks?overdue=true"))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            overdue
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["task"]["id"] != task.as_str()),
            "{overdue}"
        );
        // The board by hall and by clerk; a grouping it does not know is refused on its field.
        for by in ["hall", "clerk", "department"] {
            let r = client()
                .get(format!("{u}/api/v1/ratings/board?by={by}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{by}");
            assert_eq!(r.json::<Value>().await.unwrap()["by"], by);
        }
        let r = client()
            .get(format!("{u}/api/v1/ratings/board?by=weather"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(fields(&r.json().await.unwrap()), ["by"]);
        // Another person cannot see the case.
        let other = Session::login(&u, "13900139000", None).await;
        let r = other.post(format!("{u}/api/v1/me/cases/{id}/ratings"), &rate).await;
        assert_eq!(r.status(), 404, "only the applicant rates");
        assert_eq!(other.get(format!("{u}/api/v1/me/cases/{id}")).await.status(), 404);
        // A mandate for listed items only does not reach this item (代办授权范围).
        let body = "46010019900101123";
        let li_si = format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap());
        let today = yiwang_store::today();
        let r = agent
            .post(
                format!("{u}/api/v1/mandates"),
                &json!({ "grantee_id_number": li_si, "grantee_name": "李四",
                         "scope": {"type": "items", "items": ["460100009000"]},
                         "valid_from": today, "valid_until": today + chrono::Days::new(30) }),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = other
            .req(reqwest::Method::PUT, format!("{u}/api/v1/me/acting-for"))
            .json(&json!({ "principal": format!("legal:{legal}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = other
            .post(
                format!("{u}/api/v1/cases"),
                &json!({ "item_code": code, "application": app }),
            )
            .await;
        assert_eq!(r.status(), 409);
        assert_eq!(fields(&r.json().await.unwrap()), ["item_code"]);
        // The scheduler runs from the command line too; the ledger holds.
        srv.stop();
        let (code, out, err) = cli(&db, &["cases", "tick"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("第三十二条") || out.contains("art. 32"), "{out}");
        assert!(out.contains("escalated: 0"), "{out}");
        // The national aggregation export of the day's cases.
        let day = yiwang_store::today();
        let (from, to) = (
            (day - chrono::Days::new(1)).to_string(),
            (day + chrono::Days::new(1)).to_string(),
        );
        let (code, out, err) = cli(
            &db,
            &["export", "cases", "--format", "national", "--from", &from, "--to", &to],
        );
        assert_eq!(code, 0, "{out}{err}");
        let rec: Value = out
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["acceptance"]["case_number"] == id.as_str())
            .expect("the case in the export");
        assert_eq!(rec["acceptance"]["applicant_code"], uscc.as_str());
        assert!(
            rec["acceptance"]["agent"].is_string(),
            "the agent is recorded: {}",
            rec["acceptance"]
        );
        let codes: Vec<&str> = rec["process"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["action_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes.first(), Some(&"01"));
        assert_eq!(rec["special_procedures"][0]["kind_code"], "09");
        assert_eq!(rec["result"]["licence_id"], lid.as_str());
        assert_eq!(rec["result"]["delivered_by_post"], false);
        assert!(
            rec["materials"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["how_received"] == "licence")
        );
        // The national records of the ratings.
        let (code, out, err) = cli(
            &db,
            &[
                "export", "ratings", "--format", "national", "--from", &from, "--to", &to,
            ],
        );
        assert_eq!(code, 0, "{out}{err}");
        let rec: Value = out
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["case_number"] == id.as_str())
            .expect("the rating in the export");
        assert_eq!(
            (rec["level"].as_i64(), rec["applicant_type"].as_str()),
            (Some(2), Some("legal"))
        );
        assert_eq!(rec["department_code"].as_str().map(str::len), Some(18));
        let (code, _, err) = cli(
            &db,
            &["export", "cases", "--format", "xml", "--from", &from, "--to", &to],
        );
        assert_ne!(code, 0);
        assert!(err.contains("national"), "{err}");
        let (code, out, err) = cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        db.cleanup().await;
    }
}

/// 历史办件迁移 and 分办: the demo's cases taken over with their real dates show every
/// traffic light (the overdue one first); an import with impossible dates is refused field
/// by field and a clerk may not import; a reviewer assigns a case to a named colleague of
/// the department, after which only that colleague (or a deciding officer reassigning it)
/// acts on it; assigning to someone without the step's role is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrated_cases_keep_their_clocks_and_go_to_named_officers() {
    for db in TestDb::both().await {
        let mut srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let code = food_item(&u).await;
        let rev = Session::login(&u, "hk.scjg.reviewer", Some(srv.demo_secret("hk.scjg.reviewer"))).await;
        let inbox: Value = rev.get(format!("{u}/api/v1/inbox")).await.json().await.unwrap();
        let rows = inbox["cases"].as_array().unwrap();
        let lights: Vec<&str> = rows.iter().map(|r| r["light"].as_str().unwrap_or("")).collect();
        assert_eq!(lights, ["red", "yellow", "green"], "{inbox}");
        assert!(rows[0]["remaining"].as_i64().unwrap() < 0);
        // A page at a time: the same rows one by one, each page linking to the next.
        let mut url = format!("{u}/api/v1/inbox?limit=1");
        let mut paged = vec![];
        loop {
            let r = rev.get(url.clone()).await;
            assert_eq!(r.status(), 200);
            let link = r.headers().get("link").map(|v| v.to_str().unwrap().to_string());
            let page: Value = r.json().await.unwrap();
            assert_eq!(page["cases"].as_array().unwrap().len(), 1, "{page}");
            paged.push(page["cases"][0]["case"]["id"].clone());
            match (link, page["next"].as_str()) {
                (Some(l), Some(next)) => {
                    let path = l.trim_start_matches('<').split('>').next().unwrap().to_string();
                    assert!(path.contains(&format!("after={next}")), "{l}");
                    url = format!("{u}{path}");
                }
                (None, None) => break,
                other => panic!("Link header and next disagree: {other:?}"),
            }
        }
        assert_eq!(paged, rows.iter().map(|r| r["case"]["id"].clone()).collect::<Vec<_>>());
        for (q, field) in [
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("after=nonsense", "after"),
        ] {
            let r = rev.get(format!("{u}/api/v1/inbox?{q}")).await;
            assert_eq!(r.status(), 400, "{q}");
            let p: Value = r.json().await.unwrap();
            assert_eq!(p["errors"][0]["field"], field, "{p}");
        }
        let red = rows[0]["case"]["id"].as_str().unwrap().to_string();
        let detail: Value = rev.get(format!("{u}/api/v1/cases/{red}")).await.json().await.unwrap();
        let first = &detail["timeline"][0];
        assert_eq!(first["body"]["migrated"]["legacy_no"], "HN-OLD-2026-000101", "{first}");
        assert!(first["zh"].as_str().unwrap().contains("历史办件迁移"));
        // The case number carries the original date of receipt.
        let received = detail["case"]["received_on"].as_str().unwrap().replace('-', "");
        assert_eq!(&red[12..20], received, "{red}");

        // Imports: dates checked field by field; a window clerk has no right to import.
        let today = yiwang_store::today();
        let legal = detail["case"]["applicant"].as_str().unwrap().to_string();
        let bad = json!({ "item_code": code, "applicant": legal, "legacy_no": "X-1", "source": "旧平台",
                          "received_on": today + chrono::Days::new(3), "accepted_on": today - chrono::Days::new(1) });
        let r = client()
            .post(format!("{u}/api/v1/case-imports"))
            .bearer_auth(TOKEN)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let f = fields(&r.json().await.unwrap());
        assert!(
            f.contains(&"received_on".to_string()) && f.contains(&"accepted_on".to_string()),
            "{f:?}"
        );
        let clerk = Session::login(&u, "hk.clerk", Some(srv.demo_secret("hk.clerk"))).await;
        let r = clerk.post(format!("{u}/api/v1/case-imports"), &bad).await;
        assert_eq!(r.status(), 403);

        // 分办: not to the approver (no review role), nor to a stranger; to the colleague.
        let staff: Value = client()
            .get(format!("{u}/api/v1/staff"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let acc = |login: &str| {
            staff
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["login"] == login)
                .unwrap_or_else(|| panic!("{login} in {staff}"))["account_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        for to in [acc("hk.scjg.approver"), acc("hk.reviewer"), "nobody".to_string()] {
            let r = rev
                .post(
                    format!("{u}/api/v1/cases/{red}/actions"),
                    &json!({"action": "assign", "to": to}),
                )
                .await;
            assert_eq!(r.status(), 422, "{to}");
            assert_eq!(fields(&r.json().await.unwrap()), ["to"]);
        }
        let colleague = acc("hk.scjg.reviewer2");
        let r = rev
            .post(
                format!("{u}/api/v1/cases/{red}/actions"),
                &json!({"action": "assign", "to": colleague}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let detail: Value = rev.get(format!("{u}/api/v1/cases/{red}")).await.json().await.unwrap();
        assert_eq!(detail["case"]["handler"], format!("account:{colleague}"));
        let r = rev
            .post(
                format!("{u}/api/v1/cases/{red}/actions"),
                &json!({"action": "complete", "opinion": "同意"}),
            )
            .await;
        assert_eq!(r.status(), 409);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"][0]["rule"], "case.handler", "{v}");
        let rev2 = Session::login(&u, "hk.scjg.reviewer2", Some(srv.demo_secret("hk.scjg.reviewer2"))).await;
        let r = rev2
            .post(
                format!("{u}/api/v1/cases/{red}/actions"),
                &json!({"action": "complete", "opinion": "材料齐全"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        srv.stop();
        let (code, out, err) = cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        db.cleanup().await;
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Idempotency key -> (request number, case id once acknowledged).
type Attempts = HashMap<String, (u64, Option<String>)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_submissions_loses_and_duplicates_no_case() {
    for db in TestDb::both().await {
        let mut srv = Server::start(&db, &["--demo"]);
        let url = srv.url.clone();
        let code = food_item(&url).await;
        let c = client();
        let g: Value = c
            .get(format!("{url}/api/v1/services/{code}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let dict: Vec<yiwang_core::catalog::DataElement> = c
            .get(format!("{url}/api/v1/catalog/data-elements"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let el: yiwang_core::catalog::Elements = serde_json::from_value(g["elements"].clone()).unwrap();
        let scan = upload_scan(&url, "crash test scan").await;
        let app = yiwang_core::cases::sample_application(&el, &|k| dict.iter().find(|d| d.code == k).cloned(), &scan);
        let wang = Session::login(&url, "13800138000", None).await;
        let me: Value = wang.get(format!("{url}/api/v1/me")).await.json().await.unwrap();
        let person = me["person"]["id"].as_str().unwrap().to_string();
        let body = Arc::new(json!({ "item_code": code, "applicant": format!("person:{person}"), "application": app }));
        let attempts: Arc<Mutex<Attempts>> = Default::default();
        let acked = Arc::new(AtomicUsize::new(0));
        let mut clients = vec![];
        for k in 0..6u64 {
            let (url, attempts, acked, body) = (url.clone(), attempts.clone(), acked.clone(), body.clone());
            clients.push(tokio::spawn(async move {
                let c = client();
                for i in 0..100_000u64 {
                    let n = k * 1_000_000 + i;
                    let key = format!("case-crash-{n}");
                    attempts.lock().await.insert(key.clone(), (n, None));
                    let r = c
                        .post(format!("{url}/api/v1/window/cases"))
                        .bearer_auth(TOKEN)
                        .header("Idempotency-Key", &key)
                        .json(&*body)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == 201 => {
                            let Ok(v) = r.json::<Value>().await else { return };
                            attempts
                                .lock()
                                .await
                                .insert(key, (n, Some(v["id"].as_str().unwrap().to_string())));
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => panic!(
                            "unexpected status {}: {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        ),
                        Err(_) => return,
                    }
                }
            }));
        }
        while acked.load(Ordering::SeqCst) < 120 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        srv.kill();
        for c in clients {
            c.await.unwrap();
        }
        let attempts = attempts.lock().await.clone();
        let n_acked = attempts.values().filter(|(_, id)| id.is_some()).count();
        assert!(n_acked >= 120);

        let srv = Server::start(&db, &[]);
        let c = client();
        for (key, (_, id)) in &attempts {
            let r = c
                .post(format!("{}/api/v1/window/cases", srv.url))
                .bearer_auth(TOKEN)
                .header("Idempotency-Key", key)
                .json(&*body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{:?} retry of {key}", db.engine);
            let replayed = r.headers().get("idempotent-replayed").is_some();
            let v: Value = r.json().await.unwrap();
            if let Some(id) = id {
                assert!(replayed, "{:?}: acknowledged {key} was lost", db.engine);
                assert_eq!(v["id"].as_str().unwrap(), id);
            }
        }
        // One case per attempted key, each with its own number.
        // Every page of the applicant's list, each linking to the next.
        let wang = Session::login(&srv.url, "13800138000", None).await;
        let (mut ids, mut url) = (
            std::collections::HashSet::new(),
            Some(format!("{}/api/v1/me/cases?limit=40", srv.url)),
        );
        while let Some(u) = url {
            let r = wang.get(u).await;
            url = r.headers().get("link").map(|l| {
                let l = l.to_str().unwrap();
                format!("{}{}", srv.url, &l[1..l.find('>').unwrap()])
            });
            let page: Value = r.json().await.unwrap();
            for c in page.as_array().unwrap() {
                assert!(ids.insert(c["id"].as_str().unwrap().to_string()), "a case on two pages");
            }
        }
        assert_eq!(ids.len(), attempts.len(), "{:?}", db.engine);
        eprintln!(
            "{:?}: {n_acked} cases acknowledged before SIGKILL, {} in flight",
            db.engine,
            attempts.len() - n_acked
        );
        let mut srv = srv;
        srv.stop();
        let (code, out, err) = cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        db.cleanup().await;
    }
}

/// 12345 over HTTP: a person sends a request and follows it by number and phone; the agent
/// dispatches it by the catalogue's suggestion; another unit cannot see it; the unit answers;
/// the agent calls back and closes it; the person sees the answer. Bad input is refused by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hotline_request_is_dispatched_answered_and_called_back() {
    for db in TestDb::both().await {
        let mut srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let body = json!({"category": "complaint", "region_code": "460105", "content": "小区连续三天停水，水压很低",
                          "caller_name": "张先生", "caller_phone": "13800138000"});
        let r = client()
            .post(format!("{u}/api/v1/hotline/tickets"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let bad = json!({"category": "gossip", "region_code": "110000", "content": "", "caller_name": "x",
                         "caller_phone": "1"});
        let r = client()
            .post(format!("{u}/api/v1/hotline/tickets"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            fields(&r.json().await.unwrap()),
            ["category", "region_code", "content", "caller_phone"]
        );
        let follow = |phone: &'static str| {
            let (u, id) = (u.clone(), id.clone());
            async move {
                client()
                    .get(format!("{u}/api/v1/hotline/follow?id={id}&phone={phone}"))
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(follow("13800138000").await.status(), 200);
        assert_eq!(follow("13900139000").await.status(), 404, "a wrong phone finds nothing");
        let agent = Session::login(&u, "hk.hotline", Some(srv.demo_secret("hk.hotline"))).await;
        let board: Value = agent
            .get(format!("{u}/api/v1/hotline/board"))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            board["received"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["id"] == id.as_str()),
            "{board}"
        );
        let v: Value = agent
            .get(format!("{u}/api/v1/hotline/tickets/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["caller_name"], "张先生");
        let unit = v["suggestions"][0]["department_id"]
            .as_str()
            .expect("a suggestion")
            .to_string();
        let r = agent
            .post(
                format!("{u}/api/v1/hotline/tickets/{id}/actions"),
                &json!({"action": "dispatch", "department_id": unit}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // The water bureau's officer has it; the city management officer does not.
        let water = Session::login(&u, "hk.sw.hotline", Some(srv.demo_secret("hk.sw.hotline"))).await;
        let other = Session::login(&u, "hk.zf.hotline", Some(srv.demo_secret("hk.zf.hotline"))).await;
        let inbox: Value = water
            .get(format!("{u}/api/v1/hotline/inbox"))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            inbox.as_array().unwrap().iter().any(|t| t["id"] == id.as_str()),
            "{inbox}"
        );
        assert_eq!(
            other.get(format!("{u}/api/v1/hotline/tickets/{id}")).await.status(),
            404
        );
        let reply = json!({"action": "reply", "reply": "已排查管网，水压已恢复"});
        let r = other
            .post(format!("{u}/api/v1/hotline/tickets/{id}/actions"), &reply)
            .await;
        assert_eq!(r.status(), 404, "another unit cannot answer");
        let r = agent
            .post(format!("{u}/api/v1/hotline/tickets/{id}/actions"), &reply)
            .await;
        assert_eq!(r.status(), 403, "the centre is not the unit");
        let r = water
            .post(format!("{u}/api/v1/hotline/tickets/{id}/actions"), &reply)
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = agent
            .post(
                format!("{u}/api/v1/hotline/tickets/{id}/actions"),
                &json!({"action": "call_back", "reached": true, "resolved": true, "satisfaction": "satisfied"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let p: Value = follow("13800138000").await.json().await.unwrap();
        assert_eq!(
            (p["state"].as_str(), p["reply"].as_str()),
            (Some("closed"), Some("已排查管网，水压已恢复"))
        );
        srv.stop();
        db.cleanup().await;
    }
}
#[tokio::test]
async fn the_knowledge_base_answers_an_enquiry_and_a_repeat_is_merged() {
    for db in TestDb::both().await {
        let mut srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        // The public search finds a demo article by the words people use, and the guides.
        let r: Value = client()
            .get(format!(
                "{u}/api/v1/hotline/knowledge?q=%E7%A4%BE%E4%BF%9D%E5%8D%A1%E4%B8%A2%E4%BA%86"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["articles"][0]["title"], "社保卡丢失怎么补办？", "{r}");
        let agent = Session::login(&u, "hk.hotline", Some(srv.demo_secret("hk.hotline"))).await;
        let water = Session::login(&u, "hk.sw.hotline", Some(srv.demo_secret("hk.sw.hotline"))).await;
        // The water bureau writes an article; the centre reviews it (the bureau may not).
        let catalog: Value = agent
            .get(format!("{u}/api/v1/hotline/catalog"))
            .await
            .json()
            .await
            .unwrap();
        let bureau = catalog["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["matter"] == "water_supply")
            .unwrap()["department_id"]
            .as_str()
            .unwrap()
            .to_string();
        let article = json!({"title": "水表坏了找谁换？", "body": "拨打供水服务热线报修，供水公司 2 个工作日内免费更换水表。",
                             "department_id": bureau, "region_code": "460100", "keywords": ["水表", "报修"]});
        let r = water
            .post(format!("{u}/api/v1/hotline/knowledge/articles"), &article)
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let aid = r.json::<Value>().await.unwrap()["article_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut bad = article.clone();
        bad["title"] = json!("");
        bad["department_id"] = json!("nope");
        let r = water.post(format!("{u}/api/v1/hotline/knowledge/articles"), &bad).await;
        assert_eq!(r.status(), 422);
        assert_eq!(fields(&r.json().await.unwrap()), ["title"]);
        let review = json!({"version": 1, "approve": true});
        let r = water
            .post(format!("{u}/api/v1/hotline/knowledge/articles/{aid}/review"), &review)
            .await;
        assert_eq!(r.status(), 403);
        let r = agent
            .post(format!("{u}/api/v1/hotline/knowledge/articles/{aid}/review"), &review)
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // An enquiry: the ticket page offers the article; the agent answers from it at once.
        let call = json!({"category": "consult", "region_code": "460105", "content": "家里水表坏了，找谁换水表",
                          "caller_name": "李女士", "caller_phone": "13700137000"});
        let r = agent.post(format!("{u}/api/v1/hotline/centre/tickets"), &call).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let q = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let v: Value = agent
            .get(format!("{u}/api/v1/hotline/tickets/{q}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["articles"][0]["article_id"], aid.as_str(), "{v}");
        let r = agent
            .post(
                format!("{u}/api/v1/hotline/tickets/{q}/actions"),
                &json!({"action": "answer", "answer": v["articles"][0]["body"], "article_id": aid}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // A complaint and its repeat: offered, merged, and the repeat's caller gets the answer.
        let first = json!({"category": "complaint", "region_code": "460105", "address": "秀英区海秀西路 8 号",
                           "content": "小区连续三天停水，没有任何通知", "caller_name": "王先生", "caller_phone": "13600136000"});
        let a = agent.post(format!("{u}/api/v1/hotline/centre/tickets"), &first).await;
        let a = a.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let mut again = first.clone();
        again["content"] = json!("我们小区停水三天了，也没通知");
        again["caller_phone"] = json!("13500135000");
        let b = agent.post(format!("{u}/api/v1/hotline/centre/tickets"), &again).await;
        let b = b.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let v: Value = agent
            .get(format!("{u}/api/v1/hotline/tickets/{b}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["duplicates"][0]["ticket"]["id"], a.as_str(), "{v}");
        let act = |id: &str| format!("{u}/api/v1/hotline/tickets/{id}/actions");
        let r = agent.post(act(&b), &json!({"action": "merge", "into": a})).await;
        assert_eq!(r.status(), 200);
        let r = agent
            .post(act(&a), &json!({"action": "dispatch", "department_id": bureau}))
            .await;
        assert_eq!(r.status(), 200);
        let r = water
            .post(act(&a), &json!({"action": "reply", "reply": "已抢修，当晚恢复供水"}))
            .await;
        assert_eq!(r.status(), 200);
        let p: Value = client()
            .get(format!("{u}/api/v1/hotline/follow?id={b}&phone=13500135000"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (p["reply"].as_str(), p["merged_into"].as_str()),
            (Some("已抢修，当晚恢复供水"), Some(a.as_str()))
        );
        // The call-centre system reports a call; the figures count it; a bad event is refused
        // field by field; the public may not report calls.
        let calls = |f: &Value| f["service"]["calls"].as_i64().unwrap();
        let before: Value = agent
            .get(format!("{u}/api/v1/hotline/figures?days=1"))
            .await
            .json()
            .await
            .unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        for (event, at) in [("ringing", now - 9_000), ("answered", now - 2_000)] {
            let r = agent
                .post(
                    format!("{u}/api/v1/hotline/calls/events"),
                    &json!({"call_id": "cti-test-1", "event": event, "at": at, "agent": "8001"}),
                )
                .await;
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
        let r = agent
            .post(
                format!("{u}/api/v1/hotline/calls/events"),
                &json!({"call_id": "", "event": "hold"}),
            )
            .await;
        assert_eq!(r.status(), 422);
        assert_eq!(fields(&r.json().await.unwrap()), ["call_id", "event"]);
        let r = client()
            .post(format!("{u}/api/v1/hotline/calls/events"))
            .json(&json!({"call_id": "x", "event": "ringing"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let after: Value = agent
            .get(format!("{u}/api/v1/hotline/figures?days=1"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(calls(&after), calls(&before) + 1, "{after}");
        assert_eq!(after["levels"].as_array().unwrap().len(), 4);
        assert!(!after["by_region"].as_array().unwrap().is_empty(), "{after}");
        srv.stop();
        db.cleanup().await;
    }
}
