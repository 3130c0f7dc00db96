//! Delivery through the outbox: crash recovery, retries, final states, purging.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb};
use phonebase::core::clock::ShiftedClock;
use phonebase::delivery::{Outcome, Outgoing, SendError, SendFuture, Sender};
use phonebase::store;

/// Fails the first `failures` sends (transiently, or for good), then accepts.
struct Flaky {
    failures: usize,
    permanent: bool,
    calls: AtomicUsize,
}

impl Flaky {
    fn new(failures: usize, permanent: bool) -> Arc<Self> {
        Arc::new(Self { failures, permanent, calls: AtomicUsize::new(0) })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn spawn_sending_through(db: &TestDb, sender: Arc<Flaky>, clock: &ShiftedClock) -> TestApp {
    TestApp::spawn_with(db, Options { sender: Some(sender), clock: Some(clock.clone()), ..Default::default() }).await
}

impl Sender for Flaky {
    fn send<'a>(&'a self, _message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if n < self.failures {
                Err(if self.permanent {
                    SendError::permanent("refused")
                } else {
                    SendError::transient("provider timeout")
                })
            } else {
                Ok(Outcome::Sent { provider_id: Some(format!("p-{n}")) })
            }
        })
    }
}

fn messages(app: &TestApp) -> Vec<store::messages::MessageRow> {
    let mut conn = app.core.pool().get().unwrap();
    store::messages::list_for_app(&mut conn, &app.app.id, 100).unwrap()
}

async fn wait_for_status(app: &TestApp, status: &str) -> store::messages::MessageRow {
    for _ in 0..200 {
        if let Some(m) = messages(app).into_iter().find(|m| m.status == status) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no message reached {status}: {:?}", messages(app));
}

#[tokio::test]
async fn a_crash_after_commit_loses_nothing() {
    let db = TestDb::new();
    // An instance whose worker never runs dies right after accepting the request.
    let first = TestApp::spawn_with(&db, Options { no_worker: true, ..Default::default() }).await;
    assert_eq!(first.request_code(json!({"mobilePhoneNumber": "13800138080"})).await.0, 200);
    assert_eq!(messages(&first)[0].status, "queued");
    let (app, data_dir) = (first.app.clone(), first.data_dir.clone());
    first.kill();

    // After restart the message goes out, and its code works.
    let restarted =
        TestApp::spawn_with(&db, Options { data_dir: Some(data_dir), ..Default::default() }).await.with_app(app);
    let code = restarted.wait_for_code("+8613800138080", 1).await;
    let m = wait_for_status(&restarted, "delivered").await;
    assert!(m.body_sealed.is_none(), "the sealed body is dropped once delivered");
    assert!(m.delivered_at.is_some());
    assert_eq!(restarted.verify_code(&code, "13800138080").await.0, 200);
}

#[tokio::test]
async fn a_claimed_message_whose_worker_died_is_sent_after_its_lease() {
    let db = TestDb::new();
    let clock = ShiftedClock::default();
    let app =
        TestApp::spawn_with(&db, Options { no_worker: true, clock: Some(clock.clone()), ..Default::default() }).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138081"})).await.0, 200);
    // A worker claims it and dies before sending.
    {
        let mut conn = app.core.pool().get().unwrap();
        let now = app.core.clock.now_naive();
        let claimed =
            store::write_tx(&mut conn, |c| store::messages::claim_due(c, now, now + TimeDelta::seconds(60), 10))
                .unwrap();
        assert_eq!(claimed.len(), 1);
    }
    let (a, dir) = (app.app.clone(), app.data_dir.clone());
    drop(app);
    let worker =
        TestApp::spawn_with(&db, Options { data_dir: Some(dir), clock: Some(clock.clone()), ..Default::default() })
            .await
            .with_app(a);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(worker.sink_lines("+8613800138081").is_empty(), "leased to the dead worker");
    clock.advance(TimeDelta::seconds(61));
    worker.wait_for_message("+8613800138081", 1).await;
    let m = wait_for_status(&worker, "delivered").await;
    assert_eq!(m.attempts, 2);
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff() {
    let db = TestDb::new();
    let clock = ShiftedClock::default();
    let flaky = Flaky::new(2, false);
    let app = spawn_sending_through(&db, flaky.clone(), &clock).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138082"})).await.0, 200);
    for expected_calls in [1, 2] {
        for _ in 0..100 {
            if flaky.calls() >= expected_calls {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(flaky.calls(), expected_calls, "waits for its back-off");
        let m = &messages(&app)[0];
        assert_eq!((m.status.as_str(), m.last_error.as_deref()), ("queued", Some("provider timeout")));
        clock.advance(TimeDelta::seconds(5));
    }
    let m = wait_for_status(&app, "sent").await;
    assert_eq!((m.attempts, m.provider_id.as_deref(), m.last_error.as_deref()), (3, Some("p-2"), None));
    assert!(m.body_sealed.is_none() && m.sent_at.is_some());
}

#[tokio::test]
async fn permanent_failures_and_exhausted_retries_end_failed() {
    let clock = ShiftedClock::default();
    let db = TestDb::new();
    let refused = Flaky::new(99, true);
    let app = spawn_sending_through(&db, refused.clone(), &clock).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138083"})).await.0, 200);
    let m = wait_for_status(&app, "failed").await;
    assert_eq!((m.attempts, m.last_error.as_deref()), (1, Some("refused")));
    assert!(m.body_sealed.is_none());
    assert_eq!(refused.calls(), 1);

    let db = TestDb::new();
    let down = Flaky::new(99, false);
    let app = spawn_sending_through(&db, down.clone(), &clock).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138084"})).await.0, 200);
    for _ in 0..100 {
        if messages(&app)[0].status == "failed" {
            break;
        }
        clock.advance(TimeDelta::seconds(20));
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    let m = &messages(&app)[0];
    assert_eq!((m.status.as_str(), m.attempts), ("failed", 5));
    assert_eq!(down.calls(), 5);
}

#[tokio::test]
async fn stale_messages_fail_and_old_rows_are_purged() {
    let db = TestDb::new();
    let clock = ShiftedClock::default();
    let app =
        TestApp::spawn_with(&db, Options { no_worker: true, clock: Some(clock.clone()), ..Default::default() }).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138085", "ttl": 1})).await.0, 200);
    clock.advance(TimeDelta::minutes(2));
    let report = app.core.purge().unwrap();
    assert_eq!(report.expired_messages, 1, "{report:?}");
    let m = &messages(&app)[0];
    assert_eq!((m.status.as_str(), m.last_error.as_deref()), ("failed", Some("expired before delivery")));
    assert!(m.body_sealed.is_none());

    clock.advance(TimeDelta::days(2));
    let report = app.core.purge().unwrap();
    assert_eq!((report.codes, report.send_events, report.messages), (1, 1, 0), "{report:?}");
    clock.advance(TimeDelta::days(30));
    assert_eq!(app.core.purge().unwrap().messages, 1);
    assert!(messages(&app).is_empty());
}

#[tokio::test]
async fn graceful_stop_finishes() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138086"})).await.0, 200);
    app.wait_for_message("+8613800138086", 1).await;
    tokio::time::timeout(std::time::Duration::from_secs(30), app.stop()).await.expect("stops in time");
}
