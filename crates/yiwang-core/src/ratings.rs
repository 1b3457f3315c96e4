//! 好差评: ratings of the service a person received (国办发〔2019〕51号 《关于建立政务服务
//! “好差评”制度提高政务服务水平的意见》; GB/T 39734-2020 《政务服务评价工作指南》). The five
//! levels, the dimensions each channel asks, the centrally managed option sets, who may rate
//! a case and when, the default rating of a case left unrated, the loop that follows a bad
//! rating (回访, 整改, 申诉复核: 谁办理谁负责) and the figures of the published board.

use crate::Named;
use crate::cases::State as CaseState;
use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

named_enum!(
    /// How the rating was given (STANDARDS §7 channels).
    Channel {
        Online = "online", "一事一评（网上）", "online, per case";
        OnSite = "on_site", "一次一评（现场）", "on site, per visit";
    }
);

named_enum!(
    /// The moment of a case a rating is about. 办结 always; 受理 too where the province rates
    /// several times per case (一事多评, `[ratings] multi_stage`).
    Stage {
        Acceptance = "acceptance", "受理时", "at acceptance";
        Conclusion = "conclusion", "办结时", "at conclusion";
    }
);

/// The five levels (GB/T 39734-2020 评价等级), best first.
pub const LEVELS: [(u8, &str, &str); 5] = [
    (5, "非常满意", "very satisfied"),
    (4, "满意", "satisfied"),
    (3, "基本满意", "fairly satisfied"),
    (2, "不满意", "dissatisfied"),
    (1, "非常不满意", "very dissatisfied"),
];

/// The level given when a case is not rated in time (STANDARDS §7: 基本满意).
pub const DEFAULT_LEVEL: u8 = 3;

/// The province's rating settings [M] (`[ratings]` in yiwang.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RatingPolicy {
    /// 一事多评: rate at acceptance as well as at conclusion.
    pub multi_stage: bool,
    /// Natural days after a case ends before it is rated 基本满意 by default (广东: 7).
    pub default_after_days: u32,
    /// Working days within which a bad rating is called back (回访).
    pub call_back_days: u32,
    /// Minutes a counter-tablet rating (一次一评) stays open after the clerk starts it.
    pub pad_minutes: u32,
}

impl Default for RatingPolicy {
    fn default() -> Self {
        RatingPolicy {
            multi_stage: false,
            default_after_days: 7,
            call_back_days: 3,
            pad_minutes: 5,
        }
    }
}

impl RatingPolicy {
    /// Checks the settings (a bad configuration is refused at start, field by field).
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        let mut range = |field: &str, v: u32, lo: u32, hi: u32| {
            if !(lo..=hi).contains(&v) {
                p.push(FieldError::new(
                    format!("ratings.{field}"),
                    "range",
                    format!("须在 {lo} 到 {hi} 之间"),
                    format!("must be between {lo} and {hi}"),
                ));
            }
        };
        range("default_after_days", self.default_after_days, 1, 90);
        range("call_back_days", self.call_back_days, 1, 30);
        range("pad_minutes", self.pad_minutes, 1, 60);
        p.finish()
    }
}

/// A level's names (zh, en); an unknown level has none.
pub fn level_name(level: u8) -> Option<(&'static str, &'static str)> {
    LEVELS.iter().find(|(l, ..)| *l == level).map(|(_, zh, en)| (*zh, *en))
}

/// 国办发〔2019〕51号: 不满意 and 非常不满意 are 差评, followed up by the unit that served.
pub fn is_bad(level: u8) -> bool {
    (1..=2).contains(&level)
}

/// 好评 for the board's 好评率: 满意 and 非常满意.
pub fn is_good(level: u8) -> bool {
    level >= 4
}

/// A dimension a channel asks about besides the overall level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Dimension {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

const ONLINE: &[Dimension] = &[
    Dimension {
        key: "overall",
        zh: "整体满意度",
        en: "overall",
    },
    Dimension {
        key: "efficiency",
        zh: "办事效率",
        en: "efficiency",
    },
    Dimension {
        key: "guide",
        zh: "办事指南精确度",
        en: "accuracy of the guide",
    },
    Dimension {
        key: "convenience",
        zh: "办事便捷度",
        en: "convenience",
    },
    Dimension {
        key: "usability",
        zh: "平台操作性",
        en: "ease of the platform",
    },
];

const ON_SITE: &[Dimension] = &[
    Dimension {
        key: "overall",
        zh: "整体满意度",
        en: "overall",
    },
    Dimension {
        key: "efficiency",
        zh: "服务效率",
        en: "efficiency",
    },
    Dimension {
        key: "service",
        zh: "服务水平",
        en: "quality of service",
    },
    Dimension {
        key: "attitude",
        zh: "服务态度",
        en: "attitude",
    },
];

/// The dimensions of a channel (STANDARDS §7: online five, on site four).
pub fn dimensions(channel: Channel) -> &'static [Dimension] {
    match channel {
        Channel::Online => ONLINE,
        Channel::OnSite => ON_SITE,
    }
}

/// An option a rater may tick, offered with the levels it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RatingOption {
    pub key: String,
    pub zh: String,
    pub en: String,
    /// The levels (1–5) that offer it.
    pub levels: Vec<u8>,
}

/// The option set shipped as version 1 (GB/T 39734-2020 评价内容: what went well, what did
/// not); a province replaces it with versions of its own.
pub fn default_options() -> Vec<RatingOption> {
    let o = |key: &str, zh: &str, en: &str, levels: &[u8]| RatingOption {
        key: key.into(),
        zh: zh.into(),
        en: en.into(),
        levels: levels.to_vec(),
    };
    vec![
        o("once", "一次办成，不用跑腿", "done at once, no extra trips", &[4, 5]),
        o("fast", "办理时间短", "quick", &[4, 5]),
        o("clear_guide", "办事指南清楚准确", "clear and accurate guide", &[4, 5]),
        o("friendly", "服务热情周到", "friendly service", &[4, 5]),
        o("easy", "操作简便", "easy to use", &[4, 5]),
        o("acceptable", "基本按承诺办理", "mostly as promised", &[3]),
        o("could_be_faster", "办理速度有待提高", "could be faster", &[3]),
        o(
            "unclear_guide",
            "办事指南不清楚、不准确",
            "unclear or wrong guide",
            &[1, 2, 3],
        ),
        o("repeat_materials", "重复提交材料", "materials asked again", &[1, 2]),
        o("many_trips", "多次跑动", "several trips", &[1, 2]),
        o("overdue", "超过承诺时限", "later than promised", &[1, 2]),
        o("attitude", "服务态度差", "poor attitude", &[1, 2]),
        o("hard_to_use", "系统操作不便", "hard to use", &[1, 2]),
        o(
            "not_as_promised",
            "未按承诺或规定办理",
            "not as promised or as the rules say",
            &[1, 2],
        ),
    ]
}

/// A new version of the option set: keys unique and well-formed, names given, every level
/// offers at least one option.
pub fn check_options(options: &[RatingOption]) -> Result<(), DomainError> {
    let mut p = Problems::new();
    let mut seen = BTreeSet::new();
    for (i, o) in options.iter().enumerate() {
        let f = |x: &str| format!("options[{i}].{x}");
        if o.key.is_empty()
            || o.key.len() > 40
            || !o
                .key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            p.push(FieldError::new(
                f("key"),
                "rating.option_key",
                "选项代码须为 1–40 个小写字母、数字或下划线",
                "an option key is 1–40 lower-case letters, digits or underscores",
            ));
        } else if !seen.insert(o.key.as_str()) {
            p.push(FieldError::new(
                f("key"),
                "rating.option_duplicate",
                "选项代码重复",
                "the key is used twice",
            ));
        }
        p.text(&f("zh"), &o.zh, 60);
        p.text(&f("en"), &o.en, 120);
        if o.levels.is_empty() || o.levels.iter().any(|l| level_name(*l).is_none()) {
            p.push(FieldError::new(
                f("levels"),
                "rating.level",
                "适用等级须为 1–5 中的一个或多个",
                "levels are one or more of 1–5",
            ));
        }
    }
    for (l, zh, en) in LEVELS {
        if !options.iter().any(|o| o.levels.contains(&l)) {
            p.push(FieldError::new(
                "options",
                "rating.level_without_options",
                format!("「{zh}」没有可选的选项"),
                format!("no option offered for '{en}'"),
            ));
        }
    }
    p.finish()
}

/// What a rater gives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 非常不满意 … 5 非常满意.
    pub level: u8,
    /// Dimension key → level 1–5 (the channel's dimensions; each optional).
    #[serde(default)]
    pub dimensions: BTreeMap<String, u8>,
    /// Keys of options of the current set that belong to the level.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// The longest free text of a rating.
pub const TEXT_MAX: usize = 500;

/// Checks a rating against its channel's dimensions and the option set in force; every
/// problem at once.
pub fn check_rating(channel: Channel, r: &RatingInput, options: &[RatingOption]) -> Result<(), DomainError> {
    let mut p = Problems::new();
    let level_rule = |field: String| FieldError::new(field, "rating.level", "评价等级须为 1–5", "a level is 1 to 5");
    if level_name(r.level).is_none() {
        p.push(level_rule("level".into()));
    }
    let dims = dimensions(channel);
    for (k, v) in &r.dimensions {
        if !dims.iter().any(|d| d.key == k) {
            p.push(FieldError::new(
                format!("dimensions.{k}"),
                "rating.dimension_unknown",
                format!("{}评价没有这一维度", channel.zh()),
                format!("no such dimension for {} ratings", channel.en()),
            ));
        } else if level_name(*v).is_none() {
            p.push(level_rule(format!("dimensions.{k}")));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, k) in r.options.iter().enumerate() {
        match options.iter().find(|o| &o.key == k) {
            None => p.push(FieldError::new(
                format!("options[{i}]"),
                "rating.option_unknown",
                format!("没有选项「{k}」"),
                format!("no option '{k}'"),
            )),
            Some(o) if level_name(r.level).is_some() && !o.levels.contains(&r.level) => p.push(FieldError::new(
                format!("options[{i}]"),
                "rating.option_level",
                format!("选项「{}」不适用于所选等级", o.zh),
                format!("option '{}' is not offered for this level", o.en),
            )),
            Some(_) if !seen.insert(k) => p.push(FieldError::new(
                format!("options[{i}]"),
                "rating.option_duplicate",
                "选项重复",
                "option given twice",
            )),
            Some(_) => {}
        }
    }
    p.opt_text("text", r.text.as_deref(), TEXT_MAX);
    // 国办发〔2019〕51号: a bad rating is followed up (回访核实), so it says what went wrong.
    let has_text = r.text.as_deref().is_some_and(|t| !t.trim().is_empty());
    if is_bad(r.level) && r.options.is_empty() && !has_text {
        p.push(FieldError::new(
            "options",
            "rating.reason_required",
            "差评请至少选择一项原因或填写说明",
            "a bad rating names at least one reason or says what went wrong",
        ));
    }
    p.finish()
}

fn conflict(field: &str, rule: &str, zh: &str, en: &str) -> DomainError {
    DomainError::one(ErrorKind::Conflict, FieldError::new(field, rule, zh, en))
}

/// May a case be rated online now, at this stage? (国办发〔2019〕51号: 一事一评 after the
/// service; 受理 only where the province rates several times per case.) `rated` lists the
/// (channel, stage) already rated for the case: one rating of each.
pub fn may_rate(
    channel: Channel,
    stage: Stage,
    state: CaseState,
    accepted_on: Option<NaiveDate>,
    multi_stage: bool,
    rated: &[(Channel, Stage)],
) -> Result<(), DomainError> {
    match (channel, stage) {
        (_, Stage::Conclusion) => {
            if !matches!(
                state,
                CaseState::Concluded | CaseState::NotAccepted | CaseState::Terminated
            ) {
                return Err(conflict(
                    "stage",
                    "rating.not_yet",
                    "办件办结后方可评价",
                    "a case is rated once it has ended",
                ));
            }
        }
        // 一次一评: a visit to the window while the case is open rates that visit.
        (Channel::OnSite, Stage::Acceptance) => {
            if state.is_final() {
                return Err(conflict(
                    "stage",
                    "rating.not_yet",
                    "已办结的办件按办结环节评价",
                    "a case that has ended is rated at its conclusion",
                ));
            }
        }
        (Channel::Online, Stage::Acceptance) => {
            if !multi_stage {
                return Err(conflict(
                    "stage",
                    "rating.stage_not_offered",
                    "本地区只在办结后评价",
                    "this province rates only at conclusion",
                ));
            }
            if accepted_on.is_none() && state != CaseState::NotAccepted {
                return Err(conflict(
                    "stage",
                    "rating.not_yet",
                    "办件受理后方可评价受理环节",
                    "acceptance is rated once the case has been accepted or refused",
                ));
            }
        }
    }
    if matches!(state, CaseState::Withdrawn | CaseState::Voided | CaseState::Draft) {
        return Err(conflict(
            "case_id",
            "rating.not_rateable",
            "已撤回或作废的办件不能评价",
            "a withdrawn or voided case is not rated",
        ));
    }
    if rated.contains(&(channel, stage)) {
        return Err(conflict(
            "stage",
            "rating.already_rated",
            "该办件的这一环节已评价，不能重复评价",
            "this case was already rated at this stage",
        ));
    }
    Ok(())
}

/// The stage a rating at the window is about: the conclusion once the case has ended, else
/// the visit during its handling (counted as its acceptance stage).
pub fn on_site_stage(state: CaseState) -> Stage {
    if state.is_final() {
        Stage::Conclusion
    } else {
        Stage::Acceptance
    }
}

/// The day an unrated case is given the default level: `days` natural days after it ended
/// (STANDARDS §7: 7 days, 广东 rule; `[ratings] default_after_days`).
pub fn default_on(ended_on: NaiveDate, days: u32) -> NaiveDate {
    ended_on + chrono::Days::new(u64::from(days))
}

// ---------------------------------------------------------------------------------------
// The bad-rating loop (差评整改)
// ---------------------------------------------------------------------------------------

named_enum!(
    /// Where the follow-up of a bad rating stands.
    TaskState {
        CallingBack = "calling_back", "待回访", "to be called back";
        Resolving = "resolving", "待整改", "called back, to be resolved";
        Fixing = "fixing", "限期整改中", "being fixed by a deadline";
        Appealed = "appealed", "申诉复核中", "under appeal";
        Closed = "closed", "已办结", "closed";
    }
);

named_enum!(
    /// How a bad rating was resolved.
    Outcome {
        Immediate = "immediate", "立行立改", "fixed at once";
        Deadline = "deadline", "限期整改", "to be fixed by a deadline";
        Explained = "explained", "解释说明", "explained (no legal basis to change)";
    }
);

named_enum!(
    /// Who acts on a follow-up task.
    TaskParty {
        Department = "department", "办理单位", "the handling unit";
        Rater = "rater", "评价人", "the rater";
        Supervisor = "supervisor", "监督部门", "the supervisor";
    }
);

/// What is done on a follow-up task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskAction {
    /// 回访: the named officer reached (or tried to reach) the rater and verified.
    CallBack { reached: bool, note: String },
    /// The outcome after the call-back; `due_on` for 限期整改.
    Resolve {
        outcome: Outcome,
        note: String,
        #[serde(default)]
        due_on: Option<NaiveDate>,
    },
    /// A fix with a deadline is done.
    Fixed { note: String },
    /// The rater says whether the outcome satisfies them.
    Feedback { satisfied: bool },
    /// 申诉复核: the unit says the rating is mistaken or malicious.
    Appeal { reason: String },
    /// The supervisor decides an appeal: upheld removes the rating from the statistics.
    DecideAppeal { upheld: bool, reason: String },
}

impl TaskAction {
    pub fn name(&self) -> &'static str {
        match self {
            TaskAction::CallBack { .. } => "call_back",
            TaskAction::Resolve { .. } => "resolve",
            TaskAction::Fixed { .. } => "fixed",
            TaskAction::Feedback { .. } => "feedback",
            TaskAction::Appeal { .. } => "appeal",
            TaskAction::DecideAppeal { .. } => "decide_appeal",
        }
    }
}

/// A follow-up task as the rules see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub state: TaskState,
    /// Where an appeal returns to when it is rejected.
    pub before_appeal: Option<TaskState>,
    pub called_back_on: Option<NaiveDate>,
    pub reached: Option<bool>,
    pub outcome: Option<Outcome>,
    pub fix_due_on: Option<NaiveDate>,
    pub satisfied: Option<bool>,
    pub appealed: bool,
    /// An upheld appeal: the rating is kept but not counted.
    pub excluded: bool,
}

impl Task {
    /// A new task for a bad rating (谁办理谁负责: the department that handled the case).
    pub fn open() -> Task {
        Task {
            state: TaskState::CallingBack,
            before_appeal: None,
            called_back_on: None,
            reached: None,
            outcome: None,
            fix_due_on: None,
            satisfied: None,
            appealed: false,
            excluded: false,
        }
    }
}

fn refuse(rule: &str, zh: &str, en: &str) -> DomainError {
    conflict("action", rule, zh, en)
}

/// The task after an action, or why it is not allowed (party, state, inputs).
pub fn task_apply(t: &Task, party: TaskParty, a: &TaskAction, today: NaiveDate) -> Result<Task, DomainError> {
    let want = match a {
        TaskAction::Feedback { .. } => TaskParty::Rater,
        TaskAction::DecideAppeal { .. } => TaskParty::Supervisor,
        _ => TaskParty::Department,
    };
    if party != want {
        return Err(DomainError::one(
            ErrorKind::Forbidden,
            FieldError::new(
                "action",
                "rating_task.party",
                format!("此操作由{}进行", want.zh()),
                format!("this is done by {}", want.en()),
            ),
        ));
    }
    let mut p = Problems::new();
    let mut n = t.clone();
    match a {
        TaskAction::CallBack { reached, note } => {
            if !matches!(t.state, TaskState::CallingBack | TaskState::Resolving) {
                return Err(refuse(
                    "rating_task.state",
                    "当前不能登记回访",
                    "no call-back can be recorded now",
                ));
            }
            p.text("note", note, 500);
            n.called_back_on = Some(today);
            n.reached = Some(*reached);
            n.state = TaskState::Resolving;
        }
        TaskAction::Resolve { outcome, note, due_on } => {
            if t.state != TaskState::Resolving {
                return Err(refuse(
                    "rating_task.call_back_first",
                    "请先回访核实，再登记整改结果",
                    "call the rater back and verify before resolving",
                ));
            }
            p.text("note", note, 1000);
            match (outcome, due_on) {
                (Outcome::Deadline, None) => p.push(FieldError::new(
                    "due_on",
                    "required",
                    "限期整改须写明整改期限",
                    "a fix with a deadline needs the deadline",
                )),
                (Outcome::Deadline, Some(d)) if *d <= today => p.push(FieldError::new(
                    "due_on",
                    "rating_task.due_in_past",
                    "整改期限须晚于今天",
                    "the deadline must be after today",
                )),
                (Outcome::Deadline, Some(_)) => {}
                (_, Some(_)) => p.push(FieldError::new(
                    "due_on",
                    "rating_task.due_not_needed",
                    "只有限期整改需要期限",
                    "only a fix with a deadline takes a deadline",
                )),
                (_, None) => {}
            }
            n.outcome = Some(*outcome);
            n.fix_due_on = *due_on;
            n.state = if *outcome == Outcome::Deadline {
                TaskState::Fixing
            } else {
                TaskState::Closed
            };
        }
        TaskAction::Fixed { note } => {
            if t.state != TaskState::Fixing {
                return Err(refuse(
                    "rating_task.state",
                    "没有进行中的限期整改",
                    "no fix is in progress",
                ));
            }
            p.text("note", note, 1000);
            n.state = TaskState::Closed;
        }
        TaskAction::Feedback { .. } if t.state != TaskState::Closed || t.excluded => {
            return Err(refuse(
                "rating_task.state",
                "整改办结后方可反馈",
                "feedback follows the outcome",
            ));
        }
        TaskAction::Feedback { .. } if t.satisfied.is_some() => {
            return Err(refuse(
                "rating_task.feedback_given",
                "已反馈过",
                "feedback was already given",
            ));
        }
        TaskAction::Feedback { satisfied } => n.satisfied = Some(*satisfied),
        TaskAction::Appeal { reason } => {
            if t.appealed {
                return Err(refuse(
                    "rating_task.appealed",
                    "每条评价只能申诉一次",
                    "a rating is appealed once",
                ));
            }
            if t.state == TaskState::Closed {
                return Err(refuse(
                    "rating_task.state",
                    "已办结的整改不能申诉",
                    "a closed follow-up is not appealed",
                ));
            }
            p.text("reason", reason, 1000);
            n.appealed = true;
            n.before_appeal = Some(t.state);
            n.state = TaskState::Appealed;
        }
        TaskAction::DecideAppeal { upheld, reason } => {
            if t.state != TaskState::Appealed {
                return Err(refuse("rating_task.state", "没有待复核的申诉", "no appeal is pending"));
            }
            p.text("reason", reason, 1000);
            if *upheld {
                // Removed from the statistics, never deleted.
                n.excluded = true;
                n.state = TaskState::Closed;
            } else {
                n.state = t.before_appeal.unwrap_or(TaskState::CallingBack);
            }
            n.before_appeal = None;
        }
    }
    p.finish()?;
    Ok(n)
}

named_enum!(
    /// A warning on a follow-up task.
    Warning {
        CallBackOverdue = "call_back_overdue", "回访逾期", "call-back overdue";
        FixOverdue = "fix_overdue", "整改逾期", "fix overdue";
    }
);

/// The warnings a task raises today: no call-back by `call_back_due` (N working days after
/// the rating, `[ratings] call_back_days`), a fix past its deadline.
pub fn warnings(t: &Task, call_back_due: NaiveDate, today: NaiveDate) -> Vec<Warning> {
    let mut w = vec![];
    if t.state == TaskState::CallingBack && today > call_back_due {
        w.push(Warning::CallBackOverdue);
    }
    if t.state == TaskState::Fixing && t.fix_due_on.is_some_and(|d| today > d) {
        w.push(Warning::FixOverdue);
    }
    w
}

// ---------------------------------------------------------------------------------------
// The board
// ---------------------------------------------------------------------------------------

/// What the board counts for one row (a region, department, item, hall or clerk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Counts {
    /// Ratings by level, index 0 = level 1 (appeals upheld left out).
    pub by_level: [u64; 5],
    /// Of those, given by default (not rated in time).
    pub defaulted: u64,
    /// Real-name bad ratings, and of them: called back, closed (整改办结).
    pub bad: u64,
    pub called_back: u64,
    pub closed: u64,
}

impl Counts {
    /// Adds another row's counts (a region's or department's total).
    pub fn add(&mut self, o: &Counts) {
        for (a, b) in self.by_level.iter_mut().zip(o.by_level) {
            *a += b;
        }
        self.defaulted += o.defaulted;
        self.bad += o.bad;
        self.called_back += o.called_back;
        self.closed += o.closed;
    }
}

/// The board's figures (国办发〔2019〕51号: 好评率, 差评整改率; 100 % call-back of real-name
/// bad ratings), as fractions 0–1; None where nothing is counted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub total: u64,
    pub good_rate: Option<f64>,
    pub bad_rate: Option<f64>,
    pub call_back_rate: Option<f64>,
    pub rectification_rate: Option<f64>,
}

pub fn figures(c: &Counts) -> Figures {
    let total: u64 = c.by_level.iter().sum();
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    Figures {
        total,
        good_rate: ratio(c.by_level[3] + c.by_level[4], total),
        bad_rate: ratio(c.by_level[0] + c.by_level[1], total),
        call_back_rate: ratio(c.called_back, c.bad),
        rectification_rate: ratio(c.closed, c.bad),
    }
}

#[cfg(test)]
mod tests;
