//! Who may act when: the case state machine, its decisions and their effects.

use super::*;

pub(super) fn party_of(r: StepRole) -> Party {
    match r {
        StepRole::Accept | StepRole::Deliver => Party::Clerk,
        StepRole::Review => Party::Reviewer,
        StepRole::Decide => Party::Decider,
    }
}

/// The review steps of an item after acceptance: its review and decision steps in order,
/// ending with a decision (an item without steps gets 审查 then 决定).
pub fn workflow(e: &Elements) -> Vec<StepRole> {
    let mut v: Vec<StepRole> = e
        .steps
        .iter()
        .map(|s| s.role)
        .filter(|r| matches!(r, StepRole::Review | StepRole::Decide))
        .collect();
    if v.is_empty() {
        v.push(StepRole::Review);
    }
    if v.last() != Some(&StepRole::Decide) {
        v.push(StepRole::Decide);
    }
    v
}

pub(super) fn refuse(rule: &str, zh: impl Into<String>, en: impl Into<String>) -> DomainError {
    DomainError::one(ErrorKind::Conflict, FieldError::new("action", rule, zh, en))
}

pub(super) fn wrong_state(c: &Case, a: &Action) -> DomainError {
    refuse(
        "case.state",
        format!("办件处于「{}」状态，不能执行「{}」", c.state.zh(), a.name()),
        format!("a case that is {} cannot take '{}'", c.state.en(), a.name()),
    )
}

pub(super) fn wrong_party(p: Party, a: &Action) -> DomainError {
    DomainError::one(
        ErrorKind::Conflict,
        FieldError::new(
            "action",
            "case.party",
            format!("{}不能执行「{}」", p.zh(), a.name()),
            format!("the {} cannot take '{}'", p.en(), a.name()),
        ),
    )
}

pub(super) fn required_text(field: &str, v: &str, max: usize) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.text(field, v, max);
    p.finish()
}

/// Facts from outside the case that some actions depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Working days from receipt to today (《行政许可法》第三十二条 counts 5).
    pub working_days_since_receipt: i64,
    /// The province's correction window in working days (`CasePolicy`).
    pub correction_window_days: i64,
    /// The case is in the hands of another officer (签收 or 分办 to someone else):
    /// 首问负责 — only they, or a deciding officer reassigning it, act on it.
    pub handled_by_other: bool,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            working_days_since_receipt: 0,
            correction_window_days: CORRECTION_WINDOW_DAYS,
            handled_by_other: false,
        }
    }
}

/// Working days within which a correction must be requested (《行政许可法》第三十二条).
pub const CORRECTION_WINDOW_DAYS: i64 = 5;

/// The province's case settings [M]: the traffic-light threshold and the correction window
/// (STANDARDS §2 marks the legal clocks [M]; the defaults are the law's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasePolicy {
    /// Share of a limit used before a clock turns yellow, in percent (1–99).
    pub yellow_percent: i64,
    /// 《行政许可法》第三十二条: working days after receipt within which a correction must be
    /// requested; afterwards the case counts as accepted from receipt.
    pub correction_window_days: i64,
}

impl Default for CasePolicy {
    fn default() -> Self {
        CasePolicy {
            yellow_percent: YELLOW_PERCENT,
            correction_window_days: CORRECTION_WINDOW_DAYS,
        }
    }
}

impl CasePolicy {
    /// Checks the settings (a bad configuration is refused at start, field by field).
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if !(1..=99).contains(&self.yellow_percent) {
            p.push(FieldError::new(
                "cases.yellow_percent",
                "range",
                "预警比例须在 1 到 99 之间",
                "yellow_percent must be between 1 and 99",
            ));
        }
        if !(1..=CORRECTION_WINDOW_DAYS).contains(&self.correction_window_days) {
            // 《行政许可法》第三十二条: at most 5 working days; a province may promise less.
            p.push(FieldError::new(
                "cases.correction_window_days",
                "range",
                "补正告知期限须在 1 到 5 个工作日之间（行政许可法第三十二条）",
                "correction_window_days must be 1 to 5 working days (Licensing Law art. 32)",
            ));
        }
        p.finish()
    }
}

/// Decides an action: the events it causes, or why it is refused. Total over every
/// state, party and action.
pub fn decide(c: &Case, who: Party, a: &Action, facts: Facts) -> Result<Vec<Event>, DomainError> {
    use Party as P;
    use State as S;
    // Who may take each action at all.
    let party_ok = match a {
        Action::Submit | Action::Correct | Action::Supplement { .. } | Action::Withdraw { .. } => who == P::Applicant,
        Action::Accept | Action::Refuse { .. } | Action::RequestCorrection { .. } => who == P::Clerk,
        Action::DeemAccept => who == P::System,
        Action::Claim | Action::Assign { .. } | Action::Complete { .. } | Action::Return { .. } => {
            matches!(who, P::Reviewer | P::Decider)
        }
        Action::StartSpecial { .. } | Action::EndSpecial { .. } => matches!(who, P::Reviewer | P::Decider),
        Action::Decide { .. } => who == P::Decider,
        Action::Deliver { .. } => matches!(who, P::Clerk | P::Decider),
        // 终止: by the deciding officer, or the scheduler when materials to follow are overdue.
        Action::Terminate { .. } => matches!(who, P::Decider | P::System),
        Action::Void { .. } => who == P::Admin,
    };
    if !party_ok {
        return Err(wrong_party(who, a));
    }
    // The current step's role must match the reviewer/decider acting on it.
    let step_party = c.steps.get(c.step).map(|r| party_of(*r));
    let at_own_step = |who: Party| step_party == Some(who);
    // 首问负责: a case in another officer's hands is theirs to act on; a deciding officer
    // may still reassign it (分办).
    let step_action = matches!(
        a,
        Action::Claim
            | Action::Complete { .. }
            | Action::Return { .. }
            | Action::StartSpecial { .. }
            | Action::EndSpecial { .. }
            | Action::Decide { .. }
    ) || (matches!(a, Action::Assign { .. }) && who != P::Decider);
    if step_action && facts.handled_by_other && matches!(c.state, S::Accepted | S::Suspended) {
        return Err(refuse(
            "case.handler",
            format!("此办件已由「{}」签收办理", c.handler.as_deref().unwrap_or("—")),
            format!(
                "this case is in the hands of {}",
                c.handler.as_deref().unwrap_or("another officer")
            ),
        ));
    }
    match (c.state, a) {
        (S::Draft, Action::Submit) => Ok(vec![Event::Submitted]),
        (S::Correcting, Action::Correct) => Ok(vec![Event::Corrected]),
        (S::Submitted, Action::Accept) => {
            if c.instant {
                // 即办件: decided on the spot at acceptance (STANDARDS §2).
                Ok(vec![
                    Event::Accepted { deemed: false },
                    Event::Decided {
                        approve: true,
                        reason: "即办件当场办结".into(),
                    },
                ])
            } else {
                Ok(vec![Event::Accepted { deemed: false }])
            }
        }
        (S::Submitted, Action::Refuse { reason, basis }) => {
            // 《行政许可法》第三十二条: a refusal to accept is written, with its reason.
            let mut p = Problems::new();
            p.text("reason", reason, 500);
            p.text("basis", basis, 500);
            p.finish()?;
            Ok(vec![Event::Refused {
                reason: reason.trim().into(),
                basis: basis.trim().into(),
            }])
        }
        (S::Submitted, Action::RequestCorrection { items }) => {
            // 《行政许可法》第三十二条: everything missing is told at once.
            let mut p = Problems::new();
            if items.is_empty() {
                p.push(FieldError::new(
                    "items",
                    "required",
                    "至少列出一项需补正的内容",
                    "list at least one thing to correct",
                ));
            }
            for (i, it) in items.iter().enumerate() {
                p.text(&format!("items[{i}].target"), &it.target, 100);
                p.text(&format!("items[{i}].problem"), &it.problem, 500);
            }
            p.finish()?;
            Ok(vec![Event::CorrectionRequested { items: items.clone() }])
        }
        (S::Submitted, Action::DeemAccept) => {
            // 《行政许可法》第三十二条: no correction requested within 5 working days of
            // receipt → accepted from the day of receipt.
            if facts.working_days_since_receipt <= facts.correction_window_days {
                return Err(refuse(
                    "case.correction_window_open",
                    format!("收件未满 {} 个工作日，尚不能视为受理", facts.correction_window_days),
                    format!(
                        "the {} working days after receipt have not passed",
                        facts.correction_window_days
                    ),
                ));
            }
            Ok(vec![Event::Accepted { deemed: true }])
        }
        (S::Accepted, Action::Claim) => {
            if !at_own_step(who) {
                return Err(not_your_step(c));
            }
            Ok(vec![Event::Claimed {
                by: who.as_str().into(),
            }])
        }
        (S::Accepted | S::Suspended, Action::Assign { to }) => {
            if !at_own_step(who) {
                return Err(not_your_step(c));
            }
            required_text("to", to, 100)?;
            Ok(vec![Event::Assigned { to: to.trim().into() }])
        }
        (S::Accepted, Action::Complete { opinion }) => {
            if !at_own_step(who) {
                return Err(not_your_step(c));
            }
            required_text("opinion", opinion, 1000)?;
            if c.step + 1 >= c.steps.len() {
                return Err(refuse(
                    "case.decide_at_last_step",
                    "这是决定环节，请作出准予或不予的决定",
                    "this is the decision step: grant or refuse",
                ));
            }
            Ok(vec![Event::StepCompleted {
                step: c.step,
                opinion: opinion.trim().into(),
            }])
        }
        (S::Accepted, Action::Return { to_step, opinion }) => {
            if !at_own_step(who) {
                return Err(not_your_step(c));
            }
            if *to_step >= c.step {
                return Err(DomainError::invalid(vec![FieldError::new(
                    "to_step",
                    "case.earlier_step",
                    "只能退回到之前的环节",
                    "a case goes back only to an earlier step",
                )]));
            }
            required_text("opinion", opinion, 1000)?;
            Ok(vec![Event::Returned {
                from: c.step,
                to: *to_step,
                opinion: opinion.trim().into(),
            }])
        }
        (S::Accepted, Action::StartSpecial { kind, reason }) => {
            if !at_own_step(who) {
                return Err(not_your_step(c));
            }
            required_text("reason", reason, 500)?;
            Ok(vec![Event::SpecialStarted {
                kind: *kind,
                reason: reason.trim().into(),
            }])
        }
        (S::Suspended, Action::EndSpecial { result }) => {
            if !at_own_step(who) {
                return Err(not_your_step(c));
            }
            required_text("result", result, 500)?;
            Ok(vec![Event::SpecialEnded {
                result: result.trim().into(),
            }])
        }
        (S::Accepted | S::Suspended, Action::Supplement { keys }) => {
            if c.outstanding.is_empty() {
                return Err(refuse(
                    "case.nothing_outstanding",
                    "没有待补交的容缺材料",
                    "no materials are to follow",
                ));
            }
            let mut p = Problems::new();
            if keys.is_empty() {
                p.push(FieldError::new(
                    "keys",
                    "required",
                    "请选择补交的材料",
                    "choose the materials handed in",
                ));
            }
            for k in keys {
                if !c.outstanding.contains(k) {
                    p.push(FieldError::new(
                        "keys",
                        "case.not_outstanding",
                        format!("材料「{k}」不在容缺清单中"),
                        format!("material '{k}' is not among the materials to follow"),
                    ));
                }
            }
            p.finish()?;
            Ok(vec![Event::Supplemented { keys: keys.clone() }])
        }
        (S::Accepted, Action::Decide { approve, reason }) => {
            if !at_own_step(who) || c.step + 1 != c.steps.len() {
                return Err(not_your_step(c));
            }
            // STANDARDS §3: with materials to follow, the decision waits for the supplement.
            if *approve && !c.outstanding.is_empty() {
                return Err(refuse(
                    "case.tolerated_outstanding",
                    "容缺材料尚未补齐，补齐后方可作出准予决定".to_string(),
                    "materials accepted as missing have not been handed in yet",
                ));
            }
            if !approve {
                // 《行政许可法》第三十八条: a refusal states its reasons.
                required_text("reason", reason, 1000)?;
            }
            Ok(vec![Event::Decided {
                approve: *approve,
                reason: reason.trim().into(),
            }])
        }
        (S::Decided, Action::Deliver { method, post }) => {
            if *method == DeliveryMethod::Post {
                let mut p = Problems::new();
                match post {
                    None => p.push(FieldError::new(
                        "post",
                        "required",
                        "邮寄送达需填写地址、运单号和付费方",
                        "delivery by post needs the address, tracking number and payer",
                    )),
                    Some(d) => {
                        p.text("post.address", &d.address, 200);
                        p.text("post.tracking_no", &d.tracking_no, 50);
                        if !matches!(d.payer.as_str(), "applicant" | "government") {
                            p.push(FieldError::new(
                                "post.payer",
                                "one_of",
                                "付费方为申请人（applicant）或政府（government）",
                                "the payer is applicant or government",
                            ));
                        }
                    }
                }
                p.finish()?;
            }
            Ok(vec![
                Event::Delivered {
                    method: *method,
                    post: post.clone().filter(|_| *method == DeliveryMethod::Post),
                },
                Event::Concluded,
            ])
        }
        (S::Submitted | S::Correcting | S::Accepted | S::Suspended, Action::Withdraw { reason }) => {
            Ok(vec![Event::Withdrawn {
                reason: reason.trim().into(),
            }])
        }
        (S::Correcting | S::Accepted | S::Suspended, Action::Terminate { reason }) => {
            required_text("reason", reason, 500)?;
            Ok(vec![Event::Terminated {
                reason: reason.trim().into(),
            }])
        }
        (s, Action::Void { reason }) if s != S::Draft && s != S::Voided => {
            required_text("reason", reason, 500)?;
            Ok(vec![Event::Voided {
                reason: reason.trim().into(),
            }])
        }
        _ => Err(wrong_state(c, a)),
    }
}

pub(super) fn not_your_step(c: &Case) -> DomainError {
    let (zh, en) = match c.steps.get(c.step) {
        Some(r) => (r.zh(), r.en()),
        None => ("—", "—"),
    };
    refuse(
        "case.step",
        format!("办件当前在「{zh}」环节，不能由你执行此操作"),
        format!("the case is at the {en} step, which is not yours"),
    )
}

/// Folds an event into the case.
pub fn apply(c: &mut Case, e: &Event) {
    match e {
        Event::Submitted | Event::Corrected => c.state = State::Submitted,
        Event::Accepted { .. } => {
            c.state = State::Accepted;
            c.step = 0;
            c.handler = None;
        }
        Event::Refused { .. } => c.state = State::NotAccepted,
        Event::CorrectionRequested { .. } => c.state = State::Correcting,
        Event::Claimed { by } => c.handler = Some(by.clone()),
        Event::Assigned { to } => c.handler = Some(to.clone()),
        Event::StepCompleted { .. } => {
            c.step += 1;
            c.handler = None;
        }
        Event::Returned { to, .. } => {
            c.step = *to;
            c.handler = None;
        }
        Event::SpecialStarted { .. } => c.state = State::Suspended,
        Event::SpecialEnded { .. } => c.state = State::Accepted,
        Event::Supplemented { keys } => {
            for k in keys {
                c.outstanding.remove(k);
            }
        }
        Event::Decided { approve, .. } => {
            c.state = State::Decided;
            c.approved = Some(*approve);
        }
        Event::Delivered { .. } => {}
        Event::Concluded => c.state = State::Concluded,
        Event::Withdrawn { .. } => c.state = State::Withdrawn,
        Event::Terminated { .. } => c.state = State::Terminated,
        Event::Voided { .. } => c.state = State::Voided,
    }
}

/// The notice an event calls for, if any.
pub fn notice_for(e: &Event, tolerated: bool) -> Option<NoticeKind> {
    match e {
        Event::Submitted => Some(NoticeKind::Receipt),
        Event::Accepted { .. } if tolerated => Some(NoticeKind::Tolerance),
        Event::Accepted { .. } => Some(NoticeKind::Acceptance),
        Event::Refused { .. } => Some(NoticeKind::NonAcceptance),
        Event::CorrectionRequested { .. } => Some(NoticeKind::Correction),
        Event::SpecialStarted { .. } => Some(NoticeKind::Special),
        Event::Decided { approve: true, .. } => Some(NoticeKind::Approval),
        Event::Decided { approve: false, .. } => Some(NoticeKind::Denial),
        _ => None,
    }
}

/// The 2-character action code of a process row in the national aggregation (STANDARDS §2
/// "process rows … 2-character action code"). The national dictionary is not in our
/// standards folder; these are our codes, one per event, stable once exported.
pub fn national_action_code(event: &str) -> Option<&'static str> {
    Some(match event {
        "submitted" => "01",
        "correction_requested" => "02",
        "corrected" => "03",
        "accepted" => "04",
        "refused" => "05",
        "claimed" => "06",
        "step_completed" => "07",
        "returned" => "08",
        "special_started" => "09",
        "special_ended" => "10",
        "supplemented" => "11",
        "decided" => "12",
        "delivered" => "13",
        "concluded" => "14",
        "withdrawn" => "15",
        "terminated" => "16",
        "voided" => "17",
        "assigned" => "18",
        _ => return None,
    })
}
