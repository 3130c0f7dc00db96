//! The Bmob dialect (`/1`): what hydrogen-js-sdk and bmobpy send and read
//! (`../shared/contracts/other-dialects.md`, part A), over the same core as LeanCloud: one user
//! table, one code store, one set of limits per app.

pub mod auth;
mod captcha;
pub mod error;
pub mod openapi;
mod sms;
mod users;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, NormalizePath, TrailingSlash};
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use chrono::{NaiveDateTime, TimeDelta};

use auth::Signed;
use error::BmobError;
pub use error::error_body;

use crate::http::kit::routing::{resource as kit_resource, scope};
use crate::http::{AppState, read_body};

fn resource(path: &str) -> actix_web::Resource {
    kit_resource(path, method_not_allowed)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        scope("/1", not_found)
            // Wraps run last-registered first: `capture` sees the path as the client signed it,
            // then trailing slashes go (bmobpy's `/1/timestamp/`, hydrogen's `/1/classes/T/`).
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .wrap(actix_web::middleware::from_fn(capture))
            .service(resource("/timestamp").route(web::get().to(timestamp)))
            .service(resource("/requestSmsCode").route(web::post().to(sms::request_sms_code)))
            .service(resource("/verifySmsCode").route(web::post().to(sms::verify_sms_code)))
            .service(resource("/verifySmsCode/{code}").route(web::post().to(sms::verify_sms_code)))
            .service(resource("/querySms/{sms_id}").route(web::get().to(sms::query_sms)))
            .service(resource("/requestSms").route(web::post().to(sms::request_sms)))
            .service(resource("/requestCaptcha").route(web::post().to(captcha::request_captcha)))
            .service(resource("/captchaImage").route(web::get().to(captcha::captcha_image)))
            .service(resource("/verifyCaptcha").route(web::post().to(captcha::verify_captcha)))
            .service(resource("/users").route(web::post().to(users::sign_up)))
            .service(resource("/classes/_User").route(web::post().to(users::sign_up)))
            .service(resource("/usersv1").route(web::post().to(users::by_mobile_phone)))
            .service(resource("/login").route(web::get().to(users::log_in)).route(web::post().to(users::log_in)))
            .service(resource("/checkSession/{user}").route(web::get().to(users::check_session)))
            .service(
                resource("/users/{user}")
                    .route(web::get().to(users::get_user))
                    .route(web::put().to(users::update_user))
                    .route(web::delete().to(users::delete_user)),
            )
            .service(
                resource("/classes/_User/{user}")
                    .route(web::get().to(users::get_user))
                    .route(web::put().to(users::update_user))
                    .route(web::delete().to(users::delete_user)),
            )
            .service(resource("/resetPasswordBySmsCode/{code}").route(web::put().to(users::reset_password)))
            .service(resource("/updateUserPassword/{user}").route(web::put().to(users::update_password))),
    );
}

/// Bmob's time: `YYYY-mm-dd HH:ii:ss` in Beijing time (UTC+8), as `/1/timestamp` shows it
/// (bmobpy's docstring: 1712902737 is '2024-04-12 14:18:57').
pub fn datetime(t: NaiveDateTime) -> String {
    (t + TimeDelta::hours(8)).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `GET /1/timestamp`: the server's clock, to which clients sync their signatures' timestamps;
/// so it asks for no signature itself.
#[utoipa::path(get, path = "/1/timestamp", tag = "Bmob", security(()), responses((status = 200, body = openapi::BmobTimestamp), openapi::Errors))]
async fn timestamp(state: web::Data<AppState>) -> HttpResponse {
    let now = state.core.clock.now();
    HttpResponse::Ok().json(serde_json::json!({"timestamp": now.timestamp(), "datetime": datetime(now.naive_utc())}))
}

/// The edge of the scope: the edge's text rule for the path, query and headers (bodies are
/// checked where they are read), then the body's bytes and the route kept for the signature
/// check ([`Signed`]) and handed on unchanged.
async fn capture(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Err(bad) = crate::http::edge::check_request(req.request()) {
        return Ok(req.error_response(BmobError::from(bad)).map_into_boxed_body());
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req.error_response(BmobError::busy()).map_into_boxed_body());
    };
    let body = match read_body(req.take_payload(), state.config.body_limit_bytes).await {
        Ok(body) => body.freeze(),
        Err(e) => return Ok(req.error_response(BmobError::from(e)).map_into_boxed_body()),
    };
    let prefix = state.config.route_prefix();
    let route = req.path().strip_prefix(prefix.as_str()).unwrap_or(req.path()).to_string();
    // GET and DELETE are signed over "" whatever they carry (axios sends "{}" with DELETE).
    let signed_body = match *req.method() {
        actix_web::http::Method::GET | actix_web::http::Method::DELETE => web::Bytes::new(),
        _ => body.clone(),
    };
    req.extensions_mut().insert(Signed { route, body: signed_body });
    req.set_payload(body.into());
    Ok(next.call(req).await?.map_into_boxed_body())
}

async fn not_found() -> HttpResponse {
    BmobError::not_found().error_response()
}

async fn method_not_allowed() -> HttpResponse {
    BmobError::method_not_allowed().error_response()
}
