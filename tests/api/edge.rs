//! The edge (issue 21): bad bytes on every route, forwarded headers, framework errors in JSON,
//! no-store and no framing, kinds on the owner routes, bounds on numbers, a panic inside a write
//! transaction, and no secret in the server's log.

use std::io::{BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phonebase::core::review::Content;
use phonebase::core::texts::templates::{Category, Placement};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, TestDb, md5_hex, send};

const OPERATOR_PASSWORD: &str = "operator-pass-9Qx";

/// A signed-in console operator: the cookie and the CSRF token.
async fn console_session(app: &TestApp) -> (String, String) {
    match app.core.create_operator("edge-op", OPERATOR_PASSWORD) {
        Ok(_) | Err(phonebase::core::Error::NameTaken) => {}
        Err(e) => panic!("{e}"),
    }
    let response = app
        .client
        .post(app.url("/console/api/session"))
        .json(&json!({"username": "edge-op", "password": OPERATOR_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let csrf = response.json::<Value>().await.unwrap()["csrfToken"].as_str().unwrap().to_string();
    (cookie, csrf)
}

fn master_sign(app: &TestApp) -> String {
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    format!("{},{ts},master", md5_hex(&format!("{ts}{}", app.app.master_key)))
}

/// Every route of the router (`src/http/leancloud/mod.rs`, `src/http/bmob/mod.rs`, `src/http/console/mod.rs`,
/// `src/startup.rs`, `src/http/reports.rs`): method and path, `{..}` where an id goes. Keep it whole when adding routes.
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/1.1/date"),
    ("POST", "/1.1/requestSmsCode"),
    ("POST", "/1.1/verifySmsCode/{code}"),
    ("GET", "/1.1/requestCaptcha"),
    ("GET", "/1.1/captchaImage"),
    ("POST", "/1.1/verifyCaptcha"),
    ("POST", "/1.1/users"),
    ("POST", "/1.1/classes/_User"),
    ("GET", "/1.1/users"),
    ("GET", "/1.1/classes/_User"),
    ("POST", "/1.1/login"),
    ("GET", "/1.1/login"),
    ("POST", "/1.1/usersByMobilePhone"),
    ("GET", "/1.1/users/me"),
    ("POST", "/1.1/users/me/jwt"),
    ("GET", "/1.1/users/{user}"),
    ("PUT", "/1.1/users/{user}"),
    ("DELETE", "/1.1/users/{user}"),
    ("GET", "/1.1/classes/_User/{user}"),
    ("PUT", "/1.1/classes/_User/{user}"),
    ("DELETE", "/1.1/classes/_User/{user}"),
    ("PUT", "/1.1/users/{user}/refreshSessionToken"),
    ("PUT", "/1.1/users/{user}/updatePassword"),
    ("POST", "/1.1/requestLoginSmsCode"),
    ("POST", "/1.1/requestPasswordResetBySmsCode"),
    ("PUT", "/1.1/resetPasswordBySmsCode/{code}"),
    ("POST", "/1.1/requestMobilePhoneVerify"),
    ("POST", "/1.1/verifyMobilePhone/{code}"),
    ("POST", "/1.1/requestChangePhoneNumber"),
    ("POST", "/1.1/changePhoneNumber"),
    ("POST", "/1.1/sms/templates/preview"),
    ("GET", "/1.1/sms/templates"),
    ("POST", "/1.1/sms/templates"),
    ("GET", "/1.1/sms/signatures"),
    ("POST", "/1.1/sms/signatures"),
    ("GET", "/1.1/sms/templates/{template}"),
    ("PUT", "/1.1/sms/templates/{template}"),
    ("GET", "/1.1/sms/signatures/{signature}"),
    ("PUT", "/1.1/sms/signatures/{signature}"),
    ("GET", "/1.1/sms/templates/{template}/history"),
    ("GET", "/1.1/sms/signatures/{signature}/history"),
    ("POST", "/1.1/sms/templates/{template}/submit"),
    ("POST", "/1.1/sms/templates/{template}/disable"),
    ("POST", "/1.1/sms/templates/{template}/enable"),
    ("POST", "/1.1/sms/signatures/{signature}/submit"),
    ("POST", "/1.1/sms/signatures/{signature}/disable"),
    ("POST", "/1.1/sms/signatures/{signature}/enable"),
    ("GET", "/1.1/sms/providers"),
    ("PUT", "/1.1/sms/providers/{provider}/mappings"),
    ("DELETE", "/1.1/sms/providers/{provider}/mappings"),
    ("GET", "/1/timestamp"),
    ("POST", "/1/requestSmsCode"),
    ("POST", "/1/verifySmsCode"),
    ("POST", "/1/verifySmsCode/{code}"),
    ("GET", "/1/querySms/{sms_id}"),
    ("POST", "/1/requestSms"),
    ("POST", "/1/requestCaptcha"),
    ("GET", "/1/captchaImage"),
    ("POST", "/1/verifyCaptcha"),
    ("POST", "/1/users"),
    ("POST", "/1/classes/_User"),
    ("POST", "/1/usersv1"),
    ("GET", "/1/login"),
    ("POST", "/1/login"),
    ("GET", "/1/checkSession/{user}"),
    ("GET", "/1/users/{user}"),
    ("PUT", "/1/users/{user}"),
    ("DELETE", "/1/users/{user}"),
    ("GET", "/1/classes/_User/{user}"),
    ("PUT", "/1/classes/_User/{user}"),
    ("DELETE", "/1/classes/_User/{user}"),
    ("PUT", "/1/resetPasswordBySmsCode/{code}"),
    ("PUT", "/1/updateUserPassword/{user}"),
    ("POST", "/delivery/reports/{provider}"),
    ("POST", "/delivery/reports/{provider}/{token}"),
    ("GET", "/console"),
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("POST", "/console/logout"),
    ("GET", "/console/dashboard"),
    ("GET", "/console/static/{file}"),
    ("GET", "/console/review"),
    ("POST", "/console/review/{revision}/approve"),
    ("POST", "/console/review/{revision}/reject"),
    ("GET", "/console/apps"),
    ("POST", "/console/apps"),
    ("GET", "/console/apps/{app}"),
    ("POST", "/console/apps/{app}/rotate"),
    ("POST", "/console/apps/{app}/settings"),
    ("POST", "/console/apps/{app}/upstream"),
    ("POST", "/console/apps/{app}/providers"),
    ("POST", "/console/apps/{app}/balance"),
    ("GET", "/console/messages"),
    ("GET", "/console/providers"),
    ("POST", "/console/api/session"),
    ("GET", "/console/api/queue"),
    ("POST", "/console/api/review/{revision}"),
    ("GET", "/console/api/messages"),
    ("GET", "/console/api/apps"),
    ("POST", "/console/api/apps"),
    ("POST", "/console/api/apps/{app}/rotate"),
    ("PATCH", "/console/api/apps/{app}/settings"),
    ("GET", "/console/api/apps/{app}/users"),
    ("GET", "/console/api/dashboard"),
    ("POST", "/v1/codes"),
    ("POST", "/v1/voice_codes"),
    ("POST", "/v1/codes/{code}/valid"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/batch"),
    ("POST", "/v1/schedule"),
    ("POST", "/v1/schedule/batch"),
    ("PUT", "/v1/schedule/batch/{schedule}"),
    ("GET", "/v1/schedule/{schedule}"),
    ("PUT", "/v1/schedule/{schedule}"),
    ("DELETE", "/v1/schedule/{schedule}"),
    ("GET", "/v1/accounts/app"),
    ("POST", "/v1/templates"),
    ("GET", "/v1/templates/{template}"),
    ("PUT", "/v1/templates/{template}"),
    ("DELETE", "/v1/templates/{template}"),
    ("POST", "/v1/sign"),
    ("GET", "/v1/sign/{signature}"),
    ("POST", "/v1/sign/{signature}"),
    ("DELETE", "/v1/sign/{signature}"),
    ("POST", "/hserve/{version}/sms-verification-code"),
    ("POST", "/hserve/{version}/sms-verification-code/verify"),
    ("POST", "/hserve/{version}/login/sms"),
    ("POST", "/hserve/{version}/register/phone"),
    ("POST", "/hserve/{version}/login/phone"),
    ("GET", "/hserve/{version}/user/info/{user}"),
    ("PUT", "/hserve/{version}/user/account"),
    ("POST", "/hserve/{version}/sms-phone-verification"),
    ("POST", "/hserve/{version}/session/destroy"),
    ("POST", "/oserve/{version}/sms-verification-code"),
    ("POST", "/oserve/{version}/sms-verification-code/verify"),
    ("POST", "/api/oauth2/hydrogen/openapi/authorize"),
    ("POST", "/api/oauth2/access_token"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
];

/// A path with every id, kind and action segment made `{}`, to compare routes with the router's
/// patterns.
fn shape(path: &str) -> String {
    const WORDS: &[&str] = &["templates", "signatures", "submit", "disable", "enable", "approve", "reject"];
    path.split('/')
        .map(|seg| if seg.starts_with('{') || WORDS.contains(&seg) { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn the_route_list_covers_the_router() {
    let shapes: Vec<String> = ROUTES.iter().map(|(_, p)| shape(p)).collect();
    for (scope, source) in [
        ("/1.1", include_str!("../../src/http/leancloud/mod.rs")),
        ("/1", include_str!("../../src/http/bmob/mod.rs")),
        ("/console", include_str!("../../src/http/console/mod.rs")),
        ("/v1", include_str!("../../src/http/jpush/mod.rs")),
        ("", include_str!("../../src/startup.rs")),
        ("", include_str!("../../src/http/reports.rs")),
        ("/hserve", include_str!("../../src/http/mincloud/mod.rs")),
        ("/oserve", include_str!("../../src/http/mincloud/open.rs")),
        ("/api/oauth2", include_str!("../../src/http/mincloud/oauth.rs")),
        ("", include_str!("../../src/http/openapi.rs")),
    ] {
        let literals = [".route(\"", "resource(\""]
            .iter()
            .flat_map(|marker| source.split(marker).skip(1))
            .filter_map(|rest| rest.split('"').next());
        for literal in literals {
            let full = format!("{scope}{literal}");
            assert!(shapes.contains(&shape(&full)), "route {full} is missing from ROUTES");
        }
    }
}

/// Body fields the handlers read (plus a custom one), and query parameters.
const FIELDS: &[&str] = &[
    "username",
    "password",
    "email",
    "mobilePhoneNumber",
    "smsCode",
    "code",
    "template",
    "sign",
    "name",
    "op",
    "ttl",
    "smsType",
    "validate_token",
    "captcha_code",
    "captcha_token",
    "old_password",
    "oldPassword",
    "newPassword",
    "content",
    "sendTime",
    "new_password",
    "body",
    "text",
    "category",
    "signature",
    "placement",
    "decision",
    "reason",
    "settings",
    "nickname",
];
const QUERY: &[&str] = &[
    "session_token",
    "username",
    "password",
    "q",
    "page",
    "app",
    "to",
    "template",
    "status",
    "token",
    "appId",
    "width",
];
const BAD: &[&str] = &["\u{0}", "\u{1}", "\u{1b}", "\u{7f}", "\u{85}"];

fn encoded(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct Ids {
    user: String,
    template: String,
    signature: String,
    revision: String,
    app: String,
    token: String,
}

/// One request to a route: `fill` replaces the path's ids, `query` and `body` are added.
async fn hit(
    app: &TestApp,
    console: &(String, String),
    ids: &Ids,
    (method, route): (&str, &str),
    fill: Option<&str>,
    query: &str,
    body: Option<Body>,
) {
    let mut path = route.to_string();
    for (name, id) in [
        ("{user}", &ids.user),
        ("{template}", &ids.template),
        ("{signature}", &ids.signature),
        ("{revision}", &ids.revision),
        ("{app}", &ids.app),
        ("{code}", &"123456".to_string()),
        ("{version}", &"v2.1".to_string()),
        ("{sms_id}", &"1".to_string()),
    ] {
        path = path.replace(name, &fill.map_or_else(|| id.clone(), encoded));
    }
    let url = format!("{}{path}{query}", app.address);
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app
        .client
        .request(method.clone(), &url)
        .header("X-LC-Id", &app.app.id)
        .header("X-LC-Sign", master_sign(app))
        .header("X-LC-Session", &ids.token)
        .header("X-Hydrogen-Client-ID", &app.app.credentials.mincloud.client_id)
        .header("X-Bmob-Application-Id", &app.app.credentials.bmob.application_id)
        .header("X-Bmob-Master-Key", &app.app.credentials.bmob.master_key)
        .header("X-Bmob-Session-Token", &ids.token)
        .header("Cookie", &console.0)
        .header("X-CSRF-Token", &console.1);
    // The console's pages and Swagger UI are HTML for a browser.
    let page = (route.starts_with("/console") && !route.starts_with("/console/api")) || route == "/docs";
    request = match body {
        Some(Body::Json(v)) if page => {
            let mut form: Vec<(String, String)> = vec![("csrf".into(), console.1.clone())];
            if let Value::Object(map) = v {
                form.extend(
                    map.into_iter().map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string))),
                );
            }
            request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish())
        }
        Some(Body::Json(v)) => request.json(&v),
        Some(Body::Text(t)) => request.header("Content-Type", "text/plain").body(t),
        None => request,
    };
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let what = format!("{method} {path}{query}");
    assert!(status < 500, "{what}: {status} {text}");
    let json = content_type.as_deref().is_some_and(|c| c.starts_with("application/json"));
    let html = content_type.as_deref().is_some_and(|c| c.starts_with("text/html"));
    if route == "/metrics" {
        // Prometheus' text format, whatever was sent.
        assert!(content_type.as_deref().is_some_and(|c| c.starts_with("text/plain")), "{what}: {content_type:?}");
    } else if route == "/.well-known/jwks.json" || route == "/healthz" || !page {
        assert!(json, "{what}: {status} {content_type:?} {text}");
        serde_json::from_str::<Value>(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
    } else {
        assert!(json || html || status == 303, "{what}: {status} {content_type:?}");
    }
}

enum Body {
    Json(Value),
    Text(String),
}

#[tokio::test]
async fn control_characters_on_every_route_get_a_json_4xx_never_a_500() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let console = console_session(&app).await;
    let (status, user) = send(
        app.post("/1.1/users")
            .json(&json!({"username": "bytes", "password": "pw-123456", "mobilePhoneNumber": "13800138710"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let template = app
        .core
        .create_item(
            &app.app,
            "bytes_t",
            Content::Template {
                body: "码 {{code}}".into(),
                category: Category::Verification,
                signature: None,
                captcha_required: false,
            },
            true,
            "owner",
        )
        .unwrap();
    let signature = app
        .core
        .create_item(
            &app.app,
            "bytes_s",
            Content::Signature { text: "字节".into(), placement: Placement::Start },
            true,
            "owner",
        )
        .unwrap();
    let other =
        app.core.create_app(phonebase::core::apps::NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    let ids = Ids {
        user: user["objectId"].as_str().unwrap().to_string(),
        template: template.id.clone(),
        signature: signature.id.clone(),
        revision: template.open.as_ref().unwrap().id.clone(),
        app: other.id.clone(),
        token: user["sessionToken"].as_str().unwrap().to_string(),
    };

    for &route in ROUTES {
        let has_body = route.0 != "GET";
        for (i, bad) in BAD.iter().enumerate() {
            let value = format!("a{bad}b");
            if route.1.contains('{') {
                hit(&app, &console, &ids, route, Some(&value), "", None).await;
            }
            // Query parameters: one at a time for NUL, all at once for the others.
            let keys: Vec<Vec<&str>> =
                if i == 0 { QUERY.iter().map(|k| vec![*k]).collect() } else { vec![QUERY.to_vec()] };
            for keys in keys {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(keys.iter().map(|k| (*k, value.as_str())))
                    .finish();
                hit(&app, &console, &ids, route, None, &format!("?{query}"), None).await;
            }
            if !has_body {
                continue;
            }
            let bodies: Vec<Value> = if i == 0 {
                let mut each: Vec<Value> = FIELDS.iter().map(|f| json!({ *f: value })).collect();
                each.push(json!({"nickname": {"deep": [1, {"k": value}]}}));
                each.push(json!({ format!("key{bad}"): 1 }));
                each.push(json!({"variables": {"user": value}, "body": "码 {{code}}"}));
                each
            } else {
                vec![Value::Object(FIELDS.iter().map(|f| (f.to_string(), Value::String(value.clone()))).collect())]
            };
            for body in bodies {
                hit(&app, &console, &ids, route, None, "", Some(Body::Json(body))).await;
            }
            if route.1.starts_with("/1.1/") {
                // The old SDK's text/plain body, credentials inside.
                let legacy = json!({
                    "_ApplicationId": app.app.id, "_MasterKey": app.app.master_key, "_method": route.0,
                    "_SessionToken": ids.token, "username": value, "mobilePhoneNumber": value, "password": value,
                });
                hit(&app, &console, &ids, route, None, "", Some(Body::Text(legacy.to_string()))).await;
            }
        }
    }

    // The cases of the issue, exactly: 400 with code 1 on both backends.
    let cases = [
        (Method::POST, "/1.1/login".to_string(), json!({"username": "a\u{0}b", "password": "x"})),
        (Method::POST, "/1.1/login".to_string(), json!({"email": "a\u{0}b@example.com", "password": "x"})),
        (Method::POST, "/1.1/requestSmsCode".into(), json!({"mobilePhoneNumber": "13800138711", "template": "a\u{0}"})),
        (Method::POST, "/1.1/requestSmsCode".into(), json!({"mobilePhoneNumber": "13800138711", "sign": "a\u{0}"})),
        (Method::GET, "/1.1/users/abc%00def".into(), json!({})),
        (Method::PUT, "/1.1/users/abc%00def/refreshSessionToken".into(), json!({})),
    ];
    for (method, path, body) in cases {
        let (status, got) = send(app.signed(method, &path, true).json(&body)).await;
        assert_eq!((status, got["code"].as_i64()), (400, Some(1)), "{path}: {got}");
    }
    // Tabs and line ends are text, not control: a custom field keeps them.
    let (status, _) = send(
        app.post("/1.1/users")
            .json(&json!({"username": "tabs", "password": "pw-123456", "bio": "line one\nline\ttwo\r\n"})),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    for trusted in [false, true] {
        let db = TestDb::new();
        let proxies = if trusted { vec!["127.0.0.1/32"] } else { vec![] };
        let app = TestApp::spawn_with(&db, Options { trusted_proxies: proxies, ..Default::default() }).await;
        // Before any request: hashing the password blocks this test's only thread, and a loaded
        // machine can take longer than the server's keep-alive, which then closes the client's
        // pooled connection under it (a flake seen once in CI).
        app.core.create_operator("fwd-op", OPERATOR_PASSWORD).unwrap();
        let forged = |r: reqwest::RequestBuilder| {
            r.header("X-Forwarded-Proto", "https").header("X-Forwarded-Host", "evil.example")
        };
        let response = forged(app.post("/1.1/users"))
            .json(&json!({"username": "fwd", "password": "pw-123456"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let port = app.address.rsplit(':').next().unwrap();
        if trusted {
            assert!(location.starts_with("https://evil.example/1.1/users/"), "{location}");
        } else {
            assert!(location.starts_with(&format!("http://127.0.0.1:{port}/1.1/users/")), "{location}");
        }
        let response = forged(app.client.post(app.url("/console/api/session")))
            .json(&json!({"username": "fwd-op", "password": OPERATOR_PASSWORD}))
            .send()
            .await
            .unwrap();
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
        assert_eq!(cookie.contains("Secure"), trusted, "{cookie}");
        let response = forged(app.client.get(app.url("/console/login"))).send().await.unwrap();
        let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
        assert_eq!(cookie.contains("Secure"), trusted, "{cookie}");
    }
}

/// Writes raw bytes and reads the answer until the server closes or goes quiet.
fn raw(address: &str, request: &[u8]) -> String {
    let mut stream = std::net::TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn errors_the_framework_raises_come_back_as_json() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    // A CORS preflight for a method the route lacks: actix-cors refuses it in plain text, the
    // edge turns the body into LeanCloud's.
    let response = app
        .client
        .request(Method::OPTIONS, app.url("/1.1/verifyCaptcha"))
        .header("Origin", "http://example.com")
        .header("Access-Control-Request-Method", "PATCH")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert!(body["code"].is_i64() && body["error"].is_string(), "{body}");
    // The same under the console: the console's JSON API shape.
    let response = app
        .client
        .request(Method::OPTIONS, app.url("/console/api/apps"))
        .header("Origin", "http://example.com")
        .header("Access-Control-Request-Method", "PATCH")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");

    // Before routing, actix-http's codec answers malformed heads itself, with an empty body and
    // a closed connection; no application code runs (README, "Security"). What can be checked:
    // a 4xx, never a 5xx, and the server goes on serving.
    let host = app.address.trim_start_matches("http://").to_string();
    let cases: Vec<Vec<u8>> = vec![
        format!("POST /1.1/requestSmsCode HTTP/1.1\r\nHost: {host}\r\nContent-Length: abc\r\n\r\n{{}}").into_bytes(),
        format!(
            "POST /1.1/requestSmsCode HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}"
        )
        .into_bytes(),
        format!("GET /1.1/users/me HTTP/1.1\r\nHost: {host}\r\nX-LC-Session: a\x00b\r\n\r\n").into_bytes(),
        format!("GET /1.1/users/me HTTP/1.1\r\nHost: {host}\r\nX-LC-Session: a\x01b\r\n\r\n").into_bytes(),
        format!(
            "GET /1.1/date HTTP/1.1\r\nHost: {host}\r\n{}\r\n",
            (0..120).map(|i| format!("X-H{i}: v\r\n")).collect::<String>()
        )
        .into_bytes(),
    ];
    for case in cases {
        let answer = raw(&app.address, &case);
        let status: u16 = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!((400..500).contains(&status), "{answer:?}");
    }
    let (status, _) = send(app.client.get(app.url("/1.1/date"))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn secrets_are_not_cached_and_the_console_is_never_framed() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (cookie, csrf) = console_session(&app).await;
    let no_store = |r: &reqwest::Response, what: &str| {
        let cache = r.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(cache.contains("no-store"), "{what}: {cache:?}");
    };
    let framed = |r: &reqwest::Response, what: &str| {
        assert_eq!(r.headers().get("x-frame-options").map(|v| v.to_str().unwrap()), Some("DENY"), "{what}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    };
    let signup =
        app.post("/1.1/users").json(&json!({"username": "cache", "password": "pw-123456"})).send().await.unwrap();
    no_store(&signup, "signup");
    let user: Value = signup.json().await.unwrap();
    let (id, token) = (user["objectId"].as_str().unwrap(), user["sessionToken"].as_str().unwrap());
    let with_session = |r: reqwest::RequestBuilder| r.header("X-LC-Session", token);
    let checks: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("login", app.post("/1.1/login").json(&json!({"username": "cache", "password": "pw-123456"}))),
        ("me", with_session(app.signed(Method::GET, "/1.1/users/me", false))),
        ("user", app.signed(Method::GET, &format!("/1.1/users/{id}"), false)),
        ("jwt", with_session(app.post("/1.1/users/me/jwt"))),
        ("refresh", app.signed(Method::PUT, &format!("/1.1/users/{id}/refreshSessionToken"), true)),
        ("owner REST", app.signed(Method::GET, "/1.1/sms/templates", true)),
        ("failed login", app.post("/1.1/login").json(&json!({"username": "cache", "password": "wrong"}))),
        ("console apps", app.client.get(app.url("/console/api/apps")).header("Cookie", &cookie)),
        (
            "console settings",
            app.client
                .patch(app.url(&format!("/console/api/apps/{}/settings", app.app.id)))
                .header("Cookie", &cookie)
                .header("X-CSRF-Token", &csrf)
                .json(&json!({})),
        ),
    ];
    for (what, request) in checks {
        let response = request.send().await.unwrap();
        assert!(response.status().as_u16() < 500, "{what}");
        no_store(&response, what);
    }
    // Every console response denies framing: pages, error pages, redirects, the JSON API.
    for path in ["/console/login", "/console/apps", "/console/no-such-page", "/console/api/apps", "/console/api/nope"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        framed(&response, path);
        no_store(&response, path);
    }
    let response = app.client.get(app.url("/console/apps")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    framed(&response, "signed-in page");
    // What is public stays cacheable.
    let response = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap();
    assert!(response.headers()["cache-control"].to_str().unwrap().starts_with("public"));
}

#[tokio::test]
async fn owner_routes_act_only_on_items_of_their_own_kind() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let create = |kind: &str, body: Value| {
        let request = app.signed(Method::POST, &format!("/1.1/sms/{kind}"), true).json(&body);
        async move {
            let (status, item) = send(request).await;
            assert_eq!(status, 201, "{item}");
            item["objectId"].as_str().unwrap().to_string()
        }
    };
    let template = create("templates", json!({"name": "kind_t", "body": "码 {{code}}"})).await;
    let signature = create("signatures", json!({"name": "kind_s", "text": "种类"})).await;
    for (kind, foreign) in [("templates", &signature), ("signatures", &template)] {
        let calls = [
            (Method::GET, format!("/1.1/sms/{kind}/{foreign}"), json!({})),
            (Method::PUT, format!("/1.1/sms/{kind}/{foreign}"), json!({"body": "码 {{code}}", "text": "改"})),
            (Method::GET, format!("/1.1/sms/{kind}/{foreign}/history"), json!({})),
            (Method::POST, format!("/1.1/sms/{kind}/{foreign}/submit"), json!({})),
            (Method::POST, format!("/1.1/sms/{kind}/{foreign}/disable"), json!({})),
            (Method::POST, format!("/1.1/sms/{kind}/{foreign}/enable"), json!({})),
        ];
        for (method, path, body) in calls {
            let (status, got) = send(app.signed(method.clone(), &path, true).json(&body)).await;
            assert_eq!((status, got["code"].as_i64()), (404, Some(101)), "{method} {path}: {got}");
        }
    }
    // Their own routes still work.
    let (status, _) = send(app.signed(Method::GET, &format!("/1.1/sms/templates/{template}/history"), true)).await;
    assert_eq!(status, 200);
    let (status, _) = send(app.signed(Method::GET, &format!("/1.1/sms/signatures/{signature}"), true)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn settings_and_page_numbers_are_bounded_where_they_are_read() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    // The core call behind `phonebase app update --settings`, the console form and its JSON API.
    for patch in [
        json!({"session_ttl_days": 4294967295u64}),
        json!({"session_ttl_days": 0}),
        json!({"session_ttl_days": -1}),
        json!({"limits": {"phone_per_day": 4294967295u64}}),
        json!({"limits": {"ip_per_hour": 1000001}}),
    ] {
        let e = app.core.update_app_settings(&app.app.id, patch.clone()).unwrap_err();
        assert!(matches!(e, phonebase::core::Error::InvalidParameter(_)), "{patch}: {e:?}");
    }
    let (cookie, csrf) = console_session(&app).await;
    let settings = |patch: Value| {
        app.client
            .patch(app.url(&format!("/console/api/apps/{}/settings", app.app.id)))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .json(&patch)
    };
    let (status, body) = send(settings(json!({"session_ttl_days": 4294967295u64}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().to_lowercase().contains("session_ttl_days"), "{body}");
    // The exact texts (the bounds are declared with validator and worded once, core/validation.rs):
    // the session lifetime first, then the limits by name.
    for (patch, error) in [
        (
            json!({"session_ttl_days": 0, "limits": {"ip_per_hour": 1000001}}),
            "Session_ttl_days must be 1 to 3650 (days), or null for sessions that last until revoked.",
        ),
        (
            json!({"limits": {"phone_per_day": 1000001, "ip_per_hour": 1000001}}),
            "Limits.ip_per_hour must be 0 (off) to 1000000.",
        ),
    ] {
        let (status, body) = send(settings(patch.clone())).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(error)), "{patch}: {body}");
    }
    let (status, body) = send(settings(json!({"session_ttl_days": 3650}))).await;
    assert_eq!(status, 200, "{body}");
    // The longest lifetime works: signups and sessions.
    let (status, user) = send(app.post("/1.1/users").json(&json!({"username": "ttl", "password": "pw-123456"}))).await;
    assert_eq!(status, 201, "{user}");
    let (status, _) = send(
        app.signed(Method::GET, "/1.1/users/me", false).header("X-LC-Session", user["sessionToken"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200);

    let messages =
        |page: &str| app.client.get(app.url(&format!("/console/api/messages?page={page}"))).header("Cookie", &cookie);
    for page in ["9223372036854775807", "100001", "0", "-1", "abc", "1e3"] {
        let (status, body) = send(messages(page)).await;
        assert_eq!(status, 400, "page {page}: {body}");
        assert!(body["error"].as_str().unwrap().to_lowercase().contains("page"), "{body}");
    }
    for page in ["1", "2", "100000"] {
        let (status, body) = send(messages(page)).await;
        assert_eq!((status, body["page"].as_i64()), (200, page.parse().ok()), "{body}");
    }
    let response = app
        .client
        .get(app.url("/console/messages?page=9223372036854775807"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn a_panic_inside_a_write_transaction_leaves_every_app_writable() {
    use diesel::connection::SimpleConnection;
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let other =
        app.core.create_app(phonebase::core::apps::NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    // As many panics as the pool has connections, each inside a write transaction that wrote.
    for _ in 0..6 {
        let pool = app.core.pool().clone();
        let app_id = app.app.id.clone();
        let joined = std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            let _ = phonebase::store::write_tx(&mut conn, |c| -> Result<(), diesel::result::Error> {
                c.batch_execute(&format!("UPDATE apps SET name = 'poisoned' WHERE id = '{app_id}'"))?;
                panic!("forced panic inside a write transaction");
            });
        })
        .join();
        assert!(joined.is_err(), "the work panicked");
    }
    // Nothing of the panicked work was kept, and the health check sees a writable database.
    let names: Vec<String> = app.core.list_apps().unwrap().into_iter().map(|a| a.name).collect();
    assert!(!names.contains(&"poisoned".to_string()), "{names:?}");
    let response = tokio::time::timeout(Duration::from_secs(8), app.client.get(app.url("/healthz")).send())
        .await
        .expect("health answers")
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // Every app still writes, and what it writes is visible on every connection.
    for (i, target) in [app.app.clone(), other].into_iter().enumerate() {
        let app = TestApp::spawn_shared(&app, target);
        let (status, user) = tokio::time::timeout(
            Duration::from_secs(8),
            send(app.post("/1.1/users").json(&json!({"username": format!("after{i}"), "password": "pw-123456"}))),
        )
        .await
        .expect("signup answers");
        assert_eq!(status, 201, "{user}");
        for _ in 0..8 {
            let (status, _) =
                send(app.signed(Method::GET, &format!("/1.1/users/{}", user["objectId"].as_str().unwrap()), false))
                    .await;
            assert_eq!(status, 200);
        }
        let phone = format!("1380013872{i}");
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
        app.wait_for_message(&format!("+86{phone}"), 1).await;
    }
}

impl TestApp {
    /// A second handle on the same running server, speaking for `target`.
    fn spawn_shared(&self, target: phonebase::core::apps::App) -> SharedApp<'_> {
        SharedApp { inner: self, app: target }
    }
}

/// Borrowed view of a running server for another app (requests signed with that app's key).
struct SharedApp<'a> {
    inner: &'a TestApp,
    app: phonebase::core::apps::App,
}

impl SharedApp<'_> {
    fn signed(&self, method: Method, path: &str, master: bool) -> reqwest::RequestBuilder {
        let ts = chrono::Utc::now().timestamp_millis().to_string();
        let (key, suffix) = if master { (&self.app.master_key, ",master") } else { (&self.app.app_key, "") };
        let sign = format!("{},{ts}{suffix}", md5_hex(&format!("{ts}{key}")));
        self.inner
            .client
            .request(method, self.inner.url(path))
            .header("X-LC-Id", &self.app.id)
            .header("X-LC-Sign", sign)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.signed(Method::POST, path, false)
    }

    async fn request_code(&self, body: Value) -> (u16, Value) {
        send(self.post("/1.1/requestSmsCode").json(&body)).await
    }

    async fn wait_for_message(&self, e164: &str, count: usize) -> Value {
        self.inner.wait_for_message(e164, count).await
    }
}

/// The real binary, its stderr collected: the log as an operator would see it.
struct Server {
    child: std::process::Child,
    address: String,
    app_id: String,
    app_key: String,
    master_key: String,
    log: Arc<Mutex<String>>,
}

fn cli(db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phonebase"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PHONEBASE_") || k == "DATABASE_URL" || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("DATABASE_URL", &db.url).env("PHONEBASE_DATA_DIR", db.dir.path());
    if let Some(secret) = &db.secret {
        cmd.env("PHONEBASE_SECRET_KEY", secret);
    }
    cmd
}

fn start_server(db: &TestDb, format: &str) -> Server {
    let mut admin =
        cli(db).args(["admin", "create", "logop", "--password-stdin"]).stdin(Stdio::piped()).spawn().unwrap();
    admin.stdin.take().unwrap().write_all(format!("{OPERATOR_PASSWORD}\n").as_bytes()).unwrap();
    assert!(admin.wait().unwrap().success());
    let mut child = cli(db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("PHONEBASE_LOG_FORMAT", format)
        .env("PHONEBASE_DELIVERY__POLL_INTERVAL_MS", "50")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let line = without_ansi(&line);
            if line.contains("phonebase listening") {
                let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>();
                let port = line
                    .split("port=")
                    .nth(1)
                    .or_else(|| line.split("\"port\":").nth(1))
                    .map(digits)
                    .unwrap_or_default();
                let _ = port_tx.send(port);
            }
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
        }
    });
    let mut stdout = String::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..4 {
        reader.read_line(&mut stdout).unwrap();
    }
    let value = |label: &str| {
        stdout.lines().find_map(|l| l.trim().strip_prefix(label)).map(|v| v.trim().to_string()).expect("keys printed")
    };
    let port = port_rx.recv_timeout(Duration::from_secs(60)).expect("server listening");
    Server {
        address: format!("http://127.0.0.1:{port}"),
        app_id: value("appId:"),
        app_key: value("appKey:"),
        master_key: value("masterKey:"),
        child,
        log,
    }
}

impl Server {
    fn signed(
        &self,
        client: &reqwest::Client,
        method: Method,
        path: &str,
        master: bool,
    ) -> (reqwest::RequestBuilder, String) {
        let ts = chrono::Utc::now().timestamp_millis().to_string();
        let (key, suffix) = if master { (&self.master_key, ",master") } else { (&self.app_key, "") };
        let digest = md5_hex(&format!("{ts}{key}"));
        let request = client
            .request(method, format!("{}{path}", self.address))
            .header("X-LC-Id", &self.app_id)
            .header("X-LC-Sign", format!("{digest},{ts}{suffix}"));
        (request, digest)
    }
}

/// A log line without its colour codes (the text format colours by default).
fn without_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The newest code the development sink wrote to `e164`.
async fn sink_code(db: &TestDb, e164: &str, count: usize) -> String {
    let path = db.dir.path().join("sms-sink.jsonl");
    for _ in 0..400 {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<Value> =
            text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| v["to"] == e164).collect();
        if lines.len() >= count {
            return crate::helpers::code_in(lines[count - 1]["text"].as_str().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no message for {e164}");
}

#[tokio::test]
async fn no_password_code_token_or_key_reaches_the_log_in_either_format() {
    for format in ["text", "json"] {
        let db = TestDb::new();
        let server = start_server(&db, format);
        let client = reqwest::Client::new();
        let mut secrets: Vec<String> =
            vec![server.app_key.clone(), server.master_key.clone(), OPERATOR_PASSWORD.to_string()];
        let call = |method: Method, path: &str, master: bool| server.signed(&client, method, path, master);

        // Signup with a password, login by query string (wrong, then right), the session used.
        let password = format!("Pw-{}", uuid::Uuid::new_v4().simple());
        let wrong = format!("Wrong-{}", uuid::Uuid::new_v4().simple());
        let (request, sign) = call(Method::POST, "/1.1/users", false);
        secrets.push(sign);
        let (status, user) =
            send(request.json(&json!({"username": "logan", "password": password, "mobilePhoneNumber": "13800138730"})))
                .await;
        assert_eq!(status, 201, "{user}");
        let id = user["objectId"].as_str().unwrap().to_string();
        secrets.push(user["sessionToken"].as_str().unwrap().to_string());
        let (request, _) = call(Method::GET, &format!("/1.1/login?username=logan&password={wrong}"), false);
        assert_eq!(send(request).await.0, 400);
        let (request, _) = call(Method::GET, &format!("/1.1/login?username=logan&password={password}"), false);
        let (status, logged_in) = send(request).await;
        assert_eq!(status, 200);
        let token = logged_in["sessionToken"].as_str().unwrap().to_string();
        let (request, _) = call(Method::GET, "/1.1/users/me", false);
        assert_eq!(send(request.header("X-LC-Session", &token)).await.0, 200);
        let (request, _) = call(Method::GET, &format!("/1.1/users/me?session_token={token}"), false);
        assert_eq!(send(request).await.0, 200);
        let (request, _) = call(Method::GET, "/1.1/users/me?session_token=deadtoken0000000000000000", false);
        assert_eq!(send(request).await.0, 400);
        let (request, _) = call(Method::POST, "/1.1/users/me/jwt", false);
        let (status, jwt) = send(request.header("X-LC-Session", &token)).await;
        assert_eq!(status, 200);
        secrets.push(jwt["jwt"].as_str().unwrap().to_string());
        let (request, _) = call(Method::PUT, &format!("/1.1/users/{id}/updatePassword"), false);
        let new_password = format!("New-{}", uuid::Uuid::new_v4().simple());
        let (status, _) = send(
            request
                .header("X-LC-Session", &token)
                .json(&json!({"old_password": password, "new_password": new_password})),
        )
        .await;
        assert_eq!(status, 200);
        // A plain key, right and wrong.
        let plain = client
            .get(format!("{}/1.1/users/me", server.address))
            .header("X-LC-Id", &server.app_id)
            .header("X-LC-Key", format!("{},master", server.master_key));
        assert_eq!(send(plain.header("X-LC-Session", "nope")).await.0, 400);
        let bad_key = format!("BadKey{}", uuid::Uuid::new_v4().simple());
        let plain = client
            .get(format!("{}/1.1/users/me", server.address))
            .header("X-LC-Id", &server.app_id)
            .header("X-LC-Key", &bad_key);
        assert_eq!(send(plain).await.0, 401);

        // A failing reset by code, an SMS sent and verified (and a wrong code first).
        let (request, _) = call(Method::PUT, "/1.1/resetPasswordBySmsCode/816407", false);
        let reset_password = format!("Reset-{}", uuid::Uuid::new_v4().simple());
        assert_eq!(send(request.json(&json!({"password": reset_password}))).await.0, 400);
        let (request, _) = call(Method::POST, "/1.1/requestSmsCode", false);
        assert_eq!(send(request.json(&json!({"mobilePhoneNumber": "13800138731"}))).await.0, 200);
        let code = sink_code(&db, "+8613800138731", 1).await;
        let wrong_code = if code == "654321" { "123456" } else { "654321" };
        let (request, _) = call(Method::POST, &format!("/1.1/verifySmsCode/{wrong_code}"), false);
        assert_eq!(send(request.json(&json!({"mobilePhoneNumber": "13800138731"}))).await.0, 400);
        let (request, _) = call(Method::POST, &format!("/1.1/verifySmsCode/{code}"), false);
        assert_eq!(send(request.json(&json!({"mobilePhoneNumber": "13800138731"}))).await.0, 200);
        // Phone verification by value (the JS SDK's way), with its code.
        let (request, _) = call(Method::POST, "/1.1/requestMobilePhoneVerify", false);
        assert_eq!(send(request.json(&json!({"mobilePhoneNumber": "13800138730"}))).await.0, 200);
        let verify_code = sink_code(&db, "+8613800138730", 1).await;
        let (request, _) = call(Method::POST, &format!("/1.1/verifyMobilePhone/{verify_code}"), false);
        assert_eq!(send(request.body("null")).await.0, 200);
        // A captcha: its token travels in the image URL's query.
        let (request, _) = call(Method::GET, "/1.1/requestCaptcha", false);
        let (status, captcha) = send(request).await;
        assert_eq!(status, 200);
        let captcha_token = captcha["captcha_token"].as_str().unwrap().to_string();
        let image = client.get(captcha["captcha_url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(image.status().as_u16(), 200);
        let (request, _) = call(Method::POST, "/1.1/verifyCaptcha", false);
        let _ = send(request.json(&json!({"captcha_token": captcha_token, "captcha_code": "zzzz"}))).await;
        // The console: a wrong and a right operator password.
        let console = |pw: &str| {
            client
                .post(format!("{}/console/api/session", server.address))
                .json(&json!({"username": "logop", "password": pw}))
        };
        assert_eq!(send(console(&wrong)).await.0, 401);
        let typed = client
            .post(format!("{}/console/api/session", server.address))
            .json(&json!({"username": "logop", "password": 918_273_645_u64}));
        assert_eq!(send(typed).await.0, 400);
        secrets.push("918273645".into());
        let response = console(OPERATOR_PASSWORD).send().await.unwrap();
        let cookie = response.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let csrf = response.json::<Value>().await.unwrap()["csrfToken"].as_str().unwrap().to_string();
        secrets.extend([
            password,
            wrong,
            token,
            new_password,
            bad_key,
            reset_password,
            "816407".into(),
            code,
            wrong_code.into(),
            verify_code,
            captcha_token,
            cookie.split_once('=').unwrap().1.to_string(),
            csrf,
        ]);

        // Let the sink log its lines, then stop the server.
        for _ in 0..200 {
            if server.log.lock().unwrap().matches("sink delivered message").count() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let mut child = server.child;
        child.kill().unwrap();
        child.wait().unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let log = server.log.lock().unwrap().clone();
        if std::env::var("PHONEBASE_TEST_SHOW_LOG").is_ok() {
            eprintln!("{log}");
        }
        assert!(log.contains("sink delivered message"), "{format}: the sink logged nothing:\n{log}");
        assert!(log.contains("[redacted]"), "{format}: no redacted request target:\n{log}");
        for secret in &secrets {
            assert!(!secret.is_empty());
            if let Some(line) = log.lines().find(|l| l.contains(secret.as_str())) {
                panic!("{format}: secret {secret:?} in the log: {line}");
            }
        }
    }
}

#[tokio::test]
async fn healthz_says_unavailable_while_the_database_takes_no_writes() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let db = TestDb::new();
    if db.is_postgres() {
        // PostgreSQL has no database-wide write lock to hold; the SQLite case shows the rule.
        return;
    }
    let app = TestApp::spawn(&db).await;
    assert_eq!(send(app.client.get(app.url("/healthz"))).await.0, 200);
    // Another process holds SQLite's write lock: reads still answer, writes cannot.
    let mut other = diesel::SqliteConnection::establish(db.url.trim_start_matches("sqlite://")).unwrap();
    other.batch_execute("BEGIN IMMEDIATE").unwrap();
    let (status, body) = send(app.client.get(app.url("/healthz"))).await;
    assert_eq!((status, body["status"].as_str()), (503, Some("unavailable")));
    other.batch_execute("ROLLBACK").unwrap();
    assert_eq!(send(app.client.get(app.url("/healthz"))).await.0, 200);
}
