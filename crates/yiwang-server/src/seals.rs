//! E-seals over HTTP: administrators with `seal_manage` make, rotate and revoke the seals
//! of departments in their region (API and `/admin/seals`); anyone reads a seal's public
//! record and image; the node's signed trust list is public at `/api/v1/trust-list`, and
//! administrators with `trust_manage` import other nodes' lists (`/admin/trust`).

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::Base;
use crate::pages::Page;
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_core::access::{Permission, Target};
use yiwang_core::licences::TrustedKey;
use yiwang_core::orgs::Department;
use yiwang_core::seals::{Purpose, Seal, SealInput, SealStatus};
use yiwang_store::seals::{self, TrustList};
use yiwang_store::{Command, StoreError};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list, api_make))
        .routes(routes!(api_one))
        .route("/api/v1/seals/{seal_id}/image.svg", get(image))
        .routes(routes!(api_rotate))
        .routes(routes!(api_revoke))
        .routes(routes!(api_trust_list))
        .routes(routes!(api_trusted))
        .routes(routes!(api_import))
        .routes(routes!(api_distrust))
        .route("/admin/seals", get(seals_page).post(make_form))
        .route("/admin/seals/{seal_id}/rotate", post(rotate_form))
        .route("/admin/seals/{seal_id}/revoke", post(revoke_form))
        .route("/admin/trust", get(trust_page).post(import_form))
        .route("/admin/trust/{key_id}/remove", post(distrust_form))
}

/// A seal as the API shows it: the record, whether the seal maker's certification holds,
/// and where its image is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SealView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub seal: Seal,
    pub certified: bool,
    pub image_url: String,
}

async fn view(s: &AppState, seal: Seal) -> ApiResult<SealView> {
    Ok(SealView {
        certified: seals::certified(&s.store, &seal).await?,
        image_url: format!("/api/v1/seals/{}/image.svg", seal.id),
        seal,
    })
}

/// The department a seal belongs to, for the scope check of a body or form.
async fn department(s: &AppState, id: &str) -> ApiResult<Department> {
    yiwang_store::orgs::department(&s.store.read, id).await?.ok_or_else(|| {
        ApiError::from(StoreError::from(yiwang_core::DomainError::not_found(
            "department_id",
            "部门",
            "department",
            id,
        )))
    })
}

/// Runs a seal command as the caller; the command's answer.
async fn run(s: &AppState, ctx: &Ctx, cmd: seals::Cmd) -> ApiResult<Value> {
    Ok(s.store.write(ctx.meta(), Command::Seals(cmd)).await?.value)
}

fn dept_target(d: &Department) -> Target {
    Target::Department {
        id: d.id.clone(),
        region_code: d.region_code.clone(),
    }
}

/// The seals one may manage: those of departments in one's region.
async fn manageable(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<(Seal, String)>> {
    let depts = yiwang_store::orgs::departments(&s.store.read, None).await?;
    let mut out = vec![];
    for seal in seals::seals(&s.store, None).await? {
        if let Some(d) = depts.iter().find(|d| d.id == seal.department_id)
            && ctx.actor.authorize(Permission::SealManage, &dept_target(d)).is_ok()
        {
            out.push((seal, d.name.clone()));
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SealQuery {
    /// Only this department's seals.
    pub department_id: Option<String>,
}

/// The seals of departments in the caller's region, newest first.
#[utoipa::path(get, path = "/api/v1/seals", params(SealQuery), tag = "seals",
    responses((status = 200, body = Vec<SealView>)))]
pub async fn api_list(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<SealQuery>,
) -> ApiResult<Json<Vec<SealView>>> {
    let mut out = vec![];
    for (seal, _) in manageable(&s, &ctx).await? {
        if q.department_id.as_ref().is_none_or(|d| *d == seal.department_id) {
            out.push(view(&s, seal).await?);
        }
    }
    Ok(Json(out))
}

/// Makes a seal for a department: a new SM2 key (sealed under the master key), the seal
/// image, and the record certified by the platform as seal maker. One active seal per
/// department and purpose (一枚印章管审批).
#[utoipa::path(post, path = "/api/v1/seals", request_body = SealInput, tag = "seals",
    responses((status = 201, body = SealView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_make(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<SealInput>,
) -> ApiResult<(StatusCode, Json<SealView>)> {
    let seal = make(&s, &ctx, body.value).await?;
    Ok((StatusCode::CREATED, Json(view(&s, seal).await?)))
}

async fn make(s: &AppState, ctx: &Ctx, input: SealInput) -> ApiResult<Seal> {
    let d = department(s, &input.department_id).await?;
    ctx.require(Permission::SealManage, &dept_target(&d))?;
    let v = run(s, ctx, seals::Cmd::Make(input)).await?;
    serde_json::from_value(v["seal"].clone()).map_err(|_| ApiError::internal())
}

/// A seal's public record (anyone may check a seal).
#[utoipa::path(get, path = "/api/v1/seals/{seal_id}", tag = "seals",
    responses((status = 200, body = SealView), (status = 404, body = Problem)))]
pub async fn api_one(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<SealView>> {
    let seal = seals::seal(&s.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("seal"))?;
    Ok(Json(view(&s, seal).await?))
}

async fn image(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let svg = seals::image(&s.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("seal"))?;
    let mut r = svg.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(r)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (recorded in the ledger).
    pub reason: String,
}

/// Replaces a seal's key: the old seal is superseded (what it signed still verifies), a new
/// seal of the same name and purpose takes over.
#[utoipa::path(post, path = "/api/v1/seals/{seal_id}/rotate", request_body = ReasonBody, tag = "seals",
    responses((status = 200, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_rotate(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<ReasonBody>,
) -> ApiResult<Json<Value>> {
    let cmd = seals::Cmd::Rotate {
        seal_id: id,
        reason: body.value.reason,
    };
    Ok(Json(run(&s, &ctx, cmd).await?))
}

/// Revokes a seal: it signs nothing more, and signatures dated from now on are invalid.
#[utoipa::path(post, path = "/api/v1/seals/{seal_id}/revoke", request_body = ReasonBody, tag = "seals",
    responses((status = 200, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_revoke(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<ReasonBody>,
) -> ApiResult<Json<Value>> {
    let cmd = seals::Cmd::Revoke {
        seal_id: id,
        reason: body.value.reason,
    };
    Ok(Json(run(&s, &ctx, cmd).await?))
}

/// This node's trust list: its seal keys (with validity and revocation times) and its seal
/// maker's key, signed by the seal maker. Verifiers use it to check licences offline;
/// other nodes import it to recognise this node's licences (互认).
#[utoipa::path(get, path = "/api/v1/trust-list", tag = "seals", responses((status = 200, body = Object)))]
pub async fn api_trust_list(State(s): State<AppState>) -> ApiResult<Json<TrustList>> {
    Ok(Json(seals::trust_list(&s.store, &s.node_name().await).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportedKey {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub key: TrustedKey,
    /// The node whose list it came from.
    pub source: String,
}

/// Keys imported from other nodes' trust lists.
#[utoipa::path(get, path = "/api/v1/trust/keys", tag = "seals", responses((status = 200, body = Vec<ImportedKey>)))]
pub async fn api_trusted(State(s): State<AppState>) -> ApiResult<Json<Vec<ImportedKey>>> {
    Ok(Json(
        seals::imported_keys(&s.store)
            .await?
            .into_iter()
            .map(|(key, source)| ImportedKey { key, source })
            .collect(),
    ))
}

/// Imports another node's trust list (as served at its `/api/v1/trust-list`): the list's
/// signature is checked against the seal-maker key it carries; its seal keys are then
/// trusted here. Importing a newer list updates validity and revocations.
#[utoipa::path(post, path = "/api/v1/trust/import", request_body = Object, tag = "seals",
    responses((status = 200, body = Object), (status = 422, body = Problem)))]
pub async fn api_import(State(s): State<AppState>, ctx: Ctx, body: ApiJson<TrustList>) -> ApiResult<Json<Value>> {
    Ok(Json(seals::import_trust_list(&s.store, ctx.meta(), &body.value).await?))
}

/// Stops trusting an imported key.
#[utoipa::path(delete, path = "/api/v1/trust/keys/{key_id}", tag = "seals",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_distrust(State(s): State<AppState>, ctx: Ctx, Path(key_id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(run(&s, &ctx, seals::Cmd::Distrust { key_id }).await?))
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "admin_seals.html")]
struct SealsPage {
    base: Base,
    seals: Vec<(Seal, String, bool)>,
    departments: Vec<Department>,
    purposes: Vec<Purpose>,
    made: Option<String>,
    errors: Vec<FieldError>,
}

crate::page!(SealsPage);

impl SealsPage {
    fn active(&self, s: &Seal) -> bool {
        s.status == SealStatus::Active
    }
}

async fn render_seals(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    made: Option<String>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let mut list = vec![];
    for (seal, dept) in manageable(s, ctx).await? {
        let ok = seals::certified(&s.store, &seal).await?;
        list.push((seal, dept, ok));
    }
    let departments = yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .filter(|d| ctx.actor.authorize(Permission::SealManage, &dept_target(d)).is_ok())
        .collect();
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        SealsPage {
            base,
            seals: list,
            departments,
            purposes: Purpose::ALL.to_vec(),
            made,
            errors,
        },
    )
        .into_response())
}

async fn seals_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    render_seals(&s, &ctx, base, None, vec![]).await
}

async fn make_form(State(s): State<AppState>, ctx: Ctx, base: Base, body: axum::body::Bytes) -> ApiResult<Response> {
    let mut input = SealInput {
        department_id: String::new(),
        purpose: Purpose::Approval,
        name: None,
        valid_from: None,
        valid_until: None,
    };
    let mut errors = vec![];
    for (k, v) in form_urlencoded::parse(&body) {
        let v = v.trim().to_string();
        match &*k {
            "department_id" => input.department_id = v,
            "purpose" => match Purpose::parse(&v) {
                Some(p) => input.purpose = p,
                None => errors.push(FieldError::new(
                    "purpose",
                    "enum",
                    "请选择印章类型",
                    "choose the seal's purpose",
                )),
            },
            "name" if !v.is_empty() => input.name = Some(v),
            "valid_until" if !v.is_empty() => match v.parse() {
                Ok(d) => input.valid_until = Some(d),
                Err(_) => errors.push(FieldError::new(
                    "valid_until",
                    "date",
                    "日期格式为 YYYY-MM-DD",
                    "a date is YYYY-MM-DD",
                )),
            },
            _ => {}
        }
    }
    if !errors.is_empty() {
        return render_seals(&s, &ctx, base, None, errors).await;
    }
    match make(&s, &ctx, input).await {
        Ok(seal) => render_seals(&s, &ctx, base, Some(seal.name), vec![]).await,
        Err(e) => render_seals(&s, &ctx, base, None, e.into_field_errors()).await,
    }
}

fn reason_of(body: &[u8]) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn end_form(s: AppState, ctx: Ctx, cmd: seals::Cmd, base: Base) -> ApiResult<Response> {
    match run(&s, &ctx, cmd).await {
        Ok(_) => Ok(Redirect::to("/admin/seals").into_response()),
        Err(e) => render_seals(&s, &ctx, base, None, e.into_field_errors()).await,
    }
}

async fn rotate_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let reason = reason_of(&body);
    end_form(s, ctx, seals::Cmd::Rotate { seal_id: id, reason }, base).await
}

async fn revoke_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    base: Base,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let reason = reason_of(&body);
    end_form(s, ctx, seals::Cmd::Revoke { seal_id: id, reason }, base).await
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "admin_trust.html")]
struct TrustPage {
    base: Base,
    own: TrustList,
    imported: Vec<(TrustedKey, String)>,
    done: Option<String>,
    errors: Vec<FieldError>,
}

crate::page!(TrustPage);

impl TrustPage {
    fn short(&self, hex: &str) -> String {
        format!("{}…", &hex[..hex.len().min(16)])
    }
}

async fn render_trust(s: &AppState, base: Base, done: Option<String>, errors: Vec<FieldError>) -> ApiResult<Response> {
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        TrustPage {
            base,
            own: seals::trust_list(&s.store, &s.node_name().await).await?,
            imported: seals::imported_keys(&s.store).await?,
            done,
            errors,
        },
    )
        .into_response())
}

async fn trust_page(State(s): State<AppState>, base: Base) -> ApiResult<Response> {
    render_trust(&s, base, None, vec![]).await
}

/// Imports a pasted trust list.
async fn import_form(State(s): State<AppState>, ctx: Ctx, base: Base, body: axum::body::Bytes) -> ApiResult<Response> {
    let text = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "list")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let list: TrustList = match crate::extract::parse_json(text.as_bytes()) {
        Ok(l) => l,
        Err(e) => {
            let mut errs = e.into_field_errors();
            for f in &mut errs {
                f.field = format!("list: {}", f.field);
            }
            return render_trust(&s, base, None, errs).await;
        }
    };
    match seals::import_trust_list(&s.store, ctx.meta(), &list).await {
        Ok(v) => {
            let msg = format!("{} · {}", list.node, v["imported"]);
            render_trust(&s, base, Some(msg), vec![]).await
        }
        Err(e) => render_trust(&s, base, None, ApiError::from(e).into_field_errors()).await,
    }
}

async fn distrust_form(State(s): State<AppState>, ctx: Ctx, Path(key_id): Path<String>) -> ApiResult<Response> {
    run(&s, &ctx, seals::Cmd::Distrust { key_id }).await?;
    Ok(Redirect::to("/admin/trust").into_response())
}
