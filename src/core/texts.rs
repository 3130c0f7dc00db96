//! The built-in message texts (`templates/sms/*.hbs`), rendered with Handlebars in strict mode and
//! without HTML escaping: SMS is plain text, and a missing variable must fail, never leave a hole.

use handlebars::Handlebars;
use serde::Serialize;

use super::codes::Channel;
use super::{Error, Result};

const BUILT_IN: &[(&str, &str)] = &[
    ("verification.zh", include_str!("../../templates/sms/verification.zh.hbs")),
    ("verification.en", include_str!("../../templates/sms/verification.en.hbs")),
    ("voice.zh", include_str!("../../templates/sms/voice.zh.hbs")),
    ("voice.en", include_str!("../../templates/sms/voice.en.hbs")),
];

pub struct Texts {
    registry: Handlebars<'static>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Chinese,
    English,
}

#[derive(Debug, Serialize)]
pub struct TextVars<'a> {
    pub name: &'a str,
    pub op: &'a str,
    pub code: &'a str,
    pub ttl: i64,
}

impl Texts {
    pub fn load() -> anyhow::Result<Self> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        for (name, body) in BUILT_IN {
            registry.register_template_string(name, *body)?;
        }
        Ok(Self { registry })
    }

    pub fn default_op(language: Language) -> &'static str {
        match language {
            Language::Chinese => "短信验证",
            Language::English => "verification",
        }
    }

    pub fn render_code(&self, channel: Channel, language: Language, vars: &TextVars<'_>) -> Result<String> {
        let kind = match channel {
            Channel::Sms => "verification",
            Channel::Voice => "voice",
        };
        let lang = match language {
            Language::Chinese => "zh",
            Language::English => "en",
        };
        self.registry
            .render(&format!("{kind}.{lang}"), vars)
            .map_err(|e| Error::Internal(anyhow::anyhow!("built-in text {kind}.{lang}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_without_escaping() {
        let texts = Texts::load().unwrap();
        let vars = TextVars { name: "A&B <Shop>", op: "登录", code: "012345", ttl: 10 };
        let zh = texts.render_code(Channel::Sms, Language::Chinese, &vars).unwrap();
        assert_eq!(zh, "您正在使用A&B <Shop>进行登录，验证码 012345，10 分钟内有效。如非本人操作，请忽略本短信。");
        let en = texts.render_code(Channel::Voice, Language::English, &vars).unwrap();
        assert!(en.contains("012345") && en.contains("A&B <Shop>"));
    }
}
