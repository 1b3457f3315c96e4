//! E-licences: licence types; issuing (serial, GB/T 36904 identifier, the seal's
//! signature and the signed QR payload made before the licence's command enters the
//! writer, or in it — see `issue`; the full data kept only sealed, found by a keyed index
//! of the holder's code);
//! status changes and signed annotations (加注件), all in the ledger; verification of
//! licences, licence files and QR payloads; presentations (亮证); and grants that let a
//! department use a licence instead of a submitted material (免提交), recorded in the
//! holder's data-use log.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Meta, Result, Store, StoreError, datause, date_of, new_id, orgs, seals};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;
use yiwang_core::Named;
use yiwang_core::licences::{
    self as core, HolderKind, LicenceData, LicenceFile, LicenceSignature, LicenceType, QrClaims, Status, Verification,
};
use yiwang_core::{DomainError, ErrorKind, FieldError};
use yiwang_crypto::Signer;

#[derive(Debug, Clone)]
pub enum Cmd {
    /// A licence type defined by a department (its credit code + 3 digits).
    DefineType {
        department_id: String,
        t: LicenceType,
    },
    Issue(IssueInput),
    ChangeStatus {
        licence_id: String,
        to: Status,
        reason: String,
    },
    Annotate {
        licence_id: String,
        text: String,
    },
    Grant(GrantInput),
    RevokeGrant {
        grant_id: String,
        by: String,
    },
}

/// A licence to issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    pub type_code: String,
    /// The issuing department (its active seal signs).
    pub department_id: String,
    pub holder_name: String,
    /// Resident ID number (person) or unified social credit code (legal person).
    pub holder_code: String,
    #[serde(default)]
    pub face: BTreeMap<String, String>,
    /// Default: today.
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    /// 证照编号; default: region code + serial.
    #[serde(default)]
    pub number: Option<String>,
    /// The 实施编码 of the item it results from.
    #[serde(default)]
    pub related_item: Option<String>,
    #[serde(default)]
    pub case_id: Option<String>,
}

/// A holder lets a department use a licence instead of a submitted material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub licence_id: String,
    pub department_id: String,
    /// The item (实施编码) it is for.
    #[serde(default)]
    pub item_code: Option<String>,
    pub purpose: String,
    /// 1–90 days.
    pub days: u32,
    /// The holder's ledger actor (the grant is theirs to revoke).
    #[serde(default)]
    pub granted_by: String,
}

/// A licence as listed (no holder code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceSummary {
    pub id: String,
    pub type_code: String,
    pub type_name: String,
    pub number: String,
    pub issuer_department_id: String,
    pub issuer_uscc: String,
    pub holder_kind: HolderKind,
    pub holder_name: String,
    pub holder_masked: String,
    pub seal_id: String,
    /// The status as recorded, or expired once past its validity.
    pub status: Status,
    pub issued_on: String,
    pub valid_until: Option<String>,
    pub related_item: Option<String>,
    pub case_id: Option<String>,
    pub qr_payload: String,
    /// The partner node that issued it, for a licence recognised here (互认); None for this
    /// node's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// One event of a licence's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// `issued`, `status` or `annotation`.
    pub kind: String,
    pub status: Option<Status>,
    pub text: String,
    pub actor: String,
    /// Annotations are signed by the issuer's seal (hex DER).
    pub signature: Option<String>,
    pub at_ms: i64,
}

fn sql_err(s: &str) -> StoreError {
    StoreError::Internal(s.to_string())
}

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

pub async fn types(store: &Store) -> Result<Vec<(LicenceType, String)>> {
    let rows = sqlx::query("SELECT body, department_id FROM licence_types ORDER BY code")
        .fetch_all(&store.read)
        .await?;
    rows.iter()
        .map(|r| {
            let body: String = r.try_get("body")?;
            Ok((
                serde_json::from_str(&body).map_err(|e| sql_err(&e.to_string()))?,
                r.try_get("department_id")?,
            ))
        })
        .collect()
}

pub(crate) async fn type_on(conn: &mut AnyConnection, code: &str) -> Result<Option<LicenceType>> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM licence_types WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?;
    body.map(|b| serde_json::from_str(&b).map_err(|e| sql_err(&e.to_string())))
        .transpose()
}

pub async fn licence_type(store: &Store, code: &str) -> Result<Option<LicenceType>> {
    crate::refdata::licence_type(store, code).await
}

async fn data_element(conn: &mut AnyConnection, code: &str) -> Result<Option<yiwang_core::catalog::DataElement>> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM data_elements WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?;
    body.map(|b| serde_json::from_str(&b).map_err(|e| sql_err(&e.to_string())))
        .transpose()
}

mod commands;
pub use commands::*;
mod issue;
pub use issue::{PreparedLicence, prepare, prepare_typed};
pub(crate) use issue::{issue, store_prepared};
mod read;
pub use read::*;
mod present;
pub use present::*;
