//! LeanCloud's error body `{"code", "error"}` with a non-2xx status (JS reads the status, Python
//! the `error` key), and the one mapping from core errors to it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::core;
use crate::http::BodyError;

#[derive(Debug, Clone)]
pub struct LcError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
}

impl LcError {
    pub fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn bad_request(code: i32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 401, "Unauthorized.")
    }

    pub fn missing_phone() -> Self {
        Self::bad_request(212, "The mobile phone number is missing, and must be specified.")
    }

    /// 206: acting on a user without that user's session or the master key.
    pub fn cannot_alter() -> Self {
        Self::new(StatusCode::FORBIDDEN, 206, "The user cannot be altered by a client without the session.")
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::bad_request(1, message)
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
            E::InvalidPhone => Self::bad_request(127, "The mobile phone number was invalid."),
            E::InternationalDisabled => {
                Self::bad_request(1, "International SMS is disabled, please enable it in console.")
            }
            E::VoiceDomesticOnly => {
                Self::bad_request(1, "Voice verification codes can only be sent to mainland China numbers.")
            }
            E::InvalidParameter(message) => Self::bad_request(1, message),
            E::SmsDisabled => Self::new(StatusCode::FORBIDDEN, 119, "SMS code service is disabled for this app."),
            E::TooFrequentForPhone => Self::bad_request(601, "Can't send SMS too frequently."),
            E::TooFrequentForIp => Self::bad_request(601, "SMS sending exceeds limit for this client address."),
            // LeanCloud never told these apart: one 603 for a wrong, expired or used code.
            E::InvalidCode | E::CodeExpired | E::CodeUsed | E::UnknownMessage => {
                Self::bad_request(603, "Invalid SMS code.")
            }
            E::BalanceExhausted => Self::bad_request(160, "Insufficient balance."),
            E::WrongTemplateCategory => Self::bad_request(605, "SMS template is of the wrong type for this send."),
            E::NotCancellable => Self::bad_request(1, "The SMS can no longer be cancelled."),
            E::UsernameMissing => Self::bad_request(200, "Username is missing or empty"),
            E::PasswordMissing => Self::bad_request(201, "Password is missing or empty."),
            E::PasswordBlank => Self::bad_request(218, "Invalid password, it must be a non-blank string."),
            E::UsernameTaken => Self::bad_request(202, "Username has already been taken."),
            E::EmailTaken => Self::bad_request(203, "Email has already been taken."),
            E::PhoneTaken => Self::bad_request(214, "Mobile phone number has already been taken."),
            E::InvalidEmail => Self::bad_request(125, "The email address was invalid."),
            E::UserNotFound => Self::bad_request(211, "Could not find user."),
            E::EmailNotFound => Self::bad_request(205, "A user with the specified email was not found."),
            E::PhoneNotFound => Self::bad_request(213, "A user with the specified mobile phone number was not found."),
            E::WrongPassword => Self::bad_request(210, "The username and password mismatch."),
            E::PhoneNotVerified => Self::bad_request(215, "Mobile phone number isn't verified."),
            E::AccountLocked => Self::bad_request(219, "登录失败次数超过限制，请稍候再试，或者通过忘记密码重设密码。"),
            E::NotAllowed => Self::new(StatusCode::FORBIDDEN, 119, "That operation isn't allowed for clients."),
            E::MasterOnly => Self::new(
                StatusCode::FORBIDDEN,
                206,
                "Only the master key may set emailVerified or mobilePhoneVerified.",
            ),
            E::CaptchaRequired => Self::bad_request(608, "Missing validate token."),
            E::InvalidValidateToken => {
                Self::bad_request(608, "Invalid validate token: it is unknown, used or expired.")
            }
            // No code is documented for a failed captcha (contract §3.2); 1 as the contract suggests.
            E::WrongCaptcha => Self::bad_request(1, "Invalid captcha code, or the captcha was used or expired."),
            E::TooManyCaptchas => Self::new(StatusCode::TOO_MANY_REQUESTS, 429, "Too many requests."),
            E::TooManyGuesses => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                603,
                "Invalid SMS code. Too many wrong codes, try again later.",
            ),
            E::TemplateNotFound => Self::bad_request(604, "SMS template not found."),
            E::TemplateNotApproved => Self::bad_request(605, "SMS template not verified."),
            E::TemplateRender(why) => Self::bad_request(606, format!("Fails to render SMS template: {why}.")),
            E::InvalidSignature => Self::bad_request(600, "Invalid SMS signature."),
            E::IllegalTransition { from, action } => {
                Self::new(StatusCode::CONFLICT, 1, format!("A {from} revision cannot {action}."))
            }
            E::NameTaken => Self::bad_request(137, "A unique field was given a value that is already taken."),
            E::ItemNotFound => Self::new(StatusCode::NOT_FOUND, 101, "Object doesn't exist."),
            E::NoProvider(why) => Self::bad_request(1, format!("The SMS cannot be sent: {why}.")),
            E::InvalidSendTime => Self::bad_request(1, "Invalid send time: it must be in the future."),
            E::ScheduleNotFound => Self::new(StatusCode::NOT_FOUND, 101, "Object doesn't exist."),
            E::ScheduleStarted => Self::bad_request(1, "The scheduled send has started and can no longer change."),
            E::UnknownApp => Self::unauthorized(),
            E::Busy => Self::new(StatusCode::SERVICE_UNAVAILABLE, 124, "The server is busy, please retry."),
            E::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, 1, "Internal server error. No information available.")
            }
        }
    }
}

impl From<BodyError> for LcError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(limit) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, 1, format!("Request body is larger than {limit} bytes."))
            }
            BodyError::Unreadable => Self::bad_request(1, "Request body could not be read."),
            BodyError::NotJsonObject => Self::bad_request(107, "Malformed json object. A json dictionary is expected."),
            BodyError::BadText(bad) => bad.into(),
        }
    }
}

/// Text a request may not carry (a NUL, another control character): code 1, the contract's code
/// for an invalid parameter, HTTP 400.
impl From<crate::http::edge::BadText> for LcError {
    fn from(bad: crate::http::edge::BadText) -> Self {
        Self::invalid_parameter(format!("Invalid value: {bad}."))
    }
}

/// The body of an error the framework raised with only a status (a refused CORS preflight...).
pub fn error_body(status: StatusCode) -> HttpResponse {
    let code = match status.as_u16() {
        400 | 500 => 1,
        other => i32::from(other),
    };
    let message = status.canonical_reason().map_or_else(|| "Error.".to_string(), |r| format!("{r}."));
    LcError::new(status, code, message).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_refusal_is_603() {
        use crate::core::Error as E;
        for e in [E::InvalidCode, E::CodeExpired, E::CodeUsed, E::UnknownMessage] {
            let lc = LcError::from(e);
            assert_eq!((lc.status, lc.code, lc.message.as_str()), (StatusCode::BAD_REQUEST, 603, "Invalid SMS code."));
        }
    }

    #[test]
    fn send_refusals() {
        use crate::core::Error as E;
        for (e, code) in [(E::BalanceExhausted, 160), (E::WrongTemplateCategory, 605), (E::NotCancellable, 1)] {
            let lc = LcError::from(e);
            assert_eq!((lc.status, lc.code), (StatusCode::BAD_REQUEST, code));
        }
    }
}
