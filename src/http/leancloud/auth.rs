//! Who is calling (contract §2): LeanCloud's headers and signature rule, read into the kit's
//! [`Caller`]. Header names are matched case-insensitively by HTTP itself; the hex signature is
//! accepted in either case.

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use md5::{Digest, Md5};

use super::error::LcError;
use crate::core::apps::App;
use crate::core::secrets::ct_eq;
use crate::http::AppState;
use crate::http::kit::caller::{AppRef, Caller, Rules};

const APP_ID: &[&str] = &["x-lc-id", "x-avoscloud-application-id", "x-uluru-application-id"];
const APP_KEY: &[&str] = &["x-lc-key", "x-avoscloud-application-key", "x-uluru-application-key"];
const MASTER_KEY: &[&str] = &["x-avoscloud-master-key", "x-uluru-master-key"];
const SIGN: &[&str] = &["x-lc-sign", "x-avoscloud-request-sign"];
const SESSION: &[&str] = &["x-lc-session", "x-avoscloud-session-token", "x-uluru-session-token"];

/// LeanCloud's way of naming the app and proving a key.
pub struct LeanCloud;

/// An authenticated LeanCloud request.
pub type LcAuth = Caller<LeanCloud>;

impl Rules for LeanCloud {
    type Error = LcError;

    fn app(req: &HttpRequest, _: &AppState) -> Result<AppRef, LcError> {
        header(req.headers(), APP_ID).map(|id| AppRef::Id(id.to_string())).ok_or_else(LcError::unauthorized)
    }

    fn master(req: &HttpRequest, state: &AppState, app: &App) -> Result<bool, LcError> {
        let now_ms = state.core.clock.now().timestamp_millis();
        check_keys(req.headers(), app, now_ms, state.config.leancloud.signature_max_age_secs)
            .ok_or_else(LcError::unauthorized)
    }

    /// `X-LC-Session` (or an alias).
    fn session_token(req: &HttpRequest) -> Option<String> {
        header(req.headers(), SESSION).map(str::to_string)
    }
}

fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| headers.get(*n)).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn md5_hex(input: &str) -> String {
    hex::encode(Md5::digest(input.as_bytes()))
}

/// Which key the request proved it holds: `Some(true)` master, `Some(false)` app key, `None` neither.
/// Public for the fuzz target `leancloud_signature`.
#[doc(hidden)]
pub fn check_keys(headers: &HeaderMap, app: &App, now_ms: i64, max_age_secs: u64) -> Option<bool> {
    if let Some(key) = header(headers, APP_KEY) {
        return match key.strip_suffix(",master") {
            Some(master) => ct_eq(master, &app.master_key).then_some(true),
            None => ct_eq(key, &app.app_key).then_some(false),
        };
    }
    if let Some(master) = header(headers, MASTER_KEY) {
        return ct_eq(master, &app.master_key).then_some(true);
    }
    let sign = header(headers, SIGN)?;
    let mut parts = sign.split(',');
    let (sig, ts, suffix) = (parts.next()?, parts.next()?, parts.next());
    if parts.next().is_some() || ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if max_age_secs > 0 {
        let ts_ms: i64 = ts.parse().ok()?;
        if now_ms.checked_sub(ts_ms)?.unsigned_abs() > max_age_secs.saturating_mul(1000) {
            return None;
        }
    }
    let sig = sig.to_ascii_lowercase();
    match suffix {
        Some("master") => ct_eq(&sig, &md5_hex(&format!("{ts}{}", app.master_key))).then_some(true),
        None => ct_eq(&sig, &md5_hex(&format!("{ts}{}", app.app_key))).then_some(false),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn app() -> App {
        App {
            id: "app".into(),
            name: "t".into(),
            app_key: "UtOCzqb67d3sN12Kts4URwy8".into(),
            master_key: "DyJegPlemooo4X1tg94gQkw1".into(),
            settings: Default::default(),
            credentials: Default::default(),
            own_providers: Vec::new(),
            created_at: chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc(),
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn contract_signature_vectors() {
        let app = app();
        let ok = |h: &[(&str, &str)]| check_keys(&headers(h), &app, 0, 0);
        assert_eq!(ok(&[("x-lc-sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943466")]), Some(false));
        assert_eq!(ok(&[("x-lc-sign", "D5BCBB897E19B2F6633C716DFDFAF9BE,1453014943466")]), Some(false));
        assert_eq!(ok(&[("x-lc-sign", "e074720658078c898aa0d4b1b82bdf4b,1453014943466,master")]), Some(true));
        assert_eq!(
            ok(&[("x-avoscloud-request-sign", "e074720658078c898aa0d4b1b82bdf4b,1453014943466,master")]),
            Some(true)
        );
        // The app-key signature does not pass as master, nor the master one as app.
        assert_eq!(ok(&[("x-lc-sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943466,master")]), None);
        assert_eq!(ok(&[("x-lc-sign", "e074720658078c898aa0d4b1b82bdf4b,1453014943466")]), None);
        assert_eq!(ok(&[("x-lc-sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943467")]), None);
        assert_eq!(ok(&[("x-lc-sign", "garbage")]), None);
        assert_eq!(ok(&[]), None);
    }

    #[test]
    fn plain_keys() {
        let app = app();
        let ok = |h: &[(&str, &str)]| check_keys(&headers(h), &app, 0, 0);
        assert_eq!(ok(&[("x-lc-key", "UtOCzqb67d3sN12Kts4URwy8")]), Some(false));
        assert_eq!(ok(&[("x-lc-key", "DyJegPlemooo4X1tg94gQkw1,master")]), Some(true));
        assert_eq!(ok(&[("x-lc-key", "DyJegPlemooo4X1tg94gQkw1")]), None);
        assert_eq!(ok(&[("x-avoscloud-application-key", "UtOCzqb67d3sN12Kts4URwy8")]), Some(false));
        assert_eq!(ok(&[("x-uluru-master-key", "DyJegPlemooo4X1tg94gQkw1")]), Some(true));
    }

    #[test]
    fn signature_age_window() {
        let app = app();
        let h = headers(&[("x-lc-sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943466")]);
        assert_eq!(check_keys(&h, &app, 1453014943466 + 59_000, 60), Some(false));
        assert_eq!(check_keys(&h, &app, 1453014943466 + 61_000, 60), None);
    }
}
