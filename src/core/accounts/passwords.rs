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

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordVerifier, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::core::{Error, Result};

/// How long a hashing workspace may sit unused before its memory goes back to the system.
const WORKSPACE_IDLE: Duration = Duration::from_secs(30);

/// The argon2 memory of one hash at a time (19 MiB at our parameters), kept between hashes.
///
/// Why: the crate allocates and frees 19 MiB per hash. glibc serves the first such block with
/// `mmap`, then raises its mmap threshold and serves later ones from per-thread arenas that it
/// never returns, so a login storm over many blocking threads left hundreds of MiB resident
/// (`shared/notes/performance-notes.md`). Reusing a fixed set of workspaces bounds that memory to
/// `concurrency` x 19 MiB, and skips zero-filling fresh pages on every hash.
struct Workspace {
    blocks: Vec<Block>,
    last_used: Instant,
}

/// A counting semaphore for blocking threads whose permits carry a workspace.
struct Permits {
    /// One entry per free permit; `None` until the permit first hashes (or after an idle trim).
    free: Mutex<Vec<Option<Workspace>>>,
    released: Condvar,
    /// Permits in all, and callers waiting for one (read by the metrics).
    total: usize,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Permits {
    fn new(concurrency: usize) -> Self {
        Self {
            free: Mutex::new((0..concurrency.max(1)).map(|_| None).collect()),
            released: Condvar::new(),
            total: concurrency.max(1),
            waiting: Default::default(),
        }
    }

    fn acquire(&self) -> PermitGuard<'_> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        if free.is_empty() {
            self.waiting.fetch_add(1, Relaxed);
            while free.is_empty() {
                free = self.released.wait(free).unwrap_or_else(|e| e.into_inner());
            }
            self.waiting.fetch_sub(1, Relaxed);
        }
        // Prefer a permit that already has memory.
        let at = free.iter().position(Option::is_some).unwrap_or(0);
        let workspace = free.swap_remove(at);
        PermitGuard { permits: self, workspace }
    }

    /// Frees the workspaces of free permits unused for longer than `idle`.
    fn trim(&self, idle: Duration) {
        let now = Instant::now();
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        for slot in free.iter_mut() {
            if slot.as_ref().is_some_and(|w| now.duration_since(w.last_used) >= idle) {
                *slot = None;
            }
        }
    }
}

struct PermitGuard<'a> {
    permits: &'a Permits,
    workspace: Option<Workspace>,
}

impl PermitGuard<'_> {
    /// The blocks for `params`: the kept workspace when it has the right size (always, at our
    /// parameters), else a fresh one that replaces it.
    fn blocks(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        let workspace =
            self.workspace.get_or_insert_with(|| Workspace { blocks: Vec::new(), last_used: Instant::now() });
        if workspace.blocks.len() != count {
            workspace.blocks = vec![Block::new(); count];
        }
        workspace.last_used = Instant::now();
        &mut workspace.blocks
    }
}

impl Drop for PermitGuard<'_> {
    fn drop(&mut self) {
        let workspace = self.workspace.take();
        self.permits.free.lock().unwrap_or_else(|e| e.into_inner()).push(workspace);
        self.permits.released.notify_one();
    }
}

/// Returns freed workspaces to the system at once: a fixed mmap threshold keeps glibc from
/// serving 19 MiB blocks out of arenas it keeps (its default threshold rises after the first free).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_mmap_threshold() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: mallopt only changes allocator tuning; M_MMAP_THRESHOLD takes a byte count.
    ONCE.call_once(|| unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_mmap_threshold() {}

pub struct Passwords {
    permits: Arc<Permits>,
    /// Verified against when the user does not exist, so that an unknown name costs the same time.
    dummy: String,
}

/// The most bytes of password accepted (argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Frees idle workspaces every [`WORKSPACE_IDLE`]; ends with the `Passwords` it serves.
fn spawn_trimmer(permits: Weak<Permits>) {
    let spawned = std::thread::Builder::new().name("argon2-trim".into()).spawn(move || {
        loop {
            std::thread::sleep(WORKSPACE_IDLE);
            match permits.upgrade() {
                Some(p) => p.trim(WORKSPACE_IDLE),
                None => break,
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no thread to free idle hashing memory; it stays allocated");
    }
}

/// Our parameters: argon2id, v19, OWASP's minimum (the crate's default).
fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!("argon2: {e}"))
}

impl Passwords {
    /// Hashes running now, and callers waiting for a turn.
    pub fn queue(&self) -> (usize, usize) {
        let free = self.permits.free.lock().unwrap_or_else(|e| e.into_inner()).len();
        (self.permits.total - free, self.permits.waiting.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn new(concurrency: usize) -> Result<Self> {
        fix_mmap_threshold();
        let permits = Arc::new(Permits::new(concurrency));
        let mut passwords = Self { permits: permits.clone(), dummy: String::new() };
        passwords.dummy = passwords.hash(&crate::core::secrets::Keys::generate_secret())?;
        // An idle server gives the memory back: the start-up hash's now, later ones once unused.
        permits.trim(Duration::ZERO);
        spawn_trimmer(Arc::downgrade(&permits));
        Ok(passwords)
    }

    /// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a random salt.
    pub fn hash(&self, password: &str) -> Result<String> {
        let argon2 = argon2id();
        let params = argon2.params().clone();
        let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
        rand::fill(&mut salt);
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let mut permit = self.permits.acquire();
        argon2
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, permit.blocks(&params))
            .map_err(internal)?;
        drop(permit);
        let hash = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(internal)?,
            salt: Some(Salt::new(&salt).map_err(internal)?),
            hash: Some(Output::new(&out).map_err(internal)?),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches `stored`. `None` (no user, or a user without a password) is
    /// checked against a dummy hash and is never a match.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        self.check(password, stored) != Check::Mismatch
    }

    /// Like [`verify`](Self::verify), and says whether a matching hash is an imported format that
    /// should be replaced with argon2id now that the password is known.
    pub fn check(&self, password: &str, stored: Option<&str>) -> Check {
        let mut permit = self.permits.acquire();
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
        match stored.and_then(|s| PasswordHash::new(s).ok()) {
            Some(hash) => matched(argon2_matches(password, &hash, &mut permit), false),
            None => {
                let dummy = PasswordHash::new(&self.dummy).expect("the dummy hash parses");
                let _ = argon2_matches(password, &dummy, &mut permit);
                Check::Mismatch
            }
        }
    }
}

/// Recomputes an argon2 PHC hash in the permit's workspace and compares in constant time.
/// Hashes whose parameters are out of the crate's bounds fall back to the crate's own verifier.
fn argon2_matches(password: &str, hash: &PasswordHash, permit: &mut PermitGuard<'_>) -> bool {
    let parts = (|| {
        let algorithm = Algorithm::try_from(hash.algorithm.as_str()).ok()?;
        let version = hash.version.map_or(Ok(Version::default()), Version::try_from).ok()?;
        let params = Params::try_from(hash).ok()?;
        let salt = hash.salt.as_ref()?;
        let expected = hash.hash.as_ref()?;
        Some((Argon2::new(algorithm, version, params.clone()), params, salt, expected))
    })();
    let Some((argon2, params, salt, expected)) = parts else {
        return argon2id().verify_password(password.as_bytes(), hash).is_ok();
    };
    let mut out = vec![0u8; expected.len()];
    argon2.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, permit.blocks(&params)).is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_ref()))
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

    /// Hashes made here verify with the crate's own verifier and the reverse, so the workspace
    /// path computes exactly what the crate does.
    #[test]
    fn workspace_hashing_matches_the_crate() {
        use argon2::PasswordHasher;
        let passwords = Passwords::new(1).unwrap();
        let ours = passwords.hash("s3cret").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"s3cret", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"s3cret!", &parsed).is_err());
        let theirs = Argon2::default().hash_password(b"s3cret").unwrap().to_string();
        assert!(passwords.verify("s3cret", Some(&theirs)));
        assert!(!passwords.verify("s3cret!", Some(&theirs)));
        // Other parameters (a smaller m, argon2i) take a workspace of their own size.
        let small = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        let other = small.hash_password(b"pw").unwrap().to_string();
        assert!(passwords.verify("pw", Some(&other)));
        assert!(!passwords.verify("px", Some(&other)));
        assert!(passwords.verify("s3cret", Some(&ours)));
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
