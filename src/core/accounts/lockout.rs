//! Lockouts: the one rule behind every "too many wrong passwords" Phonebase has (user login,
//! operator sign-in). `limit` failures within a window that ends at the latest one lock the
//! subject until `window` after that latest failure.
//!
//! Parallel guesses must not get more checks than the limit, and right answers must not be
//! refused because of attempts that were still being checked. So an attempt takes a place before
//! its (slow) check, in a transaction that serialises the subject (advisory lock on PostgreSQL,
//! the single writer on SQLite, so it holds across instances): it is refused when the failures
//! alone lock the subject, and waits while the failures plus the attempts still being checked
//! would lock it, since those may all turn out wrong. After the check a wrong attempt becomes a
//! failure, and a right one withdraws its place and clears the failures. An attempt whose checker
//! died counts as a failure after `LEASE`.

use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};

use crate::core::{Core, Error, Result};
use crate::store::{self, DbConn, attempts};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures that lock.
    pub limit: usize,
    /// The window they are counted in, and how long the lock lasts after the latest.
    pub window: TimeDelta,
}

/// LeanCloud's login lockout: more than 6 failures within 15 minutes lock the account until 15
/// minutes after the last one (wrong SMS codes count too).
pub const USER_LOGIN: Policy = Policy { limit: 7, window: TimeDelta::minutes(15) };
/// The console: 10 failed sign-ins of one name within 15 minutes.
pub const OPERATOR_SIGN_IN: Policy = Policy { limit: 10, window: TimeDelta::minutes(15) };

/// How long a place may be held by a check before it counts as failed.
const LEASE: TimeDelta = TimeDelta::seconds(30);
const WAIT_STEP: Duration = Duration::from_millis(15);

pub(crate) fn user_subject(user_id: &str) -> String {
    format!("user:{user_id}")
}

pub(crate) fn operator_subject(username: &str) -> String {
    format!("operator:{username}")
}

/// Locked: at least `limit` failures within a window that ends at the latest one, and that
/// latest one less than `window` ago. `recent` is newest first.
pub(crate) fn is_locked(policy: &Policy, recent: &[NaiveDateTime], now: NaiveDateTime) -> bool {
    let Some(&last) = recent.first() else { return false };
    now < last + policy.window && recent.iter().filter(|&&t| t >= last - policy.window).count() >= policy.limit
}

enum Place {
    Taken(String),
    Locked,
    Wait,
}

impl Core {
    /// Runs `check` under the lockout of `subject`. `check` answers `Some(value)` when the password
    /// or code was right, `None` when wrong. A right answer runs `finish` in the transaction that
    /// withdraws the attempt and clears the failures. Answers `Ok(None)` for a wrong attempt,
    /// `Error::AccountLocked` when locked.
    pub(crate) fn guarded<T, R>(
        &self,
        subject: &str,
        policy: &Policy,
        check: impl FnOnce() -> Result<Option<T>>,
        finish: impl FnOnce(&mut DbConn, NaiveDateTime, T) -> Result<R>,
    ) -> Result<Option<R>> {
        let attempt = self.take_place(subject, policy)?;
        let outcome = check();
        let mut conn = self.conn()?;
        match outcome {
            Ok(Some(value)) => {
                let now = self.clock.now_naive();
                let done = store::write_tx(&mut conn, |conn| {
                    attempts::delete(conn, &attempt)?;
                    attempts::clear_failed(conn, subject)?;
                    finish(conn, now, value)
                });
                if done.is_err() {
                    let _ = store::write_tx(&mut conn, |c| attempts::delete(c, &attempt));
                }
                done.map(Some)
            }
            Ok(None) => {
                store::write_tx(&mut conn, |c| attempts::mark_failed(c, &attempt))?;
                Ok(None)
            }
            Err(e) => {
                let _ = store::write_tx(&mut conn, |c| attempts::delete(c, &attempt));
                Err(e)
            }
        }
    }

    /// Takes a place for one check, waiting while attempts being checked might lock the subject.
    fn take_place(&self, subject: &str, policy: &Policy) -> Result<String> {
        let started = Instant::now();
        let give_up = Duration::from_secs(LEASE.num_seconds() as u64 + 5);
        loop {
            match self.try_place(subject, policy)? {
                Place::Taken(id) => return Ok(id),
                Place::Locked => return Err(Error::AccountLocked),
                Place::Wait if started.elapsed() > give_up => return Err(Error::Busy),
                Place::Wait => std::thread::sleep(WAIT_STEP),
            }
        }
    }

    fn try_place(&self, subject: &str, policy: &Policy) -> Result<Place> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |conn| {
            store::lock_key(conn, &format!("attempts:{subject}"))?;
            let rows = attempts::since(conn, subject, now - policy.window * 2)?;
            let live = |r: &attempts::AttemptRow| r.outcome == attempts::PENDING && r.created_at >= now - LEASE;
            let failed: Vec<NaiveDateTime> = rows.iter().filter(|r| !live(r)).map(|r| r.created_at).collect();
            if is_locked(policy, &failed, now) {
                return Ok(Place::Locked);
            }
            // As if every attempt still being checked were wrong (newest first).
            let worst: Vec<NaiveDateTime> = rows.iter().map(|r| r.created_at).collect();
            if is_locked(policy, &worst, now) {
                return Ok(Place::Wait);
            }
            let id = uuid::Uuid::now_v7().to_string();
            attempts::insert(conn, &id, subject, attempts::PENDING, now)?;
            Ok(Place::Taken(id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_rule() {
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc();
        let minutes = |m: i64| t0 + TimeDelta::minutes(m);
        let p = &USER_LOGIN;
        let six: Vec<_> = (0..6).rev().map(minutes).collect();
        assert!(!is_locked(p, &six, minutes(6)), "six failures do not lock");
        let seven: Vec<_> = (0..7).rev().map(minutes).collect();
        assert!(is_locked(p, &seven, minutes(7)));
        assert!(is_locked(p, &seven, minutes(6 + 14)), "until 15 minutes after the last");
        assert!(!is_locked(p, &seven, minutes(6 + 15)));
        let spread: Vec<_> = (0..7).rev().map(|i| minutes(i * 3)).collect();
        assert!(!is_locked(p, &spread, minutes(19)), "seven failures over 18 minutes do not lock");
    }
}
