//! The outbox worker: claims due messages with a lease, hands them to the sender, records the
//! outcome, retries with back-off. Messages were committed before the request returned, so a
//! crash loses none: a lease that is not completed runs out and the message is claimed again.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::{Outcome, Outgoing, Sender};
use crate::core::Core;
use crate::store::{self, messages::MessageRow};

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How often to look for due messages when nothing wakes the worker (retries, messages
    /// committed by other instances).
    pub poll_interval: Duration,
    pub batch_size: i32,
    /// Messages sent at once.
    pub concurrency: usize,
    /// Sends a message gets before it is marked failed.
    pub max_attempts: i32,
    /// How long a claimed message stays reserved for this worker.
    pub lease: TimeDelta,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch_size: 32,
            concurrency: 8,
            max_attempts: 5,
            lease: TimeDelta::seconds(60),
        }
    }
}

pub struct Worker {
    core: Core,
    sender: Arc<dyn Sender>,
    options: WorkerOptions,
}

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Delay before attempt `attempts + 1`: 2, 4, 8, ... seconds, at most five minutes.
fn backoff(attempts: i32) -> TimeDelta {
    TimeDelta::seconds(1i64 << attempts.clamp(1, 8)).min(TimeDelta::minutes(5))
}

impl Worker {
    pub fn new(core: Core, sender: Arc<dyn Sender>, options: WorkerOptions) -> Self {
        Self { core, sender, options }
    }

    /// Runs until `shutdown` turns true; stops between messages, leaving unsent claims to be
    /// picked up again.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let wakeup = self.core.outbox_wakeup();
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.run_once(&shutdown).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = format!("{e:#}"), "outbox worker"),
            }
            tokio::select! {
                _ = wakeup.notified() => {}
                _ = tokio::time::sleep(self.options.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// Claims one batch and processes it; returns how many messages it claimed.
    pub async fn run_once(&self, shutdown: &watch::Receiver<bool>) -> anyhow::Result<usize> {
        let core = self.core.clone();
        let (batch, lease) = (self.options.batch_size, self.options.lease);
        let claimed = blocking(move || {
            let now = core.clock.now_naive();
            let mut conn = core.pool().get()?;
            Ok(store::write_tx(&mut conn, |c| store::messages::claim_due(c, now, now + lease, batch))?)
        })
        .await?;
        let n = claimed.len();
        futures_util::stream::iter(claimed)
            .for_each_concurrent(self.options.concurrency, |row| async move {
                let id = row.id.clone();
                if *shutdown.borrow() {
                    if let Err(e) = self.release(row).await {
                        tracing::warn!(message = %id, error = format!("{e:#}"), "could not release message");
                    }
                } else if let Err(e) = self.deliver(row).await {
                    tracing::error!(message = %id, error = format!("{e:#}"), "could not record delivery");
                }
            })
            .await;
        Ok(n)
    }

    async fn deliver(&self, row: MessageRow) -> anyhow::Result<()> {
        let now = self.core.clock.now_naive();
        let opened = row.body_sealed.as_deref().and_then(|b| self.core.keys().open(b));
        let verdict = match opened {
            None => Err(("message body cannot be opened (server secret changed?)".to_string(), true)),
            Some(_) if row.expires_at <= now => Err(("expired before delivery".to_string(), true)),
            Some(text) => {
                let outgoing = Outgoing {
                    id: row.id.clone(),
                    app_id: row.app_id.clone(),
                    to: row.to_phone.clone(),
                    channel: row.channel.clone(),
                    text,
                };
                self.sender.send(&outgoing).await.map_err(|e| (e.message, e.permanent))
            }
        };
        let core = self.core.clone();
        let max_attempts = self.options.max_attempts;
        blocking(move || {
            let now = core.clock.now_naive();
            let mut conn = core.pool().get()?;
            let c = &mut *conn;
            match verdict {
                Ok(Outcome::Sent { provider_id }) => {
                    store::messages::mark_sent(c, &row.id, store::messages::SENT, provider_id.as_deref(), now)?
                }
                Ok(Outcome::Delivered { provider_id }) => {
                    store::messages::mark_sent(c, &row.id, store::messages::DELIVERED, provider_id.as_deref(), now)?
                }
                Err((error, permanent)) if permanent || row.attempts >= max_attempts => {
                    tracing::warn!(message = %row.id, attempts = row.attempts, %error, "message failed");
                    store::messages::mark_failed(c, &row.id, &error, now)?
                }
                Err((error, _)) => {
                    tracing::info!(message = %row.id, attempts = row.attempts, %error, "message will be retried");
                    store::messages::mark_retry(c, &row.id, now + backoff(row.attempts), &error, now)?
                }
            };
            Ok(())
        })
        .await
    }

    async fn release(&self, row: MessageRow) -> anyhow::Result<()> {
        let core = self.core.clone();
        blocking(move || {
            let mut conn = core.pool().get()?;
            store::messages::release(&mut conn, &row.id, core.clock.now_naive())?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), TimeDelta::seconds(2));
        assert_eq!(backoff(2), TimeDelta::seconds(4));
        assert_eq!(backoff(4), TimeDelta::seconds(16));
        assert_eq!(backoff(30), TimeDelta::minutes(4) + TimeDelta::seconds(16));
    }
}
