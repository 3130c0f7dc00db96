//! The open API's OAuth endpoints (contract C.1): `POST /api/oauth2/hydrogen/openapi/authorize/`
//! `{client_id, client_secret}` → `{code, expires_in}` (answered directly, no redirect), then
//! `POST /api/oauth2/access_token/` with `grant_type` `authorization_code` (`code`) or
//! `refresh_token` (`refresh_token`) → `{access_token, token_type, expires_in, refresh_token,
//! scope}`. Bodies may be JSON, a form, or multipart (the docs' PHP sample posts a PHP array, which
//! curl sends as multipart, under a JSON content type: the body is recognised by its shape).

use super::openapi as doc;
use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::error::McError;
use super::{not_found, refuse_bad_text, resource};
use crate::core::apps::App;
use crate::core::credentials::{Dialect, MINCLOUD_CLIENT_ID};
use crate::http::kit::caller;
use crate::http::kit::fields::{self, Body};
use crate::http::{AppState, BodyError, blocking, edge, read_body};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/oauth2")
            .wrap(actix_web::middleware::from_fn(refuse_bad_text))
            .service(resource("/hydrogen/openapi/authorize").route(web::post().to(authorize)))
            .service(resource("/access_token").route(web::post().to(access_token)))
            .default_service(web::to(not_found)),
    );
}

/// Reads a body of JSON, form fields or multipart text fields into one object of strings (JSON
/// values kept), whatever the Content-Type claims.
async fn any_body(req: &HttpRequest, payload: web::Payload, state: &AppState) -> Result<Body, McError> {
    let bytes = read_body(payload, state.config.body_limit_bytes).await?;
    let text = std::str::from_utf8(&bytes).map_err(|_| McError::from(BodyError::NotJsonObject))?;
    let boundary = multipart_boundary(req.content_type(), req.headers(), text);
    let body = if let Some(boundary) = boundary {
        multipart_fields(text, &boundary)
            .ok_or_else(|| McError::bad_request("The multipart body could not be read."))?
    } else if text.trim_start().starts_with('{') {
        match serde_json::from_str(text.trim()).map_err(|_| McError::from(BodyError::NotJsonObject))? {
            Value::Object(map) => map,
            _ => return Err(BodyError::NotJsonObject.into()),
        }
    } else {
        form_urlencoded::parse(text.trim().as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect()
    };
    edge::check_object(&body)?;
    Ok(body)
}

/// The multipart boundary: from the Content-Type when it says multipart, else from a body that
/// opens with `--<boundary>` on its own line.
fn multipart_boundary(content_type: &str, headers: &actix_web::http::header::HeaderMap, text: &str) -> Option<String> {
    if content_type.eq_ignore_ascii_case("multipart/form-data") {
        let full = headers.get("content-type")?.to_str().ok()?;
        return full
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_string());
    }
    let first = text.lines().next()?.trim_end_matches('\r');
    let boundary = first.strip_prefix("--")?;
    (!boundary.is_empty() && boundary.len() <= 200 && !boundary.contains(char::is_whitespace))
        .then(|| boundary.to_string())
}

/// The text fields of a multipart body (`Content-Disposition: form-data; name="..."`); `None`
/// when the body is not one.
fn multipart_fields(text: &str, boundary: &str) -> Option<Map<String, Value>> {
    let delimiter = format!("--{boundary}");
    let mut parts = text.split(delimiter.as_str());
    // Before the first delimiter: nothing (a preamble is allowed by the RFC, and ignored).
    parts.next()?;
    let mut out = Map::new();
    let mut closed = false;
    for part in parts {
        if part.starts_with("--") {
            closed = true;
            break;
        }
        let part = part.strip_prefix("\r\n").or_else(|| part.strip_prefix('\n'))?;
        let (head, value) = part.split_once("\r\n\r\n").or_else(|| part.split_once("\n\n"))?;
        let name = head.lines().find_map(|line| {
            let (key, rest) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            rest.split(';').find_map(|p| p.trim().strip_prefix("name=")).map(|n| n.trim_matches('"').to_string())
        })?;
        let value = value.strip_suffix("\r\n").or_else(|| value.strip_suffix('\n')).unwrap_or(value);
        out.insert(name, Value::String(value.to_string()));
    }
    closed.then_some(out)
}

fn required(body: &Body, key: &str) -> Result<String, McError> {
    fields::string(body, key)?
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| McError::missing(key))
}

/// The app whose MinCloud client id the body names (401 when none has it), and the secret given.
async fn client(state: &AppState, body: &Body) -> Result<(Arc<App>, String), McError> {
    let id = required(body, "client_id")?;
    let secret = required(body, "client_secret")?;
    let core = state.core.clone();
    let app = blocking(move || core.app_by_credential(Dialect::MinCloud, MINCLOUD_CLIENT_ID, &id)).await?;
    Ok((app, secret))
}

/// `POST /api/oauth2/hydrogen/openapi/authorize/`.
#[utoipa::path(post, path = "/api/oauth2/hydrogen/openapi/authorize", tag = "MinCloud", security(()),
    request_body = doc::McAuthorize, responses((status = 200, body = doc::McAuthorized), doc::Errors))]
pub async fn authorize(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = any_body(&req, payload, &state).await?;
    let (app, secret) = client(&state, &body).await?;
    let code = caller::run(&state.core, &app, move |core, app| core.authorize_client(app, &secret)).await?;
    Ok(HttpResponse::Ok().json(json!({"code": code.code, "expires_in": code.expires_in})))
}

/// `POST /api/oauth2/access_token/`.
#[utoipa::path(post, path = "/api/oauth2/access_token", tag = "MinCloud", security(()),
    request_body = doc::McTokenRequest, responses((status = 200, body = doc::McToken), doc::Errors))]
pub async fn access_token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, McError> {
    let body = any_body(&req, payload, &state).await?;
    let grant_type = required(&body, "grant_type")?;
    let (app, secret) = client(&state, &body).await?;
    let grant = match grant_type.as_str() {
        "authorization_code" => {
            let code = required(&body, "code")?;
            caller::run(&state.core, &app, move |core, app| core.exchange_authorization_code(app, &secret, &code))
                .await?
        }
        "refresh_token" => {
            let refresh = required(&body, "refresh_token")?;
            caller::run(&state.core, &app, move |core, app| core.refresh_access(app, &secret, &refresh)).await?
        }
        other => {
            return Err(McError::bad_request(format!(
                "Unsupported grant_type {other:?}: use authorization_code or refresh_token."
            )));
        }
    };
    Ok(HttpResponse::Ok().json(json!({
        "access_token": grant.access_token,
        "token_type": "Bearer",
        "expires_in": grant.expires_in,
        "refresh_token": grant.refresh_token,
        "scope": "read write",
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_text_fields() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\nabc\r\n--XyZ\r\n\
                    content-disposition: form-data; name=client_secret\r\n\r\ns3 cr\"et\r\n--XyZ--\r\n";
        let fields = multipart_fields(body, "XyZ").unwrap();
        assert_eq!(fields["client_id"], "abc");
        assert_eq!(fields["client_secret"], "s3 cr\"et");
        // Sniffed from the body when the content type claims JSON (PHP's curl with a JSON header).
        let headers = actix_web::http::header::HeaderMap::new();
        assert_eq!(multipart_boundary("application/json", &headers, body).as_deref(), Some("XyZ"));
        assert_eq!(multipart_boundary("application/json", &headers, "{\"a\":1}"), None);
        // Not closed, or a part without a name: not a multipart body.
        assert!(multipart_fields("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n", "XyZ").is_none());
        assert!(multipart_fields("--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--", "XyZ").is_none());
    }
}
