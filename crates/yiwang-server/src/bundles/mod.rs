//! 一件事 over HTTP (STANDARDS §5): the published bundles and their merged guide for
//! everyone (API and pages: one page answers "what do I bring" for the whole event), and
//! the managers' definition workflow (save a draft, submit, recall, discard; another
//! manager publishes or returns it). Every handler calls `yiwang_store::bundles`.

use crate::AppState;
use crate::access::CATALOG;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::pages::{Base, Page};
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::access::{Permission, Target};
use yiwang_core::bundles::{BundleDoc, Guide, MergedMaterial};
use yiwang_core::catalog::{Action, Need};
use yiwang_store::bundles::{self as store, Bundle, BundleVersion, GuideView};

mod apply;
mod cases;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_list))
        .routes(routes!(api_bundle))
        .routes(routes!(api_guide))
        .routes(routes!(api_manage_list))
        .routes(routes!(api_save))
        .routes(routes!(api_manage_bundle))
        .routes(routes!(api_submit))
        .routes(routes!(api_recall))
        .routes(routes!(api_discard))
        .routes(routes!(api_publish))
        .routes(routes!(api_return))
        .routes(routes!(api_apply))
        .routes(routes!(cases::api_bundle_case))
        .routes(routes!(cases::api_deliver))
        .routes(routes!(apply::api_window_apply))
        .route(
            "/bundles/{bundle_code}/apply",
            axum::routing::get(apply::apply_page).post(apply::apply_form),
        )
        .route(
            "/work/window/bundles/{bundle_code}",
            axum::routing::get(apply::window_page).post(apply::window_form),
        )
        .route(
            "/me/bundle-cases/{bundle_case_id}",
            axum::routing::get(cases::my_case_page),
        )
        .route(
            "/me/bundle-cases/{bundle_case_id}/notices/{notice_id}/pdf",
            axum::routing::get(cases::my_notice_pdf),
        )
        .route(
            "/work/bundle-cases/{bundle_case_id}/notices/{notice_id}/pdf",
            axum::routing::get(cases::work_notice_pdf),
        )
        .route("/work/bundle-cases", axum::routing::get(cases::work_list_page))
        .route(
            "/work/bundle-cases/{bundle_case_id}",
            axum::routing::get(cases::work_case_page),
        )
        .route(
            "/work/bundle-cases/{bundle_case_id}/deliver",
            axum::routing::post(cases::work_deliver),
        )
        .route("/bundles", axum::routing::get(list_page))
        .route("/bundles/{bundle_code}", axum::routing::get(guide_page))
        .route("/catalog/bundles", axum::routing::get(manage_list_page))
        .route("/catalog/bundles/{bundle_id}", axum::routing::get(manage_page))
        .route("/catalog/bundles/{bundle_id}/act", axum::routing::post(manage_act))
}

/// A published bundle as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BundleSummary {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub audience: yiwang_core::bundles::Audience,
    pub theme: String,
    pub region_code: String,
    pub members: usize,
    pub promised_days: u32,
    pub version: i64,
}

fn summary(v: &BundleVersion) -> BundleSummary {
    BundleSummary {
        code: v.doc.code.clone(),
        name: v.doc.name.clone(),
        name_en: v.doc.name_en.clone(),
        audience: v.doc.audience,
        theme: v.doc.theme.clone(),
        region_code: v.doc.region_code.clone(),
        members: v.doc.members.len(),
        promised_days: v.doc.promised_days,
        version: v.version,
    }
}

/// The published bundles a search names, as listed (the search page shows them first).
pub async fn matching(s: &AppState, q: &str) -> ApiResult<Vec<BundleSummary>> {
    Ok(store::matching(&s.store, q).await?.iter().map(summary).collect())
}

/// The published 一件事 bundles.
#[utoipa::path(get, path = "/api/v1/bundles", params(ListQuery), tag = "bundles",
    responses((status = 200, body = [BundleSummary])))]
pub async fn api_list(State(s): State<AppState>, Query(p): Query<ListQuery>) -> ApiResult<Json<Vec<BundleSummary>>> {
    match p.q.as_deref().filter(|q| !q.trim().is_empty()) {
        Some(q) => Ok(Json(matching(&s, q).await?)),
        None => Ok(Json(store::published(&s.store).await?.iter().map(summary).collect())),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Words naming a life event (开饭店, 生孩子): only the bundles they name.
    #[serde(default)]
    pub q: Option<String>,
}

/// A published bundle's definition.
#[utoipa::path(get, path = "/api/v1/bundles/{bundle_code}", tag = "bundles",
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn api_bundle(State(s): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<BundleVersion>> {
    let (_, v) = store::published_of(&s.store, &code)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    Ok(Json(v))
}

/// The merged guide (一次告知) for the answers given as `question=answer` parameters: which
/// members apply, the questions asked once, one material list with duplicates merged and
/// what is produced on the way, one form, fees, and the savings against applying for each
/// item separately.
#[utoipa::path(get, path = "/api/v1/bundles/{bundle_code}/guide", tag = "bundles",
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_guide(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(answers): Query<BTreeMap<String, String>>,
) -> ApiResult<Json<GuideView>> {
    let g = store::guide(&s.store, &code, &answers)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    Ok(Json(g))
}

/// Every bundle with its workflow state (catalogue managers).
#[utoipa::path(get, path = "/api/v1/catalog/bundles", tag = "bundles",
    responses((status = 200, body = [Object]), (status = 403, body = Problem)))]
pub async fn api_manage_list(State(s): State<AppState>) -> ApiResult<Json<Vec<Bundle>>> {
    Ok(Json(store::bundles(&s.store).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveBody {
    /// The definition (its `code` names the bundle; a new code creates one).
    #[schema(value_type = Object)]
    pub doc: BundleDoc,
    /// The version the editor started from (a newer one means someone saved in between).
    #[serde(default)]
    pub base_version: Option<i64>,
}

/// Saves a definition as its bundle's draft, after checking it against the catalogue in
/// force: every member an item in force of the bundle's region, no cycle of dependencies,
/// questions asked once with the same answers. The lead department's catalogue editors
/// may save it.
#[utoipa::path(post, path = "/api/v1/catalog/bundles", request_body = SaveBody, tag = "bundles",
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_save(State(s): State<AppState>, ctx: Ctx, body: ApiJson<SaveBody>) -> ApiResult<Response> {
    let b = body.value;
    require_lead(&s, &ctx, Permission::CatalogManage, &b.doc.lead_department_id).await?;
    if let Some(existing) = store::bundle_by_code(&s.store, &b.doc.code).await? {
        require_lead(&s, &ctx, Permission::CatalogManage, &existing.lead_department_id).await?;
    }
    let w = store::save(&s.store, ctx.meta(), b.doc, b.base_version).await?;
    Ok(Json(w.value).into_response())
}

/// The caller holds `p` over the lead department (its editors; reviewers of its region).
async fn require_lead(s: &AppState, ctx: &Ctx, p: Permission, department_id: &str) -> ApiResult<()> {
    let d = yiwang_store::refdata::department(&s.store, department_id).await?;
    let t = match d {
        Some(d) => Target::Department {
            id: d.id,
            region_code: d.region_code,
        },
        // Checked with the definition (422 naming the field).
        None => return Ok(()),
    };
    ctx.require(p, &t)
}

/// A bundle with all its versions (catalogue managers).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ManagedBundle {
    #[schema(value_type = Object)]
    pub bundle: Bundle,
    #[schema(value_type = Option<Object>)]
    pub open: Option<BundleVersion>,
    #[schema(value_type = Option<Object>)]
    pub published: Option<BundleVersion>,
}

async fn managed(s: &AppState, ctx: &Ctx, id: &str) -> ApiResult<ManagedBundle> {
    let b = store::bundle(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    let d = yiwang_store::refdata::department(&s.store, &b.lead_department_id).await?;
    let t = match d {
        Some(d) => Target::Department {
            id: d.id,
            region_code: d.region_code,
        },
        None => Target::Region {
            code: b.region_code.clone(),
        },
    };
    crate::access::authorize_any(&ctx.actor, CATALOG, &t).map_err(crate::error::denied_error)?;
    let get = async |v: Option<i64>| match v {
        Some(v) => store::version(&s.store, id, v).await,
        None => Ok(None),
    };
    Ok(ManagedBundle {
        open: get(b.open_version).await?,
        published: get(b.published_version).await?,
        bundle: b,
    })
}

/// A bundle with its open and published versions.
#[utoipa::path(get, path = "/api/v1/catalog/bundles/{bundle_id}", tag = "bundles",
    responses((status = 200, body = ManagedBundle), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn api_manage_bundle(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<ManagedBundle>> {
    Ok(Json(managed(&s, &ctx, &id).await?))
}

async fn act(s: &AppState, ctx: &Ctx, id: &str, p: Permission, action: Action) -> ApiResult<Response> {
    let b = store::bundle(&s.store, id)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    require_lead(s, ctx, p, &b.lead_department_id).await?;
    let w = store::act(&s.store, ctx.meta(), id, action).await?;
    Ok(Json(w.value).into_response())
}

/// Sends the draft for review.
#[utoipa::path(post, path = "/api/v1/catalog/bundles/{bundle_id}/submit", tag = "bundles",
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn api_submit(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, &id, Permission::CatalogManage, Action::Submit).await
}

/// The submitter takes the submission back to draft.
#[utoipa::path(post, path = "/api/v1/catalog/bundles/{bundle_id}/recall", tag = "bundles",
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn api_recall(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, &id, Permission::CatalogManage, Action::Recall).await
}

/// Abandons the draft.
#[utoipa::path(post, path = "/api/v1/catalog/bundles/{bundle_id}/discard", tag = "bundles",
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn api_discard(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, &id, Permission::CatalogManage, Action::Discard).await
}

/// Publishes the submitted version (four eyes: not by its editors or submitter), after
/// checking it against the catalogue in force again.
#[utoipa::path(post, path = "/api/v1/catalog/bundles/{bundle_id}/publish", tag = "bundles",
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_publish(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    act(&s, &ctx, &id, Permission::CatalogReview, Action::Publish).await
}

/// Returns the submitted version to draft with the reviewer's reasons.
#[utoipa::path(post, path = "/api/v1/catalog/bundles/{bundle_id}/return",
    request_body = crate::catalog::ReturnBody, tag = "bundles",
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_return(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<crate::catalog::ReturnBody>,
) -> ApiResult<Response> {
    let reasons = body.value.reasons;
    act(&s, &ctx, &id, Permission::CatalogReview, Action::Return { reasons }).await
}

// ---------------------------------------------------------------------------------------
// Applying (一表申请, 一窗(端)受理)
// ---------------------------------------------------------------------------------------

/// Applies online for a published bundle, for the logged-in person or the principal they
/// act for: one application (answers, each data element once, each material of the one set
/// once by its key in the guide). One bundle case is numbered; the members without a
/// predecessor become sub-cases in their departments at once (each pre-checked: a problem
/// names `members.<key>.<field>`); the others wait for their predecessors' results. All or
/// nothing. Send an Idempotency-Key: a retry returns the first bundle case.
#[utoipa::path(post, path = "/api/v1/bundles/{bundle_code}/applications",
    request_body = yiwang_core::bundles::BundleApplication, tag = "bundles",
    responses((status = 201, body = Object), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_apply(
    State(s): State<AppState>,
    ctx: Ctx,
    idem: crate::extract::IdempotencyKey,
    method: axum::http::Method,
    uri: axum::http::Uri,
    Path(code): Path<String>,
    body: ApiJson<yiwang_core::bundles::BundleApplication>,
) -> ApiResult<Response> {
    let subject = ctx.principal().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let (_, v) = store::published_of(&s.store, &code)
        .await?
        .ok_or_else(|| ApiError::not_found("bundle"))?;
    // An agent's mandate covers every member item.
    for m in &v.doc.members {
        crate::cases::check_mandate_covers(&s, &ctx, &m.item_code).await?;
    }
    let applicant = crate::cases::applicant_of(&s, &subject).await?;
    let meta = crate::cases::idem_meta(&ctx, idem, &method, &uri, &body.raw);
    let w = store::apply(
        &s.store,
        meta,
        store::BundleSubmission {
            code,
            applicant,
            channel: yiwang_core::cases::Channel::Online,
            assisted: ctx.acting_for.is_some(),
            application: body.value,
        },
    )
    .await?;
    Ok(crate::cases::created(w))
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "bundles.html")]
struct ListPage {
    base: Base,
    bundles: Vec<BundleSummary>,
}
crate::page!(ListPage);

async fn list_page(State(s): State<AppState>, base: Base) -> ApiResult<ListPage> {
    let bundles = store::published(&s.store).await?.iter().map(summary).collect();
    Ok(ListPage { base, bundles })
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "bundle_guide.html")]
struct GuidePage {
    base: Base,
    v: GuideView,
    answers: BTreeMap<String, String>,
    errors: Vec<yiwang_core::FieldError>,
}
crate::page!(GuidePage);

impl GuidePage {
    /// The application page, with the answers given so far.
    fn apply_href(&self) -> String {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.answers.iter().map(|(k, v)| (format!("q.{k}"), v)))
            .finish();
        format!("/bundles/{}/apply?{q}", self.v.version.doc.code)
    }
    fn g(&self) -> &Guide {
        &self.v.guide
    }
    fn member_name(&self, key: &str) -> String {
        self.g()
            .members
            .iter()
            .find(|m| m.key == key)
            .map_or_else(|| key.to_string(), |m| m.name.clone())
    }
    fn chosen(&self, q: &str, c: &str) -> bool {
        self.answers.get(q).is_some_and(|a| a == c)
    }
    fn need_text(&self, n: &Need) -> &'static str {
        match n {
            Need::Needed => self.base.lang.pick("需办理", "applies"),
            Need::Depends => self.base.lang.pick("视情形", "depends on your answers"),
            Need::NotNeeded => self.base.lang.pick("无需办理", "does not apply"),
        }
    }
    fn material_need(&self, n: &Need) -> &'static str {
        match n {
            Need::Needed => self.base.lang.pick("需提交", "bring it"),
            Need::Depends => self.base.lang.pick("视情形", "depends on your answers"),
            Need::NotNeeded => self.base.lang.pick("无需提交", "not needed"),
        }
    }
    fn asked_by(&self, m: &MergedMaterial) -> String {
        let names: Vec<String> = m.members.iter().map(|(k, _)| self.member_name(k)).collect();
        names.join(self.base.lang.sep())
    }
    fn brought(&self) -> Vec<&MergedMaterial> {
        self.g()
            .materials
            .iter()
            .filter(|m| m.produced_by.is_none() && m.need != Need::NotNeeded)
            .collect()
    }
    fn produced(&self) -> Vec<&MergedMaterial> {
        self.g().materials.iter().filter(|m| m.produced_by.is_some()).collect()
    }
    fn channels(&self) -> String {
        let names: Vec<&str> = self.v.version.doc.channels.iter().map(|c| self.name(c)).collect();
        names.join(self.base.lang.sep())
    }
}

/// The merged guide for these answers; if some answer is refused, the guide without
/// answers and the problems (shown beside the questions). 404 for no such bundle.
async fn guide_for(
    s: &AppState,
    code: &str,
    answers: &BTreeMap<String, String>,
) -> ApiResult<(GuideView, Vec<yiwang_core::FieldError>)> {
    let (v, errors) = match store::guide(&s.store, code, answers).await {
        Ok(v) => (v, vec![]),
        Err(yiwang_store::StoreError::Domain(d)) => (store::guide(&s.store, code, &BTreeMap::new()).await?, d.errors),
        Err(e) => return Err(e.into()),
    };
    Ok((v.ok_or_else(|| ApiError::not_found("bundle"))?, errors))
}

async fn guide_page(
    State(s): State<AppState>,
    base: Base,
    Path(code): Path<String>,
    Query(answers): Query<BTreeMap<String, String>>,
) -> ApiResult<Response> {
    let (v, errors) = guide_for(&s, &code, &answers).await?;
    Ok(GuidePage {
        base,
        v,
        answers,
        errors,
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// Managers' pages: the bundles with their state, one bundle's definition and its workflow
// ---------------------------------------------------------------------------------------

/// A bundle as the managers' list shows it.
struct ManagedRow {
    bundle: Bundle,
    lead: String,
    /// Members whose item changed (or ended) since the published version.
    changed: usize,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_bundles.html")]
struct ManageListPage {
    base: Base,
    rows: Vec<ManagedRow>,
}
crate::page!(ManageListPage);

async fn department_name(s: &AppState, id: &str) -> ApiResult<String> {
    // 多地联办: a member decided at a partner node is named by that node.
    if let Some(node) = id.strip_prefix("node:") {
        return Ok(yiwang_store::federation::partner(&s.store, node)
            .await?
            .map_or_else(|| node.to_string(), |d| d.name));
    }
    Ok(yiwang_store::refdata::department(&s.store, id)
        .await?
        .map_or_else(|| id.to_string(), |d| d.name))
}

async fn manage_list_page(State(s): State<AppState>, base: Base) -> ApiResult<ManageListPage> {
    let mut rows = vec![];
    for b in store::bundles(&s.store).await? {
        let changed = match b.published_version {
            Some(_) => store::changed_members(&s.store, &b.code).await?.len(),
            None => 0,
        };
        let lead = department_name(&s, &b.lead_department_id).await?;
        rows.push(ManagedRow {
            bundle: b,
            lead,
            changed,
        });
    }
    Ok(ManageListPage { base, rows })
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_bundle.html")]
struct ManagePage {
    base: Base,
    m: ManagedBundle,
    lead: String,
    /// Member item code → (name, department) as in force now.
    items: BTreeMap<String, (String, String)>,
    changed: Vec<String>,
    errors: Vec<yiwang_core::FieldError>,
    done: Option<String>,
}
crate::page!(ManagePage);

impl ManagePage {
    /// The version shown: the open one, else the published one.
    fn shown(&self) -> Option<&BundleVersion> {
        self.m.open.as_ref().or(self.m.published.as_ref())
    }
    fn item(&self, code: &str) -> String {
        self.items.get(code).map_or_else(
            || {
                format!(
                    "{code}{}",
                    self.base
                        .lang
                        .paren(self.base.lang.pick("不在有效期内", "not in force"))
                )
            },
            |(n, d)| format!("{n}{}", self.base.lang.paren(d)),
        )
    }
    /// A member's item by its key in the version shown.
    fn member_item(&self, key: &str) -> String {
        self.shown()
            .and_then(|v| v.doc.members.iter().find(|m| m.key == key))
            .map_or_else(|| key.to_string(), |m| self.item(&m.item_code))
    }
    fn state(&self) -> Option<yiwang_core::catalog::VersionState> {
        self.m.bundle.open_state
    }
    fn is_draft(&self) -> bool {
        self.state() == Some(yiwang_core::catalog::VersionState::Draft)
    }
    fn is_submitted(&self) -> bool {
        self.state() == Some(yiwang_core::catalog::VersionState::Submitted)
    }
}

async fn render_manage(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: &str,
    errors: Vec<yiwang_core::FieldError>,
    done: Option<String>,
) -> ApiResult<Response> {
    let m = managed(s, ctx, id).await?;
    let mut items = BTreeMap::new();
    for v in [&m.open, &m.published].into_iter().flatten() {
        for (code, svc) in store::member_services(&s.store, &v.doc, yiwang_store::now_ms()).await? {
            items.insert(code, (svc.elements.name.clone(), svc.department_name.clone()));
        }
    }
    let changed = match &m.published {
        Some(_) => store::guide(&s.store, &m.bundle.code, &BTreeMap::new())
            .await?
            .map(|g| g.changed_members)
            .unwrap_or_default(),
        None => vec![],
    };
    let lead = department_name(s, &m.bundle.lead_department_id).await?;
    Ok(ManagePage {
        base,
        m,
        lead,
        items,
        changed,
        errors,
        done,
    }
    .into_response())
}

async fn manage_page(State(s): State<AppState>, ctx: Ctx, base: Base, Path(id): Path<String>) -> ApiResult<Response> {
    render_manage(&s, &ctx, base, &id, vec![], None).await
}

/// Submit, recall, discard (the lead department's editors); publish, return (reviewers of
/// its region).
async fn manage_act(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (action, perm, done) = match crate::catalog::manage::workflow_action(&form, base.lang) {
        Ok(a) => a,
        Err(e) => return render_manage(&s, &ctx, base, &id, vec![e], None).await,
    };
    match act(&s, &ctx, &id, perm, action).await {
        Ok(_) => render_manage(&s, &ctx, base, &id, vec![], Some(done.into())).await,
        Err(e) => render_manage(&s, &ctx, base, &id, e.into_field_errors(), None).await,
    }
}
