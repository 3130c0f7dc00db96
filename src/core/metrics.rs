//! What Prometheus scrapes (`GET /metrics`): counters the rules keep as they work (codes, logins,
//! messages) and gauges read when scraped (outbox depth and age, the connection pool, the password
//! hashing queue). One registry per `Core`, so two instances in one process (the tests) never
//! mix their figures. HTTP request counts and latencies are added by the HTTP layer to the same
//! registry.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::{Core, Error, Result};
use crate::store;

/// The registry and the series the core writes to.
pub struct Metrics {
    pub registry: Registry,
    /// Codes issued, by channel (`sms`, `voice`).
    pub codes_issued: IntCounterVec,
    /// Sends refused, by reason (`limit`, `captcha`, `balance`, `template`, `invalid`, ...).
    pub sends_refused: IntCounterVec,
    /// Code checks, by outcome (`verified`, `wrong`, `expired`, `used`).
    pub code_checks: IntCounterVec,
    /// Logins, by method (`password`, `sms_code`) and outcome (`ok`, `wrong`, `locked`, `unknown`,
    /// `refused`).
    pub logins: IntCounterVec,
    /// Messages that reached a final or intermediate status, by status and provider.
    pub deliveries: IntCounterVec,
    /// Seconds from queueing to the provider's acceptance, by provider.
    pub delivery_seconds: HistogramVec,
    /// Seconds a request waited for a database connection.
    pub pool_wait_seconds: HistogramVec,
    outbox_messages: IntGaugeVec,
    outbox_oldest_seconds: IntGauge,
    pool_connections: IntGaugeVec,
    password_hashes: IntGaugeVec,
    /// Statements the pool's connections sent (one round trip each on PostgreSQL), read from the
    /// pool when scraped.
    db_statements: IntCounter,
    /// Transactions the pool's connections committed, read from the pool when scraped.
    db_commits: IntCounter,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> prometheus::Result<HistogramVec> {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)?;
    registry.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("phonebase".into()), None)?;
        let r = &registry;
        let outbox_oldest_seconds =
            IntGauge::new("outbox_oldest_queued_seconds", "Age of the oldest message waiting in the outbox")?;
        registry.register(Box::new(outbox_oldest_seconds.clone()))?;
        let db_statements = IntCounter::new("db_statements_total", "Statements sent to the database")?;
        registry.register(Box::new(db_statements.clone()))?;
        let db_commits = IntCounter::new("db_commits_total", "Database transactions committed")?;
        registry.register(Box::new(db_commits.clone()))?;
        Ok(Self {
            db_statements,
            db_commits,
            codes_issued: counter(r, "codes_issued_total", "Verification codes issued", &["channel"])?,
            sends_refused: counter(r, "sends_refused_total", "Sends refused before anything was queued", &["reason"])?,
            code_checks: counter(r, "code_checks_total", "Verification code checks", &["outcome"])?,
            logins: counter(r, "logins_total", "Login attempts", &["method", "outcome"])?,
            deliveries: counter(r, "deliveries_total", "Delivery outcomes", &["status", "provider"])?,
            delivery_seconds: histogram(
                r,
                "delivery_seconds",
                "Seconds from queueing to the provider's acceptance",
                &["provider"],
                vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0],
            )?,
            pool_wait_seconds: histogram(
                r,
                "db_pool_wait_seconds",
                "Seconds spent waiting for a database connection",
                &[],
                vec![0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0],
            )?,
            outbox_messages: gauge(r, "outbox_messages", "Messages in the log, by status", &["status"])?,
            outbox_oldest_seconds,
            pool_connections: gauge(r, "db_pool_connections", "Database connections, by state", &["state"])?,
            password_hashes: gauge(r, "password_hashes", "Password hashes, running or waiting", &["state"])?,
            registry,
        })
    }

    /// The reason label of a refused send.
    pub fn refusal_reason(e: &Error) -> &'static str {
        match e {
            Error::TooFrequentForPhone | Error::TooFrequentForIp | Error::TooManyGuesses => "limit",
            Error::CaptchaRequired | Error::InvalidValidateToken | Error::WrongCaptcha => "captcha",
            Error::BalanceExhausted => "balance",
            Error::TemplateNotFound
            | Error::TemplateNotApproved
            | Error::TemplateRender(_)
            | Error::InvalidSignature
            | Error::WrongTemplateCategory => "template",
            Error::SmsDisabled | Error::InternationalDisabled | Error::VoiceDomesticOnly => "disabled",
            Error::NoProvider(_) => "no_provider",
            Error::Busy | Error::Internal(_) => "error",
            _ => "invalid",
        }
    }
}

impl Core {
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts a send of `app_id` refused with `e`: the Prometheus counter, and the app's count for
    /// this hour and reason in the database (the console's dashboard reads it, from any instance).
    /// One upsert in a short transaction of its own, after the refused one rolled back; refusals
    /// for `error` (the database or the pool failing) are not written, so an outage is not
    /// deepened. A failure to count is logged, never the caller's error.
    pub(crate) fn count_refusal(&self, app_id: &str, e: &Error) {
        let reason = Metrics::refusal_reason(e);
        self.metrics.sends_refused.with_label_values(&[reason]).inc();
        if reason == "error" {
            return;
        }
        let hour = crate::core::clock::hour_of(self.clock.now_naive());
        let written = self.conn().and_then(|mut conn| {
            store::write_tx(&mut conn, |c| store::stats::count_refusal(c, app_id, hour, reason)).map_err(Error::from)
        });
        if let Err(e) = written {
            tracing::warn!(error = %e, reason, "could not count a refused send");
        }
    }

    /// Reads the gauges and renders every series in Prometheus' text format.
    pub fn render_metrics(&self) -> Result<String> {
        let m = &self.metrics;
        let state = self.pool().state();
        m.pool_connections.with_label_values(&["idle"]).set(i64::from(state.idle_connections));
        m.pool_connections.with_label_values(&["busy"]).set(i64::from(state.connections - state.idle_connections));
        let (running, waiting) = self.passwords.queue();
        m.password_hashes.with_label_values(&["running"]).set(running as i64);
        m.password_hashes.with_label_values(&["waiting"]).set(waiting as i64);
        let mut conn = self.conn()?;
        m.outbox_messages.reset();
        // Every status is a series, even at zero (an alert on "queued" needs one to exist).
        for status in
            [store::messages::QUEUED, store::messages::SENT, store::messages::DELIVERED, store::messages::FAILED]
        {
            m.outbox_messages.with_label_values(&[status]).set(0);
        }
        for (status, n) in store::stats::messages_by_status(&mut conn)? {
            m.outbox_messages.with_label_values(&[status.as_str()]).set(n);
        }
        let oldest = store::stats::oldest_queued(&mut conn)?;
        if let Some((statements, commits)) = store::counts(&mut conn) {
            // Counters only go up: add what was run since the last scrape.
            m.db_statements.inc_by(statements.saturating_sub(m.db_statements.get()));
            m.db_commits.inc_by(commits.saturating_sub(m.db_commits.get()));
        }
        let age = oldest.map_or(0, |at| (self.clock.now_naive() - at).num_seconds().max(0));
        m.outbox_oldest_seconds.set(age);
        drop(conn);
        let mut out = Vec::new();
        TextEncoder::new().encode(&m.registry.gather(), &mut out).map_err(Error::internal)?;
        String::from_utf8(out).map_err(Error::internal)
    }
}
