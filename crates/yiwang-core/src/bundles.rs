//! 一件事一次办 (国发〔2024〕3号, 国办发〔2025〕24号; STANDARDS §5): a life event of a
//! person or an enterprise handled as one application although several departments decide
//! several items — told once (一次告知), one form (一表申请), one set of materials (一套材料),
//! one window or page (一窗(端)受理), one case (一网办理).
//!
//! A bundle is data: its definition names member items (implementation items in force),
//! the situation questions that decide which members apply, the dependencies between
//! members (a successor starts when its predecessor's result exists, and that result stands
//! in for a material: 免提交), the promised total limit and what happens when a member is
//! refused. This module checks a definition against the member items it names and merges
//! the members' questions, materials and forms into one guide. Pure functions.

use crate::access::region_within;
use crate::cases::{Application, Provision};
use crate::catalog::{
    Choice, Elements, ExerciseLevel, Fee, FormField, HandlingForm, LegalBasis, Material, Necessity, Need, Question,
    ResultSpec, ServiceObject, TimeLimit, TimeUnit, need_of_key, select_materials,
};
use crate::error::{DomainError, FieldError, Problems};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Who a bundle is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// 个人: a natural person's life event (新生儿出生, 退休).
    Person,
    /// 企业: an enterprise's (开办餐饮店, 企业信息变更).
    Enterprise,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Person => "person",
            Audience::Enterprise => "enterprise",
        }
    }
    pub fn parse(s: &str) -> Option<Audience> {
        [Audience::Person, Audience::Enterprise]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
    pub fn zh(self) -> &'static str {
        match self {
            Audience::Person => "个人",
            Audience::Enterprise => "企业",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Audience::Person => "persons",
            Audience::Enterprise => "enterprises",
        }
    }
    /// Whether an item serving these objects can be a member (an item that names none
    /// serves anyone).
    fn served_by(self, objects: &[ServiceObject]) -> bool {
        objects.is_empty()
            || objects.iter().any(|o| match self {
                Audience::Person => *o == ServiceObject::NaturalPerson,
                Audience::Enterprise => *o != ServiceObject::NaturalPerson,
            })
    }
}

crate::from_text!(Audience);

impl crate::Named for Audience {
    fn zh(&self) -> &'static str {
        Audience::zh(*self)
    }
    fn en(&self) -> &'static str {
        Audience::en(*self)
    }
}

/// What happens to the other members when one is refused: part of the definition
/// (国办发〔2025〕24号 asks that the applicant is told in one notice either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnRefusal {
    /// The others go on; the bundle ends with what was granted.
    #[default]
    Continue,
    /// The members not yet decided stop (withdrawn on the applicant's behalf).
    Stop,
}

/// A member depends on another: it starts when that member's result exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The key of the member that comes first.
    pub member: String,
    /// Materials of this member (their keys in its item) that the predecessor's result
    /// provides: the applicant does not bring them (免提交).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<String>,
}

/// A member item of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Its key within the bundle (`[a-z0-9_]`, up to 32).
    pub key: String,
    /// The 31-character implementation code of an item in force.
    pub item_code: String,
    /// 多地联办: the partner node that decides this member (its item, offered there for
    /// joint handling); none for an item of this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Dependency>,
}

/// A bundle's definition: one version of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BundleDoc {
    /// The bundle's own implementation code: the region's six digits, `YJS`, four digits
    /// (e.g. `460100YJS0001`).
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Other names citizens use (开饭店 for 开办餐饮店); searched.
    #[serde(default)]
    pub aliases: Vec<String>,
    pub audience: Audience,
    /// The life-event theme (出生, 开办企业, 退休 …).
    pub theme: String,
    /// The region whose window takes it; every member's item is of this region or below.
    pub region_code: String,
    pub level: ExerciseLevel,
    /// 牵头部门: sees the whole bundle and its clocks. The cooperating departments (配合)
    /// are the members' own.
    pub lead_department_id: String,
    pub members: Vec<Member>,
    /// Questions that decide which members apply: a choice's `adds`/`removes` name member
    /// keys. The members' own questions are merged in the guide (asked once).
    #[serde(default)]
    pub questions: Vec<Question>,
    /// The promised total limit, in working days.
    pub promised_days: u32,
    pub channels: Vec<HandlingForm>,
    #[serde(default)]
    pub legal_basis: Vec<LegalBasis>,
    #[serde(default)]
    pub on_refusal: OnRefusal,
    /// A short description shown on the guide.
    #[serde(default)]
    pub description: String,
}

/// What a check or a merge needs of a member's item in force.
#[derive(Debug, Clone, Copy)]
pub struct MemberItem<'a> {
    pub code: &'a str,
    pub region_code: &'a str,
    pub department_id: &'a str,
    pub department_name: &'a str,
    pub elements: &'a Elements,
}

/// Most members of one bundle.
pub const MAX_MEMBERS: usize = 30;

fn member_key_ok(k: &str) -> bool {
    (1..=32).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `code`: six region digits, `YJS`, four digits.
pub fn check_code(field: &str, code: &str, region_code: &str) -> Result<(), FieldError> {
    let b = code.as_bytes();
    let shape = b.len() == 13
        && b[..6].iter().all(u8::is_ascii_digit)
        && &b[6..9] == b"YJS"
        && b[9..].iter().all(u8::is_ascii_digit);
    if !shape {
        return Err(FieldError::new(
            field,
            "bundles.code_format",
            "一件事编码为 6 位行政区划代码 + “YJS” + 4 位顺序号，如 460100YJS0001",
            "a bundle code is the six-digit region code, 'YJS' and four digits, e.g. 460100YJS0001",
        ));
    }
    let region6 = format!("{:0<6}", region_code.get(..6).unwrap_or(region_code));
    if code[..6] != region6 {
        return Err(FieldError::new(
            field,
            "bundles.code_region",
            format!("一件事编码应以所属区划代码 {region6} 开头"),
            format!("the code starts with the bundle's region code {region6}"),
        ));
    }
    Ok(())
}

/// Checks a definition against the items in force it names (`items` by implementation
/// code; a code missing from it is not published or not in force). Every problem names its
/// field.
pub fn check(doc: &BundleDoc, items: &BTreeMap<String, MemberItem<'_>>) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.check(check_code("code", &doc.code, &doc.region_code));
    p.text("name", &doc.name, 100);
    p.text("theme", &doc.theme, 40);
    p.opt_text("name_en", doc.name_en.as_deref(), 200);
    p.opt_text("description", Some(&doc.description), 2000);
    for (i, a) in doc.aliases.iter().enumerate() {
        p.text(&format!("aliases[{i}]"), a, 40);
    }
    // A bundle joins items of several departments (国发〔2024〕3号: 多个事项): two at least.
    if doc.members.len() < 2 || doc.members.len() > MAX_MEMBERS {
        p.push(FieldError::new(
            "members",
            "bundles.member_count",
            format!("一件事包含 2 至 {MAX_MEMBERS} 个事项"),
            format!("a bundle has 2 to {MAX_MEMBERS} member items"),
        ));
    }
    if doc.channels.is_empty() {
        p.push(FieldError::new(
            "channels",
            "bundles.no_channel",
            "至少提供一种办理渠道（窗口、网上或快递）",
            "name at least one channel (window, online or post)",
        ));
    }
    if !(1..=365).contains(&doc.promised_days) {
        p.push(FieldError::new(
            "promised_days",
            "bundles.promised_days",
            "承诺办结时限为 1 至 365 个工作日",
            "the promised limit is 1 to 365 working days",
        ));
    }
    let mut keys: HashMap<&str, usize> = HashMap::new();
    let mut codes: BTreeSet<&str> = BTreeSet::new();
    for (i, m) in doc.members.iter().enumerate() {
        let f = |x: &str| format!("members[{i}].{x}");
        if !member_key_ok(&m.key) {
            p.push(FieldError::new(
                f("key"),
                "bundles.member_key",
                "成员标识为 1 至 32 位小写字母、数字或下划线",
                "a member key is 1 to 32 lowercase letters, digits or underscores",
            ));
        } else if keys.insert(&m.key, i).is_some() {
            p.push(FieldError::new(
                f("key"),
                "bundles.duplicate_member",
                format!("成员标识「{}」重复", m.key),
                format!("member key '{}' is used twice", m.key),
            ));
        }
        if !codes.insert(&m.item_code) {
            p.push(FieldError::new(
                f("item_code"),
                "bundles.duplicate_item",
                format!("事项 {} 重复列入", m.item_code),
                format!("item {} is listed twice", m.item_code),
            ));
        }
        match items.get(&m.item_code) {
            None => p.push(FieldError::new(
                f("item_code"),
                "bundles.unpublished_item",
                format!("事项 {} 不存在、未发布或不在有效期内", m.item_code),
                format!(
                    "item {} does not exist, is not published or is not in force",
                    m.item_code
                ),
            )),
            Some(it) => {
                // The bundle's window takes the application for its region (一窗受理):
                // an item of another region is that region's bundle, or 跨域通办 — a member
                // decided at a partner node (多地联办, 国办发〔2020〕35号).
                if m.node.is_none() && !region_within(&doc.region_code, it.region_code) {
                    p.push(FieldError::new(
                        f("item_code"),
                        "bundles.foreign_region",
                        format!(
                            "事项 {} 属于区划 {}，不在本一件事的区划 {} 内",
                            m.item_code, it.region_code, doc.region_code
                        ),
                        format!(
                            "item {} belongs to region {}, outside the bundle's region {}",
                            m.item_code, it.region_code, doc.region_code
                        ),
                    ));
                }
                if !doc.audience.served_by(&it.elements.service_objects) {
                    p.push(FieldError::new(
                        f("item_code"),
                        "bundles.audience",
                        format!("事项「{}」的服务对象不含{}", it.elements.name, doc.audience.zh()),
                        format!("item '{}' does not serve {}", it.elements.name, doc.audience.en()),
                    ));
                }
            }
        }
    }
    // 多地联办 (国办发〔2020〕35号): the receiving node asserts who a person is to its
    // partners; an enterprise's members stay with one node.
    if doc.audience != Audience::Person
        && let Some(i) = doc.members.iter().position(|m| m.node.is_some())
    {
        p.push(FieldError::new(
            format!("members[{i}].node"),
            "bundles.remote_audience",
            "跨节点（多地联办）的一件事仅面向个人",
            "a bundle with members decided at other nodes serves persons only",
        ));
    }
    // Dependencies: known members, what they feed exists, and no cycle.
    for (i, m) in doc.members.iter().enumerate() {
        for (j, d) in m.after.iter().enumerate() {
            let f = |x: &str| format!("members[{i}].after[{j}].{x}");
            let Some(&pi) = keys.get(d.member.as_str()) else {
                p.push(FieldError::new(
                    f("member"),
                    "bundles.unknown_member",
                    format!("没有成员「{}」", d.member),
                    format!("there is no member '{}'", d.member),
                ));
                continue;
            };
            if pi == i {
                p.push(FieldError::new(
                    f("member"),
                    "bundles.dependency_cycle",
                    "事项不能依赖自身",
                    "a member cannot depend on itself",
                ));
                continue;
            }
            // A result of one node is not a material at another: a member decided elsewhere
            // may wait for another's result but neither gives nor takes one in place of a
            // material (mutual recognition is the holder's, at the portal).
            if !d.feeds.is_empty() && (m.node.is_some() || doc.members[pi].node.is_some()) {
                p.push(FieldError::new(
                    f("feeds"),
                    "bundles.remote_feeds",
                    "其他节点办理的事项不能以结果替代材料",
                    "a member decided at another node neither gives nor takes a result in place of a material",
                ));
            }
            let pred = items.get(&doc.members[pi].item_code);
            if !d.feeds.is_empty() && pred.is_some_and(|it| it.elements.result.is_none()) {
                p.push(FieldError::new(
                    f("feeds"),
                    "bundles.no_result",
                    format!("成员「{}」的事项没有审批结果，不能替代材料", d.member),
                    format!("member '{}' has no result that could stand in for a material", d.member),
                ));
            }
            if let Some(it) = items.get(&m.item_code) {
                for (k, mat) in d.feeds.iter().enumerate() {
                    if !it.elements.materials.iter().any(|x| &x.key == mat) {
                        p.push(FieldError::new(
                            format!("members[{i}].after[{j}].feeds[{k}]"),
                            "bundles.unknown_material",
                            format!("事项「{}」没有材料「{mat}」", it.elements.name),
                            format!("item '{}' has no material '{mat}'", it.elements.name),
                        ));
                    }
                }
            }
        }
    }
    if let Some(i) = first_in_cycle(doc) {
        p.push(FieldError::new(
            format!("members[{i}].after"),
            "bundles.dependency_cycle",
            format!("成员「{}」的前置关系构成循环", doc.members[i].key),
            format!("the dependencies of member '{}' form a cycle", doc.members[i].key),
        ));
    }
    // The bundle's questions choose members.
    let mut qkeys: BTreeSet<&str> = BTreeSet::new();
    for (i, q) in doc.questions.iter().enumerate() {
        if q.key.trim().is_empty() || !qkeys.insert(&q.key) {
            p.push(FieldError::new(
                format!("questions[{i}].key"),
                "bundles.question_key",
                "问题标识不能为空或重复",
                "a question key is present and unique",
            ));
        }
        if q.choices.len() < 2 {
            p.push(FieldError::new(
                format!("questions[{i}].choices"),
                "bundles.question_choices",
                "问题至少有两个选项",
                "a question has at least two answers",
            ));
        }
        for (j, c) in q.choices.iter().enumerate() {
            for (k, key) in c.adds.iter().chain(&c.removes).enumerate() {
                if !keys.contains_key(key.as_str()) {
                    p.push(FieldError::new(
                        format!("questions[{i}].choices[{j}].members[{k}]"),
                        "bundles.unknown_member",
                        format!("没有成员「{key}」"),
                        format!("there is no member '{key}'"),
                    ));
                }
            }
        }
    }
    // The members' questions are asked once: the same key must mean the same question
    // (一表申请); a bundle question may not reuse one of their keys.
    let mut seen: BTreeMap<&str, (usize, &Question)> = BTreeMap::new();
    for (i, m) in doc.members.iter().enumerate() {
        let Some(it) = items.get(&m.item_code) else { continue };
        for q in &it.elements.questions {
            if qkeys.contains(q.key.as_str()) {
                p.push(FieldError::new(
                    format!("members[{i}].item_code"),
                    "bundles.question_conflict",
                    format!("事项「{}」的问题「{}」与一件事自身的问题同名", it.elements.name, q.key),
                    format!(
                        "item '{}' asks question '{}', a key the bundle uses itself",
                        it.elements.name, q.key
                    ),
                ));
            }
            match seen.get(q.key.as_str()) {
                Some((first, other)) if !same_question(other, q) => p.push(FieldError::new(
                    format!("members[{i}].item_code"),
                    "bundles.question_conflict",
                    format!(
                        "事项「{}」与成员「{}」都问「{}」，但选项不同，无法合并为一问",
                        it.elements.name, doc.members[*first].key, q.key
                    ),
                    format!(
                        "item '{}' and member '{}' both ask '{}' with different answers: they cannot be asked once",
                        it.elements.name, doc.members[*first].key, q.key
                    ),
                )),
                Some(_) => {}
                None => {
                    seen.insert(&q.key, (i, q));
                }
            }
        }
    }
    p.finish()
}

/// Two questions with the same key can be asked once: same answers, same keys.
fn same_question(a: &Question, b: &Question) -> bool {
    let keys = |q: &Question| q.choices.iter().map(|c| c.key.clone()).collect::<BTreeSet<_>>();
    keys(a) == keys(b)
}

/// The index of a member on a dependency cycle, if any (depth-first search).
fn first_in_cycle(doc: &BundleDoc) -> Option<usize> {
    let idx: HashMap<&str, usize> = doc
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| (m.key.as_str(), i))
        .collect();
    // 0 unvisited, 1 on the path, 2 done.
    fn visit(i: usize, doc: &BundleDoc, idx: &HashMap<&str, usize>, mark: &mut [u8]) -> Option<usize> {
        mark[i] = 1;
        for d in &doc.members[i].after {
            let Some(&j) = idx.get(d.member.as_str()) else { continue };
            if j == i {
                continue; // reported as a self-dependency
            }
            match mark[j] {
                1 => return Some(j),
                0 => {
                    if let Some(c) = visit(j, doc, idx, mark) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        mark[i] = 2;
        None
    }
    let mut mark = vec![0u8; doc.members.len()];
    (0..doc.members.len()).find_map(|i| {
        if mark[i] == 0 {
            visit(i, doc, &idx, &mut mark)
        } else {
            None
        }
    })
}

/// A member as the merged guide shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GuideMember {
    pub key: String,
    pub item_code: String,
    pub name: String,
    pub department_id: String,
    pub department_name: String,
    /// Whether it applies given the answers so far.
    pub need: Need,
    /// The members whose results it waits for.
    pub after: Vec<String>,
    pub promised_limit: Option<TimeLimit>,
    pub result: Option<ResultSpec>,
    /// Its item allows 告知承诺 (the applicant's commitment replaces proofs).
    pub commitment: bool,
}

/// One material of the whole event: the same material (or licence type) counted once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergedMaterial {
    /// Its key in the one set of materials: `member.material` of the first member that
    /// asks for it.
    pub key: String,
    /// As the first member that asks for it describes it.
    pub material: Material,
    pub need: Need,
    /// The members that ask for it, and under which material key each.
    pub members: Vec<(String, String)>,
    /// The member whose result provides it on the way (免提交): not brought.
    pub produced_by: Option<String>,
}

/// One question of the whole event, asked once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergedQuestion {
    pub question: Question,
    /// The members that ask it; empty for the bundle's own questions.
    pub members: Vec<String>,
    pub answer: Option<String>,
}

/// One field of the one form (一表申请): a data element asked once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergedField {
    pub field: FormField,
    pub members: Vec<String>,
}

/// What the bundle saves against applying for each member separately, from the
/// definitions (applications, materials brought, form fields, visits, working days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Savings {
    pub separate_applications: u32,
    pub applications: u32,
    pub separate_materials: u32,
    pub materials: u32,
    pub separate_fields: u32,
    pub fields: u32,
    pub separate_visits: u32,
    pub visits: u32,
    /// The members' promised limits in working days, one after another.
    pub separate_days: u32,
    pub days: u32,
}

/// The merged guide of a bundle for a set of answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Guide {
    pub members: Vec<GuideMember>,
    pub questions: Vec<MergedQuestion>,
    pub materials: Vec<MergedMaterial>,
    pub form: Vec<MergedField>,
    /// Fees by member key.
    pub fees: Vec<(String, Fee)>,
    pub savings: Savings,
}

impl Guide {
    /// Questions still unanswered.
    pub fn unanswered(&self) -> usize {
        self.questions.iter().filter(|q| q.answer.is_none()).count()
    }
}

/// What identifies a material across items: the licence type it is (a licence is the same
/// material whoever asks for it; `fed` is the type of the result that stands in for it),
/// else its name without spaces.
fn material_identity(m: &Material, fed: Option<&str>) -> String {
    match m.source.licence_type.as_deref().or(fed) {
        Some(t) => format!("licence:{t}"),
        None => format!(
            "name:{}",
            m.name.chars().filter(|c| !c.is_whitespace()).collect::<String>()
        ),
    }
}

fn stricter(a: Necessity, b: Necessity) -> Necessity {
    let rank = |n: Necessity| match n {
        Necessity::Required => 0,
        Necessity::Tolerated => 1,
        Necessity::Optional => 2,
    };
    if rank(b) < rank(a) { b } else { a }
}

fn need_max(a: Need, b: Need) -> Need {
    match (a, b) {
        (Need::Needed, _) | (_, Need::Needed) => Need::Needed,
        (Need::Depends, _) | (_, Need::Depends) => Need::Depends,
        _ => Need::NotNeeded,
    }
}

fn working_days(l: &Option<TimeLimit>) -> u32 {
    l.as_ref()
        .filter(|l| l.unit == TimeUnit::WorkingDays)
        .map_or(0, |l| l.value)
}

/// The merged guide (一次告知): which members apply for `answers` (question key → choice
/// key, the bundle's and the members' questions alike), the questions asked once, the
/// materials with duplicates merged and those produced on the way marked, one form, the
/// fees and the savings. `items` as for [`check`]; a member whose item is missing is left
/// out (the definition was checked when saved).
pub fn guide(
    doc: &BundleDoc,
    items: &BTreeMap<String, MemberItem<'_>>,
    answers: &BTreeMap<String, String>,
) -> Result<Guide, DomainError> {
    let mut p = Problems::new();
    let pick = |q: &Question, p: &mut Problems| -> Option<Choice> {
        let a = answers.get(&q.key).filter(|a| !a.is_empty())?;
        let c = q.choices.iter().find(|c| &c.key == a);
        if c.is_none() {
            p.push(FieldError::new(
                format!("answers.{}", q.key),
                "questionnaire.unknown_choice",
                format!("「{}」没有选项「{a}」", q.text),
                format!("'{}' has no answer '{a}'", q.key),
            ));
        }
        c.cloned()
    };
    // The bundle's own questions decide the members.
    let own: Vec<(Question, Option<Choice>)> = doc.questions.iter().map(|q| (q.clone(), pick(q, &mut p))).collect();
    let own_chosen: Vec<(&Question, Option<&Choice>)> = own.iter().map(|(q, c)| (q, c.as_ref())).collect();
    let mut questions: Vec<MergedQuestion> = own
        .iter()
        .map(|(q, c)| MergedQuestion {
            question: q.clone(),
            members: vec![],
            answer: c.as_ref().map(|c| c.key.clone()),
        })
        .collect();
    let mut known_questions: BTreeSet<String> = doc.questions.iter().map(|q| q.key.clone()).collect();
    let mut members = vec![];
    let mut materials: Vec<MergedMaterial> = vec![];
    let mut by_identity: HashMap<String, usize> = HashMap::new();
    let mut form: Vec<MergedField> = vec![];
    let mut fees = vec![];
    let mut s = Savings {
        applications: 1,
        days: doc.promised_days,
        ..Default::default()
    };
    // Licence types the members that may apply produce, by member key.
    let produces: Vec<(&str, &str)> = doc
        .members
        .iter()
        .filter(|m| need_of_key(&m.key, &own_chosen) != Need::NotNeeded)
        .filter_map(|m| {
            let t = items
                .get(&m.item_code)?
                .elements
                .result
                .as_ref()?
                .licence_type
                .as_deref()?;
            Some((m.key.as_str(), t))
        })
        .collect();
    for m in &doc.members {
        let Some(it) = items.get(&m.item_code) else { continue };
        let e = it.elements;
        let need = need_of_key(&m.key, &own_chosen);
        members.push(GuideMember {
            key: m.key.clone(),
            item_code: m.item_code.clone(),
            name: e.name.clone(),
            department_id: it.department_id.into(),
            department_name: it.department_name.into(),
            need,
            after: m.after.iter().map(|d| d.member.clone()).collect(),
            promised_limit: e.promised_limit.clone(),
            result: e.result.clone(),
            commitment: e.commitment.is_some(),
        });
        // An answer to a question of a member that does not apply (answered before another
        // answer left it out) is passed over, not refused.
        known_questions.extend(e.questions.iter().map(|q| q.key.clone()));
        if need == Need::NotNeeded {
            continue;
        }
        for q in &e.questions {
            known_questions.insert(q.key.clone());
            match questions.iter_mut().find(|x| x.question.key == q.key) {
                Some(x) => x.members.push(m.key.clone()),
                None => {
                    let c = pick(q, &mut p);
                    questions.push(MergedQuestion {
                        question: q.clone(),
                        members: vec![m.key.clone()],
                        answer: c.map(|c| c.key),
                    });
                }
            }
        }
        // This member's materials for its own questions' answers.
        let mine: BTreeMap<String, String> = answers
            .iter()
            .filter(|(k, v)| !v.is_empty() && e.questions.iter().any(|q| &q.key == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let sel = match select_materials(e, &mine) {
            Ok(sel) => sel,
            Err(_) => continue, // reported by `pick` above
        };
        // What a predecessor that may apply provides.
        let fed: BTreeMap<&str, &str> = m
            .after
            .iter()
            .filter(|d| need_of_key(&d.member, &own_chosen) != Need::NotNeeded)
            .flat_map(|d| d.feeds.iter().map(move |f| (f.as_str(), d.member.as_str())))
            .collect();
        let mut count = |mat: &Material, mneed: Need| {
            let mneed = if need == Need::Depends { Need::Depends } else { mneed };
            let fed_by = fed.get(mat.key.as_str()).copied();
            let fed_type = fed_by.and_then(|f| produces.iter().find(|(k, _)| *k == f).map(|(_, t)| *t));
            let produced_by = fed_by.map(str::to_string).or_else(|| {
                let t = mat.source.licence_type.as_deref()?;
                produces
                    .iter()
                    .find(|(k, pt)| *pt == t && *k != m.key)
                    .map(|(k, _)| k.to_string())
            });
            let id = material_identity(mat, fed_type);
            match by_identity.get(&id) {
                Some(&i) => {
                    let x = &mut materials[i];
                    x.need = need_max(x.need, mneed);
                    x.material.necessity = stricter(x.material.necessity, mat.necessity);
                    x.members.push((m.key.clone(), mat.key.clone()));
                    if x.produced_by.is_none() {
                        x.produced_by = produced_by;
                    }
                }
                None => {
                    by_identity.insert(id, materials.len());
                    materials.push(MergedMaterial {
                        key: format!("{}.{}", m.key, mat.key),
                        material: mat.clone(),
                        need: mneed,
                        members: vec![(m.key.clone(), mat.key.clone())],
                        produced_by,
                    });
                }
            }
        };
        for mat in &sel.needed {
            count(mat, Need::Needed);
        }
        for mat in &sel.depends {
            count(mat, Need::Depends);
        }
        if need == Need::Needed {
            s.separate_applications += 1;
            s.separate_materials += sel.needed.len() as u32;
            s.separate_fields += e.form.len() as u32;
            s.separate_visits += e.visits;
            s.visits = s.visits.max(e.visits);
            s.separate_days += working_days(&e.promised_limit);
        }
        for f in &e.form {
            match form.iter_mut().find(|x| x.field.element == f.element) {
                Some(x) => {
                    x.field.required |= f.required;
                    x.members.push(m.key.clone());
                }
                None => form.push(MergedField {
                    field: f.clone(),
                    members: vec![m.key.clone()],
                }),
            }
        }
        fees.extend(e.fees.iter().map(|f| (m.key.clone(), f.clone())));
    }
    for k in answers.keys() {
        if !known_questions.contains(k) {
            p.push(FieldError::new(
                format!("answers.{k}"),
                "questionnaire.unknown_question",
                format!("没有问题「{k}」"),
                format!("there is no question '{k}'"),
            ));
        }
    }
    p.finish()?;
    s.materials = materials
        .iter()
        .filter(|m| m.need == Need::Needed && m.produced_by.is_none())
        .count() as u32;
    s.fields = form.len() as u32;
    Ok(Guide {
        members,
        questions,
        materials,
        form,
        fees,
        savings: s,
    })
}

/// One application for the whole event (一表申请, 一套材料): the answers to the merged
/// questions, each data element's value once, and each material of the one set once (by
/// its key in the guide).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BundleApplication {
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub form: BTreeMap<String, serde_json::Value>,
    /// Merged material key (`member.material`) → how it is provided.
    #[serde(default)]
    pub materials: BTreeMap<String, Provision>,
    /// The applicant signs the commitment of every member that allows one (告知承诺).
    #[serde(default)]
    pub commitment: bool,
}

/// A member's own application, cut from the bundle's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberApplication {
    pub key: String,
    pub item_code: String,
    pub application: Application,
    /// The members whose results it waits for; empty: it starts at once.
    pub after: Vec<String>,
    /// Its materials that a predecessor's result provides (免提交): material key → member.
    pub fed: BTreeMap<String, String>,
}

/// Cuts one application into the members' applications (一表申请: each member gets the
/// values of its own form's data elements, the answers to its own questions, and the
/// materials it asks for from the one set). Every question that decides whether a member
/// applies is answered; a material key not in the guide is refused with its field.
pub fn split(
    doc: &BundleDoc,
    items: &BTreeMap<String, MemberItem<'_>>,
    app: &BundleApplication,
) -> Result<Vec<MemberApplication>, DomainError> {
    let g = guide(doc, items, &app.answers)?;
    let mut p = Problems::new();
    // Members that may or may not apply wait on an unanswered bundle question.
    if g.members.iter().any(|m| m.need == Need::Depends) {
        for q in doc.questions.iter().filter(|q| !app.answers.contains_key(&q.key)) {
            p.push(FieldError::new(
                format!("answers.{}", q.key),
                "bundles.unanswered",
                format!("请回答「{}」", q.text),
                format!("answer '{}'", q.key),
            ));
        }
    }
    // A member whose item has ended meanwhile: the definition needs its managers first.
    for (i, m) in doc.members.iter().enumerate() {
        if !items.contains_key(&m.item_code) {
            p.push(FieldError::new(
                format!("members[{i}].item_code"),
                "bundles.unpublished_item",
                format!("一件事包含的事项 {} 已不在有效期内，暂不能申请", m.item_code),
                format!(
                    "item {} of this bundle is no longer in force: it cannot be applied for now",
                    m.item_code
                ),
            ));
        }
    }
    for k in app.materials.keys() {
        if !g.materials.iter().any(|m| &m.key == k) {
            p.push(FieldError::new(
                format!("materials.{k}"),
                "bundles.unknown_material",
                format!("一件事的材料清单中没有「{k}」"),
                format!("the bundle's materials have no '{k}'"),
            ));
        }
    }
    p.finish()?;
    let mut out = vec![];
    for gm in g.members.iter().filter(|m| m.need == Need::Needed) {
        let Some(m) = doc.members.iter().find(|m| m.key == gm.key) else {
            continue;
        };
        let Some(it) = items.get(&m.item_code) else { continue };
        let e = it.elements;
        let mut a = Application {
            commitment: app.commitment && e.commitment.is_some(),
            ..Default::default()
        };
        for q in &e.questions {
            if let Some(v) = app.answers.get(&q.key) {
                a.answers.insert(q.key.clone(), v.clone());
            }
        }
        for f in &e.form {
            if let Some(v) = app.form.get(&f.element) {
                a.form.insert(f.element.clone(), v.clone());
            }
        }
        let mut fed = BTreeMap::new();
        for mm in &g.materials {
            for (member, key) in mm.members.iter().filter(|(member, _)| member == &m.key) {
                match &mm.produced_by {
                    Some(by) if by != member => {
                        fed.insert(key.clone(), by.clone());
                    }
                    _ => {
                        if let Some(pv) = app.materials.get(&mm.key) {
                            a.materials.insert(key.clone(), pv.clone());
                        }
                    }
                }
            }
        }
        // It waits for the members it names that apply, and for those whose result stands in
        // for one of its materials (a licence of the type it asks for): no member starts
        // without a material it needs.
        let mut after: Vec<String> = m
            .after
            .iter()
            .filter(|d| g.members.iter().any(|x| x.key == d.member && x.need == Need::Needed))
            .map(|d| d.member.clone())
            .collect();
        for by in fed.values() {
            if !after.contains(by) {
                after.push(by.clone());
            }
        }
        out.push(MemberApplication {
            key: m.key.clone(),
            item_code: m.item_code.clone(),
            application: a,
            after,
            fed,
        });
    }
    Ok(out)
}

mod progress;
pub use progress::*;

#[cfg(test)]
mod tests;
