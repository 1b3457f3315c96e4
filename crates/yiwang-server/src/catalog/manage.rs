//! Catalogue management pages (事项管理): the manager's list, a new entry, an entry with
//! its versions, history, diffs and workflow actions, the edit form, the review queue,
//! import with its error report, the data-element dictionary and the level-difference
//! report. Every change goes through the same store commands as the API.
//!
//! The edit form names each input by its JSON path (`materials[2].name`), so errors from
//! the domain land next to their field, and what the manager typed is shown again when
//! something is refused (nothing typed is lost).

use super::{
    EntriesParams, HistoryRow, VersionSummary, catalog_cmd, department_target, entry_filter, entry_target, history,
    import_bytes, load_entry, review_queue, summary, visible_entries,
};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::pages::Base;
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use yiwang_core::FieldError;
use yiwang_core::access::{Permission, Target};
use yiwang_core::catalog::{self as core, Action, Elements, EntryKind, VersionState};
use yiwang_store::catalog::{self as store, Cmd, Dates, sheets};
use yiwang_store::{StoreError, now_ms};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(dashboard))
        .route("/catalog/new", get(new_page).post(new_form))
        .route("/catalog/review", get(review_page))
        .route(
            "/catalog/import",
            get(import_page)
                .post(import_form)
                .layer(axum::extract::DefaultBodyLimit::max(super::IMPORT_LIMIT)),
        )
        .route("/catalog/elements", get(elements_page))
        .route("/catalog/differences", get(differences_page))
        .route("/catalog/entries/{entry_id}", get(entry_page))
        .route("/catalog/entries/{entry_id}/edit", get(edit_page).post(edit_form))
        .route("/catalog/entries/{entry_id}/act", post(act_form))
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn state_name(lang: Lang, s: Option<VersionState>) -> &'static str {
    match s {
        None => lang.pick("无待办版本", "nothing open"),
        Some(s) if lang.is_en() => s.en(),
        Some(s) => s.zh(),
    }
}

/// Names for actors in the ledger form (`account:ID`).
async fn actor_names(s: &AppState) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    if let Ok(staff) = yiwang_store::accounts::staff_in_region(&s.store.read, "000000").await {
        for st in staff {
            m.insert(
                format!("account:{}", st.account_id),
                format!("{}（{}）", st.name, st.login),
            );
        }
    }
    m
}

// ---------------------------------------------------------------------------------------
// Dashboard and review queue
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog.html")]
struct Dashboard {
    base: Base,
    entries: Vec<store::Entry>,
    departments: BTreeMap<String, String>,
    form: EntriesParams,
    review_count: usize,
    can_edit: bool,
    can_review: bool,
    error: Option<String>,
}

impl Dashboard {
    fn dept(&self, e: &store::Entry) -> String {
        e.department_id
            .as_ref()
            .and_then(|d| self.departments.get(d))
            .cloned()
            .unwrap_or_else(|| self.base.lang.pick("基本目录", "basic directory").into())
    }
    fn state(&self, e: &store::Entry) -> &'static str {
        state_name(self.base.lang, e.open_state)
    }
    fn sel(&self, v: &Option<String>, x: &str) -> bool {
        v.as_deref() == Some(x)
    }
}

async fn departments_by_id(s: &AppState) -> ApiResult<BTreeMap<String, String>> {
    Ok(yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect())
}

async fn dashboard(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Query(form): Query<EntriesParams>,
) -> ApiResult<Response> {
    let base = Base::new(&s, &headers, &uri, &ctx).await;
    let (entries, error) = match entry_filter(&form) {
        Ok(f) => (visible_entries(&s, &ctx, &f).await?, None),
        Err(e) => (vec![], e.errors.first().map(|f| base.lang.msg(f))),
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
struct ReviewPage {
    base: Base,
    entries: Vec<(store::Entry, Option<store::Version>)>,
    departments: BTreeMap<String, String>,
    actors: BTreeMap<String, String>,
}

impl ReviewPage {
    fn dept(&self, e: &store::Entry) -> String {
        e.department_id
            .as_ref()
            .and_then(|d| self.departments.get(d))
            .cloned()
            .unwrap_or_else(|| self.base.lang.pick("基本目录", "basic directory").into())
    }
    fn who(&self, v: &Option<store::Version>) -> String {
        v.as_ref()
            .and_then(|v| v.submitted_by.as_ref())
            .map(|a| self.actors.get(a).cloned().unwrap_or_else(|| a.clone()))
            .unwrap_or_default()
    }
    fn when(&self, v: &Option<store::Version>) -> String {
        v.as_ref().map(|v| when(v.updated_at)).unwrap_or_default()
    }
}

async fn review_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<ReviewPage> {
    let base = Base::new(&s, &headers, &uri, &ctx).await;
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

// ---------------------------------------------------------------------------------------
// New entry
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_new.html")]
struct NewPage {
    base: Base,
    basics: Vec<store::Entry>,
    departments: Vec<yiwang_core::orgs::Department>,
    can_basic: bool,
    errors: Vec<FieldError>,
    values: BTreeMap<String, String>,
}

impl NewPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn v(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }
    fn types(&self) -> Vec<(&'static str, &'static str)> {
        core::ItemType::ALL
            .iter()
            .map(|t| (t.as_str(), self.base.lang.name(&t)))
            .collect()
    }
}

async fn render_new(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    errors: Vec<FieldError>,
    values: BTreeMap<String, String>,
) -> ApiResult<Response> {
    let base = Base::new(s, headers, uri, ctx).await;
    let basics = store::entries(
        &s.store,
        &store::EntryFilter {
            kind: Some(EntryKind::Basic),
            ..Default::default()
        },
    )
    .await?
    .into_iter()
    .filter(|e| e.published_version.is_some())
    .collect();
    let departments = yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .filter(|d| {
            ctx.actor
                .authorize(
                    Permission::CatalogManage,
                    &Target::Department {
                        id: d.id.clone(),
                        region_code: d.region_code.clone(),
                    },
                )
                .is_ok()
        })
        .collect();
    let can_basic = ctx
        .actor
        .authorize(
            Permission::CatalogManage,
            &Target::Region {
                code: s.home_region.clone(),
            },
        )
        .is_ok();
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        NewPage {
            base,
            basics,
            departments,
            can_basic,
            errors,
            values,
        },
    )
        .into_response())
}

async fn new_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<Response> {
    render_new(&s, &ctx, &headers, &uri, vec![], BTreeMap::new()).await
}

/// Creates an implementation item from a published basic entry, or a basic entry from
/// the essential elements (completed afterwards in the edit form).
async fn new_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let values: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k != "_csrf")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let v = |k: &str| values.get(k).cloned().unwrap_or_default();
    let result: Result<serde_json::Value, ApiError> = async {
        match v("kind").as_str() {
            "item" => {
                ctx.require(
                    Permission::CatalogManage,
                    &department_target(&s, &v("department_id")).await?,
                )?;
                Ok(s.store
                    .write(
                        ctx.meta(),
                        catalog_cmd(Cmd::CreateItem {
                            basic_code: v("basic_code"),
                            department_id: v("department_id"),
                            own: Map::new(),
                            dates: Dates::default(),
                        }),
                    )
                    .await?
                    .value)
            }
            "basic" => {
                ctx.require(
                    Permission::CatalogManage,
                    &Target::Region {
                        code: s.home_region.clone(),
                    },
                )?;
                let mut p = yiwang_core::error::Problems::new();
                let item_type = core::ItemType::parse(&v("item_type"));
                if item_type.is_none() {
                    p.push(FieldError::new(
                        "item_type",
                        "required",
                        "请选择事项类型",
                        "choose the item type",
                    ));
                }
                let promised = v("promised_days").trim().parse::<u32>();
                if promised.is_err() {
                    p.push(FieldError::new(
                        "promised_days",
                        "type",
                        "承诺办结时限应为工作日数（0 为即办）",
                        "the promised limit is a number of working days (0: on the spot)",
                    ));
                }
                p.finish().map_err(|d| ApiError::from(StoreError::from(d)))?;
                let mut e = Elements::new(v("name").trim(), item_type.expect("checked"));
                let days = promised.expect("checked");
                e.promised_limit = Some(core::TimeLimit::working_days(days));
                if days == 0 {
                    e.case_kind = core::CaseKind::Instant;
                }
                if let Ok(st) = v("statutory_days").trim().parse::<u32>() {
                    e.statutory_limit = Some(core::TimeLimit::working_days(st));
                }
                e.service_objects = values
                    .get("audience")
                    .map(|a| match a.as_str() {
                        "legal" => vec![core::ServiceObject::Enterprise],
                        _ => vec![core::ServiceObject::NaturalPerson],
                    })
                    .unwrap_or_default();
                e.handling_forms = vec![core::HandlingForm::Window];
                if !v("law").trim().is_empty() {
                    e.legal_basis = vec![core::LegalBasis {
                        law: v("law").trim().into(),
                        doc_no: None,
                        article: Some(v("article").trim().to_string()).filter(|a| !a.is_empty()),
                        text: v("article_text").trim().into(),
                    }];
                }
                let code = Some(v("basic_code").trim().to_string()).filter(|c| !c.is_empty());
                Ok(s.store
                    .write(
                        ctx.meta(),
                        catalog_cmd(Cmd::CreateBasic {
                            basic_code: code,
                            region_code: s.home_region.clone(),
                            elements: e,
                            dates: Dates::default(),
                        }),
                    )
                    .await?
                    .value)
            }
            _ => Err(ApiError::from(StoreError::from(yiwang_core::DomainError::invalid(
                vec![FieldError::new(
                    "kind",
                    "required",
                    "请选择新建基本目录还是实施清单",
                    "choose basic entry or item",
                )],
            )))),
        }
    }
    .await;
    match result {
        Ok(w) => {
            let id = w["entry"]["id"].as_str().unwrap_or_default().to_string();
            Ok(Redirect::to(&format!("/catalog/entries/{id}/edit")).into_response())
        }
        Err(e) => render_new(&s, &ctx, &headers, &uri, e.into_field_errors(), values).await,
    }
}

// ---------------------------------------------------------------------------------------
// An entry: versions, history, diff, actions
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, serde::Deserialize)]
struct EntryQuery {
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    to: Option<i64>,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_entry.html")]
struct EntryPage {
    base: Base,
    entry: store::Entry,
    department: Option<String>,
    versions: Vec<VersionSummary>,
    open: Option<store::Version>,
    history: Vec<HistoryRow>,
    actors: BTreeMap<String, String>,
    diff: Option<(i64, i64, Vec<core::Change>)>,
    can_edit: bool,
    can_review: bool,
    me: String,
    errors: Vec<FieldError>,
    notice: Option<String>,
    public_code: Option<String>,
}

impl EntryPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn who(&self, a: &str) -> String {
        let first = a.split('>').next().unwrap_or(a);
        self.actors.get(first).cloned().unwrap_or_else(|| a.to_string())
    }
    fn who_opt(&self, a: &Option<String>) -> String {
        a.as_deref().map(|a| self.who(a)).unwrap_or_default()
    }
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
    fn state(&self, s: &VersionState) -> &'static str {
        self.base.lang.name(&s)
    }
    fn open_state(&self) -> &'static str {
        state_name(self.base.lang, self.entry.open_state)
    }
    fn event(&self, k: &str) -> &'static str {
        let l = self.base.lang;
        match k {
            "catalog.entry_created" => l.pick("创建", "created"),
            "catalog.draft_saved" => l.pick("保存草稿", "draft saved"),
            "catalog.submitted" => l.pick("提交审核", "submitted"),
            "catalog.recalled" => l.pick("撤回", "recalled"),
            "catalog.returned" => l.pick("审核退回", "returned"),
            "catalog.published" => l.pick("审核发布", "published"),
            "catalog.discarded" => l.pick("废弃草稿", "discarded"),
            "catalog.inherited" => l.pick("继承基本目录的锁定要素", "locked elements inherited"),
            "catalog.draft_rebased" => l.pick("草稿同步基本目录", "draft rebased"),
            _ => l.pick("变更", "change"),
        }
    }
    fn changed(&self, h: &HistoryRow) -> String {
        if h.changed.len() > 8 {
            return format!("{} {}", h.changed.len(), self.base.lang.pick("项要素", "elements"));
        }
        h.changed
            .iter()
            .map(|c| core::element_zh(c))
            .collect::<Vec<_>>()
            .join(self.base.lang.pick("、", ", "))
    }
    fn show(&self, v: &Value) -> String {
        match v {
            Value::Null => "–".into(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    fn may_submit(&self) -> bool {
        self.can_edit && self.entry.open_state == Some(VersionState::Draft)
    }
    fn may_recall(&self) -> bool {
        self.can_edit
            && self.entry.open_state == Some(VersionState::Submitted)
            && self.open.as_ref().and_then(|o| o.submitted_by.as_deref()) == Some(self.me.as_str())
    }
    fn may_review(&self) -> bool {
        self.can_review && self.entry.open_state == Some(VersionState::Submitted)
    }
    /// Four eyes, shown before trying: the reviewer edited or submitted this version.
    fn own_work(&self) -> bool {
        self.open.as_ref().is_some_and(|o| {
            o.submitted_by.as_deref() == Some(self.me.as_str()) || o.editors.iter().any(|e| e == &self.me)
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_entry(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    id: &str,
    q: EntryQuery,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> ApiResult<Response> {
    let base = Base::new(s, headers, uri, ctx).await;
    let entry = load_entry(s, id).await?;
    let target = entry_target(s, &entry);
    let all = store::versions_of(&s.store, id).await?;
    let versions: Vec<VersionSummary> = all.iter().map(summary).rev().collect();
    let open = entry
        .open_version
        .and_then(|v| all.iter().find(|x| x.version == v).cloned());
    let diff = match (q.from, q.to) {
        (Some(a), Some(b)) => match store::diff(&s.store, id, a, b).await {
            Ok(d) => Some((a, b, d)),
            Err(_) => None,
        },
        _ => {
            // By default: what the open version changes against the last publication.
            match (entry.published_version, entry.open_version) {
                (Some(p), Some(o)) => Some((p, o, store::diff(&s.store, id, p, o).await?)),
                _ => None,
            }
        }
    };
    let department = match &entry.department_id {
        Some(d) => yiwang_store::orgs::department(&s.store.read, d).await?.map(|d| d.name),
        None => None,
    };
    let public_code = match entry.kind {
        EntryKind::Item => store::service(&s.store, &entry.code, now_ms()).await?.map(|x| x.code),
        EntryKind::Basic => None,
    };
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        EntryPage {
            can_edit: ctx.actor.authorize(Permission::CatalogManage, &target).is_ok(),
            can_review: ctx.actor.authorize(Permission::CatalogReview, &target).is_ok(),
            me: ctx.ledger_actor(),
            history: history(s, id).await?,
            actors: actor_names(s).await,
            base,
            entry,
            department,
            versions,
            open,
            diff,
            errors,
            notice,
            public_code,
        },
    )
        .into_response())
}

async fn entry_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query<EntryQuery>,
) -> ApiResult<Response> {
    render_entry(&s, &ctx, &headers, &uri, &id, q, vec![], None).await
}

/// Submit, recall, discard (editors); publish, return (reviewers).
async fn act_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let entry = load_entry(&s, &id).await?;
    let target = entry_target(&s, &entry);
    let lang = Base::new(&s, &headers, &uri, &ctx).await.lang;
    let (action, perm, done) = match form.get("action").map(String::as_str) {
        Some("submit") => (
            Action::Submit,
            Permission::CatalogManage,
            lang.pick("已提交审核", "Submitted for review"),
        ),
        Some("recall") => (
            Action::Recall,
            Permission::CatalogManage,
            lang.pick("已撤回", "Recalled"),
        ),
        Some("discard") => (
            Action::Discard,
            Permission::CatalogManage,
            lang.pick("草稿已废弃", "Draft discarded"),
        ),
        Some("publish") => (
            Action::Publish,
            Permission::CatalogReview,
            lang.pick("已审核发布", "Published"),
        ),
        Some("return") => (
            Action::Return {
                reasons: form.get("reasons").cloned().unwrap_or_default(),
            },
            Permission::CatalogReview,
            lang.pick("已退回修改", "Returned"),
        ),
        _ => {
            let e = FieldError::new("action", "required", "未知操作", "unknown action");
            return render_entry(&s, &ctx, &headers, &uri, &id, EntryQuery::default(), vec![e], None).await;
        }
    };
    ctx.require(perm, &target)?;
    match s
        .store
        .write(
            ctx.meta(),
            catalog_cmd(Cmd::Act {
                entry_id: id.clone(),
                action,
            }),
        )
        .await
    {
        Ok(_) => {
            render_entry(
                &s,
                &ctx,
                &headers,
                &uri,
                &id,
                EntryQuery::default(),
                vec![],
                Some(done.into()),
            )
            .await
        }
        Err(e) => {
            render_entry(
                &s,
                &ctx,
                &headers,
                &uri,
                &id,
                EntryQuery::default(),
                ApiError::from(e).into_field_errors(),
                None,
            )
            .await
        }
    }
}

// ---------------------------------------------------------------------------------------
// The edit form
// ---------------------------------------------------------------------------------------

/// Multi-valued choices (checkbox groups).
const MULTI: &[&str] = &["service_objects", "handling_forms", "online_depth"];
/// Lists of words, one per line or separated by 、.
const WORD_LISTS: &[&str] = &[
    "aliases",
    "keywords",
    "themes",
    "joint_agencies",
    "intermediary_services",
];
/// Lists edited as rows.
const ROW_LISTS: &[(&str, &[&str])] = &[
    ("legal_basis", &["law"]),
    ("materials", &["key", "name"]),
    ("fees", &["name"]),
    ("steps", &["name"]),
    ("faq", &["q"]),
];
/// Booleans (checkboxes; unchecked means false).
const BOOLS: &[&str] = &[
    "online",
    "online_payment",
    "post_delivery",
    "in_hall",
    "appointment",
    "self_service",
];
/// Elements edited as JSON in the advanced box.
const ADVANCED: &[&str] = &["questions", "form", "handling_items", "special_procedures"];
/// Whole-number leaves.
const NUMBERS: &[&str] = &[
    "value",
    "visits",
    "originals",
    "copies",
    "days",
    "check_days",
    "amount_fen",
];

/// An optional leaf: empty means absent.
fn optional_leaf(path: &str) -> bool {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    matches!(
        leaf,
        "local_code"
            | "entrusting_department"
            | "visit_reason"
            | "quantity_limit"
            | "pc_url"
            | "mobile_url"
            | "note"
            | "paper_spec"
            | "notes"
            | "sign_seal"
            | "licence_type"
            | "amount_fen"
            | "reduction_basis"
            | "doc_no"
            | "article"
            | "check_method"
    ) || (path.starts_with("materials[") && leaf == "basis")
}

/// Splits `materials[2].source.channel` into segments.
fn segments(path: &str) -> Vec<Seg> {
    let mut out = vec![];
    for part in path.split('.') {
        match part.split_once('[') {
            Some((name, rest)) => {
                out.push(Seg::Key(name.to_string()));
                if let Ok(i) = rest.trim_end_matches(']').parse() {
                    out.push(Seg::Index(i));
                }
            }
            None => out.push(Seg::Key(part.to_string())),
        }
    }
    out
}

enum Seg {
    Key(String),
    Index(usize),
}

fn set_path(root: &mut Value, path: &str, v: Value) {
    let segs = segments(path);
    let mut cur = root;
    for (i, s) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match s {
            Seg::Key(k) => {
                if !cur.is_object() {
                    *cur = Value::Object(Map::new());
                }
                let m = cur.as_object_mut().expect("object");
                if last {
                    m.insert(k.clone(), v);
                    return;
                }
                cur = m.entry(k.clone()).or_insert(Value::Null);
            }
            Seg::Index(n) => {
                if !cur.is_array() {
                    *cur = Value::Array(vec![]);
                }
                let a = cur.as_array_mut().expect("array");
                while a.len() <= *n {
                    a.push(Value::Null);
                }
                if last {
                    a[*n] = v;
                    return;
                }
                cur = &mut a[*n];
            }
        }
    }
}

/// What the form shows: a value per JSON path, the checked values of each checkbox
/// group, the advanced JSON, and the proposed dates.
#[derive(Debug, Clone, Default)]
struct FormState {
    values: BTreeMap<String, String>,
    multi: BTreeMap<String, Vec<String>>,
    advanced: String,
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Value::Bool(b) => {
            out.insert(prefix.to_string(), if *b { "1".into() } else { String::new() });
        }
        Value::Number(n) => {
            out.insert(prefix.to_string(), n.to_string());
        }
    }
}

impl FormState {
    fn of(e: &Elements, dates: (Option<i64>, Option<i64>)) -> FormState {
        let mut m = e.to_map();
        let mut st = FormState::default();
        for k in MULTI {
            if let Some(Value::Array(a)) = m.remove(*k) {
                st.multi.insert(
                    k.to_string(),
                    a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
                );
            }
        }
        for k in WORD_LISTS {
            if let Some(Value::Array(a)) = m.remove(*k) {
                let words: Vec<&str> = a.iter().filter_map(|x| x.as_str()).collect();
                st.values.insert(k.to_string(), words.join("\n"));
            }
        }
        let mut adv = Map::new();
        for k in ADVANCED {
            if let Some(v) = m.remove(*k) {
                adv.insert(k.to_string(), v);
            }
        }
        st.advanced = serde_json::to_string_pretty(&Value::Object(adv)).unwrap_or_default();
        flatten("", &Value::Object(m), &mut st.values);
        if let Some(d) = dates.0 {
            st.values
                .insert("_effective_from".into(), store::date_of(d).to_string());
        }
        if let Some(d) = dates.1 {
            st.values.insert("_cancel_on".into(), store::date_of(d).to_string());
        }
        st
    }

    fn from_form(pairs: &[(String, String)]) -> FormState {
        let mut st = FormState::default();
        for (k, v) in pairs {
            match k.as_str() {
                "_csrf" | "_base_version" => {}
                "_advanced" => st.advanced = v.clone(),
                k if MULTI.contains(&k) => st.multi.entry(k.to_string()).or_default().push(v.clone()),
                _ => {
                    st.values.insert(k.clone(), v.clone());
                }
            }
        }
        st
    }

    /// The elements the form describes, laid over `current` (elements the form does not
    /// carry stay as they are).
    fn to_elements(&self, current: &Elements) -> Result<(Elements, Dates), Vec<FieldError>> {
        let mut errors = vec![];
        let mut root = Value::Object(current.to_map());
        let obj = root.as_object_mut().expect("object");
        for (list, _) in ROW_LISTS {
            obj.insert(list.to_string(), Value::Array(vec![]));
        }
        for k in MULTI {
            let vals: Vec<Value> = self
                .multi
                .get(*k)
                .map(|v| v.iter().map(|x| Value::String(x.clone())).collect())
                .unwrap_or_default();
            obj.insert(k.to_string(), Value::Array(vals));
        }
        for k in WORD_LISTS {
            let words: Vec<Value> = self
                .values
                .get(*k)
                .map(|s| {
                    s.lines()
                        .map(str::trim)
                        .filter(|w| !w.is_empty())
                        .map(|w| Value::String(w.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            obj.insert(k.to_string(), Value::Array(words));
        }
        for b in BOOLS {
            obj.insert(
                b.to_string(),
                Value::Bool(self.values.get(*b).is_some_and(|v| v == "1")),
            );
        }
        // Rows: dropped when their identifying fields are all empty.
        let mut rows: BTreeMap<(String, usize), Vec<(&String, &String)>> = BTreeMap::new();
        for (k, v) in &self.values {
            if let Some((list, _)) = ROW_LISTS.iter().find(|(l, _)| k.starts_with(&format!("{l}[")))
                && let Some(rest) = k.strip_prefix(&format!("{list}["))
                && let Some((i, _)) = rest.split_once(']')
                && let Ok(i) = i.parse::<usize>()
            {
                rows.entry((list.to_string(), i)).or_default().push((k, v));
            }
        }
        let mut next_index: BTreeMap<String, usize> = BTreeMap::new();
        for ((list, _), fields) in rows {
            let ids = ROW_LISTS
                .iter()
                .find(|(l, _)| *l == list)
                .map(|(_, ids)| *ids)
                .unwrap_or(&[]);
            let blank = fields.iter().all(|(k, v)| {
                let leaf = k.rsplit('.').next().unwrap_or(k);
                !ids.contains(&leaf) || v.trim().is_empty()
            });
            if blank {
                continue;
            }
            let n = next_index.entry(list.clone()).or_insert(0);
            let mut row = Value::Object(Map::new());
            for (k, v) in fields {
                let sub = k.split_once("].").map(|x| x.1).unwrap_or("");
                if sub.is_empty() {
                    continue;
                }
                set_path(&mut row, sub, leaf_value(k, v));
            }
            // Booleans of a row: present only when checked.
            if list == "fees" && row.get("reducible").is_none() {
                set_path(&mut row, "reducible", Value::Bool(false));
            }
            if list == "materials" {
                for f in ["blank_form", "sample"] {
                    if row
                        .get(f)
                        .and_then(|x| x.get("url"))
                        .is_none_or(|u| u.is_null() || u == "")
                    {
                        row.as_object_mut().expect("row").remove(f);
                    }
                }
                if row.get("key").and_then(|k| k.as_str()).is_none_or(|k| k.is_empty()) {
                    set_path(&mut row, "key", Value::String(format!("m{}", *n + 1)));
                }
            }
            if let Some(Value::Array(a)) = root.get_mut(&list) {
                a.push(row);
            }
            *n += 1;
        }
        // Scalars and nested objects.
        for (k, v) in &self.values {
            if k.starts_with('_')
                || BOOLS.contains(&k.as_str())
                || WORD_LISTS.contains(&k.as_str())
                || ROW_LISTS.iter().any(|(l, _)| k.starts_with(&format!("{l}[")))
            {
                continue;
            }
            set_path(&mut root, k, leaf_value(k, v));
        }
        // Optional objects whose main field is empty are absent.
        for (obj, main) in [
            ("statutory_limit", "value"),
            ("promised_limit", "value"),
            ("commitment", "text"),
            ("result", "name"),
        ] {
            let empty = root
                .get(obj)
                .and_then(|o| o.get(main))
                .is_none_or(|m| m.is_null() || m == "");
            if empty {
                root.as_object_mut()
                    .expect("object")
                    .insert(obj.to_string(), Value::Null);
            }
        }
        if let Some(Value::Object(c)) = root.get_mut("commitment")
            && c.get("check_days").is_none_or(|d| d.is_null())
        {
            c.insert("check_days".into(), Value::from(0));
        }
        if !self.advanced.trim().is_empty() {
            match serde_json::from_str::<Value>(&self.advanced) {
                Ok(Value::Object(m)) => {
                    for (k, v) in m {
                        if ADVANCED.contains(&k.as_str()) {
                            root.as_object_mut().expect("object").insert(k, v);
                        } else {
                            errors.push(FieldError::new(
                                "_advanced",
                                "catalog.advanced_key",
                                format!(
                                    "高级要素中只能包含：{}；「{k}」请在上面的表单中填写",
                                    ADVANCED.join("、")
                                ),
                                format!("the advanced box holds {} only; edit '{k}' above", ADVANCED.join(", ")),
                            ));
                        }
                    }
                }
                Ok(_) => errors.push(FieldError::new(
                    "_advanced",
                    "json",
                    "高级要素应为一个 JSON 对象",
                    "the advanced box holds one JSON object",
                )),
                Err(e) => errors.push(FieldError::new(
                    "_advanced",
                    "json.syntax",
                    format!("JSON 格式错误（第 {} 行第 {} 列）", e.line(), e.column()),
                    format!("malformed JSON at line {} column {}", e.line(), e.column()),
                )),
            }
        }
        let date = |k: &str, errors: &mut Vec<FieldError>| -> Option<chrono::NaiveDate> {
            let v = self.values.get(k).map(|s| s.trim()).unwrap_or("");
            if v.is_empty() {
                return None;
            }
            match v.parse() {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(FieldError::new(
                        k.trim_start_matches('_'),
                        "date.format",
                        "日期格式应为 YYYY-MM-DD",
                        "a date is written YYYY-MM-DD",
                    ));
                    None
                }
            }
        };
        let dates = Dates {
            effective_from: date("_effective_from", &mut errors),
            cancel_on: date("_cancel_on", &mut errors),
        };
        match core::elements_from_value(root, "") {
            Ok(e) if errors.is_empty() => Ok((e, dates)),
            Ok(_) => Err(errors),
            Err(d) => {
                errors.extend(d.errors.into_iter().map(|mut f| {
                    f.field = f.field.trim_start_matches('.').to_string();
                    f
                }));
                Err(errors)
            }
        }
    }
}

fn leaf_value(path: &str, v: &str) -> Value {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let t = v.trim();
    if t.is_empty() && optional_leaf(path) {
        return Value::Null;
    }
    if NUMBERS.contains(&leaf) {
        if t.is_empty() {
            return Value::Null;
        }
        if let Ok(n) = t.parse::<i64>() {
            return Value::from(n);
        }
    }
    if leaf == "reducible" {
        return Value::Bool(t == "1");
    }
    Value::String(t.to_string())
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_edit.html")]
struct EditPage {
    base: Base,
    entry: store::Entry,
    st: FormState,
    errors: Vec<FieldError>,
    base_version: i64,
    locked: Vec<String>,
    is_item: bool,
}

impl EditPage {
    fn msg(&self, e: &FieldError) -> String {
        self.base.lang.msg(e)
    }
    fn v(&self, path: &str) -> &str {
        self.st.values.get(path).map(String::as_str).unwrap_or("")
    }
    fn checked(&self, path: &str) -> bool {
        self.v(path) == "1"
    }
    fn has(&self, group: &str, value: &str) -> bool {
        self.st.multi.get(group).is_some_and(|v| v.iter().any(|x| x == value))
    }
    /// The error messages of a field (and of the fields under it).
    fn err(&self, path: &str) -> String {
        self.errors
            .iter()
            .filter(|e| {
                e.field == path || e.field.starts_with(&format!("{path}.")) || e.field.starts_with(&format!("{path}["))
            })
            .map(|e| self.base.lang.msg(e))
            .collect::<Vec<_>>()
            .join("；")
    }
    /// Is the element of this path locked (an item inherits it from the basic entry)?
    fn locked(&self, path: &str) -> bool {
        let element = path.split(['.', '[']).next().unwrap_or(path);
        self.is_item && self.locked.iter().any(|l| l == element)
    }
    /// Row indices of a list: the rows there are, and one empty row to add.
    fn rows(&self, list: &str) -> Vec<usize> {
        let prefix = format!("{list}[");
        let n = self
            .st
            .values
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter_map(|r| r.split_once(']').and_then(|(i, _)| i.parse::<usize>().ok()))
            .max()
            .map(|m| m + 1)
            .unwrap_or(0);
        let extra = if self.locked(list) { 0 } else { 1 };
        (0..n + extra).collect()
    }
    fn p(&self, list: &str, i: &usize, field: &str) -> String {
        format!("{list}[{i}].{field}")
    }
    fn opts(&self, which: &str) -> Vec<(&'static str, &'static str)> {
        let en = self.base.lang.is_en();
        macro_rules! o {
            ($t:ty) => {
                <$t>::ALL
                    .iter()
                    .map(|x| (x.as_str(), if en { x.en() } else { x.zh() }))
                    .collect()
            };
        }
        match which {
            "item_type" => o!(core::ItemType),
            "case_kind" => o!(core::CaseKind),
            "unit" => o!(core::TimeUnit),
            "tongban" => o!(core::TongbanScope),
            "power_source" => o!(core::PowerSource),
            "service_objects" => o!(core::ServiceObject),
            "handling_forms" => o!(core::HandlingForm),
            "online_depth" => o!(core::OnlineDepth),
            "kind" => o!(core::MaterialKind),
            "form" => o!(core::MaterialForm),
            "necessity" => o!(core::Necessity),
            "channel" => o!(core::SourceChannel),
            "role" => o!(core::StepRole),
            "result_kind" => o!(core::ResultKind),
            _ => vec![],
        }
    }
    fn sel(&self, path: &str, value: &str, default: &str) -> bool {
        let v = self.v(path);
        if v.is_empty() { value == default } else { v == value }
    }
}

async fn render_edit(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    entry: store::Entry,
    st: FormState,
    errors: Vec<FieldError>,
) -> ApiResult<Response> {
    let base = Base::new(s, headers, uri, ctx).await;
    let status = crate::pages::form_status(&errors);
    Ok((
        status,
        EditPage {
            base,
            base_version: entry.latest_version,
            is_item: entry.kind == EntryKind::Item,
            locked: s.store.config.catalog.locked.clone(),
            entry,
            st,
            errors,
        },
    )
        .into_response())
}

async fn edit_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let entry = load_entry(&s, &id).await?;
    let v = current_version(&s, &entry).await?;
    // A new draft proposes its own effective date (the published one's is past); a planned
    // cancellation carries over until changed.
    let effective = if entry.open_version == Some(v.version) {
        v.effective_from
    } else {
        None
    };
    let st = FormState::of(&v.elements, (effective, v.cancel_on));
    render_edit(&s, &ctx, &headers, &uri, entry, st, vec![]).await
}

async fn current_version(s: &AppState, e: &store::Entry) -> ApiResult<store::Version> {
    let v = e.open_version.or(e.published_version).unwrap_or(e.latest_version);
    store::version_of(&s.store, &e.id, v)
        .await?
        .ok_or_else(|| ApiError::not_found("version"))
}

async fn edit_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let base_version = pairs
        .iter()
        .find(|(k, _)| k == "_base_version")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let st = FormState::from_form(&pairs);
    let entry = load_entry(&s, &id).await?;
    let current = current_version(&s, &entry).await?;
    let (elements, dates) = match st.to_elements(&current.elements) {
        Ok(x) => x,
        Err(errors) => return render_edit(&s, &ctx, &headers, &uri, entry, st, errors).await,
    };
    let r = s
        .store
        .write(
            ctx.meta(),
            catalog_cmd(Cmd::SaveDraft {
                entry_id: id.clone(),
                elements,
                dates,
                base_version,
            }),
        )
        .await;
    match r {
        Ok(_) => {
            let lang = Base::new(&s, &headers, &uri, &ctx).await.lang;
            render_entry(
                &s,
                &ctx,
                &headers,
                &uri,
                &id,
                EntryQuery::default(),
                vec![],
                Some(lang.pick("草稿已保存", "Draft saved").into()),
            )
            .await
        }
        Err(e) => {
            let errors = ApiError::from(e)
                .into_field_errors()
                .into_iter()
                .map(|mut f| {
                    f.field = f.field.trim_start_matches("elements.").to_string();
                    f
                })
                .collect();
            render_edit(&s, &ctx, &headers, &uri, entry, st, errors).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_import.html")]
struct ImportPage {
    base: Base,
    report: Option<store::ImportReport>,
    file: Option<String>,
}

impl ImportPage {
    fn place(&self, p: &store::ImportProblem) -> String {
        if self.base.lang.is_en() {
            p.place_en()
        } else {
            p.place_zh()
        }
    }
    fn text(&self, p: &store::ImportProblem) -> String {
        self.base.lang.pick(&p.zh, &p.en).to_string()
    }
}

async fn import_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<ImportPage> {
    Ok(ImportPage {
        base: Base::new(&s, &headers, &uri, &ctx).await,
        report: None,
        file: None,
    })
}

async fn import_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    mut mp: Multipart,
) -> ApiResult<Response> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut dry_run = false;
    let mut submit = false;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(FieldError::new(
            "file",
            "upload",
            format!("上传失败：{e}"),
            format!("the upload failed: {e}"),
        ))
    };
    while let Some(f) = mp.next_field().await.map_err(bad)? {
        match f.name().unwrap_or("") {
            "file" => {
                let name = f.file_name().unwrap_or("").to_string();
                let bytes = f.bytes().await.map_err(bad)?;
                file = Some((name, bytes.to_vec()));
            }
            "dry_run" => dry_run = true,
            "submit" => submit = true,
            _ => {}
        }
    }
    let base = Base::new(&s, &headers, &uri, &ctx).await;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let report = store::ImportReport {
            problems: vec![store::ImportProblem::of(FieldError::new(
                "file",
                "required",
                "请选择要导入的文件",
                "choose a file to import",
            ))],
            ..Default::default()
        };
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportPage {
                base,
                report: Some(report),
                file: None,
            },
        )
            .into_response());
    };
    let format = sheets::Format::guess(&name, &bytes);
    let report = import_bytes(&s, &ctx, format, &bytes, dry_run, submit).await?;
    let status = if report.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        ImportPage {
            base,
            report: Some(report),
            file: Some(name),
        },
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// Dictionary and level differences
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_elements.html")]
struct ElementsPage {
    base: Base,
    elements: Vec<core::DataElement>,
}

impl ElementsPage {
    fn kind(&self, d: &core::DataElement) -> &'static str {
        self.base.lang.name(&d.kind)
    }
}

async fn elements_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<ElementsPage> {
    Ok(ElementsPage {
        base: Base::new(&s, &headers, &uri, &ctx).await,
        elements: store::data_elements(&s.store).await?,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
struct DiffQuery {
    #[serde(default)]
    basic_code: String,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "catalog_differences.html")]
struct DifferencesPage {
    base: Base,
    basics: Vec<store::Entry>,
    chosen: String,
    report: Option<store::Differences>,
    error: Option<String>,
}

impl DifferencesPage {
    fn show(&self, v: &Value) -> String {
        match v {
            Value::Null => "–".into(),
            Value::String(s) => s.clone(),
            Value::Object(m) if m.contains_key("value") && m.contains_key("unit") => {
                let l: Result<core::TimeLimit, _> = serde_json::from_value(v.clone());
                l.map(|l| {
                    if self.base.lang.is_en() {
                        l.text_en()
                    } else {
                        l.text_zh()
                    }
                })
                .unwrap_or_else(|_| v.to_string())
            }
            other => {
                let s = other.to_string();
                if s.chars().count() > 120 {
                    format!("{}…", s.chars().take(120).collect::<String>())
                } else {
                    s
                }
            }
        }
    }
    fn value_of<'a>(&self, d: &'a core::LevelDifference, code: &str) -> &'a Value {
        d.values.get(code).unwrap_or(&Value::Null)
    }
}

async fn differences_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<DiffQuery>,
) -> ApiResult<Response> {
    let base = Base::new(&s, &headers, &uri, &ctx).await;
    let basics = store::entries(
        &s.store,
        &store::EntryFilter {
            kind: Some(EntryKind::Basic),
            ..Default::default()
        },
    )
    .await?;
    let (report, error) = if q.basic_code.is_empty() {
        (None, None)
    } else {
        match store::differences(&s.store, &q.basic_code).await {
            Ok(r) => (Some(r), None),
            Err(e) => (
                None,
                ApiError::from(e).into_field_errors().first().map(|f| base.lang.msg(f)),
            ),
        }
    };
    Ok(DifferencesPage {
        base,
        basics,
        chosen: q.basic_code,
        report,
        error,
    }
    .into_response())
}
