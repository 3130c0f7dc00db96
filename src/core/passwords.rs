//! Password hashing: argon2id with the OWASP minimum (m = 19 MiB, t = 2, p = 1), which is the
//! argon2 crate's default. Each hash holds 19 MiB and tens of milliseconds of CPU, so the number
//! running at once is bounded; callers are already off the async threads.
//!
//! Imported users keep the hash they came with until their next successful login, which replaces
//! it with argon2id. A stored hash says its format by its prefix:
//! - `$argon2id$...`: ours (PHC string);
//! - `$leancloud-sha512$<base64 hash>$<salt>`: LeanCloud's export (`password` + `salt`):
//!   SHA-512 of salt then password, 512 more rounds of SHA-512, base64;
//! - `$2a$` / `$2b$` / `$2y$`: bcrypt, LeanCloud's own import field `bcryptPassword`.

use std::sync::{Condvar, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use super::{Error, Result};

/// A counting semaphore for blocking threads.
struct Permits {
    free: Mutex<usize>,
    released: Condvar,
}

impl Permits {
    fn acquire(&self) -> PermitGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.released.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        PermitGuard(self)
    }
}

struct PermitGuard<'a>(&'a Permits);

impl Drop for PermitGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.released.notify_one();
    }
}

pub struct Passwords {
    permits: Permits,
    /// Verified against when the user does not exist, so that an unknown name costs the same time.
    dummy: String,
}

/// The most bytes of password accepted (argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

impl Passwords {
    pub fn new(concurrency: usize) -> Result<Self> {
        let permits = Permits { free: Mutex::new(concurrency.max(1)), released: Condvar::new() };
        let mut passwords = Self { permits, dummy: String::new() };
        passwords.dummy = passwords.hash(&super::secrets::Keys::generate_secret())?;
        Ok(passwords)
    }

    pub fn hash(&self, password: &str) -> Result<String> {
        let _permit = self.permits.acquire();
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h: PasswordHash| h.to_string())
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))
    }

    /// Whether `password` matches `stored`. `None` (no user, or a user without a password) is
    /// checked against a dummy hash and is never a match.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        self.check(password, stored) != Check::Mismatch
    }

    /// Like [`verify`](Self::verify), and says whether a matching hash is an imported format that
    /// should be replaced with argon2id now that the password is known.
    pub fn check(&self, password: &str, stored: Option<&str>) -> Check {
        let _permit = self.permits.acquire();
        let matched = |ok: bool, legacy: bool| match (ok, legacy) {
            (false, _) => Check::Mismatch,
            (true, false) => Check::Match,
            (true, true) => Check::MatchLegacy,
        };
        if let Some(rest) = stored.and_then(|s| s.strip_prefix(LEANCLOUD_PREFIX)) {
            return matched(leancloud_matches(password, rest), true);
        }
        if let Some(bcrypt_hash) = stored.filter(|s| is_bcrypt(s)) {
            return matched(bcrypt::verify(password, bcrypt_hash).unwrap_or(false), true);
        }
        let argon2 = Argon2::default();
        match stored.and_then(|s| PasswordHash::new(s).ok()) {
            Some(hash) => matched(argon2.verify_password(password.as_bytes(), &hash).is_ok(), false),
            None => {
                let dummy = PasswordHash::new(&self.dummy).expect("the dummy hash parses");
                let _ = argon2.verify_password(password.as_bytes(), &dummy);
                Check::Mismatch
            }
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Mismatch,
    Match,
    /// A match against an imported format: rehash with argon2id.
    MatchLegacy,
}

const LEANCLOUD_PREFIX: &str = "$leancloud-sha512$";
const LEANCLOUD_ROUNDS: usize = 512;

/// LeanCloud's digest: SHA-512(salt || password), then 512 more rounds of SHA-512.
fn leancloud_digest(salt: &str, password: &str) -> [u8; 64] {
    let mut h: [u8; 64] =
        Sha512::new().chain_update(salt.as_bytes()).chain_update(password.as_bytes()).finalize().into();
    for _ in 0..LEANCLOUD_ROUNDS {
        h = Sha512::digest(h).into();
    }
    h
}

/// `rest` is `<base64 hash>$<salt>` (base64 has no `$`; the salt may).
fn leancloud_matches(password: &str, rest: &str) -> bool {
    let Some((hash, salt)) = rest.split_once('$') else { return false };
    let Ok(expected) = BASE64.decode(hash) else { return false };
    let actual = leancloud_digest(salt, password);
    expected.len() == actual.len() && bool::from(expected.ct_eq(&actual))
}

/// Whether a stored hash is an imported format (LeanCloud's digest or bcrypt), not yet replaced.
pub fn is_imported_format(stored: &str) -> bool {
    stored.starts_with(LEANCLOUD_PREFIX) || is_bcrypt(stored)
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| stored.starts_with(p))
}

/// Why an imported password cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportedHashError {
    #[error("password is not a base64 SHA-512 digest")]
    NotLeanCloudHash,
    #[error("salt is missing or blank")]
    MissingSalt,
    #[error("bcryptPassword is not a bcrypt hash ($2a$, $2b$ or $2y$)")]
    NotBcrypt,
}

/// The stored form of LeanCloud's exported `password` (base64 digest) and `salt`. No hashing
/// happens: the digest is checked for shape and kept as it is.
pub fn leancloud_hash(password_b64: &str, salt: &str) -> Result<String, ImportedHashError> {
    if salt.is_empty() {
        return Err(ImportedHashError::MissingSalt);
    }
    match BASE64.decode(password_b64) {
        Ok(bytes) if bytes.len() == 64 => Ok(format!("{LEANCLOUD_PREFIX}{password_b64}${salt}")),
        _ => Err(ImportedHashError::NotLeanCloudHash),
    }
}

/// The stored form of a `bcryptPassword`: the bcrypt string itself, once it parses.
pub fn bcrypt_hash(stored: &str) -> Result<String, ImportedHashError> {
    let parses = is_bcrypt(stored) && stored.parse::<bcrypt::HashParts>().is_ok();
    if parses { Ok(stored.to_string()) } else { Err(ImportedHashError::NotBcrypt) }
}

/// LeanCloud's algorithm, for tests and tools that make exports: base64 of [`leancloud_digest`].
pub fn leancloud_export_digest(salt: &str, password: &str) -> String {
    BASE64.encode(leancloud_digest(salt, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_with_owasp_parameters() {
        let passwords = Passwords::new(2).unwrap();
        let hash = passwords.hash("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(passwords.verify("correct horse", Some(&hash)));
        assert!(!passwords.verify("wrong horse", Some(&hash)));
        assert!(!passwords.verify("correct horse", None));
        assert!(!passwords.verify("correct horse", Some("not a hash")));
        assert_eq!(passwords.check("correct horse", Some(&hash)), Check::Match);
    }

    /// The contract's test vector (section 7).
    #[test]
    fn leancloud_test_vector() {
        let salt = "h60d8x797d3oa0naxybxxv9bn7xpt2yiowz68mpiwou7gwr2";
        let expected = "tA7BLW+NK0UeARng0693gCaVnljkglCB9snqlpCSUKjx2RgYp8VZZOQt0S5iUtlDrkJXfT3gknS4rRqjYsd/Ug==";
        assert_eq!(leancloud_export_digest(salt, "password"), expected);
        let stored = leancloud_hash(expected, salt).unwrap();
        let passwords = Passwords::new(1).unwrap();
        assert_eq!(passwords.check("password", Some(&stored)), Check::MatchLegacy);
        assert_eq!(passwords.check("Password", Some(&stored)), Check::Mismatch);
        assert_eq!(leancloud_hash("not base64!", salt), Err(ImportedHashError::NotLeanCloudHash));
        assert_eq!(leancloud_hash("YWJj", salt), Err(ImportedHashError::NotLeanCloudHash));
        assert_eq!(leancloud_hash(expected, ""), Err(ImportedHashError::MissingSalt));
        // A salt with `$` in it still splits right.
        let odd = leancloud_hash(&leancloud_export_digest("a$b", "pw"), "a$b").unwrap();
        assert!(passwords.verify("pw", Some(&odd)));
    }

    #[test]
    fn bcrypt_import() {
        let stored = bcrypt::hash_with_salt("s3cret", 4, [7u8; 16]).unwrap().format_for_version(bcrypt::Version::TwoA);
        let stored = bcrypt_hash(&stored).unwrap();
        let passwords = Passwords::new(1).unwrap();
        assert_eq!(passwords.check("s3cret", Some(&stored)), Check::MatchLegacy);
        assert_eq!(passwords.check("s3cret!", Some(&stored)), Check::Mismatch);
        assert_eq!(bcrypt_hash("$2a$nonsense"), Err(ImportedHashError::NotBcrypt));
        assert_eq!(bcrypt_hash("plain"), Err(ImportedHashError::NotBcrypt));
    }
}
