//! The LeanCloud dialect (`/1.1`): wire format and error codes of the official SDKs
//! (`../shared/contracts/leancloud.md`), over the core.

pub mod auth;
mod captcha;
pub mod error;
/// Public only for the fuzz targets (fuzz/): `apply` is what they call.
#[doc(hidden)]
pub mod legacy;
pub mod openapi;
mod providers;
mod sms;
mod templates;
pub mod users;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use error::LcError;
pub use error::error_body;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::http::kit::routing;
    // A resource answers its methods; any other gets LeanCloud's 405, not an empty body.
    let resource = |path: &str| routing::resource(path, method_not_allowed);
    cfg.service(
        routing::scope("/1.1", not_found)
            // Runs after the legacy rewrite (wraps run last-registered first), so that what an old
            // SDK put in its body is checked as the path, query and headers it becomes.
            .wrap(actix_web::middleware::from_fn(refuse_bad_text))
            .wrap(actix_web::middleware::from_fn(legacy::rewrite))
            .route("/date", web::get().to(server_date))
            .service(resource("/requestSmsCode").route(web::post().to(sms::request_sms_code)))
            .service(resource("/verifySmsCode/{code}").route(web::post().to(sms::verify_sms_code)))
            .service(resource("/requestCaptcha").route(web::get().to(captcha::request_captcha)))
            .service(resource("/captchaImage").route(web::get().to(captcha::captcha_image)))
            .service(resource("/verifyCaptcha").route(web::post().to(captcha::verify_captcha)))
            .service(resource("/users").route(web::post().to(users::sign_up)).route(web::get().to(users::query)))
            .service(
                resource("/classes/_User").route(web::post().to(users::sign_up)).route(web::get().to(users::query)),
            )
            .service(resource("/login").route(web::post().to(users::log_in)).route(web::get().to(users::log_in)))
            .service(resource("/usersByMobilePhone").route(web::post().to(users::by_mobile_phone)))
            .service(resource("/users/me").route(web::get().to(users::me)))
            .service(resource("/users/me/jwt").route(web::post().to(users::issue_jwt)))
            .service(
                resource("/users/{id}")
                    .route(web::get().to(users::get_user))
                    .route(web::put().to(users::update_user))
                    .route(web::delete().to(users::delete_user)),
            )
            .service(
                resource("/classes/_User/{id}")
                    .route(web::get().to(users::get_user))
                    .route(web::put().to(users::update_user))
                    .route(web::delete().to(users::delete_user)),
            )
            .service(resource("/users/{id}/refreshSessionToken").route(web::put().to(users::refresh_session_token)))
            .service(resource("/users/{id}/updatePassword").route(web::put().to(users::update_password)))
            .service(resource("/requestLoginSmsCode").route(web::post().to(users::request_user_code)))
            .service(resource("/requestPasswordResetBySmsCode").route(web::post().to(users::request_user_code)))
            .service(resource("/resetPasswordBySmsCode/{code}").route(web::put().to(users::reset_password)))
            .service(resource("/requestMobilePhoneVerify").route(web::post().to(users::request_user_code)))
            .service(resource("/verifyMobilePhone/{code}").route(web::post().to(users::verify_mobile_phone)))
            .service(resource("/requestChangePhoneNumber").route(web::post().to(users::request_change_phone)))
            .service(resource("/changePhoneNumber").route(web::post().to(users::change_phone)))
            .service(resource("/sms/templates/preview").route(web::post().to(templates::preview)))
            .service(resource("/sms/providers").route(web::get().to(providers::list)))
            .service(
                resource("/sms/providers/{provider}/mappings")
                    .route(web::put().to(providers::put_mapping))
                    .route(web::delete().to(providers::delete_mapping)),
            )
            .service(
                resource("/sms/{kind}").route(web::get().to(templates::list)).route(web::post().to(templates::create)),
            )
            .service(
                resource("/sms/{kind}/{id}").route(web::get().to(templates::get)).route(web::put().to(templates::edit)),
            )
            .service(resource("/sms/{kind}/{id}/history").route(web::get().to(templates::history)))
            .service(resource("/sms/{kind}/{id}/{action}").route(web::post().to(templates::act))),
    );
}

/// `GET /1.1/date`: no authentication (the Python SDK sends no headers here).
#[utoipa::path(get, path = "/1.1/date", tag = "LeanCloud", security(()), responses((status = 200, body = openapi::LcDate), openapi::Errors))]
async fn server_date(state: web::Data<crate::http::AppState>) -> HttpResponse {
    let now = state.core.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    HttpResponse::Ok().json(serde_json::json!({"__type": "Date", "iso": now}))
}

/// The edge's text rule for the path, the query and the headers (bodies are checked where they
/// are read, in `json_object_body`): a control character is a 400 with code 1.
async fn refuse_bad_text(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Err(bad) = crate::http::edge::check_request(req.request()) {
        return Ok(req.error_response(LcError::from(bad)).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

async fn not_found() -> HttpResponse {
    LcError::not_found().error_response()
}

async fn method_not_allowed() -> HttpResponse {
    LcError::method_not_allowed().error_response()
}
