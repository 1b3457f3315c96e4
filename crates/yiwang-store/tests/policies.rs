//! 免申即享 store tests, each on SQLite and PostgreSQL: the data-sharing catalogue (a bad
//! row and nothing is written; requests answered by the owner; access outside the grant's
//! purpose, period or fields refused; a read in the person's data-use log), policies (a bad
//! rule refused at save with its position; publication only after a dry run and by another
//! reviewer), finding the eligible once per change of a profile (the follower), the
//! explanation a person sees, and a direct grant with consent; an enterprise's profile from
//! its registration and licences, found again when a licence is issued or revoked, seen
//! and confirmed by its agent; the staff view of a subject under a grant.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use yiwang_core::catalog::Action;
use yiwang_core::mandates::Subject as Who;
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

/// The follower that finds the eligible, polling every 50 ms until told to stop.
fn finder(s: &Arc<Store>) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let follower = yiwang_store::outbox::spawn(
        s.clone(),
        Arc::new(policies::Finder { store: s.clone() }),
        Duration::from_millis(50),
        stop_rx,
    );
    (stop_tx, follower)
}

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
        let (stop_tx, follower) = finder(&s);
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
        let mine = policies::for_subject(&s, &Who::Person(pd.clone())).await.unwrap();
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
        let e = policies::confirm(
            &s,
            m("person"),
            &pa,
            &Who::Person(pa.clone()),
            &p.id,
            "6222020200112233445",
            false,
        )
        .await
        .unwrap_err();
        let r = rules(e);
        assert!(r.contains(&("consent".into(), "disbursement.consent".into())), "{r:?}");
        assert!(r.contains(&("account".into(), "account.check_digit".into())), "{r:?}");
        let good = luhn("622202020011223344");
        let dsb = policies::confirm(&s, m("person"), &pa, &Who::Person(pa.clone()), &p.id, &good, true)
            .await
            .unwrap();
        assert_eq!((dsb.amount_fen, dsb.status.as_str()), (20000, "pending"));
        assert!(dsb.account_masked.ends_with(&good[good.len() - 4..]) && !dsb.account_masked.contains(&good));
        assert_eq!(
            rules(
                policies::confirm(&s, m("person"), &pa, &Who::Person(pa.clone()), &p.id, &good, true)
                    .await
                    .unwrap_err()
            )[0]
            .1,
            "disbursement.once"
        );
        assert_eq!(
            rules(
                policies::confirm(&s, m("person"), &pd, &Who::Person(pd.clone()), &p.id, &good, true)
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

fn uscc(prefix: &str, n: u32) -> String {
    let body = format!("{prefix}{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap())
}

/// An enterprise policy reading only what the platform holds (licences): registration
/// gives the enterprise its profile; a licence issued finds it eligible, a revocation
/// ineligible (the follower, from the licences' events); its agent sees why and confirms
/// for it; a staff member of a department with a grant sees only the granted fields.
#[tokio::test]
async fn an_enterprise_is_found_by_its_licences_and_its_agent_confirms() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        grants(&s, &w).await;
        yiwang_store::catalog::seed_dictionary(&s).await.unwrap();
        let scjg = department(&s, "海口市市场监督管理局", 4).await;
        let definer = format!("114601000000000{:02}", 4);
        let definer = format!("{definer}{}", yiwang_core::ids::uscc_check_char(&definer).unwrap());
        s.write(
            m("admin"),
            Command::Seals(yiwang_store::seals::Cmd::Make(yiwang_core::seals::SealInput {
                department_id: scjg.clone(),
                purpose: yiwang_core::seals::Purpose::Approval,
                name: None,
                valid_from: None,
                valid_until: None,
            })),
        )
        .await
        .unwrap();
        let t: yiwang_core::licences::LicenceType = serde_json::from_value(json!({
            "code": format!("{definer}001"),
            "name": "食品经营许可证",
            "holder": "legal",
            "validity": {"kind": "years", "value": 5},
            "face": [{"element": "legal_representative", "required": true}],
        }))
        .unwrap();
        s.write(
            m("admin"),
            Command::Licences(Box::new(yiwang_store::licences::Cmd::DefineType {
                department_id: scjg.clone(),
                t,
            })),
        )
        .await
        .unwrap();
        let agent_id = id_number("19800101", "011");
        let agent = register(&s, "王小明", &agent_id, "13900139111").await;
        let code = uscc("91460100", 7);
        let reg = yiwang_store::accounts::register_legal(
            &s,
            m("admin"),
            &yiwang_core::accounts::LegalPersonInput {
                name: "海口椰风食品有限公司".into(),
                uscc: code.clone(),
                kind: yiwang_core::accounts::LegalKind::Enterprise,
                legal_representative: "王小明".into(),
            },
            &agent,
            &yiwang_store::accounts::LegalProof::Administrator,
        )
        .await
        .unwrap();
        let legal = Who::Legal(reg["legal_person_id"].as_str().unwrap().to_string());
        let (_, subject) = policies::subject_of(&s, &legal).await.unwrap().unwrap();
        assert!(subject.key.starts_with("e:"));

        let (from, until) = year_range();
        let input = PolicyInput {
            code: "shipin".into(),
            name: "食品经营者补贴".into(),
            name_en: "Subsidy for food businesses".into(),
            audience: Audience::Enterprise,
            mode: PolicyMode::Direct,
            rule: format!("'{definer}001' in licences"),
            amount: "50000".into(),
            period_from: from,
            period_until: until,
            department_id: w.minzheng.clone(),
            legal_basis: "国发〔2024〕3号".into(),
            purpose: "食品经营者补贴资格比对".into(),
            item_code: None,
            summary: "持有有效食品经营许可证的企业。".into(),
        };
        let (p, _) = policies::save(&s, m("staff:editor"), input).await.unwrap();
        policies::act(&s, m("staff:editor"), &p.id, Action::Submit)
            .await
            .unwrap();
        let dry = policies::dry_run(&s, m("staff:editor"), &p.id).await.unwrap();
        assert_eq!(
            (dry.profiles, dry.tally.ineligible),
            (1, 1),
            "the registered enterprise has a profile before any shared data names it"
        );
        let (stop_tx, follower) = finder(&s);
        policies::act(&s, m("staff:reviewer"), &p.id, Action::Publish)
            .await
            .unwrap();
        let outcome = |want: &'static str| {
            let (s, id) = (s.clone(), p.id.clone());
            async move {
                for _ in 0..200 {
                    if policies::finding_counts(&s, &id).await.unwrap().get(want).map(|c| c.0) == Some(1) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                panic!("the enterprise was not found {want}");
            }
        };
        outcome("ineligible").await;
        // A licence issued changes its profile: found eligible.
        let issued = s
            .write(
                m("clerk"),
                Command::Licences(Box::new(yiwang_store::licences::Cmd::Issue(
                    yiwang_store::licences::IssueInput {
                        type_code: format!("{definer}001"),
                        department_id: scjg.clone(),
                        holder_name: "海口椰风食品有限公司".into(),
                        holder_code: code.clone(),
                        face: std::collections::BTreeMap::from([(
                            "legal_representative".to_string(),
                            "王小明".to_string(),
                        )]),
                        valid_from: None,
                        number: None,
                        related_item: None,
                        case_id: None,
                    },
                ))),
            )
            .await
            .unwrap();
        let licence_id = issued.value["id"].as_str().unwrap().to_string();
        outcome("eligible").await;
        // Its agent sees it for the enterprise, with the licence as the source, and confirms.
        let mine = policies::for_subject(&s, &legal).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(matches!(
            mine[0].explanation.outcome,
            Outcome::Eligible { amount_fen: 50000 }
        ));
        assert_eq!(mine[0].explanation.conditions[0].values[0].source, "licences");
        assert!(
            policies::for_subject(&s, &Who::Person(agent.clone()))
                .await
                .unwrap()
                .iter()
                .all(|f| f.policy.id != p.id),
            "a person does not see an enterprise policy for themselves"
        );
        let good = luhn("622202020011223355");
        let d = policies::confirm(&s, m("agent"), &agent, &legal, &p.id, &good, true)
            .await
            .unwrap();
        assert_eq!(
            (d.subject_key.as_str(), d.person_id.as_str(), d.amount_fen),
            (subject.key.as_str(), agent.as_str(), 50000)
        );
        assert_eq!(
            policies::disbursements(&s, &p.id)
                .await
                .unwrap()
                .iter()
                .map(|x| (x.id.as_str(), x.subject_key.as_str()))
                .collect::<Vec<_>>(),
            vec![(d.id.as_str(), subject.key.as_str())]
        );
        // A one-click application is for one-click policies only.
        assert_eq!(
            rules(
                policies::one_click(&s, m("agent"), &agent, &legal, &p.id)
                    .await
                    .unwrap_err()
            )[0]
            .1,
            "one_click.mode"
        );
        // Revoked: found ineligible again.
        s.write(
            m("clerk"),
            Command::Licences(Box::new(yiwang_store::licences::Cmd::ChangeStatus {
                licence_id,
                to: yiwang_core::licences::Status::Annulled,
                reason: "依法撤销许可".into(),
            })),
        )
        .await
        .unwrap();
        outcome("ineligible").await;
        let _ = stop_tx.send(true);
        let _ = follower.await;

        // The staff view: only the granted fields for the grant's purpose, each read logged.
        let (a, _) = (id_number("19400101", "001"), ());
        let pa = register(&s, "张大爷", &a, "13900139101").await;
        sharing::load(
            &s,
            m("staff:canlian"),
            "disability",
            &rows(json!([{"id_number": a, "level": 1, "category": "肢体"}])),
            LoadSource::Push,
            &SharingPolicy::default(),
        )
        .await
        .unwrap();
        let reader = yiwang_store::datause::Reader {
            kind: "staff".into(),
            id: "mz-1".into(),
            name: "民政局工作人员".into(),
            department: Some("海口市民政局".into()),
        };
        let parts = sharing::staff_profile(&s, m("staff:mz"), &reader, &w.minzheng, &a, PURPOSE)
            .await
            .unwrap();
        let dis = parts.iter().find(|p| p.resource == "disability").unwrap();
        assert_eq!(
            dis.fields.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            vec!["level"],
            "narrowed to the level"
        );
        assert!(dis.as_of_ms.is_some());
        let hukou = parts.iter().find(|p| p.resource == "hukou").unwrap();
        assert!(
            hukou.fields.is_empty() && hukou.as_of_ms.is_none(),
            "no household row loaded for A here"
        );
        let uses = yiwang_store::datause::of_person(&s, &pa, 10).await.unwrap();
        assert!(
            uses.iter()
                .any(|u| u.purpose == PURPOSE && u.actor_name == "民政局工作人员"),
            "{uses:?}"
        );
        assert_eq!(
            rules(
                sharing::staff_profile(&s, m("staff:mz"), &reader, &w.minzheng, &a, "另一个目的")
                    .await
                    .unwrap_err()
            )[0]
            .1,
            "access.no_grant"
        );
        assert_eq!(
            rules(
                sharing::staff_profile(&s, m("staff:mz"), &reader, &w.minzheng, "123", PURPOSE)
                    .await
                    .unwrap_err()
            )[0]
            .1,
            "subject.format"
        );
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
