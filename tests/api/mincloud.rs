//! MinCloud / 知晓云 (contract part C) over raw HTTP: the client API (`/hserve`, as minapp-sdk
//! sends it), the open API (`/oserve`, Bearer) and its OAuth flow (`/api/oauth2`), and one person
//! being one user across dialects. SQLite, or PostgreSQL with PHONEBASE_TEST_DATABASE_URL.

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, send};

/// A client-API request (`TestApp::hserve`, tests/api/common/mincloud.rs).
fn hserve(app: &TestApp, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    app.hserve(method, path, token)
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    app.hserve_post(path, token, body).await
}

/// Sends a code through `sendSmsCode` and reads it from the sink (`count`-th message to `e164`).
async fn code_for(app: &TestApp, phone: &str, e164: &str, count: usize) -> String {
    let (status, body) = post(app, "/hserve/v2.2/sms-verification-code/", None, json!({"phone": phone})).await;
    assert_eq!((status, &body), (200, &json!({"status": "ok"})));
    app.wait_for_code(e164, count).await
}

fn assert_error(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["status"], "error", "{body}");
    assert!(body["error_msg"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
}

#[tokio::test]
async fn sms_login_creates_a_user_then_logs_it_in_and_the_sdk_reads_it() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let code = code_for(&app, "15000000001", "+8615000000001", 1).await;

    let (status, login) =
        post(&app, "/hserve/v2.1/login/sms/", None, json!({"phone": "15000000001", "code": code, "create_user": true}))
            .await;
    assert_eq!(status, 201, "{login}");
    let token = login["token"].as_str().unwrap().to_string();
    let user_id = login["user_id"].as_i64().expect("user_id is an integer");
    assert_eq!(login["id"], user_id);
    let expires_in = login["expires_in"].as_i64().unwrap();
    assert!(expires_in > 0 && expires_in <= 30 * 24 * 3600, "{login}");
    assert_eq!(login["_phone"], "15000000001");
    assert_eq!(login["_phone_verified"], true);
    assert_eq!(login["_email"], Value::Null);
    assert!(login["created_at"].is_i64());

    // What the SDK does right after: the user-info read, with the token.
    let (status, info) =
        send(hserve(&app, Method::GET, &format!("/hserve/v2.5/user/info/{user_id}/"), Some(&token))).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["id"], user_id);
    assert_eq!(info["_phone"], "15000000001");
    assert_eq!(info["_phone_verified"], true);
    // Without a token, or with a wrong one: 401.
    let (status, body) = send(hserve(&app, Method::GET, &format!("/hserve/v2.5/user/info/{user_id}/"), None)).await;
    assert_error(status, &body, 401);
    let (status, body) =
        send(hserve(&app, Method::GET, &format!("/hserve/v2.5/user/info/{user_id}/"), Some("nope"))).await;
    assert_error(status, &body, 401);

    // The same number logs in again: the same user, a new token.
    app.clock.advance(TimeDelta::minutes(2));
    let code = code_for(&app, "15000000001", "+8615000000001", 2).await;
    let (status, again) =
        post(&app, "/hserve/v2.1/login/sms", None, json!({"phone": "15000000001", "code": code, "create_user": false}))
            .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["user_id"], user_id);
    assert_ne!(again["token"], login["token"]);

    // Logout ends that token only.
    let (status, _) = post(&app, "/hserve/v2.0/session/destroy/", Some(&token), json!({})).await;
    assert_eq!(status, 201);
    let (status, body) =
        send(hserve(&app, Method::GET, &format!("/hserve/v2.5/user/info/{user_id}/"), Some(&token))).await;
    assert_error(status, &body, 401);
    let second = again["token"].as_str().unwrap();
    let (status, _) =
        send(hserve(&app, Method::GET, &format!("/hserve/v2.5/user/info/{user_id}/"), Some(second))).await;
    assert_eq!(status, 200);
    // Another user's record shows its public part only.
    let (_, other) =
        post(&app, "/hserve/v2.1/register/phone/", None, json!({"phone": "15000000009", "password": "pw-123456"}))
            .await;
    let other_id = other["user_id"].as_i64().unwrap();
    let (status, public) =
        send(hserve(&app, Method::GET, &format!("/hserve/v2.5/user/info/{other_id}/"), Some(second))).await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(public["id"], other_id);
    assert!(public.get("_phone").is_none(), "{public}");
    let (status, body) = send(hserve(&app, Method::GET, "/hserve/v2.5/user/info/99999999/", Some(second))).await;
    assert_error(status, &body, 404);
}

#[tokio::test]
async fn codes_verify_as_numbers_once_and_wrong_ones_are_400() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let code = code_for(&app, "15000000002", "+8615000000002", 1).await;
    let verify = "/hserve/v1.8/sms-verification-code/verify/";
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, body) = post(&app, verify, None, json!({"phone": "15000000002", "code": wrong})).await;
    assert_error(status, &body, 400);
    // The SDK keeps a number a number (C.4): 123456, zero-padded when it lost its leading zeros.
    let number: u64 = code.parse().unwrap();
    let (status, body) = post(&app, verify, None, json!({"phone": "15000000002", "code": number})).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, body) = post(&app, verify, None, json!({"phone": "15000000002", "code": number})).await;
    assert_error(status, &body, 400);
    // Missing fields.
    let (status, body) = post(&app, verify, None, json!({"phone": "15000000002"})).await;
    assert_error(status, &body, 400);
    let (status, body) = post(&app, verify, None, json!({"code": "123456"})).await;
    assert_error(status, &body, 400);
    let (status, body) = post(&app, "/hserve/v2.2/sms-verification-code/", None, json!({"phone": "12"})).await;
    assert_error(status, &body, 400);

    // The published limit: one code a minute per number, then 400.
    let (status, body) = post(&app, "/hserve/v2.2/sms-verification-code/", None, json!({"phone": "15000000002"})).await;
    assert_error(status, &body, 400);
    assert!(body["error_msg"].as_str().unwrap().contains("Rate limit"), "{body}");
    app.clock.advance(TimeDelta::seconds(61));
    code_for(&app, "15000000002", "+8615000000002", 2).await;
}

#[tokio::test]
async fn sms_login_without_create_user_is_404_for_an_unknown_number() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let code = code_for(&app, "15000000003", "+8615000000003", 1).await;
    let (status, body) = post(
        &app,
        "/hserve/v2.1/login/sms/",
        None,
        json!({"phone": "15000000003", "code": code, "create_user": false}),
    )
    .await;
    assert_error(status, &body, 404);
    // The code is still good for creating the user.
    let (status, body) =
        post(&app, "/hserve/v2.1/login/sms/", None, json!({"phone": "15000000003", "code": code})).await;
    assert_eq!(status, 201, "{body}");
    // A wrong code: 400, no user, no token.
    let (status, body) =
        post(&app, "/hserve/v2.1/login/sms/", None, json!({"phone": "15000000004", "code": "000000"})).await;
    assert_error(status, &body, 400);
}

#[tokio::test]
async fn phone_registration_password_login_and_account_changes() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (status, reg) =
        post(&app, "/hserve/v2.1/register/phone/", None, json!({"phone": "15000000005", "password": "pw-123456"}))
            .await;
    assert_eq!(status, 201, "{reg}");
    assert_eq!(reg["_phone_verified"], false);
    let user_id = reg["user_id"].as_i64().unwrap();
    let (status, body) =
        post(&app, "/hserve/v2.1/register/phone/", None, json!({"phone": "15000000005", "password": "other-pw"})).await;
    assert_error(status, &body, 400);

    let (status, body) =
        post(&app, "/hserve/v2.1/login/phone/", None, json!({"phone": "15000000005", "password": "wrong"})).await;
    assert_error(status, &body, 400);
    let (status, login) =
        post(&app, "/hserve/v2.1/login/phone/", None, json!({"phone": "15000000005", "password": "pw-123456"})).await;
    assert_eq!(status, 201, "{login}");
    assert_eq!(login["user_id"], user_id);
    let token = login["token"].as_str().unwrap().to_string();

    // setMobilePhone, sendSmsCode to it, verifyMobilePhone (C.4).
    let put = |body: Value| send(hserve(&app, Method::PUT, "/hserve/v2.2/user/account/", Some(&token)).json(&body));
    let (status, user) = put(json!({"phone": "15100000006"})).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!((user["_phone"].as_str(), user["_phone_verified"].as_bool()), (Some("15100000006"), Some(false)));
    let code = code_for(&app, "15100000006", "+8615100000006", 1).await;
    let (status, body) =
        post(&app, "/hserve/v2.1/sms-phone-verification/", Some(&token), json!({"code": "000000"})).await;
    assert_error(status, &body, 400);
    let (status, _) = post(&app, "/hserve/v2.1/sms-phone-verification/", Some(&token), json!({"code": code})).await;
    assert_eq!(status, 200);
    let (_, info) = send(hserve(&app, Method::GET, &format!("/hserve/v2.5/user/info/{user_id}/"), Some(&token))).await;
    assert_eq!(info["_phone_verified"], true, "{info}");
    let (status, body) = post(&app, "/hserve/v2.1/sms-phone-verification/", None, json!({"code": code})).await;
    assert_error(status, &body, 401);

    // updatePassword: the old one is checked; the token in use survives.
    let (status, body) = put(json!({"password": "wrong", "new_password": "pw-654321"})).await;
    assert_error(status, &body, 400);
    let (status, _) = put(json!({"password": "pw-123456", "new_password": "pw-654321"})).await;
    assert_eq!(status, 200);
    let (status, _) =
        post(&app, "/hserve/v2.1/login/phone/", None, json!({"phone": "15100000006", "password": "pw-654321"})).await;
    assert_eq!(status, 201);
    // setEmail, setUsername.
    let (status, user) = put(json!({"email": "Ann@Example.com", "username": "ann"})).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!((user["_email"].as_str(), user["_username"].as_str()), (Some("Ann@Example.com"), Some("ann")));
    let (status, body) = put(json!({"email": "not-an-email"})).await;
    assert_error(status, &body, 400);
    let (status, body) = put(json!({})).await;
    assert_error(status, &body, 400);
}

#[tokio::test]
async fn the_client_id_the_routes_and_the_edge() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let path = "/hserve/v2.2/sms-verification-code/";
    let (status, body) = send(app.client.post(app.url(path)).json(&json!({"phone": "15000000007"}))).await;
    assert_error(status, &body, 401);
    let (status, body) = send(
        app.client
            .post(app.url(path))
            .header("X-Hydrogen-Client-ID", "0000000000deadbeef00")
            .json(&json!({"phone": "15000000007"})),
    )
    .await;
    assert_error(status, &body, 401);
    // Any version segment the SDKs use; trailing slash or not; other methods 405; unknown 404.
    let (status, body) = send(hserve(&app, Method::GET, path, None)).await;
    assert_error(status, &body, 405);
    let (status, body) = send(hserve(&app, Method::GET, "/hserve/v2.2/no-such-thing/", None)).await;
    assert_error(status, &body, 404);
    let (status, body) = send(hserve(&app, Method::GET, "/oserve/v2.1/no-such-thing/", None)).await;
    assert_error(status, &body, 404);
    let (status, body) = send(hserve(&app, Method::GET, "/api/oauth2/access_token/", None)).await;
    assert_error(status, &body, 405);
    // Bad bytes: 400 in MinCloud's shape, in the body, the path and the query.
    let (status, body) = post(&app, path, None, json!({"phone": "150\u{0}00000007"})).await;
    assert_error(status, &body, 400);
    let (status, body) = send(hserve(&app, Method::GET, "/hserve/v2.5/user/info/1%00/", None)).await;
    assert_error(status, &body, 400);
    let (status, body) = send(hserve(&app, Method::POST, "/hserve/v2.2/sms-verification-code/?x=%01", None)).await;
    assert_error(status, &body, 400);
    // Not JSON.
    let (status, body) = send(hserve(&app, Method::POST, path, None).body("phone=1")).await;
    assert_error(status, &body, 400);
    // A framework error (a CORS preflight from nowhere is fine; a refused one) still gets JSON:
    // an oversized body.
    let big = "x".repeat(100 * 1024);
    let (status, body) = post(&app, path, None, json!({"phone": big})).await;
    assert_eq!(body["status"], "error", "{status} {body}");
}

/// The open API's OAuth dance: JSON, form and multipart bodies.
async fn access(app: &TestApp) -> (String, String) {
    let keys = &app.app.credentials.mincloud;
    let (status, auth) = send(
        app.client
            .post(app.url("/api/oauth2/hydrogen/openapi/authorize/"))
            .json(&json!({"client_id": keys.client_id, "client_secret": keys.client_secret})),
    )
    .await;
    assert_eq!(status, 200, "{auth}");
    assert!(auth["expires_in"].as_i64().unwrap() > 0);
    let code = auth["code"].as_str().unwrap().to_string();
    let form = [
        ("client_id", keys.client_id.as_str()),
        ("client_secret", keys.client_secret.as_str()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    let (status, grant) = send(app.client.post(app.url("/api/oauth2/access_token/")).form(&form)).await;
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["token_type"], "Bearer");
    assert_eq!(grant["expires_in"], 30 * 24 * 3600);
    // The code was used.
    let (status, body) = send(app.client.post(app.url("/api/oauth2/access_token/")).form(&form)).await;
    assert_error(status, &body, 400);
    (grant["access_token"].as_str().unwrap().to_string(), grant["refresh_token"].as_str().unwrap().to_string())
}

fn multipart(fields: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--PhpBoundary7\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str("--PhpBoundary7--\r\n");
    body
}

#[tokio::test]
async fn open_api_oauth_then_bearer_sms_with_user_id() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let keys = app.app.credentials.mincloud.clone();
    let (access_token, refresh_token) = access(&app).await;
    let bearer =
        |token: &str, path: &str| app.client.post(app.url(path)).header("Authorization", format!("Bearer {token}"));

    // A user of the app (its integer id is `_userprofile.id`).
    let (_, reg) =
        post(&app, "/hserve/v2.1/register/phone/", None, json!({"phone": "15000000020", "password": "pw-123456"}))
            .await;
    let user_id = reg["user_id"].as_i64().unwrap();
    let send_path = "/oserve/v2.1/sms-verification-code/";
    let verify_path = "/oserve/v1.8/sms-verification-code/verify/";
    let (status, body) = send(bearer(&access_token, send_path).json(&json!({"phone": "12345678910"}))).await;
    assert_error(status, &body, 400);
    let (status, body) =
        send(bearer(&access_token, send_path).json(&json!({"phone": "15000000021", "user_id": 987654321}))).await;
    assert_error(status, &body, 404);
    let (status, body) =
        send(bearer(&access_token, send_path).json(&json!({"phone": "15000000021", "user_id": user_id}))).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let code = app.wait_for_code("+8615000000021", 1).await;
    let (status, body) = send(
        bearer(&access_token, verify_path).json(&json!({"phone": "15000000021", "user_id": user_id, "code": "000000"})),
    )
    .await;
    assert_error(status, &body, 400);
    let (status, body) = send(
        bearer(&access_token, verify_path).json(&json!({"phone": "15000000021", "user_id": user_id, "code": code})),
    )
    .await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));

    // No token, a wrong one: 401.
    let (status, body) = send(app.client.post(app.url(send_path)).json(&json!({"phone": "15000000021"}))).await;
    assert_error(status, &body, 401);
    let (status, body) = send(bearer("f00", send_path).json(&json!({"phone": "15000000021"}))).await;
    assert_error(status, &body, 401);
    // The client API's session token is not an open-API token.
    let (status, body) = send(
        bearer(reg["token"].as_str().unwrap(), send_path).json(&json!({"phone": "15000000021", "user_id": user_id})),
    )
    .await;
    assert_error(status, &body, 401);

    // Refresh, multipart as PHP's curl posts it under a JSON content type: the old pair dies.
    let refresh = multipart(&[
        ("client_id", &keys.client_id),
        ("client_secret", &keys.client_secret),
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh_token),
    ]);
    let (status, grant) = send(
        app.client
            .post(app.url("/api/oauth2/access_token/"))
            .header("Content-Type", "application/json; charset=utf-8")
            .body(refresh.clone()),
    )
    .await;
    assert_eq!(status, 200, "{grant}");
    let new_access = grant["access_token"].as_str().unwrap();
    assert_ne!(new_access, access_token);
    app.clock.advance(TimeDelta::minutes(2));
    let (status, body) =
        send(bearer(&access_token, send_path).json(&json!({"phone": "15000000021", "user_id": user_id}))).await;
    assert_error(status, &body, 401);
    let (status, _) =
        send(bearer(new_access, send_path).json(&json!({"phone": "15000000021", "user_id": user_id}))).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        app.client
            .post(app.url("/api/oauth2/access_token/"))
            .header("Content-Type", "multipart/form-data; boundary=PhpBoundary7")
            .body(refresh),
    )
    .await;
    assert_error(status, &body, 400);

    // A wrong secret, an unknown client, an unknown grant type.
    let (status, body) = send(
        app.client
            .post(app.url("/api/oauth2/hydrogen/openapi/authorize/"))
            .json(&json!({"client_id": keys.client_id, "client_secret": "0".repeat(40)})),
    )
    .await;
    assert_error(status, &body, 401);
    let (status, body) = send(
        app.client
            .post(app.url("/api/oauth2/hydrogen/openapi/authorize"))
            .json(&json!({"client_id": "nobody", "client_secret": keys.client_secret})),
    )
    .await;
    assert_error(status, &body, 401);
    let (status, body) = send(app.client.post(app.url("/api/oauth2/access_token/")).json(&json!({
        "client_id": keys.client_id, "client_secret": keys.client_secret, "grant_type": "password"
    })))
    .await;
    assert_error(status, &body, 400);
    let (status, body) =
        send(app.client.post(app.url("/api/oauth2/hydrogen/openapi/authorize/")).json(&json!({}))).await;
    assert_error(status, &body, 400);
}

#[tokio::test]
async fn a_mincloud_sms_user_is_the_same_user_in_leancloud() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let code = code_for(&app, "15000000030", "+8615000000030", 1).await;
    let (status, login) =
        post(&app, "/hserve/v2.1/login/sms/", None, json!({"phone": "15000000030", "code": code})).await;
    assert_eq!(status, 201, "{login}");

    app.clock.advance(TimeDelta::minutes(2));
    let (status, _) = app.request_code(json!({"mobilePhoneNumber": "15000000030"})).await;
    assert_eq!(status, 200);
    let code = app.wait_for_code("+8615000000030", 2).await;
    let (status, lc) =
        send(app.post("/1.1/usersByMobilePhone").json(&json!({"mobilePhoneNumber": "15000000030", "smsCode": code})))
            .await;
    assert_eq!(status, 200, "{lc}");
    let user = app.core.user(&app.app, lc["objectId"].as_str().unwrap()).unwrap();
    assert_eq!(user.seq, login["user_id"].as_i64().unwrap(), "one person, one user");
    assert_eq!(lc["mobilePhoneVerified"], true);

    // And through Bmob's login with the same phone and a code: the same objectId.
    app.clock.advance(TimeDelta::minutes(2));
    let (status, sent) = app.bmob_request_code("15000000030").await;
    assert_eq!(status, 200, "{sent}");
    let code = app.wait_for_code("+8615000000030", 3).await;
    let (status, bmob) =
        send(app.bmob(Method::GET, &format!("/1/login?mobilePhoneNumber=15000000030&smsCode={code}"))).await;
    assert_eq!(status, 200, "{bmob}");
    assert_eq!(bmob["objectId"], lc["objectId"], "the same user through Bmob");
}

#[tokio::test]
async fn signature_id_is_a_signature_handle_and_an_exhausted_balance_is_402() {
    use phonebase::core::review::{Content, Decision};
    use phonebase::core::texts::templates::Placement;
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let path = "/hserve/v2.2/sms-verification-code/";
    let signature = app
        .core
        .create_item(
            &app.app,
            "mc_sign",
            Content::Signature { text: "知晓".into(), placement: Placement::Start },
            true,
            "t",
        )
        .unwrap();
    // Not approved yet: 400, as the seed says.
    let (status, body) =
        post(&app, path, None, json!({"phone": "15000000040", "signature_id": signature.handle})).await;
    assert_error(status, &body, 400);
    let signature = app.core.review(&signature.open.as_ref().unwrap().id, Decision::Approve, "operator:op").unwrap();
    let (status, body) =
        post(&app, path, None, json!({"phone": "15000000040", "signature_id": signature.handle})).await;
    assert_eq!(status, 200, "{body}");
    let message = app.wait_for_message("+8615000000040", 1).await;
    assert!(message["text"].as_str().unwrap().starts_with("【知晓】"), "{message}");
    let (status, body) = post(&app, path, None, json!({"phone": "15000000041", "signature_id": 987654})).await;
    assert_error(status, &body, 400);
    let (status, body) = post(&app, path, None, json!({"phone": "15000000041", "signature_id": "x"})).await;
    assert_error(status, &body, 400);

    app.core.set_balance(&app.app.id, Some(0)).unwrap();
    let (status, body) = post(&app, path, None, json!({"phone": "15000000042"})).await;
    assert_error(status, &body, 402);
}

#[tokio::test]
async fn oauth_codes_and_tokens_expire_and_a_refresh_token_wins_once() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let keys = app.app.credentials.mincloud.clone();
    let authorize = || {
        send(
            app.client
                .post(app.url("/api/oauth2/hydrogen/openapi/authorize/"))
                .json(&json!({"client_id": keys.client_id, "client_secret": keys.client_secret})),
        )
    };
    let exchange = |code: String| {
        send(app.client.post(app.url("/api/oauth2/access_token/")).json(&json!({
            "client_id": keys.client_id, "client_secret": keys.client_secret,
            "grant_type": "authorization_code", "code": code,
        })))
    };
    // A code older than its 10 minutes is refused.
    let (_, auth) = authorize().await;
    app.clock.advance(TimeDelta::minutes(11));
    let (status, body) = exchange(auth["code"].as_str().unwrap().to_string()).await;
    assert_error(status, &body, 400);
    let (_, auth) = authorize().await;
    let (status, grant) = exchange(auth["code"].as_str().unwrap().to_string()).await;
    assert_eq!(status, 200, "{grant}");

    // Two refreshes with one token at once: exactly one gets a new pair.
    let refresh = || {
        send(app.client.post(app.url("/api/oauth2/access_token/")).json(&json!({
            "client_id": keys.client_id, "client_secret": keys.client_secret,
            "grant_type": "refresh_token", "refresh_token": grant["refresh_token"],
        })))
    };
    let (a, b) = tokio::join!(refresh(), refresh());
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 400], "{a:?} {b:?}");
    let fresh = if a.0 == 200 { a.1 } else { b.1 };

    // An access token works for 30 days.
    let sms = |token: &str| {
        send(
            app.client
                .post(app.url("/oserve/v2.1/sms-verification-code/"))
                .header("Authorization", format!("Bearer {token}"))
                .json(&json!({"phone": "15000000050"})),
        )
    };
    let (status, body) = sms(fresh["access_token"].as_str().unwrap()).await;
    assert_error(status, &body, 400); // authenticated: the missing user_id is what is refused
    app.clock.advance(TimeDelta::days(31));
    let (status, body) = sms(fresh["access_token"].as_str().unwrap()).await;
    assert_error(status, &body, 401);
}
