//! Dashboard and review queue.

use super::*;

// ---------------------------------------------------------------------------------------
// Dashboard and review queue
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog.html")]
pub(super) struct Dashboard {
    pub(super) base: Base,
    pub(super) entries: Vec<store::Entry>,
    pub(super) departments: BTreeMap<String, String>,
    pub(super) form: EntriesParams,
    pub(super) review_count: usize,
    pub(super) can_edit: bool,
    pub(super) can_review: bool,
    pub(super) error: Option<String>,
}

impl Dashboard {
    pub(super) fn dept(&self, e: &store::Entry) -> String {
        e.department_id
            .as_ref()
            .and_then(|d| self.departments.get(d))
            .cloned()
            .unwrap_or_else(|| self.base.lang.pick("基本目录", "basic directory").into())
    }
    pub(super) fn state(&self, e: &store::Entry) -> &'static str {
        state_name(self.base.lang, e.open_state)
    }
    pub(super) fn sel(&self, v: &Option<String>, x: &str) -> bool {
        v.as_deref() == Some(x)
    }
}

pub(super) async fn departments_by_id(s: &AppState) -> ApiResult<BTreeMap<String, String>> {
    Ok(yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect())
}

pub(super) async fn dashboard(
    State(s): State<AppState>,
    ctx: Ctx,
    Query(form): Query<EntriesParams>,
    base: Base,
) -> ApiResult<Response> {
    let (entries, error) = match entry_filter(&form) {
        Ok(f) => (visible_entries(&s, &ctx, &f).await?, None),
        Err(e) => (vec![], e.errors.first().map(|f| base.lang.problem(f))),
    };
    let review_count = if ctx.has(Permission::CatalogReview) {
        review_queue(&s, &ctx).await?.len()
    } else {
        0
    };
    Ok(Dashboard {
        entries,
        departments: departments_by_id(&s).await?,
        form,
        review_count,
        can_edit: ctx.has(Permission::CatalogManage),
        can_review: ctx.has(Permission::CatalogReview),
        error,
        base,
    }
    .into_response())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_review.html")]
pub(super) struct ReviewPage {
    pub(super) base: Base,
    pub(super) entries: Vec<(store::Entry, Option<store::Version>)>,
    pub(super) departments: BTreeMap<String, String>,
    pub(super) actors: BTreeMap<String, String>,
}

impl ReviewPage {
    pub(super) fn dept(&self, e: &store::Entry) -> String {
        e.department_id
            .as_ref()
            .and_then(|d| self.departments.get(d))
            .cloned()
            .unwrap_or_else(|| self.base.lang.pick("基本目录", "basic directory").into())
    }
    pub(super) fn who(&self, v: &Option<store::Version>) -> String {
        v.as_ref()
            .and_then(|v| v.submitted_by.as_ref())
            .map(|a| self.actors.get(a).cloned().unwrap_or_else(|| a.clone()))
            .unwrap_or_default()
    }
    pub(super) fn updated(&self, v: &Option<store::Version>) -> String {
        v.as_ref().map(|v| china_time(v.updated_at)).unwrap_or_default()
    }
}

pub(super) async fn review_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<ReviewPage> {
    let mut entries = vec![];
    for e in review_queue(&s, &ctx).await? {
        let v = match e.open_version {
            Some(v) => store::version_of(&s.store, &e.id, v).await?,
            None => None,
        };
        entries.push((e, v));
    }
    Ok(ReviewPage {
        base,
        entries,
        departments: departments_by_id(&s).await?,
        actors: actor_names(&s).await,
    })
}
