//! 好差评 store tests, each on SQLite and PostgreSQL: only the applicant rates, once per
//! stage and only after the case ended; a bad rating opens a follow-up task for the
//! department that handled the case (回访 → 限期整改 → fixed → the rater answers), appeals
//! decided by the supervisor (upheld: kept, not counted); the default rating of a case left
//! unrated (the scheduler); option sets published as versions; 一事多评 where configured.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use yiwang_core::cases::{Action as A, Channel as CaseChannel, DeliveryMethod, Party, Provision, ProvisionKind, State};
use yiwang_core::catalog::{Action, Elements, StepRole};
use yiwang_core::mandates::Subject;
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::ratings::{Channel, Outcome, RatingInput, Stage, TaskAction, TaskParty, TaskState};
use yiwang_core::regions::NewRegion;
use yiwang_store::catalog::{Cmd as CatalogCmd, Dates};
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, Store, StoreError, catalog, orgs, ratings, regions};

fn m(a: &str) -> Meta {
    Meta::actor(a)
}

fn rules(e: StoreError) -> Vec<(String, String)> {
    match e {
        StoreError::Domain(d) => d.errors.into_iter().map(|f| (f.field, f.rule)).collect(),
        other => panic!("not a domain error: {other}"),
    }
}

const SCAN: &[u8] = b"%PDF-1.4\n% a scanned ID card\ntrailer<<>>\n%%EOF\n";

struct World {
    item_code: String,
    dept: String,
    scan: String,
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
    let body = "11460100000000001";
    let w = s
        .write(
            m("admin"),
            Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                name: "海口市民政局".into(),
                uscc: format!("{body}{}", yiwang_core::ids::uscc_check_char(body).unwrap()),
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
    let e: Elements = serde_json::from_value(json!({
        "name": "临时救助申请",
        "item_type": "public_service",
        "legal_basis": [{"law": "《社会救助暂行办法》", "article": "第四十七条", "text": "国家对因火灾、交通事故等意外事件，家庭成员突发重大疾病等原因，导致基本生活暂时出现严重困难的家庭，给予临时救助。"}],
        "service_objects": ["natural_person"],
        "handling_forms": ["window", "online"],
        "statutory_limit": {"value": 20, "unit": "working_days"},
        "promised_limit": {"value": 5, "unit": "working_days"},
        "visits": 0,
        "materials": [{"key": "sfz", "name": "申请人居民身份证", "kind": "certificate", "form": "electronic",
                       "necessity": "required", "source": {"channel": "applicant"}}],
        "form": [{"element": "applicant_name", "required": true}],
    }))
    .unwrap();
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
    let act = |who: &'static str, id: String, a: Action| {
        let s = s.clone();
        async move {
            s.write(
                m(who),
                Command::Catalog(Box::new(CatalogCmd::Act {
                    entry_id: id,
                    action: a,
                })),
            )
            .await
            .unwrap();
        }
    };
    act("editor", basic_id.clone(), Action::Submit).await;
    act("reviewer", basic_id, Action::Publish).await;
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
    act("editor", item_id.clone(), Action::Submit).await;
    act("reviewer", item_id, Action::Publish).await;
    let scan = yiwang_store::files::put(
        s,
        m("account:wang"),
        "id.pdf",
        SCAN,
        yiwang_store::files::Visibility::Private,
    )
    .await
    .unwrap()
    .sm3;
    World { item_code, dept, scan }
}

/// The board's counters of this month, summed over its rows.
async fn counts(s: &Store) -> yiwang_core::ratings::Counts {
    counts_of(s, yiwang_store::today()).await
}

/// The board's counters of the month of `day`.
async fn counts_of(s: &Store, day: chrono::NaiveDate) -> yiwang_core::ratings::Counts {
    let month = day.format("%Y-%m").to_string();
    let mut c = yiwang_core::ratings::Counts::default();
    for r in ratings::stats(s, &month, &month).await.unwrap() {
        for i in 0..5 {
            c.by_level[i] += r.counts.by_level[i];
        }
        c.defaulted += r.counts.defaulted;
        c.bad += r.counts.bad;
        c.called_back += r.counts.called_back;
        c.closed += r.counts.closed;
    }
    c
}

fn wang() -> Subject {
    Subject::Person("wang".into())
}

/// A case of 王小明's, taken through its department to the end (`conclude`) or left
/// accepted.
async fn case(s: &Store, w: &World, conclude: bool) -> String {
    case_for(s, w, conclude, wang()).await
}

/// The same for another applicant.
async fn case_for(s: &Store, w: &World, conclude: bool, who: Subject) -> String {
    let id_number = {
        let body = "46010019900101002";
        format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap())
    };
    let app = yiwang_core::cases::Application {
        answers: BTreeMap::new(),
        form: [("applicant_name".to_string(), json!("王小明"))].into(),
        materials: [(
            "sfz".to_string(),
            Provision {
                kind: ProvisionKind::Files,
                files: vec![w.scan.clone()],
                licence_id: None,
                case_id: None,
                originals_checked: None,
            },
        )]
        .into(),
        commitment: false,
        handling: None,
    };
    let v = yiwang_store::cases::submit(
        s,
        m("account:wang"),
        yiwang_store::cases::Submission {
            item_code: w.item_code.clone(),
            applicant: yiwang_store::cases::Applicant {
                subject: who,
                name: "王小明".into(),
                code: id_number,
            },
            channel: CaseChannel::Online,
            assisted: false,
            application: app,
            draft_id: None,
        },
    )
    .await
    .unwrap();
    let id = v.value["id"].as_str().unwrap().to_string();
    for _ in 0..10 {
        let c = yiwang_store::cases::case(s, &id).await.unwrap().unwrap();
        let (p, a) = match (c.state, c.steps.get(c.step as usize)) {
            (State::Submitted, _) => (Party::Clerk, A::Accept),
            (State::Accepted, _) if !conclude => break,
            (State::Accepted, Some(StepRole::Decide)) => (
                Party::Decider,
                A::Decide {
                    approve: true,
                    reason: String::new(),
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
            (State::Decided, _) => (
                Party::Clerk,
                A::Deliver {
                    method: DeliveryMethod::Electronic,
                    post: None,
                },
            ),
            _ => break,
        };
        yiwang_store::cases::act(s, m(&format!("staff:{}", p.as_str())), &id, p, a)
            .await
            .unwrap();
    }
    id
}

fn input(level: u8, options: &[&str]) -> RatingInput {
    RatingInput {
        level,
        options: options.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn online(level: u8, options: &[&str]) -> ratings::RateRequest {
    ratings::RateRequest {
        channel: Channel::Online,
        stage: Stage::Conclusion,
        input: input(level, options),
        clerk: None,
    }
}

#[tokio::test]
async fn a_case_is_rated_by_its_applicant_once_after_it_ended() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let open = case(&s, &w, false).await;
        let e = ratings::rate(&s, m("account:wang"), &open, &wang(), online(5, &["fast"]))
            .await
            .unwrap_err();
        assert_eq!(rules(e), [("stage".to_string(), "rating.not_yet".to_string())]);
        let done = case(&s, &w, true).await;
        let row = yiwang_store::cases::case(&s, &done).await.unwrap().unwrap();
        assert_eq!(row.state, State::Concluded);
        assert_eq!(ratings::open_stages(&s, &row).await.unwrap(), [Stage::Conclusion]);
        // Someone else's case is not found; a bad input names every problem.
        let e = ratings::rate(
            &s,
            m("account:li"),
            &done,
            &Subject::Person("li".into()),
            online(5, &[]),
        )
        .await
        .unwrap_err();
        assert_eq!(rules(e), [("case_id".to_string(), "exists".to_string())]);
        let mut bad = online(9, &["nope"]);
        bad.input.dimensions.insert("attitude".into(), 3);
        let e = ratings::rate(&s, m("account:wang"), &done, &wang(), bad)
            .await
            .unwrap_err();
        assert_eq!(
            rules(e),
            [
                ("level", "rating.level"),
                ("dimensions.attitude", "rating.dimension_unknown"),
                ("options[0]", "rating.option_unknown")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let mut good = online(5, &["fast", "once"]);
        good.input.dimensions.insert("efficiency".into(), 5);
        good.input.text = Some("  很快  ".into());
        let v = ratings::rate(&s, m("account:wang"), &done, &wang(), good)
            .await
            .unwrap();
        assert!(v.value["task_id"].is_null(), "a good rating opens no task");
        let e = ratings::rate(&s, m("account:wang"), &done, &wang(), online(4, &[]))
            .await
            .unwrap_err();
        assert_eq!(rules(e), [("stage".to_string(), "rating.already_rated".to_string())]);
        let got = ratings::of_case(&s, &done).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].level, got[0].text.as_deref(), got[0].option_set),
            (5, Some("很快"), 1)
        );
        assert_eq!(got[0].rater_type, "person");
        assert!(ratings::open_stages(&s, &row).await.unwrap().is_empty());
        let mine = ratings::of_rater(&s, &wang(), 10).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(counts(&s).await.by_level, [0, 0, 0, 0, 1]);
        // The national record names the case, the item and its version, the department.
        let today = yiwang_store::today();
        let rec = ratings::national(&s, today, today).await.unwrap();
        assert_eq!(rec.len(), 1);
        assert_eq!(rec[0]["case_number"], done.as_str());
        assert_eq!(rec[0]["item_version"], 1);
        assert_eq!(rec[0]["department_name"], "海口市民政局");
        assert_eq!(rec[0]["applicant_type"], "person");
        assert_eq!(rec[0]["option_names"], json!(["办理时间短", "一次办成，不用跑腿"]));
        assert_eq!(rec[0]["handling_state"], "concluded");
        // Rated: the scheduler has nothing to default for it, even long after.
        let later = yiwang_store::today() + chrono::Days::new(30);
        assert!(ratings::tick(&s, later).await.unwrap().is_empty());
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_unrated_case_is_rated_fairly_satisfied_after_seven_days() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let done = case(&s, &w, true).await;
        let today = yiwang_store::today();
        // Six days on: not yet (the province's 7 natural days).
        assert!(
            ratings::tick(&s, today + chrono::Days::new(6))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ratings::tick(&s, today + chrono::Days::new(7)).await.unwrap(),
            std::slice::from_ref(&done)
        );
        let got = ratings::of_case(&s, &done).await.unwrap();
        assert_eq!((got.len(), got[0].level, got[0].defaulted), (1, 3, true));
        // Counted in the month it was given by default.
        let c = counts_of(&s, today + chrono::Days::new(7)).await;
        assert_eq!((c.by_level, c.defaulted, c.bad), ([0, 0, 1, 0, 0], 1, 0));
        // Once only; and the applicant can no longer rate that stage.
        assert!(
            ratings::tick(&s, today + chrono::Days::new(8))
                .await
                .unwrap()
                .is_empty()
        );
        let e = ratings::rate(&s, m("account:wang"), &done, &wang(), online(5, &[]))
            .await
            .unwrap_err();
        assert_eq!(rules(e), [("stage".to_string(), "rating.already_rated".to_string())]);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_bad_rating_is_called_back_fixed_and_answered_by_the_rater() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let done = case(&s, &w, true).await;
        let e = ratings::rate(&s, m("account:wang"), &done, &wang(), online(2, &[]))
            .await
            .unwrap_err();
        assert_eq!(
            rules(e),
            [("options".to_string(), "rating.reason_required".to_string())]
        );
        let v = ratings::rate(&s, m("account:wang"), &done, &wang(), online(2, &["many_trips"]))
            .await
            .unwrap();
        let id = v.value["task_id"].as_str().unwrap().to_string();
        let open: Vec<_> =
            ratings::tasks_with_ratings(&s, std::slice::from_ref(&w.dept), ratings::TaskFilter::Open, 50)
                .await
                .unwrap()
                .into_iter()
                .map(|(t, r)| {
                    assert_eq!(r.id, t.id);
                    t
                })
                .collect();
        assert_eq!(open.len(), 1);
        assert_eq!(
            (open[0].state, open[0].case_id.as_str()),
            (TaskState::CallingBack, done.as_str())
        );
        assert!(
            open[0].call_back_due > yiwang_store::today(),
            "called back within working days"
        );
        let officer = m("staff:officer");
        let step = |a: TaskAction| (officer.clone(), a);
        let e = ratings::act(
            &s,
            officer.clone(),
            &id,
            TaskParty::Department,
            TaskAction::Resolve {
                outcome: Outcome::Immediate,
                note: "已处理".into(),
                due_on: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(rules(e)[0].1, "rating_task.call_back_first");
        let due = yiwang_store::today() + chrono::Days::new(10);
        for (meta, a) in [
            step(TaskAction::CallBack {
                reached: true,
                note: "电话回访，申请人反映材料要求不清楚".into(),
            }),
            step(TaskAction::Resolve {
                outcome: Outcome::Deadline,
                note: "修订办事指南材料说明".into(),
                due_on: Some(due),
            }),
            step(TaskAction::Fixed {
                note: "办事指南已修订并发布".into(),
            }),
        ] {
            ratings::act(&s, meta, &id, TaskParty::Department, a).await.unwrap();
        }
        let t = ratings::task(&s, &id).await.unwrap().unwrap();
        assert_eq!(
            (t.state, t.officer.as_deref(), t.history.len()),
            (TaskState::Closed, Some("staff:officer"), 3)
        );
        assert!(ratings::asks_feedback(&t));
        // The rater was told of the outcome and of the fix.
        let notes = yiwang_store::cases::notifications(&s, &wang()).await.unwrap();
        assert!(notes.iter().any(|n| n.text_zh.contains("限期整改")), "{notes:?}");
        assert!(notes.iter().any(|n| n.text_zh.contains("已整改完成")), "{notes:?}");
        ratings::act(
            &s,
            m("account:wang"),
            &id,
            TaskParty::Rater,
            TaskAction::Feedback { satisfied: true },
        )
        .await
        .unwrap();
        let mine = ratings::of_rater(&s, &wang(), 10).await.unwrap();
        assert_eq!(mine[0].task.as_ref().unwrap().task.satisfied, Some(true));
        assert!(
            ratings::tasks_with_ratings(&s, std::slice::from_ref(&w.dept), ratings::TaskFilter::Open, 50)
                .await
                .unwrap()
                .is_empty()
        );
        // The board: one bad rating, called back and closed (100 %); the fix is published
        // with what the unit answered, without the rater.
        let c = counts(&s).await;
        assert_eq!((c.by_level[1], c.bad, c.called_back, c.closed), (1, 1, 1, 1));
        let f = yiwang_core::ratings::figures(&c);
        assert_eq!((f.call_back_rate, f.rectification_rate), (Some(1.0), Some(1.0)));
        let fixes = ratings::recent_fixes(&s, 5).await.unwrap();
        assert_eq!(fixes.len(), 1);
        assert_eq!(fixes[0].answer, ["修订办事指南材料说明", "办事指南已修订并发布"]);
        assert!(
            !serde_json::to_string(&fixes).unwrap().contains("wang"),
            "no rater on the board"
        );
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_upheld_appeal_keeps_the_rating_but_leaves_it_uncounted() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let done = case(&s, &w, true).await;
        let v = ratings::rate(&s, m("account:wang"), &done, &wang(), online(1, &["attitude"]))
            .await
            .unwrap();
        let id = v.value["task_id"].as_str().unwrap().to_string();
        let appeal = TaskAction::Appeal {
            reason: "该件为即时办结，评价人误选".into(),
        };
        ratings::act(&s, m("staff:officer"), &id, TaskParty::Department, appeal.clone())
            .await
            .unwrap();
        // The task moved on: a step decided from the old state is refused.
        let e = ratings::act(&s, m("staff:officer"), &id, TaskParty::Department, appeal)
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "rating_task.appealed");
        ratings::act(
            &s,
            m("staff:supervisor"),
            &id,
            TaskParty::Supervisor,
            TaskAction::DecideAppeal {
                upheld: true,
                reason: "经核查属误评".into(),
            },
        )
        .await
        .unwrap();
        let r = ratings::of_case(&s, &done).await.unwrap();
        assert_eq!((r.len(), r[0].excluded), (1, true));
        let c = counts(&s).await;
        assert_eq!(
            (c.by_level, c.bad, c.called_back, c.closed),
            ([0; 5], 0, 0, 0),
            "not counted"
        );
        let t = ratings::task(&s, &id).await.unwrap().unwrap();
        assert_eq!((t.state, t.task.excluded), (TaskState::Closed, true));
        assert!(!ratings::asks_feedback(&t));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn option_sets_are_published_as_versions_and_acceptance_is_rated_where_configured() {
    use yiwang_core::ratings::RatingOption;
    for db in TestDb::both().await {
        let mut cfg = db.config();
        cfg.ratings.multi_stage = true;
        let s = yiwang_store::Store::open(cfg).await.unwrap();
        let w = setup(&s).await;
        assert_eq!(ratings::options(&s).await.unwrap().0, 1);
        let bad = vec![RatingOption {
            key: "Bad Key".into(),
            zh: "x".into(),
            en: "x".into(),
            levels: vec![5],
        }];
        let e = ratings::set_options(&s, m("staff:supervisor"), bad).await.unwrap_err();
        let r = rules(e);
        assert!(
            r.contains(&("options[0].key".to_string(), "rating.option_key".to_string())),
            "{r:?}"
        );
        let mut mine = yiwang_core::ratings::default_options();
        mine.push(RatingOption {
            key: "queue".into(),
            zh: "排队时间长".into(),
            en: "long queue".into(),
            levels: vec![1, 2],
        });
        let v = ratings::set_options(&s, m("staff:supervisor"), mine).await.unwrap();
        assert_eq!(v.value["version"], 2);
        assert_eq!(ratings::options(&s).await.unwrap().1.last().unwrap().key, "queue");
        // 一事多评: the acceptance is rated once the case is accepted.
        let open = case(&s, &w, false).await;
        let row = yiwang_store::cases::case(&s, &open).await.unwrap().unwrap();
        assert_eq!(ratings::open_stages(&s, &row).await.unwrap(), [Stage::Acceptance]);
        let mut req = online(2, &["queue"]);
        req.stage = Stage::Acceptance;
        ratings::rate(&s, m("account:wang"), &open, &wang(), req).await.unwrap();
        let got = ratings::of_case(&s, &open).await.unwrap();
        assert_eq!((got[0].stage, got[0].option_set), (Stage::Acceptance, 2));
        s.close().await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_counter_rating_works_once_for_the_case_and_clerk_and_expires() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        // At the window while the case is open: the visit is rated (一次一评), the clerk named.
        let open = case(&s, &w, false).await;
        let (token, expires_at) = ratings::open_pad(&s, m("account:clerk1"), &open, "account:clerk1", None)
            .await
            .unwrap();
        assert!(expires_at > yiwang_store::now_ms());
        let p = ratings::pad(&s, &token).await.unwrap();
        assert_eq!(
            (p.case_id.as_str(), p.stage, p.clerk.as_str()),
            (open.as_str(), Stage::Acceptance, "account:clerk1")
        );
        // The channel's own dimensions: 服务态度 on site, not 平台操作性.
        let mut bad = input(5, &[]);
        bad.dimensions.insert("usability".into(), 5);
        let e = ratings::rate_pad(&s, &token, bad).await.unwrap_err();
        assert_eq!(
            rules(e),
            [(
                "dimensions.usability".to_string(),
                "rating.dimension_unknown".to_string()
            )]
        );
        let mut good = input(4, &["friendly"]);
        good.dimensions.insert("attitude".into(), 5);
        ratings::rate_pad(&s, &token, good.clone()).await.unwrap();
        let r = ratings::of_case(&s, &open).await.unwrap();
        assert_eq!(
            (r[0].channel, r[0].stage, r[0].clerk.as_deref()),
            (Channel::OnSite, Stage::Acceptance, Some("account:clerk1"))
        );
        // Once: a replay, a forged token; and the visit cannot be opened again.
        let e = ratings::rate_pad(&s, &token, good.clone()).await.unwrap_err();
        assert_eq!(rules(e), [("token".to_string(), "rating.pad_used".to_string())]);
        let e = ratings::rate_pad(&s, "00112233445566778899aabbccddeeff", good.clone())
            .await
            .unwrap_err();
        assert_eq!(rules(e), [("token".to_string(), "rating.pad_unknown".to_string())]);
        let e = ratings::open_pad(&s, m("account:clerk1"), &open, "account:clerk1", None)
            .await
            .unwrap_err();
        assert_eq!(rules(e), [("stage".to_string(), "rating.already_rated".to_string())]);
        // The applicant still rates the case online once it ends; the board counts the clerk.
        let done = case(&s, &w, true).await;
        let (token, _) = ratings::open_pad(&s, m("account:clerk2"), &done, "account:clerk2", None)
            .await
            .unwrap();
        // Minutes later the token has expired.
        sqlx::query("UPDATE rating_pads SET expires_at = 0")
            .execute(&s.read)
            .await
            .unwrap();
        let e = ratings::rate_pad(&s, &token, good).await.unwrap_err();
        assert_eq!(rules(e), [("token".to_string(), "rating.pad_expired".to_string())]);
        let month = yiwang_store::today().format("%Y-%m").to_string();
        let stats = ratings::stats(&s, &month, &month).await.unwrap();
        assert!(
            stats
                .iter()
                .any(|r| r.clerk == "account:clerk1" && r.counts.by_level[3] == 1),
            "{stats:?}"
        );
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_officer_calling_back_sees_how_to_reach_the_rater_and_it_is_logged() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let body = "46010019900101002";
        let input = yiwang_core::accounts::PersonInput {
            name: "李梅".into(),
            id_number: format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap()),
            phone: "13900139001".into(),
            address: None,
            password: "Demo#2026yw-mum".into(),
            sms_code: None,
        };
        let p = yiwang_store::accounts::register_person(&s, m("system:test"), &input, None)
            .await
            .unwrap();
        let li = Subject::Person(p.person_id.clone());
        let done = case_for(&s, &w, true, li.clone()).await;
        let v = ratings::rate(&s, m("account:li"), &done, &li, online(1, &["attitude"]))
            .await
            .unwrap();
        let id = v.value["task_id"].as_str().unwrap().to_string();
        let reader = yiwang_store::datause::Reader {
            kind: "staff".into(),
            id: "officer".into(),
            name: "回访员".into(),
            department: Some("海口市民政局".into()),
        };
        let c = ratings::contact(&s, m("staff:officer"), &reader, &id).await.unwrap();
        assert_eq!((c.name.as_str(), c.phone.as_str()), ("李梅", "13900139001"));
        let log = yiwang_store::datause::of_person(&s, &p.person_id, 10).await.unwrap();
        assert!(
            log.iter()
                .any(|u| u.purpose.contains("回访") && u.case_id.as_deref() == Some(done.as_str())),
            "{log:?}"
        );
        // A rating by default has no one to call.
        let other = case(&s, &w, true).await;
        ratings::tick(&s, yiwang_store::today() + chrono::Days::new(7))
            .await
            .unwrap();
        let r = ratings::of_case(&s, &other).await.unwrap();
        let e = ratings::contact(&s, m("staff:officer"), &reader, &r[0].id)
            .await
            .unwrap_err();
        assert_eq!(rules(e), [("task_id".to_string(), "rating.no_contact".to_string())]);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_counter_rating_at_a_window_counts_for_its_hall_and_clerk() {
    use yiwang_core::orgs::{HallInput, WindowInput, WindowKind};
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let hall = s
            .write(
                m("admin"),
                Command::Orgs(orgs::Cmd::CreateHall(HallInput {
                    name: "海口市政务服务中心".into(),
                    region_code: "460100".into(),
                    address: "海口市美兰区".into(),
                    hours: "周一至周五 9:00-17:00".into(),
                    phone: None,
                })),
            )
            .await
            .unwrap()
            .value["id"]
            .as_str()
            .unwrap()
            .to_string();
        let window = |number: &str, dept: Option<String>| WindowInput {
            number: number.into(),
            name: "综合受理窗口".into(),
            kind: if dept.is_some() {
                WindowKind::Dedicated
            } else {
                WindowKind::Comprehensive
            },
            department_id: dept,
        };
        let mut ids = vec![];
        for (n, d) in [("A01", None), ("D01", Some("another-department".to_string()))] {
            let v = s
                .write(
                    m("admin"),
                    Command::Orgs(orgs::Cmd::CreateWindow {
                        hall_id: hall.clone(),
                        input: window(n, d),
                    }),
                )
                .await;
            ids.push(v.ok().and_then(|v| v.value["id"].as_str().map(str::to_string)));
        }
        let a01 = ids[0].clone().unwrap();
        // The windows a clerk of this department may name: the hall's 综合窗口 only.
        let offered = ratings::pad_windows(&s, &w.dept).await.unwrap();
        assert_eq!(offered.iter().map(|x| x.number.as_str()).collect::<Vec<_>>(), ["A01"]);
        let open = case(&s, &w, false).await;
        let e = ratings::open_pad(&s, m("account:clerk1"), &open, "account:clerk1", Some("no-such-window"))
            .await
            .unwrap_err();
        assert_eq!(rules(e), [("window_id".to_string(), "rating.pad_window".to_string())]);
        let (token, _) = ratings::open_pad(&s, m("account:clerk1"), &open, "account:clerk1", Some(&a01))
            .await
            .unwrap();
        let p = ratings::pad(&s, &token).await.unwrap();
        assert_eq!(
            (p.hall_id.as_deref(), p.window_id.as_deref()),
            (Some(hall.as_str()), Some(a01.as_str()))
        );
        let mut bad = input(2, &["attitude"]);
        bad.dimensions.insert("attitude".into(), 2);
        ratings::rate_pad(&s, &token, bad).await.unwrap();
        let r = ratings::of_case(&s, &open).await.unwrap();
        assert_eq!(
            (
                r[0].hall_id.as_deref(),
                r[0].window_id.as_deref(),
                r[0].clerk.as_deref()
            ),
            (Some(hall.as_str()), Some(a01.as_str()), Some("account:clerk1"))
        );
        // An online rating of another case counts with no hall and no clerk.
        let done = case(&s, &w, true).await;
        ratings::rate(&s, m("account:wang"), &done, &wang(), online(5, &[]))
            .await
            .unwrap();
        let month = yiwang_store::today().format("%Y-%m").to_string();
        let stats = ratings::stats(&s, &month, &month).await.unwrap();
        let at_hall: Vec<_> = stats.iter().filter(|x| x.hall_id == hall).collect();
        assert_eq!(at_hall.len(), 1, "{stats:?}");
        assert_eq!(
            (
                at_hall[0].clerk.as_str(),
                at_hall[0].counts.by_level[1],
                at_hall[0].counts.bad
            ),
            ("account:clerk1", 1, 1)
        );
        assert!(
            stats
                .iter()
                .any(|x| x.hall_id.is_empty() && x.clerk.is_empty() && x.counts.by_level[4] == 1),
            "{stats:?}"
        );
        // The follow-up of the bad counter rating counts in the hall's row too.
        let id = r[0].id.clone();
        ratings::act(
            &s,
            m("staff:officer"),
            &id,
            TaskParty::Department,
            TaskAction::CallBack {
                reached: true,
                note: "已回访".into(),
            },
        )
        .await
        .unwrap();
        let stats = ratings::stats(&s, &month, &month).await.unwrap();
        let row = stats.iter().find(|x| x.hall_id == hall).unwrap();
        assert_eq!(row.counts.called_back, 1);
        let national = ratings::national(&s, yiwang_store::today(), yiwang_store::today())
            .await
            .unwrap();
        assert!(national.iter().any(|n| n["window_id"] == json!(a01)), "{national:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn overdue_call_backs_and_fixes_are_escalated_once() {
    use yiwang_core::ratings::Warning;
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let done = case(&s, &w, true).await;
        let v = ratings::rate(&s, m("account:wang"), &done, &wang(), online(1, &["attitude"]))
            .await
            .unwrap();
        let id = v.value["task_id"].as_str().unwrap().to_string();
        let t = ratings::task(&s, &id).await.unwrap().unwrap();
        let depts = std::slice::from_ref(&w.dept);
        // On its last day the call-back is not late.
        assert!(ratings::escalate(&s, t.call_back_due).await.unwrap().is_empty());
        let late = t.call_back_due + chrono::Days::new(1);
        assert_eq!(
            ratings::escalate(&s, late).await.unwrap(),
            [(id.clone(), Warning::CallBackOverdue)]
        );
        // Once.
        assert!(ratings::escalate(&s, late).await.unwrap().is_empty());
        let t = ratings::task(&s, &id).await.unwrap().unwrap();
        assert_eq!(t.call_back_escalated_on, Some(late.to_string()));
        assert_eq!(t.history.last().unwrap()["action"], "overdue");
        assert_eq!(t.state, TaskState::CallingBack, "escalation is not a step of the task");
        let overdue = ratings::tasks_with_ratings(&s, depts, ratings::TaskFilter::Overdue(late), 50)
            .await
            .unwrap();
        assert_eq!(overdue.len(), 1);
        assert!(
            ratings::tasks_with_ratings(&s, depts, ratings::TaskFilter::Overdue(t.call_back_due), 50)
                .await
                .unwrap()
                .is_empty()
        );
        // Called back late, then a fix with a deadline that passes.
        let fix_by = yiwang_store::today() + chrono::Days::new(3);
        for a in [
            TaskAction::CallBack {
                reached: true,
                note: "已回访".into(),
            },
            TaskAction::Resolve {
                outcome: Outcome::Deadline,
                note: "整改窗口服务流程".into(),
                due_on: Some(fix_by),
            },
        ] {
            ratings::act(&s, m("staff:officer"), &id, TaskParty::Department, a)
                .await
                .unwrap();
        }
        assert!(
            ratings::tasks_with_ratings(&s, depts, ratings::TaskFilter::Overdue(fix_by), 50)
                .await
                .unwrap()
                .is_empty(),
            "no longer overdue once called back, fix not yet late"
        );
        assert!(ratings::escalate(&s, fix_by).await.unwrap().is_empty());
        let after = fix_by + chrono::Days::new(1);
        assert_eq!(
            ratings::escalate(&s, after).await.unwrap(),
            [(id.clone(), Warning::FixOverdue)]
        );
        assert!(ratings::escalate(&s, after).await.unwrap().is_empty());
        let listed = ratings::tasks_with_ratings(&s, depts, ratings::TaskFilter::Overdue(after), 50)
            .await
            .unwrap();
        assert_eq!(listed[0].0.fix_escalated_on, Some(after.to_string()));
        // The fix done: nothing overdue remains; the steps after the escalation still work.
        ratings::act(
            &s,
            m("staff:officer"),
            &id,
            TaskParty::Department,
            TaskAction::Fixed {
                note: "已整改".into()
            },
        )
        .await
        .unwrap();
        assert!(
            ratings::tasks_with_ratings(&s, depts, ratings::TaskFilter::Overdue(after), 50)
                .await
                .unwrap()
                .is_empty()
        );
        let t = ratings::task(&s, &id).await.unwrap().unwrap();
        let actions: Vec<&str> = t.history.iter().filter_map(|h| h["action"].as_str()).collect();
        assert_eq!(actions, ["overdue", "call_back", "resolve", "overdue", "fixed"]);
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}
