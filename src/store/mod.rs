//! Storage: one Diesel code base over SQLite (the embedded default) and PostgreSQL (shared by
//! several instances). Everything here is plain queries; the rules live in `core`.

pub mod app_providers;
pub mod apps;
pub mod attempts;
pub mod balances;
pub mod captchas;
pub mod circuits;
pub mod codes;
pub mod counters;
pub mod credentials;
pub mod delivery;
pub mod imports;
pub mod instance;
pub mod item_extras;
pub mod messages;
pub mod open_api;
pub mod operators;
pub mod schedules;
pub mod schema;
pub mod sends;
pub mod sessions;
pub mod stats;
pub mod templates;
pub mod upstreams;
pub mod users;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection, TransactionManager,
};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel::sql_types::Text;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type for both backends. Portable queries run on it directly; the few that
/// differ (`BEGIN IMMEDIATE`, advisory locks, `FOR UPDATE SKIP LOCKED`) match on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use postgres://... or sqlite://PATH")]
    BadUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::PoolError),
}

/// Where the database is, told apart by URL scheme (never by trying one backend after another:
/// SQLite would accept any string as a file name).
#[derive(Debug, Clone)]
pub struct DbTarget {
    pub backend: Backend,
    /// For PostgreSQL the URL, for SQLite the file path.
    pub location: String,
}

impl DbTarget {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self { backend: Backend::Postgres, location: url.to_string() });
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"));
        match path {
            Some(p) if !p.is_empty() => Ok(Self { backend: Backend::Sqlite, location: p.to_string() }),
            _ => Err(StoreError::BadUrl(url.to_string())),
        }
    }

    fn connect(&self) -> Result<DbConn, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                init_tls_library();
                Ok(DbConn::Postgres(diesel::PgConnection::establish(&self.location)?))
            }
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.location)?;
                // busy_timeout first: the others may already need the lock (see rust-stack notes).
                for pragma in [
                    "PRAGMA busy_timeout = 10000;",
                    "PRAGMA journal_mode = WAL;",
                    "PRAGMA synchronous = NORMAL;",
                    "PRAGMA foreign_keys = ON;",
                ] {
                    c.batch_execute(pragma).map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                }
                Ok(DbConn::Sqlite(c))
            }
        }
    }
}

/// Initialises the OpenSSL that libpq uses for TLS to PostgreSQL, without its exit-time cleanup.
/// Call before the process opens its first PostgreSQL connection (every connection made here
/// does). Why: with OpenSSL's `atexit` handler, a process that exits while another thread still
/// holds a TLS connection to the server (a pool's connections, a worker) could crash in that
/// cleanup (SIGSEGV at exit, seen in test runs). rust-openssl's own `init` sets
/// `OPENSSL_INIT_NO_ATEXIT` for this reason.
pub fn init_tls_library() {
    openssl_sys::init();
}

/// r2d2 manager that builds the variant the URL names.
#[derive(Debug)]
pub struct Manager {
    target: DbTarget,
    counts: Arc<DbCounts>,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        let mut conn = self.target.connect().map_err(r2d2::Error::ConnectionError)?;
        conn.set_instrumentation(Health { answered_at: Instant::now(), closed: false, counts: self.counts.clone() });
        Ok(conn)
    }

    /// Checked on every checkout, but a round trip (`SELECT 1`) only for a connection that has
    /// not answered for [`PING_AFTER_IDLE`]: under load every checkout would otherwise cost one
    /// extra round trip per request (4 of the 19 statements of a code request were these pings).
    /// A connection that answered a moment ago is as good as a ping; one that broke since is
    /// caught by [`Self::has_broken`] when its failed query gives it back.
    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        if health(conn).is_some_and(|h| h.answered_at.elapsed() < PING_AFTER_IDLE) {
            return Ok(());
        }
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    /// A connection given back by a panicking thread, or still inside a transaction (or with a
    /// failed one), is closed rather than pooled: the database then rolls back whatever it held,
    /// and no later request inherits its open transaction or its locks. So is one whose server
    /// went away (a statement failed with a closed connection): the next checkout gets a new one.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking()
            || diesel::r2d2::R2D2Connection::is_broken(conn)
            || health(conn).is_some_and(|h| h.closed)
    }
}

/// How long a pooled connection may sit unused before a checkout pings it first.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Statements and transactions run by a pool's connections since it was built (the outbox
/// worker's included): `GET /metrics` shows them, and the benchmark divides them by requests.
#[derive(Debug, Default)]
pub struct DbCounts {
    statements: AtomicU64,
    commits: AtomicU64,
}

impl DbCounts {
    /// (statements, committed transactions) so far. Every statement sent is counted, those of
    /// `BEGIN`/`COMMIT` and pings included: each is one round trip on PostgreSQL.
    pub fn get(&self) -> (u64, u64) {
        (self.statements.load(Ordering::Relaxed), self.commits.load(Ordering::Relaxed))
    }
}

/// Each pooled connection's own bookkeeping, installed as its Diesel instrumentation.
struct Health {
    /// When the server last answered a statement without a connection error.
    answered_at: Instant,
    /// A statement failed because the connection is gone.
    closed: bool,
    counts: Arc<DbCounts>,
}

impl Instrumentation for Health {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::FinishQuery { error, .. } => {
                self.counts.statements.fetch_add(1, Ordering::Relaxed);
                match error {
                    Some(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ClosedConnection,
                        _,
                    )) => self.closed = true,
                    _ => self.answered_at = Instant::now(),
                }
            }
            InstrumentationEvent::CommitTransaction { .. } => {
                self.counts.commits.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

fn health(conn: &mut DbConn) -> Option<&mut Health> {
    conn.instrumentation().downcast_mut::<Health>()
}

/// The statement counts of the pool `conn` came from (`None` for a connection made outside a
/// pool).
pub fn counts(conn: &mut DbConn) -> Option<(u64, u64)> {
    health(conn).map(|h| h.counts.get())
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Postgres(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs the embedded migrations of the target's backend. On PostgreSQL several instances may start
/// at once, so the run is serialised with a session advisory lock.
pub fn migrate(target: &DbTarget) -> Result<(), StoreError> {
    let mut conn = target.connect()?;
    let result = match &mut conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConn::Postgres(c) => {
            c.batch_execute("SELECT pg_advisory_lock(7245118730001)")?;
            let r = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            c.batch_execute("SELECT pg_advisory_unlock(7245118730001)")?;
            r
        }
    };
    result.map_err(|e| StoreError::Migration(e.to_string()))
}

pub fn build_pool(target: &DbTarget, size: u32, timeout: Duration) -> Result<Pool, StoreError> {
    let manager = Manager { target: target.clone(), counts: Arc::default() };
    Ok(r2d2::Pool::builder().max_size(size).connection_timeout(timeout).build(manager)?)
}

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE` so that it takes the write lock
/// up front and waits for it (a deferred transaction that upgrades later fails with "database is
/// locked" under concurrency). On PostgreSQL it is an ordinary READ COMMITTED transaction; rules that
/// count before they write take an advisory lock with [`lock_key`].
pub fn write_tx<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    write_tx_locking(conn, &[], f)
}

/// [`write_tx`] that first takes [`lock_key`]'s lock on each of `locks`, in order, in the same
/// round trip as the `BEGIN` on PostgreSQL (SQLite's `BEGIN IMMEDIATE` serialises every writer
/// already).
pub fn write_tx_locking<T, E>(
    conn: &mut DbConn,
    locks: &[String],
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    // Keys that could not be written as plain literals are locked with parameters instead.
    let batched = matches!(conn, DbConn::Postgres(_)) && locks.iter().all(|k| !k.contains(['\\', '\0']));
    // SQLite has one writer at a time. Letting the pool's connections race for the lock makes
    // the losers poll it with sleeps of up to 100 ms (busy_timeout), which showed as a long
    // latency tail in the benchmark; queueing them here hands the lock over at once. Other
    // processes on the same file still meet busy_timeout. Never nest write_tx.
    let _gate = match conn {
        DbConn::Sqlite(_) => Some(SQLITE_WRITE_GATE.lock().unwrap_or_else(|e| e.into_inner())),
        DbConn::Postgres(_) => None,
    };
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Postgres(c) if batched && !locks.is_empty() => {
            // One round trip for the BEGIN and the locks. The keys are SQL literals here (a
            // simple-query batch takes no parameters); `quoted` doubles quotes, and the lock is
            // the same as `lock_key`'s for the same key.
            let mut sql = String::from("BEGIN;");
            for key in locks {
                sql.push_str(&format!(" SELECT pg_advisory_xact_lock(hashtextextended({}, 0));", quoted(key)));
            }
            if let Err(e) = AnsiTransactionManager::begin_transaction_sql(c, &sql) {
                // A lock that failed leaves the server inside an aborted transaction.
                let _ = c.batch_execute("ROLLBACK");
                return Err(e.into());
            }
        }
        DbConn::Postgres(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn)?,
    }
    // A panic inside the work must not leave the transaction open on a pooled connection: roll
    // back, then let the panic go on (the pool closes connections given back while panicking).
    let work = |conn: &mut DbConn| -> Result<T, E> {
        if !batched {
            for key in locks {
                lock_key(conn, key)?;
            }
        }
        f(conn)
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn))) {
        Ok(Ok(value)) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Ok(Err(e)) => {
            // The original error matters more than a failed rollback.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
        Err(panic) => {
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            std::panic::resume_unwind(panic)
        }
    }
}

/// Runs `f`, whose statements are each correct on their own (conditional updates that re-check
/// their condition under the row lock, inserts), with as few round trips as each backend allows.
/// On PostgreSQL every statement commits by itself (no `BEGIN`/`COMMIT`: two round trips fewer);
/// each is durable before the next runs, so nothing is acknowledged before it is on disk. On
/// SQLite it is one [`write_tx`] (the write gate and `BEGIN IMMEDIATE`: a lone statement there
/// would take the write lock by polling `busy_timeout`). Never use it for work whose statements
/// must commit together, or that counts before it writes.
pub fn write_each<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Postgres(_) => f(conn),
        DbConn::Sqlite(_) => write_tx(conn, f),
    }
}

/// The cheapest statement: does the connection answer (inside [`write_tx`]: can it write)?
pub fn ping(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

/// `text` (no backslash, no NUL) as a PostgreSQL string literal: only quotes need doubling, with
/// `standard_conforming_strings` on or off.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

static SQLITE_WRITE_GATE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Serialises transactions that touch the same key until the transaction ends. On SQLite the
/// `BEGIN IMMEDIATE` of [`write_tx`] already serialises every writer, so this is a no-op there.
pub fn lock_key(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    if let DbConn::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind::<Text, _>(key).execute(c)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// `.cargo/config.toml` builds the bundled SQLite with `SQLITE_ENABLE_QPSG`: without it every
    /// cached statement with a bound LIMIT is compiled again on each use (see the comment there).
    #[test]
    fn bundled_sqlite_keeps_prepared_statements() {
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options").load(&mut conn).unwrap();
        assert!(
            options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "SQLite built without SQLITE_ENABLE_QPSG (LIBSQLITE3_FLAGS in .cargo/config.toml)"
        );
    }
}
