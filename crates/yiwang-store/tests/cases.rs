//! Case store tests, each on SQLite and PostgreSQL: submission with the pre-check and an
//! Idempotency-Key (no duplicates), case numbers, 一次性告知补正 and the corrected
//! application, acceptance with deadlines by the working-day calendar, review steps,
//! 特别程序 moving the due date, 容缺 (decision waits for the supplement), the licence
//! issued on approval from the form's data, signed notices, delivery and conclusion,
//! deemed acceptance by 《行政许可法》第三十二条, 告知承诺 with its check and a false
//! commitment's credit record, refusals with clear reasons.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use yiwang_core::cases::{
    Action, Application, Channel, CorrectionItem, DeliveryMethod, Party, Provision, ProvisionKind, State,
};
use yiwang_core::catalog::{Action as CatalogAction, Elements, SpecialKind};
use yiwang_core::licences::LicenceType;
use yiwang_core::mandates::Subject;
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::regions::NewRegion;
use yiwang_core::seals::{Purpose, SealInput};
use yiwang_store::cases::{self, Applicant};
use yiwang_store::catalog::{Cmd as CatalogCmd, Dates};
use yiwang_store::files::Visibility;
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, Store, StoreError, catalog, ledger, licences, orgs, regions, seals};

fn uscc(prefix: &str, n: u32) -> String {
    let body = format!("{prefix}{n:09}");
    format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap())
}

fn m(a: &str) -> Meta {
    Meta::actor(a)
}

fn elements(licence_type: &str) -> Elements {
    serde_json::from_value(json!({
        "name": "食品经营许可",
        "item_type": "licensing",
        "legal_basis": [{"law": "《中华人民共和国食品安全法》", "article": "第三十五条", "text": "国家对食品生产经营实行许可制度。"}],
        "service_objects": ["enterprise"],
        "handling_forms": ["window", "online"],
        "statutory_limit": {"value": 10, "unit": "working_days"},
        "promised_limit": {"value": 5, "unit": "working_days"},
        "case_kind": "promised",
        "steps": [
            {"name": "受理", "role": "accept", "days": 1},
            {"name": "审查", "role": "review", "days": 2},
            {"name": "决定", "role": "decide", "days": 1}
        ],
        "materials": [
            {"key": "sqs", "name": "食品经营许可申请书", "kind": "form", "form": "electronic", "necessity": "required",
             "source": {"channel": "applicant"}},
            {"key": "zd", "name": "保证食品安全的规章制度", "kind": "document", "form": "electronic", "necessity": "tolerated",
             "source": {"channel": "applicant"}},
            {"key": "aqy", "name": "食品安全管理人员培训考核证明", "kind": "proof", "form": "electronic", "necessity": "required",
             "source": {"channel": "applicant"}}
        ],
        "commitment": {"text": "本单位承诺所报材料真实。", "check_days": 20},
        "form": [
            {"element": "enterprise_name", "required": true},
            {"element": "enterprise_uscc", "required": true},
            {"element": "legal_representative", "required": true},
            {"element": "business_address", "required": true},
            {"element": "food_business_type", "required": true}
        ],
        "online": true,
        "result": {"kind": "licence", "name": "食品经营许可证", "licence_type": licence_type}
    }))
    .unwrap()
}

struct World {
    item_code: String,
    company: Applicant,
    /// The agent's uploaded scan (a private file: its address is keyed to its owner).
    scan: String,
}

/// Regions, a department with a seal and a licence type, a published item, an
/// enterprise applicant.
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
    let dept_uscc = uscc("11460100", 1);
    let w = s
        .write(
            m("admin"),
            Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                name: "海口市市场监督管理局".into(),
                uscc: dept_uscc.clone(),
                region_code: "460100".into(),
                nature: DepartmentNature::StatutoryAuthority,
                parent_id: None,
                phone: None,
                address: None,
            })),
        )
        .await
        .unwrap();
    let dept = w.value["id"].as_str().unwrap().to_string();
    catalog::seed_dictionary(s).await.unwrap();
    s.write(
        m("admin"),
        Command::Seals(seals::Cmd::Make(SealInput {
            department_id: dept.clone(),
            purpose: Purpose::Approval,
            name: None,
            valid_from: None,
            valid_until: None,
        })),
    )
    .await
    .unwrap();
    let type_code = format!("{dept_uscc}001");
    let t: LicenceType = serde_json::from_value(json!({
        "code": type_code, "name": "食品经营许可证", "holder": "legal",
        "validity": {"kind": "years", "value": 5},
        "face": [
            {"element": "legal_representative", "required": true},
            {"element": "business_address", "label": "经营场所", "required": true},
            {"element": "food_business_type", "required": true}
        ]
    }))
    .unwrap();
    s.write(
        m("admin"),
        Command::Licences(Box::new(licences::Cmd::DefineType {
            department_id: dept.clone(),
            t,
        })),
    )
    .await
    .unwrap();
    // The basic entry, published (editor ≠ reviewer), then the department's item.
    let w = s
        .write(
            m("editor"),
            Command::Catalog(Box::new(CatalogCmd::CreateBasic {
                basic_code: None,
                region_code: "460000".into(),
                elements: elements(&type_code),
                dates: Dates::default(),
            })),
        )
        .await
        .unwrap();
    let basic_id = w.value["entry"]["id"].as_str().unwrap().to_string();
    let basic_code = w.value["entry"]["code"].as_str().unwrap().to_string();
    for (who, a) in [("editor", CatalogAction::Submit), ("reviewer", CatalogAction::Publish)] {
        s.write(
            m(who),
            Command::Catalog(Box::new(CatalogCmd::Act {
                entry_id: basic_id.clone(),
                action: a,
            })),
        )
        .await
        .unwrap();
    }
    let w = s
        .write(
            m("editor"),
            Command::Catalog(Box::new(CatalogCmd::CreateItem {
                basic_code,
                department_id: dept.clone(),
                own: Default::default(),
                dates: Dates::default(),
            })),
        )
        .await
        .unwrap();
    let item_id = w.value["entry"]["id"].as_str().unwrap().to_string();
    let item_code = w.value["entry"]["code"].as_str().unwrap().to_string();
    for (who, a) in [("editor", CatalogAction::Submit), ("reviewer", CatalogAction::Publish)] {
        s.write(
            m(who),
            Command::Catalog(Box::new(CatalogCmd::Act {
                entry_id: item_id.clone(),
                action: a,
            })),
        )
        .await
        .unwrap();
    }
    // The scan every material of these tests points at (an application may only name
    // files the platform holds).
    let scan = yiwang_store::files::put(s, m("account:agent"), "scan.pdf", SCAN, Visibility::Private)
        .await
        .unwrap()
        .sm3;
    World {
        scan,
        item_code,
        company: Applicant {
            subject: Subject::Legal("legal-1".into()),
            name: "海口椰风食品有限公司".into(),
            code: uscc("91460100", 7),
        },
    }
}

const SCAN: &[u8] = b"%PDF-1.4\n% a scanned material\ntrailer<<>>\n%%EOF\n";

fn files(w: &World, key: &str) -> (String, Provision) {
    (
        key.to_string(),
        Provision {
            kind: ProvisionKind::Files,
            files: vec![w.scan.clone()],
            licence_id: None,
            case_id: None,
            originals_checked: None,
        },
    )
}

fn application(w: &World) -> Application {
    Application {
        answers: BTreeMap::new(),
        form: [
            ("enterprise_name", json!(w.company.name)),
            ("enterprise_uscc", json!(w.company.code)),
            ("legal_representative", json!("王小明")),
            ("business_address", json!("海口市龙华区滨海大道 1 号")),
            ("food_business_type", json!("餐饮服务经营者")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        materials: [files(w, "sqs"), files(w, "zd"), files(w, "aqy")].into_iter().collect(),
        commitment: false,
        handling: None,
    }
}

fn errors(r: Result<Value, StoreError>) -> Vec<(String, String)> {
    match r {
        Err(StoreError::Domain(e)) => e.errors.into_iter().map(|f| (f.field, f.rule)).collect(),
        other => panic!("expected a domain error, got {other:?}"),
    }
}

async fn submit(s: &Store, w: &World, app: Application, key: Option<&str>) -> Result<Value, StoreError> {
    let mut meta = m("account:agent>legal:legal-1");
    if let Some(k) = key {
        meta = meta.with_idempotency(k, "fp");
    }
    cases::submit(
        s,
        meta,
        cases::Submission {
            item_code: w.item_code.to_string(),
            applicant: w.company.clone(),
            channel: Channel::Online,
            assisted: true,
            application: app,
            draft_id: None,
        },
    )
    .await
    .map(|w| w.value)
}

async fn act(s: &Store, id: &str, p: Party, a: Action) -> Result<Value, StoreError> {
    cases::act(s, m(&format!("staff:{}", p.as_str())), id, p, a).await
}

/// A case's page reads its lists and application in one statement (each list as one JSON
/// text): the same as each read on its own.
async fn same_parts(s: &Store, id: &str) {
    let p = cases::parts(s, id, true).await.unwrap();
    assert_eq!(p.suspensions, cases::suspensions(s, id).await.unwrap());
    assert_eq!(p.timeline, cases::timeline(s, id).await.unwrap());
    assert_eq!(p.notices, cases::notices(s, id).await.unwrap());
    assert_eq!(p.tasks, cases::tasks_of_case(s, id).await.unwrap());
    assert_eq!(p.application, cases::application(s, id).await.unwrap());
    assert!(p.application.is_some() && !p.timeline.is_empty());
    assert!(cases::parts(s, id, false).await.unwrap().application.is_none());
}

/// The reviewer starts a site survey (特别程序): the case is suspended, its clock stopped.
async fn site_survey(s: &Store, id: &str) {
    act(
        s,
        id,
        Party::Reviewer,
        Action::StartSpecial {
            kind: SpecialKind::SiteSurvey,
            reason: "现场核查".into(),
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_from_submission_to_licence_and_conclusion() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        // 智能预审: every problem at once, each named by its field.
        let mut bad = application(&w);
        bad.form.insert("enterprise_uscc".into(), json!("91460100MA5T0XXXIO"));
        bad.form.remove("business_address");
        bad.materials.remove("aqy");
        bad.materials.insert(
            "zd".into(),
            Provision {
                kind: ProvisionKind::Promised,
                files: vec![],
                licence_id: None,
                case_id: None,
                originals_checked: None,
            },
        );
        let e = errors(submit(&s, &w, bad, None).await);
        for f in [
            "form.enterprise_uscc",
            "form.business_address",
            "materials.aqy",
            "materials.zd",
        ] {
            assert!(e.iter().any(|(x, _)| x == f), "{f} missing in {e:?}");
        }
        assert!(
            cases::of_applicant(&s, &w.company.subject, None, 50)
                .await
                .unwrap()
                .rows
                .is_empty()
        );

        // Submitted twice with one Idempotency-Key: one case.
        let v1 = submit(&s, &w, application(&w), Some("k1")).await.unwrap();
        let v2 = submit(&s, &w, application(&w), Some("k1")).await.unwrap();
        assert_eq!(v1, v2);
        let id = v1["id"].as_str().unwrap().to_string();
        let today = yiwang_store::today();
        assert_eq!(id, yiwang_core::cases::case_number("460100", today, 1));
        let second = submit(&s, &w, application(&w), Some("k2")).await.unwrap();
        assert_eq!(
            second["id"].as_str().unwrap(),
            yiwang_core::cases::case_number("460100", today, 2)
        );
        assert_eq!(
            cases::of_applicant(&s, &w.company.subject, None, 50)
                .await
                .unwrap()
                .rows
                .len(),
            2
        );

        // 一次性告知补正, then the corrected application.
        let e = errors(act(&s, &id, Party::Clerk, Action::RequestCorrection { items: vec![] }).await);
        assert_eq!(e[0].0, "items");
        act(
            &s,
            &id,
            Party::Clerk,
            Action::RequestCorrection {
                items: vec![CorrectionItem {
                    target: "sqs".into(),
                    problem: "申请书未签字".into(),
                }],
            },
        )
        .await
        .unwrap();
        assert_eq!(cases::case(&s, &id).await.unwrap().unwrap().state, State::Correcting);
        let mut fixed = application(&w);
        fixed.materials.insert("sqs".into(), files(&w, "sqs").1);
        let signed = yiwang_store::files::put(
            &s,
            m("account:agent"),
            "signed.pdf",
            b"%PDF-1.4\n% signed\n%%EOF\n",
            Visibility::Private,
        )
        .await
        .unwrap()
        .sm3;
        fixed.materials.get_mut("sqs").unwrap().files = vec![signed.clone()];
        cases::resubmit(&s, m("account:agent>legal:legal-1"), &id, fixed)
            .await
            .unwrap();
        let c = cases::case(&s, &id).await.unwrap().unwrap();
        assert_eq!(c.state, State::Submitted);
        let (app, code) = cases::application(&s, &id).await.unwrap().unwrap();
        assert_eq!(app.materials["sqs"].files, vec![signed]);
        assert_eq!(code, w.company.code);

        // Acceptance: the due dates come from the working-day calendar.
        act(&s, &id, Party::Clerk, Action::Accept).await.unwrap();
        let c = cases::case(&s, &id).await.unwrap().unwrap();
        let cal = yiwang_core::calendar::official_calendar();
        assert_eq!(c.accepted_on, Some(today));
        assert_eq!(c.due_on, Some(cal.add_working_days(today, 5).date));
        assert_eq!(c.statutory_due_on, Some(cal.add_working_days(today, 10).date));

        // Review: only the reviewer at the review step; the decider cannot skip it.
        let e = errors(
            act(
                &s,
                &id,
                Party::Decider,
                Action::Decide {
                    approve: true,
                    reason: String::new(),
                },
            )
            .await,
        );
        assert_eq!(e[0].1, "case.step");
        act(&s, &id, Party::Reviewer, Action::Claim).await.unwrap();
        site_survey(&s, &id).await;
        assert_eq!(cases::case(&s, &id).await.unwrap().unwrap().state, State::Suspended);
        act(
            &s,
            &id,
            Party::Reviewer,
            Action::EndSpecial {
                result: "合格".into()
            },
        )
        .await
        .unwrap();
        act(
            &s,
            &id,
            Party::Reviewer,
            Action::Complete {
                opinion: "材料齐全，符合条件".into(),
            },
        )
        .await
        .unwrap();
        // Decision: the licence is issued from the form's data, in the same transaction.
        let v = act(
            &s,
            &id,
            Party::Decider,
            Action::Decide {
                approve: true,
                reason: String::new(),
            },
        )
        .await
        .unwrap();
        let lid = v["licence_id"].as_str().expect("licence issued").to_string();
        let f = licences::file(&s, &lid).await.unwrap().unwrap();
        assert_eq!(f.data.holder_code, w.company.code);
        assert_eq!(f.data.face["business_address"], "海口市龙华区滨海大道 1 号");
        assert_eq!(f.data.related_item.as_deref(), Some(w.item_code.as_str()));
        assert!(licences::verify_file(&s, &f).await.unwrap().valid);
        // Delivery by post needs its details; then 办结.
        let e = errors(
            act(
                &s,
                &id,
                Party::Clerk,
                Action::Deliver {
                    method: DeliveryMethod::Post,
                    post: None,
                },
            )
            .await,
        );
        assert_eq!(e[0].0, "post");
        act(
            &s,
            &id,
            Party::Clerk,
            Action::Deliver {
                method: DeliveryMethod::Electronic,
                post: None,
            },
        )
        .await
        .unwrap();
        let c = cases::case(&s, &id).await.unwrap().unwrap();
        assert_eq!(c.state, State::Concluded);
        assert_eq!(c.prefilled_fields, 0);
        assert_eq!(c.form_fields, 5);
        // Notices: receipt, correction, acceptance, special, approval — each sealed.
        let notices = cases::notices(&s, &id).await.unwrap();
        let kinds: Vec<&str> = notices.iter().map(|n| n.kind.as_str()).collect();
        assert_eq!(kinds, ["receipt", "correction", "acceptance", "special", "approval"]);
        for n in &notices {
            assert!(cases::verify_notice(&s, n).await.unwrap(), "{:?} not verified", n.kind);
        }
        // The decision (its licence and notice numbered and signed before the writer)
        // names the licence it issued.
        assert_eq!(notices[4].body["licence_id"], json!(lid));
        let mut forged = notices[2].clone();
        forged.body["due_on"] = json!("2099-01-01");
        assert!(!cases::verify_notice(&s, &forged).await.unwrap());
        same_parts(&s, &id).await;
        let t = cases::timeline(&s, &id).await.unwrap();
        let events: Vec<&str> = t.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "submitted",
                "correction_requested",
                "corrected",
                "accepted",
                "claimed",
                "special_started",
                "special_ended",
                "step_completed",
                "decided",
                "delivered",
                "concluded"
            ]
        );
        assert_eq!(cases::suspensions(&s, &id).await.unwrap().len(), 1);
        // Nothing further on a concluded case; the ledger holds every step.
        let e = errors(act(&s, &id, Party::Clerk, Action::Accept).await);
        assert_eq!(e[0].1, "case.state");
        let report = ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        let stream = ledger::stream(&s.read, &format!("case:{id}")).await.unwrap();
        assert!(stream.len() >= 12);
        // Each timeline entry is numbered by the version of the ledger event it records
        // (the replaced application has an event but no entry: a gap).
        for e in &t {
            let ev = stream
                .iter()
                .find(|x| x.version == e.n)
                .expect("an event of that version");
            assert_eq!(ev.kind, format!("case.{}", e.event), "entry {}", e.n);
        }
        assert!(t.windows(2).all(|p| p[0].n < p[1].n));
        assert!(
            t.iter().zip(1..).any(|(e, i)| e.n != i),
            "the replaced application leaves a gap"
        );
        assert!(
            stream.iter().all(|e| !e.body.to_string().contains(&w.company.code)),
            "the applicant's code stays out of the case events"
        );
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerance_commitment_deemed_acceptance_and_suspensions() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let today = yiwang_store::today();

        // 容缺: the rules-of-procedure material follows; the decision waits for it.
        let mut app = application(&w);
        app.materials.insert(
            "zd".into(),
            Provision {
                kind: ProvisionKind::Tolerated,
                files: vec![],
                licence_id: None,
                case_id: None,
                originals_checked: None,
            },
        );
        let v = submit(&s, &w, app.clone(), None).await.unwrap();
        assert_eq!(v["route"], "tolerance");
        let id = v["id"].as_str().unwrap().to_string();
        act(&s, &id, Party::Clerk, Action::Accept).await.unwrap();
        let kinds: Vec<String> = cases::notices(&s, &id)
            .await
            .unwrap()
            .iter()
            .map(|n| n.kind.as_str().to_string())
            .collect();
        assert!(kinds.contains(&"tolerance".to_string()), "{kinds:?}");
        let tasks = cases::tasks_of_case(&s, &id).await.unwrap();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].kind, yiwang_core::cases::TaskKind::ToleranceDue);
        // A department's open tasks (the inbox's), read for several departments at once.
        let dept = tasks[0].department_id.clone();
        let open = cases::open_tasks(&s, &[dept.clone(), "no-such-department".into()])
            .await
            .unwrap();
        assert!(open.contains(&tasks[0]), "{open:?}");
        assert!(open.iter().all(|t| t.state == "open" && t.department_id == dept));
        assert!(cases::open_tasks(&s, &[]).await.unwrap().is_empty());
        act(
            &s,
            &id,
            Party::Reviewer,
            Action::Complete {
                opinion: "同意".into()
            },
        )
        .await
        .unwrap();
        let grant = Action::Decide {
            approve: true,
            reason: String::new(),
        };
        let e = errors(act(&s, &id, Party::Decider, grant.clone()).await);
        assert_eq!(e[0].1, "case.tolerated_outstanding");
        let mut supplied = app.clone();
        supplied.materials.insert("zd".into(), files(&w, "zd").1);
        cases::resubmit(&s, m("agent"), &id, supplied).await.unwrap();
        let c = cases::case(&s, &id).await.unwrap().unwrap();
        assert!(c.outstanding.is_empty());
        assert_eq!(cases::tasks_of_case(&s, &id).await.unwrap()[0].state, "done");
        act(&s, &id, Party::Decider, grant.clone()).await.unwrap();

        // A serious credit default excludes 容缺 (STANDARDS §3) — made by a false
        // commitment below, so first the 告知承诺 route: the proof is not required.
        let mut promised = application(&w);
        promised.materials.remove("aqy");
        promised.commitment = true;
        let v = submit(&s, &w, promised, None).await.unwrap();
        assert_eq!(v["route"], "commitment");
        assert_eq!(v["promised"], json!(["aqy"]));
        let pid = v["id"].as_str().unwrap().to_string();
        act(&s, &pid, Party::Clerk, Action::Accept).await.unwrap();
        act(
            &s,
            &pid,
            Party::Reviewer,
            Action::Complete {
                opinion: "同意".into()
            },
        )
        .await
        .unwrap();
        let v = act(&s, &pid, Party::Decider, grant.clone()).await.unwrap();
        let lid = v["licence_id"].as_str().unwrap().to_string();
        let check = cases::tasks_of_case(&s, &pid)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.kind == yiwang_core::cases::TaskKind::CommitmentCheck)
            .expect("a check is scheduled");
        let cal = yiwang_core::calendar::official_calendar();
        assert_eq!(check.due_on, cal.add_working_days(today, 20).date);
        cases::complete_task(&s, m("staff"), &check.id, "现场核查：无专间，与承诺不符", true)
            .await
            .unwrap();
        assert_eq!(
            licences::summary(&s, &lid).await.unwrap().unwrap().status,
            yiwang_core::licences::Status::Revoked
        );
        same_parts(&s, &pid).await;
        assert!(cases::serious_default(&s, &w.company.subject).await.unwrap());
        let mut again = app.clone();
        again.materials.insert(
            "zd".into(),
            Provision {
                kind: ProvisionKind::Tolerated,
                files: vec![],
                licence_id: None,
                case_id: None,
                originals_checked: None,
            },
        );
        let e = errors(submit(&s, &w, again, None).await);
        assert!(
            e.contains(&("materials.zd".into(), "case.credit_default".into())),
            "{e:?}"
        );

        // 《行政许可法》第三十二条: 5 working days after receipt with no correction request.
        let v = submit(&s, &w, application(&w), None).await.unwrap();
        let late = v["id"].as_str().unwrap().to_string();
        let t = cases::tick(&s, today).await.unwrap();
        assert!(!t.deemed_accepted.contains(&late), "not yet: received today");
        let received = cal.add_working_days(today, 0).date - chrono::Days::new(12);
        sqlx::query("UPDATE cases SET received_on = $1 WHERE id = $2")
            .bind(received.to_string())
            .bind(&late)
            .execute(&s.read)
            .await
            .unwrap();
        let t = cases::tick(&s, today).await.unwrap();
        assert_eq!(t.deemed_accepted, vec![late.clone()]);
        let c = cases::case(&s, &late).await.unwrap().unwrap();
        assert_eq!(c.state, State::Accepted);
        assert_eq!(c.accepted_on, Some(received), "accepted from receipt");
        let tl = cases::timeline(&s, &late).await.unwrap();
        assert_eq!(tl.last().unwrap().body["deemed"], json!(true));
        assert!(tl.last().unwrap().zh.contains("第三十二条"));

        // Withdrawal by the applicant; 作废 needs a reason.
        let e = errors(act(&s, &late, Party::Admin, Action::Void { reason: " ".into() }).await);
        assert_eq!(e[0].0, "reason");
        cases::act(
            &s,
            m("agent"),
            &late,
            Party::Applicant,
            Action::Withdraw { reason: String::new() },
        )
        .await
        .unwrap();
        assert_eq!(cases::case(&s, &late).await.unwrap().unwrap().state, State::Withdrawn);
        let report = ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migrated_case_keeps_its_dates_and_a_case_in_hand_is_its_officers() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let today = yiwang_store::today();
        let back = today - chrono::Days::new(20);
        let migrate = |received_on, accepted_on| cases::Migration {
            legacy_no: "OLD-0001".into(),
            source: "旧平台".into(),
            received_on,
            accepted_on,
        };
        // The previous platform's materials, uploaded by whoever imports them.
        let admin_scan = yiwang_store::files::put(&s, m("admin"), "scan.pdf", SCAN, Visibility::Private)
            .await
            .unwrap()
            .sm3;
        assert_ne!(admin_scan, w.scan, "a private address is its owner's");
        let migrated_app = {
            let mut a = application(&w);
            for p in a.materials.values_mut() {
                p.files = vec![admin_scan.clone()];
            }
            a
        };
        let run = |m: cases::Migration, key: Option<&str>| {
            let mut meta = Meta::actor("admin");
            if let Some(k) = key {
                meta = meta.with_idempotency(k, "fp-import");
            }
            cases::import(
                &s,
                meta,
                cases::Submission {
                    item_code: w.item_code.clone(),
                    applicant: w.company.clone(),
                    channel: Channel::Window,
                    assisted: false,
                    application: migrated_app.clone(),
                    draft_id: None,
                },
                m,
            )
        };
        // A file that was never uploaded is not a material.
        let mut bad = application(&w);
        bad.materials.insert(
            "sqs".into(),
            Provision {
                kind: ProvisionKind::Files,
                files: vec!["b".repeat(64)],
                licence_id: None,
                case_id: None,
                originals_checked: None,
            },
        );
        let e = errors(submit(&s, &w, bad, None).await);
        assert_eq!(e, [("materials.sqs".to_string(), "file.unknown".to_string())]);
        // Nor is somebody else's upload (it would become readable through the case), nor a
        // public catalogue file.
        for other in [
            admin_scan.clone(),
            yiwang_store::files::put(&s, m("admin"), "form.pdf", SCAN, Visibility::Public)
                .await
                .unwrap()
                .sm3,
        ] {
            let mut bad = application(&w);
            bad.materials.get_mut("sqs").unwrap().files = vec![other];
            let e = errors(submit(&s, &w, bad, None).await);
            assert_eq!(e, [("materials.sqs".to_string(), "file.unknown".to_string())]);
        }

        // Dates that cannot be: in the future, accepted before receipt.
        let e = errors(
            run(
                migrate(today + chrono::Days::new(1), Some(today - chrono::Days::new(1))),
                None,
            )
            .await
            .map(|w| w.value),
        );
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["received_on", "accepted_on"]);

        // Received and accepted 20 days ago: numbered by that date, its clock overdue.
        let v = run(migrate(back, Some(back)), Some("import-1")).await.unwrap();
        let id = v.value["id"].as_str().unwrap().to_string();
        assert_eq!(&id[12..20], back.format("%Y%m%d").to_string());
        let again = run(migrate(back, Some(back)), Some("import-1")).await.unwrap();
        assert!(again.replayed);
        assert_eq!(again.value["id"], v.value["id"]);
        let c = cases::case(&s, &id).await.unwrap().unwrap();
        assert_eq!(
            (c.state, c.received_on, c.accepted_on),
            (State::Accepted, back, Some(back))
        );
        let clocks = cases::clocks(&s, &c, today).await.unwrap();
        let (_, r) = clocks.promised.unwrap();
        assert_eq!(r.light, yiwang_core::cases::Light::Red);
        assert!(r.remaining < 0);
        let tl = cases::timeline(&s, &id).await.unwrap();
        assert_eq!(tl[0].body["migrated"]["legacy_no"], "OLD-0001");
        assert!(tl[0].zh.contains("历史办件迁移"), "{}", tl[0].zh);
        assert_eq!(tl[1].event, "accepted");

        // Not yet accepted on the old platform: it waits for acceptance, and the
        // scheduler counts 《行政许可法》第三十二条 from the real receipt.
        let v = run(migrate(back, None), None).await.unwrap();
        let waiting = v.value["id"].as_str().unwrap().to_string();
        let t = cases::tick(&s, today).await.unwrap();
        assert_eq!(t.deemed_accepted, vec![waiting.clone()]);
        assert_eq!(
            cases::case(&s, &waiting).await.unwrap().unwrap().accepted_on,
            Some(back)
        );

        // 分办: the case goes to a named officer; only they act on it.
        let officer = |acc: &str| Meta::actor(format!("account:{acc}"));
        cases::act(
            &s,
            officer("lead"),
            &id,
            Party::Reviewer,
            Action::Assign { to: "acc-2".into() },
        )
        .await
        .unwrap();
        let c = cases::case(&s, &id).await.unwrap().unwrap();
        assert_eq!(c.handler.as_deref(), Some("account:acc-2"));
        let pass = || Action::Complete {
            opinion: "同意".into()
        };
        let e = errors(cases::act(&s, officer("lead"), &id, Party::Reviewer, pass()).await);
        assert_eq!(e, [("action".to_string(), "case.handler".to_string())]);
        cases::act(&s, officer("acc-2"), &id, Party::Reviewer, pass())
            .await
            .unwrap();
        let c = cases::case(&s, &id).await.unwrap().unwrap();
        assert_eq!((c.step, c.handler), (1, None));
        let report = ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

/// An inbox reads by department, region and state: a submitted case waits at the windows
/// of its region, an accepted one at the steps of its department, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inboxes_read_by_department_region_and_state() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let waiting = submit(&s, &w, application(&w), None).await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let at_step = submit(&s, &w, application(&w), None).await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        act(&s, &at_step, Party::Clerk, Action::Accept).await.unwrap();
        let dept = cases::case(&s, &at_step).await.unwrap().unwrap().department_id;
        let ids = |v: cases::Paged<cases::CaseRow>| v.rows.into_iter().map(|c| c.id).collect::<Vec<_>>();
        let window = |p: &str| cases::InboxScope {
            window_prefix: Some(p.into()),
            ..Default::default()
        };
        for (prefix, want) in [
            ("46", true),
            ("4601", true),
            ("460100", true),
            ("", true),
            ("4602", false),
            ("45", false),
        ] {
            let got = ids(cases::inbox_cases(&s, &window(prefix), None, 100).await.unwrap());
            let expected = if want { vec![waiting.clone()] } else { vec![] };
            assert_eq!(got, expected, "window prefix {prefix:?}");
        }
        let steps = |d: Option<&str>, p: Option<&str>| cases::InboxScope {
            step_department: d.map(Into::into),
            step_prefix: p.map(Into::into),
            ..Default::default()
        };
        assert_eq!(
            ids(cases::inbox_cases(&s, &steps(Some(&dept), None), None, 100)
                .await
                .unwrap()),
            vec![at_step.clone()]
        );
        assert!(
            cases::inbox_cases(&s, &steps(Some("another"), None), None, 100)
                .await
                .unwrap()
                .rows
                .is_empty()
        );
        assert_eq!(
            ids(cases::inbox_cases(&s, &steps(None, Some("46")), None, 100)
                .await
                .unwrap()),
            vec![at_step.clone()]
        );
        // Both parts together: the accepted case (its clock runs) before the one at the
        // window; a page of one, then the next from its cursor, then no more.
        let both = cases::InboxScope {
            window_prefix: Some("46".into()),
            step_department: Some(dept.clone()),
            step_prefix: None,
        };
        assert_eq!(
            ids(cases::inbox_cases(&s, &both, None, 100).await.unwrap()),
            vec![at_step.clone(), waiting.clone()]
        );
        let first = cases::inbox_cases(&s, &both, None, 1).await.unwrap();
        let after = cases::InboxKey::parse(first.next.as_deref().unwrap()).unwrap();
        let second = cases::inbox_cases(&s, &both, Some(&after), 1).await.unwrap();
        assert_eq!(second.next, None);
        assert_eq!(
            (ids(first), ids(second)),
            (vec![at_step.clone()], vec![waiting.clone()])
        );

        // The applicant's home page counts: open cases, and those waiting on them.
        let counts = || cases::applicant_counts(&s, &w.company.subject);
        let c = counts().await.unwrap();
        assert_eq!((c.open, c.to_do, c.drafts), (2, 0, 0));
        act(
            &s,
            &waiting,
            Party::Clerk,
            Action::RequestCorrection {
                items: vec![CorrectionItem {
                    target: "sqs".into(),
                    problem: "缺少签字".into(),
                }],
            },
        )
        .await
        .unwrap();
        let c = counts().await.unwrap();
        assert_eq!((c.open, c.to_do), (2, 1));
        // Out of every inbox while the applicant corrects.
        assert!(ids(cases::inbox_cases(&s, &window("46"), None, 100).await.unwrap()).is_empty());

        // An inbox's clocks, read together, are each case's own (a suspended one too).
        site_survey(&s, &at_step).await;
        let rows = [
            cases::case(&s, &waiting).await.unwrap().unwrap(),
            cases::case(&s, &at_step).await.unwrap().unwrap(),
        ];
        let today = yiwang_store::today() + chrono::Days::new(9);
        let together = cases::clocks_many(&s, &rows.iter().collect::<Vec<_>>(), today)
            .await
            .unwrap();
        for (row, clocks) in rows.iter().zip(&together) {
            assert_eq!(clocks, &cases::clocks(&s, row, today).await.unwrap(), "{}", row.id);
        }
        assert!(together[0].promised.is_none(), "no clock before acceptance");
        assert!(together[1].promised.is_some());
    }
}

/// Inboxes and applicants' lists are read a page at a time: the pages, followed by their
/// cursors, give every case once and in order, whatever the page size; a cursor the
/// platform did not give out is refused naming `after`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_are_read_a_page_at_a_time_in_key_order() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let mut all = vec![];
        for i in 0..17 {
            let id = submit(&s, &w, application(&w), None).await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            if i % 3 == 0 {
                act(&s, &id, Party::Clerk, Action::Accept).await.unwrap();
            }
            if i == 3 {
                site_survey(&s, &id).await;
            }
            all.push(id);
        }
        let dept = cases::case(&s, &all[0]).await.unwrap().unwrap().department_id;
        let scope = cases::InboxScope {
            window_prefix: Some("46".into()),
            step_department: Some(dept),
            step_prefix: None,
        };
        let whole = cases::inbox_cases(&s, &scope, None, 200).await.unwrap();
        assert_eq!(whole.rows.len(), 17);
        assert_eq!(whole.next, None);
        let keys: Vec<cases::InboxKey> = whole.rows.iter().map(cases::InboxKey::of).collect();
        assert!(keys.windows(2).all(|k| k[0] < k[1]), "in key order, no case twice");
        assert!(
            whole.rows[..6].iter().all(|c| c.due_on.is_some()) && whole.rows[6..].iter().all(|c| c.due_on.is_none()),
            "cases with a running clock first"
        );
        let want: Vec<String> = whole.rows.iter().map(|c| c.id.clone()).collect();
        for size in [1, 4, 6, 16, 17] {
            let (mut got, mut after) = (vec![], None);
            loop {
                let page = cases::inbox_cases(&s, &scope, after.as_ref(), size).await.unwrap();
                assert!(page.rows.len() as i64 <= size);
                got.extend(page.rows.iter().map(|c| c.id.clone()));
                match page.next {
                    Some(n) => after = Some(cases::InboxKey::parse(&n).unwrap()),
                    None => break,
                }
            }
            assert_eq!(got, want, "inbox pages of {size}");
        }

        // The applicant's list: most recently changed first, the same way.
        let whole = cases::of_applicant(&s, &w.company.subject, None, 200).await.unwrap();
        assert_eq!(whole.rows.len(), 17);
        assert!(
            whole
                .rows
                .windows(2)
                .all(|p| (p[0].updated_at, &p[0].id) > (p[1].updated_at, &p[1].id))
        );
        let want: Vec<String> = whole.rows.iter().map(|c| c.id.clone()).collect();
        for size in [1, 5, 17] {
            let (mut got, mut after) = (vec![], None);
            loop {
                let page = cases::of_applicant(&s, &w.company.subject, after.as_ref(), size)
                    .await
                    .unwrap();
                got.extend(page.rows.iter().map(|c| c.id.clone()));
                match page.next {
                    Some(n) => after = Some(cases::ListKey::parse(&n).unwrap()),
                    None => break,
                }
            }
            assert_eq!(got, want, "list pages of {size}");
        }

        // 热门服务: the writer counted each submission once on its day of receipt; a retried
        // Idempotency-Key is the same submission, not another.
        for _ in 0..2 {
            submit(&s, &w, application(&w), Some("popular-once")).await.unwrap();
        }
        let since = yiwang_store::today() - chrono::Duration::days(90);
        let popular = cases::popular_items(&s, since, 8).await.unwrap();
        assert_eq!(popular.len(), 1);
        assert_eq!(
            (popular[0].item_code.as_str(), popular[0].applications),
            (w.item_code.as_str(), 18)
        );
        assert_eq!(popular[0].item_name, "食品经营许可");
        assert!(
            cases::popular_items(&s, yiwang_store::today() + chrono::Duration::days(1), 8)
                .await
                .unwrap()
                .is_empty()
        );

        for bad in [
            "",
            "x",
            "2026-13-01.2026-12-01.1",
            "-.2026-12-01.",
            "-.2026-12-01.1 OR 1=1",
        ] {
            assert_eq!(cases::InboxKey::parse(bad).unwrap_err().field, "after", "{bad:?}");
        }
        for bad in ["", "12", "x.1", "12.'"] {
            assert_eq!(cases::ListKey::parse(bad).unwrap_err().field, "after", "{bad:?}");
        }
        db.cleanup().await;
    }
}

/// An approval's licence is numbered and signed before its command enters the writer,
/// which stores it as prepared; if the department's seal was replaced in between, the
/// writer issues it anew under the seal as it now stands (never under a retired one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_licence_prepared_before_the_writer_follows_a_replaced_seal() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        for rotate in [false, true] {
            let id = submit(&s, &w, application(&w), None).await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string();
            let review = Action::Complete {
                opinion: "同意".into()
            };
            for (party, action) in [(Party::Clerk, Action::Accept), (Party::Reviewer, review)] {
                act(&s, &id, party, action).await.unwrap();
            }
            let c = cases::case(&s, &id).await.unwrap().unwrap();
            let input = licences::IssueInput {
                type_code: format!("{}001", uscc("11460100", 1)),
                department_id: c.department_id.clone(),
                holder_name: w.company.name.clone(),
                holder_code: w.company.code.clone(),
                face: [
                    ("legal_representative", "王小明"),
                    ("business_address", "海口市龙华区滨海大道 1 号"),
                    ("food_business_type", "餐饮服务经营者"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                valid_from: None,
                number: None,
                related_item: Some(w.item_code.clone()),
                case_id: Some(id.clone()),
            };
            let prepared = licences::prepare(&s, &input, yiwang_store::now_ms()).await.unwrap();
            let old = yiwang_store::refdata::signing_seal(&s, &c.department_id)
                .await
                .unwrap()
                .unwrap();
            if rotate {
                s.write(
                    m("admin"),
                    Command::Seals(seals::Cmd::Rotate {
                        seal_id: old.id.clone(),
                        reason: "印章换发".into(),
                    }),
                )
                .await
                .unwrap();
            }
            let v = s
                .write(
                    m("staff:decider"),
                    Command::Cases(Box::new(cases::Cmd::Act {
                        case_id: id.clone(),
                        party: Party::Decider,
                        action: Action::Decide {
                            approve: true,
                            reason: String::new(),
                        },
                        calendar: yiwang_store::calendar::calendar_for(&s, Some(&c.region_code))
                            .await
                            .unwrap(),
                        policy: s.config.cases,
                        replace: None,
                        elements: None,
                        licence: Some(Box::new(prepared.clone())),
                        notices: vec![],
                    })),
                )
                .await
                .unwrap()
                .value;
            let lid = v["licence_id"].as_str().expect("licence issued");
            let f = licences::file(&s, lid).await.unwrap().unwrap();
            assert!(licences::verify_file(&s, &f).await.unwrap().valid);
            if rotate {
                assert_ne!(lid, prepared.id(), "issued anew");
                assert_ne!(f.signature.seal_id, old.id, "not under the retired seal");
            } else {
                assert_eq!(lid, prepared.id(), "stored as prepared");
                assert_eq!(f.signature.seal_id, old.id);
            }
        }
        let r = ledger::verify_store(&s).await.unwrap();
        assert!(r.ok(), "{r:?}");
        db.cleanup().await;
    }
}
