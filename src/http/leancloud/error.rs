//! LeanCloud's error body `{"code", "error"}` with a non-2xx status (JS reads the status, Python
//! the `error` key): every error this dialect can answer, each a named constructor, and the one
//! mapping from core errors to them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::core;
use crate::http::BodyError;
use crate::http::kit::fields::FieldError;

#[derive(Debug, Clone)]
pub struct LcError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
}

impl LcError {
    fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    fn bad_request(code: i32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    // Requests and routing.

    /// 401: no app, an unknown app, or a key or signature that does not match.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 401, "Unauthorized.")
    }

    /// 404 for a path no route knows.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 404, "Not found.")
    }

    /// 405 for a method the path does not take.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 405, "Method not allowed.")
    }

    /// Code 1: a parameter the server cannot use, with why.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::bad_request(1, message)
    }

    /// 107: a body or `where` that is no JSON object.
    pub fn malformed_json() -> Self {
        Self::bad_request(107, "Malformed json object. A json dictionary is expected.")
    }

    /// 413 (code 1): a body over the limit.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, 1, format!("Request body is larger than {limit} bytes."))
    }

    pub fn body_unreadable() -> Self {
        Self::bad_request(1, "Request body could not be read.")
    }

    /// Text a request may not carry (a NUL, another control character): code 1.
    pub fn bad_text(bad: &crate::http::edge::BadText) -> Self {
        Self::invalid_parameter(format!("Invalid value: {bad}."))
    }

    /// 403 (code 403): owner REST (templates, signatures) without the master key.
    pub fn templates_need_master() -> Self {
        Self::new(StatusCode::FORBIDDEN, 403, "Forbidden: templates and signatures need the master key.")
    }

    /// 403 (code 403): owner REST (providers) without the master key.
    pub fn providers_need_master() -> Self {
        Self::new(StatusCode::FORBIDDEN, 403, "Forbidden: SMS providers need the master key.")
    }

    /// 404, code 101: no such object (an item, a mapping).
    pub fn object_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 101, "Object doesn't exist.")
    }

    // Phone numbers and codes.

    /// 212: no phone number where one is needed.
    pub fn missing_phone() -> Self {
        Self::bad_request(212, "The mobile phone number is missing, and must be specified.")
    }

    pub fn invalid_phone() -> Self {
        Self::bad_request(127, "The mobile phone number was invalid.")
    }

    pub fn international_disabled() -> Self {
        Self::bad_request(1, "International SMS is disabled, please enable it in console.")
    }

    pub fn voice_domestic_only() -> Self {
        Self::bad_request(1, "Voice verification codes can only be sent to mainland China numbers.")
    }

    pub fn sms_disabled() -> Self {
        Self::new(StatusCode::FORBIDDEN, 119, "SMS code service is disabled for this app.")
    }

    pub fn too_frequent_for_phone() -> Self {
        Self::bad_request(601, "Can't send SMS too frequently.")
    }

    pub fn too_frequent_for_ip() -> Self {
        Self::bad_request(601, "SMS sending exceeds limit for this client address.")
    }

    pub fn invalid_code() -> Self {
        Self::bad_request(603, "Invalid SMS code.")
    }

    /// The app's SMS balance is spent (contract §3: 160).
    pub fn insufficient_balance() -> Self {
        Self::bad_request(160, "Insufficient balance.")
    }

    pub fn wrong_template_category() -> Self {
        Self::bad_request(605, "SMS template is of the wrong type for this send.")
    }

    pub fn not_cancellable() -> Self {
        Self::bad_request(1, "The SMS can no longer be cancelled.")
    }

    pub fn invalid_send_time() -> Self {
        Self::bad_request(1, "Invalid send time: it must be in the future.")
    }

    pub fn schedule_started() -> Self {
        Self::bad_request(1, "The scheduled send has started and can no longer change.")
    }

    pub fn too_many_guesses() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, 603, "Invalid SMS code. Too many wrong codes, try again later.")
    }

    /// 606: a `requestSmsCode` template variable that is no string, number or boolean.
    pub fn bad_template_variable(key: &str) -> Self {
        Self::bad_request(606, format!("Template variable {key} must be a string or a number."))
    }

    // Captchas.

    pub fn captcha_required() -> Self {
        Self::bad_request(608, "Missing validate token.")
    }

    pub fn invalid_validate_token() -> Self {
        Self::bad_request(608, "Invalid validate token: it is unknown, used or expired.")
    }

    /// No code is documented for a failed captcha (contract §3.2); 1 as the contract suggests.
    pub fn wrong_captcha() -> Self {
        Self::bad_request(1, "Invalid captcha code, or the captcha was used or expired.")
    }

    pub fn too_many_captchas() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, 429, "Too many requests.")
    }

    /// 119: `size` or `ttl` on `requestCaptcha` without the master key.
    pub fn captcha_options_need_master() -> Self {
        Self::new(StatusCode::FORBIDDEN, 119, "size and ttl may only be set with the master key.")
    }

    /// 404 for the picture of a captcha that is unknown, expired or answered.
    pub fn captcha_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 404, "Captcha not found, expired or already answered.")
    }

    // Users.

    pub fn username_missing() -> Self {
        Self::bad_request(200, "Username is missing or empty")
    }

    pub fn password_missing() -> Self {
        Self::bad_request(201, "Password is missing or empty.")
    }

    pub fn password_blank() -> Self {
        Self::bad_request(218, "Invalid password, it must be a non-blank string.")
    }

    /// 217: a username set to null, blank or deleted in an update.
    pub fn invalid_username() -> Self {
        Self::bad_request(217, "Invalid username, it must be a non-blank string.")
    }

    pub fn username_taken() -> Self {
        Self::bad_request(202, "Username has already been taken.")
    }

    pub fn email_taken() -> Self {
        Self::bad_request(203, "Email has already been taken.")
    }

    pub fn phone_taken() -> Self {
        Self::bad_request(214, "Mobile phone number has already been taken.")
    }

    pub fn invalid_email() -> Self {
        Self::bad_request(125, "The email address was invalid.")
    }

    pub fn user_not_found() -> Self {
        Self::bad_request(211, "Could not find user.")
    }

    pub fn email_not_found() -> Self {
        Self::bad_request(205, "A user with the specified email was not found.")
    }

    pub fn phone_not_found() -> Self {
        Self::bad_request(213, "A user with the specified mobile phone number was not found.")
    }

    pub fn wrong_password() -> Self {
        Self::bad_request(210, "The username and password mismatch.")
    }

    pub fn phone_not_verified() -> Self {
        Self::bad_request(215, "Mobile phone number isn't verified.")
    }

    pub fn account_locked() -> Self {
        Self::bad_request(219, "登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。")
    }

    /// 206: acting on a user without that user's session or the master key.
    pub fn cannot_alter() -> Self {
        Self::new(StatusCode::FORBIDDEN, 206, "The user cannot be altered by a client without the session.")
    }

    pub fn verified_flags_need_master() -> Self {
        Self::new(StatusCode::FORBIDDEN, 206, "Only the master key may set emailVerified or mobilePhoneVerified.")
    }

    pub fn not_allowed() -> Self {
        Self::new(StatusCode::FORBIDDEN, 119, "That operation isn't allowed for clients.")
    }

    // Templates, signatures, providers.

    pub fn template_not_found() -> Self {
        Self::bad_request(604, "SMS template not found.")
    }

    pub fn template_not_approved() -> Self {
        Self::bad_request(605, "SMS template not verified.")
    }

    pub fn template_render(why: &str) -> Self {
        Self::bad_request(606, format!("Fails to render SMS template: {why}."))
    }

    pub fn invalid_signature() -> Self {
        Self::bad_request(600, "Invalid SMS signature.")
    }

    /// 409: a review step the revision's state does not allow.
    pub fn illegal_transition(from: &str, action: &str) -> Self {
        Self::new(StatusCode::CONFLICT, 1, format!("A {from} revision cannot {action}."))
    }

    pub fn name_taken() -> Self {
        Self::bad_request(137, "A unique field was given a value that is already taken.")
    }

    pub fn no_provider(why: &str) -> Self {
        Self::bad_request(1, format!("The SMS cannot be sent: {why}."))
    }

    // The server.

    pub fn busy() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, 124, "The server is busy, please retry.")
    }

    /// 500: the cause goes to the log, never to the client.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, 1, "Internal server error. No information available.")
    }

    /// The body of an error the framework raised with only a status (a refused CORS preflight...).
    pub fn from_status(status: StatusCode) -> Self {
        let code = match status.as_u16() {
            400 | 500 => 1,
            other => i32::from(other),
        };
        let message = status.canonical_reason().map_or_else(|| "Error.".to_string(), |r| format!("{r}."));
        Self::new(status, code, message)
    }
}

impl std::fmt::Display for LcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl ResponseError for LcError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(serde_json::json!({"code": self.code, "error": self.message}))
    }
}

impl From<core::Error> for LcError {
    fn from(e: core::Error) -> Self {
        use core::Error as E;
        match e {
            E::MissingPhone => Self::missing_phone(),
            E::InvalidPhone => Self::invalid_phone(),
            E::InternationalDisabled => Self::international_disabled(),
            E::VoiceDomesticOnly => Self::voice_domestic_only(),
            E::InvalidParameter(message) => Self::invalid_parameter(message),
            E::SmsDisabled => Self::sms_disabled(),
            E::TooFrequentForPhone => Self::too_frequent_for_phone(),
            E::TooFrequentForIp => Self::too_frequent_for_ip(),
            // LeanCloud never told these apart: one 603 for a wrong, expired or used code.
            E::InvalidCode | E::CodeExpired | E::CodeUsed | E::UnknownMessage => Self::invalid_code(),
            E::BalanceExhausted => Self::insufficient_balance(),
            E::WrongTemplateCategory => Self::wrong_template_category(),
            E::NotCancellable => Self::not_cancellable(),
            E::UsernameMissing => Self::username_missing(),
            E::PasswordMissing => Self::password_missing(),
            E::PasswordBlank => Self::password_blank(),
            E::UsernameTaken => Self::username_taken(),
            E::EmailTaken => Self::email_taken(),
            E::PhoneTaken => Self::phone_taken(),
            E::InvalidEmail => Self::invalid_email(),
            E::UserNotFound => Self::user_not_found(),
            E::EmailNotFound => Self::email_not_found(),
            E::PhoneNotFound => Self::phone_not_found(),
            E::WrongPassword => Self::wrong_password(),
            E::PhoneNotVerified => Self::phone_not_verified(),
            E::AccountLocked => Self::account_locked(),
            E::NotAllowed => Self::not_allowed(),
            E::MasterOnly => Self::verified_flags_need_master(),
            E::CaptchaRequired => Self::captcha_required(),
            E::InvalidValidateToken => Self::invalid_validate_token(),
            E::WrongCaptcha => Self::wrong_captcha(),
            E::TooManyCaptchas => Self::too_many_captchas(),
            E::TooManyGuesses => Self::too_many_guesses(),
            E::TemplateNotFound => Self::template_not_found(),
            E::TemplateNotApproved => Self::template_not_approved(),
            E::TemplateRender(why) => Self::template_render(&why),
            E::InvalidSignature => Self::invalid_signature(),
            E::IllegalTransition { from, action } => Self::illegal_transition(from, action),
            E::NameTaken => Self::name_taken(),
            E::ItemNotFound => Self::object_not_found(),
            E::NoProvider(why) => Self::no_provider(&why),
            E::InvalidSendTime => Self::invalid_send_time(),
            E::ScheduleNotFound => Self::object_not_found(),
            E::ScheduleStarted => Self::schedule_started(),
            E::UnknownApp => Self::unauthorized(),
            E::Busy => Self::busy(),
            E::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                Self::internal()
            }
        }
    }
}

/// A field of the wrong type or value: code 1 with what was expected; a phone number the core
/// refused as the core error (212 missing, 127 invalid).
impl From<FieldError> for LcError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::WrongType { .. } => Self::invalid_parameter(e.to_string()),
            FieldError::Invalid(message) => Self::invalid_parameter(message),
            FieldError::Core(e) => e.into(),
        }
    }
}

impl From<BodyError> for LcError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(limit) => Self::body_too_large(limit),
            BodyError::Unreadable => Self::body_unreadable(),
            BodyError::NotJsonObject => Self::malformed_json(),
            BodyError::BadText(bad) => bad.into(),
        }
    }
}

impl From<crate::http::edge::BadText> for LcError {
    fn from(bad: crate::http::edge::BadText) -> Self {
        Self::bad_text(&bad)
    }
}

/// The body of an error the framework raised with only a status (a refused CORS preflight...).
pub fn error_body(status: StatusCode) -> HttpResponse {
    LcError::from_status(status).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core error's LeanCloud status, code and message (contract §3). A new core error
    /// fails `core::error`'s test until it has an example, then this one until it is listed.
    #[test]
    fn every_core_error_maps_to_its_leancloud_body() {
        let expected: &[(u16, i32, &str)] = &[
            (400, 212, "The mobile phone number is missing, and must be specified."),
            (400, 127, "The mobile phone number was invalid."),
            (400, 1, "International SMS is disabled, please enable it in console."),
            (400, 1, "Voice verification codes can only be sent to mainland China numbers."),
            (400, 1, "limit must be a number"),
            (403, 119, "SMS code service is disabled for this app."),
            (400, 601, "Can't send SMS too frequently."),
            (400, 601, "SMS sending exceeds limit for this client address."),
            (400, 603, "Invalid SMS code."),
            (400, 603, "Invalid SMS code."),
            (400, 603, "Invalid SMS code."),
            (400, 603, "Invalid SMS code."),
            (400, 160, "Insufficient balance."),
            (400, 605, "SMS template is of the wrong type for this send."),
            (400, 1, "The SMS can no longer be cancelled."),
            (400, 200, "Username is missing or empty"),
            (400, 201, "Password is missing or empty."),
            (400, 218, "Invalid password, it must be a non-blank string."),
            (400, 202, "Username has already been taken."),
            (400, 203, "Email has already been taken."),
            (400, 214, "Mobile phone number has already been taken."),
            (400, 125, "The email address was invalid."),
            (400, 211, "Could not find user."),
            (400, 205, "A user with the specified email was not found."),
            (400, 213, "A user with the specified mobile phone number was not found."),
            (400, 210, "The username and password mismatch."),
            (400, 215, "Mobile phone number isn't verified."),
            (400, 219, "登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。"),
            (403, 119, "That operation isn't allowed for clients."),
            (403, 206, "Only the master key may set emailVerified or mobilePhoneVerified."),
            (400, 608, "Missing validate token."),
            (400, 608, "Invalid validate token: it is unknown, used or expired."),
            (400, 1, "Invalid captcha code, or the captcha was used or expired."),
            (429, 429, "Too many requests."),
            (429, 603, "Invalid SMS code. Too many wrong codes, try again later."),
            (400, 604, "SMS template not found."),
            (400, 605, "SMS template not verified."),
            (400, 606, "Fails to render SMS template: variable code is missing."),
            (400, 600, "Invalid SMS signature."),
            (409, 1, "A draft revision cannot approve."),
            (400, 137, "A unique field was given a value that is already taken."),
            (404, 101, "Object doesn't exist."),
            (400, 1, "The SMS cannot be sent: no provider sends to +1."),
            (400, 1, "Invalid send time: it must be in the future."),
            (404, 101, "Object doesn't exist."),
            (400, 1, "The scheduled send has started and can no longer change."),
            (401, 401, "Unauthorized."),
            (503, 124, "The server is busy, please retry."),
            (500, 1, "Internal server error. No information available."),
        ];
        let examples = core::Error::examples();
        assert_eq!(examples.len(), expected.len(), "one expected body per core error");
        for (error, &(status, code, message)) in examples.into_iter().zip(expected) {
            let name = format!("{error:?}");
            let wire = LcError::from(error);
            assert_eq!((wire.status.as_u16(), wire.code, wire.message.as_str()), (status, code, message), "{name}");
        }
    }

    #[test]
    fn field_errors() {
        let wrong = FieldError::WrongType { key: "ttl".into(), expected: "an integer" };
        let e = LcError::from(wrong);
        assert_eq!((e.status.as_u16(), e.code, e.message.as_str()), (400, 1, "ttl must be an integer"));
        let e = LcError::from(FieldError::Invalid("operation Batch is not supported".into()));
        assert_eq!((e.code, e.message.as_str()), (1, "operation Batch is not supported"));
        assert_eq!(LcError::from(FieldError::Core(core::Error::MissingPhone)).code, 212);
        assert_eq!(LcError::from(FieldError::Core(core::Error::InvalidPhone)).code, 127);
    }
}
