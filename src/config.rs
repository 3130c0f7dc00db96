//! Settings: built-in defaults that run with zero setup, then an optional TOML file, then
//! `PHONEBASE_*` environment variables (`__` separates sections: `PHONEBASE_DELIVERY__WORKER=false`),
//! then `DATABASE_URL`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on; port 0 picks a free one.
    pub bind: String,
    /// A path prefix all routes are served under (e.g. `/phonebase` behind a shared host); empty
    /// for none. SDKs keep a path in their base URL, so `serverURL: "https://host/phonebase"` works.
    pub base_path: String,
    /// The address clients reach this server at, with any path prefix
    /// (`https://api.example.com/phonebase`), for links it hands out such as captcha images. When
    /// unset, it is taken from the request (the `X-Forwarded-Proto`/`-Host` of a trusted proxy, else
    /// the `Host` header) plus `base_path`.
    pub public_url: Option<String>,
    /// Where the SQLite database, the generated secret and the sink file live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; default `sqlite://<data_dir>/phonebase.db`.
    pub database_url: Option<String>,
    /// Connections per instance (PostgreSQL: instances × this must stay below max_connections).
    pub database_pool_size: u32,
    /// Seconds a request waits for a free connection before it gets a "busy" error.
    pub database_timeout_secs: u64,
    /// The server secret (hex, at least 32 bytes) behind code, session and token hashes and the
    /// seal of queued messages and stored keys. Never kept in the database it protects. If unset
    /// (and no `secret_key_file`): on SQLite one is generated into `<data_dir>/secret.key`; on
    /// PostgreSQL the server refuses to start (`phonebase secret generate` prints one).
    /// `PHONEBASE_SECRET_KEY` sets it from the environment.
    pub secret_key: Option<String>,
    /// A file holding the server secret (hex), e.g. a mounted secret; instead of `secret_key`.
    pub secret_key_file: Option<PathBuf>,
    /// Earlier secrets, after a rotation: still accepted to recognise what they hashed or sealed
    /// (live codes, sessions, queued messages, console sessions, captchas), never used for
    /// anything new.
    pub secret_keys_previous: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges). Requests from anyone
    /// else are attributed to the socket's peer address.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// HTTP worker threads; default one per core.
    pub http_workers: Option<usize>,
    /// `text` or `json` logs. The level comes from `RUST_LOG` (default `info`).
    pub log_format: LogFormat,
    /// Seconds an instance may serve an app's settings from memory.
    pub app_cache_secs: u64,
    /// When set, `GET /metrics` asks for `Authorization: Bearer <this>` (`PHONEBASE_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    pub leancloud: LeanCloudConfig,
    pub bmob: BmobConfig,
    pub delivery: DeliveryConfig,
    pub maintenance: MaintenanceConfig,
    pub upstream: UpstreamConfig,
}

/// Calls to an app's live LeanCloud upstream (lazy migration, `phonebase app update
/// --upstream-leancloud`): bounded so that a slow or gone LeanCloud changes nothing for users here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Longest wait for one upstream call, connecting included.
    pub timeout_ms: u64,
    /// Upstream calls in flight per app and instance; more get the local answer at once.
    pub concurrency: usize,
    /// Consecutive failed calls that stop asking an app's upstream ...
    pub breaker_failures: u32,
    /// ... for this long, after which one call probes it again.
    pub breaker_cooldown_secs: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self { timeout_ms: 2000, concurrency: 4, breaker_failures: 5, breaker_cooldown_secs: 30 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LeanCloudConfig {
    /// Reject `X-LC-Sign` timestamps further than this from now, in seconds; 0 accepts any (as
    /// LeanCloud did: phone clocks are often wrong).
    pub signature_max_age_secs: u64,
}

/// The Bmob dialect's signed mode (`X-Bmob-Safe-Sign`, hydrogen-js-sdk 2.x).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BmobConfig {
    /// Reject `X-Bmob-Safe-Timestamp` values (seconds or milliseconds) further than this from
    /// now, in seconds; Bmob documents 10. 0 accepts any.
    pub signature_window_secs: u64,
    /// Refuse a `X-Bmob-Noncestr-Key` seen before within the window (per instance).
    pub nonce_replay_guard: bool,
}

impl Default for BmobConfig {
    fn default() -> Self {
        Self { signature_window_secs: 10, nonce_replay_guard: true }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Run the outbox worker in this instance.
    pub worker: bool,
    /// The development sink's file; default `<data_dir>/sms-sink.jsonl`.
    pub sink_path: Option<PathBuf>,
    pub poll_interval_ms: u64,
    pub batch_size: i32,
    pub concurrency: usize,
    pub max_attempts: i32,
    pub lease_secs: i64,
    /// Retryable failures within `breaker_window_secs` after which a provider's circuit opens
    /// (for every instance on the database).
    pub breaker_failures: u32,
    /// The window those failures are counted in, in seconds.
    pub breaker_window_secs: u64,
    /// Seconds an open circuit stays open before one probe message is let through.
    pub breaker_open_secs: u64,
    /// The providers messages go out through. Empty: the development sink only.
    pub providers: Vec<ProviderConfig>,
}

/// A credential from the configuration. It serialises as itself (figment merges through serde),
/// but its `Debug` never shows it, so a logged configuration carries no key.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "Secret(empty)" } else { "Secret(***)" })
    }
}

/// What a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Aliyun,
    Tencent,
    Twilio,
    Smpp,
    Sink,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Aliyun => "aliyun",
            ProviderKind::Tencent => "tencent",
            ProviderKind::Twilio => "twilio",
            ProviderKind::Smpp => "smpp",
            ProviderKind::Sink => "sink",
        }
    }

    /// Aliyun and Tencent accept only registered templates with parameters, never free text.
    pub fn needs_template(self) -> bool {
        matches!(self, ProviderKind::Aliyun | ProviderKind::Tencent)
    }

    /// The provider's real address.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            ProviderKind::Aliyun => "https://dysmsapi.aliyuncs.com",
            ProviderKind::Tencent => "https://sms.tencentcloudapi.com",
            ProviderKind::Twilio => "https://api.twilio.com",
            ProviderKind::Smpp => "127.0.0.1:2775",
            ProviderKind::Sink => "",
        }
    }

    /// The provider's real address for voice calls (Aliyun Dyvmsapi, Tencent VMS); the others
    /// call from their one endpoint.
    pub fn default_voice_endpoint(self) -> Option<&'static str> {
        match self {
            ProviderKind::Aliyun => Some("https://dyvmsapi.aliyuncs.com"),
            ProviderKind::Tencent => Some("https://vms.tencentcloudapi.com"),
            _ => None,
        }
    }

    /// Kinds that can carry voice codes.
    pub fn has_voice(self) -> bool {
        !matches!(self, ProviderKind::Smpp)
    }
}

/// One `[[delivery.providers]]` entry. Which credential fields a kind needs is checked at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Unique; used in app settings, template mappings, reports and the CLI.
    pub name: String,
    pub kind: ProviderKind,
    /// Default: the provider's real address. Tests point it at local fakes.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Aliyun / Tencent voice calls (`channels` with `voice`): default
    /// `https://dyvmsapi.aliyuncs.com` / `https://vms.tencentcloudapi.com`.
    #[serde(default)]
    pub voice_endpoint: Option<String>,
    /// Aliyun voice: `CalledShowNumber` (the number shown to the callee); unset: the public
    /// number pool.
    #[serde(default)]
    pub called_show_number: Option<String>,
    /// Tencent voice: the VMS application's `VoiceSdkAppid` (needed for voice).
    #[serde(default)]
    pub voice_sdk_app_id: Option<String>,
    /// Aliyun / Tencent voice: times the text is read out (1 to 3; default 2).
    #[serde(default)]
    pub play_times: Option<u32>,
    /// Lower goes first.
    #[serde(default)]
    pub priority: i32,
    /// ISO 3166 regions served (`CN`, `US`); empty with empty `prefixes`: every number.
    #[serde(default)]
    pub countries: Vec<String>,
    /// E.164 prefixes served (`+86`, `+1415`).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// `sms`, `voice`; default `sms` (the sink: both).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Seconds before a call to the provider counts as a (retryable) timeout.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The registered signature name (Aliyun `SignName`, Tencent `SignName`), unless a template
    /// mapping names its own.
    #[serde(default)]
    pub sign_name: Option<String>,
    /// Aliyun.
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub access_key_secret: Option<Secret>,
    /// Aliyun `RegionId` (cn-hangzhou) or Tencent `X-TC-Region` (ap-guangzhou).
    #[serde(default)]
    pub region: Option<String>,
    /// Tencent.
    #[serde(default)]
    pub secret_id: Option<String>,
    #[serde(default)]
    pub secret_key: Option<Secret>,
    #[serde(default)]
    pub sdk_app_id: Option<String>,
    /// Twilio.
    #[serde(default)]
    pub account_sid: Option<String>,
    #[serde(default)]
    pub auth_token: Option<Secret>,
    /// Twilio sender number, or `messaging_service_sid`.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Twilio `StatusCallback`; default `<public_url>/delivery/reports/<name>` when `public_url` is set.
    #[serde(default)]
    pub status_callback: Option<String>,
    /// SMPP.
    #[serde(default)]
    pub system_id: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// SMPP: messages outstanding at once on the session (default 10).
    #[serde(default)]
    pub window: Option<usize>,
    /// SMPP: seconds between `enquire_link`s (default 30).
    #[serde(default)]
    pub enquire_link_secs: Option<u64>,
    /// SMPP: how the SMSC writes message ids (Kannel's `msg-id-type`): `same` (default: the
    /// receipt repeats the `submit_sm_resp` id), `hex-decimal` (hex in `submit_sm_resp`, decimal
    /// in receipt texts) or `decimal-hex` (the reverse). A `receipted_message_id` TLV is read like
    /// the `submit_sm_resp` id.
    #[serde(default)]
    pub message_id_format: Option<String>,
    /// Aliyun / Tencent push their delivery reports unsigned: they are accepted only at
    /// `/delivery/reports/<name>/<report_token>`. Unset: no receiver.
    #[serde(default)]
    pub report_token: Option<Secret>,
    /// The sink's file (kind `sink`); default `delivery.sink_path`.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

impl ProviderConfig {
    pub fn endpoint(&self) -> String {
        self.endpoint
            .clone()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or_else(|| self.kind.default_endpoint().to_string())
            .trim_end_matches('/')
            .to_string()
    }

    /// Where voice calls go (Aliyun, Tencent); the SMS endpoint for the others.
    pub fn voice_endpoint(&self) -> String {
        match (
            self.voice_endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()),
            self.kind.default_voice_endpoint(),
        ) {
            (Some(e), _) | (None, Some(e)) => e.trim_end_matches('/').to_string(),
            (None, None) => self.endpoint(),
        }
    }

    pub fn channels(&self) -> Vec<String> {
        if !self.channels.is_empty() {
            return self.channels.clone();
        }
        match self.kind {
            ProviderKind::Sink => vec!["sms".into(), "voice".into()],
            _ => vec!["sms".into()],
        }
    }

    /// What is missing or wrong for this kind, if anything.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("provider name {name:?} must be letters, digits, - or _"));
        }
        let missing = |what: &str| Err(format!("provider {name} ({}) needs {what}", self.kind.as_str()));
        let empty = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        let empty_secret = |v: &Option<Secret>| v.as_ref().is_none_or(|s| s.0.is_empty());
        match self.kind {
            ProviderKind::Aliyun if empty(&self.access_key_id) || empty_secret(&self.access_key_secret) => {
                missing("access_key_id and access_key_secret")
            }
            ProviderKind::Tencent
                if empty(&self.secret_id) || empty_secret(&self.secret_key) || empty(&self.sdk_app_id) =>
            {
                missing("secret_id, secret_key and sdk_app_id")
            }
            ProviderKind::Twilio if empty(&self.account_sid) || empty_secret(&self.auth_token) => {
                missing("account_sid and auth_token")
            }
            ProviderKind::Twilio if empty(&self.from) && empty(&self.messaging_service_sid) => {
                missing("from or messaging_service_sid")
            }
            ProviderKind::Smpp if empty(&self.system_id) => missing("system_id (and password)"),
            _ => {
                for c in self.channels() {
                    if c != "sms" && c != "voice" {
                        return Err(format!("provider {name}: unknown channel {c:?} (sms or voice)"));
                    }
                    if c == "voice" && !self.kind.has_voice() {
                        return Err(format!(
                            "provider {name}: {} has no voice channel (voice: aliyun, tencent, twilio)",
                            self.kind.as_str()
                        ));
                    }
                    if c == "voice" && self.kind == ProviderKind::Tencent && empty(&self.voice_sdk_app_id) {
                        return missing("voice_sdk_app_id for the voice channel");
                    }
                }
                if let Some(f) = self.message_id_format.as_deref()
                    && !matches!(f, "same" | "hex-decimal" | "decimal-hex")
                {
                    return Err(format!("provider {name}: message_id_format must be same, hex-decimal or decimal-hex"));
                }
                if self.play_times.is_some_and(|n| !(1..=3).contains(&n)) {
                    return Err(format!("provider {name}: play_times must be 1 to 3"));
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// Seconds between purges of expired codes, old send events and old messages; 0 disables.
    pub purge_interval_secs: u64,
    pub message_retention_days: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            base_path: String::new(),
            public_url: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_pool_size: 8,
            database_timeout_secs: 5,
            secret_key: None,
            secret_key_file: None,
            secret_keys_previous: Vec::new(),
            trusted_proxies: Vec::new(),
            body_limit_bytes: 64 * 1024,
            http_workers: None,
            log_format: LogFormat::Text,
            app_cache_secs: 5,
            metrics_token: None,
            leancloud: LeanCloudConfig::default(),
            bmob: BmobConfig::default(),
            delivery: DeliveryConfig::default(),
            maintenance: MaintenanceConfig::default(),
            upstream: UpstreamConfig::default(),
        }
    }
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            worker: true,
            sink_path: None,
            poll_interval_ms: 1000,
            batch_size: 32,
            concurrency: 8,
            max_attempts: 5,
            lease_secs: 60,
            breaker_failures: 5,
            breaker_window_secs: 60,
            breaker_open_secs: 60,
            providers: Vec::new(),
        }
    }
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        Self { purge_interval_secs: 600, message_retention_days: 30 }
    }
}

impl Config {
    /// Defaults, then `file` (or `phonebase.toml` if present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let default_file = Path::new("phonebase.toml");
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if default_file.exists() => figment = figment.merge(Toml::file_exact(default_file)),
            None => {}
        }
        // Only variables that name a setting: PHONEBASE_CONFIG (the CLI's) or a script's own
        // PHONEBASE_SOMETHING must not stop the server. A typo in the file is still an error.
        let known: Vec<String> = match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let env = Env::prefixed("PHONEBASE_").split("__").filter(move |key| {
            let key = key.as_str().to_ascii_lowercase();
            let top = key.split(['.']).next().unwrap_or_default();
            let top = top.split("__").next().unwrap_or_default();
            known.iter().any(|k| k == top)
        });
        figment = figment.merge(env);
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(Serialized::default("database_url", url));
        }
        figment.extract().map_err(Box::new)
    }

    /// `base_path` as a route prefix: "" or "/segment[/...]" without a trailing slash.
    pub fn route_prefix(&self) -> String {
        let trimmed = self.base_path.trim().trim_matches('/');
        if trimmed.is_empty() { String::new() } else { format!("/{trimmed}") }
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("phonebase.db").display()))
    }

    pub fn sink_path(&self) -> PathBuf {
        self.delivery.sink_path.clone().unwrap_or_else(|| self.data_dir.join("sms-sink.jsonl"))
    }

    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// Every number within its bounds, checked once where settings are read, so that nothing
    /// later overflows, panics or builds an unusable pool.
    pub fn validate(&self) -> Result<(), String> {
        fn within<T: PartialOrd + std::fmt::Display>(name: &str, value: T, low: T, high: T) -> Result<(), String> {
            if value < low || value > high {
                return Err(format!("setting {name} must be {low} to {high}, not {value}"));
            }
            Ok(())
        }
        within("database_pool_size", self.database_pool_size, 1, 1_000)?;
        within("database_timeout_secs", self.database_timeout_secs, 1, 3_600)?;
        within("body_limit_bytes", self.body_limit_bytes, 1_024, 64 << 20)?;
        if let Some(workers) = self.http_workers {
            within("http_workers", workers, 1, 1_024)?;
        }
        within("app_cache_secs", self.app_cache_secs, 0, 86_400)?;
        within("leancloud.signature_max_age_secs", self.leancloud.signature_max_age_secs, 0, 366 * 86_400)?;
        within("bmob.signature_window_secs", self.bmob.signature_window_secs, 0, 366 * 86_400)?;
        within("delivery.poll_interval_ms", self.delivery.poll_interval_ms, 1, 3_600_000)?;
        within("delivery.batch_size", self.delivery.batch_size, 1, 10_000)?;
        within("delivery.concurrency", self.delivery.concurrency, 1, 1_024)?;
        within("delivery.max_attempts", self.delivery.max_attempts, 1, 1_000)?;
        within("delivery.lease_secs", self.delivery.lease_secs, 1, 86_400)?;
        within("maintenance.purge_interval_secs", self.maintenance.purge_interval_secs, 0, 30 * 86_400)?;
        within("maintenance.message_retention_days", self.maintenance.message_retention_days, 0, 36_500)?;
        Ok(())
    }
}

#[cfg(test)]
// figment's Jail closures return figment::Error, which is large; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "phonebase.toml",
                "bind = \"0.0.0.0:9000\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n[delivery]\nworker = false\n",
            )?;
            jail.set_env("PHONEBASE_DATA_DIR", "/var/lib/phonebase");
            jail.set_env("PHONEBASE_DELIVERY__MAX_ATTEMPTS", "7");
            jail.set_env("PHONEBASE_CONFIG", "ignored: the CLI reads it");
            jail.set_env("PHONEBASE_SDK_ANYTHING", "ignored: names no setting");
            jail.set_env("DATABASE_URL", "postgres://db/phonebase");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.bind, "0.0.0.0:9000");
            assert_eq!(config.data_dir, PathBuf::from("/var/lib/phonebase"));
            assert!(!config.delivery.worker);
            assert_eq!(config.delivery.max_attempts, 7);
            assert_eq!(config.database_url(), "postgres://db/phonebase");
            assert!(config.is_trusted_proxy("10.1.2.3".parse().unwrap()));
            assert!(!config.is_trusted_proxy("11.1.2.3".parse().unwrap()));
            Ok(())
        });
    }

    #[test]
    fn secrets_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let (current, old) = ("ab".repeat(32), "cd".repeat(32));
            jail.set_env("PHONEBASE_SECRET_KEY", &current);
            jail.set_env("PHONEBASE_SECRET_KEYS_PREVIOUS", format!("[{old}]"));
            jail.set_env("PHONEBASE_SECRET_KEY_FILE", "/run/secrets/phonebase");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.secret_key.as_deref(), Some(current.as_str()));
            assert_eq!(config.secret_keys_previous, vec![old]);
            assert_eq!(config.secret_key_file, Some(PathBuf::from("/run/secrets/phonebase")));
            Ok(())
        });
    }

    #[test]
    fn providers_from_file_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "phonebase.toml",
                "[[delivery.providers]]\nname = \"aliyun-cn\"\nkind = \"aliyun\"\naccess_key_id = \"id\"\n\
                 access_key_secret = \"very-secret\"\ncountries = [\"CN\"]\npriority = 1\n",
            )?;
            let config = Config::load(None).map_err(|e| e.to_string())?;
            let p = &config.delivery.providers[0];
            assert_eq!((p.name.as_str(), p.kind, p.priority), ("aliyun-cn", ProviderKind::Aliyun, 1));
            assert_eq!(p.endpoint(), "https://dysmsapi.aliyuncs.com", "the real address by default");
            assert_eq!(p.access_key_secret.as_ref().unwrap().expose(), "very-secret");
            assert!(!format!("{config:?}").contains("very-secret"), "Debug redacts secrets");
            assert!(p.check().is_ok());

            jail.set_env(
                "PHONEBASE_DELIVERY__PROVIDERS",
                "[{name=\"tw\", kind=\"twilio\", account_sid=\"AC1\", auth_token=\"t\", from=\"+1500\", prefixes=[\"+1\"]}]",
            );
            let config = Config::load(None).map_err(|e| e.to_string())?;
            let p = &config.delivery.providers[0];
            assert_eq!(
                (p.name.as_str(), p.kind, p.prefixes.clone()),
                ("tw", ProviderKind::Twilio, vec!["+1".to_string()])
            );
            Ok(())
        });
    }

    #[test]
    fn typos_in_known_sections_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PHONEBASE_DELIVERY__WORKR", "false");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn numbers_have_bounds() {
        assert_eq!(Config::default().validate(), Ok(()));
        let mut config = Config::default();
        config.maintenance.message_retention_days = i64::MAX;
        assert!(config.validate().unwrap_err().contains("message_retention_days"));
        let config = Config { database_pool_size: 0, ..Config::default() };
        assert!(config.validate().is_err());
        let mut config = Config::default();
        config.delivery.lease_secs = -1;
        assert!(config.validate().is_err());
    }

    #[test]
    fn defaults_need_no_setup() {
        let config = Config::default();
        assert_eq!(config.database_url(), "sqlite://data/phonebase.db");
        assert_eq!(config.sink_path(), PathBuf::from("data/sms-sink.jsonl"));
        assert_eq!(Config { base_path: "/pb/".into(), ..Config::default() }.route_prefix(), "/pb");
        assert_eq!(config.route_prefix(), "");
    }
}
