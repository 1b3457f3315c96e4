//! Cases (办件): the state machine, case numbers, legal clocks and the pre-check (智能预审).
//!
//! Lifecycle (STANDARDS §2): 草稿 → 申报 → 受理 | 不予受理 | 一次性告知补正 → 审查 (steps,
//! 特别程序 with the clock stopped) → 决定 (准予 | 不予) → 送达 → 办结; other ends 撤回,
//! 终止, 作废. Every (state, party, action) is either allowed with its events or refused
//! with a reason naming the rule; `decide` is total and tested exhaustively.

use crate::Named;
use crate::calendar::{Calendar, DayKind, Deadline, Suspension};
use crate::catalog::{
    DataElement, Elements, MaterialKind, Necessity, SpecialKind, StepRole, TimeLimit, TimeUnit, check_value,
    select_materials,
};
use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($v:ident = $snake:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // The variants' JSON names are their snake_case names; said here too so the
        // OpenAPI schema (which cannot read a macro's literal) names them right.
        #[serde(rename_all = "snake_case")]
        pub enum $name { $(#[serde(rename = $snake)] $v,)+ }
        impl Named for $name {
            fn zh(&self) -> &'static str { match self { $($name::$v => $zh),+ } }
            fn en(&self) -> &'static str { match self { $($name::$v => $en),+ } }
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $snake),+ } }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

named_enum!(
    /// Where a case stands.
    State {
        Draft = "draft", "草稿", "draft";
        Submitted = "submitted", "已申报待受理", "submitted, awaiting acceptance";
        Correcting = "correcting", "待补正", "awaiting correction";
        Accepted = "accepted", "已受理审查中", "accepted, under review";
        Suspended = "suspended", "特别程序中", "in a special procedure";
        Decided = "decided", "已决定待送达", "decided, awaiting delivery";
        Concluded = "concluded", "已办结", "concluded";
        NotAccepted = "not_accepted", "不予受理", "not accepted";
        Withdrawn = "withdrawn", "已撤回", "withdrawn";
        Terminated = "terminated", "已终止", "terminated";
        Voided = "voided", "已作废", "voided";
    }
);

impl State {
    /// Ended: nothing more happens except 作废 of a mistaken record.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Concluded | State::NotAccepted | State::Withdrawn | State::Terminated | State::Voided
        )
    }
    /// The legal clock runs (accepted and not suspended).
    pub fn clock_runs(self) -> bool {
        self == State::Accepted
    }
}

named_enum!(
    /// Who acts on a case. The server maps a caller to a party: the applicant (or their
    /// agent), staff by permission within scope, the scheduler, an administrator.
    Party {
        Applicant = "applicant", "申请人", "applicant";
        Clerk = "clerk", "窗口受理人员", "window clerk";
        Reviewer = "reviewer", "审查人员", "reviewer";
        Decider = "decider", "审批决定人员", "approver";
        System = "system", "系统", "system";
        Admin = "admin", "管理员", "administrator";
    }
);

named_enum!(
    /// How a case came in.
    Channel {
        Online = "online", "网上申报", "online";
        Window = "window", "窗口申报", "at a window";
    }
);

named_enum!(
    /// How a result is handed over.
    DeliveryMethod {
        Window = "window", "窗口领取", "collected at a window";
        Post = "post", "邮寄送达", "by post";
        Electronic = "electronic", "电子送达", "electronically";
    }
);

named_enum!(
    /// How a material was provided.
    ProvisionKind {
        Files = "files", "上传电子材料", "uploaded";
        Licence = "licence", "电子证照免提交", "by e-licence";
        Paper = "paper", "窗口收取纸质材料", "paper taken at a window";
        Tolerated = "tolerated", "容缺后补", "to follow (容缺)";
        Promised = "promised", "告知承诺免提交", "replaced by a commitment";
    }
);

named_enum!(
    /// The written notices of a case (《行政许可法》第三十二条、第四十五条、第三十八条).
    NoticeKind {
        Receipt = "receipt", "收件回执", "receipt";
        Acceptance = "acceptance", "受理通知书", "notice of acceptance";
        NonAcceptance = "non_acceptance", "不予受理决定书", "decision not to accept";
        Correction = "correction", "补正告知书", "notice to correct";
        Tolerance = "tolerance", "容缺受理通知书", "notice of acceptance with materials to follow";
        Special = "special", "特别程序告知书", "notice of a special procedure";
        Approval = "approval", "准予行政许可决定书", "decision to grant";
        Denial = "denial", "不予行政许可决定书", "decision to refuse";
    }
);

/// One thing to correct (一次性告知: all of them at once, 《行政许可法》第三十二条).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CorrectionItem {
    /// The material key or `form.<element>` the problem is about.
    pub target: String,
    /// What is missing or wrong and how to put it right.
    pub problem: String,
}

/// Delivery by post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PostDetail {
    pub address: String,
    pub tracking_no: String,
    /// `applicant` or `government` (免费寄递).
    pub payer: String,
}

/// What someone asks to do with a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// 申报 a draft.
    Submit,
    /// The applicant answers a correction notice (补正).
    Correct,
    /// 受理.
    Accept,
    /// 不予受理, with the reason and its legal basis.
    Refuse { reason: String, basis: String },
    /// 一次性告知补正: every problem at once.
    RequestCorrection { items: Vec<CorrectionItem> },
    /// The scheduler: no correction was requested within 5 working days of receipt.
    DeemAccept,
    /// Take the case into one's own inbox.
    Claim,
    /// 分办: hand the case at the current step to a named colleague (their account id),
    /// who must hold the step's role for the case's department.
    Assign { to: String },
    /// Finish the current step with an opinion and pass the case on.
    Complete { opinion: String },
    /// Send the case back to an earlier step (0-based).
    Return { to_step: usize, opinion: String },
    /// 特别程序 begins; the clock stops (《行政许可法》第四十五条).
    StartSpecial { kind: SpecialKind, reason: String },
    /// 特别程序 ends; the clock runs again.
    EndSpecial { result: String },
    /// The applicant hands in materials accepted as missing (容缺后补).
    Supplement { keys: Vec<String> },
    /// 决定: 准予 or 不予 (a refusal needs reasons, 《行政许可法》第三十八条).
    Decide { approve: bool, reason: String },
    /// 送达 and 办结 (by post: the address, tracking number and who pays).
    Deliver {
        method: DeliveryMethod,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        post: Option<PostDetail>,
    },
    /// 撤回 by the applicant.
    Withdraw { reason: String },
    /// 终止 (materials to follow not supplied, false commitment).
    Terminate { reason: String },
    /// 作废 of a mistaken record by an administrator.
    Void { reason: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Correct => "correct",
            Action::Accept => "accept",
            Action::Refuse { .. } => "refuse",
            Action::RequestCorrection { .. } => "request_correction",
            Action::DeemAccept => "deem_accept",
            Action::Claim => "claim",
            Action::Assign { .. } => "assign",
            Action::Complete { .. } => "complete",
            Action::Return { .. } => "return",
            Action::StartSpecial { .. } => "start_special",
            Action::EndSpecial { .. } => "end_special",
            Action::Supplement { .. } => "supplement",
            Action::Decide { .. } => "decide",
            Action::Deliver { .. } => "deliver",
            Action::Withdraw { .. } => "withdraw",
            Action::Terminate { .. } => "terminate",
            Action::Void { .. } => "void",
        }
    }
}

/// What happened to a case; folded by `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Submitted,
    Corrected,
    /// `deemed`: by 《行政许可法》第三十二条 (no correction requested in time), counted
    /// from the receipt date.
    Accepted {
        deemed: bool,
    },
    Refused {
        reason: String,
        basis: String,
    },
    CorrectionRequested {
        items: Vec<CorrectionItem>,
    },
    Claimed {
        by: String,
    },
    Assigned {
        to: String,
    },
    StepCompleted {
        step: usize,
        opinion: String,
    },
    Returned {
        from: usize,
        to: usize,
        opinion: String,
    },
    SpecialStarted {
        kind: SpecialKind,
        reason: String,
    },
    SpecialEnded {
        result: String,
    },
    Supplemented {
        keys: Vec<String>,
    },
    Decided {
        approve: bool,
        reason: String,
    },
    Delivered {
        method: DeliveryMethod,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        post: Option<PostDetail>,
    },
    Concluded,
    Withdrawn {
        reason: String,
    },
    Terminated {
        reason: String,
    },
    Voided {
        reason: String,
    },
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Submitted => "submitted",
            Event::Corrected => "corrected",
            Event::Accepted { .. } => "accepted",
            Event::Refused { .. } => "refused",
            Event::CorrectionRequested { .. } => "correction_requested",
            Event::Claimed { .. } => "claimed",
            Event::Assigned { .. } => "assigned",
            Event::StepCompleted { .. } => "step_completed",
            Event::Returned { .. } => "returned",
            Event::SpecialStarted { .. } => "special_started",
            Event::SpecialEnded { .. } => "special_ended",
            Event::Supplemented { .. } => "supplemented",
            Event::Decided { .. } => "decided",
            Event::Delivered { .. } => "delivered",
            Event::Concluded => "concluded",
            Event::Withdrawn { .. } => "withdrawn",
            Event::Terminated { .. } => "terminated",
            Event::Voided { .. } => "voided",
        }
    }
    /// A line for the applicant's timeline.
    pub fn zh(&self) -> String {
        match self {
            Event::Submitted => "已申报".into(),
            Event::Corrected => "申请人已补正".into(),
            Event::Accepted { deemed: false } => "已受理".into(),
            Event::Accepted { deemed: true } => {
                "逾期未告知补正，自收到材料之日起视为受理（行政许可法第三十二条）".into()
            }
            Event::Refused { reason, .. } => format!("不予受理：{reason}"),
            Event::CorrectionRequested { items } => format!("一次性告知补正 {} 项", items.len()),
            Event::Claimed { .. } => "已签收办理".into(),
            Event::Assigned { .. } => "已分派承办人".into(),
            Event::StepCompleted { opinion, .. } => format!("环节办结：{opinion}"),
            Event::Returned { opinion, .. } => format!("退回上一环节：{opinion}"),
            Event::SpecialStarted { kind, reason } => format!("进入特别程序（{}）：{reason}", kind.zh()),
            Event::SpecialEnded { result } => format!("特别程序结束：{result}"),
            Event::Supplemented { keys } => format!("已补交容缺材料 {} 项", keys.len()),
            Event::Decided { approve: true, .. } => "准予许可".into(),
            Event::Decided { approve: false, reason } => format!("不予许可：{reason}"),
            Event::Delivered { method, .. } => format!("已送达（{}）", method.zh()),
            Event::Concluded => "已办结".into(),
            Event::Withdrawn { .. } => "申请人已撤回".into(),
            Event::Terminated { reason } => format!("已终止：{reason}"),
            Event::Voided { reason } => format!("已作废：{reason}"),
        }
    }
    pub fn en(&self) -> String {
        match self {
            Event::Submitted => "submitted".into(),
            Event::Corrected => "corrected by the applicant".into(),
            Event::Accepted { deemed: false } => "accepted".into(),
            Event::Accepted { deemed: true } => {
                "accepted from receipt: no correction was requested within 5 working days (Licensing Law art. 32)"
                    .into()
            }
            Event::Refused { reason, .. } => format!("not accepted: {reason}"),
            Event::CorrectionRequested { items } => format!("{} corrections requested at once", items.len()),
            Event::Claimed { .. } => "taken in hand".into(),
            Event::Assigned { .. } => "assigned to a named officer".into(),
            Event::StepCompleted { opinion, .. } => format!("step completed: {opinion}"),
            Event::Returned { opinion, .. } => format!("returned to an earlier step: {opinion}"),
            Event::SpecialStarted { kind, reason } => format!("special procedure ({}): {reason}", kind.en()),
            Event::SpecialEnded { result } => format!("special procedure ended: {result}"),
            Event::Supplemented { keys } => format!("{} materials to follow handed in", keys.len()),
            Event::Decided { approve: true, .. } => "granted".into(),
            Event::Decided { approve: false, reason } => format!("refused: {reason}"),
            Event::Delivered { method, .. } => format!("delivered ({})", method.en()),
            Event::Concluded => "concluded".into(),
            Event::Withdrawn { .. } => "withdrawn by the applicant".into(),
            Event::Terminated { reason } => format!("terminated: {reason}"),
            Event::Voided { reason } => format!("voided: {reason}"),
        }
    }
}

/// What `decide` needs to know about a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub state: State,
    /// The review steps after acceptance (see `workflow`); `step` indexes them.
    pub steps: Vec<StepRole>,
    pub step: usize,
    pub handler: Option<String>,
    /// 即办件: decided on the spot at acceptance (STANDARDS §2).
    pub instant: bool,
    /// Materials accepted as missing (容缺) and not yet supplied.
    pub outstanding: BTreeSet<String>,
    /// The decision, once made.
    pub approved: Option<bool>,
}

impl Case {
    pub fn new(steps: Vec<StepRole>, instant: bool, outstanding: BTreeSet<String>) -> Case {
        Case {
            state: State::Draft,
            steps,
            step: 0,
            handler: None,
            instant,
            outstanding,
            approved: None,
        }
    }
    /// The role whose inbox the case waits in.
    pub fn waiting_on(&self) -> Option<Party> {
        match self.state {
            State::Draft | State::Correcting => Some(Party::Applicant),
            State::Submitted => Some(Party::Clerk),
            State::Accepted | State::Suspended => self.steps.get(self.step).map(|r| party_of(*r)),
            State::Decided => Some(Party::Clerk),
            _ => None,
        }
    }
}

fn party_of(r: StepRole) -> Party {
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

fn refuse(rule: &str, zh: impl Into<String>, en: impl Into<String>) -> DomainError {
    DomainError::one(ErrorKind::Conflict, FieldError::new("action", rule, zh, en))
}

fn wrong_state(c: &Case, a: &Action) -> DomainError {
    refuse(
        "case.state",
        format!("办件处于「{}」状态，不能执行「{}」", c.state.zh(), a.name()),
        format!("a case that is {} cannot take '{}'", c.state.en(), a.name()),
    )
}

fn wrong_party(p: Party, a: &Action) -> DomainError {
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

fn required_text(field: &str, v: &str, max: usize) -> Result<(), DomainError> {
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
                    format!(
                        "容缺材料尚未补齐（{}），补齐后方可作出准予决定",
                        c.outstanding.iter().cloned().collect::<Vec<_>>().join("、")
                    ),
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

fn not_your_step(c: &Case) -> DomainError {
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

// ---------------------------------------------------------------------------------------
// Case numbers
// ---------------------------------------------------------------------------------------

/// 办件编号: the 12-digit region code, the date (yyyyMMdd) and a zero-padded serial
/// (issue 6 / national aggregation: one number per case, unique across the platform).
pub fn case_number(region_code: &str, date: NaiveDate, serial: u64) -> String {
    let mut region: String = region_code.chars().filter(|c| c.is_ascii_digit()).take(12).collect();
    while region.len() < 12 {
        region.push('0');
    }
    format!("{region}{}{serial:06}", date.format("%Y%m%d"))
}

/// Checks the form of a case number: 12 digits of region, a real date, ≥ 6 digits.
pub fn check_case_number(field: &str, s: &str) -> Result<(), FieldError> {
    let ok = s.len() >= 26
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_digit())
        && NaiveDate::parse_from_str(&s[12..20], "%Y%m%d").is_ok();
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "case.number",
            "办件编号为 12 位区划代码、8 位日期和 6 位序号",
            "a case number is a 12-digit region code, a yyyyMMdd date and a 6-digit serial",
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Legal clocks
// ---------------------------------------------------------------------------------------

/// The due date of a limit from `start`, extended by suspensions. Working days count by
/// the calendar (《行政许可法》第八十二条); calendar days and months end on a working day
/// (STANDARDS §9: a limit ending on a holiday moves to the next working day).
pub fn due(cal: &Calendar, start: NaiveDate, limit: &TimeLimit, suspensions: &[Suspension]) -> Deadline {
    match limit.unit {
        TimeUnit::WorkingDays => cal.deadline(start, limit.value, suspensions),
        TimeUnit::NaturalDays | TimeUnit::Months => {
            let base = match limit.unit {
                TimeUnit::Months => start
                    .checked_add_months(Months::new(limit.value))
                    .unwrap_or(NaiveDate::MAX),
                _ => start + chrono::Days::new(limit.value as u64),
            };
            // Suspended days (any kind) are added on (《行政许可法》第四十五条).
            let suspended: Vec<NaiveDate> = suspensions
                .iter()
                .flat_map(|s| s.from.iter_days().take_while(move |d| *d <= s.to))
                .filter(|d| *d > start)
                .collect();
            let mut d = base + chrono::Days::new(suspended.len() as u64);
            let mut out = Deadline {
                date: d,
                start,
                working_days: 0,
                holidays: vec![],
                makeup_workdays: vec![],
                weekend_days: 0,
                suspended_days: suspended,
                provisional: !cal.is_published(start.year()),
            };
            while !cal.is_working_day(d) {
                match cal.day_kind(d) {
                    DayKind::Holiday(n) => out.holidays.push((d, n)),
                    _ => out.weekend_days += 1,
                }
                d = d.succ_opt().expect("date in range");
            }
            out.provisional |= !cal.is_published(d.year());
            out.date = d;
            out
        }
    }
}

named_enum!(
    /// Traffic light of a running clock: yellow when ≥ 80 % of the limit is used, red when
    /// overdue (issue 6).
    Light {
        Green = "green", "正常", "on time";
        Yellow = "yellow", "预警", "due soon";
        Red = "red", "超期", "overdue";
    }
);

/// Share of a limit used before the clock turns yellow, in percent [M].
pub const YELLOW_PERCENT: i64 = 80;

/// A clock's reading on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reading {
    pub due: NaiveDate,
    /// Working days counted so far (suspended days not counted).
    pub used: i64,
    pub limit: u32,
    pub remaining: i64,
    pub light: Light,
}

/// How far a working-day limit that started on `start` has run by `today`.
pub fn reading(cal: &Calendar, d: &Deadline, suspensions: &[Suspension], today: NaiveDate) -> Reading {
    reading_with(cal, d, suspensions, today, YELLOW_PERCENT)
}

/// `reading` with the province's yellow threshold (`CasePolicy::yellow_percent`).
pub fn reading_with(
    cal: &Calendar,
    d: &Deadline,
    suspensions: &[Suspension],
    today: NaiveDate,
    yellow_percent: i64,
) -> Reading {
    let used = d
        .start
        .iter_days()
        .skip(1)
        .take_while(|x| *x <= today)
        .filter(|x| cal.is_working_day(*x) && !suspensions.iter().any(|s| s.from <= *x && *x <= s.to))
        .count() as i64;
    let limit = d.working_days.max(1) as i64;
    let light = if today > d.date {
        Light::Red
    } else if used * 100 >= yellow_percent * limit {
        Light::Yellow
    } else {
        Light::Green
    };
    Reading {
        due: d.date,
        used,
        limit: d.working_days,
        remaining: d.working_days as i64 - used,
        light,
    }
}

/// The latest start date from which exactly `used` working days have been counted by
/// `today` (the days counted are those after the start up to and including today, as in
/// `reading`; 《行政许可法》第八十二条: limits count working days). On a weekend or holiday
/// the day itself counts nothing, so the start lies further back than on a working day.
pub fn start_with_used(cal: &Calendar, today: NaiveDate, used: u32) -> NaiveDate {
    let mut d = today;
    let mut counted = 0;
    while counted < used {
        if cal.is_working_day(d) {
            counted += 1;
        }
        d = d.pred_opt().expect("date in range");
    }
    d
}

/// The limit in working days a clock reading compares against (calendar-day limits are
/// read as the working days they span).
pub fn limit_working_days(cal: &Calendar, d: &Deadline) -> u32 {
    if d.working_days > 0 {
        d.working_days
    } else {
        cal.working_days_between(d.start, d.date).max(0) as u32
    }
}

// ---------------------------------------------------------------------------------------
// 智能预审: the pre-check of an application
// ---------------------------------------------------------------------------------------

/// How one material is provided in an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub kind: ProvisionKind,
    /// Content hashes of uploaded files (`files`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// The e-licence used instead (`licence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_id: Option<String>,
    /// Originals checked at the window (`paper`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originals_checked: Option<bool>,
}

/// The applicant's answers: situation, form, materials, and the chosen route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Situation question key → choice key.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// Data-element code → value.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub form: BTreeMap<String, Value>,
    /// Material key → how it is provided.
    #[serde(default)]
    pub materials: BTreeMap<String, Provision>,
    /// The applicant signs the item's commitment text (告知承诺) instead of proving.
    #[serde(default)]
    pub commitment: bool,
}

/// What the pre-check found besides problems: the materials that follow (容缺).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Prechecked {
    pub tolerated: BTreeSet<String>,
    pub promised: BTreeSet<String>,
}

/// 智能预审: required fields, values by their data elements (ID and USCC check digits,
/// dates, …), the situation answers, and the materials they call for. Every problem is
/// named by its field (`form.<element>`, `materials.<key>`, `answers.<question>`).
/// `tolerance_allowed` is false when the applicant has a serious credit default
/// (STANDARDS §3).
pub fn precheck(
    e: &Elements,
    dict: &dyn Fn(&str) -> Option<DataElement>,
    app: &Application,
    tolerance_allowed: bool,
) -> Result<Prechecked, DomainError> {
    let mut p = Problems::new();
    for f in &e.form {
        let field = format!("form.{}", f.element);
        let v = app.form.get(&f.element).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        match (v, dict(&f.element)) {
            (None, _) if f.required => p.push(FieldError::new(
                field,
                "required",
                format!("请填写「{}」", f.label.clone().unwrap_or_else(|| f.element.clone())),
                format!("'{}' is required", f.label.clone().unwrap_or_else(|| f.element.clone())),
            )),
            (Some(v), Some(de)) => p.check(check_value(&field, &de, v)),
            _ => {}
        }
    }
    for k in app.form.keys() {
        if !e.form.iter().any(|f| &f.element == k) {
            p.push(FieldError::new(
                format!("form.{k}"),
                "form.unknown_field",
                format!("本事项的申请表没有「{k}」"),
                format!("this item's form has no field '{k}'"),
            ));
        }
    }
    let sel = match select_materials(e, &app.answers) {
        Ok(s) => s,
        Err(err) => {
            p.0.extend(err.errors);
            return Err(DomainError::invalid(p.0));
        }
    };
    for q in &sel.unanswered {
        if !sel.depends.is_empty() {
            p.push(FieldError::new(
                format!("answers.{}", q.key),
                "required",
                format!("请回答「{}」", q.text),
                format!("answer '{}'", q.key),
            ));
        }
    }
    // 告知承诺 (国办发〔2020〕42号): with the commitment signed, proofs are not required.
    if app.commitment && e.commitment.is_none() {
        p.push(FieldError::new(
            "commitment",
            "case.no_commitment",
            "本事项不适用告知承诺制",
            "this item has no commitment route",
        ));
    }
    let mut out = Prechecked::default();
    for m in &sel.needed {
        let field = format!("materials.{}", m.key);
        let given = app.materials.get(&m.key);
        let promised = app.commitment && e.commitment.is_some() && m.kind == MaterialKind::Proof;
        match given.map(|g| g.kind) {
            Some(ProvisionKind::Tolerated) => {
                if m.necessity != Necessity::Tolerated {
                    p.push(FieldError::new(
                        &field,
                        "case.not_tolerable",
                        format!("「{}」不属于可容缺材料", m.name),
                        format!("'{}' cannot follow later", m.name),
                    ));
                } else if !tolerance_allowed {
                    // STANDARDS §3: not for serious credit defaults until 信用修复.
                    p.push(FieldError::new(
                        &field,
                        "case.credit_default",
                        "存在严重失信记录，不适用容缺受理",
                        "a serious credit default excludes acceptance with materials to follow",
                    ));
                } else {
                    out.tolerated.insert(m.key.clone());
                }
            }
            Some(ProvisionKind::Promised) => {
                if promised {
                    out.promised.insert(m.key.clone());
                } else {
                    p.push(FieldError::new(
                        &field,
                        "case.not_promisable",
                        format!("「{}」不能以承诺代替", m.name),
                        format!("'{}' cannot be replaced by a commitment", m.name),
                    ));
                }
            }
            Some(ProvisionKind::Files) if given.is_some_and(|g| g.files.is_empty()) => p.push(FieldError::new(
                &field,
                "required",
                format!("请上传「{}」", m.name),
                format!("upload '{}'", m.name),
            )),
            Some(ProvisionKind::Licence) if given.is_some_and(|g| g.licence_id.is_none()) => p.push(FieldError::new(
                &field,
                "required",
                format!("请选择用于「{}」的电子证照", m.name),
                format!("choose the licence for '{}'", m.name),
            )),
            Some(_) => {}
            None if promised => {
                out.promised.insert(m.key.clone());
            }
            None if m.necessity == Necessity::Optional => {}
            None => p.push(FieldError::new(
                &field,
                "required",
                if m.necessity == Necessity::Tolerated {
                    format!("请提交「{}」，或选择容缺后补", m.name)
                } else {
                    format!("请提交「{}」", m.name)
                },
                format!("'{}' is required", m.name),
            )),
        }
    }
    for k in app.materials.keys() {
        if !sel.needed.iter().chain(sel.depends.iter()).any(|m| &m.key == k) {
            p.push(FieldError::new(
                format!("materials.{k}"),
                "case.material_not_needed",
                format!("本情形不需要材料「{k}」"),
                format!("material '{k}' is not needed in this situation"),
            ));
        }
    }
    p.finish()?;
    Ok(out)
}

/// A complete, valid application for an item: the first answer to each situation
/// question, an example value for every form field (check digits included) and a file
/// for every material needed. For load generators, demos and tests: what a careful
/// applicant would send.
pub fn sample_application(e: &Elements, dict: &dyn Fn(&str) -> Option<DataElement>, file_sm3: &str) -> Application {
    let answers: BTreeMap<String, String> = e
        .questions
        .iter()
        .filter_map(|q| q.choices.first().map(|c| (q.key.clone(), c.key.clone())))
        .collect();
    let mut form = BTreeMap::new();
    for f in &e.form {
        let Some(d) = dict(&f.element) else { continue };
        let v = crate::catalog::example_value(&d);
        let value = match d.kind {
            crate::catalog::ElementKind::Integer => v.parse::<i64>().map(Value::from).unwrap_or(Value::String(v)),
            crate::catalog::ElementKind::Decimal | crate::catalog::ElementKind::Money => v
                .parse::<f64>()
                .ok()
                .and_then(|x| serde_json::Number::from_f64(x).map(Value::Number))
                .unwrap_or(Value::String(v)),
            crate::catalog::ElementKind::Boolean => Value::Bool(true),
            _ => Value::String(v),
        };
        form.insert(f.element.clone(), value);
    }
    let materials = select_materials(e, &answers)
        .map(|sel| {
            sel.needed
                .iter()
                .map(|m| {
                    (
                        m.key.clone(),
                        Provision {
                            kind: ProvisionKind::Files,
                            files: vec![file_sm3.to_string()],
                            licence_id: None,
                            originals_checked: None,
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Application {
        answers,
        form,
        materials,
        commitment: false,
    }
}

#[cfg(test)]
mod tests {
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
                            _ => panic!(
                                "{action} by {who:?} in {state:?} at step {step}: got {got:?}, table says {want:?}"
                            ),
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
}
