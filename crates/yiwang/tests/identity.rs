//! Identity and access against a real server on both engines: every route × every role ×
//! own/foreign object gets the status the access table promises (none leaks); logins with
//! TOTP (replays refused), lockout, CSRF, mandates, the personal data-use log, and that
//! no password or TOTP secret reaches the ledger or an API response.

mod common;
use common::{PW, Server, TOKEN, login_raw, no_redirects, session_cookie, totp_now};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use yiwang_core::access::{Actor, Denied, Permission, Target};
use yiwang_server::access::{Need, Obj, RULES};
use yiwang_store::testing::TestDb;

/// A client with its own session cookie and CSRF token.
struct Who {
    name: String,
    c: reqwest::Client,
    cookie: Option<String>,
    csrf: String,
    actor: Actor,
}

async fn anonymous(url: &str) -> Who {
    let c = no_redirects();
    let r = c.get(format!("{url}/login")).send().await.unwrap();
    let cookie = session_cookie(&r);
    let html = r.text().await.unwrap();
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("")
        .to_string();
    Who {
        name: "anonymous".into(),
        c,
        cookie,
        csrf,
        actor: Actor::Anonymous,
    }
}

async fn logged_in(url: &str, name: &str, secret: Option<String>) -> Who {
    let (st, v, cookie) = login_raw(url, name, PW, secret.map(|s| totp_now(&s))).await;
    assert_eq!(st, 200, "login {name}: {v}");
    let c = no_redirects();
    let me: Value = c
        .get(format!("{url}/api/v1/me"))
        .header("cookie", cookie.clone().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actor = if me["kind"] == "staff" {
        Actor::Staff {
            account_id: me["account_id"].as_str().unwrap().into(),
            department_id: me["staff"]["department_id"].as_str().unwrap().into(),
            region_code: me["staff"]["region_code"].as_str().unwrap().into(),
            permissions: serde_json::from_value(me["permissions"].clone()).unwrap(),
        }
    } else {
        Actor::Person {
            account_id: me["account_id"].as_str().unwrap().into(),
            person_id: me["person"]["id"].as_str().unwrap().into(),
        }
    };
    Who {
        name: name.into(),
        c,
        cookie,
        csrf: v["csrf_token"].as_str().unwrap().into(),
        actor,
    }
}

impl Who {
    async fn send(&self, method: &str, url: &str, page: bool) -> StatusCode {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let mut rq = self.c.request(m.clone(), url);
        if let Some(ck) = &self.cookie {
            rq = rq.header("cookie", ck);
        }
        if m != Method::GET {
            if page {
                rq = rq
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("_csrf={}", self.csrf));
            } else {
                rq = rq.header("x-csrf-token", &self.csrf).json(&json!({}));
            }
        }
        rq.send().await.unwrap().status()
    }
}

/// Routes whose success ends the caller's own session; tested on their own below.
const SESSION_ENDING: &[&str] = &[
    "/api/v1/auth/logout",
    "/api/v1/auth/logout-everywhere",
    "/logout",
    "/account/logout-everywhere",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_every_role_own_and_foreign() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let admin = no_redirects();
        let depts: Vec<Value> = admin
            .get(format!("{u}/api/v1/departments"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let dept = |region: &str| {
            let d = depts.iter().find(|d| d["region_code"] == region).unwrap();
            (d["id"].as_str().unwrap().to_string(), region.to_string())
        };
        let own_dept = {
            let d = depts.iter().find(|d| d["name"] == "海口市行政审批服务局").unwrap();
            (d["id"].as_str().unwrap().to_string(), "460100".to_string())
        };
        let foreign_dept = dept("460200");
        let halls: Vec<Value> = admin
            .get(format!("{u}/api/v1/halls"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hall = |region: &str| {
            halls.iter().find(|h| h["region_code"] == region).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let staff: Vec<Value> = admin
            .get(format!("{u}/api/v1/staff"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let staff_of = |login: &str| {
            let s = staff.iter().find(|s| s["login"] == login).unwrap();
            (
                s["account_id"].as_str().unwrap().to_string(),
                s["department_id"].as_str().unwrap().to_string(),
                s["region_code"].as_str().unwrap().to_string(),
            )
        };
        let token_for = |d: &(String, String)| {
            let admin = admin.clone();
            let d = d.clone();
            let u = u.clone();
            async move {
                let v: Value = admin
                    .post(format!("{u}/api/v1/tokens"))
                    .bearer_auth(TOKEN)
                    .json(&json!({ "name": "dept system", "permissions": ["person_read"], "department_id": d.0, "region_code": d.1 }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v["id"].as_str().unwrap().to_string()
            }
        };
        let own_token = token_for(&own_dept).await;
        let foreign_token = token_for(&foreign_dept).await;
        // A catalogue item of each department (the demo catalogue has both).
        let entry_of = |d: &(String, String)| {
            let admin = admin.clone();
            let d = d.clone();
            let u = u.clone();
            async move {
                let v: Value = admin
                    .get(format!("{u}/api/v1/catalog/entries?department_id={}", d.0))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let e = &v.as_array().expect("entries")[0];
                (
                    e["id"].as_str().unwrap().to_string(),
                    e["code"].as_str().unwrap().to_string(),
                )
            }
        };
        let own_entry = entry_of(&own_dept).await;
        let foreign_entry = entry_of(&foreign_dept).await;
        // A seal, a licence type and a licence of each department.
        let seal_and_licence = |d: &(String, String), n: u64| {
            let admin = admin.clone();
            let d = d.clone();
            let u = u.clone();
            let uscc = depts.iter().find(|x| x["id"] == d.0.as_str()).unwrap()["uscc"]
                .as_str()
                .unwrap()
                .to_string();
            async move {
                let seals: Value = admin
                    .get(format!("{u}/api/v1/seals?department_id={}", d.0))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let seal = match seals.as_array().unwrap().first() {
                    Some(s) => s["id"].as_str().unwrap().to_string(),
                    None => {
                        let v: Value = admin
                            .post(format!("{u}/api/v1/seals"))
                            .bearer_auth(TOKEN)
                            .json(&json!({ "department_id": d.0, "purpose": "approval" }))
                            .send()
                            .await
                            .unwrap()
                            .json()
                            .await
                            .unwrap();
                        v["id"].as_str().expect("seal made").to_string()
                    }
                };
                let code = format!("{uscc}009");
                let r = admin
                    .post(format!("{u}/api/v1/licence-types"))
                    .bearer_auth(TOKEN)
                    .json(
                        &json!({ "department_id": d.0, "type": { "code": code, "name": "测试许可证", "holder": "legal",
                        "validity": { "kind": "years", "value": 1 }, "face": [] } }),
                    )
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
                let v: Value = admin
                    .post(format!("{u}/api/v1/licences"))
                    .bearer_auth(TOKEN)
                    .json(
                        &json!({ "type_code": code, "department_id": d.0, "holder_name": "测试企业",
                        "holder_code": common::uscc(900 + n) }),
                    )
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                (seal, v["id"].as_str().expect("licence issued").to_string())
            }
        };
        let own_lic = seal_and_licence(&own_dept, 1).await;
        let foreign_lic = seal_and_licence(&foreign_dept, 2).await;

        let mut whos = vec![anonymous(&u).await, logged_in(&u, "13800138000", None).await];
        for l in [
            "hk.clerk",
            "hk.reviewer",
            "hk.approver",
            "hk.catalog",
            "hk.hotline",
            "hk.supervisor",
            "hk.admin",
            "hn.admin",
            "hk.scjg",
            "hn.catalog",
            "hk.licence",
            "hk.policy",
            "hk.policy.review",
            "hn.cl.data",
        ] {
            whos.push(logged_in(&u, l, Some(srv.demo_secret(l))).await);
        }
        let wang_person = match &whos[1].actor {
            Actor::Person { person_id, .. } => person_id.clone(),
            _ => unreachable!(),
        };
        // A staff member nobody logs in as: the role-changing routes below act on them.
        let r = admin
            .post(format!("{u}/api/v1/staff"))
            .bearer_auth(TOKEN)
            .json(
                &json!({ "login": "hk.spare", "name": "备用人员", "department_id": own_dept.0,
                           "roles": ["reviewer"], "password": PW }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let spare: Value = r.json().await.unwrap_or(Value::Null);
        let own_staff = (
            spare["account_id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| staff_of("hk.reviewer").0),
            own_dept.0.clone(),
            own_dept.1.clone(),
        );
        let foreign_staff = staff_of("sy.clerk");
        // A case in each department, taken at a window for 王小明 (the first published
        // item of the department that a complete sample application passes).
        let dict: Vec<yiwang_core::catalog::DataElement> = admin
            .get(format!("{u}/api/v1/catalog/data-elements"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let scan = common::upload_scan(&u, "identity test scan").await;
        let case_of = |d: &(String, String)| {
            let admin = admin.clone();
            let d = d.clone();
            let u = u.clone();
            let dict = dict.clone();
            let person = wang_person.clone();
            let scan = scan.clone();
            async move {
                let entries: Value = admin
                    .get(format!("{u}/api/v1/catalog/entries?department_id={}", d.0))
                    .bearer_auth(TOKEN)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for e in entries.as_array().unwrap() {
                    let code = e["code"].as_str().unwrap();
                    let r = admin.get(format!("{u}/api/v1/services/{code}")).send().await.unwrap();
                    if r.status() != 200 {
                        continue;
                    }
                    let g: Value = r.json().await.unwrap();
                    let el: yiwang_core::catalog::Elements = serde_json::from_value(g["elements"].clone()).unwrap();
                    let app = yiwang_core::cases::sample_application(
                        &el,
                        &|c| dict.iter().find(|x| x.code == c).cloned(),
                        &scan,
                    );
                    let r = admin
                        .post(format!("{u}/api/v1/window/cases"))
                        .bearer_auth(TOKEN)
                        .json(
                            &json!({ "item_code": code, "applicant": format!("person:{person}"), "application": app }),
                        )
                        .send()
                        .await
                        .unwrap();
                    if r.status() == 201 {
                        let v: Value = r.json().await.unwrap();
                        return v["id"].as_str().unwrap().to_string();
                    }
                }
                panic!("no case could be made for department {}", d.0);
            }
        };
        let own_case = case_of(&own_dept).await;
        let foreign_case = case_of(&foreign_dept).await;

        // (value of each path parameter, target) for the own and the foreign variant.
        let mut checked = 0;
        let mut failures = vec![];
        for rule in RULES {
            if SESSION_ENDING.contains(&rule.path) {
                continue;
            }
            for foreign in [false, true] {
                let mut params: HashMap<&str, String> = HashMap::new();
                let pick = |own: &str, f: &str| if foreign { f.to_string() } else { own.to_string() };
                let is_hall_route = rule.path.starts_with("/api/v1/halls");
                params.insert(
                    "id",
                    if is_hall_route {
                        pick(&hall("460100"), &hall("460200"))
                    } else {
                        pick(&own_dept.0, &foreign_dept.0)
                    },
                );
                params.insert("hall_id", pick(&hall("460100"), &hall("460200")));
                params.insert(
                    "code",
                    if rule.path.starts_with("/lang") {
                        "en".into()
                    } else {
                        pick("460105", "460202")
                    },
                );
                params.insert("account_id", pick(&own_staff.0, &foreign_staff.0));
                params.insert("token_id", pick(&own_token, &foreign_token));
                params.insert("entry_id", pick(&own_entry.0, &foreign_entry.0));
                params.insert("service_code", pick(&own_entry.1, &foreign_entry.1));
                params.insert("version", "1".into());
                params.insert("kind", "licensing".into());
                params.insert("element_code", "applicant_name".into());
                params.insert("basic_code", "460100001000".into());
                params.insert("sm3", "0".repeat(64));
                params.insert("person_id", wang_person.clone());
                params.insert("year", "2026".into());
                params.insert("date", "2026-01-05".into());
                // Not a role anyone here holds: the role form would change its permissions.
                params.insert("role", "no_such_role".into());
                params.insert("mode", "large".into());
                params.insert("mandate_id", "none".into());
                params.insert("session_id", "none".into());
                params.insert("*rest", "index.html".into());
                params.insert("seal_id", pick(&own_lic.0, &foreign_lic.0));
                params.insert("licence_id", pick(&own_lic.1, &foreign_lic.1));
                params.insert("key_id", "none".into());
                params.insert("grant_id", "none".into());
                params.insert("token", "YWP1.none.none".into());
                params.insert("case_id", pick(&own_case, &foreign_case));
                params.insert("notice_id", "none".into());
                params.insert("task_id", "none".into());
                params.insert("bundle_id", "none".into());
                params.insert("bundle_case_id", "none".into());
                params.insert("bundle_code", "460100YJS0001".into());
                let mut path = rule.path.to_string();
                for (k, v) in &params {
                    path = path.replace(&format!("{{{k}}}"), v);
                }
                if !rule.path.contains('{') && foreign {
                    continue;
                }
                let target = match rule.need {
                    Need::Perm(_, obj) | Need::AnyPerm(_, obj) => match obj {
                        Obj::Unbound | Obj::Body => Target::Unbound,
                        Obj::Home => Target::Region { code: "460000".into() },
                        Obj::Region(_) => Target::Region {
                            code: pick("460105", "460202"),
                        },
                        Obj::Department(_) => {
                            let d = if foreign { &foreign_dept } else { &own_dept };
                            Target::Department {
                                id: d.0.clone(),
                                region_code: d.1.clone(),
                            }
                        }
                        Obj::Hall(_) => Target::Region {
                            code: pick("460100", "460200"),
                        },
                        Obj::StaffAccount(_) => {
                            let s = if foreign { &foreign_staff } else { &own_staff };
                            Target::Department {
                                id: s.1.clone(),
                                region_code: s.2.clone(),
                            }
                        }
                        Obj::Token(_) | Obj::CatalogEntry(_) | Obj::Seal(_) | Obj::Licence(_) | Obj::Case(_) => {
                            let d = if foreign { &foreign_dept } else { &own_dept };
                            Target::Department {
                                id: d.0.clone(),
                                region_code: d.1.clone(),
                            }
                        }
                    },
                    _ => Target::Unbound,
                };
                let page = !rule.path.starts_with("/api/");
                for who in &whos {
                    let expect: Result<(), Denied> = match rule.need {
                        Need::Public => Ok(()),
                        Need::Authenticated => {
                            if who.actor.is_authenticated() {
                                Ok(())
                            } else {
                                Err(Denied::Unauthenticated)
                            }
                        }
                        Need::Person => match who.actor {
                            Actor::Person { .. } => Ok(()),
                            Actor::Anonymous => Err(Denied::Unauthenticated),
                            _ => Err(Denied::Missing(Permission::PersonRead)),
                        },
                        Need::Perm(p, _) => who.actor.authorize(p, &target),
                        Need::AnyPerm(ps, _) => yiwang_server::access::authorize_any(&who.actor, ps, &target),
                    };
                    let got = who.send(rule.method, &format!("{u}{path}"), page).await;
                    checked += 1;
                    let ok = match &expect {
                        Ok(()) => got != 401 && got != 403,
                        Err(Denied::Unauthenticated) if page => got == 303,
                        Err(Denied::Unauthenticated) => got == 401,
                        Err(_) => got == 403,
                    };
                    if !ok {
                        failures.push(format!(
                            "{} {} ({}) as {}: expected {:?}, got {}",
                            rule.method,
                            path,
                            if foreign { "foreign" } else { "own" },
                            who.name,
                            expect,
                            got
                        ));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {checked} wrong:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(checked > 800, "only {checked} requests checked");
        eprintln!(
            "{}: {checked} route × role × scope requests as the access table says",
            db.url.split(":").next().unwrap_or("")
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_totp_lockout_csrf_mandates_and_data_use() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let c = no_redirects();
        // Registration: bad check digit, weak password → field errors, nothing written.
        let r = c
            .post(format!("{u}/api/v1/auth/register"))
            .json(&json!({ "name": "赵六", "id_number": "110105194912310021", "phone": "1370000", "password": "weak" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        let rules: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["rule"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["resident_id.check_digit", "phone.mobile", "password.length"]);
        let idn = {
            let body = "46010019850505321";
            format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap())
        };
        let password = "Zhao#Liu2026";
        // The number is proved by a text message (the demo prints it).
        common::ask_code(&u, "13712345678", "register").await;
        let code = srv.demo_sms("13712345678", "register");
        let r = c
            .post(format!("{u}/api/v1/auth/register"))
            .json(&json!({ "name": "赵六", "id_number": idn, "phone": "13712345678", "password": password, "sms_code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        // The same ID number again, from another proved number: refused without saying why.
        common::ask_code(&u, "13712345679", "register").await;
        let code = srv.demo_sms("13712345679", "register");
        let again = c
            .post(format!("{u}/api/v1/auth/register"))
            .json(&json!({ "name": "赵六", "id_number": idn, "phone": "13712345679", "password": password, "sms_code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 409);
        let v: Value = again.json().await.unwrap();
        assert_eq!(v["errors"][0]["rule"], "registration.refused");

        // Staff need the second factor; a replayed code is refused.
        let secret = srv.demo_secret("hk.clerk");
        let (st, v, _) = login_raw(&u, "hk.clerk", PW, None).await;
        assert_eq!(st, 401);
        assert_eq!(v["errors"][0]["rule"], "totp.required");
        let code = totp_now(&secret);
        let (st, _, clerk_cookie) = login_raw(&u, "hk.clerk", PW, Some(code.clone())).await;
        assert_eq!(st, 200);
        let (st, v, _) = login_raw(&u, "hk.clerk", PW, Some(code)).await;
        assert_eq!(st, 422);
        assert_eq!(v["errors"][0]["rule"], "totp.replayed");

        // Lockout after five failures: even the right password is refused.
        for _ in 0..5 {
            let (st, _, _) = login_raw(&u, "13712345678", "Wrong#Pass123", None).await;
            assert_eq!(st, 422);
        }
        let (st, v, _) = login_raw(&u, "13712345678", password, None).await;
        assert_eq!(st, 422);
        assert_eq!(v["errors"][0]["rule"], "account.locked");

        // Wang logs in; a write without the CSRF header is refused and changes nothing.
        let wang = logged_in(&u, "13800138000", None).await;
        let ck = wang.cookie.clone().unwrap();
        let grant = json!({ "grantee_id_number": idn, "grantee_name": "赵六", "scope": { "type": "all" },
            "valid_from": "2026-01-01", "valid_until": "2026-02-01" });
        let r = c
            .post(format!("{u}/api/v1/mandates"))
            .header("cookie", &ck)
            .json(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        // An expired mandate is refused with the field named.
        let r = c
            .post(format!("{u}/api/v1/mandates"))
            .header("cookie", &ck)
            .header("x-csrf-token", &wang.csrf)
            .json(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["errors"][0]["rule"], "mandate.expired");
        let mut grant = grant;
        grant["valid_from"] = json!(yiwang_store::mandates::today().to_string());
        grant["valid_until"] = json!((yiwang_store::mandates::today() + chrono::Duration::days(365)).to_string());
        let r = c
            .post(format!("{u}/api/v1/mandates"))
            .header("cookie", &ck)
            .header("x-csrf-token", &wang.csrf)
            .json(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

        // Wang acts for his enterprise (he registered it as its agent in the demo).
        let mine: Value = c
            .get(format!("{u}/api/v1/me/mandates"))
            .header("cookie", &ck)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ent = mine["received"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["kind"] == "agent")
            .unwrap();
        let principal = format!("legal:{}", ent["principal"]["id"].as_str().unwrap());
        let r = c
            .put(format!("{u}/api/v1/me/acting-for"))
            .header("cookie", &ck)
            .header("x-csrf-token", &wang.csrf)
            .json(&json!({ "principal": principal }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let me: Value = c
            .get(format!("{u}/api/v1/me"))
            .header("cookie", &ck)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["acting_for"], principal.as_str());
        let r = c
            .put(format!("{u}/api/v1/me/acting-for"))
            .header("cookie", &ck)
            .header("x-csrf-token", &wang.csrf)
            .json(&json!({ "principal": "legal:nobody" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);

        // A staff read lands in the person's data-use log; unmasking in the security audit.
        let clerk_ck = clerk_cookie.unwrap();
        let r = c
            .get(format!("{u}/api/v1/persons?id_number=11010519491231002X"))
            .header("cookie", &clerk_ck)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "a purpose is required");
        let p: Value = c
            .get(format!(
                "{u}/api/v1/persons?id_number=11010519491231002X&purpose=%E6%A0%B8%E9%AA%8C"
            ))
            .header("cookie", &clerk_ck)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(p["id_number"], "110105********002X");
        let pid = p["id"].as_str().unwrap();
        let full: Value = c
            .post(format!("{u}/api/v1/persons/{pid}/unmask"))
            .bearer_auth(TOKEN)
            .json(&json!({ "fields": ["id_number"], "purpose": "核验原件" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(full["id_number"], "11010519491231002X");
        let uses: Vec<Value> = c
            .get(format!("{u}/api/v1/me/data-use"))
            .header("cookie", &ck)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The demo's 免申即享 policies read his shared data too (their own records, with the
        // policy's purpose); the reads by staff are these two.
        let by_staff = uses
            .iter()
            .filter(|x| !x["actor_id"].as_str().unwrap_or("").starts_with("policy:"))
            .count();
        assert_eq!(by_staff, 2, "{uses:?}");
        assert!(
            uses.iter()
                .any(|x| x["actor_name"] == "陈小窗" && x["purpose"] == "核验")
        );
        assert!(uses.iter().any(|x| x["unmasked"] == true));
        let audit: Vec<Value> = c
            .get(format!("{u}/api/v1/audit?category=security&limit=1000"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a["action"].as_str().unwrap()).collect();
        for a in [
            "login.succeeded",
            "login.failed",
            "account.locked",
            "person.unmasked",
            "roles.assigned",
        ] {
            assert!(actions.contains(&a), "{a} missing from the security audit");
        }

        // Logout everywhere ends the other session too.
        let second = logged_in(&u, "13800138000", None).await;
        let r = c
            .post(format!("{u}/api/v1/auth/logout-everywhere"))
            .header("cookie", &ck)
            .header("x-csrf-token", &wang.csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = c
            .get(format!("{u}/api/v1/me"))
            .header("cookie", second.cookie.unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);

        // No password, TOTP secret or recovery code in the ledger (events store ciphertexts).
        let (code, out, err) = common::cli(&db, &["ledger", "verify"]);
        assert_eq!(code, 0, "{out}{err}");
        let pool = yiwang_store::db::pool(&db.url, 1).await.unwrap();
        let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM events")
            .fetch_all(&pool)
            .await
            .unwrap();
        for b in &bodies {
            assert!(
                !b.contains(PW) && !b.contains(password) && !b.contains(&secret) && !b.contains("argon2"),
                "{b}"
            );
            assert!(
                !b.contains("11010519491231002X"),
                "a clear ID number in the ledger: {b}"
            );
        }
        pool.close().await;
        db.cleanup().await;
    }
}
