//! What a send uses of the review: the live (approved) revision of a template or signature, by
//! name or handle, and previews of a body before review.

use std::collections::BTreeMap;

use super::{Content, Kind, Revision, State};
use crate::core::texts::templates::{
    BUILT_IN, BuiltIns, Category, Placement, Preview, SAMPLE_CODE, render, request_vars, sign, size, variables,
};
use crate::core::{Core, Error, Result};

/// An approved template, as a send uses it.
#[derive(Debug, Clone)]
pub struct LiveTemplate {
    pub name: String,
    pub handle: i64,
    pub body: String,
    pub category: Category,
    pub signature: Option<String>,
    /// A send with this template needs a captcha.
    pub captcha_required: bool,
}

impl Core {
    /// Renders `body` as a send would, with `sample` values for its variables (a variable without
    /// one shows its own name), the app's name, a sample code and a 10-minute ttl, signed with the
    /// app's signature `signature` (approved or not: the owner previews before review).
    pub fn preview(
        &self,
        app_id: &str,
        body: &str,
        signature: Option<&str>,
        sample: &BTreeMap<String, String>,
    ) -> Result<Preview> {
        let app = self.app(app_id)?;
        let mut vars = request_vars(sample.clone())?;
        for var in variables(body)? {
            if !BUILT_IN.contains(&var.as_str()) {
                vars.entry(var.clone()).or_insert(var);
            }
        }
        let text = render(body, &BuiltIns { code: SAMPLE_CODE, ttl: 10, name: &app.name }, &vars)?;
        let signature = match signature.filter(|s| !s.is_empty()) {
            None => None,
            Some(name) => {
                let item = self.item_by_name(app_id, Kind::Signature, name)?.ok_or(Error::InvalidSignature)?;
                match item.open.or(item.live).map(|r| r.content) {
                    Some(Content::Signature { text, placement }) => Some((text, placement)),
                    _ => return Err(Error::InvalidSignature),
                }
            }
        };
        let text = sign(&text, signature.as_ref().map(|(s, p)| (s.as_str(), *p)));
        Ok(Preview { size: size(&text), text })
    }

    /// The serving revision of the app's template `name`: unknown is `TemplateNotFound`, one
    /// without an approved revision (pending, rejected, disabled) `TemplateNotApproved`.
    pub fn live_template(&self, app_id: &str, name: &str) -> Result<LiveTemplate> {
        Self::live_of(self.item_by_name(app_id, Kind::Template, name)?)
    }

    /// The app's approved template with this handle (JPush `temp_id`).
    pub fn live_template_by_handle(&self, app_id: &str, handle: i64) -> Result<LiveTemplate> {
        Self::live_of(self.item_by_handle(app_id, Kind::Template, handle)?)
    }

    /// The approved signature with this handle: its name (what a send names it by).
    pub fn live_signature_by_handle(&self, app_id: &str, handle: i64) -> Result<String> {
        let item = self.item_by_handle(app_id, Kind::Signature, handle)?.ok_or(Error::InvalidSignature)?;
        self.live_signature(app_id, &item.name)?;
        Ok(item.name)
    }

    fn live_of(item: Option<crate::core::review::Item>) -> Result<LiveTemplate> {
        let item = item.ok_or(Error::TemplateNotFound)?;
        match item.live {
            Some(Revision {
                state: State::Approved,
                content: Content::Template { body, category, signature, captcha_required },
                ..
            }) => {
                Ok(LiveTemplate { name: item.name, handle: item.handle, body, category, signature, captcha_required })
            }
            _ => Err(Error::TemplateNotApproved),
        }
    }

    /// The text and placement of the app's approved signature `name`.
    pub fn live_signature(&self, app_id: &str, name: &str) -> Result<(String, Placement)> {
        let item = self.item_by_name(app_id, Kind::Signature, name)?.ok_or(Error::InvalidSignature)?;
        match item.live {
            Some(Revision { state: State::Approved, content: Content::Signature { text, placement }, .. }) => {
                Ok((text, placement))
            }
            _ => Err(Error::InvalidSignature),
        }
    }
}
