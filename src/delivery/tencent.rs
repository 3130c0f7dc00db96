//! Tencent Cloud SMS (API 3.0, `SendSms` 2021-01-11) signed with TC3-HMAC-SHA256, and the parser
//! of its delivery-report push (a JSON array).
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
        let endpoint = config.endpoint();
        let host = endpoint.split("://").nth(1).unwrap_or(&endpoint).split('/').next().unwrap_or_default().to_string();
        Ok(Self {
            name: config.name.clone(),
            endpoint,
            host,
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
        let payload = serde_json::to_vec(&body).map_err(|e| SendError::permanent(e.to_string()))?;
        let timestamp = chrono::Utc::now().timestamp();
        let (_, signature) =
            tc3_signature(self.secret_key.expose(), "sms", &self.host, CONTENT_TYPE, timestamp, &payload);
        let response = self
            .client
            .post(format!("{}/", self.endpoint))
            .header("Content-Type", CONTENT_TYPE)
            .header("X-TC-Action", "SendSms")
            .header("X-TC-Version", "2021-01-11")
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Region", &self.region)
            .header("Authorization", authorization(&self.secret_id, "sms", timestamp, &signature))
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
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let response = &answer["Response"];
        if let Some(error) = response.get("Error") {
            return Err(self
                .failure(error["Code"].as_str().unwrap_or("Unknown"), error["Message"].as_str().unwrap_or_default()));
        }
        let Some(status_of_number) = response["SendStatusSet"].as_array().and_then(|s| s.first()) else {
            return Err(SendError::transient(format!("{}: unexpected answer {}", self.name, snippet(&text)))
                .with_code(format!("http-{}", status.as_u16())));
        };
        match status_of_number["Code"].as_str().unwrap_or_default() {
            "Ok" => Ok(Outcome::Sent { provider_id: status_of_number["SerialNo"].as_str().map(str::to_string) }),
            code => Err(self.failure(code, status_of_number["Message"].as_str().unwrap_or_default())),
        }
    }
}

impl Sender for Tencent {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(self.send_sms(message))
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
