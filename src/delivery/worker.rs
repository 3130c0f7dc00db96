//! The outbox worker: claims due messages with a lease, routes each to a provider (the plan of
//! `core::outbox::routing`, skipping providers whose circuit is open), records every attempt and the
//! outcome, fails over to the next provider on a retryable failure and backs off once every
//! provider had its turn. No transaction is open while a provider is called. Messages were committed before the request returned, so a
//! crash loses none: a lease that is not completed runs out and the message is claimed again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::breaker::{Admission, Breaker};
use super::providers::Providers;
use super::{Outcome, Outgoing, SendError, TemplateCall};
use crate::core::Core;
use crate::core::outbox::routing::Planned;
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
    providers: Arc<Providers>,
    breaker: Arc<Breaker>,
    options: WorkerOptions,
}

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// How long the worker waits after a wake-up before it claims, so that sends committed right
/// behind the first join its batch.
const LINGER: Duration = Duration::from_millis(5);

/// Delay before attempt `attempts + 1`: 2, 4, 8, ... seconds, at most five minutes.
fn backoff(attempts: i32) -> TimeDelta {
    TimeDelta::seconds(1i64 << attempts.clamp(1, 8)).min(TimeDelta::minutes(5))
}

/// Providers admitted as `Clear` during one batch (see `Worker::run_once`).
type ClearProviders = std::sync::Mutex<std::collections::HashSet<String>>;

/// What became of one message this round.
enum Verdict {
    /// Final without a provider call (body unreadable, code expired, nobody can send it).
    Fail(String),
    /// Every provider that could take it has its circuit open: try again later, uncharged.
    Defer(String),
    /// A provider was called.
    Called { provider: String, providers: usize, latency_ms: i32, result: Result<Outcome, SendError> },
}

impl Worker {
    pub fn new(core: Core, providers: Arc<Providers>, breaker: Arc<Breaker>, options: WorkerOptions) -> Self {
        Self { core, providers, breaker, options }
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
                _ = wakeup.notified() => {
                    // Let the sends committed right behind this one join its batch: one claim
                    // and one record transaction for them all instead of a pair per message.
                    tokio::time::sleep(LINGER).await;
                }
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
        // Providers found `Clear` (closed, no failure counted) during this batch: the batch's later
        // messages go to them without asking the database again. A failure takes the provider
        // off the list, so its next message asks (and counts). Another instance opening the
        // circuit is seen by the next batch.
        let clear: ClearProviders = Default::default();
        let clear = &clear;
        // Messages are sent `concurrency` at a time; the outcomes that are ready together are
        // recorded in one transaction (one commit for a chunk instead of one per message).
        futures_util::stream::iter(claimed)
            .map(|row| async move {
                if *shutdown.borrow() {
                    return (row, None);
                }
                let verdict = self.attempt(&row, clear).await;
                (row, Some(verdict))
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .ready_chunks(self.options.batch_size.max(1) as usize)
            .for_each(|chunk| async move {
                let mut done = Vec::with_capacity(chunk.len());
                for (row, verdict) in chunk {
                    let id = row.id.clone();
                    match verdict {
                        None => {
                            if let Err(e) = self.release(row).await {
                                tracing::warn!(message = %id, error = format!("{e:#}"), "could not release message");
                            }
                        }
                        Some(Ok(verdict)) => done.push((row, verdict)),
                        // Its lease runs out and it is claimed again.
                        Some(Err(e)) => tracing::error!(message = %id, error = format!("{e:#}"), "could not deliver"),
                    }
                }
                if done.is_empty() {
                    return;
                }
                let ids: Vec<String> = done.iter().map(|(row, _)| row.id.clone()).collect();
                if let Err(e) = self.record(done).await {
                    tracing::error!(messages = ?ids, error = format!("{e:#}"), "could not record deliveries");
                }
            })
            .await;
        Ok(n)
    }

    /// The providers that can send this message, in order (blocking: reads the app and the
    /// template mappings; no transaction is held).
    async fn plan(
        &self,
        row: &MessageRow,
        vars: BTreeMap<String, String>,
    ) -> anyhow::Result<Result<Vec<Planned>, String>> {
        let core = self.core.clone();
        let (app_id, to, channel) = (row.app_id.clone(), row.to_phone.clone(), row.channel.clone());
        // Messages queued before template mappings existed have no text reference: only
        // providers that send the text can take them.
        let text_ref = row.text_ref.clone().unwrap_or_else(|| "text:unknown".into());
        blocking(move || {
            let app = match core.app(&app_id) {
                Ok(app) => app,
                Err(crate::core::Error::UnknownApp) => return Ok(Err("the app no longer exists".to_string())),
                Err(e) => return Err(e.into()),
            };
            let mut conn = core.pool().get()?;
            Ok(Ok(core.plan_in(&mut conn, &app, &to, &channel, &text_ref, &vars)?))
        })
        .await
    }

    async fn attempt(&self, row: &MessageRow, clear: &ClearProviders) -> anyhow::Result<Verdict> {
        let now = self.core.clock.now_naive();
        let keys = self.core.keys();
        let Some(text) = row.body_sealed.as_deref().and_then(|b| keys.open(b)) else {
            return Ok(Verdict::Fail("message body cannot be opened (server secret changed?)".into()));
        };
        if row.expires_at <= now {
            return Ok(Verdict::Fail("expired before delivery".into()));
        }
        let vars: BTreeMap<String, String> = row
            .vars_sealed
            .as_deref()
            .and_then(|b| keys.open(b))
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let plan = match self.plan(row, vars.clone()).await? {
            Ok(plan) if !plan.is_empty() => plan,
            Ok(_) => return Ok(Verdict::Fail("no configured provider can send this message".into())),
            Err(why) => return Ok(Verdict::Fail(why)),
        };
        // Attempt k goes to the k-th provider of the plan (round robin over retries), skipping
        // those whose circuit is open (asked of the database, shared by every instance).
        let n = plan.len();
        let start = usize::try_from(row.attempts.max(1) - 1).unwrap_or(0) % n;
        let order: Vec<String> = (0..n).map(|i| plan[(start + i) % n].route.name.clone()).collect();
        let known_clear = {
            let clear = clear.lock().unwrap_or_else(|e| e.into_inner());
            order.first().filter(|name| clear.contains(name.as_str())).cloned()
        };
        let admitted = match known_clear {
            Some(name) => Some((name, Admission::Clear)),
            None => {
                let breaker = self.breaker.clone();
                blocking(move || {
                    for name in order {
                        let admission = breaker.admit(&name)?;
                        if admission != Admission::Skip {
                            return Ok(Some((name, admission)));
                        }
                    }
                    Ok(None)
                })
                .await?
            }
        };
        if let Some((name, Admission::Clear)) = &admitted {
            clear.lock().unwrap_or_else(|e| e.into_inner()).insert(name.clone());
        }
        let Some((name, admission)) = admitted else {
            return Ok(Verdict::Defer("every provider that could send it is unavailable (circuit open)".into()));
        };
        let chosen = plan.iter().find(|p| p.route.name == name).expect("chosen from the plan");
        let provider = match self.providers.resolve(&self.core, &row.app_id, &name).await {
            Ok(Some(provider)) => provider,
            outcome => {
                // A probe that never happened must not keep the circuit half-open.
                self.verdict_on_breaker(&name, admission, None).await;
                return match outcome {
                    Err(e) => Err(e),
                    _ => Ok(Verdict::Fail(format!("provider {name} is not configured in this instance"))),
                };
            }
        };
        let template = match &chosen.mapping {
            None => None,
            Some(mapping) => match mapping.render(&vars) {
                Ok(params) => Some(TemplateCall {
                    code: mapping.template_code.clone(),
                    params,
                    sign_name: mapping
                        .sign_name
                        .clone()
                        .or_else(|| provider.sign_name.clone())
                        .or_else(|| vars.get("sign").cloned()),
                }),
                Err(e) => {
                    self.verdict_on_breaker(&name, admission, None).await;
                    return Err(anyhow::anyhow!("{e}"));
                }
            },
        };
        let outgoing = Outgoing {
            id: row.id.clone(),
            app_id: row.app_id.clone(),
            to: row.to_phone.clone(),
            channel: row.channel.clone(),
            text,
            template,
            valid_for: (row.expires_at - self.core.clock.now_naive()).to_std().ok(),
        };
        let started = Instant::now();
        let result = provider.sender.send(&outgoing).await;
        let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        if result.as_ref().is_err_and(|e| !e.permanent) {
            clear.lock().unwrap_or_else(|e| e.into_inner()).remove(&name);
        }
        self.verdict_on_breaker(&name, admission, Some(&result)).await;
        Ok(Verdict::Called { provider: name, providers: n, latency_ms, result })
    }

    /// Tells the breaker how a call went (`None`: no call was made). Breaker trouble is logged,
    /// never the message's fault: its outcome is recorded either way.
    async fn verdict_on_breaker(&self, name: &str, admission: Admission, result: Option<&Result<Outcome, SendError>>) {
        enum Judgement {
            Success,
            Failure,
            Release,
            Nothing,
        }
        let judgement = match result {
            Some(Ok(_)) if admission == Admission::Clear => Judgement::Nothing,
            Some(Ok(_)) => Judgement::Success,
            Some(Err(e)) if !e.permanent => Judgement::Failure,
            _ if admission == Admission::Probe => Judgement::Release,
            _ => Judgement::Nothing,
        };
        let (breaker, name) = (self.breaker.clone(), name.to_string());
        let outcome = blocking(move || {
            match judgement {
                Judgement::Success => breaker.success(&name)?,
                Judgement::Failure => {
                    if breaker.failure(&name)? {
                        tracing::warn!(provider = %name, "provider circuit opened");
                    }
                }
                Judgement::Release => breaker.release(&name)?,
                Judgement::Nothing => {}
            }
            Ok(())
        })
        .await;
        if let Err(e) = outcome {
            tracing::warn!(error = format!("{e:#}"), "could not record the provider's circuit");
        }
    }

    /// Records what became of a chunk of messages, in one transaction.
    async fn record(&self, done: Vec<(MessageRow, Verdict)>) -> anyhow::Result<()> {
        let core = self.core.clone();
        let max_attempts = self.options.max_attempts;
        blocking(move || {
            let now = core.clock.now_naive();
            let mut conn = core.pool().get()?;
            store::write_tx(&mut conn, |c| -> anyhow::Result<()> {
                for (row, verdict) in done {
                    record_one(&core, c, row, verdict, max_attempts, now)?;
                }
                Ok(())
            })
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

/// Records one message's verdict inside the caller's transaction: its attempt, its new status,
/// a retry or the final failure.
fn record_one(
    core: &Core,
    c: &mut store::DbConn,
    row: MessageRow,
    verdict: Verdict,
    max_attempts: i32,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    let (provider, providers, latency_ms, result) = match verdict {
        Verdict::Fail(error) => {
            tracing::warn!(message = %row.id, attempts = row.attempts, %error, "message failed");
            core.metrics().deliveries.with_label_values(&["failed", "none"]).inc();
            store::messages::mark_failed(c, &row.id, &error, now)?;
            return Ok(());
        }
        Verdict::Defer(error) => {
            store::messages::retry_later(c, &row.id, now + backoff(1), &error, false, now)?;
            return Ok(());
        }
        Verdict::Called { provider, providers, latency_ms, result } => (provider, providers, latency_ms, result),
    };
    let mut attempt = store::delivery::AttemptRow {
        id: uuid::Uuid::now_v7().to_string(),
        message_id: row.id.clone(),
        provider: provider.clone(),
        provider_message_id: None,
        outcome: String::new(),
        error_code: None,
        error: None,
        latency_ms,
        created_at: now,
    };
    match result {
        Ok(outcome) => {
            let (status, provider_id) = match outcome {
                Outcome::Sent { provider_id } => (store::messages::SENT, provider_id),
                Outcome::Delivered { provider_id } => (store::messages::DELIVERED, provider_id),
            };
            attempt.outcome = status.to_string();
            attempt.provider_message_id = provider_id.clone();
            let m = core.metrics();
            m.deliveries.with_label_values(&[status, &provider]).inc();
            let queued_for = (now - row.created_at).num_milliseconds().max(0) as f64 / 1000.0;
            m.delivery_seconds.with_label_values(&[&provider]).observe(queued_for);
            // The lock `Core::record_reports` takes for this id: a report recorded at the same
            // moment either sees the send or is seen by it (on PostgreSQL, two transactions
            // could otherwise each miss the other). A message the provider called delivered is
            // final, so no report can change it and no lock is needed.
            if let (store::messages::SENT, Some(pid)) = (status, provider_id.as_deref()) {
                store::lock_key(c, &format!("report:{provider}:{pid}"))?;
            }
            store::delivery::insert_attempt(c, &attempt)?;
            store::messages::mark_sent(c, &row.id, status, &provider, provider_id.as_deref(), now)?;
            // A report may have come in before this write. It only ever changes a message
            // that is `sent`: one the provider called delivered is final already.
            if let (store::messages::SENT, Some(pid)) = (status, provider_id.as_deref()) {
                store::delivery::apply_report(c, &provider, pid, now)?;
            }
        }
        Err(e) => {
            let final_failure = e.permanent || row.attempts >= max_attempts;
            attempt.outcome = if final_failure { "failed" } else { "retry" }.to_string();
            core.metrics().deliveries.with_label_values(&[attempt.outcome.as_str(), &provider]).inc();
            attempt.error_code = e.code.clone();
            attempt.error = Some(e.message.clone());
            store::delivery::insert_attempt(c, &attempt)?;
            if final_failure {
                tracing::warn!(message = %row.id, attempts = row.attempts, %provider, error = %e.message, "message failed");
                store::messages::mark_failed_by(c, &row.id, Some(&provider), e.code.as_deref(), &e.message, now)?;
            } else {
                // The next provider of the plan at once; once every provider had its
                // turn this round, back off.
                let providers = i32::try_from(providers).unwrap_or(1).max(1);
                let next = if row.attempts % providers == 0 { now + backoff(row.attempts / providers) } else { now };
                tracing::info!(message = %row.id, attempts = row.attempts, %provider, error = %e.message, "message will be retried");
                store::messages::retry_later(c, &row.id, next, &e.message, true, now)?;
            }
        }
    }
    Ok(())
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
