use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// Where the rules get the time from. Expiry and limit windows use it, never the database's
/// `now()`, so tests move time instead of sleeping and every instance agrees with its own clock.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Now as stored: naive UTC, truncated to milliseconds (the precision the wire shows).
    fn now_naive(&self) -> NaiveDateTime {
        let now = self.now().naive_utc();
        now - TimeDelta::nanoseconds(i64::from(now.and_utc().timestamp_subsec_nanos() % 1_000_000))
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock plus an offset that tests can move forward.
#[derive(Debug, Default, Clone)]
pub struct ShiftedClock {
    offset_ms: Arc<AtomicI64>,
}

impl ShiftedClock {
    pub fn advance(&self, by: TimeDelta) {
        self.offset_ms.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// `t` truncated to its hour: the unit refusals are counted in and the dashboard draws.
pub fn hour_of(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    t.date().and_hms_opt(t.hour(), 0, 0).unwrap_or(t)
}
