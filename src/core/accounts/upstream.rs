//! Lazy migration from a live LeanCloud app: until a date the operator sets, a user, phone or
//! session token this app does not know is looked up in the app's LeanCloud upstream and, if it
//! is there, moved in (same objectId, fields and flags) before the request goes on. Users who have
//! not updated their app keep using LeanCloud meanwhile, so nobody is left behind or doubled.
//!
//! The rules live here; the wire lives behind [`UpstreamClient`] (implemented in
//! `crate::upstream` over HTTP). What crosses the trait is plain data: who to ask, what to ask,
//! and a user as LeanCloud returns it, which is the shape of an export record, mapped by the same
//! code as `phonebase import leancloud` ([`crate::core::accounts::import`]).
//!
//! Bounds, all here so that every client gets them: a per-app cap on calls in flight and a
//! per-app circuit breaker (the client adds its timeout); upstream failures give the ordinary
//! local answer and are only logged (never with a key, password or token) and counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::core::accounts::import::ExportedUser;
use crate::core::accounts::sessions::Session;
use crate::core::accounts::users::{LoginId, PasswordChange};
use crate::core::apps::App;
use crate::core::phone::Phone;
use crate::core::{Core, Error, Result};
use crate::store::imports::ImportedUserRow;
use crate::store::upstreams::{MOVED_RUN_ID, UpstreamRow};
use crate::store::users::{UserKey, UserRow};
use crate::store::{self, DbConn};

/// A user as the upstream returns it: its objectId, and the user mapped to core's words (as an
/// export record is: the upstream client maps it with the import's adapter) or why it cannot be.
#[derive(Debug, Clone)]
pub struct Record {
    pub object_id: String,
    pub user: std::result::Result<ExportedUser, String>,
}

/// Who to ask: the upstream app and its keys (opened from their sealed form for the call).
#[derive(Clone)]
pub struct Target {
    /// Base URL without a trailing slash, e.g. `https://abc.lc-cn-n1-shared.com`.
    pub server_url: String,
    pub app_id: String,
    pub app_key: String,
    pub master_key: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("server_url", &self.server_url).field("app_id", &self.app_id).finish()
    }
}

/// Whom to look up.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Username(&'a str),
    Email(&'a str),
    Phone(&'a Phone),
}

/// The upstream's answer to a password login.
#[derive(Debug, Clone)]
pub enum LoginAnswer {
    User(Box<Record>),
    /// Wrong password, or the account is locked upstream.
    WrongPassword,
    NotFound,
}

/// The upstream could not be asked or gave no usable answer; the text is for logs and carries
/// no key, password or token.
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

/// The upstream's API, as the rules need it. Calls block the calling (blocking-pool) thread for
/// at most the client's timeout.
pub trait UpstreamClient: Send + Sync + std::fmt::Debug {
    /// `POST /1.1/login` with the user's own credentials.
    fn log_in(&self, target: &Target, id: Lookup<'_>, password: &str) -> Result<LoginAnswer, Unavailable>;
    /// The user holding an identifier, asked with the master key.
    fn find_user(&self, target: &Target, lookup: Lookup<'_>) -> Result<Option<Record>, Unavailable>;
    /// `GET /1.1/users/me` with the token; `None` when the upstream does not know it.
    fn current_user(&self, target: &Target, token: &str) -> Result<Option<Record>, Unavailable>;
}

/// Bounds on calls to one app's upstream.
#[derive(Debug, Clone)]
pub struct UpstreamBounds {
    /// Calls in flight per app; more are not made (the local answer is given at once).
    pub concurrency: usize,
    /// Consecutive failures (timeouts, errors) that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker lets no call through; then one probe goes.
    pub breaker_cooldown: Duration,
}

impl Default for UpstreamBounds {
    fn default() -> Self {
        Self { concurrency: 4, breaker_failures: 5, breaker_cooldown: Duration::from_secs(30) }
    }
}

/// Upstream calls by outcome, since start (per instance), for metrics.
#[derive(Debug, Default)]
pub struct UpstreamStats {
    /// Answered with a user.
    pub found: AtomicU64,
    /// Answered: nobody, or not that token.
    pub not_found: AtomicU64,
    /// Answered: wrong password (or locked there).
    pub wrong_password: AtomicU64,
    /// Timed out, unreachable, or an answer that could not be used.
    pub failed: AtomicU64,
    /// Not made: the breaker was open.
    pub breaker_open: AtomicU64,
    /// Not made: the app's calls in flight were at the cap.
    pub busy: AtomicU64,
    /// Users moved in.
    pub moved: AtomicU64,
}

/// A snapshot of [`UpstreamStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpstreamCounts {
    pub found: u64,
    pub not_found: u64,
    pub wrong_password: u64,
    pub failed: u64,
    pub breaker_open: u64,
    pub busy: u64,
    pub moved: u64,
}

impl UpstreamStats {
    pub fn snapshot(&self) -> UpstreamCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        UpstreamCounts {
            found: get(&self.found),
            not_found: get(&self.not_found),
            wrong_password: get(&self.wrong_password),
            failed: get(&self.failed),
            breaker_open: get(&self.breaker_open),
            busy: get(&self.busy),
            moved: get(&self.moved),
        }
    }

    /// Calls actually made.
    pub fn calls(&self) -> u64 {
        let c = self.snapshot();
        c.found + c.not_found + c.wrong_password + c.failed
    }
}

#[derive(Debug, Default)]
struct Breaker {
    in_flight: usize,
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

enum Admission {
    Go,
    Open,
    Busy,
}

/// The per-app cap and circuit breaker, per instance.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    bounds: UpstreamBounds,
    apps: Mutex<HashMap<String, Breaker>>,
}

impl Guard {
    pub(crate) fn new(bounds: UpstreamBounds) -> Self {
        Self { bounds, apps: Default::default() }
    }

    fn admit(&self, app_id: &str, now: Instant) -> Admission {
        let mut apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        let b = apps.entry(app_id.to_string()).or_default();
        let mut probe = false;
        if let Some(until) = b.open_until {
            if now < until || b.probing {
                return Admission::Open;
            }
            probe = true;
        }
        if b.in_flight >= self.bounds.concurrency.max(1) {
            return Admission::Busy;
        }
        b.probing = probe;
        b.in_flight += 1;
        Admission::Go
    }

    fn done(&self, app_id: &str, failed: bool, now: Instant) {
        let mut apps = self.apps.lock().unwrap_or_else(|e| e.into_inner());
        let b = apps.entry(app_id.to_string()).or_default();
        b.in_flight = b.in_flight.saturating_sub(1);
        b.probing = false;
        if failed {
            b.failures = b.failures.saturating_add(1);
            if b.failures >= self.bounds.breaker_failures.max(1) {
                b.open_until = Some(now + self.bounds.breaker_cooldown);
            }
        } else {
            b.failures = 0;
            b.open_until = None;
        }
    }
}

/// What the core holds for lazy migration: the client, its bounds, counters and a short cache of
/// which apps have an upstream.
pub(crate) struct Upstream {
    client: Option<Arc<dyn UpstreamClient>>,
    guard: Guard,
    stats: UpstreamStats,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, CachedUpstream>>,
}

/// An app's upstream as last read (or that it has none), and when.
type CachedUpstream = (Instant, Option<Arc<Active>>);

impl Upstream {
    pub(crate) fn new(client: Option<Arc<dyn UpstreamClient>>, bounds: UpstreamBounds, cache_ttl: Duration) -> Self {
        Self { client, guard: Guard::new(bounds), stats: Default::default(), cache_ttl, cache: Default::default() }
    }
}

/// An app's upstream, opened.
#[derive(Debug)]
struct Active {
    target: Target,
    until: NaiveDateTime,
}

/// What an operator gives to switch lazy migration on.
#[derive(Clone)]
pub struct NewUpstream {
    pub server_url: String,
    pub app_id: String,
    pub app_key: String,
    pub master_key: String,
    /// Nothing is asked from this moment on (UTC).
    pub until: NaiveDateTime,
}

/// What is shown of an app's upstream: never its keys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpstreamStatus {
    #[serde(rename = "serverURL")]
    pub server_url: String,
    #[serde(rename = "appId")]
    pub app_id: String,
    /// ISO 8601, UTC.
    pub until: String,
    /// Asked now (until has not passed).
    pub active: bool,
    #[serde(rename = "movedUsers")]
    pub moved_users: i64,
}

/// How a user came over, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// A password login the upstream accepted.
    Password,
    /// Looked up with the master key (an unknown identifier or phone).
    Lookup,
    /// A session token the upstream knew.
    Session,
}

impl Path {
    fn as_str(self) -> &'static str {
        match self {
            Path::Password => "password",
            Path::Lookup => "lookup",
            Path::Session => "session",
        }
    }
}

const MAX_KEY_CHARS: usize = 128;

fn checked_key(what: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_KEY_CHARS || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::InvalidParameter(format!(
            "upstream {what} must be 1 to {MAX_KEY_CHARS} printable characters"
        )));
    }
    Ok(value.to_string())
}

fn checked_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split('/').next().unwrap_or_default()).unwrap_or_default();
    if host.is_empty()
        || host.contains('@')
        || url.len() > 512
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::InvalidParameter(
            "upstream serverURL must be an http(s) URL such as https://abc.lc-cn-n1-shared.com".into(),
        ));
    }
    Ok(url.to_string())
}

/// `--upstream-until`: a date (`YYYY-MM-DD`, its start in UTC) or an RFC 3339 time.
pub fn parse_until(text: &str) -> Result<NaiveDateTime> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .map_err(|_| Error::InvalidParameter(format!("{text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time")))
}

fn iso(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Core {
    /// Switches lazy migration on (or replaces its settings) for an app; `None` switches it off
    /// and forgets the keys. The keys are sealed with the server secret.
    pub fn set_upstream(&self, app_id: &str, upstream: Option<NewUpstream>) -> Result<Option<UpstreamStatus>> {
        let row = upstream
            .map(|u| -> Result<UpstreamRow> {
                Ok(UpstreamRow {
                    app_id: app_id.to_string(),
                    server_url: checked_url(&u.server_url)?,
                    upstream_app_id: checked_key("appId", &u.app_id)?,
                    app_key_sealed: self.keys.seal(&checked_key("appKey", &u.app_key)?),
                    master_key_sealed: self.keys.seal(&checked_key("masterKey", &u.master_key)?),
                    until_at: u.until,
                    updated_at: self.clock.now_naive(),
                })
            })
            .transpose()?;
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            store::apps::find(conn, app_id)?.ok_or(Error::UnknownApp)?;
            match &row {
                Some(row) => store::upstreams::put(conn, row)?,
                None => {
                    store::upstreams::remove(conn, app_id)?;
                }
            }
            Ok(())
        })?;
        self.upstream.cache.lock().unwrap_or_else(|e| e.into_inner()).remove(app_id);
        // A new upstream starts with a closed breaker.
        self.upstream.guard.apps.lock().unwrap_or_else(|e| e.into_inner()).remove(app_id);
        drop(conn);
        self.upstream_status(app_id)
    }

    /// The app's upstream as it may be shown (no keys), if one is set.
    pub fn upstream_status(&self, app_id: &str) -> Result<Option<UpstreamStatus>> {
        let mut conn = self.conn()?;
        let Some(row) = store::upstreams::find(&mut conn, app_id)? else { return Ok(None) };
        Ok(Some(UpstreamStatus {
            server_url: row.server_url,
            app_id: row.upstream_app_id,
            until: iso(row.until_at),
            active: self.clock.now_naive() < row.until_at,
            moved_users: store::upstreams::moved_count(&mut conn, app_id)?,
        }))
    }

    /// Upstream calls by outcome since this instance started.
    pub fn upstream_stats(&self) -> &UpstreamStats {
        &self.upstream.stats
    }

    /// The app's upstream if it is to be asked now: set, before its date, and a client exists.
    fn active_upstream(&self, app: &App) -> Result<Option<Arc<Active>>> {
        if self.upstream.client.is_none() {
            return Ok(None);
        }
        let cached = {
            let cache = self.upstream.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.get(&app.id).filter(|(at, _)| at.elapsed() < self.upstream.cache_ttl).map(|(_, a)| a.clone())
        };
        let active = match cached {
            Some(active) => active,
            None => {
                let row = {
                    let mut conn = self.conn()?;
                    store::upstreams::find(&mut conn, &app.id)?
                };
                let active = match row {
                    Some(row) => self.open_upstream(row)?,
                    None => None,
                };
                let mut cache = self.upstream.cache.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(app.id.clone(), (Instant::now(), active.clone()));
                active
            }
        };
        Ok(active.filter(|a| self.clock.now_naive() < a.until))
    }

    /// Opens an app's sealed upstream keys. Keys sealed under a previous server secret (a
    /// rotation under way) are sealed again under the current one, as the JWT key is.
    fn open_upstream(&self, mut row: UpstreamRow) -> Result<Option<Arc<Active>>> {
        let (app_key, master_key) = match (
            self.keys.open_bytes_with_age(&row.app_key_sealed),
            self.keys.open_bytes_with_age(&row.master_key_sealed),
        ) {
            (Some((app_key, aged_a)), Some((master_key, aged_m))) => {
                if aged_a || aged_m {
                    row.app_key_sealed = self.keys.seal_bytes(&app_key);
                    row.master_key_sealed = self.keys.seal_bytes(&master_key);
                    let mut conn = self.conn()?;
                    store::write_tx(&mut conn, |conn| store::upstreams::put(conn, &row))?;
                }
                (String::from_utf8(app_key), String::from_utf8(master_key))
            }
            _ => {
                tracing::warn!(app_id = %row.app_id, "upstream keys cannot be opened (server secret changed?); not asking");
                return Ok(None);
            }
        };
        let (Ok(app_key), Ok(master_key)) = (app_key, master_key) else { return Ok(None) };
        Ok(Some(Arc::new(Active {
            target: Target { server_url: row.server_url, app_id: row.upstream_app_id, app_key, master_key },
            until: row.until_at,
        })))
    }

    /// Makes one bounded call: `None` when it was not made or failed (counted and logged).
    fn call_upstream<T>(
        &self,
        app: &App,
        what: &'static str,
        call: impl FnOnce(&dyn UpstreamClient) -> Result<T, Unavailable>,
    ) -> Option<T> {
        let client = self.upstream.client.as_ref()?;
        let stats = &self.upstream.stats;
        match self.upstream.guard.admit(&app.id, Instant::now()) {
            Admission::Go => {}
            Admission::Open => {
                stats.breaker_open.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(app_id = %app.id, what, "upstream breaker open: not asked");
                return None;
            }
            Admission::Busy => {
                stats.busy.fetch_add(1, Ordering::Relaxed);
                tracing::info!(app_id = %app.id, what, "upstream calls at the cap: not asked");
                return None;
            }
        }
        let started = Instant::now();
        let result = call(client.as_ref());
        self.upstream.guard.done(&app.id, result.is_err(), Instant::now());
        match result {
            Ok(v) => Some(v),
            Err(Unavailable(why)) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(app_id = %app.id, what, reason = %why, ms = started.elapsed().as_millis() as u64, "upstream call failed");
                None
            }
        }
    }

    fn count_found<T>(&self, found: &Option<T>) {
        let counter = if found.is_some() { &self.upstream.stats.found } else { &self.upstream.stats.not_found };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Hook before a local lookup by login identifier (login, phone signup-or-login): when the
    /// app has an active upstream and nobody here has the identifier, the upstream's holder is
    /// moved in (without a password: the login then asks the upstream for it). Never fails
    /// because of the upstream; an unknown identifier stays unknown.
    pub(crate) fn ensure_user_from_upstream(&self, app: &App, id: &LoginId) -> Result<()> {
        let Some(active) = self.active_upstream(app)? else { return Ok(()) };
        let email_key;
        let (key, lookup) = match id {
            LoginId::Username(u) => (UserKey::Username(u), Lookup::Username(u.as_str())),
            LoginId::Email(e) => {
                email_key = e.trim().to_lowercase();
                (UserKey::Email(&email_key), Lookup::Email(e.trim()))
            }
            LoginId::Phone(p) => (UserKey::Phone(p.e164()), Lookup::Phone(p)),
        };
        if store::users::find(&mut *self.conn()?, &app.id, key)?.is_some() {
            return Ok(());
        }
        self.move_by_lookup(app, &active, lookup)?;
        Ok(())
    }

    /// Hook before a code is sent to an existing user's number (SMS login, reset, verification):
    /// like [`ensure_user_from_upstream`](Self::ensure_user_from_upstream), and the lookup counts
    /// against the app's send limits for the number and the client address, as a send would, so
    /// that numbers cannot be probed upstream faster than codes can be sent.
    pub(crate) fn ensure_phone_for_code(&self, app: &App, phone: &Phone, client_ip: &str) -> Result<()> {
        let Some(active) = self.active_upstream(app)? else { return Ok(()) };
        let mut conn = self.conn()?;
        if store::users::find(&mut conn, &app.id, UserKey::Phone(phone.e164()))?.is_some() {
            return Ok(());
        }
        let now = self.clock.now_naive();
        store::write_tx(&mut conn, |conn| self.check_limits(conn, app, phone.e164(), client_ip, now))?;
        drop(conn);
        if self.move_by_lookup(app, &active, Lookup::Phone(phone))? {
            return Ok(());
        }
        // Nobody has it: the lookup is recorded like a send (the send that follows a found
        // number records its own).
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            store::sends::insert(conn, &uuid::Uuid::now_v7().to_string(), &app.id, phone.e164(), client_ip, now)
        })?;
        Ok(())
    }

    /// Asks the upstream who holds `lookup` and moves them in. True when someone was moved.
    fn move_by_lookup(&self, app: &App, active: &Active, lookup: Lookup<'_>) -> Result<bool> {
        let Some(found) = self.call_upstream(app, "lookup", |c| c.find_user(&active.target, lookup)) else {
            return Ok(false);
        };
        self.count_found(&found);
        let Some(record) = found else { return Ok(false) };
        Ok(self.move_user(app, record, None, Path::Lookup, None)?.is_some())
    }

    /// Hook after a password did not match a user whose password is still the one that came
    /// from LeanCloud (an imported hash not yet replaced, or a user unchanged here since it was
    /// imported or moved): the upstream is asked with the same credentials, and on success the
    /// user is updated from its answer with the password as argon2id. Returns the updated row.
    pub(crate) fn password_from_upstream(&self, app: &App, row: &UserRow, password: &str) -> Result<Option<UserRow>> {
        let Some(active) = self.active_upstream(app)? else { return Ok(None) };
        if !self.password_still_imported(&mut *self.conn()?, app, row)? {
            return Ok(None);
        }
        // By username, whatever the client logged in with: the user is known here, and a
        // username is what every LeanCloud app has.
        let lookup = Lookup::Username(&row.username);
        let Some(answer) = self.call_upstream(app, "login", |c| c.log_in(&active.target, lookup, password)) else {
            return Ok(None);
        };
        let stats = &self.upstream.stats;
        let record = match answer {
            LoginAnswer::User(record) => *record,
            LoginAnswer::WrongPassword => {
                stats.wrong_password.fetch_add(1, Ordering::Relaxed);
                return Ok(None);
            }
            LoginAnswer::NotFound => {
                stats.not_found.fetch_add(1, Ordering::Relaxed);
                return Ok(None);
            }
        };
        stats.found.fetch_add(1, Ordering::Relaxed);
        if record.object_id != row.id {
            // Someone else holds the identifier there now: not this user's password.
            tracing::warn!(app_id = %app.id, user_id = %row.id, "upstream login answered for another objectId; ignored");
            return Ok(None);
        }
        let hash = self.passwords.hash(password)?;
        self.move_user(app, record, Some(hash), Path::Password, None)
    }

    /// Whether the user's password is still LeanCloud's: an imported hash not yet replaced, or
    /// nothing changed here since the user was imported or moved.
    fn password_still_imported(&self, conn: &mut DbConn, app: &App, row: &UserRow) -> Result<bool> {
        if row.password_hash.as_deref().is_some_and(crate::core::accounts::passwords::is_imported_format) {
            return Ok(true);
        }
        Ok(store::upstreams::record(conn, &app.id, &row.id)?.is_some_and(|r| r.written_at == row.updated_at))
    }

    /// The live session of a token, asking the upstream about a token this app has never seen:
    /// if it is valid there, its user and the session move in (the token stored as a keyed hash,
    /// as an imported one). For calls that need a user; others use [`session`](Self::session).
    pub fn session_or_upstream(&self, app: &App, token: &str) -> Result<Option<Session>> {
        if let Some(session) = self.session(app, token)? {
            return Ok(Some(session));
        }
        let token = token.trim();
        if token.is_empty() || token.len() > 128 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let Some(active) = self.active_upstream(app)? else { return Ok(None) };
        // A token known here (revoked or expired) is dead: the upstream cannot revive it.
        let hashes = self.keys.keyed_hashes(&["session", &app.id, token]);
        if store::upstreams::token_known(&mut *self.conn()?, &hashes)? {
            return Ok(None);
        }
        let Some(found) = self.call_upstream(app, "session", |c| c.current_user(&active.target, token)) else {
            return Ok(None);
        };
        self.count_found(&found);
        let Some(record) = found else { return Ok(None) };
        if self.move_user(app, record, None, Path::Session, Some(token))?.is_none() {
            return Ok(None);
        }
        self.session(app, token)
    }

    /// Brings an upstream user in, by objectId: created if new here; updated if unchanged here
    /// since its import or move; left as it is otherwise (only a password the upstream just
    /// accepted replaces an imported hash, and a token is adopted only for a user unchanged
    /// here). A user deleted here, or one whose username, email or number another user holds
    /// here, is not brought in. Returns the user's row as it now is, or `None`.
    fn move_user(
        &self,
        app: &App,
        record: Record,
        password_hash: Option<String>,
        path: Path,
        token: Option<&str>,
    ) -> Result<Option<UserRow>> {
        let mapped = record.user.and_then(|user| crate::core::accounts::import::user_row(&app.id, user));
        let mut mapped = match mapped {
            Ok(row) => row,
            Err(reason) => {
                tracing::warn!(app_id = %app.id, path = path.as_str(), %reason, "upstream user cannot be mapped; not moved");
                return Ok(None);
            }
        };
        mapped.password_hash = password_hash.clone();
        let now = self.clock.now_naive();
        let token_hash = token.map(|t| self.token_hash(app, t));
        let mut conn = self.conn()?;
        let moved = store::write_tx(&mut conn, |conn| -> Result<Option<(UserRow, bool)>> {
            let id = mapped.id.clone();
            if store::imports::existing_users(conn, &[&id])?.iter().any(|u| u.app_id != app.id) {
                tracing::warn!(app_id = %app.id, user_id = %id, "upstream objectId belongs to another app; not moved");
                return Ok(None);
            }
            let existing = store::users::find(conn, &app.id, UserKey::Id(&id))?;
            let record = store::upstreams::record(conn, &app.id, &id)?;
            let (row, written) = match (existing, &record) {
                (None, Some(_)) => {
                    tracing::info!(app_id = %app.id, user_id = %id, "upstream user was deleted here; not moved again");
                    return Ok(None);
                }
                (Some(_), None) => {
                    tracing::warn!(app_id = %app.id, user_id = %id, "a user with the upstream objectId exists here and did not come from it; not moved");
                    return Ok(None);
                }
                (None, None) => {
                    if !self.claim_for_move(conn, app, &mapped, None)? {
                        return Ok(None);
                    }
                    let mut row = mapped.clone();
                    store::users::insert(conn, &mut row)?;
                    (row, true)
                }
                (Some(current), Some(rec)) if rec.written_at == current.updated_at => {
                    // Unchanged here since it came: the upstream's copy is newer.
                    if !self.claim_for_move(conn, app, &mapped, Some(&id))? {
                        return Ok(None);
                    }
                    let mut row = mapped.clone();
                    if row.password_hash.is_none() {
                        row.password_hash = current.password_hash.clone();
                    }
                    store::users::update(conn, &row)?;
                    if password_hash.is_some() && current.password_hash.is_some() {
                        // A password LeanCloud took that the one here did not match: it changed
                        // there, which ends the sessions here as any password change does.
                        self.password_changed(conn, &id, PasswordChange::ByOther, now)?;
                    }
                    (row, true)
                }
                (Some(mut current), Some(_)) => {
                    // Changed here since: the local copy wins. Only an imported hash gives way to
                    // the password the upstream just accepted; a token is not adopted.
                    if token_hash.is_some() {
                        return Ok(None);
                    }
                    match (&password_hash, &current.password_hash) {
                        (Some(new), Some(old)) if crate::core::accounts::passwords::is_imported_format(old) => {
                            store::users::replace_password_hash(conn, &current.id, old, new)?;
                            current.password_hash = Some(new.clone());
                            self.password_changed(conn, &id, PasswordChange::ByOther, now)?;
                        }
                        (Some(_), _) => return Ok(None),
                        (None, _) => {}
                    }
                    (current, false)
                }
            };
            if let Some(hash) = &token_hash {
                store::sessions::insert(conn, &self.session_row(app, &row.id, hash.clone(), now))?;
            }
            if written {
                store::upstreams::put_record(
                    conn,
                    &ImportedUserRow {
                        app_id: app.id.clone(),
                        user_id: row.id.clone(),
                        digest: MOVED_RUN_ID.to_string(),
                        token_hash: token_hash.clone().or_else(|| record.and_then(|r| r.token_hash)),
                        written_at: row.updated_at,
                        run_id: MOVED_RUN_ID.to_string(),
                        source: format!("upstream:{}", path.as_str()),
                        imported_at: now,
                    },
                )?;
            }
            Ok(Some((row, written)))
        })?;
        let Some((row, written)) = moved else { return Ok(None) };
        if written {
            self.upstream.stats.moved.fetch_add(1, Ordering::Relaxed);
            tracing::info!(app_id = %app.id, user_id = %row.id, path = path.as_str(), "user moved from upstream");
        }
        Ok(Some(row))
    }

    /// Claims the moved user's identifiers; false (logged) when another user here holds one.
    fn claim_for_move(&self, conn: &mut DbConn, app: &App, row: &UserRow, except: Option<&str>) -> Result<bool> {
        match self.claim_identifiers(
            conn,
            app,
            Some(row.username.as_str()),
            row.email_key.as_deref(),
            row.phone_e164.as_deref(),
            except,
        ) {
            Ok(()) => Ok(true),
            Err(e @ (Error::UsernameTaken | Error::EmailTaken | Error::PhoneTaken)) => {
                tracing::warn!(app_id = %app.id, user_id = %row.id, conflict = %e, "upstream user collides with a user here; not moved");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// A user column an exact-match query may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    ObjectId,
    Username,
    Email,
    Phone,
}

/// Values one query may ask for at once.
pub const MAX_QUERY_VALUES: usize = 20;

impl Core {
    /// The users holding one of `values` in `field` (exact match; emails without case, numbers
    /// in any form that parses). LeanCloud's master-key `GET /1.1/users?where=`, which lazy
    /// migration asks: served here too, so that one Phonebase can be another's upstream.
    pub fn query_users(
        &self,
        app: &App,
        field: UserField,
        values: &[String],
    ) -> Result<Vec<crate::core::accounts::users::User>> {
        if values.len() > MAX_QUERY_VALUES {
            return Err(Error::InvalidParameter(format!("at most {MAX_QUERY_VALUES} values per query")));
        }
        let mut conn = self.conn()?;
        let mut ids: Vec<String> = Vec::new();
        for value in values {
            let email_key;
            let phone;
            let key = match field {
                UserField::ObjectId => UserKey::Id(value),
                UserField::Username => UserKey::Username(value),
                UserField::Email => {
                    email_key = value.trim().to_lowercase();
                    UserKey::Email(&email_key)
                }
                UserField::Phone => match Phone::parse(value) {
                    Ok(p) => {
                        phone = p;
                        UserKey::Phone(phone.e164())
                    }
                    Err(_) => continue,
                },
            };
            if let Some(row) = store::users::find(&mut conn, &app.id, key)?
                && !ids.contains(&row.id)
            {
                ids.push(row.id);
            }
        }
        ids.iter().filter_map(|id| self.user_in(&mut conn, app, id).transpose()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_and_cap() {
        let guard = Guard::new(UpstreamBounds {
            concurrency: 2,
            breaker_failures: 3,
            breaker_cooldown: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        assert!(matches!(guard.admit("a", t0), Admission::Go));
        assert!(matches!(guard.admit("a", t0), Admission::Go));
        assert!(matches!(guard.admit("a", t0), Admission::Busy), "cap of two in flight");
        assert!(matches!(guard.admit("b", t0), Admission::Go), "per app");
        guard.done("a", true, t0);
        guard.done("a", true, t0);
        assert!(matches!(guard.admit("a", t0), Admission::Go));
        guard.done("a", true, t0);
        assert!(matches!(guard.admit("a", t0), Admission::Open), "three failures open it");
        let later = t0 + Duration::from_secs(11);
        assert!(matches!(guard.admit("a", later), Admission::Go), "one probe after the cool-down");
        assert!(matches!(guard.admit("a", later), Admission::Open), "only one");
        guard.done("a", true, later);
        assert!(matches!(guard.admit("a", later), Admission::Open), "a failed probe opens it again");
        let much_later = later + Duration::from_secs(11);
        assert!(matches!(guard.admit("a", much_later), Admission::Go));
        guard.done("a", false, much_later);
        assert!(matches!(guard.admit("a", much_later), Admission::Go), "a good probe closes it");
    }

    #[test]
    fn settings_are_checked() {
        assert_eq!(checked_url(" https://abc.example.com/ ").unwrap(), "https://abc.example.com");
        assert!(checked_url("ftp://x").is_err());
        assert!(checked_url("https://user:pw@x.com").is_err());
        assert!(checked_url("https://").is_err());
        assert!(checked_key("appKey", "").is_err());
        assert!(checked_key("appKey", "a b").is_err());
        assert_eq!(checked_key("appKey", " k1 ").unwrap(), "k1");
        let t = Target {
            server_url: "u".into(),
            app_id: "i".into(),
            app_key: "SECRET1".into(),
            master_key: "SECRET2".into(),
        };
        assert!(!format!("{t:?}").contains("SECRET"));
    }
}
