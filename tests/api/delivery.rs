//! Real SMS delivery against local fakes of Aliyun, Tencent and Twilio that check each request's
//! signature with the provider's algorithm and answer as the real APIs do: template mapping,
//! routing, failover, the circuit breaker, permanent errors, delivery reports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use chrono::TimeDelta;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{Options, TestApp, TestDb, code_in, send};
use phonebase::config::ProviderConfig;
use phonebase::core::apps::NewApp;
use phonebase::core::clock::ShiftedClock;
use phonebase::core::outbox::routing::{Mapping, parse_params};
use phonebase::core::secrets::Keys;
use phonebase::delivery::breaker::{Admission, Breaker, State};
use phonebase::delivery::{aliyun, tencent, twilio};
use phonebase::store;

const ALIYUN_SECRET: &str = "aliyun-secret";
const TENCENT_SECRET: &str = "tencent-secret";
const TWILIO_TOKEN: &str = "twilio-token";

fn provider(v: Value) -> ProviderConfig {
    serde_json::from_value(v).expect("provider config")
}

fn aliyun_config(server: &MockServer, priority: i32) -> ProviderConfig {
    provider(json!({
        "name": "aliyun", "kind": "aliyun", "endpoint": server.uri(), "priority": priority,
        "access_key_id": "ak-id", "access_key_secret": ALIYUN_SECRET, "sign_name": "小卖部",
        "countries": ["CN"], "report_token": "aliyun-report-token", "timeout_secs": 2,
    }))
}

fn tencent_config(server: &MockServer, priority: i32) -> ProviderConfig {
    provider(json!({
        "name": "tencent", "kind": "tencent", "endpoint": server.uri(), "priority": priority,
        "secret_id": "AKIDtest", "secret_key": TENCENT_SECRET, "sdk_app_id": "1400000000",
        "sign_name": "小卖部", "report_token": "tencent-report-token", "timeout_secs": 2,
    }))
}

fn twilio_config(server: &MockServer, priority: i32) -> ProviderConfig {
    provider(json!({
        "name": "twilio", "kind": "twilio", "endpoint": server.uri(), "priority": priority,
        "account_sid": "AC123", "auth_token": TWILIO_TOKEN, "from": "+15005550006", "timeout_secs": 1,
    }))
}

fn sink_config(dir: &std::path::Path, priority: i32) -> ProviderConfig {
    provider(json!({"name": "backup", "kind": "sink", "priority": priority, "path": dir.join("backup.jsonl")}))
}

fn form(request: &Request) -> BTreeMap<String, String> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

/// Aliyun: recomputes the RPC signature of the posted form; answers `answer` when it holds.
fn aliyun_fake(
    answer: impl Fn(&BTreeMap<String, String>) -> ResponseTemplate + Send + Sync + 'static,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    aliyun_action_fake("SendSms", answer)
}

/// An Aliyun RPC fake for one action (`SendSms`, `SingleCallByTts`).
fn aliyun_action_fake(
    action: &'static str,
    answer: impl Fn(&BTreeMap<String, String>) -> ResponseTemplate + Send + Sync + 'static,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |request: &Request| {
        let mut params = form(request);
        let presented = params.remove("Signature").unwrap_or_default();
        if presented != aliyun::sign_rpc("POST", &params, ALIYUN_SECRET)
            || params["SignatureMethod"] != "HMAC-SHA1"
            || params["Action"] != action
        {
            return ResponseTemplate::new(400).set_body_json(json!({
                "Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched with our calculation."
            }));
        }
        answer(&params)
    }
}

fn aliyun_ok(biz_id: &'static str) -> impl Fn(&BTreeMap<String, String>) -> ResponseTemplate + Send + Sync + 'static {
    move |_| {
        ResponseTemplate::new(200)
            .set_body_json(json!({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": "r"}))
    }
}

/// Tencent: recomputes TC3-HMAC-SHA256 from the request as received.
fn tencent_fake(
    answer: impl Fn(&Value) -> ResponseTemplate + Send + Sync + 'static,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    tc3_fake("sms", "SendSms", "2021-01-11", answer)
}

/// A Tencent API 3.0 fake for one service and action: recomputes TC3-HMAC-SHA256 over the
/// request as received and checks the action and version headers.
fn tc3_fake(
    service: &'static str,
    action: &'static str,
    version: &'static str,
    answer: impl Fn(&Value) -> ResponseTemplate + Send + Sync + 'static,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |request: &Request| {
        let header = |n: &str| request.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let ts: i64 = header("x-tc-timestamp").parse().unwrap_or_default();
        let (_, expected) = tencent::tc3_signature(
            TENCENT_SECRET,
            service,
            &header("host"),
            &header("content-type"),
            ts,
            &request.body,
        );
        let date = chrono::DateTime::from_timestamp(ts, 0).unwrap().format("%Y-%m-%d").to_string();
        let auth = header("authorization");
        if !auth.ends_with(&format!("Signature={expected}"))
            || !auth.contains(&format!("Credential=AKIDtest/{date}/{service}/tc3_request"))
            || header("x-tc-action") != action
            || header("x-tc-version") != version
        {
            return ResponseTemplate::new(200).set_body_json(json!({"Response": {
                "Error": {"Code": "AuthFailure.SignatureFailure", "Message": "The provided credentials could not be validated."},
                "RequestId": "r"}}));
        }
        answer(&serde_json::from_slice(&request.body).unwrap_or_default())
    }
}

fn tencent_answer(code: &str, serial: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"Response": {"SendStatusSet": [{
        "SerialNo": serial, "PhoneNumber": "+8613800000000", "Fee": 1, "SessionContext": "",
        "Code": code, "Message": if code == "Ok" { "send success" } else { "refused" }, "IsoCode": "CN"}],
        "RequestId": "r"}}))
}

/// Twilio: checks Basic auth and the form, answers `answer`.
fn twilio_fake(
    answer: impl Fn(&BTreeMap<String, String>) -> ResponseTemplate + Send + Sync + 'static,
) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    move |request: &Request| {
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("AC123:{TWILIO_TOKEN}")));
        let auth = request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
        let params = form(request);
        if auth != expected {
            return ResponseTemplate::new(401)
                .set_body_json(json!({"code": 20003, "message": "Authenticate", "status": 401}));
        }
        if !params.contains_key("To")
            || !params.contains_key("Body")
            || params.get("From").map(String::as_str) != Some("+15005550006")
        {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"code": 21604, "message": "A 'To' phone number is required.", "status": 400}));
        }
        answer(&params)
    }
}

fn twilio_created(sid: &'static str) -> impl Fn(&BTreeMap<String, String>) -> ResponseTemplate + Send + Sync + 'static {
    move |_| ResponseTemplate::new(201).set_body_json(json!({"sid": sid, "status": "queued"}))
}

async fn mount(server: &MockServer, route: &str, responder: impl wiremock::Respond + 'static) {
    Mock::given(method("POST")).and(path(route)).respond_with(responder).mount(server).await;
}

const TWILIO_PATH: &str = "/2010-04-01/Accounts/AC123/Messages.json";

fn map(app: &TestApp, provider: &str, code: &str, params: &[&str]) {
    app.core
        .set_mapping(Mapping {
            provider: provider.into(),
            app_id: None,
            text_ref: "builtin:verification".into(),
            template_code: code.into(),
            params: parse_params(&params.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap(),
            sign_name: None,
        })
        .expect("mapping");
}

fn messages(app: &TestApp) -> Vec<store::messages::MessageRow> {
    let mut conn = app.core.pool().get().unwrap();
    store::messages::list_for_app(&mut conn, &app.app.id, 100).unwrap()
}

fn attempts(app: &TestApp, message_id: &str) -> Vec<store::delivery::AttemptRow> {
    let mut conn = app.core.pool().get().unwrap();
    store::delivery::attempts_of(&mut conn, message_id).unwrap()
}

/// Waits until the newest message to `to` is in `status`.
async fn wait_status(app: &TestApp, to: &str, status: &str) -> store::messages::MessageRow {
    for _ in 0..240 {
        if let Some(m) = messages(app).into_iter().find(|m| m.to_phone == to)
            && m.status == status
        {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "no message to {to} reached {status}: {:?}",
        messages(app).iter().map(|m| (&m.to_phone, &m.status, &m.last_error)).collect::<Vec<_>>()
    );
}

fn no_limits(app: &TestApp) {
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0, "ip_per_hour": 0, "ip_per_day": 0}, "international_sms": true}));
}

/// Twilio answering 503 until the returned switch is turned on, then accepting.
async fn flaky_twilio(server: &MockServer) -> Arc<std::sync::atomic::AtomicBool> {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let state = healthy.clone();
    mount(
        server,
        TWILIO_PATH,
        twilio_fake(move |_| {
            if state.load(Ordering::SeqCst) {
                ResponseTemplate::new(201).set_body_json(json!({"sid": "SMok", "status": "queued"}))
            } else {
                ResponseTemplate::new(503)
                    .set_body_json(json!({"code": 20500, "message": "Internal Server Error", "status": 503}))
            }
        }),
    )
    .await;
    healthy
}

async fn requests_to(server: &MockServer) -> usize {
    server.received_requests().await.map_or(0, |r| r.len())
}

#[tokio::test]
async fn aliyun_gets_the_mapped_template_signed_and_the_code_verifies() {
    let db = TestDb::new();
    let aliyun = MockServer::start().await;
    let seen = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let seen_in = seen.clone();
    mount(
        &aliyun,
        "/",
        aliyun_fake(move |params| {
            *seen_in.lock().unwrap() = params.clone();
            ResponseTemplate::new(200)
                .set_body_json(json!({"Code": "OK", "Message": "OK", "BizId": "biz-1", "RequestId": "r"}))
        }),
    )
    .await;
    let app =
        TestApp::spawn_with(&db, Options { providers: vec![aliyun_config(&aliyun, 1)], ..Default::default() }).await;

    // No mapping yet: refused before anything is queued, with a clear error.
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138001"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)), "{body}");
    assert!(body["error"].as_str().unwrap().contains("template"), "{body}");
    assert!(messages(&app).is_empty());

    map(&app, "aliyun", "SMS_123", &["code=code", "min=ttl"]);
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138002", "ttl": 5})).await;
    assert_eq!(status, 200, "{body}");
    let message = wait_status(&app, "+8613800138002", "sent").await;
    assert_eq!((message.provider.as_deref(), message.provider_id.as_deref()), (Some("aliyun"), Some("biz-1")));
    assert!(message.body_sealed.is_none() && message.vars_sealed.is_none(), "sealed data dropped once sent");
    let params = seen.lock().unwrap().clone();
    assert_eq!(params["TemplateCode"], "SMS_123");
    assert_eq!(params["SignName"], "小卖部");
    assert_eq!(params["PhoneNumbers"], "13800138002");
    assert_eq!(params["OutId"], message.id);
    let template_param: Value = serde_json::from_str(&params["TemplateParam"]).unwrap();
    assert_eq!(template_param["min"], "5");
    let code = template_param["code"].as_str().unwrap().to_string();
    assert_eq!(app.verify_code(&code, "13800138002").await.0, 200, "the code sent is the code that verifies");
    let tried = attempts(&app, &message.id);
    assert_eq!(tried.len(), 1);
    assert_eq!((tried[0].outcome.as_str(), tried[0].provider_message_id.as_deref()), ("sent", Some("biz-1")));

    // A number no provider serves is refused up front too.
    app.update_settings(json!({"international_sms": true}));
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+14155550100"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("no SMS provider serves"), "{body}");
    // And so is a voice code with no voice provider.
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138003", "smsType": "voice"})).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("no configured provider has a voice channel"), "{body}");
    assert!(messages(&app).iter().all(|m| m.to_phone != "+8613800138003"), "nothing queued");
}

#[tokio::test]
async fn a_throttled_provider_fails_over_to_the_next() {
    let db = TestDb::new();
    let (aliyun, tencent) = (MockServer::start().await, MockServer::start().await);
    mount(
        &aliyun,
        "/",
        aliyun_fake(|_| {
            ResponseTemplate::new(400).set_body_json(json!({"Code": "Throttling.User", "Message": "Request was denied due to user flow control.", "RequestId": "r"}))
        }),
    )
    .await;
    let tencent_params = Arc::new(std::sync::Mutex::new(Value::Null));
    let seen = tencent_params.clone();
    mount(
        &tencent,
        "/",
        tencent_fake(move |body| {
            *seen.lock().unwrap() = body.clone();
            tencent_answer("Ok", "serial-1")
        }),
    )
    .await;
    let app = TestApp::spawn_with(
        &db,
        Options { providers: vec![tencent_config(&tencent, 2), aliyun_config(&aliyun, 1)], ..Default::default() },
    )
    .await;
    map(&app, "aliyun", "SMS_1", &["code"]);
    map(&app, "tencent", "1234567", &["1=code", "2=ttl"]);
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138010"})).await.0, 200);
    let message = wait_status(&app, "+8613800138010", "sent").await;
    assert_eq!((message.provider.as_deref(), message.provider_id.as_deref()), (Some("tencent"), Some("serial-1")));
    let tried = attempts(&app, &message.id);
    assert_eq!(
        tried.iter().map(|a| (a.provider.as_str(), a.outcome.as_str())).collect::<Vec<_>>(),
        vec![("aliyun", "retry"), ("tencent", "sent")]
    );
    assert_eq!(tried[0].error_code.as_deref(), Some("Throttling.User"));
    let body = tencent_params.lock().unwrap().clone();
    assert_eq!(body["TemplateId"], "1234567");
    assert_eq!(body["PhoneNumberSet"], json!(["+8613800138010"]));
    assert_eq!(body["TemplateParamSet"][1], "10");
    assert_eq!(body["SignName"], "小卖部");
    let code = body["TemplateParamSet"][0].as_str().unwrap().to_string();
    assert_eq!(app.verify_code(&code, "13800138010").await.0, 200);

    let health = app.core.provider_health(app.core.clock.now_naive() - TimeDelta::hours(1)).unwrap();
    let of = |name: &str| health.iter().find(|h| h.provider == name).unwrap().clone();
    assert_eq!((of("aliyun").attempts, of("aliyun").retries, of("aliyun").accepted), (1, 1, 0));
    assert_eq!((of("tencent").attempts, of("tencent").accepted), (1, 1));
}

#[tokio::test]
async fn a_timeout_fails_over_and_a_permanent_error_is_final() {
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    mount(
        &twilio,
        TWILIO_PATH,
        twilio_fake(move |params| {
            counter.fetch_add(1, Ordering::SeqCst);
            if params["To"] == "+8613800138021" {
                ResponseTemplate::new(400).set_body_json(json!({"code": 21211, "message": "The 'To' number +8613800138021 is not a valid phone number.", "status": 400}))
            } else {
                // Longer than the provider's timeout (1 s).
                ResponseTemplate::new(201).set_body_json(json!({"sid": "SMslow", "status": "queued"})).set_delay(Duration::from_secs(3))
            }
        }),
    )
    .await;
    let app = TestApp::spawn_with(
        &db,
        Options { providers: vec![twilio_config(&twilio, 1), sink_config(db.dir.path(), 2)], ..Default::default() },
    )
    .await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138020"})).await.0, 200);
    let message = wait_status(&app, "+8613800138020", "delivered").await;
    assert_eq!(message.provider.as_deref(), Some("backup"));
    let tried = attempts(&app, &message.id);
    assert_eq!(
        tried.iter().map(|a| (a.provider.as_str(), a.outcome.as_str())).collect::<Vec<_>>(),
        vec![("twilio", "retry"), ("backup", "delivered")]
    );
    assert_eq!(tried[0].error_code.as_deref(), Some("timeout"));
    assert!(tried[0].latency_ms >= 900, "{}", tried[0].latency_ms);

    // An invalid number is final: one attempt, no failover, the provider's code kept.
    let before = calls.load(Ordering::SeqCst);
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138021"})).await.0, 200);
    let message = wait_status(&app, "+8613800138021", "failed").await;
    assert_eq!(message.error_code.as_deref(), Some("21211"));
    assert!(message.last_error.as_deref().unwrap().contains("not a valid phone number"));
    assert_eq!(attempts(&app, &message.id).len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), before + 1);
    let backup = std::fs::read_to_string(db.dir.path().join("backup.jsonl")).unwrap_or_default();
    assert!(!backup.contains("+8613800138021"), "a permanent failure is not sent elsewhere");
}

#[tokio::test]
async fn the_circuit_opens_on_a_failing_provider_and_closes_after_a_good_probe() {
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    let healthy = flaky_twilio(&twilio).await;
    let clock = ShiftedClock::default();
    let app = TestApp::spawn_with(
        &db,
        Options {
            providers: vec![twilio_config(&twilio, 1), sink_config(db.dir.path(), 2)],
            breaker: Some((2, 30)),
            clock: Some(clock.clone()),
            ..Default::default()
        },
    )
    .await;
    no_limits(&app);
    for (i, phone) in ["13800138030", "13800138031"].iter().enumerate() {
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
        wait_status(&app, &format!("+86{phone}"), "delivered").await;
        assert_eq!(requests_to(&twilio).await, i + 1);
    }
    // Two failures in a row: the circuit is open, Twilio is not even asked.
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138032"})).await.0, 200);
    let message = wait_status(&app, "+8613800138032", "delivered").await;
    assert_eq!(requests_to(&twilio).await, 2);
    assert_eq!(attempts(&app, &message.id).iter().map(|a| a.provider.as_str()).collect::<Vec<_>>(), vec!["backup"]);

    // After the cool-down one probe goes through; it succeeds and the circuit closes.
    healthy.store(true, Ordering::SeqCst);
    clock.advance(TimeDelta::seconds(31));
    for (i, phone) in ["13800138033", "13800138034"].iter().enumerate() {
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
        let message = wait_status(&app, &format!("+86{phone}"), "sent").await;
        assert_eq!(message.provider.as_deref(), Some("twilio"));
        assert_eq!(requests_to(&twilio).await, 3 + i);
    }
}

/// Within one claimed batch the worker remembers the providers it found closed, so that it does not
/// ask the database for each message; a failure must take the provider off that list, or the rest
/// of the batch would go on calling a provider whose circuit the failures opened.
#[tokio::test]
async fn the_circuit_opens_in_the_middle_of_a_batch() {
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    flaky_twilio(&twilio).await;
    let providers = vec![twilio_config(&twilio, 1), sink_config(db.dir.path(), 2)];
    let queued = TestApp::spawn_with(
        &db,
        Options { no_worker: true, providers: providers.clone(), breaker: Some((2, 30)), ..Default::default() },
    )
    .await;
    no_limits(&queued);
    let phones: Vec<String> = (50..55).map(|i| format!("138001380{i}")).collect();
    for phone in &phones {
        assert_eq!(queued.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
    }
    // One worker, one message at a time: it claims all five in one batch.
    let worker = queued
        .another_instance(
            &db,
            Options { providers, breaker: Some((2, 30)), worker_concurrency: Some(1), ..Default::default() },
        )
        .await;
    let mut by_backup_only = 0;
    for phone in &phones {
        let message = wait_status(&worker, &format!("+86{phone}"), "delivered").await;
        let providers: Vec<String> = attempts(&worker, &message.id).into_iter().map(|a| a.provider).collect();
        by_backup_only += usize::from(providers == ["backup"]);
    }
    assert_eq!(requests_to(&twilio).await, 2, "two failures open the circuit; nothing more goes to Twilio");
    assert_eq!(by_backup_only, 3);
}

/// Posts a Twilio status callback, signed with `token` over this server's URL.
async fn twilio_callback(app: &TestApp, token: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let url = app.url("/delivery/reports/twilio");
    let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let signature = twilio::webhook_signature(token, &url, &pairs);
    send(app.client.post(&url).header("X-Twilio-Signature", signature).form(&pairs)).await
}

#[tokio::test]
async fn twilio_status_callbacks_are_checked_idempotent_and_never_move_back() {
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    mount(&twilio, TWILIO_PATH, twilio_fake(twilio_created("SM1"))).await;
    let app =
        TestApp::spawn_with(&db, Options { providers: vec![twilio_config(&twilio, 1)], ..Default::default() }).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138040"})).await.0, 200);
    let message = wait_status(&app, "+8613800138040", "sent").await;
    let sent: Vec<Request> = twilio.received_requests().await.unwrap();
    let form = form(&sent[0]);
    assert!(form["Body"].contains(&code_in(&form["Body"])) && form["To"] == "+8613800138040");

    // A forged or unsigned callback changes nothing.
    let (status, _) =
        twilio_callback(&app, "wrong-token", &[("MessageSid", "SM1"), ("MessageStatus", "delivered")]).await;
    assert_eq!(status, 403);
    let (status, _) = send(app.client.post(app.url("/delivery/reports/twilio")).form(&[("MessageSid", "SM1")])).await;
    assert_eq!(status, 403);
    assert_eq!(wait_status(&app, "+8613800138040", "sent").await.id, message.id);

    // An intermediate status is no report; the final one moves the message; repeats and late
    // contrary reports change nothing.
    let ok = twilio_callback(&app, TWILIO_TOKEN, &[("MessageSid", "SM1"), ("MessageStatus", "sent")]).await;
    assert_eq!(ok.0, 200);
    let delivered = [("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("AccountSid", "AC123")];
    assert_eq!(twilio_callback(&app, TWILIO_TOKEN, &delivered).await, ok);
    assert_eq!(twilio_callback(&app, TWILIO_TOKEN, &delivered).await, ok);
    let late = [("MessageSid", "SM1"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")];
    assert_eq!(twilio_callback(&app, TWILIO_TOKEN, &late).await, ok);
    let message = wait_status(&app, "+8613800138040", "delivered").await;
    assert!(message.delivered_at.is_some() && message.error_code.is_none());
    assert_eq!(attempts(&app, &message.id)[0].outcome, "delivered");

    // An unknown id gets the same answer as a known one.
    let unknown = [("MessageSid", "SMnope"), ("MessageStatus", "delivered")];
    assert_eq!(twilio_callback(&app, TWILIO_TOKEN, &unknown).await, ok);
    // Unknown provider: like any unknown route.
    let (status, _) = send(app.client.post(app.url("/delivery/reports/nobody")).form(&[("a", "b")])).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn aliyun_and_tencent_reports_need_the_token_and_may_come_first() {
    let db = TestDb::new();
    let (aliyun, tencent) = (MockServer::start().await, MockServer::start().await);
    mount(&aliyun, "/", aliyun_fake(aliyun_ok("biz-early"))).await;
    mount(&tencent, "/", tencent_fake(|_| tencent_answer("Ok", "serial-9"))).await;
    let app = TestApp::spawn_with(
        &db,
        Options { providers: vec![aliyun_config(&aliyun, 1), tencent_config(&tencent, 2)], ..Default::default() },
    )
    .await;
    no_limits(&app);
    map(&app, "aliyun", "SMS_1", &["code"]);
    map(&app, "tencent", "77", &["code"]);
    let report = json!([{"phone_number": "13800138050", "send_time": "2026-11-30 10:00:00", "report_time": "2026-11-30 10:00:05",
        "success": true, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "biz-early", "out_id": "x"}]);

    // Wrong token and no token: 404, like an unknown route.
    let wrong = send(app.client.post(app.url("/delivery/reports/aliyun/guess")).json(&report)).await;
    assert_eq!(wrong.0, 404);
    let tencent_token_on_aliyun =
        send(app.client.post(app.url("/delivery/reports/aliyun/tencent-report-token")).json(&report)).await;
    assert_eq!(tencent_token_on_aliyun, wrong);

    // The report arrives before the worker recorded the send: it is kept and applied then.
    let ok = send(app.client.post(app.url("/delivery/reports/aliyun/aliyun-report-token")).json(&report)).await;
    assert_eq!(ok, (200, json!({"code": 0, "msg": "成功"})));
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138050"})).await.0, 200);
    let message = wait_status(&app, "+8613800138050", "delivered").await;
    assert_eq!(message.provider_id.as_deref(), Some("biz-early"));
    // Duplicates (Aliyun pushes again) are harmless.
    let again = send(app.client.post(app.url("/delivery/reports/aliyun/aliyun-report-token")).json(&report)).await;
    assert_eq!(again, ok);
    // Not a JSON array: 400.
    let bad =
        send(app.client.post(app.url("/delivery/reports/aliyun/aliyun-report-token")).json(&json!({"x": 1}))).await;
    assert_eq!(bad.0, 400);

    // Tencent: a failure report marks the message failed with the provider's code.
    app.update_settings(json!({"providers": ["tencent"]}));
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138051"})).await.0, 200);
    let message = wait_status(&app, "+8613800138051", "sent").await;
    assert_eq!(message.provider.as_deref(), Some("tencent"), "the app's own provider list wins over priority");
    let fail = json!([{"user_receive_time": "2026-11-30 10:00:05", "nationcode": "86", "mobile": "13800138051",
        "report_status": "FAIL", "errmsg": "MI:0013", "description": "blocked", "sid": "serial-9"}]);
    let answer = send(app.client.post(app.url("/delivery/reports/tencent/tencent-report-token")).json(&fail)).await;
    assert_eq!(answer, (200, json!({"result": 0, "errmsg": "OK"})));
    let message = wait_status(&app, "+8613800138051", "failed").await;
    assert_eq!(message.error_code.as_deref(), Some("MI:0013"));
    // A later success for the same id does not revive it.
    let success = json!([{"report_status": "SUCCESS", "errmsg": "DELIVRD", "sid": "serial-9"}]);
    let answer2 = send(app.client.post(app.url("/delivery/reports/tencent/tencent-report-token")).json(&success)).await;
    assert_eq!(answer2, answer);
    assert_eq!(wait_status(&app, "+8613800138051", "failed").await.id, message.id);
}

#[tokio::test]
async fn the_app_owner_maps_templates_over_rest_with_the_master_key() {
    let db = TestDb::new();
    let aliyun = MockServer::start().await;
    let seen = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let seen_in = seen.clone();
    mount(
        &aliyun,
        "/",
        aliyun_fake(move |params| {
            *seen_in.lock().unwrap() = params.clone();
            ResponseTemplate::new(200)
                .set_body_json(json!({"Code": "OK", "Message": "OK", "BizId": "biz-r", "RequestId": "r"}))
        }),
    )
    .await;
    let app =
        TestApp::spawn_with(&db, Options { providers: vec![aliyun_config(&aliyun, 1)], ..Default::default() }).await;
    let mapping = json!({"text": "builtin:verification", "code": "SMS_OWN", "params": ["code=code", "product=name"], "signName": "店"});
    let path = "/1.1/sms/providers/aliyun/mappings";
    let (status, _) = send(app.signed(reqwest::Method::PUT, path, false).json(&mapping)).await;
    assert_eq!(status, 403, "the app key may not");
    let (status, body) = send(app.signed(reqwest::Method::PUT, path, true).json(&mapping)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["code"].as_str(), body["allApps"].as_bool()), (Some("SMS_OWN"), Some(false)));
    let (status, _) =
        send(app.signed(reqwest::Method::PUT, "/1.1/sms/providers/nobody/mappings", true).json(&mapping)).await;
    assert_eq!(status, 400);
    let (status, _) =
        send(app.signed(reqwest::Method::PUT, path, true).json(&json!({"text": "builtin:nope", "code": "X"}))).await;
    assert_eq!(status, 400);

    let (status, list) = send(app.signed(reqwest::Method::GET, "/1.1/sms/providers", true)).await;
    assert_eq!(status, 200);
    assert_eq!(list["results"][0]["name"], "aliyun");
    assert_eq!(list["results"][0]["mappings"][0]["params"], json!(["code=code", "product=name"]));

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138060"})).await.0, 200);
    wait_status(&app, "+8613800138060", "sent").await;
    let params = seen.lock().unwrap().clone();
    assert_eq!((params["TemplateCode"].as_str(), params["SignName"].as_str()), ("SMS_OWN", "店"));
    let template_param: Value = serde_json::from_str(&params["TemplateParam"]).unwrap();
    assert_eq!(template_param["product"], "Testapp");

    let delete = format!("{path}?text=builtin:verification");
    assert_eq!(send(app.signed(reqwest::Method::DELETE, &delete, true)).await.0, 200);
    assert_eq!(send(app.signed(reqwest::Method::DELETE, &delete, true)).await.0, 404);
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138061"})).await;
    assert_eq!(status, 400, "no mapping left: refused, {body}");
}

#[tokio::test]
async fn two_instances_on_one_database_send_each_message_once() {
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    mount(
        &twilio,
        TWILIO_PATH,
        twilio_fake(move |params| {
            let mut seen = seen.lock().unwrap();
            seen.push(params["To"].clone());
            ResponseTemplate::new(201).set_body_json(json!({"sid": format!("SM{}", seen.len()), "status": "queued"}))
        }),
    )
    .await;
    let options = || Options { providers: vec![twilio_config(&twilio, 1)], ..Default::default() };
    let first = TestApp::spawn_with(&db, options()).await;
    let second = first.another_instance(&db, options()).await;
    no_limits(&first);
    let phones: Vec<String> = (0..12).map(|i| format!("138001381{i:02}")).collect();
    for (i, phone) in phones.iter().enumerate() {
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
    }
    for phone in &phones {
        wait_status(&first, &format!("+86{phone}"), "sent").await;
    }
    let mut sent = bodies.lock().unwrap().clone();
    sent.sort();
    let mut expected: Vec<String> = phones.iter().map(|p| format!("+86{p}")).collect();
    expected.sort();
    assert_eq!(sent, expected, "each message once, by one of the instances");
}

#[tokio::test]
async fn voice_codes_go_to_a_provider_with_a_voice_channel() {
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    let twiml = Arc::new(std::sync::Mutex::new(String::new()));
    let seen = twiml.clone();
    mount(&twilio, "/2010-04-01/Accounts/AC123/Calls.json", move |request: &Request| {
        let params = form(request);
        *seen.lock().unwrap() = params.get("Twiml").cloned().unwrap_or_default();
        ResponseTemplate::new(201).set_body_json(json!({"sid": "CA1", "status": "queued"}))
    })
    .await;
    let mut voice = twilio_config(&twilio, 1);
    voice.channels = vec!["sms".into(), "voice".into()];
    let app = TestApp::spawn_with(&db, Options { providers: vec![voice], ..Default::default() }).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138070", "smsType": "voice"})).await.0, 200);
    let message = wait_status(&app, "+8613800138070", "sent").await;
    assert_eq!((message.channel.as_str(), message.provider_id.as_deref()), ("voice", Some("CA1")));
    let said = twiml.lock().unwrap().clone();
    assert!(said.starts_with("<Response><Say language=\"zh-CN\">"), "{said}");
    assert_eq!(app.verify_code(&code_in(&said), "13800138070").await.0, 200);
    // The call's status callback closes it.
    let answer = twilio_callback(&app, TWILIO_TOKEN, &[("CallSid", "CA1"), ("CallStatus", "completed")]).await;
    assert_eq!(answer.0, 200);
    wait_status(&app, "+8613800138070", "delivered").await;
}

#[tokio::test]
async fn provider_test_sends_one_message_and_tells_the_answer() {
    let db = TestDb::new();
    let (aliyun, twilio) = (MockServer::start().await, MockServer::start().await);
    mount(&aliyun, "/", aliyun_fake(aliyun_ok("biz-test"))).await;
    mount(
        &twilio,
        TWILIO_PATH,
        twilio_fake(|_| {
            ResponseTemplate::new(400).set_body_json(
                json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}),
            )
        }),
    )
    .await;
    let options =
        Options { providers: vec![aliyun_config(&aliyun, 1), twilio_config(&twilio, 2)], ..Default::default() };
    let config = crate::helpers::config(&db, &options);
    let app = TestApp::spawn_with(&db, options).await;

    let refused = phonebase::delivery::test_send(&config, &app.core, "aliyun", "+8613800138080", None).await;
    assert!(refused.unwrap_err().to_string().contains("map the built-in verification text first"));
    map(&app, "aliyun", "SMS_T", &["code=code"]);
    let answer = phonebase::delivery::test_send(&config, &app.core, "aliyun", "+8613800138080", None).await.unwrap();
    assert!(answer.starts_with("accepted by aliyun") && answer.ends_with("provider message id biz-test"), "{answer}");
    let answer = phonebase::delivery::test_send(&config, &app.core, "twilio", "+8613800138080", None).await.unwrap();
    assert!(answer.contains("permanent") && answer.contains("(code 21211)"), "{answer}");
    assert!(phonebase::delivery::test_send(&config, &app.core, "nobody", "+8613800138080", None).await.is_err());
    assert!(messages(&app).is_empty(), "nothing goes through the outbox");
}

#[tokio::test]
async fn aliyun_and_tencent_voice_codes_call_their_tts_templates_signed() {
    let db = TestDb::new();
    let (aliyun, tencent) = (MockServer::start().await, MockServer::start().await);
    let (seen_aliyun, seen_tencent) =
        (Arc::new(std::sync::Mutex::new(BTreeMap::new())), Arc::new(std::sync::Mutex::new(Value::Null)));
    let seen = seen_aliyun.clone();
    mount(
        &aliyun,
        "/",
        aliyun_action_fake("SingleCallByTts", move |params| {
            *seen.lock().unwrap() = params.clone();
            ResponseTemplate::new(200).set_body_json(
                json!({"Code": "OK", "Message": "OK", "CallId": "116012354148^10281378", "RequestId": "r"}),
            )
        }),
    )
    .await;
    let seen = seen_tencent.clone();
    mount(
        &tencent,
        "/",
        tc3_fake("vms", "SendTtsVoice", "2020-09-02", move |body| {
            *seen.lock().unwrap() = body.clone();
            ResponseTemplate::new(200).set_body_json(json!({"Response": {
                "SendStatus": {"CallId": "12582bce-403c-11eb-96b8-525400476c37", "SessionContext": body["SessionContext"]},
                "RequestId": "r"}}))
        }),
    )
    .await;
    let mut a = aliyun_config(&aliyun, 1);
    // The SMS endpoint is a dead port: voice must go to the voice endpoint.
    a.endpoint = Some("http://127.0.0.1:9".into());
    a.voice_endpoint = Some(aliyun.uri());
    a.channels = vec!["sms".into(), "voice".into()];
    a.called_show_number = Some("057100000000".into());
    let mut t = tencent_config(&tencent, 2);
    t.endpoint = Some("http://127.0.0.1:9".into());
    t.voice_endpoint = Some(tencent.uri());
    t.channels = vec!["sms".into(), "voice".into()];
    t.voice_sdk_app_id = Some("1400006666".into());
    let app = TestApp::spawn_with(&db, Options { providers: vec![a, t], ..Default::default() }).await;
    no_limits(&app);

    // No TTS template mapped: refused before anything is queued.
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138090", "smsType": "voice"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("template for builtin:voice"), "{body}");
    assert!(messages(&app).is_empty());

    let voice = |provider: &str, code: &str| Mapping {
        provider: provider.into(),
        app_id: None,
        text_ref: "builtin:voice".into(),
        template_code: code.into(),
        params: parse_params(&["code=code".into()]).unwrap(),
        sign_name: None,
    };
    app.core.set_mapping(voice("aliyun", "TTS_10001")).unwrap();
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138090", "smsType": "voice"})).await;
    assert_eq!(status, 200, "{body}");
    let message = wait_status(&app, "+8613800138090", "sent").await;
    assert_eq!(
        (message.channel.as_str(), message.provider.as_deref(), message.provider_id.as_deref()),
        ("voice", Some("aliyun"), Some("116012354148^10281378"))
    );
    let params = seen_aliyun.lock().unwrap().clone();
    assert_eq!((params["TtsCode"].as_str(), params["CalledNumber"].as_str()), ("TTS_10001", "13800138090"));
    assert_eq!((params["CalledShowNumber"].as_str(), params["OutId"].as_str()), ("057100000000", message.id.as_str()));
    assert_eq!(params["Version"], "2017-05-25");
    let tts: Value = serde_json::from_str(&params["TtsParam"]).unwrap();
    assert_eq!(app.verify_code(tts["code"].as_str().unwrap(), "13800138090").await.0, 200);

    // Tencent, for an app whose list names it alone.
    app.core.set_mapping(voice("tencent", "4356")).unwrap();
    app.update_settings(json!({"providers": ["tencent"]}));
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138091", "smsType": "voice"})).await;
    assert_eq!(status, 200, "{body}");
    let message = wait_status(&app, "+8613800138091", "sent").await;
    assert_eq!(message.provider_id.as_deref(), Some("12582bce-403c-11eb-96b8-525400476c37"));
    let body = seen_tencent.lock().unwrap().clone();
    assert_eq!((body["TemplateId"].as_str(), body["CalledNumber"].as_str()), (Some("4356"), Some("+8613800138091")));
    assert_eq!((body["VoiceSdkAppid"].as_str(), body["PlayTimes"].as_i64()), (Some("1400006666"), Some(2)));
    assert_eq!(body["SessionContext"].as_str(), Some(message.id.as_str()));
    let code = body["TemplateParamSet"][0].as_str().unwrap().to_string();
    assert_eq!(app.verify_code(&code, "13800138091").await.0, 200);
    assert_eq!(attempts(&app, &message.id).len(), 1);
}

const OWN_TOKEN: &str = "own-token-f00dfeed-0123456789";

#[tokio::test]
async fn an_apps_own_provider_carries_its_messages_only_sealed_and_through_a_rotation() {
    let db = TestDb::new();
    let (global, own) = (MockServer::start().await, MockServer::start().await);
    mount(&global, TWILIO_PATH, twilio_fake(twilio_created("SMglobal"))).await;
    let sent = Arc::new(AtomicUsize::new(0));
    mount(&own, "/2010-04-01/Accounts/ACown/Messages.json", move |request: &Request| {
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("ACown:{OWN_TOKEN}")));
        if request.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return ResponseTemplate::new(401).set_body_json(json!({"code": 20003, "message": "Authenticate"}));
        }
        let n = sent.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(201).set_body_json(json!({"sid": format!("SMown{n}"), "status": "queued"}))
    })
    .await;
    let (old, new) = (Keys::generate_secret(), Keys::generate_secret());
    let options = |secret: &str, previous: Vec<String>, no_worker: bool| Options {
        providers: vec![twilio_config(&global, 1)],
        secret_key: Some(secret.to_string()),
        secret_keys_previous: previous,
        no_worker,
        ..Default::default()
    };
    let app = TestApp::spawn_with(&db, options(&old, vec![], false)).await;
    no_limits(&app);
    let mine = json!({"name": "mine", "kind": "twilio", "endpoint": own.uri(), "account_sid": "ACown",
                      "auth_token": OWN_TOKEN, "from": "+15005550007", "timeout_secs": 2});
    // Kinds an app may not have, and bad entries, are refused.
    let refused = app.core.set_app_providers(&app.app.id, vec![json!({"name": "s", "kind": "sink"})]).unwrap_err();
    assert!(refused.to_string().contains("aliyun, tencent or twilio"), "{refused}");
    let refused = app.core.set_app_providers(&app.app.id, vec![json!({"name": "t", "kind": "twilio"})]).unwrap_err();
    assert!(refused.to_string().contains("auth_token"), "{refused}");
    let views = app.core.set_app_providers(&app.app.id, vec![mine.clone()]).unwrap();
    assert_eq!(
        (views[0].qualified.clone(), views[0].secrets_set.clone()),
        (format!("mine@{}", app.app.id), vec!["auth_token".to_string()])
    );
    assert!(!format!("{views:?}").contains(OWN_TOKEN), "never shown back");

    // This app's message goes through its own provider ...
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138110"})).await.0, 200);
    let message = wait_status(&app, "+8613800138110", "sent").await;
    assert_eq!(
        (message.provider.clone(), message.provider_id.as_deref()),
        (Some(format!("mine@{}", app.app.id)), Some("SMown1"))
    );
    assert_eq!((requests_to(&own).await, requests_to(&global).await), (1, 0));
    // Its status callback is checked with its own token, at its own name.
    let url = app.url(&format!("/delivery/reports/mine@{}", app.app.id));
    let pairs = vec![("MessageSid".to_string(), "SMown1".to_string()), ("MessageStatus".into(), "delivered".into())];
    for (token, expected) in [(TWILIO_TOKEN, 403), (OWN_TOKEN, 200)] {
        let signature = twilio::webhook_signature(token, &url, &pairs);
        let (status, _) = send(app.client.post(&url).header("X-Twilio-Signature", signature).form(&pairs)).await;
        assert_eq!(status, expected);
    }
    wait_status(&app, "+8613800138110", "delivered").await;
    // ... and another app's through the configured one.
    let other_app = app.core.create_app(NewApp { name: "other".into(), ..Default::default() }).unwrap();
    let other = app.another_instance(&db, options(&old, vec![], true)).await.with_app(other_app);
    no_limits(&other);
    assert_eq!(other.request_code(json!({"mobilePhoneNumber": "13800138111"})).await.0, 200);
    let message = wait_status(&other, "+8613800138111", "sent").await;
    assert_eq!((message.provider.as_deref(), message.provider_id.as_deref()), (Some("twilio"), Some("SMglobal")));
    assert_eq!((requests_to(&own).await, requests_to(&global).await), (1, 1));

    // At rest the token is sealed, not plaintext; the owner's REST view does not carry it.
    let stored = || {
        let mut conn = app.core.pool().get().unwrap();
        store::app_providers::of_app(&mut conn, &app.app.id).unwrap().remove(0)
    };
    let row = stored();
    assert!(!row.config.contains(OWN_TOKEN) && !String::from_utf8_lossy(&row.secrets_sealed).contains(OWN_TOKEN));
    let open_with = |secret: &str, sealed: &[u8]| Keys::from_secret(&hex::decode(secret).unwrap()).open(sealed);
    assert!(open_with(&old, &row.secrets_sealed).unwrap().contains(OWN_TOKEN));
    let (status, listed) = send(app.signed(reqwest::Method::GET, "/1.1/sms/providers", true)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["results"][0]["name"], format!("mine@{}", app.app.id));
    assert!(!listed.to_string().contains(OWN_TOKEN));
    // Saved again without the token (as shown back): the stored token stays.
    let mut edited = mine.clone();
    edited.as_object_mut().unwrap().remove("auth_token");
    let views = app.core.set_app_providers(&app.app.id, vec![edited]).unwrap();
    assert_eq!(views[0].secrets_set, vec!["auth_token".to_string()]);

    // A rotation: the new secret's instance opens the old seal, sends, and seals it again.
    let rotated = app.another_instance(&db, options(&new, vec![old.clone()], false)).await;
    app.stop().await;
    assert_eq!(rotated.request_code(json!({"mobilePhoneNumber": "13800138112"})).await.0, 200);
    let message = wait_status(&rotated, "+8613800138112", "sent").await;
    assert_eq!(message.provider_id.as_deref(), Some("SMown2"));
    assert_eq!(requests_to(&own).await, 2);
    let row = {
        let mut conn = rotated.core.pool().get().unwrap();
        store::app_providers::of_app(&mut conn, &rotated.app.id).unwrap().remove(0)
    };
    assert!(open_with(&new, &row.secrets_sealed).unwrap().contains(OWN_TOKEN), "sealed again under the new secret");
    assert_eq!(open_with(&old, &row.secrets_sealed), None);
    // Cleared: the app is back on the configured providers.
    assert!(rotated.core.set_app_providers(&rotated.app.id, vec![]).unwrap().is_empty());
}

#[tokio::test]
async fn the_circuit_is_shared_by_instances_and_lets_one_probe_out() {
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    let healthy = flaky_twilio(&twilio).await;
    let clock = ShiftedClock::default();
    let options = |no_worker: bool| Options {
        providers: vec![twilio_config(&twilio, 1), sink_config(db.dir.path(), 2)],
        breaker: Some((2, 30)),
        clock: Some(clock.clone()),
        no_worker,
        ..Default::default()
    };
    let first = TestApp::spawn_with(&db, options(false)).await;
    let watcher = first.another_instance(&db, options(true)).await;
    no_limits(&first);
    // The first instance sees two failures (each message then goes to the backup).
    for phone in ["13800138120", "13800138121"] {
        assert_eq!(first.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
        wait_status(&first, &format!("+86{phone}"), "delivered").await;
    }
    assert_eq!(requests_to(&twilio).await, 2);
    let breaker_of = |app: &TestApp| {
        Breaker::new(
            2,
            TimeDelta::seconds(30),
            TimeDelta::seconds(60),
            Arc::new(clock.clone()),
            app.core.pool().clone(),
        )
    };
    assert_eq!(breaker_of(&watcher).state("twilio"), State::Open, "open for an instance that saw no failure");

    // Another instance takes over: it does not ask Twilio either.
    let second = watcher.another_instance(&db, options(false)).await;
    first.stop().await;
    assert_eq!(second.request_code(json!({"mobilePhoneNumber": "13800138122"})).await.0, 200);
    wait_status(&second, "+8613800138122", "delivered").await;
    assert_eq!(requests_to(&twilio).await, 2);

    // Half-open: of many concurrent asks from two instances' breakers, one gets the probe.
    clock.advance(TimeDelta::seconds(31));
    let (a, b) = (Arc::new(breaker_of(&watcher)), Arc::new(breaker_of(&second)));
    let asks: Vec<_> = (0..16)
        .map(|i| {
            let breaker = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::task::spawn_blocking(move || breaker.admit("twilio").unwrap())
        })
        .collect();
    let mut admissions = Vec::new();
    for ask in asks {
        admissions.push(ask.await.unwrap());
    }
    assert_eq!(admissions.iter().filter(|a| **a == Admission::Probe).count(), 1, "{admissions:?}");
    assert!(admissions.iter().all(|a| matches!(a, Admission::Probe | Admission::Skip)));
    // The probe given back, the worker's probe succeeds and closes the circuit for everyone.
    a.release("twilio").unwrap();
    b.release("twilio").unwrap();
    healthy.store(true, Ordering::SeqCst);
    for (i, phone) in ["13800138123", "13800138124"].iter().enumerate() {
        assert_eq!(second.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
        let message = wait_status(&second, &format!("+86{phone}"), "sent").await;
        assert_eq!(message.provider.as_deref(), Some("twilio"));
        assert_eq!(requests_to(&twilio).await, 3 + i);
    }
    assert_eq!(breaker_of(&watcher).state("twilio"), State::Closed);
}

#[tokio::test]
async fn the_console_and_the_cli_set_an_apps_providers_and_never_show_their_secrets() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (mut browser, csrf) = crate::console::signed_in(&app).await;
    let path = format!("/console/apps/{}/providers", app.app.id);
    let mine = json!([{"name": "mine", "kind": "twilio", "account_sid": "ACown", "auth_token": OWN_TOKEN, "from": "+15005550007"}]);
    let (status, _, location, _) = browser.post(&path, &[("csrf", &csrf), ("providers", &mine.to_string())]).await;
    assert_eq!(status, 303);
    let (_, html, _) = browser.get(location.as_deref().unwrap()).await;
    assert!(html.contains(&format!("mine@{}", app.app.id)) && html.contains("auth_token set, not shown"), "{html}");
    assert!(!html.contains(OWN_TOKEN));
    let (status, html, ..) = browser.post(&path, &[("csrf", &csrf), ("providers", "{\"name\":1}")]).await;
    assert!(status == 400 && html.contains("JSON array"), "{status}");
    let (status, html, ..) =
        browser.post(&path, &[("csrf", &csrf), ("providers", "[{\"name\":\"x\",\"kind\":\"smpp\"}]")]).await;
    assert!(status == 400 && html.contains("aliyun, tencent or twilio"), "{status}");
    assert_eq!(browser.post(&path, &[("providers", "[]")]).await.0, 403, "csrf needed");

    let cli = |args: &[&str]| crate::helpers::phonebase_cli(&db, &app.data_dir, args);
    let (ok, text) = cli(&["provider", "app", &app.app.id]);
    assert!(ok, "{text}");
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown[0]["secretsSet"], json!(["auth_token"]));
    assert_eq!(shown[0]["config"]["account_sid"], "ACown");
    assert!(!text.contains(OWN_TOKEN));
    let renamed = r#"[{"name":"theirs","kind":"aliyun","access_key_id":"LTAI","access_key_secret":"ali-very-secret"}]"#;
    let (ok, text) = cli(&["provider", "app", &app.app.id, "--set", renamed]);
    assert!(ok && text.contains("theirs") && !text.contains("ali-very-secret"), "{text}");
    let (ok, text) = cli(&["provider", "app", &app.app.id, "--set", r#"[{"name":"x","kind":"twilio"}]"#]);
    assert!(!ok && text.contains("auth_token"), "{text}");
    let (ok, text) = cli(&["provider", "app", &app.app.id, "--clear"]);
    assert!(ok && text.trim() == "[]", "{text}");
    assert!(app.core.app_providers(&app.app.id).unwrap().is_empty());
}
