//! The MinCloud client: requests with minapp-sdk's headers (`X-Hydrogen-Client-ID`, and
//! `Authorization: Hydrogen-r1 <token>` once logged in), as the web build sends them.

use reqwest::Method;
use serde_json::Value;

use super::{TestApp, send};

impl TestApp {
    /// A client-API request of the app's MinCloud client, with the user's token if given.
    pub fn hserve(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("X-Hydrogen-Client-ID", &self.app.credentials.mincloud.client_id)
            .header("X-Hydrogen-Client-Version", "v3.23.6")
            .header("X-Hydrogen-Client-Platform", "WEB")
            .header("X-Hydrogen-Client-SDK-Type", "file");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Hydrogen-r1 {token}"));
        }
        request
    }

    /// A client-API POST with a JSON body.
    pub async fn hserve_post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        send(self.hserve(Method::POST, path, token).json(&body)).await
    }
}
