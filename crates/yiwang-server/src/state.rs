//! What every handler can reach: the application state, the client's address, metrics.

use super::*;

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
    /// The 12345 knowledge base's index (in memory: built from the store when first used,
    /// kept by `serve`'s follower and by this process's own reviews).
    pub knowledge: Arc<yiwang_search::KnowledgeIndex>,
    /// The address citizens reach this node at (QR codes on licences point here).
    pub public_url: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (login limits, audit).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// The home page's popular services and themes, recomputed at most every ten minutes.
    pub home: Arc<std::sync::Mutex<Option<crate::pages::HomeCache>>>,
    /// This node as partners know it (跨域通办); `serve` sets it from the node key.
    pub node: Arc<yiwang_store::federation::Local>,
}

impl AppState {
    /// A state with an index in memory (rebuilt from the store when served); `with_search`
    /// gives it the index on disk.
    pub fn new(store: Arc<Store>, admin_token: Option<String>, home_region: String, metrics: PrometheusHandle) -> Self {
        let search = Arc::new(
            yiwang_search::SearchIndex::in_ram(yiwang_search::Synonyms::builtin(), store.config.catalog.clone())
                .expect("an index in memory"),
        );
        let node = Arc::new(yiwang_store::federation::Local {
            id: format!("{home_region}-local"),
            name: home_region.clone(),
            region: home_region.clone(),
            endpoint: "http://127.0.0.1:8080".into(),
        });
        AppState {
            search,
            knowledge: Arc::new(yiwang_search::KnowledgeIndex::in_ram().expect("an index in memory")),
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
            home: Default::default(),
            node,
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

/// Largest import file (32 MiB): a whole province's catalogue as xlsx is a few MiB.
pub const IMPORT_LIMIT: usize = 32 << 20;
