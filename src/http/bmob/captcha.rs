//! Image captchas (contract A.4), on the captcha core LeanCloud's `/1.1/requestCaptcha` uses:
//! `POST /1/requestCaptcha`, `GET /1/captchaImage?secretKey=&token=`, `POST /1/verifyCaptcha`.

use super::openapi as doc;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, EXPIRES, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::auth::Bmob;
use super::error::BmobError;
use crate::core::codes::captcha::CaptchaSpec;
use crate::core::credentials::{BMOB_SECRET_KEY, Dialect};
use crate::http::kit::caller::Caller;
use crate::http::kit::fields;
use crate::http::kit::urls::{absolute, encode};
use crate::http::{AppState, blocking, json_object_body, query_params};

/// Bmob's own range for a captcha's life (60–180 s; the core takes 10–180).
const TTL_SECS: std::ops::RangeInclusive<i64> = 60..=180;

/// `POST /1/requestCaptcha {"width"?, "height"?, "size"?, "ttl"?}` →
/// `{"captcha_token", "captcha_url"}`. Out-of-range values are refused, not clamped.
#[utoipa::path(post, path = "/1/requestCaptcha", tag = "Bmob", request_body = doc::BmobRequestCaptcha,
    responses((status = 200, body = doc::BmobCaptcha), doc::Errors))]
pub async fn request_captcha(
    caller: Caller<Bmob>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let positive = |key: &str| -> Result<Option<u32>, BmobError> {
        fields::integer(&body, key)?
            .map(|v| u32::try_from(v).map_err(|_| BmobError::invalid(format!("{key} must be positive"))))
            .transpose()
    };
    let ttl_secs = fields::integer(&body, "ttl")?;
    if let Some(ttl) = ttl_secs
        && !TTL_SECS.contains(&ttl)
    {
        return Err(BmobError::invalid(format!("ttl must be {} to {}, not {ttl}", TTL_SECS.start(), TTL_SECS.end())));
    }
    let spec = CaptchaSpec {
        width: positive("width")?,
        height: positive("height")?,
        size: positive("size")?.map(|v| v as usize),
        ttl_secs,
    };
    let ip = caller.client_ip.clone();
    let captcha = caller.run(move |core, app| core.request_captcha(app, &spec, &ip)).await?;
    let url = absolute(
        &req,
        &state.config,
        &format!(
            "/1/captchaImage?secretKey={}&token={}",
            encode(&caller.app.credentials.bmob.secret_key),
            encode(&captcha.token)
        ),
    );
    Ok(HttpResponse::Ok().json(json!({"captcha_token": captcha.token, "captcha_url": url})))
}

/// `GET /1/captchaImage?secretKey=&token=`: loaded by `<img src>`, so no headers are asked for;
/// the app is the one whose secret key the URL carries. Only a live, unanswered captcha has a
/// picture; never cached.
#[utoipa::path(get, path = "/1/captchaImage", tag = "Bmob", security(()),
    params(("secretKey" = String, Query), ("token" = String, Query, description = "the captcha_token")),
    responses((status = 200, description = "the PNG", content_type = "image/png"), doc::Errors))]
pub async fn captcha_image(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, BmobError> {
    let query = query_params(&req);
    let get = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let (secret_key, token) = (get("secretKey"), get("token"));
    let core = state.core.clone();
    let png = blocking(move || match core.app_by_credential(Dialect::Bmob, BMOB_SECRET_KEY, &secret_key) {
        Ok(app) => core.captcha_image(&app.id, &token),
        Err(crate::core::Error::UnknownApp) => Ok(None),
        Err(e) => Err(e),
    })
    .await?;
    let Some(png) = png else {
        return Err(BmobError::new(StatusCode::NOT_FOUND, 404, "captcha not found, expired or already answered."));
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/png"))
        .insert_header((CACHE_CONTROL, "no-store, no-cache, must-revalidate, max-age=0"))
        .insert_header((PRAGMA, "no-cache"))
        .insert_header((EXPIRES, "0"))
        .body(png))
}

/// `POST /1/verifyCaptcha {"captcha_code", "captcha_token"}` → `{"validate_token"}`, which
/// `requestSmsCode` takes. A captcha answers once, right or wrong.
#[utoipa::path(post, path = "/1/verifyCaptcha", tag = "Bmob", request_body = doc::BmobVerifyCaptcha,
    responses((status = 200, body = doc::BmobValidateToken), doc::Errors))]
pub async fn verify_captcha(
    caller: Caller<Bmob>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let code = fields::string(&body, "captcha_code")?.unwrap_or_default();
    let token = fields::string(&body, "captcha_token")?.unwrap_or_default();
    let validate_token = caller.run(move |core, app| core.verify_captcha(app, &token, &code)).await?;
    Ok(HttpResponse::Ok().json(json!({"validate_token": validate_token})))
}
