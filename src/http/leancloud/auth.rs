//! Who is calling: the app and whether the master key was used (contract §2). Header names are
//! matched case-insensitively by HTTP itself; the hex signature is accepted in either case.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpRequest, web};
use md5::{Digest, Md5};

use super::error::LcError;
use crate::core::apps::App;
use crate::core::secrets::ct_eq;
use crate::http::{AppState, blocking};

const APP_ID: &[&str] = &["x-lc-id", "x-avoscloud-application-id", "x-uluru-application-id"];
const APP_KEY: &[&str] = &["x-lc-key", "x-avoscloud-application-key", "x-uluru-application-key"];
const MASTER_KEY: &[&str] = &["x-avoscloud-master-key", "x-uluru-master-key"];
const SIGN: &[&str] = &["x-lc-sign", "x-avoscloud-request-sign"];
pub const SESSION: &[&str] = &["x-lc-session", "x-avoscloud-session-token", "x-uluru-session-token"];

/// An authenticated LeanCloud request.
#[derive(Debug, Clone)]
pub struct LcAuth {
    /// Shared with the app cache: settings (test numbers included) are not copied per request.
    pub app: Arc<App>,
    pub master: bool,
}

pub fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| headers.get(*n)).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn md5_hex(input: &str) -> String {
    hex::encode(Md5::digest(input.as_bytes()))
}

/// Which key the request proved it holds: `Some(true)` master, `Some(false)` app key, `None` neither.
fn check_keys(headers: &HeaderMap, app: &App, now_ms: i64, max_age_secs: u64) -> Option<bool> {
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

impl FromRequest for LcAuth {
    type Error = LcError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, LcError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req.app_data::<web::Data<AppState>>().expect("AppState is registered").clone();
            let app_id = header(req.headers(), APP_ID).ok_or_else(LcError::unauthorized)?.to_string();
            let app = match state.core.cached_app(&app_id) {
                Some(app) => app,
                None => {
                    let core = state.core.clone();
                    blocking(move || core.app(&app_id)).await?
                }
            };
            let now_ms = state.core.clock.now().timestamp_millis();
            match check_keys(req.headers(), &app, now_ms, state.config.leancloud.signature_max_age_secs) {
                Some(master) => Ok(LcAuth { app, master }),
                None => Err(LcError::unauthorized()),
            }
        })
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
