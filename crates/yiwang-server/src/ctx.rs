//! The request context: who is calling, sessions, CSRF.

use crate::error::{ApiError, ApiResult};
use crate::{AppState, BODY_LIMIT};
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;
use yiwang_core::FieldError;
use yiwang_core::access::{Actor, Permission, Target};
use yiwang_core::mandates::Subject;
use yiwang_store::auth::{self as store_auth, TokenInfo};
use yiwang_store::{Meta, accounts, mandates};

pub(crate) const K_ACCOUNT: &str = "account_id";
pub(crate) const K_AUTH_AT: &str = "auth_at";
pub(crate) const K_SEEN: &str = "seen";
pub(crate) const K_CSRF: &str = "csrf";
pub(crate) const K_ACTING: &str = "acting_for";
pub(crate) const K_PENDING: &str = "pending";

/// A password-verified login waiting for its second factor or its TOTP enrolment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub(crate) account_id: String,
    pub(crate) enrol: bool,
    pub(crate) at: i64,
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
    pub(crate) fn anonymous(session: Option<Session>) -> Ctx {
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
        self.actor.authorize(p, t).map_err(crate::error::denied_error)
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

pub(crate) fn random_hex(n: usize) -> String {
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

pub(crate) fn internal(e: impl std::fmt::Display) -> Box<Response> {
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

pub(crate) fn csrf_refused(page: bool) -> Box<Response> {
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
        Box::new(crate::error::forbidden_error("csrf.mismatch", zh.into(), en.into()).into_response())
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
        crate::IMPORT_LIMIT + (1 << 20)
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
