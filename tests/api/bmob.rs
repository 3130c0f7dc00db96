//! The Bmob dialect (`/1`, contract part A): both header modes, the signature and its window, SMS
//! codes with smsId and querySms, captchas, users, and the same users through LeanCloud.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use phonebase::core::clock::ShiftedClock;
use phonebase::core::codes::captcha::CaptchaText;
use phonebase::core::review::{Content, Decision, Item};
use phonebase::core::texts::templates::Category;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, TestDb, send};

async fn spawn(db: &TestDb) -> TestApp {
    TestApp::spawn_with(db, Options { clock: Some(ShiftedClock::default()), ..Default::default() }).await
}

/// `YYYY-mm-dd HH:ii:ss`.
fn is_bmob_time(v: &Value) -> bool {
    v.as_str().is_some_and(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok())
}

#[tokio::test]
async fn signed_mode_its_window_and_wrong_keys() {
    let db = TestDb::new();
    let app = spawn(&db).await;
    let body = json!({"mobilePhoneNumber": "13800138300", "template": ""});
    let (status, sent) = send(app.bmob_signed(Method::POST, "/1/requestSmsCode", Some(&body))).await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent["smsId"].is_i64(), "smsId is a JSON integer: {sent}");

    let unauthorized = |(status, body): (u16, Value)| {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(body["code"], 401, "bmobpy reads a code next to every error");
    };
    let verify = json!({"mobilePhoneNumber": "13800138300"});
    let path = "/1/verifySmsCode/000000";
    // A wrong security code.
    let mut signing = app.bmob_signing(path, Some(&verify));
    signing.security_code = "not-the-code".into();
    unauthorized(send(app.bmob_signed_with(Method::POST, path, &signing)).await);
    // A body other than the signed one.
    let signing = app.bmob_signing(path, Some(&verify));
    let tampered = app
        .bmob_signed_with(Method::POST, path, &signing)
        .body(json!({"mobilePhoneNumber": "13800138301"}).to_string());
    unauthorized(send(tampered).await);
    // Another route than the signed one.
    let signing = app.bmob_signing("/1/verifySmsCode/111111", Some(&verify));
    unauthorized(send(app.bmob_signed_with(Method::POST, path, &signing)).await);
    // The clock window: 10 s by default, seconds or milliseconds.
    let now = chrono::Utc::now();
    for (ts, ok) in [
        ((now - TimeDelta::seconds(30)).timestamp().to_string(), false),
        ((now + TimeDelta::seconds(30)).timestamp().to_string(), false),
        ((now - TimeDelta::seconds(3)).timestamp_millis().to_string(), true),
        (now.timestamp().to_string(), true),
    ] {
        let mut signing = app.bmob_signing(path, Some(&verify));
        signing.timestamp = ts.clone();
        let (status, body) = send(app.bmob_signed_with(Method::POST, path, &signing)).await;
        if ok {
            assert_eq!((status, body["code"].as_i64()), (400, Some(207)), "{ts}: a wrong code, past auth: {body}");
        } else {
            unauthorized((status, body));
        }
    }
    // A nonce is used once.
    let signing = app.bmob_signing(path, Some(&verify));
    assert_eq!(send(app.bmob_signed_with(Method::POST, path, &signing)).await.0, 400);
    unauthorized(send(app.bmob_signed_with(Method::POST, path, &signing)).await);
    // An unknown secret key.
    let mut signing = app.bmob_signing(path, Some(&verify));
    signing.secret_key = "ffffffffffffffff".into();
    unauthorized(send(app.bmob_signed_with(Method::POST, path, &signing)).await);
    // GET: the query is not signed, the body is "".
    let (status, user) =
        send(app.bmob(Method::POST, "/1/users").json(&json!({"username": "signed-get", "password": "pw-123456"})))
            .await;
    assert_eq!(status, 201, "{user}");
    let (status, logged) =
        send(app.bmob_signed(Method::GET, "/1/login?username=signed-get&password=pw-123456", None)).await;
    assert_eq!(status, 200, "{logged}");
    assert_eq!(logged["objectId"], user["objectId"]);

    // Plain mode: a wrong REST key, a wrong master key, no key.
    let keys = &app.app.credentials.bmob;
    let plain = |id: &str| app.client.get(app.url("/1/users/x")).header("X-Bmob-Application-Id", id.to_string());
    unauthorized(send(plain(&keys.application_id).header("X-Bmob-REST-API-Key", "wrong")).await);
    unauthorized(send(plain(&keys.application_id).header("X-Bmob-Master-Key", "wrong")).await);
    unauthorized(send(plain(&keys.application_id)).await);
    unauthorized(send(plain("no-such-app").header("X-Bmob-REST-API-Key", &keys.rest_api_key)).await);
    // Nothing is learnt from the LeanCloud keys either.
    unauthorized(send(app.signed(Method::GET, "/1/users/x", false)).await);
}

#[tokio::test]
async fn sms_codes_sms_ids_and_query_sms() {
    let db = TestDb::new();
    let app = spawn(&db).await;
    let phone = "13800138310";
    let (status, sent) = app.bmob_request_code(phone).await;
    assert_eq!(status, 200, "{sent}");
    let sms_id = sent["smsId"].as_i64().expect("an integer smsId");
    let code = app.wait_for_code("+8613800138310", 1).await;
    // Three spellings of querySms; SENDING or SUCCESS, not yet verified.
    for path in [format!("/1/querySms/{sms_id}"), format!("/1/querySms/:{sms_id}"), format!("/1/querySms/{sms_id}/")] {
        let (status, state) = send(app.bmob(Method::GET, &path)).await;
        assert_eq!(status, 200, "{path}: {state}");
        assert!(["SENDING", "SUCCESS"].contains(&state["sms_state"].as_str().unwrap()), "{state}");
        assert_eq!(state["verify_state"], false);
    }
    let (status, missing) = send(app.bmob(Method::GET, "/1/querySms/999999999")).await;
    assert_eq!((status, missing["code"].as_i64()), (400, Some(10018)), "{missing}");

    // The limits: 1 per minute → 10010.
    let (status, limited) = app.bmob_request_code(phone).await;
    assert_eq!((status, limited["code"].as_i64()), (400, Some(10010)), "{limited}");

    // verifySmsCode, path form: ok once, then 207.
    let verify = |code: String| {
        app.bmob(Method::POST, &format!("/1/verifySmsCode/{code}")).json(&json!({"mobilePhoneNumber": phone}))
    };
    let (status, ok) = send(verify(code.clone())).await;
    assert_eq!((status, ok), (200, json!({"msg": "ok"})));
    let (status, again) = send(verify(code)).await;
    assert_eq!((status, again["code"].as_i64()), (400, Some(207)), "{again}");
    let (_, state) = send(app.bmob(Method::GET, &format!("/1/querySms/{sms_id}"))).await;
    assert_eq!(state["verify_state"], true, "{state}");

    // The body form, a minute later.
    app.clock.advance(TimeDelta::seconds(61));
    let (status, _) = app.bmob_request_code(phone).await;
    assert_eq!(status, 200);
    let code = app.wait_for_code("+8613800138310", 2).await;
    let (status, wrong) = send(
        app.bmob(Method::POST, "/1/verifySmsCode").json(&json!({"mobilePhoneNumber": phone, "smsCode": "000000"})),
    )
    .await;
    assert_eq!((status, wrong["code"].as_i64()), (400, Some(207)));
    let (status, ok) =
        send(app.bmob(Method::POST, "/1/verifySmsCode").json(&json!({"mobilePhoneNumber": phone, "smsCode": code})))
            .await;
    assert_eq!((status, ok), (200, json!({"msg": "ok"})));

    // Missing and invalid numbers, an unknown template.
    let (status, body) = send(app.bmob(Method::POST, "/1/requestSmsCode").json(&json!({}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(118)), "{body}");
    let (status, body) =
        send(app.bmob(Method::POST, "/1/requestSmsCode").json(&json!({"mobilePhoneNumber": "12"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(301)), "{body}");
    let (status, body) = send(
        app.bmob(Method::POST, "/1/requestSmsCode")
            .json(&json!({"mobilePhoneNumber": "13800138311", "template": "no-such"})),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(10022)), "{body}");
}

#[tokio::test]
async fn timestamp_errors_and_trailing_slashes() {
    let db = TestDb::new();
    let app = spawn(&db).await;
    for path in ["/1/timestamp", "/1/timestamp/"] {
        let (status, body) = send(app.bmob(Method::GET, path)).await;
        assert_eq!(status, 200, "{body}");
        let ts = body["timestamp"].as_i64().unwrap();
        assert!((ts - chrono::Utc::now().timestamp()).abs() < 5);
        // Beijing time.
        let shown =
            chrono::NaiveDateTime::parse_from_str(body["datetime"].as_str().unwrap(), "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(shown.and_utc().timestamp() - 8 * 3600, ts);
    }
    let (status, body) = send(app.bmob(Method::GET, "/1/nowhere")).await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(404)));
    let (status, body) = send(app.bmob(Method::DELETE, "/1/requestSmsCode")).await;
    assert_eq!((status, body["code"].as_i64()), (405, Some(405)));
    let (status, body) = send(app.bmob(Method::POST, "/1/requestSmsCode").body("{not json")).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(107)));
    let (status, body) =
        send(app.bmob(Method::POST, "/1/requestSmsCode").json(&json!({"mobilePhoneNumber": "138\u{0}"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(301)), "{body}");
}

#[tokio::test]
async fn users_sign_up_log_in_sessions_and_passwords() {
    let db = TestDb::new();
    let app = spawn(&db).await;
    let (status, created) = send(app.bmob(Method::POST, "/1/users").json(&json!({
        "username": "ann", "password": "pw-123456", "email": "ann@example.com",
        "mobilePhoneNumber": "13800138320", "nickname": "A"
    })))
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(is_bmob_time(&created["createdAt"]), "{created}");
    let id = created["objectId"].as_str().unwrap().to_string();
    let token = created["sessionToken"].as_str().unwrap().to_string();

    // Login: GET with the username, the email or the phone as `username`; POST too.
    for query in ["username=ann", "username=ann@example.com", "username=13800138320", "mobilePhoneNumber=13800138320"] {
        let (status, user) = send(app.bmob(Method::GET, &format!("/1/login?{query}&password=pw-123456"))).await;
        assert_eq!(status, 200, "{query}: {user}");
        assert_eq!(user["objectId"], id.as_str());
        assert_eq!(user["nickname"], "A");
        assert_eq!(user["mobilePhoneNumber"], "13800138320");
        assert_eq!(user["mobilePhoneNumberVerified"], false);
        assert_eq!(user["mobilePhoneVerified"], false);
        assert!(user["sessionToken"].is_string() && user.get("password").is_none(), "{user}");
        assert!(is_bmob_time(&user["updatedAt"]));
    }
    let (status, user) =
        send(app.bmob(Method::POST, "/1/login").json(&json!({"username": "ann", "password": "pw-123456"}))).await;
    assert_eq!(status, 200, "{user}");
    for (who, password) in [("ann", "wrong-pass"), ("nobody", "pw-123456")] {
        let (status, body) = send(app.bmob(Method::GET, &format!("/1/login?username={who}&password={password}"))).await;
        assert_eq!((status, body), (400, json!({"code": 101, "error": "username or password incorrect."})));
    }

    // checkSession: ok with a live token of that user, fail otherwise.
    let check = |token: &str, id: &str| {
        app.bmob(Method::GET, &format!("/1/checkSession/{id}")).header("X-Bmob-Session-Token", token.to_string())
    };
    assert_eq!(send(check(&token, &id)).await, (200, json!({"msg": "ok"})));
    assert_eq!(send(check("dead-token", &id)).await, (200, json!({"msg": "fail"})));
    assert_eq!(send(check(&token, "someone-else")).await, (200, json!({"msg": "fail"})));

    // Get and save through the `_User` class path, as hydrogen does.
    let (status, fetched) = send(app.bmob(Method::GET, &format!("/1/classes/_User/{id}"))).await;
    assert_eq!(status, 200);
    assert!(fetched.get("sessionToken").is_none());
    let save = |token: Option<&str>| {
        let request = app.bmob(Method::PUT, &format!("/1/classes/_User/{id}")).json(&json!({"nickname": "B"}));
        match token {
            Some(t) => request.header("X-Bmob-Session-Token", t.to_string()),
            None => request,
        }
    };
    let (status, body) = send(save(None)).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(211)), "{body}");
    let (status, body) = send(save(Some(&token))).await;
    assert_eq!(status, 200, "{body}");
    assert!(is_bmob_time(&body["updatedAt"]));
    let (status, body) = send(
        app.bmob(Method::PUT, &format!("/1/users/{id}"))
            .header("X-Bmob-Session-Token", token.clone())
            .json(&json!({"mobilePhoneNumberVerified": true})),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(206)), "only the master key: {body}");
    let (status, _) =
        send(app.bmob_master(Method::PUT, &format!("/1/users/{id}")).json(&json!({"mobilePhoneNumberVerified": true})))
            .await;
    assert_eq!(status, 200);
    let (_, fetched) = send(app.bmob(Method::GET, &format!("/1/users/{id}"))).await;
    assert_eq!((fetched["nickname"].clone(), fetched["mobilePhoneNumberVerified"].clone()), (json!("B"), json!(true)));

    // updateUserPassword: the old password must be right; the caller's session stays, others end.
    let (_, other) = send(app.bmob(Method::GET, "/1/login?username=ann&password=pw-123456")).await;
    let other = other["sessionToken"].as_str().unwrap().to_string();
    let update = |old: &str| {
        app.bmob(Method::PUT, &format!("/1/updateUserPassword/{id}"))
            .header("X-Bmob-Session-Token", token.clone())
            .json(&json!({"oldPassword": old, "newPassword": "pw-654321"}))
    };
    let (status, body) = send(update("wrong")).await;
    assert_eq!((status, body), (400, json!({"code": 210, "error": "old password incorrect."})));
    assert_eq!(send(update("pw-123456")).await, (200, json!({"msg": "ok"})));
    assert_eq!(send(check(&token, &id)).await, (200, json!({"msg": "ok"})));
    assert_eq!(send(check(&other, &id)).await, (200, json!({"msg": "fail"})));
    let (status, _) = send(app.bmob(Method::GET, "/1/login?username=ann&password=pw-654321")).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        app.bmob(Method::PUT, &format!("/1/updateUserPassword/{id}"))
            .json(&json!({"oldPassword": "pw-654321", "newPassword": "x"})),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(211)), "needs a session: {body}");

    // Reset by a code alone: the code of a plain requestSmsCode.
    let (status, _) = app.bmob_request_code("13800138320").await;
    assert_eq!(status, 200);
    let code = app.wait_for_code("+8613800138320", 1).await;
    let reset =
        |code: &str, body: Value| app.bmob(Method::PUT, &format!("/1/resetPasswordBySmsCode/{code}")).json(&body);
    let (status, body) = send(reset(&code, json!({}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(10050)), "{body}");
    let (status, body) = send(reset(&code, json!({"password": 5}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(10051)), "{body}");
    let (status, body) = send(reset("000000", json!({"password": "pw-reset-1"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(207)), "{body}");
    assert_eq!(send(reset(&code, json!({"password": "pw-reset-1"}))).await, (200, json!({"msg": "ok"})));
    assert_eq!(send(check(&token, &id)).await, (200, json!({"msg": "fail"})), "a reset ends every session");
    let (status, _) = send(app.bmob(Method::GET, "/1/login?username=ann&password=pw-reset-1")).await;
    assert_eq!(status, 200);
    let (status, body) = send(reset(&code, json!({"password": "pw-reset-2"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(207)), "single use: {body}");

    // Duplicates.
    let (status, body) =
        send(app.bmob(Method::POST, "/1/users").json(&json!({"username": "ann", "password": "pw-123456"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(202)));
    let (status, body) = send(app.bmob(Method::POST, "/1/users").json(&json!({"username": "x"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(108)));

    // Delete: own session or the master key.
    let (status, body) = send(app.bmob(Method::DELETE, &format!("/1/users/{id}"))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(211)));
    assert_eq!(send(app.bmob_master(Method::DELETE, &format!("/1/users/{id}"))).await, (200, json!({"msg": "ok"})));
    let (status, body) = send(app.bmob(Method::GET, &format!("/1/users/{id}"))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(101)));
}

#[tokio::test]
async fn phone_sign_up_or_log_in_in_each_spelling() {
    let db = TestDb::new();
    let app = spawn(&db).await;
    let phone = "13800138330";
    let code = |n: usize| {
        let app = &app;
        async move {
            app.clock.advance(TimeDelta::seconds(61));
            let (status, body) = app.bmob_request_code(phone).await;
            assert_eq!(status, 200, "{body}");
            app.wait_for_code("+8613800138330", n).await
        }
    };
    // POST /1/usersv1 (hydrogen 2.7) creates the user: username = the number, verified.
    let first = code(1).await;
    let (status, user) =
        send(app.bmob(Method::POST, "/1/usersv1").json(&json!({"mobilePhoneNumber": phone, "smsCode": first}))).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (user["mobilePhoneNumberVerified"].clone(), user["mobilePhoneVerified"].clone()),
        (json!(true), json!(true))
    );
    assert!(user["sessionToken"].is_string());
    let id = user["objectId"].clone();
    // POST /1/users with phone + code, and GET /1/login (hydrogen ≤ 2.6): the same user.
    let second = code(2).await;
    let (status, again) = send(
        app.bmob(Method::POST, "/1/users").json(&json!({"mobilePhoneNumber": phone, "smsCode": second, "age": 3})),
    )
    .await;
    assert_eq!((status, again["objectId"].clone()), (200, id.clone()), "{again}");
    let third = code(3).await;
    let (status, again) =
        send(app.bmob(Method::GET, &format!("/1/login?mobilePhoneNumber={phone}&smsCode={third}"))).await;
    assert_eq!((status, again["objectId"].clone()), (200, id.clone()), "{again}");
    let (status, body) =
        send(app.bmob(Method::POST, "/1/usersv1").json(&json!({"mobilePhoneNumber": phone, "smsCode": third}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(207)), "a used code: {body}");
}

/// Answers the test queued, in order.
#[derive(Debug, Default)]
struct Answers(Mutex<VecDeque<String>>);

impl CaptchaText for Answers {
    fn text(&self, _len: usize) -> String {
        self.0.lock().unwrap().pop_front().expect("the test queued an answer")
    }
}

#[tokio::test]
async fn captcha_then_a_send_with_its_validate_token() {
    let db = TestDb::new();
    let answers = Arc::new(Answers::default());
    let app = TestApp::spawn_with(&db, Options { captcha_text: Some(answers.clone()), ..Default::default() }).await;
    app.update_settings(json!({"policy": {"captcha_required": true}}));
    let phone = "13800138340";
    let (status, body) = app.bmob_request_code(phone).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(118)), "a validate_token is needed: {body}");

    answers.0.lock().unwrap().push_back("K7PX".into());
    let (status, captcha) = send(
        app.bmob(Method::POST, "/1/requestCaptcha").json(&json!({"width": 85, "height": 30, "size": 4, "ttl": 60})),
    )
    .await;
    assert_eq!(status, 200, "{captcha}");
    let url = captcha["captcha_url"].as_str().unwrap();
    assert!(url.contains("/1/captchaImage?secretKey="), "{url}");
    // The image loads without any header, as an <img> does.
    let image = reqwest::get(url).await.unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let (status, body) = send(app.bmob(Method::POST, "/1/requestCaptcha").json(&json!({"ttl": 30}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(301)), "Bmob's ttl is 60–180 s: {body}");

    let (status, verified) = send(
        app.bmob(Method::POST, "/1/verifyCaptcha")
            .json(&json!({"captcha_code": "k7px", "captcha_token": captcha["captcha_token"]})),
    )
    .await;
    assert_eq!(status, 200, "{verified}");
    let (status, again) = send(
        app.bmob(Method::POST, "/1/verifyCaptcha")
            .json(&json!({"captcha_code": "k7px", "captcha_token": captcha["captcha_token"]})),
    )
    .await;
    assert_eq!((status, again["code"].as_i64()), (400, Some(207)), "{again}");
    let (status, sent) = send(app.bmob(Method::POST, "/1/requestSmsCode").json(&json!({
        "mobilePhoneNumber": phone, "validate_token": verified["validate_token"]
    })))
    .await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent["smsId"].is_i64());
}

#[tokio::test]
async fn one_user_table_for_bmob_and_leancloud() {
    let db = TestDb::new();
    let app = spawn(&db).await;
    // Signed up through Bmob, logged in through LeanCloud.
    let (status, bmob_user) = send(
        app.bmob(Method::POST, "/1/users")
            .json(&json!({"username": "cross-b", "password": "pw-123456", "mobilePhoneNumber": "13800138350"})),
    )
    .await;
    assert_eq!(status, 201, "{bmob_user}");
    let (status, lc_user) =
        send(app.post("/1.1/login").json(&json!({"mobilePhoneNumber": "13800138350", "password": "pw-123456"}))).await;
    assert_eq!(status, 200, "{lc_user}");
    assert_eq!(lc_user["objectId"], bmob_user["objectId"]);
    // The LeanCloud session works on Bmob's checkSession.
    let (status, checked) = send(
        app.bmob(Method::GET, &format!("/1/checkSession/{}", lc_user["objectId"].as_str().unwrap()))
            .header("X-Bmob-Session-Token", lc_user["sessionToken"].as_str().unwrap()),
    )
    .await;
    assert_eq!((status, checked), (200, json!({"msg": "ok"})));

    // And the reverse: signed up through LeanCloud, logged in through Bmob (signed mode).
    let (status, lc_user) = send(
        app.post("/1.1/users")
            .json(&json!({"username": "cross-l", "password": "pw-abcdef", "mobilePhoneNumber": "13800138351"})),
    )
    .await;
    assert_eq!(status, 201, "{lc_user}");
    let (status, bmob_user) =
        send(app.bmob_signed(Method::GET, "/1/login?username=13800138351&password=pw-abcdef", None)).await;
    assert_eq!(status, 200, "{bmob_user}");
    assert_eq!(bmob_user["objectId"], lc_user["objectId"]);
    assert_eq!(bmob_user["username"], "cross-l");
    let (status, me) = send(
        app.signed(Method::GET, "/1.1/users/me", false)
            .header("X-LC-Session", bmob_user["sessionToken"].as_str().unwrap()),
    )
    .await;
    assert_eq!((status, me["objectId"].clone()), (200, lc_user["objectId"].clone()), "{me}");

    // A code sent through Bmob logs in through LeanCloud's usersByMobilePhone.
    let (status, _) = app.bmob_request_code("13800138351").await;
    assert_eq!(status, 200);
    let code = app.wait_for_code("+8613800138351", 1).await;
    let (status, by_phone) =
        send(app.post("/1.1/usersByMobilePhone").json(&json!({"mobilePhoneNumber": "13800138351", "smsCode": code})))
            .await;
    assert_eq!((status, by_phone["objectId"].clone()), (200, lc_user["objectId"].clone()), "{by_phone}");
}

fn approved(app: &TestApp, name: &str, body: &str, category: Category) -> Item {
    let content = Content::Template { body: body.into(), category, signature: None, captcha_required: false };
    let item = app.core.create_item(&app.app, name, content, true, "test").unwrap();
    app.core.review(&item.open.as_ref().unwrap().id, Decision::Approve, "operator:op").unwrap()
}

#[tokio::test]
async fn notices_through_templates_templates_for_codes_and_the_balance() {
    let db = TestDb::new();
    let app = spawn(&db).await;
    approved(&app, "发货通知", "您的订单 {{order}} 已发货", Category::Notification);
    approved(&app, "注册模板", "注册验证码 {{code}}，{{ttl}} 分钟内有效", Category::Verification);

    // requestSmsCode through an approved verification template, by name.
    let (status, sent) = send(
        app.bmob(Method::POST, "/1/requestSmsCode")
            .json(&json!({"mobilePhoneNumber": "13800138360", "template": "注册模板"})),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let text = app.wait_for_message("+8613800138360", 1).await;
    assert!(text["text"].as_str().unwrap().contains("注册验证码"), "{text}");
    // A notice template sends no code.
    let (status, body) = send(
        app.bmob(Method::POST, "/1/requestSmsCode")
            .json(&json!({"mobilePhoneNumber": "13800138361", "template": "发货通知"})),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(10022)), "{body}");

    // requestSms: the template form, now and scheduled.
    let request_sms = |body: Value| app.bmob(Method::POST, "/1/requestSms").json(&body);
    let (status, sent) = send(request_sms(
        json!({"mobilePhoneNumber": "13800138362", "template": "发货通知", "content": {"order": "A-42"}}),
    ))
    .await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent["smsId"].is_i64());
    let text = app.wait_for_message("+8613800138362", 1).await;
    assert!(text["text"].as_str().unwrap().contains("A-42"), "{text}");
    let (_, state) = send(app.bmob(Method::GET, &format!("/1/querySms/{}", sent["smsId"]))).await;
    assert_eq!(state["verify_state"], false, "{state}");

    let beijing = |minutes: i64| {
        (chrono::Utc::now().naive_utc() + TimeDelta::hours(8) + TimeDelta::minutes(minutes))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let (status, scheduled) = send(request_sms(json!({
        "mobilePhoneNumber": "13800138363", "template": "发货通知", "content": {"order": "B-7"}, "sendTime": beijing(30)
    })))
    .await;
    assert_eq!(status, 200, "{scheduled}");
    let (_, state) = send(app.bmob(Method::GET, &format!("/1/querySms/{}", scheduled["smsId"]))).await;
    assert_eq!(state["sms_state"], "SENDING", "held until its time: {state}");
    for (body, code) in [
        (json!({"mobilePhoneNumber": "13800138364", "template": "发货通知", "sendTime": beijing(5)}), 10020),
        (json!({"mobilePhoneNumber": "13800138364", "template": "发货通知", "sendTime": "2030/01/01 10:00"}), 10019),
        (json!({"mobilePhoneNumber": "13800138364", "content": "自由文本"}), 10021),
        (json!({"mobilePhoneNumber": "13800138364", "template": "注册模板"}), 10022),
        (json!({"mobilePhoneNumber": "13800138364", "template": "没有"}), 10022),
        (json!({"mobilePhoneNumber": "13800138364"}), 118),
    ] {
        let (status, got) = send(request_sms(body.clone())).await;
        assert_eq!((status, got["code"].as_i64()), (400, Some(code)), "{body}: {got}");
    }

    // An exhausted balance: 10011, nothing queued.
    app.core.set_balance(&app.app.id, Some(0)).unwrap();
    let (status, body) = app.bmob_request_code("13800138365").await;
    assert_eq!((status, body), (400, json!({"code": 10011, "error": "no remaining number for send messages."})));
    assert!(app.sink_lines("+8613800138365").is_empty());
}
