//! 跨域通办 between two real nodes (two `yiwang serve --demo` processes, each on its own
//! database), on SQLite and on PostgreSQL: A proposes an agreement, B's administrator
//! approves it, B's offers reach A; B is stopped while A's window forwards an application,
//! restarted, and the application becomes exactly one case at B whose status comes back to
//! A. A third "node" played by the test with its own SM2 key sends envelopes B must refuse
//! (changed byte, unknown sender, no agreement, expired or revoked agreement, old time,
//! used message id, a right not granted), each logged.

mod common;

use common::{Server, Session, TOKEN, cli, client};
use serde_json::{Value, json};
use std::time::Duration;
use yiwang_core::federation::{Envelope, NodeDoc};
use yiwang_crypto::Signer;
use yiwang_store::testing::TestDb;

async fn call(c: &reqwest::Client, m: reqwest::Method, url: String, body: Option<Value>) -> (u16, Value) {
    let mut r = c.request(m, url).bearer_auth(TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn post(c: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    call(c, reqwest::Method::POST, url, Some(body)).await
}

async fn get(c: &reqwest::Client, url: String) -> Value {
    call(c, reqwest::Method::GET, url, None).await.1
}

/// Polls `f` until it returns Some, for up to 30 s.
async fn until<T, F: AsyncFn() -> Option<T>>(what: &str, f: F) -> T {
    for _ in 0..300 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A node played by the test: its own key, its document, envelopes signed as it likes.
struct Fake {
    key: yiwang_crypto::SoftKey,
    doc: NodeDoc,
}

impl Fake {
    fn new(id: &str) -> Fake {
        let key = yiwang_crypto::SoftKey::generate();
        let mut doc = NodeDoc {
            id: id.into(),
            name: "测试节点".into(),
            region: "410000".into(),
            endpoint: "http://127.0.0.1:9".into(),
            key_id: "node-1".into(),
            public_key: hex::encode(key.public_key()),
            trust_list: String::new(),
            issued_ms: 1,
            signature: String::new(),
        };
        doc.signature = hex::encode(key.sign(&doc.signed_bytes()));
        Fake { key, doc }
    }
    fn envelope(&self, receiver: &str, id: &str, kind: &str, body: &Value, at_ms: i64) -> Envelope {
        let body = body.to_string();
        let mut e = Envelope {
            sender: self.doc.id.clone(),
            receiver: receiver.into(),
            id: id.into(),
            correlation: id.into(),
            kind: kind.into(),
            at_ms,
            digest: hex::encode(yiwang_crypto::sm3(body.as_bytes())),
            key_id: "node-1".into(),
            signature: String::new(),
            body,
        };
        e.signature = hex::encode(self.key.sign(&e.signed_bytes()));
        e
    }
}

fn now_ms() -> i64 {
    yiwang_store::now_ms()
}

async fn send(c: &reqwest::Client, url: &str, e: &Envelope) -> (u16, Value) {
    let r = c
        .post(format!("{url}/federation/v1/envelopes"))
        .json(e)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn rule(v: &Value) -> String {
    v["errors"][0]["rule"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_agree_forward_and_refuse_what_they_must() {
    let mut pairs = vec![(TestDb::sqlite().await, TestDb::sqlite().await)];
    if let (Some(a), Some(b)) = (TestDb::postgres().await, TestDb::postgres().await) {
        pairs.push((a, b));
    }
    for (db_a, db_b) in pairs {
        let a = Server::start(&db_a, &["--demo"]);
        let mut b = Server::start(&db_b, &["--demo"]);
        let (ua, ub) = (a.url.clone(), b.url.clone());
        let c = client();
        let id_a = get(&c, format!("{ua}/federation/v1/node")).await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let doc_b = get(&c, format!("{ub}/federation/v1/node")).await;
        let id_b = doc_b["id"].as_str().unwrap().to_string();
        assert_ne!(id_a, id_b, "each node has its own id");
        assert_eq!(doc_b["endpoint"], ub.as_str());

        // B offers an item for 异地代收代办.
        let found = get(&c, format!("{ub}/api/v1/services?q=食品经营许可")).await;
        let code = found["hits"][0]["code"].as_str().expect("a demo item").to_string();
        let (st, v) = call(
            &c,
            reqwest::Method::PUT,
            format!("{ub}/api/v1/federation/offers/{code}"),
            Some(json!({ "modes": ["proxy", "online"] })),
        )
        .await;
        assert_eq!(st, 200, "{v}");

        // A proposes (asking B for 原件核验权 and 结果送达权); B approves.
        let (st, v) = post(
            &c,
            format!("{ua}/api/v1/federation/agreements"),
            json!({ "partner_endpoint": ub, "ask": ["verify_originals", "deliver"], "forward_limit": "one_working_day",
                         "valid_until": "2099-12-31" }),
        )
        .await;
        assert_eq!(st, 201, "{v}");
        let agreement = v["id"].as_str().unwrap().to_string();
        until("B to hold the proposal", async || {
            let l = get(&c, format!("{ub}/api/v1/federation/agreements")).await;
            l.as_array()?
                .iter()
                .any(|x| x["id"] == agreement.as_str() && x["state"] == "pending")
                .then_some(())
        })
        .await;
        // Approving is B's administrator's step, not A's: A cannot approve its own proposal.
        let (st, v) = post(
            &c,
            format!("{ua}/api/v1/federation/agreements/{agreement}/decision"),
            json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(st, 409, "{v}");
        let (st, v) = post(
            &c,
            format!("{ub}/api/v1/federation/agreements/{agreement}/decision"),
            json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        let offer = until("A to be in force and to know B's offer", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/agreements")).await;
            l.as_array()?
                .iter()
                .find(|x| x["id"] == agreement.as_str() && x["state"] == "active")?;
            let o = get(&c, format!("{ua}/api/v1/federation/offers")).await;
            o["partners"]
                .as_array()?
                .iter()
                .find(|p| p["offer"]["item_code"] == code.as_str())
                .cloned()
        })
        .await;
        let zone = c.get(format!("{ua}/kuayu")).send().await.unwrap().text().await.unwrap();
        assert!(zone.contains(&code), "the 跨域通办 area lists B's item");

        // A right not granted is refused at A (B granted no 收件受理权).
        let application = offer["offer"]["detail"]["sample"].clone();
        let forward = |accept: bool| {
            json!({ "partner": id_b, "item_code": code, "mode": "proxy",
                    "applicant": { "name": "李跨域", "id_number": "11010519491231002X", "phone": "13900000077", "verified_by": "window" },
                    "application": application, "originals_checked": true, "accept_on_behalf": accept })
        };
        let (st, v) = post(&c, format!("{ua}/api/v1/federation/applications"), forward(true)).await;
        assert_eq!(st, 403, "{v}");
        assert_eq!(rule(&v), "federation.not_granted");

        // B is down while A forwards: nothing is lost, and it arrives once B is back. First
        // let A's ordered messages to B (its trust list, sent when the agreement came into
        // force) arrive: while one of those waits, nothing else goes to B before it.
        until("A's messages to B to be delivered", async || {
            let log = get(&c, format!("{ua}/api/v1/federation/envelopes")).await;
            (!log.as_array()?.iter().any(|l| l["state"] == "pending")).then_some(())
        })
        .await;
        b.kill();
        let (st, v) = post(&c, format!("{ua}/api/v1/federation/applications"), forward(false)).await;
        assert_eq!(st, 201, "{v}");
        let crossing = v["id"].as_str().unwrap().to_string();
        until("a failed attempt while B is down", async || {
            let log = get(&c, format!("{ua}/api/v1/federation/envelopes")).await;
            log.as_array()?
                .iter()
                .any(|l| l["kind"] == "application.forward" && l["state"] == "pending" && l["error"].is_string())
                .then_some(())
        })
        .await;
        let b = Server::start(&db_b, &["--demo", "--listen", ub.trim_start_matches("http://")]);
        let ub = b.url.clone();
        // Retry now rather than after the back-off.
        let log = get(&c, format!("{ua}/api/v1/federation/envelopes")).await;
        let env_id = log
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["kind"] == "application.forward")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let _ = call(
            &c,
            reqwest::Method::POST,
            format!("{ua}/api/v1/federation/envelopes/{env_id}/retry"),
            None,
        )
        .await;
        let status = until("B's answer at A", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/applications")).await;
            let row = l.as_array()?.iter().find(|x| x["id"] == crossing.as_str())?.clone();
            row["remote_case"].is_string().then_some(row)
        })
        .await;
        // B's answer (received) and perhaps already its case's first status.
        assert_ne!(status["state"], "refused", "{status}");
        let remote = status["remote_case"].as_str().expect("B's case number").to_string();
        let there = get(&c, format!("{ub}/api/v1/federation/applications?role=competent")).await;
        let mine: Vec<&Value> = there
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["remote_case"] == crossing.as_str())
            .collect();
        assert_eq!(mine.len(), 1, "exactly one case at B: {there}");
        assert_eq!(mine[0]["local_case"], remote.as_str());
        let (st, case) = call(&c, reqwest::Method::GET, format!("{ub}/api/v1/cases/{remote}"), None).await;
        assert_eq!(st, 200, "{case}");

        // B's window accepts the case (acceptance stays with B): the status reaches A.
        let clerk = Session::login(&ub, "hk.clerk", Some(b.demo_secret("hk.clerk"))).await;
        let r = clerk
            .post(
                format!("{ub}/api/v1/cases/{remote}/actions"),
                &json!({"action": "accept"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        until("the acceptance at A", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/applications")).await;
            let row = l.as_array()?.iter().find(|x| x["id"] == crossing.as_str())?.clone();
            (row["state"] == "accepted").then_some(())
        })
        .await;

        // 结果送达权: nothing to hand over before B decides; then B's reviewer and approver
        // decide, A's window hands the decision over, and B's case is delivered and concluded in
        // A's name — its status comes back to A.
        let deliver = format!("{ua}/api/v1/federation/applications/{crossing}/deliver");
        let (st, v) = post(&c, deliver.clone(), json!({ "method": "window" })).await;
        assert_eq!((st, rule(&v).as_str()), (409, "federation.not_due"), "{v}");
        let rev = Session::login(&ub, "hk.scjg.reviewer", Some(b.demo_secret("hk.scjg.reviewer"))).await;
        let r = rev
            .post(
                format!("{ub}/api/v1/cases/{remote}/actions"),
                &json!({"action": "complete", "opinion": "材料齐全"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let dec = Session::login(&ub, "hk.scjg.approver", Some(b.demo_secret("hk.scjg.approver"))).await;
        let r = dec
            .post(
                format!("{ub}/api/v1/cases/{remote}/actions"),
                // 不予许可 (the applicant is a person, the licence an enterprise's): a
                // decision with its reasons is a result to deliver as much as a licence.
                &json!({"action": "decide", "approve": false, "reason": "经审查，申请人不是市场主体，不符合许可条件"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        until("the decision at A", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/applications")).await;
            let row = l.as_array()?.iter().find(|x| x["id"] == crossing.as_str())?.clone();
            (row["state"] == "decided").then_some(())
        })
        .await;
        let (st, v) = post(&c, deliver.clone(), json!({ "method": "post" })).await;
        assert_eq!((st, rule(&v).as_str()), (422, "federation.method"), "{v}");
        let (st, v) = post(&c, deliver, json!({ "method": "window" })).await;
        assert_eq!(st, 200, "{v}");
        until("B's case concluded, as A sees it", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/applications")).await;
            let row = l.as_array()?.iter().find(|x| x["id"] == crossing.as_str())?.clone();
            (row["state"] == "concluded").then_some(())
        })
        .await;
        let (_, concluded) = call(&c, reqwest::Method::GET, format!("{ub}/api/v1/cases/{remote}"), None).await;
        assert_eq!(concluded["case"]["state"], "concluded", "{concluded}");

        // B asks for a correction of a second application: A is told what to correct (一次性告知
        // through the node that took it).
        let (st, v) = post(&c, format!("{ua}/api/v1/federation/applications"), forward(false)).await;
        assert_eq!(st, 201, "{v}");
        let second = v["id"].as_str().unwrap().to_string();
        let row = until("B's case for the second application", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/applications")).await;
            let row = l.as_array()?.iter().find(|x| x["id"] == second.as_str())?.clone();
            row["remote_case"].is_string().then_some(row)
        })
        .await;
        let remote2 = row["remote_case"].as_str().unwrap().to_string();
        let r = clerk
            .post(
                format!("{ub}/api/v1/cases/{remote2}/actions"),
                &json!({"action": "request_correction", "items": [{"target": "sqs", "problem": "申请书缺申请人签字"}]}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let told = until("the correction at A", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/applications")).await;
            let row = l.as_array()?.iter().find(|x| x["id"] == second.as_str())?.clone();
            (row["state"] == "correcting").then_some(row)
        })
        .await;
        assert_eq!(told["detail"]["status"]["problems"][0]["field"], "sqs", "{told}");
        assert_eq!(told["detail"]["status"]["problems"][0]["zh"], "申请书缺申请人签字");

        // Mutual recognition (互认): B's trust list reached A with the agreement; 王小明's
        // licence issued at B, presented at A, is checked against it and B's live status.
        until("B's seal keys at A", async || {
            let keys = get(&c, format!("{ua}/api/v1/trust/keys")).await;
            keys.as_array()?
                .iter()
                .any(|k| k["source"] == format!("node:{id_b}").as_str())
                .then_some(())
        })
        .await;
        let wang_b = Session::login(&ub, "13800138000", None).await;
        let (_, mine_b) = wang_b.get_json(&format!("{ub}/api/v1/me/licences")).await;
        let demo = mine_b
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["type_name"] == "食品从业人员健康证明")
            .expect("the demo's health certificate at B")
            .clone();
        // Both demo nodes share the demo's departments, so their first certificates share an
        // identifier; B issues him a new one (the next serial, unknown at A).
        let (st, issued) = post(
            &c,
            format!("{ub}/api/v1/licences"),
            json!({ "type_code": demo["type_code"], "department_id": demo["issuer_department_id"],
                         "holder_name": "王小明", "holder_code": "11010519491231002X", "face": { "gender": "男" } }),
        )
        .await;
        assert_eq!(st, 201, "{issued}");
        let health = issued["id"].as_str().expect("the new licence's id").to_string();
        let (st, detail) = wang_b.get_json(&format!("{ub}/api/v1/me/licences/{health}")).await;
        assert_eq!(st, 200, "{detail}");
        let file = detail["file"].clone();
        let wang_a = Session::login(&ua, "13800138000", None).await;
        let mut forged = file.clone();
        forged["data"]["holder_name"] = json!("王小名");
        let (st, v) = wang_a
            .post_json(&format!("{ua}/api/v1/me/licences/recognise"), forged)
            .await;
        assert_eq!(st, 422, "{v}");
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["rule"] == "licence.check.signature"),
            "{v}"
        );
        let (st, v) = wang_a
            .post_json(&format!("{ua}/api/v1/me/licences/recognise"), file.clone())
            .await;
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["node"], id_b.as_str());
        assert_eq!(v["licence"]["status"], "valid");
        assert!(
            v["verification"]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == "status" && c["ok"] == true),
            "{v}"
        );
        let (_, mine_a) = wang_a.get_json(&format!("{ua}/api/v1/me/licences")).await;
        assert!(
            mine_a
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["id"] == health.as_str() && l["node"] == id_b.as_str()),
            "{mine_a}"
        );
        // Both sides logged the status query.
        let log_b = get(&c, format!("{ub}/api/v1/federation/envelopes?limit=500")).await;
        assert!(
            log_b
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["kind"] == "licence.status" && l["direction"] == "in"),
            "{log_b}"
        );
        // Acting for his company, the person's licence is not the presenter's.
        let agent = Session::login(&ua, "13800138000", None).await;
        let (_, mandates) = agent.get_json(&format!("{ua}/api/v1/me/mandates")).await;
        let company = mandates["received"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["kind"] == "agent")
            .expect("the demo's mandate for his company")["principal"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = agent
            .c
            .put(format!("{ua}/api/v1/me/acting-for"))
            .header("cookie", &agent.cookie)
            .header("x-csrf-token", &agent.csrf)
            .json(&json!({ "principal": format!("legal:{company}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (st, v) = agent
            .post_json(&format!("{ua}/api/v1/me/licences/recognise"), file.clone())
            .await;
        assert_eq!(st, 422, "{v}");
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["rule"] == "licence.check.holder"),
            "{v}"
        );
        // B revokes it: presented again, A hears it from B and keeps the new status.
        let (st, v) = post(
            &c,
            format!("{ub}/api/v1/licences/{health}/status"),
            json!({ "status": "revoked", "reason": "测试：互认后吊销" }),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = wang_a
            .post_json(&format!("{ua}/api/v1/me/licences/recognise"), file.clone())
            .await;
        assert_eq!(st, 422, "{v}");
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["rule"] == "licence.check.status"),
            "{v}"
        );
        let (_, mine_a) = wang_a.get_json(&format!("{ua}/api/v1/me/licences")).await;
        let held = mine_a
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == health.as_str())
            .unwrap()
            .clone();
        assert_eq!(held["status"], "revoked", "{held}");

        // The forwarded envelope as B kept it verifies later against A's document; a
        // changed byte does not (`yiwang federation verify`).
        let (st, kept) = call(
            &c,
            reqwest::Method::GET,
            format!("{ub}/api/v1/federation/envelopes/{env_id}"),
            None,
        )
        .await;
        assert_eq!(st, 200, "{kept}");
        let file = db_b.dir.join("envelope.json");
        std::fs::write(&file, kept.to_string()).unwrap();
        let (rc, out, err) = cli(&db_b, &["federation", "verify", file.to_str().unwrap()]);
        assert_eq!(rc, 0, "{out}{err}");
        assert!(out.starts_with("valid:"), "{out}");
        let mut bad = kept.clone();
        bad["body"] = Value::String(kept["body"].as_str().unwrap().replacen("李跨域", "李跨越", 1));
        std::fs::write(&file, bad.to_string()).unwrap();
        let (rc, out, _) = cli(&db_b, &["federation", "verify", file.to_str().unwrap()]);
        assert_eq!(rc, 1, "{out}");
        let (rc, out, err) = cli(&db_a, &["federation", "node"]);
        assert_eq!(rc, 0, "{err}");
        assert!(out.contains(&id_a), "{out}");

        // A rotates its node key: B takes the new one from the announcement (signed with the
        // old key), and what A sends next verifies with it; B's receipts still verify at A.
        let (st, rotated) = call(
            &c,
            reqwest::Method::POST,
            format!("{ua}/api/v1/federation/node/rotate"),
            None,
        )
        .await;
        assert_eq!(st, 200, "{rotated}");
        assert_eq!(rotated["announced_to"], 1, "{rotated}");
        let new_key = rotated["key_id"].as_str().unwrap().to_string();
        let new_fp = rotated["fingerprint"].as_str().unwrap().to_string();
        assert_eq!(
            get(&c, format!("{ua}/federation/v1/node")).await["key_id"],
            new_key.as_str()
        );
        until("B to hold A's new key", async || {
            let l = get(&c, format!("{ub}/api/v1/federation/agreements")).await;
            l.as_array()?
                .iter()
                .any(|x| x["partner"] == id_a.as_str() && x["partner_fingerprint"] == new_fp.as_str())
                .then_some(())
        })
        .await;
        let (st, v) = post(&c, format!("{ua}/api/v1/federation/applications"), forward(false)).await;
        assert_eq!(st, 201, "{v}");
        let third = v["id"].as_str().unwrap().to_string();
        until("B's answer to what A signed with its new key", async || {
            let l = get(&c, format!("{ua}/api/v1/federation/applications")).await;
            let row = l.as_array()?.iter().find(|x| x["id"] == third.as_str())?.clone();
            row["remote_case"].is_string().then_some(())
        })
        .await;
        // What A signed with its old key still verifies at B later (the key it then had).
        std::fs::write(&file, kept.to_string()).unwrap();
        let (rc, out, err) = cli(&db_b, &["federation", "verify", file.to_str().unwrap()]);
        assert_eq!(rc, 0, "{out}{err}");

        // Envelopes B must refuse, each logged.
        let fake = Fake::new("fake-410000");
        let never = fake.envelope(&id_b, "m-unknown", "case.status", &json!({}), now_ms());
        let (st, v) = send(&c, &ub, &never).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.unknown_sender"), "{v}");
        let terms = |until: &str| json!({ "grants": [], "forward_limit": "same_day", "valid_from": "2020-01-01", "valid_until": until });
        let propose = fake.envelope(
            &id_b,
            "m-propose",
            "agreement.propose",
            &json!({ "agreement_id": "ag-fake", "node": fake.doc, "terms": terms("2099-12-31") }),
            now_ms(),
        );
        let (st, v) = send(&c, &ub, &propose).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["message_id"], "m-propose");
        // The same message again: the same receipt, nothing twice.
        let (st, again) = send(&c, &ub, &propose).await;
        assert_eq!(st, 200);
        assert_eq!(again["signature"], v["signature"]);
        // Not yet approved: no agreement in force.
        let fwd = |id: &str, accept: bool, at: i64| {
            fake.envelope(
                &id_b,
                id,
                "application.forward",
                &json!({ "origin_ref": id, "item_code": code, "mode": "proxy",
                         "applicant": { "name": "王测试", "id_number": "11010519491231002X", "phone": "13900000078", "verified_by": "window" },
                         "application": application, "accept_on_behalf": accept, "taken_by": "test", "taken_ms": at,
                         "forward_by": "2026-12-31" }),
                at,
            )
        };
        let (st, v) = send(&c, &ub, &fwd("m-early", false, now_ms())).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.no_agreement"), "{v}");
        let (st, v) = post(
            &c,
            format!("{ub}/api/v1/federation/agreements/ag-fake/decision"),
            json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        // A changed byte.
        let mut changed = fwd("m-changed", false, now_ms());
        changed.body = changed.body.replacen("王测试", "王测验", 1);
        let (st, v) = send(&c, &ub, &changed).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.bad_digest"), "{v}");
        let mut resigned_digest = changed.clone();
        resigned_digest.digest = hex::encode(yiwang_crypto::sm3(resigned_digest.body.as_bytes()));
        let (st, v) = send(&c, &ub, &resigned_digest).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.bad_signature"), "{v}");
        // An old time.
        let (st, v) = send(&c, &ub, &fwd("m-old", false, now_ms() - 3_600_000)).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.stale"), "{v}");
        // A right not granted (收件受理权), checked by B itself.
        let (st, v) = send(&c, &ub, &fwd("m-accept", true, now_ms())).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.not_granted"), "{v}");
        // A used message id with another body.
        let (st, v) = send(&c, &ub, &fwd("m-propose", false, now_ms())).await;
        assert_eq!((st, rule(&v).as_str()), (409, "federation.replay"), "{v}");
        // Revoked: refused.
        let (st, v) = post(
            &c,
            format!("{ub}/api/v1/federation/agreements/ag-fake/decision"),
            json!({ "action": "revoke", "reason": "测试撤销" }),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        let (st, v) = send(&c, &ub, &fwd("m-revoked", false, now_ms())).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.revoked"), "{v}");
        // Expired: a second fake node whose agreement ended in 2020.
        let old = Fake::new("old-410000");
        let p = old.envelope(
            &id_b,
            "m-old-propose",
            "agreement.propose",
            &json!({ "agreement_id": "ag-old", "node": old.doc, "terms": terms("2020-12-31") }),
            now_ms(),
        );
        assert_eq!(send(&c, &ub, &p).await.0, 200);
        let (st, _) = post(
            &c,
            format!("{ub}/api/v1/federation/agreements/ag-old/decision"),
            json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(st, 200);
        let e = old.envelope(&id_b, "m-expired", "offers.publish", &json!({ "offers": [] }), now_ms());
        let (st, v) = send(&c, &ub, &e).await;
        assert_eq!((st, rule(&v).as_str()), (403, "federation.expired"), "{v}");
        // 收件受理权 granted for the item: the taking node's window accepts for B — B makes
        // the case and accepts it in that node's name.
        let granted = Fake::new("granted-410000");
        let receive_terms = json!({ "grants": [{ "grantor": id_b, "grantee": "granted-410000", "right": "receive", "items": [code] }],
                                    "forward_limit": "same_day", "valid_from": "2020-01-01", "valid_until": "2099-12-31" });
        let p = granted.envelope(
            &id_b,
            "m-granted-propose",
            "agreement.propose",
            &json!({ "agreement_id": "ag-granted", "node": granted.doc, "terms": receive_terms }),
            now_ms(),
        );
        assert_eq!(send(&c, &ub, &p).await.0, 200);
        let (st, v) = post(
            &c,
            format!("{ub}/api/v1/federation/agreements/ag-granted/decision"),
            json!({ "action": "approve" }),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        let e = granted.envelope(
            &id_b,
            "m-granted-forward",
            "application.forward",
            &json!({ "origin_ref": "m-granted-forward", "item_code": code, "mode": "proxy",
                     "applicant": { "name": "钱受理", "id_number": "11010519491231002X", "phone": "13900000079", "verified_by": "window" },
                     "application": application, "accept_on_behalf": true, "taken_by": "窗口 3", "taken_ms": now_ms(),
                     "forward_by": "2099-12-31" }),
            now_ms(),
        );
        let (st, v) = send(&c, &ub, &e).await;
        assert_eq!(st, 200, "{v}");
        until("B's case accepted in the granted node's name", async || {
            let l = get(&c, format!("{ub}/api/v1/federation/applications?role=competent")).await;
            let row = l.as_array()?.iter().find(|x| x["partner"] == "granted-410000")?.clone();
            let id = row["local_case"].as_str()?.to_string();
            let (_, case) = call(&c, reqwest::Method::GET, format!("{ub}/api/v1/cases/{id}"), None).await;
            (case["case"]["state"] == "accepted").then_some(())
        })
        .await;
        // Every refusal is in B's log, with its reason.
        let log = get(&c, format!("{ub}/api/v1/federation/envelopes?limit=500")).await;
        let refused: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["direction"] == "refused")
            .map(|l| l["state"].as_str().unwrap())
            .collect();
        for r in [
            "unknown_sender",
            "no_agreement",
            "bad_digest",
            "bad_signature",
            "stale",
            "not_granted",
            "replay",
            "revoked",
            "expired",
        ] {
            assert!(refused.contains(&r), "{r} logged: {refused:?}");
        }
        // A seal rotated at B: B's trust list goes to A again, with the new key.
        let from_b = async || {
            let keys = get(&c, format!("{ua}/api/v1/trust/keys")).await;
            keys.as_array()
                .unwrap()
                .iter()
                .filter(|k| k["source"] == format!("node:{id_b}").as_str())
                .count()
        };
        let before = from_b().await;
        let seals = get(&c, format!("{ub}/api/v1/seals")).await;
        let active = seals
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == "active")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (st, v) = post(
            &c,
            format!("{ub}/api/v1/seals/{active}/rotate"),
            json!({ "reason": "年度更换密钥" }),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        until("B's new seal key at A", async || {
            (from_b().await > before).then_some(())
        })
        .await;
        // The pages.
        let admin = c
            .get(format!("{ub}/work/federation"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(admin.status().as_u16(), 200);
        drop(a);
        drop(b);
        db_a.cleanup().await;
        db_b.cleanup().await;
    }
}

/// A proposes an agreement to B asking for `ask`; B's administrator approves; returns when
/// A holds it in force.
async fn pair(c: &reqwest::Client, ua: &str, ub: &str, ask: Value) {
    let (st, v) = post(
        c,
        format!("{ua}/api/v1/federation/agreements"),
        json!({ "partner_endpoint": ub, "ask": ask, "forward_limit": "same_day", "valid_until": "2099-12-31" }),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    // Whether node `u` holds the agreement in `state`.
    let holds = async |u: &str, state: &str| {
        let l = get(c, format!("{u}/api/v1/federation/agreements")).await;
        l.as_array()?
            .iter()
            .any(|x| x["id"] == id.as_str() && x["state"] == state)
            .then_some(())
    };
    until("the proposal at the partner", async || holds(ub, "pending").await).await;
    let (st, v) = post(
        c,
        format!("{ub}/api/v1/federation/agreements/{id}/decision"),
        json!({ "action": "approve" }),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    until("the agreement in force at the proposer", async || {
        holds(ua, "active").await
    })
    .await;
}

/// Takes a case through its department's steps to a grant: the window accepts, the
/// department's reviewer and approver (`hk.<short>.…`) review and decide.
async fn grant(srv: &Server, case_id: &str, short: &str) {
    let u = srv.url.clone();
    let c = client();
    let clerk = Session::login(&u, "hk.clerk", Some(srv.demo_secret("hk.clerk"))).await;
    let reviewer = format!("hk.{short}.reviewer");
    let approver = format!("hk.{short}.approver");
    let rev = Session::login(&u, &reviewer, Some(srv.demo_secret(&reviewer))).await;
    let app = Session::login(&u, &approver, Some(srv.demo_secret(&approver))).await;
    for _ in 0..8 {
        let (_, v) = call(&c, reqwest::Method::GET, format!("{u}/api/v1/cases/{case_id}"), None).await;
        let case = &v["case"];
        let step = case["steps"][case["step"].as_u64().unwrap_or(0) as usize]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (who, body) = match (case["state"].as_str().unwrap_or_default(), step.as_str()) {
            ("submitted", _) => (&clerk, json!({ "action": "accept" })),
            ("accepted", "decide" | "3") => (&app, json!({ "action": "decide", "approve": true })),
            ("accepted", "review" | "2") => (&rev, json!({ "action": "complete", "opinion": "同意" })),
            ("accepted", _) => (&clerk, json!({ "action": "complete", "opinion": "同意" })),
            _ => return,
        };
        let r = who.post(format!("{u}/api/v1/cases/{case_id}/actions"), &body).await;
        assert_eq!(r.status(), 200, "{body}: {}", r.text().await.unwrap());
    }
    panic!("case {case_id} was not decided");
}

/// 多地联办 on three real nodes: A's 一件事 joins an item of its own with an item B decides
/// and one C decides after A's; one online application at A; B's member is forwarded at
/// once, C's when A's is granted; each node decides its own; A delivers every result at
/// once (结果送达权) and the bundle concludes when B and C have concluded theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_is_decided_at_three_nodes_and_delivered_by_the_one_that_received_it() {
    let mut dbs = vec![(TestDb::sqlite().await, TestDb::sqlite().await, TestDb::sqlite().await)];
    if let (Some(a), Some(b), Some(cc)) = (
        TestDb::postgres().await,
        TestDb::postgres().await,
        TestDb::postgres().await,
    ) {
        dbs.push((a, b, cc));
    }
    for (db_a, db_b, db_c) in dbs {
        let a = Server::start(&db_a, &["--demo"]);
        let b = Server::start(&db_b, &["--demo"]);
        let nc = Server::start(&db_c, &["--demo"]);
        let (ua, ub, uc) = (a.url.clone(), b.url.clone(), nc.url.clone());
        let c = client();
        let node_id = async |u: &str| {
            get(&c, format!("{u}/federation/v1/node")).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (id_b, id_c) = (node_id(&ub).await, node_id(&uc).await);
        // The items: 预防接种证 at A, 医保参保 at B, 社保卡 at C (the demo's birth bundle's).
        let birth = get(&c, format!("{ua}/api/v1/bundles/460100YJS0002")).await;
        let code_of = |key: &str| {
            birth["doc"]["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["key"] == key)
                .unwrap()["item_code"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (x, y, z) = (code_of("yfjz"), code_of("ybcb"), code_of("sbk"));
        for (u, code, modes) in [
            (&ub, &y, json!(["joint"])),
            (&uc, &z, json!(["joint"])),
            (&ua, &x, json!(["online"])),
        ] {
            let (st, v) = call(
                &c,
                reqwest::Method::PUT,
                format!("{u}/api/v1/federation/offers/{code}"),
                Some(json!({ "modes": modes })),
            )
            .await;
            assert_eq!(st, 200, "{v}");
        }
        // A asks B for 结果送达权; C grants none at first.
        pair(&c, &ua, &ub, json!(["deliver"])).await;
        pair(&c, &ua, &uc, json!([])).await;
        let offers = until("A to know both partners' offers", async || {
            let o = get(&c, format!("{ua}/api/v1/federation/offers")).await;
            (o["partners"].as_array()?.len() >= 2).then_some(o)
        })
        .await;

        // A's market regulator defines the bundle; its reviewer publishes it.
        let depts = get(&c, format!("{ua}/api/v1/departments")).await;
        let lead = depts
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "海口市市场监督管理局")
            .unwrap()["id"]
            .clone();
        let doc = |c_node: &str, z_feeds: Value| {
            json!({ "code": "460100YJS0031", "name": "新生儿异地联办", "audience": "person", "theme": "出生",
                    "region_code": "460100", "level": "municipal", "lead_department_id": lead,
                    "members": [
                        { "key": "yfjz", "item_code": x },
                        { "key": "ybcb", "item_code": y, "node": id_b },
                        { "key": "sbk", "item_code": z, "node": c_node, "after": [{ "member": "yfjz", "feeds": z_feeds }] }
                    ],
                    "promised_days": 10, "channels": ["online", "window"] })
        };
        let editor = Session::login(&ua, "hk.scjg", Some(a.demo_secret("hk.scjg"))).await;
        let url = format!("{ua}/api/v1/catalog/bundles");
        // A definition refused at save, the field and rule named.
        let refused = async |d: Value, field: &str, rule: &str| {
            let (st, e) = editor.post_json(&url, json!({ "doc": d })).await;
            assert_eq!(st, 422, "{e}");
            assert!(common::rules(&e).contains(&(field.into(), rule.into())), "{rule}: {e}");
        };
        // C has not granted A its result's delivery: A could not deliver it (统一出件).
        refused(doc(&id_c, json!([])), "members[2].node", "federation.not_granted").await;
        // B does not offer C's item.
        refused(doc(&id_b, json!([])), "members[2].node", "bundles.not_offered").await;
        // C grants it now (a new agreement: the old one revoked first).
        let l = get(&c, format!("{ua}/api/v1/federation/agreements")).await;
        let old = l
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["partner"] == id_c.as_str())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (st, v) = post(
            &c,
            format!("{ua}/api/v1/federation/agreements/{old}/decision"),
            json!({ "action": "revoke", "reason": "改签：增加结果送达权" }),
        )
        .await;
        assert_eq!(st, 200, "{v}");
        pair(&c, &ua, &uc, json!(["deliver"])).await;
        // A result is not a material across nodes.
        refused(
            doc(&id_c, json!(["csyxzm"])),
            "members[2].after[0].feeds",
            "bundles.remote_feeds",
        )
        .await;
        let (st, saved) = editor.post_json(&url, json!({ "doc": doc(&id_c, json!([])) })).await;
        assert_eq!(st, 200, "{saved}");
        let bid = saved["bundle"]["id"].as_str().unwrap().to_string();
        let (st, _) = editor
            .post_json(&format!("{ua}/api/v1/catalog/bundles/{bid}/submit"), json!({}))
            .await;
        assert_eq!(st, 200);
        let reviewer = Session::login(&ua, "hk.catalog", Some(a.demo_secret("hk.catalog"))).await;
        let (st, v) = reviewer
            .post_json(&format!("{ua}/api/v1/catalog/bundles/{bid}/publish"), json!({}))
            .await;
        assert_eq!(st, 200, "{v}");

        // One online application: the answers and form values of the three items' samples,
        // every material of the merged guide as one uploaded scan.
        let mut answers = serde_json::Map::new();
        let mut form = serde_json::Map::new();
        let samples = offers["partners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["offer"].clone())
            .chain(offers["own"].as_array().unwrap().iter().cloned());
        for o in samples {
            let s = &o["detail"]["sample"];
            answers.extend(s["answers"].as_object().cloned().unwrap_or_default());
            form.extend(s["form"].as_object().cloned().unwrap_or_default());
        }
        let query: Vec<String> = answers
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        let guide = get(
            &c,
            format!("{ua}/api/v1/bundles/460100YJS0031/guide?{}", query.join("&")),
        )
        .await;
        let members: Vec<&str> = guide["guide"]["members"]
            .as_array()
            .unwrap_or_else(|| panic!("{guide}"))
            .iter()
            .map(|m| m["key"].as_str().unwrap())
            .collect();
        assert_eq!(members.len(), 3, "{guide}");
        let citizen = Session::login(&ua, "13800138000", None).await;
        let r = citizen
            .req(reqwest::Method::POST, format!("{ua}/api/v1/me/files?name=scan.pdf"))
            .header("content-type", "application/octet-stream")
            .body(b"%PDF-1.4\n% joint\ntrailer<<>>\n%%EOF\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let scan = r.json::<Value>().await.unwrap()["sm3"].as_str().unwrap().to_string();
        let materials: serde_json::Map<String, Value> = guide["guide"]["materials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["produced_by"].is_null())
            .map(|m| {
                (
                    m["key"].as_str().unwrap().to_string(),
                    json!({ "kind": "files", "files": [scan] }),
                )
            })
            .collect();
        let (st, v) = citizen
            .post_json(
                &format!("{ua}/api/v1/bundles/460100YJS0031/applications"),
                json!({ "answers": answers, "form": form, "materials": materials }),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let bc = v["id"].as_str().unwrap().to_string();
        let view = async || citizen.get_json(&format!("{ua}/api/v1/bundle-cases/{bc}")).await.1;
        let member = |v: &Value, key: &str| {
            v["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["member_key"] == key)
                .unwrap()
                .clone()
        };
        // B's member reached B as a case of its own; C's waits for A's.
        let at_b = until("B's case number at A", async || {
            member(&view().await, "ybcb")["case_id"].as_str().map(str::to_string)
        })
        .await;
        let v = view().await;
        assert_eq!(member(&v, "ybcb")["node"], id_b.as_str());
        assert_eq!(member(&v, "sbk")["state"], "waiting", "{v}");
        let at_a = member(&v, "yfjz")["case_id"].as_str().unwrap().to_string();
        // The person's data leaving A is in their data-use log.
        let (_, uses) = citizen.get_json(&format!("{ua}/api/v1/me/data-use")).await;
        assert!(uses.to_string().contains("多地联办"), "{uses}");

        // Each node decides its own: A grants, and C's member goes to C.
        grant(&a, &at_a, "wj").await;
        let at_c = until("C's case number at A", async || {
            member(&view().await, "sbk")["case_id"].as_str().map(str::to_string)
        })
        .await;
        grant(&b, &at_b, "yb").await;
        grant(&nc, &at_c, "rs").await;
        until("every member granted, the bundle decided", async || {
            let v = view().await;
            (v["state"] == "decided").then_some(())
        })
        .await;
        // The receiving node delivers every result at once, not by post for the partners'.
        let deliver = format!("{ua}/api/v1/bundle-cases/{bc}/deliver");
        let (st, e) = post(&c, deliver.clone(), json!({ "method": "post" })).await;
        assert_eq!((st, rule(&e).as_str()), (422, "bundles.remote_post"), "{e}");
        let (st, v) = post(&c, deliver, json!({ "method": "electronic" })).await;
        assert_eq!(st, 200, "{v}");
        until("B's and C's cases concluded, the bundle with them", async || {
            let v = view().await;
            (v["state"] == "concluded").then_some(())
        })
        .await;
        for (u, id) in [(&ub, &at_b), (&uc, &at_c)] {
            let (_, case) = call(&c, reqwest::Method::GET, format!("{u}/api/v1/cases/{id}"), None).await;
            assert_eq!(case["case"]["state"], "concluded", "{case}");
        }
        // The applicant's page names the nodes' members.
        let page = citizen
            .fetch(&format!("{ua}/me/bundle-cases/{bc}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("data-testid=\"remote-member\""),
            "the page marks the members decided elsewhere"
        );
        drop((a, b, nc));
        db_a.cleanup().await;
        db_b.cleanup().await;
        db_c.cleanup().await;
    }
}
