//! E-licences over HTTP. Departments (`licence_issue`) define licence types and issue,
//! suspend, revoke and annotate licences (API and `/licences`); holders keep them in a
//! wallet (`/wallet`): the face and PDF, a short-lived presentation code (亮证), and
//! grants that let a department use a licence instead of a submitted material (免提交);
//! anyone verifies a licence, its QR payload or a licence file (`/verify`).

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::{Base, when};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use yiwang_core::access::{Permission, Target};
use yiwang_core::licences::{
    self as core, HolderKind, Layout, LicenceFile, LicenceType, QrClaims, Status, ValidityRule, Verification,
};
use yiwang_core::orgs::Department;
use yiwang_core::{DomainError, FieldError, Named};
use yiwang_store::licences::{self, Grant, GrantInput, HistoryEntry, IssueInput, LicenceSummary};
use yiwang_store::{Command, StoreError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/licence-types", get(api_types).post(api_define_type))
        .route("/api/v1/licences", get(api_issued).post(api_issue))
        .route("/api/v1/licences/{licence_id}", get(api_licence))
        .route("/api/v1/licences/{licence_id}/status", post(api_status))
        .route("/api/v1/licences/{licence_id}/annotations", post(api_annotate))
        .route("/api/v1/licences/{licence_id}/pdf", get(issuer_pdf))
        .route("/api/v1/licence-uses", post(api_use))
        .route("/api/v1/me/licences", get(api_wallet))
        .route("/api/v1/me/licences/{licence_id}", get(api_mine))
        .route("/api/v1/me/licences/{licence_id}/pdf", get(holder_pdf))
        .route("/api/v1/me/licences/{licence_id}/present", post(api_present))
        .route("/api/v1/me/licences/{licence_id}/grants", post(api_grant))
        .route("/api/v1/me/grants/{grant_id}/revoke", post(api_revoke_grant))
        .route("/api/v1/me/materials/{service_code}", get(api_covered))
        .route("/api/v1/verify", post(api_verify))
        .route("/api/v1/verify/{licence_id}", get(api_verify_id))
        .route("/api/v1/presentations/{token}", get(api_presentation))
        .route("/licence-types", get(types_page).post(define_form))
        .route("/licences", get(licences_page).post(issue_form))
        .route("/licences/{licence_id}", get(licence_page))
        .route("/licences/{licence_id}/status", post(status_form))
        .route("/licences/{licence_id}/annotate", post(annotate_form))
        .route("/licences/{licence_id}/pdf", get(issuer_pdf))
        .route("/wallet", get(wallet_page))
        .route("/wallet/{licence_id}", get(wallet_licence_page))
        .route("/wallet/{licence_id}/pdf", get(holder_pdf))
        .route("/wallet/{licence_id}/present", post(present_form))
        .route("/wallet/{licence_id}/grants", post(grant_form))
        .route("/wallet/grants/{grant_id}/revoke", post(revoke_grant_form))
        .route("/verify", get(verify_page))
        .route("/verify/present/{token}", get(presentation_page))
}

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

fn domain(e: DomainError) -> ApiError {
    ApiError::from(StoreError::from(e))
}

fn dept_target(d: &Department) -> Target {
    Target::Department {
        id: d.id.clone(),
        region_code: d.region_code.clone(),
    }
}

async fn department(s: &AppState, id: &str) -> ApiResult<Department> {
    yiwang_store::orgs::department(&s.store.read, id)
        .await?
        .ok_or_else(|| domain(DomainError::not_found("department_id", "部门", "department", id)))
}

/// Departments whose licences the caller may issue.
async fn issuing_departments(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<Department>> {
    Ok(yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .filter(|d| ctx.actor.authorize(Permission::LicenceIssue, &dept_target(d)).is_ok())
        .collect())
}

/// The URL a licence's QR code opens: this node's verification page with the signed payload.
fn verify_url(s: &AppState, payload: &str) -> String {
    format!("{}/verify?p={payload}", s.public_url)
}

fn face_labels(t: Option<&LicenceType>, dict: &[yiwang_core::catalog::DataElement]) -> Vec<(String, String)> {
    t.map(|t| {
        t.face
            .iter()
            .map(|f| {
                let name = f
                    .label
                    .clone()
                    .or_else(|| dict.iter().find(|d| d.code == f.element).map(|d| d.name.clone()))
                    .unwrap_or_else(|| f.element.clone());
                (f.element.clone(), name)
            })
            .collect()
    })
    .unwrap_or_default()
}

fn cn_date(d: chrono::NaiveDate) -> String {
    d.format("%Y年%m月%d日").to_string()
}

/// What the face of a licence shows, from its data (holder lines first, then the type's
/// face fields in order).
async fn face_page(s: &AppState, f: &LicenceFile, status: Status) -> ApiResult<yiwang_docs::LicencePage> {
    let t = licences::licence_type(&s.store, &f.data.type_code).await?;
    let dict = yiwang_store::catalog::data_elements(&s.store).await?;
    let d = &f.data;
    let (holder_label, code_label) = match d.holder_kind {
        HolderKind::Person => ("持证人", "公民身份号码"),
        HolderKind::Legal => ("持证主体", "统一社会信用代码"),
    };
    let mut fields = vec![
        (holder_label.to_string(), d.holder_name.clone()),
        (code_label.to_string(), d.holder_code.clone()),
    ];
    for (code, label) in face_labels(t.as_ref(), &dict) {
        if let Some(v) = d.face.get(&code) {
            fields.push((label, v.clone()));
        }
    }
    let validity = match d.valid_until {
        Some(u) => format!("{}至{}", cn_date(d.valid_from), cn_date(u)),
        None => format!("{}起长期有效", cn_date(d.valid_from)),
    };
    Ok(yiwang_docs::LicencePage {
        landscape: t.as_ref().is_none_or(|t| t.layout == Layout::Certificate),
        title: d.type_name.clone(),
        number: d.number.clone(),
        fields,
        issuer_name: d.issuer_name.clone(),
        issued_on: cn_date(d.issued_on),
        validity,
        licence_id: d.id.clone(),
        note: t.and_then(|t| t.note),
        watermark: (status != Status::Valid).then(|| format!("{} {}", status.zh(), status.en().to_uppercase())),
        verify_hint: "扫码核验 Scan to verify".into(),
    })
}

/// The licence's face as SVG and the seal image and QR it carries.
async fn face_inputs(
    s: &AppState,
    sum: &LicenceSummary,
    f: &LicenceFile,
) -> ApiResult<(yiwang_docs::LicencePage, String, String)> {
    let page = face_page(s, f, sum.status).await?;
    let seal = yiwang_store::seals::image(&s.store, &sum.seal_id)
        .await?
        .unwrap_or_default();
    Ok((page, seal, verify_url(s, &sum.qr_payload)))
}

async fn face_svg(s: &AppState, sum: &LicenceSummary, f: &LicenceFile) -> ApiResult<String> {
    let (page, seal, qr) = face_inputs(s, sum, f).await?;
    tokio::task::spawn_blocking(move || yiwang_docs::licence_svg(&page, &seal, &qr))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(doc_error)
}

fn doc_error(e: yiwang_docs::DocError) -> ApiError {
    tracing::error!(error = %e, "document");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "/problems/document",
        "Document unavailable",
        "证照文件暂不可用",
        e.to_string(),
    )
}

async fn pdf_response(s: &AppState, sum: &LicenceSummary, f: &LicenceFile) -> ApiResult<Response> {
    let (page, seal, qr) = face_inputs(s, sum, f).await?;
    let pdf = tokio::task::spawn_blocking(move || yiwang_docs::licence_pdf(&page, &seal, &qr))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(doc_error)?;
    let mut r = pdf.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    let name: String =
        form_urlencoded::byte_serialize(format!("{}-{}.pdf", sum.type_name, sum.number).as_bytes()).collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"licence.pdf\"; filename*=UTF-8''{}",
        name.replace('+', "%20")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(r)
}

fn not_found() -> ApiError {
    ApiError::not_found("licence")
}

/// Runs a licence command as the caller; the command's answer.
async fn run(s: &AppState, ctx: &Ctx, cmd: licences::Cmd) -> ApiResult<Value> {
    Ok(s.store.write(ctx.meta(), Command::Licences(Box::new(cmd))).await?.value)
}

async fn summary(s: &AppState, id: &str) -> ApiResult<LicenceSummary> {
    licences::summary(&s.store, id).await?.ok_or_else(not_found)
}

/// A licence of the logged-in person or of the principal they act for.
async fn held(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<LicenceSummary> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    licences::held_by(&s.store, &subject, id).await?.ok_or_else(not_found)
}

async fn holder_file(s: &AppState, id: &str) -> ApiResult<LicenceFile> {
    licences::file(&s.store, id).await?.ok_or_else(not_found)
}

/// Staff read a licence in full: recorded in a person holder's data-use log.
async fn staff_file(s: &AppState, ctx: &Ctx, id: &str, purpose: &str) -> ApiResult<LicenceFile> {
    licences::read_file(&s.store, ctx.meta(), &ctx.reader(), id, purpose)
        .await?
        .ok_or_else(not_found)
}

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TypeView {
    #[serde(rename = "type")]
    pub licence_type: LicenceType,
    /// The defining department.
    pub department_id: String,
}

/// Licence types (证照类型) defined on this node.
#[utoipa::path(get, path = "/api/v1/licence-types", tag = "licences", responses((status = 200, body = Vec<TypeView>)))]
pub async fn api_types(State(s): State<AppState>) -> ApiResult<Json<Vec<TypeView>>> {
    Ok(Json(
        licences::types(&s.store)
            .await?
            .into_iter()
            .map(|(licence_type, department_id)| TypeView {
                licence_type,
                department_id,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefineBody {
    /// The defining department (its credit code starts the type code).
    pub department_id: String,
    #[serde(rename = "type")]
    pub licence_type: LicenceType,
}

/// Defines (or changes) a licence type: code = the defining department's credit code + 3
/// digits (GB/T 36904), face fields from the data-element dictionary.
#[utoipa::path(post, path = "/api/v1/licence-types", request_body = DefineBody, tag = "licences",
    responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn api_define_type(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<DefineBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let b = body.value;
    Ok((
        StatusCode::CREATED,
        Json(define(&s, &ctx, b.department_id, b.licence_type).await?),
    ))
}

async fn define(s: &AppState, ctx: &Ctx, department_id: String, t: LicenceType) -> ApiResult<Value> {
    let d = department(s, &department_id).await?;
    ctx.require(Permission::LicenceIssue, &dept_target(&d))?;
    let w = run(s, ctx, licences::Cmd::DefineType { department_id, t }).await?;
    Ok(w)
}

// ---------------------------------------------------------------------------------------
// Issuing and managing
// ---------------------------------------------------------------------------------------

/// Issues a licence: the department's active seal signs it; identifier per GB/T 36904 with
/// the MOD 37,36 check character; the signed QR payload is made with it.
#[utoipa::path(post, path = "/api/v1/licences", request_body = Object, tag = "licences",
    responses((status = 201, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_issue(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<IssueInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(issue(&s, &ctx, body.value).await?)))
}

async fn issue(s: &AppState, ctx: &Ctx, input: IssueInput) -> ApiResult<Value> {
    let d = department(s, &input.department_id).await?;
    ctx.require(Permission::LicenceIssue, &dept_target(&d))?;
    let w = run(s, ctx, licences::Cmd::Issue(input)).await?;
    Ok(w)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IssuedQuery {
    /// The issuing department (default: every department one may issue for).
    pub department_id: Option<String>,
}

/// Licences issued by the departments the caller issues for, newest first.
#[utoipa::path(get, path = "/api/v1/licences", params(IssuedQuery), tag = "licences",
    responses((status = 200, body = Vec<Object>)))]
pub async fn api_issued(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<IssuedQuery>,
) -> ApiResult<Json<Vec<LicenceSummary>>> {
    Ok(Json(issued(&s, &ctx, q.department_id.as_deref()).await?))
}

async fn issued(s: &AppState, ctx: &Ctx, department_id: Option<&str>) -> ApiResult<Vec<LicenceSummary>> {
    let mut out = vec![];
    for d in issuing_departments(s, ctx).await? {
        if department_id.is_none_or(|x| x == d.id) {
            out.extend(licences::issued_by(&s.store, &d.id).await?);
        }
    }
    out.sort_by(|a, b| b.issued_on.cmp(&a.issued_on).then(b.id.cmp(&a.id)));
    Ok(out)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LicenceDetail {
    #[schema(value_type = Object)]
    pub summary: LicenceSummary,
    pub file: LicenceFile,
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<HistoryEntry>,
    #[schema(value_type = Vec<Object>)]
    pub grants: Vec<Grant>,
    pub verify_url: String,
    pub pdf_url: String,
}

async fn detail(s: &AppState, sum: LicenceSummary, file: LicenceFile, pdf_url: String) -> ApiResult<LicenceDetail> {
    Ok(LicenceDetail {
        history: licences::history_of(&s.store, &sum.id).await?,
        grants: licences::grants_of(&s.store, &sum.id).await?,
        verify_url: verify_url(s, &sum.qr_payload),
        pdf_url,
        summary: sum,
        file,
    })
}

/// A licence the caller's department issued, in full (the read is recorded in a person
/// holder's data-use log).
#[utoipa::path(get, path = "/api/v1/licences/{licence_id}", tag = "licences",
    responses((status = 200, body = LicenceDetail), (status = 404, body = Problem)))]
pub async fn api_licence(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<LicenceDetail>> {
    let sum = summary(&s, &id).await?;
    let file = staff_file(&s, &ctx, &id, "证照管理：查看已颁发的证照").await?;
    let pdf = format!("/api/v1/licences/{id}/pdf");
    Ok(Json(detail(&s, sum, file, pdf).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// valid, suspended (暂扣), annulled (撤销), cancelled (注销), expired (失效),
    /// transferred_out (办理转出), revoked (吊销), other.
    pub status: Status,
    pub reason: String,
}

/// Changes a licence's status (暂扣, 撤销, 注销, 吊销 …); final states take no more changes.
#[utoipa::path(post, path = "/api/v1/licences/{licence_id}/status", request_body = StatusBody, tag = "licences",
    responses((status = 200, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_status(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<StatusBody>,
) -> ApiResult<Json<Value>> {
    let b = body.value;
    let w = run(
        &s,
        &ctx,
        licences::Cmd::ChangeStatus {
            licence_id: id,
            to: b.status,
            reason: b.reason,
        },
    )
    .await?;
    Ok(Json(w))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnotateBody {
    /// The annotation (加注件), signed by the issuer's seal.
    pub text: String,
}

/// Adds a signed annotation (加注件) to a licence.
#[utoipa::path(post, path = "/api/v1/licences/{licence_id}/annotations", request_body = AnnotateBody, tag = "licences",
    responses((status = 200, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_annotate(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<AnnotateBody>,
) -> ApiResult<Json<Value>> {
    let w = run(
        &s,
        &ctx,
        licences::Cmd::Annotate {
            licence_id: id,
            text: body.value.text,
        },
    )
    .await?;
    Ok(Json(w))
}

async fn issuer_pdf(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let sum = summary(&s, &id).await?;
    let file = staff_file(&s, &ctx, &id, "证照管理：打印证照").await?;
    pdf_response(&s, &sum, &file).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UseBody {
    /// The holder's grant (授权) to the caller's department.
    pub grant_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UseView {
    pub file: LicenceFile,
    pub verification: Verification,
    /// The material counts as trust level A (issued by the authority, 国办函〔2016〕108号).
    pub trust_level: String,
}

/// Uses a licence in place of a submitted material (免提交) under the holder's grant to the
/// caller's department: verified, counted as trust level A, recorded in the holder's
/// data-use log.
#[utoipa::path(post, path = "/api/v1/licence-uses", request_body = UseBody, tag = "licences",
    responses((status = 200, body = UseView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn api_use(State(s): State<AppState>, ctx: Ctx, body: ApiJson<UseBody>) -> ApiResult<Json<UseView>> {
    let dept = match (&ctx.staff, &ctx.token) {
        (Some(st), _) => st.department_id.clone(),
        (None, Some(t)) => t.department_id.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let u = licences::use_licence(&s.store, ctx.meta(), &ctx.reader(), &body.value.grant_id, &dept).await?;
    Ok(Json(UseView {
        file: u.file,
        verification: u.verification,
        trust_level: u.trust_level.into(),
    }))
}

// ---------------------------------------------------------------------------------------
// Wallet (证照夹)
// ---------------------------------------------------------------------------------------

/// The licences of the logged-in person, or of the enterprise they act for.
#[utoipa::path(get, path = "/api/v1/me/licences", tag = "licences", responses((status = 200, body = Vec<Object>)))]
pub async fn api_wallet(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<LicenceSummary>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(licences::of_subject(&s.store, &subject).await?))
}

/// One of my licences in full, with its history and my grants.
#[utoipa::path(get, path = "/api/v1/me/licences/{licence_id}", tag = "licences",
    responses((status = 200, body = LicenceDetail), (status = 404, body = Problem)))]
pub async fn api_mine(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<LicenceDetail>> {
    let sum = held(&s, &ctx, &id).await?;
    let file = holder_file(&s, &id).await?;
    let pdf = format!("/api/v1/me/licences/{id}/pdf");
    Ok(Json(detail(&s, sum, file, pdf).await?))
}

async fn holder_pdf(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let sum = held(&s, &ctx, &id).await?;
    let file = holder_file(&s, &id).await?;
    pdf_response(&s, &sum, &file).await
}

/// How long a presentation code lives (minutes).
pub const PRESENT_MINUTES: i64 = 5;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Presented {
    pub token: String,
    /// The page a verifier's phone opens from the QR code.
    pub url: String,
    pub valid_until_ms: i64,
}

/// Shows a licence (亮证): a presentation code valid for five minutes; whoever scans it
/// sees the licence and its verification.
#[utoipa::path(post, path = "/api/v1/me/licences/{licence_id}/present", tag = "licences",
    responses((status = 200, body = Presented), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn api_present(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<Presented>> {
    Ok(Json(present(&s, &ctx, &id).await?))
}

async fn present(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Presented> {
    let sum = held(s, ctx, id).await?;
    core::require_valid(sum.status).map_err(domain)?;
    let (token, until) = licences::present(&s.store, id, PRESENT_MINUTES);
    Ok(Presented {
        url: format!("{}/verify/present/{token}", s.public_url),
        token,
        valid_until_ms: until,
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// The department that may use the licence.
    pub department_id: String,
    /// The service (实施编码) it is for.
    #[serde(default)]
    pub item_code: Option<String>,
    pub purpose: String,
    /// 1–90 days.
    pub days: u32,
}

/// Lets a department use my licence instead of a material I would otherwise submit.
#[utoipa::path(post, path = "/api/v1/me/licences/{licence_id}/grants", request_body = GrantBody, tag = "licences",
    responses((status = 201, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_grant(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<GrantBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(grant(&s, &ctx, &id, body.value).await?)))
}

async fn grant(s: &AppState, ctx: &Ctx, id: &str, b: GrantBody) -> ApiResult<Value> {
    held(s, ctx, id).await?;
    let w = run(
        s,
        ctx,
        licences::Cmd::Grant(GrantInput {
            licence_id: id.to_string(),
            department_id: b.department_id,
            item_code: b.item_code.filter(|c| !c.trim().is_empty()),
            purpose: b.purpose,
            days: b.days,
            granted_by: String::new(),
        }),
    )
    .await?;
    Ok(w)
}

/// Withdraws a grant of mine.
#[utoipa::path(post, path = "/api/v1/me/grants/{grant_id}/revoke", tag = "licences",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_revoke_grant(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let w = run(
        &s,
        &ctx,
        licences::Cmd::RevokeGrant {
            grant_id: id,
            by: ctx.ledger_actor(),
        },
    )
    .await?;
    Ok(Json(w))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Covered {
    /// The material's key in the service guide.
    pub material: String,
    pub material_name: String,
    pub licence_id: String,
    pub licence_name: String,
    pub number: String,
}

/// The materials of a service I need not submit because I hold a valid licence of the
/// type the material names (免提交).
#[utoipa::path(get, path = "/api/v1/me/materials/{service_code}", tag = "licences",
    responses((status = 200, body = Vec<Covered>), (status = 404, body = Problem)))]
pub async fn api_covered(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<Covered>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let service = yiwang_store::catalog::service(&s.store, &code, yiwang_store::now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("service"))?;
    Ok(Json(covered(&s, &subject, &service.elements.materials).await?))
}

/// The materials the subject's licences cover (used by the API and the guide page).
pub async fn covered(
    s: &AppState,
    subject: &yiwang_core::mandates::Subject,
    materials: &[yiwang_core::catalog::Material],
) -> ApiResult<Vec<Covered>> {
    if materials.iter().all(|m| m.source.licence_type.is_none()) {
        return Ok(vec![]);
    }
    let held = licences::of_subject(&s.store, subject).await?;
    Ok(
        core::covered_materials(materials, &held, |l| (l.type_code.as_str(), l.status))
            .into_iter()
            .map(|(m, l)| Covered {
                material: m.key.clone(),
                material_name: m.name.clone(),
                licence_id: l.id.clone(),
                licence_name: l.type_name.clone(),
                number: l.number.clone(),
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------

/// What a public verification shows: the checks and what the QR code carries (holder's
/// code masked), never the full face data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyView {
    pub valid: bool,
    pub reason: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub checks: Vec<core::Check>,
    pub licence: Option<PublicLicence>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicLicence {
    pub id: String,
    pub type_name: String,
    pub number: String,
    pub holder_name: String,
    /// The holder's code, masked for persons.
    pub holder_code: String,
    pub issuer_uscc: String,
    pub issuer_name: Option<String>,
    pub valid_until: Option<String>,
    /// As recorded by the issuer, when it is this node.
    #[schema(value_type = Option<String>)]
    pub status: Option<Status>,
}

fn from_claims(c: &QrClaims, issuer_name: Option<String>, status: Option<Status>) -> PublicLicence {
    PublicLicence {
        id: c.i.clone(),
        type_name: c.t.clone(),
        number: c.n.clone(),
        holder_name: c.h.clone(),
        holder_code: c.c.clone(),
        issuer_uscc: c.s.clone(),
        issuer_name,
        valid_until: (!c.u.is_empty()).then(|| c.u.clone()),
        status,
    }
}

fn from_file(f: &LicenceFile, status: Option<Status>) -> PublicLicence {
    let d = &f.data;
    PublicLicence {
        id: d.id.clone(),
        type_name: d.type_name.clone(),
        number: d.number.clone(),
        holder_name: d.holder_name.clone(),
        holder_code: d.holder_kind.mask(&d.holder_code),
        issuer_uscc: d.issuer_uscc.clone(),
        issuer_name: Some(d.issuer_name.clone()),
        valid_until: d.valid_until.map(|u| u.to_string()),
        status,
    }
}

fn view(v: Verification, licence: Option<PublicLicence>) -> VerifyView {
    VerifyView {
        valid: v.valid,
        reason: v.reason,
        checks: v.checks,
        licence,
    }
}

/// Verifies a QR payload (as an offline verifier would, plus the live status when the
/// licence is this node's).
pub async fn verify_payload(s: &AppState, payload: &str) -> ApiResult<VerifyView> {
    // A scanned URL or the bare payload.
    let p = payload
        .split_once("p=")
        .map(|(_, p)| p.split('&').next().unwrap_or(p))
        .unwrap_or(payload)
        .trim();
    let (claims, v) = licences::verify_qr(&s.store, p).await?;
    let licence = match claims {
        Some(c) => {
            let local = licences::summary(&s.store, &c.i).await?;
            let issuer = match &local {
                Some(l) => yiwang_store::orgs::department(&s.store.read, &l.issuer_department_id)
                    .await?
                    .map(|d| d.name),
                None => None,
            };
            Some(from_claims(&c, issuer, local.map(|l| l.status)))
        }
        None => None,
    };
    Ok(view(v, licence))
}

async fn verify_id(s: &AppState, id: &str) -> ApiResult<VerifyView> {
    let id = id.trim();
    if let Err(e) = core::check_licence_id("id", id) {
        return Err(domain(DomainError::invalid(vec![e])));
    }
    let (f, v) = licences::verify_id(&s.store, id).await?.ok_or_else(not_found)?;
    let status = licences::summary(&s.store, id).await?.map(|l| l.status);
    Ok(view(v, Some(from_file(&f, status))))
}

async fn verify_file(s: &AppState, f: &LicenceFile) -> ApiResult<VerifyView> {
    let v = licences::verify_file(&s.store, f).await?;
    let status = licences::summary(&s.store, &f.data.id).await?.map(|l| l.status);
    Ok(view(v, Some(from_file(f, status))))
}

/// Verifies a licence issued here by its identifier: signature, seal, digest, validity,
/// current status and the identifier's check character.
#[utoipa::path(get, path = "/api/v1/verify/{licence_id}", tag = "licences",
    responses((status = 200, body = VerifyView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_verify_id(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<VerifyView>> {
    Ok(Json(verify_id(&s, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// A QR payload (YWL1.…) or the URL the QR code carries.
    #[serde(default)]
    pub qr: Option<String>,
    /// A licence file (yiwang-licence JSON), e.g. from another node.
    #[serde(default)]
    pub file: Option<LicenceFile>,
}

/// Verifies a QR payload or a licence file. Licences of other nodes verify when their
/// issuer's key is in the trust list.
#[utoipa::path(post, path = "/api/v1/verify", request_body = VerifyBody, tag = "licences",
    responses((status = 200, body = VerifyView), (status = 422, body = Problem)))]
pub async fn api_verify(State(s): State<AppState>, body: ApiJson<VerifyBody>) -> ApiResult<Json<VerifyView>> {
    match body.value {
        VerifyBody { file: Some(f), .. } => Ok(Json(verify_file(&s, &f).await?)),
        VerifyBody { qr: Some(p), .. } => Ok(Json(verify_payload(&s, &p).await?)),
        _ => Err(domain(DomainError::invalid(vec![FieldError::new(
            "qr",
            "required",
            "请提供二维码内容或证照文件",
            "give a QR payload or a licence file",
        )]))),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PresentationView {
    #[serde(flatten)]
    pub verification: VerifyView,
    pub valid_until_ms: i64,
    /// The face data shown with the holder's consent.
    pub face: BTreeMap<String, String>,
}

/// What a presentation code shows: the licence in full (the holder chose to show it) and
/// its verification.
#[utoipa::path(get, path = "/api/v1/presentations/{token}", tag = "licences",
    responses((status = 200, body = PresentationView), (status = 410, body = Problem)))]
pub async fn api_presentation(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<PresentationView>> {
    let (f, v, until) = presentation(&s, &token).await?;
    let status = licences::summary(&s.store, &f.data.id).await?.map(|l| l.status);
    Ok(Json(PresentationView {
        verification: view(v, Some(from_file(&f, status))),
        valid_until_ms: until,
        face: f.data.face.clone(),
    }))
}

async fn presentation(s: &AppState, token: &str) -> ApiResult<(LicenceFile, Verification, i64)> {
    let (id, until) = licences::check_presentation(&s.store, token).map_err(|(zh, en)| {
        ApiError::new(
            StatusCode::GONE,
            "/problems/presentation",
            "Presentation not valid",
            "展示码无效",
            en.clone(),
        )
        .with(FieldError::new("token", "presentation", zh, en))
    })?;
    let (f, v) = licences::verify_id(&s.store, &id).await?.ok_or_else(not_found)?;
    Ok((f, v, until))
}

// ---------------------------------------------------------------------------------------
// Pages: licence types and issuing
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "licence_types.html")]
struct TypesPage {
    base: Base,
    types: Vec<(LicenceType, String)>,
    departments: Vec<Department>,
    elements: Vec<yiwang_core::catalog::DataElement>,
    form: TypeForm,
    done: Option<String>,
    errors: Vec<FieldError>,
}

#[derive(Debug, Default, Clone)]
struct TypeForm {
    department_id: String,
    number: String,
    name: String,
    holder: String,
    validity_kind: String,
    validity_value: String,
    face: String,
    layout: String,
    note: String,
}

impl TypesPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn validity(&self, v: &ValidityRule) -> String {
        match (v, self.base.lang.is_en()) {
            (ValidityRule::Permanent, false) => "长期".into(),
            (ValidityRule::Permanent, true) => "permanent".into(),
            (ValidityRule::Years(n), false) => format!("{n} 年"),
            (ValidityRule::Years(n), true) => format!("{n} years"),
            (ValidityRule::Months(n), false) => format!("{n} 个月"),
            (ValidityRule::Months(n), true) => format!("{n} months"),
        }
    }
    fn holder(&self, h: &HolderKind) -> &'static str {
        match h {
            HolderKind::Person => self.base.lang.pick("自然人", "person"),
            HolderKind::Legal => self.base.lang.pick("法人", "legal person"),
        }
    }
    fn face(&self, t: &LicenceType) -> String {
        t.face.iter().map(|f| f.element.as_str()).collect::<Vec<_>>().join(", ")
    }
    fn dept(&self, id: &str) -> String {
        self.departments
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    }
}

async fn render_types(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    form: TypeForm,
    done: Option<String>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        TypesPage {
            base: Base::new(s, headers, uri, ctx).await,
            types: licences::types(&s.store).await?,
            departments: issuing_departments(s, ctx).await?,
            elements: yiwang_store::catalog::data_elements(&s.store).await?,
            form,
            done,
            errors,
        },
    )
        .into_response())
}

async fn types_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<Response> {
    let form = TypeForm {
        validity_kind: "years".into(),
        validity_value: "5".into(),
        holder: "legal".into(),
        ..Default::default()
    };
    render_types(&s, &ctx, &headers, &uri, form, None, vec![]).await
}

/// Face fields as typed on the page: one per line, `element`, `element|label` or
/// `element|label|required` (or `*element` for required).
fn parse_face(text: &str) -> Vec<core::FaceField> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut parts = l.split('|').map(str::trim);
            let first = parts.next().unwrap_or("");
            let (element, star) = match first.strip_prefix('*') {
                Some(e) => (e.trim().to_string(), true),
                None => (first.to_string(), false),
            };
            let label = parts.next().filter(|x| !x.is_empty()).map(str::to_string);
            let required = star || parts.next().is_some_and(|r| r == "required" || r == "必填");
            core::FaceField {
                element,
                label,
                required,
            }
        })
        .collect()
}

async fn define_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mut f = TypeForm::default();
    for (k, v) in form_urlencoded::parse(&body) {
        let v = v.into_owned();
        match &*k {
            "department_id" => f.department_id = v,
            "number" => f.number = v.trim().to_string(),
            "name" => f.name = v,
            "holder" => f.holder = v,
            "validity_kind" => f.validity_kind = v,
            "validity_value" => f.validity_value = v.trim().to_string(),
            "face" => f.face = v,
            "layout" => f.layout = v,
            "note" => f.note = v,
            _ => {}
        }
    }
    let mut errors = vec![];
    let dept = match department(&s, &f.department_id).await {
        Ok(d) => Some(d),
        Err(e) => {
            errors.extend(e.into_field_errors());
            None
        }
    };
    let n = f.validity_value.parse::<u32>();
    let validity = match (f.validity_kind.as_str(), n) {
        ("permanent", _) => ValidityRule::Permanent,
        ("years", Ok(n)) => ValidityRule::Years(n),
        ("months", Ok(n)) => ValidityRule::Months(n),
        _ => {
            errors.push(FieldError::new(
                "validity",
                "type",
                "有效期应为整数年或月，或长期",
                "the validity is a whole number of years or months, or permanent",
            ));
            ValidityRule::Permanent
        }
    };
    if !(f.number.len() == 3 && f.number.bytes().all(|b| b.is_ascii_digit())) {
        errors.push(FieldError::new(
            "number",
            "licence_type.number",
            "类型序号为 3 位数字",
            "the type number has 3 digits",
        ));
    }
    let Some(dept) = dept.filter(|_| errors.is_empty()) else {
        return render_types(&s, &ctx, &headers, &uri, f, None, errors).await;
    };
    let t = LicenceType {
        code: format!("{}{}", dept.uscc, f.number),
        name: f.name.trim().to_string(),
        holder: HolderKind::parse(&f.holder).unwrap_or(HolderKind::Legal),
        validity,
        face: parse_face(&f.face),
        layout: if f.layout == "portrait" {
            Layout::Portrait
        } else {
            Layout::Certificate
        },
        note: Some(f.note.trim().to_string()).filter(|n| !n.is_empty()),
    };
    let name = t.name.clone();
    match define(&s, &ctx, dept.id.clone(), t).await {
        Ok(_) => render_types(&s, &ctx, &headers, &uri, TypeForm::default(), Some(name), vec![]).await,
        Err(e) => render_types(&s, &ctx, &headers, &uri, f, None, e.into_field_errors()).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "licences.html")]
struct LicencesPage {
    base: Base,
    issued: Vec<LicenceSummary>,
    types: Vec<(LicenceType, String)>,
    departments: Vec<Department>,
    /// The type whose issuing form is shown.
    chosen: Option<LicenceType>,
    labels: Vec<(String, String, bool)>,
    form: BTreeMap<String, String>,
    done: Option<Value>,
    errors: Vec<FieldError>,
}

impl LicencesPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn name<T: Named>(&self, x: &T) -> &'static str {
        self.base.lang.name(x)
    }
    fn val(&self, k: &str) -> String {
        self.form.get(k).cloned().unwrap_or_default()
    }
    fn err(&self, k: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == k || e.field == format!("face.{k}"))
            .map(|e| self.base.lang.msg(e))
            .collect::<Vec<_>>()
            .join("；")
    }
    fn done_id(&self) -> String {
        self.done
            .as_ref()
            .and_then(|d| d["id"].as_str())
            .unwrap_or("")
            .to_string()
    }
    fn holder_label(&self) -> &'static str {
        match self.chosen.as_ref().map(|t| t.holder) {
            Some(HolderKind::Person) => self.base.lang.pick("公民身份号码", "Resident ID number"),
            _ => self.base.lang.pick("统一社会信用代码", "Unified social credit code"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct LicencesQuery {
    #[serde(rename = "type")]
    licence_type: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn render_licences(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    type_code: Option<&str>,
    form: BTreeMap<String, String>,
    done: Option<Value>,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let chosen = match type_code.filter(|c| !c.is_empty()) {
        Some(c) => licences::licence_type(&s.store, c).await?,
        None => None,
    };
    let dict = yiwang_store::catalog::data_elements(&s.store).await?;
    let labels = chosen
        .as_ref()
        .map(|t| {
            face_labels(Some(t), &dict)
                .into_iter()
                .zip(t.face.iter())
                .map(|((code, label), f)| (code, label, f.required))
                .collect()
        })
        .unwrap_or_default();
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        LicencesPage {
            base: Base::new(s, headers, uri, ctx).await,
            issued: issued(s, ctx, None).await?,
            types: licences::types(&s.store).await?,
            departments: issuing_departments(s, ctx).await?,
            chosen,
            labels,
            form,
            done,
            errors,
        },
    )
        .into_response())
}

async fn licences_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<LicencesQuery>,
) -> ApiResult<Response> {
    render_licences(
        &s,
        &ctx,
        &headers,
        &uri,
        q.licence_type.as_deref(),
        BTreeMap::new(),
        None,
        vec![],
    )
    .await
}

async fn issue_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k != "_csrf")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let type_code = get("type_code");
    let mut errors = vec![];
    let valid_from = match get("valid_from").trim() {
        "" => None,
        v => match v.parse() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    "valid_from",
                    "date",
                    "日期格式为 YYYY-MM-DD",
                    "a date is YYYY-MM-DD",
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return render_licences(&s, &ctx, &headers, &uri, Some(&type_code), form, None, errors).await;
    }
    let input = IssueInput {
        type_code: type_code.clone(),
        department_id: get("department_id"),
        holder_name: get("holder_name"),
        holder_code: get("holder_code"),
        face: form
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("face.").map(|k| (k.to_string(), v.clone())))
            .collect(),
        valid_from,
        number: Some(get("number")).filter(|n| !n.trim().is_empty()),
        related_item: Some(get("related_item")).filter(|n| !n.trim().is_empty()),
        case_id: None,
    };
    match issue(&s, &ctx, input).await {
        Ok(v) => {
            render_licences(
                &s,
                &ctx,
                &headers,
                &uri,
                Some(&type_code),
                BTreeMap::new(),
                Some(v),
                vec![],
            )
            .await
        }
        Err(e) => {
            render_licences(
                &s,
                &ctx,
                &headers,
                &uri,
                Some(&type_code),
                form,
                None,
                e.into_field_errors(),
            )
            .await
        }
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "licence.html")]
struct LicencePage {
    base: Base,
    sum: LicenceSummary,
    face: String,
    history: Vec<HistoryEntry>,
    grants: Vec<Grant>,
    statuses: Vec<Status>,
    /// Issuer's view (status forms) or the holder's (wallet: presentation, grants).
    issuer: bool,
    departments: Vec<Department>,
    errors: Vec<FieldError>,
}

impl LicencePage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn name<T: Named>(&self, x: &T) -> &'static str {
        self.base.lang.name(x)
    }
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
    fn kind(&self, h: &HistoryEntry) -> &'static str {
        match h.kind.as_str() {
            "issued" => self.base.lang.pick("核发", "issued"),
            "annotation" => self.base.lang.pick("加注", "annotation"),
            _ => self.base.lang.pick("状态变更", "status"),
        }
    }
    fn active(&self, g: &Grant) -> bool {
        g.revoked_at_ms.is_none() && g.valid_until_ms > yiwang_store::now_ms()
    }
    fn valid(&self) -> bool {
        self.sum.status == Status::Valid
    }
    fn pdf_url(&self) -> String {
        if self.issuer {
            format!("/licences/{}/pdf", self.sum.id)
        } else {
            format!("/wallet/{}/pdf", self.sum.id)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_licence(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    sum: LicenceSummary,
    file: LicenceFile,
    issuer: bool,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let face = face_svg(s, &sum, &file).await?;
    let status = crate::pages::form_status(&errors);
    let departments = if issuer {
        vec![]
    } else {
        yiwang_store::orgs::departments(&s.store.read, None).await?
    };
    Ok((
        status,
        LicencePage {
            base: Base::new(s, headers, uri, ctx).await,
            history: licences::history_of(&s.store, &sum.id).await?,
            grants: licences::grants_of(&s.store, &sum.id).await?,
            statuses: Status::ALL.to_vec(),
            face,
            sum,
            issuer,
            departments,
            errors,
        },
    )
        .into_response())
}

async fn licence_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let sum = summary(&s, &id).await?;
    let file = staff_file(&s, &ctx, &id, "证照管理：查看已颁发的证照").await?;
    render_licence(&s, &ctx, &headers, &uri, sum, file, true, vec![]).await
}

async fn after_issuer_change(
    s: AppState,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    id: String,
    r: ApiResult<Value>,
) -> ApiResult<Response> {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/licences/{id}")).into_response()),
        Err(e) => {
            let sum = summary(&s, &id).await?;
            let file = staff_file(&s, &ctx, &id, "证照管理：变更证照").await?;
            render_licence(&s, &ctx, &headers, &uri, sum, file, true, e.into_field_errors()).await
        }
    }
}

async fn status_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mut to = None;
    let mut reason = String::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "status" => to = Status::parse(&v),
            "reason" => reason = v.into_owned(),
            _ => {}
        }
    }
    let Some(to) = to else {
        let e = domain(DomainError::invalid(vec![FieldError::new(
            "status",
            "enum",
            "请选择新的状态",
            "choose the new status",
        )]));
        return after_issuer_change(s, ctx, headers, uri, id, Err(e)).await;
    };
    let r = run(
        &s,
        &ctx,
        licences::Cmd::ChangeStatus {
            licence_id: id.clone(),
            to,
            reason,
        },
    )
    .await;
    after_issuer_change(s, ctx, headers, uri, id, r).await
}

async fn annotate_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let text = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let r = run(
        &s,
        &ctx,
        licences::Cmd::Annotate {
            licence_id: id.clone(),
            text,
        },
    )
    .await;
    after_issuer_change(s, ctx, headers, uri, id, r).await
}

// ---------------------------------------------------------------------------------------
// Pages: wallet
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "wallet.html")]
struct WalletPage {
    base: Base,
    licences: Vec<LicenceSummary>,
}

impl WalletPage {
    fn name<T: Named>(&self, x: &T) -> &'static str {
        self.base.lang.name(x)
    }
    fn valid(&self, l: &LicenceSummary) -> bool {
        l.status == Status::Valid
    }
}

async fn wallet_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(WalletPage {
        base: Base::new(&s, &headers, &uri, &ctx).await,
        licences: licences::of_subject(&s.store, &subject).await?,
    }
    .into_response())
}

async fn wallet_licence(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    id: &str,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let sum = held(s, ctx, id).await?;
    let file = holder_file(s, id).await?;
    render_licence(s, ctx, headers, uri, sum, file, false, errors).await
}

async fn wallet_licence_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    wallet_licence(&s, &ctx, &headers, &uri, &id, vec![]).await
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "present.html")]
struct PresentPage {
    base: Base,
    sum: LicenceSummary,
    qr: String,
    url: String,
    until: String,
}

async fn present_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    match present(&s, &ctx, &id).await {
        Ok(p) => {
            let sum = held(&s, &ctx, &id).await?;
            Ok(PresentPage {
                base: Base::new(&s, &headers, &uri, &ctx).await,
                qr: yiwang_docs::qr_svg(&p.url),
                until: when(p.valid_until_ms),
                url: p.url,
                sum,
            }
            .into_response())
        }
        Err(e) => wallet_licence(&s, &ctx, &headers, &uri, &id, e.into_field_errors()).await,
    }
}

async fn grant_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mut b = GrantBody {
        department_id: String::new(),
        item_code: None,
        purpose: String::new(),
        days: 0,
    };
    let mut errors = vec![];
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "department_id" => b.department_id = v.into_owned(),
            "item_code" => b.item_code = Some(v.trim().to_string()),
            "purpose" => b.purpose = v.into_owned(),
            "days" => match v.trim().parse() {
                Ok(n) => b.days = n,
                Err(_) => errors.push(FieldError::new(
                    "days",
                    "type",
                    "授权天数应为整数",
                    "the days are a whole number",
                )),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        match grant(&s, &ctx, &id, b).await {
            Ok(_) => return Ok(Redirect::to(&format!("/wallet/{id}")).into_response()),
            Err(e) => errors = e.into_field_errors(),
        }
    }
    wallet_licence(&s, &ctx, &headers, &uri, &id, errors).await
}

async fn revoke_grant_form(State(s): State<AppState>, ctx: Ctx, Path(grant_id): Path<String>) -> ApiResult<Response> {
    let g = licences::grant_by_id(&s.store, &grant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("grant"))?;
    run(
        &s,
        &ctx,
        licences::Cmd::RevokeGrant {
            grant_id,
            by: ctx.ledger_actor(),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/wallet/{}", g.licence_id)).into_response())
}

// ---------------------------------------------------------------------------------------
// Pages: verification
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "verify.html")]
struct VerifyPage {
    base: Base,
    result: Option<VerifyView>,
    /// The face, shown for presentations (the holder chose to show it).
    face: Option<String>,
    presented_until: Option<String>,
    query: String,
    errors: Vec<FieldError>,
}

impl VerifyPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn check(&self, c: &core::Check) -> String {
        if self.base.lang.is_en() {
            c.en.clone()
        } else {
            c.zh.clone()
        }
    }
    fn status(&self, l: &PublicLicence) -> String {
        match l.status {
            Some(s) => self.base.lang.name(&s).to_string(),
            None => self.base.lang.pick("请向颁发机构查询", "ask the issuer").to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct VerifyQuery {
    /// A QR payload (the QR code's URL carries it).
    p: Option<String>,
    /// A licence identifier.
    id: Option<String>,
    /// Whatever the verifier pasted: an identifier, a QR payload or URL, a licence file.
    q: Option<String>,
}

async fn render_verify(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    query: String,
    r: Option<ApiResult<VerifyView>>,
) -> ApiResult<Response> {
    let (result, errors) = match r {
        None => (None, vec![]),
        Some(Ok(v)) => (Some(v), vec![]),
        Some(Err(e)) if e.status == StatusCode::NOT_FOUND => (
            None,
            vec![FieldError::new(
                "id",
                "licence.unknown",
                "本平台没有该证照；外地证照请上传证照文件或扫描其二维码",
                "this node has no such licence: for one issued elsewhere, upload its file or scan its QR code",
            )],
        ),
        Some(Err(e)) => (None, e.into_field_errors()),
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        VerifyPage {
            base: Base::new(s, headers, uri, ctx).await,
            result,
            face: None,
            presented_until: None,
            query,
            errors,
        },
    )
        .into_response())
}

async fn verify_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<VerifyQuery>,
) -> ApiResult<Response> {
    let text = [q.p, q.id, q.q]
        .into_iter()
        .flatten()
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty());
    let Some(text) = text else {
        return render_verify(&s, &ctx, &headers, &uri, String::new(), None).await;
    };
    // Verification reads nothing private and changes nothing: a GET form, no session needed.
    let r = if text.starts_with('{') {
        match crate::extract::parse_json::<LicenceFile>(text.as_bytes()) {
            Ok(f) => verify_file(&s, &f).await,
            Err(e) => Err(e),
        }
    } else if text.contains(core::QR_PREFIX) {
        verify_payload(&s, &text).await
    } else {
        verify_id(&s, &text).await
    };
    render_verify(&s, &ctx, &headers, &uri, text, Some(r)).await
}

async fn presentation_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let (f, v, until) = match presentation(&s, &token).await {
        Ok(x) => x,
        Err(e) => {
            let errors = e.into_field_errors();
            return Ok((
                StatusCode::GONE,
                VerifyPage {
                    base: Base::new(&s, &headers, &uri, &ctx).await,
                    result: None,
                    face: None,
                    presented_until: None,
                    query: String::new(),
                    errors,
                },
            )
                .into_response());
        }
    };
    let sum = summary(&s, &f.data.id).await?;
    let face = face_svg(&s, &sum, &f).await?;
    Ok(VerifyPage {
        base: Base::new(&s, &headers, &uri, &ctx).await,
        result: Some(view(v, Some(from_file(&f, Some(sum.status))))),
        face: Some(face),
        presented_until: Some(when(until)),
        query: String::new(),
        errors: vec![],
    }
    .into_response())
}
