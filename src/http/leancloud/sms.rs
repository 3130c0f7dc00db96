//! `POST /requestSmsCode` and `POST /verifySmsCode/<code>` (contract §5.2, §5.3).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};

use super::auth::LcAuth;
use super::error::LcError;
use super::params;
use crate::core::Error;
use crate::core::codes::{Channel, CodeRequest, CustomText, Origin, Purpose};
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
    let custom = CustomText {
        template: params::string(&body, "template")?,
        sign: params::string(&body, "sign")?,
        vars: template_vars(&body)?,
    };
    let request = CodeRequest {
        phone,
        purpose: Purpose::Generic,
        channel,
        ttl_minutes: params::integer(&body, "ttl")?,
        name: params::string(&body, "name")?,
        op: params::string(&body, "op")?,
        origin: origin(&req, &state, &body)?,
        user_id: None,
        custom,
    };
    let core = state.core.clone();
    blocking(move || core.send_code(&auth.app, request)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}

/// The sender's address and captcha token (`validate_token`, which the JS SDK adds to the body).
pub(super) fn origin(req: &HttpRequest, state: &AppState, body: &params::Body) -> Result<Origin, LcError> {
    Ok(Origin { client_ip: client_ip(req, &state.config), validate_token: params::string(body, "validate_token")? })
}

/// Keys of `requestSmsCode` that are not template variables (contract 5.2: any other key is).
const NOT_VARIABLES: &[&str] =
    &["mobilePhoneNumber", "smsType", "ttl", "name", "op", "template", "sign", "validate_token"];

/// The template variables of a request: strings, numbers and booleans as text; null is absent.
fn template_vars(body: &serde_json::Map<String, serde_json::Value>) -> Result<BTreeMap<String, String>, LcError> {
    let mut vars = BTreeMap::new();
    for (key, value) in body.iter().filter(|(k, _)| !NOT_VARIABLES.contains(&k.as_str())) {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => {
                return Err(LcError::bad_request(
                    606,
                    format!("Template variable {key} must be a string or a number."),
                ));
            }
        };
        vars.insert(key.clone(), text);
    }
    Ok(vars)
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
