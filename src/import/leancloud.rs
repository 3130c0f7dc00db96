//! LeanCloud's `_User` format: one exported record (or a user as LeanCloud's API returns it, for
//! lazy migration) mapped to core's [`ExportedUser`]. The keys that are not custom fields are the
//! Parse-family `_User` keys the LeanCloud dialect reserves too ([`USER_KEYS`]).

use std::sync::Arc;

use chrono::NaiveDateTime;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::core::accounts::import::{ExportedPassword, ExportedUser, SourceRecord};
use crate::http::kit::objects::{USER_KEYS, is_custom_field};

/// A `_User` object as read, with where it came from; `Err` when it is no JSON object.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub file: Arc<str>,
    pub line: u64,
    pub record: Result<Map<String, Value>, String>,
}

/// The record for the core's importer: its objectId (to name it in the report) and the user.
pub fn source_record(raw: RawRecord) -> SourceRecord {
    let (object_id, user) = match raw.record {
        Err(reason) => (None, Err(reason)),
        Ok(record) => (record.get("objectId").and_then(Value::as_str).map(str::to_string), exported_user(record)),
    };
    SourceRecord { file: raw.file, line: raw.line, object_id, user }
}

/// Maps one `_User` object (pure). Takes the record: its custom fields move into the user.
pub fn exported_user(mut record: Map<String, Value>) -> Result<ExportedUser, String> {
    // The digest covers the record as exported (keys sorted), so a re-run recognises it.
    let mut hasher = Sha256::new();
    serde_json::to_writer(&mut hasher, &record).map_err(|e| format!("cannot be read back: {e}"))?;
    let digest = hex::encode(hasher.finalize());
    let id = string(&record, "objectId")?.ok_or("objectId is missing")?.to_string();
    let created_at = date(record.get("createdAt"), "createdAt")?.ok_or("createdAt is missing")?;
    let updated_at = date(record.get("updatedAt"), "updatedAt")?.unwrap_or(created_at);
    let username = string(&record, "username")?.map(str::to_string);
    let email = string(&record, "email")?.map(str::to_string);
    let mobile_phone = string(&record, "mobilePhoneNumber")?.map(str::to_string);
    let password = match (string(&record, "password")?, string(&record, "bcryptPassword")?) {
        (Some(hash), _) => Some(ExportedPassword::LeanCloud {
            hash: hash.to_string(),
            salt: string(&record, "salt")?.unwrap_or_default().to_string(),
        }),
        (None, Some(bcrypt)) => Some(ExportedPassword::Bcrypt(bcrypt.to_string())),
        (None, None) => None,
    };
    let auth_data = match record.get("authData") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => return Err("authData is not an object".into()),
    };
    let session_token = string(&record, "sessionToken")?.map(str::to_string);
    let mobile_verified = flag(&record, "mobilePhoneVerified")?;
    let email_verified = flag(&record, "emailVerified")?;
    record.retain(|k, _| is_custom_field(k, USER_KEYS));
    Ok(ExportedUser {
        id,
        username,
        email,
        mobile_phone,
        email_verified,
        mobile_verified,
        password,
        auth_data,
        session_token,
        fields: record,
        created_at,
        updated_at,
        digest,
    })
}

/// A date: an ISO 8601 string or LeanCloud's `{"__type": "Date", "iso": ...}`.
fn date(value: Option<&Value>, name: &str) -> Result<Option<NaiveDateTime>, String> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) if o.get("__type").and_then(Value::as_str) == Some("Date") => {
            o.get("iso").and_then(Value::as_str).ok_or_else(|| format!("{name} has no iso"))?
        }
        Some(_) => return Err(format!("{name} is not a date")),
    };
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.naive_utc()))
        .map_err(|_| format!("{name} {text:?} is not an ISO 8601 date"))
}

fn string<'a>(record: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn flag(record: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match record.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{key} is not a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn maps_an_exported_user() {
        let rec = obj(json!({
            "objectId": "55a47496e4b05001a7732c5f",
            "username": "tom",
            "email": "Tom@Example.com",
            "emailVerified": true,
            "mobilePhoneNumber": "18612340000",
            "mobilePhoneVerified": true,
            "authData": {"weixin": {"openid": "o1"}},
            "password": "hash",
            "salt": "salt1",
            "sessionToken": "qmdj8pdidnmyzp0c7yqil91oc",
            "createdAt": "2015-07-14T02:31:50.100Z",
            "updatedAt": {"__type": "Date", "iso": "2016-01-01T00:00:00.000Z"},
            "nickname": "T",
            "birthday": {"__type": "Date", "iso": "1990-01-01T00:00:00.000Z"},
            "ACL": {"*": {"read": true}},
            "_internal": 1
        }));
        let u = exported_user(rec.clone()).unwrap();
        assert_eq!(u.id, "55a47496e4b05001a7732c5f");
        assert_eq!((u.username.as_deref(), u.email.as_deref()), (Some("tom"), Some("Tom@Example.com")));
        assert_eq!(u.mobile_phone.as_deref(), Some("18612340000"));
        assert!(u.email_verified && u.mobile_verified);
        assert!(
            matches!(&u.password, Some(ExportedPassword::LeanCloud { hash, salt }) if hash == "hash" && salt == "salt1")
        );
        assert_eq!(u.session_token.as_deref(), Some("qmdj8pdidnmyzp0c7yqil91oc"));
        assert_eq!(Value::Object(u.auth_data.unwrap()), json!({"weixin": {"openid": "o1"}}));
        assert_eq!(
            Value::Object(u.fields),
            json!({"nickname": "T", "birthday": {"__type": "Date", "iso": "1990-01-01T00:00:00.000Z"}, "ACL": {"*": {"read": true}}})
        );
        assert_eq!(u.created_at.and_utc().timestamp_millis(), 1_436_841_110_100);
        assert_eq!(u.updated_at.and_utc().timestamp(), 1_451_606_400);
        // The digest names the record as exported: the same record, the same digest.
        assert_eq!(u.digest, exported_user(rec).unwrap().digest);
        assert_eq!(u.digest.len(), 64);
        let bcrypt =
            exported_user(obj(json!({"objectId": "b", "createdAt": "2020-01-01T00:00:00Z", "bcryptPassword": "$2b$"})));
        assert!(matches!(bcrypt.unwrap().password, Some(ExportedPassword::Bcrypt(h)) if h == "$2b$"));
    }

    #[test]
    fn refuses_what_is_not_a_user() {
        let bad = |v: Value| exported_user(obj(v)).unwrap_err();
        assert!(bad(json!({"username": "a", "createdAt": "2020-01-01T00:00:00Z"})).contains("objectId"));
        assert!(bad(json!({"objectId": 5, "createdAt": "2020-01-01T00:00:00Z"})).contains("objectId"));
        assert!(bad(json!({"objectId": "x1", "username": "a"})).contains("createdAt"));
        assert!(bad(json!({"objectId": "x1", "username": "a", "createdAt": "yesterday"})).contains("createdAt"));
        assert!(
            bad(json!({"objectId": "x1", "createdAt": "2020-01-01T00:00:00Z", "authData": 1})).contains("authData")
        );
        assert!(
            bad(json!({"objectId": "x1", "createdAt": "2020-01-01T00:00:00Z", "emailVerified": "yes"}))
                .contains("emailVerified")
        );
        let raw = RawRecord { file: "f".into(), line: 3, record: Ok(obj(json!({"objectId": "x1"}))) };
        let source = source_record(raw);
        assert_eq!(source.object_id.as_deref(), Some("x1"));
        assert!(source.user.unwrap_err().contains("createdAt"));
    }
}
