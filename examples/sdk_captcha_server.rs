//! Test fixture for `tests/sdk` (not for deployments): the real application, assembled with one
//! thing swapped in where `startup::Hooks` allows it: captcha answers are the text of
//! `PB_SDK_CAPTCHA_ANSWER` (repeated or cut to the asked size), so the SDK suite can answer the
//! captchas it asks for. Everything else, configuration included, is as `phonebase serve`.
//!
//!     PB_SDK_CAPTCHA_ANSWER=K7PX3M cargo run --example sdk_captcha_server -- 127.0.0.1:8081

use std::sync::Arc;

use anyhow::Context;
use phonebase::config::Config;
use phonebase::core::codes::captcha::CaptchaText;
use phonebase::startup::{Application, Hooks};

#[derive(Debug)]
struct KnownAnswer(String);

impl CaptchaText for KnownAnswer {
    fn text(&self, len: usize) -> String {
        self.0.chars().cycle().take(len).collect()
    }
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let answer = std::env::var("PB_SDK_CAPTCHA_ANSWER").context("PB_SDK_CAPTCHA_ANSWER is required")?;
    anyhow::ensure!(!answer.is_empty(), "PB_SDK_CAPTCHA_ANSWER is empty");
    let mut config = Config::load(None)?;
    if let Some(bind) = std::env::args().nth(1) {
        config.bind = bind;
    }
    phonebase::telemetry::init(config.log_format);
    let hooks = Hooks { captcha_text: Some(Arc::new(KnownAnswer(answer))), ..Hooks::default() };
    Application::build_with(config, hooks).await?.run_until_stopped().await
}
