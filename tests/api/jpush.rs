//! The JPush SMS dialect (`/v1`, issue 17, contract part B) over raw HTTP: Basic auth, the
//! 500xx table with its statuses, codes by template handle verified by msg_id, template and
//! signature management over the review core, messages, batches, schedules (delivered at their
//! time, across a restart) and the balance.

use chrono::TimeDelta;
use phonebase::core::clock::Clock;
use phonebase::core::review::Decision;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Jp, Options, PNG, TestApp, TestDb, code_in, error_code as code, multipart, read};

#[tokio::test]
async fn the_error_table_over_http() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    let url = app.url("/v1/codes");

    let (status, body) = read(app.client.post(&url).body("{}")).await;
    assert_eq!((status, code(&body)), (400, 50001));
    assert_eq!(body["error"]["message"], "missing auth");
    let (status, body) =
        read(app.client.post(&url).basic_auth(&app.app.credentials.jpush.app_key, Some("nope")).body("{}")).await;
    assert_eq!((status, code(&body)), (401, 50002));
    let (status, body) = read(app.client.post(&url).basic_auth("unknown", Some("x")).body("{}")).await;
    assert_eq!((status, code(&body)), (401, 50002));
    let (status, body) = read(app.client.post(&url).header("Authorization", "Bearer x").body("{}")).await;
    assert_eq!((status, code(&body)), (401, 50002));

    let (status, body) = jp.post("/v1/nowhere", json!({})).await;
    assert_eq!((status, code(&body)), (404, 50016));
    let (status, body) = jp.get("/v1/codes").await;
    assert_eq!((status, code(&body)), (405, 50018));
    let (status, body) = read(jp.request(Method::POST, "/v1/codes").form(&[("mobile", "1")])).await;
    assert_eq!((status, code(&body)), (415, 50017));
    let (status, body) = read(jp.request(Method::POST, "/v1/sign").body("{}")).await;
    assert_eq!((status, code(&body)), (415, 50017));

    let (status, body) = read(jp.request(Method::POST, "/v1/codes")).await;
    assert_eq!((status, code(&body)), (400, 50003));
    let (status, body) = read(jp.request(Method::POST, "/v1/codes").body("{oops")).await;
    assert_eq!((status, code(&body)), (403, 50007));
    let (status, body) = read(jp.request(Method::POST, "/v1/codes").body("[1]")).await;
    assert_eq!((status, code(&body)), (403, 50007));
    // JSON with a JSON content type too (Java and PHP).
    let (status, body) = read(jp.request(Method::POST, "/v1/codes").json(&json!({"temp_id": 1}))).await;
    assert_eq!((status, code(&body)), (400, 50004));
    let (status, body) = jp.post("/v1/codes", json!({"mobile": "13800138000"})).await;
    assert_eq!((status, code(&body)), (400, 50005));
    let (status, body) = jp.post("/v1/codes", json!({"mobile": "123", "temp_id": 1})).await;
    assert_eq!((status, code(&body)), (403, 50006));
    let (status, body) = jp.post("/v1/codes", json!({"mobile": "13800138000", "temp_id": 4242})).await;
    assert_eq!((status, code(&body)), (403, 50013));
    let (status, body) = jp.post("/v1/codes", json!({"mobile": "13800138000\u{0}", "temp_id": 1})).await;
    assert_eq!((status, code(&body)), (403, 50007));
    let (status, body) = jp.post("/v1/codes/12/valid", json!({})).await;
    assert_eq!((status, code(&body), body["is_valid"].clone()), (400, 50015, json!(false)));
    let (status, body) = jp.post("/v1/codes/abc/valid", json!({"code": "123456"})).await;
    assert_eq!((status, code(&body)), (403, 50026));
    let (status, body) = jp.get("/v1/schedule/nope").await;
    assert_eq!((status, code(&body)), (403, 50028));
    let (status, body) = jp.post("/v1/messages/batch", json!({"temp_id": 1, "recipients": []})).await;
    assert_eq!((status, code(&body)), (403, 50030));
    let many: Vec<Value> = (0..1001).map(|i| json!({"mobile": format!("138{i:08}")})).collect();
    let (status, body) = jp.post("/v1/messages/batch", json!({"temp_id": 1, "recipients": many})).await;
    assert_eq!((status, code(&body)), (403, 50031));
}

#[tokio::test]
async fn codes_by_template_verified_by_msg_id_once() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    let (status, made) = jp.post("/v1/templates", json!({"template": "验证码{{code}}", "type": 1, "ttl": 120})).await;
    assert_eq!(status, 200, "{made}");
    let temp_id = made["temp_id"].as_i64().unwrap();
    let (status, body) = jp.post("/v1/codes", json!({"mobile": "13800138101", "temp_id": temp_id})).await;
    assert_eq!((status, code(&body)), (403, 50020), "in review");
    jp.decide(temp_id, true, Decision::Approve);

    let (status, sent) = jp.post("/v1/codes", json!({"mobile": "13800138101", "temp_id": temp_id})).await;
    assert_eq!(status, 200, "{sent}");
    let msg_id = sent["msg_id"].as_str().expect("msg_id is a string").to_string();
    let code_sent = app.wait_for_code("+8613800138101", 1).await;
    let wrong = if code_sent == "000000" { "111111" } else { "000000" };
    let valid = format!("/v1/codes/{msg_id}/valid");
    let (status, body) = jp.post(&valid, json!({"code": wrong})).await;
    assert_eq!((status, body), (403, json!({"is_valid": false, "error": {"code": 50010, "message": "invalid code"}})));
    let (status, body) = jp.post(&valid, json!({"code": code_sent})).await;
    assert_eq!((status, body), (200, json!({"is_valid": true})));
    let (status, body) = jp.post(&valid, json!({"code": code_sent})).await;
    assert_eq!((status, code(&body), body["is_valid"].clone()), (403, 50012, json!(false)));
    let (status, body) = jp.post("/v1/codes/987654321/valid", json!({"code": code_sent})).await;
    assert_eq!((status, code(&body)), (403, 50026));

    // The template's ttl (120 s) is the code's lifetime.
    let (_, sent) = jp.post("/v1/codes", json!({"mobile": "13800138102", "temp_id": temp_id})).await;
    let late = app.wait_for_code("+8613800138102", 1).await;
    app.clock.advance(TimeDelta::seconds(121));
    let (status, body) =
        jp.post(&format!("/v1/codes/{}/valid", sent["msg_id"].as_str().unwrap()), json!({"code": late})).await;
    assert_eq!((status, code(&body)), (403, 50011));

    // A notice template is no code template, and a code template no notice.
    let notice = jp.approved_template("您的订单{{order}}已发货", 2).await;
    let (status, body) = jp.post("/v1/codes", json!({"mobile": "13800138103", "temp_id": notice})).await;
    assert_eq!((status, code(&body)), (403, 50025));
    let (status, body) = jp.post("/v1/messages", json!({"mobile": "13800138103", "temp_id": temp_id})).await;
    assert_eq!((status, code(&body)), (403, 50025));
}

#[tokio::test]
async fn voice_codes_take_the_callers_digits() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    let (status, sent) = jp.post("/v1/voice_codes", json!({"mobile": "13800138201", "code": "4321", "ttl": 60})).await;
    assert_eq!(status, 200, "{sent}");
    let message = app.wait_for_message("+8613800138201", 1).await;
    assert_eq!(message["channel"], "voice");
    assert!(message["text"].as_str().unwrap().contains("4321"));
    let (status, body) =
        jp.post(&format!("/v1/codes/{}/valid", sent["msg_id"].as_str().unwrap()), json!({"code": "4321"})).await;
    assert_eq!((status, body), (200, json!({"is_valid": true})));
    // The server makes one when none is given.
    let (status, sent) = jp.post("/v1/voice_codes", json!({"mobile": "13800138202"})).await;
    assert_eq!(status, 200, "{sent}");
    let spoken = code_in(app.wait_for_message("+8613800138202", 1).await["text"].as_str().unwrap());
    let (status, _) =
        jp.post(&format!("/v1/codes/{}/valid", sent["msg_id"].as_str().unwrap()), json!({"code": spoken})).await;
    assert_eq!(status, 200);
    for (body, expected) in [
        (json!({"mobile": "13800138203", "code": "123"}), 50038),
        (json!({"mobile": "13800138203", "code": "123456789"}), 50038),
        (json!({"mobile": "13800138203", "code": "12ab"}), 50038),
        (json!({"mobile": "13800138203", "voice_lang": 3}), 50040),
        (json!({"mobile": "13800138203", "ttl": 0}), 50041),
    ] {
        let (status, answer) = jp.post("/v1/voice_codes", body.clone()).await;
        assert_eq!((status, code(&answer)), (403, expected), "{body}");
    }
}

#[tokio::test]
async fn template_management_reads_the_review_state() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    for (body, expected) in [
        (json!({"type": 2}), 50042),
        (json!({"template": "x".repeat(351), "type": 2}), 50043),
        (json!({"template": "【签名】{{code}}", "type": 1, "ttl": 60}), 50054),
        (json!({"template": "{{code}}", "type": 1}), 50041),
        (json!({"template": "{{code}}", "type": 1, "ttl": 86401}), 50041),
        (json!({"template": "推广", "type": 3}), 50025),
        (json!({"template": "通知", "type": 2, "remark": "r".repeat(101)}), 50045),
    ] {
        let (status, answer) = jp.post("/v1/templates", body.clone()).await;
        assert_eq!((status, code(&answer)), (403, expected), "{body}");
    }
    // Java sends temp_id 0 on create: ignored.
    let (status, made) = jp
        .post("/v1/templates", json!({"template": "码{{code}}", "type": 1, "ttl": 300, "remark": "登录", "temp_id": 0}))
        .await;
    assert_eq!(status, 200, "{made}");
    let temp_id = made["temp_id"].as_i64().unwrap();
    let path = format!("/v1/templates/{temp_id}");
    let (status, shown) = jp.get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(
        shown,
        json!({"temp_id": temp_id, "template": "码{{code}}", "type": 1, "ttl": 300, "remark": "登录", "status": 0})
    );
    // Only a template whose review failed may change.
    let change = json!({"template": "新码{{code}}", "type": 1, "ttl": 60});
    let (status, body) = jp.call(Method::PUT, &path, Some(change.clone())).await;
    assert_eq!((status, code(&body)), (403, 50047));
    jp.decide(temp_id, true, Decision::Reject { reason: "太短".into() });
    assert_eq!(jp.get(&path).await.1["status"], 2);
    let (status, body) = jp.call(Method::PUT, &path, Some(change)).await;
    assert_eq!((status, body), (200, json!({"temp_id": temp_id})));
    let (_, shown) = jp.get(&path).await;
    assert_eq!(
        (shown["template"].clone(), shown["ttl"].clone(), shown["status"].clone()),
        (json!("新码{{code}}"), json!(60), json!(0))
    );
    jp.decide(temp_id, true, Decision::Approve);
    assert_eq!(jp.get(&path).await.1["status"], 1);

    let (status, body) = jp.call(Method::DELETE, &path, None).await;
    assert_eq!((status, body), (200, Value::Null));
    let (status, body) = jp.get(&path).await;
    assert_eq!((status, code(&body)), (403, 50013));
    let (status, body) = jp.call(Method::DELETE, &path, None).await;
    assert_eq!((status, code(&body)), (403, 50013));

    // Another app does not see this app's templates.
    let mine = jp.approved_template("码{{code}}", 1).await;
    let other =
        app.core.create_app(phonebase::core::apps::NewApp { name: "other".into(), ..Default::default() }).unwrap();
    let keys = &other.credentials.jpush;
    let (status, body) = read(
        app.client.get(app.url(&format!("/v1/templates/{mine}"))).basic_auth(&keys.app_key, Some(&keys.master_secret)),
    )
    .await;
    assert_eq!((status, code(&body)), (403, 50013));
}

#[tokio::test]
async fn signatures_by_multipart() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    // Python and PHP: image0.
    let (boundary, body) =
        multipart(&[("sign", "极光测试"), ("type", "1"), ("remark", "营业执照")], Some(("image0", PNG)));
    let (status, made) = read(
        jp.request(Method::POST, "/v1/sign")
            .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
            .body(body),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let sign_id = made["sign_id"].as_i64().unwrap();
    let path = format!("/v1/sign/{sign_id}");
    assert_eq!(
        jp.get(&path).await,
        (200, json!({"sign_id": sign_id, "sign": "极光测试", "status": 0, "is_default": 0, "use_status": 0}))
    );
    let item = app.core.signature_by_handle(&app.app, sign_id).unwrap();
    let extras = app.core.item_extras(&app.app, &item.id).unwrap();
    assert_eq!((extras.sign_type, extras.remark.as_deref()), (Some(1), Some("营业执照")));
    assert_eq!(extras.image.unwrap().bytes, PNG);
    jp.decide(sign_id, false, Decision::Approve);
    assert_eq!(jp.get(&path).await.1["use_status"], 1);

    // Java: `multipart/form-data ; boundary=` and `images`; an update is a POST.
    let (boundary, body) = multipart(&[("sign", "极光新签")], Some(("images", PNG)));
    let (status, updated) = read(
        jp.request(Method::POST, &path)
            .header("Content-Type", format!("multipart/form-data ; boundary={boundary}"))
            .body(body),
    )
    .await;
    assert_eq!((status, updated), (200, json!({"sign_id": sign_id})));
    let (_, shown) = jp.get(&path).await;
    assert_eq!((shown["sign"].clone(), shown["status"].clone()), (json!("极光新签"), json!(0)));

    for (fields, file, expected) in [
        (vec![("sign", "签")], None, 50104),
        (vec![("sign", "一二三四五六七八九")], None, 50104),
        (vec![("sign", "【极光】")], None, 50104),
        (vec![("sign", "极光测试")], Some(("image0", &b"GIF? no"[..])), 50101),
    ] {
        let (boundary, body) = multipart(&fields, file);
        let (status, answer) = read(
            jp.request(Method::POST, "/v1/sign")
                .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
                .body(body),
        )
        .await;
        assert_eq!((status, code(&answer)), (403, expected), "{fields:?}");
    }

    // Deleted: gone for good.
    let (status, body) = jp.call(Method::DELETE, &path, None).await;
    assert_eq!((status, body), (200, Value::Null));
    let (status, body) = jp.get(&path).await;
    assert_eq!((status, code(&body)), (403, 50102));
}

#[tokio::test]
async fn messages_and_batches() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    let temp_id = jp.approved_template("{{name1}}您好，包裹{{parcel}}已到。", 2).await;
    let (status, sent) = jp
        .post(
            "/v1/messages",
            json!({"mobile": "13800138301", "temp_id": temp_id, "temp_para": {"name1": "王", "parcel": 7}}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert!(sent["msg_id"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(app.wait_for_message("+8613800138301", 1).await["text"].as_str().unwrap().ends_with("王您好，包裹7已到。"));
    // A variable left out.
    let (status, body) = jp
        .post("/v1/messages", json!({"mobile": "13800138302", "temp_id": temp_id, "temp_para": {"name1": "王"}}))
        .await;
    assert_eq!((status, code(&body)), (403, 50022));

    let (status, result) = jp
        .post(
            "/v1/messages/batch",
            json!({"temp_id": temp_id, "tag": "t", "recipients": [
                {"mobile": "13800138303", "temp_para": {"name1": "甲", "parcel": "1"}},
                {"mobile": "12", "temp_para": {"name1": "乙", "parcel": "2"}},
                {"mobile": "13800138304", "temp_para": {"name1": "丙"}},
                {"mobile": "13800138305", "temp_para": {"name1": "丁", "parcel": "4"}},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!((result["success_count"].clone(), result["failure_count"].clone()), (json!(2), json!(2)));
    let listed = result["recipients"].as_array().unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(listed[1]["error_code"], "50006");
    assert_eq!(listed[1]["mobile"], "12");
    assert_eq!(listed[2]["error_code"], "50022");
    assert!(listed[0]["msg_id"].is_string() && listed[3]["msg_id"].is_string());
    app.wait_for_message("+8613800138303", 1).await;
    app.wait_for_message("+8613800138305", 1).await;
}

#[tokio::test]
async fn schedules_wait_for_their_time_and_survive_a_restart() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    let temp_id = jp.approved_template("{{who}}，您的预约明天开始。", 2).await;
    // China time, one hour ahead of the test clock.
    let at = |ahead: TimeDelta| {
        (app.clock.now_naive() + TimeDelta::hours(8) + ahead).format("%Y-%m-%d %H:%M:%S").to_string()
    };
    let in_an_hour = at(TimeDelta::hours(1));
    let (status, made) = jp
        .post(
            "/v1/schedule",
            json!({"send_time": in_an_hour, "mobile": "13800138401", "temp_id": temp_id, "temp_para": {"who": "李"}}),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let id = made["schedule_id"].as_str().unwrap().to_string();
    let (status, shown) = jp.get(&format!("/v1/schedule/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["send_time"], in_an_hour);
    assert_eq!(shown["temp_id"], temp_id);
    assert_eq!(shown["recipients"][0]["mobile"], "13800138401");
    assert_eq!(shown["recipients"][0]["temp_para"], json!({"who": "李"}));

    // Replaced: new time, new variables, same id. (The cancelled send still counts towards the
    // number's limits, as every accepted send does: room for it.)
    app.update_settings(json!({"limits": {"phone_per_minute": 5}}));
    let in_two = at(TimeDelta::hours(2));
    let (status, body) = jp
        .call(
            Method::PUT,
            &format!("/v1/schedule/{id}"),
            Some(json!({"send_time": in_two, "mobile": "13800138401", "temp_id": temp_id, "temp_para": {"who": "赵"}})),
        )
        .await;
    assert_eq!((status, body), (200, json!({"schedule_id": id})));
    let (_, shown) = jp.get(&format!("/v1/schedule/{id}")).await;
    assert_eq!(
        (shown["send_time"].clone(), shown["recipients"][0]["temp_para"]["who"].clone()),
        (json!(in_two), json!("赵"))
    );

    // A batch schedule, then a restart: nothing goes before its time, everything after.
    let (status, batch) = jp
        .post(
            "/v1/schedule/batch",
            json!({"send_time": in_two, "temp_id": temp_id, "recipients": [
                {"mobile": "13800138402", "temp_para": {"who": "甲"}},
                {"mobile": "1", "temp_para": {"who": "乙"}},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!((batch["success_count"].clone(), batch["failure_count"].clone()), (json!(1), json!(1)));
    assert_eq!(batch["failure_recipients"][0]["error_code"], "50006");
    let clock = app.clock.clone();
    let data_dir = app.data_dir.clone();
    app.kill();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let app = TestApp::spawn_with(
        &db,
        Options { clock: Some(clock.clone()), data_dir: Some(data_dir), ..Default::default() },
    )
    .await;
    assert!(app.sink_lines("+8613800138401").is_empty() && app.sink_lines("+8613800138402").is_empty());
    clock.advance(TimeDelta::hours(2) + TimeDelta::seconds(5));
    assert!(app.wait_for_message("+8613800138401", 1).await["text"].as_str().unwrap().contains("赵"));
    assert!(app.wait_for_message("+8613800138402", 1).await["text"].as_str().unwrap().contains("甲"));
    assert_eq!(app.sink_lines("+8613800138401").len(), 1, "the replaced send never went");
}

#[tokio::test]
async fn schedules_are_cancelled_until_their_time() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    let temp_id = jp.approved_template("{{who}}，活动明天开始。", 2).await;
    let at = |ahead: TimeDelta| {
        (app.clock.now_naive() + TimeDelta::hours(8) + ahead).format("%Y-%m-%d %H:%M:%S").to_string()
    };
    for past in [at(TimeDelta::seconds(-5)), "2026-13-01 00:00:00".to_string()] {
        let (status, body) = jp
            .post(
                "/v1/schedule",
                json!({"send_time": past, "mobile": "13800138501", "temp_id": temp_id, "temp_para": {"who": "x"}}),
            )
            .await;
        assert_eq!((status, code(&body)), (403, 50027));
    }
    let (_, made) = jp
        .post("/v1/schedule", json!({"send_time": at(TimeDelta::minutes(10)), "mobile": "13800138501", "temp_id": temp_id, "temp_para": {"who": "x"}}))
        .await;
    let id = made["schedule_id"].as_str().unwrap().to_string();
    let (status, body) = jp.call(Method::DELETE, &format!("/v1/schedule/{id}"), None).await;
    assert_eq!((status, body), (200, Value::Null));
    let (status, body) = jp.get(&format!("/v1/schedule/{id}")).await;
    assert_eq!((status, code(&body)), (403, 50028));
    app.clock.advance(TimeDelta::minutes(11));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(app.sink_lines("+8613800138501").is_empty(), "a cancelled schedule sends nothing");

    // Once its time has come it can no longer change.
    let (_, made) = jp
        .post("/v1/schedule", json!({"send_time": at(TimeDelta::minutes(1)), "mobile": "13800138502", "temp_id": temp_id, "temp_para": {"who": "y"}}))
        .await;
    let id = made["schedule_id"].as_str().unwrap().to_string();
    app.clock.advance(TimeDelta::minutes(2));
    app.wait_for_message("+8613800138502", 1).await;
    let (status, body) = jp.call(Method::DELETE, &format!("/v1/schedule/{id}"), None).await;
    assert_eq!((status, code(&body)), (403, 50029));
}

#[tokio::test]
async fn balance_and_no_money() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let jp = Jp::new(&app);
    assert_eq!(
        jp.get("/v1/accounts/app").await,
        (200, json!({"app_balance": null, "app_voice": null, "app_industry": null, "app_market": null}))
    );
    app.core.set_balance(&app.app.id, Some(1)).unwrap();
    assert_eq!(jp.get("/v1/accounts/app").await.1["app_balance"], 1);
    let (status, _) = jp.post("/v1/voice_codes", json!({"mobile": "13800138601"})).await;
    assert_eq!(status, 200);
    let (status, body) = jp.post("/v1/voice_codes", json!({"mobile": "13800138602"})).await;
    assert_eq!((status, code(&body)), (403, 50014));
    assert_eq!(jp.get("/v1/accounts/app").await.1["app_balance"], 0);
}
