//! The rules hold under concurrency, inside one instance and across instances sharing a database.

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb};

#[tokio::test]
async fn fifty_parallel_verifies_of_one_code_succeed_once() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138060"})).await.0, 200);
    let code = app.wait_for_code("+8613800138060", 1).await;
    let results = join_all((0..50).map(|_| app.verify_code(&code, "13800138060"))).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(results.iter().all(|(s, b)| *s == 200 || b["code"] == 603), "{results:?}");
}

#[tokio::test]
async fn fifty_parallel_sends_to_one_phone_accept_one() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let results = join_all((0..50).map(|_| app.request_code(json!({"mobilePhoneNumber": "13800138061"})))).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(results.iter().all(|(s, b)| *s == 200 || b["code"] == 601), "{results:?}");
    app.wait_for_message("+8613800138061", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.sink_lines("+8613800138061").len(), 1);
}

#[tokio::test]
async fn two_instances_on_one_database_behave_as_one() {
    let db = TestDb::new();
    let a = TestApp::spawn(&db).await;
    let b = a.another_instance(&db, Options::default()).await;
    assert_ne!(a.address, b.address);
    // Sends split across both instances: still one per minute.
    let sends = (0..40).map(|i| {
        let target = if i % 2 == 0 { &a } else { &b };
        target.request_code(json!({"mobilePhoneNumber": "13800138062"}))
    });
    let results = join_all(sends).await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 1, "{results:?}");
    // A code issued through one instance verifies once, through either.
    let code = a.wait_for_code("+8613800138062", 1).await;
    let verifies = (0..40).map(|i| {
        let target = if i % 2 == 0 { &a } else { &b };
        target.verify_code(&code, "13800138062")
    });
    let results = join_all(verifies).await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 1, "{results:?}");
    // Both workers drain one outbox without sending twice.
    for i in 0..10 {
        assert_eq!(b.request_code(json!({"mobilePhoneNumber": format!("1380013807{i}")})).await.0, 200);
    }
    for i in 0..10 {
        a.wait_for_message(&format!("+861380013807{i}"), 1).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for i in 0..10 {
        assert_eq!(a.sink_lines(&format!("+861380013807{i}")).len(), 1);
    }
}

#[tokio::test]
async fn parallel_sends_from_one_address_across_instances_keep_its_limit() {
    // The per-address lock is taken with the BEGIN (one round trip on PostgreSQL): twenty
    // parallel sends to twenty numbers from one address, split over two instances, still pass
    // exactly `ip_per_hour` of them.
    let db = TestDb::new();
    let a = TestApp::spawn(&db).await;
    a.update_settings(json!({"limits": {"ip_per_hour": 3}}));
    let b = a.another_instance(&db, Options::default()).await;
    let sends = (0..20).map(|i| {
        let target = if i % 2 == 0 { &a } else { &b };
        target.request_code(json!({"mobilePhoneNumber": format!("138001381{i:02}")}))
    });
    let results = join_all(sends).await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 3, "{results:?}");
    assert!(results.iter().all(|(s, b)| *s == 200 || b["code"] == 601), "{results:?}");
}
