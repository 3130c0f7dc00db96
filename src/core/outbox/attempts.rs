//! What each send attempt of a message did (the console's message log): provider, the provider's
//! message id, outcome, error, latency.

use chrono::NaiveDateTime;

use crate::core::{Core, Result};
use crate::store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub provider: String,
    pub provider_message_id: Option<String>,
    /// `sent`, `delivered`, `undelivered` (by a report), `retry`, `failed`.
    pub outcome: String,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub at: NaiveDateTime,
}

impl Core {
    /// The attempts of each message in `message_ids`, oldest first, in the order of the ids.
    pub fn attempts_of(&self, message_ids: &[String]) -> Result<Vec<Vec<Attempt>>> {
        let mut conn = self.conn()?;
        message_ids
            .iter()
            .map(|id| {
                Ok(store::delivery::attempts_of(&mut conn, id)?
                    .into_iter()
                    .map(|a| Attempt {
                        provider: a.provider,
                        provider_message_id: a.provider_message_id,
                        outcome: a.outcome,
                        error_code: a.error_code,
                        error: a.error,
                        latency_ms: a.latency_ms,
                        at: a.created_at,
                    })
                    .collect())
            })
            .collect()
    }
}
