//! Public: search, guides, questionnaire, lists, dictionary.

use super::*;

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
pub(super) fn audience_param(a: Option<&str>) -> Result<Option<Audience>, ApiError> {
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
pub(super) fn region_param(r: Option<&str>) -> Result<(), ApiError> {
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

/// Is this an implementation code (实施编码, 31 characters) rather than words of a name?
pub fn is_item_code(s: &str) -> bool {
    s.len() == 31 && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// A service named by its 实施编码 or by words of its name, among the items in force
/// (of one department, when given by name) that `keep` accepts: a code is taken as it
/// is; of the matches, one of exactly that name (or the only one) is taken, several are
/// returned to choose from (none: nothing matched).
pub async fn resolve_item<F, Fut>(
    s: &AppState,
    text: &str,
    department: Option<String>,
    keep: F,
) -> ApiResult<Result<String, Vec<yiwang_search::Hit>>>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let text = text.trim();
    if is_item_code(text) {
        return Ok(Ok(text.to_uppercase()));
    }
    let q = yiwang_search::SearchQuery {
        text: text.to_string(),
        department,
        limit: 20,
        at_ms: yiwang_store::now_ms(),
        ..Default::default()
    };
    let mut choices = vec![];
    for h in run_search(s, q).await?.hits {
        if keep(h.code.clone()).await {
            choices.push(h);
        }
    }
    let exact: Vec<&yiwang_search::Hit> = choices.iter().filter(|c| c.name == text).collect();
    if let [one] = exact.as_slice() {
        return Ok(Ok(one.code.clone()));
    }
    if let [one] = choices.as_slice() {
        return Ok(Ok(one.code.clone()));
    }
    Ok(Err(choices))
}

/// Searches the published items in force: words are segmented (jieba), stop words
/// dropped and synonyms added; results carry highlights and facet counts. The 一件事
/// bundles the words name come first (`bundles`).
#[utoipa::path(get, path = "/api/v1/services", params(SearchParams), tag = "catalog",
    responses((status = 200, body = Object), (status = 400, body = Problem)))]
pub async fn api_search(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchResponse>> {
    let results = run_search(&s, p.to_query()?).await?;
    // The life events the words name come first (on the first page).
    let bundles = match (&p.q, p.offset.unwrap_or(0)) {
        (Some(q), 0) => crate::bundles::matching(&s, q).await?,
        _ => vec![],
    };
    Ok(Json(SearchResponse { bundles, results }))
}

/// A search's answer: the 一件事 the words name, then the items found.
#[derive(Debug, Serialize)]
pub struct SearchResponse {
    /// Bundles (一件事) the words name, e.g. 开办餐饮店 for 开饭店 (first page only).
    pub bundles: Vec<crate::bundles::BundleSummary>,
    #[serde(flatten)]
    pub results: yiwang_search::Results,
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
    let department = yiwang_store::refdata::department(&s.store, &svc.department_id).await?;
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
