//! Template and signature management (`/v1/templates`, `/v1/sign`), mapped onto the review core:
//! what JPush calls `temp_id` and `sign_id` are the items' numeric handles, and `status` reads
//! the review state (0 in review, 1 approved, 2 rejected). The operator still approves in the
//! console. Items made here get a generated name (`jpush_…`), which the console shows.

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};
use rand::Rng;
use serde_json::json;

use super::auth::JpAuth;
use super::body::{self, Body};
use super::error::JpError;
use crate::core::Error;
use crate::core::review::extras::{Extras, Image};
use crate::core::review::{Content, Item, State};
use crate::core::texts::templates::{Category, Placement};
use crate::http::AppState;

const OWNER: &str = "owner";
/// JPush's bound on a template, signature included (contract B.5).
const MAX_TEMPLATE_CHARS: usize = 350;
/// JPush's bounds on a signature's text.
const SIGN_CHARS: std::ops::RangeInclusive<usize> = 2..=8;

fn generated_name() -> String {
    format!("jpush_{:08x}", rand::rng().random::<u32>())
}

/// JPush's status of an item: its work in progress if any (in review or rejected), else 1 for
/// one that serves (approved; a disabled one reads as rejected: it does not serve).
pub fn status(item: &Item) -> i32 {
    match (&item.open, &item.live) {
        (Some(open), _) if open.state == State::Rejected => 2,
        (Some(_), _) => 0,
        (None, Some(live)) if live.state == State::Approved => 1,
        (None, Some(_)) => 2,
        (None, None) => 0,
    }
}

/// The newest content of an item: its work in progress, else what serves.
fn newest(item: &Item) -> Option<&Content> {
    item.open.as_ref().or(item.live.as_ref()).map(|r| &r.content)
}

fn type_of(category: Category) -> i64 {
    match category {
        Category::Verification => 1,
        Category::Notification => 2,
    }
}

/// `type`: 1 code, 2 notice; 3 (marketing) is not sent by Phonebase.
fn category(body: &Body) -> Result<Category, JpError> {
    match body::integer(body, "type").map_err(|_| JpError::wrong_template_type())? {
        Some(1) => Ok(Category::Verification),
        Some(2) => Ok(Category::Notification),
        Some(3) => Err(JpError::wrong_template_type().detail("marketing templates are not allowed")),
        _ => Err(JpError::wrong_template_type().detail("type must be 1 (code) or 2 (notice)")),
    }
}

/// The template's body, type, ttl and remark as the client sent them (JPush's own bounds).
fn template_fields(body: &Body) -> Result<(String, Category, Extras), JpError> {
    let text = body::string(body, "template")?.filter(|t| !t.trim().is_empty()).ok_or_else(JpError::template_empty)?;
    if text.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(JpError::template_too_long());
    }
    if text.contains(['【', '】']) {
        return Err(JpError::content_special_symbol());
    }
    let category = category(body)?;
    let ttl = body::integer(body, "ttl").map_err(|_| JpError::invalid_ttl())?;
    let ttl = match (category, ttl) {
        (Category::Verification, Some(t)) if (1..=86_400).contains(&t) => Some(t as i32),
        (Category::Verification, _) => {
            return Err(JpError::invalid_ttl().detail("a code template needs ttl 1 to 86400"));
        }
        (Category::Notification, _) => None,
    };
    let remark = body::string(body, "remark")?;
    if remark.as_ref().is_some_and(|r| r.chars().count() > crate::core::review::extras::MAX_REMARK_CHARS) {
        return Err(JpError::remark_too_long());
    }
    Ok((text, category, Extras { ttl_secs: ttl, remark, ..Default::default() }))
}

fn handle_of(path: &str, not_found: fn() -> JpError) -> Result<i64, JpError> {
    path.trim().parse::<i64>().ok().filter(|h| *h > 0).ok_or_else(not_found)
}

/// `POST /v1/templates`: `{template, type, ttl, remark}` → `{temp_id}`; submitted for review.
#[utoipa::path(post, path = "/v1/templates", tag = "JPush SMS", request_body = doc::JpTemplateRequest,
    responses((status = 200, body = doc::JpTempId), doc::Errors))]
pub async fn create_template(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let body = body::json(&req, payload, state.config.body_limit_bytes).await?;
    let (text, category, extras) = template_fields(&body)?;
    let item = auth
        .run(move |core, app| {
            let content = Content::Template { body: text, category, signature: None, captcha_required: false };
            let item = core.create_item(app, &generated_name(), content, true, OWNER)?;
            core.set_item_extras(app, &item.id, extras)?;
            Ok(item)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"temp_id": item.handle})))
}

/// `PUT /v1/templates/{temp_id}`: only a template whose review failed may change (50047).
#[utoipa::path(put, path = "/v1/templates/{temp_id}", tag = "JPush SMS", params(("temp_id" = String, Path)),
    request_body = doc::JpTemplateRequest, responses((status = 200, body = doc::JpTempId), doc::Errors))]
pub async fn update_template(
    auth: JpAuth,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let handle = handle_of(&path, JpError::invalid_temp_id)?;
    let body = body::json(&req, payload, state.config.body_limit_bytes).await?;
    let (text, category, extras) = template_fields(&body)?;
    auth.run(move |core, app| {
        let item = core.template_by_handle(app, handle)?;
        if status(&item) != 2 {
            return Err(Error::IllegalTransition { from: "unrejected", action: "change" });
        }
        let content = Content::Template { body: text, category, signature: None, captcha_required: false };
        core.edit_item(app, &item.id, content, true, OWNER)?;
        core.set_item_extras(app, &item.id, extras)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({"temp_id": handle})))
}

/// `GET /v1/templates/{temp_id}`
#[utoipa::path(get, path = "/v1/templates/{temp_id}", tag = "JPush SMS", params(("temp_id" = String, Path)),
    responses((status = 200, body = doc::JpTemplate), doc::Errors))]
pub async fn show_template(auth: JpAuth, path: web::Path<String>) -> Result<HttpResponse, JpError> {
    let handle = handle_of(&path, JpError::invalid_temp_id)?;
    let (item, extras) = auth
        .run(move |core, app| {
            let item = core.template_by_handle(app, handle)?;
            let extras = core.item_extras(app, &item.id)?;
            Ok((item, extras))
        })
        .await?;
    let Some(Content::Template { body, category, .. }) = newest(&item) else {
        return Err(JpError::invalid_temp_id());
    };
    Ok(HttpResponse::Ok().json(json!({
        "temp_id": handle,
        "template": body,
        "type": type_of(*category),
        "ttl": extras.ttl_secs,
        "remark": extras.remark,
        "status": status(&item),
    })))
}

/// `DELETE /v1/templates/{temp_id}`: 200, empty body.
#[utoipa::path(delete, path = "/v1/templates/{temp_id}", tag = "JPush SMS", params(("temp_id" = String, Path)),
    responses((status = 200, description = "deleted; no body"), doc::Errors))]
pub async fn delete_template(auth: JpAuth, path: web::Path<String>) -> Result<HttpResponse, JpError> {
    let handle = handle_of(&path, JpError::invalid_temp_id)?;
    auth.run(move |core, app| {
        let item = core.template_by_handle(app, handle)?;
        core.delete_item(app, &item.id)
    })
    .await?;
    Ok(super::empty_ok())
}

/// Sign errors say `sign_id` where the shared mapping says `temp_id`.
fn sign_error(e: Error) -> JpError {
    match e {
        Error::ItemNotFound | Error::TemplateNotFound => JpError::invalid_sign_id(),
        Error::IllegalTransition { .. } => JpError::signatures_in_audit(),
        other => other.into(),
    }
}

/// The multipart fields of a signature: `sign` (2–8 characters, no brackets), `type` 1–7,
/// `remark` (≤ 100), and an image.
async fn sign_fields(req: &HttpRequest, payload: web::Payload, state: &AppState) -> Result<(String, Extras), JpError> {
    let form = body::multipart(req, payload, state.config.body_limit_bytes).await?;
    let sign = form.get("sign").map(str::trim).unwrap_or("").to_string();
    if !SIGN_CHARS.contains(&sign.chars().count()) || sign.contains(['【', '】', '[', ']']) {
        return Err(JpError::invalid_signature().detail("2 to 8 characters, no brackets"));
    }
    let sign_type = match form.get("type").map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(
            t.parse::<i32>()
                .ok()
                .filter(|t| (1..=7).contains(t))
                .ok_or_else(|| JpError::invalid_body().detail("type must be 1 to 7"))?,
        ),
    };
    let remark = form.get("remark").map(str::to_string);
    if remark.as_ref().is_some_and(|r| r.chars().count() > crate::core::review::extras::MAX_REMARK_CHARS) {
        return Err(JpError::remark_too_long());
    }
    let image = match form.image {
        Some(i) => {
            if Image::sniffed(&i.bytes).is_none() || i.bytes.len() > crate::core::review::extras::MAX_IMAGE_BYTES {
                return Err(JpError::invalid_image());
            }
            Some(Image { content_type: i.content_type, bytes: i.bytes })
        }
        None => None,
    };
    Ok((sign, Extras { remark, sign_type, image, ..Default::default() }))
}

/// `POST /v1/sign` (multipart) → `{sign_id}`; submitted for review.
#[utoipa::path(post, path = "/v1/sign", tag = "JPush SMS", request_body(content = doc::JpSignRequest, content_type = "multipart/form-data"),
    responses((status = 200, body = doc::JpSignId), doc::Errors))]
pub async fn create_sign(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let (sign, extras) = sign_fields(&req, payload, &state).await?;
    let item = auth
        .run(move |core, app| {
            let content = Content::Signature { text: sign, placement: Placement::Start };
            let item = core.create_item(app, &generated_name(), content, true, OWNER)?;
            core.set_item_extras(app, &item.id, extras)?;
            Ok(item)
        })
        .await
        .map_err(sign_error)?;
    Ok(HttpResponse::Ok().json(json!({"sign_id": item.handle})))
}

/// `POST /v1/sign/{sign_id}` (multipart; an update is a POST): a new revision for review.
#[utoipa::path(post, path = "/v1/sign/{sign_id}", tag = "JPush SMS", params(("sign_id" = String, Path)),
    request_body(content = doc::JpSignRequest, content_type = "multipart/form-data"), responses((status = 200, body = doc::JpSignId), doc::Errors))]
pub async fn update_sign(
    auth: JpAuth,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let handle = handle_of(&path, JpError::invalid_sign_id)?;
    let (sign, extras) = sign_fields(&req, payload, &state).await?;
    auth.run(move |core, app| {
        let item = core.signature_by_handle(app, handle)?;
        let content = Content::Signature { text: sign, placement: Placement::Start };
        core.edit_item(app, &item.id, content, true, OWNER)?;
        core.set_item_extras(app, &item.id, extras)?;
        Ok(())
    })
    .await
    .map_err(sign_error)?;
    Ok(HttpResponse::Ok().json(json!({"sign_id": handle})))
}

/// `GET /v1/sign/{sign_id}`: `{sign_id, sign, status, is_default, use_status}`. Phonebase has no
/// default signature (a send without one uses the template's own), so `is_default` is 0;
/// `use_status` is 1 while the signature serves.
#[utoipa::path(get, path = "/v1/sign/{sign_id}", tag = "JPush SMS", params(("sign_id" = String, Path)),
    responses((status = 200, body = doc::JpSign), doc::Errors))]
pub async fn show_sign(auth: JpAuth, path: web::Path<String>) -> Result<HttpResponse, JpError> {
    let handle = handle_of(&path, JpError::invalid_sign_id)?;
    let item = auth.run(move |core, app| core.signature_by_handle(app, handle)).await.map_err(sign_error)?;
    let Some(Content::Signature { text, .. }) = newest(&item) else {
        return Err(JpError::invalid_sign_id());
    };
    let serving = item.live.as_ref().is_some_and(|l| l.state == State::Approved);
    Ok(HttpResponse::Ok().json(json!({
        "sign_id": handle,
        "sign": text,
        "status": status(&item),
        "is_default": 0,
        "use_status": i32::from(serving),
    })))
}

/// `DELETE /v1/sign/{sign_id}`: 200, empty body.
#[utoipa::path(delete, path = "/v1/sign/{sign_id}", tag = "JPush SMS", params(("sign_id" = String, Path)),
    responses((status = 200, description = "deleted; no body"), doc::Errors))]
pub async fn delete_sign(auth: JpAuth, path: web::Path<String>) -> Result<HttpResponse, JpError> {
    let handle = handle_of(&path, JpError::invalid_sign_id)?;
    auth.run(move |core, app| {
        let item = core.signature_by_handle(app, handle)?;
        core.delete_item(app, &item.id)
    })
    .await
    .map_err(sign_error)?;
    Ok(super::empty_ok())
}
