//! 一件事 end to end, on SQLite and PostgreSQL: a real `yiwang serve --demo` with the demo's
//! bundles (开办餐饮店, 新生儿出生, 残疾人服务). The portal's list and search ("开饭店"
//! finds the bundle before any item), the merged guide over the API and as a page
//! (questions asked once, materials merged, the business licence produced on the way, the
//! savings), bad answers with the field named; a catalogue editor of the lead department
//! defines a bundle (a cycle and another department's bundle refused), a reviewer of the
//! region publishes it (four eyes).

mod common;

use common::{Server, Session, client, rules};
use serde_json::{Value, json};
use yiwang_store::testing::TestDb;

async fn get(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_are_found_guided_defined_and_published() {
    for db in TestDb::both().await {
        let srv = Server::start(&db, &["--demo"]);
        let u = srv.url.clone();
        let c = client();

        // The demo's three bundles, published.
        let (st, list) = get(&c, &format!("{u}/api/v1/bundles")).await;
        assert_eq!(st, 200);
        let codes: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["460100YJS0001", "460100YJS0002", "460100YJS0003"]);
        let (_, named) = get(&c, &format!("{u}/api/v1/bundles?q=开饭店需要哪些证")).await;
        assert_eq!(named[0]["name"], "开办餐饮店");

        // The search API and page show the bundle before the items.
        let (_, found) = get(&c, &format!("{u}/api/v1/services?q=开饭店")).await;
        assert_eq!(found["bundles"][0]["code"], "460100YJS0001", "{found}");
        assert!(found["hits"].as_array().is_some_and(|h| !h.is_empty()));
        let page = c
            .get(format!("{u}/services?q=开饭店"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let bundle_at = page.find("data-testid=\"bundle-hits\"").expect("a bundle hit");
        assert!(page[bundle_at..].contains("/bundles/460100YJS0001"));
        if let Some(item_at) = page.find("data-testid=\"hit\"") {
            assert!(bundle_at < item_at, "the bundle comes first");
        }
        assert!(
            !page.contains("data-testid=\"near-miss\""),
            "a bundle is named as searched"
        );

        // The merged guide: no outdoor sign → that member does not apply; the business
        // licence every other member asks for is produced by the first; questions the
        // members share (who applies) asked once.
        let (st, g) = get(
            &c,
            &format!("{u}/api/v1/bundles/460100YJS0001/guide?outdoor_sign=no&proxy=self"),
        )
        .await;
        assert_eq!(st, 200, "{g}");
        let need = |key: &str| {
            g["guide"]["members"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["key"] == key)
                .map(|m| m["need"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert_eq!(need("hwzp"), "not_needed");
        assert_eq!(need("spjy"), "needed");
        let licence = g["guide"]["materials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["material"]["name"] == "营业执照")
            .unwrap()
            .clone();
        assert_eq!(licence["produced_by"], "yyzz");
        assert_eq!(licence["members"].as_array().unwrap().len(), 3);
        let proxy: Vec<&Value> = g["guide"]["questions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|q| q["question"]["key"] == "proxy")
            .collect();
        assert_eq!(proxy.len(), 1, "asked once");
        let s = &g["guide"]["savings"];
        assert_eq!(
            (s["separate_applications"].as_u64(), s["applications"].as_u64()),
            (Some(4), Some(1))
        );
        assert!(s["materials"].as_u64() < s["separate_materials"].as_u64());
        assert!(s["fields"].as_u64() < s["separate_fields"].as_u64());
        // A bad answer is named.
        let (st, e) = get(
            &c,
            &format!("{u}/api/v1/bundles/460100YJS0001/guide?outdoor_sign=maybe"),
        )
        .await;
        assert_eq!(st, 422);
        assert_eq!(
            rules(&e),
            [(
                "answers.outdoor_sign".to_string(),
                "questionnaire.unknown_choice".to_string()
            )]
        );
        assert_eq!(get(&c, &format!("{u}/api/v1/bundles/460100YJS9999/guide")).await.0, 404);
        // The guide page.
        let r = c
            .get(format!("{u}/bundles/460100YJS0002?insure=yes"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("data-testid=\"produced\"") && html.contains("出生医学证明"));

        // A catalogue editor of the market regulator defines a bundle it leads.
        let (_, depts) = get(&c, &format!("{u}/api/v1/departments")).await;
        let dept = |name: &str| {
            depts.as_array().unwrap().iter().find(|d| d["name"] == name).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (_, food) = get(&c, &format!("{u}/api/v1/bundles/460100YJS0001")).await;
        let member = |i: usize| food["doc"]["members"][i]["item_code"].as_str().unwrap().to_string();
        let mut doc = json!({
            "code": "460100YJS0009",
            "name": "小餐饮开业",
            "audience": "enterprise",
            "theme": "开办企业",
            "region_code": "460100",
            "level": "municipal",
            "lead_department_id": dept("海口市市场监督管理局"),
            "members": [
                {"key": "yyzz", "item_code": member(0)},
                {"key": "spjy", "item_code": member(1), "after": [{"member": "yyzz", "feeds": ["yyzz"]}]}
            ],
            "promised_days": 5,
            "channels": ["online"]
        });
        let editor = Session::login(&u, "hk.scjg", Some(srv.demo_secret("hk.scjg"))).await;
        let url = format!("{u}/api/v1/catalog/bundles");
        // A cycle: the field named, nothing written.
        let mut bad = doc.clone();
        bad["members"][0]["after"] = json!([{"member": "spjy"}]);
        let (st, e) = editor.post_json(&url, json!({ "doc": bad })).await;
        assert_eq!(st, 422, "{e}");
        assert!(
            rules(&e)
                .iter()
                .any(|(f, r)| f.starts_with("members[") && r == "bundles.dependency_cycle"),
            "{e}"
        );
        // Another department's bundle: not theirs to define.
        let mut foreign = doc.clone();
        foreign["lead_department_id"] = json!(dept("海口市卫生健康委员会"));
        assert_eq!(editor.post_json(&url, json!({ "doc": foreign })).await.0, 403);
        let (st, saved) = editor.post_json(&url, json!({ "doc": doc })).await;
        assert_eq!(st, 200, "{saved}");
        let id = saved["bundle"]["id"].as_str().unwrap().to_string();
        let (st, _) = editor
            .post_json(&format!("{u}/api/v1/catalog/bundles/{id}/submit"), json!({}))
            .await;
        assert_eq!(st, 200);
        // The editor holds no review permission; the region's catalogue manager publishes.
        let (st, _) = editor
            .post_json(&format!("{u}/api/v1/catalog/bundles/{id}/publish"), json!({}))
            .await;
        assert_eq!(st, 403);
        let reviewer = Session::login(&u, "hk.catalog", Some(srv.demo_secret("hk.catalog"))).await;
        let (st, v) = reviewer
            .post_json(&format!("{u}/api/v1/catalog/bundles/{id}/publish"), json!({}))
            .await;
        assert_eq!(st, 200, "{v}");
        let (_, list) = get(&c, &format!("{u}/api/v1/bundles")).await;
        assert_eq!(list.as_array().unwrap().len(), 4);
        let (st, managed) = reviewer.get_json(&format!("{u}/api/v1/catalog/bundles/{id}")).await;
        assert_eq!(st, 200);
        assert_eq!(managed["published"]["version"], 1);
        // A second draft with a changed limit stays unpublished until reviewed.
        doc["promised_days"] = json!(4);
        let (st, v) = editor.post_json(&url, json!({ "doc": doc, "base_version": 1 })).await;
        assert_eq!((st, v["version"].as_i64()), (200, Some(2)));
        let (_, pub_) = get(&c, &format!("{u}/api/v1/bundles/460100YJS0009")).await;
        assert_eq!(pub_["doc"]["promised_days"], 5);

        // Applying: a person logs in; an application that leaves the bundle's own question
        // unanswered is refused with that question named (the whole flow is in the store
        // tests); nobody else sees a bundle case.
        let url = format!("{u}/api/v1/bundles/460100YJS0002/applications");
        assert_eq!(c.post(&url).json(&json!({})).send().await.unwrap().status(), 401);
        let citizen = Session::login(&u, "13800138000", None).await;
        let (st, e) = citizen.post_json(&url, json!({})).await;
        assert_eq!(st, 422, "{e}");
        assert!(
            rules(&e).contains(&("answers.insure".to_string(), "bundles.unanswered".to_string())),
            "{e}"
        );
        let (st, _) = citizen.get_json(&format!("{u}/api/v1/bundle-cases/none")).await;
        assert_eq!(st, 404);
        db.cleanup().await;
    }
}
