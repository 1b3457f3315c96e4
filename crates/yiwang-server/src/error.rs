//! Errors as RFC 9457 problem details (`application/problem+json`), naming every field
//! and rule in Chinese and English (DESIGN principle 7). Never a 5xx for bad input.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use yiwang_core::access::Denied;
use yiwang_core::{DomainError, ErrorKind, FieldError};
use yiwang_store::StoreError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// The field, as a JSON path into the request (or a query/path/header name).
    pub field: String,
    /// A stable rule name, e.g. `uscc.check_digit`.
    pub rule: String,
    pub message_zh: String,
    pub message_en: String,
}

/// RFC 9457 problem details with a field list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub title_zh: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub title: &'static str,
    pub title_zh: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (`Retry-After`, RFC 9110 §10.2.3), for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// The problems to show on a page: the field errors, or the whole problem as one.
    pub fn into_field_errors(self) -> Vec<FieldError> {
        if self.errors.is_empty() {
            vec![FieldError::new("(form)", "error", self.title_zh, self.detail)]
        } else {
            self.errors
        }
    }

    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        title_zh: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            title,
            title_zh,
            detail: detail.into(),
            errors: vec![],
            retry_after: None,
        }
    }
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }
    pub fn with(mut self, e: FieldError) -> Self {
        self.errors.push(e);
        self
    }
    /// 400: the request could not be read (syntax, types, unknown fields).
    pub fn bad_request(e: FieldError) -> Self {
        let detail = e.en.clone();
        Self::new(
            StatusCode::BAD_REQUEST,
            "/problems/bad-request",
            "The request could not be read",
            "请求格式错误",
            detail,
        )
        .with(e)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Not found",
            "未找到",
            format!("no such {what}"),
        )
    }
    pub fn unauthorized(detail: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "/problems/unauthorized",
            "Authentication required",
            "需要身份认证",
            detail,
        )
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "/problems/internal",
            "Internal error",
            "系统内部错误",
            "an internal error occurred; it has been logged",
        )
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let (status, kind, title, title_zh) = match e.kind {
            ErrorKind::Invalid => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/invalid",
                "The input breaks a rule",
                "输入不符合规则",
            ),
            ErrorKind::NotFound => (
                StatusCode::NOT_FOUND,
                "/problems/not-found",
                "Something named does not exist",
                "引用的对象不存在",
            ),
            ErrorKind::Conflict => (
                StatusCode::CONFLICT,
                "/problems/conflict",
                "Conflicts with what exists",
                "与现有数据冲突",
            ),
            ErrorKind::Forbidden => (
                StatusCode::FORBIDDEN,
                "/problems/forbidden",
                "Not allowed",
                "无权进行该操作",
            ),
        };
        let detail = e
            .errors
            .iter()
            .map(|f| format!("{}: {}", f.field, f.en))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            status,
            kind,
            title,
            title_zh,
            detail,
            errors: e.errors,
            retry_after: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::IdempotencyMismatch => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/idempotency-key-reused",
                "Idempotency-Key reused with a different request",
                "幂等键已用于另一个不同的请求",
                "this Idempotency-Key was already used with a different request body or path",
            )
            .with(FieldError::new(
                "Idempotency-Key",
                "idempotency.reused",
                "该幂等键已用于另一个请求，请换一个新的键",
                "this key was used for a different request; use a new key",
            )),
            StoreError::Concurrency(d) => Self::new(
                StatusCode::CONFLICT,
                "/problems/concurrent-change",
                "Changed concurrently",
                "数据已被同时修改",
                d,
            ),
            StoreError::WriterGone => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "Shutting down",
                "服务正在停止",
                "the server is shutting down; retry",
            ),
            StoreError::RateLimited(secs) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "/problems/rate-limited",
                "Too many requests",
                "请求过于频繁",
                format!("too many attempts; retry in {secs} s"),
            )
            .with(FieldError::new(
                "(request)",
                "rate_limit",
                format!("操作过于频繁，请 {secs} 秒后再试"),
                format!("too many attempts; retry in {secs} s"),
            ))
            .retry_after(secs),
            StoreError::Unavailable(what) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "/problems/unavailable",
                "A service this needs is unavailable",
                "所需的外部服务暂不可用",
                format!("{what} is not configured or did not answer; try again later"),
            )
            .with(FieldError::new(
                what,
                "service.unavailable",
                "短信服务暂不可用，请稍后再试或到政务服务窗口办理",
                "the text-message service is unavailable; try later or at a service window",
            ))
            .retry_after(60),
            other => {
                tracing::error!(error = %other, "internal error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: self.kind.to_string(),
            title: self.title.to_string(),
            title_zh: self.title_zh.to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self
                .errors
                .into_iter()
                .map(|e| FieldProblem {
                    field: e.field,
                    rule: e.rule,
                    message_zh: e.zh,
                    message_en: e.en,
                })
                .collect(),
        };
        let retry = self.retry_after;
        let mut resp = (self.status, axum::Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = retry {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The problem for an error answer made below our handlers (axum's extractors and body
/// limit, hyper): every error is problem+json, never bare text (issue 13, item 10).
pub fn for_status(status: StatusCode, detail: String) -> ApiError {
    let (kind, title, title_zh) = match status.as_u16() {
        400 => ("/problems/bad-request", "The request could not be read", "请求格式错误"),
        401 => ("/problems/unauthenticated", "Login required", "需要登录"),
        403 => ("/problems/forbidden", "Not allowed", "无权进行该操作"),
        404 => ("/problems/not-found", "Not found", "未找到"),
        405 => ("/problems/method-not-allowed", "Method not allowed", "不支持该请求方法"),
        408 => ("/problems/timeout", "Request timed out", "请求超时"),
        413 => ("/problems/too-large", "Request body too large", "请求体过大"),
        414 => ("/problems/uri-too-long", "Address too long", "请求地址过长"),
        415 => ("/problems/media-type", "Unsupported media type", "不支持的内容类型"),
        422 => ("/problems/invalid", "The input breaks a rule", "输入不符合规则"),
        429 => ("/problems/rate-limited", "Too many requests", "请求过于频繁"),
        503 => ("/problems/unavailable", "Unavailable", "服务暂不可用"),
        s if s >= 500 => ("/problems/internal", "Internal error", "系统内部错误"),
        _ => (
            "/problems/bad-request",
            "The request could not be served",
            "请求无法处理",
        ),
    };
    let detail: String = detail.chars().filter(|c| !c.is_control()).take(300).collect();
    let detail = if detail.trim().is_empty() || status.is_server_error() {
        title.to_string()
    } else {
        detail
    };
    ApiError::new(status, kind, title, title_zh, detail)
}

/// A refusal as a problem: 401 when not logged in, 403 naming the permission otherwise.
pub fn denied_error(d: Denied) -> ApiError {
    match d {
        Denied::Unauthenticated => ApiError::unauthorized("log in (session) or send 'Authorization: Bearer <token>'"),
        Denied::Missing(p) => forbidden_error(
            "permission.missing",
            format!("缺少权限「{}」", p.as_str()),
            format!("this needs the permission '{}'", p.as_str()),
        ),
        Denied::OutOfScope(p) => forbidden_error(
            "permission.scope",
            format!("权限「{}」不覆盖该部门或区划", p.as_str()),
            format!(
                "your '{}' permission does not reach this department or region",
                p.as_str()
            ),
        ),
    }
}

pub fn forbidden(rule: &str, zh: String, en: String) -> Response {
    forbidden_error(rule, zh, en).into_response()
}

pub fn forbidden_error(rule: &str, zh: String, en: String) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "/problems/forbidden",
        "Forbidden",
        "无权访问",
        en.clone(),
    )
    .with(yiwang_core::FieldError::new("(access)", rule, zh, en))
}
