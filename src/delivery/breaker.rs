//! A circuit breaker per provider (per instance): after `threshold` retryable failures in a row
//! the provider is skipped for `open_for`; then one probe message may try it (half-open): success
//! closes the circuit, failure opens it again. Permanent failures are about the message, not the
//! provider, and do not count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::core::clock::Clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    /// The cool-down is over: one probe is (or may be) under way.
    HalfOpen,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Entry {
    failures: u32,
    open_until: Option<DateTime<Utc>>,
    probing: bool,
}

pub struct Breaker {
    threshold: u32,
    open_for: TimeDelta,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: TimeDelta, clock: Arc<dyn Clock>) -> Self {
        Self { threshold: threshold.max(1), open_for, clock, entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self, provider: &str) -> State {
        let entries = self.entries();
        match entries.get(provider).and_then(|e| e.open_until) {
            None => State::Closed,
            Some(until) if self.clock.now() < until => State::Open,
            Some(_) => State::HalfOpen,
        }
    }

    /// Whether a message may go to `provider` now; a half-open provider lets one probe through at
    /// a time.
    pub fn allow(&self, provider: &str) -> bool {
        let now = self.clock.now();
        let mut entries = self.entries();
        let entry = entries.entry(provider.to_string()).or_default();
        match entry.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) if entry.probing => false,
            Some(_) => {
                entry.probing = true;
                true
            }
        }
    }

    pub fn success(&self, provider: &str) {
        self.entries().insert(provider.to_string(), Entry::default());
    }

    /// A retryable failure; returns true when it opened (or re-opened) the circuit.
    pub fn failure(&self, provider: &str) -> bool {
        let now = self.clock.now();
        let mut entries = self.entries();
        let entry = entries.entry(provider.to_string()).or_default();
        entry.failures += 1;
        let reopen = entry.open_until.is_some();
        entry.probing = false;
        if reopen || entry.failures >= self.threshold {
            entry.open_until = Some(now + self.open_for);
            return true;
        }
        false
    }

    /// A permanent failure ends a probe without judging the provider.
    pub fn neutral(&self, provider: &str) {
        if let Some(entry) = self.entries().get_mut(provider) {
            entry.probing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clock::ShiftedClock;

    #[test]
    fn opens_after_threshold_probes_and_closes() {
        let clock = ShiftedClock::default();
        let b = Breaker::new(2, TimeDelta::seconds(30), Arc::new(clock.clone()));
        assert!(b.allow("a"));
        assert!(!b.failure("a"));
        assert!(b.failure("a"), "second failure opens");
        assert_eq!(b.state("a"), State::Open);
        assert!(!b.allow("a"));
        clock.advance(TimeDelta::seconds(31));
        assert_eq!(b.state("a"), State::HalfOpen);
        assert!(b.allow("a"), "one probe");
        assert!(!b.allow("a"), "only one at a time");
        assert!(b.failure("a"), "a failed probe re-opens");
        assert!(!b.allow("a"));
        clock.advance(TimeDelta::seconds(31));
        assert!(b.allow("a"));
        b.success("a");
        assert_eq!(b.state("a"), State::Closed);
        assert!(b.allow("a") && b.allow("a"));
    }
}
