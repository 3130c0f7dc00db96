//! SMS codes and notices (contract A.4): `requestSmsCode`, `verifySmsCode` (code in the path or in
//! the body), `querySms/:smsId`, `requestSms`.

use super::openapi as doc;
use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{NaiveDateTime, TimeDelta};
use serde_json::{Value, json};

use super::auth::Bmob;
use super::error::BmobError;
use crate::core::codes::{CodeRequest, CustomText};
use crate::core::message::{Channel, Purpose};
use crate::http::kit::caller::Caller;
use crate::http::kit::fields::{self, Body};
use crate::http::{AppState, json_object_body};

/// `POST /1/requestSmsCode {"mobilePhoneNumber", "template"?, "validate_token"?}` →
/// `{"smsId": <integer>}`. An empty template (bmobpy always sends one) is the default text.
#[utoipa::path(post, path = "/1/requestSmsCode", tag = "Bmob", request_body = doc::BmobRequestSmsCode,
    responses((status = 200, body = doc::BmobSmsId), doc::Errors))]
pub async fn request_sms_code(
    caller: Caller<Bmob>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = fields::phone(&body, "mobilePhoneNumber")?;
    let template = fields::string(&body, "template")?.filter(|t| !t.trim().is_empty());
    let request = CodeRequest {
        phone,
        purpose: Purpose::Generic,
        channel: Channel::Sms,
        ttl_minutes: None,
        ttl_seconds: None,
        code: None,
        name: None,
        op: None,
        origin: caller.origin(fields::string(&body, "validate_token")?),
        user_id: None,
        // A code goes out through a verification template only.
        custom: CustomText { template, strict_category: true, ..Default::default() },
    };
    let issued = caller.run(move |core, app| core.send_code(app, request)).await?;
    Ok(HttpResponse::Ok().json(json!({"smsId": issued.handle})))
}

/// `POST /1/verifySmsCode/<code> {"mobilePhoneNumber"}` and `POST /1/verifySmsCode
/// {"mobilePhoneNumber", "smsCode"}` → `{"msg":"ok"}`; the code is spent.
#[utoipa::path(post, path = "/1/verifySmsCode/{code}", tag = "Bmob", params(("code" = String, Path)),
    request_body = doc::BmobVerifySmsCode, responses((status = 200, body = doc::BmobMsg), doc::Errors))]
pub async fn verify_sms_code(
    caller: Caller<Bmob>,
    code: Option<web::Path<String>>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    let body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = fields::phone(&body, "mobilePhoneNumber")?;
    let code = match code {
        Some(code) => code.into_inner(),
        None => fields::code(&body, "smsCode")?.ok_or_else(|| BmobError::param_needed("smsCode"))?,
    };
    caller.run(move |core, app| core.verify_code(app, &phone, &code, Purpose::POSSESSION)).await?;
    Ok(HttpResponse::Ok().json(json!({"msg": "ok"})))
}

/// `GET /1/querySms/<smsId>`, also spelt `/1/querySms/:<smsId>` (the docs) and with a trailing
/// slash → `{"sms_state": "SENDING"|"SUCCESS"|"FAIL", "verify_state": bool}`.
#[utoipa::path(get, path = "/1/querySms/{sms_id}", tag = "Bmob", params(("sms_id" = String, Path, description = "the smsId, also written `:<smsId>`")),
    responses((status = 200, body = doc::BmobSmsState), doc::Errors))]
pub async fn query_sms(caller: Caller<Bmob>, sms_id: web::Path<String>) -> Result<HttpResponse, BmobError> {
    let raw = sms_id.into_inner();
    let text = raw.strip_prefix(':').unwrap_or(&raw);
    let not_found =
        || BmobError::coded(10018, format!("smsId:{} not found", text.chars().take(24).collect::<String>()));
    let handle: i64 = text.parse().map_err(|_| not_found())?;
    let status = caller.run(move |core, app| core.message_status(app, handle)).await.map_err(|e| match e {
        crate::core::Error::UnknownMessage => not_found(),
        e => e.into(),
    })?;
    use crate::core::outbox::queue::Delivery;
    let state = match status.delivery {
        Delivery::Queued => "SENDING",
        // A test number's code sends nothing; the app expects it to have gone through.
        Delivery::Sent | Delivery::Delivered | Delivery::Skipped => "SUCCESS",
        Delivery::Failed | Delivery::Cancelled => "FAIL",
    };
    Ok(HttpResponse::Ok().json(json!({"sms_state": state, "verify_state": status.verified})))
}

/// How far ahead a scheduled `requestSms` must be (Bmob: 10020 otherwise).
const MIN_SCHEDULE_AHEAD: TimeDelta = TimeDelta::minutes(10);

/// A `sendTime` (`YYYY-mm-dd HH:ii:ss`, Beijing time) as UTC: 10019 when malformed, 10020 when
/// less than ten minutes ahead.
fn send_time(text: &str, now: NaiveDateTime) -> Result<NaiveDateTime, BmobError> {
    let local = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .map_err(|_| BmobError::coded(10019, "sendTime format is not 2006-01-02 15:04:05"))?;
    let at = local - TimeDelta::hours(8);
    if at < now + MIN_SCHEDULE_AHEAD {
        return Err(BmobError::coded(10020, "sendTime must out of 10 minutes from now"));
    }
    Ok(at)
}

/// The template variables of `requestSms`'s `content` object: strings, numbers and booleans as
/// text.
fn template_vars(content: &serde_json::Map<String, Value>) -> Result<BTreeMap<String, String>, BmobError> {
    content
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return Err(BmobError::coded(10013, format!("sms content illegal: {k} must be a string."))),
            };
            Ok((k.clone(), text))
        })
        .collect()
}

/// `POST /1/requestSms {"mobilePhoneNumber", "template", "content": {vars}, "sendTime"?}`: a
/// notice through an approved template → `{"smsId"}`. The legacy free-text form (`content` a
/// string) is refused with 10021: Phonebase sends only reviewed texts.
#[utoipa::path(post, path = "/1/requestSms", tag = "Bmob", request_body = doc::BmobRequestSms,
    responses((status = 200, body = doc::BmobSmsId), doc::Errors))]
pub async fn request_sms(
    caller: Caller<Bmob>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BmobError> {
    use crate::core::outbox::notices::{NoticeRequest, TemplateRef};
    let body: Body = json_object_body(payload, state.config.body_limit_bytes).await?;
    let phone = fields::phone(&body, "mobilePhoneNumber")?;
    let vars = match body.get("content") {
        Some(Value::String(_)) => return Err(BmobError::coded(10021, "该应用不允许调用自定义短信接口")),
        Some(Value::Object(content)) => template_vars(content)?,
        None | Some(Value::Null) => BTreeMap::new(),
        Some(_) => return Err(BmobError::coded(10013, "sms content illegal.")),
    };
    let template = fields::string(&body, "template")?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| BmobError::param_needed("template"))?;
    let send_at = match fields::string(&body, "sendTime")?.filter(|t| !t.trim().is_empty()) {
        Some(text) => Some(send_time(&text, state.core.clock.now_naive())?),
        None => None,
    };
    let request = NoticeRequest {
        phone,
        template: TemplateRef::Name(template),
        sign: None,
        vars,
        origin: caller.origin(fields::string(&body, "validate_token")?),
        send_at,
    };
    let issued = caller.run(move |core, app| core.send_notice(app, request)).await?;
    Ok(HttpResponse::Ok().json(json!({"smsId": issued.handle})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_times_are_beijing_time_and_ten_minutes_ahead() {
        // 2024-04-12 06:18:57 UTC is 14:18:57 in Beijing.
        let now = chrono::DateTime::from_timestamp(1_712_902_737, 0).unwrap().naive_utc();
        let at = send_time("2024-04-12 14:29:57", now).unwrap();
        assert_eq!(at, now + TimeDelta::minutes(11));
        assert_eq!(send_time("2024-04-12 14:27:57", now).unwrap_err().code, 10020);
        assert_eq!(send_time("2024-04-12T14:29:57", now).unwrap_err().code, 10019);
        assert_eq!(send_time("tomorrow", now).unwrap_err().code, 10019);
    }
}
