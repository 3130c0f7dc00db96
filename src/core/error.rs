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
            Error::UsernameMissing => 9,
            Error::PasswordMissing => 10,
            Error::PasswordBlank => 11,
            Error::UsernameTaken => 12,
            Error::EmailTaken => 13,
            Error::PhoneTaken => 14,
            Error::InvalidEmail => 15,
            Error::UserNotFound => 16,
            Error::EmailNotFound => 17,
            Error::PhoneNotFound => 18,
            Error::WrongPassword => 19,
            Error::PhoneNotVerified => 20,
            Error::AccountLocked => 21,
            Error::NotAllowed => 22,
            Error::MasterOnly => 23,
            Error::CaptchaRequired => 24,
            Error::InvalidValidateToken => 25,
            Error::WrongCaptcha => 26,
            Error::TooManyCaptchas => 27,
            Error::TooManyGuesses => 28,
            Error::TemplateNotFound => 29,
            Error::TemplateNotApproved => 30,
            Error::TemplateRender(_) => 31,
            Error::InvalidSignature => 32,
            Error::IllegalTransition { .. } => 33,
            Error::NameTaken => 34,
            Error::ItemNotFound => 35,
            Error::NoProvider(_) => 36,
            Error::UnknownApp => 37,
            Error::Busy => 38,
            Error::Internal(_) => 39,
        }
    }

    /// How many variants there are (one more than the last `variant_index`).
    pub const VARIANTS: usize = 40;
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Internal(e.into())
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

    #[test]
    fn examples_list_every_variant_once_in_order() {
        let indexes: Vec<usize> = Error::examples().iter().map(Error::variant_index).collect();
        assert_eq!(indexes, (0..Error::VARIANTS).collect::<Vec<_>>());
    }
}
