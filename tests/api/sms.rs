use serde_json::json;

use crate::helpers::{TestApp, TestDb};
use phonebase::store;

#[tokio::test]
async fn request_then_verify_once() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138000"})).await;
    assert_eq!((status, body), (200, json!({})));
    let message = app.wait_for_message("+8613800138000", 1).await;
    assert_eq!(message["channel"], "sms");
    assert_eq!(message["app"], app.app.id.as_str());
    assert!(message["at"].as_str().unwrap().ends_with('Z'));
    let text = message["text"].as_str().unwrap();
    assert!(text.contains("Testapp") && text.contains("10 分钟"), "{text}");
    let code = crate::helpers::code_in(text);

    // Same number written differently.
    assert_eq!(app.verify_code(&code, "+86 138 0013 8000").await, (200, json!({})));
    // Single use.
    let (status, body) = app.verify_code(&code, "13800138000").await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(603)));
}

#[tokio::test]
async fn name_op_and_ttl_shape_the_text() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (status, _) = app
        .request_code(json!({"mobilePhoneNumber": "+8613800138002", "name": "小卖部", "op": "注册", "ttl": 3, "extra": "ignored"}))
        .await;
    assert_eq!(status, 200);
    let text = app.wait_for_message("+8613800138002", 1).await["text"].as_str().unwrap().to_string();
    assert!(text.contains("小卖部") && text.contains("注册") && text.contains("3 分钟"), "{text}");

    for (ttl, ok) in [(json!(0), false), (json!(31), false), (json!(-5), false), (json!(30), true)] {
        app.update_settings(json!({"limits": {"phone_per_minute": 0, "phone_per_hour": 0, "phone_per_day": 0}}));
        let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+8613800138003", "ttl": ttl})).await;
        assert_eq!(status == 200, ok, "ttl {ttl}: {body}");
        if !ok {
            assert_eq!(body["code"], 1);
        }
    }
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138004", "name": "【假冒】"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)));
}

#[tokio::test]
async fn invalid_and_missing_numbers() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    for phone in ["12345", "1380013800", "+86 10 1234 5678", "+999123456789", "not a number"] {
        let (status, body) = app.request_code(json!({"mobilePhoneNumber": phone})).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(127)), "{phone}");
    }
    for body in [json!({}), json!({"mobilePhoneNumber": ""}), json!({"mobilePhoneNumber": null})] {
        let (status, got) = app.request_code(body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert!(matches!(got["code"].as_i64(), Some(212)), "{body}: {got}");
    }
    let (status, body) = app.verify_code("123456", "12345").await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(127)));
}

#[tokio::test]
async fn voice_goes_to_the_voice_channel() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (status, _) = app.request_code(json!({"mobilePhoneNumber": "13800138005", "smsType": "voice"})).await;
    assert_eq!(status, 200);
    let message = app.wait_for_message("+8613800138005", 1).await;
    assert_eq!(message["channel"], "voice");
    let code = crate::helpers::code_in(message["text"].as_str().unwrap());
    assert_eq!(app.verify_code(&code, "13800138005").await.0, 200);

    app.update_settings(json!({"international_sms": true}));
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+447400123456", "smsType": "voice"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)));
}

#[tokio::test]
async fn international_numbers_follow_the_switch() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+447400123456"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)));
    assert!(app.sink_lines("+447400123456").is_empty());

    app.update_settings(json!({"international_sms": true}));
    let (status, _) = app.request_code(json!({"mobilePhoneNumber": "+44 7400 123456"})).await;
    assert_eq!(status, 200);
    let text = app.wait_for_message("+447400123456", 1).await["text"].as_str().unwrap().to_string();
    assert!(text.starts_with("You are using Testapp"), "{text}");
    let code = crate::helpers::code_in(&text);
    assert_eq!(app.verify_code(&code, "+447400123456").await.0, 200);
}

/// A number with a country code is read by its own region's rules: Côte d'Ivoire's mobile numbers
/// keep their leading 0 after +225 (China's trunk prefix must not strip it), however written.
#[tokio::test]
async fn a_foreign_number_is_parsed_in_its_own_region() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"international_sms": true, "limits": {"phone_per_minute": 0}}));
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+225 07 12 34 56 78"})).await;
    assert_eq!(status, 200, "{body}");
    let text = app.wait_for_message("+2250712345678", 1).await["text"].as_str().unwrap().to_string();
    let code = crate::helpers::code_in(&text);
    // The same number in another layout verifies the code.
    assert_eq!(app.verify_code(&code, "+2250712345678").await.0, 200);
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "+2250712345678"})).await;
    assert_eq!(status, 200, "{body}");
    let text = app.wait_for_message("+2250712345678", 2).await["text"].as_str().unwrap().to_string();
    assert_eq!(app.verify_code(&crate::helpers::code_in(&text), "+225 0712 345 678").await.0, 200);
}

#[tokio::test]
async fn switches_templates_and_signatures() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138006", "template": "welcome"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(604)));
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138006", "sign": "MyShop"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(600)));

    app.update_settings(json!({"sms_enabled": false}));
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13800138006"})).await;
    assert_eq!((status, body["code"].as_i64()), (403, Some(119)));
    assert!(app.sink_lines("+8613800138006").is_empty());
}

#[tokio::test]
async fn test_numbers_use_their_fixed_code_and_send_nothing() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"test_numbers": {"13900000000": "246810"}}));
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "+8613900000000"})).await.0, 200);
    // Limits still apply.
    let (status, body) = app.request_code(json!({"mobilePhoneNumber": "13900000000"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(601)));
    // The pair always verifies; anything else does not.
    for _ in 0..3 {
        assert_eq!(app.verify_code("246810", "13900000000").await.0, 200);
    }
    assert_eq!(app.verify_code("246811", "13900000000").await.1["code"], 603);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(app.sink_lines("+8613900000000").is_empty());
    let mut conn = app.core.pool().get().unwrap();
    assert!(store::messages::list_for_app(&mut conn, &app.app.id, 10).unwrap().is_empty());
}

#[tokio::test]
async fn codes_are_kept_only_as_keyed_hashes() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, crate::helpers::Options { no_worker: true, ..Default::default() }).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138007"})).await.0, 200);
    let mut conn = app.core.pool().get().unwrap();
    let messages = store::messages::list_for_app(&mut conn, &app.app.id, 10).unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.status, "queued");
    assert!(m.body_redacted.contains("******"), "{}", m.body_redacted);
    // The code is only recoverable by opening the sealed body with the server key.
    let text = app.core.keys().open(m.body_sealed.as_deref().unwrap()).unwrap();
    let code = crate::helpers::code_in(&text);
    assert!(!m.body_redacted.contains(&code));
    assert!(!String::from_utf8_lossy(m.body_sealed.as_deref().unwrap()).contains(&code));
    use diesel::prelude::*;
    use phonebase::store::schema::verification_codes as vc;
    let hashes: Vec<(String, String)> = vc::table.select((vc::code_hash, vc::value_hash)).load(&mut *conn).unwrap();
    assert_eq!(hashes.len(), 1);
    for h in [&hashes[0].0, &hashes[0].1] {
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&code));
    }
    drop(conn);
    assert_eq!(app.verify_code(&code, "13800138007").await.0, 200);
}
