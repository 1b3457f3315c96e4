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
        Result = "result", "前序事项结果免提交", "provided by an earlier item's result";
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

named_enum!(
    /// Follow-up work on a case with a date: 告知承诺 checks after approval (国办发〔2020〕42号),
    /// the deadline of materials to follow (STANDARDS §3), and review of an overdue one.
    TaskKind {
        CommitmentCheck = "commitment_check", "告知承诺核查", "commitment check";
        ToleranceDue = "tolerance_due", "容缺材料补交期限", "materials to follow due";
        TerminateReview = "terminate_review", "容缺逾期：审查是否终止", "materials overdue: consider termination";
    }
);

impl NoticeKind {
    /// The kind's part of a document number's issuer code (发文机关代字, GB/T 9704-2012
    /// 7.2.4), after the department's name.
    pub fn doc_code(self) -> &'static str {
        match self {
            NoticeKind::Receipt => "收",
            NoticeKind::Acceptance => "受",
            NoticeKind::NonAcceptance => "不受",
            NoticeKind::Correction => "补",
            NoticeKind::Tolerance => "容受",
            NoticeKind::Special => "特",
            NoticeKind::Approval => "准许",
            NoticeKind::Denial => "不许",
        }
    }
}

/// A document number (发文字号, GB/T 9704-2012 7.2.4): issuer code, the year in 〔〕 and the
/// running number without leading zeros or 第.
pub fn doc_number(department: &str, kind: NoticeKind, year: i32, n: i64) -> String {
    format!("{department}{}〔{year}〕{n}号", kind.doc_code())
}

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
    /// The question staff confirm before an action that cannot be taken back (a decision
    /// or an end of the case: 不予受理, 准予/不予许可, 终止, 作废), in
    /// Chinese and English; None for every other action.
    pub fn confirmation(&self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Action::Refuse { .. } => (
                "确认不予受理？将出具不予受理决定书。",
                "Refuse to accept? A decision not to accept is issued.",
            ),
            Action::Decide { approve: true, .. } => (
                "确认准予许可？将出具准予决定书并签发证照。",
                "Grant? The decision is issued and the licence signed.",
            ),
            Action::Decide { approve: false, .. } => (
                "确认不予许可？将出具不予许可决定书。",
                "Refuse? The decision to refuse is issued.",
            ),
            Action::Terminate { .. } => ("确认终止办理？办件将结束。", "Terminate? The case ends."),
            Action::Void { .. } => ("确认作废本办件记录？", "Void this case record?"),
            Action::Withdraw { .. } => (
                "确认撤回申请？撤回后本次申请终止，如需办理须重新申请。",
                "Withdraw? This application ends; to go on, you apply again.",
            ),
            _ => return None,
        })
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

mod workflow;
pub use workflow::*;
mod numbers;
pub use numbers::*;
mod clocks;
pub use clocks::*;
mod precheck;
pub use precheck::*;
#[cfg(test)]
mod tests;
