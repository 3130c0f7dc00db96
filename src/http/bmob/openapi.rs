//! The Bmob dialect's part of the OpenAPI document: its paths (each handler carries its own
//! `#[utoipa::path]`), the bodies its handlers read field by field written down as schemas with
//! the contract's names (`../shared/contracts/other-dialects.md`, part A), its headers as security
//! schemes, and its error codes, built from the same mapping the handlers answer with.

// The request shapes below are never built: the handlers read bodies leniently, key by key; these
// types only name the keys for the document.
#![allow(dead_code, non_snake_case)]

use std::collections::BTreeMap;

use utoipa::openapi::{self, RefOr, Response};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::error::BmobError;
pub use crate::http::kit::openapi::ParseUser;
use crate::http::kit::openapi::{
    alias, default_security, describe_tag, error_responses, error_table, header_key, prefix_operation_ids,
};

pub const TAG: &str = "Bmob";

#[derive(OpenApi)]
#[openapi(
    paths(
        super::timestamp,
        super::sms::request_sms_code,
        super::sms::verify_sms_code,
        super::sms::query_sms,
        super::sms::request_sms,
        super::captcha::request_captcha,
        super::captcha::captcha_image,
        super::captcha::verify_captcha,
        super::users::sign_up,
        super::users::by_mobile_phone,
        super::users::log_in,
        super::users::check_session,
        super::users::get_user,
        super::users::update_user,
        super::users::delete_user,
        super::users::reset_password,
        super::users::update_password,
    ),
    components(schemas(BmobErrorBody, ParseUser)),
    tags((name = "Bmob", description = "")),
    modifiers(&Document)
)]
pub struct BmobApi;

/// The paths a handler serves besides the one its attribute names, the security schemes, and the
/// error table.
struct Document;

impl Modify for Document {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        prefix_operation_ids(doc, "bmob");
        alias(doc, "/1/users", &["/1/classes/_User"]);
        alias(doc, "/1/users/{id}", &["/1/classes/_User/{id}"]);
        alias(doc, "/1/verifySmsCode/{code}", &["/1/verifySmsCode"]);
        default_security(
            doc,
            &[
                &["X-Bmob-Application-Id", "X-Bmob-Master-Key"],
                &["X-Bmob-Application-Id", "X-Bmob-REST-API-Key"],
                &["X-Bmob-Secret-Key", "X-Bmob-Safe-Sign", "X-Bmob-Safe-Timestamp", "X-Bmob-Noncestr-Key"],
            ],
        );
        let schemes = doc.components.get_or_insert_with(Default::default);
        for (name, what) in [
            ("X-Bmob-Application-Id", "Plain mode: the app's Application ID."),
            ("X-Bmob-REST-API-Key", "Plain mode: the REST API Key."),
            ("X-Bmob-Master-Key", "Plain mode: the Master Key, instead of the REST API Key."),
            ("X-Bmob-Session-Token", "A user's sessionToken."),
            ("X-Bmob-Secret-Key", "Signed mode (hydrogen-js-sdk): the app's Secret Key names the app."),
            (
                "X-Bmob-Safe-Sign",
                "Signed mode: `md5(route + timestamp + securityCode + noncestr + body + sdkVersion)`; the \
                 security code never travels.",
            ),
            ("X-Bmob-Safe-Timestamp", "Signed mode: seconds or milliseconds, within the signature window."),
            ("X-Bmob-Noncestr-Key", "Signed mode: refused the second time within the window."),
        ] {
            schemes.add_security_scheme(name, header_key(name, what));
        }
        // An internal error is one generic 500 (and would be logged as one here).
        let examples =
            crate::core::Error::examples().into_iter().filter(|e| !matches!(e, crate::core::Error::Internal(_)));
        let rows = examples.map(|e| {
            let e = BmobError::from(e);
            (e.status.as_u16(), e.code.to_string(), e.message)
        });
        describe_tag(
            doc,
            TAG,
            format!(
                "Bmob's REST API under `/1`, as hydrogen-js-sdk (signed mode) and bmobpy call it; a trailing \
                 slash is accepted. Every error is `{{\"code\", \"error\"}}` with a non-2xx status (every \
                 authentication failure the same 401):\n\n{}",
                error_table("code", rows)
            ),
        );
    }
}

/// Bmob's `4XX`/`5XX` answers.
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        error_responses("BmobErrorBody", "Bmob's error: `code` (see the tag's table) and a message.")
    }
}

/// Bmob's error body, with a non-2xx status.
#[derive(ToSchema)]
pub struct BmobErrorBody {
    code: i32,
    error: String,
}

/// `GET /1/timestamp`.
#[derive(ToSchema)]
pub struct BmobTimestamp {
    /// Unix seconds.
    timestamp: i64,
    /// `YYYY-mm-dd HH:ii:ss`, Beijing time.
    datetime: String,
}

/// `{"msg": "ok"}` (`checkSession` also says `fail`).
#[derive(ToSchema)]
pub struct BmobMsg {
    msg: String,
}

/// `POST /1/requestSmsCode`.
#[derive(ToSchema)]
pub struct BmobRequestSmsCode {
    mobilePhoneNumber: String,
    /// An approved verification template's name; empty is the default text.
    template: Option<String>,
    validate_token: Option<String>,
}

/// `{"smsId"}`: the message's handle, for `querySms`.
#[derive(ToSchema)]
pub struct BmobSmsId {
    smsId: i64,
}

/// `POST /1/verifySmsCode[/{code}]`: the code in the path or as `smsCode`.
#[derive(ToSchema)]
pub struct BmobVerifySmsCode {
    mobilePhoneNumber: String,
    smsCode: Option<String>,
}

/// `GET /1/querySms/{smsId}`.
#[derive(ToSchema)]
pub struct BmobSmsState {
    /// `SENDING`, `SUCCESS` or `FAIL`.
    sms_state: String,
    verify_state: bool,
}

/// `POST /1/requestSms`: a notice through an approved template.
#[derive(ToSchema)]
pub struct BmobRequestSms {
    mobilePhoneNumber: String,
    template: String,
    /// Template variables; a string (the legacy free text) is refused with 10021.
    content: Option<BTreeMap<String, String>>,
    /// `YYYY-mm-dd HH:ii:ss`, Beijing time, at least ten minutes ahead.
    sendTime: Option<String>,
}

/// `POST /1/requestCaptcha`.
#[derive(ToSchema)]
pub struct BmobRequestCaptcha {
    width: Option<i64>,
    height: Option<i64>,
    size: Option<i64>,
    /// Seconds, 60–180.
    ttl: Option<i64>,
}

/// The captcha's token and the image's URL.
#[derive(ToSchema)]
pub struct BmobCaptcha {
    captcha_token: String,
    captcha_url: String,
}

/// `POST /1/verifyCaptcha`.
#[derive(ToSchema)]
pub struct BmobVerifyCaptcha {
    captcha_code: String,
    captcha_token: String,
}

/// The token one send of a code spends.
#[derive(ToSchema)]
pub struct BmobValidateToken {
    validate_token: String,
}

/// `POST /1/users`: sign-up with username and password (custom fields beside), or with
/// `mobilePhoneNumber` and `smsCode` the one-step sign-up-or-login.
#[derive(ToSchema)]
pub struct BmobSignUp {
    username: Option<String>,
    password: Option<String>,
    email: Option<String>,
    mobilePhoneNumber: Option<String>,
    smsCode: Option<String>,
}

/// What a sign-up with a password returns (201).
#[derive(ToSchema)]
pub struct BmobSignedUp {
    createdAt: String,
    objectId: String,
    sessionToken: String,
}

/// A number and its code.
#[derive(ToSchema)]
pub struct BmobByPhone {
    mobilePhoneNumber: String,
    smsCode: String,
}

/// `POST /1/login` (or the same keys in `GET /1/login`'s query).
#[derive(ToSchema)]
pub struct BmobLogIn {
    /// The username, the email or the phone number.
    username: Option<String>,
    mobilePhoneNumber: Option<String>,
    password: Option<String>,
    smsCode: Option<String>,
}

/// A user patch: built-in keys and custom fields (values may be `{"__op": ...}` operations).
#[derive(ToSchema)]
pub struct BmobUserPatch {
    username: Option<String>,
    email: Option<String>,
    mobilePhoneNumber: Option<String>,
    password: Option<String>,
}

/// `{"updatedAt"}`.
#[derive(ToSchema)]
pub struct BmobUpdated {
    updatedAt: String,
}

/// `PUT /1/resetPasswordBySmsCode/{code}`.
#[derive(ToSchema)]
pub struct BmobResetPassword {
    password: String,
}

/// `PUT /1/updateUserPassword/{id}`.
#[derive(ToSchema)]
pub struct BmobUpdatePassword {
    oldPassword: String,
    newPassword: String,
}
