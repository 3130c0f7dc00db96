//! The OpenAPI document (issue 19): served at `/openapi.json`, OpenAPI 3.1, and in step with the
//! router both ways: every route of `edge::ROUTES` (which a guard test keeps equal to the router)
//! is documented, and every documented operation is a route. Swagger UI at `/docs` loads its
//! files from Phonebase itself.

use serde_json::Value;

use crate::edge::ROUTES;
use crate::helpers::{Options, TestApp, TestDb};

/// The console's HTML pages: forms for a browser, not an API (their JSON twin, `/console/api`,
/// is documented).
fn is_console_page(path: &str) -> bool {
    path.starts_with("/console") && !path.starts_with("/console/api")
}

/// The values a documented path parameter may take, when its schema lists them (`enum`, inline or
/// behind a `$ref`).
fn enum_values(doc: &Value, op: &Value, name: &str) -> Vec<String> {
    let Some(param) =
        op["parameters"].as_array().into_iter().flatten().find(|p| p["in"] == "path" && p["name"] == name)
    else {
        return Vec::new();
    };
    let mut schema = &param["schema"];
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        schema = &doc["components"]["schemas"][name];
    }
    schema["enum"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

/// Whether the router's `route` (ids as `{..}`) is the documented `template` of operation `op`:
/// segment by segment, a parameter matches a parameter, and a documented parameter matches a
/// literal only when its schema lists that literal (`/1.1/sms/{kind}` for `/1.1/sms/templates`).
fn same_route(doc: &Value, op: &Value, template: &str, route: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), route.split('/').collect());
    a.len() == b.len()
        && a.iter().zip(&b).all(|(t, r)| {
            let param = |s: &str| s.starts_with('{') && s.ends_with('}');
            match (param(t), param(r)) {
                (true, true) => true,
                (false, false) => t == r,
                (true, false) => enum_values(doc, op, &t[1..t.len() - 1]).iter().any(|v| v == r),
                (false, true) => false,
            }
        })
}

/// Every (method, path template, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_covers_every_route_both_ways() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let response = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let doc: Value = response.json().await.expect("the document parses as JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Phonebase");
    let ops = operations(&doc);
    assert!(ops.len() > 100, "{} operations", ops.len());

    let mut missing = Vec::new();
    for &(method, route) in ROUTES.iter().filter(|(_, p)| !is_console_page(p)) {
        if !ops.iter().any(|(m, t, op)| m == method && same_route(&doc, op, t, route)) {
            missing.push(format!("{method} {route}"));
        }
    }
    assert!(missing.is_empty(), "routes without documentation: {missing:#?}");

    let mut phantom = Vec::new();
    for (method, template, op) in &ops {
        if !ROUTES.iter().any(|&(m, r)| m == method && same_route(&doc, op, template, r)) {
            phantom.push(format!("{method} {template}"));
        }
    }
    assert!(phantom.is_empty(), "documented operations the router does not serve: {phantom:#?}");

    // Each operation: a unique id, its security schemes declared, its errors described in JSON.
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    for name in ["X-LC-Id", "X-LC-Key", "X-LC-Session", "X-Bmob-Application-Id", "JPushBasic", "HydrogenToken"] {
        assert!(schemes.contains_key(name), "{name}");
    }
    let mut ids = std::collections::HashSet::new();
    for (method, template, op) in &ops {
        let what = format!("{method} {template}");
        assert!(ids.insert(op["operationId"].as_str().unwrap_or_else(|| panic!("{what}: no operationId"))), "{what}");
        for requirement in op["security"].as_array().unwrap_or_else(|| panic!("{what}: no security")) {
            for name in requirement.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{what}: unknown security scheme {name}");
            }
        }
        let dialect = ["/1.1/", "/1/", "/v1/", "/hserve/", "/oserve/", "/api/oauth2/", "/console/api/", "/delivery/"];
        if dialect.iter().any(|p| template.starts_with(p)) {
            let errors = &op["responses"]["4XX"]["content"]["application/json"]["schema"];
            assert!(errors.is_object(), "{what}: no JSON error body documented");
        }
    }
    // Error codes per dialect, from the same mapping the handlers answer with.
    let tag = |name: &str| {
        doc["tags"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["description"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(tag("LeanCloud").contains("| 400 | 127 |"), "{}", tag("LeanCloud"));
    assert!(tag("JPush SMS").contains("| HTTP status | code |"), "{}", tag("JPush SMS"));
    assert!(tag("Bmob").contains("| HTTP status | code |"), "{}", tag("Bmob"));
}

#[tokio::test]
async fn the_document_names_the_route_prefix_as_its_server() {
    let db = TestDb::new();
    let app = TestApp::spawn_with(&db, Options { base_path: "/pb", ..Default::default() }).await;
    let doc: Value = app.client.get(app.url("/pb/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["servers"][0]["url"], "/pb");
    assert!(doc["paths"]["/1.1/requestSmsCode"]["post"].is_object());
    let page = app.client.get(app.url("/pb/docs")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.url().path(), "/pb/docs/");
}

#[tokio::test]
async fn swagger_ui_loads_every_file_from_phonebase_itself() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = redirect.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(response.headers()["location"], "docs/");

    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let base = page.url().clone();
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let assets: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|marker| html.split(marker).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(assets.len() >= 3, "{assets:?}");
    for asset in assets {
        let url = base.join(asset).unwrap();
        assert_eq!(url.origin(), base.origin(), "{asset} is not served by Phonebase");
        let response = app.client.get(url.clone()).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{url}");
    }
    // The page's script points Swagger UI at our document, and at nothing outside.
    let init = app.client.get(base.join("swagger-initializer.js").unwrap()).send().await.unwrap();
    assert_eq!(init.status().as_u16(), 200);
    let script = init.text().await.unwrap();
    assert!(script.contains("../openapi.json"), "{script}");
    assert!(!script.contains("https://") && !script.contains("http://"), "{script}");
}
