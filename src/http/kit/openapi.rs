//! What the dialects' OpenAPI documents share (each dialect's `openapi.rs` lists its own paths;
//! `http::openapi` merges them): security schemes in headers, the `4XX`/`5XX` error responses, a
//! handler documented once and served on several paths, and the table of error codes built from
//! the core's own error examples, so neither can drift from the code.

use std::collections::BTreeMap;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{self, ContentBuilder, Ref, RefOr, ResponseBuilder};

/// An API key sent in the header `header`.
pub fn header_key(header: &str, description: &str) -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(header, description)))
}

/// An API key sent in the cookie `cookie`.
pub fn cookie_key(cookie: &str, description: &str) -> SecurityScheme {
    SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(cookie, description)))
}

/// HTTP Basic or Bearer authentication (`Authorization: Basic ...` / `Bearer ...`).
pub fn http(scheme: HttpAuthScheme, description: &str) -> SecurityScheme {
    let mut http = Http::new(scheme);
    http.description = Some(description.to_string());
    SecurityScheme::Http(http)
}

/// The responses every operation of a dialect may give besides its own: any `4XX` and `5XX`,
/// with the body of the component schema `schema` (the dialect's error shape), always JSON.
pub fn error_responses(schema: &str, what: &str) -> BTreeMap<String, RefOr<openapi::Response>> {
    let response = || {
        ResponseBuilder::new()
            .description(what)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name(schema))).build())
            .build()
    };
    BTreeMap::from([("4XX".to_string(), response().into()), ("5XX".to_string(), response().into())])
}

/// Documents the operations of `path` on each of `also` too (one handler that the router serves
/// on several paths), with `operationId`s made unique by the alias' position.
pub fn alias(doc: &mut openapi::OpenApi, path: &str, also: &[&str]) {
    let Some(item) = doc.paths.paths.get(path).cloned() else {
        panic!("OpenAPI alias of {path}, which is not documented");
    };
    for (n, other) in also.iter().enumerate() {
        let mut copy = item.clone();
        for op in operations(&mut copy) {
            op.operation_id = op.operation_id.take().map(|id| format!("{id}_{}", n + 2));
            // A path parameter the other path does not have (`/verifySmsCode/{code}` also
            // served as `/verifySmsCode`) is not one there.
            if let Some(params) = op.parameters.as_mut() {
                params.retain(|p| {
                    p.parameter_in != openapi::path::ParameterIn::Path || other.contains(&format!("{{{}}}", p.name))
                });
            }
        }
        doc.paths.paths.insert(other.to_string(), copy);
    }
}

fn operations(item: &mut openapi::PathItem) -> impl Iterator<Item = &mut openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// A Markdown table of the error answers the core's errors become in a dialect: one row per
/// distinct (status, code), with the first message, from `core::Error::examples()` mapped by the
/// dialect's own `From<core::Error>`.
pub fn error_table(header: &str, rows: impl IntoIterator<Item = (u16, String, String)>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = format!("| HTTP status | {header} | example message |\n|---|---|---|\n");
    for (status, code, message) in rows {
        if seen.insert((status, code.clone())) {
            out.push_str(&format!("| {status} | {code} | {} |\n", message.replace('|', "\\|").replace('\n', " ")));
        }
    }
    out
}

/// Sets the description of tag `name` (the dialect's section of the document).
pub fn describe_tag(doc: &mut openapi::OpenApi, name: &str, description: String) {
    if let Some(tag) = doc.tags.get_or_insert_with(Vec::new).iter_mut().find(|t| t.name == name) {
        tag.description = Some(description);
    }
}

/// The Parse-family `_User` as LeanCloud and Bmob return it ([`super::objects::user_object`]):
/// the built-in keys below, and the app's custom fields beside them.
#[derive(utoipa::ToSchema)]
#[allow(non_snake_case, dead_code)] // documentation only: the wire names, written by `user_object`
pub struct ParseUser {
    objectId: String,
    username: String,
    email: Option<String>,
    emailVerified: bool,
    /// As the client wrote it.
    mobilePhoneNumber: Option<String>,
    mobilePhoneVerified: bool,
    authData: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// In the dialect's time format (LeanCloud: ISO 8601 with milliseconds; Bmob: `YYYY-mm-dd HH:ii:ss`, UTC+8).
    createdAt: String,
    updatedAt: String,
    /// Only where the call signs the user in (sign-up, login, `me`, refresh).
    sessionToken: Option<String>,
}

/// Gives every operation of `doc` that states no security of its own the dialect's usual one:
/// any of `alternatives`, each a set of schemes sent together.
pub fn default_security(doc: &mut openapi::OpenApi, alternatives: &[&[&str]]) {
    use utoipa::openapi::security::SecurityRequirement;
    let requirements: Vec<SecurityRequirement> = alternatives
        .iter()
        .map(|set| set.iter().fold(SecurityRequirement::default(), |r, name| r.add(*name, Vec::<String>::new())))
        .collect();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            op.security.get_or_insert_with(|| requirements.clone());
        }
    }
}

/// Prefixes every `operationId` of `doc` (a handler's name) with the dialect's, so that ids stay
/// unique once the dialects are merged (LeanCloud and Bmob both have `request_sms_code`); a
/// handler serving several methods gets the method appended to its id after the first.
pub fn prefix_operation_ids(doc: &mut openapi::OpenApi, prefix: &str) {
    let mut seen = std::collections::BTreeSet::new();
    for item in doc.paths.paths.values_mut() {
        for (method, op) in [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ] {
            let Some(op) = op.as_mut() else { continue };
            let id = format!("{prefix}_{}", op.operation_id.as_deref().unwrap_or(method));
            let id = if seen.contains(&id) { format!("{id}_{method}") } else { id };
            seen.insert(id.clone());
            op.operation_id = Some(id);
        }
    }
}
