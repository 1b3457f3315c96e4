//! The service catalogue (事项管理): basic directory entries (基本目录, 12-character 基本编码),
//! implementation items per implementing department and level (实施清单, 31-character 实施编码)
//! with their handling items (业务办理项, 33 characters), all elements of an item
//! (STANDARDS §1, national exchange schema), the rules an item must satisfy, the version
//! workflow (draft → submitted → published, four eyes), locked elements inherited from the
//! basic entry (同要素管理), differences between versions and between levels, the
//! situation questionnaire (情形) and the data-element dictionary (数据元) forms draw on.
//!
//! Everything here is a pure function of its inputs.

use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use crate::ids::check_uscc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Defines a closed list of coded values: JSON uses the snake-case name; `code()` is the
/// national code, `zh()`/`en()` the display names; `parse` accepts any of name, code or
/// Chinese name (spreadsheets use all three).
macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $code:literal, $snake:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // The variants' JSON names are their snake_case names; said here too so the
        // OpenAPI schema (which cannot read a macro's literal) names them right.
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* #[serde(rename = $snake)] $v,)+ }
        impl crate::Named for $name {
            fn zh(&self) -> &'static str { $name::zh(*self) }
            fn en(&self) -> &'static str { $name::en(*self) }
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The national code.
            pub fn code(self) -> &'static str { match self { $($name::$v => $code),+ } }
            /// The JSON name.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $snake),+ } }
            pub fn zh(self) -> &'static str { match self { $($name::$v => $zh),+ } }
            pub fn en(self) -> &'static str { match self { $($name::$v => $en),+ } }
            /// Accepts the JSON name, the national code or the Chinese name.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == s || v.code() == s || v.zh() == s)
            }
        }
    };
}

code_enum!(
    /// 事项类型 (STANDARDS §1).
    ItemType {
        Licensing = "01", "licensing", "行政许可", "administrative licensing";
        Penalty = "02", "penalty", "行政处罚", "administrative penalty";
        Enforcement = "03", "enforcement", "行政强制", "administrative enforcement";
        Levy = "04", "levy", "行政征收", "administrative levy";
        Benefit = "05", "benefit", "行政给付", "administrative benefit";
        Inspection = "06", "inspection", "行政检查", "administrative inspection";
        Confirmation = "07", "confirmation", "行政确认", "administrative confirmation";
        Reward = "08", "reward", "行政奖励", "administrative reward";
        Adjudication = "09", "adjudication", "行政裁决", "administrative adjudication";
        OtherPower = "10", "other_power", "其他行政权力", "other administrative power";
        PublicService = "20", "public_service", "公共服务", "public service";
    }
);

code_enum!(
    /// 行使层级 (STANDARDS §1): the digit between the credit code and the basic code.
    ExerciseLevel {
        National = "1", "national", "国家级", "national";
        Provincial = "2", "provincial", "省级", "provincial";
        Municipal = "3", "municipal", "市级", "municipal";
        County = "4", "county", "县级", "county";
        Township = "5", "township", "乡镇（街道）级", "township";
        Village = "6", "village", "村（社区）级", "village";
    }
);

code_enum!(
    /// 办件类型.
    CaseKind {
        Instant = "1", "instant", "即办件", "decided on the spot";
        Promised = "2", "promised", "承诺件", "decided within a promised time";
        Reported = "3", "reported", "上报件", "reported to a higher authority";
        Joint = "4", "joint", "联办件", "handled jointly";
    }
);

code_enum!(
    /// 服务对象.
    ServiceObject {
        NaturalPerson = "1", "natural_person", "自然人", "natural person";
        Enterprise = "2", "enterprise", "企业法人", "enterprise";
        Institution = "3", "institution", "事业法人", "public institution";
        SocialOrganisation = "4", "social_organisation", "社会组织法人", "social organisation";
        Unincorporated = "5", "unincorporated", "非法人企业", "unincorporated enterprise";
        Government = "6", "government", "行政机关", "government body";
        Other = "9", "other", "其他组织", "other organisation";
    }
);

code_enum!(
    /// 办理形式.
    HandlingForm {
        Window = "1", "window", "窗口办理", "at a window";
        Online = "2", "online", "网上办理", "online";
        Post = "3", "post", "快递申请", "by post";
    }
);

code_enum!(
    /// The unit of a time limit.
    TimeUnit {
        WorkingDays = "1", "working_days", "工作日", "working days";
        NaturalDays = "2", "natural_days", "自然日", "calendar days";
        Months = "3", "months", "个月", "months";
    }
);

code_enum!(
    /// 通办范围 (国办发〔2020〕35号).
    TongbanScope {
        None = "0", "none", "未实现通办", "not yet";
        National = "1", "national", "全国通办", "nationwide";
        CrossProvince = "2", "cross_province", "跨省通办", "across provinces";
        Province = "3", "province", "全省通办", "province-wide";
        CrossCity = "4", "cross_city", "跨市通办", "across cities";
        CrossCounty = "5", "cross_county", "跨县通办", "across counties";
    }
);

code_enum!(
    /// 网上办理深度 (multi-valued).
    OnlineDepth {
        Consult = "1", "consult", "咨询", "information";
        Collect = "2", "collect", "收件", "application received online";
        Prereview = "3", "prereview", "预审", "online pre-review";
        Accept = "4", "accept", "受理", "acceptance online";
        Handle = "5", "handle", "办理", "handling online";
        Feedback = "6", "feedback", "结果反馈", "result online";
        Elicence = "7", "elicence", "电子证照反馈", "e-licence result";
    }
);

code_enum!(
    /// 材料形式.
    MaterialForm {
        Paper = "1", "paper", "纸质", "paper";
        Electronic = "2", "electronic", "电子", "electronic";
        Both = "3", "both", "纸质+电子", "paper and electronic";
    }
);

code_enum!(
    /// 必要性: 容缺 marks a material that may follow after acceptance (容缺受理, STANDARDS §3).
    Necessity {
        Required = "1", "required", "必要", "required";
        Optional = "2", "optional", "非必要", "optional";
        Tolerated = "3", "tolerated", "容缺", "may follow after acceptance";
    }
);

code_enum!(
    /// 来源渠道.
    SourceChannel {
        Applicant = "1", "applicant", "申请人自备", "brought by the applicant";
        Government = "2", "government", "政府部门核发", "issued by a government body";
        Shared = "3", "shared", "共享获取", "obtained by data sharing";
        Intermediary = "4", "intermediary", "中介机构出具", "issued by an intermediary";
        Other = "9", "other", "其他", "other";
    }
);

code_enum!(
    /// 材料类型.
    MaterialKind {
        Form = "1", "form", "申请表格", "application form";
        Certificate = "2", "certificate", "证件证照", "certificate or licence";
        Document = "3", "document", "文书", "document";
        Proof = "4", "proof", "证明材料", "proof";
        Other = "9", "other", "其他", "other";
    }
);

code_enum!(
    /// 特别程序 kinds (《行政许可法》第四十五条; STANDARDS §2).
    SpecialKind {
        Hearing = "01", "hearing", "听证", "hearing";
        Tender = "02", "tender", "招标", "tender";
        Auction = "03", "auction", "拍卖", "auction";
        Inspection = "04", "inspection", "检验", "inspection";
        Testing = "05", "testing", "检测", "testing";
        Quarantine = "06", "quarantine", "检疫", "quarantine";
        Appraisal = "07", "appraisal", "鉴定", "appraisal";
        ExpertReview = "08", "expert_review", "专家评审", "expert review";
        SiteSurvey = "09", "site_survey", "现场勘查", "site survey";
        Other = "99", "other", "其他", "other";
    }
);

code_enum!(
    /// 审批结果类型.
    ResultKind {
        Licence = "1", "licence", "证照", "licence or certificate";
        ApprovalDocument = "2", "approval_document", "批文", "approval document";
        Filing = "3", "filing", "备案或登记确认", "filing or registration";
        Other = "9", "other", "其他", "other";
    }
);

code_enum!(
    /// 权力来源.
    PowerSource {
        Statutory = "1", "statutory", "法定本级行使", "own statutory power";
        DelegatedDown = "2", "delegated_down", "上级下放", "delegated down";
        AuthorisedBySuperior = "3", "authorised_by_superior", "上级授权", "authorised by a superior";
        AuthorisedByPeer = "4", "authorised_by_peer", "同级授权", "authorised by a peer";
        EntrustedBySuperior = "5", "entrusted_by_superior", "上级委托", "entrusted by a superior";
        EntrustedByPeer = "6", "entrusted_by_peer", "同级委托", "entrusted by a peer";
    }
);

code_enum!(
    /// Who does a process step: decides which staff role's inbox a case waits in.
    StepRole {
        Accept = "1", "accept", "受理", "acceptance";
        Review = "2", "review", "审查", "review";
        Decide = "3", "decide", "决定", "decision";
        Deliver = "4", "deliver", "制证送达", "issue and delivery";
    }
);

code_enum!(
    /// The type of a data element (数据元) and so how a form field is checked.
    ElementKind {
        Text = "1", "text", "文本", "text";
        Integer = "2", "integer", "整数", "whole number";
        Decimal = "3", "decimal", "小数", "decimal number";
        Date = "4", "date", "日期", "date";
        Boolean = "5", "boolean", "是否", "yes or no";
        Choice = "6", "choice", "选项", "choice";
        IdNumber = "7", "id_number", "公民身份号码", "resident ID number";
        Uscc = "8", "uscc", "统一社会信用代码", "unified social credit code";
        Phone = "9", "phone", "电话号码", "phone number";
        Email = "10", "email", "电子邮箱", "e-mail address";
        Region = "11", "region", "行政区划代码", "region code";
        Money = "12", "money", "金额（元）", "amount (yuan)";
    }
);

macro_rules! default_to {
    ($t:ident, $v:ident) => {
        impl Default for $t {
            fn default() -> Self {
                $t::$v
            }
        }
    };
}
default_to!(CaseKind, Promised);
default_to!(TongbanScope, None);
default_to!(MaterialForm, Both);
default_to!(Necessity, Required);
default_to!(SourceChannel, Applicant);
default_to!(MaterialKind, Other);
default_to!(PowerSource, Statutory);

/// Kinds of catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// 基本目录 entry (12-character code), the template of every implementation item.
    Basic,
    /// 实施清单 item of one implementing department (31-character code).
    Item,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Basic => "basic",
            EntryKind::Item => "item",
        }
    }
    pub fn parse(s: &str) -> Option<EntryKind> {
        [EntryKind::Basic, EntryKind::Item]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

// ---------------------------------------------------------------------------------------
// Elements
// ---------------------------------------------------------------------------------------

/// A time limit: statutory (法定) or promised (承诺).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TimeLimit {
    pub value: u32,
    pub unit: TimeUnit,
    /// 说明, e.g. the extension the law allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl TimeLimit {
    pub fn working_days(value: u32) -> TimeLimit {
        TimeLimit {
            value,
            unit: TimeUnit::WorkingDays,
            note: None,
        }
    }
    /// The fewest and the most calendar days this limit can span. Working days span at
    /// least as many calendar days and at most 7/5 of them plus the longest holiday run
    /// (Spring Festival and National Day: 8 days, STANDARDS §9); a month is 28–31 days.
    pub fn calendar_bounds(&self) -> (u64, u64) {
        let v = self.value as u64;
        match self.unit {
            TimeUnit::NaturalDays => (v, v),
            TimeUnit::WorkingDays => (v, (v * 7).div_ceil(5) + if v > 0 { 8 } else { 0 }),
            TimeUnit::Months => (v * 28, v * 31),
        }
    }
    /// Is a promise of `self` certainly within the statutory limit `statutory`?
    pub fn within(&self, statutory: &TimeLimit) -> bool {
        if self.unit == statutory.unit {
            return self.value <= statutory.value;
        }
        self.calendar_bounds().1 <= statutory.calendar_bounds().0
    }
    pub fn text_zh(&self) -> String {
        if self.value == 0 {
            "即办".into()
        } else {
            format!("{} {}", self.value, self.unit.zh())
        }
    }
    pub fn text_en(&self) -> String {
        if self.value == 0 {
            "on the spot".into()
        } else {
            format!("{} {}", self.value, self.unit.en())
        }
    }
}

/// 设定依据: the law, its document number, article and text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    /// 法律法规名称, e.g. 《中华人民共和国食品安全法》.
    pub law: String,
    /// 文号, e.g. 主席令第二十一号.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_no: Option<String>,
    /// 条款号, e.g. 第三十五条.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
    /// 条款内容.
    #[serde(default)]
    pub text: String,
}

/// 办理流程 step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    pub role: StepRole,
    /// Time budget in working days (0: same day).
    #[serde(default)]
    pub days: u32,
    /// 审查标准.
    #[serde(default)]
    pub standard: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SpecialProcedure {
    pub kind: SpecialKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<TimeLimit>,
    #[serde(default)]
    pub basis: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// 收费.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub name: String,
    /// 收费标准 as published, e.g. 每证 10 元.
    pub standard: String,
    /// The amount in 分 when it is one fixed sum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<i64>,
    /// 收费依据.
    pub basis: String,
    /// 是否允许减免.
    #[serde(default)]
    pub reducible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduction_basis: Option<String>,
}

/// A downloadable file (blank form, sample, result sample).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub name: String,
    /// An absolute https URL or a path on this portal (`/files/…`).
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MaterialSource {
    #[serde(default)]
    pub channel: SourceChannel,
    /// 来源渠道说明, e.g. which office issues it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The e-licence type (definer USCC + 3 digits, GB/T 36904) that can stand in for
    /// this material (免提交 once the applicant holds a valid one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_type: Option<String>,
}

/// 申请材料 with every element of STANDARDS §1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// Stable key within the item (situations refer to it): 1–32 of a-z 0-9 _ -.
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub kind: MaterialKind,
    #[serde(default)]
    pub form: MaterialForm,
    #[serde(default)]
    pub necessity: Necessity,
    /// 纸质规格, e.g. A4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_spec: Option<String>,
    /// 原件份数.
    #[serde(default)]
    pub originals: u32,
    /// 复印件份数.
    #[serde(default)]
    pub copies: u32,
    #[serde(default)]
    pub source: MaterialSource,
    /// 受理标准.
    #[serde(default)]
    pub standard: String,
    /// 依据.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
    /// 填报须知.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// 空白表格.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blank_form: Option<FileRef>,
    /// 示例样表.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<FileRef>,
    /// 签字盖章要求.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_seal: Option<String>,
}

/// One answer of a situation question, with the materials it adds or removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub key: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removes: Vec<String>,
}

/// A situation question (情形).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub key: String,
    pub text: String,
    pub choices: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Faq {
    pub q: String,
    pub a: String,
}

/// A field of the item's application form, drawn from the data-element dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// The data element's code.
    pub element: String,
    /// A label other than the element's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default)]
    pub required: bool,
}

/// 业务办理项 (situations such as 新设 / 变更 / 延续 / 注销): the last two code digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HandlingItem {
    pub suffix: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// 告知承诺 (国办发〔2020〕42号): the written commitment and the post-decision check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    /// What the applicant promises, and the liability for a false promise.
    pub text: String,
    /// The 核查 happens within this many working days of the decision.
    pub check_days: u32,
    /// How: data comparison, inter-department check, site visit, random sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_method: Option<String>,
}

/// 审批结果.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResultSpec {
    pub kind: ResultKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<FileRef>,
    /// The e-licence type issued on approval (GB/T 36904 type code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_type: Option<String>,
}

/// Every element of a catalogue entry (STANDARDS §1). A basic entry's elements are the
/// template its implementation items start from; locked elements stay identical.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Elements {
    /// 事项名称.
    pub name: String,
    /// Other names citizens use (俗称); searched.
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub item_type: ItemType,
    /// 地方编码.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_code: Option<String>,
    #[serde(default)]
    pub legal_basis: Vec<LegalBasis>,
    /// 受理条件.
    #[serde(default)]
    pub conditions: String,
    #[serde(default)]
    pub power_source: PowerSource,
    /// 委托部门.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrusting_department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statutory_limit: Option<TimeLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_limit: Option<TimeLimit>,
    #[serde(default)]
    pub case_kind: CaseKind,
    #[serde(default)]
    pub service_objects: Vec<ServiceObject>,
    #[serde(default)]
    pub handling_forms: Vec<HandlingForm>,
    /// 到办事现场次数.
    #[serde(default)]
    pub visits: u32,
    /// 必须现场办理原因.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_reason: Option<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub special_procedures: Vec<SpecialProcedure>,
    #[serde(default)]
    pub fees: Vec<Fee>,
    #[serde(default)]
    pub materials: Vec<Material>,
    /// Present when 告知承诺 is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<Commitment>,
    #[serde(default)]
    pub tongban: TongbanScope,
    /// 是否网办.
    #[serde(default)]
    pub online: bool,
    #[serde(default)]
    pub online_depth: Vec<OnlineDepth>,
    #[serde(default)]
    pub online_payment: bool,
    /// 物流快递.
    #[serde(default)]
    pub post_delivery: bool,
    /// 进驻大厅.
    #[serde(default)]
    pub in_hall: bool,
    /// 预约办理.
    #[serde(default)]
    pub appointment: bool,
    /// 自助终端.
    #[serde(default)]
    pub self_service: bool,
    /// 联办机构.
    #[serde(default)]
    pub joint_agencies: Vec<String>,
    /// 中介服务.
    #[serde(default)]
    pub intermediary_services: Vec<String>,
    /// 数量限制.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultSpec>,
    /// 主题分类, e.g. 生育收养, 开办企业.
    #[serde(default)]
    pub themes: Vec<String>,
    /// 办理地点.
    #[serde(default)]
    pub location: String,
    /// 办理时间.
    #[serde(default)]
    pub hours: String,
    /// 咨询方式.
    #[serde(default)]
    pub consult: String,
    /// 监督投诉方式.
    #[serde(default)]
    pub complaint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pc_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_url: Option<String>,
    #[serde(default)]
    pub faq: Vec<Faq>,
    /// 情形: at most `CatalogPolicy::max_questions`, so the answer takes that many clicks.
    #[serde(default)]
    pub questions: Vec<Question>,
    #[serde(default)]
    pub form: Vec<FormField>,
    #[serde(default)]
    pub handling_items: Vec<HandlingItem>,
}

/// The top-level element names (JSON keys) of `Elements`, for locked sets and reports.
pub const ELEMENT_NAMES: &[&str] = &[
    "name",
    "aliases",
    "keywords",
    "item_type",
    "local_code",
    "legal_basis",
    "conditions",
    "power_source",
    "entrusting_department",
    "statutory_limit",
    "promised_limit",
    "case_kind",
    "service_objects",
    "handling_forms",
    "visits",
    "visit_reason",
    "steps",
    "special_procedures",
    "fees",
    "materials",
    "commitment",
    "tongban",
    "online",
    "online_depth",
    "online_payment",
    "post_delivery",
    "in_hall",
    "appointment",
    "self_service",
    "joint_agencies",
    "intermediary_services",
    "quantity_limit",
    "result",
    "themes",
    "location",
    "hours",
    "consult",
    "complaint",
    "pc_url",
    "mobile_url",
    "faq",
    "questions",
    "form",
    "handling_items",
];

/// The Chinese name of an element (for reports and error messages).
pub fn element_zh(name: &str) -> &'static str {
    match name {
        "name" => "事项名称",
        "aliases" => "别名",
        "keywords" => "关键词",
        "item_type" => "事项类型",
        "local_code" => "地方编码",
        "legal_basis" => "设定依据",
        "conditions" => "受理条件",
        "power_source" => "权力来源",
        "entrusting_department" => "委托部门",
        "statutory_limit" => "法定办结时限",
        "promised_limit" => "承诺办结时限",
        "case_kind" => "办件类型",
        "service_objects" => "服务对象",
        "handling_forms" => "办理形式",
        "visits" => "到办事现场次数",
        "visit_reason" => "必须现场办理原因",
        "steps" => "办理流程",
        "special_procedures" => "特别程序",
        "fees" => "收费",
        "materials" => "申请材料",
        "commitment" => "告知承诺",
        "tongban" => "通办范围",
        "online" => "是否网办",
        "online_depth" => "网上办理深度",
        "online_payment" => "网上支付",
        "post_delivery" => "物流快递",
        "in_hall" => "进驻大厅",
        "appointment" => "预约办理",
        "self_service" => "自助终端",
        "joint_agencies" => "联办机构",
        "intermediary_services" => "中介服务",
        "quantity_limit" => "数量限制",
        "result" => "审批结果",
        "themes" => "主题分类",
        "location" => "办理地点",
        "hours" => "办理时间",
        "consult" => "咨询方式",
        "complaint" => "监督投诉方式",
        "pc_url" => "PC 端办理地址",
        "mobile_url" => "移动端办理地址",
        "faq" => "常见问题",
        "questions" => "情形",
        "form" => "申请表单",
        "handling_items" => "业务办理项",
        _ => "要素",
    }
}

impl Elements {
    /// A minimal item: everything else empty or default.
    pub fn new(name: impl Into<String>, item_type: ItemType) -> Elements {
        serde_json::from_value(serde_json::json!({ "name": name.into(), "item_type": item_type }))
            .expect("minimal elements")
    }
    /// As a JSON object (element name → value).
    pub fn to_map(&self) -> serde_json::Map<String, Value> {
        match serde_json::to_value(self).expect("serialisable") {
            Value::Object(m) => m,
            _ => unreachable!("elements serialise to an object"),
        }
    }
    /// Puts the elements that are sets (service objects, handling forms, online depth) in
    /// their canonical order without repeats, so the same choice is always the same value
    /// (a form that lists checkboxes in another order changes nothing).
    pub fn normalize(&mut self) {
        self.service_objects.sort();
        self.service_objects.dedup();
        self.handling_forms.sort();
        self.handling_forms.dedup();
        self.online_depth.sort();
        self.online_depth.dedup();
    }
    pub fn charged(&self) -> bool {
        !self.fees.is_empty()
    }
    pub fn tolerated(&self) -> bool {
        self.materials.iter().any(|m| m.necessity == Necessity::Tolerated)
    }
    pub fn has_depth(&self, d: OnlineDepth) -> bool {
        self.online_depth.contains(&d)
    }
    /// 全程网办 (国办发〔2020〕35号 §二): applied for, accepted, handled and answered
    /// online, with no visit.
    pub fn full_online(&self) -> bool {
        use OnlineDepth::*;
        self.online && self.visits == 0 && [Collect, Accept, Handle, Feedback].iter().all(|d| self.has_depth(*d))
    }
    /// Who the item serves, as the portal's two audiences (自然人 / 法人).
    pub fn audiences(&self) -> Vec<Audience> {
        let mut out = vec![];
        if self.service_objects.contains(&ServiceObject::NaturalPerson) {
            out.push(Audience::Person);
        }
        if self.service_objects.iter().any(|o| *o != ServiceObject::NaturalPerson) {
            out.push(Audience::Legal);
        }
        out
    }
}

/// The portal's two audiences (主题分类: 自然人 / 法人).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Person,
    Legal,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Person => "person",
            Audience::Legal => "legal",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            Audience::Person => "自然人",
            Audience::Legal => "法人",
        }
    }
    pub fn parse(s: &str) -> Option<Audience> {
        [Audience::Person, Audience::Legal]
            .into_iter()
            .find(|a| a.as_str() == s || a.zh() == s)
    }
}

// ---------------------------------------------------------------------------------------
// Policy (configurable per province)
// ---------------------------------------------------------------------------------------

/// A star level of online depth: an item earns `stars` when it offers every depth listed
/// and needs at most `max_visits` visits. No national definition exists (STANDARDS §1
/// [M]): the rules are configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarRule {
    pub stars: u8,
    pub depth: Vec<OnlineDepth>,
    #[serde(default)]
    pub max_visits: Option<u32>,
}

/// The province's catalogue settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogPolicy {
    /// Elements an implementation item inherits unchanged from its basic entry
    /// (同要素管理; the national 四级四同: name, code, basis, type — STANDARDS §1 [M]).
    pub locked: Vec<String>,
    /// Star rules, any order; the highest matching rule wins.
    pub stars: Vec<StarRule>,
    /// Most situation questions per item: the questionnaire answers in that many clicks.
    pub max_questions: usize,
}

impl Default for CatalogPolicy {
    fn default() -> Self {
        use OnlineDepth::*;
        let rule = |stars, depth: &[OnlineDepth], max_visits| StarRule {
            stars,
            depth: depth.to_vec(),
            max_visits,
        };
        CatalogPolicy {
            locked: vec!["name".into(), "item_type".into(), "legal_basis".into()],
            stars: vec![
                rule(5, &[Collect, Prereview, Accept, Handle, Feedback, Elicence], Some(0)),
                rule(4, &[Collect, Prereview, Accept, Handle, Feedback], Some(0)),
                rule(3, &[Collect, Prereview, Accept], Some(1)),
                rule(2, &[Collect, Prereview], None),
                rule(1, &[Consult], None),
            ],
            max_questions: 3,
        }
    }
}

impl CatalogPolicy {
    /// Checks the configuration itself (at start), naming the bad entry.
    pub fn check(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        for (i, l) in self.locked.iter().enumerate() {
            if !ELEMENT_NAMES.contains(&l.as_str()) {
                p.push(FieldError::new(
                    format!("catalog.locked[{i}]"),
                    "catalog.unknown_element",
                    format!("未知要素「{l}」"),
                    format!("unknown element '{l}'"),
                ));
            }
        }
        for (i, r) in self.stars.iter().enumerate() {
            if !(1..=5).contains(&r.stars) {
                p.push(FieldError::new(
                    format!("catalog.stars[{i}].stars"),
                    "range",
                    "星级为 1–5",
                    "stars are 1–5",
                ));
            }
        }
        if !(1..=10).contains(&self.max_questions) {
            p.push(FieldError::new(
                "catalog.max_questions",
                "range",
                "情形问题数上限为 1–10",
                "max_questions is 1–10",
            ));
        }
        p.finish()
    }
    pub fn is_locked(&self, element: &str) -> bool {
        self.locked.iter().any(|l| l == element)
    }
    /// The derived star rating of online depth (0 when no rule matches).
    pub fn stars(&self, e: &Elements) -> u8 {
        self.stars
            .iter()
            .filter(|r| r.depth.iter().all(|d| e.has_depth(*d)) && r.max_visits.is_none_or(|m| e.visits <= m))
            .map(|r| r.stars)
            .max()
            .unwrap_or(0)
    }
}

// ---------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------

/// Provincial-level region prefixes (GB/T 2260): the origins a provincial basic code may
/// have besides `00` (national).
const PROVINCES: &[&str] = &[
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
];

/// The parts of a 12-character 基本编码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicCode {
    /// `00` national, else the province's 2 digits.
    pub origin: String,
    pub item_type: ItemType,
    /// 主项 (5 digits).
    pub main: String,
    /// 子项 (3 digits, `000` = none).
    pub sub: String,
}

fn code_err(field: &str, rule: &str, zh: impl Into<String>, en: impl Into<String>) -> FieldError {
    FieldError::new(field, rule, zh, en)
}

/// Checks a 基本编码 (STANDARDS §1: 2 origin + 2 事项类型 + 5 主项 + 3 子项).
pub fn check_basic_code(field: &str, code: &str) -> Result<BasicCode, FieldError> {
    if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(code_err(
            field,
            "basic_code.format",
            "基本编码为 12 位数字",
            "a basic code has 12 digits",
        ));
    }
    let origin = &code[..2];
    if origin != "00" && !PROVINCES.contains(&origin) {
        return Err(code_err(
            field,
            "basic_code.origin",
            format!("基本编码前 2 位应为 00（国家）或省级行政区划代码，而不是 {origin}"),
            format!("a basic code starts with 00 (national) or a province's 2 digits, not {origin}"),
        ));
    }
    let item_type = ItemType::ALL
        .iter()
        .copied()
        .find(|t| t.code() == &code[2..4])
        .ok_or_else(|| {
            code_err(
                field,
                "basic_code.item_type",
                format!("基本编码第 3–4 位「{}」不是事项类型代码", &code[2..4]),
                format!("digits 3–4 '{}' are not an item type code", &code[2..4]),
            )
        })?;
    if &code[4..9] == "00000" {
        return Err(code_err(
            field,
            "basic_code.main",
            "主项编号不能为 00000",
            "the main item number cannot be 00000",
        ));
    }
    Ok(BasicCode {
        origin: origin.into(),
        item_type,
        main: code[4..9].into(),
        sub: code[9..].into(),
    })
}

/// The parts of a 31-character 实施编码.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImplCode {
    pub uscc: String,
    pub level: ExerciseLevel,
    pub basic: BasicCode,
    pub basic_code: String,
}

/// Checks a 实施编码 (STANDARDS §1: 18 credit code + 1 行使层级 + 12 基本编码).
pub fn check_impl_code(field: &str, code: &str) -> Result<ImplCode, FieldError> {
    if code.chars().count() != 31 || !code.is_ascii() {
        return Err(code_err(
            field,
            "implementation_code.format",
            "实施编码为 31 位：18 位统一社会信用代码 + 1 位行使层级 + 12 位基本编码",
            "an implementation code has 31 characters: 18 credit code + 1 level + 12 basic code",
        ));
    }
    check_uscc(field, &code[..18])?;
    let level = ExerciseLevel::ALL
        .iter()
        .copied()
        .find(|l| l.code() == &code[18..19])
        .ok_or_else(|| {
            code_err(
                field,
                "implementation_code.level",
                "实施编码第 19 位应为行使层级 1–6",
                "character 19 of an implementation code is the level 1–6",
            )
        })?;
    let basic = check_basic_code(field, &code[19..])?;
    Ok(ImplCode {
        uscc: code[..18].into(),
        level,
        basic,
        basic_code: code[19..].into(),
    })
}

/// Checks a 33-character 业务办理项编码 (实施编码 + 2 digits, `00` = none).
pub fn check_handling_code(field: &str, code: &str) -> Result<(ImplCode, String), FieldError> {
    if code.len() != 33 || !code.is_ascii() || !code[31..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(code_err(
            field,
            "handling_code.format",
            "业务办理项编码为 33 位：31 位实施编码 + 2 位数字",
            "a handling item code has 33 characters: the implementation code + 2 digits",
        ));
    }
    Ok((check_impl_code(field, &code[..31])?, code[31..].into()))
}

/// The 实施编码 of a department's item.
pub fn impl_code(uscc: &str, level: ExerciseLevel, basic_code: &str) -> String {
    format!("{uscc}{}{basic_code}", level.code())
}

/// The next free basic code for an origin and type, given the codes already used.
pub fn next_basic_code<'a>(origin: &str, item_type: ItemType, used: impl IntoIterator<Item = &'a str>) -> String {
    let prefix = format!("{origin}{}", item_type.code());
    let max = used
        .into_iter()
        .filter(|c| c.len() == 12 && c.starts_with(&prefix))
        .filter_map(|c| c[4..9].parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:05}000", max + 1)
}

/// 行使层级 of a department by the level of its region (GB/T 2260 code structure).
pub fn level_for_region(code: &str) -> Option<ExerciseLevel> {
    use crate::regions::Level;
    Some(match crate::regions::level_of("region_code", code).ok()? {
        Level::Province => ExerciseLevel::Provincial,
        Level::City => ExerciseLevel::Municipal,
        Level::County => ExerciseLevel::County,
        Level::Township => ExerciseLevel::Township,
        Level::Village => ExerciseLevel::Village,
    })
}

// ---------------------------------------------------------------------------------------
// Data elements (数据元)
// ---------------------------------------------------------------------------------------

/// A data element: what a form field means and how its value is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DataElement {
    /// 1–64 of A-Z a-z 0-9 _, starting with a letter.
    pub code: String,
    pub name: String,
    pub kind: ElementKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// The allowed values of a `choice` element.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where a value can be prefilled from (`person.name`, `legal.uscc`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
}

/// The profile facts a data element may be prefilled from.
pub const PREFILL_SOURCES: &[&str] = &[
    "person.name",
    "person.id_number",
    "person.phone",
    "person.address",
    "legal.name",
    "legal.uscc",
    "legal.kind",
    "legal.representative",
];

/// Checks a dictionary entry.
pub fn check_data_element(e: &DataElement) -> Result<(), DomainError> {
    let mut p = Problems::new();
    let ok_code = (1..=64).contains(&e.code.len())
        && e.code.as_bytes()[0].is_ascii_alphabetic()
        && e.code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok_code {
        p.push(FieldError::new(
            "code",
            "data_element.code_format",
            "数据元代码为 1–64 位字母、数字或下划线，以字母开头",
            "a data element code has 1–64 letters, digits or underscores and starts with a letter",
        ));
    }
    p.text("name", &e.name, 50);
    if e.kind == ElementKind::Choice && e.options.len() < 2 {
        p.push(FieldError::new(
            "options",
            "data_element.options",
            "选项类数据元至少需要 2 个选项",
            "a choice element needs at least 2 options",
        ));
    }
    if e.kind != ElementKind::Choice && !e.options.is_empty() {
        p.push(FieldError::new(
            "options",
            "data_element.options_unused",
            "只有选项类数据元可以设置选项",
            "only choice elements take options",
        ));
    }
    if let Some(src) = &e.prefill
        && !PREFILL_SOURCES.contains(&src.as_str())
    {
        p.push(FieldError::new(
            "prefill",
            "data_element.prefill_source",
            format!("未知的预填来源「{src}」，可用：{}", PREFILL_SOURCES.join("、")),
            format!("unknown prefill source '{src}'; known: {}", PREFILL_SOURCES.join(", ")),
        ));
    }
    if e.max_len == Some(0) {
        p.push(FieldError::new(
            "max_len",
            "range",
            "最大长度至少为 1",
            "max_len is at least 1",
        ));
    }
    p.opt_text("description", e.description.as_deref(), 500);
    p.finish()
}

/// Checks one form value against its data element; `field` names it in the error.
pub fn check_value(field: &str, e: &DataElement, v: &Value) -> Result<(), FieldError> {
    let err = |rule: &str, zh: String, en: String| Err(FieldError::new(field, rule, zh, en));
    let s = match (e.kind, v) {
        (ElementKind::Boolean, Value::Bool(_)) => return Ok(()),
        (ElementKind::Boolean, _) => return err("value.boolean", "应为是或否".into(), "must be true or false".into()),
        (ElementKind::Integer, Value::Number(n)) if n.is_i64() => return Ok(()),
        (ElementKind::Decimal | ElementKind::Money, Value::Number(_)) => return Ok(()),
        (_, Value::String(s)) => s.trim(),
        _ => return err("value.type", "取值类型不正确".into(), "wrong type of value".into()),
    };
    if s.is_empty() {
        return err("required", "不能为空".into(), "must not be empty".into());
    }
    if let Some(max) = e.max_len
        && s.chars().count() > max as usize
    {
        return err(
            "max_length",
            format!("长度不能超过 {max} 个字符"),
            format!("must be at most {max} characters"),
        );
    }
    match e.kind {
        ElementKind::Text => Ok(()),
        ElementKind::Integer => match s.parse::<i64>() {
            Ok(_) => Ok(()),
            Err(_) => err("value.integer", "应为整数".into(), "must be a whole number".into()),
        },
        ElementKind::Decimal | ElementKind::Money => match s.parse::<f64>() {
            Ok(x) if x.is_finite() && (e.kind != ElementKind::Money || x >= 0.0) => Ok(()),
            _ => err("value.number", "应为数字".into(), "must be a number".into()),
        },
        ElementKind::Date => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(_) => Ok(()),
            Err(_) => err(
                "value.date",
                "日期格式应为 YYYY-MM-DD".into(),
                "a date is written YYYY-MM-DD".into(),
            ),
        },
        ElementKind::Boolean => unreachable!("handled above"),
        ElementKind::Choice => {
            if e.options.iter().any(|o| o == s) {
                Ok(())
            } else {
                err(
                    "value.choice",
                    format!("应为以下之一：{}", e.options.join("、")),
                    format!("must be one of: {}", e.options.join(", ")),
                )
            }
        }
        ElementKind::IdNumber => crate::ids::check_resident_id(field, s).map(|_| ()),
        ElementKind::Uscc => check_uscc(field, s),
        ElementKind::Phone => {
            let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
            if (7..=20).contains(&digits) && s.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)) {
                Ok(())
            } else {
                err(
                    "value.phone",
                    "电话号码格式不正确".into(),
                    "not a valid phone number".into(),
                )
            }
        }
        ElementKind::Email => {
            let ok = s
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.'))
                && !s.contains(char::is_whitespace);
            if ok {
                Ok(())
            } else {
                err(
                    "value.email",
                    "电子邮箱格式不正确".into(),
                    "not a valid e-mail address".into(),
                )
            }
        }
        ElementKind::Region => crate::regions::level_of(field, s).map(|_| ()),
    }
}

/// A plausible value of a data element, for a filled-in sample form (示例样表): valid for
/// its type (check digits included), obviously an example by its content.
pub fn example_value(e: &DataElement) -> String {
    let uscc = || {
        let body = "91460100MA5T00001";
        format!("{body}{}", crate::ids::uscc_check_char(body).expect("valid body"))
    };
    let text = |name: &str| -> String {
        if name.contains("姓名") || name.contains("法定代表人") || name.contains("负责人") {
            "张三".into()
        } else if ["地址", "住址", "坐落", "场所"].iter().any(|k| name.contains(k)) {
            "海南省海口市龙华区滨海大道 1 号".into()
        } else if name.contains("名称") {
            "海口椰风食品有限公司".into()
        } else if name.contains("号牌") {
            "琼A12345".into()
        } else if name.contains("号") {
            "B460100202600123".into()
        } else if name.contains("范围") {
            "餐饮服务；食品销售".into()
        } else {
            "（按实际情况填写）".into()
        }
    };
    let fit = |v: String| match e.max_len {
        Some(m) => v.chars().take(m as usize).collect(),
        None => v,
    };
    match e.kind {
        ElementKind::Text => fit(text(&e.name)),
        ElementKind::Integer => "2".into(),
        ElementKind::Decimal => "120.5".into(),
        ElementKind::Money => "1000.00".into(),
        ElementKind::Date => "2026-01-05".into(),
        ElementKind::Boolean => "是".into(),
        ElementKind::Choice => e.options.first().cloned().unwrap_or_default(),
        ElementKind::IdNumber => "11010519491231002X".into(),
        ElementKind::Uscc => uscc(),
        ElementKind::Phone => "13800138000".into(),
        ElementKind::Email => "zhangsan@example.com".into(),
        ElementKind::Region => "460106".into(),
    }
}

/// The dictionary every installation starts with (the common facts of applications).
pub fn default_dictionary() -> Vec<DataElement> {
    use ElementKind::*;
    let e = |code: &str, name: &str, kind: ElementKind, max: Option<u32>, prefill: Option<&str>| DataElement {
        code: code.into(),
        name: name.into(),
        kind,
        max_len: max,
        options: vec![],
        description: None,
        prefill: prefill.map(Into::into),
    };
    let choice = |code: &str, name: &str, options: &[&str]| DataElement {
        code: code.into(),
        name: name.into(),
        kind: Choice,
        max_len: None,
        options: options.iter().map(|s| s.to_string()).collect(),
        description: None,
        prefill: None,
    };
    vec![
        e("applicant_name", "申请人姓名", Text, Some(50), Some("person.name")),
        e(
            "applicant_id_number",
            "申请人公民身份号码",
            IdNumber,
            None,
            Some("person.id_number"),
        ),
        e("applicant_phone", "联系电话", Phone, None, Some("person.phone")),
        e("applicant_address", "联系地址", Text, Some(200), Some("person.address")),
        e("applicant_email", "电子邮箱", Email, Some(100), None),
        choice("gender", "性别", &["男", "女"]),
        e("birth_date", "出生日期", Date, None, None),
        e("ethnicity", "民族", Text, Some(20), None),
        e("household_address", "户籍地址", Text, Some(200), None),
        e("residence_address", "居住地址", Text, Some(200), None),
        e(
            "enterprise_name",
            "企业（单位）名称",
            Text,
            Some(100),
            Some("legal.name"),
        ),
        e("enterprise_uscc", "统一社会信用代码", Uscc, None, Some("legal.uscc")),
        e(
            "legal_representative",
            "法定代表人（负责人）",
            Text,
            Some(50),
            Some("legal.representative"),
        ),
        e("business_address", "经营场所", Text, Some(200), None),
        e("registered_capital", "注册资本（万元）", Decimal, None, None),
        e("business_scope", "经营范围", Text, Some(2000), None),
        e("business_area", "经营场所面积（平方米）", Decimal, None, None),
        e("employee_count", "从业人员数", Integer, None, None),
        choice(
            "food_business_type",
            "食品经营主体业态",
            &["食品销售经营者", "餐饮服务经营者", "单位食堂"],
        ),
        e("newborn_name", "新生儿姓名", Text, Some(50), None),
        e("newborn_birth_date", "新生儿出生日期", Date, None, None),
        e("birth_certificate_no", "出生医学证明编号", Text, Some(20), None),
        e("father_name", "父亲姓名", Text, Some(50), None),
        e("father_id_number", "父亲公民身份号码", IdNumber, None, None),
        e("mother_name", "母亲姓名", Text, Some(50), None),
        e("mother_id_number", "母亲公民身份号码", IdNumber, None, None),
        e("property_certificate_no", "不动产权证书号", Text, Some(50), None),
        e("property_location", "不动产坐落", Text, Some(200), None),
        e("property_area", "建筑面积（平方米）", Decimal, None, None),
        e("transaction_price", "成交价格（元）", Money, None, None),
        e("buyer_name", "买受人姓名（名称）", Text, Some(100), None),
        e("buyer_id_number", "买受人证件号码", Text, Some(30), None),
        e("utility_account_no", "水电气户号", Text, Some(30), None),
        choice(
            "disability_category",
            "残疾类别",
            &["视力", "听力", "言语", "肢体", "智力", "精神", "多重"],
        ),
        choice("disability_grade", "残疾等级", &["一级", "二级", "三级", "四级"]),
        e(
            "social_security_no",
            "社会保障号码",
            IdNumber,
            None,
            Some("person.id_number"),
        ),
        e("retirement_date", "退休日期", Date, None, None),
        e("bank_name", "开户银行", Text, Some(100), None),
        e("bank_account", "银行账号", Text, Some(40), None),
        e("vehicle_plate", "号牌号码", Text, Some(10), None),
        e("signboard_size", "招牌尺寸（米）", Text, Some(50), None),
        e("drainage_volume", "日排水量（立方米）", Decimal, None, None),
        e("apply_reason", "申请事由", Text, Some(500), None),
        e("remark", "备注", Text, Some(500), None),
    ]
}

// ---------------------------------------------------------------------------------------
// Validation of elements
// ---------------------------------------------------------------------------------------

fn key_ok(k: &str) -> bool {
    (1..=32).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn url_ok(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://") || (u.starts_with('/') && !u.starts_with("//")))
        && u.len() <= 500
        && !u.contains(char::is_whitespace)
}

/// A GB/T 36904 licence type code: the defining authority's credit code + 3 digits.
pub fn check_licence_type(field: &str, t: &str) -> Result<(), FieldError> {
    if t.len() != 21 || !t.is_ascii() || !t[18..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            field,
            "licence_type.format",
            "证照类型代码为 21 位：定义机构统一社会信用代码 + 3 位数字（GB/T 36904）",
            "a licence type code has 21 characters: the defining authority's credit code + 3 digits (GB/T 36904)",
        ));
    }
    check_uscc(field, &t[..18])
}

fn check_limit(p: &mut Problems, field: &str, l: &TimeLimit) {
    let max = match l.unit {
        TimeUnit::Months => 120,
        _ => 3650,
    };
    if l.value > max {
        p.push(FieldError::new(
            format!("{field}.value"),
            "time_limit.range",
            format!("时限不能超过 {max} {}", l.unit.zh()),
            format!("a time limit is at most {max} {}", l.unit.en()),
        ));
    }
    p.opt_text(&format!("{field}.note"), l.note.as_deref(), 200);
}

fn list_text(p: &mut Problems, field: &str, items: &[String], max_items: usize, max_chars: usize) {
    if items.len() > max_items {
        p.push(FieldError::new(
            field,
            "max_items",
            format!("最多 {max_items} 项"),
            format!("at most {max_items} entries"),
        ));
    }
    for (i, s) in items.iter().enumerate() {
        p.text(&format!("{field}[{i}]"), s, max_chars);
    }
}

fn file_ref(p: &mut Problems, field: &str, f: &Option<FileRef>) {
    if let Some(f) = f {
        p.text(&format!("{field}.name"), &f.name, 100);
        if !url_ok(&f.url) {
            p.push(FieldError::new(
                format!("{field}.url"),
                "url.format",
                "链接应为 http(s):// 开头的地址或本站路径 /…",
                "a link is an http(s):// address or a path on this portal (/…)",
            ));
        }
    }
}

/// Checks every rule of an item's elements at once (一次性告知), naming each field by its
/// JSON path. `element_known` tells whether a data-element code is in the dictionary.
pub fn check_elements(e: &Elements, policy: &CatalogPolicy, element_known: &dyn Fn(&str) -> bool) -> Problems {
    let mut p = Problems::new();
    p.text("name", &e.name, 100);
    list_text(&mut p, "aliases", &e.aliases, 20, 50);
    list_text(&mut p, "keywords", &e.keywords, 30, 30);
    list_text(&mut p, "themes", &e.themes, 10, 30);
    p.opt_text("local_code", e.local_code.as_deref(), 50);
    // 设定依据: every administrative power rests on a law (《行政许可法》第十二至十五条,
    // 《立法法》); only public services may lack one.
    if e.legal_basis.is_empty() && e.item_type != ItemType::PublicService {
        p.push(FieldError::new(
            "legal_basis",
            "catalog.legal_basis_required",
            "行政权力事项必须写明设定依据",
            "an administrative power needs its legal basis",
        ));
    }
    for (i, b) in e.legal_basis.iter().enumerate() {
        p.text(&format!("legal_basis[{i}].law"), &b.law, 200);
        p.opt_text(&format!("legal_basis[{i}].doc_no"), b.doc_no.as_deref(), 100);
        p.opt_text(&format!("legal_basis[{i}].article"), b.article.as_deref(), 100);
        p.opt_text(&format!("legal_basis[{i}].text"), Some(&b.text), 5000);
    }
    p.opt_text("conditions", Some(&e.conditions), 5000);
    p.opt_text("entrusting_department", e.entrusting_department.as_deref(), 100);
    if matches!(
        e.power_source,
        PowerSource::EntrustedBySuperior | PowerSource::EntrustedByPeer
    ) && e.entrusting_department.as_deref().is_none_or(|s| s.trim().is_empty())
    {
        p.push(FieldError::new(
            "entrusting_department",
            "catalog.entrusting_required",
            "受委托行使的事项必须写明委托部门",
            "an entrusted power names the entrusting department",
        ));
    }
    if let Some(s) = &e.statutory_limit {
        check_limit(&mut p, "statutory_limit", s);
    }
    match &e.promised_limit {
        None => p.push(FieldError::new(
            "promised_limit",
            "required",
            "必须写明承诺办结时限（即办件为 0）",
            "the promised time limit is required (0 for an on-the-spot item)",
        )),
        Some(pr) => {
            check_limit(&mut p, "promised_limit", pr);
            // STANDARDS §1 / §2: 承诺办结时限 ≤ 法定办结时限.
            if let Some(st) = &e.statutory_limit
                && !pr.within(st)
            {
                p.push(FieldError::new(
                    "promised_limit",
                    "catalog.promised_exceeds_statutory",
                    format!(
                        "承诺办结时限（{}）不能超过法定办结时限（{}）",
                        pr.text_zh(),
                        st.text_zh()
                    ),
                    format!(
                        "the promised limit ({}) cannot exceed the statutory limit ({})",
                        pr.text_en(),
                        st.text_en()
                    ),
                ));
            }
            // 即办件 are decided on the spot at acceptance (STANDARDS §2).
            let instant = e.case_kind == CaseKind::Instant;
            if instant != (pr.value == 0) {
                p.push(FieldError::new(
                    "case_kind",
                    "catalog.instant_limit",
                    "即办件的承诺时限为 0（当场办结）；承诺时限为 0 的事项应为即办件",
                    "an on-the-spot item (instant) has a promised limit of 0, and only it",
                ));
            }
            if pr.unit == TimeUnit::WorkingDays {
                let total: u32 = e.steps.iter().map(|s| s.days).sum();
                if total > pr.value {
                    p.push(FieldError::new(
                        "steps",
                        "catalog.steps_exceed_promised",
                        format!(
                            "各环节时限合计 {total} 个工作日，超过承诺办结时限 {} 个工作日",
                            pr.value
                        ),
                        format!(
                            "the steps take {total} working days in all, more than the promised {}",
                            pr.value
                        ),
                    ));
                }
            }
        }
    }
    if e.item_type != ItemType::PublicService || !e.materials.is_empty() {
        if e.service_objects.is_empty() {
            p.push(FieldError::new(
                "service_objects",
                "required",
                "请选择服务对象",
                "name who the item serves",
            ));
        }
        if e.handling_forms.is_empty() {
            p.push(FieldError::new(
                "handling_forms",
                "required",
                "请选择办理形式",
                "name how it can be applied for",
            ));
        }
    }
    if e.visits > 10 {
        p.push(FieldError::new(
            "visits",
            "range",
            "到办事现场次数为 0–10",
            "visits are 0–10",
        ));
    }
    if e.visits > 0 && e.visit_reason.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.push(FieldError::new(
            "visit_reason",
            "catalog.visit_reason_required",
            "需要到现场办理的，必须说明原因",
            "an item that needs a visit says why",
        ));
    }
    p.opt_text("visit_reason", e.visit_reason.as_deref(), 500);
    for (i, s) in e.steps.iter().enumerate() {
        p.text(&format!("steps[{i}].name"), &s.name, 50);
        p.opt_text(&format!("steps[{i}].standard"), Some(&s.standard), 1000);
    }
    for (i, s) in e.special_procedures.iter().enumerate() {
        if let Some(l) = &s.limit {
            check_limit(&mut p, &format!("special_procedures[{i}].limit"), l);
        }
        p.opt_text(&format!("special_procedures[{i}].basis"), Some(&s.basis), 500);
    }
    for (i, f) in e.fees.iter().enumerate() {
        p.text(&format!("fees[{i}].name"), &f.name, 100);
        p.text(&format!("fees[{i}].standard"), &f.standard, 200);
        p.text(&format!("fees[{i}].basis"), &f.basis, 500);
        if f.amount_fen.is_some_and(|a| a < 0) {
            p.push(FieldError::new(
                format!("fees[{i}].amount_fen"),
                "range",
                "金额不能为负",
                "an amount cannot be negative",
            ));
        }
        if f.reducible && f.reduction_basis.as_deref().is_none_or(|s| s.trim().is_empty()) {
            p.push(FieldError::new(
                format!("fees[{i}].reduction_basis"),
                "catalog.reduction_basis_required",
                "允许减免的收费必须写明减免依据",
                "a fee that may be reduced names the basis of the reduction",
            ));
        }
    }
    let mut keys = HashSet::new();
    for (i, m) in e.materials.iter().enumerate() {
        let f = |s: &str| format!("materials[{i}].{s}");
        if !key_ok(&m.key) {
            p.push(FieldError::new(
                f("key"),
                "material.key_format",
                "材料键为 1–32 位小写字母、数字、_ 或 -",
                "a material key has 1–32 lowercase letters, digits, _ or -",
            ));
        } else if !keys.insert(m.key.as_str()) {
            p.push(FieldError::new(
                f("key"),
                "material.duplicate_key",
                format!("材料键「{}」重复", m.key),
                format!("material key '{}' appears twice", m.key),
            ));
        }
        p.text(&f("name"), &m.name, 200);
        p.opt_text(&f("paper_spec"), m.paper_spec.as_deref(), 50);
        p.opt_text(&f("standard"), Some(&m.standard), 1000);
        p.opt_text(&f("basis"), m.basis.as_deref(), 500);
        p.opt_text(&f("notes"), m.notes.as_deref(), 1000);
        p.opt_text(&f("sign_seal"), m.sign_seal.as_deref(), 200);
        p.opt_text(&f("source.note"), m.source.note.as_deref(), 200);
        if m.originals > 20 || m.copies > 20 {
            p.push(FieldError::new(f("copies"), "range", "份数为 0–20", "counts are 0–20"));
        }
        if m.form != MaterialForm::Electronic && m.originals == 0 && m.copies == 0 {
            p.push(FieldError::new(
                f("originals"),
                "material.count_required",
                "纸质材料应写明原件或复印件份数",
                "a paper material states how many originals or copies",
            ));
        }
        if let Some(t) = &m.source.licence_type {
            p.check(check_licence_type(&f("source.licence_type"), t));
        }
        file_ref(&mut p, &f("blank_form"), &m.blank_form);
        file_ref(&mut p, &f("sample"), &m.sample);
    }
    if let Some(c) = &e.commitment {
        p.text("commitment.text", &c.text, 3000);
        if !(1..=365).contains(&c.check_days) {
            p.push(FieldError::new(
                "commitment.check_days",
                "range",
                "核查期限为 1–365 个工作日",
                "the check period is 1–365 working days",
            ));
        }
        p.opt_text("commitment.check_method", c.check_method.as_deref(), 200);
    }
    let mut seen = BTreeSet::new();
    for (i, d) in e.online_depth.iter().enumerate() {
        if !seen.insert(*d) {
            p.push(FieldError::new(
                format!("online_depth[{i}]"),
                "duplicate",
                "重复的网办深度",
                "this depth is listed twice",
            ));
        }
        if !e.online && *d != OnlineDepth::Consult {
            p.push(FieldError::new(
                format!("online_depth[{i}]"),
                "catalog.depth_without_online",
                "未开通网上办理的事项只能提供网上咨询",
                "an item not handled online offers online information only",
            ));
        }
    }
    if e.online && !e.handling_forms.contains(&HandlingForm::Online) {
        p.push(FieldError::new(
            "handling_forms",
            "catalog.online_form",
            "网上可办的事项，办理形式应包含「网上办理」",
            "an item handled online lists 'online' among its handling forms",
        ));
    }
    list_text(&mut p, "joint_agencies", &e.joint_agencies, 20, 100);
    list_text(&mut p, "intermediary_services", &e.intermediary_services, 20, 200);
    p.opt_text("quantity_limit", e.quantity_limit.as_deref(), 200);
    if let Some(r) = &e.result {
        p.text("result.name", &r.name, 100);
        file_ref(&mut p, "result.sample", &r.sample);
        if let Some(t) = &r.licence_type {
            p.check(check_licence_type("result.licence_type", t));
        }
    }
    p.opt_text("location", Some(&e.location), 500);
    p.opt_text("hours", Some(&e.hours), 200);
    p.opt_text("consult", Some(&e.consult), 500);
    p.opt_text("complaint", Some(&e.complaint), 500);
    for (k, u) in [("pc_url", &e.pc_url), ("mobile_url", &e.mobile_url)] {
        if let Some(u) = u
            && !url_ok(u)
        {
            p.push(FieldError::new(
                k,
                "url.format",
                "链接应为 http(s):// 开头的地址或本站路径 /…",
                "a link is an http(s):// address or a path on this portal (/…)",
            ));
        }
    }
    for (i, f) in e.faq.iter().enumerate() {
        p.text(&format!("faq[{i}].q"), &f.q, 200);
        p.text(&format!("faq[{i}].a"), &f.a, 2000);
    }
    if e.questions.len() > policy.max_questions {
        p.push(FieldError::new(
            "questions",
            "catalog.too_many_questions",
            format!(
                "情形问题最多 {} 个，办事人最多点击 {} 次即可得到材料清单",
                policy.max_questions, policy.max_questions
            ),
            format!(
                "at most {} situation questions, so the material list takes at most {} clicks",
                policy.max_questions, policy.max_questions
            ),
        ));
    }
    let mut qkeys = HashSet::new();
    for (i, q) in e.questions.iter().enumerate() {
        let f = |s: &str| format!("questions[{i}].{s}");
        if !key_ok(&q.key) || !qkeys.insert(q.key.as_str()) {
            p.push(FieldError::new(
                f("key"),
                "question.key",
                "问题键为 1–32 位小写字母、数字、_ 或 -，且不能重复",
                "a question key has 1–32 lowercase letters, digits, _ or - and is unique",
            ));
        }
        p.text(&f("text"), &q.text, 200);
        if q.choices.len() < 2 {
            p.push(FieldError::new(
                f("choices"),
                "question.choices",
                "每个问题至少 2 个选项",
                "a question has at least 2 answers",
            ));
        }
        let mut ckeys = HashSet::new();
        for (j, c) in q.choices.iter().enumerate() {
            let g = |s: &str| format!("questions[{i}].choices[{j}].{s}");
            if !key_ok(&c.key) || !ckeys.insert(c.key.as_str()) {
                p.push(FieldError::new(
                    g("key"),
                    "question.choice_key",
                    "选项键为 1–32 位小写字母、数字、_ 或 -，且在问题内不重复",
                    "an answer key has 1–32 lowercase letters, digits, _ or - and is unique in its question",
                ));
            }
            p.text(&g("text"), &c.text, 100);
            for (what, list) in [("adds", &c.adds), ("removes", &c.removes)] {
                for (k, m) in list.iter().enumerate() {
                    if !keys.contains(m.as_str()) {
                        p.push(FieldError::new(
                            format!("questions[{i}].choices[{j}].{what}[{k}]"),
                            "question.unknown_material",
                            format!("没有键为「{m}」的材料"),
                            format!("no material has the key '{m}'"),
                        ));
                    }
                }
            }
        }
    }
    let mut fields = HashSet::new();
    for (i, f) in e.form.iter().enumerate() {
        if !element_known(&f.element) {
            p.push(FieldError::new(
                format!("form[{i}].element"),
                "form.unknown_element",
                format!("数据元字典中没有「{}」", f.element),
                format!("the data-element dictionary has no '{}'", f.element),
            ));
        } else if !fields.insert(f.element.as_str()) {
            p.push(FieldError::new(
                format!("form[{i}].element"),
                "form.duplicate",
                format!("表单字段「{}」重复", f.element),
                format!("form field '{}' appears twice", f.element),
            ));
        }
        p.opt_text(&format!("form[{i}].label"), f.label.as_deref(), 50);
    }
    let mut suffixes = HashSet::new();
    for (i, h) in e.handling_items.iter().enumerate() {
        if h.suffix.len() != 2 || !h.suffix.bytes().all(|b| b.is_ascii_digit()) || h.suffix == "00" {
            p.push(FieldError::new(
                format!("handling_items[{i}].suffix"),
                "handling_item.suffix",
                "业务办理项编号为 01–99 两位数字",
                "a handling item number is two digits 01–99",
            ));
        } else if !suffixes.insert(h.suffix.as_str()) {
            p.push(FieldError::new(
                format!("handling_items[{i}].suffix"),
                "duplicate",
                format!("业务办理项编号「{}」重复", h.suffix),
                format!("handling item number '{}' appears twice", h.suffix),
            ));
        }
        p.text(&format!("handling_items[{i}].name"), &h.name, 100);
    }
    p
}

// ---------------------------------------------------------------------------------------
// Locked elements and level differences (同要素管理)
// ---------------------------------------------------------------------------------------

/// An implementation item's elements: the item's own values for the open elements, and
/// the basic entry's for the locked ones.
pub fn inherit(basic: &Elements, item: &Elements, policy: &CatalogPolicy) -> Elements {
    let b = basic.to_map();
    let mut m = item.to_map();
    for l in &policy.locked {
        match b.get(l) {
            Some(v) => m.insert(l.clone(), v.clone()),
            None => m.remove(l),
        };
    }
    serde_json::from_value(Value::Object(m)).expect("inherited elements stay valid")
}

/// Refuses an edit of a locked element below the basic entry, naming each one.
pub fn check_locked(basic: &Elements, proposed: &Elements, policy: &CatalogPolicy) -> Result<(), DomainError> {
    let b = basic.to_map();
    let p = proposed.to_map();
    let errors: Vec<FieldError> = policy
        .locked
        .iter()
        .filter(|l| b.get(*l) != p.get(*l))
        .map(|l| {
            FieldError::new(
                l.clone(),
                "catalog.locked_element",
                format!(
                    "「{}」是锁定要素，须与基本目录保持一致，只能在基本目录中修改",
                    element_zh(l)
                ),
                format!("'{l}' is a locked element: it stays identical to the basic directory entry and is changed there only"),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid(errors))
    }
}

/// One element that differs between implementation items of the same basic entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelDifference {
    pub element: String,
    pub element_zh: String,
    pub locked: bool,
    /// The value per item code (items agreeing share a value).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: BTreeMap<String, Value>,
}

/// Which elements differ between the given items (code → elements) and the basic entry
/// (under the key `basic`): locked ones first; only elements with more than one value.
pub fn level_differences(entries: &[(String, &Elements)], policy: &CatalogPolicy) -> Vec<LevelDifference> {
    let maps: Vec<(String, serde_json::Map<String, Value>)> =
        entries.iter().map(|(c, e)| (c.clone(), e.to_map())).collect();
    let mut out = vec![];
    for name in ELEMENT_NAMES {
        let values: BTreeMap<String, Value> = maps
            .iter()
            .map(|(c, m)| (c.clone(), m.get(*name).cloned().unwrap_or(Value::Null)))
            .collect();
        let first = values.values().next();
        if values.values().any(|v| Some(v) != first) {
            out.push(LevelDifference {
                element: name.to_string(),
                element_zh: element_zh(name).to_string(),
                locked: policy.is_locked(name),
                values,
            });
        }
    }
    out.sort_by_key(|d| !d.locked);
    out
}

// ---------------------------------------------------------------------------------------
// Versions: draft → submitted → published (four eyes)
// ---------------------------------------------------------------------------------------

/// The state of one version of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Being edited (also after a review returned it).
    Draft,
    /// Waiting for another manager's review; not editable.
    Submitted,
    /// Reviewed and published; in force between its dates.
    Published,
    /// Abandoned before publication.
    Discarded,
}

impl crate::Named for VersionState {
    fn zh(&self) -> &'static str {
        VersionState::zh(*self)
    }
    fn en(&self) -> &'static str {
        VersionState::en(*self)
    }
}

impl VersionState {
    pub const ALL: [VersionState; 4] = [
        VersionState::Draft,
        VersionState::Submitted,
        VersionState::Published,
        VersionState::Discarded,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Draft => "draft",
            VersionState::Submitted => "submitted",
            VersionState::Published => "published",
            VersionState::Discarded => "discarded",
        }
    }
    pub fn parse(s: &str) -> Option<VersionState> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    pub fn zh(self) -> &'static str {
        match self {
            VersionState::Draft => "草稿",
            VersionState::Submitted => "待审核",
            VersionState::Published => "已发布",
            VersionState::Discarded => "已废弃",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            VersionState::Draft => "draft",
            VersionState::Submitted => "awaiting review",
            VersionState::Published => "published",
            VersionState::Discarded => "discarded",
        }
    }
}

/// What the workflow needs to know of an entry's open (unpublished) version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenVersion {
    pub version: i64,
    pub state: VersionState,
    /// Everyone who edited this version (ledger actors).
    pub editors: Vec<String>,
    pub submitted_by: Option<String>,
}

/// A workflow action on an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Save the elements as the draft (creating the next version if none is open).
    SaveDraft,
    /// Send the draft for review.
    Submit,
    /// The submitter takes a submitted version back to draft.
    Recall,
    /// A reviewer sends it back with reasons.
    Return { reasons: String },
    /// A reviewer other than its editors and submitter publishes it (四眼原则).
    Publish,
    /// Abandon the draft.
    Discard,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::SaveDraft => "save_draft",
            Action::Submit => "submit",
            Action::Recall => "recall",
            Action::Return { .. } => "return",
            Action::Publish => "publish",
            Action::Discard => "discard",
        }
    }
}

/// What an allowed action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A new draft version with this number.
    NewDraft(i64),
    /// The open version is changed in place, to this state.
    To(i64, VersionState),
}

fn refused(rule: &str, zh: &str, en: &str) -> DomainError {
    DomainError::one(ErrorKind::Conflict, FieldError::new("state", rule, zh, en))
}

/// The workflow rule: what `action` by `actor` does given the entry's open version (if
/// any) and its latest version number. Four eyes: the publisher is neither an editor nor
/// the submitter of the version.
pub fn decide_action(
    open: Option<&OpenVersion>,
    latest_version: i64,
    action: &Action,
    actor: &str,
) -> Result<Transition, DomainError> {
    use VersionState::*;
    let state = open.map(|o| o.state);
    match (action, open, state) {
        (Action::SaveDraft, None, _) => Ok(Transition::NewDraft(latest_version + 1)),
        (Action::SaveDraft, Some(o), Some(Draft)) => Ok(Transition::To(o.version, Draft)),
        (Action::SaveDraft, Some(_), _) => Err(refused(
            "catalog.not_editable",
            "该版本已提交审核，不能修改；请先撤回或等待审核退回",
            "this version awaits review and cannot be edited; recall it or wait for the review",
        )),
        (Action::Submit, Some(o), Some(Draft)) => Ok(Transition::To(o.version, Submitted)),
        (Action::Recall, Some(o), Some(Submitted)) if o.submitted_by.as_deref() == Some(actor) => {
            Ok(Transition::To(o.version, Draft))
        }
        (Action::Recall, Some(_), Some(Submitted)) => Err(refused(
            "catalog.recall_not_submitter",
            "只有提交人可以撤回",
            "only the submitter can recall a version",
        )),
        (Action::Return { reasons }, Some(o), Some(Submitted)) => {
            if reasons.trim().is_empty() || reasons.chars().count() > 1000 {
                Err(DomainError::invalid(vec![FieldError::new(
                    "reasons",
                    "catalog.return_reasons",
                    "退回必须写明理由（最多 1000 字）",
                    "a return gives its reasons (at most 1000 characters)",
                )]))
            } else if o.submitted_by.as_deref() == Some(actor) {
                Err(refused(
                    "catalog.four_eyes",
                    "不能审核自己提交的版本（四眼原则），可撤回",
                    "you cannot review what you submitted (four eyes); recall it instead",
                ))
            } else {
                Ok(Transition::To(o.version, Draft))
            }
        }
        (Action::Publish, Some(o), Some(Submitted)) => {
            if o.submitted_by.as_deref() == Some(actor) || o.editors.iter().any(|e| e == actor) {
                Err(refused(
                    "catalog.four_eyes",
                    "编辑或提交该版本的人不能发布它，须由另一名管理人员审核发布（四眼原则）",
                    "whoever edited or submitted a version cannot publish it: another manager reviews it (four eyes)",
                ))
            } else {
                Ok(Transition::To(o.version, Published))
            }
        }
        (Action::Discard, Some(o), Some(Draft)) => Ok(Transition::To(o.version, Discarded)),
        (Action::Submit | Action::Discard, _, _) => Err(refused(
            "catalog.no_draft",
            "没有可操作的草稿",
            "there is no draft to act on",
        )),
        (Action::Recall | Action::Return { .. } | Action::Publish, _, _) => Err(refused(
            "catalog.not_submitted",
            "没有待审核的版本",
            "no version awaits review",
        )),
    }
}

/// A published version's dates: in force from `effective_from` until a later publication
/// takes over or its planned cancellation (计划取消日期).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub version: i64,
    pub effective_from_ms: i64,
    pub cancel_on_ms: Option<i64>,
}

/// When each published version is in force: `[from, until)`, `until` None for open-ended.
/// A version published later supersedes every earlier one from its own effective date
/// on, so at any moment at most one version is in force. Input in publication order.
pub fn validity(published: &[Published]) -> Vec<(i64, i64, Option<i64>)> {
    published
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let next = published[k + 1..].iter().map(|j| j.effective_from_ms).min();
            let until = [next, v.cancel_on_ms].into_iter().flatten().min();
            // A version superseded before it took effect is never in force.
            let until = until.map(|u| u.max(v.effective_from_ms));
            (v.version, v.effective_from_ms, until)
        })
        .collect()
}

/// Checks the dates a reviewer publishes with (epoch ms at 00:00 China time).
pub fn check_publication_dates(
    effective_from_ms: i64,
    cancel_on_ms: Option<i64>,
    today_ms: i64,
) -> Result<(), DomainError> {
    let mut p = Problems::new();
    if effective_from_ms < today_ms {
        p.push(FieldError::new(
            "effective_from",
            "catalog.effective_in_past",
            "生效日期不能早于今天",
            "the effective date cannot be before today",
        ));
    }
    if let Some(c) = cancel_on_ms
        && c <= effective_from_ms
    {
        p.push(FieldError::new(
            "cancel_on",
            "catalog.cancel_before_effective",
            "计划取消日期应晚于生效日期",
            "the planned cancellation comes after the effective date",
        ));
    }
    p.finish()
}

// ---------------------------------------------------------------------------------------
// Differences between versions
// ---------------------------------------------------------------------------------------

/// One changed value between two versions, at a JSON path such as `materials[2].name`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub path: String,
    /// The element's Chinese name.
    pub element_zh: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub before: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub after: Value,
}

/// Every difference between two JSON documents, depth first, in key order.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    fn walk(path: String, a: &Value, b: &Value, out: &mut Vec<Change>) {
        if a == b {
            return;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(
                        p,
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                for i in 0..x.len().max(y.len()) {
                    walk(
                        format!("{path}[{i}]"),
                        x.get(i).unwrap_or(&Value::Null),
                        y.get(i).unwrap_or(&Value::Null),
                        out,
                    );
                }
            }
            _ => {
                let top = path.split(['.', '[']).next().unwrap_or("");
                out.push(Change {
                    element_zh: element_zh(top).to_string(),
                    path,
                    before: a.clone(),
                    after: b.clone(),
                })
            }
        }
    }
    let mut out = vec![];
    walk(String::new(), before, after, &mut out);
    out
}

/// The top-level elements that differ between two versions.
pub fn changed_elements(before: &Elements, after: &Elements) -> Vec<String> {
    let a = before.to_map();
    let b = after.to_map();
    ELEMENT_NAMES
        .iter()
        .filter(|n| a.get(**n) != b.get(**n))
        .map(|n| n.to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Situation questionnaire (情形)
// ---------------------------------------------------------------------------------------

/// Whether a material is needed given the answers so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Need {
    Needed,
    /// Depends on a question not yet answered.
    Depends,
    NotNeeded,
}

/// The material list for a set of answers (question key → choice key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection<'a> {
    pub needed: Vec<&'a Material>,
    /// Needed or not depending on unanswered questions.
    pub depends: Vec<&'a Material>,
    pub unanswered: Vec<&'a Question>,
}

/// Turns answers into the exact material list: a material no answer adds is needed
/// unless a chosen answer removes it; a material some answer adds is needed when a chosen
/// answer adds it (and none removes it). Unknown questions or answers are refused.
pub fn select_materials<'a>(e: &'a Elements, answers: &BTreeMap<String, String>) -> Result<Selection<'a>, DomainError> {
    let mut p = Problems::new();
    let mut chosen: Vec<(&Question, Option<&Choice>)> = vec![];
    for q in &e.questions {
        let c = match answers.get(&q.key) {
            None => None,
            Some(k) if k.is_empty() => None,
            Some(k) => match q.choices.iter().find(|c| &c.key == k) {
                Some(c) => Some(c),
                None => {
                    p.push(FieldError::new(
                        format!("answers.{}", q.key),
                        "questionnaire.unknown_choice",
                        format!("「{}」没有选项「{k}」", q.text),
                        format!("'{}' has no answer '{k}'", q.key),
                    ));
                    None
                }
            },
        };
        chosen.push((q, c));
    }
    for k in answers.keys() {
        if !e.questions.iter().any(|q| &q.key == k) {
            p.push(FieldError::new(
                format!("answers.{k}"),
                "questionnaire.unknown_question",
                format!("没有问题「{k}」"),
                format!("there is no question '{k}'"),
            ));
        }
    }
    p.finish()?;
    let mut sel = Selection {
        needed: vec![],
        depends: vec![],
        unanswered: chosen.iter().filter(|(_, c)| c.is_none()).map(|(q, _)| *q).collect(),
    };
    for m in &e.materials {
        match need_of(m, &chosen) {
            Need::Needed => sel.needed.push(m),
            Need::Depends => sel.depends.push(m),
            Need::NotNeeded => {}
        }
    }
    Ok(sel)
}

fn need_of(m: &Material, chosen: &[(&Question, Option<&Choice>)]) -> Need {
    let k = &m.key;
    let added_anywhere = chosen.iter().any(|(q, _)| q.choices.iter().any(|c| c.adds.contains(k)));
    let removed_by_answer = chosen.iter().any(|(_, c)| c.is_some_and(|c| c.removes.contains(k)));
    if removed_by_answer {
        return Need::NotNeeded;
    }
    let added_by_answer = chosen.iter().any(|(_, c)| c.is_some_and(|c| c.adds.contains(k)));
    let open_could_change = chosen.iter().any(|(q, c)| {
        c.is_none()
            && q.choices
                .iter()
                .any(|ch| ch.removes.contains(k) || (ch.adds.contains(k)))
    });
    let base = !added_anywhere || added_by_answer;
    match (base, open_could_change) {
        (true, false) => Need::Needed,
        (false, false) => Need::NotNeeded,
        (true, true) => {
            // Needed unless an open question could still remove it.
            let open_removes = chosen
                .iter()
                .any(|(q, c)| c.is_none() && q.choices.iter().any(|ch| ch.removes.contains(k)));
            if open_removes { Need::Depends } else { Need::Needed }
        }
        (false, true) => Need::Depends,
    }
}

// ---------------------------------------------------------------------------------------
// The interchange document (our JSON format; round trip is lossless)
// ---------------------------------------------------------------------------------------

pub const DOC_FORMAT: &str = "yiwang-catalog";
pub const DOC_VERSION: u32 = 1;

/// A whole catalogue (or part of one) as exchanged by import and export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogDoc {
    /// Always `yiwang-catalog`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_elements: Vec<DataElement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub basic: Vec<BasicDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemDoc>,
}

impl CatalogDoc {
    pub fn new() -> CatalogDoc {
        CatalogDoc {
            format: DOC_FORMAT.into(),
            version: DOC_VERSION,
            data_elements: vec![],
            basic: vec![],
            items: vec![],
        }
    }
}

impl Default for CatalogDoc {
    fn default() -> Self {
        Self::new()
    }
}

/// A basic directory entry in the interchange document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicDoc {
    pub basic_code: String,
    pub elements: Elements,
}

/// An implementation item: the basic entry it implements, its department, and its own
/// elements, given as changes over the basic entry's (export writes them all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDoc {
    pub basic_code: String,
    /// Checked against the department and level when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation_code: Option<String>,
    /// The implementing department by credit code, or by exact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_uscc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
    /// Element name → value, over the basic entry's elements.
    #[serde(default)]
    pub elements: serde_json::Map<String, Value>,
}

/// An implementation item's full elements: the basic entry's, with the item's own values
/// laid over them (then checked like any elements).
pub fn overlay(basic: &Elements, own: &serde_json::Map<String, Value>, at: &str) -> Result<Elements, DomainError> {
    let mut m = basic.to_map();
    for (k, v) in own {
        if !ELEMENT_NAMES.contains(&k.as_str()) {
            return Err(DomainError::invalid(vec![FieldError::new(
                format!("{at}.{k}"),
                "catalog.unknown_element",
                format!("未知要素「{k}」"),
                format!("unknown element '{k}'"),
            )]));
        }
        m.insert(k.clone(), v.clone());
    }
    elements_from_value(Value::Object(m), at)
}

/// Reads elements from JSON, naming the bad field by its path under `at`.
pub fn elements_from_value(v: Value, at: &str) -> Result<Elements, DomainError> {
    serde_path_like(v).map_err(|(path, msg)| {
        DomainError::invalid(vec![FieldError::new(
            if path.is_empty() {
                at.to_string()
            } else {
                format!("{at}.{path}")
            },
            "type",
            format!("类型或取值不正确：{msg}"),
            msg,
        )])
    })
}

/// Deserialises elements, reporting the element (top-level key) at fault.
fn serde_path_like(v: Value) -> Result<Elements, (String, String)> {
    match serde_json::from_value::<Elements>(v.clone()) {
        Ok(e) => Ok(e),
        Err(err) => {
            // Find the first top-level element that fails on its own, to name it.
            let msg = err.to_string();
            if let Value::Object(m) = &v {
                let base = Elements::new("x", ItemType::PublicService).to_map();
                for (k, val) in m {
                    let mut probe = base.clone();
                    probe.insert(k.clone(), val.clone());
                    if let Err(e) = serde_json::from_value::<Elements>(Value::Object(probe)) {
                        return Err((k.clone(), e.to_string()));
                    }
                }
            }
            let missing = msg
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
                .unwrap_or("")
                .to_string();
            Err((missing, msg))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::uscc_check_char;

    fn uscc(n: u32) -> String {
        let body = format!("11460100{n:09}");
        format!("{body}{}", uscc_check_char(&body).unwrap())
    }

    fn item() -> Elements {
        let mut e = Elements::new("食品经营许可", ItemType::Licensing);
        e.legal_basis = vec![LegalBasis {
            law: "《中华人民共和国食品安全法》".into(),
            doc_no: None,
            article: Some("第三十五条".into()),
            text: "国家对食品生产经营实行许可制度。".into(),
        }];
        e.statutory_limit = Some(TimeLimit::working_days(20));
        e.promised_limit = Some(TimeLimit::working_days(5));
        e.service_objects = vec![ServiceObject::Enterprise];
        e.handling_forms = vec![HandlingForm::Window, HandlingForm::Online];
        e.online = true;
        e.online_depth = vec![OnlineDepth::Consult, OnlineDepth::Collect];
        e.materials = vec![
            material("apply", "食品经营许可申请书"),
            material("licence", "营业执照复印件"),
            material("agent", "授权委托书"),
            material("plan", "餐饮服务场所平面图"),
        ];
        e.questions = vec![
            Question {
                key: "agent".into(),
                text: "是否委托他人办理？".into(),
                choices: vec![choice("yes", &["agent"], &[]), choice("no", &[], &[])],
            },
            Question {
                key: "type".into(),
                text: "经营类型".into(),
                choices: vec![choice("catering", &["plan"], &[]), choice("sales", &[], &["licence"])],
            },
        ];
        e
    }
    fn material(key: &str, name: &str) -> Material {
        Material {
            key: key.into(),
            name: name.into(),
            kind: MaterialKind::Form,
            form: MaterialForm::Both,
            necessity: Necessity::Required,
            paper_spec: Some("A4".into()),
            originals: 1,
            copies: 0,
            source: MaterialSource::default(),
            standard: String::new(),
            basis: None,
            notes: None,
            blank_form: None,
            sample: None,
            sign_seal: None,
        }
    }
    fn choice(key: &str, adds: &[&str], removes: &[&str]) -> Choice {
        Choice {
            key: key.into(),
            text: key.into(),
            adds: adds.iter().map(|s| s.to_string()).collect(),
            removes: removes.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn known(_: &str) -> bool {
        true
    }

    #[test]
    fn real_codes_check_and_corruptions_fail() {
        // STANDARDS §1: real 实施编码 and 业务办理项编码.
        for c in [
            "11650000010183859F2650116013001",
            "1145072100811537184452004020000",
            "11450721MB155808114000104002000",
        ] {
            let ic = check_impl_code("code", c).unwrap();
            assert_eq!(impl_code(&ic.uscc, ic.level, &ic.basic_code), c);
        }
        let ic = check_impl_code("code", "11450721MB155808114000104002000").unwrap();
        assert_eq!(
            (ic.basic.origin.as_str(), ic.basic.item_type, ic.level),
            ("00", ItemType::Licensing, ExerciseLevel::County)
        );
        let (ic, h) = check_handling_code("code", "11450000007565194H200011501500504").unwrap();
        assert_eq!((ic.level, h.as_str()), (ExerciseLevel::Provincial, "04"));
        // A wrong credit-code check character, a bad level, a bad type, a short code.
        let e = check_impl_code("code", "11650000010183859E2650116013001").unwrap_err();
        assert_eq!(e.rule, "uscc.check_digit");
        assert_eq!(
            check_impl_code("code", "11650000010183859F7650116013001")
                .unwrap_err()
                .rule,
            "implementation_code.level"
        );
        assert_eq!(
            check_basic_code("b", "651116013001").unwrap_err().rule,
            "basic_code.item_type"
        );
        assert_eq!(check_basic_code("b", "99").unwrap_err().rule, "basic_code.format");
        assert_eq!(
            check_basic_code("b", "990116013001").unwrap_err().rule,
            "basic_code.origin"
        );
        assert_eq!(
            check_basic_code("b", "460100000000").unwrap_err().rule,
            "basic_code.main"
        );
    }

    #[test]
    fn basic_codes_are_generated_in_sequence() {
        assert_eq!(next_basic_code("46", ItemType::Licensing, []), "460100001000");
        let used = ["460100001000", "460100007000", "462000009000"];
        assert_eq!(
            next_basic_code("46", ItemType::Licensing, used.iter().copied()),
            "460100008000"
        );
        check_basic_code("b", &next_basic_code("00", ItemType::PublicService, [])).unwrap();
    }

    #[test]
    fn a_good_item_passes_and_every_bad_field_is_named() {
        let policy = CatalogPolicy::default();
        assert_eq!(check_elements(&item(), &policy, &known).0, vec![]);
        let mut e = item();
        e.promised_limit = Some(TimeLimit::working_days(25));
        e.materials[1].key = "apply".into();
        e.questions[0].choices[0].adds = vec!["nope".into()];
        e.fees.push(Fee {
            name: "工本费".into(),
            standard: "10 元".into(),
            amount_fen: Some(-1),
            basis: "x".into(),
            reducible: true,
            reduction_basis: None,
        });
        e.visits = 1;
        let rules: Vec<(String, String)> = check_elements(&e, &policy, &known)
            .0
            .into_iter()
            .map(|f| (f.field, f.rule))
            .collect();
        for want in [
            ("promised_limit", "catalog.promised_exceeds_statutory"),
            ("materials[1].key", "material.duplicate_key"),
            ("questions[0].choices[0].adds[0]", "question.unknown_material"),
            ("fees[0].amount_fen", "range"),
            ("fees[0].reduction_basis", "catalog.reduction_basis_required"),
            ("visit_reason", "catalog.visit_reason_required"),
        ] {
            assert!(
                rules.iter().any(|(f, r)| f == want.0 && r == want.1),
                "missing {want:?} in {rules:?}"
            );
        }
        let mut e = item();
        e.case_kind = CaseKind::Instant;
        assert!(
            check_elements(&e, &policy, &known)
                .0
                .iter()
                .any(|f| f.rule == "catalog.instant_limit")
        );
        let mut e = item();
        e.form = vec![FormField {
            element: "x".into(),
            label: None,
            required: true,
        }];
        assert_eq!(
            check_elements(&e, &policy, &|_| false).0[0].rule,
            "form.unknown_element"
        );
    }

    #[test]
    fn sets_have_one_canonical_order() {
        let mut a = item();
        a.service_objects = vec![
            ServiceObject::Government,
            ServiceObject::NaturalPerson,
            ServiceObject::Government,
        ];
        a.online_depth = vec![OnlineDepth::Feedback, OnlineDepth::Consult];
        let mut b = a.clone();
        b.service_objects.reverse();
        a.normalize();
        b.normalize();
        assert_eq!(a, b);
        assert_eq!(
            a.service_objects,
            vec![ServiceObject::NaturalPerson, ServiceObject::Government]
        );
        assert_eq!(a.online_depth, vec![OnlineDepth::Consult, OnlineDepth::Feedback]);
    }

    #[test]
    fn promised_within_statutory_across_units() {
        let wd = |v| TimeLimit::working_days(v);
        let nd = |v| TimeLimit {
            value: v,
            unit: TimeUnit::NaturalDays,
            note: None,
        };
        assert!(wd(20).within(&wd(20)));
        assert!(!wd(21).within(&wd(20)));
        assert!(nd(10).within(&wd(10)));
        assert!(!wd(5).within(&nd(7)), "5 working days can span more than 7 days");
        assert!(wd(5).within(&nd(30)));
        let m = TimeLimit {
            value: 1,
            unit: TimeUnit::Months,
            note: None,
        };
        assert!(nd(28).within(&m));
        assert!(!nd(29).within(&m));
    }

    #[test]
    fn locked_elements_are_inherited_and_edits_refused() {
        let policy = CatalogPolicy::default();
        let basic = item();
        let mut own = item();
        own.name = "改名".into();
        own.promised_limit = Some(TimeLimit::working_days(3));
        let e = check_locked(&basic, &own, &policy).unwrap_err();
        assert_eq!(
            (e.errors[0].field.as_str(), e.errors[0].rule.as_str()),
            ("name", "catalog.locked_element")
        );
        let inherited = inherit(&basic, &own, &policy);
        assert_eq!(inherited.name, basic.name);
        assert_eq!(inherited.promised_limit, Some(TimeLimit::working_days(3)));
        check_locked(&basic, &inherited, &policy).unwrap();
        let d = level_differences(&[("a".into(), &basic), ("b".into(), &own)], &policy);
        assert_eq!(d[0].element, "name");
        assert!(d[0].locked);
        assert!(d.iter().any(|x| x.element == "promised_limit" && !x.locked));
        let mut bad = policy.clone();
        bad.locked.push("colour".into());
        assert_eq!(bad.check().unwrap_err().errors[0].field, "catalog.locked[3]");
    }

    fn open(state: VersionState) -> OpenVersion {
        OpenVersion {
            version: 3,
            state,
            editors: vec!["editor".into()],
            submitted_by: (state == VersionState::Submitted).then(|| "submitter".into()),
        }
    }

    /// Every state × every action × (editor, submitter, reviewer): allowed with its
    /// transition or refused with a named rule.
    #[test]
    fn workflow_state_machine_is_exhaustive() {
        use VersionState::*;
        let actions = [
            Action::SaveDraft,
            Action::Submit,
            Action::Recall,
            Action::Return {
                reasons: "材料不全".into(),
            },
            Action::Return { reasons: " ".into() },
            Action::Publish,
            Action::Discard,
        ];
        let states: [Option<VersionState>; 3] = [None, Some(Draft), Some(Submitted)];
        for st in states {
            let o = st.map(open);
            for a in &actions {
                for actor in ["editor", "submitter", "reviewer"] {
                    let r = decide_action(o.as_ref(), 2, a, actor);
                    let expected: Result<Transition, &str> = match (st, a, actor) {
                        (None, Action::SaveDraft, _) => Ok(Transition::NewDraft(3)),
                        (Some(Draft), Action::SaveDraft, _) => Ok(Transition::To(3, Draft)),
                        (Some(Submitted), Action::SaveDraft, _) => Err("catalog.not_editable"),
                        (Some(Draft), Action::Submit, _) => Ok(Transition::To(3, Submitted)),
                        (_, Action::Submit, _) => Err("catalog.no_draft"),
                        (Some(Submitted), Action::Recall, "submitter") => Ok(Transition::To(3, Draft)),
                        (Some(Submitted), Action::Recall, _) => Err("catalog.recall_not_submitter"),
                        (_, Action::Recall, _) => Err("catalog.not_submitted"),
                        (Some(Submitted), Action::Return { reasons }, _) if reasons.trim().is_empty() => {
                            Err("catalog.return_reasons")
                        }
                        (Some(Submitted), Action::Return { .. }, "submitter") => Err("catalog.four_eyes"),
                        (Some(Submitted), Action::Return { .. }, _) => Ok(Transition::To(3, Draft)),
                        (_, Action::Return { .. }, _) => Err("catalog.not_submitted"),
                        (Some(Submitted), Action::Publish, "reviewer") => Ok(Transition::To(3, Published)),
                        (Some(Submitted), Action::Publish, _) => Err("catalog.four_eyes"),
                        (_, Action::Publish, _) => Err("catalog.not_submitted"),
                        (Some(Draft), Action::Discard, _) => Ok(Transition::To(3, Discarded)),
                        (_, Action::Discard, _) => Err("catalog.no_draft"),
                        (Some(Published | Discarded), ..) => unreachable!(),
                    };
                    match (r, expected) {
                        (Ok(t), Ok(e)) => assert_eq!(t, e, "{st:?} {a:?} {actor}"),
                        (Err(e), Err(rule)) => {
                            assert_eq!(e.errors[0].rule, rule, "{st:?} {a:?} {actor}");
                            assert!(!e.errors[0].zh.is_empty() && !e.errors[0].en.is_empty());
                        }
                        (r, e) => panic!("{st:?} {a:?} {actor}: got {r:?}, expected {e:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn validity_lets_one_version_be_in_force() {
        let p = |version, from, cancel| Published {
            version,
            effective_from_ms: from,
            cancel_on_ms: cancel,
        };
        // v1 from 0; v2 scheduled at 100; v3 (published last) from 50 supersedes v2.
        let v = validity(&[p(1, 0, None), p(2, 100, None), p(3, 50, Some(200))]);
        assert_eq!(v, vec![(1, 0, Some(50)), (2, 100, Some(100)), (3, 50, Some(200))]);
        for t in [0, 49, 50, 99, 100, 150, 199, 200, 300] {
            let n = v.iter().filter(|(_, f, u)| *f <= t && u.is_none_or(|u| t < u)).count();
            assert!(n <= 1, "t={t}: {n} versions in force");
        }
        assert!(check_publication_dates(10, Some(5), 0).is_err());
        assert!(check_publication_dates(-1, None, 0).is_err());
        assert!(check_publication_dates(0, Some(1), 0).is_ok());
    }

    #[test]
    fn diff_names_paths() {
        let a = item();
        let mut b = item();
        b.materials[2].name = "委托书".into();
        b.promised_limit = Some(TimeLimit::working_days(3));
        let d = diff(&serde_json::to_value(&a).unwrap(), &serde_json::to_value(&b).unwrap());
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec!["materials[2].name", "promised_limit.value"]);
        assert_eq!(d[0].element_zh, "申请材料");
        assert_eq!(changed_elements(&a, &b), vec!["promised_limit", "materials"]);
    }

    #[test]
    fn questionnaire_selects_exact_materials() {
        let e = item();
        let ans = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
        };
        let keys = |s: &Selection| s.needed.iter().map(|m| m.key.clone()).collect::<Vec<_>>();
        let none = select_materials(&e, &ans(&[])).unwrap();
        assert_eq!(keys(&none), vec!["apply"]);
        assert_eq!(
            none.depends.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(),
            vec!["licence", "agent", "plan"]
        );
        let s = select_materials(&e, &ans(&[("agent", "yes"), ("type", "catering")])).unwrap();
        assert_eq!(keys(&s), vec!["apply", "licence", "agent", "plan"]);
        assert!(s.depends.is_empty() && s.unanswered.is_empty());
        let s = select_materials(&e, &ans(&[("agent", "no"), ("type", "sales")])).unwrap();
        assert_eq!(keys(&s), vec!["apply"]);
        let err = select_materials(&e, &ans(&[("agent", "maybe"), ("colour", "red")])).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["answers.agent", "answers.colour"]);
    }

    #[test]
    fn stars_follow_the_configured_rules() {
        let policy = CatalogPolicy::default();
        let mut e = item();
        assert_eq!(policy.stars(&e), 1);
        e.online_depth = OnlineDepth::ALL.to_vec();
        e.visits = 0;
        assert_eq!(policy.stars(&e), 5);
        assert!(e.full_online());
        e.visits = 1;
        e.visit_reason = Some("核验原件".into());
        assert_eq!(policy.stars(&e), 3);
        assert!(!e.full_online());
        e.online_depth.clear();
        assert_eq!(policy.stars(&e), 0);
    }

    #[test]
    fn data_elements_check_values() {
        let dict = default_dictionary();
        for d in &dict {
            check_data_element(d).unwrap_or_else(|e| panic!("{}: {e}", d.code));
        }
        let get = |c: &str| dict.iter().find(|d| d.code == c).unwrap();
        let v = |s: &str| Value::String(s.into());
        assert!(check_value("f", get("applicant_id_number"), &v("11010519491231002X")).is_ok());
        assert_eq!(
            check_value("f", get("applicant_id_number"), &v("110105194912310021"))
                .unwrap_err()
                .rule,
            "resident_id.check_digit"
        );
        assert!(check_value("f", get("enterprise_uscc"), &v(&uscc(5))).is_ok());
        assert_eq!(
            check_value("f", get("gender"), &v("X")).unwrap_err().rule,
            "value.choice"
        );
        assert_eq!(
            check_value("f", get("birth_date"), &v("2024-02-30")).unwrap_err().rule,
            "value.date"
        );
        assert!(check_value("f", get("registered_capital"), &serde_json::json!(12.5)).is_ok());
        // Example values pass their own checks.
        for d in &dict {
            let v = example_value(d);
            let value = match d.kind {
                ElementKind::Boolean => Value::Bool(true),
                _ => Value::String(v.clone()),
            };
            check_value("f", d, &value).unwrap_or_else(|e| panic!("{}: example {v}: {}", d.code, e.en));
        }
        let bad = DataElement {
            code: "9x".into(),
            name: String::new(),
            kind: ElementKind::Choice,
            max_len: Some(0),
            options: vec![],
            description: None,
            prefill: Some("person.shoe_size".into()),
        };
        let rules: Vec<String> = check_data_element(&bad)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.rule)
            .collect();
        assert_eq!(
            rules,
            vec![
                "data_element.code_format",
                "required",
                "data_element.options",
                "data_element.prefill_source",
                "range"
            ]
        );
    }

    #[test]
    fn overlay_names_the_bad_element() {
        let basic = item();
        let mut own = serde_json::Map::new();
        own.insert(
            "promised_limit".into(),
            serde_json::json!({"value": 3, "unit": "working_days"}),
        );
        assert_eq!(
            overlay(&basic, &own, "items[0].elements")
                .unwrap()
                .promised_limit
                .unwrap()
                .value,
            3
        );
        own.insert("visits".into(), serde_json::json!("two"));
        let e = overlay(&basic, &own, "items[0].elements").unwrap_err();
        assert_eq!(e.errors[0].field, "items[0].elements.visits");
        let mut own = serde_json::Map::new();
        own.insert("colour".into(), serde_json::json!(1));
        assert_eq!(
            overlay(&basic, &own, "items[1].elements").unwrap_err().errors[0].rule,
            "catalog.unknown_element"
        );
    }

    #[test]
    fn element_names_match_the_struct() {
        let m = item().to_map();
        // Optional elements absent from JSON when empty are still listed.
        for k in m.keys() {
            assert!(ELEMENT_NAMES.contains(&k.as_str()), "{k} missing from ELEMENT_NAMES");
        }
        for n in ELEMENT_NAMES {
            assert_ne!(element_zh(n), "要素", "{n} has no Chinese name");
        }
        let json = serde_json::to_string(&item()).unwrap();
        let back: Elements = serde_json::from_str(&json).unwrap();
        assert_eq!(back, item());
    }
}
