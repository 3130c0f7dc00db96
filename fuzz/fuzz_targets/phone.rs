//! Phone numbers as every dialect reads them: `Phone::parse` on any text, and the JSON body fields
//! (`fields::phone`, `objects::phone_input`) that hand it strings and JSON numbers. What holds: no
//! panic; a parsed number is E.164 (`+`, at most 15 digits, its country code first) and parses to
//! itself from its E.164 and from China's international prefix (`00...`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phonebase::core::phone::Phone;
use phonebase::http::kit::{fields, objects};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(phone) = Phone::parse(text) {
            round_trips(&phone, text);
        }
    }
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) {
        if let Ok(phone) = fields::phone(&body, "mobilePhoneNumber") {
            round_trips(&phone, "the body's mobilePhoneNumber");
        }
        if let Ok(Some(input)) = objects::phone_input(&body) {
            assert_eq!(input.raw, input.raw.trim(), "the raw number is kept trimmed");
            round_trips(&input.phone, &input.raw);
        }
    }
});

fn round_trips(phone: &Phone, written: &str) {
    let e164 = phone.e164();
    let digits = e164.strip_prefix('+').unwrap_or_else(|| panic!("{written:?} -> {e164:?}: no +"));
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{written:?} -> {e164:?}: not digits");
    assert!((2..=15).contains(&digits.len()), "{written:?} -> {e164:?}: E.164 has at most 15 digits");
    assert!(digits.starts_with(&phone.country_code().to_string()), "{written:?} -> {e164:?}: country code");
    assert_eq!(phone.to_string(), e164);
    let again = Phone::parse(e164).unwrap_or_else(|e| panic!("{written:?} -> {e164:?} does not parse again: {e}"));
    assert_eq!(&again, phone, "{written:?}: its E.164 is another number");
    let dialled = format!("00{digits}");
    let again = Phone::parse(&dialled).unwrap_or_else(|e| panic!("{written:?} -> {dialled:?} does not parse: {e}"));
    assert_eq!(&again, phone, "{written:?}: {dialled:?} is another number");
}
