//! `POST /requestSmsCode` and `POST /verifySmsCode/<code>` (contract §5.2, §5.3).

use super::openapi as doc;
use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::LcAuth;
use super::error::LcError;
use crate::core::codes::{Channel, CodeRequest, CustomText, Origin, Purpose};
use crate::http::kit::fields::{self, Body};
use crate::http::{AppState, json_object_body, query_params};

#[utoipa::path(post, path = "/1.1/requestSmsCode", tag = "LeanCloud", request_body = doc::LcRequestSmsCode,
    responses((status = 200, body = doc::LcEmpty), doc::Errors))]
pub async fn request_sms_code(
    auth: LcAuth,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = fields::phone(&body, "mobilePhoneNumber")?;
    let channel = match fields::string(&body, "smsType")?.as_deref() {
        None | Some("") | Some("sms") => Channel::Sms,
        Some("voice") => Channel::Voice,
        Some(other) => {
            return Err(LcError::invalid_parameter(format!("smsType must be sms or voice, not {other:?}")));
        }
    };
    let custom = CustomText {
        template: fields::string(&body, "template")?,
        sign: fields::string(&body, "sign")?,
        vars: template_vars(&body)?,
        ..Default::default()
    };
    let request = CodeRequest {
        phone,
        purpose: Purpose::Generic,
        channel,
        ttl_minutes: fields::integer(&body, "ttl")?,
        ttl_seconds: None,
        code: None,
        name: fields::string(&body, "name")?,
        op: fields::string(&body, "op")?,
        origin: origin(&auth, &body)?,
        user_id: None,
        custom,
    };
    auth.run(move |core, app| core.send_code(app, request)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}

/// The sender's address and captcha token (`validate_token`, which the JS SDK adds to the body).
pub(super) fn origin(auth: &LcAuth, body: &Body) -> Result<Origin, LcError> {
    Ok(auth.origin(fields::string(body, "validate_token")?))
}

/// Keys of `requestSmsCode` that are not template variables (contract 5.2: any other key is).
const NOT_VARIABLES: &[&str] =
    &["mobilePhoneNumber", "smsType", "ttl", "name", "op", "template", "sign", "validate_token"];

/// The template variables of a request: strings, numbers and booleans as text; null is absent.
fn template_vars(body: &Body) -> Result<BTreeMap<String, String>, LcError> {
    let mut vars = BTreeMap::new();
    for (key, value) in body.iter().filter(|(k, _)| !NOT_VARIABLES.contains(&k.as_str())) {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(LcError::bad_template_variable(key)),
        };
        vars.insert(key.clone(), text);
    }
    Ok(vars)
}

#[utoipa::path(post, path = "/1.1/verifySmsCode/{code}", tag = "LeanCloud", request_body = doc::LcPhone,
    params(("code" = String, Path), ("mobilePhoneNumber" = Option<String>, Query, description = "older clients' place for the number")),
    responses((status = 200, body = doc::LcEmpty), doc::Errors))]
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
    let phone = fields::phone(&body, "mobilePhoneNumber")?;
    let code = code.into_inner();
    auth.run(move |core, app| core.verify_code(app, &phone, &code, Purpose::POSSESSION)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}
