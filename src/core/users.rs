//! Users: signup, login (password or SMS code, with lockout), phone signup-or-login, and the
//! code flows that act on a user (phone verification, SMS login, reset, phone change).

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;
use serde_json::{Map, Value};

use super::apps::App;
use super::codes::{Channel, CodeRequest, Origin, Purpose};
use super::passwords::Check;
use super::phone::Phone;
use super::{Core, Error, Result};
use crate::store::users::{UserKey, UserRow};
use crate::store::{self, DbConn};

/// Failed logins that lock an account, and the window they are counted in (LeanCloud: more than
/// 6 within 15 minutes locks it until 15 minutes after the last one).
pub const LOCKOUT_FAILURES: usize = 7;
pub const LOCKOUT_WINDOW: TimeDelta = TimeDelta::minutes(15);
const MAX_USERNAME_CHARS: usize = 128;
const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
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
    fn from_row(row: &UserRow) -> Result<Self> {
        let corrupt = |what: &str| Error::Internal(anyhow::anyhow!("user {} has unreadable {what}", row.id));
        let fields = match serde_json::from_str(&row.fields).map_err(|_| corrupt("fields"))? {
            Value::Object(map) => map,
            _ => return Err(corrupt("fields")),
        };
        let auth_data =
            row.auth_data.as_deref().map(serde_json::from_str).transpose().map_err(|_| corrupt("authData"))?;
        Ok(User {
            id: row.id.clone(),
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

pub(crate) fn checked_password(password: Option<&str>) -> Result<&str> {
    let password = password.unwrap_or_default();
    if password.is_empty() {
        return Err(Error::PasswordMissing);
    }
    if password.len() > super::passwords::MAX_PASSWORD_BYTES {
        return Err(Error::InvalidParameter("password is too long".into()));
    }
    Ok(password)
}

/// The email as given and its lookup key (lower case), or 125.
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
        let row = UserRow {
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
        };
        store::users::insert(conn, &row)?;
        User::from_row(&row)
    }

    /// Signup with username and password (other identifiers and fields optional).
    pub fn sign_up(&self, app: &App, mut new: NewUser) -> Result<SignedIn> {
        checked_username(new.username.clone())?;
        let password = checked_password(new.password.as_deref())?;
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
    /// More than six failures in 15 minutes lock the account for 15 minutes after the last one.
    pub fn log_in(&self, app: &App, id: LoginId, credential: Credential) -> Result<SignedIn> {
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
        let mut conn = self.conn()?;
        let Some(mut row) = self.user_row_by(&mut conn, app, key)? else {
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
        // Count the attempt as a failure before checking it, so that parallel guesses cannot
        // slip past the lockout; a success takes it back.
        let now = self.clock.now_naive();
        let attempt = uuid::Uuid::now_v7().to_string();
        store::write_tx(&mut conn, |conn| -> Result<()> {
            store::lock_key(conn, &format!("login:{}", row.id))?;
            let recent = store::sessions::failures_since(conn, &row.id, now - LOCKOUT_WINDOW * 2)?;
            if is_locked(&recent, now) {
                return Err(Error::AccountLocked);
            }
            store::sessions::record_failure(conn, &attempt, &row.id, now)?;
            Ok(())
        })?;
        drop(conn);
        let mut rehash = None;
        let mut verified = match &credential {
            Credential::Password(p) => match self.passwords.check(p, row.password_hash.as_deref()) {
                Check::Mismatch => false,
                Check::Match => true,
                Check::MatchLegacy => {
                    // An imported hash: now that the password is known, it becomes argon2id.
                    rehash = Some(self.passwords.hash(p)?);
                    true
                }
            },
            Credential::SmsCode(code) => {
                let phone = Phone::parse(row.phone_e164.as_deref().unwrap_or_default())?;
                match self.verify_code(app, &phone, code, Purpose::POSSESSION) {
                    Ok(_) => true,
                    Err(Error::InvalidCode) => false,
                    Err(e) => return Err(e),
                }
            }
        };
        if !verified
            && let Credential::Password(p) = &credential
            && let Some(updated) = self.password_from_upstream(app, &row, &id, p)?
        {
            // Lazy migration: the password is still LeanCloud's and LeanCloud has a newer one.
            row = updated;
            verified = true;
        }
        if !verified {
            return Err(match credential {
                Credential::Password(_) => Error::WrongPassword,
                Credential::SmsCode(_) => Error::InvalidCode,
            });
        }
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            store::sessions::clear_failures(conn, &row.id)?;
            if let (Some(new_hash), Some(old_hash)) = (&rehash, &row.password_hash) {
                // Only if the hash is still the one just checked (a concurrent change wins).
                store::users::replace_password_hash(conn, &row.id, old_hash, new_hash)?;
            }
            let token = self.open_session(conn, app, &row.id, now)?;
            Ok(SignedIn { user: User::from_row(&row)?, token, created: false })
        })
    }

    pub fn user(&self, app: &App, id: &str) -> Result<User> {
        let mut conn = self.conn()?;
        self.user_in(&mut conn, app, id)?.ok_or(Error::UserNotFound)
    }

    /// Changes the password after checking the old one (210 when wrong); every other session of
    /// the user ends, the one making the change (`keep_session`) stays.
    pub fn update_password(
        &self,
        app: &App,
        user_id: &str,
        old: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<User> {
        let new = checked_password(Some(new))?;
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
            row.password_hash = Some(hash);
            row.updated_at = now;
            store::users::update(conn, &row)?;
            store::sessions::revoke_all_except(conn, user_id, keep_session, now)?;
            User::from_row(&row)
        })
    }

    /// Changes a user. Identifiers stay unique (202 / 203 / 214); a changed email or number is no
    /// longer verified; the verified flags themselves are the master key's to set.
    pub fn update_user(&self, app: &App, user_id: &str, patch: UserPatch, master: bool) -> Result<User> {
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
            .map(|p| checked_password(Some(p)).and_then(|p| self.passwords.hash(p)))
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
            if let Some(hash) = hash {
                row.password_hash = Some(hash);
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
            store::users::update(conn, &row)?;
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
        if let Some(p) = new.password.as_deref().filter(|p| !p.is_empty()) {
            checked_password(Some(p))?;
        }
        self.verify_code(app, &phone.phone, code, Purpose::POSSESSION)?;
        // Lazy migration: the number's owner at the app's LeanCloud upstream, never a second account.
        self.ensure_user_from_upstream(app, &LoginId::Phone(phone.phone.clone()))?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        let existing = store::write_tx(&mut conn, |conn| -> Result<Option<SignedIn>> {
            store::lock_key(conn, &format!("user:{}:phone:{}", app.id, phone.phone.e164()))?;
            match self.user_row_by(conn, app, UserKey::Phone(phone.phone.e164()))? {
                Some(row) => {
                    let token = self.open_session(conn, app, &row.id, now)?;
                    Ok(Some(SignedIn { user: User::from_row(&row)?, token, created: false }))
                }
                None => Ok(None),
            }
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
            if let Some(row) = self.user_row_by(conn, app, UserKey::Phone(phone.phone.e164()))? {
                // Created by a concurrent call with the same proof: log in as that user.
                let token = self.open_session(conn, app, &row.id, now)?;
                return Ok(SignedIn { user: User::from_row(&row)?, token, created: false });
            }
            let user = self.insert_user(conn, app, new, hash, true, now)?;
            let token = self.open_session(conn, app, &user.id, now)?;
            Ok(SignedIn { user, token, created: true })
        })
    }

    /// Sends the code of a user flow to an existing user's number (213 when nobody has it).
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
            name: None,
            op: None,
            custom: Default::default(),
            origin,
            user_id: Some(row.id),
        };
        self.send_code(app, request).map(|_| ())
    }

    /// Finds the phone a code was sent to. With the number (Python SDK, docs) it is an ordinary
    /// verification; without it (JS SDK) the code is looked up by value among live codes of
    /// `by_value` purpose. Guessing by value is bounded per client address and per app.
    fn resolve_code(
        &self,
        app: &App,
        code: &str,
        phone: Option<&Phone>,
        by_value: Purpose,
        prefer_user: Option<&str>,
        client_ip: &str,
    ) -> Result<String> {
        if let Some(phone) = phone {
            self.verify_code(app, phone, code, Purpose::POSSESSION)?;
            return Ok(phone.e164().to_string());
        }
        let code = code.trim();
        if code.len() != super::codes::CODE_LEN || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidCode);
        }
        let limits = &app.settings.limits;
        let value_hash = self.value_hash(app, by_value, code);
        let now = self.clock.now_naive();
        let hour_ago = now - TimeDelta::hours(1);
        let mut conn = self.conn()?;
        let found = store::write_tx(&mut conn, |conn| -> Result<Option<String>> {
            store::lock_key(conn, &format!("guess:{}", app.id))?;
            let over = |n: i64, limit: u32| limit > 0 && n >= i64::from(limit);
            if over(
                store::codes::guesses_since(conn, &app.id, Some(client_ip), hour_ago)?,
                limits.code_guesses_per_ip_hour,
            ) || over(store::codes::guesses_since(conn, &app.id, None, hour_ago)?, limits.code_guesses_per_app_hour)
            {
                return Err(Error::TooManyGuesses);
            }
            let candidates = store::codes::find_by_value(conn, &app.id, by_value.as_str(), &value_hash, now)?;
            let chosen = match prefer_user {
                Some(user) if candidates.len() > 1 => candidates.iter().find(|c| c.user_id.as_deref() == Some(user)),
                _ => candidates.first(),
            };
            match chosen {
                Some(c) if store::codes::consume(conn, &c.id, now)? => Ok(Some(c.phone.clone())),
                _ => {
                    store::codes::record_guess(conn, &uuid::Uuid::now_v7().to_string(), &app.id, client_ip, now)?;
                    Ok(None)
                }
            }
        })?;
        found.ok_or(Error::InvalidCode)
    }

    /// LeanCloud's verifyMobilePhone: marks the number of the code's user verified.
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
            row.mobile_verified = true;
            row.updated_at = now;
            store::users::update(conn, &row)?;
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
        client_ip: &str,
    ) -> Result<()> {
        let password = checked_password(Some(password))?;
        let e164 = self.resolve_code(app, code, phone, Purpose::ResetPassword, None, client_ip)?;
        let hash = self.passwords.hash(password)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let mut row = self.user_row_by(conn, app, UserKey::Phone(&e164))?.ok_or(Error::PhoneNotFound)?;
            row.password_hash = Some(hash);
            row.updated_at = now;
            store::users::update(conn, &row)?;
            store::sessions::revoke_all_except(conn, &row.id, None, now)?;
            store::sessions::clear_failures(conn, &row.id)?;
            Ok(())
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
            if let Some(owner) = self.user_row_by(&mut conn, app, UserKey::Phone(phone.e164()))?
                && owner.id != user_id
            {
                return Err(Error::PhoneTaken);
            }
        }
        let request = CodeRequest {
            phone,
            purpose: Purpose::ChangePhone,
            channel: Channel::Sms,
            ttl_minutes,
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

/// Locked: at least `LOCKOUT_FAILURES` failures within a window that ends at the latest one, and
/// that latest one less than `LOCKOUT_WINDOW` ago. `recent` is newest first.
fn is_locked(recent: &[NaiveDateTime], now: NaiveDateTime) -> bool {
    let Some(&last) = recent.first() else { return false };
    now < last + LOCKOUT_WINDOW && recent.iter().filter(|&&t| t >= last - LOCKOUT_WINDOW).count() >= LOCKOUT_FAILURES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_rule() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc();
        let minutes = |m: i64| t0 + TimeDelta::minutes(m);
        let six: Vec<_> = (0..6).rev().map(minutes).collect();
        assert!(!is_locked(&six, minutes(6)), "six failures do not lock");
        let seven: Vec<_> = (0..7).rev().map(minutes).collect();
        assert!(is_locked(&seven, minutes(7)));
        assert!(is_locked(&seven, minutes(6 + 14)), "until 15 minutes after the last");
        assert!(!is_locked(&seven, minutes(6 + 15)));
        let spread: Vec<_> = (0..7).rev().map(|i| minutes(i * 3)).collect();
        assert!(!is_locked(&spread, minutes(19)), "seven failures over 18 minutes do not lock");
    }

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
