//! The LeanCloud client: requests signed like the SDKs sign them (`X-LC-Id`, `X-LC-Sign`) and
//! the two calls most tests need.

use serde_json::Value;

use super::{TestApp, send};

impl TestApp {
    /// A request signed like the SDKs sign (`X-LC-Sign` with the app key).
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.signed(reqwest::Method::POST, path, false)
    }

    /// A request signed with the app key, or with the master key (`,master`).
    pub fn signed(&self, method: reqwest::Method, path: &str, master: bool) -> reqwest::RequestBuilder {
        let ts = chrono::Utc::now().timestamp_millis().to_string();
        let (key, suffix) = if master { (&self.app.master_key, ",master") } else { (&self.app.app_key, "") };
        let sign = format!("{},{ts}{suffix}", md5_hex(&format!("{ts}{key}")));
        self.client.request(method, self.url(path)).header("X-LC-Id", &self.app.id).header("X-LC-Sign", sign)
    }

    pub async fn request_code(&self, body: Value) -> (u16, Value) {
        send(self.post("/1.1/requestSmsCode").json(&body)).await
    }

    pub async fn verify_code(&self, code: &str, phone: &str) -> (u16, Value) {
        send(self.post(&format!("/1.1/verifySmsCode/{code}")).json(&serde_json::json!({"mobilePhoneNumber": phone})))
            .await
    }
}

pub fn md5_hex(input: &str) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(input.as_bytes()))
}
