//! The built-in message texts (`templates/sms/*.hbs`, one per purpose and language, and one for
//! voice), rendered with Handlebars in strict mode and without HTML escaping: SMS is plain text,
//! and a missing variable must fail, never leave a hole.

pub mod links;
pub mod templates;

use handlebars::Handlebars;
use serde::Serialize;

use super::message::{Channel, Purpose};
use super::{Error, Result};

const BUILT_IN: &[(&str, &str)] = &[
    ("verification.zh", include_str!("../../../templates/sms/verification.zh.hbs")),
    ("verification.en", include_str!("../../../templates/sms/verification.en.hbs")),
    ("voice.zh", include_str!("../../../templates/sms/voice.zh.hbs")),
    ("voice.en", include_str!("../../../templates/sms/voice.en.hbs")),
    ("login.zh", include_str!("../../../templates/sms/login.zh.hbs")),
    ("login.en", include_str!("../../../templates/sms/login.en.hbs")),
    ("reset_password.zh", include_str!("../../../templates/sms/reset_password.zh.hbs")),
    ("reset_password.en", include_str!("../../../templates/sms/reset_password.en.hbs")),
    ("change_phone.zh", include_str!("../../../templates/sms/change_phone.zh.hbs")),
    ("change_phone.en", include_str!("../../../templates/sms/change_phone.en.hbs")),
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

    /// Which built-in text a message uses (also the key of its provider template mappings).
    pub fn kind(channel: Channel, purpose: Purpose) -> &'static str {
        match (channel, purpose) {
            (Channel::Voice, _) => "voice",
            (Channel::Sms, Purpose::Generic | Purpose::VerifyPhone) => "verification",
            (Channel::Sms, Purpose::Login) => "login",
            (Channel::Sms, Purpose::ResetPassword) => "reset_password",
            (Channel::Sms, Purpose::ChangePhone) => "change_phone",
        }
    }

    pub fn render_code(
        &self,
        channel: Channel,
        purpose: Purpose,
        language: Language,
        vars: &TextVars<'_>,
    ) -> Result<String> {
        let kind = Self::kind(channel, purpose);
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
        let zh = texts.render_code(Channel::Sms, Purpose::Generic, Language::Chinese, &vars).unwrap();
        assert_eq!(zh, "您正在使用A&B <Shop>进行登录，验证码 012345，10 分钟内有效。如非本人操作，请忽略本短信。");
        let en = texts.render_code(Channel::Voice, Purpose::Login, Language::English, &vars).unwrap();
        assert!(en.contains("012345") && en.contains("A&B <Shop>"));
    }

    #[test]
    fn every_purpose_has_a_text_in_both_languages() {
        let texts = Texts::load().unwrap();
        let vars = TextVars { name: "Shop", op: "op", code: "012345", ttl: 7 };
        let purposes =
            [Purpose::Generic, Purpose::Login, Purpose::ResetPassword, Purpose::VerifyPhone, Purpose::ChangePhone];
        let mut seen = std::collections::HashSet::new();
        for purpose in purposes {
            for (language, minutes) in [(Language::Chinese, "7 分钟"), (Language::English, "7 minutes")] {
                let text = texts.render_code(Channel::Sms, purpose, language, &vars).unwrap();
                assert!(text.contains("012345") && text.contains("Shop") && text.contains(minutes), "{text}");
                seen.insert(text);
            }
        }
        assert_eq!(seen.len(), 8, "verification and phone verification share a text");
    }
}
