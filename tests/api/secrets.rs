//! The server secret: never in the database, required from the configuration on PostgreSQL,
//! moved out of databases that still hold one, and rotated without ending codes, sessions or
//! queued messages.

use std::process::Command;

use diesel::prelude::*;
use phonebase::core::secrets::Keys;
use phonebase::startup::Application;
use phonebase::store::schema::instance_settings;
use serde_json::json;

use crate::helpers::{Options, TestApp, TestDb, config};

fn settings(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.core.pool().get().unwrap();
    instance_settings::table.select((instance_settings::name, instance_settings::value)).load(&mut conn).unwrap()
}

/// `phonebase <args>` against the test database, with nothing of the caller's configuration.
fn cli(db: &TestDb, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phonebase"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PHONEBASE_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.env("DATABASE_URL", &db.url)
        .env("PHONEBASE_DATA_DIR", db.dir.path())
        .env("RUST_LOG", "warn")
        .current_dir(db.dir.path())
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_secret_never_sits_in_the_database() {
    let db = TestDb::new();
    if db.is_postgres() {
        // Without a configured secret PostgreSQL refuses to start, and says how to give it one.
        let without = phonebase::config::Config { secret_key: None, ..config(&db, &Options::default()) };
        let refused = Application::build(without).await.err().expect("refused without a secret").to_string();
        for hint in ["phonebase secret generate", "secret_key_file", "PHONEBASE_SECRET_KEY"] {
            assert!(refused.contains(hint), "{hint} missing from: {refused}");
        }
        // Every command that needs it refuses too.
        let out = cli(&db, &["app", "list"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("phonebase secret generate"));
    }
    let app = TestApp::spawn(&db).await;
    assert_eq!(app.request_code(json!({"mobilePhoneNumber": "13800138500"})).await.0, 200);
    let secret = match &db.secret {
        Some(secret) => secret.clone(),
        None => {
            // SQLite keeps zero setup: a generated key beside the database, readable by its owner.
            let path = app.data_dir.join("secret.key");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            }
            std::fs::read_to_string(path).unwrap()
        }
    };
    let stored = settings(&app);
    assert!(stored.iter().all(|(name, _)| name != "secret_key"), "{stored:?}");
    assert!(stored.iter().all(|(_, value)| !value.contains(secret.trim())), "the secret is in the database");

    // `phonebase secret generate` prints a usable secret.
    let out = cli(&db, &["secret", "generate"]);
    let generated = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success() && generated.trim().len() == 64 && hex::decode(generated.trim()).is_ok());
}

/// A database of an older version holds the secret: the server refuses to start until it is in
/// the configuration (printed by a command, never logged), then deletes the database's copy.
#[tokio::test]
async fn a_secret_left_in_the_database_is_moved_out() {
    let db = TestDb::new();
    if !db.is_postgres() {
        return; // only PostgreSQL ever kept it there
    }
    let legacy = db.secret.clone().unwrap();
    let app = TestApp::spawn_with(&db, Options { no_worker: true, ..Options::default() }).await;
    let (status, _) =
        app.call(reqwest::Method::POST, "/1.1/users", json!({"username": "ann", "password": "pw"}), None).await;
    assert_eq!(status, 201);
    let (_, user) = app.post_json("/1.1/login", json!({"username": "ann", "password": "pw"})).await;
    let token = user["sessionToken"].as_str().unwrap().to_string();
    {
        let mut conn = app.core.pool().get().unwrap();
        diesel::insert_into(instance_settings::table)
            .values((instance_settings::name.eq("secret_key"), instance_settings::value.eq(&legacy)))
            .execute(&mut conn)
            .unwrap();
    }
    let saved_app = app.app.clone();
    app.stop().await;

    let without = phonebase::config::Config { secret_key: None, ..config(&db, &Options::default()) };
    let refused = Application::build(without).await.err().expect("refused").to_string();
    assert!(refused.contains("phonebase secret from-database") && refused.contains("secret_key_file"), "{refused}");
    assert!(!refused.contains(&legacy), "the message shows the secret");
    let out = cli(&db, &["secret", "from-database"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), legacy);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&legacy));

    // Another secret than the stored one is refused: what the stored one protects would be lost.
    let other =
        phonebase::config::Config { secret_key: Some(Keys::generate_secret()), ..config(&db, &Options::default()) };
    let refused = Application::build(other).await.err().expect("refused").to_string();
    assert!(refused.contains("secret_keys_previous"), "{refused}");

    // Configured: it starts, the database's copy is gone, and sessions carry on.
    let app = TestApp::spawn(&db).await.with_app(saved_app);
    assert!(settings(&app).iter().all(|(name, _)| name != "secret_key"));
    let (status, me) = app.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(&token)).await;
    assert_eq!(status, 200, "{me}");
}

/// A new secret with the old one in `secret_keys_previous`: a code issued (and a message queued)
/// under the old secret still verifies (and is delivered), sessions carry on and are hashed again
/// under the new secret, so that they outlive the old secret's removal.
#[tokio::test]
async fn rotation_keeps_codes_sessions_and_queued_messages() {
    let db = TestDb::new();
    let (old, new) = (Keys::generate_secret(), Keys::generate_secret());
    let before =
        TestApp::spawn_with(&db, Options { no_worker: true, secret_key: Some(old.clone()), ..Options::default() })
            .await;
    let mut tokens = Vec::new();
    for name in ["used", "idle"] {
        let (status, user) =
            before.call(reqwest::Method::POST, "/1.1/users", json!({"username": name, "password": "pw"}), None).await;
        assert_eq!(status, 201, "{user}");
        tokens.push(user["sessionToken"].as_str().unwrap().to_string());
    }
    let (used, idle) = (&tokens[0], &tokens[1]);
    assert_eq!(before.request_code(json!({"mobilePhoneNumber": "13800138600"})).await.0, 200);

    // The rotated instance (with the outbox worker) sends the message sealed under the old secret.
    let rotated = before
        .another_instance(
            &db,
            Options { secret_key: Some(new.clone()), secret_keys_previous: vec![old.clone()], ..Options::default() },
        )
        .await;
    before.stop().await;
    let code = rotated.wait_for_code("+8613800138600", 1).await;
    assert_eq!(rotated.verify_code(&code, "13800138600").await.0, 200, "a code of the old secret verifies");
    let (status, me) = rotated.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(used)).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("used")));
    assert_eq!(rotated.request_code(json!({"mobilePhoneNumber": "13800138601"})).await.0, 200);
    let fresh = rotated.wait_for_code("+8613800138601", 1).await;

    // The old secret dropped: the session used during the rotation lives on, new codes verify, and
    // the instance starts (its sealed JWT key was sealed again under the new secret).
    let after = rotated.another_instance(&db, Options { secret_key: Some(new.clone()), ..Options::default() }).await;
    rotated.stop().await;
    let (status, _) = after.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(used)).await;
    assert_eq!(status, 200);
    assert_eq!(after.verify_code(&fresh, "13800138601").await.0, 200);
    // A session nobody used while the old secret was accepted ends with it (documented).
    let (status, body) = after.call(reqwest::Method::GET, "/1.1/users/me", json!(null), Some(idle)).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(211)), "{body}");
    // And nothing of the old secret opens under the new one alone.
    let jwt = after.call(reqwest::Method::POST, "/1.1/users/me/jwt", json!({}), Some(used)).await;
    assert_eq!(jwt.0, 200, "{}", jwt.1);
}
