//! Catalogue store tests, each on SQLite and PostgreSQL: the version workflow with four
//! eyes, locked elements and their inheritance, scheduled publication and withdrawal,
//! lists, level differences, import (JSON, xlsx, CSV) with row-level errors and nothing
//! written, idempotent re-import and lossless export.

use serde_json::json;
use std::sync::Arc;
use yiwang_core::ErrorKind;
use yiwang_core::catalog::*;
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::regions::NewRegion;
use yiwang_store::catalog::{self, Cmd, Dates, ExportState, ImportOptions, ListKind, ServiceFilter, sheets};
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, Store, StoreError, ledger, now_ms, orgs, regions};

fn uscc(n: u32) -> String {
    let body = format!("11460100{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap())
}

async fn setup(s: &Arc<Store>) -> (String, String) {
    let m = || Meta::actor("admin");
    for (code, name, parent) in [
        ("460000", "海南省", None),
        ("460100", "海口市", Some("460000")),
        ("460200", "三亚市", Some("460000")),
    ] {
        s.write(
            m(),
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
    let mut ids = vec![];
    for (n, name, region) in [
        (1, "海口市市场监督管理局", "460100"),
        (2, "三亚市市场监督管理局", "460200"),
    ] {
        let w = s
            .write(
                m(),
                Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                    name: name.into(),
                    uscc: uscc(n),
                    region_code: region.into(),
                    nature: DepartmentNature::StatutoryAuthority,
                    parent_id: None,
                    phone: None,
                    address: None,
                })),
            )
            .await
            .unwrap();
        ids.push(w.value["id"].as_str().unwrap().to_string());
    }
    (ids[0].clone(), ids[1].clone())
}

fn licence() -> Elements {
    serde_json::from_value(json!({
        "name": "食品经营许可",
        "aliases": ["餐饮许可证"],
        "item_type": "licensing",
        "legal_basis": [{"law": "《中华人民共和国食品安全法》", "article": "第三十五条", "text": "国家对食品生产经营实行许可制度。"}],
        "conditions": "有与经营的食品品种、数量相适应的经营场所。",
        "statutory_limit": {"value": 10, "unit": "working_days"},
        "promised_limit": {"value": 5, "unit": "working_days"},
        "service_objects": ["enterprise", "unincorporated"],
        "handling_forms": ["window", "online"],
        "online": true,
        "online_depth": ["consult", "collect", "prereview", "accept", "handle", "feedback"],
        "steps": [{"name": "受理", "role": "accept", "days": 0}, {"name": "审查", "role": "review", "days": 1}, {"name": "决定", "role": "decide", "days": 1}],
        "materials": [
            {"key": "apply", "name": "食品经营许可申请书", "kind": "form", "originals": 1},
            {"key": "licence", "name": "营业执照复印件", "kind": "certificate", "copies": 1, "necessity": "tolerated"},
            {"key": "agent", "name": "授权委托书", "originals": 1}
        ],
        "questions": [{"key": "agent", "text": "是否委托他人办理？", "choices": [
            {"key": "yes", "text": "是", "adds": ["agent"]}, {"key": "no", "text": "否"}]}],
        "commitment": {"text": "本人承诺所填信息真实。", "check_days": 20},
        "fees": [],
        "themes": ["开办企业"]
    }))
    .unwrap()
}

fn write(cmd: Cmd) -> Command {
    Command::Catalog(Box::new(cmd))
}

async fn act(s: &Store, who: &str, id: &str, action: Action) -> Result<serde_json::Value, StoreError> {
    s.write(
        Meta::actor(who),
        write(Cmd::Act {
            entry_id: id.into(),
            action,
        }),
    )
    .await
    .map(|w| w.value)
}

fn rule(r: Result<impl std::fmt::Debug, StoreError>) -> String {
    match r {
        Err(StoreError::Domain(e)) => e.errors[0].rule.clone(),
        other => panic!("expected a domain error, got {other:?}"),
    }
}

/// Creates the basic entry and publishes it (editor ≠ reviewer); returns its id.
async fn published_basic(s: &Store) -> String {
    let w = s
        .write(
            Meta::actor("editor"),
            write(Cmd::CreateBasic {
                basic_code: None,
                region_code: "460000".into(),
                elements: licence(),
                dates: Dates::default(),
            }),
        )
        .await
        .unwrap();
    assert_eq!(w.value["entry"]["code"], "460100001000");
    let id = w.value["entry"]["id"].as_str().unwrap().to_string();
    act(s, "editor", &id, Action::Submit).await.unwrap();
    act(s, "reviewer", &id, Action::Publish).await.unwrap();
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_four_eyes_locked_elements_and_inheritance() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let (hk, sy) = setup(&s).await;
        let basic = published_basic(&s).await;
        // An item of each city, Sanya with its own promised limit.
        let mk = |dept: &str, own: serde_json::Value| Cmd::CreateItem {
            basic_code: "460100001000".into(),
            department_id: dept.into(),
            own: own.as_object().unwrap().clone(),
            dates: Dates::default(),
        };
        let w = s
            .write(Meta::actor("hk-editor"), write(mk(&hk, json!({}))))
            .await
            .unwrap();
        let hk_item = w.value["entry"]["id"].as_str().unwrap().to_string();
        let code = w.value["entry"]["code"].as_str().unwrap().to_string();
        assert_eq!(code, format!("{}3460100001000", uscc(1)));
        check_impl_code("c", &code).unwrap();
        // A locked element in the item's own elements is refused, naming it.
        let e = s
            .write(Meta::actor("sy-editor"), write(mk(&sy, json!({"name": "改个名字"}))))
            .await
            .unwrap_err();
        assert_eq!(rule(Err::<(), _>(e)), "catalog.locked_element");
        let w = s
            .write(
                Meta::actor("sy-editor"),
                write(mk(&sy, json!({"promised_limit": {"value": 3, "unit": "working_days"}}))),
            )
            .await
            .unwrap();
        let sy_item = w.value["entry"]["id"].as_str().unwrap().to_string();
        // Bad input: promised > statutory, nothing written.
        let before = s.head().await.unwrap();
        let mut bad = licence();
        bad.promised_limit = Some(TimeLimit::working_days(30));
        let r = s
            .write(
                Meta::actor("hk-editor"),
                write(Cmd::SaveDraft {
                    entry_id: hk_item.clone(),
                    elements: bad,
                    dates: Dates::default(),
                    base_version: None,
                }),
            )
            .await;
        assert_eq!(rule(r), "catalog.promised_exceeds_statutory");
        assert_eq!(s.head().await.unwrap(), before);
        // Four eyes: the editor cannot publish; the submitter cannot return.
        act(&s, "hk-editor", &hk_item, Action::Submit).await.unwrap();
        assert_eq!(
            rule(act(&s, "hk-editor", &hk_item, Action::Publish).await),
            "catalog.four_eyes"
        );
        assert_eq!(
            rule(act(&s, "hk-editor", &hk_item, Action::Return { reasons: "x".into() }).await),
            "catalog.four_eyes"
        );
        act(
            &s,
            "reviewer",
            &hk_item,
            Action::Return {
                reasons: "请补充办理地点".into(),
            },
        )
        .await
        .unwrap();
        let mut el = catalog::version_of(&s, &hk_item, 1).await.unwrap().unwrap().elements;
        assert_eq!(
            catalog::version_of(&s, &hk_item, 1)
                .await
                .unwrap()
                .unwrap()
                .return_reasons
                .as_deref(),
            Some("请补充办理地点")
        );
        el.location = "海口市政务服务中心".into();
        // A stale base version is refused.
        let r = s
            .write(
                Meta::actor("hk-editor"),
                write(Cmd::SaveDraft {
                    entry_id: hk_item.clone(),
                    elements: el.clone(),
                    dates: Dates::default(),
                    base_version: Some(0),
                }),
            )
            .await;
        assert_eq!(rule(r), "catalog.stale");
        s.write(
            Meta::actor("hk-editor"),
            write(Cmd::SaveDraft {
                entry_id: hk_item.clone(),
                elements: el.clone(),
                dates: Dates::default(),
                base_version: Some(1),
            }),
        )
        .await
        .unwrap();
        act(&s, "hk-editor", &hk_item, Action::Submit).await.unwrap();
        act(&s, "reviewer", &hk_item, Action::Publish).await.unwrap();
        act(&s, "sy-editor", &sy_item, Action::Submit).await.unwrap();
        act(&s, "reviewer", &sy_item, Action::Publish).await.unwrap();
        let now = now_ms();
        let svc = catalog::service(&s, &code, now).await.unwrap().unwrap();
        assert_eq!((svc.version, svc.department_name.as_str()), (1, "海口市市场监督管理局"));
        assert_eq!(svc.elements.location, "海口市政务服务中心");
        // Level differences: the promised limit differs, no locked element does.
        let d = catalog::differences(&s, "460100001000").await.unwrap();
        assert_eq!(d.items.len(), 2);
        assert!(d.differences.iter().any(|x| x.element == "promised_limit" && !x.locked));
        assert!(!d.differences.iter().any(|x| x.locked));
        // The basic entry renames the item: both items get a new published version with
        // the new name; the Haikou item's open draft is rebased.
        let mut draft = el.clone();
        draft.hours = "工作日 9:00-17:00".into();
        s.write(
            Meta::actor("hk-editor"),
            write(Cmd::SaveDraft {
                entry_id: hk_item.clone(),
                elements: draft,
                dates: Dates::default(),
                base_version: None,
            }),
        )
        .await
        .unwrap();
        let mut b = licence();
        b.name = "食品经营许可（含餐饮服务）".into();
        s.write(
            Meta::actor("editor"),
            write(Cmd::SaveDraft {
                entry_id: basic.clone(),
                elements: b,
                dates: Dates::default(),
                base_version: None,
            }),
        )
        .await
        .unwrap();
        act(&s, "editor", &basic, Action::Submit).await.unwrap();
        act(&s, "reviewer", &basic, Action::Publish).await.unwrap();
        let svc = catalog::service(&s, &code, now_ms()).await.unwrap().unwrap();
        assert_eq!(svc.elements.name, "食品经营许可（含餐饮服务）");
        assert_eq!(svc.version, 3, "v2 is the open draft, v3 the inherited publication");
        let draft = catalog::version_of(&s, &hk_item, 2).await.unwrap().unwrap();
        assert_eq!(
            (draft.state, draft.elements.name.as_str()),
            (VersionState::Draft, "食品经营许可（含餐饮服务）")
        );
        // History diff between two versions names paths.
        let changes = catalog::diff(&s, &hk_item, 1, 3).await.unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "name");
        let r = ledger::verify_store(&s).await.unwrap();
        assert!(r.ok(), "{r:?}");
        s.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_publication_withdrawal_and_lists() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let (hk, _) = setup(&s).await;
        published_basic(&s).await;
        let w = s
            .write(
                Meta::actor("e"),
                write(Cmd::CreateItem {
                    basic_code: "460100001000".into(),
                    department_id: hk.clone(),
                    own: Default::default(),
                    dates: Dates::default(),
                }),
            )
            .await
            .unwrap();
        let id = w.value["entry"]["id"].as_str().unwrap().to_string();
        let code = w.value["entry"]["code"].as_str().unwrap().to_string();
        // A past effective date is refused.
        let today = catalog::date_of(now_ms());
        let el = catalog::version_of(&s, &id, 1).await.unwrap().unwrap().elements;
        let save = |dates: Dates, el: Elements| Cmd::SaveDraft {
            entry_id: id.clone(),
            elements: el,
            dates,
            base_version: None,
        };
        let r = s
            .write(
                Meta::actor("e"),
                write(save(
                    Dates {
                        effective_from: Some(today - chrono::Duration::days(1)),
                        cancel_on: None,
                    },
                    el.clone(),
                )),
            )
            .await;
        assert_eq!(rule(r), "catalog.effective_in_past");
        act(&s, "e", &id, Action::Submit).await.unwrap();
        act(&s, "r", &id, Action::Publish).await.unwrap();
        // v2 scheduled for in ten days with another promised limit, cancelled in twenty.
        let mut el2 = el.clone();
        el2.promised_limit = Some(TimeLimit::working_days(2));
        s.write(
            Meta::actor("e"),
            write(save(
                Dates {
                    effective_from: Some(today + chrono::Duration::days(10)),
                    cancel_on: Some(today + chrono::Duration::days(20)),
                },
                el2,
            )),
        )
        .await
        .unwrap();
        act(&s, "e", &id, Action::Submit).await.unwrap();
        act(&s, "r", &id, Action::Publish).await.unwrap();
        let day = |d: i64| catalog::day_start_ms(today + chrono::Duration::days(d)) + 3_600_000;
        let at = |t: i64| {
            let s = s.clone();
            let code = code.clone();
            async move { catalog::service(&s, &code, t).await.unwrap().map(|x| x.version) }
        };
        assert_eq!(at(now_ms()).await, Some(1));
        assert_eq!(at(day(10)).await, Some(2));
        assert_eq!(at(day(19)).await, Some(2));
        assert_eq!(at(day(20)).await, None, "withdrawn on its planned cancellation date");
        // Lists: it is a licence, allows 告知承诺 and 容缺, is fully online, no fee.
        let list = |k: ListKind| {
            let s = s.clone();
            async move {
                catalog::services(
                    &s,
                    &ServiceFilter {
                        list: Some(k),
                        ..Default::default()
                    },
                    now_ms(),
                )
                .await
                .unwrap()
                .len()
            }
        };
        for (k, n) in [
            (ListKind::All, 1),
            (ListKind::Licensing, 1),
            (ListKind::Commitment, 1),
            (ListKind::Tolerated, 1),
            (ListKind::FullOnline, 1),
            (ListKind::Charged, 0),
            (ListKind::Instant, 0),
            (ListKind::Special, 0),
        ] {
            assert_eq!(list(k).await, n, "{k:?}");
        }
        s.close().await;
        db.cleanup().await;
    }
}

fn doc_with(items: usize) -> CatalogDoc {
    let mut doc = CatalogDoc::new();
    doc.basic.push(BasicDoc {
        basic_code: "460100002000".into(),
        elements: licence(),
    });
    for i in 0..items {
        let dept = if i % 2 == 0 {
            "海口市市场监督管理局"
        } else {
            "三亚市市场监督管理局"
        };
        let mut own = serde_json::Map::new();
        own.insert("location".into(), json!(format!("第 {i} 号窗口")));
        doc.items.push(ItemDoc {
            basic_code: "460100002000".into(),
            implementation_code: None,
            department_uscc: None,
            department_name: Some(dept.into()),
            elements: own,
        });
    }
    doc
}

fn opts() -> ImportOptions {
    ImportOptions {
        dry_run: false,
        submit: true,
        region_code: "460000".into(),
        chunk: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_checks_everything_first_and_reimport_changes_nothing() {
    for db in TestDb::both().await {
        let s = db.open().await;
        setup(&s).await;
        // Bad documents: every problem named, nothing written.
        let mut bad = doc_with(2);
        bad.items[1].department_name = Some("不存在的局".into());
        bad.items[0]
            .elements
            .insert("promised_limit".into(), json!({"value": 99, "unit": "working_days"}));
        bad.basic[0].elements.materials[0].key = "Bad Key".into();
        let before = s.head().await.unwrap();
        let r = catalog::import(&s, Meta::actor("importer"), &bad, &opts(), &|_, _, _| {})
            .await
            .unwrap();
        assert!(!r.ok);
        let paths: Vec<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"basic[0].elements.materials[0].key"), "{paths:?}");
        assert!(paths.contains(&"items[1].department_name"), "{paths:?}");
        assert!(paths.contains(&"items[0].elements.promised_limit"), "{paths:?}");
        assert_eq!(s.head().await.unwrap(), before, "nothing written");
        // A good document: created and submitted in chunks; again: nothing changes.
        let doc = doc_with(2);
        let r = catalog::import(&s, Meta::actor("importer"), &doc, &opts(), &|_, _, _| {})
            .await
            .unwrap();
        assert!(r.ok, "{:?}", r.problems);
        assert_eq!((r.created, r.changed, r.unchanged), (3, 0, 0));
        let entries = catalog::entries(&s, &Default::default()).await.unwrap();
        assert!(entries.iter().all(|e| e.open_state == Some(VersionState::Submitted)));
        // Re-importing a document naming a submitted entry with changes is refused.
        let mut changed = doc_with(2);
        changed.items[0].elements.insert("hours".into(), json!("全天"));
        let r = catalog::import(&s, Meta::actor("importer"), &changed, &opts(), &|_, _, _| {})
            .await
            .unwrap();
        assert_eq!(r.problems[0].rule, "catalog.not_editable");
        for e in &entries {
            act(&s, "reviewer", &e.id, Action::Publish).await.unwrap();
        }
        let head = s.head().await.unwrap();
        let r = catalog::import(&s, Meta::actor("importer"), &doc, &opts(), &|_, _, _| {})
            .await
            .unwrap();
        assert_eq!((r.created, r.changed, r.unchanged), (0, 0, 3));
        assert_eq!(s.head().await.unwrap(), head, "re-import wrote nothing");
        // Export → import is lossless for JSON, xlsx and CSV.
        let exported = catalog::export(&s, ExportState::Current).await.unwrap();
        let again: CatalogDoc = serde_json::from_str(&serde_json::to_string(&exported).unwrap()).unwrap();
        assert_eq!(again, exported);
        let r = catalog::import(&s, Meta::actor("importer"), &again, &opts(), &|_, _, _| {})
            .await
            .unwrap();
        assert_eq!((r.created, r.changed, r.unchanged), (0, 0, 3), "{:?}", r.problems);
        let tables = sheets::doc_to_tables(&exported);
        for (format, bytes) in [
            (sheets::Format::Xlsx, sheets::tables_to_xlsx(&tables).unwrap()),
            (sheets::Format::Csv, sheets::tables_to_csv_zip(&tables).unwrap()),
        ] {
            assert_eq!(sheets::Format::guess("", &bytes), format);
            let (doc, _) = sheets::read(&s, format, &bytes).await.unwrap().unwrap();
            let r = catalog::import(&s, Meta::actor("importer"), &doc, &opts(), &|_, _, _| {})
                .await
                .unwrap();
            assert!(r.ok, "{format:?}: {:?}", r.problems);
            assert_eq!((r.created, r.changed, r.unchanged), (0, 0, 3), "{format:?}");
        }
        assert_eq!(s.head().await.unwrap(), head);
        // A malformed spreadsheet: the cell is named, nothing written.
        let mut t = tables.clone();
        let col = t[2].headers.iter().position(|h| h == "原件份数").unwrap();
        t[2].rows[1].1[col] = "两份".into();
        let bytes = sheets::tables_to_xlsx(&t).unwrap();
        let problems = sheets::read(&s, sheets::Format::Xlsx, &bytes)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (
                problems[0].sheet.as_deref(),
                problems[0].row,
                problems[0].column.as_deref()
            ),
            (Some("申请材料"), Some(3), Some("原件份数"))
        );
        // A rule broken in a sheet: placed on the row and column through the provenance.
        let mut t = tables.clone();
        let col = t[0].headers.iter().position(|h| h == "承诺办结时限").unwrap();
        t[0].rows[1].1[col] = "99".into();
        let bytes = sheets::tables_to_csv_zip(&t).unwrap();
        let (doc, prov) = sheets::read(&s, sheets::Format::Csv, &bytes).await.unwrap().unwrap();
        let mut r = catalog::import(&s, Meta::actor("importer"), &doc, &opts(), &|_, _, _| {})
            .await
            .unwrap();
        assert!(!r.ok);
        for p in &mut r.problems {
            prov.as_ref().unwrap().place(p);
        }
        assert_eq!(
            (
                r.problems[0].sheet.as_deref(),
                r.problems[0].row,
                r.problems[0].column.as_deref(),
                r.problems[0].rule.as_str()
            ),
            (
                Some("事项"),
                Some(3),
                Some("承诺办结时限"),
                "catalog.promised_exceeds_statutory"
            )
        );
        assert_eq!(s.head().await.unwrap(), head);
        let r = ledger::verify_store(&s).await.unwrap();
        assert!(r.ok(), "{r:?}");
        s.close().await;
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_elements_are_seeded_and_forms_must_use_them() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let dict = catalog::data_elements(&s).await.unwrap();
        assert_eq!(dict.len(), default_dictionary().len());
        let mut el = licence();
        el.form = vec![FormField {
            element: "shoe_size".into(),
            label: None,
            required: true,
        }];
        let r = s
            .write(
                Meta::actor("e"),
                write(Cmd::CreateBasic {
                    basic_code: Some("460100003000".into()),
                    region_code: "460000".into(),
                    elements: el.clone(),
                    dates: Dates::default(),
                }),
            )
            .await;
        assert_eq!(rule(r), "form.unknown_element");
        s.write(
            Meta::actor("e"),
            write(Cmd::SaveDataElement(DataElement {
                code: "shoe_size".into(),
                name: "鞋码".into(),
                kind: ElementKind::Integer,
                max_len: None,
                options: vec![],
                description: None,
                prefill: None,
            })),
        )
        .await
        .unwrap();
        let w = s
            .write(
                Meta::actor("e"),
                write(Cmd::CreateBasic {
                    basic_code: Some("460100003000".into()),
                    region_code: "460000".into(),
                    elements: el,
                    dates: Dates::default(),
                }),
            )
            .await
            .unwrap();
        assert_eq!(w.value["entry"]["kind"], "basic");
        // A basic code whose type digits disagree with the item type.
        let r = s
            .write(
                Meta::actor("e"),
                write(Cmd::CreateBasic {
                    basic_code: Some("462000003000".into()),
                    region_code: "460000".into(),
                    elements: licence(),
                    dates: Dates::default(),
                }),
            )
            .await;
        assert_eq!(rule(r), "basic_code.type_mismatch");
        assert!(matches!(
            s.write(
                Meta::actor("e"),
                write(Cmd::CreateBasic {
                    basic_code: Some("460100003000".into()),
                    region_code: "460000".into(),
                    elements: licence(),
                    dates: Dates::default(),
                }),
            )
            .await,
            Err(StoreError::Domain(e)) if e.kind == ErrorKind::Conflict
        ));
        s.close().await;
        db.cleanup().await;
    }
}

/// The dictionary is kept in memory: a change committed through this store is seen by the
/// very next read; one committed by another process on the same database (a second
/// store) is seen once the reference-data follower reads it from the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_data_in_memory_follows_changes_here_and_elsewhere() {
    for db in TestDb::both().await {
        let here = db.open().await;
        let elsewhere = db.open().await;
        let element = |name: &str| {
            write(Cmd::SaveDataElement(DataElement {
                code: "shoe_size".into(),
                name: name.into(),
                kind: ElementKind::Integer,
                max_len: None,
                options: vec![],
                description: None,
                prefill: None,
            }))
        };
        // Both read (and keep) the dictionary without the element.
        for s in [&here, &elsewhere] {
            assert!(
                !yiwang_store::cases::dictionary(s)
                    .await
                    .unwrap()
                    .contains_key("shoe_size")
            );
        }
        here.write(Meta::actor("e"), element("鞋码")).await.unwrap();
        // Here: at once.
        let d = yiwang_store::cases::dictionary(&here).await.unwrap();
        assert_eq!(d["shoe_size"].name, "鞋码");
        // Elsewhere: the old dictionary until its follower reads the ledger (once a second).
        let mut seen = false;
        for _ in 0..50 {
            if yiwang_store::cases::dictionary(&elsewhere)
                .await
                .unwrap()
                .get("shoe_size")
                .is_some_and(|e| e.name == "鞋码")
            {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(seen, "the second store never saw the change");
        // And a change made elsewhere reaches here the same way.
        elsewhere.write(Meta::actor("e"), element("鞋号")).await.unwrap();
        let mut seen = false;
        for _ in 0..50 {
            if yiwang_store::cases::dictionary(&here).await.unwrap()["shoe_size"].name == "鞋号" {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(seen, "the first store never saw the change");

        // Working-day calendars the same way: a make-up workday (调休上班) set here turns a
        // Sunday into a working day here at once and elsewhere within the follower's second.
        here.write(
            Meta::actor("e"),
            Command::Regions(regions::Cmd::Create(NewRegion {
                code: "460000".into(),
                name: "海南省".into(),
                name_en: None,
                parent_code: None,
            })),
        )
        .await
        .unwrap();
        let sunday = chrono::NaiveDate::from_ymd_opt(2026, 12, 13).unwrap();
        let works = |s: &Arc<Store>| {
            let s = s.clone();
            async move {
                yiwang_store::calendar::calendar_for(&s, Some("460000"))
                    .await
                    .unwrap()
                    .is_working_day(sunday)
            }
        };
        assert!(!works(&here).await && !works(&elsewhere).await);
        here.write(
            Meta::actor("e"),
            Command::Calendar(yiwang_store::calendar::Cmd::SetLocalDays {
                region_code: "460000".into(),
                days: vec![yiwang_core::calendar::DayRule {
                    date: sunday,
                    off_day: false,
                    name: "调休".into(),
                }],
            }),
        )
        .await
        .unwrap();
        assert!(works(&here).await, "here: at once");
        let mut seen = false;
        for _ in 0..50 {
            if works(&elsewhere).await {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(seen, "the second store never saw the calendar change");
        here.close().await;
        elsewhere.close().await;
        db.cleanup().await;
    }
}
