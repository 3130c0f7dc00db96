//! Sending and verifying codes, on the client API (`/hserve`, the SDK's `sendSmsCode` and
//! `verifySmsCode`) and on the open API (`/oserve`, the app's server, with `user_id`): contract
//! C.3 and the seed. One core `send_code` / `verify_code` underneath, under the app's limits: the
//! defaults (1/min, 5/h, 10/day per number) hold MinCloud's published 1/min and 10/day, plus an
//! hourly window MinCloud does not publish.

use super::openapi as doc;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::auth::{MinCloud, OpenApi};
use super::error::McError;
use crate::core::codes::{Channel, CodeRequest, CustomText, Origin, Purpose};
use crate::core::phone::Phone;
use crate::http::kit::caller::Caller;
use crate::http::kit::fields::{self, Body};
use crate::http::{AppState, json_object_body};

fn phone(body: &Body) -> Result<Phone, McError> {
    Ok(fields::phone(body, "phone")?)
}

fn code(body: &Body) -> Result<String, McError> {
    fields::code(body, "code")?.filter(|c| !c.is_empty()).ok_or_else(|| McError::missing("code"))
}

/// A code request as MinCloud sends it: `phone`, optional `signature_id`.
fn code_request<D>(caller: &Caller<D>, body: &Body) -> Result<CodeRequest, McError> {
    // `signature_id` is the handle of an approved signature of the app (console, CLI, owner
    // REST); without it, the app's default text.
    let custom = CustomText { sign_handle: fields::integer(body, "signature_id")?, ..Default::default() };
    Ok(CodeRequest {
        phone: phone(body)?,
        purpose: Purpose::Generic,
        channel: Channel::Sms,
        ttl_minutes: None,
        ttl_seconds: None,
        code: None,
        name: None,
        op: None,
        origin: Origin { client_ip: caller.client_ip.clone(), validate_token: None },
        user_id: None,
        custom,
    })
}

/// The open API's `user_id` (required): an existing user of the app.
async fn check_user(caller: &Caller<OpenApi>, body: &Body) -> Result<(), McError> {
    let seq = fields::integer(body, "user_id")?.ok_or_else(|| McError::missing("user_id"))?;
    caller.run(move |core, app| core.user_by_seq(app, seq)).await?;
    Ok(())
}

async fn body_of(payload: web::Payload, state: &AppState) -> Result<Body, McError> {
    Ok(json_object_body(payload, state.config.body_limit_bytes).await?)
}

fn ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `POST /hserve/v2.2/sms-verification-code/` `{phone, signature_id?}`.
#[utoipa::path(post, path = "/hserve/{version}/sms-verification-code", tag = "MinCloud", params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McSendCode, responses((status = 200, body = doc::McOk), doc::Errors))]
pub async fn send(
    caller: Caller<MinCloud>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = body_of(payload, &state).await?;
    let request = code_request(&caller, &body)?;
    caller.run(move |core, app| core.send_code(app, request)).await?;
    Ok(ok())
}

/// `POST /hserve/v1.8/sms-verification-code/verify/` `{phone, code}` (`code` may be a number).
#[utoipa::path(post, path = "/hserve/{version}/sms-verification-code/verify", tag = "MinCloud", params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McVerifyCode, responses((status = 200, body = doc::McOk), doc::Errors))]
pub async fn verify(
    caller: Caller<MinCloud>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = body_of(payload, &state).await?;
    let (phone, code) = (phone(&body)?, code(&body)?);
    caller.run(move |core, app| core.verify_code(app, &phone, &code, Purpose::POSSESSION)).await?;
    Ok(ok())
}

/// `POST /oserve/v2.1/sms-verification-code/` `{phone, user_id, signature_id?}`.
#[utoipa::path(post, path = "/oserve/{version}/sms-verification-code", tag = "MinCloud", security(("MinCloudBearer" = [])), params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McOpenSendCode, responses((status = 200, body = doc::McOk), doc::Errors))]
pub async fn open_send(
    caller: Caller<OpenApi>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = body_of(payload, &state).await?;
    let request = code_request(&caller, &body)?;
    check_user(&caller, &body).await?;
    caller.run(move |core, app| core.send_code(app, request)).await?;
    Ok(ok())
}

/// `POST /oserve/v1.8/sms-verification-code/verify/` `{phone, code, user_id}`.
#[utoipa::path(post, path = "/oserve/{version}/sms-verification-code/verify", tag = "MinCloud", security(("MinCloudBearer" = [])), params(("version" = String, Path, pattern = r"^v[0-9.]+$", description = "the SDK's API version, e.g. v2.1")),
    request_body = doc::McOpenVerifyCode, responses((status = 200, body = doc::McOk), doc::Errors))]
pub async fn open_verify(
    caller: Caller<OpenApi>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = body_of(payload, &state).await?;
    let (phone, code) = (phone(&body)?, code(&body)?);
    check_user(&caller, &body).await?;
    caller.run(move |core, app| core.verify_code(app, &phone, &code, Purpose::POSSESSION)).await?;
    Ok(ok())
}
