//! The console's static files, compiled into the binary and served from
//! `/console/static/<name>`: its one style sheet, the dashboard's script, and uPlot (the charting
//! library, vendored: see `assets/console/README.md` for its version and licence). No CDN and no
//! build step: the console works offline. Pages name them with `?v=<digest of every file>`, so
//! they can be cached for a year and still change with the binary.

use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use sha2::{Digest, Sha256};

use super::ConsoleError;

/// (name, content type, bytes)
const FILES: &[(&str, &str, &[u8])] = &[
    ("console.css", "text/css; charset=utf-8", include_bytes!("../../../assets/console/console.css")),
    ("dashboard.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/console/dashboard.js")),
    ("console.js", "text/javascript; charset=utf-8", include_bytes!("../../../assets/console/console.js")),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/console/vendor/uPlot.iife.min.js"),
    ),
    ("uPlot.min.css", "text/css; charset=utf-8", include_bytes!("../../../assets/console/vendor/uPlot.min.css")),
];

/// A short digest of every file: what pages append to their URLs.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hash = Sha256::new();
        for (name, _, bytes) in FILES {
            hash.update(name.as_bytes());
            hash.update(bytes);
        }
        hash.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
    })
}

/// `GET /console/static/<name>`: public (the sign-in page uses them too), cached for a year.
pub async fn file(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, content_type, bytes)) => HttpResponse::Ok()
            .content_type(*content_type)
            .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
            .body(*bytes),
        None => ConsoleError::new(StatusCode::NOT_FOUND, "Not found.").error_response(),
    }
}
