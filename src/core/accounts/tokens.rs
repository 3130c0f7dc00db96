//! Short-lived JWTs for the services behind an app: a signed-in client trades its session for a
//! token (ES256) that other services verify with the published key set, without calling us.
//! The signing key is generated once and kept, sealed with the server secret, in the database,
//! so every instance signs with the same key.

use chrono::TimeDelta;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::accounts::sessions::Session;
use crate::core::apps::App;
use crate::core::secrets::Keys;
use crate::core::{Core, Error, Result};
use crate::store::{self, Pool};

pub const ISSUER: &str = "phonebase";
pub const JWT_LIFETIME: TimeDelta = TimeDelta::minutes(15);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The app id: a service accepts only tokens meant for its app.
    pub aud: String,
    /// The user's objectId.
    pub sub: String,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub iat: i64,
    pub exp: i64,
}

/// The signing key and its public half.
pub struct Signer {
    key: EncodingKey,
    kid: String,
    jwks: JwkSet,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.kid)
    }
}

fn generate_pkcs8() -> anyhow::Result<Vec<u8>> {
    loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        // Out of range for the curve order with probability ~2^-32: draw again.
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            return Ok(secret.to_pkcs8_der()?.as_bytes().to_vec());
        }
    }
}

impl Signer {
    fn from_pkcs8(der: &[u8]) -> anyhow::Result<Self> {
        let key = EncodingKey::from_ec_der(der);
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)?;
        let kid = hex::encode(&Sha256::digest(serde_json::to_vec(&jwk.algorithm)?)[..8]);
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        Ok(Self { key, kid, jwks: JwkSet { keys: vec![jwk] } })
    }
}

/// Loads the signing key, creating it on the very first start (one instance wins the race).
pub(crate) fn load_signer(pool: &Pool, keys: &Keys) -> anyhow::Result<Signer> {
    let mut conn = pool.get()?;
    let fresh = hex::encode(keys.seal_bytes(&generate_pkcs8()?));
    let stored = store::instance::get_or_insert(&mut conn, "jwt_signing_key", &fresh)?;
    let (der, aged) = keys.open_bytes_with_age(&hex::decode(&stored)?).ok_or_else(|| {
        anyhow::anyhow!(
            "the JWT signing key cannot be opened: was the server secret changed? Keep the old one in \
             secret_keys_previous until this instance has started once with the new one"
        )
    })?;
    if aged {
        // Sealed under a previous secret: seal it under the current one, so that the previous
        // secret can be dropped (unless another instance did it first).
        let resealed = hex::encode(keys.seal_bytes(&der));
        store::instance::replace(&mut conn, "jwt_signing_key", &stored, &resealed)?;
    }
    Signer::from_pkcs8(&der)
}

impl Core {
    /// The public keys that verify our tokens (served at `/.well-known/jwks.json`).
    pub fn jwks(&self) -> &JwkSet {
        &self.signer.jwks
    }

    /// A token for the session's user, valid for `JWT_LIFETIME`.
    pub fn issue_jwt(&self, app: &App, session: &Session) -> Result<(String, Claims)> {
        let now = self.clock.now();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: app.id.clone(),
            sub: session.user.id.clone(),
            phone: session.user.phone_e164.clone(),
            phone_verified: session.user.mobile_verified,
            iat: now.timestamp(),
            exp: (now + JWT_LIFETIME).timestamp(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.signer.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.signer.key).map_err(|e| Error::Internal(e.into()))?;
        Ok((token, claims))
    }
}
