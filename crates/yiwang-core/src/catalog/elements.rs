//! The elements of an item (STANDARDS §1, national exchange schema): time limits, materials, fees, steps, forms.

use super::*;

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
    /// The name in English, shown on English pages and found by English searches; the
    /// Chinese name stays the legal one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
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
    "name_en",
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
        "name_en" => "英文名称",
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
