//! Bmob's signed mode (hydrogen-js-sdk): `X-Bmob-Safe-Sign = md5(route + timestamp + securityCode +
//! noncestr + body + sdkVersion)` with its timestamp window, as `bmob::auth::signed_ok` checks it.
//! The input is lines: route, timestamp, security code, nonce, SDK version, now (ms), window (s),
//! a presented signature, then the body (the rest, any bytes). What holds: no panic on any header
//! values; a signature made by the rule over the values as the server reads them (trimmed)
//! verifies exactly when the timestamp is fresh and a security code is set, in either case of hex;
//! one character changed never verifies. A header value that is not visible ASCII counts as absent.
#![no_main]

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use libfuzzer_sys::fuzz_target;
use phonebase::http::bmob::auth::{Signed, fresh, signature, signed_ok};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(9, |&b| b == b'\n');
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (route, timestamp, security_code, nonce, version) = (next(), next(), next(), next(), next());
    let now_ms: i64 = next().parse().unwrap_or_default();
    let window_secs: u64 = next().parse().unwrap_or_default();
    let presented = next();
    let body = parts.next().unwrap_or_default().to_vec();
    let signed = Signed { route: route.clone(), body: Bytes::from(body.clone()) };
    let mut headers = HeaderMap::new();
    for (name, value) in
        [("x-bmob-safe-timestamp", &timestamp), ("x-bmob-noncestr-key", &nonce), ("x-bmob-sdk-version", &version)]
    {
        let Ok(value) = HeaderValue::from_str(value) else { return };
        headers.insert(HeaderName::from_static(name), value);
    }
    // Whatever is presented: no panic.
    if let Ok(value) = HeaderValue::from_str(&presented) {
        let mut headers = headers.clone();
        headers.insert(HeaderName::from_static("x-bmob-safe-sign"), value);
        let _ = signed_ok(&headers, &signed, &security_code, now_ms, window_secs);
    }
    let (ts, nonce, version) = (timestamp.trim(), nonce.trim(), version.trim());
    let sign = signature(&route, ts, &security_code, nonce, &body, version);
    // A header value with bytes beyond visible ASCII reads as absent (`HeaderValue::to_str`).
    let readable = headers.iter().all(|(_, v)| v.to_str().is_ok());
    let expected = readable
        && !ts.is_empty()
        && !nonce.is_empty()
        && !version.is_empty()
        && !security_code.is_empty()
        && fresh(ts, now_ms, window_secs);
    let check = |sign: &str| {
        let mut headers = headers.clone();
        headers.insert(HeaderName::from_static("x-bmob-safe-sign"), HeaderValue::from_str(sign).unwrap());
        signed_ok(&headers, &signed, &security_code, now_ms, window_secs)
    };
    assert_eq!(check(&sign), expected, "{sign} over {route:?} {ts:?} {nonce:?} {version:?}");
    assert_eq!(check(&sign.to_ascii_uppercase()), expected, "upper-case hex");
    let tampered = format!("{}{}", if sign.starts_with('0') { '1' } else { '0' }, &sign[1..]);
    assert!(!check(&tampered), "{tampered} verified");
});
