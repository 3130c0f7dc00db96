//! MinCloud's error body `{"status":"error","error_msg":"..."}`, whose HTTP status is the error
//! code (contract C.5: the SDK throws `HError(status, "<status>: <error_msg>")`), and the one
//! mapping from core errors to it. Statuses are those MinCloud publishes: 400 bad request or rate
//! limit, 401 unauthorized, 402 in arrears, 403 forbidden, 404 not found, 405 not allowed or not
//! enabled, 500.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::core;
use crate::http::BodyError;
use crate::http::kit::fields::FieldError;

#[derive(Debug, Clone)]
pub struct McError {
    pub status: StatusCode,
    pub message: String,
}

impl McError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no client id, an unknown one, no or a dead token.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Authentication credentials were not provided or are invalid.")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.")
    }

    /// 400 for a required field that is missing.
    pub fn missing(field: &str) -> Self {
        Self::bad_request(format!("{field} is required."))
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.")
    }
}

impl std::fmt::Display for McError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for McError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(serde_json::json!({"status": "error", "error_msg": self.message}))
    }
}

impl From<core::Error> for McError {
    fn from(e: core::Error) -> Self {
        use core::Error as E;
        let bad = |message: &str| Self::bad_request(message);
        match e {
            E::MissingPhone => Self::missing("phone"),
            E::InvalidPhone => bad("phone is not a valid mobile phone number."),
            E::InternationalDisabled => bad("SMS to numbers outside mainland China is disabled for this app."),
            E::VoiceDomesticOnly => bad("Voice codes can only be sent to mainland China numbers."),
            E::InvalidParameter(message) => Self::bad_request(message),
            // "SDK 发送短信" switched off in the console.
            E::SmsDisabled => Self::forbidden("Sending SMS from the SDK is disabled for this app."),
            // MinCloud's rate limits are 400 (contract C.6).
            E::TooFrequentForPhone => bad("Rate limit exceeded: too many SMS to this phone, try again later."),
            E::TooFrequentForIp => bad("Rate limit exceeded: too many SMS from this address, try again later."),
            E::InvalidCode => bad("Invalid or expired verification code."),
            E::CodeExpired => bad("The verification code has expired."),
            E::CodeUsed => bad("The verification code has already been used."),
            E::UnknownMessage => Self::not_found(),
            // The seed: 402 "当前应用已欠费".
            E::BalanceExhausted => {
                Self::new(StatusCode::PAYMENT_REQUIRED, "The app is in arrears: its SMS balance is used up.")
            }
            E::WrongTemplateCategory => bad("The SMS template is not a verification code template."),
            E::NotCancellable => bad("The message can no longer be cancelled."),
            E::UsernameMissing => Self::missing("username"),
            E::PasswordMissing => Self::missing("password"),
            E::PasswordBlank => bad("password must not be blank."),
            E::UsernameTaken => bad("username already exists."),
            E::EmailTaken => bad("email already exists."),
            E::PhoneTaken => bad("phone already exists."),
            E::InvalidEmail => bad("email is not a valid email address."),
            E::UserNotFound => Self::new(StatusCode::NOT_FOUND, "User not found."),
            E::EmailNotFound => Self::new(StatusCode::NOT_FOUND, "No user has this email."),
            E::PhoneNotFound => Self::new(StatusCode::NOT_FOUND, "No user has this phone."),
            E::WrongPassword => bad("Incorrect password."),
            E::PhoneNotVerified => Self::forbidden("The phone is not verified."),
            E::AccountLocked => Self::forbidden("Too many failed logins, try again later or reset the password."),
            // MinCloud answers a feature that is not enabled with 405 ("Please enable ... first").
            E::NotAllowed => {
                Self::new(StatusCode::METHOD_NOT_ALLOWED, "This login method is not enabled for this app.")
            }
            E::MasterOnly => Self::forbidden("Only the app's server may set this."),
            E::CaptchaRequired => bad("A captcha is required before sending a code."),
            E::InvalidValidateToken => bad("The captcha token is unknown, used or expired."),
            E::WrongCaptcha => bad("Wrong, used or expired captcha."),
            E::TooManyCaptchas => bad("Rate limit exceeded: too many captchas, try again later."),
            E::TooManyGuesses => bad("Rate limit exceeded: too many wrong codes, try again later."),
            E::TemplateNotFound => bad("SMS template not found."),
            E::TemplateNotApproved => bad("The SMS template is not approved."),
            E::TemplateRender(why) => Self::bad_request(format!("The SMS template cannot be rendered: {why}.")),
            // The seed: 400 "短信签名没有通过审核".
            E::InvalidSignature => bad("The SMS signature is unknown or not approved."),
            E::IllegalTransition { from, action } => Self::bad_request(format!("A {from} revision cannot {action}.")),
            E::NameTaken => bad("The name is already taken."),
            E::ItemNotFound => Self::not_found(),
            E::NoProvider(why) => Self::bad_request(format!("The SMS cannot be sent: {why}.")),
            E::InvalidSendTime => bad("The send time must be in the future."),
            E::ScheduleNotFound => Self::not_found(),
            E::ScheduleStarted => bad("The scheduled send has started and can no longer change."),
            E::UnknownApp => Self::unauthorized(),
            E::Busy => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "The server is busy, please retry."),
            E::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                Self::internal()
            }
        }
    }
}

impl From<FieldError> for McError {
    fn from(e: FieldError) -> Self {
        match e {
            FieldError::WrongType { key, expected } => Self::bad_request(format!("{key} must be {expected}.")),
            FieldError::Invalid(message) => Self::bad_request(message),
            FieldError::Core(e) => e.into(),
        }
    }
}

impl From<BodyError> for McError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge(limit) => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, format!("Request body is larger than {limit} bytes."))
            }
            BodyError::Unreadable => Self::bad_request("Request body could not be read."),
            BodyError::NotJsonObject => Self::bad_request("JSON parse error: a JSON object is expected."),
            BodyError::BadText(bad) => bad.into(),
        }
    }
}

/// Text a request may not carry (a NUL, another control character): 400.
impl From<crate::http::edge::BadText> for McError {
    fn from(bad: crate::http::edge::BadText) -> Self {
        Self::bad_request(format!("Invalid value: {bad}."))
    }
}

/// The body of an error the framework raised with only a status (a refused CORS preflight...).
pub fn error_body(status: StatusCode) -> HttpResponse {
    let message = status.canonical_reason().map_or_else(|| "Error.".to_string(), |r| format!("{r}."));
    McError::new(status, message).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core error has a MinCloud status from the published set, and a message.
    #[test]
    fn every_core_error_maps_to_a_published_status() {
        let expected = |e: &core::Error| -> u16 {
            use crate::core::Error as E;
            match e {
                E::SmsDisabled | E::PhoneNotVerified | E::AccountLocked | E::MasterOnly => 403,
                E::UserNotFound
                | E::EmailNotFound
                | E::PhoneNotFound
                | E::ItemNotFound
                | E::UnknownMessage
                | E::ScheduleNotFound => 404,
                E::BalanceExhausted => 402,
                E::NotAllowed => 405,
                E::UnknownApp => 401,
                E::Busy | E::Internal(_) => 500,
                _ => 400,
            }
        };
        let examples = core::Error::examples();
        assert!(!examples.is_empty());
        for e in examples {
            let status = expected(&e);
            let text = e.to_string();
            let wire = McError::from(e);
            assert_eq!(wire.status.as_u16(), status, "{text}");
            assert!(!wire.message.is_empty(), "{text}");
            let response = wire.error_response();
            assert_eq!(response.status().as_u16(), status);
        }
        // The exact texts a client may show.
        assert_eq!(McError::from(core::Error::InvalidCode).message, "Invalid or expired verification code.");
        assert_eq!(McError::from(core::Error::MissingPhone).message, "phone is required.");
        assert_eq!(
            McError::from(core::Error::Internal(anyhow::anyhow!("disk full"))).message,
            "Internal server error."
        );
        assert_eq!(
            McError::from(core::Error::InvalidParameter("user_id must be an integer.".into())).message,
            "user_id must be an integer."
        );
    }

    #[actix_web::test]
    async fn body_shape() {
        let wire = McError::bad_request("nope");
        let response = wire.error_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json, serde_json::json!({"status": "error", "error_msg": "nope"}));
    }
}
