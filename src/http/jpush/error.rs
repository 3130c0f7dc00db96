//! JPush SMS's error body `{"error": {"code": 500xx, "message": "..."}}` with the status of the
//! return-code table (contract B.4, seed 001), and the one mapping from core errors to it.
//!
//! Every row of the table is a named constructor; [`TABLE`] lists them for the tests. A failed
//! code check carries `"is_valid": false` beside the error (B.2).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::core;
use crate::http::BodyError;

#[derive(Debug, Clone)]
pub struct JpError {
    pub status: StatusCode,
    pub code: i32,
    pub message: String,
    /// Answered by `POST /v1/codes/{msg_id}/valid`: the body says `"is_valid": false` too.
    pub is_valid: Option<bool>,
}

macro_rules! table {
    ($($name:ident = $status:literal, $code:literal, $message:literal;)*) => {
        impl JpError {
            $(
                #[doc = concat!("HTTP ", stringify!($status), " · ", stringify!($code), " · ", $message)]
                pub fn $name() -> Self {
                    Self::new(StatusCode::from_u16($status).expect("a status"), $code, $message)
                }
            )*
        }

        /// The whole return-code table: constructor, HTTP status, code, message.
        pub const TABLE: &[(&str, u16, i32, &str)] = &[$((stringify!($name), $status, $code, $message)),*];

        /// Every row's constructor, in table order (the tests check them against [`TABLE`]).
        pub fn every_row() -> Vec<JpError> {
            vec![$(JpError::$name()),*]
        }
    };
}

table! {
    missing_auth = 400, 50001, "missing auth";
    auth_failed = 401, 50002, "auth failed";
    missing_body = 400, 50003, "missing body";
    missing_mobile = 400, 50004, "missing mobile";
    missing_temp_id = 400, 50005, "missing temp_id";
    invalid_mobile = 403, 50006, "invalid mobile";
    invalid_body = 403, 50007, "invalid body";
    no_sms_code_auth = 403, 50008, "no sms code auth";
    out_of_freq = 403, 50009, "out of freq";
    invalid_code = 403, 50010, "invalid code";
    expired_code = 403, 50011, "expired code";
    verified_code = 403, 50012, "verified code";
    invalid_temp_id = 403, 50013, "invalid temp_id";
    no_money = 403, 50014, "no money";
    missing_code = 400, 50015, "missing code";
    api_not_found = 404, 50016, "api not found";
    media_not_supported = 415, 50017, "media not supported";
    method_not_supported = 405, 50018, "request method not support";
    server_error = 500, 50019, "server error";
    template_auditing = 403, 50020, "template auditing";
    template_not_pass = 403, 50021, "template not pass";
    parameters_not_all_replaced = 403, 50022, "parameters not all replaced";
    parameters_empty = 403, 50023, "parameters is empty";
    unsubscribed_mobile = 403, 50024, "unsubscribed mobile";
    wrong_template_type = 403, 50025, "wrong template type";
    wrong_msg_id = 403, 50026, "wrong msg_id";
    invalid_send_time = 403, 50027, "invalid send_time";
    invalid_schedule_id = 403, 50028, "invalid schedule_id";
    wrong_schedule_status = 403, 50029, "wrong schedule status";
    recipients_empty = 403, 50030, "recipients is empty";
    too_many_recipients = 403, 50031, "too much recipients";
    repeat_send = 403, 50034, "repeat send";
    illegal_ip = 403, 50035, "illegal IP";
    app_in_black = 403, 50036, "app in black";
    black_word = 403, 50037, "has black word";
    invalid_content_length = 403, 50038, "invalid content length";
    invalid_code_type = 403, 50039, "invalid code type";
    invalid_voice_language = 403, 50040, "invalid voice language type";
    invalid_ttl = 403, 50041, "invalid ttl value";
    template_empty = 403, 50042, "template is empty";
    template_too_long = 403, 50043, "template too long";
    template_parameter_invalid = 403, 50044, "parameter invalid";
    remark_too_long = 403, 50045, "remark too long";
    signature_not_set = 403, 50046, "signature not set";
    modify_template_not_allowed = 403, 50047, "modify template not allow";
    template_special_symbol = 403, 50052, "template contains special symbol";
    link_needs_remark = 403, 50053, "link var needs remark";
    content_special_symbol = 403, 50054, "content contains special symbol 【】";
    invalid_image = 403, 50101, "invalid image";
    invalid_sign_id = 403, 50102, "invalid sign id";
    signatures_in_audit = 403, 50103, "other signatures in the audit";
    invalid_signature = 403, 50104, "invalid signature";
    default_signature_undeletable = 403, 50105, "default signature cannot be deleted";
}

impl JpError {
    pub fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), is_valid: None }
    }

    /// The same code and status, with what exactly was wrong after the table's words.
    pub fn detail(mut self, detail: impl std::fmt::Display) -> Self {
        self.message = format!("{}: {detail}", self.message);
        self
    }

    /// As answered by the code check: `"is_valid": false` beside the error.
    pub fn not_valid(mut self) -> Self {
        self.is_valid = Some(false);
        self
    }
}

impl std::fmt::Display for JpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

impl ResponseError for JpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let error = json!({"code": self.code, "message": self.message});
        let body = match self.is_valid {
            Some(valid) => json!({"is_valid": valid, "error": error}),
            None => json!({"error": error}),
        };
        HttpResponse::build(self.status).json(body)
    }
}

impl From<core::Error> for JpError {
    fn from(e: core::Error) -> Self {
        use core::Error as E;
        match e {
            E::MissingPhone => Self::missing_mobile(),
            E::InvalidPhone => Self::invalid_mobile(),
            // JPush sends to mainland numbers only; an app may open others, voice never.
            E::InternationalDisabled | E::VoiceDomesticOnly => Self::invalid_mobile().detail(e),
            E::InvalidParameter(why) => Self::invalid_body().detail(why),
            E::SmsDisabled | E::NotAllowed | E::MasterOnly => Self::no_sms_code_auth().detail(e),
            // JPush has no captcha: an app whose policy asks for one cannot send through it.
            E::CaptchaRequired | E::InvalidValidateToken | E::WrongCaptcha => Self::no_sms_code_auth().detail(e),
            E::TooFrequentForPhone | E::TooFrequentForIp | E::TooManyCaptchas | E::TooManyGuesses => {
                Self::out_of_freq().detail(e)
            }
            E::InvalidCode => Self::invalid_code(),
            E::CodeExpired => Self::expired_code(),
            E::CodeUsed => Self::verified_code(),
            E::UnknownMessage => Self::wrong_msg_id(),
            E::BalanceExhausted => Self::no_money(),
            E::WrongTemplateCategory => Self::wrong_template_type(),
            E::NotCancellable => Self::wrong_schedule_status(),
            // No user accounts on this surface: these can only come from a body that makes no sense.
            E::UsernameMissing
            | E::PasswordMissing
            | E::PasswordBlank
            | E::UsernameTaken
            | E::EmailTaken
            | E::PhoneTaken
            | E::InvalidEmail
            | E::UserNotFound
            | E::EmailNotFound
            | E::PhoneNotFound
            | E::WrongPassword
            | E::PhoneNotVerified
            | E::AccountLocked
            | E::NameTaken => Self::invalid_body().detail(e),
            E::TemplateNotFound | E::ItemNotFound => Self::invalid_temp_id(),
            E::TemplateNotApproved => Self::template_auditing(),
            E::TemplateRender(why) => Self::parameters_not_all_replaced().detail(why),
            E::InvalidSignature => Self::invalid_sign_id(),
            E::IllegalTransition { .. } => Self::modify_template_not_allowed().detail(e),
            E::InvalidSendTime => Self::invalid_send_time(),
            E::ScheduleNotFound => Self::invalid_schedule_id(),
            E::ScheduleStarted => Self::wrong_schedule_status(),
            E::UnknownApp => Self::auth_failed(),
            E::NoProvider(why) => Self::server_error().detail(why),
            E::Busy => Self::server_error().detail(e),
            E::Internal(source) => {
                tracing::error!(error = format!("{source:#}"), "internal error");
                Self::server_error()
            }
        }
    }
}

/// A body field of the wrong type: 50007 with which field; a core refusal as that error.
impl From<crate::http::kit::fields::FieldError> for JpError {
    fn from(e: crate::http::kit::fields::FieldError) -> Self {
        use crate::http::kit::fields::FieldError as F;
        match e {
            F::WrongType { .. } | F::Invalid(_) => Self::invalid_body().detail(e),
            F::Core(core) => core.into(),
        }
    }
}

impl From<BodyError> for JpError {
    fn from(e: BodyError) -> Self {
        Self::invalid_body().detail(e)
    }
}

/// Text a request may not carry (a NUL, another control character).
impl From<crate::http::edge::BadText> for JpError {
    fn from(bad: crate::http::edge::BadText) -> Self {
        Self::invalid_body().detail(bad)
    }
}

/// The body of an error the framework raised with only a status (a refused CORS preflight...).
pub fn error_body(status: StatusCode) -> HttpResponse {
    let error = match status.as_u16() {
        400 => JpError::invalid_body(),
        401 => JpError::auth_failed(),
        404 => JpError::api_not_found(),
        405 => JpError::method_not_supported(),
        415 => JpError::media_not_supported(),
        s if s >= 500 => JpError::server_error(),
        _ => JpError::new(status, 50007, status.canonical_reason().unwrap_or("invalid body")),
    };
    JpError { status, ..error }.error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_seeds() {
        let rows = every_row();
        assert_eq!(rows.len(), TABLE.len());
        let mut codes = std::collections::HashSet::new();
        for (error, (name, status, code, message)) in rows.iter().zip(TABLE) {
            assert_eq!(error.status.as_u16(), *status, "{name}");
            assert_eq!(error.code, *code, "{name}");
            assert_eq!(error.message, *message, "{name}");
            assert!(codes.insert(*code), "{code} twice");
            // 400/401/404/405/415/500 as in the seed; the rest 403.
            let expected = match code {
                50001 | 50003 | 50004 | 50005 | 50015 => 400,
                50002 => 401,
                50016 => 404,
                50017 => 415,
                50018 => 405,
                50019 => 500,
                _ => 403,
            };
            assert_eq!(*status, expected, "{name}");
        }
        // The seed's own rows (001), word for word where it spells them.
        let seed = [
            (400, 50001, "missing auth"),
            (401, 50002, "auth failed"),
            (400, 50003, "missing body"),
            (400, 50004, "missing mobile"),
            (403, 50006, "invalid mobile"),
            (403, 50007, "invalid body"),
            (403, 50008, "no sms code auth"),
            (403, 50009, "out of freq"),
            (403, 50010, "invalid code"),
            (403, 50011, "expired code"),
            (403, 50012, "verified code"),
            (403, 50013, "invalid temp_id"),
            (403, 50014, "no money"),
            (400, 50015, "missing code"),
            (404, 50016, "api not found"),
            (415, 50017, "media not supported"),
            (405, 50018, "request method not support"),
            (500, 50019, "server error"),
        ];
        for (status, code, message) in seed {
            assert!(TABLE.iter().any(|r| (r.1, r.2, r.3) == (status, code, message)), "{code}");
        }
        assert!(TABLE.iter().any(|r| r.2 == 50005 && r.0 == "missing_temp_id"));
    }

    #[test]
    fn every_core_error_has_its_row() {
        // In the order of `core::Error::examples()`: status and code of each.
        let expected: &[(u16, i32)] = &[
            (400, 50004), // MissingPhone
            (403, 50006), // InvalidPhone
            (403, 50006), // InternationalDisabled
            (403, 50006), // VoiceDomesticOnly
            (403, 50007), // InvalidParameter
            (403, 50008), // SmsDisabled
            (403, 50009), // TooFrequentForPhone
            (403, 50009), // TooFrequentForIp
            (403, 50010), // InvalidCode
            (403, 50011), // CodeExpired
            (403, 50012), // CodeUsed
            (403, 50026), // UnknownMessage
            (403, 50014), // BalanceExhausted
            (403, 50025), // WrongTemplateCategory
            (403, 50029), // NotCancellable
            (403, 50007), // UsernameMissing
            (403, 50007), // PasswordMissing
            (403, 50007), // PasswordBlank
            (403, 50007), // UsernameTaken
            (403, 50007), // EmailTaken
            (403, 50007), // PhoneTaken
            (403, 50007), // InvalidEmail
            (403, 50007), // UserNotFound
            (403, 50007), // EmailNotFound
            (403, 50007), // PhoneNotFound
            (403, 50007), // WrongPassword
            (403, 50007), // PhoneNotVerified
            (403, 50007), // AccountLocked
            (403, 50008), // NotAllowed
            (403, 50008), // MasterOnly
            (403, 50008), // CaptchaRequired
            (403, 50008), // InvalidValidateToken
            (403, 50008), // WrongCaptcha
            (403, 50009), // TooManyCaptchas
            (403, 50009), // TooManyGuesses
            (403, 50013), // TemplateNotFound
            (403, 50020), // TemplateNotApproved
            (403, 50022), // TemplateRender
            (403, 50102), // InvalidSignature
            (403, 50047), // IllegalTransition
            (403, 50007), // NameTaken
            (403, 50013), // ItemNotFound
            (500, 50019), // NoProvider
            (403, 50027), // InvalidSendTime
            (403, 50028), // ScheduleNotFound
            (403, 50029), // ScheduleStarted
            (401, 50002), // UnknownApp
            (500, 50019), // Busy
            (500, 50019), // Internal
        ];
        let examples = core::Error::examples();
        assert_eq!(examples.len(), expected.len(), "one row per core error");
        for (e, &(status, code)) in examples.into_iter().zip(expected) {
            let what = format!("{e:?}");
            let mapped = JpError::from(e);
            assert_eq!((mapped.status.as_u16(), mapped.code), (status, code), "{what}");
            // The message starts with the table's words for that code.
            let row = TABLE.iter().find(|r| r.2 == code).expect("a row of the table");
            assert!(mapped.message.starts_with(row.3), "{what}: {}", mapped.message);
            assert_eq!(row.1, status, "{what}");
        }
    }

    #[test]
    fn bodies() {
        let response = JpError::invalid_code().not_valid().error_response();
        assert_eq!(response.status(), 403);
        let body = actix_web::body::to_bytes(response.into_body());
        let body: serde_json::Value =
            serde_json::from_slice(&futures_util::FutureExt::now_or_never(body).unwrap().unwrap()).unwrap();
        assert_eq!(body, json!({"is_valid": false, "error": {"code": 50010, "message": "invalid code"}}));
    }
}
