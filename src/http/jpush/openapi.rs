//! The JPush SMS dialect's part of the OpenAPI document: its paths (each handler carries its own
//! `#[utoipa::path]`), the bodies its handlers read field by field written down as schemas with
//! the contract's names (`../shared/contracts/other-dialects.md`, part B), HTTP Basic
//! authentication, and its error codes, built from the same mapping the handlers answer with.

// The request shapes below are never built: the handlers read bodies leniently, key by key; these
// types only name the keys for the document.
#![allow(dead_code)]

use std::collections::BTreeMap;

use utoipa::openapi::security::HttpAuthScheme;
use utoipa::openapi::{self, RefOr, Response};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::error::JpError;
use crate::http::kit::openapi::{
    default_security, describe_tag, error_responses, error_table, http, prefix_operation_ids,
};

pub const TAG: &str = "JPush SMS";

#[derive(OpenApi)]
#[openapi(
    paths(
        super::codes::send_code,
        super::codes::send_voice_code,
        super::codes::verify,
        super::messages::send,
        super::messages::send_batch,
        super::messages::app_balance,
        super::schedules::create,
        super::schedules::create_batch,
        super::schedules::update,
        super::schedules::update_batch,
        super::schedules::show,
        super::schedules::delete,
        super::templates::create_template,
        super::templates::update_template,
        super::templates::show_template,
        super::templates::delete_template,
        super::templates::create_sign,
        super::templates::update_sign,
        super::templates::show_sign,
        super::templates::delete_sign,
    ),
    components(schemas(JpErrorBody)),
    tags((name = "JPush SMS", description = "")),
    modifiers(&Document)
)]
pub struct JPushApi;

/// The security scheme and the error table.
struct Document;

impl Modify for Document {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        prefix_operation_ids(doc, "jpush");
        default_security(doc, &[&["JPushBasic"]]);
        doc.components.get_or_insert_with(Default::default).add_security_scheme(
            "JPushBasic",
            http(HttpAuthScheme::Basic, "`Authorization: Basic base64(appKey:masterSecret)`, the app's JPush keys."),
        );
        // An internal error is one generic 500 (and would be logged as one here).
        let examples =
            crate::core::Error::examples().into_iter().filter(|e| !matches!(e, crate::core::Error::Internal(_)));
        let rows = examples.map(|e| {
            let e = JpError::from(e);
            (e.status.as_u16(), e.code.to_string(), e.message)
        });
        describe_tag(
            doc,
            TAG,
            format!(
                "JPush SMS's REST API under `/v1`, as its official clients call it. Every error is \
                 `{{\"error\": {{\"code\", \"message\"}}}}` with a non-2xx status (a code check adds \
                 `\"is_valid\": false`):\n\n{}",
                error_table("code", rows)
            ),
        );
    }
}

/// JPush's `4XX`/`5XX` answers.
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        error_responses("JpErrorBody", "JPush's error: `error.code` (see the tag's table) and a message.")
    }
}

/// JPush's error body.
#[derive(ToSchema)]
pub struct JpErrorBody {
    error: JpErrorDetail,
    /// Only on `POST /v1/codes/{msg_id}/valid`: `false`.
    is_valid: Option<bool>,
}

/// The code and message of a JPush error.
#[derive(ToSchema)]
pub struct JpErrorDetail {
    code: i32,
    message: String,
}

/// `POST /v1/codes`.
#[derive(ToSchema)]
pub struct JpSendCode {
    /// A mobile number (string or number).
    mobile: String,
    /// A code template's id (type 1).
    temp_id: i64,
    /// A signature's id; 0 or absent: the template's own.
    sign_id: Option<i64>,
}

/// `POST /v1/voice_codes`.
#[derive(ToSchema)]
pub struct JpSendVoiceCode {
    mobile: String,
    /// 4–8 digits; absent: the server makes one.
    code: Option<String>,
    /// 0 Chinese, 1 English, 2 Cantonese.
    voice_lang: Option<i64>,
    /// Seconds.
    ttl: Option<i64>,
}

/// `{msg_id}`: the message's handle (a string).
#[derive(ToSchema)]
pub struct JpMsgId {
    msg_id: String,
}

/// `POST /v1/codes/{msg_id}/valid`.
#[derive(ToSchema)]
pub struct JpVerify {
    code: String,
}

/// `{"is_valid": true}`.
#[derive(ToSchema)]
pub struct JpValid {
    is_valid: bool,
}

/// `POST /v1/messages`: one notice through a template.
#[derive(ToSchema)]
pub struct JpSend {
    mobile: String,
    temp_id: i64,
    sign_id: Option<i64>,
    /// Variable name → string or number.
    temp_para: Option<BTreeMap<String, String>>,
}

/// One recipient of a batch.
#[derive(ToSchema)]
pub struct JpRecipient {
    mobile: String,
    temp_para: Option<BTreeMap<String, String>>,
}

/// `POST /v1/messages/batch`.
#[derive(ToSchema)]
pub struct JpSendBatch {
    temp_id: i64,
    sign_id: Option<i64>,
    tag: Option<String>,
    recipients: Vec<JpRecipient>,
}

/// A batch's answer: counts, and each recipient with its `msg_id` or its error.
#[derive(ToSchema)]
pub struct JpBatchSent {
    success_count: i64,
    failure_count: i64,
    recipients: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// `GET /v1/accounts/app`: billable parts left; `null` where not allocated (or unlimited).
#[derive(ToSchema)]
pub struct JpBalance {
    app_balance: Option<i64>,
    app_voice: Option<i64>,
    app_industry: Option<i64>,
    app_market: Option<i64>,
}

/// `POST /v1/schedule` and `PUT /v1/schedule/{schedule_id}`.
#[derive(ToSchema)]
pub struct JpSchedule {
    /// `yyyy-MM-dd HH:mm:ss`, China time, in the future.
    send_time: String,
    mobile: String,
    temp_id: i64,
    sign_id: Option<i64>,
    temp_para: Option<BTreeMap<String, String>>,
}

/// `POST /v1/schedule/batch` and `PUT /v1/schedule/batch/{schedule_id}`.
#[derive(ToSchema)]
pub struct JpScheduleBatch {
    send_time: String,
    temp_id: i64,
    sign_id: Option<i64>,
    tag: Option<String>,
    recipients: Vec<JpRecipient>,
}

/// `{schedule_id}`.
#[derive(ToSchema)]
pub struct JpScheduleId {
    schedule_id: String,
}

/// A batch schedule's answer.
#[derive(ToSchema)]
pub struct JpScheduledBatch {
    schedule_id: String,
    success_count: i64,
    failure_count: i64,
    failure_recipients: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// `GET /v1/schedule/{schedule_id}`.
#[derive(ToSchema)]
pub struct JpScheduleShown {
    schedule_id: String,
    send_time: String,
    temp_id: i64,
    recipients: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// `POST /v1/templates` and `PUT /v1/templates/{temp_id}`.
#[derive(ToSchema)]
pub struct JpTemplateRequest {
    /// The text, without 【】.
    template: String,
    /// 1 code, 2 notice (3, marketing, is refused).
    r#type: i64,
    /// Seconds a code lives, 1–86400 (code templates).
    ttl: Option<i64>,
    remark: Option<String>,
}

/// `{temp_id}`.
#[derive(ToSchema)]
pub struct JpTempId {
    temp_id: i64,
}

/// `GET /v1/templates/{temp_id}`.
#[derive(ToSchema)]
pub struct JpTemplate {
    temp_id: i64,
    template: String,
    r#type: i64,
    ttl: Option<i64>,
    remark: Option<String>,
    /// 0 in review, 1 approved, 2 rejected.
    status: i64,
}

/// `POST /v1/sign` and `POST /v1/sign/{sign_id}`, as multipart fields.
#[derive(ToSchema)]
pub struct JpSignRequest {
    /// 2–8 characters, no brackets.
    sign: String,
    /// 1–7.
    r#type: i64,
    remark: Option<String>,
    /// A picture (`image0` from Python and PHP, `images` from Java).
    #[schema(value_type = Option<String>, format = Binary)]
    image0: Option<Vec<u8>>,
}

/// `{sign_id}`.
#[derive(ToSchema)]
pub struct JpSignId {
    sign_id: i64,
}

/// `GET /v1/sign/{sign_id}`.
#[derive(ToSchema)]
pub struct JpSign {
    sign_id: i64,
    sign: String,
    status: i64,
    is_default: i64,
    use_status: i64,
}
