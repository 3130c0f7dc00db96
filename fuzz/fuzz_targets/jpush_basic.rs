//! JPush's `Authorization: Basic base64(appKey:masterSecret)`, as `jpush::auth::basic_credentials`
//! reads it. What holds: no panic; only JPush's two errors (400 50001 without a header, 401 50002
//! otherwise); a pair read back is non-empty, the key has no `:`, and writing it again reads the
//! same pair.
#![no_main]

use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use phonebase::http::jpush::auth::basic_credentials;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    match basic_credentials(&headers) {
        Err(e) => assert!(matches!((e.status.as_u16(), e.code), (400, 50001) | (401, 50002)), "{e:?}"),
        Ok((key, secret)) => {
            assert!(!key.is_empty() && !secret.is_empty() && !key.contains(':'));
            let again = base64::engine::general_purpose::STANDARD.encode(format!("{key}:{secret}"));
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Basic {again}")).unwrap());
            let (k, s) = basic_credentials(&headers).expect("a pair written again reads again");
            assert_eq!((k, s), (key, secret));
        }
    }
});
