//! Scheduled sends (`/v1/schedule`, `/v1/schedule/batch`): read, replaced and cancelled by their
//! `schedule_id`; the messages wait in the outbox until `send_time` (Beijing time, as JPush's
//! clients write it) and survive restarts.

use super::openapi as doc;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta};
use serde_json::{Value, json};

use super::auth::JpAuth;
use super::body::{self, Body};
use super::error::JpError;
use super::messages::{batch, failed, not_rejected, notice, template};
use crate::core::outbox::schedules::{NewSchedule, Schedule, ScheduleOutcome};
use crate::http::AppState;

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// JPush's times are China Standard Time (UTC+8, no daylight saving); the server keeps UTC.
const CST_OFFSET_HOURS: i64 = 8;

/// `send_time` as UTC: `yyyy-MM-dd HH:mm:ss` in China time; 50027 when absent or malformed (the
/// core refuses a time in the past with the same code).
fn send_time(body: &Body) -> Result<NaiveDateTime, JpError> {
    let raw = body::string(body, "send_time")
        .map_err(|_| JpError::invalid_send_time())?
        .ok_or_else(JpError::invalid_send_time)?;
    let local = NaiveDateTime::parse_from_str(raw.trim(), TIME_FORMAT).map_err(|_| JpError::invalid_send_time())?;
    Ok(local - TimeDelta::hours(CST_OFFSET_HOURS))
}

fn shown_time(utc: NaiveDateTime) -> String {
    (utc + TimeDelta::hours(CST_OFFSET_HOURS)).format(TIME_FORMAT).to_string()
}

fn schedule_id(path: &str) -> Result<String, JpError> {
    let id = path.trim();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(JpError::invalid_schedule_id());
    }
    Ok(id.to_string())
}

/// A single schedule's body: `{send_time, mobile, temp_id, sign_id?, temp_para?}`.
async fn single(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    auth: &JpAuth,
) -> Result<NewSchedule, JpError> {
    let body = body::json(req, payload, state.config.body_limit_bytes).await?;
    let send_at = send_time(&body)?;
    let notice = notice(&body)?;
    not_rejected(&template(auth, notice.temp_id).await?)?;
    Ok(NewSchedule {
        template: notice.temp_id,
        sign: notice.sign_id,
        send_at,
        tag: None,
        batch: false,
        recipients: vec![notice.recipient],
        origin: auth.origin(None),
    })
}

/// A batch schedule's body, and the recipients refused before anything was queued (as listed).
async fn batched(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    auth: &JpAuth,
) -> Result<(NewSchedule, Listed), JpError> {
    let body = body::json(req, payload, state.config.body_limit_bytes).await?;
    let send_at = send_time(&body)?;
    let batch = batch(&body)?;
    not_rejected(&template(auth, batch.temp_id).await?)?;
    let mut recipients = Vec::new();
    let mut refused = Vec::new();
    let mut raws = Vec::new();
    for (raw, parsed) in batch.recipients {
        match parsed {
            Ok(r) => {
                recipients.push(r);
                raws.push(raw);
            }
            Err(e) => refused.push(failed(&raw, &e)),
        }
    }
    if recipients.is_empty() {
        return Err(JpError::recipients_empty().detail("no recipient has a valid number"));
    }
    let new = NewSchedule {
        template: batch.temp_id,
        sign: batch.sign_id,
        send_at,
        tag: batch.tag,
        batch: true,
        recipients,
        origin: auth.origin(None),
    };
    Ok((new, Listed { refused, raws }))
}

/// What a batch answer lists beside the core's outcome: the recipients refused while reading the
/// body, and the others as sent (in the order the core saw them).
struct Listed {
    refused: Vec<Value>,
    raws: Vec<Value>,
}

/// The batch answer: counts and the refused recipients (parsing refusals first, then the core's).
fn batch_answer(outcome: ScheduleOutcome, listed: Listed) -> Value {
    let Listed { mut refused, raws } = listed;
    for (position, error) in outcome.failures {
        let raw = raws.get(position).cloned().unwrap_or(Value::Null);
        refused.push(failed(&raw, &JpError::from(error)));
    }
    json!({
        "schedule_id": outcome.schedule.id,
        "success_count": outcome.schedule.recipients.len(),
        "failure_count": refused.len(),
        "failure_recipients": refused,
    })
}

/// `POST /v1/schedule` → `{schedule_id}`.
#[utoipa::path(post, path = "/v1/schedule", tag = "JPush SMS", request_body = doc::JpSchedule,
    responses((status = 200, body = doc::JpScheduleId), doc::Errors))]
pub async fn create(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let new = single(&req, payload, &state, &auth).await?;
    let outcome = auth.run(move |core, app| core.create_schedule(app, new)).await?;
    Ok(HttpResponse::Ok().json(json!({"schedule_id": outcome.schedule.id})))
}

/// `POST /v1/schedule/batch` → `{schedule_id, success_count, failure_count, failure_recipients}`.
#[utoipa::path(post, path = "/v1/schedule/batch", tag = "JPush SMS", request_body = doc::JpScheduleBatch,
    responses((status = 200, body = doc::JpScheduledBatch), doc::Errors))]
pub async fn create_batch(
    auth: JpAuth,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let (new, listed) = batched(&req, payload, &state, &auth).await?;
    let outcome = auth.run(move |core, app| core.create_schedule(app, new)).await?;
    Ok(HttpResponse::Ok().json(batch_answer(outcome, listed)))
}

/// `PUT /v1/schedule/{schedule_id}`: replaces a schedule whose time has not come (50029 after).
#[utoipa::path(put, path = "/v1/schedule/{schedule_id}", tag = "JPush SMS", params(("schedule_id" = String, Path)),
    request_body = doc::JpSchedule, responses((status = 200, body = doc::JpScheduleId), doc::Errors))]
pub async fn update(
    auth: JpAuth,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let id = schedule_id(&path)?;
    let new = single(&req, payload, &state, &auth).await?;
    let outcome = auth.run(move |core, app| core.replace_schedule(app, &id, new)).await?;
    Ok(HttpResponse::Ok().json(json!({"schedule_id": outcome.schedule.id})))
}

/// `PUT /v1/schedule/batch/{schedule_id}`
#[utoipa::path(put, path = "/v1/schedule/batch/{schedule_id}", tag = "JPush SMS", params(("schedule_id" = String, Path)),
    request_body = doc::JpScheduleBatch, responses((status = 200, body = doc::JpScheduledBatch), doc::Errors))]
pub async fn update_batch(
    auth: JpAuth,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JpError> {
    let id = schedule_id(&path)?;
    let (new, listed) = batched(&req, payload, &state, &auth).await?;
    let outcome = auth.run(move |core, app| core.replace_schedule(app, &id, new)).await?;
    Ok(HttpResponse::Ok().json(batch_answer(outcome, listed)))
}

fn schedule_json(s: &Schedule) -> Value {
    let recipients: Vec<Value> = s
        .recipients
        .iter()
        .map(|r| {
            // JPush's clients send mainland numbers without +86 and read them back the same way.
            let mobile = r.phone.strip_prefix("+86").unwrap_or(&r.phone);
            json!({"msg_id": r.handle.to_string(), "mobile": mobile, "temp_para": r.vars})
        })
        .collect();
    json!({
        "schedule_id": s.id,
        "send_time": shown_time(s.send_at),
        "temp_id": s.template,
        "recipients": recipients,
    })
}

/// `GET /v1/schedule/{schedule_id}`
#[utoipa::path(get, path = "/v1/schedule/{schedule_id}", tag = "JPush SMS", params(("schedule_id" = String, Path)),
    responses((status = 200, body = doc::JpScheduleShown), doc::Errors))]
pub async fn show(auth: JpAuth, path: web::Path<String>) -> Result<HttpResponse, JpError> {
    let id = schedule_id(&path)?;
    let schedule = auth.run(move |core, app| core.schedule(app, &id)).await?;
    Ok(HttpResponse::Ok().json(schedule_json(&schedule)))
}

/// `DELETE /v1/schedule/{schedule_id}`: 200, empty body; 50029 once its time has come.
#[utoipa::path(delete, path = "/v1/schedule/{schedule_id}", tag = "JPush SMS", params(("schedule_id" = String, Path)),
    responses((status = 200, description = "deleted; no body"), doc::Errors))]
pub async fn delete(auth: JpAuth, path: web::Path<String>) -> Result<HttpResponse, JpError> {
    let id = schedule_id(&path)?;
    auth.run(move |core, app| core.delete_schedule(app, &id)).await?;
    Ok(super::empty_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_china_time() {
        let body = json!({"send_time": "2026-12-01 08:30:00"});
        let utc = send_time(body.as_object().unwrap()).unwrap();
        assert_eq!(utc.to_string(), "2026-12-01 00:30:00");
        assert_eq!(shown_time(utc), "2026-12-01 08:30:00");
        for bad in [json!({}), json!({"send_time": "2026-12-01"}), json!({"send_time": 5})] {
            assert_eq!(send_time(bad.as_object().unwrap()).unwrap_err().code, 50027);
        }
    }
}
