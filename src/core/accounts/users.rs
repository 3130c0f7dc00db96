//! Users: signup, login (password or SMS code, with lockout), phone signup-or-login, and the
//! code flows that act on a user (phone verification, SMS login, reset, phone change).

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::core::accounts::lockout::{self, USER_LOGIN};
use crate::core::accounts::passwords::Check;
use crate::core::apps::App;
use crate::core::codes::{Channel, CodeRequest, Origin, Purpose};
use crate::core::phone::Phone;
use crate::core::{Core, Error, Result};
use crate::store::users::{UserKey, UserRow};
use crate::store::{self, DbConn};

/// The app's hourly budget for guesses by value that no binding narrows: the sum, over the wrong
/// guesses of the last hour, of the live codes each one was compared with. A guess compared with
/// `n` live codes wins with a chance of about n / 10^6, so an attacker's chance per hour and app
/// stays near 4 × 10⁻⁶ however many addresses they use (README, security section).
pub const BY_VALUE_EXPOSURE_PER_HOUR: i64 = 4;
const MAX_USERNAME_CHARS: usize = 128;
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    /// The same user's integer id, for dialects whose ids are numbers (MinCloud).
    pub seq: i64,
    pub username: String,
    pub email: Option<String>,
    /// As the client wrote it.
    pub mobile_phone: Option<String>,
    /// Normalised, for lookups.
    pub phone_e164: Option<String>,
    pub mobile_verified: bool,
    pub email_verified: bool,
    pub has_password: bool,
    pub auth_data: Option<Value>,
    /// Custom fields, as stored.
    pub fields: Map<String, Value>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    pub(super) fn from_row(row: &UserRow) -> Result<Self> {
        let corrupt = |what: &str| Error::Internal(anyhow::anyhow!("user {} has unreadable {what}", row.id));
        let fields = match serde_json::from_str(&row.fields).map_err(|_| corrupt("fields"))? {
            Value::Object(map) => map,
            _ => return Err(corrupt("fields")),
        };
        let auth_data =
            row.auth_data.as_deref().map(serde_json::from_str).transpose().map_err(|_| corrupt("authData"))?;
        Ok(User {
            id: row.id.clone(),
            seq: row.seq,
            username: row.username.clone(),
            email: row.email.clone(),
            mobile_phone: row.mobile_phone.clone(),
            phone_e164: row.phone_e164.clone(),
            mobile_verified: row.mobile_verified,
            email_verified: row.email_verified,
            has_password: row.password_hash.is_some(),
            auth_data,
            fields,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A phone number as written and as parsed.
#[derive(Debug, Clone)]
pub struct PhoneInput {
    pub raw: String,
    pub phone: Phone,
}

impl PhoneInput {
    pub fn parse(raw: &str) -> Result<Self> {
        Ok(Self { raw: raw.trim().to_string(), phone: Phone::parse(raw)? })
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: Option<String>,
    pub password: Option<String>,
    pub email: Option<String>,
    pub phone: Option<PhoneInput>,
    pub auth_data: Option<Value>,
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub enum LoginId {
    Username(String),
    Email(String),
    Phone(Phone),
}

#[derive(Debug, Clone)]
pub enum Credential {
    Password(String),
    SmsCode(String),
}

/// A user and the token of the session just opened for them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub token: String,
    /// True when the call created the user.
    pub created: bool,
}

/// A change to one custom field, applied to its current value inside the update's transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldChange {
    Set(Value),
    Unset,
    /// Adds to a number (a missing field counts as 0).
    Increment(serde_json::Number),
    /// Appends to an array (a missing field counts as empty).
    Append(Vec<Value>),
    /// Appends the values not already present.
    AppendUnique(Vec<Value>),
    /// Removes every occurrence of the values.
    RemoveAll(Vec<Value>),
}

/// A change to an existing user. `None` leaves a value alone; `Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<String>,
    pub password: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<PhoneInput>>,
    /// Only the master key may set these.
    pub email_verified: Option<bool>,
    pub mobile_verified: Option<bool>,
    pub fields: Vec<(String, FieldChange)>,
}

fn apply_change(current: Option<Value>, change: FieldChange) -> Result<Option<Value>> {
    let array = |v: Option<Value>, name: &str| -> Result<Vec<Value>> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(Error::InvalidParameter(format!("{name} applies to arrays only"))),
        }
    };
    Ok(match change {
        FieldChange::Set(v) => Some(v),
        FieldChange::Unset => None,
        FieldChange::Increment(by) => {
            let sum = match current {
                None | Some(Value::Null) => Value::Number(by),
                Some(Value::Number(n)) => match (n.as_i64(), by.as_i64()) {
                    (Some(a), Some(b)) => a.checked_add(b).map(Value::from).unwrap_or(Value::Null),
                    _ => serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0) + by.as_f64().unwrap_or(0.0))
                        .map_or(Value::Null, Value::Number),
                },
                Some(_) => return Err(Error::InvalidParameter("Increment applies to numbers only".into())),
            };
            if sum.is_null() {
                return Err(Error::InvalidParameter("Increment overflows".into()));
            }
            Some(sum)
        }
        FieldChange::Append(values) => {
            let mut items = array(current, "Add")?;
            items.extend(values);
            Some(Value::Array(items))
        }
        FieldChange::AppendUnique(values) => {
            let mut items = array(current, "AddUnique")?;
            for v in values {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
            Some(Value::Array(items))
        }
        FieldChange::RemoveAll(values) => {
            let mut items = array(current, "Remove")?;
            items.retain(|v| !values.contains(v));
            Some(Value::Array(items))
        }
    })
}

/// The code flows that act on an existing user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserCodeFlow {
    Login,
    ResetPassword,
    VerifyPhone,
}

fn new_object_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

pub(crate) fn checked_username(username: Option<String>) -> Result<String> {
    let username = username.unwrap_or_default();
    if username.trim().is_empty() {
        return Err(Error::UsernameMissing);
    }
    if username.chars().count() > MAX_USERNAME_CHARS || username.chars().any(char::is_control) {
        return Err(Error::InvalidParameter(format!(
            "username must be at most {MAX_USERNAME_CHARS} printable characters"
        )));
    }
    Ok(username)
}

/// A password as presented at login: present and of a bounded length.
pub(crate) fn checked_password(password: Option<&str>) -> Result<&str> {
    let password = password.unwrap_or_default();
    if password.is_empty() {
        return Err(Error::PasswordMissing);
    }
    if password.len() > crate::core::accounts::passwords::MAX_PASSWORD_BYTES {
        return Err(Error::InvalidParameter("password is too long".into()));
    }
    Ok(password)
}

/// The rule for every password that is being set (signup, save, updatePassword, reset, phone
/// signup): missing or empty is `PasswordMissing`, only whitespace is `PasswordBlank` (LeanCloud's
/// documented rule: "it must be a non-blank string"), then the login bounds.
pub(crate) fn checked_new_password(password: Option<&str>) -> Result<&str> {
    let password = checked_password(password)?;
    if password.trim().is_empty() {
        return Err(Error::PasswordBlank);
    }
    Ok(password)
}

/// Who changes a password, which decides which sessions survive the change.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PasswordChange<'a> {
    /// The user, through the session `keep` (which stays); every other session ends.
    ByUser { keep: Option<&'a str> },
    /// The master key, a reset by code, an import, or a number proven by another: every session ends.
    ByOther,
}

/// The email as given and its lookup key (lower case), or `Error::InvalidEmail`.
pub(crate) fn checked_email(email: &str) -> Result<(String, String)> {
    let email = email.trim();
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if !valid {
        return Err(Error::InvalidEmail);
    }
    Ok((email.to_string(), email.to_lowercase()))
}

impl Core {
    pub(crate) fn user_in(&self, conn: &mut DbConn, app: &App, id: &str) -> Result<Option<User>> {
        store::users::find(conn, &app.id, UserKey::Id(id))?.as_ref().map(User::from_row).transpose()
    }

    fn user_row_by(&self, conn: &mut DbConn, app: &App, key: UserKey<'_>) -> Result<Option<UserRow>> {
        Ok(store::users::find(conn, &app.id, key)?)
    }

    /// Takes the uniqueness locks of a user's identifiers (fixed order) and refuses taken ones.
    /// `except` is the user being changed, who may keep their own values.
    pub(super) fn claim_identifiers(
        &self,
        conn: &mut DbConn,
        app: &App,
        username: Option<&str>,
        email_key: Option<&str>,
        phone: Option<&str>,
        except: Option<&str>,
    ) -> Result<()> {
        let taken_by_other = |row: Option<UserRow>| row.is_some_and(|r| Some(r.id.as_str()) != except);
        if let Some(username) = username {
            store::lock_key(conn, &format!("user:{}:username:{username}", app.id))?;
            if taken_by_other(store::users::find(conn, &app.id, UserKey::Username(username))?) {
                return Err(Error::UsernameTaken);
            }
        }
        if let Some(email) = email_key {
            store::lock_key(conn, &format!("user:{}:email:{email}", app.id))?;
            if taken_by_other(store::users::find(conn, &app.id, UserKey::Email(email))?) {
                return Err(Error::EmailTaken);
            }
        }
        if let Some(phone) = phone {
            store::lock_key(conn, &format!("user:{}:phone:{phone}", app.id))?;
            if taken_by_other(store::users::find(conn, &app.id, UserKey::Phone(phone))?) {
                return Err(Error::PhoneTaken);
            }
        }
        Ok(())
    }

    /// Inserts a user inside the caller's transaction, after `claim_identifiers`.
    fn insert_user(
        &self,
        conn: &mut DbConn,
        app: &App,
        new: NewUser,
        password_hash: Option<String>,
        mobile_verified: bool,
        now: NaiveDateTime,
    ) -> Result<User> {
        let username = checked_username(new.username)?;
        let email = new.email.as_deref().map(checked_email).transpose()?;
        self.claim_identifiers(
            conn,
            app,
            Some(&username),
            email.as_ref().map(|(_, key)| key.as_str()),
            new.phone.as_ref().map(|p| p.phone.e164()),
            None,
        )?;
        let mut row = UserRow {
            id: new_object_id(),
            app_id: app.id.clone(),
            username,
            email: email.as_ref().map(|(e, _)| e.clone()),
            email_key: email.map(|(_, key)| key),
            mobile_phone: new.phone.as_ref().map(|p| p.raw.clone()),
            phone_e164: new.phone.as_ref().map(|p| p.phone.e164().to_string()),
            mobile_verified: mobile_verified && new.phone.is_some(),
            email_verified: false,
            password_hash,
            auth_data: new.auth_data.map(|v| v.to_string()),
            fields: Value::Object(new.fields).to_string(),
            created_at: now,
            updated_at: now,
            seq: 0,
        };
        store::users::insert(conn, &mut row)?;
        User::from_row(&row)
    }

    /// Signup with username and password (other identifiers and fields optional).
    pub fn sign_up(&self, app: &App, mut new: NewUser) -> Result<SignedIn> {
        checked_username(new.username.clone())?;
        let password = checked_new_password(new.password.as_deref())?;
        let hash = self.passwords.hash(password)?;
        new.password = None;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let user = self.insert_user(conn, app, new, Some(hash), false, now)?;
            let token = self.open_session(conn, app, &user.id, now)?;
            Ok(SignedIn { user, token, created: true })
        })
    }

    /// Logs in by username, email or phone with a password, or by phone with an SMS code.
    /// More than six failures in 15 minutes lock the account for 15 minutes after the last one
    /// (`lockout::USER_LOGIN`); the check runs under [`Core::guarded`], so parallel guesses never
    /// get more checks than that and right answers are refused only for real failures.
    pub fn log_in(&self, app: &App, id: LoginId, credential: Credential) -> Result<SignedIn> {
        let method = match credential {
            Credential::Password(_) => "password",
            Credential::SmsCode(_) => "sms_code",
        };
        let result = self.check_login(app, id, credential);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(Error::WrongPassword | Error::InvalidCode | Error::CodeExpired | Error::CodeUsed) => "wrong",
            Err(Error::AccountLocked | Error::TooManyGuesses) => "locked",
            Err(Error::UserNotFound | Error::PhoneNotFound | Error::EmailNotFound) => "unknown",
            Err(_) => "refused",
        };
        self.metrics().logins.with_label_values(&[method, outcome]).inc();
        result
    }

    fn check_login(&self, app: &App, id: LoginId, credential: Credential) -> Result<SignedIn> {
        if let Credential::Password(p) = &credential {
            checked_password(Some(p))?;
        }
        // Lazy migration: someone only the app's LeanCloud upstream knows is moved in first.
        self.ensure_user_from_upstream(app, &id)?;
        let (key, not_found) = match &id {
            LoginId::Username(u) => (UserKey::Username(u), Error::UserNotFound),
            LoginId::Email(e) => (UserKey::Email(e), Error::EmailNotFound),
            LoginId::Phone(p) => (UserKey::Phone(p.e164()), Error::PhoneNotFound),
        };
        let email_key;
        let key = match key {
            UserKey::Email(e) => {
                email_key = e.trim().to_lowercase();
                UserKey::Email(&email_key)
            }
            other => other,
        };
        let row = {
            let mut conn = self.conn()?;
            self.user_row_by(&mut conn, app, key)?
        };
        let Some(row) = row else {
            if let Credential::Password(p) = &credential {
                // An unknown user costs the same time as a wrong password.
                self.passwords.verify(p, None);
            }
            return Err(not_found);
        };
        let by_phone = matches!(id, LoginId::Phone(_));
        if let Credential::SmsCode(_) = credential {
            if !app.settings.policy.sms_login {
                return Err(Error::NotAllowed);
            }
            if !by_phone {
                return Err(Error::InvalidParameter("an SMS code logs in with mobilePhoneNumber only".into()));
            }
        }
        if by_phone && app.settings.policy.login_requires_verified_phone && !row.mobile_verified {
            return Err(Error::PhoneNotVerified);
        }
        let signed_in = self.guarded(
            &lockout::user_subject(&row.id),
            &USER_LOGIN,
            || self.check_credential(app, &row, &credential),
            |conn, now, rehash| {
                let mut current =
                    store::users::find(conn, &app.id, UserKey::Id(&row.id))?.ok_or(Error::UserNotFound)?;
                if let Credential::SmsCode(_) = &credential {
                    // The code proved the number: possession wins over an unverified claim on it.
                    self.number_proven(conn, app, &mut current, false, "sms_login", now)?;
                }
                if let (Some(new_hash), Some(old_hash)) = (&rehash, &row.password_hash) {
                    // Only if the hash is still the one just checked (a concurrent change wins).
                    store::users::replace_password_hash(conn, &row.id, old_hash, new_hash)?;
                }
                let token = self.open_session(conn, app, &row.id, now)?;
                Ok(SignedIn { user: User::from_row(&current)?, token, created: false })
            },
        )?;
        signed_in.ok_or(match credential {
            Credential::Password(_) => Error::WrongPassword,
            Credential::SmsCode(_) => Error::InvalidCode,
        })
    }

    /// Checks a login credential: `Some(rehash)` when right (with the argon2id hash that replaces
    /// an imported one), `None` when wrong.
    fn check_credential(&self, app: &App, row: &UserRow, credential: &Credential) -> Result<Option<Option<String>>> {
        Ok(match credential {
            Credential::Password(p) => match self.passwords.check(p, row.password_hash.as_deref()) {
                // Lazy migration: a password still LeanCloud's may have changed there since.
                Check::Mismatch => self.password_from_upstream(app, row, p)?.map(|_| None),
                Check::Match => Some(None),
                // An imported hash: now that the password is known, it becomes argon2id.
                Check::MatchLegacy => Some(Some(self.passwords.hash(p)?)),
            },
            Credential::SmsCode(code) => {
                let phone = Phone::parse(row.phone_e164.as_deref().unwrap_or_default())?;
                match self.verify_code(app, &phone, code, Purpose::POSSESSION) {
                    Ok(_) => Some(None),
                    Err(Error::InvalidCode | Error::CodeExpired | Error::CodeUsed) => None,
                    Err(e) => return Err(e),
                }
            }
        })
    }

    /// The one rule for a password change, inside the caller's transaction: stores `hash` (`None`
    /// clears it, and a cleared password never matches), writes the row, ends sessions as `by`
    /// says, and forgets the failed logins counted against the old password.
    pub(crate) fn set_password(
        &self,
        conn: &mut DbConn,
        row: &mut UserRow,
        hash: Option<String>,
        by: PasswordChange<'_>,
        now: NaiveDateTime,
    ) -> Result<()> {
        row.password_hash = hash;
        row.updated_at = now;
        store::users::update(conn, row)?;
        self.password_changed(conn, &row.id, by, now)
    }

    /// What follows any password change, for writers that store the hash themselves (the
    /// import): sessions end as `by` says, failed logins are forgotten.
    pub(crate) fn password_changed(
        &self,
        conn: &mut DbConn,
        user_id: &str,
        by: PasswordChange<'_>,
        now: NaiveDateTime,
    ) -> Result<()> {
        let keep = match by {
            PasswordChange::ByUser { keep } => keep,
            PasswordChange::ByOther => None,
        };
        store::sessions::revoke_all_except(conn, user_id, keep, now)?;
        store::attempts::clear_failed(conn, &lockout::user_subject(user_id))?;
        Ok(())
    }

    /// Records a security event on a user (kept in `user_events`).
    fn record_event(
        &self,
        conn: &mut DbConn,
        app: &App,
        user_id: &str,
        kind: &str,
        detail: Value,
        now: NaiveDateTime,
    ) -> Result<()> {
        let row = store::attempts::UserEventRow {
            id: uuid::Uuid::now_v7().to_string(),
            app_id: app.id.clone(),
            user_id: user_id.to_string(),
            kind: kind.to_string(),
            detail: detail.to_string(),
            created_at: now,
        };
        Ok(store::attempts::insert_event(conn, &row)?)
    }

    /// The security events of a user, oldest first, as `(kind, detail, at)`.
    pub fn user_events(&self, app: &App, user_id: &str) -> Result<Vec<(String, Value, NaiveDateTime)>> {
        let mut conn = self.conn()?;
        Ok(store::attempts::events_of(&mut conn, &app.id, user_id)?
            .into_iter()
            .map(|e| (e.kind, serde_json::from_str(&e.detail).unwrap_or(Value::Null), e.created_at))
            .collect())
    }

    /// Possession wins: a code has just proven the number of `row`. An unverified number becomes
    /// verified; unless the prover holds a session of this very account (`holder`), nothing says
    /// the account's creator owns the number, so its password is cleared, every session ends and
    /// the event is recorded: whoever signed up with someone else's number loses the account to
    /// the number's owner. Inside the caller's transaction; writes the row.
    pub(crate) fn number_proven(
        &self,
        conn: &mut DbConn,
        app: &App,
        row: &mut UserRow,
        holder: bool,
        flow: &str,
        now: NaiveDateTime,
    ) -> Result<()> {
        if row.mobile_verified || row.phone_e164.is_none() {
            return Ok(());
        }
        row.mobile_verified = true;
        if holder {
            row.updated_at = now;
            store::users::update(conn, row)?;
            return Ok(());
        }
        let had_password = row.password_hash.is_some();
        self.set_password(conn, row, None, PasswordChange::ByOther, now)?;
        self.record_event(
            conn,
            app,
            &row.id,
            "number_proven",
            json!({"flow": flow, "password_cleared": had_password}),
            now,
        )?;
        tracing::info!(app = %app.id, user = %row.id, flow, "unverified number proven by a code: password cleared, sessions ended");
        Ok(())
    }

    pub fn user(&self, app: &App, id: &str) -> Result<User> {
        let mut conn = self.conn()?;
        self.user_in(&mut conn, app, id)?.ok_or(Error::UserNotFound)
    }

    /// The user by integer id (`User::seq`), in this app only.
    pub fn user_by_seq(&self, app: &App, seq: i64) -> Result<User> {
        let mut conn = self.conn()?;
        let row = store::users::find_by_seq(&mut conn, &app.id, seq)?.ok_or(Error::UserNotFound)?;
        User::from_row(&row)
    }

    /// Changes the password after checking the old one (`Error::WrongPassword` when wrong); every other session of
    /// the user ends, the one making the change (`keep_session`) stays.
    pub fn update_password(
        &self,
        app: &App,
        user_id: &str,
        old: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<User> {
        let new = checked_new_password(Some(new))?;
        let row = {
            let mut conn = self.conn()?;
            store::users::find(&mut conn, &app.id, UserKey::Id(user_id))?.ok_or(Error::UserNotFound)?
        };
        if !self.passwords.verify(old, row.password_hash.as_deref()) {
            return Err(Error::WrongPassword);
        }
        let hash = self.passwords.hash(new)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let mut row = store::users::find(conn, &app.id, UserKey::Id(user_id))?.ok_or(Error::UserNotFound)?;
            self.set_password(conn, &mut row, Some(hash), PasswordChange::ByUser { keep: keep_session }, now)?;
            User::from_row(&row)
        })
    }

    /// Changes a user. Identifiers stay unique (`UsernameTaken` / `EmailTaken` / `PhoneTaken`); a changed email or number is no
    /// longer verified; the verified flags themselves are the master key's to set. A new password
    /// ends the user's sessions: all of them, but `session` when the change comes through the
    /// user's own session (`session` is the caller's session of this user, if any).
    pub fn update_user(
        &self,
        app: &App,
        user_id: &str,
        patch: UserPatch,
        master: bool,
        session: Option<&str>,
    ) -> Result<User> {
        if !master && (patch.email_verified.is_some() || patch.mobile_verified.is_some()) {
            return Err(Error::MasterOnly);
        }
        let username = patch.username.map(|u| checked_username(Some(u))).transpose()?;
        let email = match patch.email {
            Some(Some(e)) => Some(Some(checked_email(&e)?)),
            Some(None) => Some(None),
            None => None,
        };
        let hash = patch
            .password
            .as_deref()
            .map(|p| checked_new_password(Some(p)).and_then(|p| self.passwords.hash(p)))
            .transpose()?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let mut row = store::users::find(conn, &app.id, UserKey::Id(user_id))?.ok_or(Error::UserNotFound)?;
            let new_phone = patch.phone.as_ref().and_then(|p| p.as_ref()).map(|p| p.phone.e164());
            self.claim_identifiers(
                conn,
                app,
                username.as_deref().filter(|u| *u != row.username),
                email
                    .as_ref()
                    .and_then(|e| e.as_ref())
                    .map(|(_, key)| key.as_str())
                    .filter(|k| Some(*k) != row.email_key.as_deref()),
                new_phone.filter(|p| Some(*p) != row.phone_e164.as_deref()),
                Some(user_id),
            )?;
            if let Some(username) = username {
                row.username = username;
            }
            if let Some(email) = email {
                let (email, key) = email.map_or((None, None), |(e, k)| (Some(e), Some(k)));
                if key != row.email_key {
                    row.email_verified = false;
                }
                row.email = email;
                row.email_key = key;
            }
            if let Some(phone) = patch.phone {
                let e164 = phone.as_ref().map(|p| p.phone.e164().to_string());
                if e164 != row.phone_e164 {
                    row.mobile_verified = false;
                }
                row.mobile_phone = phone.map(|p| p.raw);
                row.phone_e164 = e164;
            }
            if let Some(v) = patch.email_verified {
                row.email_verified = v;
            }
            if let Some(v) = patch.mobile_verified {
                row.mobile_verified = v && row.phone_e164.is_some();
            }
            if !patch.fields.is_empty() {
                let mut fields = User::from_row(&row)?.fields;
                for (name, change) in patch.fields {
                    match apply_change(fields.remove(&name), change)? {
                        Some(v) => fields.insert(name, v),
                        None => None,
                    };
                }
                row.fields = Value::Object(fields).to_string();
            }
            row.updated_at = now;
            match hash {
                Some(hash) => {
                    let by = match session {
                        Some(keep) => PasswordChange::ByUser { keep: Some(keep) },
                        None => PasswordChange::ByOther,
                    };
                    self.set_password(conn, &mut row, Some(hash), by, now)?
                }
                None => {
                    store::users::update(conn, &row)?;
                }
            }
            User::from_row(&row)
        })
    }

    pub fn delete_user(&self, app: &App, user_id: &str) -> Result<()> {
        let mut conn = self.conn()?;
        match store::write_tx(&mut conn, |conn| store::users::delete(conn, &app.id, user_id))? {
            0 => Err(Error::UserNotFound),
            _ => Ok(()),
        }
    }

    /// LeanCloud's usersByMobilePhone: the code proves the number; an existing owner is logged in
    /// (username and password ignored), otherwise a user is created with a verified phone.
    pub fn sign_up_or_log_in_by_phone(
        &self,
        app: &App,
        phone: PhoneInput,
        code: &str,
        mut new: NewUser,
    ) -> Result<SignedIn> {
        // A password given here is one being set (on the user it may create): the same rule.
        if let Some(p) = new.password.as_deref().filter(|p| !p.is_empty()) {
            checked_new_password(Some(p))?;
        }
        self.verify_code(app, &phone.phone, code, Purpose::POSSESSION)?;
        // Lazy migration: the number's owner at the app's LeanCloud upstream, never a second account.
        self.ensure_user_from_upstream(app, &LoginId::Phone(phone.phone.clone()))?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        // The owner of the number, logged in (the code proved the number: possession wins).
        let log_in_owner = |conn: &mut DbConn| -> Result<Option<SignedIn>> {
            let Some(mut row) = self.user_row_by(conn, app, UserKey::Phone(phone.phone.e164()))? else {
                return Ok(None);
            };
            self.number_proven(conn, app, &mut row, false, "usersByMobilePhone", now)?;
            let token = self.open_session(conn, app, &row.id, now)?;
            Ok(Some(SignedIn { user: User::from_row(&row)?, token, created: false }))
        };
        let existing = store::write_tx(&mut conn, |conn| {
            store::lock_key(conn, &format!("user:{}:phone:{}", app.id, phone.phone.e164()))?;
            log_in_owner(conn)
        })?;
        if let Some(signed_in) = existing {
            return Ok(signed_in);
        }
        // Hash outside any transaction; the creation below re-checks the number under its lock.
        let hash = new.password.take().filter(|p| !p.is_empty()).map(|p| self.passwords.hash(&p)).transpose()?;
        if new.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
            new.username = Some(phone.phone.e164().to_string());
        }
        new.phone = Some(phone.clone());
        store::write_tx(&mut conn, |conn| {
            store::lock_key(conn, &format!("user:{}:phone:{}", app.id, phone.phone.e164()))?;
            // Created by a concurrent call with the same proof: log in as that user.
            if let Some(signed_in) = log_in_owner(conn)? {
                return Ok(signed_in);
            }
            let user = self.insert_user(conn, app, new, hash, true, now)?;
            let token = self.open_session(conn, app, &user.id, now)?;
            Ok(SignedIn { user, token, created: true })
        })
    }

    /// Sends the code of a user flow to an existing user's number (`Error::PhoneNotFound` when nobody has it).
    pub fn request_user_code(&self, app: &App, flow: UserCodeFlow, phone: Phone, origin: Origin) -> Result<()> {
        // Lazy migration: the number's owner at the app's LeanCloud upstream (counted as a send).
        self.ensure_phone_for_code(app, &phone, &origin.client_ip)?;
        let row = {
            let mut conn = self.conn()?;
            self.user_row_by(&mut conn, app, UserKey::Phone(phone.e164()))?.ok_or(Error::PhoneNotFound)?
        };
        let purpose = match flow {
            UserCodeFlow::Login => {
                if !app.settings.policy.sms_login {
                    return Err(Error::NotAllowed);
                }
                if !row.mobile_verified {
                    return Err(Error::PhoneNotVerified);
                }
                Purpose::Login
            }
            UserCodeFlow::ResetPassword => {
                if !row.mobile_verified && !app.settings.policy.reset_allows_unverified_phone {
                    return Err(Error::PhoneNotVerified);
                }
                Purpose::ResetPassword
            }
            UserCodeFlow::VerifyPhone => {
                if row.mobile_verified {
                    // Already verified: LeanCloud sends nothing and reports success.
                    return Ok(());
                }
                Purpose::VerifyPhone
            }
        };
        let request = CodeRequest {
            phone,
            purpose,
            channel: Channel::Sms,
            ttl_minutes: None,
            ttl_seconds: None,
            code: None,
            name: None,
            op: None,
            custom: Default::default(),
            origin,
            user_id: Some(row.id),
        };
        self.send_code(app, request).map(|_| ())
    }

    /// Finds the phone a code was sent to. With the number (Python SDK, docs) it is an ordinary
    /// verification. Without it (JS SDK) the code is looked up by value among the live codes issued
    /// for `by_value`, in two steps (the README's security section gives the figures):
    /// 1. among the codes bound to the caller: asked for from the same client address, or for the
    ///    session's user. These behave like a code checked with its number: every wrong guess
    ///    charges each of them one attempt and they die after `MAX_ATTEMPTS`, with no app budget,
    ///    so guesses made elsewhere never refuse an honest user's right code;
    /// 2. only when no code is bound to the caller: among all live codes of the purpose, within the
    ///    app's hourly budget of `BY_VALUE_EXPOSURE_PER_HOUR` (the sum, over the wrong guesses of
    ///    the last hour, of the live codes each was compared with) and the per-address limits.
    fn resolve_code(
        &self,
        app: &App,
        code: &str,
        phone: Option<&Phone>,
        by_value: Purpose,
        session_user: Option<&str>,
        client_ip: &str,
    ) -> Result<String> {
        if let Some(phone) = phone {
            self.verify_code(app, phone, code, Purpose::POSSESSION)?;
            return Ok(phone.e164().to_string());
        }
        let code = code.trim();
        if code.len() != crate::core::codes::CODE_LEN || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidCode);
        }
        let limits = &app.settings.limits;
        let value_hashes = self.value_hashes(app, by_value, code);
        let now = self.clock.now_naive();
        let hour_ago = now - TimeDelta::hours(1);
        let purpose = by_value.as_str();
        let mut conn = self.conn()?;
        // The closure answers Ok for a wrong guess too: the charged attempts and the recorded
        // guess must commit.
        store::write_tx(&mut conn, |conn| -> Result<Result<String>> {
            let bound = store::codes::charge_bound(
                conn,
                &app.id,
                purpose,
                client_ip,
                session_user,
                now,
                crate::core::codes::MAX_ATTEMPTS,
            )?;
            if !bound.is_empty() {
                let mut matched = None;
                for c in &bound {
                    // Look at every candidate, so the time taken does not depend on which matches.
                    if value_hashes.iter().any(|h| crate::core::secrets::ct_eq(&c.value_hash, h)) {
                        matched = Some(c);
                    }
                }
                return Ok(match matched {
                    Some(c) if store::codes::consume(conn, &c.id, now)? => Ok(c.phone.clone()),
                    _ => Err(Error::InvalidCode),
                });
            }
            store::lock_key(conn, &format!("guess:{}", app.id))?;
            let over = |n: i64, limit: u32| limit > 0 && n >= i64::from(limit);
            if over(
                store::codes::guesses_since(conn, &app.id, Some(client_ip), hour_ago)?,
                limits.code_guesses_per_ip_hour,
            ) || over(store::codes::guesses_since(conn, &app.id, None, hour_ago)?, limits.code_guesses_per_app_hour)
            {
                return Ok(Err(Error::TooManyGuesses));
            }
            let live = store::codes::live_count(conn, &app.id, purpose, now, crate::core::codes::MAX_ATTEMPTS)?;
            let spent = store::codes::exposure_since(conn, &app.id, hour_ago)?;
            if spent + live > BY_VALUE_EXPOSURE_PER_HOUR {
                return Ok(Err(Error::TooManyGuesses));
            }
            let candidates = store::codes::find_by_value(
                conn,
                &app.id,
                purpose,
                &value_hashes,
                now,
                crate::core::codes::MAX_ATTEMPTS,
            )?;
            let chosen = match session_user {
                Some(user) if candidates.len() > 1 => candidates.iter().find(|c| c.user_id.as_deref() == Some(user)),
                _ => candidates.first(),
            };
            match chosen {
                Some(c) if store::codes::consume(conn, &c.id, now)? => Ok(Ok(c.phone.clone())),
                _ => {
                    let id = uuid::Uuid::now_v7().to_string();
                    store::codes::record_guess(conn, &id, &app.id, client_ip, live as i32, now)?;
                    Ok(Err(Error::InvalidCode))
                }
            }
        })?
    }

    /// LeanCloud's verifyMobilePhone: marks the number of the code's user verified. Proven by
    /// someone without a session of that user, the number takes the account over (see
    /// [`Core::number_proven`]).
    pub fn verify_phone(
        &self,
        app: &App,
        code: &str,
        phone: Option<&Phone>,
        session_user: Option<&str>,
        client_ip: &str,
    ) -> Result<User> {
        let e164 = self.resolve_code(app, code, phone, Purpose::VerifyPhone, session_user, client_ip)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let mut row = self.user_row_by(conn, app, UserKey::Phone(&e164))?.ok_or(Error::PhoneNotFound)?;
            let holder = session_user == Some(row.id.as_str());
            self.number_proven(conn, app, &mut row, holder, "verifyMobilePhone", now)?;
            User::from_row(&row)
        })
    }

    /// LeanCloud's resetPasswordBySmsCode: sets the password and ends every session of the user.
    pub fn reset_password(
        &self,
        app: &App,
        code: &str,
        phone: Option<&Phone>,
        password: &str,
        session_user: Option<&str>,
        client_ip: &str,
    ) -> Result<()> {
        let password = checked_new_password(Some(password))?;
        let e164 = self.resolve_code(app, code, phone, Purpose::ResetPassword, session_user, client_ip)?;
        self.set_reset_password(app, &e164, password)
    }

    /// A reset by a code alone, looked up by value among the live codes sent for `by_value`
    /// (Bmob's resetPasswordBySmsCode: the code of a plain requestSmsCode, `Purpose::Generic`),
    /// within the same bounds as every lookup by value (see `resolve_code`).
    pub fn reset_password_by_value(
        &self,
        app: &App,
        by_value: Purpose,
        code: &str,
        password: &str,
        session_user: Option<&str>,
        client_ip: &str,
    ) -> Result<()> {
        let password = checked_new_password(Some(password))?;
        let e164 = self.resolve_code(app, code, None, by_value, session_user, client_ip)?;
        self.set_reset_password(app, &e164, password)
    }

    /// The end of every reset by code: the number is proven, the password set, every session ends.
    fn set_reset_password(&self, app: &App, e164: &str, password: &str) -> Result<()> {
        let hash = self.passwords.hash(password)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let mut row = self.user_row_by(conn, app, UserKey::Phone(e164))?.ok_or(Error::PhoneNotFound)?;
            self.number_proven(conn, app, &mut row, false, "resetPasswordBySmsCode", now)?;
            self.set_password(conn, &mut row, Some(hash), PasswordChange::ByOther, now)
        })
    }

    /// LeanCloud's requestChangePhoneNumber: a code to the new number, bound to this user.
    pub fn request_phone_change(
        &self,
        app: &App,
        user_id: &str,
        phone: Phone,
        ttl_minutes: Option<i64>,
        origin: Origin,
    ) -> Result<()> {
        {
            let mut conn = self.conn()?;
            // An unverified claim on the number does not block its owner (possession wins).
            if let Some(owner) = self.user_row_by(&mut conn, app, UserKey::Phone(phone.e164()))?
                && owner.id != user_id
                && owner.mobile_verified
            {
                return Err(Error::PhoneTaken);
            }
        }
        let request = CodeRequest {
            phone,
            purpose: Purpose::ChangePhone,
            channel: Channel::Sms,
            ttl_minutes,
            ttl_seconds: None,
            code: None,
            name: None,
            op: None,
            custom: Default::default(),
            origin,
            user_id: Some(user_id.to_string()),
        };
        self.send_code(app, request).map(|_| ())
    }

    /// LeanCloud's changePhoneNumber: the code proves the new number for the user who asked.
    pub fn change_phone(&self, app: &App, phone: PhoneInput, code: &str) -> Result<User> {
        let verified = self.verify_code(app, &phone.phone, code, &[Purpose::ChangePhone])?;
        let user_id = verified.user_id.ok_or(Error::InvalidCode)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let mut row = store::users::find(conn, &app.id, UserKey::Id(&user_id))?.ok_or(Error::UserNotFound)?;
            store::lock_key(conn, &format!("user:{}:phone:{}", app.id, phone.phone.e164()))?;
            if let Some(mut squatter) = self.user_row_by(conn, app, UserKey::Phone(phone.phone.e164()))?
                && squatter.id != user_id
                && !squatter.mobile_verified
            {
                // Possession wins: an account that only claimed the number loses it.
                squatter.mobile_phone = None;
                squatter.phone_e164 = None;
                squatter.updated_at = now;
                store::users::update(conn, &squatter)?;
                self.record_event(conn, app, &squatter.id, "number_released", json!({"to": user_id}), now)?;
            }
            self.claim_identifiers(conn, app, None, None, Some(phone.phone.e164()), Some(&user_id))?;
            row.mobile_phone = Some(phone.raw.clone());
            row.phone_e164 = Some(phone.phone.e164().to_string());
            row.mobile_verified = true;
            row.updated_at = now;
            store::users::update(conn, &row)?;
            User::from_row(&row)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_changes() {
        let n = |v: i64| Some(json_num(v));
        fn json_num(v: i64) -> Value {
            Value::from(v)
        }
        let inc = |by: i64| FieldChange::Increment(by.into());
        assert_eq!(apply_change(None, inc(2)).unwrap(), n(2));
        assert_eq!(apply_change(n(40), inc(2)).unwrap(), n(42));
        assert_eq!(apply_change(Some(Value::from(1.5)), inc(1)).unwrap(), Some(Value::from(2.5)));
        assert!(apply_change(Some("x".into()), inc(1)).is_err());
        assert!(apply_change(n(i64::MAX), inc(1)).is_err());
        let arr = |v: Value| Some(v);
        assert_eq!(
            apply_change(arr(serde_json::json!([1, 2])), FieldChange::AppendUnique(vec![2.into(), 3.into()])).unwrap(),
            arr(serde_json::json!([1, 2, 3]))
        );
        assert_eq!(
            apply_change(arr(serde_json::json!([1, 2, 1])), FieldChange::RemoveAll(vec![1.into()])).unwrap(),
            arr(serde_json::json!([2]))
        );
        assert_eq!(apply_change(None, FieldChange::Append(vec![1.into()])).unwrap(), arr(serde_json::json!([1])));
        assert_eq!(apply_change(n(1), FieldChange::Unset).unwrap(), None);
    }

    #[test]
    fn emails() {
        assert_eq!(checked_email(" Tom@Example.COM ").unwrap(), ("Tom@Example.COM".into(), "tom@example.com".into()));
        for bad in ["", "tom", "tom@", "@example.com", "tom@example", "to m@example.com", "tom@.com", "a@b@c.com"] {
            assert!(checked_email(bad).is_err(), "{bad}");
        }
    }
}
