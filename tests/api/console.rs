//! The operator's console over HTTP: sign-in, cookie flags, CSRF, review, apps, message log,
//! and the JSON API.

use phonebase::core::review::{Content, State};
use serde_json::json;

use crate::helpers::{TestApp, TestDb, send};
use crate::templates::template;

const PASSWORD: &str = "correct-horse-battery";

/// A browser-like client: no redirects followed, cookies carried by hand.
pub(crate) struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub(crate) fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { client, base: app.address.clone(), cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) -> Vec<String> {
        let set: Vec<String> =
            response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        for line in &set {
            let (pair, _) = line.split_once(';').unwrap_or((line, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        set
    }

    pub(crate) async fn get(&mut self, path: &str) -> (u16, String, Option<String>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&response);
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (status, response.text().await.unwrap(), location)
    }

    pub(crate) async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, String, Option<String>, Vec<String>) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish())
            .send()
            .await
            .unwrap();
        let set = self.keep_cookies(&response);
        let status = response.status().as_u16();
        let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        (status, response.text().await.unwrap(), location, set)
    }
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

pub(crate) async fn signed_in(app: &TestApp) -> (Browser, String) {
    match app.core.create_operator("alice", PASSWORD) {
        Ok(_) | Err(phonebase::core::Error::NameTaken) => {}
        Err(e) => panic!("{e}"),
    }
    let mut browser = Browser::new(app);
    let (_, html, _) = browser.get("/console/login").await;
    let token = csrf_in(&html);
    let (status, _, location, set) =
        browser.post("/console/login", &[("csrf", &token), ("username", "alice"), ("password", PASSWORD)]).await;
    // The dashboard is the first page after sign-in.
    assert_eq!((status, location.as_deref()), (303, Some("/console/dashboard")));
    let session = set.iter().find(|c| c.starts_with("pb_console=")).expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    let (_, html, _) = browser.get("/console/review").await;
    let csrf = csrf_in(&html);
    (browser, csrf)
}

#[tokio::test]
async fn sign_in_review_and_csrf() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.core.create_operator("alice", PASSWORD).unwrap();
    let mut browser = Browser::new(&app);

    let (status, _, location) = browser.get("/console/review").await;
    assert_eq!((status, location.as_deref()), (303, Some("/console/login")));
    let (_, html, _) = browser.get("/console/login").await;
    let token = csrf_in(&html);
    // The sign-in form's own token must match its cookie.
    let (status, ..) =
        browser.post("/console/login", &[("csrf", "forged"), ("username", "alice"), ("password", PASSWORD)]).await;
    assert_eq!(status, 403);
    let (_, html, _) = browser.get("/console/login").await;
    let token2 = csrf_in(&html);
    assert_ne!(token, token2);
    let (status, html, ..) = browser
        .post("/console/login", &[("csrf", &token2), ("username", "alice"), ("password", "wrong-password")])
        .await;
    assert!(status == 401 && html.contains("Wrong username or password"), "{status}");
    let (_, html, _) = browser.get("/console/login").await;
    let (status, ..) = browser
        .post("/console/login", &[("csrf", &csrf_in(&html)), ("username", "nobody"), ("password", PASSWORD)])
        .await;
    assert_eq!(status, 401);
    drop(browser);

    let (mut browser, csrf) = signed_in(&app).await;
    let (status, html, _) = browser.get("/console/review").await;
    assert!(status == 200 && html.contains("Nothing waits for review"), "{html}");

    let (core, a) = (&app.core, &app.app);
    let body = "<b>{{user}}</b> 验证码 {{code}}";
    let item = core.create_item(a, "welcome", template(body), true, "owner").unwrap();
    let revision = item.open.unwrap().id;
    let (_, html, _) = browser.get("/console/review").await;
    assert!(html.contains("&lt;b&gt;user&lt;/b&gt; 验证码 123456"), "escaped preview: {html}");
    assert!(html.contains("<strong class=\"parts\">1</strong>"), "{html}");

    // Without the CSRF token, or with another session's, nothing happens.
    let path = format!("/console/review/{revision}/approve");
    assert_eq!(browser.post(&path, &[]).await.0, 403);
    assert_eq!(browser.post(&path, &[("csrf", "0000")]).await.0, 403);
    let (status, _, location, _) = browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(status, 303, "{location:?}");
    let item = core.item(&a.id, &item.id).unwrap();
    assert_eq!(item.live.map(|r| r.state), Some(State::Approved));
    let history = core.item_history(&a.id, &item.id).unwrap();
    assert_eq!(history.last().unwrap().actor, "operator:alice");
    let (_, html, _) = browser.get(location.as_deref().unwrap()).await;
    assert!(html.contains("template welcome approved"), "{html}");

    // Editing shows the diff against the live revision; a rejection needs a reason.
    let item = core.edit_item(a, &item.id, template("{{user}} 新验证码 {{code}}"), true, "owner").unwrap();
    let revision = item.open.unwrap().id;
    let (_, html, _) = browser.get("/console/review").await;
    assert!(html.contains("<ins>新</ins>") && html.contains("<del>&lt;b&gt;</del>"), "{html}");
    let path = format!("/console/review/{revision}/reject");
    assert_eq!(browser.post(&path, &[("csrf", &csrf), ("reason", " ")]).await.0, 400);
    assert_eq!(browser.post(&path, &[("csrf", &csrf), ("reason", "wording")]).await.0, 303);
    assert_eq!(browser.post(&path, &[("csrf", &csrf), ("reason", "again")]).await.0, 409, "already rejected");

    // Signing out ends the session.
    assert_eq!(browser.post("/console/logout", &[("csrf", &csrf)]).await.0, 303);
    assert_eq!(browser.get("/console/review").await.0, 303);
}

#[tokio::test]
async fn apps_users_and_the_message_log() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (mut browser, csrf) = signed_in(&app).await;
    let a = app.app.clone();

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138200"})).await.0, 200);
    app.wait_for_message("+8613800138200", 1).await;
    let (status, html, _) = browser.get("/console/messages?to=138%200013%208200").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("class=\"message\"").count(), 1, "{html}");
    assert!(html.contains("******") && html.contains("delivered"), "{html}");
    let (_, html, _) = browser.get("/console/messages?status=failed").await;
    assert_eq!(html.matches("class=\"message\"").count(), 0);
    assert_eq!(browser.get("/console/messages?to=12").await.0, 400);

    let (status, _, location, _) = browser.post("/console/apps", &[("csrf", &csrf), ("name", "Second")]).await;
    assert_eq!(status, 303);
    let (_, html, _) = browser.get(location.as_deref().unwrap()).await;
    assert!(html.contains("App created") && html.contains("Second"));

    let (_, html, _) = browser.get(&format!("/console/apps/{}", a.id)).await;
    assert!(html.contains(&a.master_key));
    // The other dialects' keys are shown, and rotated one dialect at a time.
    let c = &a.credentials;
    for key in
        [&c.bmob.application_id, &c.bmob.secret_key, &c.jpush.app_key, &c.jpush.master_secret, &c.mincloud.client_id]
    {
        assert!(html.contains(key.as_str()), "{key} shown");
    }
    let path = format!("/console/apps/{}/rotate", a.id);
    let (status, _, location, _) = browser.post(&path, &[("csrf", &csrf), ("dialect", "jpush")]).await;
    assert_eq!(status, 303);
    let (_, html, _) = browser.get(location.as_deref().unwrap()).await;
    assert!(!html.contains(&c.jpush.app_key) && !html.contains(&c.jpush.master_secret), "JPush keys rotated");
    assert!(html.contains(&c.bmob.secret_key) && html.contains(&a.master_key), "the others kept");
    assert_eq!(browser.post(&path, &[("csrf", &csrf), ("dialect", "parse")]).await.0, 400);
    let (status, _, location, _) = browser.post(&format!("/console/apps/{}/rotate", a.id), &[("csrf", &csrf)]).await;
    assert_eq!(status, 303);
    let (_, html, _) = browser.get(location.as_deref().unwrap()).await;
    assert!(!html.contains(&a.master_key) && !html.contains(&a.app_key), "keys rotated");
    // The old app key no longer signs.
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138201"})).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(401)));

    let path = format!("/console/apps/{}/settings", a.id);
    let (status, ..) = browser.post(&path, &[("csrf", &csrf), ("settings", r#"{"limits":{"phone_per_day":3}}"#)]).await;
    assert_eq!(status, 303);
    assert_eq!(app.core.app(&a.id).unwrap().settings.limits.phone_per_day, 3);
    let (status, html, ..) = browser.post(&path, &[("csrf", &csrf), ("settings", r#"{"limitz":{}}"#)]).await;
    assert!(status == 400 && html.contains("limitz"), "{status}");
    assert_eq!(browser.post(&path, &[("settings", "{}")]).await.0, 403);

    // Users of an app by phone or username.
    let fresh = app.core.app(&a.id).unwrap();
    let app = app.with_app((*fresh).clone());
    let (status, _) = send(
        app.post("/1.1/users")
            .json(&json!({"username": "ann", "password": "pw-123456", "mobilePhoneNumber": "13800138202"})),
    )
    .await;
    assert_eq!(status, 201);
    for q in ["ann", "+86%20138%200013%208202"] {
        let (_, html, _) = browser.get(&format!("/console/apps/{}?user={q}", a.id)).await;
        assert!(html.contains("id=\"user\"") && html.contains("13800138202"), "{q}: {html}");
    }
    let (_, html, _) = browser.get(&format!("/console/apps/{}?user=bob", a.id)).await;
    assert!(html.contains("id=\"no-user\""));
}

#[tokio::test]
async fn operator_json_api() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.core.create_operator("alice", PASSWORD).unwrap();
    let item = app
        .core
        .create_item(
            &app.app,
            "shop",
            Content::Signature {
                text: "小卖部".into(),
                placement: phonebase::core::texts::templates::Placement::Start,
            },
            true,
            "owner",
        )
        .unwrap();
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", app.address);

    let (status, _) = send(client.get(url("/console/api/queue"))).await;
    assert_eq!(status, 401);
    let (status, _) = send(
        client.post(url("/console/api/session")).json(&json!({"username": "alice", "password": "nope-nope-nope"})),
    )
    .await;
    assert_eq!(status, 401);
    let response = client
        .post(url("/console/api/session"))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let csrf = response.json::<serde_json::Value>().await.unwrap()["csrfToken"].as_str().unwrap().to_string();

    let (status, queue) = send(client.get(url("/console/api/queue")).header("Cookie", &cookie)).await;
    assert_eq!(
        (status, queue["results"][0]["name"].as_str(), queue["results"][0]["preview"].as_str()),
        (200, Some("shop"), Some("【小卖部】…"))
    );
    let revision = item.open.unwrap().id;
    let decide = |body: serde_json::Value| {
        client.post(url(&format!("/console/api/review/{revision}"))).header("Cookie", &cookie).json(&body)
    };
    let (status, _) = send(decide(json!({"decision": "approve"}))).await;
    assert_eq!(status, 403, "no CSRF header");
    let (status, body) =
        send(decide(json!({"decision": "reject", "reason": "not your brand"})).header("X-CSRF-Token", &csrf)).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("rejected")));
    let (status, _) = send(decide(json!({"decision": "approve"})).header("X-CSRF-Token", &csrf)).await;
    assert_eq!(status, 409);

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138300"})).await.0, 200);
    app.wait_for_message("+8613800138300", 1).await;
    let (status, log) =
        send(client.get(url(&format!("/console/api/messages?app={}", app.app.id))).header("Cookie", &cookie)).await;
    assert_eq!(status, 200);
    let first = &log["results"][0];
    assert_eq!((first["to"].as_str(), first["parts"].as_i64()), (Some("+8613800138300"), Some(1)));
    assert!(first["chars"].as_i64().unwrap() > 30);

    // Apps and users.
    let with_csrf = |r: reqwest::RequestBuilder| r.header("Cookie", &cookie).header("X-CSRF-Token", &csrf);
    let (status, _) =
        send(client.post(url("/console/api/apps")).header("Cookie", &cookie).json(&json!({"name": "Api"}))).await;
    assert_eq!(status, 403, "no CSRF header");
    let (status, created) = send(with_csrf(client.post(url("/console/api/apps"))).json(&json!({"name": "Api"}))).await;
    assert_eq!((status, created["name"].as_str()), (201, Some("Api")));
    let id = created["appId"].as_str().unwrap();
    let (status, rotated) = send(with_csrf(client.post(url(&format!("/console/api/apps/{id}/rotate"))))).await;
    assert!(status == 200 && rotated["masterKey"] != created["masterKey"] && rotated["appKey"] != created["appKey"]);
    let patch = json!({"policy": {"sms_login": false}, "limits": {"ip_per_hour": 0}});
    let (status, updated) =
        send(with_csrf(client.patch(url(&format!("/console/api/apps/{id}/settings")))).json(&patch)).await;
    assert_eq!((status, updated["settings"]["policy"]["sms_login"].as_bool()), (200, Some(false)));
    let (status, body) =
        send(with_csrf(client.patch(url(&format!("/console/api/apps/{id}/settings")))).json(&json!({"nope": 1}))).await;
    assert_eq!(status, 400, "{body}");
    let (status, list) = send(client.get(url("/console/api/apps")).header("Cookie", &cookie)).await;
    assert_eq!((status, list["results"].as_array().map(Vec::len)), (200, Some(3)));
    let (status, _) = send(
        app.post("/1.1/users")
            .json(&json!({"username": "ann", "password": "pw-123456", "mobilePhoneNumber": "13800138301"})),
    )
    .await;
    assert_eq!(status, 201);
    let users = format!("/console/api/apps/{}/users", app.app.id);
    let (_, found) = send(client.get(url(&format!("{users}?q=%2B8613800138301"))).header("Cookie", &cookie)).await;
    assert_eq!(found["results"][0]["username"], "ann");
    let (_, found) = send(client.get(url(&format!("{users}?q=nobody"))).header("Cookie", &cookie)).await;
    assert_eq!(found["results"], json!([]));
}

#[tokio::test]
async fn reviewing_by_revision_id_as_the_cli_does() {
    use phonebase::core::review::{Decision, Kind};
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (core, a) = (&app.core, &app.app);
    let item = core.create_item(a, "welcome", template("{{code}}"), true, "owner").unwrap();
    let revision = item.open.as_ref().unwrap().id.clone();
    // A decision names the revision it saw: an item's id says nothing about which text.
    let by_item = core.review_as(Kind::Template, &item.id, Decision::Approve, "operator:cli");
    assert!(
        matches!(&by_item, Err(phonebase::core::Error::InvalidParameter(m)) if m.contains("revision")),
        "{by_item:?}"
    );
    // The kind must match: `phonebase signature approve <template revision>` is refused.
    let wrong = core.review_as(Kind::Signature, &revision, Decision::Approve, "operator:cli");
    assert!(matches!(wrong, Err(phonebase::core::Error::ItemNotFound)), "{wrong:?}");
    let item = core.review_as(Kind::Template, &revision, Decision::Approve, "operator:cli").unwrap();
    assert_eq!(item.live.as_ref().map(|r| r.state), Some(State::Approved));
    let again = core.review_as(Kind::Template, &revision, Decision::Approve, "operator:cli");
    assert!(matches!(again, Err(phonebase::core::Error::IllegalTransition { .. })), "nothing pending");
    let item = core.edit_item(a, &item.id, template("新 {{code}}"), true, "owner").unwrap();
    let revision = item.open.unwrap().id;
    let reason = Decision::Reject { reason: "no".into() };
    let item = core.review_as(Kind::Template, &revision, reason, "operator:cli").unwrap();
    assert_eq!(item.open.map(|r| r.state), Some(State::Rejected));

    // Operator sessions end; expired ones are purged.
    assert!(matches!(core.operator_sign_in("nobody", PASSWORD), Err(phonebase::core::Error::WrongPassword)));
    core.create_operator("bob", PASSWORD).unwrap();
    let (_, token) = core.operator_sign_in("bob", PASSWORD).unwrap();
    assert!(core.operator_session(&token).unwrap().is_some());
    app.clock.advance(chrono::TimeDelta::hours(13));
    assert!(core.operator_session(&token).unwrap().is_none(), "12-hour sessions");
    assert!(core.purge().unwrap().sessions >= 1);
}

#[tokio::test]
async fn password_guessing_locks_the_name() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let core = &app.core;
    core.create_operator("alice", PASSWORD).unwrap();
    for _ in 0..10 {
        assert!(matches!(core.operator_sign_in("alice", "wrong-password"), Err(phonebase::core::Error::WrongPassword)));
    }
    // Locked, even with the right password; an unknown name locks the same way.
    assert!(matches!(core.operator_sign_in("alice", PASSWORD), Err(phonebase::core::Error::AccountLocked)));
    for _ in 0..10 {
        assert!(core.operator_sign_in("ghost", "wrong-password").is_err());
    }
    assert!(matches!(core.operator_sign_in("ghost", PASSWORD), Err(phonebase::core::Error::AccountLocked)));
    app.clock.advance(chrono::TimeDelta::minutes(16));
    assert!(core.operator_sign_in("alice", PASSWORD).is_ok());
    let client = reqwest::Client::new();
    let (status, body) = send(
        client.post(format!("{}/console/api/session", app.address)).json(&json!({"username": "alice", "password": 5})),
    )
    .await;
    assert!(status == 400 && body["error"].as_str().unwrap().contains("Unreadable JSON"), "{status} {body}");
}

/// Every submitted text stays its own revision: editing a rejected template starts a new one,
/// and a decision posted for the text a reviewer saw before the edit (console page, JSON API,
/// CLI) is refused instead of landing on the new text.
#[tokio::test]
async fn submitted_texts_are_kept_and_decisions_name_the_revision_seen() {
    use phonebase::core::review::{Decision, Kind};
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (core, a) = (&app.core, &app.app);
    let (mut browser, csrf) = signed_in(&app).await;

    let item = core.create_item(a, "welcome", template("旧文本 {{code}}"), true, "owner").unwrap();
    let first = item.open.unwrap().id;
    // A reviewer loads the page showing the first text...
    let (_, html, _) = browser.get("/console/review").await;
    assert!(html.contains(&format!("/console/review/{first}/approve")), "{html}");
    // ...another rejects it, and the owner submits a new text.
    core.review(&first, Decision::Reject { reason: "wording".into() }, "operator:bob").unwrap();
    let item = core.edit_item(a, &item.id, template("新文本 {{code}}"), true, "owner").unwrap();
    let second = item.open.as_ref().unwrap().clone();
    assert_ne!(second.id, first, "a new revision, not the rejected one rewritten");
    assert_eq!((second.number, second.state), (2, State::Pending));

    // The rejected text is kept beside its reason.
    let revisions = core.item_revisions(&a.id, &item.id).unwrap();
    let old = revisions.iter().find(|r| r.id == first).unwrap();
    assert_eq!(old.state, State::Rejected);
    assert_eq!(old.reason.as_deref(), Some("wording"));
    assert!(matches!(&old.content, Content::Template { body, .. } if body == "旧文本 {{code}}"));

    // The stale decision, through every door, is refused and changes nothing.
    let (status, ..) = browser.post(&format!("/console/review/{first}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(status, 409);
    let cookie = browser.cookie_header();
    let client = reqwest::Client::new();
    let api = |revision: &str| {
        client
            .post(format!("{}/console/api/review/{revision}", app.address))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
    };
    let (status, body) = send(api(&first).json(&json!({"decision": "approve"}))).await;
    assert_eq!(status, 409, "{body}");
    let cli = core.review_as(Kind::Template, &first, Decision::Approve, "operator:cli");
    assert!(matches!(cli, Err(phonebase::core::Error::IllegalTransition { .. })), "{cli:?}");
    let item = core.item(&a.id, &item.id).unwrap();
    assert_eq!((item.live.is_none(), item.open.as_ref().map(|r| r.state)), (true, Some(State::Pending)));

    // The page now shows the new revision, and deciding on it works.
    let (_, html, _) = browser.get("/console/review").await;
    assert!(html.contains(&format!("/console/review/{}/approve", second.id)) && html.contains("新文本"), "{html}");
    assert!(!html.contains(&format!("/console/review/{first}/")), "{html}");
    let (status, body) = send(api(&second.id).json(&json!({"decision": "approve"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(core.live_template(&a.id, "welcome").unwrap().body, "新文本 {{code}}");
    // Editing again starts revision 3; the served one stays until that is approved.
    let item = core.edit_item(a, &item.id, template("第三 {{code}}"), false, "owner").unwrap();
    assert_eq!(item.open.as_ref().map(|r| (r.number, r.state)), Some((3, State::Draft)));
    assert_eq!(item.live.as_ref().map(|r| r.id.clone()), Some(second.id));
}

#[tokio::test]
async fn provider_health_and_the_attempts_of_each_message() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let db = TestDb::new();
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"message": "Service Unavailable"})))
        .mount(&twilio)
        .await;
    let providers = vec![
        serde_json::from_value(json!({
            "name": "twilio", "kind": "twilio", "endpoint": twilio.uri(), "priority": 1,
            "account_sid": "AC123", "auth_token": "token", "from": "+15005550006", "timeout_secs": 2,
        }))
        .unwrap(),
        serde_json::from_value(
            json!({"name": "backup", "kind": "sink", "priority": 2, "path": db.dir.path().join("backup.jsonl")}),
        )
        .unwrap(),
    ];
    let options = crate::helpers::Options { providers, breaker: Some((1, 600)), ..Default::default() };
    let app = TestApp::spawn_with(&db, options).await;
    let (mut browser, _) = signed_in(&app).await;

    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138300"})).await.0, 200);
    let mut html = String::new();
    for _ in 0..200 {
        html = browser.get("/console/messages?to=13800138300").await.1;
        if html.contains("class=\"status\">delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(html.contains("class=\"status\">delivered"), "{html}");
    let attempts: Vec<&str> = html.split("class=\"attempt\"").skip(1).collect();
    assert_eq!(attempts.len(), 2, "{html}");
    assert!(
        attempts[0].contains("twilio") && attempts[0].contains("retry") && attempts[0].contains("http-503"),
        "{html}"
    );
    assert!(
        attempts[1].contains("backup") && attempts[1].contains("delivered") && attempts[1].contains("sink-"),
        "{html}"
    );

    let (status, html, _) = browser.get("/console/providers").await;
    assert_eq!(status, 200);
    let row = |name: &str| {
        html.split("<tr class=\"provider\">")
            .find(|r| r.contains(&format!("class=\"name\">{name}<")))
            .unwrap_or_else(|| panic!("{name} in {html}"))
            .split("</tr>")
            .next()
            .unwrap()
            .to_string()
    };
    let (twilio_row, backup_row) = (row("twilio"), row("backup"));
    assert!(twilio_row.contains("class=\"circuit\">open<"), "{twilio_row}");
    assert!(twilio_row.contains("class=\"retries\">1<") && twilio_row.contains("class=\"rate\">0%<"), "{twilio_row}");
    assert!(backup_row.contains("class=\"circuit\">closed<"), "{backup_row}");
    assert!(
        backup_row.contains("class=\"delivered\">1<") && backup_row.contains("class=\"rate\">100%<"),
        "{backup_row}"
    );
    assert!(backup_row.contains(" ms<"), "{backup_row}");
    // Operators only.
    assert_eq!(crate::console::Browser::new(&app).get("/console/providers").await.0, 303);
}
