//! Sends and codes as the dialects other than LeanCloud need them, through the library's core API
//! (LeanCloud answers 603 for every code refusal; see `error.rs` there).

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb};
use phonebase::core::Error;
use phonebase::core::clock::ShiftedClock;
use phonebase::core::codes::{MAX_ATTEMPTS, Purpose};
use phonebase::core::phone::Phone;

async fn app_with_clock(db: &TestDb) -> TestApp {
    TestApp::spawn_with(db, Options { clock: Some(ShiftedClock::default()), ..Default::default() }).await
}

fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn wrong_expired_and_used_codes_are_told_apart() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    let phone = Phone::parse("13800138500").unwrap();
    let verify = |code: &str| app.core.verify_code(&app.app, &phone, code, Purpose::POSSESSION);

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138500"})).await.0, 200);
    let code = app.wait_for_code("+8613800138500", 1).await;
    assert!(matches!(verify(&other_code(&code)), Err(Error::InvalidCode)));
    assert!(verify(&code).is_ok());
    assert!(matches!(verify(&code), Err(Error::CodeUsed)));
    // Only the right value learns that it was used: a wrong one stays a wrong one.
    assert!(matches!(verify(&other_code(&code)), Err(Error::InvalidCode)));

    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138500"})).await.0, 200);
    let second = app.wait_for_code("+8613800138500", 2).await;
    app.clock.advance(TimeDelta::minutes(11));
    assert!(matches!(verify(&second), Err(Error::CodeExpired)));
    assert!(matches!(verify(&other_code(&second)), Err(Error::InvalidCode)));
}

#[tokio::test]
async fn spent_codes_answer_no_more_guesses_than_live_ones() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    let phone = Phone::parse("13800138501").unwrap();
    let verify = |code: &str| app.core.verify_code(&app.app, &phone, code, Purpose::POSSESSION);

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138501"})).await.0, 200);
    let code = app.wait_for_code("+8613800138501", 1).await;
    app.clock.advance(TimeDelta::minutes(11));
    // Wrong guesses at an expired code are charged like guesses at a live one...
    for _ in 0..MAX_ATTEMPTS {
        assert!(matches!(verify(&other_code(&code)), Err(Error::InvalidCode)));
    }
    // ...so the right value cannot be searched for afterwards.
    assert!(matches!(verify(&code), Err(Error::InvalidCode)));

    // A code killed by wrong guesses never tells its value either, even once it expires.
    app.clock.advance(TimeDelta::minutes(2));
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138501"})).await.0, 200);
    let second = app.wait_for_code("+8613800138501", 2).await;
    for _ in 0..MAX_ATTEMPTS {
        assert!(matches!(verify(&other_code(&second)), Err(Error::InvalidCode)));
    }
    assert!(matches!(verify(&second), Err(Error::InvalidCode)));
    app.clock.advance(TimeDelta::minutes(11));
    assert!(matches!(verify(&second), Err(Error::InvalidCode)));
}
