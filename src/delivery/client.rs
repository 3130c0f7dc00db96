//! What the HTTP providers share: a client with a timeout, RFC 3986 encoding, HMAC helpers, and
//! the rule that a failure of the transport or of the provider itself is retryable.

use std::time::Duration;

use hmac::{Hmac, Mac};

use super::SendError;

pub(crate) fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(timeout).connect_timeout(timeout.min(Duration::from_secs(5))).build()?)
}

/// A request that did not get an answer: a timeout, a refused or dropped connection. Retryable
/// (on the next provider), never the message's fault.
pub(crate) fn transport_error(provider: &str, e: &reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    SendError::transient(format!("{provider}: {what}")).with_code(if e.is_timeout() { "timeout" } else { "network" })
}

/// A report push that is a JSON array of per-message objects (Aliyun's and Tencent's shape):
/// `item` reads one object, and objects it cannot read are skipped. `None`: not a JSON array.
pub(crate) fn report_array(
    body: &[u8],
    item: impl Fn(&serde_json::Value) -> Option<crate::core::outbox::routing::Report>,
) -> Option<Vec<crate::core::outbox::routing::Report>> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(body).ok()?;
    Some(items.iter().filter_map(item).collect())
}

/// RFC 3986 percent-encoding: everything but `A-Z a-z 0-9 - _ . ~` (space is `%20`, `*` is `%2A`).
pub fn percent_encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len() * 3);
    for b in input.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// A provider's answer body, cut short for an error message (never carries our own secrets).
pub(crate) fn snippet(body: &str) -> String {
    body.chars().take(200).collect()
}
