//! The JPush SMS (JSMS) dialect (`/v1`): the REST API of the official clients (Python `jsms`,
//! Java `jsms-client`, PHP), contract part B of `../shared/contracts/other-dialects.md`, over the
//! same core as every other dialect.

pub mod auth;
mod body;
mod codes;
pub mod error;
mod messages;
pub mod openapi;
mod schedules;
mod templates;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use error::JpError;
pub use error::error_body;

pub fn routes(cfg: &mut web::ServiceConfig) {
    // A resource answers its methods, any other gets 405 50018; an unknown path 404 50016.
    let resource = |path: &str| crate::http::kit::routing::resource(path, method_not_allowed);
    cfg.service(
        crate::http::kit::routing::scope("/v1", not_found)
            .wrap(actix_web::middleware::from_fn(refuse_bad_text))
            .service(resource("/codes").route(web::post().to(codes::send_code)))
            .service(resource("/voice_codes").route(web::post().to(codes::send_voice_code)))
            .service(resource("/codes/{msg_id}/valid").route(web::post().to(codes::verify)))
            .service(resource("/messages").route(web::post().to(messages::send)))
            .service(resource("/messages/batch").route(web::post().to(messages::send_batch)))
            .service(resource("/schedule").route(web::post().to(schedules::create)))
            .service(resource("/schedule/batch").route(web::post().to(schedules::create_batch)))
            .service(resource("/schedule/batch/{schedule_id}").route(web::put().to(schedules::update_batch)))
            .service(
                resource("/schedule/{schedule_id}")
                    .route(web::get().to(schedules::show))
                    .route(web::put().to(schedules::update))
                    .route(web::delete().to(schedules::delete)),
            )
            .service(resource("/accounts/app").route(web::get().to(messages::app_balance)))
            .service(resource("/templates").route(web::post().to(templates::create_template)))
            .service(
                resource("/templates/{temp_id}")
                    .route(web::get().to(templates::show_template))
                    .route(web::put().to(templates::update_template))
                    .route(web::delete().to(templates::delete_template)),
            )
            .service(resource("/sign").route(web::post().to(templates::create_sign)))
            .service(
                resource("/sign/{sign_id}")
                    .route(web::get().to(templates::show_sign))
                    .route(web::post().to(templates::update_sign))
                    .route(web::delete().to(templates::delete_sign)),
            ),
    );
}

/// The edge's text rule for the path, the query and the headers (bodies are checked where they
/// are read): a control character is 403 50007.
async fn refuse_bad_text(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Err(bad) = crate::http::edge::check_request(req.request()) {
        return Ok(req.error_response(JpError::from(bad)).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

async fn not_found() -> HttpResponse {
    JpError::api_not_found().error_response()
}

async fn method_not_allowed() -> HttpResponse {
    JpError::method_not_supported().error_response()
}

/// 200 with an empty body (`Content-Length: 0`): how JPush answers a DELETE.
fn empty_ok() -> HttpResponse {
    HttpResponse::Ok().finish()
}
