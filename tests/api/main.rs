//! One integration-test binary: every module spawns the real server (see `common`).
//! SQLite by default; set PHONEBASE_TEST_DATABASE_URL=postgres://... to run it all on PostgreSQL.

mod accounts;
mod auth;
mod bmob;
mod captcha;
mod common;
mod concurrency;
mod console;
mod dashboard;
mod delivery;
mod dialect_keys;
mod edge;
// The name the test files import from (`crate::helpers::...`).
use common as helpers;
mod import;
mod jpush;
mod layout;
mod legacy_sdk;
mod limits;
mod metrics;
mod mincloud;
mod openapi;
mod outbox;
mod schema;
mod secrets;
mod sends;
mod smpp;
mod sms;
mod templates;
mod upstream;
mod users;
