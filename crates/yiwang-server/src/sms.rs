//! SMS one-time codes over HTTP: asking for a code (`POST /api/v1/auth/sms-codes`, answered
//! the same whether or not the number is registered), logging in with one
//! (`POST /api/v1/auth/sms-login`), and setting a new password with one
//! (`POST /api/v1/auth/password-reset`, and the page `/recover`). Registration takes its code
//! in the registration body (`accounts`).

use crate::AppState;
use crate::auth::{ClientIp, Ctx};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::pages::Base;
use crate::pages::Page;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use yiwang_core::FieldError;
use yiwang_core::sms::Purpose;
use yiwang_store::{Meta, sms};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(api_request_code))
        .routes(routes!(api_sms_login))
        .routes(routes!(api_reset))
        .route("/recover", axum::routing::get(recover_page).post(recover_form))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// Mainland mobile number (11 digits).
    #[schema(example = "13800138000")]
    pub phone: String,
    pub purpose: Purpose,
}

/// The answer to a request for a code: the same for every number.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeRequested {
    /// Seconds before another code may be asked for this number.
    pub resend_after_secs: i64,
}

/// Asks for a code by text message. The answer never says whether the number is registered:
/// a code to register goes only to a new number, one to log in or recover only to a
/// registered one. One code a minute and ten a day per number; ten requests a minute per
/// client address.
#[utoipa::path(post, path = "/api/v1/auth/sms-codes", request_body = CodeRequest, tag = "auth",
    responses((status = 202, body = CodeRequested), (status = 422, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn api_request_code(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    body: ApiJson<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeRequested>)> {
    request(&s, &ip, &body.value.phone, body.value.purpose).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeRequested {
            resend_after_secs: s.store.config.sms_policy.resend_secs,
        }),
    ))
}

/// The one way a code is asked for (API and pages).
async fn request(s: &AppState, ip: &str, phone: &str, purpose: Purpose) -> ApiResult<()> {
    if !s.register_allowed(&format!("sms:{ip}")) {
        return Err(crate::auth::too_many());
    }
    Ok(sms::request_code(&s.store, Meta::actor("anonymous"), phone, purpose).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsLogin {
    pub phone: String,
    /// The code sent for purpose `login`.
    pub sms_code: String,
}

/// Logs a person in with a code sent to their number and starts a session (as
/// `/api/v1/auth/login` does).
#[utoipa::path(post, path = "/api/v1/auth/sms-login", request_body = SmsLogin, tag = "auth",
    responses((status = 200, body = crate::auth::LoggedIn), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn api_sms_login(
    State(s): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: ApiJson<SmsLogin>,
) -> ApiResult<Response> {
    if !s.login_allowed(&ip) {
        return Err(crate::auth::too_many());
    }
    let session = ctx.browser_session()?;
    let device = crate::auth::device_cookie(&headers);
    let client = yiwang_store::auth::Client {
        ip: &ip,
        device: device.as_deref(),
    };
    let b = body.value;
    match yiwang_store::auth::sms_login(&s.store, &b.phone, &b.sms_code, client).await? {
        yiwang_store::auth::LoginOutcome::Done(acc) => crate::auth::logged_in(&s, &session, &acc).await,
        _ => Err(ApiError::internal()),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub phone: String,
    /// The code sent for purpose `recover`.
    pub sms_code: String,
    /// The new password (at least 8 characters from three classes).
    pub password: String,
}

/// Sets a new password with a code sent to the account's number; every session of the
/// account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", request_body = PasswordReset, tag = "auth",
    responses((status = 204), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn api_reset(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    body: ApiJson<PasswordReset>,
) -> ApiResult<StatusCode> {
    if !s.login_allowed(&ip) {
        return Err(crate::auth::too_many());
    }
    let b = body.value;
    sms::reset_password(&s.store, Meta::actor("anonymous"), &b.phone, &b.sms_code, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ page

#[derive(Template, askama_web::WebTemplate)]
#[template(path = "recover.html")]
struct RecoverPage {
    base: Base,
    phone: String,
    code_sent: bool,
    done: bool,
    errors: Vec<FieldError>,
}

crate::page!(RecoverPage);

#[derive(Deserialize)]
struct RecoverForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    sms_code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    /// `code`: text me a code; otherwise set the password.
    #[serde(default)]
    action: String,
}

async fn recover_page(ctx: Ctx, mut base: Base) -> ApiResult<RecoverPage> {
    base.csrf = ctx.csrf().await;
    Ok(RecoverPage {
        base,
        phone: String::new(),
        code_sent: false,
        done: false,
        errors: vec![],
    })
}

async fn recover_form(
    State(s): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    mut base: Base,
    Form(f): Form<RecoverForm>,
) -> ApiResult<Response> {
    base.csrf = ctx.csrf().await;
    let mut page = RecoverPage {
        base,
        phone: f.phone.clone(),
        code_sent: false,
        done: false,
        errors: vec![],
    };
    let outcome = if f.action == "code" {
        request(&s, &ip, &f.phone, Purpose::Recover)
            .await
            .map(|_| page.code_sent = true)
    } else if f.password != f.password2 {
        Err(ApiError::from(yiwang_store::StoreError::from(
            yiwang_core::DomainError::invalid(vec![FieldError::new(
                "password2",
                "password.confirm",
                "两次输入的密码不一致",
                "the two passwords differ",
            )]),
        )))
    } else if !s.login_allowed(&ip) {
        Err(crate::auth::too_many())
    } else {
        sms::reset_password(&s.store, Meta::actor("anonymous"), &f.phone, &f.sms_code, &f.password)
            .await
            .map(|_| page.done = true)
            .map_err(ApiError::from)
    };
    match outcome {
        Ok(()) => Ok(page.into_response()),
        Err(e) => {
            let status = e.status;
            page.errors = e.into_field_errors();
            Ok((status, page).into_response())
        }
    }
}
