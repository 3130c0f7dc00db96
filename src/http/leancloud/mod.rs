//! The LeanCloud dialect (`/1.1`): wire format and error codes of the official SDKs
//! (`../shared/contracts/leancloud.md`), over the core.

pub mod auth;
pub mod error;
mod params;
mod sms;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};

use error::LcError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/1.1")
            .route("/date", web::get().to(server_date))
            .service(
                web::resource("/requestSmsCode")
                    .route(web::post().to(sms::request_sms_code))
                    .default_service(web::to(method_not_allowed)),
            )
            .service(
                web::resource("/verifySmsCode/{code}")
                    .route(web::post().to(sms::verify_sms_code))
                    .default_service(web::to(method_not_allowed)),
            )
            .default_service(web::to(not_found)),
    );
}

/// `GET /1.1/date`: no authentication (the Python SDK sends no headers here).
async fn server_date(state: web::Data<crate::http::AppState>) -> HttpResponse {
    let now = state.core.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    HttpResponse::Ok().json(serde_json::json!({"__type": "Date", "iso": now}))
}

async fn not_found() -> HttpResponse {
    LcError::new(StatusCode::NOT_FOUND, 404, "Not found.").error_response()
}

async fn method_not_allowed() -> HttpResponse {
    LcError::new(StatusCode::METHOD_NOT_ALLOWED, 405, "Method not allowed.").error_response()
}
