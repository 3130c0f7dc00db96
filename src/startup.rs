//! Assembling the application: database, secret, core, background workers, HTTP server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::{NormalizePath, TrailingSlash, from_fn};
use actix_web::{App as ActixApp, HttpResponse, HttpServer, web};
use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::core::apps::NewApp;
use crate::core::clock::{Clock, SystemClock};
use crate::core::codes::captcha::CaptchaText;
use crate::core::secrets::Keys;
use crate::core::{Core, CoreOptions};
use crate::delivery::Sender;
use crate::delivery::breaker::Breaker;
use crate::delivery::providers::Providers;
use crate::delivery::worker::{Worker, WorkerOptions};
use crate::http::edge::RedactedRootSpan;
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

/// The name under which versions before 0.2 kept the server secret in PostgreSQL.
const LEGACY_SECRET: &str = "secret_key";

/// Opens (creating and migrating if needed) the database and builds the core.
pub async fn build_core(config: &Config, hooks: &Hooks) -> anyhow::Result<Core> {
    config.validate().map_err(anyhow::Error::msg)?;
    let clock = hooks.clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let target = DbTarget::parse(&config.database_url())?;
    let configured = configured_secret(config)?;
    if configured.is_none() && target.backend == Backend::Postgres {
        // Refuse before touching the schema, saying whether the database holds a secret to move.
        let legacy = legacy_secret_at(&target).await.unwrap_or(None);
        anyhow::bail!(if legacy.is_some() { MOVE_LEGACY_SECRET } else { POSTGRES_NEEDS_SECRET });
    }
    let pool = {
        let (target, size, timeout) =
            (target.clone(), config.database_pool_size, Duration::from_secs(config.database_timeout_secs));
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            store::migrate(&target)?;
            Ok(store::build_pool(&target, size, timeout)?)
        })
        .await??
    };
    let secret = match configured {
        Some(secret) => secret,
        None => secret_from_file(&config.data_dir.join("secret.key"))?,
    };
    let secret = decode_secret(&secret, "secret_key")?;
    let previous = config
        .secret_keys_previous
        .iter()
        .map(|s| decode_secret(s, "secret_keys_previous"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    {
        // A secret an older version kept in the database goes, once it is in the configuration.
        let (pool, accepted) = (pool.clone(), std::iter::once(&secret).chain(&previous).cloned().collect::<Vec<_>>());
        tokio::task::spawn_blocking(move || forget_legacy_secret(&pool, &accepted)).await??;
    }
    let options = CoreOptions {
        routes: Providers::from_config(config, hooks.sender.clone())?.routes(),
        app_cache_ttl: Duration::from_secs(config.app_cache_secs),
        message_retention: chrono::TimeDelta::days(config.maintenance.message_retention_days),
        ..CoreOptions::default()
    };
    let upstream = crate::upstream::LeanCloudClient::new(Duration::from_millis(config.upstream.timeout_ms))?;
    let options = CoreOptions {
        upstream: Some(Arc::new(upstream)),
        upstream_bounds: crate::core::accounts::upstream::UpstreamBounds {
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
    let keys = Keys::with_previous(&secret, &previous);
    tokio::task::spawn_blocking(move || Core::new(pool, clock, keys, options)).await?
}

const POSTGRES_NEEDS_SECRET: &str = "PostgreSQL needs a server secret from the configuration: it is never kept in the \
database it protects. Generate one with `phonebase secret generate > /etc/phonebase/secret.key` (mode 600) and give \
the same one to every instance: `secret_key_file = \"/etc/phonebase/secret.key\"` in phonebase.toml, or the \
environment variable PHONEBASE_SECRET_KEY (or `secret_key`)";

const MOVE_LEGACY_SECRET: &str = "this database holds the server secret (table instance_settings, name \
'secret_key'), where a copy of the database gives away every live code and session. Move it into the \
configuration: `phonebase secret from-database > /etc/phonebase/secret.key` (mode 600), then set \
`secret_key_file = \"/etc/phonebase/secret.key\"` in phonebase.toml (or PHONEBASE_SECRET_KEY) on every \
instance and start again: the database's copy is then deleted. A new secret instead would end every session and \
live code";

/// The secret from `secret_key` or `secret_key_file`, if configured.
fn configured_secret(config: &Config) -> anyhow::Result<Option<String>> {
    match (&config.secret_key, &config.secret_key_file) {
        (Some(_), Some(_)) => anyhow::bail!("set secret_key or secret_key_file, not both"),
        (Some(key), None) => Ok(Some(key.clone())),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(Some)
            .with_context(|| format!("cannot read secret_key_file {}", path.display())),
        (None, None) => Ok(None),
    }
}

fn decode_secret(hex_secret: &str, name: &str) -> anyhow::Result<Vec<u8>> {
    let secret = hex::decode(hex_secret.trim()).with_context(|| format!("{name} must be hex"))?;
    anyhow::ensure!(secret.len() >= 32, "{name} must be at least 32 bytes (64 hex characters)");
    Ok(secret)
}

/// The secret an older version kept in a PostgreSQL database, if any (`phonebase secret
/// from-database`). Nothing is migrated or written.
pub async fn legacy_secret(config: &Config) -> anyhow::Result<Option<String>> {
    let target = DbTarget::parse(&config.database_url())?;
    anyhow::ensure!(target.backend == Backend::Postgres, "only PostgreSQL databases ever held the secret");
    legacy_secret_at(&target).await
}

async fn legacy_secret_at(target: &DbTarget) -> anyhow::Result<Option<String>> {
    let target = target.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Option<String>> {
        let pool = store::build_pool(&target, 1, Duration::from_secs(5))?;
        let mut conn = pool.get()?;
        // A database that was never migrated has no such table: then there is nothing to move.
        Ok(store::instance::get(&mut conn, LEGACY_SECRET).ok().flatten())
    })
    .await?
}

/// Deletes the legacy secret row when it holds one of the accepted secrets; refuses to start when
/// it holds another (what it protects would become unreadable).
fn forget_legacy_secret(pool: &store::Pool, accepted: &[Vec<u8>]) -> anyhow::Result<()> {
    let mut conn = pool.get()?;
    let Some(stored) = store::instance::get(&mut conn, LEGACY_SECRET)? else {
        return Ok(());
    };
    let known = hex::decode(stored.trim()).is_ok_and(|s| accepted.contains(&s));
    anyhow::ensure!(
        known,
        "this database holds a server secret (instance_settings 'secret_key') that is neither secret_key nor in \
         secret_keys_previous: add it to secret_keys_previous (`phonebase secret from-database` prints it), or \
         what it protects (sessions, live codes, the JWT key) cannot be read"
    );
    store::write_tx(&mut conn, |c| store::instance::delete(c, LEGACY_SECRET, &stored))?;
    tracing::info!("deleted the server secret from the database: it is read from the configuration now");
    Ok(())
}

/// Creates or upgrades the schema, and nothing else (needs no secret).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let target = DbTarget::parse(&config.database_url())?;
    tokio::task::spawn_blocking(move || store::migrate(&target)).await??;
    Ok(())
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
        let secs = |s: u64| chrono::TimeDelta::seconds(i64::try_from(s).unwrap_or(60));
        let breaker = Arc::new(Breaker::new(
            config.delivery.breaker_failures,
            secs(config.delivery.breaker_open_secs),
            secs(config.delivery.breaker_window_secs),
            core.clock.clone(),
            core.pool().clone(),
        ));
        if config.delivery.worker {
            let providers = Arc::new(Providers::from_config(&config, hooks.sender.clone())?);
            providers.attach(&core);
            let options = WorkerOptions {
                poll_interval: Duration::from_millis(config.delivery.poll_interval_ms),
                batch_size: config.delivery.batch_size,
                concurrency: config.delivery.concurrency,
                max_attempts: config.delivery.max_attempts,
                lease: chrono::TimeDelta::seconds(config.delivery.lease_secs),
            };
            let worker = Worker::new(core.clone(), providers, breaker.clone(), options);
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
        let state = web::Data::new(AppState { core: core.clone(), config: Arc::new(config.clone()), breaker });
        let prefix = config.route_prefix();
        // Requests by route pattern (never the raw path: random 404s would grow the label set),
        // method and status, with latencies, into the core's registry.
        let http_metrics = actix_web_prom::PrometheusMetricsBuilder::new("")
            .registry(core.metrics().registry.clone())
            .mask_unmatched_patterns("UNKNOWN")
            .build()
            .map_err(|e| anyhow::anyhow!("HTTP metrics: {e}"))?;
        let mut server = HttpServer::new(move || {
            ActixApp::new()
                .app_data(state.clone())
                .wrap(http_metrics.clone())
                .wrap(NormalizePath::new(TrailingSlash::MergeOnly))
                // MinCloud's SDK ends paths with `/`, curl users may not: both reach one route.
                .wrap(from_fn(http::mincloud::trailing_slash))
                .wrap(cors())
                // Outside CORS, so that a refused preflight gets a JSON body too.
                .wrap(from_fn(|req, next| http::edge::finish(req, next, error_body)))
                .wrap(TracingLogger::<RedactedRootSpan>::new())
                .service(
                    web::scope(&prefix)
                        .route("/healthz", web::get().to(http::healthz))
                        .route("/metrics", web::get().to(http::metrics))
                        .route("/.well-known/jwks.json", web::get().to(http::jwks))
                        .configure(http::leancloud::routes)
                        .configure(http::jpush::routes)
                        .configure(http::mincloud::routes)
                        .configure(http::bmob::routes)
                        .configure(http::reports::routes)
                        .configure(http::console::routes)
                        .configure(http::openapi::routes),
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

/// The error body of a status the framework chose, in the format of the part the path (within
/// the route prefix) belongs to: the console's under `/console`, Bmob's under `/1`, JPush's under
/// `/v1`, MinCloud's under its prefixes, LeanCloud's everywhere else.
fn error_body(path: &str, status: StatusCode) -> HttpResponse {
    if path == "/console" || path.starts_with("/console/") {
        http::console::error_body(path.starts_with("/console/api/"), status)
    } else if path == "/1" || path.starts_with("/1/") {
        http::bmob::error_body(status)
    } else if path == "/v1" || path.starts_with("/v1/") {
        http::jpush::error_body(status)
    } else if http::mincloud::owns(path) {
        http::mincloud::error_body(status)
    } else {
        http::leancloud::error_body(status)
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
