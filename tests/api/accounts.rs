//! Account hardening (issue 21): password changes end sessions through one rule, blank passwords,
//! lockouts under concurrency (users and operators), a proven number taking over an account that
//! only claimed it, and guessing codes by value.

use chrono::TimeDelta;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, TestDb, send};

fn code(body: &Value) -> Option<i64> {
    body["code"].as_i64()
}

impl TestApp {
    /// Whether a session token is still alive.
    async fn alive(&self, token: &str) -> bool {
        let (status, _) = self.call(Method::GET, "/1.1/users/me", json!(null), Some(token)).await;
        status == 200
    }

    async fn log_in_as(&self, username: &str, password: &str) -> (u16, Value) {
        self.post_json("/1.1/login", json!({"username": username, "password": password})).await
    }

    /// A request from client address `ip` (the test server trusts 127.0.0.1 as a proxy).
    pub async fn call_from(
        &self,
        ip: &str,
        method: Method,
        path: &str,
        body: Value,
        session: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.signed(method, path, false).header("X-Forwarded-For", ip);
        if let Some(token) = session {
            req = req.header("X-LC-Session", token);
        }
        send(req.json(&body)).await
    }

    fn events(&self, user_id: &str) -> Vec<String> {
        self.core.user_events(&self.app, user_id).unwrap().into_iter().map(|(kind, _, _)| kind).collect()
    }
}

// ---- 1. Every password change ends sessions, through one rule ----

#[tokio::test]
async fn a_password_saved_with_the_master_key_ends_every_session() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let tom = app.sign_up(json!({"username": "tom", "password": "old-pw"})).await;
    let (id, first) = (tom["objectId"].as_str().unwrap(), tom["sessionToken"].as_str().unwrap().to_string());
    let (_, second) = app.log_in_as("tom", "old-pw").await;
    let second = second["sessionToken"].as_str().unwrap().to_string();
    for (i, path) in [format!("/1.1/users/{id}"), format!("/1.1/classes/_User/{id}")].iter().enumerate() {
        let password = format!("master-set-{i}");
        let (status, got) = send(app.signed(Method::PUT, path, true).json(&json!({"password": password}))).await;
        assert_eq!(status, 200, "{got}");
        assert!(!app.alive(&first).await && !app.alive(&second).await, "{path}: every session ends");
        assert_eq!(app.log_in_as("tom", &password).await.0, 200);
    }
    assert_eq!(app.log_in_as("tom", "old-pw").await.0, 400);
}

#[tokio::test]
async fn a_password_saved_by_the_user_keeps_only_the_calling_session() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let tom = app.sign_up(json!({"username": "tom", "password": "old-pw"})).await;
    let id = tom["objectId"].as_str().unwrap();
    let caller = tom["sessionToken"].as_str().unwrap();
    for (i, path) in [format!("/1.1/classes/_User/{id}"), format!("/1.1/users/{id}")].iter().enumerate() {
        let (_, other) = app.log_in_as("tom", if i == 0 { "old-pw" } else { "new-0" }).await;
        let other = other["sessionToken"].as_str().unwrap().to_string();
        let password = format!("new-{i}");
        let (status, got) = app.call(Method::PUT, path, json!({"password": password}), Some(caller)).await;
        assert_eq!(status, 200, "{got}");
        assert!(app.alive(caller).await, "{path}: the calling session stays");
        assert!(!app.alive(&other).await, "{path}: the other session ends");
        assert_eq!(app.log_in_as("tom", &password).await.0, 200);
    }
    // A save without a password leaves sessions alone.
    let (_, other) = app.log_in_as("tom", "new-1").await;
    let other = other["sessionToken"].as_str().unwrap().to_string();
    let (status, _) = app.call(Method::PUT, &format!("/1.1/users/{id}"), json!({"nickname": "T"}), Some(caller)).await;
    assert_eq!(status, 200);
    assert!(app.alive(&other).await);
}

#[tokio::test]
async fn update_password_and_reset_by_code_follow_the_same_rule() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let tom = app.sign_up(json!({"username": "tom", "password": "old-pw", "mobilePhoneNumber": "13800138301"})).await;
    let (id, caller) = (tom["objectId"].as_str().unwrap(), tom["sessionToken"].as_str().unwrap());
    let (_, other) = app.log_in_as("tom", "old-pw").await;
    let other = other["sessionToken"].as_str().unwrap().to_string();
    let (status, _) = app
        .call(
            Method::PUT,
            &format!("/1.1/users/{id}/updatePassword"),
            json!({"old_password": "old-pw", "new_password": "second"}),
            Some(caller),
        )
        .await;
    assert_eq!(status, 200);
    assert!(app.alive(caller).await && !app.alive(&other).await);

    // A reset by code ends every session, the caller's too.
    app.update_settings(json!({"policy": {"reset_allows_unverified_phone": true}}));
    assert_eq!(
        app.post_json("/1.1/requestPasswordResetBySmsCode", json!({"mobilePhoneNumber": "13800138301"})).await.0,
        200
    );
    let reset = app.wait_for_code("+8613800138301", 1).await;
    let (status, _) = app
        .call(Method::PUT, &format!("/1.1/resetPasswordBySmsCode/{reset}"), json!({"password": "third"}), Some(caller))
        .await;
    assert_eq!(status, 200);
    assert!(!app.alive(caller).await);
    assert_eq!(app.log_in_as("tom", "third").await.0, 200);
}

// ---- 2. Blank passwords ----

#[tokio::test]
async fn blank_passwords_are_refused_everywhere_a_password_is_set() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    for path in ["/1.1/users", "/1.1/classes/_User"] {
        for blank in ["        ", " ", "\t \n"] {
            let (status, got) = app.post_json(path, json!({"username": "tom", "password": blank})).await;
            assert_eq!((status, code(&got)), (400, Some(218)), "{path} {blank:?}: {got}");
        }
        let (status, got) = app.post_json(path, json!({"username": "tom", "password": ""})).await;
        assert_eq!((status, code(&got)), (400, Some(201)), "empty is 'missing or empty'");
    }
    let tom = app.sign_up(json!({"username": "tom", "password": "pw", "mobilePhoneNumber": "13800138302"})).await;
    let (id, token) = (tom["objectId"].as_str().unwrap(), tom["sessionToken"].as_str().unwrap());
    // Saves, by the user and by the master key.
    let (status, got) =
        app.call(Method::PUT, &format!("/1.1/classes/_User/{id}"), json!({"password": "   "}), Some(token)).await;
    assert_eq!((status, code(&got)), (400, Some(218)), "{got}");
    let (status, got) =
        send(app.signed(Method::PUT, &format!("/1.1/users/{id}"), true).json(&json!({"password": " "}))).await;
    assert_eq!((status, code(&got)), (400, Some(218)), "{got}");
    // updatePassword.
    let (status, got) = app
        .call(
            Method::PUT,
            &format!("/1.1/users/{id}/updatePassword"),
            json!({"old_password": "pw", "new_password": "    "}),
            Some(token),
        )
        .await;
    assert_eq!((status, code(&got)), (400, Some(218)), "{got}");
    // Reset by code: refused before the code is spent.
    app.update_settings(json!({"policy": {"reset_allows_unverified_phone": true}}));
    assert_eq!(
        app.post_json("/1.1/requestPasswordResetBySmsCode", json!({"mobilePhoneNumber": "13800138302"})).await.0,
        200
    );
    let reset = app.wait_for_code("+8613800138302", 1).await;
    let (status, got) =
        app.call(Method::PUT, &format!("/1.1/resetPasswordBySmsCode/{reset}"), json!({"password": "  "}), None).await;
    assert_eq!((status, code(&got)), (400, Some(218)), "{got}");
    // Phone signup-or-login with a password.
    app.update_settings(json!({"test_numbers": {"13900000301": "301301"}}));
    let (status, got) = app
        .post_json(
            "/1.1/usersByMobilePhone",
            json!({"mobilePhoneNumber": "13900000301", "smsCode": "301301", "password": "   "}),
        )
        .await;
    assert_eq!((status, code(&got)), (400, Some(218)), "{got}");
    // Nothing changed: the password still works, the reset code still works.
    assert!(app.alive(token).await);
    assert_eq!(app.log_in_as("tom", "pw").await.0, 200);
    let (status, _) = app
        .call(Method::PUT, &format!("/1.1/resetPasswordBySmsCode/{reset}"), json!({"password": "new-pw"}), None)
        .await;
    assert_eq!(status, 200);
}

// ---- 5. Lockout under concurrency ----

#[tokio::test]
async fn parallel_right_passwords_are_never_locked_out() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.sign_up(json!({"username": "tom", "password": "right"})).await;
    // Sixteen right logins at once, twice, with six wrong ones mixed in (fewer than the limit).
    for round in 0..2 {
        app.clock.advance(TimeDelta::minutes(16));
        let right = (0..16).map(|_| app.log_in_as("tom", "right"));
        let wrong = (0..6).map(|_| app.log_in_as("tom", "wrong"));
        let (right, wrong) = tokio::join!(join_all(right), join_all(wrong));
        assert!(right.iter().all(|(s, _)| *s == 200), "round {round}: {right:?}");
        assert!(wrong.iter().all(|(_, b)| code(b) == Some(210)), "round {round}: {wrong:?}");
    }
}

#[tokio::test]
async fn parallel_wrong_passwords_are_checked_at_most_the_limit() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.sign_up(json!({"username": "tom", "password": "right"})).await;
    // Wrong guesses racing right ones: the right ones win until seven wrong ones were checked,
    // and no more than seven wrong ones are ever checked.
    let wrong = (0..30).map(|_| app.log_in_as("tom", "wrong"));
    let right = (0..4).map(|_| app.log_in_as("tom", "right"));
    let (wrong, right) = tokio::join!(join_all(wrong), join_all(right));
    let wrong: Vec<_> = wrong.iter().map(|(_, b)| code(b).unwrap()).collect();
    let checked = wrong.iter().filter(|&&c| c == 210).count();
    assert!(checked <= 7 * (1 + right.iter().filter(|(s, _)| *s == 200).count()), "{wrong:?}");
    assert!(wrong.iter().all(|&c| c == 210 || c == 219), "{wrong:?}");
    for (status, body) in &right {
        assert!(*status == 200 || code(body) == Some(219), "{body}");
    }
    // Now without right ones: exactly seven are checked.
    app.clock.advance(TimeDelta::minutes(16));
    assert_eq!(app.log_in_as("tom", "right").await.0, 200, "a success clears the failures");
    let wrong = join_all((0..25).map(|_| app.log_in_as("tom", "wrong"))).await;
    let wrong: Vec<_> = wrong.iter().map(|(_, b)| code(b).unwrap()).collect();
    assert_eq!(wrong.iter().filter(|&&c| c == 210).count(), 7, "{wrong:?}");
    assert_eq!(wrong.iter().filter(|&&c| c == 219).count(), 18, "{wrong:?}");
    let (_, got) = app.log_in_as("tom", "right").await;
    assert_eq!(code(&got), Some(219), "locked: seven wrong ones were made");
    app.clock.advance(TimeDelta::minutes(16));
    assert_eq!(app.log_in_as("tom", "right").await.0, 200);
}

// ---- 16. Operator sign-in: the same rule ----

#[tokio::test]
async fn parallel_operator_guesses_are_checked_at_most_the_limit() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    const PASSWORD: &str = "correct horse battery";
    app.core.create_operator("alice", PASSWORD).unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/console/api/session", app.address);
    let attempt = |password: &'static str| {
        let (client, url) = (client.clone(), url.clone());
        async move { send(client.post(url).json(&json!({"username": "alice", "password": password}))).await.0 }
    };
    // Right sign-ins racing each other are all accepted.
    let right = join_all((0..12).map(|_| attempt(PASSWORD))).await;
    assert!(right.iter().all(|s| *s == 200), "{right:?}");
    let statuses = join_all((0..40).map(|_| attempt("wrong-password"))).await;
    assert_eq!(statuses.iter().filter(|&&s| s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 30, "{statuses:?}");
    assert_eq!(attempt(PASSWORD).await, 429, "locked, even with the right password");
    app.clock.advance(TimeDelta::minutes(16));
    assert_eq!(attempt(PASSWORD).await, 200);
}

// ---- 17. Possession of the number wins ----

/// An attacker signs up with a password and the victim's number, which stays unverified.
async fn squat(app: &TestApp, number: &str) -> (String, String) {
    let attacker =
        app.sign_up(json!({"username": "attacker", "password": "attacker-pw", "mobilePhoneNumber": number})).await;
    assert_eq!(attacker["mobilePhoneVerified"], false);
    (attacker["objectId"].as_str().unwrap().to_string(), attacker["sessionToken"].as_str().unwrap().to_string())
}

async fn assert_taken_over(app: &TestApp, id: &str, attacker_token: &str) {
    assert!(!app.alive(attacker_token).await, "the squatter's session ended");
    let (status, got) = app.log_in_as("attacker", "attacker-pw").await;
    assert_eq!((status, code(&got)), (400, Some(210)), "the squatter's password no longer works");
    assert_eq!(app.events(id), vec!["number_proven"]);
    let (_, user) = app.call(Method::GET, &format!("/1.1/users/{id}"), json!(null), None).await;
    assert_eq!(user["mobilePhoneVerified"], true);
}

#[tokio::test]
async fn a_phone_signup_takes_over_an_account_that_only_claimed_the_number() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (id, attacker_token) = squat(&app, "13800138311").await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138311"})).await.0, 200);
    let code_sent = app.wait_for_code("+8613800138311", 1).await;
    let (status, victim) = app
        .post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": "13800138311", "smsCode": code_sent}))
        .await;
    assert_eq!(status, 200, "{victim}");
    assert_eq!((victim["objectId"].as_str(), &victim["mobilePhoneVerified"]), (Some(id.as_str()), &json!(true)));
    assert_taken_over(&app, &id, &attacker_token).await;
    assert!(app.alive(victim["sessionToken"].as_str().unwrap()).await, "the victim's new session lives");
    // A verified owner is not affected by later proofs.
    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138311"})).await.0, 200);
    let again = app.wait_for_code("+8613800138311", 2).await;
    let (status, _) =
        app.post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": "13800138311", "smsCode": again})).await;
    assert_eq!(status, 200);
    assert!(app.alive(victim["sessionToken"].as_str().unwrap()).await);
    assert_eq!(app.events(&id).len(), 1);
}

#[tokio::test]
async fn an_sms_login_takes_over_an_account_that_only_claimed_the_number() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (id, attacker_token) = squat(&app, "13800138312").await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138312"})).await.0, 200);
    let code_sent = app.wait_for_code("+8613800138312", 1).await;
    let (status, victim) =
        app.post_json("/1.1/login", json!({"mobilePhoneNumber": "13800138312", "smsCode": code_sent})).await;
    assert_eq!((status, victim["objectId"].as_str()), (200, Some(id.as_str())), "{victim}");
    assert_taken_over(&app, &id, &attacker_token).await;
}

#[tokio::test]
async fn verifying_the_number_without_the_accounts_session_takes_it_over() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (id, attacker_token) = squat(&app, "13800138313").await;
    assert_eq!(
        app.post_json("/1.1/requestMobilePhoneVerify", json!({"mobilePhoneNumber": "13800138313"})).await.0,
        200
    );
    let code_sent = app.wait_for_code("+8613800138313", 1).await;
    let (status, got) = app.call(Method::POST, &format!("/1.1/verifyMobilePhone/{code_sent}"), json!(null), None).await;
    assert_eq!((status, got["objectId"].as_str()), (200, Some(id.as_str())), "{got}");
    assert_taken_over(&app, &id, &attacker_token).await;

    // The account's own holder verifying with its session keeps the password and the session.
    let tom = app.sign_up(json!({"username": "tom", "password": "tom-pw", "mobilePhoneNumber": "13800138314"})).await;
    let token = tom["sessionToken"].as_str().unwrap();
    assert_eq!(
        app.post_json("/1.1/requestMobilePhoneVerify", json!({"mobilePhoneNumber": "13800138314"})).await.0,
        200
    );
    let code_sent = app.wait_for_code("+8613800138314", 1).await;
    let (status, _) =
        app.call(Method::POST, &format!("/1.1/verifyMobilePhone/{code_sent}"), json!(null), Some(token)).await;
    assert_eq!(status, 200);
    assert!(app.alive(token).await);
    assert_eq!(app.log_in_as("tom", "tom-pw").await.0, 200);
    assert!(app.events(tom["objectId"].as_str().unwrap()).is_empty());
}

#[tokio::test]
async fn a_reset_by_code_takes_over_an_account_that_only_claimed_the_number() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"policy": {"reset_allows_unverified_phone": true}}));
    let (id, attacker_token) = squat(&app, "13800138315").await;
    assert_eq!(
        app.post_json("/1.1/requestPasswordResetBySmsCode", json!({"mobilePhoneNumber": "13800138315"})).await.0,
        200
    );
    let code_sent = app.wait_for_code("+8613800138315", 1).await;
    let (status, _) = app
        .call(Method::PUT, &format!("/1.1/resetPasswordBySmsCode/{code_sent}"), json!({"password": "victim-pw"}), None)
        .await;
    assert_eq!(status, 200);
    assert_taken_over(&app, &id, &attacker_token).await;
    assert_eq!(app.log_in_as("attacker", "victim-pw").await.0, 200, "the new password is the owner's");
}

#[tokio::test]
async fn a_phone_change_takes_the_number_from_an_account_that_only_claimed_it() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (attacker_id, _) = squat(&app, "13800138316").await;
    let victim = app.sign_up(json!({"username": "victim", "password": "victim-pw"})).await;
    let token = victim["sessionToken"].as_str().unwrap();
    let (status, got) = app
        .call(Method::POST, "/1.1/requestChangePhoneNumber", json!({"mobilePhoneNumber": "13800138316"}), Some(token))
        .await;
    assert_eq!(status, 200, "an unverified claim does not block the owner: {got}");
    let code_sent = app.wait_for_code("+8613800138316", 1).await;
    let (status, got) =
        app.post_json("/1.1/changePhoneNumber", json!({"mobilePhoneNumber": "13800138316", "code": code_sent})).await;
    assert_eq!(status, 200, "{got}");
    let (_, me) = app.call(Method::GET, "/1.1/users/me", json!(null), Some(token)).await;
    assert_eq!((&me["mobilePhoneNumber"], &me["mobilePhoneVerified"]), (&json!("13800138316"), &json!(true)));
    let (_, attacker) = app.call(Method::GET, &format!("/1.1/users/{attacker_id}"), json!(null), None).await;
    assert!(attacker.get("mobilePhoneNumber").is_none(), "{attacker}");
    assert_eq!(app.events(&attacker_id), vec!["number_released"]);
    // A verified number still cannot be taken.
    let ann = app.sign_up(json!({"username": "ann", "password": "pw"})).await;
    let (status, got) = app
        .call(
            Method::POST,
            "/1.1/requestChangePhoneNumber",
            json!({"mobilePhoneNumber": "13800138316"}),
            ann["sessionToken"].as_str(),
        )
        .await;
    assert_eq!((status, code(&got)), (400, Some(214)));
}

// ---- 6. Guessing codes by value ----

fn proxied() -> Options {
    Options { trusted_proxies: vec!["127.0.0.1/32"], ..Default::default() }
}

/// A wrong six-digit guess (never `right`).
fn wrong_guess(i: u32, right: &str) -> String {
    let g = format!("{:06}", (i * 7919 + 1) % 1_000_000);
    if g == right { format!("{:06}", (i * 7919 + 2) % 1_000_000) } else { g }
}

#[tokio::test]
async fn guessers_elsewhere_never_refuse_an_honest_right_code() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, proxied()).await;
    app.update_settings(json!({"policy": {"reset_allows_unverified_phone": true}}));
    let honest = "203.0.113.7";
    app.sign_up(json!({"username": "tom", "password": "pw", "mobilePhoneNumber": "13800138321"})).await;
    let ann = app.sign_up(json!({"username": "ann", "password": "pw", "mobilePhoneNumber": "13800138322"})).await;
    // Tom asks for a reset code, Ann for a verification code (she is signed in).
    let (status, _) = app
        .call_from(
            honest,
            Method::POST,
            "/1.1/requestPasswordResetBySmsCode",
            json!({"mobilePhoneNumber": "13800138321"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let reset = app.wait_for_code("+8613800138321", 1).await;
    let (status, _) = app
        .call_from(
            "192.0.2.50",
            Method::POST,
            "/1.1/requestMobilePhoneVerify",
            json!({"mobilePhoneNumber": "13800138322"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let verify = app.wait_for_code("+8613800138322", 1).await;

    // 100 wrong guesses of each kind from 10 addresses: a handful are checked, the rest refused.
    let mut checked = 0;
    for i in 0..100u32 {
        let ip = format!("198.51.100.{}", i % 10);
        let (status, got) = app
            .call_from(
                &ip,
                Method::PUT,
                &format!("/1.1/resetPasswordBySmsCode/{}", wrong_guess(i, &reset)),
                json!({"password": "pwned"}),
                None,
            )
            .await;
        assert_eq!(code(&got), Some(603), "{got}");
        if status == 400 {
            checked += 1;
        } else {
            assert_eq!(status, 429);
        }
        let (status, got) = app
            .call_from(
                &ip,
                Method::POST,
                &format!("/1.1/verifyMobilePhone/{}", wrong_guess(i, &verify)),
                json!(null),
                None,
            )
            .await;
        assert_eq!(code(&got), Some(603), "{got}");
        if status == 400 {
            checked += 1;
        }
    }
    // Each checked guess was compared with one live code: at most 4 in the hour (4 × 10⁻⁶).
    assert!(checked <= 4, "{checked} guesses were checked");
    // The attacker is bounded: even the right code is refused from an address it was not asked from.
    let (status, got) = app
        .call_from(
            "198.51.100.99",
            Method::PUT,
            &format!("/1.1/resetPasswordBySmsCode/{reset}"),
            json!({"password": "pwned"}),
            None,
        )
        .await;
    assert_eq!((status, code(&got)), (429, Some(603)), "{got}");
    assert_eq!(app.log_in_as("tom", "pw").await.0, 200, "the password did not change");

    // Honest users with the right code get through: Tom from where he asked, Ann with her session
    // (the JS SDK sends it), even from another address.
    let (status, got) = app
        .call_from(
            honest,
            Method::PUT,
            &format!("/1.1/resetPasswordBySmsCode/{reset}"),
            json!({"password": "tom-new"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(app.log_in_as("tom", "tom-new").await.0, 200);
    let (status, got) = app
        .call_from(
            "100.64.0.9",
            Method::POST,
            &format!("/1.1/verifyMobilePhone/{verify}"),
            json!(null),
            ann["sessionToken"].as_str(),
        )
        .await;
    assert_eq!((status, &got["objectId"]), (200, &ann["objectId"]), "{got}");
}

#[tokio::test]
async fn guesses_from_the_requesting_address_are_charged_to_its_codes() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, proxied()).await;
    app.update_settings(json!({"policy": {"reset_allows_unverified_phone": true}}));
    app.sign_up(json!({"username": "tom", "password": "pw", "mobilePhoneNumber": "13800138323"})).await;
    let here = "203.0.113.8";
    let (status, _) = app
        .call_from(
            here,
            Method::POST,
            "/1.1/requestPasswordResetBySmsCode",
            json!({"mobilePhoneNumber": "13800138323"}),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let reset = app.wait_for_code("+8613800138323", 1).await;
    // Like a code checked with its number: five wrong guesses and the code is dead.
    for i in 0..5 {
        let (status, got) = app
            .call_from(
                here,
                Method::PUT,
                &format!("/1.1/resetPasswordBySmsCode/{}", wrong_guess(i, &reset)),
                json!({"password": "x-pw"}),
                None,
            )
            .await;
        assert_eq!((status, code(&got)), (400, Some(603)));
    }
    let (status, got) = app
        .call_from(
            here,
            Method::PUT,
            &format!("/1.1/resetPasswordBySmsCode/{reset}"),
            json!({"password": "x-pw"}),
            None,
        )
        .await;
    assert_eq!((status, code(&got)), (400, Some(603)), "dead after five wrong guesses");
    assert_eq!(app.log_in_as("tom", "pw").await.0, 200);
}
