//! Parse-family object conventions, shared by the dialects that descend from Parse (LeanCloud,
//! Bmob): the reserved keys of a `_User`, custom fields beside them, field operations
//! (`{"__op": "Increment" | "Decrement" | "Add" | "AddUnique" | "Remove" | "Delete"}`) and
//! removable columns in a patch.

use serde_json::{Map, Value};

use super::fields::{self, Body, FieldError};
use crate::core::accounts::users::{FieldChange, NewUser, PhoneInput, User};

/// Keys of a Parse-family `_User` that are columns, credentials or server-managed, never custom
/// fields: what the dialects refuse to store as a field and what an export's import keeps out
/// of them. (Keys starting with `_` are never fields either: see [`is_custom_field`].)
pub const USER_KEYS: &[&str] = &[
    "objectId",
    "createdAt",
    "updatedAt",
    "username",
    "password",
    "salt",
    "bcryptPassword",
    "email",
    "emailVerified",
    "mobilePhoneNumber",
    "mobilePhoneVerified",
    "authData",
    "sessionToken",
];

/// Whether `key` may be a custom field: not `reserved`, and not starting with `_`.
pub fn is_custom_field(key: &str, reserved: &[&str]) -> bool {
    !key.starts_with('_') && !reserved.contains(&key)
}

/// Whether a value is a field operation (`{"__op": ...}`).
pub fn is_operation(value: &Value) -> bool {
    value.get("__op").is_some()
}

/// The custom fields of a new object: every key that is not reserved. Operations make no sense
/// on a new object and are dropped.
pub fn custom_fields(body: &Body, reserved: &[&str]) -> Map<String, Value> {
    body.iter()
        .filter(|(k, v)| is_custom_field(k, reserved) && !is_operation(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The changes a patch makes to custom fields: every key that is not reserved, as a
/// [`field_change`].
pub fn field_changes(body: &Body, reserved: &[&str]) -> Result<Vec<(String, FieldChange)>, FieldError> {
    body.iter()
        .filter(|(k, _)| is_custom_field(k, reserved))
        .map(|(k, v)| Ok((k.clone(), field_change(k, v)?)))
        .collect()
}

/// A field operation (`{"__op": ...}`) or a plain value (set).
pub fn field_change(key: &str, value: &Value) -> Result<FieldChange, FieldError> {
    let Some(op) = value.get("__op").and_then(Value::as_str) else {
        return Ok(FieldChange::Set(value.clone()));
    };
    let objects = || match value.get("objects") {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Err(FieldError::Invalid(format!("{op} on {key} needs an objects array"))),
    };
    Ok(match op {
        "Delete" => FieldChange::Unset,
        "Increment" | "Decrement" => {
            let amount = match value.get("amount") {
                None => serde_json::Number::from(1),
                Some(Value::Number(n)) => n.clone(),
                Some(_) => return Err(FieldError::Invalid(format!("{op} on {key} needs a numeric amount"))),
            };
            let amount = if op == "Increment" {
                amount
            } else {
                match amount.as_i64() {
                    Some(i) => serde_json::Number::from(-i),
                    None => serde_json::Number::from_f64(-amount.as_f64().unwrap_or(0.0)).unwrap_or_else(|| 0.into()),
                }
            };
            FieldChange::Increment(amount)
        }
        "Add" => FieldChange::Append(objects()?),
        "AddUnique" => FieldChange::AppendUnique(objects()?),
        "Remove" => FieldChange::RemoveAll(objects()?),
        other => return Err(FieldError::Invalid(format!("operation {other} is not supported"))),
    })
}

/// An optional column in a patch: absent is `None` (leave it), null or `{"__op":"Delete"}` is
/// `Some(None)` (remove it), a blank string too; otherwise its text.
pub fn optional_string(body: &Body, key: &str) -> Result<Option<Option<String>>, FieldError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) if v.get("__op").and_then(Value::as_str) == Some("Delete") => Ok(Some(None)),
        Some(_) => Ok(Some(fields::string(body, key)?.filter(|s| !s.trim().is_empty()))),
    }
}

/// The Parse-family `_User` object (LeanCloud, Bmob): custom fields, then the built-in ones, times
/// written by the dialect (`time`), and the session token where the call returns one.
pub fn user_object(user: &User, token: Option<&str>, time: fn(chrono::NaiveDateTime) -> String) -> Map<String, Value> {
    let mut out: Map<String, Value> = user.fields.clone();
    out.insert("objectId".into(), user.id.clone().into());
    out.insert("username".into(), user.username.clone().into());
    if let Some(email) = &user.email {
        out.insert("email".into(), email.clone().into());
    }
    out.insert("emailVerified".into(), user.email_verified.into());
    if let Some(phone) = &user.mobile_phone {
        out.insert("mobilePhoneNumber".into(), phone.clone().into());
    }
    out.insert("mobilePhoneVerified".into(), user.mobile_verified.into());
    if let Some(auth_data) = &user.auth_data {
        out.insert("authData".into(), auth_data.clone());
    }
    out.insert("createdAt".into(), time(user.created_at).into());
    out.insert("updatedAt".into(), time(user.updated_at).into());
    if let Some(token) = token {
        out.insert("sessionToken".into(), token.into());
    }
    out
}

/// `mobilePhoneNumber` of a body, parsed; absent or blank is `None`.
pub fn phone_input(body: &Body) -> Result<Option<PhoneInput>, FieldError> {
    match fields::string(body, "mobilePhoneNumber")? {
        Some(raw) if !raw.trim().is_empty() => Ok(Some(PhoneInput::parse(&raw)?)),
        _ => Ok(None),
    }
}

/// A sign-up body: the identifiers, the password, and every key not `reserved` as a custom field.
pub fn new_user(body: &Body, reserved: &[&str]) -> Result<NewUser, FieldError> {
    Ok(NewUser {
        username: fields::string(body, "username")?,
        password: fields::string(body, "password")?,
        email: fields::string(body, "email")?.filter(|e| !e.trim().is_empty()),
        phone: phone_input(body)?,
        auth_data: None,
        fields: custom_fields(body, reserved),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn operations() {
        let change = |v: Value| field_change("n", &v);
        assert_eq!(change(json!(5)).unwrap(), FieldChange::Set(json!(5)));
        assert_eq!(change(json!({"__op": "Delete"})).unwrap(), FieldChange::Unset);
        assert_eq!(change(json!({"__op": "Increment"})).unwrap(), FieldChange::Increment(1.into()));
        assert_eq!(change(json!({"__op": "Decrement", "amount": 3})).unwrap(), FieldChange::Increment((-3).into()));
        assert_eq!(
            change(json!({"__op": "Decrement", "amount": 1.5})).unwrap(),
            FieldChange::Increment(serde_json::Number::from_f64(-1.5).unwrap())
        );
        assert_eq!(change(json!({"__op": "Add", "objects": [1]})).unwrap(), FieldChange::Append(vec![json!(1)]));
        assert_eq!(
            change(json!({"__op": "AddUnique", "objects": [1]})).unwrap(),
            FieldChange::AppendUnique(vec![json!(1)])
        );
        assert_eq!(change(json!({"__op": "Remove", "objects": [1]})).unwrap(), FieldChange::RemoveAll(vec![json!(1)]));
        assert_eq!(change(json!({"__op": "Add"})).unwrap_err().to_string(), "Add on n needs an objects array");
        assert_eq!(
            change(json!({"__op": "Increment", "amount": "x"})).unwrap_err().to_string(),
            "Increment on n needs a numeric amount"
        );
        assert_eq!(change(json!({"__op": "Batch"})).unwrap_err().to_string(), "operation Batch is not supported");
    }

    #[test]
    fn reserved_keys_and_custom_fields() {
        let body = json!({"username": "a", "_private": 1, "age": 3, "n": {"__op": "Increment"}, "smsCode": "1"});
        let body = body.as_object().unwrap();
        let fields = custom_fields(body, &["username", "smsCode"]);
        assert_eq!(Value::Object(fields), json!({"age": 3}));
        let changes = field_changes(body, USER_KEYS).unwrap();
        assert_eq!(
            changes,
            [
                ("age".to_string(), FieldChange::Set(json!(3))),
                ("n".to_string(), FieldChange::Increment(1.into())),
                ("smsCode".to_string(), FieldChange::Set(json!("1"))),
            ]
        );
        let patch = json!({"a": null, "b": {"__op": "Delete"}, "c": " ", "d": "x", "e": 5});
        let patch = patch.as_object().unwrap();
        assert_eq!(optional_string(patch, "a").unwrap(), Some(None));
        assert_eq!(optional_string(patch, "b").unwrap(), Some(None));
        assert_eq!(optional_string(patch, "c").unwrap(), Some(None));
        assert_eq!(optional_string(patch, "d").unwrap(), Some(Some("x".into())));
        assert_eq!(optional_string(patch, "e").unwrap(), Some(Some("5".into())));
        assert_eq!(optional_string(patch, "z").unwrap(), None);
    }
}
