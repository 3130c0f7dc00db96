//! Twilio's status callback: a form body (the input) checked against `X-Twilio-Signature`
//! (Base64(HMAC-SHA1(auth token, URL + sorted name+value pairs))), then read as a report. The body
//! is parsed as the receiver does (`form_urlencoded`); the token and URL are the example of
//! Twilio's security guide. What holds: no panic; the signature made by the rule verifies
//! (surrounding blanks ignored), a changed one does not, and the order of the parameters does not
//! matter; a report names a message id and an error code that are in the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phonebase::delivery::twilio::{check_signature, parse_status, webhook_signature};

const TOKEN: &str = "12345";
const URL: &str = "https://example.com/myapp.php?foo=1&bar=2";

fuzz_target!(|body: &[u8]| {
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let sign = webhook_signature(TOKEN, URL, &params);
    assert!(check_signature(TOKEN, URL, &params, &sign));
    assert!(check_signature(TOKEN, URL, &params, &format!(" {sign}\t")));
    let tampered = format!("{}{}", if sign.starts_with('A') { 'B' } else { 'A' }, &sign[1..]);
    assert!(!check_signature(TOKEN, URL, &params, &tampered));
    assert!(!check_signature("another token", URL, &params, &sign));
    let mut reversed = params.clone();
    reversed.reverse();
    assert_eq!(webhook_signature(TOKEN, URL, &reversed), sign);
    if let Some(report) = parse_status(&params) {
        let values: Vec<&str> = params.iter().map(|(_, v)| v.as_str()).collect();
        assert!(values.contains(&report.provider_message_id.as_str()));
        if let Some(code) = &report.error_code {
            assert!(!code.is_empty() && values.contains(&code.as_str()));
        }
    }
});
