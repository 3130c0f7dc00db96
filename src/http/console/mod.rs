//! The operator's console (server-rendered pages from `templates/console/`, no front-end build)
//! and its JSON API, both under `/console`. Operators sign in with a password (created with
//! `phonebase admin create`); the session cookie is HttpOnly and SameSite=Strict, and every POST
//! carries a CSRF token derived from the session.

mod api;
mod assets;
mod dashboard;
pub mod openapi;
mod pages;

use std::sync::OnceLock;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use handlebars::Handlebars;
use serde_json::json;

use crate::core::{self, operators::Operator};
use crate::http::edge::{self, BodyCheck};
use crate::http::{AppState, BodyError, blocking};

pub const SESSION_COOKIE: &str = "pb_console";
/// The sign-in form's CSRF value (double submit: cookie and form field must match).
const LOGIN_COOKIE: &str = "pb_console_login";
/// Largest form or JSON body the console reads.
const BODY_LIMIT: usize = 64 * 1024;

const PAGES: &[(&str, &str)] = &[
    ("header", include_str!("../../../templates/console/header.hbs")),
    ("footer", include_str!("../../../templates/console/footer.hbs")),
    ("login", include_str!("../../../templates/console/login.hbs")),
    ("dashboard", include_str!("../../../templates/console/dashboard.hbs")),
    ("error", include_str!("../../../templates/console/error.hbs")),
    ("review", include_str!("../../../templates/console/review.hbs")),
    ("apps", include_str!("../../../templates/console/apps.hbs")),
    ("app", include_str!("../../../templates/console/app.hbs")),
    ("messages", include_str!("../../../templates/console/messages.hbs")),
    ("providers", include_str!("../../../templates/console/providers.hbs")),
];

/// HTML pages: strict, and HTML-escaped (the default), since they show what apps wrote.
fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(false);
        for (name, source) in PAGES {
            if matches!(*name, "header" | "footer") {
                hb.register_partial(name, *source).expect("console partial compiles");
            } else {
                hb.register_template_string(name, *source).expect("console page compiles");
            }
        }
        hb
    })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(actix_web::middleware::from_fn(refuse_bad_text))
            // Unreadable forms and JSON get the console's own error, not actix's plain text.
            .app_data(web::FormConfig::default().limit(BODY_LIMIT).error_handler(|e, _| {
                ConsoleError::new(StatusCode::BAD_REQUEST, format!("Unreadable form: {e}.")).into()
            }))
            .app_data(web::JsonConfig::default().limit(BODY_LIMIT).error_handler(|e, _| {
                ConsoleError::new(StatusCode::BAD_REQUEST, format!("Unreadable JSON: {}.", json_problem(&e)))
                    .as_json()
                    .into()
            }))
            .route("", web::get().to(pages::home))
            .route("/login", web::get().to(pages::login_form))
            .route("/login", web::post().to(pages::login))
            .route("/logout", web::post().to(pages::logout))
            .route("/dashboard", web::get().to(dashboard::page))
            .route("/static/{file}", web::get().to(assets::file))
            .route("/review", web::get().to(pages::review_queue))
            .route("/review/{revision}/{decision}", web::post().to(pages::decide))
            .route("/apps", web::get().to(pages::apps))
            .route("/apps", web::post().to(pages::create_app))
            .route("/apps/{id}", web::get().to(pages::app))
            .route("/apps/{id}/rotate", web::post().to(pages::rotate_keys))
            .route("/apps/{id}/settings", web::post().to(pages::update_settings))
            .route("/apps/{id}/upstream", web::post().to(pages::update_upstream))
            .route("/apps/{id}/providers", web::post().to(pages::update_providers))
            .route("/apps/{id}/balance", web::post().to(pages::update_balance))
            .route("/messages", web::get().to(pages::messages))
            .route("/providers", web::get().to(pages::providers))
            .route("/api/session", web::post().to(api::sign_in))
            .route("/api/queue", web::get().to(api::queue))
            .route("/api/review/{revision}", web::post().to(api::decide))
            .route("/api/messages", web::get().to(api::messages))
            .route("/api/apps", web::get().to(api::apps))
            .route("/api/apps", web::post().to(api::create_app))
            .route("/api/apps/{id}/rotate", web::post().to(api::rotate_keys))
            .route("/api/apps/{id}/settings", web::patch().to(api::update_settings))
            .route("/api/apps/{id}/users", web::get().to(api::find_user))
            .route("/api/dashboard", web::get().to(dashboard::api))
            .default_service(web::to(|| async {
                ConsoleError::new(StatusCode::NOT_FOUND, "Not found.").error_response()
            })),
    );
}

/// What is wrong with a JSON body, without repeating its values (serde's "invalid type: string
/// \"...\"" would put a mistyped password in the answer and in the log).
fn json_problem(e: &actix_web::error::JsonPayloadError) -> String {
    match e {
        actix_web::error::JsonPayloadError::Deserialize(e) => {
            let text = e.to_string();
            match text.split_once(": ").filter(|(kind, _)| kind.starts_with("invalid ")) {
                Some((kind, rest)) => {
                    let expected = rest.split_once(", expected").map_or("", |(_, x)| x);
                    format!("{kind}, expected{expected}")
                }
                None => text,
            }
        }
        other => other.to_string(),
    }
}

/// Whether a console request is one of the JSON API's (`/console/api/...`), whose errors are JSON.
fn is_api(req: &HttpRequest) -> bool {
    let prefix = req.app_data::<web::Data<AppState>>().map(|s| s.config.route_prefix()).unwrap_or_default();
    req.path().strip_prefix(prefix.as_str()).unwrap_or(req.path()).starts_with("/console/api/")
}

/// The edge's text rule for everything a console request carries: path, query, headers and the
/// form or JSON body (read here once, then handed on to the extractor).
async fn refuse_bad_text(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let invalid = |bad: edge::BadText| ConsoleError::new(StatusCode::BAD_REQUEST, format!("Invalid value: {bad}."));
    let mut refusal = edge::check_request(req.request()).err().map(invalid);
    if refusal.is_none() && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        refusal = match edge::check_body(&mut req, BODY_LIMIT).await {
            Ok(()) => None,
            Err(BodyCheck::BadText(bad)) => Some(invalid(bad)),
            Err(BodyCheck::Unreadable(BodyError::TooLarge(limit))) => Some(ConsoleError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("The request body is larger than {limit} bytes."),
            )),
            Err(BodyCheck::Unreadable(_)) => {
                Some(ConsoleError::new(StatusCode::BAD_REQUEST, "The request body could not be read."))
            }
        };
    }
    if let Some(e) = refusal {
        let e = if is_api(req.request()) { e.as_json() } else { e };
        return Ok(req.error_response(e).map_into_boxed_body());
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The body of an error the framework raised with only a status: the JSON API's `{"error"}`, or
/// the error page.
pub fn error_body(api: bool, status: StatusCode) -> HttpResponse {
    let message = status.canonical_reason().map_or_else(|| "Error.".to_string(), |r| format!("{r}."));
    let e = ConsoleError::new(status, message);
    if api { e.as_json().error_response() } else { e.error_response() }
}

/// The console's one error: an HTML page, or `{"error"}` for the JSON API.
#[derive(Debug)]
pub struct ConsoleError {
    status: StatusCode,
    message: String,
    json: bool,
    /// Send the browser here instead (to the sign-in page).
    location: Option<String>,
}

impl ConsoleError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), json: false, location: None }
    }

    /// Not signed in: pages go to the sign-in form, the API answers 401.
    pub fn sign_in(state: &AppState) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "Sign in first.");
        e.location = Some(format!("{}/console/login", state.config.route_prefix()));
        e
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "The form has expired or did not come from this console; reload and retry.")
    }

    pub fn as_json(mut self) -> Self {
        self.json = true;
        self
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.json {
            return HttpResponse::build(self.status).json(json!({"error": self.message}));
        }
        if let Some(location) = &self.location {
            return HttpResponse::SeeOther().insert_header(("Location", location.as_str())).finish();
        }
        let body = registry()
            .render(
                "error",
                &json!({"title": self.status.canonical_reason(), "message": self.message, "assets": assets::version()}),
            )
            .unwrap_or_else(|_| self.message.clone());
        HttpResponse::build(self.status).content_type("text/html; charset=utf-8").body(body)
    }
}

impl From<core::Error> for ConsoleError {
    fn from(e: core::Error) -> Self {
        use core::Error as E;
        let status = match &e {
            E::WrongPassword => StatusCode::UNAUTHORIZED,
            E::AccountLocked => StatusCode::TOO_MANY_REQUESTS,
            E::ItemNotFound | E::UnknownApp | E::UserNotFound | E::TemplateNotFound => StatusCode::NOT_FOUND,
            E::IllegalTransition { .. } | E::NameTaken => StatusCode::CONFLICT,
            E::Busy => StatusCode::SERVICE_UNAVAILABLE,
            E::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                return Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.");
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let message = match e {
            E::WrongPassword => "Wrong username or password.".to_string(),
            E::AccountLocked => "Too many failed sign-ins; try again in 15 minutes.".to_string(),
            other => {
                let text = other.to_string();
                let mut chars = text.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>() + ".").unwrap_or_default()
            }
        };
        Self::new(status, message)
    }
}

/// A signed-in operator and the session token (for the CSRF check).
pub struct Session {
    pub operator: Operator,
    pub token: String,
}

impl Session {
    /// Checks a presented CSRF token against this session's, in constant time.
    pub fn check_csrf(&self, state: &AppState, presented: Option<&str>) -> Result<(), ConsoleError> {
        match presented {
            Some(p) if state.core.csrf_ok(&self.token, p) => Ok(()),
            _ => Err(ConsoleError::forbidden()),
        }
    }

    pub fn csrf(&self, state: &AppState) -> String {
        state.core.csrf_token(&self.token)
    }
}

/// The operator behind the request's session cookie, or `sign_in`.
pub async fn session(req: &HttpRequest, state: &web::Data<AppState>) -> Result<Session, ConsoleError> {
    let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) else {
        return Err(ConsoleError::sign_in(state));
    };
    let core = state.core.clone();
    let lookup = token.clone();
    let operator = blocking(move || core.operator_session(&lookup)).await?;
    operator.map(|operator| Session { operator, token }).ok_or_else(|| ConsoleError::sign_in(state))
}

/// The cookie path: the console under the configured base path.
fn cookie_path(state: &AppState) -> String {
    format!("{}/console", state.config.route_prefix())
}

/// HttpOnly, SameSite=Strict, and Secure when clients reach the console over HTTPS: by
/// `public_url`, or a trusted proxy's `X-Forwarded-Proto` (never a client's own header).
fn cookie<'a>(req: &HttpRequest, state: &AppState, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path(cookie_path(state))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(crate::http::kit::urls::public_https(req, &state.config))
        .finish()
}

fn removal<'a>(state: &AppState, name: &'a str) -> Cookie<'a> {
    let mut c = Cookie::build(name, "").path(cookie_path(state)).finish();
    c.make_removal();
    c
}

fn iso(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
