//! The configured providers, built once at start: each a [`Sender`] with its name and kind, and
//! the routes the core decides with. No configuration: the development sink alone.

use std::sync::Arc;

use super::Sender;
use super::aliyun::Aliyun;
use super::sink::Sink;
use super::smpp::Smpp;
use super::tencent::Tencent;
use super::twilio::Twilio;
use crate::config::{Config, ProviderConfig, ProviderKind};
use crate::core::outbox::app_providers::split_qualified;
use crate::core::outbox::routing::Route;

pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    pub sender: Arc<dyn Sender>,
    pub sign_name: Option<String>,
}

pub struct Providers {
    list: Vec<Arc<Provider>>,
    routes: Vec<Route>,
    /// For building apps' own providers (Twilio's callback URL needs `public_url`).
    config: Config,
    /// Apps' own providers, built on first use: qualified name → (revision, provider).
    own: std::sync::Mutex<std::collections::HashMap<String, (String, Arc<Provider>)>>,
}

/// The sender of one provider configuration (HTTP providers and SMPP; the sink, or `hook`).
fn build(config: &Config, p: &ProviderConfig, hook: Option<&Arc<dyn Sender>>) -> anyhow::Result<Provider> {
    let sender: Arc<dyn Sender> = match p.kind {
        ProviderKind::Sink => match hook {
            Some(h) => h.clone(),
            None => Arc::new(Sink::new(p.path.clone().unwrap_or_else(|| config.sink_path()))),
        },
        ProviderKind::Aliyun => Arc::new(Aliyun::new(p)?),
        ProviderKind::Tencent => Arc::new(Tencent::new(p)?),
        ProviderKind::Twilio => Arc::new(Twilio::new(p, status_callback_url(config, p))?),
        ProviderKind::Smpp => Arc::new(Smpp::new(p)?),
    };
    Ok(Provider { name: p.name.clone(), kind: p.kind, sender, sign_name: p.sign_name.clone() })
}

/// Where Twilio is told to post status callbacks: the configured `status_callback`, else
/// `<public_url>/delivery/reports/<name>`; none without either.
pub fn status_callback_url(config: &Config, provider: &ProviderConfig) -> Option<String> {
    if let Some(url) = provider.status_callback.as_deref().filter(|u| !u.trim().is_empty()) {
        return Some(url.trim().to_string());
    }
    let base = config.public_url.as_deref().map(str::trim).filter(|u| !u.is_empty())?;
    Some(format!("{}/delivery/reports/{}", base.trim_end_matches('/'), provider.name))
}

impl Providers {
    /// Builds every configured provider; `hook` (tests) stands in for the sink.
    pub fn from_config(config: &Config, hook: Option<Arc<dyn Sender>>) -> anyhow::Result<Self> {
        let configured = if config.delivery.providers.is_empty() {
            vec![serde_json::from_value(serde_json::json!({"name": "sink", "kind": "sink"}))?]
        } else {
            config.delivery.providers.clone()
        };
        let mut list = Vec::new();
        let mut routes = Vec::new();
        for p in &configured {
            p.check().map_err(anyhow::Error::msg)?;
            anyhow::ensure!(
                !list.iter().any(|q: &Arc<Provider>| q.name == p.name),
                "two providers are named {}",
                p.name
            );
            list.push(Arc::new(build(config, p, hook.as_ref())?));
            routes.push(Route::from_config(p));
        }
        Ok(Self { list, routes, config: config.clone(), own: Default::default() })
    }

    /// Lets providers with their own report channel (SMPP receipts) record through `core`.
    pub fn attach(&self, core: &crate::core::Core) {
        for p in &self.list {
            p.sender.attach(core);
        }
    }

    pub fn routes(&self) -> Vec<Route> {
        self.routes.clone()
    }

    pub fn get(&self, name: &str) -> Option<Arc<Provider>> {
        self.list.iter().find(|p| p.name == name).cloned()
    }

    /// The provider named `name` for a message of `app_id`: a configured one, or one of the
    /// app's own (secrets opened by core, built once per revision and kept). `None`: no such
    /// provider (any more) for this app.
    pub async fn resolve(
        &self,
        core: &crate::core::Core,
        app_id: &str,
        name: &str,
    ) -> anyhow::Result<Option<Arc<Provider>>> {
        if let Some(p) = self.get(name) {
            return Ok(Some(p));
        }
        if split_qualified(name).is_none_or(|(_, app)| app != app_id) {
            return Ok(None);
        }
        let (core, qualified) = (core.clone(), name.to_string());
        let Some((config, revision)) =
            tokio::task::spawn_blocking(move || core.app_provider_config(&qualified)).await??
        else {
            return Ok(None);
        };
        let mut own = self.own.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((built, provider)) = own.get(name)
            && *built == revision
        {
            return Ok(Some(provider.clone()));
        }
        // Checked when it was set (under its own name; the qualified name holds an `@`).
        let provider = Arc::new(build(&self.config, &config, None)?);
        if own.len() > 1_000 {
            own.clear();
        }
        own.insert(name.to_string(), (revision, provider.clone()));
        Ok(Some(provider))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|p| p.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_configuration_is_the_sink() {
        let providers = Providers::from_config(&Config::default(), None).unwrap();
        assert_eq!(providers.names().collect::<Vec<_>>(), vec!["sink"]);
        assert_eq!(providers.routes(), vec![Route::sink()]);
    }

    #[test]
    fn missing_credentials_and_duplicates_are_refused() {
        let mut config = Config::default();
        config.delivery.providers = vec![
            serde_json::from_value(serde_json::json!({"name": "a", "kind": "aliyun", "access_key_id": "x"})).unwrap(),
        ];
        let e = Providers::from_config(&config, None).err().unwrap().to_string();
        assert!(e.contains("access_key_secret"), "{e}");
        config.delivery.providers = vec![
            serde_json::from_value(serde_json::json!({"name": "s", "kind": "sink"})).unwrap(),
            serde_json::from_value(serde_json::json!({"name": "s", "kind": "sink"})).unwrap(),
        ];
        assert!(Providers::from_config(&config, None).is_err());
    }

    #[test]
    fn smpp_needs_a_system_id_and_a_short_password() {
        let mut config = Config::default();
        let smpp = |v: serde_json::Value| -> ProviderConfig { serde_json::from_value(v).unwrap() };
        config.delivery.providers = vec![smpp(serde_json::json!({"name": "s", "kind": "smpp"}))];
        let e = Providers::from_config(&config, None).err().unwrap().to_string();
        assert!(e.contains("system_id"), "{e}");
        config.delivery.providers =
            vec![smpp(serde_json::json!({"name": "s", "kind": "smpp", "system_id": "pb", "password": "too-long-pw"}))];
        let e = Providers::from_config(&config, None).err().unwrap().to_string();
        assert!(e.contains("at most 8"), "{e}");
        config.delivery.providers =
            vec![smpp(serde_json::json!({"name": "s", "kind": "smpp", "system_id": "pb", "password": "secret"}))];
        let providers = Providers::from_config(&config, None).unwrap();
        assert_eq!(providers.get("s").map(|p| p.kind), Some(ProviderKind::Smpp));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let p: ProviderConfig = serde_json::from_value(serde_json::json!({
            "name": "t", "kind": "twilio", "account_sid": "AC1", "auth_token": "tok-very-secret", "from": "+1"
        }))
        .unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("tok-very-secret") && shown.contains("Secret(***)"), "{shown}");
        assert_eq!(p.endpoint(), "https://api.twilio.com");
    }

    #[test]
    fn voice_needs_a_kind_with_a_voice_channel() {
        let p = |v: serde_json::Value| -> ProviderConfig { serde_json::from_value(v).unwrap() };
        let smpp = p(serde_json::json!({"name": "s", "kind": "smpp", "system_id": "pb", "channels": ["voice"]}));
        assert!(smpp.check().unwrap_err().contains("no voice channel"));
        let mut t = p(serde_json::json!({
            "name": "t", "kind": "tencent", "secret_id": "i", "secret_key": "k", "sdk_app_id": "1", "channels": ["sms", "voice"]
        }));
        assert!(t.check().unwrap_err().contains("voice_sdk_app_id"));
        t.voice_sdk_app_id = Some("1400006666".into());
        assert_eq!((t.check(), t.voice_endpoint()), (Ok(()), "https://vms.tencentcloudapi.com".to_string()));
        t.play_times = Some(4);
        assert!(t.check().unwrap_err().contains("play_times"));
        let a = p(serde_json::json!({"name": "a", "kind": "aliyun", "access_key_id": "i", "access_key_secret": "k"}));
        assert_eq!(a.voice_endpoint(), "https://dyvmsapi.aliyuncs.com");
    }
}
