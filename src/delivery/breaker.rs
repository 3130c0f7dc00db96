//! A circuit breaker per provider, shared by every instance on the database (a row of
//! `provider_circuits` each): after `threshold` retryable failures within `window` the provider is
//! skipped for `open_for`, by every instance; then one probe message, taken by one instance
//! only, may try it (half-open): success closes the circuit, failure opens it again. Permanent
//! failures are about the message, not the provider, and do not count.
//!
//! Every change is a single conditional UPDATE (see `store::circuits`), made before or after a
//! provider call, never around one. A probe claim expires after `open_for`, so an instance that
//! dies while probing does not keep the circuit half-open for ever. These calls block: the
//! worker makes them off the async threads.

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeDelta};

use crate::core::clock::Clock;
use crate::store::{self, Pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    /// The cool-down is over: one probe is (or may be) under way.
    HalfOpen,
    /// The database could not be asked.
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
            State::Unknown => "unknown",
        }
    }
}

/// Whether a message may go to a provider now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The circuit is closed and counts no failure: a success needs no write.
    Clear,
    /// The circuit is closed, with failures counted in its window.
    Go,
    /// The circuit is half-open and this caller holds its one probe: report back with
    /// `success`, `failure` or `release`.
    Probe,
    /// Open, or half-open with the probe taken elsewhere.
    Skip,
}

pub struct Breaker {
    threshold: i32,
    open_for: TimeDelta,
    window: TimeDelta,
    clock: Arc<dyn Clock>,
    pool: Pool,
}

impl Breaker {
    /// `threshold` retryable failures within `window` open the circuit for `open_for`.
    pub fn new(threshold: u32, open_for: TimeDelta, window: TimeDelta, clock: Arc<dyn Clock>, pool: Pool) -> Self {
        Self { threshold: i32::try_from(threshold.max(1)).unwrap_or(i32::MAX), open_for, window, clock, pool }
    }

    fn now(&self) -> NaiveDateTime {
        self.clock.now_naive()
    }

    pub fn state(&self, provider: &str) -> State {
        let row =
            self.pool.get().map_err(anyhow::Error::from).and_then(|mut c| Ok(store::circuits::find(&mut c, provider)?));
        match row {
            Ok(row) => match row.and_then(|r| r.opened_until) {
                None => State::Closed,
                Some(until) if self.now() < until => State::Open,
                Some(_) => State::HalfOpen,
            },
            Err(e) => {
                tracing::warn!(provider, error = format!("{e:#}"), "circuit state unreadable");
                State::Unknown
            }
        }
    }

    /// Whether a message may go to `provider` now; a half-open provider lets one probe through,
    /// across all instances.
    pub fn admit(&self, provider: &str) -> anyhow::Result<Admission> {
        let now = self.now();
        let mut conn = self.pool.get()?;
        let row = store::circuits::find(&mut conn, provider)?;
        let Some(until) = row.as_ref().and_then(|r| r.opened_until) else {
            let counted = row.is_some_and(|r| r.failures > 0 || r.probe_until.is_some());
            return Ok(if counted { Admission::Go } else { Admission::Clear });
        };
        if now < until {
            return Ok(Admission::Skip);
        }
        Ok(if store::circuits::claim_probe(&mut conn, provider, now, now + self.open_for)? {
            Admission::Probe
        } else {
            Admission::Skip
        })
    }

    pub fn success(&self, provider: &str) -> anyhow::Result<()> {
        let mut conn = self.pool.get()?;
        Ok(store::circuits::close(&mut conn, provider, self.now())?)
    }

    /// A retryable failure; true when it opened (or re-opened) the circuit.
    pub fn failure(&self, provider: &str) -> anyhow::Result<bool> {
        let now = self.now();
        let mut conn = self.pool.get()?;
        Ok(store::circuits::record_failure(
            &mut conn,
            provider,
            now,
            now - self.window,
            self.threshold,
            now + self.open_for,
        )?)
    }

    /// Ends a probe without judging the provider (the message failed permanently, or was never
    /// sent).
    pub fn release(&self, provider: &str) -> anyhow::Result<()> {
        let mut conn = self.pool.get()?;
        Ok(store::circuits::release_probe(&mut conn, provider, self.now())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clock::ShiftedClock;

    fn breaker(clock: &ShiftedClock, dir: &tempfile::TempDir) -> Breaker {
        let url = format!("sqlite://{}", dir.path().join("b.db").display());
        let target = store::DbTarget::parse(&url).unwrap();
        store::migrate(&target).unwrap();
        let pool = store::build_pool(&target, 2, std::time::Duration::from_secs(5)).unwrap();
        Breaker::new(2, TimeDelta::seconds(30), TimeDelta::seconds(60), Arc::new(clock.clone()), pool)
    }

    #[test]
    fn opens_after_threshold_probes_and_closes() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ShiftedClock::default();
        let b = breaker(&clock, &dir);
        assert_eq!(b.admit("a").unwrap(), Admission::Clear);
        assert!(!b.failure("a").unwrap());
        assert_eq!(b.admit("a").unwrap(), Admission::Go);
        assert!(b.failure("a").unwrap(), "second failure opens");
        assert_eq!(b.state("a"), State::Open);
        assert_eq!(b.admit("a").unwrap(), Admission::Skip);
        clock.advance(TimeDelta::seconds(31));
        assert_eq!(b.state("a"), State::HalfOpen);
        assert_eq!(b.admit("a").unwrap(), Admission::Probe, "one probe");
        assert_eq!(b.admit("a").unwrap(), Admission::Skip, "only one at a time");
        assert!(b.failure("a").unwrap(), "a failed probe re-opens");
        assert_eq!(b.admit("a").unwrap(), Admission::Skip);
        clock.advance(TimeDelta::seconds(31));
        assert_eq!(b.admit("a").unwrap(), Admission::Probe);
        b.release("a").unwrap();
        assert_eq!(b.admit("a").unwrap(), Admission::Probe, "a released probe may be taken again");
        b.success("a").unwrap();
        assert_eq!(b.state("a"), State::Closed);
        assert_eq!((b.admit("a").unwrap(), b.admit("a").unwrap()), (Admission::Clear, Admission::Clear));
    }

    #[test]
    fn failures_count_within_the_window_only() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ShiftedClock::default();
        let b = breaker(&clock, &dir);
        assert!(!b.failure("a").unwrap());
        clock.advance(TimeDelta::seconds(61));
        assert!(!b.failure("a").unwrap(), "the first failure's window is over");
        assert!(b.failure("a").unwrap());
        assert_eq!(b.state("b"), State::Closed);
    }
}
