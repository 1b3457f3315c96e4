//! Mandates (代办授权): grant, revoke, list, and switch "acting for" a principal. API and
//! account-page forms call the same store services.

use crate::AppState;
use crate::accounts::render_account;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::pages::Base;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_core::mandates::{Mandate, MandateInput, Scope, Subject, not_in_force};
use yiwang_store::mandates;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list))
        .routes(routes!(api_acting_for))
        .routes(routes!(api_grant))
        .routes(routes!(api_revoke))
        .route("/account/mandates", post(grant_form))
        .route("/account/mandates/{mandate_id}/revoke", post(revoke_form))
        .route("/account/acting-for", post(acting_for_form))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyMandates {
    /// Given by me (or by the enterprise I am acting for).
    pub given: Vec<Mandate>,
    /// Received by me, including enterprise agent roles.
    pub received: Vec<Mandate>,
}

#[utoipa::path(get, path = "/api/v1/me/mandates", tag = "mandates", responses((status = 200, body = MyMandates)))]
pub async fn api_list(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<MyMandates>> {
    let pid = ctx.person_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let principal = ctx.principal().unwrap_or(Subject::Person(pid.clone()));
    Ok(Json(MyMandates {
        given: mandates::given(&s.store, &principal).await?,
        received: mandates::received(&s.store, &pid).await?,
    }))
}

async fn grant(s: &AppState, ctx: &Ctx, input: &MandateInput) -> ApiResult<Mandate> {
    let principal = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    // Acting for another person through a mandate does not include re-granting it.
    if matches!(ctx.acting_for, Some((Subject::Person(_), _))) {
        return Err(ApiError::from(yiwang_store::StoreError::from(
            yiwang_core::DomainError::invalid(vec![FieldError::new(
                "principal",
                "mandate.no_subdelegation",
                "代办人不能再转授权",
                "a grantee cannot pass a mandate on",
            )]),
        )));
    }
    Ok(mandates::grant(&s.store, ctx.meta(), &principal, input).await?)
}

/// Grants a mandate from me (or from the enterprise I act for as its agent).
#[utoipa::path(post, path = "/api/v1/mandates", request_body = MandateInput, tag = "mandates",
    responses((status = 201, body = Mandate), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_grant(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<MandateInput>,
) -> ApiResult<(StatusCode, Json<Mandate>)> {
    Ok((StatusCode::CREATED, Json(grant(&s, &ctx, &body.value).await?)))
}

async fn revoke(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<serde_json::Value> {
    let principal = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(mandates::revoke(&s.store, ctx.meta(), id, &principal, ctx.person_id.as_deref()).await?)
}

/// Revokes a mandate I gave (or renounces one I received).
#[utoipa::path(post, path = "/api/v1/mandates/{mandate_id}/revoke", tag = "mandates",
    responses((status = 200), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn api_revoke(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(revoke(&s, &ctx, &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActingFor {
    /// `person:ID` or `legal:ID`; null to act as myself again.
    pub principal: Option<String>,
}

async fn switch(s: &AppState, ctx: &Ctx, principal: Option<&str>) -> ApiResult<Option<String>> {
    let pid = ctx.person_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let sess = ctx.browser_session()?;
    let Some(p) = principal.filter(|p| !p.is_empty()) else {
        let _ = sess.remove::<String>("acting_for").await;
        return Ok(None);
    };
    let subject = Subject::parse(p).ok_or_else(|| {
        ApiError::bad_request(FieldError::new(
            "principal",
            "principal.format",
            "被代办人格式应为 person:ID 或 legal:ID",
            "a principal is person:ID or legal:ID",
        ))
    })?;
    let m = mandates::in_force(&s.store, &pid, &subject, None)
        .await?
        .ok_or_else(|| ApiError::from(yiwang_store::StoreError::from(not_in_force("principal"))))?;
    sess.insert("acting_for", subject.key())
        .await
        .map_err(|_| ApiError::internal())?;
    Ok(Some(m.principal_name))
}

/// Switches whom I act for (a mandate in force is required, and re-checked on every request).
#[utoipa::path(put, path = "/api/v1/me/acting-for", request_body = ActingFor, tag = "mandates",
    responses((status = 200), (status = 422, body = crate::error::Problem)))]
pub async fn api_acting_for(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<ActingFor>,
) -> ApiResult<Json<serde_json::Value>> {
    let name = switch(&s, &ctx, body.value.principal.as_deref()).await?;
    Ok(Json(
        serde_json::json!({ "acting_for": body.value.principal, "name": name }),
    ))
}

#[derive(Deserialize)]
struct GrantForm {
    grantee_id_number: String,
    grantee_name: String,
    #[serde(default)]
    items: String,
    valid_from: String,
    valid_until: String,
}

fn date(field: &str, s: &str) -> Result<chrono::NaiveDate, FieldError> {
    s.trim()
        .parse()
        .map_err(|_| FieldError::new(field, "date.format", "日期格式应为 YYYY-MM-DD", "a date is YYYY-MM-DD"))
}

async fn grant_form(State(s): State<AppState>, ctx: Ctx, base: Base, Form(f): Form<GrantForm>) -> ApiResult<Response> {
    let (from, until) = match (date("valid_from", &f.valid_from), date("valid_until", &f.valid_until)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let errs = [a.err(), b.err()].into_iter().flatten().collect();
            return render_account(&s, &ctx, base, errs, None).await;
        }
    };
    let items: Vec<String> = f
        .items
        .split([',', '，', ' ', '\n'])
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .collect();
    let input = MandateInput {
        grantee_id_number: f.grantee_id_number,
        grantee_name: f.grantee_name,
        scope: if items.is_empty() {
            Scope::All
        } else {
            Scope::Items(items)
        },
        valid_from: from,
        valid_until: until,
    };
    match grant(&s, &ctx, &input).await {
        Ok(_) => Ok(Redirect::to("/account#mandates").into_response()),
        Err(e) => render_account(&s, &ctx, base, e.errors, None).await,
    }
}

async fn revoke_form(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>, base: Base) -> ApiResult<Response> {
    match revoke(&s, &ctx, &id).await {
        Ok(_) => Ok(Redirect::to("/account#mandates").into_response()),
        Err(e) => render_account(&s, &ctx, base, e.errors, None).await,
    }
}

#[derive(Deserialize)]
struct ActingForm {
    #[serde(default)]
    principal: String,
}

async fn acting_for_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<ActingForm>,
) -> ApiResult<Response> {
    match switch(&s, &ctx, Some(&f.principal)).await {
        Ok(_) => Ok(Redirect::to("/account").into_response()),
        Err(e) => render_account(&s, &ctx, base, e.errors, None).await,
    }
}
