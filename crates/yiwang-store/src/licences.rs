//! E-licences: licence types; issuing (serial, GB/T 36904 identifier, the seal's
//! signature and the signed QR payload made inside the one transaction that stores the
//! licence; the full data kept only sealed, found by a keyed index of the holder's code);
//! status changes and signed annotations (加注件), all in the ledger; verification of
//! licences, licence files and QR payloads; presentations (亮证); and grants that let a
//! department use a licence instead of a submitted material (免提交), recorded in the
//! holder's data-use log.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, datause, date_of, new_id, orgs, seals};
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
    let mut c = store.read.acquire().await?;
    type_on(&mut c, code).await
}

async fn data_element(conn: &mut AnyConnection, code: &str) -> Result<Option<yiwang_core::catalog::DataElement>> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM data_elements WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?;
    body.map(|b| serde_json::from_str(&b).map_err(|e| sql_err(&e.to_string())))
        .transpose()
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::DefineType { department_id, t } => define_type(ctx, department_id, t).await,
        Cmd::Issue(input) => issue(ctx, input).await,
        Cmd::ChangeStatus { licence_id, to, reason } => {
            let s = summary_on(ctx.conn, licence_id).await?;
            core::decide_status(s.status, *to, reason)?;
            ctx.append(
                &stream(licence_id),
                Expect::Exists,
                "licence.status_changed",
                &json!({ "from": s.status, "to": to, "reason": reason.trim() }),
            )
            .await?;
            sqlx::query("UPDATE licences SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(to.as_str())
                .bind(ctx.now_ms)
                .bind(licence_id)
                .execute(&mut *ctx.conn)
                .await?;
            history(ctx, licence_id, "status", Some(*to), reason.trim(), None).await?;
            Ok(json!({ "id": licence_id, "status": to }))
        }
        Cmd::Annotate { licence_id, text } => {
            let mut p = yiwang_core::error::Problems::new();
            p.text("text", text, 500);
            p.finish()?;
            let s = summary_on(ctx.conn, licence_id).await?;
            if s.status.is_final() {
                return Err(DomainError::conflict(
                    "status",
                    "licence.final",
                    format!("证照已{}，不能再加注", s.status.zh()),
                    format!("the licence is {}: it takes no more annotations", s.status.en()),
                )
                .into());
            }
            // 加注件: signed by the issuer's seal like the licence itself.
            let seal = seals::signing_seal(ctx.conn, &s.issuer_department_id)
                .await?
                .ok_or_else(no_seal)?;
            yiwang_core::seals::may_sign(&seal, date_of(ctx.now_ms))?;
            let signer = ctx.keys.signer(ctx.conn, &seal.key_id).await?;
            let bytes = annotation_bytes(licence_id, text.trim(), &seal.key_id, ctx.now_ms);
            let sig = hex::encode(signer.sign(&bytes));
            ctx.append(
                &stream(licence_id),
                Expect::Exists,
                "licence.annotated",
                &json!({ "text": text.trim(), "seal_id": seal.id, "key_id": seal.key_id, "signature": sig }),
            )
            .await?;
            history(ctx, licence_id, "annotation", None, text.trim(), Some(&sig)).await?;
            Ok(json!({ "id": licence_id, "annotated": true }))
        }
        Cmd::Grant(g) => grant(ctx, g).await,
        Cmd::RevokeGrant { grant_id, by } => {
            let row = sqlx::query("SELECT licence_id, granted_by, revoked_at FROM licence_grants WHERE id = $1")
                .bind(grant_id)
                .fetch_optional(&mut *ctx.conn)
                .await?
                .ok_or_else(|| DomainError::not_found("grant_id", "授权", "grant", grant_id))?;
            let granted_by: String = row.try_get("granted_by")?;
            if &granted_by != by {
                return Err(DomainError::one(
                    ErrorKind::NotFound,
                    FieldError::new("grant_id", "exists", "授权不存在", "no such grant of yours"),
                )
                .into());
            }
            let licence_id: String = row.try_get("licence_id")?;
            ctx.append(
                &stream(&licence_id),
                Expect::Exists,
                "licence.grant_revoked",
                &json!({ "grant_id": grant_id }),
            )
            .await?;
            sqlx::query("UPDATE licence_grants SET revoked_at = $1 WHERE id = $2")
                .bind(ctx.now_ms)
                .bind(grant_id)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({ "grant_id": grant_id, "revoked": true }))
        }
    }
}

fn stream(id: &str) -> String {
    format!("licence:{id}")
}

fn no_seal() -> StoreError {
    DomainError::conflict(
        "department_id",
        "licence.no_seal",
        "颁发部门尚无在用的印章，请先制作印章".into(),
        "the issuing department has no active seal: make one first".into(),
    )
    .into()
}

fn annotation_bytes(licence_id: &str, text: &str, key_id: &str, at_ms: i64) -> Vec<u8> {
    format!("yiwang-annotation/1\n{licence_id}\n{text}\n{key_id}\n{at_ms}").into_bytes()
}

async fn define_type(ctx: &mut WriteCtx<'_>, department_id: &str, t: &LicenceType) -> Result<Value> {
    let dept = orgs::department(&mut *ctx.conn, department_id)
        .await?
        .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", department_id))?;
    let known = crate::catalog::element_codes(ctx.conn).await?;
    core::check_type(t, &|c| known.contains(c))?;
    if t.definer_uscc() != dept.uscc {
        return Err(DomainError::invalid(vec![FieldError::new(
            "code",
            "licence_type.definer",
            format!("证照类型代码应以定义部门的统一社会信用代码 {} 开头", dept.uscc),
            format!(
                "a licence type code starts with the defining department's credit code {}",
                dept.uscc
            ),
        )])
        .into());
    }
    let exists = type_on(ctx.conn, &t.code).await?.is_some();
    ctx.append(
        &format!("licence_type:{}", t.code),
        if exists { Expect::Exists } else { Expect::New },
        if exists {
            "licence_type.changed"
        } else {
            "licence_type.defined"
        },
        t,
    )
    .await?;
    sqlx::query(
        "INSERT INTO licence_types (code, name, department_id, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(&t.code)
    .bind(&t.name)
    .bind(department_id)
    .bind(serde_json::to_string(t).expect("serialisable"))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "type": t }))
}

/// The keyed index of a holder's code (the same as persons' for ID numbers, so a person
/// finds their licences).
pub fn holder_index(store_pii: &crate::keys::PiiKeys, kind: HolderKind, code: &str) -> String {
    match kind {
        HolderKind::Person => store_pii.index("id_number", &code.trim().to_uppercase()),
        HolderKind::Legal => store_pii.index("uscc", code.trim()),
    }
}

pub(crate) async fn issue(ctx: &mut WriteCtx<'_>, input: &IssueInput) -> Result<Value> {
    let t = type_on(ctx.conn, &input.type_code)
        .await?
        .ok_or_else(|| DomainError::not_found("type_code", "证照类型", "licence type", &input.type_code))?;
    let dept = orgs::department(&mut *ctx.conn, &input.department_id)
        .await?
        .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", &input.department_id))?;
    let today = date_of(ctx.now_ms);
    let mut p = yiwang_core::error::Problems::new();
    p.text("holder_name", &input.holder_name, 100);
    p.check(
        t.holder
            .check_code("holder_code", &input.holder_code.trim().to_uppercase()),
    );
    let valid_from = input.valid_from.unwrap_or(today);
    if valid_from < today {
        p.push(FieldError::new(
            "valid_from",
            "licence.from_past",
            "有效期起始日不能早于今天",
            "the validity cannot begin before today",
        ));
    }
    if let Some(n) = &input.number
        && (n.trim().is_empty() || n.chars().count() > 50)
    {
        p.push(FieldError::new(
            "number",
            "max_length",
            "证照编号为 1–50 个字符",
            "a number has 1–50 characters",
        ));
    }
    if let Some(item) = &input.related_item {
        p.check(yiwang_core::catalog::check_impl_code("related_item", item).map(|_| ()));
    }
    p.finish()?;
    let mut elements = BTreeMap::new();
    for f in &t.face {
        if let Some(d) = data_element(ctx.conn, &f.element).await? {
            elements.insert(f.element.clone(), d);
        }
    }
    core::check_face(&t, &input.face, &|c| elements.get(c).cloned())?;
    let seal = seals::signing_seal(ctx.conn, &dept.id).await?.ok_or_else(no_seal)?;
    yiwang_core::seals::may_sign(&seal, today)?;
    // The serial: per type and issuer, in sequence (the batch holds the ledger lock, so
    // no other process allocates at the same time).
    let next: Option<i64> =
        sqlx::query_scalar("SELECT next_serial FROM licence_serials WHERE type_code = $1 AND issuer_uscc = $2")
            .bind(&t.code)
            .bind(&dept.uscc)
            .fetch_optional(&mut *ctx.conn)
            .await?;
    let n = next.unwrap_or(1);
    let serial = format!("{}{n:06}", today.format("%Y"));
    let id = core::licence_id(&t.code, &dept.uscc, &serial, 1);
    let data = LicenceData {
        id: id.clone(),
        type_code: t.code.clone(),
        type_name: t.name.clone(),
        number: input
            .number
            .clone()
            .map(|n| n.trim().to_string())
            .unwrap_or_else(|| format!("{}{serial}", dept.region_code)),
        version: 1,
        definer_uscc: t.definer_uscc().to_string(),
        issuer_uscc: dept.uscc.clone(),
        issuer_name: dept.name.clone(),
        issued_on: today,
        valid_from,
        valid_until: t.validity.until(valid_from),
        jurisdiction: dept.region_code.clone(),
        holder_kind: t.holder,
        holder_name: input.holder_name.trim().to_string(),
        holder_code: input.holder_code.trim().to_uppercase(),
        holder_code_type: t.holder.code_type().into(),
        related_item: input.related_item.clone(),
        face: input
            .face
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.trim().to_string()))
            .collect(),
    };
    let signer = ctx.keys.signer(ctx.conn, &seal.key_id).await?;
    let signature = LicenceSignature {
        seal_id: seal.id.clone(),
        key_id: seal.key_id.clone(),
        signed_at_ms: ctx.now_ms,
        alg: core::ALG.into(),
        value: hex::encode(signer.sign(&data.signed_bytes(&seal.id, &seal.key_id, ctx.now_ms))),
    };
    let digest = hex::encode(yiwang_crypto::sm3(&data.canonical()));
    let holder_masked = t.holder.mask(&data.holder_code);
    let claims = QrClaims {
        i: id.clone(),
        t: t.name.clone(),
        n: data.number.clone(),
        h: data.holder_name.clone(),
        c: holder_masked.clone(),
        s: dept.uscc.clone(),
        u: data.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        d: digest.clone(),
        k: seal.key_id.clone(),
        a: ctx.now_ms,
    };
    let claims_b64 = core::b64url_encode(&serde_json::to_vec(&claims).expect("serialisable"));
    let qr_sig = signer.sign(&core::qr_signed_bytes(&claims_b64));
    let qr_payload = format!("{}.{claims_b64}.{}", core::QR_PREFIX, core::b64url_encode(&qr_sig));
    // The ledger gets the facts and the digest, never the holder's identifier in clear.
    ctx.append(
        &stream(&id),
        Expect::New,
        "licence.issued",
        &json!({ "id": id, "type_code": t.code, "number": data.number, "issuer_uscc": dept.uscc,
                 "holder_kind": t.holder, "holder_name": data.holder_name, "holder_masked": holder_masked,
                 "digest": digest, "signature": signature, "case_id": input.case_id,
                 "valid_from": data.valid_from, "valid_until": data.valid_until }),
    )
    .await?;
    match next {
        Some(_) => sqlx::query("UPDATE licence_serials SET next_serial = $1 WHERE type_code = $2 AND issuer_uscc = $3"),
        None => sqlx::query("INSERT INTO licence_serials (next_serial, type_code, issuer_uscc) VALUES ($1, $2, $3)"),
    }
    .bind(n + 1)
    .bind(&t.code)
    .bind(&dept.uscc)
    .execute(&mut *ctx.conn)
    .await?;
    let data_enc = ctx
        .keys
        .pii
        .seal_bytes(&format!("licences.data:{id}"), &data.canonical());
    sqlx::query(
        "INSERT INTO licences (id, type_code, type_name, number, issuer_department_id, issuer_uscc, holder_kind,
           holder_index, holder_name, holder_masked, data_enc, signature, qr_payload, seal_id, status, issued_on,
           valid_until, related_item, case_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'valid', $15, $16, $17, $18, $19, $19)",
    )
    .bind(&id)
    .bind(&t.code)
    .bind(&t.name)
    .bind(&data.number)
    .bind(&dept.id)
    .bind(&dept.uscc)
    .bind(t.holder.as_str())
    .bind(holder_index(ctx.keys.pii.as_ref(), t.holder, &data.holder_code))
    .bind(&data.holder_name)
    .bind(&holder_masked)
    .bind(data_enc)
    .bind(serde_json::to_string(&signature).expect("serialisable"))
    .bind(&qr_payload)
    .bind(&seal.id)
    .bind(today.to_string())
    .bind(data.valid_until.map(|d| d.to_string()))
    .bind(&input.related_item)
    .bind(&input.case_id)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    history(
        ctx,
        &id,
        "issued",
        Some(Status::Valid),
        &format!("{} 核发", dept.name),
        None,
    )
    .await?;
    Ok(
        json!({ "id": id, "number": data.number, "type_name": t.name, "status": Status::Valid,
               "valid_until": data.valid_until, "holder_masked": holder_masked }),
    )
}

pub(crate) async fn history(
    ctx: &mut WriteCtx<'_>,
    licence_id: &str,
    kind: &str,
    status: Option<Status>,
    text: &str,
    signature: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO licence_history (id, licence_id, kind, status, text, actor, signature, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(licence_id)
    .bind(kind)
    .bind(status.map(|s| s.as_str()))
    .bind(text)
    .bind(&ctx.actor)
    .bind(signature)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

async fn grant(ctx: &mut WriteCtx<'_>, g: &GrantInput) -> Result<Value> {
    let mut p = yiwang_core::error::Problems::new();
    p.text("purpose", &g.purpose, 200);
    if !(1..=90).contains(&g.days) {
        p.push(FieldError::new(
            "days",
            "range",
            "授权期限为 1–90 天",
            "a grant lasts 1–90 days",
        ));
    }
    if let Some(item) = &g.item_code {
        p.check(yiwang_core::catalog::check_impl_code("item_code", item).map(|_| ()));
    }
    p.finish()?;
    let s = summary_on(ctx.conn, &g.licence_id).await?;
    core::require_valid(s.status)?;
    let dept = orgs::department(&mut *ctx.conn, &g.department_id)
        .await?
        .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", &g.department_id))?;
    let id = new_id();
    let until = ctx.now_ms + g.days as i64 * 86_400_000;
    ctx.append(
        &stream(&g.licence_id),
        Expect::Exists,
        "licence.granted",
        &json!({ "grant_id": id, "department": dept.name, "item_code": g.item_code, "purpose": g.purpose.trim(),
                 "valid_until_ms": until }),
    )
    .await?;
    sqlx::query(
        "INSERT INTO licence_grants (id, licence_id, department_id, item_code, purpose, granted_by, valid_until, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&g.licence_id)
    .bind(&g.department_id)
    .bind(&g.item_code)
    .bind(g.purpose.trim())
    .bind(&ctx.actor)
    .bind(until)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(json!({ "grant_id": id, "licence_id": g.licence_id, "department": dept.name, "valid_until_ms": until }))
}

// ---------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------

const SUMMARY_COLS: &str = "id, type_code, type_name, number, issuer_department_id, issuer_uscc, holder_kind, \
     holder_name, holder_masked, seal_id, status, issued_on, valid_until, related_item, case_id, qr_payload";

fn to_summary(r: &sqlx::any::AnyRow) -> Result<LicenceSummary> {
    let kind: String = r.try_get("holder_kind")?;
    let status: String = r.try_get("status")?;
    let valid_until: Option<String> = r.try_get("valid_until")?;
    let mut status = Status::parse(&status).ok_or_else(|| sql_err("licence status"))?;
    // Past its validity a licence is expired (失效), whatever was recorded.
    if status == Status::Valid
        && valid_until
            .as_deref()
            .and_then(|u| u.parse::<NaiveDate>().ok())
            .is_some_and(|u| u < crate::today())
    {
        status = Status::Expired;
    }
    Ok(LicenceSummary {
        id: r.try_get("id")?,
        type_code: r.try_get("type_code")?,
        type_name: r.try_get("type_name")?,
        number: r.try_get("number")?,
        issuer_department_id: r.try_get("issuer_department_id")?,
        issuer_uscc: r.try_get("issuer_uscc")?,
        holder_kind: HolderKind::parse(&kind).ok_or_else(|| sql_err("holder kind"))?,
        holder_name: r.try_get("holder_name")?,
        holder_masked: r.try_get("holder_masked")?,
        seal_id: r.try_get("seal_id")?,
        status,
        issued_on: r.try_get("issued_on")?,
        valid_until,
        related_item: r.try_get("related_item")?,
        case_id: r.try_get("case_id")?,
        qr_payload: r.try_get("qr_payload")?,
    })
}

pub(crate) async fn summary_on(conn: &mut AnyConnection, id: &str) -> Result<LicenceSummary> {
    let sql = format!("SELECT {SUMMARY_COLS} FROM licences WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(to_summary)
        .transpose()?
        .ok_or_else(|| DomainError::not_found("licence_id", "电子证照", "licence", id).into())
}

pub async fn summary(store: &Store, id: &str) -> Result<Option<LicenceSummary>> {
    let mut c = store.read.acquire().await?;
    match summary_on(&mut c, id).await {
        Ok(s) => Ok(Some(s)),
        Err(StoreError::Domain(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Licences of a holder (by their code's keyed index), newest first.
pub async fn of_holder(store: &Store, index: &str) -> Result<Vec<LicenceSummary>> {
    let sql = format!("SELECT {SUMMARY_COLS} FROM licences WHERE holder_index = $1 ORDER BY created_at DESC");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(index)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_summary)
        .collect()
}

/// A person's licences (their wallet).
pub async fn of_person(store: &Store, person_id: &str) -> Result<Vec<LicenceSummary>> {
    let index: Option<String> = sqlx::query_scalar("SELECT id_number_index FROM persons WHERE id = $1")
        .bind(person_id)
        .fetch_optional(&store.read)
        .await?;
    match index {
        Some(i) => of_holder(store, &i).await,
        None => Ok(vec![]),
    }
}

/// A legal person's licences.
pub async fn of_legal(store: &Store, uscc: &str) -> Result<Vec<LicenceSummary>> {
    of_holder(store, &holder_index(&store.pii, HolderKind::Legal, uscc)).await
}

/// Licences a department issued, newest first.
pub async fn issued_by(store: &Store, department_id: &str) -> Result<Vec<LicenceSummary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLS} FROM licences WHERE issuer_department_id = $1 ORDER BY created_at DESC LIMIT 500"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(department_id)
        .fetch_all(&store.read)
        .await?
        .iter()
        .map(to_summary)
        .collect()
}

/// The full licence file (decrypted data and signature). Reading it discloses the holder's
/// identifier: callers record that use where the reader is not the holder.
pub async fn file(store: &Store, id: &str) -> Result<Option<LicenceFile>> {
    let row = sqlx::query("SELECT data_enc, signature FROM licences WHERE id = $1")
        .bind(id)
        .fetch_optional(&store.read)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let enc: String = row.try_get("data_enc")?;
    let sig: String = row.try_get("signature")?;
    let bytes = store.pii.open_bytes(&format!("licences.data:{id}"), &enc)?;
    Ok(Some(LicenceFile {
        format: "yiwang-licence".into(),
        data: serde_json::from_slice(&bytes).map_err(|e| sql_err(&e.to_string()))?,
        signature: serde_json::from_str(&sig).map_err(|e| sql_err(&e.to_string()))?,
    }))
}

pub async fn history_of(store: &Store, id: &str) -> Result<Vec<HistoryEntry>> {
    let rows = sqlx::query(
        "SELECT kind, status, text, actor, signature, at FROM licence_history WHERE licence_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            let status: Option<String> = r.try_get("status")?;
            Ok(HistoryEntry {
                kind: r.try_get("kind")?,
                status: status.as_deref().and_then(Status::parse),
                text: r.try_get("text")?,
                actor: r.try_get("actor")?,
                signature: r.try_get("signature")?,
                at_ms: r.try_get("at")?,
            })
        })
        .collect()
}

fn sm2_ok(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    yiwang_crypto::verify(pk, msg, sig).is_ok()
}

/// Verifies a licence file against the trusted keys (this node's seals, imported trust
/// lists); adds the live status and the seal's certification when this node issued it.
pub async fn verify_file(store: &Store, f: &LicenceFile) -> Result<Verification> {
    let key = seals::trusted_key_by_id(store, &f.signature.key_id).await?;
    let local = summary(store, &f.data.id).await?;
    let mut v = core::verify_file(
        f,
        key.as_ref(),
        &sm2_ok,
        crate::today(),
        local.as_ref().map(|s| s.status),
    );
    if let Some(s) = seals::seal(store, &f.signature.seal_id).await? {
        let ok = seals::certified(store, &s).await?;
        v.checks.insert(
            1,
            yiwang_core::licences::Check {
                name: "seal_certified".into(),
                ok,
                zh: if ok {
                    "印章由本平台制章者签发".into()
                } else {
                    "印章记录未通过制章者验证".into()
                },
                en: if ok {
                    "the seal is certified by this platform's seal maker".into()
                } else {
                    "the seal record fails the seal maker's certification".into()
                },
            },
        );
        if !ok {
            v.valid = false;
            v.reason
                .get_or_insert("the seal record fails the seal maker's certification".into());
        }
    } else if local.is_none() {
        v.checks.push(yiwang_core::licences::Check {
            name: "status".into(),
            ok: true,
            zh: "由外地机构颁发：当前状态请向颁发机构查询".into(),
            en: "issued elsewhere: ask the issuer for its current status".into(),
        });
    }
    Ok(v)
}

/// Verifies a licence issued here by its identifier.
pub async fn verify_id(store: &Store, id: &str) -> Result<Option<(LicenceFile, Verification)>> {
    match file(store, id).await? {
        None => Ok(None),
        Some(f) => {
            let v = verify_file(store, &f).await?;
            Ok(Some((f, v)))
        }
    }
}

/// Verifies a QR payload as an offline verifier would (trust list only), then adds the
/// live status when the licence is this node's.
pub async fn verify_qr(store: &Store, payload: &str) -> Result<(Option<QrClaims>, Verification)> {
    let keys = seals::trusted_keys(store).await?;
    let (claims, mut v) = core::verify_qr(
        payload,
        &|k| keys.iter().find(|x| x.key_id == k).cloned(),
        &sm2_ok,
        crate::today(),
    );
    if let Some(c) = &claims
        && let Some(s) = summary(store, &c.i).await?
    {
        let ok = s.status == Status::Valid;
        v.checks.push(yiwang_core::licences::Check {
            name: "status".into(),
            ok,
            zh: format!("颁发机构记录的状态：{}", s.status.zh()),
            en: format!("the issuer records it as {}", s.status.en()),
        });
        if !ok {
            v.valid = false;
            v.reason
                .get_or_insert(format!("the issuer records it as {}", s.status.en()));
        }
    }
    Ok((claims, v))
}

// ---------------------------------------------------------------------------------------
// Presentations (亮证)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Presentation {
    /// Licence id.
    i: String,
    /// Valid until (epoch ms).
    x: i64,
    /// Nonce.
    n: String,
}

pub const PRESENTATION_PREFIX: &str = "YWP1";

/// A short-lived token showing a licence (the holder's phone shows it as a QR code);
/// signed by the platform, valid for `minutes`.
pub fn present(store: &Store, licence_id: &str, minutes: i64) -> (String, i64) {
    let until = crate::now_ms() + minutes * 60_000;
    let p = Presentation {
        i: licence_id.into(),
        x: until,
        n: new_id(),
    };
    let b = core::b64url_encode(&serde_json::to_vec(&p).expect("serialisable"));
    let sig = store
        .seal_maker
        .signer
        .sign(format!("{PRESENTATION_PREFIX}.{b}").as_bytes());
    (
        format!("{PRESENTATION_PREFIX}.{b}.{}", core::b64url_encode(&sig)),
        until,
    )
}

/// The licence a presentation token shows, if the token is genuine and not expired.
pub fn check_presentation(store: &Store, token: &str) -> std::result::Result<(String, i64), (String, String)> {
    let bad = || {
        (
            "展示码无效".to_string(),
            "the presentation code is not valid".to_string(),
        )
    };
    let mut parts = token.split('.');
    let (Some(PRESENTATION_PREFIX), Some(b), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let sig = core::b64url_decode(s).ok_or_else(bad)?;
    if yiwang_crypto::verify(
        &store.seal_maker.signer.public_key(),
        format!("{PRESENTATION_PREFIX}.{b}").as_bytes(),
        &sig,
    )
    .is_err()
    {
        return Err(bad());
    }
    let p: Presentation = core::b64url_decode(b)
        .and_then(|j| serde_json::from_slice(&j).ok())
        .ok_or_else(bad)?;
    if crate::now_ms() > p.x {
        return Err((
            "展示码已过期，请持证人重新出示".into(),
            "the presentation code has expired: ask the holder to show it again".into(),
        ));
    }
    Ok((p.i, p.x))
}

// ---------------------------------------------------------------------------------------
// Use instead of a submitted material (免提交)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub id: String,
    pub licence_id: String,
    pub department_id: String,
    pub department_name: String,
    pub item_code: Option<String>,
    pub purpose: String,
    pub granted_by: String,
    pub valid_until_ms: i64,
    pub revoked_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

pub async fn grants_of(store: &Store, licence_id: &str) -> Result<Vec<Grant>> {
    let rows = sqlx::query(
        "SELECT g.id, g.licence_id, g.department_id, d.name AS department_name, g.item_code, g.purpose, g.granted_by,
           g.valid_until, g.revoked_at, g.created_at
         FROM licence_grants g LEFT JOIN departments d ON d.id = g.department_id
         WHERE g.licence_id = $1 ORDER BY g.created_at DESC",
    )
    .bind(licence_id)
    .fetch_all(&store.read)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Grant {
                id: r.try_get("id")?,
                licence_id: r.try_get("licence_id")?,
                department_id: r.try_get("department_id")?,
                department_name: r.try_get::<Option<String>, _>("department_name")?.unwrap_or_default(),
                item_code: r.try_get("item_code")?,
                purpose: r.try_get("purpose")?,
                granted_by: r.try_get("granted_by")?,
                valid_until_ms: r.try_get("valid_until")?,
                revoked_at_ms: r.try_get("revoked_at")?,
                created_at_ms: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn grant_by_id(store: &Store, grant_id: &str) -> Result<Option<Grant>> {
    let row: Option<String> = sqlx::query_scalar("SELECT licence_id FROM licence_grants WHERE id = $1")
        .bind(grant_id)
        .fetch_optional(&store.read)
        .await?;
    match row {
        Some(l) => Ok(grants_of(store, &l).await?.into_iter().find(|g| g.id == grant_id)),
        None => Ok(None),
    }
}

/// A licence used in place of a material: verified, with the trust level of material it
/// counts as.
#[derive(Debug, Clone, Serialize)]
pub struct LicenceUse {
    pub file: LicenceFile,
    pub verification: Verification,
    /// A: issued by the authority (国办函〔2016〕108号 material trust levels).
    pub trust_level: &'static str,
}

/// A department uses a licence under a grant: the grant must be its own, current and not
/// revoked; the licence valid and verified. The read is recorded in the holder's
/// data-use log first (a person holder) with the grant's purpose.
pub async fn use_licence(
    store: &Store,
    meta: Meta,
    reader: &datause::Reader,
    grant_id: &str,
    department_id: &str,
) -> Result<LicenceUse> {
    let refuse = |rule: &str, zh: &str, en: &str| {
        StoreError::from(DomainError::one(
            ErrorKind::Conflict,
            FieldError::new("grant_id", rule, zh, en),
        ))
    };
    let g = grant_by_id(store, grant_id)
        .await?
        .filter(|g| g.department_id == department_id)
        .ok_or_else(|| DomainError::not_found("grant_id", "授权", "grant", grant_id))?;
    if g.revoked_at_ms.is_some() {
        return Err(refuse(
            "grant.revoked",
            "持证人已撤回授权",
            "the holder revoked the grant",
        ));
    }
    if crate::now_ms() > g.valid_until_ms {
        return Err(refuse("grant.expired", "授权已过期", "the grant has expired"));
    }
    let Some((file, verification)) = verify_id(store, &g.licence_id).await? else {
        return Err(DomainError::not_found("licence_id", "电子证照", "licence", &g.licence_id).into());
    };
    if !verification.valid {
        return Err(refuse(
            "licence.not_verified",
            "证照未通过验证，不能代替材料",
            "the licence does not verify and cannot stand in for a material",
        ));
    }
    record_read(
        store,
        meta,
        reader,
        &file,
        &format!("使用电子证照「{}」代替申请材料：{}", file.data.type_name, g.purpose),
    )
    .await?;
    Ok(LicenceUse {
        file,
        verification,
        trust_level: "A",
    })
}

/// Records in a person holder's data-use log that `reader` read their licence in full.
async fn record_read(
    store: &Store,
    meta: Meta,
    reader: &datause::Reader,
    file: &LicenceFile,
    purpose: &str,
) -> Result<()> {
    if file.data.holder_kind != HolderKind::Person {
        return Ok(());
    }
    let person: Option<String> = sqlx::query_scalar("SELECT id FROM persons WHERE id_number_index = $1")
        .bind(holder_index(&store.pii, HolderKind::Person, &file.data.holder_code))
        .fetch_optional(&store.read)
        .await?;
    let Some(pid) = person else { return Ok(()) };
    let u = yiwang_core::datause::DataUse {
        id: new_id(),
        person_id: pid,
        actor_kind: reader.kind.clone(),
        actor_id: reader.id.clone(),
        actor_name: reader.name.clone(),
        department: reader.department.clone(),
        fields: vec![
            yiwang_core::datause::PersonalField::Name,
            yiwang_core::datause::PersonalField::IdNumber,
        ],
        unmasked: true,
        purpose: purpose.to_string(),
        case_id: None,
        at_ms: crate::now_ms(),
    };
    store
        .write(meta, Command::DataUse(datause::Cmd::Record(Box::new(u))))
        .await?;
    Ok(())
}

/// The full licence as staff read it: the read is recorded in a person holder's data-use
/// log first (个人信息保护法 art. 14: the purpose is stated).
pub async fn read_file(
    store: &Store,
    meta: Meta,
    reader: &datause::Reader,
    id: &str,
    purpose: &str,
) -> Result<Option<LicenceFile>> {
    let Some(file) = file(store, id).await? else {
        return Ok(None);
    };
    record_read(store, meta, reader, &file, purpose).await?;
    Ok(Some(file))
}

/// The licences of a person or of a legal person (the wallet of whoever is acting).
pub async fn of_subject(store: &Store, subject: &yiwang_core::mandates::Subject) -> Result<Vec<LicenceSummary>> {
    use yiwang_core::mandates::Subject;
    match subject {
        Subject::Person(p) => of_person(store, p).await,
        Subject::Legal(l) => match crate::accounts::legal_person(&store.read, l).await? {
            Some(lp) => of_legal(store, &lp.uscc).await,
            None => Ok(vec![]),
        },
    }
}

/// A licence of the subject's, or None when it is not theirs (or does not exist).
pub async fn held_by(
    store: &Store,
    subject: &yiwang_core::mandates::Subject,
    id: &str,
) -> Result<Option<LicenceSummary>> {
    Ok(of_subject(store, subject).await?.into_iter().find(|l| l.id == id))
}
