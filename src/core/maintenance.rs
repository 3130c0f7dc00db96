//! Housekeeping that keeps tables from growing forever.

use chrono::TimeDelta;

use super::{Core, Result};
use crate::store;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub codes: usize,
    pub send_events: usize,
    pub expired_messages: usize,
    pub messages: usize,
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
        let messages =
            store::write_tx(&mut conn, |c| store::messages::purge_before(c, now - self.options.message_retention))?;
        Ok(PurgeReport { codes, send_events, expired_messages, messages })
    }
}
