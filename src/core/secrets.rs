//! The server secret and what is derived from it: keyed hashes for codes and tokens, and the
//! sealing key for message bodies waiting in the outbox.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Keys derived from one server secret.
#[derive(Clone)]
struct KeySet {
    hash_key: [u8; 32],
    seal: ChaCha20Poly1305,
}

impl KeySet {
    fn new(secret: &[u8]) -> Self {
        let seal_key = derive(secret, "phonebase/outbox-seal/v1");
        Self { hash_key: derive(secret, "phonebase/keyed-hash/v1"), seal: ChaCha20Poly1305::new(&seal_key.into()) }
    }

    fn keyed_hash(&self, parts: &[&str]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.hash_key).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    fn open_bytes(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, body) = sealed.split_at(12);
        self.seal.decrypt(Nonce::from_slice(nonce), body).ok()
    }
}

/// The current server secret's keys, which hash and seal everything new, and those of previous
/// secrets (rotation), which are only ever used to recognise what was hashed or sealed before.
#[derive(Clone)]
pub struct Keys {
    current: KeySet,
    previous: Vec<KeySet>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys(current, {} previous)", self.previous.len())
    }
}

fn derive(secret: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self::with_previous::<&[u8]>(secret, &[])
    }

    /// Keys of the current secret, still recognising what the previous secrets protected.
    pub fn with_previous<S: AsRef<[u8]>>(current: &[u8], previous: &[S]) -> Self {
        Self { current: KeySet::new(current), previous: previous.iter().map(|p| KeySet::new(p.as_ref())).collect() }
    }

    /// A fresh random secret, hex encoded (64 characters).
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    /// HMAC-SHA256 over the parts, each length-prefixed so that ("ab","c") ≠ ("a","bc"); hex.
    /// Under the current secret: what is stored from now on.
    pub fn keyed_hash(&self, parts: &[&str]) -> String {
        self.current.keyed_hash(parts)
    }

    /// The keyed hash under the current secret, then under each previous one: what a value may be
    /// stored as. With no rotation under way this is one hash.
    pub fn keyed_hashes(&self, parts: &[&str]) -> Vec<String> {
        std::iter::once(&self.current).chain(&self.previous).map(|k| k.keyed_hash(parts)).collect()
    }

    /// Whether `stored` is the keyed hash of `parts` under any secret still accepted (constant
    /// time per secret).
    pub fn matches(&self, stored: &str, parts: &[&str]) -> bool {
        self.keyed_hashes(parts).iter().fold(false, |found, h| ct_eq(stored, h) | found)
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
            self.current
                .seal
                .encrypt(Nonce::from_slice(&nonce), plain)
                .expect("ChaCha20Poly1305 encryption of a short text cannot fail"),
        );
        out
    }

    /// Opens what the current or a previous secret sealed.
    pub fn open_bytes(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        self.open_bytes_with_age(sealed).map(|(plain, _)| plain)
    }

    /// Opens, and tells whether it was sealed under a previous secret (and should be sealed again).
    pub fn open_bytes_with_age(&self, sealed: &[u8]) -> Option<(Vec<u8>, bool)> {
        if let Some(plain) = self.current.open_bytes(sealed) {
            return Some((plain, false));
        }
        self.previous.iter().find_map(|k| k.open_bytes(sealed)).map(|plain| (plain, true))
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

    #[test]
    fn rotation_recognises_the_previous_secret_and_writes_the_new_one() {
        let old = Keys::from_secret(b"old");
        let rotated = Keys::with_previous(b"new", &[b"old"]);
        let hash = old.keyed_hash(&["session", "app", "token"]);
        assert!(rotated.matches(&hash, &["session", "app", "token"]));
        assert!(!rotated.matches(&hash, &["session", "app", "other"]));
        assert_ne!(rotated.keyed_hash(&["x"]), old.keyed_hash(&["x"]));
        assert_eq!(rotated.keyed_hashes(&["x"]), vec![rotated.keyed_hash(&["x"]), old.keyed_hash(&["x"])]);
        let sealed = old.seal("body");
        assert_eq!(rotated.open(&sealed).as_deref(), Some("body"));
        assert_eq!(rotated.open_bytes_with_age(&sealed).map(|(_, aged)| aged), Some(true));
        assert_eq!(rotated.open_bytes_with_age(&rotated.seal_bytes(b"x")).map(|(_, aged)| aged), Some(false));
        assert_eq!(old.open(&rotated.seal("new")), None, "the old secret alone cannot open new seals");
        assert!(!Keys::from_secret(b"new").matches(&hash, &["session", "app", "token"]), "once dropped, gone");
    }
}
