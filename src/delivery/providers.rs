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
use crate::core::outbox::routing::Route;

pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    pub sender: Arc<dyn Sender>,
    pub sign_name: Option<String>,
}

pub struct Providers {
    list: Vec<Provider>,
    routes: Vec<Route>,
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

fn route_of(p: &ProviderConfig) -> Route {
    Route {
        name: p.name.clone(),
        needs_template: p.kind.needs_template(),
        priority: p.priority,
        countries: p.countries.iter().map(|c| c.trim().to_ascii_uppercase()).collect(),
        prefixes: p
            .prefixes
            .iter()
            .map(|p| p.trim())
            .map(|p| if p.starts_with('+') { p.to_string() } else { format!("+{p}") })
            .collect(),
        channels: p.channels(),
        sign_name: p.sign_name.clone(),
    }
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
            anyhow::ensure!(!list.iter().any(|q: &Provider| q.name == p.name), "two providers are named {}", p.name);
            let sender: Arc<dyn Sender> = match p.kind {
                ProviderKind::Sink => match &hook {
                    Some(h) => h.clone(),
                    None => Arc::new(Sink::new(p.path.clone().unwrap_or_else(|| config.sink_path()))),
                },
                ProviderKind::Aliyun => Arc::new(Aliyun::new(p)?),
                ProviderKind::Tencent => Arc::new(Tencent::new(p)?),
                ProviderKind::Twilio => Arc::new(Twilio::new(p, status_callback_url(config, p))?),
                ProviderKind::Smpp => Arc::new(Smpp::new(p)?),
            };
            list.push(Provider { name: p.name.clone(), kind: p.kind, sender, sign_name: p.sign_name.clone() });
            routes.push(route_of(p));
        }
        Ok(Self { list, routes })
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

    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.name == name)
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
}
