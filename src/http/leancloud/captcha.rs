//! `GET /requestCaptcha`, `GET /captchaImage` and `POST /verifyCaptcha` (contract §5.4).

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, EXPIRES, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::auth::LcAuth;
use super::error::LcError;
use super::params::{self, Body};
use crate::core::codes::captcha::CaptchaSpec;
use crate::http::{AppState, blocking, client_ip, json_object_body, public_base, query_params};

/// `GET /requestCaptcha?width=&height=[&size=&ttl=]`: `size` and `ttl` need the master key (the
/// SDK's docs say so); out-of-range values are refused, not clamped.
pub async fn request_captcha(
    auth: LcAuth,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let query: Body = query_params(&req).into_iter().map(|(k, v)| (k, v.into())).collect();
    let number = |key: &str| -> Result<Option<i64>, LcError> { params::integer(&query, key) };
    let positive = |key: &str| -> Result<Option<u32>, LcError> {
        number(key)?
            .map(|v| u32::try_from(v).map_err(|_| LcError::invalid_parameter(format!("{key} must be positive"))))
            .transpose()
    };
    let spec = CaptchaSpec {
        width: positive("width")?,
        height: positive("height")?,
        size: positive("size")?.map(|v| v as usize),
        ttl_secs: number("ttl")?,
    };
    if !auth.master && (spec.size.is_some() || spec.ttl_secs.is_some()) {
        return Err(LcError::new(StatusCode::FORBIDDEN, 119, "size and ttl may only be set with the master key."));
    }
    let (core, app, ip) = (state.core.clone(), auth.app.clone(), client_ip(&req, &state.config));
    let captcha = blocking(move || core.request_captcha(&app, &spec, &ip)).await?;
    let url = format!(
        "{}/1.1/captchaImage?appId={}&token={}",
        public_base(&req, &state.config),
        urlencode(&auth.app.id),
        urlencode(&captcha.token)
    );
    Ok(HttpResponse::Ok().json(json!({"captcha_token": captcha.token, "captcha_url": url})))
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /captchaImage?appId=&token=`: loaded by `<img src>`, so no headers are asked for. Only a
/// live, unanswered captcha has a picture; never cached, since each token has its own.
pub async fn captcha_image(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, LcError> {
    let query = query_params(&req);
    let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let (app_id, token) = (get("appId"), get("token"));
    let core = state.core.clone();
    let png = blocking(move || core.captcha_image(&app_id, &token)).await?;
    let Some(png) = png else {
        return Err(LcError::new(StatusCode::NOT_FOUND, 404, "Captcha not found, expired or already answered."));
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/png"))
        .insert_header((CACHE_CONTROL, "no-store, no-cache, must-revalidate, max-age=0"))
        .insert_header((PRAGMA, "no-cache"))
        .insert_header((EXPIRES, "0"))
        .body(png))
}

/// `POST /verifyCaptcha {"captcha_code","captcha_token"}` → `{"validate_token"}`.
pub async fn verify_captcha(
    auth: LcAuth,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let code = params::string(&body, "captcha_code")?.unwrap_or_default();
    let token = params::string(&body, "captcha_token")?.unwrap_or_default();
    let (core, app) = (state.core.clone(), auth.app.clone());
    let validate_token = blocking(move || core.verify_captcha(&app, &token, &code)).await?;
    Ok(HttpResponse::Ok().json(json!({"validate_token": validate_token})))
}
