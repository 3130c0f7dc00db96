//! The LeanCloud upstream of lazy migration, over HTTP: the wire side of
//! [`crate::core::accounts::upstream::UpstreamClient`]. The rules (when to ask, what to do with the answer,
//! the per-app cap and circuit breaker) are the core's; this knows URLs, headers, signatures and
//! LeanCloud's error codes, and enforces the timeout.
//!
//! The core calls from blocking threads, so each call runs on this client's own small runtime
//! and the caller waits on a channel for at most the timeout: no runtime is entered from a
//! blocking thread, and a hung upstream never holds more than the timeout.

use std::future::Future;
use std::time::Duration;

use md5::{Digest, Md5};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::core::accounts::upstream::{LoginAnswer, Lookup, Record, Target, Unavailable, UpstreamClient};

pub struct LeanCloudClient {
    runtime: Option<tokio::runtime::Runtime>,
    client: reqwest::Client,
    timeout: Duration,
}

impl std::fmt::Debug for LeanCloudClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeanCloudClient").field("timeout", &self.timeout).finish()
    }
}

impl Drop for LeanCloudClient {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another runtime's tasks.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn md5_hex(input: &str) -> String {
    hex::encode(Md5::digest(input.as_bytes()))
}

/// `X-LC-Sign` as the SDKs make it: md5(timestamp + key), timestamp[, master].
fn sign(key: &str, master: bool) -> String {
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let suffix = if master { ",master" } else { "" };
    format!("{},{ts}{suffix}", md5_hex(&format!("{ts}{key}")))
}

/// The forms a number may be stored in upstream: LeanCloud keeps it as the client wrote it,
/// which for mainland China is usually without `+86`.
fn phone_forms(phone: &crate::core::phone::Phone) -> Vec<String> {
    let e164 = phone.e164().to_string();
    let mut forms = vec![e164.clone()];
    if phone.is_domestic()
        && let Some(national) = e164.strip_prefix("+86")
    {
        forms.push(national.to_string());
        forms.push(format!("86{national}"));
    }
    forms
}

/// LeanCloud's error code in a body, if any.
fn error_code(body: &Value) -> Option<i64> {
    body.get("code").and_then(Value::as_i64)
}

/// A user object of the answer, mapped as an export record is ([`crate::import::leancloud`]).
fn record(body: Value) -> Result<Record, Unavailable> {
    match body {
        Value::Object(map) => match map.get("objectId").and_then(Value::as_str) {
            Some(id) => Ok(Record { object_id: id.to_string(), user: crate::import::leancloud::exported_user(map) }),
            None => Err(Unavailable("answer is not a user object".into())),
        },
        _ => Err(Unavailable("answer is not a user object".into())),
    }
}

fn failed(e: reqwest::Error) -> Unavailable {
    // Without the URL: a query string may carry an identifier.
    let e = e.without_url();
    Unavailable(if e.is_timeout() { "timed out".to_string() } else { format!("{e}") })
}

impl LeanCloudClient {
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("phonebase-upstream")
            .enable_all()
            .build()?;
        let client = {
            let _entered = runtime.enter();
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("Phonebase/", env!("CARGO_PKG_VERSION"), " (lazy migration)"))
                .build()?
        };
        Ok(Self { runtime: Some(runtime), client, timeout })
    }

    /// Runs a request on the client's runtime and waits for it from this (blocking) thread.
    fn run<T: Send + 'static>(
        &self,
        request: impl Future<Output = Result<T, Unavailable>> + Send + 'static,
    ) -> Result<T, Unavailable> {
        let runtime = self.runtime.as_ref().ok_or_else(|| Unavailable("client stopped".into()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let timeout = self.timeout;
        runtime.spawn(async move {
            let result = match tokio::time::timeout(timeout, request).await {
                Ok(result) => result,
                Err(_) => Err(Unavailable("timed out".into())),
            };
            let _ = tx.send(result);
        });
        rx.recv_timeout(timeout + Duration::from_millis(500)).unwrap_or_else(|_| Err(Unavailable("timed out".into())))
    }

    fn request(&self, target: &Target, method: reqwest::Method, path: &str, master: bool) -> reqwest::RequestBuilder {
        let key = if master { &target.master_key } else { &target.app_key };
        self.client
            .request(method, format!("{}/1.1{path}", target.server_url))
            .header("X-LC-Id", &target.app_id)
            .header("X-LC-Sign", sign(key, master))
            .header("Accept", "application/json")
    }
}

/// Sends and reads a JSON answer: (status, body). A body that is not JSON is a failure.
async fn send(request: reqwest::RequestBuilder) -> Result<(StatusCode, Value), Unavailable> {
    let response = request.send().await.map_err(failed)?;
    let status = response.status();
    let body = response.json::<Value>().await.map_err(|_| Unavailable(format!("HTTP {status} without a JSON body")))?;
    Ok((status, body))
}

fn unexpected(status: StatusCode, body: &Value) -> Unavailable {
    Unavailable(match error_code(body) {
        Some(code) => format!("HTTP {status}, code {code}"),
        None => format!("HTTP {status}"),
    })
}

impl UpstreamClient for LeanCloudClient {
    fn log_in(&self, target: &Target, id: Lookup<'_>, password: &str) -> Result<LoginAnswer, Unavailable> {
        let body = match id {
            Lookup::Username(u) => json!({"username": u, "password": password}),
            Lookup::Email(e) => json!({"email": e, "password": password}),
            Lookup::Phone(p) => json!({"mobilePhoneNumber": p.e164(), "password": password}),
        };
        let request = self.request(target, reqwest::Method::POST, "/login", false).json(&body);
        self.run(async move {
            let (status, body) = send(request).await?;
            if status.is_success() {
                return record(body).map(|r| LoginAnswer::User(Box::new(r)));
            }
            match error_code(&body) {
                // Wrong password; locked (more than 6 failures in 15 minutes).
                Some(210 | 219) if status.is_client_error() => Ok(LoginAnswer::WrongPassword),
                // No user with that username / email / number.
                Some(211 | 205 | 213) if status.is_client_error() => Ok(LoginAnswer::NotFound),
                _ => Err(unexpected(status, &body)),
            }
        })
    }

    fn find_user(&self, target: &Target, lookup: Lookup<'_>) -> Result<Option<Record>, Unavailable> {
        let condition = match lookup {
            Lookup::Username(u) => json!({"username": u}),
            Lookup::Email(e) => json!({"email": e}),
            Lookup::Phone(p) => json!({"mobilePhoneNumber": {"$in": phone_forms(p)}}),
        };
        let request = self
            .request(target, reqwest::Method::GET, "/users", true)
            .query(&[("where", condition.to_string()), ("limit", "2".to_string())]);
        self.run(async move {
            let (status, body) = send(request).await?;
            if !status.is_success() {
                return Err(unexpected(status, &body));
            }
            let Some(Value::Array(results)) = body.get("results") else {
                return Err(Unavailable("query answer has no results".into()));
            };
            match results.as_slice() {
                [] => Ok(None),
                [one] => record(one.clone()).map(Some),
                _ => Err(Unavailable("query matched more than one user".into())),
            }
        })
    }

    fn current_user(&self, target: &Target, token: &str) -> Result<Option<Record>, Unavailable> {
        let request =
            self.request(target, reqwest::Method::GET, "/users/me", false).header("X-LC-Session", token.to_string());
        self.run(async move {
            let (status, body) = send(request).await?;
            if status.is_success() {
                return record(body).map(Some);
            }
            match error_code(&body) {
                // Not a session there (a 401 would be our keys: a failure).
                Some(211) if status.is_client_error() => Ok(None),
                _ => Err(unexpected(status, &body)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_contract_shape() {
        let s = sign("UtOCzqb67d3sN12Kts4URwy8", true);
        let parts: Vec<&str> = s.split(',').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], md5_hex(&format!("{}UtOCzqb67d3sN12Kts4URwy8", parts[1])));
        assert_eq!(parts[2], "master");
    }

    #[test]
    fn phone_forms_cover_the_national_number() {
        let p = crate::core::phone::Phone::parse("13800138000").unwrap();
        assert_eq!(phone_forms(&p), vec!["+8613800138000", "13800138000", "8613800138000"]);
        let us = crate::core::phone::Phone::parse("+12025550123");
        if let Ok(us) = us {
            assert_eq!(phone_forms(&us), vec![us.e164().to_string()]);
        }
    }
}
