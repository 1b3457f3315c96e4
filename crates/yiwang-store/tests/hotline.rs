//! 12345 store tests, each on SQLite and PostgreSQL: a request received and followed by its
//! number and phone (a retry makes no second ticket; bad input refused field by field); the
//! dispatch catalogue and its grassroots rule; the loop — dispatch, send back, reassign,
//! reply, call-back found unsatisfied, reopen, reply, call-back, closed — with its limits; a
//! consultation answered at once; a request directed elsewhere; confidentiality.

use std::sync::Arc;
use yiwang_core::hotline::{Action, DispatchEntry, Party, Satisfaction, State, TicketInput};
use yiwang_core::orgs::{DepartmentInput, DepartmentNature};
use yiwang_core::regions::NewRegion;
use yiwang_store::hotline::{self, Received};
use yiwang_store::testing::TestDb;
use yiwang_store::{Command, Meta, Store, StoreError, orgs, regions};

fn m(a: &str) -> Meta {
    Meta::actor(a)
}

fn rules(e: StoreError) -> Vec<(String, String)> {
    match e {
        StoreError::Domain(d) => d.errors.into_iter().map(|f| (f.field, f.rule)).collect(),
        other => panic!("not a domain error: {other}"),
    }
}

struct World {
    water: String,
    eco: String,
    town: String,
}

async fn setup(s: &Arc<Store>) -> World {
    for (code, name, parent) in [
        ("460000", "海南省", None),
        ("460100", "海口市", Some("460000")),
        ("460105", "秀英区", Some("460100")),
        ("460105101", "长流镇", Some("460105")),
    ] {
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
    let mut ids = vec![];
    for (i, (name, region)) in [
        ("海口市水务局", "460100"),
        ("海口市生态环境局", "460100"),
        ("长流镇人民政府", "460105101"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = format!("1146010000000000{i}");
        let w = s
            .write(
                m("admin"),
                Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                    name: name.into(),
                    uscc: format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap()),
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
    let w = World {
        water: ids[0].clone(),
        eco: ids[1].clone(),
        town: ids[2].clone(),
    };
    let line = |matter: &str, region: &str, dept: &str, words: &[&str]| DispatchEntry {
        matter: matter.into(),
        name: matter.into(),
        region_code: region.into(),
        department_id: dept.into(),
        keywords: words.iter().map(|x| x.to_string()).collect(),
    };
    hotline::set_catalog(
        s,
        m("staff:centre"),
        vec![
            line("water_supply", "460100", &w.water, &["停水", "自来水", "水压"]),
            line("noise", "460100", &w.eco, &["噪音", "施工"]),
            line("village_road", "460105101", &w.town, &["村道"]),
        ],
    )
    .await
    .unwrap();
    w
}

fn request(category: &str, content: &str, request_id: &str) -> TicketInput {
    TicketInput {
        category: category.into(),
        priority: None,
        region_code: "460105".into(),
        address: Some("秀英区某小区".into()),
        content: content.into(),
        caller_name: "张先生".into(),
        caller_phone: "13800138000".into(),
        confidential: false,
        redirect: None,
        request_id: Some(request_id.into()),
        channel: None,
    }
}

fn agent() -> Received {
    Received {
        channel: yiwang_core::hotline::Channel::Phone,
        channel_from_input: true,
        by: "staff:agent".into(),
        centre_region: "460000".into(),
    }
}

async fn receive(s: &Store, input: &TicketInput) -> String {
    let w = hotline::receive(s, m("staff:agent"), input, agent()).await.unwrap();
    w.value["id"].as_str().unwrap().to_string()
}

async fn step(s: &Store, id: &str, party: Party, a: Action) -> Result<State, StoreError> {
    hotline::act(s, m("staff:x"), id, party, a).await?;
    Ok(hotline::ticket(s, id).await.unwrap().unwrap().state)
}

#[tokio::test]
async fn a_request_is_numbered_once_followed_by_phone_and_checked() {
    for db in TestDb::both().await {
        let s = db.open().await;
        setup(&s).await;
        let input = request("complaint", "小区连续三天停水，自来水公司没有通知", "call-1");
        let id = receive(&s, &input).await;
        // A retry with the same request id: the same ticket, nothing twice.
        let again = hotline::receive(&s, m("staff:agent"), &input, agent()).await.unwrap();
        assert_eq!(again.value["id"].as_str(), Some(id.as_str()));
        assert!(again.replayed);
        let t = hotline::ticket(&s, &id).await.unwrap().unwrap();
        assert_eq!((t.state, t.history.len()), (State::Received, 1));
        // Followed by number and phone (any spelling of it), and by nothing else.
        let p = hotline::follow(&s, &id, "+86 138-0013-8000").await.unwrap().unwrap();
        assert_eq!(p.state, State::Received);
        assert!(hotline::follow(&s, &id, "13900139000").await.unwrap().is_none());
        assert!(
            hotline::follow(&s, "19990101000001", "13800138000")
                .await
                .unwrap()
                .is_none()
        );
        // The caller is sealed at rest.
        let (name, phone): (String, String) =
            sqlx::query_as("SELECT caller_name, caller_phone FROM tickets WHERE id = $1")
                .bind(&id)
                .fetch_one(&s.read)
                .await
                .unwrap();
        assert!(!name.contains("张") && !phone.contains("138"));
        assert_eq!(
            hotline::caller(&s, &id, Party::Unit).await.unwrap(),
            Some(("张先生".to_string(), "13800138000".to_string()))
        );
        // Bad input: every field named; nothing stored.
        let mut bad = request("gossip", " ", "call-2");
        bad.caller_phone = "1".into();
        bad.region_code = "450100".into();
        let e = hotline::receive(&s, m("staff:agent"), &bad, agent()).await.unwrap_err();
        let fields: Vec<String> = rules(e).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["category", "region_code", "content", "caller_phone"]);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
            .fetch_one(&s.read)
            .await
            .unwrap();
        assert_eq!(n, 1);
        // Not for 12345: directed to 110, recorded and closed.
        let mut police = request("help", "有人在打架", "call-3");
        police.redirect = Some("police".into());
        let pid = receive(&s, &police).await;
        let t = hotline::ticket(&s, &pid).await.unwrap().unwrap();
        assert_eq!((t.state, t.redirect.as_deref()), (State::Redirected, Some("police")));
        let e = step(
            &s,
            &pid,
            Party::Centre,
            Action::Dispatch {
                department_id: setup_dept(&s).await,
                assisting: vec![],
                note: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.not_dispatchable");
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

async fn setup_dept(s: &Store) -> String {
    orgs::departments(&s.read, None).await.unwrap()[0].id.clone()
}

#[tokio::test]
async fn dispatch_send_back_reassign_reply_call_back_reopen_and_close() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let id = receive(&s, &request("complaint", "工地夜间施工噪音扰民，还导致停水", "c-1")).await;
        let t = hotline::ticket(&s, &id).await.unwrap().unwrap();
        // The catalogue suggests both units, the one with more of its words first.
        let sug: Vec<String> = hotline::suggestions(&s, &t)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.department_id)
            .collect();
        assert_eq!(sug.len(), 2);
        // Not to a township without the duty (the grassroots rule); a unit that exists.
        let e = step(
            &s,
            &id,
            Party::Centre,
            Action::Dispatch {
                department_id: w.town.clone(),
                assisting: vec![],
                note: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(
            rules(e),
            [("department_id".to_string(), "hotline.grassroots".to_string())]
        );
        let e = step(
            &s,
            &id,
            Party::Centre,
            Action::Dispatch {
                department_id: w.water.clone(),
                assisting: vec!["no-such-unit".into()],
                note: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(
            rules(e),
            [("assisting[0]".to_string(), "department.unknown".to_string())]
        );
        // Only the centre dispatches.
        let e = step(
            &s,
            &id,
            Party::Unit,
            Action::Dispatch {
                department_id: w.water.clone(),
                assisting: vec![],
                note: None,
            },
        )
        .await
        .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.party");
        let to = |d: &str| Action::Dispatch {
            department_id: d.into(),
            assisting: vec![],
            note: None,
        };
        assert_eq!(
            step(&s, &id, Party::Centre, to(&w.water)).await.unwrap(),
            State::Dispatched
        );
        let t = hotline::ticket(&s, &id).await.unwrap().unwrap();
        // 投诉: ten working days; the dispute window is one working day and never later.
        let due = t.due_at.unwrap();
        let dispute = t.dispute_until.unwrap();
        assert!(due > yiwang_store::now_ms() + 9 * 86_400_000 && dispute < due, "{t:?}");
        assert_eq!(hotline::unit_tickets(&s, &w.water, 10).await.unwrap().len(), 1);
        // The water bureau: noise is not its duty; the centre reassigns to ecology.
        assert_eq!(
            step(
                &s,
                &id,
                Party::Unit,
                Action::Dispute {
                    reason: "噪音不属本单位职责".into()
                }
            )
            .await
            .unwrap(),
            State::Disputed
        );
        assert_eq!(
            step(&s, &id, Party::Centre, to(&w.eco)).await.unwrap(),
            State::Dispatched
        );
        assert!(hotline::unit_tickets(&s, &w.water, 10).await.unwrap().is_empty());
        // Past its window a unit can no longer send it back.
        sqlx::query("UPDATE tickets SET dispute_until = 0 WHERE id = $1")
            .bind(&id)
            .execute(&s.read)
            .await
            .unwrap();
        let e = step(
            &s,
            &id,
            Party::Unit,
            Action::Dispute {
                reason: "再次退单".into(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.dispute_late");
        let reply = |r: &str| Action::Reply { reply: r.into() };
        assert_eq!(
            step(&s, &id, Party::Unit, reply("已责令工地夜间停工")).await.unwrap(),
            State::Replied
        );
        // Called back: not resolved, unsatisfied → closed, then reopened with a new limit.
        let call = |resolved: bool, sat: Satisfaction| Action::CallBack {
            reached: true,
            resolved,
            satisfaction: sat,
            note: None,
        };
        assert_eq!(
            step(&s, &id, Party::Centre, call(false, Satisfaction::Unsatisfied))
                .await
                .unwrap(),
            State::Closed
        );
        assert!(hotline::ticket(&s, &id).await.unwrap().unwrap().unresolved);
        assert_eq!(
            step(
                &s,
                &id,
                Party::Centre,
                Action::Reopen {
                    reason: "群众反映仍在夜间施工".into()
                }
            )
            .await
            .unwrap(),
            State::Dispatched
        );
        assert_eq!(
            step(&s, &id, Party::Unit, reply("已立案处罚，工地停止夜间施工"))
                .await
                .unwrap(),
            State::Replied
        );
        assert_eq!(
            step(&s, &id, Party::Centre, call(true, Satisfaction::Satisfied))
                .await
                .unwrap(),
            State::Closed
        );
        let t = hotline::ticket(&s, &id).await.unwrap().unwrap();
        assert!(!t.unresolved);
        let e = step(&s, &id, Party::Centre, Action::Reopen { reason: "x".into() })
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.not_reopenable");
        let actions: Vec<&str> = t.history.iter().filter_map(|h| h["action"].as_str()).collect();
        assert_eq!(
            actions,
            [
                "receive",
                "dispatch",
                "dispute",
                "dispatch",
                "reply",
                "call_back",
                "reopen",
                "reply",
                "call_back"
            ]
        );
        // The person sees the last answer.
        let p = hotline::follow(&s, &id, "13800138000").await.unwrap().unwrap();
        assert_eq!(
            (p.state, p.reply.as_deref()),
            (State::Closed, Some("已立案处罚，工地停止夜间施工"))
        );
        // A township unit named by the catalogue for its own matter may be sent one.
        let mut road = request("help", "村道塌陷", "c-2");
        road.region_code = "460105101".into();
        let rid = receive(&s, &road).await;
        assert_eq!(
            step(&s, &rid, Party::Centre, to(&w.town)).await.unwrap(),
            State::Dispatched
        );
        let report = yiwang_store::ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_enquiry_is_answered_at_once_and_a_confidential_caller_is_hidden_from_the_unit() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let id = receive(&s, &request("consult", "自来水开户需要什么材料", "q-1")).await;
        assert_eq!(
            step(
                &s,
                &id,
                Party::Centre,
                Action::Answer {
                    answer: "携带身份证和房产证明到营业厅办理".into()
                }
            )
            .await
            .unwrap(),
            State::Closed
        );
        let p = hotline::follow(&s, &id, "13800138000").await.unwrap().unwrap();
        assert!(p.reply.unwrap().contains("身份证"));
        let mut secret = request("report", "某餐馆使用过期食材", "q-2");
        secret.confidential = true;
        let sid = receive(&s, &secret).await;
        let e = step(&s, &sid, Party::Centre, Action::Answer { answer: "x".into() })
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.not_answerable");
        step(
            &s,
            &sid,
            Party::Centre,
            Action::Dispatch {
                department_id: w.eco.clone(),
                assisting: vec![],
                note: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(hotline::caller(&s, &sid, Party::Unit).await.unwrap(), None);
        assert!(hotline::caller(&s, &sid, Party::Centre).await.unwrap().is_some());
        // The catalogue's own checks.
        let e = hotline::set_catalog(
            &s,
            m("staff:centre"),
            vec![DispatchEntry {
                matter: "x".into(),
                name: "x".into(),
                region_code: "460100".into(),
                department_id: "nobody".into(),
                keywords: vec![],
            }],
        )
        .await
        .unwrap_err();
        assert_eq!(
            rules(e),
            [("entries[0].department_id".to_string(), "department.unknown".to_string())]
        );
        assert_eq!(hotline::catalog(&s).await.unwrap().0, 1);
        db.cleanup().await;
    }
}
