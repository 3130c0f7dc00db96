//! Notices: messages without a code (JPush `messages`, `schedule`; Bmob `requestSms`), through the
//! app's approved notification templates, the same limits, balance and outbox as codes, and
//! optionally held until a later time.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, TimeDelta};

use crate::core::apps::App;
use crate::core::message::{Channel, Origin};
use crate::core::outbox::queue::Outgoing;
use crate::core::outbox::routing;
use crate::core::phone::Phone;
use crate::core::texts::templates::{self, BuiltIns, Category};
use crate::core::{Core, Error, Result};
use crate::store;

/// How long a notice may wait in the outbox after it is due before it is given up.
pub const NOTICE_TTL_HOURS: i64 = 24;
/// How far ahead a notice may be scheduled.
pub const MAX_SCHEDULE_DAYS: i64 = 366;
/// Most recipients in one batch.
pub const MAX_BATCH: usize = 1000;
/// The `purpose` column of a notice.
pub const NOTICE_PURPOSE: &str = "notice";

/// Which of the app's templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    Name(String),
    /// JPush `temp_id`.
    Handle(i64),
}

/// Which of the app's signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignRef {
    Name(String),
    /// JPush `sign_id`.
    Handle(i64),
}

#[derive(Debug, Clone)]
pub struct NoticeRequest {
    pub phone: Phone,
    /// An approved template of category notification (`WrongTemplateCategory` otherwise).
    pub template: TemplateRef,
    /// Without it, the template's own signature if any.
    pub sign: Option<SignRef>,
    /// The template's variables (reserved names are ignored).
    pub vars: BTreeMap<String, String>,
    pub origin: Origin,
    /// A later time to send it at (UTC); `None` or a time already past sends it now.
    pub send_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone)]
pub struct IssuedMessage {
    /// The message's number (JPush `msg_id`, Bmob `smsId`).
    pub handle: i64,
    pub message_id: String,
    /// Billable parts (taken from the balance when the app has one).
    pub parts: i32,
    /// Set when the message is held until then.
    pub send_at: Option<NaiveDateTime>,
}

impl Core {
    /// Queues a notice (or schedules it): checks the app's switches, the template (approved,
    /// notification), its variables, the send limits and the balance; everything is written in one
    /// transaction, so a refused notice leaves nothing behind.
    pub fn send_notice(&self, app: &App, req: NoticeRequest) -> Result<IssuedMessage> {
        let result = self.queue_notice(app, req);
        if let Err(e) = &result {
            self.count_refusal(&app.id, e);
        }
        result
    }

    fn queue_notice(&self, app: &App, req: NoticeRequest) -> Result<IssuedMessage> {
        let settings = &app.settings;
        if !settings.sms_enabled {
            return Err(Error::SmsDisabled);
        }
        if !req.phone.is_domestic() && !settings.international_sms {
            return Err(Error::InternationalDisabled);
        }
        let now = self.clock.now_naive();
        let send_at = req.send_at.filter(|t| *t > now);
        if send_at.is_some_and(|t| t > now + TimeDelta::days(MAX_SCHEDULE_DAYS)) {
            return Err(Error::InvalidParameter(format!(
                "a message may be scheduled at most {MAX_SCHEDULE_DAYS} days ahead"
            )));
        }
        let template = match &req.template {
            TemplateRef::Name(name) => self.live_template(&app.id, name)?,
            TemplateRef::Handle(handle) => self.live_template_by_handle(&app.id, *handle)?,
        };
        if template.category != Category::Notification {
            return Err(Error::WrongTemplateCategory);
        }
        let sign = match &req.sign {
            Some(SignRef::Handle(handle)) => Some(self.live_signature_by_handle(&app.id, *handle)?),
            Some(SignRef::Name(name)) if !name.is_empty() => Some(name.clone()),
            _ => template.signature.clone(),
        };
        let signature = match sign.as_deref() {
            Some(s) => Some(self.live_signature(&app.id, s)?),
            None => None,
        };
        let mut vars = templates::request_vars(req.vars.clone())?;
        let body = templates::render(&template.body, &BuiltIns { code: "", ttl: 0, name: &app.name }, &vars)?;
        let text = templates::sign(&body, signature.as_ref().map(|(s, p)| (s.as_str(), *p)));
        vars.insert("name".into(), app.name.clone());
        if let Some((s, _)) = &signature {
            vars.insert("sign".into(), s.clone());
        }
        let vars_json = serde_json::to_string(&vars).map_err(|e| Error::Internal(e.into()))?;
        let text_ref = routing::template_ref(&template.name);
        let phone = req.phone.e164();
        let due_at = send_at.unwrap_or(now);
        let expires_at = due_at + TimeDelta::hours(NOTICE_TTL_HOURS);

        let mut conn = self.conn()?;
        self.check_sendable(&mut conn, app, phone, Channel::Sms, &text_ref, &vars)?;
        let (message_id, handle, parts) = store::write_tx(&mut conn, |conn| -> Result<(String, i64, i32)> {
            self.spend_validate_token(conn, app, req.origin.validate_token.as_deref(), template.captcha_required, now)?;
            self.check_limits(conn, app, phone, &req.origin.client_ip, now)?;
            store::sends::insert(conn, &uuid::Uuid::now_v7().to_string(), &app.id, phone, &req.origin.client_ip, now)?;
            let handle = store::counters::allocate(conn, store::messages::HANDLES)?;
            let (id, parts) = self.queue_message(
                conn,
                app,
                &Outgoing {
                    handle,
                    phone,
                    channel: Channel::Sms,
                    purpose: NOTICE_PURPOSE,
                    text: &text,
                    // No secret in a notice: the log keeps its text.
                    redacted: &text,
                    template: Some(&template.name),
                    text_ref: &text_ref,
                    vars_json: &vars_json,
                    due_at,
                    expires_at,
                    send_at,
                    now,
                },
            )?;
            Ok((id, handle, parts))
        })?;
        if send_at.is_none() {
            self.outbox_wakeup.notify_one();
        }
        Ok(IssuedMessage { handle, message_id, parts, send_at })
    }

    /// One notice per request, each in its own transaction (one refused recipient does not stop
    /// the others); the results are in the order of the requests. 1 to `MAX_BATCH` requests.
    pub fn send_notices(&self, app: &App, requests: Vec<NoticeRequest>) -> Result<Vec<Result<IssuedMessage>>> {
        if requests.is_empty() || requests.len() > MAX_BATCH {
            return Err(Error::InvalidParameter(format!("a batch has 1 to {MAX_BATCH} recipients")));
        }
        Ok(requests.into_iter().map(|r| self.send_notice(app, r)).collect())
    }
}
