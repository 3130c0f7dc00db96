//! Which providers may carry a message, and in what order: the configured routes (or the app's own
//! list), filtered by channel and by the number's country or prefix, sorted by priority, and, for
//! providers that accept only registered templates (Aliyun, Tencent), only where a template
//! mapping exists. The same rule decides at send time (refuse before queueing) and in the worker
//! (failover order). Delivery reports land here too. No concrete provider is known: only whether
//! a route needs a template.

use std::collections::BTreeMap;

use crate::core::apps::App;
use crate::core::message::{Channel, Purpose};
use crate::core::{Core, Error, Result};
use crate::store::{self, DbConn};

/// One configured provider, as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    /// Sends registered templates with parameters, never free text.
    pub needs_template: bool,
    /// Lower goes first.
    pub priority: i32,
    /// ISO 3166 regions, upper case; with `prefixes` empty too: every number.
    pub countries: Vec<String>,
    /// E.164 prefixes with their `+`.
    pub prefixes: Vec<String>,
    /// `sms` and/or `voice`.
    pub channels: Vec<String>,
    /// The provider's default registered signature name.
    pub sign_name: Option<String>,
}

impl Route {
    /// The development sink: what runs with no configuration.
    pub fn sink() -> Self {
        Route {
            name: "sink".into(),
            needs_template: false,
            priority: 0,
            countries: Vec::new(),
            prefixes: Vec::new(),
            channels: vec!["sms".into(), "voice".into()],
            sign_name: None,
        }
    }

    /// The route of a configured provider (or of an app's own, named by its qualified name).
    pub fn from_config(p: &crate::config::ProviderConfig) -> Self {
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

    pub fn serves(&self, e164: &str, channel: &str) -> bool {
        if !self.channels.iter().any(|c| c == channel) {
            return false;
        }
        if self.countries.is_empty() && self.prefixes.is_empty() {
            return true;
        }
        self.prefixes.iter().any(|p| e164.starts_with(p.as_str()))
            || region_of(e164).is_some_and(|r| self.countries.iter().any(|c| c.eq_ignore_ascii_case(&r)))
    }
}

/// The ISO 3166 region of an E.164 number (`CN`, `US`), if libphonenumber knows it.
pub fn region_of(e164: &str) -> Option<String> {
    let number = phonenumber::parse(None, e164).ok()?;
    number.country().id().map(|id| id.as_ref().to_string())
}

/// The key of a text in template mappings: a built-in text (`builtin:verification`) or an app's
/// template (`template:welcome`).
pub fn builtin_ref(channel: Channel, purpose: Purpose) -> String {
    format!("builtin:{}", crate::core::texts::Texts::kind(channel, purpose))
}

pub fn template_ref(name: &str) -> String {
    format!("template:{name}")
}

/// The key of an app's template read out by a voice call: providers register TTS templates apart
/// from SMS templates, so the two need their own mappings.
pub fn voice_template_ref(name: &str) -> String {
    format!("voice:template:{name}")
}

/// The built-in texts a mapping may name.
pub const BUILTIN_KINDS: &[&str] = &["verification", "login", "reset_password", "change_phone", "voice"];

/// A provider's registered template for one of our texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub provider: String,
    /// `None`: every app (built-in texts are the same for all).
    pub app_id: Option<String>,
    pub text_ref: String,
    /// Aliyun `TemplateCode` / Tencent `TemplateId`.
    pub template_code: String,
    /// In order: (the provider's parameter name, our variable). Tencent takes the values in this
    /// order, Aliyun by name.
    pub params: Vec<(String, String)>,
    /// Overrides the provider's default signature name.
    pub sign_name: Option<String>,
}

impl Mapping {
    /// The parameters with their values, from the same variables the text is rendered from.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<Vec<(String, String)>> {
        self.params
            .iter()
            .map(|(param, var)| match vars.get(var) {
                Some(value) => Ok((param.clone(), value.clone())),
                None => Err(Error::TemplateRender(format!(
                    "provider {} template {} needs variable {var}",
                    self.provider, self.template_code
                ))),
            })
            .collect()
    }
}

/// A route that can send a given message, with its template when it needs one.
#[derive(Debug, Clone)]
pub struct Planned {
    pub route: Route,
    pub mapping: Option<Mapping>,
}

/// What a provider finally said about a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub provider_message_id: String,
    pub delivered: bool,
    /// The provider's own code (`DELIVRD`, `30003`, ...).
    pub error_code: Option<String>,
}

/// Parses `name=var` pairs for a mapping's parameters.
pub fn parse_params(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| {
            let (param, var) = p.split_once('=').unwrap_or((p.as_str(), p.as_str()));
            let (param, var) = (param.trim(), var.trim());
            if param.is_empty() || var.is_empty() {
                return Err(Error::InvalidParameter(format!("parameter {p:?} must be NAME=VARIABLE")));
            }
            Ok((param.to_string(), var.to_string()))
        })
        .collect()
}

impl Core {
    /// The configured routes, in configuration order.
    pub fn routes(&self) -> &[Route] {
        &self.options.routes
    }

    /// The routes `app`'s messages may take: its own providers when it has some, else the
    /// configured ones (those its settings name, when they name any).
    pub fn routes_for(&self, app: &App) -> Vec<Route> {
        if !app.own_providers.is_empty() {
            return app.own_providers.iter().map(Route::from_config).collect();
        }
        let own = &app.settings.providers;
        self.options.routes.iter().filter(|r| own.is_empty() || own.contains(&r.name)).cloned().collect()
    }

    /// The routes that may carry a message to `e164` on `channel` for `app`: the app's own list
    /// when it has one, else all; by channel and country/prefix; by priority (ties keep the
    /// configured order).
    pub fn candidate_routes(&self, app: &App, e164: &str, channel: &str) -> Vec<Route> {
        if !app.own_providers.is_empty() {
            // The app's own providers, in its order, and nothing else.
            return app.own_providers.iter().map(Route::from_config).filter(|r| r.serves(e164, channel)).collect();
        }
        let own = &app.settings.providers;
        let mut routes: Vec<(usize, Route)> = self
            .options
            .routes
            .iter()
            .filter(|r| own.is_empty() || own.iter().any(|n| n == &r.name))
            .filter(|r| r.serves(e164, channel))
            .cloned()
            .map(|r| {
                // An app's list orders by its own order first.
                (own.iter().position(|n| n == &r.name).unwrap_or(0), r)
            })
            .collect();
        routes.sort_by_key(|(pos, r)| (*pos, r.priority));
        routes.into_iter().map(|(_, r)| r).collect()
    }

    /// The candidate routes that can send this text with these variables: those needing a
    /// template only where a mapping exists and renders. Empty: nobody can send it.
    pub fn plan_in(
        &self,
        conn: &mut DbConn,
        app: &App,
        e164: &str,
        channel: &str,
        text_ref: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<Vec<Planned>> {
        let mut planned = Vec::new();
        for route in self.candidate_routes(app, e164, channel) {
            if !route.needs_template {
                planned.push(Planned { route, mapping: None });
                continue;
            }
            let Some(mapping) = find_mapping(conn, &route.name, &app.id, text_ref)? else {
                continue;
            };
            if mapping.render(vars).is_ok() {
                planned.push(Planned { route, mapping: Some(mapping) });
            }
        }
        Ok(planned)
    }

    /// Refuses a send nobody can carry, before anything is queued.
    pub(crate) fn check_sendable(
        &self,
        conn: &mut DbConn,
        app: &App,
        e164: &str,
        channel: Channel,
        text_ref: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<()> {
        if self.candidate_routes(app, e164, channel.as_str()).is_empty() {
            return Err(Error::NoProvider(match channel {
                Channel::Voice => "no configured provider has a voice channel for this number (voice: aliyun, tencent or twilio with channels = [\"sms\", \"voice\"])".into(),
                Channel::Sms => "no SMS provider serves sms messages to this number".into(),
            }));
        }
        if self.plan_in(conn, app, e164, channel.as_str(), text_ref, vars)?.is_empty() {
            return Err(Error::NoProvider(format!(
                "no SMS provider has a registered template for {text_ref}; map one with `phonebase provider map`"
            )));
        }
        Ok(())
    }

    /// Maps one of our texts to a provider's registered template (replacing an earlier mapping).
    pub fn set_mapping(&self, mut mapping: Mapping) -> Result<Mapping> {
        // An app's own provider, by its name or its qualified name.
        let own = match &mapping.app_id {
            Some(app_id) => self.app(app_id)?.own_providers.iter().map(Route::from_config).find(|r| {
                r.name == mapping.provider
                    || super::app_providers::split_qualified(&r.name).is_some_and(|(n, _)| n == mapping.provider)
            }),
            None => None,
        };
        let Some(route) = own.or_else(|| self.options.routes.iter().find(|r| r.name == mapping.provider).cloned())
        else {
            return Err(Error::InvalidParameter(format!("no provider named {} is configured", mapping.provider)));
        };
        mapping.provider = route.name.clone();
        if !route.needs_template {
            return Err(Error::InvalidParameter(format!(
                "provider {} sends the rendered text and takes no template mapping",
                route.name
            )));
        }
        let text_ref = mapping.text_ref.strip_prefix("voice:").filter(|t| t.starts_with("template:"));
        match text_ref.unwrap_or(&mapping.text_ref).split_once(':') {
            Some(("builtin", kind)) if BUILTIN_KINDS.contains(&kind) => {}
            Some(("template", name)) if !name.is_empty() && mapping.app_id.is_some() => {}
            Some(("template", _)) => {
                return Err(Error::InvalidParameter("a template mapping needs its app".into()));
            }
            _ => {
                return Err(Error::InvalidParameter(format!(
                    "unknown text {:?}: builtin:<{}>, template:<name> or voice:template:<name>",
                    mapping.text_ref,
                    BUILTIN_KINDS.join("|")
                )));
            }
        }
        if mapping.template_code.trim().is_empty() {
            return Err(Error::InvalidParameter("the provider's template code is missing".into()));
        }
        if let Some(app_id) = &mapping.app_id {
            self.app(app_id)?;
        }
        let params = serde_json::to_string(&mapping.params).map_err(|e| Error::Internal(e.into()))?;
        let now = self.clock.now_naive();
        let app_key = mapping.app_id.clone().unwrap_or_default();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |c| -> Result<()> {
            store::lock_key(c, &format!("mapping:{}:{app_key}:{}", mapping.provider, mapping.text_ref))?;
            store::delivery::delete_mapping(c, &mapping.provider, &app_key, &mapping.text_ref)?;
            store::delivery::insert_mapping(
                c,
                &store::delivery::MappingRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    provider: mapping.provider.clone(),
                    app_id: app_key.clone(),
                    text_ref: mapping.text_ref.clone(),
                    template_code: mapping.template_code.trim().to_string(),
                    params,
                    sign_name: mapping.sign_name.clone(),
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Ok(())
        })?;
        Ok(mapping)
    }

    /// The mapping a send through `provider` would use for `text_ref` of `app_id` (or of every app).
    pub fn mapping_for(&self, provider: &str, app_id: Option<&str>, text_ref: &str) -> Result<Option<Mapping>> {
        let mut conn = self.conn()?;
        find_mapping(&mut conn, provider, app_id.unwrap_or_default(), text_ref)
    }

    pub fn remove_mapping(&self, provider: &str, app_id: Option<&str>, text_ref: &str) -> Result<bool> {
        let mut conn = self.conn()?;
        let n = store::write_tx(&mut conn, |c| {
            store::delivery::delete_mapping(c, provider, app_id.unwrap_or_default(), text_ref)
        })?;
        Ok(n > 0)
    }

    pub fn list_mappings(&self, provider: Option<&str>) -> Result<Vec<Mapping>> {
        let mut conn = self.conn()?;
        store::delivery::list_mappings(&mut conn, provider)?.into_iter().map(mapping_from_row).collect()
    }

    /// Records delivery reports of `provider`, idempotently: the first final report of a
    /// provider message id wins, a report never moves a message back (delivered stays
    /// delivered), and a report for an id not known yet is kept and applied when the send is
    /// recorded (a fast provider can report before the worker writes `sent`). Unknown ids are
    /// not an error: a receiver must not tell which ids exist.
    pub fn record_reports(&self, provider: &str, reports: &[Report]) -> Result<()> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        for report in reports {
            if report.provider_message_id.is_empty() || report.provider_message_id.len() > 128 {
                continue;
            }
            store::write_tx(&mut conn, |c| -> Result<()> {
                store::lock_key(c, &format!("report:{provider}:{}", report.provider_message_id))?;
                if store::delivery::find_report(c, provider, &report.provider_message_id)?.is_some() {
                    return Ok(());
                }
                store::delivery::insert_report(
                    c,
                    &store::delivery::ReportRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        provider: provider.to_string(),
                        provider_message_id: report.provider_message_id.clone(),
                        status: if report.delivered { "delivered" } else { "failed" }.to_string(),
                        error_code: report.error_code.clone(),
                        received_at: now,
                    },
                )?;
                store::delivery::apply_report(c, provider, &report.provider_message_id, now)?;
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// One provider's record over a window: attempts by outcome and their mean latency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderHealth {
    pub provider: String,
    pub attempts: i64,
    /// Accepted (`sent`, later `delivered`/`undelivered` by reports, or `delivered` at once).
    pub accepted: i64,
    pub delivered: i64,
    pub undelivered: i64,
    /// Retryable failures (the message went on to the next provider).
    pub retries: i64,
    /// Final failures.
    pub failed: i64,
    pub mean_latency_ms: i64,
}

impl Core {
    /// Each configured provider's attempts since `since` (the console's and the CLI's health view).
    pub fn provider_health(&self, since: chrono::NaiveDateTime) -> Result<Vec<ProviderHealth>> {
        let mut conn = self.conn()?;
        let stats = store::delivery::attempt_stats(&mut conn, since)?;
        let mut out: Vec<ProviderHealth> = self
            .options
            .routes
            .iter()
            .map(|r| ProviderHealth { provider: r.name.clone(), ..Default::default() })
            .collect();
        let mut latency: BTreeMap<String, i64> = BTreeMap::new();
        for (provider, outcome, count, latency_sum) in stats {
            let Some(h) = out.iter_mut().find(|h| h.provider == provider) else { continue };
            h.attempts += count;
            *latency.entry(provider).or_default() += latency_sum;
            match outcome.as_str() {
                "sent" => h.accepted += count,
                "delivered" => {
                    h.accepted += count;
                    h.delivered += count;
                }
                "undelivered" => {
                    h.accepted += count;
                    h.undelivered += count;
                }
                "retry" => h.retries += count,
                _ => h.failed += count,
            }
        }
        for h in &mut out {
            if h.attempts > 0 {
                h.mean_latency_ms = latency.get(&h.provider).copied().unwrap_or_default() / h.attempts;
            }
        }
        Ok(out)
    }
}

fn mapping_from_row(row: store::delivery::MappingRow) -> Result<Mapping> {
    let params = serde_json::from_str(&row.params)
        .map_err(|e| Error::Internal(anyhow::anyhow!("mapping {} has unreadable parameters: {e}", row.id)))?;
    Ok(Mapping {
        provider: row.provider,
        app_id: Some(row.app_id).filter(|a| !a.is_empty()),
        text_ref: row.text_ref,
        template_code: row.template_code,
        params,
        sign_name: row.sign_name,
    })
}

/// The app's own mapping, else the one for every app.
fn find_mapping(conn: &mut DbConn, provider: &str, app_id: &str, text_ref: &str) -> Result<Option<Mapping>> {
    for app in [app_id, ""] {
        if let Some(row) = store::delivery::find_mapping(conn, provider, app, text_ref)? {
            return mapping_from_row(row).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(countries: &[&str], prefixes: &[&str]) -> Route {
        Route {
            countries: countries.iter().map(|s| s.to_string()).collect(),
            prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
            channels: vec!["sms".into()],
            ..Route::sink()
        }
    }

    #[test]
    fn routes_by_country_prefix_and_channel() {
        assert!(route(&[], &[]).serves("+14155550100", "sms"));
        assert!(!route(&[], &[]).serves("+14155550100", "voice"));
        assert!(route(&["CN"], &[]).serves("+8613800138000", "sms"));
        assert!(!route(&["CN"], &[]).serves("+14155550100", "sms"));
        assert!(route(&["cn"], &["+1415"]).serves("+14155550100", "sms"));
        assert!(!route(&[], &["+1415"]).serves("+12125550100", "sms"));
        assert_eq!(region_of("+85291234567").as_deref(), Some("HK"));
    }

    #[test]
    fn mapping_renders_from_variables() {
        let m = Mapping {
            provider: "a".into(),
            app_id: None,
            text_ref: "builtin:verification".into(),
            template_code: "SMS_1".into(),
            params: parse_params(&["code=code".into(), "min=ttl".into()]).unwrap(),
            sign_name: None,
        };
        let vars: BTreeMap<String, String> =
            [("code".to_string(), "123456".to_string()), ("ttl".into(), "5".into())].into();
        assert_eq!(m.render(&vars).unwrap(), vec![("code".into(), "123456".into()), ("min".into(), "5".into())]);
        assert!(m.render(&BTreeMap::new()).is_err());
        assert!(parse_params(&["=x".into()]).is_err());
        assert_eq!(parse_params(&["code".into()]).unwrap(), vec![("code".into(), "code".into())]);
    }
}
