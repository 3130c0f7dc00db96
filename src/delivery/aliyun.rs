//! Aliyun SMS (Dysmsapi 2017-05-25, `SendSms`) and voice codes (Dyvmsapi 2017-05-25,
//! `SingleCallByTts`: `TtsCode` + `TtsParam` + `CalledNumber`, `CalledShowNumber` optional), both
//! RPC style with the HMAC-SHA1 signature (`SignatureVersion=1.0`), and the parser of its
//! delivery-report push (a JSON array).
//!
//! Aliyun sends registered templates only: `TemplateCode` + `TemplateParam` (a JSON object as a
//! string) + `SignName`. `SendSms` is not idempotent: a timeout is retried (on the next provider),
//! so a user may rarely get two codes; both are the same code.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;

use super::client::{hmac_sha1, http_client, percent_encode, snippet, transport_error};
use super::{Outcome, Outgoing, SendError, SendFuture, Sender, TemplateCall};
use crate::config::{ProviderConfig, Secret};
use crate::core::outbox::routing::Report;

pub struct Aliyun {
    name: String,
    endpoint: String,
    voice_endpoint: String,
    called_show_number: Option<String>,
    play_times: Option<u32>,
    access_key_id: String,
    access_key_secret: Secret,
    region: String,
    client: reqwest::Client,
}

/// The RPC signature: parameters sorted by name, percent-encoded (RFC 3986) as `k=v` joined by
/// `&`; StringToSign = `METHOD&%2F&` + the encoded canonical query; Base64(HMAC-SHA1(secret + "&")).
pub fn sign_rpc(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let canonical = params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let string_to_sign = format!("{method}&{}&{}", percent_encode("/"), percent_encode(&canonical));
    base64::engine::general_purpose::STANDARD
        .encode(hmac_sha1(format!("{secret}&").as_bytes(), string_to_sign.as_bytes()))
}

/// Aliyun wants mainland numbers without `+86` and others as country code + number.
fn phone_number(e164: &str) -> String {
    e164.strip_prefix("+86").unwrap_or(e164.trim_start_matches('+')).to_string()
}

/// Codes that say "not now, or not through this account", not "never": retried on the next
/// provider. Everything else Aliyun answers (an invalid number, a template or signature it
/// refuses, a blacklisted number) is final for the message.
fn is_transient(code: &str) -> bool {
    code.starts_with("Throttling")
        || code.starts_with("InternalError")
        || code.starts_with("ServiceUnavailable")
        || code.starts_with("isp.")
        || code.starts_with("SignatureDoesNotMatch")
        || code.starts_with("InvalidAccessKeyId")
        || code.starts_with("Forbidden")
        || matches!(
            code,
            "isv.BUSINESS_LIMIT_CONTROL"
                | "isv.DAY_LIMIT_CONTROL"
                | "isv.OUT_OF_SERVICE"
                | "isv.AMOUNT_NOT_ENOUGH"
                | "isv.ACCOUNT_ABNORMAL"
                | "isv.ACCOUNT_NOT_EXISTS"
                | "SignatureNonceUsed"
                | "InvalidTimeStamp.Expired"
        )
}

impl Aliyun {
    pub fn new(config: &ProviderConfig) -> anyhow::Result<Self> {
        Ok(Self {
            name: config.name.clone(),
            endpoint: config.endpoint(),
            voice_endpoint: config.voice_endpoint(),
            called_show_number: config.called_show_number.clone().filter(|n| !n.trim().is_empty()),
            play_times: config.play_times,
            access_key_id: config.access_key_id.clone().unwrap_or_default(),
            access_key_secret: config.access_key_secret.clone().unwrap_or_default(),
            region: config.region.clone().unwrap_or_else(|| "cn-hangzhou".into()),
            client: http_client(Duration::from_secs(config.timeout_secs.unwrap_or(5)))?,
        })
    }

    /// One signed RPC call: the common parameters plus `params`, posted as a form. The answer's
    /// `id_field` (`BizId`, `CallId`) on `Code == "OK"`, else the classified failure.
    async fn rpc(
        &self,
        endpoint: &str,
        action: &str,
        params: Vec<(&str, String)>,
        id_field: &str,
    ) -> Result<Outcome, SendError> {
        let mut params: BTreeMap<String, String> = [
            ("AccessKeyId", self.access_key_id.clone()),
            ("Action", action.to_string()),
            ("Format", "JSON".into()),
            ("RegionId", self.region.clone()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", uuid::Uuid::new_v4().to_string()),
            ("SignatureVersion", "1.0".into()),
            ("Timestamp", chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ("Version", "2017-05-25".into()),
        ]
        .into_iter()
        .chain(params)
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let signature = sign_rpc("POST", &params, self.access_key_secret.expose());
        params.insert("Signature".into(), signature);
        let response = self
            .client
            .post(format!("{endpoint}/"))
            .form(&params)
            .send()
            .await
            .map_err(|e| transport_error(&self.name, &e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| transport_error(&self.name, &e))?;
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let code = answer["Code"].as_str().unwrap_or_default();
        if status.is_success() && code == "OK" {
            return Ok(Outcome::Sent { provider_id: answer[id_field].as_str().map(str::to_string) });
        }
        let message_text = answer["Message"].as_str().map(str::to_string).unwrap_or_else(|| snippet(&body));
        let error = format!("{}: {} {}", self.name, if code.is_empty() { status.as_str() } else { code }, message_text);
        let code = if code.is_empty() { format!("http-{}", status.as_u16()) } else { code.to_string() };
        let transient = status.is_server_error() || status.as_u16() == 429 || is_transient(&code);
        let e = if transient { SendError::transient(error) } else { SendError::permanent(error) };
        Err(e.with_code(code))
    }

    /// `TemplateParam` / `TtsParam`: the parameters as a JSON object, as a string.
    fn param_json(template: &TemplateCall) -> String {
        let object: serde_json::Map<String, serde_json::Value> =
            template.params.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        serde_json::Value::Object(object).to_string()
    }

    async fn send_sms(&self, message: &Outgoing) -> Result<Outcome, SendError> {
        let Some(template) = &message.template else {
            return Err(SendError::permanent(format!("{}: no registered template for this text", self.name)));
        };
        let Some(sign_name) = template.sign_name.as_deref().filter(|s| !s.is_empty()) else {
            return Err(SendError::permanent(format!("{}: no SignName (set sign_name)", self.name)));
        };
        let params = vec![
            ("PhoneNumbers", phone_number(&message.to)),
            ("SignName", sign_name.to_string()),
            ("TemplateCode", template.code.clone()),
            ("TemplateParam", Self::param_json(template)),
            ("OutId", message.id.clone()),
        ];
        self.rpc(&self.endpoint, "SendSms", params, "BizId").await
    }

    /// A voice code: `SingleCallByTts` with the registered TTS template mapped for the voice text.
    async fn send_voice(&self, message: &Outgoing) -> Result<Outcome, SendError> {
        let Some(template) = &message.template else {
            return Err(SendError::permanent(format!("{}: no registered TTS template for this text", self.name)));
        };
        let mut params = vec![
            ("CalledNumber", phone_number(&message.to)),
            ("TtsCode", template.code.clone()),
            ("TtsParam", Self::param_json(template)),
            ("OutId", message.id.clone()),
        ];
        if let Some(show) = &self.called_show_number {
            params.push(("CalledShowNumber", show.clone()));
        }
        if let Some(n) = self.play_times {
            params.push(("PlayTimes", n.to_string()));
        }
        self.rpc(&self.voice_endpoint, "SingleCallByTts", params, "CallId").await
    }
}

impl Sender for Aliyun {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        if message.channel == "voice" { Box::pin(self.send_voice(message)) } else { Box::pin(self.send_sms(message)) }
    }
}

/// Aliyun's report push: a JSON array of `{biz_id, success, err_code, ...}`. Reports without a
/// `biz_id` are skipped.
pub fn parse_reports(body: &[u8]) -> Option<Vec<Report>> {
    super::client::report_array(body, |item| {
        let id = item["biz_id"].as_str().or_else(|| item["MessageId"].as_str())?;
        // Domestic: `success` (bool); international: `Status` 1 = delivered.
        let delivered = item["success"].as_bool().or_else(|| item["Status"].as_i64().map(|s| s == 1))?;
        let code = item["err_code"].as_str().or_else(|| item["ErrorCode"].as_str()).map(str::to_string);
        Some(Report { provider_message_id: id.to_string(), delivered, error_code: code })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published vector of Aliyun's SMS signing document.
    #[test]
    fn rpc_signature_matches_the_published_vector() {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", "{\"customer\":\"test\"}"),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = sign_rpc("GET", &params, "testSecret");
        assert_eq!(signature, "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
        assert_eq!(percent_encode(&signature), "zJDF%2BLrzhj%2FThnlvIToysFRq6t4%3D");
    }

    #[test]
    fn percent_encoding_is_rfc3986() {
        assert_eq!(percent_encode("a b*c~d/"), "a%20b%2Ac~d%2F");
    }

    #[test]
    fn numbers_and_errors() {
        assert_eq!(phone_number("+8613800138000"), "13800138000");
        assert_eq!(phone_number("+85291234567"), "85291234567");
        assert!(is_transient("Throttling.User"));
        assert!(is_transient("isv.BUSINESS_LIMIT_CONTROL"));
        assert!(!is_transient("isv.MOBILE_NUMBER_ILLEGAL"));
        assert!(!is_transient("isv.SMS_TEMPLATE_ILLEGAL"));
    }

    #[test]
    fn reports_parse() {
        let body = br#"[{"phone_number":"13800138000","success":true,"biz_id":"932702304080415357^0","err_code":"DELIVERED","out_id":"m1"},
                       {"phone_number":"13800138001","success":false,"biz_id":"b2","err_code":"MK:0001"},{"nothing":1}]"#;
        let reports = parse_reports(body).unwrap();
        assert_eq!(reports.len(), 2);
        assert!(reports[0].delivered);
        assert_eq!(reports[1].error_code.as_deref(), Some("MK:0001"));
        assert!(parse_reports(b"{}").is_none());
    }
}
