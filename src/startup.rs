//! Assembling the application: database, secret, core, background workers, HTTP server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, TrailingSlash};
use actix_web::{App as ActixApp, HttpServer, web};
use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::core::apps::NewApp;
use crate::core::captcha::CaptchaText;
use crate::core::clock::{Clock, SystemClock};
use crate::core::secrets::Keys;
use crate::core::{Core, CoreOptions};
use crate::delivery::worker::{Worker, WorkerOptions};
use crate::delivery::{Sender, sink::Sink};
use crate::http::{self, AppState};
use crate::store::{self, Backend, DbTarget};

/// What tests (and embedders) may swap in where the application is assembled. Not reachable from
/// configuration: a deployment cannot turn these on.
#[derive(Default, Clone)]
pub struct Hooks {
    pub clock: Option<Arc<dyn Clock>>,
    pub sender: Option<Arc<dyn Sender>>,
    pub captcha_text: Option<Arc<dyn CaptchaText>>,
}

/// Opens (creating and migrating if needed) the database and builds the core.
pub async fn build_core(config: &Config, hooks: &Hooks) -> anyhow::Result<Core> {
    let clock = hooks.clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let target = DbTarget::parse(&config.database_url())?;
    let pool = {
        let (target, size, timeout) =
            (target.clone(), config.database_pool_size, Duration::from_secs(config.database_timeout_secs));
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            store::migrate(&target)?;
            Ok(store::build_pool(&target, size, timeout)?)
        })
        .await??
    };
    let secret = match (&config.secret_key, target.backend) {
        (Some(key), _) => key.clone(),
        (None, Backend::Sqlite) => secret_from_file(&config.data_dir.join("secret.key"))?,
        (None, Backend::Postgres) => {
            let pool = pool.clone();
            tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
                let mut conn = pool.get()?;
                Ok(store::instance::get_or_insert(&mut conn, "secret_key", &Keys::generate_secret())?)
            })
            .await??
        }
    };
    let secret = hex::decode(secret.trim()).context("secret_key must be hex")?;
    anyhow::ensure!(secret.len() >= 32, "secret_key must be at least 32 bytes (64 hex characters)");
    let options = CoreOptions {
        app_cache_ttl: Duration::from_secs(config.app_cache_secs),
        message_retention: chrono::TimeDelta::days(config.maintenance.message_retention_days),
        ..CoreOptions::default()
    };
    let upstream = crate::upstream::LeanCloudClient::new(Duration::from_millis(config.upstream.timeout_ms))?;
    let options = CoreOptions {
        upstream: Some(Arc::new(upstream)),
        upstream_bounds: crate::core::upstream::UpstreamBounds {
            concurrency: config.upstream.concurrency,
            breaker_failures: config.upstream.breaker_failures,
            breaker_cooldown: Duration::from_secs(config.upstream.breaker_cooldown_secs),
        },
        ..options
    };
    let options = match &hooks.captcha_text {
        Some(text) => CoreOptions { captcha_text: text.clone(), ..options },
        None => options,
    };
    let keys = Keys::from_secret(&secret);
    tokio::task::spawn_blocking(move || Core::new(pool, clock, keys, options)).await?
}

/// Reads the secret file, or creates it (readable by the owner only) on first start.
fn secret_from_file(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing);
    }
    let secret = Keys::generate_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, secret.as_bytes())?;
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read_to_string(path)?),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

pub struct Application {
    port: u16,
    server: Server,
    core: Core,
    shutdown: watch::Sender<bool>,
    background: Vec<JoinHandle<()>>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Hooks::default()).await
    }

    pub async fn build_with(config: Config, hooks: Hooks) -> anyhow::Result<Self> {
        let core = build_core(&config, &hooks).await?;
        ensure_first_app(&core).await?;

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut background = Vec::new();
        if config.delivery.worker {
            let sender = hooks.sender.clone().unwrap_or_else(|| Arc::new(Sink::new(config.sink_path())));
            let options = WorkerOptions {
                poll_interval: Duration::from_millis(config.delivery.poll_interval_ms),
                batch_size: config.delivery.batch_size,
                concurrency: config.delivery.concurrency,
                max_attempts: config.delivery.max_attempts,
                lease: chrono::TimeDelta::seconds(config.delivery.lease_secs),
            };
            let worker = Worker::new(core.clone(), sender, options);
            background.push(tokio::spawn(worker.run(shutdown_rx.clone())));
        }
        if config.maintenance.purge_interval_secs > 0 {
            background.push(tokio::spawn(purge_loop(
                core.clone(),
                Duration::from_secs(config.maintenance.purge_interval_secs),
                shutdown_rx.clone(),
            )));
        }

        let listener = TcpListener::bind(&config.bind).with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState { core: core.clone(), config: Arc::new(config.clone()) });
        let prefix = config.route_prefix();
        let mut server = HttpServer::new(move || {
            ActixApp::new()
                .app_data(state.clone())
                .wrap(NormalizePath::new(TrailingSlash::MergeOnly))
                .wrap(cors())
                .wrap(TracingLogger::default())
                .service(
                    web::scope(&prefix)
                        .route("/healthz", web::get().to(http::healthz))
                        .route("/.well-known/jwks.json", web::get().to(http::jwks))
                        .configure(http::leancloud::routes)
                        .configure(http::console::routes),
                )
                .default_service(web::to(http::not_found))
        })
        .listen(listener)?
        // In-flight requests get this long to finish after SIGTERM.
        .shutdown_timeout(20);
        if let Some(workers) = config.http_workers {
            server = server.workers(workers);
        }
        Ok(Self { port, server: server.run(), core, shutdown, background })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Serves until SIGTERM / SIGINT (or the server handle is stopped), then lets in-flight
    /// requests finish and stops the background workers between messages.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let result = self.server.await;
        let _ = self.shutdown.send(true);
        for task in self.background {
            let _ = task.await;
        }
        result.map_err(Into::into)
    }

    /// Runs the server in the background; the returned handle stops it (tests).
    pub fn spawn(self) -> RunningApp {
        let handle = self.server.handle();
        let task = tokio::spawn(self.run_until_stopped());
        RunningApp { handle, task }
    }
}

pub struct RunningApp {
    handle: actix_web::dev::ServerHandle,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    /// Graceful stop: in-flight requests finish, the outbox worker stops between messages.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.task.await;
    }

    /// Stops at once, as a crash would: nothing is awaited or flushed.
    pub fn kill(self) {
        self.task.abort();
        drop(self.handle.stop(false));
    }
}

fn cors() -> Cors {
    // Browser builds of the JS SDK send X-LC-* headers and JSON, so every call is preflighted.
    // The SDK sends no credentials, so any origin may call.
    Cors::default()
        .allow_any_origin()
        .allowed_methods(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
        .allow_any_header()
        .max_age(86400)
}

async fn purge_loop(core: Core, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let core = core.clone();
        match tokio::task::spawn_blocking(move || core.purge()).await {
            Ok(Ok(report)) => tracing::info!(?report, "purged"),
            Ok(Err(e)) => tracing::warn!(error = %e, "purge failed"),
            Err(e) => tracing::warn!(error = %e, "purge task failed"),
        }
    }
}

/// The first start creates an app, so that `serve` is usable at once, and prints its keys.
async fn ensure_first_app(core: &Core) -> anyhow::Result<()> {
    let core = core.clone();
    let created = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut conn = core.pool().get()?;
        // Two instances starting on an empty PostgreSQL: only one creates it.
        store::write_tx(&mut conn, |c| -> anyhow::Result<_> {
            store::lock_key(c, "first-app")?;
            if store::apps::count(c)? > 0 {
                return Ok(None);
            }
            Ok(Some(core.create_app_in(c, NewApp { name: "Default".into(), ..Default::default() })?))
        })
    })
    .await??;
    if let Some(app) = created {
        tracing::info!(app_id = %app.id, "created the first app");
        println!(
            "Created the first app \"{}\"\n  appId:     {}\n  appKey:    {}\n  masterKey: {}",
            app.name, app.id, app.app_key, app.master_key
        );
    }
    Ok(())
}
