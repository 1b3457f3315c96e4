//! The catalogue over HTTP: the public services (search, guides, the questionnaire, the
//! lists 清单, the data-element dictionary) and the management API (entries, drafts,
//! submit / recall / discard / publish / return, history and diffs, level differences,
//! import and export). The pages are in `pages` (public) and `manage` (managers); all of
//! them call the same store and search functions.

pub mod manage;
pub mod pages;

use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey};
use crate::{AppState, submit};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use yiwang_core::access::{Permission, Target};
use yiwang_core::catalog::{self as core, Action, Audience, DataElement, Elements, EntryKind, TongbanScope};
use yiwang_core::{DomainError, FieldError};
use yiwang_store::catalog::{self as store, Cmd, Dates, ExportState, ListKind, Service, ServiceFilter, sheets};
use yiwang_store::{Command, StoreError, now_ms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/services", get(api_search))
        .route("/api/v1/services/{service_code}", get(api_guide))
        .route("/api/v1/services/{service_code}/materials", get(api_materials))
        .route("/api/v1/catalog/lists/{kind}", get(api_list))
        .route("/api/v1/catalog/data-elements", get(api_data_elements))
        .route(
            "/api/v1/catalog/data-elements/{element_code}",
            put(api_save_data_element),
        )
        .route("/api/v1/catalog/entries", get(api_entries))
        .route("/api/v1/catalog/basic", post(api_create_basic))
        .route("/api/v1/catalog/items", post(api_create_item))
        .route("/api/v1/catalog/entries/{entry_id}", get(api_entry))
        .route(
            "/api/v1/catalog/entries/{entry_id}/versions/{version}",
            get(api_version),
        )
        .route("/api/v1/catalog/entries/{entry_id}/diff", get(api_diff))
        .route("/api/v1/catalog/entries/{entry_id}/history", get(api_history))
        .route("/api/v1/catalog/entries/{entry_id}/draft", put(api_save_draft))
        .route("/api/v1/catalog/entries/{entry_id}/submit", post(api_submit))
        .route("/api/v1/catalog/entries/{entry_id}/recall", post(api_recall))
        .route("/api/v1/catalog/entries/{entry_id}/discard", post(api_discard))
        .route("/api/v1/catalog/entries/{entry_id}/publish", post(api_publish))
        .route("/api/v1/catalog/entries/{entry_id}/return", post(api_return))
        .route("/api/v1/catalog/review", get(api_review))
        .route("/api/v1/catalog/differences/{basic_code}", get(api_differences))
        .route(
            "/api/v1/catalog/import",
            post(api_import).layer(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/api/v1/catalog/export", get(api_export))
        .merge(pages::routes())
        .merge(manage::routes())
}

/// Largest import file (32 MiB): a whole province's catalogue as xlsx is a few MiB.
pub const IMPORT_LIMIT: usize = 32 << 20;

fn invalid(e: FieldError) -> ApiError {
    ApiError::from(StoreError::from(DomainError::invalid(vec![e])))
}

// ---------------------------------------------------------------------------------------
// Public: search, guides, questionnaire, lists, dictionary
// ---------------------------------------------------------------------------------------

/// Search parameters (the portal's search box and facets).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// What to look for, in everyday words (e.g. 生孩子要办什么).
    #[serde(default)]
    pub q: Option<String>,
    /// Department name.
    #[serde(default)]
    pub department: Option<String>,
    /// Region code: items of the region and below.
    #[serde(default)]
    pub region: Option<String>,
    /// `person` (自然人) or `legal` (法人).
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub theme: Option<String>,
    /// At least this many stars of online depth (1–5).
    #[serde(default)]
    pub min_stars: Option<u8>,
    /// Only items handled fully online (全程网办).
    #[serde(default)]
    pub full_online: Option<bool>,
    /// 1–100, default 20.
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub offset: Option<usize>,
}

/// The `audience` parameter: person (自然人) or legal (法人); empty means both.
fn audience_param(a: Option<&str>) -> Result<Option<Audience>, ApiError> {
    match a.filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(a) => Audience::parse(a).map(Some).ok_or_else(|| {
            ApiError::bad_request(FieldError::new(
                "audience",
                "type",
                "服务对象应为 person（自然人）或 legal（法人）",
                "audience is person or legal",
            ))
        }),
    }
}

/// The `region` parameter: a GB/T 2260 code (checked), or empty.
fn region_param(r: Option<&str>) -> Result<(), ApiError> {
    if let Some(r) = r.filter(|r| !r.is_empty()) {
        yiwang_core::regions::level_of("region", r).map_err(ApiError::bad_request)?;
    }
    Ok(())
}

impl SearchParams {
    /// The search query, or the parameter that is wrong.
    pub fn to_query(&self) -> Result<yiwang_search::SearchQuery, ApiError> {
        let audience = audience_param(self.audience.as_deref())?;
        region_param(self.region.as_deref())?;
        if self.min_stars.is_some_and(|s| s > 5) {
            return Err(ApiError::bad_request(FieldError::new(
                "min_stars",
                "range",
                "星级为 1–5",
                "stars are 1–5",
            )));
        }
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::bad_request(FieldError::new(
                "limit",
                "range",
                "每页 1–100 条",
                "limit is 1–100",
            )));
        }
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 100) {
            return Err(ApiError::bad_request(FieldError::new(
                "q",
                "max_length",
                "搜索词最多 100 个字",
                "a search is at most 100 characters",
            )));
        }
        let nonempty = |s: &Option<String>| s.clone().filter(|x| !x.trim().is_empty());
        Ok(yiwang_search::SearchQuery {
            text: self.q.clone().unwrap_or_default(),
            department: nonempty(&self.department),
            region: nonempty(&self.region),
            audience,
            theme: nonempty(&self.theme),
            min_stars: self.min_stars.filter(|s| *s > 0),
            full_online: self.full_online.unwrap_or(false),
            limit,
            offset: self.offset.unwrap_or(0).min(10_000),
            at_ms: now_ms(),
        })
    }
}

/// Runs a search off the async threads (tantivy reads are blocking).
pub async fn run_search(s: &AppState, q: yiwang_search::SearchQuery) -> ApiResult<yiwang_search::Results> {
    let ix = s.search.clone();
    tokio::task::spawn_blocking(move || ix.search(&q))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "search failed");
            ApiError::internal()
        })
}

/// Searches the published items in force: words are segmented (jieba), stop words
/// dropped and synonyms added; results carry highlights and facet counts.
#[utoipa::path(get, path = "/api/v1/services", params(SearchParams), tag = "catalog",
    responses((status = 200, body = Object), (status = 400, body = Problem)))]
pub async fn api_search(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<yiwang_search::Results>> {
    Ok(Json(run_search(&s, p.to_query()?).await?))
}

/// A guide (办事指南) as the API gives it: the item in force with everything derived.
#[derive(Debug, Serialize)]
pub struct Guide {
    pub code: String,
    pub basic_code: String,
    pub version: i64,
    pub department: Option<yiwang_core::orgs::Department>,
    pub region_code: String,
    pub region_name: Option<String>,
    pub level: Option<&'static str>,
    pub stars: u8,
    pub full_online: bool,
    pub tolerated: bool,
    pub commitment: bool,
    pub charged: bool,
    pub effective_from: String,
    pub until: Option<String>,
    pub elements: Elements,
}

pub async fn guide_of(s: &AppState, code: &str) -> ApiResult<(Service, Guide)> {
    let svc = store::service(&s.store, code, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("service"))?;
    let department = yiwang_store::orgs::department(&s.store.read, &svc.department_id).await?;
    let region_name = yiwang_store::regions::get(&s.store.read, &svc.region_code)
        .await?
        .map(|r| r.name);
    let e = &svc.elements;
    let g = Guide {
        code: svc.code.clone(),
        basic_code: svc.basic_code.clone(),
        version: svc.version,
        department,
        region_code: svc.region_code.clone(),
        region_name,
        level: svc.level.map(|l| l.zh()),
        stars: s.store.config.catalog.stars(e),
        full_online: e.full_online(),
        tolerated: e.tolerated(),
        commitment: e.commitment.is_some(),
        charged: e.charged(),
        effective_from: store::date_of(svc.effective_from).to_string(),
        until: svc.until_ms.map(|u| store::date_of(u).to_string()),
        elements: e.clone(),
    };
    Ok((svc, g))
}

/// The guide of a published item by its implementation code (实施编码).
#[utoipa::path(get, path = "/api/v1/services/{service_code}", tag = "catalog",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_guide(State(s): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<Guide>> {
    Ok(Json(guide_of(&s, &code).await?.1))
}

/// The materials a situation needs.
#[derive(Debug, Serialize)]
pub struct MaterialList {
    pub needed: Vec<core::Material>,
    /// Needed or not depending on questions not yet answered.
    pub depends: Vec<core::Material>,
    pub unanswered: Vec<String>,
}

pub fn material_list(e: &Elements, answers: &BTreeMap<String, String>) -> Result<MaterialList, ApiError> {
    let sel = core::select_materials(e, answers).map_err(|d| ApiError::from(StoreError::from(d)))?;
    Ok(MaterialList {
        needed: sel.needed.into_iter().cloned().collect(),
        depends: sel.depends.into_iter().cloned().collect(),
        unanswered: sel.unanswered.iter().map(|q| q.key.clone()).collect(),
    })
}

/// The exact material list for the answers given as `question=answer` parameters.
#[utoipa::path(get, path = "/api/v1/services/{service_code}/materials", tag = "catalog",
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_materials(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(answers): Query<BTreeMap<String, String>>,
) -> ApiResult<Json<MaterialList>> {
    let svc = store::service(&s.store, &code, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("service"))?;
    Ok(Json(material_list(&svc.elements, &answers)?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(default)]
    pub department_id: Option<String>,
    /// Region code: items of the region and below.
    #[serde(default)]
    pub region: Option<String>,
    /// 通办范围 (national, cross_province, province, cross_city, cross_county).
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    /// Name contains.
    #[serde(default)]
    pub q: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// One row of a list (清单).
#[derive(Debug, Serialize)]
pub struct ListRow {
    pub code: String,
    pub name: String,
    pub item_type: &'static str,
    pub department: String,
    pub region_code: String,
    pub case_kind: &'static str,
    pub statutory_limit: String,
    pub promised_limit: String,
    pub tongban: &'static str,
    pub stars: u8,
    pub full_online: bool,
    pub visits: u32,
    pub commitment: bool,
    pub tolerated: Vec<String>,
    pub special_procedures: Vec<&'static str>,
    pub intermediary_services: Vec<String>,
    pub fees: Vec<String>,
    pub legal_basis: Vec<String>,
}

pub fn list_params(p: &ListParams) -> Result<ServiceFilter, ApiError> {
    let tongban = match p.scope.as_deref().filter(|x| !x.is_empty()) {
        None => None,
        Some(x) => Some(TongbanScope::parse(x).ok_or_else(|| {
            ApiError::bad_request(FieldError::new(
                "scope",
                "type",
                "通办范围应为 national、cross_province、province、cross_city 或 cross_county",
                "scope is national, cross_province, province, cross_city or cross_county",
            ))
        })?),
    };
    let audience = audience_param(p.audience.as_deref())?;
    region_param(p.region.as_deref())?;
    Ok(ServiceFilter {
        list: None,
        department_id: p.department_id.clone().filter(|x| !x.is_empty()),
        region: p.region.clone().filter(|x| !x.is_empty()),
        tongban,
        audience,
        q: p.q.clone().filter(|x| !x.trim().is_empty()),
    })
}

pub fn list_kind(kind: &str) -> Result<ListKind, ApiError> {
    ListKind::parse(kind).ok_or_else(|| {
        let all: Vec<&str> = ListKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "No such list",
            "没有这个清单",
            format!("no list '{kind}'; the lists are {}", all.join(", ")),
        )
        .with(FieldError::new(
            "kind",
            "exists",
            format!("清单应为：{}", all.join("、")),
            format!("the lists are: {}", all.join(", ")),
        ))
    })
}

pub fn list_rows(s: &AppState, services: &[Service]) -> Vec<ListRow> {
    services
        .iter()
        .map(|x| {
            let e = &x.elements;
            ListRow {
                code: x.code.clone(),
                name: e.name.clone(),
                item_type: e.item_type.zh(),
                department: x.department_name.clone(),
                region_code: x.region_code.clone(),
                case_kind: e.case_kind.zh(),
                statutory_limit: e.statutory_limit.as_ref().map(|l| l.text_zh()).unwrap_or_default(),
                promised_limit: e.promised_limit.as_ref().map(|l| l.text_zh()).unwrap_or_default(),
                tongban: e.tongban.zh(),
                stars: s.store.config.catalog.stars(e),
                full_online: e.full_online(),
                visits: e.visits,
                commitment: e.commitment.is_some(),
                tolerated: e
                    .materials
                    .iter()
                    .filter(|m| m.necessity == core::Necessity::Tolerated)
                    .map(|m| m.name.clone())
                    .collect(),
                special_procedures: e.special_procedures.iter().map(|p| p.kind.zh()).collect(),
                intermediary_services: e.intermediary_services.clone(),
                fees: e.fees.iter().map(|f| format!("{}：{}", f.name, f.standard)).collect(),
                legal_basis: e
                    .legal_basis
                    .iter()
                    .map(|b| format!("{}{}", b.law, b.article.clone().unwrap_or_default()))
                    .collect(),
            }
        })
        .collect()
}

/// The list as CSV (UTF-8 with a byte-order mark so Excel opens it in Chinese).
pub fn list_csv(kind: ListKind, rows: &[ListRow]) -> Response {
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let _ = w.write_record([
        "实施编码",
        "事项名称",
        "事项类型",
        "实施主体",
        "行政区划",
        "办件类型",
        "法定办结时限",
        "承诺办结时限",
        "通办范围",
        "网办星级",
        "全程网办",
        "到现场次数",
        "告知承诺",
        "容缺材料",
        "特别程序",
        "中介服务",
        "收费",
        "设定依据",
    ]);
    let yes = |b: bool| if b { "是" } else { "否" };
    for r in rows {
        let _ = w.write_record([
            r.code.as_str(),
            &r.name,
            r.item_type,
            &r.department,
            &r.region_code,
            r.case_kind,
            &r.statutory_limit,
            &r.promised_limit,
            r.tongban,
            &r.stars.to_string(),
            yes(r.full_online),
            &r.visits.to_string(),
            yes(r.commitment),
            &r.tolerated.join("、"),
            &r.special_procedures.join("、"),
            &r.intermediary_services.join("、"),
            &r.fees.join("；"),
            &r.legal_basis.join("；"),
        ]);
    }
    let body = w.into_inner().unwrap_or_default();
    let file = format!("{}.csv", kind.zh());
    download("text/csv; charset=utf-8", &file, body)
}

/// A file download (RFC 6266 with a UTF-8 file name).
pub fn download(content_type: &'static str, file: &str, body: Vec<u8>) -> Response {
    let encoded: String = form_urlencoded::byte_serialize(file.as_bytes()).collect();
    let disposition = format!(
        "attachment; filename=\"download\"; filename*=UTF-8''{}",
        encoded.replace('+', "%20")
    );
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// A list (清单) of items in force: 行政许可事项清单 (licensing), 告知承诺 (commitment), 容缺受理
/// (tolerated), 通办 (tongban, by `scope`), 即办件 (instant), 全程网办 (full_online), 特别程序
/// (special), 中介服务 (intermediary), 收费 (charged), or all; as JSON or CSV.
#[utoipa::path(get, path = "/api/v1/catalog/lists/{kind}", params(ListParams), tag = "catalog",
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn api_list(
    State(s): State<AppState>,
    Path(kind): Path<String>,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Response> {
    let kind = list_kind(&kind)?;
    let mut f = list_params(&p)?;
    f.list = Some(kind);
    let services = store::services(&s.store, &f, now_ms()).await?;
    let rows = list_rows(&s, &services);
    match p.format.as_deref() {
        None | Some("json") => Ok(Json(
            serde_json::json!({ "list": kind.as_str(), "title": kind.zh(), "count": rows.len(), "items": rows }),
        )
        .into_response()),
        Some("csv") => Ok(list_csv(kind, &rows)),
        Some(_) => Err(ApiError::bad_request(FieldError::new(
            "format",
            "type",
            "格式应为 json 或 csv",
            "format is json or csv",
        ))),
    }
}

/// The data-element dictionary (数据元) that item forms draw their fields from.
#[utoipa::path(get, path = "/api/v1/catalog/data-elements", tag = "catalog", responses((status = 200, body = Vec<DataElement>)))]
pub async fn api_data_elements(State(s): State<AppState>) -> ApiResult<Json<Vec<DataElement>>> {
    Ok(Json(store::data_elements(&s.store).await?))
}

/// Adds or changes a data element (province catalogue managers).
#[utoipa::path(put, path = "/api/v1/catalog/data-elements/{element_code}", request_body = DataElement, tag = "catalog",
    responses((status = 200, body = Object), (status = 422, body = Problem)))]
pub async fn api_save_data_element(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    Path(code): Path<String>,
    method: Method,
    uri: Uri,
    body: ApiJson<DataElement>,
) -> ApiResult<Response> {
    if body.value.code != code {
        return Err(invalid(FieldError::new(
            "code",
            "data_element.code_mismatch",
            "请求体中的代码须与路径一致",
            "the code in the body matches the path",
        )));
    }
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        catalog_cmd(Cmd::SaveDataElement(body.value)),
        StatusCode::OK,
    )
    .await
}

pub fn catalog_cmd(c: Cmd) -> Command {
    Command::Catalog(Box::new(c))
}

// ---------------------------------------------------------------------------------------
// Management
// ---------------------------------------------------------------------------------------

/// The target of an entry for scope checks.
pub fn entry_target(s: &AppState, e: &store::Entry) -> Target {
    match &e.department_id {
        Some(d) => Target::Department {
            id: d.clone(),
            region_code: e.region_code.clone(),
        },
        None => Target::Region {
            code: if e.kind == EntryKind::Basic {
                s.home_region.clone()
            } else {
                e.region_code.clone()
            },
        },
    }
}

/// Entries this caller may see: editors their department's, reviewers their region's.
pub async fn visible_entries(s: &AppState, ctx: &Ctx, f: &store::EntryFilter) -> ApiResult<Vec<store::Entry>> {
    let all = store::entries(&s.store, f).await?;
    Ok(all
        .into_iter()
        .filter(|e| crate::access::authorize_any(&ctx.actor, crate::access::CATALOG, &entry_target(s, e)).is_ok())
        .collect())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesParams {
    /// `basic` or `item`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub department_id: Option<String>,
    /// `draft` or `submitted`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
}

pub fn entry_filter(p: &EntriesParams) -> Result<store::EntryFilter, ApiError> {
    let kind = match p.kind.as_deref().filter(|x| !x.is_empty()) {
        None => None,
        Some(k) => Some(EntryKind::parse(k).ok_or_else(|| {
            ApiError::bad_request(FieldError::new(
                "kind",
                "type",
                "类别应为 basic 或 item",
                "kind is basic or item",
            ))
        })?),
    };
    let open_state = match p.state.as_deref().filter(|x| !x.is_empty()) {
        None => None,
        Some(st) => Some(core::VersionState::parse(st).ok_or_else(|| {
            ApiError::bad_request(FieldError::new(
                "state",
                "type",
                "状态应为 draft 或 submitted",
                "state is draft or submitted",
            ))
        })?),
    };
    Ok(store::EntryFilter {
        kind,
        department_id: p.department_id.clone().filter(|x| !x.is_empty()),
        open_state,
        q: p.q.clone().filter(|x| !x.trim().is_empty()),
    })
}

/// Catalogue entries the caller manages or reviews.
#[utoipa::path(get, path = "/api/v1/catalog/entries", params(EntriesParams), tag = "catalog", responses((status = 200, body = [Object])))]
pub async fn api_entries(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(p): ApiQuery<EntriesParams>,
) -> ApiResult<Json<Vec<store::Entry>>> {
    Ok(Json(visible_entries(&s, &ctx, &entry_filter(&p)?).await?))
}

/// Submitted entries awaiting the caller's review (in the caller's region).
#[utoipa::path(get, path = "/api/v1/catalog/review", tag = "catalog", responses((status = 200, body = [Object])))]
pub async fn api_review(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<store::Entry>>> {
    Ok(Json(review_queue(&s, &ctx).await?))
}

pub async fn review_queue(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<store::Entry>> {
    let f = store::EntryFilter {
        open_state: Some(core::VersionState::Submitted),
        ..Default::default()
    };
    Ok(store::entries(&s.store, &f)
        .await?
        .into_iter()
        .filter(|e| {
            ctx.actor
                .authorize(Permission::CatalogReview, &entry_target(s, e))
                .is_ok()
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicBody {
    /// 12-digit basic code; generated in the province when absent.
    #[serde(default)]
    pub basic_code: Option<String>,
    pub elements: Elements,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub effective_from: Option<chrono::NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub cancel_on: Option<chrono::NaiveDate>,
}

/// Creates a basic directory entry (基本目录) as a draft.
#[utoipa::path(post, path = "/api/v1/catalog/basic", request_body = BasicBody, tag = "catalog",
    responses((status = 201, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_create_basic(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<BasicBody>,
) -> ApiResult<Response> {
    let b = body.value;
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        catalog_cmd(Cmd::CreateBasic {
            basic_code: b.basic_code,
            region_code: s.home_region.clone(),
            elements: b.elements,
            dates: Dates {
                effective_from: b.effective_from,
                cancel_on: b.cancel_on,
            },
        }),
        StatusCode::CREATED,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    pub basic_code: String,
    pub department_id: String,
    /// The item's own elements over the basic entry's (never locked ones).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub elements: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub effective_from: Option<chrono::NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub cancel_on: Option<chrono::NaiveDate>,
}

pub async fn department_target(s: &AppState, id: &str) -> ApiResult<Target> {
    let d = yiwang_store::orgs::department(&s.store.read, id)
        .await?
        .ok_or_else(|| {
            ApiError::from(StoreError::from(DomainError::not_found(
                "department_id",
                "部门",
                "department",
                id,
            )))
        })?;
    Ok(Target::Department {
        id: d.id,
        region_code: d.region_code,
    })
}

/// Creates an implementation item (实施清单) of a department as a draft: the basic
/// entry's elements with the item's own laid over them.
#[utoipa::path(post, path = "/api/v1/catalog/items", request_body = ItemBody, tag = "catalog",
    responses((status = 201, body = Object), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_create_item(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    method: Method,
    uri: Uri,
    body: ApiJson<ItemBody>,
) -> ApiResult<Response> {
    let b = body.value;
    ctx.require(
        Permission::CatalogManage,
        &department_target(&s, &b.department_id).await?,
    )?;
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        catalog_cmd(Cmd::CreateItem {
            basic_code: b.basic_code,
            department_id: b.department_id,
            own: b.elements,
            dates: Dates {
                effective_from: b.effective_from,
                cancel_on: b.cancel_on,
            },
        }),
        StatusCode::CREATED,
    )
    .await
}

/// An entry with its versions (without elements) for managers.
#[derive(Debug, Serialize)]
pub struct EntryView {
    pub entry: store::Entry,
    pub versions: Vec<VersionSummary>,
}

#[derive(Debug, Serialize)]
pub struct VersionSummary {
    pub version: i64,
    pub state: core::VersionState,
    pub editors: Vec<String>,
    pub submitted_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub return_reasons: Option<String>,
    pub effective_from: Option<String>,
    pub cancel_on: Option<String>,
    pub until: Option<String>,
    pub in_force: bool,
    pub updated_at: i64,
}

pub fn summary(v: &store::Version) -> VersionSummary {
    let d = |ms: Option<i64>| ms.map(|m| store::date_of(m).to_string());
    VersionSummary {
        version: v.version,
        state: v.state,
        editors: v.editors.clone(),
        submitted_by: v.submitted_by.clone(),
        reviewed_by: v.reviewed_by.clone(),
        return_reasons: v.return_reasons.clone(),
        effective_from: d(v.effective_from),
        cancel_on: d(v.cancel_on),
        until: d(v.until_ms),
        in_force: v.in_force(now_ms()),
        updated_at: v.updated_at,
    }
}

pub async fn load_entry(s: &AppState, id: &str) -> ApiResult<store::Entry> {
    store::entry_of(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("catalogue entry"))
}

#[utoipa::path(get, path = "/api/v1/catalog/entries/{entry_id}", tag = "catalog",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_entry(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<EntryView>> {
    let entry = load_entry(&s, &id).await?;
    let versions = store::versions_of(&s.store, &id).await?.iter().map(summary).collect();
    Ok(Json(EntryView { entry, versions }))
}

#[utoipa::path(get, path = "/api/v1/catalog/entries/{entry_id}/versions/{version}", tag = "catalog",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_version(
    State(s): State<AppState>,
    Path((id, v)): Path<(String, String)>,
) -> ApiResult<Json<store::Version>> {
    let v: i64 = v.parse().map_err(|_| {
        ApiError::bad_request(FieldError::new(
            "version",
            "type",
            "版本号应为整数",
            "a version is a whole number",
        ))
    })?;
    store::version_of(&s.store, &id, v)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("version"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    pub from: i64,
    pub to: i64,
}

/// What changed between two versions, element by element (JSON paths).
#[utoipa::path(get, path = "/api/v1/catalog/entries/{entry_id}/diff", params(DiffParams), tag = "catalog",
    responses((status = 200, body = Vec<core::Change>), (status = 404, body = Problem)))]
pub async fn api_diff(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<DiffParams>,
) -> ApiResult<Json<Vec<core::Change>>> {
    load_entry(&s, &id).await?;
    Ok(Json(store::diff(&s.store, &id, p.from, p.to).await?))
}

/// Who did what to an entry, from the ledger.
#[utoipa::path(get, path = "/api/v1/catalog/entries/{entry_id}/history", tag = "catalog",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_history(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Vec<HistoryRow>>> {
    load_entry(&s, &id).await?;
    Ok(Json(history(&s, &id).await?))
}

#[derive(Debug, Serialize)]
pub struct HistoryRow {
    pub seq: i64,
    pub kind: String,
    pub version: Option<i64>,
    pub actor: String,
    pub at_ms: i64,
    pub changed: Vec<String>,
    pub reasons: Option<String>,
}

pub async fn history(s: &AppState, id: &str) -> ApiResult<Vec<HistoryRow>> {
    let events = yiwang_store::ledger::stream(&s.store.read, &format!("catalog:{id}")).await?;
    Ok(events
        .into_iter()
        .map(|e| HistoryRow {
            seq: e.seq,
            version: e.body.get("version").and_then(|v| v.as_i64()),
            changed: e
                .body
                .get("changed")
                .and_then(|c| c.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                .unwrap_or_default(),
            reasons: e.body.get("reasons").and_then(|r| r.as_str()).map(String::from),
            kind: e.kind,
            actor: e.actor,
            at_ms: e.at_ms,
        })
        .collect())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    pub elements: Elements,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub effective_from: Option<chrono::NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub cancel_on: Option<chrono::NaiveDate>,
    /// The version the edit started from; a newer one means someone saved in between.
    #[serde(default)]
    pub base_version: Option<i64>,
}

/// Saves the elements as the entry's draft (opening the next version when none is open).
#[utoipa::path(put, path = "/api/v1/catalog/entries/{entry_id}/draft", request_body = DraftBody, tag = "catalog",
    responses((status = 200, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_save_draft(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: IdempotencyKey,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    body: ApiJson<DraftBody>,
) -> ApiResult<Response> {
    let b = body.value;
    submit(
        &s,
        &ctx.ledger_actor(),
        idem,
        (&method, &uri, &body.raw),
        catalog_cmd(Cmd::SaveDraft {
            entry_id: id,
            elements: b.elements,
            dates: Dates {
                effective_from: b.effective_from,
                cancel_on: b.cancel_on,
            },
            base_version: b.base_version,
        }),
        StatusCode::OK,
    )
    .await
}

async fn act(s: &AppState, ctx: &Ctx, id: String, action: Action) -> ApiResult<Response> {
    let w = s
        .store
        .write(ctx.meta(), catalog_cmd(Cmd::Act { entry_id: id, action }))
        .await?;
    Ok(Json(w.value).into_response())
}

/// Sends the draft for review.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{entry_id}/submit", tag = "catalog",
    responses((status = 200, body = Object), (status = 409, body = Problem)))]
pub async fn api_submit(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, id, Action::Submit).await
}

/// The submitter takes the submission back to draft.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{entry_id}/recall", tag = "catalog",
    responses((status = 200, body = Object), (status = 409, body = Problem)))]
pub async fn api_recall(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, id, Action::Recall).await
}

/// Abandons the draft.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{entry_id}/discard", tag = "catalog",
    responses((status = 200, body = Object), (status = 409, body = Problem)))]
pub async fn api_discard(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, id, Action::Discard).await
}

/// Publishes the submitted version (four eyes: not by its editors or submitter); in
/// force from its effective date; a basic entry passes its locked elements on.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{entry_id}/publish", tag = "catalog",
    responses((status = 200, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_publish(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, id, Action::Publish).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnBody {
    pub reasons: String,
}

/// Returns the submitted version to draft with the reviewer's reasons.
#[utoipa::path(post, path = "/api/v1/catalog/entries/{entry_id}/return", request_body = ReturnBody, tag = "catalog",
    responses((status = 200, body = Object), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn api_return(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<ReturnBody>,
) -> ApiResult<Response> {
    act(
        &s,
        &ctx,
        id,
        Action::Return {
            reasons: body.value.reasons,
        },
    )
    .await
}

/// How a basic entry's implementation items differ from it and from each other.
#[utoipa::path(get, path = "/api/v1/catalog/differences/{basic_code}", tag = "catalog",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_differences(
    State(s): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<Json<store::Differences>> {
    Ok(Json(store::differences(&s.store, &code).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Check only, write nothing.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// Submit the created and changed entries for review (default true).
    #[serde(default)]
    pub submit: Option<bool>,
    /// `json`, `xlsx` or `csv` (a zip of sheets, or one sheet); by Content-Type when absent.
    #[serde(default)]
    pub format: Option<String>,
}

/// Reads, checks and (unless every entry is fine) refuses an import; the caller's scope
/// is checked for each entry (basic entries: the province; items: their department).
pub async fn import_bytes(
    s: &AppState,
    ctx: &Ctx,
    format: sheets::Format,
    bytes: &[u8],
    dry_run: bool,
    submit: bool,
) -> ApiResult<store::ImportReport> {
    let (doc, prov) = match sheets::read(&s.store, format, bytes).await? {
        Ok(x) => x,
        Err(problems) => {
            return Ok(store::ImportReport {
                ok: false,
                dry_run,
                problems,
                ..Default::default()
            });
        }
    };
    if !doc.basic.is_empty() {
        ctx.require(
            Permission::CatalogManage,
            &Target::Region {
                code: s.home_region.clone(),
            },
        )?;
    }
    for it in &doc.items {
        let dept = match (&it.department_uscc, &it.department_name) {
            (Some(u), _) => yiwang_store::orgs::department_by_uscc(&s.store.read, u).await?,
            (None, Some(n)) => yiwang_store::orgs::departments(&s.store.read, None)
                .await?
                .into_iter()
                .find(|d| &d.name == n),
            _ => None,
        };
        if let Some(d) = dept {
            ctx.require(
                Permission::CatalogManage,
                &Target::Department {
                    id: d.id,
                    region_code: d.region_code,
                },
            )?;
        }
    }
    let opts = store::ImportOptions {
        dry_run,
        submit,
        region_code: s.home_region.clone(),
        chunk: 100,
    };
    let mut report = store::import(&s.store, ctx.meta(), &doc, &opts, &|_, _, _| {}).await?;
    if let Some(p) = prov {
        for x in &mut report.problems {
            p.place(x);
        }
    }
    Ok(report)
}

/// Imports catalogue entries from our JSON format, an xlsx workbook or CSV (a zip of
/// sheets): every row is checked first and every problem reported with its place; only
/// a file without problems is written; unchanged entries are skipped.
#[utoipa::path(post, path = "/api/v1/catalog/import", params(ImportParams), tag = "catalog",
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Object), (status = 422, body = Object), (status = 403, body = Problem)))]
pub async fn api_import(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ImportParams>,
    body: Bytes,
) -> ApiResult<Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = match p.format.as_deref() {
        Some("json") => sheets::Format::Json,
        Some("xlsx") => sheets::Format::Xlsx,
        Some("csv") => sheets::Format::Csv,
        Some(_) => {
            return Err(ApiError::bad_request(FieldError::new(
                "format",
                "type",
                "格式应为 json、xlsx 或 csv",
                "format is json, xlsx or csv",
            )));
        }
        None => sheets::Format::guess(ct, &body),
    };
    let report = import_bytes(
        &s,
        &ctx,
        format,
        &body,
        p.dry_run.unwrap_or(false),
        p.submit.unwrap_or(true),
    )
    .await?;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `json` (default, lossless), `xlsx` or `csv` (a zip of sheets).
    #[serde(default)]
    pub format: Option<String>,
    /// `current` (default: drafts as managers see them) or `published`.
    #[serde(default)]
    pub state: Option<String>,
}

/// Exports the catalogue (JSON round-trips losslessly; spreadsheets carry the elements
/// their sheets have).
#[utoipa::path(get, path = "/api/v1/catalog/export", params(ExportParams), tag = "catalog",
    responses((status = 200, body = Object), (status = 400, body = Problem)))]
pub async fn api_export(State(s): State<AppState>, ApiQuery(p): ApiQuery<ExportParams>) -> ApiResult<Response> {
    let state = match p.state.as_deref() {
        None | Some("current") => ExportState::Current,
        Some("published") => ExportState::Published,
        Some(_) => {
            return Err(ApiError::bad_request(FieldError::new(
                "state",
                "type",
                "应为 current 或 published",
                "state is current or published",
            )));
        }
    };
    let doc = store::export(&s.store, state).await?;
    let day = store::date_of(now_ms());
    match p.format.as_deref() {
        None | Some("json") => Ok(download(
            "application/json",
            &format!("catalog-{day}.json"),
            serde_json::to_vec_pretty(&doc).map_err(|_| ApiError::internal())?,
        )),
        Some("xlsx") => Ok(download(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("事项目录-{day}.xlsx"),
            sheets::tables_to_xlsx(&sheets::doc_to_tables(&doc))?,
        )),
        Some("csv") => Ok(download(
            "application/zip",
            &format!("事项目录-{day}.zip"),
            sheets::tables_to_csv_zip(&sheets::doc_to_tables(&doc))?,
        )),
        Some(_) => Err(ApiError::bad_request(FieldError::new(
            "format",
            "type",
            "格式应为 json、xlsx 或 csv",
            "format is json, xlsx or csv",
        ))),
    }
}
