//! The dialect-neutral part: a test database (a fresh SQLite file, or, when
//! `PHONEBASE_TEST_DATABASE_URL` is set, a fresh PostgreSQL database of its own), the real
//! application spawned on a random port against it, its movable clock and its development sink.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use diesel::prelude::*;
use phonebase::config::Config;
use phonebase::core::Core;
use phonebase::core::apps::{App, NewApp};
use phonebase::core::clock::{Clock, ShiftedClock};
use phonebase::core::codes::captcha::CaptchaText;
use phonebase::delivery::Sender;
use phonebase::startup::{Application, Hooks, RunningApp};
use serde_json::Value;

use super::code_in;

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        phonebase::telemetry::init(phonebase::config::LogFormat::Text);
    }
});

/// A database for one test: a file in a temporary directory, or a PostgreSQL database with a
/// random name that is dropped when the test ends.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    /// PostgreSQL's server secret (it comes from the configuration, never from the database);
    /// `None` on SQLite, which generates `secret.key` in the data directory.
    pub secret: Option<String>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("PHONEBASE_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("phonebase_test_{}", uuid::Uuid::new_v4().simple());
                phonebase::store::init_tls_library();
                let mut admin = PgConnection::establish(&admin_url).expect("PHONEBASE_TEST_DATABASE_URL reachable");
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create test database");
                let base = admin_url.rsplit_once('/').map(|(b, _)| b).expect("URL with a database name");
                let secret = Some(phonebase::core::secrets::Keys::generate_secret());
                Self { url: format!("{base}/{name}"), dir, secret, pg: Some((admin_url, name)) }
            }
            _ => {
                let url = format!("sqlite://{}", dir.path().join("phonebase.db").display());
                Self { url, dir, secret: None, pg: None }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.pg
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
        }
    }
}

#[derive(Default)]
pub struct Options {
    /// Run the outbox worker (default true).
    pub no_worker: bool,
    pub sender: Option<Arc<dyn Sender>>,
    pub clock: Option<ShiftedClock>,
    pub trusted_proxies: Vec<&'static str>,
    pub base_path: &'static str,
    /// Directory whose data (secret, sink) to share, for a second instance or a restart.
    pub data_dir: Option<PathBuf>,
    /// Where captcha answers come from (default: the CSPRNG, whose answers a test cannot know).
    pub captcha_text: Option<Arc<dyn CaptchaText>>,
    /// The server secret (default: the test database's, see `TestDb::secret`).
    pub secret_key: Option<String>,
    /// Secrets of before a rotation.
    pub secret_keys_previous: Vec<String>,
    /// `[[delivery.providers]]` (default: none, the development sink).
    pub providers: Vec<phonebase::config::ProviderConfig>,
    /// Circuit breaker: (failures that open it, seconds it stays open).
    pub breaker: Option<(u32, u64)>,
    /// Messages the outbox worker sends at once (default: the configuration's).
    pub worker_concurrency: Option<usize>,
}

pub struct TestApp {
    pub address: String,
    pub core: Core,
    pub clock: ShiftedClock,
    pub app: App,
    pub sink: PathBuf,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    running: Option<RunningApp>,
}

pub fn config(db: &TestDb, options: &Options) -> Config {
    let data_dir = options.data_dir.clone().unwrap_or_else(|| db.dir.path().to_path_buf());
    let mut config = Config {
        bind: "127.0.0.1:0".into(),
        data_dir,
        database_url: Some(db.url.clone()),
        database_pool_size: 6,
        trusted_proxies: options.trusted_proxies.iter().map(|p| p.parse().unwrap()).collect(),
        http_workers: Some(2),
        base_path: options.base_path.into(),
        secret_key: options.secret_key.clone().or_else(|| db.secret.clone()),
        secret_keys_previous: options.secret_keys_previous.clone(),
        ..Config::default()
    };
    config.delivery.worker = !options.no_worker;
    config.delivery.providers = options.providers.clone();
    if let Some((failures, open_secs)) = options.breaker {
        config.delivery.breaker_failures = failures;
        config.delivery.breaker_open_secs = open_secs;
    }
    if let Some(concurrency) = options.worker_concurrency {
        config.delivery.concurrency = concurrency;
    }
    config.delivery.poll_interval_ms = 50;
    config.maintenance.purge_interval_secs = 0;
    config
}

impl TestApp {
    /// A running server with a fresh app in it.
    pub async fn spawn(db: &TestDb) -> Self {
        Self::spawn_with(db, Options::default()).await
    }

    pub async fn spawn_with(db: &TestDb, options: Options) -> Self {
        let app = Self::start(db, options, None).await;
        let created = app.core.create_app(NewApp { name: "Testapp".into(), ..Default::default() }).expect("create app");
        app.with_app(created)
    }

    /// The same server, speaking for another app.
    pub fn with_app(mut self, app: App) -> Self {
        self.app = app;
        self
    }

    /// Another instance on the same database and data directory, serving the same app.
    pub async fn another_instance(&self, db: &TestDb, mut options: Options) -> Self {
        options.data_dir = Some(self.data_dir.clone());
        Self::start(db, options, Some(self.app.clone())).await
    }

    async fn start(db: &TestDb, options: Options, app: Option<App>) -> Self {
        LazyLock::force(&TRACING);
        let config = config(db, &options);
        let clock = options.clock.clone().unwrap_or_default();
        let hooks = Hooks {
            clock: Some(Arc::new(clock.clone()) as Arc<dyn Clock>),
            sender: options.sender.clone(),
            captcha_text: options.captcha_text.clone(),
        };
        let application = Application::build_with(config.clone(), hooks).await.expect("application builds");
        let address = format!("http://127.0.0.1:{}", application.port());
        let core = application.core().clone();
        let running = application.spawn();
        let app = app.unwrap_or_else(|| core.list_apps().unwrap().remove(0));
        TestApp {
            address,
            core,
            clock,
            app,
            sink: config.sink_path(),
            client: reqwest::Client::new(),
            data_dir: config.data_dir.clone(),
            running: Some(running),
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// Ends the server abruptly, as a crash would.
    pub fn kill(mut self) {
        if let Some(r) = self.running.take() {
            r.kill();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Messages the sink wrote to `e164`, oldest first.
    pub fn sink_lines(&self, e164: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.sink).unwrap_or_default();
        text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|v| v["to"] == e164).collect()
    }

    /// Waits until the sink holds `count` messages for `e164`; returns the newest.
    pub async fn wait_for_message(&self, e164: &str, count: usize) -> Value {
        for _ in 0..200 {
            let lines = self.sink_lines(e164);
            if lines.len() >= count {
                return lines[count - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no message #{count} for {e164} in {}", self.sink.display());
    }

    /// The code in the newest (`count`-th) message to `e164`.
    pub async fn wait_for_code(&self, e164: &str, count: usize) -> String {
        code_in(self.wait_for_message(e164, count).await["text"].as_str().unwrap())
    }

    pub fn update_settings(&self, patch: Value) {
        self.core.update_app_settings(&self.app.id, patch).expect("settings update");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.kill();
        }
    }
}
