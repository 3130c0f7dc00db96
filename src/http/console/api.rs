//! The operator's JSON API: the same session cookie as the pages; every POST after sign-in
//! carries the session's CSRF token in `X-CSRF-Token`.

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::pages::{PAGE_SIZE, message_filter, queue_entry};
use super::{ConsoleError, SESSION_COOKIE, Session, cookie, iso, session};
use crate::core::apps::{App, NewApp};
use crate::core::review::Decision;
use crate::http::{AppState, blocking};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    username: String,
    password: String,
}

/// `POST /console/api/session` `{username, password}` → `{operator, csrfToken}` and the cookie.
#[utoipa::path(post, path = "/console/api/session", tag = "Console API", security(()), request_body = SignIn,
    responses((status = 200, body = doc::ConsoleSignedIn), doc::Errors))]
pub async fn sign_in(
    req: HttpRequest,
    body: web::Json<SignIn>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let SignIn { username, password } = body.into_inner();
    let core = state.core.clone();
    let (operator, token) = blocking(move || core.operator_sign_in(&username, &password)).await.map_err(json_err)?;
    let csrf = state.core.csrf_token(&token);
    let mut response = HttpResponse::Ok().json(json!({"operator": operator.username, "csrfToken": csrf}));
    let _ = response.add_cookie(&cookie(&req, &state, SESSION_COOKIE, token));
    Ok(response)
}

/// The session of an API call; a POST must carry the session's CSRF token in `X-CSRF-Token`.
async fn api_session(req: &HttpRequest, state: &web::Data<AppState>, post: bool) -> Result<Session, ConsoleError> {
    let s = session(req, state).await.map_err(ConsoleError::as_json)?;
    if post {
        let presented = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
        s.check_csrf(state, presented).map_err(ConsoleError::as_json)?;
    }
    Ok(s)
}

fn json_err(e: crate::core::Error) -> ConsoleError {
    ConsoleError::from(e).as_json()
}

fn app_json(app: &App) -> serde_json::Value {
    json!({"appId": app.id, "name": app.name, "appKey": app.app_key, "masterKey": app.master_key,
           "bmob": app.credentials.bmob, "jpush": app.credentials.jpush, "mincloud": app.credentials.mincloud,
           "settings": app.settings, "createdAt": iso(app.created_at)})
}

/// `GET /console/api/apps`
#[utoipa::path(get, path = "/console/api/apps", tag = "Console API", security(("ConsoleSession" = [])),
    responses((status = 200, body = doc::ConsoleApps), doc::Errors))]
pub async fn apps(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    api_session(&req, &state, false).await?;
    let core = state.core.clone();
    let apps = blocking(move || core.list_apps()).await.map_err(json_err)?;
    Ok(HttpResponse::Ok().json(json!({"results": apps.iter().map(app_json).collect::<Vec<_>>()})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewAppBody {
    name: String,
}

/// `POST /console/api/apps` `{name}`
#[utoipa::path(post, path = "/console/api/apps", tag = "Console API", request_body = NewAppBody,
    responses((status = 201, body = doc::ConsoleApp), doc::Errors))]
pub async fn create_app(
    req: HttpRequest,
    body: web::Json<NewAppBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    api_session(&req, &state, true).await?;
    let core = state.core.clone();
    let name = body.into_inner().name;
    let app = blocking(move || core.create_app(NewApp { name, ..Default::default() })).await.map_err(json_err)?;
    Ok(HttpResponse::Created().json(app_json(&app)))
}

/// `POST /console/api/apps/<id>/rotate`: new appKey and masterKey.
#[utoipa::path(post, path = "/console/api/apps/{id}/rotate", tag = "Console API", params(("id" = String, Path)),
    responses((status = 200, body = doc::ConsoleApp), doc::Errors))]
pub async fn rotate_keys(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    api_session(&req, &state, true).await?;
    let core = state.core.clone();
    let id = path.into_inner();
    let app = blocking(move || core.rotate_app_keys(&id)).await.map_err(json_err)?;
    Ok(HttpResponse::Ok().json(app_json(&app)))
}

/// `PATCH /console/api/apps/<id>/settings`: a JSON patch merged into the settings (limits, policy...).
#[utoipa::path(patch, path = "/console/api/apps/{id}/settings", tag = "Console API", params(("id" = String, Path)),
    request_body(content = std::collections::BTreeMap<String, serde_json::Value>, description = "merged into the settings (limits, policy...)"),
    responses((status = 200, body = doc::ConsoleApp), doc::Errors))]
pub async fn update_settings(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<serde_json::Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    api_session(&req, &state, true).await?;
    let core = state.core.clone();
    let id = path.into_inner();
    let patch = body.into_inner();
    let app = blocking(move || core.update_app_settings(&id, patch)).await.map_err(json_err)?;
    Ok(HttpResponse::Ok().json(app_json(&app)))
}

/// `GET /console/api/apps/<id>/users?q=<phone or username>`
#[utoipa::path(get, path = "/console/api/apps/{id}/users", tag = "Console API", security(("ConsoleSession" = [])),
    params(("id" = String, Path), ("q" = Option<String>, Query, description = "a phone number or a username")),
    responses((status = 200, body = doc::ConsoleResults), doc::Errors))]
pub async fn find_user(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    api_session(&req, &state, false).await?;
    let q = crate::http::query_params(&req).into_iter().find(|(k, _)| k == "q").map(|(_, v)| v).unwrap_or_default();
    let core = state.core.clone();
    let id = path.into_inner();
    let user = blocking(move || {
        let app = core.app(&id)?;
        core.find_user(&app, &q)
    })
    .await
    .map_err(json_err)?;
    let results: Vec<_> = user
        .iter()
        .map(|u| {
            json!({"objectId": u.id, "username": u.username, "mobilePhoneNumber": u.mobile_phone,
                   "mobilePhoneVerified": u.mobile_verified, "email": u.email, "createdAt": iso(u.created_at)})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"results": results})))
}

/// `GET /console/api/queue`: pending revisions with preview, part count and diff.
#[utoipa::path(get, path = "/console/api/queue", tag = "Console API", security(("ConsoleSession" = [])),
    responses((status = 200, body = doc::ConsoleResults), doc::Errors))]
pub async fn queue(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    api_session(&req, &state, false).await?;
    let core = state.core.clone();
    let entries = blocking(move || {
        let queue = core.review_queue(100)?;
        Ok(queue.iter().map(|e| queue_entry(&core, e)).collect::<Vec<_>>())
    })
    .await
    .map_err(json_err)?;
    Ok(HttpResponse::Ok().json(json!({"results": entries})))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DecisionBody {
    decision: String,
    reason: Option<String>,
}

/// `POST /console/api/review/<revision>` `{decision: "approve"|"reject", reason}`.
#[utoipa::path(post, path = "/console/api/review/{revision}", tag = "Console API", params(("revision" = String, Path)),
    request_body = DecisionBody, responses((status = 200, body = doc::ConsoleDecided), doc::Errors))]
pub async fn decide(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<DecisionBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let s = api_session(&req, &state, true).await?;
    let decision = match body.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject { reason: body.reason.clone().unwrap_or_default() },
        _ => {
            return Err(
                ConsoleError::new(actix_web::http::StatusCode::BAD_REQUEST, "decision is approve or reject").as_json()
            );
        }
    };
    let core = state.core.clone();
    let actor = s.operator.actor();
    let revision = path.into_inner();
    let item = blocking(move || core.review(&revision, decision, &actor)).await.map_err(json_err)?;
    let state_name = item.open.as_ref().or(item.live.as_ref()).map(|r| r.state.as_str());
    Ok(HttpResponse::Ok()
        .json(json!({"objectId": item.id, "name": item.name, "kind": item.kind.as_str(), "state": state_name})))
}

/// `GET /console/api/messages?app=&to=&template=&status=&page=`: 50 a page, newest first.
#[utoipa::path(get, path = "/console/api/messages", tag = "Console API", security(("ConsoleSession" = [])),
    params(("app" = Option<String>, Query), ("to" = Option<String>, Query), ("template" = Option<String>, Query),
        ("status" = Option<String>, Query), ("page" = Option<i64>, Query, description = "from 1")),
    responses((status = 200, body = doc::ConsoleMessages), doc::Errors))]
pub async fn messages(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    api_session(&req, &state, false).await?;
    let (filter, page) = message_filter(&req).map_err(ConsoleError::as_json)?;
    let core = state.core.clone();
    let (rows, names) = blocking(move || {
        let rows = core.message_log(&filter, (page - 1) * PAGE_SIZE, PAGE_SIZE)?;
        Ok((rows, core.app_names()?.into_iter().collect::<std::collections::HashMap<_, _>>()))
    })
    .await
    .map_err(json_err)?;
    let results: Vec<_> = rows
        .iter()
        .map(|m| {
            json!({"id": m.id, "app": m.app_id, "appName": names.get(&m.app_id), "to": m.to_phone, "template": m.template, "channel": m.channel,
                   "status": m.status, "chars": m.chars, "parts": m.parts, "attempts": m.attempts,
                   "handle": m.handle, "cost": m.charged, "refunded": m.refunded, "sendAt": m.send_at.map(iso),
                   "createdAt": iso(m.created_at), "sentAt": m.sent_at.map(iso), "deliveredAt": m.delivered_at.map(iso),
                   "text": m.body_redacted})
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"results": results, "page": page})))
}
