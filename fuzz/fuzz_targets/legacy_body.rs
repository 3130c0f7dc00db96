//! The `text/plain` bodies of the old LeanCloud JavaScript SDK (0.x): a JSON object carrying the
//! method and the credentials (`_method`, `_ApplicationId`, ...), which `leancloud::legacy::apply`
//! turns back into the request it stands for. What holds: no panic; either a LeanCloud error, or a
//! request with a known method, the app id in `X-LC-Id` byte for byte, no legacy key left, and
//! for a GET every other key in the query, in order, after the query the request had.
#![no_main]

use actix_web::http::Method;
use actix_web::test::TestRequest;
use libfuzzer_sys::fuzz_target;
use phonebase::http::leancloud::legacy::apply;
use serde_json::{Map, Value};

const QUERY: &str = "where=%7B%7D";

fuzz_target!(|data: &[u8]| {
    // As the middleware: only a JSON object with a string `_ApplicationId` is rewritten.
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(data) else { return };
    let Some(app_id) = map.get("_ApplicationId").and_then(Value::as_str).map(str::to_string) else { return };
    let original = map.clone();
    let mut req = TestRequest::post()
        .uri(&format!("/1.1/classes/_User?{QUERY}"))
        .insert_header(("content-type", "text/plain"))
        .to_srv_request();
    if let Err(e) = apply(&mut req, &mut map) {
        assert!(matches!(e.status.as_u16(), 400 | 401), "{e:?}");
        return;
    }
    let method = req.method().clone();
    assert!([Method::GET, Method::POST, Method::PUT, Method::DELETE].contains(&method), "{method}");
    assert_eq!(req.headers().get("x-lc-id").map(|v| v.as_bytes()), Some(app_id.as_bytes()));
    assert_eq!(req.headers().get("content-type").map(|v| v.as_bytes()), Some(&b"application/json"[..]));
    let rest: Map<String, Value> = original.into_iter().filter(|(k, _)| !is_legacy(k)).collect();
    if method == Method::GET {
        assert_eq!(req.path(), "/1.1/classes/_User");
        let pairs: Vec<(String, String)> = form_urlencoded_pairs(req.query_string());
        assert_eq!(pairs.first().map(|(k, v)| (k.as_str(), v.as_str())), Some(("where", "{}")));
        let expected: Vec<(String, String)> =
            rest.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect();
        assert_eq!(pairs[1..], expected[..], "the query carries the body's other keys");
    } else {
        assert!(map.is_empty(), "the body moved into the payload");
    }
});

fn is_legacy(key: &str) -> bool {
    phonebase::http::leancloud::legacy::LEGACY_KEYS.contains(&key)
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}
