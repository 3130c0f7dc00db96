//! Each dialect's own keys for an app, beside LeanCloud's `appKey`/`masterKey` on the app itself.
//! Apps moving from Bmob, JPush or MinCloud keep the keys their shipped clients carry (set them
//! with `phonebase app update`); every other app gets random ones when it is created, or at the
//! first start after the dialect arrived.
//!
//! Shapes follow what each vendor hands out (contract `other-dialects.md` A.2, B.1, C.1): Bmob's
//! secret key is 16 characters (hydrogen-js-sdk warns above 16), JPush's appKey and masterSecret
//! are 24 hex digits, MinCloud's client id 20 and its secret 40.

use rand::Rng;
use serde::Serialize;

use super::{Error, Result};
use crate::store::credentials::CredentialRow;

/// A wire format that identifies apps by keys of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Bmob,
    JPush,
    MinCloud,
}

/// What a generated key looks like.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    Hex(usize),
    Alnum(usize),
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Bmob, Dialect::JPush, Dialect::MinCloud];

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Bmob => "bmob",
            Dialect::JPush => "jpush",
            Dialect::MinCloud => "mincloud",
        }
    }

    /// Every credential of the dialect, with the shape a generated one takes.
    pub(crate) fn names(self) -> &'static [(&'static str, Shape)] {
        match self {
            Dialect::Bmob => &[
                (BMOB_APPLICATION_ID, Shape::Hex(32)),
                (BMOB_REST_API_KEY, Shape::Hex(32)),
                (BMOB_MASTER_KEY, Shape::Hex(32)),
                (BMOB_SECRET_KEY, Shape::Alnum(16)),
                (BMOB_SECURITY_CODE, Shape::Alnum(16)),
            ],
            Dialect::JPush => &[(JPUSH_APP_KEY, Shape::Hex(24)), (JPUSH_MASTER_SECRET, Shape::Hex(24))],
            Dialect::MinCloud => &[(MINCLOUD_CLIENT_ID, Shape::Hex(20)), (MINCLOUD_CLIENT_SECRET, Shape::Hex(40))],
        }
    }

    /// The credentials that name an app (sent in the clear by clients); the others are secrets.
    pub(crate) fn identifies(self, name: &str) -> bool {
        matches!(
            (self, name),
            (Dialect::Bmob, BMOB_APPLICATION_ID | BMOB_SECRET_KEY)
                | (Dialect::JPush, JPUSH_APP_KEY)
                | (Dialect::MinCloud, MINCLOUD_CLIENT_ID)
        )
    }
}

pub const BMOB_APPLICATION_ID: &str = "application_id";
pub const BMOB_REST_API_KEY: &str = "rest_api_key";
pub const BMOB_MASTER_KEY: &str = "master_key";
pub const BMOB_SECRET_KEY: &str = "secret_key";
pub const BMOB_SECURITY_CODE: &str = "security_code";
pub const JPUSH_APP_KEY: &str = "app_key";
pub const JPUSH_MASTER_SECRET: &str = "master_secret";
pub const MINCLOUD_CLIENT_ID: &str = "client_id";
pub const MINCLOUD_CLIENT_SECRET: &str = "client_secret";

/// Bmob's keys (A.2): the plain-header mode sends `applicationId` + `restApiKey` (or the master
/// key); the signed mode sends `secretKey` and signs with `securityCode`, which never travels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BmobKeys {
    pub application_id: String,
    pub rest_api_key: String,
    pub master_key: String,
    pub secret_key: String,
    pub security_code: String,
}

/// JPush's keys (B.1): HTTP Basic `appKey:masterSecret`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JPushKeys {
    pub app_key: String,
    pub master_secret: String,
}

/// MinCloud's keys (C.1): the client id in `X-Hydrogen-Client-ID`; id and secret for the open
/// API's OAuth flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MinCloudKeys {
    pub client_id: String,
    pub client_secret: String,
}

/// An app's keys in every dialect that has its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Credentials {
    pub bmob: BmobKeys,
    pub jpush: JPushKeys,
    pub mincloud: MinCloudKeys,
}

impl Credentials {
    pub(crate) fn from_rows(rows: &[CredentialRow]) -> Self {
        let mut c = Credentials::default();
        for row in rows {
            let slot = match (row.dialect.as_str(), row.name.as_str()) {
                ("bmob", BMOB_APPLICATION_ID) => &mut c.bmob.application_id,
                ("bmob", BMOB_REST_API_KEY) => &mut c.bmob.rest_api_key,
                ("bmob", BMOB_MASTER_KEY) => &mut c.bmob.master_key,
                ("bmob", BMOB_SECRET_KEY) => &mut c.bmob.secret_key,
                ("bmob", BMOB_SECURITY_CODE) => &mut c.bmob.security_code,
                ("jpush", JPUSH_APP_KEY) => &mut c.jpush.app_key,
                ("jpush", JPUSH_MASTER_SECRET) => &mut c.jpush.master_secret,
                ("mincloud", MINCLOUD_CLIENT_ID) => &mut c.mincloud.client_id,
                ("mincloud", MINCLOUD_CLIENT_SECRET) => &mut c.mincloud.client_secret,
                _ => continue,
            };
            *slot = row.value.clone();
        }
        c
    }

    /// The value of one credential (empty when the app has none yet).
    pub fn get(&self, dialect: Dialect, name: &str) -> &str {
        match (dialect, name) {
            (Dialect::Bmob, BMOB_APPLICATION_ID) => &self.bmob.application_id,
            (Dialect::Bmob, BMOB_REST_API_KEY) => &self.bmob.rest_api_key,
            (Dialect::Bmob, BMOB_MASTER_KEY) => &self.bmob.master_key,
            (Dialect::Bmob, BMOB_SECRET_KEY) => &self.bmob.secret_key,
            (Dialect::Bmob, BMOB_SECURITY_CODE) => &self.bmob.security_code,
            (Dialect::JPush, JPUSH_APP_KEY) => &self.jpush.app_key,
            (Dialect::JPush, JPUSH_MASTER_SECRET) => &self.jpush.master_secret,
            (Dialect::MinCloud, MINCLOUD_CLIENT_ID) => &self.mincloud.client_id,
            (Dialect::MinCloud, MINCLOUD_CLIENT_SECRET) => &self.mincloud.client_secret,
            _ => "",
        }
    }
}

pub(crate) fn generate(shape: Shape) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let (alphabet, len) = match shape {
        Shape::Hex(n) => (HEX, n),
        Shape::Alnum(n) => (ALNUM, n),
    };
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// A key given by an operator: what the vendors' keys are made of, and short enough for a header.
pub(crate) fn check_given(dialect: Dialect, name: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value.len() > 128
        || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::InvalidParameter(format!(
            "{} {name} must be 1 to 128 letters, digits, - or _",
            dialect.as_str()
        )));
    }
    Ok(())
}
