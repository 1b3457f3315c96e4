//! Login, logout, sessions and tokens over the API.

use super::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_login))
        .routes(routes!(api_logout))
        .routes(routes!(api_logout_everywhere))
        .routes(routes!(api_sessions))
        .routes(routes!(api_revoke_session))
        .routes(routes!(api_tokens, api_create_token))
        .routes(routes!(api_revoke_token))
        .route("/login", get(login_page).post(login_form))
        .route("/start", get(start_page))
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

pub(super) async fn logout_everywhere(s: &AppState, ctx: &Ctx) -> ApiResult<u64> {
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
pub(super) fn session_ref(s: &AppState, id: &str) -> String {
    s.store.pii.index("session_ref", id)[..16].to_string()
}

pub(super) async fn session_views(s: &AppState, ctx: &Ctx) -> ApiResult<Vec<SessionView>> {
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

pub(super) async fn revoke_one(s: &AppState, ctx: &Ctx, reference: &str) -> ApiResult<()> {
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
