//! The open API's OAuth flow (contract C.1): client id and secret → a short-lived authorization
//! code → an access token (sent as `Authorization: Bearer`) with a refresh token. A refresh
//! revokes the pair it replaces. Codes and tokens are random, stored only as keyed hashes (under
//! the current secret, recognised under previous ones), used once.
//!
//! Refusals: a wrong client secret or a dead access token is `Error::UnknownApp` (the caller is
//! no known client of the app), an unknown, used or expired code or refresh token
//! `Error::InvalidCode`.

use chrono::{NaiveDateTime, TimeDelta};
use rand::RngCore;

use crate::core::apps::App;
use crate::core::secrets::ct_eq;
use crate::core::{Core, Error, Result};
use crate::store;

/// How long an authorization code may be traded for tokens.
pub const CODE_TTL_SECS: i64 = 600;
/// How long an access token works (MinCloud's documented 30 days).
pub const ACCESS_TTL_SECS: i64 = 30 * 24 * 3600;
/// How long a refresh token may renew the pair.
pub const REFRESH_TTL_SECS: i64 = 60 * 24 * 3600;

/// An authorization code and its lifetime in seconds.
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub code: String,
    pub expires_in: i64,
}

/// A fresh access and refresh token pair.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token works.
    pub expires_in: i64,
}

/// 40 lowercase hex digits (160 random bits), the shape of MinCloud's tokens.
fn new_secret_value() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Core {
    fn grant_hashes(&self, kind: &str, value: &str) -> Vec<String> {
        self.keys.keyed_hashes(&["open-api", kind, value])
    }

    fn grant_hash(&self, kind: &str, value: &str) -> String {
        self.keys.keyed_hash(&["open-api", kind, value])
    }

    /// Whether `secret` is the app's client secret for the open API (constant time). An app
    /// without one (never set) accepts nothing.
    fn client_secret_matches(&self, app: &App, secret: &str) -> bool {
        let expected = &app.credentials.mincloud.client_secret;
        !expected.is_empty() && ct_eq(secret.trim(), expected)
    }

    /// Step 1: the client proves its secret and gets an authorization code.
    pub fn authorize_client(&self, app: &App, client_secret: &str) -> Result<AuthorizationCode> {
        if !self.client_secret_matches(app, client_secret) {
            return Err(Error::UnknownApp);
        }
        let code = new_secret_value();
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            store::open_api::insert_code(
                conn,
                &store::open_api::NewCode {
                    id: &uuid::Uuid::now_v7().to_string(),
                    app_id: &app.id,
                    code_hash: &self.grant_hash("code", &code),
                    created_at: now,
                    expires_at: now + TimeDelta::seconds(CODE_TTL_SECS),
                },
            )
        })?;
        Ok(AuthorizationCode { code, expires_in: CODE_TTL_SECS })
    }

    /// Step 2: a code (used once, while live) becomes an access/refresh pair.
    pub fn exchange_authorization_code(&self, app: &App, client_secret: &str, code: &str) -> Result<AccessGrant> {
        if !self.client_secret_matches(app, client_secret) {
            return Err(Error::UnknownApp);
        }
        let hashes = self.grant_hashes("code", code.trim());
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            if !store::open_api::use_code(conn, &app.id, &hashes, now)? {
                return Err(Error::InvalidCode);
            }
            self.insert_grant(conn, app, now)
        })
    }

    /// Refresh: the refresh token's pair is revoked (access token included) and a new pair issued;
    /// of concurrent refreshes with one token exactly one wins.
    pub fn refresh_access(&self, app: &App, client_secret: &str, refresh_token: &str) -> Result<AccessGrant> {
        if !self.client_secret_matches(app, client_secret) {
            return Err(Error::UnknownApp);
        }
        let hashes = self.grant_hashes("refresh", refresh_token.trim());
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            if !store::open_api::revoke_by_refresh(conn, &app.id, &hashes, now)? {
                return Err(Error::InvalidCode);
            }
            self.insert_grant(conn, app, now)
        })
    }

    fn insert_grant(&self, conn: &mut store::DbConn, app: &App, now: NaiveDateTime) -> Result<AccessGrant> {
        let (access_token, refresh_token) = (new_secret_value(), new_secret_value());
        store::open_api::insert_tokens(
            conn,
            &store::open_api::NewTokens {
                id: &uuid::Uuid::now_v7().to_string(),
                app_id: &app.id,
                access_hash: &self.grant_hash("access", &access_token),
                refresh_hash: &self.grant_hash("refresh", &refresh_token),
                created_at: now,
                access_expires_at: now + TimeDelta::seconds(ACCESS_TTL_SECS),
                refresh_expires_at: now + TimeDelta::seconds(REFRESH_TTL_SECS),
            },
        )?;
        Ok(AccessGrant { access_token, refresh_token, expires_in: ACCESS_TTL_SECS })
    }

    /// The app a live access token speaks for; `Error::UnknownApp` (the token names no app) for an
    /// unknown, revoked or expired one.
    pub fn app_by_access_token(&self, access_token: &str) -> Result<std::sync::Arc<App>> {
        let token = access_token.trim();
        if token.is_empty() || token.len() > 128 {
            return Err(Error::UnknownApp);
        }
        let hashes = self.grant_hashes("access", token);
        let now = self.clock.now_naive();
        let app_id = {
            let mut conn = self.conn()?;
            store::open_api::app_of_access(&mut conn, &hashes, now)?.ok_or(Error::UnknownApp)?
        };
        self.app(&app_id)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_forty_hex_digits_and_vary() {
        let a = super::new_secret_value();
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(a, super::new_secret_value());
    }
}
