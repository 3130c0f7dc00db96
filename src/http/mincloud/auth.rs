//! Who is calling (contract C.1, C.2). The client API (`/hserve`) names the app by
//! `X-Hydrogen-Client-ID` (the app's MinCloud client id, not a secret: it ships in every app) and
//! the user by `Authorization: Hydrogen-r1 <token>`, a session token of the core. The open API
//! (`/oserve`) is the app's own server, proven by `Authorization: Bearer <access_token>` from the
//! OAuth flow.

use actix_web::HttpRequest;

use super::error::McError;
use crate::core::apps::App;
use crate::core::credentials::{Dialect, MINCLOUD_CLIENT_ID};
use crate::http::AppState;
use crate::http::kit::caller::{AppRef, Rules};

pub const CLIENT_ID: &str = "x-hydrogen-client-id";
/// The scheme of the client API's session header.
const SESSION_SCHEME: &str = "Hydrogen-r1";
/// Longest credential read from a header.
const MAX_CREDENTIAL: usize = 128;

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_CREDENTIAL + 16)
}

/// The credential of an `Authorization: <scheme> <value>` header (scheme case-insensitive).
/// Public for the fuzz target `mincloud_auth`.
#[doc(hidden)]
pub fn authorization<'a>(req: &'a HttpRequest, scheme: &str) -> Option<&'a str> {
    let value = header(req, "authorization")?;
    let (given, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (given.eq_ignore_ascii_case(scheme) && !credential.is_empty() && credential.len() <= MAX_CREDENTIAL)
        .then_some(credential)
}

/// The client API: the app by its client id; the user's session from `Hydrogen-r1`.
pub struct MinCloud;

impl Rules for MinCloud {
    type Error = McError;

    fn app(req: &HttpRequest, _: &AppState) -> Result<AppRef, McError> {
        let id = header(req, CLIENT_ID).ok_or_else(McError::unauthorized)?.to_string();
        Ok(AppRef::Lookup(Box::new(move |core| core.app_by_credential(Dialect::MinCloud, MINCLOUD_CLIENT_ID, &id))))
    }

    /// The client id is public: it proves no key, so nothing is master here.
    fn master(_: &HttpRequest, _: &AppState, _: &App) -> Result<bool, McError> {
        Ok(false)
    }

    fn session_token(req: &HttpRequest) -> Option<String> {
        authorization(req, SESSION_SCHEME).map(str::to_string)
    }
}

/// The open API: the app whose live access token the `Bearer` header carries; the app's own
/// server, so master.
pub struct OpenApi;

impl Rules for OpenApi {
    type Error = McError;

    fn app(req: &HttpRequest, _: &AppState) -> Result<AppRef, McError> {
        let token = authorization(req, "Bearer").ok_or_else(McError::unauthorized)?.to_string();
        Ok(AppRef::Lookup(Box::new(move |core| core.app_by_access_token(&token))))
    }

    fn master(_: &HttpRequest, _: &AppState, _: &App) -> Result<bool, McError> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn authorization_schemes() {
        let req = |v: &str| TestRequest::default().insert_header(("Authorization", v)).to_http_request();
        assert_eq!(authorization(&req("Hydrogen-r1 abc"), SESSION_SCHEME), Some("abc"));
        assert_eq!(authorization(&req("hydrogen-r1   abc "), SESSION_SCHEME), Some("abc"));
        assert_eq!(authorization(&req("Bearer abc"), SESSION_SCHEME), None);
        assert_eq!(authorization(&req("Bearer abc"), "Bearer"), Some("abc"));
        assert_eq!(authorization(&req("Bearer"), "Bearer"), None);
        assert_eq!(authorization(&req("Bearer "), "Bearer"), None);
        assert_eq!(authorization(&req(&format!("Bearer {}", "a".repeat(129))), "Bearer"), None);
    }
}
