use super::*;

fn input() -> TicketInput {
    TicketInput {
        category: "complaint".into(),
        priority: None,
        region_code: "460105".into(),
        address: Some("海口市秀英区长流镇".into()),
        content: "小区连续三天停水，没有任何通知".into(),
        caller_name: "张先生".into(),
        caller_phone: "13800138000".into(),
        confidential: false,
        redirect: None,
        request_id: Some("call-1".into()),
        channel: None,
    }
}

fn fields(e: DomainError) -> Vec<(String, String)> {
    e.errors.into_iter().map(|f| (f.field, f.rule)).collect()
}

#[test]
fn a_request_is_checked_field_by_field() {
    let c = check_input(&input(), true, true).unwrap();
    assert_eq!(
        (c.category, c.priority, c.redirect),
        (Category::Complaint, Priority::Normal, None)
    );
    let mut bad = input();
    bad.category = "gossip".into();
    bad.content = " ".into();
    bad.caller_phone = "12".into();
    bad.priority = Some("now".into());
    bad.redirect = Some("moon".into());
    bad.request_id = Some("a b".into());
    let f = fields(check_input(&bad, true, true).unwrap_err());
    let names: Vec<&str> = f.iter().map(|(x, _)| x.as_str()).collect();
    assert_eq!(
        names,
        [
            "category",
            "priority",
            "redirect",
            "content",
            "caller_phone",
            "request_id"
        ]
    );
    let mut long = input();
    long.content = "水".repeat(CONTENT_MAX + 1);
    assert_eq!(fields(check_input(&long, true, true).unwrap_err())[0].0, "content");
    assert_eq!(
        fields(check_input(&input(), false, true).unwrap_err()),
        [("region_code".to_string(), "hotline.region_outside".to_string())]
    );
    assert_eq!(
        fields(check_input(&input(), false, false).unwrap_err())[0].1,
        "region.unknown"
    );
    let mut landline = input();
    landline.caller_phone = "0898-66668888".into();
    landline.redirect = Some("police".into());
    assert_eq!(
        check_input(&landline, true, true).unwrap().redirect,
        Some(Redirect::Police)
    );
    assert_eq!(phone_key("+86 138-0013-8000"), "13800138000");
    assert_eq!(phone_key("0898-66668888"), "089866668888");
}

fn facts(state: State) -> Facts {
    Facts {
        state,
        category: Category::Consult,
        unresolved: true,
        may_dispute: true,
        extension_pending: false,
    }
}

fn actions() -> Vec<Action> {
    vec![
        Action::Dispatch {
            department_id: "d".into(),
            assisting: vec![],
            note: None,
        },
        Action::Answer {
            answer: "a".into(),
            article_id: None,
        },
        Action::Dispute { reason: "r".into() },
        Action::RejectDispute { reason: "r".into() },
        Action::Reply { reply: "r".into() },
        Action::CallBack {
            reached: true,
            resolved: false,
            satisfaction: Satisfaction::Unsatisfied,
            note: None,
        },
        Action::Reopen { reason: "r".into() },
        Action::Merge { into: "t".into() },
        Action::Extend {
            days: 3,
            reason: "r".into(),
        },
        Action::DecideExtension {
            approve: true,
            reason: "r".into(),
        },
        Action::Assist { note: "n".into() },
        Action::Supervise { note: "n".into() },
    ]
}

#[test]
fn every_state_party_and_action_has_one_answer() {
    use State as S;
    let allowed: &[(S, Party, &str, S)] = &[
        (S::Received, Party::Centre, "dispatch", S::Dispatched),
        (S::Disputed, Party::Centre, "dispatch", S::Dispatched),
        (S::Received, Party::Centre, "answer", S::Closed),
        (S::Dispatched, Party::Unit, "dispute", S::Disputed),
        (S::Disputed, Party::Centre, "reject_dispute", S::Dispatched),
        (S::Dispatched, Party::Unit, "reply", S::Replied),
        (S::Replied, Party::Centre, "call_back", S::Closed),
        (S::Closed, Party::Centre, "reopen", S::Dispatched),
        (S::Received, Party::Centre, "merge", S::Merged),
        (S::Dispatched, Party::Unit, "extend", S::Dispatched),
        (S::Dispatched, Party::Assisting, "assist", S::Dispatched),
        (S::Dispatched, Party::Centre, "supervise", S::Dispatched),
        (S::Disputed, Party::Centre, "supervise", S::Disputed),
    ];
    let states = [
        S::Received,
        S::Dispatched,
        S::Disputed,
        S::Replied,
        S::Closed,
        S::Redirected,
        S::Merged,
    ];
    for s in states {
        for party in [Party::Centre, Party::Unit, Party::Assisting] {
            for a in actions() {
                let want = allowed
                    .iter()
                    .find(|(x, p, n, _)| *x == s && *p == party && *n == a.name())
                    .map(|(.., to)| *to);
                let got = decide(facts(s), party, &a).ok();
                assert_eq!(got, want, "{s:?} {party:?} {}", a.name());
            }
        }
    }
}

#[test]
fn the_limits_of_the_loop_hold() {
    let mut f = facts(State::Received);
    f.category = Category::Complaint;
    assert_eq!(
        fields(
            decide(
                f,
                Party::Centre,
                &Action::Answer {
                    answer: "x".into(),
                    article_id: None
                }
            )
            .unwrap_err()
        )[0]
        .1,
        "hotline.not_answerable"
    );
    let mut f = facts(State::Dispatched);
    f.may_dispute = false;
    assert_eq!(
        fields(
            decide(
                f,
                Party::Unit,
                &Action::Dispute {
                    reason: "不属本单位职责".into()
                }
            )
            .unwrap_err()
        )[0]
        .1,
        "hotline.dispute_late"
    );
    let mut f = facts(State::Closed);
    f.unresolved = false;
    assert_eq!(
        fields(decide(f, Party::Centre, &Action::Reopen { reason: "x".into() }).unwrap_err())[0].1,
        "hotline.not_reopenable"
    );
    assert_eq!(
        fields(
            decide(
                facts(State::Dispatched),
                Party::Unit,
                &Action::Reply { reply: " ".into() }
            )
            .unwrap_err()
        )[0]
        .0,
        "reply"
    );
    assert!(unresolved(true, Satisfaction::Unsatisfied));
    assert!(unresolved(false, Satisfaction::Satisfied));
    assert!(!unresolved(true, Satisfaction::Basic));
}

fn line(matter: &str, region: &str, dept: &str, words: &[&str]) -> DispatchEntry {
    DispatchEntry {
        matter: matter.into(),
        name: matter.into(),
        region_code: region.into(),
        department_id: dept.into(),
        keywords: words.iter().map(|w| w.to_string()).collect(),
    }
}

#[test]
fn the_catalogue_suggests_and_keeps_matters_from_the_grassroots() {
    let cat = vec![
        line("water_supply", "460100", "water", &["停水", "自来水", "水压"]),
        line("water_supply", "460105", "xiuying-water", &["停水"]),
        line("noise", "460100", "eco", &["噪音", "施工"]),
        line("village_road", "460105101", "changliu-town", &["村道"]),
    ];
    let s = suggest(&cat, "460105", "小区停水，自来水水压低");
    assert_eq!(s[0].0.department_id, "water", "more words first");
    assert_eq!(s[1].0.department_id, "xiuying-water");
    assert!(
        suggest(&cat, "460200", "停水").is_empty(),
        "another city's lines do not apply"
    );
    assert!(may_dispatch_to(false, "water", "460105", &cat).is_ok());
    assert!(may_dispatch_to(true, "changliu-town", "460105101", &cat).is_ok());
    assert_eq!(
        fields(may_dispatch_to(true, "other-town", "460105101", &cat).unwrap_err())[0].1,
        "hotline.grassroots"
    );
    assert!(check_catalog(&cat).is_ok());
    let mut bad = cat.clone();
    bad[0].matter = "Water Supply".into();
    bad[1].keywords = vec![" ".into()];
    let f = fields(check_catalog(&bad).unwrap_err());
    assert_eq!(f[0].0, "entries[0].matter");
    assert_eq!(f[1].0, "entries[1].keywords");
}

#[test]
fn the_settings_are_checked() {
    assert!(HotlinePolicy::default().validate().is_ok());
    let p = HotlinePolicy {
        urgent_hours: 0,
        ..Default::default()
    };
    assert_eq!(fields(p.validate().unwrap_err())[0].0, "hotline.urgent_hours");
    assert_eq!(HotlinePolicy::default().days(Category::Complaint), 10);
}

#[test]
fn an_extension_is_asked_once_and_decided_by_the_centre() {
    let mut f = facts(State::Dispatched);
    let ask = Action::Extend {
        days: 5,
        reason: "需协调供水公司检修".into(),
    };
    let decide_it = Action::DecideExtension {
        approve: true,
        reason: "同意".into(),
    };
    assert_eq!(
        fields(decide(f, Party::Centre, &decide_it).unwrap_err())[0].1,
        "hotline.no_extension"
    );
    f.extension_pending = true;
    assert_eq!(
        fields(decide(f, Party::Unit, &ask).unwrap_err())[0].1,
        "hotline.extension_pending"
    );
    assert_eq!(decide(f, Party::Centre, &decide_it).unwrap(), State::Dispatched);
    f.extension_pending = false;
    let zero = Action::Extend {
        days: 0,
        reason: "r".into(),
    };
    assert_eq!(fields(decide(f, Party::Unit, &zero).unwrap_err())[0].0, "days");
}

#[test]
fn likeness_counts_shared_words_and_the_address() {
    let w = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let a = w(&["小区", "停水", "三天", "通知"]);
    let b = w(&["停水", "小区", "自来水"]);
    // two of the smaller set's three words
    assert_eq!(likeness(&a, &b, false), 66);
    assert_eq!(likeness(&a, &b, true), 96);
    assert_eq!(likeness(&a, &w(&["噪音", "施工"]), false), 0);
    assert_eq!(likeness(&a, &[], true), 30);
    assert_eq!(
        matter_terms(w(&["我们", "小区", "停", "2024", "停水", "小区"])),
        w(&["小区", "停水"])
    );
    assert_eq!(
        matter_terms(w(&["停水", "一整", "整天", "一整天"])),
        w(&["停水", "一整天"])
    );
}
