//! The MinCloud / 知晓云 dialect (contract `other-dialects.md` part C): the client API
//! (`/hserve/vX.Y/...`, minapp-sdk), the open API (`/oserve/vX.Y/...`, the app's server) and the
//! OAuth flow that issues the open API's token (`/api/oauth2/...`), over the core.
//!
//! Paths carry a version segment (`v2.1`, `v1.8`...) that the SDK picks per call; any `vN` or
//! `vN.N` is accepted (`v[0-9.]+`), since the shapes did not change between them for these calls. The SDK ends
//! every path with a slash, curl users may not: both are served ([`trailing_slash`]).

pub mod auth;
pub mod error;
mod oauth;
mod open;
pub mod openapi;
mod sms;
mod users;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use crate::http::kit::routing::resource as routed;
use error::McError;
pub use error::error_body;

/// Where MinCloud's paths start (within the route prefix).
pub const PREFIXES: &[&str] = &["/hserve/", "/oserve/", "/api/oauth2/"];

/// Whether a path (within the route prefix) is MinCloud's.
pub fn owns(path: &str) -> bool {
    PREFIXES.iter().any(|p| path.starts_with(p))
}

pub(crate) fn resource(path: &str) -> actix_web::Resource {
    routed(path, method_not_allowed)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/hserve")
            .wrap(actix_web::middleware::from_fn(refuse_bad_text))
            .service(resource("/{version:v[0-9.]+}/sms-verification-code").route(web::post().to(sms::send)))
            .service(resource("/{version:v[0-9.]+}/sms-verification-code/verify").route(web::post().to(sms::verify)))
            .service(resource("/{version:v[0-9.]+}/login/sms").route(web::post().to(users::login_sms)))
            .service(resource("/{version:v[0-9.]+}/register/phone").route(web::post().to(users::register_phone)))
            .service(resource("/{version:v[0-9.]+}/login/phone").route(web::post().to(users::login_phone)))
            .service(resource("/{version:v[0-9.]+}/user/info/{user}").route(web::get().to(users::user_info)))
            .service(resource("/{version:v[0-9.]+}/user/account").route(web::put().to(users::update_account)))
            .service(
                resource("/{version:v[0-9.]+}/sms-phone-verification").route(web::post().to(users::verify_own_phone)),
            )
            .service(resource("/{version:v[0-9.]+}/session/destroy").route(web::post().to(users::destroy_session)))
            .default_service(web::to(not_found)),
    )
    .configure(open::routes)
    .configure(oauth::routes);
}

/// App-level middleware (before routing): a MinCloud path ending in `/` is served as the path
/// without it, so that `/hserve/v2.1/login/sms/` (the SDK) and `/hserve/v2.1/login/sms` (curl)
/// reach the same resource. Other paths pass untouched.
pub async fn trailing_slash(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let prefix =
        req.app_data::<web::Data<crate::http::AppState>>().map(|s| s.config.route_prefix()).unwrap_or_default();
    let path = req.path();
    let within = path.strip_prefix(prefix.as_str()).unwrap_or(path);
    if within.len() > 1 && within.ends_with('/') && owns(within) {
        let trimmed = path.trim_end_matches('/');
        let target = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = target.parse::<Uri>() {
            req.head_mut().uri = uri;
            let uri = req.uri().clone();
            req.match_info_mut().get_mut().update(&uri);
        }
    }
    next.call(req).await
}

/// The edge's text rule for the path, the query and the headers (bodies are checked where they
/// are read): a control character is a 400.
pub(crate) async fn refuse_bad_text(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Err(bad) = crate::http::edge::check_request(req.request()) {
        return Ok(req.error_response(McError::from(bad)).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

pub(crate) async fn not_found() -> HttpResponse {
    McError::not_found().error_response()
}

async fn method_not_allowed() -> HttpResponse {
    McError::method_not_allowed().error_response()
}
