//! The data-sharing catalogue (数据资源目录): resources, loads, requests and the owner's
//! answers, reads under a grant. API and the departments' page call the same store
//! services (`yiwang_store::sharing`).

use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::{Base, Page};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::access::Permission;
use yiwang_core::error::{DomainError, FieldError};
use yiwang_core::policies::{AttrType, Audience};
use yiwang_core::sharing::{
    Decision, FieldDef, Frequency, Grant, RequestInput, ResourceInput, SharingClass, SharingPolicy,
};
use yiwang_store::sharing::{self, LoadSource, Loaded, Resource, SharedPart};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_resources, api_define))
        .routes(routes!(api_load))
        .routes(routes!(api_requests, api_request))
        .routes(routes!(api_decide))
        .routes(routes!(api_accesses))
        .routes(routes!(api_read))
        .routes(routes!(api_profile))
        .route("/work/data", get(page))
        .route("/work/data/resources", post(define_form))
        .route("/work/data/resources/{code}/rows", post(load_form))
        .route("/work/data/requests", post(request_form))
        .route("/work/data/requests/{request_id}/decision", post(decide_form))
        .route("/work/data/profile", post(profile_form))
}

/// The department a staff member or a department's token acts for.
pub(crate) fn acting_department(ctx: &Ctx) -> ApiResult<String> {
    ctx.staff
        .as_ref()
        .map(|s| s.department_id.clone())
        .or_else(|| ctx.token.as_ref().and_then(|t| t.department_id.clone()))
        .ok_or_else(|| {
            crate::error::forbidden_error(
                "department.required",
                "须以部门工作人员或部门令牌操作".into(),
                "this is done for a department: log in as its staff or use its token".into(),
            )
        })
}

/// The acting department, with `p` checked over it.
async fn own_department(s: &AppState, ctx: &Ctx, p: Permission) -> ApiResult<String> {
    let d = acting_department(ctx)?;
    ctx.require(p, &crate::accounts::department_target(s, &d).await?)?;
    Ok(d)
}

fn invalid(e: DomainError) -> ApiError {
    ApiError::from(yiwang_store::StoreError::from(e))
}

/// The catalogue of data resources (their descriptions; never their data).
#[utoipa::path(get, path = "/api/v1/data/resources", tag = "sharing", responses((status = 200, body = Vec<Object>)))]
pub async fn api_resources(State(s): State<AppState>) -> ApiResult<Json<Vec<Resource>>> {
    Ok(Json(sharing::resources(&s.store).await?))
}

/// A department publishes a resource it owns.
#[utoipa::path(post, path = "/api/v1/data/resources", tag = "sharing", request_body = ResourceInput,
    responses((status = 201, body = Object), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_define(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<ResourceInput>,
) -> ApiResult<(StatusCode, Json<Resource>)> {
    let owner = own_department(&s, &ctx, Permission::DataShare).await?;
    let r = sharing::define(&s.store, ctx.meta(), &owner, body.value).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadBody {
    /// Rows as objects: the subject's `id_number` (persons) or `uscc` (enterprises) and fields.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Map<String, Value>>,
    /// Or a CSV text whose header names the same columns (a batch import).
    #[serde(default)]
    pub csv: Option<String>,
}

/// Only the owner department (as the actor acts for it) does this to what it owns.
async fn as_owner(s: &AppState, ctx: &Ctx, owner: &str, rule: &str, zh: &str, en: &str) -> ApiResult<()> {
    ctx.require(
        Permission::DataShare,
        &crate::accounts::department_target(s, owner).await?,
    )?;
    if acting_department(ctx)? != owner {
        return Err(crate::error::forbidden_error(rule, zh.into(), en.into()));
    }
    Ok(())
}

async fn owned_resource(s: &AppState, ctx: &Ctx, code: &str) -> ApiResult<Resource> {
    let r = sharing::resource(&s.store, code)
        .await?
        .ok_or_else(|| ApiError::not_found("data resource"))?;
    as_owner(
        s,
        ctx,
        &r.owner,
        "resource.owner",
        "只有资源的所属部门可以加载数据",
        "only the owner department loads a resource's data",
    )
    .await?;
    Ok(r)
}

/// Loads rows as the resource's next version (push: `rows`; batch import: `csv`). Every
/// row is checked first; one bad row and nothing is written (errors name `rows[i].field`).
#[utoipa::path(post, path = "/api/v1/data/resources/{code}/rows", tag = "sharing", request_body = LoadBody,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_load(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: ApiJson<LoadBody>,
) -> ApiResult<Json<Loaded>> {
    owned_resource(&s, &ctx, &code).await?;
    let b = body.value;
    let (rows, source) = match b.csv {
        Some(text) => (sharing::csv_rows(&text)?, LoadSource::Import),
        None => (b.rows, LoadSource::Push),
    };
    Ok(Json(
        sharing::load(&s.store, ctx.meta(), &code, &rows, source, &SharingPolicy::default()).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestsQuery {
    /// `owner`: requests this department must answer; otherwise those it made.
    #[serde(rename = "as")]
    as_: Option<String>,
}

/// Requests the acting department made, or must answer (`?as=owner`).
#[utoipa::path(get, path = "/api/v1/data/requests", params(RequestsQuery), tag = "sharing", responses((status = 200, body = Vec<Object>)))]
pub async fn api_requests(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<RequestsQuery>,
) -> ApiResult<Json<Vec<Grant>>> {
    let d = own_department(&s, &ctx, Permission::DataShare).await?;
    Ok(Json(
        sharing::requests(&s.store, &d, q.as_.as_deref() == Some("owner")).await?,
    ))
}

/// The acting department asks for a resource (fields, purpose, legal basis, period).
#[utoipa::path(post, path = "/api/v1/data/requests", tag = "sharing", request_body = RequestInput,
    responses((status = 201, body = Object), (status = 422, body = crate::error::Problem)))]
pub async fn api_request(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<RequestInput>,
) -> ApiResult<(StatusCode, Json<Grant>)> {
    let d = own_department(&s, &ctx, Permission::DataShare).await?;
    let g = sharing::request(&s.store, ctx.meta(), &d, body.value, &SharingPolicy::default()).await?;
    Ok((StatusCode::CREATED, Json(g)))
}

async fn owner_of_request(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Grant> {
    let g = sharing::grant(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("sharing request"))?;
    as_owner(
        s,
        ctx,
        &g.owner,
        "request.owner",
        "只有资源的所属部门可以审核共享申请",
        "only the resource's owner answers a request for it",
    )
    .await?;
    Ok(g)
}

/// The owner approves, narrows, refuses, or later revokes.
#[utoipa::path(post, path = "/api/v1/data/requests/{request_id}/decision", tag = "sharing", request_body = Decision,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn api_decide(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<Decision>,
) -> ApiResult<Json<Grant>> {
    owner_of_request(&s, &ctx, &id).await?;
    Ok(Json(sharing::decide(&s.store, ctx.meta(), &id, body.value).await?))
}

/// The logged uses of a grant (its requester and its owner see them).
#[utoipa::path(get, path = "/api/v1/data/requests/{request_id}/accesses", tag = "sharing", responses((status = 200, body = Vec<Object>)))]
pub async fn api_accesses(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Json<Vec<Value>>> {
    let g = sharing::grant(&s.store, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("sharing request"))?;
    let d = own_department(&s, &ctx, Permission::DataShare).await?;
    if d != g.owner && d != g.requester {
        return Err(ApiError::not_found("sharing request"));
    }
    Ok(Json(sharing::accesses(&s.store, &id, 500).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// The subject's resident ID number or USCC.
    pub subject: String,
    pub purpose: String,
    pub fields: Vec<String>,
}

/// Reads one subject's fields under the department's grant for that purpose: refused
/// outside the grant's purpose, period or fields; logged first (and in a person's
/// data-use log).
#[utoipa::path(post, path = "/api/v1/data/resources/{code}/read", tag = "sharing", request_body = ReadBody,
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem)))]
pub async fn api_read(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    body: ApiJson<ReadBody>,
) -> ApiResult<Json<Map<String, Value>>> {
    let d = own_department(&s, &ctx, Permission::DataShare).await?;
    let b = body.value;
    Ok(Json(
        sharing::read_subject(
            &s.store,
            ctx.meta(),
            &ctx.reader(),
            &d,
            &code,
            &b.subject,
            &b.purpose,
            &b.fields,
        )
        .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// The subject's resident ID number or USCC.
    pub subject: String,
    pub purpose: String,
}

/// A subject's profile as this department may see it for one purpose (一人一档 /
/// 一企一档, staff view): the granted fields of every resource it holds a grant in force
/// for that purpose, each read logged first; nothing else.
#[utoipa::path(post, path = "/api/v1/data/profile", tag = "sharing", request_body = ProfileBody,
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_profile(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<ProfileBody>,
) -> ApiResult<Json<Vec<SharedPart>>> {
    let d = own_department(&s, &ctx, Permission::DataShare).await?;
    let b = body.value;
    Ok(Json(
        sharing::staff_profile(&s.store, ctx.meta(), &ctx.reader(), &d, &b.subject, &b.purpose).await?,
    ))
}

// ---------------------------------------------------------------- the page

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "work_data.html")]
struct DataPage {
    base: Base,
    department: String,
    resources: Vec<Resource>,
    made: Vec<Grant>,
    to_answer: Vec<Grant>,
    errors: Vec<FieldError>,
    /// Which form the errors belong to.
    form: String,
    notice: Option<String>,
    classes: &'static [SharingClass],
    frequencies: &'static [Frequency],
    today: String,
    /// The purposes of the department's grants in force (the staff profile form's choices).
    purposes: Vec<String>,
    /// A subject's profile read under a grant, with the masked subject it is of.
    profile: Option<(String, Vec<SharedPart>)>,
}

crate::page!(DataPage);

impl DataPage {
    fn resource_name(&self, code: &str) -> String {
        self.resources
            .iter()
            .find(|r| r.code == code)
            .map_or_else(|| code.to_string(), |r| r.name.clone())
    }
    fn type_name(&self, t: &AttrType) -> &'static str {
        self.base.lang.pick(t.name_zh(), t.name_en())
    }
    fn fields_text(&self, g: &Grant) -> String {
        g.fields.join(self.base.lang.pick("、", ", "))
    }
    fn owned(&self, r: &Resource) -> bool {
        r.owner == self.department
    }
    fn value_text(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(self.base.lang.pick("、", ", ")),
            Value::Bool(b) => self
                .base
                .lang
                .pick(if *b { "是" } else { "否" }, if *b { "yes" } else { "no" })
                .into(),
            other => other.to_string(),
        }
    }
}

async fn render(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    form: &str,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> ApiResult<Response> {
    render_with(s, ctx, base, form, errors, notice, None).await
}

#[allow(clippy::too_many_arguments)]
async fn render_with(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    form: &str,
    errors: Vec<FieldError>,
    notice: Option<String>,
    profile: Option<(String, Vec<SharedPart>)>,
) -> ApiResult<Response> {
    let d = acting_department(ctx)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let made = sharing::requests(&s.store, &d, false).await?;
    let today = yiwang_store::today();
    let mut purposes: Vec<String> = made
        .iter()
        .filter(|g| g.status.usable() && g.valid_from <= today && today <= g.valid_until)
        .map(|g| g.purpose.clone())
        .collect();
    purposes.sort();
    purposes.dedup();
    let page = DataPage {
        base,
        resources: sharing::resources(&s.store).await?,
        made,
        purposes,
        profile,
        to_answer: sharing::requests(&s.store, &d, true).await?,
        department: d,
        errors,
        form: form.to_string(),
        notice,
        classes: SharingClass::ALL,
        frequencies: Frequency::ALL,
        today: today.to_string(),
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
struct ProfileForm {
    subject: String,
    purpose: String,
}

/// The staff view of a subject's profile under the department's grants for a purpose.
async fn profile_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<ProfileForm>,
) -> ApiResult<Response> {
    let d = own_department(&s, &ctx, Permission::DataShare).await?;
    match sharing::staff_profile(&s.store, ctx.meta(), &ctx.reader(), &d, &f.subject, &f.purpose).await {
        Ok(parts) => {
            let id = f.subject.trim();
            let masked = format!(
                "{}…{}",
                id.get(..6).unwrap_or(id),
                id.get(id.len().saturating_sub(4)..).unwrap_or("")
            );
            render_with(&s, &ctx, base, "profile", vec![], None, Some((masked, parts))).await
        }
        Err(e) => answer(&s, &ctx, base, "profile", Err(e.into())).await,
    }
}

async fn page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    own_department(&s, &ctx, Permission::DataShare).await?;
    render(&s, &ctx, base, "", vec![], None).await
}

/// Turns a refusal into the page's error list; anything else stays an error.
async fn answer(s: &AppState, ctx: &Ctx, base: Base, form: &str, r: ApiResult<String>) -> ApiResult<Response> {
    match r {
        Ok(notice) => render(s, ctx, base, form, vec![], Some(notice)).await,
        Err(e)
            if e.status == StatusCode::UNPROCESSABLE_ENTITY
                || e.status == StatusCode::CONFLICT
                || e.status == StatusCode::FORBIDDEN =>
        {
            render(s, ctx, base, form, e.errors, None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct DefineForm {
    code: String,
    name: String,
    name_en: String,
    audience: String,
    sharing: String,
    frequency: String,
    legal_basis: String,
    /// One field a line: `name, type, 中文名, English name`.
    fields: String,
}

/// Reads the field lines of the define form.
fn field_lines(text: &str) -> Result<Vec<FieldDef>, DomainError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        let parts: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
        match (parts.as_slice(), parts.get(1).and_then(|t| AttrType::parse(t))) {
            ([name, _, zh, en], Some(ty)) => out.push(FieldDef {
                name: name.to_string(),
                ty,
                zh: zh.to_string(),
                en: en.to_string(),
            }),
            _ => errors.push(FieldError::new(
                format!("fields[{i}]"),
                "resource.field_line",
                format!(
                    "第 {} 行应为：名称, 类型（int、double、string、bool、string_list）, 中文名, 英文名",
                    i + 1
                ),
                format!(
                    "line {} is: name, type (int, double, string, bool, string_list), Chinese name, English name",
                    i + 1
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DomainError::invalid(errors))
    }
}

fn parse_or<T>(v: Option<T>, field: &str) -> Result<T, DomainError> {
    v.ok_or_else(|| DomainError::invalid(vec![FieldError::new(field, "choice", "请选择一项", "choose one")]))
}

async fn define_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<DefineForm>,
) -> ApiResult<Response> {
    let r = async {
        let owner = own_department(&s, &ctx, Permission::DataShare).await?;
        let input = ResourceInput {
            code: f.code.trim().to_string(),
            name: f.name,
            name_en: f.name_en,
            audience: parse_or(Audience::parse(&f.audience), "audience").map_err(invalid)?,
            fields: field_lines(&f.fields).map_err(invalid)?,
            sharing: parse_or(SharingClass::parse(&f.sharing), "sharing").map_err(invalid)?,
            frequency: parse_or(Frequency::parse(&f.frequency), "frequency").map_err(invalid)?,
            legal_basis: f.legal_basis,
        };
        let r = sharing::define(&s.store, ctx.meta(), &owner, input).await?;
        Ok(format!("{}（{}）", r.name, r.code))
    }
    .await;
    answer(&s, &ctx, base, "define", r).await
}

#[derive(Deserialize)]
struct LoadForm {
    csv: String,
}

async fn load_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(code): Path<String>,
    Form(f): Form<LoadForm>,
) -> ApiResult<Response> {
    let r = async {
        owned_resource(&s, &ctx, &code).await?;
        let rows = sharing::csv_rows(&f.csv)?;
        let l = sharing::load(
            &s.store,
            ctx.meta(),
            &code,
            &rows,
            LoadSource::Import,
            &SharingPolicy::default(),
        )
        .await?;
        Ok(format!("{} v{} · {}", l.resource, l.version, l.rows))
    }
    .await;
    answer(&s, &ctx, base, &format!("load-{code}"), r).await
}

#[derive(Deserialize)]
struct RequestForm {
    resource: String,
    fields: String,
    purpose: String,
    legal_basis: String,
    valid_from: String,
    valid_until: String,
}

fn date(field: &str, v: &str) -> Result<chrono::NaiveDate, DomainError> {
    v.trim().parse().map_err(|_| {
        DomainError::invalid(vec![FieldError::new(
            field,
            "date",
            "日期格式为 YYYY-MM-DD",
            "a date is YYYY-MM-DD",
        )])
    })
}

async fn request_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<RequestForm>,
) -> ApiResult<Response> {
    let r = async {
        let d = own_department(&s, &ctx, Permission::DataShare).await?;
        let input = RequestInput {
            resource: f.resource,
            fields: f
                .fields
                .split([',', '，', ' ', '、'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
            purpose: f.purpose,
            legal_basis: f.legal_basis,
            valid_from: date("valid_from", &f.valid_from).map_err(invalid)?,
            valid_until: date("valid_until", &f.valid_until).map_err(invalid)?,
        };
        let g = sharing::request(&s.store, ctx.meta(), &d, input, &SharingPolicy::default()).await?;
        Ok(format!("{} · {}", g.resource, g.status.as_str()))
    }
    .await;
    answer(&s, &ctx, base, "request", r).await
}

#[derive(Deserialize, Serialize)]
struct DecideForm {
    decision: String,
    #[serde(default)]
    fields: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    reason: String,
}

async fn decide_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> ApiResult<Response> {
    let r = async {
        owner_of_request(&s, &ctx, &id).await?;
        let decision = match f.decision.as_str() {
            "approve" => Decision::Approve,
            "narrow" => Decision::Narrow {
                fields: f
                    .fields
                    .split([',', '，', ' ', '、'])
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect(),
                valid_until: date("valid_until", &f.valid_until).map_err(invalid)?,
            },
            "refuse" => Decision::Refuse { reason: f.reason },
            "revoke" => Decision::Revoke { reason: f.reason },
            _ => return Err(invalid(parse_or::<()>(None, "decision").unwrap_err())),
        };
        let g = sharing::decide(&s.store, ctx.meta(), &id, decision).await?;
        Ok(format!("{} · {}", g.resource, g.status.as_str()))
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to("/work/data").into_response()),
        Err(_) => answer(&s, &ctx, base, &format!("decide-{id}"), r).await,
    }
}
