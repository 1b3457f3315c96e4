//! Public catalogue pages: search with facets (htmx swaps in the results of the same page
//! as one types and keeps the address bar in step; the plain form works without
//! JavaScript), the guide of an item (办事指南) with the
//! situation questionnaire and a process diagram, print-friendly, and the lists (清单).

use super::{Guide, ListRow, MaterialList, SearchParams, guide_of, list_kind, list_params, list_rows, material_list};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::i18n::Lang;
use crate::pages::Base;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use yiwang_core::catalog::{self as core, Material, Question, StepRole};
use yiwang_store::catalog::{ListKind, ServiceFilter};
use yiwang_store::now_ms;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/services", get(search_page))
        .route("/services/{service_code}", get(guide_page))
        .route("/services/{service_code}/form", get(form_page))
        .route("/fragments/services/{service_code}/materials", get(materials_fragment))
        .route("/lists", get(lists_page))
        .route("/lists/{kind}", get(list_page))
}

use crate::pages::urlencode;

// ---------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------

/// The raw query string of the search form (so bad values are shown, not rejected).
#[derive(Debug, Default, serde::Deserialize)]
struct SearchForm {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    full_online: String,
    /// At least this many stars of online depth.
    #[serde(default)]
    stars: String,
    #[serde(default)]
    page: Option<usize>,
}

const PAGE: usize = 10;

impl SearchForm {
    fn params(&self) -> SearchParams {
        let page = self.page.unwrap_or(1).max(1);
        SearchParams {
            q: Some(self.q.clone()),
            department: Some(self.department.clone()),
            region: Some(self.region.clone()),
            audience: Some(self.audience.clone()),
            theme: Some(self.theme.clone()),
            min_stars: self.stars.parse().ok(),
            full_online: Some(self.full_online == "1"),
            limit: Some(PAGE),
            offset: Some((page - 1) * PAGE),
        }
    }
    /// This search without its facet filters (the words and audience stay).
    fn cleared(&self) -> String {
        let mut out = vec![format!("q={}", urlencode(&self.q))];
        if !self.audience.is_empty() {
            out.push(format!("audience={}", urlencode(&self.audience)));
        }
        format!("/services?{}", out.join("&"))
    }
    /// This search with one parameter changed (facet links, pages).
    fn with(&self, key: &str, value: &str) -> String {
        let mut pairs = vec![
            ("q", self.q.clone()),
            ("department", self.department.clone()),
            ("region", self.region.clone()),
            ("audience", self.audience.clone()),
            ("theme", self.theme.clone()),
            ("full_online", self.full_online.clone()),
            ("stars", self.stars.clone()),
        ];
        for p in &mut pairs {
            if p.0 == key {
                p.1 = value.to_string();
            }
        }
        let mut out: Vec<String> = pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(&v)))
            .collect();
        if key == "page" {
            out.push(format!("page={value}"));
        }
        format!("/services?{}", out.join("&"))
    }
}

struct SearchView {
    form: SearchForm,
    /// 一件事 the words name: shown before the items.
    bundles: Vec<crate::bundles::BundleSummary>,
    results: yiwang_search::Results,
    error: Option<String>,
    /// City code (4 digits) → name.
    cities: BTreeMap<String, String>,
    page: usize,
    pages: usize,
}

impl SearchView {
    /// Words were typed and something was found, but nothing is named as searched for:
    /// the page says the results are only related.
    fn near_miss(&self) -> bool {
        let q = self.form.q.trim();
        let named = |h: &yiwang_search::Hit| h.name.contains(q) || q.contains(h.name.as_str());
        // Latin letters are pinyin or initials: no name is written in them.
        let latin = q.chars().all(|c| c.is_ascii_alphabetic() || c == ' ');
        !q.is_empty()
            && !latin
            && self.bundles.is_empty()
            && self.form.page.unwrap_or(1) <= 1
            && !self.results.hits.is_empty()
            && !self.results.hits.iter().any(named)
    }
    /// On a near miss, the best result when its name shares two characters in a row with
    /// what was typed ("did you mean"); an unrelated best result is not offered as one.
    fn did_you_mean(&self) -> Option<&yiwang_search::Hit> {
        let q: Vec<char> = self.form.q.trim().chars().collect();
        let h = self.results.hits.first().filter(|_| self.near_miss())?;
        q.windows(2)
            .any(|w| h.name.contains(&w.iter().collect::<String>()))
            .then_some(h)
    }
    fn city_name(&self, c: &str) -> String {
        self.cities.get(c).cloned().unwrap_or_else(|| c.to_string())
    }
    /// Star levels with the number of hits having at least that many stars.
    fn star_levels(&self) -> Vec<(u8, u64)> {
        (1..=5u8)
            .rev()
            .map(|level| {
                let n = self
                    .results
                    .facets
                    .stars
                    .iter()
                    .filter(|(s, _)| s.parse::<u8>().is_ok_and(|s| s >= level))
                    .map(|(_, n)| n)
                    .sum();
                (level, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
    fn audience_name(&self, lang: &Lang, a: &str) -> &'static str {
        match a {
            "person" => lang.pick("个人办事", "Individuals"),
            _ => lang.pick("法人办事", "Businesses"),
        }
    }
}

async fn search_view(s: &AppState, form: SearchForm, lang: Lang) -> ApiResult<SearchView> {
    let (results, error) = match form.params().to_query() {
        Ok(q) => (super::run_search(s, q).await?, None),
        Err(e) => {
            let msg = e.errors.first().map(|f| lang.problem(f)).unwrap_or(e.detail);
            (Default::default(), Some(msg))
        }
    };
    let mut cities = BTreeMap::new();
    for (c, _) in &results.facets.region {
        let code = if c.ends_with("90") || c.len() < 4 {
            format!("{}0000", &c[..2.min(c.len())])
        } else {
            format!("{c}00")
        };
        if let Some(r) = yiwang_store::regions::get(&s.store.read, &code).await? {
            cities.insert(c.clone(), r.name);
        }
    }
    let page = form.page.unwrap_or(1).max(1);
    let pages = results.total.div_ceil(PAGE).max(1);
    let bundles = if page == 1 {
        crate::bundles::matching(s, &form.q).await?
    } else {
        vec![]
    };
    Ok(SearchView {
        form,
        bundles,
        results,
        error,
        cities,
        page,
        pages,
    })
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "services.html")]
struct SearchPage {
    base: Base,
    v: SearchView,
}

async fn search_page(State(s): State<AppState>, Query(form): Query<SearchForm>, base: Base) -> ApiResult<SearchPage> {
    let v = search_view(&s, form, base.lang).await?;
    Ok(SearchPage { base, v })
}

// ---------------------------------------------------------------------------------------
// Guide
// ---------------------------------------------------------------------------------------

/// One box of the process diagram.
pub struct Node {
    pub x: u32,
    pub name: String,
    pub role: String,
    pub days: String,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "guide.html")]
struct GuidePage {
    base: Base,
    g: Guide,
    answers: BTreeMap<String, String>,
    list: MaterialList,
    errors: Vec<yiwang_core::FieldError>,
    /// "If accepted today, decided by …" from the working-day calendar.
    promised_by: Option<String>,
    nodes: Vec<Node>,
    diagram_width: u32,
    print: bool,
    /// Materials the logged-in holder need not submit: (material key, licence name).
    covered: Vec<(String, String)>,
    /// The materials part's own apply link (the guide's apply links carry the answers).
    apply: Option<String>,
}

/// The apply page of `code` for a 办理项 (`handling` suffix, if any), carrying the
/// situation answers given on the guide so they are not asked again.
fn apply_href(code: &str, handling: Option<&str>, answers: &BTreeMap<String, String>) -> String {
    let mut qs: Vec<String> = handling
        .map(|h| format!("handling={}", urlencode(h)))
        .into_iter()
        .collect();
    qs.extend(
        answers
            .iter()
            .map(|(k, v)| format!("q.{}={}", urlencode(k), urlencode(v))),
    );
    if qs.is_empty() {
        format!("/services/{code}/apply")
    } else {
        format!("/services/{code}/apply?{}", qs.join("&"))
    }
}

/// Materials the caller (or whom they act for) need not submit: they hold a valid licence
/// of the type the material's source names (免提交).
async fn covered_for(s: &AppState, ctx: &Ctx, materials: &[Material]) -> ApiResult<Vec<(String, String)>> {
    Ok(match ctx.principal() {
        Some(p) => crate::licences::covered(s, &p, materials)
            .await?
            .into_iter()
            .map(|c| (c.material, c.licence_name))
            .collect(),
        None => vec![],
    })
}

fn covered_by(covered: &[(String, String)], key: &str) -> Option<String> {
    covered.iter().find(|(k, _)| k == key).map(|(_, n)| n.clone())
}

impl GuidePage {
    fn covered_by(&self, key: &str) -> Option<String> {
        covered_by(&self.covered, key)
    }
    /// Printing shows everything expanded.
    fn open_details(&self) -> bool {
        self.print
    }
    fn l(&self) -> Lang {
        self.base.lang
    }
    fn kind_name(&self) -> &'static str {
        let t = self.g.elements.item_type;
        self.l().name(&t)
    }
    fn chosen(&self, q: &Question, c: &core::Choice) -> bool {
        self.answers.get(&q.key) == Some(&c.key)
    }
    fn necessity(&self, m: &Material) -> &'static str {
        self.l().name(&m.necessity)
    }
    fn counts(&self, m: &Material) -> String {
        let mut v = vec![];
        if m.originals > 0 {
            v.push(format!("{}{}", self.l().pick("原件 ", "originals "), m.originals));
        }
        if m.copies > 0 {
            v.push(format!("{}{}", self.l().pick("复印件 ", "copies "), m.copies));
        }
        v.join(self.l().pick("，", ", "))
    }
    fn source(&self, m: &Material) -> String {
        let c = m.source.channel;
        let mut s = self.l().name(&c).to_string();
        if let Some(n) = &m.source.note {
            s.push_str(self.l().pick("（", " ("));
            s.push_str(n);
            s.push_str(self.l().pick("）", ")"));
        }
        s
    }
    fn limit(&self, l: &Option<core::TimeLimit>) -> String {
        match l {
            None => self.l().pick("无", "none").into(),
            Some(l) if self.l().is_en() => l.text_en(),
            Some(l) => l.text_zh(),
        }
    }
    fn joined<T: AsRef<str>>(&self, v: &[T]) -> String {
        v.iter()
            .map(|x| x.as_ref())
            .collect::<Vec<_>>()
            .join(self.l().pick("、", ", "))
    }
    fn objects(&self) -> String {
        let v: Vec<&str> = self
            .g
            .elements
            .service_objects
            .iter()
            .map(|o| self.l().name(&o))
            .collect();
        self.joined(&v)
    }
    fn forms(&self) -> String {
        let v: Vec<&str> = self
            .g
            .elements
            .handling_forms
            .iter()
            .map(|o| self.l().name(&o))
            .collect();
        self.joined(&v)
    }
    fn depth(&self) -> String {
        let v: Vec<&str> = self.g.elements.online_depth.iter().map(|o| self.l().name(&o)).collect();
        self.joined(&v)
    }
    fn stars(&self) -> String {
        "★".repeat(self.g.stars as usize) + &"☆".repeat(5 - self.g.stars.min(5) as usize)
    }
    fn case_kind(&self) -> &'static str {
        let k = self.g.elements.case_kind;
        self.l().name(&k)
    }
    fn tongban(&self) -> &'static str {
        let t = self.g.elements.tongban;
        self.l().name(&t)
    }
    fn special(&self, p: &core::SpecialProcedure) -> String {
        let k = self.l().name(&p.kind);
        match &p.limit {
            Some(l) => format!("{k}{}", self.l().paren(self.limit(&Some(l.clone())))),
            None => k.to_string(),
        }
    }
    fn result_kind(&self, r: &core::ResultSpec) -> &'static str {
        self.l().name(&r.kind)
    }
    fn money(&self, f: &core::Fee) -> String {
        f.amount_fen
            .map(|a| format!("{}.{:02} 元", a / 100, a % 100))
            .unwrap_or_default()
    }
    /// The print view of this guide with the answers given so far.
    fn print_href(&self) -> String {
        let mut qs: Vec<String> = vec!["print=1".into()];
        qs.extend(
            self.answers
                .iter()
                .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))),
        );
        format!("/services/{}?{}", self.g.code, qs.join("&"))
    }
    /// A generated blank form and sample exist for form materials of items with fields.
    fn generated_form(&self, m: &Material) -> bool {
        m.kind == core::MaterialKind::Form && m.blank_form.is_none() && !self.g.elements.form.is_empty()
    }
    fn apply_href(&self, handling: Option<&str>) -> String {
        apply_href(&self.g.code, handling, &self.answers)
    }
    fn handling_code(&self, h: &core::HandlingItem) -> String {
        format!("{}{}", self.g.code, h.suffix)
    }
}

/// The process as boxes left to right.
pub fn diagram(lang: Lang, steps: &[core::Step]) -> (Vec<Node>, u32) {
    let role = |r: StepRole| lang.name(&r);
    let nodes: Vec<Node> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| Node {
            x: 10 + i as u32 * 170,
            name: s.name.chars().take(10).collect(),
            role: role(s.role).to_string(),
            days: if s.days == 0 {
                lang.pick("当日", "same day").to_string()
            } else {
                format!("{} {}", s.days, lang.pick("个工作日", "working days"))
            },
        })
        .collect();
    let width = 20 + nodes.len().max(1) as u32 * 170;
    (nodes, width)
}

#[derive(Debug, Default, serde::Deserialize)]
struct GuideQuery {
    #[serde(default)]
    print: Option<String>,
    #[serde(flatten)]
    answers: BTreeMap<String, String>,
}

async fn render_guide(s: &AppState, ctx: &Ctx, base: Base, code: &str, q: GuideQuery) -> ApiResult<Response> {
    let (_, g) = match guide_of(s, code).await {
        Ok(x) => x,
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            return Ok(crate::pages::not_found(base));
        }
        Err(e) => return Err(e),
    };
    let answers: BTreeMap<String, String> = q.answers.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let (list, errors) = match material_list(&g.elements, &answers) {
        Ok(l) => (l, vec![]),
        Err(e) => (material_list(&g.elements, &BTreeMap::new())?, e.errors),
    };
    let promised_by = match &g.elements.promised_limit {
        Some(l) if l.unit == core::TimeUnit::WorkingDays && l.value > 0 => {
            let today = yiwang_store::catalog::date_of(now_ms());
            let d = yiwang_store::calendar::add_days(&s.store, today, l.value, Some(&g.region_code)).await?;
            Some(if base.lang.is_en() {
                format!(
                    "Accepted today, it is decided by {} ({} working days).",
                    d.date, l.value
                )
            } else {
                format!(
                    "如今天受理，承诺于 {} 前办结（{} 个工作日，已跳过节假日）。",
                    d.date, l.value
                )
            })
        }
        _ => None,
    };
    let (nodes, diagram_width) = diagram(base.lang, &g.elements.steps);
    let status = crate::pages::form_status(&errors);
    let covered = covered_for(s, ctx, &g.elements.materials).await?;
    Ok((
        status,
        GuidePage {
            covered,
            apply: None,
            base,
            g,
            answers,
            list,
            errors,
            promised_by,
            nodes,
            diagram_width,
            print: q.print.is_some(),
        },
    )
        .into_response())
}

async fn guide_page(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
    Path(code): Path<String>,
    Query(q): Query<GuideQuery>,
) -> ApiResult<Response> {
    render_guide(&s, &ctx, base, &code, q).await
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "guide_materials.html")]
struct MaterialsFragment {
    base: Base,
    list: MaterialList,
    errors: Vec<yiwang_core::FieldError>,
    covered: Vec<(String, String)>,
    /// Where to apply with these answers (None: the item is not applied for online).
    apply: Option<String>,
}

impl MaterialsFragment {
    fn covered_by(&self, key: &str) -> Option<String> {
        covered_by(&self.covered, key)
    }
    fn open_details(&self) -> bool {
        false
    }
    fn necessity(&self, m: &Material) -> &'static str {
        self.base.lang.name(&m.necessity)
    }
}

async fn materials_fragment(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(answers): Query<BTreeMap<String, String>>,
    base: Base,
) -> ApiResult<Response> {
    let svc = yiwang_store::catalog::service(&s.store, &code, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("service"))?;
    let answers: BTreeMap<String, String> = answers.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let (list, errors) = match material_list(&svc.elements, &answers) {
        Ok(l) => (l, vec![]),
        Err(e) => (material_list(&svc.elements, &BTreeMap::new())?, e.errors),
    };
    let covered = covered_for(&s, &ctx, &svc.elements.materials).await?;
    let apply = (svc.elements.online && svc.elements.handling_items.is_empty() && !answers.is_empty())
        .then(|| apply_href(&svc.code, None, &answers));
    Ok(MaterialsFragment {
        base,
        list,
        errors,
        covered,
        apply,
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// The application form (申请表), generated from the item's form fields
// ---------------------------------------------------------------------------------------

/// One field of a printed application form.
pub struct PrintedField {
    pub label: String,
    pub required: bool,
    /// Choices to tick (choice and yes/no elements).
    pub options: Vec<String>,
    /// The example value (sample form only).
    pub example: Option<String>,
    /// A hint under the field (format of dates, ID numbers).
    pub hint: &'static str,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "application_form.html")]
struct FormPage {
    base: Base,
    g: Guide,
    fields: Vec<PrintedField>,
    sample: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
struct FormQuery {
    #[serde(default)]
    sample: Option<String>,
}

/// A printable application form with the item's fields (`?sample=1`: filled in with
/// example values, marked 样表), for items whose form fields are in the catalogue.
async fn form_page(
    State(s): State<AppState>,
    base: Base,
    Path(code): Path<String>,
    Query(q): Query<FormQuery>,
) -> ApiResult<Response> {
    let g = match guide_of(&s, &code).await {
        Ok((_, g)) if !g.elements.form.is_empty() => g,
        Ok(_) | Err(_) => return Ok(crate::pages::not_found(base)),
    };
    let dict = yiwang_store::catalog::data_elements(&s.store).await?;
    let sample = q.sample.is_some();
    let fields = g
        .elements
        .form
        .iter()
        .filter_map(|f| {
            let d = dict.iter().find(|d| d.code == f.element)?;
            use yiwang_core::catalog::ElementKind as K;
            let options = match d.kind {
                K::Choice => d.options.clone(),
                K::Boolean => vec!["是".into(), "否".into()],
                _ => vec![],
            };
            let hint = match d.kind {
                K::Date => "YYYY-MM-DD",
                K::IdNumber => "18 位",
                K::Uscc => "18 位",
                K::Phone => "",
                _ => "",
            };
            Some(PrintedField {
                label: f.label.clone().unwrap_or_else(|| d.name.clone()),
                required: f.required,
                options,
                example: sample.then(|| core::example_value(d)),
                hint,
            })
        })
        .collect();
    Ok(FormPage {
        base,
        g,
        fields,
        sample,
    }
    .into_response())
}

// ---------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "lists.html")]
struct ListsPage {
    base: Base,
    lists: Vec<(ListKind, usize)>,
}

impl ListsPage {
    fn title(&self, k: &ListKind) -> &'static str {
        self.base.lang.name(&k)
    }
}

async fn lists_page(State(s): State<AppState>, base: Base) -> ApiResult<ListsPage> {
    let now = now_ms();
    let mut lists = vec![];
    for k in ListKind::ALL {
        let f = ServiceFilter {
            list: Some(k),
            ..Default::default()
        };
        lists.push((k, yiwang_store::catalog::services(&s.store, &f, now).await?.len()));
    }
    Ok(ListsPage { base, lists })
}

#[derive(Debug, Default, serde::Deserialize)]
struct ListForm {
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    q: String,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "list.html")]
struct ListPage {
    base: Base,
    kind: ListKind,
    rows: Vec<ListRow>,
    form: ListForm,
    departments: Vec<yiwang_core::orgs::Department>,
    scopes: Vec<core::TongbanScope>,
    error: Option<String>,
    csv_href: String,
}

impl ListPage {
    fn title(&self) -> &'static str {
        self.base.lang.name(&self.kind)
    }
    fn scope_name(&self, t: &core::TongbanScope) -> &'static str {
        self.base.lang.name(&t)
    }
    fn is_tongban(&self) -> bool {
        self.kind == ListKind::Tongban
    }
}

async fn list_page(
    State(s): State<AppState>,
    base: Base,
    Path(kind): Path<String>,
    Query(form): Query<ListForm>,
) -> ApiResult<Response> {
    let Ok(kind) = list_kind(&kind) else {
        return Ok(crate::pages::not_found(base));
    };
    let params = super::ListParams {
        department_id: Some(form.department_id.clone()),
        region: Some(form.region.clone()),
        scope: Some(form.scope.clone()),
        audience: None,
        q: Some(form.q.clone()),
        format: None,
    };
    let (rows, error) = match list_params(&params) {
        Ok(mut f) => {
            f.list = Some(kind);
            let services = yiwang_store::catalog::services(&s.store, &f, now_ms()).await?;
            (list_rows(&s, &services), None)
        }
        Err(e) => (vec![], e.errors.first().map(|f| base.lang.problem(f))),
    };
    let csv_href = format!(
        "/api/v1/catalog/lists/{}?format=csv&department_id={}&region={}&scope={}&q={}",
        kind.as_str(),
        urlencode(&form.department_id),
        urlencode(&form.region),
        urlencode(&form.scope),
        urlencode(&form.q)
    );
    let departments = yiwang_store::orgs::departments(&s.store.read, None).await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        ListPage {
            base,
            kind,
            rows,
            form,
            departments,
            scopes: core::TongbanScope::ALL
                .iter()
                .copied()
                .filter(|t| *t != core::TongbanScope::None)
                .collect(),
            error,
            csv_href,
        },
    )
        .into_response())
}
