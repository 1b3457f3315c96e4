use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn rules(e: DomainError) -> Vec<(String, String)> {
    e.errors.into_iter().map(|f| (f.field, f.rule)).collect()
}

fn input(level: u8, options: &[&str]) -> RatingInput {
    RatingInput {
        level,
        options: options.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn levels_and_what_counts_as_bad() {
    assert_eq!(level_name(5), Some(("非常满意", "very satisfied")));
    assert_eq!(level_name(0), None);
    assert_eq!(level_name(6), None);
    assert!(is_bad(1) && is_bad(2) && !is_bad(3));
    assert!(is_good(4) && is_good(5) && !is_good(3));
    assert_eq!(dimensions(Channel::Online).len(), 5);
    assert_eq!(dimensions(Channel::OnSite).len(), 4);
    assert_eq!(level_name(DEFAULT_LEVEL).unwrap().0, "基本满意");
}

#[test]
fn the_shipped_option_set_passes_its_own_check() {
    check_options(&default_options()).unwrap();
    let mut o = default_options();
    o.retain(|x| !x.levels.contains(&3));
    o.push(o[0].clone());
    o[1].levels = vec![7];
    let r = rules(check_options(&o).unwrap_err());
    assert!(
        r.contains(&("options".into(), "rating.level_without_options".into())),
        "{r:?}"
    );
    assert!(r.iter().any(|(_, x)| x == "rating.option_duplicate"), "{r:?}");
    assert!(
        r.contains(&("options[1].levels".into(), "rating.level".into())),
        "{r:?}"
    );
}

#[test]
fn a_rating_is_checked_against_its_channel_and_the_options_in_force() {
    let set = default_options();
    check_rating(Channel::Online, &input(5, &["fast", "once"]), &set).unwrap();
    let mut r = input(2, &["many_trips"]);
    r.dimensions = [("efficiency".to_string(), 2), ("guide".to_string(), 1)].into();
    check_rating(Channel::Online, &r, &set).unwrap();
    // 服务态度 is asked on site only; 0 is no level; a good option on a bad rating.
    let mut r = input(0, &["fast", "nope"]);
    r.dimensions = [("attitude".to_string(), 3), ("overall".to_string(), 9)].into();
    let got = rules(check_rating(Channel::Online, &r, &set).unwrap_err());
    assert_eq!(
        got,
        [
            ("level", "rating.level"),
            ("dimensions.attitude", "rating.dimension_unknown"),
            ("dimensions.overall", "rating.level"),
            ("options[1]", "rating.option_unknown"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let got = rules(check_rating(Channel::Online, &input(1, &["fast", "overdue", "overdue"]), &set).unwrap_err());
    assert_eq!(
        got,
        [
            ("options[0]", "rating.option_level"),
            ("options[2]", "rating.option_duplicate")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    check_rating(Channel::OnSite, &input(4, &["friendly"]), &set).unwrap();
}

#[test]
fn a_bad_rating_says_what_went_wrong() {
    let set = default_options();
    let got = rules(check_rating(Channel::Online, &input(1, &[]), &set).unwrap_err());
    assert_eq!(got, [("options".to_string(), "rating.reason_required".to_string())]);
    let mut r = input(1, &[]);
    r.text = Some("   ".into());
    assert!(check_rating(Channel::Online, &r, &set).is_err());
    r.text = Some("窗口让我跑了三次".into());
    check_rating(Channel::Online, &r, &set).unwrap();
    r.text = Some("长".repeat(TEXT_MAX + 1));
    let got = rules(check_rating(Channel::Online, &r, &set).unwrap_err());
    assert_eq!(got, [("text".to_string(), "max_length".to_string())]);
    // A fair rating needs no reason.
    check_rating(Channel::Online, &input(3, &[]), &set).unwrap();
}

#[test]
fn a_case_is_rated_once_per_stage_when_the_moment_has_come() {
    use CaseState as S;
    let on = Some(d("2026-12-01"));
    let rule = |r: Result<(), DomainError>| r.unwrap_err().errors[0].rule.clone();
    may_rate(Channel::Online, Stage::Conclusion, S::Concluded, on, false, &[]).unwrap();
    may_rate(Channel::Online, Stage::Conclusion, S::NotAccepted, None, false, &[]).unwrap();
    assert_eq!(
        rule(may_rate(
            Channel::Online,
            Stage::Conclusion,
            S::Accepted,
            on,
            false,
            &[]
        )),
        "rating.not_yet"
    );
    assert_eq!(
        rule(may_rate(Channel::Online, Stage::Conclusion, S::Decided, on, false, &[])),
        "rating.not_yet"
    );
    assert_eq!(
        rule(may_rate(
            Channel::Online,
            Stage::Conclusion,
            S::Withdrawn,
            None,
            false,
            &[]
        )),
        "rating.not_yet"
    );
    // 一事多评 where the province chooses it.
    assert_eq!(
        rule(may_rate(
            Channel::Online,
            Stage::Acceptance,
            S::Accepted,
            on,
            false,
            &[]
        )),
        "rating.stage_not_offered"
    );
    may_rate(Channel::Online, Stage::Acceptance, S::Accepted, on, true, &[]).unwrap();
    assert_eq!(
        rule(may_rate(
            Channel::Online,
            Stage::Acceptance,
            S::Submitted,
            None,
            true,
            &[]
        )),
        "rating.not_yet"
    );
    assert_eq!(
        rule(may_rate(
            Channel::Online,
            Stage::Acceptance,
            S::Withdrawn,
            on,
            true,
            &[]
        )),
        "rating.not_rateable"
    );
    let rated = [(Channel::Online, Stage::Conclusion)];
    assert_eq!(
        rule(may_rate(
            Channel::Online,
            Stage::Conclusion,
            S::Concluded,
            on,
            false,
            &rated
        )),
        "rating.already_rated"
    );
    // One per channel: on site is another rating.
    may_rate(Channel::OnSite, Stage::Conclusion, S::Concluded, on, false, &rated).unwrap();
    // 一次一评: a visit while the case is open, whatever the province's 一事多评.
    assert_eq!(on_site_stage(S::Submitted), Stage::Acceptance);
    assert_eq!(on_site_stage(S::Concluded), Stage::Conclusion);
    may_rate(Channel::OnSite, Stage::Acceptance, S::Submitted, None, false, &[]).unwrap();
    assert_eq!(
        rule(may_rate(
            Channel::OnSite,
            Stage::Acceptance,
            S::Concluded,
            on,
            false,
            &[]
        )),
        "rating.not_yet"
    );
    let visited = [(Channel::OnSite, Stage::Acceptance)];
    assert_eq!(
        rule(may_rate(
            Channel::OnSite,
            Stage::Acceptance,
            S::Accepted,
            on,
            false,
            &visited
        )),
        "rating.already_rated"
    );
    assert_eq!(default_on(d("2026-12-28"), 7), d("2027-01-04"));
}

#[test]
fn a_bad_rating_is_called_back_resolved_and_answered() {
    use TaskParty::*;
    let today = d("2026-12-07");
    let t = Task::open();
    let rule = |r: Result<Task, DomainError>| r.unwrap_err().errors[0].rule.clone();
    let resolve = |outcome, due_on| TaskAction::Resolve {
        outcome,
        note: "已与申请人沟通".into(),
        due_on,
    };
    // 回访 first; only the handling unit acts; the rater only answers.
    assert_eq!(
        rule(task_apply(&t, Department, &resolve(Outcome::Immediate, None), today)),
        "rating_task.call_back_first"
    );
    assert_eq!(
        rule(task_apply(
            &t,
            Rater,
            &TaskAction::CallBack {
                reached: true,
                note: "x".into()
            },
            today
        )),
        "rating_task.party"
    );
    let t = task_apply(
        &t,
        Department,
        &TaskAction::CallBack {
            reached: true,
            note: "电话回访".into(),
        },
        today,
    )
    .unwrap();
    assert_eq!((t.state, t.called_back_on), (TaskState::Resolving, Some(today)));
    let e = task_apply(&t, Department, &resolve(Outcome::Deadline, None), today).unwrap_err();
    assert_eq!(rules(e), [("due_on".to_string(), "required".to_string())]);
    let e = task_apply(&t, Department, &resolve(Outcome::Deadline, Some(today)), today).unwrap_err();
    assert_eq!(e.errors[0].rule, "rating_task.due_in_past");
    let e = task_apply(
        &t,
        Department,
        &resolve(Outcome::Explained, Some(d("2026-12-20"))),
        today,
    )
    .unwrap_err();
    assert_eq!(e.errors[0].rule, "rating_task.due_not_needed");
    let fixing = task_apply(
        &t,
        Department,
        &resolve(Outcome::Deadline, Some(d("2026-12-14"))),
        today,
    )
    .unwrap();
    assert_eq!(fixing.state, TaskState::Fixing);
    assert_eq!(
        rule(task_apply(
            &fixing,
            Rater,
            &TaskAction::Feedback { satisfied: true },
            today
        )),
        "rating_task.state"
    );
    assert_eq!(warnings(&fixing, today, d("2026-12-15")), [Warning::FixOverdue]);
    let closed = task_apply(
        &fixing,
        Department,
        &TaskAction::Fixed {
            note: "已修订办事指南".into(),
        },
        today,
    )
    .unwrap();
    assert_eq!(closed.state, TaskState::Closed);
    let answered = task_apply(&closed, Rater, &TaskAction::Feedback { satisfied: true }, today).unwrap();
    assert_eq!(answered.satisfied, Some(true));
    assert_eq!(
        rule(task_apply(
            &answered,
            Rater,
            &TaskAction::Feedback { satisfied: false },
            today
        )),
        "rating_task.feedback_given"
    );
    let immediate = task_apply(&t, Department, &resolve(Outcome::Immediate, None), today).unwrap();
    assert_eq!(immediate.state, TaskState::Closed);
    assert!(warnings(&Task::open(), d("2026-12-09"), d("2026-12-09")).is_empty());
    assert_eq!(
        warnings(&Task::open(), d("2026-12-09"), d("2026-12-10")),
        [Warning::CallBackOverdue]
    );
}

#[test]
fn an_appeal_is_decided_by_the_supervisor_once() {
    use TaskParty::*;
    let today = d("2026-12-07");
    let t = Task::open();
    let appeal = TaskAction::Appeal {
        reason: "评价人误评：该件已按时办结".into(),
    };
    let a = task_apply(&t, Department, &appeal, today).unwrap();
    assert_eq!((a.state, a.appealed), (TaskState::Appealed, true));
    let decide = |upheld| TaskAction::DecideAppeal {
        upheld,
        reason: "经核查".into(),
    };
    assert_eq!(
        task_apply(&a, Department, &decide(true), today).unwrap_err().kind,
        ErrorKind::Forbidden
    );
    // Rejected: back where it was, and not appealed again.
    let back = task_apply(&a, Supervisor, &decide(false), today).unwrap();
    assert_eq!((back.state, back.excluded), (TaskState::CallingBack, false));
    assert_eq!(
        task_apply(&back, Department, &appeal, today).unwrap_err().errors[0].rule,
        "rating_task.appealed"
    );
    // Upheld: closed and left out of the figures, never deleted.
    let upheld = task_apply(&a, Supervisor, &decide(true), today).unwrap();
    assert_eq!((upheld.state, upheld.excluded), (TaskState::Closed, true));
    assert!(task_apply(&upheld, Rater, &TaskAction::Feedback { satisfied: false }, today).is_err());
    assert_eq!(
        task_apply(&t, Supervisor, &decide(true), today).unwrap_err().errors[0].rule,
        "rating_task.state"
    );
}

#[test]
fn the_board_figures() {
    let c = Counts {
        by_level: [1, 1, 2, 4, 12],
        defaulted: 2,
        bad: 2,
        called_back: 2,
        closed: 1,
    };
    let f = figures(&c);
    assert_eq!(f.total, 20);
    assert_eq!(f.good_rate, Some(0.8));
    assert_eq!(f.bad_rate, Some(0.1));
    assert_eq!(f.call_back_rate, Some(1.0));
    assert_eq!(f.rectification_rate, Some(0.5));
    assert_eq!(figures(&Counts::default()).good_rate, None);
}
