//! Reading fields from LeanCloud bodies, with the leniency the SDKs need: numbers may come as
//! strings (`"ttl":"5"`) and strings as numbers (a phone number typed as a JSON number).

use serde_json::{Map, Value};

use super::error::LcError;
use crate::core::phone::Phone;

pub type Body = Map<String, Value>;

pub fn string(body: &Body, key: &str) -> Result<Option<String>, LcError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(LcError::invalid_parameter(format!("{key} must be a string"))),
    }
}

pub fn integer(body: &Body, key: &str) -> Result<Option<i64>, LcError> {
    let bad = || LcError::invalid_parameter(format!("{key} must be an integer"));
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// The phone number under `key`: 212 when absent, 127 when it is no mobile number.
pub fn phone(body: &Body, key: &str) -> Result<Phone, LcError> {
    let raw = match body.get(key) {
        None | Some(Value::Null) => return Err(LcError::missing_phone()),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(crate::core::Error::InvalidPhone.into()),
    };
    Ok(Phone::parse(&raw)?)
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
        assert!(integer(&b, "bad").is_err());
        assert_eq!(string(&b, "s").unwrap().as_deref(), Some("13800138000"));
        assert_eq!(phone(&b, "s").unwrap().e164(), "+8613800138000");
        assert_eq!(phone(&b, "missing").unwrap_err().code, 212);
        assert_eq!(phone(&b, "bad").unwrap_err().code, 127);
    }
}
