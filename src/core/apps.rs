//! Apps (tenants): credentials and per-app settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use rand::Rng;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::credentials::{Credentials, Dialect, check_given, generate};
use super::phone::Phone;
use super::{Core, Error, Result, validation};
use crate::store::credentials::CredentialRow;
use crate::store::{self, DbConn, apps::AppRow};

/// Send limits for one app. A limit of 0 switches that limit off; none is above `MAX_LIMIT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Codes per phone number per rolling minute / hour / day.
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub phone_per_minute: u32,
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub phone_per_hour: u32,
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub phone_per_day: u32,
    /// Codes requested from one client address per rolling hour / day. Generous, because mobile
    /// carriers put many users behind one address.
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub ip_per_hour: u32,
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub ip_per_day: u32,
    /// Wrong codes sent without a phone number (looked up by value: JS verifyMobilePhone and
    /// resetPasswordBySmsCode) per client address / per app, per rolling hour.
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub code_guesses_per_ip_hour: u32,
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub code_guesses_per_app_hour: u32,
    /// Image captchas asked for from one client address per rolling hour / day: each costs a
    /// drawing, and each wrong answer costs a new captcha.
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub captcha_ip_per_hour: u32,
    #[validate(range(max = MAX_LIMIT, message = "{path} must be 0 (off) to {max}"))]
    pub captcha_ip_per_day: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            phone_per_minute: 1,
            phone_per_hour: 5,
            phone_per_day: 10,
            ip_per_hour: 60,
            ip_per_day: 300,
            code_guesses_per_ip_hour: 10,
            code_guesses_per_app_hour: 100,
            captcha_ip_per_hour: 120,
            captcha_ip_per_day: 600,
        }
    }
}

/// Per-app settings, stored as JSON on the app row. Unknown keys are refused so that a typo in
/// `phonebase app update` is an error, not a silently ignored setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[serde(default, deny_unknown_fields)]
pub struct AppSettings {
    #[validate(nested)]
    pub limits: Limits,
    /// LeanCloud's switch for the generic requestSmsCode / verifySmsCode service.
    pub sms_enabled: bool,
    /// SMS to numbers outside mainland China (off by default, as on LeanCloud).
    pub international_sms: bool,
    /// Test numbers (E.164) with their fixed code: nothing is sent, the pair always verifies,
    /// and the send limits still apply.
    pub test_numbers: BTreeMap<String, String>,
    pub policy: Policy,
    /// Sessions end this many days after login; `None`: when revoked.
    #[validate(range(
        min = 1,
        max = MAX_SESSION_TTL_DAYS,
        message = "session_ttl_days must be {min} to {max} (days), or null for sessions that last until revoked"
    ))]
    pub session_ttl_days: Option<u32>,
    /// The providers (by configured name, in order) this app's messages go through; empty: the
    /// global list by priority.
    pub providers: Vec<String>,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            sms_enabled: true,
            international_sms: false,
            test_numbers: BTreeMap::new(),
            policy: Policy::default(),
            session_ttl_days: None,
            providers: Vec::new(),
        }
    }
}

/// LeanCloud's account switches (contract 6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Verified numbers may log in with an SMS code.
    pub sms_login: bool,
    /// Logging in by phone (password or code) needs a verified number (`Error::PhoneNotVerified` otherwise).
    pub login_requires_verified_phone: bool,
    /// Unverified numbers may reset their password by SMS.
    pub reset_allows_unverified_phone: bool,
    /// Every code send needs a captcha `validate_token` (`Error::CaptchaRequired` otherwise).
    pub captcha_required: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            sms_login: true,
            login_requires_verified_phone: false,
            reset_allows_unverified_phone: false,
            captcha_required: false,
        }
    }
}

/// The longest session lifetime an app may set (ten years); `null` keeps sessions until revoked.
pub const MAX_SESSION_TTL_DAYS: u32 = 3650;
/// The largest value of any limit: far above any real rate, far below anything that overflows.
pub const MAX_LIMIT: u32 = 1_000_000;

impl AppSettings {
    /// Checks the settings (every number within its bounds) and brings test numbers to E.164.
    pub fn normalised(mut self) -> Result<Self> {
        // The session lifetime first, then the limits by name: the order the checks had by hand.
        validation::check(&self, &["session_ttl_days"])?;
        let mut numbers = BTreeMap::new();
        for (phone, code) in std::mem::take(&mut self.test_numbers) {
            let phone = Phone::parse(&phone)?;
            if code.len() != super::message::CODE_LEN || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::InvalidParameter(format!("test code for {phone} must be 6 digits")));
            }
            numbers.insert(phone.e164().to_string(), code);
        }
        self.test_numbers = numbers;
        Ok(self)
    }
}

/// The name an app's own provider goes by inside Phonebase: `<name>@<app id>`.
pub fn qualified_name(app_id: &str, name: &str) -> String {
    format!("{name}@{app_id}")
}

/// (name, app id) of a qualified name; `None` for a configured provider's name.
pub fn split_qualified(qualified: &str) -> Option<(&str, &str)> {
    qualified.split_once('@').filter(|(n, a)| !n.is_empty() && !a.is_empty())
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub name: String,
    pub app_key: String,
    pub master_key: String,
    pub settings: AppSettings,
    /// The app's keys in the other dialects.
    pub credentials: Credentials,
    /// The app's own providers, named `<name>@<app id>`, without their secrets (see
    /// `core::outbox::app_providers`); empty: the configured ones carry its messages.
    pub own_providers: Vec<crate::config::ProviderConfig>,
    pub created_at: NaiveDateTime,
}

impl App {
    /// The app with its credentials, read in one go.
    fn load(conn: &mut DbConn, row: AppRow) -> Result<Self> {
        let credentials = Credentials::from_rows(&store::credentials::of_app(conn, &row.id)?);
        let own_providers = store::app_providers::of_app(conn, &row.id)?
            .into_iter()
            .map(|p| {
                let mut config: crate::config::ProviderConfig = serde_json::from_str(&p.config)
                    .map_err(|e| Error::Internal(anyhow::anyhow!("app provider {} unreadable: {e}", p.name)))?;
                config.name = qualified_name(&row.id, &p.name);
                Ok(config)
            })
            .collect::<Result<_>>()?;
        Ok(App { credentials, own_providers, ..App::try_from(row)? })
    }
}

impl TryFrom<AppRow> for App {
    type Error = Error;
    /// The app without its credentials (empty).
    fn try_from(row: AppRow) -> Result<Self> {
        let settings = serde_json::from_str(&row.settings)
            .map_err(|e| Error::Internal(anyhow::anyhow!("app {} has unreadable settings: {e}", row.id)))?;
        Ok(App {
            id: row.id,
            name: row.name,
            app_key: row.app_key,
            master_key: row.master_key,
            settings,
            credentials: Credentials::default(),
            own_providers: Vec::new(),
            created_at: row.created_at,
        })
    }
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// What `create_app` hands out, and what a caller may pin (tests use the contract's vectors).
#[derive(Debug, Clone, Default)]
pub struct NewApp {
    pub name: String,
    pub id: Option<String>,
    pub app_key: Option<String>,
    pub master_key: Option<String>,
    pub settings: AppSettings,
}

impl Core {
    pub fn create_app(&self, new: NewApp) -> Result<App> {
        let mut conn = self.conn()?;
        self.create_app_in(&mut conn, new)
    }

    /// `create_app` inside a caller's transaction.
    pub fn create_app_in(&self, conn: &mut DbConn, new: NewApp) -> Result<App> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Error::InvalidParameter("app name must be 1 to 64 characters".into()));
        }
        // The app's name goes into texts (`name`), so it passes the same link detector.
        if crate::core::texts::links::has_link(name) {
            return Err(Error::InvalidParameter("an app name may not carry a link or an address".into()));
        }
        // Given ids and keys are an app's existing LeanCloud ones (shipped apps carry them).
        for (what, value) in [("appId", &new.id), ("appKey", &new.app_key), ("masterKey", &new.master_key)] {
            if let Some(v) = value
                && (v.is_empty()
                    || v.len() > 64
                    || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            {
                return Err(Error::InvalidParameter(format!("{what} must be 1 to 64 letters, digits, - or _")));
            }
        }
        if let Some(id) = &new.id
            && store::apps::find(conn, id)?.is_some()
        {
            return Err(Error::InvalidParameter(format!("an app with id {id} exists already")));
        }
        let settings = new.settings.normalised()?;
        let now = self.clock.now_naive();
        let row = AppRow {
            id: new.id.unwrap_or_else(|| random_token(24)),
            name: name.to_string(),
            app_key: new.app_key.unwrap_or_else(|| random_token(24)),
            master_key: new.master_key.unwrap_or_else(|| random_token(24)),
            settings: serde_json::to_string(&settings).map_err(|e| Error::Internal(e.into()))?,
            created_at: now,
            updated_at: now,
        };
        store::apps::insert(conn, &row)?;
        self.fill_credentials_in(conn, &row.id)?;
        App::load(conn, row)
    }

    pub fn list_apps(&self) -> Result<Vec<App>> {
        let mut conn = self.conn()?;
        store::apps::list(&mut conn)?.into_iter().map(|row| App::load(&mut conn, row)).collect()
    }

    /// The app if this instance has it in memory: no database call, so async code may use it.
    pub fn cached_app(&self, id: &str) -> Option<Arc<App>> {
        self.app_cache.get(id)
    }

    /// The app by id, through a short-lived per-instance cache: every request needs it.
    pub fn app(&self, id: &str) -> Result<Arc<App>> {
        if let Some(app) = self.app_cache.get(id) {
            return Ok(app);
        }
        let mut conn = self.conn()?;
        let row = store::apps::find(&mut conn, id)?.ok_or(Error::UnknownApp)?;
        let app = Arc::new(App::load(&mut conn, row)?);
        self.app_cache.put(app.clone());
        Ok(app)
    }

    /// Merges a JSON patch into the app's settings (objects merge, other values replace).
    pub fn update_app_settings(&self, id: &str, patch: serde_json::Value) -> Result<App> {
        let mut conn = self.conn()?;
        let app = store::write_tx(&mut conn, |conn| {
            let row = store::apps::find(conn, id)?.ok_or(Error::UnknownApp)?;
            let mut current: serde_json::Value =
                serde_json::to_value(App::try_from(row)?.settings).map_err(|e| Error::Internal(e.into()))?;
            merge(&mut current, patch);
            let settings: AppSettings = serde_json::from_value(current)
                .map_err(|e| Error::InvalidParameter(format!("invalid settings: {e}")))?;
            let settings = settings.normalised()?;
            let text = serde_json::to_string(&settings).map_err(|e| Error::Internal(e.into()))?;
            store::apps::update_settings(conn, id, &text, self.clock.now_naive())?;
            let row = store::apps::find(conn, id)?.ok_or(Error::UnknownApp)?;
            App::load(conn, row)
        })?;
        self.app_cache.remove(id);
        Ok(app)
    }
}

fn merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (t, p) => *t = p,
    }
}

/// Apps change rarely and are read on every request: keep them for a few seconds per instance.
/// A change made on this instance is visible at once; one made on another after `ttl`.
pub(crate) struct AppCache {
    ttl: std::time::Duration,
    entries: std::sync::RwLock<std::collections::HashMap<String, (std::time::Instant, Arc<App>)>>,
    /// (dialect, credential name, value) → app id. Believed only while the app still holds the
    /// value (`Core::app_by_credential` checks), so it needs no invalidation of its own.
    by_credential: std::sync::RwLock<std::collections::HashMap<(Dialect, &'static str, String), String>>,
}

impl AppCache {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self { ttl, entries: Default::default(), by_credential: Default::default() }
    }

    fn get(&self, id: &str) -> Option<Arc<App>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(id).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, app)| app.clone())
    }

    fn put(&self, app: Arc<App>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() > 10_000 {
            entries.clear();
        }
        entries.insert(app.id.clone(), (std::time::Instant::now(), app));
    }

    pub(crate) fn credential(&self, dialect: Dialect, name: &'static str, value: &str) -> Option<String> {
        let map = self.by_credential.read().unwrap_or_else(|e| e.into_inner());
        map.get(&(dialect, name, value.to_string())).cloned()
    }

    pub(crate) fn put_credential(&self, dialect: Dialect, name: &'static str, value: &str, app_id: &str) {
        let mut map = self.by_credential.write().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert((dialect, name, value.to_string()), app_id.to_string());
    }

    pub(crate) fn remove(&self, id: &str) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

// Each dialect's keys (`credentials`): kept, generated, found and rotated here, with the app.

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

impl Core {
    /// Writes every missing credential of every dialect for `app_id`, randomly generated (in the
    /// caller's transaction).
    pub(crate) fn fill_credentials_in(&self, conn: &mut DbConn, app_id: &str) -> Result<()> {
        let now = self.clock.now_naive();
        let have = store::credentials::of_app(conn, app_id)?;
        for dialect in Dialect::ALL {
            for &(name, shape) in dialect.names() {
                if have.iter().any(|r| r.dialect == dialect.as_str() && r.name == name) {
                    continue;
                }
                let row = CredentialRow {
                    app_id: app_id.to_string(),
                    dialect: dialect.as_str().into(),
                    name: name.into(),
                    value: generate(shape),
                    created_at: now,
                    updated_at: now,
                };
                store::credentials::put(conn, &row)?;
            }
        }
        Ok(())
    }

    /// Gives every app that predates a dialect its keys (at startup; idempotent, and safe when
    /// several instances start at once: each app is filled in one write transaction).
    pub(crate) fn fill_missing_credentials(&self) -> Result<()> {
        let mut conn = self.conn()?;
        for dialect in Dialect::ALL {
            let names: Vec<&str> = dialect.names().iter().map(|(n, _)| *n).collect();
            for app_id in store::credentials::apps_missing(&mut conn, dialect.as_str(), &names)? {
                store::write_tx(&mut conn, |conn| self.fill_credentials_in(conn, &app_id))?;
            }
        }
        Ok(())
    }

    /// The app a dialect's identifying key names (Bmob `application_id` or `secret_key`, JPush
    /// `app_key`, MinCloud `client_id`), through the app cache. `Error::UnknownApp` when none does.
    pub fn app_by_credential(&self, dialect: Dialect, name: &str, value: &str) -> Result<Arc<App>> {
        let name: &'static str =
            dialect.names().iter().map(|&(n, _)| n).find(|&n| n == name && dialect.identifies(n)).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("{} {name} does not identify an app", dialect.as_str()))
            })?;
        // A cached mapping is believed only while the app still holds that value (a rotation on
        // another instance reaches this one with the app's own cache entry).
        if let Some(app_id) = self.app_cache.credential(dialect, name, value)
            && let Ok(app) = self.app(&app_id)
            && app.credentials.get(dialect, name) == value
        {
            return Ok(app);
        }
        let mut conn = self.conn()?;
        let app_id = store::credentials::app_of(&mut conn, dialect.as_str(), name, value)?.ok_or(Error::UnknownApp)?;
        drop(conn);
        let app = self.app(&app_id)?;
        self.app_cache.put_credential(dialect, name, value, &app.id);
        Ok(app)
    }

    /// Sets an app's credential to a given value (an app moving in keeps its vendor keys), or to a
    /// new random one when `value` is `None` (rotation). The old value stops working at once on
    /// this instance and within the app cache's lifetime on others.
    pub fn set_credential(&self, app_id: &str, dialect: Dialect, name: &str, value: Option<&str>) -> Result<App> {
        let &(name, shape) = dialect
            .names()
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::InvalidParameter(format!("{} has no credential {name}", dialect.as_str())))?;
        let value = match value {
            Some(v) => {
                check_given(dialect, name, v)?;
                v.to_string()
            }
            None => generate(shape),
        };
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        let result = store::write_tx(&mut conn, |conn| -> Result<()> {
            store::apps::find(conn, app_id)?.ok_or(Error::UnknownApp)?;
            let row = CredentialRow {
                app_id: app_id.into(),
                dialect: dialect.as_str().into(),
                name: name.into(),
                value,
                created_at: now,
                updated_at: now,
            };
            store::credentials::put(conn, &row).map_err(|e| {
                if is_unique_violation(&e) {
                    Error::InvalidParameter(format!("another app has this {} {name}", dialect.as_str()))
                } else {
                    e.into()
                }
            })
        });
        self.app_cache.remove(app_id);
        result?;
        drop(conn);
        Ok((*self.app(app_id)?).clone())
    }

    /// New random values for every credential of `dialect` (after a leak).
    pub fn rotate_credentials(&self, app_id: &str, dialect: Dialect) -> Result<App> {
        for &(name, _) in dialect.names() {
            self.set_credential(app_id, dialect, name, None)?;
        }
        Ok((*self.app(app_id)?).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(settings: AppSettings) -> String {
        match settings.normalised() {
            Err(Error::InvalidParameter(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    /// The exact texts callers get (the console, `phonebase app update`), and which one wins when
    /// several values are out of bounds: the session lifetime, then the limits by name.
    #[test]
    fn bounds_and_their_messages() {
        assert!(AppSettings::default().normalised().is_ok());
        let edge = AppSettings {
            session_ttl_days: Some(MAX_SESSION_TTL_DAYS),
            limits: Limits { phone_per_day: MAX_LIMIT, ..Limits::default() },
            ..AppSettings::default()
        };
        assert!(edge.normalised().is_ok());
        let ttl = "session_ttl_days must be 1 to 3650 (days), or null for sessions that last until revoked";
        for days in [0, 3651, u32::MAX] {
            assert_eq!(refused(AppSettings { session_ttl_days: Some(days), ..AppSettings::default() }), ttl);
        }
        let limits = Limits { ip_per_hour: MAX_LIMIT + 1, phone_per_day: u32::MAX, ..Limits::default() };
        assert_eq!(
            refused(AppSettings { limits: limits.clone(), ..AppSettings::default() }),
            "limits.ip_per_hour must be 0 (off) to 1000000"
        );
        assert_eq!(refused(AppSettings { limits, session_ttl_days: Some(0), ..AppSettings::default() }), ttl);
        let captcha =
            Limits { captcha_ip_per_day: MAX_LIMIT + 1, phone_per_minute: MAX_LIMIT + 1, ..Limits::default() };
        assert_eq!(
            refused(AppSettings { limits: captcha, ..AppSettings::default() }),
            "limits.captcha_ip_per_day must be 0 (off) to 1000000"
        );
    }
}
