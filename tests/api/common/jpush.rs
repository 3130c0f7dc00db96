//! The JPush client of the api tests: Basic `appKey:masterSecret` from the app's JPush keys,
//! JSON sent without a Content-Type as the Python client does, multipart by hand.

use phonebase::core::review::Decision;
use reqwest::Method;
use serde_json::{Value, json};

use super::TestApp;

/// A JPush client for one app: Basic `appKey:masterSecret`, JSON sent without a Content-Type as
/// the Python client does.
pub struct Jp<'a> {
    app: &'a TestApp,
}

impl<'a> Jp<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let keys = &self.app.app.credentials.jpush;
        self.app.client.request(method, self.app.url(path)).basic_auth(&keys.app_key, Some(&keys.master_secret))
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        read(request).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    /// A template made through `/v1/templates` and approved by a reviewer; its temp_id.
    pub async fn approved_template(&self, text: &str, kind: i64) -> i64 {
        let mut body = json!({"template": text, "type": kind});
        if kind == 1 {
            body["ttl"] = json!(300);
        }
        let (status, made) = self.post("/v1/templates", body).await;
        assert_eq!(status, 200, "{made}");
        let temp_id = made["temp_id"].as_i64().expect("a numeric temp_id");
        self.decide(temp_id, true, Decision::Approve);
        temp_id
    }

    /// A reviewer's decision on the pending revision of a template (or signature) handle.
    pub fn decide(&self, handle: i64, template: bool, decision: Decision) {
        let core = &self.app.core;
        let item = if template {
            core.template_by_handle(&self.app.app, handle)
        } else {
            core.signature_by_handle(&self.app.app, handle)
        }
        .unwrap();
        core.review(&item.open.expect("a pending revision").id, decision, "reviewer").unwrap();
    }
}

pub async fn read(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("a JSON body") };
    (status, body)
}

pub fn error_code(body: &Value) -> i64 {
    body["error"]["code"].as_i64().unwrap_or_else(|| panic!("no error code in {body}"))
}

/// A multipart body by hand (the test client has no multipart feature): text fields and one file.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----phonebase-jpush-test";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"license.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (boundary.to_string(), body)
}

pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU";
