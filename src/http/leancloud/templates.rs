//! The app owner's templates and signatures, with the master key (paths in the README):
//! `/1.1/sms/{templates|signatures}` to list and create, `/<id>` to read and edit,
//! `/<id>/submit`, `/<id>/history`, `/<id>/disable`, `/<id>/enable`, and
//! `/1.1/sms/templates/preview` to render a body with sample variables and see its part count.

use super::openapi as doc;
use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::LcAuth;
use super::error::LcError;
use super::users::iso;
use crate::core::review::{Content, Event, Item, Kind, Revision};
use crate::core::texts::templates::{Category, Encoding, Placement, Preview};
use crate::http::kit::fields::{self, Body};
use crate::http::{AppState, json_object_body};

const OWNER: &str = "owner";

fn master(auth: &LcAuth) -> Result<(), LcError> {
    if auth.master { Ok(()) } else { Err(LcError::templates_need_master()) }
}

fn kind(segment: &str) -> Result<Kind, LcError> {
    match segment {
        "templates" => Ok(Kind::Template),
        "signatures" => Ok(Kind::Signature),
        _ => Err(LcError::not_found()),
    }
}

/// The item `id` of the caller's app, when it is of the route's kind: a route acts only on items
/// of its own kind, so a signature's id under `/sms/templates/` is not found (and the reverse).
async fn own_item(auth: &LcAuth, kind: Kind, id: &str) -> Result<Item, LcError> {
    let id = id.to_string();
    let item = auth.run(move |core, app| core.item(&app.id, &id)).await?;
    if item.kind != kind {
        return Err(crate::core::Error::ItemNotFound.into());
    }
    Ok(item)
}

fn boolean(body: &Body, key: &str) -> Result<Option<bool>, LcError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(LcError::invalid_parameter(format!("{key} must be true or false"))),
    }
}

fn required(body: &Body, key: &str) -> Result<String, LcError> {
    fields::string(body, key)?.ok_or_else(|| LcError::invalid_parameter(format!("{key} is required")))
}

fn content(kind: Kind, body: &Body) -> Result<Content, LcError> {
    Ok(match kind {
        Kind::Template => Content::Template {
            body: required(body, "body")?,
            category: Category::parse(fields::string(body, "category")?.as_deref().unwrap_or("verification"))?,
            signature: fields::string(body, "signature")?,
            captcha_required: boolean(body, "captchaRequired")?.unwrap_or(false),
        },
        Kind::Signature => Content::Signature {
            text: required(body, "text")?,
            placement: Placement::parse(fields::string(body, "placement")?.as_deref().unwrap_or("start"))?,
        },
    })
}

pub fn revision_json(r: &Revision) -> Value {
    let mut v = json!({
        "id": r.id,
        "revision": r.number,
        "state": r.state.as_str(),
        "reason": r.reason,
        "createdAt": iso(r.created_at),
        "updatedAt": iso(r.updated_at),
    });
    match &r.content {
        Content::Template { body, category, signature, captcha_required } => {
            v["body"] = json!(body);
            v["category"] = json!(category.as_str());
            v["signature"] = json!(signature);
            v["captchaRequired"] = json!(captcha_required);
        }
        Content::Signature { text, placement } => {
            v["text"] = json!(text);
            v["placement"] = json!(placement.as_str());
        }
    }
    v
}

pub fn item_json(item: &Item) -> Value {
    json!({
        "objectId": item.id,
        "name": item.name,
        "handle": item.handle,
        "kind": item.kind.as_str(),
        "live": item.live.as_ref().map(revision_json),
        "pending": item.open.as_ref().map(revision_json),
        "createdAt": iso(item.created_at),
        "updatedAt": iso(item.updated_at),
    })
}

fn event_json(e: &Event) -> Value {
    json!({
        "revision": e.revision,
        "revisionId": e.revision_id,
        "from": e.from.map(|s| s.as_str()),
        "to": e.to.as_str(),
        "by": e.actor,
        "reason": e.reason,
        "at": iso(e.at),
    })
}

pub fn preview_json(p: &Preview) -> Value {
    json!({
        "text": p.text,
        "chars": p.size.chars,
        "parts": p.size.parts,
        "encoding": match p.size.encoding { Encoding::Gsm7 => "gsm7", Encoding::Ucs2 => "ucs2" },
    })
}

/// `GET /sms/{kind}`
#[utoipa::path(get, path = "/1.1/sms/{kind}", tag = "LeanCloud", params(("kind" = doc::LcKind, Path)),
    responses((status = 200, body = doc::LcItems), doc::Errors))]
pub async fn list(auth: LcAuth, path: web::Path<String>) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let kind = kind(&path)?;
    let items = auth.run(move |core, app| core.items(&app.id, kind)).await?;
    Ok(HttpResponse::Ok().json(json!({"results": items.iter().map(item_json).collect::<Vec<_>>()})))
}

/// `POST /sms/{kind}`: `{name, body, category, signature, captchaRequired}` or `{name, text,
/// placement}`; submitted for review at once unless `"submit": false`.
#[utoipa::path(post, path = "/1.1/sms/{kind}", tag = "LeanCloud", params(("kind" = doc::LcKind, Path)),
    request_body = doc::LcItemRequest, responses((status = 201, body = doc::LcItem), doc::Errors))]
pub async fn create(
    auth: LcAuth,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let kind = kind(&path)?;
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let name = required(&body, "name")?;
    let content = content(kind, &body)?;
    let submit = boolean(&body, "submit")?.unwrap_or(true);
    let item = auth.run(move |core, app| core.create_item(app, &name, content, submit, OWNER)).await?;
    Ok(HttpResponse::Created().json(item_json(&item)))
}

/// `GET /sms/{kind}/{id}`
#[utoipa::path(get, path = "/1.1/sms/{kind}/{id}", tag = "LeanCloud", params(("kind" = doc::LcKind, Path), ("id" = String, Path)),
    responses((status = 200, body = doc::LcItem), doc::Errors))]
pub async fn get(auth: LcAuth, path: web::Path<(String, String)>) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let (kind_segment, id) = path.into_inner();
    let item = own_item(&auth, kind(&kind_segment)?, &id).await?;
    Ok(HttpResponse::Ok().json(item_json(&item)))
}

/// `PUT /sms/{kind}/{id}`: new content; an approved item keeps serving until this is approved.
#[utoipa::path(put, path = "/1.1/sms/{kind}/{id}", tag = "LeanCloud", params(("kind" = doc::LcKind, Path), ("id" = String, Path)),
    request_body = doc::LcItemRequest, responses((status = 200, body = doc::LcItem), doc::Errors))]
pub async fn edit(
    auth: LcAuth,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let (kind_segment, id) = path.into_inner();
    let kind = kind(&kind_segment)?;
    own_item(&auth, kind, &id).await?;
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let content = content(kind, &body)?;
    let submit = boolean(&body, "submit")?.unwrap_or(true);
    let item = auth.run(move |core, app| core.edit_item(app, &id, content, submit, OWNER)).await?;
    Ok(HttpResponse::Ok().json(item_json(&item)))
}

/// `POST /sms/{kind}/{id}/{action}`: `submit`, `disable` or `enable`.
#[utoipa::path(post, path = "/1.1/sms/{kind}/{id}/{action}", tag = "LeanCloud",
    params(("kind" = doc::LcKind, Path), ("id" = String, Path), ("action" = doc::LcAction, Path)),
    responses((status = 200, body = doc::LcItem), doc::Errors))]
pub async fn act(auth: LcAuth, path: web::Path<(String, String, String)>) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let (kind_segment, id, action) = path.into_inner();
    if !matches!(action.as_str(), "submit" | "disable" | "enable") {
        return Err(LcError::not_found());
    }
    own_item(&auth, kind(&kind_segment)?, &id).await?;
    let item = match action.as_str() {
        "submit" => auth.run(move |core, app| core.submit_item(app, &id, OWNER)).await?,
        "disable" => auth.run(move |core, app| core.set_item_disabled(&app.id, &id, true, OWNER)).await?,
        "enable" => auth.run(move |core, app| core.set_item_disabled(&app.id, &id, false, OWNER)).await?,
        _ => return Err(LcError::not_found()),
    };
    Ok(HttpResponse::Ok().json(item_json(&item)))
}

/// `GET /sms/{kind}/{id}/history`: every revision and every review step.
#[utoipa::path(get, path = "/1.1/sms/{kind}/{id}/history", tag = "LeanCloud", params(("kind" = doc::LcKind, Path), ("id" = String, Path)),
    responses((status = 200, body = doc::LcHistory), doc::Errors))]
pub async fn history(auth: LcAuth, path: web::Path<(String, String)>) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let (kind_segment, id) = path.into_inner();
    own_item(&auth, kind(&kind_segment)?, &id).await?;
    let (revisions, events) =
        auth.run(move |core, app| Ok((core.item_revisions(&app.id, &id)?, core.item_history(&app.id, &id)?))).await?;
    Ok(HttpResponse::Ok().json(json!({
        "revisions": revisions.iter().map(revision_json).collect::<Vec<_>>(),
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
    })))
}

/// `POST /sms/templates/preview`: `{body, signature?, variables?}` or `{template, ...}` (a
/// template's name: its newest revision) → `{text, chars, parts, encoding}`.
#[utoipa::path(post, path = "/1.1/sms/templates/preview", tag = "LeanCloud", request_body = doc::LcPreviewRequest,
    responses((status = 200, body = doc::LcPreview), doc::Errors))]
pub async fn preview(auth: LcAuth, payload: web::Payload, state: web::Data<AppState>) -> Result<HttpResponse, LcError> {
    master(&auth)?;
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let mut variables = BTreeMap::new();
    match body.get("variables") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(LcError::invalid_parameter(format!("variable {k} must be a string or a number"))),
                };
                variables.insert(k.clone(), text);
            }
        }
        Some(_) => return Err(LcError::invalid_parameter("variables must be an object")),
    }
    let text = fields::string(&body, "body")?;
    let template = fields::string(&body, "template")?;
    let signature = fields::string(&body, "signature")?;
    let preview = auth
        .run(move |core, app| {
            let (text, signature) = match (text, template) {
                (Some(text), _) => (text, signature),
                (None, Some(name)) => {
                    let item = core
                        .item_by_name(&app.id, Kind::Template, &name)?
                        .ok_or(crate::core::Error::TemplateNotFound)?;
                    match item.open.or(item.live).map(|r| r.content) {
                        Some(Content::Template { body, signature: own, .. }) => (body, signature.or(own)),
                        _ => return Err(crate::core::Error::TemplateNotFound),
                    }
                }
                (None, None) => {
                    return Err(crate::core::Error::InvalidParameter("body or template is required".into()));
                }
            };
            core.preview(&app.id, &text, signature.as_deref(), &variables)
        })
        .await?;
    Ok(HttpResponse::Ok().json(preview_json(&preview)))
}
