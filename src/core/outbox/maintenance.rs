//! Housekeeping that keeps tables from growing forever.

use chrono::TimeDelta;

use crate::core::{Core, Result};
use crate::store;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub codes: usize,
    pub send_events: usize,
    pub expired_messages: usize,
    pub messages: usize,
    /// User sessions, operator sessions and open-API grants.
    pub sessions: usize,
    pub login_records: usize,
    pub captchas: usize,
    /// Schedules whose time is past the message retention (their messages are gone too).
    pub schedules: usize,
}

impl Core {
    /// Deletes dead codes, send events older than the longest limit window, and final messages past
    /// their retention; fails queued messages whose code expired before they could be sent.
    pub fn purge(&self) -> Result<PurgeReport> {
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        // Separate short transactions: none of these needs to see the others.
        let codes = store::write_tx(&mut conn, |c| store::codes::purge_before(c, now - TimeDelta::hours(1)))?;
        // The longest window is a day; an hour of slack covers clock skew between instances.
        let send_events = store::write_tx(&mut conn, |c| store::sends::purge_before(c, now - TimeDelta::hours(25)))?;
        let expired_messages = store::write_tx(&mut conn, |c| store::messages::fail_expired(c, now))?;
        // Their attempts go with them (ON DELETE CASCADE); delivery reports live as long.
        let messages = store::write_tx(&mut conn, |c| -> crate::core::Result<usize> {
            let before = now - self.options.message_retention;
            store::delivery::purge_reports_before(c, before)?;
            // The dashboard's refusal counts go with the messages they sit beside.
            store::stats::purge_refusals_before(c, before)?;
            Ok(store::messages::purge_before(c, before)?)
        })?;
        let sessions = store::write_tx(&mut conn, |c| store::sessions::purge_before(c, now - TimeDelta::days(1)))?
            + store::write_tx(&mut conn, |c| store::operators::purge_before(c, now, now - TimeDelta::hours(1)))?
            + store::write_tx(&mut conn, |c| store::open_api::purge_before(c, now - TimeDelta::days(1)))?;
        // Lockout looks back 30 minutes, code guesses an hour.
        let login_records = store::write_tx(&mut conn, |c| -> crate::core::Result<usize> {
            Ok(store::sessions::purge_failures_before(c, now - TimeDelta::hours(1))?
                + store::attempts::purge_before(c, now - TimeDelta::hours(1))?
                + store::codes::purge_guesses_before(c, now - TimeDelta::hours(2))?)
        })?;
        // Captchas count towards the per-address limits for a day.
        let captchas = store::write_tx(&mut conn, |c| store::captchas::purge(c, now, now - TimeDelta::hours(25)))?;
        let schedules =
            store::write_tx(&mut conn, |c| store::schedules::purge(c, now - self.options.message_retention))?;
        Ok(PurgeReport { codes, send_events, expired_messages, messages, sessions, login_records, captchas, schedules })
    }
}
