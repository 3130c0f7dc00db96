//! The old JavaScript SDK (0.x) posts every call as `text/plain` JSON, with the real method and
//! the credentials inside the body: `_method`, `_ApplicationId`, `_ApplicationKey`, `_MasterKey`,
//! `_SessionToken` (contract §1.2). This middleware turns such a request back into the one it
//! stands for (method, `X-LC-*` headers, a JSON body, or the query for a GET) before routing, so
//! that every `/1.1` route and `LcAuth` see an ordinary request.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, Uri};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use serde_json::{Map, Value};

use super::error::LcError;
use crate::http::{AppState, read_body};

/// Keys the old SDK adds to the body; none of them is data. Public for the fuzz target.
#[doc(hidden)]
pub const LEGACY_KEYS: &[&str] = &[
    "_method",
    "_ApplicationId",
    "_ApplicationKey",
    "_MasterKey",
    "_SessionToken",
    "_ClientVersion",
    "_InstallationId",
    "_ApplicationProduction",
];

fn is_text_plain(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/plain"))
}

pub async fn rewrite(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != Method::POST || !is_text_plain(&req) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let limit = req.app_data::<web::Data<AppState>>().map_or(1 << 20, |s| s.config.body_limit_bytes);
    let body = match read_body(req.take_payload(), limit).await {
        Ok(body) => body.freeze(),
        Err(e) => return Ok(req.error_response(LcError::from(e)).map_into_boxed_body()),
    };
    let legacy = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) if map.get("_ApplicationId").is_some_and(Value::is_string) => Some(map),
        _ => None,
    };
    let Some(mut map) = legacy else {
        // An ordinary text/plain call: its body goes on untouched.
        req.set_payload(body.into());
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if let Err(e) = apply(&mut req, &mut map) {
        return Ok(req.error_response(e).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Moves the legacy keys of `map` into the request's method and headers, and the rest into its
/// body (or, for a GET, its query). Public for the fuzz target `legacy_body`.
#[doc(hidden)]
pub fn apply(req: &mut ServiceRequest, map: &mut Map<String, Value>) -> Result<(), LcError> {
    let text = |map: &Map<String, Value>, key: &str| map.get(key).and_then(Value::as_str).map(str::to_string);
    let method = match text(map, "_method").map(|m| m.to_ascii_uppercase()).as_deref() {
        None | Some("POST") => Method::POST,
        Some("GET") => Method::GET,
        Some("PUT") => Method::PUT,
        Some("DELETE") => Method::DELETE,
        Some(other) => return Err(LcError::invalid_parameter(format!("Unsupported _method {other:?}."))),
    };
    let mut set = |name: &'static str, value: String| -> Result<(), LcError> {
        let value = HeaderValue::try_from(value).map_err(|_| LcError::unauthorized())?;
        req.headers_mut().insert(HeaderName::from_static(name), value);
        Ok(())
    };
    set("x-lc-id", text(map, "_ApplicationId").unwrap_or_default())?;
    match (text(map, "_MasterKey"), text(map, "_ApplicationKey")) {
        (Some(master), _) => set("x-lc-key", format!("{master},master"))?,
        (None, Some(key)) => set("x-lc-key", key)?,
        (None, None) => {}
    }
    if let Some(token) = text(map, "_SessionToken") {
        set("x-lc-session", token)?;
    }
    for key in LEGACY_KEYS {
        map.remove(*key);
    }
    req.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = if method == Method::GET {
        let mut query = form_urlencoded::Serializer::new(req.query_string().to_string());
        for (k, v) in map.iter() {
            // Like the current SDK: strings as they are, anything else JSON-encoded.
            query.append_pair(k, &v.as_str().map_or_else(|| v.to_string(), str::to_string));
        }
        let path_and_query = format!("{}?{}", req.path(), query.finish());
        let uri = Uri::builder()
            .path_and_query(path_and_query)
            .build()
            .map_err(|_| LcError::invalid_parameter("Unusable query parameters."))?;
        req.head_mut().uri = uri;
        Vec::new()
    } else {
        Value::Object(std::mem::take(map)).to_string().into_bytes()
    };
    req.head_mut().method = method;
    req.set_payload(web::Bytes::from(body).into());
    Ok(())
}
