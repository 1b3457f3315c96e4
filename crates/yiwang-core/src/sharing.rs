//! The data-sharing catalogue (政务数据资源目录): departments publish data resources with
//! their fields and sharing class; other departments ask for them for a stated purpose and
//! period; the owner approves, narrows or refuses; every access is checked against the
//! grant. Rows arrive by push or batch import and are checked row by row here.

use crate::error::{DomainError, FieldError, Problems};
use crate::policies::{AttrType, Audience};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

named_enum!(
    /// 国发〔2016〕51号《政务信息资源共享管理暂行办法》第五条: 无条件共享、有条件共享、不予共享.
    SharingClass {
        Unconditional = "unconditional", "无条件共享", "unconditional";
        Conditional = "conditional", "有条件共享", "conditional";
        Closed = "closed", "不予共享", "not shared";
    }
);

named_enum!(
    /// How often the owner refreshes a resource (GB/T 21063.4 政务信息资源目录体系: 更新周期).
    Frequency {
        Realtime = "realtime", "实时", "real time";
        Daily = "daily", "每日", "daily";
        Weekly = "weekly", "每周", "weekly";
        Monthly = "monthly", "每月", "monthly";
        Quarterly = "quarterly", "每季度", "quarterly";
        Yearly = "yearly", "每年", "yearly";
    }
);

named_enum!(
    /// Where a sharing request stands.
    RequestStatus {
        Requested = "requested", "待审核", "awaiting the owner";
        Approved = "approved", "已批准", "approved";
        Narrowed = "narrowed", "已批准（收窄）", "approved, narrowed";
        Refused = "refused", "已拒绝", "refused";
        Revoked = "revoked", "已撤销", "revoked";
    }
);

impl RequestStatus {
    /// A grant in these states may be used (within its period).
    pub fn usable(self) -> bool {
        matches!(self, RequestStatus::Approved | RequestStatus::Narrowed)
    }
}

/// One field of a resource: a name usable in rules as `resource.field`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldDef {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub ty: AttrType,
    pub zh: String,
    pub en: String,
}

/// A data resource as its owner describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceInput {
    /// Lower-case identifier, the name rules use (`disability` in `disability.level`).
    pub code: String,
    pub name: String,
    pub name_en: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub audience: Audience,
    pub fields: Vec<FieldDef>,
    pub sharing: SharingClass,
    pub frequency: Frequency,
    pub legal_basis: String,
}

/// Settings of the sharing catalogue [M].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SharingPolicy {
    /// Longest period a grant may run, in days.
    pub max_grant_days: i64,
    /// Most rows one load may carry.
    pub max_rows_per_load: usize,
    /// 国发〔2016〕51号 第十四条: the owner answers a conditional request within 10 working days.
    pub answer_within_working_days: i64,
}

impl Default for SharingPolicy {
    fn default() -> Self {
        Self {
            max_grant_days: 3 * 366,
            max_rows_per_load: 100_000,
            answer_within_working_days: 10,
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= 32
}

/// Checks a resource's description.
pub fn check_resource(r: &ResourceInput) -> Result<(), DomainError> {
    let mut p = Problems::new();
    // The code names the resource's group in rules: a CEL identifier, not a reserved word
    // or a built-in attribute (`policies::check_group_name`).
    if !is_identifier(&r.code) || crate::policies::check_group_name(&r.code).is_err() {
        p.push(FieldError::new(
            "code",
            "resource.code",
            "资源代码须为小写字母开头的字母、数字或下划线（至多 32 个），且不能是保留字或内置属性名",
            "a resource code is a lower-case letter then letters, digits or underscores (at most 32), not a reserved word or a built-in name",
        ));
    }
    p.text("name", &r.name, 60);
    p.text("name_en", &r.name_en, 120);
    p.text("legal_basis", &r.legal_basis, 200);
    if r.fields.is_empty() || r.fields.len() > 50 {
        p.push(FieldError::new(
            "fields",
            "resource.fields",
            "资源须有 1–50 个数据项",
            "a resource has 1–50 fields",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in r.fields.iter().enumerate() {
        if !is_identifier(&f.name)
            || crate::policies::check_field_name(&f.name).is_err()
            || f.name == "id_number"
            || f.name == "uscc"
        {
            p.push(FieldError::new(
                format!("fields[{i}].name"),
                "resource.field_name",
                "数据项名须为小写字母开头的字母、数字或下划线，且不能是主体标识",
                "a field name is a lower-case identifier and not the subject's identifier",
            ));
        }
        if !seen.insert(f.name.as_str()) {
            p.push(FieldError::new(
                format!("fields[{i}].name"),
                "resource.field_duplicate",
                format!("数据项 {} 重复", f.name),
                format!("field {} is named twice", f.name),
            ));
        }
        p.text(&format!("fields[{i}].zh"), &f.zh, 40);
        p.text(&format!("fields[{i}].en"), &f.en, 80);
    }
    p.finish()
}

/// A department's request for a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestInput {
    pub resource: String,
    pub fields: Vec<String>,
    /// What the data will be used for, e.g. "高龄津贴免申即享资格比对".
    pub purpose: String,
    pub legal_basis: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

fn check_period(p: &mut Problems, from: NaiveDate, until: NaiveDate, policy: &SharingPolicy) {
    if until < from {
        p.push(FieldError::new(
            "valid_until",
            "request.period",
            "截止日期不能早于起始日期",
            "the period cannot end before it starts",
        ));
    } else if (until - from).num_days() > policy.max_grant_days {
        p.push(FieldError::new(
            "valid_until",
            "request.period_max",
            format!("使用期限至多 {} 天", policy.max_grant_days),
            format!("a grant runs at most {} days", policy.max_grant_days),
        ));
    }
}

/// Checks a request against the resource it names (PIPL §6: purpose stated and the
/// least data for it; 国发〔2016〕51号 第五条: a closed resource is not requested).
pub fn check_request(
    r: &RequestInput,
    fields: &[FieldDef],
    class: SharingClass,
    policy: &SharingPolicy,
) -> Result<(), DomainError> {
    let mut p = Problems::new();
    if class == SharingClass::Closed {
        p.push(FieldError::new(
            "resource",
            "request.closed",
            "该资源为不予共享类，不能申请",
            "this resource is not shared",
        ));
    }
    check_fields(&mut p, "fields", &r.fields, fields);
    p.text("purpose", &r.purpose, 200);
    if r.purpose.trim().chars().count() < 2 {
        p.push(FieldError::new(
            "purpose",
            "purpose.length",
            "用途说明为 2–200 个字符",
            "a purpose has 2–200 characters",
        ));
    }
    p.text("legal_basis", &r.legal_basis, 200);
    check_period(&mut p, r.valid_from, r.valid_until, policy);
    p.finish()
}

fn check_fields(p: &mut Problems, at: &str, asked: &[String], fields: &[FieldDef]) {
    if asked.is_empty() {
        p.push(FieldError::new(
            at,
            "request.fields",
            "至少选择一个数据项",
            "choose at least one field",
        ));
    }
    for (i, f) in asked.iter().enumerate() {
        if !fields.iter().any(|d| &d.name == f) {
            p.push(FieldError::new(
                format!("{at}[{i}]"),
                "request.field_unknown",
                format!("资源没有数据项 {f}"),
                format!("the resource has no field {f}"),
            ));
        }
    }
}

/// The owner's answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Approve,
    /// Approve fewer fields or a shorter period.
    Narrow {
        fields: Vec<String>,
        valid_until: NaiveDate,
    },
    Refuse {
        reason: String,
    },
    /// Withdraw a grant in force.
    Revoke {
        reason: String,
    },
}

/// A request or grant as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub id: String,
    pub resource: String,
    pub requester: String,
    pub owner: String,
    pub fields: Vec<String>,
    pub purpose: String,
    pub legal_basis: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub status: RequestStatus,
    pub reason: Option<String>,
}

/// What a decision makes of a request: its new status, fields and end date, or a 409.
pub fn decide(g: &Grant, d: &Decision) -> Result<(RequestStatus, Vec<String>, NaiveDate), DomainError> {
    let refuse = |zh: &str, en: &str| {
        Err(DomainError::conflict(
            "decision",
            "request.state",
            format!("申请当前为{}，{zh}", crate::Named::zh(&g.status)),
            format!("the request is {}: {en}", crate::Named::en(&g.status)),
        ))
    };
    let reason_ok = |reason: &str| {
        let n = reason.trim().chars().count();
        if (2..=200).contains(&n) {
            Ok(())
        } else {
            Err(DomainError::invalid(vec![FieldError::new(
                "reason",
                "decision.reason",
                "须说明理由（2–200 个字符）",
                "give a reason (2–200 characters)",
            )]))
        }
    };
    match d {
        Decision::Approve | Decision::Narrow { .. } | Decision::Refuse { .. }
            if g.status != RequestStatus::Requested =>
        {
            refuse("不能再审核", "it cannot be decided again")
        }
        Decision::Approve => Ok((RequestStatus::Approved, g.fields.clone(), g.valid_until)),
        Decision::Narrow { fields, valid_until } => {
            let mut p = Problems::new();
            if fields.is_empty() || fields.iter().any(|f| !g.fields.contains(f)) {
                p.push(FieldError::new(
                    "fields",
                    "decision.narrow_fields",
                    "收窄后的数据项须是所申请数据项的一部分",
                    "narrowed fields are some of the fields asked for",
                ));
            }
            if *valid_until > g.valid_until || *valid_until < g.valid_from {
                p.push(FieldError::new(
                    "valid_until",
                    "decision.narrow_period",
                    "收窄后的截止日期须在所申请期限之内",
                    "a narrowed end date lies within the period asked for",
                ));
            }
            p.finish()?;
            Ok((RequestStatus::Narrowed, fields.clone(), *valid_until))
        }
        Decision::Refuse { reason } => {
            reason_ok(reason)?;
            Ok((RequestStatus::Refused, g.fields.clone(), g.valid_until))
        }
        Decision::Revoke { reason } => {
            if !g.status.usable() {
                return refuse("不能撤销", "only a grant in force is revoked");
            }
            reason_ok(reason)?;
            Ok((RequestStatus::Revoked, g.fields.clone(), g.valid_until))
        }
    }
}

/// PIPL §6 and 国发〔2016〕51号 第十九条: shared data is used only for the purpose and within
/// the period granted, and only the fields granted.
pub fn check_access(g: &Grant, purpose: &str, fields: &[String], today: NaiveDate) -> Result<(), DomainError> {
    let deny = |rule: &str, zh: String, en: String| Err(DomainError::forbidden(FieldError::new("grant", rule, zh, en)));
    if !g.status.usable() {
        return deny(
            "access.status",
            format!("共享授权{}，不能使用", crate::Named::zh(&g.status)),
            format!("the grant is {}", crate::Named::en(&g.status)),
        );
    }
    if today < g.valid_from || today > g.valid_until {
        return deny(
            "access.period",
            format!("共享授权的使用期限为 {} 至 {}", g.valid_from, g.valid_until),
            format!("the grant runs from {} to {}", g.valid_from, g.valid_until),
        );
    }
    if purpose.trim() != g.purpose.trim() {
        return deny(
            "access.purpose",
            format!("共享授权的用途为「{}」，不能用于其他用途", g.purpose),
            format!("the grant is for \"{}\" only", g.purpose),
        );
    }
    if let Some(f) = fields.iter().find(|f| !g.fields.contains(f)) {
        return deny(
            "access.field",
            format!("共享授权不含数据项 {f}"),
            format!("the grant does not cover field {f}"),
        );
    }
    Ok(())
}

/// One imported row made good: the subject's identifier and the typed values.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRow {
    /// The resident ID number (upper case) or the USCC.
    pub subject: String,
    pub values: Map<String, Value>,
}

/// Checks one pushed or imported row: the subject's identifier (`id_number`, GB 11643, for
/// a person; `uscc`, GB 32100, for an enterprise) and each field by its type (empty or null
/// = not known). Errors name `rows[i].field`.
pub fn check_row(
    i: usize,
    audience: Audience,
    fields: &[FieldDef],
    row: &Map<String, Value>,
) -> Result<CheckedRow, Vec<FieldError>> {
    let mut errors = Vec::new();
    let key = match audience {
        Audience::Person => "id_number",
        Audience::Enterprise => "uscc",
    };
    let at = |f: &str| format!("rows[{i}].{f}");
    let subject = match row.get(key).and_then(Value::as_str).map(|s| s.trim().to_uppercase()) {
        Some(s) => {
            let checked = match audience {
                Audience::Person => crate::ids::check_resident_id(&at(key), &s).map(|_| ()),
                Audience::Enterprise => crate::ids::check_uscc(&at(key), &s),
            };
            if let Err(e) = checked {
                errors.push(e);
            }
            s
        }
        None => {
            errors.push(FieldError::new(
                at(key),
                "row.subject",
                format!("缺少主体标识 {key}"),
                format!("the row lacks {key}"),
            ));
            String::new()
        }
    };
    let mut values = Map::new();
    for (name, v) in row {
        if name == key {
            continue;
        }
        let Some(def) = fields.iter().find(|d| &d.name == name) else {
            errors.push(FieldError::new(
                at(name),
                "row.field_unknown",
                format!("资源没有数据项 {name}"),
                format!("the resource has no field {name}"),
            ));
            continue;
        };
        match typed(def.ty, v) {
            Some(Value::Null) => {}
            Some(t) => {
                values.insert(name.clone(), t);
            }
            None => errors.push(FieldError::new(
                at(name),
                "row.type",
                format!("数据项 {name} 应为{}", def.ty.name_zh()),
                format!("field {name} is a {}", def.ty.name_en()),
            )),
        }
    }
    if errors.is_empty() {
        Ok(CheckedRow { subject, values })
    } else {
        Err(errors)
    }
}

/// A value as its type stores it; CSV cells arrive as strings and are read by the type.
fn typed(ty: AttrType, v: &Value) -> Option<Value> {
    match v {
        Value::Null => return Some(Value::Null),
        Value::String(s) if s.trim().is_empty() => return Some(Value::Null),
        _ => {}
    }
    match (ty, v) {
        (AttrType::Int, Value::Number(n)) => n.as_i64().map(Value::from),
        (AttrType::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (AttrType::Double, Value::Number(n)) => n.as_f64().map(Value::from),
        (AttrType::Double, Value::String(s)) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from),
        (AttrType::String, Value::String(s)) => Some(Value::from(s.trim())),
        (AttrType::Bool, Value::Bool(b)) => Some(Value::Bool(*b)),
        (AttrType::Bool, Value::String(s)) => match s.trim() {
            "true" | "是" | "1" => Some(Value::Bool(true)),
            "false" | "否" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        (AttrType::StringList, Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(|s| Value::from(s.trim())))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        (AttrType::StringList, Value::String(s)) => Some(Value::Array(
            s.split(['|', ';', '；'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(Value::from)
                .collect(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<FieldDef> {
        vec![
            FieldDef {
                name: "level".into(),
                ty: AttrType::Int,
                zh: "残疾等级".into(),
                en: "disability level".into(),
            },
            FieldDef {
                name: "category".into(),
                ty: AttrType::String,
                zh: "残疾类别".into(),
                en: "category".into(),
            },
        ]
    }

    fn grant(status: RequestStatus) -> Grant {
        Grant {
            id: "g".into(),
            resource: "disability".into(),
            requester: "d1".into(),
            owner: "d2".into(),
            fields: vec!["level".into(), "category".into()],
            purpose: "残疾人两项补贴资格比对".into(),
            legal_basis: "国发〔2015〕52号".into(),
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            status,
            reason: None,
        }
    }

    #[test]
    fn rows_are_checked_by_type_and_subject() {
        let ok = check_row(
            0,
            Audience::Person,
            &fields(),
            json!({"id_number": "11010519491231002x", "level": "2", "category": ""})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(ok.subject, "11010519491231002X");
        assert_eq!(ok.values.get("level"), Some(&json!(2)));
        assert!(!ok.values.contains_key("category"));
        let bad = check_row(
            3,
            Audience::Person,
            &fields(),
            json!({"id_number": "110105194912310021", "level": "二级", "colour": "x"})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        let named: Vec<_> = bad.iter().map(|e| (e.field.as_str(), e.rule.as_str())).collect();
        assert!(named.contains(&("rows[3].level", "row.type")), "{named:?}");
        assert!(named.contains(&("rows[3].colour", "row.field_unknown")), "{named:?}");
        assert!(named.iter().any(|(f, _)| *f == "rows[3].id_number"), "{named:?}");
    }

    #[test]
    fn access_only_for_purpose_period_and_fields() {
        let g = grant(RequestStatus::Approved);
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let purpose = g.purpose.clone();
        assert!(check_access(&g, &purpose, &["level".into()], day).is_ok());
        let rule = |r: Result<(), DomainError>| r.unwrap_err().errors[0].rule.clone();
        assert_eq!(
            rule(check_access(&g, "别的用途", &["level".into()], day)),
            "access.purpose"
        );
        assert_eq!(
            rule(check_access(
                &g,
                &purpose,
                &["level".into()],
                NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
            )),
            "access.period"
        );
        assert_eq!(
            rule(check_access(&g, &purpose, &["income".into()], day)),
            "access.field"
        );
        assert_eq!(
            rule(check_access(&grant(RequestStatus::Requested), &purpose, &[], day)),
            "access.status"
        );
    }

    #[test]
    fn decisions_follow_the_request() {
        let g = grant(RequestStatus::Requested);
        let until = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let (s, f, u) = decide(
            &g,
            &Decision::Narrow {
                fields: vec!["level".into()],
                valid_until: until,
            },
        )
        .unwrap();
        assert_eq!((s, f, u), (RequestStatus::Narrowed, vec!["level".to_string()], until));
        assert!(
            decide(
                &g,
                &Decision::Narrow {
                    fields: vec!["income".into()],
                    valid_until: until
                }
            )
            .is_err()
        );
        assert!(decide(&g, &Decision::Refuse { reason: "".into() }).is_err());
        assert!(decide(&grant(RequestStatus::Approved), &Decision::Approve).is_err());
        assert!(
            decide(
                &g,
                &Decision::Revoke {
                    reason: "不再需要".into()
                }
            )
            .is_err()
        );
        assert_eq!(
            decide(
                &grant(RequestStatus::Approved),
                &Decision::Revoke {
                    reason: "不再需要".into()
                }
            )
            .unwrap()
            .0,
            RequestStatus::Revoked
        );
    }

    #[test]
    fn resources_and_requests_are_checked() {
        let r = ResourceInput {
            code: "age".into(),
            name: "残疾人证".into(),
            name_en: "disability".into(),
            audience: Audience::Person,
            fields: fields(),
            sharing: SharingClass::Conditional,
            frequency: Frequency::Daily,
            legal_basis: "残疾人保障法".into(),
        };
        assert_eq!(check_resource(&r).unwrap_err().errors[0].field, "code");
        let req = RequestInput {
            resource: "disability".into(),
            fields: vec!["level".into()],
            purpose: "补贴比对".into(),
            legal_basis: "国发〔2015〕52号".into(),
            valid_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            valid_until: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        };
        let policy = SharingPolicy::default();
        assert!(check_request(&req, &fields(), SharingClass::Conditional, &policy).is_ok());
        assert_eq!(
            check_request(&req, &fields(), SharingClass::Closed, &policy)
                .unwrap_err()
                .errors[0]
                .rule,
            "request.closed"
        );
    }
}
