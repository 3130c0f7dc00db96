//! Tencent Cloud SMS (API 3.0, `SendSms` 2021-01-11) and voice codes (VMS `SendTtsVoice`
//! 2020-09-02: `TemplateId` + `TemplateParamSet` + `CalledNumber` + `VoiceSdkAppid` +
//! `PlayTimes`), both signed with TC3-HMAC-SHA256 (service `sms`, `vms`), and the parser of its
//! delivery-report push (a JSON array).
//!
//! Tencent sends registered templates only: `TemplateId` + `TemplateParamSet` (values in order) +
//! `SignName`. The answer must be read per number (`SendStatusSet[].Code == "Ok"`), not by the
//! HTTP status alone.

use std::time::Duration;

use super::client::{hmac_sha256, http_client, sha256_hex, snippet, transport_error};
use super::{Outcome, Outgoing, SendError, SendFuture, Sender};
use crate::config::{ProviderConfig, Secret};
use crate::core::outbox::routing::Report;

/// Signed byte for byte: the Content-Type sent must be exactly this.
pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

pub struct Tencent {
    name: String,
    endpoint: String,
    host: String,
    voice_endpoint: String,
    voice_host: String,
    voice_sdk_app_id: String,
    play_times: u32,
    secret_id: String,
    secret_key: Secret,
    sdk_app_id: String,
    region: String,
    client: reqwest::Client,
}

/// TC3-HMAC-SHA256 over `POST /` with the headers `content-type;host`: returns (hex SHA-256 of the
/// canonical request, signature). The date in the scope is the UTC date of `timestamp`.
pub fn tc3_signature(
    secret_key: &str,
    service: &str,
    host: &str,
    content_type: &str,
    timestamp: i64,
    payload: &[u8],
) -> (String, String) {
    let canonical =
        format!("POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n{}", sha256_hex(payload));
    let hashed = sha256_hex(canonical.as_bytes());
    let date = chrono::DateTime::from_timestamp(timestamp, 0).unwrap_or_default().format("%Y-%m-%d").to_string();
    let string_to_sign = format!("TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{hashed}");
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    (hashed, hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes())))
}

/// The `Authorization` header for a TC3 request.
pub fn authorization(secret_id: &str, service: &str, timestamp: i64, signature: &str) -> String {
    let date = chrono::DateTime::from_timestamp(timestamp, 0).unwrap_or_default().format("%Y-%m-%d").to_string();
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders=content-type;host, Signature={signature}"
    )
}

/// Not now, or not through this account: retried on the next provider. Invalid numbers,
/// blacklists and refused templates or signatures are final.
fn is_transient(code: &str) -> bool {
    [
        "LimitExceeded",
        "RequestLimitExceeded",
        "InternalError",
        "AuthFailure",
        "UnauthorizedOperation",
        "ResourceUnavailable",
    ]
    .iter()
    .any(|p| code.starts_with(p))
        || matches!(
            code,
            "FailedOperation.InsufficientBalanceInSmsPackage"
                | "FailedOperation.ContainSensitiveWord.Timeout"
                | "FailedOperation.JsonParseFail"
        )
}

impl Tencent {
    pub fn new(config: &ProviderConfig) -> anyhow::Result<Self> {
        let host_of = |e: &str| e.split("://").nth(1).unwrap_or(e).split('/').next().unwrap_or_default().to_string();
        let (endpoint, voice_endpoint) = (config.endpoint(), config.voice_endpoint());
        Ok(Self {
            name: config.name.clone(),
            host: host_of(&endpoint),
            endpoint,
            voice_host: host_of(&voice_endpoint),
            voice_endpoint,
            voice_sdk_app_id: config.voice_sdk_app_id.clone().unwrap_or_default(),
            play_times: config.play_times.unwrap_or(2),
            secret_id: config.secret_id.clone().unwrap_or_default(),
            secret_key: config.secret_key.clone().unwrap_or_default(),
            sdk_app_id: config.sdk_app_id.clone().unwrap_or_default(),
            region: config.region.clone().unwrap_or_else(|| "ap-guangzhou".into()),
            client: http_client(Duration::from_secs(config.timeout_secs.unwrap_or(5)))?,
        })
    }

    fn failure(&self, code: &str, message: &str) -> SendError {
        let error = format!("{}: {code} {message}", self.name);
        let e = if is_transient(code) { SendError::transient(error) } else { SendError::permanent(error) };
        e.with_code(code)
    }

    /// One signed API 3.0 call: `body` posted to `endpoint` with TC3 over `service`; the
    /// `Response` object, or the classified failure (HTTP trouble, `Response.Error`).
    async fn call(
        &self,
        endpoint: &str,
        host: &str,
        service: &str,
        action: &str,
        version: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, SendError> {
        let payload = serde_json::to_vec(body).map_err(|e| SendError::permanent(e.to_string()))?;
        let timestamp = chrono::Utc::now().timestamp();
        let (_, signature) = tc3_signature(self.secret_key.expose(), service, host, CONTENT_TYPE, timestamp, &payload);
        let response = self
            .client
            .post(format!("{endpoint}/"))
            .header("Content-Type", CONTENT_TYPE)
            .header("X-TC-Action", action)
            .header("X-TC-Version", version)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &self.region)
            .header("Authorization", authorization(&self.secret_id, service, timestamp, &signature))
            .body(payload)
            .send()
            .await
            .map_err(|e| transport_error(&self.name, &e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| transport_error(&self.name, &e))?;
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(SendError::transient(format!("{}: HTTP {status}", self.name))
                .with_code(format!("http-{}", status.as_u16())));
        }
        let mut answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let response = answer.get_mut("Response").map(serde_json::Value::take).unwrap_or_default();
        if let Some(error) = response.get("Error") {
            return Err(self
                .failure(error["Code"].as_str().unwrap_or("Unknown"), error["Message"].as_str().unwrap_or_default()));
        }
        if !response.is_object() {
            return Err(SendError::transient(format!("{}: unexpected answer {}", self.name, snippet(&text)))
                .with_code(format!("http-{}", status.as_u16())));
        }
        Ok(response)
    }

    async fn send_sms(&self, message: &Outgoing) -> Result<Outcome, SendError> {
        let Some(template) = &message.template else {
            return Err(SendError::permanent(format!("{}: no registered template for this text", self.name)));
        };
        let mut body = serde_json::json!({
            "PhoneNumberSet": [message.to],
            "SmsSdkAppId": self.sdk_app_id,
            "TemplateId": template.code,
            "TemplateParamSet": template.params.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
            "SessionContext": message.id,
        });
        if let Some(sign) = template.sign_name.as_deref().filter(|s| !s.is_empty()) {
            body["SignName"] = sign.into();
        }
        let response = self.call(&self.endpoint, &self.host, "sms", "SendSms", "2021-01-11", &body).await?;
        let Some(status_of_number) = response["SendStatusSet"].as_array().and_then(|s| s.first()) else {
            return Err(
                SendError::transient(format!("{}: answer without SendStatusSet", self.name)).with_code("unexpected")
            );
        };
        match status_of_number["Code"].as_str().unwrap_or_default() {
            "Ok" => Ok(Outcome::Sent { provider_id: status_of_number["SerialNo"].as_str().map(str::to_string) }),
            code => Err(self.failure(code, status_of_number["Message"].as_str().unwrap_or_default())),
        }
    }

    /// A voice code: VMS `SendTtsVoice` with the registered voice template mapped for the text.
    async fn send_voice(&self, message: &Outgoing) -> Result<Outcome, SendError> {
        let Some(template) = &message.template else {
            return Err(SendError::permanent(format!("{}: no registered voice template for this text", self.name)));
        };
        let body = serde_json::json!({
            "TemplateId": template.code,
            "TemplateParamSet": template.params.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
            "CalledNumber": message.to,
            "VoiceSdkAppid": self.voice_sdk_app_id,
            "PlayTimes": self.play_times,
            "SessionContext": message.id,
        });
        let response =
            self.call(&self.voice_endpoint, &self.voice_host, "vms", "SendTtsVoice", "2020-09-02", &body).await?;
        match response["SendStatus"]["CallId"].as_str() {
            Some(call_id) => Ok(Outcome::Sent { provider_id: Some(call_id.to_string()) }),
            None => Err(SendError::transient(format!("{}: answer without SendStatus.CallId", self.name))
                .with_code("unexpected")),
        }
    }
}

impl Sender for Tencent {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        if message.channel == "voice" { Box::pin(self.send_voice(message)) } else { Box::pin(self.send_sms(message)) }
    }
}

/// Tencent's report push: a JSON array of `{sid, report_status: SUCCESS|FAIL, errmsg, ...}`.
pub fn parse_reports(body: &[u8]) -> Option<Vec<Report>> {
    super::client::report_array(body, |item| {
        let id = item["sid"].as_str()?;
        let delivered = match item["report_status"].as_str()? {
            "SUCCESS" => true,
            "FAIL" => false,
            _ => return None,
        };
        let code = item["errmsg"].as_str().map(str::to_string);
        Some(Report { provider_message_id: id.to_string(), delivered, error_code: code })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent's worked example of "签名方法 v3" (CVM; only host and service differ for SMS).
    #[test]
    fn tc3_signature_matches_the_published_vector() {
        let payload = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        assert!(sha256_hex(payload).starts_with("35e9c5b0") && sha256_hex(payload).ends_with("f064"));
        let (hashed, signature) = tc3_signature(
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "cvm",
            "cvm.tencentcloudapi.com",
            CONTENT_TYPE,
            1551113065,
            payload,
        );
        assert_eq!(hashed, "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
        assert_eq!(signature, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
        assert_eq!(
            authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "cvm", 1551113065, &signature),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn errors_are_classified() {
        assert!(is_transient("LimitExceeded.PhoneNumberThirtySecondLimit"));
        assert!(is_transient("RequestLimitExceeded"));
        assert!(!is_transient("InvalidParameterValue.IncorrectPhoneNumber"));
        assert!(!is_transient("FailedOperation.TemplateIncorrectOrUnapproved"));
        assert!(!is_transient("FailedOperation.PhoneNumberInBlacklist"));
    }

    #[test]
    fn reports_parse() {
        let body = br#"[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13xxxxxxxxx","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"s1"},
                       {"report_status":"FAIL","errmsg":"MI:0013","sid":"s2"},{"report_status":"SUCCESS"}]"#;
        let r = parse_reports(body).unwrap();
        assert_eq!(r.len(), 2);
        assert!(r[0].delivered && !r[1].delivered);
        assert_eq!(r[1].error_code.as_deref(), Some("MI:0013"));
    }
}
