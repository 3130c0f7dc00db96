//! Image captchas before sends (contract §5.4), with answers from a source the test controls.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, TestDb, send};
use phonebase::core::codes::captcha::CaptchaText;

/// Hands out the answers the test queued, in order.
#[derive(Debug, Default)]
struct Answers(Mutex<VecDeque<String>>);

impl Answers {
    fn next_is(&self, answer: &str) {
        self.0.lock().unwrap().push_back(answer.to_string());
    }
}

impl CaptchaText for Answers {
    fn text(&self, len: usize) -> String {
        let answer = self.0.lock().unwrap().pop_front().expect("the test queued an answer");
        assert_eq!(answer.len(), len, "queued answer has the asked size");
        answer
    }
}

async fn spawn(db: &TestDb) -> (TestApp, Arc<Answers>) {
    let answers = Arc::new(Answers::default());
    let app = TestApp::spawn_with(db, Options { captcha_text: Some(answers.clone()), ..Default::default() }).await;
    (app, answers)
}

async fn request_captcha(app: &TestApp, query: &str, master: bool) -> (u16, Value) {
    send(app.signed(Method::GET, &format!("/1.1/requestCaptcha{query}"), master)).await
}

/// A captcha answered right: its validate token.
async fn validate_token(app: &TestApp, answers: &Answers, answer: &str) -> String {
    answers.next_is(answer);
    let (status, captcha) = request_captcha(app, "", false).await;
    assert_eq!(status, 200, "{captcha}");
    let (status, body) = verify(app, &captcha["captcha_token"], &answer.to_lowercase()).await;
    assert_eq!(status, 200, "{body}");
    body["validate_token"].as_str().unwrap().to_string()
}

async fn verify(app: &TestApp, token: &Value, answer: &str) -> (u16, Value) {
    send(app.post("/1.1/verifyCaptcha").json(&json!({"captcha_token": token, "captcha_code": answer}))).await
}

/// Fetches a URL the way an `<img>` does: no headers of ours.
async fn image(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.unwrap()
}

#[tokio::test]
async fn captcha_then_send_when_required() {
    let db = TestDb::new();
    let (app, answers) = spawn(&db).await;
    app.update_settings(json!({"policy": {"captcha_required": true}}));
    let phone = "+8613700000001";

    let (status, body) = app.request_code(json!({"mobilePhoneNumber": phone})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(608)), "{body}");

    answers.next_is("XY34");
    let (status, captcha) = request_captcha(&app, "", false).await;
    assert_eq!(status, 200, "{captcha}");
    let token = captcha["captcha_token"].as_str().unwrap();
    let url = captcha["captcha_url"].as_str().unwrap();
    assert_eq!(url, format!("{}/1.1/captchaImage?appId={}&token={token}", app.address, app.app.id));

    let response = image(url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.headers()["cache-control"].to_str().unwrap().contains("no-store"));
    let png = image::load_from_memory_with_format(&response.bytes().await.unwrap(), image::ImageFormat::Png).unwrap();
    assert_eq!((png.width(), png.height()), (85, 30));

    // A wrong answer spends the captcha: the right one afterwards is refused too.
    let (status, body) = verify(&app, &captcha["captcha_token"], "XY35").await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)), "{body}");
    let (status, _) = verify(&app, &captcha["captcha_token"], "XY34").await;
    assert_eq!(status, 400);
    assert_eq!(image(url).await.status(), 404, "an answered captcha has no picture");

    // Case-insensitive; the token pays for one send.
    let validate = validate_token(&app, &answers, "AC7D").await;
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": phone, "validate_token": validate})).await;
    assert_eq!(status, 200, "{body}");
    app.wait_for_message(phone, 1).await;
    let (status, body) =
        app.request_code(json!({"mobilePhoneNumber": "+8613700000002", "validate_token": validate})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(608)), "a validate token is single use: {body}");

    // Another app cannot spend this app's token.
    let other = app.core.create_app(phonebase::core::apps::NewApp { name: "other".into(), ..Default::default() });
    let other = app.another_instance(&db, Options::default()).await.with_app(other.unwrap());
    let validate = validate_token(&app, &answers, "KMNP").await;
    let (status, _) = other.request_code(json!({"mobilePhoneNumber": phone, "validate_token": validate})).await;
    assert_eq!(status, 400);
    assert_eq!(app.sink_lines(phone).len(), 1, "nothing else was sent");
}

#[tokio::test]
async fn sizes_ranges_and_expiry() {
    let db = TestDb::new();
    let (app, answers) = spawn(&db).await;
    for bad in ["?width=59", "?width=201", "?height=29", "?height=101", "?width=abc", "?width=-5"] {
        let (status, body) = request_captcha(&app, bad, false).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(1)), "{bad}: {body}");
    }
    for master_only in ["?size=6", "?ttl=30"] {
        let (status, body) = request_captcha(&app, master_only, false).await;
        assert_eq!((status, body["code"].as_i64()), (403, Some(119)), "{master_only}: {body}");
    }
    for bad in ["?size=2", "?size=7", "?ttl=9", "?ttl=181"] {
        let (status, _) = request_captcha(&app, bad, true).await;
        assert_eq!(status, 400, "{bad}");
    }
    // The exact bodies (the ranges are declared with validator, core/validation.rs, and worded
    // once): the first value out of range, in the order width, height, size, ttl.
    for (query, error) in [
        ("?width=59", "width must be 60 to 200, not 59"),
        ("?height=101&width=201", "width must be 60 to 200, not 201"),
        ("?ttl=181&size=7&height=29", "height must be 30 to 100, not 29"),
        ("?ttl=181&size=7", "size must be 3 to 6, not 7"),
        ("?ttl=9", "ttl must be 10 to 180, not 9"),
    ] {
        let (status, body) = request_captcha(&app, query, true).await;
        assert_eq!((status, body), (400, json!({"code": 1, "error": error})), "{query}");
    }

    answers.next_is("ACDEFG");
    let (status, captcha) = request_captcha(&app, "?width=200&height=100&size=6&ttl=10", true).await;
    assert_eq!(status, 200, "{captcha}");
    let url = captcha["captcha_url"].as_str().unwrap();
    let bytes = image(url).await.bytes().await.unwrap();
    let png = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
    assert_eq!((png.width(), png.height()), (200, 100));

    app.clock.advance(chrono::TimeDelta::seconds(11));
    assert_eq!(image(url).await.status(), 404, "expired");
    let (status, _) = verify(&app, &captcha["captcha_token"], "ACDEFG").await;
    assert_eq!(status, 400, "an expired captcha is refused");
    let unknown = format!("{}/1.1/captchaImage?appId={}&token=nope", app.address, app.app.id);
    assert_eq!(image(&unknown).await.status(), 404);

    // A validate token lives five minutes.
    let validate = validate_token(&app, &answers, "HJKM").await;
    app.clock.advance(chrono::TimeDelta::minutes(6));
    let (status, body) =
        app.request_code(json!({"mobilePhoneNumber": "+8613700000003", "validate_token": validate})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(608)), "{body}");

    // Rows stay a day for the per-address limits, then go.
    assert_eq!(app.core.purge().unwrap().captchas, 0);
    app.clock.advance(chrono::TimeDelta::hours(26));
    assert_eq!(app.core.purge().unwrap().captchas, 2);
}

#[tokio::test]
async fn every_code_send_needs_the_token() {
    let db = TestDb::new();
    let (app, answers) = spawn(&db).await;
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0}}));
    // A verified user (SMS signup) and an unverified one (password signup).
    let verified = "+8613700000010";
    let (status, _) = app.request_code(json!({"mobilePhoneNumber": verified})).await;
    assert_eq!(status, 200);
    let code = app.wait_for_code(verified, 1).await;
    let (status, user) =
        send(app.post("/1.1/usersByMobilePhone").json(&json!({"mobilePhoneNumber": verified, "smsCode": code}))).await;
    assert_eq!(status, 201, "{user}");
    let session = user["sessionToken"].as_str().unwrap().to_string();
    let unverified = "+8613700000011";
    let (status, _) = send(
        app.post("/1.1/users")
            .json(&json!({"username": "unverified", "password": "secret-password", "mobilePhoneNumber": unverified})),
    )
    .await;
    assert_eq!(status, 201);

    app.update_settings(json!({"policy": {"captcha_required": true}}));
    let cases = [
        ("/1.1/requestLoginSmsCode", verified),
        ("/1.1/requestPasswordResetBySmsCode", verified),
        ("/1.1/requestMobilePhoneVerify", unverified),
        ("/1.1/requestChangePhoneNumber", "+8613700000012"),
        ("/1.1/requestSmsCode", "+8613700000013"),
    ];
    for (path, phone) in cases {
        let request = |body: Value| send(app.post(path).header("X-LC-Session", &session).json(&body));
        let (status, body) = request(json!({"mobilePhoneNumber": phone})).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(608)), "{path} without a token: {body}");
        let validate = validate_token(&app, &answers, "AC7D").await;
        let (status, body) = request(json!({"mobilePhoneNumber": phone, "validate_token": validate})).await;
        assert_eq!(status, 200, "{path} with a token: {body}");
    }
}

#[tokio::test]
async fn one_answer_one_token_one_send_under_concurrency() {
    let db = TestDb::new();
    let (app, answers) = spawn(&db).await;
    app.update_settings(json!({"policy": {"captcha_required": true}}));
    answers.next_is("QRTU");
    let (_, captcha) = request_captcha(&app, "", false).await;
    let results = join_all((0..20).map(|_| verify(&app, &captcha["captcha_token"], "QRTU"))).await;
    let tokens: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, b)| &b["validate_token"]).collect();
    assert_eq!(tokens.len(), 1, "{results:?}");

    let token = tokens[0].clone();
    let sends = join_all((0..20).map(|i| {
        app.request_code(json!({"mobilePhoneNumber": format!("+86137000001{i:02}"), "validate_token": token}))
    }))
    .await;
    let ok = sends.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{sends:?}");
    assert!(sends.iter().filter(|(s, _)| *s != 200).all(|(_, b)| b["code"] == 608));
}

#[tokio::test]
async fn limits_per_address_and_instances_agree() {
    let db = TestDb::new();
    let (app, answers) = spawn(&db).await;
    app.update_settings(json!({"limits": {"captcha_ip_per_hour": 2}}));
    answers.next_is("ACDE");
    let (_, first) = request_captcha(&app, "", false).await;
    answers.next_is("FGHJ");
    let (status, _) = request_captcha(&app, "", false).await;
    assert_eq!(status, 200);
    let (status, body) = request_captcha(&app, "", false).await;
    assert_eq!((status, body["code"].as_i64()), (429, Some(429)), "{body}");

    // A captcha drawn by one instance is answered on another: the state is in the database.
    let second = app.another_instance(&db, Options::default()).await;
    let (status, body) = verify(&second, &first["captcha_token"], "acde").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_template_can_require_the_captcha_on_its_own() {
    use phonebase::core::review::{Content, Decision};
    use phonebase::core::texts::templates::Category;
    let db = TestDb::new();
    let (app, answers) = spawn(&db).await;
    let content = Content::Template {
        body: "您的验证码是 {{code}}，{{ttl}} 分钟内有效。".into(),
        category: Category::Verification,
        signature: None,
        captcha_required: true,
    };
    let item = app.core.create_item(&app.app, "guarded", content, true, "owner").unwrap();
    app.core.review(&item.open.unwrap().id, Decision::Approve, "operator:op").unwrap();

    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+8613700000020", "template": "guarded"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(608)), "{body}");
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+8613700000020"})).await;
    assert_eq!(status, 200, "the app's own policy is off: {body}");
    let validate = validate_token(&app, &answers, "XY34").await;
    let (status, body) = app
        .request_code(json!({"mobilePhoneNumber": "+8613700000021", "template": "guarded", "validate_token": validate}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(app.wait_for_message("+8613700000021", 1).await["text"].as_str().unwrap().starts_with("您的验证码是"));
}
