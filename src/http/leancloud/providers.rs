//! The app owner's view of SMS providers, with the master key: which providers carry this app's
//! messages, and the app's own template mappings for providers that take registered templates
//! only (Aliyun, Tencent). Paths in the README ("Sending real SMS").
//!
//! - `GET /1.1/sms/providers`: the routes and the mappings that apply to this app
//! - `PUT /1.1/sms/providers/<provider>/mappings` `{text, code, params, signName}`
//! - `DELETE /1.1/sms/providers/<provider>/mappings?text=builtin:verification`

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::LcAuth;
use super::error::LcError;
use crate::core::outbox::routing::{Mapping, parse_params};
use crate::http::{AppState, json_object_body, query_params};

fn master(auth: &LcAuth) -> Result<(), LcError> {
    if auth.master { Ok(()) } else { Err(LcError::providers_need_master()) }
}

fn mapping_json(m: &Mapping) -> Value {
    json!({
        "provider": m.provider,
        "text": m.text_ref,
        "code": m.template_code,
        "params": m.params.iter().map(|(p, v)| format!("{p}={v}")).collect::<Vec<_>>(),
        "signName": m.sign_name,
        "allApps": m.app_id.is_none(),
    })
}

/// `GET /sms/providers`
#[utoipa::path(get, path = "/1.1/sms/providers", tag = "LeanCloud", operation_id = "list_providers", responses((status = 200, body = doc::LcProviders), doc::Errors))]
pub async fn list(auth: LcAuth, state: web::Data<AppState>) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let app_id = auth.app.id.clone();
    let mappings = auth.run(|core, _| core.list_mappings(None)).await?;
    let providers: Vec<Value> = state
        .core
        .routes_for(&auth.app)
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "needsTemplate": r.needs_template,
                "priority": r.priority,
                "countries": r.countries,
                "prefixes": r.prefixes,
                "channels": r.channels,
                "mappings": mappings
                    .iter()
                    .filter(|m| m.provider == r.name && m.app_id.as_deref().is_none_or(|a| a == app_id))
                    .map(mapping_json)
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"results": providers})))
}

/// `PUT /sms/providers/{provider}/mappings`: the app's own mapping of one text.
#[utoipa::path(put, path = "/1.1/sms/providers/{provider}/mappings", tag = "LeanCloud", params(("provider" = String, Path)),
    request_body = doc::LcMappingRequest, responses((status = 200, body = doc::LcMapping), doc::Errors))]
pub async fn put_mapping(
    auth: LcAuth,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let string = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let (Some(text), Some(code)) = (string("text"), string("code")) else {
        return Err(LcError::invalid_parameter("text (builtin:<kind> or template:<name>) and code are required"));
    };
    let params: Vec<String> = match body.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| LcError::invalid_parameter("params must be strings NAME=VARIABLE"))?,
        Some(_) => return Err(LcError::invalid_parameter("params must be an array of NAME=VARIABLE")),
    };
    let mapping = Mapping {
        provider: path.into_inner(),
        app_id: Some(auth.app.id.clone()),
        text_ref: text,
        template_code: code,
        params: parse_params(&params)?,
        sign_name: string("signName"),
    };
    let mapping = auth.run(move |core, _| core.set_mapping(mapping)).await?;
    Ok(HttpResponse::Ok().json(mapping_json(&mapping)))
}

/// `DELETE /sms/providers/{provider}/mappings?text=...`
#[utoipa::path(delete, path = "/1.1/sms/providers/{provider}/mappings", tag = "LeanCloud",
    params(("provider" = String, Path), ("text" = String, Query, description = "builtin:<kind> or template:<name>")),
    responses((status = 200, body = doc::LcEmpty), doc::Errors))]
pub async fn delete_mapping(auth: LcAuth, req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let Some(text) = query_params(&req).into_iter().find(|(k, _)| k == "text").map(|(_, v)| v) else {
        return Err(LcError::invalid_parameter("text is required"));
    };
    let provider = path.into_inner();
    let removed = auth.run(move |core, app| core.remove_mapping(&provider, Some(&app.id), &text)).await?;
    if removed { Ok(HttpResponse::Ok().json(json!({}))) } else { Err(LcError::object_not_found()) }
}
