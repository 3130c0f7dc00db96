//! Who is calling: HTTP Basic `appKey:masterSecret` (contract B.1), read through the kit's
//! caller. No header is 400 50001; anything else that does not name an app with that secret is
//! 401 50002. The master secret is JPush's only key, so every caller is `master`.

use actix_web::HttpRequest;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use base64::Engine;

use super::error::JpError;
use crate::core::apps::App;
use crate::core::credentials::{Dialect, JPUSH_APP_KEY};
use crate::core::secrets::ct_eq;
use crate::http::AppState;
use crate::http::kit::caller::{AppRef, Caller, Rules};

/// JPush's rule for the kit's caller.
pub struct JPush;

/// An authenticated JPush request.
pub type JpAuth = Caller<JPush>;

impl Rules for JPush {
    type Error = JpError;

    fn app(req: &HttpRequest, _: &AppState) -> Result<AppRef, JpError> {
        let (key, _) = basic_credentials(req.headers())?;
        Ok(AppRef::Lookup(Box::new(move |core| core.app_by_credential(Dialect::JPush, JPUSH_APP_KEY, &key))))
    }

    fn master(req: &HttpRequest, _: &AppState, app: &App) -> Result<bool, JpError> {
        let (_, secret) = basic_credentials(req.headers())?;
        let expected = &app.credentials.jpush.master_secret;
        if expected.is_empty() || !ct_eq(&secret, expected) {
            return Err(JpError::auth_failed());
        }
        Ok(true)
    }
}

/// The `(appKey, masterSecret)` pair of a Basic `Authorization` header.
pub fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), JpError> {
    let value = headers.get(AUTHORIZATION).ok_or_else(JpError::missing_auth)?;
    let value = value.to_str().map_err(|_| JpError::auth_failed())?.trim();
    if value.is_empty() {
        return Err(JpError::missing_auth());
    }
    let (scheme, encoded) = value.split_once(' ').ok_or_else(JpError::auth_failed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(JpError::auth_failed());
    }
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| JpError::auth_failed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| JpError::auth_failed())?;
    let (key, secret) = decoded.split_once(':').ok_or_else(JpError::auth_failed)?;
    if key.is_empty() || secret.is_empty() {
        return Err(JpError::auth_failed());
    }
    Ok((key.to_string(), secret.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn basic_header() {
        let code = |h: &HeaderMap| basic_credentials(h).map_err(|e| (e.status.as_u16(), e.code));
        assert_eq!(code(&HeaderMap::new()), Err((400, 50001)));
        assert_eq!(code(&with("")), Err((400, 50001)));
        // base64("7d431e42dfa6a6d693ac2d04:5e987ac6d2e04d95a9d8f0d1"), the seed's curl -u.
        let seed =
            base64::engine::general_purpose::STANDARD.encode("7d431e42dfa6a6d693ac2d04:5e987ac6d2e04d95a9d8f0d1");
        assert_eq!(
            code(&with(&format!("Basic {seed}"))),
            Ok(("7d431e42dfa6a6d693ac2d04".into(), "5e987ac6d2e04d95a9d8f0d1".into()))
        );
        assert!(code(&with(&format!("basic  {seed}"))).is_ok());
        assert_eq!(code(&with(&format!("Bearer {seed}"))), Err((401, 50002)));
        assert_eq!(code(&with("Basic !!!")), Err((401, 50002)));
        let no_colon = base64::engine::general_purpose::STANDARD.encode("justakey");
        assert_eq!(code(&with(&format!("Basic {no_colon}"))), Err((401, 50002)));
        let empty_secret = base64::engine::general_purpose::STANDARD.encode("key:");
        assert_eq!(code(&with(&format!("Basic {empty_secret}"))), Err((401, 50002)));
    }
}
