//! Mandates (代办授权): a person or an enterprise grants another person the right to act
//! for them — for everything or for listed items, for a period, revocable.

use crate::error::{DomainError, ErrorKind, FieldError, Problems};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Who can be acted for: a natural person or a legal person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    Person(String),
    Legal(String),
}

impl Subject {
    /// `person:ID` / `legal:ID`, as recorded in ledger actors and sessions.
    pub fn key(&self) -> String {
        match self {
            Subject::Person(id) => format!("person:{id}"),
            Subject::Legal(id) => format!("legal:{id}"),
        }
    }
    pub fn parse(s: &str) -> Option<Subject> {
        let (k, id) = s.split_once(':')?;
        if id.is_empty() || id.len() > 64 {
            return None;
        }
        match k {
            "person" => Some(Subject::Person(id.into())),
            "legal" => Some(Subject::Legal(id.into())),
            _ => None,
        }
    }
}

/// What a mandate covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", content = "items", rename_all = "snake_case")]
pub enum Scope {
    /// Every service.
    All,
    /// Only these service items (basic-directory or implementation codes).
    Items(Vec<String>),
}

/// How the grantee came to act: a mandate given by the principal, or an enterprise's
/// registered agent (经办人).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MandateKind {
    Mandate,
    Agent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mandate {
    pub id: String,
    pub kind: MandateKind,
    pub principal: Subject,
    /// Display name of the principal (person's masked name or enterprise name).
    pub principal_name: String,
    pub grantee_person_id: String,
    pub grantee_name: String,
    pub scope: Scope,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// The last day of a mandate that holds until it is revoked: an enterprise's registering
/// agent (经办人) acts for it until the enterprise or the agent ends it.
pub fn until_revoked() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date")
}

impl Mandate {
    /// Holds until revoked (shown as 长期, not as a date).
    pub fn open_ended(&self) -> bool {
        self.valid_until >= until_revoked()
    }
    /// In force on `today`: not revoked and within its validity (both ends included).
    pub fn in_force(&self, today: NaiveDate) -> bool {
        self.revoked_at.is_none() && self.valid_from <= today && today <= self.valid_until
    }
    /// Does it cover acting on `item` (None: acting in general, e.g. reading the profile)?
    pub fn covers(&self, item: Option<&str>) -> bool {
        match (&self.scope, item) {
            (Scope::All, _) => true,
            (Scope::Items(_), None) => true,
            (Scope::Items(items), Some(i)) => items.iter().any(|x| x == i),
        }
    }
}

/// A grant as submitted.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MandateInput {
    /// The grantee's resident ID number; with their name, it identifies them.
    pub grantee_id_number: String,
    pub grantee_name: String,
    pub scope: Scope,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

/// Longest validity of one mandate, in days (5 years) [configurable policy: a bureau may
/// shorten it; the Civil Code §173 ends agency at the term's expiry].
pub const MAX_DAYS: i64 = 5 * 366;

/// Checks a grant. `grantee`: the person found for the ID number, with their real name.
pub fn decide_grant(
    input: &MandateInput,
    today: NaiveDate,
    principal: &Subject,
    grantee: Option<(&str, &str)>,
) -> Result<String, DomainError> {
    let mut p = Problems::new();
    p.text("grantee_name", &input.grantee_name, 50);
    if let Scope::Items(items) = &input.scope {
        if items.is_empty() || items.len() > 100 {
            p.push(FieldError::new(
                "scope.items",
                "scope.items",
                "请列出 1–100 个事项",
                "list 1–100 items",
            ));
        }
        for (i, it) in items.iter().enumerate() {
            p.text(&format!("scope.items[{i}]"), it, 64);
        }
    }
    // Civil Code §173(1): an agency ends when its term expires — a mandate must end in
    // the future and after it starts.
    if input.valid_until < input.valid_from {
        p.push(FieldError::new(
            "valid_until",
            "mandate.period",
            "截止日期不能早于起始日期",
            "the end date must not be before the start date",
        ));
    } else if input.valid_until < today {
        p.push(FieldError::new(
            "valid_until",
            "mandate.expired",
            "授权截止日期已过",
            "the mandate's end date has passed",
        ));
    } else if (input.valid_until - input.valid_from).num_days() > MAX_DAYS {
        p.push(FieldError::new(
            "valid_until",
            "mandate.too_long",
            "授权期限最长 5 年",
            "a mandate lasts at most 5 years",
        ));
    }
    p.finish()?;
    let not_found = || {
        DomainError::one(
            ErrorKind::NotFound,
            FieldError::new(
                "grantee_id_number",
                "grantee.unknown",
                "未找到与该证件号码和姓名相符的已注册用户",
                "no registered person matches this ID number and name",
            ),
        )
    };
    let (grantee_id, grantee_name) = grantee.ok_or_else(not_found)?;
    if grantee_name != input.grantee_name.trim() {
        return Err(not_found());
    }
    if *principal == Subject::Person(grantee_id.to_string()) {
        return Err(DomainError::invalid(vec![FieldError::new(
            "grantee_id_number",
            "mandate.self",
            "不能授权给自己",
            "you cannot grant a mandate to yourself",
        )]));
    }
    Ok(grantee_id.to_string())
}

/// Refusal for acting through a mandate that is not in force (expired, revoked, other item).
pub fn not_in_force(field: &str) -> DomainError {
    DomainError::invalid(vec![FieldError::new(
        field,
        "mandate.not_in_force",
        "没有有效的代办授权（已过期、已撤销或不在授权范围内）",
        "no mandate in force (expired, revoked or outside its scope)",
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn input(from: &str, until: &str) -> MandateInput {
        MandateInput {
            grantee_id_number: "x".into(),
            grantee_name: "李四".into(),
            scope: Scope::All,
            valid_from: d(from),
            valid_until: d(until),
        }
    }

    #[test]
    fn grant_rules() {
        let me = Subject::Person("p1".into());
        let today = d("2026-11-22");
        assert_eq!(
            decide_grant(&input("2026-11-22", "2027-11-22"), today, &me, Some(("p2", "李四"))).unwrap(),
            "p2"
        );
        let e = decide_grant(&input("2026-01-01", "2026-02-01"), today, &me, Some(("p2", "李四"))).unwrap_err();
        assert_eq!(e.errors[0].rule, "mandate.expired");
        let e = decide_grant(&input("2026-12-01", "2026-11-30"), today, &me, Some(("p2", "李四"))).unwrap_err();
        assert_eq!(e.errors[0].rule, "mandate.period");
        let e = decide_grant(&input("2026-11-22", "2027-11-22"), today, &me, Some(("p2", "李三"))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        let e = decide_grant(&input("2026-11-22", "2027-11-22"), today, &me, Some(("p1", "李四"))).unwrap_err();
        assert_eq!(e.errors[0].rule, "mandate.self");
        let e = decide_grant(&input("2026-11-22", "2036-11-22"), today, &me, Some(("p2", "李四"))).unwrap_err();
        assert_eq!(e.errors[0].rule, "mandate.too_long");
    }

    #[test]
    fn in_force_and_scope() {
        let m = Mandate {
            id: "m".into(),
            kind: MandateKind::Mandate,
            principal: Subject::Person("p1".into()),
            principal_name: "王**".into(),
            grantee_person_id: "p2".into(),
            grantee_name: "李四".into(),
            scope: Scope::Items(vec!["000000000001".into()]),
            valid_from: d("2026-01-01"),
            valid_until: d("2026-12-31"),
            revoked_at: None,
            created_at: 0,
        };
        assert!(m.in_force(d("2026-12-31")));
        assert!(!m.in_force(d("2027-01-01")));
        assert!(m.covers(Some("000000000001")));
        assert!(!m.covers(Some("000000000002")));
        let mut r = m.clone();
        r.revoked_at = Some(1);
        assert!(!r.in_force(d("2026-06-01")));
        assert_eq!(Subject::parse("legal:abc"), Some(Subject::Legal("abc".into())));
        assert_eq!(Subject::parse("robot:abc"), None);
    }
}
