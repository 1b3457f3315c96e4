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
        crate::from_text!($name);
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

crate::from_text!(EntryKind);

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

mod elements;
pub use elements::*;
mod policy;
pub use policy::*;
mod codes;
pub use codes::*;
mod dictionary;
pub use dictionary::*;
mod rules;
pub use rules::*;
mod inherit;
pub use inherit::*;
mod versions;
pub use versions::*;
mod diff;
pub use diff::*;
mod questionnaire;
pub use questionnaire::*;
mod interchange;
pub use interchange::*;
#[cfg(test)]
mod tests;
