//! Template messages: `POST /v1/messages`, `POST /v1/messages/batch` (up to 1000 recipients, a
//! result each), and the balance `GET /v1/accounts/app`.

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::auth::JpAuth;
use super::body::{self, Body};
use super::error::JpError;
use crate::core::Error;
use crate::core::codes::Origin;
use crate::core::outbox::notices::MAX_BATCH;
use crate::core::outbox::schedules::Recipient;
use crate::core::review::{Item, State};
use crate::http::AppState;

/// The template `temp_id` names (50013 when there is none).
pub(super) async fn template(auth: &JpAuth, temp_id: i64) -> Result<Item, JpError> {
    auth.run(move |core, app| core.template_by_handle(app, temp_id)).await.map_err(|e| match e {
        Error::ItemNotFound => JpError::invalid_temp_id(),
        other => other.into(),
    })
}

/// A template whose review failed is 50021 (the core only knows it is not approved, 50020);
/// everything else about it (approved, its type) the core checks on the send.
pub(super) fn not_rejected(item: &Item) -> Result<(), JpError> {
    let serving = item.live.as_ref().is_some_and(|l| l.state == State::Approved);
    match &item.open {
        Some(open) if !serving && open.state == State::Rejected => Err(JpError::template_not_pass()),
        _ => Ok(()),
    }
}

/// One notice: `{mobile, temp_id, sign_id?, temp_para?}`.
pub(super) struct Notice {
    pub temp_id: i64,
    pub sign_id: Option<i64>,
    pub recipient: Recipient,
}

pub(super) fn notice(body: &Body) -> Result<Notice, JpError> {
    Ok(Notice {
        temp_id: body::temp_id(body)?,
        sign_id: body::sign_id(body)?,
        recipient: Recipient { phone: body::mobile(body)?, vars: body::temp_para(body)? },
    })
}

/// `POST /v1/messages` → `{msg_id}` (a string, which every client reads).
#[utoipa::path(post, path = "/v1/messages", tag = "JPush SMS", request_body = doc::JpSend,
    responses((status = 200, body = doc::JpMsgId), doc::Errors))]
pub async fn send(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let body = body::json(&req, payload, state.config.body_limit_bytes).await?;
    let notice = notice(&body)?;
    let origin = auth.origin(None);
    not_rejected(&template(&auth, notice.temp_id).await?)?;
    let issued = auth
        .run(move |core, app| {
            core.send_notice(app, notice_request(notice.temp_id, notice.sign_id, notice.recipient, origin, None))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"msg_id": issued.handle.to_string()})))
}

pub(super) fn notice_request(
    temp_id: i64,
    sign_id: Option<i64>,
    recipient: Recipient,
    origin: Origin,
    send_at: Option<chrono::NaiveDateTime>,
) -> crate::core::outbox::notices::NoticeRequest {
    use crate::core::outbox::notices::{NoticeRequest, SignRef, TemplateRef};
    NoticeRequest {
        phone: recipient.phone,
        template: TemplateRef::Handle(temp_id),
        sign: sign_id.map(SignRef::Handle),
        vars: recipient.vars,
        origin,
        send_at,
    }
}

/// A batch: `{temp_id, sign_id?, tag?, recipients: [{mobile, temp_para?}]}`; a recipient whose
/// number is refused is reported beside the others, not a failure of the whole.
pub(super) struct Batch {
    pub temp_id: i64,
    pub sign_id: Option<i64>,
    pub tag: Option<String>,
    /// Each recipient as sent, and what was wrong with it.
    pub recipients: Vec<(Value, std::result::Result<Recipient, JpError>)>,
}

pub(super) fn batch(body: &Body) -> Result<Batch, JpError> {
    let temp_id = body::temp_id(body)?;
    let sign_id = body::sign_id(body)?;
    let tag = body::string(body, "tag")?;
    let list = match body.get("recipients") {
        None | Some(Value::Null) => return Err(JpError::recipients_empty()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(JpError::invalid_body().detail("recipients must be a list")),
    };
    if list.is_empty() {
        return Err(JpError::recipients_empty());
    }
    if list.len() > MAX_BATCH {
        return Err(JpError::too_many_recipients());
    }
    let recipients = list
        .iter()
        .map(|v| {
            let parsed = match v {
                Value::Object(r) => {
                    body::mobile(r).and_then(|phone| Ok(Recipient { phone, vars: body::temp_para(r)? }))
                }
                _ => Err(JpError::invalid_body().detail("a recipient is an object")),
            };
            (v.clone(), parsed)
        })
        .collect();
    Ok(Batch { temp_id, sign_id, tag, recipients })
}

/// A failed recipient as JPush lists it: the error code as a string.
pub(super) fn failed(raw: &Value, error: &JpError) -> Value {
    let mut entry = json!({
        "error_code": error.code.to_string(),
        "error_message": error.message,
        "mobile": raw.get("mobile").cloned().unwrap_or(Value::Null),
    });
    if let Some(p) = raw.get("temp_para") {
        entry["temp_para"] = p.clone();
    }
    entry
}

/// `POST /v1/messages/batch` → `{success_count, failure_count, recipients: [...]}`.
#[utoipa::path(post, path = "/v1/messages/batch", tag = "JPush SMS", request_body = doc::JpSendBatch,
    responses((status = 200, body = doc::JpBatchSent), doc::Errors))]
pub async fn send_batch(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let body = body::json(&req, payload, state.config.body_limit_bytes).await?;
    let batch = batch(&body)?;
    let origin = auth.origin(None);
    let (temp_id, sign_id) = (batch.temp_id, batch.sign_id);
    let requests: Vec<_> = batch
        .recipients
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .map(|r| notice_request(temp_id, sign_id, r, origin.clone(), None))
        .collect();
    not_rejected(&template(&auth, temp_id).await?)?;
    let results = if requests.is_empty() {
        Vec::new()
    } else {
        auth.run(move |core, app| core.send_notices(app, requests)).await?
    };
    let mut results = results.into_iter();
    let (mut ok, mut failures) = (0, 0);
    let mut listed = Vec::new();
    for (raw, parsed) in batch.recipients {
        let outcome = match parsed {
            Ok(_) => results
                .next()
                .unwrap_or_else(|| Err(Error::Internal(anyhow::anyhow!("a result per recipient"))))
                .map_err(JpError::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(issued) => {
                ok += 1;
                listed.push(json!({"msg_id": issued.handle.to_string(), "mobile": raw.get("mobile")}));
            }
            Err(e) => {
                failures += 1;
                listed.push(failed(&raw, &e));
            }
        }
    }
    Ok(HttpResponse::Ok().json(json!({"success_count": ok, "failure_count": failures, "recipients": listed})))
}

/// `GET /v1/accounts/app`: the app's balance of billable parts. Phonebase keeps one balance for
/// every kind of message, so `app_balance` carries it and the per-kind fields are `null` (not
/// allocated separately); an unlimited app has `null` everywhere.
#[utoipa::path(get, path = "/v1/accounts/app", tag = "JPush SMS", responses((status = 200, body = doc::JpBalance), doc::Errors))]
pub async fn app_balance(auth: JpAuth) -> Result<HttpResponse, JpError> {
    let balance = auth.run(move |core, app| core.balance(&app.id)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "app_balance": balance,
        "app_voice": Value::Null,
        "app_industry": Value::Null,
        "app_market": Value::Null,
    })))
}
