//! `POST /v1/codes`, `POST /v1/voice_codes` and `POST /v1/codes/{msg_id}/valid` (contract B.2,
//! B.5): codes by template handle, found again by their message handle (`msg_id`), single use and
//! attempt-bounded like everywhere else.

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::auth::JpAuth;
use super::body;
use super::error::JpError;
use super::messages::{not_rejected, template};
use crate::core::codes::{Channel, CodeRequest, CustomText, Purpose};
use crate::http::AppState;

/// Voice codes the caller brings are 4 to 8 digits (50038 otherwise).
const VOICE_CODE_LEN: std::ops::RangeInclusive<usize> = 4..=8;
/// A voice code lives this long unless the request says (seconds).
const VOICE_TTL_SECS: i64 = 60;

/// `POST /v1/codes`: `{mobile, temp_id, sign_id?}` → `{msg_id}`. The template must be a code
/// template (type 1, 50025 otherwise); its `ttl` is the code's lifetime.
#[utoipa::path(post, path = "/v1/codes", tag = "JPush SMS", request_body = doc::JpSendCode,
    responses((status = 200, body = doc::JpMsgId), doc::Errors))]
pub async fn send_code(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let body = body::json(&req, payload, state.config.body_limit_bytes).await?;
    let phone = body::mobile(&body)?;
    let temp_id = body::temp_id(&body)?;
    let sign = body::sign_id(&body)?;
    let origin = auth.origin(None);
    let template = template(&auth, temp_id).await?;
    not_rejected(&template)?;
    let issued = auth
        .run(move |core, app| {
            let ttl = core.item_extras(app, &template.id)?.ttl_secs;
            let request = CodeRequest {
                phone,
                purpose: Purpose::Generic,
                channel: Channel::Sms,
                ttl_minutes: None,
                ttl_seconds: ttl.map(i64::from),
                code: None,
                name: None,
                op: None,
                origin,
                user_id: None,
                custom: CustomText {
                    template_handle: Some(temp_id),
                    sign_handle: sign,
                    strict_category: true,
                    ..Default::default()
                },
            };
            core.send_code(app, request)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"msg_id": issued.handle.to_string()})))
}

/// `POST /v1/voice_codes`: `{mobile, code?, voice_lang?, ttl?}` → `{msg_id}`. A code the caller
/// brings is 4–8 digits; without one the server makes one. `voice_lang` is 0 (Chinese), 1
/// (English) or 2 (Cantonese); the voice text follows the number's country, as for every voice
/// code of Phonebase.
#[utoipa::path(post, path = "/v1/voice_codes", tag = "JPush SMS", request_body = doc::JpSendVoiceCode,
    responses((status = 200, body = doc::JpMsgId), doc::Errors))]
pub async fn send_voice_code(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let body = body::json(&req, payload, state.config.body_limit_bytes).await?;
    let phone = body::mobile(&body)?;
    let code = body::string(&body, "code")?.filter(|c| !c.is_empty());
    if let Some(code) = &code
        && !(VOICE_CODE_LEN.contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(JpError::invalid_content_length().detail("a voice code is 4 to 8 digits"));
    }
    match body::integer(&body, "voice_lang") {
        Ok(None | Some(0..=2)) => {}
        _ => return Err(JpError::invalid_voice_language()),
    }
    let ttl = match body::integer(&body, "ttl") {
        Ok(None) => VOICE_TTL_SECS,
        Ok(Some(t)) if (1..=86_400).contains(&t) => t,
        _ => return Err(JpError::invalid_ttl()),
    };
    let origin = auth.origin(None);
    let issued = auth
        .run(move |core, app| {
            let request = CodeRequest {
                phone,
                purpose: Purpose::Generic,
                channel: Channel::Voice,
                ttl_minutes: None,
                ttl_seconds: Some(ttl),
                code,
                name: None,
                op: None,
                origin,
                user_id: None,
                custom: CustomText::default(),
            };
            core.send_code(app, request)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"msg_id": issued.handle.to_string()})))
}

/// `POST /v1/codes/{msg_id}/valid`: `{code}` → `{"is_valid": true}`, or 403 with
/// `"is_valid": false` and 50010 wrong, 50011 expired, 50012 already verified, 50026 no such
/// message (400 50015 without a code).
#[utoipa::path(post, path = "/v1/codes/{msg_id}/valid", tag = "JPush SMS", params(("msg_id" = String, Path)),
    request_body = doc::JpVerify, responses((status = 200, body = doc::JpValid), doc::Errors))]
pub async fn verify(
    auth: JpAuth,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let result = async {
        let body = body::json(&req, payload, state.config.body_limit_bytes).await?;
        let code = body::string(&body, "code")?.filter(|c| !c.is_empty()).ok_or_else(JpError::missing_code)?;
        let handle = path.trim().parse::<i64>().map_err(|_| JpError::wrong_msg_id())?;
        auth.run(move |core, app| core.verify_code_by_message(app, handle, &code)).await?;
        Ok::<_, JpError>(())
    }
    .await;
    match result {
        Ok(_) => Ok(HttpResponse::Ok().json(json!({"is_valid": true}))),
        Err(e) => Err(e.not_valid()),
    }
}
