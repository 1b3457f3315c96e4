//! HTTP for yiwang: the JSON API under `/api/v1` (OpenAPI 3.1 at `/api/v1/openapi.json`,
//! Swagger UI at `/api/v1/docs`), the web pages (askama + htmx), `/healthz`, `/readyz` and
//! `/metrics`. Handlers only translate HTTP: every decision is in `yiwang-core`, every
//! read and write in `yiwang-store`, shared with the CLI.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod catalog;
pub mod datause;
pub mod error;
pub mod extract;
pub mod files;
pub mod i18n;
pub mod ledger;
pub mod licences;
pub mod mandates;
pub mod openapi;
pub mod orgs;
pub mod pages;
pub mod regions;
pub mod seals;
pub mod sms;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use yiwang_store::Store;

/// Per-address login attempt limiter.
pub type LoginLimiter = governor::DefaultKeyedRateLimiter<String>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// The bootstrap administrator's bearer token (full rights; for setting up a province
    /// before staff accounts exist, and for automation). None disables it.
    pub admin_token: Option<String>,
    /// The region whose portal this is (the province code, e.g. 460000).
    pub home_region: String,
    pub metrics: PrometheusHandle,
    /// Login attempts per address and minute.
    pub login_limiter: Arc<LoginLimiter>,
    /// Registrations per address and minute.
    pub register_limiter: Arc<LoginLimiter>,
    /// When each API token's use was last recorded in the ledger (at most once a minute).
    pub token_uses: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    /// Mark the session cookie `Secure` (set when served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// The full-text index of the published catalogue (kept in step by `serve`).
    pub search: Arc<yiwang_search::SearchIndex>,
    /// The address citizens reach this node at (QR codes on licences point here).
    pub public_url: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (login limits, audit).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

impl AppState {
    /// A state with an index in memory (rebuilt from the store when served); `with_search`
    /// gives it the index on disk.
    pub fn new(store: Arc<Store>, admin_token: Option<String>, home_region: String, metrics: PrometheusHandle) -> Self {
        let search = Arc::new(
            yiwang_search::SearchIndex::in_ram(yiwang_search::Synonyms::builtin(), store.config.catalog.clone())
                .expect("an index in memory"),
        );
        AppState {
            search,
            store,
            admin_token,
            home_region,
            metrics,
            login_limiter: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(30).expect("non-zero"),
            ))),
            register_limiter: Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(10).expect("non-zero"),
            ))),
            token_uses: Default::default(),
            secure_cookies: false,
            public_url: "http://127.0.0.1:8080".into(),
            trusted_proxies: Default::default(),
        }
    }

    /// The address QR codes and links point at (no trailing slash). An `https://` address
    /// means the node is reached over TLS (directly or through a proxy): cookies are then
    /// `Secure` and answers carry `Strict-Transport-Security`.
    pub fn with_public_url(mut self, url: &str) -> Self {
        self.public_url = url.trim_end_matches('/').to_string();
        self.secure_cookies = self.public_url.starts_with("https://");
        self
    }

    /// Overrides what the public address implies for `Secure` cookies and HSTS (e.g. a
    /// node on plain HTTP inside a private network that is still published as https).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// The reverse proxies to believe about the client's address.
    pub fn with_trusted_proxies(mut self, nets: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = Arc::new(nets);
        self
    }

    /// The client's address (see `client_ip`).
    pub fn client_ip(&self, peer: Option<std::net::IpAddr>, forwarded_for: &[&str]) -> String {
        client_ip(&self.trusted_proxies, peer, forwarded_for)
    }

    /// This node's name in its trust list: the province it serves.
    pub async fn node_name(&self) -> String {
        match yiwang_store::regions::get(&self.store.read, &self.home_region).await {
            Ok(Some(r)) => r.name,
            _ => format!("yiwang {}", self.home_region),
        }
    }

    pub fn with_search(mut self, search: Arc<yiwang_search::SearchIndex>) -> Self {
        self.search = search;
        self
    }

    /// Is another login attempt from this address allowed now? (GB/T 22239-2019
    /// §8.1.4.1 b): limit the number of login attempts.)
    pub fn login_allowed(&self, ip: &str) -> bool {
        self.login_limiter.check_key(&ip.to_string()).is_ok()
    }

    /// Is another registration from this address allowed now? Ten a minute per address
    /// (GB/T 22239-2019 §8.1.4.1: 防止恶意注册; a kiosk or a hall's NAT stays usable).
    pub fn register_allowed(&self, ip: &str) -> bool {
        self.register_limiter.check_key(&ip.to_string()).is_ok()
    }

    /// Records an API token's use in the security audit, at most once a minute per token.
    pub async fn token_used(&self, token_id: &str) {
        let now = yiwang_store::now_ms();
        let due = {
            let mut m = self.token_uses.lock().expect("token use map");
            let due = m.get(token_id).is_none_or(|t| now - t >= 60_000);
            if due {
                m.insert(token_id.to_string(), now);
            }
            due
        };
        if due && let Err(e) = yiwang_store::auth::token_used(&self.store, token_id).await {
            tracing::warn!(error = %e, "recording token use");
        }
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy (a client can prepend
/// anything to the header; only what our proxies appended counts).
pub fn client_ip(trusted: &[ipnet::IpNet], peer: Option<std::net::IpAddr>, forwarded_for: &[&str]) -> String {
    let Some(peer) = peer else {
        return "unknown".into();
    };
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let hops: Vec<std::net::IpAddr> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(hops.first())
        .unwrap_or(&peer)
        .to_string()
}

/// The process-wide Prometheus recorder (installed once, shared by every server in the
/// process, e.g. in tests).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Largest JSON body accepted (1 MiB); larger ones get 413 problem+json.
pub const BODY_LIMIT: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
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
        .merge(files::routes())
        .merge(seals::routes())
        .merge(licences::routes())
        .merge(cases::routes())
        .merge(sms::routes())
        .route("/api/v1/openapi.json", get(openapi::spec));
    let docs: Router<AppState> = utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
        .url("/api/v1/openapi-ui.json", openapi::doc())
        .into();
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(api)
        .merge(docs)
        .merge(pages::routes())
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
async fn not_found(
    state: State<AppState>,
    ctx: auth::Ctx,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if uri.path().starts_with("/api/") {
        error::ApiError::not_found("API route").into_response()
    } else {
        pages::not_found(state, ctx, headers, uri).await
    }
}

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "/problems/method-not-allowed",
        "Method not allowed",
        "不支持该请求方法",
        "this route does not take that method",
    )
}

async fn readyz(State(s): State<AppState>) -> Response {
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

async fn metrics_text(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

async fn record_metrics(req: Request, next: Next) -> Response {
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
async fn security_headers(State(s): State<AppState>, req: Request, next: Next) -> Response {
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
async fn problem_only(resp: Response) -> Response {
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

/// Binds a listener with a deep accept queue (4096), so a burst of new connections (a
/// morning rush, a load test) is queued instead of dropped into SYN retransmits.
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish, signs a
/// checkpoint over the ledger's tail and closes the store.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.store.clone();
    // An unclean stop (SIGKILL, power loss) leaves a tail no checkpoint covers: sign it now,
    // before serving, so it cannot later be cut unnoticed (issue 13, item 5).
    checkpoint(&store).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stop_cp = stop_rx.clone();
    let cp_store = store.clone();
    let checkpointer = tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => checkpoint(&cp_store).await,
                _ = stop_cp.changed() => break,
            }
        }
    });
    let stop_rx_sched = stop_rx.clone();
    let sub = yiwang_store::outbox::spawn(
        store.clone(),
        Arc::new(yiwang_store::outbox::EventMetrics),
        Duration::from_secs(1),
        stop_rx.clone(),
    );
    // The search index: built from the store when new, then following every commit.
    let search = state.search.clone();
    let follower = if search.is_writable() {
        if search.cursor() == 0 {
            match yiwang_search::reindex(&search, &store, &|_, _| {}).await {
                Ok(n) => tracing::info!(items = n, "search index built"),
                Err(e) => tracing::error!(error = %e, "building the search index failed"),
            }
        }
        Some(yiwang_store::outbox::spawn(
            store.clone(),
            Arc::new(yiwang_search::Follower {
                index: search,
                store: store.clone(),
            }),
            Duration::from_secs(1),
            stop_rx,
        ))
    } else {
        tracing::warn!("the search index is held by another process: searching it read-only");
        None
    };
    // 《行政许可法》第三十二条 deemed acceptance and overdue materials to follow.
    let scheduler = tokio::spawn(cases::scheduler(store.clone(), Duration::from_secs(600), stop_rx_sched));
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let _ = stop_tx.send(true);
    let _ = checkpointer.await;
    let _ = sub.await;
    let _ = scheduler.await;
    if let Some(f) = follower {
        let _ = f.await;
    }
    checkpoint(&store).await;
    store.close().await;
    Ok(())
}

/// How often a serving node signs a checkpoint over events not yet covered (besides every
/// `checkpoint_interval` events, at start and at shutdown): the most a cut tail can hide.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// Signs a checkpoint over the uncovered tail, if there is one.
async fn checkpoint(store: &Store) {
    if let Err(e) = store
        .write(yiwang_store::Meta::actor("system"), yiwang_store::Command::Checkpoint)
        .await
    {
        tracing::warn!(error = %e, "checkpoint failed");
    }
}

/// Submits a command for an actor, honouring the request's Idempotency-Key: the key is
/// scoped to the actor, and fingerprinted with the method, path and body, so a retry
/// returns the first response (header `Idempotent-Replayed: true`) and a different
/// request under the same key is refused.
pub(crate) async fn submit(
    state: &AppState,
    actor: &str,
    idem: extract::IdempotencyKey,
    request: (&axum::http::Method, &axum::http::Uri, &[u8]),
    cmd: yiwang_store::Command,
    status: StatusCode,
) -> error::ApiResult<Response> {
    let mut meta = yiwang_store::Meta::actor(actor);
    if let Some(key) = idem.0 {
        let (method, uri, body) = request;
        let mut fp = format!("{method} {}\n", uri.path()).into_bytes();
        fp.extend_from_slice(body);
        meta = meta.with_idempotency(format!("{actor}:{key}"), hex::encode(yiwang_crypto::sm3(&fp)));
    }
    let w = state.store.write(meta, cmd).await?;
    let mut resp = (status, Json(w.value)).into_response();
    if w.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::client_ip;

    /// Behind a trusted proxy the client is the right-most untrusted X-Forwarded-For hop;
    /// a client talking directly (or a spoofed header from an untrusted peer) is its peer.
    #[test]
    fn the_client_address_believes_only_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let ip = |s: &str| Some(s.parse().unwrap());
        assert_eq!(client_ip(&trusted, ip("203.0.113.9"), &["1.2.3.4"]), "203.0.113.9");
        assert_eq!(client_ip(&trusted, ip("10.1.2.3"), &["198.51.100.7"]), "198.51.100.7");
        assert_eq!(
            client_ip(&trusted, ip("10.1.2.3"), &["6.6.6.6, 198.51.100.7, 10.9.9.9"]),
            "198.51.100.7"
        );
        assert_eq!(
            client_ip(&trusted, ip("10.1.2.3"), &["6.6.6.6", "198.51.100.7"]),
            "198.51.100.7"
        );
        assert_eq!(client_ip(&trusted, ip("10.1.2.3"), &[]), "10.1.2.3");
        assert_eq!(client_ip(&trusted, ip("10.1.2.3"), &["garbage"]), "10.1.2.3");
        assert_eq!(client_ip(&[], ip("10.1.2.3"), &["198.51.100.7"]), "10.1.2.3");
        assert_eq!(client_ip(&trusted, None, &[]), "unknown");
    }
}
