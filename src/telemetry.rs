use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Structured logs to stderr; level from `RUST_LOG` (default `info`). Each request's span carries
/// its request id (tracing-actix-web), and core calls run inside that span.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
