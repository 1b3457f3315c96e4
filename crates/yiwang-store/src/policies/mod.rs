//! 免申即享 policies (惠民 / 惠企): definitions versioned with the catalogue's four-eyes
//! workflow (`yiwang_core::catalog::decide_action`), each rule checked against the attribute
//! schema when saved (`yiwang_core::policies::compile_policy`: position of a bad rule); a
//! dry run over every profile before publication; `find` (the `Finder` follower) stores
//! what each evaluation found and notifies the newly eligible once; `disburse` pays a
//! direct grant after the person confirms.
//!
//! Parts: `profiles` (一人一档 / 一企一档: a subject's attributes with source and freshness),
//! `find` (evaluation, dry run, findings, the follower), `mine` (a subject's own policies
//! with why, direct grants confirmed, one-click applications, disbursements).

use crate::ledger::Expect;
use crate::writer::WriteCtx;
use crate::{Command, Meta, Result, Store, StoreError, new_id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row as _;
use yiwang_core::catalog::{Action, OpenVersion, Transition, VersionState, decide_action};
use yiwang_core::error::{DomainError, FieldError};
use yiwang_core::policies::{Audience, PolicyInput, Tally};

mod find;
mod mine;
mod profiles;
pub use find::*;
pub use mine::*;
pub use profiles::*;

#[derive(Debug, Clone)]
pub enum Cmd {
    /// Saves a definition as its policy's draft (the policy is created on its first save).
    Save(Box<PolicyInput>),
    Act {
        policy_id: String,
        action: Action,
    },
    /// A dry run's totals, kept on the version it ran on.
    DryRun {
        policy_id: String,
        version: i64,
        result: Box<DryRun>,
    },
    /// What an evaluation found for some subjects.
    Findings(Box<Findings>),
    Disburse(Box<Disbursement>),
}

/// A policy as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub id: String,
    pub code: String,
    pub name: String,
    pub department_id: String,
    pub audience: Audience,
    pub latest_version: i64,
    pub published_version: Option<i64>,
}

/// One version of a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub policy_id: String,
    pub version: i64,
    pub input: PolicyInput,
    pub state: VersionState,
    pub editors: Vec<String>,
    pub submitted_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub return_reasons: Option<String>,
    pub dry_run: Option<DryRun>,
    pub updated_at: i64,
}

/// What a dry run found: how many qualify and what it would cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DryRun {
    pub profiles: u64,
    pub tally: Tally,
    /// The first runtime failures, with the subject's masked key, never counted as ineligible.
    pub failures: Vec<String>,
    pub at_ms: i64,
}

fn not_found(id: &str) -> StoreError {
    DomainError::not_found("policy_id", "政策", "policy", id).into()
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

pub(crate) async fn execute(ctx: &mut WriteCtx<'_>, cmd: &Cmd) -> Result<Value> {
    match cmd {
        Cmd::Save(input) => save_in(ctx, input).await,
        Cmd::Act { policy_id, action } => act_in(ctx, policy_id, action).await,
        Cmd::DryRun {
            policy_id,
            version,
            result,
        } => {
            let v = version_in(&mut *ctx.conn, policy_id, *version)
                .await?
                .ok_or_else(|| not_found(policy_id))?;
            if v.state == VersionState::Published || v.state == VersionState::Discarded {
                return Err(DomainError::conflict(
                    "version",
                    "policy.dry_run_state",
                    "只能对未发布的版本试算".into(),
                    "a dry run is made on a version not yet published".into(),
                )
                .into());
            }
            ctx.append(
                &format!("policy:{policy_id}"),
                Expect::Exists,
                "policy.dry_run",
                &json!({ "version": version, "result": result }),
            )
            .await?;
            sqlx::query("UPDATE policy_versions SET dry_run = $1 WHERE policy_id = $2 AND version = $3")
                .bind(serde_json::to_string(&**result).expect("serialisable"))
                .bind(policy_id)
                .bind(version)
                .execute(&mut *ctx.conn)
                .await?;
            Ok(json!({ "version": version }))
        }
        Cmd::Findings(f) => find::findings_in(ctx, f).await,
        Cmd::Disburse(d) => mine::disburse_in(ctx, d).await,
    }
}

async fn save_in(ctx: &mut WriteCtx<'_>, input: &PolicyInput) -> Result<Value> {
    let existing = policy_by_code_in(&mut *ctx.conn, &input.code).await?;
    let (p, open) = match existing {
        Some(p) => {
            let open = open_in(&mut *ctx.conn, &p).await?;
            (p, open)
        }
        None => {
            let p = Policy {
                id: new_id(),
                code: input.code.clone(),
                name: input.name.clone(),
                department_id: input.department_id.clone(),
                audience: input.audience,
                latest_version: 0,
                published_version: None,
            };
            ctx.append(&format!("policy:{}", p.id), Expect::New, "policy.created", &p)
                .await?;
            sqlx::query(
                "INSERT INTO policies (id, code, department_id, audience, name, latest_version, published_version, created_at)
                 VALUES ($1, $2, $3, $4, $5, 0, NULL, $6)",
            )
            .bind(&p.id)
            .bind(&p.code)
            .bind(&p.department_id)
            .bind(p.audience.as_str())
            .bind(&p.name)
            .bind(ctx.now_ms)
            .execute(&mut *ctx.conn)
            .await?;
            (p, None)
        }
    };
    if p.audience != input.audience || p.department_id != input.department_id {
        return Err(DomainError::conflict(
            "audience",
            "policy.fixed",
            "政策的对象和主管部门不能在新版本中改变".into(),
            "a policy's audience and department stay as first saved".into(),
        )
        .into());
    }
    let t = decide_action(
        open.as_ref().map(open_of).as_ref(),
        p.latest_version,
        &Action::SaveDraft,
        &ctx.actor,
    )?;
    let v = match t {
        Transition::NewDraft(v) | Transition::To(v, _) => v,
    };
    if open.as_ref().is_some_and(|o| o.input == *input) {
        return Ok(json!({ "policy_id": p.id, "version": v }));
    }
    ctx.append(
        &format!("policy:{}", p.id),
        Expect::Any,
        "policy.draft_saved",
        &json!({ "version": v, "input": input }),
    )
    .await?;
    let mut editors = open.as_ref().map(|o| o.editors.clone()).unwrap_or_default();
    if !editors.contains(&ctx.actor) {
        editors.push(ctx.actor.clone());
    }
    sqlx::query(
        "INSERT INTO policy_versions (policy_id, version, body, status, editors, submitted_by, reviewed_by, return_reasons,
           dry_run, created_at, updated_at) VALUES ($1, $2, $3, 'draft', $4, NULL, NULL, $5, NULL, $6, $6)
         ON CONFLICT (policy_id, version) DO UPDATE SET body = excluded.body, editors = excluded.editors,
           dry_run = NULL, updated_at = excluded.updated_at",
    )
    .bind(&p.id)
    .bind(v)
    .bind(serde_json::to_string(input).expect("serialisable"))
    .bind(serde_json::to_string(&editors).expect("serialisable"))
    .bind(open.as_ref().and_then(|o| o.return_reasons.clone()))
    .bind(ctx.now_ms)
    .execute(&mut *ctx.conn)
    .await?;
    sqlx::query("UPDATE policies SET name = $1, latest_version = $2 WHERE id = $3")
        .bind(&input.name)
        .bind(v.max(p.latest_version))
        .bind(&p.id)
        .execute(&mut *ctx.conn)
        .await?;
    Ok(json!({ "policy_id": p.id, "version": v }))
}

async fn act_in(ctx: &mut WriteCtx<'_>, policy_id: &str, action: &Action) -> Result<Value> {
    let p = policy_in(&mut *ctx.conn, policy_id)
        .await?
        .ok_or_else(|| not_found(policy_id))?;
    let open = open_in(&mut *ctx.conn, &p).await?;
    let t = decide_action(
        open.as_ref().map(open_of).as_ref(),
        p.latest_version,
        action,
        &ctx.actor,
    )?;
    let (Transition::To(v, to), Some(mut row)) = (t, open) else {
        return Err(internal("workflow action without an open version"));
    };
    // 国发〔2024〕3号 (精准测算): a policy is published only after a dry run of this version.
    if to == VersionState::Published && row.dry_run.is_none() {
        return Err(DomainError::conflict(
            "dry_run",
            "policy.dry_run_first",
            "发布前须对该版本试算，看清符合条件的人数和总金额".into(),
            "run a dry run of this version before publishing it".into(),
        )
        .into());
    }
    let step = yiwang_core::catalog::record_step(
        action,
        &ctx.actor,
        &mut row.submitted_by,
        &mut row.reviewed_by,
        &mut row.return_reasons,
    )
    .ok_or_else(|| internal("saving is not a step"))?;
    ctx.append(
        &format!("policy:{policy_id}"),
        Expect::Exists,
        &format!("policy.{step}"),
        &json!({ "version": v, "code": p.code }),
    )
    .await?;
    sqlx::query(
        "UPDATE policy_versions SET status = $1, submitted_by = $2, reviewed_by = $3, return_reasons = $4, updated_at = $5
         WHERE policy_id = $6 AND version = $7",
    )
    .bind(to.as_str())
    .bind(&row.submitted_by)
    .bind(&row.reviewed_by)
    .bind(&row.return_reasons)
    .bind(ctx.now_ms)
    .bind(policy_id)
    .bind(v)
    .execute(&mut *ctx.conn)
    .await?;
    if to == VersionState::Published {
        sqlx::query("UPDATE policies SET published_version = $1 WHERE id = $2")
            .bind(v)
            .bind(policy_id)
            .execute(&mut *ctx.conn)
            .await?;
    }
    Ok(json!({ "policy_id": policy_id, "version": v, "state": to.as_str() }))
}

fn open_of(v: &PolicyVersion) -> OpenVersion {
    OpenVersion {
        version: v.version,
        state: v.state,
        editors: v.editors.clone(),
        submitted_by: v.submitted_by.clone(),
    }
}

const POLICY_COLS: &str = "id, code, name, department_id, audience, latest_version, published_version";

fn to_policy(r: sqlx::any::AnyRow) -> Result<Policy> {
    let audience: String = r.try_get("audience")?;
    Ok(Policy {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        department_id: r.try_get("department_id")?,
        audience: Audience::parse(&audience).ok_or_else(|| internal(format!("stored audience {audience}")))?,
        latest_version: r.try_get("latest_version")?,
        published_version: r.try_get("published_version")?,
    })
}

async fn policy_in<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(e: E, id: &str) -> Result<Option<Policy>> {
    let sql = format!("SELECT {POLICY_COLS} FROM policies WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await?
        .map(to_policy)
        .transpose()
}

async fn policy_by_code_in<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    e: E,
    code: &str,
) -> Result<Option<Policy>> {
    let sql = format!("SELECT {POLICY_COLS} FROM policies WHERE code = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(e)
        .await?
        .map(to_policy)
        .transpose()
}

const VERSION_COLS: &str =
    "policy_id, version, body, status, editors, submitted_by, reviewed_by, return_reasons, dry_run, updated_at";

fn to_version(r: sqlx::any::AnyRow) -> Result<PolicyVersion> {
    let body: String = r.try_get("body")?;
    let status: String = r.try_get("status")?;
    let editors: String = r.try_get("editors")?;
    let dry_run: Option<String> = r.try_get("dry_run")?;
    Ok(PolicyVersion {
        policy_id: r.try_get("policy_id")?,
        version: r.try_get("version")?,
        input: serde_json::from_str(&body).map_err(internal)?,
        state: VersionState::parse(&status).ok_or_else(|| internal(format!("stored state {status}")))?,
        editors: serde_json::from_str(&editors).map_err(internal)?,
        submitted_by: r.try_get("submitted_by")?,
        reviewed_by: r.try_get("reviewed_by")?,
        return_reasons: r.try_get("return_reasons")?,
        dry_run: dry_run
            .map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(internal)?,
        updated_at: r.try_get("updated_at")?,
    })
}

async fn version_in<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    e: E,
    policy_id: &str,
    version: i64,
) -> Result<Option<PolicyVersion>> {
    let sql = format!("SELECT {VERSION_COLS} FROM policy_versions WHERE policy_id = $1 AND version = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(policy_id)
        .bind(version)
        .fetch_optional(e)
        .await?
        .map(to_version)
        .transpose()
}

/// The version being worked on (draft or submitted), if any.
async fn open_in(conn: &mut sqlx::AnyConnection, p: &Policy) -> Result<Option<PolicyVersion>> {
    let v = version_in(&mut *conn, &p.id, p.latest_version).await?;
    Ok(v.filter(|v| matches!(v.state, VersionState::Draft | VersionState::Submitted)))
}

pub async fn policy(store: &Store, id: &str) -> Result<Option<Policy>> {
    policy_in(&store.read, id).await
}

pub async fn policy_by_code(store: &Store, code: &str) -> Result<Option<Policy>> {
    policy_by_code_in(&store.read, code).await
}

pub async fn version(store: &Store, policy_id: &str, version: i64) -> Result<Option<PolicyVersion>> {
    version_in(&store.read, policy_id, version).await
}

/// Every policy, by code.
pub async fn policies(store: &Store) -> Result<Vec<Policy>> {
    let sql = format!("SELECT {POLICY_COLS} FROM policies ORDER BY code");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&store.read)
        .await?
        .into_iter()
        .map(to_policy)
        .collect()
}

/// The published version of each published policy.
pub async fn published(store: &Store) -> Result<Vec<(Policy, PolicyVersion)>> {
    let mut out = Vec::new();
    for p in policies(store).await? {
        if let Some(v) = p.published_version
            && let Some(pv) = version(store, &p.id, v).await?
        {
            out.push((p, pv));
        }
    }
    Ok(out)
}

/// Saves a definition as a draft: the rule and the amount checked against the schema of
/// the data the platform holds for the audience (refused with the position of a fault).
pub async fn save(store: &Store, meta: Meta, input: PolicyInput) -> Result<(Policy, PolicyVersion)> {
    yiwang_core::policies::check_input(&input)?;
    if crate::orgs::department(&store.read, &input.department_id)
        .await?
        .is_none()
    {
        return Err(DomainError::invalid(vec![FieldError::new(
            "department_id",
            "policy.department",
            "没有这个部门",
            "no such department",
        )])
        .into());
    }
    let schema = schema(store, input.audience).await?;
    yiwang_core::policies::compile_policy(&schema, &input.rule, &input.amount, &Default::default())?;
    let w = store
        .write(meta, Command::Policies(Box::new(Cmd::Save(Box::new(input)))))
        .await?;
    let id = w.value["policy_id"].as_str().unwrap_or_default().to_string();
    let v = w.value["version"].as_i64().unwrap_or_default();
    let p = policy(store, &id).await?.ok_or_else(|| not_found(&id))?;
    let pv = version(store, &id, v).await?.ok_or_else(|| not_found(&id))?;
    Ok((p, pv))
}

/// A workflow step. Publishing checks the rule again and that the paying department holds
/// a grant for every resource the rule reads, for the policy's purpose.
pub async fn act(store: &Store, meta: Meta, policy_id: &str, action: Action) -> Result<Value> {
    if action == Action::Publish {
        let p = policy(store, policy_id).await?.ok_or_else(|| not_found(policy_id))?;
        let v = version(store, policy_id, p.latest_version)
            .await?
            .ok_or_else(|| not_found(policy_id))?;
        let schema = schema(store, p.audience).await?;
        let compiled =
            yiwang_core::policies::compile_policy(&schema, &v.input.rule, &v.input.amount, &Default::default())?;
        find::grants_for(store, &v.input, &compiled, crate::today()).await?;
    }
    let w = store
        .write(
            meta,
            Command::Policies(Box::new(Cmd::Act {
                policy_id: policy_id.to_string(),
                action,
            })),
        )
        .await?;
    Ok(w.value)
}

/// Reads a JSON field of a policy version for pages.
pub fn rule_summary(v: &PolicyVersion) -> Value {
    json!({ "rule": v.input.rule, "amount": v.input.amount, "mode": v.input.mode.as_str() })
}
