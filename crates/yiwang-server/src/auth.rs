//! Authentication: server-side sessions (tower-sessions over our own store), who is
//! calling (`Ctx`), CSRF, login with a second factor, logout (here and everywhere),
//! sessions, API tokens; and the login and enrolment pages.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::i18n::Lang;
use crate::pages::Base;
use crate::{AppState, BODY_LIMIT};
use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tower_sessions::session::{Id, Record};
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore, session_store};
use yiwang_core::FieldError;
use yiwang_core::access::{Actor, Permission, Target};
use yiwang_core::mandates::Subject;
use yiwang_store::auth::{self as store_auth, LoginInput, LoginOutcome, TokenInfo, TokenInput};
use yiwang_store::{Meta, Store, accounts, mandates};

// ------------------------------------------------------------------ session store

/// tower-sessions' store over our database; every write goes through the writer.
#[derive(Clone)]
pub struct SqlSessions(pub Arc<Store>);

impl std::fmt::Debug for SqlSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlSessions")
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SqlSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id; on the (astronomically unlikely) collision, draw again.
        while store_auth::session_load(&self.0, &record.id.to_string())
            .await
            .map_err(backend)?
            .is_some()
        {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let account = record.data.get("account_id").and_then(|v| v.as_str());
        let expires = (record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64;
        store_auth::session_save(&self.0, &record.id.to_string(), account, &data, expires)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = store_auth::session_load(&self.0, &id.to_string())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp_nanos(row.expires_at as i128 * 1_000_000)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        store_auth::session_delete(&self.0, &id.to_string())
            .await
            .map_err(backend)
    }
}

/// The session layer: an HttpOnly, SameSite=Lax cookie; idle expiry as policy says.
pub fn session_layer(store: Arc<Store>, secure: bool) -> SessionManagerLayer<SqlSessions> {
    let idle = store.policy.idle_ms / 1000;
    SessionManagerLayer::new(SqlSessions(store))
        .with_name("yiwang_session")
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(idle)))
}

// ------------------------------------------------------------------ who is calling

const K_ACCOUNT: &str = "account_id";
const K_AUTH_AT: &str = "auth_at";
const K_SEEN: &str = "seen";
const K_CSRF: &str = "csrf";
const K_ACTING: &str = "acting_for";
const K_PENDING: &str = "pending";

/// A password-verified login waiting for its second factor or its TOTP enrolment.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    account_id: String,
    enrol: bool,
    at: i64,
}

/// Who is calling, established by the access guard for every request.
#[derive(Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub account_id: Option<String>,
    pub display_name: Option<String>,
    pub staff: Option<accounts::StaffInfo>,
    pub person_id: Option<String>,
    /// The principal a person is acting for through a mandate in force, with its name.
    pub acting_for: Option<(Subject, String)>,
    pub token: Option<TokenInfo>,
    pub session: Option<Session>,
    pub via_bearer: bool,
}

impl Ctx {
    fn anonymous(session: Option<Session>) -> Ctx {
        Ctx {
            actor: Actor::Anonymous,
            account_id: None,
            display_name: None,
            staff: None,
            person_id: None,
            acting_for: None,
            token: None,
            session,
            via_bearer: false,
        }
    }

    /// The browser session of this request. A request carrying `Authorization` (an API
    /// token) has none: logins, language and mandate choices live in cookie sessions, so
    /// such a request is told so instead of failing (issue 13, item 8).
    pub fn browser_session(&self) -> ApiResult<Session> {
        self.session.clone().ok_or_else(|| {
            ApiError::bad_request(FieldError::new(
                "authorization",
                "session.bearer",
                "该操作属于浏览器会话，请勿携带 Authorization 请求头",
                "this belongs to a browser session: send it without an Authorization header",
            ))
        })
    }

    /// How the ledger records this caller: `account:A`, or `account:A>legal:L` when a
    /// person acts for a principal (actor and principal both recorded), `token:T`, `admin`.
    pub fn ledger_actor(&self) -> String {
        match (&self.actor, &self.acting_for) {
            (Actor::Root, _) => "admin".into(),
            (Actor::System { token_id, .. }, _) => format!("token:{token_id}"),
            (Actor::Anonymous, _) => "anonymous".into(),
            (_, Some((p, _))) => format!("account:{}>{}", self.account_id.clone().unwrap_or_default(), p.key()),
            _ => format!("account:{}", self.account_id.clone().unwrap_or_default()),
        }
    }

    pub fn meta(&self) -> Meta {
        Meta::actor(self.ledger_actor())
    }

    /// The subject a person acts as: the principal of the mandate in use, else themselves.
    pub fn principal(&self) -> Option<Subject> {
        match &self.acting_for {
            Some((p, _)) => Some(p.clone()),
            None => self.person_id.clone().map(Subject::Person),
        }
    }

    /// Checks a permission against an object found in the request body.
    pub fn require(&self, p: Permission, t: &Target) -> ApiResult<()> {
        self.actor.authorize(p, t).map_err(crate::access::denied_error)
    }

    /// The reader as a person's data-use log names them.
    pub fn reader(&self) -> yiwang_store::datause::Reader {
        match (&self.staff, &self.token) {
            (Some(st), _) => yiwang_store::datause::Reader {
                kind: "staff".into(),
                id: st.account_id.clone(),
                name: st.name.clone(),
                department: Some(st.department_name.clone()),
            },
            (None, Some(t)) => yiwang_store::datause::Reader {
                kind: "system".into(),
                id: t.id.clone(),
                name: t.name.clone(),
                department: t.department_id.clone(),
            },
            _ => yiwang_store::datause::Reader {
                kind: "system".into(),
                id: "admin".into(),
                name: "administrator token".into(),
                department: None,
            },
        }
    }

    /// The session's CSRF token, created on first use (forms render it).
    pub async fn csrf(&self) -> String {
        let Some(s) = &self.session else {
            return String::new();
        };
        if let Ok(Some(t)) = s.get::<String>(K_CSRF).await {
            return t;
        }
        let t = random_hex(32);
        let _ = s.insert(K_CSRF, &t).await;
        t
    }

    /// The session's CSRF token if it has one (never creates a session).
    pub async fn csrf_if_any(&self) -> String {
        match &self.session {
            Some(s) => s.get::<String>(K_CSRF).await.ok().flatten().unwrap_or_default(),
            None => String::new(),
        }
    }

    pub fn is_staff(&self) -> bool {
        self.staff.is_some()
    }
    pub fn has(&self, p: Permission) -> bool {
        self.actor.has(p)
    }
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::fill(&mut b[..]);
    hex::encode(b)
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .unwrap_or_else(|| Ctx::anonymous(parts.extensions.get::<Session>().cloned())))
    }
}

fn internal(e: impl std::fmt::Display) -> Box<Response> {
    tracing::error!(error = %e, "resolving the caller");
    Box::new(ApiError::internal().into_response())
}

/// Establishes who is calling: a bearer token (the bootstrap admin token or an API
/// token), else the session's account, with session timeouts and mandates re-checked.
pub async fn resolve(s: &AppState, req: &mut Request) -> Result<Ctx, Box<Response>> {
    let session = req.extensions().get::<Session>().cloned();
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let tok = v.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        if let Some(admin) = &s.admin_token
            && !tok.is_empty()
            && bool::from(tok.as_bytes().ct_eq(admin.as_bytes()))
        {
            let mut c = Ctx::anonymous(None);
            c.actor = Actor::Root;
            c.via_bearer = true;
            return Ok(c);
        }
        if tok.starts_with("ywt_")
            && let Some(t) = store_auth::token_by_secret(&s.store, tok).await.map_err(internal)?
        {
            s.token_used(&t.id).await;
            let mut c = Ctx::anonymous(None);
            c.actor = Actor::System {
                token_id: t.id.clone(),
                department_id: t.department_id.clone(),
                region_code: t.region_code.clone(),
                permissions: t.permissions.clone(),
            };
            c.token = Some(t);
            c.via_bearer = true;
            return Ok(c);
        }
        return Err(Box::new(
            ApiError::unauthorized("the bearer token is unknown, revoked or expired").into_response(),
        ));
    }
    let Some(session) = session else {
        return Ok(Ctx::anonymous(None));
    };
    let account_id: Option<String> = session.get(K_ACCOUNT).await.map_err(internal)?;
    let Some(account_id) = account_id else {
        return Ok(Ctx::anonymous(Some(session)));
    };
    let acc = accounts::account(&s.store.read, &account_id).await.map_err(internal)?;
    let Some(acc) = acc.filter(|a| !a.disabled) else {
        session.flush().await.map_err(internal)?;
        return Ok(Ctx::anonymous(Some(session)));
    };
    let now = yiwang_store::now_ms();
    let auth_at: i64 = session.get(K_AUTH_AT).await.map_err(internal)?.unwrap_or(0);
    let seen: i64 = session.get(K_SEEN).await.map_err(internal)?.unwrap_or(0);
    if s.store.policy.session_expired(acc.is_staff(), auth_at, seen, now) {
        session.flush().await.map_err(internal)?;
        return Ok(Ctx::anonymous(Some(session)));
    }
    if now - seen > 60_000 {
        session.insert(K_SEEN, now).await.map_err(internal)?;
    }
    let mut c = Ctx::anonymous(Some(session.clone()));
    c.account_id = Some(acc.id.clone());
    c.display_name = Some(acc.display_name.clone());
    if acc.is_staff() {
        let st = accounts::staff(&s.store.read, &acc.id)
            .await
            .map_err(internal)?
            .ok_or_else(|| internal("staff row missing"))?;
        let permissions = accounts::permissions_of(&s.store.read, &st.roles)
            .await
            .map_err(internal)?;
        c.actor = Actor::Staff {
            account_id: acc.id.clone(),
            department_id: st.department_id.clone(),
            region_code: st.region_code.clone(),
            permissions,
        };
        c.staff = Some(st);
    } else {
        let person_id = acc.person_id.clone().unwrap_or_default();
        c.actor = Actor::Person {
            account_id: acc.id.clone(),
            person_id: person_id.clone(),
        };
        c.person_id = Some(person_id.clone());
        let acting: Option<String> = session.get(K_ACTING).await.map_err(internal)?;
        if let Some(p) = acting.as_deref().and_then(Subject::parse) {
            // A mandate is re-checked on every request: revoked or expired ends it at once.
            match mandates::in_force(&s.store, &person_id, &p, None)
                .await
                .map_err(internal)?
            {
                Some(m) => c.acting_for = Some((p, m.principal_name)),
                None => {
                    session.remove::<String>(K_ACTING).await.map_err(internal)?;
                }
            }
        }
    }
    Ok(c)
}

fn csrf_refused(page: bool) -> Box<Response> {
    let zh = "页面已过期或请求来源无法验证（CSRF），请刷新页面后重试";
    let en = "the form has expired or the request's origin could not be verified (CSRF); reload the page and try again";
    if page {
        Box::new(
            (
                StatusCode::FORBIDDEN,
                Html(format!(
                    "<!doctype html><meta charset=utf-8><title>403</title><link rel=stylesheet href=/assets/site.css><main class=wrap><h1>403</h1><p class=error data-testid=csrf-error>{zh}</p><p lang=en>{en}</p><p><a href=\"/\">返回首页 / Home</a></p></main>"
                )),
            )
                .into_response(),
        )
    } else {
        Box::new(crate::access::forbidden_error("csrf.mismatch", zh.into(), en.into()).into_response())
    }
}

/// CSRF (OWASP synchronizer token): every state-changing request that rides on the
/// session cookie must carry the session's token — in `X-CSRF-Token` (API calls, htmx) or
/// the `_csrf` form field (pages). Bearer-token calls carry no ambient credential.
pub async fn check_csrf(ctx: &Ctx, req: Request, page: bool) -> Result<Request, Box<Response>> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || ctx.via_bearer {
        return Ok(req);
    }
    let expected: Option<String> = match &ctx.session {
        Some(s) => s.get(K_CSRF).await.map_err(internal)?,
        None => None,
    };
    // An API call without a logged-in session has no ambient authority to abuse.
    if !page && !ctx.actor.is_authenticated() {
        return Ok(req);
    }
    let matches = |given: &str| {
        expected
            .as_deref()
            .is_some_and(|e| bool::from(e.as_bytes().ct_eq(given.as_bytes())))
    };
    if let Some(h) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if matches(h) { Ok(req) } else { Err(csrf_refused(page)) };
    }
    if !page {
        return Err(csrf_refused(page));
    }
    let (parts, body) = req.into_parts();
    let multipart = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.strip_prefix("multipart/form-data"))
        .and_then(|rest| rest.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_string());
    let limit = if multipart.is_some() {
        crate::catalog::IMPORT_LIMIT + (1 << 20)
    } else {
        BODY_LIMIT
    };
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| csrf_refused(page))?;
    let given = match &multipart {
        Some(boundary) => multipart_field(&bytes, boundary, "_csrf").unwrap_or_default(),
        None => form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    };
    if !matches(&given) {
        return Err(csrf_refused(page));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The value of a small text field of a multipart/form-data body (RFC 7578), e.g. the
/// CSRF token of an upload form; None when the field is absent or not UTF-8.
fn multipart_field(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    let delimiter = format!("--{boundary}");
    let header = format!("name=\"{name}\"");
    let text = body;
    let mut pos = 0;
    while let Some(i) = find(&text[pos..], delimiter.as_bytes()) {
        let start = pos + i + delimiter.len();
        let end = find(&text[start..], delimiter.as_bytes()).map(|j| start + j)?;
        let part = &text[start..end];
        if let Some(h) = find(part, b"\r\n\r\n") {
            let headers = std::str::from_utf8(&part[..h]).ok()?;
            if headers.contains(&header) && !headers.contains("filename=") {
                let value = &part[h + 4..];
                let value = value.strip_suffix(b"\r\n").unwrap_or(value);
                return std::str::from_utf8(value).ok().map(str::to_string);
            }
        }
        pos = end;
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The caller's IP address (from the connection; "unknown" when served without it).
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let xff: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(ClientIp(s.client_ip(peer, &xff)))
    }
}

/// The cookie a browser keeps after a successful login (see `store::auth::device_token`).
const DEVICE_COOKIE: &str = "yiwang_device";

/// The request's device cookie, if any.
pub(crate) fn device_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == DEVICE_COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Marks this browser as one that logged in to the account (a year; HttpOnly).
pub(crate) fn remember_device(s: &AppState, resp: &mut Response, account_id: &str) {
    let token = store_auth::device_token(&s.store, account_id);
    let secure = if s.secure_cookies { "; Secure" } else { "" };
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={token}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}"
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Starts an authenticated session: a new session id (no fixation), a new CSRF token.
pub(crate) async fn establish(session: &Session, account_id: &str) -> ApiResult<String> {
    session.cycle_id().await.map_err(|_| ApiError::internal())?;
    let now = yiwang_store::now_ms();
    let csrf = random_hex(32);
    let _ = session.remove::<Pending>(K_PENDING).await;
    let _ = session.remove::<String>(K_ACTING).await;
    session
        .insert(K_ACCOUNT, account_id)
        .await
        .map_err(|_| ApiError::internal())?;
    session.insert(K_AUTH_AT, now).await.map_err(|_| ApiError::internal())?;
    session.insert(K_SEEN, now).await.map_err(|_| ApiError::internal())?;
    session.insert(K_CSRF, &csrf).await.map_err(|_| ApiError::internal())?;
    Ok(csrf)
}

/// 429 for registrations and other non-login attempts from one address.
pub fn too_many() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "/problems/rate-limited",
        "Too many requests",
        "请求过于频繁",
        "too many attempts from this address; wait a minute",
    )
    .with(FieldError::new(
        "(request)",
        "rate_limit",
        "操作过于频繁，请稍后再试",
        "too many attempts from this address; wait a minute",
    ))
    .retry_after(60)
}

fn rate_limited() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "/problems/rate-limited",
        "Too many login attempts",
        "登录尝试过于频繁",
        "too many login attempts from this address; wait a minute",
    )
    .with(FieldError::new(
        "login",
        "rate_limit",
        "登录尝试过于频繁，请稍后再试",
        "too many login attempts from this address; wait a minute",
    ))
    .retry_after(60)
}

// ------------------------------------------------------------------ API

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(api_login))
        .route("/api/v1/auth/logout", post(api_logout))
        .route("/api/v1/auth/logout-everywhere", post(api_logout_everywhere))
        .route("/api/v1/me/sessions", get(api_sessions))
        .route("/api/v1/me/sessions/{session_id}", delete(api_revoke_session))
        .route("/api/v1/tokens", get(api_tokens).post(api_create_token))
        .route("/api/v1/tokens/{token_id}", delete(api_revoke_token))
        .route("/login", get(login_page).post(login_form))
        .route("/login/second", post(second_form))
        .route("/login/enrol", get(enrol_page).post(enrol_form))
        .route("/logout", post(logout_form))
        .route("/account/logout-everywhere", post(logout_everywhere_form))
        .route("/account/sessions/{session_id}/revoke", post(revoke_session_form))
}

/// What a successful login returns.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoggedIn {
    pub account_id: String,
    pub display_name: String,
    pub staff: bool,
    /// Send this as `X-CSRF-Token` on every state-changing call in this session.
    pub csrf_token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Staff login name, or a person's mobile number or resident ID number.
    pub login: String,
    pub password: String,
    /// Required for accounts with TOTP (all staff).
    #[serde(default)]
    pub totp_code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// The answer to a successful API login (password or SMS): the session established, its
/// CSRF token, and the browser remembered as one that logged in.
pub(crate) async fn logged_in(s: &AppState, session: &Session, acc: &accounts::AccountRow) -> ApiResult<Response> {
    let csrf = establish(session, &acc.id).await?;
    let mut r = Json(LoggedIn {
        account_id: acc.id.clone(),
        display_name: acc.display_name.clone(),
        staff: acc.is_staff(),
        csrf_token: csrf,
    })
    .into_response();
    remember_device(s, &mut r, &acc.id);
    Ok(r)
}

/// Logs in and starts a session (cookie `yiwang_session`).
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginBody, tag = "auth",
    responses((status = 200, body = LoggedIn), (status = 401, body = crate::error::Problem), (status = 422, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn api_login(
    State(s): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: ApiJson<LoginBody>,
) -> ApiResult<Response> {
    if !s.login_allowed(&ip) {
        return Err(rate_limited());
    }
    let b = body.value;
    let input = LoginInput {
        login: b.login,
        password: b.password,
        totp_code: b.totp_code,
        recovery_code: b.recovery_code,
    };
    let session = ctx.browser_session()?;
    let device = device_cookie(&headers);
    let client = store_auth::Client {
        ip: &ip,
        device: device.as_deref(),
    };
    match store_auth::login(&s.store, &input, client).await? {
        LoginOutcome::Done(acc) => logged_in(&s, &session, &acc).await,
        LoginOutcome::NeedSecondFactor(_) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "/problems/second-factor",
            "Second factor required",
            "需要动态验证码",
            "send totp_code (or recovery_code) with the password",
        )
        .with(FieldError::new(
            "totp_code",
            "totp.required",
            "该账号需要动态验证码",
            "this account needs a one-time code",
        ))),
        LoginOutcome::NeedEnrolment(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "/problems/totp-enrolment",
            "Authenticator enrolment required",
            "需要先绑定动态验证码",
            "staff accounts must enrol an authenticator first: log in on the web page /login",
        )
        .with(FieldError::new(
            "totp_code",
            "totp.enrolment_required",
            "工作人员须先在网页登录并绑定动态验证码",
            "staff must first log in on the web page and enrol an authenticator",
        ))),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn api_logout(ctx: Ctx) -> ApiResult<StatusCode> {
    if let Some(sess) = &ctx.session {
        sess.flush().await.map_err(|_| ApiError::internal())?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the account, this one included.
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "auth", responses((status = 200)))]
pub async fn api_logout_everywhere(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<serde_json::Value>> {
    let n = logout_everywhere(&s, &ctx).await?;
    Ok(Json(serde_json::json!({ "revoked": n })))
}

async fn logout_everywhere(s: &AppState, ctx: &Ctx) -> ApiResult<u64> {
    let account = ctx.account_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let n = store_auth::revoke_sessions(&s.store, ctx.meta(), &account, None).await?;
    if let Some(sess) = &ctx.session {
        sess.flush().await.map_err(|_| ApiError::internal())?;
    }
    Ok(n)
}

/// A session as its owner sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// A short, non-secret reference (not the cookie value).
    pub id: String,
    pub current: bool,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// Session ids are bearer secrets: lists show a keyed digest instead.
fn session_ref(s: &AppState, id: &str) -> String {
    s.store.pii.index("session_ref", id)[..16].to_string()
}

async fn session_views(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<SessionView>> {
    let account = ctx.account_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let current = ctx.session.as_ref().and_then(|x| x.id()).map(|i| i.to_string());
    Ok(store_auth::sessions_of(&s.store, &account)
        .await?
        .into_iter()
        .map(|r| SessionView {
            id: session_ref(s, &r.id),
            current: current.as_deref() == Some(r.id.as_str()),
            created_at: r.created_at,
            last_seen_at: r.updated_at,
            expires_at: r.expires_at,
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth", responses((status = 200, body = Vec<SessionView>)))]
pub async fn api_sessions(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<SessionView>>> {
    Ok(Json(session_views(&s, &ctx).await?))
}

async fn revoke_one(s: &AppState, ctx: &Ctx, reference: &str) -> ApiResult<()> {
    let account = ctx.account_id.clone().ok_or_else(|| ApiError::unauthorized("log in"))?;
    let found = store_auth::sessions_of(&s.store, &account)
        .await?
        .into_iter()
        .find(|r| session_ref(s, &r.id) == reference)
        .ok_or_else(|| ApiError::not_found("session"))?;
    store_auth::session_delete(&s.store, &found.id).await?;
    Ok(())
}

#[utoipa::path(delete, path = "/api/v1/me/sessions/{session_id}", tag = "auth", responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn api_revoke_session(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(reference): Path<String>,
) -> ApiResult<StatusCode> {
    revoke_one(&s, &ctx, &reference).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub name: String,
    /// Permission names (see /api/v1/roles); never more than the issuer holds.
    pub permissions: Vec<String>,
    #[serde(default)]
    pub department_id: Option<String>,
    pub region_code: String,
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub id: String,
    /// Shown once: store it now. Only its keyed hash is kept.
    pub token: String,
    #[schema(value_type = Object)]
    pub info: serde_json::Value,
}

/// Issues an API token for a system; the secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenBody, tag = "auth",
    responses((status = 201, body = TokenCreated), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn api_create_token(
    State(s): State<AppState>,
    ctx: Ctx,
    body: ApiJson<TokenBody>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    let b = body.value;
    let input = TokenInput {
        name: b.name,
        permissions: b.permissions,
        department_id: b.department_id,
        region_code: b.region_code,
        expires_in_days: b.expires_in_days,
    };
    let (info, secret) = store_auth::create_token(&s.store, ctx.meta(), &input, &ctx.actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id: info.id.clone(),
            token: secret,
            info: serde_json::to_value(&info).unwrap_or_default(),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200)))]
pub async fn api_tokens(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Json<Vec<TokenInfo>>> {
    let region = scope_region(&s, &ctx);
    Ok(Json(store_auth::tokens_in_region(&s.store, &region).await?))
}

/// The region a staff member's or system's lists cover (the whole country for root).
pub fn scope_region(s: &AppState, ctx: &Ctx) -> String {
    let _ = s;
    match &ctx.actor {
        Actor::Staff { region_code, .. } | Actor::System { region_code, .. } => region_code.clone(),
        Actor::Root => "000000".into(),
        _ => "-".into(),
    }
}

#[utoipa::path(delete, path = "/api/v1/tokens/{token_id}", tag = "auth", responses((status = 200), (status = 404, body = crate::error::Problem)))]
pub async fn api_revoke_token(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(store_auth::revoke_token(&s.store, ctx.meta(), &id).await?))
}

// ------------------------------------------------------------------ pages

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    base: Base,
    next: String,
    login: String,
    /// "password", "second" (TOTP or recovery code).
    step: &'static str,
    errors: Vec<FieldError>,
}

impl LoginPage {
    fn msg(&self, e: &FieldError) -> String {
        if self.base.lang == Lang::En {
            e.en.clone()
        } else {
            e.zh.clone()
        }
    }
}

fn safe_next(n: Option<String>) -> String {
    crate::pages::local_path(n.as_deref(), "/account")
}

async fn login_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(q): ApiQuery<NextQuery>,
) -> ApiResult<Response> {
    let mut base = Base::new(&s, &headers, &uri, &ctx).await;
    base.csrf = ctx.csrf().await;
    Ok(LoginPage {
        base,
        next: safe_next(q.next),
        login: String::new(),
        step: "password",
        errors: vec![],
    }
    .into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

fn field_errors(e: ApiError) -> Vec<FieldError> {
    if e.errors.is_empty() {
        vec![FieldError::new("(form)", "error", e.title_zh, e.detail)]
    } else {
        e.errors
    }
}

async fn login_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    ClientIp(ip): ClientIp,
    Form(f): Form<LoginForm>,
) -> ApiResult<Response> {
    let base = Base::new(&s, &headers, &uri, &ctx).await;
    let next = safe_next(f.next);
    let session = ctx.browser_session()?;
    let page = |step, errors| LoginPage {
        base,
        next: next.clone(),
        login: f.login.clone(),
        step,
        errors,
    };
    if !s.login_allowed(&ip) {
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            page("password", field_errors(rate_limited())),
        )
            .into_response());
    }
    let input = LoginInput {
        login: f.login.clone(),
        password: f.password,
        totp_code: None,
        recovery_code: None,
    };
    let device = device_cookie(&headers);
    let client = store_auth::Client {
        ip: &ip,
        device: device.as_deref(),
    };
    match store_auth::login(&s.store, &input, client).await {
        Ok(LoginOutcome::Done(acc)) => {
            establish(&session, &acc.id).await?;
            let mut r = Redirect::to(&next).into_response();
            remember_device(&s, &mut r, &acc.id);
            Ok(r)
        }
        Ok(LoginOutcome::NeedSecondFactor(id)) => {
            set_pending(&session, &id, false).await?;
            Ok(page("second", vec![]).into_response())
        }
        Ok(LoginOutcome::NeedEnrolment(id)) => {
            set_pending(&session, &id, true).await?;
            Ok(Redirect::to(&format!("/login/enrol?next={}", urlenc(&next))).into_response())
        }
        Err(e) => {
            let e = ApiError::from(e);
            Ok((e.status, page("password", field_errors(e))).into_response())
        }
    }
}

fn urlenc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn set_pending(session: &Session, account_id: &str, enrol: bool) -> ApiResult<()> {
    session.cycle_id().await.map_err(|_| ApiError::internal())?;
    session
        .insert(
            K_PENDING,
            Pending {
                account_id: account_id.into(),
                enrol,
                at: yiwang_store::now_ms(),
            },
        )
        .await
        .map_err(|_| ApiError::internal())
}

/// A pending login lasts 5 minutes.
async fn pending(session: &Session, enrol: bool) -> Option<Pending> {
    let p: Pending = session.get(K_PENDING).await.ok().flatten()?;
    (p.enrol == enrol && yiwang_store::now_ms() - p.at < 5 * 60_000).then_some(p)
}

#[derive(Deserialize)]
struct SecondForm {
    totp_code: Option<String>,
    recovery_code: Option<String>,
    next: Option<String>,
}

async fn second_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    ClientIp(ip): ClientIp,
    Form(f): Form<SecondForm>,
) -> ApiResult<Response> {
    let base = Base::new(&s, &headers, &uri, &ctx).await;
    let next = safe_next(f.next);
    let session = ctx.browser_session()?;
    let Some(p) = pending(&session, false).await else {
        return Ok(Redirect::to(&format!("/login?next={}", urlenc(&next))).into_response());
    };
    let device = device_cookie(&headers);
    let client = store_auth::Client {
        ip: &ip,
        device: device.as_deref(),
    };
    match store_auth::second_factor(
        &s.store,
        &p.account_id,
        f.totp_code.as_deref(),
        f.recovery_code.as_deref(),
        client,
    )
    .await
    {
        Ok(LoginOutcome::Done(acc)) => {
            establish(&session, &acc.id).await?;
            let mut r = Redirect::to(&next).into_response();
            remember_device(&s, &mut r, &acc.id);
            Ok(r)
        }
        Ok(_) => Err(ApiError::internal()),
        Err(e) => {
            let e = ApiError::from(e);
            Ok((
                e.status,
                LoginPage {
                    base,
                    next,
                    login: String::new(),
                    step: "second",
                    errors: field_errors(e),
                },
            )
                .into_response())
        }
    }
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "totp_enrol.html")]
pub struct EnrolPage {
    pub base: Base,
    /// Where the form posts.
    pub action: String,
    pub next: String,
    pub qr_svg: String,
    pub secret_b32: String,
    pub errors: Vec<FieldError>,
    /// Shown once, after a successful enrolment.
    pub recovery_codes: Vec<String>,
}

impl EnrolPage {
    fn msg(&self, e: &FieldError) -> String {
        if self.base.lang == Lang::En {
            e.en.clone()
        } else {
            e.zh.clone()
        }
    }
}

/// The QR code of an otpauth URI, as inline SVG.
pub fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

/// Builds the enrolment page for an account, starting (or resuming) its pending secret.
pub async fn enrol_view(
    s: &AppState,
    base: Base,
    account_id: &str,
    action: &str,
    next: String,
    errors: Vec<FieldError>,
) -> ApiResult<EnrolPage> {
    let secret = match store_auth::totp_pending(&s.store, account_id).await? {
        Some(sec) => sec,
        None => store_auth::totp_begin(&s.store, account_id).await?,
    };
    let acc = accounts::account(&s.store.read, account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let label = acc.login.clone().unwrap_or(acc.display_name.clone());
    let issuer = base.site_name();
    let uri = yiwang_crypto::totp::provisioning_uri(&issuer, &label, &secret);
    Ok(EnrolPage {
        base,
        action: action.into(),
        next,
        qr_svg: qr_svg(&uri),
        secret_b32: yiwang_crypto::totp::base32(&secret),
        errors,
        recovery_codes: vec![],
    })
}

async fn enrol_page(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(q): ApiQuery<NextQuery>,
) -> ApiResult<Response> {
    let next = safe_next(q.next);
    let session = ctx.browser_session()?;
    let Some(p) = pending(&session, true).await else {
        return Ok(Redirect::to(&format!("/login?next={}", urlenc(&next))).into_response());
    };
    let base = Base::new(&s, &headers, &uri, &ctx).await;
    Ok(enrol_view(&s, base, &p.account_id, "/login/enrol", next, vec![])
        .await?
        .into_response())
}

#[derive(Deserialize)]
pub struct EnrolForm {
    pub totp_code: String,
    pub next: Option<String>,
}

async fn enrol_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<EnrolForm>,
) -> ApiResult<Response> {
    let next = safe_next(f.next);
    let session = ctx.browser_session()?;
    let Some(p) = pending(&session, true).await else {
        return Ok(Redirect::to(&format!("/login?next={}", urlenc(&next))).into_response());
    };
    let base = Base::new(&s, &headers, &uri, &ctx).await;
    match store_auth::totp_confirm(&s.store, &p.account_id, &f.totp_code).await {
        Ok(codes) => {
            establish(&session, &p.account_id).await?;
            let base = Base::new(&s, &headers, &uri, &ctx).await;
            Ok(EnrolPage {
                base,
                action: String::new(),
                next,
                qr_svg: String::new(),
                secret_b32: String::new(),
                errors: vec![],
                recovery_codes: codes,
            }
            .into_response())
        }
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status;
            Ok((
                status,
                enrol_view(&s, base, &p.account_id, "/login/enrol", next, field_errors(e)).await?,
            )
                .into_response())
        }
    }
}

async fn logout_form(ctx: Ctx) -> ApiResult<Response> {
    if let Some(sess) = &ctx.session {
        sess.flush().await.map_err(|_| ApiError::internal())?;
    }
    Ok(Redirect::to("/").into_response())
}

async fn logout_everywhere_form(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Response> {
    logout_everywhere(&s, &ctx).await?;
    Ok(Redirect::to("/login").into_response())
}

async fn revoke_session_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(reference): Path<String>,
) -> ApiResult<Response> {
    revoke_one(&s, &ctx, &reference).await?;
    Ok(Redirect::to("/account#sessions").into_response())
}

/// Session views for the account page.
pub async fn sessions_for_page(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<SessionView>> {
    session_views(s, ctx).await
}

// ------------------------------------------------------------------ API token admin page

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    base: Base,
    tokens: Vec<TokenInfo>,
    /// Permissions the admin holds (a token never gets more).
    grantable: Vec<Permission>,
    departments: Vec<yiwang_core::orgs::Department>,
    default_region: String,
    errors: Vec<FieldError>,
    /// The new token's secret: shown on this page once.
    created: Option<(String, String)>,
}

impl TokensPage {
    fn msg(&self, e: &FieldError) -> String {
        if self.base.lang == Lang::En {
            e.en.clone()
        } else {
            e.zh.clone()
        }
    }
    fn when(&self, ms: &Option<i64>) -> String {
        ms.and_then(|ms| chrono::DateTime::from_timestamp_millis(ms + 8 * 3_600_000))
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "–".into())
    }
    fn when_ms(&self, ms: &i64) -> String {
        self.when(&Some(*ms))
    }
    fn perms(&self, t: &TokenInfo) -> String {
        t.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
    }
    fn department_name(&self, t: &TokenInfo) -> String {
        t.department_id
            .as_ref()
            .and_then(|id| self.departments.iter().find(|d| &d.id == id))
            .map(|d| d.name.clone())
            .unwrap_or_else(|| "–".into())
    }
}

async fn render_tokens(
    s: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    uri: &Uri,
    errors: Vec<FieldError>,
    created: Option<(String, String)>,
) -> ApiResult<Response> {
    let base = Base::new(s, headers, uri, ctx).await;
    let region = scope_region(s, ctx);
    let departments = yiwang_store::orgs::departments(&s.store.read, None)
        .await?
        .into_iter()
        .filter(|d| {
            ctx.actor
                .authorize(
                    Permission::TokenManage,
                    &Target::Department {
                        id: d.id.clone(),
                        region_code: d.region_code.clone(),
                    },
                )
                .is_ok()
        })
        .collect();
    let status = crate::pages::form_status(&errors);
    let page = TokensPage {
        tokens: store_auth::tokens_in_region(&s.store, &region).await?,
        grantable: Permission::ALL.into_iter().filter(|p| ctx.has(*p)).collect(),
        departments,
        default_region: if region == "000000" {
            s.home_region.clone()
        } else {
            region
        },
        base,
        errors,
        created,
    };
    Ok((status, page).into_response())
}

async fn tokens_page(State(s): State<AppState>, ctx: Ctx, headers: HeaderMap, uri: Uri) -> ApiResult<Response> {
    render_tokens(&s, &ctx, &headers, &uri, vec![], None).await
}

/// Issues a token from the page form (same service as `POST /api/v1/tokens`).
async fn token_form(
    State(s): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let mut input = TokenInput {
        name: String::new(),
        permissions: vec![],
        department_id: None,
        region_code: String::new(),
        expires_in_days: None,
    };
    let mut bad_days = false;
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "name" => input.name = v.into_owned(),
            "permission" => input.permissions.push(v.into_owned()),
            "department_id" if !v.is_empty() => input.department_id = Some(v.into_owned()),
            "region_code" => input.region_code = v.trim().to_string(),
            "expires_in_days" if !v.trim().is_empty() => match v.trim().parse() {
                Ok(n) => input.expires_in_days = Some(n),
                Err(_) => bad_days = true,
            },
            _ => {}
        }
    }
    if bad_days {
        let e = FieldError::new(
            "expires_in_days",
            "type",
            "有效天数应为整数",
            "the days until expiry are a whole number",
        );
        return render_tokens(&s, &ctx, &headers, &uri, vec![e], None).await;
    }
    match store_auth::create_token(&s.store, ctx.meta(), &input, &ctx.actor).await {
        Ok((info, secret)) => render_tokens(&s, &ctx, &headers, &uri, vec![], Some((info.name, secret))).await,
        Err(e) => render_tokens(&s, &ctx, &headers, &uri, ApiError::from(e).into_field_errors(), None).await,
    }
}

async fn token_revoke_form(State(s): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    store_auth::revoke_token(&s.store, ctx.meta(), &id).await?;
    Ok(Redirect::to("/admin/tokens").into_response())
}

pub fn token_page_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", get(tokens_page).post(token_form))
        .route("/admin/tokens/{token_id}/revoke", post(token_revoke_form))
}
