//! Mandates (代办授权) and enterprise agents (经办人): grant, revoke, list, and find the
//! mandate in force that lets a grantee act for a principal.

use crate::accounts::{self, security};
use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, new_id, now_ms};
use chrono::NaiveDate;
use serde_json::{Value, json};
use sqlx::Row as _;
use yiwang_core::DomainError;
use yiwang_core::mandates::{self as core, Mandate, MandateInput, MandateKind, Scope, Subject};

/// A mandate as inserted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub id: String,
    pub kind: MandateKind,
    pub principal: Subject,
    pub principal_name: String,
    pub grantee_person_id: String,
    pub grantee_name: String,
    pub scope: Scope,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    Grant(Box<Row>),
    Revoke { id: String, by: Subject },
}

pub(crate) async fn insert(ctx: &mut WriteCtx<'_>, m: &Row) -> Result<()> {
    ctx.append(&format!("mandate:{}", m.id), Expect::New, "mandate.granted", m)
        .await?;
    sqlx::query(
        "INSERT INTO mandates (id, kind, principal, principal_name, grantee_person_id, grantee_name, scope, valid_from,
           valid_until, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&m.id)
    .bind(match m.kind {
        MandateKind::Mandate => "mandate",
        MandateKind::Agent => "agent",
    })
    .bind(m.principal.key())
    .bind(&m.principal_name)
    .bind(&m.grantee_person_id)
    .bind(&m.grantee_name)
    .bind(serde_json::to_string(&m.scope).expect("serialisable"))
    .bind(m.valid_from.to_string())
    .bind(m.valid_until.to_string())
    .bind(&ctx.actor)
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    Ok(())
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Grant(m) => {
            insert(ctx, m).await?;
            Ok(json!({ "id": m.id }))
        }
        Cmd::Revoke { id, by } => {
            let m = get(&mut *ctx.conn, id)
                .await?
                .ok_or_else(|| DomainError::not_found("mandate_id", "授权", "mandate", id))?;
            if m.revoked_at.is_some() {
                return Err(DomainError::conflict(
                    "mandate_id",
                    "mandate.revoked",
                    "该授权已撤销".into(),
                    "this mandate is already revoked".into(),
                )
                .into());
            }
            ctx.append(
                &format!("mandate:{id}"),
                Expect::Exists,
                "mandate.revoked",
                &json!({ "by": by.key() }),
            )
            .await?;
            sqlx::query("UPDATE mandates SET revoked_at = $1 WHERE id = $2")
                .bind(ctx.now_ms)
                .bind(id)
                .execute(&mut *ctx.conn)
                .await?;
            security(ctx, "mandate.revoked", id, json!({ "by": by.key() })).await?;
            Ok(json!({ "id": id, "revoked": true }))
        }
    }
}

const COLS: &str = "id, kind, principal, principal_name, grantee_person_id, grantee_name, scope, valid_from, valid_until, revoked_at, created_at";

fn to_mandate(r: sqlx::any::AnyRow) -> Result<Mandate> {
    let principal: String = r.try_get("principal")?;
    let scope: String = r.try_get("scope")?;
    let kind: String = r.try_get("kind")?;
    let date = |s: String| {
        s.parse::<NaiveDate>()
            .map_err(|_| StoreError::Internal(format!("stored date {s}")))
    };
    Ok(Mandate {
        id: r.try_get("id")?,
        kind: if kind == "agent" {
            MandateKind::Agent
        } else {
            MandateKind::Mandate
        },
        principal: Subject::parse(&principal).ok_or_else(|| StoreError::Internal(format!("principal {principal}")))?,
        principal_name: r.try_get("principal_name")?,
        grantee_person_id: r.try_get("grantee_person_id")?,
        grantee_name: r.try_get("grantee_name")?,
        scope: serde_json::from_str(&scope).map_err(|e| StoreError::Internal(e.to_string()))?,
        valid_from: date(r.try_get("valid_from")?)?,
        valid_until: date(r.try_get("valid_until")?)?,
        revoked_at: r.try_get("revoked_at")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn get<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(e: E, id: &str) -> Result<Option<Mandate>> {
    let sql = format!("SELECT {COLS} FROM mandates WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_mandate)
        .transpose()
}

/// Mandates a subject has given, newest first.
pub async fn given(store: &Store, principal: &Subject) -> Result<Vec<Mandate>> {
    let sql = format!("SELECT {COLS} FROM mandates WHERE principal = $1 ORDER BY created_at DESC");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(principal.key())
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(to_mandate)
        .collect()
}

/// Mandates a person has received (including enterprise agent roles), newest first.
pub async fn received(store: &Store, person_id: &str) -> Result<Vec<Mandate>> {
    let sql = format!("SELECT {COLS} FROM mandates WHERE grantee_person_id = $1 ORDER BY created_at DESC");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(person_id)
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(to_mandate)
        .collect()
}

/// Today in the platform's legal time zone (UTC+8).
pub fn today() -> NaiveDate {
    crate::today()
}

/// The mandate in force that lets `person_id` act for `principal` on `item`, if any.
pub async fn in_force(
    store: &Store,
    person_id: &str,
    principal: &Subject,
    item: Option<&str>,
) -> Result<Option<Mandate>> {
    let today = today();
    Ok(received(store, person_id)
        .await?
        .into_iter()
        .find(|m| &m.principal == principal && m.in_force(today) && m.covers(item)))
}

/// Grants a mandate from `principal` (the acting subject) to the person named by ID number
/// and name. An enterprise grants through one of its agents.
pub async fn grant(store: &Store, meta: Meta, principal: &Subject, input: &MandateInput) -> Result<Mandate> {
    let grantee = accounts::person_by_id_number(store, &input.grantee_id_number).await?;
    let grantee_id = core::decide_grant(
        input,
        today(),
        principal,
        grantee.as_ref().map(|g| (g.id.as_str(), g.name.as_str())),
    )?;
    let grantee = grantee.expect("decided: exists");
    let principal_name = match principal {
        Subject::Person(id) => accounts::person(&store.read, id)
            .await?
            .map(|p| p.name)
            .unwrap_or_default(),
        Subject::Legal(id) => accounts::legal_person(&store.read, id)
            .await?
            .map(|l| l.name)
            .unwrap_or_default(),
    };
    let row = Row {
        id: new_id(),
        kind: MandateKind::Mandate,
        principal: principal.clone(),
        principal_name,
        grantee_person_id: grantee_id,
        grantee_name: grantee.name,
        scope: input.scope.clone(),
        valid_from: input.valid_from,
        valid_until: input.valid_until,
    };
    let id = row.id.clone();
    store.write(meta, Command::Mandates(Cmd::Grant(Box::new(row)))).await?;
    get(&store.read, &id)
        .await?
        .ok_or_else(|| StoreError::Internal("mandate vanished".into()))
}

/// Revokes a mandate; its principal or its grantee may (a grantee may renounce it).
pub async fn revoke(store: &Store, meta: Meta, id: &str, by: &Subject, by_person: Option<&str>) -> Result<Value> {
    let m = get(&store.read, id)
        .await?
        .ok_or_else(|| DomainError::not_found("mandate_id", "授权", "mandate", id))?;
    let allowed = &m.principal == by || by_person.is_some_and(|p| p == m.grantee_person_id);
    if !allowed {
        return Err(DomainError::not_found("mandate_id", "授权", "mandate", id).into());
    }
    Ok(store
        .write(
            meta,
            Command::Mandates(Cmd::Revoke {
                id: id.into(),
                by: by.clone(),
            }),
        )
        .await?
        .value)
}

/// Milliseconds now (for callers).
pub fn now() -> i64 {
    now_ms()
}
