//! The OpenAPI 3.1 document of every route Phonebase serves, generated from the handlers' own
//! `#[utoipa::path]` attributes: each dialect's `openapi.rs` lists its paths, schemas, security
//! schemes and error codes, and this module merges them with the routes of the server itself
//! (`/healthz`, `/metrics`, `/.well-known/jwks.json`, the delivery-report receivers). Served at
//! `GET /openapi.json`, with Swagger UI at `GET /docs` from the files compiled into the binary
//! (the `vendored` Swagger UI: no CDN, nothing fetched at build or run time).

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use utoipa::openapi::security::HttpAuthScheme;
use utoipa::openapi::{self, Server};
use utoipa::{Modify, OpenApi};

use super::AppState;
use super::kit::openapi::http;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Phonebase",
        description = "Self-hosted user accounts with phone authentication, speaking the LeanCloud, Bmob, JPush SMS \
                       and MinCloud wire formats over one core. Each dialect is a tag below, with its own headers \
                       (security schemes), error body and error codes.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(super::healthz, super::metrics, super::jwks, openapi_json, docs),
    tags(
        (name = "Server", description = "Health, metrics, the JWT keys, and this document."),
        (name = "Delivery reports", description = "Where SMS providers report the fate of the messages they accepted.")
    ),
    modifiers(&Schemes)
)]
struct ServerApi;

struct Schemes;

impl Modify for Schemes {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        doc.components.get_or_insert_with(Default::default).add_security_scheme(
            "MetricsBearer",
            http(HttpAuthScheme::Bearer, "`metrics_token` from the configuration, when one is set."),
        );
    }
}

/// The whole document, paths as the router has them under the route prefix (which becomes the
/// document's server).
pub fn document() -> openapi::OpenApi {
    let mut doc = ServerApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.merge(super::leancloud::openapi::LeanCloudApi::openapi());
    doc.merge(super::bmob::openapi::BmobApi::openapi());
    doc.merge(super::jpush::openapi::JPushApi::openapi());
    doc.merge(super::mincloud::openapi::MinCloudApi::openapi());
    doc.merge(super::console::openapi::ConsoleApi::openapi());
    doc.merge(super::reports::ReportsApi::openapi());
    doc
}

static DOCUMENT: LazyLock<openapi::OpenApi> = LazyLock::new(document);

/// `GET /openapi.json` and `GET /docs` (Swagger UI, its files under `/docs/`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json)).route("/docs", web::get().to(docs)).service(
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").config(
            // Relative to `/docs/`, so that it holds under any route prefix; no validator badge,
            // which Swagger UI would fetch from the Internet.
            utoipa_swagger_ui::Config::new(["../openapi.json"]).validator_url("none"),
        ),
    );
}

/// `GET /openapi.json`: this document (OpenAPI 3.1), its server the configured route prefix.
#[utoipa::path(get, path = "/openapi.json", tag = "Server", security(()),
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json",
        body = std::collections::BTreeMap<String, serde_json::Value>)))]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    let mut doc = DOCUMENT.clone();
    let prefix = state.config.route_prefix();
    doc.servers = Some(vec![Server::new(if prefix.is_empty() { "/".to_string() } else { prefix })]);
    HttpResponse::Ok().json(doc)
}

/// `GET /docs`: Swagger UI over `/openapi.json`, served by Phonebase itself (see `/docs/`).
#[utoipa::path(get, path = "/docs", tag = "Server", security(()),
    responses((status = 308, description = "to `docs/`, the Swagger UI page, whose files load from `/docs/`")))]
pub async fn docs() -> HttpResponse {
    // Relative, so the page's relative links resolve under `/docs/` whatever the route prefix.
    HttpResponse::PermanentRedirect().insert_header(("Location", "docs/")).finish()
}
