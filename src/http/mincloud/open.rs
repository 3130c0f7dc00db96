//! The open API's routes (`/oserve`, the app's own server with its Bearer token): the seed's two
//! SMS endpoints. Handlers in `sms.rs`.

use actix_web::web;

use super::{not_found, refuse_bad_text, resource, sms};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/oserve")
            .wrap(actix_web::middleware::from_fn(refuse_bad_text))
            .service(resource("/{version:v[0-9.]+}/sms-verification-code").route(web::post().to(sms::open_send)))
            .service(
                resource("/{version:v[0-9.]+}/sms-verification-code/verify").route(web::post().to(sms::open_verify)),
            )
            .default_service(web::to(not_found)),
    );
}
