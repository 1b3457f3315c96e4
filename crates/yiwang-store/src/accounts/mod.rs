//! Accounts: persons (identifiers encrypted, blind-indexed, masked), legal persons with
//! their agents, staff with roles, and roles as data. Service functions shared by the
//! API, the pages and the CLI.

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, new_id, now_ms, orgs};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{Any, Executor};
use yiwang_core::access::{self, Permission};
use yiwang_core::accounts::{self as core, LegalKind, LegalPersonInput, PersonInput, PersonRefs, StaffInput};
use yiwang_core::audit::AuditRecord;
use yiwang_core::mandates::{MandateKind, Scope, Subject};
use yiwang_core::policies::Audience;
use yiwang_core::{DomainError, FieldError};

/// A person registration ready to store: identifiers already sealed and indexed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewPerson {
    pub person_id: String,
    pub account_id: String,
    pub name: String,
    pub id_number_enc: String,
    pub id_number_index: String,
    pub id_number_masked: String,
    pub phone_enc: String,
    pub phone_index: String,
    pub phone_masked: String,
    pub address_enc: Option<String>,
    /// The staff account that registered the person at a window (帮办), if any.
    pub registered_by: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    /// Birth date and sex from the ID number (GB 11643), for the profile row; never in
    /// the ledger.
    #[serde(skip)]
    pub birth: Option<(chrono::NaiveDate, bool)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewLegal {
    pub legal_id: String,
    pub name: String,
    pub uscc: String,
    pub kind: LegalKind,
    pub legal_representative: String,
    pub agent_person_id: String,
    pub agent_name: String,
    pub mandate_id: String,
    /// The keyed index of the credit code (as shared data and licences find it); not in
    /// the ledger event, like every blind index.
    #[serde(skip)]
    pub uscc_index: String,
    /// How the agent was shown to stand for it: `licence`, `window:<clerk>`, `administrator`
    /// (in the ledger event).
    pub proven_by: String,
}

/// A person registered before registration made profile rows: (id, ID-number index,
/// birth date and sex).
pub type PersonToProfile = (String, String, Option<(chrono::NaiveDate, bool)>);

#[derive(Debug, Clone)]
pub struct NewStaff {
    pub account_id: String,
    pub login: String,
    pub name: String,
    pub department_id: String,
    pub roles: Vec<String>,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub enum Cmd {
    RegisterPerson(Box<NewPerson>),
    RegisterLegal(Box<NewLegal>),
    CreateStaff(Box<NewStaff>),
    SetStaffRoles {
        account_id: String,
        roles: Vec<String>,
    },
    SetDisabled {
        account_id: String,
        disabled: bool,
    },
    SetRole {
        code: String,
        name_zh: String,
        name_en: String,
        permissions: Vec<Permission>,
        builtin: bool,
    },
    SetPassword {
        account_id: String,
        password_hash: String,
    },
    /// Records the permissions this node knows (see `seed_roles`).
    MarkPermissionsSeen(Vec<String>),
    /// Indexes credit codes of legal persons stored before the index existed (id, index),
    /// and gives them their profile rows.
    IndexLegal(Vec<(String, String)>),
    /// Profile rows of persons registered before registration made them: (id, ID-number
    /// index, birth date and sex).
    ProfilePersons(Vec<PersonToProfile>),
}

/// A security audit record in the ledger (category `security`), in the command's savepoint.
pub(crate) async fn security(ctx: &mut WriteCtx<'_>, action: &str, subject: &str, detail: Value) -> Result<()> {
    crate::audit::execute(
        ctx,
        &AuditRecord {
            category: "security".into(),
            action: action.into(),
            subject: subject.into(),
            detail,
        },
    )
    .await?;
    Ok(())
}

/// A unique-index violation turned into a conflict on `field` (a race the read-side check
/// could not see); any other error passes through.
pub(crate) fn unique(e: sqlx::Error, field: &str, zh: &str, en: &str) -> StoreError {
    if e.as_database_error().is_some_and(|d| d.is_unique_violation()) {
        DomainError::conflict(field, &format!("{field}.unique"), zh.into(), en.into()).into()
    } else {
        e.into()
    }
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::RegisterPerson(p) => {
            ctx.append(
                &format!("person:{}", p.person_id),
                Expect::New,
                "person.registered",
                &**p,
            )
            .await?;
            sqlx::query(
                "INSERT INTO persons (id, name, id_number_enc, id_number_index, id_number_masked, phone_enc, phone_index,
                   phone_masked, address_enc, registered_by, created_at, updated_at, profiled)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)",
            )
            .bind(&p.person_id)
            .bind(&p.name)
            .bind(&p.id_number_enc)
            .bind(&p.id_number_index)
            .bind(&p.id_number_masked)
            .bind(&p.phone_enc)
            .bind(&p.phone_index)
            .bind(&p.phone_masked)
            .bind(&p.address_enc)
            .bind(&p.registered_by)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await
            .map_err(|e| {
                unique(
                    e,
                    "id_number",
                    "该证件号码或手机号码已注册",
                    "this ID number or mobile number is registered",
                )
            })?;
            crate::policies::profile_in(ctx, &format!("p:{}", p.id_number_index), Audience::Person, p.birth).await?;
            insert_account(
                ctx,
                &p.account_id,
                core::AccountKind::Person,
                None,
                Some(&p.person_id),
                &p.name,
                &p.password_hash,
            )
            .await?;
            Ok(json!({ "account_id": p.account_id, "person_id": p.person_id, "assisted": p.registered_by.is_some() }))
        }
        Cmd::RegisterLegal(l) => {
            ctx.append(
                &format!("legal:{}", l.legal_id),
                Expect::New,
                "legal_person.registered",
                &**l,
            )
            .await?;
            sqlx::query(
                "INSERT INTO legal_persons (id, name, uscc, kind, legal_representative, created_at, uscc_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&l.legal_id)
            .bind(&l.name)
            .bind(&l.uscc)
            .bind(l.kind.as_str())
            .bind(&l.legal_representative)
            .bind(ctx.now_ms)
            .bind(&l.uscc_index)
            .execute(&mut *ctx.conn)
            .await
            .map_err(|e| unique(e, "uscc", "该统一社会信用代码已注册", "this credit code is registered"))?;
            crate::policies::profile_in(ctx, &format!("e:{}", l.uscc_index), Audience::Enterprise, None).await?;
            crate::mandates::insert(
                ctx,
                &crate::mandates::Row {
                    id: l.mandate_id.clone(),
                    kind: MandateKind::Agent,
                    principal: Subject::Legal(l.legal_id.clone()),
                    principal_name: l.name.clone(),
                    grantee_person_id: l.agent_person_id.clone(),
                    grantee_name: l.agent_name.clone(),
                    scope: Scope::All,
                    valid_from: crate::date_of(ctx.now_ms),
                    valid_until: yiwang_core::mandates::until_revoked(),
                },
            )
            .await?;
            Ok(json!({ "legal_person_id": l.legal_id, "agent_mandate_id": l.mandate_id }))
        }
        Cmd::CreateStaff(s) => {
            let dept = orgs::department(&mut *ctx.conn, &s.department_id)
                .await?
                .ok_or_else(|| DomainError::not_found("department_id", "部门", "department", &s.department_id))?;
            let body = json!({ "account_id": s.account_id, "login": s.login, "name": s.name,
                "department_id": s.department_id, "region_code": dept.region_code, "roles": s.roles });
            ctx.append(
                &format!("account:{}", s.account_id),
                Expect::New,
                "staff.created",
                &body,
            )
            .await?;
            insert_account(
                ctx,
                &s.account_id,
                core::AccountKind::Staff,
                Some(&s.login),
                None,
                &s.name,
                &s.password_hash,
            )
            .await?;
            sqlx::query(
                "INSERT INTO staff (account_id, name, department_id, region_code, roles) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&s.account_id)
            .bind(&s.name)
            .bind(&s.department_id)
            .bind(&dept.region_code)
            .bind(json!(s.roles).to_string())
            .execute(&mut *ctx.conn)
            .await?;
            security(ctx, "roles.assigned", &s.account_id, json!({ "roles": s.roles })).await?;
            Ok(body)
        }
        Cmd::SetStaffRoles { account_id, roles } => {
            let before: Option<String> = sqlx::query_scalar("SELECT roles FROM staff WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(&mut *ctx.conn)
                .await?;
            let before =
                before.ok_or_else(|| DomainError::not_found("account_id", "工作人员", "staff member", account_id))?;
            let body = json!({ "account_id": account_id, "roles": roles });
            ctx.append(
                &format!("account:{account_id}"),
                Expect::Exists,
                "staff.roles_changed",
                &body,
            )
            .await?;
            sqlx::query("UPDATE staff SET roles = $1 WHERE account_id = $2")
                .bind(json!(roles).to_string())
                .bind(account_id)
                .execute(&mut *ctx.conn)
                .await?;
            let before: Value = serde_json::from_str(&before).unwrap_or(Value::Null);
            security(
                ctx,
                "roles.changed",
                account_id,
                json!({ "before": before, "after": roles }),
            )
            .await?;
            Ok(body)
        }
        Cmd::SetDisabled { account_id, disabled } => {
            let body = json!({ "account_id": account_id, "disabled": disabled });
            ctx.append(
                &format!("account:{account_id}"),
                Expect::Exists,
                "account.disabled_changed",
                &body,
            )
            .await
            .map_err(|e| match e {
                StoreError::Concurrency(_) => {
                    DomainError::not_found("account_id", "账号", "account", account_id).into()
                }
                e => e,
            })?;
            sqlx::query("UPDATE accounts SET disabled = $1, updated_at = $2 WHERE id = $3")
                .bind(i16::from(*disabled))
                .bind(ctx.now_ms)
                .bind(account_id)
                .execute(&mut *ctx.conn)
                .await?;
            if *disabled {
                sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                    .bind(account_id)
                    .execute(&mut *ctx.conn)
                    .await?;
            }
            security(
                ctx,
                if *disabled {
                    "account.disabled"
                } else {
                    "account.enabled"
                },
                account_id,
                json!({}),
            )
            .await?;
            Ok(body)
        }
        Cmd::SetRole {
            code,
            name_zh,
            name_en,
            permissions,
            builtin,
        } => {
            let body = json!({ "code": code, "name_zh": name_zh, "name_en": name_en, "permissions": permissions });
            ctx.append(&format!("role:{code}"), Expect::Any, "role.set", &body)
                .await?;
            sqlx::query(
                "INSERT INTO roles (code, name_zh, name_en, permissions, builtin, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
                   permissions = excluded.permissions, updated_at = excluded.updated_at",
            )
            .bind(code)
            .bind(name_zh)
            .bind(name_en)
            .bind(json!(permissions).to_string())
            .bind(i16::from(*builtin))
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            security(ctx, "role.permissions_set", code, json!({ "permissions": permissions })).await?;
            Ok(body)
        }
        Cmd::MarkPermissionsSeen(ps) => {
            for p in ps {
                sqlx::query(
                    "INSERT INTO permissions_seen (permission) VALUES ($1) ON CONFLICT (permission) DO NOTHING",
                )
                .bind(p)
                .execute(&mut *ctx.conn)
                .await?;
            }
            Ok(json!({ "seen": ps }))
        }
        Cmd::IndexLegal(rows) => {
            for (id, index) in rows {
                sqlx::query("UPDATE legal_persons SET uscc_index = $1 WHERE id = $2 AND uscc_index IS NULL")
                    .bind(index)
                    .bind(id)
                    .execute(&mut *ctx.conn)
                    .await?;
                crate::policies::profile_in(ctx, &format!("e:{index}"), Audience::Enterprise, None).await?;
            }
            Ok(json!({ "indexed": rows.len() }))
        }
        Cmd::ProfilePersons(rows) => {
            for (id, index, birth) in rows {
                sqlx::query("UPDATE persons SET profiled = 1 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *ctx.conn)
                    .await?;
                crate::policies::profile_in(ctx, &format!("p:{index}"), Audience::Person, *birth).await?;
            }
            Ok(json!({ "profiled": rows.len() }))
        }
        Cmd::SetPassword {
            account_id,
            password_hash,
        } => {
            ctx.append(
                &format!("account:{account_id}"),
                Expect::Any,
                "account.password_changed",
                &json!({ "account_id": account_id }),
            )
            .await?;
            sqlx::query("UPDATE accounts SET password_hash = $1, failed_count = 0, locked_until = NULL, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(ctx.now_ms)
                .bind(account_id)
                .execute(&mut *ctx.conn)
                .await?;
            security(ctx, "password.changed", account_id, json!({})).await?;
            Ok(json!({ "account_id": account_id }))
        }
    }
}

mod write;
pub use write::*;
mod read;
pub use read::*;

/// A field error as a refused command (helper for callers).
pub fn invalid(e: FieldError) -> StoreError {
    DomainError::invalid(vec![e]).into()
}

/// Milliseconds now (re-exported for callers computing lockouts).
pub fn now() -> i64 {
    now_ms()
}
