//! The console's pages. Handlers stay thin: every rule is a core call.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{ConsoleError, LOGIN_COOKIE, SESSION_COOKIE, Session, cookie, iso, registry, removal, session};
use crate::core::Core;
use crate::core::apps::NewApp;
use crate::core::credentials::Dialect;
use crate::core::operators::MessageFilter;
use crate::core::outbox::queue::Delivery;
use crate::core::phone::Phone;
use crate::core::review::Kind;
use crate::core::review::{Content, Decision, QueueEntry};
use crate::core::secrets::{Keys, ct_eq};
use crate::core::texts::templates::{self, Change, Encoding, Preview};
use crate::http::{AppState, blocking, query_params};

type Form = web::Form<HashMap<String, String>>;

pub(super) const PAGE_SIZE: i64 = 50;
/// The message log's last page number: 5 million messages back, far beyond its retention.
const MAX_PAGE: i64 = 100_000;

fn base(state: &AppState) -> String {
    state.config.route_prefix()
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther().insert_header(("Location", location)).finish()
}

/// Renders a page with what every page needs (base path, operator, CSRF token).
pub(super) fn render(
    state: &AppState,
    status: StatusCode,
    name: &str,
    session: Option<&Session>,
    mut ctx: Value,
) -> HttpResponse {
    ctx["base"] = json!(base(state));
    ctx["assets"] = json!(super::assets::version());
    if let Some(s) = session {
        ctx["operator"] = json!(s.operator.username);
        ctx["csrf"] = json!(s.csrf(state));
    }
    match registry().render(name, &ctx) {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("X-Frame-Options", "DENY"))
            // Everything a page uses comes from this server (the console works offline): no
            // inline script, no other origin.
            .insert_header((
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
            ))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, page = name, "console page failed to render");
            HttpResponse::InternalServerError().body("console page failed to render")
        }
    }
}

/// The session of a form POST, whose CSRF field must match it.
async fn form_session(req: &HttpRequest, form: &Form, state: &web::Data<AppState>) -> Result<Session, ConsoleError> {
    let s = session(req, state).await?;
    s.check_csrf(state, form.get("csrf").map(String::as_str))?;
    Ok(s)
}

pub(super) fn query(req: &HttpRequest, key: &str) -> Option<String> {
    query_params(req).into_iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
}

pub async fn home(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    session(&req, &state).await?;
    Ok(see_other(format!("{}/console/dashboard", base(&state))))
}

fn login_page(req: &HttpRequest, state: &AppState, status: StatusCode, error: Option<&str>) -> HttpResponse {
    let token = Keys::generate_secret();
    let mut response = render(state, status, "login", None, json!({"title": "Sign in", "csrf": token, "error": error}));
    let _ = response.add_cookie(&cookie(req, state, LOGIN_COOKIE, token));
    response
}

pub async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    login_page(&req, &state, StatusCode::OK, None)
}

pub async fn login(req: HttpRequest, form: Form, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let expected = req.cookie(LOGIN_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    let presented = form.get("csrf").map(String::as_str).unwrap_or_default();
    if expected.is_empty() || !ct_eq(&expected, presented) {
        return Ok(login_page(&req, &state, StatusCode::FORBIDDEN, Some("The form expired; please sign in again.")));
    }
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let core = state.core.clone();
    match blocking(move || core.operator_sign_in(&username, &password)).await {
        Ok((_, token)) => {
            let mut response = see_other(format!("{}/console/dashboard", base(&state)));
            let _ = response.add_cookie(&cookie(&req, &state, SESSION_COOKIE, token));
            let _ = response.add_removal_cookie(&removal(&state, LOGIN_COOKIE));
            Ok(response)
        }
        Err(e @ (crate::core::Error::WrongPassword | crate::core::Error::AccountLocked)) => {
            let e = ConsoleError::from(e);
            Ok(login_page(&req, &state, e.status, Some(&e.message)))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(req: HttpRequest, form: Form, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let s = form_session(&req, &form, &state).await?;
    let core = state.core.clone();
    blocking(move || core.operator_sign_out(&s.token)).await?;
    let mut response = see_other(format!("{}/console/login", base(&state)));
    let _ = response.add_removal_cookie(&removal(&state, SESSION_COOKIE));
    Ok(response)
}

fn size_json(p: &Preview) -> Value {
    let encoding = match p.size.encoding {
        Encoding::Gsm7 => "GSM-7",
        Encoding::Ucs2 => "UCS-2",
    };
    json!({"preview": p.text, "chars": p.size.chars, "parts": p.size.parts, "encoding": encoding})
}

/// What a reviewer sees of one pending revision: the preview with sample values, its part
/// count, and the changes against the live revision.
pub(super) fn queue_entry(core: &Core, entry: &QueueEntry) -> Value {
    let app = core.app(&entry.item.app_id).ok();
    let app_name = app.as_ref().map(|a| a.name.clone()).unwrap_or_default();
    let revision = &entry.revision;
    let mut v = json!({
        "kind": entry.item.kind.as_str(),
        "name": entry.item.name,
        "app_name": app_name,
        "revision_id": revision.id,
        "number": revision.number,
        "submitted": iso(revision.updated_at),
    });
    let (new_text, preview) = match &revision.content {
        Content::Template { body, category, signature, captcha_required } => {
            v["category"] = json!(category.as_str());
            v["signature"] = json!(signature);
            v["captcha_required"] = json!(captcha_required);
            (body.clone(), core.preview(&entry.item.app_id, body, signature.as_deref(), &Default::default()))
        }
        Content::Signature { text, placement } => {
            let signed = templates::sign("…", Some((text, *placement)));
            (text.clone(), Ok(Preview { size: templates::size(&signed), text: signed }))
        }
    };
    match preview {
        Ok(p) => merge(&mut v, size_json(&p)),
        Err(e) => v["preview_error"] = json!(e.to_string()),
    }
    let old_text = entry.item.live.as_ref().map(|live| match &live.content {
        Content::Template { body, .. } => body.clone(),
        Content::Signature { text, .. } => text.clone(),
    });
    if let Some(old) = old_text {
        let diff: Vec<Value> = templates::diff(&old, &new_text)
            .into_iter()
            .map(|c| match c {
                Change::Same(t) => json!({"same": true, "text": t}),
                Change::Added(t) => json!({"added": true, "text": t}),
                Change::Removed(t) => json!({"removed": true, "text": t}),
            })
            .collect();
        v["diff"] = json!(diff);
    }
    // What the owner said beside the text: a remark, a code lifetime, the signature's proof.
    if let Some(extras) = app.and_then(|a| core.item_extras(&a, &entry.item.id).ok()) {
        v["remark"] = json!(extras.remark);
        v["ttl_secs"] = json!(extras.ttl_secs);
        v["sign_type"] = json!(extras.sign_type);
        if let Some(image) = extras.image {
            use base64::Engine;
            let data = base64::engine::general_purpose::STANDARD.encode(&image.bytes);
            v["image"] = json!(format!("data:{};base64,{data}", image.content_type));
        }
    }
    v
}

fn merge(target: &mut Value, more: Value) {
    if let (Value::Object(t), Value::Object(m)) = (target, more) {
        t.extend(m);
    }
}

/// Revisions of the review queue on one page.
const REVIEW_PAGE_SIZE: usize = 20;
/// The longest queue the page filters and pages through (oldest first).
const REVIEW_QUEUE_MAX: i64 = 1_000;

/// The review queue, oldest first, filtered by app and kind and paged (`?app=&kind=&page=`).
pub async fn review_queue(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let s = session(&req, &state).await?;
    let app_filter = query(&req, "app");
    let kind_filter = match query(&req, "kind") {
        None => None,
        Some(k) => Some(
            [Kind::Template, Kind::Signature]
                .into_iter()
                .find(|x| x.as_str() == k)
                .ok_or_else(|| ConsoleError::new(StatusCode::BAD_REQUEST, "kind is template or signature."))?,
        ),
    };
    let page = match query(&req, "page") {
        None => 1,
        Some(p) => p.parse::<usize>().ok().filter(|p| (1..=MAX_PAGE as usize).contains(p)).ok_or_else(|| {
            ConsoleError::new(StatusCode::BAD_REQUEST, format!("page must be a number from 1 to {MAX_PAGE}."))
        })?,
    };
    let core = state.core.clone();
    let wanted_app = app_filter.clone();
    let (entries, total, names) = blocking(move || {
        let queue: Vec<QueueEntry> = core
            .review_queue(REVIEW_QUEUE_MAX)?
            .into_iter()
            .filter(|e| wanted_app.as_deref().is_none_or(|a| e.item.app_id == a))
            .filter(|e| kind_filter.is_none_or(|k| e.item.kind == k))
            .collect();
        let shown: Vec<Value> = queue
            .iter()
            .skip((page - 1) * REVIEW_PAGE_SIZE)
            .take(REVIEW_PAGE_SIZE)
            .map(|e| queue_entry(&core, e))
            .collect();
        Ok((shown, queue.len(), core.app_names()?))
    })
    .await?;
    let link = |page: usize| {
        let mut pairs: Vec<(String, String)> =
            query_params(&req).into_iter().filter(|(k, v)| k != "page" && k != "notice" && !v.is_empty()).collect();
        pairs.push(("page".into(), page.to_string()));
        let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{}/console/review?{q}", base(&state))
    };
    let apps: Vec<Value> = names
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "selected": app_filter.as_deref() == Some(id.as_str())}))
        .collect();
    let kinds: Vec<Value> = ["template", "signature"]
        .iter()
        .map(|k| json!({"value": k, "selected": query(&req, "kind").as_deref() == Some(*k)}))
        .collect();
    let pages = total.div_ceil(REVIEW_PAGE_SIZE).max(1);
    let ctx = json!({
        "title": "Review", "nav_review": true, "entries": entries, "notice": query(&req, "notice"),
        "apps": apps, "kinds": kinds, "total": total, "page": page, "pages": pages,
        "filtered": app_filter.is_some() || query(&req, "kind").is_some(),
        "prev": (page > 1).then(|| link(page - 1)), "next": (page < pages).then(|| link(page + 1)),
    });
    Ok(render(&state, StatusCode::OK, "review", Some(&s), ctx))
}

pub async fn decide(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: Form,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let s = form_session(&req, &form, &state).await?;
    let (revision, decision) = path.into_inner();
    let decision = match decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject { reason: form.get("reason").cloned().unwrap_or_default() },
        _ => return Err(ConsoleError::new(StatusCode::NOT_FOUND, "Not found.")),
    };
    let verb = if decision == Decision::Approve { "approved" } else { "rejected" };
    let core = state.core.clone();
    let actor = s.operator.actor();
    let item = blocking(move || core.review(&revision, decision, &actor)).await?;
    let notice = format!("{} {} {verb}", item.kind.as_str(), item.name);
    let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("notice", &notice).finish();
    Ok(see_other(format!("{}/console/review?{query}", base(&state))))
}

pub async fn apps(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let s = session(&req, &state).await?;
    let core = state.core.clone();
    let apps = blocking(move || core.list_apps()).await?;
    let apps: Vec<Value> =
        apps.iter().map(|a| json!({"id": a.id, "name": a.name, "created": iso(a.created_at)})).collect();
    Ok(render(&state, StatusCode::OK, "apps", Some(&s), json!({"title": "Apps", "nav_apps": true, "apps": apps})))
}

pub async fn create_app(
    req: HttpRequest,
    form: Form,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    form_session(&req, &form, &state).await?;
    let name = form.get("name").cloned().unwrap_or_default();
    let core = state.core.clone();
    let app = blocking(move || core.create_app(NewApp { name, ..Default::default() })).await?;
    Ok(see_other(format!("{}/console/apps/{}?notice=created", base(&state), app.id)))
}

async fn app_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    s: &Session,
    id: String,
    status: StatusCode,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let user_query = query(req, "user");
    let core = state.core.clone();
    let wanted = user_query.clone();
    let (app, user, upstream, balance, items) = blocking(move || {
        let app = core.app(&id)?;
        let user = match wanted {
            Some(q) => core.find_user(&app, &q)?,
            None => None,
        };
        let mut items = core.items(&id, Kind::Template)?;
        items.extend(core.items(&id, Kind::Signature)?);
        Ok((app, user, core.upstream_status(&id)?, core.balance(&id)?, items))
    })
    .await?;
    let (core, target) = (state.core.clone(), app.id.clone());
    let own_providers: Vec<Value> = blocking(move || core.app_providers(&target))
        .await?
        .iter()
        .map(|p| json!({"name": p.name, "kind": p.kind, "provider": p.qualified, "secrets": p.secrets_set.join(", ")}))
        .collect();
    let state_of = |r: Option<&crate::core::review::Revision>| r.map(|r| r.state.as_str());
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({"handle": i.handle, "name": i.name, "kind": i.kind.as_str(),
                   "live": state_of(i.live.as_ref()), "open": state_of(i.open.as_ref())})
        })
        .collect();
    let settings = serde_json::to_string_pretty(&app.settings).unwrap_or_default();
    let user = user.map(|u| {
        json!({"id": u.id, "username": u.username, "phone": u.mobile_phone, "verified": u.mobile_verified,
               "email": u.email, "created": iso(u.created_at)})
    });
    let notice = match query(req, "notice").as_deref() {
        Some("created") => Some("App created."),
        Some("rotated") => Some("New keys issued; the old ones no longer work."),
        Some("saved") => Some("Settings saved."),
        Some("upstream") => Some("Upstream saved."),
        Some("upstream-off") => Some("Lazy migration switched off; the upstream's keys are forgotten."),
        Some("balance") => Some("Balance saved."),
        Some("providers") => Some("The app's providers are saved."),
        _ => None,
    };
    let ctx = json!({
        "title": app.name, "nav_apps": true,
        "app": {"id": app.id, "name": app.name, "app_key": app.app_key, "master_key": app.master_key,
                "bmob": app.credentials.bmob, "jpush": app.credentials.jpush, "mincloud": app.credentials.mincloud},
        "settings": settings, "user": user, "query": user_query, "error": error, "notice": notice,
        "upstream": upstream, "balance": balance, "items": items, "own_providers": own_providers,
    });
    Ok(render(state, status, "app", Some(s), ctx))
}

pub async fn app(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let s = session(&req, &state).await?;
    app_page(&req, &state, &s, path.into_inner(), StatusCode::OK, None).await
}

pub async fn rotate_keys(
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    form_session(&req, &form, &state).await?;
    let id = path.into_inner();
    let core = state.core.clone();
    // Without `dialect`, LeanCloud's appKey and masterKey; with it, that dialect's keys.
    let dialect = match form.get("dialect").map(String::as_str) {
        None | Some("") => None,
        Some(d) => Some(
            Dialect::ALL
                .into_iter()
                .find(|x| x.as_str() == d)
                .ok_or_else(|| crate::core::Error::InvalidParameter(format!("unknown dialect {d:?}")))?,
        ),
    };
    let app = blocking(move || match dialect {
        Some(d) => core.rotate_credentials(&id, d),
        None => core.rotate_app_keys(&id),
    })
    .await?;
    Ok(see_other(format!("{}/console/apps/{}?notice=rotated", base(&state), app.id)))
}

pub async fn update_settings(
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let s = form_session(&req, &form, &state).await?;
    let id = path.into_inner();
    let patch: Value = match serde_json::from_str(form.get("settings").map(String::as_str).unwrap_or("")) {
        Ok(v) => v,
        Err(e) => {
            return app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(format!("Not JSON: {e}"))).await;
        }
    };
    let core = state.core.clone();
    let target = id.clone();
    match blocking(move || core.update_app_settings(&target, patch)).await {
        Ok(_) => Ok(see_other(format!("{}/console/apps/{id}?notice=saved", base(&state)))),
        Err(e @ crate::core::Error::InvalidParameter(_)) => {
            app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The app's own SMS providers: `providers` is a JSON array shaped like `[[delivery.providers]]`
/// (secrets left out keep their stored values; `[]` goes back to the configured providers).
pub async fn update_providers(
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let s = form_session(&req, &form, &state).await?;
    let id = path.into_inner();
    let raw = form.get("providers").map(|v| v.trim().to_string()).unwrap_or_default();
    let list = match serde_json::from_str::<Value>(if raw.is_empty() { "[]" } else { &raw }) {
        Ok(Value::Array(items)) => items,
        _ => {
            let e = "the providers are a JSON array of objects, [] for none".to_string();
            return app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(e)).await;
        }
    };
    let (core, target) = (state.core.clone(), id.clone());
    match blocking(move || core.set_app_providers(&target, list)).await {
        Ok(_) => Ok(see_other(format!("{}/console/apps/{id}?notice=providers", base(&state)))),
        Err(e @ crate::core::Error::InvalidParameter(_)) => {
            app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The app's balance of billable parts: `add` tops it up, `set` sets it, `unlimited` removes it.
pub async fn update_balance(
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let s = form_session(&req, &form, &state).await?;
    let id = path.into_inner();
    let number = |name: &str| -> Result<Option<i64>, String> {
        match form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| format!("{name} must be a whole number of parts")),
        }
    };
    let change = match (number("add"), number("set"), form.get("unlimited").is_some()) {
        (Err(e), _, _) | (_, Err(e), _) => Err(e),
        (Ok(Some(n)), _, _) => Ok((Some(n), None, false)),
        (_, Ok(Some(n)), _) => Ok((None, Some(n), false)),
        (_, _, true) => Ok((None, None, true)),
        _ => Err("give a number of parts to add or to set, or make the app unlimited".to_string()),
    };
    let (add, set, unlimited) = match change {
        Ok(c) => c,
        Err(e) => return app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(e)).await,
    };
    let core = state.core.clone();
    let target = id.clone();
    let result = blocking(move || match (add, set, unlimited) {
        (Some(n), _, _) => core.top_up(&target, n).map(Some),
        (_, Some(n), _) => core.set_balance(&target, Some(n)),
        _ => core.set_balance(&target, None),
    })
    .await;
    match result {
        Ok(_) => Ok(see_other(format!("{}/console/apps/{id}?notice=balance", base(&state)))),
        Err(e @ crate::core::Error::InvalidParameter(_)) => {
            app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Lazy migration from LeanCloud: the form sets the upstream (every field needed; the keys are
/// never shown back, so they are typed again to change anything), `off` switches it off.
pub async fn update_upstream(
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let s = form_session(&req, &form, &state).await?;
    let id = path.into_inner();
    let field = |name: &str| form.get(name).map(|v| v.trim().to_string()).unwrap_or_default();
    let off = form.get("off").is_some();
    let change = if off {
        None
    } else {
        match crate::core::accounts::upstream::parse_until(&field("until")) {
            Ok(until) => Some(crate::core::accounts::upstream::NewUpstream {
                server_url: field("server_url"),
                app_id: field("upstream_app_id"),
                app_key: field("upstream_app_key"),
                master_key: field("upstream_master_key"),
                until,
            }),
            Err(e) => return app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(e.to_string())).await,
        }
    };
    let core = state.core.clone();
    let target = id.clone();
    match blocking(move || core.set_upstream(&target, change)).await {
        Ok(_) => {
            let notice = if off { "upstream-off" } else { "upstream" };
            Ok(see_other(format!("{}/console/apps/{id}?notice={notice}", base(&state))))
        }
        Err(e @ crate::core::Error::InvalidParameter(_)) => {
            app_page(&req, &state, &s, id, StatusCode::BAD_REQUEST, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The log's filters from the query string; a number is brought to E.164.
pub(super) fn message_filter(req: &HttpRequest) -> Result<(MessageFilter, i64), ConsoleError> {
    let to = match query(req, "to") {
        Some(raw) => Some(Phone::parse(&raw).map_err(ConsoleError::from)?.e164().to_string()),
        None => None,
    };
    let page = match query(req, "page") {
        None => 1,
        Some(p) => p.parse::<i64>().ok().filter(|p| (1..=MAX_PAGE).contains(p)).ok_or_else(|| {
            ConsoleError::new(StatusCode::BAD_REQUEST, format!("page must be a number from 1 to {MAX_PAGE}."))
        })?,
    };
    let filter =
        MessageFilter { app_id: query(req, "app"), to, template: query(req, "template"), status: query(req, "status") };
    Ok((filter, page))
}

pub async fn messages(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let s = session(&req, &state).await?;
    let raw_filter = json!({"app": query(&req, "app"), "to": query(&req, "to"), "template": query(&req, "template")});
    let status_filter = query(&req, "status");
    let statuses: Vec<Value> = Delivery::LOGGED
        .iter()
        .map(|d| json!({"value": d.as_str(), "selected": status_filter.as_deref() == Some(d.as_str())}))
        .collect();
    let core = state.core.clone();
    let names: HashMap<String, String> = blocking(move || core.app_names()).await?.into_iter().collect();
    let app_filter = query(&req, "app");
    let mut apps: Vec<Value> = names
        .iter()
        .map(|(id, name)| json!({"id": id, "name": name, "selected": app_filter.as_deref() == Some(id.as_str())}))
        .collect();
    apps.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let filtered = ["app", "to", "template", "status"].iter().any(|k| query(&req, k).is_some());
    let (filter, page) = match message_filter(&req) {
        Ok(f) => f,
        Err(e) => {
            let ctx = json!({"title": "Messages", "nav_messages": true, "filter": raw_filter, "statuses": statuses,
                             "apps": apps, "filtered": filtered, "error": e.message, "page": 1});
            return Ok(render(&state, StatusCode::BAD_REQUEST, "messages", Some(&s), ctx));
        }
    };
    let core = state.core.clone();
    let mut rows = blocking(move || core.message_log(&filter, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let link = |page: i64| {
        let mut pairs: Vec<(String, String)> =
            query_params(&req).into_iter().filter(|(k, v)| k != "page" && !v.is_empty()).collect();
        pairs.push(("page".into(), page.to_string()));
        let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        format!("{}/console/messages?{q}", base(&state))
    };
    let core = state.core.clone();
    let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
    let attempts = blocking(move || core.attempts_of(&ids)).await?;
    let messages: Vec<Value> = rows
        .iter()
        .zip(attempts)
        .map(|(m, attempts)| {
            let attempts: Vec<Value> = attempts
                .iter()
                .map(|a| {
                    json!({"at": iso(a.at), "provider": a.provider, "provider_id": a.provider_message_id,
                           "outcome": a.outcome, "code": a.error_code, "error": a.error, "latency": a.latency_ms})
                })
                .collect();
            let app = names.get(&m.app_id).cloned().unwrap_or_else(|| m.app_id.clone());
            json!({"attempts": attempts,"created": iso(m.created_at), "to": m.to_phone, "app": app, "app_id": m.app_id,
                   "template": m.template, "channel": m.channel, "status": m.status, "chars": m.chars, "parts": m.parts,
                   "sent": m.sent_at.map(iso), "delivered": m.delivered_at.map(iso), "text": m.body_redacted,
                   "handle": m.handle, "cost": m.charged, "refunded": m.refunded, "send_at": m.send_at.map(iso)})
        })
        .collect();
    let ctx = json!({
        "title": "Messages", "nav_messages": true, "filter": raw_filter, "statuses": statuses, "apps": apps,
        "filtered": filtered, "messages": messages, "page": page,
        "prev": (page > 1).then(|| link(page - 1)), "next": more.then(|| link(page + 1)),
    });
    Ok(render(&state, StatusCode::OK, "messages", Some(&s), ctx))
}

/// Each configured provider over the last hour: its circuit (shared by all instances), attempts, success
/// rate (accepted of attempted) and mean latency.
pub async fn providers(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ConsoleError> {
    let s = session(&req, &state).await?;
    let core = state.core.clone();
    let since = core.clock.now_naive() - chrono::TimeDelta::hours(1);
    let breaker = state.breaker.clone();
    let health = blocking(move || {
        let health = core.provider_health(since)?;
        // The circuit is shared by every instance: read from the database.
        Ok(health.into_iter().map(|h| (breaker.state(&h.provider), h)).collect::<Vec<_>>())
    })
    .await?;
    let providers: Vec<Value> = health
        .iter()
        .map(|(circuit, h)| {
            let rate = (h.attempts > 0).then(|| format!("{:.0}%", h.accepted as f64 * 100.0 / h.attempts as f64));
            json!({"name": h.provider, "circuit": circuit.as_str(), "attempts": h.attempts,
                   "accepted": h.accepted, "delivered": h.delivered, "undelivered": h.undelivered,
                   "retries": h.retries, "failed": h.failed, "success_rate": rate,
                   "latency": (h.attempts > 0).then(|| format!("{} ms", h.mean_latency_ms))})
        })
        .collect();
    let ctx = json!({"title": "Providers", "nav_providers": true, "providers": providers});
    Ok(render(&state, StatusCode::OK, "providers", Some(&s), ctx))
}
