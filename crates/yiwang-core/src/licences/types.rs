//! Licence types: validity rules, face fields, layouts, and their checks.

use super::*;

/// How long a licence of a type is valid from its issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ValidityRule {
    /// 长期有效.
    Permanent,
    Years(u32),
    Months(u32),
}

impl ValidityRule {
    /// The last day of validity for a licence valid from `from` (None: permanent).
    pub fn until(self, from: NaiveDate) -> Option<NaiveDate> {
        let months = match self {
            ValidityRule::Permanent => return None,
            ValidityRule::Years(y) => y * 12,
            ValidityRule::Months(m) => m,
        };
        from.checked_add_months(chrono::Months::new(months))
            .and_then(|d| d.pred_opt())
    }
}

/// A field printed on the face of a licence, from the data-element dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FaceField {
    /// The data element's code.
    pub element: String,
    /// A label other than the element's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default)]
    pub required: bool,
}

/// The page layout a licence is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A landscape certificate (许可证、执照).
    #[default]
    Certificate,
    /// A portrait certificate (证明、证书).
    Portrait,
}

/// 证照类型.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LicenceType {
    /// 类型代码: the defining authority's credit code + 3 digits.
    pub code: String,
    pub name: String,
    pub holder: HolderKind,
    pub validity: ValidityRule,
    #[serde(default)]
    pub face: Vec<FaceField>,
    #[serde(default)]
    pub layout: Layout,
    /// A note printed at the foot of the licence (e.g. how to verify it, the law).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl LicenceType {
    pub fn definer_uscc(&self) -> &str {
        &self.code[..18.min(self.code.len())]
    }
}

/// Checks a licence type; `element_known` tells whether a data element exists.
pub fn check_type(t: &LicenceType, element_known: &dyn Fn(&str) -> bool) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.check(check_type_code("code", &t.code));
    p.text("name", &t.name, 60);
    match t.validity {
        ValidityRule::Years(y) if !(1..=100).contains(&y) => p.push(FieldError::new(
            "validity",
            "range",
            "有效期为 1–100 年",
            "the validity is 1–100 years",
        )),
        ValidityRule::Months(m) if !(1..=1200).contains(&m) => p.push(FieldError::new(
            "validity",
            "range",
            "有效期为 1–1200 个月",
            "the validity is 1–1200 months",
        )),
        _ => {}
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in t.face.iter().enumerate() {
        if !element_known(&f.element) {
            p.push(FieldError::new(
                format!("face[{i}].element"),
                "form.unknown_element",
                format!("数据元字典中没有「{}」", f.element),
                format!("the data-element dictionary has no '{}'", f.element),
            ));
        } else if !seen.insert(f.element.as_str()) {
            p.push(FieldError::new(
                format!("face[{i}].element"),
                "duplicate",
                format!("照面字段「{}」重复", f.element),
                format!("face field '{}' appears twice", f.element),
            ));
        }
        p.opt_text(&format!("face[{i}].label"), f.label.as_deref(), 30);
    }
    if t.face.len() > 30 {
        p.push(FieldError::new(
            "face",
            "max_items",
            "照面字段最多 30 个",
            "at most 30 face fields",
        ));
    }
    p.opt_text("note", t.note.as_deref(), 300);
    p.finish()
}
