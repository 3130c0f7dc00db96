//! Templates and signatures under review: the state machine on the real database, and sends with
//! `template` / `sign` (contract 5.2).

use phonebase::core::Error;
use phonebase::core::review::{Content, Decision, Item, State};
use phonebase::core::texts::templates::{Category, Placement};
use phonebase::store;
use serde_json::json;

use crate::helpers::{TestApp, TestDb};

/// (revision, from, to, by, reason) of one recorded step.
type Step<'a> = (i32, Option<&'a str>, &'a str, &'a str, Option<&'a str>);

pub fn template(body: &str) -> Content {
    Content::Template { body: body.into(), category: Category::Verification, signature: None, captcha_required: false }
}

fn signature(text: &str) -> Content {
    Content::Signature { text: text.into(), placement: Placement::Start }
}

fn open_state(item: &Item) -> Option<State> {
    item.open.as_ref().map(|r| r.state)
}

fn live_state(item: &Item) -> Option<State> {
    item.live.as_ref().map(|r| r.state)
}

fn illegal<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(matches!(result, Err(Error::IllegalTransition { .. })), "{result:?}");
}

/// Approves the item's open revision as operator "op".
fn approve(app: &TestApp, item: &Item) -> Item {
    app.core.review(&item.open.as_ref().unwrap().id, Decision::Approve, "operator:op").unwrap()
}

#[tokio::test]
async fn every_transition_of_a_template_on_the_database() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (core, a) = (&app.core, &app.app);

    let item = core.create_item(a, "login", template("码 {{code}}"), false, "owner").unwrap();
    assert_eq!((open_state(&item), live_state(&item)), (Some(State::Draft), None));
    let draft = item.open.clone().unwrap();
    // A draft can be edited, not reviewed.
    let item = core.edit_item(a, &item.id, template("验证码 {{code}}"), false, "owner").unwrap();
    assert_eq!(item.open.as_ref().unwrap().id, draft.id, "a draft is rewritten in place");
    illegal(core.review(&draft.id, Decision::Approve, "operator:op"));
    illegal(core.review(&draft.id, Decision::Reject { reason: "no".into() }, "operator:op"));
    illegal(core.set_item_disabled(&a.id, &item.id, true, "owner"));

    let item = core.submit_item(a, &item.id, "owner").unwrap();
    assert_eq!(open_state(&item), Some(State::Pending));
    illegal(core.submit_item(a, &item.id, "owner"));
    illegal(core.edit_item(a, &item.id, template("{{code}}"), false, "owner"));
    // A rejection needs a reason.
    let refused = core.review(&draft.id, Decision::Reject { reason: " ".into() }, "operator:op");
    assert!(matches!(refused, Err(Error::InvalidParameter(_))), "{refused:?}");

    let item = approve(&app, &item);
    assert_eq!((open_state(&item), live_state(&item)), (None, Some(State::Approved)));
    illegal(core.review(&draft.id, Decision::Approve, "operator:op"));
    illegal(core.review(&draft.id, Decision::Reject { reason: "late".into() }, "operator:op"));
    illegal(core.submit_item(a, &item.id, "owner"));
    illegal(core.set_item_disabled(&a.id, &item.id, false, "owner"));

    let item = core.set_item_disabled(&a.id, &item.id, true, "operator:op").unwrap();
    assert_eq!(live_state(&item), Some(State::Disabled));
    illegal(core.set_item_disabled(&a.id, &item.id, true, "operator:op"));
    let item = core.set_item_disabled(&a.id, &item.id, false, "operator:op").unwrap();
    assert_eq!(live_state(&item), Some(State::Approved));

    // Editing the approved template: a new draft beside it, the approved one keeps serving.
    let item = core.edit_item(a, &item.id, template("新 {{code}}"), true, "owner").unwrap();
    let second = item.open.clone().unwrap();
    assert_eq!((second.number, second.state, live_state(&item)), (2, State::Pending, Some(State::Approved)));
    assert!(matches!(&core.live_template(&a.id, "login").unwrap().body, b if b == "验证码 {{code}}"));

    let item = core.review(&second.id, Decision::Reject { reason: "wording".into() }, "operator:bob").unwrap();
    assert_eq!(
        (open_state(&item), item.open.as_ref().unwrap().reason.as_deref()),
        (Some(State::Rejected), Some("wording"))
    );
    illegal(core.review(&second.id, Decision::Approve, "operator:op"));
    illegal(core.submit_item(a, &item.id, "owner"));
    // Editing a rejected revision starts a new draft: the rejected text stays as it was judged.
    let item = core.edit_item(a, &item.id, template("最新 {{code}}"), false, "owner").unwrap();
    let third = item.open.clone().unwrap();
    assert_eq!((third.number, third.state), (3, State::Draft));
    assert_ne!(third.id, second.id);
    let item = core.submit_item(a, &item.id, "owner").unwrap();
    let first_id = item.live.as_ref().unwrap().id.clone();
    let item = approve(&app, &item);
    assert_eq!(item.live.as_ref().unwrap().id, third.id, "the new revision serves at once");
    let rejected = core.item_revisions(&a.id, &item.id).unwrap().into_iter().find(|r| r.id == second.id).unwrap();
    assert_eq!((rejected.state, rejected.reason.as_deref()), (State::Rejected, Some("wording")));
    assert!(matches!(&rejected.content, Content::Template { body, .. } if body == "新 {{code}}"));
    assert!(item.open.is_none(), "an old rejected revision is history, not work in progress");
    assert_eq!(core.live_template(&a.id, "login").unwrap().body, "最新 {{code}}");
    let revisions = core.item_revisions(&a.id, &item.id).unwrap();
    let first = revisions.iter().find(|r| r.id == first_id).unwrap();
    assert_eq!(first.state, State::Superseded);
    illegal(core.review(&first_id, Decision::Approve, "operator:op"));

    let history = core.item_history(&a.id, &item.id).unwrap();
    let steps: Vec<Step<'_>> = history
        .iter()
        .map(|e| (e.revision, e.from.map(|s| s.as_str()), e.to.as_str(), e.actor.as_str(), e.reason.as_deref()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (1, None, "draft", "owner", None),
            (1, Some("draft"), "pending", "owner", None),
            (1, Some("pending"), "approved", "operator:op", None),
            (1, Some("approved"), "disabled", "operator:op", None),
            (1, Some("disabled"), "approved", "operator:op", None),
            (2, None, "draft", "owner", None),
            (2, Some("draft"), "pending", "owner", None),
            (2, Some("pending"), "rejected", "operator:bob", Some("wording")),
            (3, None, "draft", "owner", None),
            (3, Some("draft"), "pending", "owner", None),
            (1, Some("approved"), "superseded", "operator:op", None),
            (3, Some("pending"), "approved", "operator:op", None),
        ]
    );
    // Another app sees none of it.
    let other = core.create_app(phonebase::core::apps::NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    assert!(matches!(core.item(&other.id, &item.id), Err(Error::ItemNotFound)));
    assert!(matches!(core.submit_item(&other, &item.id, "owner"), Err(Error::ItemNotFound)));
}

#[tokio::test]
async fn signatures_share_the_state_machine_and_checks_run_at_submission() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (core, a) = (&app.core, &app.app);

    let sig = core.create_item(a, "shop", signature("【小卖部】"), true, "owner").unwrap();
    assert_eq!(
        (open_state(&sig), sig.open.as_ref().map(|r| r.content.clone())),
        (Some(State::Pending), Some(signature("小卖部")))
    );
    let sig = core
        .review(&sig.open.as_ref().unwrap().id, Decision::Reject { reason: "not yours".into() }, "operator:op")
        .unwrap();
    let sig = core.edit_item(a, &sig.id, signature("小卖部"), true, "owner").unwrap();
    let sig = approve(&app, &sig);
    assert_eq!(live_state(&sig), Some(State::Approved));
    let sig = core.set_item_disabled(&a.id, &sig.id, true, "owner").unwrap();
    assert!(matches!(core.live_signature(&a.id, "shop"), Err(Error::InvalidSignature)));
    core.set_item_disabled(&a.id, &sig.id, false, "owner").unwrap();
    assert_eq!(core.live_signature(&a.id, "shop").unwrap(), ("小卖部".to_string(), Placement::Start));

    for bad in ["", "一二三四五六七八九十十", "a【b"] {
        assert!(
            matches!(core.create_item(a, "bad", signature(bad), false, "owner"), Err(Error::InvalidParameter(_))),
            "{bad}"
        );
    }
    assert!(matches!(core.create_item(a, "shop", signature("x"), false, "owner"), Err(Error::NameTaken)));
    // A kind cannot change.
    assert!(matches!(
        core.edit_item(a, &sig.id, template("{{code}}"), false, "owner"),
        Err(Error::InvalidParameter(_))
    ));

    // Checks at submission: a draft may hold anything shaped, the submission refuses it.
    let t = core.create_item(a, "t1", template("Hello {{user}}"), false, "owner").unwrap();
    assert!(matches!(core.submit_item(a, &t.id, "owner"), Err(Error::InvalidParameter(m)) if m.contains("{{code}}")));
    for body in ["{{code}} https://x.cn", "{{code}} {{sign}}", "{{#if code}}{{code}}{{/if}}"] {
        core.edit_item(a, &t.id, template(body), false, "owner").unwrap();
        assert!(matches!(core.submit_item(a, &t.id, "owner"), Err(Error::InvalidParameter(_))), "{body}");
    }
    let with_unknown_sign = Content::Template {
        body: "{{code}}".into(),
        category: Category::Verification,
        signature: Some("nope".into()),
        captcha_required: false,
    };
    core.edit_item(a, &t.id, with_unknown_sign, false, "owner").unwrap();
    assert!(matches!(core.submit_item(a, &t.id, "owner"), Err(Error::InvalidParameter(_))));
    assert_eq!(open_state(&core.item(&a.id, &t.id).unwrap()), Some(State::Draft), "a failed check changes nothing");

    // At most 10 templates per app.
    for n in 2..=10 {
        core.create_item(a, &format!("t{n}"), template("{{code}}"), false, "owner").unwrap();
    }
    let eleventh = core.create_item(a, "t11", template("{{code}}"), false, "owner");
    assert!(matches!(eleventh, Err(Error::InvalidParameter(m)) if m.contains("at most 10")));
    assert_eq!(core.items(&a.id, phonebase::core::review::Kind::Template).unwrap().len(), 10);
}

#[tokio::test]
async fn sending_with_templates_and_signatures() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (core, a) = (&app.core, &app.app);
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0}}));
    let phone = "13800138100";
    let code_of = |body: serde_json::Value| body["code"].as_i64();

    let (status, body) = app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome"})).await;
    assert_eq!((status, code_of(body)), (400, Some(604)));

    let body = "Hi {{user}}, {{name}} 验证码 {{code}}，{{ttl}} 分钟 <&>";
    let item = core.create_item(a, "welcome", template(body), true, "owner").unwrap();
    let (status, body) =
        app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "A"})).await;
    assert_eq!((status, code_of(body)), (400, Some(605)), "pending");
    approve(&app, &item);

    let (status, body) = app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome"})).await;
    assert_eq!((status, code_of(body)), (400, Some(606)), "user is missing");
    let (status, body) =
        app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "【假】"})).await;
    assert_eq!((status, code_of(body)), (400, Some(606)));
    let (status, body) =
        app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "A", "sign": "shop"})).await;
    assert_eq!((status, code_of(body)), (400, Some(600)), "unknown signature");
    let sig = core
        .create_item(a, "shop", Content::Signature { text: "小卖部".into(), placement: Placement::End }, true, "owner")
        .unwrap();
    let (status, body) =
        app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "A", "sign": "shop"})).await;
    assert_eq!((status, code_of(body)), (400, Some(600)), "unapproved signature");
    approve(&app, &sig);
    assert!(app.sink_lines("+8613800138100").is_empty(), "nothing was sent");

    let (status, _) = app
        .request_code(json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "A&B", "name": "Evil", "code": "1", "ttl": 3, "sign": "shop"}))
        .await;
    assert_eq!(status, 200);
    let text = app.wait_for_message("+8613800138100", 1).await["text"].as_str().unwrap().to_string();
    let code = crate::helpers::code_in(&text);
    assert_eq!(text, format!("Hi A&B, Testapp 验证码 {code}，3 分钟 <&>【小卖部】"));
    assert_eq!(app.verify_code(&code, phone).await.0, 200);

    // Without a template the built-in text is used, with the signature when one is asked for.
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": phone, "sign": "shop"})).await.0, 200);
    let text = app.wait_for_message("+8613800138100", 2).await["text"].as_str().unwrap().to_string();
    assert!(text.starts_with("您正在使用Testapp") && text.ends_with("【小卖部】"), "{text}");

    // The log records length, parts and template.
    let mut conn = app.core.pool().get().unwrap();
    let messages = store::messages::list_for_app(&mut conn, &a.id, 10).unwrap();
    let templated = messages.iter().find(|m| m.template.as_deref() == Some("welcome")).unwrap();
    let expected =
        phonebase::core::texts::templates::size(&format!("Hi A&B, Testapp 验证码 {code}，3 分钟 <&>【小卖部】"));
    assert_eq!((templated.chars, templated.parts), (expected.chars as i32, 1));
    assert!(templated.body_redacted.contains("******") && !templated.body_redacted.contains(&code));
    let plain = messages.iter().find(|m| m.template.is_none()).unwrap();
    assert!(plain.chars > 40 && plain.parts == 1, "{plain:?}");

    // A disabled template is not approved any more.
    core.set_item_disabled(&a.id, &item.id, true, "owner").unwrap();
    let (status, body) =
        app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "A"})).await;
    assert_eq!((status, code_of(body)), (400, Some(605)));
}

/// A request with the master key, as the app owner's tools send it.
fn owner(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    app.client
        .request(method, app.url(path))
        .header("X-LC-Id", &app.app.id)
        .header("X-LC-Key", format!("{},master", app.app.master_key))
}

#[tokio::test]
async fn the_owner_manages_templates_over_rest_with_the_master_key() {
    use crate::helpers::send;
    use reqwest::Method;
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;

    // The app key is not enough.
    let (status, body) = send(app.post("/1.1/sms/templates").json(&json!({"name": "x", "body": "{{code}}"}))).await;
    assert_eq!((status, body["code"].as_i64()), (403, Some(403)));

    let (status, sig) = send(
        owner(&app, Method::POST, "/1.1/sms/signatures")
            .json(&json!({"name": "shop", "text": "小卖部", "placement": "end"})),
    )
    .await;
    assert_eq!(status, 201, "{sig}");
    assert_eq!(sig["pending"]["state"], "pending");
    let new = json!({"name": "welcome", "body": "Hi {{user}}, code {{code}}", "signature": "shop", "captchaRequired": true, "submit": false});
    let (status, created) = send(owner(&app, Method::POST, "/1.1/sms/templates").json(&new)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["pending"]["state"].as_str(), created["live"].is_null()), (Some("draft"), true));
    assert_eq!(created["pending"]["captchaRequired"], true);
    let id = created["objectId"].as_str().unwrap().to_string();

    let (status, body) = send(owner(&app, Method::POST, "/1.1/sms/templates").json(&new)).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(137)), "name taken");
    let (status, body) = send(
        owner(&app, Method::POST, "/1.1/sms/templates")
            .json(&json!({"name": "ad", "body": "Sale!", "category": "marketing"})),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)));
    let (status, body) =
        send(owner(&app, Method::POST, "/1.1/sms/templates").json(&json!({"name": "nocode", "body": "Hello"}))).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)), "checked at submission: {body}");

    let (status, preview) = send(
        owner(&app, Method::POST, "/1.1/sms/templates/preview")
            .json(&json!({"template": "welcome", "variables": {"user": "Ann"}})),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["text"], "Hi Ann, code 123456【小卖部】");
    assert_eq!(
        (preview["chars"].as_i64(), preview["parts"].as_i64(), preview["encoding"].as_str()),
        (Some(24), Some(1), Some("ucs2"))
    );
    let (_, preview) =
        send(owner(&app, Method::POST, "/1.1/sms/templates/preview").json(&json!({"body": "{{code}} x {{user}}"})))
            .await;
    assert_eq!((preview["text"].as_str(), preview["encoding"].as_str()), (Some("123456 x user"), Some("gsm7")));
    let (status, body) =
        send(owner(&app, Method::POST, "/1.1/sms/templates/preview").json(&json!({"body": "{{#each x}}{{/each}}"})))
            .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)));

    let (status, item) = send(owner(&app, Method::POST, &format!("/1.1/sms/templates/{id}/submit"))).await;
    assert_eq!((status, item["pending"]["state"].as_str()), (200, Some("pending")));
    let (status, body) =
        send(owner(&app, Method::PUT, &format!("/1.1/sms/templates/{id}")).json(&json!({"body": "{{code}}"}))).await;
    assert_eq!((status, body["code"].as_i64()), (409, Some(1)), "under review: {body}");
    let (status, body) = send(owner(&app, Method::POST, &format!("/1.1/sms/templates/{id}/disable"))).await;
    assert_eq!((status, body["code"].as_i64()), (409, Some(1)));

    app.core
        .review(item["pending"]["id"].as_str().unwrap(), Decision::Reject { reason: "too vague".into() }, "operator:op")
        .unwrap();
    let (status, item) = send(owner(&app, Method::GET, &format!("/1.1/sms/templates/{id}"))).await;
    assert_eq!(
        (status, item["pending"]["state"].as_str(), item["pending"]["reason"].as_str()),
        (200, Some("rejected"), Some("too vague"))
    );
    let (status, item) = send(
        owner(&app, Method::PUT, &format!("/1.1/sms/templates/{id}"))
            .json(&json!({"body": "Hi {{user}}, your code {{code}}", "signature": "shop"})),
    )
    .await;
    assert_eq!(
        (status, item["pending"]["state"].as_str(), item["pending"]["revision"].as_i64()),
        (200, Some("pending"), Some(2)),
        "the rejected text stays revision 1"
    );

    let (status, list) = send(owner(&app, Method::GET, "/1.1/sms/templates")).await;
    assert_eq!((status, list["results"].as_array().unwrap().len()), (200, 1));
    let (status, history) = send(owner(&app, Method::GET, &format!("/1.1/sms/templates/{id}/history"))).await;
    assert_eq!(status, 200);
    let steps: Vec<(&str, &str)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["to"].as_str().unwrap(), e["by"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("draft", "owner"),
            ("pending", "owner"),
            ("rejected", "operator:op"),
            ("draft", "owner"),
            ("pending", "owner")
        ]
    );
    assert_eq!(history["events"][2]["reason"], "too vague");

    // Unknown ids and kinds, and another app's master key.
    assert_eq!(send(owner(&app, Method::GET, "/1.1/sms/templates/nope")).await.1["code"], 101);
    assert_eq!(send(owner(&app, Method::GET, &format!("/1.1/sms/signatures/{id}"))).await.1["code"], 101);
    assert_eq!(send(owner(&app, Method::GET, "/1.1/sms/other")).await.0, 404);
    let other =
        app.core.create_app(phonebase::core::apps::NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    let app = app.with_app(other);
    assert_eq!(send(owner(&app, Method::GET, &format!("/1.1/sms/templates/{id}"))).await.1["code"], 101);
}

/// No link reaches a text: request variables, `name`, `op`, template bodies and signatures pass
/// one detector (any TLD, with or without a scheme, bare IP addresses). A refused variable is
/// 606, as a variable with 【】 is, and nothing is queued.
#[tokio::test]
async fn links_never_reach_a_text() {
    use crate::helpers::send;
    use reqwest::Method;
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (core, a) = (&app.core, &app.app);
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0}}));
    let item = core.create_item(a, "welcome", template("Hi {{user}}, 验证码 {{code}}"), true, "owner").unwrap();
    approve(&app, &item);
    let phone = "13800138200";
    for body in [
        json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "https://phish.example.com/pay"}),
        json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "45.77.10.2/app"}),
        json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "点击 pay.example.shop"}),
        json!({"mobilePhoneNumber": phone, "name": "www.phish-pay.com"}),
        json!({"mobilePhoneNumber": phone, "name": "phish-pay.xyz"}),
        json!({"mobilePhoneNumber": phone, "op": "登录 [2001:db8::1]/x"}),
    ] {
        let (status, reply) = app.request_code(body.clone()).await;
        assert_eq!((status, reply["code"].as_i64()), (400, Some(606)), "{body}: {reply}");
    }
    let queued = |app: &TestApp| {
        let mut conn = app.core.pool().get().unwrap();
        store::messages::list_for_app(&mut conn, &app.app.id, 10).unwrap().len()
    };
    assert_eq!(queued(&app), 0, "nothing was queued");
    // Ordinary values, numbers and versions still go out.
    let (status, reply) =
        app.request_code(json!({"mobilePhoneNumber": phone, "template": "welcome", "user": "Ann v1.2.3 ¥12.50"})).await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply) =
        app.request_code(json!({"mobilePhoneNumber": phone, "name": "小卖部 2.0", "op": "登录"})).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(queued(&app), 2);

    // Template bodies at submission: without a scheme, on any TLD, on a bare address.
    for body in ["验证码 {{code}}，下载 45.77.10.2/app", "{{code}} 详见 phish-pay.shop", "{{code}} see t.cn/x"]
    {
        let (status, reply) =
            send(owner(&app, Method::POST, "/1.1/sms/templates").json(&json!({"name": "linked", "body": body}))).await;
        assert_eq!((status, reply["code"].as_i64()), (400, Some(1)), "{body}: {reply}");
    }
    // Signatures, and the app's name (the `name` of every text).
    let (status, reply) =
        send(owner(&app, Method::POST, "/1.1/sms/signatures").json(&json!({"name": "s", "text": "pay.cn"}))).await;
    assert_eq!((status, reply["code"].as_i64()), (400, Some(1)), "{reply}");
    let named =
        core.create_app(phonebase::core::apps::NewApp { name: "shop.example.com".into(), ..Default::default() });
    assert!(matches!(named, Err(Error::InvalidParameter(_))), "{named:?}");
}
