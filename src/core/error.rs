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
    #[error("the app does not exist")]
    UnknownApp,
    #[error("the service is busy, try again")]
    Busy,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
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
