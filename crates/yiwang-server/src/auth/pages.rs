//! Login, second factor, enrolment, sessions and tokens pages.

use super::*;
use crate::pages::Page;
use utoipa_axum::router::OpenApiRouter;

#[derive(Deserialize)]
pub struct NextQuery {
    pub(super) next: Option<String>,
}

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    pub(super) base: Base,
    pub(super) next: String,
    pub(super) login: String,
    /// "password", "second" (TOTP or recovery code).
    pub(super) step: &'static str,
    pub(super) errors: Vec<FieldError>,
}

crate::page!(LoginPage);

pub(super) fn safe_next(n: Option<String>) -> String {
    crate::pages::local_path(n.as_deref(), "/start")
}

/// Where a login without a `next` lands: the page of the account's daily work. A window
/// clerk takes applications; case staff work their inbox; catalogue staff the catalogue;
/// licence officers issue; administrators manage; a person sees their account.
pub(super) fn landing(ctx: &Ctx) -> &'static str {
    use yiwang_core::access::Permission as P;
    if !ctx.is_staff() {
        return if ctx.display_name.is_some() {
            "/account"
        } else {
            "/login"
        };
    }
    if ctx.has(P::CaseAccept) {
        "/work/window"
    } else if crate::access::CASE_STAFF.iter().any(|p| ctx.has(*p)) {
        "/work/inbox"
    } else if ctx.has(P::CatalogReview) || ctx.has(P::CatalogManage) {
        "/catalog"
    } else if ctx.has(P::LicenceIssue) {
        "/licences"
    } else if ctx.has(P::SealManage) {
        "/admin/seals"
    } else if ctx.has(P::StaffManage) {
        "/admin/staff"
    } else {
        "/account"
    }
}

pub(super) async fn start_page(ctx: Ctx) -> Redirect {
    Redirect::to(landing(&ctx))
}

pub(super) async fn login_page(ctx: Ctx, ApiQuery(q): ApiQuery<NextQuery>, mut base: Base) -> ApiResult<Response> {
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
pub(super) struct LoginForm {
    pub(super) login: String,
    pub(super) password: String,
    pub(super) next: Option<String>,
}

pub(super) fn field_errors(e: ApiError) -> Vec<FieldError> {
    if e.errors.is_empty() {
        vec![FieldError::new("(form)", "error", e.title_zh, e.detail)]
    } else {
        e.errors
    }
}

pub(super) async fn login_form(
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

pub(super) fn urlenc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(super) async fn set_pending(session: &Session, account_id: &str, enrol: bool) -> ApiResult<()> {
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
pub(super) async fn pending(session: &Session, enrol: bool) -> Option<Pending> {
    let p: Pending = session.get(K_PENDING).await.ok().flatten()?;
    (p.enrol == enrol && yiwang_store::now_ms() - p.at < 5 * 60_000).then_some(p)
}

#[derive(Deserialize)]
pub(super) struct SecondForm {
    pub(super) totp_code: Option<String>,
    pub(super) recovery_code: Option<String>,
    pub(super) next: Option<String>,
}

pub(super) async fn second_form(
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

crate::page!(EnrolPage);

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

pub(super) async fn enrol_page(
    State(s): State<AppState>,
    ctx: Ctx,
    ApiQuery(q): ApiQuery<NextQuery>,
    base: Base,
) -> ApiResult<Response> {
    let next = safe_next(q.next);
    let session = ctx.browser_session()?;
    let Some(p) = pending(&session, true).await else {
        return Ok(Redirect::to(&format!("/login?next={}", urlenc(&next))).into_response());
    };
    Ok(enrol_view(&s, base, &p.account_id, "/login/enrol", next, vec![])
        .await?
        .into_response())
}

#[derive(Deserialize)]
pub struct EnrolForm {
    pub totp_code: String,
    pub next: Option<String>,
}

pub(super) async fn enrol_form(
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

pub(super) async fn logout_form(ctx: Ctx) -> ApiResult<Response> {
    if let Some(sess) = &ctx.session {
        sess.flush().await.map_err(|_| ApiError::internal())?;
    }
    Ok(Redirect::to("/").into_response())
}

pub(super) async fn logout_everywhere_form(State(s): State<AppState>, ctx: Ctx) -> ApiResult<Response> {
    logout_everywhere(&s, &ctx).await?;
    Ok(Redirect::to("/login").into_response())
}

pub(super) async fn revoke_session_form(
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
pub(super) struct TokensPage {
    pub(super) base: Base,
    pub(super) tokens: Vec<TokenInfo>,
    /// Permissions the admin holds (a token never gets more).
    pub(super) grantable: Vec<Permission>,
    pub(super) departments: Vec<yiwang_core::orgs::Department>,
    pub(super) default_region: String,
    pub(super) errors: Vec<FieldError>,
    /// The new token's secret: shown on this page once.
    pub(super) created: Option<(String, String)>,
}

crate::page!(TokensPage);

impl TokensPage {
    pub(super) fn perms(&self, t: &TokenInfo) -> String {
        t.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
    }
    pub(super) fn department_name(&self, t: &TokenInfo) -> String {
        t.department_id
            .as_ref()
            .and_then(|id| self.departments.iter().find(|d| &d.id == id))
            .map(|d| d.name.clone())
            .unwrap_or_else(|| "–".into())
    }
}

pub(super) async fn render_tokens(
    s: &AppState,
    ctx: &Ctx,
    base: Base,
    errors: Vec<FieldError>,
    created: Option<(String, String)>,
) -> ApiResult<Response> {
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

pub(super) async fn tokens_page(State(s): State<AppState>, ctx: Ctx, base: Base) -> ApiResult<Response> {
    render_tokens(&s, &ctx, base, vec![], None).await
}

/// Issues a token from the page form (same service as `POST /api/v1/tokens`).
pub(super) async fn token_form(
    State(s): State<AppState>,
    ctx: Ctx,
    base: Base,
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
        return render_tokens(&s, &ctx, base, vec![e], None).await;
    }
    match store_auth::create_token(&s.store, ctx.meta(), &input, &ctx.actor).await {
        Ok((info, secret)) => render_tokens(&s, &ctx, base, vec![], Some((info.name, secret))).await,
        Err(e) => render_tokens(&s, &ctx, base, ApiError::from(e).into_field_errors(), None).await,
    }
}

pub(super) async fn token_revoke_form(
    State(s): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    store_auth::revoke_token(&s.store, ctx.meta(), &id).await?;
    Ok(Redirect::to("/admin/tokens").into_response())
}

pub fn token_page_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/admin/tokens", get(tokens_page).post(token_form))
        .route("/admin/tokens/{token_id}/revoke", post(token_revoke_form))
}
