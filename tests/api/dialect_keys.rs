//! Each app's keys in the other dialects (Bmob, JPush, MinCloud) and each user's integer id: made
//! with the app, found again by their value, set and rotated from the CLI, on both backends.

use std::collections::HashSet;

use phonebase::core::accounts::users::NewUser;
use phonebase::core::apps::NewApp;
use phonebase::core::credentials::*;
use serde_json::Value;

use crate::helpers::{TestApp, TestDb};

fn cli(db: &TestDb, app: &TestApp, args: &[&str]) -> (bool, String) {
    crate::helpers::phonebase_cli(db, &app.data_dir, args)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn every_app_has_keys_in_every_dialect_that_find_it() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let other = app.core.create_app(NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    let c = &app.app.credentials;
    assert!(is_hex(&c.bmob.application_id, 32) && is_hex(&c.bmob.rest_api_key, 32) && is_hex(&c.bmob.master_key, 32));
    assert_eq!(c.bmob.secret_key.len(), 16, "hydrogen-js-sdk warns above 16 characters");
    assert!(c.bmob.secret_key.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(!c.bmob.security_code.is_empty());
    assert!(is_hex(&c.jpush.app_key, 24) && is_hex(&c.jpush.master_secret, 24));
    assert!(is_hex(&c.mincloud.client_id, 20) && is_hex(&c.mincloud.client_secret, 40));
    // Random per app.
    assert_ne!(c, &other.credentials);
    let all: HashSet<&str> = [&c.bmob.application_id, &c.bmob.rest_api_key, &c.bmob.master_key, &c.jpush.app_key]
        .into_iter()
        .map(String::as_str)
        .collect();
    assert_eq!(all.len(), 4);

    for (dialect, name, value) in [
        (Dialect::Bmob, BMOB_APPLICATION_ID, &c.bmob.application_id),
        (Dialect::Bmob, BMOB_SECRET_KEY, &c.bmob.secret_key),
        (Dialect::JPush, JPUSH_APP_KEY, &c.jpush.app_key),
        (Dialect::MinCloud, MINCLOUD_CLIENT_ID, &c.mincloud.client_id),
    ] {
        assert_eq!(app.core.app_by_credential(dialect, name, value).unwrap().id, app.app.id);
        let theirs = other.credentials.get(dialect, name);
        assert_eq!(app.core.app_by_credential(dialect, name, theirs).unwrap().id, other.id);
        assert!(matches!(
            app.core.app_by_credential(dialect, name, "no-such-key"),
            Err(phonebase::core::Error::UnknownApp)
        ));
    }
    // A secret is never a way to find an app.
    assert!(app.core.app_by_credential(Dialect::JPush, JPUSH_MASTER_SECRET, &c.jpush.master_secret).is_err());
    // Keys are per dialect: a Bmob application id is no JPush app key.
    assert!(app.core.app_by_credential(Dialect::JPush, JPUSH_APP_KEY, &c.bmob.application_id).is_err());
}

#[tokio::test]
async fn the_cli_keeps_vendor_keys_shows_them_and_rotates() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let id = app.app.id.clone();
    let (ok, text) = cli(
        &db,
        &app,
        &[
            "app",
            "update",
            &id,
            "--bmob-application-id",
            "6b3f0c0e5a2d4e0f9a1b2c3d4e5f6a7b",
            "--bmob-secret-key",
            "4f1a2b3c4d5e6f70",
            "--bmob-security-code",
            "my-code_1",
            "--jpush-app-key",
            "a1b2c3d4e5f6a7b8c9d0e1f2",
        ],
    );
    assert!(ok, "{text}");
    let (ok, text) = cli(&db, &app, &["app", "show", &id, "--json"]);
    assert!(ok, "{text}");
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["bmob"]["applicationId"], "6b3f0c0e5a2d4e0f9a1b2c3d4e5f6a7b");
    assert_eq!(shown["bmob"]["secretKey"], "4f1a2b3c4d5e6f70");
    assert_eq!(shown["bmob"]["securityCode"], "my-code_1");
    assert_eq!(shown["bmob"]["restApiKey"], app.app.credentials.bmob.rest_api_key.as_str());
    assert_eq!(shown["jpush"]["appKey"], "a1b2c3d4e5f6a7b8c9d0e1f2");
    assert_eq!(shown["jpush"]["masterSecret"], app.app.credentials.jpush.master_secret.as_str());
    assert_eq!(shown["mincloud"]["clientId"], app.app.credentials.mincloud.client_id.as_str());
    assert!(shown["mincloud"]["clientSecret"].as_str().is_some_and(|s| s.len() == 40));
    // The serving instance sees the new key (its cache is short-lived).
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let found = app.core.app_by_credential(Dialect::Bmob, BMOB_SECRET_KEY, "4f1a2b3c4d5e6f70").unwrap();
    assert_eq!(found.id, id);

    // A key another app holds is refused, and names what clashed.
    let (ok, text) =
        cli(&db, &app, &["app", "create", "--name", "Second", "--jpush-app-key", "a1b2c3d4e5f6a7b8c9d0e1f2"]);
    assert!(!ok, "{text}");
    assert!(text.contains("another app has this jpush app_key"), "{text}");
    let (ok, text) = cli(&db, &app, &["app", "update", &id, "--bmob-secret-key", "has space"]);
    assert!(!ok && text.contains("letters, digits"), "{text}");

    // Rotation: every JPush key changes and the old app key no longer finds the app.
    let (ok, text) = cli(&db, &app, &["app", "update", &id, "--rotate-keys", "jpush"]);
    assert!(ok, "{text}");
    let rotated: Value = serde_json::from_str(&text).unwrap();
    assert_ne!(rotated["jpush"]["appKey"], "a1b2c3d4e5f6a7b8c9d0e1f2");
    assert_ne!(rotated["jpush"]["masterSecret"], shown["jpush"]["masterSecret"]);
    assert_eq!(rotated["bmob"], shown["bmob"], "other dialects keep their keys");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert!(app.core.app_by_credential(Dialect::JPush, JPUSH_APP_KEY, "a1b2c3d4e5f6a7b8c9d0e1f2").is_err());
    let (ok, text) = cli(&db, &app, &["app", "update", &id, "--rotate-keys", "parse"]);
    assert!(!ok && text.contains("bmob, jpush or mincloud"), "{text}");
}

#[tokio::test]
async fn users_have_distinct_integer_ids_that_find_them() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let mut seqs = HashSet::new();
    let mut users = Vec::new();
    for i in 0..5 {
        let signed = app
            .core
            .sign_up(
                &app.app,
                NewUser {
                    username: Some(format!("user{i}")),
                    password: Some("pw-123456".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(signed.user.seq > 0);
        assert!(seqs.insert(signed.user.seq));
        users.push(signed.user);
    }
    for user in &users {
        let found = app.core.user_by_seq(&app.app, user.seq).unwrap();
        assert_eq!((found.id.as_str(), found.seq), (user.id.as_str(), user.seq));
        // An update keeps the number.
        assert_eq!(app.core.user(&app.app, &user.id).unwrap().seq, user.seq);
    }
    assert!(matches!(app.core.user_by_seq(&app.app, -1), Err(phonebase::core::Error::UserNotFound)));
    // Another app's user is not found through this one.
    let other = app.core.create_app(NewApp { name: "Other".into(), ..Default::default() }).unwrap();
    assert!(app.core.user_by_seq(&other, users[0].seq).is_err());
}

#[tokio::test]
async fn concurrent_sign_ups_on_two_instances_never_share_an_integer_id() {
    let db = TestDb::new();
    let a = TestApp::spawn(&db).await;
    let b = a.another_instance(&db, Default::default()).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (core, app) = if i % 2 == 0 { (a.core.clone(), a.app.clone()) } else { (b.core.clone(), b.app.clone()) };
        tasks.push(tokio::task::spawn_blocking(move || {
            core.sign_up(
                &app,
                NewUser {
                    username: Some(format!("racer{i}")),
                    password: Some("pw-123456".into()),
                    ..Default::default()
                },
            )
            .map(|s| s.user.seq)
        }));
    }
    let mut seqs = HashSet::new();
    for t in tasks {
        assert!(seqs.insert(t.await.unwrap().unwrap()));
    }
    assert_eq!(seqs.len(), 16);
}
