//! E-licences over HTTP. Departments (`licence_issue`) define licence types and issue,
//! suspend, revoke and annotate licences (API and `/licences`); holders keep them in a
//! wallet (`/wallet`): the face and PDF, a short-lived presentation code (亮证), and
//! grants that let a department use a licence instead of a submitted material (免提交);
//! anyone verifies a licence, its QR payload or a licence file (`/verify`).

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::{Base, china_time};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::access::{Permission, Target};
use yiwang_core::licences::{
    self as core, HolderKind, Layout, LicenceFile, LicenceType, QrClaims, Status, ValidityRule, Verification,
};
use yiwang_core::orgs::Department;
use yiwang_core::{DomainError, FieldError, Named};
use yiwang_store::licences::{self, Grant, GrantInput, HistoryEntry, IssueInput, LicenceSummary};
use yiwang_store::{Command, StoreError};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_types, api_define_type))
        .routes(routes!(api_issued, api_issue))
        .routes(routes!(api_licence))
        .routes(routes!(api_status))
        .routes(routes!(api_annotate))
        .route("/api/v1/licences/{licence_id}/pdf", get(issuer_pdf))
        .routes(routes!(api_use))
        .routes(routes!(api_wallet))
        .routes(routes!(api_mine))
        .route("/api/v1/me/licences/{licence_id}/pdf", get(holder_pdf))
        .routes(routes!(api_present))
        .routes(routes!(api_grant))
        .routes(routes!(api_revoke_grant))
        .routes(routes!(api_covered))
        .routes(routes!(api_verify))
        .routes(routes!(api_verify_id))
        .routes(routes!(api_presentation))
        .route("/licence-types", get(types_page).post(define_form))
        .route("/licences", get(licences_page).post(issue_form))
        .route("/licences/{licence_id}", get(licence_page))
        .route("/licences/{licence_id}/status", post(status_form))
        .route("/licences/{licence_id}/annotate", post(annotate_form))
        .route("/licences/{licence_id}/pdf", get(issuer_pdf))
        .route("/wallet", get(wallet_page))
        .route("/wallet/{licence_id}", get(wallet_licence_page))
        .route("/wallet/{licence_id}/pdf", get(holder_pdf))
        .route("/wallet/{licence_id}/file", get(holder_file_download))
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
    yiwang_store::refdata::department(&s.store, id)
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

/// The URL a licence's QR code opens: this node's public verification of the licence by
/// its identifier, checked server-side. Short, so the code scans from a phone screen or a
/// 150 dpi print; the offline signed payload (`qr_payload`) stays in the licence's data and
/// on its verification page for verifiers that want it.
fn verify_url(s: &AppState, licence_id: &str) -> String {
    format!("{}/verify?id={licence_id}", s.public_url)
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
    Ok((page, seal, verify_url(s, &sum.id)))
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

/// The holder's licence file (JSON), to present elsewhere — at a partner node for mutual
/// recognition (互认), or to any verifier.
async fn holder_file_download(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    held(&s, &ctx, &id).await?;
    let file = holder_file(&s, &id).await?;
    let body = serde_json::to_vec_pretty(&file).map_err(|_| ApiError::internal())?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/json".to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"licence-{id}.json\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// Staff read a licence in full: recorded in a person holder's data-use log.
async fn staff_file(s: &AppState, ctx: &Ctx, id: &str, purpose: &str) -> ApiResult<LicenceFile> {
    licences::read_file(&s.store, ctx.meta(), &ctx.reader(), id, purpose)
        .await?
        .ok_or_else(not_found)
}

mod api;
pub use api::*;
mod verify;
pub use verify::*;
mod pages;
use pages::*;
