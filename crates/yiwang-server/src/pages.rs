//! The web shell: base layout context, the home page of the province, language and
//! large-text switches (适老化), static assets and the HTML 404 page.

use crate::ctx::Ctx;
use crate::i18n::{Lang, Prefs};
use crate::{AppState, error::ApiResult};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Datelike;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use yiwang_core::orgs::{Hall, Window};
use yiwang_core::regions::Region;
use yiwang_store::{orgs, regions};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/", get(home))
        .route("/halls", get(halls_page))
        .route("/lang/{code}", get(set_lang))
        .route("/text/{mode}", get(set_text))
        .route(
            "/assets/htmx.min.js",
            get(|| async { asset("application/javascript", include_bytes!("../assets/htmx.min.js")) }),
        )
        .route(
            "/assets/favicon.svg",
            get(|| async { asset("image/svg+xml", include_bytes!("../assets/favicon.svg")) }),
        )
        .route(
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", include_bytes!("../assets/favicon.svg")) }),
        )
        .route(
            "/assets/site.css",
            get(|| async { asset("text/css", include_bytes!("../assets/site.css")) }),
        )
}

fn asset(ct: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// What every page's layout needs.
pub struct Base {
    pub lang: Lang,
    pub large: bool,
    /// The current path and query, for "come back here" links.
    pub here: String,
    pub province: Option<Region>,
    /// The logged-in account's display name.
    pub user: Option<String>,
    /// The principal the person acts for, by name.
    pub acting_for: Option<String>,
    /// The session's CSRF token (forms carry it; htmx sends it as a header).
    pub csrf: String,
    pub staff: bool,
    pub can_manage_staff: bool,
    pub can_manage_tokens: bool,
    pub can_manage_catalog: bool,
    pub can_read_persons: bool,
    pub can_manage_seals: bool,
    pub can_issue_licences: bool,
    pub can_manage_trust: bool,
    /// A person (or someone acting for an enterprise): the wallet link.
    pub has_wallet: bool,
    /// Staff who work cases: the inbox link.
    pub has_inbox: bool,
    /// Window clerks: taking applications at the window.
    pub can_take_applications: bool,
    /// Staff who follow up bad ratings (好差评整改) or supervise them.
    pub can_follow_ratings: bool,
    /// 12345: the centre's agents (the console) and the units' handling officers (inbox).
    pub hotline_centre: bool,
    pub hotline_unit: bool,
    /// 数据共享: the department's data resources and requests.
    pub can_share_data: bool,
    /// 惠民惠企政策: editors and reviewers of policies.
    pub can_manage_policies: bool,
}

/// Every page handler takes its layout context as an extractor: `base: Base`.
impl axum::extract::FromRequestParts<AppState> for Base {
    type Rejection = crate::error::ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let ctx = <Ctx as axum::extract::FromRequestParts<AppState>>::from_request_parts(parts, s).await?;
        Ok(Base::new(s, &parts.headers, &parts.uri, &ctx).await)
    }
}

impl Base {
    pub async fn new(s: &AppState, headers: &HeaderMap, uri: &Uri, ctx: &Ctx) -> Base {
        use yiwang_core::access::Permission as P;
        let prefs = Prefs::from_headers(headers);
        let province = regions::get(&s.store.read, &s.home_region).await.ok().flatten();
        Base {
            lang: prefs.lang,
            large: prefs.large_text,
            here: uri.path_and_query().map(|p| p.to_string()).unwrap_or("/".into()),
            province,
            user: ctx.display_name.clone(),
            acting_for: ctx.acting_for.as_ref().map(|(_, n)| n.clone()),
            csrf: ctx.csrf_if_any().await,
            staff: ctx.is_staff(),
            can_manage_staff: ctx.has(P::StaffManage),
            can_manage_tokens: ctx.has(P::TokenManage),
            can_manage_catalog: ctx.has(P::CatalogManage) || ctx.has(P::CatalogReview),
            can_read_persons: ctx.has(P::PersonRead),
            can_manage_seals: ctx.has(P::SealManage),
            can_issue_licences: ctx.has(P::LicenceIssue),
            can_manage_trust: ctx.has(P::TrustManage),
            has_inbox: crate::access::CASE_STAFF.iter().any(|p| ctx.has(*p)),
            can_take_applications: ctx.has(P::CaseAccept),
            has_wallet: ctx.person_id.is_some(),
            can_follow_ratings: ctx.has(P::RatingHandle) || ctx.has(P::RatingManage),
            hotline_centre: ctx.has(P::HotlineDispatch),
            hotline_unit: ctx.has(P::HotlineHandle),
            can_share_data: ctx.has(P::DataShare),
            can_manage_policies: ctx.has(P::PolicyManage) || ctx.has(P::PolicyReview),
        }
    }
    /// The CSRF header for htmx requests, as the `hx-headers` attribute value.
    pub fn hx_headers(&self) -> String {
        format!("{{\"X-CSRF-Token\": \"{}\"}}", self.csrf)
    }
    /// A region's name in the page language (English where one is recorded).
    pub fn name_of(&self, r: &Region) -> String {
        match (self.lang, &r.name_en) {
            (Lang::En, Some(en)) => en.clone(),
            _ => r.name.clone(),
        }
    }
    pub fn site_name(&self) -> String {
        match &self.province {
            Some(p) => format!(
                "{} · {}",
                self.name_of(p),
                self.lang.pick("政务服务网", "Government Services")
            ),
            None => self
                .lang
                .pick("一网 · 政务服务平台", "yiwang · Government Services")
                .to_string(),
        }
    }
    pub fn switch_lang_href(&self) -> String {
        format!("/lang/{}?next={}", self.lang.other().code(), urlencode(&self.here))
    }
    pub fn switch_text_href(&self) -> String {
        format!(
            "/text/{}?next={}",
            if self.large { "normal" } else { "large" },
            urlencode(&self.here)
        )
    }
}

/// The helpers every page's template shares (`self.msg(e)`, `self.name(x)`,
/// `self.when(t)`); a page states only where its [`Base`] is, with [`page!`](crate::page).
pub trait Page {
    fn base(&self) -> &Base;
    /// A field problem in the page language.
    fn msg(&self, e: &yiwang_core::FieldError) -> String {
        self.base().lang.problem(e)
    }
    /// The name of a coded value in the page language.
    fn name<T: yiwang_core::Named>(&self, x: &T) -> &'static str {
        self.base().lang.name(x)
    }
    /// A time in China time, to the minute (`–` when there is none).
    fn when<M: Moment>(&self, at: &M) -> String {
        at.shown()
    }
}

/// Implements [`Page`] for page structs whose layout context is the field `base`.
#[macro_export]
macro_rules! page {
    ($($t:ty),+ $(,)?) => {
        $(impl $crate::pages::Page for $t {
            fn base(&self) -> &$crate::pages::Base {
                &self.base
            }
        })+
    };
}

/// A moment a page shows: epoch milliseconds, or perhaps none.
pub trait Moment {
    fn shown(&self) -> String;
}

impl Moment for i64 {
    fn shown(&self) -> String {
        china_time(*self)
    }
}

impl<T: Moment + ?Sized> Moment for &T {
    fn shown(&self) -> String {
        (**self).shown()
    }
}

impl Moment for Option<i64> {
    fn shown(&self) -> String {
        self.map(china_time).unwrap_or_else(|| "–".into())
    }
}

/// A time as pages show it: China time, to the minute.
pub fn china_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The status of a page that shows a form again: 422 when it lists problems, else 200.
/// A posted form's fields in order, repeated names kept (checkboxes).
pub type Fields = Vec<(String, String)>;

/// The first value of a form field, or "".
pub fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.iter().find(|(x, _)| x == k).map_or("", |(_, v)| v.as_str())
}

pub fn form_status<T>(errors: &[T]) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A value for a URL's query or path segment.
pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// A path on this site to go to after a form (`next=`), else `fallback`. Only same-origin
/// paths pass (open-redirect guard, OWASP ASVS 5.1.5): one leading `/`, no backslash, no
/// control or white-space character (browsers drop tabs and newlines, so `/\t/host` would
/// become `//host`), and resolving it against this site keeps this site.
pub fn local_path(n: Option<&str>, fallback: &str) -> String {
    let ok = |p: &str| {
        let base = url::Url::parse("http://yiwang.invalid/").expect("base");
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
            && base
                .join(p)
                .is_ok_and(|u| u.host_str() == Some("yiwang.invalid") && u.scheme() == "http")
    };
    match n {
        Some(p) if ok(p) => p.to_string(),
        _ => fallback.to_string(),
    }
}

fn safe_next(n: Option<String>) -> String {
    local_path(n.as_deref(), "/")
}

fn cookie_redirect(cookie: String, next: Option<String>) -> Response {
    let mut r = Redirect::to(&safe_next(next)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn set_lang(Path(code): Path<String>, Query(q): Query<Next>) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Zh);
    cookie_redirect(
        format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code()),
        q.next,
    )
}

async fn set_text(Path(mode): Path<String>, Query(q): Query<Next>) -> Response {
    let v = if mode == "large" { "large" } else { "normal" };
    cookie_redirect(format!("text={v}; Path=/; Max-Age=31536000; SameSite=Lax"), q.next)
}

pub struct HallView {
    pub hall: Hall,
    pub windows: Vec<Window>,
}

async fn hall_views(s: &AppState) -> ApiResult<Vec<HallView>> {
    let mut out = vec![];
    for hall in orgs::halls(&s.store.read).await? {
        let windows = orgs::windows(&s.store.read, &hall.id).await?;
        out.push(HallView { hall, windows });
    }
    Ok(out)
}

/// What the portal's home page offers beside search: the services most applied for in
/// the last 90 days (or, on a new platform, those fully online) and the themes of each
/// audience's services. Statistics, not reference data: recomputed at most every ten
/// minutes, so the home page reads no growing table.
#[derive(Clone, Default)]
pub struct HomeCache {
    at_ms: i64,
    popular: Vec<(String, String)>,
    person_themes: Vec<String>,
    legal_themes: Vec<String>,
}

const HOME_CACHE_MS: i64 = 10 * 60 * 1000;
const POPULAR_DAYS: i64 = 90;

async fn home_cache(s: &AppState) -> ApiResult<HomeCache> {
    let now = yiwang_store::now_ms();
    if let Some(c) = s
        .home
        .lock()
        .expect("home cache")
        .as_ref()
        .filter(|c| now - c.at_ms < HOME_CACHE_MS)
    {
        return Ok(c.clone());
    }
    let since = yiwang_store::today() - chrono::Duration::days(POPULAR_DAYS);
    let mut popular: Vec<(String, String)> = yiwang_store::cases::popular_items(&s.store, since, 8)
        .await?
        .into_iter()
        .map(|p| (p.item_code, p.item_name))
        .collect();
    let query = |audience, full_online| yiwang_search::SearchQuery {
        audience,
        full_online,
        limit: 8,
        at_ms: now,
        ..Default::default()
    };
    if popular.len() < 8 {
        // Few applications yet: the fully-online services fill the list.
        let r = crate::catalog::run_search(s, query(None, true)).await?;
        for h in r.hits {
            if popular.len() < 8 && !popular.iter().any(|(c, n)| *c == h.code || *n == h.name) {
                popular.push((h.code, h.name));
            }
        }
    }
    let themes = |r: yiwang_search::Results| r.facets.theme.into_iter().map(|(t, _)| t).take(12).collect();
    let person = crate::catalog::run_search(s, query(Some(yiwang_core::catalog::Audience::Person), false)).await?;
    let legal = crate::catalog::run_search(s, query(Some(yiwang_core::catalog::Audience::Legal), false)).await?;
    let c = HomeCache {
        at_ms: now,
        popular,
        person_themes: themes(person),
        legal_themes: themes(legal),
    };
    *s.home.lock().expect("home cache") = Some(c.clone());
    Ok(c)
}

/// What waits for a logged-in person (or the enterprise they act for) on the home page.
#[derive(Default)]
struct Waiting {
    /// Cases whose next move is the applicant's (补正, 容缺后补).
    to_do: i64,
    open: i64,
    drafts: i64,
    licences: usize,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    base: Base,
    popular: Vec<(String, String)>,
    person_themes: Vec<String>,
    legal_themes: Vec<String>,
    waiting: Option<Waiting>,
    halls: usize,
    today: String,
    today_kind: String,
    today_working: bool,
}

crate::page!(HomePage);

impl HomePage {
    fn theme_href(&self, audience: &str, theme: &str) -> String {
        let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        format!("/services?audience={audience}&theme={}", enc(theme))
    }
}

async fn home(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<HomePage> {
    let cache = home_cache(&s).await?;
    let waiting = match ctx.principal() {
        Some(subject) => {
            let counts = yiwang_store::cases::applicant_counts(&s.store, &subject).await?;
            Some(Waiting {
                to_do: counts.to_do,
                open: counts.open,
                drafts: counts.drafts,
                licences: yiwang_store::licences::of_subject(&s.store, &subject)
                    .await?
                    .iter()
                    .filter(|l| l.status == yiwang_core::licences::Status::Valid)
                    .count(),
            })
        }
        None => None,
    };
    // Today in China Standard Time (UTC+8), the calendar's time zone.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let region = base.province.as_ref().map(|p| p.code.clone());
    let (kind, working, _) = yiwang_store::calendar::day(&s.store, today, region.as_deref()).await?;
    let today_kind = crate::i18n::day_kind_label(base.lang, &kind, today.weekday());
    Ok(HomePage {
        popular: cache.popular,
        person_themes: cache.person_themes,
        legal_themes: cache.legal_themes,
        waiting,
        halls: orgs::halls(&s.store.read).await?.len(),
        today: today.to_string(),
        today_kind,
        today_working: working,
        base,
    })
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "halls.html")]
struct HallsPage {
    base: Base,
    halls: Vec<HallView>,
    /// Department names by id, for dedicated windows.
    departments: std::collections::HashMap<String, String>,
}

impl HallsPage {
    fn window_kind(&self, w: &Window) -> &'static str {
        use yiwang_core::orgs::WindowKind::*;
        match w.kind {
            Comprehensive => self.base.lang.pick("综合受理", "Comprehensive"),
            Dedicated => self.base.lang.pick("专业窗口", "Dedicated"),
            Pickup => self.base.lang.pick("出件", "Pick-up"),
            Assistance => self.base.lang.pick("帮办代办", "Assistance"),
        }
    }
    fn department_name(&self, w: &Window) -> Option<&str> {
        w.department_id
            .as_ref()
            .and_then(|id| self.departments.get(id))
            .map(String::as_str)
    }
}

async fn halls_page(State(s): State<AppState>, base: Base) -> ApiResult<HallsPage> {
    let departments = orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    Ok(HallsPage {
        base,
        halls: hall_views(&s).await?,
        departments,
    })
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    base: Base,
}

/// The HTML 404 page.
pub fn not_found(base: Base) -> Response {
    (StatusCode::NOT_FOUND, NotFoundPage { base }).into_response()
}

#[cfg(test)]
mod tests {
    use super::local_path;

    /// The probe's open redirects (issue 13, item 4 and 10) stay on this site.
    #[test]
    fn only_same_origin_paths_are_followed() {
        for ok in ["/account", "/services?q=食品&x=1", "/me/cases/1#top", "/a/b%2Fc"] {
            assert_eq!(local_path(Some(ok), "/"), ok);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example/phish",
            "/\n/evil.example",
            "/\r\n/x",
            "/\0/x",
            "/\u{7f}/x",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "evil.example",
            "/ /evil.example",
            "",
        ] {
            assert_eq!(local_path(Some(bad), "/fallback"), "/fallback", "{bad:?}");
        }
        assert_eq!(local_path(None, "/fallback"), "/fallback");
    }
}

/// The links between the pages of a list read a page at a time: back to the first page
/// (when this is not it) and on to the next (while one follows).
#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub first: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub fn new(path: &str, p: &crate::extract::PageParams, next: Option<&str>) -> Pager {
        Pager {
            first: p.after.is_some().then(|| path.to_string()),
            next: p.next_url(path, next),
        }
    }
}
