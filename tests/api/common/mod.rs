//! What every api test shares. `app` is dialect-neutral (database, spawned server, clock, sink,
//! JSON responses); each dialect's client sits in a file of its own next to it (`leancloud.rs`:
//! signed requests, requestSmsCode, verifySmsCode; `mincloud.rs`: minapp-sdk's headers) and adds
//! its methods to [`TestApp`].

mod app;
mod bmob;
mod jpush;
mod leancloud;
mod mincloud;

pub use app::*;
pub use jpush::*;
pub use leancloud::*;

use serde_json::Value;

/// The first run of exactly six digits in a text.
pub fn code_in(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return chars[start..i].iter().collect();
            }
        } else {
            i += 1;
        }
    }
    panic!("no code in {text:?}");
}

pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let body = response.text().await.unwrap();
    assert!(
        content_type.as_deref().is_some_and(|c| c.starts_with("application/json")),
        "status {status}: content type {content_type:?}, body {body:?}"
    );
    (status, serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body:?}")))
}

/// Runs the `phonebase` binary against the test database and `data_dir`, with none of the
/// caller's `PHONEBASE_*` settings: (succeeded, stdout and stderr).
pub fn phonebase_cli(db: &TestDb, data_dir: &std::path::Path, args: &[&str]) -> (bool, String) {
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
        .env("PHONEBASE_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .current_dir(data_dir)
        .args(args)
        .output()
        .expect("the phonebase binary runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}
