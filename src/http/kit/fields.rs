//! Reading fields from JSON bodies, with the leniency the SDKs need: numbers may come as strings
//! (`"ttl":"5"`), strings as numbers (a phone number typed as a JSON number), and verification
//! codes as JSON numbers (MinCloud sends `"code": 123456`; `12345` is the code `012345`).
//!
//! Bodies are parsed as JSON whatever their Content-Type says, or without one (JPush's Python
//! client, old LeanCloud SDKs): see [`crate::http::json_object_body`]. A field that cannot be read
//! is a [`FieldError`], which each dialect words in its own error body (`From<FieldError>` for its
//! error type).

use serde_json::{Map, Value};

use crate::core::{self, phone::Phone};

/// A JSON object body (or query parameters made into one).
pub type Body = Map<String, Value>;

/// How a field failed; neutral, each dialect maps it to its own code and message.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    /// Present, but of a type the field cannot take. `expected` reads "a string", "an integer"...
    #[error("{key} must be {expected}")]
    WrongType { key: String, expected: &'static str },
    /// Of the right type, but a value the field cannot take (an unknown `__op`...); the message
    /// says why, for the caller.
    #[error("{0}")]
    Invalid(String),
    /// The core refused the value (a phone number that is missing or no mobile number:
    /// `Error::MissingPhone`, `Error::InvalidPhone`), mapped like any core error.
    #[error(transparent)]
    Core(#[from] core::Error),
}

impl FieldError {
    fn wrong_type(key: &str, expected: &'static str) -> Self {
        Self::WrongType { key: key.to_string(), expected }
    }
}

/// A text field; a JSON number is taken as its text. Absent or null is `None`.
pub fn string(body: &Body, key: &str) -> Result<Option<String>, FieldError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(FieldError::wrong_type(key, "a string")),
    }
}

/// An integer field; a string holding an integer is one too. Absent, null or blank is `None`.
pub fn integer(body: &Body, key: &str) -> Result<Option<i64>, FieldError> {
    let bad = || FieldError::wrong_type(key, "an integer");
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// A verification code: a string as sent, or a JSON number (a non-negative integer) written with
/// at least six digits, leading zeros restored. Absent or null is `None`.
pub fn code(body: &Body, key: &str) -> Result<Option<String>, FieldError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(digits) => Ok(Some(format!("{digits:06}"))),
            None => Err(FieldError::wrong_type(key, "a code of digits")),
        },
        Some(_) => Err(FieldError::wrong_type(key, "a code of digits")),
    }
}

/// The phone number under `key`, text or JSON number: `Error::MissingPhone` when absent, null or
/// blank, `Error::InvalidPhone` when it is no mobile number.
pub fn phone(body: &Body, key: &str) -> Result<Phone, FieldError> {
    let raw = match body.get(key) {
        None | Some(Value::Null) => return Err(core::Error::MissingPhone.into()),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(core::Error::InvalidPhone.into()),
    };
    Ok(Phone::parse(&raw)?)
}

/// Query parameters as a [`Body`] of strings, to read them with the same functions.
pub fn query_body(req: &actix_web::HttpRequest) -> Body {
    crate::http::query_params(req).into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Body {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn lenient_types() {
        let b = body(serde_json::json!({"ttl": "5", "n": 7, "s": 13800138000u64, "bad": [1], "blank": ""}));
        assert_eq!(integer(&b, "ttl").unwrap(), Some(5));
        assert_eq!(integer(&b, "n").unwrap(), Some(7));
        assert_eq!(integer(&b, "blank").unwrap(), None);
        assert_eq!(integer(&b, "missing").unwrap(), None);
        assert!(matches!(integer(&b, "bad"), Err(FieldError::WrongType { expected: "an integer", .. })));
        assert_eq!(string(&b, "s").unwrap().as_deref(), Some("13800138000"));
        assert_eq!(string(&b, "bad").unwrap_err().to_string(), "bad must be a string");
        assert_eq!(phone(&b, "s").unwrap().e164(), "+8613800138000");
        assert!(matches!(phone(&b, "missing"), Err(FieldError::Core(core::Error::MissingPhone))));
        assert!(matches!(phone(&b, "blank"), Err(FieldError::Core(core::Error::MissingPhone))));
        assert!(matches!(phone(&b, "bad"), Err(FieldError::Core(core::Error::InvalidPhone))));
        assert!(matches!(phone(&b, "n"), Err(FieldError::Core(core::Error::InvalidPhone))));
    }

    #[test]
    fn codes_as_numbers_keep_their_leading_zeros() {
        let b = body(serde_json::json!({"a": 123456, "b": 12345, "c": "012345", "d": -5, "e": 1.5, "f": true}));
        assert_eq!(code(&b, "a").unwrap().as_deref(), Some("123456"));
        assert_eq!(code(&b, "b").unwrap().as_deref(), Some("012345"));
        assert_eq!(code(&b, "c").unwrap().as_deref(), Some("012345"));
        assert_eq!(code(&b, "missing").unwrap(), None);
        for bad in ["d", "e", "f"] {
            assert!(code(&b, bad).is_err(), "{bad}");
        }
    }
}
