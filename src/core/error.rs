/// Everything a core operation can refuse, in the core's own words. Each dialect maps these to
/// its wire codes once, in its own `error.rs`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the mobile phone number is missing")]
    MissingPhone,
    #[error("the mobile phone number is invalid")]
    InvalidPhone,
    #[error("international SMS is disabled for this app")]
    InternationalDisabled,
    #[error("voice codes can only be sent to domestic numbers")]
    VoiceDomesticOnly,
    #[error("{0}")]
    InvalidParameter(String),
    #[error("the SMS code service is disabled for this app")]
    SmsDisabled,
    #[error("too many codes sent to this number, try again later")]
    TooFrequentForPhone,
    #[error("too many codes requested from this address, try again later")]
    TooFrequentForIp,
    #[error("invalid SMS code")]
    InvalidCode,
    /// The code matched one that has expired (only reported for the right value).
    #[error("the SMS code has expired")]
    CodeExpired,
    /// The code matched one that was already used (only reported for the right value).
    #[error("the SMS code has already been used")]
    CodeUsed,
    /// No message has this handle.
    #[error("no such message")]
    UnknownMessage,
    /// The app's balance of billable SMS parts cannot pay for this send.
    #[error("the app's SMS balance is exhausted")]
    BalanceExhausted,
    /// A template of another category: a code template for a notice, or the reverse.
    #[error("the SMS template is of the wrong type for this send")]
    WrongTemplateCategory,
    /// The message was already sent, claimed by the outbox or cancelled.
    #[error("the message can no longer be cancelled")]
    NotCancellable,
    #[error("username is missing or blank")]
    UsernameMissing,
    #[error("password is missing or empty")]
    PasswordMissing,
    #[error("a password must be a non-blank string")]
    PasswordBlank,
    #[error("username has already been taken")]
    UsernameTaken,
    #[error("email has already been taken")]
    EmailTaken,
    #[error("mobile phone number has already been taken")]
    PhoneTaken,
    #[error("the email address is invalid")]
    InvalidEmail,
    #[error("could not find user")]
    UserNotFound,
    #[error("no user has this email")]
    EmailNotFound,
    #[error("no user has this mobile phone number")]
    PhoneNotFound,
    #[error("the username and password mismatch")]
    WrongPassword,
    #[error("the mobile phone number is not verified")]
    PhoneNotVerified,
    #[error("too many failed logins, try again later or reset the password")]
    AccountLocked,
    #[error("this operation is not allowed for this app")]
    NotAllowed,
    #[error("only the master key may set this")]
    MasterOnly,
    #[error("this app requires a captcha before sending a code")]
    CaptchaRequired,
    #[error("the validate token is unknown, used or expired")]
    InvalidValidateToken,
    #[error("wrong, used or expired captcha")]
    WrongCaptcha,
    #[error("too many captchas requested from this address, try again later")]
    TooManyCaptchas,
    #[error("too many wrong codes from here, try again later")]
    TooManyGuesses,
    #[error("SMS template not found")]
    TemplateNotFound,
    #[error("the SMS template is not approved")]
    TemplateNotApproved,
    #[error("the SMS template cannot be rendered: {0}")]
    TemplateRender(String),
    #[error("unknown or unapproved SMS signature")]
    InvalidSignature,
    #[error("a {from} revision cannot {action}")]
    IllegalTransition { from: &'static str, action: &'static str },
    #[error("the name is already taken")]
    NameTaken,
    #[error("no such template, signature or revision")]
    ItemNotFound,
    #[error("{0}")]
    NoProvider(String),
    #[error("the send time is not in the future, or too far ahead")]
    InvalidSendTime,
    #[error("no such schedule")]
    ScheduleNotFound,
    #[error("the schedule has started or was sent: it can no longer change")]
    ScheduleStarted,
    #[error("the app does not exist")]
    UnknownApp,
    #[error("the service is busy, try again")]
    Busy,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl Error {
    /// One value of every variant, in declaration order: each dialect's `error.rs` walks them
    /// in a test that checks the wire status, code and message of each mapping.
    pub fn examples() -> Vec<Error> {
        vec![
            Error::MissingPhone,
            Error::InvalidPhone,
            Error::InternationalDisabled,
            Error::VoiceDomesticOnly,
            Error::InvalidParameter("limit must be a number".into()),
            Error::SmsDisabled,
            Error::TooFrequentForPhone,
            Error::TooFrequentForIp,
            Error::InvalidCode,
            Error::CodeExpired,
            Error::CodeUsed,
            Error::UnknownMessage,
            Error::BalanceExhausted,
            Error::WrongTemplateCategory,
            Error::NotCancellable,
            Error::UsernameMissing,
            Error::PasswordMissing,
            Error::PasswordBlank,
            Error::UsernameTaken,
            Error::EmailTaken,
            Error::PhoneTaken,
            Error::InvalidEmail,
            Error::UserNotFound,
            Error::EmailNotFound,
            Error::PhoneNotFound,
            Error::WrongPassword,
            Error::PhoneNotVerified,
            Error::AccountLocked,
            Error::NotAllowed,
            Error::MasterOnly,
            Error::CaptchaRequired,
            Error::InvalidValidateToken,
            Error::WrongCaptcha,
            Error::TooManyCaptchas,
            Error::TooManyGuesses,
            Error::TemplateNotFound,
            Error::TemplateNotApproved,
            Error::TemplateRender("variable code is missing".into()),
            Error::InvalidSignature,
            Error::IllegalTransition { from: "draft", action: "approve" },
            Error::NameTaken,
            Error::ItemNotFound,
            Error::NoProvider("no provider sends to +1".into()),
            Error::InvalidSendTime,
            Error::ScheduleNotFound,
            Error::ScheduleStarted,
            Error::UnknownApp,
            Error::Busy,
            Error::Internal(anyhow::anyhow!("disk full")),
        ]
    }

    /// The variant's place in the declaration (exhaustive: a new variant does not compile until it
    /// has one, and then the test below fails until `examples` lists it).
    pub fn variant_index(&self) -> usize {
        match self {
            Error::MissingPhone => 0,
            Error::InvalidPhone => 1,
            Error::InternationalDisabled => 2,
            Error::VoiceDomesticOnly => 3,
            Error::InvalidParameter(_) => 4,
            Error::SmsDisabled => 5,
            Error::TooFrequentForPhone => 6,
            Error::TooFrequentForIp => 7,
            Error::InvalidCode => 8,
            Error::CodeExpired => 9,
            Error::CodeUsed => 10,
            Error::UnknownMessage => 11,
            Error::BalanceExhausted => 12,
            Error::WrongTemplateCategory => 13,
            Error::NotCancellable => 14,
            Error::UsernameMissing => 15,
            Error::PasswordMissing => 16,
            Error::PasswordBlank => 17,
            Error::UsernameTaken => 18,
            Error::EmailTaken => 19,
            Error::PhoneTaken => 20,
            Error::InvalidEmail => 21,
            Error::UserNotFound => 22,
            Error::EmailNotFound => 23,
            Error::PhoneNotFound => 24,
            Error::WrongPassword => 25,
            Error::PhoneNotVerified => 26,
            Error::AccountLocked => 27,
            Error::NotAllowed => 28,
            Error::MasterOnly => 29,
            Error::CaptchaRequired => 30,
            Error::InvalidValidateToken => 31,
            Error::WrongCaptcha => 32,
            Error::TooManyCaptchas => 33,
            Error::TooManyGuesses => 34,
            Error::TemplateNotFound => 35,
            Error::TemplateNotApproved => 36,
            Error::TemplateRender(_) => 37,
            Error::InvalidSignature => 38,
            Error::IllegalTransition { .. } => 39,
            Error::NameTaken => 40,
            Error::ItemNotFound => 41,
            Error::NoProvider(_) => 42,
            Error::InvalidSendTime => 43,
            Error::ScheduleNotFound => 44,
            Error::ScheduleStarted => 45,
            Error::UnknownApp => 46,
            Error::Busy => 47,
            Error::Internal(_) => 48,
        }
    }

    /// How many variants there are (one more than the last `variant_index`).
    pub const VARIANTS: usize = 49;
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An internal error that remembers where it was raised (the caller's file and line), as
    /// Lemmy's error type does: the log then names the failing line, not only the cause.
    #[track_caller]
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let location = std::panic::Location::caller();
        Error::Internal(cause.into().context(format!("at {}:{}", location.file(), location.line())))
    }
}

impl From<diesel::result::Error> for Error {
    /// `?` on a query: the location is the line of the `?`.
    #[track_caller]
    fn from(e: diesel::result::Error) -> Self {
        Error::internal(e)
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    /// The pool only fails by timing out: every connection is busy.
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "database pool exhausted");
        Error::Busy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing_query() -> Result<()> {
        Err(diesel::result::Error::NotFound)?;
        Ok(())
    }

    #[test]
    fn internal_errors_name_their_cause_and_where_they_were_raised() {
        let Err(Error::Internal(e)) = failing_query() else { panic!("an internal error") };
        let text = format!("{e:#}");
        assert!(text.contains("src/core/error.rs:"), "{text}");
        assert!(text.contains("Record not found"), "{text}");
    }

    #[test]
    fn examples_list_every_variant_once_in_order() {
        let indexes: Vec<usize> = Error::examples().iter().map(Error::variant_index).collect();
        assert_eq!(indexes, (0..Error::VARIANTS).collect::<Vec<_>>());
    }
}
