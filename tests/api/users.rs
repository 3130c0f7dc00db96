//! `_User` flows over the LeanCloud wire.

use chrono::TimeDelta;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, TestDb, send};
use phonebase::core::clock::ShiftedClock;

impl TestApp {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value, session: Option<&str>) -> (u16, Value) {
        let ts = chrono::Utc::now().timestamp_millis().to_string();
        let sign = format!("{},{ts}", crate::helpers::md5_hex(&format!("{ts}{}", self.app.app_key)));
        let mut req =
            self.client.request(method, self.url(path)).header("X-LC-Id", &self.app.id).header("X-LC-Sign", sign);
        if let Some(token) = session {
            req = req.header("X-LC-Session", token);
        }
        send(req.json(&body)).await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, body, None).await
    }

    pub async fn sign_up(&self, body: Value) -> Value {
        let (status, user) = self.post_json("/1.1/users", body).await;
        assert_eq!(status, 201, "{user}");
        user
    }
}

fn code(body: &Value) -> Option<i64> {
    body["code"].as_i64()
}

#[tokio::test]
async fn sign_up_returns_the_user_with_a_session() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let response = app
        .post("/1.1/users")
        .json(&json!({"username": "tom", "password": "s3cret!", "email": "Tom@Example.com", "nickname": "T", "smsCode": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let user: Value = response.json().await.unwrap();
    assert_eq!(location, app.url(&format!("/1.1/users/{}", user["objectId"].as_str().unwrap())));
    assert_eq!(user["objectId"].as_str().unwrap().len(), 24);
    assert_eq!(user["username"], "tom");
    assert_eq!(user["nickname"], "T");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["mobilePhoneVerified"], false);
    let token = user["sessionToken"].as_str().unwrap();
    assert_eq!(token.len(), 25);
    for secret in ["password", "smsCode", "salt"] {
        assert!(user.get(secret).is_none(), "{secret} leaked: {user}");
    }
    assert!(user["createdAt"].as_str().unwrap().ends_with('Z'));

    // The Python SDK signs up through /classes/_User.
    let (status, other) =
        app.post_json("/1.1/classes/_User?fetchWhenSave=false", json!({"username": "ann", "password": "pw"})).await;
    assert_eq!(status, 201);
    assert!(other["sessionToken"].is_string());

    // Reads of a user never carry a token; the password never leaves.
    let (status, read) = send(
        app.client
            .get(app.url(&format!("/1.1/classes/_User/{}", user["objectId"].as_str().unwrap())))
            .header("X-LC-Id", &app.app.id)
            .header("X-LC-Key", &app.app.app_key),
    )
    .await;
    assert_eq!(status, 200);
    assert!(read.get("sessionToken").is_none() && read.get("password").is_none());
    assert_eq!(read["email"], "Tom@Example.com");
    let (status, missing) =
        app.call(reqwest::Method::GET, "/1.1/users/000000000000000000000000", json!(null), None).await;
    assert_eq!((status, code(&missing)), (400, Some(211)));
}

#[tokio::test]
async fn sign_up_refuses_duplicates_and_blanks() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.sign_up(
        json!({"username": "tom", "password": "pw", "email": "tom@example.com", "mobilePhoneNumber": "13800138100"}),
    )
    .await;
    for (body, expected) in [
        (json!({"username": "tom", "password": "pw"}), 202),
        (json!({"username": "tim", "password": "pw", "email": "TOM@example.com"}), 203),
        (json!({"username": "tim", "password": "pw", "mobilePhoneNumber": "+8613800138100"}), 214),
        (json!({"password": "pw"}), 200),
        (json!({"username": "  ", "password": "pw"}), 200),
        (json!({"username": "tim"}), 201),
        (json!({"username": "tim", "password": ""}), 201),
        (json!({"username": "tim", "password": "pw", "email": "not-an-email"}), 125),
        (json!({"username": "tim", "password": "pw", "mobilePhoneNumber": "123"}), 127),
    ] {
        let (status, got) = app.post_json("/1.1/users", body.clone()).await;
        assert_eq!((status, code(&got)), (400, Some(expected)), "{body}");
    }
}

#[tokio::test]
async fn concurrent_signups_with_one_username_create_one_user() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let results = join_all(
        (0..10).map(|i| app.post_json("/1.1/users", json!({"username": "same", "password": format!("pw{i}")}))),
    )
    .await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 201).count(), 1, "{results:?}");
    assert!(results.iter().all(|(s, b)| *s == 201 || code(b) == Some(202)), "{results:?}");
}

#[tokio::test]
async fn login_by_username_email_or_phone() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let user = app.sign_up(json!({"username": "tom", "password": "pw1", "email": "tom@example.com", "mobilePhoneNumber": "13800138101"})).await;
    for body in [
        json!({"username": "tom", "password": "pw1", "objectId": "ignored", "ACL": {}}),
        json!({"email": "TOM@example.com", "password": "pw1"}),
        json!({"mobilePhoneNumber": "+8613800138101", "password": "pw1"}),
    ] {
        let (status, got) = app.post_json("/1.1/login", body.clone()).await;
        assert_eq!(status, 200, "{body}: {got}");
        assert_eq!(got["objectId"], user["objectId"]);
        assert!(got["sessionToken"].is_string() && got["sessionToken"] != user["sessionToken"]);
    }
    let (status, got) = send(
        app.client
            .get(app.url("/1.1/login?username=tom&password=pw1"))
            .header("X-LC-Id", &app.app.id)
            .header("X-LC-Key", &app.app.app_key),
    )
    .await;
    assert_eq!((status, &got["username"]), (200, &json!("tom")));
    for (body, expected) in [
        (json!({"username": "tom", "password": "nope"}), 210),
        (json!({"username": "nobody", "password": "pw1"}), 211),
        (json!({"email": "nobody@example.com", "password": "pw1"}), 205),
        (json!({"mobilePhoneNumber": "13800138199", "password": "pw1"}), 213),
        (json!({"username": "tom"}), 201),
        (json!({"password": "pw1"}), 200),
    ] {
        let (status, got) = app.post_json("/1.1/login", body.clone()).await;
        assert_eq!((status, code(&got)), (400, Some(expected)), "{body}");
    }
    // A phone-created user has no password: password login is impossible.
    app.update_settings(json!({"test_numbers": {"13900000001": "111111"}}));
    let (status, _) = app
        .post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": "13900000001", "smsCode": "111111"}))
        .await;
    assert_eq!(status, 201);
    let (status, got) = app.post_json("/1.1/login", json!({"mobilePhoneNumber": "13900000001", "password": ""})).await;
    assert_eq!((status, code(&got)), (400, Some(201)));
    let (status, got) =
        app.post_json("/1.1/login", json!({"mobilePhoneNumber": "13900000001", "password": "guess"})).await;
    assert_eq!((status, code(&got)), (400, Some(210)));
}

#[tokio::test]
async fn seven_failures_in_fifteen_minutes_lock_the_account() {
    let db = TestDb::new();
    let clock = ShiftedClock::default();
    let app = TestApp::spawn_with(&db, Options { clock: Some(clock.clone()), ..Default::default() }).await;
    app.sign_up(json!({"username": "tom", "password": "right"})).await;
    // Parallel guesses cannot slip past the counter.
    let guesses =
        join_all((0..12).map(|_| app.post_json("/1.1/login", json!({"username": "tom", "password": "wrong"})))).await;
    let codes: Vec<_> = guesses.iter().map(|(_, b)| code(b).unwrap()).collect();
    assert_eq!(codes.iter().filter(|&&c| c == 210).count(), 7, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 219).count(), 5, "{codes:?}");
    let (_, got) = app.post_json("/1.1/login", json!({"username": "tom", "password": "right"})).await;
    assert_eq!(code(&got), Some(219), "even the right password while locked");
    clock.advance(TimeDelta::minutes(15) + TimeDelta::seconds(1));
    let (status, _) = app.post_json("/1.1/login", json!({"username": "tom", "password": "right"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn me_and_session_tokens() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let tom = app.sign_up(json!({"username": "tom", "password": "pw"})).await;
    let ann = app.sign_up(json!({"username": "ann", "password": "pw"})).await;
    let (tom_token, ann_token) = (tom["sessionToken"].as_str().unwrap(), ann["sessionToken"].as_str().unwrap());
    let (status, me) = app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(tom_token)).await;
    assert_eq!((status, &me["username"], &me["sessionToken"]), (200, &json!("tom"), &json!(tom_token)));
    // ?session_token= wins over the header (Python's become()).
    let (status, me) = app
        .call(reqwest::Method::GET, &format!("/1.1/users/me?session_token={ann_token}"), json!(null), Some(tom_token))
        .await;
    assert_eq!((status, &me["username"]), (200, &json!("ann")));
    for token in [Some("nosuchtoken"), None] {
        let (status, got) = app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), token).await;
        assert_eq!((status, code(&got)), (400, Some(211)));
    }
    // A stale token where no user is needed is ignored.
    let (status, _) = app
        .call(reqwest::Method::POST, "/1.1/login", json!({"username": "tom", "password": "pw"}), Some("stale"))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(reqwest::Method::POST, "/1.1/requestSmsCode", json!({"mobilePhoneNumber": "13800138102"}), Some("stale"))
        .await;
    assert_eq!(status, 200);

    // refreshSessionToken: needs the user's session (or master), and the old token dies.
    let id = tom["objectId"].as_str().unwrap();
    let path = format!("/1.1/users/{id}/refreshSessionToken");
    let (status, got) = app.call(reqwest::Method::PUT, &path, json!(null), Some(ann_token)).await;
    assert_eq!((status, code(&got)), (403, Some(206)));
    let (status, fresh) = app.call(reqwest::Method::PUT, &path, json!(null), Some(tom_token)).await;
    assert_eq!(status, 200);
    let fresh_token = fresh["sessionToken"].as_str().unwrap();
    assert_ne!(fresh_token, tom_token);
    assert_eq!(app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(tom_token)).await.0, 400);
    assert_eq!(app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(fresh_token)).await.0, 200);
    let master = send(
        app.client
            .put(app.url(&path))
            .header("X-LC-Id", &app.app.id)
            .header("X-LC-Key", format!("{},master", app.app.master_key))
            .body("null"),
    )
    .await;
    assert_eq!(master.0, 200);
    assert_eq!(app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(fresh_token)).await.0, 400);
}

#[tokio::test]
async fn update_password_keeps_this_session_and_ends_others() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let tom = app.sign_up(json!({"username": "tom", "password": "old"})).await;
    let (token, id) = (tom["sessionToken"].as_str().unwrap(), tom["objectId"].as_str().unwrap());
    let (_, other) = app.post_json("/1.1/login", json!({"username": "tom", "password": "old"})).await;
    let other_token = other["sessionToken"].as_str().unwrap();
    let path = format!("/1.1/users/{id}/updatePassword");
    let (status, got) =
        app.call(reqwest::Method::PUT, &path, json!({"old_password": "bad", "new_password": "new"}), Some(token)).await;
    assert_eq!((status, code(&got)), (400, Some(210)));
    let (status, got) =
        app.call(reqwest::Method::PUT, &path, json!({"old_password": "old", "new_password": "new"}), None).await;
    assert_eq!((status, code(&got)), (403, Some(206)));
    let (status, got) =
        app.call(reqwest::Method::PUT, &path, json!({"old_password": "old", "new_password": "new"}), Some(token)).await;
    assert_eq!((status, &got["sessionToken"]), (200, &json!(token)));
    assert_eq!(app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(token)).await.0, 200);
    assert_eq!(app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(other_token)).await.0, 400);
    assert_eq!(app.post_json("/1.1/login", json!({"username": "tom", "password": "new"})).await.0, 200);
    assert_eq!(app.post_json("/1.1/login", json!({"username": "tom", "password": "old"})).await.0, 400);
}

#[tokio::test]
async fn users_by_mobile_phone_signs_up_then_logs_in() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138103"})).await.0, 200);
    let code = app.wait_for_code("+8613800138103", 1).await;
    let (status, user) = app
        .post_json(
            "/1.1/usersByMobilePhone",
            json!({"mobilePhoneNumber": "13800138103", "smsCode": code, "nickname": "N"}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        (&user["username"], &user["mobilePhoneNumber"], &user["mobilePhoneVerified"]),
        (&json!("+8613800138103"), &json!("13800138103"), &json!(true))
    );
    assert_eq!(user["nickname"], "N");
    // The code is spent.
    let (status, got) =
        app.post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": "13800138103", "smsCode": code})).await;
    assert_eq!((status, code_of(&got)), (400, Some(603)));
    // A new code logs the same user in; username and password are ignored then.
    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "+8613800138103"})).await.0, 200);
    let code = app.wait_for_code("+8613800138103", 2).await;
    let (status, again) = app
        .post_json(
            "/1.1/usersByMobilePhone",
            json!({"mobilePhoneNumber": "+86 138 0013 8103", "smsCode": code, "username": "x", "password": "y"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!((&again["objectId"], &again["username"]), (&user["objectId"], &json!("+8613800138103")));
}

fn code_of(body: &Value) -> Option<i64> {
    code(body)
}

#[tokio::test]
async fn twenty_parallel_phone_signups_create_one_user() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"test_numbers": {"13900000002": "222222"}}));
    let results = join_all((0..20).map(|_| {
        app.post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": "13900000002", "smsCode": "222222"}))
    }))
    .await;
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 201), "{results:?}");
    assert_eq!(results.iter().filter(|(s, _)| *s == 201).count(), 1, "{results:?}");
    let ids: std::collections::HashSet<_> =
        results.iter().map(|(_, b)| b["objectId"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn sms_login_needs_a_verified_number() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.sign_up(json!({"username": "tom", "password": "pw", "mobilePhoneNumber": "13800138104"})).await;
    let (status, got) = app.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138104"})).await;
    assert_eq!((status, code(&got)), (400, Some(215)));
    let (status, got) = app.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138199"})).await;
    assert_eq!((status, code(&got)), (400, Some(213)));

    // Verify the number (the JS SDK sends the code alone), then log in with a code.
    assert_eq!(
        app.post_json("/1.1/requestMobilePhoneVerify", json!({"mobilePhoneNumber": "13800138104"})).await.0,
        200
    );
    let verify_code = app.wait_for_code("+8613800138104", 1).await;
    let (status, got) =
        app.call(reqwest::Method::POST, &format!("/1.1/verifyMobilePhone/{verify_code}"), json!(null), None).await;
    assert_eq!(status, 200, "{got}");
    assert!(got["objectId"].is_string() && got["updatedAt"].is_string());
    // Already verified: nothing is sent.
    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(
        app.post_json("/1.1/requestMobilePhoneVerify", json!({"mobilePhoneNumber": "13800138104"})).await.0,
        200
    );

    assert_eq!(app.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138104"})).await.0, 200);
    let login_code = app.wait_for_code("+8613800138104", 2).await;
    assert_eq!(app.sink_lines("+8613800138104").len(), 2);
    let (status, got) =
        app.post_json("/1.1/login", json!({"mobilePhoneNumber": "13800138104", "smsCode": "000000"})).await;
    assert_eq!((status, code(&got)), (400, Some(603)));
    let (status, got) =
        app.post_json("/1.1/login", json!({"mobilePhoneNumber": "13800138104", "smsCode": login_code})).await;
    assert_eq!((status, &got["username"]), (200, &json!("tom")));

    app.update_settings(json!({"policy": {"sms_login": false}}));
    let (status, got) = app.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138104"})).await;
    assert_eq!((status, code(&got)), (403, Some(119)));
}

#[tokio::test]
async fn reset_by_code_alone_ends_every_session() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"test_numbers": {}, "policy": {"reset_allows_unverified_phone": true}}));
    let tom = app.sign_up(json!({"username": "tom", "password": "old", "mobilePhoneNumber": "13800138105"})).await;
    let token = tom["sessionToken"].as_str().unwrap();
    assert_eq!(
        app.post_json("/1.1/requestPasswordResetBySmsCode", json!({"mobilePhoneNumber": "13800138105"})).await.0,
        200
    );
    let code = app.wait_for_code("+8613800138105", 1).await;
    let (status, got) = app
        .call(reqwest::Method::PUT, &format!("/1.1/resetPasswordBySmsCode/{code}"), json!({"password": "new"}), None)
        .await;
    assert_eq!((status, &got), (200, &json!({})));
    assert_eq!(app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(token)).await.0, 400);
    assert_eq!(app.post_json("/1.1/login", json!({"username": "tom", "password": "new"})).await.0, 200);
    let (status, got) = app
        .call(reqwest::Method::PUT, &format!("/1.1/resetPasswordBySmsCode/{code}"), json!({"password": "again"}), None)
        .await;
    assert_eq!((status, code_of(&got)), (400, Some(603)), "single use");
}

#[tokio::test]
async fn guessing_codes_by_value_does_not_pay() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, Options { trusted_proxies: vec!["127.0.0.1/32"], ..Default::default() }).await;
    app.update_settings(json!({"policy": {"reset_allows_unverified_phone": true}}));
    app.sign_up(json!({"username": "tom", "password": "old", "mobilePhoneNumber": "13800138106"})).await;
    assert_eq!(
        app.post_json("/1.1/requestPasswordResetBySmsCode", json!({"mobilePhoneNumber": "13800138106"})).await.0,
        200
    );
    let code = app.wait_for_code("+8613800138106", 1).await;
    // Guesses from an address the code was not asked from use up the app's small budget...
    let mut guess = 0u32;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let wrong = loop {
            let g = format!("{guess:06}");
            guess += 1;
            if g != code {
                break g;
            }
        };
        let (status, got) = app
            .call_from(
                "198.51.100.1",
                reqwest::Method::PUT,
                &format!("/1.1/resetPasswordBySmsCode/{wrong}"),
                json!({"password": "pwned"}),
                None,
            )
            .await;
        assert_eq!(code_of(&got), Some(603));
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 400).count(), 4, "{statuses:?}");
    // ...after which even the right code is refused from there, and the password is unchanged.
    let (status, got) = app
        .call_from(
            "198.51.100.2",
            reqwest::Method::PUT,
            &format!("/1.1/resetPasswordBySmsCode/{code}"),
            json!({"password": "pwned"}),
            None,
        )
        .await;
    assert_eq!((status, code_of(&got)), (429, Some(603)));
    assert_eq!(app.post_json("/1.1/login", json!({"username": "tom", "password": "old"})).await.0, 200);
    // The owner, who knows the number, is not blocked by the guesser.
    let (status, _) = app
        .call_from(
            "198.51.100.3",
            reqwest::Method::PUT,
            &format!("/1.1/resetPasswordBySmsCode/{code}"),
            json!({"password": "new", "mobilePhoneNumber": "13800138106"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn change_phone_number() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let tom = app.sign_up(json!({"username": "tom", "password": "pw", "mobilePhoneNumber": "13800138107"})).await;
    let ann = app.sign_up(json!({"username": "ann", "password": "pw", "mobilePhoneNumber": "13800138108"})).await;
    // A verified number is taken (an unverified claim would not be: see accounts.rs).
    let ann_path = format!("/1.1/users/{}", ann["objectId"].as_str().unwrap());
    let verified = app.signed(reqwest::Method::PUT, &ann_path, true).json(&json!({"mobilePhoneVerified": true}));
    assert_eq!(send(verified).await.0, 200);
    let token = tom["sessionToken"].as_str().unwrap();
    let (status, got) =
        app.post_json("/1.1/requestChangePhoneNumber", json!({"mobilePhoneNumber": "13800138109"})).await;
    assert_eq!((status, code(&got)), (403, Some(206)));
    let (status, got) = app
        .call(
            reqwest::Method::POST,
            "/1.1/requestChangePhoneNumber",
            json!({"mobilePhoneNumber": "13800138108"}),
            Some(token),
        )
        .await;
    assert_eq!((status, code(&got)), (400, Some(214)));
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            "/1.1/requestChangePhoneNumber",
            json!({"mobilePhoneNumber": "13800138109"}),
            Some(token),
        )
        .await;
    assert_eq!(status, 200);
    let message = app.wait_for_message("+8613800138109", 1).await;
    assert!(message["text"].as_str().unwrap().contains("6 分钟"), "default ttl 6 minutes: {message}");
    let code = crate::helpers::code_in(message["text"].as_str().unwrap());
    // The code only changes the number it was sent to, and needs no session.
    let (status, got) =
        app.post_json("/1.1/changePhoneNumber", json!({"mobilePhoneNumber": "13800138108", "code": code})).await;
    assert_eq!((status, code_of(&got)), (400, Some(603)));
    let (status, _) =
        app.post_json("/1.1/changePhoneNumber", json!({"mobilePhoneNumber": "13800138109", "code": code})).await;
    assert_eq!(status, 200);
    let (_, me) = app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(token)).await;
    assert_eq!((&me["mobilePhoneNumber"], &me["mobilePhoneVerified"]), (&json!("13800138109"), &json!(true)));
    // A generic code for the new number does not change it.
    assert_eq!(app.post_json("/1.1/login", json!({"mobilePhoneNumber": "13800138109", "password": "pw"})).await.0, 200);
}

#[tokio::test]
async fn saving_a_user_follows_who_may_change_what() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let tom = app
        .sign_up(
            json!({"username": "tom", "password": "pw", "mobilePhoneNumber": "13800138110", "score": 1, "tags": ["a"]}),
        )
        .await;
    app.sign_up(
        json!({"username": "ann", "password": "pw", "email": "ann@example.com", "mobilePhoneNumber": "13800138111"}),
    )
    .await;
    let (token, id) = (tom["sessionToken"].as_str().unwrap(), tom["objectId"].as_str().unwrap());
    let path = format!("/1.1/classes/_User/{id}");

    // Without the user's session (or master): 206.
    let (status, got) = app.call(reqwest::Method::PUT, &path, json!({"nickname": "x"}), None).await;
    assert_eq!((status, code(&got)), (403, Some(206)));
    // Clashes.
    for (body, expected) in [
        (json!({"username": "ann"}), 202),
        (json!({"email": "ANN@example.com"}), 203),
        (json!({"mobilePhoneNumber": "+8613800138111"}), 214),
        (json!({"mobilePhoneVerified": true}), 206),
        (json!({"username": ""}), 217),
    ] {
        let (status, got) = app.call(reqwest::Method::PUT, &path, body.clone(), Some(token)).await;
        assert_eq!(code(&got), Some(expected), "{body}: {status} {got}");
    }
    // Field operations, and the whole object back with ?new=true.
    let (status, got) = app
        .call(
            reqwest::Method::PUT,
            &format!("{path}?new=true"),
            json!({"score": {"__op": "Increment", "amount": 41}, "tags": {"__op": "AddUnique", "objects": ["a", "b"]},
                   "nickname": "T", "email": "tom@example.com", "sessionToken": "ignored"}),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (&got["score"], &got["tags"], &got["nickname"], &got["email"]),
        (&json!(42), &json!(["a", "b"]), &json!("T"), &json!("tom@example.com"))
    );
    assert!(got.get("sessionToken").is_none());
    // A plain save answers objectId and updatedAt.
    let (status, got) = app
        .call(reqwest::Method::PUT, &format!("/1.1/users/{id}?"), json!({"nickname": {"__op": "Delete"}}), Some(token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["objectId", "updatedAt"]);

    // Master may set the verified flag; changing the number clears it again.
    let master = |method: reqwest::Method, path: &str, body: Value| {
        let req = app
            .client
            .request(method, app.url(path))
            .header("X-LC-Id", &app.app.id)
            .header("X-LC-Key", format!("{},master", app.app.master_key))
            .json(&body);
        send(req)
    };
    assert_eq!(master(reqwest::Method::PUT, &path, json!({"mobilePhoneVerified": true})).await.0, 200);
    let (_, me) = app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(token)).await;
    assert_eq!((&me["mobilePhoneVerified"], me.get("nickname")), (&json!(true), None));
    assert_eq!(
        app.call(reqwest::Method::PUT, &path, json!({"mobilePhoneNumber": "13800138112"}), Some(token)).await.0,
        200
    );
    let (_, me) = app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(token)).await;
    assert_eq!((&me["mobilePhoneNumber"], &me["mobilePhoneVerified"]), (&json!("13800138112"), &json!(false)));
    // A new password through save.
    assert_eq!(app.call(reqwest::Method::PUT, &path, json!({"password": "new"}), Some(token)).await.0, 200);
    assert_eq!(app.post_json("/1.1/login", json!({"username": "tom", "password": "new"})).await.0, 200);

    // Delete: own session or master.
    let (status, got) = app.call(reqwest::Method::DELETE, &path, json!({}), None).await;
    assert_eq!((status, code(&got)), (403, Some(206)));
    assert_eq!(app.call(reqwest::Method::DELETE, &path, json!({}), Some(token)).await.0, 200);
    let (status, got) = master(reqwest::Method::GET, &path, json!(null)).await;
    assert_eq!((status, code(&got)), (400, Some(211)));
    assert_eq!(app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(token)).await.0, 400);
}

#[tokio::test]
async fn sessions_trade_for_jwts_that_verify_with_the_published_keys() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"test_numbers": {"13900000003": "333333"}}));
    let (_, tom) = app
        .post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": "13900000003", "smsCode": "333333"}))
        .await;
    let token = tom["sessionToken"].as_str().unwrap();
    let (status, got) = app.call(reqwest::Method::POST, "/1.1/users/me/jwt", json!(null), Some(token)).await;
    assert_eq!(status, 200, "{got}");
    let jwt = got["jwt"].as_str().unwrap();
    let (status, got) = app.call(reqwest::Method::POST, "/1.1/users/me/jwt", json!(null), Some("bad")).await;
    assert_eq!((status, code(&got)), (400, Some(211)));

    // A service verifies it with nothing but the key set.
    let (status, jwks) = send(app.client.get(app.url("/.well-known/jwks.json"))).await;
    assert_eq!(status, 200);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let jwk = set.find(header.kid.as_deref().unwrap()).expect("kid in the set");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[app.app.id.as_str()]);
    validation.set_issuer(&["phonebase"]);
    let claims =
        jsonwebtoken::decode::<phonebase::core::accounts::tokens::Claims>(jwt, &key, &validation).unwrap().claims;
    assert_eq!(claims.sub, tom["objectId"].as_str().unwrap());
    assert_eq!((claims.phone.as_deref(), claims.phone_verified), (Some("+8613900000003"), true));
    assert!(claims.exp - claims.iat == 15 * 60);
    // Meant for another app: refused.
    validation.set_audience(&["another-app"]);
    assert!(jsonwebtoken::decode::<phonebase::core::accounts::tokens::Claims>(jwt, &key, &validation).is_err());
    // Another instance on the same database signs with the same key.
    let other = app.another_instance(&db, Options::default()).await;
    let (_, jwks2) = send(other.client.get(other.url("/.well-known/jwks.json"))).await;
    assert_eq!(serde_json::to_value(&set).unwrap(), jwks2);
}
