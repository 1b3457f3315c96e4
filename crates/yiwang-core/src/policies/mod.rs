//! Policies granted without application (免申即享): a policy's eligibility rule and its
//! amount formula are CEL expressions over the attributes of a person or an enterprise,
//! checked against a schema when the policy is written, and evaluated over profiles when
//! it runs.
//!
//! - `Schema` names the attributes a rule may read: the built-in ones (age, licences
//!   held, items granted, …) and the fields of the data resources shared with the
//!   platform, each as `group.field`.
//! - `compile` (in `check`) refuses a rule before it is ever run: too long, too deeply
//!   nested, too large, a syntax error, an unknown attribute, a type error, anything
//!   outside the supported subset of CEL, or a result of the wrong type. Each problem
//!   names its line and column in characters.
//! - `CompiledPolicy::evaluate` (in `eval`) decides one profile: eligible with an amount
//!   in fen, ineligible, undetermined (naming the attributes missing), or failed (a
//!   runtime error, never counted as ineligible). `explain` says why, condition by
//!   condition, with the values read and where they came from.
//!
//! The rule is split on its top-level `&&` into conditions: a condition whose attributes
//! are all known is evaluated, and a false one decides the outcome whatever else is
//! missing, so a person is not asked for data that cannot change the answer.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod check;
mod def;
mod eval;
mod source;
#[cfg(test)]
mod tests;

pub use check::{Compiled, CompiledPolicy, Condition, compile, compile_policy};
pub use def::*;
pub use eval::{
    BareProgram, ConditionReport, Evaluator, Explanation, Outcome, Profile, Tally, ValueReport, bare_program,
};

use crate::error::FieldError;

named_enum!(
    /// The type of an attribute, and of a rule's result.
    AttrType {
        Int = "int", "整数", "integer";
        Double = "double", "小数", "decimal number";
        String = "string", "字符串", "string";
        Bool = "bool", "布尔值", "boolean";
        StringList = "string_list", "字符串列表", "list of strings";
    }
);

impl AttrType {
    /// The type's name in Chinese.
    pub fn name_zh(self) -> &'static str {
        crate::Named::zh(&self)
    }
    /// The type's name in English.
    pub fn name_en(self) -> &'static str {
        crate::Named::en(&self)
    }
}

named_enum!(
    /// Whom a policy is for.
    Audience {
        Person = "person", "个人", "person";
        Enterprise = "enterprise", "法人", "enterprise";
    }
);

named_enum!(
    /// How a policy reaches the people it is for.
    PolicyMode {
        // 国发〔2024〕3号: 政策服务免申办, granted from shared data without an application.
        Direct = "direct", "免申即享", "granted without application";
        OneClick = "one_click", "即申即享", "granted on a one-click confirmation";
        Apply = "apply", "依申请", "on application";
    }
);

/// One attribute a rule may read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttrDef {
    /// A root name (`age`) or `group.field` (`disability.level`).
    pub path: String,
    pub ty: AttrType,
    pub zh: String,
    pub en: String,
    /// Where the value comes from: `identity`, `licences`, `cases` or `resource:<group>`.
    pub source: String,
}

/// A name a rule refers to directly: one attribute, or a group of them.
#[derive(Clone, Debug)]
pub(crate) enum Root {
    /// The index of the attribute in `Schema::attrs`.
    Scalar(usize),
    /// A data resource, its fields read as `group.field`.
    Group,
}

/// The roots of a schema as profiles and compiled rules share them: names by index, and
/// the value of a group none of whose fields is known (an empty map, so that
/// `has(group.field)` is false rather than an error).
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) names: Vec<String>,
    pub(crate) groups: Vec<bool>,
    pub(crate) empty: cel::common::types::CelMap<'static>,
}

impl Layout {
    fn new(names: Vec<String>, groups: Vec<bool>) -> Self {
        Layout {
            names,
            groups,
            empty: Default::default(),
        }
    }
}

/// The attributes rules may read for one audience.
#[derive(Clone, Debug)]
pub struct Schema {
    audience: Audience,
    attrs: Vec<AttrDef>,
    roots: Vec<(String, Root)>,
    /// For each attribute, the index of its root.
    attr_root: Vec<usize>,
    layout: Arc<Layout>,
}

/// CEL's keywords and reserved words: no root or field may take one.
const KEYWORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Names CEL gives a meaning of its own as identifiers (types, macros, functions): no
/// root may take one, or a rule would read the attribute where it means the type.
const BUILTIN_NAMES: &[&str] = &[
    "int",
    "uint",
    "double",
    "string",
    "bool",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
    "has",
    "size",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Schema {
    /// Built-in attributes. Person: `age` Int (identity, from the ID number's birth date
    /// at the evaluation date, see `whole_years`), `sex` String (`male`/`female`,
    /// identity), `licences` StringList (licence type codes held and in force, source
    /// `licences`), `results` StringList (item codes of cases granted, source `cases`).
    /// Enterprise: `licences`, `results` (the platform holds no establishment date of an
    /// enterprise; a resource that shares one gives it as `resource.field`). `years` stays
    /// reserved for the day registration records it.
    pub fn builtin(audience: Audience) -> Schema {
        let def = |path: &str, ty, zh: &str, en: &str, source: &str| AttrDef {
            path: path.into(),
            ty,
            zh: zh.into(),
            en: en.into(),
            source: source.into(),
        };
        let mut attrs = match audience {
            Audience::Person => vec![
                def("age", AttrType::Int, "年龄（周岁）", "age (whole years)", "identity"),
                def("sex", AttrType::String, "性别", "sex", "identity"),
            ],
            Audience::Enterprise => vec![],
        };
        attrs.push(def(
            "licences",
            AttrType::StringList,
            "持有的有效证照类型",
            "licence types held and in force",
            "licences",
        ));
        attrs.push(def(
            "results",
            AttrType::StringList,
            "已获准的事项",
            "items granted",
            "cases",
        ));
        let mut schema = Schema {
            audience,
            attrs: vec![],
            roots: vec![],
            attr_root: vec![],
            layout: Arc::new(Layout::new(vec![], vec![])),
        };
        for a in attrs {
            schema.roots.push((a.path.clone(), Root::Scalar(schema.attrs.len())));
            schema.attr_root.push(schema.roots.len() - 1);
            schema.attrs.push(a);
        }
        schema.relayout();
        schema
    }

    fn relayout(&mut self) {
        let names = self.roots.iter().map(|(n, _)| n.clone()).collect();
        let groups = self.roots.iter().map(|(_, r)| matches!(r, Root::Group)).collect();
        self.layout = Arc::new(Layout::new(names, groups));
    }

    /// Adds a data resource's fields as a group: each is read as `group.field` (source
    /// `resource:<group>`). Fields are `(field, type, zh, en)`.
    ///
    /// Adds what a rule could read: a group whose name is not usable (see
    /// `check_group_name`) or already taken is left out, and so is a field whose name is
    /// not usable (see `check_field_name`) or repeats; a rule naming one is then refused
    /// as naming an unknown attribute. `try_add_group` reports them instead.
    pub fn add_group(&mut self, group: &str, fields: &[(String, AttrType, String, String)]) {
        if check_group_name(group).is_err() || self.root_index(group).is_some() {
            return;
        }
        let mut seen: Vec<&str> = vec![];
        let usable = fields.iter().filter(|(f, ..)| {
            let ok = check_field_name(f).is_ok() && !seen.contains(&f.as_str());
            seen.push(f);
            ok
        });
        let usable: Vec<_> = usable.cloned().collect();
        self.push_group(group, &usable);
    }

    /// `add_group`, refusing a group name that is not usable or already taken, and a
    /// field name that is not usable or repeats.
    pub fn try_add_group(
        &mut self,
        group: &str,
        fields: &[(String, AttrType, String, String)],
    ) -> Result<(), FieldError> {
        check_group_name(group)?;
        if self.root_index(group).is_some() {
            return Err(FieldError::new(
                "group",
                "policy_schema.duplicate",
                format!("属性名「{group}」已被使用"),
                format!("the name {group} is already taken"),
            ));
        }
        for (i, (field, ..)) in fields.iter().enumerate() {
            check_field_name(field)?;
            if fields[..i].iter().any(|(f, ..)| f == field) {
                return Err(FieldError::new(
                    "fields",
                    "policy_schema.duplicate",
                    format!("字段名「{field}」重复"),
                    format!("the field name {field} repeats"),
                ));
            }
        }
        self.push_group(group, fields);
        Ok(())
    }

    fn push_group(&mut self, group: &str, fields: &[(String, AttrType, String, String)]) {
        let root = self.roots.len();
        for (field, ty, zh, en) in fields {
            self.attr_root.push(root);
            self.attrs.push(AttrDef {
                path: format!("{group}.{field}"),
                ty: *ty,
                zh: zh.clone(),
                en: en.clone(),
                source: format!("resource:{group}"),
            });
        }
        self.roots.push((group.to_string(), Root::Group));
        self.relayout();
    }

    pub fn audience(&self) -> Audience {
        self.audience
    }

    pub fn attrs(&self) -> &[AttrDef] {
        &self.attrs
    }

    pub fn find(&self, path: &str) -> Option<&AttrDef> {
        self.attr_index(path).map(|i| &self.attrs[i])
    }

    /// Unique root names in order: the built-in attributes, then the groups.
    pub fn roots(&self) -> Vec<&str> {
        self.roots.iter().map(|(n, _)| n.as_str()).collect()
    }

    pub(crate) fn attr_index(&self, path: &str) -> Option<usize> {
        self.attrs.iter().position(|a| a.path == path)
    }

    pub(crate) fn root_index(&self, name: &str) -> Option<usize> {
        self.roots.iter().position(|(n, _)| n == name)
    }

    pub(crate) fn root(&self, i: usize) -> &Root {
        &self.roots[i].1
    }

    pub(crate) fn root_of(&self, attr: usize) -> usize {
        self.attr_root[attr]
    }

    pub(crate) fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }
}

/// Checks a data resource's name as a group of attributes: an identifier that CEL does
/// not reserve and that no built-in attribute of either audience uses.
pub fn check_group_name(group: &str) -> Result<(), FieldError> {
    let builtin = ["age", "sex", "years", "licences", "results"];
    if !is_identifier(group) || KEYWORDS.contains(&group) || BUILTIN_NAMES.contains(&group) || builtin.contains(&group)
    {
        return Err(FieldError::new(
            "group",
            "policy_schema.group",
            format!("「{group}」不能作为属性组名：应为字母开头的字母、数字或下划线，且不是保留字或内置属性"),
            format!(
                "{group} cannot name a group: it must be letters, digits or underscores starting with a letter, and not a reserved word or a built-in attribute"
            ),
        ));
    }
    Ok(())
}

/// Checks a data resource's field name as it is read in `group.field`: an identifier
/// that is not a CEL keyword or reserved word.
pub fn check_field_name(field: &str) -> Result<(), FieldError> {
    if !is_identifier(field) || KEYWORDS.contains(&field) {
        return Err(FieldError::new(
            "fields",
            "policy_schema.field",
            format!("字段名「{field}」应为字母开头的字母、数字或下划线，且不是保留字"),
            format!(
                "the field name {field} must be letters, digits or underscores starting with a letter, and not a reserved word"
            ),
        ));
    }
    Ok(())
}

/// Whole years from `from` to `on`: a person's age (周岁) from the birth date in the ID
/// number, an enterprise's years since its establishment. A year is complete on its
/// anniversary; one born on 29 February completes it on 1 March in a common year.
pub fn whole_years(from: chrono::NaiveDate, on: chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    let mut years = i64::from(on.year()) - i64::from(from.year());
    if (on.month(), on.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

/// [M] Caps on a rule, checked before it is compiled, so that nothing a policy writer
/// types can make checking or evaluation slow or deep.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Limits {
    /// Characters in the source.
    pub max_chars: usize,
    /// Nesting of `()`, `[]` and `{}`, and the depth of the expression tree.
    pub max_depth: usize,
    /// Nodes of the expression tree.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_chars: 2000,
            max_depth: 12,
            max_nodes: 300,
        }
    }
}

/// A problem in a rule, at a position: 1-based line and column, in characters.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RuleError {
    pub line: u32,
    pub column: u32,
    /// `rule.syntax`, `rule.unknown_attribute`, `rule.type`, `rule.too_long`,
    /// `rule.too_deep`, `rule.too_large`, `rule.unsupported` or `rule.result_type`.
    pub rule: &'static str,
    pub zh: String,
    pub en: String,
}

impl RuleError {
    /// The error against an input field, its position leading the message.
    pub fn field_error(&self, field: &str) -> FieldError {
        FieldError::new(
            field,
            self.rule,
            format!("第 {} 行第 {} 列：{}", self.line, self.column, self.zh),
            format!("line {}, column {}: {}", self.line, self.column, self.en),
        )
    }
}
