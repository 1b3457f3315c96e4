//! 免申即享 store tests, each on SQLite and PostgreSQL: the data-sharing catalogue (a bad
//! row and nothing is written; requests answered by the owner; access outside the grant's
//! purpose, period or fields refused; a read in the person's data-use log), policies (a bad
//! rule refused at save with its position; publication only after a dry run and by another
//! reviewer), finding the eligible once per change of a profile (the follower), the
//! explanation a person sees, and a direct grant with consent.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use yiwang_core::catalog::Action;
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::policies::{AttrType, Audience, Outcome, PolicyInput, PolicyMode};
use yiwang_core::regions::NewRegion;
use yiwang_core::sharing::{
    Decision, FieldDef, Frequency, RequestInput, RequestStatus, ResourceInput, SharingClass, SharingPolicy,
};
use yiwang_store::sharing::LoadSource;
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, Store, StoreError, orgs, policies, regions, sharing};

fn m(a: &str) -> Meta {
    Meta::actor(a)
}

fn rules(e: StoreError) -> Vec<(String, String)> {
    match e {
        StoreError::Domain(d) => d.errors.into_iter().map(|f| (f.field, f.rule)).collect(),
        other => panic!("not a domain error: {other}"),
    }
}

fn id_number(born: &str, seq: &str) -> String {
    let body = format!("460100{born}{seq}");
    format!("{body}{}", yiwang_core::ids::resident_id_check_char(&body).unwrap())
}

struct World {
    minzheng: String,
    gongan: String,
    canlian: String,
}

async fn department(s: &Store, name: &str, n: u32) -> String {
    let body = format!("114601000000000{n:02}");
    let w = s
        .write(
            m("admin"),
            Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                name: name.into(),
                uscc: format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap()),
                region_code: "460100".into(),
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

async fn setup(s: &Arc<Store>) -> World {
    for (code, name, parent) in [("460000", "海南省", None), ("460100", "海口市", Some("460000"))] {
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
    let w = World {
        minzheng: department(s, "海口市民政局", 1).await,
        gongan: department(s, "海口市公安局", 2).await,
        canlian: department(s, "海口市残疾人联合会", 3).await,
    };
    let field = |name: &str, ty, zh: &str, en: &str| FieldDef {
        name: name.into(),
        ty,
        zh: zh.into(),
        en: en.into(),
    };
    sharing::define(
        s,
        m("staff:gongan"),
        &w.gongan,
        ResourceInput {
            code: "hukou".into(),
            name: "户籍信息".into(),
            name_en: "household registration".into(),
            audience: Audience::Person,
            fields: vec![field("region", AttrType::String, "户籍地", "registered region")],
            sharing: SharingClass::Unconditional,
            frequency: Frequency::Daily,
            legal_basis: "《户口登记条例》".into(),
        },
    )
    .await
    .unwrap();
    sharing::define(
        s,
        m("staff:canlian"),
        &w.canlian,
        ResourceInput {
            code: "disability".into(),
            name: "残疾人证信息".into(),
            name_en: "disability certificates".into(),
            audience: Audience::Person,
            fields: vec![
                field("level", AttrType::Int, "残疾等级", "disability level"),
                field("category", AttrType::String, "残疾类别", "category"),
            ],
            sharing: SharingClass::Conditional,
            frequency: Frequency::Daily,
            legal_basis: "《残疾人保障法》".into(),
        },
    )
    .await
    .unwrap();
    w
}

fn rows(v: Value) -> Vec<Map<String, Value>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

const PURPOSE: &str = "残疾老人补贴免申即享资格比对";

fn year_range() -> (NaiveDate, NaiveDate) {
    let today = yiwang_store::today();
    (today - chrono::Days::new(30), today + chrono::Days::new(300))
}

/// The 民政局 asks for both resources for the policy's purpose; the 残联 narrows its grant
/// to the level.
async fn grants(s: &Store, w: &World) {
    let (from, until) = year_range();
    let policy = SharingPolicy::default();
    let hukou = sharing::request(
        s,
        m("staff:mz"),
        &w.minzheng,
        RequestInput {
            resource: "hukou".into(),
            fields: vec!["region".into()],
            purpose: PURPOSE.into(),
            legal_basis: "国发〔2024〕3号".into(),
            valid_from: from,
            valid_until: until,
        },
        &policy,
    )
    .await
    .unwrap();
    assert_eq!(
        hukou.status,
        RequestStatus::Approved,
        "an unconditional resource is granted at once"
    );
    let dis = sharing::request(
        s,
        m("staff:mz"),
        &w.minzheng,
        RequestInput {
            resource: "disability".into(),
            fields: vec!["level".into(), "category".into()],
            purpose: PURPOSE.into(),
            legal_basis: "国发〔2024〕3号".into(),
            valid_from: from,
            valid_until: until,
        },
        &policy,
    )
    .await
    .unwrap();
    assert_eq!(dis.status, RequestStatus::Requested);
    let g = sharing::decide(
        s,
        m("staff:canlian"),
        &dis.id,
        Decision::Narrow {
            fields: vec!["level".into()],
            valid_until: until,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (g.status, g.fields.clone()),
        (RequestStatus::Narrowed, vec!["level".to_string()])
    );
    // Decided once.
    assert_eq!(
        rules(
            sharing::decide(s, m("staff:canlian"), &dis.id, Decision::Approve)
                .await
                .unwrap_err()
        ),
        vec![("decision".to_string(), "request.state".to_string())]
    );
}

async fn register(s: &Store, name: &str, id: &str, phone: &str) -> String {
    let input = yiwang_core::accounts::PersonInput {
        name: name.into(),
        id_number: id.into(),
        phone: phone.into(),
        address: None,
        password: "Demo#2026yw-policy".into(),
        sms_code: None,
    };
    yiwang_store::accounts::register_person(s, m("system:test"), &input, None)
        .await
        .unwrap()
        .person_id
}

fn policy_input(w: &World, code: &str, rule: &str) -> PolicyInput {
    let (from, until) = year_range();
    PolicyInput {
        code: code.into(),
        name: "残疾老人补贴".into(),
        name_en: "Allowance for elderly disabled persons".into(),
        audience: Audience::Person,
        mode: PolicyMode::Direct,
        rule: rule.into(),
        amount: "disability.level == 1 ? 20000 : 10000".into(),
        period_from: from,
        period_until: until,
        department_id: w.minzheng.clone(),
        legal_basis: "国发〔2024〕3号".into(),
        purpose: PURPOSE.into(),
        item_code: None,
        summary: "六十周岁以上、一二级残疾的本省户籍老人，每月发放补贴。".into(),
    }
}

const RULE: &str = "age >= 60 && disability.level <= 2 && hukou.region.startsWith('46')";

async fn notifications(s: &Store, person: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE recipient = $1")
        .bind(format!("person:{person}"))
        .fetch_one(&s.read)
        .await
        .unwrap()
}

#[tokio::test]
async fn sharing_loads_requests_and_access_within_the_grant() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let policy = SharingPolicy::default();
        let a = id_number("19400101", "001");
        let wrong = format!("{}{}", &a[..17], if a.ends_with('0') { '1' } else { '0' });
        // One bad row: nothing is written, every problem named by row and field.
        let e = sharing::load(
            &s,
            m("staff:canlian"),
            "disability",
            &rows(json!([{"id_number": a, "level": 1}, {"id_number": wrong, "level": "一级"}])),
            LoadSource::Push,
            &policy,
        )
        .await
        .unwrap_err();
        let r = rules(e);
        assert!(r.contains(&("rows[1].level".into(), "row.type".into())), "{r:?}");
        assert!(r.iter().any(|(f, _)| f == "rows[1].id_number"), "{r:?}");
        let res = sharing::resource(&s, "disability").await.unwrap().unwrap();
        assert_eq!((res.version, res.row_count), (0, 0), "nothing written on error");
        // A CSV import is a version.
        let csv = format!("id_number,level,category\n{a},1,视力\n");
        let l = sharing::load(
            &s,
            m("staff:canlian"),
            "disability",
            &sharing::csv_rows(&csv).unwrap(),
            LoadSource::Import,
            &policy,
        )
        .await
        .unwrap();
        assert_eq!((l.version, l.rows), (1, 1));
        grants(&s, &w).await;
        let person = register(&s, "张大爷", &a, "13900139101").await;
        let reader = yiwang_store::datause::Reader {
            kind: "staff".into(),
            id: "staff:mz".into(),
            name: "民政窗口".into(),
            department: Some("海口市民政局".into()),
        };
        // Within the grant: read, logged, and in the person's data-use log.
        let v = sharing::read_subject(
            &s,
            m("staff:mz"),
            &reader,
            &w.minzheng,
            "disability",
            &a,
            PURPOSE,
            &["level".into()],
        )
        .await
        .unwrap();
        assert_eq!(v.get("level"), Some(&json!(1)));
        let uses = yiwang_store::datause::of_person(&s, &person, 10).await.unwrap();
        assert_eq!(uses.len(), 1);
        assert_eq!(uses[0].resources, vec!["残疾人证信息·残疾等级".to_string()]);
        assert_eq!(uses[0].purpose, PURPOSE);
        // Outside its purpose, its fields (narrowed away) or its period: refused.
        let refused = |e: StoreError| rules(e)[0].1.clone();
        let today = yiwang_store::today();
        assert_eq!(
            refused(
                sharing::read_subject(
                    &s,
                    m("staff:mz"),
                    &reader,
                    &w.minzheng,
                    "disability",
                    &a,
                    "别的用途",
                    &["level".into()]
                )
                .await
                .unwrap_err()
            ),
            "access.purpose"
        );
        assert_eq!(
            refused(
                sharing::read_subject(
                    &s,
                    m("staff:mz"),
                    &reader,
                    &w.minzheng,
                    "disability",
                    &a,
                    PURPOSE,
                    &["category".into()]
                )
                .await
                .unwrap_err()
            ),
            "access.field"
        );
        assert_eq!(
            refused(
                sharing::usable_grant(
                    &s,
                    &w.minzheng,
                    "disability",
                    PURPOSE,
                    &["level".into()],
                    today + chrono::Days::new(400)
                )
                .await
                .unwrap_err()
            ),
            "access.period"
        );
        // Another department holds no grant.
        assert_eq!(
            refused(
                sharing::usable_grant(&s, &w.gongan, "disability", PURPOSE, &["level".into()], today)
                    .await
                    .unwrap_err()
            ),
            "access.no_grant"
        );
        // Only the refused reads were not logged: one use in the person's log still.
        assert_eq!(
            yiwang_store::datause::of_person(&s, &person, 10).await.unwrap().len(),
            1
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_policy_is_checked_dry_run_published_by_another_and_finds_each_change_once() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        grants(&s, &w).await;
        let policy = SharingPolicy::default();
        let (a, b, c, d) = (
            id_number("19400101", "001"),
            id_number("19500505", "002"),
            id_number("19900101", "003"),
            id_number("19450303", "004"),
        );
        let pa = register(&s, "张大爷", &a, "13900139101").await;
        let pb = register(&s, "李阿姨", &b, "13900139102").await;
        let pd = register(&s, "王伯", &d, "13900139104").await;
        let hukou: Vec<_> = [&a, &b, &c, &d]
            .iter()
            .map(|i| json!({"id_number": i, "region": "460105"}))
            .collect();
        sharing::load(
            &s,
            m("staff:gongan"),
            "hukou",
            &rows(Value::Array(hukou)),
            LoadSource::Push,
            &policy,
        )
        .await
        .unwrap();
        sharing::load(
            &s,
            m("staff:canlian"),
            "disability",
            &rows(json!([{"id_number": a, "level": 1}, {"id_number": c, "level": 1}])),
            LoadSource::Push,
            &policy,
        )
        .await
        .unwrap();

        // A bad rule is refused at save, with where it is.
        let e = policies::save(&s, m("staff:editor"), policy_input(&w, "canlao", "agee >= 60"))
            .await
            .unwrap_err();
        match e {
            StoreError::Domain(d) => {
                assert_eq!(
                    (d.errors[0].field.as_str(), d.errors[0].rule.as_str()),
                    ("rule", "rule.unknown_attribute")
                );
                assert!(d.errors[0].zh.contains("第 1 行第 1 列"), "{}", d.errors[0].zh);
            }
            other => panic!("{other}"),
        }
        assert_eq!(
            rules(
                policies::save(&s, m("staff:editor"), policy_input(&w, "canlao", "age > 'sixty'"))
                    .await
                    .unwrap_err()
            )[0]
            .1,
            "rule.type"
        );
        let (p, v) = policies::save(&s, m("staff:editor"), policy_input(&w, "canlao", RULE))
            .await
            .unwrap();
        assert_eq!(v.version, 1);
        // Publication needs a dry run, and a reviewer who neither edited nor submitted it.
        policies::act(&s, m("staff:editor"), &p.id, Action::Submit)
            .await
            .unwrap();
        let e = policies::act(&s, m("staff:reviewer"), &p.id, Action::Publish)
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "policy.dry_run_first");
        let dry = policies::dry_run(&s, m("staff:editor"), &p.id).await.unwrap();
        assert_eq!(dry.profiles, 4);
        assert_eq!(
            (
                dry.tally.eligible,
                dry.tally.ineligible,
                dry.tally.undetermined,
                dry.tally.failed
            ),
            (1, 1, 2, 0),
            "A qualifies; C is too young; B and D have no disability row"
        );
        assert_eq!(dry.tally.total_fen, 20000);
        let e = policies::act(&s, m("staff:editor"), &p.id, Action::Publish)
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "catalog.four_eyes");

        // The follower finds the eligible on publication and on each load.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let follower = yiwang_store::outbox::spawn(
            s.clone(),
            Arc::new(policies::Finder { store: s.clone() }),
            Duration::from_millis(50),
            stop_rx,
        );
        policies::act(&s, m("staff:reviewer"), &p.id, Action::Publish)
            .await
            .unwrap();
        let wait = |person: String, n: i64| {
            let s = s.clone();
            async move {
                for _ in 0..200 {
                    if notifications(&s, &person).await >= n {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                panic!("{person} was not notified");
            }
        };
        wait(pa.clone(), 1).await;
        assert_eq!(notifications(&s, &pb).await, 0);
        // B's certificate arrives (A's row again, unchanged): B is found and notified, A not again.
        sharing::load(
            &s,
            m("staff:canlian"),
            "disability",
            &rows(json!([{"id_number": a, "level": 1}, {"id_number": b, "level": 2}])),
            LoadSource::Push,
            &policy,
        )
        .await
        .unwrap();
        wait(pb.clone(), 1).await;
        // Finding again (a redelivery) changes nothing and notifies no one twice.
        assert_eq!(policies::find(&s, &p.id, None).await.unwrap(), 0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!((notifications(&s, &pa).await, notifications(&s, &pb).await), (1, 1));
        let counts = policies::finding_counts(&s, &p.id).await.unwrap();
        assert_eq!(counts.get("eligible"), Some(&(2, 30000)));
        // The reads show in the eligible person's data-use log, with the policy's purpose.
        let uses = yiwang_store::datause::of_person(&s, &pb, 10).await.unwrap();
        assert!(
            uses.iter()
                .any(|u| u.purpose == PURPOSE && u.resources.iter().any(|r| r == "残疾人证信息·残疾等级")),
            "{uses:?}"
        );

        // D sees why not yet: every condition, its values and sources, what is missing.
        let mine = policies::for_person(&s, &pd).await.unwrap();
        let e = &mine[0].explanation;
        assert!(
            matches!(&e.outcome, Outcome::Undetermined { missing } if missing == &vec!["disability.level".to_string()]),
            "{:?}",
            e.outcome
        );
        assert_eq!(e.conditions.len(), 3);
        assert_eq!(e.conditions[0].met, Some(true));
        assert_eq!(e.conditions[0].values[0].path, "age");
        assert_eq!(e.conditions[0].values[0].source, "identity");
        assert_eq!(e.conditions[1].met, None);
        assert_eq!(e.conditions[1].missing, vec!["disability.level".to_string()]);
        assert_eq!(e.conditions[2].values[0].source, "resource:hukou");

        // A direct grant: consent and a good account, once.
        let e = policies::confirm(&s, m("person"), &pa, &p.id, "6222020200112233445", false)
            .await
            .unwrap_err();
        let r = rules(e);
        assert!(r.contains(&("consent".into(), "disbursement.consent".into())), "{r:?}");
        assert!(r.contains(&("account".into(), "account.check_digit".into())), "{r:?}");
        let good = luhn("622202020011223344");
        let dsb = policies::confirm(&s, m("person"), &pa, &p.id, &good, true)
            .await
            .unwrap();
        assert_eq!((dsb.amount_fen, dsb.status.as_str()), (20000, "pending"));
        assert!(dsb.account_masked.ends_with(&good[good.len() - 4..]) && !dsb.account_masked.contains(&good));
        assert_eq!(
            rules(
                policies::confirm(&s, m("person"), &pa, &p.id, &good, true)
                    .await
                    .unwrap_err()
            )[0]
            .1,
            "disbursement.once"
        );
        assert_eq!(
            rules(
                policies::confirm(&s, m("person"), &pd, &p.id, &good, true)
                    .await
                    .unwrap_err()
            )[0]
            .1,
            "disbursement.not_eligible"
        );
        let _ = stop_tx.send(true);
        let _ = follower.await;
        db.cleanup().await;
    }
}

/// A card number with its Luhn check digit appended (ISO/IEC 7812-1).
fn luhn(body: &str) -> String {
    for d in 0..10 {
        let n = format!("{body}{d}");
        if yiwang_core::policies::check_account(&n).is_ok() {
            return n;
        }
    }
    unreachable!()
}
