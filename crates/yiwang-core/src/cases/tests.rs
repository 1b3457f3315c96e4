use super::*;
use crate::calendar::official_calendar;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn sample(action: &str) -> Action {
    match action {
        "submit" => Action::Submit,
        "correct" => Action::Correct,
        "accept" => Action::Accept,
        "refuse" => Action::Refuse {
            reason: "不属于本机关职权".into(),
            basis: "行政许可法第三十二条".into(),
        },
        "request_correction" => Action::RequestCorrection {
            items: vec![CorrectionItem {
                target: "licence".into(),
                problem: "复印件不清晰".into(),
            }],
        },
        "deem_accept" => Action::DeemAccept,
        "claim" => Action::Claim,
        "assign" => Action::Assign {
            to: "acc-colleague".into(),
        },
        "complete" => Action::Complete {
            opinion: "同意".into()
        },
        "return" => Action::Return {
            to_step: 0,
            opinion: "请重新审查".into(),
        },
        "start_special" => Action::StartSpecial {
            kind: SpecialKind::SiteSurvey,
            reason: "需现场勘查".into(),
        },
        "end_special" => Action::EndSpecial {
            result: "勘查合格".into(),
        },
        "supplement" => Action::Supplement {
            keys: vec!["m1".into()],
        },
        "decide" => Action::Decide {
            approve: true,
            reason: String::new(),
        },
        "deliver" => Action::Deliver {
            method: DeliveryMethod::Electronic,
            post: None,
        },
        "withdraw" => Action::Withdraw { reason: String::new() },
        "terminate" => Action::Terminate {
            reason: "逾期未补交".into(),
        },
        "void" => Action::Void {
            reason: "重复登记".into(),
        },
        _ => unreachable!(),
    }
}

const ACTIONS: [&str; 18] = [
    "submit",
    "correct",
    "accept",
    "refuse",
    "request_correction",
    "deem_accept",
    "claim",
    "assign",
    "complete",
    "return",
    "start_special",
    "end_special",
    "supplement",
    "decide",
    "deliver",
    "withdraw",
    "terminate",
    "void",
];

/// The expected table, written out by hand from STANDARDS §2–3 (independent of
/// `decide`): for each action, the party that may take it and the states it is
/// allowed in, with the state it leads to.
fn expected(action: &str, state: State, who: Party, step: usize) -> Option<State> {
    use Party as P;
    use State as S;
    // A review case with steps [Review, Decide]; `step` is where it stands.
    let at = |p: Party| (step == 0 && p == P::Reviewer) || (step == 1 && p == P::Decider);
    match (action, state, who) {
        ("submit", S::Draft, P::Applicant) => Some(S::Submitted),
        ("correct", S::Correcting, P::Applicant) => Some(S::Submitted),
        ("accept", S::Submitted, P::Clerk) => Some(S::Accepted),
        ("refuse", S::Submitted, P::Clerk) => Some(S::NotAccepted),
        ("request_correction", S::Submitted, P::Clerk) => Some(S::Correcting),
        ("deem_accept", S::Submitted, P::System) => Some(S::Accepted),
        ("claim", S::Accepted, p) if at(p) => Some(S::Accepted),
        ("assign", S::Accepted | S::Suspended, p) if at(p) => Some(state),
        ("complete", S::Accepted, P::Reviewer) if step == 0 => Some(S::Accepted),
        ("return", S::Accepted, P::Decider) if step == 1 => Some(S::Accepted),
        ("start_special", S::Accepted, p) if at(p) => Some(S::Suspended),
        ("end_special", S::Suspended, p) if at(p) => Some(S::Accepted),
        ("supplement", S::Accepted | S::Suspended, P::Applicant) => Some(state),
        ("decide", S::Accepted, P::Decider) if step == 1 => None, // outstanding material
        ("deliver", S::Decided, P::Clerk | P::Decider) => Some(S::Concluded),
        ("withdraw", S::Submitted | S::Correcting | S::Accepted | S::Suspended, P::Applicant) => Some(S::Withdrawn),
        ("terminate", S::Correcting | S::Accepted | S::Suspended, P::Decider | P::System) => Some(S::Terminated),
        ("void", s, P::Admin) if s != S::Draft && s != S::Voided => Some(S::Voided),
        _ => None,
    }
}

#[test]
fn every_state_party_and_action_is_allowed_or_refused_as_the_table_says() {
    let mut allowed = 0;
    let mut refused = 0;
    for &state in State::ALL {
        for &who in Party::ALL {
            for step in 0..2 {
                for action in ACTIONS {
                    let mut c = Case::new(
                        vec![StepRole::Review, StepRole::Decide],
                        false,
                        ["m1".to_string()].into(),
                    );
                    c.state = state;
                    c.step = step;
                    let facts = Facts {
                        working_days_since_receipt: 6,
                        ..Facts::default()
                    };
                    let got = decide(&c, who, &sample(action), facts);
                    let want = expected(action, state, who, step);
                    match (&got, want) {
                        (Ok(events), Some(next)) => {
                            allowed += 1;
                            assert!(!events.is_empty());
                            let mut c2 = c.clone();
                            for e in events {
                                apply(&mut c2, e);
                            }
                            assert_eq!(c2.state, next, "{action} by {who:?} in {state:?} at step {step}");
                        }
                        (Err(e), None) => {
                            refused += 1;
                            assert!(!e.errors.is_empty());
                            let f = &e.errors[0];
                            assert!(!f.zh.is_empty() && !f.en.is_empty() && !f.rule.is_empty());
                        }
                        _ => {
                            panic!("{action} by {who:?} in {state:?} at step {step}: got {got:?}, table says {want:?}")
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        allowed + refused,
        State::ALL.len() * Party::ALL.len() * 2 * ACTIONS.len()
    );
    assert!(allowed > 30, "{allowed}");
}

#[test]
fn decision_waits_for_materials_to_follow_and_refusals_need_reasons() {
    let mut c = Case::new(vec![StepRole::Decide], false, ["m1".to_string()].into());
    c.state = State::Accepted;
    let f = Facts::default();
    let grant = Action::Decide {
        approve: true,
        reason: String::new(),
    };
    let e = decide(&c, Party::Decider, &grant, f).unwrap_err();
    assert_eq!(e.errors[0].rule, "case.tolerated_outstanding");
    let ev = decide(&c, Party::Applicant, &sample("supplement"), f).unwrap();
    apply(&mut c, &ev[0]);
    assert!(c.outstanding.is_empty());
    assert!(decide(&c, Party::Decider, &grant, f).is_ok());
    let deny = Action::Decide {
        approve: false,
        reason: " ".into(),
    };
    assert_eq!(
        decide(&c, Party::Decider, &deny, f).unwrap_err().errors[0].field,
        "reason"
    );
}

#[test]
fn deemed_acceptance_only_after_five_working_days() {
    // 《行政许可法》第三十二条.
    let mut c = Case::new(vec![StepRole::Decide], false, BTreeSet::new());
    c.state = State::Submitted;
    for days in 0..=5 {
        let f = Facts {
            working_days_since_receipt: days,
            ..Facts::default()
        };
        assert!(decide(&c, Party::System, &Action::DeemAccept, f).is_err());
    }
    let f = Facts {
        working_days_since_receipt: 6,
        ..Facts::default()
    };
    assert_eq!(
        decide(&c, Party::System, &Action::DeemAccept, f).unwrap(),
        vec![Event::Accepted { deemed: true }]
    );
}

#[test]
fn a_case_in_another_officers_hands_is_theirs_unless_a_decider_reassigns_it() {
    let mut c = Case::new(vec![StepRole::Review, StepRole::Decide], false, BTreeSet::new());
    c.state = State::Accepted;
    let ev = decide(&c, Party::Reviewer, &sample("assign"), Facts::default()).unwrap();
    apply(&mut c, &ev[0]);
    assert_eq!(c.handler.as_deref(), Some("acc-colleague"));
    let other = Facts {
        handled_by_other: true,
        ..Facts::default()
    };
    for a in ["claim", "complete", "start_special", "assign"] {
        let e = decide(&c, Party::Reviewer, &sample(a), other).unwrap_err();
        assert_eq!(e.errors[0].rule, "case.handler", "{a}");
    }
    // The handler acts; the applicant may still withdraw.
    assert!(decide(&c, Party::Reviewer, &sample("complete"), Facts::default()).is_ok());
    assert!(decide(&c, Party::Applicant, &sample("withdraw"), other).is_ok());
    // At the decision step a decider reassigns a case taken by a colleague.
    c.step = 1;
    assert!(decide(&c, Party::Decider, &sample("assign"), other).is_ok());
    assert_eq!(
        decide(&c, Party::Decider, &sample("decide"), other).unwrap_err().errors[0].rule,
        "case.handler"
    );
    // Nobody may be assigned without a name.
    let blank = Action::Assign { to: " ".into() };
    assert_eq!(
        decide(&c, Party::Decider, &blank, Facts::default()).unwrap_err().errors[0].field,
        "to"
    );
}

#[test]
fn the_correction_window_and_yellow_threshold_follow_the_policy() {
    let mut c = Case::new(vec![StepRole::Decide], false, BTreeSet::new());
    c.state = State::Submitted;
    let f = Facts {
        working_days_since_receipt: 4,
        correction_window_days: 3,
        handled_by_other: false,
    };
    assert!(decide(&c, Party::System, &Action::DeemAccept, f).is_ok());
    assert!(CasePolicy::default().validate().is_ok());
    let bad = CasePolicy {
        yellow_percent: 100,
        correction_window_days: 6,
    };
    let fields: Vec<_> = bad
        .validate()
        .unwrap_err()
        .errors
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["cases.yellow_percent", "cases.correction_window_days"]);
    let cal = official_calendar();
    let dl = due(&cal, d("2026-11-02"), &TimeLimit::working_days(10), &[]);
    // Day 5 of 10: green at 80 %, yellow at 50 %.
    assert_eq!(reading(&cal, &dl, &[], d("2026-11-09")).light, Light::Green);
    assert_eq!(reading_with(&cal, &dl, &[], d("2026-11-09"), 50).light, Light::Yellow);
}

#[test]
fn instant_items_are_decided_at_acceptance() {
    let mut c = Case::new(vec![StepRole::Decide], true, BTreeSet::new());
    c.state = State::Submitted;
    let ev = decide(&c, Party::Clerk, &Action::Accept, Facts::default()).unwrap();
    for e in &ev {
        apply(&mut c, e);
    }
    assert_eq!(c.state, State::Decided);
    assert_eq!(c.approved, Some(true));
}

#[test]
fn workflow_always_ends_with_a_decision() {
    let mut e = Elements::new("x", crate::catalog::ItemType::Licensing);
    assert_eq!(workflow(&e), vec![StepRole::Review, StepRole::Decide]);
    e.steps = vec![
        crate::catalog::Step {
            name: "受理".into(),
            role: StepRole::Accept,
            days: 1,
            standard: String::new(),
        },
        crate::catalog::Step {
            name: "审查".into(),
            role: StepRole::Review,
            days: 3,
            standard: String::new(),
        },
    ];
    assert_eq!(workflow(&e), vec![StepRole::Review, StepRole::Decide]);
}

#[test]
fn case_numbers() {
    let n = case_number("460100", d("2026-11-25"), 42);
    assert_eq!(n, "46010000000020261125000042");
    assert!(check_case_number("id", &n).is_ok());
    assert_eq!(case_number("460105001001", d("2026-01-02"), 1).len(), 26);
    assert!(check_case_number("id", "4601000000002026132500004").is_err());
    assert!(check_case_number("id", "46010000000020261325000042").is_err());
}

#[test]
fn due_dates_skip_holidays_and_suspensions() {
    let cal = official_calendar();
    // National Day 2026: 10-01..10-07 off, 10-10 (Sat) a make-up workday.
    let dl = due(&cal, d("2026-09-30"), &TimeLimit::working_days(5), &[]);
    assert!(!dl.holidays.is_empty());
    assert!(dl.date > d("2026-10-07"));
    let s = [Suspension {
        from: d("2026-11-02"),
        to: d("2026-11-06"),
    }];
    let plain = due(&cal, d("2026-10-30"), &TimeLimit::working_days(10), &[]);
    let susp = due(&cal, d("2026-10-30"), &TimeLimit::working_days(10), &s);
    assert_eq!(susp.suspended_days.len(), 5);
    assert_eq!(cal.working_days_between(plain.date, susp.date), 5);
    // Calendar days ending on a weekend move to the next working day.
    let nat = due(
        &cal,
        d("2026-11-20"),
        &TimeLimit {
            value: 8,
            unit: TimeUnit::NaturalDays,
            note: None,
        },
        &[],
    );
    assert_eq!(nat.date, d("2026-11-30"));
}

#[test]
fn readings_turn_yellow_then_red() {
    let cal = official_calendar();
    let dl = due(&cal, d("2026-11-02"), &TimeLimit::working_days(10), &[]);
    assert_eq!(dl.date, d("2026-11-16"));
    assert_eq!(reading(&cal, &dl, &[], d("2026-11-03")).light, Light::Green);
    assert_eq!(reading(&cal, &dl, &[], d("2026-11-12")).light, Light::Yellow);
    assert_eq!(reading(&cal, &dl, &[], d("2026-11-16")).light, Light::Yellow);
    assert_eq!(reading(&cal, &dl, &[], d("2026-11-17")).light, Light::Red);
}

/// The demo's migrated cases rely on this: whatever the day (working day, weekend,
/// holiday, make-up day), a clock started `start_with_used(today, n)` reads n used.
#[test]
fn a_start_with_n_used_reads_n_used_on_every_day() {
    let cal = official_calendar();
    let limit = TimeLimit::working_days(20);
    let mut today = d("2025-12-20");
    while today <= d("2027-01-10") {
        for n in 1..=23 {
            let start = start_with_used(&cal, today, n);
            let dl = due(&cal, start, &limit, &[]);
            let r = reading(&cal, &dl, &[], today);
            assert_eq!(r.used, n as i64, "{today} n={n} start={start}");
            // The latest such start: the next day counts one fewer.
            assert_eq!(
                cal.working_days_between(start + chrono::Days::new(1), today),
                n as i64 - 1
            );
            // (n = 20, the due day itself, is yellow on a working day and red after it.)
            let light = r.light;
            match n {
                21.. => assert_eq!(light, Light::Red, "{today} n={n}"),
                16..=19 => assert_eq!(light, Light::Yellow, "{today} n={n}"),
                20 => {}
                _ => assert_eq!(light, Light::Green, "{today} n={n}"),
            }
        }
        today = today.succ_opt().unwrap();
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn date() -> impl Strategy<Value = NaiveDate> {
        // Across 2007–2027, so year ends and the unpublished year are met.
        (0i64..(21 * 366)).prop_map(|n| NaiveDate::from_ymd_opt(2007, 1, 1).unwrap() + chrono::Days::new(n as u64))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// The due date is a working day, exactly N counted working days after the
        /// start once suspended working days are left out, and suspensions only
        /// ever move it later.
        #[test]
        fn due_date_arithmetic(start in date(), n in 1u32..45, s_off in 0i64..30, s_len in 0i64..20) {
            let cal = official_calendar();
            let from = start + chrono::Days::new(s_off as u64);
            let s = [Suspension { from, to: from + chrono::Days::new(s_len as u64) }];
            let plain = due(&cal, start, &TimeLimit::working_days(n), &[]);
            let susp = due(&cal, start, &TimeLimit::working_days(n), &s);
            prop_assert!(cal.is_working_day(plain.date));
            prop_assert!(cal.is_working_day(susp.date));
            prop_assert_eq!(cal.working_days_between(start, plain.date), n as i64);
            let counted = start.iter_days().skip(1).take_while(|x| *x <= susp.date)
                .filter(|x| cal.is_working_day(*x) && !(s[0].from <= *x && *x <= s[0].to)).count();
            prop_assert_eq!(counted, n as usize);
            prop_assert!(susp.date >= plain.date);
            prop_assert_eq!(
                cal.working_days_between(plain.date, susp.date),
                susp.suspended_days.len() as i64
            );
            // Holidays met are days off; make-up days met are declared workdays and
            // counted (usually weekends; 2020-02-03 was a Monday, STANDARDS §9 data).
            for (h, _) in &susp.holidays { prop_assert!(!cal.is_working_day(*h)); }
            for (m, _) in &susp.makeup_workdays {
                prop_assert!(cal.is_working_day(*m));
                prop_assert!(matches!(cal.day_kind(*m), DayKind::MakeupWorkday(_)));
            }
            prop_assert_eq!(susp.provisional, start.iter_days().take_while(|x| *x <= susp.date).any(|x| !cal.is_published(x.year())));
        }

        /// A reading never shows more used than the limit before the due date, and is
        /// red exactly after it.
        #[test]
        fn readings_are_consistent(start in date(), n in 1u32..30, k in 0i64..60) {
            let cal = official_calendar();
            let dl = due(&cal, start, &TimeLimit::working_days(n), &[]);
            let today = start + chrono::Days::new(k as u64);
            let r = reading(&cal, &dl, &[], today);
            prop_assert_eq!(r.light == Light::Red, today > dl.date);
            if today <= dl.date { prop_assert!(r.used <= n as i64); }
            prop_assert_eq!(r.used + r.remaining, n as i64);
        }
    }
}

/// An action that ends the case or issues a decision cannot be taken back, so the pages
/// ask first (GOV.UK pattern "check answers"/"confirm"): exactly these.
#[test]
fn irreversible_actions_ask_for_confirmation() {
    let asked: Vec<&str> = ACTIONS
        .iter()
        .copied()
        .filter(|a| {
            let q = sample(a).confirmation();
            if let Some((zh, en)) = q {
                assert!(zh.contains('？'), "{a}: {zh}");
                assert!(en.contains('?'), "{a}: {en}");
            }
            q.is_some()
        })
        .collect();
    assert_eq!(asked, ["refuse", "decide", "withdraw", "terminate", "void"]);
    let deny = Action::Decide {
        approve: false,
        reason: "不符合条件".into(),
    };
    assert!(deny.confirmation().is_some());
}
