//! Audit records: security-relevant facts (logins, permission changes, data access,
//! administrative actions) that go into the ledger so they are tamper-evident
//! (等保 2.0 三级: audit records are protected against alteration).

use crate::error::{DomainError, Problems};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// A short category such as `login`, `admin`, `data_access`.
    pub category: String,
    /// What happened, e.g. `region.created`.
    pub action: String,
    /// What it happened to, e.g. a region code or an account id.
    pub subject: String,
    /// Free detail (never secrets).
    #[serde(default)]
    pub detail: serde_json::Value,
}

pub fn decide(record: &AuditRecord) -> Result<(), DomainError> {
    let mut p = Problems::new();
    p.text("category", &record.category, 40);
    p.text("action", &record.action, 80);
    p.text("subject", &record.subject, 200);
    if !record.category.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        p.push(crate::FieldError::new(
            "category",
            "audit.category_format",
            "类别只能包含小写字母和下划线",
            "a category holds lower-case letters and underscores only",
        ));
    }
    p.finish()
}
