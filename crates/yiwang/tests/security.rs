//! Issue 13's findings, each as a regression test against a real `serve --demo` on SQLite
//! and PostgreSQL: private uploads, self-granted roles, open redirects, HTTPS cookies,
//! bearer logins, lockout and proxies, problem answers, caching, control characters,
//! pagination, and the checkpoint after an unclean stop.

mod common;
use common::{PW, Server, Session, TOKEN, client, no_redirects};
use serde_json::{Value, json};
use yiwang_store::testing::TestDb;

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn problem(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let ct = header(&r, "content-type");
    let body = r.text().await.unwrap();
    (status, ct, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_probe_found_stays_fixed() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let c = client();

        // 1. An applicant's upload is theirs: not public, not cached, not listed.
        let wang = Session::login(&u, "13800138000", None).await;
        let r = wang
            .req(
                reqwest::Method::POST,
                format!("{u}/api/v1/me/files?name=%E8%BA%AB%E4%BB%BD%E8%AF%81.pdf"),
            )
            .body(b"%PDF-1.4\n% 460100199001011234\n%%EOF\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let f: Value = r.json().await.unwrap();
        let url = format!("{u}/files/{}", f["sm3"].as_str().unwrap());
        assert_eq!(c.get(&url).send().await.unwrap().status(), 404, "anonymous");
        let li = Session::login(&u, "13900139000", None).await;
        assert_eq!(li.get(url.clone()).await.status(), 404, "another citizen");
        let own = wang.get(url.clone()).await;
        assert_eq!(own.status(), 200);
        assert_eq!(header(&own, "cache-control"), "private, no-store");
        let cat = Session::login(&u, "hk.catalog", Some(srv.demo_secret("hk.catalog"))).await;
        let page = cat.get(format!("{u}/catalog/files")).await.text().await.unwrap();
        assert!(
            !page.contains(f["sm3"].as_str().unwrap()),
            "listed for catalogue editors"
        );
        // A catalogue file is public only when published as such, and only by its managers.
        let r = wang
            .req(
                reqwest::Method::POST,
                format!("{u}/api/v1/files?name=x.pdf&public=true"),
            )
            .body(b"%PDF-1.4\n%x\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = cat
            .req(
                reqwest::Method::POST,
                format!("{u}/api/v1/files?name=form.pdf&public=true"),
            )
            .body(b"%PDF-1.4\n%form\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let form: Value = r.json().await.unwrap();
        let r = c
            .get(format!("{u}{}", form["url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(header(&r, "cache-control").starts_with("public"));

        // 3. No self-granted roles; no grants beyond one's own rights.
        let admin = Session::login(&u, "hk.admin", Some(srv.demo_secret("hk.admin"))).await;
        let staff: Value = c
            .get(format!("{u}/api/v1/staff"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id_of = |login: &str| {
            staff.as_array().unwrap().iter().find(|s| s["login"] == login).unwrap()["account_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let roles = |who: &str| format!("{u}/api/v1/staff/{}/roles", id_of(who));
        let r = admin
            .req(reqwest::Method::PUT, roles("hk.admin"))
            .json(&json!({"roles": ["admin", "licence_officer", "window_clerk"]}))
            .send()
            .await
            .unwrap();
        let (status, _, p) = problem(r).await;
        assert_eq!(status, 403, "{p}");
        assert_eq!(p["errors"][0]["rule"], "grant.self");
        let r = admin
            .req(reqwest::Method::PUT, roles("hk.supervisor"))
            .json(&json!({"roles": ["supervisor", "licence_officer"]}))
            .send()
            .await
            .unwrap();
        let (status, _, p) = problem(r).await;
        assert_eq!(status, 403, "{p}");
        assert_eq!(p["errors"][0]["field"], "roles[1]");
        assert_eq!(p["errors"][0]["rule"], "grant.exceeds_grantor");
        // Keeping a role one does not hold is fine (only what is added is checked); adding a
        // permission one lacks to a role is not.
        let r = admin
            .req(reqwest::Method::PUT, roles("hk.hotline"))
            .json(&json!({"roles": ["hotline_agent"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let hn = Session::login(&u, "hn.admin", Some(srv.demo_secret("hn.admin"))).await;
        let r = hn
            .req(reqwest::Method::PUT, format!("{u}/api/v1/roles/supervisor"))
            .json(&json!({"permissions": ["supervise_read", "audit_read", "licence_issue"]}))
            .send()
            .await
            .unwrap();
        let (status, _, p) = problem(r).await;
        assert_eq!(status, 403, "{p}");
        assert_eq!(p["errors"][0]["field"], "permissions[2]");

        // 4 and 10. Redirects stay on this site; bad ones are never a 500.
        let nr = no_redirects();
        for next in [
            "/%09/evil.example/phish",
            "//evil.example",
            "/%0a/x",
            "/%00",
            "/%7f",
            "/%0d%0a",
        ] {
            let r = nr.get(format!("{u}/lang/en?next={next}")).send().await.unwrap();
            assert_eq!(r.status(), 303, "{next}");
            assert_eq!(header(&r, "location"), "/", "{next}");
        }

        // 8. A login with an Authorization header is told why, not a 500.
        let r = c
            .post(format!("{u}/api/v1/auth/login"))
            .bearer_auth("whatever")
            .json(&json!({"login": "13800138000", "password": PW}))
            .send()
            .await
            .unwrap();
        let (status, ct, _) = problem(r).await;
        assert!(
            status < 500 && ct.starts_with("application/problem+json"),
            "{status} {ct}"
        );

        // 9. Five failures lock unknown clients out, not the browser that logged in before.
        let known = c
            .post(format!("{u}/api/v1/auth/login"))
            .json(&json!({"login": "13900139000", "password": PW}))
            .send()
            .await
            .unwrap();
        let device = known
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("yiwang_device="))
            .map(|v| v.split(';').next().unwrap().to_string())
            .expect("a device cookie");
        for _ in 0..5 {
            let r = c
                .post(format!("{u}/api/v1/auth/login"))
                .json(&json!({"login": "13900139000", "password": "wrong-Pass-1"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 422);
        }
        let r = c
            .post(format!("{u}/api/v1/auth/login"))
            .json(&json!({"login": "13900139000", "password": PW}))
            .send()
            .await
            .unwrap();
        let (status, _, p) = problem(r).await;
        assert_eq!(p["errors"][0]["rule"], "account.locked", "{status} {p}");
        let r = c
            .post(format!("{u}/api/v1/auth/login"))
            .header("cookie", &device)
            .json(&json!({"login": "13900139000", "password": PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "the known browser still gets in");

        // 10. Errors below our handlers are problems too.
        let r = c.get(format!("{u}/api/v1/regions/%ff%fe")).send().await.unwrap();
        let (status, ct, _) = problem(r).await;
        assert_eq!((status, ct.as_str()), (400, "application/problem+json"));
        // (On a connection of its own: the server answers before reading the whole body and
        // then closes that connection.)
        let r = client()
            .post(format!("{u}/api/v1/me/files?name=big.pdf"))
            .header("cookie", &wang.cookie)
            .header("x-csrf-token", &wang.csrf)
            .body(vec![b'%'; 25 << 20])
            .send()
            .await
            .unwrap();
        let (status, ct, _) = problem(r).await;
        assert_eq!((status, ct.as_str()), (413, "application/problem+json"));

        // 11. Personal answers are not cached.
        let me = wang.get(format!("{u}/api/v1/me")).await;
        assert_eq!(header(&me, "cache-control"), "private, no-store");
        let page = wang.get(format!("{u}/account")).await;
        assert_eq!(header(&page, "cache-control"), "private, no-store");

        // 12. Control characters are refused by field; departments come a page at a time.
        let r = c
            .post(format!("{u}/api/v1/auth/register"))
            .json(&json!({"name": "a\u{0}b", "id_number": "x", "phone": "1", "password": "x"}))
            .send()
            .await
            .unwrap();
        let (status, _, p) = problem(r).await;
        assert_eq!(status, 422, "{p}");
        assert!(
            p["errors"].as_array().unwrap().iter().any(|e| e["field"] == "name"),
            "{p}"
        );
        let r = c.get(format!("{u}/api/v1/departments?limit=2")).send().await.unwrap();
        let total: i64 = header(&r, "x-total-count").parse().unwrap();
        let page: Vec<Value> = r.json().await.unwrap();
        assert_eq!(page.len(), 2);
        assert!(total > 2);
        let r = c.get(format!("{u}/api/v1/departments?limit=0")).send().await.unwrap();
        assert_eq!(r.status(), 422);
        drop(srv);
        db.cleanup().await;
    }
}

/// 6: an https public address makes cookies Secure and adds HSTS; 9: behind a trusted
/// proxy the client is the forwarded address (each address its own login budget); 5: a
/// node killed without a checkpoint signs one over the tail when it starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxies_and_the_tail_after_a_crash() {
    for db in TestDb::both().await {
        let mut srv = Server::start(
            &db,
            &[
                "--public-url",
                "https://zwfw.example.gov.cn",
                "--trusted-proxies",
                "127.0.0.1",
            ],
        );
        let u = srv.url.clone();
        let c = client();
        let r = c
            .post(format!("{u}/api/v1/auth/login"))
            .json(&json!({"login": "nobody", "password": "x"}))
            .send()
            .await
            .unwrap();
        assert!(header(&r, "strict-transport-security").starts_with("max-age="));
        let r = c.get(format!("{u}/login")).send().await.unwrap();
        let cookie = header(&r, "set-cookie");
        assert!(cookie.contains("Secure"), "{cookie}");
        // 30 attempts a minute per client: from one forwarded address the 31st is refused
        // with Retry-After; another forwarded address is not affected.
        let attempt = |ip: &'static str| {
            c.post(format!("{u}/api/v1/auth/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({"login": "13700137000", "password": "wrong-Pass-1"}))
                .send()
        };
        // Sent at once: the limit (30 a minute, a new one every 2 s) counts arrivals, so a
        // loaded machine's slow answers do not let the allowance grow back meanwhile.
        let burst: Vec<_> = (0..31)
            .map(|_| {
                let (c, u) = (c.clone(), u.to_string());
                tokio::spawn(async move {
                    c.post(format!("{u}/api/v1/auth/login"))
                        .header("x-forwarded-for", "198.51.100.7")
                        .json(&json!({"login": "13700137000", "password": "wrong-Pass-1"}))
                        .send()
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut limited = None;
        for b in burst {
            let r = b.await.unwrap();
            if r.status() == 429 {
                limited = Some(r);
            }
        }
        let r = limited.expect("the 31st attempt is limited");
        assert_eq!(header(&r, "retry-after"), "60");
        assert_eq!(attempt("198.51.100.8").await.unwrap().status(), 422, "another client");
        // Writes, then SIGKILL: no checkpoint covers them until the node starts again.
        let status = |url: String| async move {
            let v: Value = client()
                .get(format!("{url}/api/v1/ledger/status"))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (v["head"].as_i64().unwrap(), v["checkpoint_to"].as_i64().unwrap())
        };
        for (code, name) in [("460000", "海南省"), ("460100", "海口市")] {
            let parent = (code != "460000").then_some("460000");
            let r = c
                .post(format!("{u}/api/v1/regions"))
                .bearer_auth(TOKEN)
                .json(&json!({"code": code, "name": name, "parent_code": parent}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }
        let (head, cp) = status(u.clone()).await;
        assert!(head > cp, "{head} {cp}: the tail is not yet covered");
        srv.kill();
        let srv = Server::start(&db, &[]);
        let (head2, cp2) = status(srv.url.clone()).await;
        assert!(head2 >= head);
        assert_eq!(cp2, head2, "a checkpoint covers the tail at start");
        drop(srv);
        db.cleanup().await;
    }
}

/// 7: who people are. Against a local gateway that speaks and checks Tencent Cloud SMS's
/// signed protocol: a code proves the number before registering, logging in by SMS and
/// recovering a password; asking for a code never tells whether a number is registered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_codes_prove_a_number_without_telling_who_is_registered() {
    for db in TestDb::both().await {
        let gw = common::SmsGateway::start();
        let conf = db.dir.join("sms.toml");
        std::fs::write(&conf, gw.config()).unwrap();
        let srv = Server::start(&db, &["--demo", "--config", conf.to_str().unwrap()]);
        let u = srv.url.clone();
        let c = client();
        let ask = |phone: &'static str, purpose: &'static str| {
            c.post(format!("{u}/api/v1/auth/sms-codes"))
                .json(&json!({ "phone": phone, "purpose": purpose }))
                .send()
        };
        // A new number gets a code to register; a registered one gets the same answer and
        // no message.
        let r = ask("13611112222", "register").await.unwrap();
        assert_eq!(r.status(), 202);
        let new_answer: Value = r.json().await.unwrap();
        let r = ask("13800138000", "register").await.unwrap();
        assert_eq!(r.status(), 202);
        let known_answer: Value = r.json().await.unwrap();
        assert_eq!(new_answer, known_answer);
        let code = gw.code_for("13611112222").expect("a code went out");
        assert!(
            gw.code_for("13800138000").is_none(),
            "no message to a registered number"
        );
        assert!(gw.refused.lock().unwrap().is_empty(), "every request was signed right");
        // One a minute per number.
        let r = ask("13611112222", "register").await.unwrap();
        assert_eq!(r.status(), 429);
        assert!(header(&r, "retry-after").parse::<u64>().unwrap() > 0);
        // Registering: a wrong code costs a try; the right one registers.
        let idn = {
            let body = "46010019900303123";
            format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap())
        };
        let reg = |sms: String| {
            c.post(format!("{u}/api/v1/auth/register"))
                .json(&json!({ "name": "钱七", "id_number": idn, "phone": "13611112222",
                               "password": "Qian#Qi2026", "sms_code": sms }))
                .send()
        };
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, _, p) = problem(reg(wrong.into()).await.unwrap()).await;
        assert_eq!(
            (status, p["errors"][0]["rule"].as_str()),
            (422, Some("sms_code.wrong")),
            "{p}"
        );
        assert_eq!(reg(code.clone()).await.unwrap().status(), 201);
        let (status, _, p) = problem(reg(code).await.unwrap()).await;
        assert_eq!(status, 422, "a code is used once: {p}");
        // Logging in with a code.
        assert_eq!(ask("13611112222", "login").await.unwrap().status(), 202);
        let code = gw.code_for("13611112222").unwrap();
        let r = c
            .post(format!("{u}/api/v1/auth/sms-login"))
            .json(&json!({ "phone": "13611112222", "sms_code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Recovering a password: the new one works, the old one no longer.
        assert_eq!(ask("13900139000", "recover").await.unwrap().status(), 202);
        let code = gw.code_for("13900139000").unwrap();
        let r = c
            .post(format!("{u}/api/v1/auth/password-reset"))
            .json(&json!({ "phone": "13900139000", "sms_code": code, "password": "Li#Si-new-2026" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let login = |pw: &'static str| {
            c.post(format!("{u}/api/v1/auth/login"))
                .json(&json!({ "login": "13900139000", "password": pw }))
                .send()
        };
        assert_eq!(login(PW).await.unwrap().status(), 422);
        assert_eq!(login("Li#Si-new-2026").await.unwrap().status(), 200);
        // An unregistered number asking to recover: the same answer, no message.
        assert_eq!(ask("13622223333", "recover").await.unwrap().status(), 202);
        assert!(gw.code_for("13622223333").is_none());
        assert!(gw.refused.lock().unwrap().is_empty());
        drop(srv);
        db.cleanup().await;
    }
}

/// 7: nobody acts for an enterprise on their word alone. Self-service needs a valid business
/// licence naming the person as legal representative; otherwise a window clerk checks the
/// papers and the check is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_is_linked_only_to_whom_its_licence_or_a_window_proves() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let c = client();
        let li = Session::login(&u, "13900139000", None).await;
        let ent = |n: u64| {
            json!({ "name": format!("海口测试{n}有限公司"), "uscc": common::uscc(880 + n),
                    "kind": "enterprise", "legal_representative": "李四" })
        };
        // On his word alone: refused.
        let r = li.post(format!("{u}/api/v1/auth/register-enterprise"), &ent(1)).await;
        let (status, _, p) = problem(r).await;
        assert_eq!(
            (status, p["errors"][0]["rule"].as_str()),
            (403, Some("legal.not_representative")),
            "{p}"
        );
        // With a valid business licence naming him as legal representative: linked.
        let types: Value = c
            .get(format!("{u}/api/v1/licence-types"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let business = types
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"]["name"] == "营业执照" || t["name"] == "营业执照")
            .unwrap_or_else(|| panic!("the business licence type in {types}"));
        let code = business["type"]["code"].as_str().or(business["code"].as_str()).unwrap();
        let depts: Vec<Value> = c
            .get(format!("{u}/api/v1/departments?limit=1000"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let scjg = depts.iter().find(|d| d["name"] == "海口市市场监督管理局").unwrap()["id"].clone();
        let r = c
            .post(format!("{u}/api/v1/licences"))
            .bearer_auth(TOKEN)
            .json(
                &json!({ "type_code": code, "department_id": scjg, "holder_name": "海口测试2有限公司",
                           "holder_code": common::uscc(882),
                           "face": { "legal_representative": "李四", "business_address": "海口市（测试）",
                                     "business_scope": "测试" } }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = li.post(format!("{u}/api/v1/auth/register-enterprise"), &ent(2)).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        // At a window: the clerk checks the papers; recorded as such.
        let clerk = Session::login(&u, "hk.clerk", Some(srv.demo_secret("hk.clerk"))).await;
        let body = "46010019900101123";
        let li_id = format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap());
        let r = clerk
            .post(
                format!("{u}/api/v1/assisted/enterprises"),
                &json!({ "agent_id_number": li_id, "enterprise": ent(3) }),
            )
            .await;
        assert_eq!(r.status(), 201);
        let v: Value = r.json().await.unwrap();
        let legal = v["legal_person_id"].as_str().unwrap().to_string();
        let r = li
            .req(reqwest::Method::PUT, format!("{u}/api/v1/me/acting-for"))
            .json(&json!({ "principal": format!("legal:{legal}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "李四 now acts for it");
        // A citizen is no window clerk.
        let r = li
            .post(
                format!("{u}/api/v1/assisted/enterprises"),
                &json!({ "agent_id_number": li_id, "enterprise": ent(4) }),
            )
            .await;
        assert_eq!(r.status(), 403);
        drop(srv);
        db.cleanup().await;
    }
}
