//! The LeanCloud dialect's part of the OpenAPI document: its paths (each handler carries its own
//! `#[utoipa::path]`), the bodies its handlers read field by field (`kit::fields`) written down as
//! schemas with the contract's names (`../shared/contracts/leancloud.md`), its headers as security
//! schemes, and its error codes, built from the same mapping the handlers answer with.

// The request shapes below are never built: the handlers read bodies leniently, key by key; these
// types only name the keys for the document.
#![allow(dead_code, non_snake_case)]

use std::collections::BTreeMap;

use utoipa::openapi::{self, RefOr, Response};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::error::LcError;
pub use crate::http::kit::openapi::ParseUser;
use crate::http::kit::openapi::{
    alias, default_security, describe_tag, error_responses, error_table, header_key, prefix_operation_ids,
};

pub const TAG: &str = "LeanCloud";

#[derive(OpenApi)]
#[openapi(
    paths(
        super::server_date,
        super::sms::request_sms_code,
        super::sms::verify_sms_code,
        super::captcha::request_captcha,
        super::captcha::captcha_image,
        super::captcha::verify_captcha,
        super::users::sign_up,
        super::users::query,
        super::users::log_in,
        super::users::by_mobile_phone,
        super::users::me,
        super::users::issue_jwt,
        super::users::get_user,
        super::users::update_user,
        super::users::delete_user,
        super::users::refresh_session_token,
        super::users::update_password,
        super::users::request_user_code,
        super::users::reset_password,
        super::users::verify_mobile_phone,
        super::users::request_change_phone,
        super::users::change_phone,
        super::templates::preview,
        super::templates::list,
        super::templates::create,
        super::templates::get,
        super::templates::edit,
        super::templates::history,
        super::templates::act,
        super::providers::list,
        super::providers::put_mapping,
        super::providers::delete_mapping,
    ),
    components(schemas(LcErrorBody, ParseUser, LcKind, LcAction)),
    tags((name = "LeanCloud", description = "")),
    modifiers(&Document)
)]
pub struct LeanCloudApi;

/// The paths a handler serves besides the one its attribute names, the security schemes, and the
/// error table.
struct Document;

impl Modify for Document {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        prefix_operation_ids(doc, "lc");
        alias(doc, "/1.1/users", &["/1.1/classes/_User"]);
        alias(doc, "/1.1/users/{id}", &["/1.1/classes/_User/{id}"]);
        alias(
            doc,
            "/1.1/requestLoginSmsCode",
            &["/1.1/requestPasswordResetBySmsCode", "/1.1/requestMobilePhoneVerify"],
        );
        default_security(doc, &[&["X-LC-Id", "X-LC-Key"], &["X-LC-Id", "X-LC-Sign"]]);
        let schemes = doc.components.get_or_insert_with(Default::default);
        for (name, header, what) in [
            ("X-LC-Id", "X-LC-Id", "The appId (also `X-AVOSCloud-Application-Id`, `X-Uluru-Application-Id`)."),
            ("X-LC-Key", "X-LC-Key", "The appKey, or `<masterKey>,master` for the master key."),
            (
                "X-LC-Sign",
                "X-LC-Sign",
                "Instead of X-LC-Key, as the SDKs sign: `md5(timestamp + key),timestamp`, with `,master` \
                 appended when signed with the master key.",
            ),
            ("X-LC-Session", "X-LC-Session", "A user's sessionToken (also `X-AVOSCloud-Session-Token`)."),
        ] {
            schemes.add_security_scheme(name, header_key(header, what));
        }
        // An internal error is one generic 500 (and would be logged as one here).
        let examples =
            crate::core::Error::examples().into_iter().filter(|e| !matches!(e, crate::core::Error::Internal(_)));
        let rows = examples.map(|e| {
            let e = LcError::from(e);
            (e.status.as_u16(), e.code.to_string(), e.message)
        });
        describe_tag(
            doc,
            TAG,
            format!(
                "LeanCloud's REST API under `/1.1`, as the `leancloud-storage` SDKs call it, and the app owner's \
                 REST API for SMS templates, signatures and provider mappings (master key). Every error is \
                 `{{\"code\", \"error\"}}` with a non-2xx status:\n\n{}",
                error_table("code", rows)
            ),
        );
    }
}

/// LeanCloud's `4XX`/`5XX` answers.
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        error_responses("LcErrorBody", "LeanCloud's error: `code` (see the tag's table) and a message.")
    }
}

/// LeanCloud's error body, with a non-2xx status.
#[derive(ToSchema)]
pub struct LcErrorBody {
    /// LeanCloud's error code (1, 107, 119, 127, 211, 601, 603...).
    code: i32,
    error: String,
}

/// `{}`: done.
#[derive(ToSchema)]
pub struct LcEmpty {}

/// `POST /1.1/requestSmsCode`. Every key not named here is a template variable (a string,
/// number or boolean).
#[derive(ToSchema)]
pub struct LcRequestSmsCode {
    /// E.164 or a Chinese number without the country code.
    mobilePhoneNumber: String,
    /// `sms` (default) or `voice` (mainland only).
    smsType: Option<String>,
    /// Minutes the code lives, 1–30 (default 10).
    ttl: Option<i64>,
    /// The app's name in the built-in text.
    name: Option<String>,
    /// The operation in the built-in text.
    op: Option<String>,
    /// An approved template's name.
    template: Option<String>,
    /// An approved signature's name.
    sign: Option<String>,
    /// From `POST /1.1/verifyCaptcha`, where the app asks for captchas.
    validate_token: Option<String>,
}

/// A body naming a phone number.
#[derive(ToSchema)]
pub struct LcPhone {
    mobilePhoneNumber: String,
}

/// `GET /1.1/requestCaptcha` → the token and the image's URL.
#[derive(ToSchema)]
pub struct LcCaptcha {
    captcha_token: String,
    captcha_url: String,
}

/// `POST /1.1/verifyCaptcha`.
#[derive(ToSchema)]
pub struct LcVerifyCaptcha {
    captcha_code: String,
    captcha_token: String,
}

/// The token one send of a code spends.
#[derive(ToSchema)]
pub struct LcValidateToken {
    validate_token: String,
}

/// `POST /1.1/users`: sign-up. Every key that is not a `_User` key is a custom field.
#[derive(ToSchema)]
pub struct LcSignUp {
    username: Option<String>,
    password: Option<String>,
    email: Option<String>,
    mobilePhoneNumber: Option<String>,
    /// With `mobilePhoneNumber`: proves the number (the SDK's signUpOrlogInWithMobilePhone sends it here too).
    smsCode: Option<String>,
}

/// `POST /1.1/login`: `username`, else `email`, else `mobilePhoneNumber`, with `password` or
/// (phone only) `smsCode`.
#[derive(ToSchema)]
pub struct LcLogIn {
    username: Option<String>,
    email: Option<String>,
    mobilePhoneNumber: Option<String>,
    password: Option<String>,
    smsCode: Option<String>,
}

/// `POST /1.1/usersByMobilePhone`: sign up or log in with a number and its code.
#[derive(ToSchema)]
pub struct LcByPhone {
    mobilePhoneNumber: String,
    smsCode: String,
}

/// `{"results": [...]}`.
#[derive(ToSchema)]
pub struct LcUsers {
    results: Vec<ParseUser>,
}

/// What a write returns: the object's id and its new `updatedAt`.
#[derive(ToSchema)]
pub struct LcUpdated {
    objectId: String,
    updatedAt: String,
}

/// `POST /1.1/users/me/jwt`.
#[derive(ToSchema)]
pub struct LcJwt {
    jwt: String,
    /// Unix seconds.
    expiresAt: i64,
    /// `Bearer`.
    tokenType: String,
}

/// `PUT /1.1/users/{id}/updatePassword`.
#[derive(ToSchema)]
pub struct LcUpdatePassword {
    old_password: String,
    new_password: String,
}

/// `PUT /1.1/resetPasswordBySmsCode/{code}`.
#[derive(ToSchema)]
pub struct LcResetPassword {
    password: String,
    mobilePhoneNumber: Option<String>,
}

/// `POST /1.1/requestChangePhoneNumber`.
#[derive(ToSchema)]
pub struct LcRequestChangePhone {
    mobilePhoneNumber: String,
    /// Minutes, 1–30.
    ttl: Option<i64>,
    validate_token: Option<String>,
}

/// `POST /1.1/changePhoneNumber`.
#[derive(ToSchema)]
pub struct LcChangePhone {
    mobilePhoneNumber: String,
    code: String,
}

/// A user patch: built-in keys and custom fields; a field's value may be an operation
/// (`{"__op": "Increment" | "Decrement" | "Add" | "AddUnique" | "Remove" | "Delete"}`).
#[derive(ToSchema)]
pub struct LcUserPatch {
    username: Option<String>,
    email: Option<String>,
    mobilePhoneNumber: Option<String>,
    password: Option<String>,
}

/// `POST /1.1/sms/templates/preview`: `body` (with an optional `signature`) or a template's name.
#[derive(ToSchema)]
pub struct LcPreviewRequest {
    body: Option<String>,
    template: Option<String>,
    signature: Option<String>,
    /// Variable name → string or number.
    variables: Option<BTreeMap<String, String>>,
}

/// The rendered text and what it costs.
#[derive(ToSchema)]
pub struct LcPreview {
    text: String,
    chars: i64,
    /// Billable SMS parts.
    parts: i64,
    /// `gsm7` or `ucs2`.
    encoding: String,
}

/// `POST /1.1/sms/{kind}` and `PUT /1.1/sms/{kind}/{id}`: a template (`body`, `category`,
/// `signature`, `captchaRequired`) or a signature (`text`, `placement`).
#[derive(ToSchema)]
pub struct LcItemRequest {
    name: String,
    /// Template: the Handlebars body, plain variables only.
    body: Option<String>,
    /// Template: `verification` (default) or `notification`.
    category: Option<String>,
    /// Template: the signature's name.
    signature: Option<String>,
    captchaRequired: Option<bool>,
    /// Signature: 1–10 characters.
    text: Option<String>,
    /// Signature: `start` (default) or `end`.
    placement: Option<String>,
    /// Submit for review at once (default true).
    submit: Option<bool>,
}

/// One revision of a template or signature.
#[derive(ToSchema)]
pub struct LcRevision {
    id: String,
    revision: i64,
    /// `draft`, `pending`, `approved`, `rejected`, `disabled`, `superseded`.
    state: String,
    reason: Option<String>,
    createdAt: String,
    updatedAt: String,
}

/// A template or signature: its live revision and the one under review.
#[derive(ToSchema)]
pub struct LcItem {
    objectId: String,
    name: String,
    handle: i64,
    /// `template` or `signature`.
    kind: String,
    live: Option<LcRevision>,
    pending: Option<LcRevision>,
    createdAt: String,
    updatedAt: String,
}

/// `{"results": [...]}` of items.
#[derive(ToSchema)]
pub struct LcItems {
    results: Vec<LcItem>,
}

/// Every revision and every review step of an item.
#[derive(ToSchema)]
pub struct LcHistory {
    revisions: Vec<LcRevision>,
    events: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// `{"results": [...]}` of the providers this app may use, with their mappings.
#[derive(ToSchema)]
pub struct LcProviders {
    results: Vec<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// `PUT /1.1/sms/providers/{provider}/mappings`: the provider's template code for one of the
/// app's texts.
#[derive(ToSchema)]
pub struct LcMappingRequest {
    /// `builtin:<kind>` or `template:<name>`.
    text: String,
    code: String,
    /// `NAME=VARIABLE` pairs.
    params: Option<Vec<String>>,
    signName: Option<String>,
}

/// A mapping as stored.
#[derive(ToSchema)]
pub struct LcMapping {
    provider: String,
    text: String,
    code: String,
    params: Vec<String>,
    signName: Option<String>,
    allApps: bool,
}

/// `GET /1.1/date`.
#[derive(ToSchema)]
pub struct LcDate {
    /// `Date`.
    __type: String,
    iso: String,
}

/// The kind segment of `/1.1/sms/{kind}`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum LcKind {
    Templates,
    Signatures,
}

/// The action segment of `/1.1/sms/{kind}/{id}/{action}`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum LcAction {
    Submit,
    Disable,
    Enable,
}
