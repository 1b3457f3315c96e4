//! Configuration: defaults < `yiwang.toml` (or `--config FILE`) < `YIWANG_*` environment
//! < command-line flags. Everything lives in `./yiwang-data/` unless told otherwise.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use yiwang_crypto::Sm4Key;

/// The file form (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub admin_token: Option<String>,
    /// 32 hex digits; protects private keys at rest. Default: `<data_dir>/keys/master.key`.
    pub master_key: Option<String>,
    /// The province this portal serves (GB/T 2260), default 460000.
    pub home_region: Option<String>,
    pub checkpoint_interval: Option<i64>,
    /// The address citizens reach this node at, e.g. https://zwfw.hainan.gov.cn (QR codes
    /// on licences point there). Default: http://LISTEN.
    pub public_url: Option<String>,
    /// The province's catalogue settings: locked elements, star rules, questionnaire size.
    #[serde(default)]
    pub catalog: Option<yiwang_core::catalog::CatalogPolicy>,
    /// The province's case settings: `yellow_percent` (traffic light, default 80) and
    /// `correction_window_days` (《行政许可法》第三十二条, default 5).
    #[serde(default)]
    pub cases: Option<yiwang_core::cases::CasePolicy>,
    /// 好差评: `multi_stage` (一事多评: rate at acceptance too, default false),
    /// `default_after_days` (unrated → 基本满意, default 7 natural days), `call_back_days`
    /// (a bad rating is called back within, default 3 working days), `pad_minutes` (a
    /// counter-tablet rating stays open, default 5).
    #[serde(default)]
    pub ratings: Option<yiwang_core::ratings::RatingPolicy>,
    pub hotline: Option<yiwang_core::hotline::HotlinePolicy>,
    /// 跨域通办 [M]: node id and name, clock skew, back-off, envelope size.
    pub federation: Option<yiwang_core::federation::FederationPolicy>,
    /// Where uploaded files go: `s3://bucket/prefix` (an S3-compatible store; endpoint and
    /// keys from the `AWS_*` environment) or `file:///directory`. Default: `<data_dir>/blobs`.
    pub files_url: Option<String>,
    /// Reverse proxies (addresses or CIDR blocks, e.g. ["10.0.0.0/8"]) whose
    /// `X-Forwarded-For` names the client. Default: none (the peer is the client).
    pub trusted_proxies: Option<Vec<String>>,
    /// `Secure` cookies and HSTS. Default: true when public_url is https://.
    pub secure_cookies: Option<bool>,
    /// The SMS gateway for one-time codes (registration, SMS login, password recovery).
    pub sms: Option<SmsConfig>,
}

/// `[sms]`: Tencent Cloud SMS (API 3.0 SendSms). The secret key may instead come from the
/// environment, `YIWANG_SMS_SECRET_KEY`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// Only "tencent".
    pub provider: String,
    pub secret_id: String,
    #[serde(default)]
    pub secret_key: Option<String>,
    /// e.g. ap-guangzhou
    pub region: String,
    pub sdk_app_id: String,
    /// The approved signature (签名), e.g. 海南政务服务.
    pub sign_name: String,
    /// The approved template's id; its two parameters are the code and the purpose.
    pub template_id: String,
    /// Default https://sms.tencentcloudapi.com
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Limits of codes (default 300 s valid, 5 tries, 60 s apart, 10 a day).
    #[serde(default)]
    pub codes: Option<yiwang_core::sms::CodePolicy>,
}

impl SmsConfig {
    fn gateway(&self) -> Result<yiwang_store::sms::Gateway> {
        if self.provider != "tencent" {
            bail!("[sms] provider: only \"tencent\" is supported, not {}", self.provider);
        }
        let secret_key = std::env::var("YIWANG_SMS_SECRET_KEY")
            .ok()
            .or(self.secret_key.clone())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| anyhow::anyhow!("[sms] secret_key (or YIWANG_SMS_SECRET_KEY) is required"))?;
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| yiwang_store::sms::tencent::DEFAULT_ENDPOINT.into());
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            bail!("[sms] endpoint must be an http(s) URL, not {endpoint}");
        }
        Ok(yiwang_store::sms::Gateway::Tencent(
            yiwang_store::sms::tencent::TencentSms {
                secret_id: self.secret_id.clone(),
                secret_key,
                region: self.region.clone(),
                sdk_app_id: self.sdk_app_id.clone(),
                sign_name: self.sign_name.clone(),
                template_id: self.template_id.clone(),
                endpoint,
            },
        ))
    }
}

/// Settings given on the command line or in the environment (clap reads both).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Configuration file (default: ./yiwang.toml if present).
    #[arg(long, global = true, env = "YIWANG_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite file, blobs, keys (default ./yiwang-data).
    #[arg(long, global = true, env = "YIWANG_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB (default: SQLite in the data directory).
    #[arg(long, global = true, env = "YIWANG_DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(long, global = true, env = "YIWANG_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    #[arg(long, global = true, env = "YIWANG_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    #[arg(long, global = true, env = "YIWANG_HOME_REGION")]
    pub home_region: Option<String>,
    #[arg(long, global = true, env = "YIWANG_CHECKPOINT_INTERVAL")]
    pub checkpoint_interval: Option<i64>,
    /// The address citizens reach this node at (QR codes on licences point there).
    #[arg(long, global = true, env = "YIWANG_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Where uploaded files go: s3://bucket/prefix (S3-compatible, AWS_* environment for the
    /// endpoint and keys) or file:///directory (default: the data directory's blobs/).
    #[arg(long, global = true, env = "YIWANG_FILES_URL")]
    pub files_url: Option<String>,
    /// Reverse proxies whose X-Forwarded-For is believed, comma-separated addresses or
    /// CIDR blocks (e.g. 10.0.0.0/8,192.168.1.5).
    #[arg(long, global = true, env = "YIWANG_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// Secure cookies and HSTS (default: when public_url is https://).
    #[arg(long, global = true, env = "YIWANG_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub listen: Option<String>,
    pub admin_token: Option<String>,
    pub master_key: Sm4Key,
    pub home_region: String,
    pub checkpoint_interval: i64,
    pub catalog: yiwang_core::catalog::CatalogPolicy,
    pub cases: yiwang_core::cases::CasePolicy,
    pub ratings: yiwang_core::ratings::RatingPolicy,
    pub hotline: yiwang_core::hotline::HotlinePolicy,
    pub federation: yiwang_core::federation::FederationPolicy,
    pub public_url: Option<String>,
    pub files_url: Option<String>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub secure_cookies: Option<bool>,
    pub sms: Option<yiwang_store::sms::Gateway>,
    pub sms_policy: yiwang_core::sms::CodePolicy,
}

/// Addresses or CIDR blocks, each checked (a plain address is its own /32 or /128).
fn parse_proxies(list: &[String]) -> Result<Vec<ipnet::IpNet>> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("trusted_proxies: {s} is neither an IP address nor a CIDR block"))
        })
        .collect()
}

impl Config {
    pub fn load(o: &Overrides) -> Result<Config> {
        let file = match &o.config {
            Some(p) => read_file(p)?,
            None if Path::new("yiwang.toml").exists() => read_file(Path::new("yiwang.toml"))?,
            None => FileConfig::default(),
        };
        let data_dir = o
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("yiwang-data"));
        std::fs::create_dir_all(data_dir.join("keys"))
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let database_url = o
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("yiwang.db").display()));
        let master_key = match o.master_key.clone().or(file.master_key) {
            Some(hex) => Sm4Key::from_hex(&hex).map_err(|e| anyhow::anyhow!("master_key: {e}"))?,
            None => key_file(
                &data_dir.join("keys/master.key"),
                || Sm4Key::generate().to_hex().to_string(),
                |s| Sm4Key::from_hex(s).map_err(|e| anyhow::anyhow!("{e}")),
            )?,
        };
        let checkpoint_interval = o.checkpoint_interval.or(file.checkpoint_interval).unwrap_or(1000);
        if checkpoint_interval < 1 {
            bail!("checkpoint_interval must be at least 1");
        }
        let home_region = o
            .home_region
            .clone()
            .or(file.home_region)
            .unwrap_or_else(|| "460000".into());
        yiwang_core::regions::level_of("home_region", &home_region)
            .map_err(|e| anyhow::anyhow!("home_region: {}", e.en))?;
        let public_url = o.public_url.clone().or(file.public_url);
        if let Some(u) = &public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            bail!("public_url must start with http:// or https://, not {u}");
        }
        let catalog = file.catalog.unwrap_or_default();
        if let Err(e) = catalog.check() {
            bail!(
                "[catalog] settings: {}",
                e.errors
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.en))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        let cases = file.cases.unwrap_or_default();
        settings("cases", cases.validate())?;
        let ratings = file.ratings.unwrap_or_default();
        settings("ratings", ratings.validate())?;
        let hotline = file.hotline.unwrap_or_default();
        settings("hotline", hotline.validate())?;
        let federation = file.federation.unwrap_or_default();
        if let Err(e) = federation.validate() {
            anyhow::bail!("[federation] settings: {e}");
        }
        let files_url = o.files_url.clone().or(file.files_url);
        let trusted_proxies = parse_proxies(&o.trusted_proxies.clone().or(file.trusted_proxies).unwrap_or_default())?;
        let secure_cookies = o.secure_cookies.or(file.secure_cookies);
        let sms = file.sms.as_ref().map(SmsConfig::gateway).transpose()?;
        let sms_policy = file.sms.as_ref().and_then(|s| s.codes).unwrap_or_default();
        Ok(Config {
            sms,
            sms_policy,
            trusted_proxies,
            secure_cookies,
            files_url,
            cases,
            ratings,
            hotline,
            federation,
            data_dir,
            database_url,
            listen: file.listen,
            admin_token: o.admin_token.clone().or(file.admin_token),
            master_key,
            home_region,
            checkpoint_interval,
            catalog,
            public_url,
        })
    }

    /// The admin token: configured, or generated once into `<data_dir>/keys/admin.token`.
    pub fn admin_token_or_generate(&self) -> Result<(String, Option<PathBuf>)> {
        if let Some(t) = &self.admin_token {
            return Ok((t.clone(), None));
        }
        let path = self.data_dir.join("keys/admin.token");
        let token = key_file(&path, || hex::encode(rand::random::<[u8; 24]>()), |s| Ok(s.to_string()))?;
        Ok((token, Some(path)))
    }

    pub fn store_config(&self) -> yiwang_store::StoreConfig {
        let mut c = yiwang_store::StoreConfig::new(&self.database_url, &self.data_dir, self.master_key.clone());
        c.checkpoint_interval = self.checkpoint_interval;
        c.catalog = self.catalog.clone();
        c.cases = self.cases;
        c.ratings = self.ratings;
        c.hotline = self.hotline;
        c.federation = self.federation.clone();
        c.files_url = self.files_url.clone();
        c.sms = self.sms.clone();
        c.sms_policy = self.sms_policy;
        c
    }

    /// The search index's directory and synonym list (the shipped list plus the
    /// province's own lines in `<data_dir>/synonyms.txt`).
    pub fn open_search(&self) -> Result<std::sync::Arc<yiwang_search::SearchIndex>> {
        let mut syn = yiwang_search::Synonyms::builtin();
        let own = self.data_dir.join("synonyms.txt");
        if own.exists() {
            let text = std::fs::read_to_string(&own).with_context(|| format!("reading {}", own.display()))?;
            syn = syn.with(yiwang_search::Synonyms::parse(&text));
        }
        let ix = yiwang_search::SearchIndex::open(&self.data_dir.join("search"), syn, self.catalog.clone())
            .with_context(|| format!("opening the search index in {}", self.data_dir.join("search").display()))?;
        Ok(std::sync::Arc::new(ix))
    }
}

fn read_file(p: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: invalid configuration", p.display()))
}

/// Reads a secret file, creating it (mode 0600) with `make()` if it does not exist.
fn key_file<T>(path: &Path, make: impl FnOnce() -> String, parse: impl FnOnce(&str) -> Result<T>) -> Result<T> {
    if !path.exists() {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(path) {
            Ok(mut f) => {
                f.write_all(make().as_bytes())?;
                f.sync_all()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
        }
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(text.trim()).with_context(|| format!("{} is not valid", path.display()))
}

/// Refuses a section's settings with every problem named by field (zh / en).
fn settings(section: &str, checked: Result<(), yiwang_core::DomainError>) -> Result<()> {
    if let Err(e) = checked {
        bail!(
            "[{section}] settings: {}",
            e.errors
                .iter()
                .map(|f| format!("{}: {} / {}", f.field, f.zh, f.en))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(())
}
