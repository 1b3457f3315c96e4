//! The router: every capability's routes, fallbacks, and the middleware every answer passes.

use super::*;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Largest JSON body accepted (1 MiB); larger ones get 413 problem+json.
pub const BODY_LIMIT: usize = 1 << 20;

/// Every capability's routes, declared once: a documented API route brings its OpenAPI
/// operation with it (`routes!`), so the router and the document cannot drift apart.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(regions::routes())
        .merge(orgs::routes())
        .merge(calendar::routes())
        .merge(ledger::routes())
        .merge(audit::routes())
        .merge(auth::routes())
        .merge(accounts::routes())
        .merge(mandates::routes())
        .merge(datause::routes())
        .merge(auth::token_page_routes())
        .merge(catalog::routes())
        .merge(bundles::routes())
        .merge(files::routes())
        .merge(seals::routes())
        .merge(licences::routes())
        .merge(cases::routes())
        .merge(crate::ratings::routes())
        .merge(crate::hotline::routes())
        .merge(crate::federation::routes())
        .merge(crate::sharing::routes())
        .merge(crate::policies::routes())
        .merge(sms::routes())
        .merge(pages::routes())
}

pub fn router(state: AppState) -> Router {
    let (app, doc) = routes().split_for_parts();
    let doc = openapi::exact(doc);
    let spec = doc.clone();
    let api = app.route("/api/v1/openapi.json", get(move || async move { Json(spec) }));
    let docs: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
        .url("/api/v1/openapi-ui.json", doc)
        .into();
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(api)
        .merge(docs)
        .route_layer(middleware::from_fn_with_state(state.clone(), access::guard))
        .layer(auth::session_layer(state.store.clone(), state.secure_cookies))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(middleware::from_fn(record_metrics))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), uri = %req.uri(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            error::ApiError::internal().into_response()
        }))
        .with_state(state)
}

/// Unknown paths: problem+json under /api/, the HTML 404 page elsewhere.
pub(super) async fn not_found(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    use axum::extract::FromRequestParts;
    if req.uri().path().starts_with("/api/") {
        return error::ApiError::not_found("API route").into_response();
    }
    let (mut parts, _) = req.into_parts();
    match pages::Base::from_request_parts(&mut parts, &state).await {
        Ok(base) => pages::not_found(base),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn method_not_allowed() -> error::ApiError {
    error::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "/problems/method-not-allowed",
        "Method not allowed",
        "不支持该请求方法",
        "this route does not take that method",
    )
}

pub(super) async fn readyz(State(s): State<AppState>) -> Response {
    match s.store.head().await {
        Ok(seq) => Json(serde_json::json!({ "ready": true, "engine": s.store.engine.name(), "ledger_head": seq }))
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "ready": false, "error": e.to_string() })),
        )
            .into_response(),
    }
}

pub(super) async fn metrics_text(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

pub(super) async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("yiwang_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("yiwang_http_request_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// Headers every answer carries, and the shared rules for every answer (issue 13):
/// - `Cache-Control: private, no-store` unless a handler chose its own caching (public
///   static files, the public trust list): personal pages and API answers never rest in a
///   shared or browser cache (GB/T 35273-2020 §6.3: 个人信息的安全存储; OWASP ASVS 8.2.1).
/// - `Strict-Transport-Security` when served over HTTPS (RFC 6797).
/// - Error answers that are not ours (axum's rejections, body limits) become problem+json.
pub(super) async fn security_headers(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let docs = req.uri().path().starts_with("/api/v1/docs");
    let mut resp = next.run(req).await;
    if resp.status().is_client_error() || resp.status().is_server_error() {
        resp = problem_only(resp).await;
    }
    let h = resp.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    }
    if s.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // Swagger UI needs inline script for its bootstrap; everything else runs on 'self' only.
    let csp = if docs {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    } else {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    };
    h.insert("content-security-policy", HeaderValue::from_static(csp));
    resp
}

/// An error answer as problem+json: ours (problem+json), pages (HTML) and JSON answers
/// pass; anything else (axum's text/plain rejections, empty bodies) is rewritten with its
/// status and text as the detail.
pub(super) async fn problem_only(resp: Response) -> Response {
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/problem+json") || ct.starts_with("text/html") || ct.starts_with("application/json") {
        return resp;
    }
    let status = resp.status();
    let retry = resp.headers().get(header::RETRY_AFTER).cloned();
    let text = match axum::body::to_bytes(resp.into_body(), 4096).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    };
    let mut out = error::for_status(status, text).into_response();
    if let Some(r) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}
