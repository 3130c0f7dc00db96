//! An app's own SMS providers: set by the operator (console, CLI), used for the app's messages
//! instead of the configured `[[delivery.providers]]`. Each entry has the shape of a configured
//! provider. Its secrets (`SECRET_FIELDS`) are sealed at rest with the server secret like outbox
//! bodies, sealed again under the current secret after a rotation, and never shown back: views
//! say only which secrets are set.
//!
//! Inside Phonebase (routes, attempts, mappings, report URLs) an app's provider is named
//! `<name>@<app id>`, so it never meets another app's provider or a configured one.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{ProviderConfig, ProviderKind};
use crate::core::{Core, Error, Result};
use crate::store::{self, app_providers::AppProviderRow};

/// The configuration fields that are secrets.
pub const SECRET_FIELDS: &[&str] = &["access_key_secret", "secret_key", "auth_token", "password", "report_token"];

/// At most this many providers per app.
pub const MAX_APP_PROVIDERS: usize = 16;

pub use crate::core::apps::{qualified_name, split_qualified};

/// An app's own provider as it may be shown: its configuration without secrets, and the names
/// of the secrets that are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppProviderView {
    pub name: String,
    /// `<name>@<app id>`: in attempts, mappings and report URLs.
    pub qualified: String,
    pub kind: String,
    /// The configuration without its secret fields.
    pub config: Value,
    pub secrets_set: Vec<String>,
}

/// Splits a configuration into its public part (nulls dropped) and its secrets.
fn split(config: &ProviderConfig) -> Result<(serde_json::Map<String, Value>, BTreeMap<String, String>)> {
    let Value::Object(mut public) = serde_json::to_value(config).map_err(|e| Error::Internal(e.into()))? else {
        return Err(Error::Internal(anyhow::anyhow!("a provider configuration is not an object")));
    };
    let mut secrets = BTreeMap::new();
    for field in SECRET_FIELDS {
        if let Some(Value::String(s)) = public.remove(*field)
            && !s.is_empty()
        {
            secrets.insert(field.to_string(), s);
        }
    }
    public.retain(|_, v| !v.is_null() && v != &Value::Array(Vec::new()));
    Ok((public, secrets))
}

fn view(app_id: &str, row: &AppProviderRow) -> Result<AppProviderView> {
    let config: serde_json::Map<String, Value> = serde_json::from_str(&row.config)
        .map_err(|e| Error::Internal(anyhow::anyhow!("app provider {} unreadable: {e}", row.name)))?;
    Ok(AppProviderView {
        name: row.name.clone(),
        qualified: qualified_name(app_id, &row.name),
        kind: config.get("kind").and_then(Value::as_str).unwrap_or_default().to_string(),
        secrets_set: Vec::new(),
        config: Value::Object(config),
    })
}

impl Core {
    /// Replaces the app's own providers with `list` (each a JSON object shaped like a
    /// `[[delivery.providers]]` entry; kinds aliyun, tencent, twilio). A secret left out keeps
    /// the value stored for the provider of the same name, so a list shown back (without its
    /// secrets) can be edited and saved. An empty list: the app uses the configured providers
    /// again. Template mappings stay keyed by the qualified name.
    pub fn set_app_providers(&self, app_id: &str, list: Vec<Value>) -> Result<Vec<AppProviderView>> {
        self.app(app_id)?;
        if list.len() > MAX_APP_PROVIDERS {
            return Err(Error::InvalidParameter(format!("an app may have at most {MAX_APP_PROVIDERS} providers")));
        }
        let mut conn = self.conn()?;
        let stored = store::app_providers::of_app(&mut conn, app_id)?;
        let now = self.clock.now_naive();
        let mut rows: Vec<AppProviderRow> = Vec::new();
        for (position, entry) in list.into_iter().enumerate() {
            let mut config: ProviderConfig = serde_json::from_value(entry)
                .map_err(|e| Error::InvalidParameter(format!("provider {}: {e}", position + 1)))?;
            if !matches!(config.kind, ProviderKind::Aliyun | ProviderKind::Tencent | ProviderKind::Twilio) {
                return Err(Error::InvalidParameter(format!(
                    "provider {}: an app's own provider is aliyun, tencent or twilio (smpp and sink are configured for the whole server)",
                    config.name
                )));
            }
            if rows.iter().any(|r| r.name == config.name) {
                return Err(Error::InvalidParameter(format!("two providers are named {}", config.name)));
            }
            // Secrets not given again keep their stored values.
            if let Some(old) = stored.iter().find(|r| r.name == config.name)
                && let Some(old_secrets) = self.open_secrets(old)?
            {
                let (_, given) = split(&config)?;
                let mut merged = serde_json::to_value(&config).map_err(|e| Error::Internal(e.into()))?;
                for (field, value) in old_secrets {
                    if !given.contains_key(&field) {
                        merged[field.as_str()] = Value::String(value);
                    }
                }
                config = serde_json::from_value(merged).map_err(|e| Error::Internal(e.into()))?;
            }
            config.check().map_err(Error::InvalidParameter)?;
            let (public, secrets) = split(&config)?;
            let secrets = serde_json::to_string(&secrets).map_err(|e| Error::Internal(e.into()))?;
            rows.push(AppProviderRow {
                app_id: app_id.to_string(),
                name: config.name.clone(),
                position: i32::try_from(position).unwrap_or(i32::MAX),
                config: Value::Object(public).to_string(),
                secrets_sealed: self.keys.seal(&secrets),
                updated_at: now,
            });
        }
        store::write_tx(&mut conn, |c| -> Result<()> {
            store::lock_key(c, &format!("app-providers:{app_id}"))?;
            store::app_providers::replace(c, app_id, &rows)?;
            Ok(())
        })?;
        self.app_cache.remove(app_id);
        drop(conn);
        self.app_providers(app_id)
    }

    /// The app's own providers, secrets left out (only their names are told).
    pub fn app_providers(&self, app_id: &str) -> Result<Vec<AppProviderView>> {
        let mut conn = self.conn()?;
        let rows = store::app_providers::of_app(&mut conn, app_id)?;
        rows.iter()
            .map(|row| {
                let mut v = view(app_id, row)?;
                v.secrets_set = self.open_secrets(row)?.map(|s| s.into_keys().collect()).unwrap_or_default();
                Ok(v)
            })
            .collect()
    }

    /// An app's provider by its qualified name, secrets opened: for the delivery worker and the
    /// report receivers only. The second value changes whenever the provider is changed (a
    /// sender built from an older one is stale). Secrets sealed under a previous server secret are
    /// sealed again under the current one.
    pub fn app_provider_config(&self, qualified: &str) -> Result<Option<(ProviderConfig, String)>> {
        let Some((name, app_id)) = split_qualified(qualified) else { return Ok(None) };
        let mut conn = self.conn()?;
        let Some(row) = store::app_providers::find(&mut conn, app_id, name)? else { return Ok(None) };
        drop(conn);
        let Some(secrets) = self.open_secrets(&row)? else {
            tracing::warn!(provider = %qualified, "app provider's secrets cannot be opened (server secret changed?)");
            return Ok(None);
        };
        let mut config: serde_json::Map<String, Value> = serde_json::from_str(&row.config)
            .map_err(|e| Error::Internal(anyhow::anyhow!("app provider {qualified} unreadable: {e}")))?;
        config.extend(secrets.into_iter().map(|(k, v)| (k, Value::String(v))));
        let mut config: ProviderConfig = serde_json::from_value(Value::Object(config))
            .map_err(|e| Error::Internal(anyhow::anyhow!("app provider {qualified} unreadable: {e}")))?;
        config.name = qualified.to_string();
        Ok(Some((config, row.updated_at.and_utc().timestamp_micros().to_string())))
    }

    /// The row's secrets; `None` when no accepted server secret opens them. Opened under a
    /// previous secret: sealed again under the current one (if nobody changed the row meanwhile).
    fn open_secrets(&self, row: &AppProviderRow) -> Result<Option<BTreeMap<String, String>>> {
        let Some((plain, aged)) = self.keys.open_bytes_with_age(&row.secrets_sealed) else { return Ok(None) };
        if aged {
            let resealed = self.keys.seal_bytes(&plain);
            let mut conn = self.conn()?;
            store::app_providers::reseal(&mut conn, &row.app_id, &row.name, &row.secrets_sealed, &resealed)?;
        }
        let secrets = serde_json::from_slice(&plain)
            .map_err(|e| Error::Internal(anyhow::anyhow!("app provider {} secrets unreadable: {e}", row.name)))?;
        Ok(Some(secrets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_split_from_the_configuration() {
        let config: ProviderConfig = serde_json::from_value(serde_json::json!({
            "name": "mine", "kind": "twilio", "account_sid": "AC1", "auth_token": "tok", "from": "+1", "priority": 2
        }))
        .unwrap();
        let (public, secrets) = split(&config).unwrap();
        assert_eq!(secrets, BTreeMap::from([("auth_token".to_string(), "tok".to_string())]));
        assert!(!Value::Object(public.clone()).to_string().contains("tok"));
        assert_eq!(public["account_sid"], "AC1");
        assert!(!public.contains_key("endpoint"), "nulls dropped");
        assert_eq!(split_qualified(&qualified_name("app1", "mine")), Some(("mine", "app1")));
        assert_eq!(split_qualified("mine"), None);
    }
}
