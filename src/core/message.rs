//! What a message is for, how it travels and who asked for it: shared by codes (which issue them),
//! the outbox (which queues and routes them), texts (which word them) and apps (whose test numbers
//! carry fixed codes), so that none of them imports another.

/// Digits in a code this server generates.
pub const CODE_LEN: usize = 6;

/// Why a code was issued. A code proves possession of a number, so verification accepts every
/// purpose but `ChangePhone`, which is bound to the user who asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Generic,
    Login,
    ResetPassword,
    VerifyPhone,
    ChangePhone,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Generic => "generic",
            Purpose::Login => "login",
            Purpose::ResetPassword => "reset_password",
            Purpose::VerifyPhone => "verify_phone",
            Purpose::ChangePhone => "change_phone",
        }
    }

    /// The purposes whose codes prove possession of a number.
    pub const POSSESSION: &'static [Purpose] =
        &[Purpose::Generic, Purpose::Login, Purpose::ResetPassword, Purpose::VerifyPhone];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Voice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }
}

/// Who asks for a send.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client address the per-IP limits count.
    pub client_ip: String,
    /// Earned by answering a captcha; required when the app's policy says so.
    pub validate_token: Option<String>,
}
