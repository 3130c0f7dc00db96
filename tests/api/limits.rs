use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb, send};
use phonebase::core::clock::ShiftedClock;

async fn app_with_clock(db: &TestDb) -> TestApp {
    TestApp::spawn_with(db, Options { clock: Some(ShiftedClock::default()), ..Default::default() }).await
}

async fn code_status(app: &TestApp, phone: &str) -> (u16, Option<i64>) {
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": phone})).await;
    (status, body["code"].as_i64())
}

#[tokio::test]
async fn per_phone_minute_hour_and_day() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    let phone = "13800138010";
    assert_eq!(code_status(&app, phone).await, (200, None));
    assert_eq!(code_status(&app, phone).await, (400, Some(601)), "1 per minute");
    app.clock.advance(TimeDelta::seconds(61));
    // 2..5 within the hour, a minute apart.
    for _ in 2..=5 {
        assert_eq!(code_status(&app, phone).await.0, 200);
        app.clock.advance(TimeDelta::seconds(61));
    }
    assert_eq!(code_status(&app, phone).await, (400, Some(601)), "5 per hour");
    // Another number is not affected.
    assert_eq!(code_status(&app, "13800138011").await.0, 200);
    app.clock.advance(TimeDelta::hours(1));
    for _ in 6..=10 {
        assert_eq!(code_status(&app, phone).await.0, 200);
        app.clock.advance(TimeDelta::seconds(61));
    }
    app.clock.advance(TimeDelta::hours(2));
    assert_eq!(code_status(&app, phone).await, (400, Some(601)), "10 per day");
    app.clock.advance(TimeDelta::hours(22));
    assert_eq!(code_status(&app, phone).await.0, 200, "the day is rolling");
}

#[tokio::test]
async fn limits_are_per_app_and_configurable() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    app.update_settings(json!({"limits": {"phone_per_minute": 3}}));
    for _ in 0..3 {
        assert_eq!(code_status(&app, "13800138012").await.0, 200);
    }
    assert_eq!(code_status(&app, "13800138012").await, (400, Some(601)));
    let other =
        app.core.create_app(phonebase::core::apps::NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    let other = app.with_app(other);
    assert_eq!(code_status(&other, "13800138012").await.0, 200, "another app counts its own sends");
}

#[tokio::test]
async fn per_ip_limit_and_trusted_proxies() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(
        &db,
        Options { clock: Some(ShiftedClock::default()), trusted_proxies: vec!["127.0.0.1/32"], ..Default::default() },
    )
    .await;
    app.update_settings(json!({"limits": {"ip_per_hour": 2}}));
    let from = |ip: &str, phone: &str| {
        let req = app
            .post("/1.1/requestSmsCode")
            .header("X-Forwarded-For", format!("{ip}, 127.0.0.1"))
            .json(&json!({"mobilePhoneNumber": phone}));
        async move {
            let (s, b) = send(req).await;
            (s, b["code"].as_i64())
        }
    };
    assert_eq!(from("203.0.113.5", "13800138020").await.0, 200);
    assert_eq!(from("203.0.113.5", "13800138021").await.0, 200);
    assert_eq!(from("203.0.113.5", "13800138022").await, (400, Some(601)));
    assert_eq!(from("203.0.113.6", "13800138022").await.0, 200, "another client behind the proxy");
    app.clock.advance(TimeDelta::minutes(61));
    assert_eq!(from("203.0.113.5", "13800138023").await.0, 200);

    // Without trust, X-Forwarded-For is ignored: every request is the socket's address.
    let db2 = TestDb::new();
    let direct = app_with_clock(&db2).await;
    direct.update_settings(json!({"limits": {"ip_per_hour": 2}}));
    for (i, expected) in [(0, 200), (1, 200), (2, 400)] {
        let req = direct
            .post("/1.1/requestSmsCode")
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({"mobilePhoneNumber": format!("1380013803{i}")}));
        assert_eq!(send(req).await.0, expected);
    }
}

#[tokio::test]
async fn codes_expire_with_their_ttl() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138040"})).await.0, 200);
    let code = app.wait_for_code("+8613800138040", 1).await;
    app.clock.advance(TimeDelta::minutes(10) + TimeDelta::seconds(1));
    assert_eq!(app.verify_code(&code, "13800138040").await.1["code"], 603, "default ttl is 10 minutes");

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138041", "ttl": 2})).await.0, 200);
    let code = app.wait_for_code("+8613800138041", 1).await;
    app.clock.advance(TimeDelta::seconds(119));
    assert_eq!(app.verify_code(&code, "13800138041").await.0, 200, "still alive before its ttl");

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138042", "ttl": "2"})).await.0, 200);
    let code = app.wait_for_code("+8613800138042", 1).await;
    app.clock.advance(TimeDelta::seconds(121));
    assert_eq!(app.verify_code(&code, "13800138042").await.1["code"], 603);
}

#[tokio::test]
async fn five_wrong_attempts_kill_a_code() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    for (phone, wrong) in [("13800138050", 4), ("13800138051", 5)] {
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
        let e164 = format!("+86{phone}");
        let code = app.wait_for_code(&e164, 1).await;
        let wrong_code = if code == "000000" { "000001" } else { "000000" };
        for _ in 0..wrong {
            assert_eq!(app.verify_code(wrong_code, phone).await.1["code"], 603);
        }
        let (status, _) = app.verify_code(&code, phone).await;
        assert_eq!(status == 200, wrong < 5, "{wrong} wrong attempts before the right one");
    }
}
