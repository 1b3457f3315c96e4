//! Authentication: server-side sessions (tower-sessions over our own store), who is
//! calling (`Ctx`), CSRF, login with a second factor, logout (here and everywhere),
//! sessions, API tokens; and the login and enrolment pages.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::pages::Base;
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::{Expiry, Session, SessionManagerLayer, SessionStore, session_store};
use yiwang_core::FieldError;
use yiwang_core::access::{Actor, Permission, Target};
use yiwang_store::auth::{self as store_auth, LoginInput, LoginOutcome, TokenInfo, TokenInput};
use yiwang_store::{Store, accounts};

// ------------------------------------------------------------------ session store

mod sessions;
pub use crate::ctx::*;
pub use sessions::*;
mod api;
pub use api::*;
mod pages;
pub use pages::*;

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
