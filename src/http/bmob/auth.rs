//! Who is calling, in Bmob's two header modes (contract A.2):
//! - plain: `X-Bmob-Application-Id` with `X-Bmob-REST-API-Key` or `X-Bmob-Master-Key` (bmobpy,
//!   curl, servers);
//! - signed (hydrogen-js-sdk 2.x): `X-Bmob-Secret-Key` names the app, `X-Bmob-Safe-Sign` is
//!   `md5(route + timestamp + securityCode + noncestr + body + sdkVersion)`, the security code
//!   never travels. The timestamp (seconds or milliseconds) must be within
//!   `bmob.signature_window_secs` of now, and a nonce is refused the second time within it.
//!
//! Every failure is the same 401 `{"error":"unauthorized"}`.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;
use actix_web::{HttpMessage, HttpRequest, web};
use md5::{Digest, Md5};

use super::error::BmobError;
use crate::core::apps::App;
use crate::core::credentials::{BMOB_APPLICATION_ID, BMOB_SECRET_KEY, Dialect};
use crate::core::secrets::ct_eq;
use crate::http::AppState;
use crate::http::kit::caller::{AppRef, Rules};

const APPLICATION_ID: &str = "x-bmob-application-id";
const REST_API_KEY: &str = "x-bmob-rest-api-key";
const MASTER_KEY: &str = "x-bmob-master-key";
const SECRET_KEY: &str = "x-bmob-secret-key";
const SAFE_SIGN: &str = "x-bmob-safe-sign";
const SAFE_TIMESTAMP: &str = "x-bmob-safe-timestamp";
const NONCE: &str = "x-bmob-noncestr-key";
const SDK_VERSION: &str = "x-bmob-sdk-version";
pub const SESSION_TOKEN: &str = "x-bmob-session-token";

/// The Bmob dialect's caller rules: handlers take `Caller<Bmob>`.
pub struct Bmob;

/// What the signature covers besides the headers, kept by the scope's middleware before any
/// handler reads the body: the route as the client signed it (the path under the mount prefix,
/// no query) and the body's bytes exactly as received.
#[derive(Debug, Clone)]
pub struct Signed {
    pub route: String,
    pub body: web::Bytes,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn is_signed(headers: &HeaderMap) -> bool {
    header(headers, SAFE_SIGN).is_some()
}

/// `md5_hex_lower(route + timestamp + securityCode + noncestr + body + sdkVersion)`, over bytes:
/// the body is hashed as received (JSON.stringify leaves non-ASCII unescaped, so UTF-8).
pub fn signature(route: &str, timestamp: &str, security_code: &str, nonce: &str, body: &[u8], version: &str) -> String {
    let mut md5 = Md5::new();
    for part in
        [route.as_bytes(), timestamp.as_bytes(), security_code.as_bytes(), nonce.as_bytes(), body, version.as_bytes()]
    {
        md5.update(part);
    }
    hex::encode(md5.finalize())
}

/// The timestamp in milliseconds: ten digits or fewer are seconds (the SDK), more are
/// milliseconds (the docs).
fn timestamp_ms(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = text.parse().ok()?;
    Some(if text.len() <= 10 { value.checked_mul(1000)? } else { value })
}

/// Whether `timestamp` is within `window_secs` of `now_ms` (0: any time).
pub fn fresh(timestamp: &str, now_ms: i64, window_secs: u64) -> bool {
    let Some(ts) = timestamp_ms(timestamp) else { return false };
    window_secs == 0 || now_ms.abs_diff(ts) <= window_secs.saturating_mul(1000)
}

/// Nonces seen within the window, per app, in this instance (a replay reaching another instance
/// within the window is not caught: the window bounds it).
pub struct Nonces {
    seen: Mutex<HashMap<(String, String), Instant>>,
}

const MAX_NONCES: usize = 200_000;

impl Nonces {
    fn new() -> Self {
        Self { seen: Mutex::new(HashMap::new()) }
    }

    /// Records the nonce; false when it was seen within `window`.
    pub fn first_use(&self, app_id: &str, nonce: &str, window: Duration) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_NONCES {
            seen.retain(|_, at| now.duration_since(*at) <= window);
            if seen.len() >= MAX_NONCES {
                // Everything is within the window: forgetting would let a replay through, so the
                // newest signatures wait for room.
                return false;
            }
        }
        let key = (app_id.to_string(), nonce.to_string());
        match seen.get(&key) {
            Some(at) if now.duration_since(*at) <= window => false,
            _ => {
                seen.insert(key, now);
                true
            }
        }
    }
}

static NONCES: LazyLock<Nonces> = LazyLock::new(Nonces::new);

/// The whole signed-mode check for `app`, given its security code. Public for the fuzz target
/// `bmob_signature`.
#[doc(hidden)]
pub fn signed_ok(headers: &HeaderMap, signed: &Signed, security_code: &str, now_ms: i64, window_secs: u64) -> bool {
    let (Some(sign), Some(ts), Some(nonce), Some(version)) = (
        header(headers, SAFE_SIGN),
        header(headers, SAFE_TIMESTAMP),
        header(headers, NONCE),
        header(headers, SDK_VERSION),
    ) else {
        return false;
    };
    if !fresh(ts, now_ms, window_secs) || security_code.is_empty() {
        return false;
    }
    let sign = sign.to_ascii_lowercase();
    // The route as signed; a client that percent-encoded it signed the decoded form.
    let decoded = percent_decoded(&signed.route);
    ct_eq(&sign, &signature(&signed.route, ts, security_code, nonce, &signed.body, version))
        | decoded
            .as_deref()
            .is_some_and(|route| ct_eq(&sign, &signature(route, ts, security_code, nonce, &signed.body, version)))
}

fn percent_decoded(route: &str) -> Option<String> {
    if !route.contains('%') {
        return None;
    }
    let bytes: Vec<u8> = form_urlencoded::parse(format!("r={}", route.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

impl Rules for Bmob {
    type Error = BmobError;

    fn app(req: &HttpRequest, _: &AppState) -> Result<AppRef, BmobError> {
        let headers = req.headers();
        let (name, value) = if is_signed(headers) {
            (BMOB_SECRET_KEY, header(headers, SECRET_KEY))
        } else {
            (BMOB_APPLICATION_ID, header(headers, APPLICATION_ID))
        };
        let value = value.ok_or_else(BmobError::unauthorized)?.to_string();
        Ok(AppRef::Lookup(Box::new(move |core| core.app_by_credential(Dialect::Bmob, name, &value))))
    }

    fn master(req: &HttpRequest, state: &AppState, app: &App) -> Result<bool, BmobError> {
        let headers = req.headers();
        let keys = &app.credentials.bmob;
        let master = match header(headers, MASTER_KEY) {
            Some(given) if ct_eq(given, &keys.master_key) => true,
            Some(_) => return Err(BmobError::unauthorized()),
            None => false,
        };
        if is_signed(headers) {
            let signed = req.extensions().get::<Signed>().cloned().ok_or_else(BmobError::unauthorized)?;
            let now_ms = state.core.clock.now().timestamp_millis();
            let window = state.config.bmob.signature_window_secs;
            if !signed_ok(headers, &signed, &keys.security_code, now_ms, window) {
                return Err(BmobError::unauthorized());
            }
            if state.config.bmob.nonce_replay_guard
                && window > 0
                && let Some(nonce) = header(headers, NONCE)
                // Twice the window: a timestamp may sit that far either side of now.
                && !NONCES.first_use(&app.id, nonce, Duration::from_secs(window.saturating_mul(2)))
            {
                return Err(BmobError::unauthorized());
            }
            return Ok(master);
        }
        if master {
            return Ok(true);
        }
        match header(headers, REST_API_KEY) {
            Some(given) if ct_eq(given, &keys.rest_api_key) => Ok(false),
            _ => Err(BmobError::unauthorized()),
        }
    }

    fn session_token(req: &HttpRequest) -> Option<String> {
        header(req.headers(), SESSION_TOKEN).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    /// Vectors built from the contract's rule (A.2) and checked against an independent MD5 of the
    /// concatenated string (`printf '%s' ... | md5sum`).
    #[test]
    fn signature_vectors() {
        // POST /1/requestSmsCode as hydrogen-js-sdk sends it, with a non-ASCII template name.
        let body = r#"{"mobilePhoneNumber":"13800138000","template":"注册模板"}"#;
        assert_eq!(
            signature("/1/requestSmsCode", "1712902737", "abc123", "k3J9xQ2mP0aZ7bYc", body.as_bytes(), "10"),
            "d82ce30c4bb802e3932c2b13fd74ae45"
        );
        // GET: the body is "" (the query is not signed).
        assert_eq!(
            signature("/1/login", "1712902737", "abc123", "k3J9xQ2mP0aZ7bYc", b"", "10"),
            "b753f3eafe55842f0b7175fc2a04792a"
        );
    }

    fn signed_request(route: &str, body: &str, ts: &str, code: &str) -> (HeaderMap, Signed) {
        let sign = signature(route, ts, code, "n0nce0123456789a", body.as_bytes(), "10");
        let map = headers(&[
            (SECRET_KEY, "0123456789abcdef"),
            (SAFE_SIGN, &sign),
            (SAFE_TIMESTAMP, ts),
            (NONCE, "n0nce0123456789a"),
            (SDK_VERSION, "10"),
        ]);
        (map, Signed { route: route.into(), body: web::Bytes::from(body.to_string()) })
    }

    #[test]
    fn signed_mode_checks_code_body_route_and_window() {
        let now_ms = 1_712_902_737_000;
        let body = r#"{"mobilePhoneNumber":"13800138000"}"#;
        let (h, s) = signed_request("/1/verifySmsCode/123456", body, "1712902737", "right-code");
        assert!(signed_ok(&h, &s, "right-code", now_ms, 10));
        // Wrong security code, another body, another route: refused.
        assert!(!signed_ok(&h, &s, "wrong-code", now_ms, 10));
        let other_body =
            Signed { body: web::Bytes::from_static(b"{\"mobilePhoneNumber\":\"13800138001\"}"), ..s.clone() };
        assert!(!signed_ok(&h, &other_body, "right-code", now_ms, 10));
        let other_route = Signed { route: "/1/verifySmsCode/654321".into(), ..s.clone() };
        assert!(!signed_ok(&h, &other_route, "right-code", now_ms, 10));
        // The window, in seconds and in milliseconds.
        assert!(signed_ok(&h, &s, "right-code", now_ms + 10_000, 10));
        assert!(!signed_ok(&h, &s, "right-code", now_ms + 11_000, 10));
        assert!(!signed_ok(&h, &s, "right-code", now_ms - 11_000, 10));
        assert!(signed_ok(&h, &s, "right-code", now_ms + 86_400_000, 0));
        let (h_ms, s_ms) = signed_request("/1/users", "{}", "1712902737500", "right-code");
        assert!(signed_ok(&h_ms, &s_ms, "right-code", now_ms + 9_000, 10));
        assert!(!signed_ok(&h_ms, &s_ms, "right-code", now_ms + 11_000, 10));
        // An upper-case signature is the same signature.
        let upper = headers(&[
            (SAFE_SIGN, &h.get(SAFE_SIGN).unwrap().to_str().unwrap().to_ascii_uppercase()),
            (SAFE_TIMESTAMP, "1712902737"),
            (NONCE, "n0nce0123456789a"),
            (SDK_VERSION, "10"),
        ]);
        assert!(signed_ok(&upper, &s, "right-code", now_ms, 10));
        // No security code set: nothing verifies.
        assert!(!signed_ok(&h, &s, "", now_ms, 10));
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp_ms("1712902737"), Some(1_712_902_737_000));
        assert_eq!(timestamp_ms("1712902737123"), Some(1_712_902_737_123));
        for bad in ["", "-1", "17129027a7", "1.5", "99999999999999999"] {
            assert_eq!(timestamp_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn nonces_are_single_use_within_the_window() {
        let nonces = Nonces::new();
        let window = Duration::from_secs(20);
        assert!(nonces.first_use("app", "abc", window));
        assert!(!nonces.first_use("app", "abc", window));
        assert!(nonces.first_use("other", "abc", window));
        assert!(nonces.first_use("app", "abd", Duration::ZERO));
        std::thread::sleep(Duration::from_millis(5));
        assert!(nonces.first_use("app", "abd", Duration::ZERO), "past the window it is new again");
    }
}
