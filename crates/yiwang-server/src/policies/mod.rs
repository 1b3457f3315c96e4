//! 免申即享 policies: the editor's API (save with the rule checked, dry run, workflow
//! steps, findings and disbursements), the public list, and the person's own view —
//! profile, policies that may be for them with why, confirming a direct grant. Pages in
//! `pages`; both call the same store services (`yiwang_store::policies`).

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::access::{Permission, Target};
use yiwang_core::catalog::Action;
use yiwang_core::mandates::Subject as Who;
use yiwang_core::policies::PolicyInput;
use yiwang_store::policies::{self as store, Disbursement, DryRun, OneClick, Policy, PolicyVersion};

mod pages;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_published))
        .routes(routes!(api_save))
        .routes(routes!(api_one))
        .routes(routes!(api_dry_run))
        .routes(routes!(api_act))
        .routes(routes!(api_findings))
        .routes(routes!(api_mine))
        .routes(routes!(api_profile))
        .routes(routes!(api_confirm))
        .routes(routes!(api_one_click))
        .merge(pages::routes())
}

/// A published policy as the public reads it.
#[derive(Serialize)]
pub struct Published {
    pub policy: Policy,
    pub version: PolicyVersion,
}

/// Policies in force, as published (政务公开).
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", responses((status = 200, body = Vec<Object>)))]
pub async fn api_published(State(s): State<AppState>) -> ApiResult<Json<Vec<Published>>> {
    Ok(Json(
        store::published(&s.store)
            .await?
            .into_iter()
            .map(|(policy, version)| Published { policy, version })
            .collect(),
    ))
}

pub(crate) async fn policy_target(s: &AppState, p: &Policy) -> ApiResult<Target> {
    crate::accounts::department_target(s, &p.department_id).await
}

/// A policy and its latest version, for its editors and reviewers.
pub(crate) async fn managed(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<(Policy, PolicyVersion)> {
    let p = store::policy(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    let t = policy_target(s, &p).await?;
    if ctx.require(Permission::PolicyManage, &t).is_err() {
        ctx.require(Permission::PolicyReview, &t)?;
    }
    let v = store::version(&s.store, id, p.latest_version)
        .await?
        .ok_or_else(|| ApiError::not_found("policy"))?;
    Ok((p, v))
}

/// Saves a definition as a draft (the policy is created on its first save). A bad rule is
/// refused with its line and column (field `rule` or `amount`).
#[utoipa::path(post, path = "/api/v1/policies", tag = "policies", request_body = PolicyInput,
    responses((status = 200, body = Object), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_save(State(s): State<AppState>, ctx: Ctx, body: ApiJson<PolicyInput>) -> ApiResult<Json<Published>> {
    let input = body.value;
    ctx.require(
        Permission::PolicyManage,
        &crate::accounts::department_target(&s, &input.department_id).await?,
    )?;
    let (policy, version) = store::save(&s.store, ctx.meta(), input).await?;
    Ok(Json(Published { policy, version }))
}

#[utoipa::path(get, path = "/api/v1/policies/{policy_id}", tag = "policies", responses((status = 200, body = Object)))]
pub async fn api_one(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<Published>> {
    let (policy, version) = managed(&s, &ctx, &id).await?;
    Ok(Json(Published { policy, version }))
}

/// A dry run of the version being worked on over every profile: how many qualify, are
/// not, cannot be decided, or failed, and the cost.
#[utoipa::path(post, path = "/api/v1/policies/{policy_id}/dry-run", tag = "policies",
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem)))]
pub async fn api_dry_run(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<DryRun>> {
    let (p, _) = managed(&s, &ctx, &id).await?;
    ctx.require(Permission::PolicyManage, &policy_target(&s, &p).await?)?;
    Ok(Json(store::dry_run(&s.store, ctx.meta(), &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActBody {
    /// submit, recall, return, publish, discard
    pub action: String,
    #[serde(default)]
    pub reasons: Option<String>,
}

pub(crate) fn action_of(name: &str, reasons: Option<String>) -> ApiResult<Action> {
    Ok(match name {
        "submit" => Action::Submit,
        "recall" => Action::Recall,
        "return" => Action::Return {
            reasons: reasons.unwrap_or_default(),
        },
        "publish" => Action::Publish,
        "discard" => Action::Discard,
        _ => {
            return Err(ApiError::from(yiwang_store::StoreError::from(
                yiwang_core::DomainError::invalid(vec![yiwang_core::FieldError::new(
                    "action",
                    "policy.action",
                    "操作为 submit、recall、return、publish 或 discard",
                    "the action is submit, recall, return, publish or discard",
                )]),
            )));
        }
    })
}

/// A workflow step: editors submit, recall and discard; a reviewer of the region who
/// neither edited nor submitted the version publishes or returns it (four eyes).
pub(crate) async fn act(s: &AppState, ctx: &Ctx, id: &str, action: Action) -> ApiResult<serde_json::Value> {
    let (p, _) = managed(s, ctx, id).await?;
    let t = policy_target(s, &p).await?;
    let perm = match action {
        Action::Publish | Action::Return { .. } => Permission::PolicyReview,
        _ => Permission::PolicyManage,
    };
    ctx.require(perm, &t)?;
    Ok(store::act(&s.store, ctx.meta(), id, action).await?)
}

#[utoipa::path(post, path = "/api/v1/policies/{policy_id}/actions", tag = "policies", request_body = ActBody,
    responses((status = 200, body = Object), (status = 409, body = crate::error::Problem)))]
pub async fn api_act(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<ActBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let b = body.value;
    let action = action_of(&b.action, b.reasons)?;
    Ok(Json(act(&s, &ctx, &id, action).await?))
}

/// What the findings hold and the disbursements confirmed.
#[derive(Serialize)]
pub struct FindingsView {
    /// outcome → (subjects, amount in 分)
    pub counts: std::collections::BTreeMap<String, (i64, i64)>,
    pub disbursements: Vec<Disbursement>,
}

#[utoipa::path(get, path = "/api/v1/policies/{policy_id}/findings", tag = "policies", responses((status = 200, body = Object)))]
pub async fn api_findings(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<FindingsView>> {
    managed(&s, &ctx, &id).await?;
    Ok(Json(FindingsView {
        counts: store::finding_counts(&s.store, &id).await?,
        disbursements: store::disbursements(&s.store, &id).await?,
    }))
}

/// A policy for me, with why I qualify or not.
#[derive(Serialize)]
pub struct ForMe {
    pub policy: Policy,
    pub version: PolicyVersion,
    pub explanation: yiwang_core::policies::Explanation,
    pub disbursement: Option<Disbursement>,
}

/// The person calling, and whom they look at policies for: themselves, or the enterprise
/// (or person) they act for under a mandate in force.
pub(crate) fn me(ctx: &Ctx) -> ApiResult<(String, Who)> {
    let pid = ctx.person_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let who = ctx.principal().unwrap_or_else(|| Who::Person(pid.clone()));
    Ok((pid, who))
}

/// Policies that may be for me (可能适合您的政策) — or, acting for an enterprise, for it
/// (惠企) — the probably eligible first, each with every condition, the value it read and
/// its source, and what is missing.
#[utoipa::path(get, path = "/api/v1/me/policies", tag = "policies", responses((status = 200, body = Vec<Object>)))]
pub async fn api_mine(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<ForMe>>> {
    let (_, who) = me(&ctx)?;
    Ok(Json(
        store::for_subject(&s.store, &who)
            .await?
            .into_iter()
            .map(|f| ForMe {
                policy: f.policy,
                version: f.version,
                explanation: f.explanation,
                disbursement: f.disbursement,
            })
            .collect(),
    ))
}

/// My profile (一人一档), or the enterprise's I act for (一企一档): each attribute the
/// platform holds, its source and when.
#[utoipa::path(get, path = "/api/v1/me/profile", tag = "policies", responses((status = 200, body = Vec<Object>)))]
pub async fn api_profile(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<store::Attribute>>> {
    let (_, who) = me(&ctx)?;
    Ok(Json(store::own_profile(&s.store, &who).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// A bank card number or a social security card number.
    pub account: String,
    /// I agree to be paid into this account and to the use of my data for the check.
    pub consent: bool,
}

/// I confirm a direct grant (免申即享): checked again now, paid once.
#[utoipa::path(post, path = "/api/v1/me/policies/{policy_id}/confirm", tag = "policies", request_body = ConfirmBody,
    responses((status = 201, body = Object), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_confirm(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<ConfirmBody>,
) -> ApiResult<(StatusCode, Json<Disbursement>)> {
    let (pid, who) = me(&ctx)?;
    let b = body.value;
    let d = store::confirm(&s.store, ctx.meta(), &pid, &who, &id, &b.account, b.consent).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// A one-click policy (即申即享): checked again now, then the application for its item
/// prefilled from my profile and licences, kept as my draft to check and submit (an
/// earlier draft of the item is reopened). Open it at `/services/{item_code}/apply?draft=`.
#[utoipa::path(post, path = "/api/v1/me/policies/{policy_id}/apply", tag = "policies",
    responses((status = 201, body = Object), (status = 409, body = crate::error::Problem)))]
pub async fn api_one_click(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<OneClick>)> {
    let (pid, who) = me(&ctx)?;
    let d = store::one_click(&s.store, ctx.meta(), &pid, &who, &id).await?;
    Ok((StatusCode::CREATED, Json(d)))
}
