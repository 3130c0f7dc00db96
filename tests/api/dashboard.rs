//! The console's dashboard: figures read from the database (codes sent and verified, refusals by
//! reason, delivery per provider, countries and prefixes), per app and overall, the same on
//! every instance; its page, its charts' library and style sheet served by Phonebase itself.

use chrono::TimeDelta;
use phonebase::core::apps::NewApp;
use serde_json::{Value, json};

use crate::console::{Browser, signed_in};
use crate::helpers::{TestApp, TestDb};

/// The dashboard's JSON, through the operator's session.
async fn figures(browser: &mut Browser, query: &str) -> (u16, Value) {
    let (status, body, _) = browser.get(&format!("/console/api/dashboard{query}")).await;
    (status, serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}")))
}

/// Waits until the worker has recorded `n` delivered messages of this view.
async fn wait_delivered(browser: &mut Browser, query: &str, n: i64) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = figures(browser, query).await.1;
        let delivered: i64 =
            last["providers"].as_array().unwrap().iter().map(|p| p["delivered"].as_i64().unwrap()).sum();
        if delivered >= n {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{n} messages never delivered: {last}");
}

/// Everything but the time it was read.
fn without_now(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("now");
    v
}

#[tokio::test]
async fn figures_per_app_and_overall_come_from_the_database() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (mut browser, _) = signed_in(&app).await;
    let shop = app.app.clone();
    let other = app.core.create_app(NewApp { name: "Other".into(), ..Default::default() }).unwrap();

    // Shop: 4 codes sent, 3 verified (one after a wrong guess), 2 refused by the per-minute
    // limit, 1 refused because international SMS is off.
    let numbers = ["13800138500", "13800138501", "13800138502", "13800138503"];
    for n in numbers {
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": n})).await.0, 200);
    }
    for n in &numbers[..2] {
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": n})).await.0, 400, "limit");
    }
    assert_ne!(app.request_code(json!({"mobilePhoneNumber": "+447400123456"})).await.0, 200);
    assert_eq!(app.verify_code("000000", numbers[0]).await.0, 400);
    for n in &numbers[..3] {
        let code = app.wait_for_code(&format!("+86{n}"), 1).await;
        assert_eq!(app.verify_code(&code, n).await.0, 200, "{n}");
    }
    // Other: 2 codes to another prefix, none verified.
    let app = app.with_app(other.clone());
    for n in ["13900139500", "13900139501"] {
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": n})).await.0, 200);
    }

    let shop_view = format!("?app={}", shop.id);
    let d = wait_delivered(&mut browser, &shop_view, 4).await;
    assert_eq!(d["range"], "24h");
    assert_eq!(d["app"], json!({"appId": shop.id, "name": "Testapp"}));
    assert_eq!(d["buckets"].as_array().unwrap().len(), 24);
    assert_eq!(d["codes"]["totals"], json!({"sent": 4, "verified": 3, "conversion": 0.75}));
    let series_sum = |key: &str| d["codes"][key].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).sum::<i64>();
    assert_eq!((series_sum("sent"), series_sum("verified")), (4, 3));
    assert_eq!(d["refusals"]["total"], 3);
    let reasons: Vec<(String, i64)> = d["refusals"]["byReason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reason"].as_str().unwrap().to_string(), r["total"].as_i64().unwrap()))
        .collect();
    assert_eq!(reasons, vec![("limit".to_string(), 2), ("disabled".to_string(), 1)]);
    assert_eq!(
        d["countries"],
        json!([{"country": "CN", "region": "CN", "callingCode": 86, "sent": 4, "verified": 3, "conversion": 0.75}])
    );
    assert_eq!(
        d["prefixes"],
        json!([{"prefix": "+86 138", "region": "CN", "callingCode": 86, "sent": 4, "verified": 3, "conversion": 0.75}])
    );
    let providers = d["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{d}");
    let sink = &providers[0];
    assert_eq!((sink["provider"].as_str(), sink["messages"].as_i64()), (Some("sink"), Some(4)));
    assert_eq!((sink["delivered"].as_i64(), sink["failed"].as_i64()), (Some(4), Some(0)));
    assert_eq!(sink["successRate"], 1.0);
    assert!(sink["meanAcceptSeconds"].as_f64().is_some_and(|s| (0.0..60.0).contains(&s)), "{sink}");
    assert_eq!(
        d["apps"],
        json!([{"appId": shop.id, "name": "Testapp", "sent": 4, "verified": 3, "conversion": 0.75, "refused": 3}])
    );
    assert_eq!(d["alert"], Value::Null, "4 codes say nothing about a trend");

    // Every app: both apps, by name.
    let all = wait_delivered(&mut browser, "", 6).await;
    assert_eq!(all["app"], Value::Null);
    assert_eq!(all["codes"]["totals"], json!({"sent": 6, "verified": 3, "conversion": 0.5}));
    assert_eq!(all["refusals"]["total"], 3);
    let apps: Vec<(&str, i64, i64, i64)> = all["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["sent"].as_i64().unwrap(),
                a["verified"].as_i64().unwrap(),
                a["refused"].as_i64().unwrap(),
            )
        })
        .collect();
    // The app every server starts with ("Default") sent nothing.
    assert_eq!(apps, vec![("Default", 0, 0, 0), ("Testapp", 4, 3, 3), ("Other", 2, 0, 0)]);
    let prefixes: Vec<(&str, i64)> = all["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["prefix"].as_str().unwrap(), p["sent"].as_i64().unwrap()))
        .collect();
    assert_eq!(prefixes, vec![("+86 138", 4), ("+86 139", 2)]);
    let (status, other_view) = figures(&mut browser, &format!("?app={}&range=24h", other.id)).await;
    assert_eq!(status, 200);
    assert_eq!(other_view["codes"]["totals"], json!({"sent": 2, "verified": 0, "conversion": 0.0}));

    // Another instance on the same database shows the same figures (and so would a restart).
    let second = app.another_instance(&db, Default::default()).await;
    let (mut browser2, _) = signed_in(&second).await;
    let (_, again) = figures(&mut browser2, &shop_view).await;
    assert_eq!(without_now(again), without_now(d.clone()));

    // 25 hours later the day is empty, the week still holds them (in 6-hour buckets). (The
    // console session has expired by then: sign in again.)
    app.clock.advance(TimeDelta::hours(25));
    let (mut browser, _) = signed_in(&app).await;
    let (_, day) = figures(&mut browser, &shop_view).await;
    assert_eq!(day["codes"]["totals"], json!({"sent": 0, "verified": 0, "conversion": null}));
    assert_eq!((day["refusals"]["total"].as_i64(), day["providers"].as_array().map(Vec::len)), (Some(0), Some(0)));
    let (_, week) = figures(&mut browser, &format!("{shop_view}&range=7d")).await;
    assert_eq!((week["range"].as_str(), week["bucketHours"].as_i64()), (Some("7d"), Some(6)));
    assert_eq!(week["buckets"].as_array().unwrap().len(), 28);
    assert_eq!(week["codes"]["totals"], json!({"sent": 4, "verified": 3, "conversion": 0.75}));
    assert_eq!(week["refusals"]["total"], 3);

    // Bad input: the console API's own errors.
    let (status, body) = figures(&mut browser, "?range=1y").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("Range is 24h or 7d.")));
    let (status, body) = figures(&mut browser, "?app=nope").await;
    assert!(status == 404 && body["error"].is_string(), "{status} {body}");
    let (status, body) = figures(&mut Browser::new(&app), "").await;
    assert!(status == 401 && body["error"].is_string(), "{status} {body}");
}

#[tokio::test]
async fn the_page_draws_from_what_phonebase_serves_itself() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (mut browser, _) = signed_in(&app).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138510"})).await.0, 200);
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138510"})).await.0, 400);

    // The first page after sign-in.
    let (status, _, location) = browser.get("/console").await;
    assert_eq!((status, location.as_deref()), (303, Some("/console/dashboard")));
    let (status, html, _) = browser.get("/console/dashboard").await;
    assert_eq!(status, 200);
    for part in ["id=\"chart-codes\"", "id=\"chart-refusals\"", "id=\"chart-delivery\"", "id=\"dashboard-data\""] {
        assert!(html.contains(part), "{part} in {html}");
    }
    assert!(html.contains("<option value=\"\">All apps</option>") && html.contains(">Testapp</option>"), "{html}");
    assert!(html.contains("<code>+86 138</code>"), "{html}");
    assert!(
        html.contains("<td class=\"reason\"><span class=\"badge\">limit</span></td><td class=\"num total\">1</td>")
    );
    // The chart data is the API's, and cannot end its <script> early.
    let data = html.split("id=\"dashboard-data\">").nth(1).unwrap().split("</script>").next().unwrap();
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(data["codes"]["totals"]["sent"], 1);
    let (status, html, _) = browser.get(&format!("/console/dashboard?app={}&range=7d", app.app.id)).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"range-7d\" class=\"active\""), "the range is kept in the URL: {html}");
    assert!(html.contains(&format!("<option value=\"{}\" selected>Testapp</option>", app.app.id)), "{html}");
    assert_eq!(browser.get("/console/dashboard?range=month").await.0, 400);

    // The charting library, the script and the style sheet: from this server, cached for a year.
    let version = html.split("console.css?v=").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert_eq!(version.len(), 12);
    for (file, kind) in [
        ("uPlot.iife.min.js", "text/javascript"),
        ("dashboard.js", "text/javascript"),
        ("console.css", "text/css"),
        ("uPlot.min.css", "text/css"),
    ] {
        let response = app.client.get(app.url(&format!("/console/static/{file}?v={version}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_string();
        assert!(header("content-type").starts_with(kind), "{file}");
        assert_eq!(header("cache-control"), "public, max-age=31536000, immutable");
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    let uplot =
        app.client.get(app.url("/console/static/uPlot.iife.min.js")).send().await.unwrap().text().await.unwrap();
    assert!(uplot.starts_with("/*! https://github.com/leeoniya/uPlot (v1.6.32) */"));
    assert_eq!(app.client.get(app.url("/console/static/secret.key")).send().await.unwrap().status(), 404);
    // Nothing from elsewhere may load into a console page.
    let response = app.client.get(app.url("/console/login")).send().await.unwrap();
    let csp = response.headers().get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn a_low_conversion_stands_out() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    app.update_settings(json!({"limits": {"ip_per_hour": 1000, "ip_per_day": 1000, "code_guesses_per_ip_hour": 1000}}));
    let fresh = (*app.core.app(&app.app.id).unwrap()).clone();
    let app = app.with_app(fresh);
    let (mut browser, _) = signed_in(&app).await;
    // 50 codes, 10 verified: 20 %, the mark of numbers that never read their messages.
    for i in 0..50 {
        let n = format!("138001386{i:02}");
        assert_eq!(app.request_code(json!({"mobilePhoneNumber": n})).await.0, 200, "{n}");
        if i % 5 == 0 {
            let code = app.wait_for_code(&format!("+86{n}"), 1).await;
            assert_eq!(app.verify_code(&code, &n).await.0, 200);
        }
    }
    let (_, d) = figures(&mut browser, "").await;
    assert_eq!(d["codes"]["totals"], json!({"sent": 50, "verified": 10, "conversion": 0.2}));
    assert_eq!(d["alert"]["kind"], "low");
    assert_eq!(d["alert"]["recent"], json!({"sent": 50, "verified": 10, "conversion": 0.2}));
    let (_, html, _) = browser.get("/console/dashboard").await;
    assert!(html.contains("id=\"conversion-alert\"") && html.contains("Conversion is low"), "{html}");
    assert!(html.contains("class=\"card card-danger\" id=\"card-conversion\""), "{html}");
}
