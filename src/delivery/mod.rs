//! Getting messages out: the outbox worker, the providers it hands messages to (one file per
//! provider, each a [`Sender`]), routing with failover and a circuit breaker per provider, and
//! the parsers of the providers' delivery reports. Only this module knows a concrete way of
//! sending; everything else sees the `Sender` trait.

pub mod aliyun;
pub mod breaker;
mod client;
pub mod providers;
pub mod sink;
pub mod smpp;
pub mod tencent;
pub mod twilio;
pub mod worker;

use std::future::Future;
use std::pin::Pin;

/// A message taken from the outbox, body opened.
#[derive(Clone)]
pub struct Outgoing {
    pub id: String,
    pub app_id: String,
    pub to: String,
    /// `sms` or `voice`.
    pub channel: String,
    pub text: String,
    /// For providers that take only registered templates: the provider's template and its
    /// parameters, rendered from the same variables as `text`.
    pub template: Option<TemplateCall>,
    /// What is left of the message's lifetime (a code's expiry): providers that can be told stop
    /// trying to deliver it after that (SMPP `validity_period`).
    pub valid_for: Option<std::time::Duration>,
}

// The text carries the code: never in a log line.
impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("app_id", &self.app_id)
            .field("to", &self.to)
            .field("channel", &self.channel)
            .field("text", &"<redacted>")
            .field("template", &self.template.as_ref().map(|t| &t.code))
            .field("valid_for", &self.valid_for)
            .finish()
    }
}

/// A registered template with its parameter values (the values may hold the code).
#[derive(Clone)]
pub struct TemplateCall {
    /// Aliyun `TemplateCode`, Tencent `TemplateId`.
    pub code: String,
    /// In the mapping's order.
    pub params: Vec<(String, String)>,
    /// The registered signature name, if known.
    pub sign_name: Option<String>,
}

impl std::fmt::Debug for TemplateCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateCall")
            .field("code", &self.code)
            .field("params", &self.params.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("sign_name", &self.sign_name)
            .finish()
    }
}

/// How far a sender got with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the provider; a delivery report may follow.
    Sent { provider_id: Option<String> },
    /// Known to have reached its destination (the development sink stores it at once).
    Delivered { provider_id: Option<String> },
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    /// A permanent failure is not retried (a number the provider refuses, a rejected template).
    pub permanent: bool,
    /// The provider's own error code (`isv.MOBILE_NUMBER_ILLEGAL`, `LimitExceeded...`, `21211`).
    pub code: Option<String>,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: false, code: None }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), permanent: true, code: None }
    }
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, SendError>> + Send + 'a>>;

/// A provider: takes one message, says how far it got.
pub trait Sender: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a>;

    /// Gives a provider that receives delivery reports on its own connection (SMPP) the core to
    /// record them with; HTTP providers report through the receivers instead.
    fn attach(&self, _core: &crate::core::Core) {}
}

/// `phonebase provider test`: one message through one provider, now, outside the outbox; the
/// provider's answer in words. Providers that take registered templates use the mapping of the
/// built-in verification text (the app's own, else every app's).
pub async fn test_send(
    config: &crate::config::Config,
    core: &crate::core::Core,
    provider: &str,
    to: &str,
    app_id: Option<&str>,
) -> anyhow::Result<String> {
    let providers = providers::Providers::from_config(config, None)?;
    providers.attach(core);
    // A configured provider, or one of the app's own (by its name or `<name>@<app id>`).
    let own = app_id.map(|a| (a, crate::core::outbox::app_providers::qualified_name(a, provider)));
    let p = match (providers.get(provider), &own) {
        (Some(p), _) => p,
        (None, Some((app, qualified))) => {
            let qualified = if provider.contains('@') { provider } else { qualified.as_str() };
            let found = providers.resolve(core, app, qualified).await?;
            found.ok_or_else(|| anyhow::anyhow!("app {app} has no provider named {provider}"))?
        }
        (None, None) => anyhow::bail!("no provider named {provider} is configured"),
    };
    let provider = p.name.as_str();
    let (core, owned_provider, app) = (core.clone(), provider.to_string(), app_id.map(str::to_string));
    let (name, mapping) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let name = match &app {
            Some(id) => core.app(id)?.name.clone(),
            None => "Phonebase".to_string(),
        };
        let mapping = core.mapping_for(&owned_provider, app.as_deref(), "builtin:verification")?;
        Ok((name, mapping))
    })
    .await??;
    let vars: std::collections::BTreeMap<String, String> =
        [("code", "123456"), ("ttl", "10"), ("name", name.as_str()), ("op", "test")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    let template = if p.kind.needs_template() {
        let mapping = mapping.ok_or_else(|| {
            anyhow::anyhow!("{provider} sends registered templates only: map the built-in verification text first (phonebase provider map {provider} --builtin verification --code ...)")
        })?;
        Some(TemplateCall {
            code: mapping.template_code.clone(),
            params: mapping.render(&vars)?,
            sign_name: mapping.sign_name.clone().or_else(|| p.sign_name.clone()),
        })
    } else {
        None
    };
    let outgoing = Outgoing {
        id: format!("test-{}", uuid::Uuid::now_v7()),
        app_id: app_id.unwrap_or("-").to_string(),
        to: to.to_string(),
        channel: "sms".into(),
        text: format!("{name}: a test message from Phonebase, code 123456."),
        template,
        valid_for: Some(std::time::Duration::from_secs(600)),
    };
    let started = std::time::Instant::now();
    let result = p.sender.send(&outgoing).await;
    let ms = started.elapsed().as_millis();
    Ok(match result {
        Ok(Outcome::Sent { provider_id }) | Ok(Outcome::Delivered { provider_id }) => format!(
            "accepted by {provider} in {ms} ms; provider message id {}",
            provider_id.as_deref().unwrap_or("(none)")
        ),
        Err(e) => format!(
            "refused by {provider} in {ms} ms, {} (code {}): {}",
            if e.permanent {
                "permanent: the message would not be retried"
            } else {
                "retryable: the next provider would be tried"
            },
            e.code.as_deref().unwrap_or("-"),
            e.message
        ),
    })
}
