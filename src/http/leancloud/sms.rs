//! `POST /requestSmsCode` and `POST /verifySmsCode/<code>` (contract §5.2, §5.3).

use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::LcAuth;
use super::error::LcError;
use super::params;
use crate::core::Error;
use crate::core::codes::{Channel, CodeRequest, Origin, Purpose};
use crate::http::{AppState, blocking, client_ip, json_object_body, query_params};

pub async fn request_sms_code(
    auth: LcAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = params::phone(&body, "mobilePhoneNumber")?;
    let channel = match params::string(&body, "smsType")?.as_deref() {
        None | Some("") | Some("sms") => Channel::Sms,
        Some("voice") => Channel::Voice,
        Some(other) => {
            return Err(LcError::invalid_parameter(format!("smsType must be sms or voice, not {other:?}")));
        }
    };
    // Templates and signatures go through review (a later part); until one exists none is known.
    if params::string(&body, "template")?.is_some_and(|t| !t.is_empty()) {
        return Err(LcError::bad_request(604, "SMS template not found."));
    }
    if params::string(&body, "sign")?.is_some_and(|s| !s.is_empty()) {
        return Err(LcError::bad_request(600, "Invalid SMS signature."));
    }
    let request = CodeRequest {
        phone,
        purpose: Purpose::Generic,
        channel,
        ttl_minutes: params::integer(&body, "ttl")?,
        name: params::string(&body, "name")?,
        op: params::string(&body, "op")?,
        origin: origin(&req, &state, &body)?,
        user_id: None,
    };
    let core = state.core.clone();
    blocking(move || core.send_code(&auth.app, request)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}

/// The sender's address and captcha token (`validate_token`, which the JS SDK adds to the body).
pub(super) fn origin(req: &HttpRequest, state: &AppState, body: &params::Body) -> Result<Origin, LcError> {
    Ok(Origin { client_ip: client_ip(req, &state.config), validate_token: params::string(body, "validate_token")? })
}

pub async fn verify_sms_code(
    auth: LcAuth,
    req: HttpRequest,
    code: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let mut body = json_object_body(payload, state.config.body_limit_bytes).await?;
    // Older docs put the number in the query string.
    if !body.contains_key("mobilePhoneNumber")
        && let Some((_, v)) = query_params(&req).into_iter().find(|(k, _)| k == "mobilePhoneNumber")
    {
        body.insert("mobilePhoneNumber".into(), v.into());
    }
    let phone = params::phone(&body, "mobilePhoneNumber")?;
    let core = state.core.clone();
    let code = code.into_inner();
    blocking(move || core.verify_code(&auth.app, &phone, &code, Purpose::POSSESSION))
        .await
        .map_err(|e: Error| LcError::from(e))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}
