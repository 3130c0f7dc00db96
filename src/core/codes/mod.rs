//! Verification codes: issue (limits, code, outbox message in one transaction) and verify
//! (attempt-limited, single use, constant-time).

pub mod captcha;

pub use crate::core::message::{CODE_LEN, Channel, Origin, Purpose};
use std::collections::BTreeMap;

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;

use super::apps::{App, Limits};
use super::phone::Phone;
use super::secrets::ct_eq;
use super::texts::{Language, TextVars, Texts};
use super::{Core, Error, Result};
use crate::core::outbox::queue::Outgoing;
use crate::core::outbox::routing;
use crate::core::texts::templates::{self, BuiltIns, Category, Placement};
use crate::store::sends::SendKey;
use crate::store::{self, DbConn};

/// Wrong guesses a code survives; the next one kills it.
pub const MAX_ATTEMPTS: i32 = 5;
pub const DEFAULT_TTL_MINUTES: i64 = 10;
pub const CHANGE_PHONE_TTL_MINUTES: i64 = 6;
pub const MAX_TTL_MINUTES: i64 = 30;
/// Longest TTL a caller may give in seconds (JPush `ttl`).
pub const MAX_TTL_SECONDS: i64 = 86_400;
/// Lengths of a code the caller supplies (JPush voice codes).
pub const SUPPLIED_CODE_LEN: std::ops::RangeInclusive<usize> = 4..=8;
/// The purpose stored with a test number's code: nothing but its message handle finds it.
const TEST_PURPOSE: &str = "test";
/// Longest `name` / `op` that may go into a text (they are billed per character).
const MAX_VAR_CHARS: usize = 32;
const REDACTED_CODE: &str = "******";

#[derive(Debug, Clone)]
pub struct CodeRequest {
    pub phone: Phone,
    pub purpose: Purpose,
    pub channel: Channel,
    /// Minutes (1 to `MAX_TTL_MINUTES`); the purpose's default when absent.
    pub ttl_minutes: Option<i64>,
    /// Seconds (1 to `MAX_TTL_SECONDS`, JPush `ttl`); wins over `ttl_minutes`. Texts show it in
    /// minutes, rounded up.
    pub ttl_seconds: Option<i64>,
    /// The code to send, when the caller chooses it (voice only, 4 to 8 digits, JPush
    /// `voice_codes`); otherwise a random 6-digit one.
    pub code: Option<String>,
    /// Shown in the text; the app's name when absent.
    pub name: Option<String>,
    /// The operation shown in the text.
    pub op: Option<String>,
    pub origin: Origin,
    /// The user a `ChangePhone` code is bound to.
    pub user_id: Option<String>,
    /// The app's own template and signature, if it chose them.
    pub custom: CustomText,
}

/// An app's own text for a code (LeanCloud `template` and `sign`).
#[derive(Debug, Clone, Default)]
pub struct CustomText {
    /// The name of an approved template.
    pub template: Option<String>,
    /// The handle of an approved template (JPush `temp_id`); wins over `template`.
    pub template_handle: Option<i64>,
    /// The name of an approved signature; without it, the template's own signature if any.
    pub sign: Option<String>,
    /// The handle of an approved signature (JPush `sign_id`); wins over `sign`.
    pub sign_handle: Option<i64>,
    /// Refuse a template that is not a verification template (`WrongTemplateCategory`), as JPush
    /// does; LeanCloud never checked.
    pub strict_category: bool,
    /// The request's template variables (reserved names are ignored).
    pub vars: BTreeMap<String, String>,
}

/// How the text of one message is made: a built-in text or an approved template, then the
/// signature.
struct Composer {
    channel: Channel,
    purpose: Purpose,
    language: Language,
    name: String,
    op: String,
    /// (name, body) of the app's template.
    template: Option<(String, String)>,
    app_name: String,
    vars: BTreeMap<String, String>,
    signature: Option<(String, Placement)>,
    /// The template asks for a captcha on every send, whatever the app's policy.
    captcha_required: bool,
}

impl Composer {
    fn compose(&self, texts: &Texts, code: &str, ttl: i64) -> Result<String> {
        let body = match &self.template {
            Some((_, body)) => templates::render(body, &BuiltIns { code, ttl, name: &self.app_name }, &self.vars)?,
            None => texts.render_code(
                self.channel,
                self.purpose,
                self.language,
                &TextVars { name: &self.name, op: &self.op, code, ttl },
            )?,
        };
        Ok(templates::sign(&body, self.signature.as_ref().map(|(s, p)| (s.as_str(), *p))))
    }

    /// The key of this text in provider template mappings.
    fn text_ref(&self) -> String {
        match &self.template {
            Some((name, _)) if self.channel == Channel::Voice => routing::voice_template_ref(name),
            Some((name, _)) => routing::template_ref(name),
            None => routing::builtin_ref(self.channel, self.purpose),
        }
    }

    /// The variables the text is rendered from, which providers that take registered templates
    /// get as parameters; `sign` is the signature's text.
    fn vars(&self, code: &str, ttl: i64) -> BTreeMap<String, String> {
        let mut vars = self.vars.clone();
        vars.insert("code".into(), code.into());
        vars.insert("ttl".into(), ttl.to_string());
        match &self.template {
            Some(_) => {
                vars.insert("name".into(), self.app_name.clone());
            }
            None => {
                vars.insert("name".into(), self.name.clone());
                vars.insert("op".into(), self.op.clone());
            }
        }
        if let Some((sign, _)) = &self.signature {
            vars.insert("sign".into(), sign.clone());
        }
        vars
    }
}

#[derive(Debug, Clone)]
pub struct IssuedCode {
    /// The outbox message; `None` for a test number (nothing is sent).
    pub message_id: Option<String>,
    /// The message's number (Bmob `smsId`, JPush `msg_id`): a test number gets one too, and
    /// `verify_code_by_message` / `message_status` know it.
    pub handle: i64,
    /// Billable parts (0 for a test number).
    pub parts: i32,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone)]
pub struct Verified {
    /// The user a `ChangePhone` code was bound to.
    pub user_id: Option<String>,
}

fn new_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Why a code that matched no live code is refused: `CodeUsed` or `CodeExpired` only when the
/// value matches one of the spent codes (each of which was just charged an attempt, so they too
/// answer at most `MAX_ATTEMPTS` guesses and cannot be searched), `InvalidCode` otherwise. A code
/// killed by wrong guesses is never among them: telling its value apart would be an oracle.
fn spent_verdict(spent: &[store::codes::Spent], expected: &[String]) -> Error {
    let mut verdict = Error::InvalidCode;
    for c in spent {
        // Every row is compared, so the time taken does not depend on which one matches.
        if expected.iter().fold(false, |found, e| ct_eq(&c.code_hash, e) | found) {
            verdict = if c.used_at.is_some() { Error::CodeUsed } else { Error::CodeExpired };
        }
    }
    verdict
}

fn is_supplied_code(code: &str) -> bool {
    SUPPLIED_CODE_LEN.contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

fn is_code_shaped(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| b.is_ascii_digit())
}

fn checked_var(label: &str, value: Option<String>) -> Result<Option<String>> {
    let Some(v) = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > MAX_VAR_CHARS {
        return Err(Error::InvalidParameter(format!("{label} is longer than {MAX_VAR_CHARS} characters")));
    }
    // 【】 is how carriers recognise a signature; a variable may not forge one.
    if v.contains(['【', '】']) || v.chars().any(char::is_control) {
        return Err(Error::InvalidParameter(format!("{label} may not contain 【】 or control characters")));
    }
    // A refused value is the same error as a refused template variable.
    if crate::core::texts::links::has_link(&v) {
        return Err(Error::TemplateRender(format!("{label} may not carry a link or an address")));
    }
    Ok(Some(v))
}

/// Refuses the send when any window is full. `recent` are the accepted sends of the last day,
/// newest first.
pub(crate) fn window_full(recent: &[NaiveDateTime], now: NaiveDateTime, windows: &[(u32, TimeDelta)]) -> bool {
    windows
        .iter()
        .any(|&(limit, width)| limit > 0 && recent.iter().filter(|&&t| t > now - width).count() >= limit as usize)
}

/// The locks and reads of a send's limits ([`Core::limit_plan`]).
struct LimitPlan {
    locks: Vec<String>,
    phone_reads: u32,
    ip_reads: u32,
}

/// One limit window: (most sends, width); a limit of 0 is off.
type Window = (u32, TimeDelta);

/// The windows of the phone's limits and of the address's.
fn limit_windows(limits: &Limits) -> ([Window; 3], [Window; 2]) {
    let Limits { phone_per_minute, phone_per_hour, phone_per_day, ip_per_hour, ip_per_day, .. } = *limits;
    (
        [
            (phone_per_minute, TimeDelta::minutes(1)),
            (phone_per_hour, TimeDelta::hours(1)),
            (phone_per_day, TimeDelta::days(1)),
        ],
        [(ip_per_hour, TimeDelta::hours(1)), (ip_per_day, TimeDelta::days(1))],
    )
}

/// The lock every send counted by `key` takes (the same on every path that counts sends).
fn limit_lock(app: &App, key: SendKey<'_>) -> String {
    match key {
        SendKey::Phone(phone) => format!("send:phone:{}:{phone}", app.id),
        SendKey::Ip(ip) => format!("send:ip:{}:{ip}", app.id),
    }
}

impl Core {
    /// Issues a code: checks the app's switches and the send limits, stores the code's keyed hash
    /// and the outbox message in one transaction, then wakes the delivery worker.
    pub fn send_code(&self, app: &App, req: CodeRequest) -> Result<IssuedCode> {
        let channel = req.channel;
        let result = self.issue_code(app, req);
        match &result {
            Ok(_) => self.metrics().codes_issued.with_label_values(&[channel.as_str()]).inc(),
            Err(e) => self.count_refusal(&app.id, e),
        }
        result
    }

    fn issue_code(&self, app: &App, req: CodeRequest) -> Result<IssuedCode> {
        let settings = &app.settings;
        if req.purpose == Purpose::Generic && !settings.sms_enabled {
            return Err(Error::SmsDisabled);
        }
        if !req.phone.is_domestic() {
            if req.channel == Channel::Voice {
                return Err(Error::VoiceDomesticOnly);
            }
            if !settings.international_sms {
                return Err(Error::InternationalDisabled);
            }
        }
        let ttl_secs = match (req.ttl_seconds, req.ttl_minutes) {
            (Some(secs), _) if !(1..=MAX_TTL_SECONDS).contains(&secs) => {
                return Err(Error::InvalidParameter(format!("ttl must be 1 to {MAX_TTL_SECONDS} seconds")));
            }
            (Some(secs), _) => secs,
            (None, Some(min)) if !(1..=MAX_TTL_MINUTES).contains(&min) => {
                return Err(Error::InvalidParameter(format!("ttl must be 1 to {MAX_TTL_MINUTES} minutes")));
            }
            (None, Some(min)) => min * 60,
            (None, None) => {
                60 * match req.purpose {
                    Purpose::ChangePhone => CHANGE_PHONE_TTL_MINUTES,
                    _ => DEFAULT_TTL_MINUTES,
                }
            }
        };
        // What the text says: minutes, rounded up.
        let ttl = (ttl_secs + 59) / 60;
        let supplied = match req.code.as_deref() {
            None => None,
            Some(c) if req.channel == Channel::Voice && is_supplied_code(c) => Some(c.to_string()),
            Some(_) => {
                return Err(Error::InvalidParameter("a code may be chosen for voice only, 4 to 8 digits".into()));
            }
        };
        let language = if req.phone.prefers_chinese() { Language::Chinese } else { Language::English };
        let name = checked_var("name", req.name.clone())?.unwrap_or_else(|| app.name.clone());
        let op = checked_var("op", req.op.clone())?.unwrap_or_else(|| Texts::default_op(language).to_string());
        let composer = self.composer(app, &req, language, name, op)?;
        // Rendering the redacted text first checks the template and its variables before anything
        // is counted or stored.
        let redacted = composer.compose(&self.texts, REDACTED_CODE, ttl)?;
        let phone = req.phone.e164();
        let test_code = settings.test_numbers.get(phone);

        let now = self.clock.now_naive();
        let expires_at = now + TimeDelta::seconds(ttl_secs);
        let mut conn = self.conn()?;
        let text_ref = composer.text_ref();
        if test_code.is_none() {
            // Nobody may be able to carry it (no provider for the country, no registered
            // template): refuse now rather than queue a message that can only fail.
            self.check_sendable(&mut conn, app, phone, req.channel, &text_ref, &composer.vars(REDACTED_CODE, ttl))?;
        }
        let ip = req.origin.client_ip.as_str();
        let limits = self.limit_plan(app, phone, ip);
        // A fresh code, checked for uniqueness in the same statement that reads the limits.
        let fresh = match (&supplied, test_code) {
            (None, None) => {
                let code = new_code();
                Some((self.value_hashes(app, req.purpose, &code), code))
            }
            _ => None,
        };
        // The limit locks come with the BEGIN; then one statement reads the windows, the code's
        // uniqueness and a handle, and one writes the send, the code and the message (PostgreSQL:
        // four round trips with the COMMIT).
        let issued = store::write_tx_locking(&mut conn, &limits.locks, |conn| -> Result<(Option<String>, i64, i32)> {
            // Spent in the send's transaction: a send refused later (limits) keeps its token.
            self.spend_validate_token(
                conn,
                app,
                req.origin.validate_token.as_deref(),
                settings.policy.captcha_required || composer.captcha_required,
                now,
            )?;
            let pre = store::sends::precheck(
                conn,
                &store::sends::Precheck {
                    app_id: &app.id,
                    phone,
                    ip,
                    since: now - TimeDelta::days(1),
                    phone_limit: limits.phone_reads,
                    ip_limit: limits.ip_reads,
                    value: fresh.as_ref().map(|(hashes, _)| (req.purpose.as_str(), hashes.as_slice())),
                    now,
                    counter: store::messages::HANDLES,
                },
            )?;
            self.check_windows(app, &pre.phone_recent, &pre.ip_recent, now)?;
            let handle = pre.handle;
            let send_id = uuid::Uuid::now_v7().to_string();
            if let Some(fixed) = test_code {
                store::sends::insert(conn, &send_id, &app.id, phone, ip, now)?;
                // Nothing is sent, but the handle finds the number's fixed code (single use per
                // handle, like any code found by its message). Its purpose and value hash keep it
                // out of every other lookup.
                store::codes::insert(
                    conn,
                    &store::codes::NewCode {
                        id: &uuid::Uuid::now_v7().to_string(),
                        app_id: &app.id,
                        phone,
                        purpose: TEST_PURPOSE,
                        code_hash: &self.keys.keyed_hash(&[&app.id, phone, fixed]),
                        value_hash: &uuid::Uuid::new_v4().to_string(),
                        user_id: req.user_id.as_deref(),
                        attempts: 0,
                        created_at: now,
                        expires_at,
                        origin_ip: Some(ip),
                        message_handle: Some(handle),
                    },
                )?;
                return Ok((None, handle, 0));
            }
            let (code, value_hash) = match (&supplied, &fresh) {
                // Never found by value (only 6-digit codes are): a value hash nobody can name.
                (Some(c), _) => (c.clone(), uuid::Uuid::new_v4().to_string()),
                (None, Some((_, code))) if !pre.value_taken => (code.clone(), self.value_hash(app, req.purpose, code)),
                (None, _) => self.unique_code(conn, app, req.purpose, now)?,
            };
            let text = composer.compose(&self.texts, &code, ttl)?;
            let vars = serde_json::to_string(&composer.vars(&code, ttl)).map_err(|e| Error::Internal(e.into()))?;
            let outgoing = Outgoing {
                handle,
                phone,
                channel: req.channel,
                purpose: req.purpose.as_str(),
                text: &text,
                redacted: &redacted,
                template: composer.template.as_ref().map(|(name, _)| name.as_str()),
                text_ref: &text_ref,
                vars_json: &vars,
                due_at: now,
                expires_at,
                send_at: None,
                now,
            };
            let sealed = self.seal_message(&outgoing);
            let written = store::sends::write_code_send(
                conn,
                &send_id,
                ip,
                &store::codes::NewCode {
                    id: &uuid::Uuid::now_v7().to_string(),
                    app_id: &app.id,
                    phone,
                    purpose: req.purpose.as_str(),
                    code_hash: &self.keys.keyed_hash(&[&app.id, phone, &code]),
                    value_hash: &value_hash,
                    user_id: req.user_id.as_deref(),
                    attempts: 0,
                    created_at: now,
                    expires_at,
                    origin_ip: Some(ip),
                    message_handle: Some(handle),
                },
                // What to take from the balance: the message records what was taken.
                &sealed.row(app, &outgoing, sealed.parts),
            )?;
            match written {
                // Rolled back by the error: nothing stays queued.
                store::sends::Written::Exhausted => Err(Error::BalanceExhausted),
                store::sends::Written::Queued => Ok((Some(sealed.id.clone()), handle, sealed.parts)),
            }
        })?;
        let (message_id, handle, parts) = issued;
        if message_id.is_some() {
            self.outbox_wakeup.notify_one();
        }
        Ok(IssuedCode { message_id, handle, parts, expires_at })
    }

    /// Resolves the app's template and signature for a send: an unknown template is refused
    /// (`TemplateNotFound`), an unapproved one too (`TemplateNotApproved`), and so is an unknown or
    /// unapproved signature (`InvalidSignature`).
    fn composer(&self, app: &App, req: &CodeRequest, language: Language, name: String, op: String) -> Result<Composer> {
        let custom = &req.custom;
        let template = match (custom.template_handle, custom.template.as_deref().filter(|t| !t.is_empty())) {
            (Some(handle), _) => Some(self.live_template_by_handle(&app.id, handle)?),
            (None, Some(t)) => Some(self.live_template(&app.id, t)?),
            (None, None) => None,
        };
        if custom.strict_category && template.as_ref().is_some_and(|t| t.category != Category::Verification) {
            return Err(Error::WrongTemplateCategory);
        }
        let sign_by_handle = match custom.sign_handle {
            Some(handle) => Some(self.live_signature_by_handle(&app.id, handle)?),
            None => None,
        };
        let sign = sign_by_handle
            .as_deref()
            .or(custom.sign.as_deref().filter(|s| !s.is_empty()))
            .or(template.as_ref().and_then(|t| t.signature.as_deref()));
        let signature = match sign {
            Some(s) => Some(self.live_signature(&app.id, s)?),
            None => None,
        };
        Ok(Composer {
            channel: req.channel,
            purpose: req.purpose,
            language,
            name,
            op,
            vars: if template.is_some() { templates::request_vars(custom.vars.clone())? } else { BTreeMap::new() },
            captcha_required: template.as_ref().is_some_and(|t| t.captcha_required),
            template: template.map(|t| (t.name, t.body)),
            app_name: app.name.clone(),
            signature,
        })
    }

    /// The locks a send takes (phone before address, always: two transactions never wait on each
    /// other in a circle) and how many of each key's latest sends it must read. A key whose limits
    /// are all off takes no lock and reads nothing: one busy address (a carrier's NAT, a load
    /// test) must not serialise every send when nobody counts it.
    fn limit_plan(&self, app: &App, phone: &str, ip: &str) -> LimitPlan {
        let (phone_windows, ip_windows) = limit_windows(&app.settings.limits);
        let largest = |windows: &[(u32, TimeDelta)]| windows.iter().map(|&(limit, _)| limit).max().unwrap_or(0);
        let (phone_reads, ip_reads) = (largest(&phone_windows), largest(&ip_windows));
        let mut locks = Vec::new();
        if phone_reads > 0 {
            locks.push(limit_lock(app, SendKey::Phone(phone)));
        }
        if ip_reads > 0 {
            locks.push(limit_lock(app, SendKey::Ip(ip)));
        }
        LimitPlan { locks, phone_reads, ip_reads }
    }

    /// Refuses a send whose phone's or address's windows are full, given their latest accepted
    /// sends (newest first), read under the locks of [`Self::limit_plan`].
    fn check_windows(
        &self,
        app: &App,
        phone_recent: &[NaiveDateTime],
        ip_recent: &[NaiveDateTime],
        now: NaiveDateTime,
    ) -> Result<()> {
        let (phone_windows, ip_windows) = limit_windows(&app.settings.limits);
        if window_full(phone_recent, now, &phone_windows) {
            return Err(Error::TooFrequentForPhone);
        }
        if window_full(ip_recent, now, &ip_windows) {
            return Err(Error::TooFrequentForIp);
        }
        Ok(())
    }

    /// Counts and locks in one transaction: on PostgreSQL the advisory locks make concurrent sends
    /// to one number (or from one address) wait for each other, on SQLite `BEGIN IMMEDIATE` does.
    /// Phone before address, always, so two transactions never wait on each other in a circle.
    pub(super) fn check_limits(
        &self,
        conn: &mut DbConn,
        app: &App,
        phone: &str,
        ip: &str,
        now: NaiveDateTime,
    ) -> Result<()> {
        let (phone_windows, ip_windows) = limit_windows(&app.settings.limits);
        if self.key_over_limit(conn, app, SendKey::Phone(phone), &phone_windows, now)? {
            return Err(Error::TooFrequentForPhone);
        }
        if self.key_over_limit(conn, app, SendKey::Ip(ip), &ip_windows, now)? {
            return Err(Error::TooFrequentForIp);
        }
        Ok(())
    }

    /// Locks `key` for the rest of the transaction and tells whether any of its windows is full.
    /// A key whose limits are all off takes no lock: one busy address (a carrier's NAT, a load
    /// test) must not serialise every send when nobody counts it.
    fn key_over_limit(
        &self,
        conn: &mut DbConn,
        app: &App,
        key: SendKey<'_>,
        windows: &[(u32, TimeDelta)],
        now: NaiveDateTime,
    ) -> Result<bool> {
        let Some(largest) = windows.iter().map(|&(limit, _)| limit).max().filter(|&l| l > 0) else {
            return Ok(false);
        };
        store::lock_key(conn, &limit_lock(app, key))?;
        let recent = store::sends::recent(conn, &app.id, key, now - TimeDelta::days(1), largest)?;
        Ok(window_full(&recent, now, windows))
    }

    /// A fresh code that no live code of the same app and purpose has, so that the calls which
    /// send a code without its phone number (JS `verifyMobilePhone`, `resetPasswordBySmsCode`)
    /// find exactly one.
    fn unique_code(
        &self,
        conn: &mut DbConn,
        app: &App,
        purpose: Purpose,
        now: NaiveDateTime,
    ) -> Result<(String, String)> {
        for _ in 0..8 {
            let code = new_code();
            // Unique among live codes hashed under any secret still accepted (rotation).
            let mut taken = false;
            for hash in self.value_hashes(app, purpose, &code) {
                taken = taken || store::codes::value_is_live(conn, &app.id, purpose.as_str(), &hash, now)?;
            }
            if !taken {
                return Ok((code.clone(), self.value_hash(app, purpose, &code)));
            }
        }
        Err(Error::Busy)
    }

    pub(crate) fn value_hash(&self, app: &App, purpose: Purpose, code: &str) -> String {
        self.keys.keyed_hash(&["value", &app.id, purpose.as_str(), code])
    }

    /// The value hash under the current secret and each previous one: what a live code issued
    /// before a rotation is stored as.
    pub(crate) fn value_hashes(&self, app: &App, purpose: Purpose, code: &str) -> Vec<String> {
        self.keys.keyed_hashes(&["value", &app.id, purpose.as_str(), code])
    }

    /// Checks `code` against the live codes of `phone` with one of `purposes`. Every call charges
    /// one attempt to each live code (a code dies after `MAX_ATTEMPTS`), and a match is consumed
    /// by a conditional update, so of any number of concurrent correct guesses exactly one wins.
    pub fn verify_code(&self, app: &App, phone: &Phone, code: &str, purposes: &[Purpose]) -> Result<Verified> {
        let result = self.check_code(app, phone, code, purposes);
        self.count_check(&result);
        result
    }

    fn count_check(&self, result: &Result<Verified>) {
        let outcome = match result {
            Ok(_) => "verified",
            Err(Error::CodeExpired) => "expired",
            Err(Error::CodeUsed) => "used",
            Err(Error::TooManyGuesses) => "throttled",
            Err(_) => "wrong",
        };
        self.metrics().code_checks.with_label_values(&[outcome]).inc();
    }

    fn check_code(&self, app: &App, phone: &Phone, code: &str, purposes: &[Purpose]) -> Result<Verified> {
        let code = code.trim();
        if !is_code_shaped(code) {
            return Err(Error::InvalidCode);
        }
        if let Some(fixed) = app.settings.test_numbers.get(phone.e164()) {
            return if ct_eq(fixed, code) { Ok(Verified { user_id: None }) } else { Err(Error::InvalidCode) };
        }
        // Under the current secret and any previous one still accepted (rotation).
        let expected = self.keys.keyed_hashes(&[&app.id, phone.e164(), code]);
        let purposes: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        // The closure returns Ok even for a wrong code: the charged attempt must commit. Each
        // statement stands alone (the charge re-checks the attempt bound under the row lock, the
        // consumption is conditional), so on PostgreSQL they need no transaction around them.
        store::write_each(&mut conn, |conn| -> Result<Result<Verified>> {
            // The charge and the consumption of the newest matching code are one statement.
            let candidates =
                store::codes::charge_and_consume(conn, &app.id, phone.e164(), &purposes, &expected, now, MAX_ATTEMPTS)?;
            let mut matched = None;
            for c in candidates {
                // Look at every candidate, so the time taken does not depend on which one matches.
                if expected.iter().fold(false, |found, e| ct_eq(&c.code_hash, e) | found) {
                    // The consumed one wins over any other match (a code of another purpose).
                    if c.consumed || matched.as_ref().is_none_or(|m: &store::codes::Checked| !m.consumed) {
                        matched = Some(c);
                    }
                }
            }
            match matched {
                Some(c) if c.consumed => {
                    // The consumption marked the code's message verified (the dashboard's conversion).
                    Ok(Ok(Verified { user_id: c.user_id }))
                }
                // It matched, but a concurrent check marked it used first.
                Some(_) => Ok(Err(Error::CodeUsed)),
                None => {
                    let spent = store::codes::charge_spent(conn, &app.id, phone.e164(), &purposes, now, MAX_ATTEMPTS)?;
                    Ok(Err(spent_verdict(&spent, &expected)))
                }
            }
        })?
    }
}

impl Core {
    /// Checks `code` against the code message `handle` carried (JPush `/v1/codes/{msg_id}/valid`):
    /// `UnknownMessage` when the app has no such message or it carried no code, else the same
    /// attempt bound, single use and answers as [`Core::verify_code`]. A caller-chosen code of 4
    /// to 8 digits is accepted here. A `ChangePhone` code is bound to its user and never found
    /// this way.
    pub fn verify_code_by_message(&self, app: &App, handle: i64, code: &str) -> Result<Verified> {
        let result = self.check_code_by_message(app, handle, code);
        self.count_check(&result);
        result
    }

    fn check_code_by_message(&self, app: &App, handle: i64, code: &str) -> Result<Verified> {
        let code = code.trim();
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        let row = store::codes::find_by_message(&mut conn, &app.id, handle)?
            .filter(|c| c.purpose != Purpose::ChangePhone.as_str())
            .ok_or(Error::UnknownMessage)?;
        if !is_supplied_code(code) {
            return Err(Error::InvalidCode);
        }
        // Under the current secret and any previous one still accepted (rotation).
        let expected = self.keys.keyed_hashes(&[&app.id, &row.phone, code]);
        // The closure returns Ok even for a wrong code: the charged attempt must commit. Each
        // statement stands alone, as in `check_code`.
        store::write_each(&mut conn, |conn| -> Result<Result<Verified>> {
            if let Some(hash) = store::codes::charge_one(conn, &row.id, now, MAX_ATTEMPTS)? {
                if !expected.iter().fold(false, |found, e| ct_eq(&hash, e) | found) {
                    return Ok(Err(Error::InvalidCode));
                }
                return Ok(if store::codes::consume(conn, &row.id, now)? {
                    Ok(Verified { user_id: row.user_id.clone() })
                } else {
                    Err(Error::CodeUsed)
                });
            }
            let spent = store::codes::charge_one_spent(conn, &row.id, now, MAX_ATTEMPTS)?;
            Ok(Err(spent_verdict(spent.as_slice(), &expected)))
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200).map(|_| new_code()).collect();
        assert!(codes.iter().all(|c| is_code_shaped(c)));
        assert!(codes.len() > 190);
    }

    #[test]
    fn windows() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc();
        let recent = vec![now - TimeDelta::seconds(30), now - TimeDelta::minutes(30)];
        assert!(window_full(&recent, now, &[(1, TimeDelta::minutes(1))]));
        assert!(!window_full(&recent, now + TimeDelta::seconds(31), &[(1, TimeDelta::minutes(1))]));
        assert!(window_full(&recent, now, &[(2, TimeDelta::hours(1))]));
        assert!(!window_full(&recent, now, &[(0, TimeDelta::hours(1))]), "0 switches a limit off");
    }

    #[test]
    fn variables_are_checked() {
        assert_eq!(checked_var("op", Some("  ".into())).unwrap(), None);
        assert!(checked_var("name", Some("【假冒】".into())).is_err());
        assert!(checked_var("name", Some("x".repeat(33))).is_err());
        assert_eq!(checked_var("op", Some(" 登录 ".into())).unwrap().as_deref(), Some("登录"));
        assert!(matches!(checked_var("name", Some("www.phish-pay.com".into())), Err(Error::TemplateRender(_))));
        assert!(matches!(checked_var("op", Some("45.77.10.2/app".into())), Err(Error::TemplateRender(_))));
    }
}
