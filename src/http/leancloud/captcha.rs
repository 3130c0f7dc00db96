//! `GET /requestCaptcha`, `GET /captchaImage` and `POST /verifyCaptcha` (contract §5.4).

use super::openapi as doc;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, EXPIRES, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::auth::LcAuth;
use super::error::LcError;
use crate::core::codes::captcha::CaptchaSpec;
use crate::http::kit::fields::{self, query_body};
use crate::http::kit::urls;
use crate::http::{AppState, blocking, json_object_body, query_params};

/// `GET /requestCaptcha?width=&height=[&size=&ttl=]`: `size` and `ttl` need the master key (the
/// SDK's docs say so); out-of-range values are refused, not clamped.
#[utoipa::path(get, path = "/1.1/requestCaptcha", tag = "LeanCloud",
    params(("width" = Option<i64>, Query, description = "60–200, default 85"), ("height" = Option<i64>, Query, description = "30–100, default 30"),
        ("size" = Option<i64>, Query, description = "3–6 characters (master key)"), ("ttl" = Option<i64>, Query, description = "10–180 s (master key)")),
    responses((status = 200, body = doc::LcCaptcha), doc::Errors))]
pub async fn request_captcha(
    auth: LcAuth,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let query = query_body(&req);
    let number = |key: &str| -> Result<Option<i64>, LcError> { Ok(fields::integer(&query, key)?) };
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
        return Err(LcError::captcha_options_need_master());
    }
    let ip = auth.client_ip.clone();
    let captcha = auth.run(move |core, app| core.request_captcha(app, &spec, &ip)).await?;
    let path = format!("/1.1/captchaImage?appId={}&token={}", urls::encode(&auth.app.id), urls::encode(&captcha.token));
    let url = urls::absolute(&req, &state.config, &path);
    Ok(HttpResponse::Ok().json(json!({"captcha_token": captcha.token, "captcha_url": url})))
}

/// `GET /captchaImage?appId=&token=`: loaded by `<img src>`, so no headers are asked for. Only a
/// live, unanswered captcha has a picture; never cached, since each token has its own.
#[utoipa::path(get, path = "/1.1/captchaImage", tag = "LeanCloud", security(()),
    params(("appId" = String, Query), ("token" = String, Query, description = "the captcha_token")),
    responses((status = 200, description = "the PNG", content_type = "image/png"), doc::Errors))]
pub async fn captcha_image(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, LcError> {
    let query = query_params(&req);
    let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let (app_id, token) = (get("appId"), get("token"));
    let core = state.core.clone();
    let png = blocking(move || core.captcha_image(&app_id, &token)).await?;
    let Some(png) = png else {
        return Err(LcError::captcha_not_found());
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/png"))
        .insert_header((CACHE_CONTROL, "no-store, no-cache, must-revalidate, max-age=0"))
        .insert_header((PRAGMA, "no-cache"))
        .insert_header((EXPIRES, "0"))
        .body(png))
}

/// `POST /verifyCaptcha {"captcha_code","captcha_token"}` → `{"validate_token"}`.
#[utoipa::path(post, path = "/1.1/verifyCaptcha", tag = "LeanCloud", request_body = doc::LcVerifyCaptcha,
    responses((status = 200, body = doc::LcValidateToken), doc::Errors))]
pub async fn verify_captcha(
    auth: LcAuth,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let code = fields::string(&body, "captcha_code")?.unwrap_or_default();
    let token = fields::string(&body, "captcha_token")?.unwrap_or_default();
    let validate_token = auth.run(move |core, app| core.verify_captcha(app, &token, &code)).await?;
    Ok(HttpResponse::Ok().json(json!({"validate_token": validate_token})))
}
