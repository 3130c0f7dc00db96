//! `GET /metrics`: Prometheus' text format with the HTTP series by route pattern, the outbox, the
//! pool and the password queue; behind a bearer token when one is configured.

use phonebase::startup::{Application, Hooks};
use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb, config, send};

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_the_outbox() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, Options { no_worker: true, ..Default::default() }).await;
    for phone in ["13800138401", "13800138402"] {
        let (status, body) = app.request_code(json!({"mobilePhoneNumber": phone})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = app.verify_code("000000", "13800138401").await;
    assert_eq!(status, 400);
    let (status, _) = send(app.post("/1.1/login").json(&json!({"username": "nobody", "password": "pw-123456"}))).await;
    assert_eq!(status, 400);
    // A random path counts under one label, not its own.
    for i in 0..3 {
        app.client.get(app.url(&format!("/nowhere/{i}"))).send().await.unwrap();
    }
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    let sends = r#"phonebase_http_requests_total{endpoint="/1.1/requestSmsCode",method="POST",status="200"}"#;
    assert_eq!(value(&text, sends), Some(2.0), "{text}");
    assert_eq!(
        value(&text, r#"phonebase_http_requests_total{endpoint="UNKNOWN",method="GET",status="404"}"#),
        Some(3.0)
    );
    assert!(!text.contains("/nowhere/"), "raw paths never become labels");
    assert!(text.contains("phonebase_http_requests_duration_seconds_bucket"));
    assert_eq!(value(&text, r#"phonebase_codes_issued_total{channel="sms"}"#), Some(2.0), "{text}");
    assert_eq!(value(&text, r#"phonebase_code_checks_total{outcome="wrong"}"#), Some(1.0), "{text}");
    assert_eq!(value(&text, r#"phonebase_logins_total{method="password",outcome="unknown"}"#), Some(1.0), "{text}");
    // The same number again within the minute: refused by the limit.
    let (status, _) = app.request_code(json!({"mobilePhoneNumber": "13800138401"})).await;
    assert_eq!(status, 400);
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(value(&text, r#"phonebase_sends_refused_total{reason="limit"}"#), Some(1.0), "{text}");
    // No worker: both messages wait in the outbox.
    assert_eq!(value(&text, r#"phonebase_outbox_messages{status="queued"}"#), Some(2.0), "{text}");
    assert!(value(&text, "phonebase_outbox_oldest_queued_seconds").is_some());
    assert!(value(&text, r#"phonebase_db_pool_connections{state="idle"}"#).is_some());
    assert_eq!(value(&text, r#"phonebase_password_hashes{state="waiting"}"#), Some(0.0));
    assert!(value(&text, "phonebase_db_pool_wait_seconds_count").is_some_and(|n| n > 0.0));
}

#[tokio::test]
async fn a_configured_token_guards_the_metrics() {
    let db = TestDb::new();
    let mut config = config(&db, &Options::default());
    config.metrics_token = Some("s3cret-scrape".into());
    let application = Application::build_with(config, Hooks::default()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", application.port());
    let running = application.spawn();
    let client = reqwest::Client::new();
    let (status, body) = send(client.get(format!("{base}/metrics"))).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = send(client.get(format!("{base}/metrics")).bearer_auth("wrong")).await;
    assert_eq!(status, 401);
    let response = client.get(format!("{base}/metrics")).bearer_auth("s3cret-scrape").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("phonebase_outbox_messages"));
    running.stop().await;
}

/// `phonebase_db_statements_total` now, after one scrape (which runs statements of its own).
async fn statements(app: &TestApp) -> f64 {
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    value(&text, "phonebase_db_statements_total ").expect("the statement counter is exported")
}

/// Statements per call of `call`, over `n` calls, net of the scrapes that count them.
async fn statements_per_call<F, Fut>(app: &TestApp, n: usize, mut call: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // What a scrape costs by itself: two in a row.
    let a = statements(app).await;
    let b = statements(app).await;
    let scrape = b - a;
    for i in 0..n {
        call(i).await;
    }
    let c = statements(app).await;
    (c - b - scrape) / n as f64
}

/// Round trips per request, counted rather than timed (#18): on PostgreSQL a code request is
/// four statements (BEGIN with its limit locks, one read, one write, COMMIT), a code check one
/// (two for a wrong code: its charge, then the spent codes' charge), and a session check one. SQLite runs its statements in-process; its counts are only shown.
#[tokio::test]
async fn requests_take_few_database_round_trips() {
    let db = TestDb::new();
    let owned = TestApp::spawn_with(&db, Options { no_worker: true, ..Default::default() }).await;
    // A reference the per-call futures copy.
    let app = &owned;
    // Warm: the first send and the first sign-up.
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138410"})).await.0, 200);
    let (status, user) =
        send(app.post("/1.1/users").json(&json!({"username": "rt-user", "password": "pw-123456"}))).await;
    assert_eq!(status, 201, "{user}");
    let token = user["sessionToken"].as_str().unwrap().to_string();

    let request = statements_per_call(app, 5, |i| {
        let req = app.request_code(json!({"mobilePhoneNumber": format!("1380013842{i}")}));
        async move { assert_eq!(req.await.0, 200) }
    })
    .await;
    let verify = statements_per_call(app, 5, |i| {
        let phone = format!("1380013842{i}");
        async move { assert_eq!(app.verify_code("000000", &phone).await.0, 400) }
    })
    .await;
    let me = statements_per_call(app, 5, |_| {
        let req = send(app.signed(reqwest::Method::GET, "/1.1/users/me", false).header("X-LC-Session", &token));
        async move { assert_eq!(req.await.0, 200) }
    })
    .await;
    eprintln!("statements per request: requestSmsCode {request}, verifySmsCode {verify}, users/me {me}");
    if db.is_postgres() {
        assert_eq!(request, 4.0, "requestSmsCode");
        assert_eq!(verify, 2.0, "verifySmsCode with a wrong code");
        assert_eq!(me, 1.0, "users/me");
    } else {
        assert!(request > 0.0 && verify > 0.0 && me > 0.0, "the counter counts on SQLite too");
    }
}
