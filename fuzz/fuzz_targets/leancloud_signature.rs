//! LeanCloud's key headers and `X-LC-Sign: md5(timestamp + key),timestamp[,master]`, as
//! `leancloud::auth::check_keys` reads them. The input is lines: app key, master key, a header
//! (its index in `NAMES`) and its value, a timestamp, now (ms), the allowed age (s), `master`.
//! What holds: no panic on any header value; a signature made by the rule verifies (as master
//! with `,master`) exactly when its timestamp is within the allowed age, in either case of hex,
//! and a signature with one character changed never does.
#![no_main]

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};
use phonebase::core::apps::App;
use phonebase::http::leancloud::auth::check_keys;

const NAMES: &[&str] = &[
    "x-lc-key",
    "x-avoscloud-application-key",
    "x-uluru-application-key",
    "x-avoscloud-master-key",
    "x-uluru-master-key",
    "x-lc-sign",
    "x-avoscloud-request-sign",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or_default();
    let (app_key, master_key, which, value) = (next(), next(), next(), next());
    let (ts, now_ms, max_age_secs, master) = (next(), next(), next(), next() == "master");
    let now_ms: i64 = now_ms.parse().unwrap_or_default();
    let max_age_secs: u64 = max_age_secs.parse().unwrap_or_default();
    let app = App {
        id: "app".into(),
        name: "fuzz".into(),
        app_key: app_key.into(),
        master_key: master_key.into(),
        settings: Default::default(),
        credentials: Default::default(),
        own_providers: Vec::new(),
        created_at: chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc(),
    };
    // Any value under any of the headers: no panic.
    if let Ok(v) = HeaderValue::from_str(value) {
        let mut headers = HeaderMap::new();
        let which = which.parse::<usize>().unwrap_or_default() % NAMES.len();
        headers.insert(HeaderName::from_static(NAMES[which]), v);
        let _ = check_keys(&headers, &app, now_ms, max_age_secs);
    }
    // A signature made by the rule, over a timestamp of digits.
    if ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    let key = if master { master_key } else { app_key };
    let sign: String = Md5::digest(format!("{ts}{key}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let header = if master { format!("{sign},{ts},master") } else { format!("{sign},{ts}") };
    let fresh = max_age_secs == 0
        || ts
            .parse::<i64>()
            .ok()
            .and_then(|t| now_ms.checked_sub(t))
            .is_some_and(|d| d.unsigned_abs() <= max_age_secs.saturating_mul(1000));
    let signed = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("x-lc-sign"), HeaderValue::from_str(value).unwrap());
        check_keys(&headers, &app, now_ms, max_age_secs)
    };
    let expected = fresh.then_some(master);
    assert_eq!(signed(&header), expected, "{header:?} at {now_ms}, max age {max_age_secs}");
    let upper = format!("{}{}", sign.to_ascii_uppercase(), &header[sign.len()..]);
    assert_eq!(signed(&upper), expected, "{upper:?}: the hex is read in either case");
    let tampered = format!("{}{}", if sign.starts_with('0') { '1' } else { '0' }, &header[1..]);
    assert_eq!(signed(&tampered), None, "{tampered:?}");
});
