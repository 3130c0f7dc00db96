use serde_json::json;

use crate::helpers::{TestApp, TestDb, send};
use phonebase::core::apps::NewApp;

const APP_KEY: &str = "UtOCzqb67d3sN12Kts4URwy8";
const MASTER_KEY: &str = "DyJegPlemooo4X1tg94gQkw1";

/// An app with the keys of the contract's test vectors.
async fn vector_app(db: &TestDb) -> TestApp {
    let app = TestApp::spawn(db).await;
    let pinned = app
        .core
        .create_app(NewApp {
            name: "Vectors".into(),
            app_key: Some(APP_KEY.into()),
            master_key: Some(MASTER_KEY.into()),
            ..Default::default()
        })
        .unwrap();
    app.with_app(pinned)
}

async fn post_with(app: &TestApp, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut req =
        app.client.post(app.url("/1.1/verifySmsCode/000000")).json(&json!({"mobilePhoneNumber": "13800138000"}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    send(req).await
}

#[tokio::test]
async fn contract_signature_vectors_authenticate() {
    let db = TestDb::new();
    let app = vector_app(&db).await;
    let id = app.app.id.clone();
    // Authenticated requests get past auth to the code check: 603, not 401.
    for headers in [
        vec![("X-LC-Id", id.as_str()), ("X-LC-Sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943466")],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Sign", "D5BCBB897E19B2F6633C716DFDFAF9BE,1453014943466")],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Sign", "e074720658078c898aa0d4b1b82bdf4b,1453014943466,master")],
        vec![
            ("X-AVOSCloud-Application-Id", id.as_str()),
            ("X-AVOSCloud-Request-Sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943466"),
        ],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Key", APP_KEY)],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Key", "DyJegPlemooo4X1tg94gQkw1,master")],
        vec![("X-Uluru-Application-Id", id.as_str()), ("X-Uluru-Application-Key", APP_KEY)],
        vec![("X-AVOSCloud-Application-Id", id.as_str()), ("X-AVOSCloud-Master-Key", MASTER_KEY)],
    ] {
        let (status, body) = post_with(&app, &headers).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(603)), "{headers:?}: {body}");
    }
}

#[tokio::test]
async fn bad_credentials_get_the_401_body() {
    let db = TestDb::new();
    let app = vector_app(&db).await;
    let id = app.app.id.clone();
    for headers in [
        vec![],
        vec![("X-LC-Key", APP_KEY)],
        vec![("X-LC-Id", "nosuchapp"), ("X-LC-Key", APP_KEY)],
        vec![("X-LC-Id", id.as_str())],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Key", "wrong")],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Key", "UtOCzqb67d3sN12Kts4URwy8,master")],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943466,master")],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Sign", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943467")],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Sign", "d5bcbb897e19b2f6633c716dfdfaf9be")],
        vec![("X-LC-Id", id.as_str()), ("X-LC-Sign", ",,,")],
    ] {
        let (status, body) = post_with(&app, &headers).await;
        assert_eq!(status, 401, "{headers:?}");
        assert_eq!(body, json!({"code": 401, "error": "Unauthorized."}));
    }
}

#[tokio::test]
async fn server_date_needs_no_headers() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (status, body) = send(app.client.get(app.url("/1.1/date"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["__type"], "Date");
    let iso = body["iso"].as_str().unwrap();
    assert!(iso.ends_with('Z') && iso.len() == 24, "{iso}");
    let (status, body) = send(app.client.get(app.url("/healthz"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], if db.is_postgres() { "postgres" } else { "sqlite" });
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/1.1/requestSmsCode"))
        .header("Origin", "http://example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type,x-lc-id,x-lc-sign,x-lc-session,x-lc-ua,x-lc-prod")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "http://example.com");
    assert_eq!(h["access-control-max-age"], "86400");
    let methods = h["access-control-allow-methods"].to_str().unwrap();
    for m in ["GET", "POST", "PUT", "DELETE", "OPTIONS"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed = h["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for name in ["x-lc-id", "x-lc-sign", "x-lc-session", "x-lc-ua", "content-type"] {
        assert!(allowed.contains(name), "{allowed}");
    }
    // Normal responses carry the origin too.
    let response = app.client.get(app.url("/1.1/date")).header("Origin", "http://example.com").send().await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "http://example.com");
}

#[tokio::test]
async fn bad_input_gets_a_json_error_never_a_500() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let cases: Vec<(&str, Vec<u8>, u16, i64)> = vec![
        ("/1.1/requestSmsCode", b"{bad".to_vec(), 400, 107),
        ("/1.1/requestSmsCode", b"[1,2]".to_vec(), 400, 107),
        ("/1.1/requestSmsCode", b"\"text\"".to_vec(), 400, 107),
        ("/1.1/requestSmsCode", vec![0xff, 0xfe], 400, 107),
        ("/1.1/requestSmsCode", b"null".to_vec(), 400, 212),
        ("/1.1/requestSmsCode", b"".to_vec(), 400, 212),
        ("/1.1/requestSmsCode", br#"{"mobilePhoneNumber":{"a":1}}"#.to_vec(), 400, 127),
        ("/1.1/requestSmsCode", br#"{"mobilePhoneNumber":"13800138000","ttl":"soon"}"#.to_vec(), 400, 1),
        ("/1.1/requestSmsCode", br#"{"mobilePhoneNumber":"13800138000","ttl":[1]}"#.to_vec(), 400, 1),
        ("/1.1/requestSmsCode", br#"{"mobilePhoneNumber":"13800138000","smsType":"fax"}"#.to_vec(), 400, 1),
        ("/1.1/requestSmsCode", br#"{"mobilePhoneNumber":"13800138000","name":[7]}"#.to_vec(), 400, 1),
        ("/1.1/requestSmsCode", format!(r#"{{"mobilePhoneNumber":"{}"}}"#, "1".repeat(100_000)).into_bytes(), 413, 1),
        ("/1.1/verifySmsCode/123456", b"null".to_vec(), 400, 212),
        ("/1.1/verifySmsCode/abc", br#"{"mobilePhoneNumber":"13800138000"}"#.to_vec(), 400, 603),
        ("/1.1/verifySmsCode/%E4%BD%A0", br#"{"mobilePhoneNumber":"13800138000"}"#.to_vec(), 400, 603),
        ("/1.1/noSuchThing", b"{}".to_vec(), 404, 404),
    ];
    for (path, body, status, code) in cases {
        let (got_status, got) = send(app.post(path).header("content-type", "text/plain").body(body)).await;
        assert_eq!((got_status, got["code"].as_i64()), (status, Some(code)), "{path}: {got}");
        assert!(got["error"].is_string());
    }
    let (status, body) = send(app.client.get(app.url("/1.1/requestSmsCode"))).await;
    assert_eq!((status, body["code"].as_i64()), (405, Some(405)));
    let (status, _) = send(app.client.get(app.url("/no/such/page"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn request_quirks_are_tolerated() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    // Doubled slashes and an empty query string (`?`), a number typed as a JSON number, ttl as a string.
    let url = format!("{}//1.1//requestSmsCode?", app.address);
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let sign = format!("{},{ts}", crate::helpers::md5_hex(&format!("{ts}{}", app.app.app_key)));
    let (status, body) = send(
        app.client
            .post(url)
            .header("X-LC-Id", &app.app.id)
            .header("X-LC-Sign", sign)
            .header("content-type", "application/json;charset=UTF-8")
            .body(r#"{"mobilePhoneNumber":13800138001,"ttl":"5"}"#),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({})));
    let text = app.wait_for_message("+8613800138001", 1).await["text"].as_str().unwrap().to_string();
    assert!(text.contains("5 分钟"), "{text}");
    // The number in the query string (older docs).
    let code = app.wait_for_code("+8613800138001", 1).await;
    let (status, _) = send(app.post(&format!("/1.1/verifySmsCode/{code}?mobilePhoneNumber=13800138001"))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn routes_can_live_under_a_path_prefix() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, crate::helpers::Options { base_path: "/pb/", ..Default::default() }).await;
    let (status, body) = send(app.client.get(app.url("/pb/1.1/date"))).await;
    assert_eq!((status, body["__type"].as_str()), (200, Some("Date")));
    assert_eq!(send(app.client.get(app.url("/pb/healthz"))).await.0, 200);
    assert_eq!(send(app.client.get(app.url("/1.1/date"))).await.0, 404);
    let (status, _) = send(app.post("/pb/1.1/requestSmsCode").json(&json!({"mobilePhoneNumber": "13800138090"}))).await;
    assert_eq!(status, 200);
}
