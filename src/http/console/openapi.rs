//! The console's JSON API in the OpenAPI document (the HTML pages are for a browser, not an API,
//! and are left out): its paths (each handler carries its own `#[utoipa::path]`), the session
//! cookie and CSRF header as security schemes, and its error body.

// The answer shapes below are never built: the handlers write them with `json!`; these types only
// name the keys for the document.
#![allow(dead_code, non_snake_case)]

use std::collections::BTreeMap;

use utoipa::openapi::{self, RefOr, Response};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use crate::http::kit::openapi::{
    cookie_key, default_security, describe_tag, error_responses, header_key, prefix_operation_ids,
};

pub const TAG: &str = "Console API";

#[derive(OpenApi)]
#[openapi(
    paths(
        super::api::sign_in,
        super::api::queue,
        super::api::decide,
        super::api::messages,
        super::api::apps,
        super::api::create_app,
        super::api::rotate_keys,
        super::api::update_settings,
        super::api::find_user,
        super::dashboard::api,
    ),
    components(schemas(ConsoleErrorBody)),
    tags((name = "Console API", description = "")),
    modifiers(&Document)
)]
pub struct ConsoleApi;

/// The security schemes.
struct Document;

impl Modify for Document {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        prefix_operation_ids(doc, "console");
        default_security(doc, &[&["ConsoleSession", "X-CSRF-Token"]]);
        let schemes = doc.components.get_or_insert_with(Default::default);
        schemes.add_security_scheme(
            "ConsoleSession",
            cookie_key(super::SESSION_COOKIE, "The operator's session, set by `POST /console/api/session`."),
        );
        schemes.add_security_scheme(
            "X-CSRF-Token",
            header_key("X-CSRF-Token", "The session's `csrfToken`; required on every POST and PATCH."),
        );
        describe_tag(
            doc,
            TAG,
            "The operator's JSON API under `/console/api`: the same session as the console's pages. Every \
             error is `{\"error\": \"...\"}` with a non-2xx status (401 without a session, 403 without the \
             CSRF token, 404, 409 for a decision on a revision that is no longer pending)."
                .to_string(),
        );
    }
}

/// The console's `4XX`/`5XX` answers.
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        error_responses("ConsoleErrorBody", "The console's error: a message.")
    }
}

/// The console API's error body.
#[derive(ToSchema)]
pub struct ConsoleErrorBody {
    error: String,
}

/// `POST /console/api/session`'s answer (and the session cookie).
#[derive(ToSchema)]
pub struct ConsoleSignedIn {
    operator: String,
    csrfToken: String,
}

/// An app with its keys in every dialect and its settings.
#[derive(ToSchema)]
pub struct ConsoleApp {
    appId: String,
    name: String,
    appKey: String,
    masterKey: String,
    bmob: std::collections::BTreeMap<String, serde_json::Value>,
    jpush: std::collections::BTreeMap<String, serde_json::Value>,
    mincloud: std::collections::BTreeMap<String, serde_json::Value>,
    settings: std::collections::BTreeMap<String, serde_json::Value>,
    createdAt: String,
}

/// `{"results": [...]}`.
#[derive(ToSchema)]
pub struct ConsoleApps {
    results: Vec<ConsoleApp>,
}

/// `{"results": [...]}` of objects.
#[derive(ToSchema)]
pub struct ConsoleResults {
    results: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// A page of the message log, 50 a page, newest first.
#[derive(ToSchema)]
pub struct ConsoleMessages {
    results: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
    page: i64,
}

/// The item after a decision.
#[derive(ToSchema)]
pub struct ConsoleDecided {
    objectId: String,
    name: String,
    kind: String,
    state: Option<String>,
}

/// `GET /console/api/dashboard`: the figures the dashboard draws, in buckets of `bucketHours` from
/// `buckets[0]` to `now` (UTC, RFC 3339). `app` is null for every app; `alert` is null when the
/// conversion is not low or falling.
#[derive(ToSchema)]
pub struct ConsoleDashboard {
    range: String,
    bucketHours: i64,
    app: Option<BTreeMap<String, serde_json::Value>>,
    now: String,
    buckets: Vec<String>,
    /// `sent`, `verified` and `conversion` per bucket, and `totals`.
    codes: BTreeMap<String, serde_json::Value>,
    alert: Option<BTreeMap<String, serde_json::Value>>,
    /// Per provider: messages, accepted, delivered, failed, successRate, mean seconds, series.
    providers: Vec<BTreeMap<String, serde_json::Value>>,
    /// `total` and `byReason` (`reason`, `total`, `counts` per bucket).
    refusals: BTreeMap<String, serde_json::Value>,
    countries: Vec<BTreeMap<String, serde_json::Value>>,
    prefixes: Vec<BTreeMap<String, serde_json::Value>>,
    apps: Vec<BTreeMap<String, serde_json::Value>>,
}
