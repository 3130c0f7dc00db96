//! Sends and codes as the dialects other than LeanCloud need them, through the library's core API
//! (LeanCloud answers 603 for every code refusal; see `error.rs` there).

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb};
use phonebase::core::Error;
use phonebase::core::apps::NewApp;
use phonebase::core::clock::{Clock, ShiftedClock};
use phonebase::core::codes::{Channel, CodeRequest, CustomText, MAX_ATTEMPTS, Origin, Purpose};
use phonebase::core::outbox::notices::{NoticeRequest, SignRef, TemplateRef};
use phonebase::core::outbox::queue::{Delivery, MessageStatus};
use phonebase::core::phone::Phone;
use phonebase::core::review::{Content, Decision, Item};
use phonebase::core::texts::templates::{Category, Placement};

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

fn code_request(phone: &str) -> CodeRequest {
    CodeRequest {
        phone: Phone::parse(phone).unwrap(),
        purpose: Purpose::Generic,
        channel: Channel::Sms,
        ttl_minutes: None,
        ttl_seconds: None,
        code: None,
        name: None,
        op: None,
        origin: Origin { client_ip: "203.0.113.9".into(), validate_token: None },
        user_id: None,
        custom: CustomText::default(),
    }
}

/// Waits until the message `handle` leaves the queue.
async fn settled(app: &TestApp, handle: i64) -> MessageStatus {
    for _ in 0..200 {
        let status = app.core.message_status(&app.app, handle).unwrap();
        if status.delivery != Delivery::Queued {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("message {handle} still queued");
}

fn approved(app: &TestApp, name: &str, content: Content) -> Item {
    let item = app.core.create_item(&app.app, name, content, true, "test").unwrap();
    app.core.review(&item.open.as_ref().unwrap().id, Decision::Approve, "operator:op").unwrap()
}

fn notice_template(body: &str) -> Content {
    Content::Template { body: body.into(), category: Category::Notification, signature: None, captcha_required: false }
}

fn notice(phone: &str, template: TemplateRef) -> NoticeRequest {
    NoticeRequest {
        phone: Phone::parse(phone).unwrap(),
        template,
        sign: None,
        vars: [("order".to_string(), "A-42".to_string())].into(),
        origin: Origin { client_ip: "203.0.113.9".into(), validate_token: None },
        send_at: None,
    }
}

fn no_limits(app: TestApp) -> TestApp {
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0,
        "ip_per_hour": 0, "ip_per_day": 0}}));
    let fresh = (*app.core.app(&app.app.id).unwrap()).clone();
    app.with_app(fresh)
}

#[tokio::test]
async fn codes_are_found_by_their_message() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let app = no_limits(app);
    let first = app.core.send_code(&app.app, code_request("13800138510")).unwrap();
    let second = app.core.send_code(&app.app, code_request("13800138511")).unwrap();
    assert!(first.handle > 0 && second.handle > first.handle, "{first:?} {second:?}");
    assert_eq!(first.parts, 1);
    let code = app.wait_for_code("+8613800138510", 1).await;
    let status = settled(&app, first.handle).await;
    assert_eq!((status.delivery, status.verified, status.parts), (Delivery::Delivered, false, 1));

    // Another message's handle does not take this code; an unknown handle is told apart.
    assert!(matches!(app.core.verify_code_by_message(&app.app, second.handle, &code), Err(Error::InvalidCode)));
    assert!(matches!(app.core.verify_code_by_message(&app.app, 999_999, &code), Err(Error::UnknownMessage)));
    assert!(app.core.verify_code_by_message(&app.app, first.handle, &code).is_ok());
    assert!(matches!(app.core.verify_code_by_message(&app.app, first.handle, &code), Err(Error::CodeUsed)));
    assert!(app.core.message_status(&app.app, first.handle).unwrap().verified);
    // Used by its message, it is used for its number too.
    let phone = Phone::parse("13800138510").unwrap();
    assert!(matches!(app.core.verify_code(&app.app, &phone, &code, Purpose::POSSESSION), Err(Error::CodeUsed)));
    assert!(matches!(app.core.message_status(&app.app, 999_999), Err(Error::UnknownMessage)));

    // Another app does not see this app's messages.
    let other = app.core.create_app(NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    assert!(matches!(app.core.message_status(&other, first.handle), Err(Error::UnknownMessage)));
    assert!(matches!(app.core.verify_code_by_message(&other, second.handle, &code), Err(Error::UnknownMessage)));
}

#[tokio::test]
async fn a_message_code_takes_only_its_attempts() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    let issued = app.core.send_code(&app.app, code_request("13800138512")).unwrap();
    let code = app.wait_for_code("+8613800138512", 1).await;
    for _ in 0..MAX_ATTEMPTS {
        assert!(matches!(
            app.core.verify_code_by_message(&app.app, issued.handle, &other_code(&code)),
            Err(Error::InvalidCode)
        ));
    }
    assert!(matches!(app.core.verify_code_by_message(&app.app, issued.handle, &code), Err(Error::InvalidCode)));

    app.clock.advance(TimeDelta::minutes(2));
    let issued = app.core.send_code(&app.app, code_request("13800138512")).unwrap();
    let code = app.wait_for_code("+8613800138512", 2).await;
    app.clock.advance(TimeDelta::minutes(11));
    assert!(matches!(app.core.verify_code_by_message(&app.app, issued.handle, &code), Err(Error::CodeExpired)));
}

#[tokio::test]
async fn test_numbers_get_a_handle_and_send_nothing() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"test_numbers": {"+8613800138513": "123456"}}));
    let fresh = (*app.core.app(&app.app.id).unwrap()).clone();
    let app = app.with_app(fresh);
    let issued = app.core.send_code(&app.app, code_request("13800138513")).unwrap();
    assert!(issued.message_id.is_none() && issued.handle > 0);
    let status = app.core.message_status(&app.app, issued.handle).unwrap();
    assert_eq!((status.delivery, status.verified, status.parts), (Delivery::Skipped, false, 0));
    assert!(matches!(app.core.verify_code_by_message(&app.app, issued.handle, "654321"), Err(Error::InvalidCode)));
    assert!(app.core.verify_code_by_message(&app.app, issued.handle, "123456").is_ok());
    assert!(app.core.message_status(&app.app, issued.handle).unwrap().verified);
    assert!(app.sink_lines("+8613800138513").is_empty());
}

#[tokio::test]
async fn voice_codes_may_be_chosen_and_ttls_given_in_seconds() {
    let db = TestDb::new();
    let app = app_with_clock(&db).await;
    let app = no_limits(app);
    let voice =
        |code: &str| CodeRequest { channel: Channel::Voice, code: Some(code.into()), ..code_request("13800138514") };
    for bad in ["123", "123456789", "12a4"] {
        assert!(matches!(app.core.send_code(&app.app, voice(bad)), Err(Error::InvalidParameter(_))), "{bad}");
    }
    let sms_with_code = CodeRequest { code: Some("1234".into()), ..code_request("13800138514") };
    assert!(matches!(app.core.send_code(&app.app, sms_with_code), Err(Error::InvalidParameter(_))));
    let issued = app.core.send_code(&app.app, voice("4321")).unwrap();
    let text = app.wait_for_message("+8613800138514", 1).await["text"].as_str().unwrap().to_string();
    assert!(text.contains("4321"), "{text}");
    assert!(matches!(app.core.verify_code_by_message(&app.app, issued.handle, "4322"), Err(Error::InvalidCode)));
    assert!(app.core.verify_code_by_message(&app.app, issued.handle, "4321").is_ok());

    for (secs, ok) in [(0, false), (86_401, false), (90, true)] {
        let req = CodeRequest { ttl_seconds: Some(secs), ..code_request("13800138515") };
        assert_eq!(app.core.send_code(&app.app, req).is_ok(), ok, "{secs}");
    }
    let issued = app.core.send_code(&app.app, CodeRequest { ttl_seconds: Some(90), ..code_request("13800138515") });
    let issued = issued.unwrap();
    let left = (issued.expires_at - app.clock.now_naive()).num_seconds();
    assert!((80..=90).contains(&left), "{left}");
    let long = app.core.send_code(&app.app, CodeRequest { ttl_seconds: Some(86_400), ..code_request("13800138516") });
    let left = (long.unwrap().expires_at - app.clock.now_naive()).num_seconds();
    assert!((86_390..=86_400).contains(&left), "{left}");
}

#[tokio::test]
async fn templates_and_signatures_are_numbered_and_found_by_number() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let app = no_limits(app);
    let code_tpl = approved(
        &app,
        "login",
        Content::Template {
            body: "Code {{code}} for {{name}}".into(),
            category: Category::Verification,
            signature: None,
            captcha_required: false,
        },
    );
    let notice_tpl = approved(&app, "shipped", notice_template("Order {{order}} shipped"));
    let sign = approved(&app, "shop", Content::Signature { text: "小店".into(), placement: Placement::Start });
    let mut handles = vec![code_tpl.handle, notice_tpl.handle, sign.handle];
    handles.dedup();
    assert_eq!(handles.len(), 3);
    assert_eq!(app.core.template_by_handle(&app.app, notice_tpl.handle).unwrap().name, "shipped");
    assert_eq!(app.core.signature_by_handle(&app.app, sign.handle).unwrap().name, "shop");
    assert!(matches!(app.core.template_by_handle(&app.app, sign.handle), Err(Error::ItemNotFound)));
    assert!(matches!(app.core.signature_by_handle(&app.app, code_tpl.handle), Err(Error::ItemNotFound)));

    // A code by template and signature handle; JPush's strict category refuses a notice template.
    let mut req = code_request("13800138517");
    req.custom = CustomText {
        template_handle: Some(code_tpl.handle),
        sign_handle: Some(sign.handle),
        strict_category: true,
        ..Default::default()
    };
    app.core.send_code(&app.app, req.clone()).unwrap();
    let text = app.wait_for_message("+8613800138517", 1).await["text"].as_str().unwrap().to_string();
    assert!(text.starts_with("【小店】Code ") && text.ends_with("for Testapp"), "{text}");
    req.custom.template_handle = Some(notice_tpl.handle);
    assert!(matches!(app.core.send_code(&app.app, req.clone()), Err(Error::WrongTemplateCategory)));
    req.custom.template_handle = Some(999_999);
    assert!(matches!(app.core.send_code(&app.app, req.clone()), Err(Error::TemplateNotFound)));
    req.custom.template_handle = Some(code_tpl.handle);
    req.custom.sign_handle = Some(999_999);
    assert!(matches!(app.core.send_code(&app.app, req), Err(Error::InvalidSignature)));

    // The owner's REST listing shows the handle.
    let (status, body) = crate::helpers::send(app.signed(reqwest::Method::GET, "/1.1/sms/templates", true)).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["results"].as_array().unwrap().iter().find(|t| t["name"] == "shipped").cloned().unwrap();
    assert_eq!(listed["handle"], notice_tpl.handle);
}

#[tokio::test]
async fn notices_go_through_approved_notification_templates() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let app = no_limits(app);
    let draft = app.core.create_item(&app.app, "draft", notice_template("Draft {{order}}"), false, "test").unwrap();
    let code_tpl = approved(
        &app,
        "login",
        Content::Template {
            body: "Code {{code}}".into(),
            category: Category::Verification,
            signature: None,
            captcha_required: false,
        },
    );
    let shipped = approved(&app, "shipped", notice_template("Order {{order}} shipped"));
    approved(&app, "shop", Content::Signature { text: "小店".into(), placement: Placement::End });

    let refused = |t: TemplateRef| app.core.send_notice(&app.app, notice("13800138520", t)).unwrap_err();
    assert!(matches!(refused(TemplateRef::Handle(draft.handle)), Error::TemplateNotApproved));
    assert!(matches!(refused(TemplateRef::Handle(code_tpl.handle)), Error::WrongTemplateCategory));
    assert!(matches!(refused(TemplateRef::Name("nope".into())), Error::TemplateNotFound));
    let mut missing_var = notice("13800138520", TemplateRef::Name("shipped".into()));
    missing_var.vars.clear();
    assert!(matches!(app.core.send_notice(&app.app, missing_var), Err(Error::TemplateRender(_))));

    let mut req = notice("13800138520", TemplateRef::Handle(shipped.handle));
    req.sign = Some(SignRef::Name("shop".into()));
    let issued = app.core.send_notice(&app.app, req).unwrap();
    assert_eq!((issued.parts, issued.send_at), (1, None));
    let text = app.wait_for_message("+8613800138520", 1).await["text"].as_str().unwrap().to_string();
    assert_eq!(text, "Order A-42 shipped【小店】");
    let status = settled(&app, issued.handle).await;
    assert_eq!((status.delivery, status.verified), (Delivery::Delivered, false));
    // A notice carries no code.
    assert!(matches!(app.core.verify_code_by_message(&app.app, issued.handle, "123456"), Err(Error::UnknownMessage)));

    // Limits count notices like codes.
    app.update_settings(json!({"limits": {"phone_per_minute": 1}}));
    let fresh = (*app.core.app(&app.app.id).unwrap()).clone();
    let app = app.with_app(fresh);
    assert!(matches!(
        app.core.send_notice(&app.app, notice("13800138520", TemplateRef::Handle(shipped.handle))),
        Err(Error::TooFrequentForPhone)
    ));

    // A batch: one result per recipient, in order.
    let batch = vec![
        notice("13800138521", TemplateRef::Handle(shipped.handle)),
        notice("13800138520", TemplateRef::Handle(shipped.handle)),
        notice("13800138522", TemplateRef::Handle(shipped.handle)),
    ];
    let results = app.core.send_notices(&app.app, batch).unwrap();
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(matches!(results[1], Err(Error::TooFrequentForPhone)));
    assert!(matches!(app.core.send_notices(&app.app, vec![]), Err(Error::InvalidParameter(_))));
    let too_many = (0..1001).map(|_| notice("13800138523", TemplateRef::Handle(shipped.handle))).collect();
    assert!(matches!(app.core.send_notices(&app.app, too_many), Err(Error::InvalidParameter(_))));
}

#[tokio::test]
async fn scheduled_notices_wait_survive_a_restart_and_can_be_cancelled() {
    let db = TestDb::new();
    let clock = ShiftedClock::default();
    let app = TestApp::spawn_with(&db, Options { clock: Some(clock.clone()), ..Default::default() }).await;
    let app = no_limits(app);
    let shipped = approved(&app, "shipped", notice_template("Order {{order}} shipped"));
    app.core.top_up(&app.app.id, 10).unwrap();
    let at = |req: NoticeRequest, minutes| NoticeRequest {
        send_at: Some(clock.now_naive() + TimeDelta::minutes(minutes)),
        ..req
    };
    let later =
        app.core.send_notice(&app.app, at(notice("13800138530", TemplateRef::Handle(shipped.handle)), 30)).unwrap();
    let cancelled =
        app.core.send_notice(&app.app, at(notice("13800138531", TemplateRef::Handle(shipped.handle)), 30)).unwrap();
    assert!(later.send_at.is_some());
    assert_eq!(app.core.balance(&app.app.id).unwrap(), Some(8));
    app.core.cancel_message(&app.app, cancelled.handle).unwrap();
    assert_eq!(app.core.balance(&app.app.id).unwrap(), Some(9), "a cancelled message gives its parts back");
    assert!(matches!(app.core.cancel_message(&app.app, cancelled.handle), Err(Error::NotCancellable)));
    assert!(matches!(app.core.cancel_message(&app.app, 999_999), Err(Error::UnknownMessage)));
    assert_eq!(app.core.message_status(&app.app, cancelled.handle).unwrap().delivery, Delivery::Cancelled);

    // Not sent early.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(app.sink_lines("+8613800138530").is_empty());
    assert_eq!(app.core.message_status(&app.app, later.handle).unwrap().delivery, Delivery::Queued);

    // Across a restart, and sent once due.
    let app_id = app.app.id.clone();
    let data_dir = app.data_dir.clone();
    app.stop().await;
    clock.advance(TimeDelta::minutes(31));
    let again = TestApp::spawn_with(
        &db,
        Options { clock: Some(clock.clone()), data_dir: Some(data_dir), ..Default::default() },
    )
    .await;
    let fresh = (*again.core.app(&app_id).unwrap()).clone();
    let again = again.with_app(fresh);
    again.wait_for_message("+8613800138530", 1).await;
    assert!(again.sink_lines("+8613800138531").is_empty());
    let status = settled(&again, later.handle).await;
    assert_eq!(status.delivery, Delivery::Delivered);
    // Too late to cancel.
    assert!(matches!(again.core.cancel_message(&again.app, later.handle), Err(Error::NotCancellable)));
}

#[tokio::test]
async fn a_message_that_fails_for_good_gives_its_parts_back() {
    let db = TestDb::new();
    let clock = ShiftedClock::default();
    // No worker: the message stays queued until it expires.
    let app =
        TestApp::spawn_with(&db, Options { clock: Some(clock.clone()), no_worker: true, ..Default::default() }).await;
    app.core.set_balance(&app.app.id, Some(1)).unwrap();
    let issued = app.core.send_code(&app.app, code_request("13800138540")).unwrap();
    assert_eq!(app.core.balance(&app.app.id).unwrap(), Some(0));
    app.clock.advance(TimeDelta::minutes(2));
    assert!(matches!(app.core.send_code(&app.app, code_request("13800138541")), Err(Error::BalanceExhausted)));
    clock.advance(TimeDelta::minutes(11));
    app.core.purge().unwrap();
    assert_eq!(app.core.message_status(&app.app, issued.handle).unwrap().delivery, Delivery::Failed);
    assert_eq!(app.core.balance(&app.app.id).unwrap(), Some(1));
    // Given back once only.
    app.core.purge().unwrap();
    assert_eq!(app.core.balance(&app.app.id).unwrap(), Some(1));

    assert_eq!(app.core.top_up(&app.app.id, 4).unwrap(), 5);
    assert!(matches!(app.core.top_up(&app.app.id, 0), Err(Error::InvalidParameter(_))));
    assert_eq!(app.core.set_balance(&app.app.id, None).unwrap(), None);
    assert_eq!(app.core.balance(&app.app.id).unwrap(), None);
    assert!(matches!(app.core.balance("no-such-app"), Err(Error::UnknownApp)));
}

/// 20 concurrent sends against a balance of 3 parts: exactly 3 are charged and queued.
async fn race_the_balance(senders: [&TestApp; 2]) {
    let app = senders[0];
    app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0,
        "ip_per_hour": 0, "ip_per_day": 0}}));
    app.core.set_balance(&app.app.id, Some(3)).unwrap();
    let fresh = (*app.core.app(&app.app.id).unwrap()).clone();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let core = senders[i % 2].core.clone();
        let target = fresh.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            core.send_code(&target, code_request(&format!("+86138001386{i:02}")))
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::BalanceExhausted) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 3);
    assert_eq!(app.core.balance(&app.app.id).unwrap(), Some(0));
    let queued = app.core.message_log(&Default::default(), 0, 100).unwrap();
    assert_eq!(queued.iter().filter(|m| m.app_id == app.app.id).count(), 3);
}

#[tokio::test]
async fn a_balance_is_spent_exactly_under_concurrency() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, Options { no_worker: true, ..Default::default() }).await;
    race_the_balance([&app, &app]).await;
}

#[tokio::test]
async fn a_balance_is_spent_exactly_across_two_instances() {
    let db = TestDb::new();
    if !db.is_postgres() {
        return;
    }
    let app = TestApp::spawn_with(&db, Options { no_worker: true, ..Default::default() }).await;
    let other = app.another_instance(&db, Options { no_worker: true, ..Default::default() }).await;
    race_the_balance([&app, &other]).await;
}

fn cli(db: &TestDb, app: &TestApp, args: &[&str]) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_phonebase"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PHONEBASE_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    if let Some(secret) = &db.secret {
        cmd.env("PHONEBASE_SECRET_KEY", secret);
    }
    let out = cmd
        .env("DATABASE_URL", &db.url)
        .env("PHONEBASE_DATA_DIR", &app.data_dir)
        .env("RUST_LOG", "warn")
        .current_dir(&app.data_dir)
        .args(args)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn the_cli_and_the_console_show_and_change_balances_and_handles() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let id = app.app.id.clone();
    let json_of = |text: &str| serde_json::from_str::<serde_json::Value>(text.trim()).unwrap();
    let (ok, text) = cli(&db, &app, &["app", "balance", &id, "--json"]);
    assert!(ok, "{text}");
    assert_eq!(json_of(&text), json!({"appId": id, "balance": null}));
    let (ok, text) = cli(&db, &app, &["app", "balance", &id, "--add", "5", "--json"]);
    assert!(ok, "{text}");
    assert_eq!(json_of(&text)["balance"], 5);
    let (ok, text) = cli(&db, &app, &["app", "balance", &id, "--add", "2"]);
    assert!(ok && text.contains("7 parts"), "{text}");
    let (ok, text) = cli(&db, &app, &["app", "balance", &id, "--set", "1", "--json"]);
    assert!(ok && json_of(&text)["balance"] == 1, "{text}");
    assert!(!cli(&db, &app, &["app", "balance", &id, "--set", "-1"]).0);
    assert!(!cli(&db, &app, &["app", "balance", &id, "--add", "1", "--unlimited"]).0);
    assert!(!cli(&db, &app, &["app", "balance", "no-such-app"]).0);
    assert_eq!(app.core.balance(&id).unwrap(), Some(1));

    let item = approved(&app, "shipped", notice_template("Order {{order}} shipped"));
    let (ok, text) = cli(&db, &app, &["template", "list", &id, "--json"]);
    assert!(ok, "{text}");
    assert_eq!(json_of(&text)[0]["handle"], item.handle);
    assert_eq!(json_of(&text)[0]["live"], "approved");

    // The console: balance, top-up, handles, and the cost of each message.
    let (mut browser, csrf) = crate::console::signed_in(&app).await;
    let page = format!("/console/apps/{id}");
    let (_, html, _) = browser.get(&page).await;
    assert!(html.contains("1 parts left"), "{html}");
    assert!(html.contains(&format!("<td class=\"handle\">{}</td>", item.handle)), "{html}");
    let path = format!("/console/apps/{id}/balance");
    let (status, _, location, _) = browser.post(&path, &[("csrf", &csrf), ("add", "4")]).await;
    assert_eq!(status, 303);
    let (_, html, _) = browser.get(location.as_deref().unwrap()).await;
    assert!(html.contains("5 parts left") && html.contains("Balance saved"), "{html}");
    assert_eq!(browser.post(&path, &[("csrf", &csrf), ("add", "many")]).await.0, 400);
    assert_eq!(browser.post(&path, &[("csrf", &csrf), ("add", "0")]).await.0, 400);
    assert_eq!(browser.post(&path, &[("add", "4")]).await.0, 403);
    let (status, ..) = browser.post(&path, &[("csrf", &csrf), ("set", "0")]).await;
    assert_eq!(status, 303);
    let (_, html, _) = browser.get(&page).await;
    assert!(html.contains("0 parts left"), "{html}");
    let (status, ..) = browser.post(&path, &[("csrf", &csrf), ("unlimited", "1")]).await;
    assert_eq!(status, 303);
    assert_eq!(app.core.balance(&id).unwrap(), None);

    app.core.set_balance(&id, Some(3)).unwrap();
    let issued = app.core.send_notice(&app.app, notice("13800138550", TemplateRef::Handle(item.handle))).unwrap();
    app.wait_for_message("+8613800138550", 1).await;
    let (_, html, _) = browser.get("/console/messages?to=13800138550").await;
    assert!(html.contains(&format!("<td class=\"handle\">{}</td>", issued.handle)), "{html}");
    assert!(html.contains("<td class=\"cost\">1</td>"), "{html}");
}
