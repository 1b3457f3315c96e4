//! Management: entries, versions, review.

use super::*;

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
#[schema(as = CatalogDraftBody)]
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

pub(super) async fn act(s: &AppState, ctx: &Ctx, id: String, action: Action) -> ApiResult<Response> {
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
