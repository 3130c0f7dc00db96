//! Per-app balances of billable SMS parts: unlimited by default; when set, every send takes its
//! parts in its own write transaction (see `queue_message`) and a message that fails for good
//! gives them back.

use crate::core::{Core, Error, Result};
use crate::store;

impl Core {
    /// The app's balance in parts; `None` when unlimited.
    pub fn balance(&self, app_id: &str) -> Result<Option<i64>> {
        self.app(app_id)?;
        let mut conn = self.conn()?;
        Ok(store::balances::get(&mut conn, app_id)?)
    }

    /// Adds `parts` (1 or more) to the app's balance; an unlimited app starts a balance of
    /// `parts`. Returns the new balance.
    pub fn top_up(&self, app_id: &str, parts: i64) -> Result<i64> {
        if parts < 1 {
            return Err(Error::InvalidParameter("a top-up must be at least one part".into()));
        }
        self.app(app_id)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        Ok(store::write_tx(&mut conn, |c| store::balances::add(c, app_id, parts, now))?)
    }

    /// Sets the app's balance (0 or more), or makes it unlimited (`None`).
    pub fn set_balance(&self, app_id: &str, parts: Option<i64>) -> Result<Option<i64>> {
        if parts.is_some_and(|p| p < 0) {
            return Err(Error::InvalidParameter("a balance cannot be negative".into()));
        }
        self.app(app_id)?;
        let now = self.clock.now_naive();
        let mut conn = self.conn()?;
        store::write_tx(&mut conn, |c| store::balances::set(c, app_id, parts, now))?;
        Ok(parts)
    }
}
