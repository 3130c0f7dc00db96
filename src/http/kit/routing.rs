//! Routing with each dialect's own error bodies: a resource answers its methods and any other
//! method with the dialect's 405 (never an empty body), a scope answers unknown paths with the
//! dialect's 404.

use actix_web::{Handler, Resource, Responder, Scope, web};

/// `path` as a resource whose unrouted methods get `method_not_allowed`.
pub fn resource<F, Args>(path: &str, method_not_allowed: F) -> Resource
where
    F: Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// The dialect's scope (`/1.1`, `/1`, `/v1`...), whose unknown paths get `not_found`.
pub fn scope<F, Args>(prefix: &str, not_found: F) -> Scope
where
    F: Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::scope(prefix).default_service(web::to(not_found))
}
