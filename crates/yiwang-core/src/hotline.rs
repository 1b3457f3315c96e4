//! 12345 接诉即办 (国办发〔2020〕53号 《关于进一步优化地方政务服务便民热线的指导意见》,
//! 国办函〔2025〕66号, GB/T 33358-2016 《政府热线服务规范》; STANDARDS §8): the request as
//! received, what is not a ticket (emergencies and matters of other legal channels, directed
//! elsewhere and recorded), the loop of a ticket — 受理 → 派单 → 办理 → 回复 → 回访 → 办结, with
//! 退单 / 改派 and 重办 — as a state machine over every state × party × action, the time limits
//! per category and priority, the dispatch catalogue (派单目录) and its grassroots rule.

use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use serde::{Deserialize, Serialize};

named_enum!(
    /// What the person asks for (STANDARDS §8).
    Category {
        Consult = "consult", "咨询", "enquiry";
        Help = "help", "求助", "request for help";
        Complaint = "complaint", "投诉", "complaint";
        Report = "report", "举报", "report of wrongdoing";
        Suggestion = "suggestion", "意见建议", "suggestion";
    }
);

named_enum!(
    /// How the request came in (GB/T 33358-2016: phone, web, mobile, mailbox).
    Channel {
        Phone = "phone", "电话", "phone call";
        Web = "web", "网站", "web form";
        Mobile = "mobile", "移动端", "mobile app";
        Mailbox = "mailbox", "信箱", "mailbox";
    }
);

named_enum!(
    /// How fast it must be handled.
    Priority {
        Normal = "normal", "一般", "normal";
        Urgent = "urgent", "紧急", "urgent";
    }
);

named_enum!(
    /// Where a request that is not for 12345 is directed (国办发〔2020〕53号: emergencies stay
    /// with 110/119/120/122; matters with a legal channel of their own go there).
    Redirect {
        Police = "police", "110 报警", "110 police";
        Fire = "fire", "119 火警", "119 fire";
        Ambulance = "ambulance", "120 急救", "120 ambulance";
        Traffic = "traffic", "122 交通事故", "122 traffic accidents";
        Litigation = "litigation", "诉讼（人民法院）", "litigation (the courts)";
        Arbitration = "arbitration", "仲裁", "arbitration";
        Petition = "petition", "信访", "letters and visits (xinfang)";
        Review = "review", "行政复议", "administrative review";
        Disclosure = "disclosure", "政府信息公开申请", "government information disclosure";
    }
);

named_enum!(
    /// Where a ticket stands.
    State {
        Received = "received", "已受理，待派单", "received, to be dispatched";
        Dispatched = "dispatched", "已派单，办理中", "dispatched, being handled";
        Disputed = "disputed", "退单待改派", "sent back, to be reassigned";
        Replied = "replied", "已回复，待回访", "answered, to be called back";
        Closed = "closed", "已办结", "closed";
        Redirected = "redirected", "已告知其他渠道", "directed to another channel";
        Merged = "merged", "已并单", "merged into another ticket";
    }
);

named_enum!(
    /// Who acts on a ticket: the 12345 centre (agents, dispatchers) or the unit it was sent to.
    Party {
        Centre = "centre", "12345 中心", "the 12345 centre";
        Unit = "unit", "承办单位", "the handling unit";
        Assisting = "assisting", "协办单位", "an assisting unit";
    }
);

named_enum!(
    /// How the person judged the answer at the call-back (分档分类评价).
    Satisfaction {
        Satisfied = "satisfied", "满意", "satisfied";
        Basic = "basic", "基本满意", "fairly satisfied";
        Unsatisfied = "unsatisfied", "不满意", "unsatisfied";
    }
);

/// A request as the agent or the web form takes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    /// consult, help, complaint, report, suggestion.
    pub category: String,
    /// normal (default) or urgent.
    #[serde(default)]
    pub priority: Option<String>,
    /// The region the matter is in (a code within the centre's region).
    pub region_code: String,
    /// Where exactly (street, place).
    #[serde(default)]
    pub address: Option<String>,
    /// What the person says.
    pub content: String,
    pub caller_name: String,
    /// The number to call back (a mobile or a landline).
    pub caller_phone: String,
    /// The person asks that units do not see who they are (保密).
    #[serde(default)]
    pub confidential: bool,
    /// Not for 12345: where the person was directed instead (recorded, closed at once).
    #[serde(default)]
    pub redirect: Option<String>,
    /// A key the client chooses so that a retry never makes a second ticket.
    #[serde(default)]
    pub request_id: Option<String>,
    /// How it came in, for agents: phone (their default), web, mobile, mailbox. The public
    /// form is always web.
    #[serde(default)]
    pub channel: Option<String>,
}

/// The longest matter a ticket holds (a long call summarised; a web form's text).
pub const CONTENT_MAX: usize = 2_000;

/// A request checked: the typed values, or every problem with its field.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedInput {
    pub category: Category,
    pub priority: Priority,
    pub redirect: Option<Redirect>,
    pub channel: Option<Channel>,
}

/// Checks a request: known category, priority and redirect, a region within the centre's
/// (`centre_region` contains it: `region_within`), a matter of 1–2,000 characters, a name,
/// a phone number (digits, 7–15 of them, with `-` or a leading `+` allowed).
pub fn check_input(
    i: &TicketInput,
    region_within_centre: bool,
    region_known: bool,
) -> Result<CheckedInput, DomainError> {
    let mut p = Problems::new();
    let category = Category::parse(&i.category);
    if category.is_none() {
        p.push(FieldError::new(
            "category",
            "hotline.category",
            "诉求类型应为咨询、求助、投诉、举报或意见建议",
            "category is consult, help, complaint, report or suggestion",
        ));
    }
    let priority = match i.priority.as_deref().filter(|x| !x.is_empty()) {
        None => Some(Priority::Normal),
        Some(x) => Priority::parse(x),
    };
    if priority.is_none() {
        p.push(FieldError::new(
            "priority",
            "hotline.priority",
            "紧急程度应为 normal 或 urgent",
            "priority is normal or urgent",
        ));
    }
    let redirect = i.redirect.as_deref().filter(|x| !x.is_empty()).map(Redirect::parse);
    if redirect == Some(None) {
        p.push(FieldError::new(
            "redirect",
            "hotline.redirect",
            "未知的转引渠道",
            "unknown channel to direct to",
        ));
    }
    let channel = i.channel.as_deref().filter(|x| !x.is_empty()).map(Channel::parse);
    if channel == Some(None) {
        p.push(FieldError::new(
            "channel",
            "hotline.channel",
            "渠道应为 phone、web、mobile 或 mailbox",
            "channel is phone, web, mobile or mailbox",
        ));
    }
    if !region_known {
        p.push(FieldError::new(
            "region_code",
            "region.unknown",
            "行政区划不存在",
            "no such region",
        ));
    } else if !region_within_centre {
        p.push(FieldError::new(
            "region_code",
            "hotline.region_outside",
            "该地区不属于本热线的受理范围",
            "the region is outside this hotline's area",
        ));
    }
    p.text("content", &i.content, CONTENT_MAX);
    p.text("caller_name", &i.caller_name, 50);
    p.opt_text("address", i.address.as_deref(), 200);
    let digits = i.caller_phone.chars().filter(char::is_ascii_digit).count();
    let shape = i
        .caller_phone
        .chars()
        .enumerate()
        .all(|(k, c)| c.is_ascii_digit() || c == '-' || c == ' ' || (c == '+' && k == 0));
    if !(7..=15).contains(&digits) || !shape {
        p.push(FieldError::new(
            "caller_phone",
            "hotline.phone",
            "请填写可回访的电话号码（7–15 位数字）",
            "give a phone number to call back (7–15 digits)",
        ));
    }
    if let Some(r) = &i.request_id
        && (r.is_empty() || r.len() > 64 || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    {
        p.push(FieldError::new(
            "request_id",
            "hotline.request_id",
            "请求标识为 1–64 位字母、数字、- 或 _",
            "request_id is 1–64 letters, digits, - or _",
        ));
    }
    p.finish()?;
    Ok(CheckedInput {
        category: category.expect("checked"),
        priority: priority.expect("checked"),
        redirect: redirect.flatten(),
        channel: channel.flatten(),
    })
}

/// Normalises a phone number for lookups (digits only, a leading 86 of a mobile dropped).
pub fn phone_key(phone: &str) -> String {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    match d.strip_prefix("86") {
        Some(rest) if rest.len() == 11 && rest.starts_with('1') => rest.to_string(),
        _ => d,
    }
}

/// The province's 12345 settings [M] (`[hotline]` in yiwang.toml): handling limits per
/// category in working days (STANDARDS §8: typically 5–15), hours for urgent tickets
/// (urgent utilities: 24 h), working days a unit has to send back a ticket not its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HotlinePolicy {
    pub consult_days: u32,
    pub help_days: u32,
    pub complaint_days: u32,
    pub report_days: u32,
    pub suggestion_days: u32,
    pub urgent_hours: u32,
    pub dispute_days: u32,
    /// The most working days one extension (延期) may add.
    pub extension_max_days: u32,
    /// Working days past the deadline before a 督办 goes up to the unit's superior.
    pub escalate_days: u32,
    /// Working days a unit has to add to the knowledge base what a consultation it
    /// answered showed missing (实时更新).
    pub kb_update_days: u32,
    /// How alike (per cent, of the matter's words, an address in common adding 30) an open
    /// ticket must be to be offered for merging (重复诉求并单).
    pub duplicate_min_percent: u32,
    /// GB/T 33358-2016 service levels (STANDARDS §8): seconds to answer a call, the share of
    /// calls answered (per cent), minutes for web and mobile requests, hours for the mailbox.
    pub answer_within_s: u32,
    pub answered_percent: u32,
    pub media_within_min: u32,
    pub mailbox_within_hours: u32,
    /// A spike (未诉先办): today's tickets of a category in a region at least this many and
    /// `spike_factor` times the daily mean of the week before.
    pub spike_min: u32,
    pub spike_factor: u32,
}

impl Default for HotlinePolicy {
    fn default() -> Self {
        HotlinePolicy {
            consult_days: 5,
            help_days: 5,
            complaint_days: 10,
            report_days: 15,
            suggestion_days: 15,
            urgent_hours: 24,
            dispute_days: 1,
            extension_max_days: 10,
            escalate_days: 2,
            kb_update_days: 5,
            duplicate_min_percent: 45,
            answer_within_s: 15,
            answered_percent: 95,
            media_within_min: 3,
            mailbox_within_hours: 24,
            spike_min: 5,
            spike_factor: 3,
        }
    }
}

impl HotlinePolicy {
    /// Working days to handle a ticket of this category (normal priority).
    pub fn days(&self, c: Category) -> u32 {
        match c {
            Category::Consult => self.consult_days,
            Category::Help => self.help_days,
            Category::Complaint => self.complaint_days,
            Category::Report => self.report_days,
            Category::Suggestion => self.suggestion_days,
        }
    }

    /// The service-level targets.
    pub fn targets(&self) -> ServiceTargets {
        ServiceTargets {
            answer_within_s: self.answer_within_s,
            answered_percent: self.answered_percent,
            media_within_min: self.media_within_min,
            mailbox_within_hours: self.mailbox_within_hours,
        }
    }

    /// Checks the settings (refused at start, field by field).
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        let mut range = |field: &str, v: u32, lo: u32, hi: u32| {
            if !(lo..=hi).contains(&v) {
                p.push(FieldError::new(
                    format!("hotline.{field}"),
                    "range",
                    format!("须在 {lo} 到 {hi} 之间"),
                    format!("must be between {lo} and {hi}"),
                ));
            }
        };
        for (f, v) in [
            ("consult_days", self.consult_days),
            ("help_days", self.help_days),
            ("complaint_days", self.complaint_days),
            ("report_days", self.report_days),
            ("suggestion_days", self.suggestion_days),
        ] {
            range(f, v, 1, 60);
        }
        range("urgent_hours", self.urgent_hours, 1, 168);
        range("dispute_days", self.dispute_days, 1, 10);
        range("extension_max_days", self.extension_max_days, 1, 60);
        range("escalate_days", self.escalate_days, 0, 30);
        range("kb_update_days", self.kb_update_days, 1, 60);
        range("duplicate_min_percent", self.duplicate_min_percent, 10, 100);
        range("answer_within_s", self.answer_within_s, 1, 600);
        range("answered_percent", self.answered_percent, 1, 100);
        range("media_within_min", self.media_within_min, 1, 1_440);
        range("mailbox_within_hours", self.mailbox_within_hours, 1, 720);
        range("spike_min", self.spike_min, 1, 10_000);
        range("spike_factor", self.spike_factor, 1, 100);
        p.finish()
    }
}

// ---------------------------------------------------------------------------------------
// The dispatch catalogue (派单目录)
// ---------------------------------------------------------------------------------------

/// A line of the dispatch catalogue: a matter in a region belongs to a department by its
/// duties; the words that recognise the matter in what people say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DispatchEntry {
    /// The matter's code, e.g. `water_supply`.
    pub matter: String,
    /// Its name, e.g. 供水.
    pub name: String,
    /// Where the duty holds (the department's region or one below it).
    pub region_code: String,
    pub department_id: String,
    /// Words that recognise the matter (e.g. 停水, 水压, 自来水).
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// Checks the catalogue's lines: a matter code, a name, words of sensible length.
pub fn check_catalog(entries: &[DispatchEntry]) -> Result<(), DomainError> {
    let mut p = Problems::new();
    for (i, e) in entries.iter().enumerate() {
        let f = |x: &str| format!("entries[{i}].{x}");
        if e.matter.is_empty()
            || e.matter.len() > 40
            || !e
                .matter
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            p.push(FieldError::new(
                f("matter"),
                "hotline.matter",
                "事项代码须为 1–40 个小写字母、数字或下划线",
                "a matter code is 1–40 lower-case letters, digits or underscores",
            ));
        }
        p.text(&f("name"), &e.name, 60);
        if e.keywords.len() > 50 || e.keywords.iter().any(|k| k.trim().is_empty() || k.chars().count() > 20) {
            p.push(FieldError::new(
                f("keywords"),
                "hotline.keywords",
                "关键词最多 50 个，每个 1–20 字",
                "at most 50 keywords of 1–20 characters each",
            ));
        }
    }
    p.finish()
}

/// The catalogue's suggestion for a matter in `region`: the lines whose region contains
/// the ticket's region, scored by how many of their words the text holds (the most
/// specific region first on a tie). Best first; lines without a hit are left out.
pub fn suggest<'a>(catalog: &'a [DispatchEntry], region: &str, text: &str) -> Vec<(&'a DispatchEntry, usize)> {
    let mut out: Vec<(&DispatchEntry, usize)> = catalog
        .iter()
        .filter(|e| crate::access::region_within(&e.region_code, region))
        .map(|e| (e, e.keywords.iter().filter(|k| text.contains(k.as_str())).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.region_code.len().cmp(&a.0.region_code.len())));
    out
}

/// The grassroots rule (国办发〔2020〕53号: 不得将矛盾问题推给基层; 国办函〔2025〕66号: no matter
/// is pushed down to a township or village without the duty): a unit whose region is a
/// township or a village may be sent a ticket only where the catalogue names it for a
/// matter in that region.
pub fn may_dispatch_to(
    unit_region_is_grassroots: bool,
    unit_id: &str,
    ticket_region: &str,
    catalog: &[DispatchEntry],
) -> Result<(), DomainError> {
    if !unit_region_is_grassroots
        || catalog
            .iter()
            .any(|e| e.department_id == unit_id && crate::access::region_within(&e.region_code, ticket_region))
    {
        return Ok(());
    }
    Err(DomainError::one(
        ErrorKind::Conflict,
        FieldError::new(
            "department_id",
            "hotline.grassroots",
            "派单目录未规定该乡镇（街道）、村（社区）单位承担此类事项，不得派至基层",
            "the dispatch catalogue gives this township or village unit no duty for it; it may not be pushed down",
        ),
    ))
}

// ---------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------

/// A step on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The centre sends it to the unit whose duty it is (main unit, and assisting ones);
    /// from a dispute this is 改派.
    Dispatch {
        department_id: String,
        #[serde(default)]
        assisting: Vec<String>,
        #[serde(default)]
        note: Option<String>,
    },
    /// The centre answers a consultation at once (直接办结), citing the knowledge-base
    /// article it answered from (the article must be published and in force).
    Answer {
        answer: String,
        #[serde(default)]
        article_id: Option<String>,
    },
    /// The centre merges a new ticket into an open one on the same matter (重复诉求并单): it
    /// is handled once and the person gets that ticket's answer.
    Merge { into: String },
    /// The main unit asks for more working days (延期), with its reasons.
    Extend { days: u32, reason: String },
    /// The centre approves or refuses the extension asked for.
    DecideExtension { approve: bool, reason: String },
    /// An assisting unit (协办) gives its part to the main unit.
    Assist { note: String },
    /// The centre's 督办 notice to the unit (late, or an answer of poor quality).
    Supervise { note: String },
    /// The unit sends it back as not its duty (退单), with its reasons, within the limit.
    Dispute { reason: String },
    /// The centre keeps it with the unit: the dispute does not hold.
    RejectDispute { reason: String },
    /// The unit's answer to the person.
    Reply { reply: String },
    /// The centre's call-back (回访): resolved or not, and how satisfied.
    CallBack {
        reached: bool,
        resolved: bool,
        satisfaction: Satisfaction,
        #[serde(default)]
        note: Option<String>,
    },
    /// The centre sends a closed ticket that was unresolved or unsatisfied back to its unit (重办).
    Reopen { reason: String },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Dispatch { .. } => "dispatch",
            Action::Answer { .. } => "answer",
            Action::Merge { .. } => "merge",
            Action::Extend { .. } => "extend",
            Action::DecideExtension { .. } => "decide_extension",
            Action::Assist { .. } => "assist",
            Action::Supervise { .. } => "supervise",
            Action::Dispute { .. } => "dispute",
            Action::RejectDispute { .. } => "reject_dispute",
            Action::Reply { .. } => "reply",
            Action::CallBack { .. } => "call_back",
            Action::Reopen { .. } => "reopen",
        }
    }
}

/// What the ticket is when a step is decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts {
    pub state: State,
    pub category: Category,
    /// The last call-back found it unresolved or unsatisfied (it may be reopened).
    pub unresolved: bool,
    /// The unit is still within its days to send it back.
    pub may_dispute: bool,
    /// The unit asked for an extension the centre has not decided.
    pub extension_pending: bool,
}

fn refuse(rule: &str, zh: &str, en: &str) -> DomainError {
    DomainError::one(ErrorKind::Conflict, FieldError::new("action", rule, zh, en))
}

fn required(field: &str, v: &str, max: usize) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.text(field, v, max);
    p.finish()
}

/// Decides a step: the state it leads to, or why not (every state × party × action).
pub fn decide(f: Facts, party: Party, a: &Action) -> Result<State, DomainError> {
    use State as S;
    let wrong_party = || {
        DomainError::one(
            ErrorKind::Forbidden,
            FieldError::new(
                "action",
                "hotline.party",
                "此操作不由您一方办理",
                "this step is not yours to take",
            ),
        )
    };
    match a {
        Action::Dispatch { department_id, .. } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            if department_id.is_empty() {
                return Err(DomainError::invalid(vec![FieldError::new(
                    "department_id",
                    "required",
                    "请选择承办单位",
                    "choose the unit",
                )]));
            }
            match f.state {
                S::Received | S::Disputed => Ok(S::Dispatched),
                _ => Err(refuse(
                    "hotline.not_dispatchable",
                    "只有待派单或退单待改派的工单可以派单",
                    "only a ticket to be dispatched or sent back can be dispatched",
                )),
            }
        }
        Action::Answer { answer, .. } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            required("answer", answer, CONTENT_MAX)?;
            if f.state != S::Received || f.category != Category::Consult {
                return Err(refuse(
                    "hotline.not_answerable",
                    "只有待派单的咨询件可以直接答复办结",
                    "only an enquiry not yet dispatched can be answered at once",
                ));
            }
            Ok(S::Closed)
        }
        Action::Dispute { reason } => {
            if party != Party::Unit {
                return Err(wrong_party());
            }
            required("reason", reason, 1_000)?;
            if f.state != S::Dispatched {
                return Err(refuse(
                    "hotline.not_disputable",
                    "只有办理中的工单可以退单",
                    "only a ticket being handled can be sent back",
                ));
            }
            if !f.may_dispute {
                return Err(refuse(
                    "hotline.dispute_late",
                    "已超过退单时限，请按时办理",
                    "the time to send it back has passed; handle it",
                ));
            }
            Ok(S::Disputed)
        }
        Action::RejectDispute { reason } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            required("reason", reason, 1_000)?;
            if f.state != S::Disputed {
                return Err(refuse(
                    "hotline.no_dispute",
                    "该工单没有待审核的退单",
                    "no dispute to decide",
                ));
            }
            Ok(S::Dispatched)
        }
        Action::Reply { reply } => {
            if party != Party::Unit {
                return Err(wrong_party());
            }
            required("reply", reply, CONTENT_MAX)?;
            if f.state != S::Dispatched {
                return Err(refuse(
                    "hotline.not_replyable",
                    "只有办理中的工单可以回复",
                    "only a ticket being handled can be answered",
                ));
            }
            Ok(S::Replied)
        }
        Action::CallBack { note, .. } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            if let Some(n) = note {
                let mut p = Problems::new();
                p.opt_text("note", Some(n), 1_000);
                p.finish()?;
            }
            if f.state != S::Replied {
                return Err(refuse(
                    "hotline.not_called_back",
                    "只有已回复的工单需要回访",
                    "only an answered ticket is called back",
                ));
            }
            Ok(S::Closed)
        }
        Action::Reopen { reason } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            required("reason", reason, 1_000)?;
            if f.state != S::Closed || !f.unresolved {
                return Err(refuse(
                    "hotline.not_reopenable",
                    "只有回访未解决或不满意的已办结工单可以重办",
                    "only a closed ticket found unresolved or unsatisfied can be reopened",
                ));
            }
            Ok(S::Dispatched)
        }
        Action::Merge { into } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            required("into", into, 40)?;
            if f.state != S::Received {
                return Err(refuse(
                    "hotline.not_mergeable",
                    "只有待派单的工单可以并入其他工单",
                    "only a ticket not yet dispatched can be merged into another",
                ));
            }
            Ok(S::Merged)
        }
        Action::Extend { days, reason } => {
            if party != Party::Unit {
                return Err(wrong_party());
            }
            required("reason", reason, 1_000)?;
            if *days == 0 {
                return Err(DomainError::invalid(vec![FieldError::new(
                    "days",
                    "hotline.extension_days",
                    "延期天数至少 1 个工作日",
                    "an extension is at least one working day",
                )]));
            }
            if f.state != S::Dispatched {
                return Err(refuse(
                    "hotline.not_extendable",
                    "只有办理中的工单可以申请延期",
                    "only a ticket being handled can be extended",
                ));
            }
            if f.extension_pending {
                return Err(refuse(
                    "hotline.extension_pending",
                    "已有待审核的延期申请",
                    "an extension asked for is still to be decided",
                ));
            }
            Ok(S::Dispatched)
        }
        Action::DecideExtension { reason, .. } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            required("reason", reason, 1_000)?;
            if f.state != S::Dispatched || !f.extension_pending {
                return Err(refuse(
                    "hotline.no_extension",
                    "该工单没有待审核的延期申请",
                    "no extension to decide",
                ));
            }
            Ok(S::Dispatched)
        }
        Action::Assist { note } => {
            if party != Party::Assisting {
                return Err(wrong_party());
            }
            required("note", note, CONTENT_MAX)?;
            if f.state != S::Dispatched {
                return Err(refuse(
                    "hotline.not_assistable",
                    "只有办理中的工单可以提交协办意见",
                    "assistance is given while the ticket is being handled",
                ));
            }
            Ok(S::Dispatched)
        }
        Action::Supervise { note } => {
            if party != Party::Centre {
                return Err(wrong_party());
            }
            required("note", note, 1_000)?;
            if !matches!(f.state, S::Dispatched | S::Disputed) {
                return Err(refuse(
                    "hotline.not_supervisable",
                    "只有办理中的工单可以督办",
                    "only a ticket being handled can be supervised",
                ));
            }
            Ok(f.state)
        }
    }
}

/// Is the call-back's finding one that may be reopened (重办)?
pub fn unresolved(resolved: bool, satisfaction: Satisfaction) -> bool {
    !resolved || satisfaction == Satisfaction::Unsatisfied
}

/// How alike two tickets are, in per cent: the share of their words in common (of the
/// smaller set, so a short call about the same matter still matches a long one), plus 30
/// when they name the same address (重复诉求并单, 国办函〔2025〕66号).
pub fn likeness(a: &[String], b: &[String], same_address: bool) -> u32 {
    use std::collections::HashSet;
    let a: HashSet<&str> = a.iter().map(String::as_str).collect();
    let b: HashSet<&str> = b.iter().map(String::as_str).collect();
    let small = a.len().min(b.len());
    let words = (a.intersection(&b).count() * 100).checked_div(small).unwrap_or(0) as u32;
    (words + if same_address { 30 } else { 0 }).min(100)
}

/// The words of a matter that tell it apart (what [`likeness`] compares and the hotspots
/// count): segmented by the caller (the search's jieba), here single characters, digits,
/// the stop words of a call and the pieces of a longer word dropped, each word once, at
/// most 64.
pub fn matter_terms(tokens: impl IntoIterator<Item = String>) -> Vec<String> {
    const STOP: &[&str] = &[
        "我们", "你们", "他们", "这个", "那个", "一个", "没有", "什么", "怎么", "现在", "已经", "还是", "但是", "因为",
        "所以", "如果", "希望", "反映", "请问", "市民", "来电", "问题", "情况", "相关", "进行", "要求", "处理", "一下",
        "可以", "是否", "目前", "表示",
    ];
    let mut seen = std::collections::HashSet::new();
    let words: Vec<String> = tokens
        .into_iter()
        .filter(|t| t.chars().count() > 1 && !t.chars().all(|c| c.is_ascii_digit()) && !STOP.contains(&t.as_str()))
        .filter(|t| seen.insert(t.clone()))
        .collect();
    // Segmentation for search also gives the pieces of a longer word (一整天: 一整, 整天);
    // the matter counts the word once.
    words
        .iter()
        .filter(|w| !words.iter().any(|o| o.len() > w.len() && o.contains(w.as_str())))
        .take(64)
        .cloned()
        .collect()
}

mod figures;
mod knowledge;
pub use figures::*;
pub use knowledge::*;

#[cfg(test)]
mod tests;
