//! Rules every request and response passes at the edge, whatever the dialect, each written once:
//! which characters a request's text may carry, what the request log may show of a request, and
//! the headers and JSON error bodies every response gets. Dialects word the refusals in their own
//! format; `startup` picks that format by path.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse};
use serde_json::Value;
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// Why a request's text was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place} {why}")]
pub struct BadText {
    pub place: String,
    pub why: &'static str,
}

impl BadText {
    fn control(place: impl Into<String>) -> Self {
        Self { place: place.into(), why: "contains a control character" }
    }
}

/// Characters no text from a request may carry (body fields and keys, query parameters): NUL and
/// the other control characters (C0, DEL, C1), except tab, line feed and carriage return, which
/// real texts use (template bodies, custom fields). PostgreSQL refuses NUL outright, and no
/// client has a reason to send the others.
pub fn refused_in_text(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// A path (ids, codes) carries no control character at all.
fn refused_in_path(c: char) -> bool {
    c.is_control()
}

pub fn check_text(place: &str, text: &str) -> Result<(), BadText> {
    if text.chars().any(refused_in_text) { Err(BadText::control(place)) } else { Ok(()) }
}

/// A name safe to repeat in an error or a log: short and plain, else a neutral word.
fn shown(key: &str) -> String {
    if !key.is_empty() && key.len() <= 40 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        format!("field {key}")
    } else {
        "a field".to_string()
    }
}

/// Checks every string and every key of a JSON value, however deep; `place` names the top-level
/// field in the refusal.
pub fn check_json(place: &str, value: &Value) -> Result<(), BadText> {
    match value {
        Value::String(s) => check_text(place, s),
        Value::Array(items) => items.iter().try_for_each(|v| check_json(place, v)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            check_text(place, k)?;
            check_json(place, v)
        }),
        _ => Ok(()),
    }
}

/// Checks a JSON object body: its keys and, however deep, its values.
pub fn check_object(map: &serde_json::Map<String, Value>) -> Result<(), BadText> {
    for (key, value) in map {
        if key.chars().any(refused_in_text) {
            return Err(BadText::control("a field name"));
        }
        check_json(&shown(key), value)?;
    }
    Ok(())
}

/// Decodes `%XX` escapes of a path (as the router does before it hands out ids).
fn percent_decoded(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h << 4) | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The request's path, query parameters and header values: what reaches a handler besides the
/// body. Bodies are checked where they are read (each dialect has one body reader).
pub fn check_request(req: &HttpRequest) -> Result<(), BadText> {
    let path = percent_decoded(req.path());
    match std::str::from_utf8(&path) {
        Ok(p) if p.chars().any(refused_in_path) => return Err(BadText::control("the path")),
        Ok(_) => {}
        Err(_) => return Err(BadText { place: "the path".into(), why: "is not valid UTF-8" }),
    }
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if key.chars().any(refused_in_text) {
            return Err(BadText::control("a query parameter name"));
        }
        if value.chars().any(refused_in_text) {
            return Err(BadText::control(format!("query parameter {}", shown(&key).trim_start_matches("field "))));
        }
    }
    // The HTTP codec already refuses most of these; headers set by a rewrite (the legacy SDK's
    // body credentials) or a future transport get the same rule.
    for (name, value) in req.headers() {
        if value.as_bytes().iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(BadText::control(format!("header {name}")));
        }
    }
    Ok(())
}

/// Reads a whole body of at most `limit` bytes, checks it by its content type (a JSON document:
/// every string and key; a form: every name and value; other text as it is) and hands back the
/// bytes for the extractor that reads it. For dialects that read bodies with actix's extractors.
pub async fn check_body(req: &mut ServiceRequest, limit: usize) -> Result<(), BodyCheck> {
    let body = super::read_body(req.take_payload(), limit).await.map_err(BodyCheck::Unreadable)?.freeze();
    let content_type = req.content_type().to_ascii_lowercase();
    let result = if content_type.ends_with("json") {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => check_object(&map),
            Ok(value) => check_json("the body", &value),
            // The extractor words its own refusal of a document it cannot read.
            Err(_) => Ok(()),
        }
    } else if content_type == "application/x-www-form-urlencoded" {
        form_urlencoded::parse(&body).try_for_each(|(k, v)| {
            if k.chars().any(refused_in_text) {
                return Err(BadText::control("a field name"));
            }
            check_text(&shown(&k), &v)
        })
    } else {
        match std::str::from_utf8(&body) {
            Ok(text) => check_text("the body", text),
            Err(_) => Ok(()),
        }
    };
    req.set_payload(body.into());
    result.map_err(BodyCheck::BadText)
}

#[derive(Debug, thiserror::Error)]
pub enum BodyCheck {
    #[error("{0}")]
    Unreadable(super::BodyError),
    #[error("{0}")]
    BadText(BadText),
}

/// Path segments after which the next one is a code (LeanCloud's code-by-value routes).
const CODE_SEGMENTS: &[&str] = &["verifySmsCode", "resetPasswordBySmsCode", "verifyMobilePhone"];
const REDACTED: &str = "[redacted]";

/// What the request log shows of a request target: the path with codes masked (the segment after
/// a code route, and any run of 4 or more digits standing as a segment) and the query string
/// with every value masked (`GET /login?username=&password=` carries credentials).
pub fn redacted_target(uri: &Uri) -> String {
    let mut out = String::with_capacity(uri.path().len() + 16);
    let mut mask_next = false;
    // The two segments before this one: `/delivery/reports/<provider>/<token>` carries a secret.
    let mut before: [String; 2] = Default::default();
    for (i, segment) in uri.path().split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if segment.is_empty() {
            continue;
        }
        let decoded = String::from_utf8_lossy(&percent_decoded(segment)).into_owned();
        let digits = decoded.len() >= 4 && decoded.bytes().all(|b| b.is_ascii_digit());
        let report_token = before[0] == "reports";
        if mask_next || digits || report_token {
            out.push_str(REDACTED);
        } else {
            out.push_str(segment);
        }
        mask_next = CODE_SEGMENTS.contains(&decoded.as_str());
        before = [std::mem::take(&mut before[1]), decoded];
    }
    if let Some(query) = uri.query() {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if plain_key(key) => format!("{key}={REDACTED}"),
                _ => REDACTED.to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

fn plain_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 40 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The request log's root span: tracing-actix-web's fields, but the target redacted
/// ([`redacted_target`]) and the client taken from the socket (forwarded headers are anyone's).
pub struct RedactedRootSpan;

/// Headers that name the app (LeanCloud's and its legacy spellings, Bmob's application id).
const APP_ID_HEADERS: &[&str] =
    &["x-lc-id", "x-avoscloud-application-id", "x-uluru-application-id", "x-bmob-application-id"];

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default();
        let user_agent = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let client = request.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
        // The app a request speaks for, where a header names it (an id, not a secret).
        let app_id = APP_ID_HEADERS
            .iter()
            .find_map(|h| request.headers().get(*h))
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            event = tracing::field::Empty,
            app_id = %app_id,
            http.method = %request.method(),
            http.target = %redacted_target(request.uri()),
            http.client_ip = %client,
            http.user_agent = %user_agent,
            request_id = %request_id,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        // A stable name for what was asked: the method and the route's pattern (ids and codes
        // stay placeholders), or "unmatched".
        if let Ok(response) = outcome {
            let request = response.request();
            let pattern = request.match_pattern().unwrap_or_else(|| "unmatched".into());
            span.record("event", format!("{} {pattern}", request.method()));
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// A dialect's error body for a status the framework chose (a refused CORS preflight, an
/// extractor's plain-text error), by the request's path within the route prefix.
pub type ErrorBody = fn(&str, StatusCode) -> HttpResponse;

/// The last word on every response:
/// - an error whose body the server did not write as JSON (or as a console page) gets the
///   dialect's JSON body, headers kept (actix-cors answers a refused preflight in plain text);
/// - nothing is cached unless the handler said so (`Cache-Control: no-store`): responses carry
///   keys, tokens and personal data;
/// - nothing may be framed (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`), nor sniffed.
pub async fn finish(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    error_body: ErrorBody,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // The path only: holding the request itself would stop inner middleware rewriting it.
    let prefix = req.app_data::<actix_web::web::Data<super::AppState>>().map(|s| s.config.route_prefix());
    let path = req.path().strip_prefix(prefix.as_deref().unwrap_or("")).unwrap_or(req.path()).to_string();
    let mut response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        Err(e) => {
            // Answered by actix from the error itself: give it the dialect's body and headers.
            let mut body = error_body(&path, e.as_response_error().status_code());
            secure_headers(body.headers_mut());
            return Err(actix_web::error::InternalError::from_response(e.to_string(), body).into());
        }
    };
    if needs_json_body(&response) {
        let (req, old) = response.into_parts();
        let mut new = error_body(&path, old.status());
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !new.headers().contains_key(name) {
                new.headers_mut().append(name.clone(), value.clone());
            }
        }
        response = ServiceResponse::new(req, new);
    }
    secure_headers(response.headers_mut());
    Ok(response)
}

fn secure_headers(headers: &mut actix_web::http::header::HeaderMap) {
    default_header(headers, header::CACHE_CONTROL, "no-store");
    default_header(headers, header::X_FRAME_OPTIONS, "DENY");
    default_header(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let policy = match headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()) {
        None => "frame-ancestors 'none'".to_string(),
        Some(p) if p.contains("frame-ancestors") => p.to_string(),
        Some(p) => format!("{p}; frame-ancestors 'none'"),
    };
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

fn default_header(headers: &mut actix_web::http::header::HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An error status whose body is not one the server wrote: no content type, or plain text.
fn needs_json_body(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    !(content_type.starts_with("application/json") || content_type.starts_with("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_keep_tabs_and_line_ends_but_no_other_control() {
        assert!(check_text("x", "line\none\ttab\r").is_ok());
        assert!(check_text("x", "ünïcødé 你好 😀").is_ok());
        for bad in ["a\0b", "\u{1}", "\u{1b}[31m", "\u{7f}", "\u{85}", "\u{9f}"] {
            assert!(check_text("x", bad).is_err(), "{bad:?}");
        }
        let body = serde_json::json!({"ok": "fine", "nested": {"deep": ["x", {"k": "a\u{0}b"}]}});
        assert_eq!(check_object(body.as_object().unwrap()).unwrap_err().place, "field nested");
        let body = serde_json::json!({"nested": {"bad\u{0}key": 1}});
        assert!(check_object(body.as_object().unwrap()).is_err());
        let body = serde_json::json!({"bad\u{0}key": 1});
        assert_eq!(check_object(body.as_object().unwrap()).unwrap_err().place, "a field name");
    }

    #[test]
    fn paths_and_queries() {
        let check = |uri: &str| check_request(&actix_web::test::TestRequest::with_uri(uri).to_http_request());
        assert!(check("/1.1/users/abc%00def").is_err());
        assert!(check("/1.1/users/abc%09def").is_err());
        assert!(check("/1.1/users/abc%FFdef").is_err());
        assert!(check("/1.1/users/%E4%BD%A0").is_ok());
        assert!(check("/1.1/login?username=a%00b").is_err());
        assert!(check("/1.1/login?a%01=b").is_err());
        assert!(check("/1.1/login?username=a+b&password=x%0Ay").is_ok());
        assert!(check("/1.1/users/me?session_token=abc").is_ok());
    }

    #[test]
    fn targets_are_redacted() {
        let t = |s: &str| redacted_target(&s.parse().unwrap());
        assert_eq!(t("/1.1/login?username=ann&password=hunter2"), "/1.1/login?username=[redacted]&password=[redacted]");
        assert_eq!(t("/1.1/verifySmsCode/816407"), "/1.1/verifySmsCode/[redacted]");
        assert_eq!(t("/1.1/resetPasswordBySmsCode/abc"), "/1.1/resetPasswordBySmsCode/[redacted]");
        assert_eq!(t("/pb//1.1//verifyMobilePhone//12"), "/pb//1.1//verifyMobilePhone//[redacted]");
        assert_eq!(t("/1.1/verify%53msCode/1"), "/1.1/verify%53msCode/[redacted]");
        assert_eq!(t("/v1/codes/123456"), "/v1/codes/[redacted]");
        assert_eq!(t("/delivery/reports/aliyun-cn/s3cr3t-token"), "/delivery/reports/aliyun-cn/[redacted]");
        assert_eq!(t("/delivery/reports/twilio"), "/delivery/reports/twilio");
        assert_eq!(t("/1.1/captchaImage?appId=x&token=secret"), "/1.1/captchaImage?appId=[redacted]&token=[redacted]");
        assert_eq!(t("/1.1/users/5f0a1b2c3d4e5f6a7b8c9d0e"), "/1.1/users/5f0a1b2c3d4e5f6a7b8c9d0e");
        assert_eq!(t("/x?weird%00key=1&novalue"), "/x?[redacted]&[redacted]");
    }
}
