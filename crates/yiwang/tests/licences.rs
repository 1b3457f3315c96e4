//! E-seals and e-licences end to end, on SQLite and PostgreSQL: a real `yiwang serve
//! --demo`, its API and the CLI. Issuing with field errors and nothing written; the PDF;
//! verification by identifier, QR payload and file, tampering refused with a reason; the
//! seal's signature checked by stock OpenSSL; the wallet, a presentation (亮证) and a grant
//! used by a department instead of a material, seen in the holder's data-use log; status
//! changes; seal rotation and revocation; the trust list refusing a forged copy;
//! `yiwang licence verify` exit codes.

mod common;

use common::{Server, Session, TOKEN, cli, client, rules};
use serde_json::{Value, json};
use yiwang_store::testing::TestDb;

/// 食品经营许可 of 海口市市场监督管理局 in the demo catalogue.
const FOOD_SERVICE: &str = "11460100000000113L3460100001000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_verify_wallet_reuse_and_revoke_over_http() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let anon = client();
        let officer = Session::login(&u, "hk.licence", Some(srv.demo_secret("hk.licence"))).await;

        // The demo defines the types; the officer issues for 海口市市场监督管理局.
        let (st, types) = officer.get_json(&format!("{u}/api/v1/licence-types")).await;
        assert_eq!(st, 200);
        let food = types
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"]["name"] == "食品经营许可证")
            .expect("demo food licence type")["type"]["code"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, depts) = officer.get_json(&format!("{u}/api/v1/departments")).await;
        let scjg = depts
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "海口市市场监督管理局")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, before) = officer.get_json(&format!("{u}/api/v1/licences")).await;
        let n_before = before.as_array().unwrap().len();
        assert!(n_before >= 1, "the demo licence of 海口椰风食品有限公司");

        // Bad input: every problem named, nothing written.
        let holder = common::uscc(4242);
        let (st, v) = officer
            .post_json(
                &format!("{u}/api/v1/licences"),
                json!({ "type_code": food, "department_id": scjg, "holder_name": "海口测试餐饮有限公司",
                        "holder_code": "91460100MA5T0000XX", "face": { "legal_representative": "张三" } }),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        let fields: Vec<String> = rules(&v).into_iter().map(|(f, _)| f).collect();
        assert!(fields.contains(&"holder_code".to_string()), "{v}");
        let (st, v) = officer
            .post_json(
                &format!("{u}/api/v1/licences"),
                json!({ "type_code": food, "department_id": scjg, "holder_name": "海口测试餐饮有限公司",
                        "holder_code": holder, "face": { "legal_representative": "张三" } }),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        assert!(rules(&v).iter().any(|(f, _)| f == "face.business_address"), "{v}");
        let (st, v) = officer
            .post_json(
                &format!("{u}/api/v1/licences"),
                json!({ "type_code": food, "department_id": scjg, "holder_name": "x", "holder_code": holder, "colour": "red" }),
            )
            .await;
        assert_eq!(st, 400, "{v}");
        assert_eq!(rules(&v)[0].0, "colour");
        assert_eq!(
            officer
                .get_json(&format!("{u}/api/v1/licences"))
                .await
                .1
                .as_array()
                .unwrap()
                .len(),
            n_before
        );

        // Issue.
        let (st, v) = officer
            .post_json(
                &format!("{u}/api/v1/licences"),
                json!({ "type_code": food, "department_id": scjg, "holder_name": "海口测试餐饮有限公司",
                        "holder_code": holder, "face": { "legal_representative": "张三",
                        "business_address": "海口市美兰区海府路 1 号", "food_business_type": "餐饮服务经营者" } }),
            )
            .await;
        assert_eq!(st, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        yiwang_core::licences::check_licence_id("id", &id).unwrap();
        let (st, d) = officer.get_json(&format!("{u}/api/v1/licences/{id}")).await;
        assert_eq!(st, 200, "{d}");
        let file = d["file"].clone();
        let qr = d["summary"]["qr_payload"].as_str().unwrap().to_string();
        // The QR code opens the public verification by identifier: a short address that
        // scans from a phone screen (the signed payload stays in the summary).
        let verify_url = d["verify_url"].as_str().unwrap();
        assert!(verify_url.ends_with(&format!("/verify?id={id}")), "{verify_url}");
        assert!(verify_url.len() < 120, "{} characters", verify_url.len());
        let page = anon
            .get(verify_url.replace("http://127.0.0.1:8080", &u))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("海口测试餐饮有限公司"));

        // The PDF: one small page.
        let r = officer.fetch(&format!("{u}/api/v1/licences/{id}/pdf")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let pdf = r.bytes().await.unwrap();
        assert!(
            pdf.starts_with(b"%PDF-") && pdf.len() < 1_000_000,
            "{} bytes",
            pdf.len()
        );

        // Public verification: by identifier, QR payload (or its URL) and file.
        let v: Value = anon
            .get(format!("{u}/api/v1/verify/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["licence"]["holder_name"], "海口测试餐饮有限公司");
        assert!(
            v["licence"].get("face").is_none(),
            "public verification shows no face data"
        );
        for q in [qr.clone(), format!("{u}/verify?p={qr}")] {
            let v: Value = anon
                .post(format!("{u}/api/v1/verify"))
                .json(&json!({ "qr": q }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(v["valid"], true, "{v}");
        }
        let verify_file = |f: Value| {
            let anon = anon.clone();
            let u = u.clone();
            async move {
                anon.post(format!("{u}/api/v1/verify"))
                    .json(&json!({ "file": f }))
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(verify_file(file.clone()).await["valid"], true);
        let mut tampered = file.clone();
        tampered["data"]["face"]["business_address"] = json!("海口市美兰区海府路 2 号");
        let v = verify_file(tampered).await;
        assert_eq!(v["valid"], false);
        assert!(v["reason"].as_str().unwrap().contains("signature"), "{v}");
        let mut chars: Vec<char> = qr.chars().collect();
        let k = chars.len() / 2;
        chars[k] = if chars[k] == 'x' { 'y' } else { 'x' };
        let v: Value = anon
            .post(format!("{u}/api/v1/verify"))
            .json(&json!({ "qr": chars.into_iter().collect::<String>() }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["valid"], false, "{v}");
        assert!(v["reason"].is_string());

        // Stock OpenSSL verifies the seal's signature over the licence.
        let seal_id = file["signature"]["seal_id"].as_str().unwrap();
        let seal: Value = anon
            .get(format!("{u}/api/v1/seals/{seal_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(seal["certified"], true);
        if std::process::Command::new("openssl").arg("version").output().is_ok() {
            let f: yiwang_core::licences::LicenceFile = serde_json::from_value(file.clone()).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let pk = hex::decode(seal["public_key"].as_str().unwrap()).unwrap();
            std::fs::write(dir.path().join("pub.pem"), yiwang_crypto::public_key_pem(&pk).unwrap()).unwrap();
            std::fs::write(
                dir.path().join("msg"),
                f.data
                    .signed_bytes(&f.signature.seal_id, &f.signature.key_id, f.signature.signed_at_ms),
            )
            .unwrap();
            std::fs::write(dir.path().join("sig"), hex::decode(&f.signature.value).unwrap()).unwrap();
            let o = std::process::Command::new("openssl")
                .args([
                    "pkeyutl",
                    "-verify",
                    "-pubin",
                    "-inkey",
                    "pub.pem",
                    "-rawin",
                    "-in",
                    "msg",
                    "-sigfile",
                    "sig",
                    "-digest",
                    "sm3",
                    "-pkeyopt",
                    "distid:1234567812345678",
                ])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
        } else {
            eprintln!("openssl not installed: licence signature interop not checked");
        }

        // The CLI verifies by identifier, file and QR payload, with exit codes.
        let dir = tempfile::tempdir().unwrap();
        let fpath = dir.path().join("licence.json");
        std::fs::write(&fpath, serde_json::to_vec(&file).unwrap()).unwrap();
        let mut bad = file.clone();
        bad["data"]["holder_name"] = json!("别人");
        let bpath = dir.path().join("bad.json");
        std::fs::write(&bpath, serde_json::to_vec(&bad).unwrap()).unwrap();
        for (arg, code) in [
            (id.clone(), 0),
            (fpath.display().to_string(), 0),
            (qr.clone(), 0),
            (bpath.display().to_string(), 1),
            (id.replace(".001.", ".002."), 1),
        ] {
            let (c, out, err) = cli(&db, &["licence", "verify", &arg]);
            assert_eq!(c, code, "licence verify {arg}: {out}{err}");
            if code == 1 {
                assert!(err.contains("NOT VALID"), "{err}");
            }
        }

        // The wallet: 王小明 holds the demo health certificate.
        let wang = Session::login(&u, "13800138000", None).await;
        let (st, w) = wang.get_json(&format!("{u}/api/v1/me/licences")).await;
        assert_eq!(st, 200);
        let cert = w
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["type_name"] == "食品从业人员健康证明")
            .expect("demo health certificate")["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            wang.get_json(&format!("{u}/api/v1/me/licences/{id}")).await.0,
            404,
            "not his"
        );
        let r = wang.fetch(&format!("{u}/api/v1/me/licences/{cert}/pdf")).await;
        assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
        // 亮证: a short-lived code anyone can check.
        let (st, p) = wang
            .post_json(&format!("{u}/api/v1/me/licences/{cert}/present"), json!({}))
            .await;
        assert_eq!(st, 200, "{p}");
        let token = p["token"].as_str().unwrap();
        let v: Value = anon
            .get(format!("{u}/api/v1/presentations/{token}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["face"]["gender"], "男");
        // One character inside the signature changed (to one it is not; not the last,
        // whose low bits may be padding).
        let i = token.len() - 10;
        let c = if &token[i..i + 1] == "A" { "B" } else { "A" };
        let forged = format!("{}{c}{}", &token[..i], &token[i + 1..]);
        assert_eq!(
            anon.get(format!("{u}/api/v1/presentations/{forged}"))
                .send()
                .await
                .unwrap()
                .status(),
            410
        );
        // A grant lets 海口市市场监督管理局 use it instead of a material.
        let (st, v) = wang
            .post_json(
                &format!("{u}/api/v1/me/licences/{cert}/grants"),
                json!({ "department_id": scjg, "purpose": "办理食品经营许可", "days": 200 }),
            )
            .await;
        assert_eq!(st, 422);
        assert_eq!(rules(&v)[0].0, "days");
        let (st, g) = wang
            .post_json(
                &format!("{u}/api/v1/me/licences/{cert}/grants"),
                json!({ "department_id": scjg, "purpose": "办理食品经营许可", "days": 30 }),
            )
            .await;
        assert_eq!(st, 201, "{g}");
        let grant = g["grant_id"].as_str().unwrap();
        let (st, used) = officer
            .post_json(&format!("{u}/api/v1/licence-uses"), json!({ "grant_id": grant }))
            .await;
        assert_eq!(st, 200, "{used}");
        assert_eq!(used["trust_level"], "A");
        assert_eq!(used["verification"]["valid"], true);
        let (_, log) = wang.get_json(&format!("{u}/api/v1/me/data-use")).await;
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["purpose"].as_str().unwrap_or("").contains("办理食品经营许可")),
            "{log}"
        );
        let (st, _) = wang
            .post_json(&format!("{u}/api/v1/me/grants/{grant}/revoke"), json!({}))
            .await;
        assert_eq!(st, 200);
        let (st, v) = officer
            .post_json(&format!("{u}/api/v1/licence-uses"), json!({ "grant_id": grant }))
            .await;
        assert_eq!(st, 409, "{v}");

        // 免提交: acting for his company, 王小明 need not submit the business licence the
        // food business licence guide asks for; as himself he holds none.
        let (st, none) = wang.get_json(&format!("{u}/api/v1/me/materials/{FOOD_SERVICE}")).await;
        assert_eq!(st, 200);
        assert_eq!(none, json!([]));
        let (_, mine) = wang.get_json(&format!("{u}/api/v1/me/mandates")).await;
        let ent = mine["received"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["kind"] == "agent")
            .unwrap();
        let principal = format!("legal:{}", ent["principal"]["id"].as_str().unwrap());
        let r = wang
            .c
            .put(format!("{u}/api/v1/me/acting-for"))
            .header("cookie", &wang.cookie)
            .header("x-csrf-token", &wang.csrf)
            .json(&json!({ "principal": principal }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (_, company) = wang.get_json(&format!("{u}/api/v1/me/licences")).await;
        let names: Vec<&str> = company
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["type_name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"营业执照") && names.contains(&"食品经营许可证"),
            "{names:?}"
        );
        let (st, covered) = wang.get_json(&format!("{u}/api/v1/me/materials/{FOOD_SERVICE}")).await;
        assert_eq!(st, 200, "{covered}");
        assert_eq!(covered[0]["material"], "yyzz", "{covered}");
        assert_eq!(covered[0]["licence_name"], "营业执照");

        // Status: revoked (吊销) shows in every verification; final.
        let (st, v) = officer
            .post_json(
                &format!("{u}/api/v1/licences/{id}/status"),
                json!({ "status": "revoked", "reason": "" }),
            )
            .await;
        assert_eq!(st, 422, "{v}");
        let (st, _) = officer
            .post_json(
                &format!("{u}/api/v1/licences/{id}/status"),
                json!({ "status": "revoked", "reason": "严重违反食品安全法" }),
            )
            .await;
        assert_eq!(st, 200);
        let v: Value = anon
            .get(format!("{u}/api/v1/verify/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["valid"], false);
        assert_eq!(v["licence"]["status"], "revoked");
        let (c, _, err) = cli(&db, &["licence", "verify", &qr]);
        assert_eq!(c, 1, "{err}");
        let (st, v) = officer
            .post_json(
                &format!("{u}/api/v1/licences/{id}/status"),
                json!({ "status": "valid", "reason": "撤回" }),
            )
            .await;
        assert_eq!(st, 409, "{v}");

        // Seals: rotation keeps old signatures valid; a revoked seal signs nothing more.
        let seals: Value = anon
            .get(format!("{u}/api/v1/seals?department_id={scjg}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let active = seals
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == "active")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = anon
            .post(format!("{u}/api/v1/seals/{active}/rotate"))
            .bearer_auth(TOKEN)
            .json(&json!({ "reason": "年度更换密钥" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let new_seal = r.json::<Value>().await.unwrap()["seal"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let v = verify_file(file.clone()).await;
        let sig_check = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "signature")
            .unwrap()
            .clone();
        assert_eq!(sig_check["ok"], true, "the old seal's signature holds: {v}");
        let r = anon
            .post(format!("{u}/api/v1/seals/{new_seal}/revoke"))
            .bearer_auth(TOKEN)
            .json(&json!({ "reason": "测试吊销" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (st, v) = officer
            .post_json(
                &format!("{u}/api/v1/licences"),
                json!({ "type_code": food, "department_id": scjg, "holder_name": "海口测试餐饮有限公司",
                        "holder_code": holder, "face": { "legal_representative": "张三",
                        "business_address": "海口市美兰区海府路 1 号", "food_business_type": "餐饮服务经营者" } }),
            )
            .await;
        assert_eq!(st, 409, "{v}");
        assert_eq!(rules(&v)[0].1, "licence.no_seal");

        // The trust list is signed: a forged copy is refused.
        let list: Value = anon
            .get(format!("{u}/api/v1/trust-list"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(list["keys"].as_array().unwrap().len() >= 4);
        let mut forged = list.clone();
        forged["node"] = json!("伪造节点");
        let r = anon
            .post(format!("{u}/api/v1/trust/import"))
            .bearer_auth(TOKEN)
            .json(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);

        // The ledger still verifies.
        let (c, out, err) = cli(&db, &["ledger", "verify"]);
        assert_eq!(c, 0, "{out}{err}");
        drop(srv);
        db.cleanup().await;
    }
}
