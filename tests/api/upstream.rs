//! Lazy migration from a live LeanCloud app. The upstream is a second Phonebase on its own
//! database: Phonebase speaks LeanCloud's `/1.1`, so it stands in for LeanCloud exactly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, TestDb};
use diesel::prelude::*;
use phonebase::core::accounts::import::{ImportOptions, ImportReport};
use phonebase::core::accounts::upstream::NewUpstream;
use phonebase::core::clock::Clock;
use phonebase::import::leancloud::{RawRecord, source_record};

fn code(body: &Value) -> Option<i64> {
    body["code"].as_i64()
}

/// Points `local`'s app at `server_url` (the upstream app's keys), asked until 30 days from now.
fn set_upstream(local: &TestApp, server_url: &str, upstream: &phonebase::core::apps::App) {
    let until = local.clock.now_naive() + TimeDelta::days(30);
    local
        .core
        .set_upstream(
            &local.app.id,
            Some(NewUpstream {
                server_url: server_url.to_string(),
                app_id: upstream.id.clone(),
                app_key: upstream.app_key.clone(),
                master_key: upstream.master_key.clone(),
                until,
            }),
        )
        .expect("upstream set");
}

/// Two servers, each on its own database: `local` lazily migrates from `up`.
struct Pair {
    up: TestApp,
    local: TestApp,
    _dbs: (TestDb, TestDb),
}

async fn pair() -> Pair {
    let (up_db, db) = (TestDb::new(), TestDb::new());
    let up = TestApp::spawn(&up_db).await;
    let local = TestApp::spawn(&db).await;
    set_upstream(&local, &up.address, &up.app);
    Pair { up, local, _dbs: (up_db, db) }
}

impl TestApp {
    async fn login(&self, body: Value) -> (u16, Value) {
        self.call(Method::POST, "/1.1/login", body, None).await
    }

    async fn me(&self, token: &str) -> (u16, Value) {
        self.call(Method::GET, "/1.1/users/me", Value::Null, Some(token)).await
    }

    fn calls_upstream(&self) -> u64 {
        self.core.upstream_stats().calls()
    }

    fn moved_users(&self) -> i64 {
        self.core.upstream_status(&self.app.id).unwrap().map_or(0, |s| s.moved_users)
    }

    /// Signs up by phone (code from this server's sink); returns the user.
    async fn phone_sign_up(&self, phone: &str, e164: &str, nth: usize) -> Value {
        assert_eq!(self.request_code(json!({"mobilePhoneNumber": phone})).await.0, 200);
        let code = self.wait_for_code(e164, nth).await;
        let (status, user) = self
            .post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": phone, "smsCode": code, "nickname": "P"}))
            .await;
        assert_eq!(status, 201, "{user}");
        user
    }
}

#[tokio::test]
async fn users_only_upstream_log_in_with_their_passwords_and_keep_their_ids() {
    let Pair { up, local, _dbs } = pair().await;
    let ann = up
        .sign_up(json!({"username": "ann", "password": "pw-ann-1", "email": "Ann@Example.com",
                        "mobilePhoneNumber": "13800138201", "nickname": "A", "level": 3}))
        .await;
    let bob = up.sign_up(json!({"username": "bob", "password": "pw-bob-1", "email": "bob@example.com"})).await;

    // By username: the same objectId, fields and flags, and a Phonebase session.
    let (status, got) = local.login(json!({"username": "ann", "password": "pw-ann-1"})).await;
    assert_eq!(status, 200, "{got}");
    for key in
        ["objectId", "username", "email", "mobilePhoneNumber", "mobilePhoneVerified", "createdAt", "nickname", "level"]
    {
        assert_eq!(got[key], ann[key], "{key}: {got}");
    }
    let token = got["sessionToken"].as_str().unwrap();
    assert_ne!(token, ann["sessionToken"].as_str().unwrap(), "a session of this server");
    assert_eq!(local.me(token).await.1["objectId"], ann["objectId"]);
    // From now on ann is local: the upstream is not asked again.
    let calls = local.calls_upstream();
    assert_eq!(local.login(json!({"username": "ann", "password": "pw-ann-1"})).await.0, 200);
    assert_eq!(local.calls_upstream(), calls);

    // By email and by phone.
    let (status, got) = local.login(json!({"email": "bob@example.com", "password": "pw-bob-1"})).await;
    assert_eq!((status, &got["objectId"]), (200, &bob["objectId"]), "{got}");
    let carol =
        up.sign_up(json!({"username": "carol", "password": "pw-carol", "mobilePhoneNumber": "13800138202"})).await;
    let (status, got) = local.login(json!({"mobilePhoneNumber": "13800138202", "password": "pw-carol"})).await;
    assert_eq!((status, &got["objectId"]), (200, &carol["objectId"]), "{got}");

    // Unknown here and upstream: the same answers as without an upstream.
    let (status, got) = local.login(json!({"username": "nobody", "password": "x1"})).await;
    assert_eq!((status, code(&got)), (400, Some(211)), "{got}");
    let (status, got) = local.login(json!({"email": "nobody@example.com", "password": "x1"})).await;
    assert_eq!((status, code(&got)), (400, Some(205)), "{got}");
    let (status, got) = local.login(json!({"mobilePhoneNumber": "13800138299", "password": "x1"})).await;
    assert_eq!((status, code(&got)), (400, Some(213)), "{got}");
    assert_eq!(local.moved_users(), 3);
    let counts = local.core.upstream_stats().snapshot();
    assert!(counts.found >= 3 && counts.not_found >= 3 && counts.failed == 0, "{counts:?}");
}

#[tokio::test]
async fn a_wrong_password_upstream_is_210_and_counts_toward_the_lockout() {
    let Pair { up, local, _dbs } = pair().await;
    let dan = up.sign_up(json!({"username": "dan", "password": "pw-dan-1"})).await;
    let (status, got) = local.login(json!({"username": "dan", "password": "wrong-1"})).await;
    assert_eq!((status, code(&got)), (400, Some(210)), "{got}");
    for i in 2..=7 {
        let (status, got) = local.login(json!({"username": "dan", "password": format!("wrong-{i}")})).await;
        assert_eq!((status, code(&got)), (400, Some(210)), "attempt {i}: {got}");
    }
    // Locked here: even the right password is refused, and the upstream is not asked.
    let calls = local.calls_upstream();
    let (status, got) = local.login(json!({"username": "dan", "password": "pw-dan-1"})).await;
    assert_eq!((status, code(&got)), (400, Some(219)), "{got}");
    assert_eq!(local.calls_upstream(), calls);
    // The window passes: the right password works, through the upstream, same objectId.
    local.clock.advance(TimeDelta::minutes(16));
    up.clock.advance(TimeDelta::minutes(16));
    let (status, got) = local.login(json!({"username": "dan", "password": "pw-dan-1"})).await;
    assert_eq!((status, &got["objectId"]), (200, &dan["objectId"]), "{got}");
}

/// An exported user as the console writes it (LeanCloud's salted SHA-512 hash).
fn exported(id: &str, username: &str, phone: &str, password: &str) -> Map<String, Value> {
    let salt = format!("salt{id}");
    json!({
        "objectId": id, "username": username, "mobilePhoneNumber": phone, "mobilePhoneVerified": true,
        "password": phonebase::core::accounts::passwords::leancloud_export_digest(&salt, password), "salt": salt,
        "nickname": "before", "createdAt": "2019-03-04T05:06:07.089Z", "updatedAt": "2024-01-02T03:04:05.678Z",
    })
    .as_object()
    .unwrap()
    .clone()
}

fn import(app: &TestApp, records: &[Map<String, Value>], overwrite: bool) -> ImportReport {
    let mut importer = app.core.importer(&app.app.id, ImportOptions { dry_run: false, overwrite }).unwrap();
    let file: Arc<str> = Arc::from("_User.0.jsonl");
    let batch = records
        .iter()
        .enumerate()
        .map(|(i, r)| source_record(RawRecord { file: file.clone(), line: i as u64 + 2, record: Ok(r.clone()) }))
        .collect();
    let prepared = importer.preparer().prepare(batch);
    importer.import_batch(&prepared).unwrap()
}

#[tokio::test]
async fn a_password_changed_upstream_after_the_import_works_and_the_final_import_keeps_the_move() {
    let Pair { up, local, _dbs } = pair().await;
    let id = "55a47496e4b05001a7732d01";
    let record = exported(id, "erin", "13800138211", "old-pw-1");
    // Both sides start from the same export (the upstream stands in for LeanCloud).
    assert_eq!(import(&up, std::slice::from_ref(&record), false).created, 1);
    assert_eq!(import(&local, std::slice::from_ref(&record), false).created, 1);
    // Already signed in here with the old password (an updated phone, before the change).
    let (status, before) = local.login(json!({"username": "erin", "password": "old-pw-1"})).await;
    assert_eq!(status, 200, "{before}");
    let old_session = before["sessionToken"].as_str().unwrap().to_string();

    // Erin, still on the old app, changes her password and her nickname on LeanCloud.
    let (status, session) = up.login(json!({"username": "erin", "password": "old-pw-1"})).await;
    assert_eq!(status, 200, "{session}");
    let token = session["sessionToken"].as_str().unwrap();
    let (status, got) = up
        .call(
            Method::PUT,
            &format!("/1.1/users/{id}/updatePassword"),
            json!({"old_password": "old-pw-1", "new_password": "new-pw-2"}),
            Some(token),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        up.call(Method::PUT, &format!("/1.1/users/{id}"), json!({"nickname": "after"}), Some(token)).await.0,
        200
    );

    // Updated, she logs in here with the new password: same user, LeanCloud's newer fields.
    let (status, got) = local.login(json!({"username": "erin", "password": "new-pw-2"})).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!((got["objectId"].as_str(), got["nickname"].as_str()), (Some(id), Some("after")));
    let (status, got) = local.login(json!({"username": "erin", "password": "new-pw-2"})).await;
    assert_eq!(status, 200, "argon2id here now: {got}");
    // The password changed: as with any change, the sessions from before it end.
    assert_eq!(code(&local.me(&old_session).await.1), Some(211));
    assert_eq!(local.me(got["sessionToken"].as_str().unwrap()).await.0, 200);

    // The final import treats her as moved: no conflict, no overwrite; --overwrite replaces her.
    let report = import(&local, std::slice::from_ref(&record), false);
    assert_eq!((report.created, report.updated, report.unchanged, report.refused.len()), (0, 0, 1, 0), "{report:?}");
    let (_, got) = local.call(Method::GET, &format!("/1.1/users/{id}"), Value::Null, None).await;
    assert_eq!(got["nickname"], "after");
    let report = import(&local, &[record], true);
    assert_eq!((report.updated, report.refused.len()), (1, 0), "{report:?}");
}

#[tokio::test]
async fn a_phone_signed_up_upstream_logs_in_by_sms_here_and_keeps_its_id() {
    let Pair { up, local, _dbs } = pair().await;
    let fay = up.phone_sign_up("13800138221", "+8613800138221", 1).await;

    // SMS login: the code request finds her upstream, then the code logs her in.
    let (status, got) = local.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138221"})).await;
    assert_eq!(status, 200, "{got}");
    let sms = local.wait_for_code("+8613800138221", 1).await;
    let (status, got) = local.login(json!({"mobilePhoneNumber": "13800138221", "smsCode": sms})).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!((&got["objectId"], &got["nickname"]), (&fay["objectId"], &json!("P")));

    // usersByMobilePhone with a number only the upstream knows: that user, never a second one.
    let gus = up.phone_sign_up("13800138222", "+8613800138222", 1).await;
    assert_eq!(local.request_code(json!({"mobilePhoneNumber": "13800138222"})).await.0, 200);
    let sms = local.wait_for_code("+8613800138222", 1).await;
    let (status, got) =
        local.post_json("/1.1/usersByMobilePhone", json!({"mobilePhoneNumber": "13800138222", "smsCode": sms})).await;
    assert_eq!((status, &got["objectId"]), (200, &gus["objectId"]), "{got}");

    // A reset code for a number only the upstream knows.
    let hal = up.phone_sign_up("13800138223", "+8613800138223", 1).await;
    let (status, got) =
        local.post_json("/1.1/requestPasswordResetBySmsCode", json!({"mobilePhoneNumber": "13800138223"})).await;
    assert_eq!(status, 200, "{got}");
    let sms = local.wait_for_code("+8613800138223", 1).await;
    let (status, _) = local
        .call(Method::PUT, &format!("/1.1/resetPasswordBySmsCode/{sms}"), json!({"password": "hal-new-1"}), None)
        .await;
    assert_eq!(status, 200);
    let (status, got) = local.login(json!({"mobilePhoneNumber": "13800138223", "password": "hal-new-1"})).await;
    assert_eq!((status, &got["objectId"]), (200, &hal["objectId"]), "{got}");

    // A number nobody has: 213 as ever.
    let (status, got) = local.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138229"})).await;
    assert_eq!((status, code(&got)), (400, Some(213)), "{got}");
}

#[tokio::test]
async fn upstream_lookups_of_numbers_count_against_the_send_limits() {
    let Pair { up: _up, local, _dbs } = pair().await;
    local.update_settings(json!({"limits": {"ip_per_hour": 2}}));
    for phone in ["13800138231", "13800138232"] {
        let (status, got) = local.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": phone})).await;
        assert_eq!((status, code(&got)), (400, Some(213)), "{got}");
    }
    let calls = local.calls_upstream();
    let (status, got) = local.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138233"})).await;
    assert_eq!((status, code(&got)), (400, Some(601)), "{got}");
    assert_eq!(local.calls_upstream(), calls, "over the limit, nobody is asked");
}

#[tokio::test]
async fn an_upstream_session_token_keeps_the_client_signed_in() {
    let Pair { up, local, _dbs } = pair().await;
    let ivy = up.sign_up(json!({"username": "ivy", "password": "pw-ivy-1", "nickname": "I"})).await;
    let token = ivy["sessionToken"].as_str().unwrap();

    // become(): GET /users/me with the upstream's token.
    let (status, got) = local.me(token).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (&got["objectId"], &got["nickname"], got["sessionToken"].as_str()),
        (&ivy["objectId"], &json!("I"), Some(token))
    );
    // Now a session here: asked once only.
    let calls = local.calls_upstream();
    assert_eq!(local.me(token).await.0, 200);
    assert_eq!(local.calls_upstream(), calls);
    // Python's become: ?session_token=
    let (status, _) = local.call(Method::GET, &format!("/1.1/users/me?session_token={token}"), Value::Null, None).await;
    assert_eq!(status, 200);

    // A token nobody knows: 211.
    let (status, got) = local.me("abcdefghijklmnopqrstuvwxy").await;
    assert_eq!((status, code(&got)), (400, Some(211)), "{got}");

    // Revoked here, it stays dead, though the upstream still takes it.
    let id = ivy["objectId"].as_str().unwrap();
    let (status, fresh) =
        local.call(Method::PUT, &format!("/1.1/users/{id}/refreshSessionToken"), Value::Null, Some(token)).await;
    assert_eq!(status, 200, "{fresh}");
    let calls = local.calls_upstream();
    assert_eq!(code(&local.me(token).await.1), Some(211));
    assert_eq!(local.calls_upstream(), calls);
    assert_eq!(up.me(token).await.0, 200);
    assert_eq!(local.me(fresh["sessionToken"].as_str().unwrap()).await.0, 200);
}

/// A TCP server that accepts connections and never answers.
async fn hanging_listener() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    address
}

#[tokio::test]
async fn a_hung_or_gone_upstream_changes_nothing_for_local_users() {
    let db = TestDb::new();
    let local = TestApp::spawn(&db).await;
    local.sign_up(json!({"username": "kim", "password": "pw-kim-1"})).await;
    let hung = hanging_listener().await;
    let fake = phonebase::core::apps::App {
        id: "lcapp".into(),
        app_key: "k1".into(),
        master_key: "m1".into(),
        ..local.app.clone()
    };
    set_upstream(&local, &hung, &fake);

    // Unknown users wait for the upstream's timeout (2 s), no longer, and get the usual answer;
    // meanwhile a local user logs in as fast as ever.
    let started = Instant::now();
    let unknown = (0..3).map(|i| {
        let local = &local;
        async move { local.login(json!({"username": format!("ghost{i}"), "password": "x1"})).await }
    });
    let (unknown, (kim_status, kim_at)) = tokio::join!(futures_util::future::join_all(unknown), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = Instant::now();
        let (status, _) = local.login(json!({"username": "kim", "password": "pw-kim-1"})).await;
        (status, t.elapsed())
    });
    assert_eq!(kim_status, 200);
    assert!(kim_at < Duration::from_millis(1500), "local login took {kim_at:?}");
    for (status, got) in &unknown {
        assert_eq!((*status, code(got)), (400, Some(211)), "{got}");
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5), "{waited:?}");
    let (status, got) = local.me("abcdefghijklmnopqrstuvwxy").await;
    assert_eq!((status, code(&got)), (400, Some(211)), "{got}");
    let (status, _) = local.login(json!({"username": "ghost9", "password": "x1"})).await;
    assert_eq!(status, 400);

    // Five failures open the breaker: now nobody is asked and the answer comes at once.
    let counts = local.core.upstream_stats().snapshot();
    assert_eq!((counts.failed, counts.found), (5, 0), "{counts:?}");
    let t = Instant::now();
    let (status, got) = local.login(json!({"username": "ghost10", "password": "x1"})).await;
    assert_eq!((status, code(&got)), (400, Some(211)), "{got}");
    assert!(t.elapsed() < Duration::from_millis(1000), "{:?}", t.elapsed());
    assert!(local.core.upstream_stats().snapshot().breaker_open >= 1);
    // No detail of the failure reaches the client.
    assert_eq!(got["error"], "Could not find user.");

    // Gone (nothing listens): refused at once, same answers.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let fake = phonebase::core::apps::App { id: "lcapp2".into(), ..fake };
    set_upstream(&local, &gone, &fake);
    let t = Instant::now();
    let (status, got) = local.post_json("/1.1/requestLoginSmsCode", json!({"mobilePhoneNumber": "13800138241"})).await;
    assert_eq!((status, code(&got)), (400, Some(213)), "{got}");
    assert!(t.elapsed() < Duration::from_millis(1500), "{:?}", t.elapsed());
    assert_eq!(local.login(json!({"username": "kim", "password": "pw-kim-1"})).await.0, 200);
}

#[tokio::test]
async fn after_the_until_date_or_when_off_nothing_is_asked() {
    let Pair { up, local, _dbs } = pair().await;
    up.sign_up(json!({"username": "jay", "password": "pw-jay-1"})).await;
    let jay_token = up.login(json!({"username": "jay", "password": "pw-jay-1"})).await.1["sessionToken"].clone();

    local.clock.advance(TimeDelta::days(31));
    let (status, got) = local.login(json!({"username": "jay", "password": "pw-jay-1"})).await;
    assert_eq!((status, code(&got)), (400, Some(211)), "{got}");
    assert_eq!(code(&local.me(jay_token.as_str().unwrap()).await.1), Some(211));
    assert_eq!(local.calls_upstream(), 0);
    assert!(!local.core.upstream_status(&local.app.id).unwrap().unwrap().active);

    // Before the date again but switched off: the same.
    local.clock.advance(TimeDelta::days(-31));
    local.core.set_upstream(&local.app.id, None).unwrap();
    assert_eq!(local.core.upstream_status(&local.app.id).unwrap(), None);
    let (status, got) = local.login(json!({"username": "jay", "password": "pw-jay-1"})).await;
    assert_eq!((status, code(&got)), (400, Some(211)), "{got}");
    assert_eq!(local.calls_upstream(), 0);
}

#[tokio::test]
async fn the_cli_sets_the_upstream_and_never_shows_its_keys() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let cli = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_phonebase"));
        for (k, _) in std::env::vars() {
            if k.starts_with("PHONEBASE_") || k == "DATABASE_URL" {
                cmd.env_remove(k);
            }
        }
        if let Some(secret) = &db.secret {
            cmd.env("PHONEBASE_SECRET_KEY", secret);
        }
        let out = cmd
            .env("DATABASE_URL", &db.url)
            .env("PHONEBASE_DATA_DIR", &app.data_dir)
            .env("RUST_LOG", "warn")
            .current_dir(&app.data_dir)
            .args(args)
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    let (ok, text) = cli(&[
        "app",
        "update",
        &app.app.id,
        "--upstream-leancloud",
        "https://abc.lc-cn-n1-shared.com/",
        "--upstream-app-id",
        "lcAppId1",
        "--upstream-app-key",
        "SecretAppKey123",
        "--upstream-master-key",
        "SecretMasterKey456",
        "--upstream-until",
        "2027-01-12",
    ]);
    assert!(ok, "{text}");
    let (ok, text) = cli(&["app", "show", &app.app.id]);
    assert!(ok, "{text}");
    assert!(text.contains("https://abc.lc-cn-n1-shared.com") && text.contains("2027-01-12T00:00:00Z"), "{text}");
    assert!(!text.contains("SecretAppKey123") && !text.contains("SecretMasterKey456"), "{text}");
    // Sealed at rest: the database holds neither key.
    {
        use phonebase::store::schema::app_upstreams;
        let mut conn = app.core.pool().get().unwrap();
        let (k, m): (Vec<u8>, Vec<u8>) = app_upstreams::table
            .select((app_upstreams::app_key_sealed, app_upstreams::master_key_sealed))
            .first(&mut conn)
            .unwrap();
        let holds = |sealed: &[u8], key: &str| sealed.windows(key.len()).any(|w| w == key.as_bytes());
        assert!(!holds(&k, "SecretAppKey123") && !holds(&m, "SecretMasterKey456"));
    }
    let status = app.core.upstream_status(&app.app.id).unwrap().unwrap();
    assert_eq!((status.app_id.as_str(), status.until.as_str()), ("lcAppId1", "2027-01-12T00:00:00Z"));
    let (ok, text) = cli(&["app", "update", &app.app.id, "--upstream-off"]);
    assert!(ok, "{text}");
    assert_eq!(app.core.upstream_status(&app.app.id).unwrap(), None);
    let (ok, text) = cli(&["app", "update", &app.app.id, "--upstream-leancloud", "https://x.example.com"]);
    assert!(!ok, "all of the upstream's settings are needed: {text}");
}

#[tokio::test]
async fn a_phonebase_answers_the_master_key_user_query() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let ann = app.sign_up(json!({"username": "ann", "password": "pw-ann-1", "email": "Ann@Example.com", "mobilePhoneNumber": "13800138251"})).await;
    let query = |condition: Value, master: bool| {
        let request = app.signed(Method::GET, "/1.1/users", master).query(&[("where", condition.to_string())]);
        crate::helpers::send(request)
    };
    for condition in [
        json!({"username": "ann"}),
        json!({"email": "ann@example.com"}),
        json!({"mobilePhoneNumber": {"$in": ["+8613800138251", "13800138251"]}}),
        json!({"objectId": ann["objectId"]}),
    ] {
        let (status, got) = query(condition.clone(), true).await;
        assert_eq!(status, 200, "{condition}: {got}");
        let results = got["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{condition}: {got}");
        assert_eq!(results[0]["objectId"], ann["objectId"]);
        assert!(results[0].get("sessionToken").is_none() && results[0].get("password").is_none(), "{got}");
    }
    let (status, got) = query(json!({"username": "nobody"}), true).await;
    assert_eq!((status, got["results"].as_array().map(Vec::len)), (200, Some(0)));
    // The app key may not list users; other conditions are refused clearly.
    let (status, got) = query(json!({"username": "ann"}), false).await;
    assert_eq!((status, code(&got)), (403, Some(119)), "{got}");
    let (status, got) = query(json!({"nickname": "A"}), true).await;
    assert_eq!((status, code(&got)), (400, Some(1)), "{got}");
    let (status, got) = crate::helpers::send(app.signed(Method::GET, "/1.1/classes/_User?where=nope", true)).await;
    assert_eq!((status, code(&got)), (400, Some(107)), "{got}");
}

#[tokio::test]
async fn the_console_shows_and_edits_the_upstream_without_its_keys() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let (mut browser, csrf) = crate::console::signed_in(&app).await;
    let page = format!("/console/apps/{}", app.app.id);
    let (_, html, _) = browser.get(&page).await;
    assert!(html.contains("id=\"no-upstream\""), "{html}");
    let (status, _, location, _) = browser
        .post(
            &format!("{page}/upstream"),
            &[
                ("csrf", &csrf),
                ("server_url", "https://abc.lc-cn-n1-shared.com"),
                ("upstream_app_id", "lcAppId1"),
                ("upstream_app_key", "SecretAppKey123"),
                ("upstream_master_key", "SecretMasterKey456"),
                ("until", "2027-01-12"),
            ],
        )
        .await;
    assert_eq!((status, location.as_deref()), (303, Some(format!("{page}?notice=upstream").as_str())));
    let (_, html, _) = browser.get(&page).await;
    assert!(html.contains("https://abc.lc-cn-n1-shared.com") && html.contains("2027-01-12T00:00:00Z"), "{html}");
    assert!(!html.contains("SecretAppKey123") && !html.contains("SecretMasterKey456"));
    // A bad date is refused on the page; without the CSRF token nothing changes.
    let (status, html, _, _) = browser.post(&format!("{page}/upstream"), &[("csrf", &csrf), ("until", "soon")]).await;
    assert_eq!(status, 400, "{html}");
    let (status, _, _, _) = browser.post(&format!("{page}/upstream"), &[("off", "1")]).await;
    assert_ne!(status, 303);
    assert!(app.core.upstream_status(&app.app.id).unwrap().is_some());
    let (status, _, _, _) = browser.post(&format!("{page}/upstream"), &[("csrf", &csrf), ("off", "1")]).await;
    assert_eq!(status, 303);
    assert_eq!(app.core.upstream_status(&app.app.id).unwrap(), None);
}

/// Upstream keys are sealed with the server secret: a rotation (new secret, the old one listed as
/// previous) seals them again, so that they outlive the old secret's removal.
#[tokio::test]
async fn upstream_keys_survive_a_secret_rotation() {
    use crate::helpers::Options;
    use phonebase::core::secrets::Keys;
    let (up_db, db) = (TestDb::new(), TestDb::new());
    let up = TestApp::spawn(&up_db).await;
    let (old, new) = (Keys::generate_secret(), Keys::generate_secret());
    let before = TestApp::spawn_with(&db, Options { secret_key: Some(old.clone()), ..Options::default() }).await;
    set_upstream(&before, &up.address, &up.app);
    let ann = up.sign_up(json!({"username": "ann", "password": "pw-ann-1"})).await;
    let bob = up.sign_up(json!({"username": "bob", "password": "pw-bob-1"})).await;

    let rotated = before
        .another_instance(
            &db,
            Options { secret_key: Some(new.clone()), secret_keys_previous: vec![old], ..Options::default() },
        )
        .await;
    before.stop().await;
    let (status, got) = rotated.login(json!({"username": "ann", "password": "pw-ann-1"})).await;
    assert_eq!((status, &got["objectId"]), (200, &ann["objectId"]), "{got}");

    let after = rotated.another_instance(&db, Options { secret_key: Some(new), ..Options::default() }).await;
    rotated.stop().await;
    let (status, got) = after.login(json!({"username": "bob", "password": "pw-bob-1"})).await;
    assert_eq!((status, &got["objectId"]), (200, &bob["objectId"]), "{got}");
}
