//! 12345 store tests, each on SQLite and PostgreSQL: a request received and followed by its
//! number and phone (a retry makes no second ticket; bad input refused field by field); the
//! dispatch catalogue and its grassroots rule; the loop — dispatch, send back, reassign,
//! reply, call-back found unsatisfied, reopen, reply, call-back, closed — with its limits; a
//! consultation answered at once; a request directed elsewhere; confidentiality; duplicates
//! offered and merged (并单), every caller given the one answer; assisting units, extensions
//! and 督办 escalating to the superior; the knowledge base's review, citations and gaps.

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
        terms: vec![],
        at: None,
    }
}

/// Received with the matter's words as the server's segmentation would give them.
async fn receive_words(s: &Store, input: &TicketInput, words: &[&str]) -> String {
    let mut how = agent();
    how.terms = words.iter().map(|w| w.to_string()).collect();
    let w = hotline::receive(s, m("staff:agent"), input, how).await.unwrap();
    w.value["id"].as_str().unwrap().to_string()
}

fn dispatch(d: &str, assisting: &[&str]) -> Action {
    Action::Dispatch {
        department_id: d.into(),
        assisting: assisting.iter().map(|x| x.to_string()).collect(),
        note: None,
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
        assert!(!name.contains("张先生") && !phone.contains("13800138000"));
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
                    answer: "携带身份证和房产证明到营业厅办理".into(),
                    article_id: None,
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
        let e = step(
            &s,
            &sid,
            Party::Centre,
            Action::Answer {
                answer: "x".into(),
                article_id: None,
            },
        )
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

#[tokio::test]
async fn repeats_are_offered_and_merged_tickets_get_the_one_answer() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let a = receive_words(
            &s,
            &request("complaint", "小区连续三天停水", "d-1"),
            &["小区", "连续", "三天", "停水"],
        )
        .await;
        let mut other = request("complaint", "停水了，小区没水", "d-2");
        other.caller_phone = "13900139000".into();
        let b = receive_words(&s, &other, &["停水", "小区", "没水"]).await;
        let mut far = request("complaint", "工地夜间施工噪音", "d-3");
        far.address = Some("秀英区另一条街".into());
        let c = receive_words(&s, &far, &["工地", "夜间", "施工", "噪音"]).await;
        let tb = hotline::ticket(&s, &b).await.unwrap().unwrap();
        let d = hotline::duplicates(&s, &tb).await.unwrap();
        let ids: Vec<&str> = d.iter().map(|x| x.ticket.id.as_str()).collect();
        assert_eq!(ids, [a.as_str()], "the other complaint is not offered");
        assert!(d[0].likeness >= 45);
        assert_eq!(
            step(&s, &b, Party::Centre, Action::Merge { into: a.clone() })
                .await
                .unwrap(),
            State::Merged
        );
        // Nothing is merged into a merged ticket, nor into itself.
        let e = step(&s, &c, Party::Centre, Action::Merge { into: b.clone() })
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.merge_target");
        let e = step(&s, &c, Party::Centre, Action::Merge { into: c.clone() })
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.merge_target");
        assert_eq!(hotline::merged_from(&s, &a).await.unwrap().len(), 1);
        // Handled once: the merged caller follows the main ticket's progress and answer.
        step(&s, &a, Party::Centre, dispatch(&w.water, &[])).await.unwrap();
        let p = hotline::follow(&s, &b, "13900139000").await.unwrap().unwrap();
        assert_eq!(
            (p.state, p.merged_into.as_deref()),
            (State::Dispatched, Some(a.as_str()))
        );
        step(
            &s,
            &a,
            Party::Unit,
            Action::Reply {
                reply: "已抢修管道，今日恢复供水".into(),
            },
        )
        .await
        .unwrap();
        let p = hotline::follow(&s, &b, "13900139000").await.unwrap().unwrap();
        assert_eq!(p.reply.as_deref(), Some("已抢修管道，今日恢复供水"));
        assert_eq!(p.state, State::Replied);
        // The merged ticket is not in anyone's inbox; the main one is in its unit's.
        let inbox: Vec<String> = hotline::unit_tickets(&s, &w.water, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(inbox, [a.as_str()]);
    }
}

#[tokio::test]
async fn assisting_units_extensions_and_supervision_escalating_to_the_superior() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        // A unit with a superior (the city government's office above the water bureau).
        let mut ids: Vec<String> = vec![];
        for (i, parent) in [(7, None), (8, Some(0usize))] {
            let body = format!("1146010000000000{i}");
            let r = s
                .write(
                    m("admin"),
                    Command::Orgs(orgs::Cmd::CreateDepartment(DepartmentInput {
                        name: if parent.is_none() {
                            "海口市人民政府办公室".into()
                        } else {
                            "海口市供排水管理中心".into()
                        },
                        uscc: format!("{body}{}", yiwang_core::ids::uscc_check_char(&body).unwrap()),
                        region_code: "460100".into(),
                        nature: DepartmentNature::StatutoryAuthority,
                        parent_id: parent.map(|p: usize| ids[p].clone()),
                        phone: None,
                        address: None,
                    })),
                )
                .await
                .unwrap();
            ids.push(r.value["id"].as_str().unwrap().to_string());
        }
        let (superior, unit): (String, String) = (ids[0].clone(), ids[1].clone());
        let id = receive(&s, &request("help", "水压太低，高层住户用不上水", "x-1")).await;
        let e = step(&s, &id, Party::Centre, dispatch(&unit, &[&unit]))
            .await
            .unwrap_err();
        assert_eq!(
            rules(e)[0],
            ("assisting[0]".to_string(), "hotline.assisting_main".to_string())
        );
        step(&s, &id, Party::Centre, dispatch(&unit, &[&w.water]))
            .await
            .unwrap();
        // The assisting unit sees it and gives its part; only it may.
        let inbox: Vec<String> = hotline::unit_tickets(&s, &w.water, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(inbox, [id.as_str()]);
        let e = step(&s, &id, Party::Unit, Action::Assist { note: "x".into() })
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.party");
        step(
            &s,
            &id,
            Party::Assisting,
            Action::Assist {
                note: "二次供水设备由我局督促物业检修".into(),
            },
        )
        .await
        .unwrap();
        // An extension: asked once, within the most allowed, granted by the centre.
        let due = hotline::ticket(&s, &id).await.unwrap().unwrap().due_at.unwrap();
        let e = step(
            &s,
            &id,
            Party::Unit,
            Action::Extend {
                days: 99,
                reason: "r".into(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(rules(e)[0], ("days".to_string(), "hotline.extension_days".to_string()));
        step(
            &s,
            &id,
            Party::Unit,
            Action::Extend {
                days: 3,
                reason: "需更换加压泵".into(),
            },
        )
        .await
        .unwrap();
        let e = step(
            &s,
            &id,
            Party::Unit,
            Action::Extend {
                days: 2,
                reason: "r".into(),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.extension_pending");
        step(
            &s,
            &id,
            Party::Centre,
            Action::DecideExtension {
                approve: true,
                reason: "同意".into(),
            },
        )
        .await
        .unwrap();
        let t = hotline::ticket(&s, &id).await.unwrap().unwrap();
        assert!(t.extension_days.is_none());
        // Three working days later: at least three calendar days.
        assert!(
            t.due_at.unwrap() >= due + 3 * 86_400_000,
            "{} {}",
            t.due_at.unwrap(),
            due
        );
        // 督办: nothing before the limit; once past it, the unit is told once; later, it goes
        // up to the superior, who then sees it.
        let now = yiwang_store::now_ms();
        assert_eq!(hotline::supervise(&s, now).await.unwrap(), Default::default());
        let late = t.due_at.unwrap() + 1;
        let r = hotline::supervise(&s, late).await.unwrap();
        assert_eq!((r.told, r.escalated), (1, 0));
        assert_eq!(hotline::supervise(&s, late).await.unwrap(), Default::default());
        assert_eq!(hotline::ticket(&s, &id).await.unwrap().unwrap().supervised_level, 1);
        assert!(hotline::unit_tickets(&s, &superior, 50).await.unwrap().is_empty());
        let much_later = t.due_at.unwrap() + 30 * 86_400_000;
        let r = hotline::supervise(&s, much_later).await.unwrap();
        assert_eq!((r.told, r.escalated), (0, 1));
        let up: Vec<String> = hotline::unit_tickets(&s, &superior, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(up, [id.as_str()]);
        assert!(
            hotline::ticket_units(&s, &id)
                .await
                .unwrap()
                .contains(&(superior.clone(), "superior".to_string()))
        );
        // Replied: no longer in the inboxes' open rows once closed.
        step(
            &s,
            &id,
            Party::Unit,
            Action::Reply {
                reply: "已更换加压泵".into(),
            },
        )
        .await
        .unwrap();
        step(
            &s,
            &id,
            Party::Centre,
            Action::CallBack {
                reached: true,
                resolved: true,
                satisfaction: Satisfaction::Satisfied,
                note: None,
            },
        )
        .await
        .unwrap();
        assert!(hotline::unit_tickets(&s, &superior, 50).await.unwrap().is_empty());
        assert!(hotline::unit_tickets(&s, &w.water, 50).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_knowledge_base_is_reviewed_cited_and_filled_where_it_fell_short() {
    use yiwang_core::hotline::{ArticleInput, VersionState};
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        // A consultation the base could not answer goes to its unit: a gap to fill.
        let q = receive(&s, &request("consult", "自来水过户需要什么材料", "k-1")).await;
        step(&s, &q, Party::Centre, dispatch(&w.water, &[])).await.unwrap();
        let gaps = hotline::gaps(&s, Some(&w.water), 50).await.unwrap();
        assert_eq!(
            gaps.iter().map(|g| g.ticket_id.as_str()).collect::<Vec<_>>(),
            [q.as_str()]
        );
        let article = ArticleInput {
            title: "自来水过户需要什么材料？".into(),
            body: "携带新旧户主身份证、房屋产权证明到供水营业厅办理。".into(),
            department_id: w.water.clone(),
            region_code: "460100".into(),
            keywords: vec!["过户".into(), "自来水".into()],
            answers_tickets: vec![q.clone()],
            ..Default::default()
        };
        // Bad input: every field named, nothing stored.
        let mut bad = article.clone();
        bad.title = " ".into();
        bad.region_code = "460000".into();
        bad.answers_tickets = vec!["19990101000001".into()];
        let e = hotline::save_article(&s, m("staff:water"), None, &bad)
            .await
            .unwrap_err();
        let fields: Vec<String> = rules(e).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["title"]);
        bad.title = "x".into();
        let e = hotline::save_article(&s, m("staff:water"), None, &bad)
            .await
            .unwrap_err();
        let fields: Vec<String> = rules(e).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["region_code", "answers_tickets[0]"]);
        let w1 = hotline::save_article(&s, m("staff:water"), None, &article)
            .await
            .unwrap();
        let aid = w1.value["article_id"].as_str().unwrap().to_string();
        assert!(hotline::published_article(&s, &aid).await.unwrap().is_none());
        // Four eyes: not by its author.
        let e = hotline::review_article(&s, m("staff:water"), &aid, 1, true, None)
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.article_four_eyes");
        hotline::review_article(&s, m("staff:centre"), &aid, 1, true, None)
            .await
            .unwrap();
        let v = hotline::published_article(&s, &aid).await.unwrap().unwrap();
        assert_eq!((v.version, v.state), (1, VersionState::Published));
        assert!(
            hotline::gaps(&s, Some(&w.water), 50).await.unwrap().is_empty(),
            "the gap is filled"
        );
        // A change waits for review; the published version stays until then; sent back
        // only with a reason.
        let mut v2 = article.clone();
        v2.body = "网上也可办理：登录供水公司公众号提交新旧户主身份证。".into();
        v2.answers_tickets = vec![];
        hotline::save_article(&s, m("staff:water"), Some(&aid), &v2)
            .await
            .unwrap();
        assert_eq!(hotline::published_article(&s, &aid).await.unwrap().unwrap().version, 1);
        let e = hotline::review_article(&s, m("staff:centre"), &aid, 2, false, None)
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].0, "note");
        hotline::review_article(&s, m("staff:centre"), &aid, 2, false, Some("请写明办理时限".into()))
            .await
            .unwrap();
        let vs = hotline::article_versions(&s, &aid).await.unwrap();
        assert_eq!(
            vs.iter().map(|v| (v.version, v.state)).collect::<Vec<_>>(),
            [(2, VersionState::Rejected), (1, VersionState::Published)]
        );
        let e = hotline::review_article(&s, m("staff:centre"), &aid, 2, true, None)
            .await
            .unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.article_not_submitted");
        // 直接办结 citing the article; an unknown or lapsed article cannot be cited.
        let q2 = receive(&s, &request("consult", "自来水过户怎么办", "k-2")).await;
        let cite = |a: &str| Action::Answer {
            answer: "携带新旧户主身份证办理".into(),
            article_id: Some(a.into()),
        };
        let e = step(&s, &q2, Party::Centre, cite("kb-none")).await.unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.article_not_in_force");
        let mut old = article.clone();
        old.answers_tickets = vec![];
        old.valid_until = chrono::NaiveDate::from_ymd_opt(2020, 1, 1);
        let lapsed = hotline::save_article(&s, m("staff:water"), None, &old).await.unwrap();
        let lapsed = lapsed.value["article_id"].as_str().unwrap().to_string();
        hotline::review_article(&s, m("staff:centre"), &lapsed, 1, true, None)
            .await
            .unwrap();
        let e = step(&s, &q2, Party::Centre, cite(&lapsed)).await.unwrap_err();
        assert_eq!(rules(e)[0].1, "hotline.article_not_in_force");
        assert_eq!(step(&s, &q2, Party::Centre, cite(&aid)).await.unwrap(), State::Closed);
        let t = hotline::ticket(&s, &q2).await.unwrap().unwrap();
        assert_eq!(t.article_id.as_deref(), Some(aid.as_str()));
        assert_eq!(t.history.last().unwrap()["article_version"], 1);
        assert_eq!(hotline::published_articles(&s).await.unwrap().len(), 2);
        assert_eq!(hotline::review_queue(&s, 10).await.unwrap().len(), 0);
    }
}

#[tokio::test]
async fn calls_and_tickets_feed_service_levels_hotspots_and_the_weekly_report() {
    use yiwang_core::hotline::CallEventInput;
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        let now = yiwang_store::now_ms();
        let ev = |id: &str, event: &str, at: i64| CallEventInput {
            call_id: id.into(),
            event: event.into(),
            at: Some(at),
            ..Default::default()
        };
        // Three calls: answered in 5 s, answered in 40 s (late), abandoned; events out of order
        // and repeated; a bad one refused by its fields.
        let t0 = now - 600_000;
        for e in [
            ev("c1", "answered", t0 + 5_000),
            ev("c1", "ringing", t0),
            ev("c1", "ringing", t0 + 1),
            ev("c1", "ended", t0 + 90_000),
            ev("c2", "ringing", t0),
            ev("c2", "answered", t0 + 40_000),
            ev("c3", "ringing", t0),
            ev("c3", "ended", t0 + 20_000),
        ] {
            hotline::call_event(&s, m("system:cti"), &e, now).await.unwrap();
        }
        let e = hotline::call_event(&s, m("system:cti"), &ev("c 4", "hold", now - 2 * 86_400_000), now)
            .await
            .unwrap_err();
        assert_eq!(
            rules(e).into_iter().map(|(f, _)| f).collect::<Vec<_>>(),
            ["call_id", "event", "at"]
        );
        // A web request handled at once; tickets with their words.
        let mut web = request("complaint", "小区停水", "f-1");
        web.channel = Some("web".into());
        let mut how = agent();
        how.channel = yiwang_core::hotline::Channel::Web;
        how.channel_from_input = false;
        how.terms = vec!["小区".into(), "停水".into()];
        let wid = hotline::receive(&s, m("staff:agent"), &web, how).await.unwrap().value["id"]
            .as_str()
            .unwrap()
            .to_string();
        step(&s, &wid, Party::Centre, dispatch(&w.water, &[])).await.unwrap();
        for i in 0..3 {
            receive_words(&s, &request("help", "停水", &format!("f-{}", i + 2)), &["停水"]).await;
        }
        let today = yiwang_store::date_of(now);
        let f = hotline::figures(&s, "460000", 7, today).await.unwrap();
        let c = f.service;
        assert_eq!(
            (
                c.calls,
                c.answered,
                c.answered_in_time,
                c.abandoned,
                c.media,
                c.media_in_time
            ),
            (3, 2, 1, 1, 1, 1)
        );
        assert_eq!(f.levels[0].percent, Some(50.0));
        assert_eq!(f.by_region, [("460105".to_string(), 4)]);
        let rising: Vec<&str> = f.rising.iter().map(|r| r.term.as_str()).collect();
        assert_eq!(rising, ["停水"], "four tickets this week, none before");
        // Another region is not the centre's; the weekly report counts last week's tickets.
        assert!(
            hotline::figures(&s, "450000", 7, today)
                .await
                .unwrap()
                .by_region
                .is_empty()
        );
        let next_week = today + chrono::Days::new(7);
        let later = hotline::figures(&s, "460000", 7, next_week).await.unwrap();
        assert_eq!(later.units.len(), 1);
        assert_eq!(
            (later.units[0].department_id.as_str(), later.units[0].tickets),
            (w.water.as_str(), 1)
        );
        assert!(later.units[0].top_terms.iter().any(|(t, n)| t == "小区" && *n == 1));
    }
}

#[tokio::test]
async fn past_tickets_suggest_units_lights_turn_and_caller_views_are_logged() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let w = setup(&s).await;
        // A closed ticket on a matter the catalogue does not name: its unit is suggested for
        // the next one like it.
        let a = receive_words(
            &s,
            &request("complaint", "楼下烧烤摊油烟", "p-1"),
            &["楼下", "烧烤摊", "油烟"],
        )
        .await;
        step(&s, &a, Party::Centre, dispatch(&w.eco, &[])).await.unwrap();
        step(
            &s,
            &a,
            Party::Unit,
            Action::Reply {
                reply: "已责令整改".into(),
            },
        )
        .await
        .unwrap();
        let cb = Action::CallBack {
            reached: true,
            resolved: true,
            satisfaction: Satisfaction::Satisfied,
            note: None,
        };
        step(&s, &a, Party::Centre, cb).await.unwrap();
        let b = receive_words(
            &s,
            &request("complaint", "烧烤摊油烟太大", "p-2"),
            &["烧烤摊", "油烟", "太大"],
        )
        .await;
        let tb = hotline::ticket(&s, &b).await.unwrap().unwrap();
        assert_eq!(hotline::past_units(&s, &tb).await.unwrap(), [(w.eco.clone(), 1)]);
        // The traffic light of the limit: green after dispatch, yellow near it, red past it.
        step(&s, &b, Party::Centre, dispatch(&w.eco, &[])).await.unwrap();
        let t = hotline::ticket(&s, &b).await.unwrap().unwrap();
        let (start, due) = (t.history.last().unwrap()["at"].as_i64().unwrap(), t.due_at.unwrap());
        use yiwang_core::cases::Light;
        assert_eq!(t.light(start + 1), Some(Light::Green));
        assert_eq!(t.light(start + (due - start) * 9 / 10), Some(Light::Yellow));
        assert_eq!(t.light(due + 1), Some(Light::Red));
        // The caller is a registered person: staff opening the caller's details is in their
        // data-use log; a confidential ticket's unit sees nothing and nothing is logged.
        let body = "46010019900101002";
        let person = yiwang_core::accounts::PersonInput {
            name: "张先生".into(),
            id_number: format!("{body}{}", yiwang_core::ids::resident_id_check_char(body).unwrap()),
            phone: "13800138000".into(),
            address: None,
            password: "Demo#2026yw-zhang".into(),
            sms_code: None,
        };
        let p = yiwang_store::accounts::register_person(&s, m("system:test"), &person, None)
            .await
            .unwrap();
        let reader = yiwang_store::datause::Reader {
            kind: "staff".into(),
            id: "agent".into(),
            name: "座席员".into(),
            department: Some("12345 中心".into()),
        };
        let seen = hotline::caller_seen(&s, m("staff:agent"), &reader, &b, Party::Centre)
            .await
            .unwrap();
        assert_eq!(seen.unwrap().1, "13800138000");
        let log = yiwang_store::datause::of_person(&s, &p.person_id, 10).await.unwrap();
        assert!(log.iter().any(|u| u.purpose.contains(&b) && u.unmasked), "{log:?}");
        let mut secret = request("report", "某餐馆使用过期食材", "p-3");
        secret.confidential = true;
        let c = receive(&s, &secret).await;
        assert!(
            hotline::caller_seen(&s, m("staff:unit"), &reader, &c, Party::Unit)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            yiwang_store::datause::of_person(&s, &p.person_id, 10)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
