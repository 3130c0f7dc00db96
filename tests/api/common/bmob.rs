//! The Bmob client: plain headers as bmobpy sends them, and hydrogen-js-sdk's signed headers
//! (`X-Bmob-Safe-Sign` over route, timestamp, security code, nonce, body and SDK version).

use phonebase::core::clock::Clock;
use reqwest::Method;
use serde_json::Value;

use super::{TestApp, md5_hex, send};

/// One signed request's headers, before the signature: the test may change any of them.
pub struct Signing<'a> {
    /// Names the app; not signed.
    pub secret_key: String,
    pub route: &'a str,
    pub timestamp: String,
    pub security_code: String,
    pub nonce: String,
    pub body: String,
    pub version: &'a str,
}

impl Signing<'_> {
    pub fn sign(&self) -> String {
        md5_hex(&format!(
            "{}{}{}{}{}{}",
            self.route, self.timestamp, self.security_code, self.nonce, self.body, self.version
        ))
    }
}

/// 16 characters from the SDK's alphabet.
pub fn nonce() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxy";
    let mut rng = rand::rng();
    (0..16).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

impl TestApp {
    /// bmobpy's headers: application id and REST API key.
    pub fn bmob(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let keys = &self.app.credentials.bmob;
        self.client
            .request(method, self.url(path))
            .header("X-Bmob-Application-Id", &keys.application_id)
            .header("X-Bmob-REST-API-Key", &keys.rest_api_key)
    }

    /// Application id and master key.
    pub fn bmob_master(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let keys = &self.app.credentials.bmob;
        self.client
            .request(method, self.url(path))
            .header("X-Bmob-Application-Id", &keys.application_id)
            .header("X-Bmob-Master-Key", &keys.master_key)
    }

    /// What hydrogen-js-sdk would sign for `path` (`/1/...`) with `body` (`None` for GET and
    /// DELETE), at the server's clock, with this app's security code.
    pub fn bmob_signing<'a>(&self, path: &'a str, body: Option<&Value>) -> Signing<'a> {
        Signing {
            secret_key: self.app.credentials.bmob.secret_key.clone(),
            route: path.split('?').next().unwrap_or(path),
            timestamp: self.clock.now().timestamp().to_string(),
            security_code: self.app.credentials.bmob.security_code.clone(),
            nonce: nonce(),
            body: body.map(Value::to_string).unwrap_or_default(),
            version: "10",
        }
    }

    /// A request with `signing`'s headers and body, signed as it says.
    pub fn bmob_signed_with(&self, method: Method, path: &str, signing: &Signing<'_>) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .header("X-Bmob-SDK-Type", "nodejs")
            .header("X-Bmob-Secret-Key", &signing.secret_key)
            .header("X-Bmob-Safe-Timestamp", &signing.timestamp)
            .header("X-Bmob-Noncestr-Key", &signing.nonce)
            .header("X-Bmob-SDK-Version", signing.version)
            .header("X-Bmob-Safe-Sign", signing.sign());
        if !signing.body.is_empty() {
            request = request.body(signing.body.clone());
        }
        request
    }

    /// A request signed as hydrogen-js-sdk signs it.
    pub fn bmob_signed(&self, method: Method, path: &str, body: Option<&Value>) -> reqwest::RequestBuilder {
        let signing = self.bmob_signing(path, body);
        self.bmob_signed_with(method, path, &signing)
    }

    /// `POST /1/requestSmsCode` with plain headers.
    pub async fn bmob_request_code(&self, phone: &str) -> (u16, Value) {
        send(self.bmob(Method::POST, "/1/requestSmsCode").json(&serde_json::json!({"mobilePhoneNumber": phone}))).await
    }
}
