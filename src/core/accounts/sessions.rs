//! Session tokens: random, LeanCloud-shaped (25 lowercase alphanumerics), stored only as keyed
//! hashes, revocable, with an optional lifetime per app.

use chrono::{NaiveDateTime, TimeDelta};
use rand::Rng;

use crate::core::accounts::users::User;
use crate::core::apps::App;
use crate::core::{Core, Result};
use crate::store::{self, DbConn, sessions::SessionRow};

pub const TOKEN_LEN: usize = 25;

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub user: User,
    pub created_at: NaiveDateTime,
}

fn new_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..TOKEN_LEN).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

impl Core {
    pub(crate) fn token_hash(&self, app: &App, token: &str) -> String {
        self.keys.keyed_hash(&["session", &app.id, token])
    }

    /// Whether `stored` is the hash of `token` under the current or a previous secret.
    pub(crate) fn token_matches(&self, app: &App, token: &str, stored: &str) -> bool {
        self.keys.matches(stored, &["session", &app.id, token])
    }

    /// A new live session row for a token (given as its keyed hash), with the app's lifetime.
    pub(crate) fn session_row(&self, app: &App, user_id: &str, token_hash: String, now: NaiveDateTime) -> SessionRow {
        SessionRow {
            id: uuid::Uuid::now_v7().to_string(),
            app_id: app.id.clone(),
            user_id: user_id.to_string(),
            token_hash,
            created_at: now,
            // Checked: a lifetime beyond the calendar (settings are bounded, but rows written
            // before the bound may hold any number) means no end, never a panic.
            expires_at: app
                .settings
                .session_ttl_days
                .and_then(|days| TimeDelta::try_days(i64::from(days)))
                .and_then(|ttl| now.checked_add_signed(ttl)),
            revoked_at: None,
        }
    }

    /// Opens a session for `user_id` inside the caller's transaction; returns the token, which
    /// exists nowhere else from now on.
    pub(crate) fn open_session(
        &self,
        conn: &mut DbConn,
        app: &App,
        user_id: &str,
        now: NaiveDateTime,
    ) -> Result<String> {
        let token = new_token();
        store::sessions::insert(conn, &self.session_row(app, user_id, self.token_hash(app, &token), now))?;
        Ok(token)
    }

    /// The live session a token belongs to, if any. A malformed, unknown, revoked or expired token
    /// is simply `None`: endpoints that need no user ignore it.
    pub fn session(&self, app: &App, token: &str) -> Result<Option<Session>> {
        let token = token.trim();
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        // Under the current secret, else a previous one (rotation): such a session is hashed again
        // under the current secret, so it outlives the previous secret's removal.
        let mut found = None;
        // The session and its user come in one query: one round trip per authenticated request.
        for (i, hash) in self.keys.keyed_hashes(&["session", &app.id, token]).into_iter().enumerate() {
            if let Some(found_row) = store::sessions::find_live_with_user(&mut conn, &app.id, &hash, now)? {
                found = Some((found_row, i > 0));
                break;
            }
        }
        let Some(((row, user), aged)) = found else {
            return Ok(None);
        };
        if aged {
            let current = self.token_hash(app, token);
            store::write_tx(&mut conn, |c| store::sessions::set_token_hash(c, &row.id, &row.token_hash, &current))?;
        }
        let user = User::from_row(&user)?;
        Ok(Some(Session { id: row.id, user, created_at: row.created_at }))
    }

    /// Ends one session (a logout): its token stops working at once. Ending an ended session is
    /// not an error.
    pub fn end_session(&self, session_id: &str) -> Result<()> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| store::sessions::revoke(conn, session_id, now))?;
        Ok(())
    }

    /// Revokes every session of the user and opens a new one: LeanCloud's refreshSessionToken
    /// ("the old token dies").
    pub fn refresh_session(&self, app: &App, user_id: &str) -> Result<(User, String)> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            let user = self.user_in(conn, app, user_id)?.ok_or(crate::core::Error::UserNotFound)?;
            store::sessions::revoke_all_except(conn, user_id, None, now)?;
            let token = self.open_session(conn, app, user_id, now)?;
            Ok((user, token))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_look_like_leancloud_ones() {
        let t = super::new_token();
        assert_eq!(t.len(), 25);
        assert!(t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_ne!(t, super::new_token());
    }
}
