//! Twilio Programmable Messaging: a form POST of the rendered text with HTTP Basic auth, a status
//! callback, and the check of `X-Twilio-Signature` on that callback. Voice codes (a provider with
//! `channels = ["sms", "voice"]`) are calls that read the text (`Calls.json` with TwiML `<Say>`).

use std::time::Duration;

use base64::Engine;

use super::client::{hmac_sha1, http_client, snippet, transport_error};
use super::{Outcome, Outgoing, SendError, SendFuture, Sender};
use crate::config::{ProviderConfig, Secret};
use crate::core::outbox::routing::Report;
use crate::core::secrets::ct_eq;

pub struct Twilio {
    name: String,
    endpoint: String,
    account_sid: String,
    auth_token: Secret,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    status_callback: Option<String>,
    client: reqwest::Client,
}

/// Twilio's webhook signature: Base64(HMAC-SHA1(auth token, URL + every POST parameter's name
/// and value, sorted by name)).
pub fn webhook_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    base64::engine::general_purpose::STANDARD.encode(hmac_sha1(auth_token.as_bytes(), data.as_bytes()))
}

/// Whether `presented` is the signature of this callback.
pub fn check_signature(auth_token: &str, url: &str, params: &[(String, String)], presented: &str) -> bool {
    ct_eq(&webhook_signature(auth_token, url, params), presented.trim())
}

/// The status callback's final states as a report; intermediate ones (`queued`, `sent`, ...) are
/// none.
pub fn parse_status(params: &[(String, String)]) -> Option<Report> {
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let sid = get("MessageSid").or_else(|| get("SmsSid")).or_else(|| get("CallSid"))?;
    let delivered = match get("MessageStatus").or_else(|| get("SmsStatus")).or_else(|| get("CallStatus"))? {
        "delivered" | "read" | "completed" => true,
        "undelivered" | "failed" | "canceled" | "busy" | "no-answer" => false,
        _ => return None,
    };
    let code = get("ErrorCode").filter(|c| !c.is_empty()).map(str::to_string);
    Some(Report { provider_message_id: sid.to_string(), delivered, error_code: code })
}

impl Twilio {
    pub fn new(config: &ProviderConfig, status_callback: Option<String>) -> anyhow::Result<Self> {
        Ok(Self {
            name: config.name.clone(),
            endpoint: config.endpoint(),
            account_sid: config.account_sid.clone().unwrap_or_default(),
            auth_token: config.auth_token.clone().unwrap_or_default(),
            from: config.from.clone().filter(|f| !f.is_empty()),
            messaging_service_sid: config.messaging_service_sid.clone().filter(|f| !f.is_empty()),
            status_callback,
            client: http_client(Duration::from_secs(config.timeout_secs.unwrap_or(10)))?,
        })
    }

    async fn send_sms(&self, message: &Outgoing) -> Result<Outcome, SendError> {
        let voice = message.channel == "voice";
        let twiml;
        let mut form = vec![("To", message.to.as_str())];
        if voice {
            let language = if message.text.chars().any(|c| c > '\u{2e80}') { "zh-CN" } else { "en-US" };
            twiml = format!("<Response><Say language=\"{language}\">{}</Say></Response>", xml_escape(&message.text));
            form.push(("Twiml", &twiml));
        } else {
            form.push(("Body", &message.text));
        }
        match (&self.messaging_service_sid, &self.from) {
            (Some(service), _) if !voice => form.push(("MessagingServiceSid", service)),
            (_, Some(from)) => form.push(("From", from)),
            _ => return Err(SendError::permanent(format!("{}: no From number", self.name))),
        }
        if let Some(callback) = &self.status_callback {
            form.push(("StatusCallback", callback));
        }
        let resource = if voice { "Calls" } else { "Messages" };
        let response = self
            .client
            .post(format!("{}/2010-04-01/Accounts/{}/{resource}.json", self.endpoint, self.account_sid))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(&self.name, &e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| transport_error(&self.name, &e))?;
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if status.is_success() {
            return match answer["sid"].as_str() {
                Some(sid) => Ok(Outcome::Sent { provider_id: Some(sid.to_string()) }),
                None => Err(SendError::transient(format!("{}: answer without sid: {}", self.name, snippet(&body)))),
            };
        }
        let code = answer["code"].as_i64().map_or_else(|| format!("http-{}", status.as_u16()), |c| c.to_string());
        let error = format!("{}: {code} {}", self.name, answer["message"].as_str().unwrap_or(status.as_str()));
        // Throttled (429), Twilio's own trouble (5xx) or our account (401/403): another provider
        // may do it. Any other refusal (invalid or unreachable number, 21211, 21614, 21610) is
        // about the message.
        let transient = status.is_server_error() || matches!(status.as_u16(), 401 | 403 | 429);
        let e = if transient { SendError::transient(error) } else { SendError::permanent(error) };
        Err(e.with_code(code))
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

impl Sender for Twilio {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(self.send_sms(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Twilio's "Webhooks security" example.
    #[test]
    fn webhook_signature_matches_the_published_vector() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(webhook_signature("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(check_signature("12345", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        assert!(!check_signature("12346", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    }

    #[test]
    fn statuses() {
        let r =
            parse_status(&pairs(&[("MessageSid", "SM1"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]))
                .unwrap();
        assert!(!r.delivered);
        assert_eq!(r.error_code.as_deref(), Some("30003"));
        assert!(parse_status(&pairs(&[("MessageSid", "SM1"), ("MessageStatus", "delivered")])).unwrap().delivered);
        assert!(parse_status(&pairs(&[("MessageSid", "SM1"), ("MessageStatus", "sent")])).is_none());
    }
}
