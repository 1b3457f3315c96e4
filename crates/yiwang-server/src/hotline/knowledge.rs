//! The 12345 knowledge base over HTTP: its search (articles in force and the service guides,
//! public: the FAQ page), articles written by departments' officers or the centre, reviewed
//! by the centre, and the gaps consultations showed. Pages: `/hotline/faq`,
//! `/work/hotline/knowledge[/{article_id}]`.

use super::*;
use crate::pages::{Base, Fields, Page, field};
use askama::Template;
use axum::Form;
use axum::response::{IntoResponse, Redirect};
use yiwang_core::FieldError;
use yiwang_core::hotline::{ArticleInput, VersionState};
use yiwang_search::KbHit;
use yiwang_store::hotline::{ArticleVersion, Gap};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_search))
        .routes(routes!(api_articles, api_new_article))
        .routes(routes!(api_article, api_edit_article))
        .routes(routes!(api_review))
        .routes(routes!(api_gaps))
        .route("/hotline/faq", axum::routing::get(faq_page))
        .route(
            "/work/hotline/knowledge",
            axum::routing::get(admin_page).post(admin_form),
        )
        .route(
            "/work/hotline/knowledge/{article_id}",
            axum::routing::get(article_page).post(article_form),
        )
}

// ---------------------------------------------------------------------------------------
// The service functions
// ---------------------------------------------------------------------------------------

/// What a knowledge-base search finds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KbResults {
    /// The query's words after segmentation, stop words and synonyms.
    pub terms: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub articles: Vec<KbHit>,
    /// Service guides of the catalogue that match (part of the base).
    #[schema(value_type = Vec<Object>)]
    pub services: Vec<yiwang_search::Hit>,
}

fn kb_error(e: yiwang_search::SearchError) -> ApiError {
    tracing::error!(error = %e, "knowledge base search failed");
    ApiError::internal()
}

/// Searches the base: the articles in force today for a matter in `region` (and above),
/// and the service guides, with the catalogue's query terms.
pub(crate) async fn find(s: &AppState, q: &str, region: Option<&str>, limit: usize) -> ApiResult<KbResults> {
    s.knowledge.ensure_built(&s.store).await.map_err(kb_error)?;
    let text: String = q.chars().take(200).collect();
    let terms = s.search.terms(&text);
    let articles = s
        .knowledge
        .search(&terms, region, yiwang_store::today(), limit)
        .map_err(kb_error)?;
    let services = if text.trim().is_empty() {
        vec![]
    } else {
        crate::catalog::run_search(
            s,
            yiwang_search::SearchQuery {
                text: text.clone(),
                limit: 3,
                at_ms: yiwang_store::now_ms(),
                ..Default::default()
            },
        )
        .await?
        .hits
    };
    Ok(KbResults {
        terms: terms.into_iter().map(|(t, _)| t).collect(),
        articles,
        services,
    })
}

async fn department_target(s: &AppState, id: &str) -> ApiResult<Option<(Target, String)>> {
    Ok(yiwang_store::refdata::department(&s.store, id).await?.map(|d| {
        (
            Target::Department {
                id: d.id,
                region_code: d.region_code.clone(),
            },
            d.region_code,
        )
    }))
}

/// May the caller write articles for this department: its own officers, or the centre of
/// its region (共建共享). An unknown department is the input's problem (the store says so).
async fn may_write(s: &AppState, ctx: &Ctx, department_id: &str) -> ApiResult<()> {
    let Some((target, region)) = department_target(s, department_id).await? else {
        return Ok(());
    };
    if may(ctx, Permission::HotlineHandle, &target)
        || may(ctx, Permission::HotlineDispatch, &Target::Region { code: region })
    {
        Ok(())
    } else {
        Err(crate::error::forbidden_error(
            "hotline.article_department",
            "只能为本单位（或本中心地区的单位）编写知识".into(),
            "articles are written for your own department (or, for the centre, those of its region)".into(),
        ))
    }
}

/// Saves an article as a new version for review (a new article when `id` is none).
pub(crate) async fn save(
    s: &AppState,
    ctx: &Ctx,
    id: Option<&str>,
    input: &ArticleInput,
) -> ApiResult<yiwang_store::Written> {
    if let Some(id) = id {
        // Whoever may write for the article's present department, whatever the new one.
        let current = store::article_versions(&s.store, id)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::not_found("article"))?;
        may_write(s, ctx, &current.department_id).await?;
    }
    may_write(s, ctx, &input.department_id).await?;
    Ok(store::save_article(&s.store, ctx.meta(), id, input).await?)
}

/// The centre of the article's region reviews a version (not its own).
pub(crate) async fn review(s: &AppState, ctx: &Ctx, id: &str, r: &ReviewInput) -> ApiResult<yiwang_store::Written> {
    let v = store::article_versions(&s.store, id)
        .await?
        .into_iter()
        .find(|v| v.version == r.version)
        .ok_or_else(|| ApiError::not_found("article"))?;
    ctx.require(
        Permission::HotlineDispatch,
        &Target::Region {
            code: v.region_code.clone(),
        },
    )?;
    let w = store::review_article(&s.store, ctx.meta(), id, r.version, r.approve, r.note.clone()).await?;
    s.knowledge.refresh(&s.store, id).await.map_err(kb_error)?;
    Ok(w)
}

/// The articles the caller looks after: an officer's department's, or all for the centre.
async fn listed(s: &AppState, ctx: &Ctx) -> ApiResult<(Vec<ArticleVersion>, Vec<ArticleVersion>, Vec<Gap>)> {
    let centre = ctx
        .actor
        .authorize(
            Permission::HotlineDispatch,
            &Target::Region {
                code: s.home_region.clone(),
            },
        )
        .is_ok()
        || ctx.staff.as_ref().is_some_and(|st| {
            may(
                ctx,
                Permission::HotlineDispatch,
                &Target::Region {
                    code: st.region_code.clone(),
                },
            )
        });
    let dept = if centre {
        None
    } else {
        ctx.staff.as_ref().map(|st| st.department_id.clone())
    };
    let articles = store::articles(&s.store, dept.as_deref(), 200).await?;
    let queue = if centre {
        store::review_queue(&s.store, 100).await?
    } else {
        vec![]
    };
    let gaps = store::gaps(&s.store, dept.as_deref(), 200).await?;
    Ok((articles, queue, gaps))
}

// ---------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct KbQuery {
    /// What the person asks, in their words.
    #[serde(default)]
    pub q: String,
    /// The region of the matter (articles of it and above).
    #[serde(default)]
    pub region_code: Option<String>,
}

/// Searches the knowledge base: published articles in force and the service guides.
#[utoipa::path(get, path = "/api/v1/hotline/knowledge", tag = "hotline", params(KbQuery),
    responses((status = 200, body = KbResults), (status = 400, body = Problem)))]
pub async fn api_search(State(s): State<AppState>, ApiQuery(q): ApiQuery<KbQuery>) -> ApiResult<Json<KbResults>> {
    Ok(Json(
        find(&s, &q.q, q.region_code.as_deref().filter(|r| !r.is_empty()), 10).await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KbArticles {
    /// The latest version of each article the caller looks after.
    #[schema(value_type = Vec<Object>)]
    pub articles: Vec<ArticleVersion>,
    /// Versions to review (the centre).
    #[schema(value_type = Vec<Object>)]
    pub to_review: Vec<ArticleVersion>,
}

/// The articles the caller looks after, and (for the centre) the versions to review.
#[utoipa::path(get, path = "/api/v1/hotline/knowledge/articles", tag = "hotline",
    responses((status = 200, body = KbArticles), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn api_articles(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<KbArticles>> {
    let (articles, to_review, _) = listed(&s, &ctx).await?;
    Ok(Json(KbArticles { articles, to_review }))
}

/// Writes a new article (version 1, to be reviewed by the centre).
#[utoipa::path(post, path = "/api/v1/hotline/knowledge/articles", tag = "hotline", request_body = ArticleInput,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn api_new_article(State(s): State<AppState>, ctx: Ctx, body: ApiJson<ArticleInput>) -> ApiResult<Response> {
    Ok(crate::cases::created(save(&s, &ctx, None, &body.value).await?))
}

/// An article's versions, newest first.
#[utoipa::path(get, path = "/api/v1/hotline/knowledge/articles/{article_id}", tag = "hotline",
    responses((status = 200, body = Vec<Object>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn api_article(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Vec<ArticleVersion>>> {
    let v = store::article_versions(&s.store, &id).await?;
    if v.is_empty() {
        return Err(ApiError::not_found("article"));
    }
    Ok(Json(v))
}

/// Changes an article: a new version, reviewed before it replaces the published one.
#[utoipa::path(put, path = "/api/v1/hotline/knowledge/articles/{article_id}", tag = "hotline",
    request_body = ArticleInput,
    responses((status = 201, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn api_edit_article(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<ArticleInput>,
) -> ApiResult<Response> {
    Ok(crate::cases::created(save(&s, &ctx, Some(&id), &body.value).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub version: i64,
    /// Publish (true) or send back (false, with a note).
    pub approve: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// Reviews a version (the centre; never the version's author): published, or sent back.
#[utoipa::path(post, path = "/api/v1/hotline/knowledge/articles/{article_id}/review", tag = "hotline",
    request_body = ReviewInput,
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn api_review(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: ApiJson<ReviewInput>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(review(&s, &ctx, &id, &body.value).await?.value))
}

/// Consultations the base could not answer, still to be added to it (实时更新), earliest
/// deadline first: the caller's department's, or all for the centre.
#[utoipa::path(get, path = "/api/v1/hotline/knowledge/gaps", tag = "hotline",
    responses((status = 200, body = Vec<Object>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn api_gaps(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<Gap>>> {
    Ok(Json(listed(&s, &ctx).await?.2))
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_faq.html")]
struct FaqPage {
    base: Base,
    q: String,
    results: Option<KbResults>,
    names: std::collections::HashMap<String, String>,
}
crate::page!(FaqPage);

impl FaqPage {
    fn dept(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_default()
    }
}

async fn names(s: &AppState) -> ApiResult<std::collections::HashMap<String, String>> {
    Ok(yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect())
}

pub(super) async fn faq_page(
    State(s): State<AppState>,
    base: Base,
    ApiQuery(q): ApiQuery<KbQuery>,
) -> ApiResult<Response> {
    let results = if q.q.trim().is_empty() {
        None
    } else {
        Some(find(&s, &q.q, q.region_code.as_deref().filter(|r| !r.is_empty()), 10).await?)
    };
    Ok(FaqPage {
        base,
        q: q.q,
        results,
        names: names(&s).await?,
    }
    .into_response())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_knowledge.html")]
struct AdminPage {
    base: Base,
    articles: Vec<ArticleVersion>,
    queue: Vec<ArticleVersion>,
    gaps: Vec<Gap>,
    units: Vec<(String, String)>,
    names: std::collections::HashMap<String, String>,
    values: Fields,
    errors: Vec<FieldError>,
    now: i64,
}
crate::page!(AdminPage);

impl AdminPage {
    fn val(&self, k: &str) -> &str {
        field(&self.values, k)
    }
    fn invalid(&self, k: &str) -> bool {
        self.errors.iter().any(|e| e.field == k)
    }
    fn dept(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// The departments the caller may write for: its own, or (the centre) those of its region.
async fn writable_units(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<(String, String)>> {
    let mut out = vec![];
    for d in yiwang_store::orgs::departments(&s.store.read, None).await? {
        let t = Target::Department {
            id: d.id.clone(),
            region_code: d.region_code.clone(),
        };
        if may(ctx, Permission::HotlineHandle, &t)
            || may(
                ctx,
                Permission::HotlineDispatch,
                &Target::Region {
                    code: d.region_code.clone(),
                },
            )
        {
            out.push((d.id, d.name));
        }
    }
    Ok(out)
}

fn input_of(f: &Fields) -> ArticleInput {
    let date = |k: &str| chrono::NaiveDate::parse_from_str(field(f, k).trim(), "%Y-%m-%d").ok();
    ArticleInput {
        title: field(f, "title").to_string(),
        body: field(f, "body").to_string(),
        department_id: field(f, "department_id").to_string(),
        region_code: field(f, "region_code").trim().to_string(),
        keywords: field(f, "keywords")
            .split([',', '，', '、', ' '])
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect(),
        valid_from: date("valid_from"),
        valid_until: date("valid_until"),
        answers_tickets: field(f, "answers_tickets")
            .split([',', '，', ' '])
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect(),
    }
}

/// A date box that holds something that is not a date.
fn bad_dates(f: &Fields) -> Vec<FieldError> {
    ["valid_from", "valid_until"]
        .into_iter()
        .filter(|k| {
            let v = field(f, k).trim();
            !v.is_empty() && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err()
        })
        .map(|k| FieldError::new(k, "date", "日期格式应为 YYYY-MM-DD", "a date is YYYY-MM-DD"))
        .collect()
}

async fn render_admin(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    values: Fields,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let (articles, queue, gaps) = listed(s, ctx).await?;
    let units = writable_units(s, ctx).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        AdminPage {
            base,
            articles,
            queue,
            gaps,
            units,
            names: names(s).await?,
            values,
            errors,
            now: yiwang_store::now_ms(),
        },
    )
        .into_response())
}

pub(super) async fn admin_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    ApiQuery(q): ApiQuery<GapQuery>,
) -> ApiResult<Response> {
    // "Answer this gap": the form starts from the consultation.
    let mut values = vec![];
    if let Some(t) = q.gap.filter(|t| !t.is_empty()) {
        values.push(("answers_tickets".to_string(), t));
    }
    render_admin(&s, &ctx, base, values, vec![]).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct GapQuery {
    #[serde(default)]
    gap: Option<String>,
}

pub(super) async fn admin_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let bad = bad_dates(&f);
    if !bad.is_empty() {
        return render_admin(&s, &ctx, base, f, bad).await;
    }
    match save(&s, &ctx, None, &input_of(&f)).await {
        Ok(w) => {
            let id = w.value["article_id"].as_str().unwrap_or_default();
            Ok(Redirect::to(&format!("/work/hotline/knowledge/{id}")).into_response())
        }
        Err(e) => render_admin(&s, &ctx, base, f, e.into_field_errors()).await,
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "hotline_article.html")]
struct ArticlePage {
    base: Base,
    id: String,
    versions: Vec<ArticleVersion>,
    units: Vec<(String, String)>,
    names: std::collections::HashMap<String, String>,
    /// The caller may review (the centre of the article's region).
    reviewer: bool,
    values: Fields,
    errors: Vec<FieldError>,
    done: Option<String>,
}
crate::page!(ArticlePage);

impl ArticlePage {
    fn val(&self, k: &str) -> String {
        if let Some((_, v)) = self.values.iter().find(|(x, _)| x == k) {
            return v.clone();
        }
        // The edit form starts from the latest version.
        let Some(v) = self.versions.first() else {
            return String::new();
        };
        match k {
            "title" => v.title.clone(),
            "body" => v.body.clone(),
            "department_id" => v.department_id.clone(),
            "region_code" => v.region_code.clone(),
            "keywords" => v.keywords.join("，"),
            "valid_from" => v.valid_from.map(|d| d.to_string()).unwrap_or_default(),
            "valid_until" => v.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            _ => String::new(),
        }
    }
    fn invalid(&self, k: &str) -> bool {
        self.errors.iter().any(|e| e.field == k)
    }
    fn dept(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
    fn is_submitted(&self, v: &ArticleVersion) -> bool {
        v.state == VersionState::Submitted
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_article(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    id: &str,
    values: Fields,
    errors: Vec<FieldError>,
    done: Option<String>,
) -> ApiResult<Response> {
    let versions = store::article_versions(&s.store, id).await?;
    let Some(latest) = versions.first() else {
        return Err(ApiError::not_found("article"));
    };
    let reviewer = may(
        ctx,
        Permission::HotlineDispatch,
        &Target::Region {
            code: latest.region_code.clone(),
        },
    );
    let units = writable_units(s, ctx).await?;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        ArticlePage {
            base,
            id: id.to_string(),
            versions,
            units,
            names: names(s).await?,
            reviewer,
            values,
            errors,
            done,
        },
    )
        .into_response())
}

pub(super) async fn article_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    render_article(&s, &ctx, base, &id, vec![], vec![], None).await
}

pub(super) async fn article_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<Fields>,
) -> ApiResult<Response> {
    let result = match field(&f, "action") {
        "review" => {
            let r = ReviewInput {
                version: field(&f, "version").parse().unwrap_or(0),
                approve: field(&f, "decision") == "approve",
                note: Some(field(&f, "note").to_string()).filter(|n| !n.trim().is_empty()),
            };
            review(&s, &ctx, &id, &r).await.map_err(|e| e.into_field_errors())
        }
        _ => {
            let bad = bad_dates(&f);
            if bad.is_empty() {
                save(&s, &ctx, Some(&id), &input_of(&f))
                    .await
                    .map_err(|e| e.into_field_errors())
            } else {
                Err(bad)
            }
        }
    };
    match result {
        Ok(w) => {
            let done = w.value["state"].as_str().unwrap_or_default().to_string();
            render_article(&s, &ctx, base, &id, vec![], vec![], Some(done)).await
        }
        Err(errors) => render_article(&s, &ctx, base, &id, f, errors, None).await,
    }
}
