//! Delivery-report receivers: providers post the fate of the messages they accepted here.
//!
//! - Aliyun and Tencent push unsigned JSON arrays, so they are accepted only at
//!   `POST /delivery/reports/<provider>/<report_token>` (the token from the provider's
//!   configuration, compared in constant time).
//! - Twilio posts its status callback to `POST /delivery/reports/<provider>`, signed with
//!   `X-Twilio-Signature` over the URL it was given and the form parameters.
//!
//! Every receiver answers the same for known and unknown message ids, and the same (404, like any
//! unknown route) for an unknown provider and a wrong token. Recording is idempotent (see
//! `Core::record_reports`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::kit::urls;
use super::{AppState, blocking, not_found, read_body};
use crate::config::{ProviderConfig, ProviderKind};
use crate::core::outbox::routing::Report;
use crate::core::secrets::ct_eq;
use crate::delivery::{aliyun, providers::status_callback_url, tencent, twilio};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/delivery/reports/{provider}", web::post().to(signed_report))
        .route("/delivery/reports/{provider}/{token}", web::post().to(token_report));
}

/// A configured provider, or an app's own (`<name>@<app id>`, its secrets opened by core).
async fn provider(state: &AppState, name: &str) -> Option<ProviderConfig> {
    if let Some(p) = state.config.delivery.providers.iter().find(|p| p.name == name) {
        return Some(p.clone());
    }
    let (core, name) = (state.core.clone(), name.to_string());
    blocking(move || core.app_provider_config(&name)).await.ok().flatten().map(|(config, _)| config)
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::BAD_REQUEST).json(serde_json::json!({"error": message}))
}

async fn record(state: &AppState, provider: &str, reports: Vec<Report>) -> Result<(), HttpResponse> {
    let core = state.core.clone();
    let provider = provider.to_string();
    blocking(move || core.record_reports(&provider, &reports)).await.map_err(|e| {
        tracing::warn!(error = %e, "could not record delivery reports");
        // Not 2xx: the provider pushes again later.
        HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE).json(serde_json::json!({"error": "try again later"}))
    })
}

/// Aliyun and Tencent: a token in the path stands in for the signature they do not have.
#[utoipa::path(post, path = "/delivery/reports/{provider}/{token}", tag = "Delivery reports", security(()),
    params(("provider" = String, Path, description = "a configured aliyun or tencent provider's name"),
        ("token" = String, Path, description = "the provider's report_token")),
    request_body(content = Vec<std::collections::BTreeMap<String, serde_json::Value>>, description = "the provider's JSON array of reports"),
    responses((status = 200, description = "Aliyun: `{\"code\": 0, \"msg\"}`; Tencent: `{\"result\": 0, \"errmsg\"}`", body = std::collections::BTreeMap<String, serde_json::Value>),
        (status = "4XX", description = "404 for an unknown provider or a wrong token", body = ReportError),
        (status = "5XX", description = "not recorded: the provider pushes again later", body = ReportError)))]
async fn token_report(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> HttpResponse {
    let (name, token) = path.into_inner();
    let Some(p) = provider(&state, &name).await else {
        return not_found().await;
    };
    let expected = p.report_token.as_ref().map(|t| t.expose()).unwrap_or_default();
    if expected.is_empty()
        || !ct_eq(expected, &token)
        || !matches!(p.kind, ProviderKind::Aliyun | ProviderKind::Tencent)
    {
        return not_found().await;
    }
    let Ok(body) = read_body(payload, state.config.body_limit_bytes.max(1 << 20)).await else {
        return bad_request("the body could not be read");
    };
    let reports = match p.kind {
        ProviderKind::Aliyun => aliyun::parse_reports(&body),
        _ => tencent::parse_reports(&body),
    };
    let Some(reports) = reports else {
        return bad_request("a JSON array of reports is expected");
    };
    if let Err(response) = record(&state, &name, reports).await {
        return response;
    }
    match p.kind {
        ProviderKind::Aliyun => HttpResponse::Ok().json(serde_json::json!({"code": 0, "msg": "成功"})),
        _ => HttpResponse::Ok().json(serde_json::json!({"result": 0, "errmsg": "OK"})),
    }
}

/// Twilio's status callback, checked against `X-Twilio-Signature`.
#[utoipa::path(post, path = "/delivery/reports/{provider}", tag = "Delivery reports", security(()),
    params(("provider" = String, Path, description = "a configured twilio provider's name"),
        ("X-Twilio-Signature" = String, Header, description = "Twilio's signature of the URL and the form")),
    request_body(content = std::collections::BTreeMap<String, String>, content_type = "application/x-www-form-urlencoded", description = "Twilio's status callback"),
    responses((status = 200, body = std::collections::BTreeMap<String, serde_json::Value>),
        (status = "4XX", description = "403 for a wrong signature, 404 for an unknown provider", body = ReportError),
        (status = "5XX", description = "not recorded: the provider pushes again later", body = ReportError)))]
async fn signed_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let name = path.into_inner();
    let Some(p) = provider(&state, &name).await.filter(|p| p.kind == ProviderKind::Twilio) else {
        return not_found().await;
    };
    let Ok(body) = read_body(payload, state.config.body_limit_bytes).await else {
        return bad_request("the body could not be read");
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    // The URL Twilio was given (and signed): the configured callback, else this one.
    let url = status_callback_url(&state.config, &p).unwrap_or_else(|| {
        let query = req.query_string();
        let own = urls::absolute(&req, &state.config, &format!("/delivery/reports/{name}"));
        if query.is_empty() { own } else { format!("{own}?{query}") }
    });
    let token = p.auth_token.as_ref().map(|t| t.expose()).unwrap_or_default();
    let presented = req.headers().get("X-Twilio-Signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if token.is_empty() || !twilio::check_signature(token, &url, &params, presented) {
        return HttpResponse::build(StatusCode::FORBIDDEN).json(serde_json::json!({"error": "invalid signature"}));
    }
    let reports: Vec<Report> = twilio::parse_status(&params).into_iter().collect();
    if let Err(response) = record(&state, &name, reports).await {
        return response;
    }
    HttpResponse::Ok().json(serde_json::json!({}))
}

/// The receivers' part of the OpenAPI document (`http::openapi` merges it).
#[derive(utoipa::OpenApi)]
#[openapi(paths(signed_report, token_report), components(schemas(ReportError)))]
pub struct ReportsApi;

/// A receiver's error: `{"error"}` (`{"code", "error"}` for a 404, like any unknown route).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: the answers are written with `json!`
pub struct ReportError {
    code: Option<i32>,
    error: String,
}
