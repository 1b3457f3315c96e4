//! 一件事 definitions, each test on SQLite and PostgreSQL: the four-eyes workflow of a
//! bundle's versions, the checks against the catalogue in force (an unpublished item, an
//! item of another region, a cycle of dependencies, two members asking one question with
//! different answers — each refused with its field), the merged guide (questions asked
//! once, materials merged, a licence produced on the way, one form, the savings), and the
//! flag on a bundle whose member item changed after publication.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use yiwang_core::bundles::BundleDoc;
use yiwang_core::catalog::{Action, Elements, Need, VersionState};
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::regions::NewRegion;
use yiwang_store::catalog::{Cmd as CatalogCmd, Dates};
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, Store, StoreError, bundles, catalog, orgs, regions};

fn m(a: &str) -> Meta {
    Meta::actor(a)
}

fn uscc(prefix: &str, n: u32) -> String {
    let body = format!("{prefix}{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap())
}

fn elements(name: &str, materials: Value, form: &[&str], questions: Value, result_type: Option<&str>) -> Elements {
    let mut v = json!({
        "name": name,
        "item_type": "public_service",
        "legal_basis": [{"law": "《中华人民共和国母婴保健法》", "article": "第二十三条", "text": "医疗保健机构和从事家庭接生的人员按照国务院卫生行政部门的规定，出具统一制发的新生儿出生医学证明。"}],
        "service_objects": ["natural_person"],
        "handling_forms": ["window", "online"],
        "statutory_limit": {"value": 20, "unit": "working_days"},
        "promised_limit": {"value": 5, "unit": "working_days"},
        "visits": 1,
        "visit_reason": "现场核验原件",
        "materials": materials,
        "questions": questions,
        "form": form.iter().map(|e| json!({"element": e, "required": true})).collect::<Vec<_>>(),
    });
    if let Some(t) = result_type {
        v["result"] = json!({"kind": "licence", "name": "出生医学证明", "licence_type": t});
    }
    serde_json::from_value(v).unwrap()
}

fn material(key: &str, name: &str) -> Value {
    json!({"key": key, "name": name, "kind": "certificate", "form": "electronic", "necessity": "required",
           "source": {"channel": "applicant"}})
}

async fn region(s: &Store, code: &str, name: &str, parent: Option<&str>) {
    s.write(
        m("admin"),
        Command::Regions(regions::Cmd::Create(NewRegion {
            code: code.into(),
            name: name.into(),
            name_en: None,
            parent_code: parent.map(Into::into),
        })),
    )
    .await
    .unwrap();
}

async fn department(s: &Store, name: &str, region: &str, n: u32) -> String {
    let w = s
        .write(
            m("admin"),
            Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                name: name.into(),
                uscc: uscc(&format!("11{region}"), n),
                region_code: region.into(),
                nature: DepartmentNature::StatutoryAuthority,
                parent_id: None,
                phone: None,
                address: None,
            })),
        )
        .await
        .unwrap();
    w.value["id"].as_str().unwrap().to_string()
}

async fn act(s: &Store, who: &str, entry_id: &str, a: Action) {
    s.write(
        m(who),
        Command::Catalog(Box::new(CatalogCmd::Act {
            entry_id: entry_id.into(),
            action: a,
        })),
    )
    .await
    .unwrap();
}

/// A basic entry and a department's item, both published; returns the item's entry id and code.
async fn item(s: &Store, e: Elements, dept: &str, publish: bool) -> (String, String) {
    let w = s
        .write(
            m("editor"),
            Command::Catalog(Box::new(CatalogCmd::CreateBasic {
                basic_code: None,
                region_code: "460000".into(),
                elements: e,
                dates: Dates::default(),
            })),
        )
        .await
        .unwrap();
    let basic_id = w.value["entry"]["id"].as_str().unwrap().to_string();
    let basic_code = w.value["entry"]["code"].as_str().unwrap().to_string();
    act(s, "editor", &basic_id, Action::Submit).await;
    act(s, "reviewer", &basic_id, Action::Publish).await;
    let w = s
        .write(
            m("editor"),
            Command::Catalog(Box::new(CatalogCmd::CreateItem {
                basic_code,
                department_id: dept.into(),
                own: Default::default(),
                dates: Dates::default(),
            })),
        )
        .await
        .unwrap();
    let id = w.value["entry"]["id"].as_str().unwrap().to_string();
    let code = w.value["entry"]["code"].as_str().unwrap().to_string();
    if publish {
        act(s, "editor", &id, Action::Submit).await;
        act(s, "reviewer", &id, Action::Publish).await;
    }
    (id, code)
}

struct World {
    lead: String,
    /// 出生医学证明签发, 出生登记, 医保参保 (海口), an unpublished item (海口), an item of 三亚.
    codes: Vec<String>,
    ids: Vec<String>,
}

/// The licence type of 出生医学证明 (its issuer's credit code and a serial).
fn cert_type() -> String {
    format!("{}001", uscc("11460100", 1))
}

async fn setup(s: &Arc<Store>) -> World {
    region(s, "460000", "海南省", None).await;
    region(s, "460100", "海口市", Some("460000")).await;
    region(s, "460200", "三亚市", Some("460000")).await;
    catalog::seed_dictionary(s).await.unwrap();
    let lead = department(s, "海口市卫生健康委员会", "460100", 1).await;
    let police = department(s, "海口市公安局", "460100", 2).await;
    let medical = department(s, "海口市医疗保障局", "460100", 3).await;
    let sanya = department(s, "三亚市公安局", "460200", 4).await;
    let married = json!([{"key": "married", "text": "父母是否已登记结婚？", "choices": [
        {"key": "yes", "text": "是", "adds": ["jhz"]}, {"key": "no", "text": "否", "adds": ["fhsm"]}]}]);
    let a = elements(
        "出生医学证明签发",
        json!([material("sfz", "父母居民身份证")]),
        &["newborn_name", "mother_name"],
        json!([]),
        Some(&cert_type()),
    );
    let b = elements(
        "出生登记",
        json!([
            material("csyxzm", "出生医学证明"),
            material("sfz", "父母居民身份证"),
            material("jhz", "结婚证"),
            material("fhsm", "非婚生育情况说明")
        ]),
        &["newborn_name", "household_address"],
        married.clone(),
        None,
    );
    let mut c_materials = vec![material("cert", "出生医学证明"), material("sfz", "父母 居民身份证")];
    c_materials[0]["source"] = json!({"channel": "government", "licence_type": cert_type()});
    let c = elements(
        "城乡居民医保参保登记",
        json!(c_materials),
        &["newborn_name"],
        json!([]),
        None,
    );
    let d = elements(
        "预防接种证办理",
        json!([material("sfz", "监护人居民身份证")]),
        &[],
        json!([]),
        None,
    );
    let e = elements(
        "出生登记（三亚）",
        json!([material("sfz", "父母居民身份证")]),
        &[],
        json!([]),
        None,
    );
    let mut codes = vec![];
    let mut ids = vec![];
    for (el, dept, publish) in [
        (a, &lead, true),
        (b, &police, true),
        (c, &medical, true),
        (d, &lead, false),
        (e, &sanya, true),
    ] {
        let (id, code) = item(s, el, dept, publish).await;
        ids.push(id);
        codes.push(code);
    }
    World { lead, codes, ids }
}

fn doc(w: &World) -> BundleDoc {
    serde_json::from_value(json!({
        "code": "460100YJS0001",
        "name": "新生儿出生",
        "aliases": ["生孩子"],
        "audience": "person",
        "theme": "出生",
        "region_code": "460100",
        "level": "municipal",
        "lead_department_id": w.lead,
        "members": [
            {"key": "cert", "item_code": w.codes[0]},
            {"key": "hukou", "item_code": w.codes[1], "after": [{"member": "cert", "feeds": ["csyxzm"]}]},
            {"key": "medical", "item_code": w.codes[2]}
        ],
        "questions": [{"key": "insure", "text": "是否为新生儿参加城乡居民医保？", "choices": [
            {"key": "yes", "text": "是", "adds": ["medical"]}, {"key": "no", "text": "否"}]}],
        "promised_days": 5,
        "channels": ["window", "online"],
        "on_refusal": "continue"
    }))
    .unwrap()
}

fn rules(e: StoreError) -> Vec<(String, String)> {
    match e {
        StoreError::Domain(d) => d.errors.into_iter().map(|f| (f.field, f.rule)).collect(),
        other => panic!("not a domain error: {other}"),
    }
}

#[tokio::test]
async fn a_bundle_is_defined_reviewed_by_four_eyes_and_published() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let d = doc(&w);
        let r = bundles::save(&s, m("editor"), d.clone(), None).await.unwrap();
        let id = r.value["bundle"]["id"].as_str().unwrap().to_string();
        assert_eq!(r.value["version"], 1);
        // Not yet on the portal.
        assert!(bundles::published_of(&s, "460100YJS0001").await.unwrap().is_none());
        bundles::act(&s, m("editor"), &id, Action::Submit).await.unwrap();
        // The editor cannot publish what they edited (四眼原则).
        let e = bundles::act(&s, m("editor"), &id, Action::Publish).await.unwrap_err();
        assert_eq!(rules(e), [("state".to_string(), "catalog.four_eyes".to_string())]);
        bundles::act(&s, m("reviewer"), &id, Action::Publish).await.unwrap();
        let (b, v) = bundles::published_of(&s, "460100YJS0001").await.unwrap().unwrap();
        assert_eq!(
            (b.published_version, b.open_state, v.state),
            (Some(1), None, VersionState::Published)
        );
        assert_eq!(bundles::published(&s).await.unwrap().len(), 1);
        // A second version: the first stays in force until the second is published.
        let mut d2 = d.clone();
        d2.promised_days = 4;
        let r = bundles::save(&s, m("editor"), d2, Some(1)).await.unwrap();
        assert_eq!(r.value["version"], 2);
        // A stale editor is told so.
        let e = bundles::save(&s, m("editor"), d.clone(), Some(1)).await.unwrap_err();
        assert_eq!(rules(e), [("base_version".to_string(), "catalog.stale".to_string())]);
        let (_, v) = bundles::published_of(&s, "460100YJS0001").await.unwrap().unwrap();
        assert_eq!(v.doc.promised_days, 5);
        bundles::act(&s, m("editor"), &id, Action::Submit).await.unwrap();
        bundles::act(&s, m("reviewer"), &id, Action::Publish).await.unwrap();
        let (_, v) = bundles::published_of(&s, "460100YJS0001").await.unwrap().unwrap();
        assert_eq!((v.version, v.doc.promised_days), (2, 4));
        let v1 = bundles::version(&s, &id, 1).await.unwrap().unwrap();
        assert!(v1.until_ms.is_some(), "the first version is superseded");
        // The items it names are known to it.
        assert_eq!(bundles::bundles_of_item(&s, &w.codes[1]).await.unwrap(), vec![id]);
        // The ledger holds it: verification finds every row's events.
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_definitions_are_refused_at_save_with_the_field_named() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        // An unpublished item, an item of another city.
        let mut d = doc(&w);
        d.members[2].item_code = w.codes[3].clone();
        d.members
            .push(serde_json::from_value(json!({"key": "sanya", "item_code": w.codes[4]})).unwrap());
        let r = rules(bundles::save(&s, m("editor"), d, None).await.unwrap_err());
        assert!(
            r.contains(&("members[2].item_code".into(), "bundles.unpublished_item".into())),
            "{r:?}"
        );
        assert!(
            r.contains(&("members[3].item_code".into(), "bundles.foreign_region".into())),
            "{r:?}"
        );
        // A cycle of dependencies.
        let mut d = doc(&w);
        d.members[0].after = serde_json::from_value(json!([{"member": "hukou"}])).unwrap();
        let r = rules(bundles::save(&s, m("editor"), d, None).await.unwrap_err());
        assert!(
            r.iter()
                .any(|(f, rule)| f.starts_with("members[") && rule == "bundles.dependency_cycle"),
            "{r:?}"
        );
        // The bundle's own question uses a key a member asks with other answers.
        let mut d = doc(&w);
        d.questions[0].key = "married".into();
        let r = rules(bundles::save(&s, m("editor"), d, None).await.unwrap_err());
        assert!(
            r.contains(&("members[1].item_code".into(), "bundles.question_conflict".into())),
            "{r:?}"
        );
        // A lead department that does not exist.
        let mut d = doc(&w);
        d.lead_department_id = "nope".into();
        let r = rules(bundles::save(&s, m("editor"), d, None).await.unwrap_err());
        assert_eq!(
            r,
            [(
                "lead_department_id".to_string(),
                "bundles.unknown_department".to_string()
            )]
        );
        // Nothing was written.
        assert!(bundles::bundles(&s).await.unwrap().is_empty());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_merged_guide_asks_once_and_flags_a_changed_member() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let id = bundles::save(&s, m("editor"), doc(&w), None).await.unwrap().value["bundle"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        bundles::act(&s, m("editor"), &id, Action::Submit).await.unwrap();
        bundles::act(&s, m("reviewer"), &id, Action::Publish).await.unwrap();
        let answers: BTreeMap<String, String> = [("insure", "yes"), ("married", "yes")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let g = bundles::guide(&s, "460100YJS0001", &answers).await.unwrap().unwrap();
        assert!(g.changed_members.is_empty());
        assert!(g.guide.members.iter().all(|m| m.need == Need::Needed));
        let mats: Vec<(&str, Option<&str>)> = g
            .guide
            .materials
            .iter()
            .filter(|m| m.need == Need::Needed)
            .map(|m| (m.material.name.as_str(), m.produced_by.as_deref()))
            .collect();
        assert_eq!(
            mats,
            [
                ("父母居民身份证", None),
                ("出生医学证明", Some("cert")),
                ("结婚证", None)
            ]
        );
        let s_ = g.guide.savings;
        assert_eq!((s_.separate_applications, s_.applications), (3, 1));
        assert_eq!((s_.separate_materials, s_.materials), (6, 2));
        assert_eq!((s_.separate_fields, s_.fields), (5, 3));
        assert_eq!((s_.separate_days, s_.days), (15, 5));
        // A new version of a member item after publication: flagged for the managers.
        let e = catalog::entry_of(&s, &w.ids[1]).await.unwrap().unwrap();
        let mut el = catalog::version_of(&s, &e.id, e.published_version.unwrap())
            .await
            .unwrap()
            .unwrap()
            .elements;
        el.consult = "0898-12345".into();
        s.write(
            m("editor"),
            Command::Catalog(Box::new(CatalogCmd::SaveDraft {
                entry_id: e.id.clone(),
                elements: el,
                dates: Dates::default(),
                base_version: None,
            })),
        )
        .await
        .unwrap();
        act(&s, "editor", &e.id, Action::Submit).await;
        act(&s, "reviewer", &e.id, Action::Publish).await;
        let g = bundles::guide(&s, "460100YJS0001", &BTreeMap::new())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(g.changed_members, ["hukou"]);
        // Unknown answers: the field named.
        let bad: BTreeMap<String, String> = [("insure".to_string(), "maybe".to_string())].into();
        let r = rules(bundles::guide(&s, "460100YJS0001", &bad).await.unwrap_err());
        assert_eq!(
            r,
            [("answers.insure".to_string(), "questionnaire.unknown_choice".to_string())]
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bundles_travel_in_the_interchange_document() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let id = bundles::save(&s, m("editor"), doc(&w), None).await.unwrap().value["bundle"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        bundles::act(&s, m("editor"), &id, Action::Submit).await.unwrap();
        bundles::act(&s, m("reviewer"), &id, Action::Publish).await.unwrap();
        let exported = catalog::export(&s, catalog::ExportState::Published).await.unwrap();
        assert_eq!(exported.bundles, [doc(&w)]);
        let opts = catalog::ImportOptions {
            dry_run: false,
            submit: true,
            region_code: "460000".into(),
            chunk: 50,
        };
        // The same document again changes nothing.
        let only_bundles = |b: Vec<BundleDoc>| yiwang_core::catalog::CatalogDoc {
            bundles: b,
            ..Default::default()
        };
        let r = catalog::import(
            &s,
            m("importer"),
            &only_bundles(exported.bundles.clone()),
            &opts,
            &|_, _, _| {},
        )
        .await
        .unwrap();
        assert!(r.ok && r.unchanged == 1 && r.changed == 0, "{r:?}");
        // A bad bundle: the field named with its place in the document, nothing written.
        let mut bad = doc(&w);
        bad.code = "460100YJS0002".into();
        bad.members[2].item_code = w.codes[3].clone();
        let mut changed = doc(&w);
        changed.promised_days = 3;
        let r = catalog::import(
            &s,
            m("importer"),
            &only_bundles(vec![changed.clone(), bad]),
            &opts,
            &|_, _, _| {},
        )
        .await
        .unwrap();
        assert!(!r.ok);
        let paths: Vec<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"bundles[1].members[2].item_code"), "{paths:?}");
        assert!(bundles::bundle_by_code(&s, "460100YJS0002").await.unwrap().is_none());
        assert_eq!(bundles::bundle(&s, &id).await.unwrap().unwrap().open_version, None);
        // A changed bundle: a new version, submitted for review.
        let r = catalog::import(&s, m("importer"), &only_bundles(vec![changed]), &opts, &|_, _, _| {})
            .await
            .unwrap();
        assert!(r.ok && r.changed == 1, "{r:?}");
        let b = bundles::bundle(&s, &id).await.unwrap().unwrap();
        assert_eq!((b.open_version, b.open_state), (Some(2), Some(VersionState::Submitted)));
        db.cleanup().await;
    }
}

const SCAN: &[u8] = b"%PDF-1.4\n% a scanned ID card\ntrailer<<>>\n%%EOF\n";

#[tokio::test]
async fn an_application_numbers_one_bundle_case_and_starts_its_first_members_all_or_nothing() {
    use yiwang_core::bundles::BundleApplication;
    use yiwang_core::cases::{Channel, Provision, ProvisionKind};
    use yiwang_core::mandates::Subject;
    use yiwang_store::cases::Applicant;
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let id = bundles::save(&s, m("editor"), doc(&w), None).await.unwrap().value["bundle"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        bundles::act(&s, m("editor"), &id, Action::Submit).await.unwrap();
        bundles::act(&s, m("reviewer"), &id, Action::Publish).await.unwrap();
        let scan = yiwang_store::files::put(
            &s,
            m("account:mum"),
            "id.pdf",
            SCAN,
            yiwang_store::files::Visibility::Private,
        )
        .await
        .unwrap()
        .sm3;
        let id_number = {
            let body = "46010019900101002";
            format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap())
        };
        let applicant = Applicant {
            subject: Subject::Person("mum".into()),
            name: "李梅".into(),
            code: id_number,
        };
        let mut app = BundleApplication {
            answers: [("insure", "yes"), ("married", "yes")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            form: [
                ("newborn_name", json!("王小宝")),
                ("household_address", json!("海口市龙华区滨海大道 1 号")),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            materials: ["cert.sfz", "hukou.jhz"]
                .into_iter()
                .map(|k| {
                    (
                        k.to_string(),
                        Provision {
                            kind: ProvisionKind::Files,
                            files: vec![scan.clone()],
                            licence_id: None,
                            case_id: None,
                            originals_checked: None,
                        },
                    )
                })
                .collect(),
            commitment: false,
        };
        let sub = |app: &BundleApplication| bundles::BundleSubmission {
            code: "460100YJS0001".into(),
            applicant: applicant.clone(),
            channel: Channel::Online,
            assisted: false,
            application: app.clone(),
        };
        let head = s.head().await.unwrap();
        // The first member's form lacks the mother's name: refused with the member named,
        // and nothing is written.
        let r = rules(
            bundles::apply(&s, m("account:mum").with_idempotency("k1", "f1"), sub(&app))
                .await
                .unwrap_err(),
        );
        assert!(r.iter().any(|(f, _)| f == "members.cert.form.mother_name"), "{r:?}");
        assert_eq!(s.head().await.unwrap(), head);
        app.form.insert("mother_name".into(), json!("李梅"));
        let w1 = bundles::apply(&s, m("account:mum").with_idempotency("k1", "f2"), sub(&app))
            .await
            .unwrap();
        let bundle_case = w1.value["id"].as_str().unwrap().to_string();
        let members = w1.value["members"].as_array().unwrap();
        let state = |k: &str| {
            members
                .iter()
                .find(|m| m["member"] == k)
                .map(|m| m["state"].as_str().unwrap().to_string())
                .unwrap()
        };
        // The birth certificate starts at once; the registration and the insurance wait for it.
        assert_eq!(
            (
                state("cert").as_str(),
                state("hukou").as_str(),
                state("medical").as_str()
            ),
            ("started", "waiting", "waiting")
        );
        let sub_case = members.iter().find(|m| m["member"] == "cert").unwrap()["case_id"]
            .as_str()
            .unwrap()
            .to_string();
        let c = yiwang_store::cases::case(&s, &sub_case).await.unwrap().unwrap();
        assert_eq!(
            (c.item_code.as_str(), c.applicant.as_str()),
            (w.codes[0].as_str(), "person:mum")
        );
        assert_ne!(sub_case, bundle_case, "the bundle case has its own number");
        // A retry with the same key returns the first bundle case: no second one.
        let w2 = bundles::apply(&s, m("account:mum").with_idempotency("k1", "f2"), sub(&app))
            .await
            .unwrap();
        assert!(w2.replayed);
        assert_eq!(w2.value["id"], bundle_case);
        let (bc, ms) = bundles::bundle_case(&s, &bundle_case).await.unwrap().unwrap();
        assert_eq!((bc.name.as_str(), ms.len()), ("新生儿出生", 3));
        assert_eq!(bundles::bundle_cases_of(&s, "person:mum").await.unwrap().len(), 1);
        let hukou = ms.iter().find(|m| m.member_key == "hukou").unwrap();
        assert_eq!(
            (hukou.case_id.as_deref(), hukou.after_members.clone()),
            (None, vec!["cert".to_string()])
        );
        assert_eq!(hukou.fed.get("csyxzm").map(String::as_str), Some("cert"));
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

/// The licence type of 出生医学证明 and the lead department's seal, for the member results.
async fn results(s: &Store, w: &World) {
    use yiwang_core::seals::{Purpose, SealInput};
    s.write(
        m("admin"),
        Command::Seals(yiwang_store::seals::Cmd::Make(SealInput {
            department_id: w.lead.clone(),
            purpose: Purpose::Approval,
            name: None,
            valid_from: None,
            valid_until: None,
        })),
    )
    .await
    .unwrap();
    let t: yiwang_core::licences::LicenceType = serde_json::from_value(json!({
        "code": cert_type(), "name": "出生医学证明", "holder": "person",
        "validity": {"kind": "permanent"},
        "face": [{"element": "newborn_name", "label": "新生儿姓名", "required": true}]
    }))
    .unwrap();
    s.write(
        m("admin"),
        Command::Licences(Box::new(yiwang_store::licences::Cmd::DefineType {
            department_id: w.lead.clone(),
            t,
        })),
    )
    .await
    .unwrap();
}

/// 李梅's resident ID number.
fn mum_id() -> String {
    let body = "46010019900101002";
    format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap())
}

/// Registers 李梅 (a licence is used in place of a material only by a registered holder).
async fn mum(s: &Store) -> yiwang_core::mandates::Subject {
    let input = yiwang_core::accounts::PersonInput {
        name: "李梅".into(),
        id_number: mum_id(),
        phone: "13900139001".into(),
        address: None,
        password: "Demo#2026yw-mum".into(),
        sms_code: None,
    };
    let p = yiwang_store::accounts::register_person(s, m("system:test"), &input, None)
        .await
        .unwrap();
    yiwang_core::mandates::Subject::Person(p.person_id)
}

/// Publishes the bundle (with the given refusal policy and code) and applies for it as
/// 李梅 with every member; returns the bundle case's number.
async fn apply_birth(
    s: &Store,
    w: &World,
    who: &yiwang_core::mandates::Subject,
    code: &str,
    on_refusal: &str,
) -> String {
    use yiwang_core::bundles::BundleApplication;
    use yiwang_core::cases::{Channel, Provision, ProvisionKind};
    let mut d = doc(w);
    d.code = code.into();
    d.on_refusal = serde_json::from_value(json!(on_refusal)).unwrap();
    let id = bundles::save(s, m("editor"), d, None).await.unwrap().value["bundle"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    bundles::act(s, m("editor"), &id, Action::Submit).await.unwrap();
    bundles::act(s, m("reviewer"), &id, Action::Publish).await.unwrap();
    let scan = yiwang_store::files::put(
        s,
        m("account:mum"),
        "id.pdf",
        SCAN,
        yiwang_store::files::Visibility::Private,
    )
    .await
    .unwrap()
    .sm3;
    let file = Provision {
        kind: ProvisionKind::Files,
        files: vec![scan],
        licence_id: None,
        case_id: None,
        originals_checked: None,
    };
    let app = BundleApplication {
        answers: [("insure", "yes"), ("married", "yes")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        form: [
            ("newborn_name", json!("王小宝")),
            ("mother_name", json!("李梅")),
            ("household_address", json!("海口市龙华区滨海大道 1 号")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        materials: [("cert.sfz".to_string(), file.clone()), ("hukou.jhz".to_string(), file)].into(),
        commitment: false,
    };
    let w = bundles::apply(
        s,
        m("account:mum"),
        bundles::BundleSubmission {
            code: code.into(),
            applicant: yiwang_store::cases::Applicant {
                subject: who.clone(),
                name: "李梅".into(),
                code: mum_id(),
            },
            channel: Channel::Online,
            assisted: false,
            application: app,
        },
    )
    .await
    .unwrap();
    w.value["id"].as_str().unwrap().to_string()
}

/// A member's sub-case, by key.
async fn sub_case(s: &Store, bc: &str, key: &str) -> Option<String> {
    let (_, ms) = bundles::bundle_case(s, bc).await.unwrap().unwrap();
    ms.into_iter().find(|m| m.member_key == key).unwrap().case_id
}

async fn member_states(s: &Store, bc: &str) -> Vec<(String, String)> {
    let (_, ms) = bundles::bundle_case(s, bc).await.unwrap().unwrap();
    ms.into_iter().map(|m| (m.member_key, m.state)).collect()
}

/// Takes a sub-case through its department's steps to a decision.
async fn decide(s: &Store, id: &str, approve: bool) {
    use yiwang_core::cases::{Action as A, Party, State};
    use yiwang_core::catalog::StepRole;
    for _ in 0..10 {
        let c = yiwang_store::cases::case(s, id).await.unwrap().unwrap();
        let (p, a) = match (c.state, c.steps.get(c.step as usize)) {
            (State::Submitted, _) => (Party::Clerk, A::Accept),
            (State::Accepted, Some(StepRole::Decide)) => (
                Party::Decider,
                A::Decide {
                    approve,
                    reason: if approve {
                        String::new()
                    } else {
                        "不符合条件".into()
                    },
                },
            ),
            (State::Accepted, Some(StepRole::Review)) => (
                Party::Reviewer,
                A::Complete {
                    opinion: "同意".into()
                },
            ),
            (State::Accepted, _) => (
                Party::Clerk,
                A::Complete {
                    opinion: "同意".into()
                },
            ),
            _ => return,
        };
        yiwang_store::cases::act(s, m(&format!("staff:{}", p.as_str())), id, p, a)
            .await
            .unwrap();
    }
    panic!("case {id} was not decided");
}

#[tokio::test]
async fn a_granted_member_releases_its_successors_with_its_licence_and_one_delivery_concludes() {
    use yiwang_core::bundles::BundleState;
    use yiwang_core::cases::{DeliveryMethod, ProvisionKind, State};
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        results(&s, &w).await;
        let who = mum(&s).await;
        let bc = apply_birth(&s, &w, &who, "460100YJS0001", "continue").await;
        // Nothing is decided yet: nothing moves.
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), None);
        let cert = sub_case(&s, &bc, "cert").await.unwrap();
        decide(&s, &cert, true).await;
        let licence = yiwang_store::cases::case(&s, &cert).await.unwrap().unwrap().licence_id;
        assert!(licence.is_some(), "the birth certificate is issued as an e-licence");
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), Some(BundleState::Open));
        // Moving on twice starts nothing twice.
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), None);
        assert_eq!(
            member_states(&s, &bc).await,
            [("cert", "granted"), ("hukou", "started"), ("medical", "started")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        // The insurance asked for the certificate's licence type: it receives the licence;
        // the registration's own material is provided by the certificate's case.
        let medical = sub_case(&s, &bc, "medical").await.unwrap();
        let (app, _) = yiwang_store::cases::application(&s, &medical).await.unwrap().unwrap();
        assert_eq!(
            (app.materials["cert"].kind, app.materials["cert"].licence_id.clone()),
            (ProvisionKind::Licence, licence)
        );
        assert_eq!(app.form["newborn_name"], "王小宝");
        let hukou = sub_case(&s, &bc, "hukou").await.unwrap();
        let (app, _) = yiwang_store::cases::application(&s, &hukou).await.unwrap().unwrap();
        assert_eq!(
            (app.materials["csyxzm"].kind, app.materials["csyxzm"].case_id.as_deref()),
            (ProvisionKind::Result, Some(cert.as_str()))
        );
        assert_eq!(app.materials["jhz"].kind, ProvisionKind::Files);
        // The two run in parallel; once both are decided the bundle awaits one delivery.
        decide(&s, &medical, true).await;
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), Some(BundleState::Open));
        decide(&s, &hukou, true).await;
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), Some(BundleState::Decided));
        let delivered = bundles::deliver(&s, &m("staff:clerk"), &bc, DeliveryMethod::Electronic, None)
            .await
            .unwrap();
        assert_eq!(delivered.len(), 3, "every result in one delivery");
        for id in [&cert, &hukou, &medical] {
            let c = yiwang_store::cases::case(&s, id).await.unwrap().unwrap();
            assert_eq!(c.state, State::Concluded);
        }
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), Some(BundleState::Concluded));
        let (c, _) = bundles::bundle_case(&s, &bc).await.unwrap().unwrap();
        assert_eq!(c.state, "concluded");
        // One receipt of the lead department lists every member with its sub-case.
        let v = bundles::view(&s, &bc).await.unwrap().unwrap();
        let receipt = &v.notices[0];
        assert_eq!(receipt.kind, yiwang_core::cases::NoticeKind::Receipt);
        assert_eq!(receipt.body["members"].as_array().unwrap().len(), 3);
        assert_eq!(receipt.body["members"][0]["case_id"], cert.as_str());
        assert!(
            yiwang_store::cases::verify_notice(&s, receipt).await.unwrap(),
            "sealed by the lead department"
        );
        // One acceptance once the members started at filing were accepted: the members that
        // waited for the certificate are listed as waiting (their own departments accept them).
        let acceptance = &v.notices[1];
        assert_eq!(acceptance.kind, yiwang_core::cases::NoticeKind::Acceptance);
        let statuses: Vec<_> = acceptance.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["accepted", "waiting", "waiting"]);
        assert_eq!(v.notices.len(), 2);
        // The applicant was told of each step in one notification, about the bundle case.
        let notes = yiwang_store::cases::notifications(&s, &who).await.unwrap();
        let about: Vec<_> = notes
            .iter()
            .filter(|n| n.case_id.as_deref() == Some(bc.as_str()))
            .collect();
        assert_eq!(about.len(), 3, "{about:?}");
        assert!(
            about.iter().any(|n| n.text_zh.contains("已办结：准予 3 项")),
            "{about:?}"
        );
        let e = bundles::deliver(&s, &m("staff:clerk"), &bc, DeliveryMethod::Electronic, None)
            .await
            .unwrap_err();
        assert_eq!(
            rules(e),
            [("bundle_case_id".to_string(), "bundles.nothing_to_deliver".to_string())]
        );
        // The national export names each sub-case's bundle case and member.
        let today = yiwang_store::today();
        let records = yiwang_store::cases::national(&s, today, today).await.unwrap();
        let of = |id: &str| {
            records
                .iter()
                .find(|r| r.acceptance["case_number"] == id)
                .and_then(|r| r.bundle.clone())
                .unwrap()
        };
        assert_eq!(of(&hukou)["bundle_case_number"], bc.as_str());
        assert_eq!(of(&medical)["member_key"], "medical");
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_refused_member_goes_as_the_definition_says() {
    use yiwang_core::bundles::BundleState;
    use yiwang_core::cases::{Action as A, Party, State};
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        results(&s, &w).await;
        let who = mum(&s).await;
        // Two departments ask for corrections: the applicant sees them together.
        let bc = apply_birth(&s, &w, &who, "460100YJS0004", "continue").await;
        decide(&s, &sub_case(&s, &bc, "cert").await.unwrap(), true).await;
        bundles::advance(&s, &bc).await.unwrap();
        for (k, what) in [("hukou", "结婚证：复印件不清晰"), ("medical", "身份证：已过有效期")] {
            let id = sub_case(&s, &bc, k).await.unwrap();
            yiwang_store::cases::act(
                &s,
                m("staff:clerk"),
                &id,
                Party::Clerk,
                A::RequestCorrection {
                    items: vec![yiwang_core::cases::CorrectionItem {
                        target: "sfz".into(),
                        problem: what.into(),
                    }],
                },
            )
            .await
            .unwrap();
        }
        let v = bundles::view(&s, &bc).await.unwrap().unwrap();
        let asked: Vec<(&str, &str)> = v
            .correcting()
            .iter()
            .map(|m| (m.member_key.as_str(), m.corrections[0].problem.as_str()))
            .collect();
        assert_eq!(
            asked,
            [("hukou", "结婚证：复印件不清晰"), ("medical", "身份证：已过有效期")]
        );
        assert_eq!(v.members[0].member_key, "cert", "in the definition's order");
        // A refused predecessor: what waits for it will not start.
        let bc = apply_birth(&s, &w, &who, "460100YJS0001", "continue").await;
        let cert = sub_case(&s, &bc, "cert").await.unwrap();
        decide(&s, &cert, false).await;
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), Some(BundleState::Decided));
        assert_eq!(
            member_states(&s, &bc).await,
            [("cert", "refused"), ("hukou", "cancelled"), ("medical", "cancelled")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        for (code, policy) in [("460100YJS0002", "continue"), ("460100YJS0003", "stop")] {
            let bc = apply_birth(&s, &w, &who, code, policy).await;
            let cert = sub_case(&s, &bc, "cert").await.unwrap();
            decide(&s, &cert, true).await;
            bundles::advance(&s, &bc).await.unwrap();
            let hukou = sub_case(&s, &bc, "hukou").await.unwrap();
            let medical = sub_case(&s, &bc, "medical").await.unwrap();
            yiwang_store::cases::act(
                &s,
                m("staff:clerk"),
                &hukou,
                Party::Clerk,
                A::Refuse {
                    reason: "不属于本机关管辖".into(),
                    basis: "《中华人民共和国行政许可法》第三十二条".into(),
                },
            )
            .await
            .unwrap();
            bundles::advance(&s, &bc).await.unwrap();
            let med = yiwang_store::cases::case(&s, &medical).await.unwrap().unwrap();
            let notes = yiwang_store::cases::notifications(&s, &who).await.unwrap();
            let told = notes
                .iter()
                .find(|n| n.case_id.as_deref() == Some(bc.as_str()) && n.text_zh.contains("未获准予"))
                .unwrap();
            if policy == "continue" {
                assert_eq!(med.state, State::Submitted, "the others go on");
                assert!(told.text_zh.contains("其余事项继续办理"), "{}", told.text_zh);
                let (c, _) = bundles::bundle_case(&s, &bc).await.unwrap().unwrap();
                assert_eq!(c.state, "open");
            } else {
                assert_eq!(med.state, State::Withdrawn, "withdrawn on the applicant's behalf");
                assert!(told.text_zh.contains("其余事项停止办理"), "{}", told.text_zh);
                // The withdrawal is seen next: every member is settled, the certificate awaits delivery.
                assert_eq!(bundles::advance(&s, &bc).await.unwrap(), Some(BundleState::Decided));
            }
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_bundle_is_accepted_in_one_notice_listing_each_member_with_tolerance_where_allowed() {
    use yiwang_core::bundles::{BundleApplication, BundleState};
    use yiwang_core::cases::{Action as A, Channel, NoticeKind, Party, Provision, ProvisionKind};
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        results(&s, &w).await;
        // 预防接种证: the vaccination record may follow after acceptance (容缺).
        let mut record = material("jzjl", "首针接种记录");
        record["necessity"] = json!("tolerated");
        let vacc = elements(
            "预防接种证办理",
            json!([material("jhr", "监护人居民身份证"), record]),
            &[],
            json!([]),
            None,
        );
        let (_, vacc) = item(&s, vacc, &w.lead, true).await;
        let mut d = doc(&w);
        d.code = "460100YJS0009".into();
        d.questions.clear();
        d.members = serde_json::from_value(json!([
            {"key": "cert", "item_code": w.codes[0]},
            {"key": "vacc", "item_code": vacc}
        ]))
        .unwrap();
        let id = bundles::save(&s, m("editor"), d, None).await.unwrap().value["bundle"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        bundles::act(&s, m("editor"), &id, Action::Submit).await.unwrap();
        bundles::act(&s, m("reviewer"), &id, Action::Publish).await.unwrap();
        let who = mum(&s).await;
        let scan = yiwang_store::files::put(
            &s,
            m("account:mum"),
            "id.pdf",
            SCAN,
            yiwang_store::files::Visibility::Private,
        )
        .await
        .unwrap()
        .sm3;
        let provision = |kind, files: Vec<String>| Provision {
            kind,
            files,
            licence_id: None,
            case_id: None,
            originals_checked: None,
        };
        let app = BundleApplication {
            answers: BTreeMap::new(),
            form: [("newborn_name", json!("王小宝")), ("mother_name", json!("李梅"))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            materials: [
                (
                    "cert.sfz".to_string(),
                    provision(ProvisionKind::Files, vec![scan.clone()]),
                ),
                ("vacc.jhr".to_string(), provision(ProvisionKind::Files, vec![scan])),
                ("vacc.jzjl".to_string(), provision(ProvisionKind::Tolerated, vec![])),
            ]
            .into(),
            commitment: false,
        };
        let written = bundles::apply(
            &s,
            m("account:mum"),
            bundles::BundleSubmission {
                code: "460100YJS0009".into(),
                applicant: yiwang_store::cases::Applicant {
                    subject: who.clone(),
                    name: "李梅".into(),
                    code: mum_id(),
                },
                channel: Channel::Online,
                assisted: false,
                application: app,
            },
        )
        .await
        .unwrap();
        let bc = written.value["id"].as_str().unwrap().to_string();
        let cert = sub_case(&s, &bc, "cert").await.unwrap();
        let vacc = sub_case(&s, &bc, "vacc").await.unwrap();
        let accept = |id: String| {
            let s = &s;
            async move {
                yiwang_store::cases::act(s, m("staff:clerk"), &id, Party::Clerk, A::Accept)
                    .await
                    .unwrap();
            }
        };
        // One department has accepted, the other not yet: no bundle acceptance.
        accept(cert.clone()).await;
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), None);
        accept(vacc.clone()).await;
        let row = yiwang_store::cases::case(&s, &vacc).await.unwrap().unwrap();
        assert_eq!(
            (row.route.as_str(), row.outstanding.clone()),
            ("tolerance", vec!["jzjl".to_string()])
        );
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), Some(BundleState::Open));
        // Issued once.
        assert_eq!(bundles::advance(&s, &bc).await.unwrap(), None);
        let v = bundles::view(&s, &bc).await.unwrap().unwrap();
        let kinds: Vec<_> = v.notices.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [NoticeKind::Receipt, NoticeKind::Acceptance]);
        let n = &v.notices[1];
        let listed: Vec<(&str, &str)> = n.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["case_id"].as_str().unwrap(), x["status"].as_str().unwrap()))
            .collect();
        assert_eq!(listed, [(cert.as_str(), "accepted"), (vacc.as_str(), "tolerance")]);
        assert_eq!(n.body["due_on"], v.due_on.to_string());
        assert!(
            yiwang_store::cases::verify_notice(&s, n).await.unwrap(),
            "sealed by the lead department"
        );
        let notes = yiwang_store::cases::notifications(&s, &who).await.unwrap();
        assert!(
            notes
                .iter()
                .any(|x| x.case_id.as_deref() == Some(bc.as_str()) && x.text_zh.contains("受理通知书已出具")),
            "{notes:?}"
        );
        db.cleanup().await;
    }
}
