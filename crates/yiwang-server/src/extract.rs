//! Request extractors that turn every malformed input into a problem naming the field:
//! JSON bodies (syntax, types, unknown and missing fields, size), query strings, the
//! Idempotency-Key header and the admin token.

use crate::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use yiwang_core::FieldError;

/// A JSON body, kept with its raw bytes (for idempotency fingerprints).
pub struct ApiJson<T> {
    pub value: T,
    pub raw: Bytes,
}

/// A character no text field takes: C0 and C1 controls and DEL (tab, newline and carriage
/// return excepted), bidirectional overrides that disguise text (Unicode TR #36 §2.1), and
/// NUL, which PostgreSQL cannot store.
pub fn forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The path of the first string in a JSON document holding a forbidden character.
fn forbidden_path(v: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::String(s) => s.chars().any(forbidden_char).then(|| path.to_string()),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| forbidden_path(x, &format!("{path}[{i}]"))),
        Value::Object(o) => o.iter().find_map(|(k, x)| {
            if k.chars().any(forbidden_char) {
                Some(join(k))
            } else {
                forbidden_path(x, &join(k))
            }
        }),
        _ => None,
    }
}

/// Refuses control characters anywhere in a JSON body, naming the field. They reach a
/// string only through escapes (`\u0000`, `\b`, `\f`; raw ones are not JSON), so bodies
/// without a backslash are passed at once.
fn check_text(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.contains(&b'\\') {
        return Ok(());
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    match forbidden_path(&v, "") {
        None => Ok(()),
        Some(path) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/invalid",
            "The input breaks a rule",
            "输入不符合规则",
            format!("{path}: control characters are not accepted"),
        )
        .with(FieldError::new(
            if path.is_empty() { "(body)".to_string() } else { path },
            "text.control",
            "不能包含控制字符或方向控制符",
            "control and direction-override characters are not accepted",
        ))),
    }
}

/// Reads `T` from JSON, naming the field that is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => check_text(bytes).map(|_| v),
        Err(e) => {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::bad_request(FieldError::new(
                    "(body)",
                    "json.syntax",
                    format!("JSON 格式错误（第 {} 行第 {} 列）", inner.line(), inner.column()),
                    format!("malformed JSON at line {} column {}", inner.line(), inner.column()),
                )));
            }
            let msg = inner.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            let (rule, zh, en) = yiwang_core::error::serde_problem(&msg);
            let mut path = e.path().to_string();
            if rule == "missing_field" || rule == "required" {
                let f = msg.split('`').nth(1).unwrap_or("");
                path = if path == "." {
                    f.to_string()
                } else {
                    format!("{path}.{f}")
                };
            } else if rule == "unknown_field" {
                let f = msg.split('`').nth(1).unwrap_or("");
                path = if path == "." { f.to_string() } else { path };
            }
            if path == "." {
                path = "(body)".into();
            }
            Err(ApiError::bad_request(FieldError::new(path, rule, zh, en)))
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !(ct.starts_with("application/json") || ct.starts_with("application/merge-patch+json")) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "/problems/unsupported-media-type",
                "Send JSON",
                "请以 JSON 格式提交",
                "the request body must be application/json",
            )
            .with(FieldError::new(
                "Content-Type",
                "content_type",
                "Content-Type 应为 application/json",
                "Content-Type must be application/json",
            )));
        }
        let raw = read_body(req, state, crate::BODY_LIMIT).await?;
        Ok(ApiJson {
            value: parse_json(&raw)?,
            raw,
        })
    }
}

/// A body of at most `limit` bytes. One declared larger is drained (see `drain`) and
/// refused with a 413 problem; a read that fails is a 400 naming the body.
async fn read_body<S: Send + Sync>(req: Request, state: &S, limit: usize) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared
        && len > limit as u64
    {
        drain(req.into_body(), len).await;
        return Err(too_large());
    }
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request(FieldError::new(
                "(body)",
                "read",
                "无法读取请求体",
                "the request body could not be read",
            ))
        }
    })
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "/problems/too-large",
        "Request body too large",
        "请求体过大",
        "the request body exceeds the limit",
    )
    .with(FieldError::new(
        "(body)",
        "max_size",
        "请求体超过大小限制",
        "the request body exceeds the size limit",
    ))
}

/// Most bytes read and dropped from a refused oversized body (see `drain`): above an
/// upload's 20 MB, so a file somewhat too large gets its 413 answer.
const DRAIN_LIMIT: u64 = 32 << 20;

/// An uploaded file's bytes, at most `files::MAX_SIZE`; a larger body is drained and
/// refused with a 413 problem (never a connection reset mid-upload).
pub struct Upload(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let b = read_body(req, state, yiwang_store::files::MAX_SIZE).await?;
        Ok(Upload(b))
    }
}

/// Reads and drops an oversized body (up to `DRAIN_LIMIT`) before the 413 is sent: a
/// server that answers while the client is still sending and then closes the connection
/// makes most clients report a broken connection instead of the answer.
pub async fn drain(body: axum::body::Body, declared: u64) {
    use http_body_util::BodyExt;
    if declared > DRAIN_LIMIT {
        return;
    }
    let mut body = body;
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(d) = frame.data_ref() {
            seen += d.len() as u64;
            if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
}

/// A query string, naming the parameter that is wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize::<_, T>(de).map(ApiQuery).map_err(|e| {
            let msg = e.inner().to_string();
            let (rule, zh, en) = match yiwang_core::error::serde_problem(&msg) {
                ("json", _, _) => ("type", "参数取值不正确".into(), "the value is not allowed here".into()),
                other => other,
            };
            let field = match e.path().to_string().as_str() {
                "." => msg.split('`').nth(1).unwrap_or("(query)").to_string(),
                p => p.to_string(),
            };
            ApiError::bad_request(FieldError::new(field, rule, zh, en))
        })
    }
}

/// The optional `Idempotency-Key` header (IETF draft-ietf-httpapi-idempotency-key-header).
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_graphic()) => {
                Ok(IdempotencyKey(Some(s.to_string())))
            }
            _ => Err(ApiError::bad_request(FieldError::new(
                "Idempotency-Key",
                "idempotency.format",
                "幂等键应为 1–200 个可见 ASCII 字符",
                "an Idempotency-Key is 1–200 visible ASCII characters",
            ))),
        }
    }
}

/// An administrator, authenticated by the configured admin token (until accounts exist).
pub struct Admin {
    pub actor: String,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match (given, &state.admin_token) {
            (_, None) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "/problems/forbidden",
                "Administration is disabled",
                "未启用管理功能",
                "no admin token is configured on this server (admin_token / YIWANG_ADMIN_TOKEN)",
            )),
            (Some(g), Some(t)) if bool::from(g.as_bytes().ct_eq(t.as_bytes())) => Ok(Admin { actor: "admin".into() }),
            (Some(_), Some(_)) => Err(ApiError::unauthorized("the admin token is wrong")),
            (None, Some(_)) => Err(ApiError::unauthorized("send 'Authorization: Bearer <admin token>'")),
        }
    }
}

/// `?after=…&limit=…` of a list read a page at a time: where the page starts (the `next`
/// cursor the page before gave, also sent as `Link: <…>; rel="next"`) and how many rows it
/// holds.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// The cursor the page before gave (its `next`); the first page without it.
    pub after: Option<String>,
    /// Rows on the page: 1 to 200 (50 when not given).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl PageParams {
    pub const DEFAULT: i64 = 50;

    /// The rows wanted, or a 400 naming `limit`.
    pub fn limit(&self) -> Result<i64, ApiError> {
        let max = yiwang_store::cases::PAGE_MAX;
        match self.limit {
            None => Ok(Self::DEFAULT),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::bad_request(FieldError::new(
                "limit",
                "range",
                format!("每页行数须在 1 到 {max} 之间"),
                format!("rows on a page must be 1 to {max}"),
            ))),
        }
    }

    /// The cursor read by `parse`, or a 400 naming `after`.
    pub fn after<K>(&self, parse: impl Fn(&str) -> Result<K, FieldError>) -> Result<Option<K>, ApiError> {
        self.after
            .as_deref()
            .map(parse)
            .transpose()
            .map_err(ApiError::bad_request)
    }

    /// The address of the page after this one (`path?after=…&limit=…`), if one follows.
    pub fn next_url(&self, path: &str, next: Option<&str>) -> Option<String> {
        let next = next?;
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("after", next);
        if let Some(n) = self.limit {
            q.append_pair("limit", &n.to_string());
        }
        Some(format!("{path}?{}", q.finish()))
    }

    /// `Link: <…>; rel="next"` (RFC 8288) when another page follows.
    pub fn link(&self, path: &str, next: Option<&str>) -> Option<[(header::HeaderName, String); 1]> {
        self.next_url(path, next)
            .map(|u| [(header::LINK, format!("<{u}>; rel=\"next\""))])
    }
}
