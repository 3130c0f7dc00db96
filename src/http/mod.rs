//! What every dialect shares at the HTTP edge: state, client address, body reading, running core
//! calls off the async threads, health check, and the dialect kit ([`kit`]: caller, fields,
//! objects, URLs, routing). Dialects live in their own folders and never import each other.

pub mod bmob;
pub mod console;
pub mod edge;
pub mod jpush;
pub mod kit;
pub mod leancloud;
pub mod mincloud;
pub mod openapi;
pub mod reports;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use crate::config::Config;
use crate::core::{self, Core};

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub config: Arc<Config>,
    /// This instance's circuit breaker (the console shows each provider's circuit).
    pub breaker: Arc<crate::delivery::breaker::Breaker>,
}

/// The address per-IP limits count. `X-Forwarded-For` is believed only when the socket peer is a
/// trusted proxy; then the right-most address that is not itself a trusted proxy is the client.
pub fn client_ip(req: &HttpRequest, config: &Config) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    if !config.is_trusted_proxy(peer) {
        return peer.to_string();
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if config.is_trusted_proxy(ip) => continue,
            Ok(ip) => return ip.to_string(),
            // Garbage in the chain: stop trusting it and use the last address we know.
            Err(_) => break,
        }
    }
    peer.to_string()
}

/// Why a request body could not be read; each dialect words it in its own format.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("request body could not be read")]
    Unreadable,
    #[error("request body is not a JSON object")]
    NotJsonObject,
    #[error("{0}")]
    BadText(#[from] edge::BadText),
}

/// Reads the body up to `limit` bytes and parses it as a JSON object, whatever the Content-Type
/// says (SDKs send `text/plain` or nothing at times). An empty body or the literal `null` is `{}`.
/// Every key and string in it, however deep, passes [`edge::check_object`].
pub async fn json_object_body(
    payload: web::Payload,
    limit: usize,
) -> Result<serde_json::Map<String, serde_json::Value>, BodyError> {
    let body = read_body(payload, limit).await?;
    let text = std::str::from_utf8(&body).map_err(|_| BodyError::NotJsonObject)?.trim();
    if text.is_empty() {
        return Ok(Default::default());
    }
    match serde_json::from_str(text).map_err(|_| BodyError::NotJsonObject)? {
        serde_json::Value::Object(map) => {
            edge::check_object(&map)?;
            Ok(map)
        }
        serde_json::Value::Null => Ok(Default::default()),
        _ => Err(BodyError::NotJsonObject),
    }
}

/// Reads a whole body of at most `limit` bytes.
pub async fn read_body<S>(mut payload: S, limit: usize) -> Result<web::BytesMut, BodyError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>> + Unpin,
{
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => BodyError::TooLarge(limit),
            _ => BodyError::Unreadable,
        })?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Query parameters, leniently: a malformed pair is skipped rather than failing the request.
pub fn query_params(req: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect()
}

/// Runs a (blocking, Diesel) core call on the blocking pool, inside the request's tracing span.
pub async fn blocking<T, F>(f: F) -> core::Result<T>
where
    F: FnOnce() -> core::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(f))
        .await
        .map_err(|e| core::Error::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// `GET /healthz`: 200 when the database takes a write transaction, 503 otherwise. For load
/// balancers.
#[utoipa::path(get, path = "/healthz", tag = "Server", security(()),
    responses((status = 200, description = "`{\"status\": \"ok\", \"database\": ...}`", body = std::collections::BTreeMap<String, serde_json::Value>),
        (status = 503, description = "`{\"status\": \"unavailable\"}`", body = std::collections::BTreeMap<String, serde_json::Value>)))]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let core = state.core.clone();
    let result = blocking(move || core.health()).await;
    match result {
        Ok(db) => HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": db})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE).json(serde_json::json!({"status": "unavailable"}))
        }
    }
}

/// `GET /metrics`: Prometheus' text format (`core::metrics`, plus the HTTP series). With
/// `metrics_token` configured, only for `Authorization: Bearer <token>`.
#[utoipa::path(get, path = "/metrics", tag = "Server", security((), ("MetricsBearer" = [])),
    responses((status = 200, description = "Prometheus' text format", content_type = "text/plain", body = String),
        (status = 401, description = "`metrics_token` is set and was not presented", body = std::collections::BTreeMap<String, serde_json::Value>),
        (status = 503, description = "`{\"status\": \"unavailable\"}`", body = std::collections::BTreeMap<String, serde_json::Value>)))]
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = state.config.metrics_token.as_deref().filter(|t| !t.is_empty()) {
        let presented = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !presented.is_some_and(|p| core::secrets::ct_eq(p, token)) {
            return HttpResponse::Unauthorized()
                .insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer"))
                .json(serde_json::json!({"error": "a bearer token is required"}));
        }
    }
    let core = state.core.clone();
    match blocking(move || core.render_metrics()).await {
        Ok(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text),
        Err(e) => {
            tracing::warn!(error = %e, "metrics unavailable");
            HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE).json(serde_json::json!({"status": "unavailable"}))
        }
    }
}

/// `GET /.well-known/jwks.json`: the public keys that verify the JWTs users get from
/// `POST /1.1/users/me/jwt`. Cacheable: the key changes only with the server secret.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "Server", security(()),
    responses((status = 200, description = "the JWK set that verifies the JWTs of `POST /1.1/users/me/jwt`", body = std::collections::BTreeMap<String, serde_json::Value>)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().insert_header(("Cache-Control", "public, max-age=3600")).json(state.core.jwks())
}

/// Anything no route matched: JSON, never an HTML page.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"code": 404, "error": "Not found."}))
}
