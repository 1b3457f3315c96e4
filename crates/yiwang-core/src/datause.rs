//! The personal data-use log (我的数据使用记录): every read of a person's personal data by
//! staff or by a system is recorded — who, when, which fields, for which case or purpose —
//! and shown to the person (PIPL 个人信息保护法 §44–45: the right to know and to consult).

use crate::error::{FieldError, Problems};
use serde::{Deserialize, Serialize};

/// A personal-data field that can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PersonalField {
    Name,
    IdNumber,
    Phone,
    Address,
}

impl PersonalField {
    pub fn name_zh(self) -> &'static str {
        match self {
            PersonalField::Name => "姓名",
            PersonalField::IdNumber => "公民身份号码",
            PersonalField::Phone => "手机号码",
            PersonalField::Address => "住址",
        }
    }
    pub fn name_en(self) -> &'static str {
        match self {
            PersonalField::Name => "name",
            PersonalField::IdNumber => "resident ID number",
            PersonalField::Phone => "mobile number",
            PersonalField::Address => "address",
        }
    }
}

/// One recorded read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataUse {
    pub id: String,
    pub person_id: String,
    /// `staff` or `system`.
    pub actor_kind: String,
    /// Staff account or token id.
    pub actor_id: String,
    /// Staff name or system name, as shown to the person.
    pub actor_name: String,
    /// The department the reader belongs to, by name.
    pub department: Option<String>,
    pub fields: Vec<PersonalField>,
    /// Whether the fields were seen unmasked.
    pub unmasked: bool,
    pub purpose: String,
    pub case_id: Option<String>,
    /// Shared data read (数据共享): `resource·field` names, e.g. `残疾人证信息·残疾等级`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub at_ms: i64,
}

/// PIPL §6 (purpose limitation): a read of personal data states its purpose — 2 to 200
/// characters — or the case it serves.
pub fn check_purpose(p: &mut Problems, purpose: Option<&str>, case_id: Option<&str>) {
    let purpose = purpose.map(str::trim).unwrap_or("");
    if purpose.is_empty() && case_id.is_none_or(|c| c.trim().is_empty()) {
        p.push(FieldError::new(
            "purpose",
            "purpose.required",
            "查看个人信息须说明用途或关联办件",
            "reading personal data needs a purpose or a case",
        ));
    } else if purpose.chars().count() > 200 || (!purpose.is_empty() && purpose.chars().count() < 2) {
        p.push(FieldError::new(
            "purpose",
            "purpose.length",
            "用途说明为 2–200 个字符",
            "a purpose has 2–200 characters",
        ));
    }
    if let Some(c) = case_id {
        p.opt_text("case_id", Some(c), 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purpose_or_a_case_is_required() {
        let mut p = Problems::new();
        check_purpose(&mut p, None, None);
        check_purpose(&mut p, Some(" "), Some(""));
        check_purpose(&mut p, Some("x"), None);
        assert_eq!(p.0.len(), 3);
        let mut p = Problems::new();
        check_purpose(&mut p, Some("核验申请人身份"), None);
        check_purpose(&mut p, None, Some("case-1"));
        assert!(p.0.is_empty());
    }
}
