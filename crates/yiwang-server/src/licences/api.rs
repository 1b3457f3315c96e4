//! The licence API: types, issuing, managing, wallet.

use super::*;

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

pub(super) async fn define(s: &AppState, ctx: &Ctx, department_id: String, t: LicenceType) -> ApiResult<Value> {
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

pub(super) async fn issue(s: &AppState, ctx: &Ctx, input: IssueInput) -> ApiResult<Value> {
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

pub(super) async fn issued(s: &AppState, ctx: &Ctx, department_id: Option<&str>) -> ApiResult<Vec<LicenceSummary>> {
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

pub(super) async fn detail(
    s: &AppState,
    sum: LicenceSummary,
    file: LicenceFile,
    pdf_url: String,
) -> ApiResult<LicenceDetail> {
    Ok(LicenceDetail {
        history: licences::history_of(&s.store, &sum.id).await?,
        grants: licences::grants_of(&s.store, &sum.id).await?,
        verify_url: verify_url(s, &sum.id),
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

pub(super) async fn issuer_pdf(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
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

pub(super) async fn holder_pdf(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
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

pub(super) async fn present(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Presented> {
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

pub(super) async fn grant(s: &AppState, ctx: &Ctx, id: &str, b: GrantBody) -> ApiResult<Value> {
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
