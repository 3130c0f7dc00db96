//! The MinCloud (知晓云) dialect's part of the OpenAPI document: its paths (each handler carries
//! its own `#[utoipa::path]`), the bodies its handlers read field by field written down as schemas
//! with the contract's names (`../shared/contracts/other-dialects.md`, part C), its client id,
//! user token and open-API bearer as security schemes, and its error body.

// The request shapes below are never built: the handlers read bodies leniently, key by key; these
// types only name the keys for the document.
#![allow(dead_code)]

use std::collections::BTreeMap;

use utoipa::openapi::security::HttpAuthScheme;
use utoipa::openapi::{self, RefOr, Response};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::error::McError;
use crate::http::kit::openapi::{
    default_security, describe_tag, error_responses, error_table, header_key, http, prefix_operation_ids,
};

pub const TAG: &str = "MinCloud";

#[derive(OpenApi)]
#[openapi(
    paths(
        super::sms::send,
        super::sms::verify,
        super::sms::open_send,
        super::sms::open_verify,
        super::users::login_sms,
        super::users::register_phone,
        super::users::login_phone,
        super::users::user_info,
        super::users::update_account,
        super::users::verify_own_phone,
        super::users::destroy_session,
        super::oauth::authorize,
        super::oauth::access_token,
    ),
    components(schemas(McErrorBody)),
    tags((name = "MinCloud", description = "")),
    modifiers(&Document)
)]
pub struct MinCloudApi;

/// The security schemes and the error table.
struct Document;

impl Modify for Document {
    fn modify(&self, doc: &mut openapi::OpenApi) {
        prefix_operation_ids(doc, "mincloud");
        default_security(doc, &[&["X-Hydrogen-Client-ID"]]);
        let schemes = doc.components.get_or_insert_with(Default::default);
        schemes.add_security_scheme(
            "X-Hydrogen-Client-ID",
            header_key("X-Hydrogen-Client-ID", "The app's MinCloud client id (not a secret: it ships in every app)."),
        );
        schemes.add_security_scheme(
            "HydrogenToken",
            header_key("Authorization", "A user's session: `Authorization: Hydrogen-r1 <token>`, from a login."),
        );
        schemes.add_security_scheme(
            "MinCloudBearer",
            http(
                HttpAuthScheme::Bearer,
                "The open API (`/oserve`, the app's own server): an access token from `POST /api/oauth2/access_token`.",
            ),
        );
        // An internal error is one generic 500 (and would be logged as one here).
        let examples =
            crate::core::Error::examples().into_iter().filter(|e| !matches!(e, crate::core::Error::Internal(_)));
        let rows = examples.map(|e| {
            let e = McError::from(e);
            (e.status.as_u16(), "—".to_string(), e.message)
        });
        describe_tag(
            doc,
            TAG,
            format!(
                "MinCloud's client API (`/hserve/{{version}}`, as `minapp-sdk` calls it, a trailing slash \
                 accepted), its open API (`/oserve/{{version}}`) and the open API's OAuth (`/api/oauth2`). \
                 Every error is `{{\"status\": \"error\", \"error_msg\"}}` with a non-2xx status; the status \
                 is the code:\n\n{}",
                error_table("code", rows)
            ),
        );
    }
}

/// MinCloud's `4XX`/`5XX` answers.
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        error_responses("McErrorBody", "MinCloud's error: the HTTP status and a message.")
    }
}

/// MinCloud's error body.
#[derive(ToSchema)]
pub struct McErrorBody {
    /// `error`.
    status: String,
    error_msg: String,
}

/// `{"status": "ok"}`.
#[derive(ToSchema)]
pub struct McOk {
    status: String,
}

/// `POST /hserve/{version}/sms-verification-code`.
#[derive(ToSchema)]
pub struct McSendCode {
    phone: String,
    /// An approved signature's id; absent: the app's default text.
    signature_id: Option<i64>,
}

/// `POST /hserve/{version}/sms-verification-code/verify` (`code` may be a number).
#[derive(ToSchema)]
pub struct McVerifyCode {
    phone: String,
    code: String,
}

/// `POST /oserve/{version}/sms-verification-code`: for an existing user of the app.
#[derive(ToSchema)]
pub struct McOpenSendCode {
    phone: String,
    user_id: i64,
    signature_id: Option<i64>,
}

/// `POST /oserve/{version}/sms-verification-code/verify`.
#[derive(ToSchema)]
pub struct McOpenVerifyCode {
    phone: String,
    code: String,
    user_id: i64,
}

/// `POST /hserve/{version}/login/sms`.
#[derive(ToSchema)]
pub struct McLoginSms {
    phone: String,
    code: String,
    /// Create a user for an unknown number (default true; a boolean or its text).
    create_user: Option<bool>,
}

/// `POST /hserve/{version}/register/phone` and `/login/phone`.
#[derive(ToSchema)]
pub struct McPhonePassword {
    phone: String,
    password: String,
}

/// A user as MinCloud shows it: the account's `_`-keys only to the user themself; custom fields
/// beside.
#[derive(ToSchema)]
pub struct McUser {
    id: i64,
    /// Unix seconds.
    created_at: i64,
    updated_at: i64,
    created_by: i64,
    _username: Option<String>,
    _email: Option<String>,
    _email_verified: Option<bool>,
    _phone: Option<String>,
    _phone_verified: Option<bool>,
    _provider: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

/// A login's answer (201): the session and the user.
#[derive(ToSchema)]
pub struct McLoggedIn {
    token: String,
    /// Seconds, at most 30 days.
    expires_in: i64,
    user_id: i64,
    id: i64,
    created_at: i64,
    updated_at: i64,
    _username: Option<String>,
    _phone: Option<String>,
    _phone_verified: Option<bool>,
}

/// `PUT /hserve/{version}/user/account`: one change at a time.
#[derive(ToSchema)]
pub struct McAccountPatch {
    /// A new, unverified number.
    phone: Option<String>,
    /// With `new_password`: the current one.
    password: Option<String>,
    new_password: Option<String>,
    email: Option<String>,
    username: Option<String>,
}

/// `POST /hserve/{version}/sms-phone-verification`.
#[derive(ToSchema)]
pub struct McCode {
    code: String,
}

/// `POST /api/oauth2/hydrogen/openapi/authorize` (JSON, form or multipart).
#[derive(ToSchema)]
pub struct McAuthorize {
    client_id: String,
    client_secret: String,
}

/// An authorization code.
#[derive(ToSchema)]
pub struct McAuthorized {
    code: String,
    expires_in: i64,
}

/// `POST /api/oauth2/access_token` (JSON, form or multipart).
#[derive(ToSchema)]
pub struct McTokenRequest {
    client_id: String,
    client_secret: String,
    /// `authorization_code` or `refresh_token`.
    grant_type: String,
    code: Option<String>,
    refresh_token: Option<String>,
}

/// An access token for the open API.
#[derive(ToSchema)]
pub struct McToken {
    access_token: String,
    /// `Bearer`.
    token_type: String,
    expires_in: i64,
    refresh_token: String,
    scope: String,
}
