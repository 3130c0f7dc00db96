//! Password hashing: argon2id with the OWASP minimum (m = 19 MiB, t = 2, p = 1), which is the
//! argon2 crate's default. Each hash holds 19 MiB and tens of milliseconds of CPU, so the number
//! running at once is bounded; callers are already off the async threads.

use std::sync::{Condvar, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

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
        let _permit = self.permits.acquire();
        let argon2 = Argon2::default();
        match stored.and_then(|s| PasswordHash::new(s).ok()) {
            Some(hash) => argon2.verify_password(password.as_bytes(), &hash).is_ok(),
            None => {
                let dummy = PasswordHash::new(&self.dummy).expect("the dummy hash parses");
                let _ = argon2.verify_password(password.as_bytes(), &dummy);
                false
            }
        }
    }
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
    }
}
