//! Bmob's error body `{"code", "error"}` (contract A.3, A.6) and the one mapping from core errors
//! to it. Bmob answers coded errors with HTTP 400, bad credentials with 401 and its own failures
//! with 500. Every body carries both keys: bmobpy reads `code` next to `error` and breaks on a
//! body without it, hydrogen-js-sdk rejects on `error` whatever the status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::core;
use crate::http::BodyError;
use crate::http::kit::fields::FieldError;

#[derive(Debug, Clone)]
pub struct BmobError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
}

impl BmobError {
    pub fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// A coded error: HTTP 400, as every Bmob example and agent-skills show.
    pub fn coded(code: i32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Bad keys, a bad or stale signature: 401 `{"error":"unauthorized"}` (and the code bmobpy needs).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 401, "unauthorized")
    }

    /// Bmob's answer to anything it failed at itself.
    pub fn busy() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, 500, "It is busy...Try it later!")
    }

    /// 101: unknown user or wrong password, one answer for both (no account enumeration).
    pub fn login_failed() -> Self {
        Self::coded(101, "username or password incorrect.")
    }

    /// 118: a required parameter is missing.
    pub fn param_needed(name: &str) -> Self {
        Self::coded(118, format!("param {name} is need."))
    }

    /// 206: acting on a user without that user's session or the master key.
    pub fn no_permission() -> Self {
        Self::coded(206, "无权限操作用户表，应用初始化时，请传入MasterKey")
    }

    /// 210: the old password of updateUserPassword is wrong.
    pub fn old_password_incorrect() -> Self {
        Self::coded(210, "old password incorrect.")
    }

    /// 211: no session, or a dead one, where the call needs a logged-in user.
    pub fn not_logged_in() -> Self {
        Self::coded(211, "用户请先登录，或者用户登录已过期需要重新登录")
    }

    /// 301: a value that does not validate.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::coded(301, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 404, "Not found.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, 405, "Method not allowed.")
    }
}

impl std::fmt::Display for BmobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl ResponseError for BmobError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(serde_json::json!({"code": self.code, "error": self.message}))
    }
}

impl From<core::Error> for BmobError {
    fn from(e: core::Error) -> Self {
        use core::Error as E;
        match e {
            E::MissingPhone => Self::param_needed("mobilePhoneNumber"),
            E::InvalidPhone => Self::invalid("mobilePhoneNumber Must be valid mobile number"),
            E::InternationalDisabled => Self::invalid("international SMS is disabled for this app"),
            E::VoiceDomesticOnly => Self::invalid("voice codes can only be sent to mainland China numbers"),
            E::InvalidParameter(message) => Self::invalid(message),
            E::SmsDisabled => Self::coded(10021, "该应用不允许调用短信接口"),
            E::TooFrequentForPhone => Self::coded(10010, "mobile send message limited."),
            E::TooFrequentForIp => Self::coded(10017, "your device send sms reach limit"),
            E::InvalidCode | E::CodeExpired | E::CodeUsed => Self::coded(207, "code error."),
            E::UnknownMessage => Self::coded(10018, "smsId not found"),
            E::BalanceExhausted => Self::coded(10011, "no remaining number for send messages."),
            E::WrongTemplateCategory => Self::coded(10022, "模板类型不符"),
            E::NotCancellable => Self::invalid("the message can no longer be cancelled"),
            E::UsernameMissing | E::PasswordMissing => Self::coded(108, "username and password required."),
            E::PasswordBlank => Self::coded(10050, "new password is empty"),
            E::UsernameTaken => Self::coded(202, "username already taken."),
            E::EmailTaken => Self::coded(203, "email already taken."),
            E::PhoneTaken => Self::coded(209, "mobilePhoneNumber already taken."),
            E::InvalidEmail => Self::invalid("email Must be valid email address"),
            E::UserNotFound => Self::coded(101, "object not found."),
            E::EmailNotFound => Self::coded(205, "no user found with email."),
            E::PhoneNotFound => Self::coded(205, "no user found with mobilePhoneNumber."),
            E::WrongPassword => Self::login_failed(),
            E::PhoneNotVerified => Self::invalid("mobilePhoneNumber is not verified"),
            E::AccountLocked => Self::coded(101, "too many failed logins, try again later or reset the password."),
            E::NotAllowed => Self::invalid("this operation is not allowed for this app"),
            E::MasterOnly => Self::no_permission(),
            E::CaptchaRequired => Self::param_needed("validate_token"),
            E::InvalidValidateToken => Self::coded(207, "validate_token error: it is unknown, used or expired."),
            // No code is published for a wrong captcha (contract A.4): the contract's suggestion.
            E::WrongCaptcha => Self::coded(207, "captcha code error."),
            E::TooManyCaptchas => Self::coded(10076, "Qps beyond the limit: too many captchas, try again later."),
            E::TooManyGuesses => Self::coded(207, "code error: too many wrong codes, try again later."),
            E::TemplateNotFound => Self::coded(10022, "模板不存在"),
            E::TemplateNotApproved => Self::coded(10022, "模板未审核通过"),
            E::TemplateRender(why) => Self::coded(10013, format!("sms content illegal: {why}.")),
            E::InvalidSignature => Self::invalid("unknown or unapproved SMS signature"),
            E::IllegalTransition { from, action } => {
                Self::new(StatusCode::CONFLICT, 301, format!("a {from} revision cannot {action}"))
            }
            E::NameTaken => Self::coded(301, "the name is already taken"),
            E::ItemNotFound => Self::coded(101, "object not found."),
            E::NoProvider(why) => Self::coded(10021, format!("the SMS cannot be sent: {why}")),
            E::InvalidSendTime => Self::coded(10020, "sendTime must be in the future"),
            E::ScheduleNotFound => Self::coded(101, "object not found."),
            E::ScheduleStarted => Self::invalid("the scheduled send has started and can no longer change"),
            E::UnknownApp => Self::unauthorized(),
            E::Busy => Self::busy(),
            E::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                Self::busy()
            }
        }
    }
}

impl From<BodyError> for BmobError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(limit) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, 107, format!("request body is larger than {limit} bytes."))
            }
            BodyError::Unreadable => Self::coded(107, "invalid json: the body could not be read."),
            BodyError::NotJsonObject => Self::coded(107, "invalid json: a JSON object is expected."),
            BodyError::BadText(bad) => bad.into(),
        }
    }
}

/// A body field of the wrong type or value: 301, Bmob's validation code; a refused phone number
/// is the core's error.
impl From<FieldError> for BmobError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::Core(e) => e.into(),
            other => Self::invalid(other.to_string()),
        }
    }
}

/// Text a request may not carry (a NUL, another control character): 301, Bmob's validation code.
impl From<crate::http::edge::BadText> for BmobError {
    fn from(bad: crate::http::edge::BadText) -> Self {
        Self::invalid(format!("invalid value: {bad}"))
    }
}

/// The body of an error the framework raised with only a status (a refused CORS preflight...).
pub fn error_body(status: StatusCode) -> HttpResponse {
    let message = match status.as_u16() {
        401 => "unauthorized".to_string(),
        500.. => "It is busy...Try it later!".to_string(),
        _ => status.canonical_reason().map_or_else(|| "Error.".to_string(), |r| format!("{r}.")),
    };
    BmobError::new(status, i32::from(status.as_u16()), message).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core error, in `core::Error::examples()` order, with its Bmob answer. A new core
    /// error fails `core::error`'s test until it has an example, then this one until it is listed.
    #[test]
    fn every_core_error_has_its_bmob_answer() {
        let expected: &[(u16, i32, &str)] = &[
            (400, 118, "param mobilePhoneNumber is need."),
            (400, 301, "mobilePhoneNumber Must be valid mobile number"),
            (400, 301, "international SMS is disabled for this app"),
            (400, 301, "voice codes can only be sent to mainland China numbers"),
            (400, 301, "limit must be a number"),
            (400, 10021, "该应用不允许调用短信接口"),
            (400, 10010, "mobile send message limited."),
            (400, 10017, "your device send sms reach limit"),
            (400, 207, "code error."),
            (400, 207, "code error."),
            (400, 207, "code error."),
            (400, 10018, "smsId not found"),
            (400, 10011, "no remaining number for send messages."),
            (400, 10022, "模板类型不符"),
            (400, 301, "the message can no longer be cancelled"),
            (400, 108, "username and password required."),
            (400, 108, "username and password required."),
            (400, 10050, "new password is empty"),
            (400, 202, "username already taken."),
            (400, 203, "email already taken."),
            (400, 209, "mobilePhoneNumber already taken."),
            (400, 301, "email Must be valid email address"),
            (400, 101, "object not found."),
            (400, 205, "no user found with email."),
            (400, 205, "no user found with mobilePhoneNumber."),
            (400, 101, "username or password incorrect."),
            (400, 301, "mobilePhoneNumber is not verified"),
            (400, 101, "too many failed logins, try again later or reset the password."),
            (400, 301, "this operation is not allowed for this app"),
            (400, 206, "无权限操作用户表，应用初始化时，请传入MasterKey"),
            (400, 118, "param validate_token is need."),
            (400, 207, "validate_token error: it is unknown, used or expired."),
            (400, 207, "captcha code error."),
            (400, 10076, "Qps beyond the limit: too many captchas, try again later."),
            (400, 207, "code error: too many wrong codes, try again later."),
            (400, 10022, "模板不存在"),
            (400, 10022, "模板未审核通过"),
            (400, 10013, "sms content illegal: variable code is missing."),
            (400, 301, "unknown or unapproved SMS signature"),
            (409, 301, "a draft revision cannot approve"),
            (400, 301, "the name is already taken"),
            (400, 101, "object not found."),
            (400, 10021, "the SMS cannot be sent: no provider sends to +1"),
            (400, 10020, "sendTime must be in the future"),
            (400, 101, "object not found."),
            (400, 301, "the scheduled send has started and can no longer change"),
            (401, 401, "unauthorized"),
            (500, 500, "It is busy...Try it later!"),
            (500, 500, "It is busy...Try it later!"),
        ];
        let examples = core::Error::examples();
        assert_eq!(examples.len(), expected.len(), "one expected answer per core error");
        for (error, &(status, code, message)) in examples.into_iter().zip(expected) {
            let name = format!("{error:?}");
            let wire = BmobError::from(error);
            assert_eq!((wire.status.as_u16(), wire.code, wire.message.as_str()), (status, code, message), "{name}");
            assert_eq!(wire.error_response().status().as_u16(), status);
        }
    }

    #[test]
    fn field_and_body_errors() {
        let e = BmobError::from(FieldError::WrongType { key: "ttl".into(), expected: "an integer" });
        assert_eq!((e.status.as_u16(), e.code, e.message.as_str()), (400, 301, "ttl must be an integer"));
        let e = BmobError::from(FieldError::Core(core::Error::MissingPhone));
        assert_eq!(e.code, 118);
        let e = BmobError::from(BodyError::NotJsonObject);
        assert_eq!((e.status.as_u16(), e.code), (400, 107));
        let e = BmobError::from(BodyError::TooLarge(10));
        assert_eq!((e.status.as_u16(), e.code), (413, 107));
    }

    #[test]
    fn framework_errors_are_json_with_a_code() {
        for status in [StatusCode::UNAUTHORIZED, StatusCode::NOT_FOUND, StatusCode::BAD_GATEWAY] {
            let response = error_body(status);
            assert_eq!(response.status(), status);
            assert_eq!(response.headers().get("content-type").unwrap(), "application/json");
        }
    }
}
