//! The server secret and what is derived from it: keyed hashes for codes and tokens, and the
//! sealing key for message bodies waiting in the outbox.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Keys {
    hash_key: [u8; 32],
    seal: ChaCha20Poly1305,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn derive(secret: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let seal_key = derive(secret, "phonebase/outbox-seal/v1");
        Self { hash_key: derive(secret, "phonebase/keyed-hash/v1"), seal: ChaCha20Poly1305::new(&seal_key.into()) }
    }

    /// A fresh random secret, hex encoded (64 characters).
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    /// HMAC-SHA256 over the parts, each length-prefixed so that ("ab","c") ≠ ("a","bc"); hex.
    pub fn keyed_hash(&self, parts: &[&str]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.hash_key).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Encrypts `plain` for storage: nonce (12 bytes) followed by the ciphertext.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        self.seal_bytes(plain.as_bytes())
    }

    pub fn open(&self, sealed: &[u8]) -> Option<String> {
        String::from_utf8(self.open_bytes(sealed)?).ok()
    }

    pub fn seal_bytes(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.seal
                .encrypt(Nonce::from_slice(&nonce), plain)
                .expect("ChaCha20Poly1305 encryption of a short text cannot fail"),
        );
        out
    }

    pub fn open_bytes(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, body) = sealed.split_at(12);
        self.seal.decrypt(Nonce::from_slice(nonce), body).ok()
    }
}

/// Constant-time equality of two strings (length may leak, content does not).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_tamper() {
        let keys = Keys::from_secret(b"secret");
        let sealed = keys.seal("您的验证码是 123456");
        assert_eq!(keys.open(&sealed).as_deref(), Some("您的验证码是 123456"));
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(keys.open(&bad), None);
        assert_eq!(Keys::from_secret(b"other").open(&sealed), None);
    }

    #[test]
    fn keyed_hash_separates_parts_and_keys() {
        let keys = Keys::from_secret(b"secret");
        assert_ne!(keys.keyed_hash(&["ab", "c"]), keys.keyed_hash(&["a", "bc"]));
        assert_ne!(keys.keyed_hash(&["x"]), Keys::from_secret(b"other").keyed_hash(&["x"]));
        assert_eq!(keys.keyed_hash(&["x"]).len(), 64);
    }
}
