//! The rules: apps, verification codes, send limits, texts and the outbox they feed. Plain Rust
//! over `store`; no HTTP and no wire names. Every dialect calls these same functions.

// The kernel: what every room uses.
pub mod apps;
pub mod clock;
pub mod credentials;
mod error;
pub mod message;
pub mod metrics;
pub mod phone;
pub mod secrets;
pub mod validation;

// The rooms.
/// Users, logins, phone flows, sessions, passwords, tokens, lockout, move-in and lazy migration.
pub mod accounts;
/// Servers calling an app's open API, and the OAuth grants they hold.
pub mod clients;
/// Verification codes (issue, verify, limits) and the image captcha before a send.
pub mod codes;
/// Console operators (not app users).
pub mod operators;
/// Which provider a message leaves through, and the outbox's housekeeping.
pub mod outbox;
/// The review state machine of templates and signatures.
pub mod review;
/// The console's dashboard: conversion, delivery, refusals and places, from the database.
pub mod stats;
/// Built-in texts, app templates and signatures, segment counting, the link detector.
pub mod texts;

use std::sync::Arc;
use std::time::Duration;

pub use error::{Error, Result};

use crate::store::{self, Pool, PooledConn};
use clock::Clock;
use secrets::Keys;

#[derive(Debug, Clone)]
pub struct CoreOptions {
    /// How long an instance may serve an app's settings from memory.
    pub app_cache_ttl: Duration,
    /// How long final messages stay in the log.
    pub message_retention: chrono::TimeDelta,
    /// Password hashes computed at once (each holds 19 MiB).
    pub password_concurrency: usize,
    /// Where captcha answers come from (the CSPRNG, but in tests).
    pub captcha_text: Arc<dyn codes::captcha::CaptchaText>,
    /// The providers messages may go out through (routing only; the senders live in `delivery`).
    pub routes: Vec<outbox::routing::Route>,
    /// The client lazy migration asks LeanCloud with (none: never asked), and its bounds.
    pub upstream: Option<Arc<dyn accounts::upstream::UpstreamClient>>,
    pub upstream_bounds: accounts::upstream::UpstreamBounds,
}

impl Default for CoreOptions {
    fn default() -> Self {
        Self {
            app_cache_ttl: Duration::from_secs(5),
            message_retention: chrono::TimeDelta::days(30),
            password_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            captcha_text: Arc::new(codes::captcha::RandomText),
            routes: vec![outbox::routing::Route::sink()],
            upstream: None,
            upstream_bounds: accounts::upstream::UpstreamBounds::default(),
        }
    }
}

/// Handle to the rules; cheap to clone, shared by every request and worker.
#[derive(Clone)]
pub struct Core {
    pool: Pool,
    pub clock: Arc<dyn Clock>,
    keys: Arc<Keys>,
    passwords: Arc<accounts::passwords::Passwords>,
    signer: Arc<accounts::tokens::Signer>,
    texts: Arc<texts::Texts>,
    app_cache: Arc<apps::AppCache>,
    outbox_wakeup: Arc<tokio::sync::Notify>,
    upstream: Arc<accounts::upstream::Upstream>,
    metrics: Arc<metrics::Metrics>,
    options: CoreOptions,
}

impl Core {
    /// Builds the core; blocking (it reads the database and hashes a dummy password).
    pub fn new(pool: Pool, clock: Arc<dyn Clock>, keys: Keys, options: CoreOptions) -> anyhow::Result<Self> {
        let signer = accounts::tokens::load_signer(&pool, &keys)?;
        let core = Self {
            metrics: Arc::new(metrics::Metrics::new()?),
            signer: Arc::new(signer),
            pool,
            clock,
            keys: Arc::new(keys),
            passwords: Arc::new(accounts::passwords::Passwords::new(options.password_concurrency)?),
            texts: Arc::new(texts::Texts::load()?),
            app_cache: Arc::new(apps::AppCache::new(options.app_cache_ttl)),
            outbox_wakeup: Arc::new(tokio::sync::Notify::new()),
            upstream: Arc::new(accounts::upstream::Upstream::new(
                options.upstream.clone(),
                options.upstream_bounds.clone(),
                options.app_cache_ttl,
            )),
            options,
        };
        // Apps created before a dialect existed get its keys now.
        core.fill_missing_credentials()?;
        Ok(core)
    }

    pub(crate) fn conn(&self) -> Result<PooledConn> {
        let started = std::time::Instant::now();
        let conn = self.pool.get();
        self.metrics.pool_wait_seconds.with_label_values(&[] as &[&str]).observe(started.elapsed().as_secs_f64());
        Ok(conn?)
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Signalled whenever a message is committed to the outbox.
    pub fn outbox_wakeup(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_wakeup.clone()
    }

    /// The database takes a write transaction now (what every use case needs); which database
    /// it is ("sqlite" or "postgres").
    pub fn health(&self) -> Result<&'static str> {
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, store::ping)?;
        Ok(match conn.backend() {
            store::Backend::Sqlite => "sqlite",
            store::Backend::Postgres => "postgres",
        })
    }
}
