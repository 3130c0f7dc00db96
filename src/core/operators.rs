//! Operators: Phonebase's own administrators, who review templates and look after apps. Created
//! from the CLI, passwords argon2id, console sessions stored as keyed hashes only.

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;

use super::apps::App;
use super::review::{Decision, Item, Kind};
use super::{Core, Error, Result};
use crate::core::accounts::lockout::{OPERATOR_SIGN_IN, operator_subject};
use crate::core::accounts::users::User;
use crate::store::messages::MessageRow;
pub use crate::store::operators::MessageFilter;
use crate::store::operators::{OperatorRow, OperatorSessionRow};
use crate::store::{self, users::UserKey};

/// A console session lasts this long after sign-in.
pub const SESSION_HOURS: i64 = 12;
const MAX_USERNAME_CHARS: usize = 64;
/// Failed sign-ins of one operator name within 15 minutes that lock it (`lockout::OPERATOR_SIGN_IN`).
pub const MAX_FAILURES: usize = crate::core::accounts::lockout::OPERATOR_SIGN_IN.limit;
/// Shortest operator password: these accounts approve what every app's users receive.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Clone)]
pub struct Operator {
    pub id: String,
    pub username: String,
}

impl Operator {
    /// How the review history names this operator.
    pub fn actor(&self) -> String {
        format!("operator:{}", self.username)
    }
}

fn session_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..40).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A message as the log shows it: its text only with the code masked.
#[derive(Debug, Clone)]
pub struct LoggedMessage {
    pub id: String,
    /// The number a dialect's API knows it by (Bmob `smsId`, JPush `msg_id`).
    pub handle: i64,
    pub app_id: String,
    pub to_phone: String,
    pub channel: String,
    pub template: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub chars: i32,
    pub parts: i32,
    /// Parts taken from the app's balance, and whether they were given back.
    pub charged: i32,
    pub refunded: bool,
    pub body_redacted: String,
    pub created_at: NaiveDateTime,
    pub send_at: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
}

impl From<MessageRow> for LoggedMessage {
    fn from(m: MessageRow) -> Self {
        LoggedMessage {
            id: m.id,
            handle: m.handle,
            app_id: m.app_id,
            to_phone: m.to_phone,
            channel: m.channel,
            template: m.template,
            status: m.status,
            attempts: m.attempts,
            chars: m.chars,
            parts: m.parts,
            charged: m.charged,
            refunded: m.refunded,
            body_redacted: m.body_redacted,
            created_at: m.created_at,
            send_at: m.send_at,
            sent_at: m.sent_at,
            delivered_at: m.delivered_at,
        }
    }
}

impl Core {
    pub fn create_operator(&self, username: &str, password: &str) -> Result<Operator> {
        let username = username.trim();
        let ok = !username.is_empty()
            && username.chars().count() <= MAX_USERNAME_CHARS
            && username.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
        if !ok {
            return Err(Error::InvalidParameter(format!(
                "an operator name is 1 to {MAX_USERNAME_CHARS} letters, digits, '_', '-', '.' or '@'"
            )));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS
            || password.len() > crate::core::accounts::passwords::MAX_PASSWORD_BYTES
        {
            return Err(Error::InvalidParameter(format!(
                "an operator password is at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        let hash = self.passwords.hash(password)?;
        let now = self.clock.now_naive();
        let row = OperatorRow {
            id: uuid::Uuid::now_v7().to_string(),
            username: username.to_string(),
            password_hash: hash,
            created_at: now,
            updated_at: now,
        };
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            if store::operators::find_by_name(conn, &row.username)?.is_some() {
                return Err(Error::NameTaken);
            }
            Ok(store::operators::insert(conn, &row)?)
        })?;
        Ok(Operator { id: row.id, username: row.username })
    }

    fn operator_token_hash(&self, token: &str) -> String {
        self.keys.keyed_hash(&["operator-session", token])
    }

    /// Signs an operator in; returns the operator and a new session token. An unknown name costs
    /// the same time as a wrong password, and a name with `MAX_FAILURES` recent failures is locked
    /// (known or not, so the lock tells nothing) until 15 minutes after the last one. The check
    /// runs under the same lockout rule as user logins ([`Core::guarded`]), so parallel guesses
    /// get at most `MAX_FAILURES` checks.
    pub fn operator_sign_in(&self, username: &str, password: &str) -> Result<(Operator, String)> {
        let username = username.trim();
        let row = {
            let mut conn = self.conn()?;
            store::operators::find_by_name(&mut conn, username)?
        };
        let check = || -> Result<Option<OperatorRow>> {
            let right = password.len() <= crate::core::accounts::passwords::MAX_PASSWORD_BYTES
                && self.passwords.verify(password, row.as_ref().map(|r| r.password_hash.as_str()));
            Ok(row.clone().filter(|_| right))
        };
        let token = session_token();
        let signed_in = self.guarded(&operator_subject(username), &OPERATOR_SIGN_IN, check, |conn, now, row| {
            store::operators::insert_session(
                conn,
                &OperatorSessionRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    operator_id: row.id.clone(),
                    token_hash: self.operator_token_hash(&token),
                    created_at: now,
                    expires_at: now + TimeDelta::hours(SESSION_HOURS),
                },
            )?;
            Ok(Operator { id: row.id, username: row.username })
        })?;
        signed_in.map(|operator| (operator, token)).ok_or(Error::WrongPassword)
    }

    /// The operator a live session token belongs to.
    pub fn operator_session(&self, token: &str) -> Result<Option<Operator>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let mut conn = self.conn()?;
        let now = self.clock.now_naive();
        // Under the current secret or a previous one (a rotation ends no console session).
        for hash in self.keys.keyed_hashes(&["operator-session", token]) {
            if let Some(row) = store::operators::find_session(&mut conn, &hash, now)? {
                return Ok(Some(Operator { id: row.id, username: row.username }));
            }
        }
        Ok(None)
    }

    pub fn operator_sign_out(&self, token: &str) -> Result<()> {
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| -> Result<()> {
            for hash in self.keys.keyed_hashes(&["operator-session", token]) {
                store::operators::delete_session(conn, &hash)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// The CSRF token of a console session: derived from the session token, so nothing more is
    /// stored, and useless without the server secret.
    pub fn csrf_token(&self, session_token: &str) -> String {
        self.keys.keyed_hash(&["operator-csrf", session_token])
    }

    pub fn csrf_ok(&self, session_token: &str, presented: &str) -> bool {
        self.keys.matches(presented, &["operator-csrf", session_token])
    }

    /// A reviewer's decision on the revision of `kind` with this id (the one the reviewer saw:
    /// `template queue` lists them). An item's id is refused: it does not say which text was
    /// judged, and the pending text may have changed since the reviewer looked.
    pub fn review_as(&self, kind: Kind, id: &str, decision: Decision, actor: &str) -> Result<Item> {
        {
            let mut conn = self.conn()?;
            let Some(revision) = store::templates::find_revision(&mut conn, id)? else {
                if store::templates::find_item(&mut conn, id)?.is_some_and(|i| i.kind == kind.as_str()) {
                    return Err(Error::InvalidParameter(format!(
                        "{id} is a {kind}, not a revision: name the revision you reviewed (see `phonebase {kind} queue`)",
                        kind = kind.as_str()
                    )));
                }
                return Err(Error::ItemNotFound);
            };
            store::templates::find_item(&mut conn, &revision.item_id)?
                .filter(|i| i.kind == kind.as_str())
                .ok_or(Error::ItemNotFound)?;
        }
        self.review(id, decision, actor)
    }

    /// New keys for an app; the old ones stop working at once on this instance and within the
    /// app cache's lifetime on the others.
    pub fn rotate_app_keys(&self, app_id: &str) -> Result<App> {
        let (app_key, master_key) = (session_token()[..24].to_string(), session_token()[..24].to_string());
        let mut conn = self.conn()?;
        let now = self.clock.now_naive();
        let changed = store::write_tx(&mut conn, |conn| {
            store::operators::set_app_keys(conn, app_id, &app_key, &master_key, now)
        })?;
        if changed != 1 {
            return Err(Error::UnknownApp);
        }
        self.app_cache.remove(app_id);
        self.app(app_id).map(|a| (*a).clone())
    }

    /// One page of the message log, newest first.
    pub fn message_log(&self, filter: &MessageFilter, offset: i64, limit: i64) -> Result<Vec<LoggedMessage>> {
        let mut conn = self.conn()?;
        let rows = store::operators::messages(&mut conn, filter, offset, limit.clamp(1, 200))?;
        Ok(rows.into_iter().map(LoggedMessage::from).collect())
    }

    /// Every app's (id, name), oldest first: the console shows names, never bare ids.
    pub fn app_names(&self) -> Result<Vec<(String, String)>> {
        let mut conn = self.conn()?;
        Ok(store::stats::app_names(&mut conn)?)
    }

    /// A user of `app` by username, else by phone number.
    pub fn find_user(&self, app: &App, query: &str) -> Result<Option<User>> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(None);
        }
        let mut conn = self.conn()?;
        let mut row = store::users::find(&mut conn, &app.id, UserKey::Username(query))?;
        if row.is_none()
            && let Ok(phone) = super::phone::Phone::parse(query)
        {
            row = store::users::find(&mut conn, &app.id, UserKey::Phone(phone.e164()))?;
        }
        drop(conn);
        row.map(|r| self.user(app, &r.id)).transpose()
    }
}
