//! `phonebase import leancloud`: the real CLI binary against the test database (SQLite, or
//! PostgreSQL with PHONEBASE_TEST_DATABASE_URL), then the server reads and logs in the users.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use base64::Engine;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::helpers::{TestApp, TestDb};
use phonebase::store::schema::{sessions, users};
use phonebase::store::users::UserRow;

/// LeanCloud's export hash, written out here independently of the server's code: SHA-512 of
/// salt then password, 512 more rounds, base64.
fn leancloud_hash(salt: &str, password: &str) -> String {
    let mut h = Sha512::new().chain_update(salt).chain_update(password).finalize();
    for _ in 0..512 {
        h = Sha512::digest(h);
    }
    base64::engine::general_purpose::STANDARD.encode(h)
}

#[test]
fn fixture_hash_matches_the_contract_vector() {
    assert_eq!(
        leancloud_hash("h60d8x797d3oa0naxybxxv9bn7xpt2yiowz68mpiwou7gwr2", "password"),
        "tA7BLW+NK0UeARng0693gCaVnljkglCB9snqlpCSUKjx2RgYp8VZZOQt0S5iUtlDrkJXfT3gknS4rRqjYsd/Ug=="
    );
}

/// An exported `_User` record as the console writes it.
fn exported(id: &str, username: &str, phone: &str, password: &str, token: Option<&str>) -> Value {
    let salt = format!("salt{id}");
    let mut v = json!({
        "objectId": id,
        "username": username,
        "mobilePhoneNumber": phone,
        "mobilePhoneVerified": true,
        "emailVerified": false,
        "password": leancloud_hash(&salt, password),
        "salt": salt,
        "createdAt": "2019-03-04T05:06:07.089Z",
        "updatedAt": "2024-01-02T03:04:05.678Z",
    });
    if let Some(token) = token {
        v["sessionToken"] = token.into();
    }
    v
}

fn write_jsonl(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = String::from("#filetype:JSON-streaming {\"type\":\"Class\",\"class\":\"_User\"}\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `phonebase import leancloud --app <the test app> --json <args>`.
fn cli(app: &TestApp, db: &TestDb, args: &[&str]) -> Command {
    let mut cmd = phonebase_cli(app, db);
    cmd.args(["import", "leancloud", "--app", &app.app.id, "--json"]).args(args);
    cmd
}

/// The CLI, with the test server's database and data directory (the secret lives there).
fn phonebase_cli(app: &TestApp, db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phonebase"));
    for (k, _) in std::env::vars() {
        if k.starts_with("PHONEBASE_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    if let Some(secret) = &db.secret {
        cmd.env("PHONEBASE_SECRET_KEY", secret);
    }
    cmd.env("DATABASE_URL", &db.url)
        .env("PHONEBASE_DATA_DIR", &app.data_dir)
        .env("RUST_LOG", "warn")
        .current_dir(&app.data_dir);
    cmd
}

fn import(app: &TestApp, db: &TestDb, args: &[&str]) -> Value {
    let Output { status, stdout, stderr } = cli(app, db, args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr));
    assert!(status.success(), "import failed: {stdout}\n{stderr}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("no JSON summary: {stdout}\n{stderr}"))
}

fn counts(report: &Value) -> (u64, u64, u64, usize) {
    (
        report["created"].as_u64().unwrap(),
        report["updated"].as_u64().unwrap(),
        report["unchanged"].as_u64().unwrap(),
        report["refused"].as_array().unwrap().len(),
    )
}

/// `file:line -> reason` of each refusal, with the file reduced to its name.
fn refusals(report: &Value) -> Vec<(u64, String)> {
    report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].to_string()))
        .collect()
}

fn stored_hash(app: &TestApp, id: &str) -> Option<String> {
    let mut conn = app.core.pool().get().unwrap();
    users::table.find(id).select(users::password_hash).first(&mut conn).unwrap()
}

fn all_rows(app: &TestApp) -> Vec<UserRow> {
    let mut conn = app.core.pool().get().unwrap();
    users::table
        .filter(users::app_id.eq(&app.app.id))
        .order(users::id)
        .select(UserRow::as_select())
        .load(&mut conn)
        .unwrap()
}

impl TestApp {
    async fn log_in(&self, username: &str, password: &str) -> (u16, Value) {
        self.call(Method::POST, "/1.1/login", json!({"username": username, "password": password}), None).await
    }
}

#[tokio::test]
async fn imported_users_keep_ids_fields_passwords_and_sessions() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    // Already in Phonebase before the import: its username and phone collide with the export.
    let native =
        app.sign_up(json!({"username": "native", "password": "pw-native", "mobilePhoneNumber": "13700000009"})).await;

    let token = "qmdj8pdidnmyzp0c7yqil91oc";
    let mut tom = exported("55a47496e4b05001a7732c5f", "tom", "18612340000", "tom-old-pw", Some(token));
    tom["email"] = "Tom@Example.com".into();
    tom["nickname"] = "T".into();
    tom["birthday"] = json!({"__type": "Date", "iso": "1990-05-06T00:00:00.000Z"});
    tom["avatar"] = json!({"__type": "File", "id": "5f1", "name": "a.png", "url": "https://files.example.com/a.png"});
    tom["team"] = json!({"__type": "Pointer", "className": "Team", "objectId": "5f2"});
    tom["authData"] = json!({"weixin": {"openid": "o-1", "access_token": "t", "expires_in": 7200}});
    let bcrypt_hash = bcrypt::hash("ann-pw", 4).unwrap();
    let ann = json!({
        "objectId": "55a47496e4b05001a7732c60", "username": "ann", "bcryptPassword": bcrypt_hash,
        "createdAt": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}, "updatedAt": "2020-01-01T00:00:00.000Z"
    });
    let odd_phone = exported("55a47496e4b05001a7732c61", "bob", "12345", "bob-pw", None);
    let lines = [
        tom.to_string(),                                                                         // line 2
        ann.to_string(),                                                                         // 3
        odd_phone.to_string(),                                                                   // 4
        "{\"objectId\": \"broken\"".to_string(),                                                 // 5 malformed
        exported("55a47496e4b05001a7732c62", "tom", "18612340001", "x", None).to_string(),       // 6 same username as 2
        exported("55a47496e4b05001a7732c63", "eve", "+86 186 1234 0000", "x", None).to_string(), // 7 same phone as 2
        exported("55a47496e4b05001a7732c64", "native", "18612340002", "x", None).to_string(),    // 8 taken in Phonebase
        exported("55a47496e4b05001a7732c65", "zed", "13700000009", "x", None).to_string(),       // 9 phone taken
        tom.to_string(), // 10 same objectId again
    ];
    let file = write_jsonl(db.dir.path(), "_User.0.jsonl", &lines);
    let file = file.to_str().unwrap();

    // A dry run decides everything and writes nothing.
    let dry = import(&app, &db, &["--dry-run", file]);
    assert_eq!(counts(&dry), (3, 0, 0, 6), "{dry}");
    assert_eq!(all_rows(&app).len(), 1, "the dry run wrote nothing");

    let report = import(&app, &db, &[file]);
    assert_eq!(counts(&report), (3, 0, 0, 6), "{report}");
    assert_eq!(report["refused"], dry["refused"], "the dry run told the truth");
    let refused = refusals(&report);
    assert_eq!(refused.iter().map(|r| r.0).collect::<Vec<_>>(), vec![5, 6, 7, 8, 9, 10], "{report}");
    assert!(refused[0].1.contains("not valid JSON"), "{refused:?}");
    assert!(refused[1].1.contains("username") && refused[1].1.contains("_User.0.jsonl:2"), "{refused:?}");
    assert!(refused[2].1.contains("mobilePhoneNumber") && refused[2].1.contains(":2"), "{refused:?}");
    assert!(refused[3].1.contains(native["objectId"].as_str().unwrap()), "{refused:?}");
    assert!(refused[4].1.contains("mobilePhoneNumber"), "{refused:?}");
    assert!(refused[5].1.contains("appears again") && refused[5].1.contains(":2"), "{refused:?}");
    let notes = report["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{report}");
    assert_eq!((notes[0]["line"].as_u64(), notes[0]["objectId"].as_str()), (Some(4), Some("55a47496e4b05001a7732c61")));

    // Ids, dates, identifiers and custom fields read back as exported.
    let (status, got) = app.call(Method::GET, "/1.1/users/55a47496e4b05001a7732c5f", Value::Null, None).await;
    assert_eq!(status, 200, "{got}");
    for key in [
        "objectId",
        "username",
        "email",
        "mobilePhoneNumber",
        "mobilePhoneVerified",
        "emailVerified",
        "createdAt",
        "updatedAt",
        "nickname",
        "birthday",
        "avatar",
        "team",
        "authData",
    ] {
        assert_eq!(got[key], tom[key], "{key}: {got}");
    }
    for secret in ["password", "salt", "sessionToken", "bcryptPassword"] {
        assert!(got.get(secret).is_none(), "{secret} leaked: {got}");
    }
    let (_, bob) = app.call(Method::GET, "/1.1/users/55a47496e4b05001a7732c61", Value::Null, None).await;
    assert_eq!(bob["mobilePhoneNumber"], "12345", "an unparsable number is kept as it was");

    // The exported session token is a live session.
    let (status, me) = app.call(Method::GET, "/1.1/users/me", Value::Null, Some(token)).await;
    assert_eq!((status, me["objectId"].as_str()), (200, Some("55a47496e4b05001a7732c5f")), "{me}");
    {
        let mut conn = app.core.pool().get().unwrap();
        let stored: Vec<String> = sessions::table.select(sessions::token_hash).load(&mut conn).unwrap();
        assert!(stored.iter().all(|h| !h.contains(token)), "tokens are stored hashed");
    }

    // The old password logs in (also by phone); the hash becomes argon2id in that login.
    assert!(stored_hash(&app, "55a47496e4b05001a7732c5f").unwrap().starts_with("$leancloud-sha512$"));
    assert_eq!(app.log_in("tom", "wrong").await.0, 400);
    let (status, body) = app.log_in("tom", "tom-old-pw").await;
    assert_eq!(status, 200, "{body}");
    assert!(stored_hash(&app, "55a47496e4b05001a7732c5f").unwrap().starts_with("$argon2id$"));
    let (status, body) = app
        .call(
            Method::POST,
            "/1.1/login",
            json!({"mobilePhoneNumber": "+8618612340000", "password": "tom-old-pw"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "a second login, against argon2id now: {body}");
    let (status, _) = app.log_in("ann", "ann-pw").await;
    assert_eq!(status, 200, "bcryptPassword logs in");
    assert!(stored_hash(&app, "55a47496e4b05001a7732c60").unwrap().starts_with("$argon2id$"));
    let (_, after) = app.call(Method::GET, "/1.1/users/55a47496e4b05001a7732c5f", Value::Null, None).await;
    assert_eq!(after["updatedAt"], tom["updatedAt"], "a rehash is not a change of the user");

    // Re-running changes nothing: the argon2id hashes stay.
    let before = all_rows(&app);
    let again = import(&app, &db, &[file]);
    assert_eq!(counts(&again), (0, 0, 3, 6), "{again}");
    assert_eq!(all_rows(&app), before);

    // Revoking the adopted session works, and a re-import does not bring it back.
    let (status, _) = app
        .call(Method::PUT, "/1.1/users/55a47496e4b05001a7732c5f/refreshSessionToken", Value::Null, Some(token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.call(Method::GET, "/1.1/users/me", Value::Null, Some(token)).await.0, 400);
    tom["nickname"] = "Tommy".into();
    let changed = write_jsonl(db.dir.path(), "_User.1.jsonl", &[tom.to_string()]);
    let changed = changed.to_str().unwrap();
    let report = import(&app, &db, &[changed]);
    assert_eq!(counts(&report), (0, 1, 0, 0), "an export changed since is an update: {report}");
    assert_eq!(app.call(Method::GET, "/1.1/users/me", Value::Null, Some(token)).await.0, 400, "still revoked");
    let (_, got) = app.call(Method::GET, "/1.1/users/55a47496e4b05001a7732c5f", Value::Null, None).await;
    assert_eq!(got["nickname"], "Tommy");

    // A user changed in Phonebase since is not overwritten, unless asked.
    let (_, signed_in) = app.log_in("tom", "tom-old-pw").await;
    let session = signed_in["sessionToken"].as_str().unwrap();
    let (status, _) =
        app.call(Method::PUT, "/1.1/users/55a47496e4b05001a7732c5f", json!({"nickname": "Mine"}), Some(session)).await;
    assert_eq!(status, 200);
    tom["nickname"] = "Theirs".into();
    let changed = write_jsonl(db.dir.path(), "_User.2.jsonl", &[tom.to_string()]);
    let changed = changed.to_str().unwrap();
    let report = import(&app, &db, &[changed]);
    assert_eq!(counts(&report), (0, 0, 0, 1), "{report}");
    assert!(report["refused"][0]["reason"].as_str().unwrap().contains("changed in Phonebase"), "{report}");
    let (_, got) = app.call(Method::GET, "/1.1/users/55a47496e4b05001a7732c5f", Value::Null, None).await;
    assert_eq!(got["nickname"], "Mine");
    let report = import(&app, &db, &["--overwrite", changed]);
    assert_eq!(counts(&report), (0, 1, 0, 0), "{report}");
    let (_, got) = app.call(Method::GET, "/1.1/users/55a47496e4b05001a7732c5f", Value::Null, None).await;
    assert_eq!(got["nickname"], "Theirs");
}

#[tokio::test]
async fn zip_folder_results_and_array_shapes() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let dir = db.dir.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let user = |i: u32| exported(&format!("a{i:023}"), &format!("u{i}"), &format!("1860000{i:04}"), "pw", None);
    // The console's zip: JSON lines with the header, and another class that is not read.
    let zip_path = dir.join("export.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("_User.0.jsonl", options).unwrap();
        std::io::Write::write_all(&mut zip, format!("#filetype:JSON-streaming\n{}\n{}\n", user(1), user(2)).as_bytes())
            .unwrap();
        zip.start_file("_Installation.0.jsonl", options).unwrap();
        std::io::Write::write_all(&mut zip, b"{\"objectId\":\"i1\"}\n").unwrap();
        zip.finish().unwrap();
    }
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("_User.0.jsonl"), format!("{}\n", user(3))).unwrap();
    std::fs::write(folder.join("notes.txt"), "not an export").unwrap();
    let results = dir.join("scan.json");
    std::fs::write(&results, json!({"results": [user(4), user(5)], "cursor": "abc"}).to_string()).unwrap();
    let array = dir.join("array.json");
    std::fs::write(&array, serde_json::to_string_pretty(&json!([user(6)])).unwrap()).unwrap();
    let paths: Vec<&str> = [&zip_path, &folder, &results, &array].iter().map(|p| p.to_str().unwrap()).collect();
    let report = import(&app, &db, &paths);
    assert_eq!(counts(&report), (6, 0, 0, 0), "{report}");
    let (status, _) = app.log_in("u5", "pw").await;
    assert_eq!(status, 200);
}

/// Files exported on Windows start with a UTF-8 byte-order mark and end lines with CRLF: every
/// shape reads them, on its own, in a folder and in a zip.
#[tokio::test]
async fn byte_order_marks_and_crlf_in_every_shape() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let dir = db.dir.path().join("export");
    std::fs::create_dir_all(&dir).unwrap();
    let user = |i: u32| exported(&format!("b{i:023}"), &format!("bom{i}"), &format!("1870000{i:04}"), "pw", None);
    let bom = |text: String| format!("\u{feff}{}", text.replace('\n', "\r\n"));
    // JSON lines with the header, and without it.
    let with_header = dir.join("_User.0.jsonl");
    std::fs::write(&with_header, bom(format!("#filetype:JSON-streaming\n{}\n{}\n", user(1), user(2)))).unwrap();
    let without_header = dir.join("plain.jsonl");
    std::fs::write(&without_header, bom(format!("{}\n{}\n", user(3), user(4)))).unwrap();
    // {"results": [...]}, and a .json array as an exporter pretty-prints it.
    let results = dir.join("scan.json");
    std::fs::write(&results, bom(serde_json::to_string_pretty(&json!({"results": [user(5)]})).unwrap())).unwrap();
    let array = dir.join("array.json");
    std::fs::write(&array, bom(serde_json::to_string_pretty(&json!([user(6), user(7)])).unwrap())).unwrap();
    // A folder and a zip holding such files.
    let folder = dir.join("folder");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("_User.1.json"), bom(serde_json::to_string_pretty(&json!([user(8)])).unwrap())).unwrap();
    let zip_path = dir.join("export.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("_User.0.jsonl", options).unwrap();
        std::io::Write::write_all(&mut zip, bom(format!("#filetype:JSON-streaming\n{}\n", user(9))).as_bytes())
            .unwrap();
        zip.start_file("_User.1.json", options).unwrap();
        std::io::Write::write_all(&mut zip, bom(serde_json::to_string_pretty(&json!([user(10)])).unwrap()).as_bytes())
            .unwrap();
        zip.finish().unwrap();
    }
    let paths: Vec<&str> = [&with_header, &without_header, &results, &array, &folder, &zip_path]
        .iter()
        .map(|p| p.to_str().unwrap())
        .collect();
    let report = import(&app, &db, &paths);
    assert_eq!(counts(&report), (10, 0, 0, 0), "{report}");
    for i in 1..=10 {
        let (status, body) = app.log_in(&format!("bom{i}"), "pw").await;
        assert_eq!(status, 200, "bom{i}: {body}");
    }
}

fn count_users(app: &TestApp) -> i64 {
    let mut conn = app.core.pool().get().unwrap();
    users::table.filter(users::app_id.eq(&app.app.id)).count().get_result(&mut conn).unwrap()
}

/// Everything but the app, for comparing two databases.
fn comparable(rows: Vec<UserRow>) -> Vec<UserRow> {
    rows.into_iter().map(|r| UserRow { app_id: String::new(), ..r }).collect()
}

#[tokio::test]
async fn an_interrupted_import_resumes_and_ends_with_the_same_rows() {
    const USERS: u32 = 3000;
    let lines: Vec<String> = (0..USERS)
        .map(|i| {
            let mut u = exported(&format!("b{i:023}"), &format!("user{i}"), &format!("1590000{i:04}"), "pw", None);
            u["score"] = i.into();
            u.to_string()
        })
        .collect();

    // Reference: one uninterrupted run in a database of its own.
    let reference_db = TestDb::new();
    let reference = TestApp::spawn(&reference_db).await;
    let file = write_jsonl(reference_db.dir.path(), "_User.0.jsonl", &lines);
    let report = import(&reference, &reference_db, &[file.to_str().unwrap()]);
    assert_eq!(counts(&report), (u64::from(USERS), 0, 0, 0));

    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let file = write_jsonl(db.dir.path(), "_User.0.jsonl", &lines);
    let file = file.to_str().unwrap();
    let mut child: Child = cli(&app, &db, &["--batch-size", "100", "--pause-ms", "30", file])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = 0;
    for _ in 0..2000 {
        seen = count_users(&app);
        if seen >= 500 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = count_users(&app);
    assert!(seen >= 500 && at_kill < i64::from(USERS), "killed mid-file: {at_kill} of {USERS} written");
    assert_eq!(at_kill % 100, 0, "whole batches only, nothing half-written");

    let report = import(&app, &db, &[file]);
    assert_eq!(counts(&report), (u64::from(USERS) - at_kill as u64, 0, at_kill as u64, 0), "{report}");
    assert_eq!(comparable(all_rows(&app)), comparable(all_rows(&reference)));
}

#[tokio::test]
async fn an_app_can_keep_its_leancloud_id_and_keys() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let run = |args: &[&str]| phonebase_cli(&app, &db).args(args).output().unwrap();
    let args =
        ["app", "create", "--name", "moved", "--id", "Q1w2E3r4-MdYXbMMI", "--app-key", "K1k2", "--master-key", "M1m2"];
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let moved = app.core.app("Q1w2E3r4-MdYXbMMI").unwrap();
    assert_eq!((moved.app_key.as_str(), moved.master_key.as_str()), ("K1k2", "M1m2"));
    assert!(!run(&args).status.success(), "the same id twice");
    assert!(!run(&["app", "create", "--name", "bad", "--app-key", "a,master"]).status.success());
}

#[tokio::test]
async fn a_password_changed_by_an_import_ends_every_session() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;
    let id = "66a47496e4b05001a7732c5f";
    let adopted = "kimtoken0123456789abcdefg";
    let mut kim = exported(id, "kim", "18600001234", "pw-one", Some(adopted));
    let first = write_jsonl(db.dir.path(), "_User.a.jsonl", &[kim.to_string()]);
    assert_eq!(counts(&import(&app, &db, &[first.to_str().unwrap()])), (1, 0, 0, 0));
    assert_eq!(app.call(Method::GET, "/1.1/users/me", Value::Null, Some(adopted)).await.0, 200);
    // A re-import that leaves the password alone leaves sessions alone.
    kim["nickname"] = "K".into();
    let second = write_jsonl(db.dir.path(), "_User.b.jsonl", &[kim.to_string()]);
    assert_eq!(counts(&import(&app, &db, &["--overwrite", second.to_str().unwrap()])), (0, 1, 0, 0));
    assert_eq!(app.call(Method::GET, "/1.1/users/me", Value::Null, Some(adopted)).await.0, 200);
    // The password changed in LeanCloud since: the re-import is a password change like any other,
    // so every session of the user ends.
    let (status, signed_in) = app.log_in("kim", "pw-one").await;
    assert_eq!(status, 200, "{signed_in}");
    let session = signed_in["sessionToken"].as_str().unwrap();
    let mut changed = exported(id, "kim", "18600001234", "pw-two", Some(adopted));
    changed["nickname"] = "K".into();
    let third = write_jsonl(db.dir.path(), "_User.c.jsonl", &[changed.to_string()]);
    assert_eq!(counts(&import(&app, &db, &["--overwrite", third.to_str().unwrap()])), (0, 1, 0, 0));
    for token in [session, adopted] {
        assert_eq!(app.call(Method::GET, "/1.1/users/me", Value::Null, Some(token)).await.0, 400);
    }
    assert_eq!(app.log_in("kim", "pw-two").await.0, 200);
    assert_eq!(app.log_in("kim", "pw-one").await.0, 400);
}
