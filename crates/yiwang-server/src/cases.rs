//! Cases over HTTP. Applicants apply from a guide (`/services/{code}/apply`, `POST
//! /api/v1/cases` with an Idempotency-Key), follow their cases, answer corrections, hand
//! in materials that follow and download signed notices (`/me/cases`); window clerks
//! take any item of their region for an applicant (`POST /api/v1/window/cases`); staff
//! work an inbox ordered by remaining working time and act on cases (`/work/inbox`,
//! `/work/cases/{id}`). Every action goes through `yiwang_store::cases`, whose state
//! machine is `yiwang_core::cases::decide`.

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, IdempotencyKey};
use crate::pages::{Base, when};
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use yiwang_core::access::{Permission, Target};
use yiwang_core::cases::{
    Action, Application, Channel, CorrectionItem, DeliveryMethod, Light, NoticeKind, Party, PostDetail, Provision,
    ProvisionKind,
};
use yiwang_core::catalog::{DataElement, ElementKind, Elements, Necessity, SpecialKind, StepRole};
use yiwang_core::mandates::Subject;
use yiwang_core::{DomainError, FieldError, Named};
use yiwang_store::cases::{self, Applicant, CaseRow, Clocks, Notice, Task, TimelineEntry};
use yiwang_store::{Meta, StoreError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cases", post(api_submit))
        .route("/api/v1/window/cases", post(api_window_submit))
        .route("/api/v1/case-imports", post(api_import))
        .route("/api/v1/me/cases", get(api_my_cases))
        .route("/api/v1/me/cases/{case_id}", get(api_my_case))
        .route("/api/v1/me/cases/{case_id}/actions", post(api_my_action))
        .route("/api/v1/me/cases/{case_id}/application", post(api_resubmit))
        .route("/api/v1/me/cases/{case_id}/notices/{notice_id}/pdf", get(my_notice_pdf))
        .route("/api/v1/me/drafts", get(api_drafts).post(api_save_draft))
        .route("/api/v1/me/notifications", get(api_notifications))
        .route(
            "/api/v1/me/files",
            post(api_upload).layer(axum::extract::DefaultBodyLimit::max(
                yiwang_store::files::MAX_SIZE + 4096,
            )),
        )
        .route("/api/v1/inbox", get(api_inbox))
        .route("/api/v1/cases/{case_id}", get(api_case))
        .route("/api/v1/cases/{case_id}/actions", post(api_action))
        .route("/api/v1/cases/{case_id}/notices/{notice_id}/pdf", get(staff_notice_pdf))
        .route("/api/v1/case-tasks/{task_id}/complete", post(api_complete_task))
        .route(
            "/services/{service_code}/apply",
            get(apply_page)
                .post(apply_form)
                .layer(axum::extract::DefaultBodyLimit::max(
                    yiwang_store::files::MAX_SIZE + (1 << 20),
                )),
        )
        .route("/me/cases", get(my_cases_page))
        .route(
            "/me/cases/{case_id}",
            get(my_case_page)
                .post(my_case_form)
                .layer(axum::extract::DefaultBodyLimit::max(
                    yiwang_store::files::MAX_SIZE + (1 << 20),
                )),
        )
        .route("/me/cases/{case_id}/notices/{notice_id}/pdf", get(my_notice_pdf))
        .route("/work/inbox", get(inbox_page))
        .route(
            "/work/window",
            get(window_page)
                .post(window_form)
                .layer(axum::extract::DefaultBodyLimit::max(
                    yiwang_store::files::MAX_SIZE + (1 << 20),
                )),
        )
        .route("/work/cases/{case_id}", get(work_case_page).post(work_case_form))
        .route("/work/cases/{case_id}/notices/{notice_id}/pdf", get(staff_notice_pdf))
}

fn not_found() -> ApiError {
    ApiError::from(cases::not_party())
}

// ---------------------------------------------------------------------------------------
// Who is acting
// ---------------------------------------------------------------------------------------

async fn target(s: &AppState, row: &CaseRow) -> ApiResult<Target> {
    let d = yiwang_store::orgs::department(&s.store.read, &row.department_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Target::Department {
        id: d.id,
        region_code: d.region_code,
    })
}

/// The applicant's own case (or the principal's they act for).
pub(crate) async fn my_case(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<CaseRow> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    match cases::case(&s.store, id).await? {
        Some(c) if c.applicant == subject.key() => Ok(c),
        _ => Err(not_found()),
    }
}

/// The party a staff member acts as for this action, checked against their permissions
/// and the case's department and region.
async fn staff_party(s: &AppState, ctx: &Ctx, row: &CaseRow, a: &Action) -> ApiResult<Party> {
    let t = target(s, row).await?;
    let (party, perm) = match a {
        Action::Accept | Action::Refuse { .. } | Action::RequestCorrection { .. } => {
            (Party::Clerk, Permission::CaseAccept)
        }
        Action::Claim
        | Action::Assign { .. }
        | Action::Complete { .. }
        | Action::Return { .. }
        | Action::StartSpecial { .. }
        | Action::EndSpecial { .. } => match row.step_role() {
            Some(StepRole::Decide) => (Party::Decider, Permission::CaseDecide),
            _ => (Party::Reviewer, Permission::CaseReview),
        },
        Action::Decide { .. } | Action::Terminate { .. } => (Party::Decider, Permission::CaseDecide),
        Action::Deliver { .. } => {
            if ctx.actor.authorize(Permission::CaseAccept, &t).is_ok() {
                (Party::Clerk, Permission::CaseAccept)
            } else {
                (Party::Decider, Permission::CaseDecide)
            }
        }
        Action::Void { .. } => (Party::Admin, Permission::CaseVoid),
        Action::Submit | Action::Correct | Action::Supplement { .. } | Action::Withdraw { .. } | Action::DeemAccept => {
            return Err(ApiError::from(StoreError::from(DomainError::invalid(vec![
                FieldError::new(
                    "action",
                    "case.party",
                    "该操作由申请人或系统执行",
                    "the applicant or the system takes this action",
                ),
            ]))));
        }
    };
    ctx.require(perm, &t)?;
    Ok(party)
}

/// The parties a staff member may act as on a case (for the page's action forms).
async fn staff_parties(s: &AppState, ctx: &Ctx, row: &CaseRow) -> ApiResult<Vec<Party>> {
    let t = target(s, row).await?;
    let mut out = vec![];
    for (p, perm) in [
        (Party::Clerk, Permission::CaseAccept),
        (Party::Reviewer, Permission::CaseReview),
        (Party::Decider, Permission::CaseDecide),
        (Party::Admin, Permission::CaseVoid),
    ] {
        if ctx.actor.authorize(perm, &t).is_ok() {
            out.push(p);
        }
    }
    Ok(out)
}

/// The applicant as the case records them: name and identifier from the account.
async fn applicant_of(s: &AppState, subject: &Subject) -> ApiResult<Applicant> {
    match subject {
        Subject::Person(id) => {
            let p = yiwang_store::accounts::person(&s.store.read, id)
                .await?
                .ok_or_else(|| ApiError::not_found("person"))?;
            let code = yiwang_store::accounts::reveal(&s.store, &p, yiwang_core::datause::PersonalField::IdNumber)?;
            Ok(Applicant {
                subject: subject.clone(),
                name: p.name,
                code,
            })
        }
        Subject::Legal(id) => {
            let l = yiwang_store::accounts::legal_person(&s.store.read, id)
                .await?
                .ok_or_else(|| ApiError::not_found("legal person"))?;
            Ok(Applicant {
                subject: subject.clone(),
                name: l.name,
                code: l.uscc,
            })
        }
    }
}

/// Acting for a principal, the mandate must cover this item (a mandate may list items by
/// their basic-directory or implementation code, 代办授权的事项范围).
async fn check_mandate_covers(s: &AppState, ctx: &Ctx, item_code: &str) -> ApiResult<()> {
    let (Some((principal, _)), Some(pid)) = (&ctx.acting_for, &ctx.person_id) else {
        return Ok(());
    };
    let basic = item_code.trim().get(19..31).unwrap_or("");
    for code in [item_code.trim(), basic] {
        if !code.is_empty()
            && yiwang_store::mandates::in_force(&s.store, pid, principal, Some(code))
                .await?
                .is_some()
        {
            return Ok(());
        }
    }
    Err(ApiError::from(StoreError::from(DomainError::one(
        yiwang_core::ErrorKind::Conflict,
        FieldError::new(
            "item_code",
            "mandate.scope",
            "您的代办授权不包括此事项",
            "your mandate does not cover this item",
        ),
    ))))
}

fn idem_meta(ctx: &Ctx, idem: IdempotencyKey, method: &Method, uri: &Uri, body: &[u8]) -> Meta {
    let actor = ctx.ledger_actor();
    let mut meta = Meta::actor(&actor);
    if let Some(key) = idem.0 {
        let mut fp = format!("{method} {}\n", uri.path()).into_bytes();
        fp.extend_from_slice(body);
        meta = meta.with_idempotency(format!("{actor}:{key}"), hex::encode(yiwang_crypto::sm3(&fp)));
    }
    meta
}

// ---------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    /// The 实施编码 of the item in force.
    pub item_code: String,
    #[serde(default)]
    pub application: Application,
    /// The draft this submission comes from (deleted once submitted).
    #[serde(default)]
    pub draft_id: Option<String>,
}

/// Applies online for the logged-in person or the principal they act for. 智能预审 runs
/// at once; every problem names its field. Send an Idempotency-Key: a retry returns the
/// first case.
#[utoipa::path(post, path = "/api/v1/cases", request_body = SubmitBody, tag = "cases",
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_submit(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<SubmitBody>,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    check_mandate_covers(&s, &ctx, &body.value.item_code).await?;
    let applicant = applicant_of(&s, &subject).await?;
    let meta = idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let b = body.value;
    let w = cases::submit(
        &s.store,
        meta,
        cases::Submission {
            item_code: b.item_code.to_string(),
            applicant,
            channel: Channel::Online,
            assisted: ctx.acting_for.is_some(),
            application: b.application,
            draft_id: b.draft_id,
        },
    )
    .await?;
    Ok(created(w))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowBody {
    pub item_code: String,
    /// `person:ID` or `legal:ID` (found with the person lookup).
    pub applicant: String,
    #[serde(default)]
    pub application: Application,
    /// 帮办: the clerk filled in the application for the applicant.
    #[serde(default)]
    pub assisted: bool,
}

/// A window clerk takes an application for any department's item in their region
/// (一窗受理); the case then waits for acceptance by the clerk and review by the
/// competent department (受审分离).
#[utoipa::path(post, path = "/api/v1/window/cases", request_body = WindowBody, tag = "cases",
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_window_submit(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<WindowBody>,
) -> ApiResult<Response> {
    let meta = idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let w = window_submit(&s, &ctx, &body.value, meta).await?;
    Ok(created(w))
}

/// The item in force, if the caller holds `perm` for its department (for a window
/// clerk: the department lies in their region, 一窗受理).
async fn item_for(
    s: &AppState,
    ctx: &Ctx,
    item_code: &str,
    perm: Permission,
) -> ApiResult<yiwang_store::catalog::Service> {
    let service = cases::service_for(&s.store, item_code).await?;
    let d = yiwang_store::orgs::department(&s.store.read, &service.department_id)
        .await?
        .ok_or_else(not_found)?;
    ctx.require(
        perm,
        &Target::Department {
            id: d.id,
            region_code: d.region_code,
        },
    )?;
    Ok(service)
}

/// The item in force, if its department lies in the clerk's region (一窗受理).
async fn window_service(s: &AppState, ctx: &Ctx, item_code: &str) -> ApiResult<yiwang_store::catalog::Service> {
    item_for(s, ctx, item_code, Permission::CaseAccept).await
}

/// `person:ID` or `legal:ID`, as the window and import APIs name an applicant.
fn applicant_subject(a: &str) -> ApiResult<Subject> {
    Subject::parse(a).ok_or_else(|| {
        ApiError::from(StoreError::from(DomainError::invalid(vec![FieldError::new(
            "applicant",
            "format",
            "申请人写作 person:ID 或 legal:ID",
            "the applicant is person:ID or legal:ID",
        )])))
    })
}

/// The window submission the API and the window page share: the clerk's region must
/// hold the item's department (一窗受理), the applicant must be registered.
async fn window_submit(s: &AppState, ctx: &Ctx, b: &WindowBody, meta: Meta) -> ApiResult<yiwang_store::Written> {
    window_service(s, ctx, &b.item_code).await?;
    let applicant = applicant_of(s, &applicant_subject(&b.applicant)?).await?;
    Ok(cases::submit(
        &s.store,
        meta,
        cases::Submission {
            item_code: b.item_code.clone(),
            applicant,
            channel: Channel::Window,
            assisted: b.assisted,
            application: b.application.clone(),
            draft_id: None,
        },
    )
    .await?)
}

/// A case in flight on the previous platform (历史办件迁移).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    pub item_code: String,
    /// `person:ID` or `legal:ID` (registered on this platform).
    pub applicant: String,
    #[serde(default)]
    pub application: Application,
    /// The case's number on the previous platform.
    pub legacy_no: String,
    /// The previous platform's name.
    pub source: String,
    /// yyyy-mm-dd.
    #[schema(value_type = String)]
    pub received_on: chrono::NaiveDate,
    /// yyyy-mm-dd, when the previous platform had accepted it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub accepted_on: Option<chrono::NaiveDate>,
    /// `window` (default) or `online`: how the case first came in.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub channel: Option<Channel>,
}

/// Takes over a case from the province's previous platform with its original dates of
/// receipt and acceptance (so its clocks and traffic lights are the real ones); needs the
/// case administration permission (`case_void`) for the item's department. Pre-checked
/// like any submission; send an Idempotency-Key to make a re-run of an import harmless.
#[utoipa::path(post, path = "/api/v1/case-imports", request_body = ImportBody, tag = "cases",
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_import(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<ImportBody>,
) -> ApiResult<Response> {
    let meta = idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let b = &body.value;
    item_for(&s, &ctx, &b.item_code, Permission::CaseVoid).await?;
    let subject = applicant_subject(&b.applicant)?;
    let channel = b.channel.unwrap_or(Channel::Window);
    let applicant = applicant_of(&s, &subject).await?;
    let w = cases::import(
        &s.store,
        meta,
        cases::Submission {
            item_code: b.item_code.clone(),
            applicant,
            channel,
            assisted: false,
            application: b.application.clone(),
            draft_id: None,
        },
        cases::Migration {
            legacy_no: b.legacy_no.clone(),
            source: b.source.clone(),
            received_on: b.received_on,
            accepted_on: b.accepted_on,
        },
    )
    .await?;
    Ok(created(w))
}

/// 201 with the case, marked when it replays an earlier request's answer.
fn created(w: yiwang_store::Written) -> Response {
    let mut r = (StatusCode::CREATED, Json(w.value)).into_response();
    if w.replayed {
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// A case as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseDetail {
    #[schema(value_type = Object)]
    pub case: CaseRow,
    /// Whose move it is.
    #[schema(value_type = Option<String>)]
    pub waiting_on: Option<Party>,
    #[schema(value_type = Object)]
    pub clocks: Clocks,
    #[schema(value_type = Vec<Object>)]
    pub timeline: Vec<TimelineEntry>,
    #[schema(value_type = Vec<Object>)]
    pub notices: Vec<Notice>,
    #[schema(value_type = Vec<Object>)]
    pub suspensions: Vec<cases::SuspensionRow>,
    #[schema(value_type = Vec<Object>)]
    pub tasks: Vec<Task>,
    /// The application (form, materials); for staff, the read is in a person
    /// applicant's data-use log.
    pub application: Option<Application>,
}

async fn detail(s: &AppState, row: CaseRow, with_application: bool) -> ApiResult<CaseDetail> {
    let today = yiwang_store::today();
    Ok(CaseDetail {
        waiting_on: row.waiting_on(),
        clocks: cases::clocks(&s.store, &row, today).await?,
        timeline: cases::timeline(&s.store, &row.id).await?,
        notices: cases::notices(&s.store, &row.id).await?,
        suspensions: cases::suspensions(&s.store, &row.id).await?,
        tasks: cases::tasks_of_case(&s.store, &row.id).await?,
        application: if with_application {
            cases::application(&s.store, &row.id).await?.map(|(a, _)| a)
        } else {
            None
        },
        case: row,
    })
}

/// Records a staff read of a person applicant's case in their data-use log.
async fn log_staff_read(s: &AppState, ctx: &Ctx, row: &CaseRow) -> ApiResult<()> {
    if let Some(Subject::Person(pid)) = row.subject() {
        cases::record_read(&s.store, ctx.meta(), &ctx.reader(), &pid, &row.id).await?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/me/cases", tag = "cases", responses((status = 200, body = Vec<Object>)))]
pub async fn api_my_cases(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<CaseRow>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(cases::of_applicant(&s.store, &subject).await?))
}

#[utoipa::path(get, path = "/api/v1/me/cases/{case_id}", tag = "cases", responses((status = 200, body = CaseDetail)))]
pub async fn api_my_case(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<CaseDetail>> {
    let row = my_case(&s, &ctx, &id).await?;
    Ok(Json(detail(&s, row, true).await?))
}

/// The applicant's actions: withdraw (撤回). Corrections and materials that follow are
/// sent with `POST /api/v1/me/cases/{case_id}/application`.
#[utoipa::path(post, path = "/api/v1/me/cases/{case_id}/actions", tag = "cases", request_body = Object,
    responses((status = 200, body = Object), (status = 409, body = crate::error::Problem)))]
pub async fn api_my_action(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Action>,
) -> ApiResult<Json<Value>> {
    my_case(&s, &ctx, &id).await?;
    Ok(Json(
        cases::act(&s.store, ctx.meta(), &id, Party::Applicant, body.value).await?,
    ))
}

/// 补正 (while a correction is requested) or 容缺后补 (while accepted with materials to
/// follow): the whole application again, pre-checked again.
#[utoipa::path(post, path = "/api/v1/me/cases/{case_id}/application", tag = "cases", request_body = Object,
    responses((status = 200, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_resubmit(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Application>,
) -> ApiResult<Json<Value>> {
    my_case(&s, &ctx, &id).await?;
    Ok(Json(cases::resubmit(&s.store, ctx.meta(), &id, body.value).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    pub item_code: String,
    #[serde(default)]
    pub draft_id: Option<String>,
    #[serde(default)]
    pub application: Application,
}

/// Saves a draft (not checked: a draft may be incomplete).
#[utoipa::path(post, path = "/api/v1/me/drafts", request_body = DraftBody, tag = "cases",
    responses((status = 200, body = Object)))]
pub async fn api_save_draft(State(s): State<AppState>, ctx: Ctx, body: ApiJson<DraftBody>) -> ApiResult<Json<Value>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let b = body.value;
    Ok(Json(
        cases::save_draft(&s.store, ctx.meta(), subject, b.draft_id, &b.item_code, b.application).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/me/drafts", tag = "cases", responses((status = 200, body = Vec<Object>)))]
pub async fn api_drafts(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<cases::Draft>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(cases::drafts_of(&s.store, &subject).await?))
}

#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "cases", responses((status = 200, body = Vec<Object>)))]
pub async fn api_notifications(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<cases::Notification>>> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    Ok(Json(cases::notifications(&s.store, &subject).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    pub name: String,
}

/// An applicant uploads a material (PDF, OFD, Word, Excel, PNG or JPEG by content; at
/// most 20 MB); the answer's `sm3` goes into the application's `materials.<key>.files`.
#[utoipa::path(post, path = "/api/v1/me/files", params(UploadParams), tag = "cases",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_upload(
    State(s): State<AppState>,
    ctx: Ctx,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<UploadParams>,
    crate::extract::Upload(body): crate::extract::Upload,
) -> ApiResult<(StatusCode, Json<yiwang_store::files::FileInfo>)> {
    let f = yiwang_store::files::put(
        &s.store,
        ctx.meta(),
        &p.name,
        &body,
        yiwang_store::files::Visibility::Private,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// One line of an inbox.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxRow {
    #[schema(value_type = Object)]
    pub case: CaseRow,
    #[schema(value_type = String)]
    pub waiting_on: Party,
    /// Working days left on the promised clock (negative: overdue).
    pub remaining: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub light: Option<Light>,
}

async fn inbox(s: &AppState, ctx: &Ctx) -> ApiResult<(Vec<InboxRow>, Vec<Task>)> {
    let today = yiwang_store::today();
    let mut rows = vec![];
    let mut departments = vec![];
    for c in cases::open_cases(&s.store).await? {
        let Some(w) = c.waiting_on() else { continue };
        let t = target(s, &c).await?;
        let perm = match w {
            Party::Clerk => Permission::CaseAccept,
            Party::Reviewer => Permission::CaseReview,
            Party::Decider => Permission::CaseDecide,
            _ => continue,
        };
        if ctx.actor.authorize(Permission::CaseDecide, &t).is_ok() && !departments.contains(&c.department_id) {
            departments.push(c.department_id.clone());
        }
        if ctx.actor.authorize(perm, &t).is_err() {
            continue;
        }
        let clocks = cases::clocks(&s.store, &c, today).await?;
        let reading = clocks.promised.or(clocks.statutory).map(|(_, r)| r);
        rows.push(InboxRow {
            waiting_on: w,
            remaining: reading.as_ref().map(|r| r.remaining),
            light: reading.map(|r| r.light),
            case: c,
        });
    }
    // Least remaining working time first; cases without a running clock after them.
    rows.sort_by(|a, b| {
        (a.remaining.is_none(), a.remaining, a.case.received_on).cmp(&(
            b.remaining.is_none(),
            b.remaining,
            b.case.received_on,
        ))
    });
    if let Some(st) = &ctx.staff
        && ctx.has(Permission::CaseDecide)
        && !departments.contains(&st.department_id)
    {
        departments.push(st.department_id.clone());
    }
    let tasks = cases::open_tasks(&s.store, &departments).await?;
    Ok((rows, tasks))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub cases: Vec<InboxRow>,
    #[schema(value_type = Vec<Object>)]
    pub tasks: Vec<Task>,
}

/// The caller's inbox: cases waiting on a role they hold within their scope, least
/// remaining working time first, and open tasks (核查, 容缺 deadlines) of their department.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "cases", responses((status = 200, body = Inbox)))]
pub async fn api_inbox(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Inbox>> {
    let (cases, tasks) = inbox(&s, &ctx).await?;
    Ok(Json(Inbox { cases, tasks }))
}

#[utoipa::path(get, path = "/api/v1/cases/{case_id}", tag = "cases", responses((status = 200, body = CaseDetail)))]
pub async fn api_case(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<CaseDetail>> {
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    log_staff_read(&s, &ctx, &row).await?;
    Ok(Json(detail(&s, row, true).await?))
}

/// A staff action on a case (`{"action": "accept"}`, `{"action": "decide", "approve":
/// true, "reason": ""}` …); the party is taken from the action and checked against the
/// caller's permissions within the case's department and region.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/actions", tag = "cases", request_body = Object,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn api_action(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Action>,
) -> ApiResult<Json<Value>> {
    Ok(Json(staff_act(&s, &ctx, &id, body.value).await?))
}

async fn staff_act(s: &AppState, ctx: &Ctx, id: &str, a: Action) -> ApiResult<Value> {
    let row = cases::case(&s.store, id).await?.ok_or_else(not_found)?;
    let party = staff_party(s, ctx, &row, &a).await?;
    if let Action::Assign { to } = &a
        && !assignees(s, &row).await?.iter().any(|x| x.account_id == to.trim())
    {
        return Err(ApiError::from(StoreError::from(DomainError::invalid(vec![
            FieldError::new(
                "to",
                "case.assignee",
                "只能分派给本部门持有当前环节角色且未停用的工作人员",
                "assign only to an active colleague of the department holding this step's role",
            ),
        ]))));
    }
    Ok(cases::act(&s.store, ctx.meta(), id, party, a).await?)
}

/// The colleagues a case at its current step may be assigned to (分办): active staff
/// of the case's department whose roles give the step's permission there.
async fn assignees(s: &AppState, row: &CaseRow) -> ApiResult<Vec<yiwang_store::accounts::StaffInfo>> {
    let perm = match row.step_role() {
        Some(StepRole::Decide) => Permission::CaseDecide,
        _ => Permission::CaseReview,
    };
    let t = target(s, row).await?;
    // The roles once; each colleague's permissions are the union of theirs.
    let roles = yiwang_store::accounts::roles(&s.store.read).await?;
    let mut out = vec![];
    for st in yiwang_store::accounts::staff_in_region(&s.store.read, &row.region_code).await? {
        if st.disabled || st.department_id != row.department_id {
            continue;
        }
        let actor = yiwang_core::access::Actor::Staff {
            account_id: st.account_id.clone(),
            department_id: st.department_id.clone(),
            region_code: st.region_code.clone(),
            permissions: roles
                .iter()
                .filter(|r| st.roles.contains(&r.code))
                .flat_map(|r| r.permissions.iter().copied())
                .collect(),
        };
        if actor.authorize(perm, &t).is_ok() {
            out.push(st);
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskBody {
    pub outcome: String,
    /// 告知承诺核查: the commitment was false (revokes the licence, writes a credit record).
    #[serde(default)]
    pub false_commitment: bool,
}

#[utoipa::path(post, path = "/api/v1/case-tasks/{task_id}/complete", tag = "cases", request_body = TaskBody,
    responses((status = 200, body = Object)))]
pub async fn api_complete_task(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<TaskBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(complete_task(&s, &ctx, &id, &body.value).await?))
}

async fn complete_task(s: &AppState, ctx: &Ctx, id: &str, b: &TaskBody) -> ApiResult<Value> {
    let t = cases::task(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("task"))?;
    let d = yiwang_store::orgs::department(&s.store.read, &t.department_id)
        .await?
        .ok_or_else(not_found)?;
    ctx.require(
        Permission::CaseDecide,
        &Target::Department {
            id: d.id,
            region_code: d.region_code,
        },
    )?;
    Ok(cases::complete_task(&s.store, ctx.meta(), id, &b.outcome, b.false_commitment).await?)
}

// ---------------------------------------------------------------------------------------
// Notices as PDF
// ---------------------------------------------------------------------------------------

fn date_zh(ms: i64) -> String {
    let d = yiwang_store::date_of(ms);
    format!("{}年{}月{}日", d.format("%Y"), d.format("%-m"), d.format("%-d"))
}

fn notice_page(n: &Notice) -> yiwang_docs::NoticePage {
    let b = &n.body;
    let str_of = |k: &str| b[k].as_str().unwrap_or("").to_string();
    let mut paragraphs = vec![];
    let mut items = vec![];
    let item = str_of("item_name");
    match n.kind {
        NoticeKind::Receipt => {
            paragraphs.push(format!(
                "你（单位）申请办理「{item}」的材料已于 {} 收到。本机关将依照《中华人民共和国行政许可法》第三十二条在 5 个工作日内作出是否受理的决定，逾期未告知补正的，自收到申请材料之日起即为受理。",
                str_of("received_on")
            ));
            for m in b["materials"].as_array().into_iter().flatten() {
                items.push((
                    m["name"].as_str().unwrap_or("").to_string(),
                    ProvisionKind::parse(m["how"].as_str().unwrap_or(""))
                        .map(|p| p.zh().to_string())
                        .unwrap_or_default(),
                ));
            }
        }
        NoticeKind::Acceptance | NoticeKind::Tolerance => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，申请事项属于本机关职权范围，申请材料{}，根据《中华人民共和国行政许可法》第三十二条，决定予以受理。",
                if n.kind == NoticeKind::Tolerance { "主要材料齐全、符合法定形式，次要材料容缺后补" } else { "齐全、符合法定形式" }
            ));
            if b["deemed"].as_bool() == Some(true) {
                paragraphs.push("本机关未在法定期限内告知补正，依法自收到申请材料之日起视为受理。".into());
            }
            let due = str_of("due_on");
            if !due.is_empty() {
                paragraphs.push(format!(
                    "受理日期 {}，承诺办结日期 {due}（按工作日计算，特别程序时间不计入）。",
                    str_of("accepted_on")
                ));
            }
            for m in b["missing"].as_array().into_iter().flatten() {
                items.push((
                    m["name"].as_str().unwrap_or("").to_string(),
                    format!("请于 {} 前补交", m["due_on"].as_str().unwrap_or("承诺期限内")),
                ));
            }
            if !items.is_empty() {
                paragraphs
                    .push("下列材料容缺受理，补齐后方可作出决定；逾期未补交的，将依法终止办理并记入信用记录：".into());
            }
        }
        NoticeKind::NonAcceptance => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，决定不予受理。理由：{}。依据：{}。",
                str_of("reason"),
                str_of("basis")
            ));
            paragraphs.push(str_of("remedy"));
        }
        NoticeKind::Correction => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条，现一次性告知需补正的全部内容如下，请补正后重新提交："
            ));
            for it in b["items"].as_array().into_iter().flatten() {
                items.push((
                    it["target"].as_str().unwrap_or("").to_string(),
                    it["problem"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
        NoticeKind::Special => {
            paragraphs.push(format!(
                "你（单位）申请的「{item}」需要进行{}，理由：{}。根据《中华人民共和国行政许可法》第四十五条，所需时间不计算在办理期限内。自 {} 起计。",
                str_of("kind_zh"),
                str_of("reason"),
                str_of("from_on")
            ));
        }
        NoticeKind::Approval => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，符合法定条件、标准，根据《中华人民共和国行政许可法》第三十八条，决定准予行政许可。"
            ));
            let lid = str_of("licence_id");
            if !lid.is_empty() {
                paragraphs.push(format!("电子证照已签发并送达你的电子证照夹，证照标识 {lid}。"));
            }
        }
        NoticeKind::Denial => {
            paragraphs.push(format!(
                "你（单位）提出的「{item}」申请，经审查，决定不予行政许可。理由：{}。",
                str_of("reason")
            ));
            paragraphs.push(str_of("remedy"));
        }
    }
    yiwang_docs::NoticePage {
        department: str_of("department"),
        title: n.kind.zh().into(),
        doc_no: format!("{} · {}", n.case_id, n.kind.zh()),
        case_id: n.case_id.clone(),
        addressee: str_of("applicant_name"),
        paragraphs,
        items,
        date: date_zh(n.created_at),
        sealed: n.signature.is_some(),
        signature_line: match &n.signature {
            Some(sig) => format!("SM2 电子印章签名 {}…", &sig[..sig.len().min(24)]),
            None => "本部门尚无电子印章：本文书未签章".into(),
        },
        verify_hint: "扫码查看办件进度".into(),
    }
}

async fn notice_pdf(s: &AppState, case_id: &str, notice_id: &str) -> ApiResult<Response> {
    let n = cases::notice(&s.store, notice_id)
        .await?
        .filter(|n| n.case_id == case_id)
        .ok_or_else(|| ApiError::not_found("notice"))?;
    let seal_svg = match &n.seal_id {
        Some(id) => yiwang_store::seals::image(&s.store, id).await?.unwrap_or_default(),
        None => String::new(),
    };
    let page = notice_page(&n);
    let url = format!("{}/me/cases/{}", s.public_url, n.case_id);
    let pdf = tokio::task::spawn_blocking(move || yiwang_docs::notice_pdf(&page, &seal_svg, &url))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "typesetting a notice");
            ApiError::internal()
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "typesetting a notice");
            ApiError::internal()
        })?;
    let mut r = (StatusCode::OK, pdf).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    let name: String =
        form_urlencoded::byte_serialize(format!("{}-{}.pdf", n.case_id, n.kind.zh()).as_bytes()).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"notice.pdf\"; filename*=UTF-8''{name}")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

async fn my_notice_pdf(
    State(s): State<AppState>,
    ctx: Ctx,
    Path((case_id, notice_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    my_case(&s, &ctx, &case_id).await?;
    notice_pdf(&s, &case_id, &notice_id).await
}

async fn staff_notice_pdf(
    State(s): State<AppState>,
    Path((case_id, notice_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    notice_pdf(&s, &case_id, &notice_id).await
}

// ---------------------------------------------------------------------------------------
// Pages: applying
// ---------------------------------------------------------------------------------------

/// One form field as the page shows it.
struct FieldView {
    code: String,
    label: String,
    kind: ElementKind,
    options: Vec<String>,
    required: bool,
}

/// One material row of the application page.
struct MaterialView {
    key: String,
    name: String,
    necessity: Necessity,
    tolerable: bool,
    promisable: bool,
    /// Licences of the right type the applicant holds: (id, label).
    licences: Vec<(String, String)>,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "case_apply.html")]
struct ApplyPage {
    base: Base,
    code: String,
    elements: Elements,
    answers: BTreeMap<String, String>,
    fields: Vec<FieldView>,
    materials: Vec<MaterialView>,
    /// What was typed (`form.X`, `how.K`, `licence.K`, `files.K`, `commitment`).
    values: BTreeMap<String, String>,
    errors: Vec<FieldError>,
    draft_id: String,
    saved: bool,
    logged_in: bool,
    /// At a window: the applicant the clerk serves.
    window: Option<WindowApplicant>,
}

/// The applicant a window clerk takes an application for, and how they were looked up.
#[derive(Debug, Clone)]
struct WindowApplicant {
    subject: Subject,
    name: String,
    /// The lookup parameter (`id_number` or `uscc`) and its value, kept across the page.
    lookup: (&'static str, String),
}

impl ApplyPage {
    /// Where the form posts and the situation form reloads.
    fn post_url(&self) -> String {
        match &self.window {
            Some(_) => "/work/window".into(),
            None => format!("/services/{}/apply", self.code),
        }
    }
    fn situation_url(&self) -> String {
        self.post_url()
    }
    /// Hidden inputs that keep the window context (applicant lookup and item).
    fn window_hidden(&self) -> Vec<(String, String)> {
        match &self.window {
            Some(w) => vec![
                (w.lookup.0.to_string(), w.lookup.1.clone()),
                ("item".into(), self.code.clone()),
                ("applicant".into(), w.subject.key()),
            ],
            None => vec![],
        }
    }
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn name<T: Named>(&self, x: &T) -> &'static str {
        self.base.lang.name(x)
    }
    fn val(&self, k: &str) -> String {
        self.values.get(k).cloned().unwrap_or_default()
    }
    fn err(&self, k: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == k)
            .map(|e| self.base.lang.msg(e))
            .collect::<Vec<_>>()
            .join("；")
    }
    fn answer(&self, q: &str) -> String {
        self.answers.get(q).cloned().unwrap_or_default()
    }
    fn input_type(&self, f: &FieldView) -> &'static str {
        match f.kind {
            ElementKind::Date => "date",
            ElementKind::Integer | ElementKind::Decimal | ElementKind::Money => "number",
            ElementKind::Email => "email",
            ElementKind::Phone => "tel",
            _ => "text",
        }
    }
    fn is_choice(&self, f: &FieldView) -> bool {
        f.kind == ElementKind::Choice || f.kind == ElementKind::Boolean
    }
    fn choices(&self, f: &FieldView) -> Vec<(String, String)> {
        if f.kind == ElementKind::Boolean {
            vec![
                ("true".into(), self.base.lang.pick("是", "yes").into()),
                ("false".into(), self.base.lang.pick("否", "no").into()),
            ]
        } else {
            f.options.iter().map(|o| (o.clone(), o.clone())).collect()
        }
    }
    fn how(&self, key: &str) -> String {
        let v = self.val(&format!("how.{key}"));
        if v.is_empty() { "files".into() } else { v }
    }
    fn kept_files(&self, key: &str) -> String {
        self.val(&format!("files.{key}"))
    }
}

#[derive(Debug, Default, Deserialize)]
struct ApplyQuery {
    draft: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

async fn field_views(s: &AppState, e: &Elements) -> ApiResult<Vec<FieldView>> {
    let dict: BTreeMap<String, DataElement> = yiwang_store::catalog::data_elements(&s.store)
        .await?
        .into_iter()
        .map(|d| (d.code.clone(), d))
        .collect();
    Ok(e.form
        .iter()
        .map(|f| {
            let d = dict.get(&f.element);
            FieldView {
                code: f.element.clone(),
                label: f
                    .label
                    .clone()
                    .or_else(|| d.map(|d| d.name.clone()))
                    .unwrap_or_else(|| f.element.clone()),
                kind: d.map(|d| d.kind).unwrap_or(ElementKind::Text),
                options: d.map(|d| d.options.clone()).unwrap_or_default(),
                required: f.required,
            }
        })
        .collect())
}

async fn material_views(
    s: &AppState,
    holder: Option<Subject>,
    e: &Elements,
    answers: &BTreeMap<String, String>,
) -> ApiResult<Vec<MaterialView>> {
    let sel = yiwang_core::catalog::select_materials(e, answers).ok();
    let held = match holder {
        Some(p) => yiwang_store::licences::of_subject(&s.store, &p).await?,
        None => vec![],
    };
    Ok(e.materials
        .iter()
        .filter(|m| {
            sel.as_ref()
                .is_none_or(|sel| sel.needed.iter().chain(sel.depends.iter()).any(|x| x.key == m.key))
        })
        .map(|m| MaterialView {
            key: m.key.clone(),
            name: m.name.clone(),
            necessity: m.necessity,
            tolerable: m.necessity == Necessity::Tolerated,
            promisable: e.commitment.is_some() && m.kind == yiwang_core::catalog::MaterialKind::Proof,
            licences: held
                .iter()
                .filter(|l| {
                    l.status == yiwang_core::licences::Status::Valid
                        && m.source.licence_type.as_deref() == Some(l.type_code.as_str())
                })
                .map(|l| (l.id.clone(), format!("{} {}", l.type_name, l.number)))
                .collect(),
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn render_apply(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    code: &str,
    answers: BTreeMap<String, String>,
    values: BTreeMap<String, String>,
    errors: Vec<FieldError>,
    draft_id: String,
    saved: bool,
    window: Option<WindowApplicant>,
) -> ApiResult<Response> {
    let service = cases::service_for(&s.store, code).await?;
    let fields = field_views(s, &service.elements).await?;
    let holder = match &window {
        Some(w) => Some(w.subject.clone()),
        None => ctx.principal(),
    };
    let materials = material_views(s, holder, &service.elements, &answers).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        ApplyPage {
            base: Base::new(s, headers, uri, ctx).await,
            code: service.code.clone(),
            elements: service.elements,
            answers,
            fields,
            materials,
            values,
            errors,
            draft_id,
            saved,
            logged_in: ctx.principal().is_some() || window.is_some(),
            window,
        },
    )
        .into_response())
}

/// The page's values for an application (for drafts and re-rendering).
fn values_of(app: &Application) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    for (k, x) in &app.form {
        v.insert(
            format!("form.{k}"),
            match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        );
    }
    for (k, p) in &app.materials {
        v.insert(format!("how.{k}"), p.kind.as_str().into());
        if !p.files.is_empty() {
            v.insert(format!("files.{k}"), p.files.join(","));
        }
        if let Some(l) = &p.licence_id {
            v.insert(format!("licence.{k}"), l.clone());
        }
    }
    if app.commitment {
        v.insert("commitment".into(), "on".into());
    }
    v
}

async fn apply_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(code): Path<String>,
    Query(q): Query<ApplyQuery>,
) -> ApiResult<Response> {
    let mut answers: BTreeMap<String, String> = q
        .rest
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("q.").map(|k| (k.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut values = BTreeMap::new();
    let mut draft_id = String::new();
    if let (Some(d), Some(subject)) = (q.draft.as_deref(), ctx.principal())
        && let Some((draft, app)) = cases::draft(&s.store, &subject, d).await?
    {
        draft_id = draft.id;
        values = values_of(&app);
        if answers.is_empty() {
            answers = app.answers.clone();
        }
    } else if let Some(subject) = ctx.principal() {
        // Filled in from the profile and from the licences held: asked once, never again.
        let service = cases::service_for(&s.store, &code).await?;
        for (k, v) in cases::prefill(
            &s.store,
            &subject,
            &service.elements,
            &cases::dictionary(&s.store).await?,
        )
        .await?
        {
            values.insert(format!("form.{k}"), v);
        }
    }
    render_apply(
        &s,
        &ctx,
        &headers,
        &uri,
        &code,
        answers,
        values,
        vec![],
        draft_id,
        false,
        None,
    )
    .await
}

/// Reads the multipart application form: text fields, and one file per material; files
/// are stored (content-addressed) as they arrive, so nothing uploaded is lost when the
/// pre-check sends the form back.
async fn read_application_form(
    s: &AppState,
    ctx: &Ctx,
    mut mp: Multipart,
) -> ApiResult<(BTreeMap<String, String>, Vec<FieldError>)> {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = vec![];
    while let Some(field) = mp.next_field().await.map_err(|e| {
        ApiError::bad_request(FieldError::new(
            "body",
            "multipart",
            format!("表单格式不正确：{e}"),
            format!("malformed form: {e}"),
        ))
    })? {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(key) = name.strip_prefix("upload.") {
            let file_name = field.file_name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(|e| {
                ApiError::bad_request(FieldError::new(
                    "body",
                    "multipart",
                    format!("表单格式不正确：{e}"),
                    format!("malformed form: {e}"),
                ))
            })?;
            if bytes.is_empty() {
                continue;
            }
            match yiwang_store::files::put(
                &s.store,
                ctx.meta(),
                &file_name,
                &bytes,
                yiwang_store::files::Visibility::Private,
            )
            .await
            {
                Ok(f) => {
                    let k = format!("files.{key}");
                    let mut list: Vec<String> = values
                        .get(&k)
                        .map(|x| x.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect())
                        .unwrap_or_default();
                    if !list.contains(&f.sm3) {
                        list.push(f.sm3);
                    }
                    values.insert(k, list.join(","));
                    values.insert(format!("how.{key}"), "files".into());
                }
                Err(StoreError::Domain(d)) => {
                    errors.extend(d.errors.into_iter().map(|e| e.at(format!("materials.{key}"))));
                }
                Err(e) => return Err(e.into()),
            }
        } else if name != "_csrf" {
            let text = field.text().await.map_err(|e| {
                ApiError::bad_request(FieldError::new(
                    "body",
                    "multipart",
                    format!("表单格式不正确：{e}"),
                    format!("malformed form: {e}"),
                ))
            })?;
            // `files.K` from the page (kept uploads) merge with new ones.
            if let Some(old) = values.get(&name)
                && name.starts_with("files.")
            {
                let merged = format!("{old},{text}");
                values.insert(name, merged);
            } else {
                values.insert(name, text);
            }
        }
    }
    Ok((values, errors))
}

/// Builds an application from the page's values by the item's form and materials.
fn application_of(values: &BTreeMap<String, String>, fields: &[FieldView], e: &Elements) -> Application {
    let mut app = Application {
        answers: values
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("q.").map(|k| (k.to_string(), v.clone())))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        commitment: values.get("commitment").is_some_and(|v| v == "on" || v == "true"),
        ..Default::default()
    };
    for f in fields {
        let Some(v) = values.get(&format!("form.{}", f.code)) else {
            continue;
        };
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let value = match f.kind {
            ElementKind::Boolean => match v {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(v.into()),
            },
            ElementKind::Integer => v
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(v.into())),
            ElementKind::Decimal | ElementKind::Money => v
                .parse::<f64>()
                .ok()
                .and_then(|x| serde_json::Number::from_f64(x).map(Value::Number))
                .unwrap_or_else(|| Value::String(v.into())),
            _ => Value::String(v.into()),
        };
        app.form.insert(f.code.clone(), value);
    }
    for m in &e.materials {
        let how = values
            .get(&format!("how.{}", m.key))
            .map(String::as_str)
            .unwrap_or("files");
        let files: Vec<String> = values
            .get(&format!("files.{}", m.key))
            .map(|x| {
                let mut v: Vec<String> = x.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect();
                v.dedup();
                v
            })
            .unwrap_or_default();
        let licence = values
            .get(&format!("licence.{}", m.key))
            .filter(|x| !x.is_empty())
            .cloned();
        let p = match ProvisionKind::parse(how) {
            Some(ProvisionKind::Files) if files.is_empty() => None,
            Some(ProvisionKind::Files) => Some(Provision {
                kind: ProvisionKind::Files,
                files,
                licence_id: None,
                originals_checked: None,
            }),
            Some(ProvisionKind::Licence) => Some(Provision {
                kind: ProvisionKind::Licence,
                files: vec![],
                licence_id: licence,
                originals_checked: None,
            }),
            // At a window: the paper is taken, and whether the originals were checked.
            Some(ProvisionKind::Paper) => Some(Provision {
                kind: ProvisionKind::Paper,
                files,
                licence_id: None,
                originals_checked: Some(values.get(&format!("originals.{}", m.key)).is_some_and(|v| v == "on")),
            }),
            Some(k @ (ProvisionKind::Tolerated | ProvisionKind::Promised)) => Some(Provision {
                kind: k,
                files: vec![],
                licence_id: None,
                originals_checked: None,
            }),
            _ => None,
        };
        if let Some(p) = p {
            app.materials.insert(m.key.clone(), p);
        }
    }
    app
}

async fn apply_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(code): Path<String>,
    mp: Multipart,
) -> ApiResult<Response> {
    let (values, mut errors) = read_application_form(&s, &ctx, mp).await?;
    let service = cases::service_for(&s.store, &code).await?;
    let fields = field_views(&s, &service.elements).await?;
    let app = application_of(&values, &fields, &service.elements);
    let answers = app.answers.clone();
    let draft_id = values.get("draft_id").cloned().unwrap_or_default();
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let intent = values.get("intent").cloned().unwrap_or_default();
    if intent == "draft" {
        let v = cases::save_draft(
            &s.store,
            ctx.meta(),
            subject,
            Some(draft_id.clone()).filter(|d| !d.is_empty()),
            &code,
            app,
        )
        .await?;
        let id = v["draft_id"].as_str().unwrap_or_default().to_string();
        return render_apply(&s, &ctx, &headers, &uri, &code, answers, values, errors, id, true, None).await;
    }
    if errors.is_empty()
        && let Err(e) = check_mandate_covers(&s, &ctx, &code).await
    {
        errors.extend(e.into_field_errors());
    }
    if errors.is_empty() {
        let applicant = applicant_of(&s, &subject).await?;
        // The form carries a one-time key, so a double click makes one case.
        let mut meta = ctx.meta();
        if let Some(k) = values.get("submission_key").filter(|k| !k.is_empty()) {
            meta = meta.with_idempotency(format!("{}:{k}", ctx.ledger_actor()), "apply-form");
        }
        match cases::submit(
            &s.store,
            meta,
            cases::Submission {
                item_code: code.to_string(),
                applicant,
                channel: Channel::Online,
                assisted: ctx.acting_for.is_some(),
                application: app,
                draft_id: Some(draft_id.clone()).filter(|d| !d.is_empty()),
            },
        )
        .await
        {
            Ok(w) => {
                let id = w.value["id"].as_str().unwrap_or_default();
                return Ok(Redirect::to(&format!("/me/cases/{id}?submitted=1")).into_response());
            }
            Err(e) => errors.extend(ApiError::from(e).into_field_errors()),
        }
    }
    render_apply(
        &s, &ctx, &headers, &uri, &code, answers, values, errors, draft_id, false, None,
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Pages: the applicant's cases
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "my_cases.html")]
struct MyCasesPage {
    base: Base,
    cases: Vec<(CaseRow, Option<Light>)>,
    drafts: Vec<cases::Draft>,
    notifications: Vec<cases::Notification>,
}

impl MyCasesPage {
    fn name<T: Named>(&self, x: &T) -> &'static str {
        self.base.lang.name(x)
    }
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
    fn waiting_on_me(&self, c: &CaseRow) -> bool {
        c.waiting_on() == Some(Party::Applicant) || (!c.outstanding.is_empty() && !c.state.is_final())
    }
}

async fn my_cases_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let today = yiwang_store::today();
    let mut list = vec![];
    for c in cases::of_applicant(&s.store, &subject).await? {
        let clocks = cases::clocks(&s.store, &c, today).await?;
        let light = clocks.promised.or(clocks.statutory).map(|(_, r)| r.light);
        list.push((c, light));
    }
    Ok(MyCasesPage {
        base: Base::new(&s, &headers, &uri, &ctx).await,
        cases: list,
        drafts: cases::drafts_of(&s.store, &subject).await?,
        notifications: cases::notifications(&s.store, &subject).await?,
    }
    .into_response())
}

/// A material line of the case page: (key, name, how, files, originals checked at a
/// window).
type MaterialLine = (String, String, String, Vec<String>, Option<bool>);

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "case.html")]
struct CasePage {
    base: Base,
    d: CaseDetail,
    staff: bool,
    parties: Vec<Party>,
    errors: Vec<FieldError>,
    done: Option<String>,
    materials: Vec<MaterialLine>,
    /// Who has the case in hand (name), and the colleagues it may be assigned to.
    handler_name: Option<String>,
    assignees: Vec<(String, String)>,
    form: Vec<(String, String)>,
    /// The last correction request's items (what the applicant must fix).
    corrections: Vec<CorrectionItem>,
    special_kinds: Vec<SpecialKind>,
    delivery_methods: Vec<DeliveryMethod>,
    steps: Vec<(usize, String)>,
}

impl CasePage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn name<T: Named>(&self, x: &T) -> &'static str {
        self.base.lang.name(x)
    }
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
    fn can(&self, p: &str) -> bool {
        self.parties.iter().any(|x| x.as_str() == p)
    }
    fn state_is(&self, st: &str) -> bool {
        self.d.case.state.as_str() == st
    }
    fn at_role(&self, r: &str) -> bool {
        self.d.case.step_role().is_some_and(|x| x.as_str() == r)
    }
    fn is_last_step(&self) -> bool {
        self.d.case.step as usize + 1 == self.d.case.steps.len()
    }
    fn notice_url(&self, n: &Notice) -> String {
        if self.staff {
            format!("/work/cases/{}/notices/{}/pdf", n.case_id, n.id)
        } else {
            format!("/me/cases/{}/notices/{}/pdf", n.case_id, n.id)
        }
    }
    fn notice_name(&self, n: &Notice) -> &'static str {
        self.base.lang.name(&n.kind)
    }
    fn entry_text(&self, t: &TimelineEntry) -> String {
        self.base.lang.pick(&t.zh, &t.en).to_string()
    }
    fn light_of(&self) -> Option<Light> {
        self.d
            .clocks
            .promised
            .as_ref()
            .or(self.d.clocks.statutory.as_ref())
            .map(|(_, r)| r.light)
    }
    fn step_name(&self, r: &StepRole) -> &'static str {
        self.base.lang.name(r)
    }
    /// What was just done, in the reader's language.
    fn done_label(&self) -> &'static str {
        let l = self.base.lang;
        match self.done.as_deref().unwrap_or("") {
            "accept" => l.pick(
                "已受理，受理通知书已签章生成",
                "Accepted: the sealed notice of acceptance is ready",
            ),
            "refuse" => l.pick("已决定不予受理", "Not accepted"),
            "request_correction" => l.pick("补正告知书已发出", "The notice to correct was sent"),
            "claim" => l.pick("已签收", "Taken"),
            "assign" => l.pick("已分派", "Assigned"),
            "complete" => l.pick("已提交下一环节", "Passed on"),
            "return" => l.pick("已退回", "Returned"),
            "start_special" => l.pick(
                "特别程序已启动，暂停计时",
                "Special procedure started: the clock is stopped",
            ),
            "end_special" => l.pick(
                "特别程序已结束，恢复计时",
                "Special procedure ended: the clock runs again",
            ),
            "decide" => l.pick("已作出决定，决定书已签章生成", "Decided: the sealed decision is ready"),
            "deliver" => l.pick("已送达并办结", "Delivered and concluded"),
            "terminate" => l.pick("已终止办理", "Terminated"),
            "void" => l.pick("已作废", "Voided"),
            "withdraw" => l.pick("申请已撤回", "Withdrawn"),
            "resubmit" => l.pick("材料已提交", "Sent"),
            "task" => l.pick("任务已完成", "Task completed"),
            _ => l.pick("已完成", "Done"),
        }
    }
    fn post_action(&self) -> String {
        if self.staff {
            format!("/work/cases/{}", self.d.case.id)
        } else {
            format!("/me/cases/{}", self.d.case.id)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_case(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    row: CaseRow,
    staff: bool,
    errors: Vec<FieldError>,
    done: Option<String>,
) -> ApiResult<Response> {
    let parties = if staff {
        staff_parties(s, ctx, &row).await?
    } else {
        vec![Party::Applicant]
    };
    let version = yiwang_store::catalog::version_of(&s.store, &row.entry_id, row.item_version).await?;
    let d = detail(s, row, true).await?;
    let mut materials = vec![];
    let mut form = vec![];
    let lang = crate::i18n::Prefs::from_headers(headers).lang;
    if let (Some(app), Some(v)) = (&d.application, &version) {
        for m in &v.elements.materials {
            if let Some(p) = app.materials.get(&m.key) {
                materials.push((
                    m.key.clone(),
                    m.name.clone(),
                    lang.name(&p.kind).to_string(),
                    p.files.clone(),
                    p.originals_checked,
                ));
            } else if d.case.outstanding.contains(&m.key) {
                materials.push((
                    m.key.clone(),
                    m.name.clone(),
                    lang.name(&ProvisionKind::Tolerated).to_string(),
                    vec![],
                    None,
                ));
            }
        }
        for f in field_views(s, &v.elements).await? {
            if let Some(x) = app.form.get(&f.code) {
                form.push((
                    f.label,
                    match x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                ));
            }
        }
    }
    let corrections = d
        .timeline
        .iter()
        .rev()
        .find(|t| t.event == "correction_requested")
        .and_then(|t| t.body["items"].as_array().cloned())
        .map(|items| {
            items
                .into_iter()
                .filter_map(|i| serde_json::from_value(i).ok())
                .collect()
        })
        .unwrap_or_default();
    let steps = d
        .case
        .steps
        .iter()
        .enumerate()
        .map(|(i, r)| (i, ctx_name(headers, r)))
        .collect();
    let handler_name = match d.case.handler.as_deref().and_then(|h| h.strip_prefix("account:")) {
        Some(acc) => Some(
            yiwang_store::accounts::staff(&s.store.read, acc)
                .await?
                .map(|st| st.name)
                .unwrap_or_else(|| acc.to_string()),
        ),
        None => d.case.handler.clone(),
    };
    // Only a case at a review or decision step can be assigned.
    let assignable = matches!(
        d.case.state,
        yiwang_core::cases::State::Accepted | yiwang_core::cases::State::Suspended
    );
    let assignees = if staff && assignable && parties.iter().any(|p| matches!(p, Party::Reviewer | Party::Decider)) {
        assignees(s, &d.case)
            .await?
            .into_iter()
            .map(|st| (st.account_id, st.name))
            .collect()
    } else {
        vec![]
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        CasePage {
            handler_name,
            assignees,
            base: Base::new(s, headers, uri, ctx).await,
            d,
            staff,
            parties,
            errors,
            done,
            materials,
            form,
            corrections,
            special_kinds: SpecialKind::ALL.to_vec(),
            delivery_methods: DeliveryMethod::ALL.to_vec(),
            steps,
        },
    )
        .into_response())
}

fn ctx_name<T: Named>(headers: &HeaderMap, x: &T) -> String {
    crate::i18n::Prefs::from_headers(headers).lang.name(x).to_string()
}

#[derive(Debug, Default, Deserialize)]
struct CaseQuery {
    submitted: Option<String>,
}

async fn my_case_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Response> {
    let row = my_case(&s, &ctx, &id).await?;
    let done = q.submitted.map(|_| "submitted".to_string());
    render_case(&s, &ctx, &headers, &uri, row, false, vec![], done).await
}

/// The applicant's forms on the case page: withdraw; correct or hand in materials that
/// follow (uploads and, for a correction, the form's fields again).
async fn my_case_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    mp: Multipart,
) -> ApiResult<Response> {
    let row = my_case(&s, &ctx, &id).await?;
    let (values, mut errors) = read_application_form(&s, &ctx, mp).await?;
    let intent = values.get("intent").cloned().unwrap_or_default();
    let result = match intent.as_str() {
        "withdraw" => Some(
            cases::act(
                &s.store,
                ctx.meta(),
                &id,
                Party::Applicant,
                Action::Withdraw {
                    reason: values.get("reason").cloned().unwrap_or_default(),
                },
            )
            .await,
        ),
        "resubmit" if errors.is_empty() => {
            // The application as it was, with the new uploads and answers on top.
            let (mut app, _) = cases::application(&s.store, &id).await?.ok_or_else(not_found)?;
            let version = yiwang_store::catalog::version_of(&s.store, &row.entry_id, row.item_version)
                .await?
                .ok_or_else(not_found)?;
            let fields = field_views(&s, &version.elements).await?;
            let update = application_of(&values, &fields, &version.elements);
            for (k, v) in update.form {
                app.form.insert(k, v);
            }
            for (k, p) in update.materials {
                app.materials.insert(k, p);
            }
            Some(cases::resubmit(&s.store, ctx.meta(), &id, app).await)
        }
        _ => None,
    };
    let done = match result {
        Some(Ok(_)) => Some(intent),
        Some(Err(e)) => {
            errors.extend(ApiError::from(e).into_field_errors());
            None
        }
        None => None,
    };
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    render_case(&s, &ctx, &headers, &uri, row, false, errors, done).await
}

// ---------------------------------------------------------------------------------------
// Pages: staff
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "inbox.html")]
struct InboxPage {
    base: Base,
    rows: Vec<InboxRow>,
    tasks: Vec<Task>,
    /// The province's yellow threshold (`[cases] yellow_percent`).
    yellow_percent: i64,
}

impl InboxPage {
    fn name<T: Named>(&self, x: &T) -> &'static str {
        self.base.lang.name(x)
    }
    fn light_class(&self, r: &InboxRow) -> &'static str {
        match r.light {
            Some(Light::Red) => "red",
            Some(Light::Yellow) => "yellow",
            Some(Light::Green) => "green",
            None => "none",
        }
    }
    fn task_name(&self, k: &str) -> &'static str {
        match k {
            "commitment_check" => self.base.lang.pick("告知承诺核查", "commitment check"),
            "tolerance_due" => self.base.lang.pick("容缺材料补交期限", "materials to follow due"),
            "terminate_review" => self
                .base
                .lang
                .pick("容缺逾期：审查是否终止", "materials overdue: consider termination"),
            _ => "",
        }
    }
}

async fn inbox_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<Response> {
    let (rows, tasks) = inbox(&s, &ctx).await?;
    Ok(InboxPage {
        base: Base::new(&s, &headers, &uri, &ctx).await,
        rows,
        tasks,
        yellow_percent: s.store.config.cases.yellow_percent,
    }
    .into_response())
}

async fn work_case_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    log_staff_read(&s, &ctx, &row).await?;
    render_case(&s, &ctx, &headers, &uri, row, true, vec![], None).await
}

/// Builds a staff action from the case page's form.
fn action_of(f: &BTreeMap<String, String>) -> Result<Action, FieldError> {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let bad = |field: &str| FieldError::new(field, "required", "请选择或填写此项", "choose or fill this in");
    Ok(match get("action").as_str() {
        "accept" => Action::Accept,
        "refuse" => Action::Refuse {
            reason: get("reason"),
            basis: get("basis"),
        },
        "request_correction" => Action::RequestCorrection {
            // One line per item: `what: problem`.
            items: get("items")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (t, p) = l.split_once(['：', ':']).unwrap_or((l, ""));
                    CorrectionItem {
                        target: t.trim().into(),
                        problem: p.trim().into(),
                    }
                })
                .collect(),
        },
        "claim" => Action::Claim,
        "assign" => Action::Assign { to: get("to") },
        "complete" => Action::Complete {
            opinion: get("opinion"),
        },
        "return" => Action::Return {
            to_step: get("to_step").parse().map_err(|_| bad("to_step"))?,
            opinion: get("opinion"),
        },
        "start_special" => Action::StartSpecial {
            kind: SpecialKind::parse(&get("kind")).ok_or_else(|| bad("kind"))?,
            reason: get("reason"),
        },
        "end_special" => Action::EndSpecial { result: get("result") },
        "approve" => Action::Decide {
            approve: true,
            reason: get("reason"),
        },
        "deny" => Action::Decide {
            approve: false,
            reason: get("reason"),
        },
        "deliver" => {
            let method = DeliveryMethod::parse(&get("method")).ok_or_else(|| bad("method"))?;
            Action::Deliver {
                method,
                post: (method == DeliveryMethod::Post).then(|| PostDetail {
                    address: get("address"),
                    tracking_no: get("tracking_no"),
                    payer: get("payer"),
                }),
            }
        }
        "terminate" => Action::Terminate { reason: get("reason") },
        "void" => Action::Void { reason: get("reason") },
        _ => return Err(bad("action")),
    })
}

async fn work_case_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let f: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k != "_csrf")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut errors = vec![];
    let mut done = None;
    if let Some(task_id) = f.get("task_id") {
        let b = TaskBody {
            outcome: f.get("outcome").cloned().unwrap_or_default(),
            false_commitment: f.contains_key("false_commitment"),
        };
        match complete_task(&s, &ctx, task_id, &b).await {
            Ok(_) => done = Some("task".to_string()),
            Err(e) => errors = e.into_field_errors(),
        }
    } else {
        match action_of(&f) {
            Ok(a) => {
                let name = a.name().to_string();
                match staff_act(&s, &ctx, &id, a).await {
                    Ok(_) => done = Some(name),
                    Err(e) => errors = e.into_field_errors(),
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let row = cases::case(&s.store, &id).await?.ok_or_else(not_found)?;
    render_case(&s, &ctx, &headers, &uri, row, true, errors, done).await
}

/// The scheduler's loop while serving: 《行政许可法》第三十二条 deemed acceptance and
/// overdue materials to follow, every `every`.
pub async fn scheduler(
    store: std::sync::Arc<yiwang_store::Store>,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match cases::tick(&store, yiwang_store::today()).await {
            Ok(t) if !t.deemed_accepted.is_empty() || !t.tolerance_overdue.is_empty() => {
                tracing::info!(
                    deemed = t.deemed_accepted.len(),
                    overdue = t.tolerance_overdue.len(),
                    "case scheduler"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "case scheduler"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pages: the comprehensive window (综合窗口)
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "window.html")]
struct WindowPage {
    base: Base,
    id_number: String,
    uscc: String,
    item: String,
    errors: Vec<FieldError>,
}

impl WindowPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
}

#[derive(Debug, Default, Deserialize)]
struct WindowQuery {
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    uscc: String,
    #[serde(default)]
    item: String,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// Finds the applicant at the window: a person by resident ID number (the read goes into
/// their data-use log, purpose 窗口受理) or an enterprise by credit code.
async fn window_applicant(s: &AppState, ctx: &Ctx, id_number: &str, uscc: &str) -> ApiResult<WindowApplicant> {
    let unregistered = |field: &str| {
        ApiError::from(StoreError::from(DomainError::invalid(vec![FieldError::new(
            field,
            "applicant.unregistered",
            "未找到该办事人：请先为其注册（帮办注册），或核对号码",
            "no such applicant: register them first (assisted registration) or check the number",
        )])))
    };
    if !id_number.trim().is_empty() {
        let p = yiwang_store::accounts::person_by_id_number(&s.store, id_number.trim())
            .await?
            .ok_or_else(|| unregistered("id_number"))?;
        yiwang_store::datause::read_person(&s.store, ctx.meta(), &ctx.reader(), &p, &[], Some("窗口受理"), None)
            .await?;
        return Ok(WindowApplicant {
            subject: Subject::Person(p.id.clone()),
            name: p.name.clone(),
            lookup: ("id_number", id_number.trim().to_string()),
        });
    }
    if !uscc.trim().is_empty() {
        let l = yiwang_store::accounts::legal_by_uscc(&s.store, uscc.trim())
            .await?
            .ok_or_else(|| unregistered("uscc"))?;
        return Ok(WindowApplicant {
            subject: Subject::Legal(l.id.clone()),
            name: l.name.clone(),
            lookup: ("uscc", uscc.trim().to_uppercase()),
        });
    }
    Err(ApiError::from(StoreError::from(DomainError::invalid(vec![
        FieldError::new(
            "id_number",
            "required",
            "请填写办事人的公民身份号码或企业的统一社会信用代码",
            "give the applicant's resident ID number or the enterprise's credit code",
        ),
    ]))))
}

async fn window_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<WindowQuery>,
) -> ApiResult<Response> {
    let lookup_form = |base: Base, errors: Vec<FieldError>| WindowPage {
        id_number: q.id_number.clone(),
        uscc: q.uscc.clone(),
        item: q.item.clone(),
        errors,
        base,
    };
    if q.item.trim().is_empty() && q.id_number.is_empty() && q.uscc.is_empty() {
        let base = Base::new(&s, &headers, &uri, &ctx).await;
        return Ok(lookup_form(base, vec![]).into_response());
    }
    let found = async {
        let w = window_applicant(&s, &ctx, &q.id_number, &q.uscc).await?;
        let service = window_service(&s, &ctx, &q.item).await?;
        Ok::<_, ApiError>((w, service))
    }
    .await;
    match found {
        Ok((w, service)) => {
            let answers: BTreeMap<String, String> = q
                .rest
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("q.").map(|k| (k.to_string(), v.clone())))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let mut values = BTreeMap::new();
            for (k, v) in cases::prefill(
                &s.store,
                &w.subject,
                &service.elements,
                &cases::dictionary(&s.store).await?,
            )
            .await?
            {
                values.insert(format!("form.{k}"), v);
            }
            render_apply(
                &s,
                &ctx,
                &headers,
                &uri,
                &service.code,
                answers,
                values,
                vec![],
                String::new(),
                false,
                Some(w),
            )
            .await
        }
        Err(e) => {
            let base = Base::new(&s, &headers, &uri, &ctx).await;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                lookup_form(base, e.into_field_errors()),
            )
                .into_response())
        }
    }
}

/// A window clerk submits the application for the applicant (帮办, channel 窗口): paper
/// materials with the originals checked, scans uploaded, licences from the applicant's wallet.
async fn window_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    mp: Multipart,
) -> ApiResult<Response> {
    let (values, mut errors) = read_application_form(&s, &ctx, mp).await?;
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    let w = window_applicant(&s, &ctx, &get("id_number"), &get("uscc")).await?;
    let code = get("item");
    let service = cases::service_for(&s.store, &code).await?;
    let fields = field_views(&s, &service.elements).await?;
    let app = application_of(&values, &fields, &service.elements);
    let answers = app.answers.clone();
    if errors.is_empty() {
        let body = WindowBody {
            item_code: code.clone(),
            applicant: w.subject.key(),
            application: app,
            assisted: true,
        };
        match window_submit(&s, &ctx, &body, ctx.meta()).await {
            Ok(v) => {
                let id = v.value["id"].as_str().unwrap_or_default();
                return Ok(Redirect::to(&format!("/work/cases/{id}")).into_response());
            }
            Err(e) => errors.extend(e.into_field_errors()),
        }
    }
    render_apply(
        &s,
        &ctx,
        &headers,
        &uri,
        &code,
        answers,
        values,
        errors,
        String::new(),
        false,
        Some(w),
    )
    .await
}
